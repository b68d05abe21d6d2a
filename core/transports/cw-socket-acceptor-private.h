/* cw-socket-acceptor-private.h: the accept loop of the socket transport.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cowork.h"

G_BEGIN_DECLS

typedef struct _CwSocketAcceptor CwSocketAcceptor;

/* Gets each accepted connection (transfer none). */
typedef void (*CwAcceptFunc) (GSocketConnection *connection, gpointer user_data);

CwSocketAcceptor *cw_socket_acceptor_new (CwAcceptFunc func, gpointer user_data);
/* Add addresses to it before start. */
GSocketListener *cw_socket_acceptor_get_listener (CwSocketAcceptor *self);
void cw_socket_acceptor_start (CwSocketAcceptor *self);
/* A descriptor was freed (a client left): accept again now if paused for lack of them. */
void cw_socket_acceptor_kick (CwSocketAcceptor *self);
/* Stops accepting, closes the listener and frees. */
void cw_socket_acceptor_free (CwSocketAcceptor *self);
/* {paused, fdExhausted}: whether accepting waits for a free descriptor and how often it had
 * to. */
void cw_socket_acceptor_add_health (CwSocketAcceptor *self, JsonObject *obj);

G_END_DECLS
