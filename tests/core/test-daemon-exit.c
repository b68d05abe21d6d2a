/* test-daemon-exit.c: the end of a daemon-level test holds coworkd to account: a crash, a
 * hang on SIGTERM or a sanitizer report in its log fails the test.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-test-daemon.h"

#include <signal.h>
#include <stdio.h>

static gint
daemon_pid (CwTestDaemon *d)
{
  return atoi (g_subprocess_get_identifier (d->proc));
}

/* Each case runs again in a child test process, on a scratch TMPDIR (a failing child keeps
 * its daemon's dir): the harness must make the child fail, with its reason. */
static gboolean
in_child (const gchar *why)
{
  g_autofree gchar *scratch = NULL;

  if (g_test_subprocess ())
    return TRUE;
  scratch = g_dir_make_tmp ("cw-daemon-exit-XXXXXX", NULL);
  g_assert_nonnull (scratch);
  g_setenv ("TMPDIR", scratch, TRUE);
  g_test_trap_subprocess (NULL, 60 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_DEFAULT);
  g_unsetenv ("TMPDIR");
  cw_test_rm_rf (scratch);
  if (why == NULL)
    g_test_trap_assert_passed ();
  else
    {
      g_test_trap_assert_failed ();
      g_test_trap_assert_stderr ("*coworkd in *coworkd-test-*");
      g_test_trap_assert_stderr (why);
    }
  return FALSE;
}

static void
test_crash_fails (void)
{
  g_autoptr (CwTestDaemon) d = NULL;

  if (!in_child ("*died by signal 6*"))
    return;
  d = cw_test_daemon_new ();
  cw_test_daemon_start (d);
  /* SIGABRT: AddressSanitizer turns a SIGSEGV into exit status 1. */
  kill (daemon_pid (d), SIGABRT);
}

static void
test_hang_fails (void)
{
  g_autoptr (CwTestDaemon) d = NULL;

  if (!in_child ("*did not exit within 10 s of SIGTERM*"))
    return;
  d = cw_test_daemon_new ();
  cw_test_daemon_start (d);
  /* A stopped process keeps its SIGTERM pending: a shutdown that never ends. */
  kill (daemon_pid (d), SIGSTOP);
}

static void
test_report_fails (void)
{
  g_autoptr (CwTestDaemon) d = NULL;
  FILE *log;

  if (!in_child ("*reports bugs*runtime error: signed integer overflow*"))
    return;
  d = cw_test_daemon_new ();
  cw_test_daemon_log_to_file (d);
  cw_test_daemon_start (d);
  g_assert_cmpint (cw_test_daemon_stop (d, SIGTERM), ==, 0);
  /* What UBSan prints (with recovery on), as if the daemon had written it last. */
  log = fopen (d->log_file, "a");
  g_assert_nonnull (log);
  fputs ("../core/x.c:1:2: runtime error: signed integer overflow\n", log);
  fclose (log);
}

/* An orderly daemon passes: SIGTERM, exit 0, a clean log. */
static void
test_clean_passes (void)
{
  g_autoptr (CwTestDaemon) d = NULL;

  if (!in_child (NULL))
    return;
  d = cw_test_daemon_new ();
  cw_test_daemon_log_to_file (d);
  cw_test_daemon_start (d);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/daemon-exit/crash-fails", test_crash_fails);
  g_test_add_func ("/daemon-exit/hang-fails", test_hang_fails);
  g_test_add_func ("/daemon-exit/report-fails", test_report_fails);
  g_test_add_func ("/daemon-exit/clean-passes", test_clean_passes);
  return g_test_run ();
}
