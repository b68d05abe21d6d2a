/* cw-heartbeat-queue.c: the queue of SystemEvents (contract §5), in memory and in
 * heartbeat_events so that queued events survive a restart.
 *
 * At most CW_HEARTBEAT_QUEUE_MAX events, highest priority first, FIFO within a priority.
 * When it is full the oldest `low` event is dropped first, otherwise the oldest event; a
 * dropped event is reported with event:processed, never silently.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-heartbeat-plugin.h"

#include <string.h>

#define PAYLOAD_MAX (64 * 1024)

static const gchar *const types[] = {
  "cron:trigger", "session:compact", "context:prune", "memory:sync", "health:check", "custom", NULL
};
static const gchar *const priorities[] = { "low", "normal", "high", NULL };

void
cw_heartbeat_queued_free (CwHeartbeatQueued *queued)
{
  json_object_unref (queued->event);
  g_free (queued);
}

static gint
priority_of (JsonObject *event)
{
  const gchar *name = json_object_get_string_member_with_default (event, "priority", "normal");

  for (gint i = 0; priorities[i] != NULL; i++)
    if (g_strcmp0 (priorities[i], name) == 0)
      return i;
  return 1;
}

/* The index the event goes to: after every event of its priority or higher. */
static guint
insert_index (CwHeartbeatPlugin *self, gint priority)
{
  guint i = 0;

  while (i < self->queue->len
         && ((CwHeartbeatQueued *) g_ptr_array_index (self->queue, i))->priority >= priority)
    i++;
  return i;
}

gboolean
cw_heartbeat_queue_load (CwHeartbeatPlugin *self, GError **error)
{
  sqlite3_stmt *stmt = cw_store_prepare (
      self->store,
      "SELECT event, priority, position FROM heartbeat_events ORDER BY priority DESC, position",
      error);

  if (stmt == NULL)
    return FALSE;
  while (sqlite3_step (stmt) == SQLITE_ROW)
    {
      g_autoptr (JsonNode) node
          = cw_json_from_string ((const gchar *) sqlite3_column_text (stmt, 0), -1, NULL);
      CwHeartbeatQueued *queued;

      if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
        continue;
      queued = g_new0 (CwHeartbeatQueued, 1);
      queued->event = json_object_ref (json_node_get_object (node));
      queued->priority = sqlite3_column_int (stmt, 1);
      queued->position = sqlite3_column_int64 (stmt, 2);
      self->next_position = MAX (self->next_position, queued->position + 1);
      g_ptr_array_add (self->queue, queued);
    }
  sqlite3_reset (stmt);
  return TRUE;
}

static gboolean
delete_row (CwHeartbeatPlugin *self, const gchar *id, GError **error)
{
  sqlite3_stmt *stmt
      = cw_store_prepare (self->store, "DELETE FROM heartbeat_events WHERE id = ?", error);
  gint rc;

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, id, -1, SQLITE_TRANSIENT);
  rc = sqlite3_step (stmt);
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    return cw_store_set_error (self->store, error, "failed to remove a heartbeat event");
  return TRUE;
}

static gboolean
insert_row (CwHeartbeatPlugin *self, CwHeartbeatQueued *queued, GError **error)
{
  sqlite3_stmt *stmt = cw_store_prepare (
      self->store,
      "INSERT INTO heartbeat_events (id, position, priority, event) VALUES (?, ?, ?, ?)", error);
  g_autoptr (GString) text = g_string_new (NULL);
  gint rc;

  if (stmt == NULL)
    return FALSE;
  cw_json_append_object (text, queued->event);
  sqlite3_bind_text (stmt, 1, json_object_get_string_member (queued->event, "id"), -1,
                     SQLITE_TRANSIENT);
  sqlite3_bind_int64 (stmt, 2, queued->position);
  sqlite3_bind_int (stmt, 3, queued->priority);
  sqlite3_bind_text (stmt, 4, text->str, -1, SQLITE_TRANSIENT);
  rc = sqlite3_step (stmt);
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    return cw_store_set_error (self->store, error, "failed to queue the heartbeat event");
  return TRUE;
}

/* The oldest low event, else the oldest event. */
static guint
eviction_index (CwHeartbeatPlugin *self)
{
  guint oldest = 0, oldest_low = G_MAXUINT;

  for (guint i = 0; i < self->queue->len; i++)
    {
      CwHeartbeatQueued *q = g_ptr_array_index (self->queue, i);
      CwHeartbeatQueued *o = g_ptr_array_index (self->queue, oldest);
      if (q->position < o->position)
        oldest = i;
      if (q->priority == 0
          && (oldest_low == G_MAXUINT
              || q->position < ((CwHeartbeatQueued *) g_ptr_array_index (self->queue, oldest_low))
                                   ->position))
        oldest_low = i;
    }
  return oldest_low != G_MAXUINT ? oldest_low : oldest;
}

static JsonObject *
event_from_input (CwHeartbeatPlugin *self, JsonObject *input, GError **error)
{
  const gchar *type = json_object_get_string_member_with_default (input, "type", NULL);
  JsonNode *payload = json_object_get_member (input, "payload");
  JsonNode *priority = json_object_get_member (input, "priority");
  JsonNode *session = json_object_get_member (input, "sessionId");
  g_autoptr (JsonObject) event = json_object_new ();
  g_autofree gchar *id = cw_make_id ("evt_");

  if (json_object_has_member (input, "type")
      && json_node_get_value_type (json_object_get_member (input, "type")) != G_TYPE_STRING)
    type = NULL;
  if (type == NULL || !g_strv_contains (types, type))
    {
      g_autofree gchar *list = g_strjoinv (", ", (gchar **) types);
      g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS, "type must be one of %s", list);
      return NULL;
    }
  json_object_set_string_member (event, "id", id);
  json_object_set_string_member (event, "type", type);
  if (payload != NULL && !JSON_NODE_HOLDS_NULL (payload))
    {
      g_autofree gchar *text = NULL;
      if (!JSON_NODE_HOLDS_OBJECT (payload))
        {
          g_set_error_literal (error, CW_ERROR, CW_ERROR_INVALID_PARAMS,
                               "payload must be an object");
          return NULL;
        }
      text = cw_json_to_string (payload);
      if (strlen (text) > PAYLOAD_MAX)
        {
          g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS, "payload is larger than %d bytes",
                       PAYLOAD_MAX);
          return NULL;
        }
      json_object_set_member (event, "payload", json_node_copy (payload));
    }
  json_object_set_int_member (event, "scheduledAt", cw_plugin_schedule_get_now (CW_PLUGIN (self)));
  if (priority != NULL && !JSON_NODE_HOLDS_NULL (priority)
      && (json_node_get_value_type (priority) != G_TYPE_STRING
          || !g_strv_contains (priorities, json_node_get_string (priority))))
    {
      g_set_error_literal (error, CW_ERROR, CW_ERROR_INVALID_PARAMS,
                           "priority must be low, normal or high");
      return NULL;
    }
  json_object_set_string_member (event, "priority",
                                 priority != NULL && !JSON_NODE_HOLDS_NULL (priority)
                                     ? json_node_get_string (priority)
                                     : "normal");
  if (session != NULL && !JSON_NODE_HOLDS_NULL (session))
    {
      if (json_node_get_value_type (session) != G_TYPE_STRING
          || *json_node_get_string (session) == '\0')
        {
          g_set_error_literal (error, CW_ERROR, CW_ERROR_INVALID_PARAMS,
                               "sessionId must be a non-empty string");
          return NULL;
        }
      json_object_set_string_member (event, "sessionId", json_node_get_string (session));
    }
  return g_steal_pointer (&event);
}

JsonObject *
cw_heartbeat_queue_add (CwHeartbeatPlugin *self, JsonObject *input, GError **error)
{
  g_autoptr (JsonObject) event = event_from_input (self, input, error);
  CwHeartbeatQueued *queued, *evicted = NULL;

  if (event == NULL)
    return NULL;
  queued = g_new0 (CwHeartbeatQueued, 1);
  queued->event = g_steal_pointer (&event);
  queued->priority = priority_of (queued->event);
  queued->position = self->next_position++;
  if (!cw_store_savepoint (self->store, "heartbeat_queue", error))
    {
      cw_heartbeat_queued_free (queued);
      return NULL;
    }
  if (self->queue->len >= CW_HEARTBEAT_QUEUE_MAX)
    {
      evicted = g_ptr_array_index (self->queue, eviction_index (self));
      if (!delete_row (self, json_object_get_string_member (evicted->event, "id"), error))
        goto failed;
    }
  if (!insert_row (self, queued, error)
      || !cw_store_release (self->store, "heartbeat_queue", error))
    goto failed;
  if (evicted != NULL)
    {
      g_ptr_array_steal_index (self->queue, eviction_index (self));
      cw_heartbeat_actions_processed (self, evicted->event, NULL,
                                      "Dropped: the heartbeat queue holds at most 1000 events");
      cw_heartbeat_queued_free (evicted);
    }
  g_ptr_array_insert (self->queue, insert_index (self, queued->priority), queued);
  return queued->event;

failed:
  cw_store_rollback_to (self->store, "heartbeat_queue");
  cw_heartbeat_queued_free (queued);
  return NULL;
}

JsonObject *
cw_heartbeat_queue_pop (CwHeartbeatPlugin *self, GError **error)
{
  CwHeartbeatQueued *queued;
  JsonObject *event;

  if (self->queue->len == 0)
    return NULL;
  queued = g_ptr_array_index (self->queue, 0);
  if (!delete_row (self, json_object_get_string_member (queued->event, "id"), error))
    return NULL;
  g_ptr_array_steal_index (self->queue, 0);
  event = json_object_ref (queued->event);
  cw_heartbeat_queued_free (queued);
  return event;
}

gint64
cw_heartbeat_queue_clear (CwHeartbeatPlugin *self, GError **error)
{
  gint64 count = self->queue->len;

  if (!cw_store_exec (self->store, "DELETE FROM heartbeat_events", error))
    return -1;
  g_ptr_array_set_size (self->queue, 0);
  return count;
}

JsonArray *
cw_heartbeat_queue_list (CwHeartbeatPlugin *self)
{
  JsonArray *list = json_array_new ();

  for (guint i = 0; i < self->queue->len; i++)
    json_array_add_object_element (
        list, json_object_ref (((CwHeartbeatQueued *) g_ptr_array_index (self->queue, i))->event));
  return list;
}
