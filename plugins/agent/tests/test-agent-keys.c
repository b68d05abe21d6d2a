/* test-agent-keys.c: a provider API key travels only through CwSecrets — here a real
 * gnome-keyring on the test's own session bus (run under tests/service/with-keyring.sh).
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-agent-test.h"

#include <glib/gstdio.h>
#include <signal.h>

#define SECRET "sk-test-d41d8cd98f00b204e9800998ecf8427e"

static void
test_key_from_keyring_reaches_provider_only (void)
{
  g_autoptr (AgentFixture) f = agent_fixture_new ();
  g_autoptr (JsonNode) config = NULL, session = NULL, ready = NULL, events = NULL;
  g_autoptr (JsonObject) done = NULL;
  g_autoptr (JsonObject) reply = NULL;
  g_autoptr (CwClient) sender = NULL;
  g_autofree gchar *id = NULL, *events_text = NULL, *config_text = NULL, *auth = NULL;
  const gchar *session_id;

  agent_fixture_start (f);
  g_assert_true (agent_fixture_start_llm (
      f, "{\"responses\":[{\"events\":[{\"text\":\"hi\"}],\"stopReason\":\"end_turn\"}]}"));
  /* The key goes in with the runtime config, as the desktop app sends it. */
  config = agent_call (f->client, "set_runtime_config",
                       "{\"config\":{\"activeProvider\":\"openai\","
                       "\"providerBaseUrls\":{\"openai\":\"%s\"},"
                       "\"providerApiKeys\":{\"openai\":\"" SECRET "\"}}}",
                       f->llm_url);

  /* It survives a restart: it lives in the keyring, not in the daemon. */
  agent_fixture_stop (f, SIGTERM);
  agent_fixture_start (f);
  ready = agent_call (f->client, "is_ready", NULL);
  g_assert_true (json_object_get_boolean_member (json_node_get_object (ready), "ready"));
  session = agent_call (f->client, "create_session",
                        "{\"workingDirectory\":\"%s\",\"provider\":\"openai\"}", f->workdir);
  session_id = json_object_get_string_member (json_node_get_object (session), "id");
  sender = cw_test_daemon_connect (f->daemon);
  id = agent_send (sender, "send_message", "{\"sessionId\":\"%s\",\"content\":\"hello\"}",
                   session_id);
  done = agent_wait_event (f->client, "stream:done", session_id, NULL);
  reply = cw_client_wait_response (sender, id, NULL);
  g_assert_nonnull (reply);
  g_assert_true (json_object_get_boolean_member (reply, "success"));

  /* The provider got it, as a bearer token ... */
  auth = agent_fixture_last_authorization (f);
  g_assert_cmpstr (auth, ==, "Bearer " SECRET);
  /* ... and nothing else did: not the events, not the answers, not a file of the daemon.
   * (The fake server's own request log is the one file that may hold it: move it away.) */
  events = agent_call (f->client, "agent_get_events_since", "{\"afterSeq\":0,\"limit\":10000}");
  events_text = cw_json_to_string (events);
  g_assert_null (strstr (events_text, SECRET));
  config_text = cw_json_to_string (config);
  g_assert_null (strstr (config_text, SECRET));
  g_clear_pointer (&sender, cw_client_free);
  agent_fixture_stop (f, SIGTERM);
  g_assert_cmpint (g_unlink (f->llm_log), ==, 0);
  g_assert_false (agent_tree_contains (f->daemon->dir, SECRET));
}

/* Keys stored while there was no Secret Service move into the keyring once there is one. */
static void
test_file_keys_move_into_keyring (void)
{
  g_autoptr (AgentFixture) f = agent_fixture_new ();
  g_autoptr (JsonNode) config = NULL, ready = NULL, health = NULL;
  g_autofree gchar *before = NULL, *after = NULL, *key_file = NULL;
  const gchar *list_args[] = { "credentials", "list", NULL };
  g_auto (GStrv) real_env = g_strdupv (f->daemon->env);
  JsonObject *creds;

  if (g_getenv ("COWORKCTL") == NULL)
    {
      g_test_skip ("COWORKCTL is not set");
      return;
    }
  cw_test_daemon_setenv (f->daemon, "DBUS_SESSION_BUS_ADDRESS",
                         "unix:path=/nonexistent/coworkd-test-bus");
  agent_fixture_start (f);
  config = agent_call (f->client, "set_runtime_config",
                       "{\"config\":{\"activeProvider\":\"openai\","
                       "\"providerApiKeys\":{\"openai\":\"" SECRET "\"}}}");
  before = agent_run_ctl (f, "", list_args);
  g_assert_nonnull (strstr (before, "encrypted file"));
  key_file = g_build_filename (f->daemon->dir, "secrets", "provider.openai.secret", NULL);
  g_assert_true (g_file_test (key_file, G_FILE_TEST_EXISTS));
  agent_fixture_stop (f, SIGTERM);

  /* The keyring is back: the first use of a key moves them all. */
  g_strfreev (f->daemon->env);
  f->daemon->env = g_strdupv (real_env);
  agent_fixture_start (f);
  ready = agent_call (f->client, "is_ready", NULL);
  g_assert_true (json_object_get_boolean_member (json_node_get_object (ready), "ready"));
  g_assert_false (g_file_test (key_file, G_FILE_TEST_EXISTS));
  health = agent_call (f->client, "daemon_health", NULL);
  creds = json_object_get_object_member (json_node_get_object (health), "credentials");
  g_assert_cmpstr (json_object_get_string_member (creds, "store"), ==, "secret-service");
  after = agent_run_ctl (f, "", list_args);
  g_assert_nonnull (strstr (after, "provider/openai"));
  g_assert_nonnull (strstr (after, "Secret Service"));
  g_assert_null (strstr (after, "encrypted file"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cowork/agent/keys/from-keyring-to-provider-only",
                   test_key_from_keyring_reaches_provider_only);
  g_test_add_func ("/cowork/agent/keys/file-keys-move-into-keyring",
                   test_file_keys_move_into_keyring);
  return g_test_run ();
}
