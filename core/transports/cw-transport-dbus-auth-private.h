/* cw-transport-dbus-auth-private.h: who may use the restricted members of org.cowork.Daemon1,
 * decided from the caller's uid as the bus daemon reports it.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cw-transport-socket-private.h"

G_BEGIN_DECLS

typedef struct _CwDbusAuth CwDbusAuth;

/* Called once per invocation, in the order the calls arrived from each sender. */
typedef void (*CwDbusAuthFunc) (GDBusMethodInvocation *invocation, gboolean allowed,
                                gpointer owner);

CwDbusAuth *cw_dbus_auth_new (void);
void cw_dbus_auth_free (CwDbusAuth *self);
/* NULL @func lets everyone in. */
void cw_dbus_auth_set_peer_check (CwDbusAuth *self, CwPeerCheckFunc func, gpointer user_data);
/* Calls @func with @owner (kept alive meanwhile; it must own @self) now or after the bus has
 * told the sender's uid. */
void cw_dbus_auth_check (CwDbusAuth *self, GDBusMethodInvocation *invocation, CwDbusAuthFunc func,
                         GObject *owner);
/* Forgets every decision: unique names are only unique within one bus connection's life. */
void cw_dbus_auth_forget (CwDbusAuth *self);

/* The uid a sender was let in as, or -1 when it has not been checked (open members). */
gint64 cw_dbus_auth_get_uid (CwDbusAuth *self, const gchar *sender);

G_END_DECLS
