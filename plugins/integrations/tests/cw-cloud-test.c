/* cw-cloud-test.c: see cw-cloud-test.h.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-cloud-test.h"

#include <signal.h>
#include <string.h>

static gint64 clock_offset;

CloudTest *
cloud_test_new (CwFakeKind kind, const gchar *script)
{
  CloudTest *t = g_new0 (CloudTest, 1);

  t->f = integ_fixture_new (script);
  if (t->f == NULL)
    {
      g_free (t);
      return NULL;
    }
  clock_offset = 0;
  t->fake = cw_fake_cloud_new (kind);
  return t;
}

void
cloud_test_free (CloudTest *t)
{
  /* the daemon first: it must not see the platform vanish and reconnect meanwhile */
  g_clear_pointer (&t->f, agent_fixture_free);
  g_clear_pointer (&t->fake, cw_fake_cloud_free);
  g_free (t);
}

JsonObject *
cloud_connect (CloudTest *t, const gchar *platform, const gchar *config_json)
{
  g_autoptr (JsonNode) status = integ_call (
      t->f, "integration_connect", "{\"platform\":\"%s\",\"config\":%s}", platform, config_json);
  JsonObject *obj = cw_test_obj (status);

  g_assert_true (json_object_get_boolean_member (obj, "connected"));
  g_assert_cmpstr (json_object_get_string_member (obj, "health"), ==, "healthy");
  return json_object_ref (obj);
}

/* cloud_connect with @config_format, whose first %s is the fake's URL and a second its root. */
static JsonObject *
connect_to_fake (CloudTest *t, const gchar *platform, const gchar *config_format)
{
  g_autofree gchar *config = g_strdup_printf (config_format, cw_fake_cloud_get_url (t->fake),
                                              cw_fake_cloud_get_root (t->fake));

  return cloud_connect (t, platform, config);
}

JsonObject *
cloud_connect_telegram (CloudTest *t)
{
  return connect_to_fake (t, "telegram",
                          "{\"botToken\":\"123:abc\",\"apiBaseUrl\":\"%s\",\"allowedChatIds\":null,"
                          "\"denialMessage\":null}");
}

JsonObject *
cloud_connect_slack (CloudTest *t)
{
  return connect_to_fake (
      t, "slack",
      "{\"appToken\":\"xapp-1-test\",\"botToken\":\"xoxb-test\",\"apiBaseUrl\":\"%s\","
      "\"defaultChannel\":null}");
}

JsonObject *
cloud_connect_discord (CloudTest *t)
{
  cw_fake_cloud_set_option (t->fake, "heartbeat_interval", "300");
  return connect_to_fake (
      t, "discord",
      "{\"botToken\":\"discord-token\",\"apiBaseUrl\":\"%s\",\"allowedGuildIds\":null,"
      "\"allowedChannelIds\":null,\"allowDirectMessages\":null}");
}

JsonObject *
cloud_connect_imessage (CloudTest *t)
{
  return connect_to_fake (
      t, "imessage",
      "{\"serverUrl\":\"%s/\",\"accessToken\":\"bb-password\",\"defaultChatGuid\":null,"
      "\"allowHandles\":null,\"pollIntervalSeconds\":null,\"denialMessage\":null}");
}

void
cloud_imessage_wait_joined (CloudTest *t)
{
  gint64 deadline = g_get_monotonic_time () + 20 * G_TIME_SPAN_SECOND;

  for (;;)
    {
      g_autoptr (GPtrArray) frames = cw_fake_cloud_records (t->fake, "socket_message");
      for (guint i = 0; i < frames->len; i++)
        if (g_str_has_prefix (json_object_get_string_member (frames->pdata[i], "body"), "40"))
          return;
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (20000);
    }
}

JsonObject *
cloud_connect_teams (CloudTest *t)
{
  return connect_to_fake (
      t, "teams",
      "{\"tenantId\":\"tenant\",\"clientId\":\"app-1\",\"clientSecret\":\"s3cret\","
      "\"teamId\":\"team1\",\"channelId\":\"chan1\",\"pollIntervalSeconds\":null,"
      "\"apiBaseUrl\":\"%s\",\"authBaseUrl\":\"%s\"}");
}

void
cloud_teams_next_poll (CloudTest *t)
{
  guint polls = cw_fake_cloud_count (t->fake, "delta");

  g_autoptr (JsonObject) poll = NULL;

  cloud_pass_time (t, 31000);
  poll = cw_fake_cloud_wait (t->fake, "delta", polls, 20000);
  if (poll == NULL)
    cloud_dump_log (t);
  g_assert_nonnull (poll);
}

GPtrArray *
cloud_llm_prompts (CloudTest *t)
{
  g_autoptr (GPtrArray) requests = agent_fixture_llm_requests (t->f);
  GPtrArray *prompts = g_ptr_array_new_with_free_func (g_free);

  for (guint n = 0; n < requests->len; n++)
    {
      JsonObject *body = json_object_get_object_member (g_ptr_array_index (requests, n), "body");
      JsonArray *messages = json_object_get_array_member (body, "messages");
      for (guint i = json_array_get_length (messages); i > 0; i--)
        {
          JsonObject *m = json_array_get_object_element (messages, i - 1);
          if (g_strcmp0 (json_object_get_string_member (m, "role"), "user") == 0)
            {
              g_ptr_array_add (prompts, g_strdup (json_object_get_string_member (m, "content")));
              break;
            }
        }
    }
  return prompts;
}

void
cloud_dump_log (CloudTest *t)
{
  g_autofree gchar *log = NULL;

  if (t->f->daemon->log_file != NULL
      && g_file_get_contents (t->f->daemon->log_file, &log, NULL, NULL))
    g_printerr ("---- coworkd log ----\n%s\n---- end ----\n", log);
}

/* The bot's messages in @chat_id without a "Thinking..." placeholder left standing (on the
 * platforms that cannot edit, the reply follows it as a new message). */
static JsonArray *
bot_replies (CloudTest *t, const gchar *chat_id)
{
  g_autoptr (JsonArray) all = cw_fake_cloud_bot_messages (t->fake, chat_id);
  JsonArray *replies = json_array_new ();

  for (guint i = 0; i < json_array_get_length (all); i++)
    {
      JsonObject *m = json_array_get_object_element (all, i);
      if (g_strcmp0 (json_object_get_string_member (m, "text"), CLOUD_PLACEHOLDER) != 0)
        json_array_add_object_element (replies, json_object_ref (m));
    }
  return replies;
}

static gboolean
bot_matches (CloudTest *t, const gchar *chat_id, const gchar *const *texts, gboolean *too_many)
{
  g_autoptr (JsonArray) messages = bot_replies (t, chat_id);
  guint want = g_strv_length ((gchar **) texts);
  guint have = json_array_get_length (messages);

  *too_many = have > want;
  if (have != want)
    return FALSE;
  for (guint i = 0; i < want; i++)
    if (g_strcmp0 (
            json_object_get_string_member (json_array_get_object_element (messages, i), "text"),
            texts[i])
        != 0)
      return FALSE;
  return TRUE;
}

static gchar *
describe (CloudTest *t, const gchar *chat_id)
{
  g_autoptr (JsonArray) messages = cw_fake_cloud_bot_messages (t->fake, chat_id);
  g_autoptr (JsonNode) node = json_node_init_array (json_node_alloc (), messages);

  return json_to_string (node, FALSE);
}

void
cloud_expect_bot (CloudTest *t, const gchar *chat_id, const gchar *const *texts, guint quiet_ms)
{
  gint64 deadline = g_get_monotonic_time () + 20 * G_TIME_SPAN_SECOND;
  gboolean too_many = FALSE;

  while (!bot_matches (t, chat_id, texts, &too_many))
    {
      if (too_many || g_get_monotonic_time () > deadline)
        {
          g_autofree gchar *have = describe (t, chat_id);
          cloud_dump_log (t);
          g_error ("the bot's messages in %s are %s", chat_id, have);
        }
      g_usleep (20000);
    }
  g_usleep ((gulong) quiet_ms * 1000);
  if (!bot_matches (t, chat_id, texts, &too_many))
    {
      g_autofree gchar *have = describe (t, chat_id);
      g_error ("the bot's messages in %s changed to %s", chat_id, have);
    }
}

void
cloud_pass_time (CloudTest *t, gint64 ms)
{
  clock_offset += ms;
  integ_set_clock (t->f, integ_t0 () + clock_offset);
}

static const gchar *
body_text (JsonObject *record, const gchar *member)
{
  return json_object_get_string_member (json_object_get_object_member (record, "body"), member);
}

void
cloud_assert_streamed_edits (GPtrArray *edits, const gchar *member, const gchar *reply)
{
  gboolean partial = FALSE;

  g_assert_cmpuint (edits->len, >=, 2);
  for (guint i = 0; i < edits->len; i++)
    {
      const gchar *text = body_text (edits->pdata[i], member);
      g_assert_true (g_str_has_prefix (reply, text));
      partial |= g_strcmp0 (text, reply) != 0;
      if (i + 1 == edits->len)
        g_assert_cmpstr (text, ==, reply);
    }
  g_assert_true (partial);
}

void
cloud_expect_sent_once (CloudTest *t, const gchar *chat_id, const gchar *send_kind,
                        const gchar *reply)
{
  const gchar *texts[] = { reply, NULL };
  g_autoptr (JsonArray) messages = NULL;
  g_autoptr (JsonObject) out = NULL;

  cloud_expect_bot (t, chat_id, texts, 1500);
  /* nothing else, not even a placeholder left standing */
  messages = cw_fake_cloud_bot_messages (t->fake, chat_id);
  g_assert_cmpuint (json_array_get_length (messages), ==, 1);
  g_assert_cmpuint (cw_fake_cloud_count (t->fake, send_kind), ==, 1);
  out = agent_wait_event (t->f->client, "integration:message_out", NULL, NULL);
  g_assert_cmpstr (json_object_get_string_member (agent_event_data (out), "chatId"), ==, chat_id);
}

void
cloud_kill_during_placeholder (CloudTest *t, const gchar *platform, const gchar *chat_id,
                               const gchar *send_kind, const gchar *text_member,
                               const gchar *edit_kind)
{
  g_autoptr (JsonObject) held = NULL, again = NULL;
  g_autoptr (GPtrArray) sends = NULL;
  const gchar *slow[] = { "Slow hello.", NULL };

  cw_fake_cloud_set_option (t->fake, "hold_send", "1");
  g_free (cw_fake_cloud_inject (t->fake, chat_id, chat_id, "Ann", "tell me slowly"));
  held = cw_fake_cloud_wait (t->fake, send_kind, 0, 20000);
  g_assert_nonnull (held);
  g_assert_cmpstr (body_text (held, text_member), ==, CLOUD_PLACEHOLDER);
  integ_wait_llm_requests (t->f, 1);
  agent_fixture_stop (t->f, SIGKILL);
  cw_fake_cloud_set_option (t->fake, "hold_send", "0");
  agent_fixture_start (t->f);
  again = integ_wait_connected (t->f, platform, TRUE);
  cloud_expect_bot (t, chat_id, slow, 3500);
  sends = cw_fake_cloud_records (t->fake, send_kind);
  g_assert_cmpuint (sends->len, ==, 2);
  g_assert_cmpstr (body_text (sends->pdata[1], text_member), ==, "Slow hello.");
  g_assert_cmpuint (cw_fake_cloud_count (t->fake, edit_kind), ==, 0);
  g_assert_cmpuint (integ_llm_requests (t->f), ==, 2);
}
