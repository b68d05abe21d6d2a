/* cw-agent-keys.c: API keys in CwSecrets.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-agent-keys.h"
#include "cw-agent-config.h"

#define NO_STORE_MESSAGE "no credential store is available; API keys are never saved anywhere else"

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

static void
lookup (CwContext *context, const gchar *kind, const gchar *name, gboolean needed,
        GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (NULL, cancellable, callback, user_data);
  CwSecrets *secrets = cw_context_get_secrets (context);

  g_task_set_source_tag (task, cw_agent_keys_lookup);
  if (!needed)
    {
      g_task_return_pointer (task, NULL, NULL);
      return;
    }
  if (secrets == NULL)
    {
      g_task_return_new_error (task, CW_ERROR, CW_ERROR_NOT_SUPPORTED, NO_STORE_MESSAGE);
      return;
    }
  cw_secrets_lookup (secrets, kind, name, cancellable, on_lookup, g_steal_pointer (&task));
}

void
cw_agent_keys_lookup (CwContext *context, const gchar *provider, GCancellable *cancellable,
                      GAsyncReadyCallback callback, gpointer user_data)
{
  lookup (context, CW_AGENT_KEY_PROVIDER, provider, cw_agent_provider_needs_key (provider),
          cancellable, callback, user_data);
}

void
cw_agent_keys_lookup_helper (CwContext *context, const gchar *name, GCancellable *cancellable,
                             GAsyncReadyCallback callback, gpointer user_data)
{
  lookup (context, CW_AGENT_KEY_HELPER, name, TRUE, cancellable, callback, user_data);
}

gchar *
cw_agent_keys_lookup_finish (GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

typedef struct
{
  gchar *kind;
  gchar *name;
  gchar *value; /* "" deletes */
} KeyWrite;

static void
key_write_free (KeyWrite *w)
{
  g_free (w->kind);
  g_free (w->name);
  if (w->value != NULL)
    memset (w->value, 0, strlen (w->value));
  g_free (w->value);
  g_free (w);
}

GPtrArray *
cw_agent_keys_writes_new (void)
{
  return g_ptr_array_new_with_free_func ((GDestroyNotify) key_write_free);
}

void
cw_agent_keys_writes_add (GPtrArray *writes, const gchar *kind, const gchar *name,
                          const gchar *value)
{
  KeyWrite *w = g_new0 (KeyWrite, 1);

  w->kind = g_strdup (kind);
  w->name = g_strdup (name);
  w->value = g_strdup (value != NULL ? value : "");
  g_ptr_array_add (writes, w);
}

typedef struct
{
  GPtrArray *writes; /* KeyWrite still to do */
  guint next;
  GPtrArray *failures;
  CwSecrets *secrets;
} StoreData;

static void
store_data_free (StoreData *d)
{
  g_ptr_array_unref (d->writes);
  g_ptr_array_unref (d->failures);
  g_object_unref (d->secrets);
  g_free (d);
}

static void store_next (GTask *task);

static void
on_stored (GObject *source, GAsyncResult *res, gpointer user_data)
{
  GTask *task = user_data;
  g_autoptr (GError) error = NULL;
  StoreData *d = g_task_get_task_data (task);
  KeyWrite *w = g_ptr_array_index (d->writes, d->next);
  gboolean ok = *w->value == '\0' ? cw_secrets_delete_finish (CW_SECRETS (source), res, &error)
                                  : cw_secrets_store_finish (CW_SECRETS (source), res, &error);

  if (!ok)
    {
      gchar *msg
          = g_strdup_printf ("failed to store the %s key %s: %s", w->kind, w->name, error->message);
      g_warning ("%s", msg);
      g_ptr_array_add (d->failures, msg);
    }
  d->next++;
  store_next (task);
}

static void
store_next (GTask *task)
{
  StoreData *d = g_task_get_task_data (task);
  KeyWrite *w;

  if (d->next >= d->writes->len)
    {
      g_task_return_pointer (task, g_ptr_array_ref (d->failures),
                             (GDestroyNotify) g_ptr_array_unref);
      g_object_unref (task);
      return;
    }
  w = g_ptr_array_index (d->writes, d->next);
  if (*w->value == '\0')
    cw_secrets_delete (d->secrets, w->kind, w->name, g_task_get_cancellable (task), on_stored,
                       task);
  else
    cw_secrets_store (d->secrets, w->kind, w->name, w->value, g_task_get_cancellable (task),
                      on_stored, task);
}

void
cw_agent_keys_store (CwContext *context, GPtrArray *writes, GCancellable *cancellable,
                     GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task = g_task_new (NULL, cancellable, callback, user_data);
  CwSecrets *secrets = cw_context_get_secrets (context);
  StoreData *d;

  g_task_set_source_tag (task, cw_agent_keys_store);
  if (secrets == NULL)
    {
      g_task_return_new_error (task, CW_ERROR, CW_ERROR_NOT_SUPPORTED, NO_STORE_MESSAGE);
      g_object_unref (task);
      return;
    }
  d = g_new0 (StoreData, 1);
  d->writes = g_ptr_array_ref (writes);
  d->failures = g_ptr_array_new_with_free_func (g_free);
  d->secrets = g_object_ref (secrets);
  g_task_set_task_data (task, d, (GDestroyNotify) store_data_free);
  store_next (task);
}

GPtrArray *
cw_agent_keys_store_finish (GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}
