/* cw-agent-session.h: one chat session: what SessionInfo shows, and the live runtime state
 * that SessionRuntimeState (contract §4.3) is built from.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <cowork.h>

G_BEGIN_DECLS

typedef struct _CwAgentTurn CwAgentTurn;

/* A message waiting behind the running turn. */
typedef struct
{
  gchar *id; /* qmsg_... */
  gchar *content;
  JsonArray *attachments; /* may be NULL */
  gint64 queued_at;
} CwQueuedMessage;

CwQueuedMessage *cw_queued_message_new (const gchar *id, const gchar *content,
                                        JsonArray *attachments, gint64 queued_at);
void cw_queued_message_free (CwQueuedMessage *msg);
JsonObject *cw_queued_message_to_json (const CwQueuedMessage *msg);

/* Counters behind run:health (contract §6.4). */
typedef struct
{
  gint64 stream_starts;
  gint64 stream_done;
  gint64 checkpoints;
  gint64 run_recovered;
  gint64 run_stalled;
  gint64 fallback_applied;
  gint64 errors;
  gint64 tool_errors;
  gint64 last_updated_at;
} CwRunHealth;

#define CW_TYPE_AGENT_SESSION (cw_agent_session_get_type ())
G_DECLARE_FINAL_TYPE (CwAgentSession, cw_agent_session, CW, AGENT_SESSION, GObject)

struct _CwAgentSession
{
  GObject parent_instance;

  /* SessionInfo */
  gchar *id;
  gchar *type;
  gchar *provider;
  gchar *execution_mode; /* execute | plan */
  gchar *approval_mode;  /* auto | read_only | full */
  gchar *title;
  gchar *first_message;
  gchar *working_directory;
  gchar *model;
  gint64 message_count;
  gint64 next_sequence;
  gint64 created_at;
  gint64 updated_at;
  gint64 last_accessed_at;

  /* runtime */
  CwAgentTurn *turn;              /* in-flight turn or NULL */
  GPtrArray *queue;               /* CwQueuedMessage, in run order */
  GPtrArray *pending_permissions; /* CwPendingPermission (cw-agent-permissions.h) */
  GPtrArray *pending_questions;   /* CwPendingQuestion (cw-agent-questions.h) */
  GHashTable *permission_cache;   /* "<type>:<resource>" -> NULL (allow_session), or NULL */
  GHashTable *permission_scopes;  /* type -> GPtrArray of absolute paths, or NULL */
  JsonObject *last_error;         /* {message, code?, timestamp} or NULL */
  gchar *last_run_status;         /* completed | failed | cancelled | NULL */
  gboolean stop_requested;
  gboolean interrupted; /* the daemon died mid-turn; cleared by the next turn */
  gboolean deleted;     /* delete_session ran: nothing may write it back */
  gint64 context_used;
  CwRunHealth health;
  JsonArray *tasks;   /* Task[] */
  GPtrArray *waiters; /* CwInvocation of send_message, answered when the work is done */

  /* The runtime part above (grants, last error, tasks, context use) is read from the store
   * on first use (cw_agent_sessions_lookup); until then the session is an index row. */
  gboolean loaded;

  /* SessionInfo / idle SessionRuntimeState as JSON text, dropped at every change and made
   * again on next use: the bootstrap state of thousands of sessions is then mostly copies.
   * An index row has its runtime text from the store. */
  gchar *info_json;
  gchar *runtime_json;
  guint32 info_len;
  guint32 runtime_len;
};

CwAgentSession *cw_agent_session_new (const gchar *id);

/* What a command changes of a session, kept before the change so that a commit that fails
 * (a full or locked disk) can put the session back as it is stored. */
typedef struct
{
  gboolean saved;
  gchar *title;
  gchar *working_directory;
  gchar *execution_mode;
  gchar *approval_mode;
  gint64 updated_at;
  gint64 last_accessed_at;
  GHashTable *permission_scopes; /* a copy, or NULL */
  GPtrArray *queue;              /* a copy */
} CwAgentSessionUndo;

void cw_agent_session_undo_save (CwAgentSession *self, CwAgentSessionUndo *undo);
/* Puts back what @undo kept and clears it. */
void cw_agent_session_undo_restore (CwAgentSession *self, CwAgentSessionUndo *undo);
void cw_agent_session_undo_clear (CwAgentSessionUndo *undo);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (CwAgentSessionUndo, cw_agent_session_undo_clear)

/* SessionInfo (contract §4.2). */
JsonObject *cw_agent_session_to_info (CwAgentSession *self);
/* Appends SessionInfo / SessionRuntimeState as JSON text, from the cached text while
 * unchanged (the runtime of a loaded session only: see cw_agent_sessions_lookup). */
void cw_agent_session_append_info_json (CwAgentSession *self, GString *out);
void cw_agent_session_append_runtime_json (CwAgentSession *self, GString *out);
/* SessionRuntimeState as JSON text, built now. */
gchar *cw_agent_session_runtime_text (CwAgentSession *self);
/* Keeps @text (taken; NULL drops it) as the cached runtime text. */
void cw_agent_session_set_runtime_text (CwAgentSession *self, gchar *text);
/* Drops the cached text; called whenever the session is written. */
void cw_agent_session_invalidate (CwAgentSession *self);
/* SessionRuntimeState (contract §4.3), built now. */
JsonObject *cw_agent_session_to_runtime (CwAgentSession *self);
const gchar *cw_agent_session_get_run_state (CwAgentSession *self);
/* TRUE when a new message has to wait (a turn is in flight or stopping). */
gboolean cw_agent_session_is_busy (CwAgentSession *self);
JsonArray *cw_agent_session_queue_to_json (CwAgentSession *self);
CwQueuedMessage *cw_agent_session_find_queued (CwAgentSession *self, const gchar *id, guint *index);
/* Remembers an allow_session grant (path scopes when @resource is a path). */
void cw_agent_session_grant (CwAgentSession *self, const gchar *type, const gchar *resource,
                             gboolean resource_is_path);
gboolean cw_agent_session_is_granted (CwAgentSession *self, const gchar *type,
                                      const gchar *resource, gboolean resource_is_path);
void cw_agent_session_set_last_error (CwAgentSession *self, const gchar *message,
                                      const gchar *code);
/* The persisted part of the runtime (grants, last error, active turn) and back. */
JsonObject *cw_agent_session_runtime_snapshot (CwAgentSession *self, const gchar *active_turn_id);
void cw_agent_session_restore_snapshot (CwAgentSession *self, JsonObject *snapshot);
/* Does @path lie inside the working directory (both resolved, symlinks not followed)? */
gboolean cw_agent_session_path_inside (CwAgentSession *self, const gchar *path);
/* Makes @path absolute against the working directory and normalises it. */
gchar *cw_agent_session_resolve_path (CwAgentSession *self, const gchar *path);
/* Context window for this session's model (catalog, else built-in defaults). */
gint64 cw_agent_session_context_window (CwAgentSession *self, JsonArray *catalog);

G_END_DECLS
