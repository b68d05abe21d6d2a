/* test-cloud-adapters.c: cloud adapters in process, against the fake platforms, with a stub
 * core (state in memory, inbound messages recorded): what the daemon-level tests cannot
 * reach yet, such as an edit that outgrows the platform's limit.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "adapters/cw-integrations-adapters.h"
#include "cw-fake-cloud.h"

#include <string.h>

typedef struct
{
  GHashTable *state;
  guint received;
} StubCore;

static gboolean
stub_receive (gpointer core, CwIntegrationAdapter *adapter, const CwIntegrationInbound *message,
              gboolean *duplicate, GError **error)
{
  StubCore *c = core;

  c->received++;
  if (duplicate != NULL)
    *duplicate = FALSE;
  if (message->state_key != NULL)
    g_hash_table_replace (c->state, g_strdup (message->state_key), g_strdup (message->state_value));
  return TRUE;
}

static gchar *
stub_get_state (gpointer core, CwIntegrationAdapter *adapter, const gchar *key)
{
  return g_strdup (g_hash_table_lookup (((StubCore *) core)->state, key));
}

static gboolean
stub_set_state (gpointer core, CwIntegrationAdapter *adapter, const gchar *key, const gchar *value,
                GError **error)
{
  g_hash_table_replace (((StubCore *) core)->state, g_strdup (key), g_strdup (value));
  return TRUE;
}

static void
stub_nothing (gpointer core, CwIntegrationAdapter *adapter)
{
}

static void
stub_lost (gpointer core, CwIntegrationAdapter *adapter, const GError *error,
           gboolean requires_reconnect)
{
}

static void
stub_qr (gpointer core, CwIntegrationAdapter *adapter, const gchar *data_url)
{
}

static const CwIntegrationCoreFuncs stub_funcs = {
  stub_receive, stub_get_state, stub_set_state, stub_nothing, stub_lost, stub_nothing, stub_qr,
};

static void
got_result (GObject *source, GAsyncResult *result, gpointer user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

static GAsyncResult *
wait_result (GAsyncResult **slot)
{
  gint64 deadline = g_get_monotonic_time () + 20 * G_TIME_SPAN_SECOND;

  while (*slot == NULL && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_assert_nonnull (*slot);
  return *slot;
}

static gchar *
words (guint n)
{
  GString *text = g_string_new (NULL);

  for (guint i = 0; i < n; i++)
    g_string_append_printf (text, "%sw%u", i > 0 ? " " : "", i);
  return g_string_free (text, FALSE);
}

/* A Discord message edited past 2000 characters continues in messages after it; a later,
 * longer edit edits those and adds what is still missing, and nothing is posted twice. */
static void
test_discord_long_edit (void)
{
  g_autoptr (CwFakeCloud) fake = cw_fake_cloud_new (CW_FAKE_DISCORD);
  g_autoptr (CwIntegrationAdapter) adapter = g_object_new (cw_discord_adapter_get_type (), NULL);
  StubCore core = { g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free), 0 };
  g_autoptr (JsonObject) config = json_object_new ();
  g_autoptr (GAsyncResult) connected = NULL, sent = NULL, edited = NULL, again = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree gchar *id = NULL, *first = NULL, *second = NULL;
  g_autoptr (JsonArray) messages = NULL;
  CwIntegrationOutbound placeholder = { "out-1", "700", "Thinking...", NULL };
  g_autoptr (GString) joined = g_string_new (NULL);

  cw_fake_cloud_set_option (fake, "heartbeat_interval", "1000");
  json_object_set_string_member (config, "botToken", "t");
  json_object_set_string_member (config, "apiBaseUrl", cw_fake_cloud_get_url (fake));
  cw_integration_adapter_attach (adapter, NULL, "discord", &stub_funcs, &core);
  cw_integration_adapter_connect_async (adapter, config, NULL, got_result, &connected);
  g_assert_true (cw_integration_adapter_connect_finish (adapter, wait_result (&connected), &error));
  g_assert_no_error (error);

  cw_integration_adapter_send_async (adapter, &placeholder, NULL, got_result, &sent);
  id = cw_integration_adapter_send_finish (adapter, wait_result (&sent), &error);
  g_assert_no_error (error);

  first = words (500); /* ~2,900 characters: two messages */
  cw_integration_adapter_edit_async (adapter, "700", id, first, NULL, got_result, &edited);
  g_assert_true (cw_integration_adapter_edit_finish (adapter, wait_result (&edited), &error));
  g_assert_no_error (error);
  messages = cw_fake_cloud_bot_messages (fake, "700");
  g_assert_cmpuint (json_array_get_length (messages), ==, 2);

  second = words (900); /* ~5,500 characters: three */
  cw_integration_adapter_edit_async (adapter, "700", id, second, NULL, got_result, &again);
  g_assert_true (cw_integration_adapter_edit_finish (adapter, wait_result (&again), &error));
  g_assert_no_error (error);
  g_clear_pointer (&messages, json_array_unref);
  messages = cw_fake_cloud_bot_messages (fake, "700");
  g_assert_cmpuint (json_array_get_length (messages), ==, 3);
  for (guint i = 0; i < 3; i++)
    {
      const gchar *part
          = json_object_get_string_member (json_array_get_object_element (messages, i), "text");
      g_assert_cmpint (g_utf8_strlen (part, -1), <=, 2000);
      g_string_append_printf (joined, "%s%s", i > 0 ? " " : "", part);
    }
  g_assert_cmpstr (joined->str, ==, second);
  g_assert_cmpuint (cw_fake_cloud_count (fake, "create_message"), ==, 3);

  cw_integration_adapter_disconnect (adapter);
  cw_integration_adapter_detach (adapter);
  g_hash_table_unref (core.state);
}

/* ---- media uploads ---------------------------------------------------------------------- */

#define PNG_BYTES "\x89PNG\r\n\x1a\nfake image bytes \x00\x01\x02"

typedef struct
{
  CwFakeCloud *fake;
  CwIntegrationAdapter *adapter;
  StubCore core;
  GBytes *bytes;
} MediaTest;

static MediaTest *
media_test_new (CwFakeKind kind, GType type, const gchar *platform, const gchar *config_json)
{
  MediaTest *t = g_new0 (MediaTest, 1);
  g_autoptr (JsonNode) node = json_from_string (config_json, NULL);
  JsonObject *config = json_node_get_object (node);
  g_autoptr (GAsyncResult) connected = NULL;
  g_autoptr (GError) error = NULL;

  t->fake = cw_fake_cloud_new (kind);
  t->adapter = g_object_new (type, NULL);
  t->core.state = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  t->bytes = g_bytes_new_static (PNG_BYTES, sizeof (PNG_BYTES) - 1);
  json_object_set_string_member (config, "apiBaseUrl", cw_fake_cloud_get_url (t->fake));
  json_object_set_string_member (config, "serverUrl", cw_fake_cloud_get_url (t->fake));
  cw_integration_adapter_attach (t->adapter, NULL, platform, &stub_funcs, &t->core);
  cw_integration_adapter_connect_async (t->adapter, config, NULL, got_result, &connected);
  g_assert_true (
      cw_integration_adapter_connect_finish (t->adapter, wait_result (&connected), &error));
  g_assert_no_error (error);
  return t;
}

static void
media_test_free (MediaTest *t)
{
  cw_integration_adapter_disconnect (t->adapter);
  cw_integration_adapter_detach (t->adapter);
  g_object_unref (t->adapter);
  cw_fake_cloud_free (t->fake);
  g_hash_table_unref (t->core.state);
  g_bytes_unref (t->bytes);
  g_free (t);
}

/* Sends an image (the PNG bytes) to @chat_id; returns the platform's message id. */
static gchar *
media_send (MediaTest *t, const gchar *chat_id, const gchar *media_type, JsonObject *reply_data)
{
  g_autoptr (GAsyncResult) sent = NULL;
  g_autoptr (GError) error = NULL;
  CwIntegrationMedia media
      = { "out-media-1", chat_id,
          media_type,    NULL,
          NULL,          g_str_equal (media_type, "video") ? "video/mp4" : "image/png",
          t->bytes,      g_str_equal (media_type, "video") ? "Generated video" : "Generated image",
          reply_data };
  gchar *id;

  cw_integration_adapter_send_media_async (t->adapter, &media, NULL, got_result, &sent);
  id = cw_integration_adapter_send_media_finish (t->adapter, wait_result (&sent), &error);
  g_assert_no_error (error);
  g_assert_nonnull (id);
  return id;
}

/* A file part as the fake recorded it: its bytes are the PNG's. */
static void
assert_file_part (JsonObject *file, const gchar *filename, const gchar *content_type)
{
  gsize length;
  g_autofree guchar *data = NULL;

  g_assert_nonnull (file);
  g_assert_cmpstr (json_object_get_string_member (file, "filename"), ==, filename);
  g_assert_cmpstr (json_object_get_string_member (file, "contentType"), ==, content_type);
  data = g_base64_decode (json_object_get_string_member (file, "data"), &length);
  g_assert_cmpmem (data, length, PNG_BYTES, sizeof (PNG_BYTES) - 1);
}

static JsonObject *
record_body (CwFakeCloud *fake, const gchar *kind)
{
  g_autoptr (JsonObject) record = cw_fake_cloud_wait (fake, kind, 0, 5000);

  g_assert_nonnull (record);
  return json_object_get_object_member (record, "body");
}

/* Telegram: sendPhoto / sendVideo as multipart/form-data with the caption, replying. */
static void
test_telegram_media (void)
{
  MediaTest *t = media_test_new (CW_FAKE_TELEGRAM, cw_telegram_adapter_get_type (), "telegram",
                                 "{\"botToken\":\"t\"}");
  g_autoptr (JsonObject) reply_data = json_object_new ();
  g_autofree gchar *photo = NULL, *video = NULL;
  JsonObject *body;

  json_object_set_int_member (reply_data, "message_id", 42);
  photo = media_send (t, "555", "image", reply_data);
  g_assert_cmpstr (photo, !=, "");
  body = record_body (t->fake, "sendPhoto");
  g_assert_cmpstr (json_object_get_string_member (body, "chat_id"), ==, "555");
  g_assert_cmpstr (json_object_get_string_member (body, "caption"), ==, "Generated image");
  g_assert_nonnull (strstr (json_object_get_string_member (body, "reply_parameters"), "42"));
  assert_file_part (json_object_get_object_member (body, "photo"), "image.png", "image/png");
  video = media_send (t, "555", "video", NULL);
  body = record_body (t->fake, "sendVideo");
  g_assert_cmpstr (json_object_get_string_member (body, "caption"), ==, "Generated video");
  assert_file_part (json_object_get_object_member (body, "video"), "video.mp4", "video/mp4");
  g_assert_cmpuint (cw_fake_cloud_count (t->fake, "sendMessage"), ==, 0);
  media_test_free (t);
}

/* Slack: getUploadURLExternal, the bytes to the upload URL, completeUploadExternal with the
 * channel and the caption. */
static void
test_slack_media (void)
{
  MediaTest *t = media_test_new (CW_FAKE_SLACK, cw_slack_adapter_get_type (), "slack",
                                 "{\"appToken\":\"xapp-1\",\"botToken\":\"xoxb-1\"}");
  g_autofree gchar *id = media_send (t, "D0CHAT", "image", NULL);
  JsonObject *body;
  g_autoptr (JsonObject) upload = NULL;
  g_autoptr (JsonArray) messages = NULL;
  gsize length;
  g_autofree guchar *data = NULL;

  body = record_body (t->fake, "files.getUploadURLExternal");
  g_assert_cmpstr (json_object_get_string_member (body, "filename"), ==, "image.png");
  g_assert_cmpint (g_ascii_strtoll (json_object_get_string_member (body, "length"), NULL, 10), ==,
                   sizeof (PNG_BYTES) - 1);
  upload = cw_fake_cloud_wait (t->fake, "upload", 0, 5000);
  g_assert_nonnull (upload);
  g_assert_false (json_object_has_member (upload, "auth")); /* no token to the upload URL */
  data = g_base64_decode (json_object_get_string_member (upload, "data"), &length);
  g_assert_cmpmem (data, length, PNG_BYTES, sizeof (PNG_BYTES) - 1);
  body = record_body (t->fake, "files.completeUploadExternal");
  g_assert_cmpstr (json_object_get_string_member (body, "channel_id"), ==, "D0CHAT");
  g_assert_cmpstr (json_object_get_string_member (body, "initial_comment"), ==, "Generated image");
  g_assert_cmpstr (id, ==, json_object_get_string_member (upload, "fileId"));
  messages = cw_fake_cloud_bot_messages (t->fake, "D0CHAT");
  g_assert_cmpuint (json_array_get_length (messages), ==, 1);
  g_assert_cmpstr (
      json_object_get_string_member (json_array_get_object_element (messages, 0), "text"), ==,
      "[file] image.png: Generated image");
  media_test_free (t);
}

/* Discord: one multipart message, payload_json with the caption and files[0]. */
static void
test_discord_media (void)
{
  MediaTest *t = media_test_new (CW_FAKE_DISCORD, cw_discord_adapter_get_type (), "discord",
                                 "{\"botToken\":\"t\"}");
  g_autoptr (JsonObject) reply_data = json_object_new ();
  g_autofree gchar *id = NULL;
  JsonObject *body;
  g_autoptr (JsonNode) payload = NULL;
  g_autoptr (JsonArray) messages = NULL;

  cw_fake_cloud_set_option (t->fake, "heartbeat_interval", "1000");
  json_object_set_string_member (reply_data, "message_id", "1234");
  id = media_send (t, "700", "image", reply_data);
  body = record_body (t->fake, "create_message");
  payload = json_from_string (json_object_get_string_member (body, "payload_json"), NULL);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (payload), "content"), ==,
                   "Generated image");
  g_assert_cmpstr (
      json_object_get_string_member (
          json_object_get_object_member (json_node_get_object (payload), "message_reference"),
          "message_id"),
      ==, "1234");
  assert_file_part (json_object_get_object_member (body, "files[0]"), "image.png", "image/png");
  messages = cw_fake_cloud_bot_messages (t->fake, "700");
  g_assert_cmpuint (json_array_get_length (messages), ==, 1);
  g_assert_cmpstr (
      json_object_get_string_member (json_array_get_object_element (messages, 0), "id"), ==, id);
  media_test_free (t);
}

/* An item with only a URL goes out as text (the contract's default), with no upload. */
static void
test_media_url_default (void)
{
  MediaTest *t = media_test_new (CW_FAKE_TELEGRAM, cw_telegram_adapter_get_type (), "telegram",
                                 "{\"botToken\":\"t\"}");
  g_autoptr (GAsyncResult) sent = NULL;
  g_autoptr (GError) error = NULL;
  CwIntegrationMedia media
      = { "out-2",     "555", "image",           NULL, "https://example.org/cat.png",
          "image/png", NULL,  "Generated image", NULL };
  g_autofree gchar *id = NULL;
  JsonObject *body;

  cw_integration_adapter_send_media_async (t->adapter, &media, NULL, got_result, &sent);
  id = cw_integration_adapter_send_media_finish (t->adapter, wait_result (&sent), &error);
  g_assert_no_error (error);
  body = record_body (t->fake, "sendMessage");
  g_assert_cmpstr (json_object_get_string_member (body, "text"), ==,
                   "Generated image: https://example.org/cat.png");
  g_assert_cmpuint (cw_fake_cloud_count (t->fake, "sendPhoto"), ==, 0);
  media_test_free (t);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/integrations/cloud/discord-long-edit", test_discord_long_edit);
  g_test_add_func ("/integrations/cloud/telegram-media", test_telegram_media);
  g_test_add_func ("/integrations/cloud/slack-media", test_slack_media);
  g_test_add_func ("/integrations/cloud/discord-media", test_discord_media);
  g_test_add_func ("/integrations/cloud/media-url-default", test_media_url_default);
  return g_test_run ();
}
