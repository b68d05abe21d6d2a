/* cw-fake-bluebubbles.c: a BlueBubbles server. REST under /api/v1 with the server password as
 * `?password=` (or a Bearer token): GET server/info, POST message/query ({limit, offset,
 * sort, after, with}), POST message/text ({chatGuid, tempGuid, message, method}), POST
 * message/attachment (multipart: chatGuid, tempGuid, name, method, attachment); answers
 * {status, message, data, metadata?} or {status, message, error:{type, message}}. Events go
 * out as BlueBubbles does, over Socket.IO (Engine.IO v4 on a WebSocket at
 * /socket.io/?EIO=4&transport=websocket&password=...): the open packet `0{sid, pingInterval,
 * pingTimeout}`, `40` -> `40{sid}`, events `42["new-message", message]`, server ping `2` ->
 * client pong `3`. What the bot sends comes back as a new-message with isFromMe true.
 * Records: "server_info", "query", "send", "attachment" (the parts, the file with its bytes),
 * "socket", "pong", "socket_message".
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-fake-cloud-private.h"

#include <string.h>

typedef struct
{
  CwFakeCloud *self;
  GPtrArray *messages; /* every message, in order */
  GPtrArray *sockets;  /* connected (namespace joined) SoupWebsocketConnection */
  GSource *ping;
} BlueBubbles;

static void
bb_free (gpointer data)
{
  BlueBubbles *bb = data;

  if (bb->ping != NULL)
    g_source_destroy (bb->ping);
  g_clear_pointer (&bb->ping, g_source_unref);
  g_ptr_array_unref (bb->messages);
  for (guint i = 0; i < bb->sockets->len; i++)
    g_signal_handlers_disconnect_by_data (bb->sockets->pdata[i], bb);
  g_ptr_array_unref (bb->sockets);
  g_free (bb);
}

static void
reply_error (SoupServerMessage *msg, guint status, const gchar *type, const gchar *message)
{
  g_autofree gchar *body = g_strdup_printf (
      "{\"status\":%u,\"message\":\"%s\",\"error\":{\"type\":\"%s\",\"message\":\"%s\"}}", status,
      type, type, message);

  cw_fake_reply_text (msg, status, body);
}

static void
reply_data (SoupServerMessage *msg, const gchar *message, JsonNode *data, JsonObject *metadata)
{
  JsonObject *reply = json_object_new ();
  g_autoptr (JsonNode) node = NULL;

  json_object_set_int_member (reply, "status", 200);
  json_object_set_string_member (reply, "message", message);
  json_object_set_member (reply, "data", data);
  if (metadata != NULL)
    json_object_set_object_member (reply, "metadata", metadata);
  node = cw_fake_take_object (reply);
  cw_fake_reply (msg, 200, node);
}

static gboolean
authorised (CwFakeCloud *self, SoupServerMessage *msg, GHashTable *query)
{
  g_autofree gchar *bearer = cw_fake_request_bearer (msg);
  const gchar *password = query != NULL ? g_hash_table_lookup (query, "password") : NULL;

  if (password == NULL && query != NULL)
    password = g_hash_table_lookup (query, "guid");
  return cw_fake_token_ok (self, password) || cw_fake_token_ok (self, bearer);
}

static void
emit (BlueBubbles *bb, const gchar *event, JsonObject *message)
{
  JsonArray *packet = json_array_new ();
  g_autoptr (JsonNode) node = NULL;
  g_autofree gchar *json = NULL;
  g_autofree gchar *frame = NULL;

  json_array_add_string_element (packet, event);
  json_array_add_object_element (packet, json_object_ref (message));
  node = cw_fake_take_array (packet);
  json = json_to_string (node, FALSE);
  frame = g_strconcat ("42", json, NULL);
  for (guint i = 0; i < bb->sockets->len; i++)
    if (soup_websocket_connection_get_state (bb->sockets->pdata[i]) == SOUP_WEBSOCKET_STATE_OPEN)
      soup_websocket_connection_send_text (bb->sockets->pdata[i], frame);
}

static JsonObject *
new_message (BlueBubbles *bb, const gchar *chat_guid, const gchar *address, gboolean from_me,
             const gchar *text)
{
  JsonObject *message = json_object_new ();
  JsonObject *handle = json_object_new ();
  JsonObject *chat = json_object_new ();
  JsonArray *chats = json_array_new ();
  g_autofree gchar *guid = g_uuid_string_random ();
  gchar *upper = g_ascii_strup (guid, -1);

  json_object_set_string_member (message, "guid", upper);
  json_object_set_string_member (message, "text", text);
  json_object_set_boolean_member (message, "isFromMe", from_me);
  json_object_set_int_member (message, "dateCreated", g_get_real_time () / 1000);
  json_object_set_null_member (message, "dateRead");
  json_object_set_array_member (message, "attachments", json_array_new ());
  json_object_set_null_member (message, "associatedMessageGuid");
  json_object_set_string_member (handle, "address", address);
  json_object_set_string_member (handle, "service", "iMessage");
  json_object_set_object_member (message, "handle", handle);
  json_object_set_string_member (chat, "guid", chat_guid);
  json_object_set_string_member (chat, "chatIdentifier", address);
  json_object_set_string_member (chat, "displayName", "");
  json_array_add_object_element (chats, chat);
  json_object_set_array_member (message, "chats", chats);
  g_free (upper);
  g_ptr_array_add (bb->messages, message);
  return message;
}

static void
query_messages (BlueBubbles *bb, SoupServerMessage *msg, JsonObject *params)
{
  gint64 after = json_object_get_int_member_with_default (params, "after", 0);
  gint64 limit = json_object_get_int_member_with_default (params, "limit", 100);
  gint64 offset = json_object_get_int_member_with_default (params, "offset", 0);
  const gchar *sort = json_object_get_string_member_with_default (params, "sort", "DESC");
  g_autoptr (GPtrArray) matches = g_ptr_array_new ();
  JsonArray *data = json_array_new ();
  JsonObject *metadata = json_object_new ();

  for (guint i = 0; i < bb->messages->len; i++)
    if (json_object_get_int_member (bb->messages->pdata[i], "dateCreated") > after)
      g_ptr_array_add (matches, bb->messages->pdata[i]);
  if (g_ascii_strcasecmp (sort, "DESC") == 0)
    for (guint i = 0; i < matches->len / 2; i++)
      {
        gpointer tmp = matches->pdata[i];
        matches->pdata[i] = matches->pdata[matches->len - 1 - i];
        matches->pdata[matches->len - 1 - i] = tmp;
      }
  for (gint64 i = offset; i < (gint64) matches->len && i < offset + limit; i++)
    json_array_add_object_element (data, json_object_ref (matches->pdata[i]));
  json_object_set_int_member (metadata, "offset", offset);
  json_object_set_int_member (metadata, "limit", limit);
  json_object_set_int_member (metadata, "total", matches->len);
  json_object_set_int_member (metadata, "count", json_array_get_length (data));
  reply_data (msg, "Success", cw_fake_take_array (data), metadata);
}

static void
send_text (BlueBubbles *bb, SoupServerMessage *msg, JsonObject *params)
{
  const gchar *chat = json_object_get_string_member_with_default (params, "chatGuid", NULL);
  const gchar *temp = json_object_get_string_member_with_default (params, "tempGuid", NULL);
  const gchar *text = json_object_get_string_member_with_default (params, "message", "");
  JsonObject *message;
  JsonObject *copy;

  if (chat == NULL || *text == '\0')
    return reply_error (msg, 400, "Bad Request", "A chatGuid and a message are required");
  if (temp != NULL)
    for (guint i = 0; i < bb->messages->len; i++)
      if (g_strcmp0 (
              json_object_get_string_member_with_default (bb->messages->pdata[i], "tempGuid", NULL),
              temp)
          == 0)
        {
          /* BlueBubbles refuses a tempGuid it has already sent */
          return reply_error (msg, 400, "Bad Request", "Message is already queued to be sent");
        }
  message = new_message (bb, chat, "+15550000000", TRUE, text);
  if (temp != NULL)
    json_object_set_string_member (message, "tempGuid", temp);
  cw_fake_chat_add (bb->self, chat, json_object_get_string_member (message, "guid"), text);
  copy = json_object_ref (message);
  reply_data (msg, "Message sent!", cw_fake_take_object (copy), NULL);
  emit (bb, "new-message", message);
}

/* message/attachment (multipart: chatGuid, tempGuid, name, attachment): the chat gets
 * "[file] <name>". */
static void
send_attachment (BlueBubbles *bb, SoupServerMessage *msg, JsonObject *params)
{
  const gchar *chat = json_object_get_string_member_with_default (params, "chatGuid", NULL);
  const gchar *name = json_object_get_string_member_with_default (params, "name", NULL);
  JsonNode *file = json_object_get_member (params, "attachment");
  g_autofree gchar *text = NULL;
  JsonObject *message;

  if (chat == NULL || name == NULL || file == NULL || !JSON_NODE_HOLDS_OBJECT (file))
    return reply_error (msg, 400, "Bad Request",
                        "A chatGuid, a name and an attachment are required");
  text = g_strdup_printf ("[file] %s", name);
  message = new_message (bb, chat, "+15550000000", TRUE, "");
  cw_fake_chat_add (bb->self, chat, json_object_get_string_member (message, "guid"), text);
  reply_data (msg, "Attachment sent!", cw_fake_take_object (json_object_ref (message)), NULL);
  emit (bb, "new-message", message);
}

static void
handle (SoupServer *server, SoupServerMessage *msg, const gchar *path, GHashTable *query,
        gpointer data)
{
  CwFakeCloud *self = data;
  BlueBubbles *bb = self->state;
  const gchar *kind = "unknown";
  guint status;
  g_autofree gchar *body = NULL;
  g_autoptr (JsonObject) params = NULL;

  if (cw_fake_cut_if_down (self, msg))
    return;
  if (g_str_has_prefix (path, "/api/v1/attachment/") && g_str_has_suffix (path, "/download"))
    {
      /* GET attachment/<guid>/download: the file, for the server password only */
      g_autofree gchar *guid
          = g_strndup (path + strlen ("/api/v1/attachment/"),
                       strlen (path) - strlen ("/api/v1/attachment/") - strlen ("/download"));
      if (!authorised (self, msg, query))
        return reply_error (msg, 401, "Unauthorized",
                            "You are not authorized to access this resource");
      return cw_fake_file_serve (self, msg, guid);
    }
  if (g_str_equal (path, "/api/v1/server/info"))
    kind = "server_info";
  else if (g_str_equal (path, "/api/v1/message/query"))
    kind = "query";
  else if (g_str_equal (path, "/api/v1/message/text"))
    kind = "send";
  else if (g_str_equal (path, "/api/v1/message/attachment"))
    kind = "attachment";
  params = cw_fake_request_params (msg);
  cw_fake_record (self, kind,
                  cw_fake_request_record (msg, g_str_equal (kind, "attachment")
                                                   ? cw_fake_take_object (json_object_ref (params))
                                                   : cw_fake_request_json (msg)));
  if (!authorised (self, msg, query))
    return reply_error (msg, 401, "Unauthorized", "You are not authorized to access this resource");
  if (cw_fake_take_failure (self, kind, &status, &body))
    {
      if (body != NULL)
        cw_fake_reply_text (msg, status, body);
      else
        reply_error (msg, status, "Server Error", "fake failure");
      return;
    }
  if (g_str_equal (kind, "server_info"))
    reply_data (msg, "Success",
                cw_fake_parse ("{\"computer_id\":\"fake\",\"os_version\":\"14.4\","
                               "\"server_version\":\"1.9.7\",\"private_api\":false,"
                               "\"proxy_service\":\"lan-url\",\"helper_connected\":false,"
                               "\"detected_icloud\":\"bot@icloud.com\"}"),
                NULL);
  else if (g_str_equal (kind, "query"))
    query_messages (bb, msg, params);
  else if (g_str_equal (kind, "send"))
    send_text (bb, msg, params);
  else if (g_str_equal (kind, "attachment"))
    send_attachment (bb, msg, params);
  else
    reply_error (msg, 404, "Not Found", "Route not found");
}

static void
socket_message (SoupWebsocketConnection *conn, gint type, GBytes *bytes, gpointer data)
{
  BlueBubbles *bb = data;
  g_autofree gchar *text = g_strndup (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
  JsonObject *record = json_object_new ();

  json_object_set_string_member (record, "body", text);
  if (g_str_equal (text, "3"))
    cw_fake_record (bb->self, "pong", record);
  else
    cw_fake_record (bb->self, "socket_message", record);
  if (g_str_equal (text, "2")) /* a client ping is answered too */
    soup_websocket_connection_send_text (conn, "3");
  else if (g_str_has_prefix (text, "40"))
    {
      g_autofree gchar *sid = g_uuid_string_random ();
      g_autofree gchar *reply = g_strdup_printf ("40{\"sid\":\"%s\"}", sid);
      soup_websocket_connection_send_text (conn, reply);
      if (!g_ptr_array_find (bb->sockets, conn, NULL))
        g_ptr_array_add (bb->sockets, g_object_ref (conn));
    }
}

static void
socket_closed (SoupWebsocketConnection *conn, gpointer data)
{
  BlueBubbles *bb = data;

  g_ptr_array_remove (bb->sockets, conn);
}

static gboolean
ping_all (gpointer data)
{
  BlueBubbles *bb = data;

  for (guint i = 0; i < bb->sockets->len; i++)
    if (soup_websocket_connection_get_state (bb->sockets->pdata[i]) == SOUP_WEBSOCKET_STATE_OPEN)
      soup_websocket_connection_send_text (bb->sockets->pdata[i], "2");
  return G_SOURCE_CONTINUE;
}

static void
handle_socket (SoupServer *server, SoupServerMessage *msg, const gchar *path,
               SoupWebsocketConnection *conn, gpointer data)
{
  CwFakeCloud *self = data;
  BlueBubbles *bb = self->state;
  GUri *uri = soup_server_message_get_uri (msg);
  g_autoptr (GHashTable) query
      = g_uri_get_query (uri) != NULL ? soup_form_decode (g_uri_get_query (uri)) : NULL;
  g_autofree gchar *sid = g_uuid_string_random ();
  g_autofree gchar *open = NULL;
  gint64 interval = cw_fake_option_int (self, "ping_interval", 25000);

  cw_fake_record (self, "socket", cw_fake_request_record (msg, NULL));
  cw_fake_socket_add (self, conn);
  if (!authorised (self, msg, query))
    {
      soup_websocket_connection_send_text (conn, "44{\"message\":\"Unauthorized\"}");
      cw_fake_socket_close (conn, SOUP_WEBSOCKET_CLOSE_POLICY_VIOLATION, NULL);
      return;
    }
  g_signal_connect (conn, "message", G_CALLBACK (socket_message), bb);
  g_signal_connect (conn, "closed", G_CALLBACK (socket_closed), bb);
  open = g_strdup_printf ("0{\"sid\":\"%s\",\"upgrades\":[],\"pingInterval\":%" G_GINT64_FORMAT
                          ",\"pingTimeout\":20000,\"maxPayload\":1000000}",
                          sid, interval);
  soup_websocket_connection_send_text (conn, open);
  if (bb->ping == NULL)
    {
      bb->ping = g_timeout_source_new (interval);
      g_source_set_callback (bb->ping, ping_all, bb, NULL);
      g_source_attach (bb->ping, g_main_context_get_thread_default ());
    }
}

static void
bb_setup (CwFakeCloud *self)
{
  BlueBubbles *bb = g_new0 (BlueBubbles, 1);

  bb->self = self;
  bb->messages = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  bb->sockets = g_ptr_array_new_with_free_func (g_object_unref);
  self->state = bb;
  soup_server_add_websocket_handler (self->server, "/socket.io", NULL, NULL, handle_socket, self,
                                     NULL);
  soup_server_add_handler (self->server, "/api/v1", handle, self, NULL);
}

static gchar *
bb_inject (CwFakeCloud *self, const gchar *chat_id, const gchar *sender_id,
           const gchar *sender_name, const gchar *text)
{
  BlueBubbles *bb = self->state;
  JsonObject *message = new_message (bb, chat_id, sender_id, FALSE, text);

  emit (bb, "new-message", message);
  return g_strdup (json_object_get_string_member (message, "guid"));
}

/* An incoming message with one attachment ({guid, transferName, mimeType, totalBytes}), the
 * file at attachment/<guid>/download. */
static gchar *
bb_inject_file (CwFakeCloud *self, const gchar *chat_id, const gchar *sender_id,
                const gchar *sender_name, const gchar *caption, const gchar *kind,
                const gchar *file_name, const gchar *mime_type, GBytes *content)
{
  BlueBubbles *bb = self->state;
  JsonObject *message = new_message (bb, chat_id, sender_id, FALSE, caption);
  g_autofree gchar *guid = cw_fake_file_add (self, file_name, mime_type, content);
  JsonArray *attachments = json_array_new ();
  JsonObject *attachment = json_object_new ();

  json_object_set_string_member (attachment, "guid", guid);
  json_object_set_string_member (attachment, "transferName", file_name);
  json_object_set_string_member (attachment, "mimeType", mime_type);
  json_object_set_int_member (attachment, "totalBytes", g_bytes_get_size (content));
  json_array_add_object_element (attachments, attachment);
  json_object_set_array_member (message, "attachments", attachments);
  emit (bb, "new-message", message);
  return g_strdup (json_object_get_string_member (message, "guid"));
}

static void
bb_redeliver (CwFakeCloud *self, const gchar *message_id)
{
  BlueBubbles *bb = self->state;

  for (guint i = 0; i < bb->messages->len; i++)
    if (g_str_equal (json_object_get_string_member (bb->messages->pdata[i], "guid"), message_id))
      {
        emit (bb, "new-message", bb->messages->pdata[i]);
        return;
      }
  g_assert_not_reached ();
}

static void
bb_down (CwFakeCloud *self)
{
  BlueBubbles *bb = self->state;

  for (guint i = 0; i < bb->sockets->len; i++)
    g_signal_handlers_disconnect_by_data (bb->sockets->pdata[i], bb);
  g_ptr_array_set_size (bb->sockets, 0);
}

const CwFakePlatform cw_fake_bluebubbles = {
  .setup = bb_setup,
  .inject = bb_inject,
  .inject_file = bb_inject_file,
  .redeliver = bb_redeliver,
  .down = bb_down,
  .free = bb_free,
};
