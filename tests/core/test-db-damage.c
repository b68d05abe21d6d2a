/* test-db-damage.c: a damaged database: coworkd says so, keeps the file and says what to
 * do; `coworkctl db check` and `coworkctl db backup` work on it and on a healthy one.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-test-daemon.h"

#include <glib/gstdio.h>
#include <signal.h>

static gint
ctl (CwTestDaemon *d, gchar **out, gchar **err, const gchar *a1, const gchar *a2, const gchar *a3)
{
  const gchar *argv[] = { g_getenv ("COWORKCTL"), "--app-data-dir", d->dir, a1, a2, a3, NULL };
  g_autoptr (GSubprocess) proc = NULL;
  g_autoptr (GError) error = NULL;

  proc = g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE,
                            &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (proc, NULL, NULL, out, err, &error);
  g_assert_no_error (error);
  return g_subprocess_get_exit_status (proc);
}

static void
test_damaged_database (void)
{
  g_autoptr (CwTestDaemon) d = cw_test_daemon_new ();
  g_autofree gchar *db = g_build_filename (d->dir, "daemon", "coworkd.db", NULL);
  g_autofree gchar *backup = g_build_filename (d->dir, "copy.db", NULL);
  g_autofree gchar *damaged = NULL, *after = NULL, *out = NULL, *err = NULL, *derr = NULL;
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autoptr (GSubprocess) proc = NULL;
  g_autoptr (GError) error = NULL;
  gsize len = 0, len_after = 0;

  cw_test_daemon_start (d);
  {
    g_autoptr (CwClient) c = cw_test_daemon_connect (d);
    g_autoptr (JsonNode) r = cw_test_daemon_call (c, "example_echo", "{\"text\":\"kept\"}");
  }
  g_assert_cmpint (cw_test_daemon_stop (d, SIGTERM), ==, 0);

  /* Healthy: check says ok, backup makes a copy SQLite can read. */
  g_assert_cmpint (ctl (d, &out, &err, "db", "check", NULL), ==, 0);
  g_assert_nonnull (strstr (out, ": ok"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (ctl (d, &out, &err, "db", "backup", backup), ==, 0);
  g_assert_true (g_file_test (backup, G_FILE_TEST_EXISTS));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  /* A garbage page where the schema versions live. */
  g_assert_true (g_file_get_contents (db, &damaged, &len, NULL));
  g_assert_cmpuint (len, >=, 3 * 4096);
  memset (damaged + 4096, 0xA5, 4096);
  g_assert_true (g_file_set_contents (db, damaged, (gssize) len, NULL));

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_subprocess_launcher_set_environ (launcher, d->env);
  proc = g_subprocess_launcher_spawn (launcher, &error, g_getenv ("COWORKD"), "--app-data-dir",
                                      d->dir, "--no-system-plugins", NULL);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (proc, NULL, NULL, NULL, &derr, &error);
  g_assert_no_error (error);
  g_test_message ("%s", derr);
  g_assert_cmpint (g_subprocess_get_exit_status (proc), ==, 1);
  g_assert_nonnull (strstr (derr, "is damaged"));
  g_assert_nonnull (strstr (derr, "coworkctl db backup"));
  g_assert_null (strstr (derr, "already exists"));
  /* The file is kept as it was. */
  g_assert_true (g_file_get_contents (db, &after, &len_after, NULL));
  g_assert_cmpuint (len_after, ==, len);
  g_assert_true (memcmp (after, damaged, len) == 0);

  g_assert_cmpint (ctl (d, &out, &err, "db", "check", NULL), ==, 1);
  g_assert_nonnull (strstr (err, "is damaged"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_unlink (backup);
  g_assert_cmpint (ctl (d, &out, &err, "db", "backup", backup), ==, 0);
  g_assert_true (g_file_test (backup, G_FILE_TEST_EXISTS));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cowork/db/damaged-database", test_damaged_database);
  return g_test_run ();
}
