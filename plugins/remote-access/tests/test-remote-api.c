/* test-remote-api.c: the /v1 HTTP API as the mobile app uses it, against the agent (fake
 * LLM) and cron: sessions created, read, messaged, stopped; permissions and questions
 * answered; schedules listed, paused, resumed and run; bad bodies; every optional field
 * sent as null, as the app does.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-remote-test.h"

#include <signal.h>
#include <string.h>

#define SCRIPT                                                                                     \
  "{\"responses\":["                                                                               \
  "{\"events\":[{\"toolCall\":{\"id\":\"call_1\",\"name\":"                                        \
  "\"write_file\",\"args\":{\"path\":\"../out.txt\",\"content\":\"hi there\"}}}],"                 \
  "\"stopReason\":\"tool_use\"},"                                                                  \
  "{\"events\":[{\"text\":\"Written.\"}],\"stopReason\":\"end_turn\"},"                            \
  "{\"events\":[{\"toolCall\":{\"id\":\"c2\",\"name\":\"ask_user\","                               \
  "\"args\":{\"question\":\"Proceed?\"}}}],\"stopReason\":\"tool_use\"},"                          \
  "{\"events\":[{\"text\":\"Proceeding.\"}],\"stopReason\":\"end_turn\"},"                         \
  "{\"events\":[{\"text\":\"w0 \"},{\"delayMs\":300},{\"text\":\"w1 \"},{\"delayMs\":300},"        \
  "{\"text\":\"w2 \"},{\"delayMs\":300},{\"text\":\"w3 \"},{\"delayMs\":300},{\"text\":\"w4 \"},"  \
  "{\"delayMs\":20000},{\"text\":\"never-sent\"}],\"stopReason\":\"end_turn\"}]}"

static guint
api (const gchar *base, const gchar *method, const gchar *path, const gchar *body,
     const gchar *token, JsonObject **reply)
{
  g_autofree gchar *url = g_strconcat (base, path, NULL);

  return remote_http (method, url, body, token, NULL, reply);
}

static void
test_sessions_api (void)
{
  g_autoptr (AgentTurn) t = agent_turn_new (SCRIPT);
  g_autofree gchar *base = NULL, *token = NULL, *path = NULL, *body = NULL, *perm = NULL;
  g_autofree gchar *q = NULL, *created = NULL;
  g_autoptr (JsonObject) reply = NULL, req = NULL, ask = NULL;
  JsonArray *sessions;

  if (t == NULL)
    return;
  base = remote_enable (t->f);
  token = remote_pair (t->f, base, "Phone", NULL);

  /* Create: every optional field null, as the app sends them. */
  body = g_strdup_printf ("{\"workingDirectory\":\"%s\",\"model\":null,\"title\":null,"
                          "\"provider\":\"lmstudio\",\"executionMode\":null}",
                          t->f->workdir);
  g_assert_cmpuint (api (base, "POST", "/v1/sessions", body, token, &reply), ==, 200);
  created = g_strdup (
      json_object_get_string_member (json_object_get_object_member (reply, "session"), "id"));
  g_assert_true (g_str_has_prefix (created, "sess_"));
  g_clear_pointer (&reply, json_object_unref);
  g_assert_cmpuint (api (base, "GET", "/v1/sessions", NULL, token, &reply), ==, 200);
  sessions = json_object_get_array_member (reply, "sessions");
  g_assert_cmpuint (json_array_get_length (sessions), ==, 2);
  g_clear_pointer (&reply, json_object_unref);
  path = g_strdup_printf ("/v1/sessions/%s", t->session);
  g_assert_cmpuint (api (base, "GET", path, NULL, token, &reply), ==, 200);
  g_assert_cmpstr (
      json_object_get_string_member (json_object_get_object_member (reply, "session"), "id"), ==,
      t->session);
  g_assert_true (
      json_object_has_member (json_object_get_object_member (reply, "session"), "chatItems"));
  g_clear_pointer (&reply, json_object_unref);
  g_assert_cmpuint (api (base, "GET", "/v1/sessions/sess_nope", NULL, token, &reply), ==, 404);
  g_assert_true (
      g_str_has_prefix (json_object_get_string_member (reply, "error"), "Session not found"));
  g_clear_pointer (&path, g_free);

  /* Bad bodies. */
  path = g_strdup_printf ("/v1/sessions/%s/messages", t->session);
  g_clear_pointer (&reply, json_object_unref);
  g_assert_cmpuint (
      api (base, "POST", path, "{\"content\":null,\"attachments\":null}", token, &reply), ==, 400);
  g_assert_cmpstr (json_object_get_string_member (reply, "error"), ==,
                   "content or attachments is required");
  g_assert_cmpuint (api (base, "POST", path, "[1]", token, NULL), ==, 400);
  g_assert_cmpuint (api (base, "POST", path, "{not json", token, NULL), ==, 400);

  /* A message: accepted while the turn runs (the agent answers at turn end). */
  g_assert_cmpuint (api (base, "POST", path,
                         "{\"content\":\"Write the file\",\"attachments\":[{\"type\":\"weird\","
                         "\"name\":\"a.txt\",\"data\":\"aGk=\"},{\"type\":\"image\",\"name\":"
                         "\"no-data.png\"}]}",
                         token, &reply),
                    ==, 200);
  req = agent_turn_wait (t, "permission:request");
  perm = g_strdup (json_object_get_string_member (
      json_object_get_object_member (agent_event_data (req), "request"), "id"));
  g_clear_pointer (&path, g_free);
  path = g_strdup_printf ("/v1/sessions/%s/permissions", t->session);
  g_assert_cmpuint (
      api (base, "POST", path, "{\"permissionId\":null,\"decision\":\"allow\"}", token, NULL), ==,
      400);
  g_clear_pointer (&body, g_free);
  body = g_strdup_printf ("{\"permissionId\":\"%s\",\"decision\":\"allow_once\"}", perm);
  g_assert_cmpuint (api (base, "POST", path, body, token, NULL), ==, 200);
  json_object_unref (agent_turn_wait (t, "stream:done"));
  {
    /* The attachment of an unknown type became a file; the one without data was dropped. */
    g_autoptr (JsonNode) details
        = agent_call (t->f->client, "get_session", "{\"sessionId\":\"%s\"}", t->session);
    JsonArray *items = json_object_get_array_member (json_node_get_object (details), "chatItems");
    JsonArray *attachments = NULL;
    for (guint i = 0; i < json_array_get_length (items); i++)
      {
        JsonObject *it = json_array_get_object_element (items, i);
        if (g_strcmp0 (json_object_get_string_member (it, "kind"), "user_message") == 0
            && json_object_has_member (it, "attachments"))
          attachments = json_object_get_array_member (it, "attachments");
      }
    g_assert_nonnull (attachments);
    g_assert_cmpuint (json_array_get_length (attachments), ==, 1);
    g_assert_cmpstr (
        json_object_get_string_member (json_array_get_object_element (attachments, 0), "name"), ==,
        "a.txt");
    g_assert_cmpstr (
        json_object_get_string_member (json_array_get_object_element (attachments, 0), "type"), ==,
        "file");
  }

  /* A question, answered from the phone. */
  g_clear_pointer (&path, g_free);
  path = g_strdup_printf ("/v1/sessions/%s/messages", t->session);
  g_assert_cmpuint (api (base, "POST", path, "{\"content\":\"Ask me\"}", token, NULL), ==, 200);
  ask = agent_turn_wait (t, "question:ask");
  q = g_strdup (json_object_get_string_member (
      json_object_get_object_member (agent_event_data (ask), "request"), "id"));
  g_clear_pointer (&path, g_free);
  path = g_strdup_printf ("/v1/sessions/%s/questions", t->session);
  g_assert_cmpuint (api (base, "POST", path, "{\"questionId\":\"x\"}", token, NULL), ==, 400);
  g_clear_pointer (&body, g_free);
  body = g_strdup_printf ("{\"questionId\":\"%s\",\"answer\":[\"yes\"]}", q);
  g_assert_cmpuint (api (base, "POST", path, body, token, NULL), ==, 200);
  json_object_unref (agent_turn_wait (t, "stream:done"));

  /* Stop on an idle session is fine... */
  g_clear_pointer (&path, g_free);
  path = g_strdup_printf ("/v1/sessions/%s/stop", t->session);
  g_assert_cmpuint (api (base, "POST", path, NULL, token, NULL), ==, 200);
  /* ...and in the middle of a slow turn it ends the turn before the model is done. */
  {
    g_autofree gchar *messages = g_strdup_printf ("/v1/sessions/%s/messages", t->session);
    g_autoptr (JsonObject) done = NULL;
    g_autoptr (GPtrArray) audit = NULL;
    gboolean stopped = FALSE;
    g_assert_cmpuint (api (base, "POST", messages, "{\"content\":\"slow please\"}", token, NULL),
                      ==, 200);
    json_object_unref (agent_turn_wait (t, "stream:chunk"));
    g_assert_cmpuint (api (base, "POST", path, NULL, token, NULL), ==, 200);
    done = agent_turn_wait (t, "stream:done");
    g_assert_cmpint (agent_find (t->seen, "stream:chunk", 0), >=, 0);
    audit = remote_audit (t->f, "remote-access.call");
    for (guint i = 0; i < audit->len; i++)
      {
        JsonObject *d = json_object_get_object_member (g_ptr_array_index (audit, i), "details");
        if (g_strcmp0 (json_object_get_string_member (d, "command"), "stop_generation") == 0)
          stopped = TRUE;
      }
    g_assert_true (stopped);
    {
      g_autoptr (JsonNode) details
          = agent_call (t->f->client, "get_session", "{\"sessionId\":\"%s\"}", t->session);
      g_autofree gchar *text = cw_json_to_string (details);
      g_assert_null (strstr (text, "never-sent"));
    }
  }
  g_assert_cmpuint (api (base, "POST", "/v1/sessions/x/unknown", NULL, token, NULL), ==, 404);
}

static void
test_schedules_api (void)
{
  g_autoptr (AgentFixture) f = remote_fixture_new (FALSE);
  g_autofree gchar *base = NULL, *token = NULL, *body = NULL, *path = NULL;
  g_autoptr (JsonObject) job = NULL, reply = NULL;
  const gchar *id;

  agent_fixture_start (f);
  base = remote_enable (f);
  token = remote_pair (f, base, "Phone", NULL);
  body = g_strdup_printf ("{\"name\":\"Digest\",\"prompt\":\"hello\",\"schedule\":{\"type\":"
                          "\"every\",\"intervalMs\":3600000},\"workingDirectory\":\"%s\"}",
                          f->workdir);
  job = remote_call (f, "cron_create_job", body);
  id = json_object_get_string_member (job, "id");

  g_assert_cmpuint (api (base, "GET", "/v1/cron/jobs", NULL, token, &reply), ==, 200);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (reply, "jobs")), ==, 1);
  g_clear_pointer (&reply, json_object_unref);
  path = g_strdup_printf ("/v1/cron/jobs/%s/pause", id);
  g_assert_cmpuint (api (base, "POST", path, NULL, token, &reply), ==, 200);
  g_assert_cmpstr (
      json_object_get_string_member (json_object_get_object_member (reply, "job"), "status"), ==,
      "paused");
  g_clear_pointer (&reply, json_object_unref);
  g_clear_pointer (&path, g_free);
  path = g_strdup_printf ("/v1/cron/jobs/%s/resume", id);
  g_assert_cmpuint (api (base, "POST", path, NULL, token, &reply), ==, 200);
  g_assert_cmpstr (
      json_object_get_string_member (json_object_get_object_member (reply, "job"), "status"), ==,
      "active");
  /* Creating or deleting a schedule from the phone is not part of the API... */
  g_assert_cmpuint (api (base, "POST", "/v1/cron/jobs", body, token, NULL), ==, 404);
  g_assert_cmpuint (api (base, "DELETE", path, NULL, token, NULL), ==, 404);
  /* ...nor callable over the WebSocket. */
  {
    g_autoptr (RemoteWs) ws = remote_ws_open (base, NULL, token);
    g_autofree gchar *msg = NULL;
    g_autoptr (JsonObject) r = NULL;
    json_object_unref (remote_ws_next_type (ws, "ready", 5000));
    msg = g_strdup_printf ("{\"type\":\"call\",\"id\":\"x\",\"command\":\"cron_delete_job\","
                           "\"params\":{\"jobId\":\"%s\"}}",
                           id);
    remote_ws_send (ws, msg);
    r = remote_ws_next_type (ws, "result", 5000);
    g_assert_false (json_object_get_boolean_member (r, "success"));
    g_assert_cmpstr (json_object_get_string_member (r, "id"), ==, "x");
  }
  g_clear_pointer (&reply, json_object_unref);
  g_assert_cmpuint (api (base, "GET", "/v1/cron/jobs", NULL, token, &reply), ==, 200);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (reply, "jobs")), ==, 1);
  agent_fixture_stop (f, SIGTERM);
}

/* The phone's /v1/workflow/scheduled API (contract §4.5): a published workflow with a schedule
 * trigger is listed, paused, resumed and run; a workflow command without the REMOTE flag is
 * refused over the WebSocket and audited as refused. */
static void
test_workflow_scheduled_api (void)
{
  g_autoptr (AgentFixture) f = remote_fixture_new (FALSE);
  g_autofree gchar *base = NULL, *token = NULL, *device = NULL, *path = NULL, *body = NULL;
  g_autoptr (JsonObject) draft = NULL, published = NULL, reply = NULL, run = NULL;
  g_autoptr (GPtrArray) audit = NULL;
  JsonArray *tasks;
  JsonObject *task;
  const gchar *id;
  guint refused = 0;

  agent_fixture_start (f);
  base = remote_enable (f);
  token = remote_pair (f, base, "Phone", &device);
  draft = remote_call (
      f, "workflow_create_draft",
      "{\"name\":\"Hourly\",\"triggers\":[{\"id\":\"s\",\"type\":\"schedule\",\"schedule\":{"
      "\"type\":\"every\",\"intervalMs\":3600000}}],\"nodes\":[{\"id\":\"start\",\"type\":"
      "\"start\"},{\"id\":\"end\",\"type\":\"end\"}],\"edges\":[{\"from\":\"start\",\"to\":"
      "\"end\"}]}");
  id = json_object_get_string_member (draft, "id");
  body = g_strdup_printf ("{\"workflowId\":\"%s\"}", id);
  published = remote_call (f, "workflow_publish", body);

  g_assert_cmpuint (api (base, "GET", "/v1/workflow/scheduled", NULL, token, &reply), ==, 200);
  tasks = json_object_get_array_member (reply, "tasks");
  g_assert_cmpuint (json_array_get_length (tasks), ==, 1);
  task = json_array_get_object_element (tasks, 0);
  g_assert_cmpstr (json_object_get_string_member (task, "workflowId"), ==, id);
  g_assert_true (json_object_get_boolean_member (task, "enabled"));
  g_clear_pointer (&reply, json_object_unref);

  path = g_strdup_printf ("/v1/workflow/scheduled/%s/pause", id);
  g_assert_cmpuint (api (base, "POST", path, NULL, token, &reply), ==, 200);
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (reply, "result"),
                                               "pausedTriggers"),
                   ==, 1);
  g_clear_pointer (&reply, json_object_unref);
  g_assert_cmpuint (api (base, "GET", "/v1/workflow/scheduled", NULL, token, &reply), ==, 200);
  g_assert_false (json_object_get_boolean_member (
      json_array_get_object_element (json_object_get_array_member (reply, "tasks"), 0), "enabled"));
  g_clear_pointer (&reply, json_object_unref);
  g_clear_pointer (&path, g_free);

  path = g_strdup_printf ("/v1/workflow/scheduled/%s/resume", id);
  g_assert_cmpuint (api (base, "POST", path, NULL, token, &reply), ==, 200);
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (reply, "result"),
                                               "resumedTriggers"),
                   ==, 1);
  g_clear_pointer (&reply, json_object_unref);
  g_assert_cmpuint (api (base, "GET", "/v1/workflow/scheduled", NULL, token, &reply), ==, 200);
  g_assert_true (json_object_get_boolean_member (
      json_array_get_object_element (json_object_get_array_member (reply, "tasks"), 0), "enabled"));
  g_clear_pointer (&reply, json_object_unref);
  g_clear_pointer (&path, g_free);

  path = g_strdup_printf ("/v1/workflow/scheduled/%s/run", id);
  g_assert_cmpuint (api (base, "POST", path, NULL, token, &reply), ==, 200);
  run = json_object_ref (json_object_get_object_member (reply, "run"));
  g_assert_cmpstr (json_object_get_string_member (run, "workflowId"), ==, id);
  g_assert_cmpstr (json_object_get_string_member (run, "triggerType"), ==, "manual");
  g_assert_cmpstr (json_object_get_string_member (
                       json_object_get_object_member (run, "triggerContext"), "source"),
                   ==, "mobile");
  g_clear_pointer (&reply, json_object_unref);
  g_assert_cmpuint (api (base, "POST", "/v1/workflow/scheduled/wf_none/pause", NULL, token, NULL),
                    !=, 200);

  /* Archiving is not the phone's to do. */
  {
    g_autoptr (RemoteWs) ws = remote_ws_open (base, NULL, token);
    g_autofree gchar *msg = NULL;
    g_autoptr (JsonObject) r = NULL;
    json_object_unref (remote_ws_next_type (ws, "ready", 5000));
    msg = g_strdup_printf ("{\"type\":\"call\",\"id\":\"x\",\"command\":\"workflow_archive\","
                           "\"params\":{\"workflowId\":\"%s\"}}",
                           id);
    remote_ws_send (ws, msg);
    r = remote_ws_next_type (ws, "result", 5000);
    g_assert_false (json_object_get_boolean_member (r, "success"));
    g_assert_nonnull (strstr (json_object_get_string_member (r, "error"),
                              "may not be called from a paired device"));
  }
  {
    g_autoptr (JsonObject) still = remote_call (f, "workflow_get", body);
    g_assert_cmpstr (json_object_get_string_member (still, "status"), ==, "published");
  }
  audit = remote_audit (f, "remote-access.call");
  for (guint i = 0; i < audit->len; i++)
    {
      JsonObject *d = json_object_get_object_member (g_ptr_array_index (audit, i), "details");
      if (g_strcmp0 (json_object_get_string_member (d, "command"), "workflow_archive") != 0)
        continue;
      g_assert_false (json_object_get_boolean_member (d, "ok"));
      g_assert_cmpstr (json_object_get_string_member (d, "deviceId"), ==, device);
      refused++;
    }
  g_assert_cmpuint (refused, ==, 1);
  agent_fixture_stop (f, SIGTERM);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/remote-access/api/sessions", test_sessions_api);
  g_test_add_func ("/remote-access/api/schedules", test_schedules_api);
  g_test_add_func ("/remote-access/api/workflow-scheduled", test_workflow_scheduled_api);
  return g_test_run ();
}
