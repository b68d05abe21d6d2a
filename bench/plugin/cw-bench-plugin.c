/* cw-bench-plugin.c: emits events in bulk for the benchmarks (never installed).
 * bench_emit {count, payloadBytes} -> {first, last}: emits `count` events of type
 * "bench:tick", a batch per main-loop turn so delivery interleaves with emission.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <cowork.h>

#define BATCH 256

#define CW_TYPE_BENCH_PLUGIN (cw_bench_plugin_get_type ())
G_DECLARE_FINAL_TYPE (CwBenchPlugin, cw_bench_plugin, CW, BENCH_PLUGIN, CwPlugin)

struct _CwBenchPlugin
{
  CwPlugin parent_instance;
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

static gboolean
cw_bench_plugin_load (CwPlugin *plugin, GError **error)
{
  return cw_plugin_add_command (plugin, "bench_emit", cmd_bench_emit, error);
}

static void
cw_bench_plugin_class_init (CwBenchPluginClass *klass)
{
  CW_PLUGIN_CLASS (klass)->load = cw_bench_plugin_load;
}

static void
cw_bench_plugin_init (CwBenchPlugin *self)
{
}

CW_PLUGIN_EXPORT (cw_bench_plugin_get_type)
