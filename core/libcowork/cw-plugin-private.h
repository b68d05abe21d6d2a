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
/* start_async when the plugin has it, else start; FALSE from finish disables the plugin. */
void cw_plugin_runner_start_async (CwPlugin *self, GAsyncReadyCallback callback,
                                   gpointer user_data);
gboolean cw_plugin_runner_start_finish (CwPlugin *self, GAsyncResult *result, GError **error);
void cw_plugin_runner_stop_async (CwPlugin *self, GAsyncReadyCallback callback, gpointer user_data);
void cw_plugin_runner_stop_finish (CwPlugin *self, GAsyncResult *result);
/* Disables the plugin (its commands go, later calls say why), as a failed step does. */
void cw_plugin_runner_disable (CwPlugin *self, const gchar *message);
/* The names given to cw_plugin_add_start_after(). */
GPtrArray *cw_plugin_get_start_after (CwPlugin *self);
JsonObject *cw_plugin_runner_get_health (CwPlugin *self);

G_END_DECLS
