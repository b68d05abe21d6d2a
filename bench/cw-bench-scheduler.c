/* cw-bench-scheduler.c: the scheduler with 10,000 jobs in the real daemon: adding them,
 * wake-ups while they wait, how late they fire, and the cost of one cron next fire time.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-bench-util.h"

#include <stdio.h>

#define JOBS 10000

static JsonObject *
call (CwClient *c, const gchar *command, const gchar *params_json)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) params = cw_json_from_string (params_json, -1, NULL);
  JsonNode *r = cw_client_call (c, command, params, &error);

  g_assert_no_error (error);
  return json_object_ref (json_node_get_object (r));
}

static void
bench_next_fire (void)
{
  g_autoptr (CwSchedule) s = cw_schedule_new_cron ("0 9 * * MON-FRI", "Europe/Berlin", NULL);
  gint64 t = 1796119200000; /* 2026-12-01 */
  gdouble start = cw_bench_now_us (), us;
  gchar value[64];

  for (guint i = 0; i < 10000; i++)
    t = cw_schedule_next_after (s, t);
  us = (cw_bench_now_us () - start) / 10000;
  g_snprintf (value, sizeof value, "%.2f us", us);
  cw_bench_row ("cron next fire time ('0 9 * * MON-FRI', Europe/Berlin)", value, NULL, "< 20 us",
                us < 20);
}

static void
bench_jobs (void)
{
  CwBenchDaemon *d
      = cw_bench_daemon_start (COWORKD_PATH, NULL, "--plugin-dir", BENCH_PLUGIN_DIR, NULL);
  g_autoptr (CwClient) c = cw_bench_daemon_connect (d);
  g_autoptr (JsonObject) added = NULL;
  g_autoptr (JsonObject) stats = NULL;
  g_autoptr (GArray) late = g_array_new (FALSE, FALSE, sizeof (gdouble));
  g_autofree gchar *params = NULL;
  const gchar *pid = g_subprocess_get_identifier (d->proc);
  gint64 before, idle, floor, at;
  JsonArray *samples;
  gchar value[96], floor_value[32];

  /* The floor: the same daemon with no jobs. */
  g_usleep (G_USEC_PER_SEC);
  before = cw_bench_wakeups (pid);
  g_usleep (3 * G_USEC_PER_SEC);
  floor = cw_bench_wakeups (pid) - before;
  added = call (c, "bench_schedule",
                "{\"count\":" G_STRINGIFY (JOBS) ",\"schedule\":\"cron TZ=UTC 0 0 1 1 *\"}");
  g_snprintf (value, sizeof value, "%.1f ms", json_object_get_int_member (added, "addUs") / 1000.0);
  cw_bench_row ("add 10,000 cron jobs (stored)", value, NULL, NULL, TRUE);

  g_usleep (G_USEC_PER_SEC); /* the rows are written and checkpointed */
  before = cw_bench_wakeups (pid);
  g_usleep (3 * G_USEC_PER_SEC);
  idle = cw_bench_wakeups (pid) - before;
  g_snprintf (value, sizeof value, "%" G_GINT64_FORMAT " in 3 s", idle);
  g_snprintf (floor_value, sizeof floor_value, "%" G_GINT64_FORMAT " (no jobs)", floor);
  cw_bench_row ("daemon wake-ups while 10,000 jobs wait", value, floor_value,
                "no more than the floor", idle <= floor);

  /* A fresh daemon, so no removal of the jobs above runs meanwhile. */
  g_clear_pointer (&c, cw_client_free);
  cw_bench_daemon_stop (d);
  d = cw_bench_daemon_start (COWORKD_PATH, NULL, "--plugin-dir", BENCH_PLUGIN_DIR, NULL);
  c = cw_bench_daemon_connect (d);
  at = g_get_real_time () / 1000 + 2000;
  params = g_strdup_printf ("{\"count\":%d,\"schedule\":\"at %" G_GINT64_FORMAT "\"}", JOBS, at);
  g_clear_pointer (&added, json_object_unref);
  added = call (c, "bench_schedule", params);
  g_usleep (MAX (at - g_get_real_time () / 1000, 0) * 1000 + 500000);
  stats = call (c, "bench_schedule_stats", "{}");
  samples = json_object_get_array_member (stats, "lateUs");
  for (guint i = 0; i < json_array_get_length (samples); i++)
    {
      gdouble v = json_array_get_int_element (samples, i);
      g_array_append_val (late, v);
    }
  g_snprintf (value, sizeof value, "p50 %.2f ms, p99 %.2f ms (%u fires)",
              cw_bench_percentile (late, 50) / 1000, cw_bench_percentile (late, 99) / 1000,
              late->len);
  cw_bench_row ("fire time - scheduled time, 10,000 jobs at one instant", value, NULL,
                "all fire, p99 < 100 ms",
                late->len == JOBS && cw_bench_percentile (late, 99) < 100000);
  cw_bench_daemon_stop (d);
}

int
main (int argc, char **argv)
{
  bench_next_fire ();
  bench_jobs ();
  return 0;
}
