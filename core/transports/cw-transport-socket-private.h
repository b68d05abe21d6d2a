/* cw-transport-socket-private.h: the NDJSON local socket (contract §1).
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cowork-host.h"

G_BEGIN_DECLS

#define CW_TYPE_TRANSPORT_SOCKET (cw_transport_socket_get_type ())
G_DECLARE_FINAL_TYPE (CwTransportSocket, cw_transport_socket, CW, TRANSPORT_SOCKET, GObject)

#define CW_SOCKET_MAX_LINE (16 * 1024 * 1024)

typedef struct
{
  guint max_clients;       /* 0: as many as the file descriptor limit leaves room for */
  guint auth_timeout_ms;   /* a connection must authenticate within this (0: no limit) */
  guint max_auth_failures; /* refused requests before a connection that never
                            * authenticated is closed */
} CwSocketLimits;

#define CW_SOCKET_LIMITS_DEFAULT                                                                   \
  {                                                                                                \
    0, 10000, 5                                                                                    \
  }

/* Decides whether a local peer (by uid) may talk to the daemon at all. */
typedef gboolean (*CwPeerCheckFunc) (uid_t uid, gpointer user_data);

CwTransportSocket *cw_transport_socket_new (CwCommandRegistry *registry, CwEventBus *bus,
                                            guint subscriber_queue);
void cw_transport_socket_set_peer_check (CwTransportSocket *self, CwPeerCheckFunc func,
                                         gpointer user_data);
/* Call before listen: the client cap is taken from the descriptor limit now. */
void cw_transport_socket_set_limits (CwTransportSocket *self, const CwSocketLimits *limits);
void cw_transport_socket_set_token (CwTransportSocket *self, const gchar *token);
/* @endpoint: a path (a unix socket, owner-only, in an owner-only directory) or
 * tcp://127.0.0.1:PORT (loopback only). */
gboolean cw_transport_socket_listen (CwTransportSocket *self, const gchar *endpoint,
                                     GError **error);
void cw_transport_socket_close (CwTransportSocket *self);
JsonObject *cw_transport_socket_get_health (CwTransportSocket *self);

G_END_DECLS
