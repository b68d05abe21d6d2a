/* cw-workflow-ctl.c: `coworkctl workflow list|show|run|runs|logs|cancel|approve`.
 *
 * Human tables by default, the commands' JSON with --json. `run --follow` and `logs
 * --follow` print the run's workflow:* events as they come, until the run ends or pauses.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "cw-client.h"
#include "cw-workflow-ctl.h"

#include <glib/gi18n.h>
#include <string.h>

#define USAGE                                                                                      \
  "usage: coworkctl workflow list\n"                                                               \
  "       coworkctl workflow show WORKFLOW [--version N]\n"                                        \
  "       coworkctl workflow run WORKFLOW [--input JSON] [--follow]\n"                             \
  "       coworkctl workflow runs [WORKFLOW] [--status STATUS] [--limit N]\n"                      \
  "       coworkctl workflow logs RUN [--follow]\n"                                                \
  "       coworkctl workflow cancel RUN\n"                                                         \
  "       coworkctl workflow approve RUN [--deny] [--reason TEXT]"

static JsonNode *
object_node (void)
{
  JsonObject *obj = json_object_new ();
  JsonNode *node = json_node_init_object (json_node_alloc (), obj);

  json_object_unref (obj);
  return node;
}

static int
usage_error (GError **error, const gchar *what)
{
  g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS, "%s\n%s", what, USAGE);
  return 2;
}

static const gchar *
str (JsonObject *obj, const gchar *name, const gchar *fallback)
{
  return cw_ctl_json_string (obj, name, fallback);
}

static JsonObject *
with_string (JsonObject *params, const gchar *name, const gchar *value)
{
  if (params == NULL)
    params = json_object_new ();
  json_object_set_string_member (params, name, value);
  return params;
}

/* ---- list and show ---------------------------------------------------------------------- */

static int
wf_list (CwCtl *ctl, GError **error)
{
  g_autoptr (JsonNode) list = cw_ctl_call (ctl, "workflow_list", NULL, 30, error);
  JsonArray *arr;

  if (list == NULL)
    return 1;
  if (ctl->json)
    {
      cw_ctl_print_json (list);
      return 0;
    }
  arr = JSON_NODE_HOLDS_ARRAY (list) ? json_node_get_array (list) : NULL;
  if (arr == NULL || json_array_get_length (arr) == 0)
    {
      g_print (_ ("no workflows\n"));
      return 0;
    }
  g_print ("%-22s %-7s %-9s %-16s %s\n", _ ("ID"), _ ("VERSION"), _ ("STATUS"), _ ("UPDATED"),
           _ ("NAME"));
  for (guint i = 0; i < json_array_get_length (arr); i++)
    {
      JsonObject *wf = json_array_get_object_element (arr, i);
      g_autofree gchar *updated = cw_ctl_format_time (wf, "updatedAt");
      g_print ("%-22s %-7" G_GINT64_FORMAT " %-9s %-16s %s\n", str (wf, "id", "?"),
               json_object_get_int_member_with_default (wf, "version", 0), str (wf, "status", "?"),
               updated, str (wf, "name", ""));
    }
  return 0;
}

static void
print_trigger (JsonObject *t)
{
  const gchar *type = str (t, "type", "?");

  g_print ("  %-18s %-18s", str (t, "id", "?"), type);
  if (g_str_equal (type, "webhook"))
    g_print (" %s (%s)", str (t, "url", str (t, "endpointKey", "")), str (t, "authMode", "none"));
  else if (g_str_equal (type, "schedule") && json_object_has_member (t, "schedule"))
    {
      JsonObject *s = json_object_get_object_member (t, "schedule");
      g_print (" %s %s", str (s, "type", "?"), str (s, "expression", ""));
    }
  if (json_object_has_member (t, "enabled") && !json_object_get_boolean_member (t, "enabled"))
    g_print (" %s", _ ("(disabled)"));
  g_print ("\n");
}

static int
wf_show (CwCtl *ctl, int argc, char **argv, GError **error)
{
  JsonObject *params;
  g_autoptr (JsonNode) wf = NULL;
  JsonObject *obj;
  JsonArray *arr;

  if (argc < 2)
    return usage_error (error, "workflow show: a workflow id");
  params = with_string (NULL, "workflowId", argv[1]);
  for (gint i = 2; i < argc; i++)
    {
      gint64 version;
      if (g_str_equal (argv[i], "--version") && i + 1 < argc)
        {
          if (!cw_ctl_parse_int ("--version", argv[++i], 1, G_MAXINT32, &version, error))
            {
              json_object_unref (params);
              return 2;
            }
          json_object_set_int_member (params, "version", version);
        }
      else
        {
          json_object_unref (params);
          return usage_error (error, "workflow show: unknown option");
        }
    }
  wf = cw_ctl_call (ctl, "workflow_get", params, 30, error);
  if (wf == NULL)
    return 1;
  if (ctl->json)
    {
      cw_ctl_print_json (wf);
      return 0;
    }
  if (!JSON_NODE_HOLDS_OBJECT (wf))
    {
      g_set_error (error, CW_ERROR, CW_ERROR_NOT_FOUND, _ ("Workflow not found: %s"), argv[1]);
      return 1;
    }
  obj = json_node_get_object (wf);
  g_print ("%-12s %s\n", _ ("id"), str (obj, "id", "?"));
  g_print ("%-12s %s\n", _ ("name"), str (obj, "name", ""));
  g_print ("%-12s %" G_GINT64_FORMAT " (%s)\n", _ ("version"),
           json_object_get_int_member_with_default (obj, "version", 0), str (obj, "status", "?"));
  if (str (obj, "description", NULL) != NULL)
    g_print ("%-12s %s\n", _ ("description"), str (obj, "description", ""));
  g_print ("%s\n", _ ("triggers"));
  arr = json_object_get_array_member (obj, "triggers");
  for (guint i = 0; arr != NULL && i < json_array_get_length (arr); i++)
    print_trigger (json_array_get_object_element (arr, i));
  g_print ("%s\n", _ ("nodes"));
  arr = json_object_get_array_member (obj, "nodes");
  for (guint i = 0; arr != NULL && i < json_array_get_length (arr); i++)
    {
      JsonObject *n = json_array_get_object_element (arr, i);
      g_print ("  %-18s %-14s %s\n", str (n, "id", "?"), str (n, "type", "?"), str (n, "name", ""));
    }
  g_print ("%s\n", _ ("edges"));
  arr = json_object_get_array_member (obj, "edges");
  for (guint i = 0; arr != NULL && i < json_array_get_length (arr); i++)
    {
      JsonObject *e = json_array_get_object_element (arr, i);
      g_print ("  %s -> %s (%s%s%s)\n", str (e, "from", "?"), str (e, "to", "?"),
               str (e, "condition", "success"), str (e, "expression", NULL) != NULL ? ": " : "",
               str (e, "expression", ""));
    }
  return 0;
}

/* ---- runs ------------------------------------------------------------------------------ */

static void
print_run_row (JsonObject *run)
{
  g_autofree gchar *created = cw_ctl_format_time (run, "createdAt");

  g_print ("%-22s %-22s %-19s %-12s %-16s %s\n", str (run, "id", "?"), str (run, "workflowId", "?"),
           str (run, "status", "?"), str (run, "triggerType", "?"), created,
           str (run, "error", ""));
}

static int
wf_runs (CwCtl *ctl, int argc, char **argv, GError **error)
{
  JsonObject *params = json_object_new ();
  g_autoptr (JsonNode) runs = NULL;
  JsonArray *arr;

  for (gint i = 1; i < argc; i++)
    {
      gint64 limit;
      if (g_str_equal (argv[i], "--status") && i + 1 < argc)
        json_object_set_string_member (params, "status", argv[++i]);
      else if (g_str_equal (argv[i], "--limit") && i + 1 < argc)
        {
          if (!cw_ctl_parse_int ("--limit", argv[++i], 1, 10000, &limit, error))
            {
              json_object_unref (params);
              return 2;
            }
          json_object_set_int_member (params, "limit", limit);
        }
      else if (argv[i][0] != '-' && !json_object_has_member (params, "workflowId"))
        json_object_set_string_member (params, "workflowId", argv[i]);
      else
        {
          json_object_unref (params);
          return usage_error (error, "workflow runs: unknown argument");
        }
    }
  runs = cw_ctl_call (ctl, "workflow_list_runs", params, 30, error);
  if (runs == NULL)
    return 1;
  if (ctl->json)
    {
      cw_ctl_print_json (runs);
      return 0;
    }
  arr = JSON_NODE_HOLDS_ARRAY (runs) ? json_node_get_array (runs) : NULL;
  if (arr == NULL || json_array_get_length (arr) == 0)
    {
      g_print (_ ("no runs\n"));
      return 0;
    }
  g_print ("%-22s %-22s %-19s %-12s %-16s %s\n", _ ("RUN"), _ ("WORKFLOW"), _ ("STATUS"),
           _ ("TRIGGER"), _ ("CREATED"), _ ("ERROR"));
  for (guint i = 0; i < json_array_get_length (arr); i++)
    print_run_row (json_array_get_object_element (arr, i));
  return 0;
}

static gboolean
is_end (const gchar *type)
{
  return g_strcmp0 (type, "run_completed") == 0 || g_strcmp0 (type, "run_failed") == 0
         || g_strcmp0 (type, "run_cancelled") == 0 || g_strcmp0 (type, "run_paused") == 0;
}

static void
print_event (CwCtl *ctl, JsonObject *event)
{
  JsonObject *payload = json_object_get_object_member (event, "payload");
  g_autofree gchar *when = cw_ctl_format_time (event, "ts");
  g_autoptr (JsonNode) node = NULL;
  g_autofree gchar *text = NULL;

  if (ctl->json)
    {
      node = json_node_init_object (json_node_alloc (), event);
      cw_ctl_print_json (node);
      return;
    }
  g_print ("%s %-15s", when, str (event, "type", "?"));
  if (payload != NULL && str (payload, "nodeId", NULL) != NULL)
    g_print (" %s", str (payload, "nodeId", ""));
  if (payload != NULL && json_object_has_member (payload, "attempt"))
    g_print (" #%" G_GINT64_FORMAT, json_object_get_int_member (payload, "attempt"));
  if (payload != NULL && str (payload, "error", NULL) != NULL)
    g_print (" %s", str (payload, "error", ""));
  if (payload != NULL && str (payload, "reason", NULL) != NULL)
    g_print (" (%s)", str (payload, "reason", ""));
  g_print ("\n");
}

/* Prints the stored events of @run_id; with @follow, then the new ones until the run ends.
 * @client has made a request already, so it receives events. */
static int
print_logs (CwCtl *ctl, CwClient *client, const gchar *run_id, gboolean follow, GError **error)
{
  g_autoptr (JsonNode) params = object_node ();
  g_autoptr (JsonNode) events = NULL;
  g_autoptr (GHashTable) printed = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  gboolean ended = FALSE;
  JsonArray *arr;

  json_object_set_string_member (json_node_get_object (params), "runId", run_id);
  events = cw_client_call (client, "workflow_get_run_events", params, error);
  if (events == NULL)
    return 1;
  arr = JSON_NODE_HOLDS_ARRAY (events) ? json_node_get_array (events) : NULL;
  for (guint i = 0; arr != NULL && i < json_array_get_length (arr); i++)
    {
      JsonObject *e = json_array_get_object_element (arr, i);
      g_hash_table_add (printed, g_strdup (str (e, "id", "")));
      print_event (ctl, e);
      ended = is_end (str (e, "type", NULL));
    }
  while (follow && !ended)
    {
      g_autoptr (JsonObject) event = cw_client_next_event (client, error);
      JsonObject *data;
      if (event == NULL)
        return 1;
      if (!g_str_has_prefix (str (event, "type", ""), "workflow:"))
        continue;
      data = json_object_get_object_member (event, "data");
      if (data == NULL || g_strcmp0 (str (data, "runId", NULL), run_id) != 0
          || !json_object_has_member (data, "payload")
          || g_hash_table_contains (printed, str (data, "id", "")))
        continue;
      g_hash_table_add (printed, g_strdup (str (data, "id", "")));
      print_event (ctl, data);
      ended = is_end (str (data, "type", NULL));
    }
  return 0;
}

static int
wf_run (CwCtl *ctl, int argc, char **argv, GError **error)
{
  g_autoptr (CwClient) client = NULL;
  g_autoptr (JsonNode) params = object_node ();
  JsonObject *p = json_node_get_object (params);
  g_autoptr (JsonNode) run = NULL;
  gboolean follow = FALSE;
  const gchar *run_id;

  if (argc < 2 || argv[1][0] == '-')
    return usage_error (error, "workflow run: a workflow id");
  json_object_set_string_member (p, "workflowId", argv[1]);
  for (gint i = 2; i < argc; i++)
    {
      if (g_str_equal (argv[i], "--follow") || g_str_equal (argv[i], "-f"))
        follow = TRUE;
      else if (g_str_equal (argv[i], "--input") && i + 1 < argc)
        {
          g_autoptr (JsonNode) input = cw_json_from_string (argv[++i], -1, NULL);
          if (input == NULL || !JSON_NODE_HOLDS_OBJECT (input))
            return usage_error (error, "workflow run: --input takes a JSON object");
          json_object_set_member (p, "input", g_steal_pointer (&input));
        }
      else
        return usage_error (error, "workflow run: unknown option");
    }
  client = cw_ctl_connect_socket (ctl, error);
  if (client == NULL)
    return 1;
  cw_client_set_timeout (client, 0);
  run = cw_client_call (client, "workflow_run", params, error);
  if (run == NULL || !JSON_NODE_HOLDS_OBJECT (run))
    return 1;
  run_id = str (json_node_get_object (run), "id", "");
  if (!follow)
    {
      if (ctl->json)
        cw_ctl_print_json (run);
      else
        g_print ("%s\n", run_id);
      return 0;
    }
  return print_logs (ctl, client, run_id, TRUE, error);
}

static int
wf_logs (CwCtl *ctl, int argc, char **argv, GError **error)
{
  g_autoptr (CwClient) client = NULL;
  gboolean follow = FALSE;

  if (argc < 2 || argv[1][0] == '-')
    return usage_error (error, "workflow logs: a run id");
  for (gint i = 2; i < argc; i++)
    if (g_str_equal (argv[i], "--follow") || g_str_equal (argv[i], "-f"))
      follow = TRUE;
    else
      return usage_error (error, "workflow logs: unknown option");
  client = cw_ctl_connect_socket (ctl, error);
  if (client == NULL)
    return 1;
  cw_client_set_timeout (client, 0);
  return print_logs (ctl, client, argv[1], follow, error);
}

static int
wf_cancel (CwCtl *ctl, int argc, char **argv, GError **error)
{
  g_autoptr (JsonNode) run = NULL;

  if (argc != 2)
    return usage_error (error, "workflow cancel: one run id");
  run = cw_ctl_call (ctl, "workflow_cancel_run", with_string (NULL, "runId", argv[1]), 30, error);
  if (run == NULL)
    return 1;
  if (ctl->json)
    cw_ctl_print_json (run);
  else
    g_print (_ ("cancelled %s\n"), argv[1]);
  return 0;
}

/* The approval the run waits for, from interaction_list. */
static gchar *
pending_approval (CwCtl *ctl, const gchar *run_id, GError **error)
{
  g_autoptr (JsonNode) list = cw_ctl_call (
      ctl, "interaction_list",
      with_string (with_string (NULL, "owner", "workflow"), "kind", "approval"), 30, error);
  JsonArray *arr;

  if (list == NULL)
    return NULL;
  arr = JSON_NODE_HOLDS_OBJECT (list)
            ? json_object_get_array_member (json_node_get_object (list), "interactions")
            : NULL;
  for (guint i = 0; arr != NULL && i < json_array_get_length (arr); i++)
    {
      JsonObject *it = json_array_get_object_element (arr, i);
      JsonObject *payload = json_object_get_object_member (it, "payload");
      if (payload != NULL && g_strcmp0 (str (payload, "runId", NULL), run_id) == 0
          && g_strcmp0 (str (it, "status", "pending"), "pending") == 0)
        return g_strdup (str (it, "id", NULL));
    }
  g_set_error (error, CW_ERROR, CW_ERROR_NOT_FOUND, _ ("Run %s is not waiting for an approval"),
               run_id);
  return NULL;
}

static int
wf_approve (CwCtl *ctl, int argc, char **argv, GError **error)
{
  gboolean approved = TRUE;
  const gchar *reason = NULL;
  g_autofree gchar *id = NULL;
  JsonObject *params, *answer;
  g_autoptr (JsonNode) result = NULL;

  if (argc < 2 || argv[1][0] == '-')
    return usage_error (error, "workflow approve: a run id");
  for (gint i = 2; i < argc; i++)
    if (g_str_equal (argv[i], "--deny"))
      approved = FALSE;
    else if (g_str_equal (argv[i], "--reason") && i + 1 < argc)
      reason = argv[++i];
    else
      return usage_error (error, "workflow approve: unknown option");
  id = pending_approval (ctl, argv[1], error);
  if (id == NULL)
    return 1;
  answer = json_object_new ();
  json_object_set_boolean_member (answer, "approved", approved);
  if (reason != NULL)
    json_object_set_string_member (answer, "reason", reason);
  params = with_string (NULL, "id", id);
  json_object_set_object_member (params, "answer", answer);
  result = cw_ctl_call (ctl, "interaction_respond", params, 30, error);
  if (result == NULL)
    return 1;
  if (ctl->json)
    cw_ctl_print_json (result);
  else
    g_print (approved ? _ ("approved %s\n") : _ ("denied %s\n"), argv[1]);
  return 0;
}

int
cw_ctl_workflow (CwCtl *ctl, int argc, char **argv, GError **error)
{
  const gchar *verb = argc > 1 ? argv[1] : "list";

  if (g_str_equal (verb, "list"))
    return argc <= 2 ? wf_list (ctl, error) : usage_error (error, "workflow list: no arguments");
  if (g_str_equal (verb, "show"))
    return wf_show (ctl, argc - 1, argv + 1, error);
  if (g_str_equal (verb, "run"))
    return wf_run (ctl, argc - 1, argv + 1, error);
  if (g_str_equal (verb, "runs"))
    return wf_runs (ctl, argc - 1, argv + 1, error);
  if (g_str_equal (verb, "logs"))
    return wf_logs (ctl, argc - 1, argv + 1, error);
  if (g_str_equal (verb, "cancel"))
    return wf_cancel (ctl, argc - 1, argv + 1, error);
  if (g_str_equal (verb, "approve"))
    return wf_approve (ctl, argc - 1, argv + 1, error);
  {
    g_autofree gchar *msg = g_strdup_printf ("workflow: unknown subcommand '%s'", verb);
    return usage_error (error, msg);
  }
}

const CwCtlCommand cw_ctl_commands_workflow[] = {
  { "workflow", "list|show|run|runs|logs|cancel|approve ...",
    N_ ("Workflows: definitions, runs and approvals"), cw_ctl_workflow,
    N_ ("list                       the workflows (latest version of each)\n"
        "show WORKFLOW [--version N] triggers (webhook URLs), nodes and edges\n"
        "run WORKFLOW [--input JSON] [--follow]\n"
        "                           start a run; --follow prints its events until it ends\n"
        "runs [WORKFLOW] [--status S] [--limit N]\n"
        "logs RUN [--follow]        the run's events\n"
        "cancel RUN\n"
        "approve RUN [--deny] [--reason TEXT]\n"
        "                           answer the approval the run waits for") },
  { NULL },
};
