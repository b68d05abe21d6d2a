/* hello.c: a plugin built outside the coworkd tree, against the installed SDK only.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <cowork.h>

#define HELLO_TYPE_PLUGIN (hello_plugin_get_type ())
G_DECLARE_FINAL_TYPE (HelloPlugin, hello_plugin, HELLO, PLUGIN, CwPlugin)

struct _HelloPlugin
{
  CwPlugin parent_instance;
};

G_DEFINE_FINAL_TYPE (HelloPlugin, hello_plugin, CW_TYPE_PLUGIN)

static void
cmd_hello (CwInvocation *invocation, gpointer user_data)
{
  JsonObject *result = json_object_new ();
  g_autofree gchar *greeting
      = g_strdup_printf ("hello, %s", cw_caller_get_actor (cw_invocation_get_caller (invocation)));

  json_object_set_string_member (result, "greeting", greeting);
  cw_invocation_return_object (invocation, result);
}

static gboolean
hello_load (CwPlugin *plugin, GError **error)
{
  return cw_plugin_add_command_full (plugin, "hello_greet", CW_COMMAND_FLAG_READ_ONLY, cmd_hello,
                                     error);
}

static void
hello_plugin_class_init (HelloPluginClass *klass)
{
  CW_PLUGIN_CLASS (klass)->load = hello_load;
}

static void
hello_plugin_init (HelloPlugin *self)
{
}

CW_PLUGIN_EXPORT (hello_plugin_get_type)
