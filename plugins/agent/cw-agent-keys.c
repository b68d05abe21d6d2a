/* cw-agent-keys.c: provider API keys in CwSecrets (kind "provider", name = provider id).
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-agent-keys.h"
#include "cw-agent-config.h"

#define NO_STORE_MESSAGE                                                                           \
  "no credential store is available (is the Secret Service running?); API keys are never "         \
  "saved anywhere else"

static void
on_lookup (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  g_autoptr (GError) error = NULL;
  gchar *value = cw_secrets_lookup_finish (CW_SECRETS (source), res, &error);

  if (error != NULL)
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_pointer (task, value, g_free);
}

void
cw_agent_keys_lookup (CwContext *context, const gchar *provider, GCancellable *cancellable,
                      GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (NULL, cancellable, callback, user_data);
  CwSecrets *secrets = cw_context_get_secrets (context);

  g_task_set_source_tag (task, cw_agent_keys_lookup);
  if (!cw_agent_provider_needs_key (provider))
    {
      g_task_return_pointer (task, NULL, NULL);
      return;
    }
  if (secrets == NULL)
    {
      g_task_return_new_error (task, CW_ERROR, CW_ERROR_NOT_SUPPORTED, NO_STORE_MESSAGE);
      return;
    }
  cw_secrets_lookup (secrets, "provider", provider, cancellable, on_lookup,
                     g_steal_pointer (&task));
}

gchar *
cw_agent_keys_lookup_finish (GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

typedef struct
{
  GPtrArray *names;  /* provider ids still to write */
  GPtrArray *values; /* matching keys ("" deletes) */
  CwSecrets *secrets;
} StoreData;

/* Keys are wiped before they are freed. */
static void
wipe_free (gpointer p)
{
  if (p != NULL)
    memset (p, 0, strlen (p));
  g_free (p);
}

static void
store_data_free (StoreData *d)
{
  g_ptr_array_unref (d->names);
  g_ptr_array_unref (d->values);
  g_object_unref (d->secrets);
  g_free (d);
}

static void store_next (GTask *task);

static void
on_stored (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  g_autoptr (GError) error = NULL;
  StoreData *d = g_task_get_task_data (task);
  const gchar *value = g_ptr_array_index (d->values, 0);
  gboolean ok;

  if (*value == '\0')
    ok = cw_secrets_delete_finish (CW_SECRETS (source), res, &error);
  else
    ok = cw_secrets_store_finish (CW_SECRETS (source), res, &error);
  if (!ok)
    {
      g_prefix_error (
          &error, "failed to store the %s key: ", (const gchar *) g_ptr_array_index (d->names, 0));
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  g_ptr_array_remove_index (d->names, 0);
  g_ptr_array_remove_index (d->values, 0);
  store_next (g_steal_pointer (&task));
}

static void
store_next (GTask *task)
{
  StoreData *d = g_task_get_task_data (task);
  const gchar *name, *value;

  if (d->names->len == 0)
    {
      g_task_return_boolean (task, TRUE);
      g_object_unref (task);
      return;
    }
  name = g_ptr_array_index (d->names, 0);
  value = g_ptr_array_index (d->values, 0);
  if (*value == '\0')
    cw_secrets_delete (d->secrets, "provider", name, g_task_get_cancellable (task), on_stored,
                       task);
  else
    cw_secrets_store (d->secrets, "provider", name, value, g_task_get_cancellable (task), on_stored,
                      task);
}

void
cw_agent_keys_store (CwContext *context, GHashTable *keys, GCancellable *cancellable,
                     GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task = g_task_new (NULL, cancellable, callback, user_data);
  CwSecrets *secrets = cw_context_get_secrets (context);
  StoreData *d;
  GHashTableIter iter;
  gpointer k, v;

  g_task_set_source_tag (task, cw_agent_keys_store);
  if (secrets == NULL)
    {
      g_task_return_new_error (task, CW_ERROR, CW_ERROR_NOT_SUPPORTED, NO_STORE_MESSAGE);
      g_object_unref (task);
      return;
    }
  d = g_new0 (StoreData, 1);
  d->names = g_ptr_array_new_with_free_func (g_free);
  d->values = g_ptr_array_new_with_free_func (wipe_free);
  d->secrets = g_object_ref (secrets);
  g_hash_table_iter_init (&iter, keys);
  while (g_hash_table_iter_next (&iter, &k, &v))
    {
      g_ptr_array_add (d->names, g_strdup (k));
      g_ptr_array_add (d->values, g_strdup (v != NULL ? v : ""));
    }
  g_task_set_task_data (task, d, (GDestroyNotify) store_data_free);
  store_next (task);
}

gboolean
cw_agent_keys_store_finish (GAsyncResult *result, GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}
