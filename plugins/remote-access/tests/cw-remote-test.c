/* cw-remote-test.c: see cw-remote-test.h.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-remote-test.h"

#include <string.h>

AgentFixture *
remote_fixture_new (gboolean with_fixture)
{
  AgentFixture *f = agent_fixture_new ();
  g_autofree gchar *clock = g_strdup_printf ("%" G_GINT64_FORMAT, REMOTE_T0);
  const gchar *services = g_getenv ("CW_TEST_SERVICES_DIR");

  cw_test_daemon_setenv (f->daemon, "COWORK_TEST_CLOCK", clock);
  if (services != NULL)
    {
      cw_test_daemon_add_arg (f->daemon, "--plugin-dir");
      cw_test_daemon_add_arg (f->daemon, services);
    }
  if (with_fixture)
    {
      g_autofree gchar *dir = g_build_filename (f->daemon->dir, "remote-access", NULL);
      const gchar *names[] = { "config.json", "config.json.bak" };
      g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
      for (guint i = 0; i < G_N_ELEMENTS (names); i++)
        {
          g_autofree gchar *src = g_test_build_filename (G_TEST_DIST, "data", names[i], NULL);
          g_autofree gchar *dst = g_build_filename (dir, names[i], NULL);
          g_autofree gchar *text = NULL;
          gsize len;
          g_assert_true (g_file_get_contents (src, &text, &len, NULL));
          g_assert_true (g_file_set_contents (dst, text, len, NULL));
        }
    }
  return f;
}

JsonObject *
remote_call (AgentFixture *f, const gchar *command, const gchar *params_json)
{
  g_autoptr (CwClient) c = cw_test_daemon_connect (f->daemon);
  g_autoptr (JsonNode) r = cw_test_daemon_call (c, command, params_json);

  return json_object_ref (cw_test_obj (r));
}

void
remote_set_clock (AgentFixture *f, gint64 now_ms)
{
  g_autofree gchar *params = g_strdup_printf ("{\"nowMs\":%" G_GINT64_FORMAT "}", now_ms);
  g_autoptr (CwClient) c = cw_test_daemon_connect (f->daemon);
  g_autoptr (JsonNode) r = cw_test_daemon_call (c, "test_clock_set", params);
}

gchar *
remote_enable (AgentFixture *f)
{
  g_autoptr (JsonObject) s = remote_call (f, "remote_access_enable", "{}");

  g_assert_true (json_object_get_boolean_member (s, "running"));
  return g_strdup (json_object_get_string_member (s, "localBaseUrl"));
}

gchar *
remote_new_code (AgentFixture *f)
{
  g_autoptr (JsonObject) qr = remote_call (f, "remote_access_generate_qr", "{}");
  const gchar *uri = json_object_get_string_member (qr, "pairingUri");
  g_autofree gchar *d = NULL, *padded = NULL, *json = NULL;
  g_autoptr (JsonNode) payload = NULL;
  gsize len;

  g_assert_true (g_str_has_prefix (uri, "cowork://pair?d="));
  d = g_uri_unescape_string (uri + strlen ("cowork://pair?d="), NULL);
  padded = g_strnfill (strlen (d) + (4 - strlen (d) % 4) % 4, '=');
  memcpy (padded, d, strlen (d));
  for (gchar *p = padded; *p != '\0'; p++)
    if (*p == '-')
      *p = '+';
    else if (*p == '_')
      *p = '/';
  json = (gchar *) g_base64_decode (padded, &len);
  payload = cw_json_from_string (json, len, NULL);
  g_assert_nonnull (payload);
  g_assert_cmpint (json_object_get_int_member (json_node_get_object (payload), "version"), ==, 1);
  return g_strdup (json_object_get_string_member (json_node_get_object (payload), "pairingCode"));
}

gchar *
remote_pair (AgentFixture *f, const gchar *base, const gchar *name, gchar **device_id)
{
  g_autofree gchar *code = remote_new_code (f);
  g_autofree gchar *url = g_strconcat (base, "/v1/pair", NULL);
  g_autofree gchar *body = g_strdup_printf (
      "{\"pairingCode\":\"%s\",\"deviceName\":\"%s\",\"platform\":\"android\"}", code, name);
  g_autoptr (JsonObject) reply = NULL;

  g_assert_cmpuint (remote_http ("POST", url, body, NULL, NULL, &reply), ==, 200);
  if (device_id != NULL)
    *device_id = g_strdup (
        json_object_get_string_member (json_object_get_object_member (reply, "device"), "id"));
  return g_strdup (json_object_get_string_member (reply, "token"));
}

guint
remote_http (const gchar *method, const gchar *url, const gchar *body, const gchar *token,
             const gchar *headers, JsonObject **reply)
{
  g_autoptr (SoupSession) session = soup_session_new ();
  g_autoptr (SoupMessage) msg = soup_message_new (method, url);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) bytes = NULL;
  g_autoptr (JsonNode) node = NULL;

  g_assert_nonnull (msg);
  if (body != NULL)
    {
      g_autoptr (GBytes) b = g_bytes_new (body, strlen (body));
      soup_message_set_request_body_from_bytes (msg, "application/json", b);
    }
  if (token != NULL)
    {
      g_autofree gchar *auth = g_strconcat ("Bearer ", token, NULL);
      soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization", auth);
    }
  if (headers != NULL)
    {
      g_auto (GStrv) lines = g_strsplit (headers, "\n", -1);
      for (guint i = 0; lines[i] != NULL; i++)
        {
          g_auto (GStrv) kv = g_strsplit (lines[i], ": ", 2);
          if (kv[0] != NULL && kv[1] != NULL)
            soup_message_headers_replace (soup_message_get_request_headers (msg), kv[0], kv[1]);
        }
    }
  bytes = soup_session_send_and_read (session, msg, NULL, &error);
  g_assert_no_error (error);
  if (reply != NULL)
    {
      *reply = NULL;
      if (g_bytes_get_size (bytes) > 0)
        node = cw_json_from_string (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), NULL);
      if (node != NULL && JSON_NODE_HOLDS_OBJECT (node))
        *reply = json_object_ref (json_node_get_object (node));
    }
  return soup_message_get_status (msg);
}

/* ---- WebSocket ---- */

static void
on_ws_message (SoupWebsocketConnection *conn, gint type, GBytes *message, RemoteWs *ws)
{
  g_autoptr (JsonNode) node
      = cw_json_from_string (g_bytes_get_data (message, NULL), g_bytes_get_size (message), NULL);

  g_assert_nonnull (node);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (node));
  g_queue_push_tail (&ws->messages, json_object_ref (json_node_get_object (node)));
}

static void
on_ws_closed (SoupWebsocketConnection *conn, RemoteWs *ws)
{
  ws->closed = TRUE;
  ws->close_code = soup_websocket_connection_get_close_code (conn);
  ws->close_reason = g_strdup (soup_websocket_connection_get_close_data (conn));
}

static void
on_ws_connected (GObject *source, GAsyncResult *res, gpointer user_data)
{
  RemoteWs *ws = user_data;

  ws->conn = soup_session_websocket_connect_finish (SOUP_SESSION (source), res, &ws->error);
  if (ws->conn == NULL)
    {
      ws->closed = TRUE;
      return;
    }
  soup_websocket_connection_set_max_incoming_payload_size (ws->conn, 0);
  g_signal_connect (ws->conn, "message", G_CALLBACK (on_ws_message), ws);
  g_signal_connect (ws->conn, "closed", G_CALLBACK (on_ws_closed), ws);
}

RemoteWs *
remote_ws_open (const gchar *base, const gchar *query, const gchar *token)
{
  g_autofree gchar *url = g_strdup_printf ("%s/v1/ws%s%s", base, query != NULL ? "?" : "",
                                           query != NULL ? query : "");

  g_assert_true (g_str_has_prefix (url, "http://"));
  memcpy (url, "ws", 2);
  memmove (url + 2, url + 4, strlen (url + 4) + 1);
  return remote_ws_open_url (url, token);
}

RemoteWs *
remote_ws_open_url (const gchar *url, const gchar *token)
{
  RemoteWs *ws = g_new0 (RemoteWs, 1);
  g_autoptr (SoupMessage) msg = NULL;
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  g_queue_init (&ws->messages);
  msg = soup_message_new ("GET", url);
  if (token != NULL)
    {
      g_autofree gchar *auth = g_strconcat ("Bearer ", token, NULL);
      soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization", auth);
    }
  ws->session = soup_session_new ();
  soup_session_websocket_connect_async (ws->session, msg, NULL, NULL, G_PRIORITY_DEFAULT, NULL,
                                        on_ws_connected, ws);
  while (ws->conn == NULL && ws->error == NULL)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, TRUE);
    }
  return ws;
}

void
remote_ws_free (RemoteWs *ws)
{
  if (ws->conn != NULL)
    {
      g_signal_handlers_disconnect_by_data (ws->conn, ws);
      if (soup_websocket_connection_get_state (ws->conn) == SOUP_WEBSOCKET_STATE_OPEN)
        soup_websocket_connection_close (ws->conn, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
      g_object_unref (ws->conn);
    }
  g_queue_clear_full (&ws->messages, (GDestroyNotify) json_object_unref);
  g_clear_object (&ws->session);
  g_clear_error (&ws->error);
  g_free (ws->close_reason);
  g_free (ws);
}

void
remote_ws_send (RemoteWs *ws, const gchar *json)
{
  soup_websocket_connection_send_text (ws->conn, json);
}

static gboolean
on_timeout (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

JsonObject *
remote_ws_next (RemoteWs *ws, guint timeout_ms)
{
  gboolean timed_out = FALSE;
  guint id = g_timeout_add (timeout_ms, on_timeout, &timed_out);

  while (g_queue_is_empty (&ws->messages) && !timed_out && !ws->closed)
    g_main_context_iteration (NULL, TRUE);
  if (!timed_out)
    g_source_remove (id);
  if (g_queue_is_empty (&ws->messages))
    g_error ("no WebSocket message within %u ms (closed: %d, code %u)", timeout_ms, ws->closed,
             ws->close_code);
  return g_queue_pop_head (&ws->messages);
}

JsonObject *
remote_ws_next_type (RemoteWs *ws, const gchar *type, guint timeout_ms)
{
  for (;;)
    {
      JsonObject *m = remote_ws_next (ws, timeout_ms);
      if (g_strcmp0 (json_object_get_string_member (m, "type"), type) == 0)
        return m;
      json_object_unref (m);
    }
}

gushort
remote_ws_wait_closed (RemoteWs *ws, guint timeout_ms)
{
  gboolean timed_out = FALSE;
  guint id = g_timeout_add (timeout_ms, on_timeout, &timed_out);

  while (!ws->closed && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  if (!timed_out)
    g_source_remove (id);
  g_assert_true (ws->closed);
  return ws->close_code;
}

void
remote_ws_pump (RemoteWs *ws, guint ms)
{
  gboolean timed_out = FALSE;

  g_timeout_add (ms, on_timeout, &timed_out);
  while (!timed_out)
    g_main_context_iteration (NULL, TRUE);
}

JsonObject *
remote_frame_event (JsonObject *frame)
{
  g_assert_cmpstr (json_object_get_string_member (frame, "type"), ==, "event");
  return json_object_get_object_member (frame, "event");
}

GPtrArray *
remote_audit (AgentFixture *f, const gchar *action)
{
  g_autoptr (JsonObject) r = remote_call (f, "audit_list", "{\"limit\":1000}");
  JsonArray *entries = json_object_get_array_member (r, "entries");
  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);

  for (guint i = 0; i < json_array_get_length (entries); i++)
    {
      JsonObject *e = json_array_get_object_element (entries, i);
      if (g_strcmp0 (json_object_get_string_member (e, "action"), action) == 0)
        g_ptr_array_add (out, json_object_ref (e));
    }
  return out;
}
