/* cw-agent-queue.c: messages sent while a turn runs wait here, in order, and run one by
 * one after it. The queue is stored, and unlike the original it goes on by itself after a
 * restart.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-agent-permissions.h"
#include "cw-agent-plugin.h"
#include "cw-agent-questions.h"
#include "cw-agent-turn.h"

#define PLUGIN(p) CW_AGENT_PLUGIN (p)

static void
emit_queue (CwAgentPlugin *self, CwAgentSession *s)
{
  JsonObject *data = json_object_new ();

  json_object_set_array_member (data, "queue", cw_agent_session_queue_to_json (s));
  cw_agent_sessions_emit (self->sessions, "queue:update", s->id, data);
}

/* Stores the queue changed since @undo was saved and announces it; when the store fails the
 * queue is put back (with @undo NULL: the failure is only logged). */
static gboolean
queue_changed (CwAgentPlugin *self, CwAgentSession *s, CwAgentSessionUndo *undo, GError **error)
{
  CwAgentChange changes = CW_AGENT_CHANGE_QUEUE | CW_AGENT_CHANGE_RUNTIME;

  if (undo != NULL && !cw_agent_sessions_commit_or_undo (self->sessions, s, changes, undo, error))
    return FALSE;
  if (undo == NULL)
    cw_agent_sessions_commit (self->sessions, s, changes, NULL);
  emit_queue (self, s);
  return TRUE;
}

static void
answer_waiters (CwAgentSession *s)
{
  g_autoptr (GPtrArray) waiters = g_steal_pointer (&s->waiters);

  s->waiters = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; i < waiters->len; i++)
    {
      JsonObject *result = json_object_new ();
      json_object_set_boolean_member (result, "success", TRUE);
      cw_invocation_return_object (g_ptr_array_index (waiters, i), result);
    }
}

gboolean
cw_agent_plugin_queue_message (CwAgentPlugin *self, CwAgentSession *s, const gchar *content,
                               JsonArray *attachments, gboolean first, GError **error)
{
  g_autofree gchar *id = cw_make_id ("qmsg");
  CwQueuedMessage *msg = cw_queued_message_new (id, content, attachments, cw_now_ms ());
  g_auto (CwAgentSessionUndo) undo = { 0 };

  cw_agent_session_undo_save (s, &undo);
  if (first)
    g_ptr_array_insert (s->queue, 0, msg);
  else
    g_ptr_array_add (s->queue, msg);
  return queue_changed (self, s, &undo, error);
}

void
cw_agent_queue_turn_ended (CwAgentSession *session, gpointer plugin)
{
  cw_agent_plugin_run_queue (plugin, session);
}

void
cw_agent_plugin_run_queue (CwAgentPlugin *self, CwAgentSession *s)
{
  CwQueuedMessage *next;

  if (s->turn != NULL || self->stopping)
    return;
  if (s->queue->len == 0 || s->deleted)
    {
      answer_waiters (s);
      return;
    }
  next = g_ptr_array_steal_index (s->queue, 0);
  queue_changed (self, s, NULL, NULL);
  cw_agent_turn_start (self, s, next->content, next->attachments, 0, cw_agent_queue_turn_ended,
                       self);
  cw_queued_message_free (next);
}

static void
return_bool (CwInvocation *inv, gboolean value)
{
  JsonNode *node = json_node_new (JSON_NODE_VALUE);

  json_node_set_boolean (node, value);
  cw_invocation_return_value (inv, node);
}

static void
cmd_get_queue (CwInvocation *inv, gpointer user_data)
{
  CwAgentPlugin *self = PLUGIN (user_data);
  CwAgentSession *s = cw_agent_sessions_lookup (
      self->sessions, cw_invocation_get_string (inv, "sessionId", FALSE, NULL));
  JsonNode *node = json_node_new (JSON_NODE_ARRAY);

  json_node_take_array (node, s != NULL ? cw_agent_session_queue_to_json (s) : json_array_new ());
  cw_invocation_return_value (inv, node);
}

/* A command's change of the queue: stored and announced, answered true; or the store's
 * error with the queue as it was. */
static void
commit_and_reply (CwAgentPlugin *self, CwInvocation *inv, CwAgentSession *s,
                  CwAgentSessionUndo *undo)
{
  g_autoptr (GError) error = NULL;

  if (!queue_changed (self, s, undo, &error))
    cw_invocation_return_error (inv, g_steal_pointer (&error));
  else
    return_bool (inv, TRUE);
}

/* Common start of the commands on one queued message. */
static CwAgentSession *
session_and_message (CwAgentPlugin *self, CwInvocation *inv, const gchar **message_id)
{
  g_autoptr (GError) error = NULL;
  CwAgentSession *s = cw_agent_sessions_from_invocation (self->sessions, inv);

  if (s == NULL)
    return NULL;
  *message_id = cw_invocation_get_string (inv, "messageId", TRUE, &error);
  if (*message_id == NULL)
    {
      cw_invocation_return_error (inv, g_steal_pointer (&error));
      return NULL;
    }
  return s;
}

static void
cmd_remove_from_queue (CwInvocation *inv, gpointer user_data)
{
  CwAgentPlugin *self = PLUGIN (user_data);
  const gchar *id = NULL;
  CwAgentSession *s = session_and_message (self, inv, &id);
  g_auto (CwAgentSessionUndo) undo = { 0 };
  guint index;

  if (s == NULL)
    return;
  if (cw_agent_session_find_queued (s, id, &index) == NULL)
    {
      return_bool (inv, FALSE);
      return;
    }
  cw_agent_session_undo_save (s, &undo);
  g_ptr_array_remove_index (s->queue, index);
  commit_and_reply (self, inv, s, &undo);
}

static void
cmd_edit_queued_message (CwInvocation *inv, gpointer user_data)
{
  CwAgentPlugin *self = PLUGIN (user_data);
  g_autoptr (GError) error = NULL;
  const gchar *id = NULL, *content;
  CwAgentSession *s = session_and_message (self, inv, &id);
  g_auto (CwAgentSessionUndo) undo = { 0 };
  CwQueuedMessage *msg;

  if (s == NULL)
    return;
  content = cw_invocation_get_string (inv, "content", TRUE, &error);
  if (content == NULL)
    {
      cw_invocation_return_error (inv, g_steal_pointer (&error));
      return;
    }
  if (cw_agent_session_find_queued (s, id, NULL) == NULL)
    {
      return_bool (inv, FALSE);
      return;
    }
  cw_agent_session_undo_save (s, &undo);
  msg = cw_agent_session_find_queued (s, id, NULL);
  g_free (msg->content);
  msg->content = g_strdup (content);
  commit_and_reply (self, inv, s, &undo);
}

static void
cmd_reorder_queue (CwInvocation *inv, gpointer user_data)
{
  CwAgentPlugin *self = PLUGIN (user_data);
  CwAgentSession *s = cw_agent_sessions_from_invocation (self->sessions, inv);
  JsonNode *node;
  JsonArray *ids;
  GPtrArray *reordered;
  g_auto (CwAgentSessionUndo) undo = { 0 };

  if (s == NULL)
    return;
  node = json_object_get_member (cw_invocation_get_params (inv), "messageIds");
  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    {
      cw_invocation_return_error_literal (inv, CW_ERROR_INVALID_PARAMS, "messageIds is required");
      return;
    }
  ids = json_node_get_array (node);
  cw_agent_session_undo_save (s, &undo);
  /* As in the contract: the queue becomes exactly the listed ids that exist. */
  reordered = g_ptr_array_new_with_free_func ((GDestroyNotify) cw_queued_message_free);
  for (guint i = 0; i < json_array_get_length (ids); i++)
    {
      const gchar *id = json_array_get_string_element (ids, i);
      guint index;
      if (id != NULL && cw_agent_session_find_queued (s, id, &index) != NULL)
        g_ptr_array_add (reordered, g_ptr_array_steal_index (s->queue, index));
    }
  g_ptr_array_unref (s->queue);
  s->queue = reordered;
  commit_and_reply (self, inv, s, &undo);
}

static void
cmd_send_queued_immediately (CwInvocation *inv, gpointer user_data)
{
  CwAgentPlugin *self = PLUGIN (user_data);
  g_autoptr (GError) error = NULL;
  const gchar *id = NULL;
  CwAgentSession *s = session_and_message (self, inv, &id);
  g_auto (CwAgentSessionUndo) undo = { 0 };
  guint index;

  if (s == NULL)
    return;
  if (cw_agent_session_find_queued (s, id, &index) == NULL)
    {
      return_bool (inv, FALSE);
      return;
    }
  cw_agent_session_undo_save (s, &undo);
  g_ptr_array_insert (s->queue, 0, g_ptr_array_steal_index (s->queue, index));
  if (!queue_changed (self, s, &undo, &error))
    {
      cw_invocation_return_error (inv, g_steal_pointer (&error));
      return;
    }
  /* Then what stop_generation does; the queue picks the message up next. */
  if (s->turn != NULL)
    cw_agent_turn_stop (s->turn);
  cw_permission_deny_all (self, s);
  cw_question_cancel_all (self, s);
  if (s->turn == NULL)
    cw_agent_plugin_run_queue (self, s);
  return_bool (inv, TRUE);
}

gboolean
cw_agent_queue_commands_register (CwAgentPlugin *self, GError **error)
{
  CwPlugin *p = CW_PLUGIN (self);

  return cw_plugin_add_command (p, "get_queue", cmd_get_queue, error)
         && cw_plugin_add_command (p, "remove_from_queue", cmd_remove_from_queue, error)
         && cw_plugin_add_command (p, "reorder_queue", cmd_reorder_queue, error)
         && cw_plugin_add_command (p, "send_queued_immediately", cmd_send_queued_immediately, error)
         && cw_plugin_add_command (p, "edit_queued_message", cmd_edit_queued_message, error);
}
