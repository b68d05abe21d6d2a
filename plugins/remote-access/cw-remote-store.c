/* cw-remote-store.c: the remote-access tables in the core store (owner "remote-access"),
 * and the one-time import of the original's config.json.
 *
 * Schema versions:
 *   1: remote_access_config (one row: the settings as JSON text), remote_access_devices
 *      (tokens only as SHA-256 hex) and remote_access_pairing_codes (codes only as SHA-256
 *      hex, single use, so a restart inside a code's 2 minutes keeps it valid).
 *   2: the import of <appData>/remote-access/config.json (or config.json.bak).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-remote-plugin.h"

#include <string.h>

void
cw_remote_config_clear (CwRemoteConfig *config)
{
  g_clear_pointer (&config->public_base_url, g_free);
  g_clear_pointer (&config->tunnel_mode, g_free);
  g_clear_pointer (&config->tunnel_name, g_free);
  g_clear_pointer (&config->tunnel_domain, g_free);
  g_clear_pointer (&config->tunnel_visibility, g_free);
  g_clear_pointer (&config->tailscale_published, g_free);
}

void
cw_remote_config_defaults (CwRemoteConfig *config, gint64 now)
{
  cw_remote_config_clear (config);
  config->enabled = FALSE;
  config->bind_port = 0;
  config->tunnel_mode = g_strdup ("tailscale");
  config->tunnel_visibility = g_strdup ("public");
  config->created_at = now;
  config->updated_at = now;
}

void
cw_remote_device_free (CwRemoteDevice *device)
{
  g_free (device->id);
  g_free (device->name);
  g_free (device->platform);
  g_free (device->token_hash);
  g_free (device);
}

JsonObject *
cw_remote_device_summary (CwRemoteDevice *device)
{
  JsonObject *obj = json_object_new ();

  json_object_set_string_member (obj, "id", device->id);
  json_object_set_string_member (obj, "name", device->name);
  json_object_set_string_member (obj, "platform", device->platform);
  json_object_set_int_member (obj, "createdAt", device->created_at);
  json_object_set_int_member (obj, "lastUsedAt", device->last_used_at);
  json_object_set_int_member (obj, "expiresAt", device->expires_at);
  if (device->revoked_at > 0)
    json_object_set_int_member (obj, "revokedAt", device->revoked_at);
  return obj;
}

gchar *
cw_remote_normalise_url (const gchar *url)
{
  g_autoptr (GUri) uri = NULL;
  g_autoptr (GUri) clean = NULL;
  g_autofree gchar *text = NULL;
  const gchar *scheme;
  gsize len;

  if (url == NULL || *url == '\0')
    return NULL;
  uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);
  if (uri == NULL)
    return NULL;
  scheme = g_uri_get_scheme (uri);
  if ((g_ascii_strcasecmp (scheme, "http") != 0 && g_ascii_strcasecmp (scheme, "https") != 0)
      || g_uri_get_host (uri) == NULL || *g_uri_get_host (uri) == '\0')
    return NULL;
  clean = g_uri_build (G_URI_FLAGS_NONE, scheme, NULL, g_uri_get_host (uri), g_uri_get_port (uri),
                       g_uri_get_path (uri), NULL, NULL);
  text = g_uri_to_string (clean);
  len = strlen (text);
  while (len > 0 && text[len - 1] == '/')
    text[--len] = '\0';
  return g_steal_pointer (&text);
}

gchar *
cw_remote_normalise_domain (const gchar *domain)
{
  g_autofree gchar *lower = NULL;

  if (domain == NULL)
    return NULL;
  lower = g_ascii_strdown (g_strstrip (g_strdup (domain)), -1);
  if (*lower == '\0' || strlen (lower) > 253 || lower[0] == '.' || lower[0] == '-')
    return NULL;
  for (const gchar *p = lower; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && *p != '-' && *p != '.')
      return NULL;
  return g_steal_pointer (&lower);
}

/* ---- JSON helpers ---- */

const gchar *
cw_remote_json_string (JsonObject *obj, const gchar *name)
{
  JsonNode *node = obj != NULL ? json_object_get_member (obj, name) : NULL;

  return node != NULL && json_node_get_value_type (node) == G_TYPE_STRING
             ? json_node_get_string (node)
             : NULL;
}

void
cw_remote_json_set_string (JsonObject *obj, const gchar *name, const gchar *value)
{
  if (value != NULL)
    json_object_set_string_member (obj, name, value);
  else
    json_object_set_null_member (obj, name);
}

gchar *
cw_remote_ws_endpoint (const gchar *endpoint)
{
  g_autoptr (GUri) uri = g_uri_parse (endpoint, G_URI_FLAGS_NONE, NULL);
  g_autoptr (GUri) ws = NULL;
  gboolean secure;

  if (uri == NULL)
    return NULL;
  secure = g_ascii_strcasecmp (g_uri_get_scheme (uri), "https") == 0;
  ws = g_uri_build (G_URI_FLAGS_NONE, secure ? "wss" : "ws", NULL, g_uri_get_host (uri),
                    g_uri_get_port (uri), "/v1/ws", NULL, NULL);
  return g_uri_to_string (ws);
}

/* ---- config as JSON text ---- */

#define get_str cw_remote_json_string

static gint64
get_int (JsonObject *obj, const gchar *name, gint64 fallback)
{
  JsonNode *node = json_object_get_member (obj, name);

  return node != NULL && JSON_NODE_HOLDS_VALUE (node)
                 && (json_node_get_value_type (node) == G_TYPE_INT64
                     || json_node_get_value_type (node) == G_TYPE_DOUBLE)
             ? json_node_get_int (node)
             : fallback;
}

/* Fills @config from @obj; FALSE with a reason if it is not a valid config. */
static gboolean
config_from_json (CwRemoteConfig *config, JsonObject *obj, gint64 now, gchar **why)
{
  const gchar *mode = get_str (obj, "tunnelMode");
  const gchar *visibility = get_str (obj, "tunnelVisibility");
  gint64 port = get_int (obj, "bindPort", 0);
  const gchar *name = get_str (obj, "tunnelName");

  if (mode != NULL
      && !g_strv_contains ((const gchar *[]){ "tailscale", "cloudflare", "custom", NULL }, mode))
    {
      *why = g_strdup_printf ("unknown tunnelMode %s", mode);
      return FALSE;
    }
  if (visibility != NULL && g_strcmp0 (visibility, "public") != 0
      && g_strcmp0 (visibility, "private") != 0)
    {
      *why = g_strdup_printf ("unknown tunnelVisibility %s", visibility);
      return FALSE;
    }
  if (port < 0 || port > 65535)
    {
      *why = g_strdup ("bindPort is out of range");
      return FALSE;
    }
  cw_remote_config_defaults (config, now);
  config->enabled = json_object_get_boolean_member_with_default (obj, "enabled", FALSE);
  config->bind_port = port;
  config->public_base_url = cw_remote_normalise_url (get_str (obj, "publicBaseUrl"));
  if (mode != NULL)
    {
      g_free (config->tunnel_mode);
      config->tunnel_mode = g_strdup (mode);
    }
  if (visibility != NULL)
    {
      g_free (config->tunnel_visibility);
      config->tunnel_visibility = g_strdup (visibility);
    }
  config->tunnel_name = name != NULL && *name != '\0' ? g_strndup (name, 64) : NULL;
  config->tunnel_domain = cw_remote_normalise_domain (get_str (obj, "tunnelDomain"));
  if (g_strcmp0 (get_str (obj, "tailscalePublished"), "serve") == 0
      || g_strcmp0 (get_str (obj, "tailscalePublished"), "funnel") == 0)
    config->tailscale_published = g_strdup (get_str (obj, "tailscalePublished"));
  config->created_at = get_int (obj, "createdAt", now);
  config->updated_at = get_int (obj, "updatedAt", now);
  return TRUE;
}

static gchar *
config_to_json (CwRemoteConfig *config)
{
  g_autoptr (JsonNode) node = json_node_new (JSON_NODE_OBJECT);
  JsonObject *obj = json_object_new ();

  json_object_set_boolean_member (obj, "enabled", config->enabled);
  json_object_set_string_member (obj, "bindHost", "127.0.0.1");
  json_object_set_int_member (obj, "bindPort", config->bind_port);
  cw_remote_json_set_string (obj, "publicBaseUrl", config->public_base_url);
  json_object_set_string_member (obj, "tunnelMode", config->tunnel_mode);
  cw_remote_json_set_string (obj, "tunnelName", config->tunnel_name);
  cw_remote_json_set_string (obj, "tunnelDomain", config->tunnel_domain);
  json_object_set_string_member (obj, "tunnelVisibility", config->tunnel_visibility);
  if (config->tailscale_published != NULL)
    json_object_set_string_member (obj, "tailscalePublished", config->tailscale_published);
  json_object_set_int_member (obj, "createdAt", config->created_at);
  json_object_set_int_member (obj, "updatedAt", config->updated_at);
  json_node_take_object (node, obj);
  return cw_json_to_string (node);
}

/* ---- migrations ---- */

static gboolean
run_import (CwStore *store, gpointer user_data, GError **error)
{
  return cw_remote_import_original (CW_REMOTE_PLUGIN (user_data), error);
}

gboolean
cw_remote_store_migrate (CwRemotePlugin *self, GError **error)
{
  const CwMigration migrations[] = {
    { 1,
      "CREATE TABLE remote_access_config ("
      "  id INTEGER PRIMARY KEY CHECK (id = 1),"
      "  config TEXT NOT NULL);"
      "CREATE TABLE remote_access_devices ("
      "  id TEXT PRIMARY KEY,"
      "  name TEXT NOT NULL,"
      "  platform TEXT NOT NULL,"
      "  token_hash TEXT NOT NULL UNIQUE,"
      "  created_at INTEGER NOT NULL,"
      "  last_used_at INTEGER NOT NULL,"
      "  expires_at INTEGER NOT NULL,"
      "  revoked_at INTEGER);"
      "CREATE TABLE remote_access_pairing_codes ("
      "  code_hash TEXT PRIMARY KEY,"
      "  issued_at INTEGER NOT NULL,"
      "  expires_at INTEGER NOT NULL,"
      "  used_at INTEGER);",
      NULL, NULL },
    { 2, NULL, run_import, self },
  };

  return cw_store_migrate (self->store, "remote-access", migrations, G_N_ELEMENTS (migrations),
                           error);
}

/* ---- load and save ---- */

gboolean
cw_remote_store_save_config (CwRemotePlugin *self, GError **error)
{
  g_autofree gchar *text = NULL;
  sqlite3_stmt *stmt;

  self->config.updated_at = cw_remote_plugin_now (self);
  text = config_to_json (&self->config);
  stmt = cw_store_prepare (
      self->store, "INSERT OR REPLACE INTO remote_access_config (id, config) VALUES (1, ?1)",
      error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, text, -1, SQLITE_TRANSIENT);
  if (sqlite3_step (stmt) != SQLITE_DONE)
    {
      sqlite3_reset (stmt);
      return cw_store_set_error (self->store, error, "failed to save the remote access settings");
    }
  sqlite3_reset (stmt);
  return TRUE;
}

gboolean
cw_remote_store_save_device (CwRemotePlugin *self, CwRemoteDevice *d, GError **error)
{
  sqlite3_stmt *stmt = cw_store_prepare (
      self->store,
      "INSERT OR REPLACE INTO remote_access_devices (id, name, platform, token_hash, created_at,"
      " last_used_at, expires_at, revoked_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
      error);

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, d->id, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 2, d->name, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 3, d->platform, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 4, d->token_hash, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (stmt, 5, d->created_at);
  sqlite3_bind_int64 (stmt, 6, d->last_used_at);
  sqlite3_bind_int64 (stmt, 7, d->expires_at);
  if (d->revoked_at > 0)
    sqlite3_bind_int64 (stmt, 8, d->revoked_at);
  else
    sqlite3_bind_null (stmt, 8);
  if (sqlite3_step (stmt) != SQLITE_DONE)
    {
      sqlite3_reset (stmt);
      return cw_store_set_error (self->store, error, "failed to save a paired device");
    }
  sqlite3_reset (stmt);
  return TRUE;
}

static gboolean
exec_with_int (CwRemotePlugin *self, const gchar *sql, gint64 value, const gchar *what,
               GError **error)
{
  sqlite3_stmt *stmt = cw_store_prepare (self->store, sql, error);

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, value);
  if (sqlite3_step (stmt) != SQLITE_DONE)
    {
      sqlite3_reset (stmt);
      return cw_store_set_error (self->store, error, what);
    }
  sqlite3_reset (stmt);
  return TRUE;
}

gboolean
cw_remote_store_delete_devices (CwRemotePlugin *self, GError **error)
{
  return cw_store_exec (self->store, "DELETE FROM remote_access_devices", error);
}

gboolean
cw_remote_store_prune_devices (CwRemotePlugin *self, gint64 before, GError **error)
{
  return exec_with_int (self,
                        "DELETE FROM remote_access_devices WHERE (revoked_at IS NOT NULL AND "
                        "revoked_at < ?1) OR expires_at < ?1",
                        before, "failed to forget old devices", error);
}

gboolean
cw_remote_store_add_code (CwRemotePlugin *self, const gchar *code_hash, gint64 issued_at,
                          gint64 expires_at, GError **error)
{
  sqlite3_stmt *stmt;

  /* Codes past their expiry are worth nothing: forget them as new ones come. */
  if (!exec_with_int (self, "DELETE FROM remote_access_pairing_codes WHERE expires_at < ?1",
                      issued_at - CW_REMOTE_PAIRING_TTL_MS, "failed to forget old codes", error))
    return FALSE;
  stmt = cw_store_prepare (self->store,
                           "INSERT INTO remote_access_pairing_codes (code_hash, issued_at,"
                           " expires_at) VALUES (?1, ?2, ?3)",
                           error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, code_hash, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (stmt, 2, issued_at);
  sqlite3_bind_int64 (stmt, 3, expires_at);
  if (sqlite3_step (stmt) != SQLITE_DONE)
    {
      sqlite3_reset (stmt);
      return cw_store_set_error (self->store, error, "failed to store a pairing code");
    }
  sqlite3_reset (stmt);
  return TRUE;
}

gboolean
cw_remote_store_consume_code (CwRemotePlugin *self, const gchar *code_hash, gint64 now,
                              GError **error)
{
  sqlite3_stmt *stmt = cw_store_prepare (self->store,
                                         "UPDATE remote_access_pairing_codes SET used_at = ?2 "
                                         "WHERE code_hash = ?1 AND used_at IS NULL AND "
                                         "expires_at > ?2",
                                         error);

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, code_hash, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (stmt, 2, now);
  if (sqlite3_step (stmt) != SQLITE_DONE)
    {
      sqlite3_reset (stmt);
      return cw_store_set_error (self->store, error, "failed to use a pairing code");
    }
  sqlite3_reset (stmt);
  if (sqlite3_changes (cw_store_get_db (self->store)) == 1)
    return TRUE;
  g_set_error_literal (error, CW_ERROR, CW_ERROR_INVALID_PARAMS, "Invalid or expired pairing code");
  return FALSE;
}

gboolean
cw_remote_store_clear_codes (CwRemotePlugin *self, GError **error)
{
  return cw_store_exec (self->store, "DELETE FROM remote_access_pairing_codes", error);
}

static gchar *
column_dup (sqlite3_stmt *stmt, int i)
{
  const gchar *text = (const gchar *) sqlite3_column_text (stmt, i);

  return text != NULL ? g_strdup (text) : NULL;
}

static gboolean
load_devices (CwRemotePlugin *self, GError **error)
{
  sqlite3_stmt *stmt = cw_store_prepare (self->store,
                                         "SELECT id, name, platform, token_hash, created_at,"
                                         " last_used_at, expires_at, revoked_at FROM "
                                         "remote_access_devices ORDER BY created_at DESC, id",
                                         error);
  int rc;

  if (stmt == NULL)
    return FALSE;
  g_ptr_array_set_size (self->devices, 0);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      CwRemoteDevice *d = g_new0 (CwRemoteDevice, 1);
      d->id = column_dup (stmt, 0);
      d->name = column_dup (stmt, 1);
      d->platform = column_dup (stmt, 2);
      d->token_hash = column_dup (stmt, 3);
      d->created_at = sqlite3_column_int64 (stmt, 4);
      d->last_used_at = sqlite3_column_int64 (stmt, 5);
      d->expires_at = sqlite3_column_int64 (stmt, 6);
      d->revoked_at = sqlite3_column_int64 (stmt, 7);
      g_ptr_array_add (self->devices, d);
    }
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    return cw_store_set_error (self->store, error, "failed to read the paired devices");
  return TRUE;
}

gboolean
cw_remote_store_load (CwRemotePlugin *self, GError **error)
{
  gint64 now = cw_remote_plugin_now (self);
  sqlite3_stmt *stmt;
  int rc;

  cw_remote_config_defaults (&self->config, now);
  stmt = cw_store_prepare (self->store, "SELECT config FROM remote_access_config WHERE id = 1",
                           error);
  if (stmt == NULL)
    return FALSE;
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    {
      g_autoptr (JsonNode) node
          = cw_json_from_string ((const gchar *) sqlite3_column_text (stmt, 0), -1, NULL);
      g_autofree gchar *why = NULL;
      if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node)
          || !config_from_json (&self->config, json_node_get_object (node), now, &why))
        {
          g_free (self->config_health_reason);
          self->config_health_reason
              = g_strdup_printf ("the stored settings were unreadable (%s); defaults are used",
                                 why != NULL ? why : "not JSON");
          cw_remote_config_defaults (&self->config, now);
        }
    }
  sqlite3_reset (stmt);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    return cw_store_set_error (self->store, error, "failed to read the remote access settings");
  if (!cw_remote_store_prune_devices (self, now - CW_REMOTE_DEVICE_KEEP_MS, error))
    return FALSE;
  return load_devices (self, error);
}

/* ---- the original's config.json ---- */

static JsonObject *
read_json_file (const gchar *path, gchar **why)
{
  g_autofree gchar *text = NULL;
  gsize len = 0;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) node = NULL;

  if (!g_file_get_contents (path, &text, &len, &error))
    {
      *why = g_strdup (error->message);
      return NULL;
    }
  node = cw_json_from_string (text, len, &error);
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    {
      *why = g_strdup_printf ("%s is not a JSON object", path);
      return NULL;
    }
  return json_object_ref (json_node_get_object (node));
}

static gboolean
import_devices (CwRemotePlugin *self, JsonObject *obj, GError **error)
{
  JsonNode *node = json_object_get_member (obj, "devices");
  JsonArray *arr;

  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    return TRUE;
  arr = json_node_get_array (node);
  for (guint i = 0; i < json_array_get_length (arr); i++)
    {
      JsonNode *el = json_array_get_element (arr, i);
      JsonObject *o;
      CwRemoteDevice d = { 0 };
      const gchar *hash;

      if (!JSON_NODE_HOLDS_OBJECT (el))
        continue;
      o = json_node_get_object (el);
      hash = get_str (o, "tokenHash");
      if (get_str (o, "id") == NULL || hash == NULL || strlen (hash) != 64)
        continue;
      d.id = (gchar *) get_str (o, "id");
      d.name = (gchar *) (get_str (o, "name") != NULL ? get_str (o, "name") : "Mobile device");
      d.platform = (gchar *) (get_str (o, "platform") != NULL ? get_str (o, "platform") : "mobile");
      d.token_hash = (gchar *) hash;
      d.created_at = get_int (o, "createdAt", 0);
      d.last_used_at = get_int (o, "lastUsedAt", d.created_at);
      d.expires_at = get_int (o, "expiresAt", d.created_at + CW_REMOTE_TOKEN_TTL_MS);
      d.revoked_at = get_int (o, "revokedAt", 0);
      if (!cw_remote_store_save_device (self, &d, error))
        return FALSE;
    }
  return TRUE;
}

gboolean
cw_remote_import_original (CwRemotePlugin *self, GError **error)
{
  CwConfig *cfg = cw_context_get_config (cw_plugin_get_context (CW_PLUGIN (self)));
  const gchar *data_dir = cw_config_get_app_data_dir (cfg);
  g_autofree gchar *path = g_build_filename (data_dir, "remote-access", "config.json", NULL);
  g_autofree gchar *bak = g_strconcat (path, ".bak", NULL);
  g_autofree gchar *why = NULL, *why_bak = NULL;
  g_autoptr (JsonObject) obj = NULL;
  CwRemoteConfig config = { 0 };
  gint64 now = cw_remote_plugin_now (self);
  gboolean ok;

  if (!g_file_test (path, G_FILE_TEST_EXISTS) && !g_file_test (bak, G_FILE_TEST_EXISTS))
    return TRUE;
  obj = read_json_file (path, &why);
  if (obj != NULL && !config_from_json (&config, obj, now, &why))
    g_clear_pointer (&obj, json_object_unref);
  if (obj == NULL)
    {
      obj = read_json_file (bak, &why_bak);
      if (obj != NULL && !config_from_json (&config, obj, now, &why_bak))
        g_clear_pointer (&obj, json_object_unref);
      g_free (self->config_health_reason);
      self->config_health_reason
          = g_strdup_printf (obj != NULL ? "config.json was invalid (%s); its backup was imported"
                                         : "config.json was invalid (%s) and so was its backup; "
                                           "defaults are used",
                             why);
      if (obj == NULL)
        {
          g_warning ("remote access: %s", self->config_health_reason);
          return TRUE;
        }
    }
  /* Remote access is never on after a start, imported or not: enabling is explicit. */
  config.enabled = FALSE;
  cw_remote_config_clear (&self->config);
  self->config = config;
  ok = cw_remote_store_save_config (self, error) && import_devices (self, obj, error);
  g_message ("remote access: imported %s", path);
  return ok;
}
