/* cw-workflow-engine.c: durable workflow runs (contract §2.3, §2.4, §2.8).
 *
 * A run is a set of walkers, each at one node of the graph: the main walker starts at the
 * start node; a parallel node forks one walker per branch, which stop at the join node, and
 * the parent goes on from there once all of them have arrived. Each node attempt is a node
 * run row written before the node starts; its end is written together with the walker's next
 * position, the node's output and the event, in one transaction, before anything else
 * happens. So after kill -9 a walker is either before a node (it runs it), in a node that
 * was in flight (retried if its retry policy has an attempt left, otherwise the run is
 * failed_recoverable with the reason), or waiting durably (a wait on the scheduler, an
 * approval interaction, a child run): a node that completed never runs again.
 *
 * Differences from the original, on purpose: failure edges are taken; queued and running
 * runs resume after a restart; time spent paused or in a wait node does not count against
 * maxRunTimeMs;
 * defaults.workingDirectory is used by the nodes; cancel and pause refuse finished runs.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-workflow-plugin.h"

#include <math.h>
#include <string.h>

#define DEFAULT_NODE_TIMEOUT_MS (5 * 60 * 1000)
#define MAX_JOIN_SEARCH         4096

struct _CwWorkflowRun
{
  CwWorkflowPlugin *plugin;
  gchar *id;
  JsonObject *run;   /* WorkflowRun */
  JsonObject *state; /* walkers, outputs, visits, loops */
  JsonObject *def;
  GHashTable *steps;         /* walker id -> CwWfStep in flight */
  GHashTable *retry_sources; /* walker id -> GSource id of a backoff */
  gboolean advancing;
  gboolean again;
  JsonObject *pending_start; /* node_started of a node without side effects, not written yet */
};

struct _CwWfStep
{
  CwWorkflowRun *run;
  gchar *walker;
  JsonObject *node;
  JsonObject *config;
  JsonObject *context;
  GPtrArray *missing;
  GCancellable *cancellable;
  gchar *node_run_id;
  gint64 attempt;
  gint64 started_at;
  gboolean finished;
  gboolean timed_out;
};

static void advance (CwWorkflowRun *run);
static gboolean is_terminal (const gchar *status);
static void run_free (CwWorkflowRun *run);
static void finish_run (CwWorkflowRun *run, const gchar *status, const gchar *error,
                        const gchar *node_id);

/* ---- helpers ------------------------------------------------------------------------------ */

static JsonObject *
ensure_obj (JsonObject *obj, const gchar *name)
{
  JsonObject *child = cw_wf_obj (obj, name);

  if (child == NULL)
    {
      child = json_object_new ();
      json_object_set_object_member (obj, name, child);
    }
  return child;
}

/* What each node gave: output.nodes of the run (stored with it, not copied into the state). */
static JsonObject *
outputs_of (CwWorkflowRun *run)
{
  return ensure_obj (ensure_obj (run->run, "output"), "nodes");
}

static JsonObject *
walkers_of (CwWorkflowRun *run)
{
  return ensure_obj (run->state, "walkers");
}

static JsonObject *
walker (CwWorkflowRun *run, const gchar *wid)
{
  return cw_wf_obj (walkers_of (run), wid);
}

static const gchar *
run_status (CwWorkflowRun *run)
{
  return cw_wf_str (run->run, "status");
}

static gboolean
is_terminal (const gchar *status)
{
  return g_strcmp0 (status, "completed") == 0 || g_strcmp0 (status, "failed") == 0
         || g_strcmp0 (status, "cancelled") == 0 || g_strcmp0 (status, "failed_recoverable") == 0;
}

static const gchar *
start_node_id (JsonObject *def)
{
  JsonArray *nodes = cw_wf_arr (def, "nodes");

  for (guint i = 0; nodes != NULL && i < json_array_get_length (nodes); i++)
    {
      JsonObject *n = json_array_get_object_element (nodes, i);
      if (g_strcmp0 (cw_wf_str (n, "type"), "start") == 0)
        return cw_wf_str (n, "id");
    }
  return NULL;
}

/* ---- events and storage ---------------------------------------------------------------- */

static gboolean
insert_event (CwWorkflowRun *run, const gchar *type, JsonObject *payload, GError **error)
{
  CwWorkflowPlugin *self = run->plugin;
  g_autofree gchar *id = cw_make_id ("evt");
  g_autofree gchar *text = cw_wf_to_string (payload);
  gint64 ts = cw_now_ms ();
  JsonObject *data;

  if (!cw_wf_exec (self,
                   "INSERT INTO workflow_events (id, run_id, ts, type, payload)"
                   " VALUES (?1, ?2, ?3, ?4, ?5)",
                   error, "ssiss", id, run->id, ts, type, text))
    return FALSE;
  data = json_object_new ();
  json_object_set_string_member (data, "id", id);
  json_object_set_string_member (data, "runId", run->id);
  json_object_set_string_member (data, "workflowId", cw_wf_str (run->run, "workflowId"));
  json_object_set_int_member (data, "ts", ts);
  json_object_set_string_member (data, "type", type);
  json_object_set_object_member (data, "payload", json_object_ref (payload));
  json_object_set_string_member (data, "status", run_status (run));
  cw_wf_emit (self, type, data);
  return TRUE;
}

static gboolean
save_run (CwWorkflowRun *run, GError **error)
{
  g_autofree gchar *text = NULL;
  g_autofree gchar *state = cw_wf_to_string (run->state);
  JsonObject *triggerContext = cw_wf_obj (run->run, "triggerContext");

  JsonObject *output = cw_wf_obj (run->run, "output");
  JsonNode *nodes = NULL;

  json_object_set_int_member (run->run, "updatedAt", cw_now_ms ());
  /* While the run goes on, what each node gave is stored with its node run only (written
   * once), not again with the run at every step; the finished run carries all of it. */
  if (!is_terminal (run_status (run)) && output != NULL && cw_wf_member (output, "nodes") != NULL)
    {
      nodes = json_node_ref (json_object_get_member (output, "nodes"));
      json_object_remove_member (output, "nodes");
    }
  text = cw_wf_to_string (run->run);
  if (nodes != NULL)
    {
      json_object_set_member (output, "nodes", nodes);
    }
  return cw_wf_exec (run->plugin,
                     "INSERT INTO workflow_runs (id, workflow_id, status, trigger_type, trigger_id,"
                     " created_at, run, state) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
                     " ON CONFLICT(id) DO UPDATE SET status = ?3, run = ?7, state = ?8",
                     error, "sssssiss", run->id, cw_wf_str (run->run, "workflowId"),
                     run_status (run), cw_wf_str (run->run, "triggerType"),
                     cw_wf_str (triggerContext, "triggerId"), cw_wf_int (run->run, "createdAt", 0),
                     text, state);
}

typedef struct
{
  CwWorkflowRun *run;
  const gchar *event;
  JsonObject *payload;
  JsonObject *node_run; /* NULL: none to write */
} CommitTx;

static gboolean
write_node_run (CwWorkflowPlugin *self, JsonObject *nr, GError **error)
{
  g_autofree gchar *text = cw_wf_to_string (nr);

  return cw_wf_exec (self,
                     "INSERT INTO workflow_node_runs (id, run_id, node_id, attempt, status,"
                     " started_at, node_run) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
                     " ON CONFLICT(id) DO UPDATE SET status = ?5, node_run = ?7",
                     error, "sssisis", cw_wf_str (nr, "id"), cw_wf_str (nr, "runId"),
                     cw_wf_str (nr, "nodeId"), cw_wf_int (nr, "attempt", 1),
                     cw_wf_str (nr, "status"), cw_wf_int (nr, "startedAt", 0), text);
}

static gboolean
commit_tx (CwWorkflowPlugin *self, gpointer data, GError **error)
{
  CommitTx *tx = data;
  g_autoptr (JsonObject) started = g_steal_pointer (&tx->run->pending_start);

  return (started == NULL || insert_event (tx->run, "node_started", started, error))
         && (tx->node_run == NULL || write_node_run (self, tx->node_run, error))
         && save_run (tx->run, error)
         && (tx->event == NULL || insert_event (tx->run, tx->event, tx->payload, error));
}

/* Writes the run, its state, @node_run and the event @type in one transaction. */
static gboolean
commit (CwWorkflowRun *run, JsonObject *node_run, const gchar *type, JsonObject *payload)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) empty = NULL;
  CommitTx tx = { run, type, payload, node_run };

  if (type != NULL && payload == NULL)
    tx.payload = empty = json_object_new ();
  if (cw_wf_in_transaction (run->plugin, commit_tx, &tx, &error))
    return TRUE;
  g_warning ("run %s: %s", run->id, error->message);
  return FALSE;
}

/* ---- loading ------------------------------------------------------------------------------ */

static CwWorkflowRun *
run_new (CwWorkflowPlugin *self, JsonObject *model, JsonObject *state, JsonObject *def)
{
  CwWorkflowRun *run = g_new0 (CwWorkflowRun, 1);

  run->plugin = self;
  run->id = g_strdup (cw_wf_str (model, "id"));
  run->run = json_object_ref (model);
  run->state = state != NULL ? json_object_ref (state) : json_object_new ();
  run->def = json_object_ref (def);
  run->steps = g_hash_table_new (g_str_hash, g_str_equal);
  run->retry_sources = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  return run;
}

static void
step_clear (CwWfStep *step)
{
  g_free (step->walker);
  json_object_unref (step->node);
  json_object_unref (step->config);
  json_object_unref (step->context);
  g_ptr_array_unref (step->missing);
  g_object_unref (step->cancellable);
  g_free (step->node_run_id);
}

static void
step_unref (CwWfStep *step)
{
  g_rc_box_release_full (step, (GDestroyNotify) step_clear);
}

static void
run_free (CwWorkflowRun *run)
{
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, run->retry_sources);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    g_source_remove (GPOINTER_TO_UINT (value));
  g_hash_table_iter_init (&iter, run->steps);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      CwWfStep *step = value;
      /* Detached: the node's callback still holds it and sees it finished. */
      step->finished = TRUE;
      step->run = NULL;
      g_cancellable_cancel (step->cancellable);
      step_unref (step);
    }
  g_hash_table_unref (run->steps);
  g_hash_table_unref (run->retry_sources);
  g_clear_pointer (&run->pending_start, json_object_unref);
  g_free (run->id);
  json_object_unref (run->run);
  json_object_unref (run->state);
  json_object_unref (run->def);
  g_free (run);
}

static gboolean
load_row (CwWorkflowPlugin *self, const gchar *run_id, JsonObject **model, JsonObject **state)
{
  sqlite3_stmt *stmt
      = cw_wf_query (self, "SELECT run, state FROM workflow_runs WHERE id = ?1", NULL, "s", run_id);
  gboolean found = FALSE;

  *model = NULL;
  if (state != NULL)
    *state = NULL;
  if (stmt == NULL)
    return FALSE;
  if (sqlite3_step (stmt) == SQLITE_ROW)
    {
      *model = cw_wf_column_object (stmt, 0);
      if (state != NULL)
        *state = cw_wf_column_object (stmt, 1);
      found = *model != NULL;
    }
  sqlite3_reset (stmt);
  return found;
}

JsonObject *
cw_wf_runs_get (CwWorkflowPlugin *self, const gchar *run_id)
{
  CwWorkflowRun *active = run_id != NULL ? g_hash_table_lookup (self->active, run_id) : NULL;
  JsonObject *model = NULL;

  if (active != NULL)
    return cw_wf_copy_object (active->run);
  if (run_id == NULL || !load_row (self, run_id, &model, NULL))
    return NULL;
  return model;
}

GPtrArray *
cw_wf_runs_list (CwWorkflowPlugin *self, const gchar *workflow_id, const gchar *status,
                 gint64 limit, gint64 offset)
{
  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  sqlite3_stmt *stmt = cw_wf_query (
      self,
      "SELECT run FROM workflow_runs WHERE (?1 IS NULL OR workflow_id = ?1)"
      " AND (?2 IS NULL OR status = ?2) ORDER BY created_at DESC, rowid DESC LIMIT ?3 OFFSET ?4",
      NULL, "ssii", workflow_id, status, limit, offset);

  if (stmt == NULL)
    return out;
  while (sqlite3_step (stmt) == SQLITE_ROW)
    {
      JsonObject *r = cw_wf_column_object (stmt, 0);
      if (r != NULL)
        g_ptr_array_add (out, r);
    }
  sqlite3_reset (stmt);
  return out;
}

gint64
cw_wf_runs_count (CwWorkflowPlugin *self, const gchar *workflow_id, const gchar *trigger_id)
{
  sqlite3_stmt *stmt = cw_wf_query (self,
                                    "SELECT COUNT(*) FROM workflow_runs WHERE workflow_id = ?1"
                                    " AND (?2 IS NULL OR trigger_id = ?2)",
                                    NULL, "ss", workflow_id, trigger_id);
  gint64 n = 0;

  if (stmt == NULL)
    return 0;
  if (sqlite3_step (stmt) == SQLITE_ROW)
    n = sqlite3_column_int64 (stmt, 0);
  sqlite3_reset (stmt);
  return n;
}

JsonArray *
cw_wf_runs_node_runs (CwWorkflowPlugin *self, const gchar *run_id)
{
  JsonArray *out = json_array_new ();
  sqlite3_stmt *stmt = cw_wf_query (self,
                                    "SELECT node_run FROM workflow_node_runs WHERE run_id = ?1"
                                    " ORDER BY started_at, attempt, rowid",
                                    NULL, "s", run_id);

  if (stmt == NULL)
    return out;
  while (sqlite3_step (stmt) == SQLITE_ROW)
    {
      JsonObject *nr = cw_wf_column_object (stmt, 0);
      if (nr != NULL)
        json_array_add_object_element (out, nr);
    }
  sqlite3_reset (stmt);
  return out;
}

JsonArray *
cw_wf_runs_events (CwWorkflowPlugin *self, const gchar *run_id, gint64 since)
{
  JsonArray *out = json_array_new ();
  sqlite3_stmt *stmt = cw_wf_query (
      self,
      "SELECT id, ts, type, payload FROM workflow_events WHERE run_id = ?1 AND ts >= ?2"
      " ORDER BY ts, rowid",
      NULL, "si", run_id, since);

  if (stmt == NULL)
    return out;
  while (sqlite3_step (stmt) == SQLITE_ROW)
    {
      JsonObject *e = json_object_new ();
      JsonObject *payload = cw_wf_column_object (stmt, 3);
      json_object_set_string_member (e, "id", (const gchar *) sqlite3_column_text (stmt, 0));
      json_object_set_string_member (e, "runId", run_id);
      json_object_set_int_member (e, "ts", sqlite3_column_int64 (stmt, 1));
      json_object_set_string_member (e, "type", (const gchar *) sqlite3_column_text (stmt, 2));
      json_object_set_object_member (e, "payload", payload != NULL ? payload : json_object_new ());
      json_array_add_object_element (out, e);
    }
  sqlite3_reset (stmt);
  return out;
}

/* ---- retry policy ------------------------------------------------------------------------- */

typedef struct
{
  gint64 max_attempts;
  gint64 backoff_ms;
  gint64 max_backoff_ms;
  gdouble jitter;
} Policy;

static const gchar *
profile_of (CwWorkflowRun *run, JsonObject *node)
{
  const gchar *p = cw_wf_str (node, "retryProfile");

  if (p == NULL)
    p = cw_wf_str (cw_wf_obj (run->run, "input"), "retryProfile");
  if (p == NULL)
    p = cw_wf_str (cw_wf_obj (run->def, "defaults"), "retryProfile");
  if (g_strcmp0 (p, "fast_safe") != 0 && g_strcmp0 (p, "strict_enterprise") != 0)
    p = "balanced";
  return p;
}

static void
overlay (Policy *p, JsonObject *retry)
{
  p->max_attempts = MAX (1, cw_wf_int (retry, "maxAttempts", p->max_attempts));
  p->backoff_ms = MAX (0, cw_wf_int (retry, "backoffMs", p->backoff_ms));
  p->max_backoff_ms = MAX (0, cw_wf_int (retry, "maxBackoffMs", p->max_backoff_ms));
  p->jitter = CLAMP (cw_wf_double (retry, "jitterRatio", p->jitter), 0.0, 1.0);
}

static Policy
policy_of (CwWorkflowRun *run, JsonObject *node)
{
  const gchar *profile = profile_of (run, node);
  Policy p = { 3, 1000, 20000, 0.2 };
  JsonObject *retry = cw_wf_obj (node, "retry");

  if (g_str_equal (profile, "fast_safe"))
    p = (Policy){ 2, 300, 2000, 0.05 };
  else if (g_str_equal (profile, "strict_enterprise"))
    p = (Policy){ 5, 2000, 60000, 0.1 };
  if (retry != NULL)
    overlay (&p, retry);
  else
    {
      JsonObject *d = cw_wf_obj (cw_wf_obj (run->def, "defaults"), "retry");
      if (d != NULL
          && (cw_wf_int (d, "maxAttempts", 3) != 3 || cw_wf_int (d, "backoffMs", 1000) != 1000
              || cw_wf_int (d, "maxBackoffMs", 20000) != 20000
              || fabs (cw_wf_double (d, "jitterRatio", 0.2) - 0.2) > 1e-9))
        overlay (&p, d);
    }
  return p;
}

static JsonObject *
policy_json (Policy *p)
{
  JsonObject *o = json_object_new ();

  json_object_set_int_member (o, "maxAttempts", p->max_attempts);
  json_object_set_int_member (o, "backoffMs", p->backoff_ms);
  json_object_set_int_member (o, "maxBackoffMs", p->max_backoff_ms);
  json_object_set_double_member (o, "jitterRatio", p->jitter);
  return o;
}

static gint64
backoff_delay (Policy *p, gint64 attempt)
{
  gdouble base = MIN ((gdouble) p->max_backoff_ms,
                      (gdouble) p->backoff_ms * pow (2.0, (gdouble) MAX (0, attempt - 1)));
  gdouble jitter = base * p->jitter * (g_random_double () * 2.0 - 1.0);

  return (gint64) MAX (0.0, base + jitter);
}

/* ---- context -------------------------------------------------------------------------------- */

static JsonObject *
context_of (CwWorkflowRun *run)
{
  JsonObject *ctx = json_object_new ();
  JsonObject *r = json_object_new ();
  JsonObject *system = json_object_new ();
  JsonObject *workflow = json_object_new ();
  JsonObject *input = cw_wf_obj (run->run, "input");
  JsonObject *trigger = cw_wf_obj (run->run, "triggerContext");
  JsonObject *approvals = cw_wf_obj (input, "approvals");

  /* The context is only read: it shares the run's objects instead of copying them. */
  json_object_set_string_member (r, "id", run->id);
  json_object_set_object_member (r, "input",
                                 input != NULL ? json_object_ref (input) : json_object_new ());
  json_object_set_object_member (r, "triggerContext",
                                 trigger != NULL ? json_object_ref (trigger) : json_object_new ());
  json_object_set_object_member (ctx, "run", r);
  json_object_set_object_member (ctx, "trigger",
                                 trigger != NULL ? json_object_ref (trigger) : json_object_new ());
  json_object_set_object_member (ctx, "input",
                                 input != NULL ? json_object_ref (input) : json_object_new ());
  json_object_set_object_member (
      ctx, "approvals", approvals != NULL ? json_object_ref (approvals) : json_object_new ());
  json_object_set_int_member (system, "now", cw_wf_now (run->plugin));
  json_object_set_object_member (ctx, "system", system);
  json_object_set_string_member (workflow, "id", cw_wf_str (run->run, "workflowId"));
  json_object_set_int_member (workflow, "version", cw_wf_int (run->run, "workflowVersion", 1));
  json_object_set_object_member (ctx, "workflow", workflow);
  json_object_set_object_member (ctx, "nodes", json_object_ref (outputs_of (run)));
  return ctx;
}

/* ---- the run's model ----------------------------------------------------------------------- */

static void
set_output (CwWorkflowRun *run, JsonObject *checkpoint)
{
  JsonObject *output = ensure_obj (run->run, "output");
  JsonObject *runtime = json_object_new ();

  outputs_of (run);
  json_object_set_int_member (output, "steps", cw_wf_int (run->state, "steps", 0));
  if (checkpoint != NULL)
    json_object_set_object_member (runtime, "checkpoint", checkpoint);
  json_object_set_object_member (output, "__runtime", runtime);
}

static void
set_status (CwWorkflowRun *run, const gchar *status)
{
  json_object_set_string_member (run->run, "status", status);
}

/* ---- finishing ------------------------------------------------------------------------------- */

static void
remove_jobs (CwWorkflowRun *run)
{
  JsonObject *walkers = walkers_of (run);
  GList *ids = json_object_get_members (walkers);

  for (GList *l = ids; l != NULL; l = l->next)
    {
      g_autofree gchar *wait = g_strconcat (CW_WF_JOB_WAIT, run->id, ":", l->data, NULL);
      g_autofree gchar *timeout = g_strconcat (CW_WF_JOB_TIMEOUT, run->id, ":", l->data, NULL);
      cw_plugin_schedule_remove (CW_PLUGIN (run->plugin), wait, NULL);
      cw_plugin_schedule_remove (CW_PLUGIN (run->plugin), timeout, NULL);
    }
  g_list_free (ids);
}

static void
notify_parent (CwWorkflowPlugin *self, JsonObject *model)
{
  JsonObject *tc = cw_wf_obj (model, "triggerContext");

  if (cw_wf_str (tc, "parentRunId") != NULL)
    cw_wf_engine_child_finished (self, model);
}

/* The interactions of the run's approval nodes that still wait for an answer. */
static GPtrArray *
open_approvals (CwWorkflowRun *run)
{
  GPtrArray *ids = g_ptr_array_new_with_free_func (g_free);
  JsonObject *walkers = walkers_of (run);
  g_autoptr (GList) wids = json_object_get_members (walkers);

  for (GList *l = wids; l != NULL; l = l->next)
    {
      JsonObject *w = cw_wf_obj (walkers, l->data);
      if (g_strcmp0 (cw_wf_str (w, "status"), "approval") == 0
          && cw_wf_str (w, "interactionId") != NULL)
        g_ptr_array_add (ids, g_strdup (cw_wf_str (w, "interactionId")));
    }
  return ids;
}

/* A run that ended (cancelled) answers its open approvals itself, so nobody is asked for a
 * decision that no longer matters. */
static void
withdraw_approvals (CwWorkflowPlugin *self, GPtrArray *ids)
{
  CwInteractions *all = cw_context_get_interactions (cw_plugin_get_context (CW_PLUGIN (self)));
  g_autofree gchar *actor = g_strconcat ("plugin:", cw_plugin_get_name (CW_PLUGIN (self)), NULL);

  for (guint i = 0; i < ids->len; i++)
    {
      JsonObject *obj = json_object_new ();
      g_autoptr (JsonNode) answer = NULL;
      g_autoptr (GError) error = NULL;
      json_object_set_boolean_member (obj, "approved", FALSE);
      json_object_set_string_member (obj, "reason", "The run ended before it was answered");
      answer = json_node_init_object (json_node_alloc (), obj);
      json_object_unref (obj);
      if (!cw_interactions_respond (all, g_ptr_array_index (ids, i), answer, actor, &error))
        g_debug ("withdrawing %s: %s", (const gchar *) g_ptr_array_index (ids, i), error->message);
    }
}

/* Ends the run (completed, failed, cancelled, failed_recoverable) and drops it. */
static void
finish_run (CwWorkflowRun *run, const gchar *status, const gchar *error, const gchar *node_id)
{
  CwWorkflowPlugin *self = run->plugin;
  g_autoptr (JsonObject) payload = json_object_new ();
  g_autoptr (JsonObject) model = NULL;
  g_autoptr (GPtrArray) approvals = NULL;
  const gchar *event;

  set_status (run, status);
  json_object_set_int_member (run->run, "completedAt", cw_now_ms ());
  if (error != NULL)
    json_object_set_string_member (run->run, "error", error);
  else
    json_object_remove_member (run->run, "error");
  set_output (run, NULL);
  if (g_str_equal (status, "completed"))
    {
      event = "run_completed";
      json_object_set_int_member (payload, "steps", cw_wf_int (run->state, "steps", 0));
    }
  else if (g_str_equal (status, "cancelled"))
    {
      event = "run_cancelled";
      json_object_set_string_member (payload, "reason",
                                     error != NULL ? error : "Cancelled by user");
    }
  else
    {
      event = "run_failed";
      json_object_set_string_member (payload, "error", error != NULL ? error : "failed");
      if (node_id != NULL)
        json_object_set_string_member (payload, "nodeId", node_id);
      if (g_str_equal (status, "failed_recoverable"))
        json_object_set_boolean_member (payload, "recoverable", TRUE);
    }
  commit (run, NULL, event, payload);
  remove_jobs (run);
  model = json_object_ref (run->run);
  approvals = open_approvals (run);
  g_hash_table_remove (self->active, run->id); /* frees run */
  withdraw_approvals (self, approvals);
  notify_parent (self, model);
}

/* ---- graph ------------------------------------------------------------------------------------
 */

static gboolean
edge_matches (CwWorkflowRun *run, JsonObject *edge, gboolean succeeded, JsonObject *output)
{
  const gchar *condition = cw_wf_str (edge, "condition");

  if (condition == NULL || g_str_equal (condition, "success"))
    return succeeded;
  if (g_str_equal (condition, "always"))
    return TRUE;
  if (g_str_equal (condition, "failure"))
    return !succeeded;
  if (g_str_equal (condition, "custom") && succeeded)
    {
      g_autoptr (JsonObject) ctx = context_of (run);
      g_autoptr (GError) error = NULL;
      gboolean result = FALSE;
      json_object_set_object_member (
          ctx, "current", output != NULL ? cw_wf_copy_object (output) : json_object_new ());
      if (!cw_wf_expr_eval (cw_wf_str (edge, "expression"), ctx, &result, &error))
        g_warning ("run %s: edge %s: %s", run->id, cw_wf_str (edge, "id"), error->message);
      return result;
    }
  return FALSE;
}

/* The targets of the edges leaving @node_id that match; all of them, or the first only. */
static GPtrArray *
next_nodes (CwWorkflowRun *run, const gchar *node_id, gboolean succeeded, JsonObject *output,
            gboolean all, const gchar *skip_label)
{
  GPtrArray *out = g_ptr_array_new_with_free_func (g_free);
  JsonArray *edges = cw_wf_arr (run->def, "edges");

  for (guint i = 0; edges != NULL && i < json_array_get_length (edges); i++)
    {
      JsonObject *e = json_array_get_object_element (edges, i);
      if (e == NULL || g_strcmp0 (cw_wf_str (e, "from"), node_id) != 0)
        continue;
      if (skip_label != NULL && g_strcmp0 (cw_wf_str (e, "label"), skip_label) == 0)
        continue;
      if (!edge_matches (run, e, succeeded, output))
        continue;
      g_ptr_array_add (out, g_strdup (cw_wf_str (e, "to")));
      if (!all)
        break;
    }
  return out;
}

static gboolean
reachable (CwWorkflowRun *run, const gchar *from, const gchar *target)
{
  g_autoptr (GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (GQueue) queue = g_queue_new ();
  JsonArray *edges = cw_wf_arr (run->def, "edges");
  gboolean found = FALSE;

  g_queue_push_tail (queue, g_strdup (from));
  while (!found && !g_queue_is_empty (queue) && g_hash_table_size (seen) < MAX_JOIN_SEARCH)
    {
      gchar *id = g_queue_pop_head (queue);
      if (g_str_equal (id, target))
        found = TRUE;
      if (!g_hash_table_add (seen, id))
        continue;
      for (guint i = 0; edges != NULL && i < json_array_get_length (edges); i++)
        {
          JsonObject *e = json_array_get_object_element (edges, i);
          if (g_strcmp0 (cw_wf_str (e, "from"), id) == 0 && cw_wf_str (e, "to") != NULL
              && !g_hash_table_contains (seen, cw_wf_str (e, "to")))
            g_queue_push_tail (queue, g_strdup (cw_wf_str (e, "to")));
        }
    }
  g_queue_free_full (g_steal_pointer (&queue), g_free);
  return found;
}

/* The join of a parallel node: config.join, else the first node (breadth first from the first
 * branch) that every branch reaches. */
static gchar *
join_of (CwWorkflowRun *run, JsonObject *node, GPtrArray *branches)
{
  const gchar *configured = cw_wf_str (cw_wf_obj (node, "config"), "join");
  g_autoptr (GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (GQueue) queue = g_queue_new ();
  JsonArray *edges = cw_wf_arr (run->def, "edges");
  gchar *join = NULL;

  if (configured != NULL)
    return g_strdup (configured);
  if (branches->len < 2)
    return NULL;
  g_queue_push_tail (queue, g_strdup (g_ptr_array_index (branches, 0)));
  while (join == NULL && !g_queue_is_empty (queue) && g_hash_table_size (seen) < MAX_JOIN_SEARCH)
    {
      gchar *id = g_queue_pop_head (queue);
      gboolean all = TRUE;
      if (!g_hash_table_add (seen, id))
        continue;
      for (guint b = 1; b < branches->len && all; b++)
        all = reachable (run, g_ptr_array_index (branches, b), id);
      if (all)
        {
          join = g_strdup (id);
          break;
        }
      for (guint i = 0; edges != NULL && i < json_array_get_length (edges); i++)
        {
          JsonObject *e = json_array_get_object_element (edges, i);
          if (g_strcmp0 (cw_wf_str (e, "from"), id) == 0 && cw_wf_str (e, "to") != NULL)
            g_queue_push_tail (queue, g_strdup (cw_wf_str (e, "to")));
        }
    }
  g_queue_free_full (g_steal_pointer (&queue), g_free);
  return join;
}

/* ---- walkers --------------------------------------------------------------------------------- */

static JsonObject *
add_walker (CwWorkflowRun *run, const gchar *node_id, const gchar *stop_at, const gchar *parent)
{
  gint64 n = cw_wf_int (run->state, "nextWalker", 0);
  g_autofree gchar *wid = g_strdup_printf ("w%" G_GINT64_FORMAT, n);
  JsonObject *w = json_object_new ();

  json_object_set_int_member (run->state, "nextWalker", n + 1);
  json_object_set_string_member (w, "node", node_id);
  if (stop_at != NULL)
    json_object_set_string_member (w, "stopAt", stop_at);
  if (parent != NULL)
    json_object_set_string_member (w, "parent", parent);
  json_object_set_string_member (w, "status", "ready");
  json_object_set_int_member (w, "attempt", 0);
  json_object_set_object_member (walkers_of (run), wid, w);
  return w;
}

/* Moves a walker to @next (NULL: it is done), honouring its join. */
static void
move_walker (CwWorkflowRun *run, JsonObject *w, const gchar *next)
{
  if (next == NULL || g_strcmp0 (next, cw_wf_str (w, "stopAt")) == 0)
    {
      json_object_set_string_member (w, "status", "done");
      return;
    }
  json_object_set_string_member (w, "node", next);
  json_object_set_string_member (w, "status", "ready");
  json_object_set_int_member (w, "attempt", 0);
}

/* A forked walker whose children are all done goes on at the join. */
static void
settle_forks (CwWorkflowRun *run)
{
  JsonObject *walkers = walkers_of (run);
  GList *ids = json_object_get_members (walkers);

  for (GList *l = ids; l != NULL; l = l->next)
    {
      JsonObject *w = cw_wf_obj (walkers, l->data);
      gboolean all_done = TRUE;
      GList *others;
      if (w == NULL || g_strcmp0 (cw_wf_str (w, "status"), "forked") != 0)
        continue;
      others = json_object_get_members (walkers);
      for (GList *o = others; o != NULL && all_done; o = o->next)
        {
          JsonObject *c = cw_wf_obj (walkers, o->data);
          if (c != NULL && g_strcmp0 (cw_wf_str (c, "parent"), l->data) == 0
              && g_strcmp0 (cw_wf_str (c, "status"), "done") != 0)
            all_done = FALSE;
        }
      g_list_free (others);
      if (!all_done)
        continue;
      /* the children are finished: drop them */
      others = json_object_get_members (walkers);
      for (GList *o = others; o != NULL; o = o->next)
        if (g_strcmp0 (cw_wf_str (cw_wf_obj (walkers, o->data), "parent"), l->data) == 0)
          json_object_remove_member (walkers, o->data);
      g_list_free (others);
      move_walker (run, w, cw_wf_str (w, "join"));
      json_object_remove_member (w, "join");
    }
  g_list_free (ids);
}

/* ---- steps -------------------------------------------------------------------------------------
 */

CwWorkflowPlugin *
cw_wf_step_get_plugin (CwWfStep *step)
{
  return step->run != NULL ? step->run->plugin : NULL;
}

JsonObject *
cw_wf_step_get_node (CwWfStep *step)
{
  return step->node;
}

JsonObject *
cw_wf_step_get_config (CwWfStep *step)
{
  return step->config;
}

JsonObject *
cw_wf_step_get_context (CwWfStep *step)
{
  return step->context;
}

JsonObject *
cw_wf_step_get_run (CwWfStep *step)
{
  return step->run != NULL ? step->run->run : NULL;
}

JsonObject *
cw_wf_step_get_definition (CwWfStep *step)
{
  return step->run != NULL ? step->run->def : NULL;
}

GPtrArray *
cw_wf_step_get_missing (CwWfStep *step)
{
  return step->missing;
}

const gchar *
cw_wf_step_get_walker (CwWfStep *step)
{
  return step->walker;
}

GCancellable *
cw_wf_step_get_cancellable (CwWfStep *step)
{
  return step->cancellable;
}

static JsonObject *
node_run_model (CwWfStep *step, const gchar *status)
{
  JsonObject *nr = json_object_new ();
  JsonObject *input = json_object_new ();
  JsonObject *run_input = cw_wf_obj (step->run->run, "input");

  json_object_set_string_member (nr, "id", step->node_run_id);
  json_object_set_string_member (nr, "runId", step->run->id);
  json_object_set_string_member (nr, "nodeId", cw_wf_str (step->node, "id"));
  json_object_set_int_member (nr, "attempt", step->attempt);
  json_object_set_string_member (nr, "status", status);
  json_object_set_object_member (
      input, "runInput", run_input != NULL ? cw_wf_copy_object (run_input) : json_object_new ());
  json_object_set_object_member (input, "nodeConfig", cw_wf_copy_object (step->config));
  json_object_set_object_member (nr, "input", input);
  json_object_set_int_member (nr, "startedAt", step->started_at);
  return nr;
}

static void
disarm_timeout (CwWfStep *step)
{
  g_autofree gchar *id = g_strconcat (CW_WF_JOB_TIMEOUT, step->run->id, ":", step->walker, NULL);

  cw_plugin_schedule_remove (CW_PLUGIN (step->run->plugin), id, NULL);
}

/* Takes the step out of its run; FALSE if it was already answered or its run is gone. */
static gboolean
detach_step (CwWfStep *step)
{
  if (step->finished || step->run == NULL)
    return FALSE;
  step->finished = TRUE;
  disarm_timeout (step);
  if (g_hash_table_remove (step->run->steps, step->walker))
    step_unref (step);
  return TRUE;
}

static void
loop_advance (CwWorkflowRun *run, JsonObject *w, JsonObject *node, JsonObject *output)
{
  const gchar *node_id = cw_wf_str (node, "id");
  gboolean body = cw_wf_bool (output, "continue", FALSE);
  JsonArray *edges = cw_wf_arr (run->def, "edges");
  const gchar *body_node = cw_wf_str (cw_wf_obj (node, "config"), "bodyNodeId");
  const gchar *next = NULL;

  for (guint i = 0; edges != NULL && i < json_array_get_length (edges); i++)
    {
      JsonObject *e = json_array_get_object_element (edges, i);
      gboolean is_body;
      if (g_strcmp0 (cw_wf_str (e, "from"), node_id) != 0)
        continue;
      is_body = g_strcmp0 (cw_wf_str (e, "label"), "body") == 0
                || (body_node != NULL && g_strcmp0 (cw_wf_str (e, "to"), body_node) == 0);
      if (is_body == body && g_strcmp0 (cw_wf_str (e, "condition"), "failure") != 0)
        {
          next = cw_wf_str (e, "to");
          break;
        }
    }
  if (body && next == NULL)
    next = body_node;
  move_walker (run, w, next);
}

static void
step_done (CwWfStep *step, gboolean succeeded, JsonObject *output, const gchar *error_text)
{
  CwWorkflowRun *run = step->run;
  JsonObject *w = walker (run, step->walker);
  const gchar *node_id = cw_wf_str (step->node, "id");
  const gchar *type = cw_wf_str (step->node, "type");
  Policy policy = policy_of (run, step->node);
  gint64 now = cw_now_ms ();
  g_autoptr (JsonObject) nr = node_run_model (step, succeeded ? "succeeded" : "failed");
  g_autoptr (JsonObject) payload = json_object_new ();
  JsonObject *outputs = outputs_of (run);
  gboolean retry = FALSE;

  json_object_set_int_member (nr, "completedAt", now);
  json_object_set_int_member (nr, "durationMs", MAX (0, now - step->started_at));
  if (output != NULL)
    json_object_set_object_member (nr, "output", json_object_ref (output));
  json_object_set_string_member (payload, "nodeId", node_id);
  json_object_set_int_member (payload, "attempt", step->attempt);
  json_object_set_int_member (payload, "durationMs", MAX (0, now - step->started_at));
  json_object_set_int_member (run->state, "steps", cw_wf_int (run->state, "steps", 0) + 1);
  run->plugin->nodes_executed++;
  if (succeeded)
    {
      JsonObject *checkpoint = json_object_new ();
      g_autoptr (GPtrArray) next = NULL;

      json_object_set_object_member (
          outputs, node_id, output != NULL ? json_object_ref (output) : json_object_new ());
      json_object_set_boolean_member (payload, "pauseRequested", FALSE);
      if (g_strcmp0 (type, "parallel") == 0)
        {
          g_autofree gchar *join = NULL;
          next = next_nodes (run, node_id, TRUE, output, TRUE, NULL);
          join = join_of (run, step->node, next);
          if (next->len == 0)
            move_walker (run, w, NULL);
          else
            {
              const gchar *wid = step->walker;
              json_object_set_string_member (w, "status", "forked");
              if (join != NULL)
                json_object_set_string_member (w, "join", join);
              for (guint i = 0; i < next->len; i++)
                add_walker (run, g_ptr_array_index (next, i), join, wid);
            }
        }
      else if (g_strcmp0 (type, "loop") == 0)
        loop_advance (run, w, step->node, output);
      else if (g_strcmp0 (type, "end") == 0)
        move_walker (run, w, NULL);
      else
        {
          next = next_nodes (run, node_id, TRUE, output, FALSE, NULL);
          move_walker (run, w, next->len > 0 ? g_ptr_array_index (next, 0) : NULL);
        }
      json_object_set_int_member (checkpoint, "step", cw_wf_int (run->state, "steps", 0));
      json_object_set_string_member (checkpoint, "completedNodeId", node_id);
      if (g_strcmp0 (cw_wf_str (w, "status"), "ready") == 0)
        json_object_set_string_member (checkpoint, "nextNodeId", cw_wf_str (w, "node"));
      else
        json_object_set_null_member (checkpoint, "nextNodeId");
      json_object_set_string_member (checkpoint, "nodeRunId", step->node_run_id);
      json_object_set_int_member (checkpoint, "recordedAt", now);
      if (g_strcmp0 (cw_wf_str (w, "status"), "ready") == 0)
        json_object_set_string_member (run->run, "currentNodeId", cw_wf_str (w, "node"));
      set_output (run, checkpoint);
      commit (run, nr, "node_succeeded", payload);
      return;
    }

  json_object_set_string_member (nr, "error", error_text);
  json_object_set_string_member (payload, "error", error_text);
  json_object_set_string_member (payload, "retryProfile", profile_of (run, step->node));
  retry = step->attempt < policy.max_attempts && !step->timed_out
          && !cw_wf_bool (output, "noRetry", FALSE);
  json_object_set_boolean_member (payload, "willRetry", retry);
  json_object_set_boolean_member (
      payload, "compensationApplied",
      cw_wf_bool (cw_wf_obj (output, "compensation"), "applied", FALSE));
  if (cw_wf_str (cw_wf_obj (output, "compensation"), "error") != NULL)
    json_object_set_string_member (payload, "compensationError",
                                   cw_wf_str (cw_wf_obj (output, "compensation"), "error"));
  if (retry)
    {
      json_object_set_string_member (w, "status", "ready");
      json_object_set_int_member (w, "attempt", step->attempt);
      json_object_set_int_member (w, "retryAt", now + backoff_delay (&policy, step->attempt));
      commit (run, nr, "node_failed", payload);
      return;
    }
  {
    g_autoptr (GPtrArray) next = next_nodes (run, node_id, FALSE, output, FALSE, NULL);
    JsonObject *failed = json_object_new ();
    json_object_set_string_member (failed, "error", error_text);
    json_object_set_boolean_member (failed, "failed", TRUE);
    json_object_set_object_member (outputs, node_id, failed);
    if (next->len == 0)
      {
        json_object_set_string_member (w, "status", "failed");
        json_object_set_string_member (w, "error", error_text);
        commit (run, nr, "node_failed", payload);
        return;
      }
    move_walker (run, w, g_ptr_array_index (next, 0));
    commit (run, nr, "node_failed", payload);
  }
}

static void compensation_done (const gchar *text, JsonObject *usage, const gchar *error,
                               gpointer user_data);

typedef struct
{
  CwWfStep *step;
  gchar *error;
  JsonObject *output;
  gchar *strategy;
} Compensation;

/* A failed attempt with a retry left runs its compensation prompt first (contract §2.4). */
static gboolean
maybe_compensate (CwWfStep *step, const gchar *message, JsonObject *output)
{
  JsonObject *comp = cw_wf_obj (cw_wf_obj (step->node, "config"), "compensation");
  Policy policy = policy_of (step->run, step->node);
  const gchar *strategy = cw_wf_str (comp, "strategy");
  const gchar *template = cw_wf_str (comp, "promptTemplate");
  Compensation *c;
  g_autoptr (JsonObject) ctx = NULL;
  g_autofree gchar *prompt = NULL;
  JsonObject *info;

  if (comp == NULL || !cw_wf_bool (comp, "enabled", TRUE) || g_strcmp0 (strategy, "none") == 0
      || step->attempt >= policy.max_attempts || template == NULL || step->timed_out)
    return FALSE;
  ctx = cw_wf_copy_object (step->context);
  info = json_object_new ();
  json_object_set_string_member (info, "runId", step->run->id);
  json_object_set_string_member (info, "nodeId", cw_wf_str (step->node, "id"));
  json_object_set_int_member (info, "attempt", step->attempt);
  json_object_set_string_member (info, "error", message);
  json_object_set_object_member (ctx, "compensation", info);
  c = g_new0 (Compensation, 1);
  c->step = g_rc_box_acquire (step);
  c->error = g_strdup (message);
  c->output = output != NULL ? json_object_ref (output) : json_object_new ();
  c->strategy = g_strdup (strategy != NULL ? strategy : "before_retry");
  prompt = cw_wf_render_string (template, ctx, NULL);
  cw_wf_agent_prompt (step->run->plugin, step->run->id, prompt, comp,
                      cw_wf_obj (step->run->def, "defaults"), step->cancellable, compensation_done,
                      c);
  return TRUE;
}

static void
after_step (CwWorkflowPlugin *self, const gchar *run_id)
{
  CwWorkflowRun *run = g_hash_table_lookup (self->active, run_id);

  if (run != NULL)
    advance (run);
}

/* The engine's side of a node's answer; the caller keeps its reference. */
static void
conclude (CwWfStep *step, gboolean succeeded, JsonObject *output, const gchar *message)
{
  CwWorkflowPlugin *self = step->run->plugin;
  g_autofree gchar *run_id = g_strdup (step->run->id);

  if (!succeeded && !cw_wf_bool (output, "compensated", FALSE)
      && maybe_compensate (step, message, output))
    return;
  if (!detach_step (step))
    return;
  step_done (step, succeeded, output, message);
  after_step (self, run_id);
}

static void
compensation_done (const gchar *text, JsonObject *usage, const gchar *error, gpointer user_data)
{
  Compensation *c = user_data;
  JsonObject *info = json_object_new ();

  json_object_set_boolean_member (info, "applied", error == NULL);
  json_object_set_string_member (info, "strategy", c->strategy);
  if (error != NULL)
    json_object_set_string_member (info, "error", error);
  if (text != NULL)
    json_object_set_string_member (info, "text", text);
  json_object_set_object_member (c->output, "compensation", info);
  json_object_set_boolean_member (c->output, "compensated", TRUE);
  if (c->step->run != NULL && !c->step->finished)
    conclude (c->step, FALSE, c->output, c->error);
  step_unref (c->step);
  json_object_unref (c->output);
  g_free (c->error);
  g_free (c->strategy);
  g_free (c);
}

void
cw_wf_step_succeed (CwWfStep *step, JsonObject *output)
{
  g_autoptr (JsonObject) owned = output != NULL ? output : json_object_new ();

  if (step->run != NULL && !step->finished)
    conclude (step, TRUE, owned, NULL);
  step_unref (step);
}

void
cw_wf_step_fail_final (CwWfStep *step, const gchar *message)
{
  g_autoptr (JsonObject) output = json_object_new ();

  json_object_set_boolean_member (output, "noRetry", TRUE);
  json_object_set_boolean_member (output, "compensated", TRUE);
  if (step->run != NULL && !step->finished)
    conclude (step, FALSE, output, message != NULL ? message : "failed");
  step_unref (step);
}

void
cw_wf_step_fail (CwWfStep *step, const gchar *message)
{
  g_autoptr (JsonObject) output = json_object_new ();

  if (step->run != NULL && !step->finished)
    conclude (step, FALSE, output, message != NULL ? message : "failed");
  step_unref (step);
}

/* ---- durable waits ------------------------------------------------------------------------- */

static void
on_wait_fire (CwPlugin *plugin, const gchar *job_id, gint64 scheduled_ms, CwScheduleFireFlags flags,
              gpointer user_data)
{
  g_autofree gchar *rest = g_strdup (job_id + strlen (CW_WF_JOB_WAIT));
  gchar *colon = strrchr (rest, ':');

  if (colon == NULL)
    return;
  *colon = '\0';
  cw_wf_engine_wait_fired (CW_WORKFLOW_PLUGIN (plugin), rest, colon + 1);
}

static gboolean
arm_wait (CwWorkflowRun *run, const gchar *wid, gint64 until)
{
  g_autofree gchar *id = g_strconcat (CW_WF_JOB_WAIT, run->id, ":", wid, NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (CwSchedule) at = cw_schedule_new_at (until, &error);

  if (at == NULL
      || !cw_plugin_schedule_add (CW_PLUGIN (run->plugin), id, at, CW_MISSED_POLICY_ONCE,
                                  on_wait_fire, NULL, NULL, &error))
    {
      g_warning ("run %s: cannot schedule a wait: %s", run->id, error->message);
      return FALSE;
    }
  return TRUE;
}

/* Parks a step: its node run stays `running`, the walker says what it waits for. */
static JsonObject *
park (CwWfStep *step, const gchar *status)
{
  JsonObject *w = walker (step->run, step->walker);

  json_object_set_string_member (w, "status", status);
  return w;
}

void
cw_wf_step_wait (CwWfStep *step, gint64 until_ms, JsonObject *output)
{
  g_autoptr (JsonObject) owned = output;
  CwWorkflowRun *run = step->run;
  JsonObject *w;

  if (run == NULL || step->finished)
    {
      step_unref (step);
      return;
    }
  if (until_ms <= cw_wf_now (run->plugin))
    {
      cw_wf_step_succeed (step, g_steal_pointer (&owned));
      return;
    }
  w = park (step, "waiting");
  json_object_set_int_member (w, "waitUntil", until_ms);
  json_object_set_int_member (w, "waitStarted", cw_wf_now (run->plugin));
  commit (run, NULL, NULL, NULL);
  arm_wait (run, step->walker, until_ms);
  detach_step (step);
  step_unref (step);
}

void
cw_wf_step_pause (CwWfStep *step, const gchar *reason, const gchar *interaction_id)
{
  CwWorkflowRun *run = step->run;
  g_autoptr (JsonObject) payload = json_object_new ();
  JsonObject *w;

  if (run == NULL || step->finished)
    {
      step_unref (step);
      return;
    }
  w = park (step, "approval");
  if (interaction_id != NULL)
    json_object_set_string_member (w, "interactionId", interaction_id);
  set_status (run, "paused");
  json_object_set_string_member (run->run, "error", reason);
  json_object_set_int_member (run->state, "pausedAt", cw_wf_now (run->plugin));
  json_object_set_string_member (payload, "nodeId", cw_wf_str (step->node, "id"));
  json_object_set_string_member (payload, "reason", reason);
  if (interaction_id != NULL)
    json_object_set_string_member (payload, "interactionId", interaction_id);
  commit (run, NULL, "run_paused", payload);
  detach_step (step);
  step_unref (step);
}

void
cw_wf_step_await_child (CwWfStep *step, const gchar *child_run_id)
{
  CwWorkflowRun *run = step->run;
  JsonObject *w;

  if (run == NULL || step->finished)
    {
      step_unref (step);
      return;
    }
  w = park (step, "child");
  json_object_set_string_member (w, "childRunId", child_run_id);
  commit (run, NULL, NULL, NULL);
  detach_step (step);
  step_unref (step);
}

/* ---- starting a node ---------------------------------------------------------------------- */

static CwWfStep *
step_new (CwWorkflowRun *run, const gchar *wid, JsonObject *node)
{
  CwWfStep *step = g_rc_box_new0 (CwWfStep);
  JsonObject *w = walker (run, wid);
  JsonNode *config = json_object_get_member (node, "config");
  g_autoptr (JsonNode) rendered = NULL;

  step->run = run;
  step->walker = g_strdup (wid);
  step->node = json_object_ref (node);
  step->missing = g_ptr_array_new_with_free_func (g_free);
  step->context = context_of (run);
  rendered = cw_wf_render (config, step->context, step->missing);
  step->config = JSON_NODE_HOLDS_OBJECT (rendered)
                     ? json_object_ref (json_node_get_object (rendered))
                     : json_object_new ();
  step->cancellable = g_cancellable_new ();
  step->node_run_id = g_strdup (cw_wf_str (w, "nodeRunId"));
  step->attempt = cw_wf_int (w, "attempt", 1);
  step->started_at = cw_wf_int (w, "startedAt", cw_now_ms ());
  return step;
}

static void
on_timeout_fire (CwPlugin *plugin, const gchar *job_id, gint64 scheduled_ms,
                 CwScheduleFireFlags flags, gpointer user_data)
{
  g_autofree gchar *rest = g_strdup (job_id + strlen (CW_WF_JOB_TIMEOUT));
  gchar *colon = strrchr (rest, ':');

  if (colon == NULL)
    return;
  *colon = '\0';
  cw_wf_engine_timeout_fired (CW_WORKFLOW_PLUGIN (plugin), rest, colon + 1);
}

static gboolean
needs_timeout (const gchar *type)
{
  static const gchar *const timed[]
      = { "agent_step", "tool", "notification", "mcp_tool", "connector_tool", NULL };

  return type != NULL && g_strv_contains (timed, type);
}

static void
arm_timeout (CwWfStep *step)
{
  CwWorkflowRun *run = step->run;
  JsonObject *defaults = cw_wf_obj (run->def, "defaults");
  gint64 ms = cw_wf_int (step->node, "timeoutMs", 0);
  g_autofree gchar *id = g_strconcat (CW_WF_JOB_TIMEOUT, run->id, ":", step->walker, NULL);
  g_autoptr (CwSchedule) at = NULL;

  if (ms <= 0)
    ms = cw_wf_int (defaults, "nodeTimeoutMs", DEFAULT_NODE_TIMEOUT_MS);
  if (ms <= 0)
    ms = DEFAULT_NODE_TIMEOUT_MS;
  at = cw_schedule_new_at (cw_wf_now (run->plugin) + ms, NULL);
  if (at != NULL)
    cw_plugin_schedule_add (CW_PLUGIN (run->plugin), id, at, CW_MISSED_POLICY_ONCE, on_timeout_fire,
                            NULL, NULL, NULL);
}

static gboolean
is_pure (const gchar *type)
{
  static const gchar *const pure[] = { "start", "end", "condition", "parallel", "loop", NULL };

  return type != NULL && g_strv_contains (pure, type);
}

static gboolean
start_node (CwWorkflowRun *run, const gchar *wid)
{
  JsonObject *w = walker (run, wid);
  const gchar *node_id = cw_wf_str (w, "node");
  JsonObject *node = cw_wf_defs_find_node (run->def, node_id);
  g_autofree gchar *nr_id = cw_make_id ("nr");
  g_autoptr (JsonObject) payload = json_object_new ();
  g_autoptr (JsonObject) nr = NULL;
  Policy policy;
  CwWfStep *step;

  if (node == NULL)
    {
      g_autofree gchar *msg = g_strdup_printf ("Node not found: %s", node_id);
      finish_run (run, "failed", msg, node_id);
      return FALSE;
    }
  policy = policy_of (run, node);
  json_object_set_int_member (w, "attempt", cw_wf_int (w, "attempt", 0) + 1);
  json_object_set_string_member (w, "status", "running");
  json_object_set_string_member (w, "nodeRunId", nr_id);
  json_object_set_int_member (w, "startedAt", cw_now_ms ());
  json_object_remove_member (w, "retryAt");
  json_object_set_string_member (run->run, "currentNodeId", node_id);
  step = step_new (run, wid, node);
  nr = node_run_model (step, "running");
  json_object_set_string_member (payload, "nodeId", node_id);
  json_object_set_int_member (payload, "attempt", step->attempt);
  json_object_set_string_member (payload, "nodeType", cw_wf_str (node, "type"));
  json_object_set_string_member (payload, "retryProfile", profile_of (run, node));
  json_object_set_object_member (payload, "retryPolicy", policy_json (&policy));
  if (is_pure (cw_wf_str (node, "type")))
    {
      /* Nothing outside the run sees this node: its start is stored with its end, in one
       * transaction (a crash in between leaves it not started, to run again). */
      g_clear_pointer (&run->pending_start, json_object_unref);
      run->pending_start = json_object_ref (payload);
    }
  else if (!commit (run, nr, "node_started", payload))
    {
      step_unref (step);
      finish_run (run, "failed_recoverable", "The run's progress could not be stored", node_id);
      return FALSE;
    }
  g_hash_table_insert (run->steps, step->walker, g_rc_box_acquire (step));
  if (needs_timeout (cw_wf_str (node, "type")))
    arm_timeout (step);
  cw_wf_nodes_execute (step);
  return TRUE;
}

/* ---- the loop ------------------------------------------------------------------------------ */

typedef struct
{
  CwWorkflowPlugin *plugin;
  gchar *run_id;
  gchar *walker;
} RetryTimer;

static void
retry_timer_free (RetryTimer *t)
{
  g_free (t->run_id);
  g_free (t->walker);
  g_free (t);
}

static gboolean
on_retry_timer (gpointer data)
{
  RetryTimer *t = data;
  CwWorkflowRun *run = g_hash_table_lookup (t->plugin->active, t->run_id);

  if (run != NULL)
    {
      g_hash_table_remove (run->retry_sources, t->walker);
      advance (run);
    }
  return G_SOURCE_REMOVE;
}

static void
schedule_retry (CwWorkflowRun *run, const gchar *wid, gint64 delay_ms)
{
  RetryTimer *t;
  guint id;

  if (g_hash_table_contains (run->retry_sources, wid))
    return;
  t = g_new0 (RetryTimer, 1);
  t->plugin = run->plugin;
  t->run_id = g_strdup (run->id);
  t->walker = g_strdup (wid);
  id = g_timeout_add_full (G_PRIORITY_DEFAULT, (guint) MAX (1, delay_ms), on_retry_timer, t,
                           (GDestroyNotify) retry_timer_free);
  g_hash_table_insert (run->retry_sources, g_strdup (wid), GUINT_TO_POINTER (id));
}

static gint64
active_time (CwWorkflowRun *run)
{
  gint64 started = cw_wf_int (run->state, "startedAtClock", cw_wf_now (run->plugin));

  return cw_wf_now (run->plugin) - started - cw_wf_int (run->state, "pausedMs", 0);
}

/* One pass: settles forks, ends the run when it is done, starts every ready walker. Returns
 * TRUE when something changed and another pass is needed. */
static gboolean
advance_once (CwWorkflowRun *run, gboolean *gone)
{
  CwWorkflowPlugin *self = run->plugin;
  JsonObject *walkers;
  g_autoptr (GList) ids = NULL;
  gboolean all_done = TRUE, started = FALSE;
  gint64 max_run = cw_wf_int (cw_wf_obj (run->def, "defaults"), "maxRunTimeMs", 1800000);

  *gone = FALSE;
  if (g_strcmp0 (run_status (run), "running") != 0)
    return FALSE;
  if (json_object_get_size (walkers_of (run)) == 0)
    {
      /* a run from before this engine (imported): it goes on from its current node */
      const gchar *from = cw_wf_str (run->run, "currentNodeId");
      if (from == NULL || cw_wf_defs_find_node (run->def, from) == NULL)
        from = start_node_id (run->def);
      add_walker (run, from, NULL, NULL);
    }
  settle_forks (run);
  walkers = walkers_of (run);
  ids = json_object_get_members (walkers);
  for (GList *l = ids; l != NULL; l = l->next)
    {
      JsonObject *w = cw_wf_obj (walkers, l->data);
      if (g_strcmp0 (cw_wf_str (w, "status"), "failed") == 0)
        {
          g_autofree gchar *error = g_strdup (cw_wf_str (w, "error"));
          g_autofree gchar *node = g_strdup (cw_wf_str (w, "node"));
          finish_run (run, "failed", error, node);
          *gone = TRUE;
          return FALSE;
        }
      if (g_strcmp0 (cw_wf_str (w, "status"), "done") != 0)
        all_done = FALSE;
    }
  if (all_done)
    {
      finish_run (run, "completed", NULL, NULL);
      *gone = TRUE;
      return FALSE;
    }
  for (GList *l = ids; l != NULL; l = l->next)
    {
      JsonObject *w = cw_wf_obj (walkers, l->data);
      gint64 retry_at;
      if (g_strcmp0 (cw_wf_str (w, "status"), "ready") != 0
          || g_hash_table_contains (run->steps, l->data))
        continue;
      if (max_run > 0 && active_time (run) > max_run)
        {
          g_autofree gchar *msg = g_strdup_printf (
              "Run exceeded its maximum run time of %" G_GINT64_FORMAT " ms", max_run);
          finish_run (run, "failed", msg, cw_wf_str (w, "node"));
          *gone = TRUE;
          return FALSE;
        }
      if (cw_wf_int (run->state, "steps", 0) >= self->max_steps)
        {
          g_autofree gchar *msg = g_strdup_printf (
              "Run exceeded the limit of %" G_GINT64_FORMAT " node executions", self->max_steps);
          finish_run (run, "failed", msg, cw_wf_str (w, "node"));
          *gone = TRUE;
          return FALSE;
        }
      retry_at = cw_wf_int (w, "retryAt", 0);
      if (retry_at > cw_now_ms ())
        {
          schedule_retry (run, l->data, retry_at - cw_now_ms ());
          continue;
        }
      if (!start_node (run, l->data))
        {
          *gone = TRUE;
          return FALSE;
        }
      started = TRUE;
      /* The node may have finished (and the run with it) inside start_node. */
      if (g_hash_table_lookup (self->active, cw_wf_str (run->run, "id")) != run)
        {
          *gone = TRUE;
          return FALSE;
        }
      if (g_strcmp0 (run_status (run), "running") != 0)
        return FALSE;
      /* the walkers table may have changed: start the pass again */
      return TRUE;
    }
  return started;
}

static void
advance (CwWorkflowRun *run)
{
  CwWorkflowPlugin *self = run->plugin;
  g_autofree gchar *run_id = NULL;
  gboolean gone = FALSE;

  if (run->advancing)
    {
      run->again = TRUE;
      return;
    }
  run_id = g_strdup (run->id);
  run->advancing = TRUE;
  while (TRUE)
    {
      gboolean more = advance_once (run, &gone);
      if (gone)
        return; /* freed */
      if (!more && !run->again)
        break;
      run->again = FALSE;
      if (self->stopping)
        break;
    }
  run->advancing = FALSE;
}

/* ---- parked walkers ---------------------------------------------------------------------- */

/* The step of a parked walker (waiting, approval, child), to answer it. */
static CwWfStep *
restore_step (CwWorkflowRun *run, const gchar *wid)
{
  JsonObject *w = walker (run, wid);
  JsonObject *node = w != NULL ? cw_wf_defs_find_node (run->def, cw_wf_str (w, "node")) : NULL;
  CwWfStep *step;

  if (node == NULL || g_hash_table_contains (run->steps, wid))
    return NULL;
  step = step_new (run, wid, node);
  json_object_set_string_member (w, "status", "running");
  g_hash_table_insert (run->steps, step->walker, g_rc_box_acquire (step));
  return step;
}

void
cw_wf_engine_wait_fired (CwWorkflowPlugin *self, const gchar *run_id, const gchar *wid)
{
  CwWorkflowRun *run = g_hash_table_lookup (self->active, run_id);
  JsonObject *w = run != NULL ? walker (run, wid) : NULL;
  JsonObject *output;
  CwWfStep *step;

  if (w == NULL || g_strcmp0 (cw_wf_str (w, "status"), "waiting") != 0)
    return;
  if (g_strcmp0 (run_status (run), "running") != 0)
    {
      /* paused or cancelled meanwhile: it completes on resume */
      json_object_set_boolean_member (w, "waitDone", TRUE);
      commit (run, NULL, NULL, NULL);
      return;
    }
  output = json_object_new ();
  json_object_set_int_member (output, "waitedMs",
                              MAX (0, cw_wf_now (self) - cw_wf_int (w, "waitStarted", 0)));
  /* A durable wait (a day, say) is not run time: maxRunTimeMs bounds the work. */
  json_object_set_int_member (run->state, "pausedMs",
                              cw_wf_int (run->state, "pausedMs", 0)
                                  + MAX (0, cw_wf_now (self) - cw_wf_int (w, "waitStarted", 0)));
  json_object_set_int_member (output, "until", cw_wf_int (w, "waitUntil", 0));
  step = restore_step (run, wid);
  if (step == NULL)
    {
      json_object_unref (output);
      return;
    }
  cw_wf_step_succeed (step, output);
}

void
cw_wf_engine_timeout_fired (CwWorkflowPlugin *self, const gchar *run_id, const gchar *wid)
{
  CwWorkflowRun *run = g_hash_table_lookup (self->active, run_id);
  CwWfStep *step = run != NULL ? g_hash_table_lookup (run->steps, wid) : NULL;
  JsonObject *defaults;
  gint64 ms;
  g_autofree gchar *msg = NULL;
  g_autoptr (JsonObject) output = NULL;

  if (step == NULL || step->finished)
    return;
  defaults = cw_wf_obj (run->def, "defaults");
  ms = cw_wf_int (step->node, "timeoutMs",
                  cw_wf_int (defaults, "nodeTimeoutMs", DEFAULT_NODE_TIMEOUT_MS));
  msg = g_strdup_printf ("Node %s timed out after %" G_GINT64_FORMAT " ms",
                         cw_wf_str (step->node, "id"), ms);
  step->timed_out = TRUE;
  g_rc_box_acquire (step);
  g_cancellable_cancel (step->cancellable);
  output = json_object_new ();
  json_object_set_boolean_member (output, "timedOut", TRUE);
  if (!step->finished && step->run != NULL)
    conclude (step, FALSE, output, msg);
  step_unref (step);
}

static const gchar *
walker_in (CwWorkflowRun *run, const gchar *status, const gchar *member, const gchar *value)
{
  JsonObject *walkers = walkers_of (run);
  g_autoptr (GList) ids = json_object_get_members (walkers);

  for (GList *l = ids; l != NULL; l = l->next)
    {
      JsonObject *w = cw_wf_obj (walkers, l->data);
      if (g_strcmp0 (cw_wf_str (w, "status"), status) == 0
          && (member == NULL || g_strcmp0 (cw_wf_str (w, member), value) == 0))
        return l->data;
    }
  return NULL;
}

static void
record_approval (CwWorkflowRun *run, const gchar *node_id)
{
  JsonObject *input = ensure_obj (run->run, "input");
  JsonObject *approvals = ensure_obj (input, "approvals");

  json_object_set_boolean_member (approvals, node_id, TRUE);
}

static void
end_pause (CwWorkflowRun *run)
{
  gint64 paused_at = cw_wf_int (run->state, "pausedAt", 0);

  if (paused_at > 0)
    json_object_set_int_member (run->state, "pausedMs",
                                cw_wf_int (run->state, "pausedMs", 0)
                                    + MAX (0, cw_wf_now (run->plugin) - paused_at));
  json_object_remove_member (run->state, "pausedAt");
}

/* Answers the approval walker @wid: approved goes on, denied fails the node. */
static void
answer_approval (CwWorkflowRun *run, const gchar *wid, gboolean approved, const gchar *by,
                 const gchar *reason)
{
  g_autofree gchar *wid_copy = g_strdup (wid);
  JsonObject *w = walker (run, wid);
  g_autofree gchar *node_id = g_strdup (cw_wf_str (w, "node"));
  g_autoptr (JsonObject) payload = json_object_new ();
  CwWfStep *step;

  set_status (run, "running");
  json_object_remove_member (run->run, "error");
  end_pause (run);
  if (approved)
    record_approval (run, node_id);
  json_object_set_string_member (payload, "currentNodeId", node_id);
  json_object_set_boolean_member (payload, "approved", approved);
  if (by != NULL)
    json_object_set_string_member (payload, "by", by);
  commit (run, NULL, "run_resumed", payload);
  step = restore_step (run, wid_copy);
  if (step == NULL)
    return;
  if (approved)
    {
      JsonObject *output = json_object_new ();
      json_object_set_boolean_member (output, "approved", TRUE);
      if (by != NULL)
        json_object_set_string_member (output, "approvedBy", by);
      cw_wf_step_succeed (step, output);
    }
  else
    {
      g_autofree gchar *msg = g_strdup_printf ("Approval denied%s%s", reason != NULL ? ": " : "",
                                               reason != NULL ? reason : "");
      g_autoptr (JsonObject) output = json_object_new ();
      json_object_set_boolean_member (output, "approved", FALSE);
      json_object_set_boolean_member (output, "noRetry", TRUE);
      json_object_set_boolean_member (output, "compensated", TRUE);
      g_rc_box_acquire (step);
      conclude (step, FALSE, output, msg);
      step_unref (step);
      step_unref (step);
    }
}

void
cw_wf_engine_approval_answered (CwWorkflowPlugin *self, CwInteraction *interaction)
{
  JsonObject *data = cw_interaction_get_data (interaction);
  const gchar *run_id = cw_wf_str (data, "runId");
  CwWorkflowRun *run = run_id != NULL ? g_hash_table_lookup (self->active, run_id) : NULL;
  const gchar *wid;
  JsonNode *answer = cw_interaction_get_answer (interaction);
  JsonObject *obj
      = answer != NULL && JSON_NODE_HOLDS_OBJECT (answer) ? json_node_get_object (answer) : NULL;

  if (run == NULL)
    return;
  wid = walker_in (run, "approval", "interactionId", cw_interaction_get_id (interaction));
  if (wid == NULL)
    return;
  if (cw_interaction_get_state (interaction) == CW_INTERACTION_EXPIRED)
    answer_approval (run, wid, FALSE, NULL, "nobody answered in time");
  else
    answer_approval (run, wid, cw_wf_bool (obj, "approved", FALSE),
                     cw_interaction_get_resolved_by (interaction), cw_wf_str (obj, "reason"));
  if ((run = g_hash_table_lookup (self->active, run_id)) != NULL)
    advance (run);
}

void
cw_wf_engine_child_finished (CwWorkflowPlugin *self, JsonObject *child)
{
  JsonObject *tc = cw_wf_obj (child, "triggerContext");
  const gchar *parent_id = cw_wf_str (tc, "parentRunId");
  CwWorkflowRun *run = parent_id != NULL ? g_hash_table_lookup (self->active, parent_id) : NULL;
  const gchar *wid;
  CwWfStep *step;
  const gchar *status = cw_wf_str (child, "status");

  if (run == NULL)
    return;
  wid = walker_in (run, "child", "childRunId", cw_wf_str (child, "id"));
  if (wid == NULL || g_strcmp0 (run_status (run), "running") != 0)
    return;
  step = restore_step (run, wid);
  if (step == NULL)
    return;
  if (g_strcmp0 (status, "completed") == 0)
    {
      JsonObject *output = json_object_new ();
      JsonObject *child_output = cw_wf_obj (child, "output");
      json_object_set_string_member (output, "runId", cw_wf_str (child, "id"));
      json_object_set_string_member (output, "status", status);
      json_object_set_object_member (output, "output",
                                     child_output != NULL ? cw_wf_copy_object (child_output)
                                                          : json_object_new ());
      cw_wf_step_succeed (step, output);
    }
  else
    {
      g_autofree gchar *msg
          = g_strdup_printf ("Subworkflow run %s ended %s%s%s", cw_wf_str (child, "id"), status,
                             cw_wf_str (child, "error") != NULL ? ": " : "",
                             cw_wf_str (child, "error") != NULL ? cw_wf_str (child, "error") : "");
      cw_wf_step_fail (step, msg);
    }
}

/* ---- starting, pausing, cancelling -------------------------------------------------------- */

static void
begin (CwWorkflowRun *run)
{
  g_autoptr (JsonObject) payload = json_object_new ();
  JsonObject *walkers = walkers_of (run);

  set_status (run, "running");
  if (cw_wf_member (run->run, "startedAt") == NULL)
    json_object_set_int_member (run->run, "startedAt", cw_now_ms ());
  if (cw_wf_member (run->state, "startedAtClock") == NULL)
    json_object_set_int_member (run->state, "startedAtClock", cw_wf_now (run->plugin));
  if (json_object_get_size (walkers) == 0)
    {
      const gchar *from = cw_wf_str (run->run, "currentNodeId");
      if (from == NULL || cw_wf_defs_find_node (run->def, from) == NULL)
        from = start_node_id (run->def);
      add_walker (run, from, NULL, NULL);
      json_object_set_string_member (run->run, "currentNodeId", from);
    }
  json_object_set_string_member (payload, "workflowId", cw_wf_str (run->run, "workflowId"));
  json_object_set_int_member (payload, "workflowVersion",
                              cw_wf_int (run->run, "workflowVersion", 1));
  commit (run, NULL, "run_started", payload);
  run->plugin->runs_started++;
}

typedef struct
{
  CwWorkflowPlugin *plugin;
  gchar *run_id;
} Kick;

static gboolean
on_kick (gpointer data)
{
  Kick *k = data;
  CwWorkflowRun *run = g_hash_table_lookup (k->plugin->active, k->run_id);

  if (run != NULL && !k->plugin->stopping)
    {
      if (g_strcmp0 (run_status (run), "queued") == 0)
        begin (run);
      advance (run);
    }
  return G_SOURCE_REMOVE;
}

static void
kick_free (Kick *k)
{
  g_object_unref (k->plugin);
  g_free (k->run_id);
  g_free (k);
}

static void
kick (CwWorkflowRun *run)
{
  Kick *k = g_new0 (Kick, 1);

  k->plugin = g_object_ref (run->plugin);
  k->run_id = g_strdup (run->id);
  g_idle_add_full (G_PRIORITY_DEFAULT, on_kick, k, (GDestroyNotify) kick_free);
}

static const gchar *
trigger_type_of (JsonObject *params)
{
  const gchar *t = cw_wf_str (params, "triggerType");

  return t != NULL && *t != '\0' ? t : "manual";
}

JsonObject *
cw_wf_run_start (CwWorkflowPlugin *self, JsonObject *params, GError **error)
{
  const gchar *wf_id = cw_wf_str (params, "workflowId");
  g_autoptr (JsonObject) def = NULL;
  g_autoptr (JsonObject) validation = NULL;
  g_autoptr (JsonObject) model = NULL;
  g_autoptr (JsonObject) state = json_object_new ();
  JsonObject *input = cw_wf_obj (params, "input");
  JsonObject *tc = cw_wf_obj (params, "triggerContext");
  g_autofree gchar *id = cw_make_id ("run");
  CwWorkflowRun *run;
  gint64 now = cw_now_ms ();

  if (wf_id == NULL)
    {
      g_set_error_literal (error, CW_ERROR, CW_ERROR_INVALID_PARAMS, "workflowId is required");
      return NULL;
    }
  def = cw_wf_defs_resolve (self, wf_id, cw_wf_int (params, "version", 0));
  if (def == NULL)
    {
      g_set_error (error, CW_ERROR, CW_ERROR_NOT_FOUND, "Workflow not found: %s", wf_id);
      return NULL;
    }
  if (g_strcmp0 (cw_wf_str (def, "status"), "archived") == 0)
    {
      g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS,
                   "Workflow is archived and cannot be run: %s", wf_id);
      return NULL;
    }
  validation = cw_wf_defs_validate (def);
  if (!cw_wf_bool (validation, "valid", FALSE))
    {
      JsonArray *errors = cw_wf_arr (validation, "errors");
      GString *text = g_string_new (NULL);
      for (guint i = 0; i < json_array_get_length (errors); i++)
        g_string_append_printf (text, "%s%s", i > 0 ? " | " : "",
                                json_array_get_string_element (errors, i));
      g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS, "Workflow validation failed: %s",
                   text->str);
      g_string_free (text, TRUE);
      return NULL;
    }
  model = json_object_new ();
  json_object_set_string_member (model, "id", id);
  json_object_set_string_member (model, "workflowId", wf_id);
  json_object_set_int_member (model, "workflowVersion", cw_wf_int (def, "version", 1));
  json_object_set_string_member (model, "triggerType", trigger_type_of (params));
  json_object_set_object_member (model, "triggerContext",
                                 tc != NULL ? cw_wf_copy_object (tc) : json_object_new ());
  json_object_set_object_member (model, "input",
                                 input != NULL ? cw_wf_copy_object (input) : json_object_new ());
  json_object_set_string_member (model, "status", "queued");
  if (cw_wf_str (params, "correlationId") != NULL)
    json_object_set_string_member (model, "correlationId", cw_wf_str (params, "correlationId"));
  json_object_set_int_member (model, "createdAt", now);
  json_object_set_int_member (model, "updatedAt", now);
  run = run_new (self, model, state, def);
  if (!save_run (run, error))
    {
      run_free (run);
      return NULL;
    }
  g_hash_table_insert (self->active, g_strdup (id), run);
  {
    JsonObject *data = json_object_new ();
    json_object_set_string_member (data, "runId", id);
    json_object_set_string_member (data, "workflowId", wf_id);
    json_object_set_object_member (data, "run", cw_wf_copy_object (model));
    cw_wf_emit (self, "run_queued", data);
  }
  kick (run);
  return cw_wf_copy_object (model);
}

static CwWorkflowRun *
lookup_for_change (CwWorkflowPlugin *self, const gchar *run_id, JsonObject **model, GError **error)
{
  CwWorkflowRun *run;

  if (run_id == NULL)
    {
      g_set_error_literal (error, CW_ERROR, CW_ERROR_INVALID_PARAMS, "runId is required");
      return NULL;
    }
  run = g_hash_table_lookup (self->active, run_id);
  if (run != NULL)
    return run;
  *model = cw_wf_runs_get (self, run_id);
  if (*model == NULL)
    g_set_error (error, CW_ERROR, CW_ERROR_NOT_FOUND, "Workflow run not found: %s", run_id);
  else
    g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS, "Workflow run %s has already ended (%s)",
                 run_id, cw_wf_str (*model, "status"));
  return NULL;
}

JsonObject *
cw_wf_run_cancel (CwWorkflowPlugin *self, const gchar *run_id, GError **error)
{
  JsonObject *model = NULL;
  CwWorkflowRun *run = lookup_for_change (self, run_id, &model, error);
  JsonObject *result;

  g_clear_pointer (&model, json_object_unref);
  if (run == NULL)
    return NULL;
  result = json_object_ref (run->run);
  finish_run (run, "cancelled", "Cancelled by user", NULL);
  return result;
}

JsonObject *
cw_wf_run_pause (CwWorkflowPlugin *self, const gchar *run_id, GError **error)
{
  JsonObject *model = NULL;
  CwWorkflowRun *run = lookup_for_change (self, run_id, &model, error);
  g_autoptr (JsonObject) payload = json_object_new ();

  g_clear_pointer (&model, json_object_unref);
  if (run == NULL)
    return NULL;
  if (g_strcmp0 (run_status (run), "paused") == 0)
    return cw_wf_copy_object (run->run);
  set_status (run, "paused");
  json_object_set_int_member (run->state, "pausedAt", cw_wf_now (self));
  json_object_set_string_member (payload, "reason", "Paused by user");
  commit (run, NULL, "run_paused", payload);
  return cw_wf_copy_object (run->run);
}

static void
on_resume_answered (CwWorkflowRun *run, const gchar *wid, const gchar *actor)
{
  JsonObject *w = walker (run, wid);
  const gchar *interaction = cw_wf_str (w, "interactionId");
  CwInteractions *all
      = cw_context_get_interactions (cw_plugin_get_context (CW_PLUGIN (run->plugin)));
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) answer = NULL;

  if (interaction != NULL)
    {
      JsonObject *obj = json_object_new ();
      json_object_set_boolean_member (obj, "approved", TRUE);
      answer = json_node_init_object (json_node_alloc (), obj);
      json_object_unref (obj);
      /* the interaction's callback resumes the run */
      if (cw_interactions_respond (all, interaction, answer, actor, &error))
        return;
      g_debug ("run %s: answering %s: %s", run->id, interaction, error->message);
    }
  answer_approval (run, wid, TRUE, actor, NULL);
}

JsonObject *
cw_wf_run_resume (CwWorkflowPlugin *self, const gchar *run_id, const gchar *actor, GError **error)
{
  JsonObject *model = NULL;
  CwWorkflowRun *run = lookup_for_change (self, run_id, &model, error);
  const gchar *wid;
  g_autoptr (JsonObject) payload = json_object_new ();

  g_clear_pointer (&model, json_object_unref);
  if (run == NULL)
    return NULL;
  if (g_strcmp0 (run_status (run), "paused") != 0)
    {
      g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS, "Workflow run %s is not paused (%s)",
                   run_id, run_status (run));
      return NULL;
    }
  wid = walker_in (run, "approval", NULL, NULL);
  if (wid != NULL)
    {
      g_autofree gchar *copy = g_strdup (wid);
      on_resume_answered (run, copy, actor);
    }
  else
    {
      set_status (run, "running");
      json_object_remove_member (run->run, "error");
      end_pause (run);
      /* as in the original, resuming approves the node the run stopped at */
      if (cw_wf_str (run->run, "currentNodeId") != NULL
          && json_object_get_size (walkers_of (run)) == 0)
        record_approval (run, cw_wf_str (run->run, "currentNodeId"));
      if (cw_wf_str (run->run, "currentNodeId") != NULL)
        json_object_set_string_member (payload, "currentNodeId",
                                       cw_wf_str (run->run, "currentNodeId"));
      else
        json_object_set_null_member (payload, "currentNodeId");
      commit (run, NULL, "run_resumed", payload);
    }
  run = g_hash_table_lookup (self->active, run_id);
  if (run == NULL)
    return cw_wf_runs_get (self, run_id);
  /* waits that came due while paused end now */
  {
    const gchar *waiting;
    while ((waiting = walker_in (run, "waiting", NULL, NULL)) != NULL
           && cw_wf_bool (walker (run, waiting), "waitDone", FALSE))
      {
        g_autofree gchar *copy = g_strdup (waiting);
        json_object_remove_member (walker (run, copy), "waitDone");
        cw_wf_engine_wait_fired (self, run_id, copy);
        if ((run = g_hash_table_lookup (self->active, run_id)) == NULL)
          return cw_wf_runs_get (self, run_id);
      }
  }
  kick (run);
  return cw_wf_copy_object (run->run);
}

/* ---- restart ------------------------------------------------------------------------------- */

static void
recover_walker (CwWorkflowRun *run, const gchar *wid, gchar **failure)
{
  JsonObject *w = walker (run, wid);
  const gchar *status = cw_wf_str (w, "status");
  JsonObject *node = cw_wf_defs_find_node (run->def, cw_wf_str (w, "node"));

  if (g_strcmp0 (status, "running") == 0 && node != NULL)
    {
      Policy policy = policy_of (run, node);
      CwWfStep *step = step_new (run, wid, node);
      g_autoptr (JsonObject) nr = node_run_model (step, "failed");
      g_autoptr (JsonObject) payload = json_object_new ();
      const gchar *msg = "Interrupted: the daemon stopped while this node ran";
      gboolean retry = step->attempt < policy.max_attempts;

      json_object_set_string_member (nr, "error", msg);
      json_object_set_int_member (nr, "completedAt", cw_now_ms ());
      json_object_set_string_member (payload, "nodeId", cw_wf_str (node, "id"));
      json_object_set_int_member (payload, "attempt", step->attempt);
      json_object_set_string_member (payload, "error", msg);
      json_object_set_boolean_member (payload, "willRetry", retry);
      json_object_set_boolean_member (payload, "compensationApplied", FALSE);
      json_object_set_string_member (payload, "retryProfile", profile_of (run, node));
      if (retry)
        json_object_set_string_member (w, "status", "ready");
      else if (*failure == NULL)
        *failure = g_strdup_printf ("Recovered after restart; node %s was in progress and its "
                                    "retry policy allows no further attempt",
                                    cw_wf_str (node, "id"));
      commit (run, nr, "node_failed", payload);
      step_unref (step);
    }
  else if (g_strcmp0 (status, "waiting") == 0)
    {
      gint64 until = cw_wf_int (w, "waitUntil", 0);
      if (until > cw_wf_now (run->plugin))
        arm_wait (run, wid, until);
      else
        json_object_set_boolean_member (w, "waitDone", TRUE);
    }
  else if (g_strcmp0 (status, "child") == 0)
    {
      g_autoptr (JsonObject) child = cw_wf_runs_get (run->plugin, cw_wf_str (w, "childRunId"));
      if (child != NULL && is_terminal (cw_wf_str (child, "status")))
        json_object_set_boolean_member (w, "childDone", TRUE);
    }
}

/* What each node gave, from its latest node run that ended (the run row does not hold it
 * while the run goes on). */
static void
rebuild_outputs (CwWorkflowRun *run)
{
  g_autoptr (JsonArray) nrs = cw_wf_runs_node_runs (run->plugin, run->id);
  JsonObject *outputs = outputs_of (run);

  for (guint i = 0; i < json_array_get_length (nrs); i++)
    {
      JsonObject *nr = json_array_get_object_element (nrs, i);
      const gchar *node = cw_wf_str (nr, "nodeId");
      const gchar *status = cw_wf_str (nr, "status");
      if (node == NULL)
        continue;
      if (g_strcmp0 (status, "succeeded") == 0)
        json_object_set_object_member (outputs, node,
                                       cw_wf_obj (nr, "output") != NULL
                                           ? json_object_ref (cw_wf_obj (nr, "output"))
                                           : json_object_new ());
      else if (g_strcmp0 (status, "failed") == 0)
        {
          JsonObject *failed = json_object_new ();
          json_object_set_string_member (failed, "error",
                                         cw_wf_str (nr, "error") != NULL ? cw_wf_str (nr, "error")
                                                                         : "failed");
          json_object_set_boolean_member (failed, "failed", TRUE);
          json_object_set_object_member (outputs, node, failed);
        }
    }
}

gboolean
cw_wf_engine_recover (CwWorkflowPlugin *self, GError **error)
{
  g_autoptr (GPtrArray) rows = g_ptr_array_new_with_free_func (g_free);
  sqlite3_stmt *stmt
      = cw_wf_query (self,
                     "SELECT id FROM workflow_runs WHERE status IN ('queued', 'running', 'paused')"
                     " ORDER BY created_at, rowid",
                     error, NULL);

  if (stmt == NULL)
    return FALSE;
  while (sqlite3_step (stmt) == SQLITE_ROW)
    g_ptr_array_add (rows, g_strdup ((const gchar *) sqlite3_column_text (stmt, 0)));
  sqlite3_reset (stmt);
  for (guint i = 0; i < rows->len; i++)
    {
      const gchar *id = g_ptr_array_index (rows, i);
      g_autoptr (JsonObject) model = NULL;
      g_autoptr (JsonObject) state = NULL;
      g_autoptr (JsonObject) def = NULL;
      g_autofree gchar *failure = NULL;
      CwWorkflowRun *run;
      g_autoptr (GList) wids = NULL;

      if (!load_row (self, id, &model, &state))
        continue;
      def = cw_wf_defs_get (self, cw_wf_str (model, "workflowId"),
                            cw_wf_int (model, "workflowVersion", 1), FALSE);
      if (def == NULL)
        def = json_object_new ();
      run = run_new (self, model, state, def);
      g_hash_table_insert (self->active, g_strdup (id), run);
      rebuild_outputs (run);
      if (cw_wf_arr (def, "nodes") == NULL)
        {
          finish_run (run, "failed_recoverable",
                      "Recovered after restart; the run's workflow version is missing", NULL);
          continue;
        }
      wids = json_object_get_members (walkers_of (run));
      for (GList *l = wids; l != NULL; l = l->next)
        recover_walker (run, l->data, &failure);
      if (failure != NULL)
        {
          finish_run (run, "failed_recoverable", failure, cw_wf_str (model, "currentNodeId"));
          continue;
        }
      if (g_strcmp0 (run_status (run), "running") == 0)
        {
          g_autoptr (JsonObject) payload = json_object_new ();
          json_object_set_string_member (payload, "workflowId", cw_wf_str (model, "workflowId"));
          json_object_set_int_member (payload, "workflowVersion",
                                      cw_wf_int (model, "workflowVersion", 1));
          json_object_set_string_member (payload, "reason", "deterministic_resume_checkpoint");
          commit (run, NULL, "run_started", payload);
        }
      kick (run);
    }
  return TRUE;
}

/* After recovery: waits that came due while the daemon was down, children that ended. */
void
cw_wf_engine_settle (CwWorkflowPlugin *self)
{
  g_autoptr (GList) runs = g_hash_table_get_keys (self->active);
  g_autoptr (GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);

  for (GList *l = runs; l != NULL; l = l->next)
    g_ptr_array_add (ids, g_strdup (l->data));
  for (guint i = 0; i < ids->len; i++)
    {
      const gchar *id = g_ptr_array_index (ids, i);
      CwWorkflowRun *run = g_hash_table_lookup (self->active, id);
      g_autoptr (GList) wids = NULL;
      if (run == NULL || g_strcmp0 (run_status (run), "running") != 0)
        continue;
      wids = json_object_get_members (walkers_of (run));
      for (GList *l = wids; l != NULL; l = l->next)
        {
          JsonObject *w;
          if ((run = g_hash_table_lookup (self->active, id)) == NULL)
            break;
          w = walker (run, l->data);
          if (w != NULL && cw_wf_bool (w, "waitDone", FALSE))
            {
              json_object_remove_member (w, "waitDone");
              cw_wf_engine_wait_fired (self, id, l->data);
            }
          else if (w != NULL && cw_wf_bool (w, "childDone", FALSE))
            {
              g_autoptr (JsonObject) child = cw_wf_runs_get (self, cw_wf_str (w, "childRunId"));
              json_object_remove_member (w, "childDone");
              if (child != NULL)
                cw_wf_engine_child_finished (self, child);
            }
        }
    }
}

void
cw_wf_engine_stop (CwWorkflowPlugin *self)
{
  /* Nothing changes state: runs in flight resume at the next start. */
  g_hash_table_remove_all (self->active);
}

void
cw_wf_run_free (CwWorkflowRun *run)
{
  run_free (run);
}
