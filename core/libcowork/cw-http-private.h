/* cw-http-private.h: what the HTTP server, its routes and its requests share.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cowork-host.h"

G_BEGIN_DECLS

/* ---- routes (cw-http-route.c) ---- */

typedef struct
{
  gchar *owner;
  gchar *pattern; /* as registered: an exact path, or a prefix whose last segment is '*' */
  gchar *base;    /* normalised path; for a prefix, the path above the '*' ("" for the root) */
  gboolean prefix;
  gboolean websocket;
  gchar **protocols;
  CwHttpHandlerFunc func;
  CwWebsocketFunc ws_func;
  gpointer user_data;
  GDestroyNotify destroy;
} CwHttpRoute;

/* Checks @pattern and fills base/prefix of a new route (everything else zeroed). */
CwHttpRoute *cw_http_route_new (const gchar *owner, const gchar *pattern, GError **error);
void cw_http_route_free (CwHttpRoute *route);
/* FALSE with CW_ERROR_EXISTS when @route may not sit next to @other (another owner's
 * space, or the same pattern twice). */
gboolean cw_http_route_check_conflict (const CwHttpRoute *route, const CwHttpRoute *other,
                                       GError **error);
/* How well @route matches @path (a normalised request path): 0 = not at all; an exact
 * route beats any prefix, a longer prefix beats a shorter one. */
gsize cw_http_route_match (const CwHttpRoute *route, const gchar *path);
/* @path without a trailing '/' (except "/" itself); newly allocated. */
gchar *cw_http_path_normalise (const gchar *path);

/* ---- requests (cw-http-request.c) ---- */

struct _CwHttpRequest
{
  GObject parent_instance;
  SoupServerMessage *msg; /* NULL once the exchange is over */
  gchar *path;            /* normalised */
  gchar *owner;           /* of the route it was given to */
  GCancellable *cancellable;
  guint64 body_bytes;
  gboolean too_large;
  gboolean handled; /* given to a handler */
  gboolean responded;
  gboolean paused;
  guint timeout_id;
};

CwHttpRequest *cw_http_request_new (SoupServerMessage *msg);
/* The exchange is over (answered and written, or the client went away). */
void cw_http_request_finish (CwHttpRequest *self);
/* Sends {"error": @message} with @status if nothing was sent yet; cancels the request. */
gboolean cw_http_request_fail (CwHttpRequest *self, guint status, const gchar *message);
/* Pauses the message if its handler returned without an answer. */
void cw_http_request_wait (CwHttpRequest *self);

G_END_DECLS
