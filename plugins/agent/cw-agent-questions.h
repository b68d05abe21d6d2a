/* cw-agent-questions.h: questions to a person (ask_user, plan approval) that a turn waits
 * for. They are SDK pending interactions, so a restart keeps them answerable with the same
 * ids, from any client.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cw-agent-plugin.h"

G_BEGIN_DECLS

#define CW_QUESTION_CANCELLED "__cancelled__"

/* @answer is a string or an array of strings; "__cancelled__" when stopped. */
typedef void (*CwQuestionFunc) (JsonNode *answer, gpointer user_data);

typedef struct
{
  gchar *id; /* q_... */
  gchar *session_id;
  gchar *turn_id;
  JsonObject *request;   /* QuestionRequest (§4.5) */
  JsonObject *tool_call; /* {id, name, args} of ask_user, or {kind:"plan"} */
  gchar *item_id;
  CwQuestionFunc func; /* NULL after a restart until a turn takes it over */
  gpointer user_data;
} CwPendingQuestion;

void cw_pending_question_free (CwPendingQuestion *q);

/* @request holds question, options?, multiSelect?, header?; id and timestamp are added.
 * If it cannot be stored, @func gets "__cancelled__" at once and NULL is returned. */
CwPendingQuestion *cw_question_ask (CwAgentPlugin *plugin, CwAgentSession *session,
                                    const gchar *turn_id, JsonObject *request,
                                    JsonObject *tool_call, CwQuestionFunc func, gpointer user_data);
/* Answered by @actor (the caller's, for the record); "Question not found: <id>" if unknown. */
gboolean cw_question_answer (CwAgentPlugin *plugin, const gchar *question_id, JsonNode *answer,
                             const gchar *actor, GError **error);
/* Answers "__cancelled__" for the agent (stop, mode switch, delete). */
void cw_question_cancel (CwAgentPlugin *plugin, CwAgentSession *session, CwPendingQuestion *q);
void cw_question_cancel_all (CwAgentPlugin *plugin, CwAgentSession *session);
void cw_question_restore (CwAgentPlugin *plugin);

G_END_DECLS
