/* test-agent-run-tool.c: agent_run_tool through a real coworkd: a read in the working
 * directory returns the file, a write outside it is denied (and recorded) when nobody may be
 * asked, and with permissionMode "ask" it is a pending interaction (interaction_list and the
 * bootstrap's pendingInteractions) that runs once interaction_respond allows it; an unknown
 * tool, a turn-only tool and bad params are InvalidParams; a trusted command runs in the
 * turn's Landlock sandbox.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-agent-test.h"

static AgentFixture *
started (void)
{
  AgentFixture *f = agent_fixture_new ();

  agent_fixture_start (f);
  return f;
}

static JsonObject *
result_object (JsonNode *node)
{
  g_assert_nonnull (node);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (node));
  return json_node_get_object (node);
}

/* The session's chat item of @kind about tool call @tool_id, or NULL. */
static JsonObject *
find_item (JsonNode *session, const gchar *kind, const gchar *tool_id)
{
  JsonArray *items = json_object_get_array_member (json_node_get_object (session), "chatItems");

  for (guint i = 0; i < json_array_get_length (items); i++)
    {
      JsonObject *item = json_array_get_object_element (items, i);
      if (g_strcmp0 (json_object_get_string_member_with_default (item, "kind", NULL), kind) == 0
          && g_strcmp0 (json_object_get_string_member_with_default (item, "toolId", NULL), tool_id)
                 == 0)
        return item;
    }
  return NULL;
}

static void
test_read_in_workdir (void)
{
  g_autoptr (AgentFixture) f = started ();
  g_autofree gchar *file = g_build_filename (f->workdir, "notes.txt", NULL);
  g_autoptr (JsonNode) r = NULL;
  g_autoptr (JsonNode) again = NULL;
  g_autoptr (JsonNode) session = NULL;
  JsonObject *res, *item;
  const gchar *sid;

  g_assert_true (g_file_set_contents (file, "alpha\nbeta\n", -1, NULL));
  /* Every optional field as null, as the app sends them. */
  r = agent_call (f->client, "agent_run_tool",
                  "{\"sessionId\":null,\"workingDirectory\":\"%s\",\"tool\":\"read_file\","
                  "\"args\":{\"path\":\"notes.txt\"},\"permissionMode\":null}",
                  f->workdir);
  res = result_object (r);
  g_assert_true (json_object_get_boolean_member (res, "success"));
  g_assert_false (json_object_get_boolean_member (res, "denied"));
  g_assert_nonnull (strstr (json_object_get_string_member (res, "result"), "alpha"));
  g_assert_nonnull (strstr (json_object_get_string_member (res, "result"), "beta"));
  sid = json_object_get_string_member (res, "sessionId");
  g_assert_true (g_str_has_prefix (sid, "sess"));

  /* The call is recorded in its session like a turn's. */
  session = agent_call (f->client, "get_session", "{\"sessionId\":\"%s\"}", sid);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (session), "type"), ==,
                   "ephemeral");
  item = find_item (session, "tool_result", json_object_get_string_member (res, "toolCallId"));
  g_assert_nonnull (item);
  g_assert_cmpstr (json_object_get_string_member (item, "status"), ==, "success");
  g_assert_nonnull (
      find_item (session, "tool_start", json_object_get_string_member (res, "toolCallId")));

  /* The same session again, a listing this time. */
  again = agent_call (f->client, "agent_run_tool",
                      "{\"sessionId\":\"%s\",\"tool\":\"ls\",\"args\":{\"path\":\".\"}}", sid);
  g_assert_true (json_object_get_boolean_member (result_object (again), "success"));
  g_assert_nonnull (
      strstr (json_object_get_string_member (result_object (again), "result"), "notes.txt"));
  g_assert_cmpstr (json_object_get_string_member (result_object (again), "sessionId"), ==, sid);
}

static void
test_write_outside_denied (void)
{
  g_autoptr (AgentFixture) f = started ();
  g_autofree gchar *outside = g_build_filename (f->daemon->dir, "outside.txt", NULL);
  g_autoptr (JsonNode) r = NULL;
  g_autoptr (JsonNode) list = NULL;
  g_autoptr (JsonNode) session = NULL;
  JsonObject *res, *item;

  r = agent_call (f->client, "agent_run_tool",
                  "{\"workingDirectory\":\"%s\",\"tool\":\"write_file\","
                  "\"args\":{\"path\":\"%s\",\"content\":\"nope\"}}",
                  f->workdir, outside);
  res = result_object (r);
  g_assert_false (json_object_get_boolean_member (res, "success"));
  g_assert_true (json_object_get_boolean_member (res, "denied"));
  g_assert_true (g_str_has_prefix (json_object_get_string_member (res, "error"),
                                   "Permission denied: file_write of "));
  g_assert_nonnull (strstr (json_object_get_string_member (res, "error"), "outside.txt"));
  g_assert_false (g_file_test (outside, G_FILE_TEST_EXISTS));
  /* Nobody was asked. */
  list = agent_call (f->client, "interaction_list", "{\"owner\":\"agent\"}");
  g_assert_cmpuint (json_array_get_length (
                        json_object_get_array_member (json_node_get_object (list), "interactions")),
                    ==, 0);
  /* The denial and its reason are in the session. */
  session = agent_call (f->client, "get_session", "{\"sessionId\":\"%s\"}",
                        json_object_get_string_member (res, "sessionId"));
  item = find_item (session, "tool_result", json_object_get_string_member (res, "toolCallId"));
  g_assert_nonnull (item);
  g_assert_cmpstr (json_object_get_string_member (item, "status"), ==, "error");
  g_assert_true (json_object_get_boolean_member (item, "denied"));
  g_assert_cmpstr (json_object_get_string_member (item, "error"), ==,
                   json_object_get_string_member (res, "error"));

  /* A command that is not trusted asks too, so it is denied the same way. */
  g_clear_pointer (&r, json_node_unref);
  r = agent_call (f->client, "agent_run_tool",
                  "{\"workingDirectory\":\"%s\",\"tool\":\"execute\","
                  "\"args\":{\"command\":\"touch made-by-shell\"}}",
                  f->workdir);
  g_assert_true (json_object_get_boolean_member (result_object (r), "denied"));
  {
    g_autofree gchar *made = g_build_filename (f->workdir, "made-by-shell", NULL);
    g_assert_false (g_file_test (made, G_FILE_TEST_EXISTS));
  }
}

static gboolean
pending_has (JsonArray *pending, const gchar *id)
{
  for (guint i = 0; pending != NULL && i < json_array_get_length (pending); i++)
    if (g_strcmp0 (json_object_get_string_member (json_array_get_object_element (pending, i), "id"),
                   id)
        == 0)
      return TRUE;
  return FALSE;
}

static void
test_write_outside_asked (void)
{
  g_autoptr (AgentFixture) f = started ();
  g_autoptr (CwClient) caller = cw_test_daemon_connect (f->daemon);
  g_autofree gchar *outside = g_build_filename (f->daemon->dir, "asked.txt", NULL);
  g_autofree gchar *call_id = NULL;
  g_autofree gchar *contents = NULL;
  g_autoptr (JsonObject) request = NULL;
  g_autoptr (JsonObject) reply = NULL;
  g_autoptr (JsonNode) list = NULL;
  g_autoptr (JsonNode) boot = NULL;
  g_autoptr (JsonNode) answered = NULL;
  g_autoptr (JsonNode) after = NULL;
  g_autoptr (GError) error = NULL;
  JsonArray *interactions;
  JsonObject *it, *res;
  const gchar *perm;

  call_id = agent_send (caller, "agent_run_tool",
                        "{\"workingDirectory\":\"%s\",\"tool\":\"write_file\",\"args\":{\"path\":"
                        "\"%s\",\"content\":\"approved\"},\"permissionMode\":\"ask\"}",
                        f->workdir, outside);
  request = agent_wait_event (f->client, "permission:request", NULL, NULL);
  perm = json_object_get_string_member (
      json_object_get_object_member (agent_event_data (request), "request"), "id");
  g_assert_false (g_file_test (outside, G_FILE_TEST_EXISTS));

  list = agent_call (f->client, "interaction_list", "{\"owner\":\"agent\"}");
  interactions = json_object_get_array_member (json_node_get_object (list), "interactions");
  g_assert_cmpuint (json_array_get_length (interactions), ==, 1);
  it = json_array_get_object_element (interactions, 0);
  g_assert_cmpstr (json_object_get_string_member (it, "id"), ==, perm);
  g_assert_cmpstr (json_object_get_string_member (it, "kind"), ==, "permission");
  g_assert_cmpstr (
      json_object_get_string_member (json_object_get_object_member (it, "payload"), "type"), ==,
      "file_write");
  g_assert_cmpstr (
      json_object_get_string_member (json_object_get_object_member (it, "payload"), "toolName"), ==,
      "write_file");
  boot = agent_call (f->client, "agent_get_bootstrap_state", NULL);
  g_assert_true (pending_has (
      json_object_get_array_member (json_node_get_object (boot), "pendingInteractions"), perm));

  answered = agent_call (f->client, "interaction_respond",
                         "{\"id\":\"%s\",\"answer\":\"allow_once\"}", perm);
  reply = cw_client_wait_response (caller, call_id, &error);
  g_assert_no_error (error);
  g_assert_true (json_object_get_boolean_member (reply, "success"));
  res = json_object_get_object_member (reply, "result");
  g_assert_true (json_object_get_boolean_member (res, "success"));
  g_assert_false (json_object_get_boolean_member (res, "denied"));
  g_assert_true (g_file_get_contents (outside, &contents, NULL, NULL));
  g_assert_cmpstr (contents, ==, "approved");
  after = agent_call (f->client, "interaction_list", "{\"owner\":\"agent\"}");
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (
                        json_node_get_object (after), "interactions")),
                    ==, 0);
}

static void
test_asked_and_refused (void)
{
  g_autoptr (AgentFixture) f = started ();
  g_autoptr (CwClient) caller = cw_test_daemon_connect (f->daemon);
  g_autofree gchar *outside = g_build_filename (f->daemon->dir, "refused.txt", NULL);
  g_autofree gchar *call_id = NULL;
  g_autoptr (JsonObject) request = NULL;
  g_autoptr (JsonObject) reply = NULL;
  g_autoptr (JsonNode) answered = NULL;
  g_autoptr (GError) error = NULL;
  JsonObject *res;

  call_id = agent_send (caller, "agent_run_tool",
                        "{\"workingDirectory\":\"%s\",\"tool\":\"write_file\",\"args\":{\"path\":"
                        "\"%s\",\"content\":\"x\"},\"permissionMode\":\"ask\"}",
                        f->workdir, outside);
  request = agent_wait_event (f->client, "permission:request", NULL, NULL);
  answered = agent_call (
      f->client, "interaction_respond", "{\"id\":\"%s\",\"answer\":\"deny\"}",
      json_object_get_string_member (
          json_object_get_object_member (agent_event_data (request), "request"), "id"));
  reply = cw_client_wait_response (caller, call_id, &error);
  g_assert_no_error (error);
  res = json_object_get_object_member (reply, "result");
  g_assert_false (json_object_get_boolean_member (res, "success"));
  g_assert_true (json_object_get_boolean_member (res, "denied"));
  g_assert_false (g_file_test (outside, G_FILE_TEST_EXISTS));
}

/* The agent's commandSandbox in daemon_health. */
static gboolean
sandbox_available (AgentFixture *f)
{
  g_autoptr (JsonNode) health = agent_call (f->client, "daemon_health", NULL);
  JsonArray *plugins = json_object_get_array_member (json_node_get_object (health), "plugins");

  for (guint i = 0; i < json_array_get_length (plugins); i++)
    {
      JsonObject *p = json_array_get_object_element (plugins, i);
      if (g_strcmp0 (json_object_get_string_member (p, "name"), "agent") == 0)
        return json_object_get_boolean_member (
            json_object_get_object_member (json_object_get_object_member (p, "details"),
                                           "commandSandbox"),
            "available");
    }
  g_error ("no agent plugin in daemon_health");
  return FALSE;
}

/* A trusted command runs without a person, in the same Landlock sandbox as a turn's: it
 * writes in the working directory, not outside it. Where there is no sandbox it asks, so an
 * unattended call is denied. */
static void
test_trusted_command_confined (void)
{
  g_autoptr (AgentFixture) f = started ();
  g_autofree gchar *script = g_build_filename (f->workdir, "probe.sh", NULL);
  g_autofree gchar *inside = g_build_filename (f->workdir, "inside.txt", NULL);
  g_autofree gchar *outside = g_build_filename (f->daemon->dir, "outside.txt", NULL);
  g_autofree gchar *body = g_strdup_printf ("echo in > inside.txt && echo WROTE-INSIDE\n"
                                            "echo out > '%s' && echo WROTE-OUTSIDE\n"
                                            "echo PROBE-DONE\n",
                                            outside);
  g_autoptr (JsonNode) config = NULL;
  g_autoptr (JsonNode) r = NULL;
  JsonObject *res;

  g_assert_true (g_file_set_contents (script, body, -1, NULL));
  config = agent_call (f->client, "set_runtime_config",
                       "{\"config\":{\"sandbox\":{\"trustedCommands\":[\"sh probe.sh\"]}}}");
  r = agent_call (f->client, "agent_run_tool",
                  "{\"workingDirectory\":\"%s\",\"tool\":\"execute\",\"args\":{\"command\":"
                  "\"sh probe.sh\"}}",
                  f->workdir);
  res = result_object (r);
  if (!sandbox_available (f))
    {
      g_assert_true (json_object_get_boolean_member (res, "denied"));
      g_assert_false (g_file_test (inside, G_FILE_TEST_EXISTS));
      return;
    }
  g_assert_false (json_object_get_boolean_member (res, "denied"));
  g_assert_nonnull (strstr (json_object_get_string_member (res, "result"), "PROBE-DONE"));
  g_assert_nonnull (strstr (json_object_get_string_member (res, "result"), "WROTE-INSIDE"));
  g_assert_null (strstr (json_object_get_string_member (res, "result"), "WROTE-OUTSIDE"));
  g_assert_true (g_file_test (inside, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (outside, G_FILE_TEST_EXISTS));
}

static void
test_invalid (void)
{
  g_autoptr (AgentFixture) f = started ();
  g_autofree gchar *err = NULL;

  err = agent_call_error (f->client, "agent_run_tool",
                          "{\"workingDirectory\":\"%s\",\"tool\":\"frobnicate\",\"args\":{}}",
                          f->workdir);
  g_assert_cmpstr (err, ==, "Unknown tool: frobnicate");
  g_clear_pointer (&err, g_free);
  err = agent_call_error (f->client, "agent_run_tool",
                          "{\"workingDirectory\":\"%s\",\"tool\":\"ask_user\",\"args\":{}}",
                          f->workdir);
  g_assert_cmpstr (err, ==, "Tool ask_user acts on a chat turn and runs only inside one");
  g_clear_pointer (&err, g_free);
  err = agent_call_error (f->client, "agent_run_tool", "{\"tool\":\"ls\",\"args\":{}}");
  g_assert_nonnull (strstr (err, "workingDirectory"));
  g_clear_pointer (&err, g_free);
  err = agent_call_error (f->client, "agent_run_tool",
                          "{\"workingDirectory\":\"%s\",\"tool\":\"ls\",\"args\":[]}", f->workdir);
  g_assert_cmpstr (err, ==, "args must be an object");
  g_clear_pointer (&err, g_free);
  err = agent_call_error (
      f->client, "agent_run_tool",
      "{\"workingDirectory\":\"%s\",\"tool\":\"ls\",\"permissionMode\":\"always\"}", f->workdir);
  g_assert_cmpstr (err, ==, "permissionMode must be \"deny\" or \"ask\"");
  g_clear_pointer (&err, g_free);
  err = agent_call_error (f->client, "agent_run_tool",
                          "{\"workingDirectory\":\"%s/nowhere\",\"tool\":\"ls\"}", f->workdir);
  g_assert_true (g_str_has_prefix (err, "Working directory does not exist"));
  g_clear_pointer (&err, g_free);
  err = agent_call_error (f->client, "agent_run_tool",
                          "{\"sessionId\":\"sess_none\",\"tool\":\"ls\"}");
  g_assert_cmpstr (err, ==, "Session not found: sess_none");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/agent/run-tool/read-in-workdir", test_read_in_workdir);
  g_test_add_func ("/agent/run-tool/write-outside-denied", test_write_outside_denied);
  g_test_add_func ("/agent/run-tool/write-outside-asked", test_write_outside_asked);
  g_test_add_func ("/agent/run-tool/asked-and-refused", test_asked_and_refused);
  g_test_add_func ("/agent/run-tool/trusted-command-confined", test_trusted_command_confined);
  g_test_add_func ("/agent/run-tool/invalid", test_invalid);
  return g_test_run ();
}
