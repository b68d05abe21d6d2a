/* cw-sd-notify.c: READY=1, STOPPING=1 and WATCHDOG=1 for Type=notify units.
 * The watchdog pings only after a liveness check (the daemon's: a store round trip).
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

struct _CwSdWatchdog
{
  guint source_id;
  guint64 interval_us;
  CwSdWatchdogCheck check;
  gpointer user_data;
  guint64 pings;
  guint64 failed_checks;
  gint64 last_ping_ms;
  gchar *last_error;
  gboolean failing;
};

/* Runs on the main loop, so a loop that hangs sends nothing and systemd restarts the
 * daemon; a check that fails withholds the ping the same way. */
static gboolean
watchdog_cb (gpointer user_data)
{
  CwSdWatchdog *self = user_data;
  g_autoptr (GError) error = NULL;

  if (self->check != NULL && !self->check (self->user_data, &error))
    {
      self->failed_checks++;
      if (!self->failing || g_strcmp0 (self->last_error, error->message) != 0)
        g_warning ("watchdog: no keep-alive sent: %s", error->message);
      self->failing = TRUE;
      g_free (self->last_error);
      self->last_error = g_strdup (error->message);
      return G_SOURCE_CONTINUE;
    }
  if (self->failing)
    g_message ("watchdog: the check passes again; keep-alives resume");
  self->failing = FALSE;
  if (cw_sd_notify ("WATCHDOG=1"))
    {
      self->pings++;
      self->last_ping_ms = g_get_real_time () / 1000;
    }
  return G_SOURCE_CONTINUE;
}

CwSdWatchdog *
cw_sd_watchdog_start (CwSdWatchdogCheck check, gpointer user_data)
{
  const gchar *usec = g_getenv ("WATCHDOG_USEC");
  const gchar *pid = g_getenv ("WATCHDOG_PID");
  CwSdWatchdog *self;
  guint64 interval;

  if (usec == NULL)
    return NULL;
  if (pid != NULL && g_ascii_strtoull (pid, NULL, 10) != (guint64) getpid ())
    return NULL;
  interval = g_ascii_strtoull (usec, NULL, 10);
  if (interval == 0)
    return NULL;
  self = g_new0 (CwSdWatchdog, 1);
  self->interval_us = interval;
  self->check = check;
  self->user_data = user_data;
  self->source_id = g_timeout_add (MAX (interval / 2000, 1), watchdog_cb, self);
  return self;
}

void
cw_sd_watchdog_stop (CwSdWatchdog *self)
{
  if (self == NULL)
    return;
  g_clear_handle_id (&self->source_id, g_source_remove);
  g_free (self->last_error);
  g_free (self);
}

JsonObject *
cw_sd_watchdog_get_health (CwSdWatchdog *self)
{
  JsonObject *obj = json_object_new ();

  json_object_set_boolean_member (obj, "enabled", self != NULL);
  if (self == NULL)
    return obj;
  json_object_set_int_member (obj, "intervalMs", self->interval_us / 1000);
  json_object_set_int_member (obj, "pings", self->pings);
  if (self->last_ping_ms > 0)
    json_object_set_int_member (obj, "lastPingAt", self->last_ping_ms);
  else
    json_object_set_null_member (obj, "lastPingAt");
  json_object_set_boolean_member (obj, "failing", self->failing);
  json_object_set_int_member (obj, "failedChecks", self->failed_checks);
  if (self->last_error != NULL)
    json_object_set_string_member (obj, "lastError", self->last_error);
  else
    json_object_set_null_member (obj, "lastError");
  return obj;
}
