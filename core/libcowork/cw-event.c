/* cw-event.c: one sequenced event, immutable once emitted, shared by reference between
 * the ring, the pending batch and every subscriber queue. Its JSON line is made once.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-event-private.h"

struct _CwEvent
{
  gint ref_count;
  gint64 seq;
  gint64 timestamp;
  gchar *type;
  gchar *session_id;
  gchar *correlation_id;
  JsonObject *data;
  gchar *json;
  gsize json_len;
};

G_DEFINE_BOXED_TYPE (CwEvent, cw_event, cw_event_ref, cw_event_unref)

CwEvent *
cw_event_new (gint64 seq, gint64 timestamp, const gchar *type, const gchar *session_id,
              const gchar *correlation_id, JsonObject *data)
{
  CwEvent *self = g_new0 (CwEvent, 1);

  self->ref_count = 1;
  self->seq = seq;
  self->timestamp = timestamp;
  self->type = g_strdup (type);
  self->session_id = g_strdup (session_id);
  self->correlation_id = g_strdup (correlation_id);
  self->data = data != NULL ? data : json_object_new ();
  json_object_seal (self->data);
  return self;
}

CwEvent *
cw_event_ref (CwEvent *event)
{
  g_atomic_int_inc (&event->ref_count);
  return event;
}

void
cw_event_unref (CwEvent *event)
{
  if (!g_atomic_int_dec_and_test (&event->ref_count))
    return;
  g_free (event->type);
  g_free (event->session_id);
  g_free (event->correlation_id);
  json_object_unref (event->data);
  g_free (event->json);
  g_free (event);
}

gint64
cw_event_get_seq (const CwEvent *event)
{
  return event->seq;
}

gint64
cw_event_get_timestamp (const CwEvent *event)
{
  return event->timestamp;
}

const gchar *
cw_event_get_type_name (const CwEvent *event)
{
  return event->type;
}

const gchar *
cw_event_get_session_id (const CwEvent *event)
{
  return event->session_id;
}

const gchar *
cw_event_get_correlation_id (const CwEvent *event)
{
  return event->correlation_id;
}

JsonObject *
cw_event_get_data (const CwEvent *event)
{
  return event->data;
}

gchar *
cw_event_data_to_json (const CwEvent *event)
{
  g_autoptr (JsonNode) node = json_node_new (JSON_NODE_OBJECT);

  json_node_set_object (node, event->data);
  return cw_json_to_string (node);
}

JsonNode *
cw_event_to_node (const CwEvent *event)
{
  JsonObject *obj = json_object_new ();
  JsonNode *node = json_node_new (JSON_NODE_OBJECT);

  json_object_set_int_member (obj, "seq", event->seq);
  json_object_set_int_member (obj, "timestamp", event->timestamp);
  json_object_set_int_member (obj, "schemaVersion", 1);
  json_object_set_string_member (obj, "correlationId", event->correlation_id);
  json_object_set_string_member (obj, "type", event->type);
  if (event->session_id != NULL)
    json_object_set_string_member (obj, "sessionId", event->session_id);
  else
    json_object_set_null_member (obj, "sessionId");
  json_object_set_object_member (obj, "data", json_object_ref (event->data));
  json_node_take_object (node, obj);
  return node;
}

const gchar *
cw_event_to_json (CwEvent *event, gsize *length)
{
  if (event->json == NULL)
    {
      g_autoptr (JsonNode) node = cw_event_to_node (event);
      event->json = cw_json_to_string (node);
      event->json_len = strlen (event->json);
    }
  if (length != NULL)
    *length = event->json_len;
  return event->json;
}
