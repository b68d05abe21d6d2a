/* cw-tool-ask-user.c: ask_user {question, options?, multiSelect?, header?}: the turn waits
 * for a person's answer, which becomes the tool's result.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-agent-json.h"
#include "cw-tool.h"

JsonObject *
cw_tool_ask_user_request (JsonObject *args, GError **error)
{
  const gchar *question = cw_tool_arg_string (args, "question", TRUE, error);
  JsonArray *options = cw_agent_json_array (args, "options");
  g_autoptr (JsonObject) req = NULL;
  const gchar *header;

  if (question == NULL)
    return NULL;
  req = json_object_new ();
  json_object_set_string_member (req, "question", question);
  if (options != NULL)
    {
      JsonArray *out = json_array_new ();
      for (guint i = 0; i < json_array_get_length (options); i++)
        {
          JsonNode *el = json_array_get_element (options, i);
          JsonObject *opt;
          if (JSON_NODE_HOLDS_VALUE (el) && json_node_get_value_type (el) == G_TYPE_STRING)
            {
              opt = json_object_new ();
              json_object_set_string_member (opt, "label", json_node_get_string (el));
            }
          else if (JSON_NODE_HOLDS_OBJECT (el)
                   && json_object_has_member (json_node_get_object (el), "label"))
            opt = json_object_ref (json_node_get_object (el));
          else
            continue;
          json_array_add_object_element (out, opt);
        }
      json_object_set_array_member (req, "options", out);
    }
  if (json_object_get_boolean_member_with_default (args, "multiSelect", FALSE))
    json_object_set_boolean_member (req, "multiSelect", TRUE);
  header = json_object_get_string_member_with_default (args, "header", NULL);
  if (header != NULL)
    json_object_set_string_member (req, "header", header);
  return g_steal_pointer (&req);
}

const CwToolInfo cw_tool_ask_user = {
  .name = "ask_user",
  .description = "Ask the user a question and wait for the answer. Give options when the "
                 "answer is a choice.",
  .parameters = "{\"type\":\"object\",\"properties\":{\"question\":{\"type\":\"string\"},"
                "\"options\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}},"
                "\"multiSelect\":{\"type\":\"boolean\"},\"header\":{\"type\":\"string\"}},"
                "\"required\":[\"question\"]}",
  .read_only = TRUE,
};
