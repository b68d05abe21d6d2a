/* cw-plugin-loader-private.h: finding, loading and driving the plugin modules.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cowork.h"

G_BEGIN_DECLS

#define CW_TYPE_PLUGIN_LOADER (cw_plugin_loader_get_type ())
G_DECLARE_FINAL_TYPE (CwPluginLoader, cw_plugin_loader, CW, PLUGIN_LOADER, GObject)

CwPluginLoader *cw_plugin_loader_new (CwContext *context);
/* Loads every libcowork_plugin_<name>.so from @dirs in order; the first of a name wins.
 * A module that cannot be loaded is recorded, not fatal. */
void cw_plugin_loader_load_dirs (CwPluginLoader *self, const gchar *const *dirs);
void cw_plugin_loader_start_all (CwPluginLoader *self);
void cw_plugin_loader_stop_all (CwPluginLoader *self);
/* [{name, state, path, error?, commands[]}] */
JsonArray *cw_plugin_loader_get_health (CwPluginLoader *self);
guint cw_plugin_loader_count_failed (CwPluginLoader *self);

G_END_DECLS
