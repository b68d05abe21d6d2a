/* cw-event-consumer-private.h: the bus's side of a durable event consumer.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cowork.h"

G_BEGIN_DECLS

/* Reads the persisted cursor of (@owner, @name), or creates it at @start_cursor. */
CwEventConsumer *cw_event_consumer_new (CwEventBus *bus, CwStore *store, const gchar *owner,
                                        const gchar *name, const gchar *const *prefixes,
                                        gint64 start_cursor, CwEventConsumerFunc func,
                                        CwEventGapFunc gap_func, gpointer user_data,
                                        GDestroyNotify destroy, GError **error);
const gchar *cw_event_consumer_get_owner (CwEventConsumer *self);
/* A batch of events was stored: deliver what matches. */
void cw_event_consumer_notify (CwEventConsumer *self, GPtrArray *batch);
/* Saves the cursor and stops delivering; the bus drops its reference afterwards. With
 * @forget the persisted cursor is deleted instead. */
void cw_event_consumer_close (CwEventConsumer *self, gboolean forget);
/* {owner, name, prefixes, cursor, inFlight} */
JsonObject *cw_event_consumer_get_health (CwEventConsumer *self);

/* The bus's marks the consumers read. */
gint64 cw_event_bus_get_stored_seq (CwEventBus *self);
gint64 cw_event_bus_get_pruned_through (CwEventBus *self);

G_END_DECLS
