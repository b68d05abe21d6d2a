/* cw-plugin-loader.c: loads GModule plugins (CW_PLUGIN_EXPORT: an API version and a GType),
 * starts them in the order their rules give and stops them in reverse.
 *
 * Crash guard: before any plugin code runs (the module's constructors at open, load(),
 * start()) the loader writes the plugin's name and step to <guard dir>/plugin-guard; when
 * every plugin has started it removes the file. A daemon that finds the file at start died
 * inside that plugin: the plugin goes into <guard dir>/plugins-skipped.json and is skipped
 * (state "skipped" in daemon_health) until `coworkd --enable-plugin NAME` or the config key
 * [plugins] enable brings it back.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cowork-host.h"
#include "cw-plugin-private.h"

#include <glib/gstdio.h>

#define MODULE_PREFIX "libcowork_plugin_"

struct _CwPluginLoader
{
  GObject parent_instance;
  CwContext *context;
  GPtrArray *plugins;  /* CwPlugin */
  GPtrArray *failures; /* JsonObject: modules that never became a plugin */
  gchar *guard_path;
  gchar *skipped_path;
  JsonObject *skipped; /* name -> {step, since} */
};

G_DEFINE_FINAL_TYPE (CwPluginLoader, cw_plugin_loader, G_TYPE_OBJECT)

static void
cw_plugin_loader_finalize (GObject *object)
{
  CwPluginLoader *self = CW_PLUGIN_LOADER (object);

  g_ptr_array_unref (self->plugins);
  g_ptr_array_unref (self->failures);
  g_free (self->guard_path);
  g_free (self->skipped_path);
  g_clear_pointer (&self->skipped, json_object_unref);
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
record_state (CwPluginLoader *self, const gchar *name, const gchar *path, const gchar *state,
              const gchar *message)
{
  JsonObject *obj = json_object_new ();

  g_warning ("plugin %s (%s) not loaded: %s", name, path, message);
  json_object_set_string_member (obj, "name", name);
  json_object_set_string_member (obj, "state", state);
  json_object_set_string_member (obj, "path", path);
  json_object_set_string_member (obj, "error", message);
  json_object_set_array_member (obj, "commands", json_array_new ());
  g_ptr_array_add (self->failures, obj);
}

static void
record_failure (CwPluginLoader *self, const gchar *name, const gchar *path, const gchar *message)
{
  record_state (self, name, path, "failed", message);
}

/* ---- crash guard -------------------------------------------------------------------- */

void
cw_plugin_loader_set_crash_guard (CwPluginLoader *self, const gchar *dir,
                                  const gchar *const *enable)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *text = NULL;
  g_autofree gchar *json = NULL;
  gboolean changed = FALSE;

  g_return_if_fail (CW_IS_PLUGIN_LOADER (self));
  self->guard_path = g_build_filename (dir, "plugin-guard", NULL);
  self->skipped_path = g_build_filename (dir, "plugins-skipped.json", NULL);
  self->skipped = json_object_new ();
  if (g_file_get_contents (self->skipped_path, &json, NULL, NULL))
    {
      g_autoptr (JsonNode) node = cw_json_from_string (json, -1, NULL);
      if (node != NULL && JSON_NODE_HOLDS_OBJECT (node))
        {
          json_object_unref (self->skipped);
          self->skipped = json_object_ref (json_node_get_object (node));
        }
    }
  /* The last daemon died inside the plugin the guard names. */
  if (g_file_get_contents (self->guard_path, &text, NULL, NULL))
    {
      g_auto (GStrv) parts = g_strsplit (g_strstrip (text), " ", 2);
      if (parts[0] != NULL && parts[1] != NULL && *parts[0] != '\0')
        {
          JsonObject *entry = json_object_new ();
          g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
          g_autofree gchar *since = g_date_time_format_iso8601 (now);

          g_warning ("plugin %s crashed the daemon during its %s: it is skipped from now on "
                     "(coworkd --enable-plugin %s brings it back)",
                     parts[0], parts[1], parts[0]);
          json_object_set_string_member (entry, "step", parts[1]);
          json_object_set_string_member (entry, "since", since);
          json_object_set_object_member (self->skipped, parts[0], entry);
          changed = TRUE;
        }
      g_unlink (self->guard_path);
    }
  for (guint i = 0; enable != NULL && enable[i] != NULL; i++)
    if (json_object_has_member (self->skipped, enable[i]))
      {
        g_message ("plugin %s enabled again", enable[i]);
        json_object_remove_member (self->skipped, enable[i]);
        changed = TRUE;
      }
  if (changed)
    {
      g_autoptr (JsonNode) node = json_node_new (JSON_NODE_OBJECT);
      g_autofree gchar *out = NULL;

      json_node_set_object (node, self->skipped);
      out = cw_json_to_string (node);
      if (!g_file_set_contents_full (self->skipped_path, out, -1, G_FILE_SET_CONTENTS_CONSISTENT,
                                     0600, &error))
        g_warning ("cannot record skipped plugins: %s", error->message);
    }
}

/* Names the plugin whose code runs next; survives a crash of the process (no fsync: a
 * process crash keeps the page cache). */
static void
guard_enter (CwPluginLoader *self, const gchar *name, const gchar *step)
{
  g_autofree gchar *text = NULL;
  g_autoptr (GError) error = NULL;

  g_message ("plugin %s: %s", name, step);
  if (self->guard_path == NULL)
    return;
  text = g_strdup_printf ("%s %s\n", name, step);
  if (!g_file_set_contents_full (self->guard_path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600,
                                 &error))
    g_warning ("cannot write the plugin guard: %s", error->message);
}

static void
guard_leave (CwPluginLoader *self)
{
  if (self->guard_path != NULL)
    g_unlink (self->guard_path);
}

static gboolean
check_skipped (CwPluginLoader *self, const gchar *name, const gchar *path)
{
  JsonObject *entry;
  g_autofree gchar *message = NULL;

  if (self->skipped == NULL || !json_object_has_member (self->skipped, name))
    return FALSE;
  entry = json_object_get_object_member (self->skipped, name);
  message = g_strdup_printf (
      "crashed the daemon during its %s (%s); start coworkd with --enable-plugin %s or set "
      "[plugins] enable=%s to try it again",
      entry != NULL ? json_object_get_string_member_with_default (entry, "step", "start") : "start",
      entry != NULL ? json_object_get_string_member_with_default (entry, "since", "?") : "?", name,
      name);
  record_state (self, name, path, "skipped", message);
  return TRUE;
}

static void
load_module (CwPluginLoader *self, const gchar *name, const gchar *path)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (CwPlugin) plugin = NULL;
  CwPluginQueryTypeFunc query = NULL;
  GModule *module;
  GType type;

  const guint32 *api_version = NULL;

  if (check_skipped (self, name, path))
    return;
  guard_enter (self, name, "load");
  /* Every symbol is bound now: a plugin with an undefined one fails here, not at its first
   * call. */
  module = g_module_open (path, G_MODULE_BIND_LOCAL);
  if (module == NULL)
    {
      record_failure (self, name, path, g_module_error ());
      return;
    }
  if (!g_module_symbol (module, CW_PLUGIN_API_VERSION_SYMBOL, (gpointer *) &api_version)
      || api_version == NULL)
    {
      record_failure (self, name, path,
                      "module does not declare its plugin API version (build it with "
                      "CW_PLUGIN_EXPORT from cowork.h)");
      g_module_close (module);
      return;
    }
  if (*api_version != CW_PLUGIN_API_VERSION)
    {
      g_autofree gchar *message = g_strdup_printf (
          "built for plugin API %u, this daemon has plugin API %u: rebuild it against cowork-%u",
          *api_version, CW_PLUGIN_API_VERSION, CW_PLUGIN_API_VERSION);
      record_failure (self, name, path, message);
      g_module_close (module);
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

gboolean
cw_plugin_loader_load_file (CwPluginLoader *self, const gchar *path, GError **error)
{
  g_autofree gchar *file = g_path_get_basename (path);
  g_autofree gchar *name = NULL;

  g_return_val_if_fail (CW_IS_PLUGIN_LOADER (self), FALSE);
  if (!g_str_has_prefix (file, MODULE_PREFIX) || !g_str_has_suffix (file, "." G_MODULE_SUFFIX))
    {
      g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS,
                   "%s is not named " MODULE_PREFIX "<name>." G_MODULE_SUFFIX, path);
      return FALSE;
    }
  name = g_strndup (file + strlen (MODULE_PREFIX),
                    strlen (file) - strlen (MODULE_PREFIX) - strlen ("." G_MODULE_SUFFIX));
  if (has_plugin (self, name))
    {
      g_set_error (error, CW_ERROR, CW_ERROR_EXISTS, "plugin %s is already loaded", name);
      return FALSE;
    }
  load_module (self, name, path);
  return TRUE;
}

void
cw_plugin_loader_load_dirs (CwPluginLoader *self, const gchar *const *dirs)
{
  for (guint i = 0; dirs != NULL && dirs[i] != NULL; i++)
    load_dir (self, dirs[i]);
}

/* ---- start order ------------------------------------------------------------------- */

static CwPlugin *
find_plugin (GPtrArray *plugins, const gchar *name)
{
  for (guint i = 0; i < plugins->len; i++)
    if (g_strcmp0 (cw_plugin_get_name (g_ptr_array_index (plugins, i)), name) == 0)
      return g_ptr_array_index (plugins, i);
  return NULL;
}

/* Whether every plugin @plugin starts after is already in @placed (or not loaded). */
static gboolean
dependencies_placed (GPtrArray *plugins, GPtrArray *placed, CwPlugin *plugin)
{
  GPtrArray *after = cw_plugin_get_start_after (plugin);

  for (guint i = 0; i < after->len; i++)
    {
      CwPlugin *other = find_plugin (plugins, g_ptr_array_index (after, i));
      if (other != NULL && other != plugin && !g_ptr_array_find (placed, other, NULL))
        return FALSE;
    }
  return TRUE;
}

/* Orders self->plugins so each starts after those it names, keeping the file-name order
 * otherwise; plugins left in a cycle are disabled. */
static void
sort_by_start_rules (CwPluginLoader *self)
{
  g_autoptr (GPtrArray) placed = g_ptr_array_new_with_free_func (g_object_unref);
  gboolean progress = TRUE;

  while (placed->len < self->plugins->len && progress)
    {
      progress = FALSE;
      for (guint i = 0; i < self->plugins->len; i++)
        {
          CwPlugin *p = g_ptr_array_index (self->plugins, i);
          if (g_ptr_array_find (placed, p, NULL) || !dependencies_placed (self->plugins, placed, p))
            continue;
          g_ptr_array_add (placed, g_object_ref (p));
          progress = TRUE;
          break;
        }
    }
  for (guint i = 0; i < self->plugins->len; i++)
    {
      CwPlugin *p = g_ptr_array_index (self->plugins, i);
      if (g_ptr_array_find (placed, p, NULL))
        continue;
      cw_plugin_runner_disable (p, "its start order rules form a cycle");
      g_ptr_array_add (placed, g_object_ref (p));
    }
  g_ptr_array_unref (self->plugins);
  self->plugins = g_steal_pointer (&placed);
}

/* ---- waiting for asynchronous starts and stops ------------------------------------ */

typedef struct
{
  gint refs;
  GAsyncResult *result;
} Wait;

static void
wait_unref (Wait *w)
{
  if (--w->refs > 0)
    return;
  g_clear_object (&w->result);
  g_free (w);
}

static void
on_wait_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Wait *w = user_data;

  w->result = g_object_ref (res);
  wait_unref (w);
  g_main_context_wakeup (NULL);
}

static gboolean
on_wait_timeout (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Runs the main context until @w has its result or @timeout_ms passed. The daemon is not in
 * its main loop yet (start) or has left it (stop), so nothing else is waiting on it. */
static gboolean
wait_for (Wait *w, gint64 timeout_ms)
{
  gboolean timed_out = FALSE;
  guint id = g_timeout_add (MAX (timeout_ms, 1), on_wait_timeout, &timed_out);

  while (w->result == NULL && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  if (!timed_out)
    g_source_remove (id);
  return w->result != NULL;
}

void
cw_plugin_loader_start_all (CwPluginLoader *self)
{
  CwConfig *config = cw_context_get_config (self->context);
  gint64 timeout_ms = cw_config_get_int (config, "plugins", "start-timeout-ms", 30000);

  sort_by_start_rules (self);
  for (guint i = 0; i < self->plugins->len; i++)
    {
      CwPlugin *plugin = g_ptr_array_index (self->plugins, i);
      g_autoptr (GError) error = NULL;
      Wait *w;

      if (cw_plugin_get_state (plugin) == CW_PLUGIN_STATE_DISABLED)
        continue;
      guard_enter (self, cw_plugin_get_name (plugin), "start");
      w = g_new0 (Wait, 1);
      w->refs = 2;
      cw_plugin_runner_start_async (plugin, on_wait_done, w);
      if (wait_for (w, timeout_ms))
        cw_plugin_runner_start_finish (plugin, w->result, &error);
      else
        {
          g_autofree gchar *message
              = g_strdup_printf ("did not start within %" G_GINT64_FORMAT " ms", timeout_ms);
          cw_plugin_runner_disable (plugin, message);
        }
      wait_unref (w);
    }
  guard_leave (self);
}

void
cw_plugin_loader_stop_all (CwPluginLoader *self)
{
  CwConfig *config = cw_context_get_config (self->context);
  gint64 timeout_ms = cw_config_get_int (config, "plugins", "stop-timeout-ms", 10000);
  gint64 deadline = g_get_monotonic_time () + timeout_ms * G_TIME_SPAN_MILLISECOND;

  for (guint i = self->plugins->len; i > 0; i--)
    {
      CwPlugin *plugin = g_ptr_array_index (self->plugins, i - 1);
      gint64 left_ms = (deadline - g_get_monotonic_time ()) / G_TIME_SPAN_MILLISECOND;
      Wait *w = g_new0 (Wait, 1);

      w->refs = 2;
      cw_plugin_runner_stop_async (plugin, on_wait_done, w);
      if (wait_for (w, left_ms))
        cw_plugin_runner_stop_finish (plugin, w->result);
      else
        g_warning ("plugin %s did not stop within the %" G_GINT64_FORMAT " ms allowed",
                   cw_plugin_get_name (plugin), timeout_ms);
      wait_unref (w);
    }
}

CwPlugin *
cw_plugin_loader_get_plugin (CwPluginLoader *self, guint index)
{
  g_return_val_if_fail (CW_IS_PLUGIN_LOADER (self), NULL);
  return index < self->plugins->len ? g_ptr_array_index (self->plugins, index) : NULL;
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
