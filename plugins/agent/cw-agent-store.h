/* cw-agent-store.h: reading and writing the agent's rows (see cw-agent-schema.c).
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cw-agent-session.h"

G_BEGIN_DECLS

gboolean cw_agent_store_save_session (CwStore *store, CwAgentSession *session, GError **error);
/* Every stored session as an index row: SessionInfo, the queue and the stored
 * SessionRuntimeState text; the rest of the runtime comes with cw_agent_store_load_runtime
 * (loaded is TRUE where nothing is stored). */
GPtrArray *cw_agent_store_load_index (CwStore *store, GError **error);
/* Applies the stored runtime snapshot of @session (grants, last error, tasks, ...). */
gboolean cw_agent_store_load_runtime (CwStore *store, CwAgentSession *session, GError **error);
/* session id -> id of the turn that was in flight, for the sessions that had one. */
GHashTable *cw_agent_store_list_active_turns (CwStore *store, GError **error);
gboolean cw_agent_store_delete_session (CwStore *store, const gchar *session_id, GError **error);

gboolean cw_agent_store_insert_item (CwStore *store, const gchar *session_id, JsonObject *item,
                                     GError **error);
gboolean cw_agent_store_update_item (CwStore *store, const gchar *session_id, JsonObject *item,
                                     GError **error);
/* Reads an item, shallow-merges @updates into it and writes it back; returns the merged
 * item (NULL with @error, or NULL without one when there is no such item). */
JsonObject *cw_agent_store_patch_item (CwStore *store, const gchar *session_id,
                                       const gchar *item_id, JsonObject *updates, GError **error);
/* Items ordered by sequence: the newest @limit (0: all) with sequence < @before (-1: any). */
JsonArray *cw_agent_store_list_items (CwStore *store, const gchar *session_id, gint64 before,
                                      gint64 limit, gboolean *has_more, GError **error);

/* Id of the newest chat item of @kind whose JSON member at @path (e.g. "$.permissionId")
 * is @value, or NULL. */
gchar *cw_agent_store_find_item (CwStore *store, const gchar *session_id, const gchar *kind,
                                 const gchar *path, const gchar *value);
/* Id of the newest @kind item whose toolId is @tool_id, or NULL. */
gchar *cw_agent_store_find_tool_item (CwStore *store, const gchar *session_id, const gchar *kind,
                                      const gchar *tool_id);

gboolean cw_agent_store_save_artifact (CwStore *store, const gchar *session_id,
                                       JsonObject *artifact, GError **error);
JsonArray *cw_agent_store_list_artifacts (CwStore *store, const gchar *session_id, GError **error);

/* The runtime row of @session: its snapshot (with @active_turn_id), and its
 * SessionRuntimeState text, returned in @state when not NULL. */
gboolean cw_agent_store_save_runtime (CwStore *store, CwAgentSession *session,
                                      const gchar *active_turn_id, gchar **state, GError **error);

gboolean cw_agent_store_save_queue (CwStore *store, CwAgentSession *session, GError **error);

gchar *cw_agent_store_get_meta (CwStore *store, const gchar *key);
gboolean cw_agent_store_set_meta (CwStore *store, const gchar *key, const gchar *value,
                                  GError **error);

G_END_DECLS
