/* cw-slack-adapter.c: Slack through Socket Mode (events) and the Web API (replies).
 *
 * Connect: auth.test with the bot token (identity, the bot's user id: the round trip), then
 * apps.connections.open with the app-level token and a WebSocket to the URL it returns; the
 * connect finishes on Slack's `hello`. Every `events_api` envelope is acked with its
 * envelope_id only after the message is in the ledger (or was seen before); an envelope that
 * could not be stored is not acked, and Slack delivers it again. That retry is also how
 * what arrived during a short disconnect comes back: Slack keeps unacked events. Socket Mode
 * has no history position, so there is nothing to baseline and no old history is ingested.
 * A `disconnect` (Slack refreshes its connections) opens a new socket at once; a socket that
 * drops by itself is a lost connection (the core reconnects with backoff).
 *
 * Messages: DMs (`message` with channel_type im) and @mentions (`app_mention`, the mention
 * stripped); the bot's own messages, other bots and subtypes other than file_share are
 * skipped. A file_share's files[] are attachments (url_private_download, fetched with the
 * bot token). The dedupe key is "<channel>:<ts>", the same for a retried envelope. Replies:
 * chat.postMessage (in the thread of a message that was in one), streaming and placeholders
 * by chat.update; generated images and videos by the external upload
 * (files.getUploadURLExternal, the bytes to its URL, files.completeUploadExternal). Health:
 * auth.test.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "../cloud/cw-cloud-download.h"
#include "../cloud/cw-cloud-http.h"
#include "../cloud/cw-cloud-task.h"
#include "../cw-integrations-adapters.h"

#include <string.h>

struct _CwSlackAdapter
{
  CwIntegrationAdapter parent_instance;
  SoupSession *session;
  GCancellable *cancellable;
  gchar *base;
  gchar *bot_auth; /* "Bearer xoxb-..." */
  gchar *app_auth; /* "Bearer xapp-..." */
  gchar *bot_user;
  SoupWebsocketConnection *socket;
  GTask *connect_task; /* until hello */
};

G_DECLARE_FINAL_TYPE (CwSlackAdapter, cw_slack_adapter, CW, SLACK_ADAPTER, CwIntegrationAdapter)
G_DEFINE_FINAL_TYPE (CwSlackAdapter, cw_slack_adapter, CW_TYPE_INTEGRATION_ADAPTER)

static void open_socket (CwSlackAdapter *self);

static void
call_api (CwSlackAdapter *self, const gchar *method, const gchar *auth, JsonObject *params,
          GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  g_autofree gchar *url = g_strdup_printf ("%s/%s", self->base, method);

  g_autoptr (JsonObject) body = params != NULL ? params : json_object_new ();

  cw_cloud_request_async (self->session, "POST", url, auth, body, NULL, cancellable, callback,
                          user_data);
}

/* The {ok:true} body, or NULL with @error ("<method> failed: HTTP n: <error>"). */
static JsonObject *
slack_ok (CwCloudReply *reply, const gchar *method, GError **error)
{
  JsonObject *body = cw_cloud_reply_object (reply);

  if (reply->status == 200 && body != NULL
      && json_object_get_boolean_member_with_default (body, "ok", FALSE))
    return body;
  g_propagate_error (
      error,
      cw_cloud_reply_error (
          reply, method,
          body != NULL ? json_object_get_string_member_with_default (body, "error", NULL) : NULL));
  return NULL;
}

static gboolean
auth_failure (JsonObject *body)
{
  const gchar *error
      = body != NULL ? json_object_get_string_member_with_default (body, "error", "") : "";

  return g_str_equal (error, "invalid_auth") || g_str_equal (error, "not_authed")
         || g_str_equal (error, "account_inactive") || g_str_equal (error, "token_revoked")
         || g_str_equal (error, "not_allowed_token_type");
}

/* ---- the socket ---------------------------------------------------------------------- */

static void
close_socket (CwSlackAdapter *self)
{
  if (self->socket == NULL)
    return;
  g_signal_handlers_disconnect_by_data (self->socket, self);
  if (soup_websocket_connection_get_state (self->socket) == SOUP_WEBSOCKET_STATE_OPEN)
    soup_websocket_connection_close (self->socket, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
  g_clear_object (&self->socket);
}

static void
fail_connect (CwSlackAdapter *self, GError *error)
{
  GTask *task = g_steal_pointer (&self->connect_task);

  if (task != NULL)
    {
      g_task_return_error (task, error);
      g_object_unref (task);
    }
  else
    {
      cw_integration_adapter_report_lost (CW_INTEGRATION_ADAPTER (self), error, FALSE);
      g_error_free (error);
    }
}

/* Strips the bot's mention ("<@U0BOT>") from @text. */
static gchar *
strip_mention (CwSlackAdapter *self, const gchar *text)
{
  g_autofree gchar *mention = g_strdup_printf ("<@%s>", self->bot_user);
  g_auto (GStrv) parts = g_strsplit (text, mention, -1);
  g_autofree gchar *joined = g_strjoinv ("", parts);

  return g_strdup (g_strstrip (joined));
}

/* The files[] of a file_share message, described for the ledger: the reference is the
 * url_private_download (fetched with the bot token); a file without one (a tombstone, hidden
 * by the plan's limit) is left out. */
static const CwCloudFileKeys slack_files = {
  .ref = "url_private_download",
  .ref_fallback = "url_private",
  .name = "name",
  .mime_type = "mimetype",
  .size = "size",
  .default_name = "file",
};

/* TRUE when the envelope may be acked: stored, seen before, or not a message for us. */
static gboolean
receive_event (CwSlackAdapter *self, JsonObject *payload)
{
  JsonObject *event = json_object_has_member (payload, "event")
                          ? json_object_get_object_member (payload, "event")
                          : NULL;
  const gchar *type, *channel, *user, *text, *ts, *subtype;
  gboolean dm;
  g_autofree gchar *key = NULL;
  g_autofree gchar *clean = NULL;
  g_autoptr (JsonObject) reply_data = NULL;
  g_autoptr (GError) error = NULL;
  gboolean duplicate;
  CwIntegrationAttachment files[16];
  guint n_files;

  if (event == NULL)
    return TRUE;
  type = json_object_get_string_member_with_default (event, "type", "");
  channel = json_object_get_string_member_with_default (event, "channel", NULL);
  user = json_object_get_string_member_with_default (event, "user", NULL);
  text = json_object_get_string_member_with_default (event, "text", "");
  ts = json_object_get_string_member_with_default (event, "ts", NULL);
  subtype = json_object_get_string_member_with_default (event, "subtype", NULL);
  dm = g_strcmp0 (json_object_get_string_member_with_default (event, "channel_type", NULL), "im")
       == 0;
  if (channel == NULL || user == NULL || ts == NULL
      || (subtype != NULL && !g_str_equal (subtype, "file_share"))
      || json_object_has_member (event, "bot_id") || g_strcmp0 (user, self->bot_user) == 0)
    return TRUE;
  /* a channel message that mentions the bot comes as app_mention too: take that one */
  if (!(g_str_equal (type, "app_mention") || (g_str_equal (type, "message") && dm)))
    return TRUE;
  clean = strip_mention (self, text);
  n_files = cw_cloud_describe_files (
      json_object_has_member (event, "files")
              && JSON_NODE_HOLDS_ARRAY (json_object_get_member (event, "files"))
          ? json_object_get_array_member (event, "files")
          : NULL,
      &slack_files, files, G_N_ELEMENTS (files));
  if (*clean == '\0' && n_files == 0 && json_object_has_member (event, "files"))
    {
      g_free (clean);
      clean = g_strdup ("File received.");
    }
  key = g_strdup_printf ("%s:%s", channel, ts);
  reply_data = json_object_new ();
  if (json_object_has_member (event, "thread_ts"))
    json_object_set_string_member (reply_data, "thread_ts",
                                   json_object_get_string_member (event, "thread_ts"));
  {
    CwIntegrationInbound inbound = {
      .message_id = key,
      .chat_id = channel,
      .chat_title = dm ? user : channel,
      .sender_id = user,
      .sender_name = user,
      .text = clean,
      .timestamp_ms = (gint64) (g_ascii_strtod (ts, NULL) * 1000),
      .reply_data = reply_data,
      .attachments = files,
      .n_attachments = n_files,
    };
    if (!cw_integration_adapter_receive (CW_INTEGRATION_ADAPTER (self), &inbound, &duplicate,
                                         &error))
      {
        g_warning ("slack: message %s not stored, not acked: %s", key, error->message);
        return FALSE;
      }
  }
  return TRUE;
}

static void
on_frame (SoupWebsocketConnection *socket, gint type, GBytes *bytes, gpointer user_data)
{
  CwSlackAdapter *self = user_data;
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonObject *frame;
  const gchar *kind;
  const gchar *envelope_id;

  if (type != SOUP_WEBSOCKET_DATA_TEXT
      || !json_parser_load_from_data (parser, g_bytes_get_data (bytes, NULL),
                                      g_bytes_get_size (bytes), NULL)
      || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    return;
  frame = json_node_get_object (json_parser_get_root (parser));
  kind = json_object_get_string_member_with_default (frame, "type", "");
  envelope_id = json_object_get_string_member_with_default (frame, "envelope_id", NULL);
  cw_integration_adapter_report_round_trip (CW_INTEGRATION_ADAPTER (self));
  if (g_str_equal (kind, "hello"))
    {
      GTask *task = g_steal_pointer (&self->connect_task);
      if (task != NULL)
        {
          g_task_return_boolean (task, TRUE);
          g_object_unref (task);
        }
      return;
    }
  if (g_str_equal (kind, "disconnect"))
    {
      /* Slack moves the connection: open the next one now */
      g_debug ("slack: disconnect (%s), reconnecting",
               json_object_get_string_member_with_default (frame, "reason", "?"));
      close_socket (self);
      open_socket (self);
      return;
    }
  if (envelope_id == NULL)
    return;
  if (g_str_equal (kind, "events_api") && json_object_has_member (frame, "payload")
      && !receive_event (self, json_object_get_object_member (frame, "payload")))
    return;
  {
    g_autofree gchar *ack = NULL;
    g_autoptr (JsonBuilder) b = json_builder_new ();
    g_autoptr (JsonNode) node = NULL;
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "envelope_id");
    json_builder_add_string_value (b, envelope_id);
    json_builder_end_object (b);
    node = json_builder_get_root (b);
    ack = json_to_string (node, FALSE);
    soup_websocket_connection_send_text (socket, ack);
  }
}

static void
on_closed (SoupWebsocketConnection *socket, gpointer user_data)
{
  CwSlackAdapter *self = user_data;
  g_autofree gchar *reason = g_strdup (soup_websocket_connection_get_close_data (socket));
  gushort code = soup_websocket_connection_get_close_code (socket);

  close_socket (self);
  fail_connect (self, g_error_new (CW_ERROR, CW_ERROR_FAILED, "the Slack socket closed (%u%s%s)",
                                   code, reason != NULL && *reason != '\0' ? ": " : "",
                                   reason != NULL ? reason : ""));
}

static void
on_socket (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (CwSlackAdapter) self = user_data;
  g_autoptr (GError) error = NULL;
  SoupWebsocketConnection *socket
      = soup_session_websocket_connect_finish (SOUP_SESSION (source), result, &error);

  if (socket == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        fail_connect (self, g_steal_pointer (&error));
      return;
    }
  close_socket (self);
  self->socket = socket;
  soup_websocket_connection_set_keepalive_interval (socket, 30);
  g_signal_connect (socket, "message", G_CALLBACK (on_frame), self);
  g_signal_connect (socket, "closed", G_CALLBACK (on_closed), self);
}

static void
on_connections_open (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (CwSlackAdapter) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (CwCloudReply) reply = cw_cloud_request_finish (result, &error);
  JsonObject *body;
  g_autoptr (SoupMessage) msg = NULL;

  if (reply == NULL && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (reply == NULL || (body = slack_ok (reply, "apps.connections.open", &error)) == NULL)
    {
      if (reply != NULL && self->connect_task == NULL
          && auth_failure (cw_cloud_reply_object (reply)))
        {
          cw_integration_adapter_report_lost (CW_INTEGRATION_ADAPTER (self), error, TRUE);
          return;
        }
      fail_connect (self, g_steal_pointer (&error));
      return;
    }
  msg = soup_message_new ("GET", json_object_get_string_member_with_default (body, "url", ""));
  if (msg == NULL)
    {
      fail_connect (self, g_error_new (CW_ERROR, CW_ERROR_FAILED,
                                       "apps.connections.open returned no usable URL"));
      return;
    }
  soup_session_websocket_connect_async (self->session, msg, NULL, NULL, G_PRIORITY_DEFAULT,
                                        self->cancellable, on_socket, g_object_ref (self));
}

static void
open_socket (CwSlackAdapter *self)
{
  call_api (self, "apps.connections.open", self->app_auth, NULL, self->cancellable,
            on_connections_open, g_object_ref (self));
}

/* ---- connect ------------------------------------------------------------------------- */

static void
on_auth_test (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  CwSlackAdapter *self = g_task_get_source_object (task);
  g_autoptr (GError) error = NULL;
  g_autoptr (CwCloudReply) reply = cw_cloud_request_finish (result, &error);
  JsonObject *body;

  if (reply == NULL || (body = slack_ok (reply, "auth.test", &error)) == NULL)
    {
      if (reply != NULL && auth_failure (cw_cloud_reply_object (reply)))
        {
          g_clear_error (&error);
          g_set_error (&error, CW_ERROR, CW_ERROR_UNAUTHORIZED, "Slack rejected the bot token (%s)",
                       json_object_get_string_member_with_default (cw_cloud_reply_object (reply),
                                                                   "error", "?"));
        }
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  cw_integration_adapter_report_round_trip (CW_INTEGRATION_ADAPTER (self));
  g_free (self->bot_user);
  self->bot_user = g_strdup (json_object_get_string_member_with_default (body, "user_id", ""));
  cw_integration_adapter_set_identity (
      CW_INTEGRATION_ADAPTER (self),
      json_object_get_string_member_with_default (body, "user", NULL), NULL);
  self->connect_task = g_steal_pointer (&task);
  open_socket (self);
}

static void
slack_disconnect (CwIntegrationAdapter *adapter)
{
  CwSlackAdapter *self = CW_SLACK_ADAPTER (adapter);

  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  close_socket (self);
  if (self->connect_task != NULL)
    {
      g_task_return_new_error (self->connect_task, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                               "disconnected");
      g_clear_object (&self->connect_task);
    }
  if (self->session != NULL)
    soup_session_abort (self->session);
  g_clear_object (&self->session);
  g_clear_pointer (&self->base, g_free);
  g_clear_pointer (&self->bot_auth, g_free);
  g_clear_pointer (&self->app_auth, g_free);
}

static void
slack_connect_async (CwIntegrationAdapter *adapter, JsonObject *config, GCancellable *cancellable,
                     GAsyncReadyCallback callback, gpointer user_data)
{
  CwSlackAdapter *self = CW_SLACK_ADAPTER (adapter);
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  const gchar *app = cw_integration_config_get_string (config, "appToken");
  const gchar *bot = cw_integration_config_get_string (config, "botToken");
  const gchar *base = cw_integration_config_get_string (config, "apiBaseUrl");

  slack_disconnect (adapter);
  if (app == NULL || bot == NULL || *app == '\0' || *bot == '\0')
    {
      g_task_return_new_error (task, CW_ERROR, CW_ERROR_INVALID_PARAMS,
                               "Slack needs an appToken (xapp-) and a botToken (xoxb-)");
      g_object_unref (task);
      return;
    }
  self->base = g_strdup (base != NULL ? base : "https://slack.com/api");
  self->app_auth = g_strconcat ("Bearer ", app, NULL);
  self->bot_auth = g_strconcat ("Bearer ", bot, NULL);
  self->session = cw_cloud_session_new (30);
  self->cancellable = g_cancellable_new ();
  call_api (self, "auth.test", self->bot_auth, NULL, cancellable, on_auth_test, task);
}

/* ---- outbound ------------------------------------------------------------------------ */

static void
on_posted (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (CwCloudReply) reply = cw_cloud_request_finish (result, &error);
  const gchar *method = g_task_get_task_data (task);
  JsonObject *body;

  if (reply == NULL || (body = slack_ok (reply, method, &error)) == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  cw_cloud_return_id (task, g_strdup (json_object_get_string_member_with_default (body, "ts", "")));
}

static void
slack_send_async (CwIntegrationAdapter *adapter, const CwIntegrationOutbound *message,
                  GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  CwSlackAdapter *self = CW_SLACK_ADAPTER (adapter);
  GTask *task = g_task_new (adapter, cancellable, callback, user_data);
  JsonObject *params;

  if (cw_cloud_not_connected (task, self->session, "Slack"))
    return;
  g_task_set_task_data (task, (gpointer) "chat.postMessage", NULL);
  params = json_object_new ();
  json_object_set_string_member (params, "channel", message->chat_id);
  json_object_set_string_member (params, "text", message->text);
  if (message->reply_data != NULL && json_object_has_member (message->reply_data, "thread_ts"))
    json_object_set_string_member (params, "thread_ts",
                                   cw_cloud_reply_to (message->reply_data, "thread_ts"));
  call_api (self, "chat.postMessage", self->bot_auth, params, cancellable, on_posted, task);
}

/* A generated image or video, Slack's external upload: files.getUploadURLExternal (filename,
 * length), the bytes POSTed to the upload URL it gives, then files.completeUploadExternal
 * shares the file in the channel (and thread) with the caption. */
typedef struct
{
  gchar *chat_id;
  gchar *thread_ts;
  gchar *caption;
  gchar *filename;
  gchar *mime_type;
  GBytes *data;
  gchar *file_id;
} UploadJob;

static void
upload_job_free (UploadJob *job)
{
  g_free (job->chat_id);
  g_free (job->thread_ts);
  g_free (job->caption);
  g_free (job->filename);
  g_free (job->mime_type);
  g_bytes_unref (job->data);
  g_free (job->file_id);
  g_free (job);
}

static void
on_upload_completed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  UploadJob *job = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  g_autoptr (CwCloudReply) reply = cw_cloud_request_finish (result, &error);

  if (reply == NULL || slack_ok (reply, "files.completeUploadExternal", &error) == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  cw_cloud_return_id (task, g_strdup (job->file_id));
}

static void
on_uploaded (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GTask *task = user_data;
  CwSlackAdapter *self = g_task_get_source_object (task);
  UploadJob *job = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  g_autoptr (CwCloudReply) reply = cw_cloud_request_finish (result, &error);
  JsonObject *params, *file;
  JsonArray *files;

  if (reply == NULL || reply->status != 200)
    {
      g_task_return_error (task, error != NULL ? g_steal_pointer (&error)
                                               : cw_cloud_reply_error (reply, "file upload", NULL));
      g_object_unref (task);
      return;
    }
  if (cw_cloud_not_connected (task, self->session, "Slack"))
    return;
  params = json_object_new ();
  files = json_array_new ();
  file = json_object_new ();
  json_object_set_string_member (file, "id", job->file_id);
  json_object_set_string_member (file, "title", job->caption);
  json_array_add_object_element (files, file);
  json_object_set_array_member (params, "files", files);
  json_object_set_string_member (params, "channel_id", job->chat_id);
  json_object_set_string_member (params, "initial_comment", job->caption);
  if (job->thread_ts != NULL)
    json_object_set_string_member (params, "thread_ts", job->thread_ts);
  call_api (self, "files.completeUploadExternal", self->bot_auth, params,
            g_task_get_cancellable (task), on_upload_completed, task);
}

static void
on_upload_url (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GTask *task = user_data;
  CwSlackAdapter *self = g_task_get_source_object (task);
  UploadJob *job = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  g_autoptr (CwCloudReply) reply = cw_cloud_request_finish (result, &error);
  JsonObject *body;
  const gchar *url;

  if (reply == NULL || (body = slack_ok (reply, "files.getUploadURLExternal", &error)) == NULL
      || (url = json_object_get_string_member_with_default (body, "upload_url", NULL)) == NULL)
    {
      g_task_return_error (task, error != NULL ? g_steal_pointer (&error)
                                               : g_error_new (CW_ERROR, CW_ERROR_FAILED,
                                                              "Slack gave no upload_url"));
      g_object_unref (task);
      return;
    }
  if (cw_cloud_not_connected (task, self->session, "Slack"))
    return;
  job->file_id = g_strdup (json_object_get_string_member_with_default (body, "file_id", ""));
  /* the URL is the credential: the bot token does not go with it */
  cw_cloud_request_bytes_async (self->session, "POST", url, NULL, job->mime_type, job->data,
                                g_task_get_cancellable (task), on_uploaded, task);
}

static void
slack_send_media_async (CwIntegrationAdapter *adapter, const CwIntegrationMedia *media,
                        GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  CwSlackAdapter *self = CW_SLACK_ADAPTER (adapter);
  GTask *task = g_task_new (adapter, cancellable, callback, user_data);
  UploadJob *job;
  g_autofree gchar *length = NULL, *form = NULL, *url = NULL;

  if (cw_cloud_not_connected (task, self->session, "Slack"))
    return;
  job = g_new0 (UploadJob, 1);
  job->chat_id = g_strdup (media->chat_id);
  job->thread_ts = g_strdup (cw_cloud_reply_to (media->reply_data, "thread_ts"));
  job->caption = g_strdup (media->caption);
  job->filename = cw_integration_media_filename (media);
  job->mime_type = g_strdup (media->mime_type);
  job->data = g_bytes_ref (media->data);
  g_task_set_task_data (task, job, (GDestroyNotify) upload_job_free);
  length = g_strdup_printf ("%" G_GSIZE_FORMAT, g_bytes_get_size (media->data));
  form = soup_form_encode ("filename", job->filename, "length", length, NULL);
  url = g_strdup_printf ("%s/files.getUploadURLExternal", self->base);
  cw_cloud_request_async (self->session, "POST", url, self->bot_auth, NULL, form, cancellable,
                          on_upload_url, task);
}

static void
on_updated (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (CwCloudReply) reply = cw_cloud_request_finish (result, &error);

  if (reply == NULL || slack_ok (reply, "chat.update", &error) == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  cw_cloud_return_round_trip (task);
}

static void
slack_edit_async (CwIntegrationAdapter *adapter, const gchar *chat_id, const gchar *message_id,
                  const gchar *text, GCancellable *cancellable, GAsyncReadyCallback callback,
                  gpointer user_data)
{
  CwSlackAdapter *self = CW_SLACK_ADAPTER (adapter);
  GTask *task = g_task_new (adapter, cancellable, callback, user_data);
  JsonObject *params;

  if (cw_cloud_not_connected (task, self->session, "Slack"))
    return;
  params = json_object_new ();
  json_object_set_string_member (params, "channel", chat_id);
  json_object_set_string_member (params, "ts", message_id);
  json_object_set_string_member (params, "text", text);
  call_api (self, "chat.update", self->bot_auth, params, cancellable, on_updated, task);
}

/* ---- health -------------------------------------------------------------------------- */

static void
on_health (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (CwCloudReply) reply = cw_cloud_request_finish (result, &error);

  if (reply == NULL || slack_ok (reply, "auth.test", &error) == NULL)
    {
      cw_cloud_health_fail (task, g_steal_pointer (&error),
                            reply != NULL && auth_failure (cw_cloud_reply_object (reply)));
      return;
    }
  cw_cloud_return_round_trip (task);
}

static void
slack_check_health_async (CwIntegrationAdapter *adapter, GCancellable *cancellable,
                          GAsyncReadyCallback callback, gpointer user_data)
{
  CwSlackAdapter *self = CW_SLACK_ADAPTER (adapter);
  GTask *task = g_task_new (adapter, cancellable, callback, user_data);

  if (cw_cloud_not_connected (task, self->session, "Slack"))
    return;
  call_api (self, "auth.test", self->bot_auth, NULL, cancellable, on_health, task);
}

/* The file's url_private_download with the bot token; the token goes only to Slack's own hosts
 * (slack.com and its subdomains, or the configured apiBaseUrl's host). */
static void
slack_fetch_attachment_async (CwIntegrationAdapter *adapter, const gchar *ref, gint64 max_bytes,
                              GCancellable *cancellable, GAsyncReadyCallback callback,
                              gpointer user_data)
{
  CwSlackAdapter *self = CW_SLACK_ADAPTER (adapter);
  g_autoptr (GUri) base
      = self->base != NULL ? g_uri_parse (self->base, G_URI_FLAGS_NONE, NULL) : NULL;
  gboolean ours = cw_cloud_url_on_host (ref, "slack.com")
                  || (base != NULL && cw_cloud_url_on_host (ref, g_uri_get_host (base)));

  cw_cloud_fetch_url (adapter, self->session, "Slack", ref, ours ? self->bot_auth : NULL, max_bytes,
                      cancellable, callback, user_data);
}

static void
slack_dispose (GObject *object)
{
  slack_disconnect (CW_INTEGRATION_ADAPTER (object));
  G_OBJECT_CLASS (cw_slack_adapter_parent_class)->dispose (object);
}

static void
slack_finalize (GObject *object)
{
  g_free (CW_SLACK_ADAPTER (object)->bot_user);
  G_OBJECT_CLASS (cw_slack_adapter_parent_class)->finalize (object);
}

static void
cw_slack_adapter_class_init (CwSlackAdapterClass *klass)
{
  CwIntegrationAdapterClass *adapter = CW_INTEGRATION_ADAPTER_CLASS (klass);

  G_OBJECT_CLASS (klass)->dispose = slack_dispose;
  G_OBJECT_CLASS (klass)->finalize = slack_finalize;
  adapter->caps = CW_INTEGRATION_CAP_EDIT;
  adapter->connect_async = slack_connect_async;
  adapter->connect_finish = cw_cloud_finish_boolean;
  adapter->disconnect = slack_disconnect;
  adapter->send_async = slack_send_async;
  adapter->send_finish = cw_cloud_finish_id;
  adapter->send_media_async = slack_send_media_async;
  adapter->send_media_finish = cw_cloud_finish_id;
  adapter->edit_async = slack_edit_async;
  adapter->edit_finish = cw_cloud_finish_boolean;
  adapter->fetch_attachment_async = slack_fetch_attachment_async;
  adapter->fetch_attachment_finish = cw_cloud_finish_bytes;
  adapter->check_health_async = slack_check_health_async;
  adapter->check_health_finish = cw_cloud_finish_health;
}

static void
cw_slack_adapter_init (CwSlackAdapter *self)
{
}
