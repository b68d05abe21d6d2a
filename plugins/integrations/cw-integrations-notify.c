/* cw-integrations-notify.c: notifications to a chat (contract §3.2): the command
 * integration_send_notification, and while a platform is connected the agent tool
 * send_notification_<platform> that runs it.
 *
 * A notification goes to a chat the platform received a message from (and that was not
 * denied): the last one, or the one named by chatId. Any other chat id is refused, so the
 * agent cannot message people who never wrote to the bot. It goes through the outbox like a
 * reply; the command answers once the outbox has it.
 *
 * The tool's arguments are the model's (message, chatId) plus the agent's sessionId and
 * toolCallId, so each platform's tool runs its own alias of the command,
 * integration_send_notification_<platform>, which knows the platform by its name.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-integrations-plugin.h"

#include <string.h>

#define NOTIFY_COMMAND "integration_send_notification"

static const gchar tool_parameters[]
    = "{\"type\":\"object\",\"properties\":{"
      "\"message\":{\"type\":\"string\",\"description\":\"The text to send.\"},"
      "\"chatId\":{\"type\":\"string\",\"description\":\"The chat to send it to: one that has "
      "written to Cowork on this platform. Leave it out for the chat that wrote last.\"}},"
      "\"required\":[\"message\"]}";

static gchar *
tool_name (const CwIntegrationPlatform *platform)
{
  return g_strdup_printf ("send_notification_%s", platform->id);
}

void
cw_integrations_notify_sync (CwIntegrationsLink *link)
{
  CwPlugin *plugin = CW_PLUGIN (link->plugin);
  g_autofree gchar *name = tool_name (link->platform);
  g_autoptr (GError) error = NULL;

  if (link->connected && !link->notify_tool && !link->plugin->stopping)
    {
      g_autofree gchar *description = g_strdup_printf (
          "Sends a message to a %s chat that has written to Cowork (by default the one that "
          "wrote last), for example to tell the user that a task is done.",
          link->platform->display_name);
      g_autofree gchar *command = g_strdup_printf ("%s_%s", NOTIFY_COMMAND, link->platform->id);

      if (cw_plugin_add_agent_tool (plugin, name, description, tool_parameters, command,
                                    CW_AGENT_TOOL_NONE, &error))
        link->notify_tool = TRUE;
      else
        g_warning ("%s: cannot offer the agent %s: %s", link->platform->id, name, error->message);
    }
  else if (!link->connected && link->notify_tool)
    {
      cw_plugin_remove_agent_tool (plugin, name);
      link->notify_tool = FALSE;
    }
}

static void
cmd_send_notification (CwInvocation *inv, gpointer user_data)
{
  CwIntegrationsPlugin *self = CW_INTEGRATIONS_PLUGIN (user_data);
  const gchar *command = cw_invocation_get_command (inv);
  g_autoptr (GError) error = NULL;
  const gchar *id = NULL, *message, *chat_id;
  const CwIntegrationPlatform *platform;
  CwIntegrationsLink *link;
  g_autofree gchar *chat = NULL;
  JsonObject *result;

  /* an alias names its platform; the command itself takes it as a parameter */
  if (g_str_has_prefix (command, NOTIFY_COMMAND "_"))
    id = command + strlen (NOTIFY_COMMAND "_");
  else
    id = cw_invocation_get_string (inv, "platform", TRUE, &error);
  if (id == NULL || (platform = cw_integrations_platform_get (id, &error)) == NULL
      || (message = cw_invocation_get_string (inv, "message", TRUE, &error)) == NULL
      || ((chat_id = cw_invocation_get_string (inv, "chatId", FALSE, &error)) == NULL
          && error != NULL))
    {
      cw_invocation_return_error (inv, g_steal_pointer (&error));
      return;
    }
  if (*message == '\0')
    {
      cw_invocation_return_new_error (inv, CW_ERROR_INVALID_PARAMS, "message must not be empty");
      return;
    }
  link = cw_integrations_plugin_get_link (self, platform->id);
  if (!link->connected)
    {
      cw_invocation_return_new_error (inv, CW_ERROR_FAILED, "%s is not connected", platform->id);
      return;
    }
  if (chat_id != NULL && *chat_id != '\0')
    {
      if (!cw_integrations_store_has_chat (self->store, platform->id, chat_id))
        {
          cw_invocation_return_new_error (
              inv, CW_ERROR_INVALID_PARAMS,
              "%s has no chat %s: a notification goes only to a chat that has written to Cowork",
              platform->id, chat_id);
          return;
        }
      chat = g_strdup (chat_id);
    }
  else if ((chat = cw_integrations_store_get_last_chat (self->store, platform->id)) == NULL)
    {
      cw_invocation_return_new_error (
          inv, CW_ERROR_FAILED, "No active chat for %s. Send a message from the platform first.",
          platform->id);
      return;
    }
  if (!cw_integrations_outbox_queue (self, platform->id, chat, 0, "notification", message, NULL,
                                     NULL, &error))
    {
      cw_invocation_return_error (inv, g_steal_pointer (&error));
      return;
    }
  cw_integrations_outbox_flush (self, platform->id);
  result = json_object_new ();
  json_object_set_boolean_member (result, "success", TRUE);
  cw_invocation_return_object (inv, result);
}

gboolean
cw_integrations_notify_register (CwIntegrationsPlugin *self, GError **error)
{
  if (!cw_plugin_add_command_full (CW_PLUGIN (self), NOTIFY_COMMAND, CW_COMMAND_FLAG_NONE,
                                   cmd_send_notification, error))
    return FALSE;
  for (const CwIntegrationPlatform *p = cw_integrations_platforms (); p->id != NULL; p++)
    {
      g_autofree gchar *alias = g_strdup_printf ("%s_%s", NOTIFY_COMMAND, p->id);
      if (!cw_plugin_add_command_full (CW_PLUGIN (self), alias, CW_COMMAND_FLAG_NONE,
                                       cmd_send_notification, error))
        return FALSE;
    }
  return TRUE;
}
