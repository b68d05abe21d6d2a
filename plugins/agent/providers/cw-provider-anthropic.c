/* cw-provider-anthropic.c: the native Anthropic Messages API (`POST /v1/messages`).
 *
 * The stream is a sequence of typed events; content arrives in indexed blocks (text,
 * thinking, tool_use) opened by content_block_start and closed by content_block_stop, where
 * a tool call's input_json_delta fragments are complete and it is emitted.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-provider-wire.h"

#define CW_ANTHROPIC_VERSION        "2023-06-01"
#define CW_ANTHROPIC_DEFAULT_TOKENS 8192
#define CW_ANTHROPIC_MIN_BUDGET     1024

/* ---- request ------------------------------------------------------------------------- */

/* The API wants strictly alternating roles and every tool result of a turn in the one user
 * message that follows it, so neighbouring messages of the same role are merged. */
static void
cw_anthropic_add_text (JsonBuilder *b, const gchar *text)
{
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, "text");
  json_builder_set_member_name (b, "text");
  json_builder_add_string_value (b, text);
  json_builder_end_object (b);
}

static void
cw_anthropic_add_tool_use (JsonBuilder *b, JsonObject *call)
{
  JsonNode *args = json_object_get_member (call, "args");

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, "tool_use");
  json_builder_set_member_name (b, "id");
  json_builder_add_string_value (b, cw_provider_json_string (call, "id"));
  json_builder_set_member_name (b, "name");
  json_builder_add_string_value (b, cw_provider_json_string (call, "name"));
  json_builder_set_member_name (b, "input");
  if (args != NULL && JSON_NODE_HOLDS_OBJECT (args))
    json_builder_add_value (b, json_node_copy (args));
  else
    {
      json_builder_begin_object (b);
      json_builder_end_object (b);
    }
  json_builder_end_object (b);
}

static void
cw_anthropic_add_message (CwProviderTurns *m, JsonObject *message)
{
  const gchar *role = cw_provider_json_string (message, "role");
  const gchar *content = cw_provider_json_string (message, "content");
  JsonBuilder *b = m->b;

  if (g_strcmp0 (role, "tool") == 0)
    {
      JsonNode *is_error = json_object_get_member (message, "isError");
      cw_provider_turns_open (m, "user");
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "type");
      json_builder_add_string_value (b, "tool_result");
      json_builder_set_member_name (b, "tool_use_id");
      json_builder_add_string_value (b, cw_provider_json_string (message, "toolCallId"));
      json_builder_set_member_name (b, "content");
      json_builder_add_string_value (b, content != NULL ? content : "");
      if (is_error != NULL && JSON_NODE_HOLDS_VALUE (is_error) && json_node_get_boolean (is_error))
        {
          json_builder_set_member_name (b, "is_error");
          json_builder_add_boolean_value (b, TRUE);
        }
      json_builder_end_object (b);
    }
  else if (g_strcmp0 (role, "assistant") == 0)
    {
      JsonArray *calls = cw_provider_json_array (message, "toolCalls");
      JsonArray *thinking
          = cw_provider_json_array (cw_provider_json_replay (message, "anthropic"), "thinking");
      /* A reply stopped before any output would be an empty message, which is refused. */
      if ((content == NULL || *content == '\0')
          && (calls == NULL || json_array_get_length (calls) == 0))
        return;
      cw_provider_turns_open (m, "assistant");
      /* Signed thinking goes back first and unchanged, as the API checks its signature. */
      for (guint i = 0; thinking != NULL && i < json_array_get_length (thinking); i++)
        json_builder_add_value (b, json_node_copy (json_array_get_element (thinking, i)));
      /* Empty text blocks are refused by the API. */
      if (content != NULL && *content != '\0')
        cw_anthropic_add_text (b, content);
      for (guint i = 0; calls != NULL && i < json_array_get_length (calls); i++)
        {
          JsonObject *call = json_array_get_object_element (calls, i);
          if (call != NULL)
            cw_anthropic_add_tool_use (b, call);
        }
    }
  else if (g_strcmp0 (role, "user") == 0)
    {
      cw_provider_turns_open (m, "user");
      cw_anthropic_add_text (b, content != NULL && *content != '\0' ? content : " ");
    }
}

static void
cw_anthropic_add_tools (JsonBuilder *b, JsonArray *tools)
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
      json_builder_set_member_name (b, "name");
      json_builder_add_string_value (b, cw_provider_json_string (tool, "name"));
      /* null is refused where a string is expected; "" is accepted everywhere. */
      json_builder_set_member_name (b, "description");
      json_builder_add_string_value (b, cw_provider_json_string (tool, "description") ?: "");
      json_builder_set_member_name (b, "input_schema");
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
    }
  json_builder_end_array (b);
}

/* With thinking on, the API wants the signed thinking blocks that preceded a tool call sent
 * back before its result. When the history lacks them (no replayState), thinking is left
 * off while the tool loop runs (the last message is a tool result). */
static gboolean
cw_anthropic_can_think (const CwProviderRequest *request)
{
  guint n = request->messages != NULL ? json_array_get_length (request->messages) : 0;
  JsonObject *last = n > 0 ? json_array_get_object_element (request->messages, n - 1) : NULL;
  const gchar *model = request->model != NULL ? request->model : "";

  /* Claude 3 models before 3.7 answer a thinking request with a 400. */
  if (!request->thinking
      || (g_str_has_prefix (model, "claude-3-") && !g_str_has_prefix (model, "claude-3-7")))
    return FALSE;
  if (g_strcmp0 (cw_provider_json_string (last, "role"), "tool") != 0)
    return TRUE;
  for (guint i = n; i > 0; i--)
    {
      JsonObject *message = json_array_get_object_element (request->messages, i - 1);
      JsonArray *thinking;

      if (g_strcmp0 (cw_provider_json_string (message, "role"), "assistant") != 0)
        continue;
      thinking
          = cw_provider_json_array (cw_provider_json_replay (message, "anthropic"), "thinking");
      return thinking != NULL && json_array_get_length (thinking) > 0;
    }
  return FALSE;
}

static void
cw_anthropic_add_limits (JsonBuilder *b, const CwProviderRequest *request)
{
  gint64 max_tokens = request->max_tokens > 0 ? request->max_tokens : CW_ANTHROPIC_DEFAULT_TOKENS;

  if (cw_anthropic_can_think (request))
    {
      /* budget_tokens must be at least 1024 and below max_tokens. */
      gint64 budget = MAX (CW_ANTHROPIC_MIN_BUDGET, max_tokens / 2);
      max_tokens = MAX (max_tokens, budget + CW_ANTHROPIC_MIN_BUDGET);
      json_builder_set_member_name (b, "thinking");
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "type");
      json_builder_add_string_value (b, "enabled");
      json_builder_set_member_name (b, "budget_tokens");
      json_builder_add_int_value (b, budget);
      json_builder_end_object (b);
    }
  json_builder_set_member_name (b, "max_tokens");
  json_builder_add_int_value (b, max_tokens);
}

static GBytes *
cw_anthropic_build_body (const CwProviderRequest *request)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  CwProviderTurns m = { b, NULL, "content" };

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "model");
  json_builder_add_string_value (b, request->model);
  json_builder_set_member_name (b, "stream");
  json_builder_add_boolean_value (b, TRUE);
  cw_anthropic_add_limits (b, request);
  if (request->system_prompt != NULL && *request->system_prompt != '\0')
    {
      json_builder_set_member_name (b, "system");
      json_builder_add_string_value (b, request->system_prompt);
    }
  json_builder_set_member_name (b, "messages");
  json_builder_begin_array (b);
  for (guint i = 0; request->messages != NULL && i < json_array_get_length (request->messages); i++)
    {
      JsonObject *message = json_array_get_object_element (request->messages, i);
      if (message != NULL)
        cw_anthropic_add_message (&m, message);
    }
  cw_provider_turns_close (&m);
  json_builder_end_array (b);
  if (request->tools != NULL && json_array_get_length (request->tools) > 0)
    cw_anthropic_add_tools (b, request->tools);
  json_builder_end_object (b);
  return cw_provider_json_to_bytes (b);
}

static SoupMessage *
cw_anthropic_build (const CwProviderRequest *request, const gchar *base_url, GBytes **out_body,
                    GError **error)
{
  /* The base is "used as given"; tolerate one that already names the API version. */
  g_autofree gchar *url
      = g_strconcat (base_url, g_str_has_suffix (base_url, "/v1") ? "" : "/v1", "/messages", NULL);
  g_autoptr (SoupMessage) msg = soup_message_new ("POST", url);
  SoupMessageHeaders *headers;

  if (msg == NULL)
    {
      g_set_error (error, CW_PROVIDER_ERROR, CW_PROVIDER_ERROR_BAD_REQUEST,
                   "invalid base URL \"%s\"", base_url);
      return NULL;
    }
  headers = soup_message_get_request_headers (msg);
  soup_message_headers_replace (headers, "x-api-key", request->api_key);
  soup_message_headers_replace (headers, "anthropic-version", CW_ANTHROPIC_VERSION);
  soup_message_headers_replace (headers, "Accept", "text/event-stream");
  *out_body = cw_anthropic_build_body (request);
  return g_steal_pointer (&msg);
}

/* ---- response ------------------------------------------------------------------------ */

typedef struct
{
  gchar *type;
  gchar *id;
  gchar *name;
  GString *json; /* tool_use input; thinking text */
  gchar *signature;
  gchar *data; /* redacted_thinking */
} CwAnthropicBlock;

typedef struct
{
  GHashTable *blocks;  /* index → CwAnthropicBlock */
  JsonArray *thinking; /* finished thinking blocks, as the API wants them back */
  gint64 input_tokens;
  gint64 output_tokens;
  gboolean saw_stop;
} CwAnthropicState;

static void
cw_anthropic_block_free (gpointer data)
{
  CwAnthropicBlock *block = data;
  g_free (block->type);
  g_free (block->id);
  g_free (block->name);
  g_string_free (block->json, TRUE);
  g_free (block->signature);
  g_free (block->data);
  g_free (block);
}

static gpointer
cw_anthropic_state_new (void)
{
  CwAnthropicState *state = g_new0 (CwAnthropicState, 1);
  state->blocks
      = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL, cw_anthropic_block_free);
  state->thinking = json_array_new ();
  return state;
}

static void
cw_anthropic_state_free (gpointer data)
{
  CwAnthropicState *state = data;
  g_hash_table_unref (state->blocks);
  json_array_unref (state->thinking);
  g_free (state);
}

/* Cached prompt tokens are still prompt tokens for the context meter. */
static void
cw_anthropic_usage (CwAnthropicState *state, JsonObject *usage, CwProviderStream *stream)
{
  if (usage == NULL)
    return;
  if (json_object_has_member (usage, "input_tokens"))
    state->input_tokens = cw_provider_json_int (usage, "input_tokens", 0)
                          + cw_provider_json_int (usage, "cache_creation_input_tokens", 0)
                          + cw_provider_json_int (usage, "cache_read_input_tokens", 0);
  state->output_tokens = cw_provider_json_int (usage, "output_tokens", state->output_tokens);
  cw_provider_stream_set_usage (stream, state->input_tokens, state->output_tokens);
}

static void
cw_anthropic_block_start (CwAnthropicState *state, JsonObject *event, CwProviderStream *stream)
{
  JsonObject *content = cw_provider_json_object (event, "content_block");
  gint64 index = cw_provider_json_int (event, "index", 0);
  CwAnthropicBlock *block = g_new0 (CwAnthropicBlock, 1);

  block->type = g_strdup (cw_provider_json_string (content, "type"));
  block->id = g_strdup (cw_provider_json_string (content, "id"));
  block->name = g_strdup (cw_provider_json_string (content, "name"));
  block->json = g_string_new (NULL);
  block->data = g_strdup (cw_provider_json_string (content, "data"));
  g_hash_table_replace (state->blocks, GINT_TO_POINTER ((gint) index), block);

  /* Blocks may start with content already in them. */
  if (g_strcmp0 (block->type, "text") == 0)
    cw_provider_stream_emit_text (stream, cw_provider_json_string (content, "text"));
  else if (g_strcmp0 (block->type, "thinking") == 0)
    {
      const gchar *text = cw_provider_json_string (content, "thinking");
      if (text != NULL)
        g_string_append (block->json, text);
      cw_provider_stream_emit_thinking (stream, text);
    }
}

static void
cw_anthropic_block_delta (CwAnthropicState *state, JsonObject *event, CwProviderStream *stream)
{
  JsonObject *delta = cw_provider_json_object (event, "delta");
  const gchar *type = cw_provider_json_string (delta, "type");
  gint64 index = cw_provider_json_int (event, "index", 0);
  CwAnthropicBlock *block = g_hash_table_lookup (state->blocks, GINT_TO_POINTER ((gint) index));

  if (g_strcmp0 (type, "text_delta") == 0)
    cw_provider_stream_emit_text (stream, cw_provider_json_string (delta, "text"));
  else if (g_strcmp0 (type, "thinking_delta") == 0)
    {
      const gchar *text = cw_provider_json_string (delta, "thinking");
      if (block != NULL && text != NULL)
        g_string_append (block->json, text);
      cw_provider_stream_emit_thinking (stream, text);
    }
  else if (g_strcmp0 (type, "signature_delta") == 0 && block != NULL)
    {
      g_free (block->signature);
      block->signature = g_strdup (cw_provider_json_string (delta, "signature"));
    }
  else if (g_strcmp0 (type, "input_json_delta") == 0 && block != NULL)
    {
      const gchar *part = cw_provider_json_string (delta, "partial_json");
      if (part != NULL)
        g_string_append (block->json, part);
    }
}

/* A finished thinking block, kept in the form the API wants it back. */
static void
cw_anthropic_keep_thinking (CwAnthropicState *state, CwAnthropicBlock *block,
                            CwProviderStream *stream)
{
  JsonObject *kept = json_object_new ();
  g_autoptr (JsonObject) anthropic = json_object_new ();
  g_autoptr (JsonObject) replay = json_object_new ();

  json_object_set_string_member (kept, "type", block->type);
  if (g_strcmp0 (block->type, "redacted_thinking") == 0)
    json_object_set_string_member (kept, "data", block->data ? block->data : "");
  else
    {
      json_object_set_string_member (kept, "thinking", block->json->str);
      json_object_set_string_member (kept, "signature", block->signature ? block->signature : "");
    }
  json_array_add_object_element (state->thinking, kept);
  json_object_set_array_member (anthropic, "thinking", json_array_ref (state->thinking));
  json_object_set_object_member (replay, "anthropic", g_steal_pointer (&anthropic));
  cw_provider_stream_set_replay_state (stream, replay);
}

static gboolean
cw_anthropic_block_stop (CwAnthropicState *state, JsonObject *event, CwProviderStream *stream,
                         GError **error)
{
  gint64 index = cw_provider_json_int (event, "index", 0);
  CwAnthropicBlock *block = g_hash_table_lookup (state->blocks, GINT_TO_POINTER ((gint) index));
  g_autoptr (JsonObject) args = NULL;

  if (block != NULL
      && (g_strcmp0 (block->type, "thinking") == 0
          || g_strcmp0 (block->type, "redacted_thinking") == 0))
    {
      cw_anthropic_keep_thinking (state, block, stream);
      return TRUE;
    }
  if (block == NULL || g_strcmp0 (block->type, "tool_use") != 0)
    return TRUE;
  args = cw_provider_json_parse_args (block->json->str, block->name, error);
  if (args == NULL)
    return FALSE;
  cw_provider_stream_emit_tool_call (stream, block->id, block->name, args);
  g_hash_table_remove (state->blocks, GINT_TO_POINTER ((gint) index));
  return TRUE;
}

static gboolean
cw_anthropic_event (gpointer data, const CwSseEvent *sse, CwProviderStream *stream, GError **error)
{
  CwAnthropicState *state = data;
  g_autoptr (JsonNode) root = NULL;
  JsonObject *event;
  const gchar *type;

  root = cw_provider_json_parse (sse->data, error);
  if (root == NULL)
    return FALSE;
  if (!JSON_NODE_HOLDS_OBJECT (root))
    return TRUE;
  event = json_node_get_object (root);
  type = cw_provider_json_string (event, "type");
  if (type == NULL)
    type = sse->type;

  if (g_strcmp0 (type, "message_start") == 0)
    cw_anthropic_usage (
        state, cw_provider_json_object (cw_provider_json_object (event, "message"), "usage"),
        stream);
  else if (g_strcmp0 (type, "content_block_start") == 0)
    cw_anthropic_block_start (state, event, stream);
  else if (g_strcmp0 (type, "content_block_delta") == 0)
    cw_anthropic_block_delta (state, event, stream);
  else if (g_strcmp0 (type, "content_block_stop") == 0)
    return cw_anthropic_block_stop (state, event, stream, error);
  else if (g_strcmp0 (type, "message_delta") == 0)
    {
      const gchar *stop
          = cw_provider_json_string (cw_provider_json_object (event, "delta"), "stop_reason");
      if (stop != NULL)
        cw_provider_stream_set_stop_reason (stream, stop);
      cw_anthropic_usage (state, cw_provider_json_object (event, "usage"), stream);
    }
  else if (g_strcmp0 (type, "message_stop") == 0)
    state->saw_stop = TRUE;
  else if (g_strcmp0 (type, "error") == 0)
    {
      JsonObject *api_error = cw_provider_json_object (event, "error");
      g_propagate_error (
          error, cw_provider_error_from_api (0, cw_provider_json_string (api_error, "type"),
                                             cw_provider_json_string (api_error, "message")));
      return FALSE;
    }
  /* ping and future event types are ignored, as the API documentation asks. */
  return TRUE;
}

static gboolean
cw_anthropic_eof (gpointer data, CwProviderStream *stream, GError **error)
{
  CwAnthropicState *state = data;

  if (!state->saw_stop)
    {
      g_set_error_literal (error, CW_PROVIDER_ERROR, CW_PROVIDER_ERROR_STREAM,
                           "stream ended before message_stop");
      return FALSE;
    }
  return TRUE;
}

const CwProviderWire cw_provider_wire_anthropic = {
  .name = "anthropic",
  .build = cw_anthropic_build,
  .state_new = cw_anthropic_state_new,
  .state_free = cw_anthropic_state_free,
  .event = cw_anthropic_event,
  .eof = cw_anthropic_eof,
};
