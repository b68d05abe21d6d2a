/* cw-cloud-download.c: see cw-cloud-download.h.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-cloud-download.h"

#include "cw-cloud-task.h"

#include <string.h>

#define CHUNK 65536

typedef struct
{
  SoupMessage *msg;
  GInputStream *body;
  GByteArray *data;
  gint64 max_bytes;
} Download;

static void
download_free (Download *d)
{
  g_clear_object (&d->msg);
  g_clear_object (&d->body);
  g_clear_pointer (&d->data, g_byte_array_unref);
  g_free (d);
}

static GError *
too_large (gint64 max_bytes)
{
  return g_error_new (G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE,
                      "the file is larger than %" G_GINT64_FORMAT " bytes", max_bytes);
}

static void read_more (GTask *task);

static void
on_chunk (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  Download *d = g_task_get_task_data (task);
  GError *error = NULL;
  g_autoptr (GBytes) chunk
      = g_input_stream_read_bytes_finish (G_INPUT_STREAM (source), result, &error);

  if (chunk == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  if (g_bytes_get_size (chunk) == 0)
    {
      g_task_return_pointer (task, g_byte_array_free_to_bytes (g_steal_pointer (&d->data)),
                             (GDestroyNotify) g_bytes_unref);
      return;
    }
  if ((gint64) (d->data->len + g_bytes_get_size (chunk)) > d->max_bytes)
    {
      g_task_return_error (task, too_large (d->max_bytes));
      return;
    }
  g_byte_array_append (d->data, g_bytes_get_data (chunk, NULL), g_bytes_get_size (chunk));
  read_more (g_steal_pointer (&task));
}

static void
read_more (GTask *task)
{
  Download *d = g_task_get_task_data (task);

  g_input_stream_read_bytes_async (d->body, CHUNK, G_PRIORITY_DEFAULT,
                                   g_task_get_cancellable (task), on_chunk, task);
}

static void
on_sent (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  Download *d = g_task_get_task_data (task);
  GError *error = NULL;
  guint status;
  goffset length;

  d->body = soup_session_send_finish (SOUP_SESSION (source), result, &error);
  if (d->body == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  status = soup_message_get_status (d->msg);
  if (!SOUP_STATUS_IS_SUCCESSFUL (status))
    {
      g_task_return_new_error (
          task, CW_ERROR, status == 401 || status == 403 ? CW_ERROR_UNAUTHORIZED : CW_ERROR_FAILED,
          "the download failed: HTTP %u", status);
      return;
    }
  length = soup_message_headers_get_content_length (soup_message_get_response_headers (d->msg));
  if (length > d->max_bytes)
    {
      g_task_return_error (task, too_large (d->max_bytes));
      return;
    }
  d->data = g_byte_array_sized_new (length > 0 ? (guint) length : CHUNK);
  read_more (g_steal_pointer (&task));
}

void
cw_cloud_download_async (SoupSession *session, const gchar *url, const gchar *authorization,
                         gint64 max_bytes, GCancellable *cancellable, GAsyncReadyCallback callback,
                         gpointer user_data)
{
  GTask *task = g_task_new (NULL, cancellable, callback, user_data);
  Download *d = g_new0 (Download, 1);

  g_task_set_task_data (task, d, (GDestroyNotify) download_free);
  d->max_bytes = max_bytes;
  d->msg = soup_message_new ("GET", url);
  if (d->msg == NULL)
    {
      g_task_return_new_error (task, CW_ERROR, CW_ERROR_INVALID_PARAMS,
                               "the attachment's URL is not valid");
      g_object_unref (task);
      return;
    }
  if (authorization != NULL)
    soup_message_headers_replace (soup_message_get_request_headers (d->msg), "Authorization",
                                  authorization);
  soup_session_send_async (session, d->msg, G_PRIORITY_DEFAULT, cancellable, on_sent, task);
}

GBytes *
cw_cloud_download_finish (GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
on_downloaded (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  GError *error = NULL;
  GBytes *bytes = cw_cloud_download_finish (result, &error);

  if (bytes == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, bytes, (GDestroyNotify) g_bytes_unref);
}

void
cw_cloud_download_into (GTask *task, SoupSession *session, const gchar *url,
                        const gchar *authorization, gint64 max_bytes)
{
  cw_cloud_download_async (session, url, authorization, max_bytes, g_task_get_cancellable (task),
                           on_downloaded, task);
}

void
cw_cloud_fetch_url (CwIntegrationAdapter *adapter, SoupSession *session, const gchar *platform,
                    const gchar *url, const gchar *authorization, gint64 max_bytes,
                    GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task = g_task_new (adapter, cancellable, callback, user_data);

  if (cw_cloud_not_connected (task, session, platform))
    return;
  cw_cloud_download_into (task, session, url, authorization, max_bytes);
}

GTask *
cw_cloud_fetch_task_new (gpointer adapter, gint64 max_bytes, GCancellable *cancellable,
                         GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task = g_task_new (adapter, cancellable, callback, user_data);

  g_task_set_task_data (task, GSIZE_TO_POINTER ((gsize) max_bytes), NULL);
  return task;
}

gint64
cw_cloud_fetch_max (GTask *task)
{
  return GPOINTER_TO_SIZE (g_task_get_task_data (task));
}

gboolean
cw_cloud_fetch_too_large (GTask *task, gint64 size)
{
  if (size <= cw_cloud_fetch_max (task))
    return FALSE;
  g_task_return_error (task, too_large (cw_cloud_fetch_max (task)));
  return TRUE;
}

gboolean
cw_cloud_url_on_host (const gchar *url, const gchar *host)
{
  g_autoptr (GUri) uri = url != NULL ? g_uri_parse (url, G_URI_FLAGS_NONE, NULL) : NULL;
  const gchar *have = uri != NULL ? g_uri_get_host (uri) : NULL;
  gsize n, m;

  if (have == NULL || host == NULL)
    return FALSE;
  if (g_ascii_strcasecmp (have, host) == 0)
    return TRUE;
  n = strlen (have);
  m = strlen (host);
  return n > m + 1 && have[n - m - 1] == '.' && g_ascii_strcasecmp (have + n - m, host) == 0;
}

static const gchar *
file_string (JsonObject *file, const gchar *key)
{
  return key != NULL ? cw_integration_config_get_string (file, key) : NULL;
}

static gint64
file_int (JsonObject *file, const gchar *key, gint64 fallback)
{
  JsonNode *node = key != NULL ? json_object_get_member (file, key) : NULL;

  if (node == NULL || JSON_NODE_TYPE (node) != JSON_NODE_VALUE)
    return fallback;
  if (json_node_get_value_type (node) == G_TYPE_DOUBLE)
    return (gint64) json_node_get_double (node);
  if (json_node_get_value_type (node) == G_TYPE_INT64)
    return json_node_get_int (node);
  if (json_node_get_value_type (node) == G_TYPE_STRING)
    return g_ascii_strtoll (json_node_get_string (node), NULL, 10);
  return fallback;
}

guint
cw_cloud_describe_files (JsonArray *files, const CwCloudFileKeys *keys,
                         CwIntegrationAttachment *out, guint max)
{
  guint n = 0;

  for (guint i = 0; files != NULL && i < json_array_get_length (files) && n < max; i++)
    {
      JsonObject *file = json_array_get_object_element (files, i);
      const gchar *ref, *mime, *name;
      if (file == NULL)
        continue;
      ref = file_string (file, keys->ref);
      if (ref == NULL)
        ref = file_string (file, keys->ref_fallback);
      if (ref == NULL)
        continue;
      mime = file_string (file, keys->mime_type);
      name = file_string (file, keys->name);
      out[n++] = (CwIntegrationAttachment){
        .type = cw_integration_attachment_type (mime),
        .name = name != NULL && *name != '\0' ? name : keys->default_name,
        .mime_type = mime,
        .size = file_int (file, keys->size, -1),
        .duration_s = file_int (file, keys->duration, 0),
        .ref = ref,
      };
    }
  return n;
}

GBytes *
cw_cloud_finish_bytes (CwIntegrationAdapter *adapter, GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}
