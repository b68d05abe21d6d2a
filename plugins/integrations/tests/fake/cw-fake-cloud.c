/* cw-fake-cloud.c: the thread, the server, records, failures and the bot's messages that
 * every fake platform shares.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-fake-cloud-private.h"

#include <string.h>

typedef struct
{
  guint status;
  gchar *body;
} Failure;

static void
failure_queue_free (gpointer data)
{
  GQueue *queue = data;
  Failure *failure;

  while ((failure = g_queue_pop_head (queue)) != NULL)
    {
      g_free (failure->body);
      g_free (failure);
    }
  g_queue_free (queue);
}

static const CwFakePlatform *
platform_of (CwFakeKind kind)
{
  switch (kind)
    {
      case CW_FAKE_TELEGRAM:
        return &cw_fake_telegram;
      case CW_FAKE_SLACK:
        return &cw_fake_slack;
      case CW_FAKE_DISCORD:
        return &cw_fake_discord;
      case CW_FAKE_GRAPH:
        return &cw_fake_graph;
      case CW_FAKE_BLUEBUBBLES:
        return &cw_fake_bluebubbles;
      case CW_FAKE_WHATSAPP:
        return &cw_fake_whatsapp;
      default:
        g_assert_not_reached ();
    }
}

/* ---- running things in the fake's thread -------------------------------------------- */

typedef struct
{
  CwFakeCloud *self;
  void (*func) (CwFakeCloud *self, gpointer data);
  gpointer data;
  gboolean done;
} SyncCall;

static gboolean
sync_call_run (gpointer user_data)
{
  SyncCall *call = user_data;

  call->func (call->self, call->data);
  g_mutex_lock (&call->self->lock);
  call->done = TRUE;
  g_cond_broadcast (&call->self->cond);
  g_mutex_unlock (&call->self->lock);
  return G_SOURCE_REMOVE;
}

static void
run_sync (CwFakeCloud *self, void (*func) (CwFakeCloud *self, gpointer data), gpointer data)
{
  SyncCall call = { self, func, data, FALSE };

  g_main_context_invoke (self->context, sync_call_run, &call);
  g_mutex_lock (&self->lock);
  while (!call.done)
    g_cond_wait (&self->cond, &self->lock);
  g_mutex_unlock (&self->lock);
}

void
cw_fake_run_sync (CwFakeCloud *self, void (*func) (CwFakeCloud *self, gpointer data), gpointer data)
{
  run_sync (self, func, data);
}

static gpointer
thread_main (gpointer data)
{
  CwFakeCloud *self = data;

  g_main_context_push_thread_default (self->context);
  g_main_loop_run (self->loop);
  g_main_context_pop_thread_default (self->context);
  return NULL;
}

static void
listen_now (CwFakeCloud *self, gpointer data)
{
  g_autoptr (GError) error = NULL;
  GSList *uris;

  if (!soup_server_listen_local (self->server, self->port, SOUP_SERVER_LISTEN_IPV4_ONLY, &error))
    g_error ("fake cloud: cannot listen: %s", error->message);
  if (self->port == 0)
    {
      uris = soup_server_get_uris (self->server);
      self->port = g_uri_get_port (uris->data);
      g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);
    }
  self->down = FALSE;
}

static void
setup_now (CwFakeCloud *self, gpointer data)
{
  self->server = soup_server_new ("server-header", "cw-fake-cloud", NULL);
  self->platform->setup (self);
  listen_now (self, NULL);
}

CwFakeCloud *
cw_fake_cloud_new (CwFakeKind kind)
{
  CwFakeCloud *self = g_new0 (CwFakeCloud, 1);
  static const gchar *const suffix[] = { "", "/api", "/api/v10", "/v1.0", "", "/v19.0" };

  self->kind = kind;
  self->platform = platform_of (kind);
  g_mutex_init (&self->lock);
  g_cond_init (&self->cond);
  self->records = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  self->failures = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, failure_queue_free);
  self->chats
      = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) json_array_unref);
  self->options = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->sockets = g_ptr_array_new_with_free_func (g_object_unref);
  self->held = g_ptr_array_new_with_free_func (g_object_unref);
  self->counter = 1000;
  self->context = g_main_context_new ();
  self->loop = g_main_loop_new (self->context, FALSE);
  self->thread = g_thread_new ("cw-fake-cloud", thread_main, self);
  run_sync (self, setup_now, NULL);
  self->root = g_strdup_printf ("http://127.0.0.1:%u", self->port);
  self->url = g_strconcat (self->root, suffix[kind], NULL);
  return self;
}

static void
teardown_now (CwFakeCloud *self, gpointer data)
{
  if (self->platform->down != NULL)
    self->platform->down (self);
  for (guint i = 0; i < self->sockets->len; i++)
    {
      /* the platform's state goes next: nothing may call into it any more */
      GObject *conn = self->sockets->pdata[i];
      g_signal_handlers_disconnect_matched (
          conn, G_SIGNAL_MATCH_ID, g_signal_lookup ("message", SOUP_TYPE_WEBSOCKET_CONNECTION), 0,
          NULL, NULL, NULL);
      g_signal_handlers_disconnect_matched (
          conn, G_SIGNAL_MATCH_ID, g_signal_lookup ("closed", SOUP_TYPE_WEBSOCKET_CONNECTION), 0,
          NULL, NULL, NULL);
      cw_fake_socket_drop (self->sockets->pdata[i]);
    }
  g_ptr_array_set_size (self->sockets, 0);
  cw_fake_files_teardown (self);
  soup_server_disconnect (self->server);
  g_clear_object (&self->server);
  g_ptr_array_set_size (self->held, 0);
  if (self->platform->free != NULL)
    self->platform->free (self->state);
  self->state = NULL;
}

static gboolean
quit_loop (gpointer data)
{
  g_main_loop_quit (data);
  return G_SOURCE_REMOVE;
}

void
cw_fake_cloud_free (CwFakeCloud *self)
{
  if (self == NULL)
    return;
  run_sync (self, teardown_now, NULL);
  g_main_context_invoke (self->context, quit_loop, self->loop);
  g_thread_join (self->thread);
  /* let libsoup finish what it scheduled on the context */
  while (g_main_context_iteration (self->context, FALSE))
    ;
  g_main_loop_unref (self->loop);
  g_main_context_unref (self->context);
  g_ptr_array_unref (self->records);
  g_ptr_array_unref (self->sockets);
  g_ptr_array_unref (self->held);
  g_hash_table_unref (self->failures);
  g_hash_table_unref (self->chats);
  g_hash_table_unref (self->options);
  g_mutex_clear (&self->lock);
  g_cond_clear (&self->cond);
  g_free (self->root);
  g_free (self->url);
  g_free (self);
}

const gchar *
cw_fake_cloud_get_url (CwFakeCloud *self)
{
  return self->url;
}

const gchar *
cw_fake_cloud_get_root (CwFakeCloud *self)
{
  return self->root;
}

void
cw_fake_cloud_set_option (CwFakeCloud *self, const gchar *name, const gchar *value)
{
  g_mutex_lock (&self->lock);
  g_hash_table_replace (self->options, g_strdup (name), g_strdup (value));
  g_mutex_unlock (&self->lock);
}

gchar *
cw_fake_option (CwFakeCloud *self, const gchar *name, const gchar *fallback)
{
  gchar *value;

  g_mutex_lock (&self->lock);
  value = g_strdup (g_hash_table_lookup (self->options, name));
  g_mutex_unlock (&self->lock);
  return value != NULL ? value : g_strdup (fallback);
}

gint64
cw_fake_option_int (CwFakeCloud *self, const gchar *name, gint64 fallback)
{
  g_autofree gchar *value = cw_fake_option (self, name, NULL);

  return value != NULL ? g_ascii_strtoll (value, NULL, 10) : fallback;
}

gboolean
cw_fake_token_ok (CwFakeCloud *self, const gchar *token)
{
  g_autofree gchar *want = cw_fake_option (self, "token", NULL);

  if (token == NULL || *token == '\0')
    return FALSE;
  if (want != NULL)
    return g_str_equal (want, token);
  return !g_str_equal (token, "bad");
}

gint64
cw_fake_next (CwFakeCloud *self)
{
  gint64 n;

  g_mutex_lock (&self->lock);
  n = ++self->counter;
  g_mutex_unlock (&self->lock);
  return n;
}

/* ---- down and up -------------------------------------------------------------------- */

static void
down_now (CwFakeCloud *self, gpointer data)
{
  if (self->down)
    return;
  self->down = TRUE;
  if (self->platform->down != NULL)
    self->platform->down (self);
  soup_server_disconnect (self->server);
  for (guint i = 0; i < self->sockets->len; i++)
    cw_fake_socket_drop (self->sockets->pdata[i]);
  g_ptr_array_set_size (self->sockets, 0);
}

void
cw_fake_cloud_down (CwFakeCloud *self)
{
  run_sync (self, down_now, NULL);
}

static void
up_now (CwFakeCloud *self, gpointer data)
{
  if (self->down)
    listen_now (self, NULL);
}

void
cw_fake_cloud_up (CwFakeCloud *self)
{
  run_sync (self, up_now, NULL);
}

static void
drop_now (CwFakeCloud *self, gpointer data)
{
  for (guint i = 0; i < self->sockets->len; i++)
    cw_fake_socket_drop (self->sockets->pdata[i]);
  g_ptr_array_set_size (self->sockets, 0);
}

void
cw_fake_cloud_drop_sockets (CwFakeCloud *self)
{
  run_sync (self, drop_now, NULL);
}

static void
control_now (CwFakeCloud *self, gpointer data)
{
  if (self->platform->control != NULL)
    self->platform->control (self, data);
}

void
cw_fake_cloud_control (CwFakeCloud *self, const gchar *what)
{
  run_sync (self, control_now, (gpointer) what);
}

typedef struct
{
  const gchar *chat_id, *sender_id, *sender_name, *text;
  gchar *result;
} InjectCall;

static void
inject_now (CwFakeCloud *self, gpointer data)
{
  InjectCall *call = data;

  call->result = self->platform->inject (self, call->chat_id, call->sender_id, call->sender_name,
                                         call->text);
}

gchar *
cw_fake_cloud_inject (CwFakeCloud *self, const gchar *chat_id, const gchar *sender_id,
                      const gchar *sender_name, const gchar *text)
{
  InjectCall call
      = { chat_id, sender_id, sender_name != NULL ? sender_name : sender_id, text, NULL };

  run_sync (self, inject_now, &call);
  return call.result;
}

static void
redeliver_now (CwFakeCloud *self, gpointer data)
{
  self->platform->redeliver (self, data);
}

void
cw_fake_cloud_redeliver (CwFakeCloud *self, const gchar *message_id)
{
  run_sync (self, redeliver_now, (gpointer) message_id);
}

/* ---- failures and records ----------------------------------------------------------- */

void
cw_fake_cloud_fail_next (CwFakeCloud *self, const gchar *kind, guint count, guint status,
                         const gchar *body)
{
  GQueue *queue;

  g_mutex_lock (&self->lock);
  queue = g_hash_table_lookup (self->failures, kind);
  if (queue == NULL)
    {
      queue = g_queue_new ();
      g_hash_table_insert (self->failures, g_strdup (kind), queue);
    }
  for (guint i = 0; i < count; i++)
    {
      Failure *failure = g_new0 (Failure, 1);
      failure->status = status;
      failure->body = g_strdup (body);
      g_queue_push_tail (queue, failure);
    }
  g_mutex_unlock (&self->lock);
}

gboolean
cw_fake_take_failure (CwFakeCloud *self, const gchar *kind, guint *status, gchar **body)
{
  GQueue *queue;
  Failure *failure = NULL;

  g_mutex_lock (&self->lock);
  queue = g_hash_table_lookup (self->failures, kind);
  if (queue != NULL)
    failure = g_queue_pop_head (queue);
  g_mutex_unlock (&self->lock);
  if (failure == NULL)
    return FALSE;
  *status = failure->status;
  *body = failure->body;
  g_free (failure);
  return TRUE;
}

void
cw_fake_record (CwFakeCloud *self, const gchar *kind, JsonObject *record)
{
  json_object_set_string_member (record, "kind", kind);
  g_mutex_lock (&self->lock);
  g_ptr_array_add (self->records, record);
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);
}

GPtrArray *
cw_fake_cloud_records (CwFakeCloud *self, const gchar *kind)
{
  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);

  g_mutex_lock (&self->lock);
  for (guint i = 0; i < self->records->len; i++)
    {
      JsonObject *record = self->records->pdata[i];
      if (kind == NULL || g_str_equal (json_object_get_string_member (record, "kind"), kind))
        g_ptr_array_add (out, json_object_ref (record));
    }
  g_mutex_unlock (&self->lock);
  return out;
}

guint
cw_fake_cloud_count (CwFakeCloud *self, const gchar *kind)
{
  g_autoptr (GPtrArray) records = cw_fake_cloud_records (self, kind);

  return records->len;
}

JsonObject *
cw_fake_cloud_wait (CwFakeCloud *self, const gchar *kind, guint index, guint timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  JsonObject *found = NULL;

  g_mutex_lock (&self->lock);
  for (;;)
    {
      guint seen = 0;
      for (guint i = 0; i < self->records->len && found == NULL; i++)
        {
          JsonObject *record = self->records->pdata[i];
          if (g_str_equal (json_object_get_string_member (record, "kind"), kind) && seen++ == index)
            found = json_object_ref (record);
        }
      if (found != NULL || !g_cond_wait_until (&self->cond, &self->lock, deadline))
        break;
    }
  g_mutex_unlock (&self->lock);
  return found;
}

/* ---- the bot's messages ------------------------------------------------------------- */

void
cw_fake_chat_add (CwFakeCloud *self, const gchar *chat_id, const gchar *id, const gchar *text)
{
  JsonArray *messages;
  JsonObject *message = json_object_new ();

  json_object_set_string_member (message, "id", id);
  json_object_set_string_member (message, "text", text);
  json_object_set_int_member (message, "edits", 0);
  g_mutex_lock (&self->lock);
  messages = g_hash_table_lookup (self->chats, chat_id);
  if (messages == NULL)
    {
      messages = json_array_new ();
      g_hash_table_insert (self->chats, g_strdup (chat_id), messages);
    }
  json_array_add_object_element (messages, message);
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);
}

gboolean
cw_fake_chat_edit (CwFakeCloud *self, const gchar *chat_id, const gchar *id, const gchar *text,
                   gboolean *unchanged)
{
  JsonArray *messages;
  gboolean found = FALSE;

  *unchanged = FALSE;
  g_mutex_lock (&self->lock);
  messages = g_hash_table_lookup (self->chats, chat_id);
  for (guint i = 0; messages != NULL && i < json_array_get_length (messages) && !found; i++)
    {
      JsonObject *message = json_array_get_object_element (messages, i);
      if (!g_str_equal (json_object_get_string_member (message, "id"), id))
        continue;
      found = TRUE;
      if (g_str_equal (json_object_get_string_member (message, "text"), text))
        *unchanged = TRUE;
      else
        {
          json_object_set_string_member (message, "text", text);
          json_object_set_int_member (message, "edits",
                                      json_object_get_int_member (message, "edits") + 1);
        }
    }
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);
  return found;
}

static JsonArray *
copy_messages (JsonArray *messages)
{
  JsonArray *copy = json_array_new ();

  for (guint i = 0; messages != NULL && i < json_array_get_length (messages); i++)
    {
      JsonNode *node = json_node_copy (json_array_get_element (messages, i));
      json_array_add_element (copy, node);
    }
  return copy;
}

JsonArray *
cw_fake_cloud_bot_messages (CwFakeCloud *self, const gchar *chat_id)
{
  JsonArray *copy;

  g_mutex_lock (&self->lock);
  copy = copy_messages (g_hash_table_lookup (self->chats, chat_id));
  g_mutex_unlock (&self->lock);
  return copy;
}

gboolean
cw_fake_cloud_wait_bot_text (CwFakeCloud *self, const gchar *chat_id, const gchar *text,
                             guint timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  gboolean ok = FALSE;

  g_mutex_lock (&self->lock);
  for (;;)
    {
      JsonArray *messages = g_hash_table_lookup (self->chats, chat_id);
      guint n = messages != NULL ? json_array_get_length (messages) : 0;
      if (n > 0)
        {
          JsonObject *last = json_array_get_object_element (messages, n - 1);
          ok = g_str_equal (json_object_get_string_member (last, "text"), text);
        }
      if (ok || !g_cond_wait_until (&self->cond, &self->lock, deadline))
        break;
    }
  g_mutex_unlock (&self->lock);
  return ok;
}

/* ---- HTTP helpers ------------------------------------------------------------------- */

JsonNode *
cw_fake_parse (const gchar *json)
{
  g_autoptr (JsonParser) parser = json_parser_new ();

  if (json == NULL || !json_parser_load_from_data (parser, json, -1, NULL))
    return NULL;
  return json_node_copy (json_parser_get_root (parser));
}

JsonNode *
cw_fake_request_json (SoupServerMessage *msg)
{
  SoupMessageBody *body = soup_server_message_get_request_body (msg);
  g_autoptr (GBytes) bytes = soup_message_body_flatten (body);
  g_autofree gchar *text = NULL;

  if (g_bytes_get_size (bytes) == 0)
    return NULL;
  text = g_strndup (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
  return cw_fake_parse (text);
}

static void
add_table (JsonObject *object, GHashTable *table)
{
  GHashTableIter iter;
  gpointer key, value;

  if (table == NULL)
    return;
  g_hash_table_iter_init (&iter, table);
  while (g_hash_table_iter_next (&iter, &key, &value))
    json_object_set_string_member (object, key, value);
}

/* A multipart/form-data body: each text part as a string member, each file part as
 * {filename, contentType, size, data (base64)}. */
static void
add_multipart (JsonObject *params, SoupServerMessage *msg)
{
  SoupMessageBody *body = soup_server_message_get_request_body (msg);
  g_autoptr (GBytes) bytes = soup_message_body_flatten (body);
  g_autoptr (SoupMultipart) multipart
      = soup_multipart_new_from_message (soup_server_message_get_request_headers (msg), bytes);

  for (gint i = 0; multipart != NULL && i < soup_multipart_get_length (multipart); i++)
    {
      SoupMessageHeaders *headers;
      GBytes *part;
      g_autoptr (GHashTable) disposition = NULL;
      const gchar *name, *filename;

      if (!soup_multipart_get_part (multipart, i, &headers, &part)
          || !soup_message_headers_get_content_disposition (headers, NULL, &disposition)
          || (name = g_hash_table_lookup (disposition, "name")) == NULL)
        continue;
      filename = g_hash_table_lookup (disposition, "filename");
      if (filename != NULL)
        {
          JsonObject *file = json_object_new ();
          g_autofree gchar *data
              = g_base64_encode (g_bytes_get_data (part, NULL), g_bytes_get_size (part));
          const gchar *type = soup_message_headers_get_content_type (headers, NULL);
          json_object_set_string_member (file, "filename", filename);
          json_object_set_string_member (file, "contentType", type != NULL ? type : "");
          json_object_set_int_member (file, "size", g_bytes_get_size (part));
          json_object_set_string_member (file, "data", data);
          json_object_set_object_member (params, name, file);
        }
      else
        {
          g_autofree gchar *text
              = g_strndup (g_bytes_get_data (part, NULL), g_bytes_get_size (part));
          json_object_set_string_member (params, name, text);
        }
    }
}

JsonObject *
cw_fake_request_params (SoupServerMessage *msg)
{
  JsonObject *params = json_object_new ();
  GUri *uri = soup_server_message_get_uri (msg);
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  const gchar *type = soup_message_headers_get_content_type (headers, NULL);

  if (g_uri_get_query (uri) != NULL)
    {
      g_autoptr (GHashTable) query = soup_form_decode (g_uri_get_query (uri));
      add_table (params, query);
    }
  if (type != NULL && g_str_equal (type, "multipart/form-data"))
    add_multipart (params, msg);
  else if (type != NULL && g_str_equal (type, "application/x-www-form-urlencoded"))
    {
      SoupMessageBody *body = soup_server_message_get_request_body (msg);
      g_autoptr (GBytes) bytes = soup_message_body_flatten (body);
      g_autofree gchar *text = g_strndup (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
      g_autoptr (GHashTable) form = soup_form_decode (text);
      add_table (params, form);
    }
  else
    {
      g_autoptr (JsonNode) node = cw_fake_request_json (msg);
      if (node != NULL && JSON_NODE_HOLDS_OBJECT (node))
        {
          JsonObjectIter iter;
          const gchar *name;
          JsonNode *member;
          json_object_iter_init (&iter, json_node_get_object (node));
          while (json_object_iter_next (&iter, &name, &member))
            json_object_set_member (params, name, json_node_copy (member));
        }
    }
  return params;
}

gchar *
cw_fake_request_bearer (SoupServerMessage *msg)
{
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  const gchar *auth = soup_message_headers_get_one (headers, "Authorization");

  if (auth != NULL && g_ascii_strncasecmp (auth, "Bearer ", 7) == 0)
    return g_strdup (auth + 7);
  return NULL;
}

JsonObject *
cw_fake_request_record (SoupServerMessage *msg, JsonNode *body)
{
  JsonObject *record = json_object_new ();
  GUri *uri = soup_server_message_get_uri (msg);
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  const gchar *auth = soup_message_headers_get_one (headers, "Authorization");
  JsonObject *query = json_object_new ();

  json_object_set_string_member (record, "method", soup_server_message_get_method (msg));
  json_object_set_string_member (record, "path", g_uri_get_path (uri));
  if (g_uri_get_query (uri) != NULL)
    {
      g_autoptr (GHashTable) table = soup_form_decode (g_uri_get_query (uri));
      add_table (query, table);
    }
  json_object_set_object_member (record, "query", query);
  if (auth != NULL)
    json_object_set_string_member (record, "auth", auth);
  if (body != NULL)
    json_object_set_member (record, "body", body);
  json_object_set_int_member (record, "atMs", g_get_real_time () / 1000);
  return record;
}

void
cw_fake_cut (SoupServerMessage *msg)
{
  g_autoptr (GIOStream) stream = soup_server_message_steal_connection (msg);

  if (stream != NULL)
    g_io_stream_close (stream, NULL, NULL);
}

gboolean
cw_fake_cut_if_down (CwFakeCloud *self, SoupServerMessage *msg)
{
  if (!self->down)
    return FALSE;
  cw_fake_cut (msg);
  return TRUE;
}

void
cw_fake_reply (SoupServerMessage *msg, guint status, JsonNode *body)
{
  g_autofree gchar *text = json_to_string (body, FALSE);

  soup_server_message_set_status (msg, status, NULL);
  soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_COPY, text, strlen (text));
}

void
cw_fake_reply_text (SoupServerMessage *msg, guint status, const gchar *json)
{
  soup_server_message_set_status (msg, status, NULL);
  soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_COPY, json, strlen (json));
}

/* ---- WebSockets --------------------------------------------------------------------- */

static void
socket_closed (SoupWebsocketConnection *conn, gpointer data)
{
  CwFakeCloud *self = data;

  g_ptr_array_remove (self->sockets, conn);
}

void
cw_fake_socket_add (CwFakeCloud *self, SoupWebsocketConnection *conn)
{
  g_ptr_array_add (self->sockets, g_object_ref (conn));
  g_signal_connect (conn, "closed", G_CALLBACK (socket_closed), self);
  /* the fakes ping on their own terms; libsoup's keepalive would only add noise */
  soup_websocket_connection_set_keepalive_interval (conn, 0);
}

void
cw_fake_socket_send (SoupWebsocketConnection *conn, JsonNode *node)
{
  g_autofree gchar *text = json_to_string (node, FALSE);

  if (soup_websocket_connection_get_state (conn) == SOUP_WEBSOCKET_STATE_OPEN)
    soup_websocket_connection_send_text (conn, text);
}

void
cw_fake_socket_close (SoupWebsocketConnection *conn, gushort code, const gchar *reason)
{
  if (soup_websocket_connection_get_state (conn) == SOUP_WEBSOCKET_STATE_OPEN)
    soup_websocket_connection_close (conn, code, reason);
}

void
cw_fake_socket_release (SoupWebsocketConnection **conn, gpointer data)
{
  if (*conn == NULL)
    return;
  g_signal_handlers_disconnect_by_data (*conn, data);
  g_clear_object (conn);
}

void
cw_fake_socket_drop (SoupWebsocketConnection *conn)
{
  GIOStream *stream = soup_websocket_connection_get_io_stream (conn);

  g_signal_handlers_disconnect_matched (conn, G_SIGNAL_MATCH_FUNC, 0, 0, NULL, socket_closed, NULL);
  g_io_stream_close (stream, NULL, NULL);
}

JsonNode *
cw_fake_take_object (JsonObject *object)
{
  JsonNode *node = json_node_new (JSON_NODE_OBJECT);

  json_node_take_object (node, object);
  return node;
}

JsonNode *
cw_fake_take_array (JsonArray *array)
{
  JsonNode *node = json_node_new (JSON_NODE_ARRAY);

  json_node_take_array (node, array);
  return node;
}

gchar *
cw_fake_iso8601 (gint64 ms)
{
  g_autoptr (GDateTime) dt = g_date_time_new_from_unix_utc (ms / 1000);

  return g_date_time_format (dt, "%Y-%m-%dT%H:%M:%S.000Z");
}

gboolean
cw_fake_hold_if_asked (CwFakeCloud *self, SoupServerMessage *msg)
{
  return cw_fake_hold_if_option (self, msg, "hold_send");
}

gboolean
cw_fake_hold_if_option (CwFakeCloud *self, SoupServerMessage *msg, const gchar *name)
{
  if (cw_fake_option_int (self, name, 0) != 1)
    return FALSE;
  soup_server_message_pause (msg);
  g_ptr_array_add (self->held, g_object_ref (msg));
  return TRUE;
}
