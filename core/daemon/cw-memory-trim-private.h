/* cw-memory-trim-private.h: freed heap handed back to the system once the daemon goes quiet
 * after a burst of events.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cowork-host.h"

G_BEGIN_DECLS

typedef struct _CwMemoryTrim CwMemoryTrim;

/* Watches @bus: after about a MiB of event text, once no event came for a moment, @store and
 * the C library give back the memory they hold but do not use. */
CwMemoryTrim *cw_memory_trim_new (CwEventBus *bus, CwStore *store);
void cw_memory_trim_free (CwMemoryTrim *self);
/* {trims} for daemon_health; @self may be NULL. */
JsonObject *cw_memory_trim_get_health (CwMemoryTrim *self);

G_END_DECLS
