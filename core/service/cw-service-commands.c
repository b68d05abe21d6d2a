/* cw-service-commands.c: the desktop app's service_* commands (contract §6) and the
 * credentials_* commands, for every transport.
 *
 * systemd is called with blocking D-Bus calls, so each service command runs in a worker
 * thread; the audit record is written back on the main thread, which owns the store.
 * Credential results carry names and scopes only, never a value.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-service-commands-private.h"
#include "cowork-host.h"
#include "cw-service-manager-private.h"
#include "cw-service-mode-private.h"

#define ENV(p) ((const CwServiceEnv *) (p))

typedef struct
{
  gchar *command;
  CwServiceScope scope;
  CwPaths *paths;
  gboolean confirm;
} ServiceJob;

static void
service_job_free (ServiceJob *job)
{
  g_free (job->command);
  cw_paths_free (job->paths);
  g_free (job);
}

static JsonObject *
run_service_job (ServiceJob *job, GError **error)
{
  g_autoptr (CwServiceManager) mgr = NULL;
  g_autofree gchar *default_dir = NULL;
  gboolean ok = TRUE;

  if (g_strcmp0 (job->command, "service_set_mode") == 0)
    {
      g_autoptr (JsonObject) plan = cw_service_mode_plan (job->paths, job->scope, error);
      if (plan == NULL)
        return NULL;
      if (json_object_get_boolean_member (plan, "changed") && !job->confirm)
        {
          g_autoptr (JsonNode) node = json_node_new (JSON_NODE_ARRAY);
          g_autofree gchar *left = NULL;
          json_node_set_array (node, json_object_get_array_member (plan, "leftBehind"));
          left = cw_json_to_string (node);
          g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS,
                       "switching from %s to %s mode needs confirm:true; it %s and leaves "
                       "behind: %s",
                       json_object_get_string_member (plan, "from"),
                       json_object_get_string_member (plan, "to"),
                       json_object_get_boolean_member (plan, "stopsService")
                           ? "stops the old service"
                           : "stops nothing",
                       left);
          return NULL;
        }
      return cw_service_mode_apply (job->paths, plan, NULL, NULL, error);
    }
  /* A daemon on a non-default data dir installs a unit that keeps using that dir. */
  default_dir = g_build_filename (g_get_home_dir (), ".cowork", NULL);
  mgr = cw_service_manager_new (job->scope, job->paths,
                                job->paths->system_mode
                                        || g_strcmp0 (job->paths->app_data_dir, default_dir) == 0
                                    ? NULL
                                    : job->paths->app_data_dir,
                                error);
  if (mgr == NULL)
    return NULL;
  if (g_strcmp0 (job->command, "service_install") == 0)
    ok = cw_service_manager_install (mgr, error)
         && cw_service_mode_save (job->paths->app_data_dir, job->scope, error);
  else if (g_strcmp0 (job->command, "service_uninstall") == 0)
    ok = cw_service_manager_uninstall (mgr, error);
  else if (g_strcmp0 (job->command, "service_start") == 0)
    ok = cw_service_manager_start (mgr, error);
  else if (g_strcmp0 (job->command, "service_stop") == 0)
    ok = cw_service_manager_stop (mgr, error);
  else if (g_strcmp0 (job->command, "service_restart") == 0)
    ok = cw_service_manager_restart (mgr, error);
  if (!ok)
    return NULL;
  return cw_service_manager_status (mgr, error);
}

static void
service_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  GError *error = NULL;
  JsonObject *result = run_service_job (data, &error);

  if (result == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, result, (GDestroyNotify) json_object_unref);
}

static void
on_service_done (GObject *source, GAsyncResult *res, gpointer data)
{
  g_autoptr (CwInvocation) inv = data;
  ServiceJob *job = g_task_get_task_data (G_TASK (res));
  GError *error = NULL;
  JsonObject *result = g_task_propagate_pointer (G_TASK (res), &error);

  if (result == NULL)
    {
      cw_invocation_return_error (inv, error);
      return;
    }
  if (g_strcmp0 (job->command, "service_set_mode") == 0
      && json_object_get_boolean_member (result, "changed"))
    {
      const CwServiceEnv *env = g_object_get_data (G_OBJECT (res), "daemon");
      CwStore *store = cw_context_get_store (env->context);
      g_autoptr (JsonObject) details = json_object_new ();
      g_autoptr (GError) audit_error = NULL;

      json_object_set_string_member (details, "from",
                                     json_object_get_string_member (result, "previousMode"));
      json_object_set_string_member (details, "to", json_object_get_string_member (result, "mode"));
      json_object_set_boolean_member (details, "stoppedService",
                                      json_object_get_boolean_member (result, "stopped"));
      if (!cw_audit_record (store, "service_mode_switch",
                            cw_caller_get_actor (cw_invocation_get_caller (inv)), details,
                            &audit_error))
        g_warning ("mode switched but not audited: %s", audit_error->message);
    }
  cw_invocation_return_object (inv, result);
}

static void
cmd_service (CwInvocation *inv, gpointer daemon)
{
  const CwPaths *paths = ENV (daemon)->paths;
  const gchar *command = cw_invocation_get_command (inv);
  g_autoptr (GError) error = NULL;
  g_autoptr (GTask) task = NULL;
  const gchar *mode;
  ServiceJob *job;

  mode = cw_invocation_get_string (inv, "mode", g_strcmp0 (command, "service_set_mode") == 0,
                                   &error);
  if (error != NULL)
    {
      cw_invocation_return_error (inv, g_steal_pointer (&error));
      return;
    }
  job = g_new0 (ServiceJob, 1);
  job->command = g_strdup (command);
  job->scope = cw_service_mode_load (paths->app_data_dir);
  if ((mode != NULL && !cw_service_scope_parse (mode, &job->scope, &error))
      || !cw_invocation_get_boolean (inv, "confirm", FALSE, &job->confirm, &error))
    {
      service_job_free (job);
      cw_invocation_return_error (inv, g_steal_pointer (&error));
      return;
    }
  /* set_mode keeps the daemon's own paths: the mode file lives in its data dir. */
  job->paths = cw_paths_resolve (paths->system_mode ? "system" : "user", paths->app_data_dir,
                                 paths->endpoint, paths->token_file, paths->lock_file, &error);
  if (job->paths == NULL)
    {
      service_job_free (job);
      cw_invocation_return_error (inv, g_steal_pointer (&error));
      return;
    }
  task = g_task_new (NULL, NULL, on_service_done, g_object_ref (inv));
  g_object_set_data (G_OBJECT (task), "daemon", daemon);
  g_task_set_task_data (task, job, (GDestroyNotify) service_job_free);
  g_task_run_in_thread (task, service_thread);
}

static void
cmd_service_get_mode (CwInvocation *inv, gpointer daemon)
{
  const CwPaths *paths = ENV (daemon)->paths;
  JsonObject *result = json_object_new ();
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  g_autofree gchar *when = g_date_time_format_iso8601 (now);

  json_object_set_string_member (
      result, "mode", cw_service_scope_to_string (cw_service_mode_load (paths->app_data_dir)));
  json_object_set_string_member (result, "updatedAt", when);
  cw_invocation_return_object (inv, result);
}

/* ---- credentials ---------------------------------------------------------------------- */

static CwSecrets *
secrets_of (gpointer daemon, CwInvocation *inv)
{
  CwSecrets *secrets = cw_context_get_secrets (ENV (daemon)->context);

  if (secrets == NULL)
    cw_invocation_return_error_literal (inv, CW_ERROR_INTERNAL, "no credential store");
  return secrets;
}

static JsonObject *
describe (CwSecrets *secrets, const gchar *kind, const gchar *name)
{
  JsonObject *obj = json_object_new ();

  json_object_set_string_member (obj, "kind", kind);
  json_object_set_string_member (obj, "name", name);
  json_object_set_string_member (obj, "scope", cw_secrets_get_scope (secrets));
  return obj;
}

static void
on_listed (GObject *source, GAsyncResult *res, gpointer data)
{
  g_autoptr (CwInvocation) inv = data;
  GError *error = NULL;
  JsonArray *list = cw_secrets_list_finish (CW_SECRETS (source), res, &error);
  JsonObject *result;

  if (list == NULL)
    {
      cw_invocation_return_error (inv, error);
      return;
    }
  result = json_object_new ();
  json_object_set_string_member (result, "scope", cw_secrets_get_scope (CW_SECRETS (source)));
  json_object_set_array_member (result, "credentials", list);
  cw_invocation_return_object (inv, result);
}

static void
cmd_credentials_list (CwInvocation *inv, gpointer daemon)
{
  CwSecrets *secrets = secrets_of (daemon, inv);

  if (secrets != NULL)
    cw_secrets_list (secrets, NULL, on_listed, g_object_ref (inv));
}

static void
on_changed (GObject *source, GAsyncResult *res, gpointer data)
{
  g_autoptr (CwInvocation) inv = data;
  CwSecrets *secrets = CW_SECRETS (source);
  JsonObject *params = cw_invocation_get_params (inv);
  gboolean is_set = g_strcmp0 (cw_invocation_get_command (inv), "credentials_set") == 0;
  GError *error = NULL;
  JsonObject *result;

  if (!(is_set ? cw_secrets_store_finish (secrets, res, &error)
               : cw_secrets_delete_finish (secrets, res, &error)))
    {
      cw_invocation_return_error (inv, error);
      return;
    }
  result
      = describe (secrets, json_object_get_string_member_with_default (params, "kind", "provider"),
                  json_object_get_string_member (params, "name"));
  json_object_set_boolean_member (result, is_set ? "stored" : "deleted", TRUE);
  /* Who changed which credential is worth keeping; the value never is. */
  {
    const CwServiceEnv *env = g_object_get_data (G_OBJECT (inv), "cw-daemon");
    CwStore *store = cw_context_get_store (env->context);
    g_autoptr (GError) audit_error = NULL;

    if (!cw_audit_record (store, is_set ? "credential_set" : "credential_delete",
                          cw_caller_get_actor (cw_invocation_get_caller (inv)), result,
                          &audit_error))
      g_warning ("credential changed but not audited: %s", audit_error->message);
  }
  cw_invocation_return_object (inv, result);
}

static void
cmd_credentials_change (CwInvocation *inv, gpointer daemon)
{
  g_autoptr (GError) error = NULL;
  CwSecrets *secrets = secrets_of (daemon, inv);
  gboolean is_set = g_strcmp0 (cw_invocation_get_command (inv), "credentials_set") == 0;
  const gchar *kind, *name, *value = NULL;

  if (secrets == NULL)
    return;
  kind = cw_invocation_get_string (inv, "kind", FALSE, &error) ?: "provider";
  name = error ? NULL : cw_invocation_get_string (inv, "name", TRUE, &error);
  if (name != NULL && is_set)
    value = cw_invocation_get_string (inv, "value", TRUE, &error);
  if (error == NULL && is_set && *value == '\0')
    g_set_error_literal (&error, CW_ERROR, CW_ERROR_INVALID_PARAMS, "value is empty");
  if (error != NULL)
    {
      cw_invocation_return_error (inv, g_steal_pointer (&error));
      return;
    }
  g_object_set_data (G_OBJECT (inv), "cw-daemon", daemon);
  if (is_set)
    cw_secrets_store (secrets, kind, name, value, NULL, on_changed, g_object_ref (inv));
  else
    cw_secrets_delete (secrets, kind, name, NULL, on_changed, g_object_ref (inv));
}

void
cw_service_commands_register (const CwServiceEnv *env, CwCommandRegistry *registry)
{
  static const struct
  {
    const gchar *name;
    CwCommandFunc func;
  } commands[] = {
    /* Every one is privileged: it reads or changes the service or its credentials. */
    { "service_get_mode", cmd_service_get_mode },
    { "service_set_mode", cmd_service },
    { "service_status", cmd_service },
    { "service_install", cmd_service },
    { "service_uninstall", cmd_service },
    { "service_start", cmd_service },
    { "service_stop", cmd_service },
    { "service_restart", cmd_service },
    { "credentials_list", cmd_credentials_list },
    { "credentials_set", cmd_credentials_change },
    { "credentials_delete", cmd_credentials_change },
  };

  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    {
      g_autoptr (GError) error = NULL;
      if (!cw_command_registry_add (registry, commands[i].name, "core", CW_COMMAND_FLAG_PRIVILEGED,
                                    commands[i].func, (gpointer) env, NULL, &error))
        g_critical ("%s", error->message);
    }
}
