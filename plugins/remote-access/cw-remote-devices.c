/* cw-remote-devices.c: pairing codes and device tokens.
 *
 * A pairing code is 24 random bytes (base64url), single use, valid for 2 minutes on the
 * scheduler's clock, stored only as its SHA-256. A device token is "cwk_" + base64url of 32
 * random bytes, valid for 90 days, stored only as its SHA-256 hex; a presented token is
 * hashed and compared with every device's hash in constant time. Revoked and expired devices
 * stay listed for 30 days, then they are forgotten.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-remote-plugin.h"

#include <string.h>

gchar *
cw_remote_hash_token (const gchar *token)
{
  return g_compute_checksum_for_string (G_CHECKSUM_SHA256, token, -1);
}

static gchar *
base64url (const guint8 *data, gsize len)
{
  gchar *text = g_base64_encode (data, len);
  gsize n = strlen (text);

  for (gchar *p = text; *p != '\0'; p++)
    if (*p == '+')
      *p = '-';
    else if (*p == '/')
      *p = '_';
  while (n > 0 && text[n - 1] == '=')
    text[--n] = '\0';
  return text;
}

static gchar *
random_base64url (gsize n_bytes)
{
  g_autofree guint8 *buf = g_malloc (n_bytes);
  gchar *text;

  cw_random_bytes (buf, n_bytes);
  text = base64url (buf, n_bytes);
  memset (buf, 0, n_bytes);
  return text;
}

/* Equal strings of the same length, in time that depends only on the length. */
static gboolean
equal_constant_time (const gchar *a, const gchar *b, gsize len)
{
  guint8 diff = 0;

  for (gsize i = 0; i < len; i++)
    diff |= (guint8) a[i] ^ (guint8) b[i];
  return diff == 0;
}

gboolean
cw_remote_device_is_live (CwRemotePlugin *self, CwRemoteDevice *device)
{
  return device->revoked_at == 0 && device->expires_at > cw_remote_plugin_now (self);
}

CwRemoteDevice *
cw_remote_devices_authenticate (CwRemotePlugin *self, const gchar *token)
{
  g_autofree gchar *hash = NULL;
  CwRemoteDevice *found = NULL;

  if (token == NULL || !g_str_has_prefix (token, "cwk_") || strlen (token) > 128)
    return NULL;
  hash = cw_remote_hash_token (token);
  /* Every device is compared, so the time says nothing about which hash was close. */
  for (guint i = 0; i < self->devices->len; i++)
    {
      CwRemoteDevice *d = g_ptr_array_index (self->devices, i);
      if (strlen (d->token_hash) == 64 && equal_constant_time (hash, d->token_hash, 64))
        found = d;
    }
  if (found == NULL || !cw_remote_device_is_live (self, found))
    return NULL;
  return found;
}

CwRemoteDevice *
cw_remote_devices_lookup (CwRemotePlugin *self, const gchar *id)
{
  for (guint i = 0; id != NULL && i < self->devices->len; i++)
    {
      CwRemoteDevice *d = g_ptr_array_index (self->devices, i);
      if (g_strcmp0 (d->id, id) == 0)
        return d;
    }
  return NULL;
}

guint
cw_remote_devices_count_live (CwRemotePlugin *self)
{
  guint n = 0;

  for (guint i = 0; i < self->devices->len; i++)
    if (cw_remote_device_is_live (self, g_ptr_array_index (self->devices, i)))
      n++;
  return n;
}

gchar *
cw_remote_devices_new_code (CwRemotePlugin *self, gint64 *issued_at, gint64 *expires_at,
                            GError **error)
{
  g_autofree gchar *code = random_base64url (24);
  g_autofree gchar *hash = cw_remote_hash_token (code);

  *issued_at = cw_remote_plugin_now (self);
  *expires_at = *issued_at + CW_REMOTE_PAIRING_TTL_MS;
  if (!cw_remote_store_add_code (self, hash, *issued_at, *expires_at, error))
    return NULL;
  return g_steal_pointer (&code);
}

static gchar *
clean_label (const gchar *text, const gchar *fallback, gsize max)
{
  g_autofree gchar *copy = NULL;

  if (text == NULL || !g_utf8_validate (text, -1, NULL))
    return g_strdup (fallback);
  copy = g_strstrip (g_strdup (text));
  for (gchar *p = copy; *p != '\0'; p++)
    if ((guchar) *p < 0x20)
      *p = ' ';
  if (*copy == '\0')
    return g_strdup (fallback);
  if (g_utf8_strlen (copy, -1) > (glong) max)
    return g_utf8_substring (copy, 0, max);
  return g_steal_pointer (&copy);
}

CwRemoteDevice *
cw_remote_devices_pair (CwRemotePlugin *self, const gchar *code, const gchar *name,
                        const gchar *platform, gchar **token, GError **error)
{
  g_autofree gchar *code_hash = NULL;
  g_autofree gchar *new_token = NULL;
  g_autofree gchar *hex = NULL, *secret = NULL;
  CwRemoteDevice *d;
  gint64 now = cw_remote_plugin_now (self);

  if (code == NULL || *code == '\0')
    {
      g_set_error_literal (error, CW_ERROR, CW_ERROR_INVALID_PARAMS, "pairingCode is required");
      return NULL;
    }
  code_hash = cw_remote_hash_token (code);
  if (!cw_remote_store_consume_code (self, code_hash, now, error))
    return NULL;
  secret = random_base64url (32);
  new_token = g_strconcat ("cwk_", secret, NULL);
  memset (secret, 0, strlen (secret));
  hex = cw_random_hex (8);
  d = g_new0 (CwRemoteDevice, 1);
  d->id = g_strconcat ("device_", hex, NULL);
  d->name = clean_label (name, "Mobile device", 80);
  d->platform = clean_label (platform, "mobile", 16);
  d->token_hash = cw_remote_hash_token (new_token);
  d->created_at = now;
  d->last_used_at = now;
  d->expires_at = now + CW_REMOTE_TOKEN_TTL_MS;
  if (!cw_remote_store_save_device (self, d, error))
    {
      cw_remote_device_free (d);
      return NULL;
    }
  g_ptr_array_insert (self->devices, 0, d);
  *token = g_steal_pointer (&new_token);
  return d;
}

gboolean
cw_remote_devices_revoke (CwRemotePlugin *self, const gchar *id, gboolean *revoked, GError **error)
{
  CwRemoteDevice *d = cw_remote_devices_lookup (self, id);

  *revoked = FALSE;
  if (d == NULL || d->revoked_at > 0)
    return TRUE;
  d->revoked_at = cw_remote_plugin_now (self);
  if (!cw_remote_store_save_device (self, d, error))
    {
      d->revoked_at = 0;
      return FALSE;
    }
  *revoked = TRUE;
  cw_remote_ws_close (self, d->id, 4001, "Device revoked");
  return TRUE;
}

static gboolean
save_last_used (gpointer user_data)
{
  CwRemotePlugin *self = user_data;

  self->last_used_save_id = 0;
  for (guint i = 0; i < self->devices->len; i++)
    {
      g_autoptr (GError) error = NULL;
      if (!cw_remote_store_save_device (self, g_ptr_array_index (self->devices, i), &error))
        g_warning ("remote access: %s", error->message);
    }
  return G_SOURCE_REMOVE;
}

void
cw_remote_devices_touch (CwRemotePlugin *self, CwRemoteDevice *device)
{
  device->last_used_at = cw_remote_plugin_now (self);
  if (self->last_used_save_id == 0)
    self->last_used_save_id = g_timeout_add (250, save_last_used, self);
}

JsonObject *
cw_remote_devices_generate_qr (CwRemotePlugin *self, GError **error)
{
  g_autofree gchar *endpoint = cw_remote_plugin_endpoint (self);
  g_autofree gchar *ws = NULL, *code = NULL, *payload_text = NULL, *d = NULL, *escaped = NULL;
  g_autofree gchar *uri = NULL, *qr = NULL;
  g_autoptr (JsonNode) payload = json_node_new (JSON_NODE_OBJECT);
  JsonObject *p = json_object_new ();
  JsonObject *result;
  gint64 issued_at, expires_at;

  json_node_take_object (payload, p);
  if (!self->config.enabled || !self->running || endpoint == NULL)
    {
      g_set_error_literal (error, CW_ERROR, CW_ERROR_NOT_SUPPORTED,
                           "Remote access is not running: enable it first");
      return NULL;
    }
  ws = cw_remote_ws_endpoint (endpoint);
  code = cw_remote_devices_new_code (self, &issued_at, &expires_at, error);
  if (code == NULL)
    return NULL;
  json_object_set_int_member (p, "version", 1);
  json_object_set_string_member (p, "endpoint", endpoint);
  json_object_set_string_member (p, "wsEndpoint", ws);
  json_object_set_string_member (p, "pairingCode", code);
  json_object_set_int_member (p, "issuedAt", issued_at);
  json_object_set_int_member (p, "expiresAt", expires_at);
  payload_text = cw_json_to_string (payload);
  d = base64url ((const guint8 *) payload_text, strlen (payload_text));
  escaped = g_uri_escape_string (d, NULL, FALSE);
  uri = g_strconcat ("cowork://pair?d=", escaped, NULL);
  qr = cw_remote_qr_png_data_url (uri, 280, error);
  if (qr == NULL)
    return NULL;
  result = json_object_new ();
  json_object_set_string_member (result, "qrDataUrl", qr);
  json_object_set_string_member (result, "pairingUri", uri);
  json_object_set_int_member (result, "expiresAt", expires_at);
  return result;
}
