/* test-integrations-notify.c: notifications (contract §3.2) with the real coworkd against the
 * fake Telegram: the command integration_send_notification from a client.
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

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/integrations/notify/command", test_command);
  return g_test_run ();
}
