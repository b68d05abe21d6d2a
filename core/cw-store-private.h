/* cw-store-private.h: opening and closing the daemon's database.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cowork.h"

G_BEGIN_DECLS

/* Opens (creating if needed) the SQLite file in WAL mode and applies the core schema. */
CwStore *cw_store_open (const gchar *path, GError **error);
const gchar *cw_store_get_path (CwStore *self);
/* Runs PRAGMA quick_check; FALSE with @error naming the first problem. */
gboolean cw_store_check (CwStore *self, GError **error);

G_END_DECLS
