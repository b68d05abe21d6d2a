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

typedef struct _CwTestHarness CwTestHarness;

/* Loads and starts the plugin at @plugin_path (libcowork_plugin_<name>.so). Fails when it
 * cannot be loaded or its load or start fails, with the plugin's error. */
CwTestHarness *cw_test_harness_new (const gchar *plugin_path, GError **error);
/* Stops the plugin and removes the temp dir. */
void cw_test_harness_free (CwTestHarness *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CwTestHarness, cw_test_harness_free)

/* Stops the plugin and starts a new host on the same dir: what a daemon restart sees. */
gboolean cw_test_harness_restart (CwTestHarness *self, GError **error);

/* Calls @command with @params_json (NULL = {}) as a local socket client would, running the
 * main loop until it answers (10 s at most). The result, or NULL with @error. */
JsonNode *cw_test_harness_call (CwTestHarness *self, const gchar *command, const gchar *params_json,
                                GError **error);

/* Events emitted since the harness started, oldest first (transfer none; CwEvent). */
GPtrArray *cw_test_harness_get_events (CwTestHarness *self);
/* How many of them have a type starting with @type_prefix. */
guint cw_test_harness_count_events (CwTestHarness *self, const gchar *type_prefix);
/* Runs the main loop until an event of @type arrives (or @timeout_ms passes); returns it. */
CwEvent *cw_test_harness_wait_event (CwTestHarness *self, const gchar *type, guint timeout_ms);

/* The scheduler's fake clock: ms since the epoch. Moving it fires what became due. */
gint64 cw_test_harness_get_time (CwTestHarness *self);
void cw_test_harness_set_time (CwTestHarness *self, gint64 now_ms);

const gchar *cw_test_harness_get_dir (CwTestHarness *self);
CwContext *cw_test_harness_get_context (CwTestHarness *self);
CwPlugin *cw_test_harness_get_plugin (CwTestHarness *self);

G_END_DECLS
