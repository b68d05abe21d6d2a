/* test-workflow-ctl.c: `coworkctl workflow` against the real daemon: list, show (with the
 * webhook URL), run --follow until the run waits for its approval, runs, approve, logs,
 * cancel of a finished run, --json.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-workflow-test.h"

#include <string.h>

static void
test_ctl (void)
{
  g_autoptr (AgentFixture) f = wf_started ();
  g_autofree gchar *wf = wf_publish (
      f, "{\"name\":\"Release gate\",\"triggers\":[{\"id\":\"hook\",\"type\":\"webhook\","
         "\"endpointKey\":\"release\",\"authMode\":\"none\"}],\"nodes\":["
         "{\"id\":\"start\",\"type\":\"start\"},{\"id\":\"gate\",\"type\":\"approval\"},"
         "{\"id\":\"end\",\"type\":\"end\"}],\"edges\":[{\"from\":\"start\",\"to\":\"gate\"},"
         "{\"from\":\"gate\",\"to\":\"end\"}]}");
  g_autofree gchar *list
      = agent_run_ctl (f, "", (const gchar *const[]){ "workflow", "list", NULL });
  g_autofree gchar *show
      = agent_run_ctl (f, "", (const gchar *const[]){ "workflow", "show", wf, NULL });
  g_autofree gchar *follow = agent_run_ctl (
      f, "",
      (const gchar *const[]){ "workflow", "run", wf, "--input", "{\"a\":1}", "--follow", NULL });
  g_autofree gchar *runs = NULL, *approved = NULL, *logs = NULL, *json = NULL, *cancel = NULL;
  g_autoptr (JsonNode) parsed = NULL;
  g_autoptr (JsonObject) done = NULL;
  const gchar *run_id;
  gint status = 0;

  g_assert_nonnull (strstr (list, wf));
  g_assert_nonnull (strstr (list, "Release gate"));
  g_assert_nonnull (strstr (list, "published"));
  g_assert_nonnull (strstr (show, "gate"));
  g_assert_nonnull (strstr (show, "approval"));
  g_assert_nonnull (strstr (show, "/v1/workflow/webhooks/release"));
  /* --follow printed the run's events up to its pause */
  g_assert_nonnull (strstr (follow, "run_started"));
  g_assert_nonnull (g_regex_match_simple ("node_succeeded +start", follow, 0, 0) ? follow : NULL);
  g_assert_nonnull (strstr (follow, "run_paused"));
  json = agent_run_ctl (f, "", (const gchar *const[]){ "--json", "workflow", "runs", wf, NULL });
  parsed = cw_json_from_string (json, -1, NULL);
  g_assert_nonnull (parsed);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (parsed)), ==, 1);
  run_id = wf_str (json_array_get_object_element (json_node_get_array (parsed), 0), "id");
  runs = agent_run_ctl (f, "", (const gchar *const[]){ "workflow", "runs", NULL });
  g_assert_nonnull (strstr (runs, run_id));
  g_assert_nonnull (strstr (runs, "paused"));
  approved = agent_run_ctl (f, "", (const gchar *const[]){ "workflow", "approve", run_id, NULL });
  g_assert_nonnull (strstr (approved, "approved"));
  done = wf_wait_end (f, run_id);
  g_assert_cmpstr (wf_str (json_object_get_object_member (done, "run"), "status"), ==, "completed");
  logs = agent_run_ctl (f, "", (const gchar *const[]){ "workflow", "logs", run_id, NULL });
  g_assert_nonnull (strstr (logs, "run_resumed"));
  g_assert_nonnull (strstr (logs, "run_completed"));
  cancel = agent_run_ctl_status (
      f, "", (const gchar *const[]){ "workflow", "cancel", run_id, NULL }, &status);
  g_assert_cmpint (status, !=, 0);
  g_free (cancel);
  cancel = agent_run_ctl_status (
      f, "", (const gchar *const[]){ "workflow", "approve", run_id, NULL }, &status);
  g_assert_cmpint (status, !=, 0);
  g_free (cancel);
  cancel = agent_run_ctl_status (f, "", (const gchar *const[]){ "workflow", "frobnicate", NULL },
                                 &status);
  g_assert_cmpint (status, ==, 2);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/workflow/ctl/commands", test_ctl);
  return g_test_run ();
}
