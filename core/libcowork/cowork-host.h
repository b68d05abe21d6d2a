/* cowork-host.h: the host side of libcowork, for the programs that run plugins: coworkd,
 * coworkctl and test harnesses. Plugins include only cowork.h.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "cowork.h"

G_BEGIN_DECLS

/* ---- store ----------------------------------------------------------------------- */

/**
 * cw_store_open:
 * @path: a file path
 * @error: return location for a #GError, or %NULL
 *
 * Opens (creating if needed) the SQLite file in WAL mode and applies the core schema.
 *
 * Since: 1.0
 */
CwStore *cw_store_open (const gchar *path, GError **error);

/**
 * cw_store_release_memory:
 * @self: a #CwStore
 *
 * Gives back what the connection holds but does not need between statements: the values
 * still bound to its cached statements (a multi-MiB text bound once stays until the
 * statement's next use) and SQLite's unused page-cache pages. Statements in the middle of a
 * step are left alone. For quiet moments; the next statements run as before.
 *
 * Since: 1.0
 */
void cw_store_release_memory (CwStore *self);

/**
 * cw_store_get_path:
 * @self: a #CwStore
 *
 * The database file's path.
 *
 * Since: 1.0
 */
const gchar *cw_store_get_path (CwStore *self);

/**
 * cw_store_check:
 * @self: a #CwStore
 * @error: return location for a #GError, or %NULL
 *
 * Runs PRAGMA quick_check; FALSE with @error naming the first problem.
 *
 * Since: 1.0
 */
gboolean cw_store_check (CwStore *self, GError **error);

/**
 * cw_core_schema_migrate:
 * @store: the #CwStore
 * @error: return location for a #GError, or %NULL
 *
 * The core's own tables (events, audit, scheduler, consumers): applied by cw_store_open's
 * callers before anything else uses the store.
 *
 * Since: 1.0
 */
gboolean cw_core_schema_migrate (CwStore *store, GError **error);

/**
 * cw_core_schema_latest_version:
 *
 * The newest version of the core's own schema.
 *
 * Since: 1.0
 */
gint cw_core_schema_latest_version (void);

/* ---- event bus ------------------------------------------------------------------- */

/**
 * cw_event_bus_add_listener:
 * @self: a #CwEventBus
 * @type_prefix: the start of the event types wanted ("" for every type)
 * @func: the function
 * @user_data: data for @func
 * @destroy: frees @user_data, or %NULL
 *
 * Adds an in-process listener for events whose type starts with @type_prefix. Listeners see an
 * event at once, before it is stored, and are not durable: use cw_plugin_add_event_consumer()
 * for work that must survive a restart. Returns the listener's id.
 *
 * Since: 1.0
 */
guint cw_event_bus_add_listener (CwEventBus *self, const gchar *type_prefix,
                                 CwEventListenerFunc func, gpointer user_data,
                                 GDestroyNotify destroy);

/**
 * cw_event_bus_remove_listener:
 * @self: a #CwEventBus
 * @id: an id, or %NULL
 *
 * Removes the listener with @id.
 *
 * Since: 1.0
 */
void cw_event_bus_remove_listener (CwEventBus *self, guint id);

/**
 * CwEventRetention:
 * @ring_size: events kept in memory for fast replay
 * @keep_events: an event is kept while among the newest @keep_events ...
 * @keep_seconds: ... or younger than @keep_seconds
 * @max_events: the ceiling on stored events, whatever their age
 * @ring_bytes: the most JSON text the in-memory ring holds (0: 4 MiB); older events are
 *   replayed from the store. The newest event always stays.
 *
 * How many events the store keeps and for how long.
 *
 * Since: 1.0
 */
typedef struct
{
  guint ring_size;     /* events kept in memory for fast replay (default 5000) */
  gint64 keep_events;  /* an event is kept while among the newest keep_events ... */
  gint64 keep_seconds; /* ... or younger than keep_seconds */
  gint64 max_events;   /* hard ceiling on stored events, whatever their age */
  gsize ring_bytes;    /* most JSON text kept in memory (0: CW_EVENT_RING_BYTES_DEFAULT) */
} CwEventRetention;

#define CW_EVENT_RING_BYTES_DEFAULT (4 * 1024 * 1024)

#define CW_EVENT_RETENTION_DEFAULT                                                                 \
  {                                                                                                \
    5000, 50000, 7 * 24 * 3600, 1000000, CW_EVENT_RING_BYTES_DEFAULT                               \
  }

/**
 * cw_event_bus_new:
 * @store: the #CwStore
 * @retention: how long events are kept, or %NULL for the defaults
 * @error: return location for a #GError, or %NULL
 *
 * The event bus on @store, keeping events as @retention says (%NULL: the defaults).
 *
 * Since: 1.0
 */
CwEventBus *cw_event_bus_new (CwStore *store, const CwEventRetention *retention, GError **error);

/**
 * cw_event_bus_flush:
 * @self: a #CwEventBus
 *
 * Stores pending events and hands them to subscribers now.
 *
 * Since: 1.0
 */
void cw_event_bus_flush (CwEventBus *self);

/**
 * cw_event_bus_prune:
 * @self: a #CwEventBus
 * @error: return location for a #GError, or %NULL
 *
 * Deletes events outside the retention window; returns how many went.
 *
 * Since: 1.0
 */
gint64 cw_event_bus_prune (CwEventBus *self, GError **error);

/**
 * cw_event_bus_get_health:
 * @self: a #CwEventBus
 *
 * The bus's state for daemon_health: cursor, stored events, subscribers, store trouble.
 *
 * Since: 1.0
 */
JsonObject *cw_event_bus_get_health (CwEventBus *self);

/**
 * cw_event_bus_is_storing:
 * @self: a #CwEventBus
 *
 * FALSE while events cannot be stored (they wait, undelivered, and are retried).
 *
 * Since: 1.0
 */
gboolean cw_event_bus_is_storing (CwEventBus *self);

/* How long events wait for a failing store before they are given up. */
#define CW_EVENT_STORE_WAIT_MS 5000

/**
 * cw_event_bus_set_store_wait:
 * @self: a #CwEventBus
 * @ms: milliseconds
 *
 * How long events wait for a failing store before they are given up (default
 * CW_EVENT_STORE_WAIT_MS).
 *
 * Since: 1.0
 */
void cw_event_bus_set_store_wait (CwEventBus *self, guint ms);

/**
 * cw_event_bus_get_last_seq:
 * @self: a #CwEventBus
 *
 * The seq last handed out, stored or not.
 *
 * Since: 1.0
 */
gint64 cw_event_bus_get_last_seq (CwEventBus *self);

/**
 * CwEventStoredFunc:
 * @error: why the events were given up on, or %NULL when they are stored
 * @user_data: the data given to cw_event_bus_when_stored()
 *
 * Since: 1.0
 */
typedef void (*CwEventStoredFunc) (const GError *error, gpointer user_data);

/**
 * cw_event_bus_when_stored:
 * @self: a #CwEventBus
 * @since: the seq last handed out before
 * @upto: the last seq waited for
 * @func: called once
 * @user_data: for @func
 *
 * Calls @func with %NULL when every event with @since < seq <= @upto is stored, or with an
 * error once one of them is given up on (the store failed for too long).
 *
 * Since: 1.0
 */
void cw_event_bus_when_stored (CwEventBus *self, gint64 since, gint64 upto, CwEventStoredFunc func,
                               gpointer user_data);

/* ---- durable event consumers (host side) ---------------------------------------- */

/**
 * cw_event_bus_add_consumer:
 * @self: a #CwEventBus
 * @owner: the owner: "core" or a plugin's name
 * @name: a name
 * @prefixes: the prefixes
 * @func: the function
 * @gap_func: a #CwEventGapFunc
 * @user_data: data for @func
 * @destroy: frees @user_data, or %NULL
 * @error: return location for a #GError, or %NULL
 *
 * What cw_plugin_add_event_consumer() does, for any @owner (the cursor is kept under
 * (@owner, @name)). Returns the consumer, owned by the bus.
 *
 * Since: 1.0
 */
CwEventConsumer *cw_event_bus_add_consumer (CwEventBus *self, const gchar *owner, const gchar *name,
                                            const gchar *const *prefixes, CwEventConsumerFunc func,
                                            CwEventGapFunc gap_func, gpointer user_data,
                                            GDestroyNotify destroy, GError **error);

/**
 * cw_event_bus_remove_consumer:
 * @self: a #CwEventBus
 * @owner: the owner: "core" or a plugin's name
 * @name: a name
 * @forget: the forget
 *
 * Closes one consumer (saving its cursor, or deleting it with @forget); FALSE if none.
 *
 * Since: 1.0
 */
gboolean cw_event_bus_remove_consumer (CwEventBus *self, const gchar *owner, const gchar *name,
                                       gboolean forget);

/**
 * cw_event_bus_remove_consumers:
 * @self: a #CwEventBus
 * @owner: the owner: "core" or a plugin's name
 *
 * Closes every consumer of @owner, keeping their cursors; returns how many.
 *
 * Since: 1.0
 */
guint cw_event_bus_remove_consumers (CwEventBus *self, const gchar *owner);

/* ---- config ---------------------------------------------------------------------- */

/**
 * cw_config_new:
 * @app_data_dir: the app data dir
 * @system_mode: whether the daemon runs in system mode
 * @path: a file path
 * @error: return location for a #GError, or %NULL
 *
 * @path may name a missing file: then every key has its default.
 *
 * Since: 1.0
 */
CwConfig *cw_config_new (const gchar *app_data_dir, gboolean system_mode, const gchar *path,
                         GError **error);

/**
 * cw_config_get_path:
 * @self: a #CwConfig
 *
 * The config file's path (it may not exist).
 *
 * Since: 1.0
 */
const gchar *cw_config_get_path (CwConfig *self);

/* ---- HTTP server (host side) ---- */

#define CW_HTTP_DEFAULT_MAX_BODY   (25 * 1024 * 1024)
#define CW_HTTP_DEFAULT_TIMEOUT_MS 30000

/**
 * CwHttpServer:
 *
 * The daemon's one HTTP server, shared by the plugins' routes (libsoup 3). It listens only
 * while some owner has a route.
 *
 * Since: 1.0
 */
#define CW_TYPE_HTTP_SERVER (cw_http_server_get_type ())
G_DECLARE_FINAL_TYPE (CwHttpServer, cw_http_server, CW, HTTP_SERVER, GObject)

/**
 * cw_http_server_new:
 * @address: (nullable): an IP literal to bind; %NULL or "" binds 127.0.0.1 and ::1
 * @port: the port, or 0 for one the kernel picks
 *
 * Creates the server; nothing is bound until the first route is added.
 *
 * Returns: (transfer full): a new #CwHttpServer
 *
 * Since: 1.0
 */
CwHttpServer *cw_http_server_new (const gchar *address, guint port);

/**
 * cw_http_server_set_limits:
 * @self: a #CwHttpServer
 * @max_body_bytes: largest request body (larger: 413); 0 keeps the default (25 MiB)
 * @timeout_ms: time from a request's first byte to its answer (later: 408); 0 keeps the
 *   default (30 s)
 *
 * Sets the limits every request gets.
 *
 * Since: 1.0
 */
void cw_http_server_set_limits (CwHttpServer *self, guint64 max_body_bytes, guint timeout_ms);

/**
 * cw_http_server_add_route:
 * @self: a #CwHttpServer
 * @owner: who owns the route (a plugin's name)
 * @path: the route's path, as for cw_plugin_add_http_route()
 * @func: the handler
 * @user_data: data for @func
 * @destroy: (nullable): frees @user_data when the route is removed
 * @error: return location for an error
 *
 * What cw_plugin_add_http_route() does, for any @owner; binds the server if it is the
 * first route.
 *
 * Returns: %TRUE, or %FALSE with @error
 *
 * Since: 1.0
 */
gboolean cw_http_server_add_route (CwHttpServer *self, const gchar *owner, const gchar *path,
                                   CwHttpHandlerFunc func, gpointer user_data,
                                   GDestroyNotify destroy, GError **error);

/**
 * cw_http_server_add_websocket_route:
 * @self: a #CwHttpServer
 * @owner: who owns the route
 * @path: one exact path
 * @protocols: (nullable) (array zero-terminated=1): accepted subprotocols
 * @func: called with each opened connection
 * @user_data: data for @func
 * @destroy: (nullable): frees @user_data when the route is removed
 * @error: return location for an error
 *
 * What cw_plugin_add_websocket_route() does, for any @owner.
 *
 * Returns: %TRUE, or %FALSE with @error
 *
 * Since: 1.0
 */
gboolean cw_http_server_add_websocket_route (CwHttpServer *self, const gchar *owner,
                                             const gchar *path, const gchar *const *protocols,
                                             CwWebsocketFunc func, gpointer user_data,
                                             GDestroyNotify destroy, GError **error);

/**
 * cw_http_server_remove_owner:
 * @self: a #CwHttpServer
 * @owner: whose routes go
 *
 * Removes every route of @owner: its waiting requests get 503, its WebSockets are closed
 * with 1001; the server stops listening when no route is left.
 *
 * Returns: the number of routes removed
 *
 * Since: 1.0
 */
guint cw_http_server_remove_owner (CwHttpServer *self, const gchar *owner);

/**
 * cw_http_server_get_base_url:
 * @self: a #CwHttpServer
 *
 * Returns: (transfer full) (nullable): "http://127.0.0.1:PORT" (or the configured
 *   address), or %NULL while not listening
 *
 * Since: 1.0
 */
gchar *cw_http_server_get_base_url (CwHttpServer *self);

/**
 * cw_http_server_get_health:
 * @self: a #CwHttpServer
 *
 * Returns: (transfer full): {listening, url, addresses[], routes[{owner, path, websocket}],
 *   openRequests, websockets, maxBodyBytes, requestTimeoutMs, lastError?} for daemon_health
 *
 * Since: 1.0
 */
JsonObject *cw_http_server_get_health (CwHttpServer *self);

/* ---- context --------------------------------------------------------------------- */

/**
 * cw_context_new:
 * @registry: the #CwCommandRegistry
 * @bus: the #CwEventBus
 * @store: the #CwStore
 * @config: the #CwConfig
 *
 * A context for plugins over the daemon's registry, bus, store and config.
 *
 * Since: 1.0
 */
CwContext *cw_context_new (CwCommandRegistry *registry, CwEventBus *bus, CwStore *store,
                           CwConfig *config);

/**
 * cw_context_set_secrets:
 * @self: a #CwContext
 * @secrets: a #CwSecrets
 *
 * Sets the credential store plugins reach through cw_context_get_secrets().
 *
 * Since: 1.0
 */
void cw_context_set_secrets (CwContext *self, CwSecrets *secrets);

/**
 * cw_context_set_http_server:
 * @self: a #CwContext
 * @server: (nullable): the daemon's #CwHttpServer
 *
 * Sets the HTTP server the plugins' routes go to (cw_plugin_add_http_route()).
 *
 * Since: 1.0
 */
void cw_context_set_http_server (CwContext *self, CwHttpServer *server);

/**
 * cw_context_get_http_server:
 * @self: a #CwContext
 *
 * Returns: (transfer none) (nullable): the HTTP server set with cw_context_set_http_server()
 *
 * Since: 1.0
 */
CwHttpServer *cw_context_get_http_server (CwContext *self);

/**
 * cw_context_bootstrap_text:
 * @self: a #CwContext
 * @sessions: a #GString
 * @runtime: a #GString
 *
 * Runs every contributor; appends comma-separated JSON text to @sessions and @runtime
 * (both may be NULL to count only). Returns the number of sessions.
 *
 * Since: 1.0
 */
guint cw_context_bootstrap_text (CwContext *self, GString *sessions, GString *runtime);

/**
 * cw_context_count_sessions:
 * @self: a #CwContext
 *
 * The number of sessions the bootstrap contributors report.
 *
 * Since: 1.0
 */
guint cw_context_count_sessions (CwContext *self);

/* ---- bootstrap contributions ----------------------------------------------------- */

/**
 * cw_context_add_bootstrap_contributor:
 * @self: a #CwContext
 * @owner: the owner: "core" or a plugin's name
 * @func: the function
 * @user_data: data for @func
 *
 * The owned forms behind cw_plugin_add_bootstrap_sessions/_member (the core uses "core").
 *
 * Since: 1.0
 */
void cw_context_add_bootstrap_contributor (CwContext *self, const gchar *owner,
                                           CwBootstrapFunc func, gpointer user_data);

/**
 * cw_context_add_bootstrap_member:
 * @self: a #CwContext
 * @owner: the owner: "core" or a plugin's name
 * @name: a name
 * @func: the function
 * @user_data: data for @func
 * @error: return location for a #GError, or %NULL
 *
 * Context add bootstrap member.
 *
 * Since: 1.0
 */
gboolean cw_context_add_bootstrap_member (CwContext *self, const gchar *owner, const gchar *name,
                                          CwBootstrapMemberFunc func, gpointer user_data,
                                          GError **error);

/**
 * cw_context_append_bootstrap_members:
 * @self: a #CwContext
 * @out: the string to append to
 *
 * Appends `,"<name>":<value>` for every member, in the order they were added.
 *
 * Since: 1.0
 */
void cw_context_append_bootstrap_members (CwContext *self, GString *out);

/**
 * cw_context_remove_owner:
 * @self: a #CwContext
 * @owner: the owner: "core" or a plugin's name
 *
 * Drops everything @owner contributed (bootstrap parts, interaction watchers, agent tools
 * and reserved agent tool names): the plugin was disabled or stopped.
 *
 * Since: 1.0
 */
void cw_context_remove_owner (CwContext *self, const gchar *owner);

/**
 * cw_context_add_agent_tool:
 * @self: a #CwContext
 * @owner: the plugin's name
 * @name: the tool's name
 * @description: what the model is told
 * @parameters_json: (nullable): the JSON schema of the arguments
 * @command: the command that runs it
 * @flags: the #CwAgentToolFlags
 * @error: return location for a #GError, or %NULL
 *
 * What cw_plugin_add_agent_tool() does, for @owner.
 *
 * Since: 1.0
 */
gboolean cw_context_add_agent_tool (CwContext *self, const gchar *owner, const gchar *name,
                                    const gchar *description, const gchar *parameters_json,
                                    const gchar *command, CwAgentToolFlags flags, GError **error);

/**
 * cw_context_remove_agent_tool:
 * @self: a #CwContext
 * @owner: the plugin's name
 * @name: the tool's name
 *
 * What cw_plugin_remove_agent_tool() does, for @owner.
 *
 * Returns: %TRUE if @owner had a tool of that name
 *
 * Since: 1.0
 */
gboolean cw_context_remove_agent_tool (CwContext *self, const gchar *owner, const gchar *name);

/**
 * cw_context_reserve_agent_tool:
 * @self: a #CwContext
 * @owner: the plugin's name
 * @name: a built-in tool's name
 *
 * What cw_plugin_reserve_agent_tool() does, for @owner.
 *
 * Since: 1.0
 */
void cw_context_reserve_agent_tool (CwContext *self, const gchar *owner, const gchar *name);

/* ---- pending interactions -------------------------------------------------------- */

/**
 * cw_interactions_new:
 * @store: the #CwStore
 * @bus: the #CwEventBus
 * @error: return location for a #GError, or %NULL
 *
 * Loads the interactions still open in the core table core_interactions (core schema 3)
 * and forgets resolved ones older than a week.
 *
 * Since: 1.0
 */
CwInteractions *cw_interactions_new (CwStore *store, CwEventBus *bus, GError **error);

/**
 * cw_context_set_interactions:
 * @self: a #CwContext
 * @interactions: a #CwInteractions
 *
 * Context set interactions.
 *
 * Since: 1.0
 */
void cw_context_set_interactions (CwContext *self, CwInteractions *interactions);

/**
 * cw_interactions_create:
 * @self: a #CwInteractions
 * @owner: the owner: "core" or a plugin's name
 * @kind: the kind
 * @session_id: the session id, or %NULL
 * @payload: a #JsonObject
 * @data: the data (transfer full), or %NULL
 * @expires_at: the expires at
 * @error: return location for a #GError, or %NULL
 *
 * The owned forms behind cw_plugin_add_interaction/_watch_interactions/_list_interactions.
 *
 * Since: 1.0
 */
CwInteraction *cw_interactions_create (CwInteractions *self, const gchar *owner,
                                       CwInteractionKind kind, const gchar *session_id,
                                       JsonObject *payload, JsonObject *data, gint64 expires_at,
                                       GError **error);

/**
 * cw_interactions_watch:
 * @self: a #CwInteractions
 * @owner: the owner: "core" or a plugin's name
 * @kind: the kind
 * @func: the function
 * @user_data: data for @func
 *
 * Interactions watch.
 *
 * Since: 1.0
 */
void cw_interactions_watch (CwInteractions *self, const gchar *owner, CwInteractionKind kind,
                            CwInteractionFunc func, gpointer user_data);

/**
 * cw_interactions_list_open:
 * @self: a #CwInteractions
 * @owner: the owner: "core" or a plugin's name
 * @kind: the kind
 *
 * Interactions list open.
 *
 * Since: 1.0
 */
GPtrArray *cw_interactions_list_open (CwInteractions *self, const gchar *owner,
                                      CwInteractionKind kind);

/**
 * cw_interactions_unwatch_owner:
 * @self: a #CwInteractions
 * @owner: the owner: "core" or a plugin's name
 *
 * Interactions unwatch owner.
 *
 * Since: 1.0
 */
void cw_interactions_unwatch_owner (CwInteractions *self, const gchar *owner);

/**
 * cw_interactions_expire_due:
 * @self: a #CwInteractions
 * @now_ms: the time in ms since the epoch
 *
 * Expires every pending interaction whose expiry is at or before @now_ms and returns how
 * many. The daemon's timer calls it with the wall clock; tests call it with a fake one.
 *
 * Since: 1.0
 */
guint cw_interactions_expire_due (CwInteractions *self, gint64 now_ms);

/**
 * cw_interactions_append_json:
 * @self: a #CwInteractions
 * @out: the string to append to
 *
 * The pending interactions as one JSON array, as text (the bootstrap member).
 *
 * Since: 1.0
 */
void cw_interactions_append_json (CwInteractions *self, GString *out);

/**
 * cw_interaction_kind_from_string:
 * @text: the text
 * @kind: the kind
 *
 * Parses @text as a kind name; FALSE if it is none.
 *
 * Since: 1.0
 */
gboolean cw_interaction_kind_from_string (const gchar *text, CwInteractionKind *kind);

/* ---- plugin loader --------------------------------------------------------------- */

/**
 * CwPluginLoader:
 *
 * Loads plugin modules, starts them in the order of their rules and stops them in reverse;
 * keeps the crash guard.
 *
 * Since: 1.0
 */
#define CW_TYPE_PLUGIN_LOADER (cw_plugin_loader_get_type ())
G_DECLARE_FINAL_TYPE (CwPluginLoader, cw_plugin_loader, CW, PLUGIN_LOADER, GObject)

/**
 * cw_plugin_loader_new:
 * @context: the #CwContext
 *
 * A loader that hands @context to every plugin it loads.
 *
 * Since: 1.0
 */
CwPluginLoader *cw_plugin_loader_new (CwContext *context);

/**
 * cw_plugin_loader_load_dirs:
 * @self: a #CwPluginLoader
 * @dirs: directories, %NULL-terminated
 *
 * Loads every libcowork_plugin_<name>.so from @dirs in order; the first of a name wins.
 * A module that cannot be loaded is recorded, not fatal.
 *
 * Since: 1.0
 */
void cw_plugin_loader_load_dirs (CwPluginLoader *self, const gchar *const *dirs);

/**
 * cw_plugin_loader_load_file:
 * @self: a #CwPluginLoader
 * @path: a file path
 * @error: return location for a #GError, or %NULL
 *
 * Loads one module (named libcowork_plugin_<name>.so); FALSE only when the file name is not
 * a plugin's or the name is taken: a module that fails is recorded, as by load_dirs.
 *
 * Since: 1.0
 */
gboolean cw_plugin_loader_load_file (CwPluginLoader *self, const gchar *path, GError **error);

/**
 * cw_plugin_loader_set_crash_guard:
 * @self: a #CwPluginLoader
 * @dir: a directory
 * @enable: plugin names, or %NULL
 *
 * Turns on the crash guard in @dir (see cw-plugin-loader.c) and takes the plugins named in
 * @enable off the skipped list. Call before cw_plugin_loader_load_dirs().
 *
 * Since: 1.0
 */
void cw_plugin_loader_set_crash_guard (CwPluginLoader *self, const gchar *dir,
                                       const gchar *const *enable);

/**
 * cw_plugin_loader_start_all:
 * @self: a #CwPluginLoader
 *
 * Starts every loaded plugin in the order of their start rules, waiting for asynchronous
 * starts up to [plugins] start-timeout-ms each (a plugin that takes longer is disabled).
 *
 * Since: 1.0
 */
void cw_plugin_loader_start_all (CwPluginLoader *self);

/**
 * cw_plugin_loader_stop_all:
 * @self: a #CwPluginLoader
 *
 * Stops them in reverse order, waiting up to [plugins] stop-timeout-ms in all.
 *
 * Since: 1.0
 */
void cw_plugin_loader_stop_all (CwPluginLoader *self);

/**
 * cw_plugin_loader_get_health:
 * @self: a #CwPluginLoader
 *
 * [{name, state, path, error?, commands[]}]
 *
 * Since: 1.0
 */
JsonArray *cw_plugin_loader_get_health (CwPluginLoader *self);

/**
 * cw_plugin_loader_get_plugin:
 * @self: a #CwPluginLoader
 * @index: an index
 *
 * The @index-th plugin that became a CwPlugin (in start order once started), or NULL.
 *
 * Since: 1.0
 */
CwPlugin *cw_plugin_loader_get_plugin (CwPluginLoader *self, guint index);

/**
 * cw_plugin_loader_count_failed:
 * @self: a #CwPluginLoader
 *
 * How many plugins failed to load, were skipped or were disabled.
 *
 * Since: 1.0
 */
guint cw_plugin_loader_count_failed (CwPluginLoader *self);

/* ---- secrets --------------------------------------------------------------------- */

/**
 * cw_secrets_new_user:
 *
 * User scope: the Secret Service through libsecret. No I/O until the first call.
 *
 * Since: 1.0
 */
CwSecrets *cw_secrets_new_user (void);

/**
 * cw_secrets_new_user_with_fallback:
 * @dir: a directory
 *
 * User scope that keeps values in the encrypted store in @dir while no Secret Service is
 * reachable, and moves them into the keyring once one is.
 *
 * Since: 1.0
 */
CwSecrets *cw_secrets_new_user_with_fallback (const gchar *dir);

/**
 * cw_secrets_new_system:
 * @dir: a directory
 *
 * System scope: the encrypted store in @dir (created 0700 on first write).
 *
 * Since: 1.0
 */
CwSecrets *cw_secrets_new_system (const gchar *dir);

/**
 * cw_secrets_get_scope:
 * @self: a #CwSecrets
 *
 * "user" or "system".
 *
 * Since: 1.0
 */
const gchar *cw_secrets_get_scope (CwSecrets *self);

/**
 * cw_secrets_get_location:
 * @self: a #CwSecrets
 *
 * Where the values live now, for people: "Secret Service" or the store's directory.
 *
 * Since: 1.0
 */
const gchar *cw_secrets_get_location (CwSecrets *self);

/**
 * cw_secrets_get_health:
 * @self: a #CwSecrets
 *
 * {scope, store: secret-service|encrypted-file, location, secretService?: untried|reachable|
 * unreachable, secretServiceError?} as the last call found it.
 *
 * Since: 1.0
 */
JsonObject *cw_secrets_get_health (CwSecrets *self);

/**
 * cw_secrets_list:
 * @self: a #CwSecrets
 * @cancellable: a #GCancellable, or %NULL
 * @callback: called when the operation is done
 * @user_data: data for @callback
 *
 * Names only, never values: [{kind, name, scope, store: secret-service|file}], sorted.
 *
 * Since: 1.0
 */
void cw_secrets_list (CwSecrets *self, GCancellable *cancellable, GAsyncReadyCallback callback,
                      gpointer user_data);

/**
 * cw_secrets_list_finish:
 * @self: a #CwSecrets
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError, or %NULL
 *
 * Finishes cw_secrets_list(): [{kind, name, scope}], names only.
 *
 * Since: 1.0
 */
JsonArray *cw_secrets_list_finish (CwSecrets *self, GAsyncResult *result, GError **error);

/* Note: cw_secrets_delete() succeeds when there is nothing to delete (a cleared key stays
 * cleared); use the list to tell whether something was there. */

/**
 * cw_secrets_check_name:
 * @kind: the kind
 * @name: a name
 * @error: return location for a #GError, or %NULL
 *
 * kind: [a-z0-9_-]{1,64}; name: [A-Za-z0-9_@.-]{1,128}, not starting with '.'.
 *
 * Since: 1.0
 */
gboolean cw_secrets_check_name (const gchar *kind, const gchar *name, GError **error);

/**
 * cw_secrets_store_sync:
 * @self: a #CwSecrets
 * @kind: the kind
 * @name: a name
 * @value: the value
 * @error: return location for a #GError, or %NULL
 *
 * Blocking forms for coworkctl, which has no main loop of its own.
 *
 * Since: 1.0
 */
gboolean cw_secrets_store_sync (CwSecrets *self, const gchar *kind, const gchar *name,
                                const gchar *value, GError **error);

/**
 * cw_secrets_lookup_sync:
 * @self: a #CwSecrets
 * @kind: the kind
 * @name: a name
 * @error: return location for a #GError, or %NULL
 *
 * The blocking form of cw_secrets_lookup(), for coworkctl.
 *
 * Since: 1.0
 */
gchar *cw_secrets_lookup_sync (CwSecrets *self, const gchar *kind, const gchar *name,
                               GError **error);

/**
 * cw_secrets_delete_sync:
 * @self: a #CwSecrets
 * @kind: the kind
 * @name: a name
 * @error: return location for a #GError, or %NULL
 *
 * The blocking form of cw_secrets_delete(), for coworkctl.
 *
 * Since: 1.0
 */
gboolean cw_secrets_delete_sync (CwSecrets *self, const gchar *kind, const gchar *name,
                                 GError **error);

/**
 * cw_secrets_list_sync:
 * @self: a #CwSecrets
 * @error: return location for a #GError, or %NULL
 *
 * The blocking form of cw_secrets_list(), for coworkctl.
 *
 * Since: 1.0
 */
JsonArray *cw_secrets_list_sync (CwSecrets *self, GError **error);

/**
 * cw_secret_free:
 * @value: the value
 *
 * Overwrites and frees a secret value.
 *
 * Since: 1.0
 */
void cw_secret_free (gchar *value);

/* ---- audit log ------------------------------------------------------------------- */

/**
 * cw_audit_record:
 * @store: the #CwStore
 * @action: what was done
 * @actor: who did it
 * @details: details, never a secret value, or %NULL
 * @error: return location for a #GError, or %NULL
 *
 * Records @action by @actor; @details (may be NULL) must never hold a secret value.
 *
 * Since: 1.0
 */
gboolean cw_audit_record (CwStore *store, const gchar *action, const gchar *actor,
                          JsonObject *details, GError **error);

/**
 * cw_audit_list:
 * @store: the #CwStore
 * @limit: how many at most
 * @error: return location for a #GError, or %NULL
 *
 * Newest first: [{id, timestamp, action, actor, details}]
 *
 * Since: 1.0
 */
JsonArray *cw_audit_list (CwStore *store, gint64 limit, GError **error);

/* ---- scheduler ---- */

/* The daemon's one scheduler (plugins use cw_plugin_schedule_add()). It follows the wall
 * clock through one CLOCK_REALTIME timerfd and stores its jobs in @store. */
/**
 * CwScheduler:
 *
 * The daemon's one scheduler: persisted per-owner jobs on the wall clock.
 *
 * Since: 1.0
 */
#define CW_TYPE_SCHEDULER (cw_scheduler_get_type ())
G_DECLARE_FINAL_TYPE (CwScheduler, cw_scheduler, CW, SCHEDULER, GObject)

/**
 * cw_scheduler_new:
 * @store: the #CwStore
 * @error: return location for a #GError, or %NULL
 *
 * The scheduler, with its jobs stored in @store.
 *
 * Since: 1.0
 */
CwScheduler *cw_scheduler_new (CwStore *store, GError **error);

/**
 * cw_context_set_scheduler:
 * @self: a #CwContext
 * @scheduler: the #CwScheduler
 *
 * Plugins reach the scheduler through the context.
 *
 * Since: 1.0
 */
void cw_context_set_scheduler (CwContext *self, CwScheduler *scheduler);

/**
 * cw_scheduler_get_n_jobs:
 * @self: a #CwScheduler
 *
 * How many jobs are registered.
 *
 * Since: 1.0
 */
guint cw_scheduler_get_n_jobs (CwScheduler *self);

/**
 * cw_scheduler_get_deadline:
 * @self: a #CwScheduler
 *
 * The instant the timer is armed for (the earliest job), or CW_SCHEDULE_NEVER.
 *
 * Since: 1.0
 */
gint64 cw_scheduler_get_deadline (CwScheduler *self);

/* For tests: replaces the wall clock and disarms the timerfd for good. Whoever moves the
 * clock then calls cw_scheduler_dispatch() (as when the timer expires) or
 * cw_scheduler_clock_changed() (as when the clock is set); a deadline that has already
 * passed when it is armed is dispatched from an idle source, as an expired timer would. */
/**
 * CwSchedulerClockFunc:
 * @user_data: the data given with it
 *
 * A replacement wall clock for tests.
 *
 * Returns: the time in ms since the epoch
 *
 * Since: 1.0
 */
typedef gint64 (*CwSchedulerClockFunc) (gpointer user_data);

/**
 * cw_scheduler_set_clock:
 * @self: a #CwScheduler
 * @now: a #CwSchedulerClockFunc
 * @user_data: data for @callback
 *
 * Replaces the wall clock (tests): see the note above.
 *
 * Since: 1.0
 */
void cw_scheduler_set_clock (CwScheduler *self, CwSchedulerClockFunc now, gpointer user_data);

/**
 * cw_scheduler_dispatch:
 * @self: a #CwScheduler
 *
 * Fires every job that is due, then re-arms.
 *
 * Since: 1.0
 */
void cw_scheduler_dispatch (CwScheduler *self);

/**
 * cw_scheduler_clock_changed:
 * @self: a #CwScheduler
 *
 * The clock was set: jobs it passed backwards wait for their next instant from now, not
 * from the time the clock showed before; then it dispatches.
 *
 * Since: 1.0
 */
void cw_scheduler_clock_changed (CwScheduler *self);

/* ---- end of scheduler ---- */

/* ---- callers ------------------------------------------------------------------------ */

/**
 * cw_caller_new:
 * @kind: the kind
 * @uid: the uid, or -1
 * @id: an id, or %NULL
 *
 * @uid -1 when there is none; @id may be NULL.
 *
 * Since: 1.0
 */
CwCaller *cw_caller_new (CwCallerKind kind, gint64 uid, const gchar *id);

/**
 * cw_caller_new_internal:
 *
 * A caller for the daemon's own calls.
 *
 * Since: 1.0
 */
CwCaller *cw_caller_new_internal (void);

/* ---- command registry --------------------------------------------------------------- */

/**
 * cw_command_registry_new:
 *
 * An empty registry.
 *
 * Since: 1.0
 */
CwCommandRegistry *cw_command_registry_new (void);

/**
 * cw_command_registry_add:
 * @self: a #CwCommandRegistry
 * @name: a name
 * @owner: the owner: "core" or a plugin's name
 * @flags: the #CwCommandFlags
 * @func: the function
 * @user_data: data for @func
 * @destroy: frees @user_data, or %NULL
 * @error: return location for a #GError, or %NULL
 *
 * @owner is "core" or a plugin's name (plugins register through cw_plugin_add_command).
 *
 * Since: 1.0
 */
gboolean cw_command_registry_add (CwCommandRegistry *self, const gchar *name, const gchar *owner,
                                  CwCommandFlags flags, CwCommandFunc func, gpointer user_data,
                                  GDestroyNotify destroy, GError **error);

/**
 * cw_command_registry_remove_owner:
 * @self: a #CwCommandRegistry
 * @owner: the owner: "core" or a plugin's name
 * @reason: why, or %NULL
 *
 * Removes every command of @owner; later calls to them fail saying @reason (e.g. "plugin
 * agent is disabled: …") instead of "Unknown command". Returns how many went.
 *
 * Since: 1.0
 */
guint cw_command_registry_remove_owner (CwCommandRegistry *self, const gchar *owner,
                                        const gchar *reason);

/* Called once with exactly one of @result, @raw (JSON text the handler already had) or
 * @error, each transfer full. */
/**
 * CwCommandReplyFunc:
 * @result: the result, or %NULL
 * @raw: the result as JSON text, or %NULL
 * @error: the error, or %NULL
 * @user_data: the data given with it
 *
 * Receives a command's answer: exactly one of @result, @raw or @error, each transfer full.
 *
 * Since: 1.0
 */
typedef void (*CwCommandReplyFunc) (JsonNode *result, gchar *raw, GError *error,
                                    gpointer user_data);

/**
 * cw_command_registry_set_event_bus:
 * @self: a #CwCommandRegistry
 * @bus: the #CwEventBus
 *
 * With a bus, an answer goes out only once the events emitted while its call ran are
 * stored, and is an error if they could not be.
 *
 * Since: 1.0
 */
void cw_command_registry_set_event_bus (CwCommandRegistry *self, CwEventBus *bus);

/**
 * cw_command_registry_dispatch:
 * @self: a #CwCommandRegistry
 * @caller: the caller, or %NULL
 * @command: a command name
 * @params: the params: an object, or %NULL
 * @reply: called with the answer
 * @reply_data: data for @reply
 *
 * Runs @command for @caller. @params may be NULL ({}), must otherwise be an object; the
 * reserved keys _idempotencyKey and _retryAttempt are removed before the handler sees them.
 * A remote caller reaches only commands flagged CW_COMMAND_FLAG_REMOTE and not
 * CW_COMMAND_FLAG_PRIVILEGED. @reply runs as soon as the handler answers (maybe before this
 * returns), without a main-loop turn in between: the transports' hot path.
 *
 * Since: 1.0
 */
void cw_command_registry_dispatch (CwCommandRegistry *self, CwCaller *caller, const gchar *command,
                                   JsonNode *params, CwCommandReplyFunc reply, gpointer reply_data);

/**
 * cw_command_registry_call:
 * @self: a #CwCommandRegistry
 * @caller: the caller, or %NULL
 * @command: a command name
 * @params: the params: an object, or %NULL
 * @callback: called when the operation is done
 * @user_data: data for @callback
 *
 * The same as a GAsyncResult, for in-process callers.
 *
 * Since: 1.0
 */
void cw_command_registry_call (CwCommandRegistry *self, CwCaller *caller, const gchar *command,
                               JsonNode *params, GAsyncReadyCallback callback, gpointer user_data);

/**
 * cw_command_registry_call_finish:
 * @self: a #CwCommandRegistry
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError, or %NULL
 *
 * Returns the result (never NULL on success: JSON null is a node) or NULL with @error.
 *
 * Since: 1.0
 */
JsonNode *cw_command_registry_call_finish (CwCommandRegistry *self, GAsyncResult *result,
                                           GError **error);

G_END_DECLS
