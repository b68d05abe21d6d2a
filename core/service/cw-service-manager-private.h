/* cw-service-manager-private.h: installs and drives coworkd as a systemd unit over D-Bus
 * (org.freedesktop.systemd1): the session bus for the user scope, the system bus for the
 * system scope. Blocking calls: the daemon runs these in a worker thread.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cw-paths-private.h"
#include "cw-service-private.h"

G_BEGIN_DECLS

typedef struct _CwServiceManager CwServiceManager;

/* @paths are the daemon paths of @scope (token, socket, data dir). @app_data_dir, for the
 * user scope only, is written into the unit when it is not the default. */
CwServiceManager *cw_service_manager_new (CwServiceScope scope, const CwPaths *paths,
                                          const gchar *app_data_dir, GError **error);
void cw_service_manager_free (CwServiceManager *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CwServiceManager, cw_service_manager_free)

/* Dry run: nothing is written or called; the log says what would be. */
void cw_service_manager_set_dry_run (CwServiceManager *self, gboolean dry_run);
/* What was written and called so far, one action per line ("would ..." in a dry run). */
const gchar *cw_service_manager_get_log (CwServiceManager *self);
const gchar *cw_service_manager_get_unit_path (CwServiceManager *self);

gboolean cw_service_manager_install (CwServiceManager *self, GError **error);
/* Stops, disables and removes the unit, then the scope's token, socket and lock files. */
gboolean cw_service_manager_uninstall (CwServiceManager *self, GError **error);
gboolean cw_service_manager_start (CwServiceManager *self, GError **error);
gboolean cw_service_manager_stop (CwServiceManager *self, GError **error);
gboolean cw_service_manager_restart (CwServiceManager *self, GError **error);
/* ServiceStatus of contract §6 plus active, subState, pid and the daemon's health. */
JsonObject *cw_service_manager_status (CwServiceManager *self, GError **error);

/* Resolves the paths of @scope for a caller whose own paths are @own: the same when the
 * scope matches, the scope's defaults otherwise. A system scope inside a home is refused. */
CwPaths *cw_service_paths_for_scope (CwServiceScope scope, const CwPaths *own, GError **error);

G_END_DECLS
