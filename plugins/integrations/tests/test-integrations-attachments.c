/* test-integrations-attachments.c: files sent in a chat (a photo, a document, a voice note)
 * reach the agent as attachments of the turn: the real coworkd with the agent and the fake
 * LLM, against the fake platforms, which serve the files through their real download APIs.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-cloud-test.h"

#include <signal.h>
#include <string.h>

#define PHOTO_BYTES "\xff\xd8\xff\xe0 a small JPEG of a cat \xff\xd9"

static GBytes *
bytes_of (const gchar *text)
{
  return g_bytes_new (text, strlen (text));
}

/* The attachments of the session's last user message. */
static JsonArray *
user_attachments (CloudTest *t)
{
  g_autoptr (JsonNode) sessions = integ_call (t->f, "list_sessions", NULL);
  JsonArray *list = json_node_get_array (sessions);
  const gchar *id = NULL;
  g_autoptr (JsonNode) session = NULL;
  JsonArray *items;
  JsonArray *found = NULL;

  for (guint i = 0; i < json_array_get_length (list); i++)
    {
      JsonObject *s = json_array_get_object_element (list, i);
      if (g_strcmp0 (json_object_get_string_member_with_default (s, "type", NULL), "integration")
          == 0)
        id = json_object_get_string_member (s, "id");
    }
  g_assert_nonnull (id);
  session = integ_call (t->f, "get_session", "{\"sessionId\":\"%s\"}", id);
  items = json_object_get_array_member (cw_test_obj (session), "chatItems");
  for (guint i = 0; i < json_array_get_length (items); i++)
    {
      JsonObject *item = json_array_get_object_element (items, i);
      if (g_strcmp0 (json_object_get_string_member (item, "kind"), "user_message") == 0)
        found = json_object_has_member (item, "attachments")
                    ? json_object_get_array_member (item, "attachments")
                    : NULL;
    }
  g_assert_nonnull (found);
  return json_array_ref (found);
}

static const gchar *
member (JsonArray *array, guint index, const gchar *name)
{
  return json_object_get_string_member_with_default (json_array_get_object_element (array, index),
                                                     name, NULL);
}

/* A photo with a caption: the agent gets the caption and the largest size of the photo as an
 * image attachment; the user's chat item keeps it. */
static void
test_telegram_photo_caption (void)
{
  g_autoptr (CloudTest) t = cloud_test_new (CW_FAKE_TELEGRAM, CLOUD_HELLO_SCRIPT);
  g_autoptr (JsonObject) status = NULL, get_file = NULL, download = NULL;
  g_autoptr (GPtrArray) prompts = NULL;
  g_autoptr (JsonArray) attachments = NULL;
  g_autoptr (GBytes) photo = bytes_of (PHOTO_BYTES);
  const gchar *hello[] = { CLOUD_HELLO, NULL };

  if (t == NULL)
    return;
  status = cloud_connect_telegram (t);
  g_free (cw_fake_cloud_inject_file (t->fake, "42", "42", "Ann", "what is this?", "photo",
                                     "photo.jpg", "image/jpeg", photo));
  cloud_expect_bot (t, "42", hello, 300);
  prompts = cloud_llm_prompts (t);
  g_assert_cmpuint (prompts->len, ==, 1);
  g_assert_true (g_str_has_prefix (prompts->pdata[0], "[Telegram | Ann]: what is this?"));
  integ_assert_attached (prompts->pdata[0], "image", "photo.jpg", PHOTO_BYTES,
                         strlen (PHOTO_BYTES));
  /* fetched with getFile and the file API, after the message was taken */
  get_file = cw_fake_cloud_wait (t->fake, "getFile", 0, 0);
  download = cw_fake_cloud_wait (t->fake, "file", 0, 0);
  g_assert_nonnull (get_file);
  g_assert_true (g_str_has_prefix (json_object_get_string_member (download, "path"),
                                   "/file/bot123:abc/documents/"));
  g_assert_cmpuint (cw_fake_cloud_count (t->fake, "file"), ==, 1);
  attachments = user_attachments (t);
  g_assert_cmpuint (json_array_get_length (attachments), ==, 1);
  g_assert_cmpstr (member (attachments, 0, "type"), ==, "image");
  g_assert_cmpstr (member (attachments, 0, "name"), ==, "photo.jpg");
  g_assert_cmpstr (member (attachments, 0, "mimeType"), ==, "image/jpeg");
}

/* Without a caption the agent is told the sender sent attachments, and gets them. */
static void
test_telegram_photo_only (void)
{
  g_autoptr (CloudTest) t = cloud_test_new (CW_FAKE_TELEGRAM, CLOUD_HELLO_SCRIPT);
  g_autoptr (JsonObject) status = NULL;
  g_autoptr (GPtrArray) prompts = NULL;
  g_autoptr (GBytes) photo = bytes_of (PHOTO_BYTES);
  g_autoptr (GBytes) voice = bytes_of ("OggS voice note");
  const gchar *hello[] = { CLOUD_HELLO, NULL };

  if (t == NULL)
    return;
  status = cloud_connect_telegram (t);
  g_free (cw_fake_cloud_inject_file (t->fake, "42", "42", "Ann", NULL, "photo", "photo.jpg",
                                     "image/jpeg", photo));
  cloud_expect_bot (t, "42", hello, 300);
  prompts = cloud_llm_prompts (t);
  g_assert_cmpuint (prompts->len, ==, 1);
  g_assert_true (g_str_has_prefix (prompts->pdata[0], "[Telegram | Ann]: sent attachment(s)."));
  integ_assert_attached (prompts->pdata[0], "image", "photo.jpg", PHOTO_BYTES,
                         strlen (PHOTO_BYTES));
  g_clear_pointer (&prompts, g_ptr_array_unref);

  /* a voice note is audio */
  g_free (cw_fake_cloud_inject_file (t->fake, "42", "42", "Ann", NULL, "voice", "voice.ogg",
                                     "audio/ogg", voice));
  integ_wait_llm_requests (t->f, 2);
  prompts = cloud_llm_prompts (t);
  integ_assert_attached (prompts->pdata[1], "audio", "voice.ogg", "OggS voice note",
                         strlen ("OggS voice note"));
}

/* A file over COWORK_INTEGRATION_MAX_MEDIA_BYTES is not downloaded: the agent gets its name
 * and size and a note, and the turn is answered. */
static void
test_over_limit (void)
{
  g_autoptr (CloudTest) t = NULL;
  g_autoptr (JsonObject) status = NULL;
  g_autoptr (GPtrArray) prompts = NULL;
  g_autoptr (JsonArray) attachments = NULL;
  g_autofree gchar *big_text = g_strnfill (5000, 'x');
  g_autoptr (GBytes) big = bytes_of (big_text);
  const gchar *hello[] = { CLOUD_HELLO, NULL };

  g_setenv ("COWORK_INTEGRATION_MAX_MEDIA_BYTES", "1000", TRUE);
  t = cloud_test_new (CW_FAKE_TELEGRAM, CLOUD_HELLO_SCRIPT);
  g_unsetenv ("COWORK_INTEGRATION_MAX_MEDIA_BYTES");
  if (t == NULL)
    return;
  status = cloud_connect_telegram (t);
  g_free (cw_fake_cloud_inject_file (t->fake, "42", "42", "Ann", "the logs", "document",
                                     "server.log", "text/plain", big));
  cloud_expect_bot (t, "42", hello, 300);
  prompts = cloud_llm_prompts (t);
  g_assert_cmpuint (prompts->len, ==, 1);
  g_assert_cmpstr (prompts->pdata[0], ==,
                   "[Telegram | Ann]: the logs (The attachment \"server.log\", 4.9 KiB, was not "
                   "downloaded: it is larger than the limit of 1000 bytes.)");
  g_assert_cmpuint (cw_fake_cloud_count (t->fake, "file"), ==, 0);
  attachments = user_attachments (t);
  g_assert_cmpuint (json_array_get_length (attachments), ==, 1);
  g_assert_cmpstr (member (attachments, 0, "type"), ==, "file");
  g_assert_cmpstr (member (attachments, 0, "name"), ==, "server.log");
}

/* Downloads that fail (500) are tried three times, then the agent gets the description and a
 * note; the chat's next message is answered as well. */
static void
test_download_fails (void)
{
  g_autoptr (CloudTest) t
      = cloud_test_new (CW_FAKE_TELEGRAM, "{\"responses\":[{\"events\":[{\"text\":\"One.\"}]},"
                                          "{\"events\":[{\"text\":\"Two.\"}]}]}");
  g_autoptr (JsonObject) status = NULL;
  g_autoptr (GPtrArray) prompts = NULL;
  g_autoptr (GBytes) doc = bytes_of ("%PDF-1.4 report");
  const gchar *both[]
      = { "One.", "Message received. Processing previous request... (1 in queue)", "Two.", NULL };

  if (t == NULL)
    return;
  status = cloud_connect_telegram (t);
  cw_fake_cloud_fail_next (t->fake, "file", 3, 500, NULL);
  g_free (cw_fake_cloud_inject_file (t->fake, "42", "42", "Ann", "read this", "document",
                                     "report.pdf", "application/pdf", doc));
  g_free (cw_fake_cloud_inject (t->fake, "42", "42", "Ann", "and then this"));
  cloud_expect_bot (t, "42", both, 300);
  g_assert_cmpuint (cw_fake_cloud_count (t->fake, "file"), ==, 3);
  prompts = cloud_llm_prompts (t);
  g_assert_cmpuint (prompts->len, ==, 2);
  g_assert_cmpstr (prompts->pdata[0], ==,
                   "[Telegram | Ann]: read this (The attachment \"report.pdf\", 15 bytes, could "
                   "not be downloaded.)");
  g_assert_cmpstr (prompts->pdata[1], ==, "[Telegram | Ann]: and then this");
}

/* Five messages wait while a turn runs, one of them a photo: they run as one merged turn,
 * and the photo comes with it. */
static void
test_merged (void)
{
  g_autoptr (CloudTest) t
      = cloud_test_new (CW_FAKE_TELEGRAM, "{\"responses\":[{\"events\":[{\"delayMs\":2500},"
                                          "{\"text\":\"Slow.\"}]},"
                                          "{\"events\":[{\"text\":\"All of them.\"}]}]}");
  g_autoptr (JsonObject) status = NULL;
  g_autoptr (GPtrArray) prompts = NULL;
  g_autoptr (GBytes) photo = bytes_of (PHOTO_BYTES);

  if (t == NULL)
    return;
  status = cloud_connect_telegram (t);
  g_free (cw_fake_cloud_inject (t->fake, "42", "42", "Ann", "first"));
  integ_wait_llm_requests (t->f, 1);
  for (guint i = 0; i < 4; i++)
    {
      g_autofree gchar *text = g_strdup_printf ("more %u", i + 1);
      g_free (cw_fake_cloud_inject (t->fake, "42", "42", "Ann", text));
    }
  g_free (cw_fake_cloud_inject_file (t->fake, "42", "42", "Ann", NULL, "photo", "photo.jpg",
                                     "image/jpeg", photo));
  g_assert_true (cw_fake_cloud_wait_bot_text (t->fake, "42", "All of them.", 20000));
  prompts = cloud_llm_prompts (t);
  g_assert_cmpuint (prompts->len, ==, 2);
  g_assert_true (g_str_has_prefix (prompts->pdata[1],
                                   "Multiple messages received:\n1. [Telegram | Ann]: more 1\n"
                                   "2. [Telegram | Ann]: more 2\n3. [Telegram | Ann]: more 3\n"
                                   "4. [Telegram | Ann]: more 4\n"
                                   "5. [Telegram | Ann]: sent attachment(s)."));
  integ_assert_attached (prompts->pdata[1], "image", "photo.jpg", PHOTO_BYTES,
                         strlen (PHOTO_BYTES));
}

/* Telegram refuses getFile for a file the Bot API does not give bots (over 20 MB): asked once,
 * not again, and the agent gets the description with the note. */
static void
test_telegram_too_big (void)
{
  g_autoptr (CloudTest) t = cloud_test_new (CW_FAKE_TELEGRAM, CLOUD_HELLO_SCRIPT);
  g_autoptr (JsonObject) status = NULL;
  g_autoptr (GPtrArray) prompts = NULL;
  g_autoptr (GBytes) video = bytes_of ("a long video");
  const gchar *hello[] = { CLOUD_HELLO, NULL };

  if (t == NULL)
    return;
  status = cloud_connect_telegram (t);
  cw_fake_cloud_fail_next (t->fake, "getFile", 1, 400,
                           "{\"ok\":false,\"error_code\":400,"
                           "\"description\":\"Bad Request: file is too big\"}");
  g_free (cw_fake_cloud_inject_file (t->fake, "42", "42", "Ann", "watch", "video", "clip.mp4",
                                     "video/mp4", video));
  cloud_expect_bot (t, "42", hello, 300);
  g_assert_cmpuint (cw_fake_cloud_count (t->fake, "getFile"), ==, 1);
  g_assert_cmpuint (cw_fake_cloud_count (t->fake, "file"), ==, 0);
  prompts = cloud_llm_prompts (t);
  g_assert_cmpstr (prompts->pdata[0], ==,
                   "[Telegram | Ann]: watch (The attachment \"clip.mp4\", 12 bytes, could not be "
                   "downloaded.)");
}

/* kill -9 after the message is in the ledger, while its file is being downloaded (the
 * platform holds the download): after the restart the file is fetched and the message
 * answered, once. */
static void
test_kill_before_routing (void)
{
  g_autoptr (CloudTest) t = cloud_test_new (CW_FAKE_TELEGRAM, CLOUD_HELLO_SCRIPT);
  g_autoptr (JsonObject) status = NULL, held = NULL, again = NULL;
  g_autoptr (GPtrArray) prompts = NULL;
  g_autoptr (GBytes) doc = bytes_of ("%PDF-1.4 minutes of the meeting");
  const gchar *hello[] = { CLOUD_HELLO, NULL };
  g_autofree gchar *dir = NULL;

  if (t == NULL)
    return;
  status = cloud_connect_telegram (t);
  cw_fake_cloud_set_option (t->fake, "hold_files", "1");
  g_free (cw_fake_cloud_inject_file (t->fake, "42", "42", "Ann", "summarise", "document",
                                     "minutes.pdf", "application/pdf", doc));
  held = cw_fake_cloud_wait (t->fake, "file", 0, 20000);
  g_assert_nonnull (held);
  agent_fixture_stop (t->f, SIGKILL);
  g_assert_cmpuint (integ_llm_requests (t->f), ==, 0);
  cw_fake_cloud_set_option (t->fake, "hold_files", "0");
  agent_fixture_start (t->f);
  again = integ_wait_connected (t->f, "telegram", TRUE);
  cloud_expect_bot (t, "42", hello, 1500);
  g_assert_cmpuint (integ_llm_requests (t->f), ==, 1);
  prompts = cloud_llm_prompts (t);
  g_assert_true (g_str_has_prefix (prompts->pdata[0], "[Telegram | Ann]: summarise"));
  integ_assert_attached (prompts->pdata[0], "pdf", "minutes.pdf", "%PDF-1.4 minutes of the meeting",
                         strlen ("%PDF-1.4 minutes of the meeting"));
  g_assert_cmpuint (cw_fake_cloud_count (t->fake, "file"), ==, 2);
  /* the turn is done: the downloaded copy is gone */
  dir = g_build_filename (t->f->daemon->dir, "integrations", "attachments", NULL);
  {
    g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
    g_assert_nonnull (d);
    g_assert_null (g_dir_read_name (d));
  }
}

/* A Slack file_share DM: the file is fetched from url_private_download with the bot token, and
 * the agent gets the message text and the file. */
static void
test_slack_file_share (void)
{
  g_autoptr (CloudTest) t = cloud_test_new (CW_FAKE_SLACK, CLOUD_HELLO_SCRIPT);
  g_autoptr (JsonObject) status = NULL, download = NULL;
  g_autoptr (GPtrArray) prompts = NULL;
  g_autoptr (JsonArray) attachments = NULL;
  g_autoptr (GBytes) doc = bytes_of ("%PDF-1.4 quarterly numbers");
  const gchar *hello[] = { CLOUD_HELLO, NULL };

  if (t == NULL)
    return;
  status = cloud_connect_slack (t);
  g_free (cw_fake_cloud_inject_file (t->fake, "D0CHAT", "U0ANN", NULL, "numbers for Q3",
                                     "file_share", "q3.pdf", "application/pdf", doc));
  cloud_expect_bot (t, "D0CHAT", hello, 300);
  download = cw_fake_cloud_wait (t->fake, "file", 0, 0);
  g_assert_cmpstr (json_object_get_string_member (download, "auth"), ==, "Bearer xoxb-test");
  prompts = cloud_llm_prompts (t);
  g_assert_cmpuint (prompts->len, ==, 1);
  g_assert_true (g_str_has_prefix (prompts->pdata[0], "[Slack | U0ANN]: numbers for Q3"));
  integ_assert_attached (prompts->pdata[0], "pdf", "q3.pdf", "%PDF-1.4 quarterly numbers",
                         strlen ("%PDF-1.4 quarterly numbers"));
  attachments = user_attachments (t);
  g_assert_cmpstr (member (attachments, 0, "type"), ==, "pdf");
  g_assert_cmpstr (member (attachments, 0, "name"), ==, "q3.pdf");
}

/* A Discord message with an attachment (a CDN url): fetched, and the agent gets it. */
static void
test_discord_attachment (void)
{
  g_autoptr (CloudTest) t = cloud_test_new (CW_FAKE_DISCORD, CLOUD_HELLO_SCRIPT);
  g_autoptr (JsonObject) status = NULL, download = NULL;
  g_autoptr (GPtrArray) prompts = NULL;
  g_autoptr (GBytes) photo = bytes_of (PHOTO_BYTES);
  const gchar *hello[] = { CLOUD_HELLO, NULL };

  if (t == NULL)
    return;
  status = cloud_connect_discord (t);
  g_free (cw_fake_cloud_inject_file (t->fake, "700", "600", "ann", NULL, "attachment", "cat.png",
                                     "image/png", photo));
  cloud_expect_bot (t, "700", hello, 300);
  download = cw_fake_cloud_wait (t->fake, "file", 0, 0);
  /* a signed CDN URL: no bot token goes with it */
  g_assert_false (json_object_has_member (download, "auth"));
  prompts = cloud_llm_prompts (t);
  g_assert_true (g_str_has_prefix (prompts->pdata[0], "[Discord | ann]: sent attachment(s)."));
  integ_assert_attached (prompts->pdata[0], "image", "cat.png", PHOTO_BYTES, strlen (PHOTO_BYTES));
}

/* An iMessage with an attachment: BlueBubbles' attachment/<guid>/download with the password. */
static void
test_imessage_attachment (void)
{
  g_autoptr (CloudTest) t = cloud_test_new (CW_FAKE_BLUEBUBBLES, CLOUD_HELLO_SCRIPT);
  g_autoptr (JsonObject) status = NULL, download = NULL;
  g_autoptr (GPtrArray) prompts = NULL;
  g_autoptr (GBytes) voice = bytes_of ("caf voice memo");
  const gchar *hello[] = { CLOUD_HELLO, NULL };
  const gchar *chat = "iMessage;-;+15551234567";

  if (t == NULL)
    return;
  status = cloud_connect_imessage (t);
  cloud_imessage_wait_joined (t);
  g_free (cw_fake_cloud_inject_file (t->fake, chat, "+15551234567", NULL, "listen", "attachment",
                                     "memo.caf", "audio/x-caf", voice));
  cloud_expect_bot (t, chat, hello, 300);
  download = cw_fake_cloud_wait (t->fake, "file", 0, 0);
  g_assert_cmpstr (
      json_object_get_string_member (json_object_get_object_member (download, "query"), "password"),
      ==, "bb-password");
  prompts = cloud_llm_prompts (t);
  g_assert_true (g_str_has_prefix (prompts->pdata[0], "[iMessage | +15551234567]: listen"));
  integ_assert_attached (prompts->pdata[0], "audio", "memo.caf", "caf voice memo",
                         strlen ("caf voice memo"));
}

/* Teams: an image hosted in the message (hostedContents) and a file attached from SharePoint
 * (through the shares API), both fetched with the app's Graph token. */
static void
test_teams_files (void)
{
  g_autoptr (CloudTest) t
      = cloud_test_new (CW_FAKE_GRAPH, "{\"responses\":[{\"events\":[{\"text\":\"Nice chart.\"}]},"
                                       "{\"events\":[{\"text\":\"Read it.\"}]}]}");
  g_autoptr (JsonObject) status = NULL, hosted = NULL, share = NULL;
  g_autoptr (GPtrArray) prompts = NULL;
  g_autoptr (GBytes) chart = bytes_of (PHOTO_BYTES);
  g_autoptr (GBytes) doc = bytes_of ("%PDF-1.4 plan");
  /* the second comes while the first turn is being set up */
  const gchar *replies[] = { "Message received. Processing previous request... (2 in queue)",
                             "Nice chart.", "Read it.", NULL };

  if (t == NULL)
    return;
  status = cloud_connect_teams (t);
  g_free (cw_fake_cloud_inject_file (t->fake, "team1:chan1", "u-ann", "Ann", "look", "hosted",
                                     "chart.png", "image/png", chart));
  g_free (cw_fake_cloud_inject_file (t->fake, "team1:chan1", "u-ann", "Ann", NULL, "reference",
                                     "plan.pdf", "application/pdf", doc));
  cloud_teams_next_poll (t);
  cloud_expect_bot (t, "team1:chan1", replies, 300);
  hosted = cw_fake_cloud_wait (t->fake, "hosted", 0, 0);
  share = cw_fake_cloud_wait (t->fake, "share", 0, 0);
  g_assert_true (g_str_has_prefix (json_object_get_string_member (hosted, "auth"), "Bearer "));
  g_assert_true (g_str_has_prefix (json_object_get_string_member (share, "auth"), "Bearer "));
  prompts = cloud_llm_prompts (t);
  g_assert_cmpuint (prompts->len, ==, 2);
  g_assert_true (g_str_has_prefix (prompts->pdata[0], "[Microsoft Teams | Ann]: look"));
  integ_assert_attached (prompts->pdata[0], "image", "image.png", PHOTO_BYTES,
                         strlen (PHOTO_BYTES));
  g_assert_true (
      g_str_has_prefix (prompts->pdata[1], "[Microsoft Teams | Ann]: sent attachment(s)."));
  integ_assert_attached (prompts->pdata[1], "pdf", "plan.pdf", "%PDF-1.4 plan",
                         strlen ("%PDF-1.4 plan"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/integrations/attachments/telegram-photo-caption", test_telegram_photo_caption);
  g_test_add_func ("/integrations/attachments/telegram-photo-only", test_telegram_photo_only);
  g_test_add_func ("/integrations/attachments/slack-file-share", test_slack_file_share);
  g_test_add_func ("/integrations/attachments/discord", test_discord_attachment);
  g_test_add_func ("/integrations/attachments/imessage", test_imessage_attachment);
  g_test_add_func ("/integrations/attachments/teams", test_teams_files);
  g_test_add_func ("/integrations/attachments/merged", test_merged);
  g_test_add_func ("/integrations/attachments/over-limit", test_over_limit);
  g_test_add_func ("/integrations/attachments/download-fails", test_download_fails);
  g_test_add_func ("/integrations/attachments/telegram-too-big", test_telegram_too_big);
  g_test_add_func ("/integrations/attachments/kill-before-routing", test_kill_before_routing);
  return g_test_run ();
}
