/* cw-agent-capabilities.c: get_capability_snapshot and debug_preview_system_prompt
 * (contract §2): what a session (or the active provider) can do right now, as data.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-agent-json.h"
#include "cw-agent-keys.h"
#include "cw-agent-permissions.h"
#include "cw-agent-plugin.h"
#include "cw-agent-plugin-tools.h"
#include "cw-agent-turn.h"
#include "tools/cw-tool.h"
#include "tools/cw-tool-sandbox.h"

#define PLUGIN(p) CW_AGENT_PLUGIN (p)

static const gchar *const tool_names[]
    = { "read_file", "write_file", "edit_file",   "delete_file", "ls", "glob",
        "grep",      "execute",    "write_todos", "ask_user",    NULL };

/* keyStatus member -> secret name; the first is the session's provider. */
static const gchar *const key_members[]
    = { "providerKeyConfigured", "googleKeyConfigured", "openaiKeyConfigured", "falKeyConfigured",
        "exaKeyConfigured",      "tavilyKeyConfigured", "stitchKeyConfigured" };
static const gchar *const key_names[]
    = { NULL, "google", "openai", "fal", "exa", "tavily", "stitch" };

typedef struct
{
  CwAgentPlugin *plugin;
  CwInvocation *invocation;
  JsonObject *result;
  JsonObject *keys;
  gchar *provider;
  guint next;
} SnapshotData;

static void
snapshot_data_free (SnapshotData *d)
{
  g_object_unref (d->invocation);
  if (d->result != NULL)
    json_object_unref (d->result);
  g_free (d->provider);
  g_free (d);
}

static void lookup_next (SnapshotData *d);

static void
on_key (GObject *source, GAsyncResult *res, gpointer user_data)
{
  SnapshotData *d = user_data;
  g_autofree gchar *key = cw_agent_keys_lookup_finish (res, NULL);
  const gchar *name = d->next == 0 ? d->provider : key_names[d->next];

  /* lmstudio needs none: it counts as configured. */
  json_object_set_boolean_member (d->keys, key_members[d->next],
                                  key != NULL
                                      || (d->next == 0 && !cw_agent_provider_needs_key (name)));
  if (key != NULL)
    memset (key, 0, strlen (key));
  d->next++;
  lookup_next (d);
}

static void
lookup_next (SnapshotData *d)
{
  if (d->next >= G_N_ELEMENTS (key_members))
    {
      cw_invocation_return_object (d->invocation, g_steal_pointer (&d->result));
      snapshot_data_free (d);
      return;
    }
  if (d->next == 0)
    cw_agent_keys_lookup (cw_plugin_get_context (CW_PLUGIN (d->plugin)), d->provider, NULL, on_key,
                          d);
  else
    cw_agent_keys_lookup_helper (cw_plugin_get_context (CW_PLUGIN (d->plugin)), key_names[d->next],
                                 NULL, on_key, d);
}

static JsonObject *
tool_access (CwAgentPlugin *self, CwAgentSession *s, const CwToolInfo *tool)
{
  JsonObject *t = json_object_new ();
  gboolean plan = s != NULL && g_strcmp0 (s->execution_mode, "plan") == 0;
  gboolean enabled = !plan || tool->read_only || tool == &cw_tool_execute;
  const gchar *action = "allow";

  if (tool->permission_type != NULL)
    {
      /* What a call on the working directory itself (or a plain command) would get. */
      const gchar *resource = tool->resource_is_path && s != NULL ? s->working_directory : "true";
      CwPermissionVerdict v = s != NULL
                                  ? cw_permission_evaluate (s, self->config, tool->permission_type,
                                                            resource, tool->resource_is_path)
                                  : CW_PERMISSION_ASK;
      action = v == CW_PERMISSION_ALLOW || v == CW_PERMISSION_ALLOW_CONFINED ? "allow"
               : v == CW_PERMISSION_DENY                                     ? "deny"
                                                                             : "ask";
    }
  json_object_set_string_member (t, "toolName", tool->name);
  json_object_set_boolean_member (t, "enabled", enabled);
  json_object_set_string_member (t, "reason",
                                 !enabled ? "plan mode allows read-only tools only"
                                 : tool->permission_type != NULL ? tool->permission_type
                                                                 : "no permission needed");
  json_object_set_string_member (t, "policyAction", action);
  return t;
}

static JsonObject *
sandbox_state (CwAgentPlugin *self, CwAgentSession *s)
{
  JsonObject *sandbox = json_object_new ();
  JsonObject *given = cw_agent_json_object (self->config->other, "sandbox");
  JsonArray *roots = json_array_new ();

  json_object_set_string_member (
      sandbox, "mode",
      given != NULL ? json_object_get_string_member_with_default (given, "mode", "workspace-write")
                    : "workspace-write");
  /* Commands run without a person's approval are confined by Landlock where the kernel has
   * it (tools/cw-tool-sandbox.h); the file tools by the permission engine. */
  json_object_set_boolean_member (sandbox, "osEnforced", cw_tool_sandbox_available ());
  json_object_set_boolean_member (
      sandbox, "networkAllowed",
      given != NULL && json_object_get_boolean_member_with_default (given, "allowNetwork", FALSE));
  if (s != NULL)
    json_array_add_string_element (roots, s->working_directory);
  json_object_set_array_member (sandbox, "effectiveAllowedRoots", roots);
  return sandbox;
}

static void
cmd_get_capability_snapshot (CwInvocation *inv, gpointer user_data)
{
  CwAgentPlugin *self = PLUGIN (user_data);
  const gchar *id = cw_invocation_get_string (inv, "sessionId", FALSE, NULL);
  CwAgentSession *s = cw_agent_sessions_lookup (self->sessions, id);
  JsonObject *media = cw_agent_json_object (self->config->other, "mediaRouting");
  JsonArray *tools = json_array_new ();
  SnapshotData *d = g_new0 (SnapshotData, 1);

  d->plugin = self;
  d->invocation = g_object_ref (inv);
  d->provider = g_strdup (s != NULL ? s->provider : self->config->active_provider);
  d->result = json_object_new ();
  json_object_set_string_member (d->result, "provider", d->provider);
  json_object_set_string_member (d->result, "executionMode",
                                 s != NULL ? s->execution_mode : "execute");
  if (media != NULL)
    json_object_set_object_member (d->result, "mediaRouting", json_object_ref (media));
  else
    {
      media = json_object_new ();
      json_object_set_string_member (media, "imageBackend", "google");
      json_object_set_string_member (media, "videoBackend", "google");
      json_object_set_object_member (d->result, "mediaRouting", media);
    }
  json_object_set_object_member (d->result, "sandbox", sandbox_state (self, s));
  for (guint i = 0; tool_names[i] != NULL; i++)
    json_array_add_object_element (tools, tool_access (self, s, cw_tool_lookup (tool_names[i])));
  {
    g_autoptr (GPtrArray) contributed
        = cw_context_list_agent_tools (cw_plugin_get_context (CW_PLUGIN (self)));
    for (guint i = 0; i < contributed->len; i++)
      json_array_add_object_element (
          tools, cw_agent_plugin_tool_access (s, g_ptr_array_index (contributed, i)));
  }
  json_object_set_array_member (d->result, "toolAccess", tools);
  json_object_set_array_member (d->result, "integrationAccess", json_array_new ());
  json_object_set_string_member (d->result, "policyProfile", "coding");
  json_object_set_array_member (d->result, "notes", json_array_new ());
  d->keys = json_object_new ();
  json_object_set_object_member (d->result, "keyStatus", d->keys);
  lookup_next (d);
}

static void
cmd_debug_preview_system_prompt (CwInvocation *inv, gpointer user_data)
{
  CwAgentPlugin *self = PLUGIN (user_data);
  const gchar *id = cw_invocation_get_string (inv, "sessionId", FALSE, NULL);
  CwAgentSession *s = cw_agent_sessions_lookup (self->sessions, id);
  g_autofree gchar *prompt = NULL;
  JsonObject *result;

  if (s == NULL)
    {
      if (id != NULL)
        cw_invocation_return_new_error (inv, CW_ERROR_NOT_FOUND, "Session not found: %s", id);
      else
        cw_invocation_return_error_literal (inv, CW_ERROR_NOT_FOUND, "No session to preview");
      return;
    }
  prompt = cw_agent_turn_system_prompt (self, s);
  result = json_object_new ();
  json_object_set_string_member (result, "sessionId", s->id);
  json_object_set_string_member (result, "provider", s->provider);
  json_object_set_string_member (result, "executionMode", s->execution_mode);
  json_object_set_boolean_member (result, "usingLegacyFallback", FALSE);
  json_object_set_object_member (result, "diagnostics", json_object_new ());
  json_object_set_string_member (result, "prompt", prompt);
  cw_invocation_return_object (inv, result);
}

gboolean
cw_agent_capability_commands_register (CwAgentPlugin *self, GError **error)
{
  return cw_plugin_add_command (CW_PLUGIN (self), "get_capability_snapshot",
                                cmd_get_capability_snapshot, error)
         && cw_plugin_add_command (CW_PLUGIN (self), "debug_preview_system_prompt",
                                   cmd_debug_preview_system_prompt, error);
}
