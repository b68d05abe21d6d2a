/* cw-cron-test.c: see cw-cron-test.h.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-cron-test.h"

AgentFixture *
cron_fixture_new (gint64 now_ms)
{
  AgentFixture *f = agent_fixture_new ();
  g_autofree gchar *home = cron_fixture_home (f);
  g_autofree gchar *clock = g_strdup_printf ("%" G_GINT64_FORMAT, now_ms);

  g_assert_cmpint (g_mkdir_with_parents (home, 0700), ==, 0);
  cw_test_daemon_setenv (f->daemon, "HOME", home);
  cw_test_daemon_setenv (f->daemon, "COWORK_TEST_CLOCK", clock);
  return f;
}

gchar *
cron_fixture_home (AgentFixture *f)
{
  return g_build_filename (f->daemon->dir, "home", NULL);
}

static CwClient *
connect_quiet (AgentFixture *f)
{
  return cw_test_daemon_connect (f->daemon);
}

void
cron_set_clock (AgentFixture *f, gint64 now_ms)
{
  g_autoptr (CwClient) client = connect_quiet (f);
  g_autofree gchar *params = g_strdup_printf ("{\"nowMs\":%" G_GINT64_FORMAT "}", now_ms);
  g_autoptr (JsonNode) r = cw_test_daemon_call (client, "test_clock_set", params);
}

JsonObject *
cron_create (AgentFixture *f, const gchar *input_fmt, ...)
{
  g_autoptr (CwClient) client = connect_quiet (f);
  g_autofree gchar *text = NULL;
  g_autoptr (JsonNode) job = NULL;
  va_list ap;

  va_start (ap, input_fmt);
  text = g_strdup_vprintf (input_fmt, ap);
  va_end (ap);
  job = cw_test_daemon_call (client, "cron_create_job", text);
  return json_object_ref (cw_test_obj (job));
}

JsonArray *
cron_runs (AgentFixture *f, const gchar *job_id)
{
  g_autoptr (CwClient) client = connect_quiet (f);
  g_autofree gchar *params
      = g_strdup_printf ("{\"jobId\":\"%s\",\"options\":{\"limit\":10000}}", job_id);
  g_autoptr (JsonNode) runs = cw_test_daemon_call (client, "cron_get_runs", params);

  g_assert_true (JSON_NODE_HOLDS_ARRAY (runs));
  return json_array_ref (json_node_get_array (runs));
}

JsonArray *
cron_wait_runs (AgentFixture *f, const gchar *job_id, guint n)
{
  return cron_wait_runs_for (f, job_id, n, 20);
}

JsonArray *
cron_wait_runs_for (AgentFixture *f, const gchar *job_id, guint n, guint seconds)
{
  gint64 deadline = g_get_monotonic_time () + seconds * G_TIME_SPAN_SECOND;

  for (;;)
    {
      JsonArray *runs = cron_runs (f, job_id);
      guint ended = 0;

      for (guint i = 0; i < json_array_get_length (runs); i++)
        if (json_object_has_member (json_array_get_object_element (runs, i), "result"))
          ended++;
      if (ended >= n)
        return runs;
      json_array_unref (runs);
      if (g_get_monotonic_time () > deadline)
        g_error ("job %s: fewer than %u runs ended in %u s (%u did)", job_id, n, seconds, ended);
      g_usleep (seconds > 20 ? 100000 : 10000);
    }
}

JsonObject *
cron_get (AgentFixture *f, const gchar *job_id)
{
  g_autoptr (CwClient) client = connect_quiet (f);
  g_autofree gchar *params = g_strdup_printf ("{\"jobId\":\"%s\"}", job_id);
  g_autoptr (JsonNode) job = cw_test_daemon_call (client, "cron_get_job", params);

  return json_object_ref (cw_test_obj (job));
}

guint
cron_llm_requests (AgentFixture *f)
{
  g_autoptr (GPtrArray) requests = agent_fixture_llm_requests (f);

  return requests->len;
}

gint64
cron_int (JsonObject *obj, const gchar *name)
{
  g_assert_true (json_object_has_member (obj, name));
  return json_object_get_int_member (obj, name);
}

const gchar *
cron_str (JsonObject *obj, const gchar *name)
{
  return json_object_get_string_member_with_default (obj, name, NULL);
}

void
cron_restart (AgentFixture *f, gint signum, gint64 now_ms)
{
  g_autofree gchar *clock = g_strdup_printf ("%" G_GINT64_FORMAT, now_ms);

  agent_fixture_stop (f, signum);
  cw_test_daemon_setenv (f->daemon, "COWORK_TEST_CLOCK", clock);
  agent_fixture_start (f);
}

JsonNode *
cron_wait_reply (CwClient *client, const gchar *id)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) response = cw_client_wait_response (client, id, &error);
  JsonNode *result;

  g_assert_no_error (error);
  if (!json_object_get_boolean_member_with_default (response, "success", FALSE))
    g_error ("request %s failed: %s", id,
             json_object_get_string_member_with_default (response, "error", "?"));
  result = json_object_get_member (response, "result");
  g_assert_nonnull (result);
  return json_node_copy (result);
}

JsonObject *
cron_run_for (JsonArray *runs, gint64 scheduled_ms)
{
  for (guint i = 0; i < json_array_get_length (runs); i++)
    {
      JsonObject *run = json_array_get_object_element (runs, i);
      if (json_object_has_member (run, "scheduledAt")
          && json_object_get_int_member (run, "scheduledAt") == scheduled_ms)
        return run;
    }
  return NULL;
}

JsonObject *
cron_wait_run_member (AgentFixture *f, const gchar *job_id, const gchar *run_id,
                      const gchar *member)
{
  gint64 deadline = g_get_monotonic_time () + 20 * G_TIME_SPAN_SECOND;

  for (;;)
    {
      g_autoptr (JsonArray) runs = cron_runs (f, job_id);

      for (guint i = 0; i < json_array_get_length (runs); i++)
        {
          JsonObject *run = json_array_get_object_element (runs, i);
          if (g_strcmp0 (cron_str (run, "id"), run_id) == 0 && json_object_has_member (run, member))
            return json_object_ref (run);
        }
      if (g_get_monotonic_time () > deadline)
        g_error ("run %s of job %s has no %s after 20 s", run_id, job_id, member);
      g_usleep (10000);
    }
}

guint
cron_count_result (JsonArray *runs, const gchar *result)
{
  guint n = 0;

  for (guint i = 0; i < json_array_get_length (runs); i++)
    if (g_strcmp0 (cron_str (json_array_get_object_element (runs, i), "result"), result) == 0)
      n++;
  return n;
}

JsonObject *
cron_create_waiting (AgentFixture *f, const gchar *name)
{
  return cron_create (f,
                      "{\"name\":\"%s\",\"prompt\":\"please write\",\"workingDirectory\":"
                      "\"%s\",\"permissionPolicy\":\"wait\",\"schedule\":{\"type\":\"every\","
                      "\"intervalMs\":3600000,\"startAt\":%" G_GINT64_FORMAT "}}",
                      name, f->workdir, CRON_T0);
}

JsonObject *
cron_wait_pending (AgentFixture *f, const gchar *job_id)
{
  gint64 deadline = g_get_monotonic_time () + 20 * G_TIME_SPAN_SECOND;

  for (;;)
    {
      g_autoptr (JsonArray) runs = cron_runs (f, job_id);
      JsonObject *run
          = json_array_get_length (runs) == 1 ? json_array_get_object_element (runs, 0) : NULL;
      if (run != NULL && json_object_has_member (run, "interactions"))
        return json_object_ref (run);
      if (g_get_monotonic_time () > deadline)
        g_error ("job %s: no run waiting for an answer after 20 s", job_id);
      g_usleep (10000);
    }
}
