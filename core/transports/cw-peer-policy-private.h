/* cw-peer-policy-private.h: which local users may talk to the daemon.
 * User mode: the daemon's own uid and root. System mode: root and members of a group.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <sys/types.h>

G_BEGIN_DECLS

typedef struct _CwPeerPolicy CwPeerPolicy;

CwPeerPolicy *cw_peer_policy_new (gboolean system_mode, const gchar *group);
void cw_peer_policy_free (CwPeerPolicy *self);
/* Matches CwPeerCheckFunc. */
gboolean cw_peer_policy_check (uid_t uid, gpointer policy);

G_END_DECLS
