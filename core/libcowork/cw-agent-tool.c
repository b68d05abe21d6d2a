/* cw-agent-tool.c: tools plugins contribute to the agent: the immutable CwAgentTool and the
 * context's table of them (names checked, owned, gone with their owner).
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-agent-tool-table-private.h"

#define NAME_MAX_LEN 64

struct _CwAgentTool
{
  gint ref_count;
  gchar *owner;
  gchar *name;
  gchar *description;
  JsonNode *parameters;
  gchar *command;
  CwAgentToolFlags flags;
};

typedef struct
{
  gchar *owner;
  gchar *name;
} Reservation;

struct _CwAgentToolTable
{
  GPtrArray *tools; /* CwAgentTool, in the order added */
  GArray *reserved; /* Reservation */
};

G_DEFINE_BOXED_TYPE (CwAgentTool, cw_agent_tool, cw_agent_tool_ref, cw_agent_tool_unref)

CwAgentTool *
cw_agent_tool_ref (CwAgentTool *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_atomic_int_inc (&self->ref_count);
  return self;
}

void
cw_agent_tool_unref (CwAgentTool *self)
{
  g_return_if_fail (self != NULL);
  if (!g_atomic_int_dec_and_test (&self->ref_count))
    return;
  g_free (self->owner);
  g_free (self->name);
  g_free (self->description);
  json_node_unref (self->parameters);
  g_free (self->command);
  g_free (self);
}

const gchar *
cw_agent_tool_get_name (CwAgentTool *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return self->name;
}

const gchar *
cw_agent_tool_get_description (CwAgentTool *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return self->description;
}

JsonNode *
cw_agent_tool_get_parameters (CwAgentTool *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return self->parameters;
}

const gchar *
cw_agent_tool_get_command (CwAgentTool *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return self->command;
}

CwAgentToolFlags
cw_agent_tool_get_flags (CwAgentTool *self)
{
  g_return_val_if_fail (self != NULL, CW_AGENT_TOOL_NONE);
  return self->flags;
}

const gchar *
cw_agent_tool_get_owner (CwAgentTool *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return self->owner;
}

/* ---- the table ----------------------------------------------------------------------- */

static void
reservation_clear (gpointer p)
{
  Reservation *r = p;

  g_free (r->owner);
  g_free (r->name);
}

CwAgentToolTable *
cw_agent_tool_table_new (void)
{
  CwAgentToolTable *self = g_new0 (CwAgentToolTable, 1);

  self->tools = g_ptr_array_new_with_free_func ((GDestroyNotify) cw_agent_tool_unref);
  self->reserved = g_array_new (FALSE, FALSE, sizeof (Reservation));
  g_array_set_clear_func (self->reserved, reservation_clear);
  return self;
}

void
cw_agent_tool_table_free (CwAgentToolTable *self)
{
  if (self == NULL)
    return;
  g_ptr_array_unref (self->tools);
  g_array_unref (self->reserved);
  g_free (self);
}

static gint
find_tool (CwAgentToolTable *self, const gchar *name)
{
  for (guint i = 0; i < self->tools->len; i++)
    if (g_strcmp0 (((CwAgentTool *) g_ptr_array_index (self->tools, i))->name, name) == 0)
      return (gint) i;
  return -1;
}

static const Reservation *
find_reservation (CwAgentToolTable *self, const gchar *name)
{
  for (guint i = 0; i < self->reserved->len; i++)
    if (g_strcmp0 (g_array_index (self->reserved, Reservation, i).name, name) == 0)
      return &g_array_index (self->reserved, Reservation, i);
  return NULL;
}

void
cw_agent_tool_table_remove_owner (CwAgentToolTable *self, const gchar *owner)
{
  for (guint i = self->tools->len; i > 0; i--)
    if (g_strcmp0 (((CwAgentTool *) g_ptr_array_index (self->tools, i - 1))->owner, owner) == 0)
      g_ptr_array_remove_index (self->tools, i - 1);
  for (guint i = self->reserved->len; i > 0; i--)
    if (g_strcmp0 (g_array_index (self->reserved, Reservation, i - 1).owner, owner) == 0)
      g_array_remove_index (self->reserved, i - 1);
}

static gboolean
name_is_valid (const gchar *name)
{
  gsize n = name != NULL ? strlen (name) : 0;

  if (n == 0 || n > NAME_MAX_LEN || !g_ascii_islower (name[0]))
    return FALSE;
  for (gsize i = 1; i < n; i++)
    if (!g_ascii_islower (name[i]) && !g_ascii_isdigit (name[i]) && name[i] != '_')
      return FALSE;
  return TRUE;
}

/* The schema of the argument object: a JSON object whose type is "object". */
static JsonNode *
parse_parameters (const gchar *name, const gchar *text, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  g_autoptr (JsonNode) node = NULL;
  JsonObject *obj;

  if (text == NULL)
    text = "{\"type\":\"object\",\"properties\":{}}";
  node = cw_json_from_string (text, -1, &local_error);
  if (node == NULL)
    {
      g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS,
                   "agent tool %s: parameters are not JSON: %s", name, local_error->message);
      return NULL;
    }
  obj = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
  if (obj == NULL
      || g_strcmp0 (json_object_get_string_member_with_default (obj, "type", NULL), "object") != 0)
    {
      g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS,
                   "agent tool %s: parameters must be a JSON schema object with "
                   "\"type\": \"object\"",
                   name);
      return NULL;
    }
  json_node_seal (node);
  return g_steal_pointer (&node);
}

static gboolean
check_new_tool (CwAgentToolTable *self, const gchar *name, const gchar *description,
                const gchar *command, CwAgentToolFlags flags, GError **error)
{
  const Reservation *r;
  gint i;

  if (!name_is_valid (name))
    {
      g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS,
                   "agent tool name \"%s\" is not [a-z][a-z0-9_]{0,63}", name != NULL ? name : "");
      return FALSE;
    }
  if (description == NULL || *description == '\0')
    {
      g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS, "agent tool %s has no description",
                   name);
      return FALSE;
    }
  if (command == NULL || *command == '\0')
    {
      g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS, "agent tool %s has no command", name);
      return FALSE;
    }
  if ((flags & ~(CW_AGENT_TOOL_READ_ONLY | CW_AGENT_TOOL_ASK)) != 0)
    {
      g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS, "agent tool %s: unknown flags 0x%x",
                   name, (guint) flags);
      return FALSE;
    }
  if ((r = find_reservation (self, name)) != NULL)
    {
      g_set_error (error, CW_ERROR, CW_ERROR_EXISTS, "agent tool %s is a built-in tool of %s", name,
                   r->owner);
      return FALSE;
    }
  if ((i = find_tool (self, name)) >= 0)
    {
      g_set_error (error, CW_ERROR, CW_ERROR_EXISTS, "agent tool %s is already registered by %s",
                   name, ((CwAgentTool *) g_ptr_array_index (self->tools, i))->owner);
      return FALSE;
    }
  return TRUE;
}

gboolean
cw_context_add_agent_tool (CwContext *self, const gchar *owner, const gchar *name,
                           const gchar *description, const gchar *parameters_json,
                           const gchar *command, CwAgentToolFlags flags, GError **error)
{
  CwAgentToolTable *table;
  CwAgentTool *tool;
  JsonNode *parameters;

  g_return_val_if_fail (CW_IS_CONTEXT (self), FALSE);
  g_return_val_if_fail (owner != NULL, FALSE);
  table = cw_context_get_agent_tool_table (self);
  if (!check_new_tool (table, name, description, command, flags, error))
    return FALSE;
  parameters = parse_parameters (name, parameters_json, error);
  if (parameters == NULL)
    return FALSE;
  tool = g_new0 (CwAgentTool, 1);
  tool->ref_count = 1;
  tool->owner = g_strdup (owner);
  tool->name = g_strdup (name);
  tool->description = g_strdup (description);
  tool->parameters = parameters;
  tool->command = g_strdup (command);
  tool->flags = flags;
  g_ptr_array_add (table->tools, tool);
  return TRUE;
}

gboolean
cw_context_remove_agent_tool (CwContext *self, const gchar *owner, const gchar *name)
{
  CwAgentToolTable *table;
  gint i;

  g_return_val_if_fail (CW_IS_CONTEXT (self), FALSE);
  table = cw_context_get_agent_tool_table (self);
  i = find_tool (table, name);
  if (i < 0 || g_strcmp0 (((CwAgentTool *) g_ptr_array_index (table->tools, i))->owner, owner) != 0)
    return FALSE;
  g_ptr_array_remove_index (table->tools, (guint) i);
  return TRUE;
}

void
cw_context_reserve_agent_tool (CwContext *self, const gchar *owner, const gchar *name)
{
  CwAgentToolTable *table;
  Reservation r;
  gint i;

  g_return_if_fail (CW_IS_CONTEXT (self));
  g_return_if_fail (owner != NULL && name != NULL);
  table = cw_context_get_agent_tool_table (self);
  if (find_reservation (table, name) != NULL)
    return;
  if ((i = find_tool (table, name)) >= 0)
    {
      g_warning ("agent tool %s of %s withdrawn: %s reserves the name for a built-in tool", name,
                 ((CwAgentTool *) g_ptr_array_index (table->tools, i))->owner, owner);
      g_ptr_array_remove_index (table->tools, (guint) i);
    }
  r.owner = g_strdup (owner);
  r.name = g_strdup (name);
  g_array_append_val (table->reserved, r);
}

GPtrArray *
cw_context_list_agent_tools (CwContext *self)
{
  CwAgentToolTable *table;
  GPtrArray *out;

  g_return_val_if_fail (CW_IS_CONTEXT (self), NULL);
  table = cw_context_get_agent_tool_table (self);
  out = g_ptr_array_new_full (table->tools->len, (GDestroyNotify) cw_agent_tool_unref);
  for (guint i = 0; i < table->tools->len; i++)
    g_ptr_array_add (out, cw_agent_tool_ref (g_ptr_array_index (table->tools, i)));
  return out;
}

CwAgentTool *
cw_context_lookup_agent_tool (CwContext *self, const gchar *name)
{
  CwAgentToolTable *table;
  gint i;

  g_return_val_if_fail (CW_IS_CONTEXT (self), NULL);
  table = cw_context_get_agent_tool_table (self);
  i = find_tool (table, name);
  return i >= 0 ? cw_agent_tool_ref (g_ptr_array_index (table->tools, i)) : NULL;
}
