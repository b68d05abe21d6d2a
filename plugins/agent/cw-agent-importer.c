/* cw-agent-importer.c: one-time import of the desktop app's JSON history (contract §7.1):
 * <appData>/sessions/index.json and every <id>/ folder with session.json, chat-items.json
 * (v2) or messages.json + tools.json (v1), tasks.json and artifacts.json.
 *
 * It runs at plugin start until it has succeeded once; the marker is written in the same
 * transaction as the sessions, so a crash in the middle imports nothing and the next start
 * tries again. Sessions already in the store are left alone, and the old files are only
 * read, never changed.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-agent-json.h"
#include "cw-agent-plugin.h"
#include "cw-agent-store.h"

#define MARKER "legacy_import_v1"

static JsonObject *
read_json_object (const gchar *dir, const gchar *name)
{
  g_autofree gchar *path = g_build_filename (dir, name, NULL);
  g_autofree gchar *text = NULL;
  g_autoptr (JsonNode) node = NULL;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return NULL;
  node = cw_json_from_string (text, -1, NULL);
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    {
      g_warning ("ignoring %s: not a JSON object", path);
      return NULL;
    }
  return json_object_ref (json_node_get_object (node));
}

static const gchar *
str (JsonObject *obj, const gchar *name, const gchar *fallback)
{
  const gchar *v
      = obj != NULL ? json_object_get_string_member_with_default (obj, name, NULL) : NULL;
  return v != NULL ? v : fallback;
}

static gint64
num (JsonObject *obj, const gchar *name, gint64 fallback)
{
  JsonNode *node = obj != NULL ? json_object_get_member (obj, name) : NULL;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node))
    return fallback;
  if (json_node_get_value_type (node) == G_TYPE_DOUBLE)
    return (gint64) json_node_get_double (node);
  if (json_node_get_value_type (node) == G_TYPE_INT64)
    return json_node_get_int (node);
  return fallback;
}

/* v1: messages become ci-<msgId>, tool executions ci-ts-<id> / ci-tr-<id> (contract §7.1). */
static JsonArray *
items_from_v1 (const gchar *dir)
{
  g_autoptr (JsonObject) messages = read_json_object (dir, "messages.json");
  g_autoptr (JsonObject) tools = read_json_object (dir, "tools.json");
  JsonArray *msgs = cw_agent_json_array (messages, "messages");
  JsonArray *execs = cw_agent_json_array (tools, "executions");
  JsonArray *items = json_array_new ();

  for (guint i = 0; msgs != NULL && i < json_array_get_length (msgs); i++)
    {
      JsonObject *m = json_array_get_object_element (msgs, i);
      const gchar *role = str (m, "role", "");
      const gchar *kind = g_strcmp0 (role, "user") == 0        ? "user_message"
                          : g_strcmp0 (role, "assistant") == 0 ? "assistant_message"
                          : g_strcmp0 (role, "system") == 0    ? "system_message"
                                                               : NULL;
      JsonObject *item;
      g_autofree gchar *id = NULL;

      if (m == NULL || kind == NULL)
        continue;
      item = json_object_new ();
      id = g_strdup_printf ("ci-%s", str (m, "id", "unknown"));
      json_object_set_string_member (item, "id", id);
      json_object_set_string_member (item, "kind", kind);
      json_object_set_int_member (item, "timestamp", num (m, "createdAt", 0));
      if (json_object_has_member (m, "content"))
        json_object_set_member (item, "content",
                                json_node_copy (json_object_get_member (m, "content")));
      else
        json_object_set_string_member (item, "content", "");
      json_array_add_object_element (items, item);
    }
  for (guint i = 0; execs != NULL && i < json_array_get_length (execs); i++)
    {
      JsonObject *e = json_array_get_object_element (execs, i);
      const gchar *tid = str (e, "id", NULL);
      const gchar *status = str (e, "status", "completed");
      gboolean failed = g_strcmp0 (status, "error") == 0 || g_strcmp0 (status, "failed") == 0;
      gint64 started = num (e, "startedAt", num (e, "timestamp", 0));
      JsonObject *start, *result;
      g_autofree gchar *sid = NULL, *rid = NULL;

      if (e == NULL || tid == NULL)
        continue;
      sid = g_strdup_printf ("ci-ts-%s", tid);
      rid = g_strdup_printf ("ci-tr-%s", tid);
      start = json_object_new ();
      json_object_set_string_member (start, "id", sid);
      json_object_set_string_member (start, "kind", "tool_start");
      json_object_set_int_member (start, "timestamp", started);
      json_object_set_string_member (start, "toolId", tid);
      json_object_set_string_member (start, "name", str (e, "name", "tool"));
      json_object_set_member (start, "args",
                              json_object_has_member (e, "args")
                                  ? json_node_copy (json_object_get_member (e, "args"))
                                  : json_node_init_object (json_node_alloc (), json_object_new ()));
      json_object_set_string_member (start, "status", failed ? "error" : "completed");
      json_array_add_object_element (items, start);
      result = json_object_new ();
      json_object_set_string_member (result, "id", rid);
      json_object_set_string_member (result, "kind", "tool_result");
      json_object_set_int_member (result, "timestamp", num (e, "completedAt", started));
      json_object_set_string_member (result, "toolId", tid);
      json_object_set_string_member (result, "name", str (e, "name", "tool"));
      json_object_set_string_member (result, "status", failed ? "error" : "success");
      if (json_object_has_member (e, "result"))
        json_object_set_member (result, "result",
                                json_node_copy (json_object_get_member (e, "result")));
      if (json_object_has_member (e, "error"))
        json_object_set_member (result, "error",
                                json_node_copy (json_object_get_member (e, "error")));
      json_array_add_object_element (items, result);
    }
  return items;
}

static gint
compare_items (gconstpointer a, gconstpointer b)
{
  JsonObject *ia = *(JsonObject *const *) a;
  JsonObject *ib = *(JsonObject *const *) b;
  gint64 sa = num (ia, "sequence", G_MAXINT64), sb = num (ib, "sequence", G_MAXINT64);
  gint64 ta = num (ia, "timestamp", 0), tb = num (ib, "timestamp", 0);

  if (sa != sb)
    return sa < sb ? -1 : 1;
  if (ta != tb)
    return ta < tb ? -1 : 1;
  return g_strcmp0 (str (ia, "id", ""), str (ib, "id", ""));
}

/* Items in order with a fresh 0.. sequence; returns the message count. */
static gint64
store_items (CwStore *store, CwAgentSession *s, JsonArray *items, GError **error)
{
  g_autoptr (GPtrArray) sorted = g_ptr_array_new ();
  gint64 messages = 0;

  for (guint i = 0; i < json_array_get_length (items); i++)
    {
      JsonObject *item = json_array_get_object_element (items, i);
      if (item != NULL && json_object_get_string_member_with_default (item, "id", NULL) != NULL
          && json_object_get_string_member_with_default (item, "kind", NULL) != NULL)
        g_ptr_array_add (sorted, item);
    }
  g_ptr_array_sort (sorted, compare_items);
  for (guint i = 0; i < sorted->len; i++)
    {
      JsonObject *item = g_ptr_array_index (sorted, i);
      const gchar *kind = str (item, "kind", "");
      json_object_set_int_member (item, "sequence", s->next_sequence++);
      if (!json_object_has_member (item, "timestamp"))
        json_object_set_int_member (item, "timestamp", s->updated_at);
      if (g_strcmp0 (kind, "user_message") == 0 || g_strcmp0 (kind, "assistant_message") == 0)
        messages++;
      if (!cw_agent_store_insert_item (store, s->id, item, error))
        return -1;
    }
  return messages;
}

static gboolean
import_session (CwAgentPlugin *self, const gchar *sessions_dir, const gchar *id,
                JsonObject *index_entry, GError **error)
{
  g_autofree gchar *dir = g_build_filename (sessions_dir, id, NULL);
  g_autoptr (JsonObject) meta = read_json_object (dir, "session.json");
  g_autoptr (JsonObject) chat = read_json_object (dir, "chat-items.json");
  g_autoptr (JsonObject) tasks = read_json_object (dir, "tasks.json");
  g_autoptr (JsonObject) artifacts = read_json_object (dir, "artifacts.json");
  g_autoptr (JsonObject) context = read_json_object (dir, "context.json");
  g_autoptr (CwAgentSession) s = cw_agent_session_new (id);
  g_autoptr (JsonArray) v1_items = NULL;
  JsonObject *src = meta != NULL ? meta : index_entry;
  JsonArray *items, *arts;
  gint64 count;
  const gchar *provider;

  if (src == NULL)
    return TRUE;
  provider = cw_agent_provider_normalize (str (src, "provider", "google"));
  s->type = g_strdup (str (src, "type", "main"));
  s->provider = g_strdup (provider != NULL ? provider : "google");
  s->execution_mode = g_strdup (str (src, "executionMode", "execute"));
  s->approval_mode = g_strdup (str (src, "approvalMode", "auto"));
  s->title = g_strdup (str (src, "title", NULL));
  s->first_message = g_strdup (str (index_entry, "firstMessage", str (src, "firstMessage", NULL)));
  s->working_directory = g_strdup (str (src, "workingDirectory", g_get_home_dir ()));
  s->model
      = g_strdup (str (src, "model", cw_agent_config_pick_model (self->config, s->provider, NULL)));
  s->created_at = num (src, "createdAt", cw_now_ms ());
  s->updated_at = num (src, "updatedAt", s->created_at);
  s->last_accessed_at = num (src, "lastAccessedAt", s->updated_at);

  items = cw_agent_json_array (chat, "chatItems");
  if (items == NULL)
    items = v1_items = items_from_v1 (dir);
  /* The session row goes first: the items reference it. */
  if (!cw_agent_store_save_session (self->store, s, error))
    return FALSE;
  count = store_items (self->store, s, items, error);
  if (count < 0)
    return FALSE;
  s->message_count = json_array_get_length (items) > 0 ? count : num (src, "messageCount", 0);
  if (!cw_agent_store_save_session (self->store, s, error))
    return FALSE;
  arts = cw_agent_json_array (artifacts, "artifacts");
  for (guint i = 0; arts != NULL && i < json_array_get_length (arts); i++)
    {
      JsonObject *a = json_array_get_object_element (arts, i);
      if (a != NULL && json_object_get_string_member_with_default (a, "id", NULL) != NULL
          && !cw_agent_store_save_artifact (self->store, s->id, a, error))
        return FALSE;
    }
  if (cw_agent_json_array (tasks, "tasks") != NULL || context != NULL)
    {
      if (cw_agent_json_array (tasks, "tasks") != NULL)
        {
          json_array_unref (s->tasks);
          s->tasks = json_array_ref (cw_agent_json_array (tasks, "tasks"));
        }
      s->context_used = num (context, "usedTokens", 0);
      if (!cw_agent_store_save_runtime (self->store, s, NULL, NULL, error))
        return FALSE;
    }
  return TRUE;
}

static gboolean
session_exists (CwStore *store, const gchar *id)
{
  sqlite3_stmt *stmt = cw_store_prepare (store, "SELECT 1 FROM agent_sessions WHERE id = ?1", NULL);
  gboolean found;

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, id, -1, SQLITE_TRANSIENT);
  found = sqlite3_step (stmt) == SQLITE_ROW;
  sqlite3_reset (stmt);
  return found;
}

static gboolean
import_all (CwAgentPlugin *self, const gchar *sessions_dir, guint *imported, GError **error)
{
  g_autoptr (JsonObject) index = read_json_object (sessions_dir, "index.json");
  g_autoptr (GHashTable) entries = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr (GDir) dir = g_dir_open (sessions_dir, 0, NULL);
  JsonArray *listed = cw_agent_json_array (index, "sessions");
  g_autoptr (GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  const gchar *name;

  for (guint i = 0; listed != NULL && i < json_array_get_length (listed); i++)
    {
      JsonObject *e = json_array_get_object_element (listed, i);
      const gchar *id = str (e, "id", NULL);
      if (id != NULL && !g_hash_table_contains (entries, id))
        {
          g_hash_table_insert (entries, (gpointer) id, e);
          g_ptr_array_add (ids, g_strdup (id));
        }
    }
  /* Sessions that never finished a turn are missing from index.json but have a folder. */
  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree gchar *meta = g_build_filename (sessions_dir, name, "session.json", NULL);
      if (!g_hash_table_contains (entries, name) && g_file_test (meta, G_FILE_TEST_IS_REGULAR))
        g_ptr_array_add (ids, g_strdup (name));
    }
  for (guint i = 0; i < ids->len; i++)
    {
      const gchar *id = g_ptr_array_index (ids, i);
      if (strchr (id, '/') != NULL || g_str_has_prefix (id, ".")
          || session_exists (self->store, id))
        continue;
      if (!import_session (self, sessions_dir, id, g_hash_table_lookup (entries, id), error))
        {
          g_prefix_error (error, "session %s: ", id);
          return FALSE;
        }
      (*imported)++;
    }
  return TRUE;
}

gboolean
cw_agent_import_legacy (CwAgentPlugin *self, GError **error)
{
  CwConfig *config = cw_context_get_config (cw_plugin_get_context (CW_PLUGIN (self)));
  g_autofree gchar *done = cw_agent_store_get_meta (self->store, MARKER);
  g_autofree gchar *sessions_dir = NULL;
  g_autofree gchar *stamp = NULL;
  guint imported = 0;

  if (done != NULL)
    return TRUE;
  sessions_dir = g_build_filename (cw_config_get_app_data_dir (config), "sessions", NULL);
  if (!cw_store_begin (self->store, error))
    return FALSE;
  if (g_file_test (sessions_dir, G_FILE_TEST_IS_DIR)
      && !import_all (self, sessions_dir, &imported, error))
    {
      cw_store_rollback (self->store);
      return FALSE;
    }
  stamp = g_strdup_printf ("{\"at\":%" G_GINT64_FORMAT ",\"sessions\":%u}", cw_now_ms (), imported);
  if (!cw_agent_store_set_meta (self->store, MARKER, stamp, error)
      || !cw_store_commit (self->store, error))
    {
      cw_store_rollback (self->store);
      return FALSE;
    }
  if (imported > 0)
    g_message ("imported %u sessions of the desktop app from %s", imported, sessions_dir);
  return TRUE;
}
