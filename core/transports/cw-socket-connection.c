/* cw-socket-connection.c: one NDJSON client. Reads lines (at most max_line bytes each),
 * authenticates every request by its authToken, routes it to the registry and writes the
 * answer; after its first authenticated request the client also gets every stored event.
 *
 * Output is one buffer being written and one being filled. While the peer does not read,
 * events wait in the bounded subscriber queue (never in the buffer), and no further request
 * is taken (the rest of what was read waits, unparsed) while the answers waiting for the
 * peer pass OUT_HIGH_WATER or MAX_IN_FLIGHT calls are running: a client that sends but
 * never reads costs a bounded amount of memory.
 *
 * Until its first authenticated request a connection gets a small budget: lines of at most
 * max_unauth_line bytes, max_auth_failures refused requests, auth_timeout_ms to get there.
 * Past any of them it is told why and closed.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cowork-host.h"
#include "cw-socket-connection-private.h"
#include "cw-token-private.h"

#include <malloc.h>

#define READ_CHUNK       65536
#define OUT_HIGH_WATER   (8 * 1024 * 1024)
#define MAX_IN_FLIGHT    256
#define EVENTS_PER_WRITE 1024
#define KEEP_BUFFER      (256 * 1024) /* larger buffers are freed once empty */

struct _CwSocketClient
{
  gint ref_count;
  GSocketConnection *connection;
  GInputStream *in;
  GOutputStream *out;
  const CwSocketClientConfig *config;
  GCancellable *cancellable;      /* everything, at close */
  GCancellable *read_cancellable; /* reading only, when closing after the last answer */
  guint8 *chunk;
  GByteArray *line;
  GByteArray *backlog; /* read but not taken yet: paused for the peer to read */
  gboolean discarding; /* skipping the rest of an oversized line */
  GString *outbuf;     /* being filled */
  GString *writing;    /* being written, or NULL */
  gboolean reading;
  gboolean consuming;
  gboolean closed;
  gboolean closing; /* told why; closes once the output is out */
  gboolean authenticated;
  guint auth_failures;
  guint in_flight;
  guint auth_timeout_id;
  CwEventSubscriber *subscriber;
  GDestroyNotify on_closed;
  gpointer on_closed_data;
  JsonParser *parser;
  JsonGenerator *generator;
  CwCaller *caller; /* vanishes when the connection closes */
};

static void start_read (CwSocketClient *self);
static void flush_out (CwSocketClient *self);
static void resume (CwSocketClient *self);

/* Big answers and bursts leave freed memory in the heap (coworkd keeps large blocks there
 * for speed): hand it back to the system shortly after, once, rather than after each one. */
static guint trim_id;

static gboolean
trim_cb (gpointer user_data)
{
  trim_id = 0;
  malloc_trim (0);
  return G_SOURCE_REMOVE;
}

static void
trim_soon (void)
{
  if (trim_id == 0)
    trim_id = g_timeout_add_seconds (1, trim_cb, NULL);
}

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
  g_clear_object (&self->read_cancellable);
  g_byte_array_unref (self->line);
  g_byte_array_unref (self->backlog);
  if (self->outbuf->allocated_len > KEEP_BUFFER || self->writing != NULL)
    trim_soon ();
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
  g_clear_handle_id (&self->auth_timeout_id, g_source_remove);
  g_cancellable_cancel (self->cancellable);
  cw_caller_vanish (self->caller);
  g_cancellable_cancel (self->read_cancellable);
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
  if (self->writing->allocated_len > KEEP_BUFFER)
    trim_soon ();
  g_string_free (self->writing, TRUE);
  self->writing = NULL;
  flush_out (self);
  resume (self);
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
        {
          if (self->closing)
            cw_socket_client_close (self);
          return;
        }
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
      if (self->outbuf->allocated_len > KEEP_BUFFER)
        {
          g_string_free (self->outbuf, TRUE);
          self->outbuf = g_string_sized_new (4096);
          trim_soon ();
        }
      else
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

  p->client->in_flight--;
  queue_response (p->client, p->id, result, raw, error);
  resume (p->client);
  client_unref (p->client);
  g_free (p->id);
  g_free (p);
}

/* Stops taking requests; the connection closes once what is queued for the peer is out. */
static void
close_after_flush (CwSocketClient *self)
{
  self->closing = TRUE;
  g_cancellable_cancel (self->read_cancellable);
  flush_out (self);
}

/* Answers a request that is not taken; a connection that never authenticated is closed
 * after a few. */
static void
refuse_request (CwSocketClient *self, const gchar *id, const gchar *message)
{
  queue_error (self, id, message);
  if (!self->authenticated && ++self->auth_failures >= self->config->max_auth_failures)
    close_after_flush (self);
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
      refuse_request (self, id, "Unauthorized");
      return;
    }
  if (!self->authenticated)
    {
      self->authenticated = TRUE;
      g_clear_handle_id (&self->auth_timeout_id, g_source_remove);
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
  self->in_flight++;
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
      refuse_request (self, NULL, msg);
      return;
    }
  /* One parser per client: requests are the hot path. */
  if (json_parser_load_from_data (self->parser, text, (gssize) len, NULL))
    node = json_parser_steal_root (self->parser);
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    {
      refuse_request (self, NULL, "Failed to parse request");
      return;
    }
  handle_request (self, json_node_get_object (node));
}

static gboolean
paused (CwSocketClient *self)
{
  gsize waiting = self->outbuf->len + (self->writing != NULL ? self->writing->len : 0);

  return self->closed || self->closing || waiting >= OUT_HIGH_WATER
         || self->in_flight >= MAX_IN_FLIGHT;
}

static gsize
max_line (CwSocketClient *self)
{
  return self->authenticated ? self->config->max_line : self->config->max_unauth_line;
}

static void
line_too_long (CwSocketClient *self)
{
  g_autofree gchar *msg
      = g_strdup_printf ("Request too large: a line may hold at most %" G_GSIZE_FORMAT " bytes%s",
                         max_line (self), self->authenticated ? "" : " before authentication");

  g_byte_array_set_size (self->line, 0);
  self->discarding = TRUE;
  refuse_request (self, NULL, msg);
}

/* Takes the complete lines in @data; what is left when the client pauses goes to the
 * backlog, to be taken by resume(). */
static void
consume (CwSocketClient *self, const guint8 *data, gsize len)
{
  self->consuming = TRUE;
  while (len > 0 && !self->closed)
    {
      const guint8 *nl;
      gsize take;

      if (paused (self))
        {
          if (!self->closing)
            g_byte_array_append (self->backlog, data, len);
          break;
        }
      nl = memchr (data, '\n', len);
      take = nl != NULL ? (gsize) (nl - data) : len;
      if (!self->discarding)
        {
          if (self->line->len + take > max_line (self))
            line_too_long (self);
          else
            g_byte_array_append (self->line, data, take);
        }
      if (nl == NULL)
        break;
      if (!self->discarding)
        handle_line (self, (const gchar *) self->line->data, self->line->len);
      if (self->line->len > KEEP_BUFFER)
        {
          g_byte_array_unref (self->line);
          self->line = g_byte_array_new ();
        }
      g_byte_array_set_size (self->line, 0);
      self->discarding = FALSE;
      data += take + 1;
      len -= take + 1;
    }
  self->consuming = FALSE;
}

/* The peer read, or a call answered: take the waiting requests, then read more. */
static void
resume (CwSocketClient *self)
{
  if (self->consuming || self->closed || paused (self))
    return;
  if (self->backlog->len > 0)
    {
      g_autoptr (GByteArray) backlog = self->backlog;

      self->backlog = g_byte_array_new ();
      consume (self, backlog->data, backlog->len);
      if (paused (self))
        return;
    }
  start_read (self);
}

static gboolean
on_auth_timeout (gpointer user_data)
{
  CwSocketClient *self = user_data;

  self->auth_timeout_id = 0;
  queue_error (self, NULL, "Unauthorized: no authenticated request in time");
  close_after_flush (self);
  return G_SOURCE_REMOVE;
}

static void
on_read_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  CwSocketClient *self = user_data;
  g_autoptr (GError) error = NULL;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (source), res, &error);

  self->reading = FALSE;
  if (n < 0 && self->closing && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      client_unref (self); /* flush_out closes once the last answer is out */
      return;
    }
  if (n <= 0)
    {
      if (n < 0 && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_debug ("client read failed: %s", error->message);
      cw_socket_client_close (self);
      client_unref (self);
      return;
    }
  consume (self, self->chunk, (gsize) n);
  resume (self);
  client_unref (self);
}

static void
start_read (CwSocketClient *self)
{
  if (self->reading || self->closed || self->closing)
    return;
  self->reading = TRUE;
  g_input_stream_read_async (self->in, self->chunk, READ_CHUNK, G_PRIORITY_DEFAULT,
                             self->read_cancellable, on_read_done, client_ref (self));
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
  self->read_cancellable = g_cancellable_new ();
  self->chunk = g_malloc (READ_CHUNK);
  self->line = g_byte_array_new ();
  self->backlog = g_byte_array_new ();
  self->outbuf = g_string_sized_new (4096);
  self->parser = json_parser_new ();
  self->generator = json_generator_new ();
  self->on_closed = closed;
  self->on_closed_data = closed_data;
  self->caller = cw_caller_new (CW_CALLER_SOCKET, peer_uid, NULL);
  if (config->auth_timeout_ms > 0)
    self->auth_timeout_id = g_timeout_add (config->auth_timeout_ms, on_auth_timeout, self);
  start_read (self);
  return self;
}

/* A refused peer has usually sent its request already: closing with it unread would reset
 * the connection and lose the answer on the way. So the answer goes out, then what the peer
 * sent is read and dropped until it closes (at most REFUSE_DRAIN bytes or REFUSE_WAIT_MS). */
#define REFUSE_DRAIN   (64 * 1024)
#define REFUSE_WAIT_MS 1000

typedef struct
{
  GSocketConnection *connection;
  GCancellable *cancellable;
  guint timeout_id;
  gsize drained;
  guint8 buf[4096];
} Refusal;

static void
refusal_end (Refusal *r)
{
  g_clear_handle_id (&r->timeout_id, g_source_remove);
  g_io_stream_close (G_IO_STREAM (r->connection), NULL, NULL);
  g_object_unref (r->connection);
  g_object_unref (r->cancellable);
  g_free (r);
}

static gboolean
on_refusal_timeout (gpointer user_data)
{
  Refusal *r = user_data;

  r->timeout_id = 0;
  g_cancellable_cancel (r->cancellable); /* the pending read ends it */
  return G_SOURCE_REMOVE;
}

static void
on_refused_read (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Refusal *r = user_data;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (source), res, NULL);

  if (n <= 0 || (r->drained += (gsize) n) >= REFUSE_DRAIN)
    {
      refusal_end (r);
      return;
    }
  g_input_stream_read_async (G_INPUT_STREAM (source), r->buf, sizeof r->buf, G_PRIORITY_DEFAULT,
                             r->cancellable, on_refused_read, r);
}

static void
on_refused_written (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Refusal *r = user_data;
  GSocket *socket = g_socket_connection_get_socket (r->connection);

  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), res, NULL, NULL))
    {
      refusal_end (r);
      return;
    }
  g_socket_shutdown (socket, FALSE, TRUE, NULL);
  r->timeout_id = g_timeout_add (REFUSE_WAIT_MS, on_refusal_timeout, r);
  g_input_stream_read_async (g_io_stream_get_input_stream (G_IO_STREAM (r->connection)), r->buf,
                             sizeof r->buf, G_PRIORITY_DEFAULT, r->cancellable, on_refused_read, r);
}

void
cw_socket_refuse (GSocketConnection *connection, const gchar *line)
{
  GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (connection));
  Refusal *r = g_new0 (Refusal, 1);

  r->connection = g_object_ref (connection);
  r->cancellable = g_cancellable_new ();
  g_output_stream_write_all_async (out, line, strlen (line), G_PRIORITY_DEFAULT, r->cancellable,
                                   on_refused_written, r);
}
