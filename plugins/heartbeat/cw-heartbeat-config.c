/* cw-heartbeat-config.c: HeartbeatConfig (contract §5) and the check-in settings next to it.
 *
 * {enabled=true, intervalMs=60000 (min 1000), systemEventsEnabled=true, cronEnabled=true,
 *  checkInEnabled=false, checkInPrompt=<default>, checkInIntervalMs=3600000 (min 60000),
 *  checkInSessionId=null, checkInWorkingDirectory=null}
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-heartbeat-plugin.h"

#define DAY_MS     G_GINT64_CONSTANT (86400000)
#define PROMPT_MAX 10000
#define DEFAULT_CHECK_IN_PROMPT                                                                    \
  "Heartbeat check-in: look at what is pending in this workspace and report anything that "        \
  "needs attention. Answer briefly; say \"nothing to report\" if there is nothing."

typedef enum
{
  KIND_BOOLEAN,
  KIND_INT,
  KIND_STRING, /* "" sets the default back */
  KIND_PATH,   /* an absolute path; "" clears it */
  KIND_ID,     /* "" clears it */
} Kind;

static const struct
{
  const gchar *name;
  Kind kind;
  gint64 min; /* KIND_INT */
} members[] = {
  { "enabled", KIND_BOOLEAN, 0 },
  { "intervalMs", KIND_INT, 1000 },
  { "systemEventsEnabled", KIND_BOOLEAN, 0 },
  { "cronEnabled", KIND_BOOLEAN, 0 },
  { "checkInEnabled", KIND_BOOLEAN, 0 },
  { "checkInPrompt", KIND_STRING, 0 },
  { "checkInIntervalMs", KIND_INT, 60000 },
  { "checkInSessionId", KIND_ID, 0 },
  { "checkInWorkingDirectory", KIND_PATH, 0 },
};

JsonObject *
cw_heartbeat_config_new_default (void)
{
  JsonObject *config = json_object_new ();

  json_object_set_boolean_member (config, "enabled", TRUE);
  json_object_set_int_member (config, "intervalMs", 60000);
  json_object_set_boolean_member (config, "systemEventsEnabled", TRUE);
  json_object_set_boolean_member (config, "cronEnabled", TRUE);
  json_object_set_boolean_member (config, "checkInEnabled", FALSE);
  json_object_set_string_member (config, "checkInPrompt", DEFAULT_CHECK_IN_PROMPT);
  json_object_set_int_member (config, "checkInIntervalMs", 3600000);
  json_object_set_null_member (config, "checkInSessionId");
  json_object_set_null_member (config, "checkInWorkingDirectory");
  return config;
}

static gboolean
merge_member (JsonObject *out, const gchar *name, Kind kind, gint64 min, JsonNode *node,
              GError **error)
{
  GType type = JSON_NODE_HOLDS_VALUE (node) ? json_node_get_value_type (node) : G_TYPE_INVALID;
  const gchar *text;

  switch (kind)
    {
      case KIND_BOOLEAN:
        if (type != G_TYPE_BOOLEAN)
          break;
        json_object_set_boolean_member (out, name, json_node_get_boolean (node));
        return TRUE;
      case KIND_INT:
        {
          gdouble value;
          if (type != G_TYPE_INT64 && type != G_TYPE_DOUBLE)
            break;
          value = json_node_get_double (node);
          if (value != (gdouble) (gint64) value || value < min || value > DAY_MS)
            break;
          json_object_set_int_member (out, name, (gint64) value);
          return TRUE;
        }
      case KIND_STRING:
      case KIND_PATH:
      case KIND_ID:
        if (type != G_TYPE_STRING)
          break;
        text = json_node_get_string (node);
        if (*text == '\0' && kind == KIND_STRING)
          {
            json_object_set_string_member (out, name, DEFAULT_CHECK_IN_PROMPT);
            return TRUE;
          }
        if (*text == '\0')
          {
            json_object_set_null_member (out, name);
            return TRUE;
          }
        if (g_utf8_strlen (text, -1) > PROMPT_MAX
            || (kind == KIND_PATH && !g_path_is_absolute (text)))
          break;
        json_object_set_string_member (out, name, text);
        return TRUE;
    }
  if (kind == KIND_BOOLEAN)
    g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS, "%s must be true or false", name);
  else if (kind == KIND_INT)
    g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS,
                 "%s must be a whole number of milliseconds from %" G_GINT64_FORMAT
                 " to %" G_GINT64_FORMAT,
                 name, min, DAY_MS);
  else if (kind == KIND_PATH)
    g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS, "%s must be an absolute path", name);
  else
    g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS,
                 "%s must be a string of at most %d characters", name, PROMPT_MAX);
  return FALSE;
}

JsonObject *
cw_heartbeat_config_merge (JsonObject *config, JsonObject *input, GError **error)
{
  g_autoptr (JsonObject) out = json_object_new ();

  for (guint i = 0; i < G_N_ELEMENTS (members); i++)
    {
      JsonNode *old = json_object_get_member (config, members[i].name);
      JsonNode *node = input != NULL ? json_object_get_member (input, members[i].name) : NULL;

      json_object_set_member (out, members[i].name, json_node_copy (old));
      if (node == NULL || JSON_NODE_HOLDS_NULL (node))
        continue;
      if (!merge_member (out, members[i].name, members[i].kind, members[i].min, node, error))
        return NULL;
    }
  return g_steal_pointer (&out);
}

gboolean
cw_heartbeat_config_get_boolean (JsonObject *config, const gchar *name)
{
  return json_object_get_boolean_member_with_default (config, name, FALSE);
}

gint64
cw_heartbeat_config_get_int (JsonObject *config, const gchar *name)
{
  return json_object_get_int_member_with_default (config, name, 0);
}

const gchar *
cw_heartbeat_config_get_string (JsonObject *config, const gchar *name)
{
  JsonNode *node = json_object_get_member (config, name);

  return node != NULL && json_node_get_value_type (node) == G_TYPE_STRING
             ? json_node_get_string (node)
             : NULL;
}
