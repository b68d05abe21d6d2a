/* cw-bench-dbus.c: the D-Bus transport against a bare GDBus floor, in one run.
 *
 * Starts a private dbus-daemon (--session) and the real coworkd on it, plus a floor server
 * (this program again, as a separate process like coworkd) that answers Echo(s), EchoTick(s)
 * (a reply and one signal, the shape of example_echo) and Burst(n) (n signals). Both are measured
 * through the same bus daemon, so the gap between value and floor is what coworkd's transport,
 * registry and event bus cost.
 *
 * Prints markdown rows: | metric | value | floor | target | note |
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cowork.h"

#include <glib/gstdio.h>
#include <signal.h>

#define CW_NAME     "org.cowork.Daemon"
#define CW_PATH     "/org/cowork/Daemon"
#define CW_IFACE    "org.cowork.Daemon1"
#define FLOOR_NAME  "org.cowork.BenchFloor"
#define FLOOR_PATH  "/org/cowork/BenchFloor"
#define FLOOR_IFACE "org.cowork.BenchFloor"

#define PING_CALLS    5000
#define WARMUP_CALLS  200
#define EVENTS        20000
#define EVENTS_WINDOW 128
#define RUN_LIMIT_S   60

#ifndef COWORKD_PATH
#define COWORKD_PATH "coworkd"
#endif
#ifndef CW_BENCH_PLUGIN_DIRS
#define CW_BENCH_PLUGIN_DIRS ""
#endif

static const gchar floor_xml[]
    = "<node><interface name='" FLOOR_IFACE "'>"
      "<method name='Echo'><arg type='s' direction='in'/><arg type='s' direction='out'/></method>"
      "<method name='EchoTick'><arg type='s' direction='in'/><arg type='s' direction='out'/>"
      "</method>"
      "<method name='Burst'><arg type='u' direction='in'/></method>"
      "<signal name='Tick'><arg type='t'/></signal>"
      "</interface></node>";

/* ---- the floor server ---------------------------------------------------------------- */

static void
floor_method (GDBusConnection *connection, const gchar *sender, const gchar *path,
              const gchar *iface, const gchar *method, GVariant *params,
              GDBusMethodInvocation *invocation, gpointer user_data)
{
  guint32 n;

  if (g_strcmp0 (method, "Echo") == 0)
    {
      g_dbus_method_invocation_return_value (invocation, g_variant_ref (params));
      return;
    }
  if (g_strcmp0 (method, "EchoTick") == 0)
    {
      /* What example_echo does over D-Bus, minus coworkd: one reply and one signal. */
      static guint64 seq = 0;
      g_dbus_connection_emit_signal (connection, NULL, FLOOR_PATH, FLOOR_IFACE, "Tick",
                                     g_variant_new ("(t)", ++seq), NULL);
      g_dbus_method_invocation_return_value (invocation, g_variant_ref (params));
      return;
    }
  /* Burst(n): n Tick signals, as fast as GDBus takes them. */
  g_variant_get (params, "(u)", &n);
  for (guint32 i = 0; i < n; i++)
    g_dbus_connection_emit_signal (connection, NULL, FLOOR_PATH, FLOOR_IFACE, "Tick",
                                   g_variant_new ("(t)", (guint64) i + 1), NULL);
  g_dbus_method_invocation_return_value (invocation, NULL);
}

static const GDBusInterfaceVTable floor_vtable = { floor_method, NULL, NULL };

/* Runs as a separate process (like coworkd) until the bus goes away or SIGTERM. */
static int
run_floor_server (const gchar *address)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GDBusNodeInfo) info = g_dbus_node_info_new_for_xml (floor_xml, &error);
  g_autoptr (GDBusConnection) connection = NULL;
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GMainLoop) loop = g_main_loop_new (NULL, FALSE);

  g_assert_no_error (error);
  connection = g_dbus_connection_new_for_address_sync (
      address,
      G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT
          | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
      NULL, NULL, &error);
  g_assert_no_error (error);
  g_dbus_connection_register_object (connection, FLOOR_PATH, info->interfaces[0], &floor_vtable,
                                     NULL, NULL, &error);
  g_assert_no_error (error);
  reply = g_dbus_connection_call_sync (connection, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                       "org.freedesktop.DBus", "RequestName",
                                       g_variant_new ("(su)", FLOOR_NAME, 4), NULL,
                                       G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error);
  g_assert_no_error (error);
  g_signal_connect_swapped (connection, "closed", G_CALLBACK (g_main_loop_quit), loop);
  g_main_loop_run (loop);
  return 0;
}

static GSubprocess *
start_floor_server (const gchar *address)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *self_exe = g_file_read_link ("/proc/self/exe", &error);
  GSubprocess *proc;

  g_assert_no_error (error);
  proc = g_subprocess_new (G_SUBPROCESS_FLAGS_NONE, &error, self_exe, "--floor-server", address,
                           NULL);
  g_assert_no_error (error);
  return proc;
}

/* ---- processes ----------------------------------------------------------------------- */

static GSubprocess *
start_bus (gchar **address)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GDataInputStream) in = NULL;
  GSubprocess *proc = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error, "dbus-daemon",
                                        "--session", "--nofork", "--print-address=1", NULL);

  g_assert_no_error (error);
  in = g_data_input_stream_new (g_subprocess_get_stdout_pipe (proc));
  *address = g_data_input_stream_read_line (in, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (*address);
  return proc;
}

static GSubprocess *
start_coworkd (const gchar *address, const gchar *dir)
{
  g_autoptr (GSubprocessLauncher) launcher
      = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GError) error = NULL;
  const gchar *coworkd = g_getenv ("COWORKD") ?: COWORKD_PATH;
  const gchar *plugin_dirs = g_getenv ("COWORK_TEST_PLUGIN_DIRS") ?: CW_BENCH_PLUGIN_DIRS;
  g_auto (GStrv) dirs = g_strsplit (plugin_dirs, ":", -1);
  GSubprocess *proc;

  g_ptr_array_add (argv, (gpointer) coworkd);
  g_ptr_array_add (argv, "--app-data-dir");
  g_ptr_array_add (argv, (gpointer) dir);
  g_ptr_array_add (argv, "--no-system-plugins");
  g_ptr_array_add (argv, "--dbus");
  g_ptr_array_add (argv, "session");
  for (guint i = 0; dirs[i] != NULL; i++)
    if (*dirs[i] != '\0')
      {
        g_ptr_array_add (argv, "--plugin-dir");
        g_ptr_array_add (argv, dirs[i]);
      }
  g_ptr_array_add (argv, NULL);
  g_subprocess_launcher_setenv (launcher, "DBUS_SESSION_BUS_ADDRESS", address, TRUE);
  g_subprocess_launcher_unsetenv (launcher, "NOTIFY_SOCKET");
  proc = g_subprocess_launcher_spawnv (launcher, (const gchar *const *) argv->pdata, &error);
  g_assert_no_error (error);
  return proc;
}

static void
wait_for_name (GDBusConnection *connection, const gchar *name)
{
  gint64 deadline = g_get_monotonic_time () + 15 * G_TIME_SPAN_SECOND;

  for (;;)
    {
      g_autoptr (GVariant) reply = g_dbus_connection_call_sync (
          connection, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
          "NameHasOwner", g_variant_new ("(s)", name), G_VARIANT_TYPE ("(b)"),
          G_DBUS_CALL_FLAGS_NONE, -1, NULL, NULL);
      gboolean has = FALSE;

      if (reply != NULL)
        g_variant_get (reply, "(b)", &has);
      if (has)
        return;
      if (g_get_monotonic_time () > deadline)
        g_error ("%s did not appear on the bench bus", name);
      g_usleep (10000);
    }
}

/* ---- measurements -------------------------------------------------------------------- */

static gint
compare_doubles (gconstpointer a, gconstpointer b)
{
  gdouble x = *(const gdouble *) a, y = *(const gdouble *) b;

  return x < y ? -1 : x > y;
}

static gdouble
percentile (GArray *sorted, gdouble pct)
{
  guint i = (guint) (pct / 100.0 * (sorted->len - 1) + 0.5);

  return g_array_index (sorted, gdouble, MIN (i, sorted->len - 1));
}

/* Round trips in µs, sorted. */
static GArray *
time_calls (GDBusConnection *connection, const gchar *dest, const gchar *path, const gchar *iface,
            const gchar *method, GVariant *args, guint n)
{
  GArray *samples = g_array_sized_new (FALSE, FALSE, sizeof (gdouble), n);

  g_variant_ref_sink (args);
  for (guint i = 0; i < n + WARMUP_CALLS; i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (GVariant) reply = NULL;
      gint64 t0 = g_get_monotonic_time ();
      gdouble us;

      reply = g_dbus_connection_call_sync (connection, dest, path, iface, method, args, NULL,
                                           G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error);
      g_assert_no_error (error);
      us = (gdouble) (g_get_monotonic_time () - t0);
      if (i >= WARMUP_CALLS)
        g_array_append_val (samples, us);
    }
  g_variant_unref (args);
  g_array_sort (samples, compare_doubles);
  return samples;
}

typedef struct
{
  guint64 received;
  guint64 last_seq;
  gboolean in_order;
  guint in_flight;
  guint resyncs;
} SignalCount;

static void
on_signal (GDBusConnection *c, const gchar *sender, const gchar *path, const gchar *iface,
           const gchar *signal, GVariant *params, gpointer user_data)
{
  SignalCount *count = user_data;
  guint64 seq;

  g_variant_get_child (params, 0, "t", &seq);
  if (g_variant_n_children (params) > 1)
    {
      const gchar *type;
      g_variant_get_child (params, 1, "&s", &type);
      if (g_strcmp0 (type, "resync") == 0)
        {
          count->resyncs++; /* the events it stands for will never come */
          return;
        }
    }
  if (seq <= count->last_seq)
    count->in_order = FALSE;
  count->last_seq = seq;
  count->received++;
}

static void
on_echo_reply (GObject *source, GAsyncResult *res, gpointer user_data)
{
  SignalCount *count = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply
      = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), res, &error);

  g_assert_no_error (error);
  count->in_flight--;
}

static gboolean
keep_waking (gpointer user_data)
{
  return G_SOURCE_CONTINUE; /* lets the loops below look at the clock */
}

/* Signals/s while calls that each cause one signal are kept EVENTS_WINDOW deep: coworkd's
 * example_echo (Event), or the floor's EchoTick (Tick), the same three messages per event.
 * Stops after RUN_LIMIT_S, or once every call is answered after a resync (what it stands
 * for never comes), so a bench never hangs. */
static gdouble
signal_rate (GDBusConnection *connection, gboolean floor, SignalCount *count)
{
  guint sent = 0;
  guint sub = g_dbus_connection_signal_subscribe (
      connection, floor ? FLOOR_NAME : CW_NAME, floor ? FLOOR_IFACE : CW_IFACE,
      floor ? "Tick" : "Event", floor ? FLOOR_PATH : CW_PATH, NULL, G_DBUS_SIGNAL_FLAGS_NONE,
      on_signal, count, NULL);
  guint waker = g_timeout_add_seconds (1, keep_waking, NULL);
  gint64 t0, deadline;

  wait_for_name (connection, CW_NAME); /* a round trip: the match rule is in place */
  t0 = g_get_monotonic_time ();
  deadline = t0 + RUN_LIMIT_S * G_TIME_SPAN_SECOND;
  while (count->received < EVENTS && g_get_monotonic_time () < deadline
         && !(count->resyncs > 0 && sent == EVENTS && count->in_flight == 0))
    {
      while (sent < EVENTS && count->in_flight < EVENTS_WINDOW)
        {
          if (floor)
            g_dbus_connection_call (connection, FLOOR_NAME, FLOOR_PATH, FLOOR_IFACE, "EchoTick",
                                    g_variant_new ("(s)", "{\"text\":\"b\"}"),
                                    G_VARIANT_TYPE ("(s)"), G_DBUS_CALL_FLAGS_NONE, -1, NULL,
                                    on_echo_reply, count);
          else
            g_dbus_connection_call (connection, CW_NAME, CW_PATH, CW_IFACE, "Call",
                                    g_variant_new ("(ss)", "example_echo", "{\"text\":\"b\"}"),
                                    G_VARIANT_TYPE ("(s)"), G_DBUS_CALL_FLAGS_NONE, -1, NULL,
                                    on_echo_reply, count);
          count->in_flight++;
          sent++;
        }
      g_main_context_iteration (NULL, TRUE);
    }
  g_source_remove (waker);
  g_dbus_connection_signal_unsubscribe (connection, sub);
  return count->received / ((g_get_monotonic_time () - t0) / 1e6);
}

/* Tick signals/s from the floor server: one Burst call, count until all arrived. */
static gdouble
floor_signal_rate (GDBusConnection *connection)
{
  SignalCount count = { 0, 0, TRUE, 0, 0 };
  guint sub = g_dbus_connection_signal_subscribe (connection, FLOOR_NAME, FLOOR_IFACE, "Tick",
                                                  FLOOR_PATH, NULL, G_DBUS_SIGNAL_FLAGS_NONE,
                                                  on_signal, &count, NULL);
  gint64 t0;

  wait_for_name (connection, FLOOR_NAME);
  t0 = g_get_monotonic_time ();
  g_dbus_connection_call (connection, FLOOR_NAME, FLOOR_PATH, FLOOR_IFACE, "Burst",
                          g_variant_new ("(u)", EVENTS), NULL, G_DBUS_CALL_FLAGS_NONE, -1, NULL,
                          NULL, NULL);
  while (count.received < EVENTS)
    g_main_context_iteration (NULL, TRUE);
  g_dbus_connection_signal_unsubscribe (connection, sub);
  return EVENTS / ((g_get_monotonic_time () - t0) / 1e6);
}

static void
rm_rf (const gchar *path)
{
  g_autoptr (GDir) d = g_dir_open (path, 0, NULL);
  const gchar *name;

  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree gchar *child = g_build_filename (path, name, NULL);
      if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
        rm_rf (child);
      else
        g_unlink (child);
    }
  g_rmdir (path);
}

/* A row without a target (reference) has no verdict. */
static void
row (const gchar *metric, const gchar *value, const gchar *floor, const gchar *target, gboolean met,
     const gchar *note)
{
  const gchar *verdict = g_strcmp0 (target, "-") == 0 ? "" : met ? "met; " : "MISSED; ";

  g_print ("| %s | %s | %s | %s | %s%s |\n", metric, value, floor, target, verdict, note);
}

/* Targets are relative to the floor measured in the same run: the machine (and whatever
 * else runs on it) sets the absolute numbers; what coworkd adds is what we can change. */
static void
report_latency (gdouble pct, GArray *value, GArray *floor, gdouble max_ratio)
{
  gdouble v = percentile (value, pct) / 1000.0, f = percentile (floor, pct) / 1000.0;
  g_autofree gchar *metric = g_strdup_printf ("dbus Call ping p%.0f", pct);
  g_autofree gchar *vs = g_strdup_printf ("%.3f ms", v);
  g_autofree gchar *fs = g_strdup_printf ("%.3f ms (bare GDBus Echo)", f);
  g_autofree gchar *ts = g_strdup_printf ("<= %.1fx floor", max_ratio);

  row (metric, vs, fs, ts, v <= f * max_ratio,
       "5,000 sequential calls through a private dbus-daemon");
}

static void
report_events (SignalCount *cw, gdouble rate, SignalCount *floor, gdouble floor_rate,
               gdouble burst_rate)
{
  g_autofree gchar *vs = g_strdup_printf ("%.0f /s", rate);
  g_autofree gchar *fs = g_strdup_printf ("%.0f /s (bare GDBus call+signal)", floor_rate);
  g_autofree gchar *bs = g_strdup_printf ("%.0f /s", burst_rate);
  g_autofree gchar *note = NULL;
  gboolean complete = cw->received == EVENTS && cw->resyncs == 0 && cw->in_order;

  if (complete)
    note = g_strdup ("20,000 example_echo calls 128 in flight, each event stored then "
                     "signalled, seq order kept");
  else
    note = g_strdup_printf ("only %" G_GUINT64_FORMAT " of 20,000 events arrived, %u resync(s)%s",
                            cw->received, cw->resyncs, cw->in_order ? "" : ", out of order");
  row ("dbus Event signals", vs, fs, ">= 0.5x floor", complete && rate >= 0.5 * floor_rate, note);
  row ("bare GDBus signal burst", bs, "-", "-", TRUE,
       "reference: one connection emitting 20,000 signals through the same dbus-daemon");
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *address = NULL;
  g_autofree gchar *dir = g_dir_make_tmp ("coworkd-bench-dbus-XXXXXX", &error);
  g_autoptr (GSubprocess) bus = NULL;
  g_autoptr (GSubprocess) daemon = NULL;
  g_autoptr (GSubprocess) floor_proc = NULL;
  g_autoptr (GDBusConnection) connection = NULL;
  g_autoptr (GArray) cw_ping = NULL;
  g_autoptr (GArray) floor_ping = NULL;
  gdouble rate, floor_rate, burst_rate;
  SignalCount cw_count = { 0, 0, TRUE, 0, 0 }, floor_count = { 0, 0, TRUE, 0, 0 };

  if (argc == 3 && g_strcmp0 (argv[1], "--floor-server") == 0)
    return run_floor_server (argv[2]);
  g_assert_no_error (error);
  bus = start_bus (&address);
  daemon = start_coworkd (address, dir);
  connection = g_dbus_connection_new_for_address_sync (
      address,
      G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT
          | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
      NULL, NULL, &error);
  g_assert_no_error (error);

  floor_proc = start_floor_server (address);
  wait_for_name (connection, FLOOR_NAME);
  wait_for_name (connection, CW_NAME);

  /* The floor first, then coworkd, each after its own warm-up, on the same connection. */
  floor_ping = time_calls (connection, FLOOR_NAME, FLOOR_PATH, FLOOR_IFACE, "Echo",
                           g_variant_new ("(s)", "ping"), PING_CALLS);
  cw_ping = time_calls (connection, CW_NAME, CW_PATH, CW_IFACE, "Call",
                        g_variant_new ("(ss)", "ping", ""), PING_CALLS);
  burst_rate = floor_signal_rate (connection);
  floor_rate = signal_rate (connection, TRUE, &floor_count);
  rate = signal_rate (connection, FALSE, &cw_count);

  report_latency (50, cw_ping, floor_ping, 2.0);
  report_latency (99, cw_ping, floor_ping, 3.0);
  report_events (&cw_count, rate, &floor_count, floor_rate, burst_rate);
  g_subprocess_send_signal (floor_proc, SIGTERM);
  g_subprocess_wait (floor_proc, NULL, NULL);
  g_subprocess_send_signal (daemon, SIGTERM);
  g_subprocess_wait (daemon, NULL, NULL);
  g_subprocess_send_signal (bus, SIGTERM);
  g_subprocess_wait (bus, NULL, NULL);
  rm_rf (dir);
  return 0;
}
