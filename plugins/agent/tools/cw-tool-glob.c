/* cw-tool-glob.c: glob {pattern, path?}: files whose path (relative to the search root)
 * or name matches a shell pattern; "**" crosses directories like "*" does.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-tool.h"
#include "cw-tool-fs.h"
#include "cw-tool-walk.h"

#define MAX_MATCHES 1000

typedef struct
{
  GPatternSpec *spec;
  gboolean match_name; /* the pattern has no '/': match the file name too */
  GString *out;
  guint matches;
} GlobData;

static gboolean
on_file (const CwToolWalkEntry *entry, gpointer user_data)
{
  GlobData *d = user_data;

  if (g_pattern_spec_match_string (d->spec, entry->rel)
      || (d->match_name && g_pattern_spec_match_string (d->spec, entry->name)))
    {
      g_string_append_printf (d->out, "%s\n", entry->rel);
      if (++d->matches >= MAX_MATCHES)
        {
          g_string_append (d->out, "[more matches left out]\n");
          return FALSE;
        }
    }
  return TRUE;
}

static gchar *
glob_run (const CwToolEnv *env, JsonObject *args, GCancellable *cancellable, CwToolOutcome *outcome,
          GError **error)
{
  const gchar *pattern = cw_tool_arg_string (args, "pattern", TRUE, error);
  const gchar *path = pattern != NULL ? cw_tool_arg_string (args, "path", FALSE, error) : NULL;
  g_autofree gchar *root = NULL;
  g_autofree gchar *real = NULL;
  g_autoptr (GString) collapsed = NULL;
  GlobData d = { 0 };
  gint outside;

  if (pattern == NULL || (error != NULL && *error != NULL))
    return NULL;
  root = cw_tool_resolve_path (env, path);
  real = cw_tool_fs_real_path (root);
  if (!g_file_test (real, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, CW_ERROR, CW_ERROR_NOT_FOUND, "%s is not a directory",
                   path != NULL ? path : ".");
      return NULL;
    }
  /* GPatternSpec's '*' already matches '/', so "**" and "**\/" mean the same. */
  collapsed = g_string_new (pattern);
  g_string_replace (collapsed, "**/", "*", 0);
  g_string_replace (collapsed, "**", "*", 0);
  d.spec = g_pattern_spec_new (collapsed->str);
  d.match_name = strchr (pattern, '/') == NULL;
  d.out = g_string_new (NULL);
  outside = cw_tool_walk (env->root, root, on_file, &d, cancellable, error);
  g_pattern_spec_free (d.spec);
  if (outside < 0)
    {
      g_string_free (d.out, TRUE);
      return NULL;
    }
  if (d.matches == 0)
    g_string_append (d.out, "(no matches)");
  cw_tool_walk_note_outside (d.out, outside, env->root);
  return g_string_free (d.out, FALSE);
}

const CwToolInfo cw_tool_glob = {
  .name = "glob",
  .description = "Find files by name pattern, e.g. \"*.c\" or \"src/**/*.h\".",
  .parameters = "{\"type\":\"object\",\"properties\":{"
                "\"pattern\":{\"type\":\"string\"},"
                "\"path\":{\"type\":\"string\",\"description\":\"directory to search\"}},"
                "\"required\":[\"pattern\"]}",
  .permission_type = "file_read",
  .resource_arg = "path",
  .resource_is_path = TRUE,
  .read_only = TRUE,
  .run_sync = glob_run,
};
