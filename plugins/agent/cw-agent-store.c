/* cw-agent-store.c: the agent's rows in the core store. Every write is a single statement
 * or one transaction, so a kill -9 leaves either the old or the new state.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-agent-store.h"

static gchar *
object_to_string (JsonObject *obj)
{
  g_autoptr (JsonNode) node = json_node_new (JSON_NODE_OBJECT);

  json_node_set_object (node, obj);
  return cw_json_to_string (node);
}

static JsonObject *
object_from_column (sqlite3_stmt *stmt, int col)
{
  const gchar *text = (const gchar *) sqlite3_column_text (stmt, col);
  g_autoptr (JsonNode) node = NULL;

  if (text == NULL)
    return NULL;
  node = cw_json_from_string (text, -1, NULL);
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    return NULL;
  return json_object_ref (json_node_get_object (node));
}

static void
bind_text_or_null (sqlite3_stmt *stmt, int idx, const gchar *value)
{
  if (value != NULL)
    sqlite3_bind_text (stmt, idx, value, -1, SQLITE_TRANSIENT);
  else
    sqlite3_bind_null (stmt, idx);
}

static gboolean
step_done (CwStore *store, sqlite3_stmt *stmt, const gchar *what, GError **error)
{
  int rc = sqlite3_step (stmt);

  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    return cw_store_set_error (store, error, what);
  return TRUE;
}

gboolean
cw_agent_store_save_session (CwStore *store, CwAgentSession *s, GError **error)
{
  /* An upsert, never REPLACE: replacing would cascade-delete the session's items. */
  sqlite3_stmt *stmt = cw_store_prepare (
      store,
      "INSERT INTO agent_sessions (id, type, provider, execution_mode, approval_mode, title,"
      " first_message, working_directory, model, message_count, next_sequence, created_at,"
      " updated_at, last_accessed_at) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14)"
      " ON CONFLICT(id) DO UPDATE SET type=?2, provider=?3, execution_mode=?4, approval_mode=?5,"
      " title=?6, first_message=?7, working_directory=?8, model=?9, message_count=?10,"
      " next_sequence=?11, created_at=?12, updated_at=?13, last_accessed_at=?14",
      error);

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, s->id, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 2, s->type, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 3, s->provider, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 4, s->execution_mode, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 5, s->approval_mode, -1, SQLITE_TRANSIENT);
  bind_text_or_null (stmt, 6, s->title);
  bind_text_or_null (stmt, 7, s->first_message);
  sqlite3_bind_text (stmt, 8, s->working_directory, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 9, s->model, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (stmt, 10, s->message_count);
  sqlite3_bind_int64 (stmt, 11, s->next_sequence);
  sqlite3_bind_int64 (stmt, 12, s->created_at);
  sqlite3_bind_int64 (stmt, 13, s->updated_at);
  sqlite3_bind_int64 (stmt, 14, s->last_accessed_at);
  return step_done (store, stmt, "failed to save session", error);
}

static gchar *
column_dup (sqlite3_stmt *stmt, int col)
{
  return g_strdup ((const gchar *) sqlite3_column_text (stmt, col));
}

/* Two scans and a hash table rather than a join: no index lookup per session. Without a
 * runtime row a session has nothing to load; a row from before schema 3 has no state text
 * and is loaded by the caller. */
static gboolean
load_states (CwStore *store, GHashTable *by_id, GError **error)
{
  sqlite3_stmt *stmt
      = cw_store_prepare (store, "SELECT session_id, state FROM agent_runtime", error);

  if (stmt == NULL)
    return FALSE;
  while (sqlite3_step (stmt) == SQLITE_ROW)
    {
      CwAgentSession *s = g_hash_table_lookup (by_id, sqlite3_column_text (stmt, 0));
      if (s == NULL)
        continue;
      s->loaded = FALSE;
      cw_agent_session_set_runtime_text (s, column_dup (stmt, 1));
    }
  sqlite3_reset (stmt);
  return TRUE;
}

static gboolean
load_queue (CwStore *store, GHashTable *by_id, GError **error)
{
  sqlite3_stmt *stmt
      = cw_store_prepare (store,
                          "SELECT session_id, id, content, attachments, queued_at FROM agent_queue"
                          " ORDER BY session_id, position",
                          error);

  if (stmt == NULL)
    return FALSE;
  while (sqlite3_step (stmt) == SQLITE_ROW)
    {
      CwAgentSession *s = g_hash_table_lookup (by_id, sqlite3_column_text (stmt, 0));
      const gchar *att_text = (const gchar *) sqlite3_column_text (stmt, 3);
      g_autoptr (JsonNode) att = att_text != NULL ? cw_json_from_string (att_text, -1, NULL) : NULL;

      if (s == NULL)
        continue;
      g_ptr_array_add (s->queue,
                       cw_queued_message_new ((const gchar *) sqlite3_column_text (stmt, 1),
                                              (const gchar *) sqlite3_column_text (stmt, 2),
                                              att != NULL && JSON_NODE_HOLDS_ARRAY (att)
                                                  ? json_node_get_array (att)
                                                  : NULL,
                                              sqlite3_column_int64 (stmt, 4)));
    }
  sqlite3_reset (stmt);
  return TRUE;
}

GPtrArray *
cw_agent_store_load_index (CwStore *store, GError **error)
{
  g_autoptr (GPtrArray) sessions = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr (GHashTable) by_id = g_hash_table_new (g_str_hash, g_str_equal);
  sqlite3_stmt *stmt = cw_store_prepare (
      store,
      "SELECT id, type, provider, execution_mode, approval_mode, title, first_message,"
      " working_directory, model, message_count, next_sequence, created_at, updated_at,"
      " last_accessed_at FROM agent_sessions",
      error);

  if (stmt == NULL)
    return NULL;
  while (sqlite3_step (stmt) == SQLITE_ROW)
    {
      CwAgentSession *s = cw_agent_session_new ((const gchar *) sqlite3_column_text (stmt, 0));
      s->type = column_dup (stmt, 1);
      s->provider = column_dup (stmt, 2);
      s->execution_mode = column_dup (stmt, 3);
      s->approval_mode = column_dup (stmt, 4);
      s->title = column_dup (stmt, 5);
      s->first_message = column_dup (stmt, 6);
      s->working_directory = column_dup (stmt, 7);
      s->model = column_dup (stmt, 8);
      s->message_count = sqlite3_column_int64 (stmt, 9);
      s->next_sequence = sqlite3_column_int64 (stmt, 10);
      s->created_at = sqlite3_column_int64 (stmt, 11);
      s->updated_at = sqlite3_column_int64 (stmt, 12);
      s->last_accessed_at = sqlite3_column_int64 (stmt, 13);
      g_ptr_array_add (sessions, s);
      g_hash_table_insert (by_id, s->id, s);
    }
  sqlite3_reset (stmt);
  if (!load_states (store, by_id, error) || !load_queue (store, by_id, error))
    return NULL;
  return g_steal_pointer (&sessions);
}

gboolean
cw_agent_store_load_runtime (CwStore *store, CwAgentSession *session, GError **error)
{
  sqlite3_stmt *stmt
      = cw_store_prepare (store, "SELECT snapshot FROM agent_runtime WHERE session_id = ?1", error);
  g_autoptr (JsonObject) snap = NULL;
  int rc;

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, session->id, -1, SQLITE_TRANSIENT);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    snap = object_from_column (stmt, 0);
  sqlite3_reset (stmt);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    return cw_store_set_error (store, error, "failed to read runtime snapshot");
  if (snap != NULL)
    cw_agent_session_restore_snapshot (session, snap);
  return TRUE;
}

GHashTable *
cw_agent_store_list_active_turns (CwStore *store, GError **error)
{
  g_autoptr (GHashTable) turns = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  sqlite3_stmt *stmt = cw_store_prepare (store,
                                         "SELECT session_id, active_turn_id FROM agent_runtime"
                                         " WHERE active_turn_id IS NOT NULL",
                                         error);

  if (stmt == NULL)
    return NULL;
  while (sqlite3_step (stmt) == SQLITE_ROW)
    g_hash_table_insert (turns, column_dup (stmt, 0), column_dup (stmt, 1));
  sqlite3_reset (stmt);
  return g_steal_pointer (&turns);
}

gboolean
cw_agent_store_delete_session (CwStore *store, const gchar *session_id, GError **error)
{
  sqlite3_stmt *stmt = cw_store_prepare (store, "DELETE FROM agent_sessions WHERE id = ?1", error);

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, session_id, -1, SQLITE_TRANSIENT);
  return step_done (store, stmt, "failed to delete session", error);
}

static gboolean
write_item (CwStore *store, const gchar *sql, const gchar *session_id, JsonObject *item,
            GError **error)
{
  sqlite3_stmt *stmt = cw_store_prepare (store, sql, error);
  g_autofree gchar *text = NULL;

  if (stmt == NULL)
    return FALSE;
  text = object_to_string (item);
  sqlite3_bind_text (stmt, 1, session_id, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 2, json_object_get_string_member (item, "id"), -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (stmt, 3, json_object_get_int_member_with_default (item, "sequence", 0));
  sqlite3_bind_int64 (stmt, 4, json_object_get_int_member_with_default (item, "timestamp", 0));
  sqlite3_bind_text (stmt, 5, json_object_get_string_member (item, "kind"), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 6, text, -1, SQLITE_TRANSIENT);
  return step_done (store, stmt, "failed to write chat item", error);
}

gboolean
cw_agent_store_insert_item (CwStore *store, const gchar *session_id, JsonObject *item,
                            GError **error)
{
  return write_item (store,
                     "INSERT OR REPLACE INTO agent_chat_items (session_id, id, sequence, timestamp,"
                     " kind, data) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                     session_id, item, error);
}

gboolean
cw_agent_store_update_item (CwStore *store, const gchar *session_id, JsonObject *item,
                            GError **error)
{
  return write_item (store,
                     "UPDATE agent_chat_items SET sequence = ?3, timestamp = ?4, kind = ?5,"
                     " data = ?6 WHERE session_id = ?1 AND id = ?2",
                     session_id, item, error);
}

JsonObject *
cw_agent_store_patch_item (CwStore *store, const gchar *session_id, const gchar *item_id,
                           JsonObject *updates, GError **error)
{
  sqlite3_stmt *stmt = cw_store_prepare (
      store, "SELECT data FROM agent_chat_items WHERE session_id = ?1 AND id = ?2", error);
  g_autoptr (JsonObject) item = NULL;
  g_autoptr (GList) members = NULL;

  if (stmt == NULL)
    return NULL;
  sqlite3_bind_text (stmt, 1, session_id, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 2, item_id, -1, SQLITE_TRANSIENT);
  if (sqlite3_step (stmt) == SQLITE_ROW)
    item = object_from_column (stmt, 0);
  sqlite3_reset (stmt);
  if (item == NULL)
    return NULL;
  members = json_object_get_members (updates);
  for (GList *l = members; l != NULL; l = l->next)
    json_object_set_member (item, l->data,
                            json_node_copy (json_object_get_member (updates, l->data)));
  if (!cw_agent_store_update_item (store, session_id, item, error))
    return NULL;
  return g_steal_pointer (&item);
}

JsonArray *
cw_agent_store_list_items (CwStore *store, const gchar *session_id, gint64 before, gint64 limit,
                           gboolean *has_more, GError **error)
{
  /* Newest first with one extra row to learn whether more history exists, then reversed. */
  sqlite3_stmt *stmt = cw_store_prepare (
      store,
      "SELECT data FROM agent_chat_items WHERE session_id = ?1 AND (?2 < 0 OR sequence < ?2)"
      " ORDER BY sequence DESC, timestamp DESC, id DESC LIMIT ?3",
      error);
  g_autoptr (GPtrArray) rows = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  JsonArray *items;

  if (stmt == NULL)
    return NULL;
  sqlite3_bind_text (stmt, 1, session_id, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (stmt, 2, before);
  sqlite3_bind_int64 (stmt, 3, limit > 0 ? limit + 1 : -1);
  while (sqlite3_step (stmt) == SQLITE_ROW)
    {
      JsonObject *item = object_from_column (stmt, 0);
      if (item != NULL)
        g_ptr_array_add (rows, item);
    }
  sqlite3_reset (stmt);
  if (has_more != NULL)
    *has_more = limit > 0 && rows->len > (guint) limit;
  if (limit > 0 && rows->len > (guint) limit)
    g_ptr_array_set_size (rows, limit);
  items = json_array_sized_new (rows->len);
  for (guint i = rows->len; i > 0; i--)
    json_array_add_object_element (items, json_object_ref (g_ptr_array_index (rows, i - 1)));
  return items;
}

gchar *
cw_agent_store_find_item (CwStore *store, const gchar *session_id, const gchar *kind,
                          const gchar *path, const gchar *value)
{
  sqlite3_stmt *stmt
      = cw_store_prepare (store,
                          "SELECT id FROM agent_chat_items WHERE session_id = ?1 AND kind = ?2"
                          " AND json_extract(data, ?3) = ?4 ORDER BY sequence DESC LIMIT 1",
                          NULL);
  gchar *id = NULL;

  if (stmt == NULL)
    return NULL;
  sqlite3_bind_text (stmt, 1, session_id, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 2, kind, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 3, path, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 4, value, -1, SQLITE_TRANSIENT);
  if (sqlite3_step (stmt) == SQLITE_ROW)
    id = g_strdup ((const gchar *) sqlite3_column_text (stmt, 0));
  sqlite3_reset (stmt);
  return id;
}

gchar *
cw_agent_store_find_tool_item (CwStore *store, const gchar *session_id, const gchar *kind,
                               const gchar *tool_id)
{
  return cw_agent_store_find_item (store, session_id, kind, "$.toolId", tool_id);
}

gboolean
cw_agent_store_save_artifact (CwStore *store, const gchar *session_id, JsonObject *artifact,
                              GError **error)
{
  sqlite3_stmt *stmt
      = cw_store_prepare (store,
                          "INSERT OR REPLACE INTO agent_artifacts (session_id, id, timestamp, data)"
                          " VALUES (?1, ?2, ?3, ?4)",
                          error);
  g_autofree gchar *text = NULL;

  if (stmt == NULL)
    return FALSE;
  text = object_to_string (artifact);
  sqlite3_bind_text (stmt, 1, session_id, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 2, json_object_get_string_member (artifact, "id"), -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (stmt, 3, json_object_get_int_member_with_default (artifact, "timestamp", 0));
  sqlite3_bind_text (stmt, 4, text, -1, SQLITE_TRANSIENT);
  return step_done (store, stmt, "failed to save artifact", error);
}

JsonArray *
cw_agent_store_list_artifacts (CwStore *store, const gchar *session_id, GError **error)
{
  sqlite3_stmt *stmt = cw_store_prepare (
      store, "SELECT data FROM agent_artifacts WHERE session_id = ?1 ORDER BY timestamp, id",
      error);
  JsonArray *arr;

  if (stmt == NULL)
    return NULL;
  arr = json_array_new ();
  sqlite3_bind_text (stmt, 1, session_id, -1, SQLITE_TRANSIENT);
  while (sqlite3_step (stmt) == SQLITE_ROW)
    {
      JsonObject *obj = object_from_column (stmt, 0);
      if (obj != NULL)
        json_array_add_object_element (arr, obj);
    }
  sqlite3_reset (stmt);
  return arr;
}

gboolean
cw_agent_store_save_runtime (CwStore *store, CwAgentSession *session, const gchar *active_turn_id,
                             gchar **state, GError **error)
{
  sqlite3_stmt *stmt = cw_store_prepare (
      store,
      "INSERT OR REPLACE INTO agent_runtime (session_id, snapshot, updated_at, active_turn_id,"
      " state) VALUES (?1, ?2, ?3, ?4, ?5)",
      error);
  g_autoptr (JsonObject) snap = NULL;
  g_autofree gchar *snap_text = NULL;
  g_autofree gchar *state_text = NULL;

  if (stmt == NULL)
    return FALSE;
  snap = cw_agent_session_runtime_snapshot (session, active_turn_id);
  snap_text = object_to_string (snap);
  /* The state is the snapshot without what only a restart needs. */
  json_object_remove_member (snap, "activeTurnId");
  json_object_remove_member (snap, "contextUsed");
  json_object_remove_member (snap, "lastRunStatus");
  json_object_remove_member (snap, "tasks");
  state_text = object_to_string (snap);
  sqlite3_bind_text (stmt, 1, session->id, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 2, snap_text, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (stmt, 3, cw_now_ms ());
  bind_text_or_null (stmt, 4, active_turn_id);
  sqlite3_bind_text (stmt, 5, state_text, -1, SQLITE_TRANSIENT);
  if (!step_done (store, stmt, "failed to save runtime snapshot", error))
    return FALSE;
  if (state != NULL)
    *state = g_steal_pointer (&state_text);
  return TRUE;
}

gboolean
cw_agent_store_save_queue (CwStore *store, CwAgentSession *session, GError **error)
{
  sqlite3_stmt *del;

  /* A savepoint: the queue may be written inside a larger change. */
  if (!cw_store_savepoint (store, "agent_queue", error))
    return FALSE;
  del = cw_store_prepare (store, "DELETE FROM agent_queue WHERE session_id = ?1", error);
  if (del == NULL)
    goto fail;
  sqlite3_bind_text (del, 1, session->id, -1, SQLITE_TRANSIENT);
  if (!step_done (store, del, "failed to clear queue", error))
    goto fail;
  for (guint i = 0; i < session->queue->len; i++)
    {
      CwQueuedMessage *msg = g_ptr_array_index (session->queue, i);
      g_autofree gchar *att = NULL;
      sqlite3_stmt *ins = cw_store_prepare (
          store,
          "INSERT INTO agent_queue (id, session_id, position, content, attachments, queued_at)"
          " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
          error);
      if (ins == NULL)
        goto fail;
      if (msg->attachments != NULL)
        {
          g_autoptr (JsonNode) node = json_node_new (JSON_NODE_ARRAY);
          json_node_set_array (node, msg->attachments);
          att = cw_json_to_string (node);
        }
      sqlite3_bind_text (ins, 1, msg->id, -1, SQLITE_TRANSIENT);
      sqlite3_bind_text (ins, 2, session->id, -1, SQLITE_TRANSIENT);
      sqlite3_bind_int (ins, 3, i);
      sqlite3_bind_text (ins, 4, msg->content, -1, SQLITE_TRANSIENT);
      bind_text_or_null (ins, 5, att);
      sqlite3_bind_int64 (ins, 6, msg->queued_at);
      if (!step_done (store, ins, "failed to save queue", error))
        goto fail;
    }
  return cw_store_release (store, "agent_queue", error);
fail:
  cw_store_rollback_to (store, "agent_queue");
  return FALSE;
}

gchar *
cw_agent_store_get_meta (CwStore *store, const gchar *key)
{
  sqlite3_stmt *stmt
      = cw_store_prepare (store, "SELECT value FROM agent_meta WHERE key = ?1", NULL);
  gchar *value = NULL;

  if (stmt == NULL)
    return NULL;
  sqlite3_bind_text (stmt, 1, key, -1, SQLITE_TRANSIENT);
  if (sqlite3_step (stmt) == SQLITE_ROW)
    value = g_strdup ((const gchar *) sqlite3_column_text (stmt, 0));
  sqlite3_reset (stmt);
  return value;
}

gboolean
cw_agent_store_set_meta (CwStore *store, const gchar *key, const gchar *value, GError **error)
{
  sqlite3_stmt *stmt = cw_store_prepare (
      store, "INSERT OR REPLACE INTO agent_meta (key, value) VALUES (?1, ?2)", error);

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, key, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 2, value, -1, SQLITE_TRANSIENT);
  return step_done (store, stmt, "failed to save setting", error);
}
