/* cw-agenttooltest-plugin.c: contributes agent tools as a test asks, as the integrations
 * plugin does for its connected platforms:
 *   agenttooltest_add {name, flags?, parameters?} -> {}   (the tool runs agenttooltest_run)
 *   agenttooltest_remove {name} -> {removed}
 *   agenttooltest_calls -> {calls: [params of each agenttooltest_run]}
 * agenttooltest_run answers by its `mode` argument: "text" (a string), "json" (an object),
 * "media" (an object with media entries), "error" (an error), "hang" (answers only once
 * the call is cancelled), "ignore" (answers only when the plugin stops).
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <cowork.h>

G_DECLARE_FINAL_TYPE (CwAgentToolTestPlugin, cw_agent_tool_test_plugin, CW, AGENT_TOOL_TEST_PLUGIN,
                      CwPlugin)

struct _CwAgentToolTestPlugin
{
  CwPlugin parent_instance;
  JsonArray *calls;
  GPtrArray *held; /* CwInvocation of "ignore" calls */
};

G_DEFINE_FINAL_TYPE (CwAgentToolTestPlugin, cw_agent_tool_test_plugin, CW_TYPE_PLUGIN)

static void
cmd_add (CwInvocation *invocation, gpointer user_data)
{
  CwPlugin *plugin = user_data;
  g_autoptr (GError) error = NULL;
  JsonObject *params = cw_invocation_get_params (invocation);
  const gchar *name = cw_invocation_get_string (invocation, "name", TRUE, &error);
  JsonNode *schema = json_object_get_member (params, "parameters");
  g_autofree gchar *schema_text = NULL;
  gint64 flags = json_object_get_int_member_with_default (params, "flags", 0);

  if (schema != NULL && !JSON_NODE_HOLDS_NULL (schema))
    schema_text = cw_json_to_string (schema);
  if (name == NULL
      || !cw_plugin_add_agent_tool (plugin, name, "A tool of the test plugin.", schema_text,
                                    "agenttooltest_run", (CwAgentToolFlags) flags, &error))
    {
      cw_invocation_return_error (invocation, g_steal_pointer (&error));
      return;
    }
  cw_invocation_return_object (invocation, json_object_new ());
}

static void
cmd_remove (CwInvocation *invocation, gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  const gchar *name = cw_invocation_get_string (invocation, "name", TRUE, &error);
  JsonObject *result;

  if (name == NULL)
    {
      cw_invocation_return_error (invocation, g_steal_pointer (&error));
      return;
    }
  result = json_object_new ();
  json_object_set_boolean_member (result, "removed",
                                  cw_plugin_remove_agent_tool (CW_PLUGIN (user_data), name));
  cw_invocation_return_object (invocation, result);
}

static void
cmd_calls (CwInvocation *invocation, gpointer user_data)
{
  CwAgentToolTestPlugin *self = user_data;
  JsonObject *result = json_object_new ();

  json_object_set_array_member (result, "calls", json_array_ref (self->calls));
  cw_invocation_return_object (invocation, result);
}

static JsonNode *
media_result (void)
{
  g_autoptr (GError) error = NULL;
  JsonNode *node = cw_json_from_string (
      "{\"summary\":\"made two\",\"media\":["
      "{\"mediaType\":\"image\",\"path\":\"/tmp/cat.png\",\"mimeType\":\"image/png\","
      "\"data\":\"QkFTRTY0LUNBVC1EQVRB\",\"size\":14},"
      "{\"mediaType\":\"video\",\"url\":\"https://media.example/v.mp4\"},"
      "{\"mediaType\":\"sound\",\"path\":\"/tmp/x.wav\"}]}",
      -1, &error);

  g_assert_no_error (error);
  return node;
}

static void
on_hang_cancelled (GCancellable *cancellable, gpointer invocation)
{
  cw_invocation_return_error_literal (invocation, CW_ERROR_CANCELLED, "cancelled");
}

static void
cmd_run (CwInvocation *invocation, gpointer user_data)
{
  CwAgentToolTestPlugin *self = user_data;
  JsonObject *params = cw_invocation_get_params (invocation);
  const gchar *mode = json_object_get_string_member_with_default (params, "mode", "text");
  const gchar *text = json_object_get_string_member_with_default (params, "text", "");
  JsonNode *copy = json_node_new (JSON_NODE_OBJECT);
  g_autofree gchar *out = NULL;

  json_node_set_object (copy, params);
  json_array_add_element (self->calls, copy);
  if (g_strcmp0 (mode, "error") == 0)
    cw_invocation_return_error_literal (invocation, CW_ERROR_FAILED,
                                        "the test tool failed on purpose");
  else if (g_strcmp0 (mode, "json") == 0)
    {
      JsonObject *obj = json_object_new ();
      json_object_set_boolean_member (obj, "ok", TRUE);
      json_object_set_string_member (obj, "echo", text);
      cw_invocation_return_object (invocation, obj);
    }
  else if (g_strcmp0 (mode, "media") == 0)
    cw_invocation_return_value (invocation, media_result ());
  else if (g_strcmp0 (mode, "ignore") == 0)
    g_ptr_array_add (self->held, g_object_ref (invocation));
  else if (g_strcmp0 (mode, "hang") == 0)
    g_cancellable_connect (cw_invocation_get_cancellable (invocation),
                           G_CALLBACK (on_hang_cancelled), g_object_ref (invocation),
                           g_object_unref);
  else
    {
      out = g_strdup_printf ("ran with %s", text);
      cw_invocation_return_value (invocation, json_node_init_string (json_node_alloc (), out));
    }
}

static gboolean
test_load (CwPlugin *plugin, GError **error)
{
  return cw_plugin_add_command (plugin, "agenttooltest_add", cmd_add, error)
         && cw_plugin_add_command (plugin, "agenttooltest_remove", cmd_remove, error)
         && cw_plugin_add_command (plugin, "agenttooltest_calls", cmd_calls, error)
         && cw_plugin_add_command (plugin, "agenttooltest_run", cmd_run, error);
}

static void
test_stop (CwPlugin *plugin)
{
  CwAgentToolTestPlugin *self = CW_AGENT_TOOL_TEST_PLUGIN (plugin);

  for (guint i = 0; i < self->held->len; i++)
    cw_invocation_return_error_literal (g_ptr_array_index (self->held, i), CW_ERROR_FAILED,
                                        "the test plugin stopped");
  g_ptr_array_set_size (self->held, 0);
}

static void
cw_agent_tool_test_plugin_finalize (GObject *object)
{
  g_ptr_array_unref (CW_AGENT_TOOL_TEST_PLUGIN (object)->held);
  json_array_unref (CW_AGENT_TOOL_TEST_PLUGIN (object)->calls);
  G_OBJECT_CLASS (cw_agent_tool_test_plugin_parent_class)->finalize (object);
}

static void
cw_agent_tool_test_plugin_class_init (CwAgentToolTestPluginClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = cw_agent_tool_test_plugin_finalize;
  CW_PLUGIN_CLASS (klass)->load = test_load;
  CW_PLUGIN_CLASS (klass)->stop = test_stop;
}

static void
cw_agent_tool_test_plugin_init (CwAgentToolTestPlugin *self)
{
  self->calls = json_array_new ();
  self->held = g_ptr_array_new_with_free_func (g_object_unref);
}

CW_PLUGIN_EXPORT (cw_agent_tool_test_plugin_get_type)
