/* cw-agent-keys.h: provider API keys, only ever through CwSecrets.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <cowork.h>

G_BEGIN_DECLS

/* Looks up the key of @provider. Providers that need none (lmstudio) give NULL at once.
 * Without a credential store the result is an error saying so: keys are never kept
 * anywhere else. */
void cw_agent_keys_lookup (CwContext *context, const gchar *provider, GCancellable *cancellable,
                           GAsyncReadyCallback callback, gpointer user_data);
/* The key (NULL without error when none is stored). */
gchar *cw_agent_keys_lookup_finish (GAsyncResult *result, GError **error);

/* Stores (or, for an empty @key, deletes) the keys of @keys: provider id -> key. */
void cw_agent_keys_store (CwContext *context, GHashTable *keys, GCancellable *cancellable,
                          GAsyncReadyCallback callback, gpointer user_data);
gboolean cw_agent_keys_store_finish (GAsyncResult *result, GError **error);

G_END_DECLS
