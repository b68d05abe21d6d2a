/* cw-command-registry.c: command name -> handler, the one router behind every transport.
 *
 * Idempotency (cw-idempotency-cache.c): a call that carries _idempotencyKey is remembered by
 * caller, command, key and params. A repeat gets the stored answer; a repeat that arrives
 * while the first call still runs waits for that call's answer instead of running again.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cowork-host.h"
#include "cw-idempotency-cache-private.h"
#include "cw-invocation-private.h"

typedef struct
{
  gchar *name;
  gchar *owner;
  CwCommandFlags flags;
  CwCommandFunc func;
  gpointer user_data;
  GDestroyNotify destroy;
} Handler;

struct _CwCommandRegistry
{
  GObject parent_instance;
  GHashTable *handlers; /* name -> Handler */
  CwIdempotencyCache *idem;
  GHashTable *gone; /* name -> why its owner's commands went */
  CwEventBus *bus;  /* answers wait for the events of their call to be stored */
};

G_DEFINE_FINAL_TYPE (CwCommandRegistry, cw_command_registry, G_TYPE_OBJECT)

static void
handler_free (Handler *h)
{
  if (h->destroy != NULL)
    h->destroy (h->user_data);
  g_free (h->name);
  g_free (h->owner);
  g_free (h);
}

static void
cw_command_registry_finalize (GObject *object)
{
  CwCommandRegistry *self = CW_COMMAND_REGISTRY (object);

  g_hash_table_unref (self->handlers);
  cw_idempotency_cache_free (self->idem);
  g_hash_table_unref (self->gone);
  g_clear_object (&self->bus);
  G_OBJECT_CLASS (cw_command_registry_parent_class)->finalize (object);
}

static void
cw_command_registry_class_init (CwCommandRegistryClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = cw_command_registry_finalize;
}

static void
cw_command_registry_init (CwCommandRegistry *self)
{
  self->handlers
      = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) handler_free);
  self->idem = cw_idempotency_cache_new ();
  self->gone = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
}

CwCommandRegistry *
cw_command_registry_new (void)
{
  return g_object_new (CW_TYPE_COMMAND_REGISTRY, NULL);
}

static gboolean
command_name_is_valid (const gchar *name)
{
  if (name == NULL || *name == '\0' || strlen (name) > 128)
    return FALSE;
  for (const gchar *p = name; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && *p != '_' && *p != '.' && *p != '-' && *p != ':')
      return FALSE;
  return TRUE;
}

gboolean
cw_command_registry_add (CwCommandRegistry *self, const gchar *name, const gchar *owner,
                         CwCommandFlags flags, CwCommandFunc func, gpointer user_data,
                         GDestroyNotify destroy, GError **error)
{
  Handler *h;

  g_return_val_if_fail (CW_IS_COMMAND_REGISTRY (self), FALSE);
  g_return_val_if_fail (func != NULL, FALSE);

  if (!command_name_is_valid (name))
    {
      g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS, "invalid command name '%s'",
                   name != NULL ? name : "(null)");
      return FALSE;
    }
  h = g_hash_table_lookup (self->handlers, name);
  if (h != NULL)
    {
      g_set_error (error, CW_ERROR, CW_ERROR_EXISTS, "command %s is already registered by %s", name,
                   h->owner);
      return FALSE;
    }
  h = g_new0 (Handler, 1);
  h->name = g_strdup (name);
  h->owner = g_strdup (owner != NULL ? owner : "core");
  h->flags = flags;
  h->func = func;
  h->user_data = user_data;
  h->destroy = destroy;
  g_hash_table_insert (self->handlers, h->name, h);
  g_hash_table_remove (self->gone, name);
  return TRUE;
}

guint
cw_command_registry_remove_owner (CwCommandRegistry *self, const gchar *owner, const gchar *reason)
{
  GHashTableIter iter;
  Handler *h;
  guint removed = 0;

  g_return_val_if_fail (CW_IS_COMMAND_REGISTRY (self), 0);
  g_hash_table_iter_init (&iter, self->handlers);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &h))
    {
      if (g_strcmp0 (h->owner, owner) == 0)
        {
          if (reason != NULL)
            g_hash_table_replace (self->gone, g_strdup (h->name), g_strdup (reason));
          g_hash_table_iter_remove (&iter);
          removed++;
        }
    }
  return removed;
}

gboolean
cw_command_registry_has (CwCommandRegistry *self, const gchar *name)
{
  g_return_val_if_fail (CW_IS_COMMAND_REGISTRY (self), FALSE);
  return name != NULL && g_hash_table_contains (self->handlers, name);
}

gboolean
cw_command_registry_lookup (CwCommandRegistry *self, const gchar *name, CwCommandFlags *flags,
                            const gchar **owner)
{
  Handler *h;

  g_return_val_if_fail (CW_IS_COMMAND_REGISTRY (self), FALSE);
  h = name != NULL ? g_hash_table_lookup (self->handlers, name) : NULL;
  if (h == NULL)
    return FALSE;
  if (flags != NULL)
    *flags = h->flags;
  if (owner != NULL)
    *owner = h->owner;
  return TRUE;
}

static gint
compare_strings (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(const gchar *const *) a, *(const gchar *const *) b);
}

gchar **
cw_command_registry_list (CwCommandRegistry *self)
{
  GPtrArray *names = g_ptr_array_new ();
  GHashTableIter iter;
  const gchar *name;

  g_return_val_if_fail (CW_IS_COMMAND_REGISTRY (self), NULL);
  g_hash_table_iter_init (&iter, self->handlers);
  while (g_hash_table_iter_next (&iter, (gpointer *) &name, NULL))
    g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, compare_strings);
  g_ptr_array_add (names, NULL);
  return (gchar **) g_ptr_array_free (names, FALSE);
}

/* Returns the params object the handler sees, or NULL with @error. */
static JsonObject *
take_params (JsonNode *params, gchar **idempotency_key, GError **error)
{
  JsonObject *obj;
  const gchar *key;

  if (params == NULL || JSON_NODE_HOLDS_NULL (params))
    return json_object_new ();
  if (!JSON_NODE_HOLDS_OBJECT (params))
    {
      g_set_error_literal (error, CW_ERROR, CW_ERROR_INVALID_PARAMS, "params must be an object");
      return NULL;
    }
  obj = json_object_ref (json_node_get_object (params));
  key = json_object_has_member (obj, "_idempotencyKey")
            ? json_object_get_string_member_with_default (obj, "_idempotencyKey", NULL)
            : NULL;
  if (key != NULL && *key != '\0')
    *idempotency_key = g_strdup (key);
  json_object_remove_member (obj, "_idempotencyKey");
  json_object_remove_member (obj, "_retryAttempt");
  return obj;
}

/* NULL when @caller may run @h; else why not. */
static GError *
check_caller (Handler *h, CwCaller *caller)
{
  if (caller == NULL || cw_caller_get_kind (caller) != CW_CALLER_REMOTE)
    return NULL;
  if ((h->flags & CW_COMMAND_FLAG_REMOTE) == 0 || (h->flags & CW_COMMAND_FLAG_PRIVILEGED) != 0)
    return g_error_new (CW_ERROR, CW_ERROR_UNAUTHORIZED,
                        "%s may not be called from a paired device", h->name);
  return NULL;
}

static GError *
unknown_command (CwCommandRegistry *self, const gchar *command)
{
  const gchar *why = command != NULL ? g_hash_table_lookup (self->gone, command) : NULL;

  if (why != NULL)
    return g_error_new (CW_ERROR, CW_ERROR_NOT_SUPPORTED, "%s is not available: %s", command, why);
  return g_error_new (CW_ERROR, CW_ERROR_UNKNOWN_COMMAND, "Unknown command: %s",
                      command != NULL ? command : "");
}

void
cw_command_registry_set_event_bus (CwCommandRegistry *self, CwEventBus *bus)
{
  g_set_object (&self->bus, bus);
}

/* An answer on its way: it goes out once the events emitted while its call ran are stored,
 * and becomes an error if they cannot be (a client must not be told "done" about changes
 * whose events are gone). Events of concurrent calls count too: that only delays. */
typedef struct
{
  CwEventBus *bus;
  gint64 since;
  CwCommandReplyFunc reply;
  gpointer reply_data;
  JsonNode *result;
  gchar *raw;
  GError *error;
} HeldAnswer;

static void
on_answer_stored (const GError *store_error, gpointer user_data)
{
  HeldAnswer *a = user_data;

  if (store_error != NULL && a->error == NULL)
    {
      g_clear_pointer (&a->result, json_node_unref);
      g_clear_pointer (&a->raw, g_free);
      a->error = g_error_copy (store_error);
    }
  a->reply (a->result, a->raw, a->error, a->reply_data);
  g_object_unref (a->bus);
  g_free (a);
}

static void
on_answer (JsonNode *result, gchar *raw, GError *error, gpointer user_data)
{
  HeldAnswer *a = user_data;
  gint64 upto = cw_event_bus_get_last_seq (a->bus);

  a->result = result;
  a->raw = raw;
  a->error = error;
  if (upto == a->since)
    on_answer_stored (NULL, a);
  else
    cw_event_bus_when_stored (a->bus, a->since, upto, on_answer_stored, a);
}

void
cw_command_registry_dispatch (CwCommandRegistry *self, CwCaller *caller, const gchar *command,
                              JsonNode *params, CwCommandReplyFunc reply, gpointer reply_data)
{
  g_autoptr (CwInvocation) invocation = NULL;
  g_autoptr (JsonObject) obj = NULL;
  g_autofree gchar *idem_key = NULL;
  GError *error = NULL;
  Handler *h;

  h = command != NULL ? g_hash_table_lookup (self->handlers, command) : NULL;
  if (h == NULL)
    {
      reply (NULL, NULL, unknown_command (self, command), reply_data);
      return;
    }
  error = check_caller (h, caller);
  if (error != NULL)
    {
      reply (NULL, NULL, error, reply_data);
      return;
    }
  obj = take_params (params, &idem_key, &error);
  if (obj == NULL)
    {
      reply (NULL, NULL, error, reply_data);
      return;
    }
  if (self->bus != NULL)
    {
      HeldAnswer *a = g_new0 (HeldAnswer, 1);

      a->bus = g_object_ref (self->bus);
      a->since = cw_event_bus_get_last_seq (self->bus);
      a->reply = reply;
      a->reply_data = reply_data;
      reply = on_answer;
      reply_data = a;
    }

  if (idem_key != NULL)
    {
      CwIdempotencyEntry *e = cw_idempotency_cache_begin (
          self->idem, caller != NULL ? cw_caller_get_actor (caller) : "internal", command, idem_key,
          obj, reply, reply_data);

      if (e == NULL)
        return;
      invocation = cw_invocation_new (command, obj, caller, cw_idempotency_entry_done, e);
    }
  else
    {
      invocation = cw_invocation_new (command, obj, caller, reply, reply_data);
    }
  h->func (invocation, h->user_data);
}

static void
reply_to_task (JsonNode *result, gchar *raw, GError *error, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  g_autofree gchar *text = raw;

  /* In-process callers get a tree: parse text answers (the slow path, correct). */
  if (text != NULL)
    {
      result = cw_json_from_string (text, -1, &error);
      if (result == NULL)
        g_prefix_error (&error, "internal error: a command answered invalid JSON: ");
    }

  if (error != NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, result, (GDestroyNotify) json_node_unref);
}

void
cw_command_registry_call (CwCommandRegistry *self, CwCaller *caller, const gchar *command,
                          JsonNode *params, GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task;

  g_return_if_fail (CW_IS_COMMAND_REGISTRY (self));
  task = g_task_new (self, NULL, callback, user_data);
  g_task_set_source_tag (task, cw_command_registry_call);
  cw_command_registry_dispatch (self, caller, command, params, reply_to_task, task);
}

JsonNode *
cw_command_registry_call_finish (CwCommandRegistry *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}
