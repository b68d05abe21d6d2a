/* test-event-bus.c: ordering, persistence of seq, replay ranges, gaps, retention and slow
 * subscribers, on a real SQLite file.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cowork-host.h"
#include "cw-test-daemon.h"

typedef struct
{
  gchar *dir;
  gchar *db;
} Fixture;

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  f->dir = g_dir_make_tmp ("cw-bus-XXXXXX", NULL);
  f->db = g_build_filename (f->dir, "test.db", NULL);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  cw_test_rm_rf (f->dir);
  g_free (f->dir);
  g_free (f->db);
}

static CwEventBus *
open_bus (Fixture *f, const CwEventRetention *retention)
{
  return cw_test_open_event_bus (f->db, retention);
}

static JsonObject *
data_with (const gchar *key, gint64 value)
{
  JsonObject *o = json_object_new ();

  json_object_set_int_member (o, key, value);
  return o;
}

static JsonObject *
since (CwEventBus *bus, gint64 after, gint64 limit)
{
  g_autoptr (GError) error = NULL;
  JsonObject *r = cw_event_bus_get_events_since (bus, after, limit, &error);

  g_assert_no_error (error);
  return r;
}

static void
assert_seqs (JsonObject *r, gint64 first, gint64 last)
{
  JsonArray *events = json_object_get_array_member (r, "events");

  g_assert_cmpint (json_array_get_length (events), ==, last - first + 1);
  for (guint i = 0; i < json_array_get_length (events); i++)
    g_assert_cmpint (json_object_get_int_member (json_array_get_object_element (events, i), "seq"),
                     ==, first + i);
}

static void
test_seq_persisted_across_restart (Fixture *f, gconstpointer data)
{
  g_autofree gchar *boot1 = NULL;
  CwEventBus *bus = open_bus (f, NULL);

  g_assert_cmpint (cw_event_bus_emit (bus, "a", NULL, NULL), ==, 1);
  g_assert_cmpint (cw_event_bus_emit (bus, "b", "sess_1", data_with ("n", 2)), ==, 2);
  g_assert_cmpint (cw_event_bus_get_cursor (bus), ==, 2);
  boot1 = g_strdup (cw_event_bus_get_boot_id (bus));
  g_object_unref (bus);

  bus = open_bus (f, NULL);
  g_assert_cmpstr (cw_event_bus_get_boot_id (bus), !=, boot1);
  g_assert_cmpint (cw_event_bus_get_cursor (bus), ==, 2);
  g_assert_cmpint (cw_event_bus_emit (bus, "c", NULL, NULL), ==, 3);
  {
    /* Events of the earlier boot come back from disk, in order, with their data. */
    g_autoptr (JsonObject) r = since (bus, 0, 100);
    JsonObject *second
        = json_array_get_object_element (json_object_get_array_member (r, "events"), 1);
    assert_seqs (r, 1, 3);
    g_assert_cmpstr (json_object_get_string_member (second, "sessionId"), ==, "sess_1");
    g_assert_cmpint (
        json_object_get_int_member (json_object_get_object_member (second, "data"), "n"), ==, 2);
    g_assert_cmpint (json_object_get_int_member (second, "schemaVersion"), ==, 1);
    g_assert_false (json_object_get_boolean_member (r, "hasGap"));
  }
  g_object_unref (bus);
}

static void
test_replay_ranges_and_limit (Fixture *f, gconstpointer data)
{
  CwEventRetention retention = { 100, 50000, 7 * 86400, 1000000 };
  g_autoptr (CwEventBus) bus = open_bus (f, &retention);

  for (gint i = 1; i <= 350; i++)
    cw_event_bus_emit (bus, "tick", NULL, data_with ("i", i));

  {
    /* From the ring (the newest 100). */
    g_autoptr (JsonObject) r = since (bus, 300, 10);
    assert_seqs (r, 301, 310);
    g_assert_true (json_object_get_boolean_member (r, "hasMore"));
    /* The last one returned: asking again from it misses nothing. */
    g_assert_cmpint (json_object_get_int_member (r, "eventCursor"), ==, 310);
  }
  {
    /* Older than the ring: from SQLite, the oldest `limit` first, hasMore set. */
    g_autoptr (JsonObject) r = since (bus, 10, 25);
    assert_seqs (r, 11, 35);
    g_assert_true (json_object_get_boolean_member (r, "hasMore"));
    g_assert_cmpint (json_object_get_int_member (r, "eventCursor"), ==, 35);
    g_assert_false (json_object_get_boolean_member (r, "hasGap"));
    g_assert_cmpint (json_object_get_int_member (r, "replayStart"), ==, 1);
  }
  {
    g_autoptr (JsonObject) r = since (bus, 340, 2000);
    assert_seqs (r, 341, 350);
    g_assert_false (json_object_get_boolean_member (r, "hasMore"));
    g_assert_cmpint (json_object_get_int_member (r, "eventCursor"), ==, 350);
  }
  {
    g_autoptr (JsonObject) r = since (bus, 350, 10);
    assert_seqs (r, 351, 350);
    g_assert_false (json_object_get_boolean_member (r, "hasGap"));
  }
  {
    /* A cursor this database never handed out is a gap (e.g. the db was replaced). */
    g_autoptr (JsonObject) r = since (bus, 9999, 10);
    g_assert_true (json_object_get_boolean_member (r, "hasGap"));
  }
}

static void
test_retention_and_gap (Fixture *f, gconstpointer data)
{
  /* Keep the newest 50, regardless of age (keep_seconds = 0). */
  CwEventRetention retention = { 100, 50, 0, 1000000 };
  g_autoptr (CwEventBus) bus = open_bus (f, &retention);
  g_autoptr (GError) error = NULL;

  for (gint i = 1; i <= 200; i++)
    cw_event_bus_emit (bus, "tick", NULL, NULL);
  cw_event_bus_flush (bus);
  g_assert_cmpint (cw_event_bus_prune (bus, &error), ==, 150);
  g_assert_no_error (error);
  {
    g_autoptr (JsonObject) r = since (bus, 10, 1000);
    g_assert_true (json_object_get_boolean_member (r, "hasGap"));
    g_assert_cmpint (json_object_get_int_member (r, "replayStart"), ==, 151);
  }
  {
    g_autoptr (JsonObject) r = since (bus, 150, 1000);
    g_assert_false (json_object_get_boolean_member (r, "hasGap"));
    assert_seqs (r, 151, 200);
  }
  {
    /* afterSeq 0 means "everything you hold": never a gap. */
    g_autoptr (JsonObject) r = since (bus, 0, 1000);
    g_assert_false (json_object_get_boolean_member (r, "hasGap"));
  }
}

static void
test_retention_keeps_recent (Fixture *f, gconstpointer data)
{
  /* Beyond keep_events but younger than keep_seconds: kept. */
  CwEventRetention retention = { 100, 10, 3600, 1000000 };
  g_autoptr (CwEventBus) bus = open_bus (f, &retention);
  g_autoptr (GError) error = NULL;

  for (gint i = 1; i <= 100; i++)
    cw_event_bus_emit (bus, "tick", NULL, NULL);
  cw_event_bus_flush (bus);
  g_assert_cmpint (cw_event_bus_prune (bus, &error), ==, 0);
  /* The hard ceiling always applies. */
  retention.max_events = 40;
  {
    g_autoptr (CwEventBus) bus2 = NULL;
    g_clear_object (&bus);
    bus2 = open_bus (f, &retention);
    g_assert_cmpint (cw_event_bus_prune (bus2, &error), ==, 60);
  }
}

static void
on_wake (CwEventSubscriber *sub, gpointer user_data)
{
  (*(guint *) user_data)++;
}

static void
test_slow_subscriber (Fixture *f, gconstpointer data)
{
  g_autoptr (CwEventBus) bus = open_bus (f, NULL);
  guint wakes = 0;
  CwEventSubscriber *fast = cw_event_bus_subscribe (bus, 1000, on_wake, &wakes);
  CwEventSubscriber *slow = cw_event_bus_subscribe (bus, 8, NULL, NULL);
  CwEvent *ev;
  gint64 expect = 1;

  for (gint i = 1; i <= 5; i++)
    cw_event_bus_emit (bus, "a", NULL, NULL);
  cw_event_bus_flush (bus);
  g_assert_cmpuint (wakes, ==, 1);
  g_assert_cmpuint (cw_event_subscriber_get_queued (slow), ==, 5);
  /* Takes two, then stops reading while 200 more arrive. */
  cw_event_unref (cw_event_subscriber_pop (slow));
  cw_event_unref (cw_event_subscriber_pop (slow));
  for (gint i = 1; i <= 200; i++)
    cw_event_bus_emit (bus, "b", NULL, NULL);
  cw_event_bus_flush (bus);

  /* Memory stays bounded: one resync marker, carrying what the client has. */
  g_assert_cmpuint (cw_event_subscriber_get_queued (slow), ==, 1);
  ev = cw_event_subscriber_pop (slow);
  g_assert_cmpstr (cw_event_get_type_name (ev), ==, "resync");
  g_assert_cmpint (json_object_get_int_member (cw_event_get_data (ev), "lastDeliveredSeq"), ==, 2);
  cw_event_unref (ev);
  g_assert_null (cw_event_subscriber_pop (slow));
  /* After the marker the subscriber is live again. */
  cw_event_bus_emit (bus, "c", NULL, NULL);
  cw_event_bus_flush (bus);
  ev = cw_event_subscriber_pop (slow);
  g_assert_cmpint (cw_event_get_seq (ev), ==, 206);
  cw_event_unref (ev);

  /* The fast one got everything in order. */
  while ((ev = cw_event_subscriber_pop (fast)) != NULL)
    {
      g_assert_cmpint (cw_event_get_seq (ev), ==, expect++);
      cw_event_unref (ev);
    }
  g_assert_cmpint (expect, ==, 207);
  cw_event_bus_unsubscribe (bus, fast);
  cw_event_bus_unsubscribe (bus, slow);
}

static void
on_event (CwEvent *event, gpointer user_data)
{
  g_ptr_array_add (user_data, g_strdup (cw_event_get_type_name (event)));
}

static void
test_listeners_and_correlation (Fixture *f, gconstpointer data)
{
  g_autoptr (CwEventBus) bus = open_bus (f, NULL);
  g_autoptr (GPtrArray) seen = g_ptr_array_new_with_free_func (g_free);
  JsonObject *d = json_object_new ();
  guint id = cw_event_bus_add_listener (bus, "stream:", on_event, seen, NULL);
  g_autoptr (JsonObject) r = NULL;
  JsonArray *events;

  json_object_set_string_member (d, "runId", "run_1");
  cw_event_bus_emit (bus, "stream:start", "s1", d);
  cw_event_bus_emit (bus, "stream:chunk", "s1", NULL);
  cw_event_bus_emit (bus, "other", NULL, NULL);
  cw_event_bus_emit (bus, "other", NULL, NULL);
  cw_event_bus_remove_listener (bus, id);
  cw_event_bus_emit (bus, "stream:done", "s1", NULL);
  g_assert_cmpuint (seen->len, ==, 2);

  r = since (bus, 0, 10);
  events = json_object_get_array_member (r, "events");
#define CORR(i)                                                                                    \
  json_object_get_string_member (json_array_get_object_element (events, i), "correlationId")
  g_assert_cmpstr (CORR (0), ==, "s1:run_1");
  g_assert_cmpstr (CORR (1), ==, "s1:run_1");
  g_assert_cmpstr (CORR (2), ==, "__global__:other:3");
  g_assert_cmpstr (CORR (3), ==, "__global__:other:3");
  g_assert_cmpstr (CORR (4), ==, "s1:run_1");
#undef CORR
}

/* A disk that refuses writes (full, read-only) must not silence the daemon: events still
 * reach subscribers, and health says they are not being stored. */
typedef struct
{
  gboolean called;
  gboolean failed;
} StoredWait;

static void
on_stored (const GError *error, gpointer user_data)
{
  StoredWait *w = user_data;

  w->called = TRUE;
  w->failed = error != NULL;
}

static void
spin_until (gboolean *flag)
{
  gint64 deadline = g_get_monotonic_time () + 10 * G_TIME_SPAN_SECOND;

  while (!*flag)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, TRUE);
    }
}

static JsonObject *
store_health (CwEventBus *bus)
{
  g_autoptr (JsonObject) health = cw_event_bus_get_health (bus);

  return json_object_ref (json_object_get_object_member (health, "store"));
}

/* A failing store: events wait (never delivered unstored), are stored once it is back, and
 * are given up on (a gap, a resync marker, an error to the waiting call) if it stays down;
 * their seqs are never handed out again. */
static void
test_store_failure (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (CwStore) store = cw_store_open (f->db, &error);
  g_autoptr (CwEventBus) bus = NULL;
  StoredWait held = { 0 }, lost = { 0 };
  CwEventSubscriber *sub;
  CwEvent *ev;

  g_assert_true (cw_core_schema_migrate (store, &error));
  bus = cw_event_bus_new (store, NULL, &error);
  sub = cw_event_bus_subscribe (bus, 100, NULL, NULL);
  cw_event_bus_emit (bus, "stored", NULL, NULL);
  cw_event_bus_flush (bus);
  ev = cw_event_subscriber_pop (sub);
  g_assert_cmpstr (cw_event_get_type_name (ev), ==, "stored");
  cw_event_unref (ev);

  /* The database refuses every write from now on, as a full or read-only disk would. */
  cw_test_count_warnings ("events cannot be stored");
  g_assert_true (cw_store_exec (store, "PRAGMA query_only = ON", &error));
  g_assert_cmpint (cw_event_bus_emit (bus, "held", NULL, NULL), ==, 2);
  cw_event_bus_flush (bus);
  g_assert_null (cw_event_subscriber_pop (sub));
  g_assert_cmpuint (cw_test_counted_warnings (), ==, 1);
  {
    g_autoptr (JsonObject) st = store_health (bus);
    g_assert_false (json_object_get_boolean_member (st, "ok"));
    g_assert_cmpint (json_object_get_int_member (st, "waitingEvents"), ==, 1);
  }
  cw_event_bus_when_stored (bus, 1, 2, on_stored, &held);
  g_assert_false (held.called);

  /* Back: the retry stores it, then delivers it. */
  g_assert_true (cw_store_exec (store, "PRAGMA query_only = OFF", &error));
  spin_until (&held.called);
  g_assert_false (held.failed);
  ev = cw_event_subscriber_pop (sub);
  g_assert_cmpstr (cw_event_get_type_name (ev), ==, "held");
  cw_event_unref (ev);

  /* Down for longer than the store may wait: given up on. */
  cw_event_bus_set_store_wait (bus, 0);
  g_assert_true (cw_store_exec (store, "PRAGMA query_only = ON", &error));
  g_assert_cmpint (cw_event_bus_emit (bus, "lost", NULL, NULL), ==, 3);
  cw_event_bus_flush (bus);
  cw_event_bus_when_stored (bus, 2, 3, on_stored, &lost);
  spin_until (&lost.called);
  g_assert_true (lost.failed);
  ev = cw_event_subscriber_pop (sub);
  g_assert_cmpstr (cw_event_get_type_name (ev), ==, "resync");
  g_assert_cmpstr (json_object_get_string_member (cw_event_get_data (ev), "reason"), ==,
                   "events_not_stored");
  cw_event_unref (ev);

  g_assert_true (cw_store_exec (store, "PRAGMA query_only = OFF", &error));
  g_assert_cmpint (cw_event_bus_emit (bus, "after", NULL, NULL), ==, 4);
  while (!cw_event_bus_is_storing (bus))
    g_main_context_iteration (NULL, TRUE);
  {
    g_autoptr (JsonObject) r = cw_event_bus_get_events_since (bus, 2, 10, &error);
    g_assert_no_error (error);
    assert_seqs (r, 4, 4);
    g_assert_true (json_object_get_boolean_member (r, "hasGap"));
  }
  cw_event_bus_unsubscribe (bus, sub);
  g_clear_object (&bus);

  /* After a restart the lost seq is not handed out again. */
  bus = cw_event_bus_new (store, NULL, &error);
  g_assert_cmpint (cw_event_bus_emit (bus, "next", NULL, NULL), ==, 5);
}

static JsonObject *
big_data (gint64 i, gsize size)
{
  JsonObject *o = data_with ("i", i);
  g_autofree gchar *text = g_strnfill (size, 'x');

  json_object_set_string_member (o, "content", text);
  return o;
}

static gint64
ring_health (CwEventBus *bus, const gchar *member)
{
  g_autoptr (JsonObject) health = cw_event_bus_get_health (bus);

  return json_object_get_int_member (health, member);
}

/* The in-memory ring holds at most ring_bytes of JSON: a few very large events (a long
 * reply's text) push the older ones out, the newest one stays even when it alone is larger,
 * and a replay answers the same from the store as from memory. */
static void
test_ring_bytes (Fixture *f, gconstpointer data)
{
  CwEventRetention retention = { 1000, 50000, 7 * 86400, 1000000, 64 * 1024 };
  g_autoptr (CwEventBus) bus = open_bus (f, &retention);

  for (gint i = 1; i <= 200; i++)
    cw_event_bus_emit (bus, "tick", NULL, data_with ("i", i));
  cw_event_bus_flush (bus);
  /* Small events: the count decides. */
  g_assert_cmpint (ring_health (bus, "ringEvents"), ==, 200);
  for (gint i = 201; i <= 210; i++)
    cw_event_bus_emit (bus, "big", NULL, big_data (i, 20 * 1024));
  cw_event_bus_flush (bus);
  g_assert_cmpint (ring_health (bus, "ringBytes"), <=, 64 * 1024);
  g_assert_cmpint (ring_health (bus, "ringEvents"), <, 10);
  {
    /* 200..210: from the store now, whole. */
    g_autoptr (JsonObject) r = since (bus, 199, 100);
    JsonArray *events = json_object_get_array_member (r, "events");
    assert_seqs (r, 200, 210);
    g_assert_cmpuint (
        strlen (json_object_get_string_member (
            json_object_get_object_member (json_array_get_object_element (events, 5), "data"),
            "content")),
        ==, 20 * 1024);
  }
  cw_event_bus_emit (bus, "huge", NULL, big_data (211, 100 * 1024));
  cw_event_bus_flush (bus);
  g_assert_cmpint (ring_health (bus, "ringEvents"), ==, 1);
  g_assert_cmpint (ring_health (bus, "ringBytes"), >, 100 * 1024);
  for (gint i = 212; i <= 400; i++)
    cw_event_bus_emit (bus, "tick", NULL, data_with ("i", i));
  cw_event_bus_flush (bus);
  /* Once small events follow, the huge one goes; the ring never kept more than it may. */
  g_assert_cmpint (ring_health (bus, "ringBytes"), <=, 64 * 1024);
  g_assert_cmpint (ring_health (bus, "ringEvents"), ==, 189);
  {
    g_autoptr (JsonObject) r = since (bus, 205, 1000);
    assert_seqs (r, 206, 400);
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(path, fn) g_test_add (path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
  ADD ("/cowork/bus/seq-persisted-across-restart", test_seq_persisted_across_restart);
  ADD ("/cowork/bus/replay-ranges-and-limit", test_replay_ranges_and_limit);
  ADD ("/cowork/bus/retention-and-gap", test_retention_and_gap);
  ADD ("/cowork/bus/retention-keeps-recent", test_retention_keeps_recent);
  ADD ("/cowork/bus/slow-subscriber", test_slow_subscriber);
  ADD ("/cowork/bus/listeners-and-correlation", test_listeners_and_correlation);
  ADD ("/cowork/bus/store-failure", test_store_failure);
  ADD ("/cowork/bus/ring-bytes", test_ring_bytes);
#undef ADD
  return g_test_run ();
}
