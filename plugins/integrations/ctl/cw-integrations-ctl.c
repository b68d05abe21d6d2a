/* cw-integrations-ctl.c: `coworkctl integrations list|status|connect|configure|test|disconnect`.
 *
 * Config is given as KEY=VALUE words (lists as "a,b"); `KEY=-` reads the value from the first
 * line of stdin, so a token never appears in the process list or the shell history.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "cw-client.h"
#include "cw-integrations-ctl.h"

#include <gio/gunixinputstream.h>
#include <glib/gi18n.h>
#include <string.h>

#define USAGE                                                                                      \
  "usage: coworkctl integrations list\n"                                                           \
  "       coworkctl integrations status PLATFORM\n"                                                \
  "       coworkctl integrations connect|configure PLATFORM [KEY=VALUE|KEY=-]...\n"                \
  "       coworkctl integrations test PLATFORM [MESSAGE]\n"                                        \
  "       coworkctl integrations disconnect PLATFORM"

static gboolean
usage_error (GError **error, const gchar *what)
{
  g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS, "%s\n%s", what, USAGE);
  return FALSE;
}

static JsonObject *
platform_params (const gchar *platform)
{
  JsonObject *params = json_object_new ();

  json_object_set_string_member (params, "platform", platform);
  return params;
}

static void
print_status (JsonObject *s)
{
  const gchar *identity = cw_ctl_json_string (s, "identityName", NULL);
  const gchar *message = cw_ctl_json_string (s, "healthMessage", NULL);
  const gchar *error = cw_ctl_json_string (s, "error", NULL);
  gboolean connected = json_object_get_boolean_member_with_default (s, "connected", FALSE);

  g_print ("%-9s %-13s %-10s %-24s %s\n", cw_ctl_json_string (s, "platform", "?"),
           connected ? _ ("connected") : _ ("disconnected"), cw_ctl_json_string (s, "health", "-"),
           identity != NULL ? identity : "-",
           message != NULL ? message : (error != NULL ? error : ""));
}

static int
integrations_list (CwCtl *ctl, GError **error)
{
  g_autoptr (JsonNode) result = cw_ctl_call (ctl, "integration_list_statuses", NULL, 30, error);
  JsonArray *arr;

  if (result == NULL)
    return 1;
  if (ctl->json)
    {
      cw_ctl_print_json (result);
      return 0;
    }
  arr = JSON_NODE_HOLDS_ARRAY (result) ? json_node_get_array (result) : NULL;
  g_print ("%-9s %-13s %-10s %-24s %s\n", _ ("PLATFORM"), _ ("STATE"), _ ("HEALTH"), _ ("IDENTITY"),
           _ ("MESSAGE"));
  for (guint i = 0; arr != NULL && i < json_array_get_length (arr); i++)
    print_status (json_array_get_object_element (arr, i));
  return 0;
}

static int
integrations_status (CwCtl *ctl, const gchar *platform, GError **error)
{
  g_autoptr (JsonNode) status
      = cw_ctl_call (ctl, "integration_get_status", platform_params (platform), 30, error);
  g_autoptr (JsonNode) config = NULL;
  JsonObject *s;
  g_autofree gchar *connected_at = NULL, *last = NULL, *checked = NULL;

  if (status == NULL)
    return 1;
  config = cw_ctl_call (ctl, "integration_get_config", platform_params (platform), 30, error);
  if (config == NULL)
    return 1;
  if (ctl->json)
    {
      JsonObject *both = json_object_new ();
      g_autoptr (JsonNode) node = json_node_new (JSON_NODE_OBJECT);
      json_object_set_member (both, "status", json_node_copy (status));
      json_object_set_member (both, "config", json_node_copy (config));
      json_node_take_object (node, both);
      cw_ctl_print_json (node);
      return 0;
    }
  s = json_node_get_object (status);
  connected_at = cw_ctl_format_time (s, "connectedAt");
  last = cw_ctl_format_time (s, "lastMessageAt");
  checked = cw_ctl_format_time (s, "lastHealthCheckAt");
  g_print (_ ("platform:     %s (%s)\n"), cw_ctl_json_string (s, "platform", "?"),
           cw_ctl_json_string (s, "displayName", "?"));
  g_print (_ ("connected:    %s (since %s)\n"),
           json_object_get_boolean_member_with_default (s, "connected", FALSE) ? _ ("yes")
                                                                               : _ ("no"),
           connected_at);
  g_print (_ ("health:       %s %s\n"), cw_ctl_json_string (s, "health", "-"),
           cw_ctl_json_string (s, "healthMessage", ""));
  g_print (_ ("identity:     %s\n"), cw_ctl_json_string (s, "identityName", "-"));
  g_print (_ ("last message: %s\n"), last);
  g_print (_ ("last check:   %s\n"), checked);
  if (cw_ctl_json_string (s, "error", NULL) != NULL)
    g_print (_ ("error:        %s\n"), cw_ctl_json_string (s, "error", ""));
  if (json_object_get_boolean_member_with_default (s, "requiresReconnect", FALSE))
    g_print (_ ("needs you:    reconnect it (its credentials are no longer accepted)\n"));
  if (JSON_NODE_HOLDS_OBJECT (config))
    {
      JsonObject *c = json_object_get_object_member (json_node_get_object (config), "config");
      g_autoptr (GList) names = c != NULL ? json_object_get_members (c) : NULL;
      g_print (_ ("config:\n"));
      for (GList *l = names; l != NULL; l = l->next)
        {
          g_autoptr (JsonNode) copy = json_node_copy (json_object_get_member (c, l->data));
          g_autofree gchar *value = cw_json_to_string (copy);
          g_print ("  %s = %s\n", (const gchar *) l->data, value);
        }
    }
  else
    g_print (_ ("config:       none stored\n"));
  return 0;
}

/* The first line of stdin, for a KEY=- value. */
static gchar *
read_stdin_line (GError **error)
{
  g_autoptr (GInputStream) in = g_unix_input_stream_new (0, FALSE);
  g_autoptr (GDataInputStream) data = g_data_input_stream_new (in);
  gsize len;
  gchar *line = g_data_input_stream_read_line_utf8 (data, &len, NULL, error);

  if (line == NULL && error != NULL && *error == NULL)
    g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS, "nothing on stdin for a KEY=- value");
  return line != NULL ? g_strchomp (line) : NULL;
}

static JsonObject *
config_from_words (int argc, char **argv, GError **error)
{
  g_autoptr (JsonObject) config = json_object_new ();

  for (int i = 0; i < argc; i++)
    {
      const gchar *eq = strchr (argv[i], '=');
      g_autofree gchar *key = NULL;
      g_autofree gchar *value = NULL;

      if (eq == NULL || eq == argv[i])
        {
          g_autofree gchar *msg
              = g_strdup_printf ("integrations: expected KEY=VALUE, got %s", argv[i]);
          return usage_error (error, msg), NULL;
        }
      key = g_strndup (argv[i], eq - argv[i]);
      value = g_str_equal (eq + 1, "-") ? read_stdin_line (error) : g_strdup (eq + 1);
      if (value == NULL)
        return NULL;
      json_object_set_string_member (config, key, value);
      explicit_bzero (value, strlen (value));
    }
  return g_steal_pointer (&config);
}

static int
integrations_set (CwCtl *ctl, const gchar *verb, int argc, char **argv, GError **error)
{
  gboolean connect = g_str_equal (verb, "connect");
  JsonObject *config = config_from_words (argc - 2, argv + 2, error);
  JsonObject *params;
  g_autoptr (JsonNode) result = NULL;

  if (config == NULL)
    return 2;
  params = platform_params (argv[1]);
  json_object_set_object_member (params, "config", config);
  result = cw_ctl_call (ctl, connect ? "integration_connect" : "integration_configure", params, 120,
                        error);
  if (result == NULL)
    return 1;
  if (ctl->json)
    cw_ctl_print_json (result);
  else if (connect && JSON_NODE_HOLDS_OBJECT (result))
    print_status (json_node_get_object (result));
  else
    g_print (_ ("%s configured\n"), argv[1]);
  return 0;
}

static int
integrations_simple (CwCtl *ctl, const gchar *command, const gchar *platform, const gchar *message,
                     const gchar *done, GError **error)
{
  JsonObject *params = platform_params (platform);
  g_autoptr (JsonNode) result = NULL;

  if (message != NULL)
    json_object_set_string_member (params, "message", message);
  result = cw_ctl_call (ctl, command, params, 60, error);
  if (result == NULL)
    return 1;
  if (ctl->json)
    cw_ctl_print_json (result);
  else
    g_print ("%s\n", done);
  return 0;
}

int
cw_ctl_integrations (CwCtl *ctl, int argc, char **argv, GError **error)
{
  const gchar *verb = argc > 1 ? argv[1] : "list";

  if (g_str_equal (verb, "list"))
    {
      if (argc <= 2)
        return integrations_list (ctl, error);
      usage_error (error, "integrations list: no arguments");
      return 2;
    }
  if (argc < 3)
    {
      usage_error (error, "integrations: which platform?");
      return 2;
    }
  if (g_str_equal (verb, "status") && argc == 3)
    return integrations_status (ctl, argv[2], error);
  if (g_str_equal (verb, "connect") || g_str_equal (verb, "configure"))
    return integrations_set (ctl, verb, argc - 1, argv + 1, error);
  if (g_str_equal (verb, "test") && argc <= 4)
    return integrations_simple (ctl, "integration_send_test", argv[2], argc == 4 ? argv[3] : NULL,
                                _ ("sent"), error);
  if (g_str_equal (verb, "disconnect") && argc == 3)
    return integrations_simple (ctl, "integration_disconnect", argv[2], NULL,
                                _ ("disconnected; its config and credentials are deleted"), error);
  usage_error (error, "integrations: unknown verb or wrong arguments");
  return 2;
}

const CwCtlCommand cw_ctl_commands_integrations[] = {
  { "integrations", "list|status|connect|configure|test|disconnect ...",
    N_ ("Chat platforms connected to the agent"), cw_ctl_integrations },
  { NULL },
};
