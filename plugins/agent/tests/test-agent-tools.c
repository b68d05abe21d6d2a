/* test-agent-tools.c: tools and the permission engine in whole turns (plan mode, shared
 * prompts, allow_session, the shell tool and its process group, todos), the queue resuming
 * after kill -9, and retried send_message calls attaching to the running turn.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-agent-test.h"

#include <errno.h>
#include <signal.h>

static void
test_plan_mode (void)
{
  g_autoptr (AgentTurn) t = agent_turn_new (
      "{\"responses\":["
      "{\"events\":[{\"toolCall\":{\"id\":\"c1\",\"name\":\"write_file\",\"args\":{\"path\":"
      "\"x.txt\",\"content\":\"x\"}}}],\"stopReason\":\"tool_use\"},"
      "{\"events\":[{\"text\":\"Plan: 1. write x.txt\"}],\"stopReason\":\"end_turn\"},"
      "{\"events\":[{\"text\":\"Executing.\"}],\"stopReason\":\"end_turn\"}]}");
  g_autofree gchar *id = NULL;
  g_autofree gchar *x = NULL;
  g_autoptr (JsonObject) res = NULL;
  g_autoptr (JsonObject) ask = NULL;
  g_autoptr (JsonObject) done = NULL;
  g_autoptr (JsonObject) last = NULL;
  g_autoptr (JsonNode) answered = NULL;
  g_autoptr (JsonNode) info = NULL;
  JsonObject *request;

  if (t == NULL)
    return;
  agent_turn_call (t, "set_execution_mode", ",\"mode\":\"plan\"");
  id = agent_turn_send (t, "Make x.txt");
  res = agent_turn_wait (t, "tool:result");
  g_assert_false (json_object_get_boolean_member (agent_tool_result (res), "success"));
  g_assert_true (g_str_has_prefix (json_object_get_string_member (agent_tool_result (res), "error"),
                                   "Plan mode blocks \"write_file\""));
  x = g_build_filename (t->f->workdir, "x.txt", NULL);
  g_assert_false (g_file_test (x, G_FILE_TEST_EXISTS));

  /* After the plan: stream:done, then the approval question, and the turn waits. */
  ask = agent_turn_wait (t, "question:ask");
  g_assert_cmpint (agent_find (t->seen, "stream:done", 0), >=, 0);
  request = json_object_get_object_member (agent_event_data (ask), "request");
  g_assert_cmpstr (json_object_get_string_member (request, "header"), ==, "Plan Approval");
  g_assert_cmpstr (
      json_object_get_string_member (
          json_array_get_object_element (json_object_get_array_member (request, "options"), 0),
          "value"),
      ==, "accept_execute");
  answered = agent_call (t->f->client, "respond_question",
                         "{\"questionId\":\"%s\",\"answer\":\"accept_execute\"}",
                         json_object_get_string_member (request, "id"));
  do
    {
      g_clear_pointer (&done, json_object_unref);
      done = agent_turn_wait (t, "stream:done");
    }
  while (FALSE);
  agent_assert_reply_ok (t->sender, id);
  last = agent_turn_request_last_message (t, 2);
  g_assert_cmpstr (json_object_get_string_member (last, "role"), ==, "user");
  /* The approved plan comes back as the next turn's message (as in the original). */
  g_assert_true (g_str_has_prefix (json_object_get_string_member (last, "content"),
                                   "Approved plan:\n\nPlan: 1. write x.txt\n\n"));
  info = agent_call (t->f->client, "get_session", "{\"sessionId\":\"%s\"}", t->session);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (info), "executionMode"), ==,
                   "execute");
}

static void
test_shared_prompt_and_allow_session (void)
{
  g_autoptr (AgentFixture) probe = NULL;
  g_autofree gchar *script = NULL;
  g_autoptr (AgentTurn) t = NULL;
  g_autofree gchar *outside = NULL;
  g_autofree gchar *id = NULL;
  g_autoptr (JsonObject) req = NULL;
  g_autoptr (JsonObject) done = NULL;
  g_autoptr (JsonNode) res = NULL;
  g_autoptr (JsonNode) boot = NULL;
  JsonObject *runtime;
  gint first, second;

  /* The outside file lives next to the project, in the daemon's temp dir; its path is only
   * known once the fixture exists, so the script refers to it as ../outside.txt. */
  script = g_strdup (
      "{\"responses\":["
      "{\"events\":[{\"toolCall\":{\"id\":\"c1\",\"name\":\"read_file\",\"args\":{\"path\":"
      "\"../outside.txt\"}}},{\"toolCall\":{\"id\":\"c2\",\"name\":\"read_file\",\"args\":"
      "{\"path\":\"../outside.txt\"}}}],\"stopReason\":\"tool_use\"},"
      "{\"events\":[{\"toolCall\":{\"id\":\"c3\",\"name\":\"read_file\",\"args\":{\"path\":"
      "\"../outside.txt\"}}}],\"stopReason\":\"tool_use\"},"
      "{\"events\":[{\"text\":\"read it\"}],\"stopReason\":\"end_turn\"}]}");
  t = agent_turn_new (script);
  if (t == NULL)
    return;
  outside = g_build_filename (t->f->daemon->dir, "outside.txt", NULL);
  g_assert_true (g_file_set_contents (outside, "secret-ish", -1, NULL));
  id = agent_turn_send (t, "Read the outside file twice");
  req = agent_turn_wait (t, "permission:request");
  g_assert_cmpstr (
      json_object_get_string_member (
          json_object_get_object_member (agent_event_data (req), "request"), "resource"),
      ==, outside);
  /* Outside the working dir asks even in auto mode; both identical calls share it. */
  boot = agent_call (t->f->client, "agent_get_bootstrap_state", NULL);
  runtime = json_object_get_object_member (
      json_object_get_object_member (json_node_get_object (boot), "runtime"), t->session);
  g_assert_cmpuint (
      json_array_get_length (json_object_get_array_member (runtime, "pendingPermissions")), ==, 1);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (runtime, "activeToolIds")),
                    ==, 2);
  res = agent_call (t->f->client, "respond_permission",
                    "{\"permissionId\":\"%s\",\"decision\":\"allow_session\"}",
                    json_object_get_string_member (
                        json_object_get_object_member (agent_event_data (req), "request"), "id"));
  done = agent_turn_wait (t, "stream:done");
  agent_assert_reply_ok (t->sender, id);
  /* One prompt for all three calls: the third passed by the session grant. */
  first = agent_find (t->seen, "permission:request", 0);
  second = agent_find (t->seen, "permission:request", first + 1);
  g_assert_cmpint (first, >=, 0);
  g_assert_cmpint (second, ==, -1);
  {
    g_autoptr (JsonObject) last = agent_turn_request_last_message (t, 2);
    g_assert_nonnull (strstr (json_object_get_string_member (last, "content"), "secret-ish"));
  }
  g_clear_pointer (&boot, json_node_unref);
  boot = agent_call (t->f->client, "agent_get_bootstrap_state", NULL);
  runtime = json_object_get_object_member (
      json_object_get_object_member (json_node_get_object (boot), "runtime"), t->session);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (
                        json_object_get_object_member (runtime, "permissionScopes"), "file_read")),
                    ==, 1);
}

static void
test_execute_full_mode (void)
{
  g_autoptr (AgentTurn) t = agent_turn_new (
      "{\"responses\":["
      "{\"events\":[{\"toolCall\":{\"id\":\"c1\",\"name\":\"execute\",\"args\":{\"command\":"
      "\"echo hi; echo oops >&2; pwd\"}}}],\"stopReason\":\"tool_use\"},"
      "{\"events\":[{\"toolCall\":{\"id\":\"c2\",\"name\":\"execute\",\"args\":{\"command\":"
      "\"rm -rf build\"}}}],\"stopReason\":\"tool_use\"},"
      "{\"events\":[{\"text\":\"ok\"}],\"stopReason\":\"end_turn\"}]}");
  g_autofree gchar *id = NULL;
  g_autoptr (JsonObject) r1 = NULL;
  g_autoptr (JsonObject) req = NULL;
  g_autoptr (JsonObject) r2 = NULL;
  g_autoptr (JsonObject) done = NULL;
  g_autoptr (JsonNode) res = NULL;
  const gchar *out;
  JsonObject *request;

  if (t == NULL)
    return;
  agent_turn_call (t, "set_approval_mode", ",\"mode\":\"full\"");
  id = agent_turn_send (t, "Run things");
  /* full mode runs a plain command without asking, in the working directory. */
  r1 = agent_turn_wait (t, "tool:result");
  g_assert_true (json_object_get_boolean_member (agent_tool_result (r1), "success"));
  out = json_object_get_string_member (agent_tool_result (r1), "result");
  g_assert_nonnull (strstr (out, "hi\n"));
  g_assert_nonnull (strstr (out, "oops"));
  g_assert_nonnull (strstr (out, t->f->workdir));
  g_assert_nonnull (strstr (out, "Exit code: 0"));
  g_assert_cmpint (agent_find (t->seen, "permission:request", 0), ==, -1);
  /* ... but a dangerous one always asks. */
  req = agent_turn_wait (t, "permission:request");
  request = json_object_get_object_member (agent_event_data (req), "request");
  g_assert_cmpstr (json_object_get_string_member (request, "type"), ==, "shell_execute");
  g_assert_cmpstr (json_object_get_string_member (request, "command"), ==, "rm -rf build");
  /* Contract §4.4: shell commands are medium, whatever they do. */
  g_assert_cmpstr (json_object_get_string_member (request, "riskLevel"), ==, "medium");
  res = agent_call (t->f->client, "respond_permission",
                    "{\"permissionId\":\"%s\",\"decision\":\"deny\"}",
                    json_object_get_string_member (request, "id"));
  r2 = agent_turn_wait (t, "tool:result");
  g_assert_false (json_object_get_boolean_member (agent_tool_result (r2), "success"));
  done = agent_turn_wait (t, "stream:done");
  agent_assert_reply_ok (t->sender, id);
}

#define SLEEP_SCRIPT                                                                               \
  "{\"responses\":["                                                                               \
  "{\"events\":[{\"toolCall\":{\"id\":\"c1\",\"name\":\"execute\",\"args\":{\"command\":"          \
  "\"echo $$ > pg.txt; sleep 30 & sleep 30\"}}}],\"stopReason\":\"tool_use\"},"                    \
  "{\"events\":[{\"text\":\"never\"}],\"stopReason\":\"end_turn\"}]}"

/* Sends a message whose tool runs two sleeps (one in the background) in a process group;
 * returns the group once it runs. */
static pid_t
start_sleeps (AgentTurn *t, gchar **id, gint64 deadline)
{
  g_autofree gchar *pg_file = g_build_filename (t->f->workdir, "pg.txt", NULL);
  g_autofree gchar *pg_text = NULL;
  pid_t pgid;

  agent_turn_call (t, "set_approval_mode", ",\"mode\":\"full\"");
  *id = agent_turn_send (t, "Sleep");
  json_object_unref (agent_turn_wait (t, "tool:start"));
  while (!g_file_get_contents (pg_file, &pg_text, NULL, NULL) || *g_strstrip (pg_text) == '\0')
    {
      g_clear_pointer (&pg_text, g_free);
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (10000);
    }
  pgid = (pid_t) g_ascii_strtoll (pg_text, NULL, 10);
  g_assert_cmpint (kill (-pgid, 0), ==, 0);
  return pgid;
}

/* Both sleeps (the background one too) are gone with their group. */
static void
assert_group_gone (pid_t pgid, gint64 deadline)
{
  while (kill (-pgid, 0) == 0)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (10000);
    }
  g_assert_cmpint (errno, ==, ESRCH);
}

static void
test_stop_kills_process_group (void)
{
  g_autoptr (AgentTurn) t = agent_turn_new (SLEEP_SCRIPT);
  g_autofree gchar *id = NULL;
  g_autoptr (JsonObject) res = NULL;
  g_autoptr (JsonObject) done = NULL;
  gint64 deadline = g_get_monotonic_time () + 5 * G_TIME_SPAN_SECOND;
  gint64 stopped_at;
  pid_t pgid;

  if (t == NULL)
    return;
  pgid = start_sleeps (t, &id, deadline);
  stopped_at = g_get_monotonic_time ();
  agent_turn_call (t, "stop_generation", "");
  res = agent_turn_wait (t, "tool:result");
  g_assert_false (json_object_get_boolean_member (agent_tool_result (res), "success"));
  done = agent_turn_wait (t, "stream:done");
  g_assert_cmpint (g_get_monotonic_time () - stopped_at, <, 3 * G_TIME_SPAN_SECOND);
  agent_assert_reply_ok (t->sender, id);
  assert_group_gone (pgid, deadline + 5 * G_TIME_SPAN_SECOND);
}

/* `systemctl stop` while a tool runs: the daemon exits 0 at once and leaves no process of
 * the tool behind. */
static void
test_daemon_stop_during_tool (void)
{
  g_autoptr (AgentTurn) t = agent_turn_new (SLEEP_SCRIPT);
  g_autofree gchar *id = NULL;
  gint64 deadline = g_get_monotonic_time () + 5 * G_TIME_SPAN_SECOND;
  gint64 stopped_at;
  pid_t pgid;

  if (t == NULL)
    return;
  pgid = start_sleeps (t, &id, deadline);
  g_clear_pointer (&t->sender, cw_client_free);
  stopped_at = g_get_monotonic_time ();
  agent_fixture_stop (t->f, SIGTERM);
  g_assert_cmpint (g_get_monotonic_time () - stopped_at, <, 5 * G_TIME_SPAN_SECOND);
  assert_group_gone (pgid, g_get_monotonic_time () + 5 * G_TIME_SPAN_SECOND);
}

static void
test_write_todos (void)
{
  g_autoptr (AgentTurn) t = agent_turn_new (
      "{\"responses\":["
      "{\"events\":[{\"toolCall\":{\"id\":\"c1\",\"name\":\"write_todos\",\"args\":{\"todos\":"
      "[{\"content\":\"Read code\",\"status\":\"completed\"},{\"content\":\"Fix bug\","
      "\"status\":\"in_progress\",\"activeForm\":\"Fixing bug\"}]}}}],"
      "\"stopReason\":\"tool_use\"},"
      "{\"events\":[{\"text\":\"ok\"}],\"stopReason\":\"end_turn\"}]}");
  g_autofree gchar *id = NULL;
  g_autoptr (JsonObject) set = NULL;
  g_autoptr (JsonObject) done = NULL;
  g_autoptr (JsonNode) tasks = NULL;
  JsonArray *arr;

  if (t == NULL)
    return;
  id = agent_turn_send (t, "Plan todos");
  set = agent_turn_wait (t, "task:set");
  arr = json_object_get_array_member (agent_event_data (set), "tasks");
  g_assert_cmpuint (json_array_get_length (arr), ==, 2);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (arr, 1), "status"),
                   ==, "in_progress");
  done = agent_turn_wait (t, "stream:done");
  agent_assert_reply_ok (t->sender, id);
  agent_fixture_stop (t->f, SIGKILL);
  agent_fixture_start (t->f);
  tasks = agent_call (t->f->client, "get_tasks", "{\"sessionId\":\"%s\"}", t->session);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (tasks)), ==, 2);
  g_assert_cmpstr (json_object_get_string_member (
                       json_array_get_object_element (json_node_get_array (tasks), 0), "subject"),
                   ==, "Read code");
}

/* The first stored event of @type for the turn's session, waiting up to 20 s for it. */
static JsonObject *
wait_stored_event (AgentTurn *t, const gchar *type)
{
  for (guint attempt = 0; attempt < 200; attempt++)
    {
      g_autoptr (JsonNode) replay
          = agent_call (t->f->client, "agent_get_events_since", "{\"afterSeq\":0,\"limit\":10000}");
      JsonArray *events = json_object_get_array_member (json_node_get_object (replay), "events");

      for (guint i = 0; i < json_array_get_length (events); i++)
        {
          JsonObject *e = json_array_get_object_element (events, i);
          if (g_strcmp0 (json_object_get_string_member (e, "type"), type) == 0
              && g_strcmp0 (json_object_get_string_member_with_default (e, "sessionId", NULL),
                            t->session)
                     == 0)
            return json_object_ref (e);
        }
      g_usleep (100 * 1000);
    }
  g_error ("no stored %s event for %s", type, t->session);
}

static void
test_queue_resumes_after_kill (void)
{
  g_autoptr (AgentTurn) t = agent_turn_new ("{\"responses\":[{\"events\":[{\"text\":\"slow\"},"
                                            "{\"delayMs\":8000}],\"stopReason\":\"end_turn\"},"
                                            "{\"events\":[{\"text\":\"queued one ran\"}],"
                                            "\"stopReason\":\"end_turn\"}]}");
  g_autofree gchar *id = NULL;
  g_autoptr (JsonObject) chunk = NULL;
  g_autoptr (JsonObject) done = NULL;
  g_autoptr (JsonObject) last = NULL;
  g_autoptr (JsonNode) queued = NULL;
  g_autoptr (JsonNode) queue = NULL;

  if (t == NULL)
    return;
  id = agent_turn_send (t, "one");
  chunk = agent_turn_wait (t, "stream:chunk");
  queued = agent_call (t->f->client, "send_message", "{\"sessionId\":\"%s\",\"content\":\"two\"}",
                       t->session);
  queue = agent_call (t->f->client, "get_queue", "{\"sessionId\":\"%s\"}", t->session);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (queue)), ==, 1);
  g_clear_pointer (&t->sender, cw_client_free);
  agent_fixture_stop (t->f, SIGKILL);
  agent_fixture_start (t->f);
  /* Nobody asks: the queued message runs by itself after the restart. It may end before
   * this client is subscribed, so look for its stream:done in the stored events. */
  done = wait_stored_event (t, "stream:done");
  last = agent_turn_request_last_message (t, 1);
  g_assert_cmpstr (json_object_get_string_member (last, "content"), ==, "two");
  g_clear_pointer (&queue, json_node_unref);
  queue = agent_call (t->f->client, "get_queue", "{\"sessionId\":\"%s\"}", t->session);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (queue)), ==, 0);
}

/* `systemctl stop` in the middle of a streamed reply: the daemon does not wait for the
 * provider (which would go on for a minute) and exits 0 at once. */
static void
test_stop_during_stream (void)
{
  g_autoptr (AgentTurn) t = agent_turn_new ("{\"responses\":[{\"events\":[{\"text\":\"slow\"},"
                                            "{\"delayMs\":60000}],\"stopReason\":\"end_turn\"}]}");
  g_autofree gchar *id = NULL;
  g_autoptr (JsonObject) chunk = NULL;
  gint64 t0;

  if (t == NULL)
    return;
  id = agent_turn_send (t, "one");
  chunk = agent_turn_wait (t, "stream:chunk");
  g_clear_pointer (&t->sender, cw_client_free);
  t0 = g_get_monotonic_time ();
  agent_fixture_stop (t->f, SIGTERM);
  g_assert_cmpint (g_get_monotonic_time () - t0, <, 5 * G_TIME_SPAN_SECOND);
}

static void
test_retry_attaches (void)
{
  g_autoptr (AgentTurn) t = agent_turn_new ("{\"responses\":[{\"events\":[{\"text\":\"a\"},"
                                            "{\"delayMs\":500},{\"text\":\"b\"}],"
                                            "\"stopReason\":\"end_turn\"}]}");
  g_autoptr (CwClient) second = NULL;
  g_autofree gchar *id1 = NULL, *id2 = NULL;
  g_autoptr (JsonObject) chunk = NULL;
  g_autoptr (JsonNode) queue = NULL;
  g_autoptr (GPtrArray) reqs = NULL;

  if (t == NULL)
    return;
  second = cw_test_daemon_connect (t->f->daemon);
  id1 = agent_send (t->sender, "send_message",
                    "{\"sessionId\":\"%s\",\"content\":\"hi\",\"_idempotencyKey\":"
                    "\"send_message-42\",\"_retryAttempt\":1}",
                    t->session);
  chunk = agent_turn_wait (t, "stream:chunk");
  /* The host's retry of the same call while the turn runs. */
  id2 = agent_send (second, "send_message",
                    "{\"sessionId\":\"%s\",\"content\":\"hi\",\"_idempotencyKey\":"
                    "\"send_message-42\",\"_retryAttempt\":2}",
                    t->session);
  queue = agent_call (t->f->client, "get_queue", "{\"sessionId\":\"%s\"}", t->session);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (queue)), ==, 0);
  agent_assert_reply_ok (second, id2);
  agent_assert_reply_ok (t->sender, id1);
  reqs = agent_fixture_llm_requests (t->f);
  g_assert_cmpuint (reqs->len, ==, 1);
}

static void
test_file_tools (void)
{
  g_autoptr (AgentTurn) t = agent_turn_new (
      "{\"responses\":["
      "{\"events\":["
      "{\"toolCall\":{\"id\":\"e\",\"name\":\"edit_file\",\"args\":{\"path\":\"a.c\","
      "\"old_string\":\"x = 1\",\"new_string\":\"x = 2\"}}},"
      "{\"toolCall\":{\"id\":\"g\",\"name\":\"glob\",\"args\":{\"pattern\":\"*.h\"}}},"
      "{\"toolCall\":{\"id\":\"r\",\"name\":\"grep\",\"args\":{\"pattern\":\"int [xy]\"}}},"
      "{\"toolCall\":{\"id\":\"l\",\"name\":\"ls\",\"args\":{}}}],"
      "\"stopReason\":\"tool_use\"},"
      "{\"events\":[{\"toolCall\":{\"id\":\"d\",\"name\":\"delete_file\",\"args\":"
      "{\"path\":\"a.c\"}}}],\"stopReason\":\"tool_use\"},"
      "{\"events\":[{\"text\":\"ok\"}],\"stopReason\":\"end_turn\"}]}");
  g_autofree gchar *id = NULL;
  g_autofree gchar *a = NULL, *sub = NULL, *b = NULL, *contents = NULL;
  g_autoptr (GHashTable) results
      = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) json_object_unref);
  g_autoptr (JsonObject) req = NULL;
  g_autoptr (JsonObject) done = NULL;
  g_autoptr (JsonNode) res = NULL;
  JsonObject *r;

  if (t == NULL)
    return;
  a = g_build_filename (t->f->workdir, "a.c", NULL);
  sub = g_build_filename (t->f->workdir, "sub", NULL);
  b = g_build_filename (sub, "b.h", NULL);
  g_assert_true (g_file_set_contents (a, "int x = 1;\n", -1, NULL));
  g_assert_cmpint (g_mkdir_with_parents (sub, 0700), ==, 0);
  g_assert_true (g_file_set_contents (b, "int y;\n", -1, NULL));
  agent_turn_call (t, "set_approval_mode", ",\"mode\":\"full\"");
  id = agent_turn_send (t, "Use the file tools");
  for (guint i = 0; i < 4; i++)
    {
      JsonObject *ev = agent_turn_wait (t, "tool:result");
      r = agent_tool_result (ev);
      g_hash_table_insert (results, g_strdup (json_object_get_string_member (r, "toolCallId")),
                           json_object_ref (r));
      json_object_unref (ev);
    }
  r = g_hash_table_lookup (results, "e");
  g_assert_true (json_object_get_boolean_member (r, "success"));
  g_assert_true (g_file_get_contents (a, &contents, NULL, NULL));
  g_assert_cmpstr (contents, ==, "int x = 2;\n");
  r = g_hash_table_lookup (results, "g");
  g_assert_nonnull (strstr (json_object_get_string_member (r, "result"), "sub/b.h"));
  r = g_hash_table_lookup (results, "r");
  g_assert_nonnull (strstr (json_object_get_string_member (r, "result"), "sub/b.h:1: int y;"));
  r = g_hash_table_lookup (results, "l");
  g_assert_nonnull (strstr (json_object_get_string_member (r, "result"), "sub/\n"));
  g_assert_nonnull (strstr (json_object_get_string_member (r, "result"), "a.c\n"));
  /* full mode still asks before deleting. */
  req = agent_turn_wait (t, "permission:request");
  g_assert_cmpstr (json_object_get_string_member (
                       json_object_get_object_member (agent_event_data (req), "request"), "type"),
                   ==, "file_delete");
  res = agent_call (t->f->client, "respond_permission",
                    "{\"permissionId\":\"%s\",\"decision\":\"allow_once\"}",
                    json_object_get_string_member (
                        json_object_get_object_member (agent_event_data (req), "request"), "id"));
  done = agent_turn_wait (t, "stream:done");
  agent_assert_reply_ok (t->sender, id);
  g_assert_false (g_file_test (a, G_FILE_TEST_EXISTS));
  g_assert_cmpint (agent_find (t->seen, "artifact:created", 0), >=, 0);
  g_clear_pointer (&res, json_node_unref);
  res = agent_call (t->f->client, "get_artifacts", "{\"sessionId\":\"%s\"}", t->session);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (res)), ==, 2);
}

static void
test_approval_modes (void)
{
  g_autoptr (AgentTurn) t = agent_turn_new (
      "{\"responses\":["
      "{\"events\":["
      "{\"toolCall\":{\"id\":\"w\",\"name\":\"write_file\",\"args\":{\"path\":\"n.txt\","
      "\"content\":\"n\"}}},"
      "{\"toolCall\":{\"id\":\"x\",\"name\":\"execute\",\"args\":{\"command\":\"ls\"}}}],"
      "\"stopReason\":\"tool_use\"},"
      "{\"events\":[{\"text\":\"ok\"}],\"stopReason\":\"end_turn\"}]}");
  g_autofree gchar *id = NULL;
  g_autoptr (JsonObject) r1 = NULL, r2 = NULL, done = NULL;

  if (t == NULL)
    return;
  /* read_only: writes and commands are denied without a prompt. */
  agent_turn_call (t, "set_approval_mode", ",\"mode\":\"read_only\"");
  id = agent_turn_send (t, "Try");
  r1 = agent_turn_wait (t, "tool:result");
  r2 = agent_turn_wait (t, "tool:result");
  g_assert_cmpstr (json_object_get_string_member (agent_tool_result (r1), "error"), ==,
                   "Permission denied");
  g_assert_cmpstr (json_object_get_string_member (agent_tool_result (r2), "error"), ==,
                   "Permission denied");
  done = agent_turn_wait (t, "stream:done");
  agent_assert_reply_ok (t->sender, id);
  g_assert_cmpint (agent_find (t->seen, "permission:request", 0), ==, -1);
}

static void
test_turn_needs_no_client (void)
{
  g_autoptr (AgentTurn) t = agent_turn_new ("{\"responses\":[{\"events\":[{\"text\":\"a\"},"
                                            "{\"delayMs\":300},{\"text\":\"b\"}],"
                                            "\"stopReason\":\"end_turn\"}]}");
  g_autofree gchar *id = NULL;
  g_autoptr (JsonObject) start = NULL;
  g_autoptr (JsonObject) done = NULL;
  g_autoptr (JsonNode) info = NULL;
  JsonArray *items;

  if (t == NULL)
    return;
  id = agent_turn_send (t, "go");
  start = agent_turn_wait (t, "stream:start");
  /* The client that asked goes away; the turn goes on. */
  g_clear_pointer (&t->sender, cw_client_free);
  done = agent_turn_wait (t, "stream:done");
  info = agent_call (t->f->client, "get_session", "{\"sessionId\":\"%s\"}", t->session);
  items = json_object_get_array_member (json_node_get_object (info), "chatItems");
  g_assert_cmpstr (
      json_object_get_string_member (json_array_get_object_element (items, 1), "content"), ==,
      "ab");
}

static void
test_stop_while_waiting_for_permission (void)
{
  g_autoptr (AgentTurn) t = agent_turn_new (
      "{\"responses\":[{\"events\":[{\"toolCall\":{\"id\":\"c1\",\"name\":\"write_file\","
      "\"args\":{\"path\":\"../a.txt\",\"content\":\"a\"}}}],\"stopReason\":\"tool_use\"}]}");
  g_autofree gchar *id = NULL;
  g_autoptr (JsonObject) req = NULL, resolved = NULL, done = NULL;
  g_autoptr (JsonNode) info = NULL;
  g_autoptr (GPtrArray) reqs = NULL;

  if (t == NULL)
    return;
  id = agent_turn_send (t, "write");
  req = agent_turn_wait (t, "permission:request");
  agent_turn_call (t, "stop_generation", "");
  resolved = agent_turn_wait (t, "permission:resolved");
  g_assert_cmpstr (json_object_get_string_member (agent_event_data (resolved), "decision"), ==,
                   "deny");
  done = agent_turn_wait (t, "stream:done");
  agent_assert_reply_ok (t->sender, id);
  info = agent_call (t->f->client, "get_session", "{\"sessionId\":\"%s\"}", t->session);
  g_assert_cmpstr (
      json_object_get_string_member (
          json_object_get_object_member (json_node_get_object (info), "runtime"), "runState"),
      ==, "cancelled");
  /* Stopped: the model is not asked again. */
  reqs = agent_fixture_llm_requests (t->f);
  g_assert_cmpuint (reqs->len, ==, 1);
}

static void
test_queue_operations (void)
{
  g_autoptr (AgentTurn) t = agent_turn_new ("{\"responses\":[{\"events\":[{\"text\":\"slow\"},"
                                            "{\"delayMs\":8000}],\"stopReason\":\"end_turn\"},"
                                            "{\"events\":[{\"text\":\"next\"}],"
                                            "\"stopReason\":\"end_turn\"}]}");
  g_autofree gchar *id = NULL;
  g_autofree gchar *two = NULL, *three = NULL;
  g_autoptr (JsonObject) chunk = NULL;
  g_autoptr (JsonNode) q = NULL, res = NULL;
  JsonArray *arr;

  if (t == NULL)
    return;
  id = agent_turn_send (t, "one");
  chunk = agent_turn_wait (t, "stream:chunk");
  res = agent_call (t->f->client, "send_message", "{\"sessionId\":\"%s\",\"content\":\"two\"}",
                    t->session);
  g_clear_pointer (&res, json_node_unref);
  res = agent_call (t->f->client, "send_message", "{\"sessionId\":\"%s\",\"content\":\"three\"}",
                    t->session);
  q = agent_call (t->f->client, "get_queue", "{\"sessionId\":\"%s\"}", t->session);
  arr = json_node_get_array (q);
  two = g_strdup (json_object_get_string_member (json_array_get_object_element (arr, 0), "id"));
  three = g_strdup (json_object_get_string_member (json_array_get_object_element (arr, 1), "id"));

  g_clear_pointer (&res, json_node_unref);
  res = agent_call (t->f->client, "edit_queued_message",
                    "{\"sessionId\":\"%s\",\"messageId\":\"%s\",\"content\":\"THREE\"}", t->session,
                    three);
  g_assert_true (json_node_get_boolean (res));
  g_clear_pointer (&res, json_node_unref);
  res = agent_call (t->f->client, "remove_from_queue",
                    "{\"sessionId\":\"%s\",\"messageId\":\"%s\"}", t->session, two);
  g_assert_true (json_node_get_boolean (res));
  g_clear_pointer (&res, json_node_unref);
  res = agent_call (t->f->client, "remove_from_queue",
                    "{\"sessionId\":\"%s\",\"messageId\":\"%s\"}", t->session, two);
  g_assert_false (json_node_get_boolean (res));
  /* Jump the queue: the slow turn stops and THREE runs next. */
  g_clear_pointer (&res, json_node_unref);
  res = agent_call (t->f->client, "send_queued_immediately",
                    "{\"sessionId\":\"%s\",\"messageId\":\"%s\"}", t->session, three);
  g_assert_true (json_node_get_boolean (res));
  agent_assert_reply_ok (t->sender, id);
  {
    g_autoptr (JsonObject) last = agent_turn_request_last_message (t, 1);
    g_assert_cmpstr (json_object_get_string_member (last, "content"), ==, "THREE");
  }
  g_clear_pointer (&q, json_node_unref);
  q = agent_call (t->f->client, "get_queue", "{\"sessionId\":\"%s\"}", t->session);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (q)), ==, 0);
}

static void
test_output_cap (void)
{
  g_autoptr (AgentTurn) t = agent_turn_new (
      "{\"responses\":[{\"events\":[{\"toolCall\":{\"id\":\"c1\",\"name\":\"execute\","
      "\"args\":{\"command\":\"head -c 10000 /dev/zero | tr '\\\\000' a\"}}}],"
      "\"stopReason\":\"tool_use\"},"
      "{\"events\":[{\"text\":\"ok\"}],\"stopReason\":\"end_turn\"}]}");
  g_autofree gchar *id = NULL;
  g_autoptr (JsonObject) r = NULL, done = NULL;
  g_autoptr (JsonNode) res = NULL;
  const gchar *out;

  if (t == NULL)
    return;
  res = agent_call (t->f->client, "set_runtime_config",
                    "{\"config\":{\"sandbox\":{\"maxOutputBytes\":2048}}}");
  agent_turn_call (t, "set_approval_mode", ",\"mode\":\"full\"");
  id = agent_turn_send (t, "Flood");
  r = agent_turn_wait (t, "tool:result");
  out = json_object_get_string_member (agent_tool_result (r), "result");
  g_assert_true (g_str_has_prefix (out, "aaaa"));
  g_assert_nonnull (strstr (out, "[output cut to 2048 of 10000 bytes]"));
  g_assert_cmpuint (strlen (out), <, 2200);
  done = agent_turn_wait (t, "stream:done");
  agent_assert_reply_ok (t->sender, id);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cowork/agent/tools/plan-mode", test_plan_mode);
  g_test_add_func ("/cowork/agent/tools/shared-prompt-allow-session",
                   test_shared_prompt_and_allow_session);
  g_test_add_func ("/cowork/agent/tools/execute-full-mode", test_execute_full_mode);
  g_test_add_func ("/cowork/agent/tools/stop-kills-process-group", test_stop_kills_process_group);
  g_test_add_func ("/cowork/agent/tools/write-todos", test_write_todos);
  g_test_add_func ("/cowork/agent/tools/file-tools", test_file_tools);
  g_test_add_func ("/cowork/agent/tools/read-only-mode", test_approval_modes);
  g_test_add_func ("/cowork/agent/turns/needs-no-client", test_turn_needs_no_client);
  g_test_add_func ("/cowork/agent/turns/stop-while-waiting-for-permission",
                   test_stop_while_waiting_for_permission);
  g_test_add_func ("/cowork/agent/queue/operations", test_queue_operations);
  g_test_add_func ("/cowork/agent/tools/output-cap", test_output_cap);
  g_test_add_func ("/cowork/agent/queue/resumes-after-kill", test_queue_resumes_after_kill);
  g_test_add_func ("/cowork/agent/queue/stop-during-stream", test_stop_during_stream);
  g_test_add_func ("/cowork/agent/queue/stop-during-tool", test_daemon_stop_during_tool);
  g_test_add_func ("/cowork/agent/turns/retry-attaches", test_retry_attaches);
  return g_test_run ();
}
