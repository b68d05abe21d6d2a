/* cw-context-private.h: the daemon builds one context and reads contributors back.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cowork.h"

G_BEGIN_DECLS

CwContext *cw_context_new (CwCommandRegistry *registry, CwEventBus *bus, CwStore *store,
                           CwConfig *config);
void cw_context_set_secrets (CwContext *self, CwSecrets *secrets);
/* Runs every bootstrap contributor into @state (which gets "sessions" and "runtime"). */
void cw_context_fill_bootstrap (CwContext *self, JsonObject *state);
guint cw_context_count_sessions (CwContext *self);

G_END_DECLS
