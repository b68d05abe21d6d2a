/* cw-tool-walk.h: a bounded recursive walk over the regular files below a directory, confined
 * to a root (cw-tool-fs.h).
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct
{
  const gchar *rel;  /* relative to the directory walked */
  int dirfd;         /* the directory holding it */
  const gchar *name; /* its name there */
  const gchar *real; /* a symlink: the real path of its target (within the root); else NULL */
} CwToolWalkEntry;

/* Returns FALSE to stop. */
typedef gboolean (*CwToolWalkFunc) (const CwToolWalkEntry *entry, gpointer user_data);

/* Walks directory @abs, which must lie within @root. Subdirectories are entered by name
 * without following symlinks; a symlinked file is reported only if its target is a regular
 * file within @root. Returns the number of symlinks left out because they lead outside
 * @root, or -1 with @error if @abs cannot be opened. */
gint cw_tool_walk (const gchar *root, const gchar *abs, CwToolWalkFunc func, gpointer user_data,
                   GCancellable *cancellable, GError **error);
/* Appends to @out how many symlinks the walk left out, if any. */
void cw_tool_walk_note_outside (GString *out, gint outside, const gchar *root);
/* Opens an entry for reading (never following a symlink swapped in meanwhile). */
int cw_tool_walk_entry_open (const CwToolWalkEntry *entry, GError **error);

G_END_DECLS
