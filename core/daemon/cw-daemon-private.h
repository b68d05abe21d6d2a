/* cw-daemon-private.h: the daemon object: boot order, readiness, shutdown.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cowork-host.h"
#include "cw-paths-private.h"

G_BEGIN_DECLS

#define CW_TYPE_DAEMON (cw_daemon_get_type ())
G_DECLARE_FINAL_TYPE (CwDaemon, cw_daemon, CW, DAEMON, GObject)

typedef struct
{
  const gchar *mode;
  const gchar *app_data_dir;
  const gchar *endpoint;
  const gchar *token_file;
  const gchar *lock_file;
  const gchar *const *plugin_dirs; /* searched before the installed plugin dir */
  gboolean no_system_plugins;
  const gchar *const *enable_plugins; /* taken off the crash guard's skipped list */
  const gchar *dbus; /* "session", "system", "none" or NULL for the mode's default */
} CwDaemonOptions;

CwDaemon *cw_daemon_new (void);
/* Boots in order: lock, store, plugins load, plugins start, transports, ready.
 * FALSE with @error stops the process (exit status 1). */
gboolean cw_daemon_start (CwDaemon *self, const CwDaemonOptions *options, GError **error);
void cw_daemon_stop (CwDaemon *self);

const CwPaths *cw_daemon_get_paths (CwDaemon *self);
CwContext *cw_daemon_get_context (CwDaemon *self);
gboolean cw_daemon_is_ready (CwDaemon *self);
JsonObject *cw_daemon_get_health (CwDaemon *self);
/* Writes a fresh token, switches the socket to it, and audits the rotation. */
gboolean cw_daemon_rotate_token (CwDaemon *self, const gchar *actor, GError **error);

G_END_DECLS
