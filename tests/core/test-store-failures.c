/* test-store-failures.c: the real coworkd while its database fails under it: another
 * process holding the write lock past the busy timeout, a file size limit that makes every
 * write fail as a full disk does, kill -9 right after answers.
 *
 * What must hold: no client sees an event that is not stored, a call whose events could not
 * be stored does not answer success, no seq is handed out twice (also across a restart),
 * daemon_health shows the trouble, and the daemon recovers by itself.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#define _GNU_SOURCE
#include "cw-test-daemon.h"

#include <signal.h>
#include <sys/resource.h>

static gchar *
db_path (CwTestDaemon *d)
{
  return g_build_filename (d->dir, "daemon", "coworkd.db", NULL);
}

/* Another process (here: this one) takes the write lock and keeps it. */
static sqlite3 *
lock_database (CwTestDaemon *d)
{
  g_autofree gchar *path = db_path (d);
  sqlite3 *db = NULL;

  g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (db, "BEGIN IMMEDIATE", NULL, NULL, NULL), ==, SQLITE_OK);
  return db;
}

static void
unlock_database (sqlite3 *db)
{
  g_assert_cmpint (sqlite3_exec (db, "COMMIT", NULL, NULL, NULL), ==, SQLITE_OK);
  sqlite3_close (db);
}

static JsonObject *
store_health (CwClient *c)
{
  g_autoptr (JsonNode) h = cw_test_daemon_call (c, "daemon_health", NULL);
  JsonObject *events = json_object_get_object_member (cw_test_obj (h), "events");

  return json_object_ref (json_object_get_object_member (events, "store"));
}

static gchar *
send_echo (CwClient *c, const gchar *text)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) params = json_node_new (JSON_NODE_OBJECT);
  gchar *id;

  json_node_take_object (params, json_object_new ());
  json_object_set_string_member (json_node_get_object (params), "text", text);
  id = cw_client_send (c, "example_echo", params, &error);
  g_assert_no_error (error);
  return id;
}

/* Nothing at all arrives on @c for @seconds: no answer, no event. */
static void
assert_silent (CwClient *c, guint seconds)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) line = NULL;

  cw_client_set_timeout (c, seconds);
  line = cw_client_read (c, &error);
  if (line != NULL)
    {
      g_autofree gchar *text = NULL;
      g_autoptr (JsonNode) n = json_node_new (JSON_NODE_OBJECT);
      json_node_set_object (n, line);
      text = cw_json_to_string (n);
      g_error ("expected silence, got %s", text);
    }
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
  cw_client_set_timeout (c, 20);
}

static JsonObject *
next_event (CwClient *c, const gchar *type)
{
  for (;;)
    {
      g_autoptr (GError) error = NULL;
      JsonObject *ev = cw_client_next_event (c, &error);

      g_assert_no_error (error);
      if (g_strcmp0 (json_object_get_string_member (ev, "type"), type) == 0)
        return ev;
      json_object_unref (ev);
    }
}

static JsonObject *
replay (CwClient *c, gint64 after)
{
  g_autofree gchar *p
      = g_strdup_printf ("{\"afterSeq\":%" G_GINT64_FORMAT ",\"limit\":10000}", after);
  g_autoptr (JsonNode) r = cw_test_daemon_call (c, "agent_get_events_since", p);

  return json_object_ref (cw_test_obj (r));
}

static gint64
cursor_of (CwClient *c)
{
  g_autoptr (JsonNode) r = cw_test_daemon_call (c, "agent_subscribe_events", NULL);

  return json_object_get_int_member (cw_test_obj (r), "eventCursor");
}

/* A lock held past the busy timeout, then released: the call waits, then succeeds, and its
 * event is delivered only after it is stored. */
static void
test_locked_then_released (void)
{
  g_autoptr (CwTestDaemon) d = cw_test_daemon_new ();
  g_autoptr (CwClient) c = NULL, watcher = NULL;
  g_autofree gchar *id = NULL;
  sqlite3 *lock;

  cw_test_daemon_start (d);
  c = cw_test_daemon_connect (d);
  watcher = cw_test_daemon_connect (d);
  cursor_of (watcher);

  lock = lock_database (d);
  id = send_echo (c, "during-lock");
  assert_silent (c, 1);
  assert_silent (watcher, 1);
  {
    g_autoptr (CwClient) h = cw_test_daemon_connect (d);
    g_autoptr (JsonObject) st = store_health (h);
    g_assert_false (json_object_get_boolean_member (st, "ok"));
    g_assert_nonnull (strstr (json_object_get_string_member (st, "error"), "locked"));
    g_assert_cmpint (json_object_get_int_member (st, "waitingEvents"), >=, 1);
  }
  unlock_database (lock);
  {
    g_autoptr (GError) error = NULL;
    g_autoptr (JsonObject) r = cw_client_wait_response (c, id, &error);
    g_autoptr (JsonObject) ev = next_event (watcher, "example:echo");
    g_autoptr (JsonObject) st = store_health (c);
    g_assert_no_error (error);
    g_assert_true (json_object_get_boolean_member (r, "success"));
    g_assert_true (json_object_get_boolean_member (st, "ok"));
  }
}

/* Events that could not be stored in time: the call fails, the event never shows, the gap
 * is reported, and after recovery and kill -9 no seq is handed out twice. */
static void
assert_loses_and_recovers (CwTestDaemon *d, void (*fail) (CwTestDaemon *, gpointer *),
                           void (*heal) (CwTestDaemon *, gpointer))
{
  g_autoptr (CwClient) c = NULL, watcher = NULL;
  g_autofree gchar *id = NULL;
  gint64 before, after_seq;
  gpointer state = NULL;

  cw_test_daemon_set_config (d, "[events]\nstore-wait-ms=500\n");
  cw_test_daemon_start (d);
  c = cw_test_daemon_connect (d);
  watcher = cw_test_daemon_connect (d);
  before = cursor_of (watcher);

  fail (d, &state);
  id = send_echo (c, "lost");
  {
    g_autoptr (GError) error = NULL;
    g_autoptr (JsonObject) r = cw_client_wait_response (c, id, &error);
    g_assert_no_error (error);
    g_assert_false (json_object_get_boolean_member (r, "success"));
    g_assert_nonnull (strstr (json_object_get_string_member (r, "error"), "could not be stored"));
  }
  {
    g_autoptr (JsonObject) st = store_health (c);
    g_assert_cmpint (json_object_get_int_member (st, "lostEvents"), >=, 1);
  }
  heal (d, state);

  /* Recovered by itself: the next call works, the watcher is told about the gap, and never
   * sees the lost event. */
  {
    g_autoptr (JsonNode) r = cw_test_daemon_call (c, "example_echo", "{\"text\":\"after\"}");
    g_autoptr (JsonObject) marker = next_event (watcher, "resync");
    g_autoptr (JsonObject) ev = next_event (watcher, "example:echo");
    g_autoptr (JsonObject) rp = replay (c, before);
    g_autoptr (JsonObject) st = store_health (c);
    JsonArray *events = json_object_get_array_member (rp, "events");

    g_assert_cmpstr (
        json_object_get_string_member (json_object_get_object_member (ev, "data"), "text"), ==,
        "after");
    after_seq = json_object_get_int_member (ev, "seq");
    g_assert_true (json_object_get_boolean_member (rp, "hasGap"));
    for (guint i = 0; i < json_array_get_length (events); i++)
      g_assert_cmpstr (
          json_object_get_string_member_with_default (
              json_object_get_object_member (json_array_get_object_element (events, i), "data"),
              "text", ""),
          !=, "lost");
    g_assert_true (json_object_get_boolean_member (st, "ok"));
  }

  /* After kill -9 seqs continue above everything handed out, the lost ones included. */
  cw_client_free (g_steal_pointer (&c));
  cw_client_free (g_steal_pointer (&watcher));
  cw_test_daemon_stop (d, SIGKILL);
  cw_test_daemon_start (d);
  c = cw_test_daemon_connect (d);
  {
    g_autoptr (JsonObject) rp = replay (c, after_seq);
    JsonArray *events = json_object_get_array_member (rp, "events");
    g_assert_cmpuint (json_array_get_length (events), >, 0);
    g_assert_cmpint (json_object_get_int_member (json_array_get_object_element (events, 0), "seq"),
                     >, after_seq);
  }
}

static void
fail_by_lock (CwTestDaemon *d, gpointer *state)
{
  *state = lock_database (d);
}

static void
heal_lock (CwTestDaemon *d, gpointer state)
{
  unlock_database (state);
}

static void
test_locked_too_long (void)
{
  g_autoptr (CwTestDaemon) d = cw_test_daemon_new ();

  assert_loses_and_recovers (d, fail_by_lock, heal_lock);
}

static void
set_fsize (CwTestDaemon *d, rlim_t limit)
{
  struct rlimit rl = { limit, RLIM_INFINITY };
  pid_t pid = (pid_t) g_ascii_strtoll (g_subprocess_get_identifier (d->proc), NULL, 10);

  g_assert_cmpint (prlimit (pid, RLIMIT_FSIZE, &rl, NULL), ==, 0);
}

/* A file size limit of one byte: every write into the database fails as on a full disk. */
static void
fail_by_full_disk (CwTestDaemon *d, gpointer *state)
{
  set_fsize (d, 1);
}

static void
heal_full_disk (CwTestDaemon *d, gpointer state)
{
  set_fsize (d, RLIM_INFINITY);
}

static void
test_disk_full (void)
{
  g_autoptr (CwTestDaemon) d = cw_test_daemon_new ();

  assert_loses_and_recovers (d, fail_by_full_disk, heal_full_disk);
}

/* Answers go out after the events they caused are stored: every answered call's event is
 * there after kill -9 (169 of them were lost before). */
static void
test_answered_survives_kill9 (void)
{
  g_autoptr (CwTestDaemon) d = cw_test_daemon_new ();
  g_autoptr (GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (CwClient) c = NULL;
  gint64 before;

  cw_test_daemon_start (d);
  c = cw_test_daemon_connect (d);
  before = cursor_of (c);
  for (guint i = 0; i < 300; i++)
    {
      g_autofree gchar *text = g_strdup_printf ("answered-%u", i);
      g_ptr_array_add (ids, send_echo (c, text));
    }
  for (guint i = 0; i < ids->len; i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (JsonObject) r = cw_client_wait_response (c, ids->pdata[i], &error);
      g_assert_no_error (error);
      g_assert_true (json_object_get_boolean_member (r, "success"));
    }
  cw_test_daemon_stop (d, SIGKILL);
  cw_client_free (g_steal_pointer (&c));

  cw_test_daemon_start (d);
  c = cw_test_daemon_connect (d);
  {
    g_autoptr (JsonObject) rp = replay (c, before);
    JsonArray *events = json_object_get_array_member (rp, "events");
    guint echoes = 0;
    for (guint i = 0; i < json_array_get_length (events); i++)
      if (g_strcmp0 (
              json_object_get_string_member (json_array_get_object_element (events, i), "type"),
              "example:echo")
          == 0)
        echoes++;
    g_assert_cmpuint (echoes, ==, 300);
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cowork/store-failures/locked-then-released", test_locked_then_released);
  g_test_add_func ("/cowork/store-failures/locked-too-long", test_locked_too_long);
  g_test_add_func ("/cowork/store-failures/disk-full", test_disk_full);
  g_test_add_func ("/cowork/store-failures/answered-survives-kill9", test_answered_survives_kill9);
  return g_test_run ();
}
