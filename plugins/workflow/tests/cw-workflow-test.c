/* cw-workflow-test.c: see cw-workflow-test.h.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-workflow-test.h"

#include <string.h>

AgentFixture *
wf_fixture_new (gint64 now_ms)
{
  AgentFixture *f = agent_fixture_new ();
  g_autofree gchar *home = g_build_filename (f->daemon->dir, "home", NULL);
  g_autofree gchar *clock = g_strdup_printf ("%" G_GINT64_FORMAT, now_ms);

  g_assert_cmpint (g_mkdir_with_parents (home, 0700), ==, 0);
  cw_test_daemon_setenv (f->daemon, "HOME", home);
  cw_test_daemon_setenv (f->daemon, "COWORK_TEST_CLOCK", clock);
  cw_test_daemon_setenv (f->daemon, "DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus");
  return f;
}

AgentFixture *
wf_started (void)
{
  AgentFixture *f = wf_fixture_new (WF_T0);

  agent_fixture_start (f);
  return f;
}

void
wf_set_clock (AgentFixture *f, gint64 now_ms)
{
  g_autofree gchar *params = g_strdup_printf ("{\"nowMs\":%" G_GINT64_FORMAT "}", now_ms);
  g_autoptr (JsonNode) r = wf_call (f, "test_clock_set", "%s", params);
}

static gchar *
vformat (const gchar *fmt, va_list ap)
{
  return g_strdup_vprintf (fmt, ap);
}

JsonNode *
wf_call (AgentFixture *f, const gchar *command, const gchar *params_fmt, ...)
{
  g_autoptr (CwClient) client = cw_test_daemon_connect (f->daemon);
  g_autofree gchar *params = NULL;
  va_list ap;

  va_start (ap, params_fmt);
  params = vformat (params_fmt, ap);
  va_end (ap);
  return cw_test_daemon_call (client, command, params);
}

gchar *
wf_call_error (AgentFixture *f, const gchar *command, const gchar *params_fmt, ...)
{
  g_autoptr (CwClient) client = cw_test_daemon_connect (f->daemon);
  g_autofree gchar *params = NULL;
  va_list ap;

  va_start (ap, params_fmt);
  params = vformat (params_fmt, ap);
  va_end (ap);
  return agent_call_error (client, command, "%s", params);
}

gchar *
wf_publish (AgentFixture *f, const gchar *input_json)
{
  g_autoptr (JsonNode) draft = wf_call (f, "workflow_create_draft", "%s", input_json);
  const gchar *id = wf_str (cw_test_obj (draft), "id");
  g_autoptr (JsonNode) published = wf_call (f, "workflow_publish", "{\"workflowId\":\"%s\"}", id);

  g_assert_cmpstr (wf_str (cw_test_obj (published), "status"), ==, "published");
  return g_strdup (id);
}

gchar *
wf_run (AgentFixture *f, const gchar *workflow_id, const gchar *input_json)
{
  g_autoptr (JsonNode) run = wf_call (f, "workflow_run", "{\"workflowId\":\"%s\",\"input\":%s}",
                                      workflow_id, input_json != NULL ? input_json : "null");

  g_assert_cmpstr (wf_str (cw_test_obj (run), "status"), ==, "queued");
  return g_strdup (wf_str (cw_test_obj (run), "id"));
}

JsonObject *
wf_get_run (AgentFixture *f, const gchar *run_id)
{
  g_autoptr (JsonNode) r = wf_call (f, "workflow_get_run", "{\"runId\":\"%s\"}", run_id);

  return json_object_ref (cw_test_obj (r));
}

static gboolean
is_final (const gchar *status)
{
  return g_strcmp0 (status, "completed") == 0 || g_strcmp0 (status, "failed") == 0
         || g_strcmp0 (status, "cancelled") == 0 || g_strcmp0 (status, "failed_recoverable") == 0;
}

static JsonObject *
wait_for (AgentFixture *f, const gchar *run_id, const gchar *status)
{
  gint64 deadline = g_get_monotonic_time () + 20 * G_TIME_SPAN_SECOND;

  for (;;)
    {
      JsonObject *details = wf_get_run (f, run_id);
      const gchar *now = wf_str (json_object_get_object_member (details, "run"), "status");
      if (status != NULL ? g_strcmp0 (now, status) == 0 : is_final (now))
        return details;
      if (status != NULL && is_final (now))
        g_error ("run %s ended %s (%s), waiting for %s", run_id, now,
                 wf_str (json_object_get_object_member (details, "run"), "error"), status);
      json_object_unref (details);
      if (g_get_monotonic_time () > deadline)
        g_error ("run %s: not %s after 20 s (it is %s)", run_id, status ? status : "finished", now);
      g_usleep (10000);
    }
}

JsonObject *
wf_wait_status (AgentFixture *f, const gchar *run_id, const gchar *status)
{
  return wait_for (f, run_id, status);
}

JsonObject *
wf_wait_end (AgentFixture *f, const gchar *run_id)
{
  return wait_for (f, run_id, NULL);
}

guint
wf_count_node_runs (JsonObject *details, const gchar *node_id, const gchar *status)
{
  JsonArray *nrs = json_object_get_array_member (details, "nodeRuns");
  guint n = 0;

  for (guint i = 0; i < json_array_get_length (nrs); i++)
    {
      JsonObject *nr = json_array_get_object_element (nrs, i);
      if (g_strcmp0 (wf_str (nr, "nodeId"), node_id) == 0
          && (status == NULL || g_strcmp0 (wf_str (nr, "status"), status) == 0))
        n++;
    }
  return n;
}

JsonObject *
wf_node_output (JsonObject *details, const gchar *node_id)
{
  JsonObject *run = json_object_get_object_member (details, "run");
  JsonObject *output = json_object_get_object_member (run, "output");
  JsonObject *nodes = json_object_get_object_member (output, "nodes");

  g_assert_true (json_object_has_member (nodes, node_id));
  return json_object_get_object_member (nodes, node_id);
}

const gchar *
wf_str (JsonObject *obj, const gchar *name)
{
  return obj != NULL ? json_object_get_string_member_with_default (obj, name, NULL) : NULL;
}
