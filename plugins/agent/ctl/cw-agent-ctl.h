/* cw-agent-ctl.h: coworkctl's chat and sessions subcommands, clients of the agent plugin.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cw-ctl.h"

G_BEGIN_DECLS

int cw_ctl_chat (CwCtl *ctl, int argc, char **argv, GError **error);
int cw_ctl_sessions (CwCtl *ctl, int argc, char **argv, GError **error);

/* The table coworkctl finds through its generated extension list. */
extern const CwCtlCommand cw_ctl_commands_agent[];

G_END_DECLS
