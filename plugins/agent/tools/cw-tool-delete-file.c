/* cw-tool-delete-file.c: delete_file {path}: a file or an empty directory, never a tree.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-tool.h"
#include "cw-tool-fs.h"

static gchar *
delete_file_run (const CwToolEnv *env, JsonObject *args, GCancellable *cancellable,
                 CwToolOutcome *outcome, GError **error)
{
  const gchar *path = cw_tool_arg_string (args, "path", TRUE, error);
  g_autofree gchar *abs = NULL;

  if (path == NULL)
    return NULL;
  abs = cw_tool_resolve_path (env, path);
  if (!cw_tool_fs_delete (env->root, abs, error))
    return NULL;
  outcome->artifact_type = "deleted";
  outcome->artifact_path = g_strdup (abs);
  return g_strdup_printf ("Deleted %s", path);
}

const CwToolInfo cw_tool_delete_file = {
  .name = "delete_file",
  .description = "Delete a file (or an empty directory).",
  .parameters = "{\"type\":\"object\",\"properties\":{\"path\":{\"type\":\"string\"}},"
                "\"required\":[\"path\"]}",
  .permission_type = "file_delete",
  .resource_arg = "path",
  .resource_is_path = TRUE,
  .run_sync = delete_file_run,
};
