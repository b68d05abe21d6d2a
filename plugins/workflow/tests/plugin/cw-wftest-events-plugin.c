/* cw-wftest-events-plugin.c: emits any event a workflow test asks for, as the integrations
 * plugin would emit its integration:* events: wftestevents_emit {type, data} -> {seq}.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <cowork.h>

G_DECLARE_FINAL_TYPE (CwWftestEventsPlugin, cw_wftest_events_plugin, CW, WFTEST_EVENTS_PLUGIN,
                      CwPlugin)

struct _CwWftestEventsPlugin
{
  CwPlugin parent_instance;
};

G_DEFINE_FINAL_TYPE (CwWftestEventsPlugin, cw_wftest_events_plugin, CW_TYPE_PLUGIN)

static void
cmd_emit (CwInvocation *invocation, gpointer user_data)
{
  CwPlugin *plugin = user_data;
  g_autoptr (GError) error = NULL;
  const gchar *type = cw_invocation_get_string (invocation, "type", TRUE, &error);
  JsonNode *data = json_object_get_member (cw_invocation_get_params (invocation), "data");
  JsonObject *result;
  gint64 seq;

  if (type == NULL)
    {
      cw_invocation_return_error (invocation, g_steal_pointer (&error));
      return;
    }
  seq = cw_plugin_emit (plugin, type, NULL,
                        data != NULL && JSON_NODE_HOLDS_OBJECT (data)
                            ? json_object_ref (json_node_get_object (data))
                            : json_object_new ());
  /* stored before the answer */
  cw_event_bus_get_cursor (cw_context_get_event_bus (cw_plugin_get_context (plugin)));
  result = json_object_new ();
  json_object_set_int_member (result, "seq", seq);
  cw_invocation_return_object (invocation, result);
}

static gboolean
events_load (CwPlugin *plugin, GError **error)
{
  return cw_plugin_add_command (plugin, "wftestevents_emit", cmd_emit, error);
}

static void
cw_wftest_events_plugin_class_init (CwWftestEventsPluginClass *klass)
{
  CW_PLUGIN_CLASS (klass)->load = events_load;
}

static void
cw_wftest_events_plugin_init (CwWftestEventsPlugin *self)
{
}

CW_PLUGIN_EXPORT (cw_wftest_events_plugin_get_type)
