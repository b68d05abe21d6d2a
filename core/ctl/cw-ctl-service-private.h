/* cw-ctl-service-private.h: coworkctl's service, credentials and audit subcommands.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cw-ctl.h"
#include "cw-service-private.h"

G_BEGIN_DECLS

int cw_ctl_service (CwCtl *ctl, int argc, char **argv, GError **error);
int cw_ctl_credentials (CwCtl *ctl, int argc, char **argv, GError **error);
int cw_ctl_audit (CwCtl *ctl, int argc, char **argv, GError **error);
/* `coworkctl db check|backup`. */
int cw_ctl_db (CwCtl *ctl, int argc, char **argv, GError **error);
extern const gchar cw_ctl_db_usage[];
/* Their full usage, for `coworkctl help service|credentials`. */
extern const gchar cw_ctl_service_usage[];
extern const gchar cw_ctl_credentials_usage[];

/* Shared helpers of these subcommands. */
void cw_ctl_print_json_object (CwCtl *ctl, JsonObject *obj);
/* TRUE when the user answers yes on the terminal; FALSE without a terminal. */
gboolean cw_ctl_confirm (const gchar *question);
/* Opens the audit log of @paths' scope (the daemon's database), creating it if needed. */
CwStore *cw_ctl_open_audit_store (const CwPaths *paths, GError **error);
/* Who is acting, for audit records: the sudo caller when there is one. */
const gchar *cw_ctl_actor (void);

G_END_DECLS
