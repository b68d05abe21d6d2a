/* cw-workflow-nodes.c: what each node type does (contract §2.5, with every type executed
 * for real): agent prompts through the agent's commands, memory in workflow_memory,
 * notifications over D-Bus, the event stream or the integrations plugin, approvals as
 * pending interactions, subworkflows as child runs, durable waits on the scheduler.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-workflow-plugin.h"

#include <gio/gio.h>
#include <string.h>

#define DEFAULT_LOOP_MAX 100
#define LOOP_MAX_CAP     10000

static JsonObject *
new_output (void)
{
  return json_object_new ();
}

static JsonArray *
missing_array (CwWfStep *step)
{
  GPtrArray *missing = cw_wf_step_get_missing (step);
  JsonArray *arr = json_array_new ();

  for (guint i = 0; i < missing->len; i++)
    json_array_add_string_element (arr, g_ptr_array_index (missing, i));
  return arr;
}

static const gchar *
node_id (CwWfStep *step)
{
  return cw_wf_str (cw_wf_step_get_node (step), "id");
}

/* The node's own config, before templates: expressions are parsed, never rendered. */
static JsonObject *
raw_config (CwWfStep *step)
{
  return cw_wf_obj (cw_wf_step_get_node (step), "config");
}

/* ---- condition, loop, wait ----------------------------------------------------------------- */

static void
run_condition (CwWfStep *step)
{
  const gchar *expression = cw_wf_str (raw_config (step), "expression");
  g_autoptr (GError) error = NULL;
  gboolean result = FALSE;
  JsonObject *output;

  if (!cw_wf_expr_eval (expression, cw_wf_step_get_context (step), &result, &error))
    {
      cw_wf_step_fail (step, error->message);
      return;
    }
  output = new_output ();
  json_object_set_string_member (output, "expression", expression);
  json_object_set_boolean_member (output, "result", result);
  cw_wf_step_succeed (step, output);
}

static JsonArray *
loop_items (CwWfStep *step)
{
  JsonNode *raw = cw_wf_member (raw_config (step), "items");
  JsonNode *value = raw;

  if (raw != NULL && JSON_NODE_HOLDS_VALUE (raw) && json_node_get_value_type (raw) == G_TYPE_STRING)
    {
      g_autofree gchar *path = g_strstrip (g_strdup (json_node_get_string (raw)));
      if (g_str_has_prefix (path, "{{") && g_str_has_suffix (path, "}}"))
        {
          path[strlen (path) - 2] = '\0';
          g_strstrip (path + 2);
          value = cw_wf_path_lookup (cw_wf_step_get_context (step), path + 2);
        }
      else
        value = cw_wf_path_lookup (cw_wf_step_get_context (step), path);
    }
  return value != NULL && JSON_NODE_HOLDS_ARRAY (value) ? json_node_get_array (value) : NULL;
}

static void
run_loop (CwWfStep *step)
{
  JsonObject *config = raw_config (step);
  JsonObject *ctx = cw_wf_step_get_context (step);
  JsonObject *previous = cw_wf_obj (cw_wf_obj (ctx, "nodes"), node_id (step));
  gint64 index = previous != NULL && !cw_wf_bool (previous, "done", TRUE)
                     ? cw_wf_int (previous, "index", -1) + 1
                     : 0;
  gint64 max = CLAMP (cw_wf_int (config, "maxIterations", DEFAULT_LOOP_MAX), 1, LOOP_MAX_CAP);
  JsonArray *items = loop_items (step);
  const gchar *until = cw_wf_str (config, "until");
  gint64 count = cw_wf_int (config, "count", -1);
  gboolean more;
  JsonObject *output = new_output ();

  if (cw_wf_member (config, "items") != NULL)
    {
      guint n = items != NULL ? json_array_get_length (items) : 0;
      if (n > max)
        {
          g_autofree gchar *msg = g_strdup_printf (
              "Loop %s has %u items, more than its maxIterations (%" G_GINT64_FORMAT ")",
              node_id (step), n, max);
          json_object_unref (output);
          cw_wf_step_fail (step, msg);
          return;
        }
      more = index < n;
      if (more)
        json_object_set_member (output, "item",
                                cw_wf_deep_copy (json_array_get_element (items, index)));
      json_object_set_int_member (output, "count", n);
    }
  else if (until != NULL)
    {
      g_autoptr (GError) error = NULL;
      gboolean met = FALSE;
      if (index > 0 && !cw_wf_expr_eval (until, ctx, &met, &error))
        {
          json_object_unref (output);
          cw_wf_step_fail (step, error->message);
          return;
        }
      more = !met;
      if (more && index >= max)
        {
          g_autofree gchar *msg = g_strdup_printf (
              "Loop %s did not meet its until condition within %" G_GINT64_FORMAT " iterations",
              node_id (step), max);
          json_object_unref (output);
          cw_wf_step_fail (step, msg);
          return;
        }
    }
  else if (count >= 0)
    {
      if (count > max)
        {
          g_autofree gchar *msg
              = g_strdup_printf ("Loop %s count %" G_GINT64_FORMAT
                                 " is more than its maxIterations (%" G_GINT64_FORMAT ")",
                                 node_id (step), count, max);
          json_object_unref (output);
          cw_wf_step_fail (step, msg);
          return;
        }
      more = index < count;
    }
  else
    {
      json_object_unref (output);
      cw_wf_step_fail (step, "A loop needs items, until or count");
      return;
    }
  json_object_set_int_member (output, "index", more ? index : index - 1);
  json_object_set_int_member (output, "iterations", more ? index + 1 : index);
  json_object_set_boolean_member (output, "continue", more);
  json_object_set_boolean_member (output, "done", !more);
  cw_wf_step_succeed (step, output);
}

static void
run_wait (CwWfStep *step)
{
  JsonObject *config = cw_wf_step_get_config (step);
  CwWorkflowPlugin *self = cw_wf_step_get_plugin (step);
  JsonNode *duration = cw_wf_member (config, "durationMs");
  gint64 ms = 0, until;
  JsonObject *output = new_output ();

  if (duration != NULL && JSON_NODE_HOLDS_VALUE (duration)
      && json_node_get_value_type (duration) == G_TYPE_STRING)
    ms = g_ascii_strtoll (json_node_get_string (duration), NULL, 10);
  else
    ms = cw_wf_int (config, "durationMs", 0);
  until = cw_wf_int (config, "until", 0);
  if (until <= 0)
    until = cw_wf_now (self) + MAX (0, ms);
  json_object_set_int_member (output, "waitedMs", 0);
  cw_wf_step_wait (step, until, output);
}

/* ---- approval ------------------------------------------------------------------------------ */

#define APPROVAL_TIMED_OUT "nobody answered in time"

static void
on_approval_expired (CwPlugin *plugin, const gchar *job_id, gint64 scheduled_ms,
                     CwScheduleFireFlags flags, gpointer user_data)
{
  CwInteractions *all = cw_context_get_interactions (cw_plugin_get_context (plugin));
  const gchar *id = job_id + strlen (CW_WF_JOB_APPROVAL);
  g_autoptr (JsonNode) answer = json_node_init_object (json_node_alloc (), json_object_new ());
  g_autoptr (GError) error = NULL;

  json_object_set_boolean_member (json_node_get_object (answer), "approved", FALSE);
  json_object_set_string_member (json_node_get_object (answer), "reason", APPROVAL_TIMED_OUT);
  /* the interaction's callback fails the node, as for any denial */
  if (!cw_interactions_respond (all, id, answer, "plugin:workflow", &error))
    g_debug ("approval %s: %s", id, error->message);
}

static void
arm_approval_expiry (CwWorkflowPlugin *self, const gchar *interaction_id, gint64 at)
{
  g_autofree gchar *job = g_strconcat (CW_WF_JOB_APPROVAL, interaction_id, NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (CwSchedule) schedule = cw_schedule_new_at (at, &error);

  if (schedule == NULL
      || !cw_plugin_schedule_add (CW_PLUGIN (self), job, schedule, CW_MISSED_POLICY_ONCE,
                                  on_approval_expired, NULL, NULL, &error))
    g_warning ("approval %s: its timeout cannot be scheduled: %s", interaction_id, error->message);
}

void
cw_wf_approvals_restore (CwWorkflowPlugin *self)
{
  g_autoptr (GPtrArray) pending
      = cw_plugin_list_interactions (CW_PLUGIN (self), CW_INTERACTION_APPROVAL);

  for (guint i = 0; i < pending->len; i++)
    {
      CwInteraction *it = g_ptr_array_index (pending, i);
      if (cw_interaction_get_state (it) == CW_INTERACTION_PENDING
          && cw_interaction_get_expires_at (it) > 0)
        arm_approval_expiry (self, cw_interaction_get_id (it), cw_interaction_get_expires_at (it));
    }
}

void
cw_wf_approval_forget (CwWorkflowPlugin *self, const gchar *interaction_id)
{
  g_autofree gchar *job = g_strconcat (CW_WF_JOB_APPROVAL, interaction_id, NULL);

  cw_plugin_schedule_remove (CW_PLUGIN (self), job, NULL);
}

static void
run_approval (CwWfStep *step)
{
  CwWorkflowPlugin *self = cw_wf_step_get_plugin (step);
  JsonObject *config = cw_wf_step_get_config (step);
  JsonObject *approvals = cw_wf_obj (cw_wf_step_get_context (step), "approvals");
  JsonObject *run = cw_wf_step_get_run (step);
  JsonObject *def = cw_wf_step_get_definition (step);
  JsonObject *node = cw_wf_step_get_node (step);
  g_autoptr (JsonObject) payload = NULL;
  g_autoptr (JsonObject) data = NULL;
  g_autoptr (GError) error = NULL;
  CwInteraction *it;
  g_autofree gchar *reason = NULL;
  gint64 timeout = cw_wf_int (config, "timeoutMs", 0);
  gint64 expires;

  if (cw_wf_bool (config, "autoApprove", FALSE) || cw_wf_bool (approvals, node_id (step), FALSE))
    {
      JsonObject *output = new_output ();
      json_object_set_boolean_member (output, "approved", TRUE);
      json_object_set_string_member (
          output, "reason", cw_wf_bool (config, "autoApprove", FALSE) ? "autoApprove" : "approved");
      cw_wf_step_succeed (step, output);
      return;
    }
  reason = g_strdup_printf ("Waiting for approval: %s", cw_wf_str (node, "name"));
  payload = json_object_new ();
  json_object_set_string_member (payload, "title",
                                 cw_wf_str (config, "title") != NULL ? cw_wf_str (config, "title")
                                                                     : cw_wf_str (node, "name"));
  if (cw_wf_str (config, "message") != NULL)
    json_object_set_string_member (payload, "message", cw_wf_str (config, "message"));
  json_object_set_string_member (payload, "source", "workflow");
  json_object_set_string_member (payload, "runId", cw_wf_str (run, "id"));
  json_object_set_string_member (payload, "workflowId", cw_wf_str (run, "workflowId"));
  json_object_set_string_member (payload, "workflowName", cw_wf_str (def, "name"));
  json_object_set_string_member (payload, "nodeId", node_id (step));
  data = json_object_new ();
  json_object_set_string_member (data, "runId", cw_wf_str (run, "id"));
  json_object_set_string_member (data, "nodeId", node_id (step));
  json_object_set_string_member (data, "walker", cw_wf_step_get_walker (step));
  /* on the scheduler's wall clock, as waits and deadlines */
  expires = timeout > 0 ? cw_wf_now (self) + timeout : 0;
  it = cw_plugin_add_interaction (CW_PLUGIN (self), CW_INTERACTION_APPROVAL, NULL, payload, data,
                                  expires, &error);
  if (it == NULL)
    {
      cw_wf_step_fail (step, error->message);
      return;
    }
  if (expires > 0)
    arm_approval_expiry (self, cw_interaction_get_id (it), expires);
  cw_wf_step_pause (step, reason, cw_interaction_get_id (it));
}

/* ---- memory ---------------------------------------------------------------------------------- */

static void
run_memory (CwWfStep *step, gboolean write)
{
  CwWorkflowPlugin *self = cw_wf_step_get_plugin (step);
  JsonObject *config = cw_wf_step_get_config (step);
  const gchar *workflow = cw_wf_str (cw_wf_step_get_run (step), "workflowId");
  const gchar *key = cw_wf_str (config, "key");
  g_autoptr (GError) error = NULL;
  JsonObject *output;

  if (key == NULL || *key == '\0')
    {
      cw_wf_step_fail (step, "A memory node needs a key");
      return;
    }
  output = new_output ();
  json_object_set_string_member (output, "key", key);
  if (write)
    {
      JsonNode *value = json_object_get_member (config, "value");
      g_autofree gchar *text = value != NULL ? cw_json_to_string (value) : g_strdup ("null");
      if (!cw_wf_exec (self,
                       "INSERT INTO workflow_memory (workflow_id, key, value, updated_at)"
                       " VALUES (?1, ?2, ?3, ?4) ON CONFLICT(workflow_id, key) DO UPDATE"
                       " SET value = ?3, updated_at = ?4",
                       &error, "sssi", workflow, key, text, cw_now_ms ()))
        {
          json_object_unref (output);
          cw_wf_step_fail (step, error->message);
          return;
        }
      json_object_set_member (output, "value",
                              value != NULL ? cw_wf_deep_copy (value)
                                            : json_node_init_null (json_node_alloc ()));
      json_object_set_boolean_member (output, "written", TRUE);
    }
  else
    {
      sqlite3_stmt *stmt = cw_wf_query (
          self, "SELECT value FROM workflow_memory WHERE workflow_id = ?1 AND key = ?2", &error,
          "ss", workflow, key);
      JsonNode *value = NULL;
      if (stmt != NULL && sqlite3_step (stmt) == SQLITE_ROW)
        value = cw_wf_parse ((const gchar *) sqlite3_column_text (stmt, 0));
      if (stmt != NULL)
        sqlite3_reset (stmt);
      json_object_set_boolean_member (output, "found", value != NULL);
      if (value == NULL && cw_wf_member (config, "default") != NULL)
        value = cw_wf_deep_copy (cw_wf_member (config, "default"));
      json_object_set_member (output, "value",
                              value != NULL ? value : json_node_init_null (json_node_alloc ()));
    }
  cw_wf_step_succeed (step, output);
}

/* ---- agent prompts ------------------------------------------------------------------------- */

typedef struct
{
  CwWorkflowPlugin *plugin;
  gchar *prompt;
  gchar *session_id;
  gboolean ask_user; /* permissionMode "ask": requests stay for a person to answer */
  gint64 max_turns;
  GCancellable *cancellable;
  gulong cancel_id;
  CwWfAgentDone done;
  gpointer user_data;
} AgentCall;

static void
agent_call_free (AgentCall *c)
{
  if (c->session_id != NULL && g_hash_table_lookup (c->plugin->agent_sessions, c->session_id) == c)
    g_hash_table_remove (c->plugin->agent_sessions, c->session_id);
  if (c->cancel_id != 0)
    g_cancellable_disconnect (c->cancellable, c->cancel_id);
  g_clear_object (&c->cancellable);
  g_object_unref (c->plugin);
  g_free (c->prompt);
  g_free (c->session_id);
  g_free (c);
}

static void
agent_finish (AgentCall *c, const gchar *text, const gchar *error)
{
  c->done (text, NULL, error, c->user_data);
  agent_call_free (c);
}

static JsonNode *
params_with_session (const gchar *session_id)
{
  JsonObject *obj = json_object_new ();

  if (session_id != NULL)
    json_object_set_string_member (obj, "sessionId", session_id);
  return json_node_init_object (json_node_alloc (), obj);
}

static gchar *
assistant_text (JsonNode *details)
{
  GString *text = g_string_new (NULL);
  JsonObject *obj
      = details != NULL && JSON_NODE_HOLDS_OBJECT (details) ? json_node_get_object (details) : NULL;
  JsonArray *items = cw_wf_arr (obj, "chatItems");

  for (guint i = 0; items != NULL && i < json_array_get_length (items); i++)
    {
      JsonObject *item = json_array_get_object_element (items, i);
      const gchar *content = cw_wf_str (item, "content");
      if (g_strcmp0 (cw_wf_str (item, "kind"), "assistant_message") != 0 || content == NULL
          || *content == '\0')
        continue;
      if (text->len > 0)
        g_string_append (text, "\n\n");
      g_string_append (text, content);
    }
  return g_string_free (text, FALSE);
}

static void
on_session_read (GObject *source, GAsyncResult *result, gpointer user_data)
{
  AgentCall *c = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) reply = cw_plugin_call_finish (CW_PLUGIN (source), result, &error);
  g_autofree gchar *text = assistant_text (reply);

  agent_finish (c, text, reply == NULL ? error->message : NULL);
}

static void
on_turn_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  AgentCall *c = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) reply = cw_plugin_call_finish (CW_PLUGIN (source), result, &error);
  g_autoptr (JsonNode) params = NULL;

  if (reply == NULL)
    {
      agent_finish (c, NULL, error->message);
      return;
    }
  params = params_with_session (c->session_id);
  cw_plugin_call (CW_PLUGIN (c->plugin), NULL, "get_session", params, NULL, on_session_read, c);
}

static void
on_stopped (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (JsonNode) reply = cw_plugin_call_finish (CW_PLUGIN (source), result, NULL);
}

static void
on_agent_cancelled (GCancellable *cancellable, gpointer user_data)
{
  AgentCall *c = user_data;
  g_autoptr (JsonNode) params = NULL;

  if (c->session_id == NULL)
    return;
  params = params_with_session (c->session_id);
  cw_plugin_call (CW_PLUGIN (c->plugin), NULL, "stop_generation", params, NULL, on_stopped, NULL);
}

static void
on_session_created (GObject *source, GAsyncResult *result, gpointer user_data)
{
  AgentCall *c = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) reply = cw_plugin_call_finish (CW_PLUGIN (source), result, &error);
  const gchar *id = reply != NULL && JSON_NODE_HOLDS_OBJECT (reply)
                        ? cw_wf_str (json_node_get_object (reply), "id")
                        : NULL;
  g_autoptr (JsonNode) params = NULL;
  JsonObject *obj;

  if (id == NULL)
    {
      g_autofree gchar *msg
          = g_strdup_printf ("Could not create the step's agent session: %s",
                             error != NULL ? error->message : "create_session gave no session id");
      agent_finish (c, NULL, msg);
      return;
    }
  if (g_cancellable_is_cancelled (c->cancellable))
    {
      agent_finish (c, NULL, "cancelled");
      return;
    }
  c->session_id = g_strdup (id);
  g_hash_table_insert (c->plugin->agent_sessions, g_strdup (id), c);
  c->cancel_id = g_cancellable_connect (c->cancellable, G_CALLBACK (on_agent_cancelled), c, NULL);
  params = params_with_session (id);
  obj = json_node_get_object (params);
  json_object_set_string_member (obj, "message", c->prompt);
  if (c->max_turns > 0)
    {
      JsonObject *options = json_object_new ();
      json_object_set_int_member (options, "maxTurns", c->max_turns);
      json_object_set_object_member (obj, "runOptions", options);
    }
  cw_plugin_call (CW_PLUGIN (c->plugin), NULL, "run_start_v2", params, NULL, on_turn_done, c);
}

void
cw_wf_agent_prompt (CwWorkflowPlugin *self, const gchar *run_id, const gchar *prompt,
                    JsonObject *config, JsonObject *defaults, GCancellable *cancellable,
                    CwWfAgentDone done, gpointer user_data)
{
  AgentCall *c = g_new0 (AgentCall, 1);
  g_autoptr (JsonNode) params = params_with_session (NULL);
  JsonObject *obj = json_node_get_object (params);
  const gchar *workdir = cw_wf_str (config, "workingDirectory");
  const gchar *model = cw_wf_str (config, "model");
  g_autofree gchar *cwd = NULL;
  g_autofree gchar *title = g_strdup_printf ("[workflow:%s] step", run_id);

  c->plugin = g_object_ref (self);
  c->prompt = g_strdup (prompt);
  c->max_turns = cw_wf_int (config, "maxTurns", 0);
  c->ask_user = g_strcmp0 (cw_wf_str (config, "permissionMode"), "ask") == 0;
  c->cancellable = cancellable != NULL ? g_object_ref (cancellable) : g_cancellable_new ();
  c->done = done;
  c->user_data = user_data;
  if (workdir == NULL)
    workdir = cw_wf_str (defaults, "workingDirectory");
  if (workdir == NULL)
    workdir = cwd = g_get_current_dir ();
  if (model == NULL)
    model = cw_wf_str (defaults, "model");
  json_object_set_string_member (obj, "workingDirectory", workdir);
  json_object_set_string_member (obj, "type", "isolated");
  json_object_set_string_member (obj, "title", title);
  json_object_set_string_member (obj, "executionMode", "execute");
  if (model != NULL)
    json_object_set_string_member (obj, "model", model);
  if (cw_wf_str (defaults, "provider") != NULL)
    json_object_set_string_member (obj, "provider", cw_wf_str (defaults, "provider"));
  cw_plugin_call (CW_PLUGIN (self), NULL, "create_session", params, NULL, on_session_created, c);
}

#define QUESTION_ANSWER                                                                            \
  "Nobody can answer: this is an unattended workflow step. Continue without asking, or stop "      \
  "and say what you would need."

static void
on_answered (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autofree gchar *what = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) reply = cw_plugin_call_finish (CW_PLUGIN (source), result, &error);

  if (reply == NULL)
    g_debug ("%s: %s", what, error->message);
}

/* A permission or question of a step's session: nobody watches an unattended run, so it is
 * denied (or answered that nobody can answer), unless the node's permissionMode is "ask". */
void
cw_wf_agent_handle_event (CwWorkflowPlugin *self, CwEvent *event)
{
  const gchar *session = cw_event_get_session_id (event);
  AgentCall *c = session != NULL ? g_hash_table_lookup (self->agent_sessions, session) : NULL;
  JsonObject *request = cw_wf_obj (cw_event_get_data (event), "request");
  gboolean permission = g_strcmp0 (cw_event_get_type_name (event), "permission:request") == 0;
  g_autoptr (JsonNode) params = NULL;
  JsonObject *obj;

  if (c == NULL || c->ask_user || cw_wf_str (request, "id") == NULL)
    return;
  params = params_with_session (session);
  obj = json_node_get_object (params);
  if (permission)
    {
      json_object_set_string_member (obj, "permissionId", cw_wf_str (request, "id"));
      json_object_set_string_member (obj, "decision", "deny");
    }
  else
    {
      json_object_set_string_member (obj, "questionId", cw_wf_str (request, "id"));
      json_object_set_string_member (obj, "answer", QUESTION_ANSWER);
    }
  cw_plugin_call (CW_PLUGIN (self), NULL, permission ? "respond_permission" : "respond_question",
                  params, NULL, on_answered,
                  g_strdup_printf ("session %s: answering %s", session, cw_wf_str (request, "id")));
}

static void
on_agent_step_done (const gchar *text, JsonObject *usage, const gchar *error, gpointer user_data)
{
  CwWfStep *step = user_data;
  JsonObject *output;

  if (error != NULL)
    {
      cw_wf_step_fail (step, error);
      return;
    }
  output = new_output ();
  json_object_set_string_member (output, "text", text != NULL ? text : "");
  json_object_set_array_member (output, "missingPaths", missing_array (step));
  cw_wf_step_succeed (step, output);
}

static void
run_agent_step (CwWfStep *step)
{
  JsonObject *config = cw_wf_step_get_config (step);
  const gchar *prompt = cw_wf_str (config, "promptTemplate");
  CwWorkflowPlugin *self = cw_wf_step_get_plugin (step);

  if (prompt == NULL)
    prompt = cw_wf_str (config, "prompt");
  if (prompt == NULL || *prompt == '\0')
    {
      cw_wf_step_fail (step, "The agent step's prompt is empty");
      return;
    }
  cw_wf_agent_prompt (self, cw_wf_str (cw_wf_step_get_run (step), "id"), prompt, config,
                      cw_wf_obj (cw_wf_step_get_definition (step), "defaults"),
                      cw_wf_step_get_cancellable (step), on_agent_step_done, step);
}

/* ---- subworkflow ----------------------------------------------------------------------------- */

static gboolean
caller_allowed (JsonObject *child, const gchar *caller, const gchar **trigger_id)
{
  JsonArray *triggers = cw_wf_arr (child, "triggers");

  for (guint i = 0; triggers != NULL && i < json_array_get_length (triggers); i++)
    {
      JsonObject *t = json_array_get_object_element (triggers, i);
      JsonArray *allowed = cw_wf_arr (t, "allowedCallerIds");
      if (g_strcmp0 (cw_wf_str (t, "type"), "workflow_call") != 0
          || !cw_wf_bool (t, "enabled", TRUE))
        continue;
      for (guint j = 0; allowed != NULL && j < json_array_get_length (allowed); j++)
        {
          const gchar *id = json_array_get_string_element (allowed, j);
          if (g_strcmp0 (id, caller) == 0 || g_strcmp0 (id, "*") == 0)
            {
              *trigger_id = cw_wf_str (t, "id");
              return TRUE;
            }
        }
    }
  return FALSE;
}

static void
run_subworkflow (CwWfStep *step)
{
  CwWorkflowPlugin *self = cw_wf_step_get_plugin (step);
  JsonObject *config = cw_wf_step_get_config (step);
  JsonObject *run = cw_wf_step_get_run (step);
  const gchar *target = cw_wf_str (config, "workflowId");
  const gchar *caller = cw_wf_str (run, "workflowId");
  const gchar *trigger_id = NULL;
  g_autoptr (JsonObject) child_def = NULL;
  g_autoptr (JsonObject) params = NULL;
  g_autoptr (JsonObject) child = NULL;
  g_autoptr (GError) error = NULL;
  JsonObject *tc;

  child_def = cw_wf_defs_get (self, target, cw_wf_int (config, "version", 0), TRUE);
  if (child_def == NULL)
    {
      g_autofree gchar *msg = g_strdup_printf ("Published workflow not found: %s", target);
      cw_wf_step_fail (step, msg);
      return;
    }
  if (!caller_allowed (child_def, caller, &trigger_id))
    {
      g_autofree gchar *msg = g_strdup_printf (
          "Workflow %s may not call workflow %s: it has no enabled workflow_call trigger that "
          "allows it",
          caller, target);
      cw_wf_step_fail (step, msg);
      return;
    }
  params = json_object_new ();
  json_object_set_string_member (params, "workflowId", target);
  json_object_set_int_member (params, "version", cw_wf_int (child_def, "version", 1));
  json_object_set_string_member (params, "triggerType", "workflow_call");
  if (cw_wf_obj (config, "input") != NULL)
    json_object_set_object_member (params, "input",
                                   cw_wf_copy_object (cw_wf_obj (config, "input")));
  tc = json_object_new ();
  json_object_set_string_member (tc, "triggerId", trigger_id);
  json_object_set_string_member (tc, "parentRunId", cw_wf_str (run, "id"));
  json_object_set_string_member (tc, "parentNodeId", node_id (step));
  json_object_set_string_member (tc, "callerWorkflowId", caller);
  json_object_set_object_member (params, "triggerContext", tc);
  child = cw_wf_run_start (self, params, &error);
  if (child == NULL)
    {
      cw_wf_step_fail (step, error->message);
      return;
    }
  cw_wf_step_await_child (step, cw_wf_str (child, "id"));
}

/* ---- notification ---------------------------------------------------------------------------- */

typedef struct
{
  CwWfStep *step;
  gchar *title;
  gchar *message;
  GDBusConnection *bus;
} Notify;

static void
notify_free (Notify *n)
{
  g_free (n->title);
  g_free (n->message);
  g_clear_object (&n->bus);
  g_free (n);
}

static void
notify_to_events (Notify *n, const gchar *why)
{
  CwWfStep *step = n->step;
  CwWorkflowPlugin *self = cw_wf_step_get_plugin (step);
  JsonObject *data, *output;

  if (self == NULL)
    {
      cw_wf_step_fail (step, "cancelled");
      notify_free (n);
      return;
    }
  data = json_object_new ();
  json_object_set_string_member (data, "runId", cw_wf_str (cw_wf_step_get_run (step), "id"));
  json_object_set_string_member (data, "workflowId",
                                 cw_wf_str (cw_wf_step_get_run (step), "workflowId"));
  json_object_set_string_member (data, "nodeId", node_id (step));
  json_object_set_string_member (data, "title", n->title);
  json_object_set_string_member (data, "message", n->message);
  cw_wf_emit (self, "notification", data);
  output = new_output ();
  json_object_set_string_member (output, "delivered", "event");
  if (why != NULL)
    json_object_set_string_member (output, "reason", why);
  cw_wf_step_succeed (step, output);
  notify_free (n);
}

static void
on_notified (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Notify *n = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply
      = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);
  JsonObject *output;
  guint32 id = 0;

  if (reply == NULL)
    {
      notify_to_events (n, error->message);
      return;
    }
  g_variant_get (reply, "(u)", &id);
  output = new_output ();
  json_object_set_string_member (output, "delivered", "desktop");
  json_object_set_int_member (output, "notificationId", id);
  cw_wf_step_succeed (n->step, output);
  notify_free (n);
}

static void
on_name_owner (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Notify *n = user_data;
  g_autoptr (GVariant) reply
      = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, NULL);
  gboolean has = FALSE;
  GVariantBuilder actions, hints;

  if (reply != NULL)
    g_variant_get (reply, "(b)", &has);
  if (!has)
    {
      notify_to_events (n, "no notification server on the session bus");
      return;
    }
  g_variant_builder_init (&actions, G_VARIANT_TYPE ("as"));
  g_variant_builder_init (&hints, G_VARIANT_TYPE ("a{sv}"));
  g_dbus_connection_call (n->bus, "org.freedesktop.Notifications", "/org/freedesktop/Notifications",
                          "org.freedesktop.Notifications", "Notify",
                          g_variant_new ("(susssasa{sv}i)", "Cowork", 0, "", n->title, n->message,
                                         &actions, &hints, -1),
                          G_VARIANT_TYPE ("(u)"), G_DBUS_CALL_FLAGS_NONE, 10000, NULL, on_notified,
                          n);
}

static void
on_session_bus (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Notify *n = user_data;
  g_autoptr (GError) error = NULL;

  n->bus = g_bus_get_finish (result, &error);
  if (n->bus == NULL)
    {
      notify_to_events (n, "no session bus");
      return;
    }
  g_dbus_connection_call (
      n->bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
      "NameHasOwner", g_variant_new ("(s)", "org.freedesktop.Notifications"),
      G_VARIANT_TYPE ("(b)"), G_DBUS_CALL_FLAGS_NONE, 5000, NULL, on_name_owner, n);
}

static void
on_integration_sent (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Notify *n = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) reply = cw_plugin_call_finish (CW_PLUGIN (source), result, &error);
  JsonObject *config = cw_wf_step_get_config (n->step);
  JsonObject *output;

  if (reply == NULL)
    {
      g_autofree gchar *msg = NULL;
      if (g_error_matches (error, CW_ERROR, CW_ERROR_UNKNOWN_COMMAND)
          || g_error_matches (error, CW_ERROR, CW_ERROR_NOT_SUPPORTED))
        msg = g_strdup_printf ("A notification to %s needs the integrations plugin, which is not "
                               "running: %s",
                               cw_wf_str (config, "platform"), error->message);
      else
        msg = g_strdup_printf ("Sending the notification to %s failed: %s",
                               cw_wf_str (config, "platform"), error->message);
      cw_wf_step_fail (n->step, msg);
      notify_free (n);
      return;
    }
  output = new_output ();
  json_object_set_string_member (output, "delivered", "integration");
  json_object_set_string_member (output, "platform", cw_wf_str (config, "platform"));
  cw_wf_step_succeed (n->step, output);
  notify_free (n);
}

static JsonNode *
object_node (void)
{
  JsonObject *obj = json_object_new ();
  JsonNode *node = json_node_init_object (json_node_alloc (), obj);

  json_object_unref (obj);
  return node;
}

static const gchar *const platforms[]
    = { "whatsapp", "slack", "telegram", "discord", "imessage", "teams", NULL };

static void
run_notification (CwWfStep *step)
{
  JsonObject *config = cw_wf_step_get_config (step);
  const gchar *channel = cw_wf_str (config, "channel");
  Notify *n = g_new0 (Notify, 1);

  n->step = step;
  n->title = g_strdup (cw_wf_str (config, "title") != NULL
                           ? cw_wf_str (config, "title")
                           : cw_wf_str (cw_wf_step_get_node (step), "name"));
  n->message
      = g_strdup (cw_wf_str (config, "message") != NULL ? cw_wf_str (config, "message") : "");
  if (channel == NULL)
    channel = cw_wf_str (config, "platform") != NULL ? "integration" : "desktop";
  else if (g_strv_contains (platforms, channel))
    {
      /* the original's definitions name the platform as the channel ("slack") */
      json_object_set_string_member (config, "platform", channel);
      channel = "integration";
    }
  if (g_str_equal (channel, "integration"))
    {
      g_autoptr (JsonNode) params = object_node ();
      JsonObject *obj = json_node_get_object (params);
      if (cw_wf_str (config, "platform") == NULL)
        {
          cw_wf_step_fail (step, "A notification to an integration needs a platform");
          notify_free (n);
          return;
        }
      json_object_set_string_member (obj, "platform", cw_wf_str (config, "platform"));
      json_object_set_string_member (obj, "message", n->message);
      if (cw_wf_str (config, "chatId") != NULL)
        json_object_set_string_member (obj, "chatId", cw_wf_str (config, "chatId"));
      cw_plugin_call (CW_PLUGIN (cw_wf_step_get_plugin (step)), NULL, "integration_send_test",
                      params, cw_wf_step_get_cancellable (step), on_integration_sent, n);
    }
  else if (g_str_equal (channel, "event"))
    notify_to_events (n, NULL);
  else
    g_bus_get (G_BUS_TYPE_SESSION, cw_wf_step_get_cancellable (step), on_session_bus, n);
}

/* ---- tool ---------------------------------------------------------------------------------- */

/* The agent's answer to agent_run_tool: its output is the node's, a denial or a tool error
 * fails the node (failure edges and retries apply), bad params fail it for good. */
static void
on_tool_run (GObject *source, GAsyncResult *result, gpointer user_data)
{
  CwWfStep *step = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) reply = cw_plugin_call_finish (CW_PLUGIN (source), result, &error);
  JsonObject *res
      = reply != NULL && JSON_NODE_HOLDS_OBJECT (reply) ? json_node_get_object (reply) : NULL;
  JsonObject *output;

  if (res == NULL)
    {
      g_autofree gchar *msg = g_strdup_printf ("The agent could not run the tool: %s",
                                               error != NULL ? error->message : "no answer");
      if (g_error_matches (error, CW_ERROR, CW_ERROR_INVALID_PARAMS)
          || g_error_matches (error, CW_ERROR, CW_ERROR_UNKNOWN_COMMAND))
        cw_wf_step_fail_final (step, msg);
      else
        cw_wf_step_fail (step, msg);
      return;
    }
  if (!cw_wf_bool (res, "success", FALSE))
    {
      cw_wf_step_fail (step, cw_wf_str (res, "error") != NULL ? cw_wf_str (res, "error")
                                                              : "The tool failed");
      return;
    }
  output = new_output ();
  json_object_set_string_member (output, "tool", cw_wf_str (res, "tool"));
  json_object_set_string_member (
      output, "result", cw_wf_str (res, "result") != NULL ? cw_wf_str (res, "result") : "");
  json_object_set_string_member (output, "sessionId", cw_wf_str (res, "sessionId"));
  json_object_set_string_member (output, "toolCallId", cw_wf_str (res, "toolCallId"));
  json_object_set_array_member (output, "missingPaths", missing_array (step));
  cw_wf_step_succeed (step, output);
}

/* One of the agent's tools through agent_run_tool, under its permission engine and sandbox:
 * config.tool (or toolName), config.args (templates rendered), config.workingDirectory, else
 * defaults.workingDirectory, else the daemon's directory; config.permissionMode "ask" waits
 * for a person, anything else denies what needs one. */
static void
run_tool (CwWfStep *step)
{
  CwWorkflowPlugin *self = cw_wf_step_get_plugin (step);
  JsonObject *config = cw_wf_step_get_config (step);
  JsonObject *defaults = cw_wf_obj (cw_wf_step_get_definition (step), "defaults");
  const gchar *tool = cw_wf_str (config, "tool");
  const gchar *workdir = cw_wf_str (config, "workingDirectory");
  JsonNode *args = cw_wf_member (config, "args");
  g_autofree gchar *cwd = NULL;
  g_autoptr (JsonNode) params = NULL;
  JsonObject *obj;

  if (tool == NULL)
    tool = cw_wf_str (config, "toolName");
  if (tool == NULL || *tool == '\0')
    {
      cw_wf_step_fail_final (step, "A tool node needs config.tool");
      return;
    }
  if (args != NULL && !JSON_NODE_HOLDS_NULL (args) && !JSON_NODE_HOLDS_OBJECT (args))
    {
      cw_wf_step_fail_final (step, "A tool node's config.args must be an object");
      return;
    }
  if (workdir == NULL)
    workdir = cw_wf_str (defaults, "workingDirectory");
  if (workdir == NULL)
    workdir = cwd = g_get_current_dir ();
  obj = json_object_new ();
  json_object_set_string_member (obj, "tool", tool);
  json_object_set_string_member (obj, "workingDirectory", workdir);
  json_object_set_member (obj, "args",
                          args != NULL && JSON_NODE_HOLDS_OBJECT (args)
                              ? json_node_copy (args)
                              : json_node_init_object (json_node_alloc (), json_object_new ()));
  json_object_set_string_member (
      obj, "permissionMode",
      g_strcmp0 (cw_wf_str (config, "permissionMode"), "ask") == 0 ? "ask" : "deny");
  params = json_node_init_object (json_node_alloc (), obj);
  cw_plugin_call (CW_PLUGIN (self), NULL, "agent_run_tool", params,
                  cw_wf_step_get_cancellable (step), on_tool_run, step);
}

/* ---- dispatch ----------------------------------------------------------------------------------
 */

static void
succeed_ok (CwWfStep *step)
{
  JsonObject *output = new_output ();

  json_object_set_boolean_member (output, "ok", TRUE);
  cw_wf_step_succeed (step, output);
}

void
cw_wf_nodes_execute (CwWfStep *step)
{
  const gchar *type = cw_wf_str (cw_wf_step_get_node (step), "type");

  if (g_strcmp0 (type, "start") == 0 || g_strcmp0 (type, "end") == 0)
    succeed_ok (step);
  else if (g_strcmp0 (type, "condition") == 0)
    run_condition (step);
  else if (g_strcmp0 (type, "parallel") == 0)
    {
      JsonObject *output = new_output ();
      json_object_set_boolean_member (output, "forked", TRUE);
      cw_wf_step_succeed (step, output);
    }
  else if (g_strcmp0 (type, "loop") == 0)
    run_loop (step);
  else if (g_strcmp0 (type, "wait") == 0)
    run_wait (step);
  else if (g_strcmp0 (type, "approval") == 0)
    run_approval (step);
  else if (g_strcmp0 (type, "memory_read") == 0)
    run_memory (step, FALSE);
  else if (g_strcmp0 (type, "memory_write") == 0)
    run_memory (step, TRUE);
  else if (g_strcmp0 (type, "agent_step") == 0)
    run_agent_step (step);
  else if (g_strcmp0 (type, "subworkflow") == 0)
    run_subworkflow (step);
  else if (g_strcmp0 (type, "notification") == 0)
    run_notification (step);
  else if (g_strcmp0 (type, "tool") == 0)
    run_tool (step);
  else if (g_strcmp0 (type, "mcp_tool") == 0 || g_strcmp0 (type, "connector_tool") == 0)
    {
      g_autofree gchar *msg = g_strdup_printf (
          "%s nodes are not supported: this daemon has no connectors yet (NotSupported)", type);
      cw_wf_step_fail_final (step, msg);
    }
  else
    {
      g_autofree gchar *msg = g_strdup_printf ("Unknown node type: %s", type);
      cw_wf_step_fail (step, msg);
    }
}
