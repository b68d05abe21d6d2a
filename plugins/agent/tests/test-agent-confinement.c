/* test-agent-confinement.c: what a model-driven tool can reach, attacked through the real
 * daemon with the fake LLM: symlinks out of the working directory, trusted and read-only
 * commands with options that write or read elsewhere, the Landlock sandbox, and commands
 * that try to outlive their turn or the daemon.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-agent-test.h"

#include <errno.h>
#include <signal.h>
#include <unistd.h>

static void
call_void (AgentTurn *t, const gchar *command, const gchar *extra)
{
  g_autoptr (JsonNode) res
      = agent_call (t->f->client, command, "{\"sessionId\":\"%s\"%s}", t->session, extra);
}

static JsonObject *
result_of (JsonObject *tool_result_event)
{
  return json_object_get_object_member (agent_event_data (tool_result_event), "result");
}

/* Waits for @n tool:result events; returns their results by toolCallId. */
static GHashTable *
wait_results (AgentTurn *t, guint n)
{
  GHashTable *results
      = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) json_object_unref);

  for (guint i = 0; i < n; i++)
    {
      g_autoptr (JsonObject) ev = agent_turn_wait (t, "tool:result");
      JsonObject *r = result_of (ev);
      g_hash_table_insert (results, g_strdup (json_object_get_string_member (r, "toolCallId")),
                           json_object_ref (r));
    }
  return results;
}

static const gchar *
result_text (GHashTable *results, const gchar *id)
{
  JsonObject *r = g_hash_table_lookup (results, id);

  g_assert_nonnull (r);
  if (json_object_get_boolean_member (r, "success"))
    return json_object_get_string_member (r, "result");
  return json_object_get_string_member (r, "error");
}

static void
write_file (const gchar *dir, const gchar *name, const gchar *contents)
{
  g_autofree gchar *path = g_build_filename (dir, name, NULL);

  g_assert_true (g_file_set_contents (path, contents, -1, NULL));
}

static void
symlink_in (const gchar *dir, const gchar *name, const gchar *target)
{
  g_autofree gchar *path = g_build_filename (dir, name, NULL);

  g_assert_cmpint (symlink (target, path), ==, 0);
}

/* ---- 1. symlinks ------------------------------------------------------------------- */

/* A repository shipping notes.txt -> a secret outside: in read_only mode no tool hands the
 * secret to the model, and nothing asks; a link that stays inside still works. */
static void
test_symlinks_read_only (void)
{
  g_autoptr (AgentTurn) t = agent_turn_new (
      "{\"responses\":["
      "{\"events\":["
      "{\"toolCall\":{\"id\":\"grep\",\"name\":\"grep\",\"args\":{\"pattern\":\"TOKEN\"}}},"
      "{\"toolCall\":{\"id\":\"glob\",\"name\":\"glob\",\"args\":{\"pattern\":\"*.txt\"}}},"
      "{\"toolCall\":{\"id\":\"ls\",\"name\":\"ls\",\"args\":{}}},"
      "{\"toolCall\":{\"id\":\"read\",\"name\":\"read_file\",\"args\":{\"path\":\"notes.txt\"}}},"
      "{\"toolCall\":{\"id\":\"grepdir\",\"name\":\"grep\",\"args\":{\"pattern\":\"TOKEN\","
      "\"path\":\"docs\"}}},"
      "{\"toolCall\":{\"id\":\"alias\",\"name\":\"read_file\",\"args\":{\"path\":\"alias.txt\"}}}"
      "],\"stopReason\":\"tool_use\"},"
      "{\"events\":[{\"text\":\"ok\"}],\"stopReason\":\"end_turn\"}]}");
  g_autofree gchar *outside = NULL;
  g_autofree gchar *secret = NULL;
  g_autofree gchar *id = NULL;
  g_autoptr (GHashTable) results = NULL;
  g_autoptr (JsonObject) done = NULL;
  GHashTableIter iter;
  gpointer value;

  if (t == NULL)
    return;
  outside = g_build_filename (t->f->daemon->dir, "home-secrets", NULL);
  g_assert_cmpint (g_mkdir_with_parents (outside, 0700), ==, 0);
  write_file (outside, "secret.txt", "TOKEN=hunter2\n");
  secret = g_build_filename (outside, "secret.txt", NULL);
  write_file (t->f->workdir, "inside.txt", "TOKEN=public\n");
  symlink_in (t->f->workdir, "notes.txt", secret);
  symlink_in (t->f->workdir, "docs", outside);
  symlink_in (t->f->workdir, "alias.txt", "inside.txt");
  call_void (t, "set_approval_mode", ",\"mode\":\"read_only\"");
  id = agent_turn_send (t, "Look around");
  results = wait_results (t, 6);
  done = agent_turn_wait (t, "stream:done");
  agent_assert_reply_ok (t->sender, id);

  g_hash_table_iter_init (&iter, results);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      g_autoptr (JsonNode) node = json_node_init_object (json_node_alloc (), value);
      g_autofree gchar *text = cw_json_to_string (node);
      g_assert_null (strstr (text, "hunter2"));
    }
  /* grep finds the inside file (directly and through the inside link), not the secret. */
  g_assert_nonnull (strstr (result_text (results, "grep"), "inside.txt:1: TOKEN=public"));
  g_assert_nonnull (strstr (result_text (results, "grep"), "alias.txt:1: TOKEN=public"));
  g_assert_nonnull (strstr (result_text (results, "grep"), "2 symlinks leading outside"));
  g_assert_null (strstr (result_text (results, "glob"), "notes.txt"));
  g_assert_nonnull (strstr (result_text (results, "glob"), "alias.txt"));
  /* ls names the link but does not follow it. */
  g_assert_nonnull (strstr (result_text (results, "ls"), "notes.txt@\n"));
  g_assert_nonnull (strstr (result_text (results, "ls"), "docs@\n"));
  g_assert_cmpstr (result_text (results, "read"), ==, "Permission denied");
  g_assert_cmpstr (result_text (results, "grepdir"), ==, "Permission denied");
  g_assert_nonnull (strstr (result_text (results, "alias"), "TOKEN=public"));
  g_assert_cmpint (agent_find (t->seen, "permission:request", 0), ==, -1);
}

/* In auto mode, reading through such a link asks, and the prompt says where it leads. */
static void
test_symlink_prompt_names_target (void)
{
  g_autoptr (AgentTurn) t = agent_turn_new (
      "{\"responses\":["
      "{\"events\":[{\"toolCall\":{\"id\":\"read\",\"name\":\"read_file\",\"args\":{\"path\":"
      "\"notes.txt\"}}}],\"stopReason\":\"tool_use\"},"
      "{\"events\":[{\"text\":\"ok\"}],\"stopReason\":\"end_turn\"}]}");
  g_autofree gchar *secret = NULL;
  g_autofree gchar *id = NULL;
  g_autoptr (JsonObject) req = NULL;
  g_autoptr (JsonObject) res = NULL;
  g_autoptr (JsonObject) done = NULL;
  g_autoptr (JsonNode) answered = NULL;
  JsonObject *request;

  if (t == NULL)
    return;
  write_file (t->f->daemon->dir, "secret.txt", "TOKEN=hunter2\n");
  secret = g_build_filename (t->f->daemon->dir, "secret.txt", NULL);
  symlink_in (t->f->workdir, "notes.txt", secret);
  id = agent_turn_send (t, "Read the notes");
  req = agent_turn_wait (t, "permission:request");
  request = json_object_get_object_member (agent_event_data (req), "request");
  g_assert_nonnull (strstr (json_object_get_string_member (request, "reason"), secret));
  answered = agent_call (t->f->client, "respond_permission",
                         "{\"permissionId\":\"%s\",\"decision\":\"deny\"}",
                         json_object_get_string_member (request, "id"));
  res = agent_turn_wait (t, "tool:result");
  g_assert_cmpstr (json_object_get_string_member (result_of (res), "error"), ==,
                   "Permission denied");
  done = agent_turn_wait (t, "stream:done");
  agent_assert_reply_ok (t->sender, id);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cowork/agent/confinement/symlinks-read-only", test_symlinks_read_only);
  g_test_add_func ("/cowork/agent/confinement/symlink-prompt-names-target",
                   test_symlink_prompt_names_target);
  return g_test_run ();
}
