/* test-cron-runs.c: runs on the real daemon against the fake LLM, on the test clock: a job
 * fires with no client connected and its run and session are there afterwards; manual
 * triggers; the timeout stops the turn; token usage; denied permissions.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-cron-test.h"

#include <signal.h>
#include <string.h>

#define HELLO                                                                                      \
  "{\"responses\":[{\"events\":[{\"text\":\"Hello from the fake.\\n\\nMore detail here.\"}],"      \
  "\"usage\":{\"input\":12,\"output\":5}}]}"

static AgentFixture *
started (const gchar *script)
{
  AgentFixture *f = cron_fixture_new (CRON_T0);

  agent_fixture_start (f);
  if (!agent_fixture_start_llm (f, script))
    {
      agent_fixture_free (f);
      return NULL;
    }
  return f;
}

static JsonObject *
session_of (AgentFixture *f, const gchar *session_id)
{
  g_autoptr (CwClient) client = cw_test_daemon_connect (f->daemon);
  g_autofree gchar *params = g_strdup_printf ("{\"sessionId\":\"%s\"}", session_id);
  g_autoptr (JsonNode) details = cw_test_daemon_call (client, "get_session", params);

  return json_object_ref (cw_test_obj (details));
}

static void
test_fires_with_app_closed (void)
{
  g_autoptr (AgentFixture) f = started (HELLO);
  g_autoptr (JsonObject) job = NULL, after = NULL, session = NULL;
  g_autoptr (JsonArray) runs = NULL;
  g_autoptr (GPtrArray) requests = NULL;
  JsonObject *run, *body;
  gint64 at = CRON_T0 + 60000;

  if (f == NULL)
    return;
  job = cron_create (
      f,
      "{\"name\":\"Reminder\",\"prompt\":\"  hello,\\n  remind me   about the demo\","
      "\"workingDirectory\":\"%s\",\"model\":\"local-model\",\"maxTurns\":3,"
      "\"schedule\":{\"type\":\"at\",\"timestamp\":%" G_GINT64_FORMAT "}}",
      f->workdir, at);
  g_assert_cmpint (cron_int (job, "nextRunAt"), ==, at);
  /* the app goes away; only the clock moves */
  g_clear_pointer (&f->client, cw_client_free);
  cron_set_clock (f, at + 1);
  runs = cron_wait_runs (f, cron_str (job, "id"), 1);
  g_assert_cmpuint (json_array_get_length (runs), ==, 1);
  run = json_array_get_object_element (runs, 0);
  g_assert_cmpstr (cron_str (run, "result"), ==, "success");
  g_assert_cmpstr (cron_str (run, "summary"), ==, "Hello from the fake.");
  g_assert_cmpint (cron_int (run, "scheduledAt"), ==, at);
  g_assert_cmpint (cron_int (run, "promptTokens"), ==, 12);
  g_assert_cmpint (cron_int (run, "completionTokens"), ==, 5);
  g_assert_cmpint (cron_int (run, "completedAt"), >=, cron_int (run, "startedAt"));
  g_assert_false (json_object_has_member (run, "error"));
  g_assert_true (g_str_has_prefix (cron_str (run, "id"), "run_"));

  /* the run's session is an ordinary isolated session, titled by the prompt */
  session = session_of (f, cron_str (run, "sessionId"));
  g_assert_cmpstr (cron_str (session, "type"), ==, "isolated");
  g_assert_cmpstr (cron_str (session, "title"), ==, "hello, remind me about the demo");
  g_assert_cmpstr (cron_str (session, "workingDirectory"), ==, f->workdir);
  g_assert_cmpstr (cron_str (session, "model"), ==, "local-model");

  requests = agent_fixture_llm_requests (f);
  g_assert_cmpuint (requests->len, ==, 1);
  body = json_object_get_object_member (g_ptr_array_index (requests, 0), "body");
  g_assert_cmpstr (cron_str (body, "model"), ==, "local-model");

  /* a one-shot is done after its run */
  after = cron_get (f, cron_str (job, "id"));
  g_assert_cmpstr (cron_str (after, "status"), ==, "completed");
  g_assert_false (json_object_has_member (after, "nextRunAt"));
  g_assert_cmpint (cron_int (after, "runCount"), ==, 1);
  g_assert_cmpstr (cron_str (after, "lastStatus"), ==, "ok");
  g_assert_cmpint (cron_int (after, "lastRunAt"), ==, cron_int (run, "startedAt"));

  /* and it stays so after a restart: nothing runs again */
  agent_fixture_stop (f, SIGTERM);
  agent_fixture_start (f);
  cron_set_clock (f, at + 3600000);
  g_clear_pointer (&runs, json_array_unref);
  runs = cron_runs (f, cron_str (job, "id"));
  g_assert_cmpuint (json_array_get_length (runs), ==, 1);
  g_assert_cmpuint (cron_llm_requests (f), ==, 1);
}

static void
test_manual_trigger (void)
{
  g_autoptr (AgentFixture) f = started (HELLO);
  g_autoptr (JsonObject) job = NULL, after = NULL;
  g_autoptr (JsonNode) run = NULL;
  JsonObject *r;
  g_autoptr (JsonObject) started_ev = NULL, done_ev = NULL;

  if (f == NULL)
    return;
  job = cron_create (f,
                     "{\"name\":\"Daily\",\"prompt\":\"hello\",\"workingDirectory\":\"%s\","
                     "\"schedule\":{\"type\":\"cron\",\"expression\":\"0 9 * * *\","
                     "\"timezone\":\"UTC\"}}",
                     f->workdir);
  run = agent_call (f->client, "cron_trigger_job", "{\"jobId\":\"%s\"}", cron_str (job, "id"));
  r = cw_test_obj (run);
  g_assert_cmpstr (cron_str (r, "result"), ==, "success");
  g_assert_cmpstr (cron_str (r, "summary"), ==, "Hello from the fake.");
  /* a manual run is for no instant */
  g_assert_false (json_object_has_member (r, "scheduledAt"));
  started_ev = agent_wait_event (f->client, "cron:run_started", NULL, NULL);
  g_assert_cmpstr (
      cron_str (json_object_get_object_member (agent_event_data (started_ev), "run"), "id"), ==,
      cron_str (r, "id"));
  done_ev = agent_wait_event (f->client, "cron:run_completed", NULL, NULL);
  g_assert_cmpstr (
      cron_str (json_object_get_object_member (agent_event_data (done_ev), "run"), "result"), ==,
      "success");
  /* counters move, the schedule does not */
  after = cron_get (f, cron_str (job, "id"));
  g_assert_cmpint (cron_int (after, "runCount"), ==, 1);
  g_assert_cmpstr (cron_str (after, "lastStatus"), ==, "ok");
  g_assert_cmpstr (cron_str (after, "status"), ==, "active");
  g_assert_cmpint (cron_int (after, "nextRunAt"), ==, cron_int (job, "nextRunAt"));
}

static void
test_timeout_stops_the_turn (void)
{
  g_autoptr (AgentFixture) f
      = started ("{\"responses\":[{\"events\":[{\"text\":\"slow\"},{\"delayMs\":30000},"
                 "{\"text\":\" never\"}]}]}");
  g_autoptr (JsonObject) job = NULL, after = NULL;
  g_autoptr (JsonArray) runs = NULL;
  JsonObject *run;
  gint64 at = CRON_T0 + 60000;

  if (f == NULL)
    return;
  job = cron_create (f,
                     "{\"name\":\"Slow\",\"prompt\":\"tell a slow story\",\"workingDirectory\":"
                     "\"%s\",\"schedule\":{\"type\":\"every\",\"intervalMs\":3600000,\"startAt\":"
                     "%" G_GINT64_FORMAT "}}",
                     f->workdir, at);
  cron_set_clock (f, at);
  /* the turn is streaming: its first text is there */
  json_object_unref (agent_wait_event (f->client, "stream:chunk", NULL, NULL));
  cron_set_clock (f, at + 300000);
  runs = cron_wait_runs (f, cron_str (job, "id"), 1);
  run = json_array_get_object_element (runs, 0);
  g_assert_cmpstr (cron_str (run, "result"), ==, "timeout");
  g_assert_cmpstr (cron_str (run, "error"), ==, "Execution timed out after 300000ms");
  g_assert_cmpint (cron_int (run, "scheduledAt"), ==, at);
  /* stop_generation reached the agent: the session is idle again */
  json_object_unref (
      agent_wait_event (f->client, "stream:done", cron_str (run, "sessionId"), NULL));
  after = cron_get (f, cron_str (job, "id"));
  g_assert_cmpstr (cron_str (after, "lastStatus"), ==, "error");
  g_assert_cmpstr (cron_str (after, "lastError"), ==, "Execution timed out after 300000ms");
  g_assert_cmpint (cron_int (after, "nextRunAt"), ==, at + 3600000);
}

static void
test_permission_denied_and_recorded (void)
{
  g_autoptr (AgentFixture) f = started (
      "{\"responses\":[{\"events\":[{\"toolCall\":{\"id\":\"c1\",\"name\":\"write_file\","
      "\"args\":{\"path\":\"/etc/cron-fixture.txt\",\"content\":\"x\"}}}]},"
      "{\"events\":[{\"text\":\"Could not write it.\"}]}]}");
  g_autoptr (JsonObject) job = NULL;
  g_autoptr (JsonNode) run = NULL;
  JsonArray *interactions;
  JsonObject *r, *first;

  if (f == NULL)
    return;
  job = cron_create (f,
                     "{\"name\":\"Writer\",\"prompt\":\"please write\",\"workingDirectory\":\"%s\","
                     "\"schedule\":{\"type\":\"every\",\"intervalMs\":86400000}}",
                     f->workdir);
  run = agent_call (f->client, "cron_trigger_job", "{\"jobId\":\"%s\"}", cron_str (job, "id"));
  r = cw_test_obj (run);
  g_assert_cmpstr (cron_str (r, "result"), ==, "success");
  g_assert_cmpstr (cron_str (r, "summary"), ==, "Could not write it.");
  interactions = json_object_get_array_member (r, "interactions");
  g_assert_cmpuint (json_array_get_length (interactions), ==, 1);
  first = json_array_get_object_element (interactions, 0);
  g_assert_cmpstr (cron_str (first, "type"), ==, "permission");
  g_assert_cmpstr (cron_str (first, "decision"), ==, "deny");
  g_assert_false (g_file_test ("/etc/cron-fixture.txt", G_FILE_TEST_EXISTS));
}

static gchar *
write_script (const gchar *path)
{
  return g_strdup_printf (
      "{\"responses\":[{\"events\":[{\"toolCall\":{\"id\":\"c1\",\"name\":\"write_file\","
      "\"args\":{\"path\":\"%s\",\"content\":\"from the scheduled run\"}}}]},"
      "{\"events\":[{\"text\":\"The file is written.\"}]}]}",
      path);
}

/* The pending interactions of the bootstrap state that belong to @session_id. */
static JsonArray *
pending_of (AgentFixture *f, const gchar *session_id)
{
  g_autoptr (CwClient) app = cw_test_daemon_connect (f->daemon);
  g_autoptr (JsonNode) state = cw_test_daemon_call (app, "agent_get_bootstrap_state", NULL);
  JsonArray *pending = json_object_get_array_member (cw_test_obj (state), "pendingInteractions");
  JsonArray *out = json_array_new ();

  for (guint i = 0; i < json_array_get_length (pending); i++)
    {
      JsonObject *it = json_array_get_object_element (pending, i);
      if (g_strcmp0 (cron_str (it, "sessionId"), session_id) == 0)
        json_array_add_object_element (out, json_object_ref (it));
    }
  return out;
}

/* permissionPolicy wait: the unattended run's permission request waits as a pending
 * interaction, seen by a reopened app in the bootstrap state and answered from another
 * client; the run goes on with the answer and records it. */
static void
test_permission_waits_for_a_person (void)
{
  g_autoptr (AgentFixture) f = cron_fixture_new (CRON_T0);
  g_autofree gchar *outside = g_build_filename (f->daemon->dir, "outside", NULL);
  g_autofree gchar *target = g_build_filename (outside, "note.txt", NULL);
  g_autofree gchar *script = write_script (target);
  g_autoptr (JsonObject) job = NULL, waiting = NULL;
  g_autoptr (JsonArray) pending = NULL, none = NULL, runs = NULL;
  g_autoptr (CwClient) phone = NULL;
  g_autoptr (JsonNode) answered = NULL;
  g_autofree gchar *contents = NULL;
  JsonObject *record, *it, *run;
  gint64 at = CRON_T0 + 3600000;

  g_assert_cmpint (g_mkdir_with_parents (outside, 0700), ==, 0);
  agent_fixture_start (f);
  g_assert_true (agent_fixture_start_llm (f, script));
  job = cron_create (f,
                     "{\"name\":\"Asks\",\"prompt\":\"please write\",\"workingDirectory\":"
                     "\"%s\",\"permissionPolicy\":\"wait\",\"timeoutMs\":3600000,"
                     "\"schedule\":{\"type\":\"every\",\"intervalMs\":3600000,\"startAt\":"
                     "%" G_GINT64_FORMAT "}}",
                     f->workdir, CRON_T0);
  g_assert_cmpstr (cron_str (job, "permissionPolicy"), ==, "wait");
  /* the app is closed when the job fires */
  g_clear_pointer (&f->client, cw_client_free);
  cron_set_clock (f, at);
  waiting = cron_wait_pending (f, cron_str (job, "id"));
  g_assert_false (json_object_has_member (waiting, "result"));
  record
      = json_array_get_object_element (json_object_get_array_member (waiting, "interactions"), 0);
  g_assert_cmpstr (cron_str (record, "type"), ==, "permission");
  g_assert_cmpstr (cron_str (record, "decision"), ==, "pending");
  g_assert_cmpstr (cron_str (record, "toolName"), ==, "write_file");

  /* a reopened app sees it in the bootstrap state */
  pending = pending_of (f, cron_str (waiting, "sessionId"));
  g_assert_cmpuint (json_array_get_length (pending), ==, 1);
  it = json_array_get_object_element (pending, 0);
  g_assert_cmpstr (cron_str (it, "id"), ==, cron_str (record, "id"));
  g_assert_cmpstr (cron_str (it, "kind"), ==, "permission");
  g_assert_cmpstr (cron_str (it, "status"), ==, "pending");
  g_assert_false (g_file_test (target, G_FILE_TEST_EXISTS));

  /* another client answers */
  phone = cw_test_daemon_connect (f->daemon);
  answered = agent_call (phone, "interaction_respond", "{\"id\":\"%s\",\"answer\":\"allow_once\"}",
                         cron_str (record, "id"));
  runs = cron_wait_runs (f, cron_str (job, "id"), 1);
  run = json_array_get_object_element (runs, 0);
  g_assert_cmpstr (cron_str (run, "result"), ==, "success");
  g_assert_cmpstr (cron_str (run, "summary"), ==, "The file is written.");
  record = json_array_get_object_element (json_object_get_array_member (run, "interactions"), 0);
  g_assert_cmpstr (cron_str (record, "decision"), ==, "allow_once");
  g_assert_true (json_object_has_member (record, "answeredAt"));
  g_assert_true (g_file_get_contents (target, &contents, NULL, NULL));
  g_assert_cmpstr (contents, ==, "from the scheduled run");
  none = pending_of (f, cron_str (run, "sessionId"));
  g_assert_cmpuint (json_array_get_length (none), ==, 0);
}

/* A waiting run whose daemon is killed is interrupted at the next start, and what it waited
 * for is answered (deny), so nothing stays pending for a run that is over. */
static void
test_waiting_run_killed (void)
{
  g_autoptr (AgentFixture) f = cron_fixture_new (CRON_T0);
  g_autofree gchar *target = g_build_filename (f->daemon->dir, "outside.txt", NULL);
  g_autofree gchar *script = write_script (target);
  g_autoptr (JsonObject) job = NULL, waiting = NULL;
  g_autoptr (JsonArray) pending = NULL, after = NULL, runs = NULL;
  JsonObject *run;

  agent_fixture_start (f);
  g_assert_true (agent_fixture_start_llm (f, script));
  job = cron_create_waiting (f, "Asks");
  cron_set_clock (f, CRON_T0 + 3600000);
  waiting = cron_wait_pending (f, cron_str (job, "id"));
  pending = pending_of (f, cron_str (waiting, "sessionId"));
  g_assert_cmpuint (json_array_get_length (pending), ==, 1);

  agent_fixture_stop (f, SIGKILL);
  agent_fixture_start (f);
  runs = cron_wait_runs (f, cron_str (job, "id"), 1);
  run = json_array_get_object_element (runs, 0);
  g_assert_cmpstr (cron_str (run, "result"), ==, "interrupted");
  after = pending_of (f, cron_str (waiting, "sessionId"));
  g_assert_cmpuint (json_array_get_length (after), ==, 0);
  g_assert_false (g_file_test (target, G_FILE_TEST_EXISTS));
}

/* A reopened app finds the jobs, their next runs and their last outcomes in the `cron`
 * member of the bootstrap state, the same as cron_get_status. */
static void
test_status_on_reopen (void)
{
  g_autoptr (AgentFixture) f = started (HELLO);
  g_autoptr (JsonObject) daily = NULL, paused = NULL;
  g_autoptr (JsonNode) run = NULL, pause = NULL, state = NULL, status = NULL;
  g_autofree gchar *state_text = NULL, *status_text = NULL;
  JsonObject *cron, *first, *second;
  JsonArray *jobs;

  daily = cron_create (f,
                       "{\"name\":\"Daily\",\"prompt\":\"hello\",\"workingDirectory\":\"%s\","
                       "\"schedule\":{\"type\":\"cron\",\"expression\":\"0 9 * * *\","
                       "\"timezone\":\"UTC\"}}",
                       f->workdir);
  paused = cron_create (f,
                        "{\"name\":\"Later\",\"prompt\":\"hello\",\"workingDirectory\":\"%s\","
                        "\"schedule\":{\"type\":\"every\",\"intervalMs\":60000}}",
                        f->workdir);
  run = agent_call (f->client, "cron_trigger_job", "{\"jobId\":\"%s\"}", cron_str (daily, "id"));
  pause = agent_call (f->client, "cron_pause_job", "{\"jobId\":\"%s\"}", cron_str (paused, "id"));

  /* the app closes; the daemon restarts; the app opens again */
  agent_fixture_stop (f, SIGTERM);
  agent_fixture_start (f);
  state = agent_call (f->client, "agent_get_bootstrap_state", NULL);
  cron = json_object_get_object_member (cw_test_obj (state), "cron");
  g_assert_nonnull (cron);
  g_assert_true (json_object_get_boolean_member (cron, "isRunning"));
  g_assert_cmpint (cron_int (cron, "jobCount"), ==, 2);
  g_assert_cmpint (cron_int (cron, "activeJobCount"), ==, 1);
  g_assert_cmpstr (cron_str (cron, "nextJobId"), ==, cron_str (daily, "id"));
  g_assert_cmpint (cron_int (cron, "nextRunAt"), ==, CRON_T0 + 3600000);
  jobs = json_object_get_array_member (cron, "jobs");
  g_assert_cmpuint (json_array_get_length (jobs), ==, 2);
  first = json_array_get_object_element (jobs, 0);
  g_assert_cmpstr (cron_str (first, "id"), ==, cron_str (daily, "id"));
  g_assert_cmpstr (cron_str (first, "name"), ==, "Daily");
  g_assert_cmpstr (cron_str (first, "status"), ==, "active");
  g_assert_cmpint (cron_int (first, "nextRunAt"), ==, CRON_T0 + 3600000);
  g_assert_cmpstr (cron_str (first, "lastResult"), ==, "success");
  g_assert_cmpstr (cron_str (first, "lastStatus"), ==, "ok");
  g_assert_cmpstr (cron_str (first, "lastRunId"), ==, cron_str (cw_test_obj (run), "id"));
  g_assert_false (json_object_get_boolean_member (first, "running"));
  g_assert_true (json_object_get_null_member (first, "pausedReason"));
  second = json_array_get_object_element (jobs, 1);
  g_assert_cmpstr (cron_str (second, "status"), ==, "paused");
  g_assert_true (json_object_get_null_member (second, "nextRunAt"));
  g_assert_true (json_object_get_null_member (second, "lastResult"));

  status = agent_call (f->client, "cron_get_status", NULL);
  state_text = cw_json_to_string (json_object_get_member (cw_test_obj (state), "cron"));
  status_text = cw_json_to_string (status);
  g_assert_cmpstr (state_text, ==, status_text);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cron/runs/fires-with-app-closed", test_fires_with_app_closed);
  g_test_add_func ("/cron/runs/manual-trigger", test_manual_trigger);
  g_test_add_func ("/cron/runs/timeout-stops-the-turn", test_timeout_stops_the_turn);
  g_test_add_func ("/cron/runs/permission-denied-and-recorded",
                   test_permission_denied_and_recorded);
  g_test_add_func ("/cron/runs/permission-waits-for-a-person", test_permission_waits_for_a_person);
  g_test_add_func ("/cron/runs/waiting-run-killed", test_waiting_run_killed);
  g_test_add_func ("/cron/runs/status-on-reopen", test_status_on_reopen);
  return g_test_run ();
}
