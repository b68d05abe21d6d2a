/* cw-context-private.h: the daemon builds one context and reads contributors back.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cowork.h"

G_BEGIN_DECLS

CwContext *cw_context_new (CwCommandRegistry *registry, CwEventBus *bus, CwStore *store,
                           CwConfig *config);
void cw_context_set_secrets (CwContext *self, CwSecrets *secrets);
/* Runs every contributor; appends comma-separated JSON text to @sessions and @runtime
 * (both may be NULL to count only). Returns the number of sessions. */
guint cw_context_bootstrap_text (CwContext *self, GString *sessions, GString *runtime);
guint cw_context_count_sessions (CwContext *self);

G_END_DECLS
