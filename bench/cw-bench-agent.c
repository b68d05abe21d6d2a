/* cw-bench-agent.c: the agent plugin with many stored sessions: bootstrap state, full and
 * paged listing round trips, resident memory per idle session and after large answers, and
 * start-up with 10,000 stored sessions.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-bench-util.h"

#include <glib/gstdio.h>

#define BATCH 200

/* Creates @n sessions, pipelining BATCH requests at a time. */
static void
create_sessions (CwBenchDaemon *d, guint n, const gchar *workdir)
{
  g_autoptr (CwClient) c = cw_bench_daemon_connect (d);
  g_autofree gchar *p
      = g_strdup_printf ("{\"workingDirectory\":\"%s\",\"provider\":\"lmstudio\"}", workdir);
  g_autoptr (JsonNode) params = cw_json_from_string (p, -1, NULL);

  cw_client_set_timeout (c, 120);
  for (guint done = 0; done < n;)
    {
      g_autoptr (GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
      guint batch = MIN (BATCH, n - done);

      for (guint i = 0; i < batch; i++)
        g_ptr_array_add (ids, cw_client_send (c, "create_session", params, NULL));
      for (guint i = 0; i < batch; i++)
        {
          g_autoptr (GError) error = NULL;
          g_autoptr (JsonObject) r
              = cw_client_wait_response (c, g_ptr_array_index (ids, i), &error);
          g_assert_no_error (error);
          if (!json_object_get_boolean_member (r, "success"))
            g_error ("create_session: %s", json_object_get_string_member (r, "error"));
        }
      done += batch;
    }
}

/* Median round trip in ms of @command over @runs calls, the answer read but not parsed
 * (what the daemon costs, not the client's JSON parser). */
static gdouble
median_ms (CwBenchDaemon *d, const gchar *command, const gchar *params_json, guint runs)
{
  g_autofree gchar *line
      = g_strdup_printf ("{\"id\":\"b\",\"command\":\"%s\",\"params\":%s,\"authToken\":\"%s\"}\n",
                         command, params_json != NULL ? params_json : "{}", d->token);
  GArray *samples = cw_bench_round_trips (d->endpoint, line, runs);
  gdouble median = cw_bench_percentile (samples, 50) / 1000.0;

  g_array_unref (samples);
  return median;
}

/* Size of one answer, checked to be a success. */
static gsize
answer_bytes (CwBenchDaemon *d, const gchar *command)
{
  g_autoptr (CwClient) c = cw_bench_daemon_connect (d);
  g_autoptr (JsonNode) r = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree gchar *text = NULL;

  cw_client_set_timeout (c, 120);
  r = cw_client_call (c, command, NULL, &error);
  g_assert_no_error (error);
  text = cw_json_to_string (r);
  return strlen (text);
}

int
main (int argc, char **argv)
{
  static const guint counts[] = { 100, 1000, 10000 };
  g_autofree gchar *workdir = g_dir_make_tmp ("coworkd-bench-work-XXXXXX", NULL);
  CwBenchDaemon *d
      = cw_bench_daemon_start (COWORKD_PATH, NULL, "--plugin-dir", AGENT_PLUGIN_DIR, NULL);
  gint64 rss0, rss1000 = 0, rss_listed = 0, rss_restarted = 0;
  gdouble empty_start_ms = d->ping_ms;
  guint have = 0;
  gchar value[96], metric[96];

  g_usleep (300000);
  rss0 = cw_bench_daemon_rss_kib (d);
  for (guint i = 0; i < G_N_ELEMENTS (counts); i++)
    {
      gdouble boot, page;
      gsize bytes = 0;
      const gchar *target = counts[i] == 1000 ? "< 2 ms" : counts[i] == 10000 ? "< 20 ms" : NULL;
      gdouble limit = counts[i] == 1000 ? 2 : 20;

      create_sessions (d, counts[i] - have, workdir);
      have = counts[i];
      bytes = answer_bytes (d, "agent_get_bootstrap_state");
      boot = median_ms (d, "agent_get_bootstrap_state", NULL, counts[i] >= 10000 ? 5 : 15);
      g_snprintf (metric, sizeof metric, "agent_get_bootstrap_state, %u sessions", counts[i]);
      g_snprintf (value, sizeof value, "%.2f ms (%.1f MiB of JSON)", boot, bytes / 1048576.0);
      cw_bench_row (metric, value, NULL, target, boot < limit);
      page = median_ms (d, "list_sessions_page", "{\"limit\":50}", 25);
      g_snprintf (metric, sizeof metric, "list_sessions_page (50), %u sessions", counts[i]);
      g_snprintf (value, sizeof value, "%.2f ms", page);
      cw_bench_row (metric, value, NULL, NULL, TRUE);
      if (counts[i] == 1000)
        {
          g_usleep (300000);
          rss1000 = cw_bench_daemon_rss_kib (d);
        }
      {
        gdouble list = median_ms (d, "list_sessions", NULL, counts[i] >= 10000 ? 5 : 15);
        g_snprintf (metric, sizeof metric, "list_sessions, %u sessions", counts[i]);
        g_snprintf (value, sizeof value, "%.2f ms (%.2fx the bootstrap state)", list, list / boot);
        cw_bench_row (metric, value, NULL, counts[i] >= 1000 ? "<= 1.5x bootstrap" : NULL,
                      list <= 1.5 * boot);
      }
      if (counts[i] == 1000)
        {
          g_usleep (300000);
          rss_listed = cw_bench_daemon_rss_kib (d);
          cw_bench_daemon_restart (d);
          g_usleep (300000);
          rss_restarted = cw_bench_daemon_rss_kib (d);
        }
    }
  g_snprintf (value, sizeof value, "%.1f KiB (%.1f MiB with 1,000 sessions, %.1f MiB with none)",
              (rss1000 - rss0) / 1000.0, rss1000 / 1024.0, rss0 / 1024.0);
  cw_bench_row ("daemon RSS per idle session (1,000 sessions)", value, NULL, "< 16 KiB",
                (rss1000 - rss0) / 1000.0 < 16);
  g_snprintf (value, sizeof value, "%.1f MiB (%.1f MiB after a restart)", rss_listed / 1024.0,
              rss_restarted / 1024.0);
  cw_bench_row ("daemon RSS after the answers above at 1,000 sessions", value, NULL,
                "< 1.5x after a restart", rss_listed < 1.5 * rss_restarted);
  cw_bench_daemon_restart (d);
  g_snprintf (value, sizeof value, "%.1f ms (%.1f ms empty)", d->ping_ms, empty_start_ms);
  cw_bench_row ("start to first ping answered, 10,000 stored sessions", value, NULL,
                "<= 3x empty start", d->ping_ms <= 3 * empty_start_ms);
  cw_bench_daemon_stop (d);
  cw_bench_rm_rf (workdir);
  return 0;
}
