/* cw-remote-ws.c: the /v1/ws WebSocket of paired phones (contract §4.6).
 *
 * The token comes from the Authorization header or the ?token= query (the app's browser
 * WebSocket cannot set headers); a socket without a valid token is closed with 4001 at once.
 * Events come from a bounded subscriber of the bus, as {type:'event', event, timestamp}.
 * Beyond the contract:
 *   - a cursor: ?since=SEQ on the URL or {type:'resume', since} replays the stored events
 *     after SEQ (cw_event_bus_get_events_since) before the live ones, without duplicates;
 *     a cursor older than the store's window gives a resync marker (reason "cursor_gap"),
 *     as the socket transport does;
 *   - {type:'call', id, command, params} → {type:'result', id, success, result|error}: any
 *     command flagged for remote callers, run as the device (the web client uses it).
 * Memory stays bounded for a slow phone: events are handed to libsoup only while the
 * socket's stream is writable; otherwise they wait in the subscriber's bounded queue, which
 * turns into one resync marker when it fills up. The phone then resumes from the marker's
 * lastDeliveredSeq.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-remote-plugin.h"

#include <string.h>

#define QUEUE_MAX 1024
/* A phone reconnects with a new socket before the old one has timed out: its oldest goes. */
#define SOCKETS_PER_DEVICE 4
#define SOCKETS_MAX        256
#define FRAMES_PER_TURN    64
#define REPLAY_PAGE        500

typedef struct
{
  CwRemotePlugin *self;
  SoupWebsocketConnection *conn;
  gchar *device_id;
  gchar *session_filter; /* NULL: every session */
  gboolean subscribed;
  CwEventSubscriber *subscriber;
  gint64 last_seq;         /* the newest seq handled (sent or filtered out) */
  gboolean resync_pending; /* replay stopped early: tell the phone once it can read */
  guint drain_id;
  GSource *writable_source;
  gulong message_id;
  gulong closed_id;
} CwRemoteSocket;

static void drain (CwRemoteSocket *s);

static gboolean
drain_idle (gpointer user_data)
{
  CwRemoteSocket *s = user_data;

  s->drain_id = 0;
  drain (s);
  return G_SOURCE_REMOVE;
}

static CwEventBus *
bus_of (CwRemotePlugin *self)
{
  return cw_context_get_event_bus (cw_plugin_get_context (CW_PLUGIN (self)));
}

static void
socket_free (CwRemoteSocket *s)
{
  g_clear_handle_id (&s->drain_id, g_source_remove);
  if (s->writable_source != NULL)
    {
      g_source_destroy (s->writable_source);
      g_clear_pointer (&s->writable_source, g_source_unref);
    }
  if (s->subscriber != NULL)
    cw_event_bus_unsubscribe (bus_of (s->self), s->subscriber);
  g_clear_signal_handler (&s->message_id, s->conn);
  g_clear_signal_handler (&s->closed_id, s->conn);
  g_object_unref (s->conn);
  g_free (s->device_id);
  g_free (s->session_filter);
  g_free (s);
}

static void
forget (CwRemoteSocket *s)
{
  g_ptr_array_remove (s->self->sockets, s);
  socket_free (s);
}

guint
cw_remote_ws_count (CwRemotePlugin *self)
{
  return self->sockets->len;
}

void
cw_remote_ws_free_all (CwRemotePlugin *self)
{
  while (self->sockets->len > 0)
    forget (g_ptr_array_index (self->sockets, 0));
}

void
cw_remote_ws_close (CwRemotePlugin *self, const gchar *device_id, gushort code, const gchar *reason)
{
  for (guint i = self->sockets->len; i > 0; i--)
    {
      CwRemoteSocket *s = g_ptr_array_index (self->sockets, i - 1);
      if (device_id != NULL && g_strcmp0 (s->device_id, device_id) != 0)
        continue;
      if (soup_websocket_connection_get_state (s->conn) == SOUP_WEBSOCKET_STATE_OPEN)
        soup_websocket_connection_close (s->conn, code, reason);
      forget (s);
    }
}

/* ---- sending ---- */

static gboolean
is_open (CwRemoteSocket *s)
{
  return soup_websocket_connection_get_state (s->conn) == SOUP_WEBSOCKET_STATE_OPEN;
}

static gboolean
writable (CwRemoteSocket *s)
{
  GIOStream *io = soup_websocket_connection_get_io_stream (s->conn);
  GOutputStream *out = io != NULL ? g_io_stream_get_output_stream (io) : NULL;

  if (out == NULL || !G_IS_POLLABLE_OUTPUT_STREAM (out)
      || !g_pollable_output_stream_can_poll (G_POLLABLE_OUTPUT_STREAM (out)))
    return TRUE;
  return g_pollable_output_stream_is_writable (G_POLLABLE_OUTPUT_STREAM (out));
}

static void
send_text (CwRemoteSocket *s, GString *frame)
{
  if (is_open (s))
    soup_websocket_connection_send_text (s->conn, frame->str);
}

static void
send_object (CwRemoteSocket *s, JsonObject *obj)
{
  g_autoptr (JsonNode) node = json_node_new (JSON_NODE_OBJECT);
  g_autofree gchar *text = NULL;

  json_node_set_object (node, obj);
  text = cw_json_to_string (node);
  if (is_open (s))
    soup_websocket_connection_send_text (s->conn, text);
}

static gboolean
wanted (CwRemoteSocket *s, const gchar *session_id)
{
  return s->session_filter == NULL || session_id == NULL
         || g_str_equal (s->session_filter, session_id);
}

static void
send_event_text (CwRemoteSocket *s, const gchar *envelope, gsize len)
{
  g_autoptr (GString) frame = g_string_sized_new (len + 64);

  g_string_append (frame, "{\"type\":\"event\",\"event\":");
  g_string_append_len (frame, envelope, len);
  g_string_append_printf (frame, ",\"timestamp\":%" G_GINT64_FORMAT "}", cw_now_ms ());
  send_text (s, frame);
  s->self->events_sent++;
}

static void
send_resync (CwRemoteSocket *s, const gchar *reason)
{
  JsonObject *event = json_object_new ();
  JsonObject *data = json_object_new ();
  JsonObject *frame = json_object_new ();
  gint64 cursor = cw_event_bus_get_cursor (bus_of (s->self));

  json_object_set_string_member (data, "reason", reason);
  json_object_set_int_member (data, "lastDeliveredSeq", s->last_seq);
  json_object_set_int_member (data, "eventCursor", cursor);
  json_object_set_int_member (data, "dropped", MAX (0, cursor - s->last_seq));
  json_object_set_int_member (event, "seq", s->last_seq);
  json_object_set_int_member (event, "timestamp", cw_now_ms ());
  json_object_set_int_member (event, "schemaVersion", 1);
  json_object_set_string_member (event, "correlationId", "__global__:resync");
  json_object_set_string_member (event, "type", "resync");
  json_object_set_null_member (event, "sessionId");
  json_object_set_object_member (event, "data", data);
  json_object_set_string_member (frame, "type", "event");
  json_object_set_object_member (frame, "event", event);
  json_object_set_int_member (frame, "timestamp", cw_now_ms ());
  send_object (s, frame);
  json_object_unref (frame);
  s->self->resyncs_sent++;
}

static gboolean
on_writable (GObject *stream, gpointer user_data)
{
  CwRemoteSocket *s = user_data;

  g_clear_pointer (&s->writable_source, g_source_unref);
  drain (s);
  return G_SOURCE_REMOVE;
}

static void
wait_writable (CwRemoteSocket *s)
{
  GIOStream *io = soup_websocket_connection_get_io_stream (s->conn);
  GOutputStream *out = g_io_stream_get_output_stream (io);

  if (s->writable_source != NULL)
    return;
  s->writable_source
      = g_pollable_output_stream_create_source (G_POLLABLE_OUTPUT_STREAM (out), NULL);
  g_source_set_callback (s->writable_source, G_SOURCE_FUNC (on_writable), s, NULL);
  g_source_attach (s->writable_source, NULL);
}

/* Sends queued events while the phone keeps up; an event at or before last_seq was already
 * replayed. */
static void
drain (CwRemoteSocket *s)
{
  CwRemoteDevice *device = cw_remote_devices_lookup (s->self, s->device_id);
  guint n = 0;

  if (!is_open (s))
    return;
  /* A device that expired while connected gets nothing more. */
  if (device == NULL || !cw_remote_device_is_live (s->self, device))
    {
      soup_websocket_connection_close (s->conn, 4001, "Unauthorized");
      return;
    }
  if (s->resync_pending)
    {
      if (!writable (s))
        {
          wait_writable (s);
          return;
        }
      s->resync_pending = FALSE;
      send_resync (s, "subscriber_queue_full");
    }
  while (n < FRAMES_PER_TURN)
    {
      g_autoptr (CwEvent) event = NULL;
      gint64 seq;

      if (!writable (s))
        {
          wait_writable (s);
          return;
        }
      event = cw_event_subscriber_pop (s->subscriber);
      if (event == NULL)
        return;
      seq = cw_event_get_seq (event);
      if (g_strcmp0 (cw_event_get_type_name (event), "resync") == 0)
        {
          send_resync (s, "subscriber_queue_full");
          n++;
          continue;
        }
      if (seq <= s->last_seq)
        continue;
      s->last_seq = seq;
      if (!wanted (s, cw_event_get_session_id (event)))
        continue;
      {
        gsize len = 0;
        const gchar *text = cw_event_to_json (event, &len);
        send_event_text (s, text, len);
      }
      n++;
    }
  if (s->drain_id == 0)
    s->drain_id = g_idle_add (drain_idle, s);
}

static void
on_events_waiting (CwEventSubscriber *subscriber, gpointer user_data)
{
  drain (user_data);
}

/* Replays the stored events after @after; stops (and owes the phone a resync) when the
 * phone cannot take more. */
static void
replay (CwRemoteSocket *s, gint64 after)
{
  gboolean more = TRUE;

  /* A cursor beyond the newest event (not one of this store's) would hide live events. */
  after = MIN (after, cw_event_bus_get_cursor (bus_of (s->self)));
  s->last_seq = after;
  while (more && is_open (s))
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (JsonObject) page
          = cw_event_bus_get_events_since (bus_of (s->self), s->last_seq, REPLAY_PAGE, &error);
      JsonArray *events;

      if (page == NULL)
        {
          g_warning ("cannot replay events to %s: %s", s->device_id, error->message);
          send_resync (s, "replay_failed");
          s->last_seq = cw_event_bus_get_cursor (bus_of (s->self));
          return;
        }
      if (json_object_get_boolean_member_with_default (page, "hasGap", FALSE))
        send_resync (s, "cursor_gap");
      events = json_object_get_array_member (page, "events");
      for (guint i = 0; i < json_array_get_length (events); i++)
        {
          JsonObject *ev = json_array_get_object_element (events, i);
          JsonNode *sid = json_object_get_member (ev, "sessionId");
          gint64 seq = json_object_get_int_member (ev, "seq");
          g_autoptr (JsonNode) node = NULL;
          g_autofree gchar *text = NULL;

          if (seq <= s->last_seq)
            continue;
          s->last_seq = seq;
          if (!wanted (s, sid != NULL && !JSON_NODE_HOLDS_NULL (sid) ? json_node_get_string (sid)
                                                                     : NULL))
            continue;
          node = json_node_new (JSON_NODE_OBJECT);
          json_node_set_object (node, ev);
          text = cw_json_to_string (node);
          send_event_text (s, text, strlen (text));
        }
      more = json_object_get_boolean_member_with_default (page, "hasMore", FALSE)
             && json_array_get_length (events) > 0;
      if (more && !writable (s))
        {
          s->resync_pending = TRUE;
          wait_writable (s);
          return;
        }
    }
  if (s->last_seq < after)
    s->last_seq = after;
}

/* ---- messages from the phone ---- */

static void
send_error (CwRemoteSocket *s, const gchar *message)
{
  JsonObject *obj = json_object_new ();

  json_object_set_string_member (obj, "type", "error");
  json_object_set_string_member (obj, "error", message);
  send_object (s, obj);
  json_object_unref (obj);
}

typedef struct
{
  CwRemotePlugin *self;
  gchar *device_id;
  gchar *command;
  gchar *action;     /* the ack's action, or NULL for a call */
  gchar *session_id; /* of the ack */
  JsonNode *call_id; /* of a call's result */
  gboolean answered;
  guint ack_id;
} WsCall;

static void
ws_call_free (WsCall *c)
{
  g_clear_handle_id (&c->ack_id, g_source_remove);
  g_object_unref (c->self);
  g_free (c->device_id);
  g_free (c->command);
  g_free (c->action);
  g_free (c->session_id);
  g_clear_pointer (&c->call_id, json_node_unref);
  g_free (c);
}

static CwRemoteSocket *
socket_of_device (CwRemotePlugin *self, const gchar *device_id)
{
  for (guint i = 0; i < self->sockets->len; i++)
    {
      CwRemoteSocket *s = g_ptr_array_index (self->sockets, i);
      if (g_strcmp0 (s->device_id, device_id) == 0)
        return s;
    }
  return NULL;
}

static void
send_ack (CwRemoteSocket *s, WsCall *c)
{
  JsonObject *obj = json_object_new ();

  json_object_set_string_member (obj, "type", "ack");
  json_object_set_string_member (obj, "action", c->action);
  json_object_set_string_member (obj, "sessionId", c->session_id);
  send_object (s, obj);
  json_object_unref (obj);
}

static void
on_ws_call_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  WsCall *c = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) result = cw_plugin_call_finish (CW_PLUGIN (c->self), res, &error);
  CwRemoteSocket *s = socket_of_device (c->self, c->device_id);

  cw_remote_audit_call (c->self, c->device_id, c->command, error);
  if (s != NULL && c->action != NULL && !c->answered)
    {
      if (error != NULL)
        send_error (s, error->message);
      else
        send_ack (s, c);
    }
  else if (s != NULL && c->action == NULL)
    {
      JsonObject *obj = json_object_new ();
      json_object_set_string_member (obj, "type", "result");
      json_object_set_member (obj, "id", json_node_copy (c->call_id));
      json_object_set_boolean_member (obj, "success", error == NULL);
      if (error != NULL)
        json_object_set_string_member (obj, "error", error->message);
      else
        json_object_set_member (obj, "result", json_node_copy (result));
      send_object (s, obj);
      json_object_unref (obj);
    }
  ws_call_free (c);
}

/* send_message answers at turn end: acknowledge once it was accepted (no quick refusal). */
static gboolean
on_ack_due (gpointer user_data)
{
  WsCall *c = user_data;
  CwRemoteSocket *s = socket_of_device (c->self, c->device_id);

  c->ack_id = 0;
  if (!c->answered && s != NULL)
    send_ack (s, c);
  c->answered = TRUE;
  return G_SOURCE_REMOVE;
}

static void
call_as_device (CwRemoteSocket *s, const gchar *command, JsonObject *params, const gchar *action,
                const gchar *session_id, JsonNode *call_id)
{
  g_autoptr (CwCaller) caller = cw_plugin_new_remote_caller (CW_PLUGIN (s->self), s->device_id);
  g_autoptr (JsonNode) node = json_node_new (JSON_NODE_OBJECT);
  WsCall *c = g_new0 (WsCall, 1);

  c->self = g_object_ref (s->self);
  c->device_id = g_strdup (s->device_id);
  c->command = g_strdup (command);
  c->action = g_strdup (action);
  c->session_id = g_strdup (session_id);
  c->call_id = call_id != NULL ? json_node_copy (call_id) : json_node_new (JSON_NODE_NULL);
  json_node_set_object (node, params);
  if (g_strcmp0 (command, "send_message") == 0)
    c->ack_id = g_timeout_add (1500, on_ack_due, c);
  cw_plugin_call (CW_PLUGIN (s->self), caller, command, node, NULL, on_ws_call_done, c);
}

#define member_string cw_remote_json_string

static void
handle_session_action (CwRemoteSocket *s, JsonObject *msg, const gchar *type)
{
  const gchar *session_id = member_string (msg, "sessionId");
  g_autoptr (JsonObject) params = json_object_new ();
  gboolean send = g_str_equal (type, "send_message");

  if (session_id == NULL)
    {
      send_error (s, "sessionId is required");
      return;
    }
  json_object_set_string_member (params, "sessionId", session_id);
  if (send)
    {
      const gchar *content = member_string (msg, "content");
      JsonNode *attachments = json_object_get_member (msg, "attachments");
      json_object_set_string_member (params, "content", content != NULL ? content : "");
      if (attachments != NULL && JSON_NODE_HOLDS_ARRAY (attachments))
        json_object_set_member (params, "attachments", json_node_copy (attachments));
    }
  call_as_device (s, send ? "send_message" : "stop_generation", params, type, session_id, NULL);
}

static void
handle_message (CwRemoteSocket *s, JsonObject *msg)
{
  const gchar *type = member_string (msg, "type");

  if (type == NULL)
    send_error (s, "type is required");
  else if (g_str_equal (type, "ping"))
    {
      JsonObject *obj = json_object_new ();
      json_object_set_string_member (obj, "type", "pong");
      json_object_set_int_member (obj, "timestamp", cw_now_ms ());
      send_object (s, obj);
      json_object_unref (obj);
    }
  else if (g_str_equal (type, "subscribe"))
    {
      const gchar *sid = member_string (msg, "sessionId");
      JsonObject *obj = json_object_new ();
      g_free (s->session_filter);
      s->session_filter = sid != NULL && *sid != '\0' ? g_strdup (sid) : NULL;
      s->subscribed = TRUE;
      json_object_set_string_member (obj, "type", "subscribed");
      if (s->session_filter != NULL)
        json_object_set_string_member (obj, "sessionId", s->session_filter);
      else
        json_object_set_null_member (obj, "sessionId");
      send_object (s, obj);
      json_object_unref (obj);
    }
  else if (g_str_equal (type, "resume"))
    {
      gint64 since = json_object_get_int_member_with_default (msg, "since", 0);
      replay (s, MAX (since, 0));
      drain (s);
    }
  else if (g_str_equal (type, "send_message") || g_str_equal (type, "stop_generation"))
    handle_session_action (s, msg, type);
  else if (g_str_equal (type, "call"))
    {
      const gchar *command = member_string (msg, "command");
      JsonNode *params = json_object_get_member (msg, "params");
      JsonNode *id = json_object_get_member (msg, "id");
      if (command == NULL)
        {
          send_error (s, "command is required");
          return;
        }
      call_as_device (s, command,
                      params != NULL && JSON_NODE_HOLDS_OBJECT (params)
                          ? json_object_ref (json_node_get_object (params))
                          : json_object_new (),
                      NULL, NULL, id);
    }
  else
    {
      g_autofree gchar *text = g_strdup_printf ("Unknown message type: %s", type);
      send_error (s, text);
    }
}

static void
on_message (SoupWebsocketConnection *conn, gint type, GBytes *message, gpointer user_data)
{
  CwRemoteSocket *s = user_data;
  g_autoptr (JsonNode) node = NULL;
  gsize len = 0;
  const gchar *data = g_bytes_get_data (message, &len);
  CwRemoteDevice *device = cw_remote_devices_lookup (s->self, s->device_id);

  if (device == NULL || !cw_remote_device_is_live (s->self, device))
    {
      soup_websocket_connection_close (conn, 4001, "Unauthorized");
      return;
    }
  cw_remote_devices_touch (s->self, device);
  if (type != SOUP_WEBSOCKET_DATA_TEXT || (node = cw_json_from_string (data, len, NULL)) == NULL
      || !JSON_NODE_HOLDS_OBJECT (node))
    {
      send_error (s, "Invalid JSON message");
      return;
    }
  handle_message (s, json_node_get_object (node));
}

static void
on_closed (SoupWebsocketConnection *conn, gpointer user_data)
{
  forget (user_data);
}

/* ---- opening ---- */

static gchar *
token_of (CwHttpRequest *req)
{
  const gchar *auth
      = soup_message_headers_get_one (cw_http_request_get_headers (req), "Authorization");
  const gchar *query = cw_http_request_get_query (req);
  g_autoptr (GHashTable) form = NULL;

  if (auth != NULL && g_ascii_strncasecmp (auth, "Bearer ", 7) == 0)
    return g_strdup (auth + 7);
  if (query == NULL)
    return NULL;
  form = soup_form_decode (query);
  return g_strdup (g_hash_table_lookup (form, "token"));
}

static gint64
since_of (CwHttpRequest *req)
{
  const gchar *query = cw_http_request_get_query (req);
  g_autoptr (GHashTable) form = query != NULL ? soup_form_decode (query) : NULL;
  const gchar *since = form != NULL ? g_hash_table_lookup (form, "since") : NULL;
  gint64 value = -1;

  if (since != NULL && !g_ascii_string_to_signed (since, 10, 0, G_MAXINT64, &value, NULL))
    value = -1;
  return value;
}

/* Makes room for one more socket of @device_id by closing its oldest ones. */
static void
limit_device_sockets (CwRemotePlugin *self, const gchar *device_id)
{
  guint count = 0;

  for (guint i = 0; i < self->sockets->len; i++)
    if (g_strcmp0 (((CwRemoteSocket *) g_ptr_array_index (self->sockets, i))->device_id, device_id)
        == 0)
      count++;
  for (guint i = 0; count >= SOCKETS_PER_DEVICE && i < self->sockets->len;)
    {
      CwRemoteSocket *s = g_ptr_array_index (self->sockets, i);
      if (g_strcmp0 (s->device_id, device_id) != 0)
        {
          i++;
          continue;
        }
      if (is_open (s))
        soup_websocket_connection_close (s->conn, SOUP_WEBSOCKET_CLOSE_POLICY_VIOLATION,
                                         "Replaced by a newer connection");
      forget (s);
      count--;
    }
}

void
cw_remote_ws_open (CwRemotePlugin *self, CwHttpRequest *req, SoupWebsocketConnection *conn)
{
  g_autofree gchar *token = token_of (req);
  CwRemoteDevice *device = cw_remote_devices_authenticate (self, token);
  CwRemoteSocket *s;
  JsonObject *ready;
  gint64 since = since_of (req);

  if (token != NULL)
    memset (token, 0, strlen (token));
  if (device == NULL)
    {
      soup_websocket_connection_close (conn, 4001, "Unauthorized");
      return;
    }
  if (self->sockets->len >= SOCKETS_MAX)
    {
      soup_websocket_connection_close (conn, 1013 /* try again later */, "Too many connections");
      return;
    }
  limit_device_sockets (self, device->id);
  cw_remote_devices_touch (self, device);
  s = g_new0 (CwRemoteSocket, 1);
  s->self = self;
  s->conn = g_object_ref (conn);
  s->device_id = g_strdup (device->id);
  s->last_seq = cw_event_bus_get_cursor (bus_of (self));
  g_ptr_array_add (self->sockets, s);
  s->message_id = g_signal_connect (conn, "message", G_CALLBACK (on_message), s);
  s->closed_id = g_signal_connect (conn, "closed", G_CALLBACK (on_closed), s);
  /* Subscribed before the replay, so nothing falls between the two. */
  s->subscriber = cw_event_bus_subscribe (bus_of (self), QUEUE_MAX, on_events_waiting, s);
  ready = json_object_new ();
  json_object_set_string_member (ready, "type", "ready");
  json_object_set_string_member (ready, "deviceId", device->id);
  json_object_set_int_member (ready, "timestamp", cw_now_ms ());
  json_object_set_int_member (ready, "eventCursor", s->last_seq);
  json_object_set_string_member (ready, "bootId", cw_event_bus_get_boot_id (bus_of (self)));
  send_object (s, ready);
  json_object_unref (ready);
  if (since >= 0)
    replay (s, since);
  drain (s);
}
