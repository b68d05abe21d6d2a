/* cw-invocation.c: one running command call, answered exactly once (like
 * GDBusMethodInvocation). A handler that drops it unanswered gets an internal error sent.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-invocation-private.h"

struct _CwInvocation
{
  GObject parent_instance;
  gchar *command;
  JsonObject *params;
  CwCaller *caller;
  CwCommandReplyFunc done;
  gpointer done_data;
  gboolean finished;
};

G_DEFINE_FINAL_TYPE (CwInvocation, cw_invocation, G_TYPE_OBJECT)

static void
cw_invocation_finish (CwInvocation *self, JsonNode *result, gchar *raw, GError *error)
{
  if (self->finished)
    {
      g_critical ("command %s answered twice", self->command);
      if (result != NULL)
        json_node_unref (result);
      g_free (raw);
      g_clear_error (&error);
      return;
    }
  self->finished = TRUE;
  self->done (result, raw, error, self->done_data);
}

static void
cw_invocation_finalize (GObject *object)
{
  CwInvocation *self = CW_INVOCATION (object);

  if (!self->finished)
    {
      g_warning ("command %s dropped without an answer", self->command);
      cw_invocation_finish (self, NULL, NULL,
                            g_error_new (CW_ERROR, CW_ERROR_INTERNAL,
                                         "internal error: %s returned no answer", self->command));
    }
  g_free (self->command);
  json_object_unref (self->params);
  cw_caller_unref (self->caller);
  G_OBJECT_CLASS (cw_invocation_parent_class)->finalize (object);
}

static void
cw_invocation_class_init (CwInvocationClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = cw_invocation_finalize;
}

static void
cw_invocation_init (CwInvocation *self)
{
}

CwInvocation *
cw_invocation_new (const gchar *command, JsonObject *params, CwCaller *caller,
                   CwCommandReplyFunc done, gpointer done_data)
{
  CwInvocation *self = g_object_new (CW_TYPE_INVOCATION, NULL);

  self->command = g_strdup (command);
  self->params = json_object_ref (params);
  self->caller = caller != NULL ? cw_caller_ref (caller) : cw_caller_new_internal ();
  self->done = done;
  self->done_data = done_data;
  return self;
}

CwCaller *
cw_invocation_get_caller (CwInvocation *self)
{
  g_return_val_if_fail (CW_IS_INVOCATION (self), NULL);
  return self->caller;
}

GCancellable *
cw_invocation_get_cancellable (CwInvocation *self)
{
  g_return_val_if_fail (CW_IS_INVOCATION (self), NULL);
  return cw_caller_get_cancellable (self->caller);
}

const gchar *
cw_invocation_get_command (CwInvocation *self)
{
  g_return_val_if_fail (CW_IS_INVOCATION (self), NULL);
  return self->command;
}

JsonObject *
cw_invocation_get_params (CwInvocation *self)
{
  g_return_val_if_fail (CW_IS_INVOCATION (self), NULL);
  return self->params;
}

static JsonNode *
get_member (CwInvocation *self, const gchar *name)
{
  JsonNode *node = json_object_get_member (self->params, name);

  if (node != NULL && JSON_NODE_HOLDS_NULL (node))
    return NULL;
  return node;
}

const gchar *
cw_invocation_get_string (CwInvocation *self, const gchar *name, gboolean required, GError **error)
{
  JsonNode *node;

  g_return_val_if_fail (CW_IS_INVOCATION (self), NULL);
  node = get_member (self, name);
  if (node == NULL
      || (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING
          && *json_node_get_string (node) == '\0'))
    {
      if (required)
        g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS, "%s is required", name);
      return NULL;
    }
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    {
      g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS, "%s must be a string", name);
      return NULL;
    }
  return json_node_get_string (node);
}

gboolean
cw_invocation_get_int (CwInvocation *self, const gchar *name, gint64 default_value,
                       gint64 *out_value, GError **error)
{
  JsonNode *node;
  GType type;

  g_return_val_if_fail (CW_IS_INVOCATION (self), FALSE);
  node = get_member (self, name);
  *out_value = default_value;
  if (node == NULL)
    return TRUE;
  type = JSON_NODE_HOLDS_VALUE (node) ? json_node_get_value_type (node) : G_TYPE_INVALID;
  if (type == G_TYPE_INT64)
    {
      *out_value = json_node_get_int (node);
      return TRUE;
    }
  if (type == G_TYPE_DOUBLE)
    {
      gdouble v = json_node_get_double (node);
      if (v >= -9.0e15 && v <= 9.0e15 && v == (gdouble) (gint64) v)
        {
          *out_value = (gint64) v;
          return TRUE;
        }
    }
  g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS, "%s must be an integer", name);
  return FALSE;
}

gboolean
cw_invocation_get_boolean (CwInvocation *self, const gchar *name, gboolean default_value,
                           gboolean *out_value, GError **error)
{
  JsonNode *node;

  g_return_val_if_fail (CW_IS_INVOCATION (self), FALSE);
  node = get_member (self, name);
  *out_value = default_value;
  if (node == NULL)
    return TRUE;
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_BOOLEAN)
    {
      g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS, "%s must be a boolean", name);
      return FALSE;
    }
  *out_value = json_node_get_boolean (node);
  return TRUE;
}

void
cw_invocation_return_value (CwInvocation *self, JsonNode *result)
{
  g_return_if_fail (CW_IS_INVOCATION (self));
  if (result == NULL)
    result = json_node_new (JSON_NODE_NULL);
  cw_invocation_finish (self, result, NULL, NULL);
}

void
cw_invocation_return_json_text (CwInvocation *self, gchar *json)
{
  g_return_if_fail (CW_IS_INVOCATION (self));
  g_return_if_fail (json != NULL);
  cw_invocation_finish (self, NULL, json, NULL);
}

void
cw_invocation_return_object (CwInvocation *self, JsonObject *result)
{
  JsonNode *node = json_node_new (JSON_NODE_OBJECT);

  json_node_take_object (node, result);
  cw_invocation_return_value (self, node);
}

void
cw_invocation_return_error (CwInvocation *self, GError *error)
{
  g_return_if_fail (CW_IS_INVOCATION (self));
  g_return_if_fail (error != NULL);
  cw_invocation_finish (self, NULL, NULL, error);
}

void
cw_invocation_return_error_literal (CwInvocation *self, CwError code, const gchar *message)
{
  cw_invocation_return_error (self, g_error_new_literal (CW_ERROR, code, message));
}

void
cw_invocation_return_new_error (CwInvocation *self, CwError code, const gchar *format, ...)
{
  va_list args;
  gchar *message;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  cw_invocation_return_error (self, g_error_new_literal (CW_ERROR, code, message));
  g_free (message);
}

gboolean
cw_invocation_is_finished (CwInvocation *self)
{
  g_return_val_if_fail (CW_IS_INVOCATION (self), TRUE);
  return self->finished;
}
