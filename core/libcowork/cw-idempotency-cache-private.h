/* cw-idempotency-cache-private.h: the answers of calls that carried _idempotencyKey.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cowork-host.h"

G_BEGIN_DECLS

#define CW_IDEMPOTENCY_TTL_US     (15 * G_TIME_SPAN_MINUTE)
#define CW_IDEMPOTENCY_MAX_KEYS   1024
#define CW_IDEMPOTENCY_MAX_BYTES  (16 * 1024 * 1024)
#define CW_IDEMPOTENCY_MAX_ANSWER (1024 * 1024)

typedef struct _CwIdempotencyCache CwIdempotencyCache;
typedef struct _CwIdempotencyEntry CwIdempotencyEntry;

CwIdempotencyCache *cw_idempotency_cache_new (void);
void cw_idempotency_cache_free (CwIdempotencyCache *self);

/* Looks up (@caller, @command, @key). Answers through @reply and returns NULL when the call
 * is a repeat: with the stored answer, with the answer of the same call still running once
 * it comes, or with an error when the key was used with other @params. Otherwise returns
 * the entry the new call must answer through cw_idempotency_entry_done. */
CwIdempotencyEntry *cw_idempotency_cache_begin (CwIdempotencyCache *self, const gchar *caller,
                                                const gchar *command, const gchar *key,
                                                JsonObject *params, CwCommandReplyFunc reply,
                                                gpointer reply_data);
/* A CwCommandReplyFunc with @entry as user data: answers every waiting call and keeps a
 * success (a failure is forgotten, so a retry runs again). */
void cw_idempotency_entry_done (JsonNode *result, gchar *raw, GError *error, gpointer entry);

/* Entries and answer bytes held now (for tests and health). */
guint cw_idempotency_cache_get_size (CwIdempotencyCache *self, gsize *bytes);

G_END_DECLS
