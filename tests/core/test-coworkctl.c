/* test-coworkctl.c: the coworkctl binary against the real daemon, as a person or a script
 * would use it.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "cw-test-daemon.h"

#include <unistd.h>

/* Runs coworkctl with --app-data-dir @dir and the NULL-terminated arguments in @ap; returns
 * its exit status (a crash fails the test). */
static gint
ctl_valist (GSubprocessLauncher *launcher, const gchar *dir, gchar **out, gchar **err, va_list ap)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GSubprocessLauncher) own = NULL;
  g_autoptr (GSubprocess) proc = NULL;
  g_autoptr (GError) error = NULL;
  const gchar *arg;

  if (launcher == NULL)
    launcher = own = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE
                                                | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_ptr_array_add (argv, (gpointer) g_getenv ("COWORKCTL"));
  g_ptr_array_add (argv, "--app-data-dir");
  g_ptr_array_add (argv, (gpointer) dir);
  while ((arg = va_arg (ap, const gchar *)) != NULL)
    g_ptr_array_add (argv, (gpointer) arg);
  g_ptr_array_add (argv, NULL);
  proc = g_subprocess_launcher_spawnv (launcher, (const gchar *const *) argv->pdata, &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (proc, NULL, NULL, out, err, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_if_exited (proc));
  return g_subprocess_get_exit_status (proc);
}

/* The same in the environment of @launcher (made with stdout and stderr pipes). */
static gint
ctl_env (GSubprocessLauncher *launcher, const gchar *dir, gchar **out, gchar **err, ...)
{
  va_list ap;
  gint status;

  va_start (ap, err);
  status = ctl_valist (launcher, dir, out, err, ap);
  va_end (ap);
  return status;
}

static gint
ctl (const gchar *dir, gchar **out, gchar **err, ...)
{
  va_list ap;
  gint status;

  va_start (ap, err);
  status = ctl_valist (NULL, dir, out, err, ap);
  va_end (ap);
  return status;
}

static void
test_not_running (void)
{
  g_autoptr (CwTestDaemon) d = cw_test_daemon_new ();
  g_autofree gchar *out = NULL, *err = NULL;

  g_assert_cmpint (ctl (d->dir, &out, &err, "health", NULL), ==, 1);
  g_assert_nonnull (strstr (err, "coworkd is not running"));
  g_assert_nonnull (strstr (err, d->endpoint));
}

static void
test_call_health_events (void)
{
  g_autoptr (CwTestDaemon) d = cw_test_daemon_new ();
  g_autofree gchar *out = NULL, *err = NULL;
  g_auto (GStrv) lines = NULL;
  gboolean found = FALSE;

  cw_test_daemon_start (d);
  g_assert_cmpint (
      ctl (d->dir, &out, &err, "call", "example_echo", "{\"text\":\"from-ctl\"}", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "\"from-ctl\""));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  /* Errors go to stderr with a non-zero status. */
  g_assert_cmpint (ctl (d->dir, &out, &err, "call", "example_echo", "{}", NULL), ==, 1);
  g_assert_nonnull (strstr (err, "text is required"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (ctl (d->dir, &out, &err, "call", "ping", "{not json", NULL), ==, 2);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  g_assert_cmpint (ctl (d->dir, &out, &err, "health", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "healthy"));
  g_assert_nonnull (strstr (out, "example"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  /* --json events: one envelope per line, in seq order, with the echo among them. */
  g_assert_cmpint (ctl (d->dir, &out, &err, "--json", "events", NULL), ==, 0);
  lines = g_strsplit (g_strstrip (out), "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_autoptr (JsonNode) node = cw_json_from_string (lines[i], -1, NULL);
      JsonObject *ev;
      g_assert_nonnull (node);
      ev = json_node_get_object (node);
      g_assert_cmpint (json_object_get_int_member (ev, "seq"), ==, i + 1);
      if (g_strcmp0 (json_object_get_string_member (ev, "type"), "example:echo") == 0)
        found = TRUE;
    }
  g_assert_true (found);
}

static void
test_token_rotate (void)
{
  g_autoptr (CwTestDaemon) d = cw_test_daemon_new ();
  g_autofree gchar *out = NULL, *err = NULL, *old = NULL, *new_token = NULL;
  g_autoptr (CwClient) stale = NULL;
  g_autoptr (GError) error = NULL;

  cw_test_daemon_start (d);
  old = cw_test_daemon_read_token (d);
  stale = cw_test_daemon_connect (d);
  g_assert_cmpint (ctl (d->dir, &out, &err, "token", "rotate", NULL), ==, 0);
  new_token = cw_test_daemon_read_token (d);
  g_assert_cmpstr (old, !=, new_token);
  g_assert_cmpuint (strlen (new_token), ==, 64);

  /* The old token stops working at once; the new one works. */
  g_assert_null (cw_client_call (stale, "ping", NULL, &error));
  g_assert_cmpstr (error->message, ==, "Unauthorized");
  {
    g_autoptr (CwClient) fresh = cw_test_daemon_connect (d);
    g_autoptr (JsonNode) pong = cw_test_daemon_call (fresh, "ping", NULL);
    g_autoptr (JsonNode) audit = cw_test_daemon_call (fresh, "audit_list", NULL);
    JsonArray *entries = json_object_get_array_member (json_node_get_object (audit), "entries");
    g_autofree gchar *audit_text = cw_json_to_string (audit);
    g_autofree gchar *actor = g_strdup_printf ("socket:uid=%u", (guint) getuid ());

    g_assert_cmpuint (json_array_get_length (entries), >=, 1);
    g_assert_cmpstr (
        json_object_get_string_member (json_array_get_object_element (entries, 0), "action"), ==,
        "token_rotate");
    /* The record names the real caller: coworkctl on the socket, as this uid. */
    g_assert_cmpstr (
        json_object_get_string_member (json_array_get_object_element (entries, 0), "actor"), ==,
        actor);
    /* The audit record never holds the token itself. */
    g_assert_null (strstr (audit_text, new_token));
  }
}

/* The entries of `coworkctl --json ... audit ARGS`. */
static guint
audit_count (const gchar *dir, const gchar *limit)
{
  g_autofree gchar *out = NULL, *err = NULL;
  g_autoptr (JsonNode) node = NULL;

  g_assert_cmpint (ctl (dir, &out, &err, "--json", "audit", "--limit", limit, NULL), ==, 0);
  node = cw_json_from_string (out, -1, NULL);
  g_assert_nonnull (node);
  return json_array_get_length (
      json_object_get_array_member (json_node_get_object (node), "entries"));
}

/* A usage error: status 2 and @needle on stderr. */
static void
assert_usage_error (const gchar *dir, const gchar *needle, ...)
{
  g_autofree gchar *out = NULL, *err = NULL;
  va_list ap;
  gint status;

  va_start (ap, needle);
  status = ctl_valist (NULL, dir, &out, &err, ap);
  va_end (ap);
  g_assert_cmpint (status, ==, 2);
  if (strstr (err, needle) == NULL)
    g_error ("expected '%s' in: %s", needle, err);
}

/* Every option of coworkctl that takes a value: given, it has its effect; missing or
 * malformed, it is a usage error (status 2) naming what is wrong. */
static void
test_option_values (void)
{
  g_autoptr (CwTestDaemon) d = cw_test_daemon_new ();
  g_autofree gchar *out = NULL, *err = NULL, *unit = NULL, *unit_text = NULL;
  g_autofree gchar *elsewhere = g_dir_make_tmp ("cw-ctl-XXXXXX", NULL);
  g_autoptr (JsonNode) node = NULL;
  g_auto (GStrv) lines = NULL;

  cw_test_daemon_start (d);
  for (guint i = 0; i < 3; i++)
    {
      g_assert_cmpint (ctl (d->dir, NULL, NULL, "token", "rotate", NULL), ==, 0);
      g_assert_cmpint (ctl (d->dir, NULL, NULL, "call", "example_echo", "{\"text\":\"x\"}", NULL),
                       ==, 0);
    }

  /* audit --limit N, from the daemon and (once it is down) from its database. */
  g_assert_cmpuint (audit_count (d->dir, "1"), ==, 1);
  g_assert_cmpuint (audit_count (d->dir, "2"), ==, 2);
  g_assert_cmpuint (audit_count (d->dir, "10000"), ==, 3);
  assert_usage_error (d->dir, "--limit", "audit", "--limit", "abc", NULL);
  assert_usage_error (d->dir, "--limit", "audit", "--limit", "0", NULL);
  assert_usage_error (d->dir, "--limit", "audit", "--limit", "10001", NULL);
  assert_usage_error (d->dir, "usage: coworkctl audit", "audit", "--limit", NULL);

  /* events --since SEQ prints what came after SEQ only. */
  g_assert_cmpint (ctl (d->dir, &out, &err, "--json", "events", "--since", "2", NULL), ==, 0);
  lines = g_strsplit (g_strstrip (out), "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), >=, 1);
  node = cw_json_from_string (lines[0], -1, NULL);
  g_assert_nonnull (node);
  g_assert_cmpint (json_object_get_int_member (json_node_get_object (node), "seq"), ==, 3);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  assert_usage_error (d->dir, "--since", "events", "--since", "abc", NULL);
  assert_usage_error (d->dir, "--since", "events", "--since", "-1", NULL);
  assert_usage_error (d->dir, "usage: coworkctl events", "events", "--since", NULL);

  /* --endpoint and --token-file reach the daemon from an unrelated data dir. */
  g_assert_cmpint (ctl (elsewhere, &out, &err, "--endpoint", d->endpoint, "--token-file",
                        d->token_file, "health", NULL),
                   ==, 0);
  g_assert_nonnull (strstr (out, "healthy"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  assert_usage_error (d->dir, "--endpoint", "--endpoint", NULL);
  assert_usage_error (d->dir, "--token-file", "--token-file", NULL);
  assert_usage_error (d->dir, "--mode", "--mode", NULL);
  assert_usage_error (d->dir, "nosuch", "--mode", "nosuch", "health", NULL);

  /* service render takes every value it is given. */
  unit = g_build_filename (elsewhere, "coworkd.service", NULL);
  g_assert_cmpint (ctl (d->dir, &out, &err, "service", "render", "--platform", "linux", "--user",
                        "--program", "/opt/cw/bin/coworkd", "--data-dir", "/srv/cw-data", "--home",
                        "/home/someone", "--user-name", "someone", "--output", unit, NULL),
                   ==, 0);
  g_assert_true (g_file_get_contents (unit, &unit_text, NULL, NULL));
  g_assert_nonnull (strstr (unit_text, "/opt/cw/bin/coworkd"));
  g_assert_nonnull (strstr (unit_text, "/srv/cw-data"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  assert_usage_error (d->dir, "unknown platform 'beos'", "service", "render", "--platform", "beos",
                      NULL);
  {
    const gchar *valued[]
        = { "--platform", "--program", "--data-dir", "--home", "--user-name", "--output" };
    for (guint i = 0; i < G_N_ELEMENTS (valued); i++)
      assert_usage_error (d->dir, "usage: coworkctl service", "service", "render", valued[i], NULL);
  }

  /* credentials promote --to and set --promoted-from. */
  assert_usage_error (d->dir, "--to system", "credentials", "promote", "openai", "--to", "user",
                      NULL);
  assert_usage_error (d->dir, "usage: coworkctl credentials", "credentials", "promote", "openai",
                      "--to", NULL);
  assert_usage_error (d->dir, "--promoted-from user", "credentials", "set", "openai",
                      "--promoted-from", "user", NULL);

  g_assert_cmpint (cw_test_daemon_stop (d, SIGTERM), ==, 0);
  g_assert_cmpuint (audit_count (d->dir, "2"), ==, 2);
  cw_test_rm_rf (elsewhere);
}

/* help, --version and COMMAND --help answer without a daemon and run nothing. */
static void
test_help (void)
{
  g_autoptr (CwTestDaemon) d = cw_test_daemon_new ();
  const gchar *subcommands[] = { "help",    "call",        "events", "health", "token",
                                 "service", "credentials", "audit",  "chat",   "sessions" };
  g_autofree gchar *out = NULL, *err = NULL;

  g_assert_cmpint (ctl (d->dir, &out, &err, "--version", NULL), ==, 0);
  g_assert_true (g_str_has_prefix (out, "coworkctl " PACKAGE_VERSION "\n"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (ctl (d->dir, &out, &err, "help", NULL), ==, 0);
  for (guint i = 0; i < G_N_ELEMENTS (subcommands); i++)
    {
      g_autofree gchar *row = g_strdup_printf ("\n  %s ", subcommands[i]);
      g_assert_nonnull (strstr (out, row));
    }
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  /* Every subcommand's --help prints its usage, and no daemon is needed for it. */
  for (guint i = 0; i < G_N_ELEMENTS (subcommands); i++)
    {
      g_autofree gchar *usage = g_strdup_printf ("usage: coworkctl %s", subcommands[i]);
      g_assert_cmpint (ctl (d->dir, &out, &err, subcommands[i], "--help", NULL), ==, 0);
      g_assert_true (g_str_has_prefix (out, usage));
      g_assert_cmpstr (err, ==, "");
      g_clear_pointer (&out, g_free);
      g_clear_pointer (&err, g_free);
      g_assert_cmpint (ctl (d->dir, &out, &err, "help", subcommands[i], NULL), ==, 0);
      g_assert_true (g_str_has_prefix (out, usage));
      g_clear_pointer (&out, g_free);
      g_clear_pointer (&err, g_free);
    }
  g_assert_cmpint (ctl (d->dir, &out, &err, "help", "service", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "set-mode user|system"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  assert_usage_error (d->dir, "unknown command 'nosuch'", "help", "nosuch", NULL);
  assert_usage_error (d->dir, "unknown command 'nosuch'", "nosuch", NULL);
  /* Extra words are usage errors (2), not ignored; a daemon that is not there is a failure (1). */
  assert_usage_error (d->dir, "usage: coworkctl health", "health", "now", NULL);
  assert_usage_error (d->dir, "usage: coworkctl sessions", "sessions", "all", NULL);
  assert_usage_error (d->dir, "usage: coworkctl token rotate", "token", NULL);
  g_assert_cmpint (ctl (d->dir, &out, &err, "sessions", NULL), ==, 1);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  /* With a daemon: call --help is not sent to it, health --help does not run the command. */
  cw_test_daemon_start (d);
  g_assert_cmpint (ctl (d->dir, &out, &err, "call", "--help", NULL), ==, 0);
  g_assert_true (g_str_has_prefix (out, "usage: coworkctl call COMMAND"));
  g_assert_null (strstr (out, "Unknown command"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (ctl (d->dir, &out, &err, "health", "--help", NULL), ==, 0);
  g_assert_null (strstr (out, "status:"));
}

/* events --follow prints the stored events first, as its help says, then the new ones. */
static void
test_events_follow (void)
{
  g_autoptr (CwTestDaemon) d = cw_test_daemon_new ();
  g_autoptr (GSubprocess) follow = NULL;
  g_autoptr (GDataInputStream) lines = NULL;
  g_autoptr (GError) error = NULL;
  gboolean stored = FALSE, live = FALSE;

  cw_test_daemon_start (d);
  g_assert_cmpint (ctl (d->dir, NULL, NULL, "call", "example_echo", "{\"text\":\"before\"}", NULL),
                   ==, 0);
  follow = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error, g_getenv ("COWORKCTL"),
                             "--app-data-dir", d->dir, "--json", "events", "--follow", NULL);
  g_assert_no_error (error);
  lines = g_data_input_stream_new (g_subprocess_get_stdout_pipe (follow));
  while (!live)
    {
      g_autofree gchar *line = g_data_input_stream_read_line (lines, NULL, NULL, &error);
      g_assert_no_error (error);
      g_assert_nonnull (line);
      if (strstr (line, "\"before\"") != NULL)
        {
          stored = TRUE;
          g_assert_cmpint (
              ctl (d->dir, NULL, NULL, "call", "example_echo", "{\"text\":\"after\"}", NULL), ==,
              0);
        }
      else if (strstr (line, "\"after\"") != NULL)
        live = TRUE;
    }
  g_assert_true (stored);
  g_subprocess_force_exit (follow);
  g_subprocess_wait (follow, NULL, NULL);
}

/* The German catalogue reaches the user: messages of coworkctl and of the library. */
static void
test_translated (void)
{
  g_autoptr (CwTestDaemon) d = cw_test_daemon_new ();
  g_autoptr (GSubprocessLauncher) launcher
      = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_autofree gchar *out = NULL, *err = NULL;

  g_subprocess_launcher_setenv (launcher, "COWORK_LOCALEDIR", g_getenv ("COWORK_TEST_LOCALEDIR"),
                                TRUE);
  g_subprocess_launcher_setenv (launcher, "LC_ALL", "C.UTF-8", TRUE);
  g_subprocess_launcher_setenv (launcher, "LANGUAGE", "de", TRUE);
  g_assert_cmpint (ctl_env (launcher, d->dir, &out, &err, "health", NULL), ==, 1);
  g_assert_nonnull (strstr (err, "coworkd läuft nicht"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  /* A message of the shared code (the paths), through the same catalogue. */
  g_assert_cmpint (ctl_env (launcher, d->dir, &out, &err, "--mode", "nosuch", "health", NULL), ==,
                   2);
  g_assert_nonnull (strstr (err, "unbekannter Modus „nosuch“"));
}

/* Without any keyring in reach, a credential command says so in plain words and what to do,
 * not only D-Bus's own complaint. */
static void
test_keyring_unreachable (void)
{
  g_autoptr (CwTestDaemon) d = cw_test_daemon_new ();
  g_autoptr (GSubprocessLauncher) launcher
      = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_autofree gchar *out = NULL, *err = NULL;

  g_subprocess_launcher_unsetenv (launcher, "DBUS_SESSION_BUS_ADDRESS");
  g_subprocess_launcher_unsetenv (launcher, "DISPLAY");
  g_subprocess_launcher_setenv (launcher, "XDG_RUNTIME_DIR", d->dir, TRUE);
  g_assert_cmpint (ctl_env (launcher, d->dir, &out, &err, "credentials", "promote", "openai",
                            "--to", "system", "--yes", NULL),
                   ==, 1);
  g_assert_nonnull (strstr (err, "coworkctl: cannot read the credential: no keyring (Secret "
                                 "Service) is reachable in this session. Log in to a desktop"));
  g_assert_nonnull (strstr (err, "dbus-run-session -- gnome-keyring-daemon --unlock"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cowork/coworkctl/not-running", test_not_running);
  g_test_add_func ("/cowork/coworkctl/call-health-events", test_call_health_events);
  g_test_add_func ("/cowork/coworkctl/token-rotate", test_token_rotate);
  g_test_add_func ("/cowork/coworkctl/option-values", test_option_values);
  g_test_add_func ("/cowork/coworkctl/help", test_help);
  g_test_add_func ("/cowork/coworkctl/translated", test_translated);
  g_test_add_func ("/cowork/coworkctl/keyring-unreachable", test_keyring_unreachable);
  g_test_add_func ("/cowork/coworkctl/events-follow", test_events_follow);
  return g_test_run ();
}
