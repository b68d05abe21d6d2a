/* cw-tool-fs.c: file access confined to a root (see cw-tool-fs.h).
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-tool-fs.h"

#include <cowork.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#ifdef O_PATH
#define DIR_WALK_FLAGS (O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
#else
#define DIR_WALK_FLAGS (O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
#endif

gchar *
cw_tool_fs_real_path (const gchar *abs)
{
  g_autofree gchar *dir = NULL;
  g_autofree gchar *base = NULL;
  g_autofree gchar *real_dir = NULL;
  char *resolved = realpath (abs, NULL);

  if (resolved != NULL)
    {
      gchar *out = g_strdup (resolved);
      free (resolved);
      return out;
    }
  dir = g_path_get_dirname (abs);
  if (g_strcmp0 (dir, abs) == 0)
    return g_strdup (abs);
  base = g_path_get_basename (abs);
  real_dir = cw_tool_fs_real_path (dir);
  return g_build_filename (real_dir, base, NULL);
}

gboolean
cw_tool_fs_within (const gchar *path, const gchar *root)
{
  gsize n = strlen (root);

  if (g_strcmp0 (path, root) == 0)
    return TRUE;
  if (n > 0 && root[n - 1] == '/')
    return g_str_has_prefix (path, root);
  return g_str_has_prefix (path, root) && path[n] == '/';
}

gchar *
cw_tool_fs_confine (const gchar *root, const gchar *abs, gboolean follow_last, GError **error)
{
  g_autofree gchar *real = NULL;

  if (follow_last)
    real = cw_tool_fs_real_path (abs);
  else
    {
      g_autofree gchar *dir = g_path_get_dirname (abs);
      g_autofree gchar *base = g_path_get_basename (abs);
      g_autofree gchar *real_dir = cw_tool_fs_real_path (dir);
      real = g_strcmp0 (dir, abs) == 0 ? g_strdup (abs) : g_build_filename (real_dir, base, NULL);
    }
  if (!cw_tool_fs_within (real, root))
    {
      g_set_error (error, CW_ERROR, CW_ERROR_UNAUTHORIZED,
                   "%s leads to %s, outside the allowed directory %s", abs, real, root);
      return NULL;
    }
  return g_steal_pointer (&real);
}

static void
set_errno_error (GError **error, int saved, const gchar *what, const gchar *path)
{
  if (saved == ELOOP || saved == ENOTDIR)
    g_set_error (error, CW_ERROR, CW_ERROR_UNAUTHORIZED,
                 "cannot %s %s: a part of its path is not a directory or is a symlink (links "
                 "are resolved before the check, never followed after it)",
                 what, path);
  else
    g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved), "cannot %s %s: %s", what,
                 path, g_strerror (saved));
}

int
cw_tool_fs_open_parent (const gchar *real, gboolean create, GError **error)
{
  g_autofree gchar *dir = g_path_get_dirname (real);
  g_auto (GStrv) parts = g_strsplit (dir, "/", -1);
  int fd = open ("/", DIR_WALK_FLAGS);

  if (fd < 0)
    {
      set_errno_error (error, errno, "open", "/");
      return -1;
    }
  for (guint i = 0; parts[i] != NULL; i++)
    {
      int next;

      if (*parts[i] == '\0')
        continue;
      next = openat (fd, parts[i], DIR_WALK_FLAGS);
      if (next < 0 && errno == ENOENT && create)
        {
          if (mkdirat (fd, parts[i], 0755) != 0 && errno != EEXIST)
            {
              int saved = errno;
              close (fd);
              set_errno_error (error, saved, "create", dir);
              return -1;
            }
          next = openat (fd, parts[i], DIR_WALK_FLAGS);
        }
      if (next < 0)
        {
          int saved = errno;
          close (fd);
          set_errno_error (error, saved, "open", dir);
          return -1;
        }
      close (fd);
      fd = next;
    }
  return fd;
}

int
cw_tool_fs_open_regular_at (int dirfd, const gchar *name, const gchar *shown, GError **error)
{
  struct stat st;
  int fd = openat (dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);

  if (fd < 0)
    {
      set_errno_error (error, errno, "open", shown);
      return -1;
    }
  if (fstat (fd, &st) != 0 || !S_ISREG (st.st_mode))
    {
      close (fd);
      g_set_error (error, CW_ERROR, CW_ERROR_NOT_SUPPORTED, "%s is not a regular file", shown);
      return -1;
    }
  return fd;
}

gchar *
cw_tool_fs_read_fd (int fd, gsize max, gsize *len, const gchar *shown, GError **error)
{
  g_autoptr (GString) buf = g_string_new (NULL);
  gchar chunk[65536];

  for (;;)
    {
      gssize n = read (fd, chunk, sizeof chunk);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          set_errno_error (error, errno, "read", shown);
          return NULL;
        }
      if (n == 0)
        break;
      if (buf->len + (gsize) n > max)
        {
          g_set_error (error, CW_ERROR, CW_ERROR_NOT_SUPPORTED,
                       "%s is larger than %" G_GSIZE_FORMAT " bytes", shown, max);
          return NULL;
        }
      g_string_append_len (buf, chunk, n);
    }
  if (len != NULL)
    *len = buf->len;
  return g_string_free (g_steal_pointer (&buf), FALSE);
}

gchar *
cw_tool_fs_read (const gchar *root, const gchar *abs, gsize max, gsize *len, GError **error)
{
  g_autofree gchar *real = cw_tool_fs_confine (root, abs, TRUE, error);
  g_autofree gchar *base = NULL;
  gchar *out;
  int dirfd, fd;

  if (real == NULL)
    return NULL;
  dirfd = cw_tool_fs_open_parent (real, FALSE, error);
  if (dirfd < 0)
    return NULL;
  base = g_path_get_basename (real);
  fd = cw_tool_fs_open_regular_at (dirfd, base, abs, error);
  close (dirfd);
  if (fd < 0)
    return NULL;
  out = cw_tool_fs_read_fd (fd, max, len, abs, error);
  close (fd);
  return out;
}

static gboolean
write_all (int fd, const gchar *data, gsize len)
{
  while (len > 0)
    {
      gssize n = write (fd, data, len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return FALSE;
      data += n;
      len -= n;
    }
  return TRUE;
}

gboolean
cw_tool_fs_write (const gchar *root, const gchar *abs, const gchar *data, gsize len,
                  gboolean *existed, GError **error)
{
  g_autofree gchar *real = cw_tool_fs_confine (root, abs, TRUE, error);
  g_autofree gchar *base = NULL;
  g_autofree gchar *tmp = NULL;
  struct stat st;
  mode_t mode = 0644;
  gboolean replacing = FALSE;
  int dirfd, fd;

  if (real == NULL)
    return FALSE;
  dirfd = cw_tool_fs_open_parent (real, TRUE, error);
  if (dirfd < 0)
    return FALSE;
  base = g_path_get_basename (real);
  if (fstatat (dirfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0)
    {
      if (S_ISDIR (st.st_mode))
        {
          close (dirfd);
          g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS, "%s is a directory", abs);
          return FALSE;
        }
      mode = st.st_mode & 07777;
      replacing = TRUE;
      if (existed != NULL)
        *existed = TRUE;
    }
  else if (existed != NULL)
    *existed = FALSE;
  tmp = g_strdup_printf (".%s.cowork-%08x", base, g_random_int ());
  fd = openat (dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd < 0)
    {
      int saved = errno;
      close (dirfd);
      set_errno_error (error, saved, "write", abs);
      return FALSE;
    }
  /* Like g_file_set_contents: synced before it replaces a file, so a crash leaves the old
   * contents or the new ones. */
  if (!write_all (fd, data, len) || (replacing && fsync (fd) != 0) || close (fd) != 0
      || renameat (dirfd, tmp, dirfd, base) != 0)
    {
      int saved = errno;
      unlinkat (dirfd, tmp, 0);
      close (dirfd);
      set_errno_error (error, saved, "write", abs);
      return FALSE;
    }
  close (dirfd);
  return TRUE;
}

gboolean
cw_tool_fs_delete (const gchar *root, const gchar *abs, GError **error)
{
  g_autofree gchar *real = cw_tool_fs_confine (root, abs, FALSE, error);
  g_autofree gchar *base = NULL;
  struct stat st;
  int dirfd, rc;

  if (real == NULL)
    return FALSE;
  dirfd = cw_tool_fs_open_parent (real, FALSE, error);
  if (dirfd < 0)
    return FALSE;
  base = g_path_get_basename (real);
  if (fstatat (dirfd, base, &st, AT_SYMLINK_NOFOLLOW) != 0)
    {
      int saved = errno;
      close (dirfd);
      set_errno_error (error, saved, "delete", abs);
      return FALSE;
    }
  rc = unlinkat (dirfd, base, S_ISDIR (st.st_mode) ? AT_REMOVEDIR : 0);
  if (rc != 0)
    {
      int saved = errno;
      close (dirfd);
      set_errno_error (error, saved, "delete", abs);
      return FALSE;
    }
  close (dirfd);
  return TRUE;
}

int
cw_tool_fs_open_dir (const gchar *root, const gchar *abs, GError **error)
{
  g_autofree gchar *real = cw_tool_fs_confine (root, abs, TRUE, error);
  g_autofree gchar *base = NULL;
  int dirfd, fd;

  if (real == NULL)
    return -1;
  if (g_strcmp0 (real, "/") == 0)
    fd = open ("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  else
    {
      dirfd = cw_tool_fs_open_parent (real, FALSE, error);
      if (dirfd < 0)
        return -1;
      base = g_path_get_basename (real);
      fd = openat (dirfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      close (dirfd);
    }
  if (fd < 0)
    set_errno_error (error, errno, "open directory", abs);
  return fd;
}
