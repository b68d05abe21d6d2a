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
/* The user messages the fake LLM got, in order (the last user message of each request). */
GPtrArray *cloud_llm_prompts (CloudTest *t);
/* Asserts that the bot's messages in @chat_id are exactly @texts (NULL-terminated), waiting
 * up to 20 s for them to arrive, then that nothing more arrives within @quiet_ms. A
 * "Thinking..." placeholder left standing is not counted (platforms without edits keep it,
 * contract §3.4). */
void cloud_expect_bot (CloudTest *t, const gchar *chat_id, const gchar *const *texts,
                       guint quiet_ms);
/* Prints the daemon's log (on a failure). */
void cloud_dump_log (CloudTest *t);
/* Moves the daemon's clock far enough for every reconnect backoff and outbox retry. */
void cloud_pass_time (CloudTest *t, gint64 ms);

G_END_DECLS
