/* cw-bench-util.c: see cw-bench-util.h.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-bench-util.h"
#include "cw-token-private.h"

#include <gio/gunixsocketaddress.h>
#include <glib/gstdio.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <string.h>
#include <unistd.h>

gdouble
cw_bench_now_us (void)
{
  return (gdouble) g_get_monotonic_time ();
}

/* A datagram socket standing in for systemd's notification socket. */
static int
notify_socket (const gchar *path)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  struct timeval tv = { 10, 0 };
  int fd = socket (AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

  g_unlink (path);
  g_strlcpy (addr.sun_path, path, sizeof addr.sun_path);
  g_assert_cmpint (bind (fd, (struct sockaddr *) &addr, sizeof addr), ==, 0);
  setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

static void
spawn_and_wait (CwBenchDaemon *self)
{
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree gchar *token_file = g_build_filename (self->dir, "daemon", "auth.token", NULL);
  g_autofree gchar *notify_path = g_build_filename (self->dir, "notify.sock", NULL);
  int fd = notify_socket (notify_path);
  gchar buf[64];
  gdouble t0;

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  g_subprocess_launcher_setenv (launcher, "NOTIFY_SOCKET", notify_path, TRUE);
  t0 = cw_bench_now_us ();
  self->proc
      = g_subprocess_launcher_spawnv (launcher, (const gchar *const *) self->argv->pdata, &error);
  g_assert_no_error (error);
  /* Ready is what systemd sees: READY=1 on the notification socket. */
  self->ready_ms = -1;
  if (recv (fd, buf, sizeof buf, 0) > 0)
    self->ready_ms = (cw_bench_now_us () - t0) / 1000.0;
  close (fd);
  for (;;)
    {
      g_autoptr (CwClient) c = NULL;
      g_autoptr (JsonNode) r = NULL;
      g_autofree gchar *token = cw_token_read (token_file, NULL);

      if (token != NULL && (c = cw_client_connect (self->endpoint, token, NULL)) != NULL
          && (r = cw_client_call (c, "ping", NULL, NULL)) != NULL)
        {
          self->ping_ms = (cw_bench_now_us () - t0) / 1000.0;
          g_free (self->token);
          self->token = g_steal_pointer (&token);
          return;
        }
      if (cw_bench_now_us () - t0 > 10e6)
        g_error ("coworkd did not start");
      g_usleep (100);
    }
}

CwBenchDaemon *
cw_bench_daemon_start (const gchar *coworkd, const gchar *config_text, ...)
{
  CwBenchDaemon *self = g_new0 (CwBenchDaemon, 1);
  g_autoptr (GError) error = NULL;
  const gchar *arg;
  va_list ap;

  self->dir = g_dir_make_tmp ("coworkd-bench-XXXXXX", &error);
  g_assert_no_error (error);
  self->endpoint = g_build_filename (self->dir, "daemon", "agentd.sock", NULL);
  if (config_text != NULL)
    {
      g_autofree gchar *conf = g_build_filename (self->dir, "coworkd.conf", NULL);
      g_file_set_contents (conf, config_text, -1, NULL);
    }
  self->argv = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (self->argv, g_strdup (coworkd));
  g_ptr_array_add (self->argv, g_strdup ("--app-data-dir"));
  g_ptr_array_add (self->argv, g_strdup (self->dir));
  g_ptr_array_add (self->argv, g_strdup ("--no-system-plugins"));
  g_ptr_array_add (self->argv, g_strdup ("--dbus"));
  g_ptr_array_add (self->argv, g_strdup ("none"));
  va_start (ap, config_text);
  while ((arg = va_arg (ap, const gchar *)) != NULL)
    g_ptr_array_add (self->argv, g_strdup (arg));
  va_end (ap);
  g_ptr_array_add (self->argv, NULL);
  spawn_and_wait (self);
  return self;
}

/* SIGTERM is an orderly stop: a daemon that crashes or fails on the way out (a sanitizer
 * report) spoils the numbers of the rows after it. */
static void
stop_checked (CwBenchDaemon *self)
{
  g_subprocess_send_signal (self->proc, SIGTERM);
  g_subprocess_wait (self->proc, NULL, NULL);
  if (!g_subprocess_get_if_exited (self->proc) || g_subprocess_get_exit_status (self->proc) != 0)
    g_error ("coworkd in %s did not exit 0 on SIGTERM (wait status %d)", self->dir,
             g_subprocess_get_status (self->proc));
  g_clear_object (&self->proc);
}

void
cw_bench_daemon_restart (CwBenchDaemon *self)
{
  stop_checked (self);
  spawn_and_wait (self);
}

CwClient *
cw_bench_daemon_connect (CwBenchDaemon *self)
{
  g_autoptr (GError) error = NULL;
  CwClient *c = cw_client_connect (self->endpoint, self->token, &error);

  g_assert_no_error (error);
  return c;
}

gint64
cw_bench_daemon_rss_kib (CwBenchDaemon *self)
{
  g_autofree gchar *path
      = g_strdup_printf ("/proc/%s/status", g_subprocess_get_identifier (self->proc));
  g_autofree gchar *text = NULL;
  const gchar *line;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return -1;
  line = strstr (text, "VmRSS:");
  return line != NULL ? g_ascii_strtoll (line + 6, NULL, 10) : -1;
}

void
cw_bench_rm_rf (const gchar *path)
{
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
  const gchar *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree gchar *child = g_build_filename (path, name, NULL);
      if (g_file_test (child, G_FILE_TEST_IS_DIR))
        cw_bench_rm_rf (child);
      else
        g_unlink (child);
    }
  g_rmdir (path);
}

void
cw_bench_daemon_stop (CwBenchDaemon *self)
{
  stop_checked (self);
  cw_bench_rm_rf (self->dir);
  g_free (self->dir);
  g_free (self->endpoint);
  g_free (self->token);
  g_ptr_array_unref (self->argv);
  g_free (self);
}

static gint
compare_doubles (gconstpointer a, gconstpointer b)
{
  gdouble x = *(const gdouble *) a, y = *(const gdouble *) b;

  return x < y ? -1 : x > y;
}

gdouble
cw_bench_percentile (GArray *samples, gdouble pct)
{
  guint idx;

  if (samples->len == 0)
    return 0;
  g_array_sort (samples, compare_doubles);
  idx = (guint) (pct / 100.0 * (samples->len - 1) + 0.5);
  return g_array_index (samples, gdouble, MIN (idx, samples->len - 1));
}

void
cw_bench_row (const gchar *metric, const gchar *value, const gchar *floor, const gchar *target,
              gboolean met)
{
  g_print ("| %s | %s | %s | %s | %s |\n", metric, value, floor != NULL ? floor : "-",
           target != NULL ? target : "-",
           target == NULL ? "-"
           : met          ? "met"
                          : "MISSED");
}

GArray *
cw_bench_round_trips (const gchar *path, const gchar *line, guint n)
{
  g_autoptr (GSocketClient) sc = g_socket_client_new ();
  g_autoptr (GSocketAddress) addr = g_unix_socket_address_new (path);
  g_autoptr (GSocketConnection) conn = NULL;
  g_autoptr (GDataInputStream) in = NULL;
  GOutputStream *out;
  GArray *samples = g_array_sized_new (FALSE, FALSE, sizeof (gdouble), n);
  gsize len = strlen (line);
  guint warm = MIN (n / 10 + 1, 200); /* warm-up rounds, not counted */

  for (gint tries = 0; conn == NULL && tries < 500; tries++)
    if ((conn = g_socket_client_connect (sc, G_SOCKET_CONNECTABLE (addr), NULL, NULL)) == NULL)
      g_usleep (2000);
  g_assert_nonnull (conn);
  in = g_data_input_stream_new (g_io_stream_get_input_stream (G_IO_STREAM (conn)));
  /* Large answers (bootstrap state) must not make the reader rescan a small buffer. */
  g_buffered_input_stream_set_buffer_size (G_BUFFERED_INPUT_STREAM (in), 1 << 20);
  out = g_io_stream_get_output_stream (G_IO_STREAM (conn));
  for (guint i = 0; i < n + warm; i++)
    {
      gdouble t0 = cw_bench_now_us ();
      g_autofree gchar *reply = NULL;

      g_output_stream_write_all (out, line, len, NULL, NULL, NULL);
      reply = g_data_input_stream_read_line (in, NULL, NULL, NULL);
      g_assert_nonnull (reply);
      if (i >= warm)
        {
          gdouble dt = cw_bench_now_us () - t0;
          g_array_append_val (samples, dt);
        }
    }
  return samples;
}

gint64
cw_bench_wakeups (const gchar *pid)
{
  g_autofree gchar *tasks = g_build_filename ("/proc", pid, "task", NULL);
  g_autoptr (GDir) dir = g_dir_open (tasks, 0, NULL);
  const gchar *tid;
  gint64 total = 0;

  while (dir != NULL && (tid = g_dir_read_name (dir)) != NULL)
    {
      g_autofree gchar *path = g_build_filename (tasks, tid, "status", NULL);
      g_autofree gchar *text = NULL;
      g_auto (GStrv) lines = NULL;

      if (!g_file_get_contents (path, &text, NULL, NULL))
        continue;
      lines = g_strsplit (text, "\n", -1);
      for (guint i = 0; lines[i] != NULL; i++)
        if (g_str_has_prefix (lines[i], "voluntary_ctxt_switches:")
            || g_str_has_prefix (lines[i], "nonvoluntary_ctxt_switches:"))
          total += g_ascii_strtoll (strchr (lines[i], ':') + 1, NULL, 10);
    }
  return total;
}

gdouble
cw_bench_cpu_ms (const gchar *pid)
{
  g_autofree gchar *path = g_build_filename ("/proc", pid, "stat", NULL);
  g_autofree gchar *text = NULL;
  g_auto (GStrv) fields = NULL;
  const gchar *end;

  /* utime and stime, the 14th and 15th fields, counted after the command's ")" */
  if (!g_file_get_contents (path, &text, NULL, NULL) || (end = strrchr (text, ')')) == NULL)
    return -1;
  fields = g_strsplit (end + 2, " ", 14);
  if (g_strv_length (fields) < 14)
    return -1;
  return (g_ascii_strtod (fields[11], NULL) + g_ascii_strtod (fields[12], NULL)) * 1000.0
         / sysconf (_SC_CLK_TCK);
}
