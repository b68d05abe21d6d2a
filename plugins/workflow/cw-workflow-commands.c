/* cw-workflow-commands.c: the workflow_* commands (contract §2.1).
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-workflow-plugin.h"

#define PLUGIN(p) CW_WORKFLOW_PLUGIN (p)

static JsonObject *
params (CwInvocation *inv)
{
  return cw_invocation_get_params (inv);
}

static void
reply_or_error (CwInvocation *inv, JsonObject *result, GError **error)
{
  if (result != NULL)
    cw_invocation_return_object (inv, result);
  else
    cw_invocation_return_error (inv, g_steal_pointer (error));
}

static void
reply_array (CwInvocation *inv, JsonArray *array)
{
  JsonNode *node = json_node_init_array (json_node_alloc (), array);

  json_array_unref (array);
  cw_invocation_return_value (inv, node);
}

static void
reply_list (CwInvocation *inv, GPtrArray *items, CwWorkflowPlugin *self, gboolean views)
{
  JsonArray *array = json_array_new ();

  for (guint i = 0; i < items->len; i++)
    json_array_add_object_element (array, views
                                              ? cw_wf_defs_view (self, g_ptr_array_index (items, i))
                                              : json_object_ref (g_ptr_array_index (items, i)));
  reply_array (inv, array);
}

static const gchar *
required (CwInvocation *inv, const gchar *name)
{
  const gchar *value = cw_wf_str (params (inv), name);

  if (value == NULL)
    cw_invocation_return_new_error (inv, CW_ERROR_INVALID_PARAMS, "%s is required", name);
  return value;
}

static gboolean
paging (CwInvocation *inv, gint64 default_limit, gint64 *limit, gint64 *offset)
{
  *limit = CLAMP (cw_wf_int (params (inv), "limit", default_limit), 1, 10000);
  *offset = MAX (0, cw_wf_int (params (inv), "offset", 0));
  return TRUE;
}

/* ---- definitions ---------------------------------------------------------------------------- */

static void
cmd_list (CwInvocation *inv, gpointer user_data)
{
  gint64 limit, offset;
  g_autoptr (GPtrArray) defs = NULL;

  paging (inv, 100, &limit, &offset);
  defs = cw_wf_defs_list (PLUGIN (user_data), limit, offset);
  reply_list (inv, defs, PLUGIN (user_data), TRUE);
}

static void
cmd_get (CwInvocation *inv, gpointer user_data)
{
  const gchar *id = required (inv, "workflowId");
  g_autoptr (JsonObject) def = NULL;

  if (id == NULL)
    return;
  def = cw_wf_defs_get (PLUGIN (user_data), id, cw_wf_int (params (inv), "version", 0), FALSE);
  if (def == NULL)
    cw_invocation_return_value (inv, json_node_init_null (json_node_alloc ()));
  else
    cw_invocation_return_object (inv, cw_wf_defs_view (PLUGIN (user_data), def));
}

typedef enum
{
  DRAFT_CREATE,
  DRAFT_UPDATE,
} DraftOp;

typedef struct
{
  CwInvocation *inv;
  JsonObject *input;
  DraftOp op;
  gchar *id;
} DraftCall;

static void
on_secrets_taken (GObject *source, GAsyncResult *result, gpointer user_data)
{
  DraftCall *c = user_data;
  CwWorkflowPlugin *self = PLUGIN (source);
  GError *error = NULL;
  JsonObject *def = NULL;

  if (cw_wf_defs_take_secrets_finish (self, result, &error))
    def = c->op == DRAFT_CREATE ? cw_wf_defs_create_draft (self, c->input, &error)
                                : cw_wf_defs_update_draft (self, c->id, c->input, &error);
  if (def != NULL)
    {
      JsonObject *data = json_object_new ();
      json_object_set_string_member (data, "workflowId", cw_wf_str (def, "id"));
      json_object_set_object_member (data, "workflow", cw_wf_defs_view (self, def));
      cw_wf_emit (self, c->op == DRAFT_CREATE ? "draft_created" : "draft_updated", data);
      cw_invocation_return_object (c->inv, cw_wf_defs_view (self, def));
      json_object_unref (def);
    }
  else
    cw_invocation_return_error (c->inv, error);
  g_object_unref (c->inv);
  json_object_unref (c->input);
  g_free (c->id);
  g_free (c);
}

static void
start_draft (CwWorkflowPlugin *self, CwInvocation *inv, JsonObject *input, DraftOp op,
             const gchar *id)
{
  DraftCall *c = g_new0 (DraftCall, 1);

  c->inv = g_object_ref (inv);
  c->input = cw_wf_copy_object (input);
  c->op = op;
  c->id = g_strdup (id);
  cw_wf_defs_take_secrets (self, c->input, on_secrets_taken, c);
}

static void
cmd_create_draft (CwInvocation *inv, gpointer user_data)
{
  JsonObject *input = cw_wf_obj (params (inv), "input");

  start_draft (PLUGIN (user_data), inv, input != NULL ? input : params (inv), DRAFT_CREATE, NULL);
}

static void
cmd_update_draft (CwInvocation *inv, gpointer user_data)
{
  const gchar *id = required (inv, "workflowId");
  JsonObject *updates = cw_wf_obj (params (inv), "updates");
  g_autoptr (JsonObject) empty = json_object_new ();

  if (id == NULL)
    return;
  start_draft (PLUGIN (user_data), inv, updates != NULL ? updates : empty, DRAFT_UPDATE, id);
}

static void
cmd_create_from_prompt (CwInvocation *inv, gpointer user_data)
{
  GError *error = NULL;
  JsonObject *def = cw_wf_defs_from_prompt (PLUGIN (user_data), params (inv), &error);

  if (def != NULL)
    {
      JsonObject *view = cw_wf_defs_view (PLUGIN (user_data), def);
      json_object_unref (def);
      def = view;
    }
  reply_or_error (inv, def, &error);
}

static void
cmd_validate (CwInvocation *inv, gpointer user_data)
{
  g_autoptr (JsonObject) def = NULL;
  GError *error = NULL;
  JsonObject *input = cw_wf_obj (params (inv), "workflow");

  if (input == NULL)
    input = params (inv);
  if (cw_wf_str (input, "id") == NULL)
    {
      cw_invocation_return_new_error (inv, CW_ERROR_INVALID_PARAMS, "id is required");
      return;
    }
  def = cw_wf_copy_object (input);
  if (!cw_wf_defs_normalize (def, &error))
    {
      JsonObject *result = json_object_new ();
      JsonArray *errors = json_array_new ();
      json_array_add_string_element (errors, error->message);
      g_error_free (error);
      json_object_set_boolean_member (result, "valid", FALSE);
      json_object_set_array_member (result, "errors", errors);
      json_object_set_array_member (result, "warnings", json_array_new ());
      cw_invocation_return_object (inv, result);
      return;
    }
  cw_invocation_return_object (inv, cw_wf_defs_validate (def));
}

static void
emit_definition (CwWorkflowPlugin *self, const gchar *type, JsonObject *def)
{
  JsonObject *data = json_object_new ();

  json_object_set_string_member (data, "workflowId", cw_wf_str (def, "id"));
  json_object_set_int_member (data, "version", cw_wf_int (def, "version", 1));
  json_object_set_object_member (data, "workflow", cw_wf_defs_view (self, def));
  cw_wf_emit (self, type, data);
}

typedef JsonObject *(*DefinitionChange) (CwWorkflowPlugin *self, const gchar *id, GError **error);

static void
change_definition (CwInvocation *inv, gpointer user_data, DefinitionChange change,
                   const gchar *event)
{
  CwWorkflowPlugin *self = PLUGIN (user_data);
  const gchar *id = required (inv, "workflowId");
  GError *error = NULL;
  g_autoptr (JsonObject) def = NULL;

  if (id == NULL)
    return;
  def = change (self, id, &error);
  if (def == NULL)
    {
      cw_invocation_return_error (inv, error);
      return;
    }
  emit_definition (self, event, def);
  cw_invocation_return_object (inv, cw_wf_defs_view (self, def));
}

static void
cmd_publish (CwInvocation *inv, gpointer user_data)
{
  change_definition (inv, user_data, cw_wf_defs_publish, "published");
}

static void
cmd_archive (CwInvocation *inv, gpointer user_data)
{
  change_definition (inv, user_data, cw_wf_defs_archive, "archived");
}

/* ---- runs ----------------------------------------------------------------------------------- */

static void
cmd_run (CwInvocation *inv, gpointer user_data)
{
  GError *error = NULL;
  JsonObject *input = cw_wf_obj (params (inv), "input");
  JsonObject *p = params (inv);

  /* WorkflowRunInput may also come wrapped as {input: {workflowId, ...}} */
  if (cw_wf_str (p, "workflowId") == NULL && input != NULL
      && cw_wf_str (input, "workflowId") != NULL)
    p = input;
  reply_or_error (inv, cw_wf_run_start (PLUGIN (user_data), p, &error), &error);
}

static void
cmd_pack_execute (CwInvocation *inv, gpointer user_data)
{
  CwWorkflowPlugin *self = PLUGIN (user_data);
  static const gchar *const allowed[] = { "schedule", "webhook", "integration", "manual", NULL };
  g_autoptr (JsonObject) p = cw_wf_copy_object (params (inv));
  const gchar *type = cw_wf_str (p, "triggerType");
  GError *error = NULL;
  JsonObject *run;

  if (type == NULL || !g_strv_contains (allowed, type))
    json_object_set_string_member (p, "triggerType", "manual");
  json_object_remove_member (p, "version");
  run = cw_wf_run_start (self, p, &error);
  if (run != NULL)
    {
      JsonObject *data = json_object_new ();
      json_object_set_string_member (data, "workflowId", cw_wf_str (run, "workflowId"));
      json_object_set_string_member (data, "triggerType", cw_wf_str (run, "triggerType"));
      cw_wf_emit (self, "activated", data);
    }
  reply_or_error (inv, run, &error);
}

static void
cmd_list_runs (CwInvocation *inv, gpointer user_data)
{
  gint64 limit, offset;
  g_autoptr (GPtrArray) runs = NULL;

  paging (inv, 50, &limit, &offset);
  runs = cw_wf_runs_list (PLUGIN (user_data), cw_wf_str (params (inv), "workflowId"),
                          cw_wf_str (params (inv), "status"), limit, offset);
  reply_list (inv, runs, PLUGIN (user_data), FALSE);
}

static void
cmd_get_run (CwInvocation *inv, gpointer user_data)
{
  CwWorkflowPlugin *self = PLUGIN (user_data);
  const gchar *id = required (inv, "runId");
  JsonObject *run, *result;

  if (id == NULL)
    return;
  run = cw_wf_runs_get (self, id);
  if (run == NULL)
    {
      cw_invocation_return_new_error (inv, CW_ERROR_NOT_FOUND, "Workflow run not found: %s", id);
      return;
    }
  result = json_object_new ();
  json_object_set_object_member (result, "run", run);
  json_object_set_array_member (result, "nodeRuns", cw_wf_runs_node_runs (self, id));
  json_object_set_array_member (result, "events", cw_wf_runs_events (self, id, 0));
  cw_invocation_return_object (inv, result);
}

static void
cmd_get_run_events (CwInvocation *inv, gpointer user_data)
{
  const gchar *id = required (inv, "runId");

  if (id == NULL)
    return;
  reply_array (inv,
               cw_wf_runs_events (PLUGIN (user_data), id, cw_wf_int (params (inv), "sinceTs", 0)));
}

static void
cmd_cancel_run (CwInvocation *inv, gpointer user_data)
{
  const gchar *id = required (inv, "runId");
  GError *error = NULL;

  if (id != NULL)
    reply_or_error (inv, cw_wf_run_cancel (PLUGIN (user_data), id, &error), &error);
}

static void
cmd_pause_run (CwInvocation *inv, gpointer user_data)
{
  const gchar *id = required (inv, "runId");
  GError *error = NULL;

  if (id != NULL)
    reply_or_error (inv, cw_wf_run_pause (PLUGIN (user_data), id, &error), &error);
}

static void
cmd_resume_run (CwInvocation *inv, gpointer user_data)
{
  const gchar *id = required (inv, "runId");
  GError *error = NULL;

  if (id != NULL)
    reply_or_error (inv,
                    cw_wf_run_resume (PLUGIN (user_data), id,
                                      cw_caller_get_actor (cw_invocation_get_caller (inv)), &error),
                    &error);
}

/* ---- schedules and triggers -------------------------------------------------------------------
 */

static void
cmd_backfill (CwInvocation *inv, gpointer user_data)
{
  const gchar *id = required (inv, "workflowId");
  JsonObject *p = params (inv);
  GError *error = NULL;

  if (id == NULL)
    return;
  if (cw_wf_member (p, "from") == NULL || cw_wf_member (p, "to") == NULL)
    {
      cw_invocation_return_new_error (inv, CW_ERROR_INVALID_PARAMS, "from and to are required");
      return;
    }
  reply_or_error (inv,
                  cw_wf_triggers_backfill (PLUGIN (user_data), id, cw_wf_int (p, "from", 0),
                                           cw_wf_int (p, "to", 0), &error),
                  &error);
}

static void
cmd_list_scheduled (CwInvocation *inv, gpointer user_data)
{
  gint64 limit, offset;

  paging (inv, 100, &limit, &offset);
  reply_array (inv, cw_wf_triggers_list_scheduled (PLUGIN (user_data), limit, offset));
}

static void
pause_resume_scheduled (CwInvocation *inv, gpointer user_data, gboolean pause)
{
  const gchar *id = required (inv, "workflowId");
  GError *error = NULL;

  if (id != NULL)
    reply_or_error (inv, cw_wf_triggers_pause_scheduled (PLUGIN (user_data), id, pause, &error),
                    &error);
}

static void
cmd_pause_scheduled (CwInvocation *inv, gpointer user_data)
{
  pause_resume_scheduled (inv, user_data, TRUE);
}

static void
cmd_resume_scheduled (CwInvocation *inv, gpointer user_data)
{
  pause_resume_scheduled (inv, user_data, FALSE);
}

static void
cmd_evaluate_triggers (CwInvocation *inv, gpointer user_data)
{
  GError *error = NULL;

  reply_or_error (inv, cw_wf_triggers_evaluate (PLUGIN (user_data), params (inv), &error), &error);
}

gboolean
cw_workflow_commands_register (CwWorkflowPlugin *self, GError **error)
{
  static const struct
  {
    const gchar *name;
    CwCommandFunc func;
    CwCommandFlags flags;
  } commands[] = {
    { "workflow_list", cmd_list, CW_COMMAND_FLAG_READ_ONLY | CW_COMMAND_FLAG_REMOTE },
    { "workflow_get", cmd_get, CW_COMMAND_FLAG_READ_ONLY | CW_COMMAND_FLAG_REMOTE },
    { "workflow_create_draft", cmd_create_draft, CW_COMMAND_FLAG_NONE },
    { "workflow_create_from_prompt", cmd_create_from_prompt, CW_COMMAND_FLAG_NONE },
    { "workflow_update_draft", cmd_update_draft, CW_COMMAND_FLAG_NONE },
    { "workflow_validate", cmd_validate, CW_COMMAND_FLAG_READ_ONLY },
    { "workflow_publish", cmd_publish, CW_COMMAND_FLAG_NONE },
    { "workflow_archive", cmd_archive, CW_COMMAND_FLAG_NONE },
    { "workflow_run", cmd_run, CW_COMMAND_FLAG_REMOTE },
    { "workflow_list_runs", cmd_list_runs, CW_COMMAND_FLAG_READ_ONLY | CW_COMMAND_FLAG_REMOTE },
    { "workflow_get_run", cmd_get_run, CW_COMMAND_FLAG_READ_ONLY | CW_COMMAND_FLAG_REMOTE },
    { "workflow_get_run_events", cmd_get_run_events,
      CW_COMMAND_FLAG_READ_ONLY | CW_COMMAND_FLAG_REMOTE },
    { "workflow_cancel_run", cmd_cancel_run, CW_COMMAND_FLAG_REMOTE },
    { "workflow_pause_run", cmd_pause_run, CW_COMMAND_FLAG_REMOTE },
    { "workflow_resume_run", cmd_resume_run, CW_COMMAND_FLAG_REMOTE },
    { "workflow_backfill_schedule", cmd_backfill, CW_COMMAND_FLAG_NONE },
    { "workflow_list_scheduled", cmd_list_scheduled,
      CW_COMMAND_FLAG_READ_ONLY | CW_COMMAND_FLAG_REMOTE },
    { "workflow_pause_scheduled", cmd_pause_scheduled, CW_COMMAND_FLAG_REMOTE },
    { "workflow_resume_scheduled", cmd_resume_scheduled, CW_COMMAND_FLAG_REMOTE },
    { "workflow_evaluate_triggers", cmd_evaluate_triggers, CW_COMMAND_FLAG_NONE },
    { "workflow_pack_execute", cmd_pack_execute, CW_COMMAND_FLAG_NONE },
  };

  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    if (!cw_plugin_add_command_full (CW_PLUGIN (self), commands[i].name, commands[i].flags,
                                     commands[i].func, error))
      return FALSE;
  return TRUE;
}
