/* cw-test-clock.c: a wall clock for daemon-level tests of timed work, which then never
 * wait for real time: COWORK_TEST_CLOCK sets where it starts, test_clock_set moves it.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-test-clock-private.h"

typedef struct
{
  gint64 now;
  CwScheduler *scheduler;
} TestClock;

static void
test_clock_free (gpointer data)
{
  TestClock *clock = data;

  g_object_unref (clock->scheduler);
  g_free (clock);
}

static gint64
test_clock_now (gpointer data)
{
  return ((TestClock *) data)->now;
}

static void
cmd_test_clock_set (CwInvocation *inv, gpointer data)
{
  TestClock *clock = data;
  GError *error = NULL;
  gint64 now = -1, next;
  JsonObject *result;

  if (!cw_invocation_get_int (inv, "nowMs", -1, &now, &error))
    {
      cw_invocation_return_error (inv, error);
      return;
    }
  if (now < 0)
    {
      cw_invocation_return_error_literal (inv, CW_ERROR_INVALID_PARAMS,
                                          "nowMs is required (milliseconds since the epoch)");
      return;
    }
  clock->now = now;
  cw_scheduler_clock_changed (clock->scheduler);
  result = json_object_new ();
  json_object_set_int_member (result, "nowMs", now);
  next = cw_scheduler_get_deadline (clock->scheduler);
  if (next == CW_SCHEDULE_NEVER)
    json_object_set_null_member (result, "nextFireAt");
  else
    json_object_set_int_member (result, "nextFireAt", next);
  cw_invocation_return_object (inv, result);
}

gboolean
cw_test_clock_is_active (void)
{
  return g_getenv ("COWORK_TEST_CLOCK") != NULL;
}

gboolean
cw_test_clock_setup (CwScheduler *scheduler, CwCommandRegistry *registry, GError **error)
{
  const gchar *value = g_getenv ("COWORK_TEST_CLOCK");
  g_autofree gchar *text = NULL;
  g_autoptr (CwSchedule) start = NULL;
  TestClock *clock;

  if (value == NULL)
    return TRUE;
  text = g_strconcat ("at ", value, NULL);
  start = cw_schedule_new_from_string (text, error);
  if (start == NULL)
    {
      g_prefix_error (error, "COWORK_TEST_CLOCK: ");
      return FALSE;
    }
  clock = g_new0 (TestClock, 1);
  clock->now = cw_schedule_get_instant (start);
  clock->scheduler = g_object_ref (scheduler);
  cw_scheduler_set_clock (scheduler, test_clock_now, clock);
  g_message ("the scheduler runs on the test clock (COWORK_TEST_CLOCK), not the wall clock");
  return cw_command_registry_add (registry, "test_clock_set", "core", CW_COMMAND_FLAG_NONE,
                                  cmd_test_clock_set, clock, test_clock_free, error);
}
