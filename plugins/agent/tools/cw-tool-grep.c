/* cw-tool-grep.c: grep {pattern, path?, glob?}: lines matching a regular expression, as
 * "file:line: text".
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-tool.h"
#include "cw-tool-fs.h"
#include "cw-tool-walk.h"

#include <unistd.h>

#define MAX_MATCHES   500
#define MAX_FILE_SIZE (4 * 1024 * 1024)

typedef struct
{
  GRegex *regex;
  GPatternSpec *glob;
  GString *out;
  guint matches;
} GrepData;

/* Takes @contents. */
static gboolean
grep_text (GrepData *d, const gchar *rel, gchar *contents, gsize len)
{
  g_autofree gchar *owned = contents;
  g_auto (GStrv) lines = NULL;

  if (contents == NULL || memchr (contents, '\0', len) != NULL
      || !g_utf8_validate (contents, len, NULL))
    return TRUE;
  lines = g_strsplit (contents, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      if (!g_regex_match (d->regex, lines[i], 0, NULL))
        continue;
      g_string_append_printf (d->out, "%s:%u: %s\n", rel, i + 1, lines[i]);
      if (++d->matches >= MAX_MATCHES)
        {
          g_string_append (d->out, "[more matches left out]\n");
          return FALSE;
        }
    }
  return TRUE;
}

static gboolean
on_file (const CwToolWalkEntry *entry, gpointer user_data)
{
  GrepData *d = user_data;
  gchar *contents;
  gsize len = 0;
  int fd;

  if (d->glob != NULL && !g_pattern_spec_match_string (d->glob, entry->name)
      && !g_pattern_spec_match_string (d->glob, entry->rel))
    return TRUE;
  fd = cw_tool_walk_entry_open (entry, NULL);
  if (fd < 0)
    return TRUE;
  contents = cw_tool_fs_read_fd (fd, MAX_FILE_SIZE, &len, entry->rel, NULL);
  close (fd);
  return grep_text (d, entry->rel, contents, len);
}

static gchar *
grep_run (const CwToolEnv *env, JsonObject *args, GCancellable *cancellable, CwToolOutcome *outcome,
          GError **error)
{
  const gchar *pattern = cw_tool_arg_string (args, "pattern", TRUE, error);
  const gchar *path = pattern != NULL ? cw_tool_arg_string (args, "path", FALSE, error) : NULL;
  const gchar *glob
      = path != NULL || pattern != NULL ? cw_tool_arg_string (args, "glob", FALSE, error) : NULL;
  g_autofree gchar *root = NULL;
  g_autofree gchar *real = NULL;
  GrepData d = { 0 };
  gint outside = 0;

  if (pattern == NULL || (error != NULL && *error != NULL))
    return NULL;
  d.regex = g_regex_new (pattern, G_REGEX_OPTIMIZE, 0, error);
  if (d.regex == NULL)
    return NULL;
  root = cw_tool_resolve_path (env, path);
  real = cw_tool_fs_real_path (root);
  d.glob = glob != NULL ? g_pattern_spec_new (glob) : NULL;
  d.out = g_string_new (NULL);
  if (g_file_test (real, G_FILE_TEST_IS_DIR))
    outside = cw_tool_walk (env->root, root, on_file, &d, cancellable, error);
  else
    {
      gsize len = 0;
      gchar *contents = cw_tool_fs_read (env->root, root, MAX_FILE_SIZE, &len, error);
      outside = contents != NULL ? 0 : -1;
      grep_text (&d, path, contents, len);
    }
  g_regex_unref (d.regex);
  g_clear_pointer (&d.glob, g_pattern_spec_free);
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

const CwToolInfo cw_tool_grep = {
  .name = "grep",
  .description = "Search file contents with a regular expression (PCRE). Optional path "
                 "(file or directory) and glob filter on file names.",
  .parameters = "{\"type\":\"object\",\"properties\":{"
                "\"pattern\":{\"type\":\"string\"},\"path\":{\"type\":\"string\"},"
                "\"glob\":{\"type\":\"string\"}},\"required\":[\"pattern\"]}",
  .permission_type = "file_read",
  .resource_arg = "path",
  .resource_is_path = TRUE,
  .read_only = TRUE,
  .run_sync = grep_run,
};
