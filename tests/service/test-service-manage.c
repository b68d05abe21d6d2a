/* test-service-manage.c: coworkctl service ... and the daemon's service_* commands against
 * the fake systemd (fake-systemd.c) on a private session bus (run under dbus-run-session).
 * Asserts the systemd calls made, in order, and what is on disk afterwards.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-service-private.h"
#include "cw-test-daemon.h"

#include <glib/gstdio.h>
#include <signal.h>
#include <unistd.h>

#define MANAGER "org.freedesktop.systemd1.Manager."

typedef struct
{
  gchar *root;
  gchar *home;
  gchar *user_unit_dir;
  gchar *system_unit_dir;
  gchar *state_dir;
  gchar *vendor_dir;
  gchar *calls_log;
  gchar **env;
  GSubprocess *fake;
} Fixture;

static gboolean
systemd_name_owned (gboolean want)
{
  g_autoptr (GDBusConnection) bus = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, NULL);
  g_autoptr (GVariant) reply = NULL;
  gboolean owned = FALSE;

  reply = g_dbus_connection_call_sync (
      bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "NameHasOwner",
      g_variant_new ("(s)", "org.freedesktop.systemd1"), G_VARIANT_TYPE ("(b)"), 0, -1, NULL, NULL);
  if (reply != NULL)
    g_variant_get (reply, "(b)", &owned);
  return owned == want;
}

static void
wait_name (gboolean want)
{
  gint64 deadline = g_get_monotonic_time () + 10 * G_TIME_SPAN_SECOND;

  while (!systemd_name_owned (want))
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (10000);
    }
}

static void
start_fake (Fixture *f, const gchar *unit_dir, const gchar *fail)
{
  g_autoptr (GSubprocessLauncher) l = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
  g_autoptr (GError) error = NULL;
  g_autofree gchar *fake = g_test_build_filename (G_TEST_BUILT, "service", "fake-systemd", NULL);

  g_subprocess_launcher_setenv (l, "FAKE_SYSTEMD_LOG", f->calls_log, TRUE);
  g_subprocess_launcher_setenv (l, "FAKE_SYSTEMD_UNIT_DIR", unit_dir, TRUE);
  if (fail != NULL)
    g_subprocess_launcher_setenv (l, "FAKE_SYSTEMD_FAIL", fail, TRUE);
  f->fake = g_subprocess_launcher_spawn (l, &error, fake, NULL);
  g_assert_no_error (error);
  wait_name (TRUE);
}

static void
setup (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  const gchar *address = g_getenv ("DBUS_SESSION_BUS_ADDRESS");
  g_autofree gchar *config = NULL, *run = NULL;

  g_assert_nonnull (address);
  f->root = g_dir_make_tmp ("cw-service-XXXXXX", &error);
  g_assert_no_error (error);
  f->home = g_build_filename (f->root, "home", NULL);
  f->user_unit_dir = g_build_filename (f->root, "config", "systemd", "user", NULL);
  f->system_unit_dir = g_build_filename (f->root, "etc", "systemd", "system", NULL);
  f->state_dir = g_build_filename (f->root, "state", NULL);
  f->calls_log = g_build_filename (f->root, "calls.log", NULL);
  g_mkdir_with_parents (f->home, 0700);
  g_file_set_contents (f->calls_log, "", 0, NULL);
  f->env = g_get_environ ();
  f->env = g_environ_unsetenv (f->env, "COWORK_APP_DATA_DIR");
  f->env = g_environ_unsetenv (f->env, "COWORK_MODE");
  f->env = g_environ_setenv (f->env, "HOME", f->home, TRUE);
  config = g_build_filename (f->root, "config", NULL);
  run = g_build_filename (f->root, "run", NULL);
  f->env = g_environ_setenv (f->env, "XDG_CONFIG_HOME", config, TRUE);
  f->env = g_environ_setenv (f->env, "STATE_DIRECTORY", f->state_dir, TRUE);
  f->env = g_environ_setenv (f->env, "RUNTIME_DIRECTORY", run, TRUE);
  f->env = g_environ_setenv (f->env, "COWORK_SYSTEMD_SYSTEM_UNIT_DIR", f->system_unit_dir, TRUE);
  f->env = g_environ_setenv (f->env, "COWORK_SYSTEMD_BUS_ADDRESS", address, TRUE);
  f->env = g_environ_setenv (f->env, "COWORK_DAEMON_PROGRAM", g_getenv ("COWORKD"), TRUE);
  /* No packaged unit unless a test puts one there (the host's own install must not count). */
  f->vendor_dir = g_build_filename (f->root, "vendor", NULL);
  f->env = g_environ_setenv (f->env, "COWORK_SYSTEMD_VENDOR_UNIT_DIR", f->vendor_dir, TRUE);
}

static void
teardown (Fixture *f, gconstpointer data)
{
  if (f->fake != NULL)
    {
      g_subprocess_force_exit (f->fake);
      g_subprocess_wait (f->fake, NULL, NULL);
      g_clear_object (&f->fake);
      wait_name (FALSE);
    }
  cw_test_rm_rf (f->root);
  g_free (f->root);
  g_free (f->home);
  g_free (f->user_unit_dir);
  g_free (f->system_unit_dir);
  g_free (f->state_dir);
  g_free (f->vendor_dir);
  g_free (f->calls_log);
  g_strfreev (f->env);
}

/* Runs coworkctl ARGS... with the fixture's environment; returns the exit status. */
static gint
ctl (Fixture *f, gchar **out, gchar **err, const gchar *first, ...)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GSubprocessLauncher) l = NULL;
  g_autoptr (GSubprocess) proc = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree gchar *o = NULL, *e = NULL;
  va_list ap;

  g_ptr_array_add (argv, (gpointer) g_getenv ("COWORKCTL"));
  va_start (ap, first);
  for (const gchar *a = first; a != NULL; a = va_arg (ap, const gchar *))
    g_ptr_array_add (argv, (gpointer) a);
  va_end (ap);
  g_ptr_array_add (argv, NULL);
  l = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE
                                 | G_SUBPROCESS_FLAGS_STDIN_PIPE);
  g_subprocess_launcher_set_environ (l, f->env);
  proc = g_subprocess_launcher_spawnv (l, (const gchar *const *) argv->pdata, &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (proc, "", NULL, &o, &e, &error);
  g_assert_no_error (error);
  if (g_test_verbose ())
    g_printerr ("$ coworkctl %s ...\n%s%s", first, o, e);
  if (out != NULL)
    *out = g_steal_pointer (&o);
  if (err != NULL)
    *err = g_steal_pointer (&e);
  return g_subprocess_get_exit_status (proc);
}

static gchar *
take_calls (Fixture *f)
{
  gchar *text = NULL;

  g_assert_true (g_file_get_contents (f->calls_log, &text, NULL, NULL));
  g_file_set_contents (f->calls_log, "", 0, NULL);
  return text;
}

static JsonObject *
parse_object (const gchar *text)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) node = cw_json_from_string (text, -1, &error);

  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (node));
  return json_object_ref (json_node_get_object (node));
}

static void
test_user_install_status_uninstall (Fixture *f, gconstpointer data)
{
  g_autoptr (CwTestDaemon) d = cw_test_daemon_new ();
  g_autofree gchar *out = NULL, *err = NULL, *calls = NULL, *unit = NULL, *text = NULL;
  g_autoptr (JsonObject) status = NULL;
  g_autofree gchar *lock = NULL;
  JsonObject *health;

  /* A real daemon on the data dir the unit will name, to be seen in status. */
  cw_test_daemon_start (d);
  f->env = g_environ_setenv (f->env, "COWORK_APP_DATA_DIR", d->dir, TRUE);
  start_fake (f, f->user_unit_dir, NULL);

  g_assert_cmpint (ctl (f, &out, &err, "service", "install", "--user", NULL), ==, 0);
  calls = take_calls (f);
  g_assert_cmpstr (calls, ==,
                   "Reload ()\n"
                   "EnableUnitFiles (['coworkd.service'], false, true)\n"
                   "Subscribe ()\n"
                   "StartUnit ('coworkd.service', 'replace')\n"
                   "GetUnitFileState ('coworkd.service',)\n"
                   "GetUnit ('coworkd.service',)\n");
  unit = g_build_filename (f->user_unit_dir, "coworkd.service", NULL);
  g_assert_true (g_file_get_contents (unit, &text, NULL, NULL));
  g_assert_nonnull (strstr (text, "Type=notify\n"));
  {
    g_autofree gchar *exec
        = g_strdup_printf ("ExecStart=\"%s\" \"--mode\" \"user\" \"--app-data-dir\" \"%s\"\n",
                           g_getenv ("COWORKD"), d->dir);
    g_assert_nonnull (strstr (text, exec));
  }
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (ctl (f, &out, NULL, "service", "get-mode", NULL), ==, 0);
  g_assert_cmpstr (out, ==, "user\n");

  g_clear_pointer (&out, g_free);
  g_assert_cmpint (ctl (f, &out, NULL, "--json", "service", "status", NULL), ==, 0);
  status = parse_object (out);
  g_assert_cmpstr (json_object_get_string_member (status, "mode"), ==, "user");
  g_assert_cmpstr (json_object_get_string_member (status, "manager"), ==, "systemd");
  g_assert_true (json_object_get_boolean_member (status, "installed"));
  g_assert_true (json_object_get_boolean_member (status, "enabled"));
  g_assert_true (json_object_get_boolean_member (status, "running"));
  g_assert_cmpstr (json_object_get_string_member (status, "active"), ==, "active");
  g_assert_cmpint (json_object_get_int_member (status, "pid"), ==, 4242);
  g_assert_cmpstr (json_object_get_string_member (status, "configPath"), ==, unit);
  health = json_object_get_object_member (status, "health");
  g_assert_nonnull (health);
  g_assert_cmpstr (json_object_get_string_member (health, "status"), ==, "healthy");
  g_assert_cmpint (json_object_get_int_member (health, "pid"), ==,
                   atoi (g_subprocess_get_identifier (d->proc)));
  g_free (take_calls (f));

  /* The daemon leaves its token behind when it stops; uninstall removes it too. */
  g_assert_cmpint (cw_test_daemon_stop (d, SIGTERM), ==, 0);
  lock = g_build_filename (d->dir, "daemon", "agentd.lock", NULL);
  g_file_set_contents (d->endpoint, "stale socket", -1, NULL);
  g_file_set_contents (lock, "", -1, NULL);
  g_assert_true (g_file_test (d->token_file, G_FILE_TEST_EXISTS));
  g_assert_cmpint (ctl (f, NULL, NULL, "service", "uninstall", "--user", NULL), ==, 0);
  g_clear_pointer (&calls, g_free);
  calls = take_calls (f);
  g_assert_true (g_str_has_prefix (calls, "Subscribe ()\n"
                                          "StopUnit ('coworkd.service', 'replace')\n"
                                          "DisableUnitFiles (['coworkd.service'], false)\n"
                                          "Reload ()\n"));
  g_assert_false (g_file_test (unit, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (d->token_file, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (d->endpoint, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (lock, G_FILE_TEST_EXISTS));
}

static void
test_dry_run (Fixture *f, gconstpointer data)
{
  g_autofree gchar *out = NULL, *calls = NULL, *unit_text = NULL, *expected = NULL;
  g_autofree gchar *unit = g_build_filename (f->system_unit_dir, "coworkd.service", NULL);
  CwServiceSpec spec = { CW_SERVICE_PLATFORM_LINUX, CW_SERVICE_SCOPE_SYSTEM, g_getenv ("COWORKD") };

  start_fake (f, f->system_unit_dir, NULL);
  g_assert_cmpint (ctl (f, &out, NULL, "service", "install", "--system", "--dry-run", NULL), ==, 0);
  unit_text = cw_service_render (&spec, NULL, NULL);
  expected = g_strdup_printf ("would write %s (mode 0644):\n%s"
                              "would call " MANAGER "Reload ()\n"
                              "would call " MANAGER "EnableUnitFiles (['coworkd.service'], false, "
                              "true)\n"
                              "would call " MANAGER "Subscribe ()\n"
                              "would call " MANAGER "StartUnit ('coworkd.service', 'replace')\n",
                              unit, unit_text);
  g_assert_cmpstr (out, ==, expected);
  calls = take_calls (f);
  g_assert_cmpstr (calls, ==, "");
  g_assert_false (g_file_test (unit, G_FILE_TEST_EXISTS));
}

static void
test_system_scope (Fixture *f, gconstpointer data)
{
  g_autofree gchar *out = NULL, *calls = NULL, *text = NULL;
  g_autofree gchar *unit = g_build_filename (f->system_unit_dir, "coworkd.service", NULL);
  g_autoptr (JsonObject) status = NULL;
  g_autofree gchar *user_unit = g_build_filename (f->user_unit_dir, "coworkd.service", NULL);

  start_fake (f, f->system_unit_dir, NULL);
  g_assert_cmpint (ctl (f, NULL, NULL, "service", "install", "--system", NULL), ==, 0);
  g_assert_true (g_file_get_contents (unit, &text, NULL, NULL));
  g_assert_nonnull (strstr (text, "User=cowork\n"));
  g_assert_null (strstr (text, f->home));
  g_assert_false (g_file_test (user_unit, G_FILE_TEST_EXISTS));
  g_free (take_calls (f));

  g_assert_cmpint (ctl (f, NULL, NULL, "service", "stop", "--system", NULL), ==, 0);
  g_assert_cmpint (ctl (f, NULL, NULL, "service", "restart", "--system", NULL), ==, 0);
  g_assert_cmpint (ctl (f, NULL, NULL, "service", "start", "--system", NULL), ==, 0);
  calls = take_calls (f);
  g_assert_nonnull (strstr (calls, "StopUnit ('coworkd.service', 'replace')\n"));
  g_assert_nonnull (strstr (calls, "RestartUnit ('coworkd.service', 'replace')\n"));
  g_assert_nonnull (strstr (calls, "StartUnit ('coworkd.service', 'replace')\n"));
  g_assert_cmpint (ctl (f, &out, NULL, "--json", "service", "status", "--system", NULL), ==, 0);
  status = parse_object (out);
  g_assert_cmpstr (json_object_get_string_member (status, "mode"), ==, "system");
  g_assert_cmpstr (json_object_get_string_member (status, "appDataDir"), ==, f->state_dir);
  g_assert_true (json_object_get_boolean_member (status, "enabled"));
  g_assert_true (json_object_get_boolean_member (status, "running"));
  g_assert_true (JSON_NODE_HOLDS_NULL (json_object_get_member (status, "health")));
}

static void
test_start_not_installed (Fixture *f, gconstpointer data)
{
  g_autofree gchar *err = NULL, *calls = NULL;

  start_fake (f, f->user_unit_dir, NULL);
  g_assert_cmpint (ctl (f, NULL, &err, "service", "start", "--user", NULL), ==, 1);
  g_assert_nonnull (strstr (err, "not installed"));
  calls = take_calls (f);
  g_assert_cmpstr (calls, ==, "");

  /* Uninstalling what systemd never loaded is not an error: StopUnit's NoSuchUnit is fine. */
  g_assert_cmpint (ctl (f, NULL, NULL, "service", "uninstall", "--user", NULL), ==, 0);
  g_clear_pointer (&calls, g_free);
  calls = take_calls (f);
  g_assert_cmpstr (calls, ==,
                   "Subscribe ()\n"
                   "StopUnit ('coworkd.service', 'replace')\n"
                   "DisableUnitFiles (['coworkd.service'], false)\n"
                   "Reload ()\n"
                   "GetUnitFileState ('coworkd.service',)\n"
                   "GetUnit ('coworkd.service',)\n");
}

/* A system scope pointed into the caller's home is refused, for services and credentials. */
static void
test_system_never_in_home (Fixture *f, gconstpointer data)
{
  g_autofree gchar *err = NULL, *err2 = NULL;
  g_autofree gchar *inside = g_build_filename (f->home, "state", NULL);
  g_autofree gchar *unit = g_build_filename (f->system_unit_dir, "coworkd.service", NULL);

  f->env = g_environ_setenv (f->env, "STATE_DIRECTORY", inside, TRUE);
  g_assert_cmpint (ctl (f, NULL, &err, "service", "install", "--system", "--dry-run", NULL), ==, 1);
  g_assert_nonnull (strstr (err, "never keeps its data in a home directory"));
  g_assert_cmpint (ctl (f, NULL, &err2, "credentials", "list", "--system", NULL), ==, 1);
  g_assert_nonnull (strstr (err2, "never keeps its data in a home directory"));
  g_assert_false (g_file_test (unit, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (inside, G_FILE_TEST_EXISTS));
}

/* A packaged unit is enabled as it is: nothing written over it, nothing removed. */
static void
test_vendor_unit (Fixture *f, gconstpointer data)
{
  g_autofree gchar *vendor = g_build_filename (f->vendor_dir, "coworkd.service", NULL);
  g_autofree gchar *ours = g_build_filename (f->user_unit_dir, "coworkd.service", NULL);
  g_autofree gchar *out = NULL, *calls = NULL, *expected = NULL, *status_out = NULL;
  g_autoptr (JsonObject) status = NULL;

  g_mkdir_with_parents (f->vendor_dir, 0755);
  g_assert_true (g_file_set_contents (vendor, "[Service]\nExecStart=/usr/bin/coworkd\n", -1, NULL));
  start_fake (f, f->vendor_dir, NULL);
  g_assert_cmpint (ctl (f, &out, NULL, "service", "install", "--user", NULL), ==, 0);
  expected = g_strdup_printf ("use the installed unit %s\n", vendor);
  g_assert_true (g_str_has_prefix (out, expected));
  g_assert_false (g_file_test (ours, G_FILE_TEST_EXISTS));
  calls = take_calls (f);
  g_assert_true (g_str_has_prefix (calls, "Reload ()\n"
                                          "EnableUnitFiles (['coworkd.service'], false, true)\n"
                                          "Subscribe ()\n"
                                          "StartUnit ('coworkd.service', 'replace')\n"));
  g_assert_cmpint (ctl (f, &status_out, NULL, "--json", "service", "status", NULL), ==, 0);
  status = parse_object (status_out);
  g_assert_true (json_object_get_boolean_member (status, "installed"));
  g_assert_cmpstr (json_object_get_string_member (status, "configPath"), ==, vendor);

  g_assert_cmpint (ctl (f, NULL, NULL, "service", "uninstall", "--user", NULL), ==, 0);
  g_assert_true (g_file_test (vendor, G_FILE_TEST_EXISTS));
  g_clear_pointer (&calls, g_free);
  calls = take_calls (f);
  g_assert_nonnull (strstr (calls, "DisableUnitFiles (['coworkd.service'], false)\n"));
}

/* Type=notify: a daemon that never gets ready makes the start job fail, and install says so. */
static void
test_job_failure (Fixture *f, gconstpointer data)
{
  g_autofree gchar *err = NULL;

  g_setenv ("FAKE_SYSTEMD_JOB_RESULT", "failed", TRUE);
  start_fake (f, f->user_unit_dir, NULL);
  g_unsetenv ("FAKE_SYSTEMD_JOB_RESULT");
  g_assert_cmpint (ctl (f, NULL, &err, "service", "install", "--user", NULL), ==, 1);
  g_assert_nonnull (strstr (err, "StartUnit of coworkd.service ended with 'failed'"));
  g_assert_nonnull (strstr (err, "journalctl --user -u coworkd.service"));
}

static void
test_systemd_failure (Fixture *f, gconstpointer data)
{
  g_autofree gchar *err = NULL;

  start_fake (f, f->user_unit_dir, "StartUnit");
  g_assert_cmpint (ctl (f, NULL, &err, "service", "install", "--user", NULL), ==, 1);
  g_assert_nonnull (strstr (err, "systemd StartUnit failed"));
  g_assert_nonnull (strstr (err, "fake failure"));
}

/* Without a reachable systemd, install takes back the unit it wrote and says so; status
 * still reports an installed unit, as not managed, instead of failing. */
static void
test_systemd_unreachable (Fixture *f, gconstpointer data)
{
  g_autofree gchar *out = NULL, *err = NULL;
  g_autofree gchar *nobus = g_strdup_printf ("unix:path=%s/no-such-bus", f->root);
  g_autofree gchar *unit = g_build_filename (f->user_unit_dir, "coworkd.service", NULL);

  f->env = g_environ_setenv (f->env, "COWORK_SYSTEMD_BUS_ADDRESS", nobus, TRUE);
  g_assert_cmpint (ctl (f, &out, &err, "service", "install", "--user", NULL), ==, 1);
  g_assert_nonnull (strstr (err, "not installed ("));
  g_assert_nonnull (strstr (err, "removed again): cannot reach systemd on the session bus"));
  g_assert_false (g_file_test (unit, G_FILE_TEST_EXISTS));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  /* A unit put there by hand (or kept from before) is reported, not an error. */
  g_assert_cmpint (ctl (f, NULL, NULL, "service", "render", "--user", "--output", unit, NULL), ==,
                   0);
  g_assert_true (g_file_test (unit, G_FILE_TEST_EXISTS));
  g_assert_cmpint (ctl (f, &out, &err, "service", "status", "--user", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "(installed)"));
  g_assert_nonnull (strstr (out, "systemd (not reachable)"));
  g_assert_nonnull (strstr (out, "not managed"));
  g_assert_nonnull (strstr (out, "note:       cannot reach systemd on the session bus"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  /* A failed install keeps a unit it did not write, and says so. */
  g_assert_cmpint (ctl (f, &out, &err, "service", "install", "--user", NULL), ==, 1);
  g_assert_nonnull (strstr (err, "is kept: cannot reach systemd"));
  g_assert_true (g_file_test (unit, G_FILE_TEST_EXISTS));
}

static void
test_set_mode (Fixture *f, gconstpointer data)
{
  g_autofree gchar *out = NULL, *err = NULL, *calls = NULL, *mode = NULL;
  g_autoptr (JsonObject) audit = NULL;
  JsonArray *entries;
  gboolean found = FALSE;

  start_fake (f, f->user_unit_dir, NULL);
  g_assert_cmpint (ctl (f, NULL, NULL, "service", "install", "--user", NULL), ==, 0);
  g_free (take_calls (f));

  /* Without --yes (and no terminal): the plan is shown and nothing happens. */
  g_assert_cmpint (ctl (f, &out, &err, "service", "set-mode", "system", NULL), ==, 1);
  g_assert_nonnull (strstr (out, "Switching from user mode to system mode"));
  g_assert_nonnull (strstr (out, "This stops the user service"));
  g_assert_nonnull (strstr (out, "is not moved"));
  g_assert_nonnull (strstr (out, "credentials promote"));
  g_assert_nonnull (strstr (err, "--yes"));
  calls = take_calls (f);
  g_assert_cmpstr (calls, ==, "");
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (ctl (f, &out, NULL, "service", "get-mode", NULL), ==, 0);
  g_assert_cmpstr (out, ==, "user\n");

  g_clear_pointer (&out, g_free);
  g_assert_cmpint (ctl (f, &out, NULL, "service", "set-mode", "system", "--yes", NULL), ==, 0);
  g_clear_pointer (&calls, g_free);
  calls = take_calls (f);
  g_assert_cmpstr (calls, ==, "Subscribe ()\nStopUnit ('coworkd.service', 'replace')\n");
  g_assert_cmpint (ctl (f, &mode, NULL, "service", "get-mode", NULL), ==, 0);
  g_assert_cmpstr (mode, ==, "system\n");

  g_clear_pointer (&out, g_free);
  g_assert_cmpint (ctl (f, &out, NULL, "--json", "audit", NULL), ==, 0);
  audit = parse_object (out);
  entries = json_object_get_array_member (audit, "entries");
  for (guint i = 0; i < json_array_get_length (entries); i++)
    {
      JsonObject *e = json_array_get_object_element (entries, i);
      JsonObject *details = json_object_get_object_member (e, "details");
      if (g_strcmp0 (json_object_get_string_member (e, "action"), "service_mode_switch") == 0
          && g_strcmp0 (json_object_get_string_member (details, "to"), "system") == 0)
        found = TRUE;
    }
  g_assert_true (found);
}

static JsonObject *
call_error (CwClient *client, const gchar *command, const gchar *params, gchar **message)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) p = cw_json_from_string (params, -1, NULL);
  g_autoptr (JsonNode) result = cw_client_call (client, command, p, &error);

  g_assert_null (result);
  *message = g_strdup (error->message);
  return NULL;
}

static void
test_daemon_commands (Fixture *f, gconstpointer data)
{
  g_autoptr (CwTestDaemon) d = cw_test_daemon_new ();
  g_autoptr (CwClient) client = NULL;
  g_autoptr (JsonNode) r = NULL;
  g_autofree gchar *message = NULL, *calls = NULL;
  JsonObject *o;

  start_fake (f, f->user_unit_dir, NULL);
  g_strfreev (d->env);
  d->env = g_strdupv (f->env);
  cw_test_daemon_start (d);
  client = cw_test_daemon_connect (d);

  r = cw_test_daemon_call (client, "service_get_mode", NULL);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (r), "mode"), ==, "user");
  g_clear_pointer (&r, json_node_unref);
  r = cw_test_daemon_call (client, "service_status", NULL);
  g_assert_false (json_object_get_boolean_member (json_node_get_object (r), "installed"));
  g_clear_pointer (&r, json_node_unref);
  g_free (take_calls (f));

  r = cw_test_daemon_call (client, "service_install", "{\"mode\":\"user\"}");
  o = json_node_get_object (r);
  g_assert_true (json_object_get_boolean_member (o, "installed"));
  g_assert_true (json_object_get_boolean_member (o, "running"));
  /* The daemon sees itself through the unit's endpoint. */
  g_assert_cmpstr (
      json_object_get_string_member (json_object_get_object_member (o, "health"), "status"), ==,
      "healthy");
  calls = take_calls (f);
  g_assert_cmpstr (calls, ==,
                   "Reload ()\n"
                   "EnableUnitFiles (['coworkd.service'], false, true)\n"
                   "Subscribe ()\n"
                   "StartUnit ('coworkd.service', 'replace')\n"
                   "GetUnitFileState ('coworkd.service',)\n"
                   "GetUnit ('coworkd.service',)\n");
  g_clear_pointer (&r, json_node_unref);

  call_error (client, "service_set_mode", "{\"mode\":\"system-wide\"}", &message);
  g_assert_nonnull (strstr (message, "confirm:true"));
  g_clear_pointer (&message, g_free);
  call_error (client, "service_set_mode", "{\"mode\":\"root\"}", &message);
  g_assert_cmpstr (message, ==, "Invalid service mode 'root'. Expected 'user' or 'system'.");
  g_clear_pointer (&calls, g_free);
  calls = take_calls (f);
  g_assert_cmpstr (calls, ==, "");

  r = cw_test_daemon_call (client, "service_set_mode",
                           "{\"mode\":\"System_Wide\",\"confirm\":true}");
  o = json_node_get_object (r);
  g_assert_cmpstr (json_object_get_string_member (o, "mode"), ==, "system");
  g_assert_cmpstr (json_object_get_string_member (o, "previousMode"), ==, "user");
  g_assert_true (json_object_get_boolean_member (o, "stopped"));
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (o, "leftBehind")), >=, 2);
  g_clear_pointer (&r, json_node_unref);
  r = cw_test_daemon_call (client, "audit_list", NULL);
  o = json_array_get_object_element (
      json_object_get_array_member (json_node_get_object (r), "entries"), 0);
  g_assert_cmpstr (json_object_get_string_member (o, "action"), ==, "service_mode_switch");
  g_clear_pointer (&r, json_node_unref);

  r = cw_test_daemon_call (client, "service_uninstall", "{\"mode\":\"user\"}");
  g_assert_false (json_object_get_boolean_member (json_node_get_object (r), "installed"));
}

static void
on_abort (int signum)
{
  /* Async-signal-safe only: take the daemons and helpers of this test down with it, or they
   * would hold meson's output pipes open until the timeout. */
  signal (SIGTERM, SIG_IGN);
  killpg (0, SIGTERM);
  signal (signum, SIG_DFL);
  raise (signum);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  /* Only inside the session meson gives each test, never a shell's job. */
  if (getsid (0) == getpgrp ())
    {
      signal (SIGABRT, on_abort);
      signal (SIGTRAP, on_abort);
    }
  if (g_getenv ("DBUS_SESSION_BUS_ADDRESS") == NULL)
    {
      g_printerr ("needs a session bus: run under dbus-run-session\n");
      return 77;
    }
#define ADD(path, func)                                                                            \
  g_test_add ("/cowork/service/manage/" path, Fixture, NULL, setup, func, teardown)
  ADD ("user-install-status-uninstall", test_user_install_status_uninstall);
  ADD ("dry-run", test_dry_run);
  ADD ("system-scope", test_system_scope);
  ADD ("start-not-installed", test_start_not_installed);
  ADD ("systemd-failure", test_systemd_failure);
  ADD ("systemd-unreachable", test_systemd_unreachable);
  ADD ("job-failure", test_job_failure);
  ADD ("vendor-unit", test_vendor_unit);
  ADD ("system-never-in-home", test_system_never_in_home);
  ADD ("set-mode", test_set_mode);
  ADD ("daemon-commands", test_daemon_commands);
#undef ADD
  return g_test_run ();
}
