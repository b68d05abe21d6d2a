/* cw-ctl-bus-private.h: how coworkctl reaches the daemon, over the socket or over D-Bus,
 * behind one small interface so every subcommand works on both.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cw-client.h"

G_BEGIN_DECLS

typedef struct _CwCtlLink CwCtlLink;

/* Over the socket; takes ownership of @client. */
CwCtlLink *cw_ctl_link_new_socket (CwClient *client);
/* Over D-Bus: the system bus when @system_bus, else the session bus. Whether the daemon
 * is there shows at the first call. */
CwCtlLink *cw_ctl_link_new_bus (gboolean system_bus, GError **error);
void cw_ctl_link_free (CwCtlLink *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CwCtlLink, cw_ctl_link_free)

/* Runs @command (@params may be NULL) and returns its result, or NULL with the daemon's
 * error. CW_ERROR_NOT_FOUND means nothing answers (no daemon on the bus). */
JsonNode *cw_ctl_link_call (CwCtlLink *self, const gchar *command, JsonNode *params,
                            GError **error);
/* Starts collecting events; call it before the request that fixes the cursor. */
gboolean cw_ctl_link_follow_events (CwCtlLink *self, GError **error);
/* Blocks for the next event envelope {seq, type, sessionId, data, timestamp}. */
JsonObject *cw_ctl_link_next_event (CwCtlLink *self, GError **error);

G_END_DECLS
