/* cw-tool.c: the tool table and how tools are run.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-tool.h"
#include "cw-tool-fs.h"

static const CwToolInfo *const tools[] = {
  &cw_tool_read_file,   &cw_tool_write_file, &cw_tool_edit_file, &cw_tool_delete_file,
  &cw_tool_ls,          &cw_tool_glob,       &cw_tool_grep,      &cw_tool_execute,
  &cw_tool_write_todos, &cw_tool_ask_user,
};

const CwToolInfo *
cw_tool_lookup (const gchar *name)
{
  for (guint i = 0; i < G_N_ELEMENTS (tools); i++)
    if (g_strcmp0 (tools[i]->name, name) == 0)
      return tools[i];
  return NULL;
}

void
cw_tool_reserve_names (CwPlugin *plugin)
{
  for (guint i = 0; i < G_N_ELEMENTS (tools); i++)
    cw_plugin_reserve_agent_tool (plugin, tools[i]->name);
}

JsonArray *
cw_tool_list_schemas (void)
{
  JsonArray *arr = json_array_new ();

  for (guint i = 0; i < G_N_ELEMENTS (tools); i++)
    {
      JsonObject *obj = json_object_new ();
      g_autoptr (JsonNode) params = cw_json_from_string (tools[i]->parameters, -1, NULL);

      g_assert (params != NULL);
      json_object_set_string_member (obj, "name", tools[i]->name);
      json_object_set_string_member (obj, "description", tools[i]->description);
      json_object_set_member (obj, "parameters", g_steal_pointer (&params));
      json_array_add_object_element (arr, obj);
    }
  return arr;
}

CwToolEnv *
cw_tool_env_new (const gchar *working_directory, const gchar *root, gint64 timeout_ms,
                 gint64 max_output_bytes)
{
  CwToolEnv *env = g_new0 (CwToolEnv, 1);

  env->working_directory = g_strdup (working_directory);
  env->root = root != NULL ? g_strdup (root) : cw_tool_fs_real_path (working_directory);
  env->timeout_ms = timeout_ms;
  env->max_output_bytes = max_output_bytes;
  return env;
}

CwToolEnv *
cw_tool_env_copy (const CwToolEnv *env)
{
  CwToolEnv *copy
      = cw_tool_env_new (env->working_directory, env->root, env->timeout_ms, env->max_output_bytes);

  copy->sandbox = env->sandbox;
  copy->commands = env->commands;
  return copy;
}

void
cw_tool_env_free (CwToolEnv *env)
{
  if (env == NULL)
    return;
  g_free (env->working_directory);
  g_free (env->root);
  g_free (env);
}

void
cw_tool_outcome_clear (CwToolOutcome *outcome)
{
  if (outcome == NULL)
    return;
  g_clear_pointer (&outcome->artifact_path, g_free);
  outcome->artifact_type = NULL;
}

typedef struct
{
  const CwToolInfo *tool;
  CwToolEnv *env;
  JsonObject *args;
  CwToolOutcome outcome;
} RunData;

static void
run_data_free (RunData *d)
{
  cw_tool_env_free (d->env);
  json_object_unref (d->args);
  cw_tool_outcome_clear (&d->outcome);
  g_free (d);
}

static void
run_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  RunData *d = task_data;
  GError *error = NULL;
  gchar *out = d->tool->run_sync (d->env, d->args, cancellable, &d->outcome, &error);

  if (out == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, cw_tool_cap_output (out, d->env->max_output_bytes), g_free);
}

static void
on_async_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  GError *error = NULL;
  gchar *out = g_task_propagate_pointer (G_TASK (res), &error);

  if (out == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, out, g_free);
}

void
cw_tool_run (const CwToolInfo *tool, CwToolEnv *env, JsonObject *args, GCancellable *cancellable,
             GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task = g_task_new (NULL, cancellable, callback, user_data);
  RunData *d = g_new0 (RunData, 1);

  d->tool = tool;
  d->env = cw_tool_env_copy (env);
  /* Worker threads get their own copy: the caller's object is not thread-safe. */
  {
    g_autoptr (JsonNode) node = json_node_new (JSON_NODE_OBJECT);
    g_autofree gchar *text = NULL;
    g_autoptr (JsonNode) copy = NULL;
    json_node_set_object (node, args);
    text = cw_json_to_string (node);
    copy = cw_json_from_string (text, -1, NULL);
    d->args = json_object_ref (json_node_get_object (copy));
  }
  g_task_set_task_data (task, d, (GDestroyNotify) run_data_free);
  if (tool->run_sync != NULL)
    {
      g_task_run_in_thread (task, run_thread);
      g_object_unref (task);
      return;
    }
  tool->run_async (d->env, d->args, cancellable, on_async_done, task);
}

gchar *
cw_tool_run_finish (GAsyncResult *result, CwToolOutcome *outcome, GError **error)
{
  RunData *d = g_task_get_task_data (G_TASK (result));
  gchar *out = g_task_propagate_pointer (G_TASK (result), error);

  if (out != NULL && outcome != NULL)
    {
      outcome->artifact_type = d->outcome.artifact_type;
      outcome->artifact_path = g_steal_pointer (&d->outcome.artifact_path);
    }
  return out;
}

gchar *
cw_tool_resolve_path (const CwToolEnv *env, const gchar *path)
{
  if (path == NULL || *path == '\0')
    path = ".";
  if (g_str_has_prefix (path, "~/"))
    return g_build_filename (g_get_home_dir (), path + 2, NULL);
  return g_canonicalize_filename (path, env->working_directory);
}

const gchar *
cw_tool_arg_string (JsonObject *args, const gchar *name, gboolean required, GError **error)
{
  JsonNode *node = json_object_get_member (args, name);

  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
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

gchar *
cw_tool_cap_output (gchar *text, gint64 max)
{
  gsize len = strlen (text);
  const gchar *end;
  g_autofree gchar *owned = text;

  if (max <= 0 || len <= (gsize) max)
    return g_steal_pointer (&owned);
  /* Back up to a character boundary so the result stays valid UTF-8. */
  end = g_utf8_find_prev_char (text, text + max + 1);
  if (end == NULL)
    end = text;
  return g_strdup_printf ("%.*s\n[output cut to %" G_GINT64_FORMAT " of %" G_GSIZE_FORMAT " bytes]",
                          (int) (end - text), text, max, len);
}
