/* cw-test-http-plugin.c: the shared HTTP server in a real daemon. No route until the
 * command httptest_listen adds "/httptest/" with '*' (answers {path}); it returns {url}.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <cowork.h>

G_DECLARE_FINAL_TYPE (CwTestHttpPlugin, cw_test_http_plugin, CW, TEST_HTTP_PLUGIN, CwPlugin)

struct _CwTestHttpPlugin
{
  CwPlugin parent_instance;
};

G_DEFINE_FINAL_TYPE (CwTestHttpPlugin, cw_test_http_plugin, CW_TYPE_PLUGIN)

static void
on_request (CwHttpRequest *request, gpointer user_data)
{
  JsonObject *o = json_object_new ();
  JsonNode *node = json_node_new (JSON_NODE_OBJECT);

  json_object_set_string_member (o, "path", cw_http_request_get_path (request));
  json_node_take_object (node, o);
  cw_http_request_respond_json (request, 200, node);
}

static void
cmd_listen (CwInvocation *invocation, gpointer user_data)
{
  CwPlugin *plugin = user_data;
  g_autoptr (GError) error = NULL;
  JsonObject *result;

  if (!cw_plugin_add_http_route (plugin, "/httptest/*", on_request, NULL, NULL, &error))
    {
      cw_invocation_return_error (invocation, g_steal_pointer (&error));
      return;
    }
  result = json_object_new ();
  json_object_set_string_member (result, "url",
                                 cw_context_get_http_base_url (cw_plugin_get_context (plugin)));
  cw_invocation_return_object (invocation, result);
}

static gboolean
http_load (CwPlugin *plugin, GError **error)
{
  return cw_plugin_add_command (plugin, "httptest_listen", cmd_listen, error);
}

static void
cw_test_http_plugin_class_init (CwTestHttpPluginClass *klass)
{
  CW_PLUGIN_CLASS (klass)->load = http_load;
}

static void
cw_test_http_plugin_init (CwTestHttpPlugin *self)
{
}

CW_PLUGIN_EXPORT (cw_test_http_plugin_get_type)
