/* cw-workflow-plugin.c: the workflow plugin (contract §2): definitions, durable runs, triggers.
 *
 * Definitions are in cw-workflow-defs.c, the engine in cw-workflow-engine.c, what each node
 * does in cw-workflow-nodes.c, triggers in cw-workflow-triggers.c, the language of conditions
 * in cw-workflow-expr.c. Nodes that need the agent call its commands (create_session,
 * run_start_v2, get_session); the plugin never links to another plugin.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-workflow-plugin.h"

G_DEFINE_FINAL_TYPE (CwWorkflowPlugin, cw_workflow_plugin, CW_TYPE_PLUGIN)

#define DEFAULT_MAX_STEPS 2000

static void
on_approval (CwInteraction *interaction, gpointer user_data)
{
  cw_wf_approval_forget (CW_WORKFLOW_PLUGIN (user_data), cw_interaction_get_id (interaction));
  cw_wf_engine_approval_answered (CW_WORKFLOW_PLUGIN (user_data), interaction);
}

/* workflowRuns in the bootstrap state: runs that are not finished, for a client that opens. */
static void
append_status (GString *out, gpointer user_data)
{
  CwWorkflowPlugin *self = CW_WORKFLOW_PLUGIN (user_data);
  GHashTableIter iter;
  gpointer key;
  guint n = 0;

  g_string_append (out, "{\"activeRunIds\":[");
  g_hash_table_iter_init (&iter, self->active);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    {
      if (n++ > 0)
        g_string_append_c (out, ',');
      cw_json_append_string (out, key);
    }
  g_string_append_printf (out, "],\"activeRunCount\":%u}", n);
}

static void
on_agent_event (CwEventConsumer *consumer, CwEvent *event, gpointer user_data)
{
  cw_wf_agent_handle_event (CW_WORKFLOW_PLUGIN (user_data), event);
  cw_event_consumer_ack (consumer, cw_event_get_seq (event));
}

static gboolean
cw_workflow_plugin_load (CwPlugin *plugin, GError **error)
{
  CwWorkflowPlugin *self = CW_WORKFLOW_PLUGIN (plugin);
  CwContext *context = cw_plugin_get_context (plugin);
  CwConfig *config = cw_context_get_config (context);

  self->store = cw_context_get_store (context);
  self->max_steps
      = CLAMP (cw_config_get_int (config, "workflow", "max-steps", DEFAULT_MAX_STEPS), 10, 1000000);
  cw_plugin_add_start_after (plugin, "agent");
  return cw_workflow_schema_migrate (self, error) && cw_workflow_commands_register (self, error)
         && cw_plugin_add_bootstrap_member (plugin, "workflowStatus", append_status, self, error);
}

static gboolean
cw_workflow_plugin_start (CwPlugin *plugin, GError **error)
{
  CwWorkflowPlugin *self = CW_WORKFLOW_PLUGIN (plugin);

  static const gchar *const agent_prefixes[] = { "permission:request", "question:ask", NULL };

  if (cw_plugin_add_event_consumer (plugin, "agent-steps", agent_prefixes, on_agent_event, NULL,
                                    self, NULL, error)
      == NULL)
    return FALSE;
  self->started = TRUE;
  if (!cw_wf_engine_recover (self, error))
    return FALSE;
  cw_plugin_watch_interactions (plugin, CW_INTERACTION_APPROVAL, on_approval, self);
  cw_wf_approvals_restore (self);
  if (!cw_wf_triggers_start (self, error))
    return FALSE;
  cw_wf_engine_settle (self);
  return TRUE;
}

static void
cw_workflow_plugin_stop (CwPlugin *plugin)
{
  CwWorkflowPlugin *self = CW_WORKFLOW_PLUGIN (plugin);

  self->stopping = TRUE;
  cw_wf_engine_stop (self);
}

static JsonObject *
cw_workflow_plugin_get_health (CwPlugin *plugin)
{
  CwWorkflowPlugin *self = CW_WORKFLOW_PLUGIN (plugin);
  JsonObject *health = json_object_new ();

  json_object_set_int_member (health, "activeRuns", g_hash_table_size (self->active));
  json_object_set_int_member (health, "runsStarted", (gint64) self->runs_started);
  json_object_set_int_member (health, "nodesExecuted", (gint64) self->nodes_executed);
  json_object_set_boolean_member (health, "webhooks", self->http_routed);
  return health;
}

static void
cw_workflow_plugin_finalize (GObject *object)
{
  CwWorkflowPlugin *self = CW_WORKFLOW_PLUGIN (object);

  g_hash_table_unref (self->active);
  g_hash_table_unref (self->secrets);
  g_ptr_array_unref (self->stale_secrets);
  g_hash_table_unref (self->definitions);
  g_hash_table_unref (self->agent_sessions);
  G_OBJECT_CLASS (cw_workflow_plugin_parent_class)->finalize (object);
}

static void
cw_workflow_plugin_class_init (CwWorkflowPluginClass *klass)
{
  CwPluginClass *plugin_class = CW_PLUGIN_CLASS (klass);

  G_OBJECT_CLASS (klass)->finalize = cw_workflow_plugin_finalize;
  plugin_class->load = cw_workflow_plugin_load;
  plugin_class->start = cw_workflow_plugin_start;
  plugin_class->stop = cw_workflow_plugin_stop;
  plugin_class->get_health = cw_workflow_plugin_get_health;
}

static void
cw_workflow_plugin_init (CwWorkflowPlugin *self)
{
  self->active
      = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) cw_wf_run_free);
  self->secrets = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->stale_secrets = g_ptr_array_new_with_free_func (g_free);
  self->agent_sessions = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->definitions
      = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) json_object_unref);
}

CW_PLUGIN_EXPORT (cw_workflow_plugin_get_type)
