/* test-daemon-watchdog.c: the systemd watchdog of the real coworkd, against a fake notify
 * socket: WATCHDOG=1 at half WATCHDOG_USEC while the main loop and the store answer; no
 * keep-alive while another process holds the database's write lock, none while the process
 * is stopped, and they resume afterwards; daemon_health shows what happened.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-test-daemon.h"

#include <gio/gunixsocketaddress.h>
#include <signal.h>
#include <string.h>

/* Pings every 100 ms. */
#define WATCHDOG_USEC "200000"

typedef struct
{
  CwTestDaemon *daemon;
  GSocket *socket;
  gchar *path;
} Fixture;

/* Counts the WATCHDOG=1 datagrams that arrive within @ms; READY=1 sets *@ready. */
static guint
count_pings (Fixture *f, guint ms, gboolean *ready)
{
  gint64 deadline = g_get_monotonic_time () + ms * G_TIME_SPAN_MILLISECOND;
  guint pings = 0;

  for (;;)
    {
      gint64 left = deadline - g_get_monotonic_time ();
      gchar buf[256];
      gssize n;

      if (left <= 0 || !g_socket_condition_timed_wait (f->socket, G_IO_IN, left, NULL, NULL))
        return pings;
      n = g_socket_receive (f->socket, buf, sizeof buf - 1, NULL, NULL);
      if (n <= 0)
        continue;
      buf[n] = '\0';
      if (strstr (buf, "WATCHDOG=1") != NULL)
        pings++;
      if (ready != NULL && strstr (buf, "READY=1") != NULL)
        *ready = TRUE;
    }
}

static JsonObject *
watchdog_health (Fixture *f)
{
  g_autoptr (CwClient) client = cw_test_daemon_connect (f->daemon);
  g_autoptr (JsonNode) health = cw_test_daemon_call (client, "daemon_health", NULL);

  return json_object_ref (json_object_get_object_member (cw_test_obj (health), "watchdog"));
}

static pid_t
daemon_pid (Fixture *f)
{
  return (pid_t) g_ascii_strtoll (g_subprocess_get_identifier (f->daemon->proc), NULL, 10);
}

static void
fixture_start (Fixture *f, const gchar *usec)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GSocketAddress) address = NULL;

  f->daemon = cw_test_daemon_new ();
  f->path = g_build_filename (f->daemon->dir, "notify.sock", NULL);
  f->socket = g_socket_new (G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_DATAGRAM, 0, &error);
  g_assert_no_error (error);
  address = g_unix_socket_address_new (f->path);
  g_assert_true (g_socket_bind (f->socket, address, TRUE, &error));
  g_assert_no_error (error);
  cw_test_daemon_setenv (f->daemon, "NOTIFY_SOCKET", f->path);
  cw_test_daemon_setenv (f->daemon, "WATCHDOG_USEC", usec);
  cw_test_daemon_start (f->daemon);
}

static void
fixture_clear (Fixture *f)
{
  cw_test_daemon_free (f->daemon);
  g_clear_object (&f->socket);
  g_free (f->path);
}

static void
test_pings_follow_loop_and_store (void)
{
  Fixture f = { 0 };
  g_autofree gchar *db_path = NULL;
  g_autoptr (JsonObject) health = NULL;
  gboolean ready = FALSE;
  sqlite3 *db = NULL;

  fixture_start (&f, WATCHDOG_USEC);
  g_assert_cmpuint (count_pings (&f, 1000, &ready), >=, 4);
  g_assert_true (ready);
  health = watchdog_health (&f);
  g_assert_true (json_object_get_boolean_member (health, "enabled"));
  g_assert_cmpint (json_object_get_int_member (health, "intervalMs"), ==, 200);
  g_assert_cmpint (json_object_get_int_member (health, "failedChecks"), ==, 0);
  g_assert_true (JSON_NODE_HOLDS_NULL (json_object_get_member (health, "lastError")));

  /* Someone else holds the write lock: the store does not answer, no keep-alive. */
  db_path = g_build_filename (f.daemon->dir, "daemon", "coworkd.db", NULL);
  g_assert_cmpint (sqlite3_open (db_path, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (db, "BEGIN EXCLUSIVE", NULL, NULL, NULL), ==, SQLITE_OK);
  count_pings (&f, 400, NULL); /* one may have been on its way */
  g_assert_cmpuint (count_pings (&f, 1500, NULL), ==, 0);
  g_assert_cmpint (sqlite3_exec (db, "ROLLBACK", NULL, NULL, NULL), ==, SQLITE_OK);
  sqlite3_close (db);
  g_assert_cmpuint (count_pings (&f, 1000, NULL), >=, 3);
  g_clear_pointer (&health, json_object_unref);
  health = watchdog_health (&f);
  g_assert_cmpint (json_object_get_int_member (health, "failedChecks"), >=, 3);
  g_assert_false (json_object_get_boolean_member (health, "failing"));
  g_assert_nonnull (
      strstr (json_object_get_string_member (health, "lastError"), "the store does not answer"));

  /* The main loop stands still (the process is stopped): nothing is sent. */
  g_assert_cmpint (kill (daemon_pid (&f), SIGSTOP), ==, 0);
  count_pings (&f, 200, NULL);
  g_assert_cmpuint (count_pings (&f, 1000, NULL), ==, 0);
  g_assert_cmpint (kill (daemon_pid (&f), SIGCONT), ==, 0);
  g_assert_cmpuint (count_pings (&f, 1000, NULL), >=, 3);
  fixture_clear (&f);
}

/* No WATCHDOG_USEC (or 0): no keep-alives, and health says so. */
static void
test_off_without_usec (void)
{
  Fixture f = { 0 };
  g_autoptr (JsonObject) health = NULL;
  gboolean ready = FALSE;

  fixture_start (&f, "0");
  g_assert_cmpuint (count_pings (&f, 500, &ready), ==, 0);
  g_assert_true (ready);
  health = watchdog_health (&f);
  g_assert_false (json_object_get_boolean_member (health, "enabled"));
  fixture_clear (&f);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/daemon/watchdog/loop-and-store", test_pings_follow_loop_and_store);
  g_test_add_func ("/daemon/watchdog/off", test_off_without_usec);
  return g_test_run ();
}
