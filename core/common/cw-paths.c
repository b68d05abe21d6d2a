/* cw-paths.c: the file layout of DESIGN.md "Modes and paths".
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "cw-paths-private.h"

#include <glib/gi18n-lib.h>

static const gchar *
pick (const gchar *flag, const gchar *env_name)
{
  const gchar *env;

  if (flag != NULL && *flag != '\0')
    return flag;
  env = g_getenv (env_name);
  return env != NULL && *env != '\0' ? env : NULL;
}

static gchar *
absolute (const gchar *path)
{
  return g_canonicalize_filename (path, NULL);
}

CwPaths *
cw_paths_resolve (const gchar *mode, const gchar *app_data_dir, const gchar *endpoint,
                  const gchar *token_file, const gchar *lock_file, GError **error)
{
  g_autoptr (CwPaths) paths = g_new0 (CwPaths, 1);
  const gchar *value;
  g_autofree gchar *daemon_dir = NULL;

  mode = pick (mode, "COWORK_MODE");
  if (mode != NULL && g_strcmp0 (mode, "user") != 0 && g_strcmp0 (mode, "system") != 0)
    {
      g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS,
                   _ ("unknown mode '%s' (expected user or system)"), mode);
      return NULL;
    }
  paths->system_mode = g_strcmp0 (mode, "system") == 0;

  value = pick (app_data_dir, "COWORK_APP_DATA_DIR");
  if (value == NULL && paths->system_mode)
    value = pick (NULL, "STATE_DIRECTORY");
  if (value != NULL)
    paths->app_data_dir = absolute (value);
  else if (paths->system_mode)
    paths->app_data_dir = g_strdup ("/var/lib/cowork");
  else
    paths->app_data_dir = g_build_filename (g_get_home_dir (), ".cowork", NULL);
  daemon_dir = g_build_filename (paths->app_data_dir, "daemon", NULL);

  value = pick (endpoint, "COWORK_DAEMON_ENDPOINT");
  if (value != NULL)
    paths->endpoint = g_str_has_prefix (value, "tcp://") ? g_strdup (value) : absolute (value);
  else if (paths->system_mode)
    {
      const gchar *runtime = pick (NULL, "RUNTIME_DIRECTORY");
      paths->endpoint
          = g_build_filename (runtime != NULL ? runtime : "/run/cowork", "agentd.sock", NULL);
    }
  else
    paths->endpoint = g_build_filename (daemon_dir, "agentd.sock", NULL);

  value = pick (token_file, "COWORK_DAEMON_TOKEN_FILE");
  paths->token_file
      = value != NULL ? absolute (value) : g_build_filename (daemon_dir, "auth.token", NULL);
  value = pick (lock_file, "COWORK_DAEMON_LOCK_FILE");
  paths->lock_file
      = value != NULL ? absolute (value) : g_build_filename (daemon_dir, "agentd.lock", NULL);
  paths->db_file = g_build_filename (daemon_dir, "coworkd.db", NULL);
  value = pick (NULL, "COWORK_CONFIG_FILE");
  if (value != NULL)
    paths->config_file = absolute (value);
  else if (paths->system_mode)
    paths->config_file = g_strdup (CW_SYSTEM_CONFIG_FILE);
  else
    paths->config_file = g_build_filename (paths->app_data_dir, "coworkd.conf", NULL);
  return g_steal_pointer (&paths);
}

void
cw_paths_free (CwPaths *paths)
{
  if (paths == NULL)
    return;
  g_free (paths->app_data_dir);
  g_free (paths->endpoint);
  g_free (paths->token_file);
  g_free (paths->lock_file);
  g_free (paths->db_file);
  g_free (paths->config_file);
  g_free (paths);
}

gboolean
cw_endpoint_parse_tcp (const gchar *endpoint, gchar **host, guint16 *port)
{
  const gchar *rest, *colon;
  gchar *end = NULL;
  guint64 p;

  if (!g_str_has_prefix (endpoint, "tcp://"))
    return FALSE;
  rest = endpoint + strlen ("tcp://");
  colon = strrchr (rest, ':');
  if (colon == NULL || colon == rest)
    return FALSE;
  p = g_ascii_strtoull (colon + 1, &end, 10);
  if (end == colon + 1 || *end != '\0' || p == 0 || p > 65535)
    return FALSE;
  *host = g_strndup (rest, colon - rest);
  *port = (guint16) p;
  return TRUE;
}

CwSecrets *
cw_paths_open_secrets (const CwPaths *paths)
{
  g_autofree gchar *dir = g_build_filename (paths->app_data_dir, "secrets", NULL);

  /* User mode: the Secret Service, with the same kind of encrypted store while there is
   * none. */
  if (!paths->system_mode)
    return cw_secrets_new_user_with_fallback (dir);
  return cw_secrets_new_system (dir);
}
