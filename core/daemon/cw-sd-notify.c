/* cw-sd-notify.c: READY=1, STOPPING=1 and WATCHDOG=1 for Type=notify units.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-sd-notify-private.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

gboolean
cw_sd_notify (const gchar *state)
{
  const gchar *path = g_getenv ("NOTIFY_SOCKET");
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  socklen_t len;
  gsize path_len;
  gssize sent;
  int fd;

  if (path == NULL || (path[0] != '/' && path[0] != '@'))
    return FALSE;
  path_len = strlen (path);
  if (path_len >= sizeof addr.sun_path)
    return FALSE;
  memcpy (addr.sun_path, path, path_len);
  if (path[0] == '@')
    addr.sun_path[0] = '\0';
  len = offsetof (struct sockaddr_un, sun_path) + path_len;
  fd = socket (AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return FALSE;
  sent = sendto (fd, state, strlen (state), MSG_NOSIGNAL, (struct sockaddr *) &addr, len);
  if (sent < 0)
    g_debug ("sd_notify %s failed: %s", state, g_strerror (errno));
  close (fd);
  return sent >= 0;
}

static gboolean
watchdog_cb (gpointer user_data)
{
  cw_sd_notify ("WATCHDOG=1");
  return G_SOURCE_CONTINUE;
}

guint
cw_sd_watchdog_start (void)
{
  const gchar *usec = g_getenv ("WATCHDOG_USEC");
  const gchar *pid = g_getenv ("WATCHDOG_PID");
  guint64 interval;

  if (usec == NULL)
    return 0;
  if (pid != NULL && g_ascii_strtoull (pid, NULL, 10) != (guint64) getpid ())
    return 0;
  interval = g_ascii_strtoull (usec, NULL, 10);
  if (interval == 0)
    return 0;
  return g_timeout_add (MAX (interval / 2000, 1), watchdog_cb, NULL);
}
