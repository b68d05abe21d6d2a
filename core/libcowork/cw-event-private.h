/* cw-event-private.h: building events (only the bus and the replay reader do).
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cowork.h"

G_BEGIN_DECLS

/* Takes ownership of @data (NULL = {}), which is sealed. */
CwEvent *cw_event_new (gint64 seq, gint64 timestamp, const gchar *type, const gchar *session_id,
                       const gchar *correlation_id, JsonObject *data);

G_END_DECLS
