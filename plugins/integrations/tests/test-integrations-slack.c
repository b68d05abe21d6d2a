/* test-integrations-slack.c: the Slack adapter against the fake Web API and Socket Mode, with
 * the real coworkd, the agent plugin and the fake LLM.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-cloud-test.h"

#include <signal.h>

static JsonObject *
connect_slack (CloudTest *t)
{
  g_autofree gchar *config = g_strdup_printf (
      "{\"appToken\":\"xapp-1-test\",\"botToken\":\"xoxb-test\",\"apiBaseUrl\":\"%s\","
      "\"defaultChannel\":null}",
      cw_fake_cloud_get_url (t->fake));

  return cloud_connect (t, "slack", config);
}

/* Every envelope the fake delivered was acked, each once. */
static void
assert_all_acked (CloudTest *t, guint envelopes)
{
  g_autoptr (GPtrArray) acks = NULL;
  g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);

  g_assert_nonnull (cw_fake_cloud_wait (t->fake, "ack", envelopes - 1, 20000));
  g_usleep (200000);
  acks = cw_fake_cloud_records (t->fake, "ack");
  g_assert_cmpuint (acks->len, ==, envelopes);
  for (guint i = 0; i < acks->len; i++)
    {
      const gchar *id = json_object_get_string_member (
          json_object_get_object_member (acks->pdata[i], "body"), "envelope_id");
      g_assert_false (g_hash_table_contains (seen, id));
      g_hash_table_add (seen, (gpointer) id);
    }
}

static void
test_reply (void)
{
  g_autoptr (CloudTest) t = cloud_test_new (CW_FAKE_SLACK, CLOUD_HELLO_SCRIPT);
  g_autoptr (JsonObject) status = NULL, post = NULL;
  g_autoptr (GPtrArray) prompts = NULL;
  const gchar *hello[] = { CLOUD_HELLO, NULL };

  if (t == NULL)
    return;
  status = connect_slack (t);
  g_assert_cmpstr (json_object_get_string_member (status, "identityName"), ==, "cowork");
  g_free (cw_fake_cloud_inject (t->fake, "D0CHAT", "U0ANN", NULL, "hi there"));
  g_free (cw_fake_cloud_inject (t->fake, "C0GEN", "U0BEA", NULL, "<@U0BOT> in the channel"));
  cloud_expect_bot (t, "D0CHAT", hello, 0);
  cloud_expect_bot (t, "C0GEN", hello, 300);
  assert_all_acked (t, 2);
  prompts = cloud_llm_prompts (t);
  g_assert_cmpuint (prompts->len, ==, 2);
  g_assert_true (
      g_ptr_array_find_with_equal_func (prompts, "[Slack | U0ANN]: hi there", g_str_equal, NULL));
  /* the mention is stripped */
  g_assert_true (g_ptr_array_find_with_equal_func (prompts, "[Slack | U0BEA]: in the channel",
                                                   g_str_equal, NULL));
  post = cw_fake_cloud_wait (t->fake, "chat.postMessage", 0, 0);
  g_assert_cmpstr (json_object_get_string_member (post, "auth"), ==, "Bearer xoxb-test");
}

/* A retried envelope (Slack delivers it again with retry_attempt 1) is acked and not
 * answered twice. */
static void
test_duplicate (void)
{
  g_autoptr (CloudTest) t = cloud_test_new (CW_FAKE_SLACK, CLOUD_HELLO_SCRIPT);
  g_autoptr (JsonObject) status = NULL;
  g_autofree gchar *id = NULL;
  const gchar *hello[] = { CLOUD_HELLO, NULL };

  if (t == NULL)
    return;
  status = connect_slack (t);
  id = cw_fake_cloud_inject (t->fake, "D0CHAT", "U0ANN", NULL, "once please");
  cloud_expect_bot (t, "D0CHAT", hello, 0);
  cw_fake_cloud_redeliver (t->fake, id);
  assert_all_acked (t, 2);
  cloud_expect_bot (t, "D0CHAT", hello, 500);
  g_assert_cmpuint (integ_llm_requests (t->f), ==, 1);
}

/* The socket drops; what was sent meanwhile stays unacked at Slack and is delivered on the
 * new connection, once. A `disconnect` from Slack moves to a new socket at once. */
static void
test_reconnect (void)
{
  g_autoptr (CloudTest) t = cloud_test_new (CW_FAKE_SLACK, CLOUD_HELLO_SCRIPT);
  g_autoptr (JsonObject) status = NULL, down = NULL, up = NULL;
  const gchar *hello[] = { CLOUD_HELLO, NULL };

  if (t == NULL)
    return;
  status = connect_slack (t);
  cw_fake_cloud_down (t->fake);
  down = integ_wait_connected (t->f, "slack", FALSE);
  g_assert_cmpstr (json_object_get_string_member (down, "health"), ==, "unhealthy");
  g_free (cw_fake_cloud_inject (t->fake, "D0ONE", "U0ANN", NULL, "while you were away"));
  g_free (cw_fake_cloud_inject (t->fake, "D0TWO", "U0BEA", NULL, "me too"));
  cw_fake_cloud_up (t->fake);
  cloud_pass_time (t, 10 * 60 * 1000);
  up = integ_wait_connected (t->f, "slack", TRUE);
  cloud_expect_bot (t, "D0ONE", hello, 0);
  cloud_expect_bot (t, "D0TWO", hello, 300);
  assert_all_acked (t, 2);

  /* Slack refreshes the connection: the adapter opens the next one by itself */
  cw_fake_cloud_control (t->fake, "disconnect");
  g_assert_nonnull (cw_fake_cloud_wait (t->fake, "socket", 2, 20000));
  g_free (cw_fake_cloud_inject (t->fake, "D0THREE", "U0CID", NULL, "after the refresh"));
  cloud_expect_bot (t, "D0THREE", hello, 300);
  g_assert_cmpuint (integ_llm_requests (t->f), ==, 3);
}

/* Slack's markup characters in a reply are escaped, so the text arrives as written. */
static void
test_escape (void)
{
  g_autoptr (CloudTest) t = cloud_test_new (
      CW_FAKE_SLACK, "{\"responses\":[{\"events\":[{\"text\":\"1 < 2 & 3 > 0\"}]}]}");
  g_autoptr (JsonObject) status = NULL;
  const gchar *escaped[] = { "1 &lt; 2 &amp; 3 &gt; 0", NULL };

  if (t == NULL)
    return;
  status = connect_slack (t);
  g_free (cw_fake_cloud_inject (t->fake, "D0CHAT", "U0ANN", NULL, "compare"));
  cloud_expect_bot (t, "D0CHAT", escaped, 0);
}

/* kill -9 in the middle of a burst of 20 chats, while their turns run: after the restart
 * each chat has exactly one answer (the turns cut by the kill are run again from the ledger,
 * envelopes not acked yet come again from Slack and are deduped). */
static void
test_kill_during_burst (void)
{
  g_autoptr (CloudTest) t = cloud_test_new (CW_FAKE_SLACK, CLOUD_SLOW_SCRIPT);
  g_autoptr (JsonObject) status = NULL, again = NULL;
  const gchar *slow[] = { "Slow hello.", NULL };

  if (t == NULL)
    return;
  status = connect_slack (t);
  for (guint i = 0; i < 20; i++)
    {
      g_autofree gchar *chat = g_strdup_printf ("D0BURST%02u", i);
      g_autofree gchar *user = g_strdup_printf ("U0P%02u", i);
      g_free (cw_fake_cloud_inject (t->fake, chat, user, NULL, "hello in a crowd"));
    }
  g_assert_nonnull (cw_fake_cloud_wait (t->fake, "ack", 4, 20000));
  agent_fixture_stop (t->f, SIGKILL);
  cw_fake_cloud_drop_sockets (t->fake);
  agent_fixture_start (t->f);
  again = integ_wait_connected (t->f, "slack", TRUE);
  for (guint i = 0; i < 20; i++)
    {
      g_autofree gchar *chat = g_strdup_printf ("D0BURST%02u", i);
      cloud_expect_bot (t, chat, slow, 0);
    }
  g_usleep (3000000);
  for (guint i = 0; i < 20; i++)
    {
      g_autofree gchar *chat = g_strdup_printf ("D0BURST%02u", i);
      cloud_expect_bot (t, chat, slow, 0);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/integrations/slack/reply", test_reply);
  g_test_add_func ("/integrations/slack/duplicate", test_duplicate);
  g_test_add_func ("/integrations/slack/reconnect", test_reconnect);
  g_test_add_func ("/integrations/slack/escape", test_escape);
  g_test_add_func ("/integrations/slack/kill-during-burst", test_kill_during_burst);
  return g_test_run ();
}
