/* cw-fake-llm.c: a fake LLM provider server for tests, speaking the real wire format of the
 * OpenAI chat-completions, Anthropic Messages or Gemini streaming API on 127.0.0.1.
 *
 *   cw-fake-llm --api openai|anthropic|gemini --script SCRIPT.json --port-file FILE
 *               [--log FILE] [--conn-log FILE]
 *
 * Each request consumes the next scripted response (the last one repeats); the format is in
 * tests/agent/README.md. A streamed (200) response is written by hand on the connection
 * taken over from SoupServer, so the script controls every chunk, every pause and a close in
 * the middle of the body, and so the server sees at once when the client hangs up.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib-unix.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

typedef enum
{
  FAKE_API_OPENAI,
  FAKE_API_ANTHROPIC,
  FAKE_API_GEMINI,
} FakeApi;

typedef struct
{
  FakeApi api;
  JsonArray *responses;
  guint n_requests;
  FILE *log;
  FILE *conn_log;
} FakeServer;

/* ---- the stream plan: what to write, when to pause, where to break ------------------- */

typedef enum
{
  FRAME_WRITE,
  FRAME_DELAY,
  FRAME_BREAK,
} FrameKind;

typedef struct
{
  FrameKind kind;
  GBytes *data;
  guint delay_ms;
} Frame;

static void
frame_free (gpointer data)
{
  Frame *frame = data;
  g_clear_pointer (&frame->data, g_bytes_unref);
  g_free (frame);
}

static void
plan_add_bytes (GQueue *plan, const gchar *text)
{
  Frame *frame = g_new0 (Frame, 1);
  frame->kind = FRAME_WRITE;
  frame->data = g_bytes_new (text, strlen (text));
  g_queue_push_tail (plan, frame);
}

static void
plan_add_delay (GQueue *plan, guint delay_ms)
{
  Frame *frame = g_new0 (Frame, 1);
  frame->kind = FRAME_DELAY;
  frame->delay_ms = delay_ms;
  g_queue_push_tail (plan, frame);
}

static void
plan_add_break (GQueue *plan)
{
  Frame *frame = g_new0 (Frame, 1);
  frame->kind = FRAME_BREAK;
  g_queue_push_tail (plan, frame);
}

/* Gemini ends lines with CRLF; the others with LF. */
static void
plan_add_event (GQueue *plan, FakeApi api, const gchar *event, JsonNode *data)
{
  g_autofree gchar *json = json_to_string (data, FALSE);
  g_autofree gchar *text = NULL;

  if (api == FAKE_API_GEMINI)
    text = g_strdup_printf ("data: %s\r\n\r\n", json);
  else if (event != NULL)
    text = g_strdup_printf ("event: %s\ndata: %s\n\n", event, json);
  else
    text = g_strdup_printf ("data: %s\n\n", json);
  plan_add_bytes (plan, text);
}

/* Script members are optional: absent means "none". */
static JsonObject *
member_object (JsonObject *object, const gchar *name)
{
  JsonNode *node = json_object_get_member (object, name);
  return node != NULL && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
}

static JsonArray *
member_array (JsonObject *object, const gchar *name)
{
  JsonNode *node = json_object_get_member (object, name);
  return node != NULL && JSON_NODE_HOLDS_ARRAY (node) ? json_node_get_array (node) : NULL;
}

static JsonNode *
parse_json (const gchar *text)
{
  JsonNode *node = json_from_string (text, NULL);
  g_assert (node != NULL);
  return node;
}

/* Splits a tool call's argument text in three so clients must assemble it. */
static gchar **
split_args (JsonObject *call)
{
  JsonNode *args = json_object_get_member (call, "args");
  g_autofree gchar *text = args != NULL ? json_to_string (args, FALSE) : g_strdup ("{}");
  gsize len = strlen (text);
  gchar **parts = g_new0 (gchar *, 4);

  parts[0] = g_strndup (text, len / 3);
  parts[1] = g_strndup (text + len / 3, len / 3);
  parts[2] = g_strdup (text + 2 * (len / 3));
  return parts;
}

static const gchar *
event_kind (JsonObject *event)
{
  static const gchar *const kinds[]
      = { "text", "thinking", "toolCall", "delayMs", "breakStream", "raw" };
  for (guint i = 0; i < G_N_ELEMENTS (kinds); i++)
    {
      if (json_object_has_member (event, kinds[i]))
        return kinds[i];
    }
  return "";
}

static gboolean
plan_add_common (GQueue *plan, JsonObject *event, const gchar *kind)
{
  if (g_strcmp0 (kind, "delayMs") == 0)
    plan_add_delay (plan, json_object_get_int_member (event, "delayMs"));
  else if (g_strcmp0 (kind, "breakStream") == 0)
    plan_add_break (plan);
  else if (g_strcmp0 (kind, "raw") == 0)
    plan_add_bytes (plan, json_object_get_string_member (event, "raw"));
  else
    return FALSE;
  return TRUE;
}

static gboolean
script_has_tool_call (JsonArray *events)
{
  for (guint i = 0; events != NULL && i < json_array_get_length (events); i++)
    {
      if (json_object_has_member (json_array_get_object_element (events, i), "toolCall"))
        return TRUE;
    }
  return FALSE;
}

static const gchar *
script_stop_reason (JsonObject *response)
{
  if (json_object_has_member (response, "stopReason"))
    return json_object_get_string_member (response, "stopReason");
  return script_has_tool_call (member_array (response, "events")) ? "tool_use" : "end_turn";
}

/* ---- OpenAI chat completions --------------------------------------------------------- */

static void
openai_chunk (GQueue *plan, const gchar *delta_json, const gchar *finish)
{
  g_autofree gchar *finish_json = finish ? g_strdup_printf ("\"%s\"", finish) : g_strdup ("null");
  g_autofree gchar *text = g_strdup_printf (
      "{\"id\":\"chatcmpl-fake\",\"object\":\"chat.completion.chunk\",\"created\":0,"
      "\"model\":\"fake\",\"choices\":[{\"index\":0,\"delta\":%s,\"finish_reason\":%s}]}",
      delta_json, finish_json);
  g_autoptr (JsonNode) node = parse_json (text);
  plan_add_event (plan, FAKE_API_OPENAI, NULL, node);
}

static gchar *
json_quote (const gchar *text)
{
  g_autoptr (JsonNode) node = json_node_new (JSON_NODE_VALUE);
  json_node_set_string (node, text != NULL ? text : "");
  return json_to_string (node, FALSE);
}

static void
openai_plan (GQueue *plan, JsonObject *response)
{
  JsonArray *events = member_array (response, "events");
  JsonObject *usage = member_object (response, "usage");
  const gchar *stop = script_stop_reason (response);
  guint n_calls = 0;

  openai_chunk (plan, "{\"role\":\"assistant\",\"content\":\"\"}", NULL);
  for (guint i = 0; events != NULL && i < json_array_get_length (events); i++)
    {
      JsonObject *event = json_array_get_object_element (events, i);
      const gchar *kind = event_kind (event);

      if (plan_add_common (plan, event, kind))
        continue;
      if (g_strcmp0 (kind, "text") == 0 || g_strcmp0 (kind, "thinking") == 0)
        {
          g_autofree gchar *value = json_quote (json_object_get_string_member (event, kind));
          g_autofree gchar *delta = g_strdup_printf (
              "{\"%s\":%s}", g_str_equal (kind, "text") ? "content" : "reasoning_content", value);
          openai_chunk (plan, delta, NULL);
        }
      else if (g_strcmp0 (kind, "toolCall") == 0)
        {
          JsonObject *call = member_object (event, "toolCall");
          g_auto (GStrv) parts = split_args (call);
          g_autofree gchar *id = json_quote (json_object_get_string_member (call, "id"));
          g_autofree gchar *name = json_quote (json_object_get_string_member (call, "name"));
          g_autofree gchar *first
              = g_strdup_printf ("{\"tool_calls\":[{\"index\":%u,\"id\":%s,\"type\":\"function\","
                                 "\"function\":{\"name\":%s,\"arguments\":\"\"}}]}",
                                 n_calls, id, name);
          openai_chunk (plan, first, NULL);
          for (guint p = 0; parts[p] != NULL; p++)
            {
              g_autofree gchar *piece = json_quote (parts[p]);
              g_autofree gchar *delta = g_strdup_printf (
                  "{\"tool_calls\":[{\"index\":%u,\"function\":{\"arguments\":%s}}]}", n_calls,
                  piece);
              openai_chunk (plan, delta, NULL);
            }
          n_calls++;
        }
    }
  openai_chunk (plan, "{}",
                g_str_equal (stop, "tool_use")     ? "tool_calls"
                : g_str_equal (stop, "max_tokens") ? "length"
                                                   : "stop");
  if (usage != NULL)
    {
      gint64 in = json_object_get_int_member_with_default (usage, "input", 0);
      gint64 out = json_object_get_int_member_with_default (usage, "output", 0);
      g_autofree gchar *text = g_strdup_printf (
          "{\"id\":\"chatcmpl-fake\",\"object\":\"chat.completion.chunk\",\"created\":0,"
          "\"model\":\"fake\",\"choices\":[],\"usage\":{\"prompt_tokens\":%" G_GINT64_FORMAT
          ",\"completion_tokens\":%" G_GINT64_FORMAT ",\"total_tokens\":%" G_GINT64_FORMAT "}}",
          in, out, in + out);
      g_autoptr (JsonNode) node = parse_json (text);
      plan_add_event (plan, FAKE_API_OPENAI, NULL, node);
    }
  plan_add_bytes (plan, "data: [DONE]\n\n");
}

/* ---- Anthropic Messages ---------------------------------------------------------------- */

static void
anthropic_event (GQueue *plan, const gchar *type, const gchar *json)
{
  g_autoptr (JsonNode) node = parse_json (json);
  plan_add_event (plan, FAKE_API_ANTHROPIC, type, node);
}

static void
anthropic_close_block (GQueue *plan, gint *open_index, const gchar **open_kind)
{
  g_autofree gchar *stop = NULL;

  if (*open_kind == NULL)
    return;
  if (g_str_equal (*open_kind, "thinking"))
    {
      g_autofree gchar *sig
          = g_strdup_printf ("{\"type\":\"content_block_delta\",\"index\":%d,\"delta\":{\"type\":"
                             "\"signature_delta\",\"signature\":\"fakesig\"}}",
                             *open_index);
      anthropic_event (plan, "content_block_delta", sig);
    }
  stop = g_strdup_printf ("{\"type\":\"content_block_stop\",\"index\":%d}", *open_index);
  anthropic_event (plan, "content_block_stop", stop);
  *open_kind = NULL;
}

static void
anthropic_text_like (GQueue *plan, const gchar *kind, const gchar *value, gint *index,
                     const gchar **open_kind)
{
  gboolean text = g_str_equal (kind, "text");
  g_autofree gchar *quoted = json_quote (value);
  g_autofree gchar *delta = NULL;

  /* Consecutive pieces of one kind share a block, as the real API streams them. */
  if (g_strcmp0 (*open_kind, kind) != 0)
    {
      g_autofree gchar *start = NULL;
      anthropic_close_block (plan, index, open_kind);
      (*index)++;
      start = g_strdup_printf ("{\"type\":\"content_block_start\",\"index\":%d,"
                               "\"content_block\":{\"type\":\"%s\",\"%s\":\"\"}}",
                               *index, text ? "text" : "thinking", text ? "text" : "thinking");
      anthropic_event (plan, "content_block_start", start);
      *open_kind = text ? "text" : "thinking";
    }
  delta = g_strdup_printf ("{\"type\":\"content_block_delta\",\"index\":%d,\"delta\":"
                           "{\"type\":\"%s\",\"%s\":%s}}",
                           *index, text ? "text_delta" : "thinking_delta",
                           text ? "text" : "thinking", quoted);
  anthropic_event (plan, "content_block_delta", delta);
}

static void
anthropic_tool_call (GQueue *plan, JsonObject *call, gint *index, const gchar **open_kind)
{
  g_auto (GStrv) parts = split_args (call);
  g_autofree gchar *id = json_quote (json_object_get_string_member (call, "id"));
  g_autofree gchar *name = json_quote (json_object_get_string_member (call, "name"));
  g_autofree gchar *start = NULL;
  g_autofree gchar *stop = NULL;

  anthropic_close_block (plan, index, open_kind);
  (*index)++;
  start = g_strdup_printf ("{\"type\":\"content_block_start\",\"index\":%d,\"content_block\":"
                           "{\"type\":\"tool_use\",\"id\":%s,\"name\":%s,\"input\":{}}}",
                           *index, id, name);
  anthropic_event (plan, "content_block_start", start);
  for (guint p = 0; parts[p] != NULL; p++)
    {
      g_autofree gchar *piece = json_quote (parts[p]);
      g_autofree gchar *delta
          = g_strdup_printf ("{\"type\":\"content_block_delta\",\"index\":%d,\"delta\":{\"type\":"
                             "\"input_json_delta\",\"partial_json\":%s}}",
                             *index, piece);
      anthropic_event (plan, "content_block_delta", delta);
    }
  stop = g_strdup_printf ("{\"type\":\"content_block_stop\",\"index\":%d}", *index);
  anthropic_event (plan, "content_block_stop", stop);
}

static void
anthropic_plan (GQueue *plan, JsonObject *response)
{
  JsonArray *events = member_array (response, "events");
  JsonObject *usage = member_object (response, "usage");
  gint64 in = usage ? json_object_get_int_member_with_default (usage, "input", 0) : 0;
  gint64 out = usage ? json_object_get_int_member_with_default (usage, "output", 0) : 0;
  const gchar *open_kind = NULL;
  gint index = -1;
  g_autofree gchar *start = NULL;
  g_autofree gchar *delta = NULL;

  start = g_strdup_printf (
      "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_fake\",\"type\":\"message\","
      "\"role\":\"assistant\",\"model\":\"fake\",\"content\":[],\"stop_reason\":null,"
      "\"stop_sequence\":null,\"usage\":{\"input_tokens\":%" G_GINT64_FORMAT
      ",\"output_tokens\":1}}}",
      in);
  anthropic_event (plan, "message_start", start);
  anthropic_event (plan, "ping", "{\"type\":\"ping\"}");
  for (guint i = 0; events != NULL && i < json_array_get_length (events); i++)
    {
      JsonObject *event = json_array_get_object_element (events, i);
      const gchar *kind = event_kind (event);

      if (plan_add_common (plan, event, kind))
        continue;
      if (g_str_equal (kind, "text") || g_str_equal (kind, "thinking"))
        anthropic_text_like (plan, kind, json_object_get_string_member (event, kind), &index,
                             &open_kind);
      else if (g_str_equal (kind, "toolCall"))
        anthropic_tool_call (plan, member_object (event, "toolCall"), &index, &open_kind);
    }
  anthropic_close_block (plan, &index, &open_kind);
  delta = g_strdup_printf ("{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"%s\","
                           "\"stop_sequence\":null},\"usage\":{\"output_tokens\":%" G_GINT64_FORMAT
                           "}}",
                           script_stop_reason (response), out);
  anthropic_event (plan, "message_delta", delta);
  anthropic_event (plan, "message_stop", "{\"type\":\"message_stop\"}");
}

/* ---- Gemini streamGenerateContent ------------------------------------------------------ */

static void
gemini_chunk (GQueue *plan, JsonNode *part, const gchar *finish, JsonObject *usage)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonNode) root = NULL;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "candidates");
  json_builder_begin_array (b);
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "content");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "parts");
  json_builder_begin_array (b);
  json_builder_add_value (b, part);
  json_builder_end_array (b);
  json_builder_set_member_name (b, "role");
  json_builder_add_string_value (b, "model");
  json_builder_end_object (b);
  if (finish != NULL)
    {
      json_builder_set_member_name (b, "finishReason");
      json_builder_add_string_value (b, finish);
    }
  json_builder_set_member_name (b, "index");
  json_builder_add_int_value (b, 0);
  json_builder_end_object (b);
  json_builder_end_array (b);
  if (usage != NULL)
    {
      gint64 in = json_object_get_int_member_with_default (usage, "input", 0);
      gint64 out = json_object_get_int_member_with_default (usage, "output", 0);
      json_builder_set_member_name (b, "usageMetadata");
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "promptTokenCount");
      json_builder_add_int_value (b, in);
      json_builder_set_member_name (b, "candidatesTokenCount");
      json_builder_add_int_value (b, out);
      json_builder_set_member_name (b, "totalTokenCount");
      json_builder_add_int_value (b, in + out);
      json_builder_end_object (b);
    }
  json_builder_set_member_name (b, "modelVersion");
  json_builder_add_string_value (b, "fake");
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  plan_add_event (plan, FAKE_API_GEMINI, NULL, root);
}

static JsonNode *
gemini_part (JsonObject *event, const gchar *kind)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  if (g_str_equal (kind, "toolCall"))
    {
      JsonObject *call = member_object (event, "toolCall");
      JsonNode *args = json_object_get_member (call, "args");
      json_builder_set_member_name (b, "functionCall");
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "name");
      json_builder_add_string_value (b, json_object_get_string_member (call, "name"));
      json_builder_set_member_name (b, "args");
      json_builder_add_value (b, args ? json_node_copy (args) : json_from_string ("{}", NULL));
      json_builder_end_object (b);
      json_builder_set_member_name (b, "thoughtSignature");
      json_builder_add_string_value (b, "ZmFrZQ==");
    }
  else
    {
      json_builder_set_member_name (b, "text");
      json_builder_add_string_value (b, json_object_get_string_member (event, kind));
      if (g_str_equal (kind, "thinking"))
        {
          json_builder_set_member_name (b, "thought");
          json_builder_add_boolean_value (b, TRUE);
        }
    }
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

static void
gemini_plan (GQueue *plan, JsonObject *response)
{
  JsonArray *events = member_array (response, "events");
  JsonObject *usage = member_object (response, "usage");
  const gchar *stop = script_stop_reason (response);

  for (guint i = 0; events != NULL && i < json_array_get_length (events); i++)
    {
      JsonObject *event = json_array_get_object_element (events, i);
      const gchar *kind = event_kind (event);

      if (plan_add_common (plan, event, kind) || *kind == '\0')
        continue;
      gemini_chunk (plan, gemini_part (event, kind), NULL, NULL);
    }
  gemini_chunk (plan, parse_json ("{\"text\":\"\"}"),
                g_str_equal (stop, "max_tokens") ? "MAX_TOKENS" : "STOP", usage);
}

/* ---- writing a stream on the taken-over connection ------------------------------------ */

typedef struct
{
  FakeServer *server;
  guint request;
  GIOStream *io;
  GQueue plan;
  GCancellable *cancellable;
  gchar *out; /* bytes of the write in flight */
  gboolean ended;
} FakeStream;

static void fake_stream_next (FakeStream *stream);

static void
fake_conn_log (FakeServer *server, guint request, const gchar *event)
{
  if (server->conn_log == NULL)
    return;
  fprintf (server->conn_log, "{\"request\":%u,\"event\":\"%s\"}\n", request, event);
  fflush (server->conn_log);
}

static void
fake_stream_free (FakeStream *stream)
{
  g_queue_clear_full (&stream->plan, frame_free);
  g_object_unref (stream->cancellable);
  g_object_unref (stream->io);
  g_free (stream->out);
  g_free (stream);
}

/* Both the writer and the hang-up watch hold the stream; the second one to stop frees it. */
static void
fake_stream_end (FakeStream *stream, const gchar *how)
{
  if (stream->ended)
    {
      fake_stream_free (stream);
      return;
    }
  stream->ended = TRUE;
  fake_conn_log (stream->server, stream->request, how);
  g_cancellable_cancel (stream->cancellable);
  g_io_stream_close (stream->io, NULL, NULL);
}

static void
fake_stream_on_written (GObject *source, GAsyncResult *result, gpointer user_data)
{
  FakeStream *stream = user_data;
  g_autoptr (GError) error = NULL;

  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL, &error))
    {
      fake_stream_end (stream, "client-closed");
      return;
    }
  fake_stream_next (stream);
}

static gboolean
fake_stream_on_delay (gpointer user_data)
{
  fake_stream_next (user_data);
  return G_SOURCE_REMOVE;
}

/* Takes @data. */
static void
fake_stream_write (FakeStream *stream, gchar *data, gsize len)
{
  GOutputStream *out = g_io_stream_get_output_stream (stream->io);

  g_free (stream->out);
  stream->out = data;
  g_output_stream_write_all_async (out, data, len, G_PRIORITY_DEFAULT, stream->cancellable,
                                   fake_stream_on_written, stream);
}

static void
fake_stream_next (FakeStream *stream)
{
  Frame *frame;

  if (stream->ended)
    {
      fake_stream_end (stream, NULL);
      return;
    }
  frame = g_queue_pop_head (&stream->plan);
  if (frame == NULL)
    {
      fake_stream_end (stream, "completed");
      return;
    }
  if (frame->kind == FRAME_DELAY)
    g_timeout_add (frame->delay_ms, fake_stream_on_delay, stream);
  else if (frame->kind == FRAME_BREAK)
    fake_stream_end (stream, "broken");
  else
    {
      /* One HTTP chunk per frame, the terminating chunk with the last one. */
      gsize len = 0;
      const gchar *data = g_bytes_get_data (frame->data, &len);
      GString *chunk = g_string_new (NULL);

      g_string_append_printf (chunk, "%zx\r\n", len);
      g_string_append_len (chunk, data, len);
      g_string_append (chunk, "\r\n");
      if (g_queue_is_empty (&stream->plan))
        g_string_append (chunk, "0\r\n\r\n");
      len = chunk->len;
      fake_stream_write (stream, g_string_free (chunk, FALSE), len);
    }
  frame_free (frame);
}

/* The client sends nothing after its request: a read that completes means it hung up. */
static void
fake_stream_on_hangup (GObject *source, GAsyncResult *result, gpointer user_data)
{
  FakeStream *stream = user_data;
  g_autoptr (GBytes) bytes
      = g_input_stream_read_bytes_finish (G_INPUT_STREAM (source), result, NULL);
  fake_stream_end (stream, "client-closed");
}

static void
fake_stream_start (FakeServer *server, guint request, GIOStream *io, JsonObject *response)
{
  FakeStream *stream = g_new0 (FakeStream, 1);
  g_autoptr (GString) head = g_string_new ("HTTP/1.1 200 OK\r\n"
                                           "Content-Type: text/event-stream\r\n"
                                           "Cache-Control: no-cache\r\n"
                                           "Transfer-Encoding: chunked\r\n"
                                           "Connection: close\r\n");
  JsonObject *headers = member_object (response, "headers");
  GList *names = headers != NULL ? json_object_get_members (headers) : NULL;

  for (GList *l = names; l != NULL; l = l->next)
    g_string_append_printf (head, "%s: %s\r\n", (const gchar *) l->data,
                            json_object_get_string_member (headers, l->data));
  g_list_free (names);
  g_string_append (head, "\r\n");

  stream->server = server;
  stream->request = request;
  stream->io = io;
  stream->cancellable = g_cancellable_new ();
  g_queue_init (&stream->plan);
  if (server->api == FAKE_API_OPENAI)
    openai_plan (&stream->plan, response);
  else if (server->api == FAKE_API_ANTHROPIC)
    anthropic_plan (&stream->plan, response);
  else
    gemini_plan (&stream->plan, response);

  g_input_stream_read_bytes_async (g_io_stream_get_input_stream (io), 1, G_PRIORITY_DEFAULT,
                                   stream->cancellable, fake_stream_on_hangup, stream);
  /* The status line and headers go out as they are; every frame after them is a chunk. */
  {
    gsize len = head->len;
    fake_stream_write (stream, g_string_free (g_steal_pointer (&head), FALSE), len);
  }
}

/* ---- requests --------------------------------------------------------------------------- */

typedef struct
{
  FakeServer *server;
  SoupServerMessage *msg;
  guint request;
  JsonObject *response;
} FakeTakeover;

/* Taking the connection inside the handler would pull it from under libsoup's own I/O, so
 * the message is paused and taken from an idle callback. */
static gboolean
fake_takeover (gpointer user_data)
{
  FakeTakeover *t = user_data;
  GIOStream *io = soup_server_message_steal_connection (t->msg);

  if (io != NULL)
    fake_stream_start (t->server, t->request, io, t->response);
  g_object_unref (t->msg);
  json_object_unref (t->response);
  g_free (t);
  return G_SOURCE_REMOVE;
}

static void
fake_log_request (FakeServer *server, SoupServerMessage *msg, const gchar *path, GBytes *body)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonNode) root = NULL;
  g_autofree gchar *line = NULL;
  g_autofree gchar *text = NULL;
  SoupMessageHeadersIter iter;
  const gchar *name;
  const gchar *value;
  JsonNode *parsed;
  GUri *uri = soup_server_message_get_uri (msg);

  if (server->log == NULL)
    return;
  text = g_strndup (g_bytes_get_data (body, NULL), g_bytes_get_size (body));
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "path");
  json_builder_add_string_value (b, path);
  json_builder_set_member_name (b, "query");
  json_builder_add_string_value (b, g_uri_get_query (uri));
  json_builder_set_member_name (b, "method");
  json_builder_add_string_value (b, soup_server_message_get_method (msg));
  json_builder_set_member_name (b, "headers");
  json_builder_begin_object (b);
  soup_message_headers_iter_init (&iter, soup_server_message_get_request_headers (msg));
  while (soup_message_headers_iter_next (&iter, &name, &value))
    {
      g_autofree gchar *lower = g_ascii_strdown (name, -1);
      json_builder_set_member_name (b, lower);
      json_builder_add_string_value (b, value);
    }
  json_builder_end_object (b);
  json_builder_set_member_name (b, "body");
  parsed = json_from_string (text, NULL);
  if (parsed != NULL)
    json_builder_add_value (b, parsed);
  else
    json_builder_add_string_value (b, text);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  line = json_to_string (root, FALSE);
  fprintf (server->log, "%s\n", line);
  fflush (server->log);
}

static gboolean
fake_path_matches (FakeServer *server, SoupServerMessage *msg, const gchar *path)
{
  const gchar *query = g_uri_get_query (soup_server_message_get_uri (msg));

  switch (server->api)
    {
      case FAKE_API_OPENAI:
        return g_str_has_suffix (path, "/v1/chat/completions");
      case FAKE_API_ANTHROPIC:
        return g_str_has_suffix (path, "/v1/messages");
      case FAKE_API_GEMINI:
        return g_str_has_prefix (path, "/v1beta/models/")
               && g_str_has_suffix (path, ":streamGenerateContent")
               && g_strcmp0 (query, "alt=sse") == 0;
      default:
        return FALSE;
    }
}

/* The error body each API really sends, unless the script gives one. */
static gchar *
fake_error_body (FakeServer *server, guint status)
{
  switch (server->api)
    {
      case FAKE_API_ANTHROPIC:
        return g_strdup_printf ("{\"type\":\"error\",\"error\":{\"type\":\"%s\",\"message\":"
                                "\"fake error %u\"}}",
                                status == 401   ? "authentication_error"
                                : status == 429 ? "rate_limit_error"
                                : status >= 500 ? "api_error"
                                                : "invalid_request_error",
                                status);
      case FAKE_API_GEMINI:
        return g_strdup_printf ("{\"error\":{\"code\":%u,\"message\":\"fake error %u\","
                                "\"status\":\"%s\"}}",
                                status, status,
                                status == 401   ? "UNAUTHENTICATED"
                                : status == 429 ? "RESOURCE_EXHAUSTED"
                                : status >= 500 ? "INTERNAL"
                                                : "INVALID_ARGUMENT");
      default:
        return g_strdup_printf ("{\"error\":{\"message\":\"fake error %u\",\"type\":\"%s\","
                                "\"code\":null}}",
                                status,
                                status == 401   ? "invalid_request_error"
                                : status == 429 ? "rate_limit_exceeded"
                                : status >= 500 ? "server_error"
                                                : "invalid_request_error");
    }
}

static void
fake_reply_error (FakeServer *server, SoupServerMessage *msg, guint status, JsonObject *response)
{
  JsonObject *headers = member_object (response, "headers");
  GList *names = headers != NULL ? json_object_get_members (headers) : NULL;
  const gchar *body = json_object_get_string_member_with_default (response, "body", NULL);
  g_autofree gchar *made = body == NULL ? fake_error_body (server, status) : NULL;

  for (GList *l = names; l != NULL; l = l->next)
    soup_message_headers_replace (soup_server_message_get_response_headers (msg), l->data,
                                  json_object_get_string_member (headers, l->data));
  g_list_free (names);
  soup_server_message_set_status (msg, status, NULL);
  soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_COPY,
                                    body != NULL ? body : made,
                                    strlen (body != NULL ? body : made));
}

static void
fake_handler (SoupServer *soup_server, SoupServerMessage *msg, const gchar *path, GHashTable *query,
              gpointer user_data)
{
  FakeServer *server = user_data;
  g_autoptr (GBytes) body = soup_message_body_flatten (soup_server_message_get_request_body (msg));
  JsonObject *response;
  FakeTakeover *takeover;
  guint n = json_array_get_length (server->responses);
  guint status;

  fake_log_request (server, msg, path, body);
  if (g_strcmp0 (soup_server_message_get_method (msg), "POST") != 0
      || !fake_path_matches (server, msg, path))
    {
      soup_server_message_set_status (msg, 404, NULL);
      return;
    }

  response = json_array_get_object_element (server->responses, MIN (server->n_requests, n - 1));
  status = json_object_get_int_member_with_default (response, "status", 200);
  server->n_requests++;
  /* A 200 with a body and no events is a plain (unstreamed) answer. */
  if (status != 200
      || (json_object_has_member (response, "body")
          && !json_object_has_member (response, "events")))
    {
      fake_reply_error (server, msg, status, response);
      return;
    }

  takeover = g_new0 (FakeTakeover, 1);
  takeover->server = server;
  takeover->msg = g_object_ref (msg);
  takeover->request = server->n_requests - 1;
  takeover->response = json_object_ref (response);
  soup_server_message_pause (msg);
  g_idle_add (fake_takeover, takeover);
}

/* ---- main ------------------------------------------------------------------------------- */

static gboolean
fake_quit (gpointer user_data)
{
  g_main_loop_quit (user_data);
  return G_SOURCE_REMOVE;
}

static gboolean
fake_load_script (FakeServer *server, const gchar *path, GError **error)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonNode *root;
  JsonObject *object;

  if (!json_parser_load_from_file (parser, path, error))
    return FALSE;
  root = json_parser_get_root (parser);
  object = root != NULL && JSON_NODE_HOLDS_OBJECT (root) ? json_node_get_object (root) : NULL;
  if (object == NULL || !json_object_has_member (object, "responses")
      || json_array_get_length (json_object_get_array_member (object, "responses")) == 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "%s: needs a non-empty \"responses\" array", path);
      return FALSE;
    }
  server->responses = json_array_ref (json_object_get_array_member (object, "responses"));
  return TRUE;
}

static gboolean
fake_parse_api (const gchar *name, FakeApi *out)
{
  if (g_strcmp0 (name, "openai") == 0)
    *out = FAKE_API_OPENAI;
  else if (g_strcmp0 (name, "anthropic") == 0)
    *out = FAKE_API_ANTHROPIC;
  else if (g_strcmp0 (name, "gemini") == 0)
    *out = FAKE_API_GEMINI;
  else
    return FALSE;
  return TRUE;
}

static FILE *
fake_open_log (const gchar *path)
{
  FILE *file;

  if (path == NULL)
    return NULL;
  file = fopen (path, "a");
  if (file == NULL)
    g_error ("cannot open %s: %s", path, g_strerror (errno));
  return file;
}

int
main (int argc, char **argv)
{
  g_autofree gchar *api = NULL;
  g_autofree gchar *script = NULL;
  g_autofree gchar *port_file = NULL;
  g_autofree gchar *log_path = NULL;
  g_autofree gchar *conn_log_path = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GOptionContext) context = g_option_context_new ("- fake LLM provider server");
  g_autoptr (SoupServer) soup_server = NULL;
  g_autoptr (GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autofree gchar *port_text = NULL;
  FakeServer server = { 0 };
  GSList *uris;
  const GOptionEntry entries[] = {
    { "api", 0, 0, G_OPTION_ARG_STRING, &api, "openai, anthropic or gemini", "API" },
    { "script", 0, 0, G_OPTION_ARG_FILENAME, &script, "scripted responses", "FILE" },
    { "port-file", 0, 0, G_OPTION_ARG_FILENAME, &port_file, "written with the port", "FILE" },
    { "log", 0, 0, G_OPTION_ARG_FILENAME, &log_path, "one JSON line per request", "FILE" },
    { "conn-log", 0, 0, G_OPTION_ARG_FILENAME, &conn_log_path,
      "one JSON line per streamed response: how it ended", "FILE" },
    { NULL },
  };

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    g_error ("%s", error->message);
  if (api == NULL || !fake_parse_api (api, &server.api) || script == NULL || port_file == NULL)
    g_error ("usage: cw-fake-llm --api openai|anthropic|gemini --script FILE --port-file FILE");
  if (!fake_load_script (&server, script, &error))
    g_error ("%s", error->message);
  server.log = fake_open_log (log_path);
  server.conn_log = fake_open_log (conn_log_path);

  soup_server = soup_server_new (NULL, NULL);
  soup_server_add_handler (soup_server, NULL, fake_handler, &server, NULL);
  if (!soup_server_listen_local (soup_server, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, &error))
    g_error ("cannot listen: %s", error->message);
  uris = soup_server_get_uris (soup_server);
  port_text = g_strdup_printf ("%d\n", g_uri_get_port (uris->data));
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);
  /* Written whole (temp file + rename): a reader never sees a half-written port. */
  if (!g_file_set_contents (port_file, port_text, -1, &error))
    g_error ("%s", error->message);

  g_unix_signal_add (SIGTERM, fake_quit, loop);
  g_unix_signal_add (SIGINT, fake_quit, loop);
  g_main_loop_run (loop);

  json_array_unref (server.responses);
  if (server.log != NULL)
    fclose (server.log);
  if (server.conn_log != NULL)
    fclose (server.conn_log);
  return 0;
}
