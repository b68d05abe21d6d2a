/* cw-fake-whatsapp.c: the WhatsApp Cloud API. REST under /v19.0 with a Bearer token:
 * GET {phone-number-id} (the number's verified_name and display_phone_number), POST
 * {phone-number-id}/messages ({messaging_product:"whatsapp", to, type:"text", text:{body}})
 * -> {messaging_product, contacts, messages:[{id}]} (also type image/video with {id, caption},
 * an id from POST {phone-number-id}/media, multipart: messaging_product, type, file -> {id});
 * errors {error:{message, type, code}}.
 * Inbound messages are webhooks: POSTed to the "webhook_url" option as Meta does (JSON
 * `whatsapp_business_account` change, X-Hub-Signature-256 = sha256 HMAC of the body with the
 * "app_secret" option), retried every 200 ms until answered 200, in order. control("verify")
 * runs the subscribe handshake (GET ?hub.mode=subscribe&hub.verify_token=<"verify_token"
 * option>&hub.challenge=...) and records the answer.
 * Records: "number", "send", "media" (the parts, the file with its bytes), "webhook" ({status,
 * body}), "verify" ({status, body, challenge}). SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-fake-cloud-private.h"

#include <string.h>

typedef struct
{
  CwFakeCloud *self;
  SoupSession *session;
  GQueue deliveries; /* gchar* bodies waiting for a 200 */
  gboolean delivering;
  GHashTable *bodies; /* wamid -> body (for redelivery) */
  GCancellable *cancellable;
  GHashTable *media; /* the ids POST media gave out */
} WhatsApp;

static void
wa_free (gpointer data)
{
  WhatsApp *wa = data;

  g_cancellable_cancel (wa->cancellable);
  g_object_unref (wa->cancellable);
  g_queue_clear_full (&wa->deliveries, g_free);
  g_hash_table_unref (wa->bodies);
  g_hash_table_unref (wa->media);
  g_object_unref (wa->session);
  g_free (wa);
}

static void
reply_error (SoupServerMessage *msg, guint status, gint code, const gchar *message)
{
  g_autofree gchar *body
      = g_strdup_printf ("{\"error\":{\"message\":\"%s\",\"type\":\"OAuthException\",\"code\":%d,"
                         "\"fbtrace_id\":\"AbCdEf\"}}",
                         message, code);

  cw_fake_reply_text (msg, status, body);
}

static void
handle (SoupServer *server, SoupServerMessage *msg, const gchar *path, GHashTable *query,
        gpointer data)
{
  CwFakeCloud *self = data;
  WhatsApp *wa = self->state;
  g_auto (GStrv) parts = NULL;
  guint n;
  const gchar *kind = "unknown";
  g_autofree gchar *token = NULL;
  guint status;
  g_autofree gchar *body = NULL;

  if (cw_fake_cut_if_down (self, msg))
    return;
  parts = g_strsplit (path + strlen ("/v19.0/"), "/", -1);
  n = g_strv_length (parts);
  if (n == 1 && g_str_equal (soup_server_message_get_method (msg), "GET")
      && cw_fake_file_size (self, parts[0]) >= 0)
    kind = "media_url";
  else if (n == 1 && g_str_equal (soup_server_message_get_method (msg), "GET"))
    kind = "number";
  else if (n == 2 && g_str_equal (parts[1], "messages"))
    kind = "send";
  else if (n == 2 && g_str_equal (parts[1], "media"))
    kind = "media";
  cw_fake_record (
      self, kind,
      cw_fake_request_record (msg, g_str_equal (kind, "media")
                                       ? cw_fake_take_object (cw_fake_request_params (msg))
                                       : cw_fake_request_json (msg)));
  token = cw_fake_request_bearer (msg);
  if (!cw_fake_token_ok (self, token))
    return reply_error (msg, 401, 190, "Invalid OAuth access token - Cannot parse access token");
  if (cw_fake_take_failure (self, kind, &status, &body))
    {
      if (body != NULL)
        cw_fake_reply_text (msg, status, body);
      else if (status == 429)
        reply_error (msg, 429, 130429, "Rate limit hit");
      else
        reply_error (msg, status, 131000, "Something went wrong");
      return;
    }
  if (g_str_equal (kind, "media_url"))
    {
      g_autofree gchar *reply = g_strdup_printf (
          "{\"url\":\"%s/whatsapp-media/%s\",\"mime_type\":\"application/octet-stream\","
          "\"sha256\":\"fake-sha256\",\"file_size\":%" G_GINT64_FORMAT ",\"id\":\"%s\","
          "\"messaging_product\":\"whatsapp\"}",
          self->root, parts[0], cw_fake_file_size (self, parts[0]), parts[0]);
      cw_fake_reply_text (msg, 200, reply);
    }
  else if (g_str_equal (kind, "number"))
    {
      g_autofree gchar *reply = g_strdup_printf (
          "{\"verified_name\":\"Cowork Test\",\"display_phone_number\":\"+1 555-000-0000\","
          "\"id\":\"%s\",\"quality_rating\":\"GREEN\"}",
          parts[0]);
      cw_fake_reply_text (msg, 200, reply);
    }
  else if (g_str_equal (kind, "send"))
    {
      g_autoptr (JsonObject) params = cw_fake_request_params (msg);
      const gchar *to = json_object_get_string_member_with_default (params, "to", NULL);
      const gchar *type = json_object_get_string_member_with_default (params, "type", "text");
      JsonObject *text = json_object_get_member (params, "text") != NULL
                             ? json_object_get_object_member (params, "text")
                             : NULL;
      const gchar *content
          = text != NULL ? json_object_get_string_member_with_default (text, "body", "") : "";
      g_autofree gchar *id = NULL;
      g_autofree gchar *reply = NULL;
      g_autofree gchar *media_text = NULL;

      /* image / video: {id (from POST media), caption}; the chat gets "[image] <caption>" */
      if (g_str_equal (type, "image") || g_str_equal (type, "video"))
        {
          JsonNode *item = json_object_get_member (params, type);
          const gchar *media_id = item != NULL && JSON_NODE_HOLDS_OBJECT (item)
                                      ? json_object_get_string_member_with_default (
                                          json_node_get_object (item), "id", NULL)
                                      : NULL;
          if (media_id == NULL || !g_hash_table_contains (wa->media, media_id))
            return reply_error (msg, 400, 131053, "Media upload error");
          media_text = g_strdup_printf ("[%s] %s", type,
                                        json_object_get_string_member_with_default (
                                            json_node_get_object (item), "caption", ""));
          content = media_text;
        }
      if (to == NULL || *content == '\0'
          || g_strcmp0 (
                 json_object_get_string_member_with_default (params, "messaging_product", NULL),
                 "whatsapp")
                 != 0)
        return reply_error (msg, 400, 100, "Invalid parameter");
      if (g_utf8_strlen (content, -1) > 4096)
        return reply_error (msg, 400, 100, "Param text['body'] must be at most 4096 characters");
      id = g_strdup_printf ("wamid.OUT%" G_GINT64_FORMAT, cw_fake_next (self));
      cw_fake_chat_add (self, to, id, content);
      reply = g_strdup_printf ("{\"messaging_product\":\"whatsapp\",\"contacts\":[{\"input\":"
                               "\"%s\",\"wa_id\":\"%s\"}],\"messages\":[{\"id\":\"%s\"}]}",
                               to, to, id);
      cw_fake_reply_text (msg, 200, reply);
    }
  else if (g_str_equal (kind, "media"))
    {
      g_autoptr (JsonObject) params = cw_fake_request_params (msg);
      JsonNode *file = json_object_get_member (params, "file");
      g_autofree gchar *id = NULL, *reply = NULL;

      if (file == NULL || !JSON_NODE_HOLDS_OBJECT (file)
          || g_strcmp0 (
                 json_object_get_string_member_with_default (params, "messaging_product", NULL),
                 "whatsapp")
                 != 0)
        return reply_error (msg, 400, 100, "Invalid parameter");
      id = g_strdup_printf ("%" G_GINT64_FORMAT, 900000 + cw_fake_next (self));
      g_hash_table_add (wa->media, g_strdup (id));
      reply = g_strdup_printf ("{\"id\":\"%s\"}", id);
      cw_fake_reply_text (msg, 200, reply);
    }
  else
    reply_error (msg, 400, 100, "Unsupported get request");
}

static void deliver_next (WhatsApp *wa);

static gboolean
deliver_again (gpointer data)
{
  deliver_next (data);
  return G_SOURCE_REMOVE;
}

static void
delivery_done (GObject *source, GAsyncResult *result, gpointer data)
{
  SoupMessage *msg = data;
  WhatsApp *wa = g_object_get_data (G_OBJECT (msg), "wa");
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) reply
      = soup_session_send_and_read_finish (SOUP_SESSION (source), result, &error);
  JsonObject *record;
  guint status = error == NULL ? soup_message_get_status (msg) : 0;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_object_unref (msg);
      return;
    }
  record = json_object_new ();
  json_object_set_int_member (record, "status", status);
  json_object_set_string_member (record, "body", g_queue_peek_head (&wa->deliveries));
  if (error != NULL)
    json_object_set_string_member (record, "error", error->message);
  cw_fake_record (wa->self, "webhook", record);
  wa->delivering = FALSE;
  if (status == 200)
    g_free (g_queue_pop_head (&wa->deliveries));
  g_object_unref (msg);
  if (!g_queue_is_empty (&wa->deliveries))
    {
      GSource *timer = g_timeout_source_new (status == 200 ? 0 : 200);
      g_source_set_callback (timer, deliver_again, wa, NULL);
      g_source_attach (timer, g_main_context_get_thread_default ());
      g_source_unref (timer);
    }
}

static void
deliver_next (WhatsApp *wa)
{
  g_autofree gchar *url = cw_fake_option (wa->self, "webhook_url", NULL);
  g_autofree gchar *secret = cw_fake_option (wa->self, "app_secret", "");
  const gchar *body = g_queue_peek_head (&wa->deliveries);
  g_autofree gchar *mac = NULL;
  g_autofree gchar *signature = NULL;
  SoupMessage *msg;
  g_autoptr (GBytes) bytes = NULL;

  if (wa->delivering || body == NULL || url == NULL)
    return;
  wa->delivering = TRUE;
  mac = g_compute_hmac_for_string (G_CHECKSUM_SHA256, (const guchar *) secret, strlen (secret),
                                   body, -1);
  signature = g_strconcat ("sha256=", mac, NULL);
  msg = soup_message_new ("POST", url);
  soup_message_headers_replace (soup_message_get_request_headers (msg), "X-Hub-Signature-256",
                                signature);
  bytes = g_bytes_new (body, strlen (body));
  soup_message_set_request_body_from_bytes (msg, "application/json", bytes);
  g_object_set_data (G_OBJECT (msg), "wa", wa);
  soup_session_send_and_read_async (wa->session, msg, G_PRIORITY_DEFAULT, wa->cancellable,
                                    delivery_done, msg);
}

/* GET /whatsapp-media/<id>: the bytes, for the access token only (Meta's lookaside URLs). */
static void
handle_media_download (SoupServer *server, SoupServerMessage *msg, const gchar *path,
                       GHashTable *query, gpointer data)
{
  CwFakeCloud *self = data;
  g_autofree gchar *token = cw_fake_request_bearer (msg);

  if (cw_fake_cut_if_down (self, msg))
    return;
  if (!cw_fake_token_ok (self, token))
    return reply_error (msg, 401, 190, "Invalid OAuth access token - Cannot parse access token");
  cw_fake_file_serve (self, msg, path + strlen ("/whatsapp-media/"));
}

static void
wa_setup (CwFakeCloud *self)
{
  WhatsApp *wa = g_new0 (WhatsApp, 1);

  wa->self = self;
  wa->session = soup_session_new_with_options ("timeout", 10, NULL);
  wa->bodies = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  wa->media = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  wa->cancellable = g_cancellable_new ();
  g_queue_init (&wa->deliveries);
  self->state = wa;
  soup_server_add_handler (self->server, "/v19.0", handle, self, NULL);
  soup_server_add_handler (self->server, "/whatsapp-media", handle_media_download, self, NULL);
}

/* A user's message: @text, or with @media_type ("image", "document", ...) a media message
 * of the file @media_id with @text as its caption (NULL: none). */
static gchar *
user_message (CwFakeCloud *self, const gchar *chat_id, const gchar *sender_name, const gchar *text,
              const gchar *media_type, const gchar *media_id, const gchar *mime_type,
              const gchar *file_name)
{
  WhatsApp *wa = self->state;
  g_autofree gchar *id = g_strdup_printf ("wamid.IN%" G_GINT64_FORMAT, cw_fake_next (self));
  JsonBuilder *b = json_builder_new ();
  g_autoptr (JsonNode) node = NULL;
  gchar *body;
  g_autofree gchar *timestamp
      = g_strdup_printf ("%" G_GINT64_FORMAT, g_get_real_time () / G_USEC_PER_SEC);

  /* the sender is the chat in WhatsApp DMs: chat_id is their wa_id */
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "object");
  json_builder_add_string_value (b, "whatsapp_business_account");
  json_builder_set_member_name (b, "entry");
  json_builder_begin_array (b);
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "id");
  json_builder_add_string_value (b, "102290129340398");
  json_builder_set_member_name (b, "changes");
  json_builder_begin_array (b);
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "field");
  json_builder_add_string_value (b, "messages");
  json_builder_set_member_name (b, "value");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "messaging_product");
  json_builder_add_string_value (b, "whatsapp");
  json_builder_set_member_name (b, "metadata");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "display_phone_number");
  json_builder_add_string_value (b, "15550000000");
  json_builder_set_member_name (b, "phone_number_id");
  json_builder_add_string_value (b, "106540352242922");
  json_builder_end_object (b);
  json_builder_set_member_name (b, "contacts");
  json_builder_begin_array (b);
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "profile");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "name");
  json_builder_add_string_value (b, sender_name);
  json_builder_end_object (b);
  json_builder_set_member_name (b, "wa_id");
  json_builder_add_string_value (b, chat_id);
  json_builder_end_object (b);
  json_builder_end_array (b);
  json_builder_set_member_name (b, "messages");
  json_builder_begin_array (b);
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "from");
  json_builder_add_string_value (b, chat_id);
  json_builder_set_member_name (b, "id");
  json_builder_add_string_value (b, id);
  json_builder_set_member_name (b, "timestamp");
  json_builder_add_string_value (b, timestamp);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, media_type != NULL ? media_type : "text");
  json_builder_set_member_name (b, media_type != NULL ? media_type : "text");
  json_builder_begin_object (b);
  if (media_type == NULL)
    {
      json_builder_set_member_name (b, "body");
      json_builder_add_string_value (b, text);
    }
  else
    {
      json_builder_set_member_name (b, "id");
      json_builder_add_string_value (b, media_id);
      json_builder_set_member_name (b, "mime_type");
      json_builder_add_string_value (b, mime_type);
      json_builder_set_member_name (b, "sha256");
      json_builder_add_string_value (b, "fake-sha256");
      if (text != NULL)
        {
          json_builder_set_member_name (b, "caption");
          json_builder_add_string_value (b, text);
        }
      if (g_str_equal (media_type, "document"))
        {
          json_builder_set_member_name (b, "filename");
          json_builder_add_string_value (b, file_name);
        }
    }
  json_builder_end_object (b);
  json_builder_end_object (b);
  json_builder_end_array (b);
  json_builder_end_object (b);
  json_builder_end_object (b);
  json_builder_end_array (b);
  json_builder_end_object (b);
  json_builder_end_array (b);
  json_builder_end_object (b);
  node = json_builder_get_root (b);
  g_object_unref (b);
  body = json_to_string (node, FALSE);
  g_hash_table_insert (wa->bodies, g_strdup (id), g_strdup (body));
  g_queue_push_tail (&wa->deliveries, body);
  deliver_next (wa);
  return g_steal_pointer (&id);
}

static gchar *
wa_inject (CwFakeCloud *self, const gchar *chat_id, const gchar *sender_id,
           const gchar *sender_name, const gchar *text)
{
  return user_message (self, chat_id, sender_name, text, NULL, NULL, NULL, NULL);
}

/* @kind: the message type ("image", "audio", "video", "document"); the file is behind
 * GET /<media id> (its url) and that url, both with the access token. */
static gchar *
wa_inject_file (CwFakeCloud *self, const gchar *chat_id, const gchar *sender_id,
                const gchar *sender_name, const gchar *caption, const gchar *kind,
                const gchar *file_name, const gchar *mime_type, GBytes *content)
{
  g_autofree gchar *media = cw_fake_file_add (self, file_name, mime_type, content);

  return user_message (self, chat_id, sender_name, caption, kind, media, mime_type, file_name);
}

static void
wa_redeliver (CwFakeCloud *self, const gchar *message_id)
{
  WhatsApp *wa = self->state;
  const gchar *body = g_hash_table_lookup (wa->bodies, message_id);

  g_assert (body != NULL);
  g_queue_push_tail (&wa->deliveries, g_strdup (body));
  deliver_next (wa);
}

static void
verify_done (GObject *source, GAsyncResult *result, gpointer data)
{
  SoupMessage *msg = data;
  CwFakeCloud *self = g_object_get_data (G_OBJECT (msg), "self");
  g_autoptr (GBytes) reply
      = soup_session_send_and_read_finish (SOUP_SESSION (source), result, NULL);
  JsonObject *record = json_object_new ();

  json_object_set_int_member (record, "status", soup_message_get_status (msg));
  json_object_set_string_member (record, "challenge",
                                 g_object_get_data (G_OBJECT (msg), "challenge"));
  if (reply != NULL)
    {
      g_autofree gchar *text = g_strndup (g_bytes_get_data (reply, NULL), g_bytes_get_size (reply));
      json_object_set_string_member (record, "body", text);
    }
  cw_fake_record (self, "verify", record);
  g_object_unref (msg);
}

static void
wa_control (CwFakeCloud *self, const gchar *what)
{
  WhatsApp *wa = self->state;
  g_autofree gchar *url = cw_fake_option (self, "webhook_url", NULL);
  g_autofree gchar *token = cw_fake_option (self, "verify_token", "");
  g_autofree gchar *challenge = g_strdup_printf ("%" G_GINT64_FORMAT, cw_fake_next (self));
  g_autofree gchar *query = NULL;
  g_autofree gchar *full = NULL;
  SoupMessage *msg;

  if (g_str_equal (what, "deliver"))
    {
      deliver_next (wa);
      return;
    }
  g_assert_cmpstr (what, ==, "verify");
  g_assert (url != NULL);
  query = soup_form_encode ("hub.mode", "subscribe", "hub.verify_token", token, "hub.challenge",
                            challenge, NULL);
  full = g_strconcat (url, "?", query, NULL);
  msg = soup_message_new ("GET", full);
  g_object_set_data (G_OBJECT (msg), "self", self);
  g_object_set_data_full (G_OBJECT (msg), "challenge", g_strdup (challenge), g_free);
  soup_session_send_and_read_async (wa->session, msg, G_PRIORITY_DEFAULT, wa->cancellable,
                                    verify_done, msg);
}

const CwFakePlatform cw_fake_whatsapp = {
  .setup = wa_setup,
  .inject = wa_inject,
  .inject_file = wa_inject_file,
  .redeliver = wa_redeliver,
  .control = wa_control,
  .free = wa_free,
};
