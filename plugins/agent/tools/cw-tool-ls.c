/* cw-tool-ls.c: ls {path?}: the entries of one directory, directories marked with '/' and
 * symlinks with '@' (never followed: where a link leads is not listed).
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-tool.h"
#include "cw-tool-fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

static gint
compare_names (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(const gchar *const *) a, *(const gchar *const *) b);
}

static const gchar *
marker (int fd, const gchar *name)
{
  struct stat st;

  if (fstatat (fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
    return "";
  return S_ISDIR (st.st_mode) ? "/" : S_ISLNK (st.st_mode) ? "@" : "";
}

static gchar *
ls_run (const CwToolEnv *env, JsonObject *args, GCancellable *cancellable, CwToolOutcome *outcome,
        GError **error)
{
  const gchar *path = cw_tool_arg_string (args, "path", FALSE, error);
  g_autofree gchar *abs = NULL;
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  GString *out;
  struct dirent *ent;
  DIR *dir;
  int fd;

  if (error != NULL && *error != NULL)
    return NULL;
  abs = cw_tool_resolve_path (env, path);
  fd = cw_tool_fs_open_dir (env->root, abs, error);
  if (fd < 0)
    return NULL;
  dir = fdopendir (fd);
  if (dir == NULL)
    {
      close (fd);
      g_set_error (error, CW_ERROR, CW_ERROR_FAILED, "cannot list %s", abs);
      return NULL;
    }
  while ((ent = readdir (dir)) != NULL)
    if (g_strcmp0 (ent->d_name, ".") != 0 && g_strcmp0 (ent->d_name, "..") != 0)
      g_ptr_array_add (names, g_strconcat (ent->d_name, marker (fd, ent->d_name), NULL));
  closedir (dir);
  g_ptr_array_sort (names, compare_names);
  out = g_string_new (NULL);
  for (guint i = 0; i < names->len; i++)
    g_string_append_printf (out, "%s\n", (const gchar *) g_ptr_array_index (names, i));
  if (names->len == 0)
    g_string_append (out, "(empty directory)");
  return g_string_free (out, FALSE);
}

const CwToolInfo cw_tool_ls = {
  .name = "ls",
  .description = "List a directory (default: the working directory). Directories end in '/', "
                 "symlinks in '@'.",
  .parameters = "{\"type\":\"object\",\"properties\":{\"path\":{\"type\":\"string\"}}}",
  .permission_type = "file_read",
  .resource_arg = "path",
  .resource_is_path = TRUE,
  .read_only = TRUE,
  .run_sync = ls_run,
};
