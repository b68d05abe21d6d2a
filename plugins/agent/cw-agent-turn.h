/* cw-agent-turn.h: one turn of the agent loop, as a job object: the user's message, then
 * model rounds (streamed) and tool calls until the model stops asking for tools. Events go
 * out in the order of contract §6.7 whether or not any client listens.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cw-agent-permissions.h"
#include "cw-agent-plugin.h"
#include "tools/cw-tool.h"

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
/* Aborts the stream and tools now; pending requests are denied / cancelled by the caller.
 * May end the turn (session->turn is then NULL). */
void cw_agent_turn_stop (CwAgentTurn *turn);
/* The daemon shuts down: drop the stream without touching what is stored. */
void cw_agent_turn_abandon (CwAgentTurn *turn);
gboolean cw_agent_turn_is_retrying (CwAgentTurn *turn);
/* The system prompt a turn of @session sends (with the skills of set_skills). */
gchar *cw_agent_turn_system_prompt (CwAgentPlugin *plugin, CwAgentSession *session);
/* isStreaming, isThinking, activeTurnId, activeToolIds, activeTools. */
void cw_agent_turn_fill_runtime (CwAgentTurn *turn, JsonObject *runtime);

/* One tool call's parts, shared by a turn's calls and agent_run_tool (cw-agent-turn-tools.c):
 * runs @tool in @session's working directory (a file tool stays within it, or within the one
 * path outside that @args name and that was approved), confined as @sandbox says. */
void cw_agent_tool_execute (CwAgentPlugin *plugin, CwAgentSession *session, const CwToolInfo *tool,
                            JsonObject *args, CwToolSandbox sandbox, GCancellable *cancellable,
                            GAsyncReadyCallback callback, gpointer user_data);
/* The tool's output, cut to toolOutputTokenLimit; NULL with @error. */
gchar *cw_agent_tool_execute_finish (CwAgentPlugin *plugin, GAsyncResult *result,
                                     CwToolOutcome *outcome, GError **error);
/* May @tool run in plan mode (read-only tools, read-only commands)? */
gboolean cw_agent_tool_plan_allows (CwAgentSession *session, const CwToolInfo *tool,
                                    JsonObject *args);
/* The sandbox of a command the engine allowed without a person (ALLOW_CONFINED). */
CwToolSandbox cw_agent_tool_confined_sandbox (CwAgentSession *session);
/* Asks a person for @tool on @resource (cw_permission_request, saying when it is a symlink). */
CwPendingPermission *cw_agent_tool_ask (CwAgentPlugin *plugin, CwAgentSession *session,
                                        const gchar *turn_id, const CwToolInfo *tool,
                                        const gchar *resource, JsonObject *tool_call,
                                        CwPermissionFunc func, gpointer user_data);

G_END_DECLS
