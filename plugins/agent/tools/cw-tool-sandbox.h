/* cw-tool-sandbox.h: the Landlock sandbox for commands the agent runs without asking, and
 * cowork-run-command, the helper every command runs under (it installs next to the agent
 * plugin).
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <cowork.h>

G_BEGIN_DECLS

/* The helper's path, or NULL if it is missing. */
const gchar *cw_tool_sandbox_helper (void);
/* TRUE if commands can be confined: the kernel has Landlock, the helper is there and
 * COWORK_AGENT_SANDBOX is not "off". Probed once. */
gboolean cw_tool_sandbox_available (void);
/* For daemon_health: {available, kind, abi} or {available:false, reason}, and what happens
 * to trusted and read-only commands either way. */
JsonObject *cw_tool_sandbox_health (void);

G_END_DECLS
