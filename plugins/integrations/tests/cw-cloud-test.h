/* cw-cloud-test.h: helpers of the cloud adapters' daemon-level tests: the real coworkd with
 * the agent and the fake LLM (cw-integrations-test.h), and a fake platform (fake/).
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cw-fake-cloud.h"
#include "cw-integrations-test.h"

G_BEGIN_DECLS

#define CLOUD_HELLO        "Hello from the fake."
#define CLOUD_HELLO_SCRIPT "{\"responses\":[{\"events\":[{\"text\":\"" CLOUD_HELLO "\"}]}]}"
#define CLOUD_PLACEHOLDER  "Thinking..."
#define CLOUD_SLOW_SCRIPT                                                                          \
  "{\"responses\":[{\"events\":[{\"delayMs\":2500},{\"text\":\"Slow hello.\"}]}]}"

/* A slow reply in three chunks, 1.5 s apart (streamed edits go out at most once a second). */
#define CLOUD_STREAM_SCRIPT                                                                        \
  "{\"responses\":[{\"events\":[{\"text\":\"One \"},{\"delayMs\":1500},{\"text\":\"two \"},"       \
  "{\"delayMs\":1500},{\"text\":\"three.\"}]}]}"
#define CLOUD_STREAM_REPLY "One two three."

typedef struct
{
  AgentFixture *f;
  CwFakeCloud *fake;
} CloudTest;

/* The daemon with the fake LLM playing @script and a fake @kind; NULL (skip) without the
 * fake LLM. */
CloudTest *cloud_test_new (CwFakeKind kind, const gchar *script);
void cloud_test_free (CloudTest *t);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CloudTest, cloud_test_free)

/* integration_connect with @config_json; asserts connected and healthy; returns the status. */
JsonObject *cloud_connect (CloudTest *t, const gchar *platform, const gchar *config_json);
/* Telegram with the bot token "123:abc", the app's nulls for the optional fields. */
JsonObject *cloud_connect_telegram (CloudTest *t);
/* Slack with the tokens "xapp-1-test" and "xoxb-test". */
JsonObject *cloud_connect_slack (CloudTest *t);
/* Discord with the token "discord-token", heartbeats every 300 ms. */
JsonObject *cloud_connect_discord (CloudTest *t);
/* BlueBubbles with the password "bb-password". */
JsonObject *cloud_connect_imessage (CloudTest *t);
/* Waits until the iMessage adapter joined the event channel (Socket.IO "40"). */
void cloud_imessage_wait_joined (CloudTest *t);
/* Teams (tenant "tenant", app "app-1", team1:chan1) on the fake Graph. */
JsonObject *cloud_connect_teams (CloudTest *t);
/* One Teams poll interval (30 s) on the daemon's clock, and the poll it starts. */
void cloud_teams_next_poll (CloudTest *t);
/* The user messages the fake LLM got, in order (the last user message of each request). */
GPtrArray *cloud_llm_prompts (CloudTest *t);
/* Asserts that the bot's messages in @chat_id are exactly @texts (NULL-terminated), waiting
 * up to 20 s for them to arrive, then that nothing more arrives within @quiet_ms. A
 * "Thinking..." placeholder left standing is not counted (platforms without edits keep it,
 * contract §3.4). */
void cloud_expect_bot (CloudTest *t, const gchar *chat_id, const gchar *const *texts,
                       guint quiet_ms);
/* The edit requests @edits (records whose body has the text in @member) of a streamed reply:
 * at least two, each a prefix of @reply, one of them partial (the text grew while it came),
 * the last @reply. */
void cloud_assert_streamed_edits (GPtrArray *edits, const gchar *member, const gchar *reply);
/* A platform that cannot edit got a streamed reply: no placeholder, one @send_kind request,
 * and @chat_id has @reply as its only bot message, with an integration:message_out. */
void cloud_expect_sent_once (CloudTest *t, const gchar *chat_id, const gchar *send_kind,
                             const gchar *reply);
/* kill -9 while the platform holds the placeholder's @send_kind request (the fake's
 * "hold_send"; @text_member is where its body has the text), on a daemon connected to
 * @platform and playing CLOUD_SLOW_SCRIPT: after the restart the placeholder is not sent
 * again and nothing is edited (no @edit_kind), the reply is one new message in @chat_id, and
 * the agent ran the turn again. */
void cloud_kill_during_placeholder (CloudTest *t, const gchar *platform, const gchar *chat_id,
                                    const gchar *send_kind, const gchar *text_member,
                                    const gchar *edit_kind);
/* Prints the daemon's log (on a failure). */
void cloud_dump_log (CloudTest *t);
/* Moves the daemon's clock far enough for every reconnect backoff and outbox retry. */
void cloud_pass_time (CloudTest *t, gint64 ms);

G_END_DECLS
