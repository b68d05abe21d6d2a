/* test-service-render.c: the unit, plist, task and service files match the golden files in
 * tests/service/data, and coworkctl service render prints the same text.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-service-private.h"

#define WIN_PROGRAM "C:\\Program Files\\Cowork\\coworkd.exe"

typedef struct
{
  const gchar *golden;
  CwServiceSpec spec;
  const gchar *file_name;
} Case;

static const Case cases[] = {
  { "linux-user.service",
    { CW_SERVICE_PLATFORM_LINUX, CW_SERVICE_SCOPE_USER, "/usr/bin/coworkd" },
    "coworkd.service" },
  { "linux-user-custom.service",
    { CW_SERVICE_PLATFORM_LINUX, CW_SERVICE_SCOPE_USER, "/opt/co work/coworkd",
      "/srv/50% \"data\"/$HOME" },
    "coworkd.service" },
  { "linux-system.service",
    { CW_SERVICE_PLATFORM_LINUX, CW_SERVICE_SCOPE_SYSTEM, "/usr/bin/coworkd" },
    "coworkd.service" },
  { "macos-user.plist",
    { CW_SERVICE_PLATFORM_MACOS, CW_SERVICE_SCOPE_USER,
      "/Applications/Cowork.app/Contents/MacOS/coworkd", NULL, "/Users/alice" },
    "com.cowork.agentd.user.plist" },
  { "macos-system.plist",
    { CW_SERVICE_PLATFORM_MACOS, CW_SERVICE_SCOPE_SYSTEM,
      "/Applications/Cowork & Co.app/Contents/MacOS/coworkd" },
    "com.cowork.agentd.system.plist" },
  { "windows-user.xml",
    { CW_SERVICE_PLATFORM_WINDOWS, CW_SERVICE_SCOPE_USER, WIN_PROGRAM, NULL,
      "C:\\Users\\Alice Smith", "Alice Smith" },
    "CoworkAgentDUser.xml" },
  { "windows-system.cmd",
    { CW_SERVICE_PLATFORM_WINDOWS, CW_SERVICE_SCOPE_SYSTEM, WIN_PROGRAM },
    "CoworkAgentD-register.cmd" },
};

static gchar *
read_golden (const gchar *name)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *path = g_test_build_filename (G_TEST_DIST, "service", "data", name, NULL);
  gchar *text = NULL;

  g_file_get_contents (path, &text, NULL, &error);
  g_assert_no_error (error);
  return text;
}

static void
test_golden (gconstpointer data)
{
  const Case *c = data;
  g_autoptr (GError) error = NULL;
  g_autofree gchar *file_name = NULL;
  g_autofree gchar *text = cw_service_render (&c->spec, &file_name, &error);
  g_autofree gchar *golden = read_golden (c->golden);

  g_assert_no_error (error);
  g_assert_cmpstr (file_name, ==, c->file_name);
  g_assert_cmpstr (text, ==, golden);
}

/* The CLI is a thin shell over the same renderer: same bytes for the same inputs. */
static void
test_cli_matches (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *out = NULL;
  g_autofree gchar *golden = read_golden ("windows-user.xml");
  const gchar *argv[] = { g_getenv ("COWORKCTL"),
                          "service",
                          "render",
                          "--platform",
                          "windows",
                          "--user",
                          "--program",
                          WIN_PROGRAM,
                          "--home",
                          "C:\\Users\\Alice Smith",
                          "--user-name",
                          "Alice Smith",
                          NULL };
  g_autoptr (GSubprocess) proc = g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error);

  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (proc, NULL, NULL, &out, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_successful (proc));
  g_assert_cmpstr (out, ==, golden);
}

/* System mode runs as its own account with its own state dir: no home, no data dir flag. */
static void
test_system_unit_hardening (void)
{
  CwServiceSpec spec = { CW_SERVICE_PLATFORM_LINUX, CW_SERVICE_SCOPE_SYSTEM, "/usr/bin/coworkd",
                         "/home/alice/.cowork" };
  g_autofree gchar *text = cw_service_render (&spec, NULL, NULL);
  const gchar *required[] = { "Type=notify\n",
                              "User=cowork\n",
                              "StateDirectory=cowork\n",
                              "RuntimeDirectory=cowork\n",
                              "WatchdogSec=",
                              "Restart=on-failure\n",
                              "StartLimitBurst=",
                              "ProtectSystem=strict\n",
                              "ProtectHome=yes\n",
                              "PrivateTmp=yes\n",
                              "NoNewPrivileges=yes\n",
                              "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6\n",
                              "SystemCallFilter=@system-service\n" };

  for (guint i = 0; i < G_N_ELEMENTS (required); i++)
    g_assert_nonnull (strstr (text, required[i]));
  g_assert_null (strstr (text, "/home"));
  g_assert_null (strstr (text, "--app-data-dir"));
}

static void
test_windows_port (void)
{
  /* 39100 + |javaHash(name)| mod 1000, name lowercased, odd characters as '-'. */
  g_assert_cmpuint (cw_service_windows_port ("alice"), ==, 39140);
  g_assert_cmpuint (cw_service_windows_port ("Alice"), ==, 39140);
  g_assert_cmpuint (cw_service_windows_port ("alice smith"), ==,
                    cw_service_windows_port ("alice-smith"));
  /* Long names overflow Java's int; the port must stay in range. */
  g_assert_cmpuint (cw_service_windows_port ("a-very-long-user-name-that-overflows"), >=, 39100);
  g_assert_cmpuint (cw_service_windows_port ("a-very-long-user-name-that-overflows"), <, 40100);
}

static void
test_scope_parse (void)
{
  const gchar *system_words[] = { "system", " System-Wide ", "SYSTEM_WIDE" };
  g_autoptr (GError) error = NULL;
  CwServiceScope scope = CW_SERVICE_SCOPE_USER;

  for (guint i = 0; i < G_N_ELEMENTS (system_words); i++)
    {
      g_assert_true (cw_service_scope_parse (system_words[i], &scope, NULL));
      g_assert_cmpint (scope, ==, CW_SERVICE_SCOPE_SYSTEM);
    }
  g_assert_true (cw_service_scope_parse ("User", &scope, NULL));
  g_assert_cmpint (scope, ==, CW_SERVICE_SCOPE_USER);
  g_assert_false (cw_service_scope_parse ("root", &scope, &error));
  g_assert_cmpstr (error->message, ==, "Invalid service mode 'root'. Expected 'user' or 'system'.");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree gchar *path = g_strdup_printf ("/cowork/service/render/%s", cases[i].golden);
      g_test_add_data_func (path, &cases[i], test_golden);
    }
  g_test_add_func ("/cowork/service/render/cli", test_cli_matches);
  g_test_add_func ("/cowork/service/render/system-hardening", test_system_unit_hardening);
  g_test_add_func ("/cowork/service/render/windows-port", test_windows_port);
  g_test_add_func ("/cowork/service/render/scope-parse", test_scope_parse);
  return g_test_run ();
}
