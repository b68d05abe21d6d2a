/* test-cron-jobs.c: the cron_* commands on the real daemon: models, errors, next runs in
 * their zones, pause/resume, delete, what is there after a restart, events.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-cron-test.h"

#include <signal.h>
#include <string.h>

static gint64
utc_ms (gint y, gint mo, gint d, gint h, gint mi)
{
  g_autoptr (GDateTime) dt = g_date_time_new_utc (y, mo, d, h, mi, 0);

  return g_date_time_to_unix (dt) * 1000;
}

static JsonObject *
first_event (CwClient *client, const gchar *type)
{
  return agent_wait_event (client, type, NULL, NULL);
}

static void
test_create_errors (void)
{
  g_autoptr (AgentFixture) f = cron_fixture_new (CRON_T0);
  struct
  {
    const gchar *input;
    const gchar *error;
  } cases[] = {
    { "{}", "name, prompt, and schedule are required" },
    { "{\"name\":\"a\",\"prompt\":\"p\"}", "name, prompt, and schedule are required" },
    { "{\"name\":\"a\",\"prompt\":\"p\",\"schedule\":{\"type\":\"at\",\"timestamp\":1}}",
      "workingDirectory is required" },
    { "{\"name\":\"a\",\"prompt\":\"p\",\"workingDirectory\":\"%s\","
      "\"schedule\":{\"type\":\"cron\",\"expression\":\"61 * * * *\"}}",
      "Invalid schedule: cron expression '61 * * * *': minute field: 61 is out of range 0-59" },
    { "{\"name\":\"a\",\"prompt\":\"p\",\"workingDirectory\":\"%s\","
      "\"schedule\":{\"type\":\"cron\",\"expression\":\"0 9 * * *\",\"timezone\":\"Mars/Base\"}}",
      NULL },
    { "{\"name\":\"a\",\"prompt\":\"p\",\"workingDirectory\":\"%s\","
      "\"schedule\":{\"type\":\"every\",\"intervalMs\":999}}",
      "Invalid schedule: schedule.intervalMs must be a whole number from 1000 to 315360000000" },
    { "{\"name\":\"a\",\"prompt\":\"p\",\"workingDirectory\":\"%s\","
      "\"schedule\":{\"type\":\"weekly\"}}",
      "Invalid schedule: schedule.type must be at, every or cron" },
    { "{\"name\":\"\",\"prompt\":\"p\",\"workingDirectory\":\"%s\","
      "\"schedule\":{\"type\":\"every\",\"intervalMs\":60000}}",
      "name must not be empty" },
    { "{\"name\":\"a\",\"prompt\":\"p\",\"workingDirectory\":\"/nonexistent/dir\","
      "\"schedule\":{\"type\":\"every\",\"intervalMs\":60000}}",
      "workingDirectory must be an existing absolute directory: /nonexistent/dir" },
    { "{\"name\":\"a\",\"prompt\":\"p\",\"workingDirectory\":\"%s\",\"missedPolicy\":\"some\","
      "\"schedule\":{\"type\":\"every\",\"intervalMs\":60000}}",
      "missedPolicy must be one of skip, once, all" },
    { "{\"name\":\"a\",\"prompt\":\"p\",\"workingDirectory\":\"%s\",\"permissionPolicy\":\"ask\","
      "\"schedule\":{\"type\":\"every\",\"intervalMs\":60000}}",
      "permissionPolicy must be one of deny, wait" },
    { "{\"name\":\"a\",\"prompt\":\"p\",\"workingDirectory\":\"%s\",\"maxTurns\":0,"
      "\"schedule\":{\"type\":\"every\",\"intervalMs\":60000}}",
      "maxTurns must be a whole number from 1 to 1000" },
  };
  g_autoptr (JsonNode) list = NULL;

  agent_fixture_start (f);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree gchar *input = g_strdup_printf (cases[i].input, f->workdir);
      g_autofree gchar *msg = agent_call_error (f->client, "cron_create_job", "%s", input);
      if (cases[i].error != NULL)
        g_assert_cmpstr (msg, ==, cases[i].error);
      else
        g_assert_true (g_str_has_prefix (msg, "Invalid schedule:") && strstr (msg, "Mars/Base"));
    }
  /* nothing was kept */
  list = agent_call (f->client, "cron_list_jobs", NULL);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (list)), ==, 0);
}

static void
test_create_list_update (void)
{
  g_autoptr (AgentFixture) f = cron_fixture_new (CRON_T0);
  g_autoptr (JsonObject) digest = NULL, sweep = NULL, got = NULL;
  g_autoptr (JsonNode) list = NULL, updated = NULL, flat = NULL, status = NULL, missing = NULL;
  g_autoptr (JsonObject) created_event = NULL;
  g_autofree gchar *err = NULL;
  JsonObject *u;
  JsonArray *arr;

  agent_fixture_start (f);
  digest = cron_create (f,
                        "{\"name\":\"Morning digest\",\"prompt\":\"hello, summarize yesterday\","
                        "\"schedule\":{\"type\":\"cron\",\"expression\":\"30 8 * * MON-FRI\","
                        "\"timezone\":\"Europe/Berlin\"},\"description\":\"Weekday digest\","
                        "\"tags\":[\"digest\",\"daily\"],\"maxTurns\":4,"
                        "\"workingDirectory\":\"%s\",\"model\":\"local-model\"}",
                        f->workdir);
  g_assert_true (g_str_has_prefix (cron_str (digest, "id"), "job_"));
  g_assert_cmpstr (cron_str (digest, "status"), ==, "active");
  g_assert_cmpstr (cron_str (digest, "sessionTarget"), ==, "isolated");
  g_assert_cmpstr (cron_str (digest, "wakeMode"), ==, "now");
  g_assert_cmpstr (cron_str (digest, "missedPolicy"), ==, "once");
  g_assert_cmpint (cron_int (digest, "runCount"), ==, 0);
  g_assert_cmpint (cron_int (digest, "maxTurns"), ==, 4);
  /* Monday 09:00 in Berlin: the next weekday 08:30 CET is Tuesday 07:30 UTC */
  g_assert_cmpint (cron_int (digest, "nextRunAt"), ==, utc_ms (2030, 1, 8, 7, 30));
  created_event = first_event (f->client, "cron:job_created");
  g_assert_cmpstr (cron_str (agent_event_data (created_event), "jobId"), ==,
                   cron_str (digest, "id"));

  /* Tauri wraps the input as `input` */
  sweep = cron_create (f,
                       "{\"input\":{\"name\":\"Hourly sweep\",\"prompt\":\"check\","
                       "\"schedule\":{\"type\":\"every\",\"intervalMs\":3600000,"
                       "\"startAt\":%" G_GINT64_FORMAT "},\"workingDirectory\":\"%s\"}}",
                       CRON_T0 + 600000, f->workdir);
  /* the grid of startAt: the first point after now */
  g_assert_cmpint (cron_int (sweep, "nextRunAt"), ==, CRON_T0 + 600000);

  list = agent_call (f->client, "cron_list_jobs", NULL);
  arr = json_node_get_array (list);
  g_assert_cmpuint (json_array_get_length (arr), ==, 2);
  g_assert_cmpstr (cron_str (json_array_get_object_element (arr, 0), "id"), ==,
                   cron_str (digest, "id"));
  g_assert_cmpstr (cron_str (json_array_get_object_element (arr, 1), "id"), ==,
                   cron_str (sweep, "id"));

  /* updates: shallow merge; a new schedule gives a new next run */
  updated = agent_call (f->client, "cron_update_job",
                        "{\"jobId\":\"%s\",\"updates\":{\"name\":\"Digest\","
                        "\"schedule\":{\"type\":\"cron\",\"expression\":\"0 12 * * *\","
                        "\"timezone\":\"UTC\"}}}",
                        cron_str (digest, "id"));
  u = cw_test_obj (updated);
  g_assert_cmpstr (cron_str (u, "name"), ==, "Digest");
  g_assert_cmpstr (cron_str (u, "prompt"), ==, "hello, summarize yesterday");
  g_assert_cmpint (cron_int (u, "nextRunAt"), ==, utc_ms (2030, 1, 7, 12, 0));
  /* the flat form: jobId is not copied into the job */
  flat = agent_call (f->client, "cron_update_job", "{\"jobId\":\"%s\",\"maxTurns\":2}",
                     cron_str (sweep, "id"));
  g_assert_cmpint (cron_int (cw_test_obj (flat), "maxTurns"), ==, 2);
  g_assert_false (json_object_has_member (cw_test_obj (flat), "jobId"));
  /* a bad update changes nothing */
  err = agent_call_error (f->client, "cron_update_job",
                          "{\"jobId\":\"%s\",\"updates\":{\"name\":\"x\",\"schedule\":"
                          "{\"type\":\"cron\",\"expression\":\"* * *\"}}}",
                          cron_str (sweep, "id"));
  g_assert_true (g_str_has_prefix (err, "Invalid schedule:"));
  got = cron_get (f, cron_str (sweep, "id"));
  g_assert_cmpstr (cron_str (got, "name"), ==, "Hourly sweep");
  g_clear_pointer (&err, g_free);
  err = agent_call_error (f->client, "cron_update_job", "{\"jobId\":\"job_nope\",\"name\":\"x\"}");
  g_assert_cmpstr (err, ==, "Job not found: job_nope");
  g_clear_pointer (&err, g_free);
  err = agent_call_error (f->client, "cron_get_job", "{}");
  g_assert_cmpstr (err, ==, "jobId is required");
  missing = agent_call (f->client, "cron_get_job", "{\"jobId\":\"job_nope\"}");
  g_assert_true (JSON_NODE_HOLDS_NULL (missing));

  status = agent_call (f->client, "cron_get_status", NULL);
  g_assert_true (json_object_get_boolean_member (cw_test_obj (status), "isRunning"));
  g_assert_cmpint (cron_int (cw_test_obj (status), "jobCount"), ==, 2);
  g_assert_cmpint (cron_int (cw_test_obj (status), "activeJobCount"), ==, 2);
  g_assert_cmpint (cron_int (cw_test_obj (status), "nextRunAt"), ==, CRON_T0 + 600000);
  g_assert_cmpstr (cron_str (cw_test_obj (status), "nextJobId"), ==, cron_str (sweep, "id"));
}

static void
test_pause_resume_delete_restart (void)
{
  g_autoptr (AgentFixture) f = cron_fixture_new (CRON_T0);
  g_autoptr (JsonObject) job = NULL, other = NULL, after = NULL;
  g_autoptr (JsonNode) paused = NULL, resumed = NULL, deleted = NULL, list = NULL;
  g_autoptr (JsonNode) status = NULL;
  g_autofree gchar *err = NULL;
  const gchar *id;

  agent_fixture_start (f);
  job = cron_create (
      f,
      "{\"name\":\"Every minute\",\"prompt\":\"tick\",\"workingDirectory\":\"%s\","
      "\"schedule\":{\"type\":\"every\",\"intervalMs\":60000,\"startAt\":%" G_GINT64_FORMAT "}}",
      f->workdir, CRON_T0);
  other = cron_create (f,
                       "{\"name\":\"Later\",\"prompt\":\"later\",\"workingDirectory\":\"%s\","
                       "\"schedule\":{\"type\":\"at\",\"timestamp\":%" G_GINT64_FORMAT "}}",
                       f->workdir, CRON_T0 + 3600000);
  id = cron_str (job, "id");
  g_assert_cmpint (cron_int (job, "nextRunAt"), ==, CRON_T0 + 60000);

  paused = agent_call (f->client, "cron_pause_job", "{\"jobId\":\"%s\"}", id);
  g_assert_cmpstr (cron_str (cw_test_obj (paused), "status"), ==, "paused");
  json_object_unref (first_event (f->client, "cron:job_paused"));
  status = agent_call (f->client, "cron_get_status", NULL);
  g_assert_cmpint (cron_int (cw_test_obj (status), "activeJobCount"), ==, 1);
  g_assert_cmpstr (cron_str (cw_test_obj (status), "nextJobId"), ==, cron_str (other, "id"));

  /* paused across a restart: still paused, and resume recomputes from now */
  agent_fixture_stop (f, SIGTERM);
  agent_fixture_start (f);
  after = cron_get (f, id);
  g_assert_cmpstr (cron_str (after, "status"), ==, "paused");
  g_assert_cmpstr (cron_str (after, "name"), ==, "Every minute");
  cron_set_clock (f, CRON_T0 + 10 * 60000 + 5000);
  resumed = agent_call (f->client, "cron_resume_job", "{\"jobId\":\"%s\"}", id);
  g_assert_cmpstr (cron_str (cw_test_obj (resumed), "status"), ==, "active");
  g_assert_cmpint (cron_int (cw_test_obj (resumed), "nextRunAt"), ==, CRON_T0 + 11 * 60000);

  deleted = agent_call (f->client, "cron_delete_job", "{\"jobId\":\"%s\"}", id);
  g_assert_true (json_object_get_boolean_member (cw_test_obj (deleted), "success"));
  json_object_unref (first_event (f->client, "cron:job_deleted"));
  err = agent_call_error (f->client, "cron_delete_job", "{\"jobId\":\"%s\"}", id);
  g_assert_true (g_str_has_prefix (err, "Job not found: "));

  agent_fixture_stop (f, SIGTERM);
  agent_fixture_start (f);
  list = agent_call (f->client, "cron_list_jobs", NULL);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (list)), ==, 1);
  g_assert_cmpstr (cron_str (json_array_get_object_element (json_node_get_array (list), 0), "id"),
                   ==, cron_str (other, "id"));
}

/* A daily 02:30 in Berlin across the spring change: 02:30 does not exist on 2030-03-31, the
 * job fires when the gap ends (03:00 CEST) and then at 02:30 CEST again. */
static void
test_next_run_across_dst (void)
{
  g_autoptr (AgentFixture) f = cron_fixture_new (utc_ms (2030, 3, 30, 12, 0));
  g_autoptr (JsonObject) job = NULL;
  gint64 gap_end = utc_ms (2030, 3, 31, 1, 0);
  gint64 deadline = g_get_monotonic_time () + 20 * G_TIME_SPAN_SECOND;

  agent_fixture_start (f);
  job = cron_create (f,
                     "{\"name\":\"Night\",\"prompt\":\"p\",\"workingDirectory\":\"%s\","
                     "\"schedule\":{\"type\":\"cron\",\"expression\":\"30 2 * * *\","
                     "\"timezone\":\"Europe/Berlin\"}}",
                     f->workdir);
  g_assert_cmpint (cron_int (job, "nextRunAt"), ==, gap_end);
  cron_set_clock (f, gap_end + 1000);
  for (;;)
    {
      g_autoptr (JsonObject) now = cron_get (f, cron_str (job, "id"));
      if (cron_int (now, "nextRunAt") != gap_end)
        {
          g_assert_cmpint (cron_int (now, "nextRunAt"), ==, utc_ms (2030, 4, 1, 0, 30));
          break;
        }
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (10000);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cron/jobs/create-errors", test_create_errors);
  g_test_add_func ("/cron/jobs/create-list-update", test_create_list_update);
  g_test_add_func ("/cron/jobs/pause-resume-delete-restart", test_pause_resume_delete_restart);
  g_test_add_func ("/cron/jobs/next-run-across-dst", test_next_run_across_dst);
  return g_test_run ();
}
