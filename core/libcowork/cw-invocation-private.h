/* cw-invocation-private.h: how the registry creates invocations and learns their answer.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cowork-host.h"

G_BEGIN_DECLS

/* @caller NULL means internal. */
CwInvocation *cw_invocation_new (const gchar *command, JsonObject *params, CwCaller *caller,
                                 CwCommandReplyFunc done, gpointer done_data);

G_END_DECLS
