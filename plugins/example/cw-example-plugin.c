/* cw-example-plugin.c: the template for plugin authors.
 *
 * It registers one command, example_echo {text} -> {text}, which also emits an
 * "example:echo" event carrying {text}. Copy this folder to start a plugin.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <cowork.h>

#define CW_TYPE_EXAMPLE_PLUGIN (cw_example_plugin_get_type ())
G_DECLARE_FINAL_TYPE (CwExamplePlugin, cw_example_plugin, CW, EXAMPLE_PLUGIN, CwPlugin)

struct _CwExamplePlugin
{
  CwPlugin parent_instance;
  guint64 echoes;
};

G_DEFINE_FINAL_TYPE (CwExamplePlugin, cw_example_plugin, CW_TYPE_PLUGIN)

static void
cmd_example_echo (CwInvocation *invocation, gpointer user_data)
{
  CwExamplePlugin *self = CW_EXAMPLE_PLUGIN (user_data);
  g_autoptr (GError) error = NULL;
  const gchar *text = cw_invocation_get_string (invocation, "text", TRUE, &error);
  JsonObject *data, *result;

  if (text == NULL)
    {
      cw_invocation_return_error (invocation, g_steal_pointer (&error));
      return;
    }
  self->echoes++;
  data = json_object_new ();
  json_object_set_string_member (data, "text", text);
  cw_plugin_emit (CW_PLUGIN (self), "example:echo", NULL, data);

  result = json_object_new ();
  json_object_set_string_member (result, "text", text);
  cw_invocation_return_object (invocation, result);
}

static gboolean
cw_example_plugin_load (CwPlugin *plugin, GError **error)
{
  return cw_plugin_add_command (plugin, "example_echo", cmd_example_echo, error);
}

static JsonObject *
cw_example_plugin_get_health (CwPlugin *plugin)
{
  JsonObject *obj = json_object_new ();

  json_object_set_int_member (obj, "echoes", (gint64) CW_EXAMPLE_PLUGIN (plugin)->echoes);
  return obj;
}

static void
cw_example_plugin_class_init (CwExamplePluginClass *klass)
{
  CwPluginClass *plugin_class = CW_PLUGIN_CLASS (klass);

  plugin_class->load = cw_example_plugin_load;
  plugin_class->get_health = cw_example_plugin_get_health;
}

static void
cw_example_plugin_init (CwExamplePlugin *self)
{
}

CW_PLUGIN_EXPORT (cw_example_plugin_get_type)
