/* cw-store-checkpointer-private.h: WAL checkpoints on a worker thread.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <sqlite3.h>

G_BEGIN_DECLS

typedef struct _CwStoreCheckpointer CwStoreCheckpointer;

/* Takes over checkpointing of @db (the main connection to @path): its commits no longer
 * checkpoint (and fsync) on the main loop; a thread with its own connection, started the first
 * time the WAL passes @pages pages, does it then (and every few seconds after). */
CwStoreCheckpointer *cw_store_checkpointer_start (sqlite3 *db, const gchar *path, gint pages);
/* Stops and joins the thread. */
void cw_store_checkpointer_stop (CwStoreCheckpointer *self);

G_END_DECLS
