/* test-agent-app.c: the daemon driven the way the desktop app drives it: its host sends
 * every optional field as null, applies the runtime config at every start, re-sends keys
 * before commands and reopens by bootstrap + replay. Each test checks what the app shows.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-agent-test.h"

#include <glib/gstdio.h>
#include <signal.h>
#include <sys/stat.h>

#define SECRET     "sk-app-7f3a9c1e5b2d4f6a8c0e"
#define NO_SESSION "unix:path=/nonexistent/coworkd-test-bus"

static JsonObject *
obj (JsonNode *node)
{
  return json_node_get_object (node);
}

/* One turn on a new session of @provider; returns when the send_message answer is in. */
static void
run_turn (AgentFixture *f, const gchar *provider)
{
  g_autoptr (JsonNode) session = NULL;
  g_autoptr (CwClient) sender = cw_test_daemon_connect (f->daemon);
  g_autoptr (JsonObject) done = NULL;
  g_autofree gchar *id = NULL;
  const gchar *sid;

  session = agent_call (f->client, "create_session",
                        "{\"workingDirectory\":\"%s\",\"provider\":\"%s\",\"model\":null,"
                        "\"title\":null,\"type\":null,\"executionMode\":null}",
                        f->workdir, provider);
  sid = json_object_get_string_member (obj (session), "id");
  id = agent_send (sender, "send_message",
                   "{\"sessionId\":\"%s\",\"content\":\"hello\",\"attachments\":null}", sid);
  done = agent_wait_event (f->client, "stream:done", sid, NULL);
  agent_assert_reply_ok (sender, id);
}

/* Items 1 and 2: on a machine without a Secret Service the provider key the app sends is
 * kept (encrypted, owner-only) and used; the helper keys it sends as null delete nothing. */
static void
test_keys_without_secret_service (void)
{
  g_autoptr (AgentFixture) f = agent_fixture_new ();
  g_autoptr (JsonNode) config = NULL, health = NULL, snapshot = NULL;
  g_autofree gchar *listing = NULL, *secrets_dir = NULL, *key_file = NULL, *auth = NULL;
  const gchar *list_args[] = { "credentials", "list", NULL };
  JsonObject *creds, *keys;
  struct stat st;

  if (g_getenv ("COWORKCTL") == NULL)
    {
      g_test_skip ("COWORKCTL is not set");
      return;
    }
  cw_test_daemon_setenv (f->daemon, "DBUS_SESSION_BUS_ADDRESS", NO_SESSION);
  agent_fixture_start (f);
  if (!agent_fixture_start_llm (
          f, "{\"responses\":[{\"events\":[{\"text\":\"hi\"}],\"stopReason\":\"end_turn\"},"
             "{\"events\":[{\"text\":\"again\"}],\"stopReason\":\"end_turn\"}]}"))
    return;
  config
      = agent_app_runtime_config (f->client, "openai", f->llm_url, "{\"openai\":\"" SECRET "\"}");
  g_assert_false (json_object_has_member (obj (config), "credentialErrors"));

  /* daemon_health and coworkctl say where the key is. */
  health = agent_call (f->client, "daemon_health", NULL);
  creds = json_object_get_object_member (obj (health), "credentials");
  g_assert_cmpstr (json_object_get_string_member (creds, "store"), ==, "encrypted-file");
  g_assert_cmpstr (json_object_get_string_member (creds, "secretService"), ==, "unreachable");
  listing = agent_run_ctl (f, "", list_args);
  g_assert_nonnull (strstr (listing, "provider/openai"));
  g_assert_nonnull (strstr (listing, "encrypted file"));
  /* Helper keys sent as null were never written. */
  g_assert_null (strstr (listing, "helper/"));

  /* Owner-only, and the key is not in clear anywhere under the data dir. */
  secrets_dir = g_build_filename (f->daemon->dir, "secrets", NULL);
  g_assert_cmpint (g_stat (secrets_dir, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0700);
  key_file = g_build_filename (secrets_dir, "provider.openai.secret", NULL);
  g_assert_cmpint (g_stat (key_file, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);

  /* The next start sends the same config (nulls again); the key is still there and used. */
  agent_fixture_stop (f, SIGTERM);
  agent_fixture_start (f);
  g_clear_pointer (&config, json_node_unref);
  config
      = agent_app_runtime_config (f->client, "openai", f->llm_url, "{\"openai\":\"" SECRET "\"}");
  g_clear_pointer (&config, json_node_unref);
  config = agent_app_runtime_config (f->client, "openai", f->llm_url, "{}");
  run_turn (f, "openai");
  auth = agent_fixture_last_authorization (f);
  g_assert_cmpstr (auth, ==, "Bearer " SECRET);
  snapshot = agent_call (f->client, "get_capability_snapshot", NULL);
  keys = json_object_get_object_member (obj (snapshot), "keyStatus");
  g_assert_true (json_object_get_boolean_member (keys, "providerKeyConfigured"));
  g_assert_false (json_object_get_boolean_member (keys, "openaiKeyConfigured"));

  agent_fixture_stop (f, SIGTERM);
  g_assert_cmpint (g_unlink (f->llm_log), ==, 0);
  g_assert_false (agent_tree_contains (f->daemon->dir, SECRET));
}

/* Item 1: a helper key is a credential of its own: setting the OpenAI helper key leaves the
 * OpenAI provider key alone, and "" removes only the helper key. */
static void
test_helper_keys_are_separate (void)
{
  g_autoptr (AgentFixture) f = agent_fixture_new ();
  g_autoptr (JsonNode) res = NULL, snapshot = NULL;
  g_autofree gchar *auth = NULL;
  JsonObject *keys;

  cw_test_daemon_setenv (f->daemon, "DBUS_SESSION_BUS_ADDRESS", NO_SESSION);
  agent_fixture_start (f);
  if (!agent_fixture_start_llm (
          f, "{\"responses\":[{\"events\":[{\"text\":\"hi\"}],\"stopReason\":\"end_turn\"}]}"))
    return;
  res = agent_call (f->client, "set_runtime_config",
                    "{\"config\":{\"activeProvider\":\"openai\","
                    "\"providerBaseUrls\":{\"openai\":\"%s\"},"
                    "\"providerApiKeys\":{\"openai\":\"" SECRET "\"},"
                    "\"openaiApiKey\":\"sk-helper\",\"tavilyApiKey\":\"tv-key\"}}",
                    f->llm_url);
  g_clear_pointer (&res, json_node_unref);
  res = agent_call (f->client, "set_runtime_config",
                    "{\"config\":{\"activeProvider\":\"openai\",\"openaiApiKey\":\"\","
                    "\"tavilyApiKey\":null}}");
  g_clear_pointer (&res, json_node_unref);
  res = agent_call (f->client, "set_stitch_api_key", "{\"apiKey\":\"st-key\"}");
  snapshot = agent_call (f->client, "get_capability_snapshot", NULL);
  keys = json_object_get_object_member (obj (snapshot), "keyStatus");
  g_assert_true (json_object_get_boolean_member (keys, "providerKeyConfigured"));
  g_assert_false (json_object_get_boolean_member (keys, "openaiKeyConfigured"));
  g_assert_true (json_object_get_boolean_member (keys, "tavilyKeyConfigured"));
  g_assert_true (json_object_get_boolean_member (keys, "stitchKeyConfigured"));
  run_turn (f, "openai");
  auth = agent_fixture_last_authorization (f);
  g_assert_cmpstr (auth, ==, "Bearer " SECRET);

  /* The app sends set_stitch_api_key with null when it has none: that clears it. */
  g_clear_pointer (&res, json_node_unref);
  res = agent_call (f->client, "set_stitch_api_key", "{\"apiKey\":null}");
  g_clear_pointer (&snapshot, json_node_unref);
  snapshot = agent_call (f->client, "get_capability_snapshot", NULL);
  keys = json_object_get_object_member (obj (snapshot), "keyStatus");
  g_assert_false (json_object_get_boolean_member (keys, "stitchKeyConfigured"));
}

/* Item 7: a client that repeats agent_get_events_since from the eventCursor it got, and
 * ignores hasMore, sees every event once, in order, up to the last one — from memory and,
 * after a restart, from the store. */
static void
replay_in_pages (AgentFixture *f, gint64 expected_last)
{
  gint64 cursor = 0, next_seq = 0;

  for (guint round = 0; round < 1000; round++)
    {
      g_autoptr (JsonNode) r
          = agent_call (f->client, "agent_get_events_since",
                        "{\"afterSeq\":%" G_GINT64_FORMAT ",\"limit\":3}", cursor);
      JsonArray *events = json_object_get_array_member (obj (r), "events");

      for (guint i = 0; i < json_array_get_length (events); i++)
        {
          gint64 seq
              = json_object_get_int_member (json_array_get_object_element (events, i), "seq");
          if (next_seq != 0)
            g_assert_cmpint (seq, ==, next_seq);
          next_seq = seq + 1;
        }
      if (json_array_get_length (events) == 0)
        {
          g_assert_cmpint (next_seq - 1, ==, expected_last);
          return;
        }
      cursor = json_object_get_int_member (obj (r), "eventCursor");
      g_assert_cmpint (cursor, ==, next_seq - 1);
    }
  g_assert_not_reached ();
}

static void
test_replay_pages_never_skip (void)
{
  g_autoptr (AgentFixture) f = agent_fixture_new ();
  g_autoptr (JsonNode) ready = NULL;
  gint64 last;

  agent_fixture_start (f);
  for (guint i = 0; i < 7; i++)
    {
      g_autoptr (JsonNode) s = agent_call (
          f->client, "create_session",
          "{\"workingDirectory\":\"%s\",\"provider\":\"lmstudio\",\"model\":null,\"title\":null,"
          "\"type\":null,\"executionMode\":null}",
          f->workdir);
    }
  ready = agent_call (f->client, "daemon_ready", NULL);
  last = json_object_get_int_member (obj (ready), "eventCursor");
  g_assert_cmpint (last, >=, 7);
  replay_in_pages (f, last);
  agent_fixture_stop (f, SIGTERM);
  agent_fixture_start (f);
  g_clear_pointer (&ready, json_node_unref);
  ready = agent_call (f->client, "daemon_ready", NULL);
  replay_in_pages (f, json_object_get_int_member (obj (ready), "eventCursor"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cowork/agent/app/keys-without-secret-service",
                   test_keys_without_secret_service);
  g_test_add_func ("/cowork/agent/app/helper-keys-are-separate", test_helper_keys_are_separate);
  g_test_add_func ("/cowork/agent/app/replay-pages-never-skip", test_replay_pages_never_skip);
  return g_test_run ();
}
