/* cw-tool-walk.c: the directory walk glob and grep share. It skips version-control and
 * dependency directories and never follows symlinked directories (no loops, no escapes).
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-tool-walk.h"

static const gchar *const skipped[]
    = { ".git", "node_modules", ".hg", ".svn", "__pycache__", NULL };

static gint
compare_names (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(const gchar *const *) a, *(const gchar *const *) b);
}

static gboolean
walk (const gchar *root, const gchar *rel, CwToolWalkFunc func, gpointer user_data, guint *budget,
      GCancellable *cancellable)
{
  g_autofree gchar *abs = rel != NULL ? g_build_filename (root, rel, NULL) : g_strdup (root);
  g_autoptr (GDir) dir = g_dir_open (abs, 0, NULL);
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const gchar *name;

  if (dir == NULL)
    return TRUE;
  while ((name = g_dir_read_name (dir)) != NULL)
    g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, compare_names);
  for (guint i = 0; i < names->len; i++)
    {
      const gchar *n = g_ptr_array_index (names, i);
      g_autofree gchar *child_rel = rel != NULL ? g_build_filename (rel, n, NULL) : g_strdup (n);
      g_autofree gchar *child = g_build_filename (root, child_rel, NULL);

      if (g_cancellable_is_cancelled (cancellable) || *budget == 0)
        return FALSE;
      (*budget)--;
      if (g_file_test (child, G_FILE_TEST_IS_SYMLINK))
        {
          if (!g_file_test (child, G_FILE_TEST_IS_DIR) && !func (child_rel, child, user_data))
            return FALSE;
          continue;
        }
      if (g_file_test (child, G_FILE_TEST_IS_DIR))
        {
          if (g_strv_contains (skipped, n))
            continue;
          if (!walk (root, child_rel, func, user_data, budget, cancellable))
            return FALSE;
        }
      else if (!func (child_rel, child, user_data))
        return FALSE;
    }
  return TRUE;
}

void
cw_tool_walk (const gchar *root, CwToolWalkFunc func, gpointer user_data, GCancellable *cancellable)
{
  guint budget = 100000;

  walk (root, NULL, func, user_data, &budget, cancellable);
}
