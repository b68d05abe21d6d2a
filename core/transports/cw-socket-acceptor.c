/* cw-socket-acceptor.c: accepts connections one at a time and hands them on.
 *
 * Out of file descriptors (EMFILE, ENFILE) accept fails at once, again and again: retrying
 * at once spins a core and floods the log. Instead accepting pauses until a client leaves
 * or for PAUSE_MS, waiting peers stay in the kernel's backlog, and the warning is given at
 * most once per WARN_INTERVAL_US with the number of failures since.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-socket-acceptor-private.h"

#define PAUSE_MS         1000
#define ERROR_PAUSE_MS   100
#define WARN_INTERVAL_US (60 * G_TIME_SPAN_SECOND)

struct _CwSocketAcceptor
{
  gint ref_count; /* one for the owner, one per accept in flight */
  GSocketListener *listener;
  GCancellable *cancellable;
  CwAcceptFunc func;
  gpointer user_data;
  gboolean running;
  gboolean accepting;
  guint pause_id;
  guint64 fd_exhausted;
  guint64 failures_unwarned;
  gint64 last_warning;
};

static void accept_next (CwSocketAcceptor *self);

CwSocketAcceptor *
cw_socket_acceptor_new (CwAcceptFunc func, gpointer user_data)
{
  CwSocketAcceptor *self = g_new0 (CwSocketAcceptor, 1);

  self->ref_count = 1;
  self->listener = g_socket_listener_new ();
  self->cancellable = g_cancellable_new ();
  self->func = func;
  self->user_data = user_data;
  return self;
}

static void
acceptor_unref (CwSocketAcceptor *self)
{
  if (--self->ref_count > 0)
    return;
  g_object_unref (self->listener);
  g_object_unref (self->cancellable);
  g_free (self);
}

GSocketListener *
cw_socket_acceptor_get_listener (CwSocketAcceptor *self)
{
  return self->listener;
}

static void
warn_limited (CwSocketAcceptor *self, const GError *error)
{
  gint64 now = g_get_monotonic_time ();

  if (self->last_warning != 0 && now - self->last_warning < WARN_INTERVAL_US)
    {
      self->failures_unwarned++;
      return;
    }
  g_warning ("accepting a client failed: %s (%" G_GUINT64_FORMAT " more failures since the "
             "last warning); waiting before the next accept",
             error->message, self->failures_unwarned);
  self->failures_unwarned = 0;
  self->last_warning = now;
}

static gboolean
on_pause_over (gpointer user_data)
{
  CwSocketAcceptor *self = user_data;

  self->pause_id = 0;
  accept_next (self);
  return G_SOURCE_REMOVE;
}

static void
on_accepted (GObject *source, GAsyncResult *res, gpointer user_data)
{
  CwSocketAcceptor *self = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GSocketConnection) connection
      = g_socket_listener_accept_finish (G_SOCKET_LISTENER (source), res, NULL, &error);

  self->accepting = FALSE;
  if (connection == NULL)
    {
      if (self->running && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          gboolean no_fds = g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TOO_MANY_OPEN_FILES);

          if (no_fds)
            self->fd_exhausted++;
          warn_limited (self, error);
          self->pause_id = g_timeout_add (no_fds ? PAUSE_MS : ERROR_PAUSE_MS, on_pause_over, self);
        }
      acceptor_unref (self);
      return;
    }
  if (self->running)
    {
      self->func (connection, self->user_data);
      accept_next (self);
    }
  acceptor_unref (self);
}

static void
accept_next (CwSocketAcceptor *self)
{
  if (!self->running || self->accepting || self->pause_id != 0)
    return;
  self->accepting = TRUE;
  self->ref_count++;
  g_socket_listener_accept_async (self->listener, self->cancellable, on_accepted, self);
}

void
cw_socket_acceptor_start (CwSocketAcceptor *self)
{
  self->running = TRUE;
  accept_next (self);
}

void
cw_socket_acceptor_kick (CwSocketAcceptor *self)
{
  if (self->pause_id == 0)
    return;
  g_clear_handle_id (&self->pause_id, g_source_remove);
  accept_next (self);
}

void
cw_socket_acceptor_free (CwSocketAcceptor *self)
{
  if (self == NULL)
    return;
  self->running = FALSE;
  g_clear_handle_id (&self->pause_id, g_source_remove);
  g_cancellable_cancel (self->cancellable);
  g_socket_listener_close (self->listener);
  acceptor_unref (self);
}

void
cw_socket_acceptor_add_health (CwSocketAcceptor *self, JsonObject *obj)
{
  json_object_set_boolean_member (obj, "acceptPaused", self->pause_id != 0);
  json_object_set_int_member (obj, "fdExhausted", (gint64) self->fd_exhausted);
}
