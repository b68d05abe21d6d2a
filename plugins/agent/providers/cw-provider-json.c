/* cw-provider-json.c: tolerant JSON accessors for provider payloads, which leave out,
 * null or retype fields freely.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-provider-wire.h"

#include <string.h>

JsonNode *
cw_provider_json_parse (const gchar *data, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  JsonNode *node = cw_json_from_string (data, -1, &local_error);

  if (node == NULL)
    {
      g_set_error (error, CW_PROVIDER_ERROR, CW_PROVIDER_ERROR_STREAM,
                   "malformed JSON in stream: %s",
                   local_error != NULL ? local_error->message : "empty");
      return NULL;
    }
  return node;
}

JsonObject *
cw_provider_json_parse_args (const gchar *args_json, const gchar *tool_name, GError **error)
{
  g_autoptr (JsonNode) node = NULL;

  if (args_json == NULL || *args_json == '\0')
    return json_object_new ();
  node = cw_json_from_string (args_json, -1, NULL);
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    {
      g_set_error (error, CW_PROVIDER_ERROR, CW_PROVIDER_ERROR_STREAM,
                   "arguments of tool call %s are not a JSON object", tool_name);
      return NULL;
    }
  return json_object_ref (json_node_get_object (node));
}

GBytes *
cw_provider_json_to_bytes (JsonBuilder *builder)
{
  g_autoptr (JsonNode) root = json_builder_get_root (builder);
  gsize len = 0;
  gchar *text = json_to_string (root, FALSE);

  len = strlen (text);
  return g_bytes_new_take (text, len);
}

static JsonNode *
cw_provider_json_member (JsonObject *object, const gchar *member)
{
  if (object == NULL || member == NULL)
    return NULL;
  return json_object_get_member (object, member);
}

const gchar *
cw_provider_json_string (JsonObject *object, const gchar *member)
{
  JsonNode *node = cw_provider_json_member (object, member);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node)
      || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

JsonObject *
cw_provider_json_object (JsonObject *object, const gchar *member)
{
  JsonNode *node = cw_provider_json_member (object, member);
  return node != NULL && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
}

JsonArray *
cw_provider_json_array (JsonObject *object, const gchar *member)
{
  JsonNode *node = cw_provider_json_member (object, member);
  return node != NULL && JSON_NODE_HOLDS_ARRAY (node) ? json_node_get_array (node) : NULL;
}

gint64
cw_provider_json_int (JsonObject *object, const gchar *member, gint64 fallback)
{
  JsonNode *node = cw_provider_json_member (object, member);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node))
    return fallback;
  switch (json_node_get_value_type (node))
    {
      case G_TYPE_INT64:
        return json_node_get_int (node);
      case G_TYPE_DOUBLE:
        return (gint64) json_node_get_double (node);
      case G_TYPE_STRING:
        /* Gemini's proto-JSON may encode int64 as strings. */
        return g_ascii_strtoll (json_node_get_string (node), NULL, 10);
      default:
        return fallback;
    }
}

JsonObject *
cw_provider_json_replay (JsonObject *message, const gchar *api)
{
  return cw_provider_json_object (cw_provider_json_object (message, "replayState"), api);
}

void
cw_provider_turns_open (CwProviderTurns *t, const gchar *role)
{
  if (g_strcmp0 (t->open_role, role) == 0)
    return;
  cw_provider_turns_close (t);
  json_builder_begin_object (t->b);
  json_builder_set_member_name (t->b, "role");
  json_builder_add_string_value (t->b, role);
  json_builder_set_member_name (t->b, t->member);
  json_builder_begin_array (t->b);
  t->open_role = role;
}

void
cw_provider_turns_close (CwProviderTurns *t)
{
  if (t->open_role == NULL)
    return;
  json_builder_end_array (t->b);
  json_builder_end_object (t->b);
  t->open_role = NULL;
}
