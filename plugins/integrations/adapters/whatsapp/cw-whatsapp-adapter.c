/* cw-whatsapp-adapter.c: WhatsApp through Meta's WhatsApp Cloud API
 * (https://developers.facebook.com/docs/whatsapp/cloud-api), not WhatsApp Web.
 *
 * Why: the original drove WhatsApp Web in a headless Chromium to pair a personal account by
 * QR code. Writing that protocol in C is out of the question, and a supervised Node/Chromium
 * helper would bring a browser into a daemon. The Cloud API is documented, stable and speaks
 * plain HTTPS; the price is a WhatsApp Business number set up in a Meta app instead of a QR
 * scan. So integration_get_qr always answers {qrDataUrl: null} and integration_recover_whatsapp
 * fails with NotSupported, saying why (README.md).
 *
 * Connect: GET {apiBaseUrl}/{phoneNumberId} with the access token (the round trip; the
 * number's verified name and display number are the identity), and the webhook route
 * /integrations/whatsapp/webhook on the daemon's HTTP server (reach it from Meta through a
 * tunnel or reverse proxy, e.g. remote access). The webhook answers Meta's subscription
 * handshake (hub.mode=subscribe with the configured verifyToken: the challenge echoed, else
 * 403) and takes message notifications only with a valid X-Hub-Signature-256 (HMAC-SHA256 of
 * the body with the app secret; else 401). A notification is answered 200 only after every
 * message in it is in the ledger, and 500 otherwise: Meta then delivers it again (it retries
 * for days), which is also how what arrived while the daemon was down comes in. Meta pushes
 * only new messages, so there is no history to baseline.
 *
 * Messages: text, or media (image, audio, video, document, sticker: the caption, and the file
 * as an attachment fetched by GET /<media-id> and its URL with the token; reactions, statuses
 * and system messages skipped) to our phoneNumberId; the chat and the sender are the sender's
 * wa_id, matched by the core against allowFrom (an empty list denies everyone, with denialMessage).
 * Replies: POST {phoneNumberId}/messages, as a reply (context) to the message, split at the API's
 * 4096 characters; generated images and videos by POST {phoneNumberId}/media, then a message of
 * type image or video with the media id. The Cloud API cannot edit a sent message. Health:
 * GET the number.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "../cloud/cw-cloud-download.h"
#include "../cloud/cw-cloud-http.h"
#include "../cloud/cw-cloud-parts.h"
#include "../cloud/cw-cloud-task.h"
#include "../cw-integrations-adapters.h"

#include <string.h>

#define WEBHOOK_PATH       "/integrations/whatsapp/webhook"
#define WHATSAPP_MAX_CHARS 4096

struct _CwWhatsappAdapter
{
  CwIntegrationAdapter parent_instance;
  SoupSession *session;
  GCancellable *cancellable;
  gchar *api;
  gchar *number_id;
  gchar *auth;
  gchar *app_secret;
  gchar *verify_token;
};

G_DECLARE_FINAL_TYPE (CwWhatsappAdapter, cw_whatsapp_adapter, CW, WHATSAPP_ADAPTER,
                      CwIntegrationAdapter)
G_DEFINE_FINAL_TYPE (CwWhatsappAdapter, cw_whatsapp_adapter, CW_TYPE_INTEGRATION_ADAPTER)

/* The connected adapter the webhook route hands notifications to (the route outlives
 * adapters: a route cannot be removed on its own). */
static CwWhatsappAdapter *webhook_target;

/* ---- the webhook ---------------------------------------------------------------------- */

static void
respond_text (CwHttpRequest *request, guint status, const gchar *text)
{
  g_autoptr (GBytes) body = g_bytes_new (text, strlen (text));

  cw_http_request_respond (request, status, "text/plain", body);
}

static gboolean
signature_ok (CwWhatsappAdapter *self, CwHttpRequest *request, GBytes *body)
{
  SoupMessageHeaders *headers = cw_http_request_get_headers (request);
  const gchar *given
      = headers != NULL ? soup_message_headers_get_one (headers, "X-Hub-Signature-256") : NULL;
  g_autofree gchar *mac = NULL;
  guchar diff = 0;
  gsize n;

  if (given == NULL || !g_str_has_prefix (given, "sha256=") || self->app_secret == NULL)
    return FALSE;
  given += strlen ("sha256=");
  mac = g_compute_hmac_for_data (G_CHECKSUM_SHA256, (const guchar *) self->app_secret,
                                 strlen (self->app_secret), g_bytes_get_data (body, NULL),
                                 g_bytes_get_size (body));
  n = strlen (mac);
  if (strlen (given) != n)
    return FALSE;
  for (gsize i = 0; i < n; i++)
    diff |= (guchar) (g_ascii_tolower (given[i]) ^ mac[i]);
  return diff == 0;
}

static void
verify_subscription (CwWhatsappAdapter *self, CwHttpRequest *request)
{
  const gchar *query = cw_http_request_get_query (request);
  g_autoptr (GHashTable) form = query != NULL ? soup_form_decode (query) : NULL;
  const gchar *mode = form != NULL ? g_hash_table_lookup (form, "hub.mode") : NULL;
  const gchar *token = form != NULL ? g_hash_table_lookup (form, "hub.verify_token") : NULL;
  const gchar *challenge = form != NULL ? g_hash_table_lookup (form, "hub.challenge") : NULL;

  if (g_strcmp0 (mode, "subscribe") == 0 && challenge != NULL && self->verify_token != NULL
      && g_strcmp0 (token, self->verify_token) == 0)
    respond_text (request, 200, challenge);
  else
    respond_text (request, 403, "verification failed");
}

static const gchar *
text_of (JsonObject *message)
{
  const gchar *type = json_object_get_string_member_with_default (message, "type", "");
  static const gchar *const media[] = { "image", "audio", "video", "document", "sticker" };

  if (g_str_equal (type, "text") && json_object_has_member (message, "text"))
    return json_object_get_string_member_with_default (
        json_object_get_object_member (message, "text"), "body", NULL);
  for (guint i = 0; i < G_N_ELEMENTS (media); i++)
    if (g_str_equal (type, media[i]))
      {
        JsonObject *item = json_object_has_member (message, type)
                               ? json_object_get_object_member (message, type)
                               : NULL;
        const gchar *caption
            = item != NULL ? json_object_get_string_member_with_default (item, "caption", NULL)
                           : NULL;
        if (caption != NULL)
          return caption;
        /* with a media id the agent gets the file itself */
        return item != NULL && json_object_has_member (item, "id") ? "" : "Attachment received.";
      }
  return NULL;
}

/* The media of @message (image, audio/voice, video, document, sticker), described for the
 * ledger: the reference is the media id, which GET /<media-id> turns into a download URL. */
static guint
describe_media (JsonObject *message, CwIntegrationAttachment *out)
{
  const gchar *type = json_object_get_string_member_with_default (message, "type", "");
  JsonObject *item = json_object_has_member (message, type)
                             && JSON_NODE_HOLDS_OBJECT (json_object_get_member (message, type))
                         ? json_object_get_object_member (message, type)
                         : NULL;
  const gchar *mime;

  if (item == NULL || g_str_equal (type, "text") || !json_object_has_member (item, "id"))
    return 0;
  mime = json_object_get_string_member_with_default (item, "mime_type", NULL);
  *out = (CwIntegrationAttachment){
    .type = cw_integration_attachment_type (mime),
    .name
    = json_object_get_string_member_with_default (item, "filename",
                                                  g_str_equal (type, "image")     ? "image.jpg"
                                                  : g_str_equal (type, "audio")   ? "audio.ogg"
                                                  : g_str_equal (type, "video")   ? "video.mp4"
                                                  : g_str_equal (type, "sticker") ? "sticker.webp"
                                                                                  : "document"),
    .mime_type = mime,
    .size = -1,
    .ref = json_object_get_string_member (item, "id"),
  };
  return 1;
}

/* FALSE when a message could not be stored. */
static gboolean
receive_change (CwWhatsappAdapter *self, JsonObject *value)
{
  JsonObject *metadata = json_object_has_member (value, "metadata")
                             ? json_object_get_object_member (value, "metadata")
                             : NULL;
  JsonArray *messages = json_object_has_member (value, "messages")
                            ? json_object_get_array_member (value, "messages")
                            : NULL;
  JsonArray *contacts = json_object_has_member (value, "contacts")
                            ? json_object_get_array_member (value, "contacts")
                            : NULL;

  if (metadata == NULL || messages == NULL
      || g_strcmp0 (json_object_get_string_member_with_default (metadata, "phone_number_id", NULL),
                    self->number_id)
             != 0)
    return TRUE;
  for (guint i = 0; i < json_array_get_length (messages); i++)
    {
      JsonObject *message = json_array_get_object_element (messages, i);
      const gchar *from = json_object_get_string_member_with_default (message, "from", NULL);
      const gchar *id = json_object_get_string_member_with_default (message, "id", NULL);
      const gchar *text = text_of (message);
      const gchar *name = NULL;
      CwIntegrationAttachment file;
      guint n_files = describe_media (message, &file);
      g_autofree gchar *sender = NULL;
      g_autoptr (JsonObject) reply_data = NULL;
      g_autoptr (GError) error = NULL;
      gboolean duplicate;

      if (from == NULL || id == NULL || text == NULL)
        continue;
      for (guint c = 0; contacts != NULL && c < json_array_get_length (contacts); c++)
        {
          JsonObject *contact = json_array_get_object_element (contacts, c);
          if (g_strcmp0 (json_object_get_string_member_with_default (contact, "wa_id", NULL), from)
                  == 0
              && json_object_has_member (contact, "profile"))
            name = json_object_get_string_member_with_default (
                json_object_get_object_member (contact, "profile"), "name", NULL);
        }
      sender = g_strconcat ("+", from, NULL);
      reply_data = json_object_new ();
      json_object_set_string_member (reply_data, "message_id", id);
      {
        CwIntegrationInbound inbound = {
          .message_id = id,
          .chat_id = from,
          .chat_title = name != NULL ? name : sender,
          .sender_id = sender,
          .sender_name = name != NULL ? name : sender,
          .text = text,
          .timestamp_ms
          = g_ascii_strtoll (json_object_get_string_member_with_default (message, "timestamp", "0"),
                             NULL, 10)
            * 1000,
          .reply_data = reply_data,
          .attachments = n_files > 0 ? &file : NULL,
          .n_attachments = n_files,
        };
        if (!cw_integration_adapter_receive (CW_INTEGRATION_ADAPTER (self), &inbound, &duplicate,
                                             &error))
          {
            g_warning ("whatsapp: message %s not stored, Meta will deliver it again: %s", id,
                       error->message);
            return FALSE;
          }
      }
    }
  return TRUE;
}

static void
on_webhook (CwHttpRequest *request, gpointer user_data)
{
  CwWhatsappAdapter *self = webhook_target;
  GBytes *body;
  g_autoptr (JsonNode) node = NULL;
  JsonArray *entries;

  if (self == NULL)
    {
      respond_text (request, 503, "WhatsApp is not connected");
      return;
    }
  if (g_strcmp0 (cw_http_request_get_method (request), "GET") == 0)
    {
      verify_subscription (self, request);
      return;
    }
  body = cw_http_request_get_body (request);
  if (body == NULL || !signature_ok (self, request, body))
    {
      respond_text (request, 401, "bad signature");
      return;
    }
  node = cw_json_from_string (g_bytes_get_data (body, NULL), g_bytes_get_size (body), NULL);
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    {
      respond_text (request, 400, "not JSON");
      return;
    }
  cw_integration_adapter_report_round_trip (CW_INTEGRATION_ADAPTER (self));
  entries = json_object_has_member (json_node_get_object (node), "entry")
                ? json_object_get_array_member (json_node_get_object (node), "entry")
                : NULL;
  for (guint i = 0; entries != NULL && i < json_array_get_length (entries); i++)
    {
      JsonObject *entry = json_array_get_object_element (entries, i);
      JsonArray *changes = json_object_has_member (entry, "changes")
                               ? json_object_get_array_member (entry, "changes")
                               : NULL;
      for (guint c = 0; changes != NULL && c < json_array_get_length (changes); c++)
        {
          JsonObject *change = json_array_get_object_element (changes, c);
          if (g_strcmp0 (json_object_get_string_member_with_default (change, "field", NULL),
                         "messages")
                  == 0
              && json_object_has_member (change, "value")
              && !receive_change (self, json_object_get_object_member (change, "value")))
            {
              respond_text (request, 500, "not stored, deliver again");
              return;
            }
        }
    }
  respond_text (request, 200, "OK");
}

/* ---- connect ------------------------------------------------------------------------- */

static void
on_number (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  CwWhatsappAdapter *self = g_task_get_source_object (task);
  g_autoptr (GError) error = NULL;
  g_autoptr (CwCloudReply) reply = cw_cloud_request_finish (result, &error);
  JsonObject *body;
  CwPlugin *plugin;

  if (reply == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  body = cw_cloud_reply_object (reply);
  if (reply->status != 200 || body == NULL)
    {
      JsonObject *err = body != NULL && json_object_has_member (body, "error")
                            ? json_object_get_object_member (body, "error")
                            : NULL;
      error = cw_cloud_reply_error (
          reply, "GET the WhatsApp phone number",
          err != NULL ? json_object_get_string_member_with_default (err, "message", NULL) : NULL);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  cw_integration_adapter_report_round_trip (CW_INTEGRATION_ADAPTER (self));
  cw_integration_adapter_set_identity (
      CW_INTEGRATION_ADAPTER (self),
      json_object_get_string_member_with_default (body, "verified_name", NULL),
      json_object_get_string_member_with_default (body, "display_phone_number", NULL));
  plugin = cw_integration_adapter_get_plugin (CW_INTEGRATION_ADAPTER (self));
  if (!cw_plugin_add_http_route (plugin, WEBHOOK_PATH, on_webhook, NULL, NULL, &error)
      && !g_error_matches (error, CW_ERROR, CW_ERROR_EXISTS))
    {
      g_prefix_error (&error, "cannot serve the WhatsApp webhook: ");
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  webhook_target = self;
  g_task_return_boolean (task, TRUE);
}

static void
whatsapp_disconnect (CwIntegrationAdapter *adapter)
{
  CwWhatsappAdapter *self = CW_WHATSAPP_ADAPTER (adapter);

  if (webhook_target == self)
    webhook_target = NULL;
  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  if (self->session != NULL)
    soup_session_abort (self->session);
  g_clear_object (&self->session);
  g_clear_pointer (&self->auth, g_free);
  g_clear_pointer (&self->app_secret, g_free);
  g_clear_pointer (&self->verify_token, g_free);
}

static void
whatsapp_connect_async (CwIntegrationAdapter *adapter, JsonObject *config,
                        GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  CwWhatsappAdapter *self = CW_WHATSAPP_ADAPTER (adapter);
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  const gchar *api = cw_integration_config_get_string (config, "apiBaseUrl");
  const gchar *number = cw_integration_config_get_string (config, "phoneNumberId");
  const gchar *token = cw_integration_config_get_string (config, "accessToken");
  const gchar *secret = cw_integration_config_get_string (config, "appSecret");
  const gchar *verify = cw_integration_config_get_string (config, "verifyToken");
  g_autofree gchar *url = NULL;

  whatsapp_disconnect (adapter);
  if (number == NULL || token == NULL || secret == NULL || verify == NULL)
    {
      g_task_return_new_error (
          task, CW_ERROR, CW_ERROR_INVALID_PARAMS,
          "WhatsApp is connected through the WhatsApp Cloud API: it needs phoneNumberId, "
          "accessToken, appSecret and verifyToken from a Meta app (there is no QR pairing)");
      g_object_unref (task);
      return;
    }
  g_free (self->api);
  self->api = g_strdup (api != NULL ? api : "https://graph.facebook.com/v19.0");
  g_free (self->number_id);
  self->number_id = g_strdup (number);
  self->auth = g_strconcat ("Bearer ", token, NULL);
  self->app_secret = g_strdup (secret);
  self->verify_token = g_strdup (verify);
  self->session = cw_cloud_session_new (30);
  self->cancellable = g_cancellable_new ();
  url = g_strdup_printf ("%s/%s", self->api, self->number_id);
  cw_cloud_request_async (self->session, "GET", url, self->auth, NULL, NULL, cancellable, on_number,
                          task);
}

/* ---- outbound, health, recovery ------------------------------------------------------- */

typedef struct
{
  CwCloudParts sent;
  gchar *to;
  gchar *reply_to;
} SendJob;

static void
send_job_free (SendJob *job)
{
  g_free (job->to);
  g_free (job->reply_to);
  cw_cloud_parts_clear (&job->sent);
  g_free (job);
}

static void send_part (GTask *task);

/* The error of a Graph answer that is not a 200 with @member (NULL: any), or NULL. */
static GError *
graph_error (CwCloudReply *reply, const gchar *what, const gchar *member)
{
  JsonObject *body = cw_cloud_reply_object (reply);
  JsonObject *err;

  if (reply->status == 200 && body != NULL
      && (member == NULL || json_object_has_member (body, member)))
    return NULL;
  err = body != NULL && json_object_has_member (body, "error")
            ? json_object_get_object_member (body, "error")
            : NULL;
  return cw_cloud_reply_error (
      reply, what,
      err != NULL ? json_object_get_string_member_with_default (err, "message", NULL) : NULL);
}

/* The id of the message a POST messages answer names (NULL when there is none). */
static gchar *
sent_message_id (CwCloudReply *reply)
{
  JsonArray *messages = json_object_get_array_member (cw_cloud_reply_object (reply), "messages");

  return json_array_get_length (messages) > 0
             ? cw_cloud_member_text (json_array_get_object_element (messages, 0), "id")
             : NULL;
}

static void
on_sent (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  SendJob *job = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  g_autoptr (CwCloudReply) reply = cw_cloud_request_finish (result, &error);

  if (reply != NULL)
    error = graph_error (reply, "POST messages", "messages");
  if (error != NULL)
    {
      cw_cloud_parts_fail (task, &job->sent, g_steal_pointer (&error));
      return;
    }
  if (cw_cloud_parts_sent (task, &job->sent, sent_message_id (reply)))
    send_part (g_steal_pointer (&task));
}

/* A message of @type with its @item (taken) to @to for POST messages, a reply to message
 * @reply_to (may be NULL). */
static JsonObject *
message_new (const gchar *to, const gchar *type, JsonObject *item, const gchar *reply_to)
{
  JsonObject *body = json_object_new ();

  json_object_set_string_member (body, "messaging_product", "whatsapp");
  json_object_set_string_member (body, "recipient_type", "individual");
  json_object_set_string_member (body, "to", to);
  json_object_set_string_member (body, "type", type);
  json_object_set_object_member (body, type, item);
  if (reply_to != NULL)
    {
      JsonObject *context = json_object_new ();
      json_object_set_string_member (context, "message_id", reply_to);
      json_object_set_object_member (body, "context", context);
    }
  return body;
}

static void
send_part (GTask *task)
{
  CwWhatsappAdapter *self = g_task_get_source_object (task);
  SendJob *job = g_task_get_task_data (task);
  g_autofree gchar *url = NULL;
  JsonObject *body, *text;

  if (cw_cloud_not_connected (task, self->session, "WhatsApp"))
    return;
  text = json_object_new ();
  json_object_set_boolean_member (text, "preview_url", FALSE);
  json_object_set_string_member (text, "body", job->sent.parts[job->sent.next]);
  body = message_new (job->to, "text", text, job->sent.next == 0 ? job->reply_to : NULL);
  url = g_strdup_printf ("%s/%s/messages", self->api, self->number_id);
  cw_cloud_request_async (self->session, "POST", url, self->auth, body, NULL,
                          g_task_get_cancellable (task), on_sent, task);
  json_object_unref (body);
}

static void
whatsapp_send_async (CwIntegrationAdapter *adapter, const CwIntegrationOutbound *message,
                     GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task = g_task_new (adapter, cancellable, callback, user_data);
  SendJob *job = g_new0 (SendJob, 1);

  job->to = g_strdup (message->chat_id);
  job->sent.parts = cw_cloud_split_text (message->text, WHATSAPP_MAX_CHARS);
  job->reply_to = g_strdup (cw_cloud_reply_to (message->reply_data, "message_id"));
  g_task_set_task_data (task, job, (GDestroyNotify) send_job_free);
  send_part (task);
}

/* A generated image or video: POST {phoneNumberId}/media (multipart: messaging_product, type,
 * file) gives a media id, then POST {phoneNumberId}/messages of type image or video with it
 * and the caption, as a reply to the message. */
static void
on_media_message_sent (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (CwCloudReply) reply = cw_cloud_request_finish (result, &error);

  if (reply != NULL)
    error = graph_error (reply, "POST messages", "messages");
  if (error != NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  cw_cloud_return_id (task, sent_message_id (reply));
}

static void
on_media_uploaded (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GTask *task = user_data;
  CwWhatsappAdapter *self = g_task_get_source_object (task);
  JsonObject *body = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  g_autoptr (CwCloudReply) reply = cw_cloud_request_finish (result, &error);
  const gchar *type = json_object_get_string_member (body, "type");
  g_autofree gchar *url = NULL, *id = NULL;

  if (reply != NULL)
    error = graph_error (reply, "POST media", "id");
  if (error != NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      g_object_unref (task);
      return;
    }
  if (cw_cloud_not_connected (task, self->session, "WhatsApp"))
    return;
  id = cw_cloud_member_text (cw_cloud_reply_object (reply), "id");
  json_object_set_string_member (json_object_get_object_member (body, type), "id", id);
  url = g_strdup_printf ("%s/%s/messages", self->api, self->number_id);
  cw_cloud_request_async (self->session, "POST", url, self->auth, body, NULL,
                          g_task_get_cancellable (task), on_media_message_sent, task);
}

static void
whatsapp_send_media_async (CwIntegrationAdapter *adapter, const CwIntegrationMedia *media,
                           GCancellable *cancellable, GAsyncReadyCallback callback,
                           gpointer user_data)
{
  CwWhatsappAdapter *self = CW_WHATSAPP_ADAPTER (adapter);
  GTask *task = g_task_new (adapter, cancellable, callback, user_data);
  const gchar *type = g_strcmp0 (media->media_type, "video") == 0 ? "video" : "image";
  g_autofree gchar *url = NULL;
  JsonObject *body, *item;

  if (cw_cloud_not_connected (task, self->session, "WhatsApp"))
    return;
  /* the message that follows the upload */
  item = json_object_new ();
  json_object_set_string_member (item, "caption", media->caption);
  body = message_new (media->chat_id, type, item,
                      cw_cloud_reply_to (media->reply_data, "message_id"));
  g_task_set_task_data (task, body, (GDestroyNotify) json_object_unref);
  url = g_strdup_printf ("%s/%s/media", self->api, self->number_id);
  cw_cloud_post_media (self->session, url, self->auth, "file", media, cancellable,
                       on_media_uploaded, task, "messaging_product", "whatsapp", "type",
                       media->mime_type, NULL);
}

static void
on_health (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (CwCloudReply) reply = cw_cloud_request_finish (result, &error);

  if (reply != NULL && reply->status != 200)
    {
      cw_cloud_health_fail (task,
                            cw_cloud_reply_error (reply, "GET the WhatsApp phone number", NULL),
                            reply->status == 401);
      return;
    }
  if (error != NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  cw_cloud_return_round_trip (task);
}

static void
whatsapp_check_health_async (CwIntegrationAdapter *adapter, GCancellable *cancellable,
                             GAsyncReadyCallback callback, gpointer user_data)
{
  CwWhatsappAdapter *self = CW_WHATSAPP_ADAPTER (adapter);
  GTask *task = g_task_new (adapter, cancellable, callback, user_data);
  g_autofree gchar *url = NULL;

  if (cw_cloud_not_connected (task, self->session, "WhatsApp"))
    return;
  url = g_strdup_printf ("%s/%s", self->api, self->number_id);
  cw_cloud_request_async (self->session, "GET", url, self->auth, NULL, NULL, cancellable, on_health,
                          task);
}

static gboolean
whatsapp_recover (CwIntegrationAdapter *adapter, const gchar *mode, GError **error)
{
  g_set_error (error, CW_ERROR, CW_ERROR_NOT_SUPPORTED,
               "WhatsApp is connected through the WhatsApp Cloud API: there is no QR pairing "
               "and no browser session to recover. If messages stop, check the access token "
               "and the webhook of the Meta app, then connect again");
  return FALSE;
}

/* ---- attachments ------------------------------------------------------------------------ */

static void
on_media_url (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  CwWhatsappAdapter *self = g_task_get_source_object (task);
  g_autoptr (GError) error = NULL;
  g_autoptr (CwCloudReply) reply = cw_cloud_request_finish (result, &error);
  JsonObject *body = reply != NULL ? cw_cloud_reply_object (reply) : NULL;
  const gchar *url
      = body != NULL ? json_object_get_string_member_with_default (body, "url", NULL) : NULL;
  gint64 max = cw_cloud_fetch_max (task);

  if (reply == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (reply->status != 200 || url == NULL || self->session == NULL)
    {
      g_task_return_error (task, cw_cloud_reply_error (reply, "GET media", NULL));
      return;
    }
  if (cw_cloud_fetch_too_large (task,
                                json_object_get_int_member_with_default (body, "file_size", 0)))
    return;
  /* Meta's media URLs want the same token */
  cw_cloud_download_into (g_steal_pointer (&task), self->session, url, self->auth, max);
}

/* GET /<media-id> gives a short-lived URL, fetched with the access token. */
static void
whatsapp_fetch_attachment_async (CwIntegrationAdapter *adapter, const gchar *ref, gint64 max_bytes,
                                 GCancellable *cancellable, GAsyncReadyCallback callback,
                                 gpointer user_data)
{
  CwWhatsappAdapter *self = CW_WHATSAPP_ADAPTER (adapter);
  GTask *task = cw_cloud_fetch_task_new (adapter, max_bytes, cancellable, callback, user_data);
  g_autofree gchar *id = g_uri_escape_string (ref, NULL, FALSE);
  g_autofree gchar *url = NULL;

  if (cw_cloud_not_connected (task, self->session, "WhatsApp"))
    return;
  url = g_strdup_printf ("%s/%s", self->api, id);
  cw_cloud_request_async (self->session, "GET", url, self->auth, NULL, NULL, self->cancellable,
                          on_media_url, task);
}

static void
whatsapp_dispose (GObject *object)
{
  whatsapp_disconnect (CW_INTEGRATION_ADAPTER (object));
  G_OBJECT_CLASS (cw_whatsapp_adapter_parent_class)->dispose (object);
}

static void
whatsapp_finalize (GObject *object)
{
  CwWhatsappAdapter *self = CW_WHATSAPP_ADAPTER (object);

  g_free (self->api);
  g_free (self->number_id);
  G_OBJECT_CLASS (cw_whatsapp_adapter_parent_class)->finalize (object);
}

static void
cw_whatsapp_adapter_class_init (CwWhatsappAdapterClass *klass)
{
  CwIntegrationAdapterClass *adapter = CW_INTEGRATION_ADAPTER_CLASS (klass);

  G_OBJECT_CLASS (klass)->dispose = whatsapp_dispose;
  G_OBJECT_CLASS (klass)->finalize = whatsapp_finalize;
  adapter->caps = CW_INTEGRATION_CAP_NONE;
  adapter->connect_async = whatsapp_connect_async;
  adapter->connect_finish = cw_cloud_finish_boolean;
  adapter->disconnect = whatsapp_disconnect;
  adapter->send_async = whatsapp_send_async;
  adapter->send_finish = cw_cloud_finish_id;
  adapter->send_media_async = whatsapp_send_media_async;
  adapter->send_media_finish = cw_cloud_finish_id;
  adapter->fetch_attachment_async = whatsapp_fetch_attachment_async;
  adapter->fetch_attachment_finish = cw_cloud_finish_bytes;
  adapter->check_health_async = whatsapp_check_health_async;
  adapter->check_health_finish = cw_cloud_finish_health;
  adapter->recover = whatsapp_recover;
}

static void
cw_whatsapp_adapter_init (CwWhatsappAdapter *self)
{
}
