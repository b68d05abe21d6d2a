/* test-cron-dbus.c: the cron commands and events over D-Bus (org.cowork.Daemon1 on a private
 * session bus from dbus-run-session): create, list, a manual run that answers when it ends,
 * its history, and the cron:* signals.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-cron-test.h"
#include "cw-dbus-test.h"

#include <string.h>

static void
test_cron_over_dbus (void)
{
  g_autoptr (AgentFixture) f = cron_fixture_new (CRON_T0);
  g_autoptr (GDBusConnection) bus = NULL;
  g_autoptr (CwTestEventLog) log = NULL;
  g_autoptr (JsonNode) job = NULL, list = NULL, run = NULL, runs = NULL, err_result = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree gchar *params = NULL, *by_id = NULL;
  const gchar *id;
  JsonObject *r;

  agent_fixture_start (f);
  g_assert_true (agent_fixture_start_llm (
      f, "{\"responses\":[{\"events\":[{\"text\":\"Hello over the bus.\"}]}]}"));
  bus = cw_test_bus_connect (NULL);
  g_assert_true (cw_test_wait_name (bus, CW_TEST_NAME, TRUE, 10));
  log = cw_test_event_log_new (bus);

  params = g_strdup_printf ("{\"input\":{\"name\":\"Bus job\",\"prompt\":\"hello\","
                            "\"workingDirectory\":\"%s\",\"schedule\":{\"type\":\"every\","
                            "\"intervalMs\":3600000,\"startAt\":%" G_GINT64_FORMAT "}}}",
                            f->workdir, CRON_T0);
  job = cw_test_dbus_call (bus, "cron_create_job", params, &error);
  g_assert_no_error (error);
  id = cron_str (cw_test_obj (job), "id");
  g_assert_cmpint (cron_int (cw_test_obj (job), "nextRunAt"), ==, CRON_T0 + 3600000);
  g_assert_true (cw_test_event_log_wait (log, "cron:job_created", 10));

  list = cw_test_dbus_call (bus, "cron_list_jobs", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (list)), ==, 1);
  g_assert_cmpstr (cron_str (json_array_get_object_element (json_node_get_array (list), 0), "id"),
                   ==, id);

  /* a manual run answers over the bus when it ends */
  by_id = g_strdup_printf ("{\"jobId\":\"%s\"}", id);
  run = cw_test_dbus_call (bus, "cron_trigger_job", by_id, &error);
  g_assert_no_error (error);
  r = cw_test_obj (run);
  g_assert_cmpstr (cron_str (r, "result"), ==, "success");
  g_assert_cmpstr (cron_str (r, "summary"), ==, "Hello over the bus.");
  g_assert_true (cw_test_event_log_wait (log, "cron:run_started", 10));
  g_assert_true (cw_test_event_log_wait (log, "cron:run_completed", 10));

  runs = cw_test_dbus_call (bus, "cron_get_runs", by_id, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (runs)), ==, 1);

  /* errors come back as D-Bus errors with the contract's message */
  err_result = cw_test_dbus_call (bus, "cron_get_job", "{}", &error);
  g_assert_null (err_result);
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, "jobId is required"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  cw_test_dbus_init ();
  g_test_add_func ("/cron/dbus/commands-and-events", test_cron_over_dbus);
  return g_test_run ();
}
