/* test-integrations-discord.c: the Discord adapter against the fake REST API and Gateway v10,
 * with the real coworkd, the agent plugin and the fake LLM.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-cloud-test.h"

#include <signal.h>

/* The bot's prompts: each text once, in any order. */
static void
assert_prompts_once (CloudTest *t, const gchar *const *texts)
{
  g_autoptr (GPtrArray) prompts = cloud_llm_prompts (t);

  g_assert_cmpuint (prompts->len, ==, g_strv_length ((gchar **) texts));
  for (guint i = 0; texts[i] != NULL; i++)
    g_assert_true (g_ptr_array_find_with_equal_func (prompts, texts[i], g_str_equal, NULL));
}

static void
test_reply (void)
{
  g_autoptr (CloudTest) t = cloud_test_new (CW_FAKE_DISCORD, CLOUD_HELLO_SCRIPT);
  g_autoptr (JsonObject) status = NULL, identify = NULL, beat = NULL, sent = NULL;
  JsonObject *d;
  const gchar *hello[] = { CLOUD_HELLO, NULL };
  const gchar *prompts[] = { "[Discord | ann]: what is up?", NULL };
  g_autofree gchar *id = NULL;

  if (t == NULL)
    return;
  status = cloud_connect_discord (t);
  g_assert_cmpstr (json_object_get_string_member (status, "identityName"), ==, "cowork");
  identify = cw_fake_cloud_wait (t->fake, "identify", 0, 0);
  d = json_object_get_object_member (json_object_get_object_member (identify, "body"), "d");
  g_assert_cmpstr (json_object_get_string_member (d, "token"), ==, "discord-token");
  g_assert_cmpint (json_object_get_int_member (d, "intents"), ==, 37376);
  id = cw_fake_cloud_inject (t->fake, "700", "600", "ann", "what is up?");
  cloud_expect_bot (t, "700", hello, 0);
  assert_prompts_once (t, prompts);
  sent = cw_fake_cloud_wait (t->fake, "create_message", 0, 0);
  g_assert_cmpstr (json_object_get_string_member (sent, "auth"), ==, "Bot discord-token");
  g_assert_cmpstr (json_object_get_string_member (
                       json_object_get_object_member (json_object_get_object_member (sent, "body"),
                                                      "message_reference"),
                       "message_id"),
                   ==, id);
  /* heartbeats go out on the interval of the Hello, with the last sequence number */
  beat = cw_fake_cloud_wait (t->fake, "heartbeat", 1, 5000);
  g_assert_nonnull (beat);
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (beat, "body"), "d"),
                   >=, 2);
  g_assert_nonnull (cw_fake_cloud_wait (t->fake, "typing", 0, 5000));
}

/* The connection drops; a message sent meanwhile is replayed on resume, once; an op 7
 * Reconnect resumes again with nothing lost or repeated. */
static void
test_resume (void)
{
  g_autoptr (CloudTest) t = cloud_test_new (CW_FAKE_DISCORD, CLOUD_HELLO_SCRIPT);
  g_autoptr (JsonObject) status = NULL, resume = NULL, socket = NULL;
  const gchar *one[] = { CLOUD_HELLO, NULL };
  const gchar *two[] = { CLOUD_HELLO, CLOUD_HELLO, NULL };
  const gchar *three[] = { CLOUD_HELLO, CLOUD_HELLO, CLOUD_HELLO, NULL };
  const gchar *prompts[] = { "[Discord | ann]: first", "[Discord | ann]: while dropped",
                             "[Discord | ann]: after op 7", NULL };
  JsonObject *d;

  if (t == NULL)
    return;
  status = cloud_connect_discord (t);
  g_free (cw_fake_cloud_inject (t->fake, "700", "600", "ann", "first"));
  cloud_expect_bot (t, "700", one, 0);
  cw_fake_cloud_drop_sockets (t->fake);
  g_free (cw_fake_cloud_inject (t->fake, "700", "600", "ann", "while dropped"));
  cloud_expect_bot (t, "700", two, 0);
  resume = cw_fake_cloud_wait (t->fake, "resume", 0, 0);
  g_assert_nonnull (resume);
  d = json_object_get_object_member (json_object_get_object_member (resume, "body"), "d");
  g_assert_cmpint (json_object_get_int_member (d, "seq"), ==, 2);
  /* it resumed on the READY's resume_gateway_url, and did not identify again */
  socket = cw_fake_cloud_wait (t->fake, "gateway", 1, 0);
  g_assert_true (g_str_has_prefix (json_object_get_string_member (socket, "path"), "/resume"));
  g_assert_cmpuint (cw_fake_cloud_count (t->fake, "identify"), ==, 1);

  cw_fake_cloud_control (t->fake, "reconnect");
  g_free (cw_fake_cloud_inject (t->fake, "700", "600", "ann", "after op 7"));
  cloud_expect_bot (t, "700", three, 500);
  g_assert_cmpuint (cw_fake_cloud_count (t->fake, "resume"), ==, 2);
  g_assert_cmpuint (cw_fake_cloud_count (t->fake, "identify"), ==, 1);
  assert_prompts_once (t, prompts);
}

/* A replayed dispatch of a message already handled is not answered again. */
static void
test_duplicate (void)
{
  g_autoptr (CloudTest) t = cloud_test_new (CW_FAKE_DISCORD, CLOUD_HELLO_SCRIPT);
  g_autoptr (JsonObject) status = NULL;
  g_autofree gchar *id = NULL;
  const gchar *hello[] = { CLOUD_HELLO, NULL };

  if (t == NULL)
    return;
  status = cloud_connect_discord (t);
  id = cw_fake_cloud_inject (t->fake, "700", "600", "ann", "once please");
  cloud_expect_bot (t, "700", hello, 0);
  cw_fake_cloud_redeliver (t->fake, id);
  cloud_expect_bot (t, "700", hello, 800);
  g_assert_cmpuint (integ_llm_requests (t->f), ==, 1);
}

/* The daemon is killed; what is said while it is down comes back when the restarted adapter
 * resumes the stored session. An op 9 Invalid Session starts a new one, and what was said in
 * between is fetched over REST. */
static void
test_restart_and_invalid_session (void)
{
  g_autoptr (CloudTest) t = cloud_test_new (CW_FAKE_DISCORD, CLOUD_HELLO_SCRIPT);
  g_autoptr (JsonObject) status = NULL, again = NULL;
  const gchar *one[] = { CLOUD_HELLO, NULL };
  const gchar *two[] = { CLOUD_HELLO, CLOUD_HELLO, NULL };
  const gchar *three[] = { CLOUD_HELLO, CLOUD_HELLO, CLOUD_HELLO, NULL };
  const gchar *four[] = { CLOUD_HELLO, CLOUD_HELLO, CLOUD_HELLO, CLOUD_HELLO, NULL };

  if (t == NULL)
    return;
  status = cloud_connect_discord (t);
  g_free (cw_fake_cloud_inject (t->fake, "700", "600", "ann", "before"));
  cloud_expect_bot (t, "700", one, 0);
  agent_fixture_stop (t->f, SIGKILL);
  cw_fake_cloud_drop_sockets (t->fake);
  g_free (cw_fake_cloud_inject (t->fake, "700", "600", "ann", "while the daemon was down"));
  agent_fixture_start (t->f);
  again = integ_wait_connected (t->f, "discord", TRUE);
  cloud_expect_bot (t, "700", two, 300);
  g_assert_cmpuint (cw_fake_cloud_count (t->fake, "resume"), ==, 1);
  g_assert_cmpuint (cw_fake_cloud_count (t->fake, "identify"), ==, 1);

  /* op 9: the old session is gone, and so is what the gateway had not sent of it; the new
   * session's READY is followed by a REST fetch of what the channel got meanwhile */
  cw_fake_cloud_control (t->fake, "invalid_session");
  g_free (cw_fake_cloud_inject (t->fake, "700", "600", "ann", "between the sessions"));
  g_assert_nonnull (cw_fake_cloud_wait (t->fake, "identify", 1, 10000));
  cloud_expect_bot (t, "700", three, 300);
  g_assert_nonnull (cw_fake_cloud_wait (t->fake, "list_messages", 0, 0));
  g_free (cw_fake_cloud_inject (t->fake, "700", "600", "ann", "in the new session"));
  cloud_expect_bot (t, "700", four, 300);
  g_assert_cmpuint (integ_llm_requests (t->f), ==, 4);
}

static const gchar *
record_content (JsonObject *record)
{
  return json_object_get_string_member (json_object_get_object_member (record, "body"), "content");
}

/* The bot's messages in channel 700 once there are @n of them (20 s at most) and nothing
 * more came for a while. */
static JsonArray *
wait_messages (CloudTest *t, guint n)
{
  gint64 deadline = g_get_monotonic_time () + 20 * G_TIME_SPAN_SECOND;
  JsonArray *sent = NULL;

  do
    {
      g_clear_pointer (&sent, json_array_unref);
      g_usleep (50000);
      sent = cw_fake_cloud_bot_messages (t->fake, "700");
    }
  while (json_array_get_length (sent) < n && g_get_monotonic_time () < deadline);
  g_usleep (500000);
  json_array_unref (sent);
  return cw_fake_cloud_bot_messages (t->fake, "700");
}

/* The placeholder (the first message, POSTed as "Thinking...") was edited (PATCH on its id)
 * and the messages after it are new ones; each at most 2000 characters, the parts joined by
 * the spaces they were cut at are @text, and every message was POSTed once. */
static void
assert_edited_parts (CloudTest *t, JsonArray *sent, const gchar *text)
{
  g_autoptr (GPtrArray) creates = cw_fake_cloud_records (t->fake, "create_message");
  g_autoptr (GPtrArray) edits = cw_fake_cloud_records (t->fake, "edit_message");
  g_autoptr (GString) joined = g_string_new (NULL);
  g_autofree gchar *head_path = NULL;
  JsonObject *head = json_array_get_object_element (sent, 0);
  gboolean head_edited = FALSE;

  g_assert_cmpuint (creates->len, ==, json_array_get_length (sent));
  g_assert_cmpstr (record_content (creates->pdata[0]), ==, CLOUD_PLACEHOLDER);
  head_path = g_strdup_printf ("/api/v10/channels/700/messages/%s",
                               json_object_get_string_member (head, "id"));
  for (guint i = 0; i < edits->len; i++)
    head_edited
        |= g_strcmp0 (json_object_get_string_member (edits->pdata[i], "path"), head_path) == 0;
  g_assert_true (head_edited);
  for (guint i = 0; i < json_array_get_length (sent); i++)
    {
      const gchar *part
          = json_object_get_string_member (json_array_get_object_element (sent, i), "text");
      g_assert_cmpint (g_utf8_strlen (part, -1), <=, 2000);
      g_string_append_printf (joined, "%s%s", i > 0 ? " " : "", part);
    }
  g_assert_cmpstr (joined->str, ==, text);
}

/* A reply longer than Discord's 2000 characters: the placeholder is edited to the first part
 * and the rest follow as new messages after it, cut at spaces, nothing lost. */
static void
test_split (void)
{
  g_autoptr (GString) text = g_string_new (NULL);
  g_autofree gchar *script = NULL;
  g_autoptr (CloudTest) t = NULL;
  g_autoptr (JsonObject) status = NULL;
  g_autoptr (JsonArray) sent = NULL;

  for (guint i = 0; i < 900; i++)
    g_string_append_printf (text, "%sword%03u", i == 0 ? "" : " ", i);
  script = g_strdup_printf ("{\"responses\":[{\"events\":[{\"text\":\"%s\"}]}]}", text->str);
  t = cloud_test_new (CW_FAKE_DISCORD, script);
  if (t == NULL)
    return;
  status = cloud_connect_discord (t);
  g_free (cw_fake_cloud_inject (t->fake, "700", "600", "ann", "a long answer please"));
  sent = wait_messages (t, 4);
  g_assert_cmpuint (json_array_get_length (sent), ==, 4);
  assert_edited_parts (t, sent, text->str);
}

/* A slow reply in three chunks edits the placeholder while it comes (PATCH on its id), the
 * last edit the whole reply; one message in the channel. Discord can edit, so the
 * placeholder is replaced, not left standing (contract §3.4 lets it stay; an edit is what
 * users of the other editing platforms see). */
static void
test_streamed (void)
{
  g_autoptr (CloudTest) t = cloud_test_new (CW_FAKE_DISCORD, CLOUD_STREAM_SCRIPT);
  g_autoptr (JsonObject) status = NULL;
  g_autoptr (GPtrArray) creates = NULL, edits = NULL;
  g_autoptr (JsonArray) messages = NULL;
  g_autofree gchar *path = NULL;
  const gchar *reply[] = { CLOUD_STREAM_REPLY, NULL };

  if (t == NULL)
    return;
  status = cloud_connect_discord (t);
  g_free (cw_fake_cloud_inject (t->fake, "700", "600", "ann", "count to three"));
  cloud_expect_bot (t, "700", reply, 1500);
  creates = cw_fake_cloud_records (t->fake, "create_message");
  g_assert_cmpuint (creates->len, ==, 1);
  g_assert_cmpstr (record_content (creates->pdata[0]), ==, CLOUD_PLACEHOLDER);
  messages = cw_fake_cloud_bot_messages (t->fake, "700");
  g_assert_cmpuint (json_array_get_length (messages), ==, 1);
  path = g_strdup_printf (
      "/api/v10/channels/700/messages/%s",
      json_object_get_string_member (json_array_get_object_element (messages, 0), "id"));
  edits = cw_fake_cloud_records (t->fake, "edit_message");
  cloud_assert_streamed_edits (edits, "content", CLOUD_STREAM_REPLY);
  for (guint i = 0; i < edits->len; i++)
    g_assert_cmpstr (json_object_get_string_member (edits->pdata[i], "path"), ==, path);
}

/* A streamed reply that grows past 2000 characters while it comes: the overflow is posted
 * once, as new messages after the placeholder, and later edits edit those messages instead
 * of posting them again. */
static void
test_streamed_long (void)
{
  g_autoptr (GString) text = g_string_new (NULL);
  g_autoptr (GString) events = g_string_new (NULL);
  g_autofree gchar *script = NULL;
  g_autoptr (CloudTest) t = NULL;
  g_autoptr (JsonObject) status = NULL;
  g_autoptr (JsonArray) sent = NULL;

  for (guint chunk = 0; chunk < 3; chunk++)
    {
      g_autoptr (GString) words = g_string_new (NULL);
      /* 1749 characters a chunk: the first fits in the placeholder, the others overflow */
      for (guint i = 0; i < 250; i++)
        g_string_append_printf (words, "%sw%u.%03u", chunk + i == 0 ? "" : " ", chunk, i);
      g_string_append_printf (events, "%s{\"text\":\"%s\"}",
                              chunk == 0 ? "" : ",{\"delayMs\":1500},", words->str);
      g_string_append (text, words->str);
    }
  script = g_strdup_printf ("{\"responses\":[{\"events\":[%s]}]}", events->str);
  t = cloud_test_new (CW_FAKE_DISCORD, script);
  if (t == NULL)
    return;
  status = cloud_connect_discord (t);
  g_free (cw_fake_cloud_inject (t->fake, "700", "600", "ann", "a long story please"));
  sent = wait_messages (t, 3);
  g_assert_cmpuint (json_array_get_length (sent), ==, 3);
  assert_edited_parts (t, sent, text->str);
  g_assert_cmpuint (cw_fake_cloud_count (t->fake, "edit_message"), >=, 3);
}

/* A reply with @everyone and a user mention in it pings nobody: the placeholder's POST and
 * the edit that puts the reply in tell Discord to parse no mentions. */
static void
test_no_pings (void)
{
  g_autoptr (CloudTest) t = cloud_test_new (
      CW_FAKE_DISCORD, "{\"responses\":[{\"events\":[{\"text\":\"Hey @everyone and <@600>, "
                       "done.\"}]}]}");
  g_autoptr (JsonObject) status = NULL;
  g_autoptr (GPtrArray) requests = NULL;
  const gchar *reply[] = { "Hey @everyone and <@600>, done.", NULL };

  if (t == NULL)
    return;
  status = cloud_connect_discord (t);
  g_free (cw_fake_cloud_inject (t->fake, "700", "600", "ann", "tell everyone"));
  cloud_expect_bot (t, "700", reply, 300);
  requests = cw_fake_cloud_records (t->fake, "create_message");
  {
    g_autoptr (GPtrArray) edits = cw_fake_cloud_records (t->fake, "edit_message");
    g_assert_cmpuint (edits->len, >=, 1);
    g_ptr_array_extend_and_steal (requests, g_steal_pointer (&edits));
  }
  for (guint i = 0; i < requests->len; i++)
    {
      JsonObject *body = json_object_get_object_member (requests->pdata[i], "body");
      JsonObject *allowed;
      g_assert_true (json_object_has_member (body, "allowed_mentions"));
      allowed = json_object_get_object_member (body, "allowed_mentions");
      g_assert_cmpuint (json_array_get_length (json_object_get_array_member (allowed, "parse")), ==,
                        0);
    }
}

/* kill -9 while Discord holds the placeholder's POST: its outcome is unknown, so after the
 * restart it is not posted again and no message is edited; the reply is one new message. */
static void
test_kill_during_placeholder (void)
{
  g_autoptr (CloudTest) t = cloud_test_new (CW_FAKE_DISCORD, CLOUD_SLOW_SCRIPT);
  g_autoptr (JsonObject) status = NULL;

  if (t == NULL)
    return;
  status = cloud_connect_discord (t);
  cloud_kill_during_placeholder (t, "discord", "700", "create_message", "content", "edit_message");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/integrations/discord/reply", test_reply);
  g_test_add_func ("/integrations/discord/resume", test_resume);
  g_test_add_func ("/integrations/discord/duplicate", test_duplicate);
  g_test_add_func ("/integrations/discord/split", test_split);
  g_test_add_func ("/integrations/discord/streamed", test_streamed);
  g_test_add_func ("/integrations/discord/streamed-long", test_streamed_long);
  g_test_add_func ("/integrations/discord/no-pings", test_no_pings);
  g_test_add_func ("/integrations/discord/kill-during-placeholder", test_kill_during_placeholder);
  g_test_add_func ("/integrations/discord/restart-and-invalid-session",
                   test_restart_and_invalid_session);
  return g_test_run ();
}
