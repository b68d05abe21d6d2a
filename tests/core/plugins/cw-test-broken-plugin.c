/* cw-test-broken-plugin.c: plugins that fail on purpose, to show the daemon keeps running.
 * Built three times: BROKEN_START (start fails), BROKEN_DUPLICATE (registers "ping", which
 * the core owns), BROKEN_SILENT (start returns FALSE without an error).
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <cowork.h>

/* Each variant is its own module in one process, so each needs its own type name. */

static void
cmd_never (CwInvocation *invocation, gpointer user_data)
{
  cw_invocation_return_value (invocation, NULL);
}

static gboolean
broken_load (CwPlugin *plugin, GError **error)
{
#ifdef BROKEN_DUPLICATE
  if (!cw_plugin_add_command (plugin, "dupe_first", cmd_never, error))
    return FALSE;
  return cw_plugin_add_command (plugin, "ping", cmd_never, error);
#else
  return cw_plugin_add_command (plugin, BROKEN_COMMAND, cmd_never, error);
#endif
}

static gboolean
broken_start (CwPlugin *plugin, GError **error)
{
#ifdef BROKEN_START
  g_set_error (error, CW_ERROR, CW_ERROR_FAILED, "cannot reach the frobnicator");
  return FALSE;
#elif defined(BROKEN_SILENT)
  return FALSE;
#else
  return TRUE;
#endif
}

static void
broken_class_init (gpointer klass, gpointer data)
{
  CW_PLUGIN_CLASS (klass)->load = broken_load;
  CW_PLUGIN_CLASS (klass)->start = broken_start;
}

static GType
broken_get_type (void)
{
  static GType type = 0;

  if (type == 0)
    type = g_type_register_static_simple (CW_TYPE_PLUGIN, BROKEN_TYPE_NAME, sizeof (CwPluginClass),
                                          broken_class_init, sizeof (CwPlugin), NULL, 0);
  return type;
}

#ifdef BROKEN_API_VERSION
/* Built for another plugin API: the loader must refuse it. */
G_MODULE_EXPORT const guint32 cw_plugin_api_version = BROKEN_API_VERSION;
G_MODULE_EXPORT GType cw_plugin_query_type (void);
GType
cw_plugin_query_type (void)
{
  return broken_get_type ();
}
#elif defined(BROKEN_NO_VERSION)
/* Built without CW_PLUGIN_EXPORT: no API version to check. */
G_MODULE_EXPORT GType cw_plugin_query_type (void);
GType
cw_plugin_query_type (void)
{
  return broken_get_type ();
}
#else
CW_PLUGIN_EXPORT (broken_get_type)
#endif
