/* coworkd.c: the daemon's entry point: options, signals, main loop.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "cw-daemon-private.h"
#include "cw-transport-dbus-private.h"

#include <glib-unix.h>
#include <glib/gi18n.h>
#include <locale.h>
#include <malloc.h>
#include <signal.h>
#include <sys/resource.h>

/* Clients, the database and child processes all take descriptors: use all the hard limit
 * allows (the soft default, often 1024, is for select() users; GLib polls). */
static void
raise_fd_limit (void)
{
  struct rlimit rl;

  if (getrlimit (RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max)
    {
      rl.rlim_cur = rl.rlim_max;
      if (setrlimit (RLIMIT_NOFILE, &rl) != 0)
        g_debug ("could not raise the descriptor limit: %s", g_strerror (errno));
    }
}

static gboolean
on_quit_signal (gpointer user_data)
{
  g_message ("stopping on signal");
  g_main_loop_quit (user_data);
  return G_SOURCE_CONTINUE;
}

/* --plugin-dir flags first, then COWORK_PLUGIN_PATH (colon-separated; `meson devenv` sets it
 * to the build tree's plugins). */
static gchar **
with_plugin_path (gchar **dirs)
{
  const gchar *env = g_getenv ("COWORK_PLUGIN_PATH");
  g_auto (GStrv) extra = NULL;
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();

  if (env == NULL || *env == '\0')
    return dirs;
  extra = g_strsplit (env, G_SEARCHPATH_SEPARATOR_S, -1);
  if (dirs != NULL)
    g_strv_builder_addv (builder, (const gchar **) dirs);
  for (guint i = 0; extra[i] != NULL; i++)
    if (*extra[i] != '\0')
      g_strv_builder_add (builder, extra[i]);
  g_strfreev (dirs);
  return g_strv_builder_end (builder);
}

int
main (int argc, char **argv)
{
  g_autoptr (GOptionContext) ctx = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (CwDaemon) daemon = NULL;
  g_autoptr (GMainLoop) loop = NULL;
  g_autofree gchar *mode = NULL, *app_data_dir = NULL, *endpoint = NULL;
  g_autofree gchar *token_file = NULL, *lock_file = NULL, *dbus = NULL;
  g_auto (GStrv) plugin_dirs = NULL;
  g_auto (GStrv) enable_plugins = NULL;
  gboolean daemon_flag = FALSE, foreground = FALSE, verbose = FALSE, version = FALSE;
  gboolean no_system_plugins = FALSE;
  CwDaemonOptions options = { 0 };
  CwDbusBus bus_check;
  const GOptionEntry entries[] = {
    { "daemon", 0, 0, G_OPTION_ARG_NONE, &daemon_flag, N_ ("Accepted for compatibility"), NULL },
    { "foreground", 0, 0, G_OPTION_ARG_NONE, &foreground, N_ ("Stay in the foreground (default)"),
      NULL },
    { "mode", 0, 0, G_OPTION_ARG_STRING, &mode, N_ ("user or system"), N_ ("MODE") },
    { "app-data-dir", 0, 0, G_OPTION_ARG_FILENAME, &app_data_dir, N_ ("Application data directory"),
      N_ ("DIR") },
    { "endpoint", 0, 0, G_OPTION_ARG_STRING, &endpoint, N_ ("Socket path or tcp://127.0.0.1:PORT"),
      N_ ("ENDPOINT") },
    { "token-file", 0, 0, G_OPTION_ARG_FILENAME, &token_file, N_ ("Auth token file"), N_ ("FILE") },
    { "lock-file", 0, 0, G_OPTION_ARG_FILENAME, &lock_file, N_ ("Process lock file"), N_ ("FILE") },
    { "plugin-dir", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &plugin_dirs,
      N_ ("Also load plugins from DIR (repeatable)"), N_ ("DIR") },
    { "enable-plugin", 0, 0, G_OPTION_ARG_STRING_ARRAY, &enable_plugins,
      N_ ("Load NAME again after it crashed the daemon (repeatable)"), N_ ("NAME") },
    { "no-system-plugins", 0, 0, G_OPTION_ARG_NONE, &no_system_plugins,
      N_ ("Do not load the installed plugins"), NULL },
    { "dbus", 0, 0, G_OPTION_ARG_STRING, &dbus, N_ ("session, system or none"), N_ ("BUS") },
    { "verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose, N_ ("Log debug messages"), NULL },
    { "version", 0, 0, G_OPTION_ARG_NONE, &version, N_ ("Print the version and exit"), NULL },
    { NULL }
  };

  /* Large answers (bootstrap state, replays) are built and freed over and over: keep such
   * blocks in the heap rather than in fresh mmaps, whose page faults cost more than the
   * copying (measured by bench/cw-bench-agent). */
  mallopt (M_MMAP_THRESHOLD, 32 * 1024 * 1024);
  mallopt (M_TRIM_THRESHOLD, 64 * 1024 * 1024);
  setlocale (LC_ALL, "");
  /* COWORK_LOCALEDIR: the translations of a build tree (meson devenv sets it). */
  bindtextdomain (GETTEXT_PACKAGE, g_getenv ("COWORK_LOCALEDIR") ?: LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  ctx = g_option_context_new (NULL);
  g_option_context_set_summary (ctx, _ ("The Cowork background service."));
  g_option_context_add_main_entries (ctx, entries, GETTEXT_PACKAGE);
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    {
      g_printerr ("coworkd: %s\n", error->message);
      return 2;
    }
  if (version)
    {
      g_print ("coworkd %s\n", PACKAGE_VERSION);
      return 0;
    }
  if (verbose)
    g_log_set_debug_enabled (TRUE);
  signal (SIGPIPE, SIG_IGN);
  /* Past a file size limit a write must fail (and be reported), not kill the daemon. */
  signal (SIGXFSZ, SIG_IGN);
  raise_fd_limit ();

  options.mode = mode;
  options.app_data_dir = app_data_dir;
  options.endpoint = endpoint;
  options.token_file = token_file;
  options.lock_file = lock_file;
  plugin_dirs = with_plugin_path (g_steal_pointer (&plugin_dirs));
  options.plugin_dirs = (const gchar *const *) plugin_dirs;
  options.no_system_plugins = no_system_plugins;
  options.enable_plugins = (const gchar *const *) enable_plugins;
  options.dbus = dbus;
  if (dbus != NULL && !cw_dbus_bus_parse (dbus, FALSE, &bus_check, &error))
    {
      g_printerr ("coworkd: %s\n", error->message);
      return 2;
    }

  loop = g_main_loop_new (NULL, FALSE);
  g_unix_signal_add (SIGTERM, on_quit_signal, loop);
  g_unix_signal_add (SIGINT, on_quit_signal, loop);
  daemon = cw_daemon_new ();
  if (!cw_daemon_start (daemon, &options, &error))
    {
      g_printerr ("coworkd: %s\n", error->message);
      return 1;
    }
  g_main_loop_run (loop);
  cw_daemon_stop (daemon);
  return 0;
}
