/* cw-cloud-http.h: what the cloud adapters (Telegram, Slack, Discord, Teams, iMessage,
 * WhatsApp) share: JSON over HTTP with libsoup 3, and text split to a platform's limit.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "../../cw-integration-adapter.h"

#include <libsoup/soup.h>

G_BEGIN_DECLS

/* A finished request: the status and the body parsed as JSON (NULL if it was not JSON). */
typedef struct
{
  guint status;
  JsonNode *body;
  gint64 retry_after_ms; /* from a Retry-After header, or -1 */
} CwCloudReply;

void cw_cloud_reply_free (CwCloudReply *reply);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CwCloudReply, cw_cloud_reply_free)

/* The body as an object, or NULL. */
JsonObject *cw_cloud_reply_object (CwCloudReply *reply);

/* A session for one adapter connection; @timeout_s is libsoup's I/O timeout (long polls need
 * more than their poll time). */
SoupSession *cw_cloud_session_new (guint timeout_s);

/* Sends @method @url with @authorization (the whole header value, or NULL) and @body:
 * a JsonObject sent as JSON (may be NULL), or with @form (an encoded form, taken in
 * preference to @body). Fails only when no HTTP answer came (the error is the transport's);
 * any status is a reply. */
void cw_cloud_request_async (SoupSession *session, const gchar *method, const gchar *url,
                             const gchar *authorization, JsonObject *body, const gchar *form,
                             GCancellable *cancellable, GAsyncReadyCallback callback,
                             gpointer user_data);
/* The same with a raw body of @content_type (finished by cw_cloud_request_finish too). */
void cw_cloud_request_bytes_async (SoupSession *session, const gchar *method, const gchar *url,
                                   const gchar *authorization, const gchar *content_type,
                                   GBytes *bytes, GCancellable *cancellable,
                                   GAsyncReadyCallback callback, gpointer user_data);
/* POSTs a multipart/form-data body to @url (finished by cw_cloud_request_finish too): the form
 * fields given as name, value pairs up to a NULL name (a NULL value leaves its field out), then
 * @media's bytes as the file part @file_part (with its file name and MIME type). */
void cw_cloud_post_media (SoupSession *session, const gchar *url, const gchar *authorization,
                          const gchar *file_part, const CwIntegrationMedia *media,
                          GCancellable *cancellable, GAsyncReadyCallback callback,
                          gpointer user_data, const gchar *first_field, ...) G_GNUC_NULL_TERMINATED;
CwCloudReply *cw_cloud_request_finish (GAsyncResult *result, GError **error);

/* Splits @text into parts of at most @max_chars characters, at a line break or a space in the
 * last fifth of a part when there is one. Never returns an empty array. */
GStrv cw_cloud_split_text (const gchar *text, guint max_chars);

/* A JSON member as text whether it is a string or a number; NULL when absent. */
gchar *cw_cloud_member_text (JsonObject *object, const gchar *name);

/* The string @key of an outbound message's reply_data (may be NULL): what it answers; NULL
 * when absent. */
const gchar *cw_cloud_reply_to (JsonObject *reply_data, const gchar *key);

/* An error for a reply that is not what was expected: "<what> failed: HTTP <status>: <detail>".
 * CW_ERROR_UNAUTHORIZED for 401/403, CW_ERROR_FAILED otherwise. */
GError *cw_cloud_reply_error (CwCloudReply *reply, const gchar *what, const gchar *detail);

/* Finish functions for adapters whose async vfuncs run a GTask on the adapter: connect and
 * edit (a boolean), send (the message id), check_health (a boolean; the task data, as an int,
 * is *requires_reconnect). */
gboolean cw_cloud_finish_boolean (CwIntegrationAdapter *adapter, GAsyncResult *result,
                                  GError **error);
gchar *cw_cloud_finish_id (CwIntegrationAdapter *adapter, GAsyncResult *result, GError **error);
gboolean cw_cloud_finish_health (CwIntegrationAdapter *adapter, GAsyncResult *result,
                                 gboolean *requires_reconnect, GError **error);

G_END_DECLS
