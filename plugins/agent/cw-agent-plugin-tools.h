/* cw-agent-plugin-tools.h: tools other plugins contribute (cw_plugin_add_agent_tool): listed
 * to the model after the built-in ones, decided by their flags and the approval mode, run
 * by calling the owner's command, their answer made into the tool's output and media items.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cw-agent-permissions.h"
#include "cw-agent-plugin.h"

G_BEGIN_DECLS

/* The permission type of a contributed tool's requests; the resource is the tool's name. */
#define CW_AGENT_PLUGIN_TOOL_PERMISSION "tool"

/* [{name, description, parameters}] of the built-in tools, then the contributed ones, as
 * they are now (read for each provider request). */
JsonArray *cw_agent_plugin_tools_list_schemas (CwAgentPlugin *plugin);
/* The contributed tool of that name (a reference), or NULL. */
CwAgentTool *cw_agent_plugin_tool_lookup (CwAgentPlugin *plugin, const gchar *name);
/* Just before a call of @name runs: *@tool (the one the call was made with, or NULL when it
 * was restored after a restart) becomes the tool registered under @name now. FALSE with
 * @why (newly allocated) if there is none, or only another plugin's. */
gboolean cw_agent_plugin_tool_refresh (CwAgentPlugin *plugin, const gchar *name, CwAgentTool **tool,
                                       gchar **why);
/* Plan mode runs only read-only tools. */
gboolean cw_agent_plugin_tool_plan_allows (CwAgentTool *tool);
/* What the engine does without a person: session grants, then the flags and the approval
 * mode (read_only: only READ_ONLY tools; ASK tools ask in auto mode and run in full mode). */
CwPermissionVerdict cw_agent_plugin_tool_evaluate (CwAgentSession *session, CwAgentTool *tool);
/* Its toolAccess entry of the capability snapshot, policyAction "allow", "ask" or "deny"
 * (@session may be NULL). */
JsonObject *cw_agent_plugin_tool_access (CwAgentSession *session, CwAgentTool *tool);

/* Calls the tool's command with @args plus sessionId and toolCallId; cancelling
 * @cancellable cancels the invocation. */
void cw_agent_plugin_tool_call (CwAgentPlugin *plugin, CwAgentTool *tool, const gchar *session_id,
                                const gchar *tool_call_id, JsonObject *args,
                                GCancellable *cancellable, GAsyncReadyCallback callback,
                                gpointer user_data);
/* The output text for the model (a string result as it is, anything else serialised, media
 * data left out, capped to toolOutputTokenLimit); @media (may be NULL) gets a new array of
 * media chat items (without id) for the result's media entries. */
gchar *cw_agent_plugin_tool_call_finish (CwAgentPlugin *plugin, GAsyncResult *result,
                                         GPtrArray **media, GError **error);
/* Appends @media (from cw_agent_plugin_tool_call_finish) as chat items of @session, each
 * with @turn_id (may be NULL) and @tool_id. */
void cw_agent_plugin_tool_add_media (CwAgentPlugin *plugin, CwAgentSession *session,
                                     const gchar *turn_id, const gchar *tool_id, GPtrArray *media);

G_END_DECLS
