/* cw-dbus-test.c: private buses and client tools for the D-Bus tests.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-dbus-test.h"

#include <glib/gstdio.h>
#include <signal.h>
#include <unistd.h>

static gchar *
socket_path (CwTestBus *self)
{
  return g_build_filename (self->dir, "bus", NULL);
}

CwTestBus *
cw_test_bus_new (const gchar *type, const gchar *policy_xml, const gchar *servicedir)
{
  CwTestBus *self = g_new0 (CwTestBus, 1);
  g_autoptr (GError) error = NULL;
  g_autofree gchar *path = NULL;
  g_autofree gchar *service_xml = NULL;
  g_autofree gchar *config = NULL;

  self->dir = g_dir_make_tmp ("coworkd-bus-XXXXXX", &error);
  g_assert_no_error (error);
  /* Other uids (the tests' "nobody") must reach the socket. */
  g_chmod (self->dir, 0755);
  path = socket_path (self);
  service_xml = servicedir != NULL ? g_strdup_printf ("<servicedir>%s</servicedir>", servicedir)
                                   : g_strdup ("");
  config = g_strdup_printf (
      "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN\"\n"
      " \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
      "<busconfig>\n  <type>%s</type>\n  <listen>unix:path=%s</listen>\n"
      "  <auth>EXTERNAL</auth>\n  %s\n%s\n</busconfig>\n",
      type, path, service_xml, policy_xml);
  self->config = g_build_filename (self->dir, "bus.conf", NULL);
  g_file_set_contents (self->config, config, -1, &error);
  g_assert_no_error (error);
  self->address = g_strdup_printf ("unix:path=%s", path);
  cw_test_bus_start (self);
  return self;
}

void
cw_test_bus_start (CwTestBus *self)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *config_arg = g_strdup_printf ("--config-file=%s", self->config);
  g_autofree gchar *path = socket_path (self);
  g_autofree gchar *line = NULL;
  g_autoptr (GDataInputStream) in = NULL;
  g_autoptr (GSubprocessLauncher) launcher = NULL;

  g_assert_null (self->proc);
  g_unlink (path);
  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  /* What activated services inherit. */
  g_subprocess_launcher_setenv (launcher, "DBUS_SESSION_BUS_ADDRESS", self->address, TRUE);
  self->proc = g_subprocess_launcher_spawn (launcher, &error, "dbus-daemon", config_arg, "--nofork",
                                            "--print-address=1", NULL);
  g_assert_no_error (error);
  /* The address is printed once the bus listens: the bus is ready when the line is read. */
  in = g_data_input_stream_new (g_subprocess_get_stdout_pipe (self->proc));
  line = g_data_input_stream_read_line (in, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (line);
}

void
cw_test_bus_kill (CwTestBus *self)
{
  if (self->proc == NULL)
    return;
  g_subprocess_send_signal (self->proc, SIGTERM);
  g_subprocess_wait (self->proc, NULL, NULL);
  g_clear_object (&self->proc);
}

void
cw_test_bus_free (CwTestBus *self)
{
  cw_test_bus_kill (self);
  cw_test_rm_rf (self->dir);
  g_free (self->dir);
  g_free (self->config);
  g_free (self->address);
  g_free (self);
}

GDBusConnection *
cw_test_bus_connect (const gchar *address)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *session = NULL;
  GDBusConnection *connection;

  if (address == NULL)
    {
      session = g_dbus_address_get_for_bus_sync (G_BUS_TYPE_SESSION, NULL, &error);
      g_assert_no_error (error);
      address = session;
    }
  connection = g_dbus_connection_new_for_address_sync (
      address,
      G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT
          | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
      NULL, NULL, &error);
  g_assert_no_error (error);
  return connection;
}

static gboolean
on_timeout (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

gboolean
cw_test_spin_until (gboolean *done, guint timeout_s)
{
  gboolean timed_out = FALSE;
  guint id = g_timeout_add_seconds (timeout_s, on_timeout, &timed_out);

  while (!*done && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  if (!timed_out)
    g_source_remove (id);
  return *done;
}

typedef struct
{
  gboolean want_owned;
  gboolean done;
} NameWait;

static void
on_appeared (GDBusConnection *c, const gchar *name, const gchar *owner, gpointer user_data)
{
  NameWait *w = user_data;

  if (w->want_owned)
    w->done = TRUE;
}

static void
on_vanished (GDBusConnection *c, const gchar *name, gpointer user_data)
{
  NameWait *w = user_data;

  if (!w->want_owned)
    w->done = TRUE;
}

gboolean
cw_test_wait_name (GDBusConnection *connection, const gchar *name, gboolean owned, guint timeout_s)
{
  NameWait w = { owned, FALSE };
  guint id = g_bus_watch_name_on_connection (connection, name, G_BUS_NAME_WATCHER_FLAGS_NONE,
                                             on_appeared, on_vanished, &w, NULL);

  cw_test_spin_until (&w.done, timeout_s);
  g_bus_unwatch_name (id);
  return w.done;
}

gint
cw_test_run (const gchar *const *argv, gchar **env, gchar **out, gchar **err)
{
  g_autoptr (GError) error = NULL;
  gint status = 0;

  g_spawn_sync (NULL, (gchar **) argv, env, G_SPAWN_SEARCH_PATH, NULL, NULL, out, err, &status,
                &error);
  g_assert_no_error (error);
  if (!WIFEXITED (status))
    return -1;
  return WEXITSTATUS (status);
}

JsonNode *
cw_test_dbus_call (GDBusConnection *connection, const gchar *command, const gchar *params_json,
                   GError **error)
{
  g_autoptr (GVariant) reply = NULL;
  const gchar *text;

  reply = g_dbus_connection_call_sync (
      connection, CW_TEST_NAME, CW_TEST_PATH, CW_TEST_IFACE, "Call",
      g_variant_new ("(ss)", command, params_json != NULL ? params_json : ""),
      G_VARIANT_TYPE ("(s)"), G_DBUS_CALL_FLAGS_NONE, 20000, NULL, error);
  if (reply == NULL)
    return NULL;
  g_variant_get (reply, "(&s)", &text);
  return cw_json_from_string (text, -1, error);
}

struct _CwTestEventLog
{
  GDBusConnection *connection;
  guint sub;
  GHashTable *seen;
};

static void
on_logged_event (GDBusConnection *c, const gchar *sender, const gchar *path, const gchar *iface,
                 const gchar *signal, GVariant *params, gpointer user_data)
{
  CwTestEventLog *self = user_data;
  const gchar *type, *session_id, *data_json;
  guint64 seq;
  gint64 timestamp;
  g_autoptr (JsonNode) data = NULL;
  JsonObject *obj;

  g_variant_get (params, "(t&s&s&sx)", &seq, &type, &session_id, &data_json, &timestamp);
  g_hash_table_add (self->seen, g_strdup (type));
  data = cw_json_from_string (data_json, -1, NULL);
  obj = data != NULL && JSON_NODE_HOLDS_OBJECT (data) ? json_node_get_object (data) : NULL;
  if (obj != NULL && json_object_has_member (obj, "interaction"))
    g_hash_table_add (
        self->seen,
        g_strdup_printf ("%s:%s", type,
                         json_object_get_string_member (
                             json_object_get_object_member (obj, "interaction"), "id")));
}

CwTestEventLog *
cw_test_event_log_new (GDBusConnection *connection)
{
  CwTestEventLog *self = g_new0 (CwTestEventLog, 1);

  self->connection = g_object_ref (connection);
  self->seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->sub = g_dbus_connection_signal_subscribe (connection, CW_TEST_NAME, CW_TEST_IFACE, "Event",
                                                  CW_TEST_PATH, NULL, G_DBUS_SIGNAL_FLAGS_NONE,
                                                  on_logged_event, self, NULL);
  return self;
}

gboolean
cw_test_event_log_wait (CwTestEventLog *self, const gchar *entry, guint timeout_s)
{
  gint64 deadline = g_get_monotonic_time () + timeout_s * G_TIME_SPAN_SECOND;

  while (!g_hash_table_contains (self->seen, entry) && g_get_monotonic_time () < deadline)
    if (!g_main_context_iteration (NULL, FALSE))
      g_usleep (2000);
  return g_hash_table_contains (self->seen, entry);
}

void
cw_test_event_log_free (CwTestEventLog *self)
{
  if (self == NULL)
    return;
  g_dbus_connection_signal_unsubscribe (self->connection, self->sub);
  g_object_unref (self->connection);
  g_hash_table_unref (self->seen);
  g_free (self);
}

gchar *
cw_test_source_path (const gchar *relative)
{
  const gchar *srcdir = g_getenv ("G_TEST_SRCDIR");

  g_assert_nonnull (srcdir);
  return g_build_filename (srcdir, "..", relative, NULL);
}

static void
on_abort (int signum)
{
  /* Only async-signal-safe calls here. We ignore the SIGTERM we send ourselves. */
  signal (SIGTERM, SIG_IGN);
  killpg (0, SIGTERM);
  signal (signum, SIG_DFL);
  raise (signum);
}

void
cw_test_dbus_init (void)
{
  /* meson runs each test in a session of its own (setsid): when an assertion aborts, take
   * the test's buses, daemons and monitors down too, or they would keep meson's output pipes
   * open until the timeout. Outside such a session (a shell's job) leave the group alone. */
  if (getsid (0) == getpgrp ())
    signal (SIGABRT, on_abort);
}
