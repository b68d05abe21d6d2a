/* cw-cron-fire.c: a job's instants, exactly once.
 *
 * Every instant the scheduler delivers is keyed by (job, instant) in the run ledger
 * (cron_runs) before anything runs, so an instant delivered again (the scheduler delivers
 * at least once), a re-arm during a run or a restart never runs it twice. A job runs one run
 * at a time: an instant that comes while the job runs waits behind it as a ledger row
 * (`queued`), as many as the job's missed-run policy allows (skip: none, once: the newest,
 * all: up to CW_MISSED_POLICY_ALL_MAX); the others are recorded `missed`. A manual trigger
 * while the job runs gets that run's result.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-cron-fire.h"

#include "cw-cron-job.h"
#include "cw-cron-run.h"
#include "cw-cron-store.h"

#include <string.h>

#define INTERRUPTED_ERROR "The daemon stopped during the run; it is not run again"
#define WAITING_ERROR     "The daemon stopped while this instant waited for the job's previous run"

static void
emit_run (CwCronPlugin *self, const gchar *type, const gchar *job_id, JsonObject *run)
{
  JsonObject *data = json_object_new ();

  json_object_set_string_member (data, "jobId", job_id);
  json_object_set_object_member (data, "run", json_object_ref (run));
  cw_plugin_emit (CW_PLUGIN (self), type, NULL, data);
}

static void
save_job (CwCronPlugin *self, JsonObject *job)
{
  g_autoptr (GError) error = NULL;

  if (!cw_cron_plugin_save_job (self, job, "cron:job_updated", &error))
    g_warning ("job %s: %s", cw_cron_job_get_string (job, "id"), error->message);
}

static void
unschedule (CwCronPlugin *self, JsonObject *job)
{
  cw_plugin_schedule_remove (CW_PLUGIN (self), cw_cron_job_get_string (job, "id"), NULL);
  json_object_remove_member (job, "nextRunAt");
}

static JsonObject *
new_row (JsonObject *job, gint64 scheduled_ms)
{
  g_autofree gchar *id = cw_make_id ("run");
  JsonObject *run = json_object_new ();

  json_object_set_string_member (run, "id", id);
  json_object_set_string_member (run, "jobId", cw_cron_job_get_string (job, "id"));
  json_object_set_string_member (run, "sessionId", "");
  json_object_set_int_member (run, "startedAt", cw_now_ms ());
  json_object_set_int_member (run, "scheduledAt", scheduled_ms);
  return run;
}

/* A one-shot whose instant is over (run, missed or interrupted) is done for good. */
static void
finish_one_shot (CwCronPlugin *self, JsonObject *job, const gchar *status)
{
  json_object_set_string_member (job, "status", status);
  unschedule (self, job);
}

/* The outcome of the job's newest ended run, for the status views. */
static void
note_last_run (JsonObject *job, JsonObject *run)
{
  json_object_set_string_member (job, "lastRunId", cw_cron_job_get_string (run, "id"));
  json_object_set_string_member (job, "lastResult", cw_cron_job_get_string (run, "result"));
}

static void
close_missed (CwCronPlugin *self, JsonObject *run, const gchar *why)
{
  g_autoptr (GError) error = NULL;

  json_object_remove_member (run, "queued");
  json_object_set_string_member (run, "result", "missed");
  json_object_set_string_member (run, "error", why);
  json_object_set_int_member (run, "completedAt", cw_now_ms ());
  if (!cw_cron_store_update_run (self->store, run, &error))
    g_warning ("run %s: %s", cw_cron_job_get_string (run, "id"), error->message);
  emit_run (self, "cron:run_completed", cw_cron_job_get_string (run, "jobId"), run);
}

void
cw_cron_fire_record_missed (CwCronPlugin *self, JsonObject *job, gint64 scheduled_ms,
                            const gchar *why)
{
  g_autoptr (JsonObject) run = new_row (job, scheduled_ms);
  g_autoptr (GError) error = NULL;
  gboolean duplicate;

  json_object_set_string_member (run, "result", "missed");
  json_object_set_string_member (run, "error", why);
  json_object_set_int_member (run, "completedAt", cw_now_ms ());
  if (!cw_cron_store_insert_run (self->store, run, &duplicate, &error))
    {
      if (!duplicate)
        g_warning ("job %s: %s", cw_cron_job_get_string (job, "id"), error->message);
      return;
    }
  emit_run (self, "cron:run_completed", cw_cron_job_get_string (job, "id"), run);
  note_last_run (job, run);
  if (cw_cron_job_is_one_shot (job))
    {
      json_object_set_string_member (job, "lastStatus", "skipped");
      json_object_set_string_member (job, "lastError", why);
      finish_one_shot (self, job, "completed");
    }
  save_job (self, job);
}

static GPtrArray *
queue_of (CwCronPlugin *self, const gchar *job_id, gboolean create)
{
  GPtrArray *queue = g_hash_table_lookup (self->queued, job_id);

  if (queue == NULL && create)
    {
      queue = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
      g_hash_table_insert (self->queued, g_strdup (job_id), queue);
    }
  return queue;
}

/* The instant waits as a ledger row for the job's running run. */
static void
enqueue (CwCronPlugin *self, JsonObject *job, gint64 scheduled_ms)
{
  const gchar *job_id = cw_cron_job_get_string (job, "id");
  CwMissedPolicy policy = cw_cron_job_get_missed_policy (job);
  guint keep = policy == CW_MISSED_POLICY_SKIP   ? 0
               : policy == CW_MISSED_POLICY_ONCE ? 1
                                                 : CW_MISSED_POLICY_ALL_MAX;
  GPtrArray *queue;
  g_autoptr (JsonObject) run = NULL;
  g_autoptr (GError) error = NULL;
  gboolean duplicate;

  if (keep == 0)
    {
      cw_cron_fire_record_missed (self, job, scheduled_ms,
                                  "The job's previous run was still going (missed-run policy "
                                  "skip)");
      return;
    }
  run = new_row (job, scheduled_ms);
  json_object_set_boolean_member (run, "queued", TRUE);
  if (!cw_cron_store_insert_run (self->store, run, &duplicate, &error))
    {
      if (!duplicate)
        g_warning ("job %s: %s", job_id, error->message);
      return;
    }
  queue = queue_of (self, job_id, TRUE);
  g_ptr_array_add (queue, g_steal_pointer (&run));
  while (queue->len > keep)
    {
      JsonObject *oldest = g_ptr_array_steal_index (queue, 0);
      close_missed (self, oldest,
                    "A newer instant of the job replaced it while the previous run was going");
      json_object_unref (oldest);
    }
}

static void
start (CwCronPlugin *self, JsonObject *job, JsonObject *ledger, gint64 scheduled_ms)
{
  g_autoptr (GError) error = NULL;

  if (cw_cron_run_start (self, job, ledger, scheduled_ms, &error) == NULL
      && !g_error_matches (error, CW_ERROR, CW_ERROR_EXISTS))
    g_warning ("job %s: the run for %" G_GINT64_FORMAT " could not start: %s",
               cw_cron_job_get_string (job, "id"), scheduled_ms, error->message);
}

void
cw_cron_fire_instant (CwCronPlugin *self, JsonObject *job, gint64 scheduled_ms)
{
  const gchar *job_id = cw_cron_job_get_string (job, "id");

  if (cw_cron_store_has_instant (self->store, job_id, scheduled_ms))
    return; /* delivered again: that instant has its run */
  if (g_hash_table_contains (self->running, job_id))
    enqueue (self, job, scheduled_ms);
  else
    start (self, job, NULL, scheduled_ms);
}

void
cw_cron_fire (CwPlugin *plugin, const gchar *job_id, gint64 scheduled_ms, CwScheduleFireFlags flags,
              gpointer user_data)
{
  CwCronPlugin *self = CW_CRON_PLUGIN (plugin);
  JsonObject *job = cw_cron_plugin_lookup_job (self, job_id);

  if (job == NULL || self->stopping
      || g_strcmp0 (cw_cron_job_get_string (job, "status"), "active") != 0)
    return;
  if (flags & CW_SCHEDULE_FIRE_SKIPPED)
    {
      g_autofree gchar *why = g_strdup_printf (
          "The scheduled time passed while the daemon was not running or the machine slept "
          "(missed-run policy %s)",
          cw_missed_policy_to_string (cw_cron_job_get_missed_policy (job)));
      cw_cron_fire_record_missed (self, job, scheduled_ms, why);
    }
  else
    cw_cron_fire_instant (self, job, scheduled_ms);
  if (cw_cron_plugin_lookup_job (self, job_id) == job
      && g_strcmp0 (cw_cron_job_get_string (job, "status"), "active") == 0)
    {
      gint64 next = cw_plugin_schedule_get_next (plugin, job_id);
      if (next != CW_SCHEDULE_NEVER)
        json_object_set_int_member (job, "nextRunAt", next);
    }
}

void
cw_cron_fire_drop_queued (CwCronPlugin *self, const gchar *job_id, const gchar *why)
{
  GPtrArray *queue = queue_of (self, job_id, FALSE);

  for (guint i = 0; queue != NULL && i < queue->len; i++)
    close_missed (self, g_ptr_array_index (queue, i), why);
  g_hash_table_remove (self->queued, job_id);
}

static void
count_failure (CwCronPlugin *self, JsonObject *job, gboolean success, const gchar *error)
{
  gint64 streak = success ? 0 : cw_cron_job_get_int (job, "consecutiveFailures", 0) + 1;
  g_autofree gchar *reason = NULL;

  json_object_set_int_member (job, "consecutiveFailures", streak);
  if (success || self->auto_pause_after <= 0 || streak < self->auto_pause_after
      || g_strcmp0 (cw_cron_job_get_string (job, "status"), "active") != 0)
    return;
  reason = g_strdup_printf ("Paused after %" G_GINT64_FORMAT " failed runs in a row; the last "
                            "one: %s",
                            streak, error != NULL ? error : "unknown error");
  json_object_set_string_member (job, "status", "paused");
  json_object_set_string_member (job, "pausedReason", reason);
  cw_plugin_schedule_remove (CW_PLUGIN (self), cw_cron_job_get_string (job, "id"), NULL);
  g_message ("job %s: %s", cw_cron_job_get_string (job, "id"), reason);
}

/* The contract's rules after a run (§1.3); a manual trigger changes the counters only. */
static gboolean
account (CwCronPlugin *self, JsonObject *job, JsonObject *run, gboolean manual)
{
  const gchar *result = cw_cron_job_get_string (run, "result");
  const gchar *error = cw_cron_job_get_string (run, "error");
  gboolean success = g_strcmp0 (result, "success") == 0;
  gint64 runs = cw_cron_job_get_int (job, "runCount", 0) + 1;
  gint64 max_runs = cw_cron_job_get_int (job, "maxRuns", 0);

  note_last_run (job, run);
  json_object_set_int_member (job, "lastRunAt", cw_cron_job_get_int (run, "startedAt", 0));
  json_object_set_string_member (job, "lastStatus", success ? "ok" : "error");
  if (error != NULL && !success)
    json_object_set_string_member (job, "lastError", error);
  else
    json_object_remove_member (job, "lastError");
  json_object_set_int_member (job, "lastDurationMs", cw_cron_job_get_int (run, "durationMs", 0));
  json_object_set_int_member (job, "runCount", runs);
  json_object_set_int_member (job, "updatedAt", cw_now_ms ());
  if (manual)
    return FALSE;
  count_failure (self, job, success, error);
  if (cw_cron_job_is_one_shot (job))
    finish_one_shot (self, job, success ? "completed" : "failed");
  else if (max_runs > 0 && runs >= max_runs)
    finish_one_shot (self, job, "completed");
  return success && json_object_get_boolean_member_with_default (job, "deleteAfterRun", FALSE);
}

void
cw_cron_fire_run_finished (CwCronPlugin *self, const gchar *job_id, JsonObject *run,
                           gboolean manual)
{
  JsonObject *job = cw_cron_plugin_lookup_job (self, job_id);
  g_autoptr (GError) error = NULL;

  emit_run (self, "cron:run_completed", job_id, run);
  if (job == NULL)
    return;
  if (account (self, job, run, manual))
    {
      /* The job goes with its history; nothing is written for it afterwards. */
      if (!cw_cron_plugin_delete_job (self, job_id, &error))
        g_warning ("job %s: %s", job_id, error->message);
      return;
    }
  if (g_strcmp0 (cw_cron_job_get_string (job, "status"), "active") == 0)
    {
      gint64 next = cw_plugin_schedule_get_next (CW_PLUGIN (self), job_id);
      if (next != CW_SCHEDULE_NEVER)
        json_object_set_int_member (job, "nextRunAt", next);
    }
  save_job (self, job);
  if (self->stopping)
    return;
  if (g_strcmp0 (cw_cron_job_get_string (job, "status"), "active") != 0)
    {
      cw_cron_fire_drop_queued (self, job_id, "The job stopped before this instant could run");
      return;
    }
  cw_cron_fire_start_queued (self, job_id);
}

void
cw_cron_fire_start_queued (CwCronPlugin *self, const gchar *job_id)
{
  JsonObject *job = cw_cron_plugin_lookup_job (self, job_id);
  GPtrArray *queue = queue_of (self, job_id, FALSE);
  g_autoptr (JsonObject) next = NULL;

  if (job == NULL || queue == NULL || queue->len == 0 || self->stopping
      || g_hash_table_contains (self->running, job_id))
    return;
  next = g_ptr_array_steal_index (queue, 0);
  if (queue->len == 0)
    g_hash_table_remove (self->queued, job_id);
  start (self, job, next, cw_cron_job_get_int (next, "scheduledAt", 0));
}

/* ---- retries ------------------------------------------------------------------------- */

static void
on_retry_fire (CwPlugin *plugin, const gchar *sched_id, gint64 scheduled_ms,
               CwScheduleFireFlags flags, gpointer user_data)
{
  CwCronPlugin *self = CW_CRON_PLUGIN (plugin);
  const gchar *run_id = sched_id + strlen (CW_CRON_RETRY_PREFIX);
  g_autoptr (JsonObject) row = NULL;
  g_autofree gchar *id = g_strdup (sched_id);
  JsonObject *job;
  const gchar *job_id;

  if (self->stopping)
    return;
  cw_plugin_schedule_remove (plugin, id, NULL);
  row = cw_cron_store_get_run (self->store, run_id, NULL);
  if (row == NULL || json_object_get_member (row, "result") != NULL)
    return; /* deleted with its job, or ended */
  job_id = cw_cron_job_get_string (row, "jobId");
  job = cw_cron_plugin_lookup_job (self, job_id);
  if (job == NULL)
    return;
  json_object_remove_member (row, "retryAt");
  if (g_strcmp0 (cw_cron_job_get_string (job, "status"), "active") != 0)
    {
      g_autoptr (GError) error = NULL;
      g_autofree gchar *why = g_strdup_printf ("%s (not retried: the job is no longer active)",
                                               cw_cron_job_get_string (row, "error") != NULL
                                                   ? cw_cron_job_get_string (row, "error")
                                                   : "The run failed before any model call");
      json_object_set_string_member (row, "result", "error");
      json_object_set_string_member (row, "error", why);
      json_object_set_int_member (row, "completedAt", cw_now_ms ());
      if (!cw_cron_store_update_run (self->store, row, &error))
        g_warning ("run %s: %s", run_id, error->message);
      cw_cron_fire_run_finished (self, job_id, row, FALSE);
      return;
    }
  if (g_hash_table_contains (self->running, job_id))
    {
      /* the job runs another instant: the retry goes first after it */
      g_autoptr (GError) error = NULL;
      json_object_set_boolean_member (row, "queued", TRUE);
      if (!cw_cron_store_update_run (self->store, row, &error))
        g_warning ("run %s: %s", run_id, error->message);
      g_ptr_array_insert (queue_of (self, job_id, TRUE), 0, json_object_ref (row));
      return;
    }
  start (self, job, row, cw_cron_job_get_int (row, "scheduledAt", 0));
}

gboolean
cw_cron_fire_arm_retry (CwCronPlugin *self, const gchar *run_id, gint64 at, GError **error)
{
  g_autofree gchar *id = g_strconcat (CW_CRON_RETRY_PREFIX, run_id, NULL);
  g_autoptr (CwSchedule) schedule = cw_schedule_new_at (at, error);

  return schedule != NULL
         && cw_plugin_schedule_add (CW_PLUGIN (self), id, schedule, CW_MISSED_POLICY_ONCE,
                                    on_retry_fire, NULL, NULL, error);
}

gboolean
cw_cron_fire_recover (CwCronPlugin *self, GError **error)
{
  g_autoptr (GPtrArray) runs = cw_cron_store_open_runs (self->store, error);

  if (runs == NULL)
    return FALSE;
  for (guint i = 0; i < runs->len; i++)
    {
      JsonObject *run = g_ptr_array_index (runs, i);
      const gchar *job_id = cw_cron_job_get_string (run, "jobId");
      g_autofree gchar *timeout
          = g_strconcat (CW_CRON_TIMEOUT_PREFIX, cw_cron_job_get_string (run, "id"), NULL);
      JsonObject *job = job_id != NULL ? cw_cron_plugin_lookup_job (self, job_id) : NULL;

      cw_plugin_schedule_remove (CW_PLUGIN (self), timeout, NULL);
      if (json_object_get_member (run, "retryAt") != NULL)
        {
          /* waiting for its retry: the retry is still due (at once if its time passed) */
          g_autoptr (GError) local = NULL;
          if (!cw_cron_fire_arm_retry (self, cw_cron_job_get_string (run, "id"),
                                       cw_cron_job_get_int (run, "retryAt", 0), &local))
            g_warning ("run %s: no retry: %s", cw_cron_job_get_string (run, "id"), local->message);
          continue;
        }
      if (json_object_get_boolean_member_with_default (run, "queued", FALSE))
        {
          close_missed (self, run, WAITING_ERROR);
          continue;
        }
      json_object_set_string_member (run, "result", "interrupted");
      json_object_set_string_member (run, "error", INTERRUPTED_ERROR);
      json_object_set_int_member (run, "completedAt", cw_now_ms ());
      if (!cw_cron_store_update_run (self->store, run, error))
        return FALSE;
      g_message ("run %s of job %s was interrupted by the daemon's end; not run again",
                 cw_cron_job_get_string (run, "id"), job_id);
      cw_cron_run_close_interactions (self, cw_cron_job_get_string (run, "sessionId"));
      if (job != NULL)
        {
          gboolean manual = json_object_get_member (run, "scheduledAt") == NULL;
          emit_run (self, "cron:run_completed", job_id, run);
          account (self, job, run, manual);
          save_job (self, job);
        }
    }
  return TRUE;
}
