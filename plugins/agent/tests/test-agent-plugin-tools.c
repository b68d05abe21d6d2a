/* test-agent-plugin-tools.c: tools another plugin contributes (cw_plugin_add_agent_tool),
 * with the test plugin in plugin/: listed in every provider request after the built-in
 * tools and gone once withdrawn, run by calling the plugin's command (which sees the
 * arguments, sessionId and toolCallId), asked for, refused in plan mode, stopped, their
 * errors and media results, agent_run_tool and the capability snapshot.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-agent-test.h"

#include <signal.h>

#define SCHEMA                                                                                     \
  "{\"type\":\"object\",\"properties\":{\"mode\":{\"type\":\"string\"},\"text\":{\"type\":"        \
  "\"string\"}}}"
#define READ_ONLY 1
#define ASK       2

/* A script: one round calling @name with {mode, text}, then the model's closing text. */
static gchar *
one_call_script (const gchar *name, const gchar *mode, const gchar *text)
{
  return g_strdup_printf (
      "{\"responses\":["
      "{\"events\":[{\"toolCall\":{\"id\":\"c1\",\"name\":\"%s\",\"args\":{\"mode\":\"%s\","
      "\"text\":\"%s\"}}}],\"stopReason\":\"tool_use\"},"
      "{\"events\":[{\"text\":\"All done.\"}],\"stopReason\":\"end_turn\"}]}",
      name, mode, text);
}

static void
add_tool_on (CwClient *client, const gchar *name, gint flags)
{
  g_autoptr (JsonNode) res
      = agent_call (client, "agenttooltest_add",
                    "{\"name\":\"%s\",\"flags\":%d,\"parameters\":" SCHEMA "}", name, flags);
}

static void
add_tool (AgentTurn *t, const gchar *name, gint flags)
{
  add_tool_on (t->f->client, name, flags);
}

/* The tool names of the @n-th provider request (-1: the last) in @api's wire format
 * ("openai", "anthropic" or "gemini"), comma-separated. */
static gchar *
wire_tool_names (AgentFixture *f, gint n, const gchar *api)
{
  g_autoptr (GPtrArray) reqs = agent_fixture_llm_requests (f);
  g_autoptr (GString) out = g_string_new (NULL);
  JsonObject *body;
  JsonArray *tools;

  g_assert_cmpuint (reqs->len, >, n < 0 ? 0 : (guint) n);
  body = json_object_get_object_member (g_ptr_array_index (reqs, n < 0 ? reqs->len - 1 : (guint) n),
                                        "body");
  tools = json_object_get_array_member (body, "tools");
  if (g_strcmp0 (api, "gemini") == 0)
    tools = json_object_get_array_member (json_array_get_object_element (tools, 0),
                                          "functionDeclarations");
  for (guint i = 0; i < json_array_get_length (tools); i++)
    {
      JsonObject *tool = json_array_get_object_element (tools, i);
      if (g_strcmp0 (api, "openai") == 0)
        tool = json_object_get_object_member (tool, "function");
      g_string_append_printf (out, "%s%s", i > 0 ? "," : "",
                              json_object_get_string_member (tool, "name"));
    }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

/* The tool names of the @n-th provider request of the turn (OpenAI's format). */
static gchar *
request_tools (AgentTurn *t, gint n)
{
  return wire_tool_names (t->f, n, "openai");
}

/* The params each call of the plugin's tool command got. */
static JsonArray *
plugin_calls (AgentTurn *t)
{
  g_autoptr (JsonNode) res = agent_call (t->f->client, "agenttooltest_calls", NULL);

  return json_array_ref (json_object_get_array_member (json_node_get_object (res), "calls"));
}

/* The session's chat items of @kind, in order. */
static GPtrArray *
items_of_kind (CwClient *client, const gchar *session, const gchar *kind)
{
  g_autoptr (JsonNode) res
      = agent_call (client, "get_session", "{\"sessionId\":\"%s\",\"limit\":null}", session);
  JsonArray *items = json_object_get_array_member (json_node_get_object (res), "chatItems");
  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);

  for (guint i = 0; i < json_array_get_length (items); i++)
    {
      JsonObject *item = json_array_get_object_element (items, i);
      if (g_strcmp0 (json_object_get_string_member (item, "kind"), kind) == 0)
        g_ptr_array_add (out, json_object_ref (item));
    }
  return out;
}

/* The number of calls of the plugin's tool command so far. */
static guint
plugin_call_count (AgentTurn *t)
{
  g_autoptr (JsonArray) calls = plugin_calls (t);

  return json_array_get_length (calls);
}

/* A turn of the model's @script with the tool @name (added with @flags), after @prompt was
 * sent (its request id in *@id). NULL where the fixture cannot run. */
static AgentTurn *
tool_turn (const gchar *script, const gchar *name, gint flags, const gchar *prompt, gchar **id)
{
  AgentTurn *t = agent_turn_new (script);

  if (t == NULL)
    return NULL;
  add_tool (t, name, flags);
  *id = agent_turn_send (t, prompt);
  return t;
}

/* The same with a model that calls @name once with {@mode, @text}. */
static AgentTurn *
one_call_turn (const gchar *name, gint flags, const gchar *mode, const gchar *text,
               const gchar *prompt, gchar **id)
{
  g_autofree gchar *script = one_call_script (name, mode, text);

  return tool_turn (script, name, flags, prompt, id);
}

/* The next tool:result is a failure with @error. */
static void
assert_tool_failed (AgentTurn *t, const gchar *error)
{
  g_autoptr (JsonObject) r = agent_turn_wait (t, "tool:result");

  g_assert_false (json_object_get_boolean_member (agent_tool_result (r), "success"));
  g_assert_cmpstr (json_object_get_string_member (agent_tool_result (r), "error"), ==, error);
}

/* The turn ends (stream:done) and the send_message request @id was answered. */
static void
assert_turn_done (AgentTurn *t, const gchar *id)
{
  g_autoptr (JsonObject) done = agent_turn_wait (t, "stream:done");

  agent_assert_reply_ok (t->sender, id);
}

/* The toolAccess entry of @name in the capability snapshot of @session (NULL: none). */
static JsonObject *
snapshot_access (AgentTurn *t, const gchar *session, const gchar *name)
{
  g_autofree gchar *sid = session != NULL ? g_strdup_printf ("\"%s\"", session) : g_strdup ("null");
  g_autoptr (JsonNode) snap
      = agent_call (t->f->client, "get_capability_snapshot", "{\"sessionId\":%s}", sid);
  JsonArray *access = json_object_get_array_member (json_node_get_object (snap), "toolAccess");

  for (guint i = 0; i < json_array_get_length (access); i++)
    {
      JsonObject *a = json_array_get_object_element (access, i);
      if (g_strcmp0 (json_object_get_string_member (a, "toolName"), name) == 0)
        return json_object_ref (a);
    }
  g_assert_not_reached ();
}

static void
test_call_and_result (void)
{
  g_autofree gchar *id = NULL;
  g_autoptr (AgentTurn) t = tool_turn (
      "{\"responses\":["
      "{\"events\":[{\"toolCall\":{\"id\":\"c1\",\"name\":\"echo_tool\",\"args\":{\"mode\":"
      "\"text\",\"text\":\"hi\"}}},{\"toolCall\":{\"id\":\"c2\",\"name\":\"echo_tool\","
      "\"args\":{\"mode\":\"json\",\"text\":\"x\",\"extra\":null}}}],\"stopReason\":\"tool_use\"},"
      "{\"events\":[{\"text\":\"All done.\"}],\"stopReason\":\"end_turn\"}]}",
      "echo_tool", READ_ONLY, "Echo hi", &id);
  g_autofree gchar *tools = NULL;
  g_autoptr (JsonObject) r1 = NULL;
  g_autoptr (JsonObject) r2 = NULL;
  g_autoptr (JsonArray) calls = NULL;
  g_autoptr (GPtrArray) reqs = NULL;
  g_autoptr (GPtrArray) starts = NULL;
  g_autoptr (GPtrArray) results = NULL;
  JsonObject *call, *r;
  JsonArray *messages;
  gint start, result;

  if (t == NULL)
    return;
  r1 = agent_turn_wait (t, "tool:result");
  r2 = agent_turn_wait (t, "tool:result");
  assert_turn_done (t, id);

  /* The built-in tools first, then the contributed one. */
  tools = request_tools (t, 0);
  g_assert_true (g_str_has_prefix (tools, "read_file,"));
  g_assert_true (g_str_has_suffix (tools, ",ask_user,echo_tool"));

  start = agent_find (t->seen, "tool:start", 0);
  result = agent_find (t->seen, "tool:result", 0);
  g_assert_cmpint (start, >=, 0);
  g_assert_cmpint (start, <, result);
  r = agent_tool_result (r1);
  g_assert_cmpstr (json_object_get_string_member (r, "toolCallId"), ==, "c1");
  g_assert_true (json_object_get_boolean_member (r, "success"));
  g_assert_cmpstr (json_object_get_string_member (r, "result"), ==, "ran with hi");
  r = agent_tool_result (r2);
  g_assert_true (json_object_get_boolean_member (r, "success"));
  /* Anything but a string goes to the model serialised. */
  g_assert_cmpstr (json_object_get_string_member (r, "result"), ==, "{\"ok\":true,\"echo\":\"x\"}");

  /* The command saw the model's arguments, the session and the call id. */
  calls = plugin_calls (t);
  g_assert_cmpuint (json_array_get_length (calls), ==, 2);
  call = json_array_get_object_element (calls, 0);
  g_assert_cmpstr (json_object_get_string_member (call, "sessionId"), ==, t->session);
  g_assert_cmpstr (json_object_get_string_member (call, "toolCallId"), ==, "c1");
  g_assert_cmpstr (json_object_get_string_member (call, "text"), ==, "hi");
  call = json_array_get_object_element (calls, 1);
  g_assert_cmpstr (json_object_get_string_member (call, "toolCallId"), ==, "c2");
  g_assert_true (json_object_get_null_member (call, "extra"));

  /* The model got both results in the next request. */
  reqs = agent_fixture_llm_requests (t->f);
  g_assert_cmpuint (reqs->len, ==, 2);
  messages = json_object_get_array_member (
      json_object_get_object_member (g_ptr_array_index (reqs, 1), "body"), "messages");
  {
    JsonObject *first
        = json_array_get_object_element (messages, json_array_get_length (messages) - 2);
    g_assert_cmpstr (json_object_get_string_member (first, "role"), ==, "tool");
    g_assert_cmpstr (json_object_get_string_member (first, "content"), ==, "ran with hi");
  }

  /* Stored as the turn's chat items. */
  starts = items_of_kind (t->f->client, t->session, "tool_start");
  results = items_of_kind (t->f->client, t->session, "tool_result");
  g_assert_cmpuint (starts->len, ==, 2);
  g_assert_cmpuint (results->len, ==, 2);
  g_assert_cmpstr (json_object_get_string_member (g_ptr_array_index (starts, 0), "name"), ==,
                   "echo_tool");
  g_assert_cmpstr (json_object_get_string_member (g_ptr_array_index (starts, 0), "status"), ==,
                   "completed");
  g_assert_cmpstr (json_object_get_string_member (g_ptr_array_index (results, 0), "status"), ==,
                   "success");
  g_assert_cmpstr (json_object_get_string_member (g_ptr_array_index (results, 0), "result"), ==,
                   "ran with hi");
}

static JsonObject *
wait_permission (AgentTurn *t)
{
  g_autoptr (JsonObject) ev = agent_turn_wait (t, "permission:request");

  return json_object_ref (json_object_get_object_member (agent_event_data (ev), "request"));
}

static void
respond (AgentTurn *t, JsonObject *request, const gchar *decision)
{
  g_autoptr (JsonNode) res = agent_call (t->f->client, "respond_permission",
                                         "{\"permissionId\":\"%s\",\"decision\":\"%s\"}",
                                         json_object_get_string_member (request, "id"), decision);
}

static void
test_ask_allow_deny (void)
{
  g_autofree gchar *id = NULL;
  g_autoptr (AgentTurn) t = tool_turn (
      "{\"responses\":["
      "{\"events\":[{\"toolCall\":{\"id\":\"c1\",\"name\":\"notify_tool\",\"args\":{\"text\":"
      "\"one\"}}}],\"stopReason\":\"tool_use\"},"
      "{\"events\":[{\"toolCall\":{\"id\":\"c2\",\"name\":\"notify_tool\",\"args\":{\"text\":"
      "\"two\"}}}],\"stopReason\":\"tool_use\"},"
      "{\"events\":[{\"text\":\"All done.\"}],\"stopReason\":\"end_turn\"}]}",
      "notify_tool", ASK, "Notify twice", &id);
  g_autoptr (JsonObject) req1 = NULL;
  g_autoptr (JsonObject) req2 = NULL;
  g_autoptr (JsonObject) r1 = NULL;

  if (t == NULL)
    return;
  req1 = wait_permission (t);
  g_assert_cmpstr (json_object_get_string_member (req1, "type"), ==, "tool");
  g_assert_cmpstr (json_object_get_string_member (req1, "resource"), ==, "notify_tool");
  g_assert_cmpstr (json_object_get_string_member (req1, "toolName"), ==, "notify_tool");
  g_assert_cmpstr (json_object_get_string_member (req1, "toolCallId"), ==, "c1");
  g_assert_cmpstr (json_object_get_string_member (req1, "policyAction"), ==, "ask");
  /* Nothing ran before the answer. */
  g_assert_cmpuint (plugin_call_count (t), ==, 0);
  respond (t, req1, "allow_once");
  r1 = agent_turn_wait (t, "tool:result");
  g_assert_true (json_object_get_boolean_member (agent_tool_result (r1), "success"));
  g_assert_cmpuint (plugin_call_count (t), ==, 1);

  /* allow_once: the next call asks again; denied, it does not run. */
  req2 = wait_permission (t);
  g_assert_cmpstr (json_object_get_string_member (req2, "toolCallId"), ==, "c2");
  respond (t, req2, "deny");
  assert_tool_failed (t, "Permission denied");
  assert_turn_done (t, id);
  g_assert_cmpuint (plugin_call_count (t), ==, 1);
}

/* A call waiting for its permission survives kill -9; once the plugin offers the tool again,
 * the answer runs it. */
static void
test_permission_across_restart (void)
{
  g_autofree gchar *id = NULL;
  g_autoptr (AgentTurn) t
      = one_call_turn ("notify_tool", ASK, "text", "after", "Notify later", &id);
  g_autofree gchar *permission_id = NULL;
  g_autoptr (JsonObject) req = NULL;
  g_autoptr (JsonObject) r = NULL;
  g_autoptr (JsonObject) done = NULL;
  g_autoptr (JsonArray) calls = NULL;
  g_autoptr (JsonNode) res = NULL;

  if (t == NULL)
    return;
  req = wait_permission (t);
  permission_id = g_strdup (json_object_get_string_member (req, "id"));
  agent_fixture_stop (t->f, SIGKILL);
  agent_fixture_start (t->f);
  add_tool_on (t->f->client, "notify_tool", ASK);
  res = agent_call (t->f->client, "respond_permission",
                    "{\"permissionId\":\"%s\",\"decision\":\"allow_once\"}", permission_id);
  r = agent_wait_event (t->f->client, "tool:result", t->session, NULL);
  g_assert_true (json_object_get_boolean_member (agent_tool_result (r), "success"));
  g_assert_cmpstr (json_object_get_string_member (agent_tool_result (r), "result"), ==,
                   "ran with after");
  calls = plugin_calls (t);
  g_assert_cmpuint (json_array_get_length (calls), ==, 1);
  g_assert_cmpstr (
      json_object_get_string_member (json_array_get_object_element (calls, 0), "toolCallId"), ==,
      "c1");
  done = agent_wait_event (t->f->client, "stream:done", t->session, NULL);
}

static void
test_plan_mode (void)
{
  g_autoptr (AgentTurn) t = agent_turn_new (
      "{\"responses\":["
      "{\"events\":[{\"toolCall\":{\"id\":\"c1\",\"name\":\"change_tool\",\"args\":{}}},"
      "{\"toolCall\":{\"id\":\"c2\",\"name\":\"look_tool\",\"args\":{\"text\":\"peek\"}}}],"
      "\"stopReason\":\"tool_use\"},"
      "{\"events\":[{\"text\":\"Plan: nothing.\"}],\"stopReason\":\"end_turn\"}]}");
  g_autofree gchar *id = NULL;
  g_autoptr (JsonObject) r1 = NULL;
  g_autoptr (JsonObject) r2 = NULL;
  g_autoptr (JsonObject) ask = NULL;
  g_autoptr (JsonObject) change = NULL;
  g_autoptr (JsonObject) look = NULL;

  if (t == NULL)
    return;
  add_tool (t, "change_tool", 0);
  add_tool (t, "look_tool", READ_ONLY);
  agent_turn_call (t, "set_execution_mode", ",\"mode\":\"plan\"");
  id = agent_turn_send (t, "Plan something");
  r1 = agent_turn_wait (t, "tool:result");
  r2 = agent_turn_wait (t, "tool:result");
  g_assert_cmpstr (json_object_get_string_member (agent_tool_result (r1), "toolCallId"), ==, "c1");
  g_assert_false (json_object_get_boolean_member (agent_tool_result (r1), "success"));
  g_assert_true (g_str_has_prefix (json_object_get_string_member (agent_tool_result (r1), "error"),
                                   "Plan mode blocks \"change_tool\""));
  g_assert_true (json_object_get_boolean_member (agent_tool_result (r2), "success"));
  g_assert_cmpstr (json_object_get_string_member (agent_tool_result (r2), "result"), ==,
                   "ran with peek");
  g_assert_cmpuint (plugin_call_count (t), ==, 1);
  ask = agent_turn_wait (t, "question:ask");

  /* The snapshot says the same. */
  change = snapshot_access (t, t->session, "change_tool");
  g_assert_false (json_object_get_boolean_member (change, "enabled"));
  look = snapshot_access (t, t->session, "look_tool");
  g_assert_true (json_object_get_boolean_member (look, "enabled"));
  g_assert_cmpstr (json_object_get_string_member (look, "policyAction"), ==, "allow");
}

static void
test_removed (void)
{
  g_autofree gchar *id = NULL;
  g_autoptr (AgentTurn) t = tool_turn (
      "{\"responses\":["
      "{\"events\":[{\"toolCall\":{\"id\":\"c1\",\"name\":\"gone_tool\",\"args\":{}}}],"
      "\"stopReason\":\"tool_use\"},"
      "{\"events\":[{\"text\":\"It is gone.\"}],\"stopReason\":\"end_turn\"}]}",
      "gone_tool", ASK, "Use it", &id);
  g_autofree gchar *first = NULL;
  g_autofree gchar *second = NULL;
  g_autoptr (JsonObject) req = NULL;
  g_autoptr (JsonNode) removed = NULL;
  g_autoptr (GPtrArray) results = NULL;

  if (t == NULL)
    return;
  req = wait_permission (t);
  /* Withdrawn while a person is asked: allowed, it cannot run. */
  removed = agent_call (t->f->client, "agenttooltest_remove", "{\"name\":\"gone_tool\"}");
  g_assert_true (json_object_get_boolean_member (json_node_get_object (removed), "removed"));
  respond (t, req, "allow_once");
  assert_tool_failed (
      t, "Tool gone_tool is no longer available: the agenttooltest plugin withdrew it");
  assert_turn_done (t, id);
  g_assert_cmpuint (plugin_call_count (t), ==, 0);

  /* Listed in the first request, gone from the next. */
  first = request_tools (t, 0);
  second = request_tools (t, 1);
  g_assert_true (g_str_has_suffix (first, ",gone_tool"));
  g_assert_null (strstr (second, "gone_tool"));
  results = items_of_kind (t->f->client, t->session, "tool_result");
  g_assert_cmpstr (json_object_get_string_member (g_ptr_array_index (results, 0), "status"), ==,
                   "error");
}

/* The media items of the session: the two valid entries of the result, in order. */
static void
assert_media_items (AgentTurn *t)
{
  g_autoptr (GPtrArray) media = items_of_kind (t->f->client, t->session, "media");
  JsonObject *image, *video;

  g_assert_cmpuint (media->len, ==, 2);
  image = g_ptr_array_index (media, 0);
  video = g_ptr_array_index (media, 1);
  g_assert_cmpstr (json_object_get_string_member (image, "mediaType"), ==, "image");
  g_assert_cmpstr (json_object_get_string_member (image, "path"), ==, "/tmp/cat.png");
  g_assert_cmpstr (json_object_get_string_member (image, "mimeType"), ==, "image/png");
  g_assert_cmpstr (json_object_get_string_member (image, "data"), ==, "QkFTRTY0LUNBVC1EQVRB");
  g_assert_cmpstr (json_object_get_string_member (image, "toolId"), ==, "c1");
  g_assert_true (g_str_has_prefix (json_object_get_string_member (image, "turnId"), "msg_"));
  g_assert_cmpstr (json_object_get_string_member (video, "mediaType"), ==, "video");
  g_assert_cmpstr (json_object_get_string_member (video, "url"), ==, "https://media.example/v.mp4");
  g_assert_false (json_object_has_member (video, "data"));
}

static void
test_media (void)
{
  g_autofree gchar *id = NULL;
  g_autoptr (AgentTurn) t
      = one_call_turn ("draw_tool", READ_ONLY, "media", "a cat", "Draw a cat", &id);
  g_autoptr (JsonObject) r = NULL;
  g_autoptr (JsonObject) last = NULL;
  g_autoptr (GPtrArray) kinds = g_ptr_array_new_with_free_func (g_free);
  const gchar *content;
  gint result_item, media_item;

  if (t == NULL)
    return;
  r = agent_turn_wait (t, "tool:result");
  /* chat:item events of the turn, in order: the tool_result, then each media item. */
  while (TRUE)
    {
      g_autoptr (JsonObject) ev = agent_turn_wait (t, "chat:item");
      const gchar *kind = json_object_get_string_member (
          json_object_get_object_member (agent_event_data (ev), "item"), "kind");
      g_ptr_array_add (kinds, g_strdup (kind));
      if (g_strcmp0 (kind, "media") == 0 && agent_find (kinds, "media", 0) < (gint) kinds->len - 1)
        break;
    }
  result_item = agent_find (kinds, "tool_result", 0);
  media_item = agent_find (kinds, "media", 0);
  g_assert_cmpint (result_item, >=, 0);
  g_assert_cmpint (media_item, ==, result_item + 1);
  assert_turn_done (t, id);

  /* The model gets the result without the base64 data. */
  last = agent_turn_request_last_message (t, 1);
  content = json_object_get_string_member (last, "content");
  g_assert_nonnull (strstr (content, "made two"));
  g_assert_nonnull (strstr (content, "/tmp/cat.png"));
  g_assert_null (strstr (content, "QkFTRTY0"));
  g_assert_null (
      strstr (json_object_get_string_member (agent_tool_result (r), "result"), "QkFTRTY0"));
  assert_media_items (t);

  /* After a restart they are still there, and a next turn sends no data either. */
  agent_fixture_stop (t->f, SIGTERM);
  agent_fixture_start (t->f);
  assert_media_items (t);
  {
    g_autofree gchar *id2 = agent_send (t->f->client, "send_message",
                                        "{\"sessionId\":\"%s\",\"content\":\"again\"}", t->session);
    g_autoptr (JsonObject) done2 = agent_wait_event (t->f->client, "stream:done", t->session, NULL);
    g_autoptr (GPtrArray) reqs = agent_fixture_llm_requests (t->f);
    g_autofree gchar *body = NULL;
    g_autoptr (JsonNode) node = json_node_new (JSON_NODE_OBJECT);

    g_assert_cmpuint (reqs->len, >=, 3);
    json_node_set_object (node, g_ptr_array_index (reqs, reqs->len - 1));
    body = cw_json_to_string (node);
    g_assert_nonnull (strstr (body, "made two"));
    g_assert_null (strstr (body, "QkFTRTY0"));
  }
}

static void
test_error_result (void)
{
  g_autofree gchar *id = NULL;
  g_autoptr (AgentTurn) t = one_call_turn ("fail_tool", 0, "error", "", "Fail", &id);
  g_autoptr (JsonObject) last = NULL;
  g_autoptr (GPtrArray) results = NULL;

  if (t == NULL)
    return;
  assert_tool_failed (t, "the test tool failed on purpose");
  assert_turn_done (t, id);
  results = items_of_kind (t->f->client, t->session, "tool_result");
  g_assert_cmpstr (json_object_get_string_member (g_ptr_array_index (results, 0), "status"), ==,
                   "error");
  g_assert_cmpstr (json_object_get_string_member (g_ptr_array_index (results, 0), "error"), ==,
                   "the test tool failed on purpose");
  /* The model's next request answers call c1 with the error (OpenAI's wire has no isError). */
  last = agent_turn_request_last_message (t, 1);
  g_assert_cmpstr (json_object_get_string_member (last, "role"), ==, "tool");
  g_assert_cmpstr (json_object_get_string_member (last, "tool_call_id"), ==, "c1");
  g_assert_nonnull (
      strstr (json_object_get_string_member (last, "content"), "the test tool failed on purpose"));
}

/* A turn whose model calls a tool of @mode, stopped while the command runs: the call ends
 * with "Tool execution was stopped" and the send_message answer comes. */
static AgentTurn *
stop_while_running (const gchar *mode)
{
  g_autofree gchar *id = NULL;
  AgentTurn *t = one_call_turn ("slow_tool", READ_ONLY, mode, "", "Take your time", &id);
  g_autoptr (JsonObject) start = NULL;
  gint64 deadline = g_get_monotonic_time () + 10 * G_TIME_SPAN_SECOND;

  g_assert_nonnull (t);
  start = agent_turn_wait (t, "tool:start");
  /* The command is running. */
  while (plugin_call_count (t) == 0)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (10000);
    }
  agent_turn_call (t, "stop_generation", "");
  assert_tool_failed (t, "Tool execution was stopped");
  agent_assert_reply_ok (t->sender, id);
  return t;
}

/* The command answers once cancelled. */
static void
test_stop_cancels (void)
{
  g_autoptr (AgentTurn) t = stop_while_running ("hang");
}

/* A command that ignores its cancellation does not hold the stop up; the session goes on. */
static void
test_stop_unanswered (void)
{
  g_autoptr (AgentTurn) t = stop_while_running ("ignore");
  g_autofree gchar *id = NULL;

  /* The next message is a turn of its own (the model's second answer). */
  id = agent_turn_send (t, "Hello again");
  assert_turn_done (t, id);
}

/* agent_run_tool and the snapshot as the desktop app calls them: every optional field null. */
static void
test_run_tool_app_nulls (void)
{
  g_autoptr (AgentTurn) t = agent_turn_new ("{\"responses\":[{\"events\":[{\"text\":\"hi\"}]}]}");
  g_autoptr (JsonNode) ran = NULL;
  g_autoptr (JsonNode) denied = NULL;
  g_autoptr (JsonObject) access = NULL;
  g_autoptr (JsonArray) calls = NULL;
  g_autoptr (GPtrArray) media = NULL;
  JsonObject *res;

  if (t == NULL)
    return;
  add_tool (t, "draw_tool", READ_ONLY);
  add_tool (t, "notify_tool", ASK);
  ran = agent_call (t->f->client, "agent_run_tool",
                    "{\"tool\":\"draw_tool\",\"args\":{\"mode\":\"media\",\"text\":null},"
                    "\"sessionId\":\"%s\",\"workingDirectory\":null,\"permissionMode\":null}",
                    t->session);
  res = json_node_get_object (ran);
  g_assert_true (json_object_get_boolean_member (res, "success"));
  g_assert_cmpstr (json_object_get_string_member (res, "tool"), ==, "draw_tool");
  g_assert_null (strstr (json_object_get_string_member (res, "result"), "QkFTRTY0"));
  media = items_of_kind (t->f->client, t->session, "media");
  g_assert_cmpuint (media->len, ==, 2);
  calls = plugin_calls (t);
  g_assert_cmpstr (
      json_object_get_string_member (json_array_get_object_element (calls, 0), "sessionId"), ==,
      t->session);

  /* An ASK tool without permissionMode "ask" is refused, not run. */
  denied = agent_call (t->f->client, "agent_run_tool",
                       "{\"tool\":\"notify_tool\",\"args\":null,\"sessionId\":\"%s\","
                       "\"workingDirectory\":null,\"permissionMode\":null}",
                       t->session);
  g_assert_false (json_object_get_boolean_member (json_node_get_object (denied), "success"));
  g_assert_true (json_object_get_boolean_member (json_node_get_object (denied), "denied"));
  g_assert_cmpuint (plugin_call_count (t), ==, 1);

  access = snapshot_access (t, NULL, "notify_tool");
  g_assert_true (json_object_get_boolean_member (access, "enabled"));
  g_assert_cmpstr (json_object_get_string_member (access, "policyAction"), ==, "ask");
  g_assert_cmpstr (json_object_get_string_member (access, "reason"), ==,
                   "contributed by the agenttooltest plugin");
}

/* Anthropic's and Gemini's requests list the contributed tool too (OpenAI's: above). */
static void
test_wire_formats (void)
{
  static const gchar *const apis[][2] = { { "anthropic", "anthropic" }, { "gemini", "google" } };

  for (guint i = 0; i < G_N_ELEMENTS (apis); i++)
    {
      g_autoptr (AgentFixture) f = agent_fixture_new ();
      g_autoptr (JsonNode) config = NULL;
      g_autofree gchar *keys = g_strdup_printf ("{\"%s\":\"sk-wire-test\"}", apis[i][1]);
      g_autofree gchar *session = NULL;
      g_autofree gchar *names = NULL;

      cw_test_daemon_setenv (f->daemon, "DBUS_SESSION_BUS_ADDRESS",
                             "unix:path=/nonexistent/coworkd-test-bus");
      agent_fixture_start (f);
      g_assert_true (agent_fixture_start_llm_api (
          f, apis[i][0], "{\"responses\":[{\"events\":[{\"text\":\"ok\"}]}]}"));
      config = agent_app_runtime_config (f->client, apis[i][1], f->llm_url, keys);
      add_tool_on (f->client, "echo_tool", READ_ONLY);
      session = agent_fixture_run_turn (f, apis[i][1]);
      names = wire_tool_names (f, -1, apis[i][0]);
      g_assert_true (g_str_has_prefix (names, "read_file,"));
      g_assert_true (g_str_has_suffix (names, ",ask_user,echo_tool"));
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/agent/plugin-tools/call-and-result", test_call_and_result);
  g_test_add_func ("/agent/plugin-tools/ask-allow-deny", test_ask_allow_deny);
  g_test_add_func ("/agent/plugin-tools/permission-across-restart", test_permission_across_restart);
  g_test_add_func ("/agent/plugin-tools/plan-mode", test_plan_mode);
  g_test_add_func ("/agent/plugin-tools/removed", test_removed);
  g_test_add_func ("/agent/plugin-tools/media", test_media);
  g_test_add_func ("/agent/plugin-tools/error-result", test_error_result);
  g_test_add_func ("/agent/plugin-tools/stop-cancels", test_stop_cancels);
  g_test_add_func ("/agent/plugin-tools/stop-unanswered", test_stop_unanswered);
  g_test_add_func ("/agent/plugin-tools/run-tool-app-nulls", test_run_tool_app_nulls);
  g_test_add_func ("/agent/plugin-tools/wire-formats", test_wire_formats);
  return g_test_run ();
}
