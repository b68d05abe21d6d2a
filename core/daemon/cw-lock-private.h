/* cw-lock-private.h: one daemon per app data dir.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cowork-host.h"

G_BEGIN_DECLS

typedef struct _CwLock CwLock;

/* Takes the lock file with flock(); a lock left by a killed process is free again. When
 * another live daemon holds it, fails with CW_ERROR_BUSY and *other_pid set. */
CwLock *cw_lock_acquire (const gchar *path, gint *other_pid, GError **error);
/* Releases and removes the lock file. */
void cw_lock_release (CwLock *lock);

G_END_DECLS
