/* test-dbus-session.c: the real coworkd on a private session bus (run under
 * dbus-run-session), driven by gdbus, busctl, coworkctl --bus and a GDBus client.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "cw-dbus-test.h"
#include "cw-transport-dbus-private.h"

typedef struct
{
  CwTestDaemon *daemon;
  GDBusConnection *connection;
} Fixture;

/* The real coworkd on the session bus; @config_text (may be NULL) becomes its coworkd.conf. */
static void
fixture_start (Fixture *f, const gchar *config_text)
{
  f->connection = cw_test_bus_connect (NULL);
  f->daemon = cw_test_daemon_new ();
  if (config_text != NULL)
    {
      g_autoptr (GError) error = NULL;
      g_autofree gchar *config = g_build_filename (f->daemon->dir, "coworkd.conf", NULL);
      g_file_set_contents (config, config_text, -1, &error);
      g_assert_no_error (error);
    }
  cw_test_daemon_add_arg (f->daemon, "--dbus");
  cw_test_daemon_add_arg (f->daemon, "session");
  cw_test_daemon_start (f->daemon);
  g_assert_true (cw_test_wait_name (f->connection, CW_TEST_NAME, TRUE, 10));
}

static void
fixture_stop (Fixture *f)
{
  g_assert_cmpint (cw_test_daemon_stop (f->daemon, SIGTERM), ==, 0);
  /* The next test's daemon must not meet this one's name. */
  g_assert_true (cw_test_wait_name (f->connection, CW_TEST_NAME, FALSE, 10));
  g_clear_pointer (&f->daemon, cw_test_daemon_free);
  g_clear_object (&f->connection);
}

static JsonObject *
socket_health (CwTestDaemon *d)
{
  g_autoptr (CwClient) client = cw_test_daemon_connect (d);
  g_autoptr (JsonNode) result = cw_test_daemon_call (client, "daemon_health", NULL);

  return json_object_ref (json_node_get_object (result));
}

static gchar *
socket_error (CwTestDaemon *d, const gchar *command, const gchar *params_json)
{
  g_autoptr (CwClient) client = cw_test_daemon_connect (d);
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) params
      = params_json != NULL ? cw_json_from_string (params_json, -1, NULL) : NULL;
  g_autoptr (JsonNode) result = cw_client_call (client, command, params, &error);

  g_assert_null (result);
  g_assert_nonnull (error);
  return g_strdup (error->message);
}

static void
test_gdbus_call (void)
{
  Fixture f = { 0 };
  g_autofree gchar *out = NULL, *err = NULL;
  const gchar *echo[] = { "gdbus",
                          "call",
                          "--session",
                          "--dest",
                          CW_TEST_NAME,
                          "--object-path",
                          CW_TEST_PATH,
                          "--method",
                          CW_TEST_IFACE ".Call",
                          "example_echo",
                          "{\"text\":\"via gdbus\"}",
                          NULL };
  const gchar *unknown[] = { "gdbus",           "call",       "--session",
                             "--dest",          CW_TEST_NAME, "--object-path",
                             CW_TEST_PATH,      "--method",   CW_TEST_IFACE ".Call",
                             "no_such_command", "",           NULL };
  const gchar *version[] = { "gdbus",       "call",       "--session",
                             "--dest",      CW_TEST_NAME, "--object-path",
                             CW_TEST_PATH,  "--method",   "org.freedesktop.DBus.Properties.Get",
                             CW_TEST_IFACE, "Version",    NULL };

  fixture_start (&f, NULL);
  g_assert_cmpint (cw_test_run (echo, NULL, &out, &err), ==, 0);
  g_assert_cmpstr (out, ==, "('{\"text\":\"via gdbus\"}',)\n");
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  g_assert_cmpint (cw_test_run (unknown, NULL, &out, &err), !=, 0);
  g_assert_nonnull (strstr (err, "GDBus.Error:org.cowork.Daemon1.Error.UnknownCommand: "
                                 "Unknown command: no_such_command"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  g_assert_cmpint (cw_test_run (version, NULL, &out, &err), ==, 0);
  g_assert_cmpstr (out, ==, "(<'" PACKAGE_VERSION "'>,)\n");
  fixture_stop (&f);
}

static void
test_busctl (void)
{
  Fixture f = { 0 };
  g_autofree gchar *out = NULL, *err = NULL;
  g_autoptr (JsonNode) reply = NULL;
  g_autoptr (JsonNode) state = NULL;
  JsonArray *data;
  const gchar *ping[] = { "busctl", "--user", "call", CW_TEST_NAME, CW_TEST_PATH, CW_TEST_IFACE,
                          "Call",   "ss",     "ping", "",           NULL };
  const gchar *ready[] = { "busctl",     "--user",      "get-property", CW_TEST_NAME,
                           CW_TEST_PATH, CW_TEST_IFACE, "Ready",        NULL };
  const gchar *list[] = { "busctl",     "--user",      "call",         CW_TEST_NAME,
                          CW_TEST_PATH, CW_TEST_IFACE, "ListCommands", NULL };
  const gchar *bootstrap[]
      = { "busctl",     "--user",      "--json=short",      "call", CW_TEST_NAME,
          CW_TEST_PATH, CW_TEST_IFACE, "GetBootstrapState", NULL };

  fixture_start (&f, NULL);
  g_assert_cmpint (cw_test_run (ping, NULL, &out, &err), ==, 0);
  g_assert_true (g_str_has_prefix (out, "s \"{\\\"pong\\\":true,"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  g_assert_cmpint (cw_test_run (ready, NULL, &out, &err), ==, 0);
  g_assert_cmpstr (out, ==, "b true\n");
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  g_assert_cmpint (cw_test_run (list, NULL, &out, &err), ==, 0);
  g_assert_true (g_str_has_prefix (out, "as "));
  g_assert_nonnull (strstr (out, " \"example_echo\""));
  g_assert_nonnull (strstr (out, " \"daemon_health\""));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  /* {"type":"s","data":["<the bootstrap JSON>"]} */
  g_assert_cmpint (cw_test_run (bootstrap, NULL, &out, &err), ==, 0);
  reply = cw_json_from_string (out, -1, NULL);
  g_assert_nonnull (reply);
  data = json_object_get_array_member (json_node_get_object (reply), "data");
  state = cw_json_from_string (json_array_get_string_element (data, 0), -1, NULL);
  g_assert_nonnull (state);
  g_assert_true (json_object_has_member (json_node_get_object (state), "eventCursor"));
  g_assert_true (json_object_has_member (json_node_get_object (state), "bootId"));
  fixture_stop (&f);
}

/* A failing command gives org.cowork.Daemon1.Error.<Kind> and the socket's message. */
static void
assert_same_error (Fixture *f, const gchar *command, const gchar *params, const gchar *dbus_name,
                   CwError code)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) result = cw_test_dbus_call (f->connection, command, params, &error);
  g_autofree gchar *remote = NULL;
  g_autofree gchar *socket_message = socket_error (f->daemon, command, params);

  g_assert_null (result);
  g_assert_error (error, CW_ERROR, (gint) code);
  remote = g_dbus_error_get_remote_error (error);
  g_assert_cmpstr (remote, ==, dbus_name);
  g_dbus_error_strip_remote_error (error);
  g_assert_cmpstr (error->message, ==, socket_message);
}

static GVariant *
get_property (GDBusConnection *connection, const gchar *name)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply = g_dbus_connection_call_sync (
      connection, CW_TEST_NAME, CW_TEST_PATH, "org.freedesktop.DBus.Properties", "Get",
      g_variant_new ("(ss)", CW_TEST_IFACE, name), G_VARIANT_TYPE ("(v)"), G_DBUS_CALL_FLAGS_NONE,
      10000, NULL, &error);
  GVariant *value;

  g_assert_no_error (error);
  g_variant_get (reply, "(v)", &value);
  return value;
}

static JsonObject *
call_json_method (GDBusConnection *connection, const gchar *method, GVariant *args)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply = g_dbus_connection_call_sync (
      connection, CW_TEST_NAME, CW_TEST_PATH, CW_TEST_IFACE, method, args, G_VARIANT_TYPE ("(s)"),
      G_DBUS_CALL_FLAGS_NONE, 10000, NULL, &error);
  g_autoptr (JsonNode) node = NULL;
  const gchar *text;

  g_assert_no_error (error);
  g_variant_get (reply, "(&s)", &text);
  node = cw_json_from_string (text, -1, &error);
  g_assert_no_error (error);
  return json_object_ref (json_node_get_object (node));
}

static void
test_client (void)
{
  Fixture f = { 0 };
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) list = NULL;
  g_autoptr (GVariant) version = NULL, ready = NULL, boot_id = NULL, cursor = NULL;
  g_autoptr (GVariant) owner = NULL;
  g_autoptr (JsonObject) health = NULL, replay = NULL, bootstrap = NULL;
  g_autoptr (JsonNode) echo = NULL;
  g_autofree const gchar **names = NULL;
  JsonObject *dbus;
  JsonArray *events;

  cw_dbus_register_errors ();
  fixture_start (&f, NULL);

  echo = cw_test_dbus_call (f.connection, "example_echo", "{\"text\":\"hello\"}", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (echo), "text"), ==,
                   "hello");
  assert_same_error (&f, "no_such_command", NULL, "org.cowork.Daemon1.Error.UnknownCommand",
                     CW_ERROR_UNKNOWN_COMMAND);
  assert_same_error (&f, "example_echo", "{}", "org.cowork.Daemon1.Error.InvalidParams",
                     CW_ERROR_INVALID_PARAMS);
  assert_same_error (&f, "example_echo", "[1]", "org.cowork.Daemon1.Error.InvalidParams",
                     CW_ERROR_INVALID_PARAMS);
  {
    g_autoptr (JsonNode) none = cw_test_dbus_call (f.connection, "", NULL, &error);
    g_assert_null (none);
    g_assert_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS);
    g_dbus_error_strip_remote_error (error);
    g_assert_cmpstr (error->message, ==, "command is required");
    g_clear_error (&error);
  }

  list = g_dbus_connection_call_sync (f.connection, CW_TEST_NAME, CW_TEST_PATH, CW_TEST_IFACE,
                                      "ListCommands", NULL, G_VARIANT_TYPE ("(as)"),
                                      G_DBUS_CALL_FLAGS_NONE, 10000, NULL, &error);
  g_assert_no_error (error);
  g_variant_get (list, "(^a&s)", &names);
  g_assert_true (g_strv_contains (names, "example_echo"));
  g_assert_true (g_strv_contains (names, "ping"));
  g_assert_true (g_strv_contains (names, "agent_get_events_since"));

  health = socket_health (f.daemon);
  version = get_property (f.connection, "Version");
  g_assert_cmpstr (g_variant_get_string (version, NULL), ==,
                   json_object_get_string_member (health, "version"));
  ready = get_property (f.connection, "Ready");
  g_assert_true (g_variant_get_boolean (ready));
  boot_id = get_property (f.connection, "BootId");
  g_assert_cmpstr (g_variant_get_string (boot_id, NULL), ==,
                   json_object_get_string_member (health, "bootId"));
  cursor = get_property (f.connection, "EventCursor");
  g_assert_cmpuint (g_variant_get_uint64 (cursor), ==, 2); /* daemon:ready, example:echo */

  replay = call_json_method (f.connection, "GetEventsSince", g_variant_new ("(tu)", 0, 1));
  events = json_object_get_array_member (replay, "events");
  g_assert_cmpuint (json_array_get_length (events), ==, 1);
  g_assert_cmpstr (
      json_object_get_string_member (json_array_get_object_element (events, 0), "type"), ==,
      "daemon:ready");
  g_assert_true (json_object_get_boolean_member (replay, "hasMore"));
  g_clear_pointer (&replay, json_object_unref);
  replay = call_json_method (f.connection, "GetEventsSince", g_variant_new ("(tu)", 1, 0));
  events = json_object_get_array_member (replay, "events");
  g_assert_cmpuint (json_array_get_length (events), ==, 1);
  g_assert_cmpstr (
      json_object_get_string_member (json_array_get_object_element (events, 0), "type"), ==,
      "example:echo");

  bootstrap = call_json_method (f.connection, "GetBootstrapState", NULL);
  g_assert_cmpint (json_object_get_int_member (bootstrap, "eventCursor"), ==, 2);
  g_assert_cmpstr (json_object_get_string_member (bootstrap, "bootId"), ==,
                   json_object_get_string_member (health, "bootId"));

  /* daemon_health shows the bus next to the socket. */
  g_clear_pointer (&health, json_object_unref);
  health = socket_health (f.daemon);
  dbus = json_object_get_object_member (health, "dbus");
  g_assert_nonnull (dbus);
  g_assert_cmpstr (json_object_get_string_member (dbus, "bus"), ==, "session");
  g_assert_true (json_object_get_boolean_member (dbus, "connected"));
  g_assert_cmpstr (json_object_get_string_member (dbus, "nameState"), ==, "owned");
  owner = g_dbus_connection_call_sync (
      f.connection, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
      "GetNameOwner", g_variant_new ("(s)", CW_TEST_NAME), G_VARIANT_TYPE ("(s)"),
      G_DBUS_CALL_FLAGS_NONE, 10000, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (json_object_get_string_member (dbus, "uniqueName"), ==,
                   g_variant_get_string (g_variant_get_child_value (owner, 0), NULL));
  g_assert_cmpint (json_object_get_int_member (dbus, "calls"), >=, 4);
  fixture_stop (&f);
}

typedef struct
{
  GArray *seqs;     /* gint64 */
  GPtrArray *texts; /* example:echo texts, in arrival order */
  guint64 cursor_announced;
  guint want;
  gboolean done;
  gboolean cursor_seen;
  guint64 want_cursor;
} EventLog;

static void
on_event_signal (GDBusConnection *c, const gchar *sender, const gchar *path, const gchar *iface,
                 const gchar *signal, GVariant *params, gpointer user_data)
{
  EventLog *log = user_data;
  const gchar *type, *session_id, *data_json;
  guint64 seq;
  gint64 timestamp;
  g_autoptr (JsonNode) data = NULL;

  g_variant_get (params, "(t&s&s&sx)", &seq, &type, &session_id, &data_json, &timestamp);
  g_assert_cmpint (timestamp, >, 0);
  g_array_append_val (log->seqs, seq);
  if (g_strcmp0 (type, "example:echo") != 0)
    return;
  g_assert_cmpstr (session_id, ==, "");
  data = cw_json_from_string (data_json, -1, NULL);
  g_assert_nonnull (data);
  g_ptr_array_add (log->texts,
                   g_strdup (json_object_get_string_member (json_node_get_object (data), "text")));
  if (log->texts->len == log->want)
    log->done = TRUE;
}

static void
on_properties_changed (GDBusConnection *c, const gchar *sender, const gchar *path,
                       const gchar *iface, const gchar *signal, GVariant *params,
                       gpointer user_data)
{
  EventLog *log = user_data;
  g_autoptr (GVariant) changed = g_variant_get_child_value (params, 1);
  guint64 cursor;

  if (g_variant_lookup (changed, "EventCursor", "t", &cursor))
    {
      /* The announced cursor never goes backwards. */
      g_assert_cmpuint (cursor, >=, log->cursor_announced);
      log->cursor_announced = cursor;
      if (log->want_cursor != 0 && cursor >= log->want_cursor)
        log->cursor_seen = TRUE;
    }
}

static void
on_echo_reply (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply
      = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), res, &error);

  g_assert_no_error (error);
}

static void
on_counted_reply (GObject *source, GAsyncResult *res, gpointer user_data)
{
  guint *pending = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply
      = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), res, &error);

  g_assert_no_error (error);
  (*pending)--;
}

/* Events from many pipelined example_echo calls arrive as Event signals, each once, in
 * seq order, matching what is stored; EventCursor follows. */
static void
test_event_order (void)
{
  Fixture f = { 0 };
  EventLog log = { 0 };
  g_autoptr (JsonObject) replay = NULL;
  JsonArray *events;
  guint sub, props_sub;
  const guint n = 300;

  fixture_start (&f, NULL);
  log.seqs = g_array_new (FALSE, FALSE, sizeof (guint64));
  log.texts = g_ptr_array_new_with_free_func (g_free);
  log.want = n;
  sub = g_dbus_connection_signal_subscribe (f.connection, CW_TEST_NAME, CW_TEST_IFACE, "Event",
                                            CW_TEST_PATH, NULL, G_DBUS_SIGNAL_FLAGS_NONE,
                                            on_event_signal, &log, NULL);
  props_sub = g_dbus_connection_signal_subscribe (
      f.connection, CW_TEST_NAME, "org.freedesktop.DBus.Properties", "PropertiesChanged",
      CW_TEST_PATH, CW_TEST_IFACE, G_DBUS_SIGNAL_FLAGS_NONE, on_properties_changed, &log, NULL);
  /* A round trip so both match rules are in place before the first event. */
  g_assert_true (cw_test_wait_name (f.connection, CW_TEST_NAME, TRUE, 5));
  for (guint i = 0; i < n; i++)
    {
      g_autofree gchar *params = g_strdup_printf ("{\"text\":\"msg-%u\"}", i);
      g_dbus_connection_call (f.connection, CW_TEST_NAME, CW_TEST_PATH, CW_TEST_IFACE, "Call",
                              g_variant_new ("(ss)", "example_echo", params),
                              G_VARIANT_TYPE ("(s)"), G_DBUS_CALL_FLAGS_NONE, 20000, NULL,
                              on_echo_reply, NULL);
    }
  g_assert_true (cw_test_spin_until (&log.done, 20));

  for (guint i = 0; i < n; i++)
    {
      g_autofree gchar *expected = g_strdup_printf ("msg-%u", i);
      g_assert_cmpstr (g_ptr_array_index (log.texts, i), ==, expected);
    }
  for (guint i = 1; i < log.seqs->len; i++)
    g_assert_cmpuint (g_array_index (log.seqs, guint64, i), ==,
                      g_array_index (log.seqs, guint64, i - 1) + 1);

  /* The signals carry exactly the stored events. */
  replay = call_json_method (f.connection, "GetEventsSince",
                             g_variant_new ("(tu)", g_array_index (log.seqs, guint64, 0) - 1, 0));
  events = json_object_get_array_member (replay, "events");
  g_assert_cmpuint (json_array_get_length (events), ==, log.seqs->len);
  for (guint i = 0; i < log.seqs->len; i++)
    g_assert_cmpint (json_object_get_int_member (json_array_get_object_element (events, i), "seq"),
                     ==, (gint64) g_array_index (log.seqs, guint64, i));

  /* EventCursor is announced (rate-limited) up to the last seq. */
  log.want_cursor = g_array_index (log.seqs, guint64, log.seqs->len - 1);
  log.cursor_seen = log.cursor_announced >= log.want_cursor;
  g_assert_true (cw_test_spin_until (&log.cursor_seen, 5));

  g_dbus_connection_signal_unsubscribe (f.connection, sub);
  g_dbus_connection_signal_unsubscribe (f.connection, props_sub);
  g_array_unref (log.seqs);
  g_ptr_array_unref (log.texts);
  fixture_stop (&f);
}

/* A second daemon on the same bus waits in the name queue, keeps serving its socket, shows
 * it in health, and takes the name when the first one stops. */
static void
test_name_queue (void)
{
  Fixture f = { 0 };
  g_autoptr (CwTestDaemon) second = cw_test_daemon_new ();
  g_autoptr (JsonObject) health = NULL;
  g_autoptr (GVariant) owner = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree gchar *second_unique = NULL;
  JsonObject *dbus;

  fixture_start (&f, NULL);
  cw_test_daemon_add_arg (second, "--dbus");
  cw_test_daemon_add_arg (second, "session");
  cw_test_daemon_start (second);
  for (gint64 deadline = g_get_monotonic_time () + 10 * G_TIME_SPAN_SECOND;;)
    {
      g_clear_pointer (&health, json_object_unref);
      health = socket_health (second);
      dbus = json_object_get_object_member (health, "dbus");
      if (g_strcmp0 (json_object_get_string_member (dbus, "nameState"), "waiting") == 0
          && json_object_has_member (dbus, "uniqueName"))
        break;
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (10000); /* the second daemon connects in the background */
    }
  second_unique = g_strdup (json_object_get_string_member (dbus, "uniqueName"));

  /* The first one leaves: the bus hands the name to the queued second one. */
  g_assert_cmpint (cw_test_daemon_stop (f.daemon, SIGTERM), ==, 0);
  g_clear_pointer (&f.daemon, cw_test_daemon_free);
  g_assert_true (cw_test_wait_name (f.connection, CW_TEST_NAME, TRUE, 10));
  owner = g_dbus_connection_call_sync (
      f.connection, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
      "GetNameOwner", g_variant_new ("(s)", CW_TEST_NAME), G_VARIANT_TYPE ("(s)"),
      G_DBUS_CALL_FLAGS_NONE, 10000, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (g_variant_get_string (g_variant_get_child_value (owner, 0), NULL), ==,
                   second_unique);
  f.daemon = g_steal_pointer (&second);
  fixture_stop (&f);
}

typedef struct
{
  GArray *seqs; /* delivered, non-resync */
  gint64 resync_last_delivered;
  gint64 delivered_before_resync;
  gboolean resync_seen;
} ResyncLog;

static void
on_resync_signal (GDBusConnection *c, const gchar *sender, const gchar *path, const gchar *iface,
                  const gchar *signal, GVariant *params, gpointer user_data)
{
  ResyncLog *log = user_data;
  const gchar *type, *session_id, *data_json;
  guint64 seq;
  gint64 timestamp;

  g_variant_get (params, "(t&s&s&sx)", &seq, &type, &session_id, &data_json, &timestamp);
  if (g_strcmp0 (type, "resync") == 0 && !log->resync_seen)
    {
      g_autoptr (JsonNode) data = cw_json_from_string (data_json, -1, NULL);
      g_assert_nonnull (data);
      log->resync_seen = TRUE;
      log->resync_last_delivered
          = json_object_get_int_member (json_node_get_object (data), "lastDeliveredSeq");
      log->delivered_before_resync
          = log->seqs->len > 0 ? (gint64) g_array_index (log->seqs, guint64, log->seqs->len - 1)
                               : 0;
      return;
    }
  if (g_strcmp0 (type, "resync") != 0)
    g_array_append_val (log->seqs, seq);
}

/* With a one-event subscriber queue, a burst overflows it: the bus gets a resync Event
 * naming the last seq it delivered, and the replay from there has what was dropped. */
/* Call params are outside input: too deep or holding NUL, they are refused before a tree is
 * built, and the daemon carries on. */
static void
test_hostile_params (void)
{
  Fixture f = { 0 };
  g_autoptr (GString) deep = g_string_new (NULL);
  g_autoptr (JsonNode) pong = NULL;

  cw_dbus_register_errors ();
  fixture_start (&f, NULL);
  for (guint i = 0; i < 100000; i++)
    g_string_append_c (deep, '[');
  for (guint i = 0; i < 3; i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (JsonNode) r = cw_test_dbus_call (f.connection, "ping", deep->str, &error);
      g_assert_null (r);
      g_assert_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS);
      g_assert_nonnull (strstr (error->message, "JSON nested deeper than 128 levels"));
    }
  {
    g_autoptr (GError) error = NULL;
    g_autoptr (JsonNode) r
        = cw_test_dbus_call (f.connection, "example_echo", "{\"text\":\"a\\u0000b\"}", &error);
    g_assert_null (r);
    g_assert_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS);
    g_assert_nonnull (strstr (error->message, "may not contain NUL"));
  }
  pong = cw_test_dbus_call (f.connection, "ping", NULL, NULL);
  g_assert_nonnull (pong);
  fixture_stop (&f);
}

static void
test_resync (void)
{
  Fixture f = { 0 };
  ResyncLog log = { 0 };
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) replay = NULL;
  g_autoptr (JsonObject) health = NULL;
  JsonArray *events;
  guint sub;

  fixture_start (&f, "[events]\nsubscriber-queue=1\n");
  log.seqs = g_array_new (FALSE, FALSE, sizeof (guint64));
  sub = g_dbus_connection_signal_subscribe (f.connection, CW_TEST_NAME, CW_TEST_IFACE, "Event",
                                            CW_TEST_PATH, NULL, G_DBUS_SIGNAL_FLAGS_NONE,
                                            on_resync_signal, &log, NULL);
  g_assert_true (cw_test_wait_name (f.connection, CW_TEST_NAME, TRUE, 5));
  /* Pipelined calls are dispatched before the bus's flush, so one flush holds many events;
   * a few bursts make that certain on a loaded machine. Signals follow the replies, so wait
   * for the marker a little after each burst's replies are in. */
  for (guint burst = 0; burst < 10 && !log.resync_seen; burst++)
    {
      guint pending = 200;

      for (guint i = 0; i < 200; i++)
        g_dbus_connection_call (f.connection, CW_TEST_NAME, CW_TEST_PATH, CW_TEST_IFACE, "Call",
                                g_variant_new ("(ss)", "example_echo", "{\"text\":\"x\"}"),
                                G_VARIANT_TYPE ("(s)"), G_DBUS_CALL_FLAGS_NONE, 20000, NULL,
                                on_counted_reply, &pending);
      while (pending > 0)
        g_main_context_iteration (NULL, TRUE);
      cw_test_spin_until (&log.resync_seen, 1);
    }
  g_assert_true (log.resync_seen);
  /* The marker names the last seq this client got before the gap. */
  g_assert_cmpint (log.resync_last_delivered, ==, log.delivered_before_resync);

  replay = call_json_method (f.connection, "GetEventsSince",
                             g_variant_new ("(tu)", (guint64) log.resync_last_delivered, 10));
  events = json_object_get_array_member (replay, "events");
  g_assert_cmpuint (json_array_get_length (events), >, 0);
  g_assert_cmpint (json_object_get_int_member (json_array_get_object_element (events, 0), "seq"),
                   ==, log.resync_last_delivered + 1);

  health = socket_health (f.daemon);
  g_assert_cmpint (
      json_object_get_int_member (json_object_get_object_member (health, "dbus"), "resyncs"), >=,
      1);
  g_dbus_connection_signal_unsubscribe (f.connection, sub);
  g_array_unref (log.seqs);
  fixture_stop (&f);
}

typedef struct
{
  gboolean ready_false;
  gboolean vanished_first;
} StopLog;

static void
on_ready_changed (GDBusConnection *c, const gchar *sender, const gchar *path, const gchar *iface,
                  const gchar *signal, GVariant *params, gpointer user_data)
{
  StopLog *log = user_data;
  g_autoptr (GVariant) changed = g_variant_get_child_value (params, 1);
  gboolean ready = TRUE;

  if (g_variant_lookup (changed, "Ready", "b", &ready) && !ready)
    log->ready_false = TRUE;
}

static void
on_owner_changed (GDBusConnection *c, const gchar *sender, const gchar *path, const gchar *iface,
                  const gchar *signal, GVariant *params, gpointer user_data)
{
  StopLog *log = user_data;
  const gchar *name, *old_owner, *new_owner;

  g_variant_get (params, "(&s&s&s)", &name, &old_owner, &new_owner);
  if (*new_owner == '\0' && !log->ready_false)
    log->vanished_first = TRUE;
}

/* A stopping daemon announces Ready=false before its name goes away. */
static void
test_ready_on_stop (void)
{
  Fixture f = { 0 };
  StopLog log = { 0 };
  g_autoptr (GVariant) ready = NULL;
  guint props_sub, owner_sub;

  fixture_start (&f, NULL);
  ready = get_property (f.connection, "Ready");
  g_assert_true (g_variant_get_boolean (ready));
  props_sub = g_dbus_connection_signal_subscribe (
      f.connection, CW_TEST_NAME, "org.freedesktop.DBus.Properties", "PropertiesChanged",
      CW_TEST_PATH, CW_TEST_IFACE, G_DBUS_SIGNAL_FLAGS_NONE, on_ready_changed, &log, NULL);
  owner_sub = g_dbus_connection_signal_subscribe (
      f.connection, "org.freedesktop.DBus", "org.freedesktop.DBus", "NameOwnerChanged",
      "/org/freedesktop/DBus", CW_TEST_NAME, G_DBUS_SIGNAL_FLAGS_NONE, on_owner_changed, &log,
      NULL);
  g_assert_true (cw_test_wait_name (f.connection, CW_TEST_NAME, TRUE, 5)); /* matches are in */
  g_assert_cmpint (cw_test_daemon_stop (f.daemon, SIGTERM), ==, 0);
  g_assert_true (cw_test_spin_until (&log.ready_false, 10));
  g_assert_false (log.vanished_first);
  g_dbus_connection_signal_unsubscribe (f.connection, props_sub);
  g_dbus_connection_signal_unsubscribe (f.connection, owner_sub);
  g_assert_true (cw_test_wait_name (f.connection, CW_TEST_NAME, FALSE, 10));
  g_clear_pointer (&f.daemon, cw_test_daemon_free);
  g_clear_object (&f.connection);
}

typedef struct
{
  guint received;
  guint resyncs;
  guint in_flight;
} LoadLog;

static void
on_load_event (GDBusConnection *c, const gchar *sender, const gchar *path, const gchar *iface,
               const gchar *signal, GVariant *params, gpointer user_data)
{
  LoadLog *log = user_data;
  const gchar *type;

  g_variant_get_child (params, 1, "&s", &type);
  if (g_strcmp0 (type, "resync") == 0)
    log->resyncs++;
  else if (g_strcmp0 (type, "example:echo") == 0)
    log->received++;
}

static void
on_load_reply (GObject *source, GAsyncResult *res, gpointer user_data)
{
  LoadLog *log = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply
      = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), res, &error);

  g_assert_no_error (error);
  log->in_flight--;
}

/* Under a steady stream of calls (replies keep the client sending) the Event signals keep
 * up: the transport's drain must not starve behind the method calls, or the queue fills and
 * events are dropped for a resync. */
static void
test_events_under_load (void)
{
  Fixture f = { 0 };
  LoadLog log = { 0 };
  const guint n = 4000;
  guint sent = 0, sub;
  gint64 deadline;

  fixture_start (&f, NULL); /* the default queue (4096) holds several forced flushes (512) */
  sub = g_dbus_connection_signal_subscribe (f.connection, CW_TEST_NAME, CW_TEST_IFACE, "Event",
                                            CW_TEST_PATH, NULL, G_DBUS_SIGNAL_FLAGS_NONE,
                                            on_load_event, &log, NULL);
  g_assert_true (cw_test_wait_name (f.connection, CW_TEST_NAME, TRUE, 5));
  deadline = g_get_monotonic_time () + 60 * G_TIME_SPAN_SECOND;
  while (log.received < n && log.resyncs == 0)
    {
      while (sent < n && log.in_flight < 64)
        {
          g_dbus_connection_call (f.connection, CW_TEST_NAME, CW_TEST_PATH, CW_TEST_IFACE, "Call",
                                  g_variant_new ("(ss)", "example_echo", "{\"text\":\"l\"}"),
                                  G_VARIANT_TYPE ("(s)"), G_DBUS_CALL_FLAGS_NONE, 20000, NULL,
                                  on_load_reply, &log);
          log.in_flight++;
          sent++;
        }
      g_main_context_iteration (NULL, TRUE);
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
    }
  g_assert_cmpuint (log.resyncs, ==, 0);
  g_assert_cmpuint (log.received, ==, n);
  while (log.in_flight > 0)
    g_main_context_iteration (NULL, TRUE);
  g_dbus_connection_signal_unsubscribe (f.connection, sub);
  fixture_stop (&f);
}

static gint
run_ctl (CwTestDaemon *d, const gchar *const *args, gchar **out, gchar **err)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();

  g_ptr_array_add (argv, (gpointer) g_getenv ("COWORKCTL"));
  g_ptr_array_add (argv, "--bus");
  g_ptr_array_add (argv, "--app-data-dir");
  g_ptr_array_add (argv, d->dir);
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);
  return cw_test_run ((const gchar *const *) argv->pdata, NULL, out, err);
}

static void
test_coworkctl_bus (void)
{
  Fixture f = { 0 };
  g_autofree gchar *out = NULL, *err = NULL;
  g_autofree gchar *token_before = NULL, *token_after = NULL;
  g_autoptr (JsonNode) health = NULL;
  const gchar *call[] = { "--json", "call", "example_echo", "{\"text\":\"ctl\"}", NULL };
  const gchar *bad[] = { "call", "no_such_command", NULL };
  const gchar *hl[] = { "--json", "health", NULL };
  const gchar *events[] = { "--json", "events", NULL };
  const gchar *rotate[] = { "token", "rotate", NULL };

  fixture_start (&f, NULL);
  g_assert_cmpint (run_ctl (f.daemon, call, &out, &err), ==, 0);
  g_assert_cmpstr (out, ==, "{\"text\":\"ctl\"}\n");
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  g_assert_cmpint (run_ctl (f.daemon, bad, &out, &err), ==, 1);
  g_assert_nonnull (strstr (err, "Unknown command: no_such_command"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  g_assert_cmpint (run_ctl (f.daemon, hl, &out, &err), ==, 0);
  health = cw_json_from_string (out, -1, NULL);
  g_assert_nonnull (health);
  g_assert_cmpstr (
      json_object_get_string_member (
          json_object_get_object_member (json_node_get_object (health), "dbus"), "nameState"),
      ==, "owned");
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  g_assert_cmpint (run_ctl (f.daemon, events, &out, &err), ==, 0);
  g_assert_nonnull (strstr (out, "\"type\":\"daemon:ready\""));
  g_assert_nonnull (strstr (out, "\"type\":\"example:echo\""));
  g_assert_nonnull (strstr (out, "\"text\":\"ctl\""));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  token_before = cw_test_daemon_read_token (f.daemon);
  g_assert_cmpint (run_ctl (f.daemon, rotate, &out, &err), ==, 0);
  token_after = cw_test_daemon_read_token (f.daemon);
  g_assert_cmpstr (token_before, !=, token_after);
  /* The socket took the new token. */
  g_clear_pointer (&health, json_node_unref);
  {
    g_autoptr (CwClient) client = cw_test_daemon_connect (f.daemon);
    g_autoptr (JsonNode) pong = cw_test_daemon_call (client, "ping", NULL);
  }
  fixture_stop (&f);
}

/* events --follow over the bus prints live events as they come. */
static void
test_coworkctl_follow (void)
{
  Fixture f = { 0 };
  g_autoptr (GError) error = NULL;
  g_autoptr (GSubprocess) proc = NULL;
  g_autoptr (GDataInputStream) in = NULL;
  g_autoptr (JsonNode) echo = NULL;
  g_autofree gchar *first = NULL, *live = NULL;

  fixture_start (&f, NULL);
  proc = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error, g_getenv ("COWORKCTL"), "--bus",
                           "--json", "--app-data-dir", f.daemon->dir, "events", "--follow",
                           "--since", "0", NULL);
  g_assert_no_error (error);
  in = g_data_input_stream_new (g_subprocess_get_stdout_pipe (proc));
  /* The replayed first event shows the follower has subscribed (it does so first). */
  first = g_data_input_stream_read_line (in, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (strstr (first, "\"type\":\"daemon:ready\""));
  echo = cw_test_dbus_call (f.connection, "example_echo", "{\"text\":\"live\"}", &error);
  g_assert_no_error (error);
  live = g_data_input_stream_read_line (in, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (strstr (live, "\"type\":\"example:echo\""));
  g_assert_nonnull (strstr (live, "\"text\":\"live\""));
  g_subprocess_force_exit (proc);
  g_subprocess_wait (proc, NULL, NULL);
  fixture_stop (&f);
}

/* No --dbus: the session bus when DBUS_SESSION_BUS_ADDRESS is set, no bus otherwise. */
static void
test_default_bus (void)
{
  g_autoptr (GDBusConnection) connection = cw_test_bus_connect (NULL);
  g_autoptr (CwTestDaemon) with_env = cw_test_daemon_new ();
  g_autoptr (CwTestDaemon) without = cw_test_daemon_new ();
  g_autoptr (CwTestDaemon) bad = cw_test_daemon_new ();
  g_autoptr (JsonObject) health = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GSubprocess) proc = NULL;

  cw_test_daemon_start (with_env);
  g_assert_true (cw_test_wait_name (connection, CW_TEST_NAME, TRUE, 10));
  health = socket_health (with_env);
  g_assert_cmpstr (
      json_object_get_string_member (json_object_get_object_member (health, "dbus"), "bus"), ==,
      "session");
  g_assert_cmpint (cw_test_daemon_stop (with_env, SIGTERM), ==, 0);
  g_assert_true (cw_test_wait_name (connection, CW_TEST_NAME, FALSE, 10));

  without->env = g_environ_unsetenv (without->env, "DBUS_SESSION_BUS_ADDRESS");
  without->env = g_environ_unsetenv (without->env, "XDG_RUNTIME_DIR");
  cw_test_daemon_start (without);
  g_clear_pointer (&health, json_object_unref);
  health = socket_health (without);
  g_assert_cmpstr (
      json_object_get_string_member (json_object_get_object_member (health, "dbus"), "bus"), ==,
      "none");
  g_assert_false (
      json_object_get_boolean_member (json_object_get_object_member (health, "dbus"), "connected"));

  cw_test_daemon_add_arg (bad, "--dbus");
  cw_test_daemon_add_arg (bad, "bogus");
  proc = cw_test_daemon_spawn (bad, &error);
  g_assert_no_error (error);
  g_subprocess_wait (proc, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_subprocess_get_exit_status (proc), ==, 2);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  cw_test_dbus_init ();
  if (g_getenv ("DBUS_SESSION_BUS_ADDRESS") == NULL)
    {
      g_printerr ("no session bus: run under dbus-run-session\n");
      return 77;
    }
  g_test_add_func ("/cowork/dbus/session/gdbus-call", test_gdbus_call);
  g_test_add_func ("/cowork/dbus/session/busctl", test_busctl);
  g_test_add_func ("/cowork/dbus/session/client", test_client);
  g_test_add_func ("/cowork/dbus/session/event-order", test_event_order);
  g_test_add_func ("/cowork/dbus/session/name-queue", test_name_queue);
  g_test_add_func ("/cowork/dbus/session/ready-on-stop", test_ready_on_stop);
  g_test_add_func ("/cowork/dbus/session/resync", test_resync);
  g_test_add_func ("/cowork/dbus/session/hostile-params", test_hostile_params);
  g_test_add_func ("/cowork/dbus/session/events-under-load", test_events_under_load);
  g_test_add_func ("/cowork/dbus/session/coworkctl-bus", test_coworkctl_bus);
  g_test_add_func ("/cowork/dbus/session/coworkctl-follow", test_coworkctl_follow);
  g_test_add_func ("/cowork/dbus/session/default-bus", test_default_bus);
  return g_test_run ();
}
