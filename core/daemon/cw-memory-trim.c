/* cw-memory-trim.c: glibc keeps what a long reply or a burst of events freed in its heap,
 * so the daemon's resident size stays at its peak until a restart. After about a MiB of
 * event text has passed (a proxy for what was allocated and freed to carry it), the first
 * quiet moment — no event for QUIET_MS — has the store drop the values bound to its cached
 * statements and SQLite's spare pages, then calls malloc_trim(0) (where the C library has
 * it), which gives the free pages back. It never runs while events flow, and costs nothing
 * while the daemon is idle.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "cw-memory-trim-private.h"

#ifdef HAVE_MALLOC_TRIM
#include <malloc.h>
#endif

#define TRIM_AFTER_BYTES (1024 * 1024)
#define QUIET_MS         250

struct _CwMemoryTrim
{
  CwEventBus *bus;
  CwStore *store;
  guint listener;
  gsize bytes;       /* event text since the last trim */
  gint64 last_event; /* monotonic µs */
  guint timer_id;
  guint64 trims;
};

static gboolean
on_quiet (gpointer user_data)
{
  CwMemoryTrim *self = user_data;
  gint64 quiet_us = g_get_monotonic_time () - self->last_event;

  if (quiet_us < QUIET_MS * G_TIME_SPAN_MILLISECOND)
    {
      /* Events came meanwhile: look again once the quiet moment could have passed. */
      self->timer_id
          = g_timeout_add (QUIET_MS - quiet_us / G_TIME_SPAN_MILLISECOND, on_quiet, self);
      return G_SOURCE_REMOVE;
    }
  self->timer_id = 0;
  self->bytes = 0;
  cw_store_release_memory (self->store);
#ifdef HAVE_MALLOC_TRIM
  malloc_trim (0);
#endif
  self->trims++;
  return G_SOURCE_REMOVE;
}

static void
on_event (CwEvent *event, gpointer user_data)
{
  CwMemoryTrim *self = user_data;
  gsize len;

  cw_event_to_json (event, &len);
  self->bytes += len;
  self->last_event = g_get_monotonic_time ();
  if (self->bytes >= TRIM_AFTER_BYTES && self->timer_id == 0)
    self->timer_id = g_timeout_add (QUIET_MS, on_quiet, self);
}

CwMemoryTrim *
cw_memory_trim_new (CwEventBus *bus, CwStore *store)
{
  CwMemoryTrim *self = g_new0 (CwMemoryTrim, 1);

  self->bus = g_object_ref (bus);
  self->store = g_object_ref (store);
  self->listener = cw_event_bus_add_listener (bus, "", on_event, self, NULL);
  return self;
}

void
cw_memory_trim_free (CwMemoryTrim *self)
{
  if (self == NULL)
    return;
  if (self->listener != 0)
    cw_event_bus_remove_listener (self->bus, self->listener);
  g_clear_handle_id (&self->timer_id, g_source_remove);
  g_object_unref (self->bus);
  g_object_unref (self->store);
  g_free (self);
}

JsonObject *
cw_memory_trim_get_health (CwMemoryTrim *self)
{
  JsonObject *obj = json_object_new ();

  json_object_set_int_member (obj, "trims", self != NULL ? (gint64) self->trims : 0);
  return obj;
}
