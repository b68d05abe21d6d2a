/* cw-integrations-store.c: reading and writing the plugin's rows (cw-integrations-schema.c).
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-integrations-plugin.h"

static gboolean
step_done (CwStore *store, sqlite3_stmt *stmt, const gchar *what, GError **error)
{
  gint rc = sqlite3_step (stmt);

  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    return cw_store_set_error (store, error, what);
  return TRUE;
}

static gchar *
column_dup (sqlite3_stmt *stmt, gint column)
{
  return g_strdup ((const gchar *) sqlite3_column_text (stmt, column));
}

static void
bind_text_or_null (sqlite3_stmt *stmt, gint index, const gchar *text)
{
  if (text != NULL)
    sqlite3_bind_text (stmt, index, text, -1, SQLITE_TRANSIENT);
  else
    sqlite3_bind_null (stmt, index);
}

static JsonObject *
object_from_text (const gchar *text)
{
  g_autoptr (JsonNode) node = text != NULL ? cw_json_from_string (text, -1, NULL) : NULL;

  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    return NULL;
  return json_object_ref (json_node_get_object (node));
}

static gchar *
object_to_text (JsonObject *obj)
{
  GString *out = g_string_new (NULL);

  cw_json_append_object (out, obj);
  return g_string_free (out, FALSE);
}

/* The first column of the first row of @sql with up to three text parameters, or NULL. */
static gchar *
query_text (CwStore *store, const gchar *sql, const gchar *a, const gchar *b, const gchar *c)
{
  sqlite3_stmt *stmt = cw_store_prepare (store, sql, NULL);
  const gchar *params[] = { a, b, c };
  gchar *value = NULL;

  if (stmt == NULL)
    return NULL;
  for (guint i = 0; i < G_N_ELEMENTS (params) && params[i] != NULL; i++)
    sqlite3_bind_text (stmt, i + 1, params[i], -1, SQLITE_TRANSIENT);
  if (sqlite3_step (stmt) == SQLITE_ROW)
    value = column_dup (stmt, 0);
  sqlite3_reset (stmt);
  return value;
}

/* Runs @sql with up to three text parameters (NULL ends them). */
static gboolean
exec_text (CwStore *store, const gchar *sql, const gchar *what, const gchar *a, const gchar *b,
           const gchar *c, GError **error)
{
  sqlite3_stmt *stmt = cw_store_prepare (store, sql, error);
  const gchar *params[] = { a, b, c };

  if (stmt == NULL)
    return FALSE;
  for (guint i = 0; i < G_N_ELEMENTS (params) && params[i] != NULL; i++)
    sqlite3_bind_text (stmt, i + 1, params[i], -1, SQLITE_TRANSIENT);
  return step_done (store, stmt, what, error);
}

/* ---- platforms and settings ---------------------------------------------------------- */

gboolean
cw_integrations_store_get_platform (CwStore *store, const gchar *platform, gboolean *enabled,
                                    JsonObject **config, gchar ***secret_names)
{
  sqlite3_stmt *stmt = cw_store_prepare (
      store, "SELECT enabled, config, secrets FROM integrations_platforms WHERE platform = ?1",
      NULL);
  gboolean found = FALSE;

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, platform, -1, SQLITE_TRANSIENT);
  if (sqlite3_step (stmt) == SQLITE_ROW)
    {
      found = TRUE;
      if (enabled != NULL)
        *enabled = sqlite3_column_int (stmt, 0) != 0;
      if (config != NULL)
        {
          *config = object_from_text ((const gchar *) sqlite3_column_text (stmt, 1));
          if (*config == NULL)
            *config = json_object_new ();
        }
      if (secret_names != NULL)
        {
          const gchar *text = (const gchar *) sqlite3_column_text (stmt, 2);
          *secret_names
              = text != NULL && *text != '\0' ? g_strsplit (text, ",", -1) : g_new0 (gchar *, 1);
        }
    }
  sqlite3_reset (stmt);
  return found;
}

gboolean
cw_integrations_store_put_platform (CwStore *store, const gchar *platform, gboolean enabled,
                                    JsonObject *config, const gchar *const *secret_names,
                                    GError **error)
{
  sqlite3_stmt *stmt = cw_store_prepare (
      store,
      "INSERT INTO integrations_platforms (platform, enabled, config, secrets, updated_at)"
      " VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(platform) DO UPDATE SET enabled = ?2,"
      " config = ?3, secrets = ?4, updated_at = ?5",
      error);
  g_autofree gchar *text = NULL;
  g_autofree gchar *names = NULL;

  if (stmt == NULL)
    return FALSE;
  text = object_to_text (config);
  names = g_strjoinv (",", (gchar **) secret_names);
  sqlite3_bind_text (stmt, 1, platform, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int (stmt, 2, enabled ? 1 : 0);
  sqlite3_bind_text (stmt, 3, text, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 4, names, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (stmt, 5, cw_now_ms ());
  return step_done (store, stmt, "saving a platform config", error);
}

gboolean
cw_integrations_store_delete_platform (CwStore *store, const gchar *platform, GError **error)
{
  return exec_text (store, "DELETE FROM integrations_platforms WHERE platform = ?1",
                    "deleting a platform config", platform, NULL, NULL, error);
}

gchar *
cw_integrations_store_get_setting (CwStore *store, const gchar *key)
{
  return query_text (store, "SELECT value FROM integrations_settings WHERE key = ?1", key, NULL,
                     NULL);
}

gboolean
cw_integrations_store_set_setting (CwStore *store, const gchar *key, const gchar *value,
                                   GError **error)
{
  if (value == NULL)
    return exec_text (store, "DELETE FROM integrations_settings WHERE key = ?1",
                      "deleting a setting", key, NULL, NULL, error);
  return exec_text (store,
                    "INSERT INTO integrations_settings (key, value) VALUES (?1, ?2)"
                    " ON CONFLICT(key) DO UPDATE SET value = ?2",
                    "saving a setting", key, value, NULL, error);
}

gchar *
cw_integrations_store_get_state (CwStore *store, const gchar *platform, const gchar *key)
{
  return query_text (store, "SELECT value FROM integrations_state WHERE platform = ?1 AND key = ?2",
                     platform, key, NULL);
}

gboolean
cw_integrations_store_set_state (CwStore *store, const gchar *platform, const gchar *key,
                                 const gchar *value, GError **error)
{
  if (value == NULL)
    return exec_text (store, "DELETE FROM integrations_state WHERE platform = ?1 AND key = ?2",
                      "deleting an adapter's position", platform, key, NULL, error);
  return exec_text (store,
                    "INSERT INTO integrations_state (platform, key, value) VALUES (?1, ?2, ?3)"
                    " ON CONFLICT(platform, key) DO UPDATE SET value = ?3",
                    "saving an adapter's position", platform, key, value, error);
}

/* ---- the inbound ledger ------------------------------------------------------------- */

void
cw_integrations_inbound_free (CwIntegrationsInbound *row)
{
  if (row == NULL)
    return;
  g_free (row->platform);
  g_free (row->message_id);
  g_free (row->chat_id);
  g_free (row->chat_title);
  g_free (row->sender_id);
  g_free (row->sender_name);
  g_free (row->text);
  g_free (row->reply_data);
  g_free (row->status);
  g_free (row->session_id);
  g_clear_pointer (&row->attachments, json_array_unref);
  g_free (row);
}

/* The descriptions as stored: [{type, name, mimeType?, size?, duration?, ref}], or NULL. */
static gchar *
attachments_to_text (const CwIntegrationInbound *message)
{
  g_autoptr (JsonArray) array = json_array_new ();
  g_autoptr (JsonNode) node = NULL;

  for (guint i = 0; message->attachments != NULL && i < message->n_attachments; i++)
    {
      const CwIntegrationAttachment *a = &message->attachments[i];
      JsonObject *obj;

      if (a->ref == NULL)
        continue;
      obj = json_object_new ();
      json_object_set_string_member (obj, "type", a->type != NULL ? a->type : "file");
      json_object_set_string_member (obj, "name",
                                     a->name != NULL && *a->name != '\0' ? a->name : "file");
      if (a->mime_type != NULL)
        json_object_set_string_member (obj, "mimeType", a->mime_type);
      if (a->size >= 0)
        json_object_set_int_member (obj, "size", a->size);
      if (a->duration_s > 0)
        json_object_set_int_member (obj, "duration", a->duration_s);
      json_object_set_string_member (obj, "ref", a->ref);
      json_array_add_object_element (array, obj);
    }
  if (json_array_get_length (array) == 0)
    return NULL;
  node = json_node_init_array (json_node_alloc (), array);
  return json_to_string (node, FALSE);
}

gint64
cw_integrations_store_insert_inbound (CwStore *store, const gchar *platform,
                                      const CwIntegrationInbound *message, const gchar *status,
                                      gboolean *duplicate, GError **error)
{
  sqlite3_stmt *stmt;
  g_autofree gchar *reply_data = NULL;
  g_autofree gchar *attachments = attachments_to_text (message);
  gint64 now = cw_now_ms ();
  gint64 id;
  gint rc;

  *duplicate = FALSE;
  if (!cw_store_savepoint (store, "integrations_inbound", error))
    return -1;
  stmt = cw_store_prepare (
      store,
      "INSERT INTO integrations_inbound (platform, message_id, chat_id, chat_title, sender_id,"
      " sender_name, text, timestamp, reply_data, status, received_at, updated_at, attachments)"
      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11, ?12)"
      " ON CONFLICT(platform, message_id) DO NOTHING",
      error);
  if (stmt == NULL)
    goto fail;
  if (message->reply_data != NULL)
    reply_data = object_to_text (message->reply_data);
  sqlite3_bind_text (stmt, 1, platform, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 2, message->message_id, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 3, message->chat_id, -1, SQLITE_TRANSIENT);
  bind_text_or_null (stmt, 4, message->chat_title);
  sqlite3_bind_text (stmt, 5, message->sender_id, -1, SQLITE_TRANSIENT);
  bind_text_or_null (stmt, 6, message->sender_name);
  sqlite3_bind_text (stmt, 7, message->text != NULL ? message->text : "", -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (stmt, 8, message->timestamp_ms > 0 ? message->timestamp_ms : now);
  bind_text_or_null (stmt, 9, reply_data);
  sqlite3_bind_text (stmt, 10, status, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (stmt, 11, now);
  bind_text_or_null (stmt, 12, attachments);
  rc = sqlite3_step (stmt);
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    {
      cw_store_set_error (store, error, "storing an inbound message");
      goto fail;
    }
  if (sqlite3_changes (cw_store_get_db (store)) == 0)
    {
      *duplicate = TRUE;
      id = 0;
    }
  else
    id = sqlite3_last_insert_rowid (cw_store_get_db (store));
  if (message->state_key != NULL
      && !cw_integrations_store_set_state (store, platform, message->state_key,
                                           message->state_value, error))
    goto fail;
  if (!cw_store_release (store, "integrations_inbound", error))
    goto fail;
  return id;

fail:
  cw_store_rollback_to (store, "integrations_inbound");
  cw_store_release (store, "integrations_inbound", NULL);
  return -1;
}

#define INBOUND_COLUMNS                                                                            \
  "id, platform, message_id, chat_id, chat_title, sender_id, sender_name, text, timestamp,"        \
  " reply_data, status, session_id, attachments"

static CwIntegrationsInbound *
inbound_from_row (sqlite3_stmt *stmt)
{
  CwIntegrationsInbound *row = g_new0 (CwIntegrationsInbound, 1);

  row->id = sqlite3_column_int64 (stmt, 0);
  row->platform = column_dup (stmt, 1);
  row->message_id = column_dup (stmt, 2);
  row->chat_id = column_dup (stmt, 3);
  row->chat_title = column_dup (stmt, 4);
  row->sender_id = column_dup (stmt, 5);
  row->sender_name = column_dup (stmt, 6);
  row->text = column_dup (stmt, 7);
  row->timestamp = sqlite3_column_int64 (stmt, 8);
  row->reply_data = column_dup (stmt, 9);
  row->status = column_dup (stmt, 10);
  row->session_id = column_dup (stmt, 11);
  if (sqlite3_column_type (stmt, 12) != SQLITE_NULL)
    {
      g_autoptr (JsonNode) node
          = cw_json_from_string ((const gchar *) sqlite3_column_text (stmt, 12), -1, NULL);
      if (node != NULL && JSON_NODE_HOLDS_ARRAY (node))
        row->attachments = json_array_ref (json_node_get_array (node));
    }
  return row;
}

CwIntegrationsInbound *
cw_integrations_store_get_inbound (CwStore *store, gint64 id)
{
  sqlite3_stmt *stmt = cw_store_prepare (
      store, "SELECT " INBOUND_COLUMNS " FROM integrations_inbound WHERE id = ?1", NULL);
  CwIntegrationsInbound *row = NULL;

  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, id);
  if (sqlite3_step (stmt) == SQLITE_ROW)
    row = inbound_from_row (stmt);
  sqlite3_reset (stmt);
  return row;
}

GPtrArray *
cw_integrations_store_list_inbound (CwStore *store, const gchar *status)
{
  sqlite3_stmt *stmt = cw_store_prepare (
      store,
      status != NULL
          ? "SELECT " INBOUND_COLUMNS " FROM integrations_inbound WHERE status = ?1 ORDER BY id"
          : "SELECT " INBOUND_COLUMNS " FROM integrations_inbound WHERE status IN ('received',"
            " 'dispatched') ORDER BY id",
      NULL);
  GPtrArray *rows = g_ptr_array_new_with_free_func ((GDestroyNotify) cw_integrations_inbound_free);

  if (stmt == NULL)
    return rows;
  if (status != NULL)
    sqlite3_bind_text (stmt, 1, status, -1, SQLITE_TRANSIENT);
  while (sqlite3_step (stmt) == SQLITE_ROW)
    g_ptr_array_add (rows, inbound_from_row (stmt));
  sqlite3_reset (stmt);
  return rows;
}

GPtrArray *
cw_integrations_store_list_received (CwStore *store, const gchar *platform, const gchar *chat_id)
{
  sqlite3_stmt *stmt;
  GPtrArray *rows;

  if (platform == NULL)
    return cw_integrations_store_list_inbound (store, "received");
  rows = g_ptr_array_new_with_free_func ((GDestroyNotify) cw_integrations_inbound_free);
  stmt
      = cw_store_prepare (store,
                          "SELECT " INBOUND_COLUMNS " FROM integrations_inbound WHERE platform = ?1"
                          " AND chat_id = ?2 AND status = 'received' ORDER BY id",
                          NULL);
  if (stmt == NULL)
    return rows;
  sqlite3_bind_text (stmt, 1, platform, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 2, chat_id, -1, SQLITE_TRANSIENT);
  while (sqlite3_step (stmt) == SQLITE_ROW)
    g_ptr_array_add (rows, inbound_from_row (stmt));
  sqlite3_reset (stmt);
  return rows;
}

gboolean
cw_integrations_store_set_inbound_status (CwStore *store, gint64 id, const gchar *status,
                                          const gchar *session_id, GError **error)
{
  sqlite3_stmt *stmt = cw_store_prepare (
      store,
      "UPDATE integrations_inbound SET status = ?2, session_id = COALESCE(?3, session_id),"
      " updated_at = ?4 WHERE id = ?1",
      error);

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, id);
  sqlite3_bind_text (stmt, 2, status, -1, SQLITE_TRANSIENT);
  bind_text_or_null (stmt, 3, session_id);
  sqlite3_bind_int64 (stmt, 4, cw_now_ms ());
  return step_done (store, stmt, "updating an inbound message", error);
}

/* ---- chats ---------------------------------------------------------------------------- */

gchar *
cw_integrations_store_get_chat_session (CwStore *store, const gchar *key)
{
  return query_text (store, "SELECT session_id FROM integrations_chats WHERE key = ?1", key, NULL,
                     NULL);
}

gboolean
cw_integrations_store_set_chat_session (CwStore *store, const gchar *key, const gchar *session_id,
                                        const gchar *title, GError **error)
{
  sqlite3_stmt *stmt;

  if (session_id == NULL)
    stmt = cw_store_prepare (store, "DELETE FROM integrations_chats WHERE key = ?1", error);
  else
    stmt = cw_store_prepare (store,
                             "INSERT INTO integrations_chats (key, session_id, title, updated_at)"
                             " VALUES (?1, ?2, ?3, ?4) ON CONFLICT(key) DO UPDATE SET"
                             " session_id = ?2, title = ?3, updated_at = ?4",
                             error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, key, -1, SQLITE_TRANSIENT);
  if (session_id != NULL)
    {
      sqlite3_bind_text (stmt, 2, session_id, -1, SQLITE_TRANSIENT);
      bind_text_or_null (stmt, 3, title);
      sqlite3_bind_int64 (stmt, 4, cw_now_ms ());
    }
  return step_done (store, stmt, "saving a chat's session", error);
}

gchar *
cw_integrations_store_get_last_chat (CwStore *store, const gchar *platform)
{
  return query_text (store,
                     "SELECT chat_id FROM integrations_inbound WHERE platform = ?1 AND status !="
                     " 'denied' ORDER BY id DESC LIMIT 1",
                     platform, NULL, NULL);
}

gboolean
cw_integrations_store_has_chat (CwStore *store, const gchar *platform, const gchar *chat_id)
{
  g_autofree gchar *found = query_text (store,
                                        "SELECT chat_id FROM integrations_inbound WHERE platform ="
                                        " ?1 AND chat_id = ?2 AND status != 'denied' LIMIT 1",
                                        platform, chat_id, NULL);

  return found != NULL;
}

/* ---- the outbox ------------------------------------------------------------------------ */

void
cw_integrations_outbox_free (CwIntegrationsOutbox *row)
{
  if (row == NULL)
    return;
  g_free (row->id);
  g_free (row->platform);
  g_free (row->chat_id);
  g_free (row->kind);
  g_free (row->text);
  g_free (row->reply_data);
  g_free (row->state);
  g_free (row->message_id);
  g_free (row->error);
  g_free (row);
}

gboolean
cw_integrations_store_insert_outbox (CwStore *store, CwIntegrationsOutbox *row, gboolean *duplicate,
                                     GError **error)
{
  sqlite3_stmt *stmt = cw_store_prepare (
      store,
      "INSERT INTO integrations_outbox (id, platform, chat_id, inbound_id, kind, text,"
      " reply_data, state, attempts, next_attempt_at, created_at, updated_at)"
      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 0, 0, ?9, ?9) ON CONFLICT DO NOTHING",
      error);
  gint rc;

  *duplicate = FALSE;
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, row->id, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 2, row->platform, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 3, row->chat_id, -1, SQLITE_TRANSIENT);
  if (row->inbound_id > 0)
    sqlite3_bind_int64 (stmt, 4, row->inbound_id);
  else
    sqlite3_bind_null (stmt, 4);
  sqlite3_bind_text (stmt, 5, row->kind, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 6, row->text, -1, SQLITE_TRANSIENT);
  bind_text_or_null (stmt, 7, row->reply_data);
  sqlite3_bind_text (stmt, 8, row->state, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (stmt, 9, cw_now_ms ());
  rc = sqlite3_step (stmt);
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    return cw_store_set_error (store, error, "queueing a reply");
  *duplicate = sqlite3_changes (cw_store_get_db (store)) == 0;
  return TRUE;
}

gboolean
cw_integrations_store_update_outbox (CwStore *store, CwIntegrationsOutbox *row, GError **error)
{
  sqlite3_stmt *stmt = cw_store_prepare (
      store,
      "UPDATE integrations_outbox SET state = ?2, attempts = ?3, next_attempt_at = ?4,"
      " message_id = ?5, error = ?6, updated_at = ?7 WHERE id = ?1",
      error);

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, row->id, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 2, row->state, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (stmt, 3, row->attempts);
  sqlite3_bind_int64 (stmt, 4, row->next_attempt_at);
  bind_text_or_null (stmt, 5, row->message_id);
  bind_text_or_null (stmt, 6, row->error);
  sqlite3_bind_int64 (stmt, 7, cw_now_ms ());
  return step_done (store, stmt, "updating a reply", error);
}

#define OUTBOX_COLUMNS                                                                             \
  "id, platform, chat_id, inbound_id, kind, text, reply_data, state, attempts,"                    \
  " next_attempt_at, message_id, error"

static CwIntegrationsOutbox *
outbox_from_row (sqlite3_stmt *stmt)
{
  CwIntegrationsOutbox *row = g_new0 (CwIntegrationsOutbox, 1);

  row->id = column_dup (stmt, 0);
  row->platform = column_dup (stmt, 1);
  row->chat_id = column_dup (stmt, 2);
  row->inbound_id = sqlite3_column_int64 (stmt, 3);
  row->kind = column_dup (stmt, 4);
  row->text = column_dup (stmt, 5);
  row->reply_data = column_dup (stmt, 6);
  row->state = column_dup (stmt, 7);
  row->attempts = sqlite3_column_int64 (stmt, 8);
  row->next_attempt_at = sqlite3_column_int64 (stmt, 9);
  row->message_id = column_dup (stmt, 10);
  row->error = column_dup (stmt, 11);
  return row;
}

CwIntegrationsOutbox *
cw_integrations_store_get_outbox (CwStore *store, const gchar *id)
{
  sqlite3_stmt *stmt = cw_store_prepare (
      store, "SELECT " OUTBOX_COLUMNS " FROM integrations_outbox WHERE id = ?1", NULL);
  CwIntegrationsOutbox *row = NULL;

  if (stmt == NULL)
    return NULL;
  sqlite3_bind_text (stmt, 1, id, -1, SQLITE_TRANSIENT);
  if (sqlite3_step (stmt) == SQLITE_ROW)
    row = outbox_from_row (stmt);
  sqlite3_reset (stmt);
  return row;
}

CwIntegrationsOutbox *
cw_integrations_store_find_outbox (CwStore *store, gint64 inbound_id, const gchar *kind)
{
  sqlite3_stmt *stmt = cw_store_prepare (store,
                                         "SELECT " OUTBOX_COLUMNS " FROM integrations_outbox"
                                         " WHERE inbound_id = ?1 AND kind = ?2",
                                         NULL);
  CwIntegrationsOutbox *row = NULL;

  if (stmt == NULL || inbound_id <= 0)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, inbound_id);
  sqlite3_bind_text (stmt, 2, kind, -1, SQLITE_TRANSIENT);
  if (sqlite3_step (stmt) == SQLITE_ROW)
    row = outbox_from_row (stmt);
  sqlite3_reset (stmt);
  return row;
}

GPtrArray *
cw_integrations_store_list_outbox (CwStore *store, const gchar *state)
{
  sqlite3_stmt *stmt = cw_store_prepare (store,
                                         "SELECT " OUTBOX_COLUMNS " FROM integrations_outbox"
                                         " WHERE state = ?1 ORDER BY created_at, rowid",
                                         NULL);
  GPtrArray *rows = g_ptr_array_new_with_free_func ((GDestroyNotify) cw_integrations_outbox_free);

  if (stmt == NULL)
    return rows;
  sqlite3_bind_text (stmt, 1, state, -1, SQLITE_TRANSIENT);
  while (sqlite3_step (stmt) == SQLITE_ROW)
    g_ptr_array_add (rows, outbox_from_row (stmt));
  sqlite3_reset (stmt);
  return rows;
}

gint64
cw_integrations_store_count_outbox (CwStore *store, const gchar *platform, const gchar *state)
{
  sqlite3_stmt *stmt = cw_store_prepare (store,
                                         "SELECT COUNT(*) FROM integrations_outbox WHERE state = ?2"
                                         " AND (?1 IS NULL OR platform = ?1)",
                                         NULL);
  gint64 n = 0;

  if (stmt == NULL)
    return 0;
  if (platform != NULL)
    sqlite3_bind_text (stmt, 1, platform, -1, SQLITE_TRANSIENT);
  else
    sqlite3_bind_null (stmt, 1);
  sqlite3_bind_text (stmt, 2, state, -1, SQLITE_TRANSIENT);
  if (sqlite3_step (stmt) == SQLITE_ROW)
    n = sqlite3_column_int64 (stmt, 0);
  sqlite3_reset (stmt);
  return n;
}

/* ---- prompts ----------------------------------------------------------------------------- */

gboolean
cw_integrations_store_put_prompt (CwStore *store, const gchar *id, const gchar *kind,
                                  const gchar *session_id, const gchar *platform,
                                  const gchar *chat_id, const gchar *sender_id, JsonObject *request,
                                  gboolean *duplicate, GError **error)
{
  sqlite3_stmt *stmt = cw_store_prepare (
      store,
      "INSERT INTO integrations_prompts (id, kind, session_id, platform, chat_id, sender_id,"
      " request, open, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 1, ?8)"
      " ON CONFLICT(id) DO NOTHING",
      error);
  g_autofree gchar *text = NULL;
  gint rc;

  *duplicate = FALSE;
  if (stmt == NULL)
    return FALSE;
  text = object_to_text (request);
  sqlite3_bind_text (stmt, 1, id, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 2, kind, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 3, session_id, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 4, platform, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 5, chat_id, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 6, sender_id, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 7, text, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (stmt, 8, cw_now_ms ());
  rc = sqlite3_step (stmt);
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    return cw_store_set_error (store, error, "storing a prompt");
  *duplicate = sqlite3_changes (cw_store_get_db (store)) == 0;
  return TRUE;
}

gboolean
cw_integrations_store_get_open_prompt (CwStore *store, const gchar *platform, const gchar *chat_id,
                                       gchar **id, gchar **kind, gchar **session_id,
                                       gchar **sender_id, JsonObject **request)
{
  sqlite3_stmt *stmt = cw_store_prepare (
      store,
      "SELECT id, kind, session_id, sender_id, request FROM integrations_prompts"
      " WHERE platform = ?1 AND chat_id = ?2 AND open = 1 ORDER BY created_at, rowid LIMIT 1",
      NULL);
  gboolean found = FALSE;

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, platform, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 2, chat_id, -1, SQLITE_TRANSIENT);
  if (sqlite3_step (stmt) == SQLITE_ROW)
    {
      found = TRUE;
      *id = column_dup (stmt, 0);
      *kind = column_dup (stmt, 1);
      *session_id = column_dup (stmt, 2);
      *sender_id = column_dup (stmt, 3);
      *request = object_from_text ((const gchar *) sqlite3_column_text (stmt, 4));
      if (*request == NULL)
        *request = json_object_new ();
    }
  sqlite3_reset (stmt);
  return found;
}

gboolean
cw_integrations_store_close_prompt (CwStore *store, const gchar *id, GError **error)
{
  return exec_text (store, "UPDATE integrations_prompts SET open = 0 WHERE id = ?1",
                    "closing a prompt", id, NULL, NULL, error);
}
