/* cw-ctl-args.c: the values of coworkctl's subcommand options, and helpers of the
 * subcommands.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "cw-ctl.h"

#include <glib/gi18n.h>

gboolean
cw_ctl_parse_int (const gchar *option, const gchar *text, gint64 min, gint64 max, gint64 *out,
                  GError **error)
{
  gint64 value;

  if (text == NULL || !g_ascii_string_to_signed (text, 10, min, max, &value, NULL))
    {
      g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS,
                   _ ("%s takes a whole number from %lld to %lld, not '%s'"), option,
                   (long long) min, (long long) max, text != NULL ? text : "");
      return FALSE;
    }
  *out = value;
  return TRUE;
}

JsonNode *
cw_ctl_call (CwCtl *ctl, const gchar *command, JsonObject *params, guint timeout_s, GError **error)
{
  g_autoptr (CwClient) client = cw_ctl_connect_socket (ctl, error);
  g_autoptr (JsonNode) node = json_node_new (JSON_NODE_OBJECT);

  json_node_take_object (node, params != NULL ? params : json_object_new ());
  if (client == NULL)
    return NULL;
  cw_client_set_timeout (client, timeout_s);
  return cw_client_call (client, command, node, error);
}

void
cw_ctl_print_json (JsonNode *node)
{
  g_autofree gchar *text = cw_json_to_string (node);

  g_print ("%s\n", text);
}

const gchar *
cw_ctl_json_string (JsonObject *obj, const gchar *name, const gchar *fallback)
{
  JsonNode *node = json_object_get_member (obj, name);

  if (node == NULL || json_node_get_value_type (node) != G_TYPE_STRING)
    return fallback;
  return json_node_get_string (node);
}

gchar *
cw_ctl_format_time (JsonObject *obj, const gchar *name)
{
  JsonNode *node = json_object_get_member (obj, name);
  g_autoptr (GDateTime) dt = NULL;

  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return g_strdup ("-");
  dt = g_date_time_new_from_unix_local (json_node_get_int (node) / 1000);
  return dt != NULL ? g_date_time_format (dt, "%Y-%m-%d %H:%M") : g_strdup ("?");
}
