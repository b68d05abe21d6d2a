/* cw-fake-slack.c: Slack's Web API at /api/<method> (apps.connections.open with the app-level
 * xapp- token; auth.test, chat.postMessage, chat.update, files.getUploadURLExternal and
 * files.completeUploadExternal with the bot token, the upload URL it gives at /upload/v1/
 * (records "upload" with size and data); JSON or form
 * bodies; {ok:false, error} answers with HTTP 200, 429 with Retry-After) and Socket Mode at
 * the URL apps.connections.open returns: `hello` on connect, `events_api` envelopes that the
 * client acks with {"envelope_id"}, unacked envelopes delivered again (retry_attempt + 1) on
 * the next connection, `disconnect` (refresh_requested) on request. A redelivery is Slack's
 * retry of the event: the same event_id and event, a new envelope with retry_attempt one more
 * than the last delivery, which it replaces if that one was not acked. With the option
 * "hold_send" set to 1, chat.postMessage is recorded and never answered nor delivered (as when
 * the bot dies while it is in flight).
 * Records: the method names, "socket" (a connection), "envelope" ({body: the envelope sent}),
 * "ack" ({body:{envelope_id}}).
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-fake-cloud-private.h"

#include <string.h>

typedef struct
{
  CwFakeCloud *self;
  GPtrArray *unacked;    /* JsonObject envelopes, in order */
  GHashTable *events;    /* "<channel>:<ts>" -> JsonObject event */
  GHashTable *event_ids; /* "<channel>:<ts>" -> the payload's event_id */
  GHashTable *attempts;  /* event_id -> the retry_attempt of its last delivery */
  SoupWebsocketConnection *socket;
  gint64 next_ts;
  GHashTable *uploads; /* file id -> JsonObject {filename, length, uploaded} */
} Slack;

static void
slack_free (gpointer data)
{
  Slack *slack = data;

  g_ptr_array_unref (slack->unacked);
  g_hash_table_unref (slack->events);
  g_hash_table_unref (slack->event_ids);
  g_hash_table_unref (slack->attempts);
  g_hash_table_unref (slack->uploads);
  cw_fake_socket_release (&slack->socket, slack);
  g_free (slack);
}

static void
reply_error (SoupServerMessage *msg, const gchar *error)
{
  g_autofree gchar *body = g_strdup_printf ("{\"ok\":false,\"error\":\"%s\"}", error);

  cw_fake_reply_text (msg, 200, body);
}

static gchar *
new_ts (Slack *slack)
{
  return g_strdup_printf ("%" G_GINT64_FORMAT ".%06" G_GINT64_FORMAT,
                          g_get_real_time () / G_USEC_PER_SEC, ++slack->next_ts);
}

static void
post_message (Slack *slack, SoupServerMessage *msg, JsonObject *params, gboolean update)
{
  const gchar *channel = json_object_get_string_member_with_default (params, "channel", NULL);
  const gchar *text = json_object_get_string_member_with_default (params, "text", "");
  g_autofree gchar *ts = NULL;
  g_autoptr (JsonNode) node = NULL;
  JsonObject *reply, *message;

  if (channel == NULL)
    return reply_error (msg, "channel_not_found");
  if (*text == '\0' && !json_object_has_member (params, "blocks"))
    return reply_error (msg, "no_text");
  if (strlen (text) > 40000)
    return reply_error (msg, "msg_too_long");
  if (update)
    {
      gboolean unchanged;
      ts = g_strdup (json_object_get_string_member_with_default (params, "ts", ""));
      if (!cw_fake_chat_edit (slack->self, channel, ts, text, &unchanged))
        return reply_error (msg, "message_not_found");
    }
  else
    {
      ts = new_ts (slack);
      cw_fake_chat_add (slack->self, channel, ts, text);
    }
  reply = json_object_new ();
  json_object_set_boolean_member (reply, "ok", TRUE);
  json_object_set_string_member (reply, "channel", channel);
  json_object_set_string_member (reply, "ts", ts);
  if (update)
    json_object_set_string_member (reply, "text", text);
  message = json_object_new ();
  json_object_set_string_member (message, "type", "message");
  json_object_set_string_member (message, "user", "U0BOT");
  json_object_set_string_member (message, "bot_id", "B0BOT");
  json_object_set_string_member (message, "text", text);
  json_object_set_string_member (message, "ts", ts);
  json_object_set_object_member (reply, "message", message);
  node = cw_fake_take_object (reply);
  cw_fake_reply (msg, 200, node);
}

/* files.getUploadURLExternal: a file id and the URL its bytes go to. */
static void
get_upload_url (CwFakeCloud *self, SoupServerMessage *msg, JsonObject *params)
{
  Slack *slack = self->state;
  const gchar *filename = json_object_get_string_member_with_default (params, "filename", NULL);
  const gchar *length = json_object_get_string_member_with_default (params, "length", NULL);
  g_autofree gchar *id = NULL, *reply = NULL;
  JsonObject *upload;

  if (filename == NULL || length == NULL || g_ascii_strtoll (length, NULL, 10) <= 0)
    return reply_error (msg, "invalid_arguments");
  id = g_strdup_printf ("F0%" G_GINT64_FORMAT, cw_fake_next (self));
  upload = json_object_new ();
  json_object_set_string_member (upload, "filename", filename);
  json_object_set_int_member (upload, "length", g_ascii_strtoll (length, NULL, 10));
  g_hash_table_insert (slack->uploads, g_strdup (id), upload);
  reply = g_strdup_printf ("{\"ok\":true,\"upload_url\":\"%s/upload/v1/%s\",\"file_id\":\"%s\"}",
                           self->root, id, id);
  cw_fake_reply_text (msg, 200, reply);
}

/* POST /upload/v1/<file id>: the bytes (recorded as "upload" with size and data). */
static void
handle_upload (SoupServer *server, SoupServerMessage *msg, const gchar *path, GHashTable *query,
               gpointer data)
{
  CwFakeCloud *self = data;
  Slack *slack = self->state;
  const gchar *id = path + strlen ("/upload/v1/");
  JsonObject *upload = g_hash_table_lookup (slack->uploads, id);
  g_autoptr (GBytes) bytes = soup_message_body_flatten (soup_server_message_get_request_body (msg));
  JsonObject *record = cw_fake_request_record (msg, NULL);
  g_autofree gchar *encoded
      = g_base64_encode (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
  g_autofree gchar *answer = NULL;

  if (cw_fake_cut_if_down (self, msg))
    {
      json_object_unref (record);
      return;
    }
  json_object_set_string_member (record, "fileId", id);
  json_object_set_int_member (record, "size", g_bytes_get_size (bytes));
  json_object_set_string_member (record, "data", encoded);
  cw_fake_record (self, "upload", record);
  if (upload == NULL)
    return cw_fake_reply_text (msg, 404, "{}");
  if ((gint64) g_bytes_get_size (bytes) != json_object_get_int_member (upload, "length"))
    {
      soup_server_message_set_status (msg, 400, NULL);
      return;
    }
  json_object_set_boolean_member (upload, "uploaded", TRUE);
  answer = g_strdup_printf ("OK - %" G_GSIZE_FORMAT, g_bytes_get_size (bytes));
  soup_server_message_set_status (msg, 200, NULL);
  soup_server_message_set_response (msg, "text/plain", SOUP_MEMORY_COPY, answer, strlen (answer));
}

/* files.completeUploadExternal: shares uploaded files in channel_id; the chat gets
 * "[file] <filename>: <initial_comment>". */
static void
complete_upload (CwFakeCloud *self, SoupServerMessage *msg, JsonObject *params)
{
  Slack *slack = self->state;
  const gchar *channel = json_object_get_string_member_with_default (params, "channel_id", NULL);
  const gchar *comment = json_object_get_string_member_with_default (params, "initial_comment", "");
  JsonNode *files = json_object_get_member (params, "files");
  g_autoptr (JsonNode) parsed = NULL;
  JsonArray *list;
  JsonObject *reply;
  JsonArray *out;
  g_autoptr (JsonNode) node = NULL;

  if (files != NULL && JSON_NODE_HOLDS_VALUE (files))
    files = parsed = cw_fake_parse (json_node_get_string (files));
  if (files == NULL || !JSON_NODE_HOLDS_ARRAY (files))
    return reply_error (msg, "invalid_arguments");
  list = json_node_get_array (files);
  out = json_array_new ();
  for (guint i = 0; i < json_array_get_length (list); i++)
    {
      JsonObject *file = json_array_get_object_element (list, i);
      const gchar *id = json_object_get_string_member_with_default (file, "id", "");
      JsonObject *upload = g_hash_table_lookup (slack->uploads, id);
      JsonObject *shared;
      if (upload == NULL
          || !json_object_get_boolean_member_with_default (upload, "uploaded", FALSE))
        {
          json_array_unref (out);
          return reply_error (msg, "file_not_found");
        }
      if (channel != NULL)
        {
          g_autofree gchar *ts = new_ts (slack);
          g_autofree gchar *text = g_strdup_printf (
              "[file] %s: %s", json_object_get_string_member (upload, "filename"), comment);
          cw_fake_chat_add (self, channel, ts, text);
        }
      shared = json_object_new ();
      json_object_set_string_member (shared, "id", id);
      json_object_set_string_member (
          shared, "title", json_object_get_string_member_with_default (file, "title", ""));
      json_array_add_object_element (out, shared);
    }
  reply = json_object_new ();
  json_object_set_boolean_member (reply, "ok", TRUE);
  json_object_set_array_member (reply, "files", out);
  node = cw_fake_take_object (reply);
  cw_fake_reply (msg, 200, node);
}

static void
handle_api (SoupServer *server, SoupServerMessage *msg, const gchar *path, GHashTable *query,
            gpointer data)
{
  CwFakeCloud *self = data;
  Slack *slack = self->state;
  const gchar *method = path + strlen ("/api/");
  g_autofree gchar *token = cw_fake_request_bearer (msg);
  g_autoptr (JsonObject) params = cw_fake_request_params (msg);
  guint status;
  g_autofree gchar *body = NULL;
  gboolean app_method = g_str_equal (method, "apps.connections.open");

  if (cw_fake_cut_if_down (self, msg))
    return;
  {
    JsonObject *record = cw_fake_request_record (msg, NULL);
    json_object_set_object_member (record, "body", json_object_ref (params));
    cw_fake_record (self, method, record);
  }
  if (token == NULL)
    return reply_error (msg, "not_authed");
  if (!cw_fake_token_ok (self, token))
    return reply_error (msg, "invalid_auth");
  if (app_method != g_str_has_prefix (token, "xapp-"))
    return reply_error (msg, "not_allowed_token_type");
  if (cw_fake_take_failure (self, method, &status, &body))
    {
      if (status == 429)
        soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Retry-After",
                                      "1");
      if (body != NULL)
        cw_fake_reply_text (msg, status, body);
      else if (status == 200)
        reply_error (msg, "internal_error");
      else
        reply_error (msg, status == 429 ? "ratelimited" : "fatal_error");
      return;
    }
  if (app_method)
    {
      g_autofree gchar *reply = g_strdup_printf (
          "{\"ok\":true,\"url\":\"ws://127.0.0.1:%u/link/?ticket=%" G_GINT64_FORMAT
          "&app_id=A0APP\"}",
          self->port, cw_fake_next (self));
      cw_fake_reply_text (msg, 200, reply);
    }
  else if (g_str_equal (method, "auth.test"))
    cw_fake_reply_text (msg, 200,
                        "{\"ok\":true,\"url\":\"https://cowork-test.slack.com/\",\"team\":"
                        "\"Cowork Test\",\"user\":\"cowork\",\"team_id\":\"T0TEAM\","
                        "\"user_id\":\"U0BOT\",\"bot_id\":\"B0BOT\",\"is_enterprise_install\":"
                        "false}");
  else if (g_str_equal (method, "chat.postMessage"))
    {
      if (!cw_fake_hold_if_asked (self, msg))
        post_message (slack, msg, params, FALSE);
    }
  else if (g_str_equal (method, "chat.update"))
    post_message (slack, msg, params, TRUE);
  else if (g_str_equal (method, "files.getUploadURLExternal"))
    get_upload_url (self, msg, params);
  else if (g_str_equal (method, "files.completeUploadExternal"))
    complete_upload (self, msg, params);
  else
    reply_error (msg, "unknown_method");
}

static void
send_envelope (Slack *slack, JsonObject *envelope)
{
  g_autoptr (JsonNode) node = NULL;

  if (slack->socket == NULL)
    return;
  node = cw_fake_take_object (json_object_ref (envelope));
  cw_fake_socket_send (slack->socket, node);
  {
    JsonObject *record = json_object_new ();
    json_object_set_member (record, "body", json_node_copy (node));
    cw_fake_record (slack->self, "envelope", record);
  }
}

static void
socket_message (SoupWebsocketConnection *conn, gint type, GBytes *bytes, gpointer data)
{
  Slack *slack = data;
  g_autofree gchar *text = g_strndup (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
  g_autoptr (JsonNode) node = cw_fake_parse (text);
  JsonObject *record = json_object_new ();
  const gchar *envelope_id = NULL;

  if (node != NULL && JSON_NODE_HOLDS_OBJECT (node))
    envelope_id = json_object_get_string_member_with_default (json_node_get_object (node),
                                                              "envelope_id", NULL);
  json_object_set_member (record, "body",
                          node != NULL ? json_node_copy (node)
                                       : json_node_init_string (json_node_alloc (), text));
  cw_fake_record (slack->self, envelope_id != NULL ? "ack" : "socket_message", record);
  for (guint i = 0; envelope_id != NULL && i < slack->unacked->len; i++)
    if (g_str_equal (json_object_get_string_member (slack->unacked->pdata[i], "envelope_id"),
                     envelope_id))
      {
        g_ptr_array_remove_index (slack->unacked, i);
        break;
      }
}

static void
socket_closed (SoupWebsocketConnection *conn, gpointer data)
{
  Slack *slack = data;

  if (slack->socket == conn)
    cw_fake_socket_release (&slack->socket, slack);
}

static void
handle_socket (SoupServer *server, SoupServerMessage *msg, const gchar *path,
               SoupWebsocketConnection *conn, gpointer data)
{
  CwFakeCloud *self = data;
  Slack *slack = self->state;
  JsonObject *record = cw_fake_request_record (msg, NULL);

  cw_fake_record (self, "socket", record);
  cw_fake_socket_add (self, conn);
  if (slack->socket != NULL)
    cw_fake_socket_close (slack->socket, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
  cw_fake_socket_release (&slack->socket, slack);
  slack->socket = g_object_ref (conn);
  g_signal_connect (conn, "message", G_CALLBACK (socket_message), slack);
  g_signal_connect (conn, "closed", G_CALLBACK (socket_closed), slack);
  soup_websocket_connection_send_text (
      conn, "{\"type\":\"hello\",\"num_connections\":1,\"debug_info\":{\"host\":\"cw-fake\","
            "\"build_number\":1,\"approximate_connection_time\":18060},\"connection_info\":{"
            "\"app_id\":\"A0APP\"}}");
  /* Slack retries what was not acked */
  for (guint i = 0; i < slack->unacked->len; i++)
    {
      JsonObject *envelope = slack->unacked->pdata[i];
      if (json_object_get_boolean_member_with_default (envelope, "sent", FALSE))
        {
          json_object_set_int_member (envelope, "retry_attempt",
                                      json_object_get_int_member (envelope, "retry_attempt") + 1);
          json_object_set_string_member (envelope, "retry_reason", "timeout");
          g_hash_table_insert (
              slack->attempts,
              g_strdup (json_object_get_string_member (
                  json_object_get_object_member (envelope, "payload"), "event_id")),
              GUINT_TO_POINTER (json_object_get_int_member (envelope, "retry_attempt")));
        }
      json_object_remove_member (envelope, "sent");
      send_envelope (slack, envelope);
      json_object_set_boolean_member (envelope, "sent", TRUE);
    }
}

static void
handle_file (SoupServer *server, SoupServerMessage *msg, const gchar *path, GHashTable *query,
             gpointer data)
{
  CwFakeCloud *self = data;
  g_autofree gchar *token = cw_fake_request_bearer (msg);
  g_auto (GStrv) parts
      = g_strsplit (path, "/", -1); /* "", files-pri, T0TEAM-<id>, download, name */

  if (cw_fake_cut_if_down (self, msg))
    return;
  if (token == NULL || !cw_fake_token_ok (self, token) || g_strv_length (parts) != 5
      || !g_str_has_prefix (parts[2], "T0TEAM-"))
    {
      /* Slack answers an unauthenticated file URL with its login page */
      soup_server_message_set_status (msg, 302, NULL);
      soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Location",
                                    "/signin");
      return;
    }
  cw_fake_file_serve (self, msg, parts[2] + strlen ("T0TEAM-"));
}

static void
slack_setup (CwFakeCloud *self)
{
  Slack *slack = g_new0 (Slack, 1);

  slack->self = self;
  slack->unacked = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  slack->events
      = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) json_object_unref);
  slack->event_ids = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  slack->attempts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->state = slack;
  slack->uploads
      = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) json_object_unref);
  soup_server_add_handler (self->server, "/api", handle_api, self, NULL);
  soup_server_add_handler (self->server, "/files-pri", handle_file, self, NULL);
  soup_server_add_handler (self->server, "/upload/v1/", handle_upload, self, NULL);
  soup_server_add_websocket_handler (self->server, "/link", NULL, NULL, handle_socket, self, NULL);
}

static void
queue_event (Slack *slack, JsonObject *event, const gchar *event_id, guint retry_attempt)
{
  JsonObject *envelope = json_object_new ();
  JsonObject *payload = json_object_new ();
  g_autofree gchar *envelope_id = g_uuid_string_random ();

  json_object_set_string_member (payload, "token", "verification-token");
  json_object_set_string_member (payload, "team_id", "T0TEAM");
  json_object_set_string_member (payload, "api_app_id", "A0APP");
  json_object_set_object_member (payload, "event", json_object_ref (event));
  json_object_set_string_member (payload, "type", "event_callback");
  json_object_set_string_member (payload, "event_id", event_id);
  json_object_set_int_member (payload, "event_time", g_get_real_time () / G_USEC_PER_SEC);
  json_object_set_string_member (envelope, "envelope_id", envelope_id);
  json_object_set_object_member (envelope, "payload", payload);
  json_object_set_string_member (envelope, "type", "events_api");
  json_object_set_boolean_member (envelope, "accepts_response_payload", FALSE);
  json_object_set_int_member (envelope, "retry_attempt", retry_attempt);
  json_object_set_string_member (envelope, "retry_reason", retry_attempt > 0 ? "timeout" : "");
  g_ptr_array_add (slack->unacked, envelope);
  g_hash_table_insert (slack->attempts, g_strdup (event_id), GUINT_TO_POINTER (retry_attempt));
  if (slack->socket != NULL)
    {
      send_envelope (slack, envelope);
      json_object_set_boolean_member (envelope, "sent", TRUE);
    }
}

/* A user's message; with @files (taken, may be NULL) a file_share. */
static gchar *
user_event (CwFakeCloud *self, const gchar *chat_id, const gchar *sender_id, const gchar *text,
            JsonArray *files)
{
  Slack *slack = self->state;
  JsonObject *event = json_object_new ();
  g_autofree gchar *ts = new_ts (slack);
  g_autofree gchar *event_id = g_strdup_printf ("Ev%" G_GINT64_FORMAT, cw_fake_next (self));
  gboolean dm = chat_id[0] == 'D';

  json_object_set_string_member (event, "type", dm ? "message" : "app_mention");
  json_object_set_string_member (event, "channel", chat_id);
  json_object_set_string_member (event, "channel_type", dm ? "im" : "channel");
  json_object_set_string_member (event, "user", sender_id);
  json_object_set_string_member (event, "text", text);
  json_object_set_string_member (event, "ts", ts);
  json_object_set_string_member (event, "event_ts", ts);
  json_object_set_string_member (event, "team", "T0TEAM");
  {
    g_autofree gchar *client_msg_id = g_uuid_string_random ();
    json_object_set_string_member (event, "client_msg_id", client_msg_id);
  }
  if (files != NULL)
    {
      json_object_set_string_member (event, "subtype", "file_share");
      json_object_set_array_member (event, "files", files);
    }
  g_hash_table_insert (slack->events, g_strdup_printf ("%s:%s", chat_id, ts),
                       json_object_ref (event));
  g_hash_table_insert (slack->event_ids, g_strdup_printf ("%s:%s", chat_id, ts),
                       g_strdup (event_id));
  queue_event (slack, event, event_id, 0);
  json_object_unref (event);
  return g_strdup_printf ("%s:%s", chat_id, ts);
}

static gchar *
slack_inject (CwFakeCloud *self, const gchar *chat_id, const gchar *sender_id,
              const gchar *sender_name, const gchar *text)
{
  return user_event (self, chat_id, sender_id, text, NULL);
}

/* A DM of subtype file_share whose files[] entry has url_private_download on this server,
 * served with the bot token only (/files-pri/T0TEAM-<id>/download/<name>). */
static gchar *
slack_inject_file (CwFakeCloud *self, const gchar *chat_id, const gchar *sender_id,
                   const gchar *sender_name, const gchar *caption, const gchar *kind,
                   const gchar *file_name, const gchar *mime_type, GBytes *content)
{
  g_autofree gchar *id = cw_fake_file_add (self, file_name, mime_type, content);
  g_autofree gchar *url
      = g_strdup_printf ("%s/files-pri/T0TEAM-%s/download/%s", self->root, id, file_name);
  JsonArray *files = json_array_new ();
  JsonObject *file = json_object_new ();

  g_assert_cmpstr (kind, ==, "file_share");
  json_object_set_string_member (file, "id", id);
  json_object_set_string_member (file, "name", file_name);
  json_object_set_string_member (file, "title", file_name);
  json_object_set_string_member (file, "mimetype", mime_type);
  json_object_set_int_member (file, "size", g_bytes_get_size (content));
  json_object_set_string_member (file, "mode", "hosted");
  json_object_set_string_member (file, "url_private", url);
  json_object_set_string_member (file, "url_private_download", url);
  json_array_add_object_element (files, file);
  return user_event (self, chat_id, sender_id, caption != NULL ? caption : "", files);
}

static void
slack_redeliver (CwFakeCloud *self, const gchar *message_id)
{
  Slack *slack = self->state;
  JsonObject *event = g_hash_table_lookup (slack->events, message_id);
  const gchar *event_id = g_hash_table_lookup (slack->event_ids, message_id);
  guint attempt = GPOINTER_TO_UINT (g_hash_table_lookup (slack->attempts, event_id)) + 1;

  g_assert (event != NULL);
  /* the retry replaces a delivery that was not acked */
  for (guint i = slack->unacked->len; i > 0; i--)
    {
      JsonObject *payload = json_object_get_object_member (slack->unacked->pdata[i - 1], "payload");
      if (g_str_equal (json_object_get_string_member (payload, "event_id"), event_id))
        g_ptr_array_remove_index (slack->unacked, i - 1);
    }
  queue_event (slack, event, event_id, attempt);
}

static gboolean
close_later (gpointer data)
{
  SoupWebsocketConnection *conn = data;

  if (soup_websocket_connection_get_state (conn) == SOUP_WEBSOCKET_STATE_OPEN)
    cw_fake_socket_close (conn, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
  return G_SOURCE_REMOVE;
}

static void
slack_control (CwFakeCloud *self, const gchar *what)
{
  Slack *slack = self->state;
  GSource *source;

  g_assert_cmpstr (what, ==, "disconnect");
  if (slack->socket == NULL)
    return;
  soup_websocket_connection_send_text (slack->socket,
                                       "{\"type\":\"disconnect\",\"reason\":\"refresh_requested\","
                                       "\"debug_info\":{\"host\":\"cw-fake\"}}");
  source = g_timeout_source_new (1000);
  g_source_set_callback (source, close_later, g_object_ref (slack->socket), g_object_unref);
  g_source_attach (source, g_main_context_get_thread_default ());
  g_source_unref (source);
}

static void
slack_down (CwFakeCloud *self)
{
  Slack *slack = self->state;

  cw_fake_socket_release (&slack->socket, slack);
}

const CwFakePlatform cw_fake_slack = {
  .setup = slack_setup,
  .inject = slack_inject,
  .inject_file = slack_inject_file,
  .redeliver = slack_redeliver,
  .control = slack_control,
  .down = slack_down,
  .free = slack_free,
};
