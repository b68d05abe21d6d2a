/* cw-agent-sessions.h: the sessions registry, the one owner of the plugin's sessions. A
 * change to a session goes through cw_agent_sessions_commit(), which writes what changed in
 * one transaction, drops the cached bootstrap text of the session and emits what the change
 * announces. Chat items and events of sessions go out through here too.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cw-agent-config.h"
#include "cw-agent-session.h"

G_BEGIN_DECLS

typedef struct
{
  CwStore *store;        /* borrowed */
  CwPlugin *emitter;     /* borrowed: events go out under the plugin's name */
  CwAgentConfig *config; /* borrowed: context windows */
  GHashTable *by_id;     /* id -> CwAgentSession */
  GPtrArray *sorted;     /* the sessions as cw_agent_sessions_sorted orders them, or NULL */
  guint batch_depth;
} CwAgentSessions;

typedef enum
{
  CW_AGENT_CHANGE_INFO = 1 << 0,     /* the SessionInfo row */
  CW_AGENT_CHANGE_RUNTIME = 1 << 1,  /* the runtime snapshot (grants, errors, active turn) */
  CW_AGENT_CHANGE_QUEUE = 1 << 2,    /* the message queue */
  CW_AGENT_CHANGE_ANNOUNCE = 1 << 3, /* session:updated */
} CwAgentChange;

CwAgentSessions *cw_agent_sessions_new (CwPlugin *emitter, CwAgentConfig *config);
void cw_agent_sessions_free (CwAgentSessions *self);
/* The store is known once the plugin loads. */
void cw_agent_sessions_set_store (CwAgentSessions *self, CwStore *store);

void cw_agent_sessions_add (CwAgentSessions *self, CwAgentSession *session);
void cw_agent_sessions_remove (CwAgentSessions *self, CwAgentSession *session);
guint cw_agent_sessions_count (CwAgentSessions *self);
/* The session, read whole from the store on its first use (until then it is an index row:
 * what list_sessions and the bootstrap state show). */
CwAgentSession *cw_agent_sessions_lookup (CwAgentSessions *self, const gchar *session_id);
/* Reads the runtime of an index row (grants, last error, tasks); TRUE when loaded. */
gboolean cw_agent_sessions_load (CwAgentSessions *self, CwAgentSession *session, GError **error);
/* Looks up the invocation's sessionId; on failure answers it ("sessionId is required" or
 * "Session not found: <id>") and returns NULL. */
CwAgentSession *cw_agent_sessions_from_invocation (CwAgentSessions *self, CwInvocation *invocation);
/* As list_sessions orders them (updatedAt desc, lastAccessedAt desc); a new reference to a
 * shared array, to be used before anything changes. */
GPtrArray *cw_agent_sessions_sorted (CwAgentSessions *self);
/* About the size of the SessionInfo text of @sorted (for growing a buffer once). */
gsize cw_agent_sessions_info_bytes (CwAgentSessions *self, GPtrArray *sorted);

/* Writes @changes of @session in one transaction, all or nothing (nothing for a deleted
 * session), then emits session:updated when announced. A failed write emits nothing and
 * returns FALSE: with @error it is the caller's to report, without one it is logged. */
gboolean cw_agent_sessions_commit (CwAgentSessions *self, CwAgentSession *session,
                                   CwAgentChange changes, GError **error);
/* The same for a command that changed @session after cw_agent_session_undo_save(): when the
 * write fails, the session gets back what @undo kept, so memory is what is stored. */
gboolean cw_agent_sessions_commit_or_undo (CwAgentSessions *self, CwAgentSession *session,
                                           CwAgentChange changes, CwAgentSessionUndo *undo,
                                           GError **error);
/* Several writes (commits, item writes, request rows) in one transaction; nests. */
void cw_agent_sessions_begin (CwAgentSessions *self);
void cw_agent_sessions_end (CwAgentSessions *self);

gint64 cw_agent_sessions_emit (CwAgentSessions *self, const gchar *type, const gchar *session_id,
                               JsonObject *data);
/* run:health for @session after one of its counters moved. */
void cw_agent_sessions_emit_health (CwAgentSessions *self, CwAgentSession *session);
/* context:update and context:usage with the session's last known usage. */
void cw_agent_sessions_emit_context (CwAgentSessions *self, CwAgentSession *session);
/* task:set with the session's whole todo list. */
void cw_agent_sessions_emit_tasks (CwAgentSessions *self, CwAgentSession *session);

/* Appends a chat item: fills id, timestamp, sequence; stores it with the session row;
 * emits chat:item. Takes @item; returns it. */
JsonObject *cw_agent_sessions_append_item (CwAgentSessions *self, CwAgentSession *session,
                                           JsonObject *item);
/* Emits chat:update for @item_id; stores the merged item when @persist. Takes @updates. */
void cw_agent_sessions_update_item (CwAgentSessions *self, CwAgentSession *session,
                                    const gchar *item_id, JsonObject *updates, gboolean persist);

/* The bootstrap contributor (cw_context_add_bootstrap_contributor). */
guint cw_agent_sessions_contribute_bootstrap (GString *sessions, GString *runtime,
                                              gpointer user_data);

/* "ci-<ms>-<9 base36 chars>" */
gchar *cw_agent_make_item_id (void);

G_END_DECLS
