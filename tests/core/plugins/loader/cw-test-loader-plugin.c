/* cw-test-loader-plugin.c: plugins that test the loader, built once per variant:
 *   LOADER_ORDER_NAME  starts (asynchronously with LOADER_ASYNC_MS) and emits
 *                      loader:started {name}; LOADER_AFTER names a plugin it starts after
 *   LOADER_API         exports another plugin API version
 *   LOADER_UNDEFINED   calls a function nothing defines
 *   LOADER_CRASH       aborts in start() while COWORK_TEST_LOADER_CRASH is set
 *   LOADER_HANG        never finishes its asynchronous start
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <cowork.h>

#include <stdlib.h>

#ifdef LOADER_UNDEFINED
extern int cw_test_nothing_defines_this (void);
#endif

static void
emit_started (CwPlugin *plugin)
{
  JsonObject *data = json_object_new ();

  json_object_set_string_member (data, "name", cw_plugin_get_name (plugin));
  cw_plugin_emit (plugin, "loader:started", NULL, data);
}

static gboolean
loader_load (CwPlugin *plugin, GError **error)
{
#ifdef LOADER_AFTER
  cw_plugin_add_start_after (plugin, LOADER_AFTER);
#endif
  return TRUE;
}

static gboolean
loader_start (CwPlugin *plugin, GError **error)
{
#ifdef LOADER_UNDEFINED
  return cw_test_nothing_defines_this () == 0;
#endif
#ifdef LOADER_CRASH
  if (g_getenv ("COWORK_TEST_LOADER_CRASH") != NULL)
    abort ();
#endif
  emit_started (plugin);
  return TRUE;
}

#ifdef LOADER_ASYNC_MS
static gboolean
on_started (gpointer task)
{
  emit_started (g_task_get_source_object (task));
  g_task_return_boolean (task, TRUE);
  g_object_unref (task);
  return G_SOURCE_REMOVE;
}
#endif

#if defined(LOADER_ASYNC_MS) || defined(LOADER_HANG)

static void
loader_start_async (CwPlugin *plugin, GCancellable *cancellable, GAsyncReadyCallback callback,
                    gpointer user_data)
{
  GTask *task = g_task_new (plugin, cancellable, callback, user_data);

#ifdef LOADER_HANG
  /* Never answers; the loader gives up after [plugins] start-timeout-ms. */
  g_object_set_data_full (G_OBJECT (plugin), "hung-task", task, g_object_unref);
#else
  g_timeout_add (LOADER_ASYNC_MS, on_started, task);
#endif
}

static gboolean
loader_start_finish (CwPlugin *plugin, GAsyncResult *result, GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}
#endif

static void
loader_class_init (gpointer klass, gpointer data)
{
  CW_PLUGIN_CLASS (klass)->load = loader_load;
  CW_PLUGIN_CLASS (klass)->start = loader_start;
#if defined(LOADER_ASYNC_MS) || defined(LOADER_HANG)
  CW_PLUGIN_CLASS (klass)->start_async = loader_start_async;
  CW_PLUGIN_CLASS (klass)->start_finish = loader_start_finish;
#endif
}

static GType
loader_get_type (void)
{
  static GType type = 0;

  if (type == 0)
    type = g_type_register_static_simple (CW_TYPE_PLUGIN, LOADER_TYPE_NAME, sizeof (CwPluginClass),
                                          loader_class_init, sizeof (CwPlugin), NULL, 0);
  return type;
}

#ifdef LOADER_API
G_MODULE_EXPORT const guint32 cw_plugin_api_version = LOADER_API;
G_MODULE_EXPORT GType cw_plugin_query_type (void);
GType
cw_plugin_query_type (void)
{
  return loader_get_type ();
}
#else
CW_PLUGIN_EXPORT (loader_get_type)
#endif
