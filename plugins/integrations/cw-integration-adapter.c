/* cw-integration-adapter.c: the adapter base class: defaults and the calls back into the core.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-integration-adapter.h"

#include <string.h>

typedef struct
{
  CwPlugin *plugin; /* not owned: the plugin outlives its adapters */
  gchar *platform;
  const CwIntegrationCoreFuncs *funcs;
  gpointer core;
  gchar *identity_name;
  gchar *identity_phone;
  gboolean lost; /* reported lost since the last round trip */
} CwIntegrationAdapterPrivate;

G_DEFINE_ABSTRACT_TYPE_WITH_PRIVATE (CwIntegrationAdapter, cw_integration_adapter, G_TYPE_OBJECT)

#define PRIV(self)                                                                                 \
  ((CwIntegrationAdapterPrivate *) cw_integration_adapter_get_instance_private (self))

static void
cw_integration_adapter_finalize (GObject *object)
{
  CwIntegrationAdapterPrivate *priv = PRIV (CW_INTEGRATION_ADAPTER (object));

  g_free (priv->platform);
  g_free (priv->identity_name);
  g_free (priv->identity_phone);
  G_OBJECT_CLASS (cw_integration_adapter_parent_class)->finalize (object);
}

static void
default_health_async (CwIntegrationAdapter *self, GCancellable *cancellable,
                      GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);

  if (PRIV (self)->lost)
    g_task_return_new_error (task, CW_ERROR, CW_ERROR_FAILED, "the connection was lost");
  else
    g_task_return_boolean (task, TRUE);
}

static gboolean
default_health_finish (CwIntegrationAdapter *self, GAsyncResult *result,
                       gboolean *requires_reconnect, GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static gboolean
default_recover (CwIntegrationAdapter *self, const gchar *mode, GError **error)
{
  g_set_error (error, CW_ERROR, CW_ERROR_NOT_SUPPORTED, "%s has no recovery mode",
               cw_integration_adapter_get_platform (self));
  return FALSE;
}

static void
cw_integration_adapter_class_init (CwIntegrationAdapterClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = cw_integration_adapter_finalize;
  klass->check_health_async = default_health_async;
  klass->check_health_finish = default_health_finish;
  klass->recover = default_recover;
}

static void
cw_integration_adapter_init (CwIntegrationAdapter *self)
{
}

/* ---- the core's side ---------------------------------------------------------------- */

void
cw_integration_adapter_attach (CwIntegrationAdapter *self, CwPlugin *plugin, const gchar *platform,
                               const CwIntegrationCoreFuncs *funcs, gpointer core)
{
  CwIntegrationAdapterPrivate *priv = PRIV (self);

  priv->plugin = plugin;
  g_free (priv->platform);
  priv->platform = g_strdup (platform);
  priv->funcs = funcs;
  priv->core = core;
}

void
cw_integration_adapter_detach (CwIntegrationAdapter *self)
{
  PRIV (self)->funcs = NULL;
  PRIV (self)->core = NULL;
}

const gchar *
cw_integration_adapter_get_platform (CwIntegrationAdapter *self)
{
  return PRIV (self)->platform;
}

CwPlugin *
cw_integration_adapter_get_plugin (CwIntegrationAdapter *self)
{
  return PRIV (self)->plugin;
}

const gchar *
cw_integration_adapter_get_identity_name (CwIntegrationAdapter *self)
{
  return PRIV (self)->identity_name;
}

const gchar *
cw_integration_adapter_get_identity_phone (CwIntegrationAdapter *self)
{
  return PRIV (self)->identity_phone;
}

CwIntegrationCaps
cw_integration_adapter_get_caps (CwIntegrationAdapter *self)
{
  return CW_INTEGRATION_ADAPTER_GET_CLASS (self)->caps;
}

/* ---- the adapter's side ------------------------------------------------------------- */

gboolean
cw_integration_adapter_receive (CwIntegrationAdapter *self, const CwIntegrationInbound *message,
                                gboolean *duplicate, GError **error)
{
  CwIntegrationAdapterPrivate *priv = PRIV (self);
  gboolean dup = FALSE;

  if (duplicate != NULL)
    *duplicate = FALSE;
  if (priv->funcs == NULL)
    {
      g_set_error (error, CW_ERROR, CW_ERROR_FAILED, "%s is disconnected", priv->platform);
      return FALSE;
    }
  if (message->message_id == NULL || *message->message_id == '\0' || message->chat_id == NULL
      || message->sender_id == NULL)
    {
      g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS,
                   "an inbound message needs a message id, a chat id and a sender id");
      return FALSE;
    }
  if (!priv->funcs->receive (priv->core, self, message, &dup, error))
    return FALSE;
  if (duplicate != NULL)
    *duplicate = dup;
  return TRUE;
}

gchar *
cw_integration_adapter_get_state (CwIntegrationAdapter *self, const gchar *key)
{
  CwIntegrationAdapterPrivate *priv = PRIV (self);

  return priv->funcs != NULL ? priv->funcs->get_state (priv->core, self, key) : NULL;
}

gboolean
cw_integration_adapter_set_state (CwIntegrationAdapter *self, const gchar *key, const gchar *value,
                                  GError **error)
{
  CwIntegrationAdapterPrivate *priv = PRIV (self);

  if (priv->funcs == NULL)
    {
      g_set_error (error, CW_ERROR, CW_ERROR_FAILED, "%s is disconnected", priv->platform);
      return FALSE;
    }
  return priv->funcs->set_state (priv->core, self, key, value, error);
}

void
cw_integration_adapter_report_round_trip (CwIntegrationAdapter *self)
{
  CwIntegrationAdapterPrivate *priv = PRIV (self);

  priv->lost = FALSE;
  if (priv->funcs != NULL)
    priv->funcs->round_trip (priv->core, self);
}

void
cw_integration_adapter_report_lost (CwIntegrationAdapter *self, const GError *error,
                                    gboolean requires_reconnect)
{
  CwIntegrationAdapterPrivate *priv = PRIV (self);

  priv->lost = TRUE;
  if (priv->funcs != NULL)
    priv->funcs->lost (priv->core, self, error, requires_reconnect);
}

void
cw_integration_adapter_set_identity (CwIntegrationAdapter *self, const gchar *name,
                                     const gchar *phone)
{
  CwIntegrationAdapterPrivate *priv = PRIV (self);

  g_free (priv->identity_name);
  priv->identity_name = g_strdup (name);
  g_free (priv->identity_phone);
  priv->identity_phone = g_strdup (phone);
  if (priv->funcs != NULL)
    priv->funcs->identity (priv->core, self);
}

void
cw_integration_adapter_set_qr (CwIntegrationAdapter *self, const gchar *data_url)
{
  CwIntegrationAdapterPrivate *priv = PRIV (self);

  if (priv->funcs != NULL)
    priv->funcs->qr (priv->core, self, data_url);
}

/* ---- wrappers ------------------------------------------------------------------------- */

void
cw_integration_adapter_connect_async (CwIntegrationAdapter *self, JsonObject *config,
                                      GCancellable *cancellable, GAsyncReadyCallback callback,
                                      gpointer user_data)
{
  PRIV (self)->lost = FALSE;
  CW_INTEGRATION_ADAPTER_GET_CLASS (self)->connect_async (self, config, cancellable, callback,
                                                          user_data);
}

gboolean
cw_integration_adapter_connect_finish (CwIntegrationAdapter *self, GAsyncResult *result,
                                       GError **error)
{
  return CW_INTEGRATION_ADAPTER_GET_CLASS (self)->connect_finish (self, result, error);
}

void
cw_integration_adapter_disconnect (CwIntegrationAdapter *self)
{
  CW_INTEGRATION_ADAPTER_GET_CLASS (self)->disconnect (self);
}

void
cw_integration_adapter_send_async (CwIntegrationAdapter *self, const CwIntegrationOutbound *message,
                                   GCancellable *cancellable, GAsyncReadyCallback callback,
                                   gpointer user_data)
{
  CW_INTEGRATION_ADAPTER_GET_CLASS (self)->send_async (self, message, cancellable, callback,
                                                       user_data);
}

gchar *
cw_integration_adapter_send_finish (CwIntegrationAdapter *self, GAsyncResult *result,
                                    GError **error)
{
  return CW_INTEGRATION_ADAPTER_GET_CLASS (self)->send_finish (self, result, error);
}

/* The contract's default sendMedia: the caption and the URL as text, or the caption and a
 * note when there is only a local file (the platform takes no uploads). */
static void
on_media_text_sent (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  GError *error = NULL;
  gchar *id = cw_integration_adapter_send_finish (CW_INTEGRATION_ADAPTER (source), result, &error);

  if (id != NULL)
    g_task_return_pointer (task, id, g_free);
  else
    g_task_return_error (task, error);
}

void
cw_integration_adapter_send_media_async (CwIntegrationAdapter *self,
                                         const CwIntegrationMedia *media, GCancellable *cancellable,
                                         GAsyncReadyCallback callback, gpointer user_data)
{
  CwIntegrationAdapterClass *klass = CW_INTEGRATION_ADAPTER_GET_CLASS (self);
  GTask *task;
  gchar *text;
  CwIntegrationOutbound outbound = { media->outbound_id, media->chat_id, NULL, media->reply_data };

  if (klass->send_media_async != NULL && media->data != NULL)
    {
      klass->send_media_async (self, media, cancellable, callback, user_data);
      return;
    }
  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, cw_integration_adapter_send_media_async);
  if (media->url != NULL && *media->url != '\0')
    text = g_strdup_printf ("%s: %s", media->caption, media->url);
  else
    text = g_strdup_printf ("%s (open the Cowork desktop app to see it)", media->caption);
  g_task_set_task_data (task, text, g_free);
  outbound.text = text;
  cw_integration_adapter_send_async (self, &outbound, cancellable, on_media_text_sent, task);
}

gchar *
cw_integration_adapter_send_media_finish (CwIntegrationAdapter *self, GAsyncResult *result,
                                          GError **error)
{
  if (g_async_result_is_tagged (result, cw_integration_adapter_send_media_async))
    return g_task_propagate_pointer (G_TASK (result), error);
  return CW_INTEGRATION_ADAPTER_GET_CLASS (self)->send_media_finish (self, result, error);
}

gchar *
cw_integration_media_filename (const CwIntegrationMedia *media)
{
  g_autofree gchar *type = NULL;
  const gchar *ext;

  if (media->path != NULL && *media->path != '\0')
    return g_path_get_basename (media->path);
  type = g_ascii_strdown (media->mime_type != NULL ? media->mime_type : "", -1);
  if (g_str_has_suffix (type, "/jpeg"))
    ext = "jpg";
  else if (g_str_has_prefix (type, "image/") || g_str_has_prefix (type, "video/"))
    ext = strchr (type, '/') + 1;
  else
    ext = g_strcmp0 (media->media_type, "video") == 0 ? "mp4" : "png";
  return g_strdup_printf ("%s.%s", g_strcmp0 (media->media_type, "video") == 0 ? "video" : "image",
                          ext);
}

void
cw_integration_adapter_edit_async (CwIntegrationAdapter *self, const gchar *chat_id,
                                   const gchar *message_id, const gchar *text,
                                   GCancellable *cancellable, GAsyncReadyCallback callback,
                                   gpointer user_data)
{
  CwIntegrationAdapterClass *klass = CW_INTEGRATION_ADAPTER_GET_CLASS (self);

  if (klass->edit_async == NULL || !(klass->caps & CW_INTEGRATION_CAP_EDIT))
    {
      g_task_report_new_error (self, callback, user_data, cw_integration_adapter_edit_async,
                               CW_ERROR, CW_ERROR_NOT_SUPPORTED, "%s cannot edit messages",
                               PRIV (self)->platform);
      return;
    }
  klass->edit_async (self, chat_id, message_id, text, cancellable, callback, user_data);
}

gboolean
cw_integration_adapter_edit_finish (CwIntegrationAdapter *self, GAsyncResult *result,
                                    GError **error)
{
  CwIntegrationAdapterClass *klass = CW_INTEGRATION_ADAPTER_GET_CLASS (self);

  if (g_async_result_is_tagged (result, cw_integration_adapter_edit_async))
    return g_task_propagate_boolean (G_TASK (result), error);
  return klass->edit_finish (self, result, error);
}

void
cw_integration_adapter_fetch_attachment_async (CwIntegrationAdapter *self, const gchar *ref,
                                               gint64 max_bytes, GCancellable *cancellable,
                                               GAsyncReadyCallback callback, gpointer user_data)
{
  CwIntegrationAdapterClass *klass = CW_INTEGRATION_ADAPTER_GET_CLASS (self);

  if (klass->fetch_attachment_async == NULL)
    {
      g_task_report_new_error (
          self, callback, user_data, cw_integration_adapter_fetch_attachment_async, CW_ERROR,
          CW_ERROR_NOT_SUPPORTED, "%s cannot fetch attachments", PRIV (self)->platform);
      return;
    }
  klass->fetch_attachment_async (self, ref, max_bytes, cancellable, callback, user_data);
}

GBytes *
cw_integration_adapter_fetch_attachment_finish (CwIntegrationAdapter *self, GAsyncResult *result,
                                                GError **error)
{
  CwIntegrationAdapterClass *klass = CW_INTEGRATION_ADAPTER_GET_CLASS (self);

  if (g_async_result_is_tagged (result, cw_integration_adapter_fetch_attachment_async))
    return g_task_propagate_pointer (G_TASK (result), error);
  return klass->fetch_attachment_finish (self, result, error);
}

void
cw_integration_adapter_typing (CwIntegrationAdapter *self, const gchar *chat_id)
{
  CwIntegrationAdapterClass *klass = CW_INTEGRATION_ADAPTER_GET_CLASS (self);

  if (klass->typing != NULL)
    klass->typing (self, chat_id);
}

void
cw_integration_adapter_check_health_async (CwIntegrationAdapter *self, GCancellable *cancellable,
                                           GAsyncReadyCallback callback, gpointer user_data)
{
  CW_INTEGRATION_ADAPTER_GET_CLASS (self)->check_health_async (self, cancellable, callback,
                                                               user_data);
}

gboolean
cw_integration_adapter_check_health_finish (CwIntegrationAdapter *self, GAsyncResult *result,
                                            gboolean *requires_reconnect, GError **error)
{
  gboolean dummy = FALSE;

  return CW_INTEGRATION_ADAPTER_GET_CLASS (self)->check_health_finish (
      self, result, requires_reconnect != NULL ? requires_reconnect : &dummy, error);
}

void
cw_integration_adapter_update_config (CwIntegrationAdapter *self, JsonObject *config)
{
  CwIntegrationAdapterClass *klass = CW_INTEGRATION_ADAPTER_GET_CLASS (self);

  if (klass->update_config != NULL)
    klass->update_config (self, config);
}

gboolean
cw_integration_adapter_recover (CwIntegrationAdapter *self, const gchar *mode, GError **error)
{
  return CW_INTEGRATION_ADAPTER_GET_CLASS (self)->recover (self, mode, error);
}

/* ---- config helpers ------------------------------------------------------------------- */

const gchar *
cw_integration_config_get_string (JsonObject *config, const gchar *name)
{
  JsonNode *node = config != NULL ? json_object_get_member (config, name) : NULL;

  if (node == NULL || JSON_NODE_TYPE (node) != JSON_NODE_VALUE
      || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

gint64
cw_integration_config_get_int (JsonObject *config, const gchar *name, gint64 fallback)
{
  JsonNode *node = config != NULL ? json_object_get_member (config, name) : NULL;

  if (node == NULL || JSON_NODE_TYPE (node) != JSON_NODE_VALUE)
    return fallback;
  if (json_node_get_value_type (node) == G_TYPE_INT64)
    return json_node_get_int (node);
  if (json_node_get_value_type (node) == G_TYPE_DOUBLE)
    return (gint64) json_node_get_double (node);
  return fallback;
}

gboolean
cw_integration_config_get_boolean (JsonObject *config, const gchar *name, gboolean fallback)
{
  JsonNode *node = config != NULL ? json_object_get_member (config, name) : NULL;

  if (node == NULL || JSON_NODE_TYPE (node) != JSON_NODE_VALUE
      || json_node_get_value_type (node) != G_TYPE_BOOLEAN)
    return fallback;
  return json_node_get_boolean (node);
}

gchar **
cw_integration_config_get_strv (JsonObject *config, const gchar *name)
{
  JsonNode *node = config != NULL ? json_object_get_member (config, name) : NULL;
  GPtrArray *out = g_ptr_array_new ();

  if (node != NULL && JSON_NODE_HOLDS_ARRAY (node))
    {
      JsonArray *arr = json_node_get_array (node);
      for (guint i = 0; i < json_array_get_length (arr); i++)
        {
          JsonNode *e = json_array_get_element (arr, i);
          if (JSON_NODE_TYPE (e) == JSON_NODE_VALUE
              && json_node_get_value_type (e) == G_TYPE_STRING)
            g_ptr_array_add (out, g_strdup (json_node_get_string (e)));
        }
    }
  g_ptr_array_add (out, NULL);
  return (gchar **) g_ptr_array_free (out, FALSE);
}

const gchar *
cw_integration_attachment_type (const gchar *mime_type)
{
  if (mime_type == NULL)
    return "file";
  if (g_ascii_strncasecmp (mime_type, "image/", 6) == 0)
    return "image";
  if (g_ascii_strncasecmp (mime_type, "audio/", 6) == 0)
    return "audio";
  if (g_ascii_strncasecmp (mime_type, "video/", 6) == 0)
    return "video";
  if (g_ascii_strcasecmp (mime_type, "application/pdf") == 0)
    return "pdf";
  return "file";
}
