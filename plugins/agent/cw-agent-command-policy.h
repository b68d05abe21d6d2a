/* cw-agent-command-policy.h: which shell commands may run without a prompt. A command is
 * parsed into argv (g_shell_parse_argv) and matched against a table of read-only programs
 * with the options each may take; anything the table does not describe asks.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* A read-only command (plan mode): a known program (ls, cat, grep, git diff, ...) with only
 * the options listed for it, no shell syntax beyond quoting, and every path operand inside
 * @working_directory or a system directory. */
gboolean cw_command_policy_is_read_only (const gchar *command, const gchar *working_directory);

/* A trusted command (auto mode): its argv starts with one of @trusted (the user's
 * sandbox.trustedCommands, each parsed the same way); beyond that prefix it takes arguments
 * only if it is also read-only, otherwise it must equal the entry exactly. */
gboolean cw_command_policy_is_trusted (const gchar *command, const gchar *working_directory,
                                       GPtrArray *trusted);

G_END_DECLS
