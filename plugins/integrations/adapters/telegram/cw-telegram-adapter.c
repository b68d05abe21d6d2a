/* cw-telegram-adapter.c: Telegram through the Bot API (https://core.telegram.org/bots/api).
 *
 * Connect: getMe (the bot's identity, and the round trip), then, on the first connect ever,
 * getUpdates with offset -1 to learn where the queue ends: that position is the baseline, so
 * what was sent before the bot was connected is never ingested. Inbound is a getUpdates long
 * poll (timeout 25 s). Every message goes into the ledger together with the next offset
 * (update_id + 1) in one transaction, and the offset the next poll confirms to Telegram only
 * moves after that: a message is either in the ledger or still queued at Telegram, whatever
 * happens to the daemon. After a restart the poll starts at the stored offset.
 *
 * Messages: text (or a caption) from private chats and groups, with the photo (its largest
 * size), document, voice note, audio, video, video note or animation described as attachments
 * (fetched later by getFile and <apiBaseUrl>/file/bot<token>/<file_path>); a sticker without
 * text is "Attachment received."; `/start` and `/help` are skipped. The dedupe key is
 * "<chat>:<message_id>". Replies: sendMessage (replying to the inbound message), split at 4096
 * characters; streaming and placeholders by editMessageText; typing by sendChatAction;
 * generated images and videos by sendPhoto / sendVideo (multipart/form-data, with the
 * caption). Health: getMe. A 401 means the token was revoked: the user must reconnect. A 409
 * (another poller with this token) and transport errors are a lost connection; the core
 * reconnects with backoff.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "../cw-integrations-adapters.h"
#include "../cloud/cw-cloud-download.h"
#include "../cloud/cw-cloud-http.h"
#include "../cloud/cw-cloud-parts.h"
#include "../cloud/cw-cloud-task.h"

#include <string.h>

#define TELEGRAM_MAX_CHARS 4096
#define POLL_TIMEOUT_S     25

struct _CwTelegramAdapter
{
  CwIntegrationAdapter parent_instance;
  SoupSession *session;
  GCancellable *cancellable; /* this connection's; cancelled by disconnect */
  gchar *base;               /* <apiBaseUrl>/bot<token> */
  gchar *file_base;          /* <apiBaseUrl>/file/bot<token> */
  gint64 offset;
  guint retry_source;
};

G_DECLARE_FINAL_TYPE (CwTelegramAdapter, cw_telegram_adapter, CW, TELEGRAM_ADAPTER,
                      CwIntegrationAdapter)
G_DEFINE_FINAL_TYPE (CwTelegramAdapter, cw_telegram_adapter, CW_TYPE_INTEGRATION_ADAPTER)

static void poll_updates (CwTelegramAdapter *self);

/* ---- requests ------------------------------------------------------------------------- */

static void
call_method (CwTelegramAdapter *self, const gchar *method, JsonObject *params,
             GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  g_autofree gchar *url = g_strdup_printf ("%s/%s", self->base, method);

  g_autoptr (JsonObject) body = params != NULL ? params : json_object_new ();

  cw_cloud_request_async (self->session, "POST", url, NULL, body, NULL, cancellable, callback,
                          user_data);
}

/* The result of an {ok, result} answer, or NULL with @error set (the description and, for a
 * 429, the retry_after). */
static JsonNode *
telegram_result (CwCloudReply *reply, const gchar *method, GError **error)
{
  JsonObject *body = cw_cloud_reply_object (reply);
  JsonObject *parameters;

  if (body != NULL && json_object_get_boolean_member_with_default (body, "ok", FALSE)
      && json_object_has_member (body, "result"))
    return json_object_get_member (body, "result");
  {
    const gchar *description
        = body != NULL ? json_object_get_string_member_with_default (body, "description", NULL)
                       : NULL;
    g_autofree gchar *detail = NULL;
    parameters = body != NULL && json_object_has_member (body, "parameters")
                     ? json_object_get_object_member (body, "parameters")
                     : NULL;
    if (parameters != NULL && json_object_has_member (parameters, "retry_after"))
      detail = g_strdup_printf ("%s (retry after %" G_GINT64_FORMAT " s)",
                                description != NULL ? description : "Too Many Requests",
                                json_object_get_int_member (parameters, "retry_after"));
    else
      detail = g_strdup (description);
    g_propagate_error (error, cw_cloud_reply_error (reply, method, detail));
  }
  return NULL;
}

static JsonNode *
chat_id_node (const gchar *chat_id)
{
  gchar *end = NULL;
  gint64 n = g_ascii_strtoll (chat_id, &end, 10);

  if (end != chat_id && end != NULL && *end == '\0')
    return json_node_init_int (json_node_alloc (), n);
  return json_node_init_string (json_node_alloc (), chat_id);
}

/* ---- inbound -------------------------------------------------------------------------- */

static gchar *
display_name (JsonObject *who)
{
  const gchar *first = json_object_get_string_member_with_default (who, "first_name", NULL);
  const gchar *last = json_object_get_string_member_with_default (who, "last_name", NULL);
  const gchar *title = json_object_get_string_member_with_default (who, "title", NULL);
  const gchar *username = json_object_get_string_member_with_default (who, "username", NULL);

  if (title != NULL)
    return g_strdup (title);
  if (first != NULL && last != NULL)
    return g_strdup_printf ("%s %s", first, last);
  if (first != NULL)
    return g_strdup (first);
  return g_strdup (username);
}

/* The files of @message (the largest size of a photo), described for the ledger: the
 * reference is the file_id that getFile turns into a download path. */
static guint
describe_media (JsonObject *message, CwIntegrationAttachment *out)
{
  static const struct
  {
    const gchar *member, *type, *name, *mime;
  } kinds[] = {
    { "document", NULL, "document", NULL },
    { "voice", "audio", "voice.ogg", "audio/ogg" },
    { "audio", "audio", "audio.mp3", "audio/mpeg" },
    { "video", "video", "video.mp4", "video/mp4" },
    { "video_note", "video", "video_note.mp4", "video/mp4" },
    { "animation", "video", "animation.mp4", "video/mp4" },
  };
  guint n = 0;

  if (json_object_has_member (message, "photo")
      && JSON_NODE_HOLDS_ARRAY (json_object_get_member (message, "photo")))
    {
      JsonArray *sizes = json_object_get_array_member (message, "photo");
      guint len = json_array_get_length (sizes);
      JsonObject *largest = len > 0 ? json_array_get_object_element (sizes, len - 1) : NULL;
      if (largest != NULL && json_object_has_member (largest, "file_id"))
        out[n++] = (CwIntegrationAttachment){
          .type = "image",
          .name = "photo.jpg",
          .mime_type = "image/jpeg",
          .size = json_object_get_int_member_with_default (largest, "file_size", -1),
          .ref = json_object_get_string_member (largest, "file_id"),
        };
    }
  for (guint i = 0; i < G_N_ELEMENTS (kinds); i++)
    {
      JsonObject *file
          = json_object_has_member (message, kinds[i].member)
                    && JSON_NODE_HOLDS_OBJECT (json_object_get_member (message, kinds[i].member))
                ? json_object_get_object_member (message, kinds[i].member)
                : NULL;
      const gchar *mime;
      if (file == NULL || !json_object_has_member (file, "file_id"))
        continue;
      mime = json_object_get_string_member_with_default (file, "mime_type", kinds[i].mime);
      out[n++] = (CwIntegrationAttachment){
        .type = kinds[i].type != NULL ? kinds[i].type : cw_integration_attachment_type (mime),
        .name = json_object_get_string_member_with_default (file, "file_name", kinds[i].name),
        .mime_type = mime,
        .size = json_object_get_int_member_with_default (file, "file_size", -1),
        .duration_s = json_object_get_int_member_with_default (file, "duration", 0),
        .ref = json_object_get_string_member (file, "file_id"),
      };
    }
  return n;
}

static gboolean
is_media (JsonObject *message)
{
  static const gchar *const kinds[]
      = { "photo", "document", "audio", "voice", "video", "video_note", "sticker", "animation" };

  for (guint i = 0; i < G_N_ELEMENTS (kinds); i++)
    if (json_object_has_member (message, kinds[i]))
      return TRUE;
  return FALSE;
}

/* Hands one update to the core. FALSE: the ledger refused it; poll again later from the
 * same offset. */
static gboolean
receive_update (CwTelegramAdapter *self, JsonObject *update)
{
  gint64 next = json_object_get_int_member_with_default (update, "update_id", 0) + 1;
  g_autofree gchar *offset = g_strdup_printf ("%" G_GINT64_FORMAT, next);
  JsonObject *message = json_object_has_member (update, "message")
                            ? json_object_get_object_member (update, "message")
                            : NULL;
  JsonObject *chat = message != NULL && json_object_has_member (message, "chat")
                         ? json_object_get_object_member (message, "chat")
                         : NULL;
  JsonObject *from = message != NULL && json_object_has_member (message, "from")
                         ? json_object_get_object_member (message, "from")
                         : NULL;
  const gchar *text = NULL;
  g_autoptr (GError) error = NULL;
  gboolean duplicate = FALSE;
  CwIntegrationAttachment files[8];
  guint n_files = 0;

  if (message != NULL)
    {
      text = json_object_get_string_member_with_default (
          message, "text", json_object_get_string_member_with_default (message, "caption", NULL));
      n_files = describe_media (message, files);
    }
  /* media the agent cannot get (a sticker): the contract's fallback text */
  if (text == NULL && n_files > 0)
    text = "";
  else if (text == NULL && message != NULL && is_media (message))
    text = "Attachment received.";
  if (chat == NULL || from == NULL || text == NULL
      || json_object_get_boolean_member_with_default (from, "is_bot", FALSE)
      || g_str_equal (text, "/start") || g_str_equal (text, "/help")
      || g_str_has_prefix (text, "/start@") || g_str_has_prefix (text, "/help@"))
    {
      /* nothing for the agent: only the position moves */
      if (!cw_integration_adapter_set_state (CW_INTEGRATION_ADAPTER (self), "offset", offset,
                                             &error))
        {
          g_warning ("telegram: cannot store the update offset: %s", error->message);
          return FALSE;
        }
      self->offset = next;
      return TRUE;
    }
  {
    g_autofree gchar *chat_id = cw_cloud_member_text (chat, "id");
    g_autofree gchar *sender_id = cw_cloud_member_text (from, "id");
    g_autofree gchar *message_id = cw_cloud_member_text (message, "message_id");
    g_autofree gchar *key = g_strdup_printf ("%s:%s", chat_id, message_id);
    g_autofree gchar *title = display_name (chat);
    g_autofree gchar *sender = display_name (from);
    g_autoptr (JsonObject) reply_data = json_object_new ();
    CwIntegrationInbound inbound = {
      .message_id = key,
      .chat_id = chat_id,
      .chat_title = title,
      .sender_id = sender_id,
      .sender_name = sender,
      .text = text,
      .timestamp_ms = json_object_get_int_member_with_default (message, "date", 0) * 1000,
      .reply_data = reply_data,
      .state_key = "offset",
      .state_value = offset,
      .attachments = files,
      .n_attachments = n_files,
    };

    json_object_set_int_member (reply_data, "message_id",
                                json_object_get_int_member_with_default (message, "message_id", 0));
    if (!cw_integration_adapter_receive (CW_INTEGRATION_ADAPTER (self), &inbound, &duplicate,
                                         &error))
      {
        g_warning ("telegram: message %s not stored, it stays at Telegram: %s", key,
                   error->message);
        return FALSE;
      }
  }
  self->offset = next;
  return TRUE;
}

static gboolean
retry_poll (gpointer data)
{
  CwTelegramAdapter *self = data;

  self->retry_source = 0;
  poll_updates (self);
  return G_SOURCE_REMOVE;
}

static void
poll_later (CwTelegramAdapter *self, guint ms)
{
  if (self->retry_source == 0)
    self->retry_source = g_timeout_add (ms, retry_poll, self);
}

static void
on_updates (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (CwTelegramAdapter) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (CwCloudReply) reply = cw_cloud_request_finish (result, &error);
  JsonNode *updates;

  if (reply == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        cw_integration_adapter_report_lost (CW_INTEGRATION_ADAPTER (self), error, FALSE);
      return;
    }
  if (g_cancellable_is_cancelled (self->cancellable))
    return;
  updates = telegram_result (reply, "getUpdates", &error);
  if (updates == NULL)
    {
      if (reply->status == 401 || reply->status == 404)
        cw_integration_adapter_report_lost (CW_INTEGRATION_ADAPTER (self), error, TRUE);
      else if (reply->status == 409)
        cw_integration_adapter_report_lost (CW_INTEGRATION_ADAPTER (self), error, FALSE);
      else
        {
          JsonObject *body = cw_cloud_reply_object (reply);
          JsonObject *parameters = body != NULL && json_object_has_member (body, "parameters")
                                       ? json_object_get_object_member (body, "parameters")
                                       : NULL;
          gint64 wait = parameters != NULL
                            ? json_object_get_int_member_with_default (parameters, "retry_after", 1)
                            : 1;
          g_debug ("telegram: %s", error->message);
          poll_later (self, CLAMP (wait, 1, 300) * 1000);
        }
      return;
    }
  cw_integration_adapter_report_round_trip (CW_INTEGRATION_ADAPTER (self));
  if (JSON_NODE_HOLDS_ARRAY (updates))
    {
      JsonArray *array = json_node_get_array (updates);
      for (guint i = 0; i < json_array_get_length (array); i++)
        {
          JsonObject *update = json_array_get_object_element (array, i);
          if (update == NULL
              || json_object_get_int_member_with_default (update, "update_id", 0) < self->offset)
            continue;
          if (!receive_update (self, update))
            {
              poll_later (self, 1000);
              return;
            }
        }
    }
  poll_updates (self);
}

static void
poll_updates (CwTelegramAdapter *self)
{
  JsonObject *params = json_object_new ();
  JsonArray *allowed = json_array_new ();

  if (self->session == NULL)
    return;
  json_object_set_int_member (params, "offset", self->offset);
  json_object_set_int_member (params, "timeout", POLL_TIMEOUT_S);
  json_array_add_string_element (allowed, "message");
  json_object_set_array_member (params, "allowed_updates", allowed);
  call_method (self, "getUpdates", params, self->cancellable, on_updates, g_object_ref (self));
}

/* ---- connect ------------------------------------------------------------------------- */

static void
on_baseline (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  CwTelegramAdapter *self = g_task_get_source_object (task);
  g_autoptr (GError) error = NULL;
  g_autoptr (CwCloudReply) reply = cw_cloud_request_finish (result, &error);
  JsonNode *updates;
  gint64 next = 0;
  g_autofree gchar *offset = NULL;

  if (reply == NULL || (updates = telegram_result (reply, "getUpdates", &error)) == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (JSON_NODE_HOLDS_ARRAY (updates))
    {
      JsonArray *array = json_node_get_array (updates);
      for (guint i = 0; i < json_array_get_length (array); i++)
        next = MAX (next, json_object_get_int_member_with_default (
                              json_array_get_object_element (array, i), "update_id", 0)
                              + 1);
    }
  offset = g_strdup_printf ("%" G_GINT64_FORMAT, next);
  if (!cw_integration_adapter_set_state (CW_INTEGRATION_ADAPTER (self), "offset", offset, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  self->offset = next;
  poll_updates (self);
  g_task_return_boolean (task, TRUE);
}

static void
on_me (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  CwTelegramAdapter *self = g_task_get_source_object (task);
  g_autoptr (GError) error = NULL;
  g_autoptr (CwCloudReply) reply = cw_cloud_request_finish (result, &error);
  JsonNode *me;
  g_autofree gchar *offset = NULL;

  if (reply == NULL || (me = telegram_result (reply, "getMe", &error)) == NULL)
    {
      if (reply != NULL && reply->status == 401)
        {
          g_clear_error (&error);
          g_set_error (&error, CW_ERROR, CW_ERROR_UNAUTHORIZED,
                       "Telegram rejected the bot token (401 Unauthorized)");
        }
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  cw_integration_adapter_report_round_trip (CW_INTEGRATION_ADAPTER (self));
  if (JSON_NODE_HOLDS_OBJECT (me))
    {
      JsonObject *bot = json_node_get_object (me);
      const gchar *username = json_object_get_string_member_with_default (bot, "username", NULL);
      g_autofree gchar *name
          = username != NULL ? g_strconcat ("@", username, NULL) : display_name (bot);
      cw_integration_adapter_set_identity (CW_INTEGRATION_ADAPTER (self), name, NULL);
    }
  offset = cw_integration_adapter_get_state (CW_INTEGRATION_ADAPTER (self), "offset");
  if (offset == NULL)
    {
      JsonObject *params = json_object_new ();
      json_object_set_int_member (params, "offset", -1);
      json_object_set_int_member (params, "timeout", 0);
      call_method (self, "getUpdates", params, g_task_get_cancellable (task), on_baseline,
                   g_object_ref (task));
      return;
    }
  self->offset = g_ascii_strtoll (offset, NULL, 10);
  poll_updates (self);
  g_task_return_boolean (task, TRUE);
}

static void
telegram_disconnect (CwIntegrationAdapter *adapter)
{
  CwTelegramAdapter *self = CW_TELEGRAM_ADAPTER (adapter);

  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_handle_id (&self->retry_source, g_source_remove);
  if (self->session != NULL)
    soup_session_abort (self->session);
  g_clear_object (&self->session);
  g_clear_pointer (&self->base, g_free);
  g_clear_pointer (&self->file_base, g_free);
}

static void
telegram_connect_async (CwIntegrationAdapter *adapter, JsonObject *config,
                        GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  CwTelegramAdapter *self = CW_TELEGRAM_ADAPTER (adapter);
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  const gchar *token = cw_integration_config_get_string (config, "botToken");
  const gchar *base = cw_integration_config_get_string (config, "apiBaseUrl");

  telegram_disconnect (adapter);
  if (token == NULL || *token == '\0')
    {
      g_task_return_new_error (task, CW_ERROR, CW_ERROR_INVALID_PARAMS,
                               "Telegram needs a botToken");
      g_object_unref (task);
      return;
    }
  self->base
      = g_strdup_printf ("%s/bot%s", base != NULL ? base : "https://api.telegram.org", token);
  self->file_base
      = g_strdup_printf ("%s/file/bot%s", base != NULL ? base : "https://api.telegram.org", token);
  self->session = cw_cloud_session_new (POLL_TIMEOUT_S + 15);
  self->cancellable = g_cancellable_new ();
  call_method (self, "getMe", NULL, cancellable, on_me, task);
}

/* ---- outbound ------------------------------------------------------------------------- */

typedef struct
{
  CwCloudParts sent;
  gchar *chat_id;
  gint64 reply_to;
} SendJob;

static void
send_job_free (SendJob *job)
{
  g_free (job->chat_id);
  cw_cloud_parts_clear (&job->sent);
  g_free (job);
}

static void send_part (GTask *task);

/* The message_id of a sent message (the result of a send method), or NULL. */
static gchar *
sent_message_id (JsonNode *message)
{
  return JSON_NODE_HOLDS_OBJECT (message)
             ? cw_cloud_member_text (json_node_get_object (message), "message_id")
             : NULL;
}

/* The message_id an outbound message answers (its reply_data, may be NULL), or 0. */
static gint64
reply_to_of (JsonObject *reply_data)
{
  return reply_data != NULL ? json_object_get_int_member_with_default (reply_data, "message_id", 0)
                            : 0;
}

static void
on_sent (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  SendJob *job = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  g_autoptr (CwCloudReply) reply = cw_cloud_request_finish (result, &error);
  JsonNode *message;

  if (reply == NULL || (message = telegram_result (reply, "sendMessage", &error)) == NULL)
    {
      cw_cloud_parts_fail (task, &job->sent, g_steal_pointer (&error));
      return;
    }
  if (cw_cloud_parts_sent (task, &job->sent, sent_message_id (message)))
    send_part (g_steal_pointer (&task));
}

static void
send_part (GTask *task)
{
  CwTelegramAdapter *self = g_task_get_source_object (task);
  SendJob *job = g_task_get_task_data (task);
  JsonObject *params = json_object_new ();

  if (cw_cloud_not_connected (task, self->session, "Telegram"))
    return;
  json_object_set_member (params, "chat_id", chat_id_node (job->chat_id));
  json_object_set_string_member (params, "text", job->sent.parts[job->sent.next]);
  if (job->sent.next == 0 && job->reply_to > 0)
    {
      JsonObject *reply = json_object_new ();
      json_object_set_int_member (reply, "message_id", job->reply_to);
      json_object_set_boolean_member (reply, "allow_sending_without_reply", TRUE);
      json_object_set_object_member (params, "reply_parameters", reply);
    }
  call_method (self, "sendMessage", params, g_task_get_cancellable (task), on_sent, task);
}

static void
telegram_send_async (CwIntegrationAdapter *adapter, const CwIntegrationOutbound *message,
                     GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task = g_task_new (adapter, cancellable, callback, user_data);
  SendJob *job = g_new0 (SendJob, 1);

  job->chat_id = g_strdup (message->chat_id);
  job->sent.parts = cw_cloud_split_text (message->text, TELEGRAM_MAX_CHARS);
  job->reply_to = reply_to_of (message->reply_data);
  g_task_set_task_data (task, job, (GDestroyNotify) send_job_free);
  send_part (task);
}

/* A generated image or video: sendPhoto / sendVideo as multipart/form-data, the caption with
 * it, replying to the inbound message. */
static void
on_media_sent (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (CwCloudReply) reply = cw_cloud_request_finish (result, &error);
  JsonNode *message;

  if (reply == NULL
      || (message = telegram_result (reply, g_task_get_task_data (task), &error)) == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  cw_cloud_return_id (task, sent_message_id (message));
}

static void
telegram_send_media_async (CwIntegrationAdapter *adapter, const CwIntegrationMedia *media,
                           GCancellable *cancellable, GAsyncReadyCallback callback,
                           gpointer user_data)
{
  CwTelegramAdapter *self = CW_TELEGRAM_ADAPTER (adapter);
  GTask *task = g_task_new (adapter, cancellable, callback, user_data);
  gboolean video = g_strcmp0 (media->media_type, "video") == 0;
  const gchar *method = video ? "sendVideo" : "sendPhoto";
  g_autofree gchar *url = NULL, *reply_parameters = NULL;
  gint64 reply_to;

  if (cw_cloud_not_connected (task, self->session, "Telegram"))
    return;
  g_task_set_task_data (task, (gpointer) method, NULL);
  reply_to = reply_to_of (media->reply_data);
  if (reply_to > 0)
    reply_parameters = g_strdup_printf (
        "{\"message_id\":%" G_GINT64_FORMAT ",\"allow_sending_without_reply\":true}", reply_to);
  url = g_strdup_printf ("%s/%s", self->base, method);
  cw_cloud_post_media (self->session, url, NULL, video ? "video" : "photo", media, cancellable,
                       on_media_sent, task, "chat_id", media->chat_id, "caption", media->caption,
                       "reply_parameters", reply_parameters, NULL);
}

static void
on_edited (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (CwCloudReply) reply = cw_cloud_request_finish (result, &error);

  if (reply != NULL && telegram_result (reply, "editMessageText", &error) == NULL)
    {
      JsonObject *body = cw_cloud_reply_object (reply);
      const gchar *description
          = body != NULL ? json_object_get_string_member_with_default (body, "description", "")
                         : "";
      /* the same text again is not a failure */
      if (reply->status == 400 && strstr (description, "message is not modified") != NULL)
        g_clear_error (&error);
    }
  if (error != NULL)
    g_task_return_error (task, g_steal_pointer (&error));
  else
    {
      cw_cloud_return_round_trip (task);
    }
}

static void
telegram_edit_async (CwIntegrationAdapter *adapter, const gchar *chat_id, const gchar *message_id,
                     const gchar *text, GCancellable *cancellable, GAsyncReadyCallback callback,
                     gpointer user_data)
{
  CwTelegramAdapter *self = CW_TELEGRAM_ADAPTER (adapter);
  GTask *task = g_task_new (adapter, cancellable, callback, user_data);
  g_auto (GStrv) parts = cw_cloud_split_text (text, TELEGRAM_MAX_CHARS);
  JsonObject *params;

  if (cw_cloud_not_connected (task, self->session, "Telegram"))
    return;
  params = json_object_new ();
  json_object_set_member (params, "chat_id", chat_id_node (chat_id));
  json_object_set_int_member (params, "message_id", g_ascii_strtoll (message_id, NULL, 10));
  /* an edit cannot grow past the limit: the message keeps the first part */
  json_object_set_string_member (params, "text", parts[0]);
  call_method (self, "editMessageText", params, cancellable, on_edited, task);
}

static void
on_typing (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (CwCloudReply) reply = cw_cloud_request_finish (result, NULL);
}

static void
telegram_typing (CwIntegrationAdapter *adapter, const gchar *chat_id)
{
  CwTelegramAdapter *self = CW_TELEGRAM_ADAPTER (adapter);
  JsonObject *params;

  if (self->session == NULL)
    return;
  params = json_object_new ();
  json_object_set_member (params, "chat_id", chat_id_node (chat_id));
  json_object_set_string_member (params, "action", "typing");
  call_method (self, "sendChatAction", params, self->cancellable, on_typing, NULL);
}

/* ---- health --------------------------------------------------------------------------- */

static void
on_health (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (CwCloudReply) reply = cw_cloud_request_finish (result, &error);

  if (reply == NULL || telegram_result (reply, "getMe", &error) == NULL)
    {
      cw_cloud_health_fail (task, g_steal_pointer (&error), reply != NULL && reply->status == 401);
      return;
    }
  cw_cloud_return_round_trip (task);
}

static void
telegram_check_health_async (CwIntegrationAdapter *adapter, GCancellable *cancellable,
                             GAsyncReadyCallback callback, gpointer user_data)
{
  CwTelegramAdapter *self = CW_TELEGRAM_ADAPTER (adapter);
  GTask *task = g_task_new (adapter, cancellable, callback, user_data);

  if (cw_cloud_not_connected (task, self->session, "Telegram"))
    return;
  call_method (self, "getMe", NULL, cancellable, on_health, task);
}

/* ---- attachments ------------------------------------------------------------------------ */

static void
on_file_found (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  CwTelegramAdapter *self = g_task_get_source_object (task);
  g_autoptr (GError) error = NULL;
  g_autoptr (CwCloudReply) reply = cw_cloud_request_finish (result, &error);
  gint64 max = cw_cloud_fetch_max (task);
  JsonNode *file = reply != NULL ? telegram_result (reply, "getFile", &error) : NULL;
  JsonObject *obj
      = file != NULL && JSON_NODE_HOLDS_OBJECT (file) ? json_node_get_object (file) : NULL;
  const gchar *path
      = obj != NULL ? json_object_get_string_member_with_default (obj, "file_path", NULL) : NULL;
  g_autofree gchar *url = NULL;

  if (file == NULL && reply != NULL && reply->status == 400)
    {
      /* "file is too big": the Bot API gives bots files up to 20 MB; asking again is no use */
      g_task_return_new_error (task, CW_ERROR, CW_ERROR_NOT_SUPPORTED, "%s", error->message);
      return;
    }
  if (file == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (path == NULL || self->file_base == NULL)
    {
      g_task_return_new_error (task, CW_ERROR, CW_ERROR_FAILED,
                               "getFile gave no file_path (the file is not available)");
      return;
    }
  if (cw_cloud_fetch_too_large (task,
                                json_object_get_int_member_with_default (obj, "file_size", 0)))
    return;
  url = g_strdup_printf ("%s/%s", self->file_base, path);
  cw_cloud_download_into (g_steal_pointer (&task), self->session, url, NULL, max);
}

/* getFile turns the file_id into a path, then <apiBaseUrl>/file/bot<token>/<path>. */
static void
telegram_fetch_attachment_async (CwIntegrationAdapter *adapter, const gchar *ref, gint64 max_bytes,
                                 GCancellable *cancellable, GAsyncReadyCallback callback,
                                 gpointer user_data)
{
  CwTelegramAdapter *self = CW_TELEGRAM_ADAPTER (adapter);
  GTask *task = cw_cloud_fetch_task_new (adapter, max_bytes, cancellable, callback, user_data);
  JsonObject *params = json_object_new ();

  if (cw_cloud_not_connected (task, self->session, "Telegram"))
    {
      json_object_unref (params);
      return;
    }
  json_object_set_string_member (params, "file_id", ref);
  call_method (self, "getFile", params, self->cancellable, on_file_found, task);
}

static void
telegram_dispose (GObject *object)
{
  telegram_disconnect (CW_INTEGRATION_ADAPTER (object));
  G_OBJECT_CLASS (cw_telegram_adapter_parent_class)->dispose (object);
}

static void
cw_telegram_adapter_class_init (CwTelegramAdapterClass *klass)
{
  CwIntegrationAdapterClass *adapter = CW_INTEGRATION_ADAPTER_CLASS (klass);

  G_OBJECT_CLASS (klass)->dispose = telegram_dispose;
  adapter->caps = CW_INTEGRATION_CAP_EDIT | CW_INTEGRATION_CAP_TYPING;
  adapter->connect_async = telegram_connect_async;
  adapter->connect_finish = cw_cloud_finish_boolean;
  adapter->disconnect = telegram_disconnect;
  adapter->send_async = telegram_send_async;
  adapter->send_finish = cw_cloud_finish_id;
  adapter->send_media_async = telegram_send_media_async;
  adapter->send_media_finish = cw_cloud_finish_id;
  adapter->edit_async = telegram_edit_async;
  adapter->edit_finish = cw_cloud_finish_boolean;
  adapter->fetch_attachment_async = telegram_fetch_attachment_async;
  adapter->fetch_attachment_finish = cw_cloud_finish_bytes;
  adapter->typing = telegram_typing;
  adapter->check_health_async = telegram_check_health_async;
  adapter->check_health_finish = cw_cloud_finish_health;
}

static void
cw_telegram_adapter_init (CwTelegramAdapter *self)
{
}
