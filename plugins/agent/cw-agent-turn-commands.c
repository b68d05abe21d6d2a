/* cw-agent-turn-commands.c: send_message, run_start_v2, stop_generation,
 * respond_permission, respond_question.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-agent-json.h"
#include "cw-agent-attachments.h"
#include "cw-agent-permissions.h"
#include "cw-agent-plugin.h"
#include "cw-agent-questions.h"
#include "cw-agent-turn.h"

#define PLUGIN(p) CW_AGENT_PLUGIN (p)

static void
return_void (CwInvocation *inv)
{
  JsonObject *result = json_object_new ();

  json_object_set_boolean_member (result, "success", TRUE);
  cw_invocation_return_object (inv, result);
}

/* A plan waiting for approval holds new messages back like a running turn does. */
static gboolean
must_queue (CwAgentSession *s)
{
  return s->turn != NULL || s->queue->len > 0;
}

/* The attachments as they are kept: files on disk, never base64 in the database. */
static JsonArray *
get_attachments (CwAgentPlugin *self, CwAgentSession *s, CwInvocation *inv, GError **error)
{
  JsonNode *node = json_object_get_member (cw_invocation_get_params (inv), "attachments");
  CwConfig *config = cw_context_get_config (cw_plugin_get_context (CW_PLUGIN (self)));

  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return NULL;
  if (!JSON_NODE_HOLDS_ARRAY (node))
    {
      g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS, "attachments must be an array");
      return NULL;
    }
  return cw_agent_attachments_store (cw_config_get_app_data_dir (config), s->id,
                                     json_node_get_array (node), error);
}

static void
cmd_send_message (CwInvocation *inv, gpointer user_data)
{
  CwAgentPlugin *self = PLUGIN (user_data);
  CwAgentSession *s = cw_agent_sessions_from_invocation (self->sessions, inv);
  g_autoptr (GError) error = NULL;
  const gchar *content;
  g_autoptr (JsonArray) attachments = NULL;

  if (s == NULL)
    return;
  content = cw_invocation_get_string (inv, "content", FALSE, &error);
  attachments = error == NULL ? get_attachments (self, s, inv, &error) : NULL;
  if (error != NULL)
    {
      cw_invocation_return_error (inv, g_steal_pointer (&error));
      return;
    }
  if ((content == NULL || *content == '\0')
      && (attachments == NULL || json_array_get_length (attachments) == 0))
    {
      cw_invocation_return_error_literal (inv, CW_ERROR_INVALID_PARAMS, "content is required");
      return;
    }
  if (must_queue (s))
    {
      if (!cw_agent_plugin_queue_message (self, s, content, attachments, FALSE, &error))
        {
          cw_invocation_return_error (inv, g_steal_pointer (&error));
          return;
        }
      return_void (inv);
      if (s->turn == NULL)
        cw_agent_plugin_run_queue (self, s);
      return;
    }
  /* Answered when this turn and the messages queued behind it are done. */
  g_ptr_array_add (s->waiters, g_object_ref (inv));
  cw_agent_turn_start (self, s, content, attachments, 0, cw_agent_queue_turn_ended, self);
}

static void
cmd_run_start_v2 (CwInvocation *inv, gpointer user_data)
{
  CwAgentPlugin *self = PLUGIN (user_data);
  CwAgentSession *s = cw_agent_sessions_from_invocation (self->sessions, inv);
  g_autoptr (GError) error = NULL;
  JsonObject *options;
  const gchar *message;
  g_autoptr (JsonArray) attachments = NULL;
  gint64 max_turns = 0;
  CwAgentTurn *turn;

  if (s == NULL)
    return;
  message = cw_invocation_get_string (inv, "message", TRUE, &error);
  attachments = message != NULL ? get_attachments (self, s, inv, &error) : NULL;
  if (error != NULL)
    {
      cw_invocation_return_error (inv, g_steal_pointer (&error));
      return;
    }
  if (must_queue (s))
    {
      cw_invocation_return_new_error (inv, CW_ERROR_BUSY, "Another run is active for session %s",
                                      s->id);
      return;
    }
  options = cw_agent_json_object (cw_invocation_get_params (inv), "runOptions");
  if (options != NULL)
    max_turns = json_object_get_int_member_with_default (options, "maxTurns", 0);
  turn = cw_agent_turn_start (self, s, message, attachments, MAX (max_turns, 0),
                              cw_agent_queue_turn_ended, self);
  /* The turn runs on the main loop; nothing can have finished it yet. */
  cw_agent_turn_set_run_invocation (turn, inv);
}

static void
cmd_stop_generation (CwInvocation *inv, gpointer user_data)
{
  CwAgentPlugin *self = PLUGIN (user_data);
  CwAgentSession *s = cw_agent_sessions_from_invocation (self->sessions, inv);

  if (s == NULL)
    return;
  if (s->turn != NULL)
    cw_agent_turn_stop (s->turn);
  cw_permission_deny_all (self, s);
  cw_question_cancel_all (self, s);
  return_void (inv);
}

static void
cmd_respond_permission (CwInvocation *inv, gpointer user_data)
{
  CwAgentPlugin *self = PLUGIN (user_data);
  g_autoptr (GError) error = NULL;
  const gchar *id = cw_invocation_get_string (inv, "permissionId", TRUE, &error);
  const gchar *decision
      = id != NULL ? cw_invocation_get_string (inv, "decision", TRUE, &error) : NULL;

  if (decision == NULL
      || !cw_permission_respond (self, id, decision,
                                 cw_caller_get_actor (cw_invocation_get_caller (inv)), &error))
    {
      cw_invocation_return_error (inv, g_steal_pointer (&error));
      return;
    }
  return_void (inv);
}

static void
cmd_respond_question (CwInvocation *inv, gpointer user_data)
{
  CwAgentPlugin *self = PLUGIN (user_data);
  g_autoptr (GError) error = NULL;
  const gchar *id = cw_invocation_get_string (inv, "questionId", TRUE, &error);
  JsonNode *answer = json_object_get_member (cw_invocation_get_params (inv), "answer");

  if (id == NULL
      || !cw_question_answer (self, id, answer,
                              cw_caller_get_actor (cw_invocation_get_caller (inv)), &error))
    {
      cw_invocation_return_error (inv, g_steal_pointer (&error));
      return;
    }
  return_void (inv);
}

gboolean
cw_agent_turn_commands_register (CwAgentPlugin *self, GError **error)
{
  CwPlugin *p = CW_PLUGIN (self);

  /* A paired phone sends messages, stops turns and answers permissions and questions. */
  return cw_plugin_add_command_full (p, "send_message", CW_COMMAND_FLAG_REMOTE, cmd_send_message,
                                     error)
         && cw_plugin_add_command (p, "run_start_v2", cmd_run_start_v2, error)
         && cw_plugin_add_command_full (p, "stop_generation", CW_COMMAND_FLAG_REMOTE,
                                        cmd_stop_generation, error)
         && cw_plugin_add_command_full (p, "respond_permission", CW_COMMAND_FLAG_REMOTE,
                                        cmd_respond_permission, error)
         && cw_plugin_add_command_full (p, "respond_question", CW_COMMAND_FLAG_REMOTE,
                                        cmd_respond_question, error);
}
