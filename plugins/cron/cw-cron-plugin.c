/* cw-cron-plugin.c: the cron plugin: scheduled agent prompts (contract §1).
 *
 * Jobs live in memory (in insertion order) and in cron_jobs; each active job is a job of the
 * daemon's scheduler under its own id, registered again at every start so that instants
 * missed while the daemon was down follow the job's missed-run policy. Runs are in
 * cw-cron-run.c, the ledger and the bookkeeping around them in cw-cron-fire.c.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-cron-plugin.h"

#include "cw-cron-fire.h"
#include "cw-cron-job.h"
#include "cw-cron-run.h"
#include "cw-cron-store.h"

G_DEFINE_FINAL_TYPE (CwCronPlugin, cw_cron_plugin, CW_TYPE_PLUGIN)

#define DEFAULT_AUTO_PAUSE_AFTER 5

/* ---- jobs ------------------------------------------------------------------------------ */

JsonObject *
cw_cron_plugin_lookup_job (CwCronPlugin *self, const gchar *id)
{
  return id != NULL ? g_hash_table_lookup (self->jobs, id) : NULL;
}

static gint64
position_of (CwCronPlugin *self, JsonObject *job)
{
  return cw_cron_job_get_int (job, "__position", 0);
}

static void
emit_job (CwCronPlugin *self, const gchar *event, JsonObject *job)
{
  JsonObject *data = json_object_new ();

  json_object_set_string_member (data, "jobId", cw_cron_job_get_string (job, "id"));
  json_object_set_object_member (data, "job", cw_cron_plugin_job_view (self, job));
  cw_plugin_emit (CW_PLUGIN (self), event, NULL, data);
}

typedef struct
{
  gchar *text;
  gint64 next_run_at; /* the nextRunAt in text, -1 for none */
} CwCronView;

static void
view_free (CwCronView *view)
{
  g_free (view->text);
  g_free (view);
}

static gint64
next_member (JsonObject *job)
{
  return cw_cron_job_get_int (job, "nextRunAt", -1);
}

static void
cache_view (CwCronPlugin *self, JsonObject *job, JsonObject *view)
{
  CwCronView *cached = g_new0 (CwCronView, 1);
  GString *text = g_string_new (NULL);

  cw_json_append_object (text, view);
  cached->text = g_string_free (text, FALSE);
  cached->next_run_at = next_member (view);
  g_hash_table_insert (self->views, g_strdup (cw_cron_job_get_string (job, "id")), cached);
}

gboolean
cw_cron_plugin_save_job (CwCronPlugin *self, JsonObject *job, const gchar *event, GError **error)
{
  g_autoptr (JsonObject) stored = cw_cron_plugin_job_view (self, job);

  if (!cw_cron_store_save_job (self->store, stored, position_of (self, job), error))
    return FALSE;
  cache_view (self, job, stored);
  if (event != NULL)
    emit_job (self, event, job);
  return TRUE;
}

gboolean
cw_cron_plugin_add_job (CwCronPlugin *self, JsonObject *job, GError **error)
{
  const gchar *id = cw_cron_job_get_string (job, "id");

  if (g_hash_table_contains (self->jobs, id))
    {
      g_set_error (error, CW_ERROR, CW_ERROR_EXISTS, "Job already exists: %s", id);
      return FALSE;
    }
  json_object_set_int_member (job, "__position", ++self->next_position);
  if (!cw_cron_plugin_save_job (self, job, NULL, error))
    return FALSE;
  g_hash_table_insert (self->jobs, g_strdup (id), json_object_ref (job));
  g_ptr_array_add (self->order, g_strdup (id));
  return TRUE;
}

gboolean
cw_cron_plugin_delete_job (CwCronPlugin *self, const gchar *job_id, GError **error)
{
  /* @job_id may point into the job, which goes below */
  g_autofree gchar *id = g_strdup (job_id);
  JsonObject *data;

  if (!g_hash_table_contains (self->jobs, id))
    {
      g_set_error (error, CW_ERROR, CW_ERROR_NOT_FOUND, "Job not found: %s", id);
      return FALSE;
    }
  if (!cw_cron_store_delete_job (self->store, id, error))
    return FALSE;
  cw_plugin_schedule_remove (CW_PLUGIN (self), id, NULL);
  g_hash_table_remove (self->queued, id);
  g_hash_table_remove (self->views, id);
  g_hash_table_remove (self->jobs, id);
  for (guint i = 0; i < self->order->len; i++)
    if (g_str_equal (g_ptr_array_index (self->order, i), id))
      {
        g_ptr_array_remove_index (self->order, i);
        break;
      }
  data = json_object_new ();
  json_object_set_string_member (data, "jobId", id);
  cw_plugin_emit (CW_PLUGIN (self), "cron:job_deleted", NULL, data);
  return TRUE;
}

static gboolean
is_active (JsonObject *job)
{
  return g_strcmp0 (cw_cron_job_get_string (job, "status"), "active") == 0;
}

/* A one-shot whose instant is past when it is armed: it runs once now (missed-run policy
 * once or all) or is recorded missed (skip); an instant that has its run already is done. */
static void
arm_past_one_shot (CwCronPlugin *self, JsonObject *job)
{
  JsonObject *schedule = json_node_get_object (json_object_get_member (job, "schedule"));
  gint64 at = cw_cron_job_get_int (schedule, "timestamp", 0);
  const gchar *id = cw_cron_job_get_string (job, "id");

  cw_plugin_schedule_remove (CW_PLUGIN (self), id, NULL);
  json_object_remove_member (job, "nextRunAt");
  if (cw_cron_store_has_instant (self->store, id, at))
    json_object_set_string_member (job, "status", "completed");
  else if (cw_cron_job_get_missed_policy (job) == CW_MISSED_POLICY_SKIP)
    cw_cron_fire_record_missed (self, job, at,
                                "The time of this one-shot job had passed (missed-run policy "
                                "skip)");
  else
    cw_cron_fire_instant (self, job, at);
}

gboolean
cw_cron_plugin_arm_job (CwCronPlugin *self, JsonObject *job, gboolean fresh, GError **error)
{
  const gchar *id = cw_cron_job_get_string (job, "id");
  g_autoptr (CwSchedule) schedule = NULL;
  gint64 next;

  if (fresh || !is_active (job))
    cw_plugin_schedule_remove (CW_PLUGIN (self), id, NULL);
  if (!is_active (job))
    return TRUE;
  schedule = cw_cron_job_get_schedule (job, error);
  if (schedule == NULL
      || !cw_plugin_schedule_add (CW_PLUGIN (self), id, schedule,
                                  cw_cron_job_get_missed_policy (job), cw_cron_fire, NULL, NULL,
                                  error))
    return FALSE;
  next = cw_plugin_schedule_get_next (CW_PLUGIN (self), id);
  if (next != CW_SCHEDULE_NEVER)
    json_object_set_int_member (job, "nextRunAt", next);
  else if (cw_cron_job_is_one_shot (job))
    arm_past_one_shot (self, job);
  else
    {
      json_object_remove_member (job, "nextRunAt");
      json_object_set_string_member (job, "status", "completed");
    }
  return TRUE;
}

JsonObject *
cw_cron_plugin_job_view (CwCronPlugin *self, JsonObject *job)
{
  JsonObject *view = json_object_new ();
  GList *members;

  if (is_active (job) && self->started)
    {
      gint64 next
          = cw_plugin_schedule_get_next (CW_PLUGIN (self), cw_cron_job_get_string (job, "id"));
      if (next != CW_SCHEDULE_NEVER)
        json_object_set_int_member (job, "nextRunAt", next);
    }
  members = json_object_get_members (job);
  for (GList *l = members; l != NULL; l = l->next)
    if (!g_str_has_prefix (l->data, "__"))
      json_object_set_member (view, l->data,
                              json_node_copy (json_object_get_member (job, l->data)));
  g_list_free (members);
  return view;
}

void
cw_cron_plugin_append_job (CwCronPlugin *self, JsonObject *job, GString *out)
{
  CwCronView *cached = g_hash_table_lookup (self->views, cw_cron_job_get_string (job, "id"));
  gint64 next = next_member (job);
  g_autoptr (JsonObject) view = NULL;

  if (is_active (job) && self->started)
    {
      gint64 scheduled
          = cw_plugin_schedule_get_next (CW_PLUGIN (self), cw_cron_job_get_string (job, "id"));
      if (scheduled != CW_SCHEDULE_NEVER)
        next = scheduled;
    }
  /* Every change of a job is stored (and cached) but the next run, which moves with the
   * scheduler: the text is good while that is the same. */
  if (cached != NULL && cached->next_run_at == next)
    {
      g_string_append (out, cached->text);
      return;
    }
  view = cw_cron_plugin_job_view (self, job);
  cache_view (self, job, view);
  cw_json_append_object (out, view);
}

/* A member of @job as JSON text, null when absent. */
static void
append_member (GString *out, JsonObject *job, const gchar *name)
{
  JsonNode *node = json_object_get_member (job, name);
  GType type = node != NULL && JSON_NODE_HOLDS_VALUE (node) ? json_node_get_value_type (node)
                                                            : G_TYPE_INVALID;

  g_string_append_c (out, '"');
  g_string_append (out, name);
  g_string_append (out, "\":");
  if (type == G_TYPE_STRING)
    cw_json_append_string (out, json_node_get_string (node));
  else if (type == G_TYPE_INT64)
    g_string_append_printf (out, "%" G_GINT64_FORMAT, json_node_get_int (node));
  else if (type == G_TYPE_DOUBLE)
    {
      gchar buf[G_ASCII_DTOSTR_BUF_SIZE];
      g_string_append (out, g_ascii_dtostr (buf, sizeof buf, json_node_get_double (node)));
    }
  else if (type == G_TYPE_BOOLEAN)
    g_string_append (out, json_node_get_boolean (node) ? "true" : "false");
  else
    g_string_append (out, "null");
}

/* One job as the status shows it: what a reopened app needs to show it. */
static void
append_job_status (CwCronPlugin *self, GString *out, JsonObject *job, gint64 next)
{
  static const gchar *const members[]
      = { "id",         "name",      "status",    "lastRunAt",    "lastStatus",
          "lastResult", "lastRunId", "lastError", "pausedReason", "consecutiveFailures",
          "runCount",   NULL };

  g_string_append_c (out, '{');
  for (guint i = 0; members[i] != NULL; i++)
    {
      append_member (out, job, members[i]);
      g_string_append_c (out, ',');
    }
  if (next != CW_SCHEDULE_NEVER)
    g_string_append_printf (out, "\"nextRunAt\":%" G_GINT64_FORMAT, next);
  else
    g_string_append (out, "\"nextRunAt\":null");
  g_string_append_printf (
      out, ",\"running\":%s}",
      g_hash_table_contains (self->running, cw_cron_job_get_string (job, "id")) ? "true" : "false");
}

void
cw_cron_plugin_append_status (CwCronPlugin *self, GString *out, gboolean with_jobs)
{
  gint64 active = 0, next = CW_SCHEDULE_NEVER;
  const gchar *next_id = NULL;
  GHashTableIter iter;
  gpointer key;
  gboolean first = TRUE;

  if (with_jobs)
    g_string_append (out, "{\"jobs\":[");
  for (guint i = 0; i < self->order->len; i++)
    {
      const gchar *id = g_ptr_array_index (self->order, i);
      JsonObject *job = g_hash_table_lookup (self->jobs, id);
      gint64 at;
      if (job == NULL)
        continue;
      at = is_active (job) && self->started ? cw_plugin_schedule_get_next (CW_PLUGIN (self), id)
                                            : CW_SCHEDULE_NEVER;
      if (with_jobs)
        {
          if (!first)
            g_string_append_c (out, ',');
          first = FALSE;
          append_job_status (self, out, job, at);
        }
      if (!is_active (job))
        continue;
      active++;
      if (at != CW_SCHEDULE_NEVER && (next == CW_SCHEDULE_NEVER || at < next))
        {
          next = at;
          next_id = id;
        }
    }
  g_string_append (out, with_jobs ? "]," : "{");
  g_string_append_printf (
      out, "\"isRunning\":%s,\"jobCount\":%u,\"activeJobCount\":%" G_GINT64_FORMAT ",",
      self->started && !self->stopping ? "true" : "false", self->order->len, active);
  if (next != CW_SCHEDULE_NEVER)
    {
      g_string_append_printf (out, "\"nextRunAt\":%" G_GINT64_FORMAT ",\"nextJobId\":", next);
      cw_json_append_string (out, next_id);
    }
  else
    g_string_append (out, "\"nextRunAt\":null,\"nextJobId\":null");
  g_string_append (out, ",\"runningJobIds\":[");
  first = TRUE;
  g_hash_table_iter_init (&iter, self->running);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    {
      if (!first)
        g_string_append_c (out, ',');
      first = FALSE;
      cw_json_append_string (out, key);
    }
  g_string_append (out, "]}");
}

/* The `cron` member of agent_get_bootstrap_state: the same as cron_get_status. */
static void
append_bootstrap (GString *out, gpointer user_data)
{
  cw_cron_plugin_append_status (CW_CRON_PLUGIN (user_data), out, TRUE);
}

/* ---- the agent's events ------------------------------------------------------------------ */

static void
on_agent_event (CwEventConsumer *consumer, CwEvent *event, gpointer user_data)
{
  cw_cron_run_handle_event (CW_CRON_PLUGIN (user_data), event);
  cw_event_consumer_ack (consumer, cw_event_get_seq (event));
}

/* ---- life cycle ----------------------------------------------------------------------------- */

static gboolean
load_jobs (CwCronPlugin *self, GError **error)
{
  g_autoptr (GPtrArray) jobs = cw_cron_store_load_jobs (self->store, &self->next_position, error);

  if (jobs == NULL)
    return FALSE;
  for (guint i = 0; i < jobs->len; i++)
    {
      JsonObject *job = g_ptr_array_index (jobs, i);
      const gchar *id = cw_cron_job_get_string (job, "id");
      if (g_hash_table_contains (self->jobs, id))
        continue;
      json_object_set_int_member (job, "__position", i + 1);
      g_hash_table_insert (self->jobs, g_strdup (id), json_object_ref (job));
      g_ptr_array_add (self->order, g_strdup (id));
    }
  self->next_position = MAX (self->next_position, (gint64) jobs->len);
  return TRUE;
}

static gboolean
cw_cron_plugin_load (CwPlugin *plugin, GError **error)
{
  CwCronPlugin *self = CW_CRON_PLUGIN (plugin);
  CwContext *context = cw_plugin_get_context (plugin);
  CwConfig *config = cw_context_get_config (context);

  self->store = cw_context_get_store (context);
  self->default_timeout_ms
      = CLAMP (cw_config_get_int (config, "cron", "run-timeout-ms", CW_CRON_DEFAULT_TIMEOUT_MS),
               1000, 24 * 3600 * 1000);
  self->auto_pause_after
      = MAX (0, cw_config_get_int (config, "cron", "auto-pause-after", DEFAULT_AUTO_PAUSE_AFTER));
  cw_plugin_add_start_after (plugin, "agent");
  return cw_cron_schema_migrate (self, error) && load_jobs (self, error)
         && cw_cron_commands_register (self, error);
}

static gboolean
cw_cron_plugin_start (CwPlugin *plugin, GError **error)
{
  CwCronPlugin *self = CW_CRON_PLUGIN (plugin);
  static const gchar *const prefixes[]
      = { "stream:done",       "error", "permission:request", "permission:resolved", "question:ask",
          "question:answered", NULL };

  if (cw_plugin_add_event_consumer (plugin, "runs", prefixes, on_agent_event, NULL, self, NULL,
                                    error)
      == NULL)
    return FALSE;
  self->started = TRUE;
  if (!cw_plugin_add_bootstrap_member (plugin, "cron", append_bootstrap, self, error)
      || !cw_cron_fire_recover (self, error))
    return FALSE;
  for (guint i = 0; i < self->order->len; i++)
    {
      JsonObject *job = g_hash_table_lookup (self->jobs, g_ptr_array_index (self->order, i));
      g_autoptr (GError) local = NULL;

      if (job == NULL || !is_active (job))
        continue;
      /* Same schedule as stored: the scheduler goes on where it was. */
      if (!cw_cron_plugin_arm_job (self, job, FALSE, &local))
        {
          g_warning ("job %s cannot be scheduled: %s", cw_cron_job_get_string (job, "id"),
                     local->message);
          json_object_set_string_member (job, "status", "failed");
          json_object_set_string_member (job, "lastError", local->message);
        }
      cw_cron_plugin_save_job (self, job, NULL, NULL);
    }
  return TRUE;
}

static void
cw_cron_plugin_stop (CwPlugin *plugin)
{
  CwCronPlugin *self = CW_CRON_PLUGIN (plugin);

  self->stopping = TRUE;
  cw_cron_run_interrupt_all (self, "The daemon stopped during the run; it is not run again");
}

static JsonObject *
cw_cron_plugin_get_health (CwPlugin *plugin)
{
  CwCronPlugin *self = CW_CRON_PLUGIN (plugin);
  g_autoptr (GString) text = g_string_new (NULL);
  g_autoptr (JsonNode) node = NULL;
  JsonObject *health;

  /* the counters of the status, without the jobs: health stays small */
  cw_cron_plugin_append_status (self, text, FALSE);
  node = cw_json_from_string (text->str, text->len, NULL);
  health = json_object_ref (json_node_get_object (node));

  json_object_set_int_member (health, "runsStarted", (gint64) self->runs_started);
  return health;
}

static void
cw_cron_plugin_finalize (GObject *object)
{
  CwCronPlugin *self = CW_CRON_PLUGIN (object);

  g_hash_table_unref (self->by_session);
  g_hash_table_unref (self->running);
  g_hash_table_unref (self->queued);
  g_hash_table_unref (self->views);
  g_hash_table_unref (self->jobs);
  g_ptr_array_unref (self->order);
  G_OBJECT_CLASS (cw_cron_plugin_parent_class)->finalize (object);
}

static void
cw_cron_plugin_class_init (CwCronPluginClass *klass)
{
  CwPluginClass *plugin_class = CW_PLUGIN_CLASS (klass);

  G_OBJECT_CLASS (klass)->finalize = cw_cron_plugin_finalize;
  plugin_class->load = cw_cron_plugin_load;
  plugin_class->start = cw_cron_plugin_start;
  plugin_class->stop = cw_cron_plugin_stop;
  plugin_class->get_health = cw_cron_plugin_get_health;
}

static void
cw_cron_plugin_init (CwCronPlugin *self)
{
  self->jobs
      = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) json_object_unref);
  self->order = g_ptr_array_new_with_free_func (g_free);
  self->running
      = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) cw_cron_run_free);
  self->by_session
      = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) cw_cron_run_free);
  self->queued
      = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_ptr_array_unref);
  self->views = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) view_free);
}

CW_PLUGIN_EXPORT (cw_cron_plugin_get_type)
