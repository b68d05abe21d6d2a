/* fake-systemd.c: a small org.freedesktop.systemd1 on the session bus for the service tests.
 *
 * It answers the Manager methods coworkd uses and appends each call, as
 * "Method (args as GVariant text)", to $FAKE_SYSTEMD_LOG. It keeps a little state the way
 * systemd does: EnableUnitFiles fails when the unit file is not in $FAKE_SYSTEMD_UNIT_DIR,
 * GetUnit/StopUnit answer NoSuchUnit for a unit that was never loaded (started or enabled),
 * and the unit object reports ActiveState, SubState and MainPID. Jobs end with JobRemoved
 * ($FAKE_SYSTEMD_JOB_RESULT, default "done"). $FAKE_SYSTEMD_FAIL names one method that fails.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <gio/gio.h>

#define UNIT_PATH "/org/freedesktop/systemd1/unit/coworkd_2eservice"

static const gchar introspection[]
    = "<node>"
      " <interface name='org.freedesktop.systemd1.Manager'>"
      "  <method name='Reload'/>"
      "  <method name='Subscribe'/>"
      "  <signal name='JobRemoved'><arg type='u'/><arg type='o'/><arg type='s'/>"
      "   <arg type='s'/></signal>"
      "  <method name='EnableUnitFiles'><arg type='as' direction='in'/>"
      "   <arg type='b' direction='in'/><arg type='b' direction='in'/>"
      "   <arg type='b' direction='out'/><arg type='a(sss)' direction='out'/></method>"
      "  <method name='DisableUnitFiles'><arg type='as' direction='in'/>"
      "   <arg type='b' direction='in'/><arg type='a(sss)' direction='out'/></method>"
      "  <method name='StartUnit'><arg type='s' direction='in'/><arg type='s' direction='in'/>"
      "   <arg type='o' direction='out'/></method>"
      "  <method name='StopUnit'><arg type='s' direction='in'/><arg type='s' direction='in'/>"
      "   <arg type='o' direction='out'/></method>"
      "  <method name='RestartUnit'><arg type='s' direction='in'/><arg type='s' direction='in'/>"
      "   <arg type='o' direction='out'/></method>"
      "  <method name='GetUnit'><arg type='s' direction='in'/><arg type='o' direction='out'/>"
      "  </method>"
      "  <method name='GetUnitFileState'><arg type='s' direction='in'/>"
      "   <arg type='s' direction='out'/></method>"
      " </interface>"
      "</node>";

static const gchar unit_introspection[] = "<node>"
                                          " <interface name='org.freedesktop.systemd1.Unit'>"
                                          "  <property name='ActiveState' type='s' access='read'/>"
                                          "  <property name='SubState' type='s' access='read'/>"
                                          " </interface>"
                                          " <interface name='org.freedesktop.systemd1.Service'>"
                                          "  <property name='MainPID' type='u' access='read'/>"
                                          " </interface>"
                                          "</node>";

static gboolean enabled, active, loaded;
static guint32 pid;

static void
record (const gchar *method, GVariant *params)
{
  g_autofree gchar *args = g_variant_print (params, FALSE);
  g_autofree gchar *line = g_strdup_printf ("%s %s\n", method, args);
  const gchar *path = g_getenv ("FAKE_SYSTEMD_LOG");
  g_autoptr (GFile) file = g_file_new_for_path (path);
  g_autoptr (GFileOutputStream) out = g_file_append_to (file, G_FILE_CREATE_NONE, NULL, NULL);

  if (out != NULL)
    g_output_stream_write_all (G_OUTPUT_STREAM (out), line, strlen (line), NULL, NULL, NULL);
}

static gboolean
unit_file_exists (void)
{
  g_autofree gchar *path
      = g_build_filename (g_getenv ("FAKE_SYSTEMD_UNIT_DIR"), "coworkd.service", NULL);

  return g_file_test (path, G_FILE_TEST_EXISTS);
}

static void
no_such_unit (GDBusMethodInvocation *inv)
{
  g_dbus_method_invocation_return_dbus_error (inv, "org.freedesktop.systemd1.NoSuchUnit",
                                              "Unit coworkd.service not loaded.");
}

/* Answers with a job, then finishes it the way systemd does: a JobRemoved signal with the
 * result ($FAKE_SYSTEMD_JOB_RESULT, else "done"). */
static void
return_job (GDBusMethodInvocation *inv)
{
  static guint32 next_id = 41;
  const gchar *result = g_getenv ("FAKE_SYSTEMD_JOB_RESULT");
  g_autofree gchar *job = g_strdup_printf ("/org/freedesktop/systemd1/job/%u", ++next_id);
  GDBusConnection *bus = g_dbus_method_invocation_get_connection (inv);

  g_dbus_method_invocation_return_value (inv, g_variant_new ("(o)", job));
  g_dbus_connection_emit_signal (
      bus, NULL, "/org/freedesktop/systemd1", "org.freedesktop.systemd1.Manager", "JobRemoved",
      g_variant_new ("(uoss)", next_id, job, "coworkd.service", result != NULL ? result : "done"),
      NULL);
}

static void
on_method (GDBusConnection *bus, const gchar *sender, const gchar *path, const gchar *iface,
           const gchar *method, GVariant *params, GDBusMethodInvocation *inv, gpointer data)
{
  record (method, params);
  if (g_strcmp0 (g_getenv ("FAKE_SYSTEMD_FAIL"), method) == 0)
    {
      g_dbus_method_invocation_return_dbus_error (inv, "org.freedesktop.systemd1.JobFailed",
                                                  "fake failure");
      return;
    }
  if (g_strcmp0 (method, "Reload") == 0 || g_strcmp0 (method, "Subscribe") == 0)
    g_dbus_method_invocation_return_value (inv, NULL);
  else if (g_strcmp0 (method, "EnableUnitFiles") == 0)
    {
      if (!unit_file_exists ())
        {
          g_dbus_method_invocation_return_dbus_error (inv,
                                                      "org.freedesktop.DBus.Error.FileNotFound",
                                                      "Unit file coworkd.service does not exist.");
          return;
        }
      enabled = loaded = TRUE;
      g_dbus_method_invocation_return_value (
          inv,
          g_variant_new_parsed ("(false, [('symlink', '/x/default.target.wants/coworkd.service', "
                                "'/x/coworkd.service')])"));
    }
  else if (g_strcmp0 (method, "DisableUnitFiles") == 0)
    {
      enabled = FALSE;
      g_dbus_method_invocation_return_value (inv, g_variant_new_parsed ("(@a(sss) [],)"));
    }
  else if (g_strcmp0 (method, "StartUnit") == 0 || g_strcmp0 (method, "RestartUnit") == 0)
    {
      if (!unit_file_exists ())
        {
          no_such_unit (inv);
          return;
        }
      active = loaded = TRUE;
      pid = 4242;
      return_job (inv);
    }
  else if (g_strcmp0 (method, "StopUnit") == 0)
    {
      if (!loaded)
        {
          no_such_unit (inv);
          return;
        }
      active = FALSE;
      pid = 0;
      return_job (inv);
    }
  else if (g_strcmp0 (method, "GetUnit") == 0)
    {
      if (!loaded)
        no_such_unit (inv);
      else
        g_dbus_method_invocation_return_value (inv, g_variant_new ("(o)", UNIT_PATH));
    }
  else if (g_strcmp0 (method, "GetUnitFileState") == 0)
    {
      if (!unit_file_exists ())
        no_such_unit (inv);
      else
        g_dbus_method_invocation_return_value (
            inv, g_variant_new ("(s)", enabled ? "enabled" : "disabled"));
    }
}

static GVariant *
on_get_property (GDBusConnection *bus, const gchar *sender, const gchar *path, const gchar *iface,
                 const gchar *name, GError **error, gpointer data)
{
  if (g_strcmp0 (name, "ActiveState") == 0)
    return g_variant_new_string (active ? "active" : "inactive");
  if (g_strcmp0 (name, "SubState") == 0)
    return g_variant_new_string (active ? "running" : "dead");
  return g_variant_new_uint32 (pid);
}

static const GDBusInterfaceVTable manager_vtable = { on_method, NULL, NULL };
static const GDBusInterfaceVTable unit_vtable = { NULL, on_get_property, NULL };

static void
on_name_lost (GDBusConnection *bus, const gchar *name, gpointer loop)
{
  g_printerr ("fake-systemd: lost %s\n", name);
  g_main_loop_quit (loop);
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GDBusNodeInfo) manager = g_dbus_node_info_new_for_xml (introspection, &error);
  g_autoptr (GDBusNodeInfo) unit = g_dbus_node_info_new_for_xml (unit_introspection, NULL);
  g_autoptr (GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr (GDBusConnection) bus = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, &error);

  if (bus == NULL || g_getenv ("FAKE_SYSTEMD_LOG") == NULL)
    {
      g_printerr ("fake-systemd: %s\n", error ? error->message : "FAKE_SYSTEMD_LOG is not set");
      return 1;
    }
  g_dbus_connection_register_object (bus, "/org/freedesktop/systemd1", manager->interfaces[0],
                                     &manager_vtable, NULL, NULL, &error);
  g_dbus_connection_register_object (bus, UNIT_PATH, unit->interfaces[0], &unit_vtable, NULL, NULL,
                                     &error);
  g_dbus_connection_register_object (bus, UNIT_PATH, unit->interfaces[1], &unit_vtable, NULL, NULL,
                                     &error);
  g_assert_no_error (error);
  g_bus_own_name_on_connection (bus, "org.freedesktop.systemd1", G_BUS_NAME_OWNER_FLAGS_NONE, NULL,
                                on_name_lost, loop, NULL);
  g_main_loop_run (loop);
  return 0;
}
