/* cw-tool-read-file.c: read_file {path, offset?, limit?} -> numbered lines.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-tool.h"
#include "cw-tool-fs.h"

#define DEFAULT_LIMIT 2000
#define MAX_FILE_SIZE (64 * 1024 * 1024)

static gchar *
read_file_run (const CwToolEnv *env, JsonObject *args, GCancellable *cancellable,
               CwToolOutcome *outcome, GError **error)
{
  const gchar *path = cw_tool_arg_string (args, "path", TRUE, error);
  g_autofree gchar *abs = NULL;
  g_autofree gchar *contents = NULL;
  g_auto (GStrv) lines = NULL;
  gint64 offset = json_object_get_int_member_with_default (args, "offset", 0);
  gint64 limit = json_object_get_int_member_with_default (args, "limit", DEFAULT_LIMIT);
  GString *out;
  guint n;

  if (path == NULL)
    return NULL;
  abs = cw_tool_resolve_path (env, path);
  contents = cw_tool_fs_read (env->root, abs, MAX_FILE_SIZE, NULL, error);
  if (contents == NULL)
    return NULL;
  if (!g_utf8_validate (contents, -1, NULL))
    {
      g_set_error (error, CW_ERROR, CW_ERROR_NOT_SUPPORTED, "%s is not a text file", path);
      return NULL;
    }
  lines = g_strsplit (contents, "\n", -1);
  n = g_strv_length (lines);
  if (n > 0 && *lines[n - 1] == '\0')
    n--;
  out = g_string_new (NULL);
  offset = MAX (offset, 0);
  limit = limit > 0 ? limit : DEFAULT_LIMIT;
  for (gint64 i = offset; i < (gint64) n && i < offset + limit; i++)
    g_string_append_printf (out, "%6" G_GINT64_FORMAT "\t%s\n", i + 1, lines[i]);
  if (n == 0)
    g_string_append (out, "(empty file)");
  return g_string_free (out, FALSE);
}

const CwToolInfo cw_tool_read_file = {
  .name = "read_file",
  .description = "Read a text file. Paths are relative to the working directory. Returns "
                 "numbered lines; use offset and limit (in lines) for big files.",
  .parameters = "{\"type\":\"object\",\"properties\":{"
                "\"path\":{\"type\":\"string\",\"description\":\"file to read\"},"
                "\"offset\":{\"type\":\"integer\",\"description\":\"first line (0-based)\"},"
                "\"limit\":{\"type\":\"integer\",\"description\":\"number of lines\"}},"
                "\"required\":[\"path\"]}",
  .permission_type = "file_read",
  .resource_arg = "path",
  .resource_is_path = TRUE,
  .read_only = TRUE,
  .run_sync = read_file_run,
};
