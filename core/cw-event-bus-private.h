/* cw-event-bus-private.h: creating the bus and reading its state for health reports.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cowork.h"

G_BEGIN_DECLS

typedef struct
{
  guint ring_size;     /* events kept in memory for fast replay (default 5000) */
  gint64 keep_events;  /* an event is kept while among the newest keep_events ... */
  gint64 keep_seconds; /* ... or younger than keep_seconds */
  gint64 max_events;   /* hard ceiling on stored events, whatever their age */
} CwEventRetention;

#define CW_EVENT_RETENTION_DEFAULT                                                                 \
  {                                                                                                \
    5000, 50000, 7 * 24 * 3600, 1000000                                                            \
  }

CwEventBus *cw_event_bus_new (CwStore *store, const CwEventRetention *retention, GError **error);
/* Stores pending events and hands them to subscribers now. */
void cw_event_bus_flush (CwEventBus *self);
/* Deletes events outside the retention window; returns how many went. */
gint64 cw_event_bus_prune (CwEventBus *self, GError **error);
JsonObject *cw_event_bus_get_health (CwEventBus *self);

G_END_DECLS
