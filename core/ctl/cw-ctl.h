/* cw-ctl.h: what every coworkctl subcommand gets.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cw-client.h"
#include "cw-paths-private.h"

G_BEGIN_DECLS

typedef struct
{
  const CwPaths *paths;
  gboolean json;
} CwCtl;

/* Returns the exit status; on failure sets @error (printed by main). argv[0] is the
 * subcommand's name. */
typedef int (*CwCtlRunFunc) (CwCtl *ctl, int argc, char **argv, GError **error);

typedef struct
{
  const gchar *name;
  const gchar *usage;
  const gchar *summary;
  CwCtlRunFunc run;
  const gchar *details; /* more for `coworkctl help NAME` (may be NULL) */
} CwCtlCommand;

/* @text as a number within [@min, @max] for the option @option (e.g. "--limit"); otherwise a
 * usage error naming the option. */
gboolean cw_ctl_parse_int (const gchar *option, const gchar *text, gint64 min, gint64 max,
                           gint64 *out, GError **error);

/* The socket, authenticated with the token file; a clear error when nothing answers. */
CwClient *cw_ctl_connect_socket (CwCtl *ctl, GError **error);

/* cw-ctl-args.c: helpers of the subcommands. */
/* Calls @command with @params (taken; NULL: {}) and waits up to @timeout_s (0: no limit). */
JsonNode *cw_ctl_call (CwCtl *ctl, const gchar *command, JsonObject *params, guint timeout_s,
                       GError **error);
/* Prints @node as JSON text and a newline. */
void cw_ctl_print_json (JsonNode *node);
/* The string member @name of @obj, or @fallback. */
const gchar *cw_ctl_json_string (JsonObject *obj, const gchar *name, const gchar *fallback);
/* The epoch-milliseconds member @name as local "YYYY-MM-DD HH:MM", or "-" when null. */
gchar *cw_ctl_format_time (JsonObject *obj, const gchar *name);

G_END_DECLS
