/* cw-cloud-download.h: fetching an attachment's bytes over HTTP for the cloud adapters, with a
 * size cap that is checked before and while the body is read.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cw-cloud-http.h"

G_BEGIN_DECLS

/* GET @url with @authorization (the whole header value, or NULL). Finishes with the body; an
 * HTTP status other than 2xx fails (CW_ERROR_FAILED, CW_ERROR_UNAUTHORIZED for 401/403), a
 * body over @max_bytes fails with G_IO_ERROR_MESSAGE_TOO_LARGE without being read whole. */
void cw_cloud_download_async (SoupSession *session, const gchar *url, const gchar *authorization,
                              gint64 max_bytes, GCancellable *cancellable,
                              GAsyncReadyCallback callback, gpointer user_data);
GBytes *cw_cloud_download_finish (GAsyncResult *result, GError **error);

/* The finish function of an adapter's fetch_attachment_async that ran a GTask returning the
 * GBytes. */
GBytes *cw_cloud_finish_bytes (CwIntegrationAdapter *adapter, GAsyncResult *result, GError **error);

G_END_DECLS
