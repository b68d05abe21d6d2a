/* cw-transport-socket.c: listens on the local socket and hands each peer to a
 * CwSocketClient. No command logic lives here.
 *
 * Beyond the original on purpose: the socket directory is 0700 and the socket 0600, the
 * peer's uid is checked (SO_PEERCRED) before a byte is read, and a connection gets no
 * events until it has made one authenticated request.
 *
 * Clients are capped below the file descriptor limit (RESERVED_FDS stay for the database,
 * plugins and their child processes): one more is told "Too many connections" and closed.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-paths-private.h"
#include "cw-socket-acceptor-private.h"
#include "cw-socket-connection-private.h"
#include "cw-transport-socket-private.h"

#include <gio/gunixsocketaddress.h>
#include <glib/gstdio.h>
#include <sys/resource.h>
#include <sys/stat.h>

#define RESERVED_FDS    64
#define MAX_CLIENTS     1024
#define MAX_UNAUTH_LINE (64 * 1024)

struct _CwTransportSocket
{
  GObject parent_instance;
  CwSocketAcceptor *acceptor;
  guint max_clients;
  gchar *socket_path; /* NULL for tcp */
  gchar *endpoint;
  CwSocketClientConfig client_config;
  gchar *token;
  CwPeerCheckFunc peer_check;
  gpointer peer_check_data;
  GHashTable *clients; /* CwSocketClient set */
  guint64 accepted;
  guint64 refused;
  guint64 over_capacity;
};

G_DEFINE_FINAL_TYPE (CwTransportSocket, cw_transport_socket, G_TYPE_OBJECT)

static void
cw_transport_socket_finalize (GObject *object)
{
  CwTransportSocket *self = CW_TRANSPORT_SOCKET (object);

  cw_transport_socket_close (self);
  g_hash_table_unref (self->clients);
  g_clear_object (&self->client_config.registry);
  g_clear_object (&self->client_config.bus);
  g_free (self->token);
  g_free (self->endpoint);
  g_free (self->socket_path);
  G_OBJECT_CLASS (cw_transport_socket_parent_class)->finalize (object);
}

static void
cw_transport_socket_class_init (CwTransportSocketClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = cw_transport_socket_finalize;
}

static void
cw_transport_socket_init (CwTransportSocket *self)
{
  self->clients = g_hash_table_new (NULL, NULL);
}

CwTransportSocket *
cw_transport_socket_new (CwCommandRegistry *registry, CwEventBus *bus, guint subscriber_queue)
{
  CwTransportSocket *self = g_object_new (CW_TYPE_TRANSPORT_SOCKET, NULL);
  CwSocketLimits defaults = CW_SOCKET_LIMITS_DEFAULT;

  self->client_config.registry = g_object_ref (registry);
  self->client_config.bus = g_object_ref (bus);
  self->client_config.subscriber_queue = subscriber_queue;
  self->client_config.max_line = CW_SOCKET_MAX_LINE;
  self->client_config.max_unauth_line = MAX_UNAUTH_LINE;
  cw_transport_socket_set_limits (self, &defaults);
  return self;
}

/* What the descriptor limit leaves for clients. */
static guint
clients_for_fd_limit (void)
{
  struct rlimit rl;
  rlim_t n;

  if (getrlimit (RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
    return MAX_CLIENTS;
  n = rl.rlim_cur > 2 * RESERVED_FDS ? rl.rlim_cur - RESERVED_FDS : rl.rlim_cur / 2;
  return (guint) CLAMP (n, 1, MAX_CLIENTS);
}

void
cw_transport_socket_set_limits (CwTransportSocket *self, const CwSocketLimits *limits)
{
  guint by_fds = clients_for_fd_limit ();

  self->max_clients = limits->max_clients > 0 ? MIN (limits->max_clients, by_fds) : by_fds;
  self->client_config.auth_timeout_ms = limits->auth_timeout_ms;
  self->client_config.max_auth_failures = MAX (limits->max_auth_failures, 1);
}

void
cw_transport_socket_set_peer_check (CwTransportSocket *self, CwPeerCheckFunc func,
                                    gpointer user_data)
{
  self->peer_check = func;
  self->peer_check_data = user_data;
}

void
cw_transport_socket_set_token (CwTransportSocket *self, const gchar *token)
{
  g_free (self->token);
  self->token = g_strdup (token);
  self->client_config.token = self->token;
}

typedef struct
{
  CwTransportSocket *self;
  CwSocketClient *client;
} ClientSlot;

static void
on_client_closed (gpointer user_data)
{
  ClientSlot *slot = user_data;

  g_hash_table_remove (slot->self->clients, slot->client);
  if (slot->self->acceptor != NULL)
    cw_socket_acceptor_kick (slot->self->acceptor);
  g_free (slot);
}

/* Sets @peer_uid to the peer's uid (-1 over TCP, where the token is the only guard). */
static gboolean
peer_allowed (CwTransportSocket *self, GSocketConnection *connection, gint64 *peer_uid)
{
  GSocket *socket = g_socket_connection_get_socket (connection);
  g_autoptr (GCredentials) creds = NULL;
  g_autoptr (GError) error = NULL;
  uid_t uid;

  *peer_uid = -1;
  if (self->socket_path == NULL || self->peer_check == NULL)
    return TRUE; /* tcp: the token is the only guard */
  creds = g_socket_get_credentials (socket, &error);
  if (creds == NULL)
    {
      g_warning ("refusing a peer without credentials: %s", error->message);
      return FALSE;
    }
  uid = g_credentials_get_unix_user (creds, &error);
  if (uid == (uid_t) -1 || !self->peer_check (uid, self->peer_check_data))
    {
      g_message ("refusing a connection from uid %d", (gint) uid);
      return FALSE;
    }
  *peer_uid = uid;
  return TRUE;
}

static void
on_incoming (GSocketConnection *connection, gpointer user_data)
{
  CwTransportSocket *self = user_data;
  gint64 peer_uid = -1;
  ClientSlot *slot;

  if (!peer_allowed (self, connection, &peer_uid))
    {
      self->refused++;
      cw_socket_refuse (connection, "{\"id\":\"unknown\",\"success\":false,"
                                    "\"error\":\"Unauthorized\"}\n");
      return;
    }
  if (g_hash_table_size (self->clients) >= self->max_clients)
    {
      self->refused++;
      self->over_capacity++;
      cw_socket_refuse (connection, "{\"id\":\"unknown\",\"success\":false,"
                                    "\"error\":\"Too many connections\"}\n");
      return;
    }
  self->accepted++;
  slot = g_new0 (ClientSlot, 1);
  slot->self = self;
  slot->client
      = cw_socket_client_start (connection, peer_uid, &self->client_config, on_client_closed, slot);
  g_hash_table_add (self->clients, slot->client);
}

static gboolean
prepare_socket_dir (const gchar *path, GError **error)
{
  g_autofree gchar *dir = g_path_get_dirname (path);
  GStatBuf st;

  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      g_set_error (error, CW_ERROR, CW_ERROR_FAILED, "failed to create %s: %s", dir,
                   g_strerror (errno));
      return FALSE;
    }
  if (g_stat (dir, &st) == 0 && st.st_uid == getuid () && (st.st_mode & 077) != 0)
    g_chmod (dir, 0700);
  /* The lock is held: a socket file here is a leftover of a killed daemon. */
  if (g_lstat (path, &st) == 0)
    {
      if (!S_ISSOCK (st.st_mode))
        {
          g_set_error (error, CW_ERROR, CW_ERROR_EXISTS,
                       "%s exists and is not a socket; refusing to replace it", path);
          return FALSE;
        }
      g_unlink (path);
    }
  return TRUE;
}

static gboolean
listen_unix (CwTransportSocket *self, const gchar *path, GError **error)
{
  g_autoptr (GSocketAddress) address = NULL;
  mode_t old_umask;
  gboolean ok;

  if (strlen (path) >= 108)
    {
      g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS,
                   "socket path is too long for a unix socket: %s", path);
      return FALSE;
    }
  if (!prepare_socket_dir (path, error))
    return FALSE;
  address = g_unix_socket_address_new (path);
  old_umask = umask (0177);
  ok = g_socket_listener_add_address (cw_socket_acceptor_get_listener (self->acceptor), address,
                                      G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_DEFAULT, NULL, NULL,
                                      error);
  umask (old_umask);
  if (!ok)
    {
      g_prefix_error (error, "failed to listen on %s: ", path);
      return FALSE;
    }
  g_chmod (path, 0600);
  self->socket_path = g_strdup (path);
  return TRUE;
}

static gboolean
listen_tcp (CwTransportSocket *self, const gchar *endpoint, GError **error)
{
  g_autofree gchar *host = NULL;
  g_autoptr (GInetAddress) inet = NULL;
  g_autoptr (GSocketAddress) address = NULL;
  guint16 port;

  if (!cw_endpoint_parse_tcp (endpoint, &host, &port))
    {
      g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS, "invalid endpoint %s", endpoint);
      return FALSE;
    }
  inet = g_inet_address_new_from_string (g_strcmp0 (host, "localhost") == 0 ? "127.0.0.1" : host);
  if (inet == NULL || !g_inet_address_get_is_loopback (inet))
    {
      g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS,
                   "endpoint %s: only loopback addresses are allowed", endpoint);
      return FALSE;
    }
  address = g_inet_socket_address_new (inet, port);
  if (!g_socket_listener_add_address (cw_socket_acceptor_get_listener (self->acceptor), address,
                                      G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL, NULL,
                                      error))
    {
      g_prefix_error (error, "failed to listen on %s: ", endpoint);
      return FALSE;
    }
  return TRUE;
}

gboolean
cw_transport_socket_listen (CwTransportSocket *self, const gchar *endpoint, GError **error)
{
  gboolean ok;

  g_return_val_if_fail (self->acceptor == NULL, FALSE);
  g_return_val_if_fail (self->token != NULL, FALSE);
  self->acceptor = cw_socket_acceptor_new (on_incoming, self);
  ok = g_str_has_prefix (endpoint, "tcp://") ? listen_tcp (self, endpoint, error)
                                             : listen_unix (self, endpoint, error);
  if (!ok)
    {
      g_clear_pointer (&self->acceptor, cw_socket_acceptor_free);
      return FALSE;
    }
  self->endpoint = g_strdup (endpoint);
  cw_socket_acceptor_start (self->acceptor);
  return TRUE;
}

void
cw_transport_socket_close (CwTransportSocket *self)
{
  GHashTableIter iter;
  CwSocketClient *client;

  if (self->acceptor == NULL)
    return;
  g_clear_pointer (&self->acceptor, cw_socket_acceptor_free);
  if (self->socket_path != NULL)
    g_unlink (self->socket_path);
  g_hash_table_iter_init (&iter, self->clients);
  while (g_hash_table_iter_next (&iter, (gpointer *) &client, NULL))
    {
      g_hash_table_iter_steal (&iter);
      cw_socket_client_close (client);
    }
}

JsonObject *
cw_transport_socket_get_health (CwTransportSocket *self)
{
  JsonObject *obj = json_object_new ();

  json_object_set_boolean_member (obj, "listening", self->acceptor != NULL);
  if (self->endpoint != NULL)
    json_object_set_string_member (obj, "endpoint", self->endpoint);
  json_object_set_int_member (obj, "clients", g_hash_table_size (self->clients));
  json_object_set_int_member (obj, "accepted", (gint64) self->accepted);
  json_object_set_int_member (obj, "refused", (gint64) self->refused);
  json_object_set_int_member (obj, "maxClients", self->max_clients);
  json_object_set_int_member (obj, "overCapacity", (gint64) self->over_capacity);
  if (self->acceptor != NULL)
    cw_socket_acceptor_add_health (self->acceptor, obj);
  return obj;
}
