/* cw-cron-fire.h: what happens when a job's instant comes: the run ledger, runs waiting for
 * the job's previous run, missed instants, and the job's bookkeeping after a run.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cw-cron-plugin.h"

G_BEGIN_DECLS

/* The scheduler's callback of every cron job (CwScheduleFunc). */
void cw_cron_fire (CwPlugin *plugin, const gchar *job_id, gint64 scheduled_ms,
                   CwScheduleFireFlags flags, gpointer user_data);
/* Runs @job for @scheduled_ms now, or once its running run ends (the job's missed-run
 * policy says how many such instants wait); an instant already in the ledger is ignored. */
void cw_cron_fire_instant (CwCronPlugin *self, JsonObject *job, gint64 scheduled_ms);
/* Records @scheduled_ms of @job as a `missed` run with @why; a one-shot is then done. */
void cw_cron_fire_record_missed (CwCronPlugin *self, JsonObject *job, gint64 scheduled_ms,
                                 const gchar *why);
/* A run of @job_id ended with @run (its CronRun): the job's counters, status, next run. */
void cw_cron_fire_run_finished (CwCronPlugin *self, const gchar *job_id, JsonObject *run,
                                gboolean manual);
/* Instants waiting for a run of @job_id that will not come (the job was paused or deleted)
 * are recorded missed with @why. */
void cw_cron_fire_drop_queued (CwCronPlugin *self, const gchar *job_id, const gchar *why);
/* Starts the oldest instant waiting for a run of @job_id when the job runs nothing. */
void cw_cron_fire_start_queued (CwCronPlugin *self, const gchar *job_id);
/* Registers the retry of the open run @run_id at @at on the scheduler's clock
 * ("retry:<runId>"); when it comes, the run starts again as the same ledger row. */
gboolean cw_cron_fire_arm_retry (CwCronPlugin *self, const gchar *run_id, gint64 at,
                                 GError **error);
/* At start: runs whose daemon died are recorded `interrupted` (never run again), instants
 * that were waiting are recorded `missed`, runs waiting for a retry get it. */
gboolean cw_cron_fire_recover (CwCronPlugin *self, GError **error);

G_END_DECLS
