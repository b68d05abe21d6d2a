/* cw-paths-private.h: where the daemon keeps its files, worked out the same way by coworkd
 * and coworkctl: command-line flag, else environment, else the mode's default.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cowork-host.h"

G_BEGIN_DECLS

typedef struct
{
  gboolean system_mode;
  gchar *app_data_dir;
  gchar *endpoint; /* a socket path, or tcp://127.0.0.1:PORT */
  gchar *token_file;
  gchar *lock_file;
  gchar *db_file;
  gchar *config_file;
} CwPaths;

/* Each argument may be NULL: then COWORK_* from the environment, then the default.
 * @mode is "user", "system" or NULL (COWORK_MODE, else user). */
CwPaths *cw_paths_resolve (const gchar *mode, const gchar *app_data_dir, const gchar *endpoint,
                           const gchar *token_file, const gchar *lock_file, GError **error);
void cw_paths_free (CwPaths *paths);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CwPaths, cw_paths_free)

/* The credential store of the mode @paths describe: system mode uses <appData>/secrets,
 * user mode the Secret Service with <appData>/secrets while there is none. */
CwSecrets *cw_paths_open_secrets (const CwPaths *paths);

/* "tcp://HOST:PORT" -> host and port; FALSE for a socket path. */
gboolean cw_endpoint_parse_tcp (const gchar *endpoint, gchar **host, guint16 *port);

G_END_DECLS
