/* cw-agent-turn.h: one turn of the agent loop, as a job object: the user's message, then
 * model rounds (streamed) and tool calls until the model stops asking for tools. Events go
 * out in the order of contract §6.7 whether or not any client listens.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cw-agent-plugin.h"

G_BEGIN_DECLS

/* How a turn reports its end (the session is idle again, its state committed). */
typedef void (*CwAgentTurnEnded) (CwAgentSession *session, gpointer user_data);

/* Starts a turn on an idle session: appends the user message and begins streaming. */
CwAgentTurn *cw_agent_turn_start (CwAgentPlugin *plugin, CwAgentSession *session,
                                  const gchar *content, JsonArray *attachments, gint64 max_rounds,
                                  CwAgentTurnEnded ended, gpointer user_data);
/* Takes over a turn the daemon was running before a restart and that waits for answers
 * (pending permissions / questions restored from the store). */
CwAgentTurn *cw_agent_turn_resume (CwAgentPlugin *plugin, CwAgentSession *session,
                                   const gchar *turn_id, CwAgentTurnEnded ended,
                                   gpointer user_data);
/* run_start_v2 answers with {runId, sessionId, status} when this turn ends. */
void cw_agent_turn_set_run_invocation (CwAgentTurn *turn, CwInvocation *invocation);
const gchar *cw_agent_turn_get_id (CwAgentTurn *turn);
/* Aborts the stream and tools now; pending requests are denied / cancelled by the caller. */
void cw_agent_turn_stop (CwAgentTurn *turn);
/* The daemon shuts down: drop the stream without touching what is stored. */
void cw_agent_turn_abandon (CwAgentTurn *turn);
gboolean cw_agent_turn_is_retrying (CwAgentTurn *turn);
/* The system prompt a turn of @session sends (with the skills of set_skills). */
gchar *cw_agent_turn_system_prompt (CwAgentPlugin *plugin, CwAgentSession *session);
/* isStreaming, isThinking, activeTurnId, activeToolIds, activeTools. */
void cw_agent_turn_fill_runtime (CwAgentTurn *turn, JsonObject *runtime);

G_END_DECLS
