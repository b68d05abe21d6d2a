/* cw-heartbeat-schema.c: the heartbeat plugin's tables in the core store (owner "heartbeat").
 *
 * Schema versions:
 *   1: heartbeat_state (key -> JSON text: config, tickAnchor, lastHeartbeat, checkInSession,
 *      inFlight) and heartbeat_events, the queue of SystemEvents (position = queue order,
 *      priority 0 low, 1 normal, 2 high).
 *   2: the one-time import of the original's ~/.cowork/heartbeat.json (`[heartbeat]
 *      import-file` in coworkd.conf points elsewhere). The original saved it and never read
 *      it back; here its values become the stored config. A member the original would have
 *      refused (intervalMs under 1000) is left at its default, with a warning.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-heartbeat-plugin.h"

static const gchar *const imported_members[]
    = { "enabled", "intervalMs", "systemEventsEnabled", "cronEnabled", NULL };

JsonNode *
cw_heartbeat_state_get (CwStore *store, const gchar *key)
{
  sqlite3_stmt *stmt
      = cw_store_prepare (store, "SELECT value FROM heartbeat_state WHERE key = ?", NULL);
  JsonNode *node = NULL;

  if (stmt == NULL)
    return NULL;
  sqlite3_bind_text (stmt, 1, key, -1, SQLITE_TRANSIENT);
  if (sqlite3_step (stmt) == SQLITE_ROW)
    node = cw_json_from_string ((const gchar *) sqlite3_column_text (stmt, 0), -1, NULL);
  sqlite3_reset (stmt);
  return node;
}

gboolean
cw_heartbeat_state_set (CwStore *store, const gchar *key, JsonNode *value, GError **error)
{
  sqlite3_stmt *stmt;
  g_autofree gchar *text = NULL;
  gint rc;

  if (value == NULL)
    stmt = cw_store_prepare (store, "DELETE FROM heartbeat_state WHERE key = ?", error);
  else
    stmt = cw_store_prepare (store,
                             "INSERT INTO heartbeat_state (key, value) VALUES (?, ?) "
                             "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                             error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, key, -1, SQLITE_TRANSIENT);
  if (value != NULL)
    {
      text = cw_json_to_string (value);
      sqlite3_bind_text (stmt, 2, text, -1, SQLITE_TRANSIENT);
    }
  rc = sqlite3_step (stmt);
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    return cw_store_set_error (store, error, "failed to save the heartbeat state");
  return TRUE;
}

gboolean
cw_heartbeat_state_set_int (CwStore *store, const gchar *key, gint64 value, GError **error)
{
  g_autoptr (JsonNode) node = json_node_init_int (json_node_alloc (), value);

  return cw_heartbeat_state_set (store, key, node, error);
}

gboolean
cw_heartbeat_state_set_object (CwStore *store, const gchar *key, JsonObject *value, GError **error)
{
  g_autoptr (JsonNode) node = NULL;

  if (value != NULL)
    node = json_node_init_object (json_node_alloc (), value);
  return cw_heartbeat_state_set (store, key, node, error);
}

static gchar *
import_path (CwHeartbeatPlugin *self)
{
  CwConfig *config = cw_context_get_config (cw_plugin_get_context (CW_PLUGIN (self)));
  gchar *path = cw_config_get_string (config, "heartbeat", "import-file", NULL);

  if (path != NULL)
    return path;
  return g_build_filename (g_get_home_dir (), ".cowork", "heartbeat.json", NULL);
}

static gboolean
run_import (CwStore *store, gpointer user_data, GError **error)
{
  CwHeartbeatPlugin *self = CW_HEARTBEAT_PLUGIN (user_data);
  g_autofree gchar *path = import_path (self);
  g_autofree gchar *text = NULL;
  g_autoptr (GError) local = NULL;
  g_autoptr (JsonNode) root = NULL;
  g_autoptr (JsonObject) config = cw_heartbeat_config_new_default ();

  if (!g_file_get_contents (path, &text, NULL, &local))
    {
      if (!g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        g_warning ("heartbeat import: %s", local->message);
      return TRUE;
    }
  root = cw_json_from_string (text, -1, &local);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_warning ("heartbeat import: %s is not a HeartbeatConfig object%s%s", path,
                 local != NULL ? ": " : "", local != NULL ? local->message : "");
      return TRUE;
    }
  for (guint i = 0; imported_members[i] != NULL; i++)
    {
      JsonNode *node = json_object_get_member (json_node_get_object (root), imported_members[i]);
      g_autoptr (JsonObject) one = json_object_new ();
      g_autoptr (JsonObject) merged = NULL;
      g_autoptr (GError) bad = NULL;

      if (node == NULL)
        continue;
      json_object_set_member (one, imported_members[i], json_node_copy (node));
      merged = cw_heartbeat_config_merge (config, one, &bad);
      if (merged == NULL)
        {
          g_warning ("heartbeat import: %s: %s; the default is kept", path, bad->message);
          continue;
        }
      g_clear_pointer (&config, json_object_unref);
      config = g_steal_pointer (&merged);
    }
  g_message ("imported the heartbeat settings of %s", path);
  return cw_heartbeat_state_set_object (store, "config", config, error);
}

gboolean
cw_heartbeat_schema_migrate (CwHeartbeatPlugin *self, GError **error)
{
  const CwMigration migrations[] = {
    { 1,
      "CREATE TABLE heartbeat_state ("
      "  key TEXT PRIMARY KEY,"
      "  value TEXT NOT NULL);"
      "CREATE TABLE heartbeat_events ("
      "  id TEXT PRIMARY KEY,"
      "  position INTEGER NOT NULL,"
      "  priority INTEGER NOT NULL,"
      "  event TEXT NOT NULL);"
      "CREATE INDEX heartbeat_events_order ON heartbeat_events (priority DESC, position);",
      NULL, NULL },
    { 2, NULL, run_import, self },
  };

  return cw_store_migrate (self->store, "heartbeat", migrations, G_N_ELEMENTS (migrations), error);
}
