/* cw-tool-write-file.c: write_file {path, content}, creating parent directories; the
 * write is atomic (temp file + rename) so a crash never leaves half a file, and confined
 * (cw-tool-fs.h) so a symlink never carries it elsewhere.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-tool.h"
#include "cw-tool-fs.h"

static gchar *
write_file_run (const CwToolEnv *env, JsonObject *args, GCancellable *cancellable,
                CwToolOutcome *outcome, GError **error)
{
  const gchar *path = cw_tool_arg_string (args, "path", TRUE, error);
  const gchar *content = path != NULL ? cw_tool_arg_string (args, "content", TRUE, error) : NULL;
  g_autofree gchar *abs = NULL;
  gboolean existed = FALSE;

  if (content == NULL)
    return NULL;
  abs = cw_tool_resolve_path (env, path);
  if (!cw_tool_fs_write (env->root, abs, content, strlen (content), &existed, error))
    return NULL;
  outcome->artifact_type = existed ? "modified" : "created";
  outcome->artifact_path = g_strdup (abs);
  return g_strdup_printf ("Wrote %" G_GSIZE_FORMAT " bytes to %s", strlen (content), path);
}

const CwToolInfo cw_tool_write_file = {
  .name = "write_file",
  .description = "Create or overwrite a text file with the given content.",
  .parameters = "{\"type\":\"object\",\"properties\":{"
                "\"path\":{\"type\":\"string\"},\"content\":{\"type\":\"string\"}},"
                "\"required\":[\"path\",\"content\"]}",
  .permission_type = "file_write",
  .resource_arg = "path",
  .resource_is_path = TRUE,
  .run_sync = write_file_run,
};
