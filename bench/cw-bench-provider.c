/* cw-bench-provider.c: latency the provider client adds between a provider writing an SSE
 * chunk and the agent's text callback running.
 *
 * A thread plays an OpenAI-compatible server on loopback: it writes one chunk at a time,
 * each carrying the CLOCK_MONOTONIC time of its write as its text, and pauses between chunks
 * so every chunk is delivered alone (latency, not throughput). The client is the real
 * provider stream (libsoup, SSE parser, JSON, callbacks). The floor is the same server read
 * by a bare blocking socket: loopback plus a wake-up, the part no client can remove.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-bench-util.h"
#include "cw-provider.h"

#include <gio/gunixsocketaddress.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>

#define N_CHUNKS 2000
#define PAUSE_US 300

typedef struct
{
  GSocketListener *listener;
  guint16 port;
} BenchServer;

static void
bench_write_chunk (GOutputStream *out, const gchar *payload)
{
  g_autofree gchar *chunk = g_strdup_printf ("%zx\r\n%s\r\n", strlen (payload), payload);
  g_assert_true (g_output_stream_write_all (out, chunk, strlen (chunk), NULL, NULL, NULL));
}

/* Reads the request head (and its small JSON body), then streams. */
static gpointer
bench_server_thread (gpointer user_data)
{
  BenchServer *server = user_data;
  g_autoptr (GSocketConnection) conn = NULL;
  g_autoptr (GError) error = NULL;
  GInputStream *in;
  GOutputStream *out;
  gchar buf[65536];
  gsize have = 0;
  const gchar *head_end;
  const gchar *cl;
  gsize body_len = 0;

  conn = g_socket_listener_accept (server->listener, NULL, NULL, &error);
  g_assert_no_error (error);
  g_socket_set_option (g_socket_connection_get_socket (conn), IPPROTO_TCP, TCP_NODELAY, 1, NULL);
  in = g_io_stream_get_input_stream (G_IO_STREAM (conn));
  out = g_io_stream_get_output_stream (G_IO_STREAM (conn));
  do
    {
      gssize n = g_input_stream_read (in, buf + have, sizeof buf - 1 - have, NULL, &error);
      g_assert_cmpint (n, >, 0);
      have += n;
      buf[have] = '\0';
      head_end = strstr (buf, "\r\n\r\n");
    }
  while (head_end == NULL);
  cl = g_strstr_len (buf, head_end - buf, "Content-Length: ");
  if (cl == NULL)
    cl = g_strstr_len (buf, head_end - buf, "content-length: ");
  if (cl != NULL)
    body_len = g_ascii_strtoull (cl + 16, NULL, 10);
  while (have < (gsize) (head_end + 4 - buf) + body_len)
    {
      gssize n = g_input_stream_read (in, buf + have, sizeof buf - 1 - have, NULL, &error);
      g_assert_cmpint (n, >, 0);
      have += n;
    }

  g_assert_true (g_output_stream_write_all (out,
                                            "HTTP/1.1 200 OK\r\n"
                                            "Content-Type: text/event-stream\r\n"
                                            "Transfer-Encoding: chunked\r\n"
                                            "Connection: close\r\n\r\n",
                                            strlen ("HTTP/1.1 200 OK\r\n"
                                                    "Content-Type: text/event-stream\r\n"
                                                    "Transfer-Encoding: chunked\r\n"
                                                    "Connection: close\r\n\r\n"),
                                            NULL, NULL, NULL));
  for (guint i = 0; i < N_CHUNKS; i++)
    {
      g_autofree gchar *payload = NULL;
      g_usleep (PAUSE_US);
      payload = g_strdup_printf (
          "data: {\"id\":\"b\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,"
          "\"delta\":{\"content\":\"%" G_GINT64_FORMAT "\"},\"finish_reason\":null}]}\n\n",
          g_get_monotonic_time ());
      bench_write_chunk (out, payload);
    }
  bench_write_chunk (out, "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":"
                          "\"stop\"}]}\n\ndata: [DONE]\n\n");
  g_output_stream_write_all (out, "0\r\n\r\n", 5, NULL, NULL, NULL);
  g_io_stream_close (G_IO_STREAM (conn), NULL, NULL);
  return NULL;
}

static BenchServer *
bench_server_start (GThread **out_thread)
{
  BenchServer *server = g_new0 (BenchServer, 1);
  g_autoptr (GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr (GSocketAddress) bound = NULL;
  g_autoptr (GError) error = NULL;

  server->listener = g_socket_listener_new ();
  g_socket_listener_add_address (server->listener, address, G_SOCKET_TYPE_STREAM,
                                 G_SOCKET_PROTOCOL_TCP, NULL, &bound, &error);
  g_assert_no_error (error);
  server->port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  *out_thread = g_thread_new ("bench-llm", bench_server_thread, server);
  return server;
}

static void
bench_server_free (BenchServer *server, GThread *thread)
{
  g_thread_join (thread);
  g_socket_listener_close (server->listener);
  g_object_unref (server->listener);
  g_free (server);
}

/* ---- the provider client ---------------------------------------------------------------- */

typedef struct
{
  GArray *samples;
  GMainLoop *loop;
  gboolean ok;
} BenchRun;

static void
bench_on_text (const gchar *delta, gpointer user_data)
{
  BenchRun *run = user_data;
  gdouble latency = (gdouble) (g_get_monotonic_time () - g_ascii_strtoll (delta, NULL, 10));
  g_array_append_val (run->samples, latency);
}

static void
bench_on_done (const gchar *stop_reason, const GError *error, gpointer user_data)
{
  BenchRun *run = user_data;
  if (error != NULL)
    g_printerr ("provider stream failed: %s\n", error->message);
  run->ok = error == NULL;
  g_main_loop_quit (run->loop);
}

static GArray *
bench_provider (void)
{
  GThread *thread = NULL;
  BenchServer *server = bench_server_start (&thread);
  g_autoptr (SoupSession) session = soup_session_new ();
  g_autofree gchar *base_url = g_strdup_printf ("http://127.0.0.1:%u", server->port);
  g_autoptr (JsonArray) messages = json_array_new ();
  g_autoptr (JsonObject) user = json_object_new ();
  g_autoptr (GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  BenchRun run = { g_array_new (FALSE, FALSE, sizeof (gdouble)), loop, FALSE };
  CwProviderCallbacks callbacks = { .text = bench_on_text, .done = bench_on_done };
  CwProviderRequest request = {
    .provider_id = "lmstudio",
    .base_url = base_url,
    .model = "bench",
    .messages = messages,
  };
  CwProviderStream *stream;

  json_object_set_string_member (user, "role", "user");
  json_object_set_string_member (user, "content", "go");
  json_array_add_object_element (messages, json_object_ref (user));
  stream = cw_provider_stream_start (session, &request, &callbacks, &run);
  g_main_loop_run (loop);
  cw_provider_stream_free (stream);
  bench_server_free (server, thread);
  if (!run.ok)
    {
      g_array_unref (run.samples);
      return NULL;
    }
  return run.samples;
}

/* ---- the floor: a bare socket reading the same stream --------------------------------- */

static GArray *
bench_floor (void)
{
  GThread *thread = NULL;
  BenchServer *server = bench_server_start (&thread);
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_autoptr (GSocketConnection) conn = NULL;
  g_autoptr (GError) error = NULL;
  GArray *samples = g_array_new (FALSE, FALSE, sizeof (gdouble));
  const gchar *request = "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
                         "Content-Length: 2\r\n\r\n{}";
  gchar buf[65536];

  conn = g_socket_client_connect_to_host (client, "127.0.0.1", server->port, NULL, &error);
  g_assert_no_error (error);
  g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (conn)), request,
                             strlen (request), NULL, NULL, &error);
  g_assert_no_error (error);
  for (;;)
    {
      gssize n = g_input_stream_read (g_io_stream_get_input_stream (G_IO_STREAM (conn)), buf,
                                      sizeof buf - 1, NULL, NULL);
      gint64 now = g_get_monotonic_time ();
      const gchar *p = buf;

      if (n <= 0)
        break;
      buf[n] = '\0';
      while ((p = strstr (p, "\"content\":\"")) != NULL)
        {
          gdouble latency;
          p += strlen ("\"content\":\"");
          latency = (gdouble) (now - g_ascii_strtoll (p, NULL, 10));
          g_array_append_val (samples, latency);
        }
    }
  bench_server_free (server, thread);
  return samples;
}

/* ---- the whole daemon: chunk on the wire to stream:chunk event on a client's socket ---- */

static GArray *
bench_daemon (void)
{
  GThread *thread = NULL;
  BenchServer *server = bench_server_start (&thread);
  g_autofree gchar *workdir = g_dir_make_tmp ("coworkd-bench-work-XXXXXX", NULL);
  CwBenchDaemon *d
      = cw_bench_daemon_start (COWORKD_PATH, NULL, "--plugin-dir", AGENT_PLUGIN_DIR, NULL);
  g_autoptr (CwClient) ctl = cw_bench_daemon_connect (d);
  g_autoptr (GError) error = NULL;
  g_autofree gchar *config = g_strdup_printf (
      "{\"config\":{\"activeProvider\":\"lmstudio\",\"providerBaseUrls\":{\"lmstudio\":"
      "\"http://127.0.0.1:%u\"}}}",
      server->port);
  g_autofree gchar *create
      = g_strdup_printf ("{\"workingDirectory\":\"%s\",\"provider\":\"lmstudio\"}", workdir);
  g_autoptr (JsonNode) p1 = cw_json_from_string (config, -1, NULL);
  g_autoptr (JsonNode) p2 = cw_json_from_string (create, -1, NULL);
  g_autoptr (JsonNode) r1 = cw_client_call (ctl, "set_runtime_config", p1, &error);
  g_autoptr (JsonNode) session = cw_client_call (ctl, "create_session", p2, &error);
  g_autoptr (GSocketClient) sc = g_socket_client_new ();
  g_autoptr (GSocketAddress) addr = g_unix_socket_address_new (d->endpoint);
  g_autoptr (GSocketConnection) conn = NULL;
  g_autoptr (GDataInputStream) in = NULL;
  g_autofree gchar *send = NULL;
  GArray *samples = g_array_new (FALSE, FALSE, sizeof (gdouble));

  g_assert_no_error (error);
  send = g_strdup_printf ("{\"id\":\"send\",\"command\":\"send_message\",\"params\":{"
                          "\"sessionId\":\"%s\",\"content\":\"go\"},\"authToken\":\"%s\"}\n",
                          json_object_get_string_member (json_node_get_object (session), "id"),
                          d->token);
  conn = g_socket_client_connect (sc, G_SOCKET_CONNECTABLE (addr), NULL, &error);
  g_assert_no_error (error);
  in = g_data_input_stream_new (g_io_stream_get_input_stream (G_IO_STREAM (conn)));
  g_buffered_input_stream_set_buffer_size (G_BUFFERED_INPUT_STREAM (in), 1 << 20);
  g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (conn)), send,
                             strlen (send), NULL, NULL, &error);
  g_assert_no_error (error);
  for (;;)
    {
      g_autofree gchar *line = g_data_input_stream_read_line (in, NULL, NULL, NULL);
      gint64 now = g_get_monotonic_time ();
      const gchar *p;

      if (line == NULL || strstr (line, "\"id\":\"send\"") != NULL)
        break;
      if (strstr (line, "\"type\":\"stream:chunk\"") == NULL
          || (p = strstr (line, "\"content\":\"")) == NULL)
        continue;
      {
        gdouble latency
            = (gdouble) (now - g_ascii_strtoll (p + strlen ("\"content\":\""), NULL, 10));
        g_array_append_val (samples, latency);
      }
    }
  cw_bench_daemon_stop (d);
  bench_server_free (server, thread);
  cw_bench_rm_rf (workdir);
  return samples;
}

int
main (int argc, char **argv)
{
  g_autoptr (GArray) floor = bench_floor ();
  g_autoptr (GArray) client = bench_provider ();
  gdouble f50, f99, c50, c99;
  g_autofree gchar *value50 = NULL;
  g_autofree gchar *value99 = NULL;
  g_autofree gchar *floor50 = NULL;
  g_autofree gchar *floor99 = NULL;

  if (client == NULL || client->len != N_CHUNKS || floor->len != N_CHUNKS)
    {
      g_printerr ("cw-bench-provider: expected %d samples\n", N_CHUNKS);
      return 1;
    }
  f50 = cw_bench_percentile (floor, 50);
  f99 = cw_bench_percentile (floor, 99);
  c50 = cw_bench_percentile (client, 50);
  c99 = cw_bench_percentile (client, 99);
  value50 = g_strdup_printf ("%.0f us (+%.0f us)", c50, c50 - f50);
  value99 = g_strdup_printf ("%.0f us (+%.0f us)", c99, c99 - f99);
  floor50 = g_strdup_printf ("%.0f us (bare socket)", f50);
  floor99 = g_strdup_printf ("%.0f us (bare socket)", f99);
  cw_bench_row ("provider SSE chunk to text callback, p50 (2,000 chunks)", value50, floor50,
                "< 1 ms added", c50 - f50 < 1000);
  cw_bench_row ("provider SSE chunk to text callback, p99 (2,000 chunks)", value99, floor99,
                "< 1 ms added", c99 - f99 < 1000);
  {
    g_autoptr (GArray) daemon = bench_daemon ();
    gdouble d50 = cw_bench_percentile (daemon, 50), d99 = cw_bench_percentile (daemon, 99);
    g_autofree gchar *v50
        = g_strdup_printf ("%.0f us (+%.0f us, %u chunks)", d50, d50 - f50, daemon->len);
    g_autofree gchar *v99 = g_strdup_printf ("%.0f us (+%.0f us)", d99, d99 - f99);

    cw_bench_row ("provider chunk to stream:chunk event on a client socket (daemon), p50", v50,
                  floor50, "< 1 ms added", daemon->len == N_CHUNKS && d50 - f50 < 1000);
    cw_bench_row ("provider chunk to stream:chunk event on a client socket (daemon), p99", v99,
                  floor99, "< 1 ms added", d99 - f99 < 1000);
  }
  return 0;
}
