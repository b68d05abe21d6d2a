/* cw-cron-plugin.h: the cron plugin's state, shared by its files.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <cowork.h>

G_BEGIN_DECLS

#define CW_TYPE_CRON_PLUGIN (cw_cron_plugin_get_type ())
G_DECLARE_FINAL_TYPE (CwCronPlugin, cw_cron_plugin, CW, CRON_PLUGIN, CwPlugin)

typedef struct _CwCronRun CwCronRun;

struct _CwCronPlugin
{
  CwPlugin parent_instance;
  CwStore *store;
  GHashTable *jobs;       /* id -> JsonObject: the CronJob as stored */
  GPtrArray *order;       /* job ids in insertion order */
  gint64 next_position;   /* insertion order of the next job */
  GHashTable *running;    /* job id -> CwCronRun (at most one run per job) */
  GHashTable *by_session; /* session id -> CwCronRun */
  GHashTable *queued;     /* job id -> GPtrArray of CronRun rows waiting for the running one */
  GHashTable *views;      /* job id -> CwCronView: the job's JSON text as last stored */
  gint64 default_timeout_ms;
  gint64 auto_pause_after; /* consecutive failed runs that pause a job; 0: never */
  gboolean started;
  gboolean stopping;
  guint64 runs_started;
};

/* Scheduler job ids of a run's timeout: "timeout:<runId>". */
#define CW_CRON_TIMEOUT_PREFIX "timeout:"
/* Scheduler job ids of a run's retry: "retry:<runId>". */
#define CW_CRON_RETRY_PREFIX "retry:"
/* How the agent's turn error begins when the provider could not be reached at all. */
#define CW_CRON_UNREACHABLE_PREFIX "cannot reach "

/* cw-cron-plugin.c */
JsonObject *cw_cron_plugin_lookup_job (CwCronPlugin *self, const gchar *id);
/* Stores @job (already in the table or new) and emits @event (NULL: none) with it. */
gboolean cw_cron_plugin_save_job (CwCronPlugin *self, JsonObject *job, const gchar *event,
                                  GError **error);
gboolean cw_cron_plugin_add_job (CwCronPlugin *self, JsonObject *job, GError **error);
gboolean cw_cron_plugin_delete_job (CwCronPlugin *self, const gchar *id, GError **error);
/* Registers an active job with the scheduler (or removes an inactive one) and refreshes its
 * nextRunAt; @fresh starts its schedule from now, else an unchanged schedule goes on where
 * it was. A one-shot whose instant has passed runs now or is recorded missed. */
gboolean cw_cron_plugin_arm_job (CwCronPlugin *self, JsonObject *job, gboolean fresh,
                                 GError **error);
/* The job as clients see it (nextRunAt refreshed), transfer full. */
JsonObject *cw_cron_plugin_job_view (CwCronPlugin *self, JsonObject *job);
/* Appends the job as clients see it (what cw_cron_plugin_job_view gives) as JSON text, from
 * the text stored last when nothing changed since. */
void cw_cron_plugin_append_job (CwCronPlugin *self, JsonObject *job, GString *out);
/* cron_get_status (and the bootstrap member `cron`): with @with_jobs, one entry per job. */
void cw_cron_plugin_append_status (CwCronPlugin *self, GString *out, gboolean with_jobs);

/* cw-cron-commands.c */
gboolean cw_cron_commands_register (CwCronPlugin *self, GError **error);

/* cw-cron-schema.c */
gboolean cw_cron_schema_migrate (CwCronPlugin *self, GError **error);

/* cw-cron-importer.c: the original's ~/.cowork/cron files, once. */
gboolean cw_cron_import_original (CwCronPlugin *self, GError **error);

G_END_DECLS
