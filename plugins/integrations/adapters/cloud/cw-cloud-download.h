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

/* Downloads @url (as cw_cloud_download_async, with the task's cancellable) and returns the
 * bytes, or the error, on @task (taken). */
void cw_cloud_download_into (GTask *task, SoupSession *session, const gchar *url,
                             const gchar *authorization, gint64 max_bytes);

/* fetch_attachment_async of an adapter whose reference is the file's URL: "<platform> is not
 * connected" without @session, else the download into a GTask on @adapter. */
void cw_cloud_fetch_url (CwIntegrationAdapter *adapter, SoupSession *session, const gchar *platform,
                         const gchar *url, const gchar *authorization, gint64 max_bytes,
                         GCancellable *cancellable, GAsyncReadyCallback callback,
                         gpointer user_data);

/* A fetch_attachment_async job on @adapter that keeps its size cap @max_bytes (read back by
 * cw_cloud_fetch_max) as task data. */
GTask *cw_cloud_fetch_task_new (gpointer adapter, gint64 max_bytes, GCancellable *cancellable,
                                GAsyncReadyCallback callback, gpointer user_data);
gint64 cw_cloud_fetch_max (GTask *task);

/* When @size is over the cap of @task (a cw_cloud_fetch_task_new job): returns
 * G_IO_ERROR_MESSAGE_TOO_LARGE on @task and TRUE; the caller keeps its reference. */
gboolean cw_cloud_fetch_too_large (GTask *task, gint64 size);

/* TRUE when @url is on @host or one of its subdomains (credentials go only there). */
gboolean cw_cloud_url_on_host (const gchar *url, const gchar *host);

/* Where a platform's file objects keep what CwIntegrationAttachment needs (NULL: absent). */
typedef struct
{
  const gchar *ref, *ref_fallback; /* the reference (a URL, an id), or the fallback's */
  const gchar *name, *mime_type, *size, *duration;
  const gchar *default_name;
} CwCloudFileKeys;

/* Describes the objects of @files (may be NULL) into @out (at most @max); an object without a
 * reference is left out. The strings are borrowed from @files. Returns how many. */
guint cw_cloud_describe_files (JsonArray *files, const CwCloudFileKeys *keys,
                               CwIntegrationAttachment *out, guint max);

/* The finish function of an adapter's fetch_attachment_async that ran a GTask returning the
 * GBytes. */
GBytes *cw_cloud_finish_bytes (CwIntegrationAdapter *adapter, GAsyncResult *result, GError **error);

G_END_DECLS
