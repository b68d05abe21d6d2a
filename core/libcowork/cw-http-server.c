/* cw-http-server.c: the daemon's one HTTP server (libsoup 3), shared by every plugin.
 *
 * It listens only while some plugin has a route: the first route binds it (loopback,
 * 127.0.0.1 and ::1, unless an address is configured), removing the last one closes it.
 * Every request gets a body size limit (413) and a time limit from its first byte to the
 * answer (408, or the connection is closed when the client is still sending); both answers
 * are JSON {"error": ...}, like the 404 for a path no route covers. Routes, open requests
 * and WebSockets belong to the plugin that registered them and go with it.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-http-private.h"

#define REQUEST_KEY "cw-http-request"

typedef struct
{
  gchar *owner;
  SoupWebsocketConnection *conn;
  gulong closed_id;
} Socket;

struct _CwHttpServer
{
  GObject parent_instance;
  gchar *address; /* NULL: loopback */
  guint port;
  guint64 max_body;
  guint timeout_ms;
  SoupServer *soup; /* NULL while no route exists */
  GPtrArray *routes;
  GPtrArray *requests; /* CwHttpRequest not finished yet */
  GPtrArray *sockets;  /* Socket */
  GPtrArray *bound;    /* "127.0.0.1:port" ... */
  gchar *base_url;
  gchar *last_error;
};

G_DEFINE_FINAL_TYPE (CwHttpServer, cw_http_server, G_TYPE_OBJECT)

static void stop_listening (CwHttpServer *self);

static void
socket_free (Socket *s)
{
  g_clear_signal_handler (&s->closed_id, s->conn);
  g_object_unref (s->conn);
  g_free (s->owner);
  g_free (s);
}

static void
cw_http_server_finalize (GObject *object)
{
  CwHttpServer *self = CW_HTTP_SERVER (object);

  g_ptr_array_set_size (self->routes, 0);
  stop_listening (self);
  g_ptr_array_unref (self->routes);
  g_ptr_array_unref (self->requests);
  g_ptr_array_unref (self->sockets);
  g_ptr_array_unref (self->bound);
  g_free (self->address);
  g_free (self->last_error);
  G_OBJECT_CLASS (cw_http_server_parent_class)->finalize (object);
}

static void
cw_http_server_class_init (CwHttpServerClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = cw_http_server_finalize;
}

static void
cw_http_server_init (CwHttpServer *self)
{
  self->routes = g_ptr_array_new_with_free_func ((GDestroyNotify) cw_http_route_free);
  self->requests = g_ptr_array_new_with_free_func (g_object_unref);
  self->sockets = g_ptr_array_new_with_free_func ((GDestroyNotify) socket_free);
  self->bound = g_ptr_array_new_with_free_func (g_free);
  self->max_body = CW_HTTP_DEFAULT_MAX_BODY;
  self->timeout_ms = CW_HTTP_DEFAULT_TIMEOUT_MS;
}

CwHttpServer *
cw_http_server_new (const gchar *address, guint port)
{
  CwHttpServer *self = g_object_new (CW_TYPE_HTTP_SERVER, NULL);

  self->address = address != NULL && *address != '\0' ? g_strdup (address) : NULL;
  self->port = port;
  return self;
}

void
cw_http_server_set_limits (CwHttpServer *self, guint64 max_body_bytes, guint timeout_ms)
{
  g_return_if_fail (CW_IS_HTTP_SERVER (self));
  self->max_body = max_body_bytes > 0 ? max_body_bytes : CW_HTTP_DEFAULT_MAX_BODY;
  self->timeout_ms = timeout_ms > 0 ? timeout_ms : CW_HTTP_DEFAULT_TIMEOUT_MS;
}

/* ---- one exchange ---- */

static void
forget_request (CwHttpServer *self, CwHttpRequest *req)
{
  cw_http_request_finish (req);
  g_ptr_array_remove_fast (self->requests, req);
}

static void
too_large (CwHttpRequest *req, SoupServerMessage *msg, CwHttpServer *self)
{
  g_autofree gchar *message
      = g_strdup_printf ("Request body is larger than %" G_GUINT64_FORMAT " bytes", self->max_body);

  req->too_large = TRUE;
  soup_message_body_set_accumulate (soup_server_message_get_request_body (msg), FALSE);
  soup_message_body_truncate (soup_server_message_get_request_body (msg));
  soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Connection",
                                "close");
  cw_http_request_fail (req, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE, message);
}

static void
got_headers_cb (SoupServerMessage *msg, CwHttpServer *self)
{
  CwHttpRequest *req = g_object_get_data (G_OBJECT (msg), REQUEST_KEY);
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);

  if (req != NULL && !req->too_large
      && soup_message_headers_get_encoding (headers) == SOUP_ENCODING_CONTENT_LENGTH
      && (guint64) soup_message_headers_get_content_length (headers) > self->max_body)
    too_large (req, msg, self);
}

static void
got_chunk_cb (SoupServerMessage *msg, GBytes *chunk, CwHttpServer *self)
{
  CwHttpRequest *req = g_object_get_data (G_OBJECT (msg), REQUEST_KEY);

  if (req == NULL || req->too_large)
    return;
  req->body_bytes += g_bytes_get_size (chunk);
  if (req->body_bytes > self->max_body)
    too_large (req, msg, self);
}

static void
finished_cb (SoupServerMessage *msg, CwHttpServer *self)
{
  CwHttpRequest *req = g_object_get_data (G_OBJECT (msg), REQUEST_KEY);

  if (req != NULL)
    forget_request (self, req);
}

static gboolean
timeout_cb (gpointer user_data)
{
  CwHttpRequest *req = user_data;

  req->timeout_id = 0;
  if (req->msg == NULL || req->responded)
    return G_SOURCE_REMOVE;
  if (req->handled)
    cw_http_request_fail (req, SOUP_STATUS_REQUEST_TIMEOUT, "Request Timeout");
  else
    {
      /* Still sending its request: no answer can be written before it is read. */
      GSocket *socket = soup_server_message_get_socket (req->msg);
      g_debug ("HTTP client too slow; closing its connection");
      if (socket != NULL)
        g_socket_shutdown (socket, TRUE, TRUE, NULL);
    }
  return G_SOURCE_REMOVE;
}

static void
request_started_cb (SoupServer *soup, SoupServerMessage *msg, CwHttpServer *self)
{
  CwHttpRequest *req = cw_http_request_new (msg);

  g_object_set_data_full (G_OBJECT (msg), REQUEST_KEY, g_object_ref (req), g_object_unref);
  g_ptr_array_add (self->requests, req);
  g_signal_connect_object (msg, "got-headers", G_CALLBACK (got_headers_cb), self, 0);
  g_signal_connect_object (msg, "got-chunk", G_CALLBACK (got_chunk_cb), self, 0);
  g_signal_connect_object (msg, "finished", G_CALLBACK (finished_cb), self, 0);
  req->timeout_id = g_timeout_add (self->timeout_ms, timeout_cb, req);
}

/* ---- routing ---- */

static CwHttpRoute *
find_route (CwHttpServer *self, const gchar *path)
{
  CwHttpRoute *best = NULL;
  gsize best_score = 0;

  for (guint i = 0; i < self->routes->len; i++)
    {
      CwHttpRoute *r = g_ptr_array_index (self->routes, i);
      gsize score = cw_http_route_match (r, path);
      if (score > best_score)
        {
          best = r;
          best_score = score;
        }
    }
  return best;
}

static void
dispatch (CwHttpServer *self, SoupServerMessage *msg, gboolean websocket_entry)
{
  CwHttpRequest *req = g_object_get_data (G_OBJECT (msg), REQUEST_KEY);
  g_autofree gchar *path = NULL;
  CwHttpRoute *route;
  g_autoptr (GError) error = NULL;

  if (req == NULL || req->too_large)
    return;
  path = cw_http_path_normalise (g_uri_get_path (soup_server_message_get_uri (msg)));
  route = find_route (self, path);
  /* Below a WebSocket path libsoup would try an upgrade: nothing is routed there. */
  if (route == NULL || (websocket_entry && !route->websocket))
    {
      cw_http_request_respond_error (req, SOUP_STATUS_NOT_FOUND, "Not found");
      return;
    }
  g_free (req->path);
  req->path = g_steal_pointer (&path);
  g_free (req->owner);
  req->owner = g_strdup (route->owner);
  if (route->websocket)
    {
      /* A valid handshake is completed by libsoup, which then calls websocket_cb. */
      if (!soup_websocket_server_check_handshake (msg, NULL, (gchar **) route->protocols, NULL,
                                                  &error))
        cw_http_request_respond_error (req, SOUP_STATUS_BAD_REQUEST, error->message);
      return;
    }
  req->handled = TRUE;
  route->func (req, route->user_data);
  cw_http_request_wait (req);
}

static void
handler_cb (SoupServer *soup, SoupServerMessage *msg, const char *path, GHashTable *query,
            gpointer user_data)
{
  dispatch (CW_HTTP_SERVER (user_data), msg, FALSE);
}

static void
websocket_entry_cb (SoupServer *soup, SoupServerMessage *msg, const char *path, GHashTable *query,
                    gpointer user_data)
{
  dispatch (CW_HTTP_SERVER (user_data), msg, TRUE);
}

static void
socket_closed_cb (SoupWebsocketConnection *conn, CwHttpServer *self)
{
  for (guint i = 0; i < self->sockets->len; i++)
    if (((Socket *) g_ptr_array_index (self->sockets, i))->conn == conn)
      {
        g_ptr_array_remove_index_fast (self->sockets, i);
        return;
      }
}

static void
websocket_cb (SoupServer *soup, SoupServerMessage *msg, const char *path,
              SoupWebsocketConnection *conn, gpointer user_data)
{
  CwHttpServer *self = CW_HTTP_SERVER (user_data);
  CwHttpRequest *req = g_object_get_data (G_OBJECT (msg), REQUEST_KEY);
  CwHttpRoute *route;
  Socket *s;

  if (req == NULL || (route = find_route (self, req->path)) == NULL || !route->websocket)
    {
      soup_websocket_connection_close (conn, SOUP_WEBSOCKET_CLOSE_GOING_AWAY, NULL);
      return;
    }
  /* The connection now lives on its own: no time limit, no HTTP answer. */
  g_object_ref (req);
  g_clear_handle_id (&req->timeout_id, g_source_remove);
  req->responded = TRUE;
  s = g_new0 (Socket, 1);
  s->owner = g_strdup (route->owner);
  s->conn = g_object_ref (conn);
  s->closed_id = g_signal_connect (conn, "closed", G_CALLBACK (socket_closed_cb), self);
  g_ptr_array_add (self->sockets, s);
  route->ws_func (req, conn, route->user_data);
  forget_request (self, req);
  g_object_unref (req);
}

/* ---- listening ---- */

static void
add_websocket_entry (CwHttpServer *self, CwHttpRoute *route)
{
  soup_server_add_handler (self->soup, route->base, websocket_entry_cb, self, NULL);
  soup_server_add_websocket_handler (self->soup, route->base, NULL, route->protocols, websocket_cb,
                                     self, NULL);
}

static gboolean
listen_configured (CwHttpServer *self, GError **error)
{
  g_autoptr (GInetAddress) inet = NULL;
  g_autoptr (GSocketAddress) address = NULL;

  if (self->address == NULL)
    return soup_server_listen_local (self->soup, self->port, 0, error);
  inet = g_inet_address_new_from_string (self->address);
  if (inet == NULL)
    {
      g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS,
                   "[http] address %s is not an IP address", self->address);
      return FALSE;
    }
  if (!g_inet_address_get_is_loopback (inet))
    g_warning ("the HTTP server listens on %s, which is not loopback: anyone who can reach "
               "that address can call the plugins' HTTP routes",
               self->address);
  address = g_inet_socket_address_new (inet, self->port);
  return soup_server_listen (self->soup, address, 0, error);
}

static void
record_bound (CwHttpServer *self)
{
  GSList *uris = soup_server_get_uris (self->soup);
  const gchar *url_host = NULL;
  guint url_port = 0;

  for (GSList *l = uris; l != NULL; l = l->next)
    {
      const gchar *host = g_uri_get_host (l->data);
      guint port = g_uri_get_port (l->data);
      gboolean v6 = strchr (host, ':') != NULL;

      g_ptr_array_add (self->bound, v6 ? g_strdup_printf ("[%s]:%u", host, port)
                                       : g_strdup_printf ("%s:%u", host, port));
      /* The URL names IPv4 first; a wildcard bind is reached through loopback. */
      if (url_host == NULL || (!v6 && strchr (url_host, ':') != NULL))
        {
          url_host = host;
          url_port = port;
        }
    }
  if (g_strcmp0 (url_host, "0.0.0.0") == 0)
    url_host = "127.0.0.1";
  else if (g_strcmp0 (url_host, "::") == 0)
    url_host = "::1";
  if (url_host != NULL)
    self->base_url = strchr (url_host, ':') != NULL
                         ? g_strdup_printf ("http://[%s]:%u", url_host, url_port)
                         : g_strdup_printf ("http://%s:%u", url_host, url_port);
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);
}

static gboolean
start_listening (CwHttpServer *self, GError **error)
{
  g_autoptr (GError) local_error = NULL;

  self->soup = soup_server_new ("server-header", "coworkd ", NULL);
  g_signal_connect (self->soup, "request-started", G_CALLBACK (request_started_cb), self);
  soup_server_add_handler (self->soup, NULL, handler_cb, self, NULL);
  for (guint i = 0; i < self->routes->len; i++)
    if (((CwHttpRoute *) g_ptr_array_index (self->routes, i))->websocket)
      add_websocket_entry (self, g_ptr_array_index (self->routes, i));
  if (!listen_configured (self, &local_error))
    {
      g_prefix_error (&local_error, "cannot start the HTTP server: ");
      g_free (self->last_error);
      self->last_error = g_strdup (local_error->message);
      g_clear_object (&self->soup);
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  record_bound (self);
  g_clear_pointer (&self->last_error, g_free);
  g_message ("HTTP server listening on %s", self->base_url);
  return TRUE;
}

static void
stop_listening (CwHttpServer *self)
{
  if (self->soup == NULL)
    return;
  while (self->requests->len > 0)
    forget_request (self, g_ptr_array_index (self->requests, 0));
  soup_server_disconnect (self->soup);
  g_clear_object (&self->soup);
  g_ptr_array_set_size (self->bound, 0);
  g_clear_pointer (&self->base_url, g_free);
  g_message ("HTTP server stopped: no plugin has a route");
}

/* ---- routes ---- */

static gboolean
add_route (CwHttpServer *self, CwHttpRoute *route, GError **error)
{
  for (guint i = 0; i < self->routes->len; i++)
    if (!cw_http_route_check_conflict (route, g_ptr_array_index (self->routes, i), error))
      {
        route->destroy = NULL; /* not taken: the caller keeps its data */
        cw_http_route_free (route);
        return FALSE;
      }
  g_ptr_array_add (self->routes, route);
  if (self->soup == NULL)
    {
      if (!start_listening (self, error))
        {
          route->destroy = NULL;
          g_ptr_array_remove (self->routes, route);
          return FALSE;
        }
    }
  else if (route->websocket)
    add_websocket_entry (self, route);
  g_debug ("HTTP route %s%s of %s", route->pattern, route->websocket ? " (WebSocket)" : "",
           route->owner);
  return TRUE;
}

gboolean
cw_http_server_add_route (CwHttpServer *self, const gchar *owner, const gchar *pattern,
                          CwHttpHandlerFunc func, gpointer user_data, GDestroyNotify destroy,
                          GError **error)
{
  CwHttpRoute *route;

  g_return_val_if_fail (CW_IS_HTTP_SERVER (self), FALSE);
  g_return_val_if_fail (owner != NULL && func != NULL, FALSE);
  route = cw_http_route_new (owner, pattern, error);
  if (route == NULL)
    return FALSE;
  route->func = func;
  route->user_data = user_data;
  route->destroy = destroy;
  return add_route (self, route, error);
}

gboolean
cw_http_server_add_websocket_route (CwHttpServer *self, const gchar *owner, const gchar *path,
                                    const gchar *const *protocols, CwWebsocketFunc func,
                                    gpointer user_data, GDestroyNotify destroy, GError **error)
{
  CwHttpRoute *route;

  g_return_val_if_fail (CW_IS_HTTP_SERVER (self), FALSE);
  g_return_val_if_fail (owner != NULL && func != NULL, FALSE);
  route = cw_http_route_new (owner, path, error);
  if (route == NULL)
    return FALSE;
  if (route->prefix)
    {
      g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS,
                   "WebSocket route %s: a WebSocket route is one exact path", path);
      cw_http_route_free (route);
      return FALSE;
    }
  route->websocket = TRUE;
  route->protocols = g_strdupv ((gchar **) protocols);
  route->ws_func = func;
  route->user_data = user_data;
  route->destroy = destroy;
  return add_route (self, route, error);
}

guint
cw_http_server_remove_owner (CwHttpServer *self, const gchar *owner)
{
  guint removed = 0;

  g_return_val_if_fail (CW_IS_HTTP_SERVER (self), 0);
  for (guint i = self->sockets->len; i > 0; i--)
    {
      Socket *s = g_ptr_array_index (self->sockets, i - 1);
      if (g_strcmp0 (s->owner, owner) != 0)
        continue;
      g_clear_signal_handler (&s->closed_id, s->conn);
      if (soup_websocket_connection_get_state (s->conn) == SOUP_WEBSOCKET_STATE_OPEN)
        soup_websocket_connection_close (s->conn, SOUP_WEBSOCKET_CLOSE_GOING_AWAY,
                                         "Service stopped");
      g_ptr_array_remove_index_fast (self->sockets, i - 1);
    }
  for (guint i = self->requests->len; i > 0; i--)
    {
      CwHttpRequest *req = g_ptr_array_index (self->requests, i - 1);
      if (req->handled && g_strcmp0 (req->owner, owner) == 0)
        cw_http_request_fail (req, SOUP_STATUS_SERVICE_UNAVAILABLE, "Service unavailable");
    }
  for (guint i = self->routes->len; i > 0; i--)
    {
      CwHttpRoute *r = g_ptr_array_index (self->routes, i - 1);
      if (g_strcmp0 (r->owner, owner) != 0)
        continue;
      if (r->websocket && self->soup != NULL)
        soup_server_remove_handler (self->soup, r->base);
      g_ptr_array_remove_index (self->routes, i - 1);
      removed++;
    }
  if (removed > 0 && self->routes->len == 0)
    stop_listening (self);
  return removed;
}

gchar *
cw_http_server_get_base_url (CwHttpServer *self)
{
  g_return_val_if_fail (CW_IS_HTTP_SERVER (self), NULL);
  return g_strdup (self->base_url);
}

JsonObject *
cw_http_server_get_health (CwHttpServer *self)
{
  JsonObject *obj = json_object_new ();
  JsonArray *bound = json_array_new ();
  JsonArray *routes = json_array_new ();

  json_object_set_boolean_member (obj, "listening", self->soup != NULL);
  if (self->base_url != NULL)
    json_object_set_string_member (obj, "url", self->base_url);
  else
    json_object_set_null_member (obj, "url");
  for (guint i = 0; i < self->bound->len; i++)
    json_array_add_string_element (bound, g_ptr_array_index (self->bound, i));
  json_object_set_array_member (obj, "addresses", bound);
  for (guint i = 0; i < self->routes->len; i++)
    {
      CwHttpRoute *r = g_ptr_array_index (self->routes, i);
      JsonObject *o = json_object_new ();
      json_object_set_string_member (o, "owner", r->owner);
      json_object_set_string_member (o, "path", r->pattern);
      json_object_set_boolean_member (o, "websocket", r->websocket);
      json_array_add_object_element (routes, o);
    }
  json_object_set_array_member (obj, "routes", routes);
  json_object_set_int_member (obj, "openRequests", self->requests->len);
  json_object_set_int_member (obj, "websockets", self->sockets->len);
  json_object_set_int_member (obj, "maxBodyBytes", (gint64) self->max_body);
  json_object_set_int_member (obj, "requestTimeoutMs", self->timeout_ms);
  if (self->last_error != NULL)
    json_object_set_string_member (obj, "lastError", self->last_error);
  return obj;
}
