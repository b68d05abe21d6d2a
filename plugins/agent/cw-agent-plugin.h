/* cw-agent-plugin.h: the agent plugin object and what its parts share.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cw-agent-config.h"
#include "cw-agent-session.h"

#include <libsoup/soup.h>

G_BEGIN_DECLS

#define CW_TYPE_AGENT_PLUGIN (cw_agent_plugin_get_type ())
G_DECLARE_FINAL_TYPE (CwAgentPlugin, cw_agent_plugin, CW, AGENT_PLUGIN, CwPlugin)

struct _CwAgentPlugin
{
  CwPlugin parent_instance;
  CwStore *store;                   /* borrowed from the context */
  GHashTable *sessions;             /* id -> CwAgentSession */
  CwAgentConfig *config;            /* runtime config (no secrets) */
  SoupSession *soup;                /* shared by every provider stream */
  gboolean stopping;                /* the daemon is shutting down */
  struct _CwToolCommands *commands; /* the commands execute is running (tools/cw-tool-commands.h) */
};

/* Every command group registers itself through one of these (called from load()). */
gboolean cw_agent_session_commands_register (CwAgentPlugin *self, GError **error);
gboolean cw_agent_config_commands_register (CwAgentPlugin *self, GError **error);
gboolean cw_agent_turn_commands_register (CwAgentPlugin *self, GError **error);
gboolean cw_agent_queue_commands_register (CwAgentPlugin *self, GError **error);
gboolean cw_agent_capability_commands_register (CwAgentPlugin *self, GError **error);

/* Looks up @session_id from the invocation; on failure answers the invocation (with
 * "sessionId is required" or "Session not found: <id>") and returns NULL. */
CwAgentSession *cw_agent_plugin_session_from_invocation (CwAgentPlugin *self,
                                                         CwInvocation *invocation);
CwAgentSession *cw_agent_plugin_lookup_session (CwAgentPlugin *self, const gchar *session_id);
/* Sessions sorted as list_sessions wants them (updatedAt desc, lastAccessedAt desc). */
GPtrArray *cw_agent_plugin_sorted_sessions (CwAgentPlugin *self);

/* Writes the session row; failures are logged (the in-memory state stays authoritative
 * until the next write succeeds). */
void cw_agent_plugin_save_session (CwAgentPlugin *self, CwAgentSession *session);
/* Writes the runtime snapshot of the session. */
void cw_agent_plugin_save_runtime (CwAgentPlugin *self, CwAgentSession *session);
void cw_agent_plugin_save_queue (CwAgentPlugin *self, CwAgentSession *session);
/* session:updated (envelope sessionId null, contract §6.3). */
void cw_agent_plugin_emit_session_updated (CwAgentPlugin *self, CwAgentSession *session);
gint64 cw_agent_plugin_emit (CwAgentPlugin *self, const gchar *type, const gchar *session_id,
                             JsonObject *data);
/* context:update and context:usage with the session's last known usage. */
void cw_agent_plugin_emit_context (CwAgentPlugin *self, CwAgentSession *session);
/* task:set with the session's whole todo list. */
void cw_agent_plugin_emit_tasks (CwAgentPlugin *self, CwAgentSession *session);
/* run:health for @session after one of its counters moved. */
void cw_agent_plugin_emit_health (CwAgentPlugin *self, CwAgentSession *session);

/* Appends a chat item: fills id, timestamp, sequence; stores it; emits chat:item.
 * Takes @item; returns it (owned by the caller's reference from json_object_ref). */
JsonObject *cw_agent_plugin_append_item (CwAgentPlugin *self, CwAgentSession *session,
                                         JsonObject *item);
/* Emits chat:update for @item_id; stores the merged item when @persist. Takes @updates. */
void cw_agent_plugin_update_item (CwAgentPlugin *self, CwAgentSession *session,
                                  const gchar *item_id, JsonObject *updates, gboolean persist);
/* "ci-<ms>-<9 base36 chars>" */
gchar *cw_agent_make_item_id (void);

/* Queues a message (at the front with @first); stores the queue, emits queue:update. */
void cw_agent_plugin_queue_message (CwAgentPlugin *self, CwAgentSession *session,
                                    const gchar *content, JsonArray *attachments, gboolean first);
/* Starts the next queued message of an idle session, if any. */
void cw_agent_plugin_run_queue (CwAgentPlugin *self, CwAgentSession *session);

/* Importer of the desktop app's JSON history (cw-agent-importer.c). */
gboolean cw_agent_import_legacy (CwAgentPlugin *self, GError **error);

G_END_DECLS
