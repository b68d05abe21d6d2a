/* cw-secrets-private.h: building CwSecrets for a scope, and what only the core and
 * coworkctl may do with it (list names, promote).
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cowork.h"
#include "cw-paths-private.h"

G_BEGIN_DECLS

/* User scope: the Secret Service through libsecret. No I/O until the first call. */
CwSecrets *cw_secrets_new_user (void);
/* System scope: the encrypted store in @dir (created 0700 on first write). */
CwSecrets *cw_secrets_new_system (const gchar *dir);
/* The store of the mode @paths describe: system mode uses <appData>/secrets. */
CwSecrets *cw_secrets_new_for_paths (const CwPaths *paths);
/* "user" or "system". */
const gchar *cw_secrets_get_scope (CwSecrets *self);
/* Where the values live, for people: "Secret Service" or the store's directory. */
const gchar *cw_secrets_get_location (CwSecrets *self);

/* Names only, never values: [{kind, name, scope}], sorted. */
void cw_secrets_list (CwSecrets *self, GCancellable *cancellable, GAsyncReadyCallback callback,
                      gpointer user_data);
JsonArray *cw_secrets_list_finish (CwSecrets *self, GAsyncResult *result, GError **error);

/* Note: cw_secrets_delete() succeeds when there is nothing to delete (a cleared key stays
 * cleared); use the list to tell whether something was there. */

/* kind: [a-z0-9_-]{1,64}; name: [A-Za-z0-9_@.-]{1,128}, not starting with '.'. */
gboolean cw_secrets_check_name (const gchar *kind, const gchar *name, GError **error);

/* Blocking forms for coworkctl, which has no main loop of its own. */
gboolean cw_secrets_store_sync (CwSecrets *self, const gchar *kind, const gchar *name,
                                const gchar *value, GError **error);
gchar *cw_secrets_lookup_sync (CwSecrets *self, const gchar *kind, const gchar *name,
                               GError **error);
gboolean cw_secrets_delete_sync (CwSecrets *self, const gchar *kind, const gchar *name,
                                 GError **error);
JsonArray *cw_secrets_list_sync (CwSecrets *self, GError **error);

/* Overwrites and frees a secret value. */
void cw_secret_free (gchar *value);

G_END_DECLS
