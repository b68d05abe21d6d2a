/* cw-http-request.c: one HTTP exchange as a handler sees it. The handler answers once, now
 * or later; an answer after the time limit, after the client went away or after the owner
 * was disabled is refused (FALSE), never written into another exchange.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-http-private.h"

G_DEFINE_FINAL_TYPE (CwHttpRequest, cw_http_request, G_TYPE_OBJECT)

static void
cw_http_request_finalize (GObject *object)
{
  CwHttpRequest *self = CW_HTTP_REQUEST (object);

  g_clear_handle_id (&self->timeout_id, g_source_remove);
  g_clear_object (&self->msg);
  g_clear_object (&self->cancellable);
  g_free (self->path);
  g_free (self->owner);
  G_OBJECT_CLASS (cw_http_request_parent_class)->finalize (object);
}

static void
cw_http_request_class_init (CwHttpRequestClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = cw_http_request_finalize;
}

static void
cw_http_request_init (CwHttpRequest *self)
{
  self->cancellable = g_cancellable_new ();
}

CwHttpRequest *
cw_http_request_new (SoupServerMessage *msg)
{
  CwHttpRequest *self = g_object_new (CW_TYPE_HTTP_REQUEST, NULL);

  self->msg = g_object_ref (msg);
  return self;
}

void
cw_http_request_finish (CwHttpRequest *self)
{
  g_clear_handle_id (&self->timeout_id, g_source_remove);
  g_clear_object (&self->msg);
  g_cancellable_cancel (self->cancellable);
}

void
cw_http_request_wait (CwHttpRequest *self)
{
  if (self->msg != NULL && !self->responded && !self->paused)
    {
      self->paused = TRUE;
      soup_server_message_pause (self->msg);
    }
}

const gchar *
cw_http_request_get_method (CwHttpRequest *self)
{
  g_return_val_if_fail (CW_IS_HTTP_REQUEST (self), NULL);
  return self->msg != NULL ? soup_server_message_get_method (self->msg) : NULL;
}

const gchar *
cw_http_request_get_path (CwHttpRequest *self)
{
  g_return_val_if_fail (CW_IS_HTTP_REQUEST (self), NULL);
  return self->path;
}

const gchar *
cw_http_request_get_query (CwHttpRequest *self)
{
  g_return_val_if_fail (CW_IS_HTTP_REQUEST (self), NULL);
  return self->msg != NULL ? g_uri_get_query (soup_server_message_get_uri (self->msg)) : NULL;
}

SoupMessageHeaders *
cw_http_request_get_headers (CwHttpRequest *self)
{
  g_return_val_if_fail (CW_IS_HTTP_REQUEST (self), NULL);
  return self->msg != NULL ? soup_server_message_get_request_headers (self->msg) : NULL;
}

SoupMessageHeaders *
cw_http_request_get_response_headers (CwHttpRequest *self)
{
  g_return_val_if_fail (CW_IS_HTTP_REQUEST (self), NULL);
  return self->msg != NULL ? soup_server_message_get_response_headers (self->msg) : NULL;
}

GBytes *
cw_http_request_get_body (CwHttpRequest *self)
{
  SoupMessageBody *body;

  g_return_val_if_fail (CW_IS_HTTP_REQUEST (self), NULL);
  if (self->msg == NULL || (body = soup_server_message_get_request_body (self->msg)) == NULL)
    return g_bytes_new (NULL, 0);
  return soup_message_body_flatten (body);
}

gchar *
cw_http_request_get_remote_address (CwHttpRequest *self)
{
  GSocketAddress *address;

  g_return_val_if_fail (CW_IS_HTTP_REQUEST (self), NULL);
  if (self->msg == NULL)
    return NULL;
  address = soup_server_message_get_remote_address (self->msg);
  if (!G_IS_INET_SOCKET_ADDRESS (address))
    return NULL;
  return g_inet_address_to_string (
      g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (address)));
}

GCancellable *
cw_http_request_get_cancellable (CwHttpRequest *self)
{
  g_return_val_if_fail (CW_IS_HTTP_REQUEST (self), NULL);
  return self->cancellable;
}

gboolean
cw_http_request_is_finished (CwHttpRequest *self)
{
  g_return_val_if_fail (CW_IS_HTTP_REQUEST (self), TRUE);
  return self->msg == NULL || self->responded;
}

gboolean
cw_http_request_respond (CwHttpRequest *self, guint status, const gchar *content_type, GBytes *body)
{
  gsize len = 0;
  const gchar *data = NULL;

  g_return_val_if_fail (CW_IS_HTTP_REQUEST (self), FALSE);
  g_return_val_if_fail (status >= 100 && status < 600, FALSE);
  if (cw_http_request_is_finished (self))
    return FALSE;
  self->responded = TRUE;
  if (body != NULL)
    data = g_bytes_get_data (body, &len);
  soup_server_message_set_status (self->msg, status, NULL);
  if (content_type != NULL || len > 0)
    soup_server_message_set_response (
        self->msg, content_type != NULL ? content_type : "application/octet-stream",
        SOUP_MEMORY_COPY, data, len);
  if (self->paused)
    {
      self->paused = FALSE;
      soup_server_message_unpause (self->msg);
    }
  return TRUE;
}

gboolean
cw_http_request_respond_json (CwHttpRequest *self, guint status, JsonNode *body)
{
  g_autofree gchar *text = NULL;
  g_autoptr (GBytes) bytes = NULL;
  gsize len;

  g_return_val_if_fail (CW_IS_HTTP_REQUEST (self), FALSE);
  text = body != NULL ? cw_json_to_string (body) : g_strdup ("null");
  if (body != NULL)
    json_node_unref (body);
  len = strlen (text);
  bytes = g_bytes_new_take (g_steal_pointer (&text), len);
  return cw_http_request_respond (self, status, "application/json", bytes);
}

gboolean
cw_http_request_respond_error (CwHttpRequest *self, guint status, const gchar *message)
{
  GString *text = g_string_new ("{\"error\":");
  g_autoptr (GBytes) bytes = NULL;

  g_return_val_if_fail (CW_IS_HTTP_REQUEST (self), FALSE);
  cw_json_append_string (text, message != NULL ? message : soup_status_get_phrase (status));
  g_string_append_c (text, '}');
  bytes = g_string_free_to_bytes (text);
  return cw_http_request_respond (self, status, "application/json", bytes);
}

gboolean
cw_http_request_fail (CwHttpRequest *self, guint status, const gchar *message)
{
  gboolean sent = cw_http_request_respond_error (self, status, message);

  g_cancellable_cancel (self->cancellable);
  return sent;
}
