/* cowork-test.h: an in-process test harness for plugin authors. It loads one plugin module
 * into a fresh host (a temp dir with its own SQLite store, event bus, file-based secrets and
 * a scheduler on a fake clock), calls its commands and records its events, with no daemon,
 * socket or bus. Link the test with libcowork (pkg-config cowork-1).
 *
 *   g_autoptr (CwTestHarness) h = cw_test_harness_new (PLUGIN_PATH, &error);
 *   g_autoptr (JsonNode) reply = cw_test_harness_call (h, "example_echo", "{\"text\":\"hi\"}",
 *                                                       &error);
 *   g_assert_cmpuint (cw_test_harness_count_events (h, "example:"), ==, 1);
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "cowork.h"

G_BEGIN_DECLS

/**
 * CwTestHarness:
 *
 * One plugin loaded into a private in-process host, for tests.
 *
 * Since: 1.0
 */
typedef struct _CwTestHarness CwTestHarness;

/**
 * cw_test_harness_new:
 * @plugin_path: the module's path
 * @error: return location for a #GError, or %NULL
 *
 * Loads and starts the plugin at @plugin_path (libcowork_plugin_<name>.so). Fails when it
 * cannot be loaded or its load or start fails, with the plugin's error.
 *
 * Since: 1.0
 */
CwTestHarness *cw_test_harness_new (const gchar *plugin_path, GError **error);

/**
 * cw_test_harness_free:
 * @self: a #CwTestHarness
 *
 * Stops the plugin and removes the temp dir.
 *
 * Since: 1.0
 */
void cw_test_harness_free (CwTestHarness *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CwTestHarness, cw_test_harness_free)

/**
 * cw_test_harness_restart:
 * @self: a #CwTestHarness
 * @error: return location for a #GError, or %NULL
 *
 * Stops the plugin and starts a new host on the same dir: what a daemon restart sees.
 *
 * Since: 1.0
 */
gboolean cw_test_harness_restart (CwTestHarness *self, GError **error);

/**
 * cw_test_harness_call:
 * @self: a #CwTestHarness
 * @command: a command name
 * @params_json: the params as JSON text, or %NULL
 * @error: return location for a #GError, or %NULL
 *
 * Calls @command with @params_json (NULL = {}) as a local socket client would, running the
 * main loop until it answers (10 s at most). The result, or NULL with @error.
 *
 * Since: 1.0
 */
JsonNode *cw_test_harness_call (CwTestHarness *self, const gchar *command, const gchar *params_json,
                                GError **error);

/**
 * cw_test_harness_get_events:
 * @self: a #CwTestHarness
 *
 * Events emitted since the harness started, oldest first (transfer none; CwEvent).
 *
 * Since: 1.0
 */
GPtrArray *cw_test_harness_get_events (CwTestHarness *self);

/**
 * cw_test_harness_count_events:
 * @self: a #CwTestHarness
 * @type_prefix: the start of the event types wanted ("" for every type)
 *
 * How many of them have a type starting with @type_prefix.
 *
 * Since: 1.0
 */
guint cw_test_harness_count_events (CwTestHarness *self, const gchar *type_prefix);

/**
 * cw_test_harness_wait_event:
 * @self: a #CwTestHarness
 * @type: the event type
 * @timeout_ms: how long to wait, in ms
 *
 * Runs the main loop until an event of @type arrives (or @timeout_ms passes); returns it.
 *
 * Since: 1.0
 */
CwEvent *cw_test_harness_wait_event (CwTestHarness *self, const gchar *type, guint timeout_ms);

/**
 * cw_test_harness_get_time:
 * @self: a #CwTestHarness
 *
 * The scheduler's fake clock: ms since the epoch. Moving it fires what became due.
 *
 * Since: 1.0
 */
gint64 cw_test_harness_get_time (CwTestHarness *self);

/**
 * cw_test_harness_set_time:
 * @self: a #CwTestHarness
 * @now_ms: the time in ms since the epoch
 *
 * Test harness set time.
 *
 * Since: 1.0
 */
void cw_test_harness_set_time (CwTestHarness *self, gint64 now_ms);

/**
 * cw_test_harness_get_dir:
 * @self: a #CwTestHarness
 *
 * Test harness get dir.
 *
 * Since: 1.0
 */
const gchar *cw_test_harness_get_dir (CwTestHarness *self);

/**
 * cw_test_harness_get_context:
 * @self: a #CwTestHarness
 *
 * Test harness get context.
 *
 * Since: 1.0
 */
CwContext *cw_test_harness_get_context (CwTestHarness *self);

/**
 * cw_test_harness_get_plugin:
 * @self: a #CwTestHarness
 *
 * Test harness get plugin.
 *
 * Since: 1.0
 */
CwPlugin *cw_test_harness_get_plugin (CwTestHarness *self);

G_END_DECLS
