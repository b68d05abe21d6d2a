/* cw-agent-interactions.h: what permissions and questions share on top of the SDK's
 * pending interactions: storing one with the call it holds back, answering it, and taking
 * them back after a restart.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cw-agent-plugin.h"

G_BEGIN_DECLS

/* Who answers when the agent itself settles a request (stop, delete, mode switch). */
#define CW_AGENT_ACTOR "plugin:agent"

/* Stores @request as the payload of a new interaction of @session, with the turn and the
 * tool call (and whether the resource is a path) as its private data. */
CwInteraction *cw_agent_interaction_add (CwAgentPlugin *plugin, CwInteractionKind kind,
                                         CwAgentSession *session, const gchar *turn_id,
                                         JsonObject *request, JsonObject *tool_call,
                                         gboolean resource_is_path, GError **error);
gboolean cw_agent_interaction_respond (CwAgentPlugin *plugin, const gchar *id, JsonNode *answer,
                                       const gchar *actor, GError **error);
/* The session of a resolved interaction, or NULL when it is gone. */
CwAgentSession *cw_agent_interaction_session (CwAgentPlugin *plugin, CwInteraction *interaction);
/* A writable copy of the stored tool call ({} when there is none). */
JsonObject *cw_agent_interaction_tool_call (CwInteraction *interaction);

typedef void (*CwAgentRestoreFunc) (CwAgentPlugin *plugin, CwAgentSession *session,
                                    CwInteraction *interaction);
/* Watches the agent's interactions of @kind with @on_resolved and hands each unfinished one
 * to @restore; one whose session is gone is answered with @orphan_answer. */
void cw_agent_interactions_restore (CwAgentPlugin *plugin, CwInteractionKind kind,
                                    CwAgentRestoreFunc restore, CwInteractionFunc on_resolved,
                                    const gchar *orphan_answer);

G_END_DECLS
