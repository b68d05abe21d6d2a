/* cw-service-render.c: the files that register coworkd with each platform's service
 * manager. The systemd units in data/ are rendered by this code at build time, so the
 * installed units and `coworkctl service install` can never drift apart.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-service-private.h"
#include "cw-service-config.h"

#include <stdlib.h>
#include <unistd.h>

const gchar *
cw_service_scope_to_string (CwServiceScope scope)
{
  return scope == CW_SERVICE_SCOPE_SYSTEM ? "system" : "user";
}

gboolean
cw_service_scope_parse (const gchar *text, CwServiceScope *out_scope, GError **error)
{
  g_autofree gchar *norm = g_ascii_strdown (text ?: "", -1);

  g_strstrip (norm);

  if (g_strcmp0 (norm, "user") == 0)
    *out_scope = CW_SERVICE_SCOPE_USER;
  else if (g_strcmp0 (norm, "system") == 0 || g_strcmp0 (norm, "system-wide") == 0
           || g_strcmp0 (norm, "system_wide") == 0)
    *out_scope = CW_SERVICE_SCOPE_SYSTEM;
  else
    {
      g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS,
                   "Invalid service mode '%s'. Expected 'user' or 'system'.", text ?: "");
      return FALSE;
    }
  return TRUE;
}

gboolean
cw_service_platform_parse (const gchar *text, CwServicePlatform *out_platform, GError **error)
{
  if (g_strcmp0 (text, "linux") == 0)
    *out_platform = CW_SERVICE_PLATFORM_LINUX;
  else if (g_strcmp0 (text, "macos") == 0)
    *out_platform = CW_SERVICE_PLATFORM_MACOS;
  else if (g_strcmp0 (text, "windows") == 0)
    *out_platform = CW_SERVICE_PLATFORM_WINDOWS;
  else
    {
      g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS,
                   "unknown platform '%s' (expected linux, macos or windows)", text ?: "");
      return FALSE;
    }
  return TRUE;
}

guint16
cw_service_windows_port (const gchar *user_name)
{
  g_autofree gchar *lower = g_ascii_strdown (user_name, -1);
  gint32 h = 0;

  for (const gchar *p = lower; *p != '\0'; p++)
    {
      guchar c = (guchar) *p;
      if (!g_ascii_isalnum (c) && c != '_' && c != '-')
        c = '-';
      /* Java's int arithmetic wraps; do it unsigned to stay defined in C. */
      h = (gint32) ((guint32) h * 31u + c);
    }
  return (guint16) (39100 + (guint) (llabs ((gint64) h) % 1000));
}

/* The data dir of a scope on a platform; system scope never points into a home. */
static gchar *
data_dir_for (const CwServiceSpec *spec)
{
  if (spec->scope == CW_SERVICE_SCOPE_SYSTEM)
    {
      if (spec->platform == CW_SERVICE_PLATFORM_MACOS)
        return g_strdup ("/Library/Application Support/Cowork");
      if (spec->platform == CW_SERVICE_PLATFORM_WINDOWS)
        return g_strdup ("C:\\ProgramData\\Cowork");
      return NULL; /* systemd: StateDirectory= */
    }
  if (spec->app_data_dir != NULL)
    return g_strdup (spec->app_data_dir);
  if (spec->platform == CW_SERVICE_PLATFORM_LINUX)
    return NULL; /* the daemon's own default, ~/.cowork */
  if (spec->platform == CW_SERVICE_PLATFORM_WINDOWS)
    return g_strconcat (spec->home_dir ?: g_get_home_dir (), "\\.cowork", NULL);
  return g_build_filename (spec->home_dir ?: g_get_home_dir (), ".cowork", NULL);
}

static gchar *
join (const CwServiceSpec *spec, const gchar *dir, const gchar *a, const gchar *b)
{
  const gchar *sep = spec->platform == CW_SERVICE_PLATFORM_WINDOWS ? "\\" : "/";

  return g_strjoin (sep, dir, a, b, NULL);
}

gchar **
cw_service_daemon_args (const CwServiceSpec *spec)
{
  g_autoptr (GStrvBuilder) b = g_strv_builder_new ();
  g_autofree gchar *data = data_dir_for (spec);

  if (spec->platform != CW_SERVICE_PLATFORM_LINUX)
    g_strv_builder_add (b, "--daemon");
  g_strv_builder_add_many (b, "--mode", cw_service_scope_to_string (spec->scope), NULL);
  if (data == NULL)
    return g_strv_builder_end (b);
  g_strv_builder_add_many (b, "--app-data-dir", data, NULL);
  if (spec->platform == CW_SERVICE_PLATFORM_LINUX)
    return g_strv_builder_end (b);
  if (spec->platform == CW_SERVICE_PLATFORM_WINDOWS)
    {
      const gchar *who = spec->scope == CW_SERVICE_SCOPE_SYSTEM ? "system"
                                                                : spec->user_name ?: g_get_user_name ();
      g_autofree gchar *ep = g_strdup_printf ("tcp://127.0.0.1:%u", cw_service_windows_port (who));
      g_strv_builder_add_many (b, "--endpoint", ep, NULL);
    }
  else
    {
      g_autofree gchar *ep = join (spec, data, "daemon", "agentd.sock");
      g_strv_builder_add_many (b, "--endpoint", ep, NULL);
    }
  {
    g_autofree gchar *token = join (spec, data, "daemon", "auth.token");
    g_autofree gchar *lock = join (spec, data, "daemon", "agentd.lock");
    g_strv_builder_add_many (b, "--token-file", token, "--lock-file", lock, NULL);
  }
  return g_strv_builder_end (b);
}

/* One ExecStart word: quoted, with the characters systemd expands escaped. */
static void
append_systemd_word (GString *s, const gchar *word)
{
  g_string_append_c (s, '"');
  for (const gchar *p = word; *p != '\0'; p++)
    {
      if (*p == '"' || *p == '\\')
        g_string_append_c (s, '\\');
      else if (*p == '%' || *p == '$')
        g_string_append_c (s, *p);
      g_string_append_c (s, *p);
    }
  g_string_append_c (s, '"');
}

static const gchar systemd_system_hardening[]
    = "User=cowork\n"
      "Group=cowork\n"
      "StateDirectory=cowork\n"
      "StateDirectoryMode=0750\n"
      "RuntimeDirectory=cowork\n"
      "RuntimeDirectoryMode=0750\n"
      "ConfigurationDirectory=cowork\n"
      "WorkingDirectory=%S/cowork\n"
      "UMask=0077\n"
      "# The daemon needs no privilege at all once started.\n"
      "CapabilityBoundingSet=\n"
      "AmbientCapabilities=\n"
      "NoNewPrivileges=yes\n"
      "ProtectSystem=strict\n"
      "# System mode never reads or writes a user's home (no keyring, no ~/.cowork).\n"
      "ProtectHome=yes\n"
      "PrivateTmp=yes\n"
      "PrivateDevices=yes\n"
      "ProtectKernelTunables=yes\n"
      "ProtectKernelModules=yes\n"
      "ProtectKernelLogs=yes\n"
      "ProtectControlGroups=yes\n"
      "ProtectClock=yes\n"
      "ProtectHostname=yes\n"
      "ProtectProc=invisible\n"
      "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6\n"
      "RestrictNamespaces=yes\n"
      "RestrictRealtime=yes\n"
      "RestrictSUIDSGID=yes\n"
      "LockPersonality=yes\n"
      "RemoveIPC=yes\n"
      "SystemCallArchitectures=native\n"
      "SystemCallFilter=@system-service\n"
      "SystemCallFilter=~@privileged\n"
      "SystemCallErrorNumber=EPERM\n"
      "# No MemoryDenyWriteExecute: tools the agent starts (node, python) need a JIT.\n";

static gchar *
render_systemd (const CwServiceSpec *spec, gchar **out_file_name)
{
  GString *s = g_string_new (NULL);
  g_auto (GStrv) args = cw_service_daemon_args (spec);
  gboolean system = spec->scope == CW_SERVICE_SCOPE_SYSTEM;

  g_string_append (s, "# coworkd as a systemd ");
  g_string_append (s, system ? "system service" : "user service");
  g_string_append (s, ". Generated by coworkctl service render; edit with\n"
                      "# `systemctl");
  g_string_append (s, system ? "" : " --user");
  g_string_append (s, " edit coworkd` so updates keep your changes.\n"
                      "[Unit]\n"
                      "Description=" CW_SERVICE_DISPLAY_NAME "\n");
  if (system)
    g_string_append (s, "Wants=network-online.target\n"
                        "After=network-online.target\n");
  g_string_append (s, "# At most 5 restarts in 5 minutes, then systemd gives up.\n"
                      "StartLimitIntervalSec=300\n"
                      "StartLimitBurst=5\n"
                      "\n[Service]\n"
                      "Type=notify\n"
                      "NotifyAccess=main\n"
                      "ExecStart=");
  append_systemd_word (s, spec->program);
  for (guint i = 0; args[i] != NULL; i++)
    {
      g_string_append_c (s, ' ');
      append_systemd_word (s, args[i]);
    }
  g_string_append (s, "\n"
                      "Restart=on-failure\n"
                      "RestartSec=2\n"
                      "WatchdogSec=30\n"
                      "TimeoutStopSec=30\n");
  if (system)
    g_string_append (s, systemd_system_hardening);
  g_string_append (s, "\n[Install]\nWantedBy=");
  g_string_append (s, system ? "multi-user.target\n" : "default.target\n");
  *out_file_name = g_strdup (CW_SERVICE_UNIT_NAME);
  return g_string_free (s, FALSE);
}

static void
append_xml_element (GString *s, const gchar *indent, const gchar *tag, const gchar *text)
{
  g_autofree gchar *escaped = g_markup_escape_text (text, -1);

  g_string_append_printf (s, "%s<%s>%s</%s>\n", indent, tag, escaped, tag);
}

static gchar *
render_launchd (const CwServiceSpec *spec, gchar **out_file_name)
{
  GString *s = g_string_new (NULL);
  g_auto (GStrv) args = cw_service_daemon_args (spec);
  g_autofree gchar *data = data_dir_for (spec);
  g_autofree gchar *out_log = g_build_filename (data, "logs", "agentd.stdout.log", NULL);
  g_autofree gchar *err_log = g_build_filename (data, "logs", "agentd.stderr.log", NULL);
  const gchar *label = spec->scope == CW_SERVICE_SCOPE_SYSTEM ? CW_SERVICE_LAUNCHD_SYSTEM
                                                              : CW_SERVICE_LAUNCHD_USER;

  g_string_append (s, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                      "<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" "
                      "\"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n"
                      "<plist version=\"1.0\">\n<dict>\n");
  append_xml_element (s, "  ", "key", "Label");
  append_xml_element (s, "  ", "string", label);
  append_xml_element (s, "  ", "key", "ProgramArguments");
  g_string_append (s, "  <array>\n");
  append_xml_element (s, "    ", "string", spec->program);
  for (guint i = 0; args[i] != NULL; i++)
    append_xml_element (s, "    ", "string", args[i]);
  g_string_append (s, "  </array>\n");
  append_xml_element (s, "  ", "key", "RunAtLoad");
  g_string_append (s, "  <true/>\n");
  append_xml_element (s, "  ", "key", "KeepAlive");
  g_string_append (s, "  <dict>\n");
  append_xml_element (s, "    ", "key", "SuccessfulExit");
  g_string_append (s, "    <false/>\n  </dict>\n");
  append_xml_element (s, "  ", "key", "ThrottleInterval");
  append_xml_element (s, "  ", "integer", "10");
  append_xml_element (s, "  ", "key", "ProcessType");
  append_xml_element (s, "  ", "string", "Background");
  if (spec->scope == CW_SERVICE_SCOPE_SYSTEM)
    {
      /* Created by the installer, like systemd's User=cowork. */
      append_xml_element (s, "  ", "key", "UserName");
      append_xml_element (s, "  ", "string", "_cowork");
      append_xml_element (s, "  ", "key", "Umask");
      append_xml_element (s, "  ", "integer", "63");
    }
  append_xml_element (s, "  ", "key", "WorkingDirectory");
  append_xml_element (s, "  ", "string", data);
  append_xml_element (s, "  ", "key", "StandardOutPath");
  append_xml_element (s, "  ", "string", out_log);
  append_xml_element (s, "  ", "key", "StandardErrorPath");
  append_xml_element (s, "  ", "string", err_log);
  g_string_append (s, "</dict>\n</plist>\n");
  *out_file_name = g_strconcat (label, ".plist", NULL);
  return g_string_free (s, FALSE);
}

/* One word of a Windows command line, quoted the way CommandLineToArgvW reads it back. */
static void
append_windows_word (GString *s, const gchar *word)
{
  guint backslashes = 0;

  if (*word != '\0' && strpbrk (word, " \t\"") == NULL)
    {
      g_string_append (s, word);
      return;
    }
  g_string_append_c (s, '"');
  for (const gchar *p = word; *p != '\0'; p++)
    {
      if (*p == '\\')
        {
          backslashes++;
          continue;
        }
      /* Backslashes only escape when a quote follows. */
      for (; backslashes > 0; backslashes--)
        g_string_append (s, *p == '"' ? "\\\\" : "\\");
      if (*p == '"')
        g_string_append (s, "\\\"");
      else
        g_string_append_c (s, *p);
    }
  for (; backslashes > 0; backslashes--)
    g_string_append (s, "\\\\");
  g_string_append_c (s, '"');
}

static gchar *
windows_args (const CwServiceSpec *spec, gboolean with_program)
{
  GString *s = g_string_new (NULL);
  g_auto (GStrv) args = cw_service_daemon_args (spec);

  if (with_program)
    append_windows_word (s, spec->program);
  for (guint i = 0; args[i] != NULL; i++)
    {
      if (s->len > 0)
        g_string_append_c (s, ' ');
      append_windows_word (s, args[i]);
    }
  return g_string_free (s, FALSE);
}

static gchar *
render_windows_task (const CwServiceSpec *spec, gchar **out_file_name)
{
  GString *s = g_string_new (NULL);
  g_autofree gchar *args = windows_args (spec, FALSE);
  g_autofree gchar *data = data_dir_for (spec);
  const gchar *user = spec->user_name ?: g_get_user_name ();

  g_string_append (s, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                      "<!-- Import with: schtasks /Create /F /TN \\Cowork\\AgentDUser /XML "
                      "CoworkAgentDUser.xml -->\n"
                      "<Task version=\"1.2\" "
                      "xmlns=\"http://schemas.microsoft.com/windows/2004/02/mit/task\">\n"
                      "  <RegistrationInfo>\n");
  append_xml_element (s, "    ", "Description", CW_SERVICE_DESCRIPTION);
  append_xml_element (s, "    ", "URI", CW_SERVICE_WINDOWS_TASK);
  g_string_append (s, "  </RegistrationInfo>\n  <Triggers>\n    <LogonTrigger>\n"
                      "      <Enabled>true</Enabled>\n");
  append_xml_element (s, "      ", "UserId", user);
  g_string_append (s, "    </LogonTrigger>\n  </Triggers>\n  <Principals>\n"
                      "    <Principal id=\"Author\">\n");
  append_xml_element (s, "      ", "UserId", user);
  g_string_append (s, "      <LogonType>InteractiveToken</LogonType>\n"
                      "      <RunLevel>LeastPrivilege</RunLevel>\n"
                      "    </Principal>\n  </Principals>\n  <Settings>\n"
                      "    <MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy>\n"
                      "    <DisallowStartIfOnBatteries>false</DisallowStartIfOnBatteries>\n"
                      "    <StopIfGoingOnBatteries>false</StopIfGoingOnBatteries>\n"
                      "    <ExecutionTimeLimit>PT0S</ExecutionTimeLimit>\n"
                      "    <RestartOnFailure>\n      <Interval>PT1M</Interval>\n"
                      "      <Count>5</Count>\n    </RestartOnFailure>\n"
                      "    <Enabled>true</Enabled>\n    <Hidden>true</Hidden>\n"
                      "  </Settings>\n  <Actions Context=\"Author\">\n    <Exec>\n");
  append_xml_element (s, "      ", "Command", spec->program);
  append_xml_element (s, "      ", "Arguments", args);
  append_xml_element (s, "      ", "WorkingDirectory", data);
  g_string_append (s, "    </Exec>\n  </Actions>\n</Task>\n");
  *out_file_name = g_strdup ("CoworkAgentDUser.xml");
  return g_string_free (s, FALSE);
}

/* cmd.exe script: inner quotes of binPath= are escaped with a backslash for sc.exe. */
static gchar *
render_windows_service (const CwServiceSpec *spec, gchar **out_file_name)
{
  GString *s = g_string_new (NULL);
  g_autofree gchar *cmdline = windows_args (spec, TRUE);
  g_autoptr (GString) bin_path = g_string_new (cmdline);

  g_string_replace (bin_path, "\"", "\\\"", 0);
  g_string_append (s, "@echo off\r\n"
                      "rem Registers coworkd as the Windows service " CW_SERVICE_WINDOWS_SERVICE
                      ". Run as Administrator.\r\n"
                      "set SVC=" CW_SERVICE_WINDOWS_SERVICE "\r\n"
                      "sc.exe query %SVC% >nul 2>&1\r\n"
                      "if %errorlevel% equ 0 (set VERB=config) else (set VERB=create)\r\n");
  g_string_append_printf (s,
                          "sc.exe %%VERB%% %%SVC%% binPath= \"%s\" start= auto "
                          "DisplayName= \"" CW_SERVICE_DISPLAY_NAME "\"\r\n",
                          bin_path->str);
  g_string_append (s, "if errorlevel 1 exit /b 1\r\n"
                      "sc.exe description %SVC% \"" CW_SERVICE_DESCRIPTION "\"\r\n"
                      "rem Restart on failure: twice after 2 s, then after 60 s; reset daily.\r\n"
                      "sc.exe failure %SVC% reset= 86400 "
                      "actions= restart/2000/restart/2000/restart/60000\r\n"
                      "sc.exe start %SVC%\r\n");
  *out_file_name = g_strdup ("CoworkAgentD-register.cmd");
  return g_string_free (s, FALSE);
}

gchar *
cw_service_render (const CwServiceSpec *spec, gchar **out_file_name, GError **error)
{
  g_autofree gchar *file_name = NULL;
  gchar *text;

  if (spec->program == NULL || *spec->program == '\0')
    {
      g_set_error_literal (error, CW_ERROR, CW_ERROR_INVALID_PARAMS, "no daemon program given");
      return NULL;
    }
  if (spec->platform == CW_SERVICE_PLATFORM_LINUX)
    text = render_systemd (spec, &file_name);
  else if (spec->platform == CW_SERVICE_PLATFORM_MACOS)
    text = render_launchd (spec, &file_name);
  else if (spec->scope == CW_SERVICE_SCOPE_USER)
    text = render_windows_task (spec, &file_name);
  else
    text = render_windows_service (spec, &file_name);
  if (out_file_name != NULL)
    *out_file_name = g_steal_pointer (&file_name);
  return text;
}

gchar *
cw_service_find_program (GError **error)
{
  const gchar *env = g_getenv ("COWORK_DAEMON_PROGRAM");
  g_autofree gchar *self_exe = g_file_read_link ("/proc/self/exe", NULL);
  g_autofree gchar *sibling = NULL;

  if (env != NULL && *env != '\0')
    {
      if (g_file_test (env, G_FILE_TEST_IS_EXECUTABLE))
        return g_canonicalize_filename (env, NULL);
      g_set_error (error, CW_ERROR, CW_ERROR_NOT_FOUND,
                   "COWORK_DAEMON_PROGRAM %s is not an executable", env);
      return NULL;
    }
  if (self_exe != NULL)
    {
      g_autofree gchar *dir = g_path_get_dirname (self_exe);
      sibling = g_build_filename (dir, "coworkd", NULL);
      if (g_file_test (sibling, G_FILE_TEST_IS_EXECUTABLE))
        return g_steal_pointer (&sibling);
    }
  if (g_file_test (CW_BINDIR "/coworkd", G_FILE_TEST_IS_EXECUTABLE))
    return g_strdup (CW_BINDIR "/coworkd");
  g_set_error (error, CW_ERROR, CW_ERROR_NOT_FOUND,
               "cannot find the coworkd program (looked next to %s and in " CW_BINDIR ")",
               self_exe ?: "this program");
  return NULL;
}
