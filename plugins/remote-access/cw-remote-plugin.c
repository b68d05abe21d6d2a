/* cw-remote-plugin.c: the remote-access plugin: paired phones reach the daemon over the
 * SDK's HTTP server (contract §4).
 *
 * Remote access is off after every start: the routes are added to the daemon's HTTP server
 * only by remote_access_enable (or [remote-access] enable-at-start=true), so nothing listens
 * for phones until then, and the server stays on loopback (a tunnel publishes it; a
 * non-loopback [http] address is warned about). Tunnels start only on remote_access_start_tunnel.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-remote-plugin.h"

#include <string.h>

G_DEFINE_FINAL_TYPE (CwRemotePlugin, cw_remote_plugin, CW_TYPE_PLUGIN)

gint64
cw_remote_plugin_now (CwRemotePlugin *self)
{
  return cw_plugin_schedule_get_now (CW_PLUGIN (self));
}

void
cw_remote_plugin_diagnostic (CwRemotePlugin *self, const gchar *level, const gchar *step,
                             const gchar *message, const gchar *command_hint)
{
  JsonObject *d = json_object_new ();
  g_autofree gchar *id = cw_make_id ("diag_");

  json_object_set_string_member (d, "id", id);
  json_object_set_string_member (d, "level", level);
  json_object_set_string_member (d, "step", step);
  json_object_set_string_member (d, "message", message);
  json_object_set_int_member (d, "at", cw_remote_plugin_now (self));
  if (command_hint != NULL)
    json_object_set_string_member (d, "commandHint", command_hint);
  g_queue_push_head (&self->diagnostics, d);
  while (self->diagnostics.length > CW_REMOTE_MAX_DIAGNOSTICS)
    json_object_unref (g_queue_pop_tail (&self->diagnostics));
  if (g_strcmp0 (level, "info") == 0)
    g_debug ("%s: %s", step, message);
  else
    g_message ("%s: %s", step, message);
}

void
cw_remote_plugin_operation (CwRemotePlugin *self, const gchar *operation, CwCaller *caller,
                            JsonObject *details)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *action = g_strdup (operation);

  g_free (self->last_operation);
  self->last_operation = g_strdup (operation);
  self->last_operation_at = cw_remote_plugin_now (self);
  for (gchar *p = action; *p != '\0'; p++)
    if (*p == '_')
      *p = '.';
  if (!cw_plugin_audit (CW_PLUGIN (self), action, caller, details, &error))
    g_warning ("cannot audit %s: %s", operation, error->message);
}

/* ---- URLs ---- */

gchar *
cw_remote_plugin_local_base_url (CwRemotePlugin *self)
{
  if (!self->running)
    return NULL;
  return cw_context_get_http_base_url (cw_plugin_get_context (CW_PLUGIN (self)));
}

gchar *
cw_remote_plugin_resolved_public_url (CwRemotePlugin *self)
{
  CwRemoteConfig *c = &self->config;

  if (g_strcmp0 (c->tunnel_mode, "cloudflare") == 0 && c->tunnel_domain != NULL)
    return g_strconcat ("https://", c->tunnel_domain, NULL);
  if (g_strcmp0 (c->tunnel_mode, "custom") == 0 && c->public_base_url == NULL
      && c->tunnel_domain != NULL)
    return g_strconcat ("https://", c->tunnel_domain, NULL);
  return g_strdup (c->public_base_url);
}

gchar *
cw_remote_plugin_endpoint (CwRemotePlugin *self)
{
  const gchar *tunnel = cw_remote_tunnel_get_public_url (self->tunnel);
  gchar *url;

  if (!self->running)
    return NULL;
  if (tunnel != NULL)
    return g_strdup (tunnel);
  url = cw_remote_plugin_resolved_public_url (self);
  return url != NULL ? url : cw_remote_plugin_local_base_url (self);
}

/* ---- status ---- */

static gint64
port_of (const gchar *url)
{
  g_autoptr (GUri) uri = url != NULL ? g_uri_parse (url, G_URI_FLAGS_NONE, NULL) : NULL;

  return uri != NULL ? g_uri_get_port (uri) : -1;
}

static gchar *
host_of (const gchar *url)
{
  g_autoptr (GUri) uri = url != NULL ? g_uri_parse (url, G_URI_FLAGS_NONE, NULL) : NULL;

  return uri != NULL ? g_strdup (g_uri_get_host (uri)) : NULL;
}

JsonObject *
cw_remote_plugin_status (CwRemotePlugin *self, gboolean for_device)
{
  JsonObject *s = json_object_new ();
  g_autofree gchar *local = cw_remote_plugin_local_base_url (self);
  g_autofree gchar *public_url = cw_remote_plugin_resolved_public_url (self);
  g_autofree gchar *host = host_of (local);
  JsonArray *diagnostics = json_array_new ();
  JsonArray *devices = json_array_new ();

  json_object_set_boolean_member (s, "enabled", self->config.enabled);
  json_object_set_boolean_member (s, "running", self->running && local != NULL);
  json_object_set_string_member (s, "bindHost", host != NULL ? host : "127.0.0.1");
  if (local != NULL)
    json_object_set_int_member (s, "bindPort", port_of (local));
  else
    json_object_set_null_member (s, "bindPort");
  cw_remote_json_set_string (s, "localBaseUrl", local);
  cw_remote_json_set_string (s, "publicBaseUrl",
                             public_url != NULL ? public_url
                                                : cw_remote_tunnel_get_public_url (self->tunnel));
  json_object_set_string_member (s, "tunnelMode", self->config.tunnel_mode);
  cw_remote_json_set_string (s, "tunnelName", self->config.tunnel_name);
  cw_remote_json_set_string (s, "tunnelDomain", self->config.tunnel_domain);
  json_object_set_string_member (s, "tunnelVisibility", self->config.tunnel_visibility);
  cw_remote_tunnel_describe (self->tunnel, s, for_device);
  json_object_set_string_member (s, "configHealth",
                                 self->config_health_reason != NULL ? "repair_required" : "valid");
  cw_remote_json_set_string (s, "configRepairReason", self->config_health_reason);
  cw_remote_json_set_string (s, "lastOperation", self->last_operation);
  if (self->last_operation_at > 0)
    json_object_set_int_member (s, "lastOperationAt", self->last_operation_at);
  else
    json_object_set_null_member (s, "lastOperationAt");
  /* A phone sees the shape the app expects, not the binary paths, diagnostics or the other
   * devices (contract §9: the original sent all of it). */
  if (!for_device)
    {
      for (GList *l = self->diagnostics.head; l != NULL; l = l->next)
        json_array_add_object_element (diagnostics, json_object_ref (l->data));
      for (guint i = 0; i < self->devices->len; i++)
        json_array_add_object_element (
            devices, cw_remote_device_summary (g_ptr_array_index (self->devices, i)));
    }
  json_object_set_array_member (s, "diagnostics", diagnostics);
  json_object_set_int_member (s, "deviceCount", cw_remote_devices_count_live (self));
  json_object_set_array_member (s, "devices", devices);
  return s;
}

/* ---- enable and disable ---- */

static void
check_exposure (CwRemotePlugin *self)
{
  CwConfig *config = cw_context_get_config (cw_plugin_get_context (CW_PLUGIN (self)));
  g_autofree gchar *local = cw_remote_plugin_local_base_url (self);
  /* The server's own setting: a wildcard bind is published as loopback in the base URL. */
  g_autofree gchar *host = cw_config_get_string (config, "http", "address", NULL);
  g_autoptr (GInetAddress) inet = host != NULL ? g_inet_address_new_from_string (host) : NULL;
  gint64 port = port_of (local);

  if (inet != NULL && !g_inet_address_get_is_loopback (inet))
    {
      g_autofree gchar *msg = g_strdup_printf (
          "The HTTP server listens on %s ([http] address in coworkd.conf), not on loopback: "
          "anyone who can reach that address can try to pair",
          host);
      /* The server has logged its own warning; this one is for the status. */
      cw_remote_plugin_diagnostic (self, "warn", "bind", msg, NULL);
    }
  if (self->config.bind_port > 0 && port > 0 && self->config.bind_port != port)
    {
      g_autofree gchar *msg = g_strdup_printf (
          "bindPort %" G_GINT64_FORMAT
          " is not used: the daemon's HTTP server is on port %" G_GINT64_FORMAT
          "; set [http] port=%" G_GINT64_FORMAT " in coworkd.conf to keep the port",
          self->config.bind_port, port, self->config.bind_port);
      cw_remote_plugin_diagnostic (self, "warn", "bind", msg, NULL);
    }
}

gboolean
cw_remote_plugin_enable (CwRemotePlugin *self, GError **error)
{
  if (!self->running)
    {
      if (!cw_remote_http_add_routes (self, error))
        {
          cw_plugin_remove_http_routes (CW_PLUGIN (self));
          return FALSE;
        }
      self->running = TRUE;
      check_exposure (self);
    }
  if (!self->config.enabled)
    {
      self->config.enabled = TRUE;
      if (!cw_remote_store_save_config (self, error))
        return FALSE;
    }
  return TRUE;
}

void
cw_remote_plugin_disable (CwRemotePlugin *self)
{
  g_autoptr (GError) error = NULL;

  cw_remote_tunnel_stop (self->tunnel);
  cw_remote_ws_close (self, NULL, SOUP_WEBSOCKET_CLOSE_GOING_AWAY, "Remote access disabled");
  if (self->running)
    cw_plugin_remove_http_routes (CW_PLUGIN (self));
  self->running = FALSE;
  if (self->config.enabled)
    {
      self->config.enabled = FALSE;
      if (!cw_remote_store_save_config (self, &error))
        g_warning ("%s", error->message);
    }
}

/* ---- life cycle ---- */

static gboolean
cw_remote_plugin_load (CwPlugin *plugin, GError **error)
{
  CwRemotePlugin *self = CW_REMOTE_PLUGIN (plugin);

  self->store = cw_context_get_store (cw_plugin_get_context (plugin));
  self->tunnel = cw_remote_tunnel_new (self);
  cw_plugin_add_start_after (plugin, "agent");
  cw_plugin_add_start_after (plugin, "cron");
  return cw_remote_store_migrate (self, error) && cw_remote_store_load (self, error)
         && cw_remote_commands_register (self, error);
}

static gboolean
cw_remote_plugin_start (CwPlugin *plugin, GError **error)
{
  CwRemotePlugin *self = CW_REMOTE_PLUGIN (plugin);
  CwConfig *config = cw_context_get_config (cw_plugin_get_context (plugin));
  g_autoptr (GError) local = NULL;

  gboolean at_start = cw_config_get_boolean (config, "remote-access", "enable-at-start", FALSE);

  cw_remote_tunnel_cleanup (self->tunnel);

  /* Off after a start, whatever was stored: enabling is explicit. */
  if (self->config.enabled && !at_start)
    {
      self->config.enabled = FALSE;
      if (!cw_remote_store_save_config (self, error))
        return FALSE;
    }
  if (at_start)
    {
      if (!cw_remote_plugin_enable (self, &local))
        cw_remote_plugin_diagnostic (self, "error", "enable", local->message, NULL);
      else
        cw_remote_plugin_diagnostic (self, "info", "enable",
                                     "Remote access enabled at start ([remote-access] "
                                     "enable-at-start)",
                                     NULL);
    }
  return TRUE;
}

static void
on_tunnel_idle (GObject *source, GAsyncResult *res, gpointer user_data)
{
  GTask *task = user_data;

  g_task_return_boolean (task, TRUE);
  g_object_unref (task);
}

/* Waits for the tunnel's `tailscale … off`, so nothing stays published after the daemon. */
static void
cw_remote_plugin_stop_async (CwPlugin *plugin, GCancellable *cancellable,
                             GAsyncReadyCallback callback, gpointer user_data)
{
  CwRemotePlugin *self = CW_REMOTE_PLUGIN (plugin);
  GTask *task = g_task_new (plugin, cancellable, callback, user_data);

  cw_remote_tunnel_stop (self->tunnel);
  cw_remote_ws_close (self, NULL, SOUP_WEBSOCKET_CLOSE_GOING_AWAY, "Service stopped");
  cw_remote_ws_free_all (self);
  if (self->last_used_save_id != 0)
    {
      g_clear_handle_id (&self->last_used_save_id, g_source_remove);
      for (guint i = 0; i < self->devices->len; i++)
        cw_remote_store_save_device (self, g_ptr_array_index (self->devices, i), NULL);
    }
  self->running = FALSE;
  cw_remote_tunnel_wait_idle (self->tunnel, 5000, on_tunnel_idle, task);
}

static void
cw_remote_plugin_stop_finish (CwPlugin *plugin, GAsyncResult *result)
{
  g_task_propagate_boolean (G_TASK (result), NULL);
}

static JsonObject *
cw_remote_plugin_get_health (CwPlugin *plugin)
{
  CwRemotePlugin *self = CW_REMOTE_PLUGIN (plugin);
  JsonObject *health = json_object_new ();

  json_object_set_boolean_member (health, "enabled", self->config.enabled);
  json_object_set_boolean_member (health, "running", self->running);
  json_object_set_int_member (health, "websockets", cw_remote_ws_count (self));
  json_object_set_int_member (health, "devices", cw_remote_devices_count_live (self));
  json_object_set_int_member (health, "eventsSent", (gint64) self->events_sent);
  json_object_set_int_member (health, "resyncsSent", (gint64) self->resyncs_sent);
  json_object_set_boolean_member (health, "tunnelRunning",
                                  cw_remote_tunnel_is_running (self->tunnel));
  return health;
}

static void
cw_remote_plugin_finalize (GObject *object)
{
  CwRemotePlugin *self = CW_REMOTE_PLUGIN (object);

  g_clear_handle_id (&self->last_used_save_id, g_source_remove);
  cw_remote_ws_free_all (self);
  g_clear_pointer (&self->tunnel, cw_remote_tunnel_free);
  cw_remote_config_clear (&self->config);
  g_ptr_array_unref (self->devices);
  g_ptr_array_unref (self->sockets);
  g_hash_table_unref (self->pair_failures);
  g_array_unref (self->pair_failures_all);
  g_queue_clear_full (&self->diagnostics, (GDestroyNotify) json_object_unref);
  g_free (self->config_health_reason);
  g_free (self->last_operation);
  G_OBJECT_CLASS (cw_remote_plugin_parent_class)->finalize (object);
}

static void
cw_remote_plugin_class_init (CwRemotePluginClass *klass)
{
  CwPluginClass *plugin_class = CW_PLUGIN_CLASS (klass);

  G_OBJECT_CLASS (klass)->finalize = cw_remote_plugin_finalize;
  plugin_class->load = cw_remote_plugin_load;
  plugin_class->start = cw_remote_plugin_start;
  plugin_class->stop_async = cw_remote_plugin_stop_async;
  plugin_class->stop_finish = cw_remote_plugin_stop_finish;
  plugin_class->get_health = cw_remote_plugin_get_health;
}

static void
cw_remote_plugin_init (CwRemotePlugin *self)
{
  self->devices = g_ptr_array_new_with_free_func ((GDestroyNotify) cw_remote_device_free);
  self->sockets = g_ptr_array_new ();
  self->pair_failures
      = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_array_unref);
  self->pair_failures_all = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_queue_init (&self->diagnostics);
}

CW_PLUGIN_EXPORT (cw_remote_plugin_get_type)
