/* cw-workflow-plugin.h: the workflow plugin's state, shared by its files.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <cowork.h>

G_BEGIN_DECLS

#define CW_TYPE_WORKFLOW_PLUGIN (cw_workflow_plugin_get_type ())
G_DECLARE_FINAL_TYPE (CwWorkflowPlugin, cw_workflow_plugin, CW, WORKFLOW_PLUGIN, CwPlugin)

typedef struct _CwWorkflowRun CwWorkflowRun;

struct _CwWorkflowPlugin
{
  CwPlugin parent_instance;
  CwStore *store;
  GHashTable *active;         /* run id -> CwWorkflowRun executing in this process */
  GHashTable *secrets;        /* secretRef -> secret (cache of CwSecrets) */
  GPtrArray *stale_secrets;   /* secretRefs no trigger uses any more, until the commit */
  GHashTable *agent_sessions; /* session id -> the agent prompt running in it */
  GHashTable *definitions;    /* "<id>:<version>" -> published JsonObject (read-only) */
  gboolean started;
  gboolean stopping;
  gboolean http_routed;
  gint64 max_steps;
  guint64 runs_started;
  guint64 nodes_executed;
};

/* Scheduler job ids. */
#define CW_WF_JOB_TRIGGER  "trigger:"  /* trigger:<trigger row id> */
#define CW_WF_JOB_WAIT     "wait:"     /* wait:<runId>:<walkerId> */
#define CW_WF_JOB_TIMEOUT  "timeout:"  /* timeout:<runId>:<walkerId> */
#define CW_WF_JOB_APPROVAL "approval:" /* approval:<interactionId>: its timeoutMs */
#define CW_WF_SECRET_KIND  "workflow-webhook"
#define CW_WF_WEBHOOK_PATH "/v1/workflow/webhooks/"

/* ---- cw-workflow-util.c: JSON helpers (JSON null counts as absent) -------------------- */
JsonNode *cw_wf_member (JsonObject *obj, const gchar *name);
const gchar *cw_wf_str (JsonObject *obj, const gchar *name);
gint64 cw_wf_int (JsonObject *obj, const gchar *name, gint64 fallback);
gdouble cw_wf_double (JsonObject *obj, const gchar *name, gdouble fallback);
gboolean cw_wf_bool (JsonObject *obj, const gchar *name, gboolean fallback);
JsonObject *cw_wf_obj (JsonObject *obj, const gchar *name);
JsonArray *cw_wf_arr (JsonObject *obj, const gchar *name);
JsonObject *cw_wf_parse_object (const gchar *text);
JsonNode *cw_wf_parse (const gchar *text);
gchar *cw_wf_to_string (JsonObject *obj);
gchar *cw_wf_node_to_string (JsonNode *node);
JsonObject *cw_wf_copy_object (JsonObject *obj);
JsonNode *cw_wf_deep_copy (JsonNode *node);
/* Emits workflow:<type> with @data (taken). */
void cw_wf_emit (CwWorkflowPlugin *self, const gchar *type, JsonObject *data);
gint64 cw_wf_now (CwWorkflowPlugin *self);
/* SQL on the store with binds: @types has one letter per bind, 's' (a string, NULL binds
 * NULL) or 'i' (gint64). cw_wf_query gives the bound statement: step it, then reset it. */
sqlite3_stmt *cw_wf_query (CwWorkflowPlugin *self, const gchar *sql, GError **error,
                           const gchar *types, ...);
gboolean cw_wf_exec (CwWorkflowPlugin *self, const gchar *sql, GError **error, const gchar *types,
                     ...);
JsonObject *cw_wf_column_object (sqlite3_stmt *stmt, gint column);
typedef gboolean (*CwWfTxFunc) (CwWorkflowPlugin *self, gpointer data, GError **error);
/* Runs @func inside a savepoint: all of it is stored, or nothing. */
gboolean cw_wf_in_transaction (CwWorkflowPlugin *self, CwWfTxFunc func, gpointer data,
                               GError **error);

/* ---- cw-workflow-schema.c ------------------------------------------------------------ */
gboolean cw_workflow_schema_migrate (CwWorkflowPlugin *self, GError **error);

/* ---- cw-workflow-defs.c: definitions, versions, validation -------------------------- */
/* The latest, published or draft version; transfer full; NULL if none. */
JsonObject *cw_wf_defs_get (CwWorkflowPlugin *self, const gchar *id, gint64 version,
                            gboolean published_only);
/* The version a run uses: @version, else published, else draft. */
JsonObject *cw_wf_defs_resolve (CwWorkflowPlugin *self, const gchar *id, gint64 version);
GPtrArray *cw_wf_defs_list (CwWorkflowPlugin *self, gint64 limit, gint64 offset);
/* Fills in defaults and ids; refuses bad shapes. @def is changed in place. */
gboolean cw_wf_defs_normalize (JsonObject *def, GError **error);
/* {valid, errors[], warnings[]} */
JsonObject *cw_wf_defs_validate (JsonObject *def);
gboolean cw_wf_defs_save (CwWorkflowPlugin *self, JsonObject *def, GError **error);
JsonObject *cw_wf_defs_create_draft (CwWorkflowPlugin *self, JsonObject *input, GError **error);
JsonObject *cw_wf_defs_update_draft (CwWorkflowPlugin *self, const gchar *id, JsonObject *updates,
                                     GError **error);
JsonObject *cw_wf_defs_publish (CwWorkflowPlugin *self, const gchar *id, GError **error);
JsonObject *cw_wf_defs_archive (CwWorkflowPlugin *self, const gchar *id, GError **error);
JsonObject *cw_wf_defs_from_prompt (CwWorkflowPlugin *self, JsonObject *params, GError **error);
JsonObject *cw_wf_defs_find_node (JsonObject *def, const gchar *node_id);
/* The definition as clients see it: webhook triggers carry their url. */
JsonObject *cw_wf_defs_view (CwWorkflowPlugin *self, JsonObject *def);
/* Triggers given with a write-only `secret`: moved to CwSecrets, then @done runs. */
void cw_wf_defs_take_secrets (CwWorkflowPlugin *self, JsonObject *def, GAsyncReadyCallback done,
                              gpointer user_data);
gboolean cw_wf_defs_take_secrets_finish (CwWorkflowPlugin *self, GAsyncResult *result,
                                         GError **error);

/* ---- cw-workflow-expr.c: paths, templates, the expression language ------------------- */
JsonNode *cw_wf_path_lookup (JsonObject *context, const gchar *path);
/* Renders {{ path }} placeholders in a string, object or array; missing paths are added to
 * @missing (may be NULL). */
JsonNode *cw_wf_render (JsonNode *value, JsonObject *context, GPtrArray *missing);
gchar *cw_wf_render_string (const gchar *text, JsonObject *context, GPtrArray *missing);
gboolean cw_wf_truthy (JsonNode *value);
/* Parses and evaluates @expression against @context; a parse error is an error. */
gboolean cw_wf_expr_eval (const gchar *expression, JsonObject *context, gboolean *result,
                          GError **error);

/* ---- cw-workflow-engine.c: runs ------------------------------------------------------- */
JsonObject *cw_wf_run_start (CwWorkflowPlugin *self, JsonObject *params, GError **error);
JsonObject *cw_wf_runs_get (CwWorkflowPlugin *self, const gchar *run_id);
GPtrArray *cw_wf_runs_list (CwWorkflowPlugin *self, const gchar *workflow_id, const gchar *status,
                            gint64 limit, gint64 offset);
JsonArray *cw_wf_runs_node_runs (CwWorkflowPlugin *self, const gchar *run_id);
JsonArray *cw_wf_runs_events (CwWorkflowPlugin *self, const gchar *run_id, gint64 since);
JsonObject *cw_wf_run_cancel (CwWorkflowPlugin *self, const gchar *run_id, GError **error);
JsonObject *cw_wf_run_pause (CwWorkflowPlugin *self, const gchar *run_id, GError **error);
/* @actor: who resumes (answers a pending approval in that name). */
JsonObject *cw_wf_run_resume (CwWorkflowPlugin *self, const gchar *run_id, const gchar *actor,
                              GError **error);
gint64 cw_wf_runs_count (CwWorkflowPlugin *self, const gchar *workflow_id, const gchar *trigger_id);
gboolean cw_wf_engine_recover (CwWorkflowPlugin *self, GError **error);
void cw_wf_engine_settle (CwWorkflowPlugin *self);
void cw_wf_run_free (CwWorkflowRun *run);
void cw_wf_engine_stop (CwWorkflowPlugin *self);
void cw_wf_engine_wait_fired (CwWorkflowPlugin *self, const gchar *run_id, const gchar *walker);
void cw_wf_engine_timeout_fired (CwWorkflowPlugin *self, const gchar *run_id, const gchar *walker);
void cw_wf_engine_approval_answered (CwWorkflowPlugin *self, CwInteraction *interaction);
/* A child run of a subworkflow node ended: the parent's node completes. */
void cw_wf_engine_child_finished (CwWorkflowPlugin *self, JsonObject *child_run);

/* A node's execution, asked for by the engine and answered exactly once. */
typedef struct _CwWfStep CwWfStep;
CwWorkflowPlugin *cw_wf_step_get_plugin (CwWfStep *step);
JsonObject *cw_wf_step_get_node (CwWfStep *step);
JsonObject *cw_wf_step_get_config (CwWfStep *step); /* rendered */
JsonObject *cw_wf_step_get_context (CwWfStep *step);
JsonObject *cw_wf_step_get_run (CwWfStep *step);
JsonObject *cw_wf_step_get_definition (CwWfStep *step);
GPtrArray *cw_wf_step_get_missing (CwWfStep *step);
const gchar *cw_wf_step_get_walker (CwWfStep *step);
GCancellable *cw_wf_step_get_cancellable (CwWfStep *step);
/* @output taken. */
void cw_wf_step_succeed (CwWfStep *step, JsonObject *output);
void cw_wf_step_fail (CwWfStep *step, const gchar *message);
/* Fails without a retry (nothing another attempt could change). */
void cw_wf_step_fail_final (CwWfStep *step, const gchar *message);
/* The node waits (durably) until cw_wf_engine_wait_fired at @until_ms. */
void cw_wf_step_wait (CwWfStep *step, gint64 until_ms, JsonObject *output);
/* The run pauses on an approval with @interaction_id. */
void cw_wf_step_pause (CwWfStep *step, const gchar *reason, const gchar *interaction_id);
/* The node waits for child run @child_run_id. */
void cw_wf_step_await_child (CwWfStep *step, const gchar *child_run_id);

/* ---- cw-workflow-nodes.c: what each node type does ---------------------------------- */
/* An approval's timeoutMs on the scheduler's clock: when it passes unanswered, the approval
 * is answered denied. Restore arms those of the pending approvals again after a start; Forget
 * drops the job of an approval that was answered. */
void cw_wf_approvals_restore (CwWorkflowPlugin *self);
void cw_wf_approval_forget (CwWorkflowPlugin *self, const gchar *interaction_id);
void cw_wf_nodes_execute (CwWfStep *step);
/* An agent prompt in an isolated session; @done gets the text or an error. */
typedef void (*CwWfAgentDone) (const gchar *text, JsonObject *usage, const gchar *error,
                               gpointer user_data);
void cw_wf_agent_prompt (CwWorkflowPlugin *self, const gchar *run_id, const gchar *prompt,
                         JsonObject *config, JsonObject *defaults, GCancellable *cancellable,
                         CwWfAgentDone done, gpointer user_data);

/* Answers the permission requests and questions of a step's session (deny by default). */
void cw_wf_agent_handle_event (CwWorkflowPlugin *self, CwEvent *event);

/* ---- cw-workflow-triggers.c ----------------------------------------------------------- */
/* Materialises a published definition's triggers (replacing older rows). The secrets of
 * webhook triggers it replaced that nothing uses any more wait in stale_secrets for
 * cw_wf_triggers_settle_secrets. */
gboolean cw_wf_triggers_materialize (CwWorkflowPlugin *self, JsonObject *def, GError **error);
/* After the transaction of a materialize: deletes the stale secrets from CwSecrets when it
 * was @committed, forgets them otherwise. */
void cw_wf_triggers_settle_secrets (CwWorkflowPlugin *self, gboolean committed);
gboolean cw_wf_triggers_disable_workflow (CwWorkflowPlugin *self, const gchar *workflow_id,
                                          GError **error);
gboolean cw_wf_triggers_start (CwWorkflowPlugin *self, GError **error);
gchar *cw_wf_triggers_webhook_url (CwWorkflowPlugin *self, const gchar *endpoint_key);
JsonObject *cw_wf_triggers_evaluate (CwWorkflowPlugin *self, JsonObject *params, GError **error);
JsonArray *cw_wf_triggers_list_scheduled (CwWorkflowPlugin *self, gint64 limit, gint64 offset);
JsonObject *cw_wf_triggers_pause_scheduled (CwWorkflowPlugin *self, const gchar *workflow_id,
                                            gboolean pause, GError **error);
JsonObject *cw_wf_triggers_backfill (CwWorkflowPlugin *self, const gchar *workflow_id, gint64 from,
                                     gint64 to, GError **error);
/* Chat scoring of one message against phrases (exposed for tests via the command). */
JsonObject *cw_wf_triggers_score (const gchar *message, JsonArray *phrases, gboolean strict,
                                  gdouble activation_threshold);

/* ---- cw-workflow-commands.c ---------------------------------------------------------- */
gboolean cw_workflow_commands_register (CwWorkflowPlugin *self, GError **error);

/* ---- cw-workflow-importer.c ---------------------------------------------------------- */
gboolean cw_workflow_import_original (CwWorkflowPlugin *self, GError **error);

G_END_DECLS
