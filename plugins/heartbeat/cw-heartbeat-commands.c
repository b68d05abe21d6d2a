/* cw-heartbeat-commands.c: the heartbeat_* commands of contract §5, the four the desktop UI
 * calls that the original never answered (get_config, set_config, queue_event, clear_events)
 * included. Missing optional params and null are the same.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-heartbeat-plugin.h"

#define PLUGIN(p) CW_HEARTBEAT_PLUGIN (p)

static void
return_void (CwInvocation *inv)
{
  cw_invocation_return_value (inv, NULL);
}

static void
cmd_get_status (CwInvocation *inv, gpointer user_data)
{
  cw_invocation_return_object (inv, cw_heartbeat_plugin_status (PLUGIN (user_data)));
}

static void
cmd_start (CwInvocation *inv, gpointer user_data)
{
  CwHeartbeatPlugin *self = PLUGIN (user_data);
  g_autoptr (GError) error = NULL;

  if (self->running || !cw_heartbeat_config_get_boolean (self->config, "enabled"))
    {
      return_void (inv);
      return;
    }
  if (!cw_heartbeat_plugin_run (self, TRUE, &error))
    {
      cw_invocation_return_error (inv, g_steal_pointer (&error));
      return;
    }
  cw_heartbeat_plugin_announce (self);
  return_void (inv);
}

static void
cmd_stop (CwInvocation *inv, gpointer user_data)
{
  CwHeartbeatPlugin *self = PLUGIN (user_data);

  if (self->running)
    {
      cw_heartbeat_plugin_halt (self);
      cw_heartbeat_plugin_announce (self);
    }
  return_void (inv);
}

/* Saves @input merged into the config and applies it: the timer restarts (from now) when
 * the heartbeat runs or was just enabled, and stops when it was disabled. */
static JsonObject *
configure (CwHeartbeatPlugin *self, JsonObject *input, GError **error)
{
  g_autoptr (JsonObject) merged = cw_heartbeat_config_merge (self->config, input, error);
  gboolean was_enabled = cw_heartbeat_config_get_boolean (self->config, "enabled");

  if (merged == NULL || !cw_heartbeat_state_set_object (self->store, "config", merged, error))
    return NULL;
  json_object_unref (self->config);
  self->config = json_object_ref (merged);
  if (!cw_heartbeat_config_get_boolean (merged, "enabled"))
    cw_heartbeat_plugin_halt (self);
  else if ((self->running || !was_enabled) && !cw_heartbeat_plugin_run (self, TRUE, error))
    return NULL;
  cw_heartbeat_plugin_announce (self);
  /* Events held back while system events were off go at the next tick. */
  return g_steal_pointer (&merged);
}

static void
cmd_configure (CwInvocation *inv, gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) config
      = configure (PLUGIN (user_data), cw_invocation_get_params (inv), &error);

  if (config == NULL)
    cw_invocation_return_error (inv, g_steal_pointer (&error));
  else
    return_void (inv);
}

static void
cmd_get_config (CwInvocation *inv, gpointer user_data)
{
  cw_invocation_return_object (inv, json_object_ref (PLUGIN (user_data)->config));
}

/* Tauri's heartbeat_set_config(config) sends {config: HeartbeatConfig}; the flat form is
 * taken too. */
static void
cmd_set_config (CwInvocation *inv, gpointer user_data)
{
  JsonObject *params = cw_invocation_get_params (inv);
  JsonNode *node = json_object_get_member (params, "config");
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) config = NULL;

  if (node != NULL && !JSON_NODE_HOLDS_NULL (node) && !JSON_NODE_HOLDS_OBJECT (node))
    {
      cw_invocation_return_error_literal (inv, CW_ERROR_INVALID_PARAMS, "config must be an object");
      return;
    }
  config = configure (
      PLUGIN (user_data),
      node != NULL && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : params, &error);
  if (config == NULL)
    cw_invocation_return_error (inv, g_steal_pointer (&error));
  else
    cw_invocation_return_object (inv, g_steal_pointer (&config));
}

static void
cmd_wake (CwInvocation *inv, gpointer user_data)
{
  CwHeartbeatPlugin *self = PLUGIN (user_data);
  g_autoptr (GError) error = NULL;
  const gchar *mode = cw_invocation_get_string (inv, "mode", FALSE, &error);

  if (error != NULL)
    {
      cw_invocation_return_error (inv, g_steal_pointer (&error));
      return;
    }
  if (mode != NULL && !g_str_equal (mode, "now") && !g_str_equal (mode, "next-heartbeat"))
    {
      cw_invocation_return_error_literal (inv, CW_ERROR_INVALID_PARAMS,
                                          "mode must be now or next-heartbeat");
      return;
    }
  /* next-heartbeat: the queue is acted on at the next tick, which happens anyway. */
  if ((mode == NULL || g_str_equal (mode, "now")) && !self->processing)
    cw_heartbeat_plugin_tick (self);
  return_void (inv);
}

static void
cmd_get_events (CwInvocation *inv, gpointer user_data)
{
  JsonNode *node
      = json_node_init_array (json_node_alloc (), cw_heartbeat_queue_list (PLUGIN (user_data)));

  cw_invocation_return_value (inv, node);
}

/* Tauri's heartbeat_queue_event(input) sends {input: {type, payload?, priority?,
 * sessionId?}}; the flat form is taken too. */
static void
cmd_queue_event (CwInvocation *inv, gpointer user_data)
{
  CwHeartbeatPlugin *self = PLUGIN (user_data);
  JsonObject *params = cw_invocation_get_params (inv);
  JsonNode *node = json_object_get_member (params, "input");
  g_autoptr (GError) error = NULL;
  JsonObject *event, *result;

  if (node != NULL && !JSON_NODE_HOLDS_NULL (node) && !JSON_NODE_HOLDS_OBJECT (node))
    {
      cw_invocation_return_error_literal (inv, CW_ERROR_INVALID_PARAMS, "input must be an object");
      return;
    }
  event = cw_heartbeat_queue_add (
      self, node != NULL && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : params,
      &error);
  if (event == NULL)
    {
      cw_invocation_return_error (inv, g_steal_pointer (&error));
      return;
    }
  result = json_object_new ();
  json_object_set_string_member (result, "eventId", json_object_get_string_member (event, "id"));
  cw_invocation_return_object (inv, result);
}

static void
cmd_clear_events (CwInvocation *inv, gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  gint64 count = cw_heartbeat_queue_clear (PLUGIN (user_data), &error);
  JsonObject *result;

  if (count < 0)
    {
      cw_invocation_return_error (inv, g_steal_pointer (&error));
      return;
    }
  result = json_object_new ();
  json_object_set_int_member (result, "count", count);
  cw_invocation_return_object (inv, result);
}

gboolean
cw_heartbeat_commands_register (CwHeartbeatPlugin *self, GError **error)
{
  static const struct
  {
    const gchar *name;
    CwCommandFlags flags;
    CwCommandFunc func;
  } commands[] = {
    { "heartbeat_get_status", CW_COMMAND_FLAG_READ_ONLY, cmd_get_status },
    { "heartbeat_start", 0, cmd_start },
    { "heartbeat_stop", 0, cmd_stop },
    { "heartbeat_configure", 0, cmd_configure },
    { "heartbeat_wake", 0, cmd_wake },
    { "heartbeat_get_events", CW_COMMAND_FLAG_READ_ONLY, cmd_get_events },
    { "heartbeat_get_config", CW_COMMAND_FLAG_READ_ONLY, cmd_get_config },
    { "heartbeat_set_config", 0, cmd_set_config },
    { "heartbeat_queue_event", 0, cmd_queue_event },
    { "heartbeat_clear_events", 0, cmd_clear_events },
  };

  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    if (!cw_plugin_add_command_full (CW_PLUGIN (self), commands[i].name, commands[i].flags,
                                     commands[i].func, error))
      return FALSE;
  return TRUE;
}
