/* cw-dbus-peers.c: one CwCaller per sender with calls in flight. The bus daemon's
 * NameOwnerChanged for a unique name that loses its owner means the client has gone: its
 * caller is cancelled, so a handler waiting on cw_invocation_get_cancellable() stops, as
 * it does when a socket client hangs up. A GetNameOwner after subscribing catches a client
 * that left before the match was in place.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "cw-dbus-peers-private.h"

typedef struct
{
  CwDbusPeers *owner;
  CwCaller *caller;
  guint calls;          /* in flight */
  guint signal_id;      /* NameOwnerChanged for this sender */
  GCancellable *lookup; /* the GetNameOwner check */
} Peer;

struct _CwDbusPeers
{
  GDBusConnection *connection;
  GHashTable *peers; /* sender -> Peer */
};

static void
peer_free (gpointer data)
{
  Peer *peer = data;

  if (peer->signal_id != 0)
    g_dbus_connection_signal_unsubscribe (peer->owner->connection, peer->signal_id);
  g_cancellable_cancel (peer->lookup);
  g_object_unref (peer->lookup);
  cw_caller_unref (peer->caller);
  g_free (peer);
}

/* The sender has left: every call it has in flight is cancelled; a later call from the same
 * name cannot come (unique names are never reused within a bus's life). */
static void
peer_gone (CwDbusPeers *self, const gchar *sender)
{
  Peer *peer = g_hash_table_lookup (self->peers, sender);

  if (peer == NULL)
    return;
  g_debug ("D-Bus client %s left with %u call(s) in flight", sender, peer->calls);
  cw_caller_vanish (peer->caller);
  g_hash_table_remove (self->peers, sender);
}

static void
on_name_owner_changed (GDBusConnection *connection, const gchar *sender_name,
                       const gchar *object_path, const gchar *interface_name,
                       const gchar *signal_name, GVariant *parameters, gpointer user_data)
{
  const gchar *name, *old_owner, *new_owner;

  if (!g_variant_is_of_type (parameters, G_VARIANT_TYPE ("(sss)")))
    return;
  g_variant_get (parameters, "(&s&s&s)", &name, &old_owner, &new_owner);
  if (*new_owner == '\0')
    peer_gone (user_data, name);
}

static void
on_name_owner (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply
      = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), res, &error);
  Peer *peer = user_data;

  /* A peer dropped meanwhile cancelled the lookup (the finish says so, as GTask checks the
   * cancellable), so @peer is alive here unless the error is CANCELLED. */
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (error != NULL && g_dbus_error_is_remote_error (error)
      && g_strcmp0 (g_dbus_error_get_remote_error (error),
                    "org.freedesktop.DBus.Error.NameHasNoOwner")
             == 0)
    peer_gone (peer->owner, cw_caller_get_id (peer->caller));
}

CwDbusPeers *
cw_dbus_peers_new (GDBusConnection *connection)
{
  CwDbusPeers *self = g_new0 (CwDbusPeers, 1);

  self->connection = g_object_ref (connection);
  self->peers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, peer_free);
  return self;
}

void
cw_dbus_peers_free (CwDbusPeers *self)
{
  GHashTableIter iter;
  Peer *peer;

  if (self == NULL)
    return;
  g_hash_table_iter_init (&iter, self->peers);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &peer))
    cw_caller_vanish (peer->caller);
  g_hash_table_unref (self->peers);
  g_object_unref (self->connection);
  g_free (self);
}

CwCaller *
cw_dbus_peers_acquire (CwDbusPeers *self, const gchar *sender, gint64 uid)
{
  Peer *peer = g_hash_table_lookup (self->peers, sender);

  if (peer == NULL)
    {
      peer = g_new0 (Peer, 1);
      peer->owner = self;
      peer->caller = cw_caller_new (CW_CALLER_DBUS, uid, sender);
      peer->lookup = g_cancellable_new ();
      g_hash_table_insert (self->peers, g_strdup (sender), peer);
      peer->signal_id = g_dbus_connection_signal_subscribe (
          self->connection, "org.freedesktop.DBus", "org.freedesktop.DBus", "NameOwnerChanged",
          "/org/freedesktop/DBus", sender, G_DBUS_SIGNAL_FLAGS_NONE, on_name_owner_changed, self,
          NULL);
      g_dbus_connection_call (self->connection, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                              "org.freedesktop.DBus", "GetNameOwner", g_variant_new ("(s)", sender),
                              G_VARIANT_TYPE ("(s)"), G_DBUS_CALL_FLAGS_NONE, -1, peer->lookup,
                              on_name_owner, peer);
    }
  peer->calls++;
  return cw_caller_ref (peer->caller);
}

void
cw_dbus_peers_release (CwDbusPeers *self, CwCaller *caller)
{
  const gchar *sender = cw_caller_get_id (caller);
  Peer *peer = g_hash_table_lookup (self->peers, sender);

  /* A peer that left is no longer in the table; its caller is dropped by the call. */
  if (peer != NULL && peer->caller == caller && --peer->calls == 0)
    g_hash_table_remove (self->peers, sender);
  cw_caller_unref (caller);
}

guint
cw_dbus_peers_count (CwDbusPeers *self)
{
  return g_hash_table_size (self->peers);
}
