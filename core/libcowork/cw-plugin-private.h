/* cw-plugin-private.h: how the daemon drives a plugin (the runner wrappers).
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cowork-host.h"

G_BEGIN_DECLS

typedef enum
{
  CW_PLUGIN_STATE_NEW,
  CW_PLUGIN_STATE_LOADED,
  CW_PLUGIN_STATE_RUNNING,
  CW_PLUGIN_STATE_DISABLED,
  CW_PLUGIN_STATE_STOPPED,
} CwPluginState;

void cw_plugin_setup (CwPlugin *self, const gchar *name, const gchar *path, CwContext *context);
CwPluginState cw_plugin_get_state (CwPlugin *self);
const gchar *cw_plugin_state_to_string (CwPluginState state);
/* The runners: skip disabled plugins, prefix errors with the plugin name, turn a FALSE
 * without error into an internal error, and disable the plugin (dropping its commands)
 * when a step fails. */
gboolean cw_plugin_runner_load (CwPlugin *self, GError **error);
gboolean cw_plugin_runner_start (CwPlugin *self, GError **error);
void cw_plugin_runner_stop (CwPlugin *self);
JsonObject *cw_plugin_runner_get_health (CwPlugin *self);

G_END_DECLS
