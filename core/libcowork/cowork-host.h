/* cowork-host.h: the host side of libcowork, for the programs that run plugins: coworkd,
 * coworkctl and test harnesses. Plugins include only cowork.h.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "cowork.h"

G_BEGIN_DECLS

/* ---- store ----------------------------------------------------------------------- */

/* Opens (creating if needed) the SQLite file in WAL mode and applies the core schema. */
CwStore *cw_store_open (const gchar *path, GError **error);
const gchar *cw_store_get_path (CwStore *self);
/* Runs PRAGMA quick_check; FALSE with @error naming the first problem. */
gboolean cw_store_check (CwStore *self, GError **error);

/* The core's own tables (events, audit, scheduler, consumers): applied by cw_store_open's
 * callers before anything else uses the store. */
gboolean cw_core_schema_migrate (CwStore *store, GError **error);
gint cw_core_schema_latest_version (void);

/* ---- event bus ------------------------------------------------------------------- */

typedef struct
{
  guint ring_size;     /* events kept in memory for fast replay (default 5000) */
  gint64 keep_events;  /* an event is kept while among the newest keep_events ... */
  gint64 keep_seconds; /* ... or younger than keep_seconds */
  gint64 max_events;   /* hard ceiling on stored events, whatever their age */
} CwEventRetention;

#define CW_EVENT_RETENTION_DEFAULT                                                                 \
  {                                                                                                \
    5000, 50000, 7 * 24 * 3600, 1000000                                                            \
  }

CwEventBus *cw_event_bus_new (CwStore *store, const CwEventRetention *retention, GError **error);
/* Stores pending events and hands them to subscribers now. */
void cw_event_bus_flush (CwEventBus *self);
/* Deletes events outside the retention window; returns how many went. */
gint64 cw_event_bus_prune (CwEventBus *self, GError **error);
JsonObject *cw_event_bus_get_health (CwEventBus *self);

/* ---- durable event consumers (host side) ---------------------------------------- */

/* What cw_plugin_add_event_consumer() does, for any @owner (the cursor is kept under
 * (@owner, @name)). Returns the consumer, owned by the bus. */
CwEventConsumer *cw_event_bus_add_consumer (CwEventBus *self, const gchar *owner, const gchar *name,
                                            const gchar *const *prefixes, CwEventConsumerFunc func,
                                            CwEventGapFunc gap_func, gpointer user_data,
                                            GDestroyNotify destroy, GError **error);
/* Closes one consumer (saving its cursor, or deleting it with @forget); FALSE if none. */
gboolean cw_event_bus_remove_consumer (CwEventBus *self, const gchar *owner, const gchar *name,
                                       gboolean forget);
/* Closes every consumer of @owner, keeping their cursors; returns how many. */
guint cw_event_bus_remove_consumers (CwEventBus *self, const gchar *owner);

/* ---- config ---------------------------------------------------------------------- */

/* @path may name a missing file: then every key has its default. */
CwConfig *cw_config_new (const gchar *app_data_dir, gboolean system_mode, const gchar *path,
                         GError **error);
const gchar *cw_config_get_path (CwConfig *self);

/* ---- context --------------------------------------------------------------------- */

CwContext *cw_context_new (CwCommandRegistry *registry, CwEventBus *bus, CwStore *store,
                           CwConfig *config);
void cw_context_set_secrets (CwContext *self, CwSecrets *secrets);
/* Runs every contributor; appends comma-separated JSON text to @sessions and @runtime
 * (both may be NULL to count only). Returns the number of sessions. */
guint cw_context_bootstrap_text (CwContext *self, GString *sessions, GString *runtime);
guint cw_context_count_sessions (CwContext *self);

/* ---- bootstrap contributions ----------------------------------------------------- */

/* The owned forms behind cw_plugin_add_bootstrap_sessions/_member (the core uses "core"). */
void cw_context_add_bootstrap_contributor (CwContext *self, const gchar *owner,
                                           CwBootstrapFunc func, gpointer user_data);
gboolean cw_context_add_bootstrap_member (CwContext *self, const gchar *owner, const gchar *name,
                                          CwBootstrapMemberFunc func, gpointer user_data,
                                          GError **error);
/* Appends `,"<name>":<value>` for every member, in the order they were added. */
void cw_context_append_bootstrap_members (CwContext *self, GString *out);
/* Drops everything @owner contributed (bootstrap parts, interaction watchers): the plugin
 * was disabled. */
void cw_context_remove_owner (CwContext *self, const gchar *owner);

/* ---- pending interactions -------------------------------------------------------- */

/* Loads the interactions still open in the core table core_interactions (core schema 3)
 * and forgets resolved ones older than a week. */
CwInteractions *cw_interactions_new (CwStore *store, CwEventBus *bus, GError **error);
void cw_context_set_interactions (CwContext *self, CwInteractions *interactions);
/* The owned forms behind cw_plugin_add_interaction/_watch_interactions/_list_interactions. */
CwInteraction *cw_interactions_create (CwInteractions *self, const gchar *owner,
                                       CwInteractionKind kind, const gchar *session_id,
                                       JsonObject *payload, JsonObject *data, gint64 expires_at,
                                       GError **error);
void cw_interactions_watch (CwInteractions *self, const gchar *owner, CwInteractionKind kind,
                            CwInteractionFunc func, gpointer user_data);
GPtrArray *cw_interactions_list_open (CwInteractions *self, const gchar *owner,
                                      CwInteractionKind kind);
void cw_interactions_unwatch_owner (CwInteractions *self, const gchar *owner);
/* Expires every pending interaction whose expiry is at or before @now_ms and returns how
 * many. The daemon's timer calls it with the wall clock; tests call it with a fake one. */
guint cw_interactions_expire_due (CwInteractions *self, gint64 now_ms);
/* The pending interactions as one JSON array, as text (the bootstrap member). */
void cw_interactions_append_json (CwInteractions *self, GString *out);
/* Parses @text as a kind name; FALSE if it is none. */
gboolean cw_interaction_kind_from_string (const gchar *text, CwInteractionKind *kind);

/* ---- plugin loader --------------------------------------------------------------- */

#define CW_TYPE_PLUGIN_LOADER (cw_plugin_loader_get_type ())
G_DECLARE_FINAL_TYPE (CwPluginLoader, cw_plugin_loader, CW, PLUGIN_LOADER, GObject)

CwPluginLoader *cw_plugin_loader_new (CwContext *context);
/* Loads every libcowork_plugin_<name>.so from @dirs in order; the first of a name wins.
 * A module that cannot be loaded is recorded, not fatal. */
void cw_plugin_loader_load_dirs (CwPluginLoader *self, const gchar *const *dirs);
/* Loads one module (named libcowork_plugin_<name>.so); FALSE only when the file name is not
 * a plugin's or the name is taken: a module that fails is recorded, as by load_dirs. */
gboolean cw_plugin_loader_load_file (CwPluginLoader *self, const gchar *path, GError **error);
/* Turns on the crash guard in @dir (see cw-plugin-loader.c) and takes the plugins named in
 * @enable off the skipped list. Call before cw_plugin_loader_load_dirs(). */
void cw_plugin_loader_set_crash_guard (CwPluginLoader *self, const gchar *dir,
                                       const gchar *const *enable);
/* Starts every loaded plugin in the order of their start rules, waiting for asynchronous
 * starts up to [plugins] start-timeout-ms each (a plugin that takes longer is disabled). */
void cw_plugin_loader_start_all (CwPluginLoader *self);
/* Stops them in reverse order, waiting up to [plugins] stop-timeout-ms in all. */
void cw_plugin_loader_stop_all (CwPluginLoader *self);
/* [{name, state, path, error?, commands[]}] */
JsonArray *cw_plugin_loader_get_health (CwPluginLoader *self);
/* The @index-th plugin that became a CwPlugin (in start order once started), or NULL. */
CwPlugin *cw_plugin_loader_get_plugin (CwPluginLoader *self, guint index);
guint cw_plugin_loader_count_failed (CwPluginLoader *self);

/* ---- secrets --------------------------------------------------------------------- */

/* User scope: the Secret Service through libsecret. No I/O until the first call. */
CwSecrets *cw_secrets_new_user (void);
/* User scope that keeps values in the encrypted store in @dir while no Secret Service is
 * reachable, and moves them into the keyring once one is. */
CwSecrets *cw_secrets_new_user_with_fallback (const gchar *dir);
/* System scope: the encrypted store in @dir (created 0700 on first write). */
CwSecrets *cw_secrets_new_system (const gchar *dir);
/* "user" or "system". */
const gchar *cw_secrets_get_scope (CwSecrets *self);
/* Where the values live now, for people: "Secret Service" or the store's directory. */
const gchar *cw_secrets_get_location (CwSecrets *self);
/* {scope, store: secret-service|encrypted-file, location, secretService?: untried|reachable|
 * unreachable, secretServiceError?} as the last call found it. */
JsonObject *cw_secrets_get_health (CwSecrets *self);

/* Names only, never values: [{kind, name, scope, store: secret-service|file}], sorted. */
void cw_secrets_list (CwSecrets *self, GCancellable *cancellable, GAsyncReadyCallback callback,
                      gpointer user_data);
JsonArray *cw_secrets_list_finish (CwSecrets *self, GAsyncResult *result, GError **error);

/* Note: cw_secrets_delete() succeeds when there is nothing to delete (a cleared key stays
 * cleared); use the list to tell whether something was there. */

/* kind: [a-z0-9_-]{1,64}; name: [A-Za-z0-9_@.-]{1,128}, not starting with '.'. */
gboolean cw_secrets_check_name (const gchar *kind, const gchar *name, GError **error);

/* Blocking forms for coworkctl, which has no main loop of its own. */
gboolean cw_secrets_store_sync (CwSecrets *self, const gchar *kind, const gchar *name,
                                const gchar *value, GError **error);
gchar *cw_secrets_lookup_sync (CwSecrets *self, const gchar *kind, const gchar *name,
                               GError **error);
gboolean cw_secrets_delete_sync (CwSecrets *self, const gchar *kind, const gchar *name,
                                 GError **error);
JsonArray *cw_secrets_list_sync (CwSecrets *self, GError **error);

/* Overwrites and frees a secret value. */
void cw_secret_free (gchar *value);

/* ---- audit log ------------------------------------------------------------------- */

/* Records @action by @actor; @details (may be NULL) must never hold a secret value. */
gboolean cw_audit_record (CwStore *store, const gchar *action, const gchar *actor,
                          JsonObject *details, GError **error);
/* Newest first: [{id, timestamp, action, actor, details}] */
JsonArray *cw_audit_list (CwStore *store, gint64 limit, GError **error);

/* ---- scheduler ---- */

/* The daemon's one scheduler (plugins use cw_plugin_schedule_add()). It follows the wall
 * clock through one CLOCK_REALTIME timerfd and stores its jobs in @store. */
#define CW_TYPE_SCHEDULER (cw_scheduler_get_type ())
G_DECLARE_FINAL_TYPE (CwScheduler, cw_scheduler, CW, SCHEDULER, GObject)

CwScheduler *cw_scheduler_new (CwStore *store, GError **error);
/* Plugins reach the scheduler through the context. */
void cw_context_set_scheduler (CwContext *self, CwScheduler *scheduler);
guint cw_scheduler_get_n_jobs (CwScheduler *self);
/* The instant the timer is armed for (the earliest job), or CW_SCHEDULE_NEVER. */
gint64 cw_scheduler_get_deadline (CwScheduler *self);

/* For tests: replaces the wall clock and disarms the timerfd for good. Whoever moves the
 * clock then calls cw_scheduler_dispatch() (as when the timer expires) or
 * cw_scheduler_clock_changed() (as when the clock is set); a deadline that has already
 * passed when it is armed is dispatched from an idle source, as an expired timer would. */
typedef gint64 (*CwSchedulerClockFunc) (gpointer user_data);
void cw_scheduler_set_clock (CwScheduler *self, CwSchedulerClockFunc now, gpointer user_data);
/* Fires every job that is due, then re-arms. */
void cw_scheduler_dispatch (CwScheduler *self);
/* The clock was set: jobs it passed backwards wait for their next instant from now, not
 * from the time the clock showed before; then it dispatches. */
void cw_scheduler_clock_changed (CwScheduler *self);

/* ---- end of scheduler ---- */

/* ---- callers ------------------------------------------------------------------------ */

/* @uid -1 when there is none; @id may be NULL. */
CwCaller *cw_caller_new (CwCallerKind kind, gint64 uid, const gchar *id);
CwCaller *cw_caller_new_internal (void);

/* ---- command registry --------------------------------------------------------------- */

CwCommandRegistry *cw_command_registry_new (void);
/* @owner is "core" or a plugin's name (plugins register through cw_plugin_add_command). */
gboolean cw_command_registry_add (CwCommandRegistry *self, const gchar *name, const gchar *owner,
                                  CwCommandFlags flags, CwCommandFunc func, gpointer user_data,
                                  GDestroyNotify destroy, GError **error);
/* Removes every command of @owner; later calls to them fail saying @reason (e.g. "plugin
 * agent is disabled: …") instead of "Unknown command". Returns how many went. */
guint cw_command_registry_remove_owner (CwCommandRegistry *self, const gchar *owner,
                                        const gchar *reason);

/* Called once with exactly one of @result, @raw (JSON text the handler already had) or
 * @error, each transfer full. */
typedef void (*CwCommandReplyFunc) (JsonNode *result, gchar *raw, GError *error,
                                    gpointer user_data);

/* Runs @command for @caller. @params may be NULL ({}), must otherwise be an object; the
 * reserved keys _idempotencyKey and _retryAttempt are removed before the handler sees them.
 * A remote caller reaches only commands flagged CW_COMMAND_FLAG_REMOTE and not
 * CW_COMMAND_FLAG_PRIVILEGED. @reply runs as soon as the handler answers (maybe before this
 * returns), without a main-loop turn in between: the transports' hot path. */
void cw_command_registry_dispatch (CwCommandRegistry *self, CwCaller *caller, const gchar *command,
                                   JsonNode *params, CwCommandReplyFunc reply, gpointer reply_data);
/* The same as a GAsyncResult, for in-process callers. */
void cw_command_registry_call (CwCommandRegistry *self, CwCaller *caller, const gchar *command,
                               JsonNode *params, GAsyncReadyCallback callback, gpointer user_data);
/* Returns the result (never NULL on success: JSON null is a node) or NULL with @error. */
JsonNode *cw_command_registry_call_finish (CwCommandRegistry *self, GAsyncResult *result,
                                           GError **error);

G_END_DECLS
