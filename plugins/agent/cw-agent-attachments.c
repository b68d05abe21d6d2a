/* cw-agent-attachments.c: see cw-agent-attachments.h. File names follow the desktop app:
 * <sha256 of the first KiB of base64, 12 hex>-<safe name, at most 50 chars>.<ext>, so the
 * same upload lands on the same file.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-agent-attachments.h"

#include <glib/gstdio.h>

static gchar *
safe_name (const gchar *name)
{
  g_autofree gchar *base = g_path_get_basename (name != NULL && *name != '\0' ? name : "file");
  GString *out = g_string_new (NULL);

  for (const gchar *p = base; *p != '\0' && out->len < 50; p++)
    g_string_append_c (out, g_ascii_isalnum (*p) || *p == '.' || *p == '-' || *p == '_' ? *p : '_');
  if (out->len == 0 || out->str[0] == '.')
    g_string_prepend_c (out, 'f');
  return g_string_free (out, FALSE);
}

static JsonObject *
store_one (const gchar *dir, JsonObject *att, GError **error)
{
  const gchar *type = json_object_get_string_member_with_default (att, "type", "file");
  const gchar *data = json_object_get_string_member_with_default (att, "data", NULL);
  const gchar *name = json_object_get_string_member_with_default (att, "name", "file");
  g_autofree gchar *hash = NULL;
  g_autofree gchar *safe = NULL;
  g_autofree gchar *file = NULL;
  g_autofree gchar *path = NULL;
  g_autofree guchar *bytes = NULL;
  gsize len = 0;
  JsonObject *out;

  if (g_strcmp0 (type, "other") == 0)
    return NULL;
  out = json_object_new ();
  json_object_set_string_member (out, "type", type);
  json_object_set_string_member (out, "name", name);
  if (json_object_has_member (att, "mimeType"))
    json_object_set_member (out, "mimeType",
                            json_node_copy (json_object_get_member (att, "mimeType")));
  if (g_strcmp0 (type, "text") == 0 || data == NULL)
    {
      if (data != NULL)
        json_object_set_string_member (out, "data", data);
      return out;
    }
  bytes = g_base64_decode (data, &len);
  hash = g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *) data,
                                      MIN (strlen (data), 1024));
  hash[12] = '\0';
  safe = safe_name (name);
  file = g_strdup_printf ("%s-%s", hash, safe);
  path = g_build_filename (dir, file, NULL);
  if (g_mkdir_with_parents (dir, 0700) != 0
      || !g_file_set_contents_full (path, (const gchar *) bytes, len,
                                    G_FILE_SET_CONTENTS_CONSISTENT, 0600, error))
    {
      if (error != NULL && *error == NULL)
        g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (errno), "cannot create %s: %s",
                     dir, g_strerror (errno));
      json_object_unref (out);
      return NULL;
    }
  json_object_set_string_member (out, "filePath", path);
  json_object_set_int_member (out, "size", len);
  return out;
}

JsonArray *
cw_agent_attachments_store (const gchar *app_data_dir, const gchar *session_id,
                            JsonArray *attachments, GError **error)
{
  g_autofree gchar *dir
      = g_build_filename (app_data_dir, "sessions", session_id, "attachments", NULL);
  g_autoptr (JsonArray) stored = json_array_new ();

  for (guint i = 0; i < json_array_get_length (attachments); i++)
    {
      JsonObject *att = json_array_get_object_element (attachments, i);
      JsonObject *out;

      if (att == NULL)
        continue;
      out = store_one (dir, att, error);
      if (out == NULL && error != NULL && *error != NULL)
        {
          g_prefix_error (error, "failed to keep attachment %u: ", i);
          return NULL;
        }
      if (out != NULL)
        json_array_add_object_element (stored, out);
    }
  return g_steal_pointer (&stored);
}
