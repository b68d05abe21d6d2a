/* cw-tool-walk.c: the directory walk glob and grep share. It skips version-control and
 * dependency directories, opens every directory relative to its parent without following
 * symlinks (no loops, no escapes) and reports a symlinked file only when its target lies
 * within the root.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-tool-walk.h"
#include "cw-tool-fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

static const gchar *const skipped[]
    = { ".git", "node_modules", ".hg", ".svn", "__pycache__", NULL };

typedef struct
{
  const gchar *root;
  const gchar *start; /* real path of the walked directory */
  CwToolWalkFunc func;
  gpointer user_data;
  guint budget;
  gint outside;
  GCancellable *cancellable;
} Walk;

static gint
compare_names (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(const gchar *const *) a, *(const gchar *const *) b);
}

static GPtrArray *
sorted_names (int fd)
{
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  int dup_fd = dup (fd);
  DIR *dir = dup_fd >= 0 ? fdopendir (dup_fd) : NULL;
  struct dirent *ent;

  if (dir == NULL)
    {
      if (dup_fd >= 0)
        close (dup_fd);
      return names;
    }
  while ((ent = readdir (dir)) != NULL)
    if (g_strcmp0 (ent->d_name, ".") != 0 && g_strcmp0 (ent->d_name, "..") != 0)
      g_ptr_array_add (names, g_strdup (ent->d_name));
  closedir (dir);
  g_ptr_array_sort (names, compare_names);
  return names;
}

/* A symlink: its target if that is a regular file within the root, else NULL. */
static gchar *
link_target (Walk *w, const gchar *rel)
{
  g_autofree gchar *abs = g_build_filename (w->start, rel, NULL);
  g_autofree gchar *real = cw_tool_fs_real_path (abs);
  struct stat st;

  if (!cw_tool_fs_within (real, w->root))
    {
      w->outside++;
      return NULL;
    }
  if (stat (real, &st) != 0 || !S_ISREG (st.st_mode))
    return NULL;
  return g_steal_pointer (&real);
}

static gboolean
walk_dir (Walk *w, int fd, const gchar *rel)
{
  g_autoptr (GPtrArray) names = sorted_names (fd);

  for (guint i = 0; i < names->len; i++)
    {
      const gchar *n = g_ptr_array_index (names, i);
      g_autofree gchar *child_rel = rel != NULL ? g_build_filename (rel, n, NULL) : g_strdup (n);
      CwToolWalkEntry entry = { child_rel, fd, n, NULL };
      struct stat st;

      if (g_cancellable_is_cancelled (w->cancellable) || w->budget == 0)
        return FALSE;
      w->budget--;
      if (fstatat (fd, n, &st, AT_SYMLINK_NOFOLLOW) != 0)
        continue;
      if (S_ISLNK (st.st_mode))
        {
          g_autofree gchar *real = link_target (w, child_rel);
          entry.real = real;
          if (real != NULL && !w->func (&entry, w->user_data))
            return FALSE;
        }
      else if (S_ISDIR (st.st_mode))
        {
          int child;
          gboolean go_on;

          if (g_strv_contains (skipped, n))
            continue;
          child = openat (fd, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
          if (child < 0)
            continue;
          go_on = walk_dir (w, child, child_rel);
          close (child);
          if (!go_on)
            return FALSE;
        }
      else if (S_ISREG (st.st_mode) && !w->func (&entry, w->user_data))
        return FALSE;
    }
  return TRUE;
}

gint
cw_tool_walk (const gchar *root, const gchar *abs, CwToolWalkFunc func, gpointer user_data,
              GCancellable *cancellable, GError **error)
{
  g_autofree gchar *start = cw_tool_fs_real_path (abs);
  Walk w = { root, start, func, user_data, 100000, 0, cancellable };
  int fd = cw_tool_fs_open_dir (root, abs, error);

  if (fd < 0)
    return -1;
  walk_dir (&w, fd, NULL);
  close (fd);
  return w.outside;
}

int
cw_tool_walk_entry_open (const CwToolWalkEntry *entry, GError **error)
{
  g_autofree gchar *base = NULL;
  int dirfd, fd;

  if (entry->real == NULL)
    return cw_tool_fs_open_regular_at (entry->dirfd, entry->name, entry->rel, error);
  dirfd = cw_tool_fs_open_parent (entry->real, FALSE, error);
  if (dirfd < 0)
    return -1;
  base = g_path_get_basename (entry->real);
  fd = cw_tool_fs_open_regular_at (dirfd, base, entry->rel, error);
  close (dirfd);
  return fd;
}

void
cw_tool_walk_note_outside (GString *out, gint outside, const gchar *root)
{
  if (outside > 0)
    g_string_append_printf (out, "\n[%d symlink%s leading outside %s left out]", outside,
                            outside == 1 ? "" : "s", root);
}
