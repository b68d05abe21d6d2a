/* cw-secrets.c: CwSecrets, one scope's credentials.
 *
 * The user scope talks to the Secret Service with libsecret's async calls, so the daemon's
 * loop never waits on the keyring. The system scope never opens a bus at all: it runs the
 * encrypted file store (cw-secrets-file.c) in a worker thread. Nothing here reads the other
 * scope: the only way across is `coworkctl credentials promote`, which holds both.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cowork-host.h"
#include "cw-secrets-file-private.h"

#include <libsecret/secret.h>
#include <string.h>

struct _CwSecrets
{
  GObject parent_instance;
  gboolean system;
  gchar *dir; /* system scope only */
};

G_DEFINE_FINAL_TYPE (CwSecrets, cw_secrets, G_TYPE_OBJECT)

static const SecretSchema *
credential_schema (void)
{
  static const SecretSchema schema = {
    "org.cowork.Credential",
    SECRET_SCHEMA_NONE,
    {
        { "scope", SECRET_SCHEMA_ATTRIBUTE_STRING },
        { "kind", SECRET_SCHEMA_ATTRIBUTE_STRING },
        { "name", SECRET_SCHEMA_ATTRIBUTE_STRING },
        { NULL, 0 },
    },
  };
  return &schema;
}

static void
cw_secrets_finalize (GObject *object)
{
  CwSecrets *self = CW_SECRETS (object);

  g_free (self->dir);
  G_OBJECT_CLASS (cw_secrets_parent_class)->finalize (object);
}

static void
cw_secrets_class_init (CwSecretsClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = cw_secrets_finalize;
}

static void
cw_secrets_init (CwSecrets *self)
{
}

CwSecrets *
cw_secrets_new_user (void)
{
  return g_object_new (CW_TYPE_SECRETS, NULL);
}

CwSecrets *
cw_secrets_new_system (const gchar *dir)
{
  CwSecrets *self = g_object_new (CW_TYPE_SECRETS, NULL);

  self->system = TRUE;
  self->dir = g_strdup (dir);
  return self;
}

const gchar *
cw_secrets_get_scope (CwSecrets *self)
{
  return self->system ? "system" : "user";
}

const gchar *
cw_secrets_get_location (CwSecrets *self)
{
  return self->system ? self->dir : "Secret Service";
}

void
cw_secret_free (gchar *value)
{
  if (value == NULL)
    return;
  explicit_bzero (value, strlen (value));
  g_free (value);
}

gboolean
cw_secrets_check_name (const gchar *kind, const gchar *name, GError **error)
{
  gsize n;

  n = kind != NULL ? strlen (kind) : 0;
  for (gsize i = 0; i < n; i++)
    if (!g_ascii_islower (kind[i]) && !g_ascii_isdigit (kind[i]) && kind[i] != '_'
        && kind[i] != '-')
      n = 0;
  if (n == 0 || n > 64)
    {
      g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS,
                   "invalid credential kind '%s' (use a-z, 0-9, _ and -)", kind ?: "");
      return FALSE;
    }
  n = name != NULL ? strlen (name) : 0;
  for (gsize i = 0; i < n; i++)
    if (!g_ascii_isalnum (name[i]) && strchr ("_@.-", name[i]) == NULL)
      n = 0;
  if (n == 0 || n > 128 || name[0] == '.')
    {
      g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS,
                   "invalid credential name '%s' (use letters, digits, _ @ . and -)", name ?: "");
      return FALSE;
    }
  return TRUE;
}

/* ---- system scope: the file store in a worker thread ---------------------------------- */

typedef enum
{
  OP_STORE,
  OP_LOOKUP,
  OP_DELETE,
  OP_LIST,
} Op;

typedef struct
{
  Op op;
  gchar *kind;
  gchar *name;
  gchar *value;
} Job;

static void
job_free (Job *job)
{
  g_free (job->kind);
  g_free (job->name);
  cw_secret_free (job->value);
  g_free (job);
}

static void
file_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  CwSecrets *self = source;
  Job *job = data;
  GError *error = NULL;

  switch (job->op)
    {
      case OP_STORE:
        if (cw_secrets_file_store (self->dir, job->kind, job->name, job->value, &error))
          g_task_return_boolean (task, TRUE);
        else
          g_task_return_error (task, error);
        break;
      case OP_LOOKUP:
        {
          gchar *value = cw_secrets_file_lookup (self->dir, job->kind, job->name, &error);
          if (error != NULL)
            g_task_return_error (task, error);
          else
            g_task_return_pointer (task, value, (GDestroyNotify) cw_secret_free);
          break;
        }
      case OP_DELETE:
        if (cw_secrets_file_delete (self->dir, job->kind, job->name, &error))
          g_task_return_boolean (task, TRUE);
        else
          g_task_return_error (task, error);
        break;
      case OP_LIST:
        {
          JsonArray *list = cw_secrets_file_list (self->dir, &error);
          if (list == NULL)
            g_task_return_error (task, error);
          else
            g_task_return_pointer (task, list, (GDestroyNotify) json_array_unref);
          break;
        }
    }
}

static GTask *
start (CwSecrets *self, Op op, const gchar *kind, const gchar *name, const gchar *value,
       GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  GError *error = NULL;
  Job *job;

  g_task_set_source_tag (task, GINT_TO_POINTER (op + 1));
  if (op != OP_LIST && !cw_secrets_check_name (kind, name, &error))
    {
      g_task_return_error (task, error);
      g_object_unref (task);
      return NULL;
    }
  if (!self->system)
    return task;
  job = g_new0 (Job, 1);
  job->op = op;
  job->kind = g_strdup (kind);
  job->name = g_strdup (name);
  job->value = g_strdup (value);
  g_task_set_task_data (task, job, (GDestroyNotify) job_free);
  g_task_run_in_thread (task, file_thread);
  g_object_unref (task);
  return NULL;
}

/* ---- user scope: libsecret ------------------------------------------------------------ */

static void
on_stored (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (GTask) task = data;
  GError *error = NULL;

  if (secret_password_store_finish (result, &error))
    g_task_return_boolean (task, TRUE);
  else
    {
      g_prefix_error (&error, "failed to store in the Secret Service: ");
      g_task_return_error (task, error);
    }
}

static void
on_looked_up (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (GTask) task = data;
  GError *error = NULL;
  gchar *value = secret_password_lookup_finish (result, &error);

  if (error != NULL)
    {
      g_prefix_error (&error, "failed to read the Secret Service: ");
      g_task_return_error (task, error);
      return;
    }
  g_task_return_pointer (task, value != NULL ? g_strdup (value) : NULL,
                         (GDestroyNotify) cw_secret_free);
  secret_password_free (value);
}

static void
on_cleared (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (GTask) task = data;
  GError *error = NULL;
  /* FALSE without an error means there was nothing to remove: deleting is idempotent. */
  secret_password_clear_finish (result, &error);

  if (error != NULL)
    {
      g_prefix_error (&error, "failed to delete from the Secret Service: ");
      g_task_return_error (task, error);
    }
  else
    g_task_return_boolean (task, TRUE); /* also when there was nothing to remove */
}

static gint
compare_items (gconstpointer a, gconstpointer b)
{
  JsonObject *x = json_node_get_object ((JsonNode *) a), *y = json_node_get_object ((JsonNode *) b);
  gint c = g_strcmp0 (json_object_get_string_member (x, "kind"),
                      json_object_get_string_member (y, "kind"));

  return c != 0 ? c
                : g_strcmp0 (json_object_get_string_member (x, "name"),
                             json_object_get_string_member (y, "name"));
}

static void
on_searched (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (GTask) task = data;
  GError *error = NULL;
  GList *items = secret_password_search_finish (result, &error);
  GList *nodes = NULL;
  JsonArray *out;

  if (error != NULL)
    {
      g_prefix_error (&error, "failed to search the Secret Service: ");
      g_task_return_error (task, error);
      return;
    }
  for (GList *l = items; l != NULL; l = l->next)
    {
      g_autoptr (GHashTable) attrs = secret_retrievable_get_attributes (l->data);
      JsonObject *obj = json_object_new ();
      JsonNode *node = json_node_new (JSON_NODE_OBJECT);

      json_object_set_string_member (obj, "kind", g_hash_table_lookup (attrs, "kind") ?: "");
      json_object_set_string_member (obj, "name", g_hash_table_lookup (attrs, "name") ?: "");
      json_object_set_string_member (obj, "scope", "user");
      json_node_take_object (node, obj);
      nodes = g_list_prepend (nodes, node);
    }
  g_list_free_full (items, g_object_unref);
  nodes = g_list_sort (nodes, compare_items);
  out = json_array_new ();
  for (GList *l = nodes; l != NULL; l = l->next)
    json_array_add_element (out, l->data);
  g_list_free (nodes);
  g_task_return_pointer (task, out, (GDestroyNotify) json_array_unref);
}

/* ---- public API ----------------------------------------------------------------------- */

void
cw_secrets_store (CwSecrets *self, const gchar *kind, const gchar *name, const gchar *value,
                  GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task;
  g_autofree gchar *label = NULL;

  g_return_if_fail (CW_IS_SECRETS (self));
  g_return_if_fail (value != NULL);
  task = start (self, OP_STORE, kind, name, value, cancellable, callback, user_data);
  if (task == NULL)
    return;
  label = g_strdup_printf ("Cowork credential %s/%s", kind, name);
  secret_password_store (credential_schema (), SECRET_COLLECTION_DEFAULT, label, value, cancellable,
                         on_stored, task, "scope", "user", "kind", kind, "name", name, NULL);
}

gboolean
cw_secrets_store_finish (CwSecrets *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

void
cw_secrets_lookup (CwSecrets *self, const gchar *kind, const gchar *name, GCancellable *cancellable,
                   GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task;

  g_return_if_fail (CW_IS_SECRETS (self));
  task = start (self, OP_LOOKUP, kind, name, NULL, cancellable, callback, user_data);
  if (task == NULL)
    return;
  secret_password_lookup (credential_schema (), cancellable, on_looked_up, task, "scope", "user",
                          "kind", kind, "name", name, NULL);
}

gchar *
cw_secrets_lookup_finish (CwSecrets *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

void
cw_secrets_delete (CwSecrets *self, const gchar *kind, const gchar *name, GCancellable *cancellable,
                   GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task;

  g_return_if_fail (CW_IS_SECRETS (self));
  task = start (self, OP_DELETE, kind, name, NULL, cancellable, callback, user_data);
  if (task == NULL)
    return;
  secret_password_clear (credential_schema (), cancellable, on_cleared, task, "scope", "user",
                         "kind", kind, "name", name, NULL);
}

gboolean
cw_secrets_delete_finish (CwSecrets *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

void
cw_secrets_list (CwSecrets *self, GCancellable *cancellable, GAsyncReadyCallback callback,
                 gpointer user_data)
{
  GTask *task = start (self, OP_LIST, NULL, NULL, NULL, cancellable, callback, user_data);

  if (task == NULL)
    return;
  secret_password_search (credential_schema (), SECRET_SEARCH_ALL, cancellable, on_searched, task,
                          "scope", "user", NULL);
}

JsonArray *
cw_secrets_list_finish (CwSecrets *self, GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* ---- blocking forms ------------------------------------------------------------------- */

typedef struct
{
  GMainLoop *loop;
  GAsyncResult *result;
} Waiter;

static void
on_done (GObject *source, GAsyncResult *result, gpointer data)
{
  Waiter *w = data;

  w->result = g_object_ref (result);
  g_main_loop_quit (w->loop);
}

/* Runs one call on a private context so it also works inside another loop's callback. */
#define RUN_SYNC(call_expr, finish_expr)                                                           \
  GMainContext *ctx = g_main_context_new ();                                                       \
  Waiter w = { g_main_loop_new (ctx, FALSE), NULL };                                               \
  g_main_context_push_thread_default (ctx);                                                        \
  call_expr;                                                                                       \
  if (w.result == NULL)                                                                            \
    g_main_loop_run (w.loop);                                                                      \
  g_main_context_pop_thread_default (ctx);                                                         \
  ret = finish_expr;                                                                               \
  g_object_unref (w.result);                                                                       \
  g_main_loop_unref (w.loop);                                                                      \
  g_main_context_unref (ctx);

gboolean
cw_secrets_store_sync (CwSecrets *self, const gchar *kind, const gchar *name, const gchar *value,
                       GError **error)
{
  gboolean ret;
  RUN_SYNC (cw_secrets_store (self, kind, name, value, NULL, on_done, &w),
            cw_secrets_store_finish (self, w.result, error));
  return ret;
}

gchar *
cw_secrets_lookup_sync (CwSecrets *self, const gchar *kind, const gchar *name, GError **error)
{
  gchar *ret;
  RUN_SYNC (cw_secrets_lookup (self, kind, name, NULL, on_done, &w),
            cw_secrets_lookup_finish (self, w.result, error));
  return ret;
}

gboolean
cw_secrets_delete_sync (CwSecrets *self, const gchar *kind, const gchar *name, GError **error)
{
  gboolean ret;
  RUN_SYNC (cw_secrets_delete (self, kind, name, NULL, on_done, &w),
            cw_secrets_delete_finish (self, w.result, error));
  return ret;
}

JsonArray *
cw_secrets_list_sync (CwSecrets *self, GError **error)
{
  JsonArray *ret;
  RUN_SYNC (cw_secrets_list (self, NULL, on_done, &w),
            cw_secrets_list_finish (self, w.result, error));
  return ret;
}
