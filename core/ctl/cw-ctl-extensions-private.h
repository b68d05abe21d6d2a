/* cw-ctl-extensions-private.h: the subcommand tables of the plugins' coworkctl extensions,
 * listed by the build (cw-ctl-extensions.c is generated from the plugins that have a ctl/).
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cw-ctl.h"

G_BEGIN_DECLS

/* NULL-terminated; each table ends with an entry whose name is NULL. */
extern const CwCtlCommand *const cw_ctl_extensions[];

G_END_DECLS
