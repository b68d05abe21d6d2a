/* cw-core-schema.c: the core's own tables. Released steps are never edited; add a new one.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cowork-host.h"

static const CwMigration core_migrations[] = {
  { 1, "CREATE TABLE events ("
       "  seq INTEGER PRIMARY KEY,"
       "  timestamp INTEGER NOT NULL,"
       "  type TEXT NOT NULL,"
       "  session_id TEXT,"
       "  correlation_id TEXT NOT NULL,"
       "  data TEXT NOT NULL);"
       "CREATE INDEX events_by_time ON events (timestamp);"
       "CREATE TABLE event_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);" },
  { 2, "CREATE TABLE audit ("
       "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
       "  timestamp INTEGER NOT NULL,"
       "  action TEXT NOT NULL,"
       "  actor TEXT NOT NULL,"
       "  details TEXT NOT NULL DEFAULT '{}');"
       "CREATE INDEX events_by_session ON events (session_id, seq);" },
  /* The scheduler: each job's first undelivered instant (NULL: none left). */
  { 3, "CREATE TABLE core_scheduler_jobs ("
       "  owner TEXT NOT NULL,"
       "  job_id TEXT NOT NULL,"
       "  schedule TEXT NOT NULL,"
       "  missed_policy TEXT NOT NULL,"
       "  next_fire INTEGER,"
       "  updated_at INTEGER NOT NULL,"
       "  PRIMARY KEY (owner, job_id)) WITHOUT ROWID;" },
  /* Pending interactions: open until their owner has been told the outcome. */
  { 4, "CREATE TABLE core_interactions ("
       "  id TEXT PRIMARY KEY,"
       "  kind TEXT NOT NULL,"
       "  owner TEXT NOT NULL,"
       "  session_id TEXT,"
       "  payload TEXT NOT NULL,"
       "  data TEXT NOT NULL DEFAULT '{}',"
       "  created_at INTEGER NOT NULL,"
       "  expires_at INTEGER,"
       "  status TEXT NOT NULL,"
       "  answer TEXT,"
       "  resolved_by TEXT,"
       "  resolved_at INTEGER,"
       "  delivered INTEGER NOT NULL DEFAULT 0);"
       "CREATE INDEX core_interactions_open ON core_interactions (delivered, created_at);" },
};

gboolean
cw_core_schema_migrate (CwStore *store, GError **error)
{
  return cw_store_migrate (store, "core", core_migrations, G_N_ELEMENTS (core_migrations), error);
}

gint
cw_core_schema_latest_version (void)
{
  return core_migrations[G_N_ELEMENTS (core_migrations) - 1].version;
}
