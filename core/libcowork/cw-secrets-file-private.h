/* cw-secrets-file-private.h: the system scope's encrypted store. Blocking; CwSecrets calls
 * it from a worker thread.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cowork.h"

G_BEGIN_DECLS

gboolean cw_secrets_file_store (const gchar *dir, const gchar *kind, const gchar *name,
                                const gchar *value, GError **error);
/* NULL without error when there is no such secret. */
gchar *cw_secrets_file_lookup (const gchar *dir, const gchar *kind, const gchar *name,
                               GError **error);
/* TRUE also when there is no such secret. */
gboolean cw_secrets_file_delete (const gchar *dir, const gchar *kind, const gchar *name,
                                 GError **error);
/* [{kind, name, scope:"system"}] */
JsonArray *cw_secrets_file_list (const gchar *dir, GError **error);

G_END_DECLS
