/* cw-service-manager.c: coworkd as a systemd unit, managed over D-Bus.
 *
 * Install writes the rendered unit into the admin/user unit dir and asks the manager to
 * Reload, EnableUnitFiles and StartUnit; uninstall undoes each step and removes the scope's
 * token, socket and lock files. Every step is logged, so a dry run prints exactly the same
 * list without touching anything. COWORK_SYSTEMD_BUS_ADDRESS points both scopes at another
 * bus (the tests' fake systemd); COWORK_SYSTEMD_SYSTEM_UNIT_DIR moves /etc/systemd/system.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-service-manager-private.h"
#include "cw-client.h"
#include "cw-service-config.h"
#include "cw-token-private.h"

#include <glib/gstdio.h>

#define SD_NAME       "org.freedesktop.systemd1"
#define SD_PATH       "/org/freedesktop/systemd1"
#define SD_MANAGER    "org.freedesktop.systemd1.Manager"
#define SD_UNIT       "org.freedesktop.systemd1.Unit"
#define SD_SERVICE    "org.freedesktop.systemd1.Service"
#define CALL_TIMEOUT  25000
#define JOB_TIMEOUT_S 100 /* above systemd's default TimeoutStartSec of 90 s */

struct _CwServiceManager
{
  CwServiceScope scope;
  CwPaths *paths;
  gchar *app_data_dir;
  gchar *unit_dir;
  gchar *unit_path;   /* ours, in the admin (or user config) dir */
  gchar *vendor_path; /* a packaged unit, used as it is when present; may be NULL */
  gboolean dry_run;
  gboolean subscribed;
  GDBusConnection *bus;
  GString *log;
};

static gchar *
unit_dir_for (CwServiceScope scope)
{
  const gchar *env = g_getenv ("COWORK_SYSTEMD_SYSTEM_UNIT_DIR");

  if (scope == CW_SERVICE_SCOPE_USER)
    return g_build_filename (g_get_user_config_dir (), "systemd", "user", NULL);
  return g_strdup (env != NULL && *env != '\0' ? env : "/etc/systemd/system");
}

/* The unit a package installed for @scope, if any: enabled as it is, never overwritten
 * or removed, so package updates keep reaching it. */
static gchar *
find_vendor_unit (CwServiceScope scope)
{
  const gchar *env = g_getenv ("COWORK_SYSTEMD_VENDOR_UNIT_DIR");
  const gchar *sub = cw_service_scope_to_string (scope);
  g_autofree gchar *prefixed = g_build_filename (CW_SYSTEMD_DIR, sub, NULL);
  g_autofree gchar *usr = g_build_filename ("/usr/lib/systemd", sub, NULL);
  g_autofree gchar *lib = g_build_filename ("/lib/systemd", sub, NULL);
  const gchar *dirs[] = { prefixed, usr, lib, NULL };
  const gchar *only[] = { env, NULL };

  for (const gchar *const *d = env != NULL ? only : dirs; *d != NULL; d++)
    {
      g_autofree gchar *path = g_build_filename (*d, CW_SERVICE_UNIT_NAME, NULL);
      if (g_file_test (path, G_FILE_TEST_IS_REGULAR))
        return g_steal_pointer (&path);
    }
  return NULL;
}

static gboolean
path_is_inside (const gchar *path, const gchar *dir)
{
  gsize n = strlen (dir);

  return n > 1 && g_str_has_prefix (path, dir) && (path[n] == '/' || path[n] == '\0');
}

CwPaths *
cw_service_paths_for_scope (CwServiceScope scope, const CwPaths *own, GError **error)
{
  g_autoptr (CwPaths) paths = NULL;
  gboolean want_system = scope == CW_SERVICE_SCOPE_SYSTEM;

  if (own != NULL && own->system_mode == want_system)
    paths = cw_paths_resolve (cw_service_scope_to_string (scope), own->app_data_dir, own->endpoint,
                              own->token_file, own->lock_file, error);
  else if (want_system)
    {
      /* Spelled out so nothing of the calling user's COWORK_* environment leaks in. */
      const gchar *state = g_getenv ("STATE_DIRECTORY");
      const gchar *runtime = g_getenv ("RUNTIME_DIRECTORY");
      g_autofree gchar *data = g_strdup (state != NULL && *state ? state : "/var/lib/cowork");
      g_autofree gchar *ep = g_build_filename (
          runtime != NULL && *runtime ? runtime : "/run/cowork", "agentd.sock", NULL);
      g_autofree gchar *token = g_build_filename (data, "daemon", "auth.token", NULL);
      g_autofree gchar *lock = g_build_filename (data, "daemon", "agentd.lock", NULL);
      paths = cw_paths_resolve ("system", data, ep, token, lock, error);
    }
  else
    paths = cw_paths_resolve ("user", NULL, NULL, NULL, NULL, error);
  if (paths == NULL)
    return NULL;
  if (want_system)
    {
      /* The service account's own home is its state dir; only a caller that is not the
       * system daemon has a home that must stay out of system mode. */
      gboolean own_system = own != NULL && own->system_mode;
      if ((!own_system && path_is_inside (paths->app_data_dir, g_get_home_dir ()))
          || path_is_inside (paths->app_data_dir, "/home"))
        {
          g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS,
                       "system mode never keeps its data in a home directory (%s)",
                       paths->app_data_dir);
          return NULL;
        }
    }
  return g_steal_pointer (&paths);
}

CwServiceManager *
cw_service_manager_new (CwServiceScope scope, const CwPaths *paths, const gchar *app_data_dir,
                        GError **error)
{
  g_autoptr (CwServiceManager) self = g_new0 (CwServiceManager, 1);

  self->scope = scope;
  self->paths = cw_service_paths_for_scope (scope, paths, error);
  if (self->paths == NULL)
    return NULL;
  self->app_data_dir = scope == CW_SERVICE_SCOPE_USER ? g_strdup (app_data_dir) : NULL;
  self->unit_dir = unit_dir_for (scope);
  self->unit_path = g_build_filename (self->unit_dir, CW_SERVICE_UNIT_NAME, NULL);
  self->vendor_path = find_vendor_unit (scope);
  self->log = g_string_new (NULL);
  return g_steal_pointer (&self);
}

void
cw_service_manager_free (CwServiceManager *self)
{
  if (self == NULL)
    return;
  cw_paths_free (self->paths);
  g_free (self->app_data_dir);
  g_free (self->unit_dir);
  g_free (self->unit_path);
  g_free (self->vendor_path);
  g_clear_object (&self->bus);
  if (self->log != NULL)
    g_string_free (self->log, TRUE);
  g_free (self);
}

void
cw_service_manager_set_dry_run (CwServiceManager *self, gboolean dry_run)
{
  self->dry_run = dry_run;
}

const gchar *
cw_service_manager_get_log (CwServiceManager *self)
{
  return self->log->str;
}

/* The unit systemd will load: ours when written, else a packaged one, else where ours
 * would go. */
const gchar *
cw_service_manager_get_unit_path (CwServiceManager *self)
{
  if (!g_file_test (self->unit_path, G_FILE_TEST_EXISTS) && self->vendor_path != NULL)
    return self->vendor_path;
  return self->unit_path;
}

static gboolean
is_installed (CwServiceManager *self)
{
  return g_file_test (cw_service_manager_get_unit_path (self), G_FILE_TEST_EXISTS);
}

static GDBusConnection *
get_bus (CwServiceManager *self, GError **error)
{
  const gchar *address = g_getenv ("COWORK_SYSTEMD_BUS_ADDRESS");

  if (self->bus != NULL)
    return self->bus;
  if (address != NULL && *address != '\0')
    self->bus = g_dbus_connection_new_for_address_sync (
        address,
        G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT
            | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
        NULL, NULL, error);
  else
    self->bus = g_bus_get_sync (self->scope == CW_SERVICE_SCOPE_SYSTEM ? G_BUS_TYPE_SYSTEM
                                                                       : G_BUS_TYPE_SESSION,
                                NULL, error);
  if (self->bus == NULL)
    g_prefix_error (error, "cannot reach systemd on the %s bus: ",
                    self->scope == CW_SERVICE_SCOPE_SYSTEM ? "system" : "session");
  return self->bus;
}

/* Calls a systemd method, or in a dry run only logs it. Takes @params (floating). */
static GVariant *
sd_call (CwServiceManager *self, const gchar *path, const gchar *iface, const gchar *method,
         GVariant *params, const gchar *reply_type, GError **error)
{
  g_autoptr (GVariant) args = g_variant_ref_sink (params ?: g_variant_new ("()"));
  g_autofree gchar *text = g_variant_print (args, FALSE);
  GDBusConnection *bus;
  GVariant *reply;

  g_string_append_printf (self->log, "%s %s.%s %s\n", self->dry_run ? "would call" : "call", iface,
                          method, text);
  if (self->dry_run)
    return g_variant_new ("()");
  bus = get_bus (self, error);
  if (bus == NULL)
    return NULL;
  reply = g_dbus_connection_call_sync (bus, SD_NAME, path, iface, method, args,
                                       reply_type ? G_VARIANT_TYPE (reply_type) : NULL,
                                       G_DBUS_CALL_FLAGS_NONE, CALL_TIMEOUT, NULL, error);
  if (reply == NULL)
    g_prefix_error (error, "systemd %s failed: ", method);
  return reply;
}

static gboolean
sd_manager (CwServiceManager *self, const gchar *method, GVariant *params, GError **error)
{
  g_autoptr (GVariant) reply = sd_call (self, SD_PATH, SD_MANAGER, method, params, NULL, error);

  return reply != NULL;
}

/* By message, because context prefixes hide the remote name from g_dbus_error_*. */
static gboolean
is_no_such_unit (const GError *error)
{
  return error != NULL && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_DBUS_ERROR)
         && strstr (error->message, "org.freedesktop.systemd1.NoSuchUnit") != NULL;
}

static gboolean
write_unit (CwServiceManager *self, GError **error)
{
  g_autofree gchar *program = cw_service_find_program (error);
  g_autofree gchar *text = NULL;
  CwServiceSpec spec = { CW_SERVICE_PLATFORM_LINUX, self->scope };

  if (program == NULL)
    return FALSE;
  if (self->vendor_path != NULL && self->app_data_dir == NULL
      && !g_file_test (self->unit_path, G_FILE_TEST_EXISTS))
    {
      g_string_append_printf (self->log, "%s the installed unit %s\n",
                              self->dry_run ? "would use" : "use", self->vendor_path);
      return TRUE;
    }
  spec.program = program;
  spec.app_data_dir = self->app_data_dir;
  text = cw_service_render (&spec, NULL, error);
  if (text == NULL)
    return FALSE;
  g_string_append_printf (self->log, "%s %s (mode 0644):\n%s",
                          self->dry_run ? "would write" : "write", self->unit_path, text);
  if (self->dry_run)
    return TRUE;
  if (g_mkdir_with_parents (self->unit_dir, 0755) != 0)
    {
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (errno), "failed to create %s: %s",
                   self->unit_dir, g_strerror (errno));
      return FALSE;
    }
  return g_file_set_contents_full (self->unit_path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0644,
                                   error);
}

typedef struct
{
  const gchar *job;
  GHashTable *removed; /* job path -> result, for signals that beat the reply */
  gboolean timed_out;
} JobWait;

static void
on_job_removed (GDBusConnection *bus, const gchar *sender, const gchar *path, const gchar *iface,
                const gchar *signal, GVariant *params, gpointer data)
{
  JobWait *w = data;
  const gchar *job = NULL, *result = NULL;
  guint32 id;

  if (!g_variant_is_of_type (params, G_VARIANT_TYPE ("(uoss)")))
    return;
  g_variant_get (params, "(u&o&s&s)", &id, &job, NULL, &result);
  g_hash_table_insert (w->removed, g_strdup (job), g_strdup (result));
}

static gboolean
on_job_timeout (gpointer data)
{
  ((JobWait *) data)->timed_out = TRUE;
  return G_SOURCE_REMOVE;
}

/* Queues a start/stop/restart job and waits for systemd's JobRemoved, so a Type=notify unit
 * counts as started only once the daemon said READY=1, and a failure is reported here. */
static gboolean
sd_run_job (CwServiceManager *self, const gchar *method, GError **error)
{
  g_autoptr (GMainContext) ctx = NULL;
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GHashTable) removed = NULL;
  g_autoptr (GSource) timeout = NULL;
  JobWait w = { NULL };
  const gchar *result;
  guint sub;

  if (self->dry_run)
    {
      if (!self->subscribed && !sd_manager (self, "Subscribe", NULL, error))
        return FALSE;
      self->subscribed = TRUE;
      return sd_manager (self, method, g_variant_new ("(ss)", CW_SERVICE_UNIT_NAME, "replace"),
                         error);
    }
  if (get_bus (self, error) == NULL)
    return FALSE;
  ctx = g_main_context_new ();
  removed = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  w.removed = removed;
  g_main_context_push_thread_default (ctx);
  sub = g_dbus_connection_signal_subscribe (self->bus, SD_NAME, SD_MANAGER, "JobRemoved", SD_PATH,
                                            NULL, G_DBUS_SIGNAL_FLAGS_NONE, on_job_removed, &w,
                                            NULL);
  if (self->subscribed || sd_manager (self, "Subscribe", NULL, error))
    {
      self->subscribed = TRUE;
      reply = sd_call (self, SD_PATH, SD_MANAGER, method,
                       g_variant_new ("(ss)", CW_SERVICE_UNIT_NAME, "replace"), "(o)", error);
    }
  if (reply != NULL)
    {
      g_variant_get (reply, "(&o)", &w.job);
      timeout = g_timeout_source_new_seconds (JOB_TIMEOUT_S);
      g_source_set_callback (timeout, on_job_timeout, &w, NULL);
      g_source_attach (timeout, ctx);
      while (!w.timed_out && !g_hash_table_contains (removed, w.job))
        g_main_context_iteration (ctx, TRUE);
      g_source_destroy (timeout);
    }
  g_dbus_connection_signal_unsubscribe (self->bus, sub);
  /* Let GDBus drop its references to the subscription's context before we free it. */
  while (g_main_context_iteration (ctx, FALSE))
    ;
  g_main_context_pop_thread_default (ctx);
  if (reply == NULL)
    return FALSE;
  result = g_hash_table_lookup (removed, w.job);
  if (result == NULL)
    {
      g_set_error (error, CW_ERROR, CW_ERROR_FAILED, "systemd did not finish %s for %s within %d s",
                   method, CW_SERVICE_UNIT_NAME, JOB_TIMEOUT_S);
      return FALSE;
    }
  if (g_strcmp0 (result, "done") != 0)
    {
      g_set_error (error, CW_ERROR, CW_ERROR_FAILED,
                   "systemd %s of %s ended with '%s'; see 'journalctl %s-u %s'", method,
                   CW_SERVICE_UNIT_NAME, result,
                   self->scope == CW_SERVICE_SCOPE_USER ? "--user " : "", CW_SERVICE_UNIT_NAME);
      return FALSE;
    }
  return TRUE;
}

gboolean
cw_service_manager_install (CwServiceManager *self, GError **error)
{
  const gchar *units[] = { CW_SERVICE_UNIT_NAME, NULL };
  gboolean existed = g_file_test (self->unit_path, G_FILE_TEST_EXISTS);

  if (!write_unit (self, error))
    return FALSE;
  if (!sd_manager (self, "Reload", NULL, error)
      || !sd_manager (self, "EnableUnitFiles", g_variant_new ("(^asbb)", units, FALSE, TRUE),
                      error))
    {
      /* systemd never took the unit: take back the file this install wrote, or say it stays. */
      if (self->dry_run)
        return FALSE;
      if (!existed && g_file_test (self->unit_path, G_FILE_TEST_EXISTS)
          && g_unlink (self->unit_path) == 0)
        g_prefix_error (error, "not installed (%s removed again): ", self->unit_path);
      else if (g_file_test (self->unit_path, G_FILE_TEST_EXISTS))
        g_prefix_error (error, "not enabled; %s is kept: ", self->unit_path);
      return FALSE;
    }
  if (!sd_run_job (self, "StartUnit", error))
    {
      if (!self->dry_run)
        g_prefix_error (error, "installed and enabled (%s) but not started: ",
                        cw_service_manager_get_unit_path (self));
      return FALSE;
    }
  return TRUE;
}

static gboolean
remove_file (CwServiceManager *self, const gchar *path, GError **error)
{
  if (!g_file_test (path, G_FILE_TEST_EXISTS) && !g_file_test (path, G_FILE_TEST_IS_SYMLINK))
    return TRUE;
  g_string_append_printf (self->log, "%s %s\n", self->dry_run ? "would remove" : "remove", path);
  if (self->dry_run || g_unlink (path) == 0 || errno == ENOENT)
    return TRUE;
  g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (errno), "failed to remove %s: %s",
               path, g_strerror (errno));
  return FALSE;
}

gboolean
cw_service_manager_uninstall (CwServiceManager *self, GError **error)
{
  const gchar *units[] = { CW_SERVICE_UNIT_NAME, NULL };
  g_autoptr (GError) local_error = NULL;

  /* A unit systemd never loaded cannot be stopped; that is not a failure here. */
  if (!sd_run_job (self, "StopUnit", &local_error) && !is_no_such_unit (local_error))
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  return sd_manager (self, "DisableUnitFiles", g_variant_new ("(^asb)", units, FALSE), error)
         && remove_file (self, self->unit_path, error) && sd_manager (self, "Reload", NULL, error)
         && remove_file (self, self->paths->token_file, error)
         && (g_str_has_prefix (self->paths->endpoint, "tcp://")
             || remove_file (self, self->paths->endpoint, error))
         && remove_file (self, self->paths->lock_file, error);
}

static gboolean
job (CwServiceManager *self, const gchar *method, GError **error)
{
  if (!self->dry_run && !is_installed (self))
    {
      g_set_error (error, CW_ERROR, CW_ERROR_NOT_FOUND,
                   "the %s service is not installed (no %s); run 'coworkctl service install%s'",
                   cw_service_scope_to_string (self->scope),
                   cw_service_manager_get_unit_path (self),
                   self->scope == CW_SERVICE_SCOPE_SYSTEM ? " --system" : "");
      return FALSE;
    }
  return sd_run_job (self, method, error);
}

gboolean
cw_service_manager_start (CwServiceManager *self, GError **error)
{
  return job (self, "StartUnit", error);
}

gboolean
cw_service_manager_stop (CwServiceManager *self, GError **error)
{
  g_autoptr (GError) local_error = NULL;

  /* A unit systemd has not loaded is not running: stopped is what was asked for. */
  if (job (self, "StopUnit", &local_error) || is_no_such_unit (local_error))
    return TRUE;
  g_propagate_error (error, g_steal_pointer (&local_error));
  return FALSE;
}

gboolean
cw_service_manager_restart (CwServiceManager *self, GError **error)
{
  return job (self, "RestartUnit", error);
}

static GVariant *
unit_property (CwServiceManager *self, const gchar *unit_path, const gchar *iface,
               const gchar *name, GError **error)
{
  g_autoptr (GVariant) reply = g_dbus_connection_call_sync (
      self->bus, SD_NAME, unit_path, "org.freedesktop.DBus.Properties", "Get",
      g_variant_new ("(ss)", iface, name), G_VARIANT_TYPE ("(v)"), G_DBUS_CALL_FLAGS_NONE,
      CALL_TIMEOUT, NULL, error);
  GVariant *value = NULL;

  if (reply == NULL)
    return NULL;
  g_variant_get (reply, "(v)", &value);
  return value;
}

/* ActiveState, SubState and MainPID; "inactive" when systemd has not loaded the unit. */
static gboolean
query_unit (CwServiceManager *self, JsonObject *status, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GVariant) active = NULL, sub = NULL, pid = NULL;
  const gchar *unit_path = NULL;

  reply = g_dbus_connection_call_sync (self->bus, SD_NAME, SD_PATH, SD_MANAGER, "GetUnit",
                                       g_variant_new ("(s)", CW_SERVICE_UNIT_NAME),
                                       G_VARIANT_TYPE ("(o)"), G_DBUS_CALL_FLAGS_NONE, CALL_TIMEOUT,
                                       NULL, &local_error);
  if (reply == NULL)
    {
      if (!is_no_such_unit (local_error))
        {
          g_propagate_prefixed_error (error, g_steal_pointer (&local_error),
                                      "systemd GetUnit failed: ");
          return FALSE;
        }
      json_object_set_string_member (status, "active", "inactive");
      json_object_set_string_member (status, "subState", "dead");
      json_object_set_int_member (status, "pid", 0);
      return TRUE;
    }
  g_variant_get (reply, "(&o)", &unit_path);
  active = unit_property (self, unit_path, SD_UNIT, "ActiveState", error);
  sub = active ? unit_property (self, unit_path, SD_UNIT, "SubState", error) : NULL;
  pid = sub ? unit_property (self, unit_path, SD_SERVICE, "MainPID", error) : NULL;
  if (pid == NULL)
    return FALSE;
  json_object_set_string_member (status, "active", g_variant_get_string (active, NULL));
  json_object_set_string_member (status, "subState", g_variant_get_string (sub, NULL));
  json_object_set_int_member (status, "pid", g_variant_get_uint32 (pid));
  return TRUE;
}

static gboolean
query_enabled (CwServiceManager *self, JsonObject *status, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  g_autoptr (GVariant) reply = NULL;
  const gchar *state = "not-found";

  reply = g_dbus_connection_call_sync (self->bus, SD_NAME, SD_PATH, SD_MANAGER, "GetUnitFileState",
                                       g_variant_new ("(s)", CW_SERVICE_UNIT_NAME),
                                       G_VARIANT_TYPE ("(s)"), G_DBUS_CALL_FLAGS_NONE, CALL_TIMEOUT,
                                       NULL, &local_error);
  if (reply != NULL)
    g_variant_get (reply, "(&s)", &state);
  else if (!is_no_such_unit (local_error)
           && !g_error_matches (local_error, G_DBUS_ERROR, G_DBUS_ERROR_FILE_NOT_FOUND))
    {
      g_propagate_prefixed_error (error, g_steal_pointer (&local_error),
                                  "systemd GetUnitFileState failed: ");
      return FALSE;
    }
  json_object_set_string_member (status, "unitFileState", state);
  json_object_set_boolean_member (
      status, "enabled", g_str_has_prefix (state, "enabled") || g_strcmp0 (state, "linked") == 0);
  return TRUE;
}

/* The daemon's own view, when one answers on the scope's endpoint with its token. */
static JsonNode *
query_health (CwServiceManager *self)
{
  g_autofree gchar *token = cw_token_read (self->paths->token_file, NULL);
  g_autoptr (CwClient) client = NULL;

  if (token == NULL)
    return json_node_new (JSON_NODE_NULL);
  client = cw_client_connect (self->paths->endpoint, token, NULL);
  if (client == NULL)
    return json_node_new (JSON_NODE_NULL);
  cw_client_set_timeout (client, 3);
  return cw_client_call (client, "daemon_health", NULL, NULL) ?: json_node_new (JSON_NODE_NULL);
}

JsonObject *
cw_service_manager_status (CwServiceManager *self, GError **error)
{
  g_autoptr (JsonObject) status = json_object_new ();
  g_autofree gchar *program = cw_service_find_program (error);
  g_auto (GStrv) args = NULL;
  JsonArray *arr = json_array_new ();
  CwServiceSpec spec = { CW_SERVICE_PLATFORM_LINUX, self->scope };
  g_autoptr (GError) bus_error = NULL;

  if (program == NULL)
    {
      json_array_unref (arr);
      return NULL;
    }
  spec.program = program;
  spec.app_data_dir = self->app_data_dir;
  args = cw_service_daemon_args (&spec);
  for (guint i = 0; args[i] != NULL; i++)
    json_array_add_string_element (arr, args[i]);
  json_object_set_string_member (status, "mode", cw_service_scope_to_string (self->scope));
  json_object_set_string_member (status, "manager", "systemd");
  json_object_set_string_member (status, "serviceId", CW_SERVICE_UNIT_NAME);
  json_object_set_boolean_member (status, "installed", is_installed (self));
  json_object_set_string_member (status, "configPath", cw_service_manager_get_unit_path (self));
  json_object_set_string_member (status, "daemonProgram", program);
  json_object_set_array_member (status, "daemonArgs", arr);
  json_object_set_string_member (status, "appDataDir", self->paths->app_data_dir);
  json_object_set_string_member (status, "endpoint", self->paths->endpoint);
  json_object_set_string_member (status, "tokenFile", self->paths->token_file);
  json_object_set_string_member (status, "lockFile", self->paths->lock_file);
  json_object_set_null_member (status, "details");
  if (get_bus (self, &bus_error) == NULL)
    {
      /* An installed unit without a reachable systemd is still worth reporting. */
      json_object_set_string_member (status, "manager", "systemd (not reachable)");
      json_object_set_string_member (status, "details", bus_error->message);
      json_object_set_boolean_member (status, "enabled", FALSE);
      json_object_set_string_member (status, "active", "unknown");
      json_object_set_string_member (status, "subState", "not managed");
      json_object_set_int_member (status, "pid", 0);
    }
  else if (!query_enabled (self, status, error) || !query_unit (self, status, error))
    return NULL;
  json_object_set_boolean_member (
      status, "running",
      g_strcmp0 (json_object_get_string_member (status, "active"), "active") == 0);
  json_object_set_member (status, "health", query_health (self));
  return g_steal_pointer (&status);
}
