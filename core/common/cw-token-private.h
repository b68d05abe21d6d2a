/* cw-token-private.h: the socket's shared secret (contract §1.3).
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cowork-host.h"

G_BEGIN_DECLS

/* Reads the token file, creating it (64 hex chars, 0600) when missing or empty, and
 * replacing it (with a warning) when it holds anything but 64 hex characters. */
gchar *cw_token_ensure (const gchar *path, GError **error);
/* Reads an existing token (trimmed); NULL with @error when missing, empty
 * (CW_ERROR_NOT_FOUND) or not 64 hex characters (CW_ERROR_INVALID_PARAMS). */
gchar *cw_token_read (const gchar *path, GError **error);
/* Writes a fresh token atomically and returns it. */
gchar *cw_token_rotate (const gchar *path, GError **error);
/* Constant-time comparison. */
gboolean cw_token_equal (const gchar *expected, const gchar *given);

G_END_DECLS
