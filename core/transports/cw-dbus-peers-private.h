/* cw-dbus-peers-private.h: the callers of one bus connection, one per sender with calls in
 * flight, each cancelled when its bus name leaves the bus (the D-Bus form of a socket
 * client that hangs up mid-call).
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cowork-host.h"

G_BEGIN_DECLS

typedef struct _CwDbusPeers CwDbusPeers;

CwDbusPeers *cw_dbus_peers_new (GDBusConnection *connection);
/* Cancels every caller still tracked: the connection they came over is gone. */
void cw_dbus_peers_free (CwDbusPeers *self);
/* The caller for @sender (made on its first call in flight), with a reference for the call.
 * @uid is what the bus reported, or -1. */
CwCaller *cw_dbus_peers_acquire (CwDbusPeers *self, const gchar *sender, gint64 uid);
/* The call that acquired @caller has been answered. */
void cw_dbus_peers_release (CwDbusPeers *self, CwCaller *caller);
/* Senders with calls in flight. */
guint cw_dbus_peers_count (CwDbusPeers *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CwDbusPeers, cw_dbus_peers_free)

G_END_DECLS
