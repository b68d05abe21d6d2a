/* cw-agent-session-commands.c: creating, listing, reading, changing and deleting sessions
 * (contract §5), plus the small per-session reads (tasks, artifacts, context usage).
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-agent-keys.h"
#include "cw-agent-permissions.h"
#include "cw-agent-plugin.h"
#include "cw-agent-questions.h"
#include "cw-agent-store.h"
#include "cw-agent-turn.h"

#include <stdlib.h>

#define PLUGIN(p) CW_AGENT_PLUGIN (p)

static void
return_void (CwInvocation *inv)
{
  JsonObject *result = json_object_new ();

  json_object_set_boolean_member (result, "success", TRUE);
  cw_invocation_return_object (inv, result);
}

static void
return_error (CwInvocation *inv, GError *error)
{
  cw_invocation_return_error (inv, error);
}

/* Optional string that may be null; a wrong type is an error. */
static gboolean
optional_string (CwInvocation *inv, const gchar *name, const gchar **out, GError **error)
{
  *out = cw_invocation_get_string (inv, name, FALSE, error);
  return error == NULL || *error == NULL;
}

/* ---- create_session ----------------------------------------------------------------- */

typedef struct
{
  CwAgentPlugin *plugin;
  CwInvocation *invocation;
  CwAgentSession *session;
} CreateData;

static void
create_data_free (CreateData *d)
{
  g_object_unref (d->invocation);
  g_object_unref (d->session);
  g_free (d);
}

static void
finish_create (CreateData *d)
{
  CwAgentPlugin *self = d->plugin;
  CwAgentSession *s = d->session;
  g_autoptr (GError) error = NULL;

  /* Stored at once (row and runtime in one transaction): unlike the original, a session
   * exists from here on, and only once it is stored. */
  if (!cw_agent_sessions_commit (self->sessions, s, CW_AGENT_CHANGE_INFO | CW_AGENT_CHANGE_RUNTIME,
                                 &error))
    {
      g_prefix_error (&error, "failed to create session: ");
      cw_invocation_return_error (d->invocation, g_steal_pointer (&error));
      return;
    }
  cw_agent_sessions_add (self->sessions, s);
  cw_agent_sessions_commit (self->sessions, s, CW_AGENT_CHANGE_ANNOUNCE, NULL);
  /* The context meter has its window from the start, as in the original. */
  cw_agent_sessions_emit_context (self->sessions, s);
  cw_invocation_return_object (d->invocation, cw_agent_session_to_info (s));
}

static void
on_create_key (GObject *source, GAsyncResult *res, gpointer user_data)
{
  CreateData *d = user_data;
  g_autoptr (GError) error = NULL;
  g_autofree gchar *key = cw_agent_keys_lookup_finish (res, &error);

  if (key == NULL)
    cw_invocation_return_new_error (d->invocation, CW_ERROR_INVALID_PARAMS,
                                    "Provider \"%s\" not initialized. Set API key first.",
                                    d->session->provider);
  else
    {
      memset (key, 0, strlen (key));
      finish_create (d);
    }
  create_data_free (d);
}

static gchar *
resolve_directory (const gchar *dir, GError **error)
{
  g_autofree gchar *abs = g_canonicalize_filename (dir, NULL);
  char *real = realpath (abs, NULL);
  gchar *out;

  if (real == NULL || !g_file_test (real, G_FILE_TEST_IS_DIR))
    {
      free (real);
      g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS, "Working directory does not exist: %s",
                   dir);
      return NULL;
    }
  out = g_strdup (real);
  free (real);
  return out;
}

static gboolean
valid_choice (const gchar *value, const gchar *const *choices)
{
  return value == NULL || g_strv_contains (choices, value);
}

static void
cmd_create_session (CwInvocation *inv, gpointer user_data)
{
  static const gchar *const types[]
      = { "main", "isolated", "cron", "ephemeral", "integration", NULL };
  static const gchar *const modes[] = { "execute", "plan", NULL };
  CwAgentPlugin *self = PLUGIN (user_data);
  g_autoptr (GError) error = NULL;
  const gchar *dir, *model = NULL, *provider = NULL, *mode = NULL, *title = NULL, *type = NULL;
  const gchar *norm;
  g_autofree gchar *wd = NULL;
  CreateData *d;
  CwAgentSession *s;
  gint64 now = cw_now_ms ();

  dir = cw_invocation_get_string (inv, "workingDirectory", TRUE, &error);
  if (dir == NULL || !optional_string (inv, "model", &model, &error)
      || !optional_string (inv, "provider", &provider, &error)
      || !optional_string (inv, "executionMode", &mode, &error)
      || !optional_string (inv, "title", &title, &error)
      || !optional_string (inv, "type", &type, &error))
    {
      return_error (inv, g_steal_pointer (&error));
      return;
    }
  if (!valid_choice (type, types) || !valid_choice (mode, modes))
    {
      cw_invocation_return_error_literal (
          inv, CW_ERROR_INVALID_PARAMS,
          "type must be main, isolated, cron, ephemeral or integration; executionMode must be "
          "execute or plan");
      return;
    }
  norm = provider != NULL ? cw_agent_provider_normalize (provider) : self->config->active_provider;
  if (norm == NULL)
    {
      cw_invocation_return_new_error (inv, CW_ERROR_INVALID_PARAMS, "Unknown provider: %s",
                                      provider);
      return;
    }
  wd = resolve_directory (dir, &error);
  if (wd == NULL)
    {
      return_error (inv, g_steal_pointer (&error));
      return;
    }
  s = cw_agent_session_new (NULL);
  g_free (s->id);
  s->id = cw_make_id ("sess");
  s->type = g_strdup (type != NULL ? type : "main");
  s->provider = g_strdup (norm);
  s->execution_mode = g_strdup (mode != NULL ? mode : "execute");
  s->approval_mode = g_strdup ("auto");
  s->title = g_strdup (title);
  s->working_directory = g_steal_pointer (&wd);
  s->model = g_strdup (cw_agent_config_pick_model (self->config, norm, model));
  s->created_at = s->updated_at = s->last_accessed_at = now;

  d = g_new0 (CreateData, 1);
  d->plugin = self;
  d->invocation = g_object_ref (inv);
  d->session = s;
  if (g_strcmp0 (s->type, "integration") == 0 || !cw_agent_provider_needs_key (norm))
    {
      finish_create (d);
      create_data_free (d);
      return;
    }
  cw_agent_keys_lookup (cw_plugin_get_context (CW_PLUGIN (self)), norm, NULL, on_create_key, d);
}

/* ---- listing ------------------------------------------------------------------------ */

static void
cmd_list_sessions (CwInvocation *inv, gpointer user_data)
{
  g_autoptr (GPtrArray) sorted = cw_agent_sessions_sorted (PLUGIN (user_data)->sessions);
  /* The same cached SessionInfo text as the bootstrap state: no tree per session. */
  GString *out = g_string_sized_new (
      2 + cw_agent_sessions_info_bytes (PLUGIN (user_data)->sessions, sorted));

  g_string_append_c (out, '[');
  for (guint i = 0; i < sorted->len; i++)
    {
      if (i > 0)
        g_string_append_c (out, ',');
      cw_agent_session_append_info_json (g_ptr_array_index (sorted, i), out);
    }
  g_string_append_c (out, ']');
  cw_invocation_return_json_text (inv, g_string_free (out, FALSE));
}

static gboolean
contains_ci (const gchar *haystack, const gchar *needle_folded)
{
  g_autofree gchar *folded = NULL;

  if (haystack == NULL)
    return FALSE;
  folded = g_utf8_casefold (haystack, -1);
  return strstr (folded, needle_folded) != NULL;
}

static gboolean
session_matches (CwAgentSession *s, const gchar *query_folded)
{
  return contains_ci (s->title, query_folded) || contains_ci (s->first_message, query_folded)
         || contains_ci (s->working_directory, query_folded)
         || contains_ci (s->model, query_folded);
}

static void
cmd_list_sessions_page (CwInvocation *inv, gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) sorted = cw_agent_sessions_sorted (PLUGIN (user_data)->sessions);
  g_autoptr (GPtrArray) matched = g_ptr_array_new ();
  g_autofree gchar *folded = NULL;
  const gchar *query = NULL;
  gint64 limit, offset, end;
  JsonObject *result;
  JsonArray *page;

  if (!cw_invocation_get_int (inv, "limit", 20, &limit, &error)
      || !cw_invocation_get_int (inv, "offset", 0, &offset, &error)
      || !optional_string (inv, "query", &query, &error))
    {
      return_error (inv, g_steal_pointer (&error));
      return;
    }
  if (query != NULL && *g_strstrip (folded = g_utf8_casefold (query, -1)) == '\0')
    g_clear_pointer (&folded, g_free);
  for (guint i = 0; i < sorted->len; i++)
    if (folded == NULL || session_matches (g_ptr_array_index (sorted, i), folded))
      g_ptr_array_add (matched, g_ptr_array_index (sorted, i));
  limit = MAX (limit, 1);
  offset = CLAMP (offset, 0, (gint64) matched->len);
  end = MIN (offset + limit, (gint64) matched->len);
  page = json_array_new ();
  for (gint64 i = offset; i < end; i++)
    json_array_add_object_element (page, cw_agent_session_to_info (g_ptr_array_index (matched, i)));
  result = json_object_new ();
  json_object_set_array_member (result, "sessions", page);
  json_object_set_int_member (result, "total", matched->len);
  json_object_set_boolean_member (result, "hasMore", end < (gint64) matched->len);
  json_object_set_int_member (result, "offset", offset);
  json_object_set_int_member (result, "limit", limit);
  if (end < (gint64) matched->len)
    json_object_set_int_member (result, "nextOffset", end);
  else
    json_object_set_null_member (result, "nextOffset");
  cw_invocation_return_object (inv, result);
}

/* ---- reading one session ------------------------------------------------------------ */

static JsonArray *
messages_from_items (JsonArray *items)
{
  JsonArray *messages = json_array_new ();

  for (guint i = 0; i < json_array_get_length (items); i++)
    {
      JsonObject *item = json_array_get_object_element (items, i);
      const gchar *kind = json_object_get_string_member_with_default (item, "kind", "");
      const gchar *role = g_strcmp0 (kind, "user_message") == 0        ? "user"
                          : g_strcmp0 (kind, "assistant_message") == 0 ? "assistant"
                          : g_strcmp0 (kind, "system_message") == 0    ? "system"
                                                                       : NULL;
      JsonObject *msg;
      JsonNode *content = json_object_get_member (item, "content");

      if (role == NULL)
        continue;
      msg = json_object_new ();
      json_object_set_string_member (msg, "id", json_object_get_string_member (item, "id"));
      json_object_set_string_member (msg, "role", role);
      json_object_set_member (msg, "content",
                              content != NULL ? json_node_copy (content)
                                              : json_node_init_string (json_node_alloc (), ""));
      json_object_set_int_member (msg, "createdAt",
                                  json_object_get_int_member_with_default (item, "timestamp", 0));
      if (json_object_has_member (item, "metadata"))
        json_object_set_member (msg, "metadata",
                                json_node_copy (json_object_get_member (item, "metadata")));
      json_array_add_object_element (messages, msg);
    }
  return messages;
}

static void
return_details (CwAgentPlugin *self, CwInvocation *inv, CwAgentSession *s, gint64 before,
                gint64 limit)
{
  g_autoptr (GError) error = NULL;
  gboolean has_more = FALSE;
  JsonArray *items, *artifacts;
  JsonObject *result, *usage;
  gint64 total = cw_agent_session_context_window (s, self->config->catalog);

  items = cw_agent_store_list_items (self->store, s->id, before, limit, &has_more, &error);
  artifacts = items != NULL ? cw_agent_store_list_artifacts (self->store, s->id, &error) : NULL;
  if (artifacts == NULL)
    {
      g_clear_pointer (&items, json_array_unref);
      g_prefix_error (&error, "failed to load session: ");
      return_error (inv, g_steal_pointer (&error));
      return;
    }
  result = cw_agent_session_to_info (s);
  json_object_set_array_member (result, "messages", messages_from_items (items));
  if (json_array_get_length (items) > 0)
    json_object_set_int_member (result, "oldestLoadedSequence",
                                json_object_get_int_member_with_default (
                                    json_array_get_object_element (items, 0), "sequence", 0));
  else
    json_object_set_null_member (result, "oldestLoadedSequence");
  json_object_set_array_member (result, "chatItems", items);
  json_object_set_array_member (result, "tasks", json_array_ref (s->tasks));
  json_object_set_array_member (result, "artifacts", artifacts);
  usage = json_object_new ();
  json_object_set_int_member (usage, "usedTokens", s->context_used);
  json_object_set_int_member (usage, "maxTokens", total);
  json_object_set_double_member (usage, "percentUsed",
                                 total > 0 ? 100.0 * s->context_used / (gdouble) total : 0.0);
  json_object_set_object_member (result, "contextUsage", usage);
  json_object_set_boolean_member (result, "hasMoreHistory", has_more);
  json_object_set_object_member (result, "runtime", cw_agent_session_to_runtime (s));
  cw_invocation_return_object (inv, result);
}

static void
cmd_get_session (CwInvocation *inv, gpointer user_data)
{
  CwAgentPlugin *self = PLUGIN (user_data);
  CwAgentSession *s = cw_agent_sessions_from_invocation (self->sessions, inv);

  if (s != NULL)
    return_details (self, inv, s, -1, 0);
}

static void
cmd_get_session_chunk (CwInvocation *inv, gpointer user_data)
{
  CwAgentPlugin *self = PLUGIN (user_data);
  CwAgentSession *s = cw_agent_sessions_from_invocation (self->sessions, inv);
  g_autoptr (GError) error = NULL;
  gint64 limit, before;

  if (s == NULL)
    return;
  if (!cw_invocation_get_int (inv, "chatItemLimit", 200, &limit, &error)
      || !cw_invocation_get_int (inv, "beforeSequence", -1, &before, &error))
    {
      return_error (inv, g_steal_pointer (&error));
      return;
    }
  return_details (self, inv, s, before, MAX (limit, 1));
}

/* ---- deleting ----------------------------------------------------------------------- */

static void
cmd_delete_session (CwInvocation *inv, gpointer user_data)
{
  CwAgentPlugin *self = PLUGIN (user_data);
  g_autoptr (GError) error = NULL;
  const gchar *id = cw_invocation_get_string (inv, "sessionId", TRUE, &error);
  g_autoptr (CwAgentSession) s = NULL;
  JsonObject *result;

  if (id == NULL)
    {
      return_error (inv, g_steal_pointer (&error));
      return;
    }
  s = cw_agent_sessions_lookup (self->sessions, id);
  result = json_object_new ();
  if (s == NULL)
    {
      json_object_set_boolean_member (result, "success", FALSE);
      cw_invocation_return_object (inv, result);
      return;
    }
  g_object_ref (s);
  /* Deleted on disk first, so nothing the stopping turn still does can bring it back. */
  if (!cw_agent_store_delete_session (self->store, s->id, &error))
    {
      json_object_unref (result);
      return_error (inv, g_steal_pointer (&error));
      return;
    }
  s->deleted = TRUE;
  g_ptr_array_set_size (s->queue, 0);
  if (s->turn != NULL)
    cw_agent_turn_stop (s->turn);
  cw_permission_deny_all (self, s);
  cw_question_cancel_all (self, s);
  cw_agent_sessions_remove (self->sessions, s);
  json_object_set_boolean_member (result, "success", TRUE);
  cw_invocation_return_object (inv, result);
}

/* ---- changing ----------------------------------------------------------------------- */

/* Commits a command's change of @s and answers it: void, or the store's error with the
 * session put back as it was (a full or locked disk changes nothing). */
static void
commit_and_reply (CwAgentPlugin *self, CwInvocation *inv, CwAgentSession *s, CwAgentChange changes,
                  CwAgentSessionUndo *undo)
{
  g_autoptr (GError) error = NULL;

  if (!cw_agent_sessions_commit_or_undo (self->sessions, s, changes, undo, &error))
    return_error (inv, g_steal_pointer (&error));
  else
    return_void (inv);
}

static void
cmd_update_session_title (CwInvocation *inv, gpointer user_data)
{
  CwAgentPlugin *self = PLUGIN (user_data);
  CwAgentSession *s = cw_agent_sessions_from_invocation (self->sessions, inv);
  g_autoptr (GError) error = NULL;
  g_auto (CwAgentSessionUndo) undo = { 0 };
  const gchar *title;

  if (s == NULL)
    return;
  title = cw_invocation_get_string (inv, "title", TRUE, &error);
  if (title == NULL)
    {
      return_error (inv, g_steal_pointer (&error));
      return;
    }
  cw_agent_session_undo_save (s, &undo);
  g_free (s->title);
  s->title = g_strdup (title);
  s->updated_at = cw_now_ms ();
  commit_and_reply (self, inv, s, CW_AGENT_CHANGE_INFO | CW_AGENT_CHANGE_ANNOUNCE, &undo);
}

static void
cmd_update_session_working_directory (CwInvocation *inv, gpointer user_data)
{
  CwAgentPlugin *self = PLUGIN (user_data);
  CwAgentSession *s = cw_agent_sessions_from_invocation (self->sessions, inv);
  g_autoptr (GError) error = NULL;
  g_autofree gchar *wd = NULL;
  g_auto (CwAgentSessionUndo) undo = { 0 };
  const gchar *dir, *state;

  if (s == NULL)
    return;
  dir = cw_invocation_get_string (inv, "workingDirectory", TRUE, &error);
  wd = dir != NULL ? resolve_directory (dir, &error) : NULL;
  if (wd == NULL)
    {
      return_error (inv, g_steal_pointer (&error));
      return;
    }
  if (g_strcmp0 (wd, s->working_directory) == 0)
    {
      return_void (inv);
      return;
    }
  state = cw_agent_session_get_run_state (s);
  if (s->turn != NULL || s->queue->len > 0)
    {
      cw_invocation_return_new_error (inv, CW_ERROR_BUSY,
                                      "Cannot change working directory while run is %s. Stop "
                                      "the run first.",
                                      state);
      return;
    }
  cw_agent_session_undo_save (s, &undo);
  g_free (s->working_directory);
  s->working_directory = g_steal_pointer (&wd);
  /* Path grants belonged to the old directory tree. */
  g_clear_pointer (&s->permission_scopes, g_hash_table_unref);
  s->updated_at = cw_now_ms ();
  commit_and_reply (self, inv, s,
                    CW_AGENT_CHANGE_INFO | CW_AGENT_CHANGE_RUNTIME | CW_AGENT_CHANGE_ANNOUNCE,
                    &undo);
}

static void
cmd_update_session_last_accessed (CwInvocation *inv, gpointer user_data)
{
  CwAgentPlugin *self = PLUGIN (user_data);
  CwAgentSession *s = cw_agent_sessions_from_invocation (self->sessions, inv);
  g_auto (CwAgentSessionUndo) undo = { 0 };

  if (s == NULL)
    return;
  cw_agent_session_undo_save (s, &undo);
  s->last_accessed_at = cw_now_ms ();
  commit_and_reply (self, inv, s, CW_AGENT_CHANGE_INFO, &undo);
}

/* The "mode" param if it is one of @modes; otherwise answers the call and returns NULL. */
static const gchar *
get_mode (CwInvocation *inv, const gchar *const *modes, const gchar *message)
{
  g_autoptr (GError) error = NULL;
  const gchar *mode = cw_invocation_get_string (inv, "mode", TRUE, &error);

  if (mode == NULL)
    {
      return_error (inv, g_steal_pointer (&error));
      return NULL;
    }
  if (!g_strv_contains (modes, mode))
    {
      cw_invocation_return_error_literal (inv, CW_ERROR_INVALID_PARAMS, message);
      return NULL;
    }
  return mode;
}

static void
cmd_set_approval_mode (CwInvocation *inv, gpointer user_data)
{
  static const gchar *const modes[] = { "auto", "read_only", "full", NULL };
  CwAgentPlugin *self = PLUGIN (user_data);
  CwAgentSession *s = cw_agent_sessions_from_invocation (self->sessions, inv);
  g_auto (CwAgentSessionUndo) undo = { 0 };
  const gchar *mode;

  if (s == NULL)
    return;
  mode = get_mode (inv, modes, "mode must be auto, read_only or full");
  if (mode == NULL)
    return;
  cw_agent_session_undo_save (s, &undo);
  g_free (s->approval_mode);
  s->approval_mode = g_strdup (mode);
  commit_and_reply (self, inv, s, CW_AGENT_CHANGE_INFO, &undo);
}

static void
cmd_set_execution_mode (CwInvocation *inv, gpointer user_data)
{
  static const gchar *const modes[] = { "execute", "plan", NULL };
  CwAgentPlugin *self = PLUGIN (user_data);
  CwAgentSession *s = cw_agent_sessions_from_invocation (self->sessions, inv);
  g_autoptr (GError) error = NULL;
  g_auto (CwAgentSessionUndo) undo = { 0 };
  const gchar *mode;

  if (s == NULL)
    return;
  mode = get_mode (inv, modes, "mode must be execute or plan");
  if (mode == NULL)
    return;
  if (g_strcmp0 (mode, s->execution_mode) == 0)
    {
      return_void (inv);
      return;
    }
  cw_agent_session_undo_save (s, &undo);
  g_free (s->execution_mode);
  s->execution_mode = g_strdup (mode);
  s->updated_at = cw_now_ms ();
  if (!cw_agent_sessions_commit_or_undo (
          self->sessions, s, CW_AGENT_CHANGE_INFO | CW_AGENT_CHANGE_ANNOUNCE, &undo, &error))
    {
      return_error (inv, g_steal_pointer (&error));
      return;
    }
  /* A plan waiting for approval is moot once the mode changed. */
  for (guint i = 0; i < s->pending_questions->len;)
    {
      CwPendingQuestion *q = g_ptr_array_index (s->pending_questions, i);
      if (g_strcmp0 (json_object_get_string_member_with_default (q->tool_call, "kind", ""), "plan")
          == 0)
        cw_question_cancel (self, s, q);
      else
        i++;
    }
  return_void (inv);
}

/* ---- per-session reads -------------------------------------------------------------- */

static void
cmd_get_tasks (CwInvocation *inv, gpointer user_data)
{
  CwAgentPlugin *self = PLUGIN (user_data);
  const gchar *id = cw_invocation_get_string (inv, "sessionId", FALSE, NULL);
  CwAgentSession *s = cw_agent_sessions_lookup (self->sessions, id);
  JsonNode *node = json_node_new (JSON_NODE_ARRAY);

  json_node_take_array (node, s != NULL ? json_array_ref (s->tasks) : json_array_new ());
  cw_invocation_return_value (inv, node);
}

static void
cmd_get_artifacts (CwInvocation *inv, gpointer user_data)
{
  CwAgentPlugin *self = PLUGIN (user_data);
  g_autoptr (GError) error = NULL;
  const gchar *id = cw_invocation_get_string (inv, "sessionId", FALSE, NULL);
  CwAgentSession *s = cw_agent_sessions_lookup (self->sessions, id);
  JsonArray *arr
      = s != NULL ? cw_agent_store_list_artifacts (self->store, s->id, &error) : json_array_new ();
  JsonNode *node;

  if (arr == NULL)
    {
      return_error (inv, g_steal_pointer (&error));
      return;
    }
  node = json_node_new (JSON_NODE_ARRAY);
  json_node_take_array (node, arr);
  cw_invocation_return_value (inv, node);
}

static void
cmd_get_context_usage (CwInvocation *inv, gpointer user_data)
{
  CwAgentPlugin *self = PLUGIN (user_data);
  const gchar *id = cw_invocation_get_string (inv, "sessionId", FALSE, NULL);
  CwAgentSession *s = cw_agent_sessions_lookup (self->sessions, id);
  gint64 used = s != NULL ? s->context_used : 0;
  gint64 total = s != NULL ? cw_agent_session_context_window (s, self->config->catalog) : 1048576;
  JsonObject *result = json_object_new ();

  json_object_set_int_member (result, "used", used);
  json_object_set_int_member (result, "total", total);
  json_object_set_int_member (result, "percentage",
                              total > 0 ? (gint64) (100.0 * used / (gdouble) total + 0.5) : 0);
  cw_invocation_return_object (inv, result);
}

gboolean
cw_agent_session_commands_register (CwAgentPlugin *self, GError **error)
{
  static const struct
  {
    const gchar *name;
    CwCommandFunc func;
  } commands[] = {
    { "create_session", cmd_create_session },
    { "list_sessions", cmd_list_sessions },
    { "list_sessions_page", cmd_list_sessions_page },
    { "get_session", cmd_get_session },
    { "get_session_chunk", cmd_get_session_chunk },
    { "delete_session", cmd_delete_session },
    { "update_session_title", cmd_update_session_title },
    { "update_session_working_directory", cmd_update_session_working_directory },
    { "update_session_last_accessed", cmd_update_session_last_accessed },
    { "set_approval_mode", cmd_set_approval_mode },
    { "set_execution_mode", cmd_set_execution_mode },
    { "get_tasks", cmd_get_tasks },
    { "get_artifacts", cmd_get_artifacts },
    { "get_context_usage", cmd_get_context_usage },
  };

  /* What a paired phone may do with sessions: list, read and start them. */
  static const gchar *const remote[]
      = { "create_session", "list_sessions",     "list_sessions_page",
          "get_session",    "get_session_chunk", NULL };

  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    if (!cw_plugin_add_command_full (CW_PLUGIN (self), commands[i].name,
                                     g_strv_contains (remote, commands[i].name)
                                         ? CW_COMMAND_FLAG_REMOTE
                                         : CW_COMMAND_FLAG_NONE,
                                     commands[i].func, error))
      return FALSE;
  return TRUE;
}
