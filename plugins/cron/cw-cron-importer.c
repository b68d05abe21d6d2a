/* cw-cron-importer.c: the original's cron jobs and run history, imported once (schema
 * version 2), keeping their ids, so existing schedules keep running.
 *
 * The original keeps them under ~/.cowork/cron whatever its data dir (contract §1.3):
 * jobs.json (a pretty-printed CronJob array) and runs/<jobId>.jsonl (one CronRun a line).
 * `[cron] import-dir` in coworkd.conf points elsewhere. The `<home>` and `<appdata>`
 * placeholders of exported copies are replaced by this machine's paths. A job whose schedule
 * cannot fire (the original kept such jobs active and silent) is imported `failed` with the
 * reason in lastError; a history line that is not a CronRun is skipped with a warning.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-cron-plugin.h"

#include "cw-cron-job.h"
#include "cw-cron-store.h"

#include <string.h>

static const gchar *const job_fields[] = { "id",        "name",           "description",
                                           "prompt",    "schedule",       "workingDirectory",
                                           "model",     "status",         "deleteAfterRun",
                                           "maxRuns",   "maxTurns",       "tags",
                                           "createdAt", "updatedAt",      "runCount",
                                           "lastRunAt", "nextRunAt",      "lastStatus",
                                           "lastError", "lastDurationMs", NULL };
static const gchar *const run_fields[]
    = { "id",    "jobId",   "sessionId",    "startedAt",        "completedAt", "result",
        "error", "summary", "promptTokens", "completionTokens", NULL };
static const gchar *const statuses[] = { "active", "paused", "completed", "failed", NULL };
static const gchar *const results[] = { "success", "error", "timeout", "cancelled", NULL };

static gchar *
replace_all (const gchar *text, const gchar *from, const gchar *to)
{
  g_auto (GStrv) parts = g_strsplit (text, from, -1);

  return g_strjoinv (to, parts);
}

static gchar *
read_file (CwCronPlugin *self, const gchar *path)
{
  CwConfig *config = cw_context_get_config (cw_plugin_get_context (CW_PLUGIN (self)));
  g_autofree gchar *raw = NULL;
  g_autofree gchar *step = NULL;
  g_autoptr (GError) error = NULL;

  if (!g_file_get_contents (path, &raw, NULL, &error))
    {
      if (!g_error_matches (error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        g_warning ("cron import: %s", error->message);
      return NULL;
    }
  step = replace_all (raw, "<home>", g_get_home_dir ());
  return replace_all (step, "<appdata>", cw_config_get_app_data_dir (config));
}

static JsonObject *
pick (JsonObject *from, const gchar *const *fields)
{
  JsonObject *out = json_object_new ();

  for (guint i = 0; fields[i] != NULL; i++)
    {
      JsonNode *node = json_object_get_member (from, fields[i]);
      if (node != NULL && !JSON_NODE_HOLDS_NULL (node))
        json_object_set_member (out, fields[i], json_node_copy (node));
    }
  return out;
}

/* The original's job as this plugin keeps it, or NULL (with a warning) for one it cannot. */
static JsonObject *
import_job (JsonNode *node)
{
  JsonObject *job;
  const gchar *status;
  g_autoptr (CwSchedule) schedule = NULL;
  g_autoptr (GError) error = NULL;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    return NULL;
  job = pick (json_node_get_object (node), job_fields);
  if (cw_cron_job_get_string (job, "id") == NULL || cw_cron_job_get_string (job, "prompt") == NULL
      || cw_cron_job_get_string (job, "name") == NULL)
    {
      g_warning ("cron import: skipping a job without id, name or prompt");
      json_object_unref (job);
      return NULL;
    }
  json_object_set_string_member (job, "sessionTarget", "isolated");
  json_object_set_string_member (job, "wakeMode", "now");
  json_object_set_string_member (job, "missedPolicy", "once");
  json_object_set_string_member (job, "permissionPolicy", "deny");
  status = cw_cron_job_get_string (job, "status");
  if (status == NULL || !g_strv_contains (statuses, status))
    json_object_set_string_member (job, "status", "active");
  if (cw_cron_job_get_string (job, "workingDirectory") == NULL)
    json_object_set_string_member (job, "workingDirectory", g_get_home_dir ());
  if (json_object_get_member (job, "createdAt") == NULL)
    json_object_set_int_member (job, "createdAt", cw_now_ms ());
  if (json_object_get_member (job, "updatedAt") == NULL)
    json_object_set_int_member (job, "updatedAt", cw_now_ms ());
  json_object_set_int_member (job, "runCount", cw_cron_job_get_int (job, "runCount", 0));
  schedule = cw_cron_job_get_schedule (job, &error);
  if (schedule == NULL)
    {
      g_autofree gchar *why = g_strdup_printf ("Invalid schedule: %s", error->message);
      g_warning ("cron import: job %s: %s", cw_cron_job_get_string (job, "id"), why);
      json_object_set_string_member (job, "status", "failed");
      json_object_set_string_member (job, "lastError", why);
      json_object_remove_member (job, "nextRunAt");
    }
  return job;
}

static guint
import_runs (CwCronPlugin *self, const gchar *dir, const gchar *job_id, GError **error)
{
  g_autofree gchar *name = g_strconcat (job_id, ".jsonl", NULL);
  g_autofree gchar *path = g_build_filename (dir, "runs", name, NULL);
  g_autofree gchar *text = read_file (self, path);
  g_auto (GStrv) lines = NULL;
  guint n = 0;

  if (text == NULL)
    return 0;
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_autoptr (JsonNode) node = NULL;
      g_autoptr (JsonObject) run = NULL;
      const gchar *result;
      gboolean duplicate;
      g_autoptr (GError) local = NULL;

      if (*g_strstrip (lines[i]) == '\0')
        continue;
      node = cw_json_from_string (lines[i], -1, NULL);
      if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
        {
          g_warning ("cron import: %s line %u is not a run", path, i + 1);
          continue;
        }
      run = pick (json_node_get_object (node), run_fields);
      result = cw_cron_job_get_string (run, "result");
      if (cw_cron_job_get_string (run, "id") == NULL
          || json_object_get_member (run, "startedAt") == NULL)
        {
          g_warning ("cron import: %s line %u has no id or startedAt", path, i + 1);
          continue;
        }
      json_object_set_string_member (run, "jobId", job_id);
      if (cw_cron_job_get_string (run, "sessionId") == NULL)
        json_object_set_string_member (run, "sessionId", "");
      /* The original wrote a run only once it ended; one without a result ended unknown. */
      if (result == NULL || !g_strv_contains (results, result))
        {
          json_object_set_string_member (run, "result", "error");
          json_object_set_string_member (run, "error", "Imported without a known result");
        }
      if (json_object_get_member (run, "completedAt") != NULL)
        json_object_set_int_member (run, "durationMs",
                                    MAX (0, cw_cron_job_get_int (run, "completedAt", 0)
                                                - cw_cron_job_get_int (run, "startedAt", 0)));
      if (!cw_cron_store_insert_run (self->store, run, &duplicate, &local))
        {
          if (duplicate)
            continue;
          g_propagate_error (error, g_steal_pointer (&local));
          return n;
        }
      n++;
    }
  return n;
}

gboolean
cw_cron_import_original (CwCronPlugin *self, GError **error)
{
  CwConfig *config = cw_context_get_config (cw_plugin_get_context (CW_PLUGIN (self)));
  g_autofree gchar *fallback = g_build_filename (g_get_home_dir (), ".cowork", "cron", NULL);
  g_autofree gchar *dir = cw_config_get_string (config, "cron", "import-dir", fallback);
  g_autofree gchar *path = g_build_filename (dir, "jobs.json", NULL);
  g_autofree gchar *text = read_file (self, path);
  g_autoptr (JsonNode) root = NULL;
  g_autoptr (GError) local = NULL;
  JsonArray *jobs;
  guint n_jobs = 0, n_runs = 0;

  if (text == NULL)
    return TRUE;
  root = cw_json_from_string (text, -1, &local);
  if (root == NULL || !JSON_NODE_HOLDS_ARRAY (root))
    {
      g_warning ("cron import: %s is not a job list (%s); nothing imported", path,
                 local != NULL ? local->message : "not an array");
      return TRUE;
    }
  jobs = json_node_get_array (root);
  for (guint i = 0; i < json_array_get_length (jobs); i++)
    {
      g_autoptr (JsonObject) job = import_job (json_array_get_element (jobs, i));
      if (job == NULL)
        continue;
      if (!cw_cron_store_save_job (self->store, job, i + 1, error))
        return FALSE;
      n_jobs++;
      n_runs += import_runs (self, dir, cw_cron_job_get_string (job, "id"), error);
      if (error != NULL && *error != NULL)
        return FALSE;
    }
  g_message ("imported %u cron jobs and %u runs from %s", n_jobs, n_runs, dir);
  return TRUE;
}
