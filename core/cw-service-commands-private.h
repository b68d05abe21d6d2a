/* cw-service-commands-private.h: service_* and credentials_* daemon commands.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cw-daemon-private.h"

G_BEGIN_DECLS

void cw_service_commands_register (CwDaemon *daemon, CwCommandRegistry *registry);

G_END_DECLS
