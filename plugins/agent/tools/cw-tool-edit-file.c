/* cw-tool-edit-file.c: edit_file {path, old_string, new_string, replace_all?}: replaces
 * one exact, unique occurrence (or all of them), so the model cannot edit the wrong place.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-tool.h"
#include "cw-tool-fs.h"

#define MAX_FILE_SIZE (64 * 1024 * 1024)

static guint
count_occurrences (const gchar *haystack, const gchar *needle)
{
  guint n = 0;
  gsize len = strlen (needle);

  for (const gchar *p = strstr (haystack, needle); p != NULL; p = strstr (p + len, needle))
    n++;
  return n;
}

static gchar *
edit_file_run (const CwToolEnv *env, JsonObject *args, GCancellable *cancellable,
               CwToolOutcome *outcome, GError **error)
{
  const gchar *path = cw_tool_arg_string (args, "path", TRUE, error);
  const gchar *old_s = path != NULL ? cw_tool_arg_string (args, "old_string", TRUE, error) : NULL;
  const gchar *new_s = old_s != NULL ? cw_tool_arg_string (args, "new_string", FALSE, error) : NULL;
  gboolean all = json_object_get_boolean_member_with_default (args, "replace_all", FALSE);
  g_autofree gchar *abs = NULL;
  g_autofree gchar *contents = NULL;
  g_auto (GStrv) parts = NULL;
  g_autofree gchar *result = NULL;
  guint n;

  if (old_s == NULL || (error != NULL && *error != NULL))
    return NULL;
  abs = cw_tool_resolve_path (env, path);
  contents = cw_tool_fs_read (env->root, abs, MAX_FILE_SIZE, NULL, error);
  if (contents == NULL)
    return NULL;
  n = count_occurrences (contents, old_s);
  if (n == 0)
    {
      g_set_error (error, CW_ERROR, CW_ERROR_NOT_FOUND, "old_string not found in %s", path);
      return NULL;
    }
  if (n > 1 && !all)
    {
      g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS,
                   "old_string occurs %u times in %s; give more context or set replace_all", n,
                   path);
      return NULL;
    }
  parts = g_strsplit (contents, old_s, -1);
  result = g_strjoinv (new_s != NULL ? new_s : "", parts);
  if (!cw_tool_fs_write (env->root, abs, result, strlen (result), NULL, error))
    return NULL;
  outcome->artifact_type = "modified";
  outcome->artifact_path = g_strdup (abs);
  return g_strdup_printf ("Replaced %u occurrence%s in %s", n, n == 1 ? "" : "s", path);
}

const CwToolInfo cw_tool_edit_file = {
  .name = "edit_file",
  .description = "Replace an exact string in a file. old_string must occur exactly once "
                 "unless replace_all is true.",
  .parameters = "{\"type\":\"object\",\"properties\":{"
                "\"path\":{\"type\":\"string\"},\"old_string\":{\"type\":\"string\"},"
                "\"new_string\":{\"type\":\"string\"},\"replace_all\":{\"type\":\"boolean\"}},"
                "\"required\":[\"path\",\"old_string\",\"new_string\"]}",
  .permission_type = "file_write",
  .resource_arg = "path",
  .resource_is_path = TRUE,
  .run_sync = edit_file_run,
};
