/* test-agent-importer.c: the one-time import of the desktop app's JSON history (v2 and v1
 * layouts, tests/agent/data/legacy) through the real daemon.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-agent-test.h"

#include <signal.h>

static void
copy_legacy_data (AgentFixture *f)
{
  g_autofree gchar *src = g_test_build_filename (G_TEST_DIST, "data", "legacy", "sessions", NULL);
  g_autofree gchar *dst = g_build_filename (f->daemon->dir, "sessions", NULL);
  g_autoptr (GError) error = NULL;
  const gchar *argv[] = { "cp", "-r", src, dst, NULL };
  gint status;

  g_spawn_sync (NULL, (gchar **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, &status,
                &error);
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
}

static JsonObject *
find_session (JsonArray *arr, const gchar *id)
{
  for (guint i = 0; i < json_array_get_length (arr); i++)
    {
      JsonObject *s = json_array_get_object_element (arr, i);
      if (g_strcmp0 (json_object_get_string_member (s, "id"), id) == 0)
        return s;
    }
  return NULL;
}

static void
test_import (void)
{
  g_autoptr (AgentFixture) f = agent_fixture_new ();
  g_autoptr (JsonNode) list = NULL;
  g_autoptr (JsonNode) v2 = NULL;
  g_autoptr (JsonNode) v1 = NULL;
  g_autoptr (JsonNode) tasks = NULL;
  g_autoptr (JsonNode) del = NULL;
  JsonObject *s, *d;
  JsonArray *items;
  const gchar *v1_ids[] = { "ci-m1", "ci-ts-t1", "ci-tr-t1", "ci-m2" };

  copy_legacy_data (f);
  agent_fixture_start (f);

  list = agent_call (f->client, "list_sessions", NULL);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (list)), ==, 3);
  /* Sorted by updatedAt, newest first. */
  g_assert_cmpstr (json_object_get_string_member (
                       json_array_get_object_element (json_node_get_array (list), 0), "id"),
                   ==, "sess_v2AAAAAAAAAAAAAA");
  s = find_session (json_node_get_array (list), "sess_v2AAAAAAAAAAAAAA");
  g_assert_cmpstr (json_object_get_string_member (s, "provider"), ==, "openai");
  g_assert_cmpstr (json_object_get_string_member (s, "title"), ==, "Refactor the parser");
  g_assert_cmpstr (json_object_get_string_member (s, "firstMessage"), ==,
                   "Please refactor parser.c");
  g_assert_cmpint (json_object_get_int_member (s, "messageCount"), ==, 2);
  g_assert_cmpint (json_object_get_int_member (s, "lastAccessedAt"), ==, 1700000600000);
  /* v1 files lack provider, executionMode and lastAccessedAt: google, execute, updatedAt. */
  s = find_session (json_node_get_array (list), "sess_v1BBBBBBBBBBBBBB");
  g_assert_cmpstr (json_object_get_string_member (s, "provider"), ==, "google");
  g_assert_cmpstr (json_object_get_string_member (s, "executionMode"), ==, "execute");
  g_assert_cmpint (json_object_get_int_member (s, "lastAccessedAt"), ==, 1600000100000);
  /* Not in index.json (no finished turn), kept anyway. */
  s = find_session (json_node_get_array (list), "sess_unlistedCCCCCCC");
  g_assert_nonnull (s);
  g_assert_cmpstr (json_object_get_string_member (s, "executionMode"), ==, "plan");

  v2 = agent_call (f->client, "get_session", "{\"sessionId\":\"sess_v2AAAAAAAAAAAAAA\"}");
  d = json_node_get_object (v2);
  items = json_object_get_array_member (d, "chatItems");
  g_assert_cmpuint (json_array_get_length (items), ==, 4);
  g_assert_cmpstr (
      json_object_get_string_member (json_array_get_object_element (items, 3), "content"), ==,
      "Done: parser.c is refactored.");
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (d, "messages")), ==, 2);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (d, "artifacts")), ==, 1);
  g_assert_cmpint (
      json_object_get_int_member (json_object_get_object_member (d, "contextUsage"), "usedTokens"),
      ==, 4321);
  tasks = agent_call (f->client, "get_tasks", "{\"sessionId\":\"sess_v2AAAAAAAAAAAAAA\"}");
  g_assert_cmpstr (json_object_get_string_member (
                       json_array_get_object_element (json_node_get_array (tasks), 0), "subject"),
                   ==, "Read parser.c");

  v1 = agent_call (f->client, "get_session", "{\"sessionId\":\"sess_v1BBBBBBBBBBBBBB\"}");
  items = json_object_get_array_member (json_node_get_object (v1), "chatItems");
  g_assert_cmpuint (json_array_get_length (items), ==, 4);
  for (guint i = 0; i < 4; i++)
    {
      JsonObject *item = json_array_get_object_element (items, i);
      g_assert_cmpstr (json_object_get_string_member (item, "id"), ==, v1_ids[i]);
      g_assert_cmpint (json_object_get_int_member (item, "sequence"), ==, i);
    }
  g_assert_cmpstr (
      json_object_get_string_member (json_array_get_object_element (items, 2), "result"), ==,
      "a.txt");

  /* The import runs once: a deleted session does not come back after a restart. */
  del = agent_call (f->client, "delete_session", "{\"sessionId\":\"sess_v1BBBBBBBBBBBBBB\"}");
  agent_fixture_stop (f, SIGTERM);
  agent_fixture_start (f);
  g_clear_pointer (&list, json_node_unref);
  list = agent_call (f->client, "list_sessions", NULL);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (list)), ==, 2);
  g_assert_null (find_session (json_node_get_array (list), "sess_v1BBBBBBBBBBBBBB"));
}

static void
test_no_legacy_data (void)
{
  g_autoptr (AgentFixture) f = agent_fixture_new ();
  g_autoptr (JsonNode) list = NULL;

  agent_fixture_start (f);
  list = agent_call (f->client, "list_sessions", NULL);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (list)), ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cowork/agent/importer/v1-and-v2", test_import);
  g_test_add_func ("/cowork/agent/importer/nothing-to-import", test_no_legacy_data);
  return g_test_run ();
}
