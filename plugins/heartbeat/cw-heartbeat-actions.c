/* cw-heartbeat-actions.c: what the queued system events do, and the check-in prompt.
 *
 * Each event is taken off the queue (and the store), announced with `system-event`, acted
 * on, and reported with `event:processed {event, success, result|error}`. Everything goes
 * through other plugins' and the core's commands (cw_plugin_call), never their code:
 *   health:check     daemon_health; the result names failed plugins and warnings
 *   session:compact  compact_session {sessionId} of the agent
 *   context:prune    prune_context {sessionId} of the agent
 *   memory:sync      memory_consolidate {sessionId?, payload...}
 *   cron:trigger     cron_trigger_job {jobId} (when cronEnabled); the result is the run
 *   custom           nothing more: the system-event on the stream is its delivery
 * A command nobody provides is reported as such in the event's error. The event being acted
 * on is kept in heartbeat_state (inFlight): after a crash it is reported interrupted, not
 * run a second time.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-heartbeat-plugin.h"

#define CHECK_IN_TITLE "Heartbeat check-in"

typedef struct
{
  CwHeartbeatPlugin *self;
  JsonObject *event;
  gchar *command;
} Action;

static void drain_next (CwHeartbeatPlugin *self);

static void
action_free (Action *action)
{
  g_object_unref (action->self);
  json_object_unref (action->event);
  g_free (action->command);
  g_free (action);
}

void
cw_heartbeat_actions_processed (CwHeartbeatPlugin *self, JsonObject *event, JsonNode *result,
                                const gchar *error)
{
  JsonObject *data = json_object_new ();

  json_object_set_object_member (data, "event", json_object_ref (event));
  json_object_set_boolean_member (data, "success", error == NULL);
  if (error != NULL)
    json_object_set_string_member (data, "error", error);
  else
    json_object_set_member (
        data, "result", result != NULL ? json_node_copy (result) : json_node_new (JSON_NODE_NULL));
  json_object_set_int_member (data, "processedAt", cw_plugin_schedule_get_now (CW_PLUGIN (self)));
  cw_plugin_emit (CW_PLUGIN (self), "event:processed",
                  json_object_get_string_member_with_default (event, "sessionId", NULL), data);
}

static void
finish (CwHeartbeatPlugin *self, JsonObject *event, JsonNode *result, const gchar *error)
{
  g_autoptr (GError) local = NULL;

  if (error != NULL)
    {
      self->failed++;
      g_free (self->last_error);
      self->last_error = g_strdup (error);
      g_message ("%s %s: %s", json_object_get_string_member (event, "type"),
                 json_object_get_string_member (event, "id"), error);
    }
  else
    self->processed++;
  cw_heartbeat_actions_processed (self, event, result, error);
  g_clear_pointer (&self->in_flight, json_object_unref);
  if (!cw_heartbeat_state_set (self->store, "inFlight", NULL, &local))
    g_warning ("%s", local->message);
  drain_next (self);
}

/* A short summary of daemon_health: what a person would look at. */
static JsonNode *
health_summary (JsonNode *reply)
{
  JsonObject *health = json_node_get_object (reply);
  JsonObject *out = json_object_new ();
  JsonArray *failed = json_array_new ();
  JsonNode *plugins = json_object_get_member (health, "plugins");
  JsonNode *warnings = json_object_get_member (health, "warnings");

  json_object_set_string_member (out, "status",
                                 json_object_get_string_member_with_default (health, "status", ""));
  json_object_set_boolean_member (
      out, "degraded", json_object_get_boolean_member_with_default (health, "degraded", FALSE));
  if (plugins != NULL && JSON_NODE_HOLDS_ARRAY (plugins))
    for (guint i = 0; i < json_array_get_length (json_node_get_array (plugins)); i++)
      {
        JsonObject *p = json_array_get_object_element (json_node_get_array (plugins), i);
        if (p != NULL
            && g_strcmp0 (json_object_get_string_member_with_default (p, "state", NULL), "running")
                   != 0)
          json_array_add_string_element (
              failed, json_object_get_string_member_with_default (p, "name", "?"));
      }
  json_object_set_array_member (out, "failedPlugins", failed);
  json_object_set_member (out, "warnings",
                          warnings != NULL
                              ? json_node_copy (warnings)
                              : json_node_init_array (json_node_alloc (), json_array_new ()));
  return json_node_init_object (json_node_alloc (), out);
}

static void
on_replied (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Action *action = user_data;
  const gchar *type = json_object_get_string_member (action->event, "type");
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) reply = cw_plugin_call_finish (CW_PLUGIN (source), res, &error);
  g_autoptr (JsonNode) result = NULL;
  g_autofree gchar *message = NULL;

  if (reply == NULL
      && (g_error_matches (error, CW_ERROR, CW_ERROR_UNKNOWN_COMMAND)
          || g_error_matches (error, CW_ERROR, CW_ERROR_NOT_SUPPORTED)))
    message = g_strdup_printf ("%s: no running plugin has the %s command (%s)", type,
                               action->command, error->message);
  else if (reply == NULL)
    message = g_strdup_printf ("%s: %s failed: %s", type, action->command, error->message);
  else if (g_str_equal (type, "health:check") && JSON_NODE_HOLDS_OBJECT (reply))
    result = health_summary (reply);
  else
    result = json_node_ref (reply);
  if (!action->self->stopping)
    finish (action->self, action->event, result, message);
  action_free (action);
}

static void
call (CwHeartbeatPlugin *self, JsonObject *event, const gchar *command, JsonObject *params)
{
  Action *action = g_new0 (Action, 1);
  g_autoptr (JsonNode) node = json_node_init_object (json_node_alloc (), params);

  action->self = g_object_ref (self);
  action->event = json_object_ref (event);
  action->command = g_strdup (command);
  cw_plugin_call (CW_PLUGIN (self), NULL, command, node, NULL, on_replied, action);
  json_object_unref (params);
}

static const gchar *
payload_string (JsonObject *event, const gchar *name)
{
  JsonObject *payload = json_object_has_member (event, "payload")
                            ? json_object_get_object_member (event, "payload")
                            : NULL;
  JsonNode *node = payload != NULL ? json_object_get_member (payload, name) : NULL;

  return node != NULL && json_node_get_value_type (node) == G_TYPE_STRING
             ? json_node_get_string (node)
             : NULL;
}

static const gchar *
session_of (JsonObject *event)
{
  const gchar *id = json_object_get_string_member_with_default (event, "sessionId", NULL);

  return id != NULL ? id : payload_string (event, "sessionId");
}

static void
act (CwHeartbeatPlugin *self, JsonObject *event)
{
  const gchar *type = json_object_get_string_member (event, "type");
  JsonObject *params = json_object_new ();
  const gchar *session = session_of (event);
  g_autofree gchar *error = NULL;

  if (g_str_equal (type, "health:check"))
    {
      call (self, event, "daemon_health", params);
      return;
    }
  if (g_str_equal (type, "session:compact") || g_str_equal (type, "context:prune"))
    {
      if (session == NULL)
        error = g_strdup_printf ("%s needs a sessionId", type);
      else
        {
          json_object_set_string_member (params, "sessionId", session);
          call (self, event,
                g_str_equal (type, "session:compact") ? "compact_session" : "prune_context",
                params);
          return;
        }
    }
  else if (g_str_equal (type, "memory:sync"))
    {
      if (session != NULL)
        json_object_set_string_member (params, "sessionId", session);
      call (self, event, "memory_consolidate", params);
      return;
    }
  else if (g_str_equal (type, "cron:trigger"))
    {
      const gchar *job = payload_string (event, "jobId");
      if (!cw_heartbeat_config_get_boolean (self->config, "cronEnabled"))
        error = g_strdup ("cron:trigger: not run, cronEnabled is false");
      else if (job == NULL)
        error = g_strdup ("cron:trigger needs payload.jobId");
      else
        {
          json_object_set_string_member (params, "jobId", job);
          call (self, event, "cron_trigger_job", params);
          return;
        }
    }
  json_object_unref (params);
  if (error == NULL) /* custom: the system-event was its delivery */
    {
      g_autoptr (JsonNode) delivered
          = json_node_init_object (json_node_alloc (), json_object_new ());
      json_object_set_boolean_member (json_node_get_object (delivered), "delivered", TRUE);
      finish (self, event, delivered, NULL);
    }
  else
    finish (self, event, NULL, error);
}

static gboolean
drain_idle (gpointer user_data)
{
  CwHeartbeatPlugin *self = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) event = NULL;
  JsonObject *data;

  if (self->stopping || !cw_heartbeat_config_get_boolean (self->config, "systemEventsEnabled"))
    {
      self->processing = FALSE;
      return G_SOURCE_REMOVE;
    }
  event = cw_heartbeat_queue_pop (self, &error);
  if (event == NULL)
    {
      if (error != NULL)
        g_warning ("the heartbeat queue cannot be read: %s", error->message);
      self->processing = FALSE;
      return G_SOURCE_REMOVE;
    }
  self->in_flight = json_object_ref (event);
  g_clear_error (&error);
  if (!cw_heartbeat_state_set_object (self->store, "inFlight", event, &error))
    g_warning ("%s", error->message);
  data = json_object_new ();
  json_object_set_object_member (data, "event", json_object_ref (event));
  cw_plugin_emit (CW_PLUGIN (self), "system-event",
                  json_object_get_string_member_with_default (event, "sessionId", NULL), data);
  act (self, event);
  return G_SOURCE_REMOVE;
}

/* From the main loop, so a long queue never runs inside one command or one tick. */
static void
drain_next (CwHeartbeatPlugin *self)
{
  g_idle_add_full (G_PRIORITY_DEFAULT, drain_idle, g_object_ref (self), g_object_unref);
}

void
cw_heartbeat_actions_drain (CwHeartbeatPlugin *self)
{
  if (self->processing || self->queue->len == 0
      || !cw_heartbeat_config_get_boolean (self->config, "systemEventsEnabled"))
    return;
  self->processing = TRUE;
  drain_next (self);
}

void
cw_heartbeat_actions_report_interrupted (CwHeartbeatPlugin *self)
{
  g_autoptr (JsonNode) node = cw_heartbeat_state_get (self->store, "inFlight");
  g_autoptr (GError) error = NULL;

  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    return;
  self->failed++;
  cw_heartbeat_actions_processed (self, json_node_get_object (node), NULL,
                                  "Interrupted: the daemon stopped while this event was acted "
                                  "on; it is not run again");
  if (!cw_heartbeat_state_set (self->store, "inFlight", NULL, &error))
    g_warning ("%s", error->message);
}

/* ---- the check-in prompt ------------------------------------------------------------- */

static void send_check_in (CwHeartbeatPlugin *self, const gchar *session_id);

static void
check_in_done (CwHeartbeatPlugin *self, const gchar *session_id, const gchar *error)
{
  JsonObject *data = json_object_new ();

  self->checking_in = FALSE;
  g_clear_pointer (&self->last_check_in, json_object_unref);
  self->last_check_in = json_object_new ();
  json_object_set_int_member (self->last_check_in, "at",
                              cw_plugin_schedule_get_now (CW_PLUGIN (self)));
  if (session_id != NULL)
    json_object_set_string_member (self->last_check_in, "sessionId", session_id);
  else
    json_object_set_null_member (self->last_check_in, "sessionId");
  json_object_set_boolean_member (self->last_check_in, "success", error == NULL);
  if (error != NULL)
    {
      json_object_set_string_member (self->last_check_in, "error", error);
      g_message ("check-in: %s", error);
    }
  else
    json_object_set_null_member (self->last_check_in, "error");
  json_object_set_int_member (data, "timestamp",
                              json_object_get_int_member (self->last_check_in, "at"));
  json_object_set_member (
      data, "sessionId",
      json_node_copy (json_object_get_member (self->last_check_in, "sessionId")));
  json_object_set_boolean_member (data, "success", error == NULL);
  json_object_set_member (data, "error",
                          json_node_copy (json_object_get_member (self->last_check_in, "error")));
  cw_plugin_emit (CW_PLUGIN (self), "heartbeat:check_in", session_id, data);
}

typedef struct
{
  CwHeartbeatPlugin *self;
  gchar *session;
} CheckIn;

static void
on_check_in_replied (GObject *source, GAsyncResult *res, gpointer user_data)
{
  CheckIn *check_in = user_data;
  CwHeartbeatPlugin *self = check_in->self;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) reply = cw_plugin_call_finish (CW_PLUGIN (source), res, &error);
  g_autofree gchar *session = check_in->session;
  g_autofree gchar *message = NULL;

  if (reply == NULL)
    {
      message = g_strdup_printf ("send_message failed: %s", error->message);
      /* The session the plugin made is gone: the next check-in makes a new one. */
      if (g_error_matches (error, CW_ERROR, CW_ERROR_NOT_FOUND)
          && cw_heartbeat_config_get_string (self->config, "checkInSessionId") == NULL)
        {
          g_clear_pointer (&self->check_in_session, g_free);
          cw_heartbeat_state_set (self->store, "checkInSession", NULL, NULL);
        }
    }
  check_in_done (self, session, message);
  g_object_unref (self);
  g_free (check_in);
}

static void
on_check_in_session (GObject *source, GAsyncResult *res, gpointer user_data)
{
  CwHeartbeatPlugin *self = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) reply = cw_plugin_call_finish (CW_PLUGIN (source), res, &error);
  const gchar *id = NULL;

  if (reply != NULL && JSON_NODE_HOLDS_OBJECT (reply))
    id = json_object_get_string_member_with_default (json_node_get_object (reply), "id", NULL);
  if (id == NULL)
    {
      g_autofree gchar *message = g_strdup_printf (
          "create_session failed: %s", error != NULL ? error->message : "no session id");
      check_in_done (self, NULL, message);
    }
  else
    {
      g_autoptr (JsonNode) node = json_node_init_string (json_node_alloc (), id);
      g_autoptr (GError) local = NULL;

      g_free (self->check_in_session);
      self->check_in_session = g_strdup (id);
      if (!cw_heartbeat_state_set (self->store, "checkInSession", node, &local))
        g_warning ("%s", local->message);
      send_check_in (self, id);
    }
  g_object_unref (self);
}

static void
send_check_in (CwHeartbeatPlugin *self, const gchar *session_id)
{
  g_autoptr (JsonNode) params = json_node_init_object (json_node_alloc (), json_object_new ());
  JsonObject *obj = json_node_get_object (params);
  CheckIn *check_in = g_new0 (CheckIn, 1);

  check_in->self = g_object_ref (self);
  check_in->session = g_strdup (session_id);
  json_object_set_string_member (obj, "sessionId", session_id);
  json_object_set_string_member (obj, "content",
                                 cw_heartbeat_config_get_string (self->config, "checkInPrompt"));
  cw_plugin_call (CW_PLUGIN (self), NULL, "send_message", params, NULL, on_check_in_replied,
                  check_in);
}

void
cw_heartbeat_actions_check_in (CwPlugin *plugin, const gchar *job_id, gint64 scheduled_ms,
                               CwScheduleFireFlags flags, gpointer user_data)
{
  CwHeartbeatPlugin *self = CW_HEARTBEAT_PLUGIN (plugin);
  const gchar *session = cw_heartbeat_config_get_string (self->config, "checkInSessionId");
  const gchar *dir = cw_heartbeat_config_get_string (self->config, "checkInWorkingDirectory");
  g_autoptr (JsonNode) params = NULL;
  JsonObject *obj;

  if ((flags & CW_SCHEDULE_FIRE_SKIPPED) || self->stopping || !self->running)
    return;
  if (self->checking_in)
    {
      g_message ("check-in skipped: the previous one has not ended yet");
      return;
    }
  self->checking_in = TRUE;
  if (session == NULL)
    session = self->check_in_session;
  if (session != NULL)
    {
      send_check_in (self, session);
      return;
    }
  params = json_node_init_object (json_node_alloc (), json_object_new ());
  obj = json_node_get_object (params);
  json_object_set_string_member (obj, "workingDirectory", dir != NULL ? dir : g_get_home_dir ());
  json_object_set_string_member (obj, "type", "isolated");
  json_object_set_string_member (obj, "title", CHECK_IN_TITLE);
  cw_plugin_call (plugin, NULL, "create_session", params, NULL, on_check_in_session,
                  g_object_ref (self));
}
