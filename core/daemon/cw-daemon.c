/* cw-daemon.c: boots the pieces in order and takes them down in reverse.
 *   lock -> store -> secrets -> plugins load -> plugins start -> transports -> ready (READY=1)
 * Each phase is recorded with its duration and error for daemon_health.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "cowork-host.h"
#include "cw-core-commands-private.h"
#include "cw-daemon-private.h"
#include "cw-interaction-commands-private.h"
#include "cw-lock-private.h"
#include "cw-memory-trim-private.h"
#include "cw-peer-policy-private.h"
#include "cw-service-commands-private.h"
#include "cw-sd-notify-private.h"
#include "cw-test-clock-private.h"
#include "cw-token-private.h"
#include "cw-transport-dbus-private.h"
#include "cw-transport-socket-private.h"

struct _CwDaemon
{
  GObject parent_instance;
  CwPaths *paths;
  CwLock *lock;
  CwConfig *config;
  CwStore *store;
  CwEventBus *bus;
  CwCommandRegistry *registry;
  CwContext *context;
  CwScheduler *scheduler;
  CwHttpServer *http;
  CwPluginLoader *loader;
  CwTransportSocket *socket;
  CwTransportDbus *dbus;
  CwPeerPolicy *peer_policy;
  CwServiceEnv service_env;
  JsonArray *phases;
  gchar *no_plugin_warning; /* set when no plugin runs: the daemon can only do core commands */
  gint64 started_at_us;
  gint64 ready_at_us;
  gboolean ready;
  CwSdWatchdog *watchdog;
  CwMemoryTrim *trim;
};

G_DEFINE_FINAL_TYPE (CwDaemon, cw_daemon, G_TYPE_OBJECT)

static void
cw_daemon_finalize (GObject *object)
{
  CwDaemon *self = CW_DAEMON (object);

  cw_daemon_stop (self);
  json_array_unref (self->phases);
  g_free (self->no_plugin_warning);
  cw_paths_free (self->paths);
  G_OBJECT_CLASS (cw_daemon_parent_class)->finalize (object);
}

static void
cw_daemon_class_init (CwDaemonClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = cw_daemon_finalize;
}

static void
cw_daemon_init (CwDaemon *self)
{
  self->phases = json_array_new ();
}

CwDaemon *
cw_daemon_new (void)
{
  return g_object_new (CW_TYPE_DAEMON, NULL);
}

static gboolean
record_phase (CwDaemon *self, const gchar *name, gint64 since_us, gboolean ok, const GError *error)
{
  JsonObject *phase = json_object_new ();

  json_object_set_string_member (phase, "name", name);
  json_object_set_string_member (phase, "state", ok ? "done" : "failed");
  json_object_set_double_member (phase, "durationMs",
                                 (gdouble) (g_get_monotonic_time () - since_us) / 1000.0);
  if (!ok && error != NULL)
    json_object_set_string_member (phase, "error", error->message);
  json_array_add_object_element (self->phases, phase);
  return ok;
}

static gboolean
phase_lock (CwDaemon *self, GError **error)
{
  self->lock = cw_lock_acquire (self->paths->lock_file, NULL, error);
  return self->lock != NULL;
}

/* [http] of coworkd.conf; the server binds only when a plugin adds the first route. */
static CwHttpServer *
http_from_config (CwConfig *config)
{
  g_autofree gchar *address = cw_config_get_string (config, "http", "address", NULL);
  gint64 port = cw_config_get_int (config, "http", "port", 0);
  gint64 max_body = cw_config_get_int (config, "http", "max-body-size", CW_HTTP_DEFAULT_MAX_BODY);
  gint64 timeout = cw_config_get_int (config, "http", "request-timeout", 30);
  CwHttpServer *server;

  if (port < 0 || port > 65535)
    {
      g_warning ("[http] port %" G_GINT64_FORMAT " is not a port; using one the kernel picks",
                 port);
      port = 0;
    }
  server = cw_http_server_new (address, (guint) port);
  cw_http_server_set_limits (server, max_body > 0 ? (guint64) max_body : 0,
                             timeout > 0 ? (guint) MIN (timeout, 86400) * 1000 : 0);
  return server;
}

static gboolean
phase_store (CwDaemon *self, GError **error)
{
  CwEventRetention retention = CW_EVENT_RETENTION_DEFAULT;
  g_autoptr (CwInteractions) interactions = NULL;

  self->config = cw_config_new (self->paths->app_data_dir, self->paths->system_mode,
                                self->paths->config_file, error);
  if (self->config == NULL)
    return FALSE;
  self->store = cw_store_open (self->paths->db_file, error);
  if (self->store == NULL || !cw_core_schema_migrate (self->store, error))
    return FALSE;
  retention.ring_size = cw_config_get_int (self->config, "events", "ring-size", 5000);
  retention.keep_events = cw_config_get_int (self->config, "events", "keep-events", 50000);
  retention.keep_seconds = cw_config_get_int (self->config, "events", "keep-days", 7) * 86400;
  retention.max_events = cw_config_get_int (self->config, "events", "max-events", 1000000);
  retention.ring_bytes
      = (gsize) CLAMP (cw_config_get_int (self->config, "events", "ring-kib", 4096), 64,
                       1024 * 1024)
        * 1024;
  self->bus = cw_event_bus_new (self->store, &retention, error);
  if (self->bus == NULL)
    return FALSE;
  cw_event_bus_set_store_wait (
      self->bus, (guint) CLAMP (cw_config_get_int (self->config, "events", "store-wait-ms",
                                                   CW_EVENT_STORE_WAIT_MS),
                                0, G_MAXINT));
  cw_command_registry_set_event_bus (self->registry, self->bus);
  self->trim = cw_memory_trim_new (self->bus, self->store);
  self->context = cw_context_new (self->registry, self->bus, self->store, self->config);
  self->scheduler = cw_scheduler_new (self->store, error);
  if (self->scheduler == NULL || !cw_test_clock_setup (self->scheduler, self->registry, error))
    return FALSE;
  cw_context_set_scheduler (self->context, self->scheduler);
  interactions = cw_interactions_new (self->store, self->bus, error);
  if (interactions == NULL)
    return FALSE;
  cw_context_set_interactions (self->context, interactions);
  self->http = http_from_config (self->config);
  cw_context_set_http_server (self->context, self->http);
  cw_core_commands_register (self, self->registry);
  cw_interaction_commands_register (self->context);
  return TRUE;
}

/* The scope's credential store; it does no I/O yet, so a missing keyring cannot stop the
 * boot: the first call that needs it reports the problem. */
static gboolean
phase_secrets (CwDaemon *self, GError **error)
{
  g_autoptr (CwSecrets) secrets = cw_paths_open_secrets (self->paths);

  cw_context_set_secrets (self->context, secrets);
  self->service_env.context = self->context;
  self->service_env.paths = self->paths;
  cw_service_commands_register (&self->service_env, self->registry);
  return TRUE;
}

static gboolean
phase_plugins_load (CwDaemon *self, const CwDaemonOptions *options, GError **error)
{
  g_autoptr (GPtrArray) dirs = g_ptr_array_new ();

  for (guint i = 0; options->plugin_dirs != NULL && options->plugin_dirs[i] != NULL; i++)
    g_ptr_array_add (dirs, (gpointer) options->plugin_dirs[i]);
  if (!options->no_system_plugins)
    g_ptr_array_add (dirs, (gpointer) CW_PLUGINDIR);
  g_ptr_array_add (dirs, NULL);
  self->loader = cw_plugin_loader_new (self->context);
  {
    g_autofree gchar *state_dir = g_path_get_dirname (self->paths->db_file);
    g_autofree gchar *configured = cw_config_get_string (self->config, "plugins", "enable", "");
    g_auto (GStrv) from_config = g_strsplit_set (configured, ";, ", -1);
    g_autoptr (GStrvBuilder) enable = g_strv_builder_new ();
    g_auto (GStrv) names = NULL;

    if (options->enable_plugins != NULL)
      g_strv_builder_addv (enable, (const gchar **) options->enable_plugins);
    for (guint i = 0; from_config[i] != NULL; i++)
      if (*from_config[i] != '\0')
        g_strv_builder_add (enable, from_config[i]);
    names = g_strv_builder_end (enable);
    cw_plugin_loader_set_crash_guard (self->loader, state_dir, (const gchar *const *) names);
  }
  cw_plugin_loader_load_dirs (self->loader, (const gchar *const *) dirs->pdata);
  return TRUE;
}

static guint
count_running_plugins (CwDaemon *self)
{
  g_autoptr (JsonArray) plugins = cw_plugin_loader_get_health (self->loader);
  guint n = 0;

  for (guint i = 0; i < json_array_get_length (plugins); i++)
    if (g_strcmp0 (json_object_get_string_member_with_default (
                       json_array_get_object_element (plugins, i), "state", NULL),
                   "running")
        == 0)
      n++;
  return n;
}

static gboolean
phase_plugins_start (CwDaemon *self, const CwDaemonOptions *options, GError **error)
{
  g_autoptr (GString) dirs = g_string_new (NULL);

  cw_plugin_loader_start_all (self->loader);
  if (count_running_plugins (self) > 0)
    return TRUE;
  /* Not fatal (the core commands work), but nothing a user wants works: say so loudly. */
  for (guint i = 0; options->plugin_dirs != NULL && options->plugin_dirs[i] != NULL; i++)
    g_string_append_printf (dirs, "%s%s", dirs->len > 0 ? ":" : "", options->plugin_dirs[i]);
  if (!options->no_system_plugins)
    g_string_append_printf (dirs, "%s%s", dirs->len > 0 ? ":" : "", CW_PLUGINDIR);
  self->no_plugin_warning
      = g_strdup_printf ("no plugin is running (searched %s): only the core commands answer; "
                         "from a build tree run 'meson devenv -C build coworkd', or pass "
                         "--plugin-dir DIR",
                         dirs->len > 0 ? dirs->str : "no directory");
  g_warning ("%s", self->no_plugin_warning);
  return TRUE;
}

/* The bus is optional: only a bad --dbus value fails the boot; a missing or lost bus is
 * retried in the background and shown in daemon_health. */
static gboolean
start_dbus (CwDaemon *self, const CwDaemonOptions *options, GError **error)
{
  CwDbusBus bus;

  if (!cw_dbus_bus_parse (options->dbus, self->paths->system_mode, &bus, error))
    return FALSE;
  self->dbus = cw_transport_dbus_new (
      self->registry, self->bus,
      cw_config_get_int (self->config, "events", "subscriber-queue", 4096));
  cw_transport_dbus_set_peer_check (self->dbus, cw_peer_policy_check, self->peer_policy);
  cw_transport_dbus_start (self->dbus, bus);
  return TRUE;
}

static gboolean
phase_transports (CwDaemon *self, const CwDaemonOptions *options, GError **error)
{
  CwSocketLimits limits = CW_SOCKET_LIMITS_DEFAULT;
  g_autofree gchar *token = cw_token_ensure (self->paths->token_file, error);
  g_autofree gchar *group = NULL;

  if (token == NULL)
    return FALSE;
  group = cw_config_get_string (self->config, "daemon", "group", "cowork");
  self->peer_policy = cw_peer_policy_new (self->paths->system_mode, group);
  limits.max_clients = (guint) CLAMP (
      cw_config_get_int (self->config, "socket", "max-clients", limits.max_clients), 0, G_MAXINT);
  limits.auth_timeout_ms = (guint) CLAMP (
      cw_config_get_int (self->config, "socket", "auth-timeout-ms", limits.auth_timeout_ms), 0,
      G_MAXINT);
  limits.max_auth_failures = (guint) CLAMP (
      cw_config_get_int (self->config, "socket", "max-auth-failures", limits.max_auth_failures), 1,
      G_MAXINT);
  self->socket = cw_transport_socket_new (
      self->registry, self->bus,
      cw_config_get_int (self->config, "events", "subscriber-queue", 4096));
  cw_transport_socket_set_limits (self->socket, &limits);
  cw_transport_socket_set_token (self->socket, token);
  cw_transport_socket_set_peer_check (self->socket, cw_peer_policy_check, self->peer_policy);
  if (!cw_transport_socket_listen (self->socket, self->paths->endpoint, error))
    return FALSE;
  return start_dbus (self, options, error);
}

/* The watchdog's liveness check: the store takes the write lock and answers a read. A
 * database held by someone else past the busy timeout, or one that gives I/O errors, fails
 * it (so systemd restarts a daemon that can no longer store anything); a lock taken and
 * given back within one watchdog period costs one ping, not a restart. */
static gboolean
watchdog_check (gpointer user_data, GError **error)
{
  CwDaemon *self = user_data;
  gboolean outer = sqlite3_get_autocommit (cw_store_get_db (self->store));
  sqlite3_stmt *stmt;
  gboolean ok;

  if (outer ? !cw_store_begin (self->store, error)
            : !cw_store_savepoint (self->store, "watchdog", error))
    {
      g_prefix_error (error, "the store does not answer: ");
      return FALSE;
    }
  stmt = cw_store_prepare (self->store, "SELECT count(*) FROM schema_versions", error);
  ok = stmt != NULL && sqlite3_step (stmt) == SQLITE_ROW;
  if (stmt != NULL && !ok)
    cw_store_set_error (self->store, error, "the store does not answer");
  if (stmt != NULL)
    sqlite3_reset (stmt);
  if (outer)
    cw_store_rollback (self->store);
  else
    cw_store_rollback_to (self->store, "watchdog");
  return ok;
}

gboolean
cw_daemon_start (CwDaemon *self, const CwDaemonOptions *options, GError **error)
{
  gint64 t;

  self->started_at_us = g_get_monotonic_time ();
  self->registry = cw_command_registry_new ();
  self->paths = cw_paths_resolve (options->mode, options->app_data_dir, options->endpoint,
                                  options->token_file, options->lock_file, error);
  if (self->paths == NULL)
    return FALSE;

#define PHASE(name, call)                                                                          \
  t = g_get_monotonic_time ();                                                                     \
  if (!record_phase (self, name, t, (call), error ? *error : NULL))                                \
    return FALSE;

  PHASE ("lock", phase_lock (self, error));
  PHASE ("store", phase_store (self, error));
  PHASE ("secrets", phase_secrets (self, error));
  PHASE ("plugins-load", phase_plugins_load (self, options, error));
  PHASE ("plugins-start", phase_plugins_start (self, options, error));
  PHASE ("transports", phase_transports (self, options, error));
#undef PHASE

  self->ready = TRUE;
  self->ready_at_us = g_get_monotonic_time ();
  cw_transport_dbus_set_ready (self->dbus, TRUE);
  cw_sd_notify ("READY=1");
  self->watchdog = cw_sd_watchdog_start (watchdog_check, self);
  g_message ("coworkd %s ready on %s (%s mode, boot %s, %.1f ms)", PACKAGE_VERSION,
             self->paths->endpoint, self->paths->system_mode ? "system" : "user",
             cw_event_bus_get_boot_id (self->bus),
             (self->ready_at_us - self->started_at_us) / 1000.0);
  cw_event_bus_emit (self->bus, "daemon:ready", NULL, NULL);
  return TRUE;
}

void
cw_daemon_stop (CwDaemon *self)
{
  if (self->ready)
    cw_sd_notify ("STOPPING=1");
  self->ready = FALSE;
  g_clear_pointer (&self->watchdog, cw_sd_watchdog_stop);
  if (self->socket != NULL)
    cw_transport_socket_close (self->socket);
  if (self->dbus != NULL)
    cw_transport_dbus_close (self->dbus);
  if (self->loader != NULL)
    cw_plugin_loader_stop_all (self->loader);
  if (self->bus != NULL)
    cw_event_bus_flush (self->bus);
  g_clear_object (&self->socket);
  g_clear_object (&self->dbus);
  g_clear_object (&self->loader);
  if (self->context != NULL)
    cw_context_set_scheduler (self->context, NULL);
  g_clear_object (&self->scheduler);
  if (self->context != NULL)
    cw_context_set_http_server (self->context, NULL);
  g_clear_object (&self->http);
  g_clear_object (&self->context);
  g_clear_pointer (&self->trim, cw_memory_trim_free);
  g_clear_object (&self->bus);
  g_clear_object (&self->registry);
  g_clear_object (&self->store);
  g_clear_object (&self->config);
  g_clear_pointer (&self->peer_policy, cw_peer_policy_free);
  g_clear_pointer (&self->lock, cw_lock_release);
}

const CwPaths *
cw_daemon_get_paths (CwDaemon *self)
{
  return self->paths;
}

CwContext *
cw_daemon_get_context (CwDaemon *self)
{
  return self->context;
}

gboolean
cw_daemon_is_ready (CwDaemon *self)
{
  return self->ready;
}

/* {jobs, nextFireAt|null, testClock?} */
static JsonObject *
scheduler_health (CwDaemon *self)
{
  JsonObject *obj = json_object_new ();
  gint64 next = cw_scheduler_get_deadline (self->scheduler);

  json_object_set_int_member (obj, "jobs", cw_scheduler_get_n_jobs (self->scheduler));
  if (next == CW_SCHEDULE_NEVER)
    json_object_set_null_member (obj, "nextFireAt");
  else
    json_object_set_int_member (obj, "nextFireAt", next);
  if (cw_test_clock_is_active ())
    json_object_set_boolean_member (obj, "testClock", TRUE);
  return obj;
}

JsonObject *
cw_daemon_get_health (CwDaemon *self)
{
  JsonObject *obj = json_object_new ();
  JsonArray *warnings;

  json_object_set_string_member (obj, "version", PACKAGE_VERSION);
  json_object_set_string_member (obj, "bootId", cw_event_bus_get_boot_id (self->bus));
  json_object_set_string_member (obj, "mode", self->paths->system_mode ? "system" : "user");
  json_object_set_int_member (obj, "pid", getpid ());
  json_object_set_int_member (obj, "uptimeMs",
                              (g_get_monotonic_time () - self->started_at_us) / 1000);
  json_object_set_double_member (
      obj, "startupMs", self->ready ? (self->ready_at_us - self->started_at_us) / 1000.0 : -1);
  json_object_set_array_member (obj, "phases", json_array_ref (self->phases));
  json_object_set_array_member (obj, "plugins", cw_plugin_loader_get_health (self->loader));
  json_object_set_boolean_member (obj, "degraded",
                                  cw_plugin_loader_count_failed (self->loader) > 0
                                      || self->no_plugin_warning != NULL
                                      || !cw_event_bus_is_storing (self->bus));
  warnings = json_array_new ();
  if (self->no_plugin_warning != NULL)
    json_array_add_string_element (warnings, self->no_plugin_warning);
  if (!cw_event_bus_is_storing (self->bus))
    json_array_add_string_element (
        warnings, "events cannot be stored (see events.store): calls that emit events wait, "
                  "then fail; check free disk space and what else holds the database");
  json_object_set_array_member (obj, "warnings", warnings);
  json_object_set_object_member (obj, "events", cw_event_bus_get_health (self->bus));
  json_object_set_object_member (obj, "scheduler", scheduler_health (self));
  json_object_set_object_member (obj, "watchdog", cw_sd_watchdog_get_health (self->watchdog));
  json_object_set_object_member (obj, "memory", cw_memory_trim_get_health (self->trim));
  json_object_set_object_member (obj, "http", cw_http_server_get_health (self->http));
  json_object_set_object_member (obj, "socket", cw_transport_socket_get_health (self->socket));
  if (cw_context_get_secrets (self->context) != NULL)
    json_object_set_object_member (obj, "credentials",
                                   cw_secrets_get_health (cw_context_get_secrets (self->context)));
  if (self->dbus != NULL)
    json_object_set_object_member (obj, "dbus", cw_transport_dbus_get_health (self->dbus));
  return obj;
}

gboolean
cw_daemon_rotate_token (CwDaemon *self, const gchar *actor, GError **error)
{
  g_autofree gchar *token = cw_token_rotate (self->paths->token_file, error);
  g_autoptr (JsonObject) details = json_object_new ();

  if (token == NULL)
    return FALSE;
  cw_transport_socket_set_token (self->socket, token);
  json_object_set_string_member (details, "tokenFile", self->paths->token_file);
  return cw_audit_record (self->store, "token_rotate", actor, details, error);
}
