/* cw-service-mode.c: switching between user and system mode never moves anything.
 *
 * The desktop app's set_mode only saved a word. Here a switch is planned first: which
 * service stops, and what stays where it is (data dir, credentials, the old unit). The
 * caller shows the plan and needs an explicit yes before cw_service_mode_apply runs.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-service-mode-private.h"
#include "cowork-host.h"
#include "cw-service-manager-private.h"

static gchar *
mode_file (const gchar *app_data_dir)
{
  return g_build_filename (app_data_dir, "service", "mode.json", NULL);
}

CwServiceScope
cw_service_mode_load (const gchar *app_data_dir)
{
  g_autofree gchar *path = mode_file (app_data_dir);
  g_autofree gchar *text = NULL;
  g_autoptr (JsonNode) node = NULL;
  CwServiceScope scope = CW_SERVICE_SCOPE_USER;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return CW_SERVICE_SCOPE_USER;
  node = cw_json_from_string (text, -1, NULL);
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node)
      || !cw_service_scope_parse (
          json_object_get_string_member_with_default (json_node_get_object (node), "mode", ""),
          &scope, NULL))
    return CW_SERVICE_SCOPE_USER;
  return scope;
}

gboolean
cw_service_mode_save (const gchar *app_data_dir, CwServiceScope scope, GError **error)
{
  g_autofree gchar *path = mode_file (app_data_dir);
  g_autofree gchar *dir = g_path_get_dirname (path);
  g_autoptr (JsonObject) obj = json_object_new ();
  g_autoptr (JsonNode) node = json_node_new (JSON_NODE_OBJECT);
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  g_autofree gchar *when = g_date_time_format_iso8601 (now);
  g_autofree gchar *text = NULL;

  json_object_set_string_member (obj, "mode", cw_service_scope_to_string (scope));
  json_object_set_string_member (obj, "updatedAt", when);
  json_node_set_object (node, obj);
  text = cw_json_to_string (node);
  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (errno), "failed to create %s: %s",
                   dir, g_strerror (errno));
      return FALSE;
    }
  return g_file_set_contents_full (path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600, error);
}

static void add_text (JsonArray *arr, const gchar *format, ...) G_GNUC_PRINTF (2, 3);

static void
add_text (JsonArray *arr, const gchar *format, ...)
{
  va_list args;
  g_autofree gchar *text = NULL;

  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  json_array_add_string_element (arr, text);
}

JsonObject *
cw_service_mode_plan (const CwPaths *paths, CwServiceScope to, GError **error)
{
  CwServiceScope from = cw_service_mode_load (paths->app_data_dir);
  g_autoptr (JsonObject) plan = json_object_new ();
  g_autoptr (CwServiceManager) old = NULL;
  g_autoptr (CwPaths) old_paths = NULL;
  JsonArray *left = json_array_new ();
  const gchar *from_s = cw_service_scope_to_string (from);
  gboolean installed;

  json_object_set_string_member (plan, "from", from_s);
  json_object_set_string_member (plan, "to", cw_service_scope_to_string (to));
  json_object_set_boolean_member (plan, "changed", from != to);
  json_object_set_array_member (plan, "leftBehind", left);
  if (from == to)
    {
      json_object_set_boolean_member (plan, "stopsService", FALSE);
      return g_steal_pointer (&plan);
    }
  old = cw_service_manager_new (from, paths, NULL, error);
  if (old == NULL)
    return NULL;
  old_paths = cw_service_paths_for_scope (from, paths, error);
  if (old_paths == NULL)
    return NULL;
  installed = g_file_test (cw_service_manager_get_unit_path (old), G_FILE_TEST_EXISTS);
  json_object_set_boolean_member (plan, "stopsService", installed);
  json_object_set_string_member (plan, "serviceUnit", cw_service_manager_get_unit_path (old));
  add_text (left, "the %s-mode data in %s (sessions, history, settings) is not moved", from_s,
            old_paths->app_data_dir);
  if (from == CW_SERVICE_SCOPE_USER)
    add_text (left, "credentials in your Secret Service keyring stay there; copy one with "
                    "'coworkctl credentials promote KIND/NAME --to system'");
  else
    add_text (left,
              "credentials in the system store %s/secrets stay there; system credentials "
              "are never copied into a user keyring",
              old_paths->app_data_dir);
  if (installed)
    add_text (left,
              "the %s unit %s stays installed but is stopped; remove it with "
              "'coworkctl service uninstall --%s'",
              from_s, cw_service_manager_get_unit_path (old), from_s);
  return g_steal_pointer (&plan);
}

JsonObject *
cw_service_mode_apply (const CwPaths *paths, JsonObject *plan, CwStore *store, const gchar *actor,
                       GError **error)
{
  g_autoptr (JsonObject) result = json_object_new ();
  g_autoptr (JsonObject) details = json_object_new ();
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  g_autofree gchar *when = g_date_time_format_iso8601 (now);
  const gchar *from_s = json_object_get_string_member (plan, "from");
  const gchar *to_s = json_object_get_string_member (plan, "to");
  gboolean stop = json_object_get_boolean_member (plan, "stopsService");
  CwServiceScope from, to;

  if (!cw_service_scope_parse (from_s, &from, error) || !cw_service_scope_parse (to_s, &to, error))
    return NULL;
  json_object_set_string_member (result, "mode", to_s);
  json_object_set_string_member (result, "updatedAt", when);
  json_object_set_string_member (result, "previousMode", from_s);
  json_object_set_boolean_member (result, "changed", from != to);
  json_object_set_boolean_member (result, "stopped", FALSE);
  json_object_set_array_member (result, "leftBehind",
                                json_array_ref (json_object_get_array_member (plan, "leftBehind")));
  if (from == to)
    return g_steal_pointer (&result);
  if (stop)
    {
      g_autoptr (CwServiceManager) old = cw_service_manager_new (from, paths, NULL, error);
      if (old == NULL || !cw_service_manager_stop (old, error))
        {
          g_prefix_error (error, "mode not switched: cannot stop the %s service: ", from_s);
          return NULL;
        }
      json_object_set_boolean_member (result, "stopped", TRUE);
    }
  if (!cw_service_mode_save (paths->app_data_dir, to, error))
    return NULL;
  json_object_set_string_member (details, "from", from_s);
  json_object_set_string_member (details, "to", to_s);
  json_object_set_boolean_member (details, "stoppedService", stop);
  if (store != NULL && !cw_audit_record (store, "service_mode_switch", actor, details, error))
    return NULL;
  return g_steal_pointer (&result);
}
