/* cw-tool-walk.h: a bounded recursive walk over regular files.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <gio/gio.h>

G_BEGIN_DECLS

/* Returns FALSE to stop. @rel is relative to the root. */
typedef gboolean (*CwToolWalkFunc) (const gchar *rel, const gchar *abs, gpointer user_data);

void cw_tool_walk (const gchar *root, CwToolWalkFunc func, gpointer user_data,
                   GCancellable *cancellable);

G_END_DECLS
