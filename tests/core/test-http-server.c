/* test-http-server.c: the shared HTTP server on an ephemeral loopback port, through real
 * HTTP requests with SoupSession: routing, ownership, 404s, size and time limits, a
 * WebSocket echo, and what goes when an owner goes.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-test-daemon.h"

typedef struct
{
  CwHttpServer *server;
  SoupSession *session;
  gchar *base;
  CwHttpRequest *held; /* a request the test answers itself */
  guint calls;
} Fixture;

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  f->server = cw_http_server_new (NULL, 0);
  f->session = soup_session_new ();
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  g_clear_object (&f->held);
  g_object_unref (f->server);
  g_object_unref (f->session);
  g_free (f->base);
}

/* Answers {method, path, body, handler}. */
static void
echo (CwHttpRequest *req, gpointer user_data)
{
  Fixture *f = user_data;
  g_autoptr (GBytes) body = cw_http_request_get_body (req);
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autofree gchar *text = g_strndup (g_bytes_get_data (body, NULL), g_bytes_get_size (body));

  f->calls++;
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "method");
  json_builder_add_string_value (b, cw_http_request_get_method (req));
  json_builder_set_member_name (b, "path");
  json_builder_add_string_value (b, cw_http_request_get_path (req));
  json_builder_set_member_name (b, "body");
  json_builder_add_string_value (b, text);
  json_builder_end_object (b);
  g_assert_true (cw_http_request_respond_json (req, 200, json_builder_get_root (b)));
  g_assert_false (cw_http_request_respond_error (req, 500, "twice"));
}

static void
special (CwHttpRequest *req, gpointer user_data)
{
  g_autoptr (GBytes) body = g_bytes_new_static ("special", 7);

  cw_http_request_respond (req, 201, "text/plain", body);
}

static void
hold (CwHttpRequest *req, gpointer user_data)
{
  Fixture *f = user_data;

  f->calls++;
  g_set_object (&f->held, req);
}

static gboolean
answer_later_cb (gpointer user_data)
{
  CwHttpRequest *req = user_data;

  g_assert_true (cw_http_request_respond_error (req, 202, "later"));
  g_object_unref (req);
  return G_SOURCE_REMOVE;
}

static void
later (CwHttpRequest *req, gpointer user_data)
{
  g_idle_add (answer_later_cb, g_object_ref (req));
}

static void
add (Fixture *f, const gchar *owner, const gchar *path, CwHttpHandlerFunc func)
{
  g_autoptr (GError) error = NULL;

  g_assert_true (cw_http_server_add_route (f->server, owner, path, func, f, NULL, &error));
  g_assert_no_error (error);
  g_free (f->base);
  f->base = cw_http_server_get_base_url (f->server);
}

typedef struct
{
  GBytes *body;
  GError *error;
  gboolean done;
} Reply;

static void
sent_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Reply *r = user_data;

  r->body = soup_session_send_and_read_finish (SOUP_SESSION (source), result, &r->error);
  r->done = TRUE;
}

static void
spin_until (gboolean *done)
{
  while (!*done)
    g_main_context_iteration (NULL, TRUE);
}

/* Sends a request and returns the status; *out gets the body text. */
static guint
request (Fixture *f, const gchar *method, const gchar *path, const gchar *body, gchar **out)
{
  g_autofree gchar *url = g_strconcat (f->base, path, NULL);
  g_autoptr (SoupMessage) msg = soup_message_new (method, url);
  Reply r = { 0 };

  g_assert_nonnull (msg);
  if (body != NULL)
    {
      g_autoptr (GBytes) bytes = g_bytes_new (body, strlen (body));
      soup_message_set_request_body_from_bytes (msg, "text/plain", bytes);
    }
  soup_session_send_and_read_async (f->session, msg, G_PRIORITY_DEFAULT, NULL, sent_cb, &r);
  spin_until (&r.done);
  g_assert_no_error (r.error);
  if (out != NULL)
    *out = g_strndup (g_bytes_get_data (r.body, NULL), g_bytes_get_size (r.body));
  g_bytes_unref (r.body);
  return soup_message_get_status (msg);
}

static JsonObject *
parse (const gchar *text)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) node = cw_json_from_string (text, -1, &error);

  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (node));
  return json_object_ref (json_node_get_object (node));
}

static void
assert_error_body (const gchar *text, const gchar *message)
{
  g_autoptr (JsonObject) o = parse (text);

  g_assert_cmpstr (json_object_get_string_member (o, "error"), ==, message);
}

static void
test_off_until_a_route (Fixture *f, gconstpointer data)
{
  g_autoptr (JsonObject) health = cw_http_server_get_health (f->server);
  g_autoptr (JsonObject) after = NULL;
  g_autofree gchar *want4 = NULL, *want6 = NULL;
  JsonArray *addresses;
  guint port;

  g_assert_false (json_object_get_boolean_member (health, "listening"));
  g_assert_null (cw_http_server_get_base_url (f->server));
  add (f, "a", "/a/*", echo);
  g_assert_true (g_str_has_prefix (f->base, "http://127.0.0.1:"));
  port = (guint) g_ascii_strtoull (f->base + strlen ("http://127.0.0.1:"), NULL, 10);
  g_assert_cmpuint (port, >, 0);
  after = cw_http_server_get_health (f->server);
  g_assert_true (json_object_get_boolean_member (after, "listening"));
  /* Loopback only, both families. */
  addresses = json_object_get_array_member (after, "addresses");
  want4 = g_strdup_printf ("127.0.0.1:%u", port);
  want6 = g_strdup_printf ("[::1]:%u", port);
  g_assert_cmpuint (json_array_get_length (addresses), ==, 2);
  for (guint i = 0; i < 2; i++)
    {
      const gchar *a = json_array_get_string_element (addresses, i);
      g_assert_true (g_strcmp0 (a, want4) == 0 || g_strcmp0 (a, want6) == 0);
    }
}

static void
test_routing (Fixture *f, gconstpointer data)
{
  g_autofree gchar *text = NULL;
  g_autoptr (JsonObject) o = NULL;

  add (f, "a", "/a/*", echo);
  add (f, "a", "/a/special", special);

  g_assert_cmpuint (request (f, "POST", "/a/x/y", "hello", &text), ==, 200);
  o = parse (text);
  g_assert_cmpstr (json_object_get_string_member (o, "method"), ==, "POST");
  g_assert_cmpstr (json_object_get_string_member (o, "path"), ==, "/a/x/y");
  g_assert_cmpstr (json_object_get_string_member (o, "body"), ==, "hello");
  g_clear_pointer (&text, g_free);

  /* The prefix's own path, the exact route (with or without a trailing slash). */
  g_assert_cmpuint (request (f, "GET", "/a", NULL, NULL), ==, 200);
  g_assert_cmpuint (request (f, "GET", "/a/special", NULL, &text), ==, 201);
  g_assert_cmpstr (text, ==, "special");
  g_clear_pointer (&text, g_free);
  g_assert_cmpuint (request (f, "GET", "/a/special/", NULL, NULL), ==, 201);
  g_assert_cmpuint (request (f, "GET", "/a/special/deeper", NULL, NULL), ==, 200);

  /* Outside every route: 404 with the JSON error, no handler runs. */
  f->calls = 0;
  g_assert_cmpuint (request (f, "GET", "/ab", NULL, &text), ==, 404);
  assert_error_body (text, "Not found");
  g_clear_pointer (&text, g_free);
  g_assert_cmpuint (request (f, "GET", "/", NULL, NULL), ==, 404);
  g_assert_cmpuint (request (f, "GET", "/b/a", NULL, NULL), ==, 404);
  g_assert_cmpuint (f->calls, ==, 0);
}

static void
test_answer_later (Fixture *f, gconstpointer data)
{
  g_autofree gchar *text = NULL;

  add (f, "a", "/later", later);
  g_assert_cmpuint (request (f, "GET", "/later", NULL, &text), ==, 202);
  assert_error_body (text, "later");
}

static void ws_echo (CwHttpRequest *req, SoupWebsocketConnection *conn, gpointer user_data);

static void
expect_refused (Fixture *f, const gchar *owner, const gchar *path, gint code)
{
  g_autoptr (GError) error = NULL;

  g_assert_false (cw_http_server_add_route (f->server, owner, path, echo, f, NULL, &error));
  g_assert_error (error, CW_ERROR, code);
}

static void
test_ownership (Fixture *f, gconstpointer data)
{
  g_autofree gchar *text = NULL;
  g_autoptr (GError) error = NULL;

  add (f, "workflow", "/v1/workflow/webhooks/*", echo);
  add (f, "remote", "/v1/health", special);
  add (f, "remote", "/v1/workflow/scheduled/*", special);

  /* Another owner's space, in every direction. */
  expect_refused (f, "remote", "/v1/workflow/webhooks/*", CW_ERROR_EXISTS);
  expect_refused (f, "remote", "/v1/workflow/webhooks/key", CW_ERROR_EXISTS);
  expect_refused (f, "remote", "/v1/workflow/webhooks", CW_ERROR_EXISTS);
  expect_refused (f, "remote", "/v1/workflow/*", CW_ERROR_EXISTS);
  expect_refused (f, "remote", "/*", CW_ERROR_EXISTS);
  expect_refused (f, "workflow", "/v1/health", CW_ERROR_EXISTS);
  expect_refused (f, "workflow", "/v1/*", CW_ERROR_EXISTS);
  /* The same route twice, and paths that are not paths. */
  expect_refused (f, "workflow", "/v1/workflow/webhooks/*", CW_ERROR_EXISTS);
  expect_refused (f, "workflow", "v1/x", CW_ERROR_INVALID_PARAMS);
  expect_refused (f, "workflow", "/v1/../x", CW_ERROR_INVALID_PARAMS);
  expect_refused (f, "workflow", "/v1/*/x", CW_ERROR_INVALID_PARAMS);
  expect_refused (f, "workflow", "/v1//x", CW_ERROR_INVALID_PARAMS);
  expect_refused (f, "workflow", "/v1/a b", CW_ERROR_INVALID_PARAMS);
  g_assert_false (cw_http_server_add_websocket_route (f->server, "workflow", "/ws/*", NULL, ws_echo,
                                                      f, NULL, &error));
  g_assert_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS);

  /* Neighbours both work; a refusal changed nothing. */
  g_assert_cmpuint (request (f, "POST", "/v1/workflow/webhooks/k1", "{}", &text), ==, 200);
  g_assert_cmpuint (request (f, "POST", "/v1/workflow/scheduled/s1/run", NULL, NULL), ==, 201);
  g_assert_cmpuint (request (f, "GET", "/v1/health", NULL, NULL), ==, 201);
  g_assert_cmpuint (request (f, "GET", "/v1/workflow/other", NULL, NULL), ==, 404);
}

static void
test_size_limit (Fixture *f, gconstpointer data)
{
  g_autofree gchar *big = g_strnfill (2048, 'x');
  g_autofree gchar *fits = g_strnfill (1024, 'y');
  g_autofree gchar *text = NULL;

  cw_http_server_set_limits (f->server, 1024, 0);
  add (f, "a", "/a/*", echo);
  f->calls = 0;
  g_assert_cmpuint (request (f, "POST", "/a/x", big, &text), ==, 413);
  assert_error_body (text, "Request body is larger than 1024 bytes");
  g_assert_cmpuint (f->calls, ==, 0);
  g_clear_pointer (&text, g_free);
  g_assert_cmpuint (request (f, "POST", "/a/x", fits, NULL), ==, 200);
  g_assert_cmpuint (f->calls, ==, 1);
}

/* A chunked body has no length to check up front: it is counted as it arrives. */
static void
test_size_limit_chunked (Fixture *f, gconstpointer data)
{
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_autoptr (GSocketConnection) conn = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GUri) uri = NULL;
  g_autoptr (GString) out = g_string_new ("POST /a/x HTTP/1.1\r\nHost: localhost\r\n"
                                          "Transfer-Encoding: chunked\r\n\r\n");
  gchar reply[512] = { 0 };
  gsize got = 0;

  cw_http_server_set_limits (f->server, 1024, 0);
  add (f, "a", "/a/*", echo);
  for (guint i = 0; i < 4; i++)
    {
      g_autofree gchar *chunk = g_strnfill (400, 'z');
      g_string_append_printf (out, "%x\r\n%s\r\n", 400, chunk);
    }
  g_string_append (out, "0\r\n\r\n");
  uri = g_uri_parse (f->base, G_URI_FLAGS_NONE, NULL);
  conn = g_socket_client_connect_to_host (client, "127.0.0.1", g_uri_get_port (uri), NULL, &error);
  g_assert_no_error (error);
  /* The server runs in this thread: write, then let it read and answer. */
  g_socket_set_blocking (g_socket_connection_get_socket (conn), FALSE);
  {
    GOutputStream *os = g_io_stream_get_output_stream (G_IO_STREAM (conn));
    gsize written = 0;
    while (written < out->len)
      {
        gssize n = g_pollable_output_stream_write_nonblocking (
            G_POLLABLE_OUTPUT_STREAM (os), out->str + written, out->len - written, NULL, NULL);
        if (n > 0)
          written += n;
        g_main_context_iteration (NULL, FALSE);
      }
  }
  f->calls = 0;
  while (strstr (reply, "\r\n\r\n") == NULL)
    {
      GInputStream *is = g_io_stream_get_input_stream (G_IO_STREAM (conn));
      gssize n = g_pollable_input_stream_read_nonblocking (
          G_POLLABLE_INPUT_STREAM (is), reply + got, sizeof reply - 1 - got, NULL, NULL);
      if (n > 0)
        got += n;
      else if (n == 0)
        break;
      g_main_context_iteration (NULL, n < 0);
    }
  g_assert_true (g_str_has_prefix (reply, "HTTP/1.1 413"));
  g_assert_cmpuint (f->calls, ==, 0);
}

static void
test_time_limit (Fixture *f, gconstpointer data)
{
  g_autofree gchar *text = NULL;

  cw_http_server_set_limits (f->server, 0, 100);
  add (f, "a", "/slow", hold);
  g_assert_cmpuint (request (f, "GET", "/slow", NULL, &text), ==, 408);
  assert_error_body (text, "Request Timeout");
  g_assert_nonnull (f->held);
  /* The handler is told, and cannot answer into a finished exchange. */
  g_assert_true (g_cancellable_is_cancelled (cw_http_request_get_cancellable (f->held)));
  g_assert_true (cw_http_request_is_finished (f->held));
  g_assert_false (cw_http_request_respond_error (f->held, 200, "too late"));
}

/* ---- WebSocket ---- */

static void
echo_message_cb (SoupWebsocketConnection *conn, gint type, GBytes *message, gpointer user_data)
{
  soup_websocket_connection_send_message (conn, type, message);
}

static void
ws_echo (CwHttpRequest *req, SoupWebsocketConnection *conn, gpointer user_data)
{
  Fixture *f = user_data;

  f->calls++;
  g_assert_cmpstr (cw_http_request_get_path (req), ==, "/a/ws");
  g_signal_connect (conn, "message", G_CALLBACK (echo_message_cb), NULL);
}

typedef struct
{
  SoupWebsocketConnection *conn;
  GError *error;
  gboolean done;
  gchar *received;
  gboolean closed;
} Ws;

static void
ws_connected_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Ws *ws = user_data;

  ws->conn = soup_session_websocket_connect_finish (SOUP_SESSION (source), result, &ws->error);
  ws->done = TRUE;
}

static void
ws_message_cb (SoupWebsocketConnection *conn, gint type, GBytes *message, gpointer user_data)
{
  Ws *ws = user_data;

  ws->received = g_strndup (g_bytes_get_data (message, NULL), g_bytes_get_size (message));
}

static void
ws_closed_cb (SoupWebsocketConnection *conn, gpointer user_data)
{
  ((Ws *) user_data)->closed = TRUE;
}

static void
ws_open (Fixture *f, Ws *ws, const gchar *path)
{
  g_autofree gchar *url = g_strconcat (f->base, path, NULL);
  g_autoptr (SoupMessage) msg = soup_message_new ("GET", url);

  soup_session_websocket_connect_async (f->session, msg, NULL, NULL, G_PRIORITY_DEFAULT, NULL,
                                        ws_connected_cb, ws);
  spin_until (&ws->done);
  g_assert_no_error (ws->error);
  g_signal_connect (ws->conn, "message", G_CALLBACK (ws_message_cb), ws);
  g_signal_connect (ws->conn, "closed", G_CALLBACK (ws_closed_cb), ws);
}

static void
add_ws (Fixture *f, const gchar *owner, const gchar *path)
{
  g_autoptr (GError) error = NULL;

  g_assert_true (
      cw_http_server_add_websocket_route (f->server, owner, path, NULL, ws_echo, f, NULL, &error));
  g_assert_no_error (error);
  g_free (f->base);
  f->base = cw_http_server_get_base_url (f->server);
}

static void
test_websocket_echo (Fixture *f, gconstpointer data)
{
  Ws ws = { 0 };
  g_autofree gchar *text = NULL;

  add_ws (f, "a", "/a/ws");
  ws_open (f, &ws, "/a/ws");
  g_assert_cmpuint (f->calls, ==, 1);
  soup_websocket_connection_send_text (ws.conn, "hello");
  while (ws.received == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpstr (ws.received, ==, "hello");
  g_clear_pointer (&ws.received, g_free);
  soup_websocket_connection_send_text (ws.conn, "again");
  while (ws.received == NULL && !ws.closed)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpstr (ws.received, ==, "again");

  /* A plain request to a WebSocket path, and below it. */
  g_assert_cmpuint (request (f, "GET", "/a/ws", NULL, &text), ==, 400);
  g_clear_pointer (&text, g_free);
  g_assert_cmpuint (request (f, "GET", "/a/ws/x", NULL, &text), ==, 404);
  assert_error_body (text, "Not found");
  soup_websocket_connection_close (ws.conn, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
  while (!ws.closed)
    g_main_context_iteration (NULL, TRUE);
  g_clear_object (&ws.conn);
  g_free (ws.received);
}

static void
count_destroy (gpointer user_data)
{
  ((Fixture *) user_data)->calls += 100;
}

static void
test_owner_removed (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *text = NULL;
  g_autofree gchar *url = NULL;
  Ws ws = { 0 };
  Reply slow = { 0 };
  g_autoptr (SoupMessage) msg = NULL;

  add (f, "a", "/a/*", hold);
  g_assert_true (cw_http_server_add_route (f->server, "a", "/a/x", echo, f, count_destroy, NULL));
  add_ws (f, "a", "/a/ws");
  add (f, "b", "/b/*", echo);
  ws_open (f, &ws, "/a/ws");

  /* A request of "a" is waiting for its answer when "a" goes. */
  url = g_strconcat (f->base, "/a/pending", NULL);
  msg = soup_message_new ("GET", url);
  soup_session_send_and_read_async (f->session, msg, G_PRIORITY_DEFAULT, NULL, sent_cb, &slow);
  while (f->held == NULL)
    g_main_context_iteration (NULL, TRUE);

  f->calls = 0;
  g_assert_cmpuint (cw_http_server_remove_owner (f->server, "a"), ==, 3);
  g_assert_cmpuint (f->calls, ==, 100); /* the route's data was freed */
  spin_until (&slow.done);
  g_assert_no_error (slow.error);
  g_assert_cmpuint (soup_message_get_status (msg), ==, 503);
  g_bytes_unref (slow.body);
  g_assert_true (g_cancellable_is_cancelled (cw_http_request_get_cancellable (f->held)));
  while (!ws.closed)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpint (soup_websocket_connection_get_close_code (ws.conn), ==,
                   SOUP_WEBSOCKET_CLOSE_GOING_AWAY);
  g_clear_object (&ws.conn);

  /* "b" is still served; "a"'s paths are not. */
  g_assert_cmpuint (request (f, "GET", "/a/x", NULL, NULL), ==, 404);
  g_assert_cmpuint (request (f, "GET", "/b/x", NULL, NULL), ==, 200);
  g_assert_cmpuint (cw_http_server_remove_owner (f->server, "a"), ==, 0);

  /* The last route goes: the server no longer listens. */
  g_assert_cmpuint (cw_http_server_remove_owner (f->server, "b"), ==, 1);
  g_assert_null (cw_http_server_get_base_url (f->server));
  {
    g_autoptr (SoupMessage) gone = soup_message_new ("GET", url);
    g_autoptr (GBytes) body = NULL;
    Reply r = { 0 };
    soup_session_abort (f->session);
    soup_session_send_and_read_async (f->session, gone, G_PRIORITY_DEFAULT, NULL, sent_cb, &r);
    spin_until (&r.done);
    g_assert_error (r.error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED);
    g_clear_error (&r.error);
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(path, func) g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/cowork/http/off-until-a-route", test_off_until_a_route);
  ADD ("/cowork/http/routing", test_routing);
  ADD ("/cowork/http/answer-later", test_answer_later);
  ADD ("/cowork/http/ownership", test_ownership);
  ADD ("/cowork/http/size-limit", test_size_limit);
  ADD ("/cowork/http/size-limit-chunked", test_size_limit_chunked);
  ADD ("/cowork/http/time-limit", test_time_limit);
  ADD ("/cowork/http/websocket-echo", test_websocket_echo);
  ADD ("/cowork/http/owner-removed", test_owner_removed);
#undef ADD
  return g_test_run ();
}
