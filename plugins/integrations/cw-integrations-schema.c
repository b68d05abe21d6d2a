/* cw-integrations-schema.c: the integrations plugin's tables in the core store (owner
 * "integrations").
 *
 * Schema versions:
 *   1: integrations_platforms (the stored PlatformConfig without secrets, and the names of
 *      the secret fields kept in CwSecrets), integrations_settings, integrations_state (each
 *      adapter's position: update offset, last UID), integrations_chats (the session of each
 *      chat), integrations_inbound (the ledger: one row per platform message id, written
 *      before the platform is acknowledged), integrations_outbox (every reply until sent,
 *      unique per inbound message and kind) and integrations_prompts (permissions and
 *      questions relayed to a chat, with the sender who may answer them).
 *   2: integrations_inbound_chat, so that a chat's waiting messages are found without
 *      reading every chat's.
 *   3: integrations_inbound.attachments: the descriptions of the files that came with the
 *      message (a JSON array of {type, name, mimeType?, size?, duration?, ref}), written with
 *      it; their content is fetched only when the message is routed.
 *
 * The one-time import of the original's config.json runs at start, not as a migration,
 * because its tokens go to CwSecrets, which is asynchronous (cw-integrations-importer.c).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-integrations-plugin.h"

gboolean
cw_integrations_schema_migrate (CwIntegrationsPlugin *self, GError **error)
{
  const CwMigration migrations[] = {
    { 1,
      "CREATE TABLE integrations_platforms ("
      "  platform TEXT PRIMARY KEY,"
      "  enabled INTEGER NOT NULL,"
      "  config TEXT NOT NULL,"
      "  secrets TEXT NOT NULL,"
      "  updated_at INTEGER NOT NULL);"
      "CREATE TABLE integrations_settings ("
      "  key TEXT PRIMARY KEY,"
      "  value TEXT NOT NULL);"
      "CREATE TABLE integrations_state ("
      "  platform TEXT NOT NULL,"
      "  key TEXT NOT NULL,"
      "  value TEXT NOT NULL,"
      "  PRIMARY KEY (platform, key));"
      "CREATE TABLE integrations_chats ("
      "  key TEXT PRIMARY KEY,"
      "  session_id TEXT NOT NULL,"
      "  title TEXT,"
      "  updated_at INTEGER NOT NULL);"
      "CREATE TABLE integrations_inbound ("
      "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
      "  platform TEXT NOT NULL,"
      "  message_id TEXT NOT NULL,"
      "  chat_id TEXT NOT NULL,"
      "  chat_title TEXT,"
      "  sender_id TEXT NOT NULL,"
      "  sender_name TEXT,"
      "  text TEXT NOT NULL,"
      "  timestamp INTEGER NOT NULL,"
      "  reply_data TEXT,"
      "  status TEXT NOT NULL,"
      "  session_id TEXT,"
      "  received_at INTEGER NOT NULL,"
      "  updated_at INTEGER NOT NULL);"
      "CREATE UNIQUE INDEX integrations_inbound_message ON integrations_inbound (platform,"
      "  message_id);"
      "CREATE INDEX integrations_inbound_open ON integrations_inbound (status)"
      "  WHERE status IN ('received', 'dispatched');"
      "CREATE TABLE integrations_outbox ("
      "  id TEXT PRIMARY KEY,"
      "  platform TEXT NOT NULL,"
      "  chat_id TEXT NOT NULL,"
      "  inbound_id INTEGER,"
      "  kind TEXT NOT NULL,"
      "  text TEXT NOT NULL,"
      "  reply_data TEXT,"
      "  state TEXT NOT NULL,"
      "  attempts INTEGER NOT NULL DEFAULT 0,"
      "  next_attempt_at INTEGER NOT NULL DEFAULT 0,"
      "  message_id TEXT,"
      "  error TEXT,"
      "  created_at INTEGER NOT NULL,"
      "  updated_at INTEGER NOT NULL);"
      "CREATE UNIQUE INDEX integrations_outbox_once ON integrations_outbox (inbound_id, kind)"
      "  WHERE inbound_id IS NOT NULL;"
      "CREATE INDEX integrations_outbox_state ON integrations_outbox (state, created_at);"
      "CREATE TABLE integrations_prompts ("
      "  id TEXT PRIMARY KEY,"
      "  kind TEXT NOT NULL,"
      "  session_id TEXT NOT NULL,"
      "  platform TEXT NOT NULL,"
      "  chat_id TEXT NOT NULL,"
      "  sender_id TEXT NOT NULL,"
      "  request TEXT NOT NULL,"
      "  open INTEGER NOT NULL,"
      "  created_at INTEGER NOT NULL);"
      "CREATE INDEX integrations_prompts_chat ON integrations_prompts (platform, chat_id)"
      "  WHERE open = 1;",
      NULL, NULL },
    { 2,
      "CREATE INDEX integrations_inbound_chat ON integrations_inbound (platform, chat_id, status);",
      NULL, NULL },
    { 3, "ALTER TABLE integrations_inbound ADD COLUMN attachments TEXT;", NULL, NULL },
  };

  return cw_store_migrate (self->store, "integrations", migrations, G_N_ELEMENTS (migrations),
                           error);
}
