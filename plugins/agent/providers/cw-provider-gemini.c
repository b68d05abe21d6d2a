/* cw-provider-gemini.c: the native Gemini API
 * (`POST /v1beta/models/{model}:streamGenerateContent?alt=sse`).
 *
 * Each SSE event is a whole GenerateContentResponse; function calls arrive complete in one
 * part, thoughts are text parts flagged `thought: true`, usageMetadata is cumulative.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-provider-wire.h"

#include <string.h>

/* Gemini 3 wants the thought signature of each earlier function call of the turn back; the
 * neutral history has none, and this value is Google's documented way to say so. */
#define CW_GEMINI_NO_SIGNATURE "skip_thought_signature_validator"

/* ---- request ------------------------------------------------------------------------- */

/* Gemini too wants alternating roles; neighbours of one role are merged. */
static void
cw_gemini_add_text (JsonBuilder *b, const gchar *text)
{
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "text");
  json_builder_add_string_value (b, text);
  json_builder_end_object (b);
}

static void
cw_gemini_add_function_call (JsonBuilder *b, JsonObject *call, JsonObject *signatures)
{
  JsonNode *args = json_object_get_member (call, "args");
  const gchar *signature = cw_provider_json_string (call, "thoughtSignature");

  if (signature == NULL)
    signature = cw_provider_json_string (signatures, cw_provider_json_string (call, "id"));
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "functionCall");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "name");
  json_builder_add_string_value (b, cw_provider_json_string (call, "name"));
  json_builder_set_member_name (b, "args");
  if (args != NULL && JSON_NODE_HOLDS_OBJECT (args))
    json_builder_add_value (b, json_node_copy (args));
  else
    {
      json_builder_begin_object (b);
      json_builder_end_object (b);
    }
  json_builder_end_object (b);
  json_builder_set_member_name (b, "thoughtSignature");
  json_builder_add_string_value (b, signature != NULL ? signature : CW_GEMINI_NO_SIGNATURE);
  json_builder_end_object (b);
}

static void
cw_gemini_add_function_response (JsonBuilder *b, JsonObject *message)
{
  const gchar *content = cw_provider_json_string (message, "content");
  JsonNode *is_error = json_object_get_member (message, "isError");
  gboolean failed
      = is_error != NULL && JSON_NODE_HOLDS_VALUE (is_error) && json_node_get_boolean (is_error);

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "functionResponse");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "name");
  json_builder_add_string_value (b, cw_provider_json_string (message, "toolName"));
  /* The response must be an object; "output" / "error" are the keys Google documents. */
  json_builder_set_member_name (b, "response");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, failed ? "error" : "output");
  json_builder_add_string_value (b, content != NULL ? content : "");
  json_builder_end_object (b);
  json_builder_end_object (b);
  json_builder_end_object (b);
}

static void
cw_gemini_add_message (CwProviderTurns *c, JsonObject *message)
{
  const gchar *role = cw_provider_json_string (message, "role");
  const gchar *content = cw_provider_json_string (message, "content");

  if (g_strcmp0 (role, "tool") == 0)
    {
      cw_provider_turns_open (c, "user");
      cw_gemini_add_function_response (c->b, message);
    }
  else if (g_strcmp0 (role, "assistant") == 0)
    {
      JsonArray *calls = cw_provider_json_array (message, "toolCalls");
      JsonObject *signatures
          = cw_provider_json_object (cw_provider_json_replay (message, "gemini"), "signatures");
      /* A reply stopped before any output would be a model turn without parts: refused. */
      if ((content == NULL || *content == '\0')
          && (calls == NULL || json_array_get_length (calls) == 0))
        return;
      cw_provider_turns_open (c, "model");
      if (content != NULL && *content != '\0')
        cw_gemini_add_text (c->b, content);
      for (guint i = 0; calls != NULL && i < json_array_get_length (calls); i++)
        {
          JsonObject *call = json_array_get_object_element (calls, i);
          if (call != NULL)
            cw_gemini_add_function_call (c->b, call, signatures);
        }
    }
  else if (g_strcmp0 (role, "user") == 0)
    {
      cw_provider_turns_open (c, "user");
      /* An empty text part is refused; a user turn of attachments only has no text. */
      cw_gemini_add_text (c->b, content != NULL && *content != '\0' ? content : " ");
    }
}

static void
cw_gemini_add_tools (JsonBuilder *b, JsonArray *tools)
{
  json_builder_set_member_name (b, "tools");
  json_builder_begin_array (b);
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "functionDeclarations");
  json_builder_begin_array (b);
  for (guint i = 0; i < json_array_get_length (tools); i++)
    {
      JsonObject *tool = json_array_get_object_element (tools, i);
      JsonNode *params = tool != NULL ? json_object_get_member (tool, "parameters") : NULL;

      if (tool == NULL)
        continue;
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "name");
      json_builder_add_string_value (b, cw_provider_json_string (tool, "name"));
      /* null is refused where a string is expected; "" is accepted everywhere. */
      json_builder_set_member_name (b, "description");
      json_builder_add_string_value (b, cw_provider_json_string (tool, "description") ?: "");
      /* parametersJsonSchema takes full JSON Schema; "parameters" only an OpenAPI subset
       * that rejects common keywords such as additionalProperties. */
      if (params != NULL)
        {
          json_builder_set_member_name (b, "parametersJsonSchema");
          json_builder_add_value (b, json_node_copy (params));
        }
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_end_object (b);
  json_builder_end_array (b);
}

/* Models before 2.5 do not think and refuse a thinkingConfig. */
static gboolean
cw_gemini_can_think (const CwProviderRequest *request)
{
  const gchar *model = request->model != NULL ? request->model : "";

  if (g_str_has_prefix (model, "models/"))
    model += strlen ("models/");
  return request->thinking && !g_str_has_prefix (model, "gemini-1")
         && !g_str_has_prefix (model, "gemini-2.0");
}

static void
cw_gemini_add_config (JsonBuilder *b, const CwProviderRequest *request)
{
  gboolean think = cw_gemini_can_think (request);

  if (request->max_tokens <= 0 && !think)
    return;
  json_builder_set_member_name (b, "generationConfig");
  json_builder_begin_object (b);
  if (request->max_tokens > 0)
    {
      json_builder_set_member_name (b, "maxOutputTokens");
      json_builder_add_int_value (b, request->max_tokens);
    }
  if (think)
    {
      json_builder_set_member_name (b, "thinkingConfig");
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "includeThoughts");
      json_builder_add_boolean_value (b, TRUE);
      json_builder_end_object (b);
    }
  json_builder_end_object (b);
}

static GBytes *
cw_gemini_build_body (const CwProviderRequest *request)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  CwProviderTurns c = { b, NULL, "parts" };

  json_builder_begin_object (b);
  if (request->system_prompt != NULL && *request->system_prompt != '\0')
    {
      json_builder_set_member_name (b, "systemInstruction");
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "parts");
      json_builder_begin_array (b);
      cw_gemini_add_text (b, request->system_prompt);
      json_builder_end_array (b);
      json_builder_end_object (b);
    }
  json_builder_set_member_name (b, "contents");
  json_builder_begin_array (b);
  for (guint i = 0; request->messages != NULL && i < json_array_get_length (request->messages); i++)
    {
      JsonObject *message = json_array_get_object_element (request->messages, i);
      if (message != NULL)
        cw_gemini_add_message (&c, message);
    }
  cw_provider_turns_close (&c);
  json_builder_end_array (b);
  if (request->tools != NULL && json_array_get_length (request->tools) > 0)
    cw_gemini_add_tools (b, request->tools);
  cw_gemini_add_config (b, request);
  json_builder_end_object (b);
  return cw_provider_json_to_bytes (b);
}

static SoupMessage *
cw_gemini_build (const CwProviderRequest *request, const gchar *base_url, GBytes **out_body,
                 GError **error)
{
  const gchar *model = request->model != NULL ? request->model : "";
  g_autofree gchar *escaped = NULL;
  g_autofree gchar *url = NULL;
  g_autoptr (SoupMessage) msg = NULL;
  SoupMessageHeaders *headers;

  /* "gemini-x" means "models/gemini-x"; a full resource name ("models/…", "tunedModels/…")
   * is used as it is. */
  escaped = g_uri_escape_string (model, "/", FALSE);
  url = g_strconcat (base_url, g_str_has_suffix (base_url, "/v1beta") ? "" : "/v1beta",
                     strchr (model, '/') != NULL ? "/" : "/models/", escaped,
                     ":streamGenerateContent?alt=sse", NULL);
  msg = soup_message_new ("POST", url);
  if (msg == NULL)
    {
      g_set_error (error, CW_PROVIDER_ERROR, CW_PROVIDER_ERROR_BAD_REQUEST,
                   "invalid base URL \"%s\"", base_url);
      return NULL;
    }
  /* The key goes in a header, never in the URL, so it cannot end up in logs. */
  headers = soup_message_get_request_headers (msg);
  soup_message_headers_replace (headers, "x-goog-api-key", request->api_key);
  soup_message_headers_replace (headers, "Accept", "text/event-stream");
  *out_body = cw_gemini_build_body (request);
  return g_steal_pointer (&msg);
}

/* ---- response ------------------------------------------------------------------------ */

typedef struct
{
  gboolean saw_finish;
  gboolean saw_call;
  JsonObject *signatures; /* call id → thoughtSignature, to send back */
} CwGeminiState;

static gpointer
cw_gemini_state_new (void)
{
  CwGeminiState *state = g_new0 (CwGeminiState, 1);
  state->signatures = json_object_new ();
  return state;
}

static void
cw_gemini_state_free (gpointer data)
{
  CwGeminiState *state = data;
  json_object_unref (state->signatures);
  g_free (state);
}

static void
cw_gemini_keep_signature (CwGeminiState *state, const gchar *id, const gchar *signature,
                          CwProviderStream *stream)
{
  g_autoptr (JsonObject) gemini = json_object_new ();
  g_autoptr (JsonObject) replay = json_object_new ();

  json_object_set_string_member (state->signatures, id, signature);
  json_object_set_object_member (gemini, "signatures", json_object_ref (state->signatures));
  json_object_set_object_member (replay, "gemini", g_steal_pointer (&gemini));
  cw_provider_stream_set_replay_state (stream, replay);
}

static void
cw_gemini_part (CwGeminiState *state, JsonObject *part, CwProviderStream *stream)
{
  JsonObject *call = cw_provider_json_object (part, "functionCall");
  JsonNode *thought = json_object_get_member (part, "thought");

  if (call != NULL)
    {
      JsonObject *args = cw_provider_json_object (call, "args");
      g_autoptr (JsonObject) empty = json_object_new ();
      g_autofree gchar *made_id = NULL;
      const gchar *id = cw_provider_json_string (call, "id");

      /* The Gemini API only sometimes names calls; the agent needs an id to pair results. */
      if (id == NULL || *id == '\0')
        id = made_id = cw_make_id ("call");
      state->saw_call = TRUE;
      if (cw_provider_json_string (part, "thoughtSignature") != NULL)
        cw_gemini_keep_signature (state, id, cw_provider_json_string (part, "thoughtSignature"),
                                  stream);
      cw_provider_stream_emit_tool_call (stream, id, cw_provider_json_string (call, "name"),
                                         args != NULL ? args : empty);
      return;
    }
  if (thought != NULL && JSON_NODE_HOLDS_VALUE (thought) && json_node_get_boolean (thought))
    cw_provider_stream_emit_thinking (stream, cw_provider_json_string (part, "text"));
  else
    cw_provider_stream_emit_text (stream, cw_provider_json_string (part, "text"));
}

static const gchar *
cw_gemini_stop_reason (const gchar *finish_reason, gboolean saw_call, gchar **out_lower)
{
  if (saw_call)
    return "tool_use";
  if (g_strcmp0 (finish_reason, "STOP") == 0)
    return "end_turn";
  if (g_strcmp0 (finish_reason, "MAX_TOKENS") == 0)
    return "max_tokens";
  *out_lower = g_ascii_strdown (finish_reason, -1);
  return *out_lower;
}

static void
cw_gemini_candidate (CwGeminiState *state, JsonObject *candidate, CwProviderStream *stream)
{
  JsonArray *parts
      = cw_provider_json_array (cw_provider_json_object (candidate, "content"), "parts");
  const gchar *finish = cw_provider_json_string (candidate, "finishReason");

  for (guint i = 0; parts != NULL && i < json_array_get_length (parts); i++)
    {
      JsonObject *part = json_array_get_object_element (parts, i);
      if (part != NULL)
        cw_gemini_part (state, part, stream);
    }
  if (finish != NULL && g_strcmp0 (finish, "FINISH_REASON_UNSPECIFIED") != 0)
    {
      g_autofree gchar *lower = NULL;
      state->saw_finish = TRUE;
      cw_provider_stream_set_stop_reason (stream,
                                          cw_gemini_stop_reason (finish, state->saw_call, &lower));
    }
}

static gboolean
cw_gemini_event (gpointer data, const CwSseEvent *event, CwProviderStream *stream, GError **error)
{
  CwGeminiState *state = data;
  g_autoptr (JsonNode) root = NULL;
  JsonObject *chunk;
  JsonObject *api_error;
  JsonObject *usage;
  JsonObject *feedback;
  JsonArray *candidates;

  root = cw_provider_json_parse (event->data, error);
  if (root == NULL)
    return FALSE;
  if (!JSON_NODE_HOLDS_OBJECT (root))
    return TRUE;
  chunk = json_node_get_object (root);

  api_error = cw_provider_json_object (chunk, "error");
  if (api_error != NULL)
    {
      gint64 code = cw_provider_json_int (api_error, "code", 0);
      g_propagate_error (
          error, cw_provider_error_from_api (code >= 400 && code < 600 ? code : 0,
                                             cw_provider_json_string (api_error, "status"),
                                             cw_provider_json_string (api_error, "message")));
      return FALSE;
    }
  feedback = cw_provider_json_object (chunk, "promptFeedback");
  if (cw_provider_json_string (feedback, "blockReason") != NULL)
    {
      g_set_error (error, CW_PROVIDER_ERROR, CW_PROVIDER_ERROR_BAD_REQUEST,
                   "prompt blocked by the provider: %s",
                   cw_provider_json_string (feedback, "blockReason"));
      return FALSE;
    }

  usage = cw_provider_json_object (chunk, "usageMetadata");
  if (usage != NULL)
    cw_provider_stream_set_usage (stream, cw_provider_json_int (usage, "promptTokenCount", 0),
                                  cw_provider_json_int (usage, "candidatesTokenCount", 0)
                                      + cw_provider_json_int (usage, "thoughtsTokenCount", 0));

  candidates = cw_provider_json_array (chunk, "candidates");
  if (candidates != NULL && json_array_get_length (candidates) > 0)
    {
      JsonObject *candidate = json_array_get_object_element (candidates, 0);
      if (candidate != NULL)
        cw_gemini_candidate (state, candidate, stream);
    }
  return TRUE;
}

static gboolean
cw_gemini_eof (gpointer data, CwProviderStream *stream, GError **error)
{
  CwGeminiState *state = data;

  if (!state->saw_finish)
    {
      g_set_error_literal (error, CW_PROVIDER_ERROR, CW_PROVIDER_ERROR_STREAM,
                           "stream ended before a finishReason");
      return FALSE;
    }
  return TRUE;
}

const CwProviderWire cw_provider_wire_gemini = {
  .name = "gemini",
  .build = cw_gemini_build,
  .state_new = cw_gemini_state_new,
  .state_free = cw_gemini_state_free,
  .event = cw_gemini_event,
  .eof = cw_gemini_eof,
};
