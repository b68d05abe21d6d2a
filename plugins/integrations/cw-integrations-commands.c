/* cw-integrations-commands.c: the integration_* commands (contract §3.2).
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-integrations-plugin.h"

#define DEFAULT_TEST_MESSAGE "Hello from Cowork!"
#define HEALTH_CACHE_MS      15000

static void
return_success (CwInvocation *inv)
{
  JsonObject *result = json_object_new ();

  json_object_set_boolean_member (result, "success", TRUE);
  cw_invocation_return_object (inv, result);
}

/* The link named by params.platform, or NULL after answering with the contract's error. */
static CwIntegrationsLink *
link_from_invocation (CwIntegrationsPlugin *self, CwInvocation *inv)
{
  g_autoptr (GError) error = NULL;
  const gchar *id = cw_invocation_get_string (inv, "platform", TRUE, &error);

  if (id == NULL || cw_integrations_platform_get (id, &error) == NULL)
    {
      cw_invocation_return_error (inv, g_steal_pointer (&error));
      return NULL;
    }
  return cw_integrations_plugin_get_link (self, id);
}

static JsonObject *
object_param (CwInvocation *inv, const gchar *name, gboolean *bad)
{
  JsonNode *node = json_object_get_member (cw_invocation_get_params (inv), name);

  *bad = FALSE;
  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return NULL;
  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      *bad = TRUE;
      cw_invocation_return_new_error (inv, CW_ERROR_INVALID_PARAMS, "%s must be an object", name);
      return NULL;
    }
  return json_node_get_object (node);
}

/* ---- statuses --------------------------------------------------------------------------- */

static void
refresh_health (CwIntegrationsLink *link)
{
  if (link->connected && cw_now_ms () - link->last_health_check_at > HEALTH_CACHE_MS)
    cw_integrations_link_check_health (link);
}

static void
cmd_list_statuses (CwInvocation *inv, gpointer user_data)
{
  CwIntegrationsPlugin *self = CW_INTEGRATIONS_PLUGIN (user_data);
  JsonArray *out = json_array_new ();
  JsonNode *node;

  for (const CwIntegrationPlatform *p = cw_integrations_platforms (); p->id != NULL; p++)
    {
      CwIntegrationsLink *link = cw_integrations_plugin_get_link (self, p->id);
      refresh_health (link);
      json_array_add_object_element (out, cw_integrations_link_status (link));
    }
  node = json_node_init_array (json_node_alloc (), out);
  json_array_unref (out);
  cw_invocation_return_value (inv, node);
}

static void
cmd_get_status (CwInvocation *inv, gpointer user_data)
{
  CwIntegrationsLink *link = link_from_invocation (user_data, inv);

  if (link == NULL)
    return;
  refresh_health (link);
  cw_invocation_return_object (inv, cw_integrations_link_status (link));
}

/* ---- connect, disconnect ------------------------------------------------------------------ */

static void
op_connect (CwIntegrationsLink *link, CwInvocation *inv, gpointer data)
{
  cw_integrations_link_connect (link, inv);
}

static void
cmd_connect (CwInvocation *inv, gpointer user_data)
{
  CwIntegrationsLink *link = link_from_invocation (user_data, inv);
  gboolean bad;

  if (link == NULL)
    return;
  object_param (inv, "config", &bad);
  if (bad)
    return;
  cw_integrations_link_queue_op (link, op_connect, inv, NULL, NULL);
}

static void
on_forgotten (CwIntegrationsLink *link, GError *error, gpointer data)
{
  CwInvocation *inv = data;
  g_autoptr (GError) local = NULL;

  if (error != NULL)
    cw_invocation_return_error (inv, g_error_copy (error));
  else if (!cw_integrations_store_delete_platform (link->plugin->store, link->platform->id, &local))
    cw_invocation_return_error (inv, g_steal_pointer (&local));
  else
    {
      return_success (inv);
      cw_integrations_link_emit_status (link);
    }
  g_object_unref (inv);
  cw_integrations_link_op_done (link);
}

static void
op_disconnect (CwIntegrationsLink *link, CwInvocation *inv, gpointer data)
{
  g_autoptr (JsonObject) cleared = json_object_new ();

  cw_integrations_link_disconnect (link);
  /* The config goes with its secrets, so nothing reconnects at the next start. */
  for (const CwIntegrationField *f = link->platform->fields; f->name != NULL; f++)
    if (f->secret)
      json_object_set_string_member (cleared, f->name, "");
  cw_integrations_link_save_config (link, cleared, FALSE, on_forgotten, g_object_ref (inv));
}

static void
cmd_disconnect (CwInvocation *inv, gpointer user_data)
{
  CwIntegrationsLink *link = link_from_invocation (user_data, inv);

  if (link != NULL)
    cw_integrations_link_queue_op (link, op_disconnect, inv, NULL, NULL);
}

static void
op_recover (CwIntegrationsLink *link, CwInvocation *inv, gpointer data)
{
  g_autoptr (GError) error = NULL;
  const gchar *mode = cw_invocation_get_string (inv, "mode", FALSE, &error);

  if (mode == NULL && error == NULL)
    mode = "soft";
  if (error == NULL && !g_str_equal (mode, "soft") && !g_str_equal (mode, "hard"))
    g_set_error (&error, CW_ERROR, CW_ERROR_INVALID_PARAMS, "mode must be soft or hard");
  if (error == NULL && link->platform->get_type == NULL)
    g_set_error (&error, CW_ERROR, CW_ERROR_NOT_SUPPORTED,
                 "%s is not supported by this build of coworkd: its adapter is not available",
                 link->platform->display_name);
  if (error == NULL && link->adapter == NULL)
    g_set_error (&error, CW_ERROR, CW_ERROR_FAILED, "%s is not connected", link->platform->id);
  if (error == NULL)
    cw_integration_adapter_recover (link->adapter, mode, &error);
  if (error != NULL)
    cw_invocation_return_error (inv, g_steal_pointer (&error));
  else
    cw_invocation_return_object (inv, cw_integrations_link_status (link));
  cw_integrations_link_op_done (link);
}

static void
cmd_recover_whatsapp (CwInvocation *inv, gpointer user_data)
{
  CwIntegrationsPlugin *self = CW_INTEGRATIONS_PLUGIN (user_data);

  cw_integrations_link_queue_op (cw_integrations_plugin_get_link (self, "whatsapp"), op_recover,
                                 inv, NULL, NULL);
}

static void
cmd_get_qr (CwInvocation *inv, gpointer user_data)
{
  CwIntegrationsPlugin *self = CW_INTEGRATIONS_PLUGIN (user_data);
  JsonObject *result = json_object_new ();

  if (self->qr != NULL)
    json_object_set_string_member (result, "qrDataUrl", self->qr);
  else
    json_object_set_null_member (result, "qrDataUrl");
  cw_invocation_return_object (inv, result);
}

/* ---- config -------------------------------------------------------------------------------- */

static void
on_configured (CwIntegrationsLink *link, GError *error, gpointer data)
{
  CwInvocation *inv = data;

  if (error != NULL)
    cw_invocation_return_error (inv, g_error_copy (error));
  else
    {
      gboolean enabled;
      g_autoptr (JsonObject) config = NULL;

      if (link->adapter != NULL
          && cw_integrations_store_get_platform (link->plugin->store, link->platform->id, &enabled,
                                                 &config, NULL))
        {
          g_autoptr (JsonObject) full
              = cw_integrations_config_with_defaults (link->platform, config);
          cw_integration_adapter_update_config (link->adapter, full);
        }
      return_success (inv);
      cw_integrations_link_emit_status (link);
    }
  g_object_unref (inv);
  cw_integrations_link_op_done (link);
}

static void
op_configure (CwIntegrationsLink *link, CwInvocation *inv, gpointer data)
{
  gboolean bad;
  JsonObject *input = object_param (inv, "config", &bad);
  g_autoptr (JsonObject) stored = NULL;
  g_autoptr (JsonObject) merged = NULL;
  g_autoptr (GError) error = NULL;

  if (bad)
    {
      cw_integrations_link_op_done (link);
      return;
    }
  if (!cw_integrations_store_get_platform (link->plugin->store, link->platform->id, NULL, &stored,
                                           NULL))
    stored = json_object_new ();
  merged = cw_integrations_config_merge (link->platform, stored, input, &error);
  if (merged == NULL)
    {
      cw_invocation_return_error (inv, g_steal_pointer (&error));
      cw_integrations_link_op_done (link);
      return;
    }
  /* Secrets not given stay as they are; given ones are in merged and get stored. */
  cw_integrations_link_save_config (link, merged, TRUE, on_configured, g_object_ref (inv));
}

static void
cmd_configure (CwInvocation *inv, gpointer user_data)
{
  CwIntegrationsLink *link = link_from_invocation (user_data, inv);

  if (link != NULL)
    cw_integrations_link_queue_op (link, op_configure, inv, NULL, NULL);
}

static void
cmd_get_config (CwInvocation *inv, gpointer user_data)
{
  CwIntegrationsPlugin *self = CW_INTEGRATIONS_PLUGIN (user_data);
  CwIntegrationsLink *link = link_from_invocation (self, inv);
  g_autoptr (JsonObject) config = NULL;
  g_auto (GStrv) secrets = NULL;
  gboolean enabled = FALSE;
  JsonObject *result, *has;

  if (link == NULL)
    return;
  if (!cw_integrations_store_get_platform (self->store, link->platform->id, &enabled, &config,
                                           &secrets))
    {
      cw_invocation_return_value (inv, NULL);
      return;
    }
  has = json_object_new ();
  for (const CwIntegrationField *f = link->platform->fields; f->name != NULL; f++)
    if (f->secret)
      {
        gboolean present = g_strv_contains ((const gchar *const *) secrets, f->name);
        json_object_set_boolean_member (has, f->name, present);
        if (present)
          json_object_set_string_member (config, f->name, CW_INTEGRATIONS_SECRET_MASK);
      }
  result = json_object_new ();
  json_object_set_string_member (result, "platform", link->platform->id);
  json_object_set_boolean_member (result, "enabled", enabled);
  json_object_set_object_member (result, "config", json_object_ref (config));
  json_object_set_boolean_member (result, "hasSecret", g_strv_length (secrets) > 0);
  json_object_set_object_member (result, "secrets", has);
  cw_invocation_return_object (inv, result);
}

/* ---- settings -------------------------------------------------------------------------------- */

static void
cmd_get_settings (CwInvocation *inv, gpointer user_data)
{
  CwIntegrationsPlugin *self = CW_INTEGRATIONS_PLUGIN (user_data);
  g_autofree gchar *dir
      = cw_integrations_store_get_setting (self->store, "sharedSessionWorkingDirectory");
  g_autofree gchar *mode = cw_integrations_store_get_setting (self->store, "sessionMode");
  JsonObject *result = json_object_new ();

  if (dir != NULL)
    json_object_set_string_member (result, "sharedSessionWorkingDirectory", dir);
  json_object_set_string_member (result, "sessionMode", mode != NULL ? mode : "perChat");
  cw_invocation_return_object (inv, result);
}

static void
on_directory_moved (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) reply = cw_plugin_call_finish (CW_PLUGIN (source), result, &error);

  if (reply == NULL)
    g_warning ("cannot move the shared session: %s", error->message);
}

static void
cmd_update_settings (CwInvocation *inv, gpointer user_data)
{
  CwIntegrationsPlugin *self = CW_INTEGRATIONS_PLUGIN (user_data);
  gboolean bad;
  JsonObject *settings = object_param (inv, "settings", &bad);
  g_autoptr (GError) error = NULL;
  const gchar *dir, *mode;
  g_autofree gchar *shared = NULL;

  if (bad)
    return;
  if (settings == NULL)
    settings = cw_invocation_get_params (inv);
  dir = cw_integration_config_get_string (settings, "sharedSessionWorkingDirectory");
  mode = cw_integration_config_get_string (settings, "sessionMode");
  if (mode != NULL && !g_str_equal (mode, "perChat") && !g_str_equal (mode, "shared"))
    {
      cw_invocation_return_new_error (inv, CW_ERROR_INVALID_PARAMS,
                                      "sessionMode must be perChat or shared");
      return;
    }
  if (dir != NULL
      && !cw_integrations_store_set_setting (self->store, "sharedSessionWorkingDirectory",
                                             *dir != '\0' ? dir : NULL, &error))
    {
      cw_invocation_return_error (inv, g_steal_pointer (&error));
      return;
    }
  self->shared_mode = -1;
  if (mode != NULL && !cw_integrations_store_set_setting (self->store, "sessionMode", mode, &error))
    {
      cw_invocation_return_error (inv, g_steal_pointer (&error));
      return;
    }
  shared = cw_integrations_store_get_chat_session (self->store, "shared");
  if (dir != NULL && *dir != '\0' && shared != NULL && g_file_test (dir, G_FILE_TEST_IS_DIR))
    {
      JsonNode *params = json_node_new (JSON_NODE_OBJECT);
      JsonObject *obj = json_object_new ();
      json_object_set_string_member (obj, "sessionId", shared);
      json_object_set_string_member (obj, "workingDirectory", dir);
      json_node_take_object (params, obj);
      cw_plugin_call (CW_PLUGIN (self), NULL, "update_session_working_directory", params, NULL,
                      on_directory_moved, NULL);
      json_node_unref (params);
    }
  return_success (inv);
}

/* ---- send_test ------------------------------------------------------------------------------ */

static void
cmd_send_test (CwInvocation *inv, gpointer user_data)
{
  CwIntegrationsPlugin *self = CW_INTEGRATIONS_PLUGIN (user_data);
  CwIntegrationsLink *link = link_from_invocation (self, inv);
  g_autoptr (GError) error = NULL;
  const gchar *message;
  g_autofree gchar *chat = NULL;

  if (link == NULL)
    return;
  message = cw_invocation_get_string (inv, "message", FALSE, &error);
  if (error != NULL)
    {
      cw_invocation_return_error (inv, g_steal_pointer (&error));
      return;
    }
  if (message == NULL || *message == '\0')
    message = DEFAULT_TEST_MESSAGE;
  if (!link->connected)
    {
      cw_invocation_return_new_error (inv, CW_ERROR_FAILED, "%s is not connected",
                                      link->platform->id);
      return;
    }
  chat = cw_integrations_store_get_last_chat (self->store, link->platform->id);
  if (chat == NULL)
    {
      cw_invocation_return_new_error (
          inv, CW_ERROR_FAILED, "No active chat for %s. Send a message from the platform first.",
          link->platform->id);
      return;
    }
  if (!cw_integrations_outbox_queue (self, link->platform->id, chat, 0, "test", message, NULL, NULL,
                                     &error))
    {
      cw_invocation_return_error (inv, g_steal_pointer (&error));
      return;
    }
  cw_integrations_outbox_flush (self, link->platform->id);
  return_success (inv);
}

gboolean
cw_integrations_commands_register (CwIntegrationsPlugin *self, GError **error)
{
  static const struct
  {
    const gchar *name;
    CwCommandFunc func;
    CwCommandFlags flags;
  } commands[] = {
    { "integration_list_statuses", cmd_list_statuses, CW_COMMAND_FLAG_READ_ONLY },
    { "integration_get_status", cmd_get_status, CW_COMMAND_FLAG_READ_ONLY },
    { "integration_connect", cmd_connect, CW_COMMAND_FLAG_PRIVILEGED },
    { "integration_disconnect", cmd_disconnect, CW_COMMAND_FLAG_PRIVILEGED },
    { "integration_recover_whatsapp", cmd_recover_whatsapp, CW_COMMAND_FLAG_PRIVILEGED },
    { "integration_get_qr", cmd_get_qr, CW_COMMAND_FLAG_READ_ONLY },
    { "integration_configure", cmd_configure, CW_COMMAND_FLAG_PRIVILEGED },
    { "integration_get_config", cmd_get_config, CW_COMMAND_FLAG_READ_ONLY },
    { "integration_get_settings", cmd_get_settings, CW_COMMAND_FLAG_READ_ONLY },
    { "integration_update_settings", cmd_update_settings, CW_COMMAND_FLAG_NONE },
    { "integration_send_test", cmd_send_test, CW_COMMAND_FLAG_NONE },
  };

  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    if (!cw_plugin_add_command_full (CW_PLUGIN (self), commands[i].name, commands[i].flags,
                                     commands[i].func, error))
      return FALSE;
  return cw_integrations_notify_register (self, error);
}
