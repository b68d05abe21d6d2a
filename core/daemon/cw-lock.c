/* cw-lock.c: the process lock. The file holds {"pid", "startedAt"} like the original
 * daemon's; the kernel's flock() decides who owns it, so a kill -9 never leaves it stale.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-lock-private.h"

#include <fcntl.h>
#include <glib/gstdio.h>
#include <sys/file.h>
#include <unistd.h>

struct _CwLock
{
  gchar *path;
  int fd;
};

static gint
read_pid (int fd)
{
  gchar buf[256];
  gssize n = pread (fd, buf, sizeof buf - 1, 0);
  g_autoptr (JsonNode) node = NULL;

  if (n <= 0)
    return 0;
  buf[n] = '\0';
  node = cw_json_from_string (buf, n, NULL);
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    return 0;
  return (gint) json_object_get_int_member_with_default (json_node_get_object (node), "pid", 0);
}

CwLock *
cw_lock_acquire (const gchar *path, gint *other_pid, GError **error)
{
  g_autofree gchar *dir = g_path_get_dirname (path);
  g_autofree gchar *contents = NULL;
  CwLock *lock;
  int fd;

  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      g_set_error (error, CW_ERROR, CW_ERROR_FAILED, "failed to create %s: %s", dir,
                   g_strerror (errno));
      return NULL;
    }
  fd = g_open (path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0)
    {
      g_set_error (error, CW_ERROR, CW_ERROR_FAILED, "failed to open %s: %s", path,
                   g_strerror (errno));
      return NULL;
    }
  if (flock (fd, LOCK_EX | LOCK_NB) != 0)
    {
      int saved = errno;
      gint pid = read_pid (fd);
      close (fd);
      if (saved == EWOULDBLOCK)
        {
          if (other_pid != NULL)
            *other_pid = pid;
          g_set_error (error, CW_ERROR, CW_ERROR_BUSY, "already running (pid %d)", pid);
        }
      else
        g_set_error (error, CW_ERROR, CW_ERROR_FAILED, "failed to lock %s: %s", path,
                     g_strerror (saved));
      return NULL;
    }
  contents = g_strdup_printf ("{\n  \"pid\": %d,\n  \"startedAt\": %" G_GINT64_FORMAT "\n}\n",
                              (gint) getpid (), cw_now_ms ());
  if (ftruncate (fd, 0) != 0 || pwrite (fd, contents, strlen (contents), 0) < 0)
    g_warning ("failed to write %s: %s", path, g_strerror (errno));
  lock = g_new0 (CwLock, 1);
  lock->path = g_strdup (path);
  lock->fd = fd;
  return lock;
}

void
cw_lock_release (CwLock *lock)
{
  if (lock == NULL)
    return;
  g_unlink (lock->path);
  close (lock->fd);
  g_free (lock->path);
  g_free (lock);
}
