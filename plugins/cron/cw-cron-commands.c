/* cw-cron-commands.c: the cron_* commands (contract §1.1).
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-cron-plugin.h"

#include "cw-cron-fire.h"
#include "cw-cron-job.h"
#include "cw-cron-run.h"
#include "cw-cron-store.h"

#define DEFAULT_RUNS_LIMIT 100
#define MAX_RUNS_LIMIT     10000

static void
return_void (CwInvocation *inv)
{
  JsonObject *result = json_object_new ();

  json_object_set_boolean_member (result, "success", TRUE);
  cw_invocation_return_object (inv, result);
}

static JsonObject *
object_param (CwInvocation *inv, const gchar *name)
{
  JsonNode *node = json_object_get_member (cw_invocation_get_params (inv), name);

  return node != NULL && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
}

/* The job named by jobId, or NULL after answering with the contract's error. */
static JsonObject *
job_from_invocation (CwCronPlugin *self, CwInvocation *inv)
{
  g_autoptr (GError) error = NULL;
  const gchar *id = cw_invocation_get_string (inv, "jobId", TRUE, &error);
  JsonObject *job;

  if (id == NULL)
    {
      cw_invocation_return_error (inv, g_steal_pointer (&error));
      return NULL;
    }
  job = cw_cron_plugin_lookup_job (self, id);
  if (job == NULL)
    cw_invocation_return_new_error (inv, CW_ERROR_NOT_FOUND, "Job not found: %s", id);
  return job;
}

static void
cmd_list_jobs (CwInvocation *inv, gpointer user_data)
{
  CwCronPlugin *self = CW_CRON_PLUGIN (user_data);
  GString *out = g_string_new ("[");

  for (guint i = 0; i < self->order->len; i++)
    {
      JsonObject *job = cw_cron_plugin_lookup_job (self, g_ptr_array_index (self->order, i));
      if (job == NULL)
        continue;
      if (out->len > 1)
        g_string_append_c (out, ',');
      cw_cron_plugin_append_job (self, job, out);
    }
  g_string_append_c (out, ']');
  cw_invocation_return_json_text (inv, g_string_free (out, FALSE));
}

static void
cmd_get_job (CwInvocation *inv, gpointer user_data)
{
  CwCronPlugin *self = CW_CRON_PLUGIN (user_data);
  g_autoptr (GError) error = NULL;
  const gchar *id = cw_invocation_get_string (inv, "jobId", TRUE, &error);
  JsonObject *job;

  if (id == NULL)
    {
      cw_invocation_return_error (inv, g_steal_pointer (&error));
      return;
    }
  job = cw_cron_plugin_lookup_job (self, id);
  if (job == NULL)
    cw_invocation_return_value (inv, NULL);
  else
    cw_invocation_return_object (inv, cw_cron_plugin_job_view (self, job));
}

static void
cmd_create_job (CwInvocation *inv, gpointer user_data)
{
  CwCronPlugin *self = CW_CRON_PLUGIN (user_data);
  JsonObject *input = object_param (inv, "input");
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) job = NULL;

  if (input == NULL)
    input = cw_invocation_get_params (inv);
  /* createdAt anchors an `every` schedule without startAt: the scheduler's clock */
  job = cw_cron_job_new (input, cw_plugin_schedule_get_now (CW_PLUGIN (self)), &error);
  if (job == NULL || !cw_cron_plugin_add_job (self, job, &error))
    {
      cw_invocation_return_error (inv, g_steal_pointer (&error));
      return;
    }
  if (!cw_cron_plugin_arm_job (self, job, TRUE, &error))
    {
      /* A schedule cw_cron_job_new accepted but the scheduler did not: say so, keep nothing */
      cw_cron_plugin_delete_job (self, cw_cron_job_get_string (job, "id"), NULL);
      cw_invocation_return_error (inv, g_steal_pointer (&error));
      return;
    }
  if (!cw_cron_plugin_save_job (self, job, "cron:job_created", &error))
    {
      cw_invocation_return_error (inv, g_steal_pointer (&error));
      return;
    }
  cw_invocation_return_object (inv, cw_cron_plugin_job_view (self, job));
}

/* Puts @job in @status: paused jobs leave the scheduler (their nextRunAt stays, ignored);
 * an active one is scheduled afresh from now. */
static gboolean
set_status (CwCronPlugin *self, JsonObject *job, const gchar *status, GError **error)
{
  const gchar *id = cw_cron_job_get_string (job, "id");

  json_object_set_string_member (job, "status", status);
  json_object_set_int_member (job, "updatedAt", cw_now_ms ());
  if (g_str_equal (status, "active"))
    {
      json_object_remove_member (job, "pausedReason");
      json_object_set_int_member (job, "consecutiveFailures", 0);
      return cw_cron_plugin_arm_job (self, job, TRUE, error);
    }
  cw_plugin_schedule_remove (CW_PLUGIN (self), id, NULL);
  cw_cron_fire_drop_queued (self, id, "The job was paused before this instant could run");
  return TRUE;
}

static void
cmd_update_job (CwInvocation *inv, gpointer user_data)
{
  CwCronPlugin *self = CW_CRON_PLUGIN (user_data);
  JsonObject *job = job_from_invocation (self, inv);
  JsonObject *updates;
  g_autoptr (JsonObject) before = NULL;
  g_autoptr (GError) error = NULL;
  gboolean schedule_changed = FALSE;
  const gchar *old_status;
  const gchar *new_status;
  gboolean ok;

  if (job == NULL)
    return;
  updates = object_param (inv, "updates");
  if (updates == NULL)
    updates = object_param (inv, "input");
  if (updates == NULL)
    updates = cw_invocation_get_params (inv);
  before = cw_cron_plugin_job_view (self, job);
  old_status = cw_cron_job_get_string (before, "status");
  /* the job stays as it was when the update is refused */
  if (!cw_cron_job_update (job, updates, cw_now_ms (), &schedule_changed, &error))
    {
      cw_invocation_return_error (inv, g_steal_pointer (&error));
      return;
    }
  new_status = cw_cron_job_get_string (job, "status");
  if (g_strcmp0 (old_status, new_status) != 0)
    ok = set_status (self, job, new_status, &error);
  else
    ok = cw_cron_plugin_arm_job (self, job, schedule_changed, &error);
  if (!ok || !cw_cron_plugin_save_job (self, job, "cron:job_updated", &error))
    {
      cw_invocation_return_error (inv, g_steal_pointer (&error));
      return;
    }
  cw_invocation_return_object (inv, cw_cron_plugin_job_view (self, job));
}

static void
cmd_delete_job (CwInvocation *inv, gpointer user_data)
{
  CwCronPlugin *self = CW_CRON_PLUGIN (user_data);
  JsonObject *job = job_from_invocation (self, inv);
  g_autoptr (GError) error = NULL;

  if (job == NULL)
    return;
  if (!cw_cron_plugin_delete_job (self, cw_cron_job_get_string (job, "id"), &error))
    {
      cw_invocation_return_error (inv, g_steal_pointer (&error));
      return;
    }
  return_void (inv);
}

static void
change_status (CwInvocation *inv, CwCronPlugin *self, const gchar *status, const gchar *event)
{
  JsonObject *job = job_from_invocation (self, inv);
  g_autoptr (GError) error = NULL;

  if (job == NULL)
    return;
  if (!set_status (self, job, status, &error)
      || !cw_cron_plugin_save_job (self, job, event, &error))
    {
      cw_invocation_return_error (inv, g_steal_pointer (&error));
      return;
    }
  cw_invocation_return_object (inv, cw_cron_plugin_job_view (self, job));
}

static void
cmd_pause_job (CwInvocation *inv, gpointer user_data)
{
  change_status (inv, CW_CRON_PLUGIN (user_data), "paused", "cron:job_paused");
}

static void
cmd_resume_job (CwInvocation *inv, gpointer user_data)
{
  change_status (inv, CW_CRON_PLUGIN (user_data), "active", "cron:job_resumed");
}

static void
cmd_trigger_job (CwInvocation *inv, gpointer user_data)
{
  CwCronPlugin *self = CW_CRON_PLUGIN (user_data);
  JsonObject *job = job_from_invocation (self, inv);
  g_autoptr (GError) error = NULL;
  CwCronRun *run;

  if (job == NULL)
    return;
  if (self->stopping)
    {
      cw_invocation_return_error_literal (inv, CW_ERROR_BUSY, "The daemon is stopping");
      return;
    }
  /* One run per job at a time: a trigger during a run gets that run's outcome. */
  run = g_hash_table_lookup (self->running, cw_cron_job_get_string (job, "id"));
  if (run == NULL)
    run = cw_cron_run_start (self, job, NULL, -1, &error);
  if (run == NULL)
    {
      cw_invocation_return_error (inv, g_steal_pointer (&error));
      return;
    }
  cw_cron_run_add_waiter (run, inv);
}

static gboolean
get_option_int (JsonObject *options, CwInvocation *inv, const gchar *name, gint64 def, gint64 max,
                gint64 *out, GError **error)
{
  JsonNode *node = options != NULL ? json_object_get_member (options, name) : NULL;

  if (node == NULL)
    node = json_object_get_member (cw_invocation_get_params (inv), name);
  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    {
      *out = def;
      return TRUE;
    }
  if (!cw_cron_json_get_int (node, out) || *out < 0 || *out > max)
    {
      g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS,
                   "%s must be a whole number from 0 to %" G_GINT64_FORMAT, name, max);
      return FALSE;
    }
  return TRUE;
}

static void
cmd_get_runs (CwInvocation *inv, gpointer user_data)
{
  CwCronPlugin *self = CW_CRON_PLUGIN (user_data);
  static const gchar *const results[]
      = { "success", "error", "timeout", "cancelled", "interrupted", "missed", NULL };
  g_autoptr (GError) error = NULL;
  const gchar *id = cw_invocation_get_string (inv, "jobId", TRUE, &error);
  JsonObject *options = object_param (inv, "options");
  JsonNode *result_node;
  const gchar *result = NULL;
  gint64 limit = 0, offset = 0;
  gchar *text;

  if (id == NULL
      || !get_option_int (options, inv, "limit", DEFAULT_RUNS_LIMIT, MAX_RUNS_LIMIT, &limit, &error)
      || !get_option_int (options, inv, "offset", 0, G_MAXINT32, &offset, &error))
    {
      cw_invocation_return_error (inv, g_steal_pointer (&error));
      return;
    }
  result_node = options != NULL ? json_object_get_member (options, "result") : NULL;
  if (result_node == NULL)
    result_node = json_object_get_member (cw_invocation_get_params (inv), "result");
  if (result_node != NULL && !JSON_NODE_HOLDS_NULL (result_node))
    {
      if (json_node_get_value_type (result_node) != G_TYPE_STRING
          || !g_strv_contains (results, json_node_get_string (result_node)))
        {
          g_autofree gchar *list = g_strjoinv (", ", (gchar **) results);
          cw_invocation_return_new_error (inv, CW_ERROR_INVALID_PARAMS, "result must be one of %s",
                                          list);
          return;
        }
      result = json_node_get_string (result_node);
    }
  text = cw_cron_store_list_runs (self->store, id, limit, offset, result, &error);
  if (text == NULL)
    cw_invocation_return_error (inv, g_steal_pointer (&error));
  else
    cw_invocation_return_json_text (inv, text);
}

static void
cmd_get_status (CwInvocation *inv, gpointer user_data)
{
  GString *out = g_string_new (NULL);

  cw_cron_plugin_append_status (CW_CRON_PLUGIN (user_data), out, TRUE);
  cw_invocation_return_json_text (inv, g_string_free (out, FALSE));
}

gboolean
cw_cron_commands_register (CwCronPlugin *self, GError **error)
{
  static const struct
  {
    const gchar *name;
    CwCommandFlags flags;
    CwCommandFunc func;
  } commands[] = {
    { "cron_list_jobs", CW_COMMAND_FLAG_REMOTE | CW_COMMAND_FLAG_READ_ONLY, cmd_list_jobs },
    { "cron_get_job", CW_COMMAND_FLAG_REMOTE | CW_COMMAND_FLAG_READ_ONLY, cmd_get_job },
    { "cron_create_job", CW_COMMAND_FLAG_NONE, cmd_create_job },
    { "cron_update_job", CW_COMMAND_FLAG_NONE, cmd_update_job },
    { "cron_delete_job", CW_COMMAND_FLAG_NONE, cmd_delete_job },
    { "cron_pause_job", CW_COMMAND_FLAG_REMOTE, cmd_pause_job },
    { "cron_resume_job", CW_COMMAND_FLAG_REMOTE, cmd_resume_job },
    { "cron_trigger_job", CW_COMMAND_FLAG_REMOTE, cmd_trigger_job },
    { "cron_get_runs", CW_COMMAND_FLAG_REMOTE | CW_COMMAND_FLAG_READ_ONLY, cmd_get_runs },
    { "cron_get_status", CW_COMMAND_FLAG_REMOTE | CW_COMMAND_FLAG_READ_ONLY, cmd_get_status },
  };

  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    if (!cw_plugin_add_command_full (CW_PLUGIN (self), commands[i].name, commands[i].flags,
                                     commands[i].func, error))
      return FALSE;
  return TRUE;
}
