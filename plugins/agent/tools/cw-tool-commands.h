/* cw-tool-commands.h: the commands execute is running, recorded in the store so that a
 * daemon started after one that died ends what it left behind. Each command carries a
 * random COWORK_COMMAND_ID in its environment (inherited by everything it starts) and runs
 * under cowork-run-command, whose pid and start time are recorded.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <cowork.h>
#include "cw-tool.h"

G_BEGIN_DECLS

#define CW_TOOL_COMMAND_ID_VAR "COWORK_COMMAND_ID"

CwToolCommands *cw_tool_commands_new (CwStore *store, const gchar *app_data_dir);
void cw_tool_commands_free (CwToolCommands *self);
/* Paths a confined command may not read: the home, the runtime dir, the daemon's data. */
const gchar *const *cw_tool_commands_hidden_paths (CwToolCommands *self);

/* A new id for a command about to start. */
gchar *cw_tool_commands_new_id (void);
/* Records that command @id runs under helper @pid. */
void cw_tool_commands_started (CwToolCommands *self, const gchar *id, GPid pid);
/* The helper of @id has exited: kills any process still carrying @id, forgets it. */
void cw_tool_commands_finished (CwToolCommands *self, const gchar *id);
/* At start: kills what the recorded commands of a previous daemon left running (a helper
 * only if its start time matches, so a reused pid is spared) and forgets them. Returns the
 * number of processes killed. */
guint cw_tool_commands_end_leftovers (CwToolCommands *self);

G_END_DECLS
