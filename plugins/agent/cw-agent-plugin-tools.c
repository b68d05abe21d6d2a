/* cw-agent-plugin-tools.c: tools other plugins contribute to the agent (see
 * cw-agent-plugin-tools.h): their schemas after the built-in ones, their permission
 * decision, the call of their command and what its answer becomes.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-agent-json.h"
#include "cw-agent-plugin-tools.h"
#include "cw-agent-sessions.h"
#include "tools/cw-tool.h"

static CwContext *
context_of (CwAgentPlugin *plugin)
{
  return cw_plugin_get_context (CW_PLUGIN (plugin));
}

JsonArray *
cw_agent_plugin_tools_list_schemas (CwAgentPlugin *plugin)
{
  JsonArray *arr = cw_tool_list_schemas ();
  g_autoptr (GPtrArray) tools = cw_context_list_agent_tools (context_of (plugin));

  for (guint i = 0; i < tools->len; i++)
    {
      CwAgentTool *tool = g_ptr_array_index (tools, i);
      JsonObject *obj = json_object_new ();

      json_object_set_string_member (obj, "name", cw_agent_tool_get_name (tool));
      json_object_set_string_member (obj, "description", cw_agent_tool_get_description (tool));
      json_object_set_member (obj, "parameters",
                              json_node_copy (cw_agent_tool_get_parameters (tool)));
      json_array_add_object_element (arr, obj);
    }
  return arr;
}

CwAgentTool *
cw_agent_plugin_tool_lookup (CwAgentPlugin *plugin, const gchar *name)
{
  return name != NULL ? cw_context_lookup_agent_tool (context_of (plugin), name) : NULL;
}

gboolean
cw_agent_plugin_tool_refresh (CwAgentPlugin *plugin, const gchar *name, CwAgentTool **tool,
                              gchar **why)
{
  g_autoptr (CwAgentTool) now = cw_agent_plugin_tool_lookup (plugin, name);

  /* The same plugin may have withdrawn and offered it again (a reconnect, a restart). */
  if (now != NULL
      && (*tool == NULL
          || g_strcmp0 (cw_agent_tool_get_owner (now), cw_agent_tool_get_owner (*tool)) == 0))
    {
      g_clear_pointer (tool, cw_agent_tool_unref);
      *tool = g_steal_pointer (&now);
      return TRUE;
    }
  if (*tool != NULL)
    *why = g_strdup_printf ("Tool %s is no longer available: the %s plugin withdrew it", name,
                            cw_agent_tool_get_owner (*tool));
  else
    *why = g_strdup_printf ("Tool %s is not available: no plugin offers it now", name);
  return FALSE;
}

gboolean
cw_agent_plugin_tool_plan_allows (CwAgentTool *tool)
{
  return (cw_agent_tool_get_flags (tool) & CW_AGENT_TOOL_READ_ONLY) != 0;
}

CwPermissionVerdict
cw_agent_plugin_tool_evaluate (CwAgentSession *session, CwAgentTool *tool)
{
  CwAgentToolFlags flags = cw_agent_tool_get_flags (tool);
  gboolean read_only = (flags & CW_AGENT_TOOL_READ_ONLY) != 0;
  gboolean ask = (flags & CW_AGENT_TOOL_ASK) != 0;
  const gchar *mode = session->approval_mode;

  if (ask
      && cw_agent_session_is_granted (session, CW_AGENT_PLUGIN_TOOL_PERMISSION,
                                      cw_agent_tool_get_name (tool), FALSE))
    return CW_PERMISSION_ALLOW;
  /* read_only lets through only what changes nothing (asking first if the tool wants). */
  if (g_strcmp0 (mode, "read_only") == 0)
    return !read_only ? CW_PERMISSION_DENY : ask ? CW_PERMISSION_ASK : CW_PERMISSION_ALLOW;
  if (!ask || g_strcmp0 (mode, "full") == 0)
    return CW_PERMISSION_ALLOW;
  return CW_PERMISSION_ASK;
}

JsonObject *
cw_agent_plugin_tool_access (CwAgentSession *session, CwAgentTool *tool)
{
  JsonObject *t = json_object_new ();
  gboolean plan = session != NULL && g_strcmp0 (session->execution_mode, "plan") == 0;
  gboolean enabled = !plan || cw_agent_plugin_tool_plan_allows (tool);
  CwPermissionVerdict v = session != NULL ? cw_agent_plugin_tool_evaluate (session, tool)
                          : (cw_agent_tool_get_flags (tool) & CW_AGENT_TOOL_ASK) != 0
                              ? CW_PERMISSION_ASK
                              : CW_PERMISSION_ALLOW;
  g_autofree gchar *reason
      = g_strdup_printf ("contributed by the %s plugin", cw_agent_tool_get_owner (tool));

  json_object_set_string_member (t, "toolName", cw_agent_tool_get_name (tool));
  json_object_set_boolean_member (t, "enabled", enabled);
  json_object_set_string_member (t, "reason",
                                 enabled ? reason : "plan mode allows read-only tools only");
  json_object_set_string_member (t, "policyAction",
                                 v == CW_PERMISSION_DENY  ? "deny"
                                 : v == CW_PERMISSION_ASK ? "ask"
                                                          : "allow");
  return t;
}

/* ---- the call ------------------------------------------------------------------------- */

void
cw_agent_plugin_tool_call (CwAgentPlugin *plugin, CwAgentTool *tool, const gchar *session_id,
                           const gchar *tool_call_id, JsonObject *args, GCancellable *cancellable,
                           GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (JsonNode) params = json_node_new (JSON_NODE_OBJECT);
  JsonObject *obj = json_object_new ();
  g_autoptr (GList) members = args != NULL ? json_object_get_members (args) : NULL;

  for (GList *l = members; l != NULL; l = l->next)
    json_object_set_member (obj, l->data, json_node_copy (json_object_get_member (args, l->data)));
  json_object_set_string_member (obj, "sessionId", session_id);
  json_object_set_string_member (obj, "toolCallId", tool_call_id);
  json_node_take_object (params, obj);
  cw_plugin_call (CW_PLUGIN (plugin), NULL, cw_agent_tool_get_command (tool), params, cancellable,
                  callback, user_data);
}

static const gchar *
media_string (JsonObject *entry, const gchar *name)
{
  JsonNode *node = json_object_get_member (entry, name);

  return node != NULL && JSON_NODE_HOLDS_VALUE (node)
                 && json_node_get_value_type (node) == G_TYPE_STRING
             ? json_node_get_string (node)
             : NULL;
}

/* A media chat item (contract §7.2) for one entry of the result, or NULL if it is none. */
static JsonObject *
media_item (JsonNode *node)
{
  static const gchar *const optional[] = { "path", "url", "mimeType", "data" };
  JsonObject *entry = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
  const gchar *type = entry != NULL ? media_string (entry, "mediaType") : NULL;
  JsonObject *item;

  if (g_strcmp0 (type, "image") != 0 && g_strcmp0 (type, "video") != 0)
    return NULL;
  item = json_object_new ();
  json_object_set_string_member (item, "kind", "media");
  json_object_set_string_member (item, "mediaType", type);
  for (guint i = 0; i < G_N_ELEMENTS (optional); i++)
    if (media_string (entry, optional[i]) != NULL)
      json_object_set_string_member (item, optional[i], media_string (entry, optional[i]));
  return item;
}

/* Collects the media entries and drops their base64 data from @result (a mutable copy). */
static GPtrArray *
take_media (JsonNode *result)
{
  GPtrArray *media = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  JsonObject *obj = JSON_NODE_HOLDS_OBJECT (result) ? json_node_get_object (result) : NULL;
  JsonArray *arr = obj != NULL ? cw_agent_json_array (obj, "media") : NULL;

  for (guint i = 0; arr != NULL && i < json_array_get_length (arr); i++)
    {
      JsonNode *node = json_array_get_element (arr, i);
      JsonObject *item = media_item (node);

      if (item == NULL)
        continue;
      g_ptr_array_add (media, item);
      json_object_remove_member (json_node_get_object (node), "data");
    }
  return media;
}

gchar *
cw_agent_plugin_tool_call_finish (CwAgentPlugin *plugin, GAsyncResult *result, GPtrArray **media,
                                  GError **error)
{
  g_autoptr (JsonNode) answer = cw_plugin_call_finish (CW_PLUGIN (plugin), result, error);
  g_autoptr (JsonNode) copy = NULL;
  g_autoptr (GPtrArray) found = NULL;
  gchar *text;

  if (answer == NULL)
    return NULL;
  if (JSON_NODE_HOLDS_VALUE (answer) && json_node_get_value_type (answer) == G_TYPE_STRING)
    text = g_strdup (json_node_get_string (answer));
  else
    {
      /* A deep copy: the answer's objects may be shared (and sealed). */
      g_autofree gchar *whole = cw_json_to_string (answer);

      copy = cw_json_from_string (whole, -1, NULL);
      found = take_media (copy);
      text = found->len > 0 ? cw_json_to_string (copy) : g_steal_pointer (&whole);
    }
  if (media != NULL)
    *media = found != NULL ? g_steal_pointer (&found)
                           : g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  /* What goes back to the model stays within toolOutputTokenLimit (~4 bytes a token). */
  return cw_tool_cap_output (text, plugin->config->tool_output_token_limit * 4);
}

void
cw_agent_plugin_tool_add_media (CwAgentPlugin *plugin, CwAgentSession *session,
                                const gchar *turn_id, const gchar *tool_id, GPtrArray *media)
{
  for (guint i = 0; media != NULL && i < media->len; i++)
    {
      JsonObject *item = json_object_ref (g_ptr_array_index (media, i));
      g_autoptr (JsonObject) stored = NULL;

      if (turn_id != NULL)
        json_object_set_string_member (item, "turnId", turn_id);
      json_object_set_string_member (item, "toolId", tool_id);
      stored = cw_agent_sessions_append_item (plugin->sessions, session, item);
    }
}
