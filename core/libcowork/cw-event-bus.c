/* cw-event-bus.c: the sequenced event bus.
 *
 * seq is global and persisted: the next seq after a restart continues from the highest one
 * ever stored. Events are written to SQLite in batches (one transaction per main-loop turn or
 * per 512 events) and handed to subscribers only once stored, so no client can hold a seq
 * that a crash could hand out again. In-process listeners see an event as it is emitted.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cowork-host.h"
#include "cw-event-consumer-private.h"
#include "cw-event-private.h"
#include "cw-event-subscriber-private.h"
#include "cowork.h"

#define FLUSH_BATCH       512
#define RETRY_MIN_MS      100
#define RETRY_MAX_MS      2000
#define MAX_PENDING       50000 /* events kept while the store fails */
#define MAX_LOST_RANGES   1024
#define PRUNE_EVERY       1024
#define REPLAY_LIMIT_MAX  10000
#define REPLAY_LIMIT_DFLT 2000

typedef struct
{
  guint id;
  gchar *prefix;
  CwEventListenerFunc func;
  gpointer user_data;
  GDestroyNotify destroy;
} Listener;

struct _CwEventBus
{
  GObject parent_instance;
  CwStore *store;
  CwEventRetention retention;
  gchar *boot_id;
  gint64 last_seq;       /* handed out */
  gint64 stored_seq;     /* stored and delivered */
  gint64 pruned_through; /* every seq <= this that existed is deleted */
  /* RingEntry, oldest first from ring_head (the slots before it are empty): at most
   * retention.ring_size events and about retention.ring_bytes of their JSON text */
  GPtrArray *ring;
  guint ring_head;
  gsize ring_bytes;   /* JSON text of the events in the ring */
  GPtrArray *pending; /* CwEvent not stored yet */
  guint flush_id;
  GList *listeners;
  guint next_listener_id;
  GPtrArray *subscribers;
  GPtrArray *consumers;    /* CwEventConsumer, durable, fed only stored events */
  GHashTable *correlation; /* sessionId or __global__ -> correlation id */
  gint64 since_prune;
  gchar *last_store_error;
  guint64 store_failures;
  /* While the store fails: events wait (not delivered), the store is retried on a timer,
   * and after store_wait_ms they are given up: lost, a gap, never delivered. */
  guint store_wait_ms;
  gboolean trouble;
  gint64 trouble_since_ms;
  gint64 waiting_since_us; /* monotonic time the oldest waiting event was emitted */
  guint retry_id;
  guint retry_ms;
  gint64 lost_through; /* the highest seq given up on */
  gboolean lost_dirty; /* lost_through not written to event_meta yet */
  guint64 lost_events;
  GArray *lost_ranges;  /* LostRange, oldest first */
  GList *store_waiters; /* StoreWaiter */
};

typedef struct
{
  gint64 from, to; /* inclusive */
} LostRange;

typedef struct
{
  gint64 since, upto;
  CwEventStoredFunc func;
  gpointer data;
} StoreWaiter;

G_DEFINE_FINAL_TYPE (CwEventBus, cw_event_bus, G_TYPE_OBJECT)

static gboolean try_store (CwEventBus *self);
static void give_up (CwEventBus *self);
static void fail_all_waiters (CwEventBus *self, const gchar *why);

static void
listener_free (Listener *l)
{
  if (l->destroy != NULL)
    l->destroy (l->user_data);
  g_free (l->prefix);
  g_free (l);
}

static void
cw_event_bus_finalize (GObject *object)
{
  CwEventBus *self = CW_EVENT_BUS (object);

  cw_event_bus_flush (self);
  if (self->trouble && self->pending->len > 0)
    try_store (self); /* one last chance at shutdown */
  g_clear_handle_id (&self->flush_id, g_source_remove);
  g_clear_handle_id (&self->retry_id, g_source_remove);
  fail_all_waiters (self, "the daemon is stopping");
  g_array_unref (self->lost_ranges);
  while (self->consumers->len > 0)
    {
      CwEventConsumer *consumer = g_ptr_array_index (self->consumers, 0);
      cw_event_bus_remove_consumer (self, cw_event_consumer_get_owner (consumer),
                                    cw_event_consumer_get_name (consumer), FALSE);
    }
  g_ptr_array_unref (self->consumers);
  g_list_free_full (self->listeners, (GDestroyNotify) listener_free);
  g_ptr_array_unref (self->subscribers);
  for (guint i = self->ring_head; i < self->ring->len; i++)
    g_free (g_ptr_array_index (self->ring, i));
  g_ptr_array_unref (self->ring);
  g_ptr_array_unref (self->pending);
  g_hash_table_unref (self->correlation);
  g_clear_object (&self->store);
  g_free (self->boot_id);
  g_free (self->last_store_error);
  G_OBJECT_CLASS (cw_event_bus_parent_class)->finalize (object);
}

static void
cw_event_bus_class_init (CwEventBusClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = cw_event_bus_finalize;
}

static void
cw_event_bus_init (CwEventBus *self)
{
  self->ring = g_ptr_array_new ();
  self->pending = g_ptr_array_new_with_free_func ((GDestroyNotify) cw_event_unref);
  self->subscribers = g_ptr_array_new_with_free_func ((GDestroyNotify) cw_event_subscriber_free);
  self->consumers = g_ptr_array_new_with_free_func (g_object_unref);
  self->lost_ranges = g_array_new (FALSE, FALSE, sizeof (LostRange));
  self->store_wait_ms = CW_EVENT_STORE_WAIT_MS;
  self->correlation = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
}

static gint64
read_meta (CwEventBus *self, const gchar *key)
{
  sqlite3_stmt *stmt
      = cw_store_prepare (self->store, "SELECT value FROM event_meta WHERE key = ?1", NULL);
  gint64 value = 0;

  if (stmt == NULL)
    return 0;
  sqlite3_bind_text (stmt, 1, key, -1, SQLITE_STATIC);
  if (sqlite3_step (stmt) == SQLITE_ROW)
    value = sqlite3_column_int64 (stmt, 0);
  sqlite3_reset (stmt);
  return value;
}

static gboolean
write_meta (CwEventBus *self, const gchar *key, gint64 value, GError **error)
{
  sqlite3_stmt *stmt = cw_store_prepare (
      self->store, "INSERT OR REPLACE INTO event_meta (key, value) VALUES (?1, ?2)", error);

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, key, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 2, value);
  if (sqlite3_step (stmt) != SQLITE_DONE)
    return cw_store_set_error (self->store, error, "failed to write event metadata");
  sqlite3_reset (stmt);
  return TRUE;
}

static gint64
max_stored_seq (CwEventBus *self)
{
  sqlite3_stmt *stmt = cw_store_prepare (self->store, "SELECT MAX(seq) FROM events", NULL);
  gint64 value = 0;

  if (stmt != NULL && sqlite3_step (stmt) == SQLITE_ROW)
    value = sqlite3_column_int64 (stmt, 0);
  if (stmt != NULL)
    sqlite3_reset (stmt);
  return value;
}

CwEventBus *
cw_event_bus_new (CwStore *store, const CwEventRetention *retention, GError **error)
{
  g_autoptr (CwEventBus) self = g_object_new (CW_TYPE_EVENT_BUS, NULL);
  CwEventRetention defaults = CW_EVENT_RETENTION_DEFAULT;

  self->store = g_object_ref (store);
  self->retention = retention != NULL ? *retention : defaults;
  self->retention.ring_size = MAX (self->retention.ring_size, 100);
  if (self->retention.ring_bytes == 0)
    self->retention.ring_bytes = CW_EVENT_RING_BYTES_DEFAULT;
  self->boot_id = cw_make_id ("boot");
  self->last_seq = MAX (read_meta (self, "last_seq"), max_stored_seq (self));
  self->stored_seq = self->last_seq;
  self->pruned_through = read_meta (self, "pruned_through");
  self->lost_through = read_meta (self, "lost_through");
  g_debug ("event bus resumes after seq %" G_GINT64_FORMAT ", boot %s", self->last_seq,
           self->boot_id);
  (void) error;
  return g_steal_pointer (&self);
}

const gchar *
cw_event_bus_get_boot_id (CwEventBus *self)
{
  g_return_val_if_fail (CW_IS_EVENT_BUS (self), NULL);
  return self->boot_id;
}

gint64
cw_event_bus_get_cursor (CwEventBus *self)
{
  g_return_val_if_fail (CW_IS_EVENT_BUS (self), 0);
  cw_event_bus_flush (self);
  return self->stored_seq;
}

/* contract §3.2: runId wins and is remembered per session; else the last remembered one. */
static gchar *
correlation_for (CwEventBus *self, const gchar *type, const gchar *session_id, JsonObject *data,
                 gint64 seq)
{
  const gchar *key = session_id != NULL ? session_id : "__global__";
  const gchar *run_id = NULL;
  const gchar *known;
  gchar *value;

  if (json_object_has_member (data, "runId"))
    run_id = json_object_get_string_member_with_default (data, "runId", NULL);
  if ((run_id == NULL || *run_id == '\0') && json_object_has_member (data, "run"))
    {
      JsonNode *run = json_object_get_member (data, "run");
      if (JSON_NODE_HOLDS_OBJECT (run))
        run_id
            = json_object_get_string_member_with_default (json_node_get_object (run), "id", NULL);
    }
  if (run_id != NULL && *run_id != '\0')
    value = g_strdup_printf ("%s:%s", key, run_id);
  else if ((known = g_hash_table_lookup (self->correlation, key)) != NULL)
    return g_strdup (known);
  else
    value = g_strdup_printf ("%s:%s:%" G_GINT64_FORMAT, key, type, seq);
  g_hash_table_replace (self->correlation, g_strdup (key), g_strdup (value));
  return value;
}

/* What the ring keeps of an event: its seq and JSON line, one allocation. Not the event
 * itself, whose parsed data is several times the size of its text and is needed only while
 * listeners and subscribers still hold it. */
typedef struct
{
  gint64 seq;
  gsize len;
  gchar json[];
} RingEntry;

static guint
ring_count (CwEventBus *self)
{
  return self->ring->len - self->ring_head;
}

static void
ring_drop_oldest (CwEventBus *self)
{
  RingEntry *oldest = g_ptr_array_index (self->ring, self->ring_head);

  self->ring_bytes -= oldest->len;
  g_free (oldest);
  g_ptr_array_index (self->ring, self->ring_head++) = NULL;
  /* Slide the entries down once half of the array is empty slots. */
  if (self->ring_head >= 64 && self->ring_head * 2 >= self->ring->len)
    {
      guint n = ring_count (self);
      memmove (self->ring->pdata, self->ring->pdata + self->ring_head, n * sizeof (gpointer));
      g_ptr_array_set_size (self->ring, n);
      self->ring_head = 0;
    }
}

/* The ring is bounded by count and by bytes: a few very large events (a long reply's text)
 * must not stay in memory for thousands of events. The newest event always stays; older
 * ones are replayed from the store. */
static void
ring_push (CwEventBus *self, CwEvent *event)
{
  gsize len;
  const gchar *json = cw_event_to_json (event, &len);
  RingEntry *entry = g_malloc (sizeof (RingEntry) + len);

  entry->seq = cw_event_get_seq (event);
  entry->len = len;
  memcpy (entry->json, json, len);
  g_ptr_array_add (self->ring, entry);
  self->ring_bytes += len;
  while (ring_count (self) > self->retention.ring_size
         || (self->ring_bytes > self->retention.ring_bytes && ring_count (self) > 1))
    ring_drop_oldest (self);
}

static const RingEntry *
ring_at (CwEventBus *self, guint i)
{
  return g_ptr_array_index (self->ring, self->ring_head + i);
}

static gboolean
flush_cb (gpointer user_data)
{
  CwEventBus *self = user_data;

  self->flush_id = 0;
  cw_event_bus_flush (self);
  return G_SOURCE_REMOVE;
}

gint64
cw_event_bus_emit (CwEventBus *self, const gchar *type, const gchar *session_id, JsonObject *data)
{
  g_autofree gchar *correlation = NULL;
  CwEvent *event;
  gint64 seq;

  g_return_val_if_fail (CW_IS_EVENT_BUS (self), 0);
  g_return_val_if_fail (type != NULL && *type != '\0', 0);

  if (data == NULL)
    data = json_object_new ();
  seq = ++self->last_seq;
  correlation = correlation_for (self, type, session_id, data, seq);
  event = cw_event_new (seq, cw_now_ms (), type, session_id, correlation, data);
  if (self->pending->len == 0)
    self->waiting_since_us = g_get_monotonic_time ();
  g_ptr_array_add (self->pending, event);

  for (GList *l = self->listeners; l != NULL;)
    {
      Listener *listener = l->data;
      l = l->next;
      if (listener->prefix == NULL || g_str_has_prefix (type, listener->prefix))
        listener->func (event, listener->user_data);
    }

  if (self->trouble)
    {
      if (self->pending->len >= MAX_PENDING)
        give_up (self);
    }
  else if (self->pending->len >= FLUSH_BATCH)
    cw_event_bus_flush (self);
  else if (self->flush_id == 0)
    /* Default priority, not idle: under a steady stream of calls an idle source would
     * wait for a full batch, and events would reach clients late. */
    self->flush_id = g_idle_add_full (G_PRIORITY_DEFAULT, flush_cb, self, NULL);
  return seq;
}

static gboolean
store_pending (CwEventBus *self, GError **error)
{
  sqlite3_stmt *stmt;

  stmt = NULL;
  if (!cw_store_begin (self->store, error))
    return FALSE;
  stmt = cw_store_prepare (self->store,
                           "INSERT INTO events (seq, timestamp, type, session_id, "
                           "correlation_id, data) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                           error);
  if (stmt == NULL)
    goto fail;
  for (guint i = 0; i < self->pending->len; i++)
    {
      CwEvent *event = g_ptr_array_index (self->pending, i);
      gchar *data = cw_event_data_to_json (event);

      sqlite3_reset (stmt);
      sqlite3_bind_int64 (stmt, 1, cw_event_get_seq (event));
      sqlite3_bind_int64 (stmt, 2, cw_event_get_timestamp (event));
      sqlite3_bind_text (stmt, 3, cw_event_get_type_name (event), -1, SQLITE_STATIC);
      sqlite3_bind_text (stmt, 4, cw_event_get_session_id (event), -1, SQLITE_STATIC);
      sqlite3_bind_text (stmt, 5, cw_event_get_correlation_id (event), -1, SQLITE_STATIC);
      sqlite3_bind_text (stmt, 6, data, -1, g_free);
      if (sqlite3_step (stmt) != SQLITE_DONE)
        {
          cw_store_set_error (self->store, error, "failed to store event");
          goto fail;
        }
    }
  sqlite3_reset (stmt);
  /* last_seq also covers seqs given up on: they are never handed out again. */
  if (!write_meta (self, "last_seq", self->last_seq, error))
    goto fail;
  if (self->lost_dirty && !write_meta (self, "lost_through", self->lost_through, error))
    goto fail;
  return cw_store_commit (self->store, error);

fail:
  if (stmt != NULL)
    sqlite3_reset (stmt);
  cw_store_rollback (self->store);
  return FALSE;
}

static void
deliver (CwEventBus *self, GPtrArray *batch)
{
  for (guint i = 0; i < batch->len; i++)
    {
      ring_push (self, g_ptr_array_index (batch, i));
      for (guint j = 0; j < self->subscribers->len; j++)
        cw_event_subscriber_push (g_ptr_array_index (self->subscribers, j),
                                  g_ptr_array_index (batch, i));
    }
  /* A wake function may unsubscribe (a client that went away): walk a snapshot. */
  for (guint j = self->subscribers->len; j > 0; j--)
    if (j - 1 < self->subscribers->len)
      cw_event_subscriber_notify (g_ptr_array_index (self->subscribers, j - 1));
  for (guint j = 0; j < self->consumers->len; j++)
    cw_event_consumer_notify (g_ptr_array_index (self->consumers, j), batch);
}

static gboolean
range_lost (CwEventBus *self, gint64 since, gint64 upto)
{
  for (guint i = 0; i < self->lost_ranges->len; i++)
    {
      LostRange *r = &g_array_index (self->lost_ranges, LostRange, i);
      if (r->to > since && r->from <= upto)
        return TRUE;
    }
  return FALSE;
}

static GError *
lost_error (CwEventBus *self)
{
  return g_error_new (CW_ERROR, CW_ERROR_INTERNAL,
                      "the events of this call could not be stored (%s); see daemon_health",
                      self->last_store_error != NULL ? self->last_store_error : "store failed");
}

/* Answers the waiters whose events are all settled: stored, or (some) given up on. */
static void
settle_waiters (CwEventBus *self)
{
  for (GList *l = self->store_waiters; l != NULL;)
    {
      StoreWaiter *w = l->data;
      GList *next = l->next;
      gboolean lost = range_lost (self, w->since, w->upto);

      if (lost || w->upto <= self->stored_seq)
        {
          g_autoptr (GError) error = lost ? lost_error (self) : NULL;
          self->store_waiters = g_list_delete_link (self->store_waiters, l);
          w->func (error, w->data);
          g_free (w);
        }
      l = next;
    }
}

static void
fail_all_waiters (CwEventBus *self, const gchar *why)
{
  while (self->store_waiters != NULL)
    {
      StoreWaiter *w = self->store_waiters->data;
      g_autoptr (GError) error = g_error_new (CW_ERROR, CW_ERROR_INTERNAL, "%s", why);
      self->store_waiters = g_list_delete_link (self->store_waiters, self->store_waiters);
      w->func (error, w->data);
      g_free (w);
    }
}

void
cw_event_bus_when_stored (CwEventBus *self, gint64 since, gint64 upto, CwEventStoredFunc func,
                          gpointer data)
{
  StoreWaiter *w;

  if (range_lost (self, since, upto))
    {
      g_autoptr (GError) error = lost_error (self);
      func (error, data);
      return;
    }
  if (upto <= self->stored_seq)
    {
      func (NULL, data);
      return;
    }
  w = g_new0 (StoreWaiter, 1);
  w->since = since;
  w->upto = upto;
  w->func = func;
  w->data = data;
  self->store_waiters = g_list_append (self->store_waiters, w);
}

gint64
cw_event_bus_get_last_seq (CwEventBus *self)
{
  return self->last_seq;
}

static gboolean retry_cb (gpointer user_data);

static void
enter_trouble (CwEventBus *self, const GError *error)
{
  if (!self->trouble)
    {
      g_warning ("events cannot be stored, holding them back and retrying: %s", error->message);
      self->trouble = TRUE;
      self->trouble_since_ms = cw_now_ms ();
      self->retry_ms = RETRY_MIN_MS;
    }
  else
    self->retry_ms = MIN (self->retry_ms * 2, RETRY_MAX_MS);
  self->store_failures++;
  g_free (self->last_store_error);
  self->last_store_error = g_strdup (error->message);
  if (self->retry_id == 0)
    self->retry_id = g_timeout_add (self->retry_ms, retry_cb, self);
}

/* The waiting events could not be stored in time: they are lost. Nobody saw them (nothing
 * is delivered unstored), their seqs are never reused, replay reports the gap, and live
 * clients get a resync marker. */
static void
give_up (CwEventBus *self)
{
  LostRange range;

  if (self->pending->len == 0)
    return;
  range.from = cw_event_get_seq (g_ptr_array_index (self->pending, 0));
  range.to = cw_event_get_seq (g_ptr_array_index (self->pending, self->pending->len - 1));
  g_warning ("gave up on storing events %" G_GINT64_FORMAT "..%" G_GINT64_FORMAT ": %s", range.from,
             range.to, self->last_store_error);
  if (self->lost_ranges->len >= MAX_LOST_RANGES)
    {
      /* Merge the two oldest: a wider range only errs on the side of a gap. */
      g_array_index (self->lost_ranges, LostRange, 1).from
          = g_array_index (self->lost_ranges, LostRange, 0).from;
      g_array_remove_index (self->lost_ranges, 0);
    }
  g_array_append_val (self->lost_ranges, range);
  self->lost_events += self->pending->len;
  self->lost_through = range.to;
  self->lost_dirty = TRUE;
  g_ptr_array_set_size (self->pending, 0);
  for (guint j = 0; j < self->subscribers->len; j++)
    cw_event_subscriber_push_gap (g_ptr_array_index (self->subscribers, j), range.to);
  for (guint j = self->subscribers->len; j > 0; j--)
    if (j - 1 < self->subscribers->len)
      cw_event_subscriber_notify (g_ptr_array_index (self->subscribers, j - 1));
  settle_waiters (self);
}

/* Stores what waits (with none, still writes event_meta: a probe of the store). */
static gboolean
try_store (CwEventBus *self)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) batch = NULL;

  g_clear_handle_id (&self->flush_id, g_source_remove);
  if (!store_pending (self, &error))
    {
      enter_trouble (self, error);
      return FALSE;
    }
  if (self->trouble)
    {
      g_message ("events are stored again");
      self->trouble = FALSE;
    }
  self->lost_dirty = FALSE;
  batch = g_steal_pointer (&self->pending);
  self->pending = g_ptr_array_new_with_free_func ((GDestroyNotify) cw_event_unref);
  self->stored_seq = self->last_seq;
  self->since_prune += batch->len;
  deliver (self, batch);
  settle_waiters (self);

  if (self->since_prune >= PRUNE_EVERY)
    {
      g_autoptr (GError) prune_error = NULL;
      self->since_prune = 0;
      if (cw_event_bus_prune (self, &prune_error) < 0)
        g_debug ("pruning events failed: %s", prune_error->message);
    }
  return TRUE;
}

static gboolean
retry_cb (gpointer user_data)
{
  CwEventBus *self = user_data;

  self->retry_id = 0;
  if (try_store (self))
    return G_SOURCE_REMOVE;
  if (self->pending->len > 0
      && g_get_monotonic_time () - self->waiting_since_us
             >= (gint64) self->store_wait_ms * G_TIME_SPAN_MILLISECOND)
    give_up (self);
  return G_SOURCE_REMOVE;
}

void
cw_event_bus_flush (CwEventBus *self)
{
  /* In trouble the retry timer owns the store: a flush on demand would only wait out the
   * busy timeout again. */
  if (self->pending->len == 0 || self->trouble)
    return;
  try_store (self);
}

void
cw_event_bus_set_store_wait (CwEventBus *self, guint ms)
{
  self->store_wait_ms = ms;
}

gint64
cw_event_bus_prune (CwEventBus *self, GError **error)
{
  sqlite3_stmt *stmt;
  gint64 now_ms = cw_now_ms ();
  gint64 keep_from_count = self->last_seq - self->retention.keep_events;
  gint64 hard_from = self->last_seq - self->retention.max_events;
  gint64 cutoff_ms = now_ms - self->retention.keep_seconds * 1000;
  gint64 deleted, oldest = 0;

  stmt = cw_store_prepare (
      self->store, "DELETE FROM events WHERE (seq <= ?1 AND timestamp <= ?2) OR seq <= ?3", error);
  if (stmt == NULL)
    return -1;
  sqlite3_bind_int64 (stmt, 1, keep_from_count);
  sqlite3_bind_int64 (stmt, 2, cutoff_ms);
  sqlite3_bind_int64 (stmt, 3, hard_from);
  if (sqlite3_step (stmt) != SQLITE_DONE)
    {
      sqlite3_reset (stmt);
      cw_store_set_error (self->store, error, "failed to prune events");
      return -1;
    }
  sqlite3_reset (stmt);
  deleted = sqlite3_changes64 (cw_store_get_db (self->store));
  if (deleted == 0)
    return 0;

  stmt = cw_store_prepare (self->store, "SELECT MIN(seq) FROM events", error);
  if (stmt == NULL)
    return -1;
  if (sqlite3_step (stmt) == SQLITE_ROW && sqlite3_column_type (stmt, 0) != SQLITE_NULL)
    oldest = sqlite3_column_int64 (stmt, 0);
  sqlite3_reset (stmt);
  self->pruned_through = oldest > 0 ? oldest - 1 : self->stored_seq;
  if (!write_meta (self, "pruned_through", self->pruned_through, error))
    return -1;
  return deleted;
}

guint
cw_event_bus_add_listener (CwEventBus *self, const gchar *type_prefix, CwEventListenerFunc func,
                           gpointer user_data, GDestroyNotify destroy)
{
  Listener *l;

  g_return_val_if_fail (CW_IS_EVENT_BUS (self), 0);
  l = g_new0 (Listener, 1);
  l->id = ++self->next_listener_id;
  l->prefix = g_strdup (type_prefix);
  l->func = func;
  l->user_data = user_data;
  l->destroy = destroy;
  self->listeners = g_list_append (self->listeners, l);
  return l->id;
}

void
cw_event_bus_remove_listener (CwEventBus *self, guint id)
{
  for (GList *l = self->listeners; l != NULL; l = l->next)
    {
      Listener *listener = l->data;
      if (listener->id == id)
        {
          self->listeners = g_list_delete_link (self->listeners, l);
          listener_free (listener);
          return;
        }
    }
}

CwEventSubscriber *
cw_event_bus_subscribe (CwEventBus *self, guint max_queue, CwEventWakeFunc wake, gpointer user_data)
{
  CwEventSubscriber *sub;

  g_return_val_if_fail (CW_IS_EVENT_BUS (self), NULL);
  cw_event_bus_flush (self);
  sub = cw_event_subscriber_new (max_queue, wake, user_data);
  g_ptr_array_add (self->subscribers, sub);
  return sub;
}

void
cw_event_bus_unsubscribe (CwEventBus *self, CwEventSubscriber *subscriber)
{
  g_return_if_fail (CW_IS_EVENT_BUS (self));
  if (subscriber != NULL)
    g_ptr_array_remove_fast (self->subscribers, subscriber);
}

/* Appends the envelope of one stored row (same members, same order as cw_event_to_json). */
static void
append_stored_envelope (GString *out, sqlite3_stmt *stmt)
{
  const gchar *session = (const gchar *) sqlite3_column_text (stmt, 3);
  const gchar *data = (const gchar *) sqlite3_column_text (stmt, 5);

  g_string_append_printf (out,
                          "{\"seq\":%" G_GINT64_FORMAT ",\"timestamp\":%" G_GINT64_FORMAT
                          ",\"schemaVersion\":1,\"correlationId\":",
                          (gint64) sqlite3_column_int64 (stmt, 0),
                          (gint64) sqlite3_column_int64 (stmt, 1));
  cw_json_append_string (out, (const gchar *) sqlite3_column_text (stmt, 4));
  g_string_append (out, ",\"type\":");
  cw_json_append_string (out, (const gchar *) sqlite3_column_text (stmt, 2));
  g_string_append (out, ",\"sessionId\":");
  if (session != NULL)
    cw_json_append_string (out, session);
  else
    g_string_append (out, "null");
  /* The daemon wrote this text from a JSON object; anything else is damage, not data. */
  g_string_append (out, ",\"data\":");
  g_string_append (out, data != NULL && data[0] == '{' ? data : "{}");
  g_string_append_c (out, '}');
}

/* Appends stored events after @after_seq, oldest first, at most @limit; returns how many,
 * or -1 with @error. @last_start is where the last one begins in @out; @last_seqs gets the
 * seq of the last two (the one before the last is the last kept when the last is cut). */
static gint64
append_stored (CwEventBus *self, GString *out, gint64 after_seq, gint64 upto_seq, gint64 limit,
               gsize *last_start, gint64 last_seqs[2], GError **error)
{
  sqlite3_stmt *stmt = cw_store_prepare (
      self->store,
      "SELECT seq, timestamp, type, session_id, correlation_id, data FROM events "
      "WHERE seq > ?1 AND seq <= ?2 ORDER BY seq LIMIT ?3",
      error);
  gint64 n = 0;
  int rc;

  if (stmt == NULL)
    return -1;
  sqlite3_bind_int64 (stmt, 1, after_seq);
  sqlite3_bind_int64 (stmt, 2, upto_seq);
  sqlite3_bind_int64 (stmt, 3, limit);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      if (n++ > 0)
        g_string_append_c (out, ',');
      *last_start = out->len;
      last_seqs[0] = last_seqs[1];
      last_seqs[1] = sqlite3_column_int64 (stmt, 0);
      append_stored_envelope (out, stmt);
    }
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    {
      cw_store_set_error (self->store, error, "failed to read events");
      return -1;
    }
  return n;
}

/* First ring index with seq > @after_seq, or ring_count (). */
static guint
ring_find_after (CwEventBus *self, gint64 after_seq)
{
  guint lo = 0, hi = ring_count (self);

  while (lo < hi)
    {
      guint mid = lo + (hi - lo) / 2;
      if (ring_at (self, mid)->seq <= after_seq)
        lo = mid + 1;
      else
        hi = mid;
    }
  return lo;
}

static gint64
oldest_stored_seq (CwEventBus *self)
{
  sqlite3_stmt *stmt = cw_store_prepare (self->store, "SELECT MIN(seq) FROM events", NULL);
  gint64 value = 0;

  if (stmt != NULL && sqlite3_step (stmt) == SQLITE_ROW
      && sqlite3_column_type (stmt, 0) != SQLITE_NULL)
    value = sqlite3_column_int64 (stmt, 0);
  if (stmt != NULL)
    sqlite3_reset (stmt);
  return value;
}

gchar *
cw_event_bus_get_events_since_json (CwEventBus *self, gint64 after_seq, gint64 limit,
                                    GError **error)
{
  g_autoptr (GString) out = g_string_new ("{\"events\":[");
  gint64 cursor, oldest, ring_oldest, next_cursor;
  gboolean has_gap, has_more;

  g_return_val_if_fail (CW_IS_EVENT_BUS (self), NULL);
  if (limit <= 0)
    limit = REPLAY_LIMIT_DFLT;
  limit = CLAMP (limit, 1, REPLAY_LIMIT_MAX);
  after_seq = MAX (after_seq, 0);
  cursor = cw_event_bus_get_cursor (self);
  ring_oldest = ring_count (self) > 0 ? ring_at (self, 0)->seq : cursor + 1;

  if (after_seq + 1 >= ring_oldest)
    {
      /* Events of this boot still in memory carry their JSON text already. */
      guint first = ring_find_after (self, after_seq);
      guint n = MIN ((gint64) (ring_count (self) - first), limit);

      for (guint i = first; i < first + n; i++)
        {
          const RingEntry *entry = ring_at (self, i);
          if (i > first)
            g_string_append_c (out, ',');
          g_string_append_len (out, entry->json, entry->len);
        }
      has_more = ring_count (self) - first > n;
      next_cursor = has_more ? ring_at (self, first + n - 1)->seq : cursor;
    }
  else
    {
      gsize last_start = 0;
      gint64 last_seqs[2] = { after_seq, after_seq };
      gint64 n
          = append_stored (self, out, after_seq, cursor, limit + 1, &last_start, last_seqs, error);

      if (n < 0)
        return NULL;
      has_more = n > limit;
      /* Drop the extra row (and its comma) that only told us there is more. */
      if (has_more)
        g_string_truncate (out, last_start - 1);
      next_cursor = has_more ? last_seqs[0] : cursor;
    }

  oldest = oldest_stored_seq (self);
  if (oldest == 0)
    oldest = ring_oldest <= cursor ? ring_oldest : cursor;
  /* A gap: events after the cursor were deleted, or the cursor is from a database this
   * daemon never wrote (it is ahead of everything handed out). With more to come the cursor
   * is the last event returned, so a client that just asks again from it misses nothing. */
  has_gap = after_seq > 0
            && (after_seq < MAX (self->pruned_through, self->lost_through) || after_seq > cursor);
  g_string_append_printf (out,
                          "],\"eventCursor\":%" G_GINT64_FORMAT ",\"replayStart\":%" G_GINT64_FORMAT
                          ",\"hasGap\":%s,\"hasMore\":%s,\"bootId\":",
                          next_cursor, oldest, has_gap ? "true" : "false",
                          has_more ? "true" : "false");
  cw_json_append_string (out, self->boot_id);
  g_string_append_c (out, '}');
  return g_string_free (g_steal_pointer (&out), FALSE);
}

JsonObject *
cw_event_bus_get_events_since (CwEventBus *self, gint64 after_seq, gint64 limit, GError **error)
{
  g_autofree gchar *text = cw_event_bus_get_events_since_json (self, after_seq, limit, error);
  g_autoptr (JsonNode) node = NULL;

  if (text == NULL)
    return NULL;
  node = cw_json_from_string (text, -1, error);
  if (node == NULL)
    return NULL;
  return json_object_ref (json_node_get_object (node));
}

static JsonObject *
store_health (CwEventBus *self)
{
  JsonObject *obj = json_object_new ();

  json_object_set_boolean_member (obj, "ok", !self->trouble);
  if (self->trouble)
    {
      json_object_set_string_member (obj, "error", self->last_store_error);
      json_object_set_int_member (obj, "failingSince", self->trouble_since_ms);
    }
  json_object_set_int_member (obj, "waitingEvents", self->pending->len);
  json_object_set_int_member (obj, "lostEvents", (gint64) self->lost_events);
  json_object_set_int_member (obj, "lostThrough", self->lost_through);
  return obj;
}

gboolean
cw_event_bus_is_storing (CwEventBus *self)
{
  return !self->trouble;
}

JsonObject *
cw_event_bus_get_health (CwEventBus *self)
{
  JsonObject *obj = json_object_new ();

  json_object_set_int_member (obj, "eventCursor", cw_event_bus_get_cursor (self));
  json_object_set_int_member (obj, "replayStart", oldest_stored_seq (self));
  json_object_set_int_member (obj, "prunedThrough", self->pruned_through);
  json_object_set_int_member (obj, "subscribers", self->subscribers->len);
  json_object_set_int_member (obj, "ringEvents", ring_count (self));
  json_object_set_int_member (obj, "ringBytes", (gint64) self->ring_bytes);
  json_object_set_int_member (obj, "storeFailures", (gint64) self->store_failures);
  if (self->last_store_error != NULL)
    json_object_set_string_member (obj, "lastStoreError", self->last_store_error);
  json_object_set_object_member (obj, "store", store_health (self));
  if (self->consumers->len > 0)
    {
      JsonArray *consumers = json_array_new ();
      for (guint i = 0; i < self->consumers->len; i++)
        json_array_add_object_element (
            consumers, cw_event_consumer_get_health (g_ptr_array_index (self->consumers, i)));
      json_object_set_array_member (obj, "consumers", consumers);
    }
  return obj;
}

gint64
cw_event_bus_get_stored_seq (CwEventBus *self)
{
  return self->stored_seq;
}

gint64
cw_event_bus_get_pruned_through (CwEventBus *self)
{
  return self->pruned_through;
}

static CwEventConsumer *
find_consumer (CwEventBus *self, const gchar *owner, const gchar *name, guint *index)
{
  for (guint i = 0; i < self->consumers->len; i++)
    {
      CwEventConsumer *c = g_ptr_array_index (self->consumers, i);
      if (g_strcmp0 (cw_event_consumer_get_owner (c), owner) == 0
          && g_strcmp0 (cw_event_consumer_get_name (c), name) == 0)
        {
          if (index != NULL)
            *index = i;
          return c;
        }
    }
  return NULL;
}

CwEventConsumer *
cw_event_bus_add_consumer (CwEventBus *self, const gchar *owner, const gchar *name,
                           const gchar *const *prefixes, CwEventConsumerFunc func,
                           CwEventGapFunc gap_func, gpointer user_data, GDestroyNotify destroy,
                           GError **error)
{
  CwEventConsumer *consumer;

  g_return_val_if_fail (CW_IS_EVENT_BUS (self), NULL);
  g_return_val_if_fail (owner != NULL && *owner != '\0', NULL);
  if (find_consumer (self, owner, name, NULL) != NULL)
    {
      g_set_error (error, CW_ERROR, CW_ERROR_EXISTS, "%s already has an event consumer named %s",
                   owner, name);
      return NULL;
    }
  /* New consumers start after what is stored now; only unstored events would be missed. */
  consumer = cw_event_consumer_new (self, self->store, owner, name, prefixes,
                                    cw_event_bus_get_cursor (self), func, gap_func, user_data,
                                    destroy, error);
  if (consumer == NULL)
    return NULL;
  g_ptr_array_add (self->consumers, consumer);
  return consumer;
}

gboolean
cw_event_bus_remove_consumer (CwEventBus *self, const gchar *owner, const gchar *name,
                              gboolean forget)
{
  guint index;
  CwEventConsumer *consumer;

  g_return_val_if_fail (CW_IS_EVENT_BUS (self), FALSE);
  consumer = find_consumer (self, owner, name, &index);
  if (consumer == NULL)
    return FALSE;
  cw_event_consumer_close (consumer, forget);
  g_ptr_array_remove_index (self->consumers, index);
  return TRUE;
}

guint
cw_event_bus_remove_consumers (CwEventBus *self, const gchar *owner)
{
  guint removed = 0;

  g_return_val_if_fail (CW_IS_EVENT_BUS (self), 0);
  for (guint i = self->consumers->len; i > 0; i--)
    {
      CwEventConsumer *c = g_ptr_array_index (self->consumers, i - 1);
      if (g_strcmp0 (cw_event_consumer_get_owner (c), owner) != 0)
        continue;
      cw_event_consumer_close (c, FALSE);
      g_ptr_array_remove_index (self->consumers, i - 1);
      removed++;
    }
  return removed;
}
