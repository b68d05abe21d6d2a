/* test-fake-cloud.c: the fake platforms answer as the real ones do, so adapter tests that
 * pass against them mean something.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-fake-cloud.h"

#include <libsoup/soup.h>

typedef struct
{
  GMainContext *context;
  SoupSession *session;
} Client;

static void
client_init (Client *c)
{
  c->context = g_main_context_ref_thread_default ();
  c->session = soup_session_new ();
}

static void
client_clear (Client *c)
{
  g_object_unref (c->session);
  g_main_context_unref (c->context);
}

/* A request and its JSON answer; *status set. */
static JsonNode *
http (Client *c, const gchar *method, const gchar *url, const gchar *auth, const gchar *json,
      guint *status)
{
  g_autoptr (SoupMessage) msg = soup_message_new (method, url);
  g_autoptr (GBytes) body = NULL;
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;

  if (auth != NULL)
    soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization", auth);
  if (json != NULL)
    {
      g_autoptr (GBytes) bytes = g_bytes_new (json, strlen (json));
      soup_message_set_request_body_from_bytes (msg, "application/json", bytes);
    }
  body = soup_session_send_and_read (c->session, msg, NULL, &error);
  if (body == NULL)
    {
      *status = 0;
      return NULL;
    }
  *status = soup_message_get_status (msg);
  if (!json_parser_load_from_data (parser, g_bytes_get_data (body, NULL), g_bytes_get_size (body),
                                   NULL))
    return NULL;
  return json_node_copy (json_parser_get_root (parser));
}

static JsonObject *
obj (JsonNode *node)
{
  g_assert_nonnull (node);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (node));
  return json_node_get_object (node);
}

static void
poll_cut (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) body
      = soup_session_send_and_read_finish (SOUP_SESSION (source), result, &error);

  g_assert_null (body);
  *(gboolean *) data = TRUE;
}

static void
test_telegram (void)
{
  g_autoptr (CwFakeCloud) fake = cw_fake_cloud_new (CW_FAKE_TELEGRAM);
  Client c;
  guint status;
  g_autofree gchar *base = g_strdup_printf ("%s/bot123:abc", cw_fake_cloud_get_url (fake));
  g_autofree gchar *url = NULL;
  g_autoptr (JsonNode) me = NULL, updates = NULL, sent = NULL, edit = NULL, again = NULL;
  g_autoptr (JsonNode) bad = NULL, limited = NULL, confirmed = NULL;
  g_autofree gchar *id = NULL;
  JsonArray *result;
  gint64 update_id;
  g_autoptr (JsonArray) bot = NULL;

  client_init (&c);
  url = g_strdup_printf ("%s/getMe", base);
  me = http (&c, "GET", url, NULL, NULL, &status);
  g_assert_cmpuint (status, ==, 200);
  g_assert_true (json_object_get_boolean_member (obj (me), "ok"));
  g_free (url);
  url = g_strdup_printf ("%s/botbad/getMe", cw_fake_cloud_get_url (fake));
  bad = http (&c, "GET", url, NULL, NULL, &status);
  g_assert_cmpuint (status, ==, 401);
  g_assert_cmpint (json_object_get_int_member (obj (bad), "error_code"), ==, 401);

  id = cw_fake_cloud_inject (fake, "42", "42", "Ann", "hello");
  g_assert_cmpstr (id, ==, "42:101");
  g_free (url);
  url = g_strdup_printf ("%s/getUpdates", base);
  updates = http (&c, "POST", url, NULL, "{\"timeout\":5,\"offset\":0}", &status);
  result = json_object_get_array_member (obj (updates), "result");
  g_assert_cmpuint (json_array_get_length (result), ==, 1);
  update_id = json_object_get_int_member (json_array_get_object_element (result, 0), "update_id");
  /* not confirmed: the same update again */
  again = http (&c, "POST", url, NULL, "{\"timeout\":0}", &status);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (obj (again), "result")),
                    ==, 1);
  {
    g_autofree gchar *body
        = g_strdup_printf ("{\"timeout\":1,\"offset\":%" G_GINT64_FORMAT "}", update_id + 1);
    gint64 start = g_get_monotonic_time ();
    confirmed = http (&c, "POST", url, NULL, body, &status);
    g_assert_cmpint (g_get_monotonic_time () - start, >=, 900000); /* held for the timeout */
    g_assert_cmpuint (
        json_array_get_length (json_object_get_array_member (obj (confirmed), "result")), ==, 0);
  }

  g_free (url);
  url = g_strdup_printf ("%s/sendMessage", base);
  sent = http (&c, "POST", url, NULL, "{\"chat_id\":42,\"text\":\"Thinking...\"}", &status);
  g_assert_cmpuint (status, ==, 200);
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (obj (sent), "result"),
                                               "message_id"),
                   ==, 102);
  g_free (url);
  url = g_strdup_printf ("%s/editMessageText", base);
  edit = http (&c, "POST", url, NULL, "{\"chat_id\":42,\"message_id\":102,\"text\":\"Hi\"}",
               &status);
  g_assert_cmpuint (status, ==, 200);
  {
    g_autoptr (JsonNode) same = http (
        &c, "POST", url, NULL, "{\"chat_id\":42,\"message_id\":102,\"text\":\"Hi\"}", &status);
    g_assert_cmpuint (status, ==, 400);
  }
  bot = cw_fake_cloud_bot_messages (fake, "42");
  g_assert_cmpuint (json_array_get_length (bot), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (bot, 0), "text"),
                   ==, "Hi");

  cw_fake_cloud_fail_next (fake, "sendMessage", 1, 429, NULL);
  g_free (url);
  url = g_strdup_printf ("%s/sendMessage", base);
  limited = http (&c, "POST", url, NULL, "{\"chat_id\":42,\"text\":\"x\"}", &status);
  g_assert_cmpuint (status, ==, 429);
  g_assert_cmpint (json_object_get_int_member (
                       json_object_get_object_member (obj (limited), "parameters"), "retry_after"),
                   ==, 1);

  /* a long poll held when the platform goes down is cut */
  {
    g_autofree gchar *poll_url = g_strdup_printf ("%s/getUpdates", base);
    g_autoptr (SoupMessage) msg = soup_message_new ("POST", poll_url);
    g_autoptr (GBytes) bytes = g_bytes_new_static ("{\"timeout\":30}", 14);
    gboolean done = FALSE;
    soup_message_set_request_body_from_bytes (msg, "application/json", bytes);
    soup_session_send_and_read_async (c.session, msg, G_PRIORITY_DEFAULT, NULL, poll_cut, &done);
    while (cw_fake_cloud_count (fake, "getUpdates") < 4)
      g_main_context_iteration (c.context, FALSE);
    cw_fake_cloud_down (fake);
    while (!done)
      g_main_context_iteration (c.context, TRUE);
  }
  {
    g_autoptr (JsonNode) none = http (&c, "GET", url, NULL, NULL, &status);
    g_assert_cmpuint (status, ==, 0);
  }
  cw_fake_cloud_up (fake);
  {
    g_autoptr (JsonNode) back
        = http (&c, "POST", url, NULL, "{\"chat_id\":42,\"text\":\"y\"}", &status);
    g_assert_cmpuint (status, ==, 200);
  }
  g_assert_cmpuint (cw_fake_cloud_count (fake, "sendMessage"), ==, 3);
  client_clear (&c);
}

/* ---- WebSocket fakes ---------------------------------------------------------------- */

typedef struct
{
  SoupWebsocketConnection *conn;
  GPtrArray *frames;
  gboolean closed;
} Socket;

static void
on_frame (SoupWebsocketConnection *conn, gint type, GBytes *bytes, gpointer data)
{
  Socket *s = data;

  g_ptr_array_add (s->frames, g_strndup (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes)));
}

static void
on_closed (SoupWebsocketConnection *conn, gpointer data)
{
  ((Socket *) data)->closed = TRUE;
}

static void
connected (GObject *source, GAsyncResult *result, gpointer data)
{
  Socket *s = data;
  g_autoptr (GError) error = NULL;

  s->conn = soup_session_websocket_connect_finish (SOUP_SESSION (source), result, &error);
  g_assert_no_error (error);
}

static void
socket_open (Client *c, Socket *s, const gchar *url)
{
  g_autoptr (SoupMessage) msg = soup_message_new ("GET", url);

  s->frames = g_ptr_array_new_with_free_func (g_free);
  s->closed = FALSE;
  s->conn = NULL;
  soup_session_websocket_connect_async (c->session, msg, NULL, NULL, G_PRIORITY_DEFAULT, NULL,
                                        connected, s);
  while (s->conn == NULL)
    g_main_context_iteration (c->context, TRUE);
  g_signal_connect (s->conn, "message", G_CALLBACK (on_frame), s);
  g_signal_connect (s->conn, "closed", G_CALLBACK (on_closed), s);
}

static void
socket_close (Socket *s)
{
  g_signal_handlers_disconnect_by_data (s->conn, s);
  g_clear_object (&s->conn);
  g_ptr_array_unref (s->frames);
}

/* Waits for frame @index and returns it parsed. */
static JsonNode *
socket_frame (Client *c, Socket *s, guint index)
{
  gint64 deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  g_autoptr (JsonParser) parser = json_parser_new ();

  while (s->frames->len <= index && g_get_monotonic_time () < deadline)
    g_main_context_iteration (c->context, FALSE), g_usleep (1000);
  g_assert_cmpuint (s->frames->len, >, index);
  g_assert_true (json_parser_load_from_data (parser, s->frames->pdata[index], -1, NULL));
  return json_node_copy (json_parser_get_root (parser));
}

static void
test_slack (void)
{
  g_autoptr (CwFakeCloud) fake = cw_fake_cloud_new (CW_FAKE_SLACK);
  Client c;
  guint status;
  g_autofree gchar *open_url
      = g_strdup_printf ("%s/apps.connections.open", cw_fake_cloud_get_url (fake));
  g_autoptr (JsonNode) opened = NULL, wrong = NULL, hello = NULL, envelope = NULL, retry = NULL;
  Socket s;
  g_autofree gchar *ack = NULL;
  g_autoptr (JsonObject) acked = NULL;

  client_init (&c);
  wrong = http (&c, "POST", open_url, "Bearer xoxb-1", "{}", &status);
  g_assert_cmpstr (json_object_get_string_member (obj (wrong), "error"), ==,
                   "not_allowed_token_type");
  opened = http (&c, "POST", open_url, "Bearer xapp-1", "{}", &status);
  g_assert_true (json_object_get_boolean_member (obj (opened), "ok"));
  socket_open (&c, &s, json_object_get_string_member (obj (opened), "url"));
  hello = socket_frame (&c, &s, 0);
  g_assert_cmpstr (json_object_get_string_member (obj (hello), "type"), ==, "hello");
  g_free (cw_fake_cloud_inject (fake, "D0CHAT", "U0ANN", NULL, "hi"));
  envelope = socket_frame (&c, &s, 1);
  g_assert_cmpstr (json_object_get_string_member (obj (envelope), "type"), ==, "events_api");
  /* not acked: delivered again on the next connection, with retry_attempt 1 */
  socket_close (&s);
  cw_fake_cloud_drop_sockets (fake);
  socket_open (&c, &s, json_object_get_string_member (obj (opened), "url"));
  retry = socket_frame (&c, &s, 1);
  g_assert_cmpstr (json_object_get_string_member (obj (retry), "envelope_id"), ==,
                   json_object_get_string_member (obj (envelope), "envelope_id"));
  g_assert_cmpint (json_object_get_int_member (obj (retry), "retry_attempt"), ==, 1);
  ack = g_strdup_printf ("{\"envelope_id\":\"%s\"}",
                         json_object_get_string_member (obj (retry), "envelope_id"));
  soup_websocket_connection_send_text (s.conn, ack);
  acked = cw_fake_cloud_wait (fake, "ack", 0, 5000);
  g_assert_nonnull (acked);
  socket_close (&s);
  client_clear (&c);
}

static void
test_discord (void)
{
  g_autoptr (CwFakeCloud) fake = cw_fake_cloud_new (CW_FAKE_DISCORD);
  Client c;
  guint status;
  g_autofree gchar *url = g_strdup_printf ("%s/gateway/bot", cw_fake_cloud_get_url (fake));
  g_autoptr (JsonNode) gateway = NULL, hello = NULL, ready = NULL, ack = NULL, first = NULL;
  g_autoptr (JsonNode) replay = NULL, resumed = NULL;
  g_autofree gchar *resume_url = NULL, *resume = NULL, *session = NULL;
  Socket s;

  client_init (&c);
  gateway = http (&c, "GET", url, "Bot tok", NULL, &status);
  g_assert_cmpuint (status, ==, 200);
  socket_open (&c, &s, json_object_get_string_member (obj (gateway), "url"));
  hello = socket_frame (&c, &s, 0);
  g_assert_cmpint (json_object_get_int_member (obj (hello), "op"), ==, 10);
  soup_websocket_connection_send_text (s.conn, "{\"op\":2,\"d\":{\"token\":\"tok\",\"intents\":"
                                               "37376,\"properties\":{}}}");
  ready = socket_frame (&c, &s, 1);
  g_assert_cmpstr (json_object_get_string_member (obj (ready), "t"), ==, "READY");
  session = g_strdup (json_object_get_string_member (
      json_object_get_object_member (obj (ready), "d"), "session_id"));
  resume_url = g_strdup (json_object_get_string_member (
      json_object_get_object_member (obj (ready), "d"), "resume_gateway_url"));
  soup_websocket_connection_send_text (s.conn, "{\"op\":1,\"d\":1}");
  ack = socket_frame (&c, &s, 2);
  g_assert_cmpint (json_object_get_int_member (obj (ack), "op"), ==, 11);
  g_free (cw_fake_cloud_inject (fake, "700", "U1", "ann", "one"));
  first = socket_frame (&c, &s, 3);
  g_assert_cmpint (json_object_get_int_member (obj (first), "s"), ==, 2);

  /* dropped; a message arrives meanwhile; resume replays it, then RESUMED */
  socket_close (&s);
  cw_fake_cloud_drop_sockets (fake);
  g_free (cw_fake_cloud_inject (fake, "700", "U1", "ann", "two"));
  socket_open (&c, &s, resume_url);
  resume = g_strdup_printf ("{\"op\":6,\"d\":{\"token\":\"tok\",\"session_id\":\"%s\","
                            "\"seq\":2}}",
                            session);
  socket_frame (&c, &s, 0); /* hello */
  soup_websocket_connection_send_text (s.conn, resume);
  replay = socket_frame (&c, &s, 1);
  g_assert_cmpint (json_object_get_int_member (obj (replay), "s"), ==, 3);
  g_assert_cmpstr (
      json_object_get_string_member (json_object_get_object_member (obj (replay), "d"), "content"),
      ==, "two");
  resumed = socket_frame (&c, &s, 2);
  g_assert_cmpstr (json_object_get_string_member (obj (resumed), "t"), ==, "RESUMED");
  socket_close (&s);
  client_clear (&c);
}

static void
test_graph (void)
{
  g_autoptr (CwFakeCloud) fake = cw_fake_cloud_new (CW_FAKE_GRAPH);
  Client c;
  guint status;
  g_autofree gchar *token_url
      = g_strdup_printf ("%s/tenant/oauth2/v2.0/token", cw_fake_cloud_get_root (fake));
  g_autoptr (SoupMessage) msg = NULL;
  g_autoptr (GBytes) body = NULL;
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autofree gchar *auth = NULL, *delta_url = NULL;
  g_autoptr (JsonNode) first = NULL, second = NULL;

  client_init (&c);
  msg = soup_message_new_from_encoded_form (
      "POST", token_url,
      soup_form_encode ("grant_type", "client_credentials", "client_id", "app", "client_secret",
                        "s3cret", "scope", "https://graph.microsoft.com/.default", NULL));
  body = soup_session_send_and_read (c.session, msg, NULL, NULL);
  g_assert_cmpuint (soup_message_get_status (msg), ==, 200);
  g_assert_true (json_parser_load_from_data (parser, g_bytes_get_data (body, NULL),
                                             g_bytes_get_size (body), NULL));
  auth = g_strdup_printf ("Bearer %s", json_object_get_string_member (
                                           obj (json_parser_get_root (parser)), "access_token"));
  g_free (cw_fake_cloud_inject (fake, "t:c", "u1", "Ann", "old"));
  delta_url
      = g_strdup_printf ("%s/teams/t/channels/c/messages/delta", cw_fake_cloud_get_url (fake));
  first = http (&c, "GET", delta_url, auth, NULL, &status);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (obj (first), "value")), ==,
                    1);
  g_free (cw_fake_cloud_inject (fake, "t:c", "u1", "Ann", "new <b>"));
  second = http (&c, "GET", json_object_get_string_member (obj (first), "@odata.deltaLink"), auth,
                 NULL, &status);
  g_assert_cmpuint (status, ==, 200);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (obj (second), "value")),
                    ==, 1);
  g_assert_cmpstr (json_object_get_string_member (
                       json_object_get_object_member (
                           json_array_get_object_element (
                               json_object_get_array_member (obj (second), "value"), 0),
                           "body"),
                       "content"),
                   ==, "<p>new &lt;b&gt;</p>");
  {
    g_autoptr (JsonNode) denied = http (&c, "GET", delta_url, "Bearer nope", NULL, &status);
    g_assert_cmpuint (status, ==, 401);
  }
  client_clear (&c);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/integrations/fake/telegram", test_telegram);
  g_test_add_func ("/integrations/fake/slack", test_slack);
  g_test_add_func ("/integrations/fake/discord", test_discord);
  g_test_add_func ("/integrations/fake/graph", test_graph);
  return g_test_run ();
}
