/* test-agent-keys.c: a provider API key travels only through CwSecrets — here a real
 * gnome-keyring on the test's own session bus (run under tests/service/with-keyring.sh).
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-agent-test.h"

#include <glib/gstdio.h>
#include <signal.h>

#define SECRET "sk-test-d41d8cd98f00b204e9800998ecf8427e"

/* TRUE if any file under @dir contains @needle. */
static gboolean
tree_contains (const gchar *dir, const gchar *needle)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const gchar *name;

  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree gchar *path = g_build_filename (dir, name, NULL);
      g_autofree gchar *contents = NULL;
      gsize len = 0;

      if (g_file_test (path, G_FILE_TEST_IS_DIR))
        {
          if (tree_contains (path, needle))
            return TRUE;
          continue;
        }
      if (g_file_get_contents (path, &contents, &len, NULL)
          && g_strstr_len (contents, len, needle) != NULL)
        return TRUE;
    }
  return FALSE;
}

static void
test_key_from_keyring_reaches_provider_only (void)
{
  g_autoptr (AgentFixture) f = agent_fixture_new ();
  g_autoptr (JsonNode) config = NULL, session = NULL, ready = NULL, events = NULL;
  g_autoptr (GPtrArray) requests = NULL;
  g_autoptr (JsonObject) done = NULL;
  g_autoptr (JsonObject) reply = NULL;
  g_autoptr (CwClient) sender = NULL;
  g_autofree gchar *id = NULL, *events_text = NULL, *config_text = NULL;
  const gchar *session_id;
  JsonObject *headers;

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
  requests = agent_fixture_llm_requests (f);
  g_assert_cmpuint (requests->len, >=, 1);
  headers
      = json_object_get_object_member (g_ptr_array_index (requests, requests->len - 1), "headers");
  g_assert_nonnull (headers);
  {
    const gchar *auth
        = json_object_has_member (headers, "Authorization")
              ? json_object_get_string_member (headers, "Authorization")
              : json_object_get_string_member_with_default (headers, "authorization", NULL);
    g_assert_cmpstr (auth, ==, "Bearer " SECRET);
  }
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
  g_assert_false (tree_contains (f->daemon->dir, SECRET));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cowork/agent/keys/from-keyring-to-provider-only",
                   test_key_from_keyring_reaches_provider_only);
  return g_test_run ();
}
