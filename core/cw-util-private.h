/* cw-util-private.h: helpers libcowork shares with coworkd and coworkctl, not plugins.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cowork.h"

G_BEGIN_DECLS

/* @len bytes from the kernel CSPRNG (getrandom); aborts if the kernel cannot give them. */
void cw_random_bytes (guint8 *buf, gsize len);
/* 2 * n_bytes lowercase hex characters from the kernel CSPRNG. */
gchar *cw_random_hex (gsize n_bytes);

G_END_DECLS
