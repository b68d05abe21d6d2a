/* cw-socket-connection-private.h: one connected client of the socket transport.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cowork-host.h"

G_BEGIN_DECLS

typedef struct _CwSocketClient CwSocketClient;

typedef struct
{
  CwCommandRegistry *registry;
  CwEventBus *bus;
  const gchar *token; /* current token, owned by the transport */
  guint subscriber_queue;
  gsize max_line;
  /* Until its first authenticated request a connection may send lines of at most
   * max_unauth_line bytes and max_auth_failures refused requests, within auth_timeout_ms
   * (0: no limit); past any of them it is closed. */
  gsize max_unauth_line;
  guint max_auth_failures;
  guint auth_timeout_ms;
} CwSocketClientConfig;

/* Starts reading requests; the client frees itself when the peer goes away and calls
 * @closed (with @closed_data) once. @peer_uid is the peer's uid, -1 over TCP. @config must
 * outlive it. */
CwSocketClient *cw_socket_client_start (GSocketConnection *connection, gint64 peer_uid,
                                        const CwSocketClientConfig *config, GDestroyNotify closed,
                                        gpointer closed_data);
/* Closes the connection now (daemon shutdown). */
void cw_socket_client_close (CwSocketClient *self);
/* Sends one line and closes (used to refuse a peer). */
void cw_socket_refuse (GSocketConnection *connection, const gchar *line);

G_END_DECLS
