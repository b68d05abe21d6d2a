/* cw-agent-turn.c: the agent loop.
 *
 * A turn is a small state machine driven by callbacks on the main context: the key lookup,
 * the provider stream, tool runs (worker threads or child processes), permission and
 * question waiters. Every one of them reports back through the turn, and the turn only
 * finishes once none is outstanding, so no callback ever sees a freed turn. Stopping
 * cancels all of them at once; each then reports back promptly.
 *
 * What the loop sends to the model is rebuilt from the stored chat items each round
 * (cw-agent-history.c): a turn carried over a restart continues from what is on disk.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-agent-json.h"
#include "cw-agent-turn-state.h"
#include "cw-agent-history.h"
#include "cw-agent-keys.h"
#include "cw-agent-permissions.h"
#include "cw-agent-plugin-tools.h"
#include "cw-agent-questions.h"
#include "cw-agent-skills.h"
#include "cw-agent-store.h"
#include "cw-provider.h"
#include "tools/cw-tool.h"

#define FLUSH_INTERVAL_MS 250
/* chat:update of a growing reply goes out at most this often (the contract coalesces within
 * its flush window too); every chunk still goes out at once as stream:chunk. Sending the
 * whole text on every chunk made a long reply cost quadratic time and storage. */
#define CHAT_UPDATE_INTERVAL_MS 50
/* Each chat:update and each flush carries the whole text so far, and every event stays in
 * the bus's replay ring and store: past these rates their pauses grow with the text, so a
 * long reply costs at most this many bytes a second, not its length at every tick. */
#define CHAT_UPDATE_BYTES_PER_S (256 * 1024)
#define FLUSH_BYTES_PER_S       (1024 * 1024)
#define COMPACT_KEEP_MESSAGES   6
#define SYSTEM_PROMPT                                                                              \
  "You are Cowork, an agent working in the user's project directory %s. Use the tools to "         \
  "read, search and change files and to run commands there. Keep the user informed and ask "       \
  "with ask_user when a decision is theirs."
#define PLAN_PROMPT                                                                                \
  " You are in plan mode: investigate with read-only tools only and end with a concrete, "         \
  "numbered plan. Do not change anything yet."

static void
turn_free (CwAgentTurn *self)
{
  g_clear_handle_id (&self->flush_id, g_source_remove);
  g_clear_handle_id (&self->chat_update_id, g_source_remove);
  g_object_unref (self->session);
  g_free (self->turn_id);
  g_free (self->run_id);
  g_object_unref (self->cancellable);
  g_clear_object (&self->run_invocation);
  g_free (self->error_message);
  g_free (self->error_code);
  g_free (self->thinking_item_id);
  g_string_free (self->thinking_text, TRUE);
  g_free (self->segment_item_id);
  g_string_free (self->segment_text, TRUE);
  g_string_free (self->round_text, TRUE);
  g_free (self->plan_text);
  g_ptr_array_unref (self->calls);
  g_free (self);
}

static CwAgentTurn *
turn_new (CwAgentPlugin *plugin, CwAgentSession *session, const gchar *turn_id)
{
  CwAgentTurn *self = g_new0 (CwAgentTurn, 1);

  self->plugin = plugin;
  self->session = g_object_ref (session);
  self->turn_id = turn_id != NULL ? g_strdup (turn_id) : cw_make_id ("msg");
  self->run_id = cw_make_id ("run");
  self->cancellable = g_cancellable_new ();
  self->thinking_text = g_string_new (NULL);
  self->segment_text = g_string_new (NULL);
  self->round_text = g_string_new (NULL);
  self->calls = g_ptr_array_new_with_free_func ((GDestroyNotify) cw_agent_tool_run_free);
  return self;
}

const gchar *
cw_agent_turn_get_id (CwAgentTurn *self)
{
  return self->turn_id;
}

gboolean
cw_agent_turn_is_retrying (CwAgentTurn *self)
{
  return self->retrying;
}

void
cw_agent_turn_set_run_invocation (CwAgentTurn *self, CwInvocation *invocation)
{
  g_set_object (&self->run_invocation, invocation);
}

void
cw_agent_turn_fill_runtime (CwAgentTurn *self, JsonObject *runtime)
{
  JsonArray *ids = json_array_new ();
  JsonArray *tools = json_array_new ();

  /* As a client that saw stream:start and no stream:done yet shows it: busy while tools run
   * and while a permission waits, so a reopened app shows what a never-closed one does. */
  json_object_set_boolean_member (runtime, "isStreaming", self->announced);
  json_object_set_boolean_member (runtime, "isThinking", self->announced && self->thinking);
  json_object_set_string_member (runtime, "activeTurnId", self->turn_id);
  for (guint i = 0; i < self->calls->len; i++)
    {
      CwAgentToolRun *run = g_ptr_array_index (self->calls, i);
      JsonObject *t;
      if (run->done)
        continue;
      json_array_add_string_element (ids, run->id);
      t = json_object_new ();
      json_object_set_string_member (t, "id", run->id);
      json_object_set_string_member (t, "name", run->name);
      json_object_set_object_member (t, "args", json_object_ref (run->args));
      json_object_set_int_member (t, "startedAt", run->started_at);
      json_array_add_object_element (tools, t);
    }
  json_object_set_array_member (runtime, "activeToolIds", ids);
  json_object_set_array_member (runtime, "activeTools", tools);
}

void
cw_agent_turn_emit (CwAgentTurn *self, const gchar *type, JsonObject *data)
{
  cw_agent_sessions_emit (self->plugin->sessions, type, self->session->id, data);
}

static void
emit_timestamp (CwAgentTurn *self, const gchar *type)
{
  JsonObject *data = json_object_new ();

  json_object_set_int_member (data, "timestamp", cw_now_ms ());
  cw_agent_turn_emit (self, type, data);
}

static void
announce (CwAgentTurn *self)
{
  if (self->announced)
    return;
  self->announced = TRUE;
  self->thinking = TRUE; /* the original's flag: set at the start, cleared by the first text */
  self->done_emitted = FALSE;
  emit_timestamp (self, "stream:start");
  self->session->health.stream_starts++;
  cw_agent_sessions_emit_health (self->plugin->sessions, self->session);
}

/* stream:done closes what stream:start opened; a plan approval sits between two of them. */
static void
emit_stream_done (CwAgentTurn *self)
{
  JsonObject *data;

  if (!self->announced)
    return;
  if (!self->tasks_sent)
    cw_agent_sessions_emit_tasks (self->plugin->sessions, self->session);
  self->tasks_sent = TRUE;
  self->announced = FALSE;
  self->thinking = FALSE;
  self->done_emitted = TRUE;
  data = json_object_new ();
  json_object_set_null_member (data, "message");
  if (self->usage_reported)
    {
      JsonObject *usage = json_object_new ();
      json_object_set_int_member (usage, "promptTokens", self->prompt_tokens);
      json_object_set_int_member (usage, "completionTokens", self->completion_tokens);
      json_object_set_object_member (data, "usage", usage);
    }
  cw_agent_turn_emit (self, "stream:done", data);
  self->session->health.stream_done++;
  cw_agent_sessions_emit_health (self->plugin->sessions, self->session);
}

/* ---- streamed text and thinking ----------------------------------------------------- */

static JsonObject *
stream_state (CwAgentTurn *self, const gchar *status)
{
  JsonObject *stream = json_object_new ();

  json_object_set_string_member (stream, "phase", "intermediate");
  json_object_set_string_member (stream, "status", status);
  json_object_set_int_member (stream, "segmentIndex", self->segment_index);
  return stream;
}

/* The growing text is stored at most every FLUSH_INTERVAL_MS (and at the end of the
 * segment): a crash loses at most that much of a reply, and chunks stay cheap. */
static gboolean
on_flush (gpointer user_data)
{
  CwAgentTurn *self = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) updates = json_object_new ();
  g_autoptr (JsonObject) merged = NULL;

  self->flush_id = 0;
  if (self->segment_item_id != NULL)
    {
      json_object_set_string_member (updates, "content", self->segment_text->str);
      merged = cw_agent_store_patch_item (self->plugin->store, self->session->id,
                                          self->segment_item_id, updates, &error);
      if (error != NULL)
        g_warning ("failed to store reply text: %s", error->message);
    }
  return G_SOURCE_REMOVE;
}

static gboolean
on_chat_update (gpointer user_data)
{
  CwAgentTurn *self = user_data;
  JsonObject *updates;

  self->chat_update_id = 0;
  /* Thinking and a reply's segment never grow at the same time. */
  if (self->thinking_item_id == NULL && self->segment_item_id == NULL)
    return G_SOURCE_REMOVE;
  updates = json_object_new ();
  json_object_set_string_member (updates, "content",
                                 self->thinking_item_id != NULL ? self->thinking_text->str
                                                                : self->segment_text->str);
  cw_agent_sessions_update_item (self->plugin->sessions, self->session,
                                 self->thinking_item_id != NULL ? self->thinking_item_id
                                                                : self->segment_item_id,
                                 updates, FALSE);
  return G_SOURCE_REMOVE;
}

static void
end_thinking (CwAgentTurn *self)
{
  JsonObject *updates;

  if (self->thinking_item_id == NULL)
    return;
  g_clear_handle_id (&self->chat_update_id, g_source_remove);
  self->thinking = FALSE;
  emit_timestamp (self, "thinking:done");
  updates = json_object_new ();
  json_object_set_string_member (updates, "content", self->thinking_text->str);
  json_object_set_string_member (updates, "status", "done");
  cw_agent_sessions_update_item (self->plugin->sessions, self->session, self->thinking_item_id,
                                 updates, TRUE);
  g_clear_pointer (&self->thinking_item_id, g_free);
  g_string_truncate (self->thinking_text, 0);
}

static void
end_segment (CwAgentTurn *self)
{
  JsonObject *updates;

  if (self->segment_item_id == NULL)
    return;
  g_clear_handle_id (&self->flush_id, g_source_remove);
  g_clear_handle_id (&self->chat_update_id, g_source_remove);
  updates = json_object_new ();
  json_object_set_string_member (updates, "content", self->segment_text->str);
  json_object_set_object_member (updates, "stream", stream_state (self, "done"));
  cw_agent_sessions_update_item (self->plugin->sessions, self->session, self->segment_item_id,
                                 updates, TRUE);
  g_clear_pointer (&self->segment_item_id, g_free);
  g_string_truncate (self->segment_text, 0);
  self->segment_index++;
}

/* @base_ms, or longer so that sending @len bytes each time stays within @bytes_per_s. */
static guint
paced_interval (guint base_ms, gsize len, gsize bytes_per_s)
{
  return (guint) MAX ((gsize) base_ms, len * 1000 / bytes_per_s);
}

static void
on_text (const gchar *delta, gpointer user_data)
{
  CwAgentTurn *self = user_data;
  JsonObject *data;

  if (self->stopped || delta == NULL || *delta == '\0')
    return;
  self->retrying = FALSE;
  end_thinking (self);
  g_string_append (self->segment_text, delta);
  /* The round's whole text is needed only for a plan: no second copy of every reply. */
  if (g_strcmp0 (self->session->execution_mode, "plan") == 0)
    g_string_append (self->round_text, delta);
  if (self->segment_item_id == NULL)
    {
      JsonObject *item = json_object_new ();
      g_autoptr (JsonObject) stored = NULL;
      json_object_set_string_member (item, "kind", "assistant_message");
      json_object_set_string_member (item, "turnId", self->turn_id);
      json_object_set_string_member (item, "content", self->segment_text->str);
      json_object_set_object_member (item, "stream", stream_state (self, "streaming"));
      stored = cw_agent_sessions_append_item (self->plugin->sessions, self->session, item);
      self->segment_item_id = g_strdup (json_object_get_string_member (stored, "id"));
    }
  else
    {
      gsize len = self->segment_text->len;
      if (self->chat_update_id == 0)
        self->chat_update_id
            = g_timeout_add (paced_interval (CHAT_UPDATE_INTERVAL_MS, len, CHAT_UPDATE_BYTES_PER_S),
                             on_chat_update, self);
      if (self->flush_id == 0)
        self->flush_id = g_timeout_add (paced_interval (FLUSH_INTERVAL_MS, len, FLUSH_BYTES_PER_S),
                                        on_flush, self);
    }
  data = json_object_new ();
  json_object_set_string_member (data, "content", delta);
  cw_agent_turn_emit (self, "stream:chunk", data);
}

static void
on_thinking (const gchar *delta, gpointer user_data)
{
  CwAgentTurn *self = user_data;
  JsonObject *data;

  if (self->stopped || delta == NULL || *delta == '\0')
    return;
  self->retrying = FALSE;
  if (self->thinking_item_id == NULL)
    {
      JsonObject *item = json_object_new ();
      g_autoptr (JsonObject) stored = NULL;

      end_segment (self);
      self->thinking = TRUE;
      emit_timestamp (self, "thinking:start");
      json_object_set_string_member (item, "kind", "thinking");
      json_object_set_string_member (item, "turnId", self->turn_id);
      json_object_set_string_member (item, "content", "");
      json_object_set_string_member (item, "status", "active");
      stored = cw_agent_sessions_append_item (self->plugin->sessions, self->session, item);
      self->thinking_item_id = g_strdup (json_object_get_string_member (stored, "id"));
    }
  g_string_append (self->thinking_text, delta);
  data = json_object_new ();
  json_object_set_string_member (data, "content", delta);
  cw_agent_turn_emit (self, "thinking:chunk", data);
  /* The growing thought follows as coalesced chat:update, as a reply's text does. */
  if (self->chat_update_id == 0)
    self->chat_update_id = g_timeout_add (
        paced_interval (CHAT_UPDATE_INTERVAL_MS, self->thinking_text->len, CHAT_UPDATE_BYTES_PER_S),
        on_chat_update, self);
}

static void
on_tool_call (const gchar *id, const gchar *name, JsonObject *args, gpointer user_data)
{
  CwAgentTurn *self = user_data;

  if (self->stopped)
    return;
  g_ptr_array_add (self->calls, cw_agent_tool_run_new (self, id, name, args));
}

static void
on_usage (gint64 input_tokens, gint64 output_tokens, gpointer user_data)
{
  CwAgentTurn *self = user_data;

  self->session->context_used = input_tokens + output_tokens;
  self->usage_reported = TRUE;
  self->prompt_tokens += input_tokens;
  self->completion_tokens += output_tokens;
}

static void
on_retrying (guint attempt, guint delay_ms, const GError *error, gpointer user_data)
{
  CwAgentTurn *self = user_data;

  self->retrying = TRUE;
  g_debug ("session %s: provider retry %u in %u ms: %s", self->session->id, attempt, delay_ms,
           error != NULL ? error->message : "");
}

/* ---- errors ------------------------------------------------------------------------- */

/* Contract §6.1 turn error codes from the provider's error kinds. */
static const gchar *
contract_code (const GError *error)
{
  if (error->domain == CW_PROVIDER_ERROR)
    switch ((CwProviderError) error->code)
      {
        case CW_PROVIDER_ERROR_INVALID_API_KEY:
          return "INVALID_API_KEY";
        case CW_PROVIDER_ERROR_RATE_LIMIT:
          return "RATE_LIMIT";
        case CW_PROVIDER_ERROR_SERVER:
          return "SERVICE_ERROR";
        default:
          break;
      }
  return "AGENT_ERROR";
}

static void
record_error (CwAgentTurn *self, const gchar *message, const gchar *code)
{
  if (self->error_message != NULL)
    return;
  self->error_message = g_strdup (message);
  self->error_code = g_strdup (code);
}

static void
emit_error (CwAgentTurn *self)
{
  JsonObject *item = json_object_new ();
  g_autoptr (JsonObject) stored = NULL;
  JsonObject *data;

  json_object_set_string_member (item, "kind", "error");
  json_object_set_string_member (item, "turnId", self->turn_id);
  json_object_set_string_member (item, "message", self->error_message);
  json_object_set_string_member (item, "code", self->error_code);
  json_object_set_boolean_member (item, "recoverable",
                                  g_strcmp0 (self->error_code, "INVALID_API_KEY") != 0);
  stored = cw_agent_sessions_append_item (self->plugin->sessions, self->session, item);
  data = json_object_new ();
  json_object_set_string_member (data, "error", self->error_message);
  json_object_set_string_member (data, "code", self->error_code);
  cw_agent_turn_emit (self, "error", data);
  self->session->health.errors++;
  cw_agent_sessions_emit_health (self->plugin->sessions, self->session);
  cw_agent_session_set_last_error (self->session, self->error_message, self->error_code);
}

/* ---- the end ------------------------------------------------------------------------ */

static void
answer_run_invocation (CwAgentTurn *self, const gchar *status)
{
  JsonObject *result;

  if (self->run_invocation == NULL)
    return;
  if (self->error_message != NULL)
    cw_invocation_return_new_error (self->run_invocation, CW_ERROR_FAILED, "%s",
                                    self->error_message);
  else
    {
      result = json_object_new ();
      json_object_set_string_member (result, "runId", self->run_id);
      json_object_set_string_member (result, "sessionId", self->session->id);
      json_object_set_string_member (result, "status", status);
      cw_invocation_return_object (self->run_invocation, result);
    }
  g_clear_object (&self->run_invocation);
}

static void
finish (CwAgentTurn *self)
{
  CwAgentPlugin *plugin = self->plugin;
  CwAgentSession *session = g_object_ref (self->session);
  CwAgentTurnEnded ended;
  gpointer ended_data;
  const gchar *status = self->stopped                 ? "cancelled"
                        : self->error_message != NULL ? "failed"
                                                      : "completed";

  end_thinking (self);
  end_segment (self);
  if (self->error_message != NULL && !self->stopped)
    emit_error (self);
  if (!self->done_emitted)
    {
      announce (self);
      emit_stream_done (self);
      cw_agent_sessions_emit_context (self->plugin->sessions, self->session);
    }

  session->turn = NULL;
  session->stop_requested = FALSE;
  g_free (session->last_run_status);
  session->last_run_status = g_strdup (status);
  if (self->error_message == NULL)
    cw_agent_session_set_last_error (session, NULL, NULL);
  session->updated_at = cw_now_ms ();
  cw_agent_sessions_commit (
      plugin->sessions, session,
      CW_AGENT_CHANGE_INFO | CW_AGENT_CHANGE_RUNTIME | CW_AGENT_CHANGE_ANNOUNCE, NULL);
  answer_run_invocation (self, status);
  ended = self->ended;
  ended_data = self->ended_data;
  turn_free (self);
  if (ended != NULL)
    ended (session, ended_data);
  g_object_unref (session);
}

static gboolean
has_outstanding (CwAgentTurn *self)
{
  return self->key_pending || self->stream != NULL || self->tools_pending > 0 || self->plan_pending;
}

/* ---- plan approval ------------------------------------------------------------------ */

#define PLAN_QUESTION                                                                              \
  "Review the proposed plan. Accept to execute now, or reject to request a revised plan."
#define PLAN_APPROVED                                                                              \
  "Approved plan:\n\n%s\n\nImplement this plan now. Start by calling write_todos with a "          \
  "detailed step list, then execute and keep todo statuses continuously updated as each step "     \
  "completes."
#define PLAN_REVISE_WITH                                                                           \
  "Revise the plan based on this feedback:\n%s\n\nReturn one updated <proposed_plan> block."
#define PLAN_REVISE                                                                                \
  "Revise the plan for clearer implementation steps, risks, and validation. Return one "           \
  "updated <proposed_plan> block."

/* The last <proposed_plan> block of @text, else all of it; trimmed. */
static gchar *
extract_plan (const gchar *text)
{
  const gchar *open = NULL, *p = text;
  const gchar *body, *close;

  while ((p = strstr (p, "<proposed_plan>")) != NULL)
    {
      if (strstr (p, "</proposed_plan>") != NULL)
        open = p;
      p += strlen ("<proposed_plan>");
    }
  if (open == NULL)
    return g_strstrip (g_strdup (text));
  body = open + strlen ("<proposed_plan>");
  close = strstr (body, "</proposed_plan>");
  return g_strstrip (g_strndup (body, close - body));
}

/* accept_execute (or an answer that says accept / execute / approve) accepts; anything else
 * but the plain reject_revise is feedback for the revision. */
static gboolean
plan_accepted (JsonNode *answer, gchar **feedback)
{
  g_autoptr (GString) joined = g_string_new (NULL);
  gboolean accept = FALSE, plain_reject = FALSE;
  guint n = 0;

  if (JSON_NODE_HOLDS_ARRAY (answer))
    {
      JsonArray *arr = json_node_get_array (answer);
      n = json_array_get_length (arr);
      for (guint i = 0; i < n; i++)
        {
          JsonNode *e = json_array_get_element (arr, i);
          const gchar *v = JSON_NODE_HOLDS_VALUE (e) ? json_node_get_string (e) : NULL;
          if (v == NULL)
            continue;
          if (joined->len > 0)
            g_string_append_c (joined, '\n');
          g_string_append (joined, v);
        }
    }
  else if (JSON_NODE_HOLDS_VALUE (answer) && json_node_get_string (answer) != NULL)
    {
      g_string_append (joined, json_node_get_string (answer));
      n = 1;
    }
  g_strstrip (joined->str);
  joined->len = strlen (joined->str);
  if (g_ascii_strcasecmp (joined->str, "accept_execute") == 0
      || (n > 1 && strstr (joined->str, "accept_execute") != NULL))
    accept = TRUE;
  else if (g_ascii_strcasecmp (joined->str, "reject_revise") == 0)
    plain_reject = TRUE;
  else
    accept = g_regex_match_simple ("accept|execute|approve", joined->str, G_REGEX_CASELESS, 0);
  *feedback = accept || plain_reject || joined->len == 0 ? NULL : g_strdup (joined->str);
  return accept;
}

static void
on_plan_answer (JsonNode *answer, gpointer user_data)
{
  CwAgentTurn *self = user_data;
  CwAgentSession *session = self->session;
  const gchar *value = JSON_NODE_HOLDS_VALUE (answer) ? json_node_get_string (answer) : NULL;
  g_autofree gchar *feedback = NULL;
  g_autofree gchar *message = NULL;

  self->plan_pending = FALSE;
  if (self->stopped || g_strcmp0 (value, "__cancelled__") == 0 || self->plan_text == NULL)
    {
      cw_agent_turn_maybe_finish (self);
      return;
    }
  /* As the original: the follow-up is a message of its own, first in the queue, and runs
   * as the next turn once this one is done. */
  if (plan_accepted (answer, &feedback))
    {
      g_free (session->execution_mode);
      session->execution_mode = g_strdup ("execute");
      cw_agent_sessions_commit (self->plugin->sessions, session,
                                CW_AGENT_CHANGE_INFO | CW_AGENT_CHANGE_ANNOUNCE, NULL);
      message = g_strdup_printf (PLAN_APPROVED, self->plan_text);
    }
  else
    message
        = feedback != NULL ? g_strdup_printf (PLAN_REVISE_WITH, feedback) : g_strdup (PLAN_REVISE);
  cw_agent_plugin_queue_message (self->plugin, session, message, NULL, TRUE, NULL);
  cw_agent_turn_maybe_finish (self);
}

static void
add_option (JsonArray *options, const gchar *label, const gchar *value, const gchar *description)
{
  JsonObject *o = json_object_new ();

  json_object_set_string_member (o, "label", label);
  json_object_set_string_member (o, "value", value);
  json_object_set_string_member (o, "description", description);
  json_array_add_object_element (options, o);
}

/* Contract §4.5: the plan-approval question, worded as the original's. The plan travels
 * with the stored question, so an answer after a restart still carries it. */
static void
ask_plan_approval (CwAgentTurn *self, const gchar *reply)
{
  g_autoptr (JsonObject) request = json_object_new ();
  g_autoptr (JsonObject) marker = json_object_new ();
  JsonArray *options = json_array_new ();

  g_free (self->plan_text);
  self->plan_text = extract_plan (reply);
  if (*self->plan_text == '\0')
    {
      g_clear_pointer (&self->plan_text, g_free);
      return;
    }
  add_option (options, "Accept and Execute", "accept_execute",
              "Switches this session to execute mode and starts implementation immediately.");
  add_option (options, "Reject and Revise", "reject_revise",
              "Keeps plan mode and asks for a revised plan. You can also provide custom feedback.");
  json_object_set_string_member (request, "question", PLAN_QUESTION);
  json_object_set_array_member (request, "options", options);
  json_object_set_boolean_member (request, "multiSelect", FALSE);
  json_object_set_string_member (request, "header", "Plan Approval");
  json_object_set_boolean_member (request, "allowCustom", TRUE);
  json_object_set_string_member (marker, "kind", "plan");
  json_object_set_string_member (marker, "plan", self->plan_text);
  self->plan_pending = TRUE;
  cw_question_ask (self->plugin, self->session, self->turn_id, request, marker, on_plan_answer,
                   self);
}

void
cw_agent_turn_maybe_finish (CwAgentTurn *self)
{
  if (has_outstanding (self))
    return;
  finish (self);
}

/* ---- model rounds ------------------------------------------------------------------- */

static void
on_done (const gchar *stop_reason, const GError *error, gpointer user_data)
{
  CwAgentTurn *self = user_data;

  cw_provider_stream_free (self->stream);
  self->stream = NULL;
  self->retrying = FALSE;
  end_thinking (self);
  end_segment (self);
  cw_agent_sessions_commit (self->plugin->sessions, self->session, CW_AGENT_CHANGE_RUNTIME, NULL);
  if (error != NULL && !self->stopped
      && !g_error_matches (error, CW_PROVIDER_ERROR, CW_PROVIDER_ERROR_CANCELLED))
    record_error (self, error->message, contract_code (error));
  if (self->stopped || self->error_message != NULL)
    {
      cw_agent_turn_maybe_finish (self);
      return;
    }
  if (self->calls->len > 0)
    {
      cw_agent_turn_run_tools (self);
      return;
    }
  if (g_strcmp0 (self->session->execution_mode, "plan") == 0)
    {
      /* Contract §6.7: the plan's stream ends, then the approval question waits. */
      emit_stream_done (self);
      cw_agent_sessions_emit_context (self->plugin->sessions, self->session);
      ask_plan_approval (self, self->round_text->str);
      cw_agent_turn_maybe_finish (self);
      return;
    }
  cw_agent_turn_maybe_finish (self);
}

gchar *
cw_agent_turn_system_prompt (CwAgentPlugin *plugin, CwAgentSession *session)
{
  g_autofree gchar *base = g_strdup_printf (SYSTEM_PROMPT, session->working_directory);
  g_autofree gchar *skills
      = cw_agent_skills_prompt (plugin->config->skills, session->working_directory);
  gboolean plan = g_strcmp0 (session->execution_mode, "plan") == 0;

  return g_strconcat (base, plan ? PLAN_PROMPT : "", skills != NULL ? "\n\n" : "",
                      skills != NULL ? skills : "", NULL);
}

static void
start_stream (CwAgentTurn *self, const gchar *api_key)
{
  static const CwProviderCallbacks callbacks = {
    .text = on_text,
    .thinking = on_thinking,
    .tool_call = on_tool_call,
    .usage = on_usage,
    .retrying = on_retrying,
    .done = on_done,
  };
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonArray) items = NULL;
  g_autoptr (JsonArray) messages = NULL;
  /* Read at each request: a tool another plugin added or withdrew shows at the next one. */
  g_autoptr (JsonArray) tools = cw_agent_plugin_tools_list_schemas (self->plugin);
  g_autofree gchar *prompt = cw_agent_turn_system_prompt (self->plugin, self->session);
  CwProviderRequest req = { 0 };

  items = cw_agent_store_list_items (self->plugin->store, self->session->id, -1, 0, NULL, &error);
  if (items == NULL)
    {
      record_error (self, error->message, "AGENT_ERROR");
      cw_agent_turn_maybe_finish (self);
      return;
    }
  messages = cw_agent_history_build (items);
  /* Contract §7.2 compacts at 70 % of the input window; without a summarising call the
   * oldest turns are left out of the request instead (the stored history stays whole). */
  if (self->session->context_used * 10
      >= cw_agent_session_context_window (self->session, self->plugin->config->catalog) * 7)
    {
      JsonArray *trimmed = cw_agent_history_trim (messages, COMPACT_KEEP_MESSAGES);
      json_array_unref (messages);
      messages = trimmed;
    }
  req.provider_id = self->session->provider;
  req.base_url = cw_agent_config_base_url (self->plugin->config, self->session->provider);
  req.api_key = api_key;
  req.model = self->session->model;
  req.system_prompt = prompt;
  req.messages = messages;
  req.tools = tools;
  req.thinking = TRUE;
  self->stream = cw_provider_stream_start (self->plugin->soup, &req, &callbacks, self);
  cw_agent_sessions_commit (self->plugin->sessions, self->session, CW_AGENT_CHANGE_RUNTIME, NULL);
}

static void
on_key (GObject *source, GAsyncResult *res, gpointer user_data)
{
  CwAgentTurn *self = user_data;
  g_autoptr (GError) error = NULL;
  g_autofree gchar *key = cw_agent_keys_lookup_finish (res, &error);

  self->key_pending = FALSE;
  if (self->stopped)
    {
      cw_agent_turn_maybe_finish (self);
      return;
    }
  if (error != NULL || (key == NULL && cw_agent_provider_needs_key (self->session->provider)))
    {
      g_autofree gchar *msg = error != NULL
                                  ? g_strdup_printf ("cannot read the %s API key: %s",
                                                     self->session->provider, error->message)
                                  : g_strdup_printf ("Provider \"%s\" not initialized. Set API "
                                                     "key first.",
                                                     self->session->provider);
      record_error (self, msg, "INVALID_API_KEY");
      cw_agent_turn_maybe_finish (self);
      return;
    }
  start_stream (self, key);
  if (key != NULL)
    memset (key, 0, strlen (key));
}

void
cw_agent_turn_begin_round (CwAgentTurn *self)
{
  if (self->stopped)
    {
      cw_agent_turn_maybe_finish (self);
      return;
    }
  if (self->max_rounds > 0 && self->rounds >= self->max_rounds)
    {
      cw_agent_turn_maybe_finish (self);
      return;
    }
  announce (self);
  self->rounds++;
  g_ptr_array_set_size (self->calls, 0);
  g_string_truncate (self->round_text, 0);
  self->key_pending = TRUE;
  cw_agent_keys_lookup (cw_plugin_get_context (CW_PLUGIN (self->plugin)), self->session->provider,
                        self->cancellable, on_key, self);
}

/* ---- public ------------------------------------------------------------------------- */

CwAgentTurn *
cw_agent_turn_start (CwAgentPlugin *plugin, CwAgentSession *session, const gchar *content,
                     JsonArray *attachments, gint64 max_rounds, CwAgentTurnEnded ended,
                     gpointer user_data)
{
  CwAgentTurn *self = turn_new (plugin, session, NULL);
  JsonObject *item = json_object_new ();
  g_autoptr (JsonObject) stored = NULL;

  self->ended = ended;
  self->ended_data = user_data;
  self->max_rounds = max_rounds;
  session->turn = self;
  session->stop_requested = FALSE;
  session->interrupted = FALSE;
  g_clear_pointer (&session->last_run_status, g_free);
  json_object_set_string_member (item, "kind", "user_message");
  json_object_set_string_member (item, "turnId", self->turn_id);
  json_object_set_string_member (item, "content", content != NULL ? content : "");
  if (attachments != NULL && json_array_get_length (attachments) > 0)
    json_object_set_array_member (item, "attachments", json_array_ref (attachments));
  if (session->first_message == NULL && content != NULL && *content != '\0')
    session->first_message = g_utf8_substring (content, 0, MIN (g_utf8_strlen (content, -1), 100));
  stored = cw_agent_sessions_append_item (plugin->sessions, session, item);
  session->updated_at = cw_now_ms ();
  cw_agent_sessions_commit (plugin->sessions, session, CW_AGENT_CHANGE_INFO, NULL);
  cw_agent_turn_begin_round (self);
  return self;
}

CwAgentTurn *
cw_agent_turn_resume (CwAgentPlugin *plugin, CwAgentSession *session, const gchar *turn_id,
                      CwAgentTurnEnded ended, gpointer user_data)
{
  CwAgentTurn *self = turn_new (plugin, session, turn_id);

  self->ended = ended;
  self->ended_data = user_data;
  session->turn = self;
  for (guint i = 0; i < session->pending_permissions->len; i++)
    {
      CwPendingPermission *p = g_ptr_array_index (session->pending_permissions, i);
      JsonObject *call = p->tool_call;
      CwAgentToolRun *run = cw_agent_tool_run_new (
          self, json_object_get_string_member_with_default (call, "id", NULL),
          json_object_get_string_member_with_default (call, "name", ""),
          cw_agent_json_object (call, "args"));
      /* Its tool_start item was stored before the restart; keep updating that one. */
      run->start_item_id
          = cw_agent_store_find_tool_item (plugin->store, session->id, "tool_start", run->id);
      g_ptr_array_add (self->calls, run);
      self->tools_pending++;
      cw_permission_add_waiter (p, cw_agent_tool_run_on_permission, run);
    }
  for (guint i = 0; i < session->pending_questions->len; i++)
    {
      CwPendingQuestion *q = g_ptr_array_index (session->pending_questions, i);
      const gchar *kind = json_object_get_string_member_with_default (q->tool_call, "kind", NULL);

      if (g_strcmp0 (kind, "plan") == 0)
        {
          self->plan_pending = TRUE;
          self->plan_text
              = g_strdup (json_object_get_string_member_with_default (q->tool_call, "plan", NULL));
          q->func = on_plan_answer;
          q->user_data = self;
        }
      else
        {
          CwAgentToolRun *run = cw_agent_tool_run_new (
              self, json_object_get_string_member_with_default (q->tool_call, "id", NULL),
              json_object_get_string_member_with_default (q->tool_call, "name", "ask_user"),
              cw_agent_json_object (q->tool_call, "args"));
          run->start_item_id
              = cw_agent_store_find_tool_item (plugin->store, session->id, "tool_start", run->id);
          g_ptr_array_add (self->calls, run);
          self->tools_pending++;
          q->func = cw_agent_tool_run_on_answer;
          q->user_data = run;
        }
    }
  return self;
}

void
cw_agent_turn_stop (CwAgentTurn *self)
{
  if (self->stopped)
    return;
  self->stopped = TRUE;
  self->session->stop_requested = TRUE;
  g_cancellable_cancel (self->cancellable);
  if (self->stream != NULL)
    cw_provider_stream_cancel (self->stream);
  cw_agent_sessions_commit (self->plugin->sessions, self->session, CW_AGENT_CHANGE_RUNTIME, NULL);
  /* Last: it may end the turn. */
  cw_agent_turn_stop_plugin_calls (self);
}

void
cw_agent_turn_abandon (CwAgentTurn *self)
{
  /* Freeing the stream cancels it without callbacks; the rest of the state stays stored
   * and the next start treats the turn as interrupted or resumes it. */
  if (self->stream != NULL)
    {
      cw_provider_stream_free (self->stream);
      self->stream = NULL;
    }
  g_cancellable_cancel (self->cancellable);
}
