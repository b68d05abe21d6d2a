/* cw-ctl-service.c: `coworkctl service ...`: render, install, uninstall, start, stop,
 * restart, status, get-mode, set-mode. Runs in-process (talks to systemd itself), so it
 * works while the daemon is down, and a dry run never needs a bus.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "cw-ctl-service-private.h"
#include "cw-service-manager-private.h"
#include "cw-service-mode-private.h"

#include <glib/gi18n.h>

typedef struct
{
  gboolean user, system, dry_run, yes;
  const gchar *platform, *program, *user_name, *home, *data_dir, *output;
  const gchar *positional;
} ServiceArgs;

const gchar cw_ctl_service_usage[]
    = N_ ("usage: coworkctl service install|uninstall|start|stop|restart|status "
          "[--user|--system] [--dry-run]\n"
          "       coworkctl service get-mode\n"
          "       coworkctl service set-mode user|system [--yes]\n"
          "       coworkctl service render --platform linux|macos|windows [--user|--system]\n"
          "                 [--program PATH] [--data-dir DIR] [--home DIR] [--user-name NAME]\n"
          "                 [--output FILE]");

static gboolean
parse_args (int argc, char **argv, ServiceArgs *a, GError **error)
{
  for (int i = 2; i < argc; i++)
    {
      const gchar *arg = argv[i];
      const gchar **value = NULL;

      if (g_strcmp0 (arg, "--user") == 0)
        a->user = TRUE;
      else if (g_strcmp0 (arg, "--system") == 0)
        a->system = TRUE;
      else if (g_strcmp0 (arg, "--dry-run") == 0)
        a->dry_run = TRUE;
      else if (g_strcmp0 (arg, "--yes") == 0 || g_strcmp0 (arg, "-y") == 0)
        a->yes = TRUE;
      else if (g_strcmp0 (arg, "--platform") == 0)
        value = &a->platform;
      else if (g_strcmp0 (arg, "--program") == 0)
        value = &a->program;
      else if (g_strcmp0 (arg, "--user-name") == 0)
        value = &a->user_name;
      else if (g_strcmp0 (arg, "--home") == 0)
        value = &a->home;
      else if (g_strcmp0 (arg, "--data-dir") == 0)
        value = &a->data_dir;
      else if (g_strcmp0 (arg, "--output") == 0)
        value = &a->output;
      else if (arg[0] != '-' && a->positional == NULL)
        a->positional = arg;
      else
        goto usage;
      if (value != NULL)
        {
          if (++i >= argc)
            goto usage;
          *value = argv[i];
        }
    }
  if (a->user && a->system)
    {
      g_set_error_literal (error, CW_ERROR, CW_ERROR_INVALID_PARAMS,
                           _ ("--user and --system exclude each other"));
      return FALSE;
    }
  return TRUE;
usage:
  g_set_error_literal (error, CW_ERROR, CW_ERROR_INVALID_PARAMS, _ (cw_ctl_service_usage));
  return FALSE;
}

static CwServiceScope
scope_of (CwCtl *ctl, const ServiceArgs *a)
{
  if (a->system)
    return CW_SERVICE_SCOPE_SYSTEM;
  if (a->user)
    return CW_SERVICE_SCOPE_USER;
  return cw_service_mode_load (ctl->paths->app_data_dir);
}

static int
do_render (CwCtl *ctl, const ServiceArgs *a, GError **error)
{
  CwServiceSpec spec = { 0 };
  g_autofree gchar *program = NULL;
  g_autofree gchar *text = NULL;

  if (!cw_service_platform_parse (a->platform ?: "linux", &spec.platform, error))
    return 2;
  spec.scope = a->system ? CW_SERVICE_SCOPE_SYSTEM : CW_SERVICE_SCOPE_USER;
  program = a->program ? g_strdup (a->program) : cw_service_find_program (error);
  if (program == NULL)
    return 1;
  spec.program = program;
  spec.app_data_dir = a->data_dir;
  spec.home_dir = a->home;
  spec.user_name = a->user_name;
  text = cw_service_render (&spec, NULL, error);
  if (text == NULL)
    return 1;
  if (a->output != NULL)
    return g_file_set_contents (a->output, text, -1, error) ? 0 : 1;
  g_print ("%s", text);
  return 0;
}

static void
print_status (CwCtl *ctl, JsonObject *s)
{
  JsonNode *health = json_object_get_member (s, "health");

  if (ctl->json)
    {
      cw_ctl_print_json_object (ctl, s);
      return;
    }
  g_print (_ ("service:    %s (%s, %s mode)\n"), json_object_get_string_member (s, "serviceId"),
           json_object_get_string_member (s, "manager"), json_object_get_string_member (s, "mode"));
  g_print (_ ("unit file:  %s (%s)\n"), json_object_get_string_member (s, "configPath"),
           json_object_get_boolean_member (s, "installed") ? _ ("installed") : _ ("not installed"));
  g_print (_ ("enabled:    %s\n"),
           json_object_get_boolean_member (s, "enabled") ? _ ("yes") : _ ("no"));
  g_print (_ ("active:     %s (%s)\n"), json_object_get_string_member (s, "active"),
           json_object_get_string_member (s, "subState"));
  g_print (_ ("pid:        %lld\n"), (long long) json_object_get_int_member (s, "pid"));
  if (json_object_get_string_member_with_default (s, "details", NULL) != NULL)
    g_print (_ ("note:       %s\n"), json_object_get_string_member (s, "details"));
  g_print (_ ("data:       %s\n"), json_object_get_string_member (s, "appDataDir"));
  g_print (_ ("endpoint:   %s\n"), json_object_get_string_member (s, "endpoint"));
  if (health != NULL && JSON_NODE_HOLDS_OBJECT (health))
    {
      JsonObject *h = json_node_get_object (health);
      g_print (_ ("daemon:     %s, version %s, pid %lld%s\n"),
               json_object_get_string_member_with_default (h, "status", "?"),
               json_object_get_string_member_with_default (h, "version", "?"),
               (long long) json_object_get_int_member_with_default (h, "pid", 0),
               json_object_get_boolean_member_with_default (h, "degraded", FALSE) ? _ (", degraded")
                                                                                  : "");
    }
  else
    g_print (_ ("daemon:     not answering\n"));
}

static int
do_manage (CwCtl *ctl, const gchar *verb, const ServiceArgs *a, GError **error)
{
  CwServiceScope scope = scope_of (ctl, a);
  g_autofree gchar *default_dir = g_build_filename (g_get_home_dir (), ".cowork", NULL);
  const gchar *data_dir
      = g_strcmp0 (ctl->paths->app_data_dir, default_dir) != 0 && !ctl->paths->system_mode
            ? ctl->paths->app_data_dir
            : NULL;
  g_autoptr (CwServiceManager) mgr = cw_service_manager_new (scope, ctl->paths, data_dir, error);
  g_autoptr (JsonObject) status = NULL;
  gboolean ok;

  if (mgr == NULL)
    return 1;
  cw_service_manager_set_dry_run (mgr, a->dry_run);
  if (g_strcmp0 (verb, "install") == 0)
    ok = cw_service_manager_install (mgr, error);
  else if (g_strcmp0 (verb, "uninstall") == 0)
    ok = cw_service_manager_uninstall (mgr, error);
  else if (g_strcmp0 (verb, "start") == 0)
    ok = cw_service_manager_start (mgr, error);
  else if (g_strcmp0 (verb, "stop") == 0)
    ok = cw_service_manager_stop (mgr, error);
  else if (g_strcmp0 (verb, "restart") == 0)
    ok = cw_service_manager_restart (mgr, error);
  else
    ok = TRUE;
  if (!ctl->json || a->dry_run)
    g_print ("%s", cw_service_manager_get_log (mgr));
  if (!ok)
    return 1;
  if (a->dry_run)
    return 0;
  if (g_strcmp0 (verb, "install") == 0
      && !cw_service_mode_save (ctl->paths->app_data_dir, scope, error))
    return 1;
  status = cw_service_manager_status (mgr, error);
  if (status == NULL)
    return 1;
  print_status (ctl, status);
  return 0;
}

static int
do_get_mode (CwCtl *ctl)
{
  g_autoptr (JsonObject) out = json_object_new ();
  CwServiceScope scope = cw_service_mode_load (ctl->paths->app_data_dir);

  if (!ctl->json)
    {
      g_print ("%s\n", cw_service_scope_to_string (scope));
      return 0;
    }
  json_object_set_string_member (out, "mode", cw_service_scope_to_string (scope));
  cw_ctl_print_json_object (ctl, out);
  return 0;
}

static int
do_set_mode (CwCtl *ctl, const ServiceArgs *a, GError **error)
{
  g_autoptr (JsonObject) plan = NULL;
  g_autoptr (JsonObject) result = NULL;
  g_autoptr (CwStore) store = NULL;
  CwServiceScope to;
  JsonArray *left;

  if (a->positional == NULL)
    {
      g_set_error_literal (error, CW_ERROR, CW_ERROR_INVALID_PARAMS,
                           _ ("usage: coworkctl service set-mode user|system [--yes]"));
      return 2;
    }
  if (!cw_service_scope_parse (a->positional, &to, error))
    return 2;
  plan = cw_service_mode_plan (ctl->paths, to, error);
  if (plan == NULL)
    return 1;
  if (!json_object_get_boolean_member (plan, "changed"))
    {
      g_print (_ ("already in %s mode; nothing to do\n"), cw_service_scope_to_string (to));
      return 0;
    }
  g_print (_ ("Switching from %s mode to %s mode.\n"), json_object_get_string_member (plan, "from"),
           json_object_get_string_member (plan, "to"));
  if (json_object_get_boolean_member (plan, "stopsService"))
    g_print (_ ("This stops the %s service (%s).\n"), json_object_get_string_member (plan, "from"),
             json_object_get_string_member (plan, "serviceUnit"));
  g_print (_ ("Nothing is moved or copied. Left behind:\n"));
  left = json_object_get_array_member (plan, "leftBehind");
  for (guint i = 0; i < json_array_get_length (left); i++)
    g_print ("  - %s\n", json_array_get_string_element (left, i));
  if (a->dry_run)
    return 0;
  if (!a->yes && !cw_ctl_confirm (_ ("Switch mode?")))
    {
      g_set_error_literal (error, CW_ERROR, CW_ERROR_CANCELLED,
                           _ ("mode not switched: confirm with --yes"));
      return 1;
    }
  store = cw_ctl_open_audit_store (ctl->paths, error);
  if (store == NULL)
    return 1;
  result = cw_service_mode_apply (ctl->paths, plan, store, cw_ctl_actor (), error);
  if (result == NULL)
    return 1;
  if (ctl->json)
    cw_ctl_print_json_object (ctl, result);
  else
    g_print (_ ("now in %s mode; install its service with 'coworkctl service install --%s'\n"),
             json_object_get_string_member (result, "mode"),
             json_object_get_string_member (result, "mode"));
  return 0;
}

int
cw_ctl_service (CwCtl *ctl, int argc, char **argv, GError **error)
{
  ServiceArgs a = { 0 };
  const gchar *verb = argc >= 2 ? argv[1] : NULL;
  static const gchar *const manage_verbs[]
      = { "install", "uninstall", "start", "stop", "restart", "status", NULL };

  if (verb == NULL)
    {
      g_set_error_literal (error, CW_ERROR, CW_ERROR_INVALID_PARAMS, _ (cw_ctl_service_usage));
      return 2;
    }
  if (!parse_args (argc, argv, &a, error))
    return 2;
  if (g_strcmp0 (verb, "render") == 0)
    return do_render (ctl, &a, error);
  if (g_strcmp0 (verb, "get-mode") == 0)
    return do_get_mode (ctl);
  if (g_strcmp0 (verb, "set-mode") == 0)
    return do_set_mode (ctl, &a, error);
  if (g_strv_contains (manage_verbs, verb) && a.positional == NULL)
    return do_manage (ctl, verb, &a, error);
  g_set_error_literal (error, CW_ERROR, CW_ERROR_INVALID_PARAMS, _ (cw_ctl_service_usage));
  return 2;
}
