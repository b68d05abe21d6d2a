/* cw-agent-interactions.c: permissions and questions as SDK pending interactions.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-agent-interactions.h"

static CwInteractions *
interactions_of (CwAgentPlugin *plugin)
{
  return cw_context_get_interactions (cw_plugin_get_context (CW_PLUGIN (plugin)));
}

CwInteraction *
cw_agent_interaction_add (CwAgentPlugin *plugin, CwInteractionKind kind, CwAgentSession *session,
                          const gchar *turn_id, JsonObject *request, JsonObject *tool_call,
                          gboolean resource_is_path, GError **error)
{
  g_autoptr (JsonObject) data = json_object_new ();

  if (turn_id != NULL)
    json_object_set_string_member (data, "turnId", turn_id);
  if (tool_call != NULL)
    json_object_set_object_member (data, "toolCall", json_object_ref (tool_call));
  if (resource_is_path)
    json_object_set_boolean_member (data, "resourceIsPath", TRUE);
  return cw_plugin_add_interaction (CW_PLUGIN (plugin), kind, session->id, request, data, 0, error);
}

gboolean
cw_agent_interaction_respond (CwAgentPlugin *plugin, const gchar *id, JsonNode *answer,
                              const gchar *actor, GError **error)
{
  return cw_interactions_respond (interactions_of (plugin), id, answer, actor, error);
}

CwAgentSession *
cw_agent_interaction_session (CwAgentPlugin *plugin, CwInteraction *interaction)
{
  return cw_agent_sessions_lookup (plugin->sessions, cw_interaction_get_session_id (interaction));
}

JsonObject *
cw_agent_interaction_tool_call (CwInteraction *interaction)
{
  JsonNode *call = json_object_get_member (cw_interaction_get_data (interaction), "toolCall");
  g_autoptr (JsonNode) copy = NULL;

  if (call == NULL || !JSON_NODE_HOLDS_OBJECT (call))
    return json_object_new ();
  copy = json_node_copy (call);
  return json_object_ref (json_node_get_object (copy));
}

void
cw_agent_interactions_restore (CwAgentPlugin *plugin, CwInteractionKind kind,
                               CwAgentRestoreFunc restore, CwInteractionFunc on_resolved,
                               const gchar *orphan_answer)
{
  g_autoptr (GPtrArray) open = NULL;

  cw_plugin_watch_interactions (CW_PLUGIN (plugin), kind, on_resolved, plugin);
  open = cw_plugin_list_interactions (CW_PLUGIN (plugin), kind);
  for (guint i = 0; i < open->len; i++)
    {
      CwInteraction *interaction = g_ptr_array_index (open, i);
      CwAgentSession *session = cw_agent_interaction_session (plugin, interaction);
      g_autoptr (GError) error = NULL;
      g_autoptr (JsonNode) answer = NULL;

      if (session != NULL)
        {
          restore (plugin, session, interaction);
          continue;
        }
      if (cw_interaction_get_state (interaction) != CW_INTERACTION_PENDING)
        continue;
      /* Its session was deleted: nobody can act on an answer any more. */
      answer = json_node_init_string (json_node_alloc (), orphan_answer);
      if (!cw_agent_interaction_respond (plugin, cw_interaction_get_id (interaction), answer,
                                         CW_AGENT_ACTOR, &error))
        g_warning ("failed to close %s of a deleted session: %s",
                   cw_interaction_get_id (interaction), error->message);
    }
}
