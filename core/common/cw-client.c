/* cw-client.c: a blocking NDJSON client for the local socket.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-client.h"
#include "cw-paths-private.h"

#include <gio/gunixsocketaddress.h>

struct _CwClient
{
  GSocketConnection *connection;
  GDataInputStream *in;
  GOutputStream *out;
  gchar *token;
  guint64 next_id;
  GQueue events; /* JsonObject */
};

CwClient *
cw_client_connect (const gchar *endpoint, const gchar *token, GError **error)
{
  g_autoptr (GSocketClient) sc = g_socket_client_new ();
  g_autoptr (GSocketAddress) address = NULL;
  g_autofree gchar *host = NULL;
  CwClient *self;
  guint16 port;

  if (cw_endpoint_parse_tcp (endpoint, &host, &port))
    {
      g_autoptr (GInetAddress) inet = g_inet_address_new_from_string (host);
      if (inet == NULL)
        inet = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
      address = g_inet_socket_address_new (inet, port);
    }
  else
    address = g_unix_socket_address_new (endpoint);

  self = g_new0 (CwClient, 1);
  self->connection = g_socket_client_connect (sc, G_SOCKET_CONNECTABLE (address), NULL, error);
  if (self->connection == NULL)
    {
      g_free (self);
      return NULL;
    }
  self->in
      = g_data_input_stream_new (g_io_stream_get_input_stream (G_IO_STREAM (self->connection)));
  g_buffered_input_stream_set_buffer_size (G_BUFFERED_INPUT_STREAM (self->in), 65536);
  self->out = g_io_stream_get_output_stream (G_IO_STREAM (self->connection));
  self->token = g_strdup (token);
  g_queue_init (&self->events);
  return self;
}

void
cw_client_free (CwClient *self)
{
  if (self == NULL)
    return;
  g_queue_clear_full (&self->events, (GDestroyNotify) json_object_unref);
  g_clear_object (&self->in);
  if (self->connection != NULL)
    g_io_stream_close (G_IO_STREAM (self->connection), NULL, NULL);
  g_clear_object (&self->connection);
  g_free (self->token);
  g_free (self);
}

void
cw_client_set_timeout (CwClient *self, guint seconds)
{
  g_socket_set_timeout (g_socket_connection_get_socket (self->connection), seconds);
}

gboolean
cw_client_send_raw (CwClient *self, const gchar *data, gsize len, GError **error)
{
  return g_output_stream_write_all (self->out, data, len, NULL, NULL, error);
}

gchar *
cw_client_send (CwClient *self, const gchar *command, JsonNode *params, GError **error)
{
  g_autoptr (JsonObject) req = json_object_new ();
  g_autoptr (JsonNode) node = json_node_new (JSON_NODE_OBJECT);
  g_autofree gchar *id = g_strdup_printf ("req_%" G_GUINT64_FORMAT, ++self->next_id);
  g_autofree gchar *line = NULL;
  g_autofree gchar *with_nl = NULL;

  json_object_set_string_member (req, "id", id);
  json_object_set_string_member (req, "command", command);
  json_object_set_member (req, "params",
                          params != NULL
                              ? json_node_copy (params)
                              : json_node_init_object (json_node_alloc (), json_object_new ()));
  if (self->token != NULL)
    json_object_set_string_member (req, "authToken", self->token);
  json_node_set_object (node, req);
  line = cw_json_to_string (node);
  with_nl = g_strconcat (line, "\n", NULL);
  if (!cw_client_send_raw (self, with_nl, strlen (with_nl), error))
    return NULL;
  return g_steal_pointer (&id);
}

JsonObject *
cw_client_read (CwClient *self, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  g_autofree gchar *line = NULL;
  g_autoptr (JsonNode) node = NULL;
  gsize len;

  line = g_data_input_stream_read_line (self->in, &len, NULL, &local_error);
  if (line == NULL)
    {
      if (local_error != NULL)
        g_propagate_error (error, g_steal_pointer (&local_error));
      else
        g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CLOSED,
                             "the daemon closed the connection");
      return NULL;
    }
  node = cw_json_from_string (line, (gssize) len, error);
  if (node == NULL)
    return NULL;
  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "unexpected line: %s", line);
      return NULL;
    }
  return json_object_ref (json_node_get_object (node));
}

static gboolean
is_response (JsonObject *obj)
{
  return json_object_has_member (obj, "id") && json_object_has_member (obj, "success");
}

JsonObject *
cw_client_wait_response (CwClient *self, const gchar *id, GError **error)
{
  for (;;)
    {
      JsonObject *obj = cw_client_read (self, error);

      if (obj == NULL)
        return NULL;
      if (!is_response (obj))
        {
          g_queue_push_tail (&self->events, obj);
          continue;
        }
      if (g_strcmp0 (json_object_get_string_member_with_default (obj, "id", NULL), id) == 0)
        return obj;
      json_object_unref (obj);
    }
}

JsonNode *
cw_client_call (CwClient *self, const gchar *command, JsonNode *params, GError **error)
{
  g_autofree gchar *id = cw_client_send (self, command, params, error);
  g_autoptr (JsonObject) response = NULL;
  JsonNode *result;

  if (id == NULL)
    return NULL;
  response = cw_client_wait_response (self, id, error);
  if (response == NULL)
    return NULL;
  if (!json_object_get_boolean_member_with_default (response, "success", FALSE))
    {
      g_set_error_literal (
          error, CW_ERROR, CW_ERROR_FAILED,
          json_object_get_string_member_with_default (response, "error", "unknown error"));
      return NULL;
    }
  result = json_object_get_member (response, "result");
  return result != NULL ? json_node_copy (result) : json_node_new (JSON_NODE_NULL);
}

JsonObject *
cw_client_next_event (CwClient *self, GError **error)
{
  JsonObject *obj = g_queue_pop_head (&self->events);

  while (obj == NULL)
    {
      obj = cw_client_read (self, error);
      if (obj == NULL)
        return NULL;
      if (is_response (obj))
        {
          json_object_unref (obj);
          obj = NULL;
        }
    }
  return obj;
}
