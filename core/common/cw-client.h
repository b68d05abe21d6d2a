/* cw-client.h: a small blocking client of the socket protocol, used by coworkctl,
 * the tests and the benchmarks.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cowork-host.h"

G_BEGIN_DECLS

typedef struct _CwClient CwClient;

CwClient *cw_client_connect (const gchar *endpoint, const gchar *token, GError **error);
void cw_client_free (CwClient *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CwClient, cw_client_free)

/* Seconds a read may block (0: forever). */
void cw_client_set_timeout (CwClient *self, guint seconds);
/* Sends one request line; @params may be NULL. Returns the id used. */
gchar *cw_client_send (CwClient *self, const gchar *command, JsonNode *params, GError **error);
gboolean cw_client_send_raw (CwClient *self, const gchar *data, gsize len, GError **error);
/* Reads the next line, a response or an event; NULL at end of stream or on error. */
JsonObject *cw_client_read (CwClient *self, GError **error);
/* Reads until the response to @id; events read meanwhile wait for cw_client_next_event.
 * Returns the whole response object {id, success, result|error}. */
JsonObject *cw_client_wait_response (CwClient *self, const gchar *id, GError **error);
/* Calls @command and returns its result, or NULL with the daemon's error message. */
JsonNode *cw_client_call (CwClient *self, const gchar *command, JsonNode *params, GError **error);
/* The next event line (queued ones first). */
JsonObject *cw_client_next_event (CwClient *self, GError **error);

G_END_DECLS
