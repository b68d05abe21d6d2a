/* cw-bench-remote.c: remote access in the real daemon with 10 paired phones on the
 * WebSocket: how long an event takes from the bus to every phone, how long a new phone
 * takes from pairing to its first event, and the daemon's memory with 10 phones connected.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-bench-util.h"

#include <libsoup/soup.h>
#include <stdio.h>
#include <string.h>

#define PHONES  10
#define SAMPLES 300

typedef struct
{
  SoupWebsocketConnection *conn;
  gint64 waiting_seq; /* the seq whose arrival is timed, 0: none */
  gdouble got_us;
  gboolean ready;
} Phone;

static JsonObject *
call (CwClient *c, const gchar *command, const gchar *params_json)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) params
      = params_json != NULL ? cw_json_from_string (params_json, -1, NULL) : NULL;
  JsonNode *r = cw_client_call (c, command, params, &error);

  if (r == NULL)
    g_error ("%s: %s", command, error->message);
  return json_object_ref (json_node_get_object (r));
}

static gchar *
new_code (CwClient *c)
{
  g_autoptr (JsonObject) qr = call (c, "remote_access_generate_qr", NULL);
  const gchar *uri = json_object_get_string_member (qr, "pairingUri");
  g_autofree gchar *d = g_uri_unescape_string (strchr (uri, '=') + 1, NULL);
  g_autoptr (GString) b64 = g_string_new (d);
  g_autofree guchar *json = NULL;
  g_autoptr (JsonNode) payload = NULL;
  gsize len;

  g_strdelimit (b64->str, "-", '+');
  g_strdelimit (b64->str, "_", '/');
  while (b64->len % 4 != 0)
    g_string_append_c (b64, '=');
  json = g_base64_decode (b64->str, &len);
  payload = cw_json_from_string ((const gchar *) json, len, NULL);
  return g_strdup (json_object_get_string_member (json_node_get_object (payload), "pairingCode"));
}

static gchar *
pair (SoupSession *session, const gchar *base, const gchar *code)
{
  g_autofree gchar *url = g_strconcat (base, "/v1/pair", NULL);
  g_autofree gchar *body
      = g_strdup_printf ("{\"pairingCode\":\"%s\",\"deviceName\":\"bench\"}", code);
  g_autoptr (SoupMessage) msg = soup_message_new ("POST", url);
  g_autoptr (GBytes) b = g_bytes_new (body, strlen (body));
  g_autoptr (GBytes) reply = NULL;
  g_autoptr (JsonNode) node = NULL;

  soup_message_set_request_body_from_bytes (msg, "application/json", b);
  reply = soup_session_send_and_read (session, msg, NULL, NULL);
  g_assert (soup_message_get_status (msg) == 200);
  node = cw_json_from_string (g_bytes_get_data (reply, NULL), g_bytes_get_size (reply), NULL);
  return g_strdup (json_object_get_string_member (json_node_get_object (node), "token"));
}

static void
on_message (SoupWebsocketConnection *conn, gint type, GBytes *message, Phone *p)
{
  g_autoptr (JsonNode) node
      = cw_json_from_string (g_bytes_get_data (message, NULL), g_bytes_get_size (message), NULL);
  JsonObject *obj = node != NULL ? json_node_get_object (node) : NULL;
  const gchar *type_name = obj != NULL ? json_object_get_string_member (obj, "type") : NULL;

  if (g_strcmp0 (type_name, "ready") == 0)
    p->ready = TRUE;
  else if (g_strcmp0 (type_name, "event") == 0 && p->waiting_seq > 0
           && json_object_get_int_member (json_object_get_object_member (obj, "event"), "seq")
                  >= p->waiting_seq)
    {
      p->got_us = cw_bench_now_us ();
      p->waiting_seq = 0;
    }
}

static void
on_connected (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Phone *p = user_data;

  p->conn = soup_session_websocket_connect_finish (SOUP_SESSION (source), res, NULL);
  g_assert (p->conn != NULL);
  g_signal_connect (p->conn, "message", G_CALLBACK (on_message), p);
}

static void
connect_phone (SoupSession *session, const gchar *base, const gchar *token, Phone *p)
{
  g_autofree gchar *url = g_strdup_printf ("ws%s/v1/ws?token=%s", base + 4, token);
  SoupMessage *msg = soup_message_new ("GET", url);

  soup_session_websocket_connect_async (session, msg, NULL, NULL, G_PRIORITY_DEFAULT, NULL,
                                        on_connected, p);
  g_object_unref (msg);
  while (!p->ready)
    g_main_context_iteration (NULL, TRUE);
}

static gboolean
all_got (Phone *phones, guint n)
{
  for (guint i = 0; i < n; i++)
    if (phones[i].waiting_seq > 0)
      return FALSE;
  return TRUE;
}

/* Emits one event and waits for it on @n phones; returns the send time. */
static gdouble
emit_and_wait (CwClient *c, Phone *phones, guint n)
{
  gdouble start;
  gint64 expect;
  g_autoptr (JsonObject) r = NULL;

  {
    g_autoptr (JsonObject) since = call (c, "agent_get_events_since", "{\"limit\":1}");
    expect = json_object_get_int_member (since, "eventCursor") + 1;
  }
  for (guint i = 0; i < n; i++)
    phones[i].waiting_seq = expect;
  start = cw_bench_now_us ();
  r = call (c, "bench_emit", "{\"count\":1,\"payloadBytes\":200}");
  while (!all_got (phones, n))
    g_main_context_iteration (NULL, TRUE);
  return start;
}

int
main (int argc, char **argv)
{
  g_autoptr (SoupSession) session = soup_session_new ();
  g_autoptr (GArray) samples = g_array_new (FALSE, FALSE, sizeof (gdouble));
  CwBenchDaemon *d = cw_bench_daemon_start (COWORKD_PATH, NULL, "--plugin-dir", BENCH_PLUGIN_DIR,
                                            "--plugin-dir", REMOTE_PLUGIN_DIR, NULL);
  g_autoptr (CwClient) c = cw_bench_daemon_connect (d);
  g_autoptr (JsonObject) enabled = NULL;
  Phone phones[PHONES + 1] = { { 0 } };
  const gchar *base;
  gint64 rss_off, rss_on;
  gdouble start, pair_ms, p50, p99;
  gchar value[96], floor[96];

  rss_off = cw_bench_daemon_rss_kib (d);
  enabled = call (c, "remote_access_enable", NULL);
  base = json_object_get_string_member (enabled, "localBaseUrl");
  for (guint i = 0; i < PHONES; i++)
    {
      g_autofree gchar *code = new_code (c);
      g_autofree gchar *token = pair (session, base, code);
      connect_phone (session, base, token, &phones[i]);
    }
  for (guint i = 0; i < 20; i++) /* warm-up */
    emit_and_wait (c, phones, PHONES);
  for (guint i = 0; i < SAMPLES; i++)
    {
      start = emit_and_wait (c, phones, PHONES);
      for (guint k = 0; k < PHONES; k++)
        {
          gdouble us = phones[k].got_us - start;
          g_array_append_val (samples, us);
        }
    }
  rss_on = cw_bench_daemon_rss_kib (d);
  p50 = cw_bench_percentile (samples, 50) / 1000.0;
  p99 = cw_bench_percentile (samples, 99) / 1000.0;
  g_snprintf (value, sizeof value, "p50 %.2f ms, p99 %.2f ms", p50, p99);
  cw_bench_row ("event from the bus to the phone's WebSocket, 10 phones (emit request to "
                "receipt)",
                value, NULL, "p99 < 50 ms", p99 < 50);

  /* A new phone: pairing request to its first event. */
  {
    g_autofree gchar *code = new_code (c);
    g_autofree gchar *token = NULL;
    start = cw_bench_now_us ();
    token = pair (session, base, code);
    connect_phone (session, base, token, &phones[PHONES]);
    {
      g_autoptr (JsonObject) r = call (c, "bench_emit", "{\"count\":1}");
      phones[PHONES].waiting_seq = json_object_get_int_member (r, "last");
    }
    while (phones[PHONES].waiting_seq > 0)
      g_main_context_iteration (NULL, TRUE);
    pair_ms = (phones[PHONES].got_us - start) / 1000.0;
  }
  g_snprintf (value, sizeof value, "%.1f ms", pair_ms);
  cw_bench_row ("pairing (POST /v1/pair) to the first event on the new phone's WebSocket", value,
                NULL, "< 200 ms", pair_ms < 200);

  g_snprintf (value, sizeof value, "%" G_GINT64_FORMAT " KiB", rss_on);
  g_snprintf (floor, sizeof floor, "%" G_GINT64_FORMAT " KiB remote access off", rss_off);
  cw_bench_row ("daemon RSS, remote access on, 10 phones connected", value, floor,
                "< +8 MiB over off", rss_on - rss_off < 8 * 1024);

  for (guint i = 0; i <= PHONES; i++)
    if (phones[i].conn != NULL)
      {
        soup_websocket_connection_close (phones[i].conn, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
        g_object_unref (phones[i].conn);
      }
  cw_bench_daemon_stop (d);
  return 0;
}
