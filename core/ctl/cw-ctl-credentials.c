/* cw-ctl-credentials.c: `coworkctl credentials set|list|delete|promote`.
 *
 * Works on the scope's store directly (Secret Service or the system store), so credentials
 * can be set before the service first starts. A value is read from stdin only, never from
 * argv (which other users can see in ps), and is never printed.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "cowork-host.h"
#include "cw-ctl-service-private.h"
#include "cw-service-manager-private.h"

#include <glib/gi18n.h>
#include <stdio.h>
#include <termios.h>
#include <unistd.h>

const gchar cw_ctl_credentials_usage[]
    = N_ ("usage: coworkctl credentials set KIND/NAME [--user|--system]   (value on stdin)\n"
          "       coworkctl credentials list [--user|--system]\n"
          "       coworkctl credentials delete KIND/NAME [--user|--system]\n"
          "       coworkctl credentials promote KIND/NAME --to system [--yes]\n"
          "KIND defaults to 'provider' (e.g. 'openai' means provider/openai).");

typedef struct
{
  const gchar *target;
  gboolean user, system, yes;
  const gchar *to;
  const gchar *promoted_from; /* set by promote for its privileged half */
} CredArgs;

static gboolean
parse_args (int argc, char **argv, CredArgs *a, GError **error)
{
  for (int i = 2; i < argc; i++)
    {
      if (g_strcmp0 (argv[i], "--user") == 0)
        a->user = TRUE;
      else if (g_strcmp0 (argv[i], "--system") == 0)
        a->system = TRUE;
      else if (g_strcmp0 (argv[i], "--yes") == 0 || g_strcmp0 (argv[i], "-y") == 0)
        a->yes = TRUE;
      else if (g_strcmp0 (argv[i], "--to") == 0 && i + 1 < argc)
        a->to = argv[++i];
      else if (g_strcmp0 (argv[i], "--promoted-from") == 0 && i + 1 < argc)
        a->promoted_from = argv[++i];
      else if (argv[i][0] != '-' && a->target == NULL)
        a->target = argv[i];
      else
        {
          g_set_error_literal (error, CW_ERROR, CW_ERROR_INVALID_PARAMS,
                               _ (cw_ctl_credentials_usage));
          return FALSE;
        }
    }
  return TRUE;
}

/* "kind/name" or "name" (a provider key). */
static gboolean
split_target (const gchar *target, gchar **kind, gchar **name, GError **error)
{
  const gchar *slash = target ? strchr (target, '/') : NULL;

  if (target == NULL)
    {
      g_set_error_literal (error, CW_ERROR, CW_ERROR_INVALID_PARAMS, _ (cw_ctl_credentials_usage));
      return FALSE;
    }
  *kind = slash ? g_strndup (target, slash - target) : g_strdup ("provider");
  *name = g_strdup (slash ? slash + 1 : target);
  return cw_secrets_check_name (*kind, *name, error);
}

static CwSecrets *
secrets_for (CwCtl *ctl, gboolean system, GError **error)
{
  g_autoptr (CwPaths) paths = cw_service_paths_for_scope (
      system ? CW_SERVICE_SCOPE_SYSTEM : CW_SERVICE_SCOPE_USER, ctl->paths, error);

  return paths != NULL ? cw_paths_open_secrets (paths) : NULL;
}

static gboolean
want_system (CwCtl *ctl, const CredArgs *a)
{
  return a->system || (!a->user && ctl->paths->system_mode);
}

/* One line from a terminal without echo, or all of a pipe; surrounding blanks removed. */
static gchar *
read_value (GError **error)
{
  GString *s = g_string_new (NULL);
  gchar buf[512];
  gsize n;

  if (isatty (STDIN_FILENO))
    {
      struct termios old, quiet;
      gboolean restore = tcgetattr (STDIN_FILENO, &old) == 0;
      g_printerr (_ ("Value (not shown): "));
      if (restore)
        {
          quiet = old;
          quiet.c_lflag &= ~(tcflag_t) ECHO;
          tcsetattr (STDIN_FILENO, TCSAFLUSH, &quiet);
        }
      if (fgets (buf, sizeof buf, stdin) != NULL)
        g_string_append (s, buf);
      if (restore)
        tcsetattr (STDIN_FILENO, TCSAFLUSH, &old);
      g_printerr ("\n");
    }
  else
    while ((n = fread (buf, 1, sizeof buf, stdin)) > 0)
      g_string_append_len (s, buf, n);
  explicit_bzero (buf, sizeof buf);
  g_strstrip (s->str);
  if (s->str[0] == '\0')
    {
      cw_secret_free (g_string_free (s, FALSE));
      g_set_error_literal (error, CW_ERROR, CW_ERROR_INVALID_PARAMS,
                           _ ("no value on stdin (pipe it in: printf %s \"$KEY\" | coworkctl "
                              "credentials set NAME)"));
      return NULL;
    }
  return g_string_free (s, FALSE);
}

/* The audit half of a promotion, in the system scope's log; runs where the value landed. */
static gboolean
record_promotion (CwCtl *ctl, const gchar *kind, const gchar *name, GError **error)
{
  g_autoptr (CwPaths) sys_paths
      = cw_service_paths_for_scope (CW_SERVICE_SCOPE_SYSTEM, ctl->paths, error);
  g_autoptr (CwStore) store = NULL;
  g_autoptr (JsonObject) details = json_object_new ();

  if (sys_paths == NULL || (store = cw_ctl_open_audit_store (sys_paths, error)) == NULL)
    return FALSE;
  json_object_set_string_member (details, "kind", kind);
  json_object_set_string_member (details, "name", name);
  json_object_set_string_member (details, "from", "user");
  json_object_set_string_member (details, "to", "system");
  if (!cw_audit_record (store, "credential_promote", cw_ctl_actor (), details, error))
    {
      g_prefix_error (error, _ ("promoted, but the audit record failed: "));
      return FALSE;
    }
  g_print (_ ("promoted %s/%s to the system scope\n"), kind, name);
  return TRUE;
}

static int
do_set (CwCtl *ctl, const CredArgs *a, GError **error)
{
  g_autofree gchar *kind = NULL, *name = NULL;
  g_autoptr (CwSecrets) secrets = NULL;
  gchar *value;
  gboolean ok;

  if (!split_target (a->target, &kind, &name, error))
    return 2;
  if (a->promoted_from != NULL && (!a->system || g_strcmp0 (a->promoted_from, "user") != 0))
    {
      g_set_error_literal (error, CW_ERROR, CW_ERROR_INVALID_PARAMS,
                           _ ("--promoted-from user goes with --system only"));
      return 2;
    }
  secrets = secrets_for (ctl, want_system (ctl, a), error);
  if (secrets == NULL || (value = read_value (error)) == NULL)
    return 1;
  ok = cw_secrets_store_sync (secrets, kind, name, value, error);
  cw_secret_free (value);
  if (!ok)
    return 1;
  if (a->promoted_from != NULL)
    return record_promotion (ctl, kind, name, error) ? 0 : 1;
  g_print (_ ("stored %s/%s in the %s scope (%s)\n"), kind, name, cw_secrets_get_scope (secrets),
           cw_secrets_get_location (secrets));
  return 0;
}

static int
do_list (CwCtl *ctl, const CredArgs *a, GError **error)
{
  g_autoptr (CwSecrets) secrets = secrets_for (ctl, want_system (ctl, a), error);
  g_autoptr (JsonArray) list = NULL;
  g_autoptr (JsonObject) out = NULL;

  if (secrets == NULL || (list = cw_secrets_list_sync (secrets, error)) == NULL)
    return 1;
  if (ctl->json)
    {
      out = json_object_new ();
      json_object_set_string_member (out, "scope", cw_secrets_get_scope (secrets));
      json_object_set_array_member (out, "credentials", json_array_ref (list));
      cw_ctl_print_json_object (ctl, out);
      return 0;
    }
  if (json_array_get_length (list) == 0)
    g_print (_ ("no credentials in the %s scope\n"), cw_secrets_get_scope (secrets));
  for (guint i = 0; i < json_array_get_length (list); i++)
    {
      JsonObject *c = json_array_get_object_element (list, i);
      g_autofree gchar *full = g_strdup_printf ("%s/%s", json_object_get_string_member (c, "kind"),
                                                json_object_get_string_member (c, "name"));
      const gchar *scope = json_object_get_string_member (c, "scope");
      const gchar *store = json_object_get_string_member_with_default (c, "store", "");
      const gchar *where = g_strcmp0 (store, "secret-service") == 0 ? _ ("Secret Service")
                           : g_strcmp0 (scope, "user") == 0
                               ? _ ("encrypted file (no Secret Service reachable yet)")
                               : _ ("encrypted file");
      g_print ("%-40s %-7s %s\n", full, scope, where);
    }
  return 0;
}

static int
do_delete (CwCtl *ctl, const CredArgs *a, GError **error)
{
  g_autofree gchar *kind = NULL, *name = NULL;
  g_autoptr (CwSecrets) secrets = NULL;
  g_autoptr (JsonArray) list = NULL;
  gboolean found = FALSE;

  if (!split_target (a->target, &kind, &name, error))
    return 2;
  secrets = secrets_for (ctl, want_system (ctl, a), error);
  if (secrets == NULL || (list = cw_secrets_list_sync (secrets, error)) == NULL)
    return 1;
  /* The store's delete is idempotent; a person typing a name wants to hear about typos. */
  for (guint i = 0; i < json_array_get_length (list) && !found; i++)
    {
      JsonObject *c = json_array_get_object_element (list, i);
      found = g_strcmp0 (json_object_get_string_member (c, "kind"), kind) == 0
              && g_strcmp0 (json_object_get_string_member (c, "name"), name) == 0;
    }
  if (!found)
    {
      g_set_error (error, CW_ERROR, CW_ERROR_NOT_FOUND, _ ("no %s credential %s/%s"),
                   cw_secrets_get_scope (secrets), kind, name);
      return 1;
    }
  if (!cw_secrets_delete_sync (secrets, kind, name, error))
    return 1;
  g_print (_ ("deleted %s/%s from the %s scope\n"), kind, name, cw_secrets_get_scope (secrets));
  return 0;
}

/* The system half as root: through sudo (or $COWORK_PRIVILEGE_HELPER) when we are not root,
 * because root cannot reach the user's keyring and the user cannot write the system store.
 * The value travels on the child's stdin, never in its argv. */
static gboolean
store_as_root (const gchar *kind, const gchar *name, const gchar *value, GError **error)
{
  const gchar *helper = g_getenv ("COWORK_PRIVILEGE_HELPER");
  g_autofree gchar *self = g_file_read_link ("/proc/self/exe", NULL);
  g_autofree gchar *target = g_strdup_printf ("%s/%s", kind, name);
  g_autoptr (GSubprocess) proc = NULL;
  g_autoptr (GBytes) input = g_bytes_new_static (value, strlen (value));

  proc = g_subprocess_new (G_SUBPROCESS_FLAGS_STDIN_PIPE, error,
                           helper != NULL && *helper != '\0' ? helper : "sudo",
                           self != NULL ? self : "coworkctl", "credentials", "set", target,
                           "--system", "--promoted-from", "user", NULL);
  if (proc == NULL || !g_subprocess_communicate (proc, input, NULL, NULL, NULL, error))
    return FALSE;
  if (!g_subprocess_get_successful (proc))
    {
      g_set_error_literal (error, CW_ERROR, CW_ERROR_FAILED,
                           _ ("not promoted: the privileged step failed"));
      return FALSE;
    }
  return TRUE;
}

/* The one way across scopes: user keyring -> system store, confirmed and audited. */
static int
do_promote (CwCtl *ctl, const CredArgs *a, GError **error)
{
  g_autofree gchar *kind = NULL, *name = NULL;
  g_autoptr (CwSecrets) from = NULL, to = NULL;
  g_autoptr (CwPaths) sys_paths = NULL;
  gboolean via_helper = geteuid () != 0 || g_getenv ("COWORK_PRIVILEGE_HELPER") != NULL;
  gchar *value;
  gboolean ok;

  if (!split_target (a->target, &kind, &name, error))
    return 2;
  if (g_strcmp0 (a->to, "system") != 0)
    {
      g_set_error_literal (error, CW_ERROR, CW_ERROR_INVALID_PARAMS,
                           _ ("only 'promote NAME --to system' exists: system credentials are "
                              "never copied into a user keyring"));
      return 2;
    }
  sys_paths = cw_service_paths_for_scope (CW_SERVICE_SCOPE_SYSTEM, ctl->paths, error);
  if (sys_paths == NULL)
    return 1;
  from = cw_secrets_new_user ();
  to = cw_paths_open_secrets (sys_paths);
  value = cw_secrets_lookup_sync (from, kind, name, error);
  if (value == NULL)
    {
      if (*error == NULL)
        g_set_error (error, CW_ERROR, CW_ERROR_NOT_FOUND, _ ("no user credential %s/%s"), kind,
                     name);
      return 1;
    }
  g_print (_ ("This copies the user credential %s/%s into the system store %s,\n"
              "where the system service (and root) can read it. The user copy stays.\n"),
           kind, name, cw_secrets_get_location (to));
  if (!a->yes && !cw_ctl_confirm (_ ("Promote it?")))
    {
      cw_secret_free (value);
      g_set_error_literal (error, CW_ERROR, CW_ERROR_CANCELLED,
                           _ ("not promoted: confirm with --yes"));
      return 1;
    }
  if (via_helper)
    {
      ok = store_as_root (kind, name, value, error);
      cw_secret_free (value);
      return ok ? 0 : 1;
    }
  ok = cw_secrets_store_sync (to, kind, name, value, error);
  cw_secret_free (value);
  return ok && record_promotion (ctl, kind, name, error) ? 0 : 1;
}

int
cw_ctl_credentials (CwCtl *ctl, int argc, char **argv, GError **error)
{
  CredArgs a = { 0 };
  const gchar *verb = argc >= 2 ? argv[1] : "";

  if (!parse_args (argc, argv, &a, error))
    return 2;
  if (a.user && a.system)
    {
      g_set_error_literal (error, CW_ERROR, CW_ERROR_INVALID_PARAMS,
                           _ ("--user and --system exclude each other"));
      return 2;
    }
  if (g_strcmp0 (verb, "set") == 0)
    return do_set (ctl, &a, error);
  if (g_strcmp0 (verb, "list") == 0 && a.target == NULL)
    return do_list (ctl, &a, error);
  if (g_strcmp0 (verb, "delete") == 0)
    return do_delete (ctl, &a, error);
  if (g_strcmp0 (verb, "promote") == 0)
    return do_promote (ctl, &a, error);
  g_set_error_literal (error, CW_ERROR, CW_ERROR_INVALID_PARAMS, _ (cw_ctl_credentials_usage));
  return 2;
}
