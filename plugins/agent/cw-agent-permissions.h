/* cw-agent-permissions.h: the permission engine (contract §8.2–§8.3): what a tool call may
 * do without asking, and the pending requests that wait for a person.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cw-agent-plugin.h"

G_BEGIN_DECLS

typedef enum
{
  CW_PERMISSION_ALLOW,
  CW_PERMISSION_ALLOW_CONFINED, /* a command allowed without a person: runs sandboxed */
  CW_PERMISSION_DENY,
  CW_PERMISSION_ASK,
} CwPermissionVerdict;

/* What the engine decides without a person, in the contract's order: session grants,
 * then the approval mode. Paths outside the working directory and dangerous commands are
 * never allowed without asking (read_only denies them). Trusted commands (auto) and
 * read-only ones (plan) are matched on their argv (cw-agent-command-policy.h) and come back
 * ALLOW_CONFINED, or ASK where no sandbox is available. */
CwPermissionVerdict cw_permission_evaluate (CwAgentSession *session, CwAgentConfig *config,
                                            const gchar *type, const gchar *resource,
                                            gboolean resource_is_path);
gboolean cw_permission_command_is_dangerous (const gchar *command);
/* Writing under /etc, /usr, /System, ... */
gboolean cw_permission_path_is_system (const gchar *path);
const gchar *cw_permission_risk_level (const gchar *type, const gchar *resource);

/* The decision ("allow_once", "allow_session", "deny", "allow"). */
typedef void (*CwPermissionFunc) (const gchar *decision, gpointer user_data);

typedef struct
{
  gint ref_count;
  gchar *id; /* perm_... */
  gchar *session_id;
  gchar *turn_id;
  gchar *type;
  gchar *resource;
  gboolean resource_is_path;
  gchar *key;            /* "<type>:<resource>": identical requests share one prompt */
  JsonObject *request;   /* ExtendedPermissionRequest (§4.4) */
  JsonObject *tool_call; /* {id, name, args} of the call waiting for it */
  gchar *item_id;        /* its permission chat item */
  GArray *waiters;
} CwPendingPermission;

CwPendingPermission *cw_pending_permission_ref (CwPendingPermission *p);
void cw_pending_permission_unref (CwPendingPermission *p);

/* Asks a person: adds a waiter to an identical pending request of the session, or creates
 * one (a pending interaction of the SDK, so a restart keeps it and any client may answer;
 * permission chat item, permission:request). If it cannot be stored, @func gets "deny" at
 * once and NULL is returned. */
CwPendingPermission *cw_permission_request (CwAgentPlugin *plugin, CwAgentSession *session,
                                            const gchar *turn_id, const gchar *type,
                                            const gchar *resource, gboolean resource_is_path,
                                            const gchar *reason, JsonObject *tool_call,
                                            CwPermissionFunc func, gpointer user_data);
void cw_permission_add_waiter (CwPendingPermission *p, CwPermissionFunc func, gpointer user_data);
/* Resolves @permission_id with @decision, answered by @actor (the caller's, for the record);
 * "Permission request not found: <id>" if unknown. */
gboolean cw_permission_respond (CwAgentPlugin *plugin, const gchar *permission_id,
                                const gchar *decision, const gchar *actor, GError **error);
/* Denies every pending request of @session (stop_generation, delete_session). */
void cw_permission_deny_all (CwAgentPlugin *plugin, CwAgentSession *session);
/* Watches the agent's permission interactions and puts those stored before a restart back
 * on their sessions, with no waiter yet. */
void cw_permission_restore (CwAgentPlugin *plugin);

G_END_DECLS
