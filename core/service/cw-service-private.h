/* cw-service-private.h: the daemon as an OS service: unit/plist/task files and the
 * command line each platform runs. Shared by coworkctl and the daemon's service_* commands.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cowork-host.h"

G_BEGIN_DECLS

typedef enum
{
  CW_SERVICE_SCOPE_USER,
  CW_SERVICE_SCOPE_SYSTEM,
} CwServiceScope;

typedef enum
{
  CW_SERVICE_PLATFORM_LINUX,
  CW_SERVICE_PLATFORM_MACOS,
  CW_SERVICE_PLATFORM_WINDOWS,
} CwServicePlatform;

#define CW_SERVICE_UNIT_NAME       "coworkd.service"
#define CW_SERVICE_LAUNCHD_USER    "com.cowork.agentd.user"
#define CW_SERVICE_LAUNCHD_SYSTEM  "com.cowork.agentd.system"
#define CW_SERVICE_WINDOWS_TASK    "\\Cowork\\AgentDUser"
#define CW_SERVICE_WINDOWS_SERVICE "CoworkAgentD"
#define CW_SERVICE_DISPLAY_NAME    "Cowork Agent Daemon"
#define CW_SERVICE_DESCRIPTION     "Cowork background agent service"

typedef struct
{
  CwServicePlatform platform;
  CwServiceScope scope;
  const gchar *program;      /* the coworkd binary */
  const gchar *app_data_dir; /* user scope: NULL means the platform default */
  const gchar *home_dir;     /* user scope default data dir (macOS, Windows) */
  const gchar *user_name;    /* Windows: the logon user and the TCP port's hash input */
} CwServiceSpec;

const gchar *cw_service_scope_to_string (CwServiceScope scope);
/* Accepts user, system, system-wide, system_wide (trimmed, any case), as the desktop app. */
gboolean cw_service_scope_parse (const gchar *text, CwServiceScope *out_scope, GError **error);
gboolean cw_service_platform_parse (const gchar *text, CwServicePlatform *out_platform,
                                    GError **error);

/* The arguments after the program, NULL-terminated (g_strfreev). */
gchar **cw_service_daemon_args (const CwServiceSpec *spec);
/* The file that registers the service, and its base name (e.g. "coworkd.service"). */
gchar *cw_service_render (const CwServiceSpec *spec, gchar **out_file_name, GError **error);
/* Windows loopback port for @user_name (contract §6: 39100 + |javaHash| mod 1000). */
guint16 cw_service_windows_port (const gchar *user_name);

/* The coworkd binary: $COWORK_DAEMON_PROGRAM, else next to this process, else bindir. */
gchar *cw_service_find_program (GError **error);

G_END_DECLS
