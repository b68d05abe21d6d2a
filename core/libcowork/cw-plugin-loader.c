/* cw-plugin-loader.c: loads GModule plugins that export cw_plugin_query_type().
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cowork-host.h"
#include "cw-plugin-private.h"

#define MODULE_PREFIX "libcowork_plugin_"

struct _CwPluginLoader
{
  GObject parent_instance;
  CwContext *context;
  GPtrArray *plugins;  /* CwPlugin */
  GPtrArray *failures; /* JsonObject: modules that never became a plugin */
};

G_DEFINE_FINAL_TYPE (CwPluginLoader, cw_plugin_loader, G_TYPE_OBJECT)

static void
cw_plugin_loader_finalize (GObject *object)
{
  CwPluginLoader *self = CW_PLUGIN_LOADER (object);

  g_ptr_array_unref (self->plugins);
  g_ptr_array_unref (self->failures);
  g_clear_object (&self->context);
  G_OBJECT_CLASS (cw_plugin_loader_parent_class)->finalize (object);
}

static void
cw_plugin_loader_class_init (CwPluginLoaderClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = cw_plugin_loader_finalize;
}

static void
cw_plugin_loader_init (CwPluginLoader *self)
{
  self->plugins = g_ptr_array_new_with_free_func (g_object_unref);
  self->failures = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
}

CwPluginLoader *
cw_plugin_loader_new (CwContext *context)
{
  CwPluginLoader *self = g_object_new (CW_TYPE_PLUGIN_LOADER, NULL);

  self->context = g_object_ref (context);
  return self;
}

static gboolean
has_plugin (CwPluginLoader *self, const gchar *name)
{
  for (guint i = 0; i < self->plugins->len; i++)
    if (g_strcmp0 (cw_plugin_get_name (g_ptr_array_index (self->plugins, i)), name) == 0)
      return TRUE;
  for (guint i = 0; i < self->failures->len; i++)
    if (g_strcmp0 (json_object_get_string_member (g_ptr_array_index (self->failures, i), "name"),
                   name)
        == 0)
      return TRUE;
  return FALSE;
}

static void
record_failure (CwPluginLoader *self, const gchar *name, const gchar *path, const gchar *message)
{
  JsonObject *obj = json_object_new ();

  g_warning ("plugin %s (%s) not loaded: %s", name, path, message);
  json_object_set_string_member (obj, "name", name);
  json_object_set_string_member (obj, "state", "failed");
  json_object_set_string_member (obj, "path", path);
  json_object_set_string_member (obj, "error", message);
  json_object_set_array_member (obj, "commands", json_array_new ());
  g_ptr_array_add (self->failures, obj);
}

static void
load_module (CwPluginLoader *self, const gchar *name, const gchar *path)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (CwPlugin) plugin = NULL;
  CwPluginQueryTypeFunc query = NULL;
  GModule *module;
  GType type;

  module = g_module_open (path, G_MODULE_BIND_LAZY | G_MODULE_BIND_LOCAL);
  if (module == NULL)
    {
      record_failure (self, name, path, g_module_error ());
      return;
    }
  if (!g_module_symbol (module, CW_PLUGIN_QUERY_TYPE_SYMBOL, (gpointer *) &query) || query == NULL)
    {
      record_failure (self, name, path, "module does not export " CW_PLUGIN_QUERY_TYPE_SYMBOL);
      g_module_close (module);
      return;
    }
  /* GTypes cannot be unregistered: the module stays for the life of the process. */
  g_module_make_resident (module);
  type = query ();
  if (!g_type_is_a (type, CW_TYPE_PLUGIN) || G_TYPE_IS_ABSTRACT (type))
    {
      record_failure (self, name, path, "exported type is not a concrete CwPlugin");
      return;
    }
  plugin = g_object_new (type, NULL);
  cw_plugin_setup (plugin, name, path, self->context);
  g_ptr_array_add (self->plugins, g_object_ref (plugin));
  if (!cw_plugin_runner_load (plugin, &error))
    return;
  g_debug ("plugin %s loaded from %s", name, path);
}

static gint
compare_file_names (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(const gchar *const *) a, *(const gchar *const *) b);
}

static void
load_dir (CwPluginLoader *self, const gchar *dir)
{
  g_autoptr (GDir) d = NULL;
  g_autoptr (GPtrArray) files = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GError) error = NULL;
  const gchar *file;

  d = g_dir_open (dir, 0, &error);
  if (d == NULL)
    {
      g_debug ("plugin directory %s: %s", dir, error->message);
      return;
    }
  while ((file = g_dir_read_name (d)) != NULL)
    if (g_str_has_prefix (file, MODULE_PREFIX) && g_str_has_suffix (file, "." G_MODULE_SUFFIX))
      g_ptr_array_add (files, g_strdup (file));
  /* A stable order makes start-up and health reports reproducible. */
  g_ptr_array_sort (files, compare_file_names);
  for (guint i = 0; i < files->len; i++)
    {
      const gchar *f = g_ptr_array_index (files, i);
      g_autofree gchar *name
          = g_strndup (f + strlen (MODULE_PREFIX),
                       strlen (f) - strlen (MODULE_PREFIX) - strlen ("." G_MODULE_SUFFIX));
      g_autofree gchar *path = g_build_filename (dir, f, NULL);

      if (has_plugin (self, name))
        {
          g_debug ("plugin %s in %s ignored: already loaded", name, dir);
          continue;
        }
      load_module (self, name, path);
    }
}

void
cw_plugin_loader_load_dirs (CwPluginLoader *self, const gchar *const *dirs)
{
  for (guint i = 0; dirs != NULL && dirs[i] != NULL; i++)
    load_dir (self, dirs[i]);
}

void
cw_plugin_loader_start_all (CwPluginLoader *self)
{
  for (guint i = 0; i < self->plugins->len; i++)
    {
      g_autoptr (GError) error = NULL;
      cw_plugin_runner_start (g_ptr_array_index (self->plugins, i), &error);
    }
}

void
cw_plugin_loader_stop_all (CwPluginLoader *self)
{
  for (guint i = self->plugins->len; i > 0; i--)
    cw_plugin_runner_stop (g_ptr_array_index (self->plugins, i - 1));
}

JsonArray *
cw_plugin_loader_get_health (CwPluginLoader *self)
{
  JsonArray *arr = json_array_new ();

  for (guint i = 0; i < self->plugins->len; i++)
    json_array_add_object_element (
        arr, cw_plugin_runner_get_health (g_ptr_array_index (self->plugins, i)));
  for (guint i = 0; i < self->failures->len; i++)
    json_array_add_object_element (arr, json_object_ref (g_ptr_array_index (self->failures, i)));
  return arr;
}

guint
cw_plugin_loader_count_failed (CwPluginLoader *self)
{
  guint n = self->failures->len;

  for (guint i = 0; i < self->plugins->len; i++)
    if (cw_plugin_get_state (g_ptr_array_index (self->plugins, i)) == CW_PLUGIN_STATE_DISABLED)
      n++;
  return n;
}
