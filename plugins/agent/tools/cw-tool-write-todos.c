/* cw-tool-write-todos.c: write_todos {todos:[{content, status, activeForm?}]}: replaces the
 * session's task list as a whole (the turn emits task:set).
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-agent-json.h"
#include "cw-tool.h"

static gboolean
status_is_valid (const gchar *status)
{
  return g_strcmp0 (status, "pending") == 0 || g_strcmp0 (status, "in_progress") == 0
         || g_strcmp0 (status, "completed") == 0;
}

JsonArray *
cw_tool_write_todos_tasks (const gchar *session_id, JsonObject *args, GError **error)
{
  JsonArray *todos = cw_agent_json_array (args, "todos");
  g_autoptr (JsonArray) tasks = json_array_new ();
  gint64 now = cw_now_ms ();

  if (todos == NULL)
    {
      g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS, "todos is required");
      return NULL;
    }
  for (guint i = 0; i < json_array_get_length (todos); i++)
    {
      JsonObject *todo = json_array_get_object_element (todos, i);
      const gchar *content, *status, *active;
      g_autofree gchar *hash = NULL;
      g_autofree gchar *id = NULL;
      JsonObject *task;

      if (todo == NULL)
        {
          g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS, "todos[%u] is not an object", i);
          return NULL;
        }
      content = json_object_get_string_member_with_default (todo, "content", NULL);
      status = json_object_get_string_member_with_default (todo, "status", "pending");
      active = json_object_get_string_member_with_default (todo, "activeForm", NULL);
      if (content == NULL || *content == '\0' || !status_is_valid (status))
        {
          g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS,
                       "todos[%u] needs content and a status of pending, in_progress or "
                       "completed",
                       i);
          return NULL;
        }
      /* Contract §5.4: task-<sessionId>-<index>-<hash>. */
      hash = g_compute_checksum_for_string (G_CHECKSUM_SHA1, content, -1);
      hash[8] = '\0';
      id = g_strdup_printf ("task-%s-%u-%s", session_id, i, hash);
      task = json_object_new ();
      json_object_set_string_member (task, "id", id);
      json_object_set_string_member (task, "subject", content);
      json_object_set_string_member (task, "status", status);
      if (active != NULL)
        json_object_set_string_member (task, "activeForm", active);
      json_object_set_int_member (task, "createdAt", now);
      if (g_strcmp0 (status, "completed") == 0)
        json_object_set_int_member (task, "completedAt", now);
      json_array_add_object_element (tasks, task);
    }
  return g_steal_pointer (&tasks);
}

const CwToolInfo cw_tool_write_todos = {
  .name = "write_todos",
  .description = "Replace your todo list for this task. Use it to plan multi-step work and "
                 "keep the status of each step current.",
  .parameters = "{\"type\":\"object\",\"properties\":{\"todos\":{\"type\":\"array\",\"items\":"
                "{\"type\":\"object\",\"properties\":{\"content\":{\"type\":\"string\"},"
                "\"status\":{\"type\":\"string\",\"enum\":[\"pending\",\"in_progress\","
                "\"completed\"]},\"activeForm\":{\"type\":\"string\"}},"
                "\"required\":[\"content\",\"status\"]}}},\"required\":[\"todos\"]}",
  .read_only = TRUE,
};
