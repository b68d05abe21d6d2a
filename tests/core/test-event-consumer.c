/* test-event-consumer.c: durable event consumers on a real SQLite file: order, prefix
 * filter, acknowledgement (now and later), resuming after a restart, pruned gaps, removal.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cowork-host.h"
#include "cw-test-daemon.h"

typedef struct
{
  gchar *dir;
  gchar *db;
  GArray *seqs;     /* delivered, in delivery order */
  GPtrArray *types; /* their types */
  gboolean hold;    /* do not acknowledge: the test does */
  gint64 gap_first, gap_last;
  guint destroyed;
} Fixture;

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  f->dir = g_dir_make_tmp ("cw-consumer-XXXXXX", NULL);
  f->db = g_build_filename (f->dir, "test.db", NULL);
  f->seqs = g_array_new (FALSE, FALSE, sizeof (gint64));
  f->types = g_ptr_array_new_with_free_func (g_free);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  cw_test_rm_rf (f->dir);
  g_free (f->dir);
  g_free (f->db);
  g_array_unref (f->seqs);
  g_ptr_array_unref (f->types);
}

static CwEventBus *
open_bus (Fixture *f, const CwEventRetention *retention)
{
  return cw_test_open_event_bus (f->db, retention);
}

static void
consume (CwEventConsumer *consumer, CwEvent *event, gpointer user_data)
{
  Fixture *f = user_data;
  gint64 seq = cw_event_get_seq (event);

  g_array_append_val (f->seqs, seq);
  g_ptr_array_add (f->types, g_strdup (cw_event_get_type_name (event)));
  if (!f->hold)
    g_assert_true (cw_event_consumer_ack (consumer, seq));
}

static void
gap (CwEventConsumer *consumer, gint64 first, gint64 last, gpointer user_data)
{
  Fixture *f = user_data;

  f->gap_first = first;
  f->gap_last = last;
}

static void
count_destroy (gpointer user_data)
{
  ((Fixture *) user_data)->destroyed++;
}

static CwEventConsumer *
add (Fixture *f, CwEventBus *bus, const gchar *const *prefixes)
{
  g_autoptr (GError) error = NULL;
  CwEventConsumer *c = cw_event_bus_add_consumer (bus, "test", "watcher", prefixes, consume, gap, f,
                                                  count_destroy, &error);

  g_assert_no_error (error);
  g_assert_nonnull (c);
  return c;
}

/* Runs the main loop until nothing is pending (delivery is driven by idle sources). */
static void
drain (void)
{
  for (guint i = 0; i < 10000 && g_main_context_pending (NULL); i++)
    g_main_context_iteration (NULL, FALSE);
}

static gint64
seq_at (Fixture *f, guint i)
{
  return g_array_index (f->seqs, gint64, i);
}

static const gchar *const ab[] = { "a:", "b:", NULL };

static void
test_order_and_prefixes (Fixture *f, gconstpointer data)
{
  g_autoptr (CwEventBus) bus = open_bus (f, NULL);
  CwEventConsumer *c;
  gint64 expected[600];
  guint n = 0;

  /* Stored before the consumer first existed: not delivered. */
  cw_event_bus_emit (bus, "a:old", NULL, NULL);
  c = add (f, bus, ab);
  for (gint i = 0; i < 900; i++)
    {
      const gchar *type = i % 3 == 0 ? "a:x" : i % 3 == 1 ? "other:y" : "b:z";
      gint64 seq = cw_event_bus_emit (bus, type, NULL, NULL);
      if (i % 3 != 1)
        expected[n++] = seq;
    }
  /* Nothing is delivered before it is stored. */
  g_assert_cmpuint (f->seqs->len, ==, 0);
  drain ();
  g_assert_cmpuint (f->seqs->len, ==, n);
  for (guint i = 0; i < n; i++)
    {
      g_assert_cmpint (seq_at (f, i), ==, expected[i]);
      g_assert_true (g_str_has_prefix (g_ptr_array_index (f->types, i), "a:")
                     || g_str_has_prefix (g_ptr_array_index (f->types, i), "b:"));
    }
  g_assert_cmpint (cw_event_consumer_get_cursor (c), ==, cw_event_bus_get_cursor (bus));
}

static void
test_ack_later (Fixture *f, gconstpointer data)
{
  g_autoptr (CwEventBus) bus = open_bus (f, NULL);
  CwEventConsumer *c;
  gint64 first, second;

  f->hold = TRUE;
  c = add (f, bus, ab);
  first = cw_event_bus_emit (bus, "a:1", NULL, NULL);
  second = cw_event_bus_emit (bus, "b:2", NULL, NULL);
  drain ();
  /* One at a time: the second waits for the first's acknowledgement. */
  g_assert_cmpuint (f->seqs->len, ==, 1);
  g_assert_cmpint (seq_at (f, 0), ==, first);
  g_assert_cmpint (cw_event_consumer_get_cursor (c), <, first);

  /* Acknowledging anything else changes nothing. */
  g_assert_false (cw_event_consumer_ack (c, second));
  g_assert_cmpuint (cw_test_counted_warnings (), ==, 1);
  drain ();
  g_assert_cmpuint (f->seqs->len, ==, 1);

  g_assert_true (cw_event_consumer_ack (c, first));
  g_assert_cmpint (cw_event_consumer_get_cursor (c), ==, first);
  drain ();
  g_assert_cmpuint (f->seqs->len, ==, 2);
  g_assert_cmpint (seq_at (f, 1), ==, second);
  g_assert_false (cw_event_consumer_ack (c, first)); /* twice */
  g_assert_true (cw_event_consumer_ack (c, second));
}

static void
test_restart_resumes (Fixture *f, gconstpointer data)
{
  CwEventBus *bus = open_bus (f, NULL);
  gint64 seqs[6];

  add (f, bus, ab);
  for (guint i = 0; i < 3; i++)
    seqs[i] = cw_event_bus_emit (bus, "a:before", NULL, NULL);
  drain ();
  g_assert_cmpuint (f->seqs->len, ==, 3);
  /* The fourth is delivered but never acknowledged: the daemon goes away first. */
  f->hold = TRUE;
  seqs[3] = cw_event_bus_emit (bus, "b:held", NULL, NULL);
  drain ();
  g_assert_cmpuint (f->seqs->len, ==, 4);
  g_object_unref (bus);
  g_assert_cmpuint (f->destroyed, ==, 1);

  /* Events emitted while no consumer is registered (another program, an early boot). */
  bus = open_bus (f, NULL);
  seqs[4] = cw_event_bus_emit (bus, "a:while-away", NULL, NULL);
  cw_event_bus_emit (bus, "c:not-ours", NULL, NULL);
  seqs[5] = cw_event_bus_emit (bus, "b:while-away", NULL, NULL);
  cw_event_bus_flush (bus);
  g_object_unref (bus);

  bus = open_bus (f, NULL);
  f->hold = FALSE;
  add (f, bus, ab);
  drain ();
  /* The held one again (at least once), then the rest, in order. */
  g_assert_cmpuint (f->seqs->len, ==, 7);
  g_assert_cmpint (seq_at (f, 4), ==, seqs[3]);
  g_assert_cmpint (seq_at (f, 5), ==, seqs[4]);
  g_assert_cmpint (seq_at (f, 6), ==, seqs[5]);
  g_object_unref (bus);

  /* Everything acknowledged: nothing comes back. */
  bus = open_bus (f, NULL);
  add (f, bus, ab);
  drain ();
  g_assert_cmpuint (f->seqs->len, ==, 7);
  g_object_unref (bus);
}

static void
test_pruned_gap (Fixture *f, gconstpointer data)
{
  CwEventRetention retention = { 100, 50, 0, 1000000 };
  g_autoptr (GError) error = NULL;
  CwEventBus *bus = open_bus (f, &retention);
  gint64 cursor, last = 0;

  add (f, bus, ab);
  cw_event_bus_emit (bus, "a:seen", NULL, NULL);
  drain ();
  g_assert_cmpuint (f->seqs->len, ==, 1);
  cursor = seq_at (f, 0);
  g_object_unref (bus);

  bus = open_bus (f, &retention);
  for (guint i = 0; i < 200; i++)
    last = cw_event_bus_emit (bus, "a:many", NULL, NULL);
  cw_event_bus_flush (bus);
  g_assert_cmpint (cw_event_bus_prune (bus, &error), >, 0);
  g_object_unref (bus);

  bus = open_bus (f, &retention);
  add (f, bus, ab);
  drain ();
  /* The pruned ones are reported as a gap, the 50 kept are delivered. */
  g_assert_cmpint (f->gap_first, ==, cursor + 1);
  g_assert_cmpint (f->gap_last, ==, last - 50);
  g_assert_cmpuint (f->seqs->len, ==, 1 + 50);
  g_assert_cmpint (seq_at (f, 1), ==, last - 49);
  g_assert_cmpint (seq_at (f, 50), ==, last);
  g_object_unref (bus);
}

static void
test_remove_and_names (Fixture *f, gconstpointer data)
{
  g_autoptr (CwEventBus) bus = open_bus (f, NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (CwEventConsumer) c = NULL;
  const gchar *const none[] = { NULL };
  gint64 seq;

  f->hold = TRUE;
  c = g_object_ref (add (f, bus, ab));
  g_assert_null (
      cw_event_bus_add_consumer (bus, "test", "watcher", ab, consume, NULL, f, NULL, &error));
  g_assert_error (error, CW_ERROR, CW_ERROR_EXISTS);
  g_clear_error (&error);
  g_assert_null (
      cw_event_bus_add_consumer (bus, "test", "bad name", ab, consume, NULL, f, NULL, &error));
  g_assert_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS);
  g_clear_error (&error);
  g_assert_null (
      cw_event_bus_add_consumer (bus, "test", "empty", none, consume, NULL, f, NULL, &error));
  g_assert_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS);
  g_clear_error (&error);

  seq = cw_event_bus_emit (bus, "a:1", NULL, NULL);
  drain ();
  g_assert_cmpuint (f->seqs->len, ==, 1);
  /* The owner goes away with the event in flight: a late acknowledgement is refused. */
  g_assert_cmpuint (cw_event_bus_remove_consumers (bus, "test"), ==, 1);
  g_assert_cmpuint (f->destroyed, ==, 1);
  g_assert_false (cw_event_consumer_ack (c, seq));
  cw_event_bus_emit (bus, "a:2", NULL, NULL);
  drain ();
  g_assert_cmpuint (f->seqs->len, ==, 1);

  /* Added again, it resumes with the unacknowledged one; forgotten, it starts afresh. */
  f->hold = FALSE;
  add (f, bus, ab);
  drain ();
  g_assert_cmpuint (f->seqs->len, ==, 3);
  g_assert_cmpint (seq_at (f, 1), ==, seq);
  g_assert_true (cw_event_bus_remove_consumer (bus, "test", "watcher", TRUE));
  g_assert_false (cw_event_bus_remove_consumer (bus, "test", "watcher", TRUE));
  cw_event_bus_emit (bus, "a:3", NULL, NULL);
  cw_event_bus_flush (bus);
  add (f, bus, ab);
  drain ();
  g_assert_cmpuint (f->seqs->len, ==, 3);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  cw_test_count_warnings ("acknowledged");
#define ADD(path, func) g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/cowork/consumer/order-and-prefixes", test_order_and_prefixes);
  ADD ("/cowork/consumer/ack-later", test_ack_later);
  ADD ("/cowork/consumer/restart-resumes", test_restart_resumes);
  ADD ("/cowork/consumer/pruned-gap", test_pruned_gap);
  ADD ("/cowork/consumer/remove-and-names", test_remove_and_names);
#undef ADD
  return g_test_run ();
}
