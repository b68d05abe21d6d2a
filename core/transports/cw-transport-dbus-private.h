/* cw-transport-dbus-private.h: the D-Bus transport (org.cowork.Daemon1 on the session or
 * system bus). Like the socket transport it only parses, authorizes and routes.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cowork-host.h"
#include "cw-transport-socket-private.h"

G_BEGIN_DECLS

#define CW_DBUS_NAME         "org.cowork.Daemon"
#define CW_DBUS_PATH         "/org/cowork/Daemon"
#define CW_DBUS_INTERFACE    "org.cowork.Daemon1"
#define CW_DBUS_ERROR_PREFIX "org.cowork.Daemon1.Error."

typedef enum
{
  CW_DBUS_BUS_NONE,
  CW_DBUS_BUS_SESSION,
  CW_DBUS_BUS_SYSTEM,
} CwDbusBus;

/* Resolves a --dbus value; NULL or "" picks the default: system in system mode, session in
 * user mode when a session bus exists (DBUS_SESSION_BUS_ADDRESS, or $XDG_RUNTIME_DIR/bus),
 * none otherwise. */
gboolean cw_dbus_bus_parse (const gchar *value, gboolean system_mode, CwDbusBus *out,
                            GError **error);
const gchar *cw_dbus_bus_to_string (CwDbusBus bus);
/* Maps every CwError code to org.cowork.Daemon1.Error.<Kind>, both ways; idempotent. */
void cw_dbus_register_errors (void);
/* The parsed org.cowork.Daemon1 interface (from the GResource); never NULL. */
GDBusInterfaceInfo *cw_dbus_get_interface_info (void);

#define CW_TYPE_TRANSPORT_DBUS (cw_transport_dbus_get_type ())
G_DECLARE_FINAL_TYPE (CwTransportDbus, cw_transport_dbus, CW, TRANSPORT_DBUS, GObject)

CwTransportDbus *cw_transport_dbus_new (CwCommandRegistry *registry, CwEventBus *bus,
                                        guint subscriber_queue);
/* Who may use the restricted members, decided from the caller's uid as the bus reports it. */
void cw_transport_dbus_set_peer_check (CwTransportDbus *self, CwPeerCheckFunc func,
                                       gpointer user_data);
/* Connects in the background and keeps reconnecting; it never fails the daemon. */
void cw_transport_dbus_start (CwTransportDbus *self, CwDbusBus bus);
void cw_transport_dbus_set_ready (CwTransportDbus *self, gboolean ready);
void cw_transport_dbus_close (CwTransportDbus *self);
JsonObject *cw_transport_dbus_get_health (CwTransportDbus *self);

G_END_DECLS
