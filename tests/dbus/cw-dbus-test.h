/* cw-dbus-test.h: helpers of the D-Bus tests: private buses, running client tools, waiting
 * for the daemon's name.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cw-test-daemon.h"

G_BEGIN_DECLS

#define CW_TEST_NAME  "org.cowork.Daemon"
#define CW_TEST_PATH  "/org/cowork/Daemon"
#define CW_TEST_IFACE "org.cowork.Daemon1"

typedef struct
{
  gchar *dir;     /* holds the config and the socket; removed by free */
  gchar *config;  /* config file path */
  gchar *address; /* unix:path=... */
  GSubprocess *proc;
} CwTestBus;

/* A private dbus-daemon with a config made from @policy_xml (the <policy>/<include> part)
 * and @type ("session" or "system"); @servicedir may be NULL. Started at once. */
CwTestBus *cw_test_bus_new (const gchar *type, const gchar *policy_xml, const gchar *servicedir);
/* Starts the bus again on the same socket path (after cw_test_bus_kill). */
void cw_test_bus_start (CwTestBus *self);
void cw_test_bus_kill (CwTestBus *self);
void cw_test_bus_free (CwTestBus *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CwTestBus, cw_test_bus_free)

/* A private connection to @address (NULL: the session bus of the environment). */
GDBusConnection *cw_test_bus_connect (const gchar *address);
/* Waits (up to @timeout_s) until @name has (or, !@owned, has no) owner on @connection. */
gboolean cw_test_wait_name (GDBusConnection *connection, const gchar *name, gboolean owned,
                            guint timeout_s);
/* Runs a program to completion; returns its exit status (-1 if killed). @env may be NULL. */
gint cw_test_run (const gchar *const *argv, gchar **env, gchar **out, gchar **err);
/* Runs until @done is TRUE or @timeout_s passes; returns *done. */
gboolean cw_test_spin_until (gboolean *done, guint timeout_s);
/* Calls org.cowork.Daemon1.Call and returns the parsed result or NULL with @error. */
JsonNode *cw_test_dbus_call (GDBusConnection *connection, const gchar *command,
                             const gchar *params_json, GError **error);
/* The daemon's Event signals as seen by one connection: each is recorded as "<type>" and,
 * when its data holds an interaction, as "<type>:<interaction id>" too. */
typedef struct _CwTestEventLog CwTestEventLog;
CwTestEventLog *cw_test_event_log_new (GDBusConnection *connection);
/* Runs the main context until @entry was recorded or @timeout_s passes. */
gboolean cw_test_event_log_wait (CwTestEventLog *self, const gchar *entry, guint timeout_s);
void cw_test_event_log_free (CwTestEventLog *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CwTestEventLog, cw_test_event_log_free)

/* Call after g_test_init: a failed assertion also ends the test's helper processes. */
void cw_test_dbus_init (void);
/* The path of a file in the source tree, relative to the repository root. */
gchar *cw_test_source_path (const gchar *relative);

G_END_DECLS
