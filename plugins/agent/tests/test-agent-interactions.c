/* test-agent-interactions.c: the agent's permissions and questions are SDK pending
 * interactions (run under dbus-run-session): a permission pending across kill -9 is in the
 * bootstrap state both ways (the session's pendingPermissions and pendingInteractions) and
 * is answered over D-Bus with respond_permission; a question pending across kill -9 is
 * answered from a second socket client with the core's interaction_respond. Every client
 * sees the resolution, and the turn goes on.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-agent-test.h"
#include "cw-dbus-test.h"

#include <signal.h>

#define WRITE_TOOL_SCRIPT                                                                          \
  "{\"responses\":["                                                                               \
  "{\"events\":[{\"toolCall\":{\"id\":\"call_1\",\"name\":"                                        \
  "\"write_file\",\"args\":{\"path\":\"../out.txt\",\"content\":\"hi there\"}}}],"                 \
  "\"stopReason\":\"tool_use\"},"                                                                  \
  "{\"events\":[{\"text\":\"Done.\"}],\"stopReason\":\"end_turn\"}]}"

#define ASK_SCRIPT                                                                                 \
  "{\"responses\":[{\"events\":[{\"toolCall\":{\"id\":\"c1\",\"name\":\"ask_user\","               \
  "\"args\":{\"question\":\"Proceed?\"}}}],\"stopReason\":\"tool_use\"},"                          \
  "{\"events\":[{\"text\":\"Proceeding.\"}],\"stopReason\":\"end_turn\"}]}"

/* A second socket client that gets events. */
static CwClient *
second_client (AgentTurn *t)
{
  CwClient *c = cw_test_daemon_connect (t->f->daemon);
  g_autoptr (JsonNode) pong = agent_call (c, "ping", NULL);

  return c;
}

static JsonObject *
find_pending (JsonNode *boot, const gchar *id)
{
  JsonArray *pending
      = json_object_get_array_member (json_node_get_object (boot), "pendingInteractions");

  for (guint i = 0; i < json_array_get_length (pending); i++)
    {
      JsonObject *it = json_array_get_object_element (pending, i);
      if (g_strcmp0 (json_object_get_string_member (it, "id"), id) == 0)
        return it;
    }
  return NULL;
}

static void
test_permission_over_dbus (void)
{
  g_autoptr (AgentTurn) t = agent_turn_new (WRITE_TOOL_SCRIPT);
  g_autoptr (GDBusConnection) bus = NULL;
  g_autoptr (CwTestEventLog) dbus_log = NULL;
  g_autoptr (CwClient) other = NULL;
  g_autoptr (JsonObject) req = NULL;
  g_autoptr (JsonObject) resolved_a = NULL;
  g_autoptr (JsonObject) resolved_b = NULL;
  g_autoptr (JsonObject) done = NULL;
  g_autoptr (JsonNode) boot = NULL;
  g_autoptr (JsonNode) r = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree gchar *perm = NULL;
  g_autofree gchar *params = NULL;
  g_autofree gchar *path = NULL;
  g_autofree gchar *contents = NULL;
  g_autofree gchar *err = NULL;
  JsonObject *runtime, *it;

  if (t == NULL)
    return;
  bus = cw_test_bus_connect (NULL);
  dbus_log = cw_test_event_log_new (bus);
  path = g_build_filename (t->f->daemon->dir, "out.txt", NULL);
  g_free (agent_turn_send (t, "Write the file"));
  req = agent_turn_wait (t, "permission:request");
  perm = g_strdup (json_object_get_string_member (
      json_object_get_object_member (agent_event_data (req), "request"), "id"));

  g_clear_pointer (&t->sender, cw_client_free);
  agent_fixture_stop (t->f, SIGKILL);
  agent_fixture_start (t->f);
  g_assert_true (cw_test_wait_name (bus, CW_TEST_NAME, TRUE, 10));
  other = second_client (t);

  /* The contract's shape for the app, and the SDK's for every other client. */
  boot = agent_call (t->f->client, "agent_get_bootstrap_state", NULL);
  runtime = json_object_get_object_member (
      json_object_get_object_member (json_node_get_object (boot), "runtime"), t->session);
  g_assert_cmpstr (json_object_get_string_member (
                       json_array_get_object_element (
                           json_object_get_array_member (runtime, "pendingPermissions"), 0),
                       "id"),
                   ==, perm);
  it = find_pending (boot, perm);
  g_assert_nonnull (it);
  g_assert_cmpstr (json_object_get_string_member (it, "kind"), ==, "permission");
  g_assert_cmpstr (json_object_get_string_member (it, "owner"), ==, "agent");
  g_assert_cmpstr (json_object_get_string_member (it, "sessionId"), ==, t->session);
  g_assert_cmpstr (
      json_object_get_string_member (json_object_get_object_member (it, "payload"), "type"), ==,
      "file_write");

  /* Answered over D-Bus with the agent's own command. */
  params = g_strdup_printf ("{\"permissionId\":\"%s\",\"decision\":\"allow_once\"}", perm);
  r = cw_test_dbus_call (bus, "respond_permission", params, &error);
  g_assert_no_error (error);
  resolved_a = agent_wait_event (t->f->client, "permission:resolved", t->session, NULL);
  resolved_b = agent_wait_event (other, "permission:resolved", t->session, NULL);
  g_assert_cmpstr (json_object_get_string_member (agent_event_data (resolved_a), "permissionId"),
                   ==, perm);
  g_assert_cmpstr (json_object_get_string_member (agent_event_data (resolved_b), "decision"), ==,
                   "allow_once");
  g_assert_true (cw_test_event_log_wait (dbus_log, "permission:resolved", 10));
  {
    g_autofree gchar *entry = g_strdup_printf ("interaction:resolved:%s", perm);
    g_assert_true (cw_test_event_log_wait (dbus_log, entry, 10));
  }
  done = agent_wait_event (t->f->client, "stream:done", t->session, NULL);
  g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
  g_assert_cmpstr (contents, ==, "hi there");

  /* Answering again, either way, is refused. */
  err = agent_call_error (other, "respond_permission",
                          "{\"permissionId\":\"%s\",\"decision\":\"deny\"}", perm);
  g_assert_cmpstr (err, ==, g_strdup_printf ("Permission request not found: %s", perm));
  g_clear_pointer (&err, g_free);
  err = agent_call_error (other, "interaction_respond", "{\"id\":\"%s\",\"answer\":\"deny\"}",
                          perm);
  g_assert_nonnull (strstr (err, "was already answered"));
}

static void
test_question_from_second_client (void)
{
  g_autoptr (AgentTurn) t = agent_turn_new (ASK_SCRIPT);
  g_autoptr (CwClient) other = NULL;
  g_autoptr (JsonObject) ask = NULL;
  g_autoptr (JsonObject) answered_a = NULL;
  g_autoptr (JsonObject) answered_b = NULL;
  g_autoptr (JsonObject) done = NULL;
  g_autoptr (JsonObject) last = NULL;
  g_autoptr (JsonNode) boot = NULL;
  g_autoptr (JsonNode) r = NULL;
  g_autofree gchar *q = NULL;
  JsonObject *runtime;

  if (t == NULL)
    return;
  g_free (agent_turn_send (t, "Ask me"));
  ask = agent_turn_wait (t, "question:ask");
  q = g_strdup (json_object_get_string_member (
      json_object_get_object_member (agent_event_data (ask), "request"), "id"));
  g_clear_pointer (&t->sender, cw_client_free);
  agent_fixture_stop (t->f, SIGKILL);
  agent_fixture_start (t->f);
  other = second_client (t);

  boot = agent_call (t->f->client, "agent_get_bootstrap_state", NULL);
  runtime = json_object_get_object_member (
      json_object_get_object_member (json_node_get_object (boot), "runtime"), t->session);
  g_assert_cmpstr (json_object_get_string_member (runtime, "runState"), ==, "waiting_question");
  g_assert_nonnull (find_pending (boot, q));

  /* The generic command resolves the agent's question like respond_question would. */
  r = agent_call (other, "interaction_respond", "{\"id\":\"%s\",\"answer\":\"yes\"}", q);
  answered_a = agent_wait_event (t->f->client, "question:answered", t->session, NULL);
  answered_b = agent_wait_event (other, "question:answered", t->session, NULL);
  g_assert_cmpstr (json_object_get_string_member (agent_event_data (answered_a), "questionId"), ==,
                   q);
  g_assert_cmpstr (json_object_get_string_member (agent_event_data (answered_b), "answer"), ==,
                   "yes");
  done = agent_wait_event (t->f->client, "stream:done", t->session, NULL);
  last = agent_turn_request_last_message (t, 1);
  g_assert_cmpstr (json_object_get_string_member (last, "content"), ==, "yes");
  g_clear_pointer (&boot, json_node_unref);
  boot = agent_call (t->f->client, "agent_get_bootstrap_state", NULL);
  g_assert_null (find_pending (boot, q));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  cw_test_dbus_init ();
  if (g_getenv ("DBUS_SESSION_BUS_ADDRESS") == NULL)
    {
      g_test_skip ("needs a session bus (run under dbus-run-session)");
      return 77;
    }
  g_test_add_func ("/cowork/agent/interactions/permission-over-dbus", test_permission_over_dbus);
  g_test_add_func ("/cowork/agent/interactions/question-from-second-client",
                   test_question_from_second_client);
  return g_test_run ();
}
