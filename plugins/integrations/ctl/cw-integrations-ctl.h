/* cw-integrations-ctl.h: `coworkctl integrations`, a client of the integrations plugin's
 * commands.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cw-ctl.h"

G_BEGIN_DECLS

int cw_ctl_integrations (CwCtl *ctl, int argc, char **argv, GError **error);

/* The table coworkctl finds through its generated extension list. */
extern const CwCtlCommand cw_ctl_commands_integrations[];

G_END_DECLS
