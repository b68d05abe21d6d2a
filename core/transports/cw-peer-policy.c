/* cw-peer-policy.c: uid checks from kernel-supplied credentials (SO_PEERCRED or the bus).
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-peer-policy-private.h"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

struct _CwPeerPolicy
{
  gboolean system_mode;
  gchar *group;
};

CwPeerPolicy *
cw_peer_policy_new (gboolean system_mode, const gchar *group)
{
  CwPeerPolicy *self = g_new0 (CwPeerPolicy, 1);

  self->system_mode = system_mode;
  self->group = g_strdup (group);
  return self;
}

void
cw_peer_policy_free (CwPeerPolicy *self)
{
  if (self == NULL)
    return;
  g_free (self->group);
  g_free (self);
}

static gboolean
uid_in_group (uid_t uid, const gchar *group_name)
{
  struct group *gr;
  struct passwd *pw;
  gid_t groups[256];
  int n = G_N_ELEMENTS (groups);

  if (group_name == NULL || *group_name == '\0')
    return FALSE;
  gr = getgrnam (group_name);
  pw = getpwuid (uid);
  if (gr == NULL || pw == NULL)
    return FALSE;
  if (getgrouplist (pw->pw_name, pw->pw_gid, groups, &n) < 0)
    return FALSE;
  for (int i = 0; i < n; i++)
    if (groups[i] == gr->gr_gid)
      return TRUE;
  return FALSE;
}

gboolean
cw_peer_policy_check (uid_t uid, gpointer policy)
{
  CwPeerPolicy *self = policy;

  if (uid == 0)
    return TRUE;
  if (!self->system_mode)
    return uid == getuid ();
  return uid == getuid () || uid_in_group (uid, self->group);
}
