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
    g_subprocess_launcher_set_stderr_file_path (launcher, self->log_file);
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

void
cw_test_daemon_free (CwTestDaemon *self)
{
  if (self->proc != NULL)
    {
      g_subprocess_force_exit (self->proc);
      g_subprocess_wait (self->proc, NULL, NULL);
      g_clear_object (&self->proc);
    }
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
