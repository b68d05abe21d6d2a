/* cw-tool-fs.h: file access confined to a root. Every file a tool opens is resolved
 * (symlinks and all) and must lie at or below the root it was allowed (the working
 * directory, or the one outside path a person approved). The file is then opened by walking
 * that real path from "/" without following any symlink, so a link swapped in after the
 * check fails instead of leading elsewhere.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* @abs with every symlink resolved as far as the path exists (the rest appended). */
gchar *cw_tool_fs_real_path (const gchar *abs);
/* TRUE if @path is @root or below it. */
gboolean cw_tool_fs_within (const gchar *path, const gchar *root);

/* The real path of @abs if it lies within @root; else NULL and an error naming where it
 * leads. @follow_last: resolve a symlink in the last component too (FALSE for deletion,
 * which removes the link itself). */
gchar *cw_tool_fs_confine (const gchar *root, const gchar *abs, gboolean follow_last,
                           GError **error);

/* Opens the directory holding real path @real (O_PATH) by walking it from "/" without
 * following symlinks; @create makes missing directories. Returns -1 with @error. */
int cw_tool_fs_open_parent (const gchar *real, gboolean create, GError **error);

/* Opens @name in @dirfd for reading, refusing a symlink or anything but a regular file. */
int cw_tool_fs_open_regular_at (int dirfd, const gchar *name, const gchar *shown, GError **error);
/* Reads all of @fd (at most @max bytes, else an error) as a NUL-terminated string. */
gchar *cw_tool_fs_read_fd (int fd, gsize max, gsize *len, const gchar *shown, GError **error);

/* read_file, edit_file: the contents of the regular file @abs confined to @root. */
gchar *cw_tool_fs_read (const gchar *root, const gchar *abs, gsize max, gsize *len, GError **error);
/* write_file, edit_file: replaces (or creates, with parents) @abs confined to @root, atomically
 * (a temp file renamed over it). @existed (may be NULL) says whether it was there. */
gboolean cw_tool_fs_write (const gchar *root, const gchar *abs, const gchar *data, gsize len,
                           gboolean *existed, GError **error);
/* delete_file: removes the file or empty directory @abs (a symlink itself, not its target). */
gboolean cw_tool_fs_delete (const gchar *root, const gchar *abs, GError **error);
/* ls, glob, grep: opens directory @abs confined to @root for reading its entries. */
int cw_tool_fs_open_dir (const gchar *root, const gchar *abs, GError **error);

G_END_DECLS
