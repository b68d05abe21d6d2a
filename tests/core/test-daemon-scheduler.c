/* test-daemon-scheduler.c: scheduled jobs in the real coworkd on the test clock: a fire with
 * no client waiting, its event over the socket, and the missed-fire policy after the daemon
 * was down across two instants, with nothing delivered twice.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-test-daemon.h"

#include <signal.h>
#include <string.h>

/* 2026-12-01T10:00:00Z */
#define T0   G_GINT64_CONSTANT (1796119200000)
#define HOUR G_GINT64_CONSTANT (3600000)
#define JOB  "{\"jobId\":\"hourly\",\"schedule\":\"cron TZ=UTC 0 * * * *\",\"missed\":\"all\"}"

static JsonObject *
obj (JsonNode *node)
{
  g_assert_nonnull (node);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (node));
  return json_node_get_object (node);
}

/* The next fire event: "<scheduledAt ms> <flags>". */
static gchar *
next_fire (CwClient *client)
{
  for (;;)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (JsonObject) ev = cw_client_next_event (client, &error);
      JsonObject *data;

      g_assert_no_error (error);
      if (g_strcmp0 (json_object_get_string_member (ev, "type"), "scheda:fire") != 0)
        continue;
      data = json_object_get_object_member (ev, "data");
      g_assert_cmpstr (json_object_get_string_member (data, "jobId"), ==, "hourly");
      return g_strdup_printf ("%" G_GINT64_FORMAT " %s",
                              json_object_get_int_member (data, "scheduledAt"),
                              json_object_get_string_member (data, "flags"));
    }
}

static void
assert_next_fire (CwClient *client, gint64 at, const gchar *flags)
{
  g_autofree gchar *got = next_fire (client);
  g_autofree gchar *want = g_strdup_printf ("%" G_GINT64_FORMAT " %s", at, flags);

  g_assert_cmpstr (got, ==, want);
}

static void
set_clock (CwClient *client, gint64 now)
{
  g_autofree gchar *params = g_strdup_printf ("{\"nowMs\":%" G_GINT64_FORMAT "}", now);
  g_autoptr (JsonNode) r = cw_test_daemon_call (client, "test_clock_set", params);

  g_assert_cmpint (json_object_get_int_member (obj (r), "nowMs"), ==, now);
}

static void
restart_at (CwTestDaemon *d, const gchar *when)
{
  gint status = cw_test_daemon_stop (d, SIGTERM);

  g_assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 0);
  cw_test_daemon_setenv (d, "COWORK_TEST_CLOCK", when);
  cw_test_daemon_start (d);
}

static void
test_missed_across_restart (void)
{
  g_autoptr (CwTestDaemon) d = cw_test_daemon_new ();
  g_autofree gchar *plugins
      = g_test_build_filename (G_TEST_BUILT, "core", "plugins", "sched", NULL);
  g_autoptr (JsonNode) added = NULL;
  g_autoptr (JsonNode) health = NULL;
  JsonObject *scheduler;

  cw_test_daemon_add_arg (d, "--plugin-dir");
  cw_test_daemon_add_arg (d, plugins);
  cw_test_daemon_setenv (d, "COWORK_TEST_CLOCK", "2026-12-01T10:00:00Z");
  cw_test_daemon_start (d);
  {
    g_autoptr (CwClient) c = cw_test_daemon_connect (d);

    added = cw_test_daemon_call (c, "scheda_add", JOB);
    g_assert_cmpint (json_object_get_int_member (obj (added), "nextFire"), ==, T0 + HOUR);
    set_clock (c, T0 + HOUR);
    assert_next_fire (c, T0 + HOUR, "on-time");
    health = cw_test_daemon_call (c, "daemon_health", NULL);
    scheduler = json_object_get_object_member (obj (health), "scheduler");
    g_assert_cmpint (json_object_get_int_member (scheduler, "jobs"), ==, 1);
    g_assert_cmpint (json_object_get_int_member (scheduler, "nextFireAt"), ==, T0 + 2 * HOUR);
    g_assert_true (json_object_get_boolean_member (scheduler, "testClock"));
  }

  /* Down from 11:00 to 13:30: 12:00 and 13:00 were missed; "all" catches both up as soon
   * as the plugin registers the job again, without anyone moving the clock. */
  restart_at (d, "2026-12-01T13:30:00Z");
  {
    g_autoptr (CwClient) c = cw_test_daemon_connect (d);
    g_autoptr (JsonNode) again = cw_test_daemon_call (c, "scheda_add", JOB);

    g_assert_cmpint (json_object_get_int_member (obj (again), "nextFire"), ==, T0 + 2 * HOUR);
    assert_next_fire (c, T0 + 2 * HOUR, "catch-up");
    assert_next_fire (c, T0 + 3 * HOUR, "catch-up");
  }

  /* Another restart delivers none of them again: the first fire is the next instant. */
  restart_at (d, "2026-12-01T13:31:00Z");
  {
    g_autoptr (CwClient) c = cw_test_daemon_connect (d);
    g_autoptr (JsonNode) again = cw_test_daemon_call (c, "scheda_add", JOB);

    g_assert_cmpint (json_object_get_int_member (obj (again), "nextFire"), ==, T0 + 4 * HOUR);
    set_clock (c, T0 + 4 * HOUR);
    assert_next_fire (c, T0 + 4 * HOUR, "on-time");
  }
}

static void
test_clock_set_refuses_bad_input (void)
{
  g_autoptr (CwTestDaemon) d = cw_test_daemon_new ();
  g_autoptr (CwClient) c = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) params = cw_json_from_string ("{\"nowMs\":\"soon\"}", -1, NULL);

  cw_test_daemon_setenv (d, "COWORK_TEST_CLOCK", "1796119200000");
  cw_test_daemon_start (d);
  c = cw_test_daemon_connect (d);
  g_assert_null (cw_client_call (c, "test_clock_set", NULL, &error));
  g_assert_nonnull (strstr (error->message, "nowMs is required"));
  g_clear_error (&error);
  g_assert_null (cw_client_call (c, "test_clock_set", params, &error));
  g_assert_nonnull (error);
}

static void
test_no_test_clock_without_the_variable (void)
{
  g_autoptr (CwTestDaemon) d = cw_test_daemon_new ();
  g_autoptr (CwClient) c = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) health = NULL;

  cw_test_daemon_start (d);
  c = cw_test_daemon_connect (d);
  g_assert_null (cw_client_call (c, "test_clock_set", NULL, &error));
  g_assert_cmpstr (error->message, ==, "Unknown command: test_clock_set");
  health = cw_test_daemon_call (c, "daemon_health", NULL);
  g_assert_false (json_object_has_member (json_object_get_object_member (obj (health), "scheduler"),
                                          "testClock"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  /* Only the scheduling test plugin: the job count and the next fire time are its own (the
   * built plugins schedule work of their own, the heartbeat's tick). */
  g_unsetenv ("COWORK_TEST_PLUGIN_DIRS");
  g_test_add_func ("/cowork/daemon/scheduler/missed-across-restart", test_missed_across_restart);
  g_test_add_func ("/cowork/daemon/scheduler/clock-set-refuses-bad-input",
                   test_clock_set_refuses_bad_input);
  g_test_add_func ("/cowork/daemon/scheduler/no-test-clock-without-the-variable",
                   test_no_test_clock_without_the_variable);
  return g_test_run ();
}
