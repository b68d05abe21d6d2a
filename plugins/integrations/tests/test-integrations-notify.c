/* test-integrations-notify.c: notifications (contract §3.2) with the real coworkd against the
 * fake Telegram: the command integration_send_notification from a client, and the agent tool
 * send_notification_telegram that exists only while Telegram is connected.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-cloud-test.h"

#include <string.h>

static void
connect_telegram (CloudTest *t)
{
  g_autofree gchar *config
      = g_strdup_printf ("{\"botToken\":\"123:abc\",\"apiBaseUrl\":\"%s\",\"allowedChatIds\":null,"
                         "\"denialMessage\":null}",
                         cw_fake_cloud_get_url (t->fake));
  g_autoptr (JsonObject) status = cloud_connect (t, "telegram", config);
}

static gchar *
notify_error (CloudTest *t, const gchar *params)
{
  g_autoptr (CwClient) client = cw_test_daemon_connect (t->f->daemon);

  return agent_call_error (client, "integration_send_notification", "%s", params);
}

/* From a client: to the last chat, to a chat by id, and the refusals. */
static void
test_command (void)
{
  g_autoptr (CloudTest) t = cloud_test_new (CW_FAKE_TELEGRAM, CLOUD_HELLO_SCRIPT);
  const gchar *hello[] = { CLOUD_HELLO, NULL };
  const gchar *after_42[] = { CLOUD_HELLO, "Build finished.", NULL };
  const gchar *after_43[] = { CLOUD_HELLO, "Your report is ready.", NULL };
  g_autofree gchar *not_connected = NULL, *no_chat = NULL, *stranger = NULL, *denied = NULL;
  g_autoptr (JsonNode) sent = NULL, by_id = NULL;
  g_autoptr (JsonArray) strangers = NULL;

  if (t == NULL)
    return;
  not_connected
      = notify_error (t, "{\"platform\":\"telegram\",\"message\":\"hi\",\"chatId\":null}");
  g_assert_cmpstr (not_connected, ==, "telegram is not connected");
  connect_telegram (t);
  no_chat = notify_error (t, "{\"platform\":\"telegram\",\"message\":\"hi\",\"chatId\":null}");
  g_assert_cmpstr (no_chat, ==,
                   "No active chat for telegram. Send a message from the platform first.");

  g_free (cw_fake_cloud_inject (t->fake, "43", "43", "Bea", "hello"));
  cloud_expect_bot (t, "43", hello, 0);
  g_free (cw_fake_cloud_inject (t->fake, "42", "42", "Ann", "hello"));
  cloud_expect_bot (t, "42", hello, 0);

  sent = integ_call (t->f, "integration_send_notification",
                     "{\"platform\":\"telegram\",\"message\":\"Build finished.\",\"chatId\":null}");
  g_assert_true (json_object_get_boolean_member (cw_test_obj (sent), "success"));
  cloud_expect_bot (t, "42", after_42, 0);
  by_id = integ_call (t->f, "integration_send_notification",
                      "{\"platform\":\"telegram\",\"message\":\"Your report is ready.\","
                      "\"chatId\":\"43\"}");
  cloud_expect_bot (t, "43", after_43, 300);
  cloud_expect_bot (t, "42", after_42, 0);

  /* a chat that never wrote is nobody the agent may message */
  stranger = notify_error (t, "{\"platform\":\"telegram\",\"message\":\"spam\",\"chatId\":\"77\"}");
  g_assert_nonnull (strstr (stranger, "has no chat 77"));
  denied = notify_error (t, "{\"platform\":\"nope\",\"message\":\"x\",\"chatId\":null}");
  g_assert_nonnull (strstr (denied, "Invalid platform"));
  strangers = cw_fake_cloud_bot_messages (t->fake, "77");
  g_assert_cmpuint (json_array_get_length (strangers), ==, 0);
}

#define NOTIFY_CALL(id, args)                                                                      \
  "{\"events\":[{\"toolCall\":{\"id\":\"" id "\",\"name\":\"send_notification_telegram\","         \
  "\"args\":" args "}}]}"
#define TOOL_SCRIPT                                                                                \
  "{\"responses\":[" NOTIFY_CALL (                                                                 \
      "call_1",                                                                                    \
      "{\"message\":\"Psst.\",\"chatId\":\"77\"}") "," NOTIFY_CALL ("call_2",                      \
                                                                    "{\"message\":\"The build is " \
                                                                    "done.\"}") ","                \
                                                                                "{\"events\":[{"   \
                                                                                "\"text\":\"Sent." \
                                                                                "\"}]}]}"

/* Whether provider request @n offered the tool @name. */
static gboolean
request_has_tool (GPtrArray *requests, guint n, const gchar *name)
{
  JsonObject *body = json_object_get_object_member (g_ptr_array_index (requests, n), "body");
  JsonArray *tools = json_object_has_member (body, "tools")
                         ? json_object_get_array_member (body, "tools")
                         : NULL;

  for (guint i = 0; tools != NULL && i < json_array_get_length (tools); i++)
    {
      JsonObject *function
          = json_object_get_object_member (json_array_get_object_element (tools, i), "function");
      if (g_strcmp0 (json_object_get_string_member (function, "name"), name) == 0)
        return TRUE;
    }
  return FALSE;
}

static gchar *
request_text (GPtrArray *requests, guint n)
{
  g_autoptr (JsonNode) node
      = json_node_init_object (json_node_alloc (), g_ptr_array_index (requests, n));

  return json_to_string (node, FALSE);
}

/* The agent has send_notification_telegram while Telegram is connected: the model's call
 * with a chat that never wrote is refused, without one it goes to the chat that wrote last;
 * after the disconnect the next provider request has no such tool. */
static void
test_tool (void)
{
  g_autoptr (CloudTest) t = cloud_test_new (CW_FAKE_TELEGRAM, TOOL_SCRIPT);
  g_autoptr (GPtrArray) requests = NULL, after = NULL;
  g_autoptr (JsonNode) gone = NULL, sent = NULL;
  g_autoptr (JsonArray) strangers = NULL;
  g_autofree gchar *refused = NULL, *delivered = NULL, *session = NULL;
  const gchar *chat[] = { "Sent.", "The build is done.", NULL };

  if (t == NULL)
    return;
  connect_telegram (t);
  g_free (cw_fake_cloud_inject (t->fake, "42", "42", "Ann", "tell me when the build is done"));
  cloud_expect_bot (t, "42", chat, 500);
  strangers = cw_fake_cloud_bot_messages (t->fake, "77");
  g_assert_cmpuint (json_array_get_length (strangers), ==, 0);
  requests = agent_fixture_llm_requests (t->f);
  g_assert_cmpuint (requests->len, ==, 3);
  g_assert_true (request_has_tool (requests, 0, "send_notification_telegram"));
  g_assert_false (request_has_tool (requests, 0, "send_notification_irc"));
  /* the model was told why the first call failed, and that the second worked */
  refused = request_text (requests, 1);
  g_assert_nonnull (strstr (refused, "has no chat 77"));
  delivered = request_text (requests, 2);
  g_assert_nonnull (strstr (delivered, "success"));

  gone = integ_call (t->f, "integration_disconnect", "{\"platform\":\"telegram\"}");
  session = agent_fixture_create_session (t->f);
  sent = agent_call (t->f->client, "send_message", "{\"sessionId\":\"%s\",\"content\":\"hi\"}",
                     session);
  integ_wait_llm_requests (t->f, 4);
  after = agent_fixture_llm_requests (t->f);
  g_assert_false (request_has_tool (after, 3, "send_notification_telegram"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/integrations/notify/command", test_command);
  g_test_add_func ("/integrations/notify/tool", test_tool);
  return g_test_run ();
}
