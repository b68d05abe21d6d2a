/* cw-workflow-defs.c: workflow definitions (contract §2.2): drafts, versions, validation.
 *
 * The draft keeps version 1 for ever and is edited in place; each publish copies it to a new
 * row max(version)+1 with status published and materialises its triggers; archive marks the
 * current row archived and disables its triggers. workflow_aliases holds which version is the
 * draft and which the published one.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-workflow-plugin.h"

#include <string.h>

static const gchar *const node_types[]
    = { "start",       "end",          "tool",         "mcp_tool", "connector_tool", "agent_step",
        "memory_read", "memory_write", "condition",    "parallel", "loop",           "wait",
        "approval",    "subworkflow",  "notification", NULL };
static const gchar *const trigger_types[]
    = { "manual", "chat", "schedule", "webhook", "integration_event", "workflow_call", NULL };
static const gchar *const edge_conditions[] = { "success", "failure", "always", "custom", NULL };

/* ---- rows ------------------------------------------------------------------------------ */

static JsonObject *load_row_uncached (CwWorkflowPlugin *self, const gchar *id, gint64 version);

static gchar *
cache_key (const gchar *id, gint64 version)
{
  return g_strdup_printf ("%s:%" G_GINT64_FORMAT, id, version);
}

/* Published versions never change (but for archive, which saves them again): runs of one
 * version share one parsed definition. Drafts are read each time. */
static JsonObject *
load_row (CwWorkflowPlugin *self, const gchar *id, gint64 version)
{
  g_autofree gchar *key = cache_key (id, version);
  JsonObject *cached = g_hash_table_lookup (self->definitions, key);

  if (cached != NULL)
    return json_object_ref (cached);
  cached = load_row_uncached (self, id, version);
  if (cached != NULL && g_strcmp0 (cw_wf_str (cached, "status"), "draft") != 0)
    g_hash_table_insert (self->definitions, g_steal_pointer (&key), json_object_ref (cached));
  return cached;
}

static JsonObject *
load_row_uncached (CwWorkflowPlugin *self, const gchar *id, gint64 version)
{
  sqlite3_stmt *stmt = cw_wf_query (
      self, "SELECT definition FROM workflow_definitions WHERE id = ?1 AND version = ?2", NULL,
      "si", id, version);
  JsonObject *def = NULL;

  if (stmt == NULL)
    return NULL;
  if (sqlite3_step (stmt) == SQLITE_ROW)
    def = cw_wf_column_object (stmt, 0);
  sqlite3_reset (stmt);
  return def;
}

static gboolean
load_alias (CwWorkflowPlugin *self, const gchar *id, gint64 *draft, gint64 *published)
{
  sqlite3_stmt *stmt = cw_wf_query (
      self, "SELECT draft_version, published_version FROM workflow_aliases WHERE workflow_id = ?1",
      NULL, "s", id);
  gboolean found = FALSE;

  *draft = *published = 0;
  if (stmt == NULL)
    return FALSE;
  if (sqlite3_step (stmt) == SQLITE_ROW)
    {
      found = TRUE;
      *draft = sqlite3_column_type (stmt, 0) == SQLITE_NULL ? 0 : sqlite3_column_int64 (stmt, 0);
      *published
          = sqlite3_column_type (stmt, 1) == SQLITE_NULL ? 0 : sqlite3_column_int64 (stmt, 1);
    }
  sqlite3_reset (stmt);
  return found;
}

static gboolean
save_alias (CwWorkflowPlugin *self, const gchar *id, gint64 draft, gint64 published, GError **error)
{
  return cw_wf_exec (self,
                     "INSERT INTO workflow_aliases (workflow_id, draft_version, published_version,"
                     " updated_at) VALUES (?1, NULLIF(?2, 0), NULLIF(?3, 0), ?4)"
                     " ON CONFLICT(workflow_id) DO UPDATE SET draft_version = NULLIF(?2, 0),"
                     " published_version = NULLIF(?3, 0), updated_at = ?4",
                     error, "siii", id, draft, published, cw_now_ms ());
}

gboolean
cw_wf_defs_save (CwWorkflowPlugin *self, JsonObject *def, GError **error)
{
  g_autofree gchar *text = cw_wf_to_string (def);
  g_autofree gchar *key = cache_key (cw_wf_str (def, "id"), cw_wf_int (def, "version", 1));

  g_hash_table_remove (self->definitions, key);
  return cw_wf_exec (
      self,
      "INSERT INTO workflow_definitions (id, version, status, created_at, updated_at,"
      " definition) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
      " ON CONFLICT(id, version) DO UPDATE SET status = ?3, updated_at = ?5,"
      " definition = ?6",
      error, "sisiis", cw_wf_str (def, "id"), cw_wf_int (def, "version", 1),
      cw_wf_str (def, "status"), cw_wf_int (def, "createdAt", 0), cw_wf_int (def, "updatedAt", 0),
      text);
}

JsonObject *
cw_wf_defs_get (CwWorkflowPlugin *self, const gchar *id, gint64 version, gboolean published_only)
{
  gint64 draft, published;

  if (id == NULL)
    return NULL;
  if (version > 0)
    return load_row (self, id, version);
  if (!load_alias (self, id, &draft, &published))
    return NULL;
  if (published > 0)
    return load_row (self, id, published);
  return published_only || draft <= 0 ? NULL : load_row (self, id, draft);
}

JsonObject *
cw_wf_defs_resolve (CwWorkflowPlugin *self, const gchar *id, gint64 version)
{
  return cw_wf_defs_get (self, id, version, FALSE);
}

GPtrArray *
cw_wf_defs_list (CwWorkflowPlugin *self, gint64 limit, gint64 offset)
{
  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  sqlite3_stmt *stmt = cw_wf_query (
      self,
      "SELECT d.definition FROM workflow_aliases a JOIN workflow_definitions d"
      " ON d.id = a.workflow_id AND d.version = COALESCE(a.published_version, a.draft_version)"
      " ORDER BY a.updated_at DESC, a.workflow_id LIMIT ?1 OFFSET ?2",
      NULL, "ii", limit, offset);

  if (stmt == NULL)
    return out;
  while (sqlite3_step (stmt) == SQLITE_ROW)
    {
      JsonObject *def = cw_wf_column_object (stmt, 0);
      if (def != NULL)
        g_ptr_array_add (out, def);
    }
  sqlite3_reset (stmt);
  return out;
}

JsonObject *
cw_wf_defs_find_node (JsonObject *def, const gchar *node_id)
{
  JsonArray *nodes = cw_wf_arr (def, "nodes");

  for (guint i = 0; nodes != NULL && node_id != NULL && i < json_array_get_length (nodes); i++)
    {
      JsonObject *node = json_array_get_object_element (nodes, i);
      if (node != NULL && g_strcmp0 (cw_wf_str (node, "id"), node_id) == 0)
        return node;
    }
  return NULL;
}

/* ---- shape ----------------------------------------------------------------------------- */

static JsonObject *
default_defaults (void)
{
  JsonObject *d = json_object_new ();
  JsonObject *retry = json_object_new ();

  json_object_set_int_member (d, "maxRunTimeMs", 1800000);
  json_object_set_int_member (d, "nodeTimeoutMs", 300000);
  json_object_set_int_member (retry, "maxAttempts", 3);
  json_object_set_int_member (retry, "backoffMs", 1000);
  json_object_set_int_member (retry, "maxBackoffMs", 20000);
  json_object_set_double_member (retry, "jitterRatio", 0.2);
  json_object_set_object_member (d, "retry", retry);
  return d;
}

static gboolean
is_array_or_absent (JsonObject *obj, const gchar *name, GError **error)
{
  JsonNode *node = cw_wf_member (obj, name);

  if (node == NULL || JSON_NODE_HOLDS_ARRAY (node))
    return TRUE;
  g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS, "%s must be an array", name);
  return FALSE;
}

static void
ensure_array (JsonObject *obj, const gchar *name)
{
  if (cw_wf_arr (obj, name) == NULL)
    json_object_set_array_member (obj, name, json_array_new ());
}

static gboolean
normalize_list (JsonObject *def, const gchar *name, const gchar *prefix, GError **error)
{
  JsonArray *list = cw_wf_arr (def, name);

  for (guint i = 0; list != NULL && i < json_array_get_length (list); i++)
    {
      JsonNode *element = json_array_get_element (list, i);
      JsonObject *item;
      if (!JSON_NODE_HOLDS_OBJECT (element))
        {
          g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS, "%s[%u] must be an object", name,
                       i);
          return FALSE;
        }
      item = json_node_get_object (element);
      if (prefix != NULL && cw_wf_str (item, "id") == NULL)
        {
          g_autofree gchar *id = cw_make_id (prefix);
          json_object_set_string_member (item, "id", id);
        }
      if (g_str_equal (name, "triggers"))
        {
          json_object_set_boolean_member (item, "enabled", cw_wf_bool (item, "enabled", TRUE));
          if (cw_wf_str (item, "type") == NULL)
            json_object_set_string_member (item, "type", "manual");
        }
      else if (g_str_equal (name, "nodes"))
        {
          if (cw_wf_obj (item, "config") == NULL)
            json_object_set_object_member (item, "config", json_object_new ());
          if (cw_wf_str (item, "name") == NULL && cw_wf_str (item, "id") != NULL)
            json_object_set_string_member (item, "name", cw_wf_str (item, "id"));
        }
      else if (g_str_equal (name, "edges"))
        {
          if (cw_wf_str (item, "condition") == NULL)
            json_object_set_string_member (item, "condition", "success");
          if (cw_wf_str (item, "id") == NULL)
            {
              g_autofree gchar *id = g_strdup_printf ("edge_%u", i + 1);
              json_object_set_string_member (item, "id", id);
            }
        }
    }
  return TRUE;
}

gboolean
cw_wf_defs_normalize (JsonObject *def, GError **error)
{
  JsonObject *defaults;
  const gchar *name = cw_wf_str (def, "name");

  if (!is_array_or_absent (def, "triggers", error) || !is_array_or_absent (def, "nodes", error)
      || !is_array_or_absent (def, "edges", error) || !is_array_or_absent (def, "tags", error))
    return FALSE;
  if (name != NULL && g_utf8_strlen (name, -1) > 120)
    {
      g_set_error_literal (error, CW_ERROR, CW_ERROR_INVALID_PARAMS,
                           "name must be at most 120 characters");
      return FALSE;
    }
  if (cw_wf_str (def, "description") != NULL
      && g_utf8_strlen (cw_wf_str (def, "description"), -1) > 1000)
    {
      g_set_error_literal (error, CW_ERROR, CW_ERROR_INVALID_PARAMS,
                           "description must be at most 1000 characters");
      return FALSE;
    }
  ensure_array (def, "tags");
  ensure_array (def, "triggers");
  ensure_array (def, "nodes");
  ensure_array (def, "edges");
  json_object_set_string_member (def, "schemaVersion", "1");
  if (!normalize_list (def, "triggers", "trg", error) || !normalize_list (def, "nodes", NULL, error)
      || !normalize_list (def, "edges", NULL, error))
    return FALSE;
  defaults = cw_wf_obj (def, "defaults");
  if (defaults == NULL)
    json_object_set_object_member (def, "defaults", default_defaults ());
  else
    {
      g_autoptr (JsonObject) base = default_defaults ();
      GList *members = json_object_get_members (base);
      for (GList *l = members; l != NULL; l = l->next)
        if (cw_wf_member (defaults, l->data) == NULL)
          json_object_set_member (defaults, l->data,
                                  cw_wf_deep_copy (json_object_get_member (base, l->data)));
      g_list_free (members);
    }
  return TRUE;
}

/* ---- validation ------------------------------------------------------------------------ */

static void add_message (JsonArray *list, const gchar *format, ...) G_GNUC_PRINTF (2, 3);

static void
add_message (JsonArray *list, const gchar *format, ...)
{
  va_list ap;
  g_autofree gchar *text = NULL;

  va_start (ap, format);
  text = g_strdup_vprintf (format, ap);
  va_end (ap);
  json_array_add_string_element (list, text);
}

static void
validate_node_config (JsonObject *node, JsonArray *errors, JsonArray *warnings)
{
  const gchar *id = cw_wf_str (node, "id");
  const gchar *type = cw_wf_str (node, "type");
  JsonObject *config = cw_wf_obj (node, "config");

  if (type == NULL)
    return;
  if (g_str_equal (type, "condition") && cw_wf_str (config, "expression") == NULL)
    add_message (errors, "Condition node %s has no expression", id);
  else if (g_str_equal (type, "subworkflow") && cw_wf_str (config, "workflowId") == NULL)
    add_message (errors, "Subworkflow node %s has no workflowId", id);
  else if ((g_str_equal (type, "memory_read") || g_str_equal (type, "memory_write"))
           && cw_wf_str (config, "key") == NULL)
    add_message (errors, "Memory node %s has no key", id);
  else if (g_str_equal (type, "agent_step") && cw_wf_str (config, "promptTemplate") == NULL
           && cw_wf_str (config, "prompt") == NULL)
    add_message (warnings, "Agent step %s has no prompt", id);
  else if (g_str_equal (type, "mcp_tool") || g_str_equal (type, "connector_tool"))
    add_message (warnings, "Node %s: %s nodes are not supported by this daemon and fail", id, type);
}

JsonObject *
cw_wf_defs_validate (JsonObject *def)
{
  JsonObject *result = json_object_new ();
  JsonArray *errors = json_array_new ();
  JsonArray *warnings = json_array_new ();
  JsonArray *nodes = cw_wf_arr (def, "nodes");
  JsonArray *edges = cw_wf_arr (def, "edges");
  JsonArray *triggers = cw_wf_arr (def, "triggers");
  g_autoptr (GHashTable) ids = g_hash_table_new (g_str_hash, g_str_equal);
  const gchar *name = cw_wf_str (def, "name");
  guint starts = 0, ends = 0;
  g_autofree gchar *trimmed = g_strstrip (g_strdup (name != NULL ? name : ""));

  if (*trimmed == '\0')
    add_message (errors, "Workflow name is required");
  if (nodes == NULL || json_array_get_length (nodes) == 0)
    add_message (errors, "Workflow must have at least one node");
  for (guint i = 0; nodes != NULL && i < json_array_get_length (nodes); i++)
    {
      JsonObject *node = json_array_get_object_element (nodes, i);
      const gchar *id = node != NULL ? cw_wf_str (node, "id") : NULL;
      const gchar *type = node != NULL ? cw_wf_str (node, "type") : NULL;

      if (id == NULL || *id == '\0')
        {
          add_message (errors, "Node at index %u has an empty id", i);
          continue;
        }
      if (g_hash_table_contains (ids, id))
        add_message (errors, "Duplicate node id: %s", id);
      g_hash_table_add (ids, (gpointer) id);
      if (type == NULL || !g_strv_contains (node_types, type))
        add_message (errors, "Node %s has an unknown type: %s", id, type != NULL ? type : "");
      else if (g_str_equal (type, "start"))
        starts++;
      else if (g_str_equal (type, "end"))
        ends++;
      validate_node_config (node, errors, warnings);
    }
  if (nodes != NULL && json_array_get_length (nodes) > 0 && starts == 0)
    add_message (errors, "Workflow must have a start node");
  for (guint i = 0; edges != NULL && i < json_array_get_length (edges); i++)
    {
      JsonObject *edge = json_array_get_object_element (edges, i);
      const gchar *eid = edge != NULL ? cw_wf_str (edge, "id") : NULL;
      const gchar *from = edge != NULL ? cw_wf_str (edge, "from") : NULL;
      const gchar *to = edge != NULL ? cw_wf_str (edge, "to") : NULL;
      const gchar *condition = edge != NULL ? cw_wf_str (edge, "condition") : NULL;

      if (from == NULL || !g_hash_table_contains (ids, from))
        add_message (errors, "Edge %s references an unknown source node: %s",
                     eid != NULL ? eid : "?", from != NULL ? from : "");
      if (to == NULL || !g_hash_table_contains (ids, to))
        add_message (errors, "Edge %s references an unknown target node: %s",
                     eid != NULL ? eid : "?", to != NULL ? to : "");
      if (condition != NULL && !g_strv_contains (edge_conditions, condition))
        add_message (errors, "Edge %s has an unknown condition: %s", eid, condition);
      if (g_strcmp0 (condition, "custom") == 0 && cw_wf_str (edge, "expression") == NULL)
        add_message (errors, "Custom edge %s requires an expression", eid);
      else if (g_strcmp0 (condition, "custom") == 0)
        {
          g_autoptr (GError) local = NULL;
          g_autoptr (JsonObject) empty = json_object_new ();
          gboolean ignored;
          if (!cw_wf_expr_eval (cw_wf_str (edge, "expression"), empty, &ignored, &local))
            add_message (errors, "Edge %s: %s", eid, local->message);
        }
    }
  for (guint i = 0; triggers != NULL && i < json_array_get_length (triggers); i++)
    {
      JsonObject *trigger = json_array_get_object_element (triggers, i);
      const gchar *type = trigger != NULL ? cw_wf_str (trigger, "type") : NULL;
      if (type == NULL || !g_strv_contains (trigger_types, type))
        add_message (errors, "Trigger %s has an unknown type: %s",
                     trigger != NULL ? cw_wf_str (trigger, "id") : "?", type != NULL ? type : "");
      else if (g_str_equal (type, "webhook") && cw_wf_str (trigger, "endpointKey") == NULL)
        add_message (errors, "Webhook trigger %s requires an endpointKey",
                     cw_wf_str (trigger, "id"));
      else if (g_str_equal (type, "webhook")
               && g_strcmp0 (cw_wf_str (trigger, "authMode"), "none") != 0
               && cw_wf_str (trigger, "authMode") != NULL
               && cw_wf_str (trigger, "secretRef") == NULL && cw_wf_str (trigger, "secret") == NULL)
        add_message (errors, "Webhook trigger %s with authMode %s requires a secret",
                     cw_wf_str (trigger, "id"), cw_wf_str (trigger, "authMode"));
      else if (g_str_equal (type, "schedule") && cw_wf_obj (trigger, "schedule") == NULL)
        add_message (errors, "Schedule trigger %s requires a schedule", cw_wf_str (trigger, "id"));
    }
  if (starts > 1)
    add_message (warnings, "Workflow has several start nodes; the first one is used");
  if (nodes != NULL && json_array_get_length (nodes) > 0 && ends == 0)
    add_message (warnings, "Workflow has no end node");
  if (triggers == NULL || json_array_get_length (triggers) == 0)
    add_message (warnings, "Workflow has no triggers");
  json_object_set_boolean_member (result, "valid", json_array_get_length (errors) == 0);
  json_object_set_array_member (result, "errors", errors);
  json_object_set_array_member (result, "warnings", warnings);
  return result;
}

/* ---- drafts ---------------------------------------------------------------------------- */

static const gchar *const input_fields[]
    = { "name",     "description",        "tags", "triggers", "nodes", "edges",
        "defaults", "permissionsProfile", NULL };

static void
copy_input (JsonObject *def, JsonObject *input)
{
  for (guint i = 0; input_fields[i] != NULL; i++)
    {
      JsonNode *node = json_object_get_member (input, input_fields[i]);
      if (node == NULL)
        continue;
      if (JSON_NODE_HOLDS_NULL (node) && g_str_equal (input_fields[i], "name"))
        continue;
      if (JSON_NODE_HOLDS_NULL (node))
        json_object_remove_member (def, input_fields[i]);
      else
        json_object_set_member (def, input_fields[i], cw_wf_deep_copy (node));
    }
}

static JsonObject *
new_node (const gchar *id, const gchar *type, const gchar *name)
{
  JsonObject *node = json_object_new ();

  json_object_set_string_member (node, "id", id);
  json_object_set_string_member (node, "type", type);
  json_object_set_string_member (node, "name", name);
  json_object_set_object_member (node, "config", json_object_new ());
  return node;
}

static JsonObject *
new_edge (const gchar *id, const gchar *from, const gchar *to, const gchar *condition)
{
  JsonObject *edge = json_object_new ();

  json_object_set_string_member (edge, "id", id);
  json_object_set_string_member (edge, "from", from);
  json_object_set_string_member (edge, "to", to);
  json_object_set_string_member (edge, "condition", condition);
  return edge;
}

static void
set_created_by (JsonObject *def, JsonObject *input)
{
  if (cw_wf_str (input, "createdBy") != NULL)
    json_object_set_string_member (def, "createdBy", cw_wf_str (input, "createdBy"));
}

JsonObject *
cw_wf_defs_create_draft (CwWorkflowPlugin *self, JsonObject *input, GError **error)
{
  g_autoptr (JsonObject) def = json_object_new ();
  g_autofree gchar *id = cw_make_id ("wf");
  const gchar *name = cw_wf_str (input, "name");
  gint64 now = cw_now_ms ();

  g_autofree gchar *trimmed = g_strstrip (g_strdup (name != NULL ? name : ""));

  if (*trimmed == '\0')
    {
      g_set_error_literal (error, CW_ERROR, CW_ERROR_INVALID_PARAMS, "name is required");
      return NULL;
    }
  json_object_set_string_member (def, "id", id);
  json_object_set_int_member (def, "version", 1);
  json_object_set_string_member (def, "status", "draft");
  copy_input (def, input);
  set_created_by (def, input);
  if (cw_wf_arr (def, "triggers") == NULL)
    {
      JsonArray *triggers = json_array_new ();
      JsonObject *manual = json_object_new ();
      g_autofree gchar *tid = cw_make_id ("trg");
      json_object_set_string_member (manual, "id", tid);
      json_object_set_string_member (manual, "type", "manual");
      json_object_set_boolean_member (manual, "enabled", TRUE);
      json_array_add_object_element (triggers, manual);
      json_object_set_array_member (def, "triggers", triggers);
    }
  if (cw_wf_arr (def, "nodes") == NULL)
    {
      JsonArray *nodes = json_array_new ();
      json_array_add_object_element (nodes, new_node ("start", "start", "Start"));
      json_array_add_object_element (nodes, new_node ("end", "end", "End"));
      json_object_set_array_member (def, "nodes", nodes);
      if (cw_wf_arr (def, "edges") == NULL)
        {
          JsonArray *edges = json_array_new ();
          json_array_add_object_element (edges,
                                         new_edge ("edge_start_end", "start", "end", "always"));
          json_object_set_array_member (def, "edges", edges);
        }
    }
  json_object_set_int_member (def, "createdAt", now);
  json_object_set_int_member (def, "updatedAt", now);
  if (!cw_wf_defs_normalize (def, error) || !cw_wf_defs_save (self, def, error)
      || !save_alias (self, id, 1, 0, error))
    return NULL;
  return g_steal_pointer (&def);
}

static gint64
max_version (CwWorkflowPlugin *self, const gchar *id)
{
  sqlite3_stmt *stmt = cw_wf_query (
      self, "SELECT MAX(version) FROM workflow_definitions WHERE id = ?1", NULL, "s", id);
  gint64 v = 0;

  if (stmt == NULL)
    return 0;
  if (sqlite3_step (stmt) == SQLITE_ROW)
    v = sqlite3_column_int64 (stmt, 0);
  sqlite3_reset (stmt);
  return v;
}

static JsonObject *
load_draft (CwWorkflowPlugin *self, const gchar *id, gint64 *published, GError **error)
{
  gint64 draft = 0;
  JsonObject *def;

  if (!load_alias (self, id, &draft, published) || draft <= 0
      || (def = load_row (self, id, draft)) == NULL)
    {
      g_set_error (error, CW_ERROR, CW_ERROR_NOT_FOUND, "Workflow not found: %s", id);
      return NULL;
    }
  return def;
}

JsonObject *
cw_wf_defs_update_draft (CwWorkflowPlugin *self, const gchar *id, JsonObject *updates,
                         GError **error)
{
  gint64 published = 0;
  g_autoptr (JsonObject) def = load_draft (self, id, &published, error);
  g_autoptr (JsonObject) trial = NULL;
  const gchar *name;

  if (def == NULL)
    return NULL;
  trial = cw_wf_copy_object (def);
  if (updates != NULL)
    copy_input (trial, updates);
  name = cw_wf_str (trial, "name");
  if (name == NULL || *name == '\0')
    {
      g_set_error_literal (error, CW_ERROR, CW_ERROR_INVALID_PARAMS, "name is required");
      return NULL;
    }
  json_object_set_int_member (trial, "updatedAt", cw_now_ms ());
  if (!cw_wf_defs_normalize (trial, error) || !cw_wf_defs_save (self, trial, error)
      || !save_alias (self, id, cw_wf_int (trial, "version", 1), published, error))
    return NULL;
  return g_steal_pointer (&trial);
}

static gchar *
joined_errors (JsonObject *validation)
{
  JsonArray *errors = cw_wf_arr (validation, "errors");
  GString *out = g_string_new (NULL);

  for (guint i = 0; errors != NULL && i < json_array_get_length (errors); i++)
    {
      if (i > 0)
        g_string_append (out, " | ");
      g_string_append (out, json_array_get_string_element (errors, i));
    }
  return g_string_free (out, FALSE);
}

typedef struct
{
  JsonObject *def;
  gint64 draft;
} PublishTx;

static gboolean
publish_tx (CwWorkflowPlugin *self, gpointer data, GError **error)
{
  PublishTx *tx = data;

  return cw_wf_defs_save (self, tx->def, error)
         && save_alias (self, cw_wf_str (tx->def, "id"), tx->draft,
                        cw_wf_int (tx->def, "version", 0), error)
         && cw_wf_triggers_materialize (self, tx->def, error);
}

JsonObject *
cw_wf_defs_publish (CwWorkflowPlugin *self, const gchar *id, GError **error)
{
  gint64 published = 0;
  g_autoptr (JsonObject) draft = load_draft (self, id, &published, error);
  g_autoptr (JsonObject) validation = NULL;
  g_autoptr (JsonObject) def = NULL;
  PublishTx tx;
  gint64 now = cw_now_ms ();

  if (draft == NULL)
    return NULL;
  validation = cw_wf_defs_validate (draft);
  if (!cw_wf_bool (validation, "valid", FALSE))
    {
      g_autofree gchar *text = joined_errors (validation);
      g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS, "Workflow validation failed: %s",
                   text);
      return NULL;
    }
  def = cw_wf_copy_object (draft);
  json_object_set_int_member (def, "version", max_version (self, id) + 1);
  json_object_set_string_member (def, "status", "published");
  json_object_set_int_member (def, "createdAt", now);
  json_object_set_int_member (def, "updatedAt", now);
  tx.def = def;
  tx.draft = cw_wf_int (draft, "version", 1);
  if (!cw_wf_in_transaction (self, publish_tx, &tx, error))
    {
      cw_wf_triggers_settle_secrets (self, FALSE);
      return NULL;
    }
  /* the secrets of webhook triggers this version replaced */
  cw_wf_triggers_settle_secrets (self, TRUE);
  return g_steal_pointer (&def);
}

JsonObject *
cw_wf_defs_archive (CwWorkflowPlugin *self, const gchar *id, GError **error)
{
  g_autoptr (JsonObject) def = cw_wf_defs_get (self, id, 0, FALSE);
  gint64 draft, published;

  if (def == NULL)
    {
      g_set_error (error, CW_ERROR, CW_ERROR_NOT_FOUND, "Workflow not found: %s", id);
      return NULL;
    }
  /* a copy: the cached version may be in use by runs */
  {
    JsonObject *copy = cw_wf_copy_object (def);
    json_object_unref (def);
    def = copy;
  }
  json_object_set_string_member (def, "status", "archived");
  json_object_set_int_member (def, "updatedAt", cw_now_ms ());
  load_alias (self, id, &draft, &published);
  if (!cw_wf_defs_save (self, def, error) || !save_alias (self, id, draft, published, error)
      || !cw_wf_triggers_disable_workflow (self, id, error))
    return NULL;
  return g_steal_pointer (&def);
}

JsonObject *
cw_wf_defs_view (CwWorkflowPlugin *self, JsonObject *def)
{
  JsonObject *view = cw_wf_copy_object (def);
  JsonArray *triggers = cw_wf_arr (view, "triggers");

  for (guint i = 0; triggers != NULL && i < json_array_get_length (triggers); i++)
    {
      JsonObject *t = json_array_get_object_element (triggers, i);
      g_autofree gchar *url = NULL;
      json_object_remove_member (t, "secret");
      if (t == NULL || g_strcmp0 (cw_wf_str (t, "type"), "webhook") != 0
          || g_strcmp0 (cw_wf_str (view, "status"), "published") != 0)
        continue;
      url = cw_wf_triggers_webhook_url (self, cw_wf_str (t, "endpointKey"));
      if (url != NULL)
        json_object_set_string_member (t, "url", url);
    }
  return view;
}

/* ---- webhook secrets --------------------------------------------------------------------- */

typedef struct
{
  guint pending;
  GError *error;
} SecretsTask;

static void
secrets_task_free (SecretsTask *st)
{
  g_clear_error (&st->error);
  g_free (st);
}

static void
on_secret_stored (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GTask *task = user_data;
  SecretsTask *st = g_task_get_task_data (task);
  GError *error = NULL;

  if (!cw_secrets_store_finish (CW_SECRETS (source), result, &error))
    {
      if (st->error == NULL)
        st->error = error;
      else
        g_error_free (error);
    }
  if (--st->pending == 0)
    {
      if (st->error != NULL)
        g_task_return_error (task, g_steal_pointer (&st->error));
      else
        g_task_return_boolean (task, TRUE);
    }
  g_object_unref (task);
}

void
cw_wf_defs_take_secrets (CwWorkflowPlugin *self, JsonObject *def, GAsyncReadyCallback done,
                         gpointer user_data)
{
  GTask *task = g_task_new (self, NULL, done, user_data);
  SecretsTask *st = g_new0 (SecretsTask, 1);
  JsonArray *triggers = cw_wf_arr (def, "triggers");
  CwSecrets *secrets = cw_context_get_secrets (cw_plugin_get_context (CW_PLUGIN (self)));

  g_task_set_task_data (task, st, (GDestroyNotify) secrets_task_free);
  st->pending = 1;
  for (guint i = 0; triggers != NULL && i < json_array_get_length (triggers); i++)
    {
      JsonObject *t = json_array_get_object_element (triggers, i);
      const gchar *secret = t != NULL ? cw_wf_str (t, "secret") : NULL;
      g_autofree gchar *ref = NULL;

      if (t != NULL && json_object_has_member (t, "secret") && secret == NULL)
        json_object_remove_member (t, "secret");
      if (secret == NULL)
        continue;
      ref = cw_wf_str (t, "secretRef") != NULL ? g_strdup (cw_wf_str (t, "secretRef"))
                                               : cw_make_id ("whsec");
      g_hash_table_insert (self->secrets, g_strdup (ref), g_strdup (secret));
      st->pending++;
      cw_secrets_store (secrets, CW_WF_SECRET_KIND, ref, secret, NULL, on_secret_stored,
                        g_object_ref (task));
      json_object_set_string_member (t, "secretRef", ref);
      json_object_remove_member (t, "secret");
    }
  if (--st->pending == 0)
    g_task_return_boolean (task, TRUE);
  g_object_unref (task);
}

gboolean
cw_wf_defs_take_secrets_finish (CwWorkflowPlugin *self, GAsyncResult *result, GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* ---- create_from_prompt ------------------------------------------------------------------ */

static GPtrArray *
split_steps (const gchar *prompt)
{
  GPtrArray *steps = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GRegex) re = g_regex_new ("\\s+->\\s+|\\s+then\\s+|\\n+", G_REGEX_CASELESS, 0, NULL);
  g_auto (GStrv) parts = g_regex_split (re, prompt, 0);

  for (guint i = 0; parts[i] != NULL && steps->len < 12; i++)
    {
      g_autofree gchar *step = g_strstrip (g_strdup (parts[i]));
      if (*step != '\0')
        g_ptr_array_add (steps, g_steal_pointer (&step));
    }
  if (steps->len == 0)
    g_ptr_array_add (steps, g_strstrip (g_strdup (prompt)));
  return steps;
}

static const gchar *const day_names[]
    = { "sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", NULL };

/* A schedule trigger when the prompt asks for one: daily / weekly / every N minutes / once. */
static JsonObject *
detect_schedule (CwWorkflowPlugin *self, const gchar *prompt)
{
  g_autofree gchar *lower = g_utf8_strdown (prompt, -1);
  g_autoptr (GRegex) at_re
      = g_regex_new ("\\bat\\s+(\\d{1,2})(?::(\\d{2}))?\\s*(am|pm)?", 0, 0, NULL);
  g_autoptr (GRegex) every_re
      = g_regex_new ("\\bevery\\s+(\\d+)\\s*(minute|min|hour|hr)s?\\b", 0, 0, NULL);
  g_autoptr (GMatchInfo) match = NULL;
  JsonObject *schedule = json_object_new ();
  gint hour = 9, minute = 0;
  gint day = -1;

  if (g_regex_match (every_re, lower, 0, &match))
    {
      g_autofree gchar *n = g_match_info_fetch (match, 1);
      g_autofree gchar *unit = g_match_info_fetch (match, 2);
      gint64 minutes = MAX (1, g_ascii_strtoll (n, NULL, 10)) * (unit[0] == 'h' ? 60 : 1);
      json_object_set_string_member (schedule, "type", "every");
      json_object_set_int_member (schedule, "intervalMs", minutes * 60000);
      return schedule;
    }
  g_clear_pointer (&match, g_match_info_free);
  if (g_regex_match (at_re, lower, 0, &match))
    {
      g_autofree gchar *h = g_match_info_fetch (match, 1);
      g_autofree gchar *m = g_match_info_fetch (match, 2);
      g_autofree gchar *ampm = g_match_info_fetch (match, 3);
      hour = (gint) g_ascii_strtoll (h, NULL, 10) % 24;
      minute = m != NULL && *m != '\0' ? (gint) g_ascii_strtoll (m, NULL, 10) % 60 : 0;
      if (g_strcmp0 (ampm, "pm") == 0 && hour < 12)
        hour += 12;
      else if (g_strcmp0 (ampm, "am") == 0 && hour == 12)
        hour = 0;
    }
  for (gint i = 0; day_names[i] != NULL; i++)
    if (strstr (lower, day_names[i]) != NULL)
      day = i;
  if (strstr (lower, "weekly") != NULL || strstr (lower, "every week") != NULL || day >= 0)
    {
      g_autofree gchar *expr = g_strdup_printf ("%d %d * * %d", minute, hour, MAX (day, 1));
      json_object_set_string_member (schedule, "type", "cron");
      json_object_set_string_member (schedule, "expression", expr);
      return schedule;
    }
  if (strstr (lower, "daily") != NULL || strstr (lower, "every day") != NULL
      || strstr (lower, "every morning") != NULL || strstr (lower, "each day") != NULL)
    {
      g_autofree gchar *expr = g_strdup_printf ("%d %d * * *", minute, hour);
      json_object_set_string_member (schedule, "type", "cron");
      json_object_set_string_member (schedule, "expression", expr);
      return schedule;
    }
  if (strstr (lower, "once") != NULL || strstr (lower, "later today") != NULL)
    {
      json_object_set_string_member (schedule, "type", "at");
      json_object_set_int_member (schedule, "timestamp", cw_wf_now (self) + 3600000);
      return schedule;
    }
  json_object_unref (schedule);
  return NULL;
}

JsonObject *
cw_wf_defs_from_prompt (CwWorkflowPlugin *self, JsonObject *params, GError **error)
{
  const gchar *prompt = cw_wf_str (params, "prompt");
  const gchar *workdir = cw_wf_str (params, "workingDirectory");
  gint64 max_turns = cw_wf_int (params, "maxTurnsPerStep", 20);
  g_autoptr (JsonObject) input = json_object_new ();
  g_autoptr (GPtrArray) steps = NULL;
  g_autoptr (JsonObject) def = NULL;
  JsonArray *nodes = json_array_new (), *edges = json_array_new (), *triggers = json_array_new ();
  JsonObject *manual = json_object_new (), *schedule;
  g_autofree gchar *name = NULL;
  const gchar *prev = "start";

  if (prompt == NULL || *prompt == '\0')
    {
      g_set_error_literal (error, CW_ERROR, CW_ERROR_INVALID_PARAMS, "prompt is required");
      json_array_unref (nodes), json_array_unref (edges), json_array_unref (triggers);
      json_object_unref (manual);
      return NULL;
    }
  steps = split_steps (prompt);
  json_array_add_object_element (nodes, new_node ("start", "start", "Start"));
  for (guint i = 0; i < steps->len; i++)
    {
      g_autofree gchar *id = g_strdup_printf ("agent_step_%u", i + 1);
      g_autofree gchar *step_name = g_strdup_printf ("Step %u", i + 1);
      g_autofree gchar *edge_id = g_strdup_printf ("edge_%s_%s", prev, id);
      g_autofree gchar *template
          = g_strdup_printf ("Overall goal: %s\n\nDo only this step now: %s", prompt,
                             (const gchar *) g_ptr_array_index (steps, i));
      JsonObject *node = new_node (id, "agent_step", step_name);
      JsonObject *config = cw_wf_obj (node, "config");
      json_object_set_string_member (config, "promptTemplate", template);
      if (workdir != NULL)
        json_object_set_string_member (config, "workingDirectory", workdir);
      json_object_set_int_member (config, "maxTurns", max_turns);
      json_array_add_object_element (nodes, node);
      json_array_add_object_element (edges, new_edge (edge_id, prev, id, "always"));
      prev = cw_wf_str (node, "id");
    }
  json_array_add_object_element (nodes, new_node ("end", "end", "End"));
  {
    g_autofree gchar *edge_id = g_strdup_printf ("edge_%s_end", prev);
    json_array_add_object_element (edges, new_edge (edge_id, prev, "end", "always"));
  }
  json_object_set_string_member (manual, "id", "manual_default");
  json_object_set_string_member (manual, "type", "manual");
  json_object_set_boolean_member (manual, "enabled", TRUE);
  json_array_add_object_element (triggers, manual);
  schedule = detect_schedule (self, prompt);
  if (schedule != NULL)
    {
      JsonObject *t = json_object_new ();
      json_object_set_string_member (t, "id", "schedule_default");
      json_object_set_string_member (t, "type", "schedule");
      json_object_set_boolean_member (t, "enabled", TRUE);
      json_object_set_object_member (t, "schedule", schedule);
      json_array_add_object_element (triggers, t);
    }
  name = cw_wf_str (params, "name") != NULL
             ? g_strdup (cw_wf_str (params, "name"))
             : g_utf8_substring (prompt, 0, MIN (60, g_utf8_strlen (prompt, -1)));
  json_object_set_string_member (input, "name", name);
  json_object_set_array_member (input, "nodes", nodes);
  json_object_set_array_member (input, "edges", edges);
  json_object_set_array_member (input, "triggers", triggers);
  if (workdir != NULL)
    {
      JsonObject *defaults = default_defaults ();
      json_object_set_string_member (defaults, "workingDirectory", workdir);
      json_object_set_object_member (input, "defaults", defaults);
    }
  def = cw_wf_defs_create_draft (self, input, error);
  if (def == NULL)
    return NULL;
  if (cw_wf_bool (params, "publish", FALSE))
    return cw_wf_defs_publish (self, cw_wf_str (def, "id"), error);
  return g_steal_pointer (&def);
}
