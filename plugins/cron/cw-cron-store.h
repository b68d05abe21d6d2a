/* cw-cron-store.h: the cron plugin's rows: jobs and the run ledger.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <cowork.h>

G_BEGIN_DECLS

/* Every stored job in insertion order (JsonObject, transfer full); @max_position is the
 * highest position used. */
GPtrArray *cw_cron_store_load_jobs (CwStore *store, gint64 *max_position, GError **error);
gboolean cw_cron_store_save_job (CwStore *store, JsonObject *job, gint64 position, GError **error);
/* The job and its run history. */
gboolean cw_cron_store_delete_job (CwStore *store, const gchar *id, GError **error);

/* Writes a new ledger row for @run (its jobId, scheduledAt, startedAt and result, NULL while
 * it runs). FALSE with *@duplicate when (job, scheduledAt) is already in the ledger. */
gboolean cw_cron_store_insert_run (CwStore *store, JsonObject *run, gboolean *duplicate,
                                   GError **error);
gboolean cw_cron_store_update_run (CwStore *store, JsonObject *run, GError **error);
gboolean cw_cron_store_has_instant (CwStore *store, const gchar *job_id, gint64 scheduled_at);
/* CronRun[] as JSON text, newest first; @result NULL for every result. */
gchar *cw_cron_store_list_runs (CwStore *store, const gchar *job_id, gint64 limit, gint64 offset,
                                const gchar *result, GError **error);
/* The run @id (transfer full), or NULL. */
JsonObject *cw_cron_store_get_run (CwStore *store, const gchar *id, GError **error);
/* The runs still open (their daemon died), transfer full. */
GPtrArray *cw_cron_store_open_runs (CwStore *store, GError **error);

G_END_DECLS
