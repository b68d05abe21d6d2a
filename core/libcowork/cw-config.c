/* cw-config.c: the daemon's settings, a key file (coworkd.conf) read once at start.
 * Missing file or key: the documented default.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cowork-host.h"

struct _CwConfig
{
  GObject parent_instance;
  GKeyFile *keyfile;
  gchar *path;
  gchar *app_data_dir;
  gboolean system_mode;
};

G_DEFINE_FINAL_TYPE (CwConfig, cw_config, G_TYPE_OBJECT)

static void
cw_config_finalize (GObject *object)
{
  CwConfig *self = CW_CONFIG (object);

  g_key_file_unref (self->keyfile);
  g_free (self->path);
  g_free (self->app_data_dir);
  G_OBJECT_CLASS (cw_config_parent_class)->finalize (object);
}

static void
cw_config_class_init (CwConfigClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = cw_config_finalize;
}

static void
cw_config_init (CwConfig *self)
{
  self->keyfile = g_key_file_new ();
}

CwConfig *
cw_config_new (const gchar *app_data_dir, gboolean system_mode, const gchar *path, GError **error)
{
  g_autoptr (CwConfig) self = g_object_new (CW_TYPE_CONFIG, NULL);
  g_autoptr (GError) local_error = NULL;

  self->app_data_dir = g_strdup (app_data_dir);
  self->system_mode = system_mode;
  self->path = g_strdup (path);
  if (path != NULL
      && !g_key_file_load_from_file (self->keyfile, path, G_KEY_FILE_NONE, &local_error))
    {
      if (!g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        {
          g_propagate_prefixed_error (error, g_steal_pointer (&local_error),
                                      "failed to read %s: ", path);
          return NULL;
        }
    }
  return g_steal_pointer (&self);
}

const gchar *
cw_config_get_path (CwConfig *self)
{
  return self->path;
}

gchar *
cw_config_get_string (CwConfig *self, const gchar *group, const gchar *key,
                      const gchar *default_value)
{
  gchar *value;

  g_return_val_if_fail (CW_IS_CONFIG (self), NULL);
  value = g_key_file_get_string (self->keyfile, group, key, NULL);
  return value != NULL ? value : g_strdup (default_value);
}

gint64
cw_config_get_int (CwConfig *self, const gchar *group, const gchar *key, gint64 default_value)
{
  g_autoptr (GError) error = NULL;
  gint64 value;

  g_return_val_if_fail (CW_IS_CONFIG (self), default_value);
  if (!g_key_file_has_key (self->keyfile, group, key, NULL))
    return default_value;
  value = g_key_file_get_int64 (self->keyfile, group, key, &error);
  if (error != NULL)
    {
      g_warning ("config [%s] %s: %s; using %" G_GINT64_FORMAT, group, key, error->message,
                 default_value);
      return default_value;
    }
  return value;
}

gboolean
cw_config_get_boolean (CwConfig *self, const gchar *group, const gchar *key, gboolean default_value)
{
  g_autoptr (GError) error = NULL;
  gboolean value;

  g_return_val_if_fail (CW_IS_CONFIG (self), default_value);
  if (!g_key_file_has_key (self->keyfile, group, key, NULL))
    return default_value;
  value = g_key_file_get_boolean (self->keyfile, group, key, &error);
  if (error != NULL)
    {
      g_warning ("config [%s] %s: %s", group, key, error->message);
      return default_value;
    }
  return value;
}

const gchar *
cw_config_get_app_data_dir (CwConfig *self)
{
  g_return_val_if_fail (CW_IS_CONFIG (self), NULL);
  return self->app_data_dir;
}

gboolean
cw_config_is_system_mode (CwConfig *self)
{
  g_return_val_if_fail (CW_IS_CONFIG (self), FALSE);
  return self->system_mode;
}
