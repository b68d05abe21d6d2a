/* cw-util-private.h: helpers libcowork shares with coworkd and coworkctl, not plugins.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cowork.h"

G_BEGIN_DECLS

/* 2 * n_bytes lowercase hex characters from the kernel CSPRNG. */
gchar *cw_random_hex (gsize n_bytes);

G_END_DECLS
