/* cw-agent-tool-table-private.h: the context's table of tools plugins contributed to the
 * agent, and the names the agent reserved for its built-in tools.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cowork-host.h"

G_BEGIN_DECLS

typedef struct _CwAgentToolTable CwAgentToolTable;

CwAgentToolTable *cw_agent_tool_table_new (void);
void cw_agent_tool_table_free (CwAgentToolTable *self);
/* Drops @owner's tools and reservations. */
void cw_agent_tool_table_remove_owner (CwAgentToolTable *self, const gchar *owner);

/* The context's table (cw-context.c). */
CwAgentToolTable *cw_context_get_agent_tool_table (CwContext *self);

G_END_DECLS
