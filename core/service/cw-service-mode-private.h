/* cw-service-mode-private.h: the saved service mode (<appData>/service/mode.json, as the
 * desktop app keeps it) and the guarded switch between user and system mode.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cw-paths-private.h"
#include "cw-service-private.h"

G_BEGIN_DECLS

/* Missing or invalid file: user. */
CwServiceScope cw_service_mode_load (const gchar *app_data_dir);
gboolean cw_service_mode_save (const gchar *app_data_dir, CwServiceScope scope, GError **error);

/* What switching to @to would do, without doing it:
 * {from, to, changed, stopsService, serviceUnit, leftBehind: [text...]}. */
JsonObject *cw_service_mode_plan (const CwPaths *paths, CwServiceScope to, GError **error);
/* Carries out a plan: stops the old scope's service when it runs, saves the mode and writes
 * an audit record in @store (by @actor). Nothing is moved or copied.
 * Returns {mode, updatedAt, previousMode, changed, stopped, leftBehind}. */
JsonObject *cw_service_mode_apply (const CwPaths *paths, JsonObject *plan, CwStore *store,
                                   const gchar *actor, GError **error);

G_END_DECLS
