/* cw-provider-openai.c: the OpenAI-compatible chat-completions wire format, spoken by
 * openai, openrouter, moonshot, glm, deepseek and lmstudio.
 *
 * Tool calls arrive as fragments keyed by `index`: the id and name in the first one, the
 * arguments as a JSON text cut anywhere. They are emitted whole once finish_reason (or
 * [DONE]) says the message is complete.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-provider-wire.h"

/* GLM rejects larger values (contract §8.1). */
#define CW_GLM_MAX_TOKENS 131072

/* ---- request ------------------------------------------------------------------------- */

static void
cw_openai_add_tool_calls (JsonBuilder *b, JsonArray *calls)
{
  json_builder_set_member_name (b, "tool_calls");
  json_builder_begin_array (b);
  for (guint i = 0; i < json_array_get_length (calls); i++)
    {
      JsonObject *call = json_array_get_object_element (calls, i);
      JsonNode *args = call != NULL ? json_object_get_member (call, "args") : NULL;
      g_autofree gchar *args_text = args != NULL ? json_to_string (args, FALSE) : g_strdup ("{}");

      if (call == NULL)
        continue;
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "id");
      json_builder_add_string_value (b, cw_provider_json_string (call, "id"));
      json_builder_set_member_name (b, "type");
      json_builder_add_string_value (b, "function");
      json_builder_set_member_name (b, "function");
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "name");
      json_builder_add_string_value (b, cw_provider_json_string (call, "name"));
      json_builder_set_member_name (b, "arguments");
      json_builder_add_string_value (b, args_text);
      json_builder_end_object (b);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
}

/* DeepSeek and Kimi thinking models want the reasoning of an assistant message that called
 * tools sent back while the tool loop runs, and refuse or degrade without it. */
static gboolean
cw_openai_wants_reasoning_back (const gchar *provider_id)
{
  return g_strcmp0 (provider_id, "deepseek") == 0 || g_strcmp0 (provider_id, "moonshot") == 0;
}

static void
cw_openai_add_message (JsonBuilder *b, JsonObject *message, const gchar *provider_id)
{
  const gchar *role = cw_provider_json_string (message, "role");
  const gchar *content = cw_provider_json_string (message, "content");
  JsonArray *calls = cw_provider_json_array (message, "toolCalls");

  if (role == NULL)
    return;
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "role");
  json_builder_add_string_value (b, role);
  if (g_strcmp0 (role, "tool") == 0)
    {
      json_builder_set_member_name (b, "tool_call_id");
      json_builder_add_string_value (b, cw_provider_json_string (message, "toolCallId"));
    }
  json_builder_set_member_name (b, "content");
  /* An assistant turn that only calls tools has null content in OpenAI's own format. */
  if ((content == NULL || *content == '\0') && g_strcmp0 (role, "assistant") == 0 && calls != NULL
      && json_array_get_length (calls) > 0)
    json_builder_add_null_value (b);
  else
    json_builder_add_string_value (b, content != NULL ? content : "");
  if (g_strcmp0 (role, "assistant") == 0 && calls != NULL && json_array_get_length (calls) > 0)
    {
      const gchar *thinking = cw_provider_json_string (message, "thinking");
      cw_openai_add_tool_calls (b, calls);
      if (thinking != NULL && *thinking != '\0' && cw_openai_wants_reasoning_back (provider_id))
        {
          json_builder_set_member_name (b, "reasoning_content");
          json_builder_add_string_value (b, thinking);
        }
    }
  json_builder_end_object (b);
}

static void
cw_openai_add_tools (JsonBuilder *b, JsonArray *tools)
{
  json_builder_set_member_name (b, "tools");
  json_builder_begin_array (b);
  for (guint i = 0; i < json_array_get_length (tools); i++)
    {
      JsonObject *tool = json_array_get_object_element (tools, i);
      JsonNode *params = tool != NULL ? json_object_get_member (tool, "parameters") : NULL;

      if (tool == NULL)
        continue;
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "type");
      json_builder_add_string_value (b, "function");
      json_builder_set_member_name (b, "function");
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "name");
      json_builder_add_string_value (b, cw_provider_json_string (tool, "name"));
      /* null is refused where a string is expected; "" is accepted everywhere. */
      json_builder_set_member_name (b, "description");
      json_builder_add_string_value (b, cw_provider_json_string (tool, "description") ?: "");
      json_builder_set_member_name (b, "parameters");
      if (params != NULL)
        json_builder_add_value (b, json_node_copy (params));
      else
        {
          json_builder_begin_object (b);
          json_builder_set_member_name (b, "type");
          json_builder_add_string_value (b, "object");
          json_builder_end_object (b);
        }
      json_builder_end_object (b);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
}

/* OpenAI refuses reasoning_effort (400) on models that do not reason. */
static gboolean
cw_openai_model_reasons (const gchar *model)
{
  static const gchar *const prefixes[] = { "o1", "o3", "o4", "gpt-5" };

  for (guint i = 0; model != NULL && i < G_N_ELEMENTS (prefixes); i++)
    {
      if (g_str_has_prefix (model, prefixes[i]))
        return TRUE;
    }
  return FALSE;
}

/* Each service asks for reasoning its own way; the others decide by model name. */
static void
cw_openai_add_options (JsonBuilder *b, const CwProviderRequest *request)
{
  const gchar *id = request->provider_id;
  gint64 max_tokens = request->max_tokens;

  if (g_strcmp0 (id, "glm") == 0 && max_tokens > CW_GLM_MAX_TOKENS)
    max_tokens = CW_GLM_MAX_TOKENS;
  if (max_tokens > 0)
    {
      /* OpenAI's reasoning models refuse the older max_tokens. */
      json_builder_set_member_name (b, g_strcmp0 (id, "openai") == 0 ? "max_completion_tokens"
                                                                     : "max_tokens");
      json_builder_add_int_value (b, max_tokens);
    }
  if (!request->thinking)
    return;
  if (g_strcmp0 (id, "openai") == 0 && cw_openai_model_reasons (request->model))
    {
      json_builder_set_member_name (b, "reasoning_effort");
      json_builder_add_string_value (b, "medium");
    }
  else if (g_strcmp0 (id, "openrouter") == 0)
    {
      json_builder_set_member_name (b, "reasoning");
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "enabled");
      json_builder_add_boolean_value (b, TRUE);
      json_builder_end_object (b);
    }
  else if (g_strcmp0 (id, "glm") == 0)
    {
      json_builder_set_member_name (b, "thinking");
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "type");
      json_builder_add_string_value (b, "enabled");
      json_builder_end_object (b);
    }
}

static GBytes *
cw_openai_build_body (const CwProviderRequest *request)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "model");
  json_builder_add_string_value (b, request->model);
  json_builder_set_member_name (b, "stream");
  json_builder_add_boolean_value (b, TRUE);
  json_builder_set_member_name (b, "stream_options");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "include_usage");
  json_builder_add_boolean_value (b, TRUE);
  json_builder_end_object (b);

  json_builder_set_member_name (b, "messages");
  json_builder_begin_array (b);
  if (request->system_prompt != NULL && *request->system_prompt != '\0')
    {
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "role");
      json_builder_add_string_value (b, "system");
      json_builder_set_member_name (b, "content");
      json_builder_add_string_value (b, request->system_prompt);
      json_builder_end_object (b);
    }
  for (guint i = 0; request->messages != NULL && i < json_array_get_length (request->messages); i++)
    {
      JsonObject *message = json_array_get_object_element (request->messages, i);
      if (message != NULL)
        cw_openai_add_message (b, message, request->provider_id);
    }
  json_builder_end_array (b);

  if (request->tools != NULL && json_array_get_length (request->tools) > 0)
    cw_openai_add_tools (b, request->tools);
  cw_openai_add_options (b, request);
  json_builder_end_object (b);
  return cw_provider_json_to_bytes (b);
}

static SoupMessage *
cw_openai_build (const CwProviderRequest *request, const gchar *base_url, GBytes **out_body,
                 GError **error)
{
  g_autofree gchar *url = g_strconcat (base_url, "/chat/completions", NULL);
  g_autoptr (SoupMessage) msg = soup_message_new ("POST", url);
  SoupMessageHeaders *headers;

  if (msg == NULL)
    {
      g_set_error (error, CW_PROVIDER_ERROR, CW_PROVIDER_ERROR_BAD_REQUEST,
                   "invalid base URL \"%s\"", base_url);
      return NULL;
    }
  headers = soup_message_get_request_headers (msg);
  if (request->api_key != NULL && *request->api_key != '\0')
    {
      g_autofree gchar *auth = g_strconcat ("Bearer ", request->api_key, NULL);
      soup_message_headers_replace (headers, "Authorization", auth);
    }
  soup_message_headers_replace (headers, "Accept", "text/event-stream");
  if (g_strcmp0 (request->provider_id, "openrouter") == 0)
    soup_message_headers_replace (headers, "X-Title", "Cowork");
  *out_body = cw_openai_build_body (request);
  return g_steal_pointer (&msg);
}

/* ---- response ------------------------------------------------------------------------ */

typedef struct
{
  gchar *id;
  gchar *name;
  GString *args;
} CwOpenAiCall;

typedef struct
{
  GPtrArray *calls; /* CwOpenAiCall by index; NULL holes allowed */
  gboolean saw_done;
  gboolean saw_finish;
  gboolean flushed;
} CwOpenAiState;

static void
cw_openai_call_free (gpointer data)
{
  CwOpenAiCall *call = data;
  if (call == NULL)
    return;
  g_free (call->id);
  g_free (call->name);
  g_string_free (call->args, TRUE);
  g_free (call);
}

static gpointer
cw_openai_state_new (void)
{
  CwOpenAiState *state = g_new0 (CwOpenAiState, 1);
  state->calls = g_ptr_array_new_with_free_func (cw_openai_call_free);
  return state;
}

static void
cw_openai_state_free (gpointer data)
{
  CwOpenAiState *state = data;
  g_ptr_array_unref (state->calls);
  g_free (state);
}

static void
cw_openai_merge_call (CwOpenAiState *state, JsonObject *delta_call)
{
  gint64 index = cw_provider_json_int (delta_call, "index", state->calls->len);
  JsonObject *function = cw_provider_json_object (delta_call, "function");
  const gchar *id = cw_provider_json_string (delta_call, "id");
  const gchar *name = cw_provider_json_string (function, "name");
  const gchar *args = cw_provider_json_string (function, "arguments");
  CwOpenAiCall *call;

  if (index < 0 || index > 1024)
    return;
  if ((guint) index >= state->calls->len)
    g_ptr_array_set_size (state->calls, index + 1);
  call = g_ptr_array_index (state->calls, index);
  if (call == NULL)
    {
      call = g_new0 (CwOpenAiCall, 1);
      call->args = g_string_new (NULL);
      g_ptr_array_index (state->calls, index) = call;
    }
  if (id != NULL && *id != '\0' && call->id == NULL)
    call->id = g_strdup (id);
  if (name != NULL && *name != '\0' && call->name == NULL)
    call->name = g_strdup (name);
  if (args != NULL)
    g_string_append (call->args, args);
}

static gboolean
cw_openai_flush_calls (CwOpenAiState *state, CwProviderStream *stream, GError **error)
{
  if (state->flushed)
    return TRUE;
  state->flushed = TRUE;
  for (guint i = 0; i < state->calls->len; i++)
    {
      CwOpenAiCall *call = g_ptr_array_index (state->calls, i);
      g_autoptr (JsonObject) args = NULL;
      g_autofree gchar *fallback_id = NULL;

      if (call == NULL)
        continue;
      if (call->name == NULL)
        {
          g_set_error (error, CW_PROVIDER_ERROR, CW_PROVIDER_ERROR_STREAM,
                       "tool call %u has no name", i);
          return FALSE;
        }
      args = cw_provider_json_parse_args (call->args->str, call->name, error);
      if (args == NULL)
        return FALSE;
      if (call->id == NULL)
        fallback_id = cw_make_id ("call");
      cw_provider_stream_emit_tool_call (stream, call->id ? call->id : fallback_id, call->name,
                                         args);
    }
  return TRUE;
}

static const gchar *
cw_openai_stop_reason (const gchar *finish_reason, gboolean has_calls)
{
  /* Several local servers say "stop" even when the turn ends in tool calls. */
  if (has_calls || g_strcmp0 (finish_reason, "tool_calls") == 0
      || g_strcmp0 (finish_reason, "function_call") == 0)
    return "tool_use";
  if (g_strcmp0 (finish_reason, "length") == 0)
    return "max_tokens";
  if (g_strcmp0 (finish_reason, "stop") == 0)
    return "end_turn";
  return finish_reason;
}

static gboolean
cw_openai_choice (CwOpenAiState *state, JsonObject *choice, CwProviderStream *stream,
                  GError **error)
{
  JsonObject *delta = cw_provider_json_object (choice, "delta");
  JsonArray *calls = cw_provider_json_array (delta, "tool_calls");
  const gchar *finish = cw_provider_json_string (choice, "finish_reason");
  const gchar *reasoning = cw_provider_json_string (delta, "reasoning_content");

  if (reasoning == NULL)
    reasoning = cw_provider_json_string (delta, "reasoning");
  cw_provider_stream_emit_thinking (stream, reasoning);
  cw_provider_stream_emit_text (stream, cw_provider_json_string (delta, "content"));
  for (guint i = 0; calls != NULL && i < json_array_get_length (calls); i++)
    {
      JsonObject *call = json_array_get_object_element (calls, i);
      if (call != NULL)
        cw_openai_merge_call (state, call);
    }
  if (finish != NULL)
    {
      state->saw_finish = TRUE;
      cw_provider_stream_set_stop_reason (stream,
                                          cw_openai_stop_reason (finish, state->calls->len > 0));
      return cw_openai_flush_calls (state, stream, error);
    }
  return TRUE;
}

static gboolean
cw_openai_event (gpointer data, const CwSseEvent *event, CwProviderStream *stream, GError **error)
{
  CwOpenAiState *state = data;
  g_autoptr (JsonNode) root = NULL;
  JsonObject *chunk;
  JsonObject *api_error;
  JsonObject *usage;
  JsonArray *choices;

  if (g_strcmp0 (event->data, "[DONE]") == 0)
    {
      state->saw_done = TRUE;
      return cw_openai_flush_calls (state, stream, error);
    }
  root = cw_provider_json_parse (event->data, error);
  if (root == NULL)
    return FALSE;
  if (!JSON_NODE_HOLDS_OBJECT (root))
    return TRUE;
  chunk = json_node_get_object (root);

  /* OpenRouter and some proxies report failures inside a 200 stream. */
  api_error = cw_provider_json_object (chunk, "error");
  if (api_error != NULL)
    {
      gint64 code = cw_provider_json_int (api_error, "code", 0);
      const gchar *type = cw_provider_json_string (api_error, "type");
      if (type == NULL)
        type = cw_provider_json_string (api_error, "code");
      g_propagate_error (
          error, cw_provider_error_from_api (code >= 400 && code < 600 ? code : 0, type,
                                             cw_provider_json_string (api_error, "message")));
      return FALSE;
    }

  usage = cw_provider_json_object (chunk, "usage");
  if (usage != NULL)
    cw_provider_stream_set_usage (stream, cw_provider_json_int (usage, "prompt_tokens", 0),
                                  cw_provider_json_int (usage, "completion_tokens", 0));

  choices = cw_provider_json_array (chunk, "choices");
  if (choices != NULL && json_array_get_length (choices) > 0)
    {
      JsonObject *choice = json_array_get_object_element (choices, 0);
      if (choice != NULL)
        return cw_openai_choice (state, choice, stream, error);
    }
  return TRUE;
}

static gboolean
cw_openai_eof (gpointer data, CwProviderStream *stream, GError **error)
{
  CwOpenAiState *state = data;

  if (!state->saw_done && !state->saw_finish)
    {
      g_set_error_literal (error, CW_PROVIDER_ERROR, CW_PROVIDER_ERROR_STREAM,
                           "stream ended before the reply was complete");
      return FALSE;
    }
  return cw_openai_flush_calls (state, stream, error);
}

const CwProviderWire cw_provider_wire_openai = {
  .name = "openai-compatible",
  .build = cw_openai_build,
  .state_new = cw_openai_state_new,
  .state_free = cw_openai_state_free,
  .event = cw_openai_event,
  .eof = cw_openai_eof,
};
