/* cw-workflow-schema.c: the workflow plugin's tables in the core store (owner "workflow").
 *
 * Schema versions:
 *   1: workflow_definitions (one row per (id, version), the WorkflowDefinition as JSON),
 *      workflow_aliases (draft and published version of each workflow), workflow_runs (the
 *      WorkflowRun as JSON plus the engine's state: the walkers and what each node gave),
 *      workflow_node_runs, workflow_events (contract §2.3), workflow_triggers (published
 *      triggers, one row per <wfId>:<version>:<triggerId>), workflow_webhooks (endpoint key ->
 *      trigger), workflow_deliveries (webhook signatures and delivery ids already seen),
 *      workflow_trigger_ledger (one run per (trigger, instant or event seq): exactly once),
 *      workflow_memory (the per-workflow key-value store of memory_* nodes).
 *   2: the one-time import of the original's data.db tables (cw-workflow-importer.c).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-workflow-plugin.h"

static gboolean
run_import (CwStore *store, gpointer user_data, GError **error)
{
  return cw_workflow_import_original (CW_WORKFLOW_PLUGIN (user_data), error);
}

gboolean
cw_workflow_schema_migrate (CwWorkflowPlugin *self, GError **error)
{
  const CwMigration migrations[] = {
    { 1,
      "CREATE TABLE workflow_definitions ("
      "  id TEXT NOT NULL,"
      "  version INTEGER NOT NULL,"
      "  status TEXT NOT NULL,"
      "  created_at INTEGER NOT NULL,"
      "  updated_at INTEGER NOT NULL,"
      "  definition TEXT NOT NULL,"
      "  PRIMARY KEY (id, version));"
      "CREATE TABLE workflow_aliases ("
      "  workflow_id TEXT PRIMARY KEY,"
      "  draft_version INTEGER,"
      "  published_version INTEGER,"
      "  updated_at INTEGER NOT NULL);"
      "CREATE INDEX workflow_aliases_updated ON workflow_aliases (updated_at DESC);"
      "CREATE TABLE workflow_runs ("
      "  id TEXT PRIMARY KEY,"
      "  workflow_id TEXT NOT NULL,"
      "  status TEXT NOT NULL,"
      "  trigger_type TEXT NOT NULL,"
      "  trigger_id TEXT,"
      "  created_at INTEGER NOT NULL,"
      "  run TEXT NOT NULL,"
      "  state TEXT NOT NULL DEFAULT '{}');"
      "CREATE INDEX workflow_runs_workflow ON workflow_runs (workflow_id, created_at DESC);"
      "CREATE INDEX workflow_runs_created ON workflow_runs (created_at DESC);"
      "CREATE INDEX workflow_runs_status ON workflow_runs (status);"
      "CREATE TABLE workflow_node_runs ("
      "  id TEXT PRIMARY KEY,"
      "  run_id TEXT NOT NULL,"
      "  node_id TEXT NOT NULL,"
      "  attempt INTEGER NOT NULL,"
      "  status TEXT NOT NULL,"
      "  started_at INTEGER,"
      "  node_run TEXT NOT NULL);"
      "CREATE INDEX workflow_node_runs_run ON workflow_node_runs (run_id, started_at, attempt);"
      "CREATE TABLE workflow_events ("
      "  id TEXT PRIMARY KEY,"
      "  run_id TEXT NOT NULL,"
      "  ts INTEGER NOT NULL,"
      "  type TEXT NOT NULL,"
      "  payload TEXT NOT NULL DEFAULT '{}');"
      "CREATE INDEX workflow_events_run ON workflow_events (run_id, ts);"
      "CREATE TABLE workflow_triggers ("
      "  id TEXT PRIMARY KEY,"
      "  workflow_id TEXT NOT NULL,"
      "  workflow_version INTEGER NOT NULL,"
      "  type TEXT NOT NULL,"
      "  config TEXT NOT NULL,"
      "  enabled INTEGER NOT NULL DEFAULT 1,"
      "  next_run_at INTEGER,"
      "  created_at INTEGER NOT NULL,"
      "  updated_at INTEGER NOT NULL);"
      "CREATE INDEX workflow_triggers_workflow ON workflow_triggers (workflow_id);"
      "CREATE TABLE workflow_webhooks ("
      "  endpoint_key TEXT PRIMARY KEY,"
      "  workflow_id TEXT NOT NULL,"
      "  workflow_version INTEGER NOT NULL,"
      "  trigger_id TEXT NOT NULL,"
      "  auth_mode TEXT NOT NULL,"
      "  secret_ref TEXT,"
      "  created_at INTEGER NOT NULL,"
      "  updated_at INTEGER NOT NULL);"
      "CREATE TABLE workflow_deliveries ("
      "  endpoint_key TEXT NOT NULL,"
      "  key TEXT NOT NULL,"
      "  at INTEGER NOT NULL,"
      "  PRIMARY KEY (endpoint_key, key));"
      "CREATE TABLE workflow_trigger_ledger ("
      "  trigger_id TEXT NOT NULL,"
      "  instant TEXT NOT NULL,"
      "  run_id TEXT NOT NULL,"
      "  PRIMARY KEY (trigger_id, instant));"
      "CREATE TABLE workflow_memory ("
      "  workflow_id TEXT NOT NULL,"
      "  key TEXT NOT NULL,"
      "  value TEXT NOT NULL,"
      "  updated_at INTEGER NOT NULL,"
      "  PRIMARY KEY (workflow_id, key));",
      NULL, NULL },
    { 2, NULL, run_import, self },
  };

  return cw_store_migrate (self->store, "workflow", migrations, G_N_ELEMENTS (migrations), error);
}
