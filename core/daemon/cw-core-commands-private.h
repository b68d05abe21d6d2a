/* cw-core-commands-private.h: the daemon's own commands (contract §2).
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cw-daemon-private.h"

G_BEGIN_DECLS

void cw_core_commands_register (CwDaemon *daemon, CwCommandRegistry *registry);

G_END_DECLS
