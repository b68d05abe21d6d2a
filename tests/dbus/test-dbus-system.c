/* test-dbus-system.c: coworkd in system mode on a private system-like bus that uses the
 * repository's own policy file (data/org.cowork.Daemon.conf). A client running as nobody
 * (setpriv) is refused, root is allowed, and the daemon's own credentials check holds even
 * when the bus lets everything through. Needs root, as in CI.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "cw-dbus-test.h"
#include "cw-token-private.h"

#include <unistd.h>

#define ACCESS_DENIED "org.freedesktop.DBus.Error.AccessDenied"

/* The parts of Debian's system.conf that matter, then the repository's policy. */
static const gchar system_policy[]
    = "  <policy context=\"default\">\n"
      "    <allow user=\"*\"/>\n"
      "    <deny own=\"*\"/>\n"
      "    <deny send_type=\"method_call\"/>\n"
      "    <allow send_type=\"signal\"/>\n"
      "    <allow send_requested_reply=\"true\" send_type=\"method_return\"/>\n"
      "    <allow send_requested_reply=\"true\" send_type=\"error\"/>\n"
      "    <allow receive_type=\"method_call\"/>\n"
      "    <allow receive_type=\"method_return\"/>\n"
      "    <allow receive_type=\"error\"/>\n"
      "    <allow receive_type=\"signal\"/>\n"
      "    <allow send_destination=\"org.freedesktop.DBus\"\n"
      "           send_interface=\"org.freedesktop.DBus\"/>\n"
      "    <allow send_destination=\"org.freedesktop.DBus\"\n"
      "           send_interface=\"org.freedesktop.DBus.Introspectable\"/>\n"
      "  </policy>\n"
      "  <include>%s</include>\n";

/* A bus that lets everyone send anything: only coworkd's own check stands. */
static const gchar open_policy[] = "  <policy context=\"default\">\n"
                                   "    <allow user=\"*\"/>\n"
                                   "    <allow own=\"*\"/>\n"
                                   "    <allow send_destination=\"*\"/>\n"
                                   "    <allow receive_sender=\"*\"/>\n"
                                   "  </policy>\n";

static CwTestBus *
system_bus_with_repo_policy (void)
{
  g_autofree gchar *policy_file = cw_test_source_path ("data/org.cowork.Daemon.conf");
  g_autofree gchar *policy = NULL;

  g_assert_true (g_file_test (policy_file, G_FILE_TEST_EXISTS));
  policy = g_strdup_printf (system_policy, policy_file);
  return cw_test_bus_new ("system", policy, NULL);
}

static CwTestDaemon *
start_system_daemon (CwTestBus *bus, const gchar *group)
{
  CwTestDaemon *d = cw_test_daemon_new ();
  g_autofree gchar *config = g_build_filename (d->dir, "coworkd.conf", NULL);
  g_autofree gchar *config_text = g_strdup_printf ("[daemon]\ngroup=%s\n", group);
  g_autoptr (GDBusConnection) connection = NULL;
  g_autoptr (GError) error = NULL;

  g_file_set_contents (config, config_text, -1, &error);
  g_assert_no_error (error);
  cw_test_daemon_add_arg (d, "--mode");
  cw_test_daemon_add_arg (d, "system");
  cw_test_daemon_add_arg (d, "--dbus");
  cw_test_daemon_add_arg (d, "system");
  cw_test_daemon_add_arg (d, "--endpoint");
  cw_test_daemon_add_arg (d, d->endpoint);
  cw_test_daemon_setenv (d, "DBUS_SYSTEM_BUS_ADDRESS", bus->address);
  cw_test_daemon_setenv (d, "COWORK_CONFIG_FILE", config);
  cw_test_daemon_start (d);
  connection = cw_test_bus_connect (bus->address);
  g_assert_true (cw_test_wait_name (connection, CW_TEST_NAME, TRUE, 10));
  return d;
}

/* Runs gdbus against @bus, as root or as nobody:nogroup with no other groups. */
static gint
run_gdbus (CwTestBus *bus, gboolean as_nobody, const gchar *const *args, gchar **out, gchar **err)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_auto (GStrv) env
      = g_environ_setenv (g_get_environ (), "DBUS_SYSTEM_BUS_ADDRESS", bus->address, TRUE);

  if (as_nobody)
    {
      g_ptr_array_add (argv, "setpriv");
      g_ptr_array_add (argv, "--reuid=nobody");
      g_ptr_array_add (argv, "--regid=nogroup");
      g_ptr_array_add (argv, "--clear-groups");
    }
  g_ptr_array_add (argv, "gdbus");
  g_ptr_array_add (argv, "call");
  g_ptr_array_add (argv, "--system");
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);
  return cw_test_run ((const gchar *const *) argv->pdata, env, out, err);
}

#define DEST "--dest", CW_TEST_NAME, "--object-path", CW_TEST_PATH, "--method"

static void
expect_denied (CwTestBus *bus, const gchar *const *args, const gchar *message)
{
  g_autofree gchar *out = NULL, *err = NULL;

  g_assert_cmpint (run_gdbus (bus, TRUE, args, &out, &err), !=, 0);
  g_assert_nonnull (strstr (err, ACCESS_DENIED));
  if (message != NULL)
    g_assert_nonnull (strstr (err, message));
}

static gchar *
expect_allowed (CwTestBus *bus, gboolean as_nobody, const gchar *const *args)
{
  g_autofree gchar *err = NULL;
  gchar *out = NULL;
  gint status = run_gdbus (bus, as_nobody, args, &out, &err);

  if (status != 0)
    g_error ("gdbus failed: %s", err);
  return out;
}

static void
test_repo_policy (void)
{
  g_autoptr (CwTestBus) bus = system_bus_with_repo_policy ();
  g_autoptr (CwTestDaemon) d = start_system_daemon (bus, "cowork");
  g_autofree gchar *out = NULL;
  const gchar *ping[] = { DEST, CW_TEST_IFACE ".Call", "ping", "", NULL };
  const gchar *since[] = { DEST, CW_TEST_IFACE ".GetEventsSince", "0", "10", NULL };
  const gchar *version[]
      = { DEST, "org.freedesktop.DBus.Properties.Get", CW_TEST_IFACE, "Version", NULL };
  const gchar *boot_id[]
      = { DEST, "org.freedesktop.DBus.Properties.Get", CW_TEST_IFACE, "BootId", NULL };
  const gchar *get_all[] = { DEST, "org.freedesktop.DBus.Properties.GetAll", CW_TEST_IFACE, NULL };
  const gchar *list[] = { DEST, CW_TEST_IFACE ".ListCommands", NULL };
  const gchar *own[] = { "--dest",
                         "org.freedesktop.DBus",
                         "--object-path",
                         "/org/freedesktop/DBus",
                         "--method",
                         "org.freedesktop.DBus.RequestName",
                         CW_TEST_NAME,
                         "4",
                         NULL };

  /* root may do everything */
  out = expect_allowed (bus, FALSE, ping);
  g_assert_true (g_str_has_prefix (out, "('{\"pong\":true,"));
  g_clear_pointer (&out, g_free);
  out = expect_allowed (bus, FALSE, since);
  g_assert_nonnull (strstr (out, "daemon:ready"));
  g_clear_pointer (&out, g_free);

  /* nobody: refused by the bus policy for Call and GetEventsSince ... */
  expect_denied (bus, ping, NULL);
  expect_denied (bus, since, NULL);
  /* ... refused by coworkd itself for a restricted property the policy lets through ... */
  expect_denied (bus, boot_id, "access denied: Get is open only");
  /* ... may not own the name ... */
  expect_denied (bus, own, NULL);
  /* ... and may use the open members. */
  out = expect_allowed (bus, TRUE, version);
  g_assert_cmpstr (out, ==, "(<'" PACKAGE_VERSION "'>,)\n");
  g_clear_pointer (&out, g_free);
  out = expect_allowed (bus, TRUE, list);
  g_assert_nonnull (strstr (out, "'ping'"));
  g_clear_pointer (&out, g_free);
  out = expect_allowed (bus, TRUE, get_all);
  g_assert_nonnull (strstr (out, "'Version'"));
  g_assert_nonnull (strstr (out, "'Ready'"));
  g_assert_null (strstr (out, "'BootId'"));
  g_assert_null (strstr (out, "'EventCursor'"));
  g_clear_pointer (&out, g_free);
  /* root sees them all */
  out = expect_allowed (bus, FALSE, get_all);
  g_assert_nonnull (strstr (out, "'BootId'"));
  g_assert_nonnull (strstr (out, "'EventCursor'"));
}

/* With a bus that filters nothing, coworkd refuses nobody from its credentials, and lets
 * a member of the configured group in. */
static void
test_daemon_check (void)
{
  g_autoptr (CwTestBus) bus = cw_test_bus_new ("system", open_policy, NULL);
  g_autoptr (CwTestDaemon) d = start_system_daemon (bus, "cowork");
  g_autoptr (CwTestDaemon) d2 = NULL;
  g_autoptr (GDBusConnection) connection = cw_test_bus_connect (bus->address);
  g_autofree gchar *out = NULL;
  const gchar *ping[] = { DEST, CW_TEST_IFACE ".Call", "ping", "", NULL };
  const gchar *state[] = { DEST, CW_TEST_IFACE ".GetBootstrapState", NULL };

  expect_denied (bus, ping, "access denied: Call is open only");
  expect_denied (bus, state, "access denied: GetBootstrapState is open only");
  out = expect_allowed (bus, FALSE, ping);
  g_assert_true (g_str_has_prefix (out, "('{\"pong\":true,"));
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (cw_test_daemon_stop (d, SIGTERM), ==, 0);
  g_assert_true (cw_test_wait_name (connection, CW_TEST_NAME, FALSE, 10));

  /* nogroup is nobody's primary group: a member. */
  d2 = start_system_daemon (bus, "nogroup");
  out = expect_allowed (bus, TRUE, ping);
  g_assert_true (g_str_has_prefix (out, "('{\"pong\":true,"));
}

/* gdbus monitor on @bus (as nobody or root), line-buffered so lines come as they happen;
 * returns once it has subscribed (it prints the owner after adding its match rule). */
static GSubprocess *
start_monitor (CwTestBus *bus, gboolean as_nobody, GDataInputStream **out)
{
  g_autoptr (GSubprocessLauncher) launcher
      = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GError) error = NULL;
  GSubprocess *proc;

  if (as_nobody)
    {
      g_ptr_array_add (argv, "setpriv");
      g_ptr_array_add (argv, "--reuid=nobody");
      g_ptr_array_add (argv, "--regid=nogroup");
      g_ptr_array_add (argv, "--clear-groups");
    }
  g_ptr_array_add (argv, "stdbuf");
  g_ptr_array_add (argv, "-oL");
  g_ptr_array_add (argv, "gdbus");
  g_ptr_array_add (argv, "monitor");
  g_ptr_array_add (argv, "--system");
  g_ptr_array_add (argv, "--dest");
  g_ptr_array_add (argv, CW_TEST_NAME);
  g_ptr_array_add (argv, NULL);
  g_subprocess_launcher_setenv (launcher, "DBUS_SYSTEM_BUS_ADDRESS", bus->address, TRUE);
  proc = g_subprocess_launcher_spawnv (launcher, (const gchar *const *) argv->pdata, &error);
  g_assert_no_error (error);
  *out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (proc));
  for (;;)
    {
      g_autofree gchar *line = g_data_input_stream_read_line (*out, NULL, NULL, &error);
      g_assert_no_error (error);
      g_assert_nonnull (line);
      if (strstr (line, "is owned by") != NULL)
        return proc;
    }
}

/* Reads @in until a line containing @until; returns how many lines held @needle before. */
static guint
count_lines_until (GDataInputStream *in, const gchar *needle, const gchar *until)
{
  g_autoptr (GError) error = NULL;
  guint n = 0;

  for (;;)
    {
      g_autofree gchar *line = g_data_input_stream_read_line (in, NULL, NULL, &error);
      g_assert_no_error (error);
      g_assert_nonnull (line);
      if (strstr (line, until) != NULL)
        return n;
      if (strstr (line, needle) != NULL)
        n++;
    }
}

/* Events carry session data: the policy lets root receive the Event signal and nobody not. */
static void
test_signals_private (void)
{
  g_autoptr (CwTestBus) bus = system_bus_with_repo_policy ();
  g_autoptr (CwTestDaemon) d = start_system_daemon (bus, "cowork");
  g_autoptr (GDBusConnection) connection = cw_test_bus_connect (bus->address);
  g_autoptr (GDataInputStream) root_out = NULL, nobody_out = NULL;
  g_autoptr (GSubprocess) root_mon = start_monitor (bus, FALSE, &root_out);
  g_autoptr (GSubprocess) nobody_mon = start_monitor (bus, TRUE, &nobody_out);
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) echo = NULL;

  echo = cw_test_dbus_call (connection, "example_echo", "{\"text\":\"secret\"}", &error);
  g_assert_no_error (error);
  /* root sees the Event ... */
  g_assert_cmpuint (count_lines_until (root_out, "never", "org.cowork.Daemon1.Event"), ==, 0);
  /* ... then the daemon leaves. The bus queues the name change to each monitor after the
   * Event it already handled, so the nobody monitor's lines before "does not have an owner"
   * are all it could ever get of that Event. */
  g_assert_cmpint (cw_test_daemon_stop (d, SIGTERM), ==, 0);
  g_assert_cmpuint (count_lines_until (nobody_out, "org.cowork.Daemon1", "does not have an owner"),
                    ==, 0);
  g_subprocess_force_exit (root_mon);
  g_subprocess_force_exit (nobody_mon);
  g_subprocess_wait (root_mon, NULL, NULL);
  g_subprocess_wait (nobody_mon, NULL, NULL);
}

/* A daemon whose uid the policy does not let own the name keeps running: it serves its
 * socket and health says the name was refused. */
static void
test_name_refused (void)
{
  g_autoptr (CwTestBus) bus = system_bus_with_repo_policy ();
  g_autoptr (CwTestDaemon) d = cw_test_daemon_new ();
  g_autoptr (GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
  g_autoptr (GSubprocess) proc = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (CwClient) client = NULL;
  g_autoptr (JsonNode) health = NULL;
  g_autoptr (JsonNode) pong = NULL;
  g_autofree gchar *config = g_build_filename (d->dir, "coworkd.conf", NULL);
  g_autofree gchar *token = NULL;
  JsonObject *dbus;
  gint64 deadline = g_get_monotonic_time () + 10 * G_TIME_SPAN_SECOND;

  /* The daemon runs as nobody, so its data dir is nobody's. */
  g_assert_cmpint (chown (d->dir, 65534, 65534), ==, 0);
  g_subprocess_launcher_setenv (launcher, "DBUS_SYSTEM_BUS_ADDRESS", bus->address, TRUE);
  g_subprocess_launcher_setenv (launcher, "COWORK_CONFIG_FILE", config, TRUE);
  g_subprocess_launcher_unsetenv (launcher, "NOTIFY_SOCKET");
  proc = g_subprocess_launcher_spawn (
      launcher, &error, "setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
      g_getenv ("COWORKD"), "--mode", "system", "--dbus", "system", "--app-data-dir", d->dir,
      "--endpoint", d->endpoint, "--no-system-plugins", NULL);
  g_assert_no_error (error);

  /* root may use the socket of a daemon run by anyone (peer policy) */
  while ((token = cw_token_read (d->token_file, NULL)) == NULL
         || (client = cw_client_connect (d->endpoint, token, NULL)) == NULL)
    {
      g_clear_pointer (&token, g_free);
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (10000); /* the daemon is starting */
    }
  cw_client_set_timeout (client, 20);
  for (;;)
    {
      g_clear_pointer (&health, json_node_unref);
      health = cw_test_daemon_call (client, "daemon_health", NULL);
      dbus = json_object_get_object_member (json_node_get_object (health), "dbus");
      if (g_strcmp0 (json_object_get_string_member (dbus, "nameState"), "lost") == 0)
        break;
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (10000); /* it asks for the name in the background */
    }
  g_assert_true (json_object_get_boolean_member (dbus, "connected"));
  g_assert_nonnull (
      strstr (json_object_get_string_member (dbus, "lastError"), "not allowed to own"));
  pong = cw_test_daemon_call (client, "ping", NULL);
  g_subprocess_send_signal (proc, SIGTERM);
  g_subprocess_wait_check (proc, NULL, &error);
  g_assert_no_error (error);
}

/* coworkctl --bus --mode system talks to the system bus: root is served, nobody is told it
 * is not allowed. */
static void
test_coworkctl_system (void)
{
  g_autoptr (CwTestBus) bus = system_bus_with_repo_policy ();
  g_autoptr (CwTestDaemon) d = start_system_daemon (bus, "cowork");
  g_auto (GStrv) env
      = g_environ_setenv (g_get_environ (), "DBUS_SYSTEM_BUS_ADDRESS", bus->address, TRUE);
  g_autofree gchar *out = NULL, *err = NULL;
  const gchar *root[]
      = { g_getenv ("COWORKCTL"), "--bus", "--mode", "system", "--json", "call", "example_echo",
          "{\"text\":\"sys\"}",   NULL };
  const gchar *nobody[]
      = { "setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", g_getenv ("COWORKCTL"),
          "--bus",   "--mode",         "system",          "call",           "ping",
          NULL };

  g_assert_cmpint (cw_test_run (root, env, &out, &err), ==, 0);
  g_assert_cmpstr (out, ==, "{\"text\":\"sys\"}\n");
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (cw_test_run (nobody, env, &out, &err), ==, 1);
  g_assert_cmpstr (err, ==,
                   "coworkctl: access denied: only the daemon's user, root and members of its "
                   "group may call it\n");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  cw_test_dbus_init ();
  if (getuid () != 0)
    {
      g_printerr ("needs root (to run clients as nobody)\n");
      return 77;
    }
  g_test_add_func ("/cowork/dbus/system/repo-policy", test_repo_policy);
  g_test_add_func ("/cowork/dbus/system/daemon-check", test_daemon_check);
  g_test_add_func ("/cowork/dbus/system/signals-private", test_signals_private);
  g_test_add_func ("/cowork/dbus/system/name-refused", test_name_refused);
  g_test_add_func ("/cowork/dbus/system/coworkctl", test_coworkctl_system);
  return g_test_run ();
}
