/* cw-remote-commands.c: the remote_access_* commands (contract §4.1).
 *
 * None of them is callable from a paired device: they change who can reach the daemon.
 * Each change is recorded as lastOperation and in the audit log with the caller.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-remote-plugin.h"

#include <string.h>

#define PLUGIN(p) CW_REMOTE_PLUGIN (p)

static void
return_status (CwRemotePlugin *self, CwInvocation *inv)
{
  cw_invocation_return_object (inv, cw_remote_plugin_status (self, FALSE));
}

/* The member as a string, or NULL when absent or null; @present tells which. */
static gboolean
opt_string (CwInvocation *inv, const gchar *name, const gchar **out, gboolean *present,
            GError **error)
{
  JsonNode *node = json_object_get_member (cw_invocation_get_params (inv), name);

  *out = NULL;
  *present = node != NULL;
  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return TRUE;
  if (json_node_get_value_type (node) != G_TYPE_STRING)
    {
      g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS, "%s must be a string", name);
      return FALSE;
    }
  *out = json_node_get_string (node);
  return TRUE;
}

static gboolean
check_mode (const gchar *mode, GError **error)
{
  if (g_strcmp0 (mode, "tailscale") == 0 || g_strcmp0 (mode, "cloudflare") == 0
      || g_strcmp0 (mode, "custom") == 0)
    return TRUE;
  g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS,
               "tunnelMode must be tailscale, cloudflare or custom");
  return FALSE;
}

static void
replace (gchar **slot, gchar *value)
{
  g_free (*slot);
  *slot = value;
}

/* Applies the tunnel options present in the params; TRUE in *changed if the name, domain or
 * visibility changed. Members left out (or null) keep their value. */
static gboolean
apply_options (CwRemotePlugin *self, CwInvocation *inv, gboolean *changed, GError **error)
{
  CwRemoteConfig *c = &self->config;
  const gchar *name, *domain, *visibility, *url;
  gboolean has_name, has_domain, has_visibility, has_url;

  if (!opt_string (inv, "tunnelName", &name, &has_name, error)
      || !opt_string (inv, "tunnelDomain", &domain, &has_domain, error)
      || !opt_string (inv, "tunnelVisibility", &visibility, &has_visibility, error)
      || !opt_string (inv, "publicBaseUrl", &url, &has_url, error))
    return FALSE;
  if (visibility != NULL && g_strcmp0 (visibility, "public") != 0
      && g_strcmp0 (visibility, "private") != 0)
    {
      g_set_error_literal (error, CW_ERROR, CW_ERROR_INVALID_PARAMS,
                           "tunnelVisibility must be public or private");
      return FALSE;
    }
  if (name != NULL && g_utf8_strlen (name, -1) > 64)
    {
      g_set_error_literal (error, CW_ERROR, CW_ERROR_INVALID_PARAMS,
                           "tunnelName is longer than 64 characters");
      return FALSE;
    }
  *changed = FALSE;
  if (name != NULL && g_strcmp0 (name, c->tunnel_name) != 0)
    {
      replace (&c->tunnel_name, *name != '\0' ? g_strdup (name) : NULL);
      *changed = TRUE;
    }
  if (domain != NULL)
    {
      g_autofree gchar *clean = cw_remote_normalise_domain (domain);
      if (clean == NULL && *domain != '\0')
        {
          g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS,
                       "tunnelDomain %s is not a host name", domain);
          return FALSE;
        }
      if (g_strcmp0 (clean, c->tunnel_domain) != 0)
        {
          replace (&c->tunnel_domain, g_steal_pointer (&clean));
          *changed = TRUE;
        }
    }
  if (visibility != NULL && g_strcmp0 (visibility, c->tunnel_visibility) != 0)
    {
      replace (&c->tunnel_visibility, g_strdup (visibility));
      *changed = TRUE;
    }
  if (url != NULL)
    replace (&c->public_base_url, cw_remote_normalise_url (url));
  return TRUE;
}

static void
finish_change (CwRemotePlugin *self, CwInvocation *inv, const gchar *operation)
{
  g_autoptr (GError) error = NULL;

  if (!cw_remote_store_save_config (self, &error))
    {
      cw_invocation_return_error (inv, g_steal_pointer (&error));
      return;
    }
  cw_remote_plugin_operation (self, operation, cw_invocation_get_caller (inv), NULL);
  return_status (self, inv);
}

static void
cmd_get_status (CwInvocation *inv, gpointer user_data)
{
  cw_remote_tunnel_refresh (PLUGIN (user_data)->tunnel, FALSE);
  return_status (PLUGIN (user_data), inv);
}

static void
cmd_enable (CwInvocation *inv, gpointer user_data)
{
  CwRemotePlugin *self = PLUGIN (user_data);
  g_autoptr (GError) error = NULL;
  const gchar *mode;
  gboolean has_mode, changed;
  gint64 port;

  if (!opt_string (inv, "tunnelMode", &mode, &has_mode, &error)
      || (mode != NULL && !check_mode (mode, &error))
      || !cw_invocation_get_int (inv, "bindPort", self->config.bind_port, &port, &error)
      || !apply_options (self, inv, &changed, &error))
    {
      cw_invocation_return_error (inv, g_steal_pointer (&error));
      return;
    }
  if (port < 0 || port > 65535)
    {
      cw_invocation_return_error_literal (inv, CW_ERROR_INVALID_PARAMS,
                                          "bindPort must be within 0-65535");
      return;
    }
  self->config.bind_port = port;
  if (mode != NULL)
    replace (&self->config.tunnel_mode, g_strdup (mode));
  if (!cw_remote_plugin_enable (self, &error))
    {
      cw_remote_plugin_diagnostic (self, "error", "enable", error->message, NULL);
      cw_invocation_return_error (inv, g_steal_pointer (&error));
      return;
    }
  cw_remote_plugin_diagnostic (self, "info", "enable", "Remote access enabled", NULL);
  finish_change (self, inv, "enable");
}

static void
cmd_disable (CwInvocation *inv, gpointer user_data)
{
  CwRemotePlugin *self = PLUGIN (user_data);

  cw_remote_plugin_disable (self);
  cw_remote_plugin_diagnostic (self, "info", "disable", "Remote access disabled", NULL);
  finish_change (self, inv, "disable");
}

static void
cmd_generate_qr (CwInvocation *inv, gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  JsonObject *result = cw_remote_devices_generate_qr (PLUGIN (user_data), &error);

  if (result == NULL)
    cw_invocation_return_error (inv, g_steal_pointer (&error));
  else
    cw_invocation_return_object (inv, result);
}

static void
cmd_list_devices (CwInvocation *inv, gpointer user_data)
{
  CwRemotePlugin *self = PLUGIN (user_data);
  JsonObject *result = json_object_new ();
  JsonArray *arr = json_array_new ();

  for (guint i = 0; i < self->devices->len; i++)
    json_array_add_object_element (arr,
                                   cw_remote_device_summary (g_ptr_array_index (self->devices, i)));
  json_object_set_array_member (result, "devices", arr);
  cw_invocation_return_object (inv, result);
}

static void
cmd_revoke_device (CwInvocation *inv, gpointer user_data)
{
  CwRemotePlugin *self = PLUGIN (user_data);
  g_autoptr (GError) error = NULL;
  const gchar *id = cw_invocation_get_string (inv, "deviceId", TRUE, &error);
  gboolean revoked = FALSE;
  JsonObject *result;

  if (id == NULL || !cw_remote_devices_revoke (self, id, &revoked, &error))
    {
      cw_invocation_return_error (inv, g_steal_pointer (&error));
      return;
    }
  if (revoked)
    {
      JsonObject *details = json_object_new ();
      json_object_set_string_member (details, "deviceId", id);
      cw_remote_plugin_operation (self, "revoke_device", cw_invocation_get_caller (inv), details);
      json_object_unref (details);
    }
  result = json_object_new ();
  json_object_set_boolean_member (result, "revoked", revoked);
  cw_invocation_return_object (inv, result);
}

static void
cmd_set_public_base_url (CwInvocation *inv, gpointer user_data)
{
  CwRemotePlugin *self = PLUGIN (user_data);
  g_autoptr (GError) error = NULL;
  const gchar *url;
  gboolean present;

  if (!opt_string (inv, "publicBaseUrl", &url, &present, &error))
    {
      cw_invocation_return_error (inv, g_steal_pointer (&error));
      return;
    }
  replace (&self->config.public_base_url, cw_remote_normalise_url (url));
  finish_change (self, inv, "set_endpoint");
}

static void
cmd_set_tunnel_mode (CwInvocation *inv, gpointer user_data)
{
  CwRemotePlugin *self = PLUGIN (user_data);
  g_autoptr (GError) error = NULL;
  const gchar *mode = cw_invocation_get_string (inv, "tunnelMode", TRUE, &error);

  if (mode == NULL || !check_mode (mode, &error))
    {
      cw_invocation_return_error (inv, g_steal_pointer (&error));
      return;
    }
  if (g_strcmp0 (mode, self->config.tunnel_mode) != 0)
    {
      cw_remote_tunnel_stop (self->tunnel);
      replace (&self->config.tunnel_mode, g_strdup (mode));
    }
  cw_remote_tunnel_refresh (self->tunnel, TRUE);
  finish_change (self, inv, "set_provider");
}

static void
cmd_set_tunnel_options (CwInvocation *inv, gpointer user_data)
{
  CwRemotePlugin *self = PLUGIN (user_data);
  g_autoptr (GError) error = NULL;
  gboolean changed = FALSE;

  if (!apply_options (self, inv, &changed, &error))
    {
      cw_invocation_return_error (inv, g_steal_pointer (&error));
      return;
    }
  if (changed)
    cw_remote_tunnel_stop (self->tunnel);
  finish_change (self, inv, "set_options");
}

static void
cmd_refresh_tunnel (CwInvocation *inv, gpointer user_data)
{
  CwRemotePlugin *self = PLUGIN (user_data);

  cw_remote_tunnel_refresh (self->tunnel, TRUE);
  cw_remote_plugin_operation (self, "refresh", cw_invocation_get_caller (inv), NULL);
  return_status (self, inv);
}

static void
on_action_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr (CwInvocation) inv = user_data;
  CwRemotePlugin *self = g_task_get_task_data (G_TASK (res));
  g_autoptr (GError) error = NULL;

  if (!cw_remote_tunnel_run_action_finish (self->tunnel, res, &error))
    cw_invocation_return_error (inv, g_steal_pointer (&error));
  else
    return_status (self, inv);
}

static void
run_action (CwRemotePlugin *self, CwInvocation *inv, const gchar *action)
{
  cw_remote_plugin_operation (self, action, cw_invocation_get_caller (inv), NULL);
  cw_remote_tunnel_run_action (self->tunnel, action, cw_invocation_get_cancellable (inv),
                               on_action_done, g_object_ref (inv));
}

static void
cmd_install_tunnel_binary (CwInvocation *inv, gpointer user_data)
{
  run_action (PLUGIN (user_data), inv, "install");
}

static void
cmd_authenticate_tunnel (CwInvocation *inv, gpointer user_data)
{
  run_action (PLUGIN (user_data), inv, "authenticate");
}

static void
on_tunnel_started (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr (CwInvocation) inv = user_data;
  CwRemotePlugin *self = g_task_get_task_data (G_TASK (res));
  g_autoptr (GError) error = NULL;

  if (!cw_remote_tunnel_start_finish (self->tunnel, res, &error))
    cw_invocation_return_error (inv, g_steal_pointer (&error));
  else
    finish_change (self, inv, "start");
}

static void
cmd_start_tunnel (CwInvocation *inv, gpointer user_data)
{
  CwRemotePlugin *self = PLUGIN (user_data);
  g_autoptr (GError) error = NULL;

  if (!cw_remote_plugin_enable (self, &error))
    {
      cw_invocation_return_error (inv, g_steal_pointer (&error));
      return;
    }
  cw_remote_tunnel_start (self->tunnel, NULL, on_tunnel_started, g_object_ref (inv));
}

static void
cmd_stop_tunnel (CwInvocation *inv, gpointer user_data)
{
  CwRemotePlugin *self = PLUGIN (user_data);

  cw_remote_tunnel_stop (self->tunnel);
  cw_remote_plugin_operation (self, "stop", cw_invocation_get_caller (inv), NULL);
  return_status (self, inv);
}

static void
cmd_delete_all (CwInvocation *inv, gpointer user_data)
{
  CwRemotePlugin *self = PLUGIN (user_data);
  g_autoptr (GError) error = NULL;

  cw_remote_plugin_disable (self);
  cw_remote_ws_close (self, NULL, 4001, "Device revoked");
  cw_remote_config_defaults (&self->config, cw_remote_plugin_now (self));
  g_ptr_array_set_size (self->devices, 0);
  g_clear_pointer (&self->config_health_reason, g_free);
  if (!cw_remote_store_delete_devices (self, &error) || !cw_remote_store_clear_codes (self, &error))
    {
      cw_invocation_return_error (inv, g_steal_pointer (&error));
      return;
    }
  finish_change (self, inv, "delete_all");
}

gboolean
cw_remote_commands_register (CwRemotePlugin *self, GError **error)
{
  static const struct
  {
    const gchar *name;
    CwCommandFlags flags;
    CwCommandFunc func;
  } commands[] = {
    { "remote_access_get_status", CW_COMMAND_FLAG_READ_ONLY, cmd_get_status },
    { "remote_access_enable", CW_COMMAND_FLAG_PRIVILEGED, cmd_enable },
    { "remote_access_disable", CW_COMMAND_FLAG_PRIVILEGED, cmd_disable },
    { "remote_access_generate_qr", CW_COMMAND_FLAG_PRIVILEGED, cmd_generate_qr },
    { "remote_access_list_devices", CW_COMMAND_FLAG_READ_ONLY, cmd_list_devices },
    { "remote_access_revoke_device", CW_COMMAND_FLAG_PRIVILEGED, cmd_revoke_device },
    { "remote_access_set_public_base_url", CW_COMMAND_FLAG_PRIVILEGED, cmd_set_public_base_url },
    { "remote_access_set_tunnel_mode", CW_COMMAND_FLAG_PRIVILEGED, cmd_set_tunnel_mode },
    { "remote_access_set_tunnel_options", CW_COMMAND_FLAG_PRIVILEGED, cmd_set_tunnel_options },
    { "remote_access_refresh_tunnel", CW_COMMAND_FLAG_NONE, cmd_refresh_tunnel },
    { "remote_access_install_tunnel_binary", CW_COMMAND_FLAG_PRIVILEGED,
      cmd_install_tunnel_binary },
    { "remote_access_authenticate_tunnel", CW_COMMAND_FLAG_PRIVILEGED, cmd_authenticate_tunnel },
    { "remote_access_start_tunnel", CW_COMMAND_FLAG_PRIVILEGED, cmd_start_tunnel },
    { "remote_access_stop_tunnel", CW_COMMAND_FLAG_PRIVILEGED, cmd_stop_tunnel },
    { "remote_access_delete_all", CW_COMMAND_FLAG_PRIVILEGED, cmd_delete_all },
  };

  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    if (!cw_plugin_add_command_full (CW_PLUGIN (self), commands[i].name, commands[i].flags,
                                     commands[i].func, error))
      return FALSE;
  return TRUE;
}
