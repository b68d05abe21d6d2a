/* cw-agent-plugin.h: the agent plugin object and what its parts share.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cw-agent-config.h"
#include "cw-agent-session.h"
#include "cw-agent-sessions.h"

#include <libsoup/soup.h>

G_BEGIN_DECLS

#define CW_TYPE_AGENT_PLUGIN (cw_agent_plugin_get_type ())
G_DECLARE_FINAL_TYPE (CwAgentPlugin, cw_agent_plugin, CW, AGENT_PLUGIN, CwPlugin)

struct _CwAgentPlugin
{
  CwPlugin parent_instance;
  CwStore *store;                   /* borrowed from the context */
  CwAgentSessions *sessions;        /* the registry: owns the sessions */
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
gboolean cw_agent_tool_commands_register (CwAgentPlugin *self, GError **error);

/* Queues a message (at the front with @first); stores the queue, emits queue:update. When
 * the queue cannot be stored it stays as it was and FALSE is returned. */
gboolean cw_agent_plugin_queue_message (CwAgentPlugin *self, CwAgentSession *session,
                                        const gchar *content, JsonArray *attachments,
                                        gboolean first, GError **error);
/* A turn's end: the next queued message goes (CwAgentTurnEnded). */
void cw_agent_queue_turn_ended (CwAgentSession *session, gpointer plugin);
/* Starts the next queued message of an idle session, if any. */
void cw_agent_plugin_run_queue (CwAgentPlugin *self, CwAgentSession *session);

/* Importer of the desktop app's JSON history (cw-agent-importer.c). */
gboolean cw_agent_import_legacy (CwAgentPlugin *self, GError **error);

G_END_DECLS
