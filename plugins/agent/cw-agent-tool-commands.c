/* cw-agent-tool-commands.c: agent_run_tool, one of the agent's tools run outside a chat turn
 * (a workflow's tool node, a script). The call goes through the same permission engine
 * (cw_permission_evaluate, cw_permission_request) and the same sandboxed runner (cw_tool_run
 * with cowork-run-command) as a call of a turn, and is recorded in its session as a
 * tool_start and a tool_result item. A call that needs a person's permission is denied unless
 * the caller asks for permissionMode "ask": then it is a pending permission interaction of
 * the session, like a turn's, and the command answers once it is decided.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-agent-interactions.h"
#include "cw-agent-permissions.h"
#include "cw-agent-plugin-tools.h"
#include "cw-agent-plugin.h"
#include "cw-agent-turn.h"

#include <stdlib.h>

#define PLUGIN(p) CW_AGENT_PLUGIN (p)

typedef struct
{
  gint ref_count;
  CwAgentPlugin *plugin;
  CwInvocation *invocation;
  CwAgentSession *session;
  const CwToolInfo *tool;   /* a built-in tool, or */
  CwAgentTool *contributed; /* one another plugin contributed */
  gchar *name;
  GPtrArray *media; /* media items of a contributed tool's answer */
  gboolean ask;
  gchar *id;
  JsonObject *args;
  JsonObject *call; /* {id, name, args} */
  gchar *start_item_id;
  gchar *permission_id; /* while a person is asked */
  gint64 started_at;
  GCancellable *cancellable;
  gulong cancel_id;
  gboolean done;
} ToolCall;

static ToolCall *
tool_call_ref (ToolCall *c)
{
  c->ref_count++;
  return c;
}

static void
tool_call_unref (ToolCall *c)
{
  if (--c->ref_count > 0)
    return;
  g_object_unref (c->invocation);
  g_object_unref (c->session);
  g_free (c->id);
  json_object_unref (c->args);
  json_object_unref (c->call);
  g_free (c->start_item_id);
  g_free (c->permission_id);
  g_clear_pointer (&c->contributed, cw_agent_tool_unref);
  g_free (c->name);
  g_clear_pointer (&c->media, g_ptr_array_unref);
  g_clear_object (&c->cancellable);
  g_free (c);
}

/* The one end of a call: the items of the session and the command's answer. */
static void
finish (ToolCall *c, gboolean success, const gchar *output, const gchar *error, gboolean denied)
{
  CwAgentSessions *sessions = c->plugin->sessions;
  gint64 duration = cw_now_ms () - c->started_at;
  JsonObject *updates, *item, *result;
  g_autoptr (JsonObject) stored = NULL;

  if (c->done)
    return;
  c->done = TRUE;
  if (c->cancel_id != 0)
    g_cancellable_disconnect (c->cancellable, c->cancel_id);
  c->cancel_id = 0;
  if (denied)
    g_message ("agent_run_tool %s in session %s: %s", c->name, c->session->id, error);

  if (!c->session->deleted)
    {
      updates = json_object_new ();
      json_object_set_string_member (updates, "status", success ? "completed" : "error");
      cw_agent_sessions_update_item (sessions, c->session, c->start_item_id, updates, TRUE);
      item = json_object_new ();
      json_object_set_string_member (item, "kind", "tool_result");
      json_object_set_string_member (item, "toolId", c->id);
      json_object_set_string_member (item, "name", c->name);
      json_object_set_string_member (item, "status", success ? "success" : "error");
      if (output != NULL)
        json_object_set_string_member (item, "result", output);
      if (error != NULL)
        json_object_set_string_member (item, "error", error);
      if (denied)
        json_object_set_boolean_member (item, "denied", TRUE);
      json_object_set_int_member (item, "duration", duration);
      stored = cw_agent_sessions_append_item (sessions, c->session, item);
      if (success)
        cw_agent_plugin_tool_add_media (c->plugin, c->session, NULL, c->id, c->media);
      cw_agent_sessions_commit (sessions, c->session, CW_AGENT_CHANGE_RUNTIME, NULL);
    }

  result = json_object_new ();
  json_object_set_string_member (result, "sessionId", c->session->id);
  json_object_set_string_member (result, "toolCallId", c->id);
  json_object_set_string_member (result, "tool", c->name);
  json_object_set_boolean_member (result, "success", success);
  if (output != NULL)
    json_object_set_string_member (result, "result", output);
  else
    json_object_set_null_member (result, "result");
  if (error != NULL)
    json_object_set_string_member (result, "error", error);
  else
    json_object_set_null_member (result, "error");
  json_object_set_boolean_member (result, "denied", denied);
  json_object_set_int_member (result, "duration", duration);
  cw_invocation_return_object (c->invocation, result);
  tool_call_unref (c);
}

/* A run's end: its output, or why there is none. */
static void
finish_run (ToolCall *c, const gchar *out, GError *error)
{
  if (out != NULL)
    finish (c, TRUE, out, NULL, FALSE);
  else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    finish (c, FALSE, NULL, "Tool execution was stopped", FALSE);
  else
    finish (c, FALSE, NULL, error->message, FALSE);
}

static void
on_tool_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  ToolCall *c = user_data;
  g_autoptr (GError) error = NULL;
  CwToolOutcome outcome = { 0 };
  g_autofree gchar *out = cw_agent_tool_execute_finish (c->plugin, res, &outcome, &error);

  finish_run (c, out, error);
  cw_tool_outcome_clear (&outcome);
}

static void
on_contributed_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  ToolCall *c = user_data;
  g_autoptr (GError) error = NULL;
  g_autofree gchar *out = cw_agent_plugin_tool_call_finish (c->plugin, res, &c->media, &error);

  finish_run (c, out, error);
}

static void
execute (ToolCall *c, CwToolSandbox sandbox)
{
  g_autofree gchar *gone = NULL;

  if (g_cancellable_is_cancelled (c->cancellable))
    {
      finish (c, FALSE, NULL, "Tool execution was stopped", FALSE);
      return;
    }
  if (c->contributed != NULL)
    {
      if (!cw_agent_plugin_tool_refresh (c->plugin, c->name, &c->contributed, &gone))
        finish (c, FALSE, NULL, gone, FALSE);
      else
        cw_agent_plugin_tool_call (c->plugin, c->contributed, c->session->id, c->id, c->args,
                                   c->cancellable, on_contributed_done, c);
      return;
    }
  cw_agent_tool_execute (c->plugin, c->session, c->tool, c->args, sandbox, c->cancellable,
                         on_tool_done, c);
}

static void
on_permission (const gchar *decision, gpointer user_data)
{
  ToolCall *c = user_data;

  g_clear_pointer (&c->permission_id, g_free);
  if (g_strcmp0 (decision, "deny") == 0)
    finish (c, FALSE, NULL, "Permission denied: the request was refused", TRUE);
  else
    execute (c, CW_TOOL_SANDBOX_NONE);
}

static gboolean
deny_pending (gpointer user_data)
{
  ToolCall *c = user_data;
  g_autoptr (GError) error = NULL;

  if (!c->done && c->permission_id != NULL
      && !cw_permission_respond (c->plugin, c->permission_id, "deny", CW_AGENT_ACTOR, &error))
    g_debug ("agent_run_tool: %s", error->message);
  tool_call_unref (c);
  return G_SOURCE_REMOVE;
}

/* The caller went away while a person was asked: the request is withdrawn (denied). Not
 * from inside the handler, which may not disconnect itself. */
static void
on_cancelled (GCancellable *cancellable, gpointer user_data)
{
  g_idle_add (deny_pending, tool_call_ref (user_data));
}

/* A person is asked: the call waits, and is withdrawn if the caller goes away. */
static void
wait_for_person (ToolCall *c, CwPendingPermission *p)
{
  if (p != NULL && !c->done)
    {
      c->permission_id = g_strdup (p->id);
      c->cancel_id = g_cancellable_connect (c->cancellable, G_CALLBACK (on_cancelled), c, NULL);
    }
}

/* A contributed tool: its flags and the approval mode decide (cw-agent-plugin-tools.h). */
static void
authorize_contributed (ToolCall *c)
{
  CwAgentSession *session = c->session;
  g_autofree gchar *message = NULL;
  CwPermissionVerdict verdict;

  if (g_strcmp0 (session->execution_mode, "plan") == 0
      && !cw_agent_plugin_tool_plan_allows (c->contributed))
    {
      message = g_strdup_printf ("Permission denied: plan mode blocks \"%s\"", c->name);
      finish (c, FALSE, NULL, message, TRUE);
      return;
    }
  verdict = cw_agent_plugin_tool_evaluate (session, c->contributed);
  if (verdict == CW_PERMISSION_ALLOW || verdict == CW_PERMISSION_ALLOW_CONFINED)
    execute (c, CW_TOOL_SANDBOX_NONE);
  else if (verdict == CW_PERMISSION_DENY)
    {
      message = g_strdup_printf ("Permission denied: approval mode \"%s\" does not allow the "
                                 "tool %s",
                                 session->approval_mode, c->name);
      finish (c, FALSE, NULL, message, TRUE);
    }
  else if (!c->ask)
    {
      message = g_strdup_printf ("Permission denied: the tool %s needs a person's approval, and "
                                 "permissionMode is not \"ask\"",
                                 c->name);
      finish (c, FALSE, NULL, message, TRUE);
    }
  else
    wait_for_person (c, cw_permission_request (c->plugin, session, NULL,
                                               CW_AGENT_PLUGIN_TOOL_PERMISSION, c->name, FALSE,
                                               NULL, c->call, on_permission, c));
}

static void
authorize (ToolCall *c, const gchar *resource)
{
  CwAgentSession *session = c->session;
  const CwToolInfo *tool = c->tool;
  g_autofree gchar *message = NULL;
  CwPermissionVerdict verdict;

  if (c->contributed != NULL)
    {
      authorize_contributed (c);
      return;
    }
  if (g_strcmp0 (session->execution_mode, "plan") == 0
      && !cw_agent_tool_plan_allows (session, tool, c->args))
    {
      message = g_strdup_printf ("Permission denied: plan mode blocks \"%s\"", tool->name);
      finish (c, FALSE, NULL, message, TRUE);
      return;
    }
  if (tool->permission_type == NULL)
    {
      execute (c, CW_TOOL_SANDBOX_NONE);
      return;
    }
  verdict = cw_permission_evaluate (session, c->plugin->config, tool->permission_type, resource,
                                    tool->resource_is_path);
  if (verdict == CW_PERMISSION_ALLOW)
    execute (c, CW_TOOL_SANDBOX_NONE);
  else if (verdict == CW_PERMISSION_ALLOW_CONFINED)
    execute (c, cw_agent_tool_confined_sandbox (session));
  else if (verdict == CW_PERMISSION_DENY)
    {
      message = g_strdup_printf ("Permission denied: approval mode \"%s\" does not allow %s of %s",
                                 session->approval_mode, tool->permission_type, resource);
      finish (c, FALSE, NULL, message, TRUE);
    }
  else if (!c->ask)
    {
      message = g_strdup_printf ("Permission denied: %s of %s needs a person's approval, and "
                                 "permissionMode is not \"ask\"",
                                 tool->permission_type, resource);
      finish (c, FALSE, NULL, message, TRUE);
    }
  else
    wait_for_person (
        c, cw_agent_tool_ask (c->plugin, session, NULL, tool, resource, c->call, on_permission, c));
}

static gchar *
real_directory (const gchar *dir, GError **error)
{
  g_autofree gchar *abs = g_canonicalize_filename (dir, NULL);
  char *real = realpath (abs, NULL);
  gchar *out = NULL;

  if (real != NULL && g_file_test (real, G_FILE_TEST_IS_DIR))
    out = g_strdup (real);
  else
    g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS, "Working directory does not exist: %s",
                 dir);
  free (real);
  return out;
}

/* A stored session of type "ephemeral" for the calls of a caller without one. */
static CwAgentSession *
new_session (CwAgentPlugin *self, gchar *working_directory, const gchar *tool, GError **error)
{
  g_autoptr (CwAgentSession) s = cw_agent_session_new (NULL);
  gint64 now = cw_now_ms ();

  g_free (s->id);
  s->id = cw_make_id ("sess");
  s->type = g_strdup ("ephemeral");
  s->provider = g_strdup (self->config->active_provider);
  s->execution_mode = g_strdup ("execute");
  s->approval_mode = g_strdup ("auto");
  s->title = g_strdup_printf ("Tool: %s", tool);
  s->working_directory = working_directory;
  s->model = g_strdup (cw_agent_config_pick_model (self->config, s->provider, NULL));
  s->created_at = s->updated_at = s->last_accessed_at = now;
  if (!cw_agent_sessions_commit (self->sessions, s, CW_AGENT_CHANGE_INFO | CW_AGENT_CHANGE_RUNTIME,
                                 error))
    return NULL;
  cw_agent_sessions_add (self->sessions, s);
  cw_agent_sessions_commit (self->sessions, s, CW_AGENT_CHANGE_ANNOUNCE, NULL);
  return g_steal_pointer (&s);
}

static CwAgentSession *
get_session (CwAgentPlugin *self, CwInvocation *inv, const gchar *tool, GError **error)
{
  const gchar *id = cw_invocation_get_string (inv, "sessionId", FALSE, error);
  const gchar *dir = NULL;
  g_autofree gchar *wd = NULL;
  CwAgentSession *s;

  if (error != NULL && *error != NULL)
    return NULL;
  dir = cw_invocation_get_string (inv, "workingDirectory", id == NULL, error);
  if (dir == NULL && (id == NULL || *error != NULL))
    return NULL;
  if (dir != NULL && (wd = real_directory (dir, error)) == NULL)
    return NULL;
  if (id == NULL)
    return new_session (self, g_steal_pointer (&wd), tool, error);
  s = cw_agent_sessions_lookup (self->sessions, id);
  if (s == NULL || s->deleted)
    {
      g_set_error (error, CW_ERROR, CW_ERROR_NOT_FOUND, "Session not found: %s", id);
      return NULL;
    }
  if (wd != NULL && g_strcmp0 (wd, s->working_directory) != 0)
    {
      g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS,
                   "workingDirectory %s is not the working directory of session %s", dir, id);
      return NULL;
    }
  return g_object_ref (s);
}

static void
cmd_agent_run_tool (CwInvocation *inv, gpointer user_data)
{
  CwAgentPlugin *self = PLUGIN (user_data);
  g_autoptr (GError) error = NULL;
  JsonObject *params = cw_invocation_get_params (inv);
  const gchar *name, *mode = NULL, *arg;
  const CwToolInfo *tool;
  g_autoptr (CwAgentTool) contributed = NULL;
  JsonNode *args;
  g_autofree gchar *resource = NULL;
  g_autoptr (JsonObject) stored = NULL;
  JsonObject *item;
  CwAgentSession *session;
  ToolCall *c;

  name = cw_invocation_get_string (inv, "tool", TRUE, &error);
  if (name != NULL)
    mode = cw_invocation_get_string (inv, "permissionMode", FALSE, &error);
  if (error != NULL)
    {
      cw_invocation_return_error (inv, g_steal_pointer (&error));
      return;
    }
  tool = cw_tool_lookup (name);
  if (tool == NULL)
    contributed = cw_agent_plugin_tool_lookup (self, name);
  if (tool == NULL && contributed == NULL)
    {
      cw_invocation_return_new_error (inv, CW_ERROR_INVALID_PARAMS, "Unknown tool: %s", name);
      return;
    }
  if (tool != NULL && tool->run_sync == NULL && tool->run_async == NULL)
    {
      cw_invocation_return_new_error (inv, CW_ERROR_INVALID_PARAMS,
                                      "Tool %s acts on a chat turn and runs only inside one", name);
      return;
    }
  if (mode != NULL && g_strcmp0 (mode, "deny") != 0 && g_strcmp0 (mode, "ask") != 0)
    {
      cw_invocation_return_error_literal (inv, CW_ERROR_INVALID_PARAMS,
                                          "permissionMode must be \"deny\" or \"ask\"");
      return;
    }
  args = json_object_get_member (params, "args");
  if (args != NULL && !JSON_NODE_HOLDS_NULL (args) && !JSON_NODE_HOLDS_OBJECT (args))
    {
      cw_invocation_return_error_literal (inv, CW_ERROR_INVALID_PARAMS, "args must be an object");
      return;
    }
  arg = tool != NULL && args != NULL && JSON_NODE_HOLDS_OBJECT (args)
            ? json_object_get_string_member_with_default (json_node_get_object (args),
                                                          tool->resource_arg, NULL)
            : NULL;
  if (tool != NULL && tool->permission_type != NULL && !tool->resource_is_path
      && (arg == NULL || *arg == '\0'))
    {
      cw_invocation_return_new_error (inv, CW_ERROR_INVALID_PARAMS, "args.%s is required",
                                      tool->resource_arg);
      return;
    }
  session = get_session (self, inv, name, &error);
  if (session == NULL)
    {
      cw_invocation_return_error (inv, g_steal_pointer (&error));
      return;
    }

  c = g_new0 (ToolCall, 1);
  c->ref_count = 1;
  c->plugin = self;
  c->invocation = g_object_ref (inv);
  c->session = session;
  c->tool = tool;
  c->contributed = g_steal_pointer (&contributed);
  c->name = g_strdup (tool != NULL ? tool->name : cw_agent_tool_get_name (c->contributed));
  c->ask = g_strcmp0 (mode, "ask") == 0;
  c->id = cw_make_id ("tool");
  c->args = args != NULL && JSON_NODE_HOLDS_OBJECT (args) ? json_node_dup_object (args)
                                                          : json_object_new ();
  c->call = json_object_new ();
  json_object_set_string_member (c->call, "id", c->id);
  json_object_set_string_member (c->call, "name", c->name);
  json_object_set_object_member (c->call, "args", json_object_ref (c->args));
  c->started_at = cw_now_ms ();
  c->cancellable = g_object_ref (cw_invocation_get_cancellable (inv));

  item = json_object_new ();
  json_object_set_string_member (item, "kind", "tool_start");
  json_object_set_string_member (item, "toolId", c->id);
  json_object_set_string_member (item, "name", c->name);
  json_object_set_object_member (item, "args", json_object_ref (c->args));
  json_object_set_string_member (item, "status", "running");
  stored = cw_agent_sessions_append_item (self->sessions, session, item);
  c->start_item_id = g_strdup (json_object_get_string_member (stored, "id"));
  cw_agent_sessions_commit (self->sessions, session, CW_AGENT_CHANGE_RUNTIME, NULL);

  if (tool != NULL && tool->resource_is_path)
    resource = cw_agent_session_resolve_path (session, arg);
  else
    resource = g_strdup (arg);
  authorize (c, resource);
}

gboolean
cw_agent_tool_commands_register (CwAgentPlugin *self, GError **error)
{
  /* Local callers only: a paired phone runs tools through a chat turn, where it sees them. */
  return cw_plugin_add_command_full (CW_PLUGIN (self), "agent_run_tool", CW_COMMAND_FLAG_NONE,
                                     cmd_agent_run_tool, error);
}
