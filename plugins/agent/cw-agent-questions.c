/* cw-agent-questions.c: pending questions.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-agent-json.h"
#include "cw-agent-questions.h"
#include "cw-agent-store.h"

#define TABLE "agent_questions"

void
cw_pending_question_free (CwPendingQuestion *q)
{
  if (q == NULL)
    return;
  g_free (q->id);
  g_free (q->session_id);
  g_free (q->turn_id);
  g_clear_pointer (&q->request, json_object_unref);
  g_clear_pointer (&q->tool_call, json_object_unref);
  g_free (q->item_id);
  g_free (q);
}

static JsonObject *
build_item (CwPendingQuestion *q)
{
  JsonObject *item = json_object_new ();
  const gchar *copy[] = { "question", "header", "options", "multiSelect" };

  json_object_set_string_member (item, "kind", "question");
  if (q->turn_id != NULL)
    json_object_set_string_member (item, "turnId", q->turn_id);
  json_object_set_string_member (item, "questionId", q->id);
  for (guint i = 0; i < G_N_ELEMENTS (copy); i++)
    if (json_object_has_member (q->request, copy[i]))
      json_object_set_member (item, copy[i],
                              json_node_copy (json_object_get_member (q->request, copy[i])));
  json_object_set_string_member (item, "status", "pending");
  return item;
}

CwPendingQuestion *
cw_question_ask (CwAgentPlugin *plugin, CwAgentSession *session, const gchar *turn_id,
                 JsonObject *request, JsonObject *tool_call, CwQuestionFunc func,
                 gpointer user_data)
{
  CwPendingQuestion *q = g_new0 (CwPendingQuestion, 1);
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) item = NULL;
  JsonObject *data;

  q->id = cw_make_id ("q");
  q->session_id = g_strdup (session->id);
  q->turn_id = g_strdup (turn_id);
  q->request = json_object_ref (request);
  json_object_set_string_member (q->request, "id", q->id);
  if (!json_object_has_member (q->request, "allowCustom"))
    json_object_set_boolean_member (q->request, "allowCustom", TRUE);
  json_object_set_int_member (q->request, "timestamp", cw_now_ms ());
  q->tool_call = json_object_ref (tool_call);
  q->func = func;
  q->user_data = user_data;
  g_ptr_array_add (session->pending_questions, q);

  item = cw_agent_plugin_append_item (plugin, session, build_item (q));
  q->item_id = g_strdup (json_object_get_string_member (item, "id"));
  json_object_set_string_member (q->tool_call, "questionItemId", q->item_id);
  if (!cw_agent_store_save_pending (plugin->store, TABLE, q->id, session->id, turn_id, q->request,
                                    q->tool_call, &error))
    g_warning ("failed to store question %s: %s", q->id, error->message);
  data = json_object_new ();
  json_object_set_object_member (data, "request", json_object_ref (q->request));
  cw_agent_plugin_emit (plugin, "question:ask", session->id, data);
  cw_agent_plugin_save_runtime (plugin, session);
  return q;
}

static void
resolve (CwAgentPlugin *plugin, CwAgentSession *session, CwPendingQuestion *q, JsonNode *answer)
{
  g_autoptr (GError) error = NULL;
  CwQuestionFunc func = q->func;
  gpointer user_data = q->user_data;
  JsonObject *updates, *data;

  guint index;

  /* Taken off the list without freeing: the answer below still needs it. */
  if (g_ptr_array_find (session->pending_questions, q, &index))
    g_ptr_array_steal_index (session->pending_questions, index);
  if (!cw_agent_store_delete_pending (plugin->store, TABLE, q->id, &error))
    g_warning ("failed to forget question %s: %s", q->id, error->message);
  updates = json_object_new ();
  json_object_set_string_member (updates, "status", "answered");
  json_object_set_member (updates, "answer", json_node_copy (answer));
  if (q->item_id != NULL)
    cw_agent_plugin_update_item (plugin, session, q->item_id, updates, TRUE);
  else
    json_object_unref (updates);
  data = json_object_new ();
  json_object_set_string_member (data, "questionId", q->id);
  json_object_set_member (data, "answer", json_node_copy (answer));
  cw_agent_plugin_emit (plugin, "question:answered", session->id, data);
  cw_agent_plugin_save_runtime (plugin, session);
  cw_pending_question_free (q);
  if (func != NULL)
    func (answer, user_data);
}

static gboolean
answer_is_valid (JsonNode *answer)
{
  JsonArray *arr;

  if (answer == NULL)
    return FALSE;
  if (JSON_NODE_HOLDS_VALUE (answer))
    return json_node_get_value_type (answer) == G_TYPE_STRING;
  if (!JSON_NODE_HOLDS_ARRAY (answer))
    return FALSE;
  arr = json_node_get_array (answer);
  for (guint i = 0; i < json_array_get_length (arr); i++)
    {
      JsonNode *el = json_array_get_element (arr, i);
      if (!JSON_NODE_HOLDS_VALUE (el) || json_node_get_value_type (el) != G_TYPE_STRING)
        return FALSE;
    }
  return TRUE;
}

gboolean
cw_question_answer (CwAgentPlugin *plugin, const gchar *question_id, JsonNode *answer,
                    GError **error)
{
  GHashTableIter iter;
  gpointer value;

  if (!answer_is_valid (answer))
    {
      g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS,
                   "answer must be a string or an array of strings");
      return FALSE;
    }
  g_hash_table_iter_init (&iter, plugin->sessions);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      CwAgentSession *session = value;
      for (guint i = 0; i < session->pending_questions->len; i++)
        {
          CwPendingQuestion *q = g_ptr_array_index (session->pending_questions, i);
          if (g_strcmp0 (q->id, question_id) == 0)
            {
              g_autoptr (CwAgentSession) keep = g_object_ref (session);
              resolve (plugin, session, q, answer);
              return TRUE;
            }
        }
    }
  g_set_error (error, CW_ERROR, CW_ERROR_NOT_FOUND, "Question not found: %s", question_id);
  return FALSE;
}

void
cw_question_cancel_all (CwAgentPlugin *plugin, CwAgentSession *session)
{
  g_autoptr (JsonNode) cancelled = json_node_new (JSON_NODE_VALUE);

  json_node_set_string (cancelled, CW_QUESTION_CANCELLED);
  while (session->pending_questions->len > 0)
    resolve (plugin, session, g_ptr_array_index (session->pending_questions, 0), cancelled);
}

void
cw_question_restore (CwAgentPlugin *plugin)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonArray) rows = cw_agent_store_list_pending (plugin->store, TABLE, &error);

  if (rows == NULL)
    {
      g_warning ("failed to read pending questions: %s", error->message);
      return;
    }
  for (guint i = 0; i < json_array_get_length (rows); i++)
    {
      JsonObject *row = json_array_get_object_element (rows, i);
      CwAgentSession *session = cw_agent_plugin_lookup_session (
          plugin, json_object_get_string_member (row, "sessionId"));
      JsonObject *call = cw_agent_json_object (row, "toolCall");
      CwPendingQuestion *q;

      if (session == NULL || call == NULL)
        continue;
      q = g_new0 (CwPendingQuestion, 1);
      q->id = g_strdup (json_object_get_string_member (row, "id"));
      q->session_id = g_strdup (session->id);
      q->turn_id = g_strdup (json_object_get_string_member_with_default (row, "turnId", NULL));
      q->request = json_object_ref (cw_agent_json_object (row, "request"));
      q->tool_call = json_object_ref (call);
      q->item_id
          = g_strdup (json_object_get_string_member_with_default (call, "questionItemId", NULL));
      g_ptr_array_add (session->pending_questions, q);
    }
}
