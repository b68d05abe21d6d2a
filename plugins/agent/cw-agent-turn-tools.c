/* cw-agent-turn-tools.c: the tool calls of a turn's round. Each call is announced
 * (tool:start, a tool_start item), then blocked (unknown tool, plan mode), asked for
 * (permission engine) or run at once, and ends in exactly one tool:result and tool_result
 * item, whatever way it ends. When the last call of the round is done, the next round starts.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-agent-command-policy.h"
#include "cw-agent-json.h"
#include "cw-agent-permissions.h"
#include "cw-agent-plugin-tools.h"
#include "cw-agent-questions.h"
#include "cw-agent-store.h"
#include "cw-agent-turn-state.h"
#include "tools/cw-tool.h"
#include "tools/cw-tool-fs.h"

/* A contributed tool's command running for a call; run is NULL once the call ended without
 * waiting for its answer. */
typedef struct
{
  CwAgentToolRun *run;
} PluginCall;

void
cw_agent_tool_run_free (CwAgentToolRun *run)
{
  if (run->plugin_call != NULL)
    ((PluginCall *) run->plugin_call)->run = NULL;
  g_free (run->id);
  g_free (run->name);
  g_clear_pointer (&run->args, json_object_unref);
  g_clear_pointer (&run->call, json_object_unref);
  g_clear_pointer (&run->contributed, cw_agent_tool_unref);
  g_clear_pointer (&run->media, g_ptr_array_unref);
  g_free (run->start_item_id);
  g_free (run);
}

CwAgentToolRun *
cw_agent_tool_run_new (CwAgentTurn *self, const gchar *id, const gchar *name, JsonObject *args)
{
  CwAgentToolRun *run = g_new0 (CwAgentToolRun, 1);

  run->turn = self;
  run->id = g_strdup (id != NULL && *id != '\0' ? id : NULL);
  if (run->id == NULL)
    run->id = cw_make_id ("tool");
  run->name = g_strdup (name);
  run->args = args != NULL ? json_object_ref (args) : json_object_new ();
  run->tool = cw_tool_lookup (name);
  if (run->tool == NULL)
    run->contributed = cw_agent_plugin_tool_lookup (self->plugin, name);
  run->call = json_object_new ();
  json_object_set_string_member (run->call, "id", run->id);
  json_object_set_string_member (run->call, "name", run->name);
  json_object_set_object_member (run->call, "args", json_object_ref (run->args));
  run->started_at = cw_now_ms ();
  return run;
}

/* ---- tools -------------------------------------------------------------------------- */

static JsonObject *
result_object (CwAgentToolRun *run, gboolean success, const gchar *output, const gchar *error,
               gint64 duration)
{
  JsonObject *r = json_object_new ();

  json_object_set_string_member (r, "toolCallId", run->id);
  json_object_set_boolean_member (r, "success", success);
  if (output != NULL)
    json_object_set_string_member (r, "result", output);
  else
    json_object_set_null_member (r, "result");
  if (error != NULL)
    json_object_set_string_member (r, "error", error);
  json_object_set_int_member (r, "duration", duration);
  return r;
}

static void
emit_artifact (CwAgentTurn *self, CwToolOutcome *outcome)
{
  JsonObject *artifact, *data;
  g_autofree gchar *id = NULL;
  g_autoptr (GError) error = NULL;

  if (outcome == NULL || outcome->artifact_type == NULL || outcome->artifact_path == NULL)
    return;
  id = cw_make_id ("art");
  artifact = json_object_new ();
  json_object_set_string_member (artifact, "id", id);
  json_object_set_string_member (artifact, "path", outcome->artifact_path);
  json_object_set_string_member (artifact, "type", outcome->artifact_type);
  json_object_set_int_member (artifact, "timestamp", cw_now_ms ());
  if (!cw_agent_store_save_artifact (self->plugin->store, self->session->id, artifact, &error))
    g_warning ("failed to store artifact: %s", error->message);
  data = json_object_new ();
  json_object_set_object_member (data, "artifact", artifact);
  cw_agent_turn_emit (self, "artifact:created", data);
}

/* The end of one tool call, whatever the way: tool:result, the items, maybe the round. */
static void
complete_tool (CwAgentToolRun *run, gboolean success, const gchar *output, const gchar *error,
               CwToolOutcome *outcome)
{
  CwAgentTurn *self = run->turn;
  gint64 duration = cw_now_ms () - run->started_at;
  JsonObject *data, *updates, *item;
  g_autoptr (JsonObject) stored = NULL;

  if (run->done)
    return;
  run->done = TRUE;
  data = json_object_new ();
  json_object_set_string_member (data, "toolCallId", run->id);
  json_object_set_object_member (data, "toolCall", json_object_ref (run->call));
  json_object_set_object_member (data, "result",
                                 result_object (run, success, output, error, duration));
  cw_agent_turn_emit (self, "tool:result", data);
  if (!success)
    self->session->health.tool_errors++;
  cw_agent_sessions_emit_health (self->plugin->sessions, self->session);
  if (success)
    emit_artifact (self, outcome);
  if (run->start_item_id != NULL)
    {
      updates = json_object_new ();
      json_object_set_string_member (updates, "status", success ? "completed" : "error");
      cw_agent_sessions_update_item (self->plugin->sessions, self->session, run->start_item_id,
                                     updates, TRUE);
    }
  item = json_object_new ();
  json_object_set_string_member (item, "kind", "tool_result");
  json_object_set_string_member (item, "turnId", self->turn_id);
  json_object_set_string_member (item, "toolId", run->id);
  json_object_set_string_member (item, "name", run->name);
  json_object_set_string_member (item, "status", success ? "success" : "error");
  if (output != NULL)
    json_object_set_string_member (item, "result", output);
  if (error != NULL)
    json_object_set_string_member (item, "error", error);
  json_object_set_int_member (item, "duration", duration);
  stored = cw_agent_sessions_append_item (self->plugin->sessions, self->session, item);
  if (success)
    cw_agent_plugin_tool_add_media (self->plugin, self->session, self->turn_id, run->id,
                                    run->media);

  self->tools_pending--;
  cw_agent_sessions_commit (self->plugin->sessions, self->session, CW_AGENT_CHANGE_RUNTIME, NULL);
  if (self->tools_pending > 0)
    return;
  if (self->stopped)
    cw_agent_turn_maybe_finish (self);
  else
    cw_agent_turn_begin_round (self);
}

/* A run's end: its output, or why there is none. */
static void
complete_run (CwAgentToolRun *run, const gchar *out, GError *error, CwToolOutcome *outcome)
{
  if (out != NULL)
    complete_tool (run, TRUE, out, NULL, outcome);
  else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    complete_tool (run, FALSE, NULL, "Tool execution was stopped", NULL);
  else
    complete_tool (run, FALSE, NULL, error->message, NULL);
}

static void
on_tool_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  CwAgentToolRun *run = user_data;
  g_autoptr (GError) error = NULL;
  CwToolOutcome outcome = { 0 };
  g_autofree gchar *out = cw_agent_tool_execute_finish (run->turn->plugin, res, &outcome, &error);

  complete_run (run, out, error, &outcome);
  cw_tool_outcome_clear (&outcome);
}

/* The real path a file tool stays within: the working directory, or the one path outside
 * it that was asked for (and so approved or granted). NULL: the working directory. */
static gchar *
tool_root (CwAgentSession *session, const CwToolInfo *tool, JsonObject *args)
{
  g_autofree gchar *resource = NULL;
  const gchar *arg;

  if (!tool->resource_is_path)
    return NULL;
  arg = json_object_get_string_member_with_default (args, tool->resource_arg, NULL);
  resource = cw_agent_session_resolve_path (session, arg);
  if (cw_agent_session_path_inside (session, resource))
    return NULL;
  if (tool == &cw_tool_delete_file)
    {
      g_autofree gchar *dir = g_path_get_dirname (resource);
      g_autofree gchar *base = g_path_get_basename (resource);
      g_autofree gchar *real_dir = cw_tool_fs_real_path (dir);
      return g_build_filename (real_dir, base, NULL);
    }
  return cw_tool_fs_real_path (resource);
}

void
cw_agent_tool_execute (CwAgentPlugin *plugin, CwAgentSession *session, const CwToolInfo *tool,
                       JsonObject *args, CwToolSandbox sandbox, GCancellable *cancellable,
                       GAsyncReadyCallback callback, gpointer user_data)
{
  CwAgentConfig *config = plugin->config;
  g_autofree gchar *root = tool_root (session, tool, args);
  CwToolEnv *env = cw_tool_env_new (session->working_directory, root, config->max_execution_ms,
                                    config->max_output_bytes);

  env->sandbox = sandbox;
  env->commands = plugin->commands;
  cw_tool_run (tool, env, args, cancellable, callback, user_data);
  cw_tool_env_free (env);
}

gchar *
cw_agent_tool_execute_finish (CwAgentPlugin *plugin, GAsyncResult *result, CwToolOutcome *outcome,
                              GError **error)
{
  gchar *out = cw_tool_run_finish (result, outcome, error);

  /* What goes back to the model stays within toolOutputTokenLimit (~4 bytes a token). */
  return out != NULL ? cw_tool_cap_output (out, plugin->config->tool_output_token_limit * 4) : NULL;
}

CwToolSandbox
cw_agent_tool_confined_sandbox (CwAgentSession *session)
{
  return g_strcmp0 (session->execution_mode, "plan") == 0 ? CW_TOOL_SANDBOX_READ_ONLY
                                                          : CW_TOOL_SANDBOX_WORKDIR;
}

CwPendingPermission *
cw_agent_tool_ask (CwAgentPlugin *plugin, CwAgentSession *session, const gchar *turn_id,
                   const CwToolInfo *tool, const gchar *resource, JsonObject *tool_call,
                   CwPermissionFunc func, gpointer user_data)
{
  g_autofree gchar *real = tool->resource_is_path ? cw_tool_fs_real_path (resource) : NULL;
  g_autofree gchar *reason = NULL;

  if (real != NULL && g_strcmp0 (real, resource) != 0)
    reason = g_strdup_printf ("%s is a symlink to %s", resource, real);
  return cw_permission_request (plugin, session, turn_id, tool->permission_type, resource,
                                tool->resource_is_path, reason, tool_call, func, user_data);
}

static void
on_contributed_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  PluginCall *call = user_data;
  CwAgentToolRun *run = call->run;
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) media = NULL;
  g_autofree gchar *out
      = cw_agent_plugin_tool_call_finish (CW_AGENT_PLUGIN (source), res, &media, &error);

  g_free (call);
  if (run == NULL)
    return;
  run->plugin_call = NULL;
  run->media = g_steal_pointer (&media);
  complete_run (run, out, error, NULL);
}

void
cw_agent_turn_stop_plugin_calls (CwAgentTurn *self)
{
  g_autoptr (GPtrArray) runs = g_ptr_array_new ();

  for (guint i = 0; i < self->calls->len; i++)
    {
      CwAgentToolRun *run = g_ptr_array_index (self->calls, i);
      if (run->plugin_call == NULL)
        continue;
      ((PluginCall *) run->plugin_call)->run = NULL;
      run->plugin_call = NULL;
      g_ptr_array_add (runs, run);
    }
  /* Only the last completion can end the turn (and free the runs). */
  for (guint i = 0; i < runs->len; i++)
    complete_tool (g_ptr_array_index (runs, i), FALSE, NULL, "Tool execution was stopped", NULL);
}

static void
execute_tool (CwAgentToolRun *run, CwToolSandbox sandbox)
{
  CwAgentTurn *self = run->turn;
  g_autofree gchar *gone = NULL;

  if (self->stopped)
    {
      complete_tool (run, FALSE, NULL, "Tool execution was stopped", NULL);
      return;
    }
  if (run->tool == NULL)
    {
      /* Withdrawn while the model streamed or a person was asked (or, after a restart, not
       * offered again yet). */
      if (!cw_agent_plugin_tool_refresh (self->plugin, run->name, &run->contributed, &gone))
        complete_tool (run, FALSE, NULL, gone, NULL);
      else
        {
          PluginCall *call = g_new0 (PluginCall, 1);

          call->run = run;
          run->plugin_call = call;
          cw_agent_plugin_tool_call (self->plugin, run->contributed, self->session->id, run->id,
                                     run->args, self->cancellable, on_contributed_done, call);
        }
      return;
    }
  cw_agent_tool_execute (self->plugin, self->session, run->tool, run->args, sandbox,
                         self->cancellable, on_tool_done, run);
}

void
cw_agent_tool_run_on_permission (const gchar *decision, gpointer user_data)
{
  CwAgentToolRun *run = user_data;

  if (g_strcmp0 (decision, "deny") == 0)
    complete_tool (run, FALSE, NULL, "Permission denied", NULL);
  else
    execute_tool (run, CW_TOOL_SANDBOX_NONE);
}

void
cw_agent_tool_run_on_answer (JsonNode *answer, gpointer user_data)
{
  CwAgentToolRun *run = user_data;
  g_autofree gchar *text = NULL;

  if (JSON_NODE_HOLDS_VALUE (answer)
      && g_strcmp0 (json_node_get_string (answer), CW_QUESTION_CANCELLED) == 0)
    {
      complete_tool (run, FALSE, NULL, "The user did not answer (the turn was stopped)", NULL);
      return;
    }
  text = JSON_NODE_HOLDS_VALUE (answer) ? g_strdup (json_node_get_string (answer))
                                        : cw_json_to_string (answer);
  complete_tool (run, TRUE, text, NULL, NULL);
}

static void
run_write_todos (CwAgentToolRun *run)
{
  CwAgentTurn *self = run->turn;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonArray) tasks = cw_tool_write_todos_tasks (self->session->id, run->args, &error);
  g_autofree gchar *summary = NULL;

  if (tasks == NULL)
    {
      complete_tool (run, FALSE, NULL, error->message, NULL);
      return;
    }
  json_array_unref (self->session->tasks);
  self->session->tasks = json_array_ref (tasks);
  cw_agent_sessions_emit_tasks (self->plugin->sessions, self->session);
  self->tasks_sent = TRUE;
  cw_agent_sessions_commit (self->plugin->sessions, self->session, CW_AGENT_CHANGE_RUNTIME, NULL);
  summary = g_strdup_printf ("Todo list updated (%u items)", json_array_get_length (tasks));
  complete_tool (run, TRUE, summary, NULL, NULL);
}

gboolean
cw_agent_tool_plan_allows (CwAgentSession *session, const CwToolInfo *tool, JsonObject *args)
{
  if (tool->read_only)
    return TRUE;
  if (tool == &cw_tool_execute)
    return cw_command_policy_is_read_only (
        json_object_get_string_member_with_default (args, "command", NULL),
        session->working_directory);
  return FALSE;
}

static gchar *
plan_blocks (const gchar *name)
{
  return g_strdup_printf ("Plan mode blocks \"%s\": only read-only tools run while planning", name);
}

/* The same for a tool another plugin contributed: its flags instead of a permission type. */
static void
authorize_contributed (CwAgentToolRun *run)
{
  CwAgentTurn *self = run->turn;
  CwAgentSession *session = self->session;
  g_autofree gchar *message = NULL;
  CwPermissionVerdict verdict;

  if (g_strcmp0 (session->execution_mode, "plan") == 0
      && !cw_agent_plugin_tool_plan_allows (run->contributed))
    {
      message = plan_blocks (run->name);
      complete_tool (run, FALSE, NULL, message, NULL);
      return;
    }
  verdict = cw_agent_plugin_tool_evaluate (session, run->contributed);
  if (verdict == CW_PERMISSION_ALLOW || verdict == CW_PERMISSION_ALLOW_CONFINED)
    execute_tool (run, CW_TOOL_SANDBOX_NONE);
  else if (verdict == CW_PERMISSION_DENY)
    complete_tool (run, FALSE, NULL, "Permission denied", NULL);
  else
    cw_permission_request (self->plugin, session, self->turn_id, CW_AGENT_PLUGIN_TOOL_PERMISSION,
                           run->name, FALSE, NULL, run->call, cw_agent_tool_run_on_permission, run);
}

/* Decides how one call runs: blocked, asked for, or started. */
static void
authorize_tool (CwAgentToolRun *run)
{
  CwAgentTurn *self = run->turn;
  CwAgentSession *session = self->session;
  const CwToolInfo *tool = run->tool;
  g_autofree gchar *resource = NULL;
  g_autofree gchar *message = NULL;
  const gchar *arg;
  CwPermissionVerdict verdict;

  if (tool == NULL && run->contributed != NULL)
    {
      authorize_contributed (run);
      return;
    }
  if (tool == NULL)
    {
      message = g_strdup_printf ("Unknown tool: %s", run->name);
      complete_tool (run, FALSE, NULL, message, NULL);
      return;
    }
  if (g_strcmp0 (session->execution_mode, "plan") == 0
      && !cw_agent_tool_plan_allows (session, tool, run->args))
    {
      message = plan_blocks (run->name);
      complete_tool (run, FALSE, NULL, message, NULL);
      return;
    }
  if (tool == &cw_tool_write_todos)
    {
      run_write_todos (run);
      return;
    }
  if (tool == &cw_tool_ask_user)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (JsonObject) req = cw_tool_ask_user_request (run->args, &error);
      if (req == NULL)
        complete_tool (run, FALSE, NULL, error->message, NULL);
      else
        cw_question_ask (self->plugin, session, self->turn_id, req, run->call,
                         cw_agent_tool_run_on_answer, run);
      return;
    }
  if (tool->permission_type == NULL)
    {
      execute_tool (run, CW_TOOL_SANDBOX_NONE);
      return;
    }
  arg = json_object_get_string_member_with_default (run->args, tool->resource_arg, NULL);
  if (!tool->resource_is_path && (arg == NULL || *arg == '\0'))
    {
      message = g_strdup_printf ("%s is required", tool->resource_arg);
      complete_tool (run, FALSE, NULL, message, NULL);
      return;
    }
  resource = tool->resource_is_path ? cw_agent_session_resolve_path (session, arg) : g_strdup (arg);
  verdict = cw_permission_evaluate (session, self->plugin->config, tool->permission_type, resource,
                                    tool->resource_is_path);
  if (verdict == CW_PERMISSION_ALLOW)
    execute_tool (run, CW_TOOL_SANDBOX_NONE);
  else if (verdict == CW_PERMISSION_ALLOW_CONFINED)
    execute_tool (run, cw_agent_tool_confined_sandbox (session));
  else if (verdict == CW_PERMISSION_DENY)
    complete_tool (run, FALSE, NULL, "Permission denied", NULL);
  else
    cw_agent_tool_ask (self->plugin, session, self->turn_id, tool, resource, run->call,
                       cw_agent_tool_run_on_permission, run);
}

void
cw_agent_turn_run_tools (CwAgentTurn *self)
{
  self->tools_pending = self->calls->len;
  /* Every call is announced first, then authorized: identical requests of one round then
   * share a single prompt, and the events keep the §6.7 order per tool. */
  for (guint i = 0; i < self->calls->len; i++)
    {
      CwAgentToolRun *run = g_ptr_array_index (self->calls, i);
      JsonObject *data = json_object_new ();
      JsonObject *item = json_object_new ();
      g_autoptr (JsonObject) stored = NULL;

      json_object_set_object_member (data, "toolCall", json_object_ref (run->call));
      json_object_set_int_member (data, "startTime", run->started_at);
      cw_agent_turn_emit (self, "tool:start", data);
      json_object_set_string_member (item, "kind", "tool_start");
      json_object_set_string_member (item, "turnId", self->turn_id);
      json_object_set_string_member (item, "toolId", run->id);
      json_object_set_string_member (item, "name", run->name);
      json_object_set_object_member (item, "args", json_object_ref (run->args));
      json_object_set_string_member (item, "status", "running");
      stored = cw_agent_sessions_append_item (self->plugin->sessions, self->session, item);
      run->start_item_id = g_strdup (json_object_get_string_member (stored, "id"));
    }
  cw_agent_sessions_commit (self->plugin->sessions, self->session, CW_AGENT_CHANGE_RUNTIME, NULL);
  /* authorize_tool may complete a call at once (and even end the round), so walk a copy. */
  {
    g_autoptr (GPtrArray) runs = g_ptr_array_new ();
    for (guint i = 0; i < self->calls->len; i++)
      g_ptr_array_add (runs, g_ptr_array_index (self->calls, i));
    for (guint i = 0; i < runs->len; i++)
      authorize_tool (g_ptr_array_index (runs, i));
  }
}
