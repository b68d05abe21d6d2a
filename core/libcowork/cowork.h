/* cowork.h: the one public header of libcowork, for plugins and clients.
 *
 * A plugin is a GModule that exports one symbol, cw_plugin_query_type(), returning a GType
 * that derives from CwPlugin. The daemon instantiates it, calls load() (register commands
 * and migrations) and then start(). Everything a plugin may touch is reached through its
 * CwContext: the command registry, the event bus, the store, the secrets and the config.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <sqlite3.h>

G_BEGIN_DECLS

#define CW_PLUGIN_API_VERSION 1

/* ---- errors ------------------------------------------------------------------------- */

#define CW_ERROR (cw_error_quark ())

/**
 * cw_error_quark:
 *
 * The error domain of coworkd: CW_ERROR, whose codes are #CwError.
 *
 * Since: 1.0
 */
GQuark cw_error_quark (void);

/* Each code maps to a D-Bus error name org.cowork.Daemon1.Error.<Kind>. */

/**
 * CwError:
 * @CW_ERROR_FAILED: Failed
 * @CW_ERROR_INVALID_PARAMS: InvalidParams
 * @CW_ERROR_NOT_FOUND: NotFound
 * @CW_ERROR_UNKNOWN_COMMAND: UnknownCommand
 * @CW_ERROR_UNAUTHORIZED: Unauthorized
 * @CW_ERROR_EXISTS: Exists
 * @CW_ERROR_NOT_SUPPORTED: NotSupported
 * @CW_ERROR_BUSY: Busy
 * @CW_ERROR_CANCELLED: Cancelled
 * @CW_ERROR_INTERNAL: Internal
 * @CW_ERROR_LAST: the number of codes
 *
 * The codes of the CW_ERROR domain; each maps to the D-Bus error org.cowork.Daemon1.Error.<Kind>.
 *
 * Since: 1.0
 */
typedef enum
{
  CW_ERROR_FAILED,          /* Failed */
  CW_ERROR_INVALID_PARAMS,  /* InvalidParams */
  CW_ERROR_NOT_FOUND,       /* NotFound */
  CW_ERROR_UNKNOWN_COMMAND, /* UnknownCommand */
  CW_ERROR_UNAUTHORIZED,    /* Unauthorized */
  CW_ERROR_EXISTS,          /* Exists */
  CW_ERROR_NOT_SUPPORTED,   /* NotSupported */
  CW_ERROR_BUSY,            /* Busy */
  CW_ERROR_CANCELLED,       /* Cancelled */
  CW_ERROR_INTERNAL,        /* Internal */
  CW_ERROR_LAST
} CwError;

/**
 * cw_error_to_name:
 * @code: a #CwError code
 *
 * The D-Bus name of @code's kind ("InvalidParams", ...), as in org.cowork.Daemon1.Error.<Kind>.
 *
 * Since: 1.0
 */
const gchar *cw_error_to_name (CwError code);

/* ---- callers ------------------------------------------------------------------------ */

/* Where a call comes from. */

/**
 * CwCallerKind:
 * @CW_CALLER_INTERNAL: the daemon itself
 * @CW_CALLER_SOCKET: a client of the local socket; the uid is the peer's
 * @CW_CALLER_DBUS: a D-Bus client; the id is its unique bus name
 * @CW_CALLER_REMOTE: a paired device through a plugin; the id is the device id
 * @CW_CALLER_PLUGIN: another plugin (cw_plugin_call); the id is the plugin's name
 *
 * Where a call comes from.
 *
 * Since: 1.0
 */
typedef enum
{
  CW_CALLER_INTERNAL, /* the daemon itself */
  CW_CALLER_SOCKET,   /* a client of the local socket; the uid is the peer's */
  CW_CALLER_DBUS,     /* a D-Bus client; the id is its unique bus name */
  CW_CALLER_REMOTE,   /* a paired device through a plugin; the id is the device id */
  CW_CALLER_PLUGIN,   /* another plugin (cw_plugin_call); the id is the plugin's name */
} CwCallerKind;

/* Each invocation has one, reference-counted. Its cancellable is cancelled when the caller
 * goes away (the socket closes, the D-Bus peer leaves), for handlers that want to stop work
 * nobody will read. */
/**
 * CwCaller:
 *
 * Who is calling a command: the transport (#CwCallerKind), the peer's uid, an id and a
 * #GCancellable cancelled when the caller goes away. Reference counted.
 *
 * Since: 1.0
 */
typedef struct _CwCaller CwCaller;

#define CW_TYPE_CALLER (cw_caller_get_type ())

/**
 * cw_caller_get_type:
 *
 * The #GType.
 *
 * Since: 1.0
 */
GType cw_caller_get_type (void);

/**
 * cw_caller_ref:
 * @self: a #CwCaller
 *
 * Takes a reference. Returns @self.
 *
 * Since: 1.0
 */
CwCaller *cw_caller_ref (CwCaller *self);

/**
 * cw_caller_unref:
 * @self: a #CwCaller
 *
 * Drops a reference; the last one frees the caller.
 *
 * Since: 1.0
 */
void cw_caller_unref (CwCaller *self);

/**
 * cw_caller_get_kind:
 * @self: a #CwCaller
 *
 * The transport the call came through.
 *
 * Since: 1.0
 */
CwCallerKind cw_caller_get_kind (const CwCaller *self);

/**
 * cw_caller_get_uid:
 * @self: a #CwCaller
 *
 * The peer's uid, or -1 when there is none (remote, plugin, internal).
 *
 * Since: 1.0
 */
gint64 cw_caller_get_uid (const CwCaller *self);

/**
 * cw_caller_get_id:
 * @self: a #CwCaller
 *
 * The bus name, device id or plugin name; NULL for the socket and internal callers.
 *
 * Since: 1.0
 */
const gchar *cw_caller_get_id (const CwCaller *self);

/**
 * cw_caller_get_actor:
 * @self: a #CwCaller
 *
 * The caller as the audit log names it: "socket:uid=1000", "dbus:uid=1000::1.42",
 * "remote:dev_…", "plugin:cron", "internal".
 *
 * Since: 1.0
 */
const gchar *cw_caller_get_actor (const CwCaller *self);

/**
 * cw_caller_get_cancellable:
 * @self: a #CwCaller
 *
 * Cancelled when the caller goes away (the socket closes, the D-Bus peer leaves, the plugin's
 * call is cancelled). Transfer none.
 *
 * Since: 1.0
 */
GCancellable *cw_caller_get_cancellable (const CwCaller *self);

/**
 * cw_caller_has_vanished:
 * @self: a #CwCaller
 *
 * Whether the caller has gone away.
 *
 * Since: 1.0
 */
gboolean cw_caller_has_vanished (const CwCaller *self);

/**
 * cw_caller_vanish:
 * @self: a #CwCaller
 *
 * The caller went away: cancels its cancellable (transports, and plugins that made callers).
 *
 * Since: 1.0
 */
void cw_caller_vanish (CwCaller *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CwCaller, cw_caller_unref)

/* What a command is, for the transports that expose only part of the surface. */

/**
 * CwCommandFlags:
 * @CW_COMMAND_FLAG_NONE: cw command flag none
 * @CW_COMMAND_FLAG_REMOTE: cw command flag remote
 * @CW_COMMAND_FLAG_PRIVILEGED: cw command flag privileged
 * @CW_COMMAND_FLAG_READ_ONLY: cw command flag read only
 *
 * What a command is, for the transports that expose only part of the surface.
 *
 * Since: 1.0
 */
typedef enum
{
  CW_COMMAND_FLAG_NONE = 0,
  /* May be called by a paired remote device (sessions, messages, answers, schedules). */
  CW_COMMAND_FLAG_REMOTE = 1 << 0,
  /* Changes the service, credentials, the token or a mode: never callable remotely, even
   * with CW_COMMAND_FLAG_REMOTE, and audited with the caller's actor. */
  CW_COMMAND_FLAG_PRIVILEGED = 1 << 1,
  /* Changes nothing. */
  CW_COMMAND_FLAG_READ_ONLY = 1 << 2,
} CwCommandFlags;

/* ---- invocations -------------------------------------------------------------------- */

/**
 * CwInvocation:
 *
 * One running command call, answered exactly once, with its params and its #CwCaller.
 *
 * Since: 1.0
 */
#define CW_TYPE_INVOCATION (cw_invocation_get_type ())
G_DECLARE_FINAL_TYPE (CwInvocation, cw_invocation, CW, INVOCATION, GObject)

/**
 * cw_invocation_get_command:
 * @self: a #CwInvocation
 *
 * The name of the command being called.
 *
 * Since: 1.0
 */
const gchar *cw_invocation_get_command (CwInvocation *self);

/**
 * cw_invocation_get_params:
 * @self: a #CwInvocation
 *
 * The params object (transfer none), without the reserved keys _idempotencyKey and
 * _retryAttempt.
 *
 * Since: 1.0
 */
JsonObject *cw_invocation_get_params (CwInvocation *self);

/**
 * cw_invocation_get_string:
 * @self: a #CwInvocation
 * @name: a name
 * @required: whether a missing member is an error
 * @error: return location for a #GError, or %NULL
 *
 * Returns a string member; NULL with "<name> is required" when required and missing.
 *
 * Since: 1.0
 */
const gchar *cw_invocation_get_string (CwInvocation *self, const gchar *name, gboolean required,
                                       GError **error);

/**
 * cw_invocation_get_int:
 * @self: a #CwInvocation
 * @name: a name
 * @default_value: returned when the key is not set
 * @out_value: where the value goes
 * @error: return location for a #GError, or %NULL
 *
 * Reads an integer member into @out_value: @default_value when it is missing or null; an error
 * naming the member when it is not an integer.
 *
 * Since: 1.0
 */
gboolean cw_invocation_get_int (CwInvocation *self, const gchar *name, gint64 default_value,
                                gint64 *out_value, GError **error);

/**
 * cw_invocation_get_boolean:
 * @self: a #CwInvocation
 * @name: a name
 * @default_value: returned when the key is not set
 * @out_value: where the value goes
 * @error: return location for a #GError, or %NULL
 *
 * Reads a boolean member into @out_value: @default_value when it is missing or null; an error
 * naming the member when it is not a boolean.
 *
 * Since: 1.0
 */
gboolean cw_invocation_get_boolean (CwInvocation *self, const gchar *name, gboolean default_value,
                                    gboolean *out_value, GError **error);

/**
 * cw_invocation_return_value:
 * @self: a #CwInvocation
 * @result: the #GAsyncResult given to the callback
 *
 * Answer the call exactly once. Takes ownership of @result (NULL means JSON null).
 *
 * Since: 1.0
 */
void cw_invocation_return_value (CwInvocation *self, JsonNode *result);

/**
 * cw_invocation_return_object:
 * @self: a #CwInvocation
 * @result: the #GAsyncResult given to the callback
 *
 * Answers with @result (transfer full).
 *
 * Since: 1.0
 */
void cw_invocation_return_object (CwInvocation *self, JsonObject *result);

/**
 * cw_invocation_return_json_text:
 * @self: a #CwInvocation
 * @json: JSON text (transfer full)
 *
 * Answers with JSON text the handler already has (one valid JSON value; takes ownership).
 * The socket passes it through untouched: the fast path for large answers.
 *
 * Since: 1.0
 */
void cw_invocation_return_json_text (CwInvocation *self, gchar *json);

/**
 * cw_invocation_return_error:
 * @self: a #CwInvocation
 * @error: return location for a #GError, or %NULL
 *
 * Answers with @error (transfer full).
 *
 * Since: 1.0
 */
void cw_invocation_return_error (CwInvocation *self, GError *error);

/**
 * cw_invocation_return_error_literal:
 * @self: a #CwInvocation
 * @code: a #CwError code
 * @message: the message
 *
 * Answers with an error in the CW_ERROR domain.
 *
 * Since: 1.0
 */
void cw_invocation_return_error_literal (CwInvocation *self, CwError code, const gchar *message);

/**
 * cw_invocation_return_new_error:
 * @self: a #CwInvocation
 * @code: a #CwError code
 * @format: a printf() format
 * @3: the 3
 * @4: the 4
 *
 * Answers with an error in the CW_ERROR domain, its message made from @format.
 *
 * Since: 1.0
 */
void cw_invocation_return_new_error (CwInvocation *self, CwError code, const gchar *format, ...)
    G_GNUC_PRINTF (3, 4);

/**
 * cw_invocation_is_finished:
 * @self: a #CwInvocation
 *
 * Whether the call has been answered.
 *
 * Since: 1.0
 */
gboolean cw_invocation_is_finished (CwInvocation *self);

/**
 * cw_invocation_get_caller:
 * @self: a #CwInvocation
 *
 * Who called (never NULL) and its cancellable, cancelled when that caller goes away.
 *
 * Since: 1.0
 */
CwCaller *cw_invocation_get_caller (CwInvocation *self);

/**
 * cw_invocation_get_cancellable:
 * @self: a #CwInvocation
 *
 * The caller's #GCancellable: cancelled when whoever called goes away, so long work can stop.
 * Transfer none.
 *
 * Since: 1.0
 */
GCancellable *cw_invocation_get_cancellable (CwInvocation *self);

/* ---- command registry --------------------------------------------------------------- */

/**
 * CwCommandRegistry:
 *
 * The one router behind every transport: command name to handler, with idempotency keys and
 * the flags that say who may call what.
 *
 * Since: 1.0
 */
#define CW_TYPE_COMMAND_REGISTRY (cw_command_registry_get_type ())
G_DECLARE_FINAL_TYPE (CwCommandRegistry, cw_command_registry, CW, COMMAND_REGISTRY, GObject)

/* A handler answers through the invocation, now or later, exactly once. */

/**
 * CwCommandFunc:
 * @invocation: the call
 * @user_data: what the handler was registered with
 *
 * A command handler: answers through @invocation, now or later, exactly once.
 *
 * Since: 1.0
 */
typedef void (*CwCommandFunc) (CwInvocation *invocation, gpointer user_data);

/**
 * cw_command_registry_has:
 * @self: a #CwCommandRegistry
 * @name: a name
 *
 * Whether a command named @name is registered.
 *
 * Since: 1.0
 */
gboolean cw_command_registry_has (CwCommandRegistry *self, const gchar *name);

/**
 * cw_command_registry_list:
 * @self: a #CwCommandRegistry
 *
 * Sorted, NULL-terminated; free with g_strfreev.
 *
 * Since: 1.0
 */
gchar **cw_command_registry_list (CwCommandRegistry *self);

/**
 * cw_command_registry_lookup:
 * @self: a #CwCommandRegistry
 * @name: a name
 * @flags: the #CwCommandFlags
 * @owner: the owner: "core" or a plugin's name
 *
 * FALSE when @name is not registered; else its flags and owner ("core" or a plugin name).
 *
 * Since: 1.0
 */
gboolean cw_command_registry_lookup (CwCommandRegistry *self, const gchar *name,
                                     CwCommandFlags *flags, const gchar **owner);

/* ---- events ------------------------------------------------------------------------- */

/**
 * CwEvent:
 *
 * One sequenced event: seq, timestamp, type, session id, correlation id and data. Immutable
 * and reference counted.
 *
 * Since: 1.0
 */
typedef struct _CwEvent CwEvent;

#define CW_TYPE_EVENT (cw_event_get_type ())

/**
 * cw_event_get_type:
 *
 * The #GType.
 *
 * Since: 1.0
 */
GType cw_event_get_type (void);

/**
 * cw_event_ref:
 * @event: a #CwEvent
 *
 * Takes a reference. Returns @event.
 *
 * Since: 1.0
 */
CwEvent *cw_event_ref (CwEvent *event);

/**
 * cw_event_unref:
 * @event: a #CwEvent
 *
 * Drops a reference; the last one frees the event.
 *
 * Since: 1.0
 */
void cw_event_unref (CwEvent *event);

/**
 * cw_event_get_seq:
 * @event: a #CwEvent
 *
 * The event's global sequence number: monotonic and persisted across restarts.
 *
 * Since: 1.0
 */
gint64 cw_event_get_seq (const CwEvent *event);

/**
 * cw_event_get_timestamp:
 * @event: a #CwEvent
 *
 * When the event was emitted, in ms since the epoch.
 *
 * Since: 1.0
 */
gint64 cw_event_get_timestamp (const CwEvent *event);

/**
 * cw_event_get_type_name:
 * @event: a #CwEvent
 *
 * The event's type, e.g. "stream:chunk".
 *
 * Since: 1.0
 */
const gchar *cw_event_get_type_name (const CwEvent *event);

/**
 * cw_event_get_session_id:
 * @event: a #CwEvent
 *
 * The session the event belongs to, or %NULL for a global event.
 *
 * Since: 1.0
 */
const gchar *cw_event_get_session_id (const CwEvent *event);

/**
 * cw_event_get_correlation_id:
 * @event: a #CwEvent
 *
 * The correlation id of the envelope ("<session or __global__>:<type>:<seq>").
 *
 * Since: 1.0
 */
const gchar *cw_event_get_correlation_id (const CwEvent *event);

/**
 * cw_event_get_data:
 * @event: a #CwEvent
 *
 * The event's data (transfer none; sealed: do not change it).
 *
 * Since: 1.0
 */
JsonObject *cw_event_get_data (const CwEvent *event);

/**
 * cw_event_to_json:
 * @event: a #CwEvent
 * @length: the length in bytes, or -1 if NUL-terminated
 *
 * The envelope as one line of JSON, without the newline; cached.
 *
 * Since: 1.0
 */
const gchar *cw_event_to_json (CwEvent *event, gsize *length);

/**
 * cw_event_to_node:
 * @event: a #CwEvent
 *
 * The whole envelope as a new #JsonNode (transfer full).
 *
 * Since: 1.0
 */
JsonNode *cw_event_to_node (const CwEvent *event);

/**
 * cw_event_data_to_json:
 * @event: a #CwEvent
 *
 * The data member alone as JSON text.
 *
 * Since: 1.0
 */
gchar *cw_event_data_to_json (const CwEvent *event);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CwEvent, cw_event_unref)

/**
 * CwEventBus:
 *
 * The sequenced, durable event bus: every event gets a persisted seq, is stored, and reaches
 * subscribers, consumers and in-process listeners.
 *
 * Since: 1.0
 */
#define CW_TYPE_EVENT_BUS (cw_event_bus_get_type ())
G_DECLARE_FINAL_TYPE (CwEventBus, cw_event_bus, CW, EVENT_BUS, GObject)

/**
 * cw_event_bus_emit:
 * @self: a #CwEventBus
 * @type: the event type
 * @session_id: the session id, or %NULL
 * @data: the data (transfer full), or %NULL
 *
 * Emits an event; takes ownership of @data (NULL = {}). Returns the seq it was given.
 * In-process listeners see it at once; subscribers once it is stored.
 *
 * Since: 1.0
 */
gint64 cw_event_bus_emit (CwEventBus *self, const gchar *type, const gchar *session_id,
                          JsonObject *data);

/**
 * cw_event_bus_get_cursor:
 * @self: a #CwEventBus
 *
 * Latest seq handed out and stored.
 *
 * Since: 1.0
 */
gint64 cw_event_bus_get_cursor (CwEventBus *self);

/**
 * cw_event_bus_get_boot_id:
 * @self: a #CwEventBus
 *
 * An id that changes at every daemon start, so clients notice a restart.
 *
 * Since: 1.0
 */
const gchar *cw_event_bus_get_boot_id (CwEventBus *self);

/* Listeners run synchronously inside cw_event_bus_emit(), before the event is stored: for
 * in-process uses that need no durability (an event emitted just before a crash may be
 * seen by a listener and never stored; nothing is replayed after a restart). Plugins that
 * must not miss an event use a durable consumer (cw_plugin_add_event_consumer()). */
/**
 * CwEventListenerFunc:
 * @event: the event
 * @user_data: what the listener was added with
 *
 * An in-process listener: sees each event as it is emitted, before it is stored. Not durable.
 *
 * Since: 1.0
 */
typedef void (*CwEventListenerFunc) (CwEvent *event, gpointer user_data);

/* A subscriber is a bounded queue fed with every stored event (transports and plugins that
 * forward events to clients use one). When the queue is full it is replaced by a single
 * "resync" event and nothing more is queued until that marker has been taken: the client
 * then asks agent_get_events_since for what it missed. Memory stays bounded; the daemon
 * never waits for a slow client. @wake runs when the queue goes from empty to non-empty. */
/**
 * CwEventSubscriber:
 *
 * A bounded queue of stored events for one client; a full queue becomes one "resync" event.
 *
 * Since: 1.0
 */
typedef struct _CwEventSubscriber CwEventSubscriber;

/**
 * CwEventWakeFunc:
 * @subscriber: the subscriber
 * @user_data: what it was subscribed with
 *
 * Called when a subscriber's queue goes from empty to non-empty.
 *
 * Since: 1.0
 */
typedef void (*CwEventWakeFunc) (CwEventSubscriber *subscriber, gpointer user_data);

/**
 * cw_event_bus_subscribe:
 * @self: a #CwEventBus
 * @max_queue: the queue's bound
 * @wake: called when the queue becomes non-empty
 * @user_data: data for @wake
 *
 * Creates a subscriber fed with every stored event (see #CwEventSubscriber). Returns it (owned
 * by the bus until cw_event_bus_unsubscribe()).
 *
 * Since: 1.0
 */
CwEventSubscriber *cw_event_bus_subscribe (CwEventBus *self, guint max_queue, CwEventWakeFunc wake,
                                           gpointer user_data);

/**
 * cw_event_bus_unsubscribe:
 * @self: a #CwEventBus
 * @subscriber: a #CwEventSubscriber
 *
 * Removes and frees @subscriber.
 *
 * Since: 1.0
 */
void cw_event_bus_unsubscribe (CwEventBus *self, CwEventSubscriber *subscriber);

/**
 * cw_event_subscriber_pop:
 * @subscriber: a #CwEventSubscriber
 *
 * The next queued event (transfer full), or NULL when the queue is empty.
 *
 * Since: 1.0
 */
CwEvent *cw_event_subscriber_pop (CwEventSubscriber *subscriber);

/**
 * cw_event_subscriber_get_queued:
 * @subscriber: a #CwEventSubscriber
 *
 * How many events wait in the queue.
 *
 * Since: 1.0
 */
guint cw_event_subscriber_get_queued (CwEventSubscriber *subscriber);

/**
 * cw_event_bus_get_events_since:
 * @self: a #CwEventBus
 * @after_seq: the seq to start after
 * @limit: how many at most
 * @error: return location for a #GError, or %NULL
 *
 * Replay: {events, eventCursor, replayStart, hasGap, hasMore, bootId}, oldest first. With
 * hasMore, eventCursor is the seq of the last event returned (ask again from it).
 *
 * Since: 1.0
 */
JsonObject *cw_event_bus_get_events_since (CwEventBus *self, gint64 after_seq, gint64 limit,
                                           GError **error);

/**
 * cw_event_bus_get_events_since_json:
 * @self: a #CwEventBus
 * @after_seq: the seq to start after
 * @limit: how many at most
 * @error: return location for a #GError, or %NULL
 *
 * The same answer as JSON text (what the socket sends; no tree is built).
 *
 * Since: 1.0
 */
gchar *cw_event_bus_get_events_since_json (CwEventBus *self, gint64 after_seq, gint64 limit,
                                           GError **error);

/* ---- store -------------------------------------------------------------------------- */

/**
 * CwStore:
 *
 * The daemon's SQLite database (WAL), with cached prepared statements and per-owner
 * migrations.
 *
 * Since: 1.0
 */
#define CW_TYPE_STORE (cw_store_get_type ())
G_DECLARE_FINAL_TYPE (CwStore, cw_store, CW, STORE, GObject)

/* Code run by a migration step, inside its transaction, after the step's SQL (if any):
 * rewrite rows, import files. FALSE with @error rolls the whole step back. */
/**
 * CwMigrationFunc:
 * @store: the store
 * @user_data: the step's user_data
 * @error: return location for a #GError
 *
 * Code run by a migration step inside its transaction.
 *
 * Returns: %FALSE with @error to roll the step back
 *
 * Since: 1.0
 */
typedef gboolean (*CwMigrationFunc) (CwStore *store, gpointer user_data, GError **error);

/* One migration step taking the owner from version-1 to version: @sql, then @run (either may
 * be NULL), in one transaction. Steps are listed from version 1 upwards and never edited once
 * released. Every table, index, view and trigger a step creates must be named after its
 * owner ("<owner>" or "<owner>_…", '-' written as '_'), or the step is refused. */
/**
 * CwMigration:
 * @version: the version the step takes the owner to
 * @sql: SQL run first, or %NULL
 * @run: code run next, or %NULL
 * @user_data: data for @run
 *
 * One migration step of an owner's schema.
 *
 * Since: 1.0
 */
typedef struct
{
  gint version;
  const gchar *sql;
  CwMigrationFunc run;
  gpointer user_data;
} CwMigration;

/**
 * cw_store_migrate:
 * @self: a #CwStore
 * @owner: the owner: "core" or a plugin's name
 * @steps: the migration steps, from version 1 upwards
 * @n_steps: the number of @steps
 * @error: return location for a #GError, or %NULL
 *
 * Brings @owner's schema to the newest of @steps, each step in one transaction (see
 * #CwMigration). Refuses a schema newer than the steps know.
 *
 * Since: 1.0
 */
gboolean cw_store_migrate (CwStore *self, const gchar *owner, const CwMigration *steps,
                           guint n_steps, GError **error);

/**
 * cw_store_get_schema_version:
 * @self: a #CwStore
 * @owner: the owner: "core" or a plugin's name
 *
 * The schema version of @owner: 0 when it has none, -1 on a read error.
 *
 * Since: 1.0
 */
gint cw_store_get_schema_version (CwStore *self, const gchar *owner);

/**
 * cw_store_get_db:
 * @self: a #CwStore
 *
 * The SQLite handle, for statements the helpers do not cover (transfer none). Use it on the
 * main thread only.
 *
 * Since: 1.0
 */
sqlite3 *cw_store_get_db (CwStore *self);

/**
 * cw_store_prepare:
 * @self: a #CwStore
 * @sql: SQL text
 * @error: return location for a #GError, or %NULL
 *
 * A cached prepared statement, reset and unbound, owned by the store.
 *
 * Since: 1.0
 */
sqlite3_stmt *cw_store_prepare (CwStore *self, const gchar *sql, GError **error);

/**
 * cw_store_exec:
 * @self: a #CwStore
 * @sql: SQL text
 * @error: return location for a #GError, or %NULL
 *
 * Runs @sql (one or more statements without results).
 *
 * Since: 1.0
 */
gboolean cw_store_exec (CwStore *self, const gchar *sql, GError **error);

/**
 * cw_store_begin:
 * @self: a #CwStore
 * @error: return location for a #GError, or %NULL
 *
 * Starts a write transaction (BEGIN IMMEDIATE).
 *
 * Since: 1.0
 */
gboolean cw_store_begin (CwStore *self, GError **error);

/**
 * cw_store_commit:
 * @self: a #CwStore
 * @error: return location for a #GError, or %NULL
 *
 * Commits the transaction; rolls it back when the commit fails.
 *
 * Since: 1.0
 */
gboolean cw_store_commit (CwStore *self, GError **error);

/**
 * cw_store_rollback:
 * @self: a #CwStore
 *
 * Rolls back the open transaction, if there is one.
 *
 * Since: 1.0
 */
void cw_store_rollback (CwStore *self);

/**
 * cw_store_savepoint:
 * @self: a #CwStore
 * @name: a name
 * @error: return location for a #GError, or %NULL
 *
 * Nested work inside a transaction (or on its own): a savepoint that is released (kept) or
 * rolled back to, by name ([A-Za-z0-9_]+).
 *
 * Since: 1.0
 */
gboolean cw_store_savepoint (CwStore *self, const gchar *name, GError **error);

/**
 * cw_store_release:
 * @self: a #CwStore
 * @name: a name
 * @error: return location for a #GError, or %NULL
 *
 * Ends the savepoint @name, keeping its work.
 *
 * Since: 1.0
 */
gboolean cw_store_release (CwStore *self, const gchar *name, GError **error);

/**
 * cw_store_rollback_to:
 * @self: a #CwStore
 * @name: a name
 *
 * Undoes the work since the savepoint @name and ends it.
 *
 * Since: 1.0
 */
void cw_store_rollback_to (CwStore *self, const gchar *name);

/**
 * cw_store_set_error:
 * @self: a #CwStore
 * @error: return location for a #GError, or %NULL
 * @what: context for the message
 *
 * Sets @error from the db's last error with @what as context; returns FALSE.
 *
 * Since: 1.0
 */
gboolean cw_store_set_error (CwStore *self, GError **error, const gchar *what);

/* ---- secrets ------------------------------------------------------------------------ */

/* Credentials. User mode: the Secret Service (libsecret, schema org.cowork.Credential,
 * attributes scope, kind, name). System mode: a root-only encrypted store under the state
 * dir. A secret never crosses scopes except by explicit, audited promotion. Values never
 * appear in logs, events, command results or the database. */
/**
 * CwSecrets:
 *
 * Credentials: the Secret Service in user mode, a root-only encrypted store in system mode.
 * Values never appear in logs, events, answers or the database.
 *
 * Since: 1.0
 */
#define CW_TYPE_SECRETS (cw_secrets_get_type ())
G_DECLARE_FINAL_TYPE (CwSecrets, cw_secrets, CW, SECRETS, GObject)

/**
 * cw_secrets_store:
 * @self: a #CwSecrets
 * @kind: the kind
 * @name: a name
 * @value: the value
 * @cancellable: a #GCancellable, or %NULL
 * @callback: called when the operation is done
 * @user_data: data for @callback
 *
 * @kind groups secrets ("provider", "integration", ...); @name is e.g. "openai".
 *
 * Since: 1.0
 */
void cw_secrets_store (CwSecrets *self, const gchar *kind, const gchar *name, const gchar *value,
                       GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data);

/**
 * cw_secrets_store_finish:
 * @self: a #CwSecrets
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError, or %NULL
 *
 * Finishes cw_secrets_store().
 *
 * Since: 1.0
 */
gboolean cw_secrets_store_finish (CwSecrets *self, GAsyncResult *result, GError **error);

/**
 * cw_secrets_lookup:
 * @self: a #CwSecrets
 * @kind: the kind
 * @name: a name
 * @cancellable: a #GCancellable, or %NULL
 * @callback: called when the operation is done
 * @user_data: data for @callback
 *
 * The value, or NULL without error when there is none. Free with g_free after clearing.
 *
 * Since: 1.0
 */
void cw_secrets_lookup (CwSecrets *self, const gchar *kind, const gchar *name,
                        GCancellable *cancellable, GAsyncReadyCallback callback,
                        gpointer user_data);

/**
 * cw_secrets_lookup_finish:
 * @self: a #CwSecrets
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError, or %NULL
 *
 * Finishes cw_secrets_lookup(): the value (free it with g_free() after clearing it), or %NULL
 * without an error when there is none.
 *
 * Since: 1.0
 */
gchar *cw_secrets_lookup_finish (CwSecrets *self, GAsyncResult *result, GError **error);

/**
 * cw_secrets_delete:
 * @self: a #CwSecrets
 * @kind: the kind
 * @name: a name
 * @cancellable: a #GCancellable, or %NULL
 * @callback: called when the operation is done
 * @user_data: data for @callback
 *
 * Deletes a credential; succeeds when there was none (a cleared key stays cleared).
 *
 * Since: 1.0
 */
void cw_secrets_delete (CwSecrets *self, const gchar *kind, const gchar *name,
                        GCancellable *cancellable, GAsyncReadyCallback callback,
                        gpointer user_data);

/**
 * cw_secrets_delete_finish:
 * @self: a #CwSecrets
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError, or %NULL
 *
 * Finishes cw_secrets_delete().
 *
 * Since: 1.0
 */
gboolean cw_secrets_delete_finish (CwSecrets *self, GAsyncResult *result, GError **error);

/* ---- config ------------------------------------------------------------------------- */

/**
 * CwConfig:
 *
 * The daemon's configuration (coworkd.conf): every key has a default.
 *
 * Since: 1.0
 */
#define CW_TYPE_CONFIG (cw_config_get_type ())
G_DECLARE_FINAL_TYPE (CwConfig, cw_config, CW, CONFIG, GObject)

/**
 * cw_config_get_string:
 * @self: a #CwConfig
 * @group: the config group
 * @key: the config key
 * @default_value: returned when the key is not set
 *
 * The value of @group/@key as a new string, or a copy of @default_value.
 *
 * Since: 1.0
 */
gchar *cw_config_get_string (CwConfig *self, const gchar *group, const gchar *key,
                             const gchar *default_value);

/**
 * cw_config_get_int:
 * @self: a #CwConfig
 * @group: the config group
 * @key: the config key
 * @default_value: returned when the key is not set
 *
 * The value of @group/@key, or @default_value when it is missing or not a number.
 *
 * Since: 1.0
 */
gint64 cw_config_get_int (CwConfig *self, const gchar *group, const gchar *key,
                          gint64 default_value);

/**
 * cw_config_get_boolean:
 * @self: a #CwConfig
 * @group: the config group
 * @key: the config key
 * @default_value: returned when the key is not set
 *
 * The value of @group/@key, or @default_value when it is missing or not a boolean.
 *
 * Since: 1.0
 */
gboolean cw_config_get_boolean (CwConfig *self, const gchar *group, const gchar *key,
                                gboolean default_value);

/**
 * cw_config_get_app_data_dir:
 * @self: a #CwConfig
 *
 * The app data directory (user mode: ~/.cowork or COWORK_APP_DATA_DIR; system mode: the state
 * dir).
 *
 * Since: 1.0
 */
const gchar *cw_config_get_app_data_dir (CwConfig *self);

/**
 * cw_config_is_system_mode:
 * @self: a #CwConfig
 *
 * Whether the daemon runs as the system service.
 *
 * Since: 1.0
 */
gboolean cw_config_is_system_mode (CwConfig *self);

/* ---- plugin context ----------------------------------------------------------------- */

/**
 * CwContext:
 *
 * What a plugin may reach: the registry, the event bus, the store, the secrets, the config
 * and the shared services.
 *
 * Since: 1.0
 */
#define CW_TYPE_CONTEXT (cw_context_get_type ())
G_DECLARE_FINAL_TYPE (CwContext, cw_context, CW, CONTEXT, GObject)

/**
 * cw_context_get_registry:
 * @self: a #CwContext
 *
 * The command registry (transfer none).
 *
 * Since: 1.0
 */
CwCommandRegistry *cw_context_get_registry (CwContext *self);

/**
 * cw_context_get_event_bus:
 * @self: a #CwContext
 *
 * The event bus (transfer none).
 *
 * Since: 1.0
 */
CwEventBus *cw_context_get_event_bus (CwContext *self);

/**
 * cw_context_get_store:
 * @self: a #CwContext
 *
 * The store (transfer none).
 *
 * Since: 1.0
 */
CwStore *cw_context_get_store (CwContext *self);

/**
 * cw_context_get_config:
 * @self: a #CwContext
 *
 * The configuration (transfer none).
 *
 * Since: 1.0
 */
CwConfig *cw_context_get_config (CwContext *self);

/**
 * cw_context_get_secrets:
 * @self: a #CwContext
 *
 * The credential store of the daemon's scope (transfer none).
 *
 * Since: 1.0
 */
CwSecrets *cw_context_get_secrets (CwContext *self);

/* ---- plugins ------------------------------------------------------------------------ */

/**
 * CwPlugin:
 *
 * The base class of every plugin: a GModule that exports its GType and plugin API version
 * with CW_PLUGIN_EXPORT.
 *
 * Since: 1.0
 */
#define CW_TYPE_PLUGIN (cw_plugin_get_type ())
G_DECLARE_DERIVABLE_TYPE (CwPlugin, cw_plugin, CW, PLUGIN, GObject)

struct _CwPluginClass
{
  GObjectClass parent_class;

  /* Register commands, migrations and start rules; nothing long-running yet. */
  gboolean (*load) (CwPlugin *self, GError **error);
  /* Every plugin is loaded: start timers, connections, recovery. A plugin that must wait
   * (connect, bind) implements start_async/start_finish instead; the daemon waits for it,
   * up to [plugins] start-timeout-ms, before the next plugin starts. */
  gboolean (*start) (CwPlugin *self, GError **error);
  /* The daemon is stopping: stop work, flush state. Must not fail. A plugin that must wait
   * (drain turns, close connections) implements stop_async/stop_finish instead; the daemon
   * waits for it up to [plugins] stop-timeout-ms. */
  void (*stop) (CwPlugin *self);
  /* Optional: extra state for daemon_health, a JSON object owned by the caller. */
  JsonObject *(*get_health) (CwPlugin *self);
  void (*start_async) (CwPlugin *self, GCancellable *cancellable, GAsyncReadyCallback callback,
                       gpointer user_data);
  gboolean (*start_finish) (CwPlugin *self, GAsyncResult *result, GError **error);
  void (*stop_async) (CwPlugin *self, GCancellable *cancellable, GAsyncReadyCallback callback,
                      gpointer user_data);
  void (*stop_finish) (CwPlugin *self, GAsyncResult *result);

  gpointer padding[12];
};

/**
 * cw_plugin_get_name:
 * @self: a #CwPlugin
 *
 * The plugin's name: its module's file name without libcowork_plugin_ and the suffix.
 *
 * Since: 1.0
 */
const gchar *cw_plugin_get_name (CwPlugin *self);

/**
 * cw_plugin_get_context:
 * @self: a #CwPlugin
 *
 * The context the plugin reaches everything through (transfer none).
 *
 * Since: 1.0
 */
CwContext *cw_plugin_get_context (CwPlugin *self);

/**
 * cw_plugin_add_command:
 * @self: a #CwPlugin
 * @name: a name
 * @func: the function
 * @error: return location for a #GError, or %NULL
 *
 * Registers a command owned by this plugin (removed if the plugin is disabled), with
 * CW_COMMAND_FLAG_NONE.
 *
 * Since: 1.0
 */
gboolean cw_plugin_add_command (CwPlugin *self, const gchar *name, CwCommandFunc func,
                                GError **error);

/**
 * cw_plugin_add_command_full:
 * @self: a #CwPlugin
 * @name: a name
 * @flags: the #CwCommandFlags
 * @func: the function
 * @error: return location for a #GError, or %NULL
 *
 * Registers a command owned by this plugin with @flags (removed when the plugin is disabled).
 * Fails when the name is taken or invalid.
 *
 * Since: 1.0
 */
gboolean cw_plugin_add_command_full (CwPlugin *self, const gchar *name, CwCommandFlags flags,
                                     CwCommandFunc func, GError **error);

/**
 * cw_plugin_call:
 * @self: a #CwPlugin
 * @caller: the caller, or %NULL
 * @command: a command name
 * @params: the params: an object, or %NULL
 * @cancellable: a #GCancellable, or %NULL
 * @callback: called when the operation is done
 * @user_data: data for @callback
 *
 * Calls another owner's command as "plugin:<name>" (or, with a caller from
 * cw_plugin_new_remote_caller, on behalf of a paired device). A command whose owner is not
 * running fails with CW_ERROR_NOT_SUPPORTED naming the owner and why. @params as for the
 * transports: NULL or an object (not taken). Cancelling @cancellable marks the call's own
 * caller as gone (with @caller NULL; an explicit @caller vanishes through cw_caller_vanish).
 *
 * Since: 1.0
 */
void cw_plugin_call (CwPlugin *self, CwCaller *caller, const gchar *command, JsonNode *params,
                     GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data);

/**
 * cw_plugin_call_finish:
 * @self: a #CwPlugin
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError, or %NULL
 *
 * Returns the result (never NULL on success: JSON null is a node) or NULL with @error.
 *
 * Since: 1.0
 */
JsonNode *cw_plugin_call_finish (CwPlugin *self, GAsyncResult *result, GError **error);

/**
 * cw_plugin_new_remote_caller:
 * @self: a #CwPlugin
 * @device_id: the paired device's id
 *
 * A caller for a paired device, for the plugin that authenticates devices: such calls reach
 * only commands flagged CW_COMMAND_FLAG_REMOTE and not CW_COMMAND_FLAG_PRIVILEGED.
 *
 * Since: 1.0
 */
CwCaller *cw_plugin_new_remote_caller (CwPlugin *self, const gchar *device_id);

/**
 * cw_plugin_audit:
 * @self: a #CwPlugin
 * @action: what was done ("tunnel.start"); recorded as "<plugin name>.<action>"
 * @caller: (nullable): who asked for it (a device's caller from
 *   cw_plugin_new_remote_caller(), an invocation's caller), or %NULL for the plugin itself
 * @details: (nullable): details (not taken), never a secret value
 * @error: return location for a #GError, or %NULL
 *
 * Appends a record to the daemon's audit log (`coworkctl audit`, `audit_list`) with the
 * caller's actor ("remote:device_…", "socket:uid=1000") or "plugin:<name>".
 *
 * Returns: %TRUE, or %FALSE with @error when the store could not write it
 *
 * Since: 1.0
 */
gboolean cw_plugin_audit (CwPlugin *self, const gchar *action, CwCaller *caller,
                          JsonObject *details, GError **error);

/**
 * cw_plugin_add_event_listener:
 * @self: a #CwPlugin
 * @type_prefix: the start of the event types wanted ("" for every type)
 * @func: the listener
 * @user_data: data for @func
 * @destroy: frees @user_data, or %NULL
 *
 * Adds an in-process listener owned by this plugin (removed when it is disabled or
 * stopped). It sees each event at once, synchronously, before it is stored: not durable. Use
 * cw_plugin_add_event_consumer() for work that must survive a restart.
 *
 * Returns: the listener's id, for cw_plugin_remove_event_listener()
 *
 * Since: 1.0
 */
guint cw_plugin_add_event_listener (CwPlugin *self, const gchar *type_prefix,
                                    CwEventListenerFunc func, gpointer user_data,
                                    GDestroyNotify destroy);

/**
 * cw_plugin_remove_event_listener:
 * @self: a #CwPlugin
 * @id: an id from cw_plugin_add_event_listener()
 *
 * Removes one of this plugin's listeners; an id of another owner is ignored.
 *
 * Since: 1.0
 */
void cw_plugin_remove_event_listener (CwPlugin *self, guint id);

/**
 * cw_plugin_emit:
 * @self: a #CwPlugin
 * @type: the event type
 * @session_id: the session id, or %NULL
 * @data: the data (transfer full), or %NULL
 *
 * Emits an event in the plugin's name; takes ownership of @data (%NULL = {}). Returns its seq.
 *
 * Since: 1.0
 */
gint64 cw_plugin_emit (CwPlugin *self, const gchar *type, const gchar *session_id,
                       JsonObject *data);

/**
 * cw_plugin_add_start_after:
 * @self: a #CwPlugin
 * @other: another plugin's name
 *
 * Declares, from load(), that this plugin starts after @other (and stops before it). A
 * name that is not loaded is ignored; plugins in a cycle are disabled.
 *
 * Since: 1.0
 */
void cw_plugin_add_start_after (CwPlugin *self, const gchar *other);

/* The two symbols every plugin module exports, both defined by CW_PLUGIN_EXPORT: the plugin
 * API version it was built for (the loader refuses a mismatch) and its GType. */
/**
 * CwPluginQueryTypeFunc:
 *
 * The type of the cw_plugin_query_type() symbol a plugin exports.
 *
 * Returns: the plugin's #GType
 *
 * Since: 1.0
 */
typedef GType (*CwPluginQueryTypeFunc) (void);
#define CW_PLUGIN_QUERY_TYPE_SYMBOL  "cw_plugin_query_type"
#define CW_PLUGIN_API_VERSION_SYMBOL "cw_plugin_api_version"

/* In the plugin's one source file that defines its type:
 *   CW_PLUGIN_EXPORT (cw_example_plugin_get_type)
 */
#define CW_PLUGIN_EXPORT(get_type_func)                                                            \
  G_MODULE_EXPORT const guint32 cw_plugin_api_version = CW_PLUGIN_API_VERSION;                     \
  G_MODULE_EXPORT GType cw_plugin_query_type (void);                                               \
  GType cw_plugin_query_type (void)                                                                \
  {                                                                                                \
    return get_type_func ();                                                                       \
  }

/* ---- scheduler ---- */

/**
 * CwSchedule:
 *
 * When something fires: once at an instant, every N milliseconds from an anchor, or at the
 * times a cron expression names in a time zone. Immutable and reference counted; every
 * instant is in milliseconds since the Unix epoch (UTC).
 *
 * Cron expressions have 5 fields (minute hour day-of-month month day-of-week) or 6 (seconds
 * first). A field is a list of items: `*`, a value, a range `a-b`, each with an optional
 * step `/n` (`a/n` runs to the field's end); months may be named `JAN`-`DEC`, weekdays
 * `SUN`-`SAT` (0 and 7 are Sunday). The day-of-month field takes `L` (the last day of the
 * month); the day-of-week field takes `nL` (the last weekday n of the month, `FRIL` or `5L`)
 * and `n#k` (the k-th weekday n of the month, `MON#1`). `?` means `*` in the day fields.
 * Macros: `@yearly` (`@annually`), `@monthly`, `@weekly`, `@daily` (`@midnight`), `@hourly`.
 * When both day fields are restricted (neither starts with `*`), a day matches if either
 * matches, as in Vixie cron; otherwise both must match.
 *
 * Times are wall-clock times in the schedule's zone. A time that does not exist (it falls in
 * the gap when clocks go forward) fires at the first instant after the gap; a time that
 * occurs twice (when clocks go back) fires once, at its first occurrence.
 *
 * Since: 1.0
 */
typedef struct _CwSchedule CwSchedule;

/**
 * CwScheduleKind:
 * @CW_SCHEDULE_KIND_AT: once, at an instant
 * @CW_SCHEDULE_KIND_EVERY: every interval, from an anchor on
 * @CW_SCHEDULE_KIND_CRON: at the times of a cron expression in a time zone
 *
 * Since: 1.0
 */
typedef enum
{
  CW_SCHEDULE_KIND_AT,
  CW_SCHEDULE_KIND_EVERY,
  CW_SCHEDULE_KIND_CRON,
} CwScheduleKind;

/**
 * CW_SCHEDULE_NEVER:
 *
 * The instant returned when a schedule has no further fire time.
 *
 * Since: 1.0
 */
#define CW_SCHEDULE_NEVER ((gint64) -1)

/**
 * CW_SCHEDULE_MIN_INTERVAL_MS:
 *
 * The shortest interval of an every-N schedule.
 *
 * Since: 1.0
 */
#define CW_SCHEDULE_MIN_INTERVAL_MS 1000

#define CW_TYPE_SCHEDULE (cw_schedule_get_type ())
/**
 * cw_schedule_get_type:
 *
 * Returns: the boxed type of #CwSchedule
 *
 * Since: 1.0
 */
GType cw_schedule_get_type (void);

/**
 * cw_schedule_new_at:
 * @at_ms: the instant, from 1970 to the end of year 9999
 * @error: return location for an error
 *
 * Returns: (transfer full): a one-shot schedule, or %NULL with %CW_ERROR_INVALID_PARAMS
 *
 * Since: 1.0
 */
CwSchedule *cw_schedule_new_at (gint64 at_ms, GError **error);

/**
 * cw_schedule_new_every:
 * @interval_ms: the period, at least %CW_SCHEDULE_MIN_INTERVAL_MS
 * @anchor_ms: the first fire time; later ones are @anchor_ms + k * @interval_ms
 * @error: return location for an error
 *
 * Returns: (transfer full): a periodic schedule, or %NULL with %CW_ERROR_INVALID_PARAMS
 *
 * Since: 1.0
 */
CwSchedule *cw_schedule_new_every (gint64 interval_ms, gint64 anchor_ms, GError **error);

/**
 * cw_schedule_new_cron:
 * @expression: a cron expression (see #CwSchedule)
 * @timezone: (nullable): an IANA zone such as `Europe/Berlin`, `UTC` or a fixed offset such
 *   as `+05:30`; %NULL for the system's local zone
 * @error: return location for an error
 *
 * Returns: (transfer full): a cron schedule, or %NULL with %CW_ERROR_INVALID_PARAMS saying
 *   which field is wrong or that the zone is unknown
 *
 * Since: 1.0
 */
CwSchedule *cw_schedule_new_cron (const gchar *expression, const gchar *timezone, GError **error);

/**
 * cw_schedule_new_from_string:
 * @text: what cw_schedule_to_string() returns: `at <instant>`,
 *   `every <ms> [from <instant>]` (the anchor defaults to the epoch) or
 *   `cron [TZ=<zone>] <expression>`; an instant is ISO 8601 or milliseconds
 * @error: return location for an error
 *
 * Returns: (transfer full): the schedule, or %NULL with %CW_ERROR_INVALID_PARAMS
 *
 * Since: 1.0
 */
CwSchedule *cw_schedule_new_from_string (const gchar *text, GError **error);

/**
 * cw_schedule_ref:
 * @self: a schedule
 *
 * Returns: (transfer full): @self
 *
 * Since: 1.0
 */
CwSchedule *cw_schedule_ref (CwSchedule *self);

/**
 * cw_schedule_unref:
 * @self: (transfer full): a schedule
 *
 * Since: 1.0
 */
void cw_schedule_unref (CwSchedule *self);

/**
 * cw_schedule_get_kind:
 * @self: a schedule
 *
 * Returns: what kind of schedule @self is
 *
 * Since: 1.0
 */
CwScheduleKind cw_schedule_get_kind (const CwSchedule *self);

/**
 * cw_schedule_get_instant:
 * @self: a schedule
 *
 * Returns: the instant of a one-shot schedule, the anchor of a periodic one, 0 for cron
 *
 * Since: 1.0
 */
gint64 cw_schedule_get_instant (const CwSchedule *self);

/**
 * cw_schedule_get_interval:
 * @self: a schedule
 *
 * Returns: the period of a periodic schedule in milliseconds, 0 for the other kinds
 *
 * Since: 1.0
 */
gint64 cw_schedule_get_interval (const CwSchedule *self);

/**
 * cw_schedule_get_expression:
 * @self: a schedule
 *
 * Returns: (nullable): the cron expression as given (whitespace collapsed), %NULL for the
 *   other kinds
 *
 * Since: 1.0
 */
const gchar *cw_schedule_get_expression (const CwSchedule *self);

/**
 * cw_schedule_get_timezone:
 * @self: a schedule
 *
 * Returns: (nullable): the zone of a cron schedule, %NULL for the local zone and the other
 *   kinds
 *
 * Since: 1.0
 */
const gchar *cw_schedule_get_timezone (const CwSchedule *self);

/**
 * cw_schedule_next_after:
 * @self: a schedule
 * @after_ms: an instant
 *
 * Returns: the first fire time strictly after @after_ms, or %CW_SCHEDULE_NEVER
 *
 * Since: 1.0
 */
gint64 cw_schedule_next_after (const CwSchedule *self, gint64 after_ms);

/**
 * cw_schedule_to_string:
 * @self: a schedule
 *
 * Returns: (transfer full): text that cw_schedule_new_from_string() reads back, e.g.
 *   `at 2026-12-01T09:00:00.000Z`, `every 3600000 from 2026-12-01T09:00:00.000Z` or
 *   `cron TZ=Europe/Berlin 0 9 * * MON-FRI`
 *
 * Since: 1.0
 */
gchar *cw_schedule_to_string (const CwSchedule *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CwSchedule, cw_schedule_unref)

/**
 * CwMissedPolicy:
 * @CW_MISSED_POLICY_SKIP: instants that passed while the daemon was down, the machine slept
 *   or the clock jumped are not run; the job goes on with its next instant
 * @CW_MISSED_POLICY_ONCE: one catch-up fire, for the newest missed instant
 * @CW_MISSED_POLICY_ALL: a catch-up fire for each missed instant, oldest first, at most the
 *   newest %CW_MISSED_POLICY_ALL_MAX of them
 *
 * What a job does about instants it missed. An instant is missed when it is more than
 * %CW_SCHEDULER_GRACE_MS in the past by the time the scheduler sees it; later ones are on
 * time and always fire.
 *
 * Since: 1.0
 */
typedef enum
{
  CW_MISSED_POLICY_SKIP,
  CW_MISSED_POLICY_ONCE,
  CW_MISSED_POLICY_ALL,
} CwMissedPolicy;

/**
 * CW_MISSED_POLICY_ALL_MAX:
 *
 * The most catch-up fires %CW_MISSED_POLICY_ALL gives a job at once.
 *
 * Since: 1.0
 */
#define CW_MISSED_POLICY_ALL_MAX 100

/**
 * CW_SCHEDULER_GRACE_MS:
 *
 * How late an instant may be seen and still count as on time.
 *
 * Since: 1.0
 */
#define CW_SCHEDULER_GRACE_MS 10000

/**
 * cw_missed_policy_to_string:
 * @policy: a policy
 *
 * Returns: `skip`, `once` or `all`
 *
 * Since: 1.0
 */
const gchar *cw_missed_policy_to_string (CwMissedPolicy policy);

/**
 * cw_missed_policy_from_string:
 * @text: `skip`, `once` or `all`
 * @out_policy: (out): the policy
 * @error: return location for an error
 *
 * Returns: %TRUE, or %FALSE with %CW_ERROR_INVALID_PARAMS
 *
 * Since: 1.0
 */
gboolean cw_missed_policy_from_string (const gchar *text, CwMissedPolicy *out_policy,
                                       GError **error);

/**
 * CwScheduleFireFlags:
 * @CW_SCHEDULE_FIRE_NONE: an on-time fire
 * @CW_SCHEDULE_FIRE_CATCH_UP: a missed instant fired late, by the job's #CwMissedPolicy
 * @CW_SCHEDULE_FIRE_SKIPPED: not a fire: missed instants were dropped by the policy, and
 *   the instant given is the newest of them (a consumer may record that runs were missed)
 *
 * Since: 1.0
 */
typedef enum
{
  CW_SCHEDULE_FIRE_NONE = 0,
  CW_SCHEDULE_FIRE_CATCH_UP = 1 << 0,
  CW_SCHEDULE_FIRE_SKIPPED = 1 << 1,
} CwScheduleFireFlags;

/**
 * CwScheduleFunc:
 * @plugin: the plugin that owns the job
 * @job_id: the job
 * @scheduled_ms: the instant this call is for (not the time it runs): with @job_id, the key
 *   of an exactly-once ledger
 * @flags: on time, catch-up or a skipped report
 * @user_data: what was given to cw_plugin_schedule_add()
 *
 * Called on the main loop. Calls for one dispatch come in the order of their instants.
 * Delivery is at least once: a call that ran just before the daemon died, or an instant the
 * wall clock passes again after it was set back, may come again, so key the work by
 * (@job_id, @scheduled_ms). Keep it short: start the work and return.
 *
 * Since: 1.0
 */
typedef void (*CwScheduleFunc) (CwPlugin *plugin, const gchar *job_id, gint64 scheduled_ms,
                                CwScheduleFireFlags flags, gpointer user_data);

/**
 * cw_plugin_schedule_add:
 * @self: the plugin
 * @job_id: the job's name, unique within this plugin
 * @schedule: when it fires
 * @missed: what to do about instants it missed
 * @func: called for each fire
 * @user_data: passed to @func
 * @destroy: (nullable): frees @user_data when the job is removed or replaced
 * @error: return location for an error
 *
 * Adds a job owned by @self, or replaces the one with the same @job_id. Jobs are stored:
 * register them again at every start (in start()). When the stored job has the same
 * schedule, it goes on from the first instant it has not delivered yet, so instants that
 * passed while the daemon was down are handled by @missed; a new or changed schedule starts
 * from now. The scheduler follows the wall clock: a job fires on time after suspend and
 * after the clock is set, and nothing wakes up between fires. A plugin's jobs stop firing
 * when it stops or is disabled; their stored state stays for the next start.
 *
 * Returns: %TRUE, or %FALSE with %CW_ERROR_INVALID_PARAMS for a bad @job_id (then
 *   @user_data stays the caller's)
 *
 * Since: 1.0
 */
gboolean cw_plugin_schedule_add (CwPlugin *self, const gchar *job_id, CwSchedule *schedule,
                                 CwMissedPolicy missed, CwScheduleFunc func, gpointer user_data,
                                 GDestroyNotify destroy, GError **error);

/**
 * cw_plugin_schedule_remove:
 * @self: the plugin
 * @job_id: one of its jobs
 * @error: return location for an error
 *
 * Removes the job and its stored state, registered in this run or not.
 *
 * Returns: %TRUE, or %FALSE with %CW_ERROR_NOT_FOUND when @self has no such job
 *
 * Since: 1.0
 */
gboolean cw_plugin_schedule_remove (CwPlugin *self, const gchar *job_id, GError **error);

/**
 * cw_plugin_schedule_get_next:
 * @self: the plugin
 * @job_id: one of its jobs
 *
 * Returns: the next instant the job fires (it may already have passed when a fire is
 *   pending), or %CW_SCHEDULE_NEVER when it is done or not registered
 *
 * Since: 1.0
 */
gint64 cw_plugin_schedule_get_next (CwPlugin *self, const gchar *job_id);

/**
 * cw_plugin_schedule_get_now:
 * @self: the plugin
 *
 * The scheduler's clock: the wall clock, or the test clock of a daemon started with
 * `COWORK_TEST_CLOCK`. Deadlines a plugin hands to the scheduler (a run's timeout) are
 * counted from it, so a test moves them with the clock it moves the jobs with.
 *
 * Returns: milliseconds since the Unix epoch
 *
 * Since: 1.0
 */
gint64 cw_plugin_schedule_get_now (CwPlugin *self);

/* ---- end of scheduler ---- */

/* ---- durable event consumers ---- */

/**
 * CwEventConsumer:
 *
 * A durable event consumer: stored events whose type starts with one of its prefixes,
 * delivered one at a time in seq order, each acknowledged by its owner. Its cursor (the
 * last acknowledged seq) is persisted in the store, so after a restart or a crash delivery
 * resumes after it. Delivery is at least once: an event delivered but not yet acknowledged
 * (or acknowledged just before a crash) is delivered again, and its seq is the key to drop
 * the repeat. Owned by the plugin that added it and closed when that plugin is disabled or
 * stopped; its cursor stays for the next start.
 *
 * Since: 1.0
 */
#define CW_TYPE_EVENT_CONSUMER (cw_event_consumer_get_type ())
G_DECLARE_FINAL_TYPE (CwEventConsumer, cw_event_consumer, CW, EVENT_CONSUMER, GObject)

/**
 * CwEventConsumerFunc:
 * @consumer: the consumer
 * @event: the next stored event (borrowed: take a reference to keep it)
 * @user_data: the data given at registration
 *
 * Handles one event. Nothing more is delivered until cw_event_consumer_ack() is called
 * with its seq, from inside this function or later (after asynchronous work).
 *
 * Since: 1.0
 */
typedef void (*CwEventConsumerFunc) (CwEventConsumer *consumer, CwEvent *event, gpointer user_data);

/**
 * CwEventGapFunc:
 * @consumer: the consumer
 * @first_seq: the first seq that can no longer be delivered
 * @last_seq: the last one
 * @user_data: the data given at registration
 *
 * Events after the cursor were pruned from the store before they could be delivered (the
 * consumer was away longer than the event retention). Delivery continues after @last_seq;
 * the owner decides how to catch up (a full resynchronisation, a warning).
 *
 * Since: 1.0
 */
typedef void (*CwEventGapFunc) (CwEventConsumer *consumer, gint64 first_seq, gint64 last_seq,
                                gpointer user_data);

/**
 * cw_plugin_add_event_consumer:
 * @self: the plugin that owns the consumer
 * @name: its name, unique for this plugin ([A-Za-z0-9_.:-]{1,64}); the cursor is kept
 *   under (plugin name, @name)
 * @prefixes: (array zero-terminated=1): event type prefixes ("workflow:", "integration:");
 *   "" matches every event
 * @func: called with each matching stored event
 * @gap_func: (nullable): called when events were pruned before delivery
 * @user_data: data for @func and @gap_func
 * @destroy: (nullable): frees @user_data when the consumer is closed
 * @error: return location for an error
 *
 * Adds a durable event consumer. The first time a name is used delivery starts with the
 * events stored after this call; afterwards it resumes after the persisted cursor.
 * Delivery begins once the main loop runs (so a plugin may add consumers in load() or
 * start()).
 *
 * Returns: (transfer none): the consumer, owned by the plugin, or %NULL with @error
 *   (%CW_ERROR_EXISTS when the name is taken, %CW_ERROR_INVALID_PARAMS for a bad name or
 *   no prefix)
 *
 * Since: 1.0
 */
CwEventConsumer *cw_plugin_add_event_consumer (CwPlugin *self, const gchar *name,
                                               const gchar *const *prefixes,
                                               CwEventConsumerFunc func, CwEventGapFunc gap_func,
                                               gpointer user_data, GDestroyNotify destroy,
                                               GError **error);

/**
 * cw_plugin_remove_event_consumer:
 * @self: the plugin that owns the consumer
 * @name: the consumer's name
 * @forget: %TRUE to delete its persisted cursor too (a consumer added again later starts
 *   from new events), %FALSE to keep it
 *
 * Closes one consumer of this plugin. A later cw_event_consumer_ack() on it returns %FALSE.
 *
 * Returns: %FALSE when the plugin has no consumer of that name
 *
 * Since: 1.0
 */
gboolean cw_plugin_remove_event_consumer (CwPlugin *self, const gchar *name, gboolean forget);

/**
 * cw_event_consumer_ack:
 * @self: the consumer
 * @seq: the seq of the event being delivered
 *
 * Acknowledges the event being delivered: the cursor moves to @seq (persisted at the end
 * of the delivery round) and the next event is delivered.
 *
 * Returns: %FALSE (and nothing changes) when @seq is not the event being delivered or the
 *   consumer was closed
 *
 * Since: 1.0
 */
gboolean cw_event_consumer_ack (CwEventConsumer *self, gint64 seq);

/**
 * cw_event_consumer_get_name:
 * @self: the consumer
 *
 * Returns: its name
 *
 * Since: 1.0
 */
const gchar *cw_event_consumer_get_name (CwEventConsumer *self);

/**
 * cw_event_consumer_get_cursor:
 * @self: the consumer
 *
 * Returns: the last acknowledged seq (every matching event up to it has been handled)
 *
 * Since: 1.0
 */
gint64 cw_event_consumer_get_cursor (CwEventConsumer *self);

/* ---- end of durable event consumers ---- */

/* ---- bootstrap contributions --------------------------------------------------------- */

/**
 * CwBootstrapFunc:
 * @sessions: (nullable): SessionInfo objects are appended here as JSON text
 * @runtime: (nullable): `"<sessionId>":SessionRuntimeState` members are appended here
 * @user_data: the data given with the function
 *
 * Contributes sessions to agent_get_bootstrap_state and to the sessionCount of the core
 * commands. Each list is comma-separated without brackets (text, because a UI hydrates
 * thousands of sessions from one call); both are %NULL when only the count is wanted.
 *
 * Returns: the number of sessions
 *
 * Since: 1.0
 */
typedef guint (*CwBootstrapFunc) (GString *sessions, GString *runtime, gpointer user_data);

/**
 * cw_plugin_add_bootstrap_sessions:
 * @self: a #CwPlugin
 * @func: the contributor
 * @user_data: passed to @func
 *
 * Contributes sessions to the `sessions` and `runtime` members of the bootstrap state. The
 * contribution is owned by the plugin and removed when it is disabled.
 *
 * Since: 1.0
 */
void cw_plugin_add_bootstrap_sessions (CwPlugin *self, CwBootstrapFunc func, gpointer user_data);

/**
 * CwBootstrapMemberFunc:
 * @out: where the member's value goes
 * @user_data: the data given with the function
 *
 * Appends exactly one JSON value (object, array, string, number, true, false or null) as
 * text to @out. Text is checked: a value that does not parse is sent as null and logged.
 *
 * Since: 1.0
 */
typedef void (*CwBootstrapMemberFunc) (GString *out, gpointer user_data);

/**
 * cw_plugin_add_bootstrap_member:
 * @self: a #CwPlugin
 * @name: the member name, e.g. `cron` or `workflowRuns`: `[A-Za-z][A-Za-z0-9_]{0,63}`
 * @func: builds the value each time the bootstrap state is asked for
 * @user_data: passed to @func
 * @error: return location for a #GError
 *
 * Adds a top-level member to the result of agent_get_bootstrap_state, so a client that
 * reopens sees the plugin's state in the same answer as the sessions. The member is owned
 * by the plugin and removed when it is disabled. The names the core uses (`sessions`,
 * `runtime`, `eventCursor`, `bootId`, `timestamp`, `pendingInteractions`) and names another
 * owner has taken are refused.
 *
 * Returns: %TRUE, or %FALSE with @error (%CW_ERROR_INVALID_PARAMS, %CW_ERROR_EXISTS)
 *
 * Since: 1.0
 */
gboolean cw_plugin_add_bootstrap_member (CwPlugin *self, const gchar *name,
                                         CwBootstrapMemberFunc func, gpointer user_data,
                                         GError **error);

/* ---- end of bootstrap contributions ---- */

/* ---- pending interactions ------------------------------------------------------------ */

/**
 * CwInteractionKind:
 * @CW_INTERACTION_PERMISSION: may this be done? Answer: `"allow"`, `"allow_once"`,
 *   `"allow_session"` or `"deny"`; id prefix `perm_`
 * @CW_INTERACTION_QUESTION: a question to a person. Answer: a string or an array of
 *   strings; id prefix `q_`
 * @CW_INTERACTION_APPROVAL: go on or not? Answer: `{"approved": bool, "reason"?: string}`;
 *   id prefix `appr_`
 *
 * What a person is asked. The kind decides which answers are accepted.
 *
 * Since: 1.0
 */
typedef enum
{
  CW_INTERACTION_PERMISSION,
  CW_INTERACTION_QUESTION,
  CW_INTERACTION_APPROVAL,
} CwInteractionKind;

/**
 * CwInteractionState:
 * @CW_INTERACTION_PENDING: waits for an answer
 * @CW_INTERACTION_ANSWERED: answered (see cw_interaction_get_answer())
 * @CW_INTERACTION_EXPIRED: its expiry passed without an answer
 *
 * Since: 1.0
 */
typedef enum
{
  CW_INTERACTION_PENDING,
  CW_INTERACTION_ANSWERED,
  CW_INTERACTION_EXPIRED,
} CwInteractionState;

/**
 * CwInteraction:
 *
 * One request for a person (the human in the loop), stored in the core's table
 * `core_interactions` so that it survives a restart with the same id. Immutable for
 * plugins; reference counted.
 *
 * Since: 1.0
 */
typedef struct _CwInteraction CwInteraction;

#define CW_TYPE_INTERACTION (cw_interaction_get_type ())

/**
 * cw_interaction_get_type:
 *
 * The #GType.
 *
 * Since: 1.0
 */
GType cw_interaction_get_type (void);

/**
 * cw_interaction_ref:
 * @self: a #CwInteraction
 *
 * Returns: (transfer full): @self
 *
 * Since: 1.0
 */
CwInteraction *cw_interaction_ref (CwInteraction *self);

/**
 * cw_interaction_unref:
 * @self: (transfer full): a #CwInteraction
 *
 * Since: 1.0
 */
void cw_interaction_unref (CwInteraction *self);

/**
 * cw_interaction_get_id:
 * @self: a #CwInteraction
 *
 * Returns: the id, e.g. `perm_…`, the same before and after a restart
 *
 * Since: 1.0
 */
const gchar *cw_interaction_get_id (CwInteraction *self);

/**
 * cw_interaction_get_kind:
 * @self: a #CwInteraction
 *
 * Returns: the kind
 *
 * Since: 1.0
 */
CwInteractionKind cw_interaction_get_kind (CwInteraction *self);

/**
 * cw_interaction_get_owner:
 * @self: a #CwInteraction
 *
 * Returns: the name of the plugin that asked
 *
 * Since: 1.0
 */
const gchar *cw_interaction_get_owner (CwInteraction *self);

/**
 * cw_interaction_get_session_id:
 * @self: a #CwInteraction
 *
 * Returns: (nullable): the session it belongs to, or %NULL
 *
 * Since: 1.0
 */
const gchar *cw_interaction_get_session_id (CwInteraction *self);

/**
 * cw_interaction_get_payload:
 * @self: a #CwInteraction
 *
 * What clients are shown (sealed): the owner's request, with an `id` member holding the
 * interaction's id.
 *
 * Returns: (transfer none): the payload
 *
 * Since: 1.0
 */
JsonObject *cw_interaction_get_payload (CwInteraction *self);

/**
 * cw_interaction_get_data:
 * @self: a #CwInteraction
 *
 * The owner's private state (sealed), stored with the interaction and never sent to a
 * client: what the owner needs to act on the answer after a restart.
 *
 * Returns: (transfer none): the data (an empty object when none was given)
 *
 * Since: 1.0
 */
JsonObject *cw_interaction_get_data (CwInteraction *self);

/**
 * cw_interaction_get_created_at:
 * @self: a #CwInteraction
 *
 * Returns: when it was asked, in ms since the epoch
 *
 * Since: 1.0
 */
gint64 cw_interaction_get_created_at (CwInteraction *self);

/**
 * cw_interaction_get_expires_at:
 * @self: a #CwInteraction
 *
 * Returns: when it expires (wall clock, ms since the epoch), or 0 for never
 *
 * Since: 1.0
 */
gint64 cw_interaction_get_expires_at (CwInteraction *self);

/**
 * cw_interaction_get_state:
 * @self: a #CwInteraction
 *
 * Returns: pending, answered or expired
 *
 * Since: 1.0
 */
CwInteractionState cw_interaction_get_state (CwInteraction *self);

/**
 * cw_interaction_get_answer:
 * @self: a #CwInteraction
 *
 * Returns: (transfer none) (nullable): the answer once answered, else %NULL
 *
 * Since: 1.0
 */
JsonNode *cw_interaction_get_answer (CwInteraction *self);

/**
 * cw_interaction_get_resolved_by:
 * @self: a #CwInteraction
 *
 * Returns: (nullable): who answered (the caller's actor: `socket:uid=1000`, `plugin:<name>`, …),
 * `expiry` when it expired, %NULL while pending
 *
 * Since: 1.0
 */
const gchar *cw_interaction_get_resolved_by (CwInteraction *self);

/**
 * cw_interaction_to_json:
 * @self: a #CwInteraction
 *
 * The wire form: `{id, kind, owner, sessionId, payload, createdAt, expiresAt, status,
 * answer?, resolvedBy?, resolvedAt?}` (`sessionId` and `expiresAt` may be null; `status` is
 * `pending`, `answered` or `expired`). The private data is never in it.
 *
 * Returns: (transfer full): a new object
 *
 * Since: 1.0
 */
JsonObject *cw_interaction_to_json (CwInteraction *self);

/**
 * cw_interaction_kind_to_string:
 * @kind: a #CwInteractionKind
 *
 * Returns: `permission`, `question` or `approval`
 *
 * Since: 1.0
 */
const gchar *cw_interaction_kind_to_string (CwInteractionKind kind);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CwInteraction, cw_interaction_unref)

/**
 * CwInteractions:
 *
 * Every pending interaction of the daemon. Clients list them (`interaction_list`, and the
 * `pendingInteractions` member of the bootstrap state) and answer them
 * (`interaction_respond`) from any transport; every creation and resolution is announced as
 * an `interaction:created` / `interaction:resolved` event `{interaction}`.
 *
 * Since: 1.0
 */
#define CW_TYPE_INTERACTIONS (cw_interactions_get_type ())
G_DECLARE_FINAL_TYPE (CwInteractions, cw_interactions, CW, INTERACTIONS, GObject)

/**
 * CwInteractionFunc:
 * @interaction: the resolved interaction: its state is answered (with the answer) or expired
 * @user_data: the data given with the function
 *
 * Tells the owner an interaction of its was resolved. It runs once per resolution, after the
 * resolution is stored; if the daemon died before it ran, it runs after the next start,
 * once the owner watches again.
 *
 * Since: 1.0
 */
typedef void (*CwInteractionFunc) (CwInteraction *interaction, gpointer user_data);

/**
 * cw_context_get_interactions:
 * @self: a #CwContext
 *
 * Returns: (transfer none): the pending interactions of the daemon
 *
 * Since: 1.0
 */
CwInteractions *cw_context_get_interactions (CwContext *self);

/**
 * cw_interactions_lookup:
 * @self: a #CwInteractions
 * @id: an interaction id
 *
 * Returns: (transfer none) (nullable): the interaction while it is pending (or resolved but
 *   not yet handed to its owner), else %NULL
 *
 * Since: 1.0
 */
CwInteraction *cw_interactions_lookup (CwInteractions *self, const gchar *id);

/**
 * cw_interactions_list:
 * @self: a #CwInteractions
 * @owner: (nullable): only this owner's
 * @session_id: (nullable): only this session's
 *
 * Returns: (transfer container) (element-type CwInteraction): the pending interactions,
 *   oldest first
 *
 * Since: 1.0
 */
GPtrArray *cw_interactions_list (CwInteractions *self, const gchar *owner, const gchar *session_id);

/**
 * cw_interactions_respond:
 * @self: a #CwInteractions
 * @id: the interaction id
 * @answer: the answer; what is accepted depends on the kind (see #CwInteractionKind)
 * @actor: who answers, for the record: the caller's actor (cw_caller_get_actor())
 * @error: return location for a #GError
 *
 * Resolves a pending interaction: the answer, who gave it and when are stored (with an
 * audit record) in one transaction, `interaction:resolved` is emitted, then the owner's
 * #CwInteractionFunc runs. Any transport, plugin or relay (a phone, a chat) answers through
 * this.
 *
 * Returns: %TRUE, or %FALSE with @error: %CW_ERROR_NOT_FOUND (`Interaction not found: <id>`),
 *   %CW_ERROR_EXISTS (already answered or expired), %CW_ERROR_INVALID_PARAMS (an answer the
 *   kind does not accept), %CW_ERROR_NOT_SUPPORTED (the owner is not running)
 *
 * Since: 1.0
 */
gboolean cw_interactions_respond (CwInteractions *self, const gchar *id, JsonNode *answer,
                                  const gchar *actor, GError **error);

/**
 * cw_plugin_add_interaction:
 * @self: a #CwPlugin, the owner
 * @kind: what is asked
 * @session_id: (nullable): the session it belongs to
 * @payload: what clients are shown (e.g. the agent's ExtendedPermissionRequest); an `id`
 *   member with the new id is set on it, and it is sealed
 * @data: (nullable): private state kept with it for the owner (e.g. the held-back call)
 * @expires_at: wall-clock expiry in ms since the epoch, or 0 for never
 * @error: return location for a #GError
 *
 * Asks a person. The interaction is stored before this returns and `interaction:created`
 * is emitted. The answer comes to the function given to cw_plugin_watch_interactions().
 *
 * Returns: (transfer none): the new interaction, or %NULL with @error
 *
 * Since: 1.0
 */
CwInteraction *cw_plugin_add_interaction (CwPlugin *self, CwInteractionKind kind,
                                          const gchar *session_id, JsonObject *payload,
                                          JsonObject *data, gint64 expires_at, GError **error);

/**
 * cw_plugin_watch_interactions:
 * @self: a #CwPlugin
 * @kind: the kind of the plugin's interactions to watch
 * @func: called once for each resolution
 * @user_data: passed to @func
 *
 * Attaches the plugin's handler for its interactions of @kind; call it from start(), after
 * restoring what cw_plugin_list_interactions() returns. Resolutions stored while nobody
 * watched (the daemon died in between) are handed over from an idle callback. Removed when
 * the plugin is disabled; while no handler is attached, answers are refused.
 *
 * Since: 1.0
 */
void cw_plugin_watch_interactions (CwPlugin *self, CwInteractionKind kind, CwInteractionFunc func,
                                   gpointer user_data);

/**
 * cw_plugin_list_interactions:
 * @self: a #CwPlugin
 * @kind: the kind
 *
 * The plugin's interactions of @kind that are not finished for it: pending ones, and
 * resolved ones whose #CwInteractionFunc has not run yet. After a restart this is how a
 * plugin finds what it was waiting for.
 *
 * Returns: (transfer container) (element-type CwInteraction): oldest first
 *
 * Since: 1.0
 */
GPtrArray *cw_plugin_list_interactions (CwPlugin *self, CwInteractionKind kind);

/* ---- end of pending interactions ---- */

/* ---- agent tools contributed by plugins ---------------------------------------------- */

/**
 * CwAgentToolFlags:
 * @CW_AGENT_TOOL_NONE: a tool that may change things: refused in plan mode, allowed
 *   without asking otherwise
 * @CW_AGENT_TOOL_READ_ONLY: changes nothing: allowed in plan mode and with the read_only
 *   approval mode
 * @CW_AGENT_TOOL_ASK: asks a person first, as a write or a command does, per the session's
 *   approval mode
 *
 * How the agent's permission engine treats a contributed tool (see
 * cw_plugin_add_agent_tool()).
 *
 * Since: 1.0
 */
typedef enum
{
  CW_AGENT_TOOL_NONE = 0,
  /* changes nothing: allowed in plan mode / read_only approval */
  CW_AGENT_TOOL_READ_ONLY = 1 << 0,
  /* asks a person first, as a write or a command does, per the session's approval mode */
  CW_AGENT_TOOL_ASK = 1 << 1,
} CwAgentToolFlags;

/**
 * CwAgentTool:
 *
 * A tool a plugin contributed to the agent: what the model is shown (name, description,
 * parameters) and the command that runs it. Immutable, reference counted.
 *
 * Since: 1.0
 */
typedef struct _CwAgentTool CwAgentTool;

#define CW_TYPE_AGENT_TOOL (cw_agent_tool_get_type ())

/**
 * cw_agent_tool_get_type:
 *
 * The #GType.
 *
 * Since: 1.0
 */
GType cw_agent_tool_get_type (void);

/**
 * cw_agent_tool_ref:
 * @self: a #CwAgentTool
 *
 * Takes a reference.
 *
 * Returns: @self
 *
 * Since: 1.0
 */
CwAgentTool *cw_agent_tool_ref (CwAgentTool *self);

/**
 * cw_agent_tool_unref:
 * @self: a #CwAgentTool
 *
 * Drops a reference.
 *
 * Since: 1.0
 */
void cw_agent_tool_unref (CwAgentTool *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CwAgentTool, cw_agent_tool_unref)

/**
 * cw_agent_tool_get_name:
 * @self: a #CwAgentTool
 *
 * Returns: the name the model calls it by
 *
 * Since: 1.0
 */
const gchar *cw_agent_tool_get_name (CwAgentTool *self);

/**
 * cw_agent_tool_get_description:
 * @self: a #CwAgentTool
 *
 * Returns: what the model is told the tool does
 *
 * Since: 1.0
 */
const gchar *cw_agent_tool_get_description (CwAgentTool *self);

/**
 * cw_agent_tool_get_parameters:
 * @self: a #CwAgentTool
 *
 * Returns: (transfer none): the JSON schema of the arguments, an object node
 *
 * Since: 1.0
 */
JsonNode *cw_agent_tool_get_parameters (CwAgentTool *self);

/**
 * cw_agent_tool_get_command:
 * @self: a #CwAgentTool
 *
 * Returns: the command that runs it
 *
 * Since: 1.0
 */
const gchar *cw_agent_tool_get_command (CwAgentTool *self);

/**
 * cw_agent_tool_get_flags:
 * @self: a #CwAgentTool
 *
 * Returns: its #CwAgentToolFlags
 *
 * Since: 1.0
 */
CwAgentToolFlags cw_agent_tool_get_flags (CwAgentTool *self);

/**
 * cw_agent_tool_get_owner:
 * @self: a #CwAgentTool
 *
 * Returns: the name of the plugin that added it
 *
 * Since: 1.0
 */
const gchar *cw_agent_tool_get_owner (CwAgentTool *self);

/**
 * cw_plugin_add_agent_tool:
 * @self: a #CwPlugin, the owner
 * @name: the tool's name, `[a-z][a-z0-9_]{0,63}`
 * @description: what the model is told the tool does (not empty)
 * @parameters_json: (nullable): the JSON schema of the arguments: an object with
 *   `"type": "object"`; %NULL for a tool without arguments
 * @command: the command that runs it, one this plugin registered or will register
 * @flags: how the agent's permission engine treats it
 * @error: return location for a #GError, or %NULL
 *
 * Offers the agent a tool its model may call. The agent lists it after its built-in tools
 * in every provider request from then on. When the model calls it, the agent decides the
 * permission by @flags and the session's approval mode, then calls @command through the
 * registry (as the agent plugin, see cw_plugin_call()) with params: the model's argument
 * object plus `sessionId` (the turn's session) and `toolCallId`. The command's result
 * becomes the tool's output: a JSON string is the text, anything else is sent serialised;
 * an object with a `media` array (of `{mediaType: "image"|"video", path?, url?, mimeType?,
 * data? (base64), size?}`) also becomes chat items of kind `media`, and the model is not
 * sent the base64 data. A command error is an error result; stopping the turn cancels the
 * invocation's cancellable.
 *
 * The tool goes with cw_plugin_remove_agent_tool() or when the plugin stops or is
 * disabled.
 *
 * Returns: %TRUE, or %FALSE with @error: %CW_ERROR_INVALID_PARAMS (a bad name, an empty
 *   description or command, unknown @flags, parameters that are not a JSON object schema),
 *   %CW_ERROR_EXISTS (the name is a built-in tool's or another registered tool's)
 *
 * Since: 1.0
 */
gboolean cw_plugin_add_agent_tool (CwPlugin *self, const gchar *name, const gchar *description,
                                   const gchar *parameters_json, const gchar *command,
                                   CwAgentToolFlags flags, GError **error);

/**
 * cw_plugin_remove_agent_tool:
 * @self: a #CwPlugin, the owner
 * @name: the tool's name
 *
 * Withdraws a tool this plugin added: the next provider request no longer lists it, and a
 * call the model made before gets an error result.
 *
 * Returns: %TRUE if the plugin had a tool of that name
 *
 * Since: 1.0
 */
gboolean cw_plugin_remove_agent_tool (CwPlugin *self, const gchar *name);

/**
 * cw_plugin_reserve_agent_tool:
 * @self: a #CwPlugin, the agent
 * @name: the name of one of its own tools
 *
 * Keeps @name from contributed tools: the agent reserves its built-in tools' names when it
 * loads. A contributed tool that already has the name is withdrawn (with a warning).
 * Reservations go when the plugin stops.
 *
 * Since: 1.0
 */
void cw_plugin_reserve_agent_tool (CwPlugin *self, const gchar *name);

/**
 * cw_context_list_agent_tools:
 * @self: a #CwContext
 *
 * Returns: (transfer full) (element-type CwAgentTool): the contributed tools, in the
 *   order they were added
 *
 * Since: 1.0
 */
GPtrArray *cw_context_list_agent_tools (CwContext *self);

/**
 * cw_context_lookup_agent_tool:
 * @self: a #CwContext
 * @name: a tool name
 *
 * Returns: (transfer full) (nullable): the contributed tool of that name, or %NULL
 *
 * Since: 1.0
 */
CwAgentTool *cw_context_lookup_agent_tool (CwContext *self, const gchar *name);

/* ---- end of agent tools ---- */

/* ---- HTTP server ---- */

/**
 * CwHttpRequest:
 *
 * One HTTP request given to a plugin's route handler. The handler answers it exactly once
 * with cw_http_request_respond() (or its JSON forms), before returning or later; keep a
 * reference (g_object_ref()) to answer later. The server refuses late answers: after the
 * time limit (the client then got 408), after the client went away, or after the owner
 * was disabled (503); the request's cancellable is cancelled in each of these cases.
 *
 * Since: 1.0
 */
#define CW_TYPE_HTTP_REQUEST (cw_http_request_get_type ())
G_DECLARE_FINAL_TYPE (CwHttpRequest, cw_http_request, CW, HTTP_REQUEST, GObject)

/**
 * CwHttpHandlerFunc:
 * @request: the request (borrowed)
 * @user_data: the data given with the route
 *
 * Handles one request of a route. The body has been read in full and is within the size
 * limit.
 *
 * Since: 1.0
 */
typedef void (*CwHttpHandlerFunc) (CwHttpRequest *request, gpointer user_data);

/**
 * CwWebsocketFunc:
 * @request: the upgrade request, for its path, query, headers and peer (it cannot be
 *   answered: the upgrade is done)
 * @connection: the open WebSocket (borrowed: take a reference to keep it)
 * @user_data: the data given with the route
 *
 * A client opened a WebSocket on the route. Connections still open when the owner is
 * disabled or stopped are closed with 1001 (going away).
 *
 * Since: 1.0
 */
typedef void (*CwWebsocketFunc) (CwHttpRequest *request, SoupWebsocketConnection *connection,
                                 gpointer user_data);

/**
 * cw_plugin_add_http_route:
 * @self: the plugin that owns the route
 * @path: an exact path ("/v1/health"; a trailing '/' in a request is ignored), or a prefix:
 *   a path whose last segment is a lone '*' ("/v1/workflow/webhooks/" then '*': that path
 *   and everything below it); other segments of letters, digits and -._~
 * @func: handles each request the route gets
 * @user_data: data for @func
 * @destroy: (nullable): frees @user_data when the route is removed
 * @error: return location for an error
 *
 * Adds a route to the daemon's HTTP server, starting the server if it is the first route
 * of any plugin. A request goes to the exact route of its path, else to the longest prefix
 * that covers it; a path no route covers gets 404 {"error":"Not found"}. A route may not
 * overlap another plugin's: an exact path inside another owner's prefix, a prefix covering
 * another owner's path, or the same path twice is refused.
 *
 * Returns: %TRUE, or %FALSE with @error (%CW_ERROR_EXISTS for an overlap,
 *   %CW_ERROR_INVALID_PARAMS for a bad path, or why the server could not listen); on
 *   failure @destroy is not called
 *
 * Since: 1.0
 */
gboolean cw_plugin_add_http_route (CwPlugin *self, const gchar *path, CwHttpHandlerFunc func,
                                   gpointer user_data, GDestroyNotify destroy, GError **error);

/**
 * cw_plugin_add_websocket_route:
 * @self: the plugin that owns the route
 * @path: one exact path ("/v1/ws"), under the same ownership rules as HTTP routes; nothing
 *   below it is routed
 * @protocols: (nullable) (array zero-terminated=1): the subprotocols accepted, or %NULL
 * @func: called with each connection opened
 * @user_data: data for @func
 * @destroy: (nullable): frees @user_data when the route is removed
 * @error: return location for an error
 *
 * Adds a WebSocket route (libsoup does the handshake; a plain request to the path gets
 * 400). Starts the server like cw_plugin_add_http_route().
 *
 * Returns: %TRUE, or %FALSE with @error as for cw_plugin_add_http_route()
 *
 * Since: 1.0
 */
gboolean cw_plugin_add_websocket_route (CwPlugin *self, const gchar *path,
                                        const gchar *const *protocols, CwWebsocketFunc func,
                                        gpointer user_data, GDestroyNotify destroy, GError **error);

/**
 * cw_plugin_remove_http_routes:
 * @self: the plugin
 *
 * Removes every HTTP and WebSocket route of the plugin: its requests still waiting for an
 * answer get 503, its WebSockets are closed with 1001. The server stops listening when no
 * plugin has a route left. The daemon does this when a plugin is disabled or stopped.
 *
 * Returns: the number of routes removed
 *
 * Since: 1.0
 */
guint cw_plugin_remove_http_routes (CwPlugin *self);

/**
 * cw_context_get_http_base_url:
 * @self: the context
 *
 * The URL the HTTP server is reached at, without a trailing '/': "http://127.0.0.1:PORT"
 * with the default loopback bind. Use it to publish full URLs (webhooks); behind a tunnel
 * the public URL is the plugin's own setting.
 *
 * Returns: (transfer full) (nullable): the URL, or %NULL while the server is not listening
 *
 * Since: 1.0
 */
gchar *cw_context_get_http_base_url (CwContext *self);

/**
 * cw_http_request_get_method:
 * @self: the request
 *
 * Returns: the method ("GET", "POST", ...)
 *
 * Since: 1.0
 */
const gchar *cw_http_request_get_method (CwHttpRequest *self);

/**
 * cw_http_request_get_path:
 * @self: the request
 *
 * Returns: the decoded path, without a trailing '/' (except "/")
 *
 * Since: 1.0
 */
const gchar *cw_http_request_get_path (CwHttpRequest *self);

/**
 * cw_http_request_get_query:
 * @self: the request
 *
 * Returns: (nullable): the raw query string without '?' (decode it with soup_form_decode()),
 *   or %NULL
 *
 * Since: 1.0
 */
const gchar *cw_http_request_get_query (CwHttpRequest *self);

/**
 * cw_http_request_get_headers:
 * @self: the request
 *
 * Returns: (transfer none) (nullable): the request headers; %NULL once the exchange is over
 *
 * Since: 1.0
 */
SoupMessageHeaders *cw_http_request_get_headers (CwHttpRequest *self);

/**
 * cw_http_request_get_response_headers:
 * @self: the request
 *
 * Returns: (transfer none) (nullable): the response headers to add to before answering
 *   (CORS, cache control); %NULL once the exchange is over
 *
 * Since: 1.0
 */
SoupMessageHeaders *cw_http_request_get_response_headers (CwHttpRequest *self);

/**
 * cw_http_request_get_body:
 * @self: the request
 *
 * Returns: (transfer full): the request body (empty when there is none)
 *
 * Since: 1.0
 */
GBytes *cw_http_request_get_body (CwHttpRequest *self);

/**
 * cw_http_request_get_remote_address:
 * @self: the request
 *
 * Returns: (transfer full) (nullable): the peer's IP address as text ("127.0.0.1"), for
 *   rate limits and logs
 *
 * Since: 1.0
 */
gchar *cw_http_request_get_remote_address (CwHttpRequest *self);

/**
 * cw_http_request_get_cancellable:
 * @self: the request
 *
 * Returns: (transfer none): cancelled when the answer can no longer be sent (time limit,
 *   client gone, owner disabled); pass it to the work done for the request
 *
 * Since: 1.0
 */
GCancellable *cw_http_request_get_cancellable (CwHttpRequest *self);

/**
 * cw_http_request_is_finished:
 * @self: the request
 *
 * Returns: %TRUE once it was answered or can no longer be
 *
 * Since: 1.0
 */
gboolean cw_http_request_is_finished (CwHttpRequest *self);

/**
 * cw_http_request_respond:
 * @self: the request
 * @status: the HTTP status (100-599)
 * @content_type: (nullable): the body's media type
 * @body: (nullable): the body (copied)
 *
 * Answers the request.
 *
 * Returns: %FALSE when it was answered already or can no longer be answered
 *
 * Since: 1.0
 */
gboolean cw_http_request_respond (CwHttpRequest *self, guint status, const gchar *content_type,
                                  GBytes *body);

/**
 * cw_http_request_respond_json:
 * @self: the request
 * @status: the HTTP status
 * @body: (transfer full) (nullable): the JSON answer (%NULL: null)
 *
 * Answers with application/json.
 *
 * Returns: as cw_http_request_respond()
 *
 * Since: 1.0
 */
gboolean cw_http_request_respond_json (CwHttpRequest *self, guint status, JsonNode *body);

/**
 * cw_http_request_respond_error:
 * @self: the request
 * @status: the HTTP status
 * @message: (nullable): the text of {"error": @message} (%NULL: the status's reason phrase)
 *
 * Answers with the JSON error shape the server uses itself.
 *
 * Returns: as cw_http_request_respond()
 *
 * Since: 1.0
 */
gboolean cw_http_request_respond_error (CwHttpRequest *self, guint status, const gchar *message);

/* ---- end of HTTP server ---- */

/* ---- small JSON helpers -------------------------------------------------------------- */

/**
 * cw_now_ms:
 *
 * The wall-clock time in ms since the epoch.
 *
 * Since: 1.0
 */
gint64 cw_now_ms (void);

/**
 * cw_make_id:
 * @prefix: the id prefix
 *
 * "<prefix>_" + 16 base64url characters from a CSPRNG.
 *
 * Since: 1.0
 */
gchar *cw_make_id (const gchar *prefix);

/**
 * cw_json_to_string:
 * @node: a #JsonNode
 *
 * @node as compact JSON text (free with g_free()).
 *
 * Since: 1.0
 */
gchar *cw_json_to_string (JsonNode *node);

/**
 * cw_json_append_string:
 * @out: the string to append to
 * @value: the value
 *
 * Appends @value as a JSON string literal (quoted, escaped) to @out.
 *
 * Since: 1.0
 */
void cw_json_append_string (GString *out, const gchar *value);

/**
 * cw_json_append_object:
 * @out: the string to append to
 * @object: a #JsonObject
 *
 * Appends @object as JSON text to @out.
 *
 * Since: 1.0
 */
void cw_json_append_object (GString *out, JsonObject *object);
/* Parses JSON text from outside (a client, a provider, the database). Text nested deeper
 * than CW_JSON_MAX_DEPTH levels, or with a string holding \u0000, is refused with
 * CW_ERROR_INVALID_PARAMS before a tree is built; use this, never a bare JsonParser, for
 * anything that did not come from this process. */
#define CW_JSON_MAX_DEPTH 128

/**
 * cw_json_from_string:
 * @text: the text
 * @length: the length in bytes, or -1 if NUL-terminated
 * @error: return location for a #GError, or %NULL
 *
 * Parses JSON text (@length -1 when NUL-terminated). Returns the root node, or %NULL with
 * @error.
 *
 * Since: 1.0
 */
JsonNode *cw_json_from_string (const gchar *text, gssize length, GError **error);

/**
 * cw_json_check_text:
 * @text: the text
 * @length: the length in bytes, or -1 if NUL-terminated
 * @error: return location for a #GError, or %NULL
 *
 * The check cw_json_from_string makes, for code that feeds its own JsonParser: a linear
 * pre-scan that refuses nesting deeper than CW_JSON_MAX_DEPTH (json-glib recurses once per
 * level, so a long run of '[' overflows the stack) and strings holding \u0000 (json-glib
 * silently cuts a string there: "ping\u0000x" would run ping).
 *
 * Since: 1.0
 */
gboolean cw_json_check_text (const gchar *text, gsize length, GError **error);

/**
 * cw_random_bytes:
 * @buf: the buffer to fill
 * @len: its size in bytes
 *
 * @len bytes from the kernel CSPRNG (getrandom); aborts if the kernel cannot give them.
 *
 * Since: 1.0
 */
void cw_random_bytes (guint8 *buf, gsize len);

/**
 * cw_random_hex:
 * @n_bytes: how many random bytes
 *
 * 2 * n_bytes lowercase hex characters from the kernel CSPRNG.
 *
 * Since: 1.0
 */
gchar *cw_random_hex (gsize n_bytes);

G_END_DECLS
