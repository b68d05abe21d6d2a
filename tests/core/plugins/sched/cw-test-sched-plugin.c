/* cw-test-sched-plugin.c: a plugin that schedules whatever its commands ask, and emits one
 * event per fire. Built twice (NAME "scheda" and "schedb") to show that owners are apart.
 *   <NAME>_add {jobId, schedule, missed?} -> {nextFire}   (schedule: cw_schedule_to_string form)
 *   <NAME>_remove {jobId}                 -> null
 *   <NAME>_next {jobId}                   -> nextFire (-1: never)
 * Event <NAME>:fire {jobId, scheduledAt, flags: on-time|catch-up|skipped}
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <cowork.h>

static void
on_fire (CwPlugin *plugin, const gchar *job_id, gint64 scheduled_ms, CwScheduleFireFlags flags,
         gpointer user_data)
{
  JsonObject *data = json_object_new ();

  json_object_set_string_member (data, "jobId", job_id);
  json_object_set_int_member (data, "scheduledAt", scheduled_ms);
  json_object_set_string_member (data, "flags",
                                 (flags & CW_SCHEDULE_FIRE_SKIPPED)    ? "skipped"
                                 : (flags & CW_SCHEDULE_FIRE_CATCH_UP) ? "catch-up"
                                                                       : "on-time");
  cw_plugin_emit (plugin, NAME ":fire", NULL, data);
}

static void
cmd_add (CwInvocation *invocation, gpointer user_data)
{
  CwPlugin *plugin = user_data;
  GError *error = NULL;
  const gchar *job_id = cw_invocation_get_string (invocation, "jobId", FALSE, &error);
  const gchar *text = cw_invocation_get_string (invocation, "schedule", TRUE, &error);
  const gchar *missed_text = cw_invocation_get_string (invocation, "missed", FALSE, &error);
  g_autoptr (CwSchedule) schedule = NULL;
  CwMissedPolicy missed = CW_MISSED_POLICY_ONCE;
  JsonObject *result;

  if (error == NULL)
    schedule = cw_schedule_new_from_string (text, &error);
  if (error == NULL && missed_text != NULL)
    cw_missed_policy_from_string (missed_text, &missed, &error);
  if (error == NULL)
    cw_plugin_schedule_add (plugin, job_id, schedule, missed, on_fire, NULL, NULL, &error);
  if (error != NULL)
    {
      cw_invocation_return_error (invocation, error);
      return;
    }
  result = json_object_new ();
  json_object_set_int_member (result, "nextFire", cw_plugin_schedule_get_next (plugin, job_id));
  cw_invocation_return_object (invocation, result);
}

static void
cmd_remove (CwInvocation *invocation, gpointer user_data)
{
  GError *error = NULL;
  const gchar *job_id = cw_invocation_get_string (invocation, "jobId", TRUE, &error);

  if (job_id != NULL)
    cw_plugin_schedule_remove (user_data, job_id, &error);
  if (error != NULL)
    cw_invocation_return_error (invocation, error);
  else
    cw_invocation_return_value (invocation, NULL);
}

static void
cmd_next (CwInvocation *invocation, gpointer user_data)
{
  const gchar *job_id = cw_invocation_get_string (invocation, "jobId", FALSE, NULL);

  cw_invocation_return_value (
      invocation,
      json_node_init_int (json_node_alloc (), cw_plugin_schedule_get_next (user_data, job_id)));
}

static gboolean
sched_load (CwPlugin *plugin, GError **error)
{
  return cw_plugin_add_command (plugin, NAME "_add", cmd_add, error)
         && cw_plugin_add_command (plugin, NAME "_remove", cmd_remove, error)
         && cw_plugin_add_command (plugin, NAME "_next", cmd_next, error);
}

static void
sched_class_init (gpointer klass, gpointer data)
{
  CW_PLUGIN_CLASS (klass)->load = sched_load;
}

static GType
sched_get_type (void)
{
  static GType type = 0;

  if (type == 0)
    type = g_type_register_static_simple (CW_TYPE_PLUGIN, TYPE_NAME, sizeof (CwPluginClass),
                                          sched_class_init, sizeof (CwPlugin), NULL, 0);
  return type;
}

CW_PLUGIN_EXPORT (sched_get_type)
