/* cw-bench-workflow.c: the workflow engine in the real daemon: the overhead per node (a chain
 * of 1,000 condition nodes), webhook request -> run started, and 1,000 runs waiting at once
 * (memory, and wake-ups while they wait).
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-bench-util.h"

#include <libsoup/soup.h>
#include <string.h>

#define CHAIN   1000
#define RUNS    5
#define HOOKS   200
#define WAITING 1000

static JsonNode *
call (CwClient *c, const gchar *command, const gchar *params_json)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) params = cw_json_from_string (params_json, -1, NULL);
  JsonNode *r = cw_client_call (c, command, params, &error);

  g_assert_no_error (error);
  return r;
}

static const gchar *
member (JsonNode *node, const gchar *name)
{
  return json_object_get_string_member (json_node_get_object (node), name);
}

static gchar *
publish (CwClient *c, const gchar *definition)
{
  g_autoptr (JsonNode) draft = call (c, "workflow_create_draft", definition);
  g_autofree gchar *params = g_strdup_printf ("{\"workflowId\":\"%s\"}", member (draft, "id"));
  g_autoptr (JsonNode) published = call (c, "workflow_publish", params);

  return g_strdup (member (published, "id"));
}

/* Reads events on @c until workflow:@type for @run_id. */
static void
wait_event (CwClient *c, const gchar *type, const gchar *run_id)
{
  for (;;)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (JsonObject) event = cw_client_next_event (c, &error);
      JsonObject *data;
      g_assert_no_error (error);
      data = json_object_get_object_member (event, "data");
      if (g_strcmp0 (json_object_get_string_member (event, "type"), type) == 0 && data != NULL
          && g_strcmp0 (json_object_get_string_member_with_default (data, "runId", ""), run_id)
                 == 0)
        return;
    }
}

static void
bench_chain (CwClient *c)
{
  g_autoptr (GString) def
      = g_string_new ("{\"name\":\"chain\",\"nodes\":[{\"id\":\"start\",\"type\":\"start\"}");
  g_autofree gchar *wf = NULL, *params = NULL;
  gdouble start, total_ms;
  gchar value[96];

  for (guint i = 0; i < CHAIN; i++)
    g_string_append_printf (def,
                            ",{\"id\":\"c%u\",\"type\":\"condition\",\"config\":{\"expression\":"
                            "\"run.input.n > %u || true\"}}",
                            i, i);
  g_string_append (
      def, ",{\"id\":\"end\",\"type\":\"end\"}],\"edges\":[{\"from\":\"start\",\"to\":\"c0\"}");
  for (guint i = 1; i < CHAIN; i++)
    g_string_append_printf (def, ",{\"from\":\"c%u\",\"to\":\"c%u\"}", i - 1, i);
  g_string_append_printf (def, ",{\"from\":\"c%u\",\"to\":\"end\"}]}", CHAIN - 1);
  wf = publish (c, def->str);
  params = g_strdup_printf ("{\"workflowId\":\"%s\",\"input\":{\"n\":3}}", wf);
  start = cw_bench_now_us ();
  for (guint r = 0; r < RUNS; r++)
    {
      g_autoptr (JsonNode) run = call (c, "workflow_run", params);
      wait_event (c, "workflow:run_completed", member (run, "id"));
    }
  total_ms = (cw_bench_now_us () - start) / 1000.0;
  g_snprintf (value, sizeof value, "%.2f runs/s", RUNS / (total_ms / 1000.0));
  cw_bench_row ("chain of 1,000 condition nodes: runs per second", value, NULL, NULL, TRUE);
  g_snprintf (value, sizeof value, "%.3f ms", total_ms / RUNS / (CHAIN + 2));
  cw_bench_row ("chain of 1,000 condition nodes: per node (each one committed)", value, NULL,
                "< 1 ms", total_ms / RUNS / (CHAIN + 2) < 1.0);
}

static void
bench_webhook (CwClient *c)
{
  g_autofree gchar *wf = publish (
      c, "{\"name\":\"hook\",\"triggers\":[{\"id\":\"h\",\"type\":\"webhook\",\"endpointKey\":"
         "\"bench\",\"authMode\":\"bearer\",\"secret\":\"bench-secret\"}],\"nodes\":["
         "{\"id\":\"start\",\"type\":\"start\"},{\"id\":\"end\",\"type\":\"end\"}],"
         "\"edges\":[{\"from\":\"start\",\"to\":\"end\"}]}");
  g_autofree gchar *params = g_strdup_printf ("{\"workflowId\":\"%s\"}", wf);
  g_autoptr (JsonNode) def = call (c, "workflow_get", params);
  JsonArray *triggers = json_object_get_array_member (json_node_get_object (def), "triggers");
  const gchar *url
      = json_object_get_string_member (json_array_get_object_element (triggers, 0), "url");
  g_autoptr (SoupSession) session = soup_session_new ();
  g_autoptr (GArray) samples = g_array_new (FALSE, FALSE, sizeof (gdouble));
  gchar value[96];

  for (guint i = 0; i < HOOKS; i++)
    {
      g_autoptr (SoupMessage) msg = soup_message_new ("POST", url);
      g_autoptr (GBytes) body = g_bytes_new_static ("{\"n\":1}", 7);
      g_autoptr (GBytes) reply = NULL;
      g_autoptr (JsonNode) parsed = NULL;
      g_autofree gchar *delivery = g_strdup_printf ("bench-%u", i);
      gdouble t0 = cw_bench_now_us (), us;

      soup_message_set_request_body_from_bytes (msg, "application/json", body);
      soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization",
                                    "Bearer bench-secret");
      soup_message_headers_replace (soup_message_get_request_headers (msg), "X-Cowork-Delivery",
                                    delivery);
      reply = soup_session_send_and_read (session, msg, NULL, NULL);
      g_assert_cmpuint (soup_message_get_status (msg), ==, 202);
      parsed = cw_json_from_string (g_bytes_get_data (reply, NULL), g_bytes_get_size (reply), NULL);
      wait_event (c, "workflow:run_started", member (parsed, "runId"));
      us = cw_bench_now_us () - t0;
      g_array_append_val (samples, us);
    }
  g_snprintf (value, sizeof value, "p50 %.2f ms, p99 %.2f ms",
              cw_bench_percentile (samples, 50) / 1000, cw_bench_percentile (samples, 99) / 1000);
  cw_bench_row ("webhook POST (bearer) -> run started", value, NULL, "p99 < 50 ms",
                cw_bench_percentile (samples, 99) < 50000);
}

static void
bench_waiting (CwBenchDaemon *d, CwClient *c, const gchar *what)
{
  g_autofree gchar *wf = publish (
      c, "{\"name\":\"sleepers\",\"nodes\":[{\"id\":\"start\",\"type\":\"start\"},"
         "{\"id\":\"nap\",\"type\":\"wait\",\"config\":{\"durationMs\":86400000}},"
         "{\"id\":\"end\",\"type\":\"end\"}],\"edges\":[{\"from\":\"start\",\"to\":\"nap\"},"
         "{\"from\":\"nap\",\"to\":\"end\"}]}");
  g_autofree gchar *params = g_strdup_printf ("{\"workflowId\":\"%s\"}", wf);
  const gchar *pid = g_subprocess_get_identifier (d->proc);
  gint64 rss_before, rss_after, before, floor, idle;
  gchar value[96], floor_value[48];

  g_usleep (G_USEC_PER_SEC);
  rss_before = cw_bench_daemon_rss_kib (d);
  before = cw_bench_wakeups (pid);
  g_usleep (3 * G_USEC_PER_SEC);
  floor = cw_bench_wakeups (pid) - before;
  for (guint i = 0; i < WAITING; i++)
    {
      g_autoptr (JsonNode) run = call (c, "workflow_run", params);
      wait_event (c, "workflow:node_started", member (run, "id"));
    }
  g_usleep (2 * G_USEC_PER_SEC); /* the last waits are stored, the WAL checkpointed */
  rss_after = cw_bench_daemon_rss_kib (d);
  before = cw_bench_wakeups (pid);
  g_usleep (3 * G_USEC_PER_SEC);
  idle = cw_bench_wakeups (pid) - before;
  g_snprintf (value, sizeof value, "%.1f MiB (+%.1f KiB per run)", rss_after / 1024.0,
              (gdouble) (rss_after - rss_before) / WAITING);
  {
    g_autofree gchar *metric
        = g_strdup_printf ("RSS with 1,000 runs waiting (a one-day wait each)%s", what);
    cw_bench_row (metric, value, NULL, NULL, TRUE);
  }
  if (*what != '\0')
    return;
  g_snprintf (value, sizeof value, "%" G_GINT64_FORMAT " in 3 s", idle);
  g_snprintf (floor_value, sizeof floor_value, "%" G_GINT64_FORMAT " (no runs)", floor);
  cw_bench_row ("daemon wake-ups while 1,000 runs wait", value, floor_value,
                "no more than the floor", idle <= floor + 2);
}

int
main (int argc, char **argv)
{
  CwBenchDaemon *d
      = cw_bench_daemon_start (COWORKD_PATH, NULL, "--plugin-dir", WORKFLOW_PLUGIN_DIR, NULL);
  g_autoptr (CwClient) c = cw_bench_daemon_connect (d);

  g_assert_nonnull (call (c, "ping", "{}"));
  bench_chain (c);
  bench_webhook (c);
  g_clear_pointer (&c, cw_client_free);
  cw_bench_daemon_stop (d);
  d = cw_bench_daemon_start (COWORKD_PATH, NULL, "--plugin-dir", WORKFLOW_PLUGIN_DIR, NULL);
  c = cw_bench_daemon_connect (d);
  g_assert_nonnull (call (c, "ping", "{}"));
  bench_waiting (d, c, "");
  g_clear_pointer (&c, cw_client_free);
  cw_bench_daemon_stop (d);
  /* the same with the event bus's in-memory ring cut to 100 events: what the runs cost */
  d = cw_bench_daemon_start (COWORKD_PATH, "[events]\nring-size=100\n", "--plugin-dir",
                             WORKFLOW_PLUGIN_DIR, NULL);
  c = cw_bench_daemon_connect (d);
  g_assert_nonnull (call (c, "ping", "{}"));
  bench_waiting (d, c, ", [events] ring-size=100");
  g_clear_pointer (&c, cw_client_free);
  cw_bench_daemon_stop (d);
  return 0;
}
