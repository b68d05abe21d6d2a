/* cw-agent-keys.h: API keys, only ever through CwSecrets: provider keys (kind "provider",
 * name = provider id) and the separate keys of helper services (kind "helper": google,
 * openai, fal, exa, tavily, stitch).
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <cowork.h>

G_BEGIN_DECLS

#define CW_AGENT_KEY_PROVIDER "provider"
#define CW_AGENT_KEY_HELPER   "helper"

/* Looks up the key of @provider. Providers that need none (lmstudio) give NULL at once.
 * Without a credential store the result is an error saying so. */
void cw_agent_keys_lookup (CwContext *context, const gchar *provider, GCancellable *cancellable,
                           GAsyncReadyCallback callback, gpointer user_data);
/* The key of helper service @name (google, openai, fal, exa, tavily, stitch). */
void cw_agent_keys_lookup_helper (CwContext *context, const gchar *name, GCancellable *cancellable,
                                  GAsyncReadyCallback callback, gpointer user_data);
/* The key (NULL without error when none is stored). */
gchar *cw_agent_keys_lookup_finish (GAsyncResult *result, GError **error);

/* Credentials to write: kind, name and value ("" deletes). */
GPtrArray *cw_agent_keys_writes_new (void);
void cw_agent_keys_writes_add (GPtrArray *writes, const gchar *kind, const gchar *name,
                               const gchar *value);

/* Writes every entry of @writes, one after the other; one that fails does not stop the
 * others. */
void cw_agent_keys_store (CwContext *context, GPtrArray *writes, GCancellable *cancellable,
                          GAsyncReadyCallback callback, gpointer user_data);
/* The messages of the writes that failed (empty when all went in); NULL with @error only
 * when there is no credential store at all. */
GPtrArray *cw_agent_keys_store_finish (GAsyncResult *result, GError **error);

G_END_DECLS
