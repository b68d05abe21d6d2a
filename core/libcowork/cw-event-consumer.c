/* cw-event-consumer.c: a durable event consumer.
 *
 * It reads stored events (never the in-memory ring: what it delivers is what a restart can
 * deliver again) after its cursor, filtered by type prefixes, and hands them to its owner one
 * at a time in seq order. The owner acknowledges each one, at once or later; the cursor
 * moves on the acknowledgement and is written to core_event_consumers at the end of each
 * delivery round. After a crash delivery resumes after the last written cursor, so an
 * event is seen at least once; its seq is the key to drop a repeat.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-event-consumer-private.h"
#include "cw-event-private.h"

#define ROUND_EVENTS 256  /* deliveries per main-loop turn */
#define READ_ROWS    4096 /* rows examined per read */
#define FETCH_EVENTS 256  /* matching events kept ahead of delivery */
#define ROUND_READS  16   /* reads per main-loop turn */

struct _CwEventConsumer
{
  GObject parent_instance;
  CwEventBus *bus; /* not owned; NULL once closed */
  CwStore *store;
  gchar *owner;
  gchar *name;
  gchar **prefixes;
  CwEventConsumerFunc func;
  CwEventGapFunc gap_func;
  gpointer user_data;
  GDestroyNotify destroy;
  gint64 cursor;       /* acknowledged: every matching event <= cursor is handled */
  gint64 saved_cursor; /* what the table holds */
  gint64 read_through; /* events <= this have been read into the queue or skipped */
  GQueue queue;        /* CwEvent read, not yet delivered */
  CwEvent *in_flight;  /* delivered, not yet acknowledged */
  gboolean delivering;
  guint round_id;
};

G_DEFINE_FINAL_TYPE (CwEventConsumer, cw_event_consumer, G_TYPE_OBJECT)

static const CwMigration consumer_migrations[] = {
  { 1, "CREATE TABLE core_event_consumers ("
       "  owner TEXT NOT NULL,"
       "  name TEXT NOT NULL,"
       "  cursor INTEGER NOT NULL,"
       "  prefixes TEXT NOT NULL,"
       "  updated_at INTEGER NOT NULL,"
       "  PRIMARY KEY (owner, name));" },
};

static void
cw_event_consumer_finalize (GObject *object)
{
  CwEventConsumer *self = CW_EVENT_CONSUMER (object);

  g_clear_handle_id (&self->round_id, g_source_remove);
  g_queue_clear_full (&self->queue, (GDestroyNotify) cw_event_unref);
  g_clear_pointer (&self->in_flight, cw_event_unref);
  if (self->destroy != NULL)
    g_steal_pointer (&self->destroy) (self->user_data);
  g_clear_object (&self->store);
  g_free (self->owner);
  g_free (self->name);
  g_strfreev (self->prefixes);
  G_OBJECT_CLASS (cw_event_consumer_parent_class)->finalize (object);
}

static void
cw_event_consumer_class_init (CwEventConsumerClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = cw_event_consumer_finalize;
}

static void
cw_event_consumer_init (CwEventConsumer *self)
{
  g_queue_init (&self->queue);
}

static void schedule_round (CwEventConsumer *self);

static gboolean
check_name (const gchar *name, GError **error)
{
  gsize len = name != NULL ? strlen (name) : 0;

  if (len == 0 || len > 64)
    {
      g_set_error_literal (error, CW_ERROR, CW_ERROR_INVALID_PARAMS,
                           "an event consumer name has 1 to 64 characters");
      return FALSE;
    }
  for (const gchar *p = name; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && *p != '_' && *p != '-' && *p != '.' && *p != ':')
      {
        g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS,
                     "event consumer name %s: only letters, digits and _-.: are allowed", name);
        return FALSE;
      }
  return TRUE;
}

static gboolean
matches (CwEventConsumer *self, const gchar *type)
{
  for (guint i = 0; self->prefixes[i] != NULL; i++)
    if (g_str_has_prefix (type, self->prefixes[i]))
      return TRUE;
  return FALSE;
}

static gboolean
load_cursor (CwEventConsumer *self, gint64 *cursor, GError **error)
{
  sqlite3_stmt *stmt = cw_store_prepare (
      self->store, "SELECT cursor FROM core_event_consumers WHERE owner = ?1 AND name = ?2", error);
  int rc;

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, self->owner, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 2, self->name, -1, SQLITE_STATIC);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    *cursor = sqlite3_column_int64 (stmt, 0);
  sqlite3_reset (stmt);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    return cw_store_set_error (self->store, error, "failed to read an event consumer cursor");
  return rc == SQLITE_ROW;
}

static gboolean
save_cursor (CwEventConsumer *self, GError **error)
{
  g_autofree gchar *prefixes = g_strjoinv ("\n", self->prefixes);
  sqlite3_stmt *stmt = cw_store_prepare (
      self->store,
      "INSERT OR REPLACE INTO core_event_consumers (owner, name, cursor, prefixes, updated_at) "
      "VALUES (?1, ?2, ?3, ?4, ?5)",
      error);

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, self->owner, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 2, self->name, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 3, self->cursor);
  sqlite3_bind_text (stmt, 4, prefixes, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 5, cw_now_ms ());
  if (sqlite3_step (stmt) != SQLITE_DONE)
    {
      sqlite3_reset (stmt);
      return cw_store_set_error (self->store, error, "failed to save an event consumer cursor");
    }
  sqlite3_reset (stmt);
  self->saved_cursor = self->cursor;
  return TRUE;
}

static void
save_if_moved (CwEventConsumer *self)
{
  g_autoptr (GError) error = NULL;

  if (self->cursor != self->saved_cursor && !save_cursor (self, &error))
    g_warning ("event consumer %s/%s: %s", self->owner, self->name, error->message);
}

CwEventConsumer *
cw_event_consumer_new (CwEventBus *bus, CwStore *store, const gchar *owner, const gchar *name,
                       const gchar *const *prefixes, gint64 start_cursor, CwEventConsumerFunc func,
                       CwEventGapFunc gap_func, gpointer user_data, GDestroyNotify destroy,
                       GError **error)
{
  g_autoptr (CwEventConsumer) self = NULL;
  gint64 cursor = 0;
  gboolean found;
  g_autoptr (GError) local_error = NULL;

  if (!check_name (name, error))
    return NULL;
  if (prefixes == NULL || prefixes[0] == NULL)
    {
      g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS,
                   "event consumer %s needs at least one type prefix (\"\" for every event)", name);
      return NULL;
    }
  if (func == NULL)
    {
      g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS, "event consumer %s has no function",
                   name);
      return NULL;
    }
  if (!cw_store_migrate (store, "core_event_consumers", consumer_migrations,
                         G_N_ELEMENTS (consumer_migrations), error))
    return NULL;

  self = g_object_new (CW_TYPE_EVENT_CONSUMER, NULL);
  self->bus = bus;
  self->store = g_object_ref (store);
  self->owner = g_strdup (owner);
  self->name = g_strdup (name);
  self->prefixes = g_strdupv ((gchar **) prefixes);
  found = load_cursor (self, &cursor, &local_error);
  if (local_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }
  if (!found)
    cursor = start_cursor;
  else if (cursor > start_cursor)
    {
      /* A cursor ahead of every stored event belongs to another database. */
      g_warning ("event consumer %s/%s: cursor %" G_GINT64_FORMAT
                 " is past the last event %" G_GINT64_FORMAT "; starting from there",
                 owner, name, cursor, start_cursor);
      cursor = start_cursor;
      found = FALSE;
    }
  self->cursor = self->read_through = cursor;
  self->saved_cursor = found ? cursor : -1;
  /* Written now: events emitted from here on reach this consumer even after a crash. */
  save_if_moved (self);
  self->func = func;
  self->gap_func = gap_func;
  self->user_data = user_data;
  self->destroy = destroy;
  schedule_round (self); /* what was stored after the cursor while it was away */
  return g_steal_pointer (&self);
}

/* Everything between the cursor and the bus's prune mark is gone: tell the owner, then
 * continue after it. */
static void
report_gap (CwEventConsumer *self, gint64 pruned_through)
{
  gint64 first = self->read_through + 1;

  g_message ("event consumer %s/%s: events %" G_GINT64_FORMAT "..%" G_GINT64_FORMAT
             " were pruned before delivery",
             self->owner, self->name, first, pruned_through);
  self->cursor = self->read_through = pruned_through;
  if (self->gap_func != NULL)
    self->gap_func (self, first, pruned_through, self->user_data);
}

static CwEvent *
event_from_row (sqlite3_stmt *stmt)
{
  const gchar *text = (const gchar *) sqlite3_column_text (stmt, 5);
  g_autoptr (JsonNode) node = text != NULL ? cw_json_from_string (text, -1, NULL) : NULL;
  JsonObject *data = node != NULL && JSON_NODE_HOLDS_OBJECT (node)
                         ? json_object_ref (json_node_get_object (node))
                         : json_object_new ();

  return cw_event_new (sqlite3_column_int64 (stmt, 0), sqlite3_column_int64 (stmt, 1),
                       (const gchar *) sqlite3_column_text (stmt, 2),
                       (const gchar *) sqlite3_column_text (stmt, 3),
                       (const gchar *) sqlite3_column_text (stmt, 4), data);
}

/* Reads the next matching stored events into the queue. */
static gboolean
read_more (CwEventConsumer *self, GError **error)
{
  gint64 upto = cw_event_bus_get_stored_seq (self->bus);
  sqlite3_stmt *stmt;
  gint64 rows = 0;
  int rc = SQLITE_DONE;

  if (self->read_through < cw_event_bus_get_pruned_through (self->bus))
    report_gap (self, cw_event_bus_get_pruned_through (self->bus));
  if (self->read_through >= upto)
    return TRUE;
  stmt = cw_store_prepare (self->store,
                           "SELECT seq, timestamp, type, session_id, correlation_id, data "
                           "FROM events WHERE seq > ?1 AND seq <= ?2 ORDER BY seq LIMIT ?3",
                           error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, self->read_through);
  sqlite3_bind_int64 (stmt, 2, upto);
  sqlite3_bind_int64 (stmt, 3, READ_ROWS);
  while (self->queue.length < FETCH_EVENTS && (rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      rows++;
      self->read_through = sqlite3_column_int64 (stmt, 0);
      if (matches (self, (const gchar *) sqlite3_column_text (stmt, 2)))
        g_queue_push_tail (&self->queue, event_from_row (stmt));
    }
  sqlite3_reset (stmt);
  if (self->queue.length < FETCH_EVENTS && rc != SQLITE_DONE)
    return cw_store_set_error (self->store, error, "failed to read events");
  /* Fewer rows than asked for: nothing else is stored up to @upto (seq may have holes). */
  if (self->queue.length < FETCH_EVENTS && rows < READ_ROWS)
    self->read_through = upto;
  return TRUE;
}

static gboolean round_cb (gpointer user_data);

static void
schedule_round (CwEventConsumer *self)
{
  if (self->round_id == 0 && self->bus != NULL && !self->delivering)
    self->round_id = g_idle_add_full (G_PRIORITY_DEFAULT, round_cb, self, NULL);
}

/* Nothing in flight and nothing queued: the cursor may follow what has been read. */
static void
settle (CwEventConsumer *self)
{
  if (self->in_flight == NULL && self->queue.length == 0)
    self->cursor = MAX (self->cursor, self->read_through);
}

static gboolean
round_cb (gpointer user_data)
{
  g_autoptr (CwEventConsumer) self = g_object_ref (CW_EVENT_CONSUMER (user_data));
  g_autoptr (GError) error = NULL;
  guint delivered = 0, reads = 0;

  self->round_id = 0;
  self->delivering = TRUE;
  while (self->bus != NULL && self->in_flight == NULL && delivered < ROUND_EVENTS)
    {
      if (self->queue.length == 0)
        {
          gint64 before = self->read_through;
          if (reads++ == ROUND_READS)
            break;
          if (!read_more (self, &error))
            {
              g_warning ("event consumer %s/%s: %s", self->owner, self->name, error->message);
              break;
            }
          if (self->queue.length == 0)
            {
              settle (self);
              if (self->read_through == before)
                break;
              continue;
            }
        }
      self->in_flight = g_queue_pop_head (&self->queue);
      delivered++;
      self->func (self, self->in_flight, self->user_data);
    }
  self->delivering = FALSE;
  if (self->bus == NULL)
    return G_SOURCE_REMOVE;
  settle (self);
  save_if_moved (self);
  if (self->in_flight == NULL
      && (self->queue.length > 0 || self->read_through < cw_event_bus_get_stored_seq (self->bus)))
    schedule_round (self);
  return G_SOURCE_REMOVE;
}

void
cw_event_consumer_notify (CwEventConsumer *self, GPtrArray *batch)
{
  gboolean caught_up = self->in_flight == NULL && self->queue.length == 0 && self->round_id == 0;

  for (guint i = 0; i < batch->len; i++)
    if (matches (self, cw_event_get_type_name (g_ptr_array_index (batch, i))))
      {
        schedule_round (self);
        return;
      }
  /* None of ours: a consumer that had read everything before has read these too. */
  if (caught_up && batch->len > 0
      && self->read_through + 1 >= cw_event_get_seq (g_ptr_array_index (batch, 0)))
    {
      self->read_through = cw_event_get_seq (g_ptr_array_index (batch, batch->len - 1));
      settle (self);
    }
}

gboolean
cw_event_consumer_ack (CwEventConsumer *self, gint64 seq)
{
  g_return_val_if_fail (CW_IS_EVENT_CONSUMER (self), FALSE);
  if (self->bus == NULL)
    return FALSE;
  if (self->in_flight == NULL || cw_event_get_seq (self->in_flight) != seq)
    {
      g_warning ("event consumer %s/%s: acknowledged %" G_GINT64_FORMAT
                 " but the event being delivered is %" G_GINT64_FORMAT,
                 self->owner, self->name, seq,
                 self->in_flight != NULL ? cw_event_get_seq (self->in_flight) : 0);
      return FALSE;
    }
  g_clear_pointer (&self->in_flight, cw_event_unref);
  self->cursor = seq;
  schedule_round (self);
  return TRUE;
}

const gchar *
cw_event_consumer_get_name (CwEventConsumer *self)
{
  g_return_val_if_fail (CW_IS_EVENT_CONSUMER (self), NULL);
  return self->name;
}

const gchar *
cw_event_consumer_get_owner (CwEventConsumer *self)
{
  return self->owner;
}

gint64
cw_event_consumer_get_cursor (CwEventConsumer *self)
{
  g_return_val_if_fail (CW_IS_EVENT_CONSUMER (self), 0);
  return self->cursor;
}

void
cw_event_consumer_close (CwEventConsumer *self, gboolean forget)
{
  if (self->bus == NULL)
    return;
  g_clear_handle_id (&self->round_id, g_source_remove);
  if (forget)
    {
      sqlite3_stmt *stmt = cw_store_prepare (
          self->store, "DELETE FROM core_event_consumers WHERE owner = ?1 AND name = ?2", NULL);
      if (stmt != NULL)
        {
          sqlite3_bind_text (stmt, 1, self->owner, -1, SQLITE_STATIC);
          sqlite3_bind_text (stmt, 2, self->name, -1, SQLITE_STATIC);
          if (sqlite3_step (stmt) != SQLITE_DONE)
            g_warning ("event consumer %s/%s: failed to delete its cursor", self->owner,
                       self->name);
          sqlite3_reset (stmt);
        }
    }
  else
    {
      settle (self);
      save_if_moved (self);
    }
  self->bus = NULL;
  g_queue_clear_full (&self->queue, (GDestroyNotify) cw_event_unref);
  g_clear_pointer (&self->in_flight, cw_event_unref);
  if (self->destroy != NULL)
    g_steal_pointer (&self->destroy) (self->user_data);
}

JsonObject *
cw_event_consumer_get_health (CwEventConsumer *self)
{
  JsonObject *obj = json_object_new ();
  JsonArray *prefixes = json_array_new ();

  json_object_set_string_member (obj, "owner", self->owner);
  json_object_set_string_member (obj, "name", self->name);
  for (guint i = 0; self->prefixes[i] != NULL; i++)
    json_array_add_string_element (prefixes, self->prefixes[i]);
  json_object_set_array_member (obj, "prefixes", prefixes);
  json_object_set_int_member (obj, "cursor", self->cursor);
  if (self->in_flight != NULL)
    json_object_set_int_member (obj, "inFlight", cw_event_get_seq (self->in_flight));
  else
    json_object_set_null_member (obj, "inFlight");
  return obj;
}
