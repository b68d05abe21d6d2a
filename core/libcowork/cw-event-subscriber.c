/* cw-event-subscriber.c: one bounded queue of events for one client.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-event-private.h"
#include "cw-event-subscriber-private.h"

struct _CwEventSubscriber
{
  GQueue queue;
  guint max_queue;
  gboolean paused;   /* a resync marker is queued; drop until it is taken */
  gboolean wake_due; /* went from empty to non-empty since the last notify */
  gint64 last_taken_seq;
  guint64 overflows;
  CwEventWakeFunc wake;
  gpointer user_data;
};

CwEventSubscriber *
cw_event_subscriber_new (guint max_queue, CwEventWakeFunc wake, gpointer user_data)
{
  CwEventSubscriber *self = g_new0 (CwEventSubscriber, 1);

  g_queue_init (&self->queue);
  self->max_queue = MAX (max_queue, 1);
  self->wake = wake;
  self->user_data = user_data;
  return self;
}

void
cw_event_subscriber_free (CwEventSubscriber *self)
{
  g_queue_clear_full (&self->queue, (GDestroyNotify) cw_event_unref);
  g_free (self);
}

static CwEvent *
make_resync_marker (CwEventSubscriber *self, const gchar *reason, gint64 cursor)
{
  JsonObject *data = json_object_new ();

  json_object_set_string_member (data, "reason", reason);
  json_object_set_int_member (data, "lastDeliveredSeq", self->last_taken_seq);
  json_object_set_int_member (data, "eventCursor", cursor);
  json_object_set_int_member (data, "dropped", cursor - self->last_taken_seq);
  /* The marker carries the last seq the client has, so cursor-tracking clients do not skip
   * ahead; it is never stored or replayed. */
  return cw_event_new (self->last_taken_seq, cw_now_ms (), "resync", NULL, "__global__:resync",
                       data);
}

/* Replaces the queue by one resync marker; nothing more is queued until it is taken. */
static void
resync (CwEventSubscriber *self, const gchar *reason, gint64 cursor)
{
  gboolean was_empty = g_queue_is_empty (&self->queue);

  g_queue_clear_full (&self->queue, (GDestroyNotify) cw_event_unref);
  g_queue_push_tail (&self->queue, make_resync_marker (self, reason, cursor));
  self->paused = TRUE;
  if (was_empty)
    self->wake_due = TRUE;
}

void
cw_event_subscriber_push (CwEventSubscriber *self, CwEvent *event)
{
  gboolean was_empty = g_queue_is_empty (&self->queue);

  if (self->paused)
    return;
  if (self->queue.length >= self->max_queue)
    {
      resync (self, "subscriber_queue_full", cw_event_get_seq (event));
      self->overflows++;
      return;
    }
  g_queue_push_tail (&self->queue, cw_event_ref (event));
  if (was_empty)
    self->wake_due = TRUE;
}

void
cw_event_subscriber_push_gap (CwEventSubscriber *self, gint64 lost_through)
{
  if (!self->paused)
    resync (self, "events_not_stored", lost_through);
}

void
cw_event_subscriber_notify (CwEventSubscriber *self)
{
  if (!self->wake_due)
    return;
  self->wake_due = FALSE;
  if (self->wake != NULL)
    self->wake (self, self->user_data);
}

CwEvent *
cw_event_subscriber_pop (CwEventSubscriber *self)
{
  CwEvent *event = g_queue_pop_head (&self->queue);

  if (event == NULL)
    return NULL;
  if (self->paused && g_queue_is_empty (&self->queue))
    self->paused = FALSE;
  else
    self->last_taken_seq = cw_event_get_seq (event);
  return event;
}

guint
cw_event_subscriber_get_queued (CwEventSubscriber *self)
{
  return self->queue.length;
}

guint64
cw_event_subscriber_get_overflows (CwEventSubscriber *self)
{
  return self->overflows;
}
