/* cw-fake-discord.c: Discord's REST API under /api/v10 (users/@me, gateway/bot, POST and
 * PATCH channels/{id}/messages with nonce + enforce_nonce dedupe (a POST may be multipart:
 * payload_json and files[n], recorded with their bytes), GET channels/{id}/messages
 * ?after= (the people's messages, newest first), POST channels/{id}/typing;
 * "Bot <token>" auth; 429 with {message, retry_after, global}) and the Gateway v10 at
 * /gateway (what gateway/bot returns) and /resume (the READY's resume_gateway_url):
 * op 10 Hello with heartbeat_interval, op 1 -> op 11, op 2 Identify -> READY (session_id,
 * resume_gateway_url), MESSAGE_CREATE dispatches numbered by s, op 6 Resume -> the missed
 * dispatches and RESUMED (or op 9 false for an unknown session), op 7 and op 9 on request.
 * With the option "hold_send" set to 1, POST channels/{id}/messages is recorded and never
 * answered nor delivered.
 * Records: "identify", "resume", "heartbeat", "gateway" (a connection), and the REST calls as
 * "me", "gateway_bot", "create_message", "edit_message", "list_messages", "typing".
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-fake-cloud-private.h"

#include <stdlib.h>
#include <string.h>

typedef struct
{
  CwFakeCloud *self;
  gchar *session_id;
  gint64 seq;
  GPtrArray *dispatches; /* JsonObject {op, s, t, d} of the current session */
  GHashTable *messages;  /* id -> JsonObject MESSAGE_CREATE d */
  GPtrArray *history;    /* the people's messages, oldest first (GET channels/{id}/messages) */
  GHashTable *nonces;    /* nonce -> JsonObject created message */
  SoupWebsocketConnection *socket;
  gboolean ready; /* the socket identified or resumed */
} Discord;

static void
discord_free (gpointer data)
{
  Discord *dc = data;

  g_free (dc->session_id);
  g_ptr_array_unref (dc->dispatches);
  g_hash_table_unref (dc->messages);
  g_ptr_array_unref (dc->history);
  g_hash_table_unref (dc->nonces);
  cw_fake_socket_release (&dc->socket, dc);
  g_free (dc);
}

static gchar *
snowflake (CwFakeCloud *self)
{
  /* timestamp bits like Discord's (ms since 2015) so ids sort by time */
  gint64 ms = g_get_real_time () / 1000 - G_GINT64_CONSTANT (1420070400000);

  return g_strdup_printf ("%" G_GINT64_FORMAT, (ms << 22) | (cw_fake_next (self) & 0x3fffff));
}

static void
reply_error (SoupServerMessage *msg, guint status, gint code, const gchar *message)
{
  g_autofree gchar *body = g_strdup_printf ("{\"message\":\"%s\",\"code\":%d}", message, code);

  cw_fake_reply_text (msg, status, body);
}

static JsonObject *
bot_user (void)
{
  JsonObject *user = json_object_new ();

  json_object_set_string_member (user, "id", "900000000000000001");
  json_object_set_string_member (user, "username", "cowork");
  json_object_set_string_member (user, "discriminator", "0");
  json_object_set_boolean_member (user, "bot", TRUE);
  return user;
}

static JsonObject *
message_object (Discord *dc, const gchar *id, const gchar *channel, JsonObject *author,
                const gchar *content)
{
  JsonObject *message = json_object_new ();
  g_autofree gchar *now = cw_fake_iso8601 (g_get_real_time () / 1000);

  json_object_set_string_member (message, "id", id);
  json_object_set_string_member (message, "channel_id", channel);
  json_object_set_object_member (message, "author", author);
  json_object_set_string_member (message, "content", content);
  json_object_set_string_member (message, "timestamp", now);
  json_object_set_null_member (message, "edited_timestamp");
  json_object_set_int_member (message, "type", 0);
  json_object_set_boolean_member (message, "tts", FALSE);
  json_object_set_boolean_member (message, "mention_everyone", FALSE);
  json_object_set_array_member (message, "mentions", json_array_new ());
  json_object_set_array_member (message, "attachments", json_array_new ());
  json_object_set_array_member (message, "embeds", json_array_new ());
  return message;
}

static void
create_message (Discord *dc, SoupServerMessage *msg, const gchar *channel)
{
  g_autoptr (JsonObject) params = cw_fake_request_params (msg);
  const gchar *content, *nonce;
  g_autofree gchar *id = NULL, *text = NULL;
  JsonObject *message;
  g_autoptr (JsonNode) node = NULL;
  JsonArray *files = json_array_new ();

  /* multipart: the message is in payload_json, files[n] are its attachments */
  if (json_object_has_member (params, "payload_json"))
    {
      g_autoptr (JsonNode) payload
          = cw_fake_parse (json_object_get_string_member (params, "payload_json"));
      JsonObjectIter iter;
      const gchar *name;
      JsonNode *member;
      if (payload != NULL && JSON_NODE_HOLDS_OBJECT (payload))
        {
          json_object_iter_init (&iter, json_node_get_object (payload));
          while (json_object_iter_next (&iter, &name, &member))
            if (!g_str_equal (name, "attachments"))
              json_object_set_member (params, name, json_node_copy (member));
        }
      for (guint i = 0; i < 10; i++)
        {
          g_autofree gchar *field = g_strdup_printf ("files[%u]", i);
          JsonNode *file = json_object_get_member (params, field);
          JsonObject *attachment;
          if (file == NULL || !JSON_NODE_HOLDS_OBJECT (file))
            break;
          attachment = json_object_new ();
          json_object_set_string_member (attachment, "id", "1100000000000000000");
          json_object_set_string_member (
              attachment, "filename",
              json_object_get_string_member (json_node_get_object (file), "filename"));
          json_object_set_int_member (
              attachment, "size", json_object_get_int_member (json_node_get_object (file), "size"));
          json_object_set_string_member (
              attachment, "content_type",
              json_object_get_string_member (json_node_get_object (file), "contentType"));
          json_array_add_object_element (files, attachment);
        }
    }
  content = json_object_get_string_member_with_default (params, "content", "");
  nonce = json_object_get_string_member_with_default (params, "nonce", NULL);
  if (*content == '\0' && json_array_get_length (files) == 0)
    {
      json_array_unref (files);
      return reply_error (msg, 400, 50006, "Cannot send an empty message");
    }
  if (g_utf8_strlen (content, -1) > 2000)
    {
      json_array_unref (files);
      return reply_error (msg, 400, 50035, "Invalid Form Body");
    }
  if (nonce != NULL && json_object_get_boolean_member_with_default (params, "enforce_nonce", FALSE)
      && g_hash_table_contains (dc->nonces, nonce))
    {
      json_array_unref (files);
      node = cw_fake_take_object (json_object_ref (g_hash_table_lookup (dc->nonces, nonce)));
      return cw_fake_reply (msg, 200, node);
    }
  id = snowflake (dc->self);
  message = message_object (dc, id, channel, bot_user (), content);
  if (json_array_get_length (files) > 0)
    text = g_strdup_printf (
        "[file] %s: %s",
        json_object_get_string_member (json_array_get_object_element (files, 0), "filename"),
        content);
  json_object_set_array_member (message, "attachments", files);
  if (nonce != NULL)
    {
      json_object_set_string_member (message, "nonce", nonce);
      g_hash_table_insert (dc->nonces, g_strdup (nonce), json_object_ref (message));
    }
  cw_fake_chat_add (dc->self, channel, id, text != NULL ? text : content);
  node = cw_fake_take_object (message);
  cw_fake_reply (msg, 200, node);
}

static void
edit_message (Discord *dc, SoupServerMessage *msg, const gchar *channel, const gchar *id)
{
  g_autoptr (JsonObject) params = cw_fake_request_params (msg);
  const gchar *content = json_object_get_string_member_with_default (params, "content", "");
  gboolean unchanged;
  g_autoptr (JsonNode) node = NULL;

  if (g_utf8_strlen (content, -1) > 2000)
    return reply_error (msg, 400, 50035, "Invalid Form Body");
  if (!cw_fake_chat_edit (dc->self, channel, id, content, &unchanged))
    return reply_error (msg, 404, 10008, "Unknown Message");
  node = cw_fake_take_object (message_object (dc, id, channel, bot_user (), content));
  cw_fake_reply (msg, 200, node);
}

/* Snowflakes compare as numbers. */
static gint
snowflake_cmp (const gchar *a, const gchar *b)
{
  gsize la = strlen (a), lb = strlen (b);

  return la != lb ? (la < lb ? -1 : 1) : strcmp (a, b);
}

/* GET channels/{id}/messages?after=&limit=: newest first, as Discord answers. */
static void
list_messages (Discord *dc, SoupServerMessage *msg, const gchar *channel, GHashTable *query)
{
  const gchar *after = query != NULL ? g_hash_table_lookup (query, "after") : NULL;
  const gchar *limit_text = query != NULL ? g_hash_table_lookup (query, "limit") : NULL;
  guint limit = limit_text != NULL ? CLAMP (atoi (limit_text), 1, 100) : 50;
  JsonArray *out = json_array_new ();
  g_autoptr (JsonNode) node = NULL;
  g_autoptr (GPtrArray) matches = g_ptr_array_new ();

  for (guint i = 0; i < dc->history->len; i++)
    {
      JsonObject *m = dc->history->pdata[i];
      if (g_str_equal (json_object_get_string_member (m, "channel_id"), channel)
          && (after == NULL || snowflake_cmp (json_object_get_string_member (m, "id"), after) > 0))
        g_ptr_array_add (matches, m);
    }
  /* with `after`, Discord returns the oldest ones after it, newest first */
  for (guint i = 0; i < matches->len && i < limit; i++)
    {
      guint from = MIN (matches->len, limit) - 1 - i;
      json_array_add_object_element (out, json_object_ref (matches->pdata[from]));
    }
  node = cw_fake_take_array (out);
  cw_fake_reply (msg, 200, node);
}

static void
handle_api (SoupServer *server, SoupServerMessage *msg, const gchar *path, GHashTable *query,
            gpointer data)
{
  CwFakeCloud *self = data;
  Discord *dc = self->state;
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  const gchar *auth = soup_message_headers_get_one (headers, "Authorization");
  const gchar *method = soup_server_message_get_method (msg);
  g_auto (GStrv) parts = g_strsplit (path + strlen ("/api/v10/"), "/", -1);
  guint n = g_strv_length (parts);
  const gchar *kind = "unknown";
  guint status;
  g_autofree gchar *body = NULL;

  if (cw_fake_cut_if_down (self, msg))
    return;
  if (n == 2 && g_str_equal (parts[0], "users") && g_str_equal (parts[1], "@me"))
    kind = "me";
  else if (n == 2 && g_str_equal (parts[0], "gateway") && g_str_equal (parts[1], "bot"))
    kind = "gateway_bot";
  else if (n == 3 && g_str_equal (parts[0], "channels") && g_str_equal (parts[2], "messages")
           && g_str_equal (method, "POST"))
    kind = "create_message";
  else if (n == 4 && g_str_equal (parts[0], "channels") && g_str_equal (parts[2], "messages")
           && g_str_equal (method, "PATCH"))
    kind = "edit_message";
  else if (n == 3 && g_str_equal (parts[0], "channels") && g_str_equal (parts[2], "typing"))
    kind = "typing";
  else if (n == 3 && g_str_equal (parts[0], "channels") && g_str_equal (parts[2], "messages")
           && g_str_equal (method, "GET"))
    kind = "list_messages";
  {
    JsonNode *record_body = cw_fake_request_json (msg);
    const gchar *type = soup_message_headers_get_content_type (headers, NULL);
    /* a multipart message: its parts (payload_json, files[n] with their bytes) */
    if (record_body == NULL && g_strcmp0 (type, "multipart/form-data") == 0)
      record_body = cw_fake_take_object (cw_fake_request_params (msg));
    cw_fake_record (self, kind, cw_fake_request_record (msg, record_body));
  }
  if (auth == NULL || !g_str_has_prefix (auth, "Bot ") || !cw_fake_token_ok (self, auth + 4))
    return reply_error (msg, 401, 0, "401: Unauthorized");
  if (cw_fake_take_failure (self, kind, &status, &body))
    {
      if (status == 429)
        {
          soup_message_headers_replace (soup_server_message_get_response_headers (msg),
                                        "Retry-After", "1");
          cw_fake_reply_text (msg, 429,
                              body != NULL ? body
                                           : "{\"message\":\"You are being rate "
                                             "limited.\",\"retry_after\":1.0,"
                                             "\"global\":false}");
        }
      else if (body != NULL)
        cw_fake_reply_text (msg, status, body);
      else
        reply_error (msg, status, 0, "fake failure");
      return;
    }
  if (g_str_equal (kind, "me"))
    {
      g_autoptr (JsonNode) node = cw_fake_take_object (bot_user ());
      cw_fake_reply (msg, 200, node);
    }
  else if (g_str_equal (kind, "gateway_bot"))
    {
      g_autofree gchar *reply = g_strdup_printf (
          "{\"url\":\"ws://127.0.0.1:%u/gateway\",\"shards\":1,\"session_start_limit\":"
          "{\"total\":1000,\"remaining\":999,\"reset_after\":14400000,"
          "\"max_concurrency\":1}}",
          self->port);
      cw_fake_reply_text (msg, 200, reply);
    }
  else if (g_str_equal (kind, "create_message"))
    {
      if (!cw_fake_hold_if_asked (self, msg))
        create_message (dc, msg, parts[1]);
    }
  else if (g_str_equal (kind, "edit_message"))
    edit_message (dc, msg, parts[1], parts[3]);
  else if (g_str_equal (kind, "typing"))
    soup_server_message_set_status (msg, 204, NULL);
  else if (g_str_equal (kind, "list_messages"))
    list_messages (dc, msg, parts[1], query);
  else
    reply_error (msg, 404, 0, "404: Not Found");
}

static void
send_op (SoupWebsocketConnection *conn, gint op, JsonNode *d, gint64 s, const gchar *t)
{
  JsonObject *payload = json_object_new ();
  g_autoptr (JsonNode) node = NULL;

  json_object_set_int_member (payload, "op", op);
  json_object_set_member (payload, "d", d != NULL ? d : json_node_new (JSON_NODE_NULL));
  if (s > 0)
    json_object_set_int_member (payload, "s", s);
  else
    json_object_set_null_member (payload, "s");
  if (t != NULL)
    json_object_set_string_member (payload, "t", t);
  else
    json_object_set_null_member (payload, "t");
  node = cw_fake_take_object (payload);
  cw_fake_socket_send (conn, node);
}

static void
dispatch (Discord *dc, const gchar *t, JsonObject *d)
{
  JsonObject *payload = json_object_new ();

  json_object_set_int_member (payload, "op", 0);
  json_object_set_int_member (payload, "s", ++dc->seq);
  json_object_set_string_member (payload, "t", t);
  json_object_set_object_member (payload, "d", json_object_ref (d));
  g_ptr_array_add (dc->dispatches, payload);
  if (dc->socket != NULL && dc->ready)
    {
      g_autoptr (JsonNode) node = cw_fake_take_object (json_object_ref (payload));
      cw_fake_socket_send (dc->socket, node);
    }
}

static void
identify (Discord *dc, JsonObject *d)
{
  CwFakeCloud *self = dc->self;
  const gchar *token = json_object_get_string_member_with_default (d, "token", "");
  JsonObject *ready;
  JsonObject *application = json_object_new ();
  g_autofree gchar *resume = g_strdup_printf ("ws://127.0.0.1:%u/resume", self->port);

  if (!cw_fake_token_ok (self, token))
    {
      cw_fake_socket_close (dc->socket, 4004, "Authentication failed.");
      return;
    }
  g_free (dc->session_id);
  dc->session_id = g_uuid_string_random ();
  dc->seq = 0;
  g_ptr_array_set_size (dc->dispatches, 0);
  dc->ready = TRUE;
  ready = json_object_new ();
  json_object_set_int_member (ready, "v", 10);
  json_object_set_object_member (ready, "user", bot_user ());
  json_object_set_array_member (ready, "guilds", json_array_new ());
  json_object_set_string_member (ready, "session_id", dc->session_id);
  json_object_set_string_member (ready, "resume_gateway_url", resume);
  json_object_set_string_member (application, "id", "900000000000000001");
  json_object_set_object_member (ready, "application", application);
  dispatch (dc, "READY", ready);
  json_object_unref (ready);
}

static void
resume (Discord *dc, JsonObject *d)
{
  const gchar *session = json_object_get_string_member_with_default (d, "session_id", "");
  gint64 seq = json_object_get_int_member_with_default (d, "seq", 0);
  const gchar *token = json_object_get_string_member_with_default (d, "token", "");

  if (!cw_fake_token_ok (dc->self, token))
    {
      cw_fake_socket_close (dc->socket, 4004, "Authentication failed.");
      return;
    }
  if (dc->session_id == NULL || !g_str_equal (session, dc->session_id))
    {
      send_op (dc->socket, 9, json_node_init_boolean (json_node_alloc (), FALSE), 0, NULL);
      return;
    }
  dc->ready = TRUE;
  for (guint i = 0; i < dc->dispatches->len; i++)
    {
      JsonObject *payload = dc->dispatches->pdata[i];
      if (json_object_get_int_member (payload, "s") > seq)
        {
          g_autoptr (JsonNode) node = cw_fake_take_object (json_object_ref (payload));
          cw_fake_socket_send (dc->socket, node);
        }
    }
  {
    JsonObject *resumed = json_object_new ();
    dispatch (dc, "RESUMED", resumed);
    json_object_unref (resumed);
  }
}

static void
socket_message (SoupWebsocketConnection *conn, gint type, GBytes *bytes, gpointer data)
{
  Discord *dc = data;
  g_autofree gchar *text = g_strndup (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
  g_autoptr (JsonNode) node = cw_fake_parse (text);
  JsonObject *payload, *record;
  gint64 op;
  static const gchar *const kinds[] = { [1] = "heartbeat", [2] = "identify", [6] = "resume" };
  const gchar *kind;

  if (conn != dc->socket)
    return;
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    {
      cw_fake_socket_close (conn, 4002, "Error while decoding payload.");
      return;
    }
  payload = json_node_get_object (node);
  op = json_object_get_int_member_with_default (payload, "op", -1);
  kind = op >= 0 && op < (gint64) G_N_ELEMENTS (kinds) && kinds[op] != NULL ? kinds[op]
                                                                            : "gateway_op";
  record = json_object_new ();
  json_object_set_member (record, "body", json_node_copy (node));
  cw_fake_record (dc->self, kind, record);
  if (op == 1)
    send_op (conn, 11, NULL, 0, NULL);
  else if (op == 2 && dc->ready)
    cw_fake_socket_close (conn, 4005, "Already authenticated.");
  else if (op == 2)
    identify (dc, json_object_get_object_member (payload, "d"));
  else if (op == 6)
    resume (dc, json_object_get_object_member (payload, "d"));
  else if (op != 3 && op != 8)
    cw_fake_socket_close (conn, 4001, "Unknown opcode.");
}

static void
socket_closed (SoupWebsocketConnection *conn, gpointer data)
{
  Discord *dc = data;

  if (dc->socket == conn)
    {
      cw_fake_socket_release (&dc->socket, dc);
      dc->ready = FALSE;
    }
}

static void
handle_gateway (SoupServer *server, SoupServerMessage *msg, const gchar *path,
                SoupWebsocketConnection *conn, gpointer data)
{
  CwFakeCloud *self = data;
  Discord *dc = self->state;
  JsonObject *record = cw_fake_request_record (msg, NULL);
  JsonObject *hello = json_object_new ();

  cw_fake_record (self, "gateway", record);
  cw_fake_socket_add (self, conn);
  if (dc->socket != NULL)
    cw_fake_socket_close (dc->socket, 4000, "New connection.");
  cw_fake_socket_release (&dc->socket, dc);
  dc->socket = g_object_ref (conn);
  dc->ready = FALSE;
  g_signal_connect (conn, "message", G_CALLBACK (socket_message), dc);
  g_signal_connect (conn, "closed", G_CALLBACK (socket_closed), dc);
  json_object_set_int_member (hello, "heartbeat_interval",
                              cw_fake_option_int (self, "heartbeat_interval", 41250));
  send_op (conn, 10, cw_fake_take_object (hello), 0, NULL);
}

static void
handle_cdn (SoupServer *server, SoupServerMessage *msg, const gchar *path, GHashTable *query,
            gpointer data)
{
  CwFakeCloud *self = data;
  g_auto (GStrv) parts = g_strsplit (path, "/", -1); /* "", attachments, channel, id, name */

  if (cw_fake_cut_if_down (self, msg))
    return;
  if (g_strv_length (parts) != 5)
    return soup_server_message_set_status (msg, 404, NULL);
  cw_fake_file_serve (self, msg, parts[3]);
}

static void
discord_setup (CwFakeCloud *self)
{
  Discord *dc = g_new0 (Discord, 1);

  dc->self = self;
  dc->dispatches = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  dc->history = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  dc->messages
      = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) json_object_unref);
  dc->nonces
      = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) json_object_unref);
  self->state = dc;
  soup_server_add_handler (self->server, "/api/v10", handle_api, self, NULL);
  soup_server_add_handler (self->server, "/attachments", handle_cdn, self, NULL);
  soup_server_add_websocket_handler (self->server, "/gateway", NULL, NULL, handle_gateway, self,
                                     NULL);
  soup_server_add_websocket_handler (self->server, "/resume", NULL, NULL, handle_gateway, self,
                                     NULL);
}

/* A person's message; @attachments (taken, may be NULL) its attachments[]. */
static gchar *
user_message (CwFakeCloud *self, const gchar *chat_id, const gchar *sender_id,
              const gchar *sender_name, const gchar *text, JsonArray *attachments)
{
  Discord *dc = self->state;
  g_autofree gchar *id = snowflake (self);
  JsonObject *author = json_object_new ();
  JsonObject *message;

  json_object_set_string_member (author, "id", sender_id);
  json_object_set_string_member (author, "username", sender_name);
  json_object_set_string_member (author, "global_name", sender_name);
  message = message_object (dc, id, chat_id, author, text);
  /* a guild channel unless the chat id says it is a DM */
  if (!g_str_has_prefix (chat_id, "dm"))
    json_object_set_string_member (message, "guild_id", "800000000000000001");
  if (attachments != NULL)
    json_object_set_array_member (message, "attachments", attachments);
  g_hash_table_insert (dc->messages, g_strdup (id), message);
  g_ptr_array_add (dc->history, json_object_ref (message));
  dispatch (dc, "MESSAGE_CREATE", message);
  return g_steal_pointer (&id);
}

static gchar *
discord_inject (CwFakeCloud *self, const gchar *chat_id, const gchar *sender_id,
                const gchar *sender_name, const gchar *text)
{
  return user_message (self, chat_id, sender_id, sender_name, text, NULL);
}

/* attachments[0] = {id, filename, content_type, size, url, proxy_url}, the url on the fake's
 * CDN (/attachments/<channel>/<id>/<name>, no token needed, as Discord's signed URLs). */
static gchar *
discord_inject_file (CwFakeCloud *self, const gchar *chat_id, const gchar *sender_id,
                     const gchar *sender_name, const gchar *caption, const gchar *kind,
                     const gchar *file_name, const gchar *mime_type, GBytes *content)
{
  g_autofree gchar *id = cw_fake_file_add (self, file_name, mime_type, content);
  g_autofree gchar *url
      = g_strdup_printf ("%s/attachments/%s/%s/%s", self->root, chat_id, id, file_name);
  JsonArray *attachments = json_array_new ();
  JsonObject *attachment = json_object_new ();

  json_object_set_string_member (attachment, "id", id);
  json_object_set_string_member (attachment, "filename", file_name);
  json_object_set_string_member (attachment, "content_type", mime_type);
  json_object_set_int_member (attachment, "size", g_bytes_get_size (content));
  json_object_set_string_member (attachment, "url", url);
  json_object_set_string_member (attachment, "proxy_url", url);
  json_array_add_object_element (attachments, attachment);
  return user_message (self, chat_id, sender_id, sender_name, caption != NULL ? caption : "",
                       attachments);
}

static void
discord_redeliver (CwFakeCloud *self, const gchar *message_id)
{
  Discord *dc = self->state;
  JsonObject *message = g_hash_table_lookup (dc->messages, message_id);

  g_assert (message != NULL);
  dispatch (dc, "MESSAGE_CREATE", message);
}

static gboolean
close_later (gpointer data)
{
  SoupWebsocketConnection *conn = data;

  if (soup_websocket_connection_get_state (conn) == SOUP_WEBSOCKET_STATE_OPEN)
    cw_fake_socket_close (conn, 4000, "Reconnect requested.");
  return G_SOURCE_REMOVE;
}

static void
discord_control (CwFakeCloud *self, const gchar *what)
{
  Discord *dc = self->state;

  if (dc->socket == NULL)
    return;
  if (g_str_equal (what, "reconnect"))
    {
      GSource *source = g_timeout_source_new (2000);
      send_op (dc->socket, 7, NULL, 0, NULL);
      dc->ready = FALSE; /* what follows is for the resumed connection */
      g_source_set_callback (source, close_later, g_object_ref (dc->socket), g_object_unref);
      g_source_attach (source, g_main_context_get_thread_default ());
      g_source_unref (source);
    }
  else if (g_str_equal (what, "invalid_session"))
    {
      g_clear_pointer (&dc->session_id, g_free);
      dc->ready = FALSE;
      send_op (dc->socket, 9, json_node_init_boolean (json_node_alloc (), FALSE), 0, NULL);
    }
  else if (g_str_equal (what, "heartbeat"))
    send_op (dc->socket, 1, NULL, 0, NULL);
  else
    g_error ("discord fake: unknown control %s", what);
}

static void
discord_down (CwFakeCloud *self)
{
  Discord *dc = self->state;

  cw_fake_socket_release (&dc->socket, dc);
  dc->ready = FALSE;
}

const CwFakePlatform cw_fake_discord = {
  .setup = discord_setup,
  .inject = discord_inject,
  .inject_file = discord_inject_file,
  .redeliver = discord_redeliver,
  .control = discord_control,
  .down = discord_down,
  .free = discord_free,
};
