/* cw-tool-sandbox.c: see cw-tool-sandbox.h.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#define _GNU_SOURCE
#include "cw-tool-sandbox.h"

#include <dlfcn.h>
#include <unistd.h>
#ifdef __linux__
#include <linux/landlock.h>
#include <sys/syscall.h>
#endif

typedef struct
{
  gchar *helper;
  gint abi;            /* Landlock ABI, 0: none */
  const gchar *reason; /* why commands cannot be confined, or NULL */
} Probe;

static const Probe *
probe (void)
{
  static Probe p;
  static gsize done = 0;

  if (g_once_init_enter (&done))
    {
      Dl_info info;

      if (dladdr ((gpointer) probe, &info) != 0 && info.dli_fname != NULL)
        {
          g_autofree gchar *dir = g_path_get_dirname (info.dli_fname);
          p.helper = g_build_filename (dir, "cowork-run-command", NULL);
          if (!g_file_test (p.helper, G_FILE_TEST_IS_EXECUTABLE))
            g_clear_pointer (&p.helper, g_free);
        }
#if defined(__linux__) && defined(SYS_landlock_create_ruleset)
      p.abi
          = (gint) syscall (SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
      if (p.abi < 0)
        p.abi = 0;
#endif
      if (g_strcmp0 (g_getenv ("COWORK_AGENT_SANDBOX"), "off") == 0)
        p.reason = "turned off (COWORK_AGENT_SANDBOX=off)";
      else if (p.abi == 0)
        p.reason = "the kernel does not offer Landlock";
      else if (p.helper == NULL)
        p.reason = "cowork-run-command is missing next to the agent plugin";
      g_once_init_leave (&done, 1);
    }
  return &p;
}

const gchar *
cw_tool_sandbox_helper (void)
{
  return probe ()->helper;
}

gboolean
cw_tool_sandbox_available (void)
{
  return probe ()->reason == NULL;
}

JsonObject *
cw_tool_sandbox_health (void)
{
  const Probe *p = probe ();
  JsonObject *obj = json_object_new ();

  json_object_set_boolean_member (obj, "available", p->reason == NULL);
  if (p->reason == NULL)
    {
      json_object_set_string_member (obj, "kind", "landlock");
      json_object_set_int_member (obj, "abi", p->abi);
      json_object_set_string_member (obj, "unapprovedCommands",
                                     "run confined (trusted: write only in the working "
                                     "directory; plan mode: no writes)");
    }
  else
    {
      json_object_set_string_member (obj, "reason", p->reason);
      json_object_set_string_member (obj, "unapprovedCommands", "ask first");
    }
  return obj;
}
