/* cw-interaction-commands-private.h: the core commands over pending interactions.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cowork-host.h"

G_BEGIN_DECLS

/* interaction_list, interaction_respond and the bootstrap member pendingInteractions. */
void cw_interaction_commands_register (CwContext *context);

G_END_DECLS
