/* test-integrations-teams.c: the Teams adapter against the fake Microsoft Graph (client
 * credentials, channel messages by delta), with the real coworkd, the agent plugin and the
 * fake LLM. Polls run on the daemon's test clock.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-cloud-test.h"

#include <signal.h>

#define CHAT "team1:chan1"

static void
test_reply (void)
{
  g_autoptr (CloudTest) t = cloud_test_new (CW_FAKE_GRAPH, CLOUD_HELLO_SCRIPT);
  g_autoptr (JsonObject) status = NULL, token = NULL, sent = NULL;
  g_autoptr (GPtrArray) prompts = NULL;
  const gchar *hello[] = { CLOUD_HELLO, NULL };
  JsonObject *form;

  if (t == NULL)
    return;
  g_free (cw_fake_cloud_inject (t->fake, CHAT, "u-old", "Old", "from before"));
  status = cloud_connect_teams (t);
  g_assert_cmpstr (json_object_get_string_member (status, "identityName"), ==, "General");
  token = cw_fake_cloud_wait (t->fake, "token", 0, 0);
  form = json_object_get_object_member (token, "body");
  g_assert_cmpstr (json_object_get_string_member (form, "grant_type"), ==, "client_credentials");
  g_assert_cmpstr (json_object_get_string_member (form, "client_id"), ==, "app-1");
  g_assert_cmpstr (json_object_get_string_member (form, "client_secret"), ==, "s3cret");

  g_free (cw_fake_cloud_inject (t->fake, CHAT, "u-ann", "Ann", "fish & chips?"));
  cloud_teams_next_poll (t);
  cloud_expect_bot (t, CHAT, hello, 0);
  prompts = cloud_llm_prompts (t);
  g_assert_cmpuint (prompts->len, ==, 1);
  /* HTML (the <p> and the entity) undone, and the message from before the first connect never
   * ingested */
  g_assert_cmpstr (prompts->pdata[0], ==, "[Microsoft Teams | Ann]: fish & chips?");
  sent = cw_fake_cloud_wait (t->fake, "send", 0, 0);
  g_assert_cmpstr (
      json_object_get_string_member (
          json_object_get_object_member (json_object_get_object_member (sent, "body"), "body"),
          "contentType"),
      ==, "html");

  /* the bot's own post comes back in the delta and is not answered */
  cloud_teams_next_poll (t);
  cloud_teams_next_poll (t);
  cloud_expect_bot (t, CHAT, hello, 300);
  g_assert_cmpuint (integ_llm_requests (t->f), ==, 1);
}

/* An expired token is renewed after the 401; Graph unreachable for a while, then back: the
 * backlog is delivered once; kill -9 and a restart: what came meanwhile too. */
static void
test_down_restart (void)
{
  g_autoptr (CloudTest) t = cloud_test_new (CW_FAKE_GRAPH, CLOUD_HELLO_SCRIPT);
  g_autoptr (JsonObject) status = NULL, down = NULL, up = NULL, again = NULL;
  const gchar *one[] = { CLOUD_HELLO, NULL };
  const gchar *two[] = { CLOUD_HELLO, CLOUD_HELLO, NULL };
  const gchar *three[] = { CLOUD_HELLO, CLOUD_HELLO, CLOUD_HELLO, NULL };

  if (t == NULL)
    return;
  /* tokens the fake lets expire after 61 s of real time: the adapter thinks it has one
   * second left, and the poll after that gets a 401 */
  cw_fake_cloud_set_option (t->fake, "token_lifetime", "61");
  status = cloud_connect_teams (t);
  g_usleep (1200000);
  g_free (cw_fake_cloud_inject (t->fake, CHAT, "u-ann", "Ann", "one"));
  cloud_teams_next_poll (t);
  cloud_expect_bot (t, CHAT, one, 0);
  g_assert_cmpuint (cw_fake_cloud_count (t->fake, "token"), >=, 2);

  cw_fake_cloud_down (t->fake);
  cloud_pass_time (t, 31000);
  down = integ_wait_connected (t->f, "teams", FALSE);
  g_free (cw_fake_cloud_inject (t->fake, CHAT, "u-bea", "Bea", "two"));
  cw_fake_cloud_up (t->fake);
  cloud_pass_time (t, 10 * 60 * 1000);
  up = integ_wait_connected (t->f, "teams", TRUE);
  cloud_expect_bot (t, CHAT, two, 300);

  agent_fixture_stop (t->f, SIGKILL);
  g_free (cw_fake_cloud_inject (t->fake, CHAT, "u-cid", "Cid", "three"));
  agent_fixture_start (t->f);
  again = integ_wait_connected (t->f, "teams", TRUE);
  cloud_expect_bot (t, CHAT, three, 500);
  g_assert_cmpuint (integ_llm_requests (t->f), ==, 3);
}

/* A slow reply in three chunks: Graph does not let an app edit a channel post, so no
 * "Thinking..." is posted (it would stay forever) and the reply is posted once, whole, when
 * the turn ends. */
static void
test_streamed (void)
{
  g_autoptr (CloudTest) t = cloud_test_new (CW_FAKE_GRAPH, CLOUD_STREAM_SCRIPT);
  g_autoptr (JsonObject) status = NULL;

  if (t == NULL)
    return;
  status = cloud_connect_teams (t);
  g_free (cw_fake_cloud_inject (t->fake, CHAT, "u-ann", "Ann", "count to three"));
  cloud_teams_next_poll (t);
  cloud_expect_sent_once (t, CHAT, "send", CLOUD_STREAM_REPLY);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/integrations/teams/reply", test_reply);
  g_test_add_func ("/integrations/teams/streamed", test_streamed);
  g_test_add_func ("/integrations/teams/down-restart", test_down_restart);
  return g_test_run ();
}
