/* cw-command-registry-private.h: the transports' direct way into the registry.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cw-invocation-private.h"

G_BEGIN_DECLS

/* Like cw_command_registry_call, but @reply runs as soon as the handler answers (maybe
 * before this returns), without a main-loop turn in between: the socket's hot path. */
typedef CwInvocationDoneFunc CwCommandReplyFunc;
void cw_command_registry_dispatch (CwCommandRegistry *self, const gchar *command, JsonNode *params,
                                   CwCommandReplyFunc reply, gpointer reply_data);

G_END_DECLS
