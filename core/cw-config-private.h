/* cw-config-private.h: building the daemon's configuration.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cowork.h"

G_BEGIN_DECLS

/* @path may name a missing file: then every key has its default. */
CwConfig *cw_config_new (const gchar *app_data_dir, gboolean system_mode, const gchar *path,
                         GError **error);
const gchar *cw_config_get_path (CwConfig *self);

G_END_DECLS
