/* cw-plugin.c: the base class of every plugin and the runners that call into plugins.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cowork-host.h"
#include "cw-plugin-private.h"
#include "cw-scheduler-private.h"

typedef struct
{
  gchar *name;
  gchar *path;
  CwContext *context;
  CwPluginState state;
  gchar *error;
  GPtrArray *commands;
  GPtrArray *start_after;
  GArray *listeners;         /* guint ids on the bus */
  GCancellable *cancellable; /* of a running start/stop */
} CwPluginPrivate;

G_DEFINE_TYPE_WITH_PRIVATE (CwPlugin, cw_plugin, G_TYPE_OBJECT)
#define GET_PRIVATE(o) ((CwPluginPrivate *) cw_plugin_get_instance_private (o))

static void
cw_plugin_finalize (GObject *object)
{
  CwPluginPrivate *priv = GET_PRIVATE (CW_PLUGIN (object));

  g_free (priv->name);
  g_free (priv->path);
  g_free (priv->error);
  g_ptr_array_unref (priv->commands);
  g_ptr_array_unref (priv->start_after);
  g_array_unref (priv->listeners);
  g_clear_object (&priv->cancellable);
  g_clear_object (&priv->context);
  G_OBJECT_CLASS (cw_plugin_parent_class)->finalize (object);
}

static void
cw_plugin_class_init (CwPluginClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = cw_plugin_finalize;
}

static void
cw_plugin_init (CwPlugin *self)
{
  GET_PRIVATE (self)->commands = g_ptr_array_new_with_free_func (g_free);
  GET_PRIVATE (self)->start_after = g_ptr_array_new_with_free_func (g_free);
  GET_PRIVATE (self)->listeners = g_array_new (FALSE, FALSE, sizeof (guint));
}

void
cw_plugin_setup (CwPlugin *self, const gchar *name, const gchar *path, CwContext *context)
{
  CwPluginPrivate *priv = GET_PRIVATE (self);

  priv->name = g_strdup (name);
  priv->path = g_strdup (path);
  priv->context = g_object_ref (context);
}

const gchar *
cw_plugin_get_name (CwPlugin *self)
{
  g_return_val_if_fail (CW_IS_PLUGIN (self), NULL);
  return GET_PRIVATE (self)->name;
}

CwContext *
cw_plugin_get_context (CwPlugin *self)
{
  g_return_val_if_fail (CW_IS_PLUGIN (self), NULL);
  return GET_PRIVATE (self)->context;
}

CwPluginState
cw_plugin_get_state (CwPlugin *self)
{
  return GET_PRIVATE (self)->state;
}

const gchar *
cw_plugin_state_to_string (CwPluginState state)
{
  switch (state)
    {
      case CW_PLUGIN_STATE_NEW:
        return "new";
      case CW_PLUGIN_STATE_LOADED:
        return "loaded";
      case CW_PLUGIN_STATE_RUNNING:
        return "running";
      case CW_PLUGIN_STATE_DISABLED:
        return "disabled";
      case CW_PLUGIN_STATE_STOPPED:
        return "stopped";
      default:
        return "unknown";
    }
}

gboolean
cw_plugin_add_command_full (CwPlugin *self, const gchar *name, CwCommandFlags flags,
                            CwCommandFunc func, GError **error)
{
  CwPluginPrivate *priv = GET_PRIVATE (self);

  g_return_val_if_fail (CW_IS_PLUGIN (self), FALSE);
  if (!cw_command_registry_add (cw_context_get_registry (priv->context), name, priv->name, flags,
                                func, self, NULL, error))
    return FALSE;
  g_ptr_array_add (priv->commands, g_strdup (name));
  return TRUE;
}

gboolean
cw_plugin_add_command (CwPlugin *self, const gchar *name, CwCommandFunc func, GError **error)
{
  return cw_plugin_add_command_full (self, name, CW_COMMAND_FLAG_NONE, func, error);
}

static void
on_plugin_call_cancelled (GCancellable *cancellable, gpointer caller)
{
  cw_caller_vanish (caller);
}

static void
on_plugin_call_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  GError *error = NULL;
  JsonNode *result = cw_command_registry_call_finish (CW_COMMAND_REGISTRY (source), res, &error);

  if (result == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, result, (GDestroyNotify) json_node_unref);
}

void
cw_plugin_call (CwPlugin *self, CwCaller *caller, const gchar *command, JsonNode *params,
                GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  CwPluginPrivate *priv = GET_PRIVATE (self);
  g_autoptr (CwCaller) own = NULL;
  g_autoptr (GTask) task = NULL;

  g_return_if_fail (CW_IS_PLUGIN (self));
  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, cw_plugin_call);
  if (caller == NULL)
    {
      own = cw_caller_new (CW_CALLER_PLUGIN, -1, priv->name);
      if (cancellable != NULL)
        g_cancellable_connect (cancellable, G_CALLBACK (on_plugin_call_cancelled),
                               cw_caller_ref (own), (GDestroyNotify) cw_caller_unref);
      caller = own;
    }
  cw_command_registry_call (cw_context_get_registry (priv->context), caller, command, params,
                            on_plugin_call_done, g_steal_pointer (&task));
}

JsonNode *
cw_plugin_call_finish (CwPlugin *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

CwCaller *
cw_plugin_new_remote_caller (CwPlugin *self, const gchar *device_id)
{
  g_return_val_if_fail (CW_IS_PLUGIN (self), NULL);
  g_return_val_if_fail (device_id != NULL && *device_id != '\0', NULL);
  return cw_caller_new (CW_CALLER_REMOTE, -1, device_id);
}

gboolean
cw_plugin_audit (CwPlugin *self, const gchar *action, CwCaller *caller, JsonObject *details,
                 GError **error)
{
  CwPluginPrivate *priv;
  g_autofree gchar *own = NULL;
  g_autofree gchar *full = NULL;
  const gchar *actor;

  g_return_val_if_fail (CW_IS_PLUGIN (self), FALSE);
  g_return_val_if_fail (action != NULL && *action != '\0', FALSE);
  priv = GET_PRIVATE (self);
  if (caller != NULL)
    actor = cw_caller_get_actor (caller);
  else
    actor = own = g_strdup_printf ("plugin:%s", priv->name);
  /* The owner is part of the action, so no plugin can write another's records. */
  full = g_strdup_printf ("%s.%s", priv->name, action);
  return cw_audit_record (cw_context_get_store (priv->context), full, actor, details, error);
}

gint64
cw_plugin_emit (CwPlugin *self, const gchar *type, const gchar *session_id, JsonObject *data)
{
  g_return_val_if_fail (CW_IS_PLUGIN (self), 0);
  return cw_event_bus_emit (cw_context_get_event_bus (GET_PRIVATE (self)->context), type,
                            session_id, data);
}

/* Its scheduled jobs stop firing; their stored state waits for the next start. */
static void
stop_jobs (CwPlugin *self)
{
  CwPluginPrivate *priv = GET_PRIVATE (self);
  CwScheduler *scheduler = cw_context_get_scheduler (priv->context);

  if (scheduler != NULL)
    cw_scheduler_remove_owner (scheduler, priv->name);
}

CwEventConsumer *
cw_plugin_add_event_consumer (CwPlugin *self, const gchar *name, const gchar *const *prefixes,
                              CwEventConsumerFunc func, CwEventGapFunc gap_func, gpointer user_data,
                              GDestroyNotify destroy, GError **error)
{
  CwPluginPrivate *priv;

  g_return_val_if_fail (CW_IS_PLUGIN (self), NULL);
  priv = GET_PRIVATE (self);
  return cw_event_bus_add_consumer (cw_context_get_event_bus (priv->context), priv->name, name,
                                    prefixes, func, gap_func, user_data, destroy, error);
}

gboolean
cw_plugin_remove_event_consumer (CwPlugin *self, const gchar *name, gboolean forget)
{
  g_return_val_if_fail (CW_IS_PLUGIN (self), FALSE);
  return cw_event_bus_remove_consumer (cw_context_get_event_bus (GET_PRIVATE (self)->context),
                                       GET_PRIVATE (self)->name, name, forget);
}

/* ---- agent tools -------------------------------------------------------------------- */

gboolean
cw_plugin_add_agent_tool (CwPlugin *self, const gchar *name, const gchar *description,
                          const gchar *parameters_json, const gchar *command,
                          CwAgentToolFlags flags, GError **error)
{
  g_return_val_if_fail (CW_IS_PLUGIN (self), FALSE);
  return cw_context_add_agent_tool (GET_PRIVATE (self)->context, GET_PRIVATE (self)->name, name,
                                    description, parameters_json, command, flags, error);
}

gboolean
cw_plugin_remove_agent_tool (CwPlugin *self, const gchar *name)
{
  g_return_val_if_fail (CW_IS_PLUGIN (self), FALSE);
  return cw_context_remove_agent_tool (GET_PRIVATE (self)->context, GET_PRIVATE (self)->name, name);
}

void
cw_plugin_reserve_agent_tool (CwPlugin *self, const gchar *name)
{
  g_return_if_fail (CW_IS_PLUGIN (self));
  cw_context_reserve_agent_tool (GET_PRIVATE (self)->context, GET_PRIVATE (self)->name, name);
}

/* ---- bootstrap contributions --------------------------------------------------------- */

void
cw_plugin_add_bootstrap_sessions (CwPlugin *self, CwBootstrapFunc func, gpointer user_data)
{
  g_return_if_fail (CW_IS_PLUGIN (self));
  cw_context_add_bootstrap_contributor (GET_PRIVATE (self)->context, GET_PRIVATE (self)->name, func,
                                        user_data);
}

gboolean
cw_plugin_add_bootstrap_member (CwPlugin *self, const gchar *name, CwBootstrapMemberFunc func,
                                gpointer user_data, GError **error)
{
  g_return_val_if_fail (CW_IS_PLUGIN (self), FALSE);
  return cw_context_add_bootstrap_member (GET_PRIVATE (self)->context, GET_PRIVATE (self)->name,
                                          name, func, user_data, error);
}

/* ---- pending interactions ------------------------------------------------------------ */

CwInteraction *
cw_plugin_add_interaction (CwPlugin *self, CwInteractionKind kind, const gchar *session_id,
                           JsonObject *payload, JsonObject *data, gint64 expires_at, GError **error)
{
  CwPluginPrivate *priv;

  g_return_val_if_fail (CW_IS_PLUGIN (self), NULL);
  priv = GET_PRIVATE (self);
  return cw_interactions_create (cw_context_get_interactions (priv->context), priv->name, kind,
                                 session_id, payload, data, expires_at, error);
}

void
cw_plugin_watch_interactions (CwPlugin *self, CwInteractionKind kind, CwInteractionFunc func,
                              gpointer user_data)
{
  CwPluginPrivate *priv;

  g_return_if_fail (CW_IS_PLUGIN (self));
  priv = GET_PRIVATE (self);
  cw_interactions_watch (cw_context_get_interactions (priv->context), priv->name, kind, func,
                         user_data);
}

GPtrArray *
cw_plugin_list_interactions (CwPlugin *self, CwInteractionKind kind)
{
  CwPluginPrivate *priv;

  g_return_val_if_fail (CW_IS_PLUGIN (self), NULL);
  priv = GET_PRIVATE (self);
  return cw_interactions_list_open (cw_context_get_interactions (priv->context), priv->name, kind);
}

static CwHttpServer *
http_server (CwPlugin *self, GError **error)
{
  CwHttpServer *server = cw_context_get_http_server (GET_PRIVATE (self)->context);

  if (server == NULL)
    g_set_error_literal (error, CW_ERROR, CW_ERROR_NOT_SUPPORTED, "this host runs no HTTP server");
  return server;
}

gboolean
cw_plugin_add_http_route (CwPlugin *self, const gchar *path, CwHttpHandlerFunc func,
                          gpointer user_data, GDestroyNotify destroy, GError **error)
{
  CwHttpServer *server;

  g_return_val_if_fail (CW_IS_PLUGIN (self), FALSE);
  server = http_server (self, error);
  return server != NULL
         && cw_http_server_add_route (server, GET_PRIVATE (self)->name, path, func, user_data,
                                      destroy, error);
}

gboolean
cw_plugin_add_websocket_route (CwPlugin *self, const gchar *path, const gchar *const *protocols,
                               CwWebsocketFunc func, gpointer user_data, GDestroyNotify destroy,
                               GError **error)
{
  CwHttpServer *server;

  g_return_val_if_fail (CW_IS_PLUGIN (self), FALSE);
  server = http_server (self, error);
  return server != NULL
         && cw_http_server_add_websocket_route (server, GET_PRIVATE (self)->name, path, protocols,
                                                func, user_data, destroy, error);
}

guint
cw_plugin_remove_http_routes (CwPlugin *self)
{
  CwHttpServer *server;

  g_return_val_if_fail (CW_IS_PLUGIN (self), 0);
  server = cw_context_get_http_server (GET_PRIVATE (self)->context);
  return server != NULL ? cw_http_server_remove_owner (server, GET_PRIVATE (self)->name) : 0;
}

/* Everything registered in the plugin's name except its commands: scheduled jobs stop
 * firing, durable consumers are closed (their stored state waits for the next start) and
 * HTTP routes go. */
guint
cw_plugin_add_event_listener (CwPlugin *self, const gchar *type_prefix, CwEventListenerFunc func,
                              gpointer user_data, GDestroyNotify destroy)
{
  CwPluginPrivate *priv;
  guint id;

  g_return_val_if_fail (CW_IS_PLUGIN (self), 0);
  priv = GET_PRIVATE (self);
  id = cw_event_bus_add_listener (cw_context_get_event_bus (priv->context), type_prefix, func,
                                  user_data, destroy);
  g_array_append_val (priv->listeners, id);
  return id;
}

void
cw_plugin_remove_event_listener (CwPlugin *self, guint id)
{
  CwPluginPrivate *priv;

  g_return_if_fail (CW_IS_PLUGIN (self));
  priv = GET_PRIVATE (self);
  for (guint i = 0; i < priv->listeners->len; i++)
    if (g_array_index (priv->listeners, guint, i) == id)
      {
        cw_event_bus_remove_listener (cw_context_get_event_bus (priv->context), id);
        g_array_remove_index_fast (priv->listeners, i);
        return;
      }
}

static void
remove_listeners (CwPlugin *self)
{
  CwPluginPrivate *priv = GET_PRIVATE (self);

  for (guint i = 0; i < priv->listeners->len; i++)
    cw_event_bus_remove_listener (cw_context_get_event_bus (priv->context),
                                  g_array_index (priv->listeners, guint, i));
  g_array_set_size (priv->listeners, 0);
}

static void
drop_registrations (CwPlugin *self)
{
  CwPluginPrivate *priv = GET_PRIVATE (self);

  stop_jobs (self);
  remove_listeners (self);
  cw_event_bus_remove_consumers (cw_context_get_event_bus (priv->context), priv->name);
  /* Bootstrap contributions, interaction watchers (its interactions stay stored) and agent
   * tools. */
  cw_context_remove_owner (priv->context, priv->name);
  cw_plugin_remove_http_routes (self);
}

void
cw_plugin_add_start_after (CwPlugin *self, const gchar *other)
{
  g_return_if_fail (CW_IS_PLUGIN (self));
  g_return_if_fail (other != NULL);
  g_ptr_array_add (GET_PRIVATE (self)->start_after, g_strdup (other));
}

GPtrArray *
cw_plugin_get_start_after (CwPlugin *self)
{
  return GET_PRIVATE (self)->start_after;
}

void
cw_plugin_runner_disable (CwPlugin *self, const gchar *message)
{
  CwPluginPrivate *priv = GET_PRIVATE (self);
  g_autofree gchar *why = NULL;

  if (priv->state == CW_PLUGIN_STATE_DISABLED)
    return;
  priv->state = CW_PLUGIN_STATE_DISABLED;
  g_free (priv->error);
  priv->error = g_strdup (message);
  if (priv->cancellable != NULL)
    g_cancellable_cancel (priv->cancellable);
  why = g_strdup_printf ("the plugin that owns it is disabled (%s)", message);
  cw_command_registry_remove_owner (cw_context_get_registry (priv->context), priv->name, why);
  g_ptr_array_set_size (priv->commands, 0);
  drop_registrations (self);
  g_warning ("plugin %s disabled: %s", priv->name, message);
}

/* Prefixes the plugin's name, turns a FALSE without error into one, and disables. */
static void
fail_step (CwPlugin *self, const gchar *step, GError **local_error, GError **error)
{
  CwPluginPrivate *priv = GET_PRIVATE (self);

  if (*local_error == NULL)
    *local_error = g_error_new (CW_ERROR, CW_ERROR_INTERNAL, "%s failed without an error", step);
  g_prefix_error (local_error, "%s: ", priv->name);
  cw_plugin_runner_disable (self, (*local_error)->message);
  g_propagate_error (error, g_steal_pointer (local_error));
}

gboolean
cw_plugin_runner_load (CwPlugin *self, GError **error)
{
  CwPluginPrivate *priv = GET_PRIVATE (self);
  g_autoptr (GError) local_error = NULL;

  if (priv->state == CW_PLUGIN_STATE_DISABLED)
    return TRUE;
  if (CW_PLUGIN_GET_CLASS (self)->load != NULL
      && !CW_PLUGIN_GET_CLASS (self)->load (self, &local_error))
    {
      fail_step (self, "load", &local_error, error);
      return FALSE;
    }
  priv->state = CW_PLUGIN_STATE_LOADED;
  return TRUE;
}

static void
on_start_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  CwPlugin *self = g_task_get_source_object (task);
  GError *error = NULL;

  if (!CW_PLUGIN_GET_CLASS (self)->start_finish (self, res, &error))
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

void
cw_plugin_runner_start_async (CwPlugin *self, GAsyncReadyCallback callback, gpointer user_data)
{
  CwPluginPrivate *priv = GET_PRIVATE (self);
  CwPluginClass *klass = CW_PLUGIN_GET_CLASS (self);
  g_autoptr (GTask) task = g_task_new (self, NULL, callback, user_data);
  GError *error = NULL;

  g_task_set_source_tag (task, cw_plugin_runner_start_async);
  if (priv->state == CW_PLUGIN_STATE_DISABLED)
    {
      g_task_return_boolean (task, TRUE);
      return;
    }
  g_clear_object (&priv->cancellable);
  priv->cancellable = g_cancellable_new ();
  if (klass->start_async != NULL && klass->start_finish != NULL)
    {
      klass->start_async (self, priv->cancellable, on_start_done, g_steal_pointer (&task));
      return;
    }
  if (klass->start != NULL && !klass->start (self, &error))
    {
      if (error == NULL)
        error = g_error_new (CW_ERROR, CW_ERROR_INTERNAL, "start failed without an error");
      g_task_return_error (task, error);
      return;
    }
  g_task_return_boolean (task, TRUE);
}

gboolean
cw_plugin_runner_start_finish (CwPlugin *self, GAsyncResult *result, GError **error)
{
  CwPluginPrivate *priv = GET_PRIVATE (self);
  g_autoptr (GError) local_error = NULL;

  if (priv->state == CW_PLUGIN_STATE_DISABLED) /* timed out and disabled meanwhile */
    return FALSE;
  if (!g_task_propagate_boolean (G_TASK (result), &local_error))
    {
      fail_step (self, "start", &local_error, error);
      return FALSE;
    }
  priv->state = CW_PLUGIN_STATE_RUNNING;
  return TRUE;
}

static void
on_stop_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  CwPlugin *self = g_task_get_source_object (task);

  CW_PLUGIN_GET_CLASS (self)->stop_finish (self, res);
  g_task_return_boolean (task, TRUE);
}

void
cw_plugin_runner_stop_async (CwPlugin *self, GAsyncReadyCallback callback, gpointer user_data)
{
  CwPluginPrivate *priv = GET_PRIVATE (self);
  CwPluginClass *klass = CW_PLUGIN_GET_CLASS (self);
  g_autoptr (GTask) task = g_task_new (self, NULL, callback, user_data);

  g_task_set_source_tag (task, cw_plugin_runner_stop_async);
  if (priv->state != CW_PLUGIN_STATE_RUNNING && priv->state != CW_PLUGIN_STATE_LOADED)
    {
      g_task_return_boolean (task, TRUE);
      return;
    }
  priv->state = CW_PLUGIN_STATE_STOPPED;
  /* Nothing more reaches a stopping plugin. */
  drop_registrations (self);
  g_clear_object (&priv->cancellable);
  priv->cancellable = g_cancellable_new ();
  if (klass->stop_async != NULL && klass->stop_finish != NULL)
    {
      klass->stop_async (self, priv->cancellable, on_stop_done, g_steal_pointer (&task));
      return;
    }
  if (klass->stop != NULL)
    klass->stop (self);
  g_task_return_boolean (task, TRUE);
}

void
cw_plugin_runner_stop_finish (CwPlugin *self, GAsyncResult *result)
{
  g_task_propagate_boolean (G_TASK (result), NULL);
}

JsonObject *
cw_plugin_runner_get_health (CwPlugin *self)
{
  CwPluginPrivate *priv = GET_PRIVATE (self);
  JsonObject *obj = json_object_new ();
  JsonArray *commands = json_array_new ();

  json_object_set_string_member (obj, "name", priv->name);
  json_object_set_string_member (obj, "state", cw_plugin_state_to_string (priv->state));
  if (priv->path != NULL)
    json_object_set_string_member (obj, "path", priv->path);
  if (priv->error != NULL)
    json_object_set_string_member (obj, "error", priv->error);
  for (guint i = 0; i < priv->commands->len; i++)
    json_array_add_string_element (commands, g_ptr_array_index (priv->commands, i));
  json_object_set_array_member (obj, "commands", commands);
  if (priv->state == CW_PLUGIN_STATE_RUNNING && CW_PLUGIN_GET_CLASS (self)->get_health != NULL)
    {
      JsonObject *extra = CW_PLUGIN_GET_CLASS (self)->get_health (self);
      if (extra != NULL)
        json_object_set_object_member (obj, "details", extra);
    }
  return obj;
}
