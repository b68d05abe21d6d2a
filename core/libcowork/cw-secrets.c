/* cw-secrets.c: CwSecrets, one scope's credentials.
 *
 * Every call runs in a worker thread, so the daemon's loop never waits on the keyring or
 * the disk. The system scope never opens a bus at all: it uses the encrypted file store
 * (cw-secrets-file.c). The user scope uses the Secret Service; when none is reachable (a
 * headless machine, SSH, a user unit with linger) and the scope has a data dir, values go
 * to the same kind of owner-only encrypted store under it instead, and move into the
 * keyring by themselves at the first call that finds one. Nothing here reads the other
 * scope: the only way across is `coworkctl credentials promote`, which holds both.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "cowork-host.h"
#include "cw-secrets-file-private.h"

#include <glib/gi18n-lib.h>
#include <libsecret/secret.h>
#include <string.h>

typedef enum
{
  KEYRING_UNTRIED,
  KEYRING_REACHABLE,
  KEYRING_UNREACHABLE,
} KeyringState;

struct _CwSecrets
{
  GObject parent_instance;
  gboolean system;
  gchar *dir;           /* the file store: system scope, or the user scope's fallback */
  GMutex lock;          /* guards the two below; serialises moving values to the keyring */
  KeyringState state;   /* user scope: what the last call found */
  gchar *keyring_error; /* why the Secret Service could not be used */
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
  g_free (self->keyring_error);
  g_mutex_clear (&self->lock);
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
  g_mutex_init (&self->lock);
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

CwSecrets *
cw_secrets_new_user_with_fallback (const gchar *dir)
{
  CwSecrets *self = cw_secrets_new_user ();

  self->dir = g_strdup (dir);
  return self;
}

const gchar *
cw_secrets_get_scope (CwSecrets *self)
{
  return self->system ? "system" : "user";
}

static gboolean
uses_file (CwSecrets *self)
{
  gboolean file;

  if (self->system)
    return TRUE;
  g_mutex_lock (&self->lock);
  file = self->dir != NULL && self->state == KEYRING_UNREACHABLE;
  g_mutex_unlock (&self->lock);
  return file;
}

const gchar *
cw_secrets_get_location (CwSecrets *self)
{
  return uses_file (self) ? self->dir : "Secret Service";
}

JsonObject *
cw_secrets_get_health (CwSecrets *self)
{
  JsonObject *obj = json_object_new ();
  static const gchar *const states[] = { "untried", "reachable", "unreachable" };

  json_object_set_string_member (obj, "scope", cw_secrets_get_scope (self));
  json_object_set_string_member (obj, "store",
                                 uses_file (self) ? "encrypted-file" : "secret-service");
  json_object_set_string_member (obj, "location", cw_secrets_get_location (self));
  if (!self->system)
    {
      g_mutex_lock (&self->lock);
      json_object_set_string_member (obj, "secretService", states[self->state]);
      if (self->keyring_error != NULL && self->state == KEYRING_UNREACHABLE)
        json_object_set_string_member (obj, "secretServiceError", self->keyring_error);
      g_mutex_unlock (&self->lock);
    }
  return obj;
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
                   _ ("invalid credential kind '%s' (use a-z, 0-9, _ and -)"), kind ?: "");
      return FALSE;
    }
  n = name != NULL ? strlen (name) : 0;
  for (gsize i = 0; i < n; i++)
    if (!g_ascii_isalnum (name[i]) && strchr ("_@.-", name[i]) == NULL)
      n = 0;
  if (n == 0 || n > 128 || name[0] == '.')
    {
      g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS,
                   _ ("invalid credential name '%s' (use letters, digits, _ @ . and -)"),
                   name ?: "");
      return FALSE;
    }
  return TRUE;
}

/* ---- the worker thread ---------------------------------------------------------------- */

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

/* The bus or the service is missing (as opposed to the service refusing something). */
static gboolean
is_unreachable (const GError *error)
{
  return error->domain == G_DBUS_ERROR || error->domain == G_SPAWN_ERROR
         || (error->domain == G_IO_ERROR && error->code != G_IO_ERROR_CANCELLED);
}

/* A failed Secret Service call, in words a user understands: an unreachable keyring says
 * what to do rather than, say, "Cannot autolaunch D-Bus without X11 $DISPLAY". */
static void
explain_keyring_error (GError **error, const gchar *what)
{
  gboolean unreachable = is_unreachable (*error);
  g_autofree gchar *detail = g_strdup ((*error)->message);

  g_clear_error (error);
  if (unreachable)
    g_set_error (error, CW_ERROR, CW_ERROR_NOT_SUPPORTED,
                 _ ("cannot %s: no keyring (Secret Service) is reachable in this session. Log "
                    "in to a desktop session where GNOME Keyring or KWallet runs, or start one "
                    "with 'dbus-run-session -- gnome-keyring-daemon --unlock'; for a service "
                    "without a desktop use the system scope (--system). (%s)"),
                 what, detail);
  else
    g_set_error (error, CW_ERROR, CW_ERROR_FAILED, _ ("cannot %s in the keyring: %s"), what,
                 detail);
}

/* Records what a Secret Service call found. TRUE when the caller should use the file store
 * instead (it is unreachable and there is one); @error is then cleared. */
static gboolean
note_keyring (CwSecrets *self, GError **error)
{
  gboolean unreachable = *error != NULL && is_unreachable (*error);

  g_mutex_lock (&self->lock);
  if (*error == NULL || unreachable)
    {
      KeyringState state = unreachable ? KEYRING_UNREACHABLE : KEYRING_REACHABLE;
      if (self->dir != NULL && unreachable && self->state != KEYRING_UNREACHABLE)
        g_message ("no Secret Service (%s): credentials are kept encrypted in %s",
                   (*error)->message, self->dir);
      else if (self->dir != NULL && !unreachable && self->state == KEYRING_UNREACHABLE)
        g_message ("the Secret Service is reachable again: credentials kept in %s move into it",
                   self->dir);
      self->state = state;
      g_free (self->keyring_error);
      self->keyring_error = unreachable ? g_strdup ((*error)->message) : NULL;
    }
  g_mutex_unlock (&self->lock);
  if (!unreachable || self->dir == NULL)
    return FALSE;
  g_clear_error (error);
  return TRUE;
}

static gboolean
keyring_store (const gchar *kind, const gchar *name, const gchar *value, GError **error)
{
  g_autofree gchar *label = g_strdup_printf ("Cowork credential %s/%s", kind, name);

  return secret_password_store_sync (credential_schema (), SECRET_COLLECTION_DEFAULT, label, value,
                                     NULL, error, "scope", "user", "kind", kind, "name", name,
                                     NULL);
}

/* Moves what the file store holds into the keyring; stops at the first sign that there is
 * still no Secret Service. A value stored while there was none is the newest one. */
static void
move_to_keyring (CwSecrets *self)
{
  g_autoptr (JsonArray) list = NULL;

  g_mutex_lock (&self->lock);
  list = cw_secrets_file_list (self->dir, NULL);
  for (guint i = 0; list != NULL && i < json_array_get_length (list); i++)
    {
      JsonObject *c = json_array_get_object_element (list, i);
      const gchar *kind = json_object_get_string_member (c, "kind");
      const gchar *name = json_object_get_string_member (c, "name");
      g_autoptr (GError) error = NULL;
      gchar *value = cw_secrets_file_lookup (self->dir, kind, name, &error);
      gboolean ok = value != NULL && keyring_store (kind, name, value, &error);

      cw_secret_free (value);
      if (ok)
        cw_secrets_file_delete (self->dir, kind, name, NULL);
      else if (error != NULL && is_unreachable (error))
        break;
      else if (error != NULL)
        g_warning ("cannot move credential %s/%s into the Secret Service: %s", kind, name,
                   error->message);
    }
  g_mutex_unlock (&self->lock);
}

static gboolean
has_file_entries (CwSecrets *self)
{
  g_autoptr (GDir) d = self->dir != NULL ? g_dir_open (self->dir, 0, NULL) : NULL;
  const gchar *entry;

  while (d != NULL && (entry = g_dir_read_name (d)) != NULL)
    if (g_str_has_suffix (entry, ".secret"))
      return TRUE;
  return FALSE;
}

static JsonArray *
keyring_list (GError **error)
{
  GList *items = secret_password_search_sync (credential_schema (), SECRET_SEARCH_ALL, NULL, error,
                                              "scope", "user", NULL);
  JsonArray *out;

  if (*error != NULL)
    return NULL;
  out = json_array_new ();
  for (GList *l = items; l != NULL; l = l->next)
    {
      g_autoptr (GHashTable) attrs = secret_retrievable_get_attributes (l->data);
      JsonObject *obj = json_object_new ();

      json_object_set_string_member (obj, "kind", g_hash_table_lookup (attrs, "kind") ?: "");
      json_object_set_string_member (obj, "name", g_hash_table_lookup (attrs, "name") ?: "");
      json_array_add_object_element (out, obj);
    }
  g_list_free_full (items, g_object_unref);
  return out;
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

/* Adds @from's entries to @into, marked with the scope and where each value lives. */
static void
add_listed (JsonArray *into, JsonArray *from, const gchar *scope, const gchar *store)
{
  for (guint i = 0; from != NULL && i < json_array_get_length (from); i++)
    {
      JsonObject *c = json_array_get_object_element (from, i);
      JsonObject *obj = json_object_new ();

      json_object_set_string_member (obj, "kind", json_object_get_string_member (c, "kind"));
      json_object_set_string_member (obj, "name", json_object_get_string_member (c, "name"));
      json_object_set_string_member (obj, "scope", scope);
      json_object_set_string_member (obj, "store", store);
      json_array_add_object_element (into, obj);
    }
}

static JsonArray *
sorted (JsonArray *list)
{
  GList *nodes = g_list_sort (json_array_get_elements (list), compare_items);
  JsonArray *out = json_array_new ();

  for (GList *l = nodes; l != NULL; l = l->next)
    json_array_add_element (out, json_node_copy (l->data));
  g_list_free (nodes);
  json_array_unref (list);
  return out;
}

/* One call against the file store. */
static void
file_job (CwSecrets *self, GTask *task, Job *job, const gchar *scope)
{
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
          g_autoptr (JsonArray) list = cw_secrets_file_list (self->dir, &error);
          JsonArray *out;
          if (list == NULL)
            {
              g_task_return_error (task, error);
              break;
            }
          out = json_array_new ();
          add_listed (out, list, scope, "file");
          g_task_return_pointer (task, out, (GDestroyNotify) json_array_unref);
          break;
        }
    }
}

/* One call against the Secret Service; FALSE (nothing returned) when the file store has to
 * take it instead. */
static gboolean
keyring_job (CwSecrets *self, GTask *task, Job *job)
{
  GError *error = NULL;

  switch (job->op)
    {
      case OP_STORE:
        if (keyring_store (job->kind, job->name, job->value, &error))
          {
            note_keyring (self, &error);
            /* An older copy kept while there was no keyring must not come back. */
            if (self->dir != NULL)
              cw_secrets_file_delete (self->dir, job->kind, job->name, NULL);
            g_task_return_boolean (task, TRUE);
            return TRUE;
          }
        if (note_keyring (self, &error))
          return FALSE;
        explain_keyring_error (&error, _ ("store the credential"));
        g_task_return_error (task, error);
        return TRUE;
      case OP_LOOKUP:
        {
          gchar *value
              = secret_password_lookup_sync (credential_schema (), NULL, &error, "scope", "user",
                                             "kind", job->kind, "name", job->name, NULL);
          gchar *copy = value != NULL ? g_strdup (value) : NULL;

          secret_password_free (value);
          if (note_keyring (self, &error))
            return FALSE;
          if (error != NULL)
            {
              explain_keyring_error (&error, _ ("read the credential"));
              g_task_return_error (task, error);
            }
          else
            g_task_return_pointer (task, copy, (GDestroyNotify) cw_secret_free);
          return TRUE;
        }
      case OP_DELETE:
        /* FALSE without an error means there was nothing to remove: deleting is idempotent. */
        secret_password_clear_sync (credential_schema (), NULL, &error, "scope", "user", "kind",
                                    job->kind, "name", job->name, NULL);
        if (note_keyring (self, &error))
          return FALSE;
        if (error != NULL)
          {
            explain_keyring_error (&error, _ ("delete the credential"));
            g_task_return_error (task, error);
            return TRUE;
          }
        if (self->dir != NULL)
          cw_secrets_file_delete (self->dir, job->kind, job->name, NULL);
        g_task_return_boolean (task, TRUE);
        return TRUE;
      case OP_LIST:
        {
          g_autoptr (JsonArray) found = keyring_list (&error);
          g_autoptr (JsonArray) left = NULL;
          JsonArray *out;

          if (note_keyring (self, &error))
            return FALSE;
          if (error != NULL)
            {
              explain_keyring_error (&error, _ ("list the credentials"));
              g_task_return_error (task, error);
              return TRUE;
            }
          out = json_array_new ();
          add_listed (out, found, "user", "secret-service");
          /* Whatever could not be moved yet is still listed, where it is. */
          if (self->dir != NULL && (left = cw_secrets_file_list (self->dir, NULL)) != NULL)
            add_listed (out, left, "user", "file");
          g_task_return_pointer (task, sorted (out), (GDestroyNotify) json_array_unref);
          return TRUE;
        }
    }
  return TRUE;
}

static void
worker (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  CwSecrets *self = source;
  Job *job = data;

  if (self->system)
    {
      file_job (self, task, job, "system");
      return;
    }
  if (has_file_entries (self))
    move_to_keyring (self);
  if (!keyring_job (self, task, job))
    file_job (self, task, job, "user");
}

static void
start (CwSecrets *self, Op op, const gchar *kind, const gchar *name, const gchar *value,
       GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);
  GError *error = NULL;
  Job *job;

  g_task_set_source_tag (task, GINT_TO_POINTER (op + 1));
  if (op != OP_LIST && !cw_secrets_check_name (kind, name, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  job = g_new0 (Job, 1);
  job->op = op;
  job->kind = g_strdup (kind);
  job->name = g_strdup (name);
  job->value = g_strdup (value);
  g_task_set_task_data (task, job, (GDestroyNotify) job_free);
  g_task_run_in_thread (task, worker);
}

/* ---- public API ----------------------------------------------------------------------- */

void
cw_secrets_store (CwSecrets *self, const gchar *kind, const gchar *name, const gchar *value,
                  GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  g_return_if_fail (CW_IS_SECRETS (self));
  g_return_if_fail (value != NULL);
  start (self, OP_STORE, kind, name, value, cancellable, callback, user_data);
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
  g_return_if_fail (CW_IS_SECRETS (self));
  start (self, OP_LOOKUP, kind, name, NULL, cancellable, callback, user_data);
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
  g_return_if_fail (CW_IS_SECRETS (self));
  start (self, OP_DELETE, kind, name, NULL, cancellable, callback, user_data);
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
  g_return_if_fail (CW_IS_SECRETS (self));
  start (self, OP_LIST, NULL, NULL, NULL, cancellable, callback, user_data);
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
