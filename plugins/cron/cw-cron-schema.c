/* cw-cron-schema.c: the cron plugin's tables in the core store (owner "cron").
 *
 * Schema versions:
 *   1: cron_jobs (the CronJob as JSON text, in insertion order) and cron_runs, the run
 *      ledger: one row per (job, scheduled instant), written before the run starts, with a
 *      NULL result while it runs. Manual runs have no instant (NULL never conflicts).
 *   2: the one-time import of the original's ~/.cowork/cron files (cw-cron-importer.c).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-cron-plugin.h"

static gboolean
run_import (CwStore *store, gpointer user_data, GError **error)
{
  return cw_cron_import_original (CW_CRON_PLUGIN (user_data), error);
}

gboolean
cw_cron_schema_migrate (CwCronPlugin *self, GError **error)
{
  const CwMigration migrations[] = {
    { 1,
      "CREATE TABLE cron_jobs ("
      "  id TEXT PRIMARY KEY,"
      "  position INTEGER NOT NULL,"
      "  job TEXT NOT NULL);"
      "CREATE INDEX cron_jobs_position ON cron_jobs (position);"
      "CREATE TABLE cron_runs ("
      "  id TEXT PRIMARY KEY,"
      "  job_id TEXT NOT NULL,"
      "  scheduled_at INTEGER,"
      "  started_at INTEGER NOT NULL,"
      "  result TEXT,"
      "  run TEXT NOT NULL);"
      "CREATE UNIQUE INDEX cron_runs_ledger ON cron_runs (job_id, scheduled_at);"
      "CREATE INDEX cron_runs_started ON cron_runs (job_id, started_at DESC);"
      "CREATE INDEX cron_runs_open ON cron_runs (result) WHERE result IS NULL;",
      NULL, NULL },
    { 2, NULL, run_import, self },
  };

  return cw_store_migrate (self->store, "cron", migrations, G_N_ELEMENTS (migrations), error);
}
