/* cw-integrations-plugin.c: the integrations plugin: chat platforms reach the agent
 * (contract §3).
 *
 * Life cycle: load migrates the tables and registers the commands; start imports the
 * original's config once, marks sends left in flight by a crash as unknown, routes inbound
 * messages received but not answered before the stop, and then starts connecting every
 * enabled platform at once, in the background: the daemon is READY before any platform
 * answers. Timed work (reconnects, health checks, outbox retries) is on the scheduler.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-integrations-plugin.h"

#include <string.h>

G_DEFINE_FINAL_TYPE (CwIntegrationsPlugin, cw_integrations_plugin, CW_TYPE_PLUGIN)

#define DEFAULT_HEALTH_INTERVAL_MS 60000
#define DEFAULT_BACKOFF_BASE_MS    1000
#define DEFAULT_BACKOFF_MAX_MS     300000
#define DEFAULT_RETRY_BASE_MS      2000
#define DEFAULT_MAX_ATTEMPTS       8
#define DEFAULT_MERGE_THRESHOLD    5
#define DEFAULT_MAX_MEDIA_BYTES    52428800 /* 50 MiB, contract §3.7 */

gint64
cw_integrations_plugin_now (CwIntegrationsPlugin *self)
{
  return cw_plugin_schedule_get_now (CW_PLUGIN (self));
}

void
cw_integrations_plugin_emit_error (CwIntegrationsPlugin *self, const gchar *code,
                                   const gchar *format, ...)
{
  JsonObject *data = json_object_new ();
  g_autofree gchar *message = NULL;
  va_list ap;

  va_start (ap, format);
  message = g_strdup_vprintf (format, ap);
  va_end (ap);
  json_object_set_string_member (data, "error", message);
  json_object_set_string_member (data, "code", code);
  cw_plugin_emit (CW_PLUGIN (self), "error", NULL, data);
}

/* ---- the scheduler ------------------------------------------------------------------------- */

static void
on_fire (CwPlugin *plugin, const gchar *job_id, gint64 scheduled_ms, CwScheduleFireFlags flags,
         gpointer user_data)
{
  CwIntegrationsPlugin *self = CW_INTEGRATIONS_PLUGIN (plugin);

  if (flags & CW_SCHEDULE_FIRE_SKIPPED)
    return;
  if (g_str_has_prefix (job_id, "reconnect:"))
    {
      CwIntegrationsLink *link
          = cw_integrations_plugin_get_link (self, job_id + strlen ("reconnect:"));
      if (link != NULL)
        cw_integrations_link_reconnect_due (link);
    }
  else if (g_str_equal (job_id, "outbox"))
    cw_integrations_outbox_flush (self, NULL);
  else if (g_str_equal (job_id, "health"))
    {
      GHashTableIter iter;
      gpointer value;
      g_hash_table_iter_init (&iter, self->links);
      while (g_hash_table_iter_next (&iter, NULL, &value))
        cw_integrations_link_check_health (value);
    }
}

void
cw_integrations_plugin_schedule (CwIntegrationsPlugin *self, const gchar *job_id, gint64 at_ms)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (CwSchedule) at = cw_schedule_new_at (at_ms, &error);

  if (at == NULL
      || !cw_plugin_schedule_add (CW_PLUGIN (self), job_id, at, CW_MISSED_POLICY_ONCE, on_fire,
                                  NULL, NULL, &error))
    g_warning ("cannot schedule %s: %s", job_id, error->message);
}

void
cw_integrations_plugin_unschedule (CwIntegrationsPlugin *self, const gchar *job_id)
{
  cw_plugin_schedule_remove (CW_PLUGIN (self), job_id, NULL);
}

/* ---- bootstrap ------------------------------------------------------------------------------ */

static void
append_statuses (GString *out, gpointer user_data)
{
  CwIntegrationsPlugin *self = user_data;

  g_string_append_c (out, '[');
  for (const CwIntegrationPlatform *p = cw_integrations_platforms (); p->id != NULL; p++)
    {
      g_autoptr (JsonObject) status
          = cw_integrations_link_status (cw_integrations_plugin_get_link (self, p->id));
      if (p != cw_integrations_platforms ())
        g_string_append_c (out, ',');
      cw_json_append_object (out, status);
    }
  g_string_append_c (out, ']');
}

/* ---- the agent's events --------------------------------------------------------------------- */

static void
on_agent_event (CwEventConsumer *consumer, CwEvent *event, gpointer user_data)
{
  cw_integrations_router_handle_event (CW_INTEGRATIONS_PLUGIN (user_data), event);
  cw_event_consumer_ack (consumer, cw_event_get_seq (event));
}

/* ---- life cycle ----------------------------------------------------------------------------- */

static gboolean
cw_integrations_plugin_load (CwPlugin *plugin, GError **error)
{
  CwIntegrationsPlugin *self = CW_INTEGRATIONS_PLUGIN (plugin);
  CwContext *context = cw_plugin_get_context (plugin);
  CwConfig *config = cw_context_get_config (context);

  self->store = cw_context_get_store (context);
  self->secrets = cw_context_get_secrets (context);
  self->health_interval_ms = CLAMP (
      cw_config_get_int (config, "integrations", "health-interval-ms", DEFAULT_HEALTH_INTERVAL_MS),
      1000, 3600000);
  self->backoff_base_ms = CLAMP (
      cw_config_get_int (config, "integrations", "backoff-base-ms", DEFAULT_BACKOFF_BASE_MS), 100,
      600000);
  self->backoff_max_ms
      = CLAMP (cw_config_get_int (config, "integrations", "backoff-max-ms", DEFAULT_BACKOFF_MAX_MS),
               self->backoff_base_ms, 3600000);
  self->outbox_retry_base_ms
      = CLAMP (cw_config_get_int (config, "integrations", "retry-base-ms", DEFAULT_RETRY_BASE_MS),
               100, 600000);
  self->outbox_max_attempts = CLAMP (
      cw_config_get_int (config, "integrations", "max-attempts", DEFAULT_MAX_ATTEMPTS), 1, 100);
  self->merge_threshold = CLAMP (
      cw_config_get_int (config, "integrations", "merge-threshold", DEFAULT_MERGE_THRESHOLD), 2,
      1000);
  self->max_media_bytes = DEFAULT_MAX_MEDIA_BYTES;
  self->media_dir
      = g_build_filename (cw_config_get_app_data_dir (config), "integrations", "media", NULL);
  if (g_getenv ("COWORK_INTEGRATION_MAX_MEDIA_BYTES") != NULL)
    self->max_media_bytes
        = MAX (0, g_ascii_strtoll (g_getenv ("COWORK_INTEGRATION_MAX_MEDIA_BYTES"), NULL, 10));
  for (const CwIntegrationPlatform *p = cw_integrations_platforms (); p->id != NULL; p++)
    g_hash_table_insert (self->links, (gpointer) p->id, cw_integrations_link_new (self, p));
  cw_plugin_add_start_after (plugin, "agent");
  return cw_integrations_schema_migrate (self, error)
         && cw_integrations_commands_register (self, error)
         && cw_plugin_add_bootstrap_member (plugin, "integrationStatuses", append_statuses, self,
                                            error);
}

static void
connect_enabled (CwIntegrationsPlugin *self)
{
  for (const CwIntegrationPlatform *p = cw_integrations_platforms (); p->id != NULL; p++)
    {
      gboolean enabled = FALSE;
      if (cw_integrations_store_get_platform (self->store, p->id, &enabled, NULL, NULL) && enabled)
        cw_integrations_link_reconnect_due (cw_integrations_plugin_get_link (self, p->id));
    }
}

static void
on_imported (CwIntegrationsPlugin *self, gpointer data)
{
  GTask *task = data;
  g_autoptr (GError) error = NULL;
  static const gchar *const prefixes[]
      = { "stream:start", "stream:chunk",        "stream:done",       "permission:request",
          "question:ask", "permission:resolved", "question:answered", NULL };
  g_autoptr (CwSchedule) health = NULL;

  if (cw_plugin_add_event_consumer (CW_PLUGIN (self), "router", prefixes, on_agent_event, NULL,
                                    self, NULL, &error)
      == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      g_object_unref (task);
      return;
    }
  health
      = cw_schedule_new_every (self->health_interval_ms, cw_integrations_plugin_now (self), NULL);
  if (health != NULL)
    cw_plugin_schedule_add (CW_PLUGIN (self), "health", health, CW_MISSED_POLICY_SKIP, on_fire,
                            NULL, NULL, NULL);
  self->started = TRUE;
  cw_integrations_outbox_recover (self);
  cw_integrations_router_recover (self);
  /* In the background and all at once: READY does not wait for any platform. */
  connect_enabled (self);
  g_task_return_boolean (task, TRUE);
  g_object_unref (task);
}

static void
cw_integrations_plugin_start_async (CwPlugin *plugin, GCancellable *cancellable,
                                    GAsyncReadyCallback callback, gpointer user_data)
{
  CwIntegrationsPlugin *self = CW_INTEGRATIONS_PLUGIN (plugin);
  GTask *task = g_task_new (plugin, cancellable, callback, user_data);

  cw_integrations_import_original (self, on_imported, task);
}

static gboolean
cw_integrations_plugin_start_finish (CwPlugin *plugin, GAsyncResult *result, GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
cw_integrations_plugin_stop (CwPlugin *plugin)
{
  CwIntegrationsPlugin *self = CW_INTEGRATIONS_PLUGIN (plugin);
  GHashTableIter iter;
  gpointer value;

  self->stopping = TRUE;
  g_clear_handle_id (&self->flush_idle, g_source_remove);
  cw_integrations_router_stop (self);
  g_hash_table_iter_init (&iter, self->links);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    cw_integrations_link_disconnect (value);
}

static JsonObject *
cw_integrations_plugin_get_health (CwPlugin *plugin)
{
  CwIntegrationsPlugin *self = CW_INTEGRATIONS_PLUGIN (plugin);
  JsonObject *health = json_object_new ();
  JsonArray *connected = json_array_new ();

  for (const CwIntegrationPlatform *p = cw_integrations_platforms (); p->id != NULL; p++)
    if (((CwIntegrationsLink *) cw_integrations_plugin_get_link (self, p->id))->connected)
      json_array_add_string_element (connected, p->id);
  json_object_set_array_member (health, "connected", connected);
  json_object_set_int_member (health, "inbound", (gint64) self->inbound_count);
  json_object_set_int_member (health, "dispatched", (gint64) self->dispatch_count);
  json_object_set_int_member (health, "runningTurns", g_hash_table_size (self->turns));
  {
    static const gchar *const states[] = { "pending", "sending", "sent", "failed", "unknown" };
    JsonObject *outbox = json_object_new ();
    for (guint i = 0; i < G_N_ELEMENTS (states); i++)
      json_object_set_int_member (
          outbox, states[i], cw_integrations_store_count_outbox (self->store, NULL, states[i]));
    json_object_set_object_member (health, "outbox", outbox);
  }
  return health;
}

static void
cw_integrations_plugin_finalize (GObject *object)
{
  CwIntegrationsPlugin *self = CW_INTEGRATIONS_PLUGIN (object);

  g_hash_table_unref (self->links);
  g_hash_table_unref (self->turns);
  g_hash_table_unref (self->creating);
  g_hash_table_unref (self->sending);
  g_hash_table_unref (self->editing);
  g_hash_table_unref (self->placing);
  g_free (self->qr);
  g_free (self->media_dir);
  G_OBJECT_CLASS (cw_integrations_plugin_parent_class)->finalize (object);
}

static void
cw_integrations_plugin_class_init (CwIntegrationsPluginClass *klass)
{
  CwPluginClass *plugin_class = CW_PLUGIN_CLASS (klass);

  G_OBJECT_CLASS (klass)->finalize = cw_integrations_plugin_finalize;
  plugin_class->load = cw_integrations_plugin_load;
  plugin_class->start_async = cw_integrations_plugin_start_async;
  plugin_class->start_finish = cw_integrations_plugin_start_finish;
  plugin_class->stop = cw_integrations_plugin_stop;
  plugin_class->get_health = cw_integrations_plugin_get_health;
}

static void
cw_integrations_plugin_init (CwIntegrationsPlugin *self)
{
  self->shared_mode = -1;
  self->links = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                       (GDestroyNotify) cw_integrations_link_free);
  self->turns = g_hash_table_new (g_str_hash, g_str_equal);
  self->creating = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->sending = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->editing = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->placing = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
}

CW_PLUGIN_EXPORT (cw_integrations_plugin_get_type)
