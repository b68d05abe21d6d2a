/* cw-agent-history.h: the conversation sent to the model, rebuilt from the stored chat
 * items, so a turn can continue after a restart from what is on disk.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <cowork.h>

G_BEGIN_DECLS

/* Provider-neutral messages (see cw-provider.h) from chat items ordered by sequence. A
 * tool call without a result (the daemon died while it ran) gets a result saying so, as
 * every API wants an answer for each call. */
JsonArray *cw_agent_history_build (JsonArray *items);

/* When the context window is nearly full: only the newest messages from a user message on
 * (at least @keep of them), the first one saying that earlier ones were left out. The stored
 * chat items are not touched. Returns a new reference. */
JsonArray *cw_agent_history_trim (JsonArray *messages, guint keep);

G_END_DECLS
