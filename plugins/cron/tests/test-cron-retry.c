/* test-cron-retry.c: retries on the real daemon and the test clock. A scheduled run whose
 * provider cannot be reached (a closed port) is retried after 1, 5 and 15 minutes of the
 * scheduler's clock as the same ledger row, across a restart too; a run that reached the
 * model is never retried.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-cron-test.h"

#include <signal.h>
#include <string.h>

#define HOUR   G_GINT64_CONSTANT (3600000)
#define MINUTE G_GINT64_CONSTANT (60000)

/* A loopback port nothing listens on. */
static guint16
closed_port (void)
{
  g_autoptr (GSocketListener) listener = g_socket_listener_new ();
  g_autoptr (GError) error = NULL;
  guint16 port = g_socket_listener_add_any_inet_port (listener, NULL, &error);

  g_assert_no_error (error);
  g_socket_listener_close (listener);
  return port;
}

static void
point_at_closed_port (AgentFixture *f)
{
  g_autoptr (JsonNode) r
      = agent_call (f->client, "set_runtime_config",
                    "{\"config\":{\"activeProvider\":\"lmstudio\","
                    "\"providerBaseUrls\":{\"lmstudio\":\"http://127.0.0.1:%u\"}}}",
                    closed_port ());
}

static JsonObject *
hourly (AgentFixture *f)
{
  return cron_create (f,
                      "{\"name\":\"Retried\",\"prompt\":\"hello\",\"workingDirectory\":\"%s\","
                      "\"schedule\":{\"type\":\"every\",\"intervalMs\":3600000,\"startAt\":"
                      "%" G_GINT64_FORMAT "}}",
                      f->workdir, CRON_T0);
}

/* The only run of @job_id once it waits for retry number @n (its attempts has @n entries). */
static JsonObject *
wait_attempts (AgentFixture *f, const gchar *job_id, guint n)
{
  gint64 deadline = g_get_monotonic_time () + 20 * G_TIME_SPAN_SECOND;

  for (;;)
    {
      g_autoptr (JsonArray) runs = cron_runs (f, job_id);
      JsonObject *run
          = json_array_get_length (runs) > 0 ? json_array_get_object_element (runs, 0) : NULL;

      g_assert_cmpuint (json_array_get_length (runs), <=, 1);
      if (run != NULL && json_object_has_member (run, "retryAt")
          && json_array_get_length (json_object_get_array_member (run, "attempts")) == n)
        return json_object_ref (run);
      if (g_get_monotonic_time () > deadline)
        g_error ("job %s: no run waiting for retry %u after 20 s", job_id, n);
      g_usleep (10000);
    }
}

static void
test_unreachable_is_retried (void)
{
  g_autoptr (AgentFixture) f = cron_fixture_new (CRON_T0);
  g_autoptr (JsonObject) job = NULL, first = NULL, second = NULL, after_restart = NULL;
  g_autoptr (JsonObject) after = NULL;
  g_autoptr (JsonArray) runs = NULL;
  JsonObject *run, *attempt;
  JsonArray *attempts;
  gint64 at = CRON_T0 + HOUR;
  const gchar *id;

  agent_fixture_start (f);
  point_at_closed_port (f);
  job = hourly (f);
  id = cron_str (job, "id");

  cron_set_clock (f, at);
  first = wait_attempts (f, id, 1);
  g_assert_false (json_object_has_member (first, "result"));
  g_assert_cmpint (cron_int (first, "scheduledAt"), ==, at);
  g_assert_cmpint (cron_int (first, "retryAt"), ==, at + MINUTE);
  g_assert_cmpstr (cron_str (first, "sessionId"), ==, "");
  attempt = json_array_get_object_element (json_object_get_array_member (first, "attempts"), 0);
  g_assert_true (g_str_has_prefix (cron_str (attempt, "error"), "cannot reach lmstudio"));
  g_assert_nonnull (cron_str (attempt, "sessionId"));
  g_assert_cmpstr (cron_str (attempt, "sessionId"), !=, "");

  {
    /* coworkctl says so */
    const gchar *args[] = { "cron", "runs", id, NULL };
    g_autofree gchar *table = agent_run_ctl (f, NULL, args);
    g_assert_nonnull (strstr (table, " retrying "));
    g_assert_nonnull (strstr (table, "cannot reach lmstudio"));
  }
  /* not yet: 59 s later nothing happens */
  cron_set_clock (f, at + MINUTE - 1000);
  g_clear_pointer (&runs, json_array_unref);
  runs = cron_runs (f, id);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (
                        json_array_get_object_element (runs, 0), "attempts")),
                    ==, 1);
  cron_set_clock (f, at + MINUTE);
  second = wait_attempts (f, id, 2);
  g_assert_cmpstr (cron_str (second, "id"), ==, cron_str (first, "id"));
  g_assert_cmpint (cron_int (second, "retryAt"), ==, at + MINUTE + 5 * MINUTE);

  /* a restart while it waits: the run is not interrupted, its retry is still due */
  cron_restart (f, SIGTERM, at + 2 * MINUTE);
  after_restart = wait_attempts (f, id, 2);
  g_assert_false (json_object_has_member (after_restart, "result"));

  /* the provider is back when the retry comes: the same ledger row succeeds */
  g_assert_true (agent_fixture_start_llm (
      f, "{\"responses\":[{\"events\":[{\"text\":\"Hello from the fake.\"}]}]}"));
  cron_set_clock (f, at + 6 * MINUTE);
  g_clear_pointer (&runs, json_array_unref);
  runs = cron_wait_runs (f, id, 1);
  g_assert_cmpuint (json_array_get_length (runs), ==, 1);
  run = json_array_get_object_element (runs, 0);
  g_assert_cmpstr (cron_str (run, "id"), ==, cron_str (first, "id"));
  g_assert_cmpstr (cron_str (run, "result"), ==, "success");
  g_assert_cmpstr (cron_str (run, "summary"), ==, "Hello from the fake.");
  g_assert_cmpint (cron_int (run, "scheduledAt"), ==, at);
  g_assert_false (json_object_has_member (run, "retryAt"));
  g_assert_false (json_object_has_member (run, "error"));
  attempts = json_object_get_array_member (run, "attempts");
  g_assert_cmpuint (json_array_get_length (attempts), ==, 2);
  g_assert_cmpuint (cron_llm_requests (f), ==, 1);
  after = cron_get (f, id);
  g_assert_cmpint (cron_int (after, "runCount"), ==, 1);
  g_assert_cmpstr (cron_str (after, "lastStatus"), ==, "ok");
  g_assert_cmpint (cron_int (after, "consecutiveFailures"), ==, 0);
  g_assert_cmpint (cron_int (after, "nextRunAt"), ==, at + HOUR);
}

/* After the third retry the run is an error like any other. */
static void
test_retries_run_out (void)
{
  g_autoptr (AgentFixture) f = cron_fixture_new (CRON_T0);
  g_autoptr (JsonObject) job = NULL, after = NULL;
  g_autoptr (JsonArray) runs = NULL;
  gint64 at = CRON_T0 + HOUR;
  JsonObject *run;
  const gchar *id;
  const gint64 steps[] = { 1, 6, 21 };

  agent_fixture_start (f);
  point_at_closed_port (f);
  job = hourly (f);
  id = cron_str (job, "id");
  cron_set_clock (f, at);
  for (guint i = 0; i < G_N_ELEMENTS (steps); i++)
    {
      g_autoptr (JsonObject) waiting = wait_attempts (f, id, i + 1);
      g_assert_cmpint (cron_int (waiting, "retryAt"), ==, at + steps[i] * MINUTE);
      cron_set_clock (f, at + steps[i] * MINUTE);
    }
  runs = cron_wait_runs (f, id, 1);
  g_assert_cmpuint (json_array_get_length (runs), ==, 1);
  run = json_array_get_object_element (runs, 0);
  g_assert_cmpstr (cron_str (run, "result"), ==, "error");
  g_assert_true (g_str_has_prefix (cron_str (run, "error"), "cannot reach lmstudio"));
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (run, "attempts")), ==, 3);
  g_assert_false (json_object_has_member (run, "retryAt"));
  after = cron_get (f, id);
  g_assert_cmpstr (cron_str (after, "lastStatus"), ==, "error");
  g_assert_cmpint (cron_int (after, "consecutiveFailures"), ==, 1);
}

/* A run whose request reached the model (here it answered 400) is never retried. */
static void
test_reached_model_is_not_retried (void)
{
  g_autoptr (AgentFixture) f = cron_fixture_new (CRON_T0);
  g_autoptr (JsonObject) job = NULL;
  g_autoptr (JsonArray) runs = NULL, later = NULL;
  gint64 at = CRON_T0 + HOUR;
  JsonObject *run;
  const gchar *id;

  agent_fixture_start (f);
  g_assert_true (agent_fixture_start_llm (f, "{\"responses\":[{\"status\":400}]}"));
  job = hourly (f);
  id = cron_str (job, "id");
  cron_set_clock (f, at);
  runs = cron_wait_runs (f, id, 1);
  run = json_array_get_object_element (runs, 0);
  g_assert_cmpstr (cron_str (run, "result"), ==, "error");
  g_assert_false (json_object_has_member (run, "retryAt"));
  g_assert_false (json_object_has_member (run, "attempts"));
  /* the backoff steps pass: nothing more */
  cron_set_clock (f, at + MINUTE);
  cron_set_clock (f, at + 6 * MINUTE);
  cron_set_clock (f, at + 21 * MINUTE);
  later = cron_runs (f, id);
  g_assert_cmpuint (json_array_get_length (later), ==, 1);
  g_assert_cmpuint (cron_llm_requests (f), ==, 1);
}

/* The model answered once (a tool call) and the provider is gone when the turn calls it
 * again: the error says "cannot reach", but the run reached the model and is not retried. */
static void
test_unreachable_after_a_model_call (void)
{
  g_autoptr (AgentFixture) f = cron_fixture_new (CRON_T0);
  g_autofree gchar *target = g_build_filename (f->daemon->dir, "outside.txt", NULL);
  g_autofree gchar *script = g_strdup_printf (
      "{\"responses\":[{\"events\":[{\"toolCall\":{\"id\":\"c1\",\"name\":\"write_file\","
      "\"args\":{\"path\":\"%s\",\"content\":\"x\"}}}]}]}",
      target);
  g_autoptr (JsonObject) job = NULL;
  g_autoptr (JsonArray) runs = NULL, later = NULL;
  g_autoptr (JsonNode) answered = NULL;
  gint64 at = CRON_T0 + HOUR;
  g_autoptr (JsonObject) waiting = NULL;
  JsonObject *run, *record;
  const gchar *id;

  agent_fixture_start (f);
  g_assert_true (agent_fixture_start_llm (f, script));
  job = cron_create_waiting (f, "Two calls");
  id = cron_str (job, "id");
  cron_set_clock (f, at);
  /* the first model call asked for a tool; it waits for its permission */
  waiting = cron_wait_pending (f, id);
  record
      = json_array_get_object_element (json_object_get_array_member (waiting, "interactions"), 0);
  /* the provider goes away; the turn goes on and calls it again */
  g_subprocess_force_exit (f->llm);
  g_assert_true (g_subprocess_wait (f->llm, NULL, NULL));
  answered = agent_call (f->client, "interaction_respond",
                         "{\"id\":\"%s\",\"answer\":\"allow_once\"}", cron_str (record, "id"));
  runs = cron_wait_runs (f, id, 1);
  run = json_array_get_object_element (runs, 0);
  g_assert_cmpstr (cron_str (run, "result"), ==, "error");
  g_assert_true (g_str_has_prefix (cron_str (run, "error"), "cannot reach lmstudio"));
  g_assert_false (json_object_has_member (run, "retryAt"));
  g_assert_false (json_object_has_member (run, "attempts"));
  cron_set_clock (f, at + MINUTE);
  cron_set_clock (f, at + 6 * MINUTE);
  later = cron_runs (f, id);
  g_assert_cmpuint (json_array_get_length (later), ==, 1);
  g_assert_cmpstr (cron_str (json_array_get_object_element (later, 0), "result"), ==, "error");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cron/retry/unreachable-is-retried", test_unreachable_is_retried);
  g_test_add_func ("/cron/retry/retries-run-out", test_retries_run_out);
  g_test_add_func ("/cron/retry/reached-model-is-not-retried", test_reached_model_is_not_retried);
  g_test_add_func ("/cron/retry/unreachable-after-a-model-call",
                   test_unreachable_after_a_model_call);
  return g_test_run ();
}
