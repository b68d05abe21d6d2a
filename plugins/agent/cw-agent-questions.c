/* cw-agent-questions.c: pending questions.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-agent-interactions.h"
#include "cw-agent-json.h"
#include "cw-agent-questions.h"
#include "cw-agent-store.h"

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
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) item = NULL;
  CwInteraction *interaction;
  CwPendingQuestion *q;
  JsonObject *data;

  if (!json_object_has_member (request, "allowCustom"))
    json_object_set_boolean_member (request, "allowCustom", TRUE);
  json_object_set_int_member (request, "timestamp", cw_now_ms ());
  interaction = cw_agent_interaction_add (plugin, CW_INTERACTION_QUESTION, session, turn_id,
                                          request, tool_call, FALSE, &error);
  if (interaction == NULL)
    {
      g_autoptr (JsonNode) cancelled
          = json_node_init_string (json_node_alloc (), CW_QUESTION_CANCELLED);
      /* Nobody could answer a question that is not stored: give up rather than hang. */
      g_warning ("failed to store question of session %s: %s", session->id, error->message);
      func (cancelled, user_data);
      return NULL;
    }
  q = g_new0 (CwPendingQuestion, 1);
  q->id = g_strdup (cw_interaction_get_id (interaction));
  q->session_id = g_strdup (session->id);
  q->turn_id = g_strdup (turn_id);
  q->request = json_object_ref (cw_interaction_get_payload (interaction));
  q->tool_call = json_object_ref (tool_call);
  q->func = func;
  q->user_data = user_data;
  g_ptr_array_add (session->pending_questions, q);

  item = cw_agent_sessions_append_item (plugin->sessions, session, build_item (q));
  q->item_id = g_strdup (json_object_get_string_member (item, "id"));
  data = json_object_new ();
  json_object_set_object_member (data, "request", json_object_ref (q->request));
  cw_agent_sessions_emit (plugin->sessions, "question:ask", session->id, data);
  cw_agent_sessions_commit (plugin->sessions, session, CW_AGENT_CHANGE_RUNTIME, NULL);
  return q;
}

/* The interaction is resolved (stored by the SDK): the chat item, the event and the call
 * waiting for it follow. */
static void
resolve (CwAgentPlugin *plugin, CwAgentSession *session, CwPendingQuestion *q, JsonNode *answer)
{
  CwQuestionFunc func = q->func;
  gpointer user_data = q->user_data;
  JsonObject *updates, *data;
  guint index;

  /* Taken off the list without freeing: the answer below still needs it. */
  if (g_ptr_array_find (session->pending_questions, q, &index))
    g_ptr_array_steal_index (session->pending_questions, index);
  updates = json_object_new ();
  json_object_set_string_member (updates, "status", "answered");
  json_object_set_member (updates, "answer", json_node_copy (answer));
  if (q->item_id != NULL)
    cw_agent_sessions_update_item (plugin->sessions, session, q->item_id, updates, TRUE);
  else
    json_object_unref (updates);
  data = json_object_new ();
  json_object_set_string_member (data, "questionId", q->id);
  json_object_set_member (data, "answer", json_node_copy (answer));
  cw_agent_sessions_emit (plugin->sessions, "question:answered", session->id, data);
  cw_agent_sessions_commit (plugin->sessions, session, CW_AGENT_CHANGE_RUNTIME, NULL);
  cw_pending_question_free (q);
  if (func != NULL)
    func (answer, user_data);
}

static CwPendingQuestion *
find_in_session (CwAgentSession *session, const gchar *id)
{
  for (guint i = 0; i < session->pending_questions->len; i++)
    {
      CwPendingQuestion *q = g_ptr_array_index (session->pending_questions, i);
      if (g_strcmp0 (q->id, id) == 0)
        return q;
    }
  return NULL;
}

static void
on_resolved (CwInteraction *interaction, gpointer user_data)
{
  CwAgentPlugin *plugin = user_data;
  CwAgentSession *session = cw_agent_interaction_session (plugin, interaction);
  CwPendingQuestion *q
      = session != NULL ? find_in_session (session, cw_interaction_get_id (interaction)) : NULL;
  JsonNode *answer = cw_interaction_get_answer (interaction);
  g_autoptr (CwAgentSession) keep = NULL;
  g_autoptr (JsonNode) cancelled = NULL;

  if (q == NULL)
    return;
  keep = g_object_ref (session);
  /* An expired question is one nobody answered. */
  if (answer == NULL)
    answer = cancelled = json_node_init_string (json_node_alloc (), CW_QUESTION_CANCELLED);
  resolve (plugin, session, q, answer);
}

gboolean
cw_question_answer (CwAgentPlugin *plugin, const gchar *question_id, JsonNode *answer,
                    const gchar *actor, GError **error)
{
  GHashTableIter iter;
  gpointer value;

  /* The SDK checks the answer, as it does for an answer through interaction_respond. */
  g_hash_table_iter_init (&iter, plugin->sessions->by_id);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    if (find_in_session (value, question_id) != NULL)
      return cw_agent_interaction_respond (plugin, question_id, answer, actor, error);
  g_set_error (error, CW_ERROR, CW_ERROR_NOT_FOUND, "Question not found: %s", question_id);
  return FALSE;
}

void
cw_question_cancel (CwAgentPlugin *plugin, CwAgentSession *session, CwPendingQuestion *q)
{
  g_autoptr (JsonNode) cancelled
      = json_node_init_string (json_node_alloc (), CW_QUESTION_CANCELLED);
  g_autoptr (GError) error = NULL;

  if (!cw_agent_interaction_respond (plugin, q->id, cancelled, CW_AGENT_ACTOR, &error))
    {
      /* Resolved already but not yet delivered: settle it here all the same. */
      g_debug ("question %s: %s", q->id, error->message);
      resolve (plugin, session, q, cancelled);
    }
}

void
cw_question_cancel_all (CwAgentPlugin *plugin, CwAgentSession *session)
{
  while (session->pending_questions->len > 0)
    cw_question_cancel (plugin, session, g_ptr_array_index (session->pending_questions, 0));
}

static void
restore_one (CwAgentPlugin *plugin, CwAgentSession *session, CwInteraction *interaction)
{
  JsonObject *data = cw_interaction_get_data (interaction);
  CwPendingQuestion *q = g_new0 (CwPendingQuestion, 1);

  q->id = g_strdup (cw_interaction_get_id (interaction));
  q->session_id = g_strdup (session->id);
  q->turn_id = g_strdup (json_object_get_string_member_with_default (data, "turnId", NULL));
  q->request = json_object_ref (cw_interaction_get_payload (interaction));
  q->tool_call = cw_agent_interaction_tool_call (interaction);
  q->item_id
      = cw_agent_store_find_item (plugin->store, session->id, "question", "$.questionId", q->id);
  g_ptr_array_add (session->pending_questions, q);
}

void
cw_question_restore (CwAgentPlugin *plugin)
{
  cw_agent_interactions_restore (plugin, CW_INTERACTION_QUESTION, restore_one, on_resolved,
                                 CW_QUESTION_CANCELLED);
}
