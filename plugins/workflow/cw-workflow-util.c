/* cw-workflow-util.c: JSON helpers of the workflow plugin. The app sends every optional
 * field as null: a null member is the same as a missing one everywhere here.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-workflow-plugin.h"

JsonNode *
cw_wf_member (JsonObject *obj, const gchar *name)
{
  JsonNode *node = obj != NULL ? json_object_get_member (obj, name) : NULL;

  return node != NULL && !JSON_NODE_HOLDS_NULL (node) ? node : NULL;
}

const gchar *
cw_wf_str (JsonObject *obj, const gchar *name)
{
  JsonNode *node = cw_wf_member (obj, name);

  return node != NULL && json_node_get_value_type (node) == G_TYPE_STRING
             ? json_node_get_string (node)
             : NULL;
}

gint64
cw_wf_int (JsonObject *obj, const gchar *name, gint64 fallback)
{
  JsonNode *node = cw_wf_member (obj, name);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node))
    return fallback;
  switch (json_node_get_value_type (node))
    {
      case G_TYPE_INT64:
        return json_node_get_int (node);
      case G_TYPE_DOUBLE:
        return (gint64) json_node_get_double (node);
      default:
        return fallback;
    }
}

gdouble
cw_wf_double (JsonObject *obj, const gchar *name, gdouble fallback)
{
  JsonNode *node = cw_wf_member (obj, name);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node))
    return fallback;
  switch (json_node_get_value_type (node))
    {
      case G_TYPE_INT64:
        return (gdouble) json_node_get_int (node);
      case G_TYPE_DOUBLE:
        return json_node_get_double (node);
      default:
        return fallback;
    }
}

gboolean
cw_wf_bool (JsonObject *obj, const gchar *name, gboolean fallback)
{
  JsonNode *node = cw_wf_member (obj, name);

  return node != NULL && json_node_get_value_type (node) == G_TYPE_BOOLEAN
             ? json_node_get_boolean (node)
             : fallback;
}

JsonObject *
cw_wf_obj (JsonObject *obj, const gchar *name)
{
  JsonNode *node = cw_wf_member (obj, name);

  return node != NULL && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
}

JsonArray *
cw_wf_arr (JsonObject *obj, const gchar *name)
{
  JsonNode *node = cw_wf_member (obj, name);

  return node != NULL && JSON_NODE_HOLDS_ARRAY (node) ? json_node_get_array (node) : NULL;
}

JsonNode *
cw_wf_parse (const gchar *text)
{
  return text != NULL ? cw_json_from_string (text, -1, NULL) : NULL;
}

JsonObject *
cw_wf_parse_object (const gchar *text)
{
  g_autoptr (JsonNode) node = cw_wf_parse (text);

  return node != NULL && JSON_NODE_HOLDS_OBJECT (node)
             ? json_object_ref (json_node_get_object (node))
             : NULL;
}

gchar *
cw_wf_node_to_string (JsonNode *node)
{
  return cw_json_to_string (node);
}

gchar *
cw_wf_to_string (JsonObject *obj)
{
  g_autoptr (JsonNode) node = json_node_init_object (json_node_alloc (), obj);

  return cw_json_to_string (node);
}

/* json_node_copy() shares objects and arrays; these copy all the way down. */
JsonNode *
cw_wf_deep_copy (JsonNode *node)
{
  JsonNode *copy;

  if (node == NULL)
    return NULL;
  if (JSON_NODE_HOLDS_OBJECT (node))
    {
      JsonObject *obj = cw_wf_copy_object (json_node_get_object (node));
      copy = json_node_init_object (json_node_alloc (), obj);
      json_object_unref (obj);
      return copy;
    }
  if (JSON_NODE_HOLDS_ARRAY (node))
    {
      JsonArray *src = json_node_get_array (node), *dst = json_array_new ();
      for (guint i = 0; i < json_array_get_length (src); i++)
        json_array_add_element (dst, cw_wf_deep_copy (json_array_get_element (src, i)));
      copy = json_node_init_array (json_node_alloc (), dst);
      json_array_unref (dst);
      return copy;
    }
  return json_node_copy (node);
}

JsonObject *
cw_wf_copy_object (JsonObject *obj)
{
  JsonObject *dst = json_object_new ();
  GList *members = obj != NULL ? json_object_get_members (obj) : NULL;

  for (GList *l = members; l != NULL; l = l->next)
    json_object_set_member (dst, l->data, cw_wf_deep_copy (json_object_get_member (obj, l->data)));
  g_list_free (members);
  return dst;
}

void
cw_wf_emit (CwWorkflowPlugin *self, const gchar *type, JsonObject *data)
{
  g_autofree gchar *name = g_strconcat ("workflow:", type, NULL);

  cw_plugin_emit (CW_PLUGIN (self), name, NULL, data);
}

gint64
cw_wf_now (CwWorkflowPlugin *self)
{
  return self->started ? cw_plugin_schedule_get_now (CW_PLUGIN (self)) : cw_now_ms ();
}

static void
bind_va (sqlite3_stmt *stmt, const gchar *types, va_list ap)
{
  for (gint i = 0; types != NULL && types[i] != '\0'; i++)
    switch (types[i])
      {
        case 's':
          {
            const gchar *s = va_arg (ap, const gchar *);
            if (s != NULL)
              sqlite3_bind_text (stmt, i + 1, s, -1, SQLITE_TRANSIENT);
            else
              sqlite3_bind_null (stmt, i + 1);
            break;
          }
        case 'i':
          sqlite3_bind_int64 (stmt, i + 1, va_arg (ap, gint64));
          break;
        default:
          g_assert_not_reached ();
      }
}

sqlite3_stmt *
cw_wf_query (CwWorkflowPlugin *self, const gchar *sql, GError **error, const gchar *types, ...)
{
  sqlite3_stmt *stmt = cw_store_prepare (self->store, sql, error);
  va_list ap;

  if (stmt == NULL)
    return NULL;
  va_start (ap, types);
  bind_va (stmt, types, ap);
  va_end (ap);
  return stmt;
}

gboolean
cw_wf_exec (CwWorkflowPlugin *self, const gchar *sql, GError **error, const gchar *types, ...)
{
  sqlite3_stmt *stmt = cw_store_prepare (self->store, sql, error);
  va_list ap;
  gint rc;

  if (stmt == NULL)
    return FALSE;
  va_start (ap, types);
  bind_va (stmt, types, ap);
  va_end (ap);
  rc = sqlite3_step (stmt);
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE && rc != SQLITE_ROW)
    return cw_store_set_error (self->store, error, "writing workflow data");
  return TRUE;
}

JsonObject *
cw_wf_column_object (sqlite3_stmt *stmt, gint column)
{
  return cw_wf_parse_object ((const gchar *) sqlite3_column_text (stmt, column));
}

gboolean
cw_wf_in_transaction (CwWorkflowPlugin *self, CwWfTxFunc func, gpointer data, GError **error)
{
  if (!cw_store_savepoint (self->store, "workflow", error))
    return FALSE;
  if (!func (self, data, error))
    {
      cw_store_rollback_to (self->store, "workflow");
      cw_store_release (self->store, "workflow", NULL);
      return FALSE;
    }
  return cw_store_release (self->store, "workflow", error);
}
