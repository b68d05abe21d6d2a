/* cw-agent-schema.h: the agent plugin's migrations.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <cowork.h>

G_BEGIN_DECLS

gboolean cw_agent_schema_migrate (CwStore *store, GError **error);

G_END_DECLS
