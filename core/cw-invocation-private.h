/* cw-invocation-private.h: how the registry creates invocations and learns their answer.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cowork.h"

G_BEGIN_DECLS

/* Called once with exactly one of @result, @raw (JSON text the handler already had) or
 * @error, each transfer full. */
typedef void (*CwInvocationDoneFunc) (JsonNode *result, gchar *raw, GError *error,
                                      gpointer user_data);

CwInvocation *cw_invocation_new (const gchar *command, JsonObject *params,
                                 CwInvocationDoneFunc done, gpointer done_data);

G_END_DECLS
