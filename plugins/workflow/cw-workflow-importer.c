/* cw-workflow-importer.c: one-time import of the original's workflows from <appData>/data.db
 * (contract §2.10): every version of every definition with its alias, the runs, node runs and
 * events. It runs as migration step 2, in the same transaction as its marker, so a crash in
 * the middle imports nothing. The old file is opened read-only and never changed.
 *
 * Published triggers are materialised again from the imported published versions (the old
 * rows' ids and next times do not carry over). Runs that were running when the original
 * stopped are imported as failed_recoverable; paused runs stay paused and can be resumed.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-workflow-plugin.h"

#include <string.h>

static gchar *
substitute (const gchar *text, const gchar *app_data, const gchar *home)
{
  g_autoptr (GString) s = g_string_new (text != NULL ? text : "");

  if (app_data != NULL)
    g_string_replace (s, "<appdata>", app_data, 0);
  if (home != NULL)
    g_string_replace (s, "<home>", home, 0);
  return g_string_free (g_steal_pointer (&s), FALSE);
}

static JsonNode *
json_column (sqlite3_stmt *stmt, gint column, const gchar *fallback, const gchar *app_data)
{
  const gchar *text = (const gchar *) sqlite3_column_text (stmt, column);
  g_autofree gchar *fixed
      = substitute (text != NULL ? text : fallback, app_data, g_get_home_dir ());
  JsonNode *node = cw_json_from_string (fixed, -1, NULL);

  return node != NULL ? node : cw_json_from_string (fallback, -1, NULL);
}

static void
set_text (JsonObject *obj, const gchar *name, sqlite3_stmt *stmt, gint column)
{
  if (sqlite3_column_type (stmt, column) != SQLITE_NULL)
    json_object_set_string_member (obj, name, (const gchar *) sqlite3_column_text (stmt, column));
}

static void
set_int (JsonObject *obj, const gchar *name, sqlite3_stmt *stmt, gint column)
{
  if (sqlite3_column_type (stmt, column) != SQLITE_NULL)
    json_object_set_int_member (obj, name, sqlite3_column_int64 (stmt, column));
}

static gboolean
import_definitions (CwWorkflowPlugin *self, sqlite3 *db, const gchar *app_data, guint *count,
                    GError **error)
{
  sqlite3_stmt *stmt = NULL;
  gboolean ok = TRUE;

  if (sqlite3_prepare_v2 (db,
                          "SELECT id, version, status, name, description, tags, schema_version,"
                          " triggers, nodes, edges, defaults, permissions_profile, created_by,"
                          " created_at, updated_at FROM workflows ORDER BY id, version",
                          -1, &stmt, NULL)
      != SQLITE_OK)
    return TRUE; /* no such table: nothing to import */
  while (ok && sqlite3_step (stmt) == SQLITE_ROW)
    {
      g_autoptr (JsonObject) def = json_object_new ();
      set_text (def, "id", stmt, 0);
      set_int (def, "version", stmt, 1);
      set_text (def, "status", stmt, 2);
      set_text (def, "name", stmt, 3);
      set_text (def, "description", stmt, 4);
      json_object_set_member (def, "tags", json_column (stmt, 5, "[]", app_data));
      json_object_set_member (def, "triggers", json_column (stmt, 7, "[]", app_data));
      json_object_set_member (def, "nodes", json_column (stmt, 8, "[]", app_data));
      json_object_set_member (def, "edges", json_column (stmt, 9, "[]", app_data));
      json_object_set_member (def, "defaults", json_column (stmt, 10, "{}", app_data));
      set_text (def, "permissionsProfile", stmt, 11);
      set_text (def, "createdBy", stmt, 12);
      set_int (def, "createdAt", stmt, 13);
      set_int (def, "updatedAt", stmt, 14);
      if (cw_wf_str (def, "id") == NULL || !cw_wf_defs_normalize (def, NULL))
        continue;
      ok = cw_wf_defs_save (self, def, error);
      (*count)++;
    }
  sqlite3_finalize (stmt);
  if (!ok)
    return FALSE;
  if (sqlite3_prepare_v2 (db,
                          "SELECT workflow_id, draft_version, published_version, updated_at"
                          " FROM workflow_aliases",
                          -1, &stmt, NULL)
      != SQLITE_OK)
    return TRUE;
  while (ok && sqlite3_step (stmt) == SQLITE_ROW)
    ok = cw_wf_exec (
        self,
        "INSERT OR REPLACE INTO workflow_aliases (workflow_id, draft_version,"
        " published_version, updated_at) VALUES (?1, NULLIF(?2, 0), NULLIF(?3, 0), ?4)",
        error, "siii", (const gchar *) sqlite3_column_text (stmt, 0),
        sqlite3_column_int64 (stmt, 1), sqlite3_column_int64 (stmt, 2),
        sqlite3_column_int64 (stmt, 3));
  sqlite3_finalize (stmt);
  return ok;
}

static gboolean
import_runs (CwWorkflowPlugin *self, sqlite3 *db, const gchar *app_data, GError **error)
{
  sqlite3_stmt *stmt = NULL;
  gboolean ok = TRUE;

  if (sqlite3_prepare_v2 (db,
                          "SELECT id, workflow_id, workflow_version, trigger_type, trigger_context,"
                          " input, output, status, started_at, completed_at, current_node_id,"
                          " error, correlation_id, created_at, updated_at FROM workflow_runs",
                          -1, &stmt, NULL)
      != SQLITE_OK)
    return TRUE;
  while (ok && sqlite3_step (stmt) == SQLITE_ROW)
    {
      g_autoptr (JsonObject) run = json_object_new ();
      g_autofree gchar *text = NULL;
      JsonObject *tc;
      set_text (run, "id", stmt, 0);
      set_text (run, "workflowId", stmt, 1);
      set_int (run, "workflowVersion", stmt, 2);
      set_text (run, "triggerType", stmt, 3);
      json_object_set_member (run, "triggerContext", json_column (stmt, 4, "{}", app_data));
      json_object_set_member (run, "input", json_column (stmt, 5, "{}", app_data));
      if (sqlite3_column_type (stmt, 6) != SQLITE_NULL)
        json_object_set_member (run, "output", json_column (stmt, 6, "{}", app_data));
      set_text (run, "status", stmt, 7);
      set_int (run, "startedAt", stmt, 8);
      set_int (run, "completedAt", stmt, 9);
      set_text (run, "currentNodeId", stmt, 10);
      set_text (run, "error", stmt, 11);
      set_text (run, "correlationId", stmt, 12);
      set_int (run, "createdAt", stmt, 13);
      set_int (run, "updatedAt", stmt, 14);
      if (g_strcmp0 (cw_wf_str (run, "status"), "running") == 0
          || g_strcmp0 (cw_wf_str (run, "status"), "queued") == 0)
        {
          json_object_set_string_member (run, "status", "failed_recoverable");
          json_object_set_string_member (run, "error",
                                         "Imported: the run was in progress when the previous "
                                         "daemon stopped");
        }
      tc = cw_wf_obj (run, "triggerContext");
      text = cw_wf_to_string (run);
      ok = cw_wf_exec (self,
                       "INSERT OR IGNORE INTO workflow_runs (id, workflow_id, status, trigger_type,"
                       " trigger_id, created_at, run) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                       error, "sssssis", cw_wf_str (run, "id"), cw_wf_str (run, "workflowId"),
                       cw_wf_str (run, "status"),
                       cw_wf_str (run, "triggerType") != NULL ? cw_wf_str (run, "triggerType")
                                                              : "manual",
                       cw_wf_str (tc, "triggerId"), cw_wf_int (run, "createdAt", 0), text);
    }
  sqlite3_finalize (stmt);
  if (!ok)
    return FALSE;
  if (sqlite3_prepare_v2 (db,
                          "SELECT id, run_id, node_id, attempt, status, input, output, error,"
                          " started_at, completed_at, duration_ms FROM workflow_node_runs",
                          -1, &stmt, NULL)
      == SQLITE_OK)
    {
      while (ok && sqlite3_step (stmt) == SQLITE_ROW)
        {
          g_autoptr (JsonObject) nr = json_object_new ();
          g_autofree gchar *text = NULL;
          set_text (nr, "id", stmt, 0);
          set_text (nr, "runId", stmt, 1);
          set_text (nr, "nodeId", stmt, 2);
          set_int (nr, "attempt", stmt, 3);
          set_text (nr, "status", stmt, 4);
          json_object_set_member (nr, "input", json_column (stmt, 5, "{}", app_data));
          if (sqlite3_column_type (stmt, 6) != SQLITE_NULL)
            json_object_set_member (nr, "output", json_column (stmt, 6, "{}", app_data));
          set_text (nr, "error", stmt, 7);
          set_int (nr, "startedAt", stmt, 8);
          set_int (nr, "completedAt", stmt, 9);
          set_int (nr, "durationMs", stmt, 10);
          text = cw_wf_to_string (nr);
          ok = cw_wf_exec (self,
                           "INSERT OR IGNORE INTO workflow_node_runs (id, run_id, node_id, attempt,"
                           " status, started_at, node_run) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                           error, "sssisis", cw_wf_str (nr, "id"), cw_wf_str (nr, "runId"),
                           cw_wf_str (nr, "nodeId"), cw_wf_int (nr, "attempt", 1),
                           cw_wf_str (nr, "status"), cw_wf_int (nr, "startedAt", 0), text);
        }
      sqlite3_finalize (stmt);
    }
  if (ok
      && sqlite3_prepare_v2 (db, "SELECT id, run_id, ts, type, payload FROM workflow_events", -1,
                             &stmt, NULL)
             == SQLITE_OK)
    {
      while (ok && sqlite3_step (stmt) == SQLITE_ROW)
        ok = cw_wf_exec (self,
                         "INSERT OR IGNORE INTO workflow_events (id, run_id, ts, type, payload)"
                         " VALUES (?1, ?2, ?3, ?4, ?5)",
                         error, "ssiss", (const gchar *) sqlite3_column_text (stmt, 0),
                         (const gchar *) sqlite3_column_text (stmt, 1),
                         sqlite3_column_int64 (stmt, 2),
                         (const gchar *) sqlite3_column_text (stmt, 3),
                         (const gchar *) sqlite3_column_text (stmt, 4));
      sqlite3_finalize (stmt);
    }
  return ok;
}

static gboolean
materialize_published (CwWorkflowPlugin *self, GError **error)
{
  g_autoptr (GPtrArray) defs = cw_wf_defs_list (self, 100000, 0);

  for (guint i = 0; i < defs->len; i++)
    {
      JsonObject *def = g_ptr_array_index (defs, i);
      g_autoptr (GError) local = NULL;
      if (g_strcmp0 (cw_wf_str (def, "status"), "published") == 0
          && !cw_wf_triggers_materialize (self, def, &local))
        g_warning ("imported workflow %s: its triggers were not materialised: %s",
                   cw_wf_str (def, "id"), local->message);
      cw_wf_triggers_settle_secrets (self, local == NULL);
    }
  return TRUE;
}

gboolean
cw_workflow_import_original (CwWorkflowPlugin *self, GError **error)
{
  CwConfig *config = cw_context_get_config (cw_plugin_get_context (CW_PLUGIN (self)));
  const gchar *app_data = cw_config_get_app_data_dir (config);
  g_autofree gchar *path = app_data != NULL ? g_build_filename (app_data, "data.db", NULL) : NULL;
  g_autofree gchar *uri = NULL;
  sqlite3 *db = NULL;
  guint count = 0;
  gboolean ok;

  if (path == NULL || !g_file_test (path, G_FILE_TEST_IS_REGULAR))
    return TRUE;
  uri = g_filename_to_uri (path, NULL, NULL);
  if (uri == NULL
      || sqlite3_open_v2 (path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK)
    {
      g_warning ("the original's workflows in %s cannot be read: %s", path,
                 db != NULL ? sqlite3_errmsg (db) : "out of memory");
      sqlite3_close (db);
      return TRUE;
    }
  sqlite3_busy_timeout (db, 2000);
  ok = import_definitions (self, db, app_data, &count, error)
       && import_runs (self, db, app_data, error) && materialize_published (self, error);
  sqlite3_close (db);
  if (ok && count > 0)
    g_message ("imported %u workflow versions from %s", count, path);
  return ok;
}
