/* cw-heartbeat-plugin.c: the heartbeat plugin: a periodic tick that acts on queued system
 * events, and an optional check-in prompt to the agent (contract §5).
 *
 * The tick is a job of the daemon's scheduler ("tick", every intervalMs from an anchor kept
 * in the store, so a restart goes on with the same instants and a tick missed while the
 * daemon was down comes once, late). Unlike the original, the heartbeat runs from the
 * daemon's start when enabled, its config is read back after a restart, and queued events
 * are acted on (cw-heartbeat-actions.c). The systemd watchdog is the daemon's own: its
 * keep-alives check the main loop and the store (core/daemon), whatever plugins run.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-heartbeat-plugin.h"

G_DEFINE_FINAL_TYPE (CwHeartbeatPlugin, cw_heartbeat_plugin, CW_TYPE_PLUGIN)

static gint64
now_ms (CwHeartbeatPlugin *self)
{
  return cw_plugin_schedule_get_now (CW_PLUGIN (self));
}

static gint64
next_tick (CwHeartbeatPlugin *self)
{
  gint64 next;

  if (!self->running)
    return 0;
  next = cw_plugin_schedule_get_next (CW_PLUGIN (self), CW_HEARTBEAT_TICK_JOB);
  return next == CW_SCHEDULE_NEVER ? 0 : next;
}

JsonObject *
cw_heartbeat_plugin_status (CwHeartbeatPlugin *self)
{
  JsonObject *status = json_object_new ();

  json_object_set_boolean_member (status, "isRunning", self->running);
  json_object_set_int_member (status, "lastHeartbeat", self->last_heartbeat);
  json_object_set_int_member (status, "nextHeartbeat", next_tick (self));
  json_object_set_int_member (status, "eventQueueSize", self->queue->len);
  json_object_set_boolean_member (status, "isProcessing", self->processing);
  return status;
}

void
cw_heartbeat_plugin_announce (CwHeartbeatPlugin *self)
{
  JsonObject *data = json_object_new ();

  json_object_set_object_member (data, "status", cw_heartbeat_plugin_status (self));
  cw_plugin_emit (CW_PLUGIN (self), "heartbeat:status", NULL, data);
}

void
cw_heartbeat_plugin_tick (CwHeartbeatPlugin *self)
{
  g_autoptr (GError) error = NULL;
  JsonObject *data;

  self->last_heartbeat = now_ms (self);
  self->ticks++;
  if (!cw_heartbeat_state_set_int (self->store, "lastHeartbeat", self->last_heartbeat, &error))
    g_warning ("%s", error->message);
  data = json_object_new ();
  json_object_set_int_member (data, "timestamp", self->last_heartbeat);
  json_object_set_int_member (data, "eventQueueSize", self->queue->len);
  json_object_set_int_member (data, "nextHeartbeat", next_tick (self));
  cw_plugin_emit (CW_PLUGIN (self), "heartbeat:tick", NULL, data);
  cw_heartbeat_actions_drain (self);
}

static void
on_tick (CwPlugin *plugin, const gchar *job_id, gint64 scheduled_ms, CwScheduleFireFlags flags,
         gpointer user_data)
{
  CwHeartbeatPlugin *self = CW_HEARTBEAT_PLUGIN (plugin);

  if ((flags & CW_SCHEDULE_FIRE_SKIPPED) || self->stopping || !self->running)
    return;
  cw_heartbeat_plugin_tick (self);
}

static gboolean
add_every (CwHeartbeatPlugin *self, const gchar *job, gint64 interval, CwMissedPolicy missed,
           CwScheduleFunc func, GError **error)
{
  g_autoptr (CwSchedule) schedule = cw_schedule_new_every (interval, self->tick_anchor, error);

  return schedule != NULL
         && cw_plugin_schedule_add (CW_PLUGIN (self), job, schedule, missed, func, NULL, NULL,
                                    error);
}

gboolean
cw_heartbeat_plugin_run (CwHeartbeatPlugin *self, gboolean fresh, GError **error)
{
  gint64 interval = cw_heartbeat_config_get_int (self->config, "intervalMs");

  if (!self->started || self->stopping)
    return TRUE;
  /* The first tick comes one interval after a (re)start, as the original's timer did. */
  if (fresh || self->tick_anchor == 0)
    {
      self->tick_anchor = now_ms (self) + interval;
      if (!cw_heartbeat_state_set_int (self->store, "tickAnchor", self->tick_anchor, error))
        return FALSE;
    }
  if (!add_every (self, CW_HEARTBEAT_TICK_JOB, interval, CW_MISSED_POLICY_ONCE, on_tick, error))
    return FALSE;
  if (cw_heartbeat_config_get_boolean (self->config, "checkInEnabled"))
    {
      if (!add_every (self, CW_HEARTBEAT_CHECK_IN_JOB,
                      cw_heartbeat_config_get_int (self->config, "checkInIntervalMs"),
                      CW_MISSED_POLICY_SKIP, cw_heartbeat_actions_check_in, error))
        return FALSE;
    }
  else
    cw_plugin_schedule_remove (CW_PLUGIN (self), CW_HEARTBEAT_CHECK_IN_JOB, NULL);
  self->running = TRUE;
  return TRUE;
}

void
cw_heartbeat_plugin_halt (CwHeartbeatPlugin *self)
{
  cw_plugin_schedule_remove (CW_PLUGIN (self), CW_HEARTBEAT_TICK_JOB, NULL);
  cw_plugin_schedule_remove (CW_PLUGIN (self), CW_HEARTBEAT_CHECK_IN_JOB, NULL);
  self->running = FALSE;
}

/* ---- life cycle ------------------------------------------------------------------------ */

static void
load_state (CwHeartbeatPlugin *self)
{
  g_autoptr (JsonNode) config = cw_heartbeat_state_get (self->store, "config");
  g_autoptr (JsonNode) anchor = cw_heartbeat_state_get (self->store, "tickAnchor");
  g_autoptr (JsonNode) last = cw_heartbeat_state_get (self->store, "lastHeartbeat");
  g_autoptr (JsonNode) session = cw_heartbeat_state_get (self->store, "checkInSession");
  g_autoptr (JsonObject) defaults = cw_heartbeat_config_new_default ();
  g_autoptr (GError) error = NULL;

  /* Merged over the defaults: members added in later versions get their default. */
  self->config = cw_heartbeat_config_merge (
      defaults,
      config != NULL && JSON_NODE_HOLDS_OBJECT (config) ? json_node_get_object (config) : NULL,
      &error);
  if (self->config == NULL)
    {
      g_warning ("the stored heartbeat config is not valid (%s); the defaults apply",
                 error->message);
      self->config = json_object_ref (defaults);
    }
  if (anchor != NULL && json_node_get_value_type (anchor) == G_TYPE_INT64)
    self->tick_anchor = json_node_get_int (anchor);
  if (last != NULL && json_node_get_value_type (last) == G_TYPE_INT64)
    self->last_heartbeat = json_node_get_int (last);
  if (session != NULL && json_node_get_value_type (session) == G_TYPE_STRING)
    self->check_in_session = g_strdup (json_node_get_string (session));
}

static gboolean
cw_heartbeat_plugin_load (CwPlugin *plugin, GError **error)
{
  CwHeartbeatPlugin *self = CW_HEARTBEAT_PLUGIN (plugin);

  self->store = cw_context_get_store (cw_plugin_get_context (plugin));
  /* Its events ask the agent and cron: they should be there when the first tick comes. */
  cw_plugin_add_start_after (plugin, "agent");
  cw_plugin_add_start_after (plugin, "cron");
  if (!cw_heartbeat_schema_migrate (self, error))
    return FALSE;
  load_state (self);
  return cw_heartbeat_queue_load (self, error) && cw_heartbeat_commands_register (self, error);
}

static gboolean
cw_heartbeat_plugin_start (CwPlugin *plugin, GError **error)
{
  CwHeartbeatPlugin *self = CW_HEARTBEAT_PLUGIN (plugin);

  self->started = TRUE;
  cw_heartbeat_actions_report_interrupted (self);
  if (!cw_heartbeat_config_get_boolean (self->config, "enabled"))
    return TRUE;
  return cw_heartbeat_plugin_run (self, FALSE, error);
}

static void
cw_heartbeat_plugin_stop (CwPlugin *plugin)
{
  CwHeartbeatPlugin *self = CW_HEARTBEAT_PLUGIN (plugin);

  /* The jobs stay stored, so the next start goes on with the same instants. */
  self->stopping = TRUE;
  self->running = FALSE;
}

static JsonObject *
cw_heartbeat_plugin_get_health (CwPlugin *plugin)
{
  CwHeartbeatPlugin *self = CW_HEARTBEAT_PLUGIN (plugin);
  JsonObject *health = cw_heartbeat_plugin_status (self);

  json_object_set_int_member (health, "ticks", self->ticks);
  json_object_set_int_member (health, "eventsProcessed", self->processed);
  json_object_set_int_member (health, "eventsFailed", self->failed);
  if (self->last_error != NULL)
    json_object_set_string_member (health, "lastError", self->last_error);
  else
    json_object_set_null_member (health, "lastError");
  if (self->in_flight != NULL)
    json_object_set_object_member (health, "inFlight", json_object_ref (self->in_flight));
  else
    json_object_set_null_member (health, "inFlight");
  json_object_set_boolean_member (health, "checkInEnabled",
                                  cw_heartbeat_config_get_boolean (self->config, "checkInEnabled"));
  if (self->last_check_in != NULL)
    json_object_set_object_member (health, "lastCheckIn", json_object_ref (self->last_check_in));
  else
    json_object_set_null_member (health, "lastCheckIn");
  return health;
}

static void
cw_heartbeat_plugin_finalize (GObject *object)
{
  CwHeartbeatPlugin *self = CW_HEARTBEAT_PLUGIN (object);

  g_clear_pointer (&self->config, json_object_unref);
  g_clear_pointer (&self->in_flight, json_object_unref);
  g_clear_pointer (&self->last_check_in, json_object_unref);
  g_ptr_array_unref (self->queue);
  g_free (self->check_in_session);
  g_free (self->last_error);
  G_OBJECT_CLASS (cw_heartbeat_plugin_parent_class)->finalize (object);
}

static void
cw_heartbeat_plugin_class_init (CwHeartbeatPluginClass *klass)
{
  CwPluginClass *plugin_class = CW_PLUGIN_CLASS (klass);

  G_OBJECT_CLASS (klass)->finalize = cw_heartbeat_plugin_finalize;
  plugin_class->load = cw_heartbeat_plugin_load;
  plugin_class->start = cw_heartbeat_plugin_start;
  plugin_class->stop = cw_heartbeat_plugin_stop;
  plugin_class->get_health = cw_heartbeat_plugin_get_health;
}

static void
cw_heartbeat_plugin_init (CwHeartbeatPlugin *self)
{
  self->queue = g_ptr_array_new_with_free_func ((GDestroyNotify) cw_heartbeat_queued_free);
}

CW_PLUGIN_EXPORT (cw_heartbeat_plugin_get_type)
