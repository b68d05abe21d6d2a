/* cw-sd-notify-private.h: the systemd notification protocol, without libsystemd.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* Sends @state (e.g. "READY=1") to $NOTIFY_SOCKET; FALSE when unset or on error. */
gboolean cw_sd_notify (const gchar *state);

/* A liveness check run before each keep-alive: FALSE (with @error) withholds the ping. */
typedef gboolean (*CwSdWatchdogCheck) (gpointer user_data, GError **error);

typedef struct _CwSdWatchdog CwSdWatchdog;

/* When $WATCHDOG_USEC asks for it (and $WATCHDOG_PID is us or unset), sends WATCHDOG=1 at
 * half the interval from the main loop, each time only after @check passed. NULL when the
 * service manager asks for no watchdog. */
CwSdWatchdog *cw_sd_watchdog_start (CwSdWatchdogCheck check, gpointer user_data);
void cw_sd_watchdog_stop (CwSdWatchdog *watchdog);
/* {enabled, intervalMs, pings, lastPingAt, failedChecks, lastError} for daemon_health;
 * @watchdog may be NULL. */
JsonObject *cw_sd_watchdog_get_health (CwSdWatchdog *watchdog);

G_END_DECLS
