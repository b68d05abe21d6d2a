/* test-integrations-media.c: generated images and videos (contract §3.7) in a turn routed
 * from the fake Telegram, with the real coworkd, the agent and the fake LLM. The model calls
 * make_media, a tool of the test plugin (tests/plugin) whose result carries a `media` array,
 * so the turn has a chat item of kind media, and the integrations send it to the chat.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-cloud-test.h"

#include <signal.h>
#include <string.h>

#define MEDIA_SCRIPT(args)                                                                         \
  "{\"responses\":[{\"events\":[{\"toolCall\":{\"id\":\"call_1\",\"name\":\"make_media\","         \
  "\"args\":" args "}}]},{\"events\":[{\"text\":\"Here it is.\"}]}]}"

/* The daemon with the test plugin and @max_bytes as COWORK_INTEGRATION_MAX_MEDIA_BYTES (NULL:
 * the default), a fake @kind; @http_port (0: none) for the WhatsApp webhooks. */
static CloudTest *
media_daemon_new (CwFakeKind kind, const gchar *script, const gchar *max_bytes, guint http_port)
{
  CloudTest *t = cloud_test_new (kind, script);

  if (t == NULL)
    return NULL;
  if (http_port != 0)
    {
      g_autofree gchar *conf = g_strdup_printf ("[http]\nport=%u\n", http_port);
      cw_test_daemon_set_config (t->f->daemon, conf);
    }
  if (max_bytes != NULL)
    cw_test_daemon_setenv (t->f->daemon, "COWORK_INTEGRATION_MAX_MEDIA_BYTES", max_bytes);
  integ_load_media_plugin (t->f);
  return t;
}

/* The same with Telegram connected. */
static CloudTest *
media_test_new (const gchar *script, const gchar *max_bytes)
{
  CloudTest *t = media_daemon_new (CW_FAKE_TELEGRAM, script, max_bytes, 0);
  g_autoptr (JsonObject) status = NULL;

  if (t == NULL)
    return NULL;
  status = cloud_connect_telegram (t);
  return t;
}

/* The bytes the test plugin makes: @size of i*7+3. */
static void
assert_pattern (JsonObject *file, gsize size)
{
  gsize length;
  g_autofree guchar *data = g_base64_decode (json_object_get_string_member (file, "data"), &length);

  g_assert_cmpuint (length, ==, size);
  for (gsize i = 0; i < length; i++)
    g_assert_cmpuint (data[i], ==, (guchar) (i * 7 + 3));
}

/* The data of the items sent (or given up) is gone from the daemon's spool. */
static void
assert_spool_empty (CloudTest *t)
{
  g_autofree gchar *spool = g_build_filename (t->f->daemon->dir, "integrations", "media", NULL);
  g_autoptr (GDir) dir = g_dir_open (spool, 0, NULL);
  gint64 deadline = g_get_monotonic_time () + 5 * G_TIME_SPAN_SECOND;

  g_assert_nonnull (dir); /* the data went through it */
  while (g_dir_read_name (dir) != NULL)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (50000);
      g_dir_rewind (dir);
    }
}

static JsonObject *
body_of (JsonObject *record)
{
  return json_object_get_object_member (record, "body");
}

/* An image in the turn: sendPhoto with the caption "Generated image" and the bytes, replying
 * to the message, and the text reply; each delivery is an integration:message_out. */
static void
test_image (void)
{
  g_autoptr (CloudTest) t
      = media_test_new (MEDIA_SCRIPT ("{\"mediaType\":\"image\",\"size\":1000}"), NULL);
  g_autoptr (JsonObject) photo = NULL;
  const gchar *chat[] = { "Here it is.", "[photo] Generated image", NULL };
  g_autofree gchar *id = NULL, *reply = NULL;
  JsonObject *body;

  if (t == NULL)
    return;
  id = cw_fake_cloud_inject (t->fake, "42", "42", "Ann", "draw a cat");
  photo = cw_fake_cloud_wait (t->fake, "sendPhoto", 0, 20000);
  g_assert_nonnull (photo);
  body = body_of (photo);
  g_assert_cmpstr (json_object_get_string_member (body, "chat_id"), ==, "42");
  g_assert_cmpstr (json_object_get_string_member (body, "caption"), ==, "Generated image");
  /* replying to the message ("<chat>:<message_id>") */
  reply = g_strdup_printf ("{\"message_id\":%s,", strchr (id, ':') + 1);
  g_assert_nonnull (strstr (json_object_get_string_member (body, "reply_parameters"), reply));
  g_assert_cmpstr (
      json_object_get_string_member (json_object_get_object_member (body, "photo"), "contentType"),
      ==, "image/png");
  assert_pattern (json_object_get_object_member (body, "photo"), 1000);
  cloud_expect_bot (t, "42", chat, 500);
  g_assert_cmpuint (cw_fake_cloud_count (t->fake, "sendPhoto"), ==, 1);
  g_assert_cmpuint (cw_fake_cloud_count (t->fake, "sendVideo"), ==, 0);
  /* the placeholder, the reply edited into it and the photo */
  for (guint i = 0; i < 3; i++)
    {
      g_autoptr (JsonObject) out
          = agent_wait_event (t->f->client, "integration:message_out", NULL, NULL);
      g_assert_cmpstr (json_object_get_string_member (agent_event_data (out), "chatId"), ==, "42");
    }
  assert_spool_empty (t);
}

/* A video: sendVideo with "Generated video". */
static void
test_video (void)
{
  g_autoptr (CloudTest) t = media_test_new (MEDIA_SCRIPT ("{\"mediaType\":\"video\"}"), NULL);
  g_autoptr (JsonObject) video = NULL;
  const gchar *chat[] = { "Here it is.", "[video] Generated video", NULL };

  if (t == NULL)
    return;
  g_free (cw_fake_cloud_inject (t->fake, "42", "42", "Ann", "film a cat"));
  video = cw_fake_cloud_wait (t->fake, "sendVideo", 0, 20000);
  g_assert_nonnull (video);
  g_assert_cmpstr (json_object_get_string_member (body_of (video), "caption"), ==,
                   "Generated video");
  assert_pattern (json_object_get_object_member (body_of (video), "video"), 64);
  cloud_expect_bot (t, "42", chat, 500);
  g_assert_cmpuint (cw_fake_cloud_count (t->fake, "sendPhoto"), ==, 0);
}

/* Over COWORK_INTEGRATION_MAX_MEDIA_BYTES: the note, no upload (data and a file alike). */
static void
test_too_large (void)
{
  g_autoptr (CloudTest) t
      = media_test_new (MEDIA_SCRIPT ("{\"mediaType\":\"image\",\"size\":101}"), "100");
  const gchar *chat[] = { "Here it is.",
                          "Generated image is too large to send here. Open it in the Cowork "
                          "desktop app.",
                          NULL };

  if (t == NULL)
    return;
  g_free (cw_fake_cloud_inject (t->fake, "42", "42", "Ann", "draw a big cat"));
  cloud_expect_bot (t, "42", chat, 1000);
  g_assert_cmpuint (cw_fake_cloud_count (t->fake, "sendPhoto"), ==, 0);
}

/* A local file at the limit goes out, read by the daemon (a PNG by its bytes); a file that
 * is no image (a key) is not uploaded, the caption goes instead. */
static void
test_file (void)
{
  g_autofree gchar *dir = g_dir_make_tmp ("cw-media-XXXXXX", NULL);
  g_autofree gchar *path = g_build_filename (dir, "cat.png", NULL);
  g_autofree gchar *key = g_build_filename (dir, "id_rsa.png", NULL);
  g_autofree gchar *script = NULL;
  g_autoptr (CloudTest) t = NULL;
  g_autoptr (JsonObject) photo = NULL;
  guchar bytes[100];
  JsonObject *file;
  gsize length;
  g_autofree guchar *data = NULL;
  const gchar *chat[] = { "Here it is.", "[photo] Generated image", "Here it is.",
                          "Generated image (open the Cowork desktop app to see it)", NULL };

  for (guint i = 0; i < sizeof bytes; i++)
    bytes[i] = (guchar) (i * 7 + 3);
  memcpy (bytes, "\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16);
  g_assert_true (g_file_set_contents (path, (const gchar *) bytes, sizeof bytes, NULL));
  g_assert_true (
      g_file_set_contents (key, "-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn\n", -1, NULL));
  script = g_strdup_printf (
      "{\"responses\":[{\"events\":[{\"toolCall\":{\"id\":\"call_1\",\"name\":\"make_media\","
      "\"args\":{\"mediaType\":\"image\",\"path\":\"%s\"}}}]},{\"events\":[{\"text\":\"Here it "
      "is.\"}]},{\"events\":[{\"toolCall\":{\"id\":\"call_2\",\"name\":\"make_media\",\"args\":"
      "{\"mediaType\":\"image\",\"path\":\"%s\"}}}]},{\"events\":[{\"text\":\"Here it is.\"}]}]}",
      path, key);
  t = media_test_new (script, "100");
  if (t == NULL)
    return;
  g_free (cw_fake_cloud_inject (t->fake, "42", "42", "Ann", "show me the cat"));
  photo = cw_fake_cloud_wait (t->fake, "sendPhoto", 0, 20000);
  g_assert_nonnull (photo);
  file = json_object_get_object_member (body_of (photo), "photo");
  g_assert_cmpstr (json_object_get_string_member (file, "filename"), ==, "cat.png");
  g_assert_cmpstr (json_object_get_string_member (file, "contentType"), ==, "image/png");
  data = g_base64_decode (json_object_get_string_member (file, "data"), &length);
  g_assert_cmpmem (data, length, bytes, sizeof bytes);
  g_free (cw_fake_cloud_inject (t->fake, "42", "42", "Ann", "and the key"));
  cloud_expect_bot (t, "42", chat, 500);
  g_assert_cmpuint (cw_fake_cloud_count (t->fake, "sendPhoto"), ==, 1);
  cw_test_rm_rf (dir);
}

/* kill -9 while the fake holds the upload: after the restart its outcome is unknown, so it
 * is not uploaded again, and the reply still arrives once. */
static void
test_kill_during_upload (void)
{
  g_autoptr (CloudTest) t = media_test_new (MEDIA_SCRIPT ("{\"mediaType\":\"image\"}"), NULL);
  g_autoptr (JsonObject) held = NULL, again = NULL;
  const gchar *reply[] = { "Here it is.", NULL };

  if (t == NULL)
    return;
  cw_fake_cloud_set_option (t->fake, "hold_media", "1");
  g_free (cw_fake_cloud_inject (t->fake, "42", "42", "Ann", "draw a cat"));
  held = cw_fake_cloud_wait (t->fake, "sendPhoto", 0, 20000);
  g_assert_nonnull (held);
  agent_fixture_stop (t->f, SIGKILL);
  /* the fake keeps holding uploads (clearing the option could race with the held request
   * still on its way to the hold): an upload after the restart would be a second record */
  agent_fixture_start (t->f);
  again = integ_wait_connected (t->f, "telegram", TRUE);
  cloud_expect_bot (t, "42", reply, 3000);
  g_assert_cmpuint (cw_fake_cloud_count (t->fake, "sendPhoto"), ==, 1);
  assert_spool_empty (t);
}

static gint
by_text (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(const gchar *const *) a, *(const gchar *const *) b);
}

/* Waits until the bot's messages in @chat_id are @texts in any order (the reply and the media
 * go out side by side on a platform without a placeholder to edit). */
static void
expect_bot_unordered (CloudTest *t, const gchar *chat_id, const gchar *const *texts)
{
  gint64 deadline = g_get_monotonic_time () + 20 * G_TIME_SPAN_SECOND;
  guint n = g_strv_length ((gchar **) texts);
  g_autoptr (GPtrArray) got = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) want = g_ptr_array_new ();

  for (;;)
    {
      g_autoptr (JsonArray) messages = cw_fake_cloud_bot_messages (t->fake, chat_id);
      if (json_array_get_length (messages) >= n || g_get_monotonic_time () > deadline)
        {
          for (guint i = 0; i < json_array_get_length (messages); i++)
            g_ptr_array_add (got, g_strdup (json_object_get_string_member (
                                      json_array_get_object_element (messages, i), "text")));
          break;
        }
      g_usleep (50000);
    }
  for (guint i = 0; i < n; i++)
    g_ptr_array_add (want, (gpointer) texts[i]);
  g_ptr_array_sort (got, by_text);
  g_ptr_array_sort (want, by_text);
  g_assert_cmpuint (got->len, ==, n);
  for (guint i = 0; i < n; i++)
    g_assert_cmpstr (got->pdata[i], ==, want->pdata[i]);
}

/* iMessage: POST message/attachment (multipart) to the chat, then the caption as text. */
static void
test_imessage (void)
{
  g_autoptr (CloudTest) t
      = media_daemon_new (CW_FAKE_BLUEBUBBLES, MEDIA_SCRIPT ("{\"mediaType\":\"image\"}"), NULL, 0);
  g_autoptr (JsonObject) status = NULL, upload = NULL;
  const gchar *chat_id = "iMessage;-;+15551234567";
  const gchar *chat[] = { "Here it is.", "[file] image.png", "Generated image", NULL };
  JsonObject *body;

  if (t == NULL)
    return;
  status = cloud_connect_imessage (t);
  /* the event channel takes the message (the poll waits on the test clock) */
  cloud_imessage_wait_joined (t);
  g_free (cw_fake_cloud_inject (t->fake, chat_id, "+15551234567", "Ann", "draw a cat"));
  upload = cw_fake_cloud_wait (t->fake, "attachment", 0, 20000);
  g_assert_nonnull (upload);
  body = body_of (upload);
  g_assert_cmpstr (json_object_get_string_member (body, "chatGuid"), ==, chat_id);
  g_assert_cmpstr (json_object_get_string_member (body, "name"), ==, "image.png");
  g_assert_nonnull (json_object_get_string_member (body, "tempGuid"));
  assert_pattern (json_object_get_object_member (body, "attachment"), 64);
  expect_bot_unordered (t, chat_id, chat);
}

/* WhatsApp: POST {phone-number-id}/media (multipart), then a message of type image with the
 * media id and the caption, as a reply. */
static void
test_whatsapp (void)
{
  guint port = integ_free_port ();
  g_autoptr (CloudTest) t
      = media_daemon_new (CW_FAKE_WHATSAPP, MEDIA_SCRIPT ("{\"mediaType\":\"image\"}"), NULL, port);
  g_autofree gchar *config = NULL, *webhook = NULL;
  g_autoptr (JsonObject) status = NULL, upload = NULL;
  g_autoptr (GPtrArray) sends = NULL;
  const gchar *chat[] = { "Here it is.", "[image] Generated image", NULL };
  JsonObject *message = NULL, *image;

  if (t == NULL)
    return;
  webhook = g_strdup_printf ("http://127.0.0.1:%u/integrations/whatsapp/webhook", port);
  cw_fake_cloud_set_option (t->fake, "webhook_url", webhook);
  cw_fake_cloud_set_option (t->fake, "app_secret", "app-secret");
  config = g_strdup_printf ("{\"phoneNumberId\":\"106540352242922\",\"accessToken\":\"wa-token\","
                            "\"appSecret\":\"app-secret\",\"verifyToken\":\"verify-me\","
                            "\"apiBaseUrl\":\"%s\",\"allowFrom\":[\"*\"],\"denialMessage\":null,"
                            "\"sessionDataDir\":null,\"senderPolicy\":null}",
                            cw_fake_cloud_get_url (t->fake));
  status = cloud_connect (t, "whatsapp", config);
  g_free (cw_fake_cloud_inject (t->fake, "15551234567", NULL, "Ann", "draw a cat"));
  upload = cw_fake_cloud_wait (t->fake, "media", 0, 20000);
  g_assert_nonnull (upload);
  g_assert_cmpstr (json_object_get_string_member (body_of (upload), "messaging_product"), ==,
                   "whatsapp");
  g_assert_cmpstr (json_object_get_string_member (body_of (upload), "type"), ==, "image/png");
  g_assert_cmpstr (json_object_get_string_member (upload, "auth"), ==, "Bearer wa-token");
  assert_pattern (json_object_get_object_member (body_of (upload), "file"), 64);
  expect_bot_unordered (t, "15551234567", chat);
  sends = cw_fake_cloud_records (t->fake, "send");
  for (guint i = 0; i < sends->len; i++)
    if (g_strcmp0 (json_object_get_string_member (body_of (sends->pdata[i]), "type"), "image") == 0)
      message = body_of (sends->pdata[i]);
  g_assert_nonnull (message);
  image = json_object_get_object_member (message, "image");
  g_assert_nonnull (json_object_get_string_member (image, "id"));
  g_assert_cmpstr (json_object_get_string_member (image, "caption"), ==, "Generated image");
  g_assert_true (json_object_has_member (message, "context"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/integrations/media/image", test_image);
  g_test_add_func ("/integrations/media/video", test_video);
  g_test_add_func ("/integrations/media/too-large", test_too_large);
  g_test_add_func ("/integrations/media/file", test_file);
  g_test_add_func ("/integrations/media/kill-during-upload", test_kill_during_upload);
  g_test_add_func ("/integrations/media/imessage", test_imessage);
  g_test_add_func ("/integrations/media/whatsapp", test_whatsapp);
  return g_test_run ();
}
