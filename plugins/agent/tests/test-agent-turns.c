/* test-agent-turns.c: full turns through the real daemon against cw-fake-llm (OpenAI wire
 * format, lmstudio provider): streaming, tools behind permissions, questions, stop, queue,
 * provider errors and kill -9 in the middle of a turn.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-agent-test.h"

#include <glib/gstdio.h>
#include <signal.h>

#define WRITE_TOOL_SCRIPT                                                                          \
  "{\"responses\":["                                                                               \
  "{\"events\":[{\"text\":\"Writing.\"},{\"toolCall\":{\"id\":\"call_1\",\"name\":"                \
  "\"write_file\",\"args\":{\"path\":\"../out.txt\",\"content\":\"hi there\"}}}],"                 \
  "\"stopReason\":\"tool_use\",\"usage\":{\"input\":20,\"output\":5}},"                            \
  "{\"events\":[{\"text\":\"Done.\"}],\"stopReason\":\"end_turn\","                                \
  "\"usage\":{\"input\":40,\"output\":2}}]}"

static JsonArray *
chat_items (AgentTurn *t, JsonNode **keep)
{
  *keep = agent_call (t->f->client, "get_session", "{\"sessionId\":\"%s\"}", t->session);
  return json_object_get_array_member (json_node_get_object (*keep), "chatItems");
}

static const gchar *
item_kind (JsonArray *items, guint i)
{
  return json_object_get_string_member (json_array_get_object_element (items, i), "kind");
}

static void
assert_before (GPtrArray *seen, const gchar *a, const gchar *b)
{
  gint ia = agent_find (seen, a, 0);
  gint ib = ia >= 0 ? agent_find (seen, b, ia + 1) : -1;

  if (ia < 0 || ib < 0)
    {
      g_autoptr (GString) all = g_string_new (NULL);
      for (guint i = 0; i < seen->len; i++)
        g_string_append_printf (all, " %s", (const gchar *) g_ptr_array_index (seen, i));
      g_error ("expected %s before %s in:%s", a, b, all->str);
    }
}

static void
test_stream_text (void)
{
  g_autoptr (AgentTurn) t = agent_turn_new ("{\"responses\":[{\"events\":[{\"thinking\":\"Hmm\"},"
                                            "{\"text\":\"Hel\"},{\"text\":\"lo\"}],"
                                            "\"stopReason\":\"end_turn\","
                                            "\"usage\":{\"input\":10,\"output\":5}}]}");
  g_autofree gchar *id = NULL;
  g_autoptr (JsonObject) done = NULL;
  g_autoptr (JsonNode) keep = NULL;
  g_autoptr (JsonObject) last = NULL;
  g_autoptr (JsonNode) usage = NULL;
  JsonArray *items;
  JsonObject *assistant;

  if (t == NULL)
    return;
  id = agent_turn_send (t, "Say hello");
  done = agent_turn_wait (t, "stream:done");
  g_clear_pointer (&done, json_object_unref);
  done = agent_turn_wait (t, "context:usage");
  agent_assert_reply_ok (t->sender, id);

  /* Contract §6.7 order. */
  g_assert_cmpstr (g_ptr_array_index (t->seen, 0), ==, "chat:item");
  assert_before (t->seen, "chat:item", "stream:start");
  assert_before (t->seen, "stream:start", "thinking:start");
  assert_before (t->seen, "thinking:start", "thinking:chunk");
  assert_before (t->seen, "thinking:chunk", "thinking:done");
  assert_before (t->seen, "thinking:done", "stream:chunk");
  assert_before (t->seen, "stream:chunk", "stream:done");
  assert_before (t->seen, "stream:done", "context:update");
  assert_before (t->seen, "context:update", "context:usage");
  g_assert_cmpint (agent_find (t->seen, "error", 0), ==, -1);
  g_assert_cmpint (agent_find (t->seen, "run:health", 0), >, 0);

  items = chat_items (t, &keep);
  g_assert_cmpuint (json_array_get_length (items), ==, 3);
  g_assert_cmpstr (item_kind (items, 0), ==, "user_message");
  g_assert_cmpstr (item_kind (items, 1), ==, "thinking");
  g_assert_cmpstr (item_kind (items, 2), ==, "assistant_message");
  assistant = json_array_get_object_element (items, 2);
  g_assert_cmpstr (json_object_get_string_member (assistant, "content"), ==, "Hello");
  g_assert_cmpstr (
      json_object_get_string_member (json_object_get_object_member (assistant, "stream"), "status"),
      ==, "done");
  for (guint i = 0; i < 3; i++)
    g_assert_cmpint (
        json_object_get_int_member (json_array_get_object_element (items, i), "sequence"), ==, i);
  g_assert_cmpint (json_object_get_int_member (json_node_get_object (keep), "messageCount"), ==, 2);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (keep), "firstMessage"), ==,
                   "Say hello");

  last = agent_turn_request_last_message (t, 0);
  g_assert_cmpstr (json_object_get_string_member (last, "role"), ==, "user");
  g_assert_cmpstr (json_object_get_string_member (last, "content"), ==, "Say hello");
  usage = agent_call (t->f->client, "get_context_usage", "{\"sessionId\":\"%s\"}", t->session);
  g_assert_cmpint (json_object_get_int_member (json_node_get_object (usage), "used"), ==, 15);
}

static void
permission_turn (gboolean allow)
{
  g_autoptr (AgentTurn) t = agent_turn_new (WRITE_TOOL_SCRIPT);
  g_autofree gchar *id = NULL;
  g_autofree gchar *path = NULL;
  g_autofree gchar *contents = NULL;
  g_autoptr (JsonObject) req = NULL;
  g_autoptr (JsonObject) result = NULL;
  g_autoptr (JsonObject) done = NULL;
  g_autoptr (JsonObject) last = NULL;
  g_autoptr (JsonNode) res = NULL;
  g_autoptr (JsonNode) boot = NULL;
  JsonObject *request, *r, *runtime;
  const gchar *perm_id;

  if (t == NULL)
    return;
  path = g_build_filename (t->f->daemon->dir, "out.txt", NULL);
  id = agent_turn_send (t, "Write the file");
  req = agent_turn_wait (t, "permission:request");
  request = json_object_get_object_member (agent_event_data (req), "request");
  perm_id = json_object_get_string_member (request, "id");
  g_assert_true (g_str_has_prefix (perm_id, "perm_"));
  g_assert_cmpstr (json_object_get_string_member (request, "type"), ==, "file_write");
  g_assert_cmpstr (json_object_get_string_member (request, "resource"), ==, path);
  g_assert_cmpstr (json_object_get_string_member (request, "toolName"), ==, "write_file");
  g_assert_cmpstr (json_object_get_string_member (request, "toolCallId"), ==, "call_1");
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
  assert_before (t->seen, "tool:start", "permission:request");

  /* The bootstrap state shows the wait. */
  boot = agent_call (t->f->client, "agent_get_bootstrap_state", NULL);
  runtime = json_object_get_object_member (
      json_object_get_object_member (json_node_get_object (boot), "runtime"), t->session);
  g_assert_cmpstr (json_object_get_string_member (runtime, "runState"), ==, "waiting_permission");
  g_assert_cmpuint (
      json_array_get_length (json_object_get_array_member (runtime, "pendingPermissions")), ==, 1);

  res = agent_call (t->f->client, "respond_permission",
                    "{\"permissionId\":\"%s\",\"decision\":\"%s\"}", perm_id,
                    allow ? "allow_once" : "deny");
  result = agent_turn_wait (t, "tool:result");
  r = json_object_get_object_member (agent_event_data (result), "result");
  g_assert_cmpint (json_object_get_boolean_member (r, "success"), ==, allow);
  done = agent_turn_wait (t, "stream:done");
  agent_assert_reply_ok (t->sender, id);
  assert_before (t->seen, "permission:request", "permission:resolved");
  assert_before (t->seen, "permission:resolved", "tool:result");
  if (allow)
    {
      g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
      g_assert_cmpstr (contents, ==, "hi there");
      g_assert_cmpint (agent_find (t->seen, "artifact:created", 0), >, 0);
    }
  else
    {
      g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
      g_assert_cmpstr (json_object_get_string_member (r, "error"), ==, "Permission denied");
    }
  /* The model got the tool's outcome in the second request. */
  last = agent_turn_request_last_message (t, 1);
  g_assert_cmpstr (json_object_get_string_member (last, "role"), ==, "tool");
  g_assert_cmpstr (json_object_get_string_member (last, "tool_call_id"), ==, "call_1");

  g_clear_pointer (&res, json_node_unref);
  {
    g_autofree gchar *msg
        = agent_call_error (t->f->client, "respond_permission",
                            "{\"permissionId\":\"%s\",\"decision\":\"deny\"}", perm_id);
    g_autofree gchar *expected = g_strdup_printf ("Permission request not found: %s", perm_id);
    g_assert_cmpstr (msg, ==, expected);
  }
}

static void
test_permission_allow (void)
{
  permission_turn (TRUE);
}

static void
test_permission_deny (void)
{
  permission_turn (FALSE);
}

static void
test_read_inside_needs_no_prompt (void)
{
  g_autoptr (AgentTurn) t = agent_turn_new (
      "{\"responses\":[{\"events\":[{\"toolCall\":{\"id\":\"c1\",\"name\":\"read_file\","
      "\"args\":{\"path\":\"notes.txt\"}}}],\"stopReason\":\"tool_use\"},"
      "{\"events\":[{\"text\":\"ok\"}],\"stopReason\":\"end_turn\"}]}");
  g_autofree gchar *id = NULL;
  g_autofree gchar *notes = NULL;
  g_autoptr (JsonObject) done = NULL;
  g_autoptr (JsonObject) last = NULL;

  if (t == NULL)
    return;
  notes = g_build_filename (t->f->workdir, "notes.txt", NULL);
  g_assert_true (g_file_set_contents (notes, "alpha\nbeta\n", -1, NULL));
  id = agent_turn_send (t, "Read notes");
  done = agent_turn_wait (t, "stream:done");
  agent_assert_reply_ok (t->sender, id);
  g_assert_cmpint (agent_find (t->seen, "permission:request", 0), ==, -1);
  last = agent_turn_request_last_message (t, 1);
  g_assert_nonnull (strstr (json_object_get_string_member (last, "content"), "beta"));
}

static void
test_question (void)
{
  g_autoptr (AgentTurn) t = agent_turn_new (
      "{\"responses\":[{\"events\":[{\"toolCall\":{\"id\":\"c1\",\"name\":\"ask_user\","
      "\"args\":{\"question\":\"Which one?\",\"options\":[\"red\",\"blue\"]}}}],"
      "\"stopReason\":\"tool_use\"},"
      "{\"events\":[{\"text\":\"Blue it is.\"}],\"stopReason\":\"end_turn\"}]}");
  g_autofree gchar *id = NULL;
  g_autoptr (JsonObject) ask = NULL;
  g_autoptr (JsonObject) done = NULL;
  g_autoptr (JsonObject) last = NULL;
  g_autoptr (JsonNode) res = NULL;
  g_autoptr (JsonNode) keep = NULL;
  JsonObject *request;
  JsonArray *items;
  const gchar *qid;
  gboolean found = FALSE;

  if (t == NULL)
    return;
  id = agent_turn_send (t, "Pick a colour");
  ask = agent_turn_wait (t, "question:ask");
  request = json_object_get_object_member (agent_event_data (ask), "request");
  qid = json_object_get_string_member (request, "id");
  g_assert_true (g_str_has_prefix (qid, "q_"));
  g_assert_cmpstr (json_object_get_string_member (request, "question"), ==, "Which one?");
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (request, "options")), ==,
                    2);
  res = agent_call (t->f->client, "respond_question", "{\"questionId\":\"%s\",\"answer\":\"blue\"}",
                    qid);
  done = agent_turn_wait (t, "stream:done");
  agent_assert_reply_ok (t->sender, id);
  assert_before (t->seen, "question:ask", "question:answered");
  last = agent_turn_request_last_message (t, 1);
  g_assert_cmpstr (json_object_get_string_member (last, "content"), ==, "blue");
  items = chat_items (t, &keep);
  for (guint i = 0; i < json_array_get_length (items); i++)
    {
      JsonObject *item = json_array_get_object_element (items, i);
      if (g_strcmp0 (json_object_get_string_member (item, "kind"), "question") == 0)
        {
          g_assert_cmpstr (json_object_get_string_member (item, "status"), ==, "answered");
          g_assert_cmpstr (json_object_get_string_member (item, "answer"), ==, "blue");
          found = TRUE;
        }
    }
  g_assert_true (found);
}

static void
test_stop_mid_stream (void)
{
  g_autoptr (AgentTurn) t = agent_turn_new ("{\"responses\":[{\"events\":[{\"text\":\"Hel\"},"
                                            "{\"delayMs\":8000},{\"text\":\"never\"}],"
                                            "\"stopReason\":\"end_turn\"}]}");
  g_autofree gchar *id = NULL;
  g_autoptr (JsonObject) chunk = NULL;
  g_autoptr (JsonObject) done = NULL;
  g_autoptr (JsonNode) res = NULL;
  g_autoptr (JsonNode) keep = NULL;
  gint64 stopped_at;
  JsonArray *items;

  if (t == NULL)
    return;
  id = agent_turn_send (t, "Talk slowly");
  chunk = agent_turn_wait (t, "stream:chunk");
  stopped_at = g_get_monotonic_time ();
  res = agent_call (t->f->client, "stop_generation", "{\"sessionId\":\"%s\"}", t->session);
  done = agent_turn_wait (t, "stream:done");
  /* Stopping cancels the HTTP stream at once, not after the server's pause. */
  g_assert_cmpint (g_get_monotonic_time () - stopped_at, <, 2 * G_TIME_SPAN_SECOND);
  agent_assert_reply_ok (t->sender, id);
  items = chat_items (t, &keep);
  g_assert_cmpstr (item_kind (items, 1), ==, "assistant_message");
  g_assert_cmpstr (
      json_object_get_string_member (json_array_get_object_element (items, 1), "content"), ==,
      "Hel");
  g_assert_cmpstr (
      json_object_get_string_member (
          json_object_get_object_member (json_node_get_object (keep), "runtime"), "runState"),
      ==, "cancelled");
}

static void
test_queue_order (void)
{
  g_autoptr (AgentTurn) t = agent_turn_new ("{\"responses\":[{\"events\":[{\"delayMs\":600},"
                                            "{\"text\":\"first\"}],\"stopReason\":\"end_turn\"},"
                                            "{\"events\":[{\"text\":\"next\"}],"
                                            "\"stopReason\":\"end_turn\"}]}");
  g_autofree gchar *id = NULL;
  g_autoptr (JsonNode) queue = NULL;
  g_autoptr (JsonNode) q2 = NULL, q3 = NULL, q4 = NULL, res = NULL;
  g_autoptr (JsonObject) ev = NULL;
  g_autoptr (GPtrArray) reqs = NULL;
  const gchar *expected[] = { "one", "four", "two" };
  JsonArray *arr;
  g_autofree gchar *id2 = NULL, *id4 = NULL;

  if (t == NULL)
    return;
  id = agent_turn_send (t, "one");
  ev = agent_turn_wait (t, "stream:start");
  q2 = agent_call (t->f->client, "send_message", "{\"sessionId\":\"%s\",\"content\":\"two\"}",
                   t->session);
  q3 = agent_call (t->f->client, "send_message", "{\"sessionId\":\"%s\",\"content\":\"three\"}",
                   t->session);
  q4 = agent_call (t->f->client, "send_message", "{\"sessionId\":\"%s\",\"content\":\"four\"}",
                   t->session);
  queue = agent_call (t->f->client, "get_queue", "{\"sessionId\":\"%s\"}", t->session);
  arr = json_node_get_array (queue);
  g_assert_cmpuint (json_array_get_length (arr), ==, 3);
  g_assert_cmpstr (
      json_object_get_string_member (json_array_get_object_element (arr, 0), "content"), ==, "two");
  g_assert_true (g_str_has_prefix (
      json_object_get_string_member (json_array_get_object_element (arr, 0), "id"), "qmsg_"));
  id2 = g_strdup (json_object_get_string_member (json_array_get_object_element (arr, 0), "id"));
  id4 = g_strdup (json_object_get_string_member (json_array_get_object_element (arr, 2), "id"));
  /* Ids left out of a reorder are dropped: "three" goes. */
  res = agent_call (t->f->client, "reorder_queue",
                    "{\"sessionId\":\"%s\",\"messageIds\":[\"%s\",\"%s\"]}", t->session, id4, id2);
  g_assert_true (json_node_get_boolean (res));

  /* The first sender is answered once the queue behind its turn has run too. */
  agent_assert_reply_ok (t->sender, id);
  reqs = agent_fixture_llm_requests (t->f);
  g_assert_cmpuint (reqs->len, ==, 3);
  for (guint i = 0; i < 3; i++)
    {
      g_autoptr (JsonObject) last = agent_turn_request_last_message (t, i);
      g_assert_cmpstr (json_object_get_string_member (last, "content"), ==, expected[i]);
    }
  g_clear_pointer (&queue, json_node_unref);
  queue = agent_call (t->f->client, "get_queue", "{\"sessionId\":\"%s\"}", t->session);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (queue)), ==, 0);
  /* The first queue:update came when "two" was queued behind the running turn. */
  g_clear_pointer (&ev, json_object_unref);
  ev = agent_turn_wait (t, "queue:update");
  arr = json_object_get_array_member (agent_event_data (ev), "queue");
  g_assert_cmpuint (json_array_get_length (arr), ==, 1);
  g_assert_cmpstr (
      json_object_get_string_member (json_array_get_object_element (arr, 0), "content"), ==, "two");
}

static void
provider_error (const gchar *response, const gchar *code)
{
  g_autofree gchar *script = g_strdup_printf ("{\"responses\":[%s]}", response);
  g_autoptr (AgentTurn) t = agent_turn_new (script);
  g_autofree gchar *id = NULL;
  g_autoptr (JsonObject) err = NULL;
  g_autoptr (JsonObject) done = NULL;
  g_autoptr (JsonNode) keep = NULL;
  JsonArray *items;
  JsonObject *last, *runtime;

  if (t == NULL)
    return;
  id = agent_turn_send (t, "hello");
  err = agent_turn_wait (t, "error");
  g_assert_cmpstr (json_object_get_string_member (agent_event_data (err), "code"), ==, code);
  done = agent_turn_wait (t, "stream:done");
  agent_assert_reply_ok (t->sender, id); /* turn errors are events, not failures */
  assert_before (t->seen, "chat:item", "error");
  items = chat_items (t, &keep);
  last = json_array_get_object_element (items, json_array_get_length (items) - 1);
  g_assert_cmpstr (json_object_get_string_member (last, "kind"), ==, "error");
  g_assert_cmpstr (json_object_get_string_member (last, "code"), ==, code);
  runtime = json_object_get_object_member (json_node_get_object (keep), "runtime");
  g_assert_cmpstr (json_object_get_string_member (runtime, "runState"), ==, "failed");
  g_assert_cmpstr (
      json_object_get_string_member (json_object_get_object_member (runtime, "lastError"), "code"),
      ==, code);
}

static void
test_error_401 (void)
{
  provider_error ("{\"status\":401,\"body\":\"{\\\"error\\\":{\\\"message\\\":\\\"bad key\\\"}}\"}",
                  "INVALID_API_KEY");
}

static void
test_error_429 (void)
{
  provider_error ("{\"status\":429,\"headers\":{\"retry-after-ms\":\"10\"},"
                  "\"body\":\"{\\\"error\\\":{\\\"message\\\":\\\"slow down\\\"}}\"}",
                  "RATE_LIMIT");
}

static void
test_error_500 (void)
{
  provider_error ("{\"status\":500,\"headers\":{\"retry-after-ms\":\"10\"},"
                  "\"body\":\"{\\\"error\\\":{\\\"message\\\":\\\"boom\\\"}}\"}",
                  "SERVICE_ERROR");
}

static void
test_error_broken_stream (void)
{
  provider_error ("{\"events\":[{\"text\":\"Hel\"},{\"breakStream\":true}]}", "AGENT_ERROR");
}

static void
test_kill_with_pending_permission (void)
{
  g_autoptr (AgentTurn) t = agent_turn_new (WRITE_TOOL_SCRIPT);
  g_autofree gchar *id = NULL;
  g_autofree gchar *perm_id = NULL;
  g_autofree gchar *path = NULL;
  g_autofree gchar *contents = NULL;
  g_autoptr (JsonObject) req = NULL;
  g_autoptr (JsonObject) done = NULL;
  g_autoptr (JsonNode) boot = NULL;
  g_autoptr (JsonNode) res = NULL;
  JsonObject *runtime, *pending;

  if (t == NULL)
    return;
  path = g_build_filename (t->f->daemon->dir, "out.txt", NULL);
  id = agent_turn_send (t, "Write the file");
  req = agent_turn_wait (t, "permission:request");
  perm_id = g_strdup (json_object_get_string_member (
      json_object_get_object_member (agent_event_data (req), "request"), "id"));

  g_clear_pointer (&t->sender, cw_client_free);
  agent_fixture_stop (t->f, SIGKILL);
  agent_fixture_start (t->f);

  boot = agent_call (t->f->client, "agent_get_bootstrap_state", NULL);
  runtime = json_object_get_object_member (
      json_object_get_object_member (json_node_get_object (boot), "runtime"), t->session);
  g_assert_cmpstr (json_object_get_string_member (runtime, "runState"), ==, "waiting_permission");
  pending = json_array_get_object_element (
      json_object_get_array_member (runtime, "pendingPermissions"), 0);
  g_assert_cmpstr (json_object_get_string_member (pending, "id"), ==, perm_id);
  g_assert_false (json_object_get_boolean_member (runtime, "isStreaming"));

  /* Answering continues the turn: the tool runs and the model gets its result. */
  res = agent_call (t->f->client, "respond_permission",
                    "{\"permissionId\":\"%s\",\"decision\":\"allow_once\"}", perm_id);
  done = agent_turn_wait (t, "stream:done");
  g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
  g_assert_cmpstr (contents, ==, "hi there");
  {
    g_autoptr (JsonObject) last = agent_turn_request_last_message (t, 1);
    g_assert_cmpstr (json_object_get_string_member (last, "role"), ==, "tool");
  }
  g_clear_pointer (&boot, json_node_unref);
  boot = agent_call (t->f->client, "agent_get_bootstrap_state", NULL);
  runtime = json_object_get_object_member (
      json_object_get_object_member (json_node_get_object (boot), "runtime"), t->session);
  g_assert_cmpstr (json_object_get_string_member (runtime, "runState"), ==, "completed");
  /* The items stored before the crash were carried on: tool_start done, permission resolved. */
  {
    g_autoptr (JsonNode) keep = NULL;
    JsonArray *items = chat_items (t, &keep);
    guint checked = 0;
    for (guint i = 0; i < json_array_get_length (items); i++)
      {
        JsonObject *item = json_array_get_object_element (items, i);
        const gchar *kind = json_object_get_string_member (item, "kind");
        if (g_strcmp0 (kind, "tool_start") == 0)
          {
            g_assert_cmpstr (json_object_get_string_member (item, "status"), ==, "completed");
            checked++;
          }
        else if (g_strcmp0 (kind, "permission") == 0)
          {
            g_assert_cmpstr (json_object_get_string_member (item, "status"), ==, "resolved");
            g_assert_cmpstr (json_object_get_string_member (item, "decision"), ==, "allow_once");
            checked++;
          }
      }
    g_assert_cmpuint (checked, ==, 2);
  }
}

static void
test_kill_with_pending_question (void)
{
  g_autoptr (AgentTurn) t = agent_turn_new (
      "{\"responses\":[{\"events\":[{\"toolCall\":{\"id\":\"c1\",\"name\":\"ask_user\","
      "\"args\":{\"question\":\"Proceed?\"}}}],\"stopReason\":\"tool_use\"},"
      "{\"events\":[{\"text\":\"Proceeding.\"}],\"stopReason\":\"end_turn\"}]}");
  g_autofree gchar *id = NULL;
  g_autofree gchar *qid = NULL;
  g_autoptr (JsonObject) ask = NULL;
  g_autoptr (JsonObject) done = NULL;
  g_autoptr (JsonObject) last = NULL;
  g_autoptr (JsonNode) boot = NULL;
  g_autoptr (JsonNode) res = NULL;
  JsonObject *runtime;

  if (t == NULL)
    return;
  id = agent_turn_send (t, "Ask me");
  ask = agent_turn_wait (t, "question:ask");
  qid = g_strdup (json_object_get_string_member (
      json_object_get_object_member (agent_event_data (ask), "request"), "id"));
  g_clear_pointer (&t->sender, cw_client_free);
  agent_fixture_stop (t->f, SIGKILL);
  agent_fixture_start (t->f);
  boot = agent_call (t->f->client, "agent_get_bootstrap_state", NULL);
  runtime = json_object_get_object_member (
      json_object_get_object_member (json_node_get_object (boot), "runtime"), t->session);
  g_assert_cmpstr (json_object_get_string_member (runtime, "runState"), ==, "waiting_question");
  g_assert_cmpstr (json_object_get_string_member (
                       json_array_get_object_element (
                           json_object_get_array_member (runtime, "pendingQuestions"), 0),
                       "id"),
                   ==, qid);
  res = agent_call (t->f->client, "respond_question", "{\"questionId\":\"%s\",\"answer\":\"yes\"}",
                    qid);
  done = agent_turn_wait (t, "stream:done");
  last = agent_turn_request_last_message (t, 1);
  g_assert_cmpstr (json_object_get_string_member (last, "content"), ==, "yes");
}

static void
test_delete_while_running (void)
{
  g_autoptr (AgentTurn) t = agent_turn_new ("{\"responses\":[{\"events\":[{\"text\":\"Hel\"},"
                                            "{\"delayMs\":8000},{\"text\":\"lo\"}],"
                                            "\"stopReason\":\"end_turn\"}]}");
  g_autofree gchar *id = NULL;
  g_autofree gchar *msg = NULL;
  g_autoptr (JsonObject) chunk = NULL;
  g_autoptr (JsonNode) del = NULL;
  g_autoptr (JsonNode) list = NULL;

  if (t == NULL)
    return;
  id = agent_turn_send (t, "Talk slowly");
  chunk = agent_turn_wait (t, "stream:chunk");
  del = agent_call (t->f->client, "delete_session", "{\"sessionId\":\"%s\"}", t->session);
  g_assert_true (json_object_get_boolean_member (json_node_get_object (del), "success"));
  /* The stopped turn ends and answers without writing the session back. */
  agent_assert_reply_ok (t->sender, id);
  msg = agent_call_error (t->f->client, "get_session", "{\"sessionId\":\"%s\"}", t->session);
  g_assert_true (g_str_has_prefix (msg, "Session not found"));
  agent_fixture_stop (t->f, SIGKILL);
  agent_fixture_start (t->f);
  list = agent_call (t->f->client, "list_sessions", NULL);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (list)), ==, 0);
}

static void
test_kill_mid_stream (void)
{
  g_autoptr (AgentTurn) t = agent_turn_new ("{\"responses\":[{\"events\":[{\"text\":\"Hel\"},"
                                            "{\"delayMs\":8000},{\"text\":\"lo\"}],"
                                            "\"stopReason\":\"end_turn\"}]}");
  g_autofree gchar *id = NULL;
  g_autoptr (JsonObject) chunk = NULL;
  g_autoptr (JsonNode) boot = NULL;
  JsonObject *runtime;

  if (t == NULL)
    return;
  id = agent_turn_send (t, "Talk slowly");
  chunk = agent_turn_wait (t, "stream:chunk");
  g_clear_pointer (&t->sender, cw_client_free);
  agent_fixture_stop (t->f, SIGKILL);
  agent_fixture_start (t->f);
  boot = agent_call (t->f->client, "agent_get_bootstrap_state", NULL);
  runtime = json_object_get_object_member (
      json_object_get_object_member (json_node_get_object (boot), "runtime"), t->session);
  g_assert_cmpstr (json_object_get_string_member (runtime, "runState"), ==, "errored");
  g_assert_true (json_object_get_boolean_member (runtime, "interrupted"));
  g_assert_cmpstr (
      json_object_get_string_member (json_object_get_object_member (runtime, "lastError"), "code"),
      ==, "INTERRUPTED");
  /* Still so after one more restart: nothing resumed it, nothing left it running. */
  agent_fixture_stop (t->f, SIGTERM);
  agent_fixture_start (t->f);
  g_clear_pointer (&boot, json_node_unref);
  boot = agent_call (t->f->client, "agent_get_bootstrap_state", NULL);
  runtime = json_object_get_object_member (
      json_object_get_object_member (json_node_get_object (boot), "runtime"), t->session);
  g_assert_cmpstr (json_object_get_string_member (runtime, "runState"), ==, "errored");
  g_assert_true (json_object_get_boolean_member (runtime, "interrupted"));
}

static void
test_attachments (void)
{
  g_autoptr (AgentTurn) t = agent_turn_new ("{\"responses\":[{\"events\":[{\"text\":\"seen\"}],"
                                            "\"stopReason\":\"end_turn\"}]}");
  g_autofree gchar *id = NULL;
  g_autofree gchar *contents = NULL;
  g_autoptr (JsonObject) done = NULL;
  g_autoptr (JsonObject) last = NULL;
  g_autoptr (JsonNode) keep = NULL;
  JsonArray *items, *atts;
  JsonObject *image;
  const gchar *path, *text;

  if (t == NULL)
    return;
  id = agent_send (t->sender, "send_message",
                   "{\"sessionId\":\"%s\",\"content\":\"Look\",\"attachments\":["
                   "{\"type\":\"image\",\"mimeType\":\"image/png\",\"name\":\"pic.png\","
                   "\"data\":\"aGVsbG8=\"},"
                   "{\"type\":\"text\",\"mimeType\":\"text/plain\",\"name\":\"notes.txt\","
                   "\"data\":\"remember the milk\"}]}",
                   t->session);
  done = agent_turn_wait (t, "stream:done");
  agent_assert_reply_ok (t->sender, id);
  items = chat_items (t, &keep);
  atts = json_object_get_array_member (json_array_get_object_element (items, 0), "attachments");
  g_assert_cmpuint (json_array_get_length (atts), ==, 2);
  image = json_array_get_object_element (atts, 0);
  /* Kept as a file next to the session, not as base64 in the database. */
  g_assert_false (json_object_has_member (image, "data"));
  path = json_object_get_string_member (image, "filePath");
  g_assert_true (g_str_has_prefix (path, t->f->daemon->dir));
  g_assert_true (g_str_has_suffix (path, "-pic.png"));
  g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
  g_assert_cmpstr (contents, ==, "hello");
  last = agent_turn_request_last_message (t, 0);
  text = json_object_get_string_member (last, "content");
  g_assert_true (g_str_has_prefix (text, "Look"));
  g_assert_nonnull (strstr (text, "remember the milk"));
  g_assert_nonnull (strstr (text, path));
}

static void
test_chunks_and_working_directory (void)
{
  g_autoptr (AgentTurn) t = agent_turn_new ("{\"responses\":[{\"events\":[{\"text\":\"r\"}],"
                                            "\"stopReason\":\"end_turn\"}]}");
  g_autoptr (JsonNode) chunk = NULL;
  g_autoptr (JsonNode) older = NULL;
  g_autoptr (JsonNode) res = NULL;
  g_autofree gchar *other = NULL;
  JsonObject *c;
  JsonArray *items;

  if (t == NULL)
    return;
  /* Three turns: six items with sequences 0..5. */
  for (guint i = 0; i < 3; i++)
    {
      g_autofree gchar *id = agent_turn_send (t, "again");
      g_autoptr (JsonObject) done = agent_turn_wait (t, "stream:done");
      agent_assert_reply_ok (t->sender, id);
    }
  chunk = agent_call (t->f->client, "get_session_chunk",
                      "{\"sessionId\":\"%s\",\"chatItemLimit\":4}", t->session);
  c = json_node_get_object (chunk);
  items = json_object_get_array_member (c, "chatItems");
  g_assert_cmpuint (json_array_get_length (items), ==, 4);
  g_assert_true (json_object_get_boolean_member (c, "hasMoreHistory"));
  g_assert_cmpint (json_object_get_int_member (c, "oldestLoadedSequence"), ==, 2);
  g_assert_cmpint (
      json_object_get_int_member (json_array_get_object_element (items, 3), "sequence"), ==, 5);
  older
      = agent_call (t->f->client, "get_session_chunk",
                    "{\"sessionId\":\"%s\",\"chatItemLimit\":4,\"beforeSequence\":2}", t->session);
  c = json_node_get_object (older);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (c, "chatItems")), ==, 2);
  g_assert_false (json_object_get_boolean_member (c, "hasMoreHistory"));
  g_assert_cmpint (json_object_get_int_member (c, "oldestLoadedSequence"), ==, 0);

  other = g_build_filename (t->f->daemon->dir, "elsewhere", NULL);
  g_assert_cmpint (g_mkdir (other, 0700), ==, 0);
  res = agent_call (t->f->client, "update_session_working_directory",
                    "{\"sessionId\":\"%s\",\"workingDirectory\":\"%s\"}", t->session, other);
  g_clear_pointer (&res, json_node_unref);
  res = agent_call (t->f->client, "get_session", "{\"sessionId\":\"%s\"}", t->session);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (res), "workingDirectory"),
                   ==, other);
}

static void
test_context_trim (void)
{
  g_autoptr (AgentTurn) t = agent_turn_new ("{\"responses\":[{\"events\":[{\"text\":\"r\"}],"
                                            "\"stopReason\":\"end_turn\","
                                            "\"usage\":{\"input\":80,\"output\":5}}]}");
  g_autoptr (JsonNode) res = NULL;
  g_autoptr (GPtrArray) reqs = NULL;
  g_autofree gchar *small = NULL;
  JsonArray *messages;
  gboolean noted = FALSE;

  if (t == NULL)
    return;
  /* A 100-token window: after the first turn the session sits at 85 %. */
  res = agent_call (t->f->client, "set_models",
                    "{\"models\":[{\"id\":\"tiny\",\"provider\":\"lmstudio\","
                    "\"inputTokenLimit\":100}]}");
  g_clear_pointer (&res, json_node_unref);
  res = agent_call (t->f->client, "create_session",
                    "{\"workingDirectory\":\"%s\",\"provider\":\"lmstudio\"}", t->f->workdir);
  small = g_strdup (json_object_get_string_member (json_node_get_object (res), "id"));
  g_free (t->session);
  t->session = g_steal_pointer (&small);
  for (guint i = 0; i < 5; i++)
    {
      g_autofree gchar *id = agent_turn_send (t, "more");
      g_autoptr (JsonObject) done = agent_turn_wait (t, "stream:done");
      agent_assert_reply_ok (t->sender, id);
    }
  reqs = agent_fixture_llm_requests (t->f);
  g_assert_cmpuint (reqs->len, ==, 5);
  messages = json_object_get_array_member (
      json_object_get_object_member (g_ptr_array_index (reqs, 4), "body"), "messages");
  /* Nine messages of history would go out; the oldest ones were left out. */
  for (guint i = 0; i < json_array_get_length (messages); i++)
    {
      JsonObject *m = json_array_get_object_element (messages, i);
      const gchar *content = json_object_get_string_member_with_default (m, "content", "");
      if (g_str_has_prefix (content, "[Earlier parts of this conversation"))
        noted = TRUE;
    }
  g_assert_true (noted);
  g_assert_cmpuint (json_array_get_length (messages), <=, 8);
}

/* Queue commands whose commit fails (another writer holds the database) answer the store's
 * error and leave the queue as it was. */
static void
test_queue_failed_commit (void)
{
  g_autoptr (AgentTurn) t = agent_turn_new ("{\"responses\":[{\"events\":[{\"delayMs\":8000},"
                                            "{\"text\":\"late\"}],\"stopReason\":\"end_turn\"}]}");
  g_autofree gchar *id = NULL, *qid = NULL, *before = NULL, *after = NULL;
  g_autoptr (JsonNode) res = NULL;
  g_autoptr (JsonNode) queue = NULL;
  g_autoptr (JsonObject) ev = NULL;
  const gchar *commands[][2] = {
    { "send_message", "\"content\":\"three\"" },
    { "edit_queued_message", "\"messageId\":\"%s\",\"content\":\"changed\"" },
    { "remove_from_queue", "\"messageId\":\"%s\"" },
    { "reorder_queue", "\"messageIds\":[]" },
    { "send_queued_immediately", "\"messageId\":\"%s\"" },
  };
  sqlite3 *lock;

  if (t == NULL)
    return;
  id = agent_turn_send (t, "one");
  ev = agent_turn_wait (t, "stream:start");
  res = agent_call (t->f->client, "send_message", "{\"sessionId\":\"%s\",\"content\":\"two\"}",
                    t->session);
  queue = agent_call (t->f->client, "get_queue", "{\"sessionId\":\"%s\"}", t->session);
  qid = g_strdup (json_object_get_string_member (
      json_array_get_object_element (json_node_get_array (queue), 0), "id"));
  before = cw_json_to_string (queue);

  lock = agent_store_lock (t->f);
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    {
      g_autofree gchar *extra = g_strdup_printf (commands[i][1], qid);
      g_autofree gchar *msg = agent_call_error (t->f->client, commands[i][0],
                                                "{\"sessionId\":\"%s\",%s}", t->session, extra);
      if (strstr (msg, "database is locked") == NULL)
        g_error ("%s: expected a locked database, got: %s", commands[i][0], msg);
    }
  g_clear_pointer (&queue, json_node_unref);
  queue = agent_call (t->f->client, "get_queue", "{\"sessionId\":\"%s\"}", t->session);
  after = cw_json_to_string (queue);
  g_assert_cmpstr (after, ==, before);
  agent_store_unlock (lock);
  /* The turn was left running: a failed command stopped nothing. */
  {
    g_autoptr (JsonNode) boot = agent_call (t->f->client, "agent_get_bootstrap_state", NULL);
    JsonObject *runtime = json_object_get_object_member (
        json_object_get_object_member (json_node_get_object (boot), "runtime"), t->session);
    g_assert_cmpstr (json_object_get_string_member (runtime, "runState"), ==, "running");
    g_assert_cmpuint (
        json_array_get_length (json_object_get_array_member (runtime, "messageQueue")), ==, 1);
  }
}

static gint64
count_rows (AgentFixture *f, const gchar *sql)
{
  g_autofree gchar *path = g_build_filename (f->daemon->dir, "daemon", "coworkd.db", NULL);
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;
  gint64 n;

  g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  n = sqlite3_column_int64 (stmt, 0);
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  return n;
}

static void
assert_tasks (AgentTurn *t, guint n)
{
  g_autoptr (JsonNode) tasks
      = agent_call (t->f->client, "get_tasks", "{\"sessionId\":\"%s\"}", t->session);

  g_assert_cmpuint (json_array_get_length (json_node_get_array (tasks)), ==, n);
}

/* After a restart sessions are index rows until something uses them: the bootstrap state
 * shows each one's stored runtime (run state, last error) before it is read, the same once
 * a command has read it (its tasks come back), and rows stored before schema 3 (no runtime
 * text) are read at the start and written back. */
static void
test_lazy_sessions (void)
{
  g_autoptr (AgentTurn) t = agent_turn_new (
      "{\"responses\":["
      "{\"events\":[{\"toolCall\":{\"id\":\"c1\",\"name\":\"write_todos\",\"args\":{\"todos\":"
      "[{\"content\":\"Read code\",\"status\":\"completed\"}]}}}],\"stopReason\":\"tool_use\"},"
      "{\"status\":401}]}");
  g_autofree gchar *id = NULL, *before = NULL;
  g_autoptr (JsonObject) done = NULL;
  g_autoptr (JsonObject) reply = NULL;
  g_autoptr (GError) error = NULL;

  if (t == NULL)
    return;
  id = agent_turn_send (t, "Plan todos");
  done = agent_turn_wait (t, "stream:done");
  reply = cw_client_wait_response (t->sender, id, &error);
  g_assert_no_error (error);
  before = agent_bootstrap_runtime (t->f->client, t->session);
  g_assert_nonnull (strstr (before, "\"runState\":\"failed\""));
  g_assert_nonnull (strstr (before, "\"code\":\"INVALID_API_KEY\""));

  for (guint round = 0; round < 2; round++)
    {
      g_autofree gchar *listed = NULL, *read = NULL;

      agent_fixture_stop (t->f, SIGTERM);
      /* The second time, as a database from before schema 3 left it. */
      if (round == 1)
        {
          g_autofree gchar *path
              = g_build_filename (t->f->daemon->dir, "daemon", "coworkd.db", NULL);
          sqlite3 *db = NULL;
          g_assert_cmpint (count_rows (t->f, "SELECT count(*) FROM agent_runtime"
                                             " WHERE length(state) > 0"),
                           ==, 1);
          g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
          g_assert_cmpint (
              sqlite3_exec (db, "UPDATE agent_runtime SET state = NULL", NULL, NULL, NULL), ==,
              SQLITE_OK);
          sqlite3_close (db);
        }
      agent_fixture_start (t->f);
      listed = agent_bootstrap_runtime (t->f->client, t->session);
      g_assert_cmpstr (listed, ==, before);
      assert_tasks (t, 1);
      read = agent_bootstrap_runtime (t->f->client, t->session);
      g_assert_cmpstr (read, ==, before);
    }
  agent_fixture_stop (t->f, SIGTERM);
  g_assert_cmpint (count_rows (t->f, "SELECT count(*) FROM agent_runtime WHERE state IS NULL"), ==,
                   0);
}

/* A long reply and a long thought reach clients as every stream:chunk / thinking:chunk, and
 * their growing text as coalesced chat:update events whose pauses grow with the text: the
 * whole text is not resent every 50 ms (each copy stays in the event ring and the store). */
static void
test_long_reply_paced (void)
{
  g_autoptr (GString) script = g_string_new ("{\"responses\":[{\"events\":[");
  g_autoptr (AgentTurn) t = NULL;
  g_autofree gchar *id = NULL;
  g_autofree gchar *reply_id = NULL;
  gchar chunk[1025];
  gsize update_bytes = 0, chunk_bytes = 0;
  guint thinking_updates = 0;
  const gchar *types[] = { "chat:item", "chat:update", "stream:chunk", "stream:done", NULL };

  memset (chunk, 'x', 1024);
  chunk[1024] = '\0';
  for (guint i = 0; i < 60; i++)
    g_string_append (script, "{\"thinking\":\"hmm \"},{\"delayMs\":5},");
  /* 400 KiB over about two seconds. */
  for (guint i = 0; i < 400; i++)
    g_string_append_printf (script, "{\"text\":\"%s\"},{\"delayMs\":5},", chunk);
  g_string_append (script, "{\"text\":\"end\"}],\"stopReason\":\"end_turn\"}]}");
  t = agent_turn_new (script->str);
  if (t == NULL)
    return;
  id = agent_turn_send (t, "Write a lot");
  for (;;)
    {
      g_autoptr (JsonObject) ev = agent_wait_any (t->f->client, types, t->session, NULL);
      const gchar *type = json_object_get_string_member (ev, "type");
      JsonObject *data = agent_event_data (ev);

      if (g_strcmp0 (type, "stream:done") == 0)
        break;
      if (g_strcmp0 (type, "stream:chunk") == 0)
        chunk_bytes += strlen (json_object_get_string_member (data, "content"));
      else if (g_strcmp0 (type, "chat:item") == 0
               && g_strcmp0 (json_object_get_string_member (
                                 json_object_get_object_member (data, "item"), "kind"),
                             "assistant_message")
                      == 0)
        reply_id = g_strdup (
            json_object_get_string_member (json_object_get_object_member (data, "item"), "id"));
      else if (g_strcmp0 (type, "chat:update") == 0)
        {
          JsonObject *updates = json_object_get_object_member (data, "updates");
          const gchar *content
              = json_object_get_string_member_with_default (updates, "content", "");
          if (g_strcmp0 (json_object_get_string_member (data, "itemId"), reply_id) == 0)
            update_bytes += strlen (content);
          else if (reply_id == NULL)
            thinking_updates++;
        }
    }
  agent_assert_reply_ok (t->sender, id);
  g_assert_cmpuint (chunk_bytes, ==, 400 * 1024 + 3);
  /* Every 50 ms that would be about 40 copies of 200 KiB on average (8 MiB); paced it is a
   * few, the last one whole. */
  g_assert_cmpuint (update_bytes, >=, 400 * 1024 + 3);
  g_assert_cmpuint (update_bytes, <, 2 * 1024 * 1024);
  /* One chat:update per thought chunk before; now coalesced, plus the one that ends it. */
  g_assert_cmpuint (thinking_updates, >=, 1);
  g_assert_cmpuint (thinking_updates, <, 20);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cowork/agent/turns/stream-text", test_stream_text);
  g_test_add_func ("/cowork/agent/turns/permission-allow", test_permission_allow);
  g_test_add_func ("/cowork/agent/turns/permission-deny", test_permission_deny);
  g_test_add_func ("/cowork/agent/turns/read-inside-no-prompt", test_read_inside_needs_no_prompt);
  g_test_add_func ("/cowork/agent/turns/question", test_question);
  g_test_add_func ("/cowork/agent/turns/stop-mid-stream", test_stop_mid_stream);
  g_test_add_func ("/cowork/agent/turns/queue-order", test_queue_order);
  g_test_add_func ("/cowork/agent/turns/queue-failed-commit", test_queue_failed_commit);
  g_test_add_func ("/cowork/agent/turns/lazy-sessions", test_lazy_sessions);
  g_test_add_func ("/cowork/agent/turns/long-reply-paced", test_long_reply_paced);
  g_test_add_func ("/cowork/agent/turns/error-401", test_error_401);
  g_test_add_func ("/cowork/agent/turns/error-429", test_error_429);
  g_test_add_func ("/cowork/agent/turns/error-500", test_error_500);
  g_test_add_func ("/cowork/agent/turns/error-broken-stream", test_error_broken_stream);
  g_test_add_func ("/cowork/agent/turns/kill-with-pending-permission",
                   test_kill_with_pending_permission);
  g_test_add_func ("/cowork/agent/turns/kill-mid-stream", test_kill_mid_stream);
  g_test_add_func ("/cowork/agent/turns/attachments", test_attachments);
  g_test_add_func ("/cowork/agent/turns/context-trim", test_context_trim);
  g_test_add_func ("/cowork/agent/turns/kill-with-pending-question",
                   test_kill_with_pending_question);
  g_test_add_func ("/cowork/agent/turns/delete-while-running", test_delete_while_running);
  g_test_add_func ("/cowork/agent/sessions/chunks-and-working-directory",
                   test_chunks_and_working_directory);
  return g_test_run ();
}
