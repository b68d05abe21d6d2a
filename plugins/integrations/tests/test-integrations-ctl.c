/* test-integrations-ctl.c: `coworkctl integrations` against the real coworkd and ngircd.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-integrations-test.h"

#include <string.h>

#define HELLO_SCRIPT "{\"responses\":[{\"events\":[{\"text\":\"Hello from the fake.\"}]}]}"

static void
test_ctl (void)
{
  g_autoptr (AgentFixture) f = integ_fixture_new (HELLO_SCRIPT);
  g_autoptr (IrcServer) irc = NULL;
  g_autoptr (IrcClient) alice = NULL;
  g_autofree gchar *port = NULL, *list = NULL, *connected = NULL, *status = NULL;
  g_autofree gchar *no_chat = NULL, *sent = NULL, *reply = NULL, *json = NULL, *after = NULL;
  g_autofree gchar *bad = NULL, *configured = NULL, *shown = NULL, *gone = NULL;
  g_autoptr (JsonNode) parsed = NULL;
  gint exit_status = 0;

  if (f == NULL)
    return;
  irc = irc_server_start (f->daemon->dir, FALSE);
  alice = irc_client_new (irc->port, "alice");
  irc_client_join (alice, "#cowork");

  list = agent_run_ctl (f, NULL, (const gchar *const[]){ "integrations", "list", NULL });
  g_assert_nonnull (strstr (list, "PLATFORM"));
  g_assert_true (g_regex_match_simple ("(?m)^irc +disconnected +unhealthy", list, 0, 0));
  g_assert_true (g_regex_match_simple ("(?m)^whatsapp ", list, 0, 0));

  port = g_strdup_printf ("port=%u", irc->port);
  connected
      = agent_run_ctl (f, NULL,
                       (const gchar *const[]){ "integrations", "connect", "irc", "server=127.0.0.1",
                                               port, "tls=false", "nick=cowork", "channels=#cowork",
                                               "allowFrom=alice", NULL });
  g_assert_true (g_regex_match_simple ("^irc +connected +healthy +cowork", connected, 0, 0));
  /* A secret comes from stdin (KEY=-), never from the command line, and is never shown. */
  configured = agent_run_ctl (
      f, "irc-secret\n",
      (const gchar *const[]){ "integrations", "configure", "irc", "password=-", NULL });
  status = agent_run_ctl (f, NULL, (const gchar *const[]){ "integrations", "status", "irc", NULL });
  g_assert_nonnull (strstr (status, "connected:    yes"));
  g_assert_nonnull (strstr (status, "password = \"********\""));
  g_assert_null (strstr (status, "irc-secret"));

  no_chat = agent_run_ctl_status (
      f, NULL, (const gchar *const[]){ "integrations", "test", "irc", NULL }, &exit_status);
  g_assert_cmpint (exit_status, !=, 0);

  irc_client_wait_member (alice, "#cowork", "cowork");
  irc_client_send (alice, "PRIVMSG #cowork :cowork: hi");
  reply = irc_client_expect (alice, "cowork", NULL, 20000);
  g_assert_cmpstr (reply, ==, "Hello from the fake.");
  sent = agent_run_ctl (
      f, NULL, (const gchar *const[]){ "integrations", "test", "irc", "ping from ctl", NULL });
  g_clear_pointer (&reply, g_free);
  reply = irc_client_expect (alice, "cowork", NULL, 20000);
  g_assert_cmpstr (reply, ==, "ping from ctl");

  json = agent_run_ctl (f, NULL, (const gchar *const[]){ "--json", "integrations", "list", NULL });
  parsed = cw_json_from_string (json, -1, NULL);
  g_assert_nonnull (parsed);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (parsed)), ==, 8);

  g_clear_pointer (&configured, g_free);
  configured = agent_run_ctl (
      f, NULL,
      (const gchar *const[]){ "integrations", "configure", "irc", "denialMessage=Go away.", NULL });
  shown = agent_run_ctl (f, NULL, (const gchar *const[]){ "integrations", "status", "irc", NULL });
  g_assert_nonnull (strstr (shown, "denialMessage = \"Go away.\""));

  bad = agent_run_ctl_status (
      f, NULL, (const gchar *const[]){ "integrations", "connect", "irc", "novalue", NULL },
      &exit_status);
  g_assert_cmpint (exit_status, ==, 2);

  gone = agent_run_ctl (f, NULL,
                        (const gchar *const[]){ "integrations", "disconnect", "irc", NULL });
  after = agent_run_ctl (f, NULL, (const gchar *const[]){ "integrations", "list", NULL });
  g_assert_true (g_regex_match_simple ("(?m)^irc +disconnected", after, 0, 0));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/integrations/ctl", test_ctl);
  return g_test_run ();
}
