/* cw-agent-schema.c: the agent plugin's tables in the core store (owner "agent").
 *
 * Schema versions:
 *   1: agent_sessions, agent_chat_items (per-session sequence), agent_tasks, agent_artifacts,
 *      agent_runtime (one snapshot per session), agent_permissions and agent_questions
 *      (pending human-in-the-loop requests, with the tool call they hold back), agent_queue,
 *      agent_meta (runtime config without secrets, model catalog, importer marker).
 *   2: agent_permissions and agent_questions dropped: pending requests are the SDK's pending
 *      interactions (core_interactions). Requests still waiting in them at the upgrade are
 *      not carried over; their turns end as interrupted.
 *   3: agent_runtime.active_turn_id (the turn in flight, indexed: a start finds the turns to
 *      recover without reading every snapshot) and agent_runtime.state (SessionRuntimeState
 *      as the bootstrap state shows it, so sessions need not be loaded to be listed). A row
 *      from before has no state: its session is loaded at the next start and written back.
 *
 * Rows that belong to a session go with it (ON DELETE CASCADE; the store turns foreign
 * keys on). Chat items and snapshots are JSON text: the wire shapes are the contract's,
 * and the columns next to them are only what queries need.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-agent-schema.h"

static const CwMigration agent_migrations[] = {
  { 1, "CREATE TABLE agent_sessions ("
       "  id TEXT PRIMARY KEY,"
       "  type TEXT NOT NULL,"
       "  provider TEXT NOT NULL,"
       "  execution_mode TEXT NOT NULL,"
       "  approval_mode TEXT NOT NULL,"
       "  title TEXT,"
       "  first_message TEXT,"
       "  working_directory TEXT NOT NULL,"
       "  model TEXT NOT NULL,"
       "  message_count INTEGER NOT NULL DEFAULT 0,"
       "  next_sequence INTEGER NOT NULL DEFAULT 0,"
       "  created_at INTEGER NOT NULL,"
       "  updated_at INTEGER NOT NULL,"
       "  last_accessed_at INTEGER NOT NULL);"
       "CREATE TABLE agent_chat_items ("
       "  session_id TEXT NOT NULL REFERENCES agent_sessions(id) ON DELETE CASCADE,"
       "  id TEXT NOT NULL,"
       "  sequence INTEGER NOT NULL,"
       "  timestamp INTEGER NOT NULL,"
       "  kind TEXT NOT NULL,"
       "  data TEXT NOT NULL,"
       "  PRIMARY KEY (session_id, id));"
       "CREATE INDEX agent_chat_items_seq ON agent_chat_items (session_id, sequence);"
       "CREATE TABLE agent_tasks ("
       "  session_id TEXT PRIMARY KEY REFERENCES agent_sessions(id) ON DELETE CASCADE,"
       "  tasks TEXT NOT NULL);"
       "CREATE TABLE agent_artifacts ("
       "  session_id TEXT NOT NULL REFERENCES agent_sessions(id) ON DELETE CASCADE,"
       "  id TEXT NOT NULL,"
       "  timestamp INTEGER NOT NULL,"
       "  data TEXT NOT NULL,"
       "  PRIMARY KEY (session_id, id));"
       "CREATE TABLE agent_runtime ("
       "  session_id TEXT PRIMARY KEY REFERENCES agent_sessions(id) ON DELETE CASCADE,"
       "  snapshot TEXT NOT NULL,"
       "  updated_at INTEGER NOT NULL);"
       "CREATE TABLE agent_permissions ("
       "  id TEXT PRIMARY KEY,"
       "  session_id TEXT NOT NULL REFERENCES agent_sessions(id) ON DELETE CASCADE,"
       "  turn_id TEXT,"
       "  request TEXT NOT NULL,"
       "  tool_call TEXT,"
       "  created_at INTEGER NOT NULL);"
       "CREATE TABLE agent_questions ("
       "  id TEXT PRIMARY KEY,"
       "  session_id TEXT NOT NULL REFERENCES agent_sessions(id) ON DELETE CASCADE,"
       "  turn_id TEXT,"
       "  request TEXT NOT NULL,"
       "  tool_call TEXT,"
       "  created_at INTEGER NOT NULL);"
       "CREATE TABLE agent_queue ("
       "  id TEXT PRIMARY KEY,"
       "  session_id TEXT NOT NULL REFERENCES agent_sessions(id) ON DELETE CASCADE,"
       "  position INTEGER NOT NULL,"
       "  content TEXT NOT NULL,"
       "  attachments TEXT,"
       "  queued_at INTEGER NOT NULL);"
       "CREATE INDEX agent_queue_pos ON agent_queue (session_id, position);"
       "CREATE TABLE agent_meta ("
       "  key TEXT PRIMARY KEY,"
       "  value TEXT NOT NULL);" },
  { 2, "DROP TABLE agent_permissions;"
       "DROP TABLE agent_questions;" },
  { 3, "ALTER TABLE agent_runtime ADD COLUMN active_turn_id TEXT;"
       "ALTER TABLE agent_runtime ADD COLUMN state TEXT;"
       "UPDATE agent_runtime SET active_turn_id = json_extract(snapshot, '$.activeTurnId');"
       "CREATE INDEX agent_runtime_active ON agent_runtime (session_id)"
       "  WHERE active_turn_id IS NOT NULL;" },
};

gboolean
cw_agent_schema_migrate (CwStore *store, GError **error)
{
  if (!cw_store_migrate (store, "agent", agent_migrations, G_N_ELEMENTS (agent_migrations), error))
    {
      g_prefix_error (error, "failed to prepare the agent tables: ");
      return FALSE;
    }
  return TRUE;
}
