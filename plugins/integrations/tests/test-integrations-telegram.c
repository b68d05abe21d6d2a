/* test-integrations-telegram.c: the Telegram adapter against the fake Bot API, with the real
 * coworkd, the agent plugin and the fake LLM.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-cloud-test.h"

#include <signal.h>

static void
test_reply (void)
{
  g_autoptr (CloudTest) t = cloud_test_new (CW_FAKE_TELEGRAM, CLOUD_HELLO_SCRIPT);
  g_autoptr (JsonObject) status = NULL;
  g_autoptr (GPtrArray) prompts = NULL;
  g_autoptr (JsonObject) me = NULL, typing = NULL, sent = NULL;
  g_autofree gchar *old = NULL, *id = NULL;
  const gchar *hello[] = { CLOUD_HELLO, NULL };
  const gchar *none[] = { NULL };

  if (t == NULL)
    return;
  /* Sent before the bot was connected: the first connect takes it as the baseline. */
  old = cw_fake_cloud_inject (t->fake, "41", "41", "Old", "from before");
  status = cloud_connect_telegram (t);
  g_assert_cmpstr (json_object_get_string_member (status, "identityName"), ==, "@cowork_test_bot");
  me = cw_fake_cloud_wait (t->fake, "getMe", 0, 0);
  g_assert_cmpstr (json_object_get_string_member (me, "token"), ==, "123:abc");

  id = cw_fake_cloud_inject (t->fake, "42", "42", "Ann", "what is up?");
  cloud_expect_bot (t, "42", hello, 300);
  cloud_expect_bot (t, "41", none, 0);
  prompts = cloud_llm_prompts (t);
  g_assert_cmpuint (prompts->len, ==, 1);
  g_assert_cmpstr (prompts->pdata[0], ==, "[Telegram | Ann]: what is up?");
  /* the reply answers the message it is for */
  sent = cw_fake_cloud_wait (t->fake, "sendMessage", 0, 0);
  g_assert_cmpint (json_object_get_int_member (
                       json_object_get_object_member (json_object_get_object_member (sent, "body"),
                                                      "reply_parameters"),
                       "message_id"),
                   ==, 102);
  typing = cw_fake_cloud_wait (t->fake, "sendChatAction", 0, 5000);
  g_assert_nonnull (typing);
  g_assert_cmpstr (
      json_object_get_string_member (json_object_get_object_member (typing, "body"), "action"), ==,
      "typing");
}

static const gchar *
record_text (JsonObject *record)
{
  return json_object_get_string_member (json_object_get_object_member (record, "body"), "text");
}

/* A slow reply in three chunks: the placeholder goes out when the turn starts, the chunks
 * edit it while they come and the final edit is the whole reply; no second message. */
static void
test_streamed (void)
{
  g_autoptr (CloudTest) t = cloud_test_new (CW_FAKE_TELEGRAM, CLOUD_STREAM_SCRIPT);
  g_autoptr (JsonObject) status = NULL;
  g_autoptr (GPtrArray) sends = NULL, edits = NULL;
  g_autoptr (JsonArray) messages = NULL;
  const gchar *reply[] = { CLOUD_STREAM_REPLY, NULL };

  if (t == NULL)
    return;
  status = cloud_connect_telegram (t);
  g_free (cw_fake_cloud_inject (t->fake, "42", "42", "Ann", "count to three"));
  cloud_expect_bot (t, "42", reply, 1500);
  sends = cw_fake_cloud_records (t->fake, "sendMessage");
  g_assert_cmpuint (sends->len, ==, 1);
  g_assert_cmpstr (record_text (sends->pdata[0]), ==, CLOUD_PLACEHOLDER);
  messages = cw_fake_cloud_bot_messages (t->fake, "42");
  g_assert_cmpuint (json_array_get_length (messages), ==, 1);
  g_assert_cmpstr (
      json_object_get_string_member (json_array_get_object_element (messages, 0), "text"), ==,
      CLOUD_STREAM_REPLY);
  edits = cw_fake_cloud_records (t->fake, "editMessageText");
  /* streamed: the text grew in the placeholder before the reply was complete */
  cloud_assert_streamed_edits (edits, "text", CLOUD_STREAM_REPLY);
}

/* A message Telegram delivers twice (a second update for it) is answered once. */
static void
test_duplicate (void)
{
  g_autoptr (CloudTest) t = cloud_test_new (CW_FAKE_TELEGRAM, CLOUD_HELLO_SCRIPT);
  g_autoptr (JsonObject) status = NULL;
  g_autofree gchar *id = NULL;
  const gchar *hello[] = { CLOUD_HELLO, NULL };
  guint polls;

  if (t == NULL)
    return;
  status = cloud_connect_telegram (t);
  id = cw_fake_cloud_inject (t->fake, "42", "42", "Ann", "once please");
  cloud_expect_bot (t, "42", hello, 0);
  polls = cw_fake_cloud_count (t->fake, "getUpdates");
  cw_fake_cloud_redeliver (t->fake, id);
  /* the adapter took the update (it polls again past it) and the core ignored it */
  g_assert_nonnull (cw_fake_cloud_wait (t->fake, "getUpdates", polls, 20000));
  cloud_expect_bot (t, "42", hello, 500);
  g_assert_cmpuint (integ_llm_requests (t->f), ==, 1);
}

/* Telegram is unreachable for a while; what was sent meanwhile arrives once it is back. */
static void
test_down_and_back (void)
{
  g_autoptr (CloudTest) t = cloud_test_new (CW_FAKE_TELEGRAM, CLOUD_HELLO_SCRIPT);
  g_autoptr (JsonObject) status = NULL, down = NULL, up = NULL;
  const gchar *hello[] = { CLOUD_HELLO, NULL };

  if (t == NULL)
    return;
  status = cloud_connect_telegram (t);
  cw_fake_cloud_down (t->fake);
  down = integ_wait_connected (t->f, "telegram", FALSE);
  g_assert_cmpstr (json_object_get_string_member (down, "health"), ==, "unhealthy");
  g_assert_nonnull (json_object_get_string_member (down, "error"));
  g_free (cw_fake_cloud_inject (t->fake, "51", "51", "Bea", "are you there?"));
  g_free (cw_fake_cloud_inject (t->fake, "52", "52", "Cid", "hello?"));
  cw_fake_cloud_up (t->fake);
  cloud_pass_time (t, 10 * 60 * 1000);
  up = integ_wait_connected (t->f, "telegram", TRUE);
  cloud_expect_bot (t, "51", hello, 0);
  cloud_expect_bot (t, "52", hello, 500);
  g_assert_cmpuint (integ_llm_requests (t->f), ==, 2);
}

/* kill -9 after the message is in the ledger and before the reply: after the restart it is
 * answered, once, and Telegram is not asked for it again. */
static void
test_kill_before_reply (void)
{
  g_autoptr (CloudTest) t = cloud_test_new (CW_FAKE_TELEGRAM, CLOUD_SLOW_SCRIPT);
  g_autoptr (JsonObject) status = NULL, again = NULL, poll = NULL;
  const gchar *slow[] = { "Slow hello.", NULL };
  guint polls;

  if (t == NULL)
    return;
  status = cloud_connect_telegram (t);
  g_free (cw_fake_cloud_inject (t->fake, "42", "42", "Ann", "tell me slowly"));
  integ_wait_llm_requests (t->f, 1);
  agent_fixture_stop (t->f, SIGKILL);
  polls = cw_fake_cloud_count (t->fake, "getUpdates");
  {
    /* the reply had not gone out (a placeholder may have) */
    g_autoptr (GPtrArray) edits = cw_fake_cloud_records (t->fake, "editMessageText");
    g_autoptr (JsonArray) sent = cw_fake_cloud_bot_messages (t->fake, "42");
    g_assert_cmpuint (edits->len, ==, 0);
    for (guint i = 0; i < json_array_get_length (sent); i++)
      g_assert_cmpstr (
          json_object_get_string_member (json_array_get_object_element (sent, i), "text"), ==,
          CLOUD_PLACEHOLDER);
  }
  agent_fixture_start (t->f);
  again = integ_wait_connected (t->f, "telegram", TRUE);
  cloud_expect_bot (t, "42", slow, 3500);
  g_assert_cmpuint (integ_llm_requests (t->f), ==, 2);
  /* the restarted poll starts past the message: Telegram was not asked for it again */
  poll = cw_fake_cloud_wait (t->fake, "getUpdates", polls, 0);
  g_assert_cmpint (
      json_object_get_int_member (json_object_get_object_member (poll, "body"), "offset"), ==,
      500002);
}

/* kill -9 while the placeholder is in flight: its outcome is unknown, so after the restart it
 * is neither sent again nor edited, and the reply goes out as one new message. */
static void
test_kill_during_placeholder (void)
{
  g_autoptr (CloudTest) t = cloud_test_new (CW_FAKE_TELEGRAM, CLOUD_SLOW_SCRIPT);
  g_autoptr (JsonObject) status = NULL;

  if (t == NULL)
    return;
  status = cloud_connect_telegram (t);
  cloud_kill_during_placeholder (t, "telegram", "42", "sendMessage", "text", "editMessageText");
}

/* A revoked token: the connect fails with a clear error and nothing is stored. */
static void
test_bad_token (void)
{
  g_autoptr (CloudTest) t = cloud_test_new (CW_FAKE_TELEGRAM, CLOUD_HELLO_SCRIPT);
  g_autofree gchar *error = NULL;
  g_autoptr (CwClient) client = NULL;
  g_autoptr (JsonNode) config = NULL;

  if (t == NULL)
    return;
  client = cw_test_daemon_connect (t->f->daemon);
  error = agent_call_error (client, "integration_connect",
                            "{\"platform\":\"telegram\",\"config\":{\"botToken\":\"bad\","
                            "\"apiBaseUrl\":\"%s\"}}",
                            cw_fake_cloud_get_url (t->fake));
  g_assert_nonnull (g_strstr_len (error, -1, "Telegram rejected the bot token"));
  config = integ_call (t->f, "integration_get_config", "{\"platform\":\"telegram\"}");
  g_assert_true (JSON_NODE_HOLDS_NULL (config));
}

/* Telegram answers 429 (retry_after) to the reply: it is sent again after the outbox's backoff,
 * once. */
static void
test_rate_limited (void)
{
  g_autoptr (CloudTest) t = cloud_test_new (CW_FAKE_TELEGRAM, CLOUD_HELLO_SCRIPT);
  g_autoptr (JsonObject) status = NULL, limited = NULL;
  const gchar *hello[] = { CLOUD_HELLO, NULL };
  const gchar *none[] = { NULL };

  if (t == NULL)
    return;
  status = cloud_connect_telegram (t);
  cw_fake_cloud_fail_next (t->fake, "sendMessage", 1, 429, NULL);
  g_free (cw_fake_cloud_inject (t->fake, "42", "42", "Ann", "busy?"));
  limited = cw_fake_cloud_wait (t->fake, "sendMessage", 0, 20000);
  g_assert_nonnull (limited);
  cloud_expect_bot (t, "42", none, 300);
  cloud_pass_time (t, 60000);
  cloud_expect_bot (t, "42", hello, 300);
  g_assert_cmpuint (cw_fake_cloud_count (t->fake, "sendMessage"), >=, 2);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/integrations/telegram/reply", test_reply);
  g_test_add_func ("/integrations/telegram/streamed", test_streamed);
  g_test_add_func ("/integrations/telegram/duplicate", test_duplicate);
  g_test_add_func ("/integrations/telegram/down-and-back", test_down_and_back);
  g_test_add_func ("/integrations/telegram/kill-before-reply", test_kill_before_reply);
  g_test_add_func ("/integrations/telegram/kill-during-placeholder", test_kill_during_placeholder);
  g_test_add_func ("/integrations/telegram/bad-token", test_bad_token);
  g_test_add_func ("/integrations/telegram/rate-limited", test_rate_limited);
  return g_test_run ();
}
