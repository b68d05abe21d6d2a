/* cw-bench-agent.c: the agent plugin with many stored sessions: bootstrap state, full and
 * paged listing round trips, resident memory per idle session and after large answers, and
 * start-up with 10,000 stored sessions; resident memory around a turn that streams a large
 * answer from the fake LLM server of the agent's tests.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-bench-util.h"

#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>

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

#define ANSWER_CHUNKS 4096 /* of 1 KiB: a 4 MiB answer */

/* Starts cw-fake-llm with one answer of ANSWER_CHUNKS text events; returns its port. */
static guint
start_fake_llm (const gchar *dir, GSubprocess **proc)
{
  g_autofree gchar *script = g_build_filename (dir, "script.json", NULL);
  g_autofree gchar *port_file = g_build_filename (dir, "port", NULL);
  g_autofree gchar *port = NULL;
  g_autoptr (GString) text = g_string_new ("{\"responses\":[{\"events\":[");
  g_autoptr (GError) error = NULL;
  gchar chunk[1025];

  memset (chunk, 'x', 1024);
  chunk[1024] = '\0';
  for (guint i = 0; i < ANSWER_CHUNKS; i++)
    {
      chunk[0] = 'a' + i % 26; /* no two chunks alike */
      g_string_append_printf (text, "%s{\"text\":\"%s\"}", i > 0 ? "," : "", chunk);
    }
  g_string_append (text, "],\"stopReason\":\"end_turn\"}]}");
  g_assert_true (g_file_set_contents (script, text->str, text->len, NULL));
  *proc = g_subprocess_new (G_SUBPROCESS_FLAGS_NONE, &error, CW_FAKE_LLM, "--api", "openai",
                            "--script", script, "--port-file", port_file, NULL);
  g_assert_no_error (error);
  for (guint i = 0; i < 1000 && !g_file_get_contents (port_file, &port, NULL, NULL); i++)
    g_usleep (10000);
  g_assert_nonnull (port);
  return (guint) g_ascii_strtoull (port, NULL, 10);
}

/* Resident memory of the daemon before a turn that streams a 4 MiB answer, right after it
 * and after two seconds of idling: what a large answer leaves behind. */
static void
bench_large_answer (void)
{
  g_autofree gchar *dir = g_dir_make_tmp ("coworkd-bench-llm-XXXXXX", NULL);
  g_autoptr (GSubprocess) llm = NULL;
  CwBenchDaemon *d;
  g_autoptr (CwClient) c = NULL;
  guint port;
  g_autofree gchar *config = NULL;
  g_autofree gchar *create = NULL;
  g_autoptr (JsonNode) params = NULL;
  g_autoptr (JsonNode) r = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree gchar *send = NULL;
  gint64 before, after, idle, again;
  gchar value[128];

  if (*CW_FAKE_LLM == '\0')
    {
      cw_bench_row ("daemon RSS around a turn streaming a 4 MiB answer",
                    "not measured: the fake LLM server needs -Dtests=true", NULL,
                    "idle < before + 4 MiB", FALSE);
      cw_bench_rm_rf (dir);
      return;
    }

  port = start_fake_llm (dir, &llm);
  d = cw_bench_daemon_start (COWORKD_PATH, NULL, "--plugin-dir", AGENT_PLUGIN_DIR, NULL);
  c = cw_bench_daemon_connect (d);
  config = g_strdup_printf ("{\"config\":{\"activeProvider\":\"lmstudio\","
                            "\"providerBaseUrls\":{\"lmstudio\":\"http://127.0.0.1:%u\"}}}",
                            port);
  create = g_strdup_printf ("{\"workingDirectory\":\"%s\",\"provider\":\"lmstudio\"}", dir);
  params = cw_json_from_string (config, -1, NULL);
  cw_client_set_timeout (c, 120);
  r = cw_client_call (c, "set_runtime_config", params, &error);
  g_assert_no_error (error);
  g_clear_pointer (&r, json_node_unref);
  g_clear_pointer (&params, json_node_unref);
  params = cw_json_from_string (create, -1, NULL);
  r = cw_client_call (c, "create_session", params, &error);
  g_assert_no_error (error);
  send = g_strdup_printf ("{\"sessionId\":\"%s\",\"content\":\"Write a lot\"}",
                          json_object_get_string_member (json_node_get_object (r), "id"));
  g_clear_pointer (&r, json_node_unref);
  g_clear_pointer (&params, json_node_unref);
  params = cw_json_from_string (send, -1, NULL);
  g_usleep (300000);
  before = cw_bench_daemon_rss_kib (d);
  /* send_message answers once the turn is done. */
  r = cw_client_call (c, "send_message", params, &error);
  g_assert_no_error (error);
  after = cw_bench_daemon_rss_kib (d);
  g_usleep (2 * G_USEC_PER_SEC);
  idle = cw_bench_daemon_rss_kib (d);
  g_snprintf (value, sizeof value, "%.1f MiB before, %.1f MiB after the turn, %.1f MiB idle",
              before / 1024.0, after / 1024.0, idle / 1024.0);
  cw_bench_row ("daemon RSS around a turn streaming a 4 MiB answer", value, NULL,
                "idle < before + 4 MiB", idle < before + 4096);
  /* The same answer again: what stays is bounded caches (the event ring, SQLite's pages),
   * not memory that grows with every large answer. */
  g_clear_pointer (&r, json_node_unref);
  r = cw_client_call (c, "send_message", params, &error);
  g_assert_no_error (error);
  g_usleep (2 * G_USEC_PER_SEC);
  again = cw_bench_daemon_rss_kib (d);
  g_snprintf (value, sizeof value, "%.1f MiB idle (%.1f MiB after the first)", again / 1024.0,
              idle / 1024.0);
  cw_bench_row ("daemon RSS after a second 4 MiB answer", value, NULL, "< first + 2 MiB",
                again < idle + 2048);
  cw_bench_daemon_stop (d);
  g_subprocess_send_signal (llm, SIGTERM);
  g_subprocess_wait (llm, NULL, NULL);
  cw_bench_rm_rf (dir);
}

int
main (int argc, char **argv)
{
  static const guint counts[] = { 100, 1000, 10000 };
  g_autofree gchar *workdir = NULL;
  CwBenchDaemon *d;
  gint64 rss0, rss1000 = 0, rss_listed = 0, rss_restarted = 0;
  gdouble empty_start_ms;
  guint have = 0;
  gchar value[96], metric[96];

  /* --large-answer: that row alone. */
  if (argc > 1 && g_strcmp0 (argv[1], "--large-answer") == 0)
    {
      bench_large_answer ();
      return 0;
    }
  workdir = g_dir_make_tmp ("coworkd-bench-work-XXXXXX", NULL);
  d = cw_bench_daemon_start (COWORKD_PATH, NULL, "--plugin-dir", AGENT_PLUGIN_DIR, NULL);
  empty_start_ms = d->ping_ms;
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
  bench_large_answer ();
  return 0;
}
