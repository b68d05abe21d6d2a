/* cw-heartbeat-ctl.c: `coworkctl heartbeat status|start|stop|wake|set|events|queue|clear`.
 * Readable text by default, the commands' JSON with --json.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "cw-client.h"
#include "cw-heartbeat-ctl.h"

#include <glib/gi18n.h>
#include <string.h>

#define USAGE                                                                                      \
  "usage: coworkctl heartbeat [status]\n"                                                          \
  "       coworkctl heartbeat start|stop|wake|events|clear\n"                                      \
  "       coworkctl heartbeat set [--enabled on|off] [--interval-ms N]\n"                          \
  "                          [--system-events on|off] [--cron on|off] [--check-in on|off]\n"       \
  "                          [--check-in-prompt TEXT] [--check-in-interval-ms N]\n"                \
  "                          [--check-in-session ID] [--check-in-dir DIR]\n"                       \
  "       coworkctl heartbeat queue TYPE [--priority low|normal|high] [--session ID]\n"            \
  "                          [--payload JSON]"

static gboolean
usage_error (GError **error, const gchar *what)
{
  g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS, "%s\n%s", what, USAGE);
  return FALSE;
}

static JsonNode *
call (CwCtl *ctl, const gchar *command, JsonObject *params, GError **error)
{
  /* every heartbeat command answers at once (a wake leaves the queue to the main loop) */
  return cw_ctl_call (ctl, command, params, 30, error);
}

static gchar *
format_time (gint64 ms)
{
  g_autoptr (GDateTime) dt = NULL;

  if (ms <= 0)
    return g_strdup ("-");
  dt = g_date_time_new_from_unix_local (ms / 1000);
  return dt != NULL ? g_date_time_format (dt, "%Y-%m-%d %H:%M:%S") : g_strdup ("?");
}

static const gchar *
yes_no (JsonObject *obj, const gchar *name)
{
  return json_object_get_boolean_member_with_default (obj, name, FALSE) ? _ ("yes") : _ ("no");
}

static int
heartbeat_status (CwCtl *ctl, GError **error)
{
  g_autoptr (JsonNode) status = call (ctl, "heartbeat_get_status", NULL, error);
  g_autoptr (JsonNode) config
      = status != NULL ? call (ctl, "heartbeat_get_config", NULL, error) : NULL;
  JsonObject *s, *c;
  g_autofree gchar *last = NULL, *next = NULL;

  if (config == NULL || !JSON_NODE_HOLDS_OBJECT (status) || !JSON_NODE_HOLDS_OBJECT (config))
    return 1;
  if (ctl->json)
    {
      g_autoptr (JsonObject) both = json_object_new ();
      g_autoptr (JsonNode) node = json_node_new (JSON_NODE_OBJECT);

      json_object_set_member (both, "status", json_node_copy (status));
      json_object_set_member (both, "config", json_node_copy (config));
      json_node_set_object (node, both);
      cw_ctl_print_json (node);
      return 0;
    }
  s = json_node_get_object (status);
  c = json_node_get_object (config);
  last = format_time (json_object_get_int_member_with_default (s, "lastHeartbeat", 0));
  next = format_time (json_object_get_int_member_with_default (s, "nextHeartbeat", 0));
  g_print (_ ("running:        %s (enabled: %s)\n"), yes_no (s, "isRunning"),
           yes_no (c, "enabled"));
  g_print (_ ("interval:       %lld ms\n"),
           (long long) json_object_get_int_member_with_default (c, "intervalMs", 0));
  g_print (_ ("last tick:      %s\n"), last);
  g_print (_ ("next tick:      %s\n"), next);
  g_print (_ ("queued events:  %lld%s\n"),
           (long long) json_object_get_int_member_with_default (s, "eventQueueSize", 0),
           json_object_get_boolean_member_with_default (s, "isProcessing", FALSE)
               ? _ (" (being acted on)")
               : "");
  g_print (_ ("system events:  %s, cron triggers: %s\n"), yes_no (c, "systemEventsEnabled"),
           yes_no (c, "cronEnabled"));
  g_print (_ ("check-in:       %s, every %lld ms, session %s\n"), yes_no (c, "checkInEnabled"),
           (long long) json_object_get_int_member_with_default (c, "checkInIntervalMs", 0),
           cw_ctl_json_string (c, "checkInSessionId", "-"));
  return 0;
}

static int
heartbeat_events (CwCtl *ctl, GError **error)
{
  g_autoptr (JsonNode) events = call (ctl, "heartbeat_get_events", NULL, error);
  JsonArray *list;

  if (events == NULL)
    return 1;
  if (ctl->json)
    {
      cw_ctl_print_json (events);
      return 0;
    }
  list = JSON_NODE_HOLDS_ARRAY (events) ? json_node_get_array (events) : NULL;
  if (list == NULL || json_array_get_length (list) == 0)
    {
      g_print (_ ("no queued events\n"));
      return 0;
    }
  g_print ("%-24s %-16s %-7s %-19s %s\n", _ ("ID"), _ ("TYPE"), _ ("PRIO"), _ ("QUEUED"),
           _ ("SESSION"));
  for (guint i = 0; i < json_array_get_length (list); i++)
    {
      JsonObject *e = json_array_get_object_element (list, i);
      g_autofree gchar *at
          = format_time (json_object_get_int_member_with_default (e, "scheduledAt", 0));
      g_print ("%-24s %-16s %-7s %-19s %s\n", cw_ctl_json_string (e, "id", "-"),
               cw_ctl_json_string (e, "type", "-"), cw_ctl_json_string (e, "priority", "-"), at,
               cw_ctl_json_string (e, "sessionId", "-"));
    }
  return 0;
}

static gboolean
parse_switch (const gchar *option, const gchar *value, gboolean *out, GError **error)
{
  if (g_strcmp0 (value, "on") == 0 || g_strcmp0 (value, "true") == 0)
    *out = TRUE;
  else if (g_strcmp0 (value, "off") == 0 || g_strcmp0 (value, "false") == 0)
    *out = FALSE;
  else
    {
      g_autofree gchar *msg = g_strdup_printf ("heartbeat set: %s takes on or off", option);
      return usage_error (error, msg);
    }
  return TRUE;
}

static JsonObject *
set_params (int argc, char **argv, GError **error)
{
  static const struct
  {
    const gchar *option;
    const gchar *member;
    gchar kind; /* b: on|off, i: a number, s: text */
  } options[] = {
    { "--enabled", "enabled", 'b' },
    { "--interval-ms", "intervalMs", 'i' },
    { "--system-events", "systemEventsEnabled", 'b' },
    { "--cron", "cronEnabled", 'b' },
    { "--check-in", "checkInEnabled", 'b' },
    { "--check-in-prompt", "checkInPrompt", 's' },
    { "--check-in-interval-ms", "checkInIntervalMs", 'i' },
    { "--check-in-session", "checkInSessionId", 's' },
    { "--check-in-dir", "checkInWorkingDirectory", 's' },
  };
  g_autoptr (JsonObject) config = json_object_new ();

  for (int i = 1; i < argc; i += 2)
    {
      guint k = 0;
      gboolean b;
      gint64 n;

      while (k < G_N_ELEMENTS (options) && !g_str_equal (options[k].option, argv[i]))
        k++;
      if (k == G_N_ELEMENTS (options) || i + 1 >= argc)
        {
          g_autofree gchar *msg
              = k == G_N_ELEMENTS (options)
                    ? g_strdup_printf ("heartbeat set: unknown option %s", argv[i])
                    : g_strdup_printf ("heartbeat set: %s needs a value", argv[i]);
          return usage_error (error, msg), NULL;
        }
      if (options[k].kind == 'b')
        {
          if (!parse_switch (argv[i], argv[i + 1], &b, error))
            return NULL;
          json_object_set_boolean_member (config, options[k].member, b);
        }
      else if (options[k].kind == 'i')
        {
          if (!cw_ctl_parse_int (argv[i], argv[i + 1], 0, G_MAXINT64, &n, error))
            return NULL;
          json_object_set_int_member (config, options[k].member, n);
        }
      else if (g_str_equal (options[k].option, "--check-in-dir"))
        {
          g_autofree gchar *abs = g_canonicalize_filename (argv[i + 1], NULL);
          json_object_set_string_member (config, options[k].member,
                                         *argv[i + 1] == '\0' ? "" : abs);
        }
      else
        json_object_set_string_member (config, options[k].member, argv[i + 1]);
    }
  if (json_object_get_size (config) == 0)
    return usage_error (error, "heartbeat set: nothing to set"), NULL;
  return g_steal_pointer (&config);
}

static JsonObject *
queue_params (int argc, char **argv, GError **error)
{
  g_autoptr (JsonObject) input = json_object_new ();
  JsonObject *params;

  if (argc < 2 || g_str_has_prefix (argv[1], "--"))
    return usage_error (error, "heartbeat queue: TYPE is required"), NULL;
  json_object_set_string_member (input, "type", argv[1]);
  for (int i = 2; i < argc; i += 2)
    {
      if (i + 1 >= argc)
        {
          g_autofree gchar *msg = g_strdup_printf ("heartbeat queue: %s needs a value", argv[i]);
          return usage_error (error, msg), NULL;
        }
      if (g_str_equal (argv[i], "--priority"))
        json_object_set_string_member (input, "priority", argv[i + 1]);
      else if (g_str_equal (argv[i], "--session"))
        json_object_set_string_member (input, "sessionId", argv[i + 1]);
      else if (g_str_equal (argv[i], "--payload"))
        {
          g_autoptr (JsonNode) payload = cw_json_from_string (argv[i + 1], -1, NULL);
          if (payload == NULL || !JSON_NODE_HOLDS_OBJECT (payload))
            return usage_error (error, "heartbeat queue: --payload takes a JSON object"), NULL;
          json_object_set_member (input, "payload", g_steal_pointer (&payload));
        }
      else
        {
          g_autofree gchar *msg = g_strdup_printf ("heartbeat queue: unknown option %s", argv[i]);
          return usage_error (error, msg), NULL;
        }
    }
  params = json_object_new ();
  json_object_set_object_member (params, "input", g_steal_pointer (&input));
  return params;
}

/* A command with no arguments whose answer is printed as JSON or as @done (NULL: the count
 * heartbeat_clear_events answers). */
static int
simple (CwCtl *ctl, const gchar *command, const gchar *done, GError **error)
{
  g_autoptr (JsonNode) result = call (ctl, command, NULL, error);

  if (result == NULL)
    return 1;
  if (ctl->json)
    cw_ctl_print_json (result);
  else if (done != NULL)
    g_print ("%s\n", done);
  else /* heartbeat_clear_events: {count} */
    g_print (_ ("dropped %lld queued events\n"),
             JSON_NODE_HOLDS_OBJECT (result) ? (long long) json_object_get_int_member_with_default (
                 json_node_get_object (result), "count", 0)
                                             : 0);
  return 0;
}

static int
with_params (CwCtl *ctl, const gchar *command, JsonObject *params, GError **error)
{
  g_autoptr (JsonNode) result = NULL;

  if (params == NULL)
    return 2;
  result = call (ctl, command, params, error);
  if (result == NULL)
    return 1;
  if (ctl->json)
    cw_ctl_print_json (result);
  else if (g_str_equal (command, "heartbeat_queue_event"))
    g_print (_ ("queued %s\n"), cw_ctl_json_string (json_node_get_object (result), "eventId", "-"));
  else
    g_print (_ ("saved\n"));
  return 0;
}

int
cw_ctl_heartbeat (CwCtl *ctl, int argc, char **argv, GError **error)
{
  const gchar *verb = argc > 1 ? argv[1] : "status";
  gboolean no_args = argc <= 2;

  if (g_str_equal (verb, "set"))
    return with_params (ctl, "heartbeat_set_config", set_params (argc - 1, argv + 1, error), error);
  if (g_str_equal (verb, "queue"))
    return with_params (ctl, "heartbeat_queue_event", queue_params (argc - 1, argv + 1, error),
                        error);
  if (!no_args)
    {
      g_autofree gchar *msg = g_strdup_printf ("heartbeat %s: no arguments", verb);
      usage_error (error, msg);
      return 2;
    }
  if (g_str_equal (verb, "status"))
    return heartbeat_status (ctl, error);
  if (g_str_equal (verb, "events"))
    return heartbeat_events (ctl, error);
  if (g_str_equal (verb, "start"))
    return simple (ctl, "heartbeat_start", _ ("started (unless disabled)"), error);
  if (g_str_equal (verb, "stop"))
    return simple (ctl, "heartbeat_stop", _ ("stopped until the next start"), error);
  if (g_str_equal (verb, "wake"))
    return simple (ctl, "heartbeat_wake", _ ("woken"), error);
  if (g_str_equal (verb, "clear"))
    return simple (ctl, "heartbeat_clear_events", NULL, error);
  {
    g_autofree gchar *msg = g_strdup_printf ("heartbeat: unknown subcommand '%s'", verb);
    usage_error (error, msg);
  }
  return 2;
}

const CwCtlCommand cw_ctl_commands_heartbeat[] = {
  { "heartbeat", "status|start|stop|wake|set|events|queue|clear ...",
    N_ ("The heartbeat: ticks, queued system events, check-ins"), cw_ctl_heartbeat },
  { NULL },
};
