/* test-cron-recovery.c: exactly once per instant on the real daemon, on the test clock and
 * the fake LLM: kill -9 during a run, a re-arm and a manual trigger during a scheduled run,
 * the daemon down across instants (each missed-run policy, the cap of `all`), past one-shots,
 * the importer on the original's files, auto-pause after failures, maxRuns, and the app's
 * null optional fields.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-cron-test.h"

#include <signal.h>
#include <string.h>

#define HOUR G_GINT64_CONSTANT (3600000)
#define HELLO                                                                                      \
  "{\"responses\":[{\"events\":[{\"text\":\"Hello from the fake.\"}],"                             \
  "\"usage\":{\"input\":3,\"output\":2}}]}"
/* The first request streams a word and then nothing for 30 s; later ones answer at once. */
#define SLOW_THEN_HELLO                                                                            \
  "{\"responses\":[{\"events\":[{\"text\":\"slow\"},{\"delayMs\":30000},{\"text\":\" never\"}]},"  \
  "{\"events\":[{\"text\":\"Hello from the fake.\"}]}]}"

static AgentFixture *
started (const gchar *config, const gchar *script)
{
  AgentFixture *f = cron_fixture_new (CRON_T0);

  if (config != NULL)
    cw_test_daemon_set_config (f->daemon, config);
  agent_fixture_start (f);
  g_assert_true (agent_fixture_start_llm (f, script));
  return f;
}

static JsonObject *
hourly (AgentFixture *f, const gchar *name, const gchar *extra)
{
  return cron_create (f,
                      "{\"name\":\"%s\",\"prompt\":\"hello %s\",\"workingDirectory\":\"%s\","
                      "\"schedule\":{\"type\":\"every\",\"intervalMs\":3600000,\"startAt\":"
                      "%" G_GINT64_FORMAT "}%s}",
                      name, name, f->workdir, CRON_T0, extra != NULL ? extra : "");
}

/* kill -9 during a run: at the next start the run is `interrupted` with the reason, and its
 * instant is never run again; the next instant runs normally. */
static void
test_kill_during_run (void)
{
  g_autoptr (AgentFixture) f = started (NULL, SLOW_THEN_HELLO);
  g_autoptr (JsonObject) job = hourly (f, "Killed", NULL);
  g_autoptr (JsonObject) after = NULL;
  g_autoptr (JsonArray) before = NULL, runs = NULL, later = NULL;
  g_autofree gchar *run_id = NULL;
  const gchar *id = cron_str (job, "id");
  gint64 at = CRON_T0 + HOUR;
  JsonObject *run;

  cron_set_clock (f, at);
  json_object_unref (agent_wait_event (f->client, "stream:chunk", NULL, NULL));
  /* the ledger row is there before the run ends, without a result */
  before = cron_runs (f, id);
  g_assert_cmpuint (json_array_get_length (before), ==, 1);
  run = json_array_get_object_element (before, 0);
  g_assert_false (json_object_has_member (run, "result"));
  g_assert_cmpint (cron_int (run, "scheduledAt"), ==, at);
  run_id = g_strdup (cron_str (run, "id"));

  cron_restart (f, SIGKILL, at + 5000);
  runs = cron_wait_runs (f, id, 1);
  g_assert_cmpuint (json_array_get_length (runs), ==, 1);
  run = json_array_get_object_element (runs, 0);
  g_assert_cmpstr (cron_str (run, "id"), ==, run_id);
  g_assert_cmpstr (cron_str (run, "result"), ==, "interrupted");
  g_assert_cmpstr (cron_str (run, "error"), ==,
                   "The daemon stopped during the run; it is not run again");
  g_assert_cmpint (cron_int (run, "scheduledAt"), ==, at);
  g_assert_true (json_object_has_member (run, "completedAt"));
  after = cron_get (f, id);
  g_assert_cmpstr (cron_str (after, "status"), ==, "active");
  g_assert_cmpstr (cron_str (after, "lastStatus"), ==, "error");
  g_assert_cmpstr (cron_str (after, "lastResult"), ==, "interrupted");
  g_assert_cmpint (cron_int (after, "nextRunAt"), ==, at + HOUR);
  g_assert_cmpuint (cron_llm_requests (f), ==, 1);

  /* the next instant runs (the provider setting survived the kill); the killed one is not
   * replayed before or with it */
  cron_set_clock (f, at + HOUR);
  later = cron_wait_runs (f, id, 2);
  g_assert_cmpuint (json_array_get_length (later), ==, 2);
  g_assert_cmpstr (cron_str (cron_run_for (later, at + HOUR), "result"), ==, "success");
  g_assert_cmpstr (cron_str (cron_run_for (later, at), "result"), ==, "interrupted");
  g_assert_cmpuint (cron_llm_requests (f), ==, 2);
}

/* A second daemon on the same data, its clock past an instant of the first one's job: it
 * refuses to start, so it never runs that instant; the first one runs it once. */
static void
test_second_daemon (void)
{
  g_autoptr (AgentFixture) f = started (NULL, SLOW_THEN_HELLO);
  g_autoptr (JsonObject) job = hourly (f, "Shared", NULL);
  g_autoptr (GSubprocess) second = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonArray) runs = NULL;
  g_autofree gchar *clock = g_strdup_printf ("%" G_GINT64_FORMAT, CRON_T0 + 2 * HOUR);
  gint64 at = CRON_T0 + HOUR;

  cw_test_daemon_setenv (f->daemon, "COWORK_TEST_CLOCK", clock);
  second = cw_test_daemon_spawn (f->daemon, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_wait (second, NULL, &error));
  g_assert_true (g_subprocess_get_if_exited (second));
  g_assert_cmpint (g_subprocess_get_exit_status (second), ==, 1);
  runs = cron_runs (f, cron_str (job, "id"));
  g_assert_cmpuint (json_array_get_length (runs), ==, 0);
  g_assert_cmpuint (cron_llm_requests (f), ==, 0);

  cron_set_clock (f, at);
  g_clear_pointer (&runs, json_array_unref);
  json_object_unref (agent_wait_event (f->client, "stream:chunk", NULL, NULL));
  runs = cron_runs (f, cron_str (job, "id"));
  g_assert_cmpuint (json_array_get_length (runs), ==, 1);
  g_assert_cmpint (cron_int (json_array_get_object_element (runs, 0), "scheduledAt"), ==, at);
}

/* During a scheduled run: an update that re-arms the job, the clock set back across the
 * instant (the scheduler delivers it again) and a manual trigger. The instant has one run,
 * and the trigger gets that run's outcome. */
static void
test_rearm_and_trigger_during_run (void)
{
  g_autoptr (AgentFixture) f = started (NULL, SLOW_THEN_HELLO);
  g_autoptr (JsonObject) job = hourly (f, "Busy", ",\"timeoutMs\":60000");
  g_autoptr (CwClient) sender = cw_test_daemon_connect (f->daemon);
  g_autoptr (JsonNode) updated = NULL, renamed = NULL, reply = NULL;
  g_autoptr (JsonArray) runs = NULL;
  g_autofree gchar *trigger = NULL;
  const gchar *id = cron_str (job, "id");
  gint64 at = CRON_T0 + HOUR;
  JsonObject *run, *got;

  cron_set_clock (f, at);
  json_object_unref (agent_wait_event (f->client, "stream:chunk", NULL, NULL));
  trigger = agent_send (sender, "cron_trigger_job", "{\"jobId\":\"%s\"}", id);
  /* the same instants on another schedule type: a re-arm from now */
  updated = agent_call (f->client, "cron_update_job",
                        "{\"jobId\":\"%s\",\"updates\":{\"schedule\":{\"type\":\"cron\","
                        "\"expression\":\"0 * * * *\",\"timezone\":\"UTC\"}}}",
                        id);
  g_assert_cmpint (cron_int (cw_test_obj (updated), "nextRunAt"), ==, at + HOUR);
  renamed = agent_call (f->client, "cron_update_job", "{\"jobId\":\"%s\",\"name\":\"Busy 2\"}", id);
  cron_set_clock (f, at - 1000);
  cron_set_clock (f, at);
  cron_set_clock (f, at + 1000);
  /* the timeout ends the one run */
  cron_set_clock (f, at + 61000);
  reply = cron_wait_reply (sender, trigger);
  got = cw_test_obj (reply);
  g_assert_cmpstr (cron_str (got, "result"), ==, "timeout");
  g_assert_cmpint (cron_int (got, "scheduledAt"), ==, at);

  runs = cron_wait_runs (f, id, 1);
  g_assert_cmpuint (json_array_get_length (runs), ==, 1);
  run = json_array_get_object_element (runs, 0);
  g_assert_cmpstr (cron_str (run, "id"), ==, cron_str (got, "id"));
  g_assert_cmpuint (cron_llm_requests (f), ==, 1);
}

/* The daemon is down across two instants of three hourly jobs: skip records them missed,
 * once runs the newest (the older one is recorded missed), all runs both in order. */
static void
test_down_across_instants (void)
{
  g_autoptr (AgentFixture) f = started (NULL, HELLO);
  g_autoptr (JsonObject) skip = hourly (f, "Skip", ",\"missedPolicy\":\"skip\"");
  g_autoptr (JsonObject) once = hourly (f, "Once", NULL);
  g_autoptr (JsonObject) all = hourly (f, "All", ",\"missedPolicy\":\"all\"");
  g_autoptr (JsonArray) skip_runs = NULL, once_runs = NULL, all_runs = NULL, again = NULL;
  g_autoptr (JsonObject) skip_job = NULL, all_job = NULL;
  gint64 first = CRON_T0 + HOUR, second = CRON_T0 + 2 * HOUR;
  JsonObject *run;

  g_assert_cmpstr (cron_str (once, "missedPolicy"), ==, "once");
  cron_restart (f, SIGTERM, CRON_T0 + 2 * HOUR + 30 * 60000);

  skip_runs = cron_wait_runs (f, cron_str (skip, "id"), 1);
  g_assert_cmpuint (json_array_get_length (skip_runs), ==, 1);
  run = cron_run_for (skip_runs, second);
  g_assert_nonnull (run);
  g_assert_cmpstr (cron_str (run, "result"), ==, "missed");
  g_assert_nonnull (strstr (cron_str (run, "error"), "missed-run policy skip"));
  g_assert_cmpstr (cron_str (run, "sessionId"), ==, "");

  once_runs = cron_wait_runs (f, cron_str (once, "id"), 2);
  g_assert_cmpuint (json_array_get_length (once_runs), ==, 2);
  g_assert_cmpstr (cron_str (cron_run_for (once_runs, first), "result"), ==, "missed");
  g_assert_nonnull (
      strstr (cron_str (cron_run_for (once_runs, first), "error"), "missed-run policy once"));
  g_assert_cmpstr (cron_str (cron_run_for (once_runs, second), "result"), ==, "success");

  all_runs = cron_wait_runs (f, cron_str (all, "id"), 2);
  g_assert_cmpuint (json_array_get_length (all_runs), ==, 2);
  g_assert_cmpstr (cron_str (cron_run_for (all_runs, first), "result"), ==, "success");
  g_assert_cmpstr (cron_str (cron_run_for (all_runs, second), "result"), ==, "success");
  /* oldest first */
  g_assert_cmpint (cron_int (cron_run_for (all_runs, first), "startedAt"), <=,
                   cron_int (cron_run_for (all_runs, second), "startedAt"));

  g_assert_cmpuint (cron_llm_requests (f), ==, 3);
  skip_job = cron_get (f, cron_str (skip, "id"));
  g_assert_cmpint (cron_int (skip_job, "nextRunAt"), ==, CRON_T0 + 3 * HOUR);
  g_assert_cmpstr (cron_str (skip_job, "lastResult"), ==, "missed");
  all_job = cron_get (f, cron_str (all, "id"));
  g_assert_cmpint (cron_int (all_job, "runCount"), ==, 2);
  g_assert_cmpint (cron_int (all_job, "nextRunAt"), ==, CRON_T0 + 3 * HOUR);

  /* a restart within the same hour changes nothing */
  cron_restart (f, SIGTERM, CRON_T0 + 2 * HOUR + 40 * 60000);
  again = cron_runs (f, cron_str (all, "id"));
  g_assert_cmpuint (json_array_get_length (again), ==, 2);
  g_assert_cmpuint (cron_llm_requests (f), ==, 3);
}

/* `all` catches up at most CW_MISSED_POLICY_ALL_MAX (100) instants; the ones before them
 * are recorded as one missed run. */
static void
test_all_is_capped (void)
{
  g_autoptr (AgentFixture) f = started (NULL, HELLO);
  g_autoptr (JsonObject) job = NULL;
  g_autoptr (JsonArray) runs = NULL;
  const gchar *id;

  job = cron_create (f,
                     "{\"name\":\"Minutely\",\"prompt\":\"hello\",\"workingDirectory\":\"%s\","
                     "\"missedPolicy\":\"all\",\"schedule\":{\"type\":\"every\",\"intervalMs\":"
                     "60000,\"startAt\":%" G_GINT64_FORMAT "}}",
                     f->workdir, CRON_T0);
  id = cron_str (job, "id");
  /* down for 105 instants (+1 min .. +105 min); the clock stops 30 s after the last */
  cron_restart (f, SIGTERM, CRON_T0 + 105 * 60000 + 30000);
  runs = cron_wait_runs_for (f, id, 101, 150);
  g_assert_cmpuint (json_array_get_length (runs), ==, 101);
  g_assert_cmpuint (cron_count_result (runs, "success"), ==, 100);
  g_assert_cmpuint (cron_count_result (runs, "missed"), ==, 1);
  /* the newest 100 ran; the missed record is for the newest instant before them */
  g_assert_cmpstr (cron_str (cron_run_for (runs, CRON_T0 + 105 * 60000), "result"), ==, "success");
  g_assert_cmpstr (cron_str (cron_run_for (runs, CRON_T0 + 6 * 60000), "result"), ==, "success");
  g_assert_cmpstr (cron_str (cron_run_for (runs, CRON_T0 + 5 * 60000), "result"), ==, "missed");
  g_assert_null (cron_run_for (runs, CRON_T0 + 4 * 60000));
  g_assert_cmpuint (cron_llm_requests (f), ==, 100);
}

static JsonObject *
one_shot (AgentFixture *f, const gchar *name, const gchar *policy, gint64 at)
{
  return cron_create (f,
                      "{\"name\":\"%s\",\"prompt\":\"hello\",\"workingDirectory\":\"%s\","
                      "\"missedPolicy\":\"%s\",\"schedule\":{\"type\":\"at\",\"timestamp\":"
                      "%" G_GINT64_FORMAT "}}",
                      name, f->workdir, policy, at);
}

/* A one-shot whose time passed runs once (once) or is recorded missed (skip); either way it
 * is done and never stays active, across restarts too. */
static void
test_past_one_shot (void)
{
  g_autoptr (AgentFixture) f = started (NULL, HELLO);
  gint64 at = CRON_T0 + HOUR;
  g_autoptr (JsonObject) once = NULL, skip = NULL, late = NULL, late_skip = NULL;
  g_autoptr (JsonObject) once_job = NULL, skip_job = NULL, late_job = NULL, late_skip_job = NULL;
  g_autoptr (JsonArray) once_runs = NULL, skip_runs = NULL, late_runs = NULL, late_skip_runs = NULL;
  g_autoptr (JsonArray) again = NULL;
  g_autoptr (JsonNode) status = NULL;

  once = one_shot (f, "Once", "once", at);
  skip = one_shot (f, "Skip", "skip", at);
  cron_restart (f, SIGTERM, at + HOUR);
  once_runs = cron_wait_runs (f, cron_str (once, "id"), 1);
  g_assert_cmpuint (json_array_get_length (once_runs), ==, 1);
  g_assert_cmpstr (cron_str (cron_run_for (once_runs, at), "result"), ==, "success");
  skip_runs = cron_wait_runs (f, cron_str (skip, "id"), 1);
  g_assert_cmpuint (json_array_get_length (skip_runs), ==, 1);
  g_assert_cmpstr (cron_str (cron_run_for (skip_runs, at), "result"), ==, "missed");
  once_job = cron_get (f, cron_str (once, "id"));
  g_assert_cmpstr (cron_str (once_job, "status"), ==, "completed");
  g_assert_false (json_object_has_member (once_job, "nextRunAt"));
  skip_job = cron_get (f, cron_str (skip, "id"));
  g_assert_cmpstr (cron_str (skip_job, "status"), ==, "completed");
  g_assert_cmpstr (cron_str (skip_job, "lastStatus"), ==, "skipped");
  g_assert_false (json_object_has_member (skip_job, "nextRunAt"));

  /* created with a time already past: the same */
  late = one_shot (f, "Late", "once", at);
  late_skip = one_shot (f, "Late skip", "skip", at);
  late_runs = cron_wait_runs (f, cron_str (late, "id"), 1);
  g_assert_cmpstr (cron_str (json_array_get_object_element (late_runs, 0), "result"), ==,
                   "success");
  late_skip_runs = cron_wait_runs (f, cron_str (late_skip, "id"), 1);
  g_assert_cmpstr (cron_str (json_array_get_object_element (late_skip_runs, 0), "result"), ==,
                   "missed");
  late_job = cron_get (f, cron_str (late, "id"));
  g_assert_cmpstr (cron_str (late_job, "status"), ==, "completed");
  late_skip_job = cron_get (f, cron_str (late_skip, "id"));
  g_assert_cmpstr (cron_str (late_skip_job, "status"), ==, "completed");

  /* nothing is active and nothing runs again after another restart */
  cron_restart (f, SIGTERM, at + 3 * HOUR);
  status = agent_call (f->client, "cron_get_status", NULL);
  g_assert_cmpint (cron_int (cw_test_obj (status), "activeJobCount"), ==, 0);
  again = cron_runs (f, cron_str (once, "id"));
  g_assert_cmpuint (json_array_get_length (again), ==, 1);
  g_assert_cmpuint (cron_llm_requests (f), ==, 2);
}

/* Copies the original's ~/.cowork/cron files into the daemon's HOME, with <workdir> replaced
 * (the placeholder of the fixture files). */
static gchar *
install_original (AgentFixture *f)
{
  g_autofree gchar *home = cron_fixture_home (f);
  g_autofree gchar *workdir = g_build_filename (f->daemon->dir, "original-work", NULL);
  g_autofree gchar *cron_dir = g_build_filename (workdir, "cron", NULL);
  g_autofree gchar *target = g_build_filename (home, ".cowork", "cron", "runs", NULL);
  const gchar *files[] = { "jobs.json", "runs/job_mx541k0k3r7u4r.jsonl" };

  g_assert_cmpint (g_mkdir_with_parents (cron_dir, 0700), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (target, 0700), ==, 0);
  for (guint i = 0; i < G_N_ELEMENTS (files); i++)
    {
      g_autofree gchar *src
          = g_test_build_filename (G_TEST_DIST, "data", "original-cron", files[i], NULL);
      g_autofree gchar *dst = g_build_filename (home, ".cowork", "cron", files[i], NULL);
      g_autofree gchar *text = NULL;
      g_auto (GStrv) parts = NULL;
      g_autofree gchar *replaced = NULL;

      g_assert_true (g_file_get_contents (src, &text, NULL, NULL));
      parts = g_strsplit (text, "<workdir>", -1);
      replaced = g_strjoinv (workdir, parts);
      g_assert_true (g_file_set_contents (dst, replaced, -1, NULL));
    }
  return g_steal_pointer (&cron_dir);
}

static void
test_import_original (void)
{
  g_autoptr (AgentFixture) f = cron_fixture_new (CRON_T0);
  g_autofree gchar *cron_dir = install_original (f);
  g_autoptr (JsonNode) list = NULL, list2 = NULL, deleted = NULL;
  g_autoptr (JsonArray) runs = NULL, runs2 = NULL;
  JsonArray *jobs;
  JsonObject *digest, *sweep, *reminder, *run;

  agent_fixture_start (f);
  list = agent_call (f->client, "cron_list_jobs", NULL);
  jobs = json_node_get_array (list);
  g_assert_cmpuint (json_array_get_length (jobs), ==, 3);
  digest = json_array_get_object_element (jobs, 0);
  sweep = json_array_get_object_element (jobs, 1);
  reminder = json_array_get_object_element (jobs, 2);
  /* ids and insertion order kept */
  g_assert_cmpstr (cron_str (digest, "id"), ==, "job_mx541jzug9ad6n");
  g_assert_cmpstr (cron_str (sweep, "id"), ==, "job_mx541k0dkhp4xb");
  g_assert_cmpstr (cron_str (reminder, "id"), ==, "job_mx541k0k3r7u4r");
  g_assert_cmpstr (cron_str (digest, "name"), ==, "Morning digest");
  g_assert_cmpstr (cron_str (digest, "workingDirectory"), ==, cron_dir);
  g_assert_cmpstr (cron_str (digest, "status"), ==, "active");
  g_assert_cmpint (cron_int (digest, "maxTurns"), ==, 4);
  /* scheduled on this daemon's clock: Monday 08:00 UTC, the next weekday 08:30 in Berlin is
   * Tuesday 07:30 UTC */
  g_assert_cmpint (cron_int (digest, "nextRunAt"), ==, CRON_T0 + 24 * HOUR - 30 * 60000);
  g_assert_cmpstr (cron_str (sweep, "status"), ==, "paused");
  g_assert_cmpint (cron_int (sweep, "maxRuns"), ==, 24);
  g_assert_cmpstr (cron_str (reminder, "status"), ==, "active");
  g_assert_cmpint (cron_int (reminder, "nextRunAt"), ==, G_GINT64_CONSTANT (1938070800000));
  g_assert_true (json_object_get_boolean_member (reminder, "deleteAfterRun"));
  g_assert_cmpint (cron_int (reminder, "runCount"), ==, 1);
  g_assert_cmpstr (cron_str (reminder, "lastStatus"), ==, "ok");

  /* the run history, with its ids */
  runs = cron_runs (f, "job_mx541k0k3r7u4r");
  g_assert_cmpuint (json_array_get_length (runs), ==, 1);
  run = json_array_get_object_element (runs, 0);
  g_assert_cmpstr (cron_str (run, "id"), ==, "run_mx541k0oxu08ah");
  g_assert_cmpstr (cron_str (run, "sessionId"), ==, "sess_jLD5Pz13rQ3iqV9C");
  g_assert_cmpstr (cron_str (run, "result"), ==, "success");
  g_assert_cmpstr (cron_str (run, "summary"), ==, "Hello from the fake.");
  g_assert_cmpint (cron_int (run, "durationMs"), ==, 220);

  /* imported once: a job deleted here does not come back, nothing is doubled */
  deleted = agent_call (f->client, "cron_delete_job", "{\"jobId\":\"job_mx541jzug9ad6n\"}");
  cron_restart (f, SIGTERM, CRON_T0 + 60000);
  list2 = agent_call (f->client, "cron_list_jobs", NULL);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (list2)), ==, 2);
  runs2 = cron_runs (f, "job_mx541k0k3r7u4r");
  g_assert_cmpuint (json_array_get_length (runs2), ==, 1);
}

/* After [cron] auto-pause-after failed runs in a row the job is paused and says why. */
static void
test_auto_pause (void)
{
  g_autoptr (AgentFixture) f
      = started ("[cron]\nauto-pause-after=2\n", "{\"responses\":[{\"status\":400}]}");
  g_autoptr (JsonObject) job = hourly (f, "Failing", NULL);
  g_autoptr (JsonObject) after = NULL, paused_ev = NULL;
  g_autoptr (JsonArray) runs = NULL, still = NULL;
  g_autoptr (JsonNode) resumed = NULL;
  const gchar *id = cron_str (job, "id");
  const gchar *reason;

  cron_set_clock (f, CRON_T0 + HOUR);
  g_clear_pointer (&runs, json_array_unref);
  runs = cron_wait_runs (f, id, 1);
  g_clear_pointer (&after, json_object_unref);
  after = cron_get (f, id);
  g_assert_cmpstr (cron_str (after, "status"), ==, "active");
  g_assert_cmpint (cron_int (after, "consecutiveFailures"), ==, 1);
  cron_set_clock (f, CRON_T0 + 2 * HOUR);
  g_clear_pointer (&runs, json_array_unref);
  runs = cron_wait_runs (f, id, 2);
  g_assert_cmpuint (cron_count_result (runs, "error"), ==, 2);
  /* the pause is announced with the reason */
  for (;;)
    {
      g_autoptr (JsonObject) ev = agent_wait_event (f->client, "cron:job_updated", NULL, NULL);
      JsonObject *ev_job = json_object_get_object_member (agent_event_data (ev), "job");
      if (g_strcmp0 (cron_str (ev_job, "status"), "paused") == 0)
        {
          paused_ev = json_object_ref (ev_job);
          break;
        }
    }
  reason = cron_str (paused_ev, "pausedReason");
  g_assert_nonnull (reason);
  g_assert_true (g_str_has_prefix (reason, "Paused after 2 failed runs in a row; the last one: "));
  g_clear_pointer (&after, json_object_unref);
  after = cron_get (f, id);
  g_assert_cmpstr (cron_str (after, "status"), ==, "paused");
  g_assert_cmpstr (cron_str (after, "pausedReason"), ==, reason);
  g_assert_cmpint (cron_int (after, "consecutiveFailures"), ==, 2);
  /* a paused job does not fire; the reason survives a restart */
  cron_restart (f, SIGTERM, CRON_T0 + 3 * HOUR + 60000);
  g_clear_pointer (&after, json_object_unref);
  after = cron_get (f, id);
  g_assert_cmpstr (cron_str (after, "pausedReason"), ==, reason);
  {
    /* a reopened app sees why */
    g_autoptr (JsonNode) state = agent_call (f->client, "agent_get_bootstrap_state", NULL);
    JsonObject *cron = json_object_get_object_member (cw_test_obj (state), "cron");
    JsonObject *entry
        = json_array_get_object_element (json_object_get_array_member (cron, "jobs"), 0);
    g_assert_cmpstr (cron_str (entry, "status"), ==, "paused");
    g_assert_cmpstr (cron_str (entry, "pausedReason"), ==, reason);
    g_assert_cmpstr (cron_str (entry, "lastResult"), ==, "error");
  }
  still = cron_runs (f, id);
  g_assert_cmpuint (json_array_get_length (still), ==, 2);
  g_assert_cmpuint (cron_llm_requests (f), ==, 2);
  /* resume clears the reason and the streak */
  resumed = agent_call (f->client, "cron_resume_job", "{\"jobId\":\"%s\"}", id);
  g_assert_false (json_object_has_member (cw_test_obj (resumed), "pausedReason"));
  g_assert_cmpint (cron_int (cw_test_obj (resumed), "consecutiveFailures"), ==, 0);
  g_assert_cmpint (cron_int (cw_test_obj (resumed), "nextRunAt"), ==, CRON_T0 + 4 * HOUR);
}

/* maxRuns scheduled runs complete the job. */
static void
test_max_runs (void)
{
  g_autoptr (AgentFixture) f = started (NULL, HELLO);
  g_autoptr (JsonObject) job = hourly (f, "Twice", ",\"maxRuns\":2");
  g_autoptr (JsonObject) after = NULL;
  g_autoptr (JsonArray) runs = NULL;
  const gchar *id = cron_str (job, "id");

  cron_set_clock (f, CRON_T0 + HOUR);
  g_clear_pointer (&runs, json_array_unref);
  runs = cron_wait_runs (f, id, 1);
  cron_set_clock (f, CRON_T0 + 2 * HOUR);
  g_clear_pointer (&runs, json_array_unref);
  runs = cron_wait_runs (f, id, 2);
  after = cron_get (f, id);
  g_assert_cmpstr (cron_str (after, "status"), ==, "completed");
  g_assert_cmpint (cron_int (after, "runCount"), ==, 2);
  g_assert_false (json_object_has_member (after, "nextRunAt"));
  cron_set_clock (f, CRON_T0 + 3 * HOUR);
  cron_set_clock (f, CRON_T0 + 4 * HOUR);
  g_clear_pointer (&runs, json_array_unref);
  runs = cron_runs (f, id);
  g_assert_cmpuint (json_array_get_length (runs), ==, 2);
  g_assert_cmpuint (cron_llm_requests (f), ==, 2);
}

/* The app sends every optional field it has no value for as null: null is absent. */
static void
test_app_nulls (void)
{
  g_autoptr (AgentFixture) f = started (NULL, HELLO);
  g_autoptr (JsonNode) created = NULL, wrapped = NULL, updated = NULL, flat = NULL;
  g_autoptr (JsonNode) runs = NULL, runs_flat = NULL;
  g_autoptr (JsonArray) fired = NULL;
  JsonObject *job, *u;
  const gchar *id;

  created = agent_call (f->client, "cron_create_job",
                        "{\"name\":\"Nulls\",\"prompt\":\"hello\",\"workingDirectory\":\"%s\","
                        "\"schedule\":{\"type\":\"every\",\"intervalMs\":3600000,\"startAt\":null},"
                        "\"description\":null,\"model\":null,\"deleteAfterRun\":null,"
                        "\"maxRuns\":null,\"maxTurns\":null,\"tags\":null,\"missedPolicy\":null,"
                        "\"permissionPolicy\":null,\"timeoutMs\":null}",
                        f->workdir);
  job = cw_test_obj (created);
  id = cron_str (job, "id");
  g_assert_cmpstr (cron_str (job, "status"), ==, "active");
  g_assert_cmpstr (cron_str (job, "missedPolicy"), ==, "once");
  g_assert_cmpstr (cron_str (job, "permissionPolicy"), ==, "deny");
  g_assert_false (json_object_has_member (job, "description"));
  g_assert_false (json_object_has_member (job, "maxRuns"));
  g_assert_cmpint (cron_int (job, "nextRunAt"), ==, CRON_T0 + HOUR);
  /* Tauri's wrapped form with a cron schedule and a null zone */
  wrapped = agent_call (f->client, "cron_create_job",
                        "{\"input\":{\"name\":\"Wrapped\",\"prompt\":\"hello\","
                        "\"workingDirectory\":\"%s\",\"schedule\":{\"type\":\"cron\","
                        "\"expression\":\"0 9 * * *\",\"timezone\":null},\"description\":"
                        "\"kept\",\"model\":null,\"tags\":null,\"maxRuns\":null}}",
                        f->workdir);
  g_assert_cmpstr (cron_str (cw_test_obj (wrapped), "description"), ==, "kept");

  /* an update with every other field null changes only the name */
  updated = agent_call (f->client, "cron_update_job",
                        "{\"jobId\":\"%s\",\"updates\":{\"name\":\"Renamed\",\"description\":null,"
                        "\"prompt\":null,\"schedule\":null,\"workingDirectory\":null,"
                        "\"model\":null,\"status\":null,\"deleteAfterRun\":null,\"maxRuns\":null,"
                        "\"maxTurns\":null,\"tags\":null}}",
                        cron_str (cw_test_obj (wrapped), "id"));
  u = cw_test_obj (updated);
  g_assert_cmpstr (cron_str (u, "name"), ==, "Renamed");
  g_assert_cmpstr (cron_str (u, "description"), ==, "kept");
  g_assert_cmpstr (cron_str (u, "prompt"), ==, "hello");
  g_assert_cmpstr (cron_str (u, "status"), ==, "active");
  g_assert_cmpstr (cron_str (json_object_get_object_member (u, "schedule"), "expression"), ==,
                   "0 9 * * *");
  flat = agent_call (f->client, "cron_update_job",
                     "{\"jobId\":\"%s\",\"updates\":null,\"input\":null,\"maxTurns\":3}", id);
  g_assert_cmpint (cron_int (cw_test_obj (flat), "maxTurns"), ==, 3);

  runs = agent_call (f->client, "cron_get_runs",
                     "{\"jobId\":\"%s\",\"options\":{\"limit\":null,\"offset\":null,"
                     "\"result\":null}}",
                     id);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (runs)), ==, 0);
  runs_flat = agent_call (f->client, "cron_get_runs",
                          "{\"jobId\":\"%s\",\"options\":null,\"limit\":null,\"result\":null}", id);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (runs_flat)), ==, 0);

  /* and the job runs with the default model */
  cron_set_clock (f, CRON_T0 + HOUR);
  fired = cron_wait_runs (f, id, 1);
  g_assert_cmpstr (cron_str (json_array_get_object_element (fired, 0), "result"), ==, "success");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cron/recovery/kill-during-run", test_kill_during_run);
  g_test_add_func ("/cron/recovery/second-daemon", test_second_daemon);
  g_test_add_func ("/cron/recovery/rearm-and-trigger-during-run",
                   test_rearm_and_trigger_during_run);
  g_test_add_func ("/cron/recovery/down-across-instants", test_down_across_instants);
  g_test_add_func ("/cron/recovery/all-is-capped", test_all_is_capped);
  g_test_add_func ("/cron/recovery/past-one-shot", test_past_one_shot);
  g_test_add_func ("/cron/recovery/import-original", test_import_original);
  g_test_add_func ("/cron/recovery/auto-pause", test_auto_pause);
  g_test_add_func ("/cron/recovery/max-runs", test_max_runs);
  g_test_add_func ("/cron/recovery/app-nulls", test_app_nulls);
  return g_test_run ();
}
