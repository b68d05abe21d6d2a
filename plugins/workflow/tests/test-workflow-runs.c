/* test-workflow-runs.c: runs on the real daemon with the agent's fake LLM: every node type and
 * every edge condition in real runs; parallel branches join once; loop bounds; retries and
 * failure edges; kill -9 during a node and during a wait resumes without running a completed
 * node twice; an approval answered from a second client after a restart.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-workflow-test.h"

#include <signal.h>
#include <string.h>

#define HELLO "{\"responses\":[{\"events\":[{\"text\":\"Hello from the fake.\"}]}]}"
#define SLOW                                                                                       \
  "{\"responses\":[{\"events\":[{\"delayMs\":4000},{\"text\":\"slow answer\"}]},"                  \
  "{\"events\":[{\"text\":\"second answer\"}]}]}"

static AgentFixture *
with_llm (const gchar *script)
{
  AgentFixture *f = wf_started ();

  if (!agent_fixture_start_llm (f, script))
    {
      agent_fixture_free (f);
      return NULL;
    }
  return f;
}

static JsonObject *
run_of (JsonObject *details)
{
  return json_object_get_object_member (details, "run");
}

/* Polls until @node_id has a node run with @status. */
static void
wait_node_run (AgentFixture *f, const gchar *run_id, const gchar *node_id, const gchar *status)
{
  gint64 deadline = g_get_monotonic_time () + 20 * G_TIME_SPAN_SECOND;

  for (;;)
    {
      g_autoptr (JsonObject) d = wf_get_run (f, run_id);
      if (wf_count_node_runs (d, node_id, status) > 0)
        return;
      if (g_get_monotonic_time () > deadline)
        g_error ("run %s: node %s never %s", run_id, node_id, status);
      g_usleep (10000);
    }
}

static void
test_every_node (void)
{
  g_autoptr (AgentFixture) f = with_llm (HELLO);
  g_autofree gchar *child = NULL, *wf = NULL, *run_id = NULL, *def = NULL;
  g_autoptr (JsonObject) details = NULL;
  g_autoptr (GPtrArray) seen = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) requests = NULL;
  JsonObject *out, *note = NULL, *child_out;
  g_autoptr (JsonNode) children = NULL;

  if (f == NULL)
    return;
  child = wf_publish (
      f, "{\"name\":\"child\",\"triggers\":[{\"id\":\"call\",\"type\":\"workflow_call\","
         "\"allowedCallerIds\":[\"*\"]}],\"nodes\":[{\"id\":\"start\",\"type\":\"start\"},"
         "{\"id\":\"echo\",\"type\":\"memory_write\",\"config\":{\"key\":\"got\",\"value\":"
         "\"{{run.input.v}}\"}},{\"id\":\"end\",\"type\":\"end\"}],\"edges\":["
         "{\"from\":\"start\",\"to\":\"echo\"},{\"from\":\"echo\",\"to\":\"end\"}]}");
  def = g_strdup_printf (
      "{\"name\":\"everything\",\"defaults\":{\"workingDirectory\":\"%s\"},\"nodes\":["
      "{\"id\":\"start\",\"type\":\"start\"},"
      "{\"id\":\"mw\",\"type\":\"memory_write\",\"config\":{\"key\":\"k\",\"value\":\"{{run.input."
      "word}}\"}},"
      "{\"id\":\"mr\",\"type\":\"memory_read\",\"config\":{\"key\":\"k\"}},"
      "{\"id\":\"cond\",\"type\":\"condition\",\"config\":{\"expression\":\"eq(nodes.mr.value, "
      "hello) && run.input.n >= 2\"}},"
      "{\"id\":\"never\",\"type\":\"end\"},"
      "{\"id\":\"ask\",\"type\":\"agent_step\",\"config\":{\"promptTemplate\":\"say "
      "{{nodes.mr.value}}\"}},"
      "{\"id\":\"fork\",\"type\":\"parallel\"},"
      "{\"id\":\"note\",\"type\":\"notification\",\"config\":{\"channel\":\"event\",\"title\":"
      "\"T\",\"message\":\"m {{nodes.ask.text}}\"}},"
      "{\"id\":\"pause\",\"type\":\"wait\",\"config\":{\"durationMs\":\"60000\"}},"
      "{\"id\":\"join\",\"type\":\"condition\",\"config\":{\"expression\":\"exists(nodes.note) && "
      "exists(nodes.pause)\"}},"
      "{\"id\":\"each\",\"type\":\"loop\",\"config\":{\"items\":\"{{run.input.items}}\","
      "\"maxIterations\":5}},"
      "{\"id\":\"body\",\"type\":\"memory_write\",\"config\":{\"key\":\"last\",\"value\":\"{{nodes."
      "each.item}}\"}},"
      "{\"id\":\"sub\",\"type\":\"subworkflow\",\"config\":{\"workflowId\":\"%s\",\"input\":{\"v\":"
      "\"from parent\"}}},"
      "{\"id\":\"ok\",\"type\":\"approval\",\"config\":{\"autoApprove\":true}},"
      "{\"id\":\"tool\",\"type\":\"tool\",\"config\":{\"tool\":\"read_file\",\"args\":{"
      "\"path\":\"{{run.input.file}}\"}}},"
      "{\"id\":\"denied\",\"type\":\"tool\",\"retry\":{\"maxAttempts\":2,\"backoffMs\":0},"
      "\"config\":{\"tool\":\"write_file\",\"args\":{\"path\":\"../outside.txt\","
      "\"content\":\"{{nodes.tool.result}}\"}}},"
      "{\"id\":\"mcp\",\"type\":\"mcp_tool\"},"
      "{\"id\":\"conn\",\"type\":\"connector_tool\"},"
      "{\"id\":\"last\",\"type\":\"memory_read\",\"config\":{\"key\":\"last\"}},"
      "{\"id\":\"end\",\"type\":\"end\"}],\"edges\":["
      "{\"from\":\"start\",\"to\":\"mw\"},{\"from\":\"mw\",\"to\":\"mr\"},{\"from\":\"mr\",\"to\":"
      "\"cond\"},"
      "{\"from\":\"cond\",\"to\":\"ask\",\"condition\":\"custom\",\"expression\":\"current."
      "result\"},"
      "{\"from\":\"cond\",\"to\":\"never\"},"
      "{\"from\":\"ask\",\"to\":\"fork\"},"
      "{\"from\":\"fork\",\"to\":\"note\"},{\"from\":\"fork\",\"to\":\"pause\"},"
      "{\"from\":\"note\",\"to\":\"join\"},{\"from\":\"pause\",\"to\":\"join\"},"
      "{\"from\":\"join\",\"to\":\"each\"},"
      "{\"from\":\"each\",\"to\":\"body\",\"label\":\"body\"},{\"from\":\"body\",\"to\":\"each\"},"
      "{\"from\":\"each\",\"to\":\"sub\"},{\"from\":\"sub\",\"to\":\"ok\"},{\"from\":\"ok\",\"to\":"
      "\"tool\"},"
      "{\"from\":\"tool\",\"to\":\"denied\"},"
      "{\"from\":\"denied\",\"to\":\"never\"},{\"from\":\"denied\",\"to\":\"mcp\","
      "\"condition\":\"failure\"},"
      "{\"from\":\"mcp\",\"to\":\"conn\",\"condition\":\"always\"},"
      "{\"from\":\"conn\",\"to\":\"last\",\"condition\":\"always\"},{\"from\":\"last\",\"to\":"
      "\"end\"}]}",
      f->workdir, child);
  wf = wf_publish (f, def);
  json_node_unref (agent_call (f->client, "daemon_health", "{}"));
  {
    g_autofree gchar *file = g_build_filename (f->workdir, "input.txt", NULL);
    g_assert_true (g_file_set_contents (file, "file for the tool node", -1, NULL));
  }
  run_id = wf_run (f, wf,
                   "{\"word\":\"hello\",\"n\":2,\"items\":[\"x\",\"y\",\"z\"],"
                   "\"file\":\"input.txt\"}");
  /* the branch with the wait holds the join until the clock moves */
  wait_node_run (f, run_id, "note", "succeeded");
  wait_node_run (f, run_id, "pause", "running");
  {
    g_autoptr (JsonObject) mid = wf_get_run (f, run_id);
    g_assert_cmpstr (wf_str (run_of (mid), "status"), ==, "running");
    g_assert_cmpuint (wf_count_node_runs (mid, "join", NULL), ==, 0);
  }
  wf_set_clock (f, WF_T0 + 61000);
  details = wf_wait_end (f, run_id);
  if (g_strcmp0 (wf_str (run_of (details), "status"), "completed") != 0)
    g_error ("run ended %s: %s", wf_str (run_of (details), "status"),
             wf_str (run_of (details), "error"));
  /* every node ran once, the loop body three times, the wrong branches never */
  for (const gchar *const *n
       = (const gchar *const[]){ "start", "mw", "mr", "cond", "ask", "fork", "note", "pause",
                                 "join", "sub", "ok", "tool", "last", "end", NULL };
       *n != NULL; n++)
    if (wf_count_node_runs (details, *n, "succeeded") != 1)
      g_error ("node %s succeeded %u times", *n, wf_count_node_runs (details, *n, "succeeded"));
  g_assert_cmpuint (wf_count_node_runs (details, "never", NULL), ==, 0);
  g_assert_cmpuint (wf_count_node_runs (details, "body", "succeeded"), ==, 3);
  g_assert_cmpuint (wf_count_node_runs (details, "each", "succeeded"), ==, 4);
  /* the read ran through the agent's tool; the write outside the working directory needs a
   * person, so it is denied: the node fails, is retried, then takes its failure edge */
  g_assert_cmpuint (wf_count_node_runs (details, "denied", "failed"), ==, 2);
  g_assert_cmpuint (wf_count_node_runs (details, "denied", "succeeded"), ==, 0);
  {
    g_autofree gchar *outside = g_build_filename (f->workdir, "..", "outside.txt", NULL);
    g_assert_false (g_file_test (outside, G_FILE_TEST_EXISTS));
  }
  /* unsupported nodes fail once (no retries) and their failure edge is taken */
  g_assert_cmpuint (wf_count_node_runs (details, "mcp", "failed"), ==, 1);
  g_assert_cmpuint (wf_count_node_runs (details, "conn", "failed"), ==, 1);
  out = wf_node_output (details, "mr");
  g_assert_cmpstr (wf_str (out, "value"), ==, "hello");
  g_assert_true (json_object_get_boolean_member (wf_node_output (details, "cond"), "result"));
  g_assert_cmpstr (wf_str (wf_node_output (details, "ask"), "text"), ==, "Hello from the fake.");
  g_assert_true (json_object_get_boolean_member (wf_node_output (details, "join"), "result"));
  g_assert_cmpint (json_object_get_int_member (wf_node_output (details, "pause"), "waitedMs"), >=,
                   60000);
  g_assert_cmpstr (wf_str (wf_node_output (details, "last"), "value"), ==, "z");
  g_assert_cmpstr (wf_str (wf_node_output (details, "note"), "delivered"), ==, "event");
  g_assert_true (json_object_get_boolean_member (wf_node_output (details, "ok"), "approved"));
  g_assert_nonnull (
      strstr (wf_str (wf_node_output (details, "tool"), "result"), "file for the tool node"));
  g_assert_cmpstr (wf_str (wf_node_output (details, "tool"), "tool"), ==, "read_file");
  g_assert_true (g_str_has_prefix (wf_str (wf_node_output (details, "denied"), "error"),
                                   "Permission denied: file_write of "));
  g_assert_nonnull (strstr (wf_str (wf_node_output (details, "mcp"), "error"), "NotSupported"));
  child_out = wf_node_output (details, "sub");
  g_assert_cmpstr (wf_str (child_out, "status"), ==, "completed");
  children = wf_call (f, "workflow_list_runs", "{\"workflowId\":\"%s\"}", child);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (children)), ==, 1);
  g_assert_cmpstr (
      wf_str (json_array_get_object_element (json_node_get_array (children), 0), "triggerType"), ==,
      "workflow_call");
  /* the agent step was one real turn against the fake LLM, with the rendered prompt */
  requests = agent_fixture_llm_requests (f);
  g_assert_cmpuint (requests->len, ==, 1);
  /* the notification went out on the stream */
  note = agent_wait_event (f->client, "workflow:notification", NULL, seen);
  g_assert_cmpstr (wf_str (agent_event_data (note), "message"), ==, "m Hello from the fake.");
  json_object_unref (note);
}

static gchar *
publish_loop (AgentFixture *f, const gchar *loop_config)
{
  g_autofree gchar *def = g_strdup_printf (
      "{\"name\":\"loop\",\"nodes\":[{\"id\":\"start\",\"type\":\"start\"},"
      "{\"id\":\"L\",\"type\":\"loop\",\"config\":%s},"
      "{\"id\":\"b\",\"type\":\"condition\",\"config\":{\"expression\":\"true\"}},"
      "{\"id\":\"end\",\"type\":\"end\"}],\"edges\":[{\"from\":\"start\",\"to\":\"L\"},"
      "{\"from\":\"L\",\"to\":\"b\",\"label\":\"body\"},{\"from\":\"b\",\"to\":\"L\"},"
      "{\"from\":\"L\",\"to\":\"end\"}]}",
      loop_config);

  return wf_publish (f, def);
}

static void
test_loop_bounds (void)
{
  g_autoptr (AgentFixture) f = wf_started ();
  g_autofree gchar *until = publish_loop (f, "{\"until\":\"nodes.L.iterations >= 3\"}");
  g_autofree gchar *endless = publish_loop (f, "{\"until\":\"false\",\"maxIterations\":4}");
  g_autofree gchar *many = publish_loop (f, "{\"count\":50,\"maxIterations\":10}");
  g_autofree gchar *r1 = wf_run (f, until, NULL);
  g_autofree gchar *r2 = wf_run (f, endless, NULL);
  g_autofree gchar *r3 = wf_run (f, many, NULL);
  g_autoptr (JsonObject) d1 = wf_wait_end (f, r1);
  g_autoptr (JsonObject) d2 = wf_wait_end (f, r2);
  g_autoptr (JsonObject) d3 = wf_wait_end (f, r3);

  g_assert_cmpstr (wf_str (run_of (d1), "status"), ==, "completed");
  g_assert_cmpuint (wf_count_node_runs (d1, "b", "succeeded"), ==, 3);
  g_assert_cmpstr (wf_str (run_of (d2), "status"), ==, "failed");
  g_assert_cmpuint (wf_count_node_runs (d2, "b", "succeeded"), ==, 4);
  g_assert_nonnull (strstr (wf_str (run_of (d2), "error"), "within 4 iterations"));
  g_assert_cmpstr (wf_str (run_of (d3), "status"), ==, "failed");
  g_assert_cmpuint (wf_count_node_runs (d3, "b", NULL), ==, 0);
  g_assert_nonnull (strstr (wf_str (run_of (d3), "error"), "maxIterations"));
}

static void
test_retry_and_failure_edges (void)
{
  g_autoptr (AgentFixture) f = wf_started ();
  /* a condition whose expression cannot be parsed fails each attempt */
  g_autofree gchar *handled = wf_publish (
      f, "{\"name\":\"handled\",\"nodes\":[{\"id\":\"start\",\"type\":\"start\"},"
         "{\"id\":\"bad\",\"type\":\"condition\",\"retryProfile\":\"fast_safe\","
         "\"config\":{\"expression\":\"1 +\"}},{\"id\":\"oops\",\"type\":\"end\"},"
         "{\"id\":\"end\",\"type\":\"end\"}],\"edges\":[{\"from\":\"start\",\"to\":\"bad\"},"
         "{\"from\":\"bad\",\"to\":\"end\",\"condition\":\"success\"},"
         "{\"from\":\"bad\",\"to\":\"oops\",\"condition\":\"failure\"}]}");
  g_autofree gchar *unhandled = wf_publish (
      f, "{\"name\":\"unhandled\",\"nodes\":[{\"id\":\"start\",\"type\":\"start\"},"
         "{\"id\":\"bad\",\"type\":\"condition\",\"retry\":{\"maxAttempts\":1},"
         "\"config\":{\"expression\":\"((\"}},{\"id\":\"end\",\"type\":\"end\"}],"
         "\"edges\":[{\"from\":\"start\",\"to\":\"bad\"},{\"from\":\"bad\",\"to\":\"end\"}]}");
  g_autofree gchar *r1 = wf_run (f, handled, NULL);
  g_autofree gchar *r2 = wf_run (f, unhandled, NULL);
  g_autoptr (JsonObject) d1 = wf_wait_end (f, r1);
  g_autoptr (JsonObject) d2 = wf_wait_end (f, r2);
  JsonArray *events = json_object_get_array_member (d1, "events");
  guint retries = 0;

  /* fast_safe: two attempts, then the failure edge to an end node: completed */
  g_assert_cmpstr (wf_str (run_of (d1), "status"), ==, "completed");
  g_assert_cmpuint (wf_count_node_runs (d1, "bad", "failed"), ==, 2);
  g_assert_cmpuint (wf_count_node_runs (d1, "oops", "succeeded"), ==, 1);
  g_assert_cmpuint (wf_count_node_runs (d1, "end", NULL), ==, 0);
  for (guint i = 0; i < json_array_get_length (events); i++)
    {
      JsonObject *e = json_array_get_object_element (events, i);
      JsonObject *payload = json_object_get_object_member (e, "payload");
      if (g_strcmp0 (wf_str (e, "type"), "node_failed") == 0
          && json_object_get_boolean_member (payload, "willRetry"))
        retries++;
    }
  g_assert_cmpuint (retries, ==, 1);
  g_assert_cmpstr (wf_str (run_of (d2), "status"), ==, "failed");
  g_assert_true (g_str_has_prefix (wf_str (run_of (d2), "error"), "expression:"));
}

static gchar *
publish_chain (AgentFixture *f, const gchar *middle_node)
{
  g_autofree gchar *def = g_strdup_printf (
      "{\"name\":\"chain\",\"defaults\":{\"workingDirectory\":\"%s\"},\"nodes\":["
      "{\"id\":\"start\",\"type\":\"start\"},%s,"
      "{\"id\":\"after\",\"type\":\"memory_write\",\"config\":{\"key\":\"done\","
      "\"value\":\"start said {{nodes.start.ok}}\"}},"
      "{\"id\":\"end\",\"type\":\"end\"}],\"edges\":[{\"from\":\"start\",\"to\":\"mid\"},"
      "{\"from\":\"mid\",\"to\":\"after\"},{\"from\":\"after\",\"to\":\"end\"}]}",
      f->workdir, middle_node);

  return wf_publish (f, def);
}

static void
test_kill_during_wait (void)
{
  g_autoptr (AgentFixture) f = wf_started ();
  g_autofree gchar *wf
      = publish_chain (f, "{\"id\":\"mid\",\"type\":\"wait\",\"config\":{\"durationMs\":3600000}}");
  g_autofree gchar *run_id = wf_run (f, wf, NULL);
  g_autoptr (JsonObject) details = NULL;

  wait_node_run (f, run_id, "mid", "running");
  agent_fixture_stop (f, SIGKILL);
  agent_fixture_start (f);
  {
    g_autoptr (JsonObject) mid = wf_get_run (f, run_id);
    g_assert_cmpstr (wf_str (run_of (mid), "status"), ==, "running");
  }
  wf_set_clock (f, WF_T0 + 3600000 + 1000);
  details = wf_wait_end (f, run_id);
  g_assert_cmpstr (wf_str (run_of (details), "error"), ==, NULL);
  g_assert_cmpstr (wf_str (run_of (details), "status"), ==, "completed");
  g_assert_cmpuint (wf_count_node_runs (details, "start", NULL), ==, 1);
  g_assert_cmpuint (wf_count_node_runs (details, "mid", NULL), ==, 1);
  g_assert_cmpuint (wf_count_node_runs (details, "after", NULL), ==, 1);
  /* what nodes gave before the restart is still there for templates after it */
  g_assert_cmpstr (wf_str (wf_node_output (details, "after"), "value"), ==, "start said true");
}

static void
test_kill_during_node (void)
{
  g_autoptr (AgentFixture) f = with_llm (SLOW);
  g_autofree gchar *retried = NULL, *no_retry = NULL, *r1 = NULL, *r2 = NULL;
  g_autoptr (JsonObject) d1 = NULL, d2 = NULL;

  if (f == NULL)
    return;
  retried = publish_chain (f, "{\"id\":\"mid\",\"type\":\"agent_step\","
                              "\"config\":{\"prompt\":\"take your time\"}}");
  no_retry = publish_chain (f, "{\"id\":\"mid\",\"type\":\"agent_step\",\"retry\":"
                               "{\"maxAttempts\":1},\"config\":{\"prompt\":\"once only\"}}");
  r1 = wf_run (f, retried, NULL);
  wait_node_run (f, r1, "mid", "running");
  r2 = wf_run (f, no_retry, NULL);
  wait_node_run (f, r2, "mid", "running");
  agent_fixture_stop (f, SIGKILL);
  agent_fixture_start (f);
  d1 = wf_wait_end (f, r1);
  d2 = wf_wait_end (f, r2);
  /* the node in flight is retried once; what completed before did not run again */
  g_assert_cmpstr (wf_str (run_of (d1), "status"), ==, "completed");
  g_assert_cmpuint (wf_count_node_runs (d1, "start", NULL), ==, 1);
  g_assert_cmpuint (wf_count_node_runs (d1, "mid", "failed"), ==, 1);
  g_assert_cmpuint (wf_count_node_runs (d1, "mid", "succeeded"), ==, 1);
  g_assert_cmpuint (wf_count_node_runs (d1, "after", NULL), ==, 1);
  /* no attempt left: failed_recoverable with the reason */
  g_assert_cmpstr (wf_str (run_of (d2), "status"), ==, "failed_recoverable");
  g_assert_nonnull (strstr (wf_str (run_of (d2), "error"), "node mid was in progress"));
  g_assert_cmpuint (wf_count_node_runs (d2, "after", NULL), ==, 0);
}

static gchar *
pending_approval (AgentFixture *f, const gchar *run_id)
{
  g_autoptr (JsonNode) state = wf_call (f, "agent_get_bootstrap_state", "{}");
  JsonArray *pending = json_object_get_array_member (cw_test_obj (state), "pendingInteractions");

  for (guint i = 0; i < json_array_get_length (pending); i++)
    {
      JsonObject *it = json_array_get_object_element (pending, i);
      JsonObject *payload = json_object_get_object_member (it, "payload");
      if (g_strcmp0 (wf_str (payload, "runId"), run_id) == 0)
        {
          g_assert_cmpstr (wf_str (it, "kind"), ==, "approval");
          g_assert_cmpstr (wf_str (it, "owner"), ==, "workflow");
          return g_strdup (wf_str (it, "id"));
        }
    }
  return NULL;
}

/* An approval's timeoutMs runs on the scheduler's clock: before it passes the approval waits;
 * once the clock moves past it, also after a restart, it counts as a denial (failure edge,
 * no retry) and the approval is no longer pending. */
static void
test_approval_timeout (void)
{
  g_autoptr (AgentFixture) f = wf_started ();
  g_autofree gchar *wf = wf_publish (
      f, "{\"name\":\"timed\",\"nodes\":[{\"id\":\"start\",\"type\":\"start\"},"
         "{\"id\":\"mid\",\"type\":\"approval\",\"config\":{\"timeoutMs\":60000}},"
         "{\"id\":\"late\",\"type\":\"end\"},{\"id\":\"end\",\"type\":\"end\"}],\"edges\":["
         "{\"from\":\"start\",\"to\":\"mid\"},{\"from\":\"mid\",\"to\":\"end\"},"
         "{\"from\":\"mid\",\"to\":\"late\",\"condition\":\"failure\"}]}");
  g_autofree gchar *run_id = wf_run (f, wf, NULL);
  g_autofree gchar *restarted_id = wf_run (f, wf, NULL);
  g_autoptr (JsonObject) paused = wf_wait_status (f, run_id, "paused");
  g_autoptr (JsonObject) paused2 = wf_wait_status (f, restarted_id, "paused");
  g_autoptr (JsonObject) still = NULL, done = NULL, done2 = NULL;
  g_autofree gchar *interaction = pending_approval (f, run_id);
  g_autoptr (JsonNode) list = NULL;
  JsonArray *all;

  g_assert_nonnull (interaction);
  list = wf_call (f, "interaction_list", "{\"owner\":\"workflow\"}");
  all = json_object_get_array_member (cw_test_obj (list), "interactions");
  for (guint i = 0; i < json_array_get_length (all); i++)
    g_assert_cmpint (
        json_object_get_int_member (json_array_get_object_element (all, i), "expiresAt"), ==,
        WF_T0 + 60000);
  /* not yet */
  wf_set_clock (f, WF_T0 + 59000);
  g_usleep (300000);
  still = wf_get_run (f, run_id);
  g_assert_cmpstr (wf_str (run_of (still), "status"), ==, "paused");
  g_assert_cmpstr (pending_approval (f, run_id), ==, interaction);
  /* a restart keeps the timeout */
  agent_fixture_stop (f, SIGKILL);
  agent_fixture_start (f);
  wf_set_clock (f, WF_T0 + 61000);
  done = wf_wait_end (f, run_id);
  done2 = wf_wait_end (f, restarted_id);
  g_assert_cmpstr (wf_str (run_of (done), "status"), ==, "completed");
  g_assert_cmpuint (wf_count_node_runs (done, "mid", "failed"), ==, 1);
  g_assert_cmpuint (wf_count_node_runs (done, "late", "succeeded"), ==, 1);
  g_assert_cmpuint (wf_count_node_runs (done, "end", NULL), ==, 0);
  g_assert_nonnull (strstr (wf_str (wf_node_output (done, "mid"), "error"), "nobody answered"));
  g_assert_cmpstr (wf_str (run_of (done2), "status"), ==, "completed");
  g_assert_cmpuint (wf_count_node_runs (done2, "late", "succeeded"), ==, 1);
  g_assert_null (pending_approval (f, run_id));
  g_assert_null (pending_approval (f, restarted_id));
}

static void
test_approval_after_restart (void)
{
  g_autoptr (AgentFixture) f = wf_started ();
  g_autofree gchar *wf = publish_chain (
      f, "{\"id\":\"mid\",\"type\":\"approval\",\"config\":{\"message\":\"ship it?\"}}");
  g_autofree gchar *denied_wf = wf_publish (
      f, "{\"name\":\"deny\",\"nodes\":[{\"id\":\"start\",\"type\":\"start\"},"
         "{\"id\":\"mid\",\"type\":\"approval\"},{\"id\":\"no\",\"type\":\"end\"},"
         "{\"id\":\"end\",\"type\":\"end\"}],\"edges\":[{\"from\":\"start\",\"to\":\"mid\"},"
         "{\"from\":\"mid\",\"to\":\"end\"},{\"from\":\"mid\",\"to\":\"no\",\"condition\":"
         "\"failure\"}]}");
  g_autofree gchar *run_id = wf_run (f, wf, NULL);
  g_autofree gchar *resumed_id = wf_run (f, wf, NULL);
  g_autofree gchar *denied_id = wf_run (f, denied_wf, NULL);
  g_autofree gchar *interaction = NULL, *denial = NULL;
  g_autoptr (JsonObject) paused = wf_wait_status (f, run_id, "paused");
  g_autoptr (JsonObject) p2 = wf_wait_status (f, resumed_id, "paused");
  g_autoptr (JsonObject) p3 = wf_wait_status (f, denied_id, "paused");
  g_autoptr (JsonObject) done = NULL, done2 = NULL, done3 = NULL;
  g_autoptr (CwClient) second = NULL;
  g_autoptr (JsonNode) answer = NULL, resumed = NULL;

  interaction = pending_approval (f, run_id);
  g_assert_nonnull (interaction);
  g_assert_true (g_str_has_prefix (interaction, "appr_"));
  agent_fixture_stop (f, SIGKILL);
  agent_fixture_start (f);
  /* the same interaction, still pending, answered by another client */
  g_assert_cmpstr (pending_approval (f, run_id), ==, interaction);
  second = cw_test_daemon_connect (f->daemon);
  answer = agent_call (second, "interaction_respond",
                       "{\"id\":\"%s\",\"answer\":{\"approved\":true}}", interaction);
  done = wf_wait_end (f, run_id);
  g_assert_cmpstr (wf_str (run_of (done), "status"), ==, "completed");
  g_assert_cmpuint (wf_count_node_runs (done, "mid", NULL), ==, 1);
  g_assert_cmpuint (wf_count_node_runs (done, "after", NULL), ==, 1);
  g_assert_cmpstr (wf_str (wf_node_output (done, "mid"), "approvedBy"), !=, NULL);
  /* the contract's way: workflow_resume_run approves the pending node */
  resumed = wf_call (f, "workflow_resume_run", "{\"runId\":\"%s\"}", resumed_id);
  done2 = wf_wait_end (f, resumed_id);
  g_assert_cmpstr (wf_str (run_of (done2), "status"), ==, "completed");
  g_assert_null (pending_approval (f, resumed_id));
  /* a denial fails the node; its failure edge ends the run, completed */
  denial = pending_approval (f, denied_id);
  json_node_unref (agent_call (second, "interaction_respond",
                               "{\"id\":\"%s\",\"answer\":{\"approved\":false,\"reason\":\"no\"}}",
                               denial));
  done3 = wf_wait_end (f, denied_id);
  g_assert_cmpstr (wf_str (run_of (done3), "status"), ==, "completed");
  g_assert_cmpuint (wf_count_node_runs (done3, "mid", "failed"), ==, 1);
  g_assert_cmpuint (wf_count_node_runs (done3, "no", "succeeded"), ==, 1);
  /* a cancelled run's approval is no longer pending for anyone */
  {
    g_autofree gchar *cancelled = wf_run (f, wf, NULL);
    g_autoptr (JsonObject) p4 = wf_wait_status (f, cancelled, "paused");
    g_autofree gchar *asked = pending_approval (f, cancelled);
    g_autoptr (JsonNode) c = NULL;
    g_assert_nonnull (asked);
    c = wf_call (f, "workflow_cancel_run", "{\"runId\":\"%s\"}", cancelled);
    g_assert_null (pending_approval (f, cancelled));
  }
}

static void
test_cancel_pause (void)
{
  g_autoptr (AgentFixture) f = wf_started ();
  g_autofree gchar *wf
      = publish_chain (f, "{\"id\":\"mid\",\"type\":\"wait\",\"config\":{\"durationMs\":60000}}");
  g_autofree gchar *r1 = wf_run (f, wf, NULL);
  g_autofree gchar *r2 = wf_run (f, wf, NULL);
  g_autoptr (JsonNode) c = NULL, p = NULL, r = NULL;
  g_autoptr (JsonObject) d1 = NULL, d2 = NULL;
  g_autofree gchar *error = NULL;

  wait_node_run (f, r1, "mid", "running");
  wait_node_run (f, r2, "mid", "running");
  c = wf_call (f, "workflow_cancel_run", "{\"runId\":\"%s\"}", r1);
  p = wf_call (f, "workflow_pause_run", "{\"runId\":\"%s\"}", r2);
  g_assert_cmpstr (wf_str (cw_test_obj (p), "status"), ==, "paused");
  /* the wait comes due while paused: nothing goes on until resume */
  wf_set_clock (f, WF_T0 + 61000);
  g_usleep (200000);
  d2 = wf_get_run (f, r2);
  g_assert_cmpstr (wf_str (run_of (d2), "status"), ==, "paused");
  g_assert_cmpuint (wf_count_node_runs (d2, "after", NULL), ==, 0);
  g_clear_pointer (&d2, json_object_unref);
  r = wf_call (f, "workflow_resume_run", "{\"runId\":\"%s\"}", r2);
  d2 = wf_wait_end (f, r2);
  g_assert_cmpstr (wf_str (run_of (d2), "status"), ==, "completed");
  d1 = wf_wait_end (f, r1);
  g_assert_cmpstr (wf_str (run_of (d1), "status"), ==, "cancelled");
  g_assert_cmpstr (wf_str (run_of (d1), "error"), ==, "Cancelled by user");
  g_assert_cmpuint (wf_count_node_runs (d1, "after", NULL), ==, 0);
  error = wf_call_error (f, "workflow_cancel_run", "{\"runId\":\"%s\"}", r1);
  g_assert_nonnull (strstr (error, "has already ended"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/workflow/runs/every-node", test_every_node);
  g_test_add_func ("/workflow/runs/loop-bounds", test_loop_bounds);
  g_test_add_func ("/workflow/runs/retry-and-failure-edges", test_retry_and_failure_edges);
  g_test_add_func ("/workflow/runs/kill-during-wait", test_kill_during_wait);
  g_test_add_func ("/workflow/runs/kill-during-node", test_kill_during_node);
  g_test_add_func ("/workflow/runs/approval-after-restart", test_approval_after_restart);
  g_test_add_func ("/workflow/runs/approval-timeout", test_approval_timeout);
  g_test_add_func ("/workflow/runs/cancel-pause", test_cancel_pause);
  return g_test_run ();
}
