/* cw-audit-private.h: the audit log of security-relevant actions (SQLite table "audit").
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cowork.h"

G_BEGIN_DECLS

/* Records @action by @actor; @details (may be NULL) must never hold a secret value. */
gboolean cw_audit_record (CwStore *store, const gchar *action, const gchar *actor,
                          JsonObject *details, GError **error);
/* Newest first: [{id, timestamp, action, actor, details}] */
JsonArray *cw_audit_list (CwStore *store, gint64 limit, GError **error);

G_END_DECLS
