/* cw-cron-store.c: reading and writing the cron plugin's rows (schema in cw-cron-schema.c).
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-cron-store.h"

#include "cw-cron-job.h"

static JsonObject *
object_from_column (sqlite3_stmt *stmt, gint column)
{
  const gchar *text = (const gchar *) sqlite3_column_text (stmt, column);
  g_autoptr (JsonNode) node = text != NULL ? cw_json_from_string (text, -1, NULL) : NULL;

  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    return NULL;
  return json_object_ref (json_node_get_object (node));
}

static gchar *
object_to_text (JsonObject *obj)
{
  GString *out = g_string_new (NULL);

  cw_json_append_object (out, obj);
  return g_string_free (out, FALSE);
}

static gboolean
step_done (CwStore *store, sqlite3_stmt *stmt, const gchar *what, GError **error)
{
  gint rc = sqlite3_step (stmt);

  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    return cw_store_set_error (store, error, what);
  return TRUE;
}

GPtrArray *
cw_cron_store_load_jobs (CwStore *store, gint64 *max_position, GError **error)
{
  sqlite3_stmt *stmt
      = cw_store_prepare (store, "SELECT job, position FROM cron_jobs ORDER BY position", error);
  GPtrArray *jobs;

  *max_position = 0;
  if (stmt == NULL)
    return NULL;
  jobs = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  while (sqlite3_step (stmt) == SQLITE_ROW)
    {
      JsonObject *job = object_from_column (stmt, 0);
      *max_position = MAX (*max_position, sqlite3_column_int64 (stmt, 1));
      if (job != NULL && cw_cron_job_get_string (job, "id") != NULL)
        g_ptr_array_add (jobs, job);
      else if (job != NULL)
        json_object_unref (job);
    }
  sqlite3_reset (stmt);
  return jobs;
}

gboolean
cw_cron_store_save_job (CwStore *store, JsonObject *job, gint64 position, GError **error)
{
  sqlite3_stmt *stmt
      = cw_store_prepare (store,
                          "INSERT INTO cron_jobs (id, position, job) VALUES (?1, ?2, ?3)"
                          " ON CONFLICT(id) DO UPDATE SET job = ?3",
                          error);
  g_autofree gchar *text = NULL;

  if (stmt == NULL)
    return FALSE;
  text = object_to_text (job);
  sqlite3_bind_text (stmt, 1, cw_cron_job_get_string (job, "id"), -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (stmt, 2, position);
  sqlite3_bind_text (stmt, 3, text, -1, SQLITE_TRANSIENT);
  return step_done (store, stmt, "saving a cron job", error);
}

gboolean
cw_cron_store_delete_job (CwStore *store, const gchar *id, GError **error)
{
  sqlite3_stmt *runs, *job;

  if (!cw_store_savepoint (store, "cron_delete", error))
    return FALSE;
  runs = cw_store_prepare (store, "DELETE FROM cron_runs WHERE job_id = ?1", error);
  if (runs != NULL)
    sqlite3_bind_text (runs, 1, id, -1, SQLITE_TRANSIENT);
  if (runs == NULL || !step_done (store, runs, "deleting cron runs", error))
    goto fail;
  job = cw_store_prepare (store, "DELETE FROM cron_jobs WHERE id = ?1", error);
  if (job != NULL)
    sqlite3_bind_text (job, 1, id, -1, SQLITE_TRANSIENT);
  if (job == NULL || !step_done (store, job, "deleting a cron job", error))
    goto fail;
  return cw_store_release (store, "cron_delete", error);

fail:
  cw_store_rollback_to (store, "cron_delete");
  cw_store_release (store, "cron_delete", NULL);
  return FALSE;
}

static void
bind_instant (sqlite3_stmt *stmt, gint column, JsonObject *run)
{
  gint64 v;

  if (cw_cron_json_get_int (json_object_get_member (run, "scheduledAt"), &v))
    sqlite3_bind_int64 (stmt, column, v);
  else
    sqlite3_bind_null (stmt, column);
}

static void
bind_result (sqlite3_stmt *stmt, gint column, JsonObject *run)
{
  const gchar *result = cw_cron_job_get_string (run, "result");

  if (result != NULL)
    sqlite3_bind_text (stmt, column, result, -1, SQLITE_TRANSIENT);
  else
    sqlite3_bind_null (stmt, column);
}

gboolean
cw_cron_store_insert_run (CwStore *store, JsonObject *run, gboolean *duplicate, GError **error)
{
  sqlite3_stmt *stmt = cw_store_prepare (
      store,
      "INSERT INTO cron_runs (id, job_id, scheduled_at, started_at, result, run)"
      " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
      error);
  g_autofree gchar *text = NULL;
  gint rc;

  *duplicate = FALSE;
  if (stmt == NULL)
    return FALSE;
  text = object_to_text (run);
  sqlite3_bind_text (stmt, 1, cw_cron_job_get_string (run, "id"), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 2, cw_cron_job_get_string (run, "jobId"), -1, SQLITE_TRANSIENT);
  bind_instant (stmt, 3, run);
  sqlite3_bind_int64 (stmt, 4, cw_cron_job_get_int (run, "startedAt", 0));
  bind_result (stmt, 5, run);
  sqlite3_bind_text (stmt, 6, text, -1, SQLITE_TRANSIENT);
  rc = sqlite3_step (stmt);
  sqlite3_reset (stmt);
  if (rc == SQLITE_DONE)
    return TRUE;
  if ((rc & 0xff) == SQLITE_CONSTRAINT)
    {
      *duplicate = TRUE;
      g_set_error (error, CW_ERROR, CW_ERROR_EXISTS,
                   "job %s already has a run for the instant %" G_GINT64_FORMAT,
                   cw_cron_job_get_string (run, "jobId"),
                   cw_cron_job_get_int (run, "scheduledAt", 0));
      return FALSE;
    }
  return cw_store_set_error (store, error, "recording a cron run");
}

gboolean
cw_cron_store_update_run (CwStore *store, JsonObject *run, GError **error)
{
  sqlite3_stmt *stmt = cw_store_prepare (
      store, "UPDATE cron_runs SET result = ?2, run = ?3, started_at = ?4 WHERE id = ?1", error);
  g_autofree gchar *text = NULL;

  if (stmt == NULL)
    return FALSE;
  text = object_to_text (run);
  sqlite3_bind_text (stmt, 1, cw_cron_job_get_string (run, "id"), -1, SQLITE_TRANSIENT);
  bind_result (stmt, 2, run);
  sqlite3_bind_text (stmt, 3, text, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (stmt, 4, cw_cron_job_get_int (run, "startedAt", 0));
  return step_done (store, stmt, "updating a cron run", error);
}

gboolean
cw_cron_store_has_instant (CwStore *store, const gchar *job_id, gint64 scheduled_at)
{
  sqlite3_stmt *stmt = cw_store_prepare (
      store, "SELECT 1 FROM cron_runs WHERE job_id = ?1 AND scheduled_at = ?2", NULL);
  gboolean found;

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, job_id, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (stmt, 2, scheduled_at);
  found = sqlite3_step (stmt) == SQLITE_ROW;
  sqlite3_reset (stmt);
  return found;
}

gchar *
cw_cron_store_list_runs (CwStore *store, const gchar *job_id, gint64 limit, gint64 offset,
                         const gchar *result, GError **error)
{
  sqlite3_stmt *stmt = cw_store_prepare (
      store,
      "SELECT run FROM cron_runs WHERE job_id = ?1 AND (?2 IS NULL OR result = ?2)"
      " ORDER BY started_at DESC, rowid DESC LIMIT ?3 OFFSET ?4",
      error);
  GString *out;
  gboolean first = TRUE;

  if (stmt == NULL)
    return NULL;
  sqlite3_bind_text (stmt, 1, job_id, -1, SQLITE_TRANSIENT);
  if (result != NULL)
    sqlite3_bind_text (stmt, 2, result, -1, SQLITE_TRANSIENT);
  else
    sqlite3_bind_null (stmt, 2);
  sqlite3_bind_int64 (stmt, 3, limit);
  sqlite3_bind_int64 (stmt, 4, offset);
  out = g_string_new ("[");
  while (sqlite3_step (stmt) == SQLITE_ROW)
    {
      const gchar *text = (const gchar *) sqlite3_column_text (stmt, 0);
      if (text == NULL)
        continue;
      if (!first)
        g_string_append_c (out, ',');
      first = FALSE;
      g_string_append (out, text);
    }
  sqlite3_reset (stmt);
  g_string_append_c (out, ']');
  return g_string_free (out, FALSE);
}

GPtrArray *
cw_cron_store_open_runs (CwStore *store, GError **error)
{
  sqlite3_stmt *stmt = cw_store_prepare (
      store, "SELECT run FROM cron_runs WHERE result IS NULL ORDER BY started_at", error);
  GPtrArray *runs;

  if (stmt == NULL)
    return NULL;
  runs = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  while (sqlite3_step (stmt) == SQLITE_ROW)
    {
      JsonObject *run = object_from_column (stmt, 0);
      if (run != NULL)
        g_ptr_array_add (runs, run);
    }
  sqlite3_reset (stmt);
  return runs;
}

JsonObject *
cw_cron_store_get_run (CwStore *store, const gchar *id, GError **error)
{
  sqlite3_stmt *stmt = cw_store_prepare (store, "SELECT run FROM cron_runs WHERE id = ?1", error);
  JsonObject *run = NULL;

  if (stmt == NULL)
    return NULL;
  sqlite3_bind_text (stmt, 1, id, -1, SQLITE_TRANSIENT);
  if (sqlite3_step (stmt) == SQLITE_ROW)
    run = object_from_column (stmt, 0);
  sqlite3_reset (stmt);
  return run;
}
