/* cw-core-schema-private.h: migrations of the core's own tables.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cowork-host.h"

G_BEGIN_DECLS

gboolean cw_core_schema_migrate (CwStore *store, GError **error);
gint cw_core_schema_latest_version (void);

G_END_DECLS
