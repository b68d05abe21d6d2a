/* cw-cloud-http.c: JSON requests and text splitting for the cloud adapters.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-cloud-http.h"

#include <string.h>

void
cw_cloud_reply_free (CwCloudReply *reply)
{
  if (reply == NULL)
    return;
  g_clear_pointer (&reply->body, json_node_unref);
  g_free (reply);
}

JsonObject *
cw_cloud_reply_object (CwCloudReply *reply)
{
  if (reply->body == NULL || !JSON_NODE_HOLDS_OBJECT (reply->body))
    return NULL;
  return json_node_get_object (reply->body);
}

/* libsoup's default of two connections a host leaves one beside a long poll: replies, edits
 * and typing notices then wait in the session's queue, and libsoup walks the whole queue on
 * every step of every request, so a busy chat costs more per message the busier it is. */
#define CONNS_PER_HOST 6

SoupSession *
cw_cloud_session_new (guint timeout_s)
{
  return soup_session_new_with_options ("timeout", timeout_s, "idle-timeout", 60, "user-agent",
                                        "coworkd-integrations", "max-conns-per-host",
                                        CONNS_PER_HOST, NULL);
}

static void
on_read (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  SoupMessage *msg = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) bytes
      = soup_session_send_and_read_finish (SOUP_SESSION (source), result, &error);
  CwCloudReply *reply;
  const gchar *retry;

  if (bytes == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  reply = g_new0 (CwCloudReply, 1);
  reply->status = soup_message_get_status (msg);
  reply->retry_after_ms = -1;
  retry = soup_message_headers_get_one (soup_message_get_response_headers (msg), "Retry-After");
  if (retry != NULL)
    reply->retry_after_ms = (gint64) (g_ascii_strtod (retry, NULL) * 1000);
  if (g_bytes_get_size (bytes) > 0)
    {
      g_autoptr (JsonParser) parser = json_parser_new ();
      if (json_parser_load_from_data (parser, g_bytes_get_data (bytes, NULL),
                                      g_bytes_get_size (bytes), NULL)
          && json_parser_get_root (parser) != NULL)
        reply->body = json_node_copy (json_parser_get_root (parser));
    }
  g_task_return_pointer (task, reply, (GDestroyNotify) cw_cloud_reply_free);
}

/* A task for @method @url with @authorization, or NULL after failing it (a bad URL). */
static GTask *
request_new (const gchar *method, const gchar *url, const gchar *authorization,
             GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task = g_task_new (NULL, cancellable, callback, user_data);
  SoupMessage *msg = soup_message_new (method, url);

  if (msg == NULL)
    {
      /* not the URL itself: Telegram's holds the bot token, BlueBubbles' the password */
      g_task_return_new_error (task, CW_ERROR, CW_ERROR_INVALID_PARAMS,
                               "invalid URL (check the configured server address)");
      g_object_unref (task);
      return NULL;
    }
  g_task_set_task_data (task, msg, g_object_unref);
  if (authorization != NULL)
    soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization",
                                  authorization);
  return task;
}

static void
request_send (SoupSession *session, GTask *task)
{
  soup_session_send_and_read_async (session, g_task_get_task_data (task), G_PRIORITY_DEFAULT,
                                    g_task_get_cancellable (task), on_read, task);
}

void
cw_cloud_request_async (SoupSession *session, const gchar *method, const gchar *url,
                        const gchar *authorization, JsonObject *body, const gchar *form,
                        GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task = request_new (method, url, authorization, cancellable, callback, user_data);
  SoupMessage *msg;

  if (task == NULL)
    return;
  msg = g_task_get_task_data (task);
  if (form != NULL)
    {
      g_autoptr (GBytes) bytes = g_bytes_new (form, strlen (form));
      soup_message_set_request_body_from_bytes (msg, "application/x-www-form-urlencoded", bytes);
    }
  else if (body != NULL)
    {
      g_autoptr (JsonNode) node = json_node_init_object (json_node_alloc (), body);
      gsize length;
      gchar *text = json_to_string (node, FALSE);
      g_autoptr (GBytes) bytes = NULL;
      length = strlen (text);
      bytes = g_bytes_new_take (text, length);
      soup_message_set_request_body_from_bytes (msg, "application/json", bytes);
    }
  request_send (session, task);
}

void
cw_cloud_request_bytes_async (SoupSession *session, const gchar *method, const gchar *url,
                              const gchar *authorization, const gchar *content_type, GBytes *bytes,
                              GCancellable *cancellable, GAsyncReadyCallback callback,
                              gpointer user_data)
{
  GTask *task = request_new (method, url, authorization, cancellable, callback, user_data);

  if (task == NULL)
    return;
  soup_message_set_request_body_from_bytes (g_task_get_task_data (task), content_type, bytes);
  request_send (session, task);
}

void
cw_cloud_post_media (SoupSession *session, const gchar *url, const gchar *authorization,
                     const gchar *file_part, const CwIntegrationMedia *media,
                     GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data,
                     const gchar *first_field, ...)
{
  GTask *task = request_new ("POST", url, authorization, cancellable, callback, user_data);
  g_autoptr (SoupMultipart) multipart = NULL;
  g_autofree gchar *filename = NULL;
  g_autoptr (GBytes) body = NULL;
  SoupMessage *msg;
  va_list args;

  if (task == NULL)
    return;
  multipart = soup_multipart_new (SOUP_FORM_MIME_TYPE_MULTIPART);
  va_start (args, first_field);
  for (const gchar *name = first_field; name != NULL; name = va_arg (args, const gchar *))
    {
      const gchar *value = va_arg (args, const gchar *);
      if (value != NULL)
        soup_multipart_append_form_string (multipart, name, value);
    }
  va_end (args);
  filename = cw_integration_media_filename (media);
  soup_multipart_append_form_file (multipart, file_part, filename, media->mime_type, media->data);
  msg = g_task_get_task_data (task);
  soup_multipart_to_message (multipart, soup_message_get_request_headers (msg), &body);
  soup_message_set_request_body_from_bytes (msg, NULL, body);
  request_send (session, task);
}

CwCloudReply *
cw_cloud_request_finish (GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

GStrv
cw_cloud_split_text (const gchar *text, guint max_chars)
{
  GPtrArray *parts = g_ptr_array_new ();
  const gchar *p = text != NULL ? text : "";

  g_return_val_if_fail (max_chars > 0, NULL);
  while (g_utf8_strlen (p, -1) > (glong) max_chars)
    {
      const gchar *limit = g_utf8_offset_to_pointer (p, max_chars);
      const gchar *floor = g_utf8_offset_to_pointer (p, max_chars - max_chars / 5);
      const gchar *cut = NULL;

      for (const gchar *q = limit; q > floor && cut == NULL; q = g_utf8_prev_char (q))
        if (*q == '\n')
          cut = q;
      for (const gchar *q = limit; q > floor && cut == NULL; q = g_utf8_prev_char (q))
        if (*q == ' ')
          cut = q;
      if (cut == NULL)
        cut = limit;
      g_ptr_array_add (parts, g_strndup (p, cut - p));
      p = cut;
      if (*p == '\n' || *p == ' ')
        p++;
    }
  if (*p != '\0' || parts->len == 0)
    g_ptr_array_add (parts, g_strdup (p));
  g_ptr_array_add (parts, NULL);
  return (GStrv) g_ptr_array_free (parts, FALSE);
}

const gchar *
cw_cloud_reply_to (JsonObject *reply_data, const gchar *key)
{
  return cw_integration_config_get_string (reply_data, key);
}

gchar *
cw_cloud_member_text (JsonObject *object, const gchar *name)
{
  JsonNode *node = object != NULL ? json_object_get_member (object, name) : NULL;

  if (node == NULL || JSON_NODE_TYPE (node) != JSON_NODE_VALUE)
    return NULL;
  switch (json_node_get_value_type (node))
    {
      case G_TYPE_STRING:
        return g_strdup (json_node_get_string (node));
      case G_TYPE_INT64:
        return g_strdup_printf ("%" G_GINT64_FORMAT, json_node_get_int (node));
      case G_TYPE_DOUBLE:
        return g_strdup_printf ("%.0f", json_node_get_double (node));
      default:
        return NULL;
    }
}

GError *
cw_cloud_reply_error (CwCloudReply *reply, const gchar *what, const gchar *detail)
{
  gint code
      = reply->status == 401 || reply->status == 403 ? CW_ERROR_UNAUTHORIZED : CW_ERROR_FAILED;

  return g_error_new (CW_ERROR, code, "%s failed: HTTP %u%s%s", what, reply->status,
                      detail != NULL ? ": " : "", detail != NULL ? detail : "");
}

gboolean
cw_cloud_finish_boolean (CwIntegrationAdapter *adapter, GAsyncResult *result, GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

gchar *
cw_cloud_finish_id (CwIntegrationAdapter *adapter, GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

gboolean
cw_cloud_finish_health (CwIntegrationAdapter *adapter, GAsyncResult *result,
                        gboolean *requires_reconnect, GError **error)
{
  if (requires_reconnect != NULL)
    *requires_reconnect = GPOINTER_TO_INT (g_task_get_task_data (G_TASK (result)));
  return g_task_propagate_boolean (G_TASK (result), error);
}
