/* cw-imessage-adapter.c: iMessage through a BlueBubbles server (https://bluebubbles.app), which
 * runs on a Mac and is reached over HTTP, so this adapter works on any OS (the original
 * refused to connect off macOS).
 *
 * Connect: GET /api/v1/server/info (the round trip; the iCloud account is the identity). On
 * the first connect ever the newest message's dateCreated is the baseline, so history is
 * never ingested. Inbound comes two ways, both through the ledger (deduped by guid):
 * - BlueBubbles' event channel, Socket.IO (Engine.IO v4) on a WebSocket at
 *   /socket.io/?EIO=4&transport=websocket: the adapter joins the default namespace ("40"),
 *   answers pings ("2" -> "3") and takes `new-message` events as they come;
 * - a poll every pollIntervalSeconds on the daemon's scheduler (and at once after a connect):
 *   POST /api/v1/message/query for what was created after the stored position (strictly:
 *   the position is the newest dateCreated handled), oldest first.
 *   Only the poll moves the position (stored with each message in the same transaction): an
 *   event can arrive while older messages were missed during a socket gap, and those must
 *   still be fetched. A socket that drops is opened again at the next poll.
 * The server password goes as BlueBubbles expects it, `?password=`, and as a Bearer token.
 *
 * Messages: not fromMe; handles matched by the core against allowHandles; the chat is the
 * message's chat GUID (or defaultChatGuid). Replies: POST /api/v1/message/text with the
 * outbound id as tempGuid; generated images and videos by POST /api/v1/message/attachment
 * (multipart), then the caption as text. A message's attachments[] reach the agent, fetched
 * by GET /api/v1/attachment/<guid>/download. BlueBubbles cannot edit or show typing. Health:
 * server/info.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "../cloud/cw-cloud-download.h"
#include "../cloud/cw-cloud-http.h"
#include "../cloud/cw-cloud-task.h"
#include "../cw-integrations-adapters.h"

#include <string.h>

#define POLL_JOB  "imessage.poll"
#define PAGE_SIZE 100

struct _CwImessageAdapter
{
  CwIntegrationAdapter parent_instance;
  SoupSession *session;
  GCancellable *cancellable;
  gchar *server;
  gchar *password;
  gchar *auth;
  gchar *default_chat;
  gint64 interval_ms;
  gint64 after; /* dateCreated of the newest message the poll handled */
  SoupWebsocketConnection *socket;
  gboolean socket_opening;
  gboolean polling;
  gboolean poll_again;
  gboolean scheduled;
};

G_DECLARE_FINAL_TYPE (CwImessageAdapter, cw_imessage_adapter, CW, IMESSAGE_ADAPTER,
                      CwIntegrationAdapter)
G_DEFINE_FINAL_TYPE (CwImessageAdapter, cw_imessage_adapter, CW_TYPE_INTEGRATION_ADAPTER)

static void poll_now (CwImessageAdapter *self);

/* <serverUrl>/api/v1/<path>?password=<password> */
static gchar *
api_url (CwImessageAdapter *self, const gchar *path)
{
  g_autofree gchar *query = soup_form_encode ("password", self->password, NULL);

  return g_strdup_printf ("%s/api/v1/%s?%s", self->server, path, query);
}

static void
api (CwImessageAdapter *self, const gchar *method, const gchar *path, JsonObject *body,
     GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  g_autofree gchar *url = api_url (self, path);

  cw_cloud_request_async (self->session, method, url, self->auth, body, NULL, cancellable, callback,
                          user_data);
  if (body != NULL)
    json_object_unref (body);
}

/* The `data` of a {status:200, data} answer, or NULL with @error. */
static JsonNode *
bb_data (CwCloudReply *reply, const gchar *what, GError **error)
{
  JsonObject *body = cw_cloud_reply_object (reply);

  if (reply->status == 200 && body != NULL && json_object_has_member (body, "data"))
    return json_object_get_member (body, "data");
  g_propagate_error (
      error, cw_cloud_reply_error (
                 reply, what,
                 body != NULL ? json_object_get_string_member_with_default (body, "message", NULL)
                              : NULL));
  return NULL;
}

/* ---- inbound ------------------------------------------------------------------------- */

/* FALSE when the ledger refused the message. @with_position: store it as the new position. */
/* A message's attachments[]: the reference is the attachment's guid, downloaded from
 * /api/v1/attachment/<guid>/download. */
static const CwCloudFileKeys bluebubbles_files = {
  .ref = "guid",
  .name = "transferName",
  .mime_type = "mimeType",
  .size = "totalBytes",
  .default_name = "attachment",
};

static gboolean
receive_message (CwImessageAdapter *self, JsonObject *message, gboolean with_position)
{
  const gchar *guid = json_object_get_string_member_with_default (message, "guid", NULL);
  const gchar *text = json_object_get_string_member_with_default (message, "text", NULL);
  gint64 created = json_object_get_int_member_with_default (message, "dateCreated", 0);
  JsonObject *handle
      = json_object_has_member (message, "handle")
                && JSON_NODE_HOLDS_OBJECT (json_object_get_member (message, "handle"))
            ? json_object_get_object_member (message, "handle")
            : NULL;
  JsonArray *chats = json_object_has_member (message, "chats")
                         ? json_object_get_array_member (message, "chats")
                         : NULL;
  JsonObject *chat = chats != NULL && json_array_get_length (chats) > 0
                         ? json_array_get_object_element (chats, 0)
                         : NULL;
  const gchar *chat_guid
      = chat != NULL ? json_object_get_string_member_with_default (chat, "guid", NULL) : NULL;
  const gchar *chat_name
      = chat != NULL ? json_object_get_string_member_with_default (chat, "displayName", NULL)
                     : NULL;
  g_autofree gchar *sender = NULL;
  g_autofree gchar *position = NULL;
  JsonArray *attachments;
  g_autoptr (GError) error = NULL;
  gboolean duplicate;
  CwIntegrationAttachment files[10];
  guint n_files;

  if (chat_guid == NULL)
    chat_guid = self->default_chat;
  attachments = json_object_has_member (message, "attachments")
                    ? json_object_get_array_member (message, "attachments")
                    : NULL;
  n_files = cw_cloud_describe_files (attachments, &bluebubbles_files, files, G_N_ELEMENTS (files));
  if ((text == NULL || *text == '\0') && n_files > 0)
    text = "";
  else if ((text == NULL || *text == '\0') && attachments != NULL
           && json_array_get_length (attachments) > 0)
    text = "Attachment received.";
  position = g_strdup_printf ("%" G_GINT64_FORMAT, MAX (created, self->after));
  if (guid == NULL || chat_guid == NULL || handle == NULL || text == NULL
      || (*text == '\0' && n_files == 0)
      || json_object_get_boolean_member_with_default (message, "isFromMe", FALSE))
    {
      if (with_position && created > self->after
          && cw_integration_adapter_set_state (CW_INTEGRATION_ADAPTER (self), "after", position,
                                               NULL))
        self->after = created;
      return TRUE;
    }
  sender = g_ascii_strdown (json_object_get_string_member_with_default (handle, "address", ""), -1);
  {
    CwIntegrationInbound inbound = {
      .message_id = guid,
      .chat_id = chat_guid,
      .chat_title = chat_name != NULL && *chat_name != '\0' ? chat_name : sender,
      .sender_id = sender,
      .sender_name = sender,
      .text = text,
      .timestamp_ms = created,
      .state_key = with_position ? "after" : NULL,
      .state_value = with_position ? position : NULL,
      .attachments = files,
      .n_attachments = n_files,
    };
    if (!cw_integration_adapter_receive (CW_INTEGRATION_ADAPTER (self), &inbound, &duplicate,
                                         &error))
      {
        g_warning ("imessage: message %s not stored, fetched again later: %s", guid,
                   error->message);
        return FALSE;
      }
  }
  if (with_position)
    self->after = MAX (created, self->after);
  return TRUE;
}

static void query_page (CwImessageAdapter *self);

static void
poll_done (CwImessageAdapter *self)
{
  self->polling = FALSE;
  if (self->poll_again)
    {
      self->poll_again = FALSE;
      poll_now (self);
    }
}

static void
on_query (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (CwImessageAdapter) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (CwCloudReply) reply = cw_cloud_request_finish (result, &error);
  JsonNode *data;
  guint n;

  if (reply == NULL || (data = bb_data (reply, "message/query", &error)) == NULL
      || !JSON_NODE_HOLDS_ARRAY (data))
    {
      self->polling = FALSE;
      self->poll_again = FALSE;
      if (error != NULL && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      if (error == NULL)
        g_set_error (&error, CW_ERROR, CW_ERROR_FAILED, "message/query returned no list");
      cw_integration_adapter_report_lost (CW_INTEGRATION_ADAPTER (self), error,
                                          reply != NULL && reply->status == 401);
      return;
    }
  cw_integration_adapter_report_round_trip (CW_INTEGRATION_ADAPTER (self));
  n = json_array_get_length (json_node_get_array (data));
  for (guint i = 0; i < n; i++)
    {
      JsonObject *message = json_array_get_object_element (json_node_get_array (data), i);
      /* strictly after the position, whatever the server's `after` includes */
      if (json_object_get_int_member_with_default (message, "dateCreated", 0) <= self->after)
        continue;
      if (!receive_message (self, message, TRUE))
        {
          self->polling = FALSE;
          return;
        }
    }
  if (n == PAGE_SIZE)
    query_page (self);
  else
    poll_done (self);
}

static void
query_page (CwImessageAdapter *self)
{
  JsonObject *body = json_object_new ();
  JsonArray *with = json_array_new ();

  json_array_add_string_element (with, "chat");
  json_array_add_string_element (with, "handle");
  json_object_set_array_member (body, "with", with);
  json_object_set_int_member (body, "limit", PAGE_SIZE);
  json_object_set_int_member (body, "offset", 0);
  json_object_set_string_member (body, "sort", "ASC");
  json_object_set_int_member (body, "after", self->after);
  api (self, "POST", "message/query", body, self->cancellable, on_query, g_object_ref (self));
}

/* ---- the event channel ---------------------------------------------------------------- */

static void
close_socket (CwImessageAdapter *self)
{
  if (self->socket == NULL)
    return;
  g_signal_handlers_disconnect_by_data (self->socket, self);
  if (soup_websocket_connection_get_state (self->socket) == SOUP_WEBSOCKET_STATE_OPEN)
    soup_websocket_connection_close (self->socket, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
  g_clear_object (&self->socket);
}

static void
on_event (CwImessageAdapter *self, const gchar *json)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonArray *packet;

  if (!json_parser_load_from_data (parser, json, -1, NULL)
      || !JSON_NODE_HOLDS_ARRAY (json_parser_get_root (parser)))
    return;
  packet = json_node_get_array (json_parser_get_root (parser));
  if (json_array_get_length (packet) >= 2
      && g_strcmp0 (json_array_get_string_element (packet, 0), "new-message") == 0
      && JSON_NODE_HOLDS_OBJECT (json_array_get_element (packet, 1)))
    receive_message (self, json_array_get_object_element (packet, 1), FALSE);
}

static void
on_frame (SoupWebsocketConnection *socket, gint type, GBytes *bytes, gpointer user_data)
{
  CwImessageAdapter *self = user_data;
  g_autofree gchar *text = g_strndup (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));

  if (g_str_has_prefix (text, "0"))
    soup_websocket_connection_send_text (socket, "40"); /* join the default namespace */
  else if (g_str_equal (text, "2"))
    {
      soup_websocket_connection_send_text (socket, "3");
      cw_integration_adapter_report_round_trip (CW_INTEGRATION_ADAPTER (self));
    }
  else if (g_str_has_prefix (text, "42"))
    on_event (self, text + 2);
  else if (g_str_has_prefix (text, "41") || g_str_has_prefix (text, "44"))
    close_socket (self);
}

static void
on_closed (SoupWebsocketConnection *socket, gpointer user_data)
{
  CwImessageAdapter *self = user_data;

  g_debug ("imessage: the event channel closed; the poll goes on");
  close_socket (self);
}

static void
on_socket (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (CwImessageAdapter) self = user_data;
  g_autoptr (GError) error = NULL;
  SoupWebsocketConnection *socket
      = soup_session_websocket_connect_finish (SOUP_SESSION (source), result, &error);

  self->socket_opening = FALSE;
  if (socket == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_debug ("imessage: no event channel (%s); polling only", error->message);
      return;
    }
  close_socket (self);
  self->socket = socket;
  g_signal_connect (socket, "message", G_CALLBACK (on_frame), self);
  g_signal_connect (socket, "closed", G_CALLBACK (on_closed), self);
}

static void
open_socket (CwImessageAdapter *self)
{
  g_autofree gchar *query = NULL;
  g_autofree gchar *url = NULL;
  g_autoptr (SoupMessage) msg = NULL;

  if (self->socket != NULL || self->socket_opening || self->session == NULL)
    return;
  query = soup_form_encode ("EIO", "4", "transport", "websocket", "password", self->password, NULL);
  url = g_strdup_printf ("%s/socket.io/?%s", self->server, query);
  msg = soup_message_new ("GET", url);
  if (msg == NULL)
    return;
  self->socket_opening = TRUE;
  soup_session_websocket_connect_async (self->session, msg, NULL, NULL, G_PRIORITY_DEFAULT,
                                        self->cancellable, on_socket, g_object_ref (self));
}

static void
poll_now (CwImessageAdapter *self)
{
  if (self->session == NULL)
    return;
  open_socket (self);
  if (self->polling)
    {
      self->poll_again = TRUE;
      return;
    }
  self->polling = TRUE;
  query_page (self);
}

static void
on_poll_due (CwPlugin *plugin, const gchar *job_id, gint64 scheduled_ms, CwScheduleFireFlags flags,
             gpointer user_data)
{
  if (!(flags & CW_SCHEDULE_FIRE_SKIPPED))
    poll_now (user_data);
}

/* ---- connect ------------------------------------------------------------------------- */

static void
start (CwImessageAdapter *self)
{
  CwPlugin *plugin = cw_integration_adapter_get_plugin (CW_INTEGRATION_ADAPTER (self));
  g_autoptr (GError) error = NULL;
  g_autoptr (CwSchedule) every = cw_schedule_new_every (
      self->interval_ms, cw_plugin_schedule_get_now (plugin) + self->interval_ms, &error);

  if (every == NULL
      || !cw_plugin_schedule_add (plugin, POLL_JOB, every, CW_MISSED_POLICY_SKIP, on_poll_due, self,
                                  NULL, &error))
    g_warning ("imessage: cannot schedule the poll: %s", error->message);
  else
    self->scheduled = TRUE;
  poll_now (self);
}

static void
on_baseline (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  CwImessageAdapter *self = g_task_get_source_object (task);
  g_autoptr (GError) error = NULL;
  g_autoptr (CwCloudReply) reply = cw_cloud_request_finish (result, &error);
  JsonNode *data;
  g_autofree gchar *position = NULL;

  if (reply == NULL || (data = bb_data (reply, "message/query", &error)) == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  self->after = 0;
  if (JSON_NODE_HOLDS_ARRAY (data) && json_array_get_length (json_node_get_array (data)) > 0)
    self->after = json_object_get_int_member_with_default (
        json_array_get_object_element (json_node_get_array (data), 0), "dateCreated", 0);
  position = g_strdup_printf ("%" G_GINT64_FORMAT, self->after);
  if (!cw_integration_adapter_set_state (CW_INTEGRATION_ADAPTER (self), "after", position, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  start (self);
  g_task_return_boolean (task, TRUE);
}

static void
on_info (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  CwImessageAdapter *self = g_task_get_source_object (task);
  g_autoptr (GError) error = NULL;
  g_autoptr (CwCloudReply) reply = cw_cloud_request_finish (result, &error);
  JsonNode *data;
  g_autofree gchar *after = NULL;

  if (reply == NULL || (data = bb_data (reply, "server/info", &error)) == NULL)
    {
      if (reply != NULL && reply->status == 401)
        {
          g_clear_error (&error);
          g_set_error (&error, CW_ERROR, CW_ERROR_UNAUTHORIZED,
                       "the BlueBubbles server refused the access token (401)");
        }
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  cw_integration_adapter_report_round_trip (CW_INTEGRATION_ADAPTER (self));
  if (JSON_NODE_HOLDS_OBJECT (data))
    cw_integration_adapter_set_identity (CW_INTEGRATION_ADAPTER (self),
                                         json_object_get_string_member_with_default (
                                             json_node_get_object (data), "detected_icloud", NULL),
                                         NULL);
  after = cw_integration_adapter_get_state (CW_INTEGRATION_ADAPTER (self), "after");
  if (after == NULL)
    {
      JsonObject *body = json_object_new ();
      json_object_set_int_member (body, "limit", 1);
      json_object_set_int_member (body, "offset", 0);
      json_object_set_string_member (body, "sort", "DESC");
      api (self, "POST", "message/query", body, g_task_get_cancellable (task), on_baseline,
           g_object_ref (task));
      return;
    }
  self->after = g_ascii_strtoll (after, NULL, 10);
  start (self);
  g_task_return_boolean (task, TRUE);
}

static void
imessage_disconnect (CwIntegrationAdapter *adapter)
{
  CwImessageAdapter *self = CW_IMESSAGE_ADAPTER (adapter);
  CwPlugin *plugin = cw_integration_adapter_get_plugin (adapter);

  if (self->scheduled && plugin != NULL)
    cw_plugin_schedule_remove (plugin, POLL_JOB, NULL);
  self->scheduled = FALSE;
  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  close_socket (self);
  self->socket_opening = FALSE;
  if (self->session != NULL)
    soup_session_abort (self->session);
  g_clear_object (&self->session);
  self->polling = FALSE;
  self->poll_again = FALSE;
  g_clear_pointer (&self->password, g_free);
  g_clear_pointer (&self->auth, g_free);
}

static void
imessage_update_config (CwIntegrationAdapter *adapter, JsonObject *config)
{
  CwImessageAdapter *self = CW_IMESSAGE_ADAPTER (adapter);

  g_free (self->default_chat);
  self->default_chat = g_strdup (cw_integration_config_get_string (config, "defaultChatGuid"));
}

static void
imessage_connect_async (CwIntegrationAdapter *adapter, JsonObject *config,
                        GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  CwImessageAdapter *self = CW_IMESSAGE_ADAPTER (adapter);
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  const gchar *server = cw_integration_config_get_string (config, "serverUrl");
  const gchar *token = cw_integration_config_get_string (config, "accessToken");

  imessage_disconnect (adapter);
  if (server == NULL || token == NULL || *server == '\0' || *token == '\0')
    {
      g_task_return_new_error (task, CW_ERROR, CW_ERROR_INVALID_PARAMS,
                               "iMessage needs the BlueBubbles serverUrl and accessToken");
      g_object_unref (task);
      return;
    }
  g_free (self->server);
  self->server = g_strdup (server);
  self->password = g_strdup (token);
  self->auth = g_strconcat ("Bearer ", token, NULL);
  imessage_update_config (adapter, config);
  self->interval_ms = cw_integration_config_get_int (config, "pollIntervalSeconds", 20) * 1000;
  self->session = cw_cloud_session_new (30);
  self->cancellable = g_cancellable_new ();
  api (self, "GET", "server/info", NULL, cancellable, on_info, task);
}

/* ---- outbound and health --------------------------------------------------------------- */

static void
on_sent (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (CwCloudReply) reply = cw_cloud_request_finish (result, &error);
  JsonNode *data;

  if (reply == NULL || (data = bb_data (reply, "message/text", &error)) == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  cw_integration_adapter_report_round_trip (g_task_get_source_object (task));
  g_task_return_pointer (task,
                         JSON_NODE_HOLDS_OBJECT (data)
                             ? g_strdup (json_object_get_string_member_with_default (
                                 json_node_get_object (data), "guid", ""))
                             : g_strdup (""),
                         g_free);
}

static void
imessage_send_async (CwIntegrationAdapter *adapter, const CwIntegrationOutbound *message,
                     GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  CwImessageAdapter *self = CW_IMESSAGE_ADAPTER (adapter);
  GTask *task = g_task_new (adapter, cancellable, callback, user_data);
  JsonObject *body;

  if (cw_cloud_not_connected (task, self->session, "iMessage"))
    return;
  body = json_object_new ();
  json_object_set_string_member (body, "chatGuid", message->chat_id);
  json_object_set_string_member (body, "tempGuid", message->outbound_id);
  json_object_set_string_member (body, "message", message->text);
  json_object_set_string_member (body, "method", "apple-script");
  api (self, "POST", "message/text", body, cancellable, on_sent, task);
}

/* A generated image or video: POST /api/v1/message/attachment (multipart: chatGuid, tempGuid,
 * name, method, attachment), then the caption as a text message. When the caption cannot
 * follow, the attachment is out: a retry would send it twice, so the send succeeds. */
typedef struct
{
  gchar *attachment_guid;
} MediaJob;

static void
media_job_free (MediaJob *job)
{
  g_free (job->attachment_guid);
  g_free (job);
}

static void
on_caption_sent (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  MediaJob *job = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  g_autofree gchar *id = cw_cloud_finish_id (g_task_get_source_object (task), result, &error);

  if (id == NULL)
    g_message ("iMessage: the caption after an attachment was not sent: %s", error->message);
  g_task_return_pointer (task, g_strdup (job->attachment_guid), g_free);
}

static void
on_attachment_sent (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GTask *task = user_data;
  CwIntegrationMedia *media = g_object_get_data (G_OBJECT (task), "media");
  MediaJob *job = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  g_autoptr (CwCloudReply) reply = cw_cloud_request_finish (result, &error);
  JsonNode *data;
  g_autofree gchar *temp = NULL;
  CwIntegrationOutbound caption = { NULL, NULL, NULL, NULL };

  if (reply == NULL || (data = bb_data (reply, "message/attachment", &error)) == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      g_object_unref (task);
      return;
    }
  cw_integration_adapter_report_round_trip (g_task_get_source_object (task));
  job->attachment_guid = g_strdup (
      JSON_NODE_HOLDS_OBJECT (data)
          ? json_object_get_string_member_with_default (json_node_get_object (data), "guid", "")
          : "");
  temp = g_strdup_printf ("%s-caption", media->outbound_id);
  caption.outbound_id = temp;
  caption.chat_id = media->chat_id;
  caption.text = media->caption;
  imessage_send_async (g_task_get_source_object (task), &caption, g_task_get_cancellable (task),
                       on_caption_sent, task);
}

static void
imessage_send_media_async (CwIntegrationAdapter *adapter, const CwIntegrationMedia *media,
                           GCancellable *cancellable, GAsyncReadyCallback callback,
                           gpointer user_data)
{
  CwImessageAdapter *self = CW_IMESSAGE_ADAPTER (adapter);
  GTask *task = g_task_new (adapter, cancellable, callback, user_data);
  g_autofree gchar *url = NULL, *name = NULL;
  CwIntegrationMedia *copy;

  if (cw_cloud_not_connected (task, self->session, "iMessage"))
    return;
  g_task_set_task_data (task, g_new0 (MediaJob, 1), (GDestroyNotify) media_job_free);
  /* the strings live until the send finishes; the caption is sent after the upload */
  copy = g_memdup2 (media, sizeof *media);
  g_object_set_data_full (G_OBJECT (task), "media", copy, g_free);
  name = cw_integration_media_filename (media);
  url = api_url (self, "message/attachment");
  cw_cloud_post_media (self->session, url, self->auth, "attachment", media, cancellable,
                       on_attachment_sent, task, "chatGuid", media->chat_id, "tempGuid",
                       media->outbound_id, "name", name, "method", "apple-script", NULL);
}

static void
on_health (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (CwCloudReply) reply = cw_cloud_request_finish (result, &error);

  if (reply == NULL || bb_data (reply, "server/info", &error) == NULL)
    {
      cw_cloud_health_fail (task, g_steal_pointer (&error), reply != NULL && reply->status == 401);
      return;
    }
  cw_cloud_return_round_trip (task);
}

static void
imessage_check_health_async (CwIntegrationAdapter *adapter, GCancellable *cancellable,
                             GAsyncReadyCallback callback, gpointer user_data)
{
  CwImessageAdapter *self = CW_IMESSAGE_ADAPTER (adapter);
  GTask *task = g_task_new (adapter, cancellable, callback, user_data);

  if (cw_cloud_not_connected (task, self->session, "iMessage"))
    return;
  api (self, "GET", "server/info", NULL, cancellable, on_health, task);
}

static void
imessage_fetch_attachment_async (CwIntegrationAdapter *adapter, const gchar *ref, gint64 max_bytes,
                                 GCancellable *cancellable, GAsyncReadyCallback callback,
                                 gpointer user_data)
{
  CwImessageAdapter *self = CW_IMESSAGE_ADAPTER (adapter);
  g_autofree gchar *guid = g_uri_escape_string (ref, NULL, FALSE);
  g_autofree gchar *path = g_strdup_printf ("attachment/%s/download", guid);
  g_autofree gchar *url = self->session != NULL ? api_url (self, path) : NULL;

  cw_cloud_fetch_url (adapter, self->session, "iMessage", url, self->auth, max_bytes, cancellable,
                      callback, user_data);
}

static void
imessage_dispose (GObject *object)
{
  imessage_disconnect (CW_INTEGRATION_ADAPTER (object));
  G_OBJECT_CLASS (cw_imessage_adapter_parent_class)->dispose (object);
}

static void
imessage_finalize (GObject *object)
{
  CwImessageAdapter *self = CW_IMESSAGE_ADAPTER (object);

  g_free (self->server);
  g_free (self->default_chat);
  G_OBJECT_CLASS (cw_imessage_adapter_parent_class)->finalize (object);
}

static void
cw_imessage_adapter_class_init (CwImessageAdapterClass *klass)
{
  CwIntegrationAdapterClass *adapter = CW_INTEGRATION_ADAPTER_CLASS (klass);

  G_OBJECT_CLASS (klass)->dispose = imessage_dispose;
  G_OBJECT_CLASS (klass)->finalize = imessage_finalize;
  adapter->caps = CW_INTEGRATION_CAP_NONE;
  adapter->connect_async = imessage_connect_async;
  adapter->connect_finish = cw_cloud_finish_boolean;
  adapter->disconnect = imessage_disconnect;
  adapter->send_async = imessage_send_async;
  adapter->send_finish = cw_cloud_finish_id;
  adapter->send_media_async = imessage_send_media_async;
  adapter->send_media_finish = cw_cloud_finish_id;
  adapter->fetch_attachment_async = imessage_fetch_attachment_async;
  adapter->fetch_attachment_finish = cw_cloud_finish_bytes;
  adapter->check_health_async = imessage_check_health_async;
  adapter->check_health_finish = cw_cloud_finish_health;
  adapter->update_config = imessage_update_config;
}

static void
cw_imessage_adapter_init (CwImessageAdapter *self)
{
}
