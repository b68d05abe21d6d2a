/* cw-tool-ls.c: ls {path?}: the entries of one directory, directories marked with '/'.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-tool.h"

static gint
compare_names (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(const gchar *const *) a, *(const gchar *const *) b);
}

static gchar *
ls_run (const CwToolEnv *env, JsonObject *args, GCancellable *cancellable, CwToolOutcome *outcome,
        GError **error)
{
  const gchar *path = cw_tool_arg_string (args, "path", FALSE, error);
  g_autofree gchar *abs = NULL;
  g_autoptr (GDir) dir = NULL;
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  GString *out = g_string_new (NULL);
  const gchar *name;

  if (error != NULL && *error != NULL)
    return NULL;
  abs = cw_tool_resolve_path (env, path);
  dir = g_dir_open (abs, 0, error);
  if (dir == NULL)
    {
      g_string_free (out, TRUE);
      return NULL;
    }
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree gchar *child = g_build_filename (abs, name, NULL);
      gboolean is_dir = g_file_test (child, G_FILE_TEST_IS_DIR);
      g_ptr_array_add (names, g_strconcat (name, is_dir ? "/" : "", NULL));
    }
  g_ptr_array_sort (names, compare_names);
  for (guint i = 0; i < names->len; i++)
    g_string_append_printf (out, "%s\n", (const gchar *) g_ptr_array_index (names, i));
  if (names->len == 0)
    g_string_append (out, "(empty directory)");
  return g_string_free (out, FALSE);
}

const CwToolInfo cw_tool_ls = {
  .name = "ls",
  .description = "List a directory (default: the working directory).",
  .parameters = "{\"type\":\"object\",\"properties\":{\"path\":{\"type\":\"string\"}}}",
  .permission_type = "file_read",
  .resource_arg = "path",
  .resource_is_path = TRUE,
  .read_only = TRUE,
  .run_sync = ls_run,
};
