/* cw-agent-history.c: chat items -> provider messages.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-agent-json.h"
#include "cw-agent-history.h"

#define INTERRUPTED_RESULT "Tool execution was interrupted before it finished."

typedef struct
{
  JsonArray *messages;
  JsonObject *assistant; /* being assembled */
  GString *text;
  JsonArray *calls;
  GHashTable *answered; /* tool call ids with a result */
} Builder;

static void
flush_assistant (Builder *b)
{
  JsonArray *calls = b->calls;

  if (b->assistant == NULL)
    return;
  json_object_set_string_member (b->assistant, "content", b->text->str);
  if (json_array_get_length (calls) > 0)
    json_object_set_array_member (b->assistant, "toolCalls", json_array_ref (calls));
  json_array_add_object_element (b->messages, g_steal_pointer (&b->assistant));
  /* Calls that never got a result are answered right after their message. */
  for (guint i = 0; i < json_array_get_length (calls); i++)
    {
      JsonObject *call = json_array_get_object_element (calls, i);
      const gchar *id = json_object_get_string_member (call, "id");
      if (!g_hash_table_contains (b->answered, id))
        {
          JsonObject *msg = json_object_new ();
          json_object_set_string_member (msg, "role", "tool");
          json_object_set_string_member (msg, "toolCallId", id);
          json_object_set_string_member (msg, "toolName",
                                         json_object_get_string_member (call, "name"));
          json_object_set_string_member (msg, "content", INTERRUPTED_RESULT);
          json_object_set_boolean_member (msg, "isError", TRUE);
          json_array_add_object_element (b->messages, msg);
        }
    }
  json_array_unref (b->calls);
  b->calls = json_array_new ();
  g_string_truncate (b->text, 0);
}

static void
ensure_assistant (Builder *b)
{
  if (b->assistant != NULL)
    return;
  b->assistant = json_object_new ();
  json_object_set_string_member (b->assistant, "role", "assistant");
}

static gchar *
content_text (JsonObject *item)
{
  JsonNode *content = json_object_get_member (item, "content");
  GString *s;
  JsonArray *parts;

  if (content == NULL || JSON_NODE_HOLDS_NULL (content))
    return g_strdup ("");
  if (JSON_NODE_HOLDS_VALUE (content))
    return g_strdup (json_node_get_string (content));
  if (!JSON_NODE_HOLDS_ARRAY (content))
    return g_strdup ("");
  s = g_string_new (NULL);
  parts = json_node_get_array (content);
  for (guint i = 0; i < json_array_get_length (parts); i++)
    {
      JsonObject *part = json_array_get_object_element (parts, i);
      if (part != NULL
          && g_strcmp0 (json_object_get_string_member_with_default (part, "type", ""), "text") == 0)
        g_string_append (s, json_object_get_string_member_with_default (part, "text", ""));
    }
  return g_string_free (s, FALSE);
}

static gchar *
result_text (JsonObject *item)
{
  JsonNode *result = json_object_get_member (item, "result");
  const gchar *error = json_object_get_string_member_with_default (item, "error", NULL);

  if (error != NULL)
    return g_strdup (error);
  if (result == NULL || JSON_NODE_HOLDS_NULL (result))
    return g_strdup ("");
  if (JSON_NODE_HOLDS_VALUE (result) && json_node_get_value_type (result) == G_TYPE_STRING)
    return g_strdup (json_node_get_string (result));
  return cw_json_to_string (result);
}

/* The neutral message format is text: text attachments go in whole, files by path (the
 * model can read them with its tools). */
static void
append_attachments (GString *text, JsonArray *attachments)
{
  for (guint i = 0; attachments != NULL && i < json_array_get_length (attachments); i++)
    {
      JsonObject *a = json_array_get_object_element (attachments, i);
      const gchar *name = json_object_get_string_member_with_default (a, "name", "attachment");
      const gchar *path = json_object_get_string_member_with_default (a, "filePath", NULL);
      const gchar *data = json_object_get_string_member_with_default (a, "data", NULL);

      if (path != NULL)
        g_string_append_printf (text, "\n\n[Attached %s file \"%s\" at %s]",
                                json_object_get_string_member_with_default (a, "type", "file"),
                                name, path);
      else if (data != NULL)
        g_string_append_printf (text, "\n\n[Attachment \"%s\"]\n%s", name, data);
    }
}

static void
add_user (Builder *b, JsonObject *item)
{
  JsonObject *msg = json_object_new ();
  g_autofree gchar *content = content_text (item);
  g_autoptr (GString) text = g_string_new (content);

  flush_assistant (b);
  append_attachments (text, cw_agent_json_array (item, "attachments"));
  json_object_set_string_member (msg, "role", "user");
  json_object_set_string_member (msg, "content", text->str);
  json_array_add_object_element (b->messages, msg);
}

static void
add_tool_start (Builder *b, JsonObject *item)
{
  JsonObject *call = json_object_new ();
  JsonObject *args = cw_agent_json_object (item, "args");

  ensure_assistant (b);
  json_object_set_string_member (call, "id",
                                 json_object_get_string_member_with_default (item, "toolId", ""));
  json_object_set_string_member (call, "name",
                                 json_object_get_string_member_with_default (item, "name", ""));
  json_object_set_object_member (call, "args",
                                 args != NULL ? json_object_ref (args) : json_object_new ());
  json_array_add_object_element (b->calls, call);
}

static void
add_tool_result (Builder *b, JsonObject *item)
{
  JsonObject *msg = json_object_new ();
  g_autofree gchar *text = result_text (item);

  flush_assistant (b);
  json_object_set_string_member (msg, "role", "tool");
  json_object_set_string_member (msg, "toolCallId",
                                 json_object_get_string_member_with_default (item, "toolId", ""));
  json_object_set_string_member (msg, "toolName",
                                 json_object_get_string_member_with_default (item, "name", ""));
  json_object_set_string_member (msg, "content", text);
  if (g_strcmp0 (json_object_get_string_member_with_default (item, "status", ""), "error") == 0)
    json_object_set_boolean_member (msg, "isError", TRUE);
  json_array_add_object_element (b->messages, msg);
}

static void
add_item (Builder *b, JsonObject *item)
{
  const gchar *kind = json_object_get_string_member_with_default (item, "kind", "");

  if (g_strcmp0 (kind, "user_message") == 0)
    add_user (b, item);
  else if (g_strcmp0 (kind, "assistant_message") == 0)
    {
      g_autofree gchar *text = content_text (item);
      /* Text after tool calls starts the next assistant message. */
      if (json_array_get_length (b->calls) > 0)
        flush_assistant (b);
      ensure_assistant (b);
      g_string_append (b->text, text);
    }
  else if (g_strcmp0 (kind, "tool_start") == 0)
    add_tool_start (b, item);
  else if (g_strcmp0 (kind, "tool_result") == 0)
    add_tool_result (b, item);
}

JsonArray *
cw_agent_history_build (JsonArray *items)
{
  Builder b = { 0 };
  guint n = json_array_get_length (items);

  b.messages = json_array_new ();
  b.text = g_string_new (NULL);
  b.calls = json_array_new ();
  b.answered = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  /* Results may come in any order after their calls: learn first which calls have one. */
  for (guint i = 0; i < n; i++)
    {
      JsonObject *item = json_array_get_object_element (items, i);
      if (item != NULL
          && g_strcmp0 (json_object_get_string_member_with_default (item, "kind", ""),
                        "tool_result")
                 == 0)
        g_hash_table_add (
            b.answered, g_strdup (json_object_get_string_member_with_default (item, "toolId", "")));
    }
  for (guint i = 0; i < n; i++)
    {
      JsonObject *item = json_array_get_object_element (items, i);
      if (item != NULL)
        add_item (&b, item);
    }
  flush_assistant (&b);
  g_string_free (b.text, TRUE);
  json_array_unref (b.calls);
  g_hash_table_unref (b.answered);
  return b.messages;
}

JsonArray *
cw_agent_history_trim (JsonArray *messages, guint keep)
{
  guint n = json_array_get_length (messages);
  JsonArray *out;
  gint start = -1;

  if (n <= keep)
    return json_array_ref (messages);
  /* A cut must start at a user message: tool results need the call before them. */
  for (gint i = (gint) (n - keep); i >= 1; i--)
    {
      JsonObject *m = json_array_get_object_element (messages, i);
      if (g_strcmp0 (json_object_get_string_member_with_default (m, "role", ""), "user") == 0)
        {
          start = i;
          break;
        }
    }
  if (start < 0)
    return json_array_ref (messages);
  out = json_array_new ();
  for (guint i = start; i < n; i++)
    {
      JsonObject *m = json_array_get_object_element (messages, i);
      if (i == (guint) start)
        {
          JsonObject *first = json_object_new ();
          g_autofree gchar *text = g_strconcat (
              "[Earlier parts of this conversation were left out to fit the context window.]\n\n",
              json_object_get_string_member_with_default (m, "content", ""), NULL);
          json_object_set_string_member (first, "role", "user");
          json_object_set_string_member (first, "content", text);
          json_array_add_object_element (out, first);
        }
      else
        json_array_add_object_element (out, json_object_ref (m));
    }
  return out;
}
