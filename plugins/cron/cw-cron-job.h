/* cw-cron-job.h: the CronJob model: validation of create and update input, the schedule.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <cowork.h>

G_BEGIN_DECLS

#define CW_CRON_DEFAULT_TIMEOUT_MS 300000

/* A new CronJob from CreateCronJobInput; NULL with CW_ERROR_INVALID_PARAMS naming the field
 */
JsonObject *cw_cron_job_new (JsonObject *input, gint64 now_ms, GError **error);
/* Shallow merge of UpdateCronJobInput into @job (the identity and counters are never taken
 * from @updates); validates first and changes nothing on error. */
gboolean cw_cron_job_update (JsonObject *job, JsonObject *updates, gint64 now_ms,
                             gboolean *schedule_changed, GError **error);
/* The job's schedule for the scheduler; NULL with an error for a schedule it cannot run. */
CwSchedule *cw_cron_job_get_schedule (JsonObject *job, GError **error);
CwMissedPolicy cw_cron_job_get_missed_policy (JsonObject *job);
gint64 cw_cron_job_get_int (JsonObject *job, const gchar *name, gint64 default_value);
const gchar *cw_cron_job_get_string (JsonObject *job, const gchar *name);
gboolean cw_cron_job_is_one_shot (JsonObject *job);
/* A JSON number that is a whole number (json-glib reads 1e3 as a double). */
gboolean cw_cron_json_get_int (JsonNode *node, gint64 *out);

G_END_DECLS
