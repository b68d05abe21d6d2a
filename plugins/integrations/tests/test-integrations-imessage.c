/* test-integrations-imessage.c: the iMessage adapter against a fake BlueBubbles server (REST
 * and its Socket.IO event channel), with the real coworkd, the agent plugin and the fake LLM.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-cloud-test.h"

#include <signal.h>

#define CHAT "iMessage;-;+15551234567"

static void
test_reply (void)
{
  g_autoptr (CloudTest) t = cloud_test_new (CW_FAKE_BLUEBUBBLES, CLOUD_HELLO_SCRIPT);
  g_autoptr (JsonObject) status = NULL, info = NULL, sent = NULL, socket = NULL;
  g_autoptr (GPtrArray) prompts = NULL;
  const gchar *hello[] = { CLOUD_HELLO, NULL };
  const gchar *none[] = { NULL };
  JsonObject *query;

  if (t == NULL)
    return;
  g_free (cw_fake_cloud_inject (t->fake, "iMessage;-;+15550000001", "+15550000001", NULL,
                                "from before"));
  g_usleep (2000); /* the baseline is the newest message's time */
  cw_fake_cloud_set_option (t->fake, "ping_interval", "300");
  status = cloud_connect_imessage (t);
  g_assert_cmpstr (json_object_get_string_member (status, "identityName"), ==, "bot@icloud.com");
  info = cw_fake_cloud_wait (t->fake, "server_info", 0, 0);
  query = json_object_get_object_member (info, "query");
  g_assert_cmpstr (json_object_get_string_member (query, "password"), ==, "bb-password");
  g_assert_cmpstr (json_object_get_string_member (info, "auth"), ==, "Bearer bb-password");
  socket = cw_fake_cloud_wait (t->fake, "socket", 0, 20000);
  g_assert_nonnull (socket);
  cloud_imessage_wait_joined (t);

  /* the event channel delivers it at once: no poll needed */
  g_free (cw_fake_cloud_inject (t->fake, CHAT, "+15551234567", NULL, "hello mac"));
  cloud_expect_bot (t, CHAT, hello, 300);
  cloud_expect_bot (t, "iMessage;-;+15550000001", none, 0);
  prompts = cloud_llm_prompts (t);
  g_assert_cmpuint (prompts->len, ==, 1);
  g_assert_cmpstr (prompts->pdata[0], ==, "[iMessage | +15551234567]: hello mac");
  sent = cw_fake_cloud_wait (t->fake, "send", 0, 0);
  g_assert_nonnull (
      json_object_get_string_member (json_object_get_object_member (sent, "body"), "tempGuid"));
  /* the server's pings are answered */
  g_assert_nonnull (cw_fake_cloud_wait (t->fake, "pong", 0, 5000));
  /* a second event for the same message is not answered again; the bot's own message came
   * back as an event (isFromMe) and was skipped */
  cloud_pass_time (t, 21000);
  g_assert_nonnull (cw_fake_cloud_wait (t->fake, "query", 2, 20000));
  cloud_expect_bot (t, CHAT, hello, 300);
  g_assert_cmpuint (integ_llm_requests (t->f), ==, 1);
}

/* The server is down; what came meanwhile is fetched by the poll once it is back, and
 * after a kill -9 and a restart too, each once. */
static void
test_down_restart (void)
{
  g_autoptr (CloudTest) t = cloud_test_new (CW_FAKE_BLUEBUBBLES, CLOUD_HELLO_SCRIPT);
  g_autoptr (JsonObject) status = NULL, down = NULL, up = NULL, again = NULL;
  const gchar *one[] = { CLOUD_HELLO, NULL };
  const gchar *two[] = { CLOUD_HELLO, CLOUD_HELLO, NULL };

  if (t == NULL)
    return;
  status = cloud_connect_imessage (t);
  cw_fake_cloud_down (t->fake);
  cloud_pass_time (t, 21000);
  down = integ_wait_connected (t->f, "imessage", FALSE);
  g_free (cw_fake_cloud_inject (t->fake, CHAT, "+15551234567", NULL, "while down"));
  cw_fake_cloud_up (t->fake);
  cloud_pass_time (t, 10 * 60 * 1000);
  up = integ_wait_connected (t->f, "imessage", TRUE);
  cloud_expect_bot (t, CHAT, one, 300);

  agent_fixture_stop (t->f, SIGKILL);
  g_free (cw_fake_cloud_inject (t->fake, CHAT, "+15551234567", NULL, "while restarting"));
  agent_fixture_start (t->f);
  again = integ_wait_connected (t->f, "imessage", TRUE);
  cloud_expect_bot (t, CHAT, two, 500);
  g_assert_cmpuint (integ_llm_requests (t->f), ==, 2);
}

/* A slow reply in three chunks: the adapter cannot edit a sent iMessage, so no "Thinking..."
 * is sent (it would stay) and the reply goes out once, whole, when the turn ends. */
static void
test_streamed (void)
{
  g_autoptr (CloudTest) t = cloud_test_new (CW_FAKE_BLUEBUBBLES, CLOUD_STREAM_SCRIPT);
  g_autoptr (JsonObject) status = NULL;

  if (t == NULL)
    return;
  status = cloud_connect_imessage (t);
  cloud_imessage_wait_joined (t);
  g_free (cw_fake_cloud_inject (t->fake, CHAT, "+15551234567", NULL, "count to three"));
  cloud_expect_sent_once (t, CHAT, "send", CLOUD_STREAM_REPLY);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/integrations/imessage/reply", test_reply);
  g_test_add_func ("/integrations/imessage/streamed", test_streamed);
  g_test_add_func ("/integrations/imessage/down-restart", test_down_restart);
  return g_test_run ();
}
