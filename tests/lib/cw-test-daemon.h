/* cw-test-daemon.h: start the real coworkd on a private temp dir and talk to it.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cowork-host.h"
#include "cw-client.h"

G_BEGIN_DECLS

typedef struct
{
  gchar *dir;      /* app data dir, removed by free */
  gchar *endpoint; /* socket path */
  gchar *token_file;
  GSubprocess *proc;
  GPtrArray *extra_args;
  gchar **env;     /* environment for the daemon */
  guint fd_limit;  /* RLIMIT_NOFILE (soft and hard) of the daemon, 0: inherited */
  gchar *log_file; /* the daemon's stderr, when set */
  gboolean unclean_exit_ok;
  gboolean keep_dir; /* the test failed: its dir stays for a look */
} CwTestDaemon;

/* How long a daemon still running at cw_test_daemon_free has after SIGTERM. */
#define CW_TEST_DAEMON_STOP_SECONDS 10

/* A daemon description on a fresh temp dir; nothing runs yet. */
CwTestDaemon *cw_test_daemon_new (void);
/* Adds an argument given to coworkd at every start. */
void cw_test_daemon_add_arg (CwTestDaemon *self, const gchar *arg);
/* @value NULL removes @name from the daemon's environment. */
void cw_test_daemon_setenv (CwTestDaemon *self, const gchar *name, const gchar *value);
/* Starts the daemon with RLIMIT_NOFILE lowered to @limit (soft and hard). */
void cw_test_daemon_set_fd_limit (CwTestDaemon *self, guint limit);
/* Sends the daemon's stdout and stderr to log_file (in its dir) from the next start on;
 * each start and cw_test_daemon_free check it (see there). */
void cw_test_daemon_log_to_file (CwTestDaemon *self);
/* Spawns coworkd with the built plugins and waits (10 s at most) until ping answers. */
void cw_test_daemon_start (CwTestDaemon *self);
/* Spawns coworkd and returns it without waiting. */
GSubprocess *cw_test_daemon_spawn (CwTestDaemon *self, GError **error);
/* Sends @signum and waits for the process to end; returns its wait status. */
gint cw_test_daemon_stop (CwTestDaemon *self, gint signum);
/* A client authenticated with the current token. */
CwClient *cw_test_daemon_connect (CwTestDaemon *self);
gchar *cw_test_daemon_read_token (CwTestDaemon *self);
/* Calls and asserts success; returns the result. */
JsonNode *cw_test_daemon_call (CwClient *client, const gchar *command, const gchar *params_json);
/* Holds the daemon to account, then removes its dir: one still running gets SIGTERM and must
 * exit 0 within CW_TEST_DAEMON_STOP_SECONDS (else it is killed), one that ended by itself
 * must have exited 0, and its log file (if any) must hold no sanitizer report, GLib critical
 * or failed assertion; otherwise the test fails and the dir is kept. */
void cw_test_daemon_free (CwTestDaemon *self);
/* The end of the test does not check the daemon's exit (only for a test that makes it hang
 * or crash on purpose; say why where it is called). The log is still checked. */
void cw_test_daemon_allow_unclean_exit (CwTestDaemon *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CwTestDaemon, cw_test_daemon_free)

/* @node as an object; fails the test when it is not one. */
JsonObject *cw_test_obj (JsonNode *node);
/* Sends raw bytes (one or more request lines) and returns the next response object,
 * skipping events; fails the test if the connection ends first. */
JsonObject *cw_test_raw_request (CwClient *client, const gchar *line);
/* A client on the daemon's socket that has not authenticated (no token). */
CwClient *cw_test_daemon_connect_anonymous (CwTestDaemon *self);
/* Writes @text as the daemon's coworkd.conf (read at its next start). */
void cw_test_daemon_set_config (CwTestDaemon *self, const gchar *text);
/* The value of a field of /proc/<daemon pid>/status in kB (VmRSS, VmHWM, ...). */
gint64 cw_test_daemon_status_kb (CwTestDaemon *self, const gchar *field);

/* Structured logs bypass g_test_expect_message: call this after g_test_init to make
 * warnings non-fatal and count those whose message contains @substring instead. */
void cw_test_count_warnings (const gchar *substring);
guint cw_test_counted_warnings (void);

/* Removes a directory tree (test temp dirs). */
void cw_test_rm_rf (const gchar *path);
/* A fixture for unit tests of what plugins register in a context: a temp dir, a fresh
 * migrated store in it, a registry and no config file. */
typedef struct
{
  gchar *dir;
  CwContext *context;
} CwTestContextFixture;
void cw_test_context_setup (CwTestContextFixture *f, gconstpointer data);
void cw_test_context_teardown (CwTestContextFixture *f, gconstpointer data);
/* Spawns a helper process (a fake server, a client tool) that is killed when the test
 * process dies, so a failed assertion never leaves it holding the runner's output. */
GSubprocess *cw_test_spawn (GSubprocessFlags flags, GError **error, const gchar *argv0,
                            ...) G_GNUC_NULL_TERMINATED;

/* An event bus on the SQLite file @db (created with the core schema if new); asserts. */
CwEventBus *cw_test_open_event_bus (const gchar *db, const CwEventRetention *retention);

G_END_DECLS
