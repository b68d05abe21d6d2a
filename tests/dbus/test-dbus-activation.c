/* test-dbus-activation.c: D-Bus activation from the repository's session service file. A
 * private bus gets a servicedir holding data/org.cowork.Daemon.service.in with its Exec
 * pointed at the built coworkd and a temp app data dir; the first call starts the daemon.
 * Also: losing the bus does not take the daemon down, and it comes back when the bus does.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-dbus-test.h"

#include <signal.h>

static const gchar open_policy[] = "  <policy context=\"default\">\n"
                                   "    <allow user=\"*\"/>\n"
                                   "    <allow own=\"*\"/>\n"
                                   "    <allow send_destination=\"*\"/>\n"
                                   "    <allow receive_sender=\"*\"/>\n"
                                   "  </policy>\n";

/* The repository's service file with @bindir@/coworkd replaced by the built daemon. */
static void
write_service_file (const gchar *servicedir, const gchar *app_data_dir)
{
  g_autofree gchar *template_path = cw_test_source_path ("data/org.cowork.Daemon.service.in");
  g_autofree gchar *template = NULL;
  g_autofree gchar *exec = NULL;
  g_autofree gchar *service = NULL;
  g_autofree gchar *path = g_build_filename (servicedir, "org.cowork.Daemon.service", NULL);
  g_auto (GStrv) plugin_dirs = g_strsplit (g_getenv ("COWORK_TEST_PLUGIN_DIRS"), ":", -1);
  g_autoptr (GString) cmd = g_string_new (g_getenv ("COWORKD"));
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) parts = NULL;

  g_file_get_contents (template_path, &template, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (strstr (template, "Name=org.cowork.Daemon\n"));
  g_string_append_printf (cmd, " --app-data-dir %s --no-system-plugins", app_data_dir);
  for (guint i = 0; plugin_dirs[i] != NULL; i++)
    if (*plugin_dirs[i] != '\0')
      g_string_append_printf (cmd, " --plugin-dir %s", plugin_dirs[i]);
  parts = g_strsplit (template, "@bindir@/coworkd", 2);
  g_assert_cmpuint (g_strv_length (parts), ==, 2);
  service = g_strconcat (parts[0], cmd->str, parts[1], NULL);
  g_file_set_contents (path, service, -1, &error);
  g_assert_no_error (error);
}

static JsonObject *
health_over_bus (GDBusConnection *connection)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) result = cw_test_dbus_call (connection, "daemon_health", NULL, &error);

  g_assert_no_error (error);
  return json_object_ref (json_node_get_object (result));
}

static void
test_activation (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *servicedir = g_dir_make_tmp ("coworkd-services-XXXXXX", &error);
  g_autofree gchar *app_dir = g_dir_make_tmp ("coworkd-activated-XXXXXX", &error);
  g_autofree gchar *socket = g_build_filename (app_dir, "daemon", "agentd.sock", NULL);
  g_autoptr (CwTestBus) bus = NULL;
  g_autoptr (GDBusConnection) connection = NULL;
  g_autoptr (JsonObject) health = NULL;
  gint64 pid;

  g_assert_no_error (error);
  write_service_file (servicedir, app_dir);
  bus = cw_test_bus_new ("session", open_policy, servicedir);
  connection = cw_test_bus_connect (bus->address);
  g_assert_false (cw_test_wait_name (connection, CW_TEST_NAME, TRUE, 1));

  /* The call itself starts coworkd (auto-start is GDBus's default). */
  health = health_over_bus (connection);
  pid = json_object_get_int_member (health, "pid");
  g_assert_cmpint (pid, >, 1);
  g_assert_cmpstr (
      json_object_get_string_member (json_object_get_object_member (health, "dbus"), "bus"), ==,
      "session");
  g_assert_true (g_file_test (socket, G_FILE_TEST_EXISTS)); /* it serves the temp dir */

  /* The bus started it, so it is ours to stop: by its pid, then wait for the name to go. */
  g_assert_cmpint (kill ((pid_t) pid, SIGTERM), ==, 0);
  g_assert_true (cw_test_wait_name (connection, CW_TEST_NAME, FALSE, 10));
  cw_test_rm_rf (servicedir);
  cw_test_rm_rf (app_dir);
}

static void
test_bus_loss (void)
{
  g_autoptr (CwTestBus) bus = cw_test_bus_new ("session", open_policy, NULL);
  g_autoptr (CwTestDaemon) d = cw_test_daemon_new ();
  g_autoptr (GDBusConnection) connection = cw_test_bus_connect (bus->address);
  g_autoptr (GDBusConnection) again = NULL;
  g_autoptr (CwClient) client = NULL;
  g_autoptr (JsonNode) health = NULL;
  g_autoptr (JsonNode) echo = NULL;
  g_autoptr (GError) error = NULL;
  JsonObject *dbus;

  cw_test_daemon_add_arg (d, "--dbus");
  cw_test_daemon_add_arg (d, "session");
  cw_test_daemon_setenv (d, "DBUS_SESSION_BUS_ADDRESS", bus->address);
  cw_test_daemon_start (d);
  g_assert_true (cw_test_wait_name (connection, CW_TEST_NAME, TRUE, 10));

  cw_test_bus_kill (bus);
  /* The socket keeps serving and health tells the bus is gone. */
  client = cw_test_daemon_connect (d);
  for (gint64 deadline = g_get_monotonic_time () + 10 * G_TIME_SPAN_SECOND;;)
    {
      g_clear_pointer (&health, json_node_unref);
      health = cw_test_daemon_call (client, "daemon_health", NULL);
      dbus = json_object_get_object_member (json_node_get_object (health), "dbus");
      if (!json_object_get_boolean_member (dbus, "connected"))
        break;
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (10000); /* the daemon learns of the loss asynchronously */
    }
  g_assert_true (json_object_has_member (dbus, "lastError"));
  echo = cw_test_daemon_call (client, "example_echo", "{\"text\":\"still here\"}");

  /* The bus comes back on the same address: coworkd reconnects and owns the name again. */
  cw_test_bus_start (bus);
  again = cw_test_bus_connect (bus->address);
  g_assert_true (cw_test_wait_name (again, CW_TEST_NAME, TRUE, 15));
  g_clear_pointer (&health, json_node_unref);
  health = cw_test_daemon_call (client, "daemon_health", NULL);
  dbus = json_object_get_object_member (json_node_get_object (health), "dbus");
  g_assert_cmpint (json_object_get_int_member (dbus, "connects"), ==, 2);
  g_clear_pointer (&echo, json_node_unref);
  echo = cw_test_dbus_call (again, "example_echo", "{\"text\":\"back\"}", &error);
  g_assert_no_error (error);
  g_assert_cmpint (cw_test_daemon_stop (d, SIGTERM), ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  cw_test_dbus_init ();
  g_test_add_func ("/cowork/dbus/activation/session-service", test_activation);
  g_test_add_func ("/cowork/dbus/activation/bus-loss", test_bus_loss);
  return g_test_run ();
}
