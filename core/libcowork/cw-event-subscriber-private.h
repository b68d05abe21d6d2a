/* cw-event-subscriber-private.h: the bus's side of a subscriber queue.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cowork.h"

G_BEGIN_DECLS

CwEventSubscriber *cw_event_subscriber_new (guint max_queue, CwEventWakeFunc wake,
                                            gpointer user_data);
void cw_event_subscriber_free (CwEventSubscriber *self);
/* Queues @event, or the resync marker if the queue is full. */
void cw_event_subscriber_push (CwEventSubscriber *self, CwEvent *event);
/* Calls the wake function if events arrived in an empty queue since the last call. The bus
 * pushes a whole batch first and notifies once, so a consumer writes a batch, not an event. */
/* Events up to @lost_through could not be stored and will never come: the client gets a
 * resync marker (reason "events_not_stored") and replays, where it finds hasGap. */
void cw_event_subscriber_push_gap (CwEventSubscriber *self, gint64 lost_through);
void cw_event_subscriber_notify (CwEventSubscriber *self);
guint64 cw_event_subscriber_get_overflows (CwEventSubscriber *self);

G_END_DECLS
