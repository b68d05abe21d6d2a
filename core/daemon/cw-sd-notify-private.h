/* cw-sd-notify-private.h: the systemd notification protocol, without libsystemd.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Sends @state (e.g. "READY=1") to $NOTIFY_SOCKET; FALSE when unset or on error. */
gboolean cw_sd_notify (const gchar *state);
/* When $WATCHDOG_USEC asks for it (and $WATCHDOG_PID is us or unset), pings the watchdog
 * at half the interval from the main loop. Returns the source id or 0. */
guint cw_sd_watchdog_start (void);

G_END_DECLS
