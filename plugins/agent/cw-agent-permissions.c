/* cw-agent-permissions.c: permission decisions and pending permission requests.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-agent-interactions.h"
#include "cw-agent-json.h"
#include "cw-agent-command-policy.h"
#include "cw-agent-permissions.h"
#include "cw-agent-plugin-tools.h"
#include "cw-agent-store.h"
#include "tools/cw-tool-sandbox.h"

typedef struct
{
  CwPermissionFunc func;
  gpointer user_data;
} Waiter;

static const gchar *const system_dirs[] = { "/System",  "/etc",  "/usr", "/bin",  "/sbin", "/var",
                                            "/private", "/boot", "/dev", "/proc", "/sys",  NULL };

gboolean
cw_permission_path_is_system (const gchar *path)
{
  for (guint i = 0; system_dirs[i] != NULL; i++)
    {
      gsize n = strlen (system_dirs[i]);
      if (g_str_has_prefix (path, system_dirs[i]) && (path[n] == '\0' || path[n] == '/'))
        return TRUE;
    }
  return FALSE;
}

/* Contract §4.4: only writes and deletes under /System, /etc or /usr are high. */
const gchar *
cw_permission_risk_level (const gchar *type, const gchar *resource)
{
  static const gchar *const high_dirs[] = { "/System", "/etc", "/usr" };

  if (g_strcmp0 (type, "file_read") == 0)
    return "low";
  if ((g_strcmp0 (type, "file_write") == 0 || g_strcmp0 (type, "file_delete") == 0)
      && resource != NULL)
    for (guint i = 0; i < G_N_ELEMENTS (high_dirs); i++)
      if (g_str_has_prefix (resource, high_dirs[i]))
        return "high";
  return "medium";
}

/* Patterns of contract §8.2, matched on the command line as a whole. */
gboolean
cw_permission_command_is_dangerous (const gchar *command)
{
  static const gchar *const patterns[] = {
    "(^|[;&|(`$]\\s*|\\s)sudo\\s",
    "(^|[;&|(`$]\\s*)rm\\s+(-[a-zA-Z]*[rR]|--recursive)",
    "(^|[;&|(`$]\\s*)rm\\s+[^;&|]*[*?]",
    "chmod\\s+(-R\\s+)?0?777",
    "(^|[;&|(`$]\\s*)dd\\s",
    ">\\s*/dev/(?!null\\b)",
    "git\\s+push",
    "git\\s+reset\\s+--hard",
    "git\\s+clean\\s+-[a-zA-Z]*[fd]",
    "npm\\s+publish",
    "(curl|wget)\\s[^|]*\\|\\s*(sudo\\s+)?(ba|z|da)?sh\\b",
    "mkfs",
    ":\\(\\)\\s*\\{",
  };

  if (command == NULL)
    return FALSE;
  for (guint i = 0; i < G_N_ELEMENTS (patterns); i++)
    if (g_regex_match_simple (patterns[i], command, 0, 0))
      return TRUE;
  return FALSE;
}

CwPermissionVerdict
cw_permission_evaluate (CwAgentSession *session, CwAgentConfig *config, const gchar *type,
                        const gchar *resource, gboolean resource_is_path)
{
  gboolean shell = g_strcmp0 (type, "shell_execute") == 0;
  gboolean outside = resource_is_path && !cw_agent_session_path_inside (session, resource);
  gboolean dangerous = shell ? cw_permission_command_is_dangerous (resource)
                             : (resource_is_path && g_strcmp0 (type, "file_read") != 0
                                && cw_permission_path_is_system (resource));
  const gchar *mode = session->approval_mode;
  gboolean trusted = shell
                     && cw_command_policy_is_trusted (resource, session->working_directory,
                                                      config->trusted_commands);
  /* Commands run without a person only inside the sandbox; without one they ask. */
  CwPermissionVerdict confined
      = cw_tool_sandbox_available () ? CW_PERMISSION_ALLOW_CONFINED : CW_PERMISSION_ASK;

  if (cw_agent_session_is_granted (session, type, resource, resource_is_path))
    return CW_PERMISSION_ALLOW;
  if (g_strcmp0 (mode, "read_only") == 0)
    return g_strcmp0 (type, "file_read") == 0 && !outside ? CW_PERMISSION_ALLOW
                                                          : CW_PERMISSION_DENY;
  if (dangerous || outside)
    return CW_PERMISSION_ASK;
  /* Plan mode lets only read-only commands through (cw_command_policy_is_read_only); full
   * mode runs them, auto mode the trusted ones. */
  if (shell && g_strcmp0 (session->execution_mode, "plan") == 0)
    return g_strcmp0 (mode, "full") == 0 || trusted ? confined : CW_PERMISSION_ASK;
  if (g_strcmp0 (mode, "full") == 0)
    {
      if (g_strcmp0 (type, "network_request") == 0 || g_strcmp0 (type, "file_delete") == 0)
        return CW_PERMISSION_ASK;
      return CW_PERMISSION_ALLOW;
    }
  /* auto: as the original's default tool policy, reads and writes inside the working
   * directory go ahead (deletes, other commands and anything outside still ask). */
  if (g_strcmp0 (type, "file_read") == 0 || g_strcmp0 (type, "file_write") == 0)
    return CW_PERMISSION_ALLOW;
  if (trusted)
    return confined;
  return CW_PERMISSION_ASK;
}

CwPendingPermission *
cw_pending_permission_ref (CwPendingPermission *p)
{
  g_atomic_int_inc (&p->ref_count);
  return p;
}

void
cw_pending_permission_unref (CwPendingPermission *p)
{
  if (p == NULL || !g_atomic_int_dec_and_test (&p->ref_count))
    return;
  g_free (p->id);
  g_free (p->session_id);
  g_free (p->turn_id);
  g_free (p->type);
  g_free (p->resource);
  g_free (p->key);
  g_clear_pointer (&p->request, json_object_unref);
  g_clear_pointer (&p->tool_call, json_object_unref);
  g_free (p->item_id);
  g_array_unref (p->waiters);
  g_free (p);
}

static CwPendingPermission *
pending_new (void)
{
  CwPendingPermission *p = g_new0 (CwPendingPermission, 1);

  p->ref_count = 1;
  p->waiters = g_array_new (FALSE, FALSE, sizeof (Waiter));
  return p;
}

void
cw_permission_add_waiter (CwPendingPermission *p, CwPermissionFunc func, gpointer user_data)
{
  Waiter w = { func, user_data };

  g_array_append_val (p->waiters, w);
}

/* What the prompt says about the request, as the original words it. */
static gchar *
default_reason (const gchar *type, const gchar *resource)
{
  const gchar *what = g_strcmp0 (type, "file_read") == 0                       ? "Read file data"
                      : g_strcmp0 (type, "file_write") == 0                    ? "Write file data"
                      : g_strcmp0 (type, "file_delete") == 0                   ? "Delete file"
                      : g_strcmp0 (type, "shell_execute") == 0                 ? "Execute command"
                      : g_strcmp0 (type, CW_AGENT_PLUGIN_TOOL_PERMISSION) == 0 ? "Use tool"
                                                                               : "Access";

  return g_strdup_printf ("%s: %s", what, resource);
}

/* The verdict of the original's default tool policy (profile "coding") that comes before
 * the permission check: file tools are allowed by the profile, commands and the tools other
 * plugins contribute (type "tool") have no rule and ask. */
static void
add_policy (JsonObject *req, const gchar *type, const gchar *tool_name)
{
  g_autofree gchar *reason = NULL;
  gboolean shell = g_strcmp0 (tool_name, "execute") == 0
                   || g_strcmp0 (type, CW_AGENT_PLUGIN_TOOL_PERMISSION) == 0;

  if (tool_name == NULL)
    return;
  reason = shell ? g_strdup_printf ("No policy rule found for tool \"%s\"", tool_name)
                 : g_strdup_printf ("Tool \"%s\" allowed by profile \"coding\"", tool_name);
  json_object_set_string_member (req, "policyAction", shell ? "ask" : "allow");
  json_object_set_string_member (req, "policyReason", reason);
  json_object_set_string_member (req, "policyReasonCode", shell ? "default_ask" : "profile_allow");
}

static JsonObject *
build_request (CwPendingPermission *p, const gchar *reason)
{
  g_autofree gchar *fallback = reason == NULL ? default_reason (p->type, p->resource) : NULL;
  JsonObject *req = json_object_new ();
  const gchar *tool_id = json_object_get_string_member_with_default (p->tool_call, "id", NULL);
  const gchar *tool_name = json_object_get_string_member_with_default (p->tool_call, "name", NULL);

  /* The id member is added by the SDK, which chooses it. */
  json_object_set_string_member (req, "type", p->type);
  json_object_set_string_member (req, "resource", p->resource);
  json_object_set_string_member (req, "reason", reason != NULL ? reason : fallback);
  if (tool_id != NULL)
    json_object_set_string_member (req, "toolCallId", tool_id);
  if (tool_name != NULL)
    json_object_set_string_member (req, "toolName", tool_name);
  json_object_set_string_member (req, "riskLevel", cw_permission_risk_level (p->type, p->resource));
  add_policy (req, p->type, tool_name);
  if (g_strcmp0 (p->type, "shell_execute") == 0)
    json_object_set_string_member (req, "command", p->resource);
  json_object_set_int_member (req, "timestamp", cw_now_ms ());
  return req;
}

static JsonObject *
build_item (CwPendingPermission *p)
{
  JsonObject *item = json_object_new ();
  JsonObject *req = json_object_new ();
  g_autoptr (GList) members = json_object_get_members (p->request);

  for (GList *l = members; l != NULL; l = l->next)
    if (g_strcmp0 (l->data, "id") != 0 && g_strcmp0 (l->data, "timestamp") != 0)
      json_object_set_member (req, l->data,
                              json_node_copy (json_object_get_member (p->request, l->data)));
  json_object_set_string_member (item, "kind", "permission");
  if (p->turn_id != NULL)
    json_object_set_string_member (item, "turnId", p->turn_id);
  json_object_set_string_member (item, "permissionId", p->id);
  json_object_set_object_member (item, "request", req);
  json_object_set_string_member (item, "status", "pending");
  return item;
}

static CwPendingPermission *
find_in_session (CwAgentSession *session, const gchar *key, const gchar *id)
{
  for (guint i = 0; i < session->pending_permissions->len; i++)
    {
      CwPendingPermission *p = g_ptr_array_index (session->pending_permissions, i);
      if (key != NULL ? g_strcmp0 (p->key, key) == 0 : g_strcmp0 (p->id, id) == 0)
        return p;
    }
  return NULL;
}

CwPendingPermission *
cw_permission_request (CwAgentPlugin *plugin, CwAgentSession *session, const gchar *turn_id,
                       const gchar *type, const gchar *resource, gboolean resource_is_path,
                       const gchar *reason, JsonObject *tool_call, CwPermissionFunc func,
                       gpointer user_data)
{
  g_autofree gchar *key = g_strdup_printf ("%s:%s", type, resource);
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) item = NULL;
  g_autoptr (JsonObject) request = NULL;
  CwPendingPermission *p = find_in_session (session, key, NULL);
  CwInteraction *interaction;
  JsonObject *data;

  if (p != NULL)
    {
      cw_permission_add_waiter (p, func, user_data);
      return p;
    }
  p = pending_new ();
  p->session_id = g_strdup (session->id);
  p->turn_id = g_strdup (turn_id);
  p->type = g_strdup (type);
  p->resource = g_strdup (resource);
  p->resource_is_path = resource_is_path;
  p->key = g_steal_pointer (&key);
  p->tool_call = json_object_ref (tool_call);
  request = build_request (p, reason);
  interaction = cw_agent_interaction_add (plugin, CW_INTERACTION_PERMISSION, session, turn_id,
                                          request, tool_call, resource_is_path, &error);
  if (interaction == NULL)
    {
      /* Nobody could answer a request that is not stored: refuse rather than hang. */
      g_warning ("failed to store permission request of session %s: %s", session->id,
                 error->message);
      cw_pending_permission_unref (p);
      func ("deny", user_data);
      return NULL;
    }
  p->id = g_strdup (cw_interaction_get_id (interaction));
  p->request = json_object_ref (cw_interaction_get_payload (interaction));
  cw_permission_add_waiter (p, func, user_data);
  g_ptr_array_add (session->pending_permissions, p);

  item = cw_agent_sessions_append_item (plugin->sessions, session, build_item (p));
  p->item_id = g_strdup (json_object_get_string_member (item, "id"));
  data = json_object_new ();
  json_object_set_object_member (data, "request", json_object_ref (p->request));
  cw_agent_sessions_emit (plugin->sessions, "permission:request", session->id, data);
  cw_agent_sessions_commit (plugin->sessions, session, CW_AGENT_CHANGE_RUNTIME, NULL);
  return p;
}

/* The interaction is resolved (stored by the SDK): the session, the chat item, the event
 * and the calls waiting for it follow. */
static void
resolve (CwAgentPlugin *plugin, CwAgentSession *session, CwPendingPermission *p,
         const gchar *decision)
{
  g_autoptr (GArray) waiters = NULL;
  JsonObject *updates, *data;

  cw_pending_permission_ref (p);
  g_ptr_array_remove (session->pending_permissions, p);
  if (g_strcmp0 (decision, "allow_session") == 0)
    cw_agent_session_grant (session, p->type, p->resource, p->resource_is_path);
  /* Unlike the original, the stored item shows the outcome. */
  updates = json_object_new ();
  json_object_set_string_member (updates, "status", "resolved");
  json_object_set_string_member (updates, "decision", decision);
  if (p->item_id != NULL)
    cw_agent_sessions_update_item (plugin->sessions, session, p->item_id, updates, TRUE);
  else
    json_object_unref (updates);
  data = json_object_new ();
  json_object_set_string_member (data, "permissionId", p->id);
  json_object_set_string_member (data, "decision", decision);
  cw_agent_sessions_emit (plugin->sessions, "permission:resolved", session->id, data);
  cw_agent_sessions_commit (plugin->sessions, session, CW_AGENT_CHANGE_RUNTIME, NULL);

  waiters = g_array_copy (p->waiters);
  g_array_set_size (p->waiters, 0);
  for (guint i = 0; i < waiters->len; i++)
    {
      Waiter *w = &g_array_index (waiters, Waiter, i);
      w->func (decision, w->user_data);
    }
  cw_pending_permission_unref (p);
}

static void
on_resolved (CwInteraction *interaction, gpointer user_data)
{
  CwAgentPlugin *plugin = user_data;
  JsonNode *answer = cw_interaction_get_answer (interaction);
  CwAgentSession *session = cw_agent_interaction_session (plugin, interaction);
  CwPendingPermission *p
      = session != NULL ? find_in_session (session, NULL, cw_interaction_get_id (interaction))
                        : NULL;
  g_autoptr (CwAgentSession) keep = NULL;

  if (p == NULL)
    return;
  keep = g_object_ref (session);
  /* An expired request is a denied one. */
  resolve (plugin, session, p,
           answer != NULL && JSON_NODE_HOLDS_VALUE (answer) ? json_node_get_string (answer)
                                                            : "deny");
}

static gboolean
respond (CwAgentPlugin *plugin, const gchar *permission_id, const gchar *decision,
         const gchar *actor, GError **error)
{
  g_autoptr (JsonNode) answer = json_node_init_string (json_node_alloc (), decision);

  return cw_agent_interaction_respond (plugin, permission_id, answer, actor, error);
}

gboolean
cw_permission_respond (CwAgentPlugin *plugin, const gchar *permission_id, const gchar *decision,
                       const gchar *actor, GError **error)
{
  GHashTableIter iter;
  gpointer value;

  /* The SDK checks the decision, as it does for an answer through interaction_respond. */
  g_hash_table_iter_init (&iter, plugin->sessions->by_id);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    if (find_in_session (value, NULL, permission_id) != NULL)
      return respond (plugin, permission_id, decision, actor, error);
  g_set_error (error, CW_ERROR, CW_ERROR_NOT_FOUND, "Permission request not found: %s",
               permission_id);
  return FALSE;
}

void
cw_permission_deny_all (CwAgentPlugin *plugin, CwAgentSession *session)
{
  while (session->pending_permissions->len > 0)
    {
      g_autoptr (GError) error = NULL;
      CwPendingPermission *p = g_ptr_array_index (session->pending_permissions, 0);

      if (!respond (plugin, p->id, "deny", CW_AGENT_ACTOR, &error))
        {
          /* Resolved already but not yet delivered: settle it here all the same. */
          g_debug ("permission %s: %s", p->id, error->message);
          resolve (plugin, session, p, "deny");
        }
    }
}

static void
restore_one (CwAgentPlugin *plugin, CwAgentSession *session, CwInteraction *interaction)
{
  JsonObject *req = cw_interaction_get_payload (interaction);
  JsonObject *data = cw_interaction_get_data (interaction);
  CwPendingPermission *p = pending_new ();

  p->id = g_strdup (cw_interaction_get_id (interaction));
  p->session_id = g_strdup (session->id);
  p->turn_id = g_strdup (json_object_get_string_member_with_default (data, "turnId", NULL));
  p->type = g_strdup (json_object_get_string_member_with_default (req, "type", ""));
  p->resource = g_strdup (json_object_get_string_member_with_default (req, "resource", ""));
  p->resource_is_path = json_object_get_boolean_member_with_default (data, "resourceIsPath", FALSE);
  p->key = g_strdup_printf ("%s:%s", p->type, p->resource);
  p->request = json_object_ref (req);
  p->tool_call = cw_agent_interaction_tool_call (interaction);
  p->item_id = cw_agent_store_find_item (plugin->store, session->id, "permission", "$.permissionId",
                                         p->id);
  g_ptr_array_add (session->pending_permissions, p);
}

void
cw_permission_restore (CwAgentPlugin *plugin)
{
  cw_agent_interactions_restore (plugin, CW_INTERACTION_PERMISSION, restore_one, on_resolved,
                                 "deny");
}
