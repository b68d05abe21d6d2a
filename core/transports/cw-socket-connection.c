/* cw-socket-client.c: one NDJSON client. Reads lines (at most max_line bytes each),
 * authenticates every request by its authToken, routes it to the registry and writes the
 * answer; after its first authenticated request the client also gets every stored event.
 *
 * Output is one buffer being written and one being filled. While the peer does not read,
 * events wait in the bounded subscriber queue (never in the buffer) and reading new
 * requests pauses once the answers waiting for the peer pass OUT_HIGH_WATER.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cowork-host.h"
#include "cw-socket-connection-private.h"
#include "cw-token-private.h"

#define READ_CHUNK       65536
#define OUT_HIGH_WATER   (8 * 1024 * 1024)
#define EVENTS_PER_WRITE 1024

struct _CwSocketClient
{
  gint ref_count;
  GSocketConnection *connection;
  GInputStream *in;
  GOutputStream *out;
  const CwSocketClientConfig *config;
  GCancellable *cancellable;
  guint8 *chunk;
  GByteArray *line;
  gboolean discarding; /* skipping the rest of an oversized line */
  GString *outbuf;     /* being filled */
  GString *writing;    /* being written, or NULL */
  gboolean reading;
  gboolean closed;
  CwEventSubscriber *subscriber;
  GDestroyNotify on_closed;
  gpointer on_closed_data;
  JsonParser *parser;
  JsonGenerator *generator;
  CwCaller *caller; /* vanishes when the connection closes */
};

static void start_read (CwSocketClient *self);
static void flush_out (CwSocketClient *self);

static CwSocketClient *
client_ref (CwSocketClient *self)
{
  self->ref_count++;
  return self;
}

static void
client_unref (CwSocketClient *self)
{
  if (--self->ref_count > 0)
    return;
  g_clear_object (&self->connection);
  g_clear_object (&self->cancellable);
  g_byte_array_unref (self->line);
  g_string_free (self->outbuf, TRUE);
  if (self->writing != NULL)
    g_string_free (self->writing, TRUE);
  g_free (self->chunk);
  g_clear_object (&self->parser);
  g_clear_object (&self->generator);
  cw_caller_unref (self->caller);
  g_free (self);
}

void
cw_socket_client_close (CwSocketClient *self)
{
  if (self->closed)
    return;
  self->closed = TRUE;
  g_cancellable_cancel (self->cancellable);
  cw_caller_vanish (self->caller);
  if (self->subscriber != NULL)
    {
      cw_event_bus_unsubscribe (self->config->bus, self->subscriber);
      self->subscriber = NULL;
    }
  g_io_stream_close_async (G_IO_STREAM (self->connection), G_PRIORITY_DEFAULT, NULL, NULL, NULL);
  if (self->on_closed != NULL)
    self->on_closed (self->on_closed_data);
  client_unref (self);
}

static void
queue_response (CwSocketClient *self, const gchar *id, JsonNode *result, const gchar *raw,
                const GError *error)
{
  if (self->closed)
    return;
  g_string_append (self->outbuf, "{\"id\":");
  cw_json_append_string (self->outbuf, id != NULL ? id : "unknown");
  if (error == NULL)
    {
      g_string_append (self->outbuf, ",\"success\":true,\"result\":");
      if (raw != NULL)
        g_string_append (self->outbuf, raw);
      else
        {
          json_generator_set_root (self->generator, result);
          json_generator_to_gstring (self->generator, self->outbuf);
        }
    }
  else
    {
      g_string_append (self->outbuf, ",\"success\":false,\"error\":");
      cw_json_append_string (self->outbuf, error->message);
    }
  g_string_append (self->outbuf, "}\n");
  flush_out (self);
}

static void
queue_error (CwSocketClient *self, const gchar *id, const gchar *message)
{
  g_autoptr (GError) error = g_error_new_literal (CW_ERROR, CW_ERROR_FAILED, message);

  queue_response (self, id, NULL, NULL, error);
}

static void
on_write_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  CwSocketClient *self = user_data;
  g_autoptr (GError) error = NULL;

  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), res, NULL, &error))
    {
      g_debug ("client write failed: %s", error->message);
      cw_socket_client_close (self);
      client_unref (self);
      return;
    }
  g_string_free (self->writing, TRUE);
  self->writing = NULL;
  flush_out (self);
  if (!self->reading && !self->closed && self->outbuf->len < OUT_HIGH_WATER)
    start_read (self);
  client_unref (self);
}

static void
take_events (CwSocketClient *self)
{
  CwEvent *event;
  guint n = 0;

  if (self->subscriber == NULL)
    return;
  while (n++ < EVENTS_PER_WRITE && (event = cw_event_subscriber_pop (self->subscriber)) != NULL)
    {
      gsize len;
      const gchar *json = cw_event_to_json (event, &len);
      g_string_append_len (self->outbuf, json, len);
      g_string_append_c (self->outbuf, '\n');
      cw_event_unref (event);
    }
}

static void
flush_out (CwSocketClient *self)
{
  GPollableOutputStream *pollable = G_POLLABLE_OUTPUT_STREAM (self->out);
  gssize n = 0;

  if (self->closed || self->writing != NULL)
    return;
  /* Most output fits in the socket buffer: write it now, without a main-loop turn, and
   * fall back to an async write for whatever the kernel does not take. */

  for (;;)
    {
      g_autoptr (GError) error = NULL;

      take_events (self);
      if (self->outbuf->len == 0)
        return;
      n = g_pollable_output_stream_write_nonblocking (pollable, self->outbuf->str,
                                                      self->outbuf->len, NULL, &error);
      if (n < 0 && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        {
          g_debug ("client write failed: %s", error->message);
          cw_socket_client_close (self);
          return;
        }
      n = MAX (n, 0);
      if ((gsize) n < self->outbuf->len)
        break;
      g_string_truncate (self->outbuf, 0);
    }
  /* The rest goes out asynchronously from where the kernel stopped (no copy of a large
   * answer to the front of its buffer). */
  self->writing = self->outbuf;
  self->outbuf = g_string_sized_new (4096);
  g_output_stream_write_all_async (self->out, self->writing->str + n, self->writing->len - n,
                                   G_PRIORITY_DEFAULT, self->cancellable, on_write_done,
                                   client_ref (self));
}

static void
on_events_waiting (CwEventSubscriber *subscriber, gpointer user_data)
{
  flush_out (user_data);
}

typedef struct
{
  CwSocketClient *client;
  gchar *id;
} Pending;

static void
on_call_done (JsonNode *result_in, gchar *raw_in, GError *error_in, gpointer user_data)
{
  Pending *p = user_data;
  g_autoptr (GError) error = error_in;
  g_autoptr (JsonNode) result = result_in;
  g_autofree gchar *raw = raw_in;

  queue_response (p->client, p->id, result, raw, error);
  client_unref (p->client);
  g_free (p->id);
  g_free (p);
}

static const gchar *
request_id (JsonObject *req)
{
  JsonNode *id = json_object_get_member (req, "id");

  if (id != NULL && JSON_NODE_HOLDS_VALUE (id) && json_node_get_value_type (id) == G_TYPE_STRING)
    return json_node_get_string (id);
  return NULL;
}

static void
handle_request (CwSocketClient *self, JsonObject *req)
{
  const gchar *id = request_id (req);
  const gchar *token = json_object_get_string_member_with_default (req, "authToken", NULL);
  const gchar *command;
  Pending *p;

  if (!json_object_has_member (req, "authToken") || !cw_token_equal (self->config->token, token))
    {
      queue_error (self, id, "Unauthorized");
      return;
    }
  if (self->subscriber == NULL)
    self->subscriber = cw_event_bus_subscribe (self->config->bus, self->config->subscriber_queue,
                                               on_events_waiting, self);
  command = json_object_get_string_member_with_default (req, "command", NULL);
  if (command == NULL || *command == '\0')
    {
      queue_error (self, id, "command is required");
      return;
    }
  p = g_new0 (Pending, 1);
  p->client = client_ref (self);
  p->id = g_strdup (id);
  cw_command_registry_dispatch (self->config->registry, self->caller, command,
                                json_object_get_member (req, "params"), on_call_done, p);
}

static void
handle_line (CwSocketClient *self, const gchar *text, gsize len)
{
  g_autoptr (JsonNode) node = NULL;
  g_autoptr (GError) error = NULL;
  gsize i;

  for (i = 0; i < len && g_ascii_isspace (text[i]); i++)
    ;
  if (i == len)
    return;
  if (!cw_json_check_text (text, len, &error))
    {
      g_autofree gchar *msg = g_strdup_printf ("Failed to parse request: %s", error->message);
      queue_error (self, NULL, msg);
      return;
    }
  /* One parser per client: requests are the hot path. */
  if (json_parser_load_from_data (self->parser, text, (gssize) len, NULL))
    node = json_parser_steal_root (self->parser);
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    {
      queue_error (self, NULL, "Failed to parse request");
      return;
    }
  handle_request (self, json_node_get_object (node));
}

static void
consume (CwSocketClient *self, const guint8 *data, gsize len)
{
  while (len > 0 && !self->closed)
    {
      const guint8 *nl = memchr (data, '\n', len);
      gsize take = nl != NULL ? (gsize) (nl - data) : len;

      if (!self->discarding)
        {
          if (self->line->len + take > self->config->max_line)
            {
              g_autofree gchar *msg = g_strdup_printf (
                  "Request too large: a line may hold at most %" G_GSIZE_FORMAT " bytes",
                  self->config->max_line);
              queue_error (self, NULL, msg);
              g_byte_array_set_size (self->line, 0);
              self->discarding = TRUE;
            }
          else
            g_byte_array_append (self->line, data, take);
        }
      if (nl == NULL)
        return;
      if (!self->discarding)
        handle_line (self, (const gchar *) self->line->data, self->line->len);
      g_byte_array_set_size (self->line, 0);
      self->discarding = FALSE;
      data += take + 1;
      len -= take + 1;
    }
}

static void
on_read_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  CwSocketClient *self = user_data;
  g_autoptr (GError) error = NULL;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (source), res, &error);

  self->reading = FALSE;
  if (n <= 0)
    {
      if (n < 0 && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_debug ("client read failed: %s", error->message);
      cw_socket_client_close (self);
      client_unref (self);
      return;
    }
  consume (self, self->chunk, (gsize) n);
  if (!self->closed && self->outbuf->len < OUT_HIGH_WATER)
    start_read (self);
  client_unref (self);
}

static void
start_read (CwSocketClient *self)
{
  if (self->reading || self->closed)
    return;
  self->reading = TRUE;
  g_input_stream_read_async (self->in, self->chunk, READ_CHUNK, G_PRIORITY_DEFAULT,
                             self->cancellable, on_read_done, client_ref (self));
}

CwSocketClient *
cw_socket_client_start (GSocketConnection *connection, gint64 peer_uid,
                        const CwSocketClientConfig *config, GDestroyNotify closed,
                        gpointer closed_data)
{
  CwSocketClient *self = g_new0 (CwSocketClient, 1);

  self->ref_count = 1; /* held while open, dropped by close */
  self->connection = g_object_ref (connection);
  self->in = g_io_stream_get_input_stream (G_IO_STREAM (connection));
  self->out = g_io_stream_get_output_stream (G_IO_STREAM (connection));
  self->config = config;
  self->cancellable = g_cancellable_new ();
  self->chunk = g_malloc (READ_CHUNK);
  self->line = g_byte_array_new ();
  self->outbuf = g_string_sized_new (4096);
  self->parser = json_parser_new ();
  self->generator = json_generator_new ();
  self->on_closed = closed;
  self->on_closed_data = closed_data;
  self->caller = cw_caller_new (CW_CALLER_SOCKET, peer_uid, NULL);
  start_read (self);
  return self;
}

static void
on_refused_written (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr (GSocketConnection) connection = user_data;

  g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), res, NULL, NULL);
  g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
}

void
cw_socket_refuse (GSocketConnection *connection, const gchar *line)
{
  GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (connection));

  g_output_stream_write_all_async (out, line, strlen (line), G_PRIORITY_DEFAULT, NULL,
                                   on_refused_written, g_object_ref (connection));
}
