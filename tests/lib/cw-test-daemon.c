/* cw-test-daemon.c: the real coworkd binary on a temp dir, for daemon-level tests.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cowork-host.h"
#include "cw-test-daemon.h"
#include "cw-token-private.h"

#include <glib/gstdio.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>

CwTestDaemon *
cw_test_daemon_new (void)
{
  CwTestDaemon *self = g_new0 (CwTestDaemon, 1);
  g_autoptr (GError) error = NULL;

  self->dir = g_dir_make_tmp ("coworkd-test-XXXXXX", &error);
  g_assert_no_error (error);
  self->endpoint = g_build_filename (self->dir, "daemon", "agentd.sock", NULL);
  self->token_file = g_build_filename (self->dir, "daemon", "auth.token", NULL);
  self->extra_args = g_ptr_array_new_with_free_func (g_free);
  self->env = g_get_environ ();
  self->env = g_environ_unsetenv (self->env, "COWORK_APP_DATA_DIR");
  self->env = g_environ_unsetenv (self->env, "COWORK_DAEMON_ENDPOINT");
  self->env = g_environ_unsetenv (self->env, "COWORK_DAEMON_TOKEN_FILE");
  self->env = g_environ_unsetenv (self->env, "COWORK_DAEMON_LOCK_FILE");
  self->env = g_environ_unsetenv (self->env, "NOTIFY_SOCKET");
  return self;
}

void
cw_test_daemon_add_arg (CwTestDaemon *self, const gchar *arg)
{
  g_ptr_array_add (self->extra_args, g_strdup (arg));
}

void
cw_test_daemon_setenv (CwTestDaemon *self, const gchar *name, const gchar *value)
{
  if (value == NULL)
    self->env = g_environ_unsetenv (self->env, name);
  else
    self->env = g_environ_setenv (self->env, name, value, TRUE);
}

/* In the child, before exec: only async-signal-safe calls. */
static void
child_setup (gpointer user_data)
{
  CwTestDaemon *self = user_data;

  /* A test that fails mid-way must not leave its daemon running (and the test runner
   * waiting on its output). */
  prctl (PR_SET_PDEATHSIG, SIGKILL);
  if (self->fd_limit > 0)
    {
      struct rlimit rl = { self->fd_limit, self->fd_limit };
      setrlimit (RLIMIT_NOFILE, &rl);
    }
}

static void
helper_child_setup (gpointer user_data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

GSubprocess *
cw_test_spawn (GSubprocessFlags flags, GError **error, const gchar *argv0, ...)
{
  g_autoptr (GSubprocessLauncher) launcher = g_subprocess_launcher_new (flags);
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  const gchar *arg;
  va_list ap;

  g_ptr_array_add (argv, (gpointer) argv0);
  va_start (ap, argv0);
  while ((arg = va_arg (ap, const gchar *)) != NULL)
    g_ptr_array_add (argv, (gpointer) arg);
  va_end (ap);
  g_ptr_array_add (argv, NULL);
  g_subprocess_launcher_set_child_setup (launcher, helper_child_setup, NULL, NULL);
  return g_subprocess_launcher_spawnv (launcher, (const gchar *const *) argv->pdata, error);
}

void
cw_test_daemon_set_fd_limit (CwTestDaemon *self, guint limit)
{
  self->fd_limit = limit;
}

void
cw_test_daemon_log_to_file (CwTestDaemon *self)
{
  g_free (self->log_file);
  self->log_file = g_build_filename (self->dir, "coworkd.log", NULL);
}

static void check_log (CwTestDaemon *self);

GSubprocess *
cw_test_daemon_spawn (CwTestDaemon *self, GError **error)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_auto (GStrv) dirs = NULL;
  const gchar *binary = g_getenv ("COWORKD");
  const gchar *plugin_dirs = g_getenv ("COWORK_TEST_PLUGIN_DIRS");

  g_assert_nonnull (binary);
  g_ptr_array_add (argv, (gpointer) binary);
  g_ptr_array_add (argv, "--app-data-dir");
  g_ptr_array_add (argv, self->dir);
  g_ptr_array_add (argv, "--no-system-plugins");
  dirs = g_strsplit (plugin_dirs != NULL ? plugin_dirs : "", ":", -1);
  for (guint i = 0; dirs[i] != NULL; i++)
    {
      if (*dirs[i] == '\0')
        continue;
      g_ptr_array_add (argv, "--plugin-dir");
      g_ptr_array_add (argv, dirs[i]);
    }
  for (guint i = 0; i < self->extra_args->len; i++)
    g_ptr_array_add (argv, g_ptr_array_index (self->extra_args, i));
  g_ptr_array_add (argv, NULL);

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
  g_subprocess_launcher_set_environ (launcher, self->env);
  g_subprocess_launcher_set_child_setup (launcher, child_setup, self, NULL);
  if (self->log_file != NULL)
    {
      /* The log of the run before, about to be truncated. */
      check_log (self);
      g_subprocess_launcher_set_stdout_file_path (launcher, self->log_file);
      g_subprocess_launcher_set_stderr_file_path (launcher, self->log_file);
    }
  return g_subprocess_launcher_spawnv (launcher, (const gchar *const *) argv->pdata, error);
}

static gboolean
ping_ok (CwTestDaemon *self)
{
  g_autofree gchar *token = NULL;
  g_autoptr (CwClient) client = NULL;
  g_autoptr (JsonNode) result = NULL;

  token = cw_token_read (self->token_file, NULL);
  if (token == NULL)
    return FALSE;
  client = cw_client_connect (self->endpoint, token, NULL);
  if (client == NULL)
    return FALSE;
  cw_client_set_timeout (client, 5);
  result = cw_client_call (client, "ping", NULL, NULL);
  return result != NULL;
}

void
cw_test_daemon_start (CwTestDaemon *self)
{
  g_autoptr (GError) error = NULL;
  gint64 deadline = g_get_monotonic_time () + 10 * G_TIME_SPAN_SECOND;

  g_assert_null (self->proc);
  self->proc = cw_test_daemon_spawn (self, &error);
  g_assert_no_error (error);
  while (!ping_ok (self))
    {
      if (g_get_monotonic_time () > deadline)
        g_error ("coworkd did not become ready in %s", self->dir);
      g_usleep (5000);
    }
}

gint
cw_test_daemon_stop (CwTestDaemon *self, gint signum)
{
  g_autoptr (GError) error = NULL;
  gint status;

  g_assert_nonnull (self->proc);
  g_subprocess_send_signal (self->proc, signum);
  g_subprocess_wait (self->proc, NULL, &error);
  g_assert_no_error (error);
  status = g_subprocess_get_status (self->proc);
  g_clear_object (&self->proc);
  return status;
}

gchar *
cw_test_daemon_read_token (CwTestDaemon *self)
{
  g_autoptr (GError) error = NULL;
  gchar *token = cw_token_read (self->token_file, &error);

  g_assert_no_error (error);
  return token;
}

CwClient *
cw_test_daemon_connect (CwTestDaemon *self)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *token = cw_test_daemon_read_token (self);
  CwClient *client = cw_client_connect (self->endpoint, token, &error);

  g_assert_no_error (error);
  cw_client_set_timeout (client, 20);
  return client;
}

JsonNode *
cw_test_daemon_call (CwClient *client, const gchar *command, const gchar *params_json)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) params = NULL;
  JsonNode *result;

  if (params_json != NULL)
    {
      params = cw_json_from_string (params_json, -1, &error);
      g_assert_no_error (error);
    }
  result = cw_client_call (client, command, params, &error);
  g_assert_no_error (error);
  return result;
}

JsonObject *
cw_test_obj (JsonNode *node)
{
  g_assert_nonnull (node);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (node));
  return json_node_get_object (node);
}

JsonObject *
cw_test_raw_request (CwClient *client, const gchar *line)
{
  g_autoptr (GError) error = NULL;

  g_assert_true (cw_client_send_raw (client, line, strlen (line), &error));
  g_assert_no_error (error);
  for (;;)
    {
      JsonObject *response = cw_client_read (client, &error);

      g_assert_no_error (error);
      g_assert_nonnull (response);
      if (json_object_has_member (response, "success"))
        return response;
      json_object_unref (response);
    }
}

CwClient *
cw_test_daemon_connect_anonymous (CwTestDaemon *self)
{
  g_autoptr (GError) error = NULL;
  CwClient *client = cw_client_connect (self->endpoint, NULL, &error);

  g_assert_no_error (error);
  cw_client_set_timeout (client, 20);
  return client;
}

void
cw_test_daemon_set_config (CwTestDaemon *self, const gchar *text)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *path = g_build_filename (self->dir, "coworkd.conf", NULL);

  g_file_set_contents (path, text, -1, &error);
  g_assert_no_error (error);
}

gint64
cw_test_daemon_status_kb (CwTestDaemon *self, const gchar *field)
{
  g_autofree gchar *path = NULL, *text = NULL;
  g_autofree gchar *key = g_strconcat ("\n", field, ":", NULL);
  const gchar *at;

  g_assert_nonnull (self->proc);
  path = g_strdup_printf ("/proc/%s/status", g_subprocess_get_identifier (self->proc));
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  at = strstr (text, key);
  g_assert_nonnull (at);
  return g_ascii_strtoll (at + strlen (key), NULL, 10);
}

static gchar *counted_substring;
static guint counted;

static GLogWriterOutput
count_warnings_writer (GLogLevelFlags level, const GLogField *fields, gsize n_fields,
                       gpointer user_data)
{
  for (gsize i = 0; i < n_fields; i++)
    if (g_strcmp0 (fields[i].key, "MESSAGE") == 0 && fields[i].length < 0
        && counted_substring != NULL && strstr (fields[i].value, counted_substring) != NULL)
      {
        counted++;
        return G_LOG_WRITER_HANDLED;
      }
  return g_log_writer_default (level, fields, n_fields, user_data);
}

void
cw_test_count_warnings (const gchar *substring)
{
  g_free (counted_substring);
  counted_substring = g_strdup (substring);
  counted = 0;
  g_log_set_always_fatal (G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);
  g_log_set_writer_func (count_warnings_writer, NULL, NULL);
}

guint
cw_test_counted_warnings (void)
{
  return counted;
}

void
cw_test_context_setup (CwTestContextFixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *db = NULL;
  g_autoptr (CwStore) store = NULL;
  g_autoptr (CwEventBus) bus = NULL;
  g_autoptr (CwConfig) config = NULL;
  g_autoptr (CwCommandRegistry) registry = cw_command_registry_new ();

  f->dir = g_dir_make_tmp ("cw-context-XXXXXX", NULL);
  db = g_build_filename (f->dir, "test.db", NULL);
  store = cw_store_open (db, &error);
  g_assert_no_error (error);
  g_assert_true (cw_core_schema_migrate (store, &error));
  bus = cw_event_bus_new (store, NULL, &error);
  g_assert_no_error (error);
  config = cw_config_new (f->dir, FALSE, "/nonexistent/cowork.conf", &error);
  g_assert_no_error (error);
  f->context = cw_context_new (registry, bus, store, config);
}

void
cw_test_context_teardown (CwTestContextFixture *f, gconstpointer data)
{
  g_clear_object (&f->context);
  cw_test_rm_rf (f->dir);
  g_free (f->dir);
}

void
cw_test_rm_rf (const gchar *path)
{
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
  const gchar *name;

  if (dir != NULL)
    {
      while ((name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree gchar *child = g_build_filename (path, name, NULL);
          if (g_file_test (child, G_FILE_TEST_IS_DIR)
              && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
            cw_test_rm_rf (child);
          else
            g_unlink (child);
        }
    }
  g_rmdir (path);
}

/* The daemon's log lines that mean a bug: sanitizer reports, GLib criticals and failed
 * assertions (a `**` line followed by "domain:ERROR:file:line:..."). */
static const gchar *const bad_log_marks[] = { "runtime error:",
                                              "ERROR: AddressSanitizer",
                                              "ERROR: LeakSanitizer",
                                              "-CRITICAL **",
                                              "-ERROR **",
                                              ":ERROR:",
                                              NULL };

static gchar *
log_tail (const gchar *text, guint lines)
{
  const gchar *at = text + strlen (text);

  while (at > text && lines > 0)
    if (*--at == '\n' && at[1] != '\0')
      lines--;
  return g_strdup (at == text ? at : at + 1);
}

/* Fails the test (or, outside one, aborts) with @why and the dir, printing the log's tail
 * too on stderr (a test run as a subprocess prints no TAP); keeps the dir for a look. */
static void
daemon_fail (CwTestDaemon *self, const gchar *why)
{
  g_autofree gchar *text = NULL, *tail = NULL;

  if (self->log_file != NULL && g_file_get_contents (self->log_file, &text, NULL, NULL))
    tail = log_tail (text, 30);
  self->keep_dir = TRUE;
  if (!g_test_initialized ())
    g_error ("coworkd in %s: %s\n%s", self->dir, why, tail ?: "");
  g_printerr ("coworkd in %s: %s\n", self->dir, why);
  if (tail != NULL)
    g_printerr ("--- the tail of %s ---\n%s--- end ---\n", self->log_file, tail);
  g_test_fail_printf ("coworkd in %s: %s", self->dir, why);
}

static void
check_log (CwTestDaemon *self)
{
  g_autofree gchar *text = NULL;
  g_auto (GStrv) lines = NULL;
  g_autoptr (GString) bad = g_string_new (NULL);

  if (self->log_file == NULL || !g_file_get_contents (self->log_file, &text, NULL, NULL))
    return;
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    for (guint m = 0; bad_log_marks[m] != NULL; m++)
      if (strstr (lines[i], bad_log_marks[m]) != NULL)
        {
          g_string_append_printf (bad, "%s\n", lines[i]);
          break;
        }
  if (bad->len > 0)
    {
      g_autofree gchar *why
          = g_strdup_printf ("its log %s reports bugs:\n%s", self->log_file, bad->str);
      daemon_fail (self, why);
    }
}

void
cw_test_daemon_allow_unclean_exit (CwTestDaemon *self)
{
  self->unclean_exit_ok = TRUE;
}

static void
on_waited (GObject *source, GAsyncResult *result, gpointer user_data)
{
  gboolean *done = user_data;

  g_subprocess_wait_finish (G_SUBPROCESS (source), result, NULL);
  *done = TRUE;
}

static gboolean
on_wait_timeout (gpointer user_data)
{
  gboolean *timed_out = user_data;

  *timed_out = TRUE;
  return G_SOURCE_REMOVE;
}

/* Waits @seconds at most for @proc to end, on a private main context; TRUE when it did. */
static gboolean
wait_bounded (GSubprocess *proc, guint seconds)
{
  g_autoptr (GMainContext) context = g_main_context_new ();
  g_autoptr (GSource) timeout = g_timeout_source_new_seconds (seconds);
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  gboolean done = FALSE, timed_out = FALSE;

  g_main_context_push_thread_default (context);
  g_source_set_callback (timeout, on_wait_timeout, &timed_out, NULL);
  g_source_attach (timeout, context);
  g_subprocess_wait_async (proc, cancellable, on_waited, &done);
  while (!done && !timed_out)
    g_main_context_iteration (context, TRUE);
  g_source_destroy (timeout);
  if (!done)
    {
      g_cancellable_cancel (cancellable);
      while (!done)
        g_main_context_iteration (context, TRUE);
    }
  g_main_context_pop_thread_default (context);
  return !timed_out || g_subprocess_get_identifier (proc) == NULL;
}

/* A daemon still running at the end of a test gets SIGTERM and must exit 0 within
 * CW_TEST_DAEMON_STOP_SECONDS, as under `systemctl stop`; one that ended by itself must
 * have exited 0. */
static void
check_exit (CwTestDaemon *self)
{
  g_autofree gchar *why = NULL;
  gboolean by_itself = g_subprocess_get_identifier (self->proc) == NULL;

  if (!by_itself)
    {
      g_subprocess_send_signal (self->proc, SIGTERM);
      if (!wait_bounded (self->proc, CW_TEST_DAEMON_STOP_SECONDS))
        {
          g_subprocess_force_exit (self->proc);
          g_subprocess_wait (self->proc, NULL, NULL);
          if (!self->unclean_exit_ok)
            daemon_fail (self, "did not exit within " G_STRINGIFY (
                                   CW_TEST_DAEMON_STOP_SECONDS) " s of SIGTERM (killed)");
          return;
        }
    }
  else
    g_subprocess_wait (self->proc, NULL, NULL);
  if (self->unclean_exit_ok
      || (g_subprocess_get_if_exited (self->proc)
          && g_subprocess_get_exit_status (self->proc) == 0))
    return;
  if (g_subprocess_get_if_signaled (self->proc))
    why = g_strdup_printf ("%s by signal %d (%s)", by_itself ? "died" : "on SIGTERM, died",
                           g_subprocess_get_term_sig (self->proc),
                           g_strsignal (g_subprocess_get_term_sig (self->proc)));
  else
    why = g_strdup_printf ("%s with status %d",
                           by_itself ? "exited by itself" : "on SIGTERM, exited",
                           g_subprocess_get_exit_status (self->proc));
  daemon_fail (self, why);
}

void
cw_test_daemon_free (CwTestDaemon *self)
{
  if (self->proc != NULL)
    {
      check_exit (self);
      g_clear_object (&self->proc);
    }
  check_log (self);
  if (!self->keep_dir)
    cw_test_rm_rf (self->dir);
  g_free (self->dir);
  g_free (self->log_file);
  g_free (self->endpoint);
  g_free (self->token_file);
  g_ptr_array_unref (self->extra_args);
  g_strfreev (self->env);
  g_free (self);
}

CwEventBus *
cw_test_open_event_bus (const gchar *db, const CwEventRetention *retention)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (CwStore) store = cw_store_open (db, &error);
  CwEventBus *bus;

  g_assert_no_error (error);
  g_assert_true (cw_core_schema_migrate (store, &error));
  g_assert_no_error (error);
  bus = cw_event_bus_new (store, retention, &error);
  g_assert_no_error (error);
  return bus;
}
