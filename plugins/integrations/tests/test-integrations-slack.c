/* test-integrations-slack.c: the Slack adapter against the fake Web API and Socket Mode, with
 * the real coworkd, the agent plugin and the fake LLM.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-cloud-test.h"

#include <signal.h>
#include <sqlite3.h>
#include <string.h>

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
  status = cloud_connect_slack (t);
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
  status = cloud_connect_slack (t);
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
  status = cloud_connect_slack (t);
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
  status = cloud_connect_slack (t);
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
  status = cloud_connect_slack (t);
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

#define STREAM_SCRIPT                                                                              \
  "{\"responses\":[{\"events\":[{\"text\":\"1 < 2 \"},{\"delayMs\":1500},{\"text\":\"& 3 > 0 \"}," \
  "{\"delayMs\":1500},{\"text\":\"done.\"}]}]}"
/* as Slack shows it: the markup characters escaped */
#define STREAM_REPLY "1 &lt; 2 &amp; 3 &gt; 0 done."

static const gchar *
record_param (JsonObject *record, const gchar *name)
{
  return json_object_get_string_member_with_default (json_object_get_object_member (record, "body"),
                                                     name, NULL);
}

/* An integration:message_in and then @outs integration:message_out for @chat_id, on the
 * daemon's event stream. */
static void
expect_events (CloudTest *t, const gchar *chat_id, guint outs)
{
  const gchar *types[] = { "integration:message_in", "integration:message_out", NULL };
  gboolean in = FALSE;

  while (outs > 0)
    {
      g_autoptr (JsonObject) event = agent_wait_any (t->f->client, types, NULL, NULL);
      JsonObject *data = agent_event_data (event);

      g_assert_cmpstr (json_object_get_string_member (data, "platform"), ==, "slack");
      if (g_str_equal (json_object_get_string_member (event, "type"), "integration:message_in"))
        in = TRUE;
      else if (g_strcmp0 (json_object_get_string_member_with_default (data, "chatId", NULL),
                          chat_id)
               == 0)
        {
          g_assert_true (in);
          outs--;
        }
    }
}

/* A slow reply in three chunks: one chat.postMessage (the placeholder), chat.update calls on
 * its ts that grow a prefix of the reply while it comes, the last the whole reply in Slack's
 * escaping; one message in the conversation; message_out for the placeholder and the reply. */
static void
test_streamed (void)
{
  g_autoptr (CloudTest) t = cloud_test_new (CW_FAKE_SLACK, STREAM_SCRIPT);
  g_autoptr (JsonObject) status = NULL;
  g_autoptr (GPtrArray) posts = NULL, updates = NULL;
  g_autoptr (JsonArray) messages = NULL;
  const gchar *reply[] = { STREAM_REPLY, NULL };
  const gchar *ts;

  if (t == NULL)
    return;
  status = cloud_connect_slack (t);
  g_free (cw_fake_cloud_inject (t->fake, "D0CHAT", "U0ANN", NULL, "count to three"));
  cloud_expect_bot (t, "D0CHAT", reply, 1500);
  posts = cw_fake_cloud_records (t->fake, "chat.postMessage");
  g_assert_cmpuint (posts->len, ==, 1);
  g_assert_cmpstr (record_param (posts->pdata[0], "text"), ==, CLOUD_PLACEHOLDER);
  messages = cw_fake_cloud_bot_messages (t->fake, "D0CHAT");
  g_assert_cmpuint (json_array_get_length (messages), ==, 1);
  ts = json_object_get_string_member (json_array_get_object_element (messages, 0), "id");
  updates = cw_fake_cloud_records (t->fake, "chat.update");
  cloud_assert_streamed_edits (updates, "text", STREAM_REPLY);
  for (guint i = 0; i < updates->len; i++)
    {
      g_assert_cmpstr (record_param (updates->pdata[i], "ts"), ==, ts);
      g_assert_cmpstr (record_param (updates->pdata[i], "channel"), ==, "D0CHAT");
    }
  expect_events (t, "D0CHAT", 2);
  assert_all_acked (t, 1);
}

/* kill -9 while Slack holds the placeholder's chat.postMessage: its outcome is unknown, so
 * after the restart it is not posted again and no ts is edited; the reply is one new
 * message. */
static void
test_kill_during_placeholder (void)
{
  g_autoptr (CloudTest) t = cloud_test_new (CW_FAKE_SLACK, CLOUD_SLOW_SCRIPT);
  g_autoptr (JsonObject) status = NULL;

  if (t == NULL)
    return;
  status = cloud_connect_slack (t);
  cloud_kill_during_placeholder (t, "slack", "D0CHAT", "chat.postMessage", "text", "chat.update");
  /* the envelope was acked before the kill: Slack did not deliver it again */
  g_assert_cmpuint (cw_fake_cloud_count (t->fake, "envelope"), ==, 1);
}

/* Waits until the daemon's log has @needle (20 s at most). */
static void
wait_log (CloudTest *t, const gchar *needle)
{
  gint64 deadline = g_get_monotonic_time () + 20 * G_TIME_SPAN_SECOND;

  for (;;)
    {
      g_autofree gchar *log = NULL;
      if (g_file_get_contents (t->f->daemon->log_file, &log, NULL, NULL)
          && strstr (log, needle) != NULL)
        return;
      if (g_get_monotonic_time () > deadline)
        {
          cloud_dump_log (t);
          g_error ("the daemon never logged \"%s\"", needle);
        }
      g_usleep (20000);
    }
}

static const gchar *
envelope_id (JsonObject *record)
{
  return json_object_get_string_member (json_object_get_object_member (record, "body"),
                                        "envelope_id");
}

/* The ledger cannot be written (another process holds the database's write lock): the
 * envelope is not acked. Once the lock is gone, Slack's retry of the unacked event (the same
 * event_id, retry_attempt 1) is answered once and acked; the same event after the ack is
 * acked and ignored. */
static void
test_ack_after_ledger (void)
{
  g_autoptr (CloudTest) t = cloud_test_new (CW_FAKE_SLACK, CLOUD_HELLO_SCRIPT);
  g_autoptr (JsonObject) status = NULL, first = NULL, retry = NULL, ack = NULL, dup = NULL;
  g_autofree gchar *id = NULL;
  const gchar *hello[] = { CLOUD_HELLO, NULL };
  const gchar *none[] = { NULL };
  JsonObject *payload;
  sqlite3 *lock;

  if (t == NULL)
    return;
  status = cloud_connect_slack (t);
  lock = agent_store_lock (t->f);
  id = cw_fake_cloud_inject (t->fake, "D0CHAT", "U0ANN", NULL, "store me first");
  first = cw_fake_cloud_wait (t->fake, "envelope", 0, 20000);
  g_assert_nonnull (first);
  wait_log (t, "not stored, not acked");
  g_usleep (500000);
  g_assert_cmpuint (cw_fake_cloud_count (t->fake, "ack"), ==, 0);
  agent_store_unlock (lock);
  /* not in the ledger: nothing to answer until Slack delivers it again */
  cloud_expect_bot (t, "D0CHAT", none, 500);
  g_assert_cmpuint (cw_fake_cloud_count (t->fake, "ack"), ==, 0);
  g_assert_cmpuint (integ_llm_requests (t->f), ==, 0);

  cw_fake_cloud_redeliver (t->fake, id);
  retry = cw_fake_cloud_wait (t->fake, "envelope", 1, 0);
  payload
      = json_object_get_object_member (json_object_get_object_member (retry, "body"), "payload");
  g_assert_cmpint (
      json_object_get_int_member (json_object_get_object_member (retry, "body"), "retry_attempt"),
      ==, 1);
  g_assert_cmpstr (
      json_object_get_string_member (payload, "event_id"), ==,
      json_object_get_string_member (
          json_object_get_object_member (json_object_get_object_member (first, "body"), "payload"),
          "event_id"));
  cloud_expect_bot (t, "D0CHAT", hello, 500);
  ack = cw_fake_cloud_wait (t->fake, "ack", 0, 20000);
  g_assert_cmpstr (envelope_id (ack), ==, envelope_id (retry));
  g_assert_cmpuint (integ_llm_requests (t->f), ==, 1);

  /* a duplicate after the ack (same event_id and client_msg_id) */
  cw_fake_cloud_redeliver (t->fake, id);
  dup = cw_fake_cloud_wait (t->fake, "envelope", 2, 0);
  assert_all_acked (t, 2);
  cloud_expect_bot (t, "D0CHAT", hello, 500);
  g_assert_cmpuint (integ_llm_requests (t->f), ==, 1);
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
  g_test_add_func ("/integrations/slack/streamed", test_streamed);
  g_test_add_func ("/integrations/slack/kill-during-placeholder", test_kill_during_placeholder);
  g_test_add_func ("/integrations/slack/ack-after-ledger", test_ack_after_ledger);
  return g_test_run ();
}
