/* cw-ctl-chat-private.h: coworkctl's chat and sessions subcommands (agent plugin clients).
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cw-ctl-private.h"

G_BEGIN_DECLS

int cw_ctl_chat (CwCtl *ctl, int argc, char **argv, GError **error);
int cw_ctl_sessions (CwCtl *ctl, int argc, char **argv, GError **error);

G_END_DECLS
