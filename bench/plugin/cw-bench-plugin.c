/* cw-bench-plugin.c: emits events and schedules jobs in bulk for the benchmarks (never
 * installed).
 * bench_emit {count, payloadBytes} -> {first, last}: emits `count` events of type
 * "bench:tick", a batch per main-loop turn so delivery interleaves with emission.
 * bench_schedule {count, schedule} -> {addUs}: replaces the jobs with `count` jobs on one
 * schedule (cw_schedule_to_string form); each fire records how late it ran.
 * bench_schedule_stats -> {fires, lateUs[]}
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <cowork.h>

#define BATCH 256

#define CW_TYPE_BENCH_PLUGIN (cw_bench_plugin_get_type ())
G_DECLARE_FINAL_TYPE (CwBenchPlugin, cw_bench_plugin, CW, BENCH_PLUGIN, CwPlugin)

struct _CwBenchPlugin
{
  CwPlugin parent_instance;
  gint64 n_jobs;
  GArray *late_us; /* gint64 per fire */
};

G_DEFINE_FINAL_TYPE (CwBenchPlugin, cw_bench_plugin, CW_TYPE_PLUGIN)

typedef struct
{
  CwPlugin *plugin;
  CwInvocation *invocation;
  gint64 remaining;
  gint64 first;
  gint64 last;
  gchar *payload;
} Job;

static gboolean
emit_batch (gpointer user_data)
{
  Job *job = user_data;
  JsonObject *result;

  for (guint i = 0; i < BATCH && job->remaining > 0; i++, job->remaining--)
    {
      JsonObject *data = json_object_new ();
      json_object_set_string_member (data, "payload", job->payload);
      job->last = cw_plugin_emit (job->plugin, "bench:tick", NULL, data);
      if (job->first == 0)
        job->first = job->last;
    }
  if (job->remaining > 0)
    return G_SOURCE_CONTINUE;
  result = json_object_new ();
  json_object_set_int_member (result, "first", job->first);
  json_object_set_int_member (result, "last", job->last);
  cw_invocation_return_object (job->invocation, result);
  g_object_unref (job->invocation);
  g_free (job->payload);
  g_free (job);
  return G_SOURCE_REMOVE;
}

static void
cmd_bench_emit (CwInvocation *invocation, gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  gint64 count = 0, size = 0;
  Job *job;

  if (!cw_invocation_get_int (invocation, "count", 1000, &count, &error)
      || !cw_invocation_get_int (invocation, "payloadBytes", 64, &size, &error))
    {
      cw_invocation_return_error (invocation, g_steal_pointer (&error));
      return;
    }
  job = g_new0 (Job, 1);
  job->plugin = user_data;
  job->invocation = g_object_ref (invocation);
  job->remaining = CLAMP (count, 1, 10000000);
  job->payload = g_strnfill (CLAMP (size, 0, 65536), 'x');
  g_idle_add (emit_batch, job);
}

static void
on_fire (CwPlugin *plugin, const gchar *job_id, gint64 scheduled_ms, CwScheduleFireFlags flags,
         gpointer user_data)
{
  gint64 late = g_get_real_time () - scheduled_ms * 1000;

  g_array_append_val (CW_BENCH_PLUGIN (plugin)->late_us, late);
}

static void
cmd_bench_schedule (CwInvocation *invocation, gpointer user_data)
{
  CwBenchPlugin *self = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (CwSchedule) schedule = NULL;
  const gchar *text = cw_invocation_get_string (invocation, "schedule", TRUE, &error);
  gint64 count = 0, started = g_get_monotonic_time ();
  JsonObject *result;

  if (text == NULL || !cw_invocation_get_int (invocation, "count", 1000, &count, &error)
      || (schedule = cw_schedule_new_from_string (text, &error)) == NULL)
    {
      cw_invocation_return_error (invocation, g_steal_pointer (&error));
      return;
    }
  for (gint64 i = 0; i < self->n_jobs; i++)
    {
      g_autofree gchar *id = g_strdup_printf ("job-%" G_GINT64_FORMAT, i);
      cw_plugin_schedule_remove (CW_PLUGIN (self), id, NULL);
    }
  g_array_set_size (self->late_us, 0);
  self->n_jobs = CLAMP (count, 0, 1000000);
  for (gint64 i = 0; i < self->n_jobs; i++)
    {
      g_autofree gchar *id = g_strdup_printf ("job-%" G_GINT64_FORMAT, i);
      if (!cw_plugin_schedule_add (CW_PLUGIN (self), id, schedule, CW_MISSED_POLICY_ALL, on_fire,
                                   NULL, NULL, &error))
        {
          cw_invocation_return_error (invocation, g_steal_pointer (&error));
          return;
        }
    }
  result = json_object_new ();
  json_object_set_int_member (result, "addUs", g_get_monotonic_time () - started);
  cw_invocation_return_object (invocation, result);
}

static void
cmd_bench_schedule_stats (CwInvocation *invocation, gpointer user_data)
{
  CwBenchPlugin *self = user_data;
  JsonObject *result = json_object_new ();
  JsonArray *late = json_array_sized_new (self->late_us->len);

  for (guint i = 0; i < self->late_us->len; i++)
    json_array_add_int_element (late, g_array_index (self->late_us, gint64, i));
  json_object_set_int_member (result, "fires", self->late_us->len);
  json_object_set_array_member (result, "lateUs", late);
  cw_invocation_return_object (invocation, result);
}

static gboolean
cw_bench_plugin_load (CwPlugin *plugin, GError **error)
{
  return cw_plugin_add_command (plugin, "bench_emit", cmd_bench_emit, error)
         && cw_plugin_add_command (plugin, "bench_schedule", cmd_bench_schedule, error)
         && cw_plugin_add_command (plugin, "bench_schedule_stats", cmd_bench_schedule_stats, error);
}

static void
cw_bench_plugin_finalize (GObject *object)
{
  g_array_unref (CW_BENCH_PLUGIN (object)->late_us);
  G_OBJECT_CLASS (cw_bench_plugin_parent_class)->finalize (object);
}

static void
cw_bench_plugin_class_init (CwBenchPluginClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = cw_bench_plugin_finalize;
  CW_PLUGIN_CLASS (klass)->load = cw_bench_plugin_load;
}

static void
cw_bench_plugin_init (CwBenchPlugin *self)
{
  self->late_us = g_array_new (FALSE, FALSE, sizeof (gint64));
}

CW_PLUGIN_EXPORT (cw_bench_plugin_get_type)
