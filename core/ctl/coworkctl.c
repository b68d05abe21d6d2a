/* coworkctl.c: the command-line client. Finds the socket and token the way coworkd does.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "cw-client.h"
#include "cw-ctl-bus-private.h"
#include "cw-ctl-extensions-private.h"
#include "cw-ctl.h"
#include "cw-ctl-service-private.h"
#include "cw-paths-private.h"
#include "cw-token-private.h"

#include <glib/gi18n.h>
#include <locale.h>

static gboolean opt_json;
static gboolean opt_bus;

static void
print_json (JsonNode *node)
{
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autofree gchar *text = NULL;

  json_generator_set_root (gen, node);
  json_generator_set_pretty (gen, !opt_json);
  text = json_generator_to_data (gen, NULL);
  g_print ("%s\n", text);
}

CwClient *
cw_ctl_connect_socket (CwCtl *ctl, GError **error)
{
  g_autofree gchar *token = NULL;
  g_autoptr (GError) local_error = NULL;
  CwClient *client;

  client = cw_client_connect (ctl->paths->endpoint, NULL, &local_error);
  if (client == NULL)
    {
      g_set_error (error, CW_ERROR, CW_ERROR_NOT_FOUND,
                   _ ("coworkd is not running (nothing answers at %s): start it with 'coworkd'"),
                   ctl->paths->endpoint);
      return NULL;
    }
  cw_client_free (client);
  token = cw_token_read (ctl->paths->token_file, &local_error);
  if (token == NULL)
    {
      g_set_error (error, CW_ERROR, CW_ERROR_UNAUTHORIZED, _ ("cannot read the auth token: %s"),
                   local_error->message);
      return NULL;
    }
  return cw_client_connect (ctl->paths->endpoint, token, error);
}

/* --bus talks D-Bus (the system bus in system mode), else the socket; the subcommands
 * below only see the link. */
static CwCtlLink *
connect_daemon (CwCtl *ctl, GError **error)
{
  CwClient *client;

  if (opt_bus)
    return cw_ctl_link_new_bus (ctl->paths->system_mode, error);
  client = cw_ctl_connect_socket (ctl, error);
  return client != NULL ? cw_ctl_link_new_socket (client) : NULL;
}

static int
cmd_call (CwCtl *ctl, int argc, char **argv, GError **error)
{
  g_autoptr (CwCtlLink) client = NULL;
  g_autoptr (JsonNode) params = NULL;
  g_autoptr (JsonNode) result = NULL;

  if (argc < 2 || argc > 3)
    {
      g_set_error_literal (error, CW_ERROR, CW_ERROR_INVALID_PARAMS,
                           _ ("usage: coworkctl call COMMAND [JSON-PARAMS]"));
      return 2;
    }
  if (argc == 3)
    {
      params = cw_json_from_string (argv[2], -1, error);
      if (params == NULL)
        {
          g_prefix_error (error, _ ("params are not valid JSON: "));
          return 2;
        }
    }
  client = connect_daemon (ctl, error);
  if (client == NULL)
    return 1;
  result = cw_ctl_link_call (client, argv[1], params, error);
  if (result == NULL)
    return 1;
  print_json (result);
  return 0;
}

static void
print_health (JsonObject *h)
{
  JsonArray *plugins = json_object_get_array_member (h, "plugins");
  JsonObject *events = json_object_get_object_member (h, "events");
  JsonArray *warnings = json_object_get_array_member (h, "warnings");

  g_print (_ ("status:     %s%s\n"), json_object_get_string_member (h, "status"),
           json_object_get_boolean_member_with_default (h, "degraded", FALSE) ? _ (" (degraded)")
                                                                              : "");
  g_print (_ ("version:    %s\n"), json_object_get_string_member_with_default (h, "version", "?"));
  g_print (_ ("mode:       %s\n"), json_object_get_string_member_with_default (h, "mode", "?"));
  g_print (_ ("pid:        %lld\n"),
           (long long) json_object_get_int_member_with_default (h, "pid", 0));
  g_print (_ ("boot:       %s\n"), json_object_get_string_member_with_default (h, "bootId", "?"));
  g_print (_ ("uptime:     %lld s\n"),
           (long long) json_object_get_int_member_with_default (h, "uptimeMs", 0) / 1000);
  g_print (_ ("sessions:   %lld\n"),
           (long long) json_object_get_int_member_with_default (h, "sessionCount", 0));
  if (events != NULL)
    g_print (_ ("events:     cursor %lld, oldest held %lld\n"),
             (long long) json_object_get_int_member_with_default (events, "eventCursor", 0),
             (long long) json_object_get_int_member_with_default (events, "replayStart", 0));
  for (guint i = 0; warnings != NULL && i < json_array_get_length (warnings); i++)
    g_print (_ ("warning:    %s\n"), json_array_get_string_element (warnings, i));
  g_print (_ ("plugins:\n"));
  for (guint i = 0; plugins != NULL && i < json_array_get_length (plugins); i++)
    {
      JsonObject *p = json_array_get_object_element (plugins, i);
      const gchar *err = json_object_get_string_member_with_default (p, "error", NULL);
      g_print ("  %-16s %-9s%s%s\n", json_object_get_string_member (p, "name"),
               json_object_get_string_member (p, "state"), err != NULL ? " " : "",
               err != NULL ? err : "");
    }
}

static int
cmd_health (CwCtl *ctl, int argc, char **argv, GError **error)
{
  g_autoptr (CwCtlLink) client = NULL;
  g_autoptr (JsonNode) result = NULL;

  if (argc > 1)
    {
      g_set_error_literal (error, CW_ERROR, CW_ERROR_INVALID_PARAMS, _ ("usage: coworkctl health"));
      return 2;
    }
  client = connect_daemon (ctl, error);
  if (client == NULL)
    return 1;
  result = cw_ctl_link_call (client, "daemon_health", NULL, error);
  if (result == NULL)
    return 1;
  if (opt_json)
    print_json (result);
  else
    print_health (json_node_get_object (result));
  return 0;
}

static void
print_event (JsonObject *ev)
{
  g_autoptr (JsonNode) node = json_node_new (JSON_NODE_OBJECT);
  g_autoptr (GDateTime) dt = NULL;
  g_autofree gchar *when = NULL;
  g_autofree gchar *data = NULL;
  JsonNode *data_node;

  json_node_set_object (node, ev);
  if (opt_json)
    {
      g_autofree gchar *line = cw_json_to_string (node);
      g_print ("%s\n", line);
      return;
    }
  dt = g_date_time_new_from_unix_local (json_object_get_int_member_with_default (ev, "timestamp", 0)
                                        / 1000);
  when = dt != NULL ? g_date_time_format (dt, "%H:%M:%S") : g_strdup ("?");
  data_node = json_object_get_member (ev, "data");
  data = data_node != NULL ? cw_json_to_string (data_node) : g_strdup ("{}");
  g_print ("%8" G_GINT64_FORMAT "  %s  %-24s %s %s\n",
           json_object_get_int_member_with_default (ev, "seq", 0), when,
           json_object_get_string_member_with_default (ev, "type", "?"),
           json_object_get_string_member_with_default (ev, "sessionId", NULL) ?: "-", data);
}

static gint64
replay (CwCtlLink *client, gint64 after, GError **error)
{
  for (;;)
    {
      g_autoptr (JsonObject) params = json_object_new ();
      g_autoptr (JsonNode) pnode = json_node_new (JSON_NODE_OBJECT);
      g_autoptr (JsonNode) result = NULL;
      JsonObject *r;
      JsonArray *events;

      json_object_set_int_member (params, "afterSeq", after);
      json_object_set_int_member (params, "limit", 10000);
      json_node_set_object (pnode, params);
      result = cw_ctl_link_call (client, "agent_get_events_since", pnode, error);
      if (result == NULL)
        return -1;
      r = json_node_get_object (result);
      if (json_object_get_boolean_member_with_default (r, "hasGap", FALSE))
        g_printerr (_ ("note: events after %lld are no longer held\n"), (long long) after);
      events = json_object_get_array_member (r, "events");
      for (guint i = 0; i < json_array_get_length (events); i++)
        {
          JsonObject *ev = json_array_get_object_element (events, i);
          print_event (ev);
          after = json_object_get_int_member (ev, "seq");
        }
      if (!json_object_get_boolean_member_with_default (r, "hasMore", FALSE))
        return MAX (after, json_object_get_int_member (r, "eventCursor"));
    }
}

static int
cmd_events (CwCtl *ctl, int argc, char **argv, GError **error)
{
  gboolean follow = FALSE;
  gint64 since = 0;
  g_autoptr (CwCtlLink) client = NULL;
  g_autoptr (JsonNode) sub = NULL;
  gint64 last;

  for (int i = 1; i < argc; i++)
    {
      if (g_strcmp0 (argv[i], "--follow") == 0 || g_strcmp0 (argv[i], "-f") == 0)
        follow = TRUE;
      else if (g_strcmp0 (argv[i], "--since") == 0 && i + 1 < argc)
        {
          if (!cw_ctl_parse_int ("--since", argv[++i], 0, G_MAXINT64, &since, error))
            return 2;
        }
      else
        {
          g_set_error_literal (error, CW_ERROR, CW_ERROR_INVALID_PARAMS,
                               _ ("usage: coworkctl events [--follow] [--since SEQ]"));
          return 2;
        }
    }
  client = connect_daemon (ctl, error);
  if (client == NULL)
    return 1;
  /* Subscribe first (any authenticated request does on the socket; the bus link adds its
   * signal match), so nothing falls between the replay and the live stream; live events
   * already replayed are skipped by seq. */
  if (!cw_ctl_link_follow_events (client, error))
    return 1;
  sub = cw_ctl_link_call (client, "agent_subscribe_events", NULL, error);
  if (sub == NULL)
    return 1;
  last = json_object_get_int_member (json_node_get_object (sub), "eventCursor");
  /* Stored events first (after --since), then, with --follow, the new ones. */
  last = replay (client, since, error);
  if (last < 0)
    return 1;
  if (!follow)
    return 0;
  for (;;)
    {
      g_autoptr (JsonObject) ev = cw_ctl_link_next_event (client, error);
      gint64 seq;

      if (ev == NULL)
        return 1;
      seq = json_object_get_int_member_with_default (ev, "seq", 0);
      if (seq <= last && g_strcmp0 (json_object_get_string_member (ev, "type"), "resync") != 0)
        continue;
      last = MAX (last, seq);
      print_event (ev);
    }
}

static int
cmd_token (CwCtl *ctl, int argc, char **argv, GError **error)
{
  g_autoptr (CwCtlLink) client = NULL;
  g_autoptr (JsonNode) result = NULL;
  g_autoptr (GError) local_error = NULL;
  g_autofree gchar *token = NULL;

  if (argc != 2 || g_strcmp0 (argv[1], "rotate") != 0)
    {
      g_set_error_literal (error, CW_ERROR, CW_ERROR_INVALID_PARAMS,
                           _ ("usage: coworkctl token rotate"));
      return 2;
    }
  client = connect_daemon (ctl, &local_error);
  if (client != NULL)
    {
      result = cw_ctl_link_call (client, "daemon_rotate_token", NULL, error);
      if (result == NULL)
        return 1;
    }
  else if (g_error_matches (local_error, CW_ERROR, CW_ERROR_NOT_FOUND))
    {
      token = cw_token_rotate (ctl->paths->token_file, error);
      if (token == NULL)
        return 1;
    }
  else
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return 1;
    }
  g_print (_ ("token rotated; clients must read %s again\n"), ctl->paths->token_file);
  return 0;
}

static int cmd_help (CwCtl *ctl, int argc, char **argv, GError **error);

static const CwCtlCommand commands[] = {
  { "help", "[COMMAND]", N_ ("Show the commands, or one command's usage"), cmd_help },
  { "call", "COMMAND [JSON]", N_ ("Call a daemon command and print its result"), cmd_call },
  { "events", "[--follow] [--since SEQ]",
    N_ ("Print stored events (after SEQ), and new ones with --follow"), cmd_events },
  { "health", "", N_ ("Show the daemon's health"), cmd_health },
  { "token", "rotate", N_ ("Replace the auth token"), cmd_token },
  { "service", "install|status|set-mode|...", N_ ("Manage coworkd as a user or system service"),
    cw_ctl_service, cw_ctl_service_usage },
  { "credentials", "set|list|delete|promote", N_ ("Manage credentials (values from stdin)"),
    cw_ctl_credentials, cw_ctl_credentials_usage },
  { "audit", "[--limit N]", N_ ("Show the audit log (newest N records, default 100)"),
    cw_ctl_audit },
  { "db", "check|backup [FILE]", N_ ("Check the database, or copy it"), cw_ctl_db,
    cw_ctl_db_usage },
  { NULL },
};

/* The built-in table first, then those of the plugins' coworkctl extensions. */
static const CwCtlCommand *
find_command (const gchar *name)
{
  for (guint i = 0; commands[i].name != NULL; i++)
    if (g_strcmp0 (name, commands[i].name) == 0)
      return &commands[i];
  for (guint t = 0; cw_ctl_extensions[t] != NULL; t++)
    for (const CwCtlCommand *c = cw_ctl_extensions[t]; c->name != NULL; c++)
      if (g_strcmp0 (name, c->name) == 0)
        return c;
  return NULL;
}

/* Calls @func for the built-in commands, then for those of the coworkctl extensions. */
static void
foreach_command (void (*func) (const CwCtlCommand *c, gpointer data), gpointer data)
{
  for (guint i = 0; commands[i].name != NULL; i++)
    func (&commands[i], data);
  for (guint t = 0; cw_ctl_extensions[t] != NULL; t++)
    for (const CwCtlCommand *c = cw_ctl_extensions[t]; c->name != NULL; c++)
      func (c, data);
}

typedef struct
{
  GString *s;
  gint name_width, usage_width;
} Table;

static void
measure (const CwCtlCommand *c, gpointer data)
{
  Table *t = data;

  t->name_width = MAX (t->name_width, (gint) g_utf8_strlen (c->name, -1));
  t->usage_width = MAX (t->usage_width, (gint) g_utf8_strlen (c->usage, -1));
}

static void
describe (const CwCtlCommand *c, gpointer data)
{
  Table *t = data;

  g_string_append_printf (t->s, "  %-*s %-*s  %s\n", t->name_width, c->name, t->usage_width,
                          c->usage, _ (c->summary));
}

static gchar *
describe_commands (void)
{
  Table t = { g_string_new (_ ("Commands:\n")), 0, 0 };

  foreach_command (measure, &t);
  foreach_command (describe, &t);
  g_string_append (t.s, _ ("\nEvery command takes --help. Exit status: 0 done, 1 failed, 2 usage "
                           "error.\n"));
  return g_string_free (t.s, FALSE);
}

static gchar *
describe_command (const CwCtlCommand *c)
{
  GString *s = g_string_new (NULL);

  g_string_append_printf (s, _ ("usage: coworkctl %s%s%s\n\n%s\n"), c->name,
                          *c->usage != '\0' ? " " : "", c->usage, _ (c->summary));
  if (c->details != NULL)
    g_string_append_printf (s, "\n%s\n", _ (c->details));
  return g_string_free (s, FALSE);
}

static GOptionContext *main_context;

static int
cmd_help (CwCtl *ctl, int argc, char **argv, GError **error)
{
  const CwCtlCommand *c;
  g_autofree gchar *text = NULL;

  if (argc > 2)
    {
      g_set_error_literal (error, CW_ERROR, CW_ERROR_INVALID_PARAMS,
                           _ ("usage: coworkctl help [COMMAND]"));
      return 2;
    }
  if (argc == 1)
    {
      text = g_option_context_get_help (main_context, TRUE, NULL);
      g_print ("%s", text);
      return 0;
    }
  c = find_command (argv[1]);
  if (c == NULL)
    {
      g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS,
                   _ ("unknown command '%s' (see coworkctl help)"), argv[1]);
      return 2;
    }
  text = describe_command (c);
  g_print ("%s", text);
  return 0;
}

/* `coworkctl CMD --help` (or -h) anywhere after CMD shows CMD's help and runs nothing. */
static gboolean
asks_for_help (int argc, char **argv)
{
  for (int i = 1; i < argc; i++)
    if (g_strcmp0 (argv[i], "--help") == 0 || g_strcmp0 (argv[i], "-h") == 0)
      return TRUE;
  return FALSE;
}

int
main (int argc, char **argv)
{
  g_autoptr (GOptionContext) octx = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree gchar *mode = NULL, *app_data_dir = NULL, *endpoint = NULL, *token_file = NULL;
  g_autofree gchar *description = NULL;
  g_autoptr (CwPaths) paths = NULL;
  CwCtl ctl = { 0 };
  const CwCtlCommand *command;
  gboolean version = FALSE;
  const GOptionEntry entries[]
      = { { "json", 0, 0, G_OPTION_ARG_NONE, &opt_json, N_ ("Print JSON for scripts"), NULL },
          { "version", 0, 0, G_OPTION_ARG_NONE, &version, N_ ("Print the version and exit"), NULL },
          { "mode", 0, 0, G_OPTION_ARG_STRING, &mode, N_ ("user or system"), N_ ("MODE") },
          { "app-data-dir", 0, 0, G_OPTION_ARG_FILENAME, &app_data_dir,
            N_ ("Application data directory"), N_ ("DIR") },
          { "endpoint", 0, 0, G_OPTION_ARG_STRING, &endpoint, N_ ("Socket path or tcp://HOST:PORT"),
            N_ ("ENDPOINT") },
          { "token-file", 0, 0, G_OPTION_ARG_FILENAME, &token_file, N_ ("Auth token file"),
            N_ ("FILE") },
          { "bus", 0, 0, G_OPTION_ARG_NONE, &opt_bus,
            N_ ("Talk to the daemon over D-Bus (the system bus in system mode)"), NULL },
          { NULL } };

  setlocale (LC_ALL, "");
  /* COWORK_LOCALEDIR: the translations of a build tree (meson devenv sets it). */
  bindtextdomain (GETTEXT_PACKAGE, g_getenv ("COWORK_LOCALEDIR") ?: LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  octx = g_option_context_new (_ ("COMMAND [ARGS…]"));
  g_option_context_set_summary (octx, _ ("Talk to the Cowork background service."));
  description = describe_commands ();
  g_option_context_set_description (octx, description);
  g_option_context_add_main_entries (octx, entries, GETTEXT_PACKAGE);
  g_option_context_set_strict_posix (octx, TRUE);
  main_context = octx;
  if (!g_option_context_parse (octx, &argc, &argv, &error))
    {
      g_printerr ("coworkctl: %s\n", error->message);
      return 2;
    }
  if (version)
    {
      g_print ("coworkctl %s\n", PACKAGE_VERSION);
      return 0;
    }
  if (argc < 2)
    {
      g_autofree gchar *help = g_option_context_get_help (octx, TRUE, NULL);
      g_printerr ("%s", help);
      return 2;
    }
  command = find_command (argv[1]);
  if (command == NULL)
    {
      g_printerr (_ ("coworkctl: unknown command '%s' (see coworkctl help)\n"), argv[1]);
      return 2;
    }
  if (asks_for_help (argc - 1, argv + 1))
    {
      g_autofree gchar *text = describe_command (command);
      g_print ("%s", text);
      return 0;
    }
  paths = cw_paths_resolve (mode, app_data_dir, endpoint, token_file, NULL, &error);
  if (paths == NULL)
    {
      g_printerr ("coworkctl: %s\n", error->message);
      return 2;
    }
  ctl.paths = paths;
  ctl.json = opt_json;
  {
    int rc = command->run (&ctl, argc - 1, argv + 1, &error);
    if (rc != 0 && error != NULL)
      g_printerr ("coworkctl: %s\n", error->message);
    return rc;
  }
}
