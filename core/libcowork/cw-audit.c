/* cw-audit.c: append-only audit records: mode switches, promotions, token rotations.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cowork-host.h"

gboolean
cw_audit_record (CwStore *store, const gchar *action, const gchar *actor, JsonObject *details,
                 GError **error)
{
  g_autoptr (JsonNode) node = json_node_new (JSON_NODE_OBJECT);
  g_autofree gchar *text = NULL;
  sqlite3_stmt *stmt;

  json_node_take_object (node, details != NULL ? json_object_ref (details) : json_object_new ());
  text = cw_json_to_string (node);
  stmt = cw_store_prepare (store,
                           "INSERT INTO audit (timestamp, action, actor, details) "
                           "VALUES (?1, ?2, ?3, ?4)",
                           error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, cw_now_ms ());
  sqlite3_bind_text (stmt, 2, action, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 3, actor, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 4, text, -1, SQLITE_STATIC);
  if (sqlite3_step (stmt) != SQLITE_DONE)
    {
      sqlite3_reset (stmt);
      return cw_store_set_error (store, error, "failed to write audit record");
    }
  sqlite3_reset (stmt);
  return TRUE;
}

JsonArray *
cw_audit_list (CwStore *store, gint64 limit, GError **error)
{
  g_autoptr (JsonArray) rows = json_array_new ();
  sqlite3_stmt *stmt;
  int rc;

  stmt = cw_store_prepare (store,
                           "SELECT id, timestamp, action, actor, details FROM audit "
                           "ORDER BY id DESC LIMIT ?1",
                           error);
  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, limit);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      JsonObject *row = json_object_new ();
      g_autoptr (JsonNode) details
          = cw_json_from_string ((const gchar *) sqlite3_column_text (stmt, 4), -1, NULL);

      json_object_set_int_member (row, "id", sqlite3_column_int64 (stmt, 0));
      json_object_set_int_member (row, "timestamp", sqlite3_column_int64 (stmt, 1));
      json_object_set_string_member (row, "action", (const gchar *) sqlite3_column_text (stmt, 2));
      json_object_set_string_member (row, "actor", (const gchar *) sqlite3_column_text (stmt, 3));
      json_object_set_member (row, "details",
                              details != NULL ? g_steal_pointer (&details)
                                              : json_node_new (JSON_NODE_NULL));
      json_array_add_object_element (rows, row);
    }
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    {
      cw_store_set_error (store, error, "failed to read audit log");
      return NULL;
    }
  return g_steal_pointer (&rows);
}
