/* cw-cron-ctl.h: `coworkctl cron`, a client of the cron plugin's commands.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cw-ctl.h"

G_BEGIN_DECLS

int cw_ctl_cron (CwCtl *ctl, int argc, char **argv, GError **error);

/* The table coworkctl finds through its generated extension list. */
extern const CwCtlCommand cw_ctl_commands_cron[];

G_END_DECLS
