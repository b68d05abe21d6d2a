/* cw-bench-core.c: start-up, memory, round trip, durable event throughput and replay of
 * the core daemon, each next to its physical floor measured in the same run.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-bench-util.h"

#include <gio/gunixsocketaddress.h>
#include <stdio.h>

#define PINGS   10000
#define EVENTS  200000
#define PAYLOAD 64

/* ---- the floor for round trips: a bare GIO unix-socket line echo, another process ---- */

static void
on_echo_line (GObject *source, GAsyncResult *res, gpointer user_data)
{
  GDataInputStream *in = G_DATA_INPUT_STREAM (source);
  GOutputStream *out = user_data;
  gsize len;
  g_autofree gchar *line = g_data_input_stream_read_line_finish (in, res, &len, NULL);

  if (line == NULL)
    {
      g_object_unref (in);
      g_object_unref (out);
      return;
    }
  line[len] = '\n';
  g_output_stream_write_all (out, line, len + 1, NULL, NULL, NULL);
  g_data_input_stream_read_line_async (in, G_PRIORITY_DEFAULT, NULL, on_echo_line, out);
}

static gboolean
on_echo_incoming (GSocketService *service, GSocketConnection *conn, GObject *src, gpointer data)
{
  GDataInputStream *in
      = g_data_input_stream_new (g_io_stream_get_input_stream (G_IO_STREAM (conn)));
  GOutputStream *out = g_object_ref (g_io_stream_get_output_stream (G_IO_STREAM (conn)));

  g_object_set_data_full (G_OBJECT (in), "conn", g_object_ref (conn), g_object_unref);
  g_data_input_stream_read_line_async (in, G_PRIORITY_DEFAULT, NULL, on_echo_line, out);
  return TRUE;
}

static int
run_echo_server (const gchar *path)
{
  g_autoptr (GSocketService) service = g_socket_service_new ();
  g_autoptr (GSocketAddress) addr = g_unix_socket_address_new (path);
  g_autoptr (GMainLoop) loop = g_main_loop_new (NULL, FALSE);

  if (!g_socket_listener_add_address (G_SOCKET_LISTENER (service), addr, G_SOCKET_TYPE_STREAM,
                                      G_SOCKET_PROTOCOL_DEFAULT, NULL, NULL, NULL))
    return 1;
  g_signal_connect (service, "incoming", G_CALLBACK (on_echo_incoming), NULL);
  g_socket_service_start (service);
  g_main_loop_run (loop);
  return 0;
}

/* ---- durable events --------------------------------------------------------------------- */

typedef struct
{
  CwBenchDaemon *daemon;
  gint64 expected;
  gint64 received;
  gint64 resyncs;
  gdouble done_at;
} Subscriber;

static gpointer
subscriber_thread (gpointer data)
{
  Subscriber *s = data;
  g_autoptr (GSocketClient) sc = g_socket_client_new ();
  g_autoptr (GSocketAddress) addr = g_unix_socket_address_new (s->daemon->endpoint);
  g_autoptr (GSocketConnection) conn
      = g_socket_client_connect (sc, G_SOCKET_CONNECTABLE (addr), NULL, NULL);
  g_autoptr (GDataInputStream) in = NULL;
  g_autofree gchar *hello = g_strdup_printf (
      "{\"id\":\"sub\",\"command\":\"ping\",\"authToken\":\"%s\"}\n", s->daemon->token);

  g_assert_nonnull (conn);
  in = g_data_input_stream_new (g_io_stream_get_input_stream (G_IO_STREAM (conn)));
  g_buffered_input_stream_set_buffer_size (G_BUFFERED_INPUT_STREAM (in), 1 << 20);
  g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (conn)), hello,
                             strlen (hello), NULL, NULL, NULL);
  while (s->received + s->resyncs == 0 || s->received < g_atomic_pointer_get (&s->expected))
    {
      g_autofree gchar *line = g_data_input_stream_read_line (in, NULL, NULL, NULL);
      if (line == NULL)
        break;
      if (strstr (line, "\"bench:tick\"") != NULL)
        s->received++;
      else if (strstr (line, "\"resync\"") != NULL)
        s->resyncs++;
      if (s->resyncs > 0)
        break;
    }
  s->done_at = cw_bench_now_us ();
  return NULL;
}

static gdouble
deliver_events (guint n_subscribers, gint64 *resyncs)
{
  CwBenchDaemon *d = cw_bench_daemon_start (COWORKD_PATH, "[events]\nsubscriber-queue=1000000\n",
                                            "--plugin-dir", BENCH_PLUGIN_DIR, NULL);
  g_autoptr (CwClient) ctl = cw_bench_daemon_connect (d);
  g_autoptr (JsonNode) params = NULL, result = NULL;
  g_autofree gchar *p = g_strdup_printf ("{\"count\":%d,\"payloadBytes\":%d}", EVENTS, PAYLOAD);
  Subscriber subs[8] = { 0 };
  GThread *threads[8];
  gdouble t0, end = 0;
  g_autoptr (GError) error = NULL;

  for (guint i = 0; i < n_subscribers; i++)
    {
      subs[i].daemon = d;
      subs[i].expected = EVENTS;
      threads[i] = g_thread_new ("sub", subscriber_thread, &subs[i]);
    }
  g_usleep (200000); /* let every subscriber authenticate */
  params = cw_json_from_string (p, -1, NULL);
  t0 = cw_bench_now_us ();
  result = cw_client_call (ctl, "bench_emit", params, &error);
  g_assert_no_error (error);
  *resyncs = 0;
  for (guint i = 0; i < n_subscribers; i++)
    {
      g_thread_join (threads[i]);
      end = MAX (end, subs[i].done_at);
      *resyncs += subs[i].resyncs;
    }
  cw_bench_daemon_stop (d);
  return EVENTS / ((end - t0) / 1e6);
}

static gdouble
sqlite_insert_floor (void)
{
  g_autofree gchar *dir = g_dir_make_tmp ("coworkd-bench-sql-XXXXXX", NULL);
  g_autofree gchar *path = g_build_filename (dir, "floor.db", NULL);
  g_autofree gchar *payload = g_strnfill (PAYLOAD, 'x');
  g_autofree gchar *data = g_strdup_printf ("{\"payload\":\"%s\"}", payload);
  sqlite3 *db;
  sqlite3_stmt *stmt;
  gdouble t0, dt;

  sqlite3_open (path, &db);
  sqlite3_exec (db,
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                "CREATE TABLE events (seq INTEGER PRIMARY KEY, timestamp INTEGER NOT NULL,"
                " type TEXT NOT NULL, session_id TEXT, correlation_id TEXT NOT NULL,"
                " data TEXT NOT NULL);",
                NULL, NULL, NULL);
  sqlite3_prepare_v2 (db, "INSERT INTO events VALUES (?1, ?2, 'bench:tick', NULL, ?3, ?4)", -1,
                      &stmt, NULL);
  t0 = cw_bench_now_us ();
  for (gint i = 1; i <= EVENTS; i++)
    {
      if (i % 512 == 1)
        sqlite3_exec (db, "BEGIN", NULL, NULL, NULL);
      sqlite3_bind_int64 (stmt, 1, i);
      sqlite3_bind_int64 (stmt, 2, g_get_real_time () / 1000);
      sqlite3_bind_text (stmt, 3, "__global__:bench:tick:1", -1, SQLITE_STATIC);
      sqlite3_bind_text (stmt, 4, data, -1, SQLITE_STATIC);
      sqlite3_step (stmt);
      sqlite3_reset (stmt);
      if (i % 512 == 0 || i == EVENTS)
        sqlite3_exec (db, "COMMIT", NULL, NULL, NULL);
    }
  dt = cw_bench_now_us () - t0;
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  cw_bench_rm_rf (dir);
  return EVENTS / (dt / 1e6);
}

/* ---- replay ----------------------------------------------------------------------------- */

/* Median round trip in ms, the answer read but not parsed (the daemon's cost); @n_events is
 * counted once from a parsed answer. */
static gdouble
replay_ms (CwBenchDaemon *d, gint64 after, gint64 limit, guint *n_events)
{
  g_autoptr (CwClient) c = cw_bench_daemon_connect (d);
  g_autofree gchar *p = g_strdup_printf (
      "{\"afterSeq\":%" G_GINT64_FORMAT ",\"limit\":%" G_GINT64_FORMAT "}", after, limit);
  g_autofree gchar *line = g_strdup_printf (
      "{\"id\":\"r\",\"command\":\"agent_get_events_since\",\"params\":%s,\"authToken\":\"%s\"}\n",
      p, d->token);
  g_autoptr (JsonNode) params = cw_json_from_string (p, -1, NULL);
  g_autoptr (JsonNode) r = cw_client_call (c, "agent_get_events_since", params, NULL);
  GArray *samples = cw_bench_round_trips (d->endpoint, line, 7);
  gdouble median = cw_bench_percentile (samples, 50) / 1000.0;

  g_assert_nonnull (r);
  *n_events
      = json_array_get_length (json_object_get_array_member (json_node_get_object (r), "events"));
  g_array_unref (samples);
  return median;
}

static void
bench_replay (void)
{
  CwBenchDaemon *d
      = cw_bench_daemon_start (COWORKD_PATH, NULL, "--plugin-dir", BENCH_PLUGIN_DIR, NULL);
  g_autoptr (CwClient) c = cw_bench_daemon_connect (d);
  g_autoptr (JsonNode) params
      = cw_json_from_string ("{\"count\":30000,\"payloadBytes\":64}", -1, NULL);
  g_autoptr (JsonNode) r = cw_client_call (c, "bench_emit", params, NULL);
  gint64 last = json_object_get_int_member (json_node_get_object (r), "last");
  gchar value[64];
  guint n = 0;
  gdouble ms;

  ms = replay_ms (d, last - 25000, 10000, &n);
  g_snprintf (value, sizeof value, "%.1f ms (%u events)", ms, n);
  cw_bench_row ("agent_get_events_since, 10,000 stored events", value, NULL, NULL, TRUE);
  ms = replay_ms (d, last - 2000, 2000, &n);
  g_snprintf (value, sizeof value, "%.1f ms (%u events)", ms, n);
  cw_bench_row ("agent_get_events_since, 2,000 from the memory ring", value, NULL, NULL, TRUE);
  cw_bench_daemon_stop (d);
}

/* ---- main ------------------------------------------------------------------------------- */

static gdouble
own_startup_ms (CwBenchDaemon *d)
{
  g_autoptr (CwClient) c = cw_bench_daemon_connect (d);
  g_autoptr (JsonNode) h = cw_client_call (c, "daemon_health", NULL, NULL);

  return json_object_get_double_member (json_node_get_object (h), "startupMs");
}

static void
bench_startup_and_rss (void)
{
  GArray *first = g_array_new (FALSE, FALSE, sizeof (gdouble));
  GArray *ready = g_array_new (FALSE, FALSE, sizeof (gdouble));
  GArray *internal = g_array_new (FALSE, FALSE, sizeof (gdouble));
  GArray *pinged = g_array_new (FALSE, FALSE, sizeof (gdouble));
  CwBenchDaemon *d = NULL;
  gchar value[64];
  gint64 rss;
  gdouble p50;

  /* First start on a new data dir creates the database; later starts find it. */
  for (guint i = 0; i < 5; i++)
    {
      gdouble ms;
      if (d != NULL)
        cw_bench_daemon_stop (d);
      d = cw_bench_daemon_start (COWORKD_PATH, NULL, NULL);
      ms = d->ready_ms;
      g_array_append_val (first, ms);
    }
  for (guint i = 0; i < 11; i++)
    {
      gdouble ms, own, ping;
      cw_bench_daemon_restart (d);
      ms = d->ready_ms;
      ping = d->ping_ms;
      own = own_startup_ms (d);
      g_array_append_val (ready, ms);
      g_array_append_val (pinged, ping);
      g_array_append_val (internal, own);
    }
  p50 = cw_bench_percentile (ready, 50);
  g_snprintf (value, sizeof value, "%.1f ms (in-process %.1f ms)", p50,
              cw_bench_percentile (internal, 50));
  cw_bench_row ("start to ready (spawn to READY=1, existing data dir, p50)", value, NULL, "< 20 ms",
                p50 < 20);
  g_snprintf (value, sizeof value, "%.1f ms", cw_bench_percentile (pinged, 50));
  cw_bench_row ("start to first ping answered (client polling), p50", value, NULL, NULL, TRUE);
  g_snprintf (value, sizeof value, "%.1f ms", cw_bench_percentile (first, 50));
  cw_bench_row ("first start on a new data dir (creates the db), p50", value, NULL, NULL, TRUE);

  g_usleep (300000);
  rss = cw_bench_daemon_rss_kib (d);
  g_snprintf (value, sizeof value, "%.1f MiB", rss / 1024.0);
  cw_bench_row ("idle RSS (no plugins loaded)", value, NULL, "< 8 MiB", rss < 8 * 1024);
  cw_bench_daemon_stop (d);
  g_array_unref (first);
  g_array_unref (ready);
  g_array_unref (internal);
  g_array_unref (pinged);
}

static void
bench_ping (const gchar *self_path)
{
  g_autofree gchar *dir = g_dir_make_tmp ("coworkd-bench-echo-XXXXXX", NULL);
  g_autofree gchar *echo_path = g_build_filename (dir, "echo.sock", NULL);
  g_autoptr (GSubprocess) echo = g_subprocess_new (G_SUBPROCESS_FLAGS_NONE, NULL, self_path,
                                                   "--echo-server", echo_path, NULL);
  CwBenchDaemon *d = cw_bench_daemon_start (COWORKD_PATH, NULL, NULL);
  g_autofree gchar *line = g_strdup_printf (
      "{\"id\":\"req_1\",\"command\":\"ping\",\"params\":{},\"authToken\":\"%s\"}\n", d->token);
  GArray *floor = cw_bench_round_trips (echo_path, line, PINGS);
  GArray *ping = cw_bench_round_trips (d->endpoint, line, PINGS);
  gdouble f50 = cw_bench_percentile (floor, 50), f99 = cw_bench_percentile (floor, 99);
  gdouble p50 = cw_bench_percentile (ping, 50), p99 = cw_bench_percentile (ping, 99);
  gchar value[64], fl[64];

  g_snprintf (value, sizeof value, "%.1f us", p50);
  g_snprintf (fl, sizeof fl, "%.1f us (GIO echo)", f50);
  cw_bench_row ("ping round trip p50 (10,000 calls)", value, fl, "< 30 us and < 2x floor",
                p50 < 30 && p50 < 2 * f50);
  g_snprintf (value, sizeof value, "%.1f us", p99);
  g_snprintf (fl, sizeof fl, "%.1f us (GIO echo)", f99);
  cw_bench_row ("ping round trip p99", value, fl, NULL, TRUE);
  g_array_unref (floor);
  g_array_unref (ping);
  cw_bench_daemon_stop (d);
  g_subprocess_force_exit (echo);
  g_subprocess_wait (echo, NULL, NULL);
  cw_bench_rm_rf (dir);
}

static void
bench_events (void)
{
  gdouble floor = sqlite_insert_floor ();
  gchar value[96], fl[64];
  gint64 resyncs1 = 0, resyncs8 = 0;
  gdouble one = deliver_events (1, &resyncs1);
  gdouble eight = deliver_events (8, &resyncs8);

  g_snprintf (fl, sizeof fl, "%.0f/s (raw SQLite insert)", floor);
  g_snprintf (value, sizeof value, "%.0f/s%s", one, resyncs1 ? " (resyncs!)" : "");
  cw_bench_row ("durable events stored + delivered, 1 subscriber", value, fl, NULL, TRUE);
  g_snprintf (value, sizeof value, "%.0f/s%s", eight, resyncs8 ? " (resyncs!)" : "");
  cw_bench_row ("durable events stored + delivered, 8 subscribers", value, fl, ">= 50,000/s",
                eight >= 50000 && resyncs8 == 0);
}

int
main (int argc, char **argv)
{
  if (argc == 3 && g_strcmp0 (argv[1], "--echo-server") == 0)
    return run_echo_server (argv[2]);
    /* With arguments, only the named sections run: startup ping events replay. */
#define WANT(name) (argc < 2 || g_strv_contains ((const gchar *const *) argv + 1, name))
  if (WANT ("startup"))
    bench_startup_and_rss ();
  if (WANT ("ping"))
    bench_ping (argv[0]);
  if (WANT ("events"))
    bench_events ();
  if (WANT ("replay"))
    bench_replay ();
#undef WANT
  return 0;
}
