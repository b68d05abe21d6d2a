/* cw-test-harness.c: one plugin in a private in-process host, for plugin tests.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cowork-host.h"
#include "cowork-test.h"

#include <glib/gstdio.h>

#define CALL_TIMEOUT_MS 10000

struct _CwTestHarness
{
  gchar *plugin_path;
  gchar *dir;
  gint64 now_ms;
  CwConfig *config;
  CwStore *store;
  CwEventBus *bus;
  CwCommandRegistry *registry;
  CwContext *context;
  CwScheduler *scheduler;
  CwPluginLoader *loader;
  CwCaller *caller;
  GPtrArray *events; /* CwEvent */
  guint listener;
};

static void
on_event (CwEvent *event, gpointer user_data)
{
  CwTestHarness *self = user_data;

  g_ptr_array_add (self->events, cw_event_ref (event));
}

static gint64
fake_now (gpointer user_data)
{
  return ((CwTestHarness *) user_data)->now_ms;
}

static void
host_down (CwTestHarness *self)
{
  if (self->loader != NULL)
    cw_plugin_loader_stop_all (self->loader);
  if (self->bus != NULL)
    {
      cw_event_bus_flush (self->bus);
      if (self->listener != 0)
        cw_event_bus_remove_listener (self->bus, self->listener);
    }
  self->listener = 0;
  g_clear_object (&self->loader);
  if (self->context != NULL)
    cw_context_set_scheduler (self->context, NULL);
  g_clear_object (&self->scheduler);
  g_clear_object (&self->context);
  g_clear_object (&self->registry);
  g_clear_object (&self->bus);
  g_clear_object (&self->store);
  g_clear_object (&self->config);
}

/* The plugin's health entry says whether it runs, and if not, why. */
static gboolean
check_running (CwTestHarness *self, GError **error)
{
  g_autoptr (JsonArray) plugins = cw_plugin_loader_get_health (self->loader);

  for (guint i = 0; i < json_array_get_length (plugins); i++)
    {
      JsonObject *p = json_array_get_object_element (plugins, i);
      if (g_strcmp0 (json_object_get_string_member (p, "state"), "running") == 0)
        return TRUE;
      g_set_error (error, CW_ERROR, CW_ERROR_FAILED, "plugin %s is %s: %s",
                   json_object_get_string_member (p, "name"),
                   json_object_get_string_member (p, "state"),
                   json_object_get_string_member_with_default (p, "error", "no error given"));
      return FALSE;
    }
  g_set_error (error, CW_ERROR, CW_ERROR_FAILED, "%s did not load", self->plugin_path);
  return FALSE;
}

static gboolean
host_up (CwTestHarness *self, GError **error)
{
  CwEventRetention retention = CW_EVENT_RETENTION_DEFAULT;
  g_autofree gchar *db = g_build_filename (self->dir, "coworkd.db", NULL);
  g_autofree gchar *secrets_dir = g_build_filename (self->dir, "secrets", NULL);
  g_autofree gchar *conf = g_build_filename (self->dir, "coworkd.conf", NULL);
  g_autoptr (CwSecrets) secrets = cw_secrets_new_system (secrets_dir);

  self->config = cw_config_new (self->dir, FALSE, conf, error);
  if (self->config == NULL)
    return FALSE;
  self->store = cw_store_open (db, error);
  if (self->store == NULL || !cw_core_schema_migrate (self->store, error))
    return FALSE;
  self->bus = cw_event_bus_new (self->store, &retention, error);
  if (self->bus == NULL)
    return FALSE;
  self->listener = cw_event_bus_add_listener (self->bus, "", on_event, self, NULL);
  self->registry = cw_command_registry_new ();
  self->context = cw_context_new (self->registry, self->bus, self->store, self->config);
  cw_context_set_secrets (self->context, secrets);
  self->scheduler = cw_scheduler_new (self->store, error);
  if (self->scheduler == NULL)
    return FALSE;
  cw_scheduler_set_clock (self->scheduler, fake_now, self);
  cw_context_set_scheduler (self->context, self->scheduler);
  self->loader = cw_plugin_loader_new (self->context);
  if (!cw_plugin_loader_load_file (self->loader, self->plugin_path, error))
    return FALSE;
  cw_plugin_loader_start_all (self->loader);
  return check_running (self, error);
}

CwTestHarness *
cw_test_harness_new (const gchar *plugin_path, GError **error)
{
  CwTestHarness *self = g_new0 (CwTestHarness, 1);

  g_return_val_if_fail (plugin_path != NULL, NULL);
  self->plugin_path = g_strdup (plugin_path);
  self->events = g_ptr_array_new_with_free_func ((GDestroyNotify) cw_event_unref);
  self->caller = cw_caller_new (CW_CALLER_SOCKET, getuid (), NULL);
  self->now_ms = cw_now_ms ();
  self->dir = g_dir_make_tmp ("cw-harness-XXXXXX", error);
  if (self->dir == NULL || !host_up (self, error))
    {
      cw_test_harness_free (self);
      return NULL;
    }
  return self;
}

static void
rm_rf (const gchar *path)
{
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
  const gchar *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree gchar *child = g_build_filename (path, name, NULL);
      if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
        rm_rf (child);
      else
        g_unlink (child);
    }
  g_rmdir (path);
}

void
cw_test_harness_free (CwTestHarness *self)
{
  if (self == NULL)
    return;
  host_down (self);
  if (self->dir != NULL)
    rm_rf (self->dir);
  g_free (self->dir);
  g_free (self->plugin_path);
  g_ptr_array_unref (self->events);
  cw_caller_unref (self->caller);
  g_free (self);
}

gboolean
cw_test_harness_restart (CwTestHarness *self, GError **error)
{
  g_return_val_if_fail (self != NULL, FALSE);
  host_down (self);
  g_ptr_array_set_size (self->events, 0);
  return host_up (self, error);
}

typedef struct
{
  gboolean done;
  JsonNode *result;
  GError *error;
} Answer;

static void
on_answer (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Answer *a = user_data;

  a->result = cw_command_registry_call_finish (CW_COMMAND_REGISTRY (source), res, &a->error);
  a->done = TRUE;
  g_main_context_wakeup (NULL);
}

static gboolean
on_deadline (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

JsonNode *
cw_test_harness_call (CwTestHarness *self, const gchar *command, const gchar *params_json,
                      GError **error)
{
  g_autoptr (JsonNode) params = NULL;
  Answer *a;
  gboolean late = FALSE;
  guint timer;
  JsonNode *result;

  g_return_val_if_fail (self != NULL, NULL);
  if (params_json != NULL && (params = cw_json_from_string (params_json, -1, error)) == NULL)
    return NULL;
  a = g_new0 (Answer, 1);
  cw_command_registry_call (self->registry, self->caller, command, params, on_answer, a);
  timer = g_timeout_add (CALL_TIMEOUT_MS, on_deadline, &late);
  while (!a->done && !late)
    g_main_context_iteration (NULL, TRUE);
  if (!late)
    g_source_remove (timer);
  if (!a->done)
    {
      /* The answer may still come: @a is left to it. */
      g_set_error (error, CW_ERROR, CW_ERROR_FAILED, "%s did not answer within %d ms", command,
                   CALL_TIMEOUT_MS);
      return NULL;
    }
  /* Events the call caused reach subscribers once stored; store them now. */
  cw_event_bus_flush (self->bus);
  result = a->result;
  if (a->error != NULL)
    g_propagate_error (error, a->error);
  g_free (a);
  return result;
}

GPtrArray *
cw_test_harness_get_events (CwTestHarness *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return self->events;
}

guint
cw_test_harness_count_events (CwTestHarness *self, const gchar *type_prefix)
{
  guint n = 0;

  g_return_val_if_fail (self != NULL, 0);
  for (guint i = 0; i < self->events->len; i++)
    if (g_str_has_prefix (cw_event_get_type_name (g_ptr_array_index (self->events, i)),
                          type_prefix != NULL ? type_prefix : ""))
      n++;
  return n;
}

CwEvent *
cw_test_harness_wait_event (CwTestHarness *self, const gchar *type, guint timeout_ms)
{
  gboolean late = FALSE;
  guint seen = 0;
  guint timer;

  g_return_val_if_fail (self != NULL, NULL);
  timer = g_timeout_add (timeout_ms, on_deadline, &late);
  for (;;)
    {
      for (; seen < self->events->len; seen++)
        {
          CwEvent *e = g_ptr_array_index (self->events, seen);
          if (g_strcmp0 (cw_event_get_type_name (e), type) == 0)
            {
              if (!late)
                g_source_remove (timer);
              return e;
            }
        }
      if (late)
        return NULL;
      g_main_context_iteration (NULL, TRUE);
    }
}

gint64
cw_test_harness_get_time (CwTestHarness *self)
{
  g_return_val_if_fail (self != NULL, 0);
  return self->now_ms;
}

void
cw_test_harness_set_time (CwTestHarness *self, gint64 now_ms)
{
  gboolean backwards;

  g_return_if_fail (self != NULL);
  backwards = now_ms < self->now_ms;
  self->now_ms = now_ms;
  if (backwards)
    cw_scheduler_clock_changed (self->scheduler);
  else
    cw_scheduler_dispatch (self->scheduler);
}

const gchar *
cw_test_harness_get_dir (CwTestHarness *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return self->dir;
}

CwContext *
cw_test_harness_get_context (CwTestHarness *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return self->context;
}

CwPlugin *
cw_test_harness_get_plugin (CwTestHarness *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return cw_plugin_loader_get_plugin (self->loader, 0);
}
