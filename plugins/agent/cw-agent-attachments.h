/* cw-agent-attachments.h: message attachments, kept as files next to the session instead
 * of base64 in the database (contract §5.2).
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <cowork.h>

G_BEGIN_DECLS

/* Writes the decoded bytes of every non-text attachment to
 * <app_data_dir>/sessions/<session_id>/attachments/ and returns the stored form: base64
 * replaced by filePath (text attachments stay inline, type "other" is dropped). */
JsonArray *cw_agent_attachments_store (const gchar *app_data_dir, const gchar *session_id,
                                       JsonArray *attachments, GError **error);

G_END_DECLS
