/* cw-fake-telegram.c: the Telegram Bot API (https://core.telegram.org/bots/api) at
 * /bot<token>/<method>: getMe, getUpdates (long polling: updates below the offset are
 * confirmed and forgotten, an empty queue holds the request for `timeout` seconds, a second
 * poll ends the first with 409, a negative offset keeps the last updates only), sendMessage,
 * editMessageText, sendPhoto and sendVideo (multipart/form-data; the file is recorded with
 * the request), sendChatAction, deleteWebhook, getFile and file downloads at
 * /file/bot<token>/<file_path> (cw-fake-files.c) (with the option "hold_send" set to 1,
 * sendMessage is recorded and never answered nor delivered, as when the bot dies while it is
 * in flight; "hold_media" does the same to sendPhoto and sendVideo). Answers are
 * {ok:true, result} or {ok:false, error_code, description, parameters?}. Records are kinded by
 * method name. SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-fake-cloud-private.h"

#include <string.h>

typedef struct
{
  CwFakeCloud *self;
  GPtrArray *updates;   /* JsonObject, ascending update_id, not yet confirmed */
  GHashTable *messages; /* "<chat>:<id>" -> JsonObject message (for redelivery) */
  gint64 next_update;
  gint64 next_message;
  SoupServerMessage *poll; /* the held getUpdates */
  GPtrArray *held;         /* sendMessage requests held by "hold_send" */
  gint64 poll_offset;
  guint poll_limit;
  guint poll_timeout;
} Telegram;

static void
telegram_free (gpointer data)
{
  Telegram *tg = data;

  g_ptr_array_unref (tg->updates);
  g_hash_table_unref (tg->messages);
  g_ptr_array_unref (tg->held);
  g_free (tg);
}

static JsonNode *
ok_result (JsonNode *result)
{
  JsonObject *object = json_object_new ();

  json_object_set_boolean_member (object, "ok", TRUE);
  json_object_set_member (object, "result", result);
  return cw_fake_take_object (object);
}

static void
reply_error (SoupServerMessage *msg, guint status, const gchar *description)
{
  g_autoptr (JsonNode) node = NULL;
  JsonObject *object = json_object_new ();

  json_object_set_boolean_member (object, "ok", FALSE);
  json_object_set_int_member (object, "error_code", status);
  json_object_set_string_member (object, "description", description);
  if (status == 429)
    {
      JsonObject *parameters = json_object_new ();
      json_object_set_int_member (parameters, "retry_after", 1);
      json_object_set_object_member (object, "parameters", parameters);
    }
  node = cw_fake_take_object (object);
  cw_fake_reply (msg, status, node);
}

static gboolean
reply_failure (CwFakeCloud *self, SoupServerMessage *msg, const gchar *kind)
{
  guint status;
  g_autofree gchar *body = NULL;

  if (!cw_fake_take_failure (self, kind, &status, &body))
    return FALSE;
  if (body != NULL)
    cw_fake_reply_text (msg, status, body);
  else if (status == 429)
    reply_error (msg, status, "Too Many Requests: retry after 1");
  else
    reply_error (msg, status, status >= 500 ? "Internal Server Error" : "Bad Request");
  return TRUE;
}

static JsonNode *
chat_id_node (const gchar *chat_id)
{
  gchar *end = NULL;
  gint64 n = g_ascii_strtoll (chat_id, &end, 10);

  if (end != NULL && *end == '\0' && end != chat_id)
    return json_node_init_int (json_node_alloc (), n);
  return json_node_init_string (json_node_alloc (), chat_id);
}

/* A param as text, whether the client sent it as a JSON number or a string. */
static gchar *
param_text (JsonObject *params, const gchar *name)
{
  JsonNode *node = json_object_get_member (params, name);

  if (node == NULL || JSON_NODE_TYPE (node) != JSON_NODE_VALUE)
    return NULL;
  if (json_node_get_value_type (node) == G_TYPE_STRING)
    return g_strdup (json_node_get_string (node));
  if (json_node_get_value_type (node) == G_TYPE_INT64)
    return g_strdup_printf ("%" G_GINT64_FORMAT, json_node_get_int (node));
  return NULL;
}

static gint64
param_int (JsonObject *params, const gchar *name, gint64 fallback)
{
  g_autofree gchar *text = param_text (params, name);

  return text != NULL ? g_ascii_strtoll (text, NULL, 10) : fallback;
}

static JsonNode *
pending_updates (Telegram *tg, gint64 offset, guint limit)
{
  JsonArray *array = json_array_new ();

  for (guint i = 0; i < tg->updates->len && json_array_get_length (array) < limit; i++)
    {
      JsonObject *update = tg->updates->pdata[i];
      if (json_object_get_int_member (update, "update_id") >= offset)
        json_array_add_object_element (array, json_object_ref (update));
    }
  return cw_fake_take_array (array);
}

static void
confirm (Telegram *tg, gint64 offset)
{
  while (tg->updates->len > 0
         && json_object_get_int_member (tg->updates->pdata[0], "update_id") < offset)
    g_ptr_array_remove_index (tg->updates, 0);
}

static void
poll_gone (SoupServerMessage *msg, gpointer data)
{
  Telegram *tg = data;

  if (tg->poll == msg)
    tg->poll = NULL;
}

static void
release_poll (Telegram *tg, gboolean force)
{
  SoupServerMessage *msg = tg->poll;
  g_autoptr (JsonNode) updates = NULL;

  if (msg == NULL)
    return;
  updates = pending_updates (tg, tg->poll_offset, tg->poll_limit);
  if (!force && json_array_get_length (json_node_get_array (updates)) == 0)
    return;
  tg->poll = NULL;
  g_signal_handlers_disconnect_by_data (msg, tg);
  {
    g_autoptr (JsonNode) reply = ok_result (g_steal_pointer (&updates));
    cw_fake_reply (msg, 200, reply);
  }
  soup_server_message_unpause (msg);
}

typedef struct
{
  Telegram *tg;
  SoupServerMessage *msg;
} PollTimeout;

static gboolean
poll_timed_out (gpointer data)
{
  PollTimeout *timeout = data;

  if (timeout->tg->poll == timeout->msg)
    release_poll (timeout->tg, TRUE);
  return G_SOURCE_REMOVE;
}

static void
get_updates (Telegram *tg, SoupServerMessage *msg, JsonObject *params)
{
  gint64 offset = param_int (params, "offset", 0);
  guint limit = CLAMP (param_int (params, "limit", 100), 1, 100);
  guint timeout = MIN (param_int (params, "timeout", 0), 50);
  g_autoptr (JsonNode) updates = NULL;

  if (offset > 0)
    confirm (tg, offset);
  else if (offset < 0)
    {
      /* the last -offset updates; all earlier ones are forgotten */
      while ((gint64) tg->updates->len > -offset)
        g_ptr_array_remove_index (tg->updates, 0);
      offset = tg->updates->len > 0
                   ? json_object_get_int_member (tg->updates->pdata[0], "update_id")
                   : 0;
    }
  if (tg->poll != NULL)
    {
      SoupServerMessage *old = tg->poll;
      tg->poll = NULL;
      g_signal_handlers_disconnect_by_data (old, tg);
      reply_error (old, 409,
                   "Conflict: terminated by other getUpdates request; make sure that "
                   "only one bot instance is running");
      soup_server_message_unpause (old);
    }
  updates = pending_updates (tg, offset, limit);
  if (json_array_get_length (json_node_get_array (updates)) > 0 || timeout == 0)
    {
      g_autoptr (JsonNode) reply = ok_result (g_steal_pointer (&updates));
      cw_fake_reply (msg, 200, reply);
      return;
    }
  tg->poll = msg;
  tg->poll_offset = offset;
  tg->poll_limit = limit;
  tg->poll_timeout = timeout;
  soup_server_message_pause (msg);
  g_signal_connect (msg, "disconnected", G_CALLBACK (poll_gone), tg);
  g_signal_connect (msg, "finished", G_CALLBACK (poll_gone), tg);
  {
    PollTimeout *data = g_new0 (PollTimeout, 1);
    GSource *source = g_timeout_source_new (timeout * 1000);
    data->tg = tg;
    data->msg = msg;
    g_source_set_callback (source, poll_timed_out, data, g_free);
    g_source_attach (source, g_main_context_get_thread_default ());
    g_source_unref (source);
  }
}

static JsonObject *
bot_message (Telegram *tg, const gchar *chat_id, gint64 id, const gchar *text)
{
  JsonObject *message = json_object_new ();
  JsonObject *from = json_object_new ();
  JsonObject *chat = json_object_new ();

  json_object_set_int_member (message, "message_id", id);
  json_object_set_int_member (from, "id", 7000);
  json_object_set_boolean_member (from, "is_bot", TRUE);
  json_object_set_string_member (from, "first_name", "Cowork");
  json_object_set_string_member (from, "username", "cowork_test_bot");
  json_object_set_object_member (message, "from", from);
  json_object_set_member (chat, "id", chat_id_node (chat_id));
  json_object_set_string_member (chat, "type", "private");
  json_object_set_object_member (message, "chat", chat);
  json_object_set_int_member (message, "date", g_get_real_time () / G_USEC_PER_SEC);
  json_object_set_string_member (message, "text", text);
  return message;
}

static void
send_message (Telegram *tg, SoupServerMessage *msg, JsonObject *params)
{
  g_autofree gchar *chat_id = param_text (params, "chat_id");
  const gchar *text = json_object_get_string_member_with_default (params, "text", "");
  g_autofree gchar *id = NULL;
  g_autoptr (JsonNode) reply = NULL;
  gint64 message_id;

  if (cw_fake_option_int (tg->self, "hold_send", 0) == 1)
    {
      soup_server_message_pause (msg);
      g_ptr_array_add (tg->held, g_object_ref (msg));
      return;
    }
  if (chat_id == NULL)
    return reply_error (msg, 400, "Bad Request: chat not found");
  if (*text == '\0')
    return reply_error (msg, 400, "Bad Request: message text is empty");
  if (g_utf8_strlen (text, -1) > 4096)
    return reply_error (msg, 400, "Bad Request: message is too long");
  message_id = ++tg->next_message;
  id = g_strdup_printf ("%" G_GINT64_FORMAT, message_id);
  cw_fake_chat_add (tg->self, chat_id, id, text);
  reply = ok_result (cw_fake_take_object (bot_message (tg, chat_id, message_id, text)));
  cw_fake_reply (msg, 200, reply);
}

/* sendPhoto / sendVideo (multipart/form-data): the file part is recorded with the request
 * (cw_fake_request_params); the chat gets "[photo] <caption>" / "[video] <caption>". */
static void
send_media (Telegram *tg, SoupServerMessage *msg, JsonObject *params, const gchar *field)
{
  g_autofree gchar *chat_id = param_text (params, "chat_id");
  JsonNode *file = json_object_get_member (params, field);
  const gchar *caption = json_object_get_string_member_with_default (params, "caption", "");
  g_autofree gchar *id = NULL, *text = NULL;
  g_autoptr (JsonNode) reply = NULL;
  JsonObject *message;
  gint64 message_id;

  if (cw_fake_hold_if_option (tg->self, msg, "hold_media"))
    return;
  if (chat_id == NULL)
    return reply_error (msg, 400, "Bad Request: chat not found");
  if (file == NULL || !JSON_NODE_HOLDS_OBJECT (file))
    return reply_error (msg, 400, "Bad Request: there is no photo in the request");
  message_id = ++tg->next_message;
  id = g_strdup_printf ("%" G_GINT64_FORMAT, message_id);
  text = g_strdup_printf ("[%s] %s", field, caption);
  cw_fake_chat_add (tg->self, chat_id, id, text);
  message = bot_message (tg, chat_id, message_id, "");
  json_object_remove_member (message, "text");
  json_object_set_string_member (message, "caption", caption);
  reply = ok_result (cw_fake_take_object (message));
  cw_fake_reply (msg, 200, reply);
}

static void
edit_message (Telegram *tg, SoupServerMessage *msg, JsonObject *params)
{
  g_autofree gchar *chat_id = param_text (params, "chat_id");
  g_autofree gchar *id = param_text (params, "message_id");
  const gchar *text = json_object_get_string_member_with_default (params, "text", "");
  gboolean unchanged;
  g_autoptr (JsonNode) reply = NULL;

  if (chat_id == NULL || id == NULL)
    return reply_error (msg, 400, "Bad Request: message identifier is not specified");
  if (*text == '\0')
    return reply_error (msg, 400, "Bad Request: message text is empty");
  if (g_utf8_strlen (text, -1) > 4096)
    return reply_error (msg, 400, "Bad Request: MESSAGE_TOO_LONG");
  if (!cw_fake_chat_edit (tg->self, chat_id, id, text, &unchanged))
    return reply_error (msg, 400, "Bad Request: message to edit not found");
  if (unchanged)
    return reply_error (msg, 400,
                        "Bad Request: message is not modified: specified new message content "
                        "and reply markup are exactly the same as a current content and reply "
                        "markup of the message");
  reply = ok_result (
      cw_fake_take_object (bot_message (tg, chat_id, g_ascii_strtoll (id, NULL, 10), text)));
  cw_fake_reply (msg, 200, reply);
}

/* getFile: {file_id, file_unique_id, file_size, file_path}; the path is valid for downloads
 * at /file/bot<token>/<file_path>. */
static void
get_file (Telegram *tg, SoupServerMessage *msg, JsonObject *params)
{
  g_autofree gchar *id = param_text (params, "file_id");
  gint64 size = id != NULL ? cw_fake_file_size (tg->self, id) : -1;
  JsonObject *file;
  g_autoptr (JsonNode) reply = NULL;
  g_autofree gchar *file_path = NULL;

  if (size < 0)
    return reply_error (msg, 400, "Bad Request: invalid file_id");
  file = json_object_new ();
  file_path = g_strdup_printf ("documents/%s", id);
  json_object_set_string_member (file, "file_id", id);
  json_object_set_string_member (file, "file_unique_id", id);
  json_object_set_int_member (file, "file_size", size);
  json_object_set_string_member (file, "file_path", file_path);
  reply = ok_result (cw_fake_take_object (file));
  cw_fake_reply (msg, 200, reply);
}

/* @rest: "<token>/documents/<id>" */
static void
serve_file (CwFakeCloud *self, SoupServerMessage *msg, const gchar *rest)
{
  g_auto (GStrv) parts = g_strsplit (rest, "/", 3);

  if (g_strv_length (parts) != 3 || !cw_fake_token_ok (self, parts[0]))
    return reply_error (msg, 404, "Not Found");
  cw_fake_file_serve (self, msg, parts[2]);
}

static void
handle (SoupServer *server, SoupServerMessage *msg, const gchar *path, GHashTable *query,
        gpointer data)
{
  CwFakeCloud *self = data;
  Telegram *tg = self->state;
  g_auto (GStrv) parts = NULL;
  const gchar *method;
  JsonObject *params;

  if (cw_fake_cut_if_down (self, msg))
    return;
  if (g_str_has_prefix (path, "/file/bot"))
    return serve_file (self, msg, path + strlen ("/file/bot"));
  parts = g_strsplit (path, "/", 3); /* "", "bot<token>", "<method>" */
  if (g_strv_length (parts) != 3 || !g_str_has_prefix (parts[1], "bot"))
    return reply_error (msg, 404, "Not Found");
  method = parts[2];
  params = cw_fake_request_params (msg);
  {
    JsonObject *record = cw_fake_request_record (msg, NULL);
    json_object_set_object_member (record, "body", json_object_ref (params));
    json_object_set_string_member (record, "token", parts[1] + 3);
    cw_fake_record (self, method, record);
  }
  if (!cw_fake_token_ok (self, parts[1] + 3))
    reply_error (msg, 401, "Unauthorized");
  else if (reply_failure (self, msg, method))
    ;
  else if (g_str_equal (method, "getMe"))
    {
      JsonObject *me = json_object_new ();
      g_autoptr (JsonNode) reply = NULL;
      json_object_set_int_member (me, "id", 7000);
      json_object_set_boolean_member (me, "is_bot", TRUE);
      json_object_set_string_member (me, "first_name", "Cowork");
      json_object_set_string_member (me, "username", "cowork_test_bot");
      reply = ok_result (cw_fake_take_object (me));
      cw_fake_reply (msg, 200, reply);
    }
  else if (g_str_equal (method, "getUpdates"))
    get_updates (tg, msg, params);
  else if (g_str_equal (method, "sendMessage"))
    send_message (tg, msg, params);
  else if (g_str_equal (method, "editMessageText"))
    edit_message (tg, msg, params);
  else if (g_str_equal (method, "sendPhoto"))
    send_media (tg, msg, params, "photo");
  else if (g_str_equal (method, "sendVideo"))
    send_media (tg, msg, params, "video");
  else if (g_str_equal (method, "getFile"))
    get_file (tg, msg, params);
  else if (g_str_equal (method, "sendChatAction") || g_str_equal (method, "deleteWebhook"))
    {
      g_autoptr (JsonNode) reply = ok_result (json_node_init_boolean (json_node_alloc (), TRUE));
      cw_fake_reply (msg, 200, reply);
    }
  else
    reply_error (msg, 404, "Not Found");
  json_object_unref (params);
}

static void
telegram_setup (CwFakeCloud *self)
{
  Telegram *tg = g_new0 (Telegram, 1);

  tg->self = self;
  tg->updates = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  tg->messages
      = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) json_object_unref);
  tg->held = g_ptr_array_new_with_free_func (g_object_unref);
  tg->next_update = 500000;
  tg->next_message = 100;
  self->state = tg;
  soup_server_add_handler (self->server, "/", handle, self, NULL);
}

static void
add_update (Telegram *tg, JsonObject *message)
{
  JsonObject *update = json_object_new ();

  json_object_set_int_member (update, "update_id", ++tg->next_update);
  json_object_set_object_member (update, "message", json_object_ref (message));
  g_ptr_array_add (tg->updates, update);
  release_poll (tg, FALSE);
}

/* A message of a user in @chat_id, without content yet, kept for redelivery; *key gets its
 * dedupe id. */
static JsonObject *
user_message (Telegram *tg, const gchar *chat_id, const gchar *sender_id, const gchar *sender_name,
              gchar **key)
{
  JsonObject *message = json_object_new ();
  JsonObject *from = json_object_new ();
  JsonObject *chat = json_object_new ();
  gint64 id = ++tg->next_message;

  *key = g_strdup_printf ("%s:%" G_GINT64_FORMAT, chat_id, id);
  json_object_set_int_member (message, "message_id", id);
  json_object_set_member (from, "id", chat_id_node (sender_id));
  json_object_set_boolean_member (from, "is_bot", FALSE);
  json_object_set_string_member (from, "first_name", sender_name);
  json_object_set_string_member (from, "language_code", "en");
  json_object_set_object_member (message, "from", from);
  json_object_set_member (chat, "id", chat_id_node (chat_id));
  json_object_set_string_member (chat, "type", "private");
  json_object_set_string_member (chat, "first_name", sender_name);
  json_object_set_object_member (message, "chat", chat);
  json_object_set_int_member (message, "date", g_get_real_time () / G_USEC_PER_SEC);
  g_hash_table_insert (tg->messages, g_strdup (*key), message);
  return message;
}

static gchar *
telegram_inject (CwFakeCloud *self, const gchar *chat_id, const gchar *sender_id,
                 const gchar *sender_name, const gchar *text)
{
  Telegram *tg = self->state;
  gchar *key;
  JsonObject *message = user_message (tg, chat_id, sender_id, sender_name, &key);

  json_object_set_string_member (message, "text", text);
  add_update (tg, message);
  return key;
}

/* A photo comes in two sizes (a thumbnail first, the file itself last); the other kinds as
 * one object with file_name, mime_type and file_size (voice and video with a duration). */
static gchar *
telegram_inject_file (CwFakeCloud *self, const gchar *chat_id, const gchar *sender_id,
                      const gchar *sender_name, const gchar *caption, const gchar *kind,
                      const gchar *file_name, const gchar *mime_type, GBytes *content)
{
  Telegram *tg = self->state;
  gchar *key;
  JsonObject *message = user_message (tg, chat_id, sender_id, sender_name, &key);
  g_autofree gchar *id = cw_fake_file_add (self, file_name, mime_type, content);
  gint64 size = (gint64) g_bytes_get_size (content);

  if (caption != NULL)
    json_object_set_string_member (message, "caption", caption);
  if (g_str_equal (kind, "photo"))
    {
      JsonArray *sizes = json_array_new ();
      JsonObject *small = json_object_new ();
      JsonObject *large = json_object_new ();
      g_autoptr (GBytes) thumb_bytes = g_bytes_new_static ("thumbnail", 9);
      g_autofree gchar *thumb = cw_fake_file_add (self, "thumb.jpg", "image/jpeg", thumb_bytes);
      json_object_set_string_member (small, "file_id", thumb);
      json_object_set_string_member (small, "file_unique_id", thumb);
      json_object_set_int_member (small, "file_size", 9);
      json_object_set_int_member (small, "width", 90);
      json_object_set_int_member (small, "height", 60);
      json_object_set_string_member (large, "file_id", id);
      json_object_set_string_member (large, "file_unique_id", id);
      json_object_set_int_member (large, "file_size", size);
      json_object_set_int_member (large, "width", 1280);
      json_object_set_int_member (large, "height", 853);
      json_array_add_object_element (sizes, small);
      json_array_add_object_element (sizes, large);
      json_object_set_array_member (message, "photo", sizes);
    }
  else
    {
      JsonObject *file = json_object_new ();
      json_object_set_string_member (file, "file_id", id);
      json_object_set_string_member (file, "file_unique_id", id);
      json_object_set_int_member (file, "file_size", size);
      if (!g_str_equal (kind, "voice"))
        json_object_set_string_member (file, "file_name", file_name);
      json_object_set_string_member (file, "mime_type", mime_type);
      if (g_str_equal (kind, "voice") || g_str_equal (kind, "video") || g_str_equal (kind, "audio"))
        json_object_set_int_member (file, "duration", 3);
      json_object_set_object_member (message, kind, file);
    }
  add_update (tg, message);
  return key;
}

static void
telegram_redeliver (CwFakeCloud *self, const gchar *message_id)
{
  Telegram *tg = self->state;
  JsonObject *message = g_hash_table_lookup (tg->messages, message_id);

  g_assert (message != NULL);
  add_update (tg, message);
}

static void
telegram_down (CwFakeCloud *self)
{
  Telegram *tg = self->state;
  SoupServerMessage *msg = tg->poll;

  if (msg == NULL)
    return;
  tg->poll = NULL;
  g_signal_handlers_disconnect_by_data (msg, tg);
  soup_server_message_unpause (msg);
  cw_fake_cut (msg);
}

const CwFakePlatform cw_fake_telegram = {
  .setup = telegram_setup,
  .inject = telegram_inject,
  .redeliver = telegram_redeliver,
  .down = telegram_down,
  .free = telegram_free,
  .inject_file = telegram_inject_file,
};
