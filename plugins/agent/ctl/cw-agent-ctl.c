/* cw-ctl-chat.c: `coworkctl chat [SESSION] [--dir DIR]`, an interactive terminal client of
 * the agent plugin, and `coworkctl sessions`.
 *
 * One connection carries the calls and the events. The reply to send_message only comes at
 * the end of the turn, so the client reads lines until that reply, printing the streamed
 * reply and tool lines, and answering permission prompts and questions from the terminal as
 * they come. Ctrl-C stops the turn (stop_generation); a second Ctrl-C while stopping quits.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "cw-client.h"
#include "cw-agent-ctl.h"

#include <glib/gi18n.h>
#include <signal.h>
#include <stdio.h>

static volatile sig_atomic_t interrupted;
/* A turn failed or reported an error: coworkctl chat then exits 1. */
static gboolean chat_failed;

static void
on_sigint (int signum)
{
  interrupted++;
}

static JsonNode *
params_new (const gchar *session_id)
{
  JsonNode *node = json_node_new (JSON_NODE_OBJECT);
  JsonObject *obj = json_object_new ();

  if (session_id != NULL)
    json_object_set_string_member (obj, "sessionId", session_id);
  json_node_take_object (node, obj);
  return node;
}

static gchar *
read_terminal_line (const gchar *prompt)
{
  g_autofree gchar *line = g_malloc (4096);

  g_print ("%s", prompt);
  fflush (stdout);
  if (fgets (line, 4096, stdin) == NULL)
    return NULL;
  return g_strdup (g_strstrip (line));
}

static void
send_ignoring_reply (CwClient *client, const gchar *command, JsonNode *params)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *id = cw_client_send (client, command, params, &error);

  if (id == NULL)
    g_printerr ("coworkctl: %s: %s\n", command, error->message);
}

static void
answer_permission (CwClient *client, JsonObject *request)
{
  g_autoptr (JsonNode) params = params_new (NULL);
  g_autofree gchar *answer = NULL;
  const gchar *decision = NULL;

  g_print (_ ("\n[permission] %s %s (risk %s)\n"),
           json_object_get_string_member_with_default (request, "type", "?"),
           json_object_get_string_member_with_default (request, "resource", "?"),
           json_object_get_string_member_with_default (request, "riskLevel", "?"));
  while (decision == NULL)
    {
      g_free (answer);
      answer = read_terminal_line (_ ("[a]llow once / allow [s]ession / [d]eny? "));
      if (answer == NULL || g_ascii_strncasecmp (answer, "d", 1) == 0)
        decision = "deny";
      else if (g_ascii_strncasecmp (answer, "a", 1) == 0)
        decision = "allow_once";
      else if (g_ascii_strncasecmp (answer, "s", 1) == 0)
        decision = "allow_session";
    }
  json_object_set_string_member (json_node_get_object (params), "permissionId",
                                 json_object_get_string_member (request, "id"));
  json_object_set_string_member (json_node_get_object (params), "decision", decision);
  send_ignoring_reply (client, "respond_permission", params);
}

static void
answer_question (CwClient *client, JsonObject *request)
{
  g_autoptr (JsonNode) params = params_new (NULL);
  JsonNode *options_node = json_object_get_member (request, "options");
  JsonArray *options = options_node != NULL && JSON_NODE_HOLDS_ARRAY (options_node)
                           ? json_node_get_array (options_node)
                           : NULL;
  guint n = options != NULL ? json_array_get_length (options) : 0;
  g_autofree gchar *answer = NULL;
  const gchar *value;
  gint64 choice;

  g_print ("\n[question] %s\n",
           json_object_get_string_member_with_default (request, "question", ""));
  for (guint i = 0; i < n; i++)
    g_print ("  %u. %s\n", i + 1,
             json_object_get_string_member_with_default (json_array_get_object_element (options, i),
                                                         "label", "?"));
  answer = read_terminal_line (n > 0 ? _ ("number or answer> ") : _ ("answer> "));
  value = answer != NULL ? answer : "__cancelled__";
  choice = answer != NULL ? g_ascii_strtoll (answer, NULL, 10) : 0;
  if (choice >= 1 && choice <= (gint64) n)
    {
      JsonObject *opt = json_array_get_object_element (options, choice - 1);
      value = json_object_get_string_member_with_default (
          opt, "value", json_object_get_string_member_with_default (opt, "label", value));
    }
  json_object_set_string_member (json_node_get_object (params), "questionId",
                                 json_object_get_string_member (request, "id"));
  json_object_set_string_member (json_node_get_object (params), "answer", value);
  send_ignoring_reply (client, "respond_question", params);
}

static void
print_event (CwClient *client, JsonObject *ev)
{
  const gchar *type = json_object_get_string_member_with_default (ev, "type", "");
  JsonNode *data_node = json_object_get_member (ev, "data");
  JsonObject *data = data_node != NULL && JSON_NODE_HOLDS_OBJECT (data_node)
                         ? json_node_get_object (data_node)
                         : NULL;
  JsonNode *sub;

  if (data == NULL)
    return;
  if (g_strcmp0 (type, "stream:chunk") == 0)
    g_print ("%s", json_object_get_string_member_with_default (data, "content", ""));
  else if (g_strcmp0 (type, "tool:start") == 0
           && (sub = json_object_get_member (data, "toolCall")) != NULL
           && JSON_NODE_HOLDS_OBJECT (sub))
    {
      JsonNode *args = json_object_get_member (json_node_get_object (sub), "args");
      g_autofree gchar *text = args != NULL ? cw_json_to_string (args) : g_strdup ("{}");
      g_print ("\n[tool] %s %s\n",
               json_object_get_string_member_with_default (json_node_get_object (sub), "name", "?"),
               text);
    }
  else if (g_strcmp0 (type, "tool:result") == 0
           && (sub = json_object_get_member (data, "result")) != NULL
           && JSON_NODE_HOLDS_OBJECT (sub))
    {
      JsonObject *r = json_node_get_object (sub);
      if (json_object_get_boolean_member_with_default (r, "success", FALSE))
        g_print (_ ("[tool done]\n"));
      else
        g_print (_ ("[tool failed] %s\n"),
                 json_object_get_string_member_with_default (r, "error", ""));
    }
  else if (g_strcmp0 (type, "permission:request") == 0
           && (sub = json_object_get_member (data, "request")) != NULL
           && JSON_NODE_HOLDS_OBJECT (sub))
    answer_permission (client, json_node_get_object (sub));
  else if (g_strcmp0 (type, "question:ask") == 0
           && (sub = json_object_get_member (data, "request")) != NULL
           && JSON_NODE_HOLDS_OBJECT (sub))
    answer_question (client, json_node_get_object (sub));
  else if (g_strcmp0 (type, "error") == 0 && (chat_failed = TRUE))
    g_print (_ ("\n[error] %s (%s)\n"),
             json_object_get_string_member_with_default (data, "error", ""),
             json_object_get_string_member_with_default (data, "code", "?"));
  else if (g_strcmp0 (type, "stream:done") == 0)
    g_print ("\n");
}

/* Reads events until the reply to @send_id; FALSE when the connection is gone. */
static gboolean
run_turn (CwClient *client, const gchar *session_id, const gchar *send_id, GError **error)
{
  gboolean stop_sent = FALSE;
  gboolean replied = FALSE;
  gboolean streaming = FALSE; /* a stream:start without its stream:done yet */

  for (;;)
    {
      g_autoptr (GError) local_error = NULL;
      g_autoptr (JsonObject) obj = NULL;

      if (interrupted > 0 && !stop_sent)
        {
          g_autoptr (JsonNode) params = params_new (session_id);
          g_print (_ ("\n[stopping]\n"));
          send_ignoring_reply (client, "stop_generation", params);
          stop_sent = TRUE;
        }
      else if (interrupted > 1)
        return TRUE;
      obj = cw_client_read (client, &local_error);
      if (obj == NULL)
        {
          if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
            {
              if (replied)
                return TRUE;
              continue;
            }
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }
      if (json_object_has_member (obj, "success") && json_object_has_member (obj, "id"))
        {
          if (g_strcmp0 (json_object_get_string_member (obj, "id"), send_id) != 0)
            continue;
          if (!json_object_get_boolean_member (obj, "success"))
            {
              g_print (_ ("[failed] %s\n"),
                       json_object_get_string_member_with_default (obj, "error", ""));
              chat_failed = TRUE;
              return TRUE;
            }
          /* Events may trail the reply (contract §1.6): show the rest of the turn. */
          if (!streaming)
            return TRUE;
          replied = TRUE;
          continue;
        }
      if (g_strcmp0 (json_object_get_string_member_with_default (obj, "sessionId", NULL),
                     session_id)
          == 0)
        {
          const gchar *type = json_object_get_string_member_with_default (obj, "type", "");
          print_event (client, obj);
          if (g_strcmp0 (type, "stream:start") == 0)
            streaming = TRUE;
          else if (g_strcmp0 (type, "stream:done") == 0)
            {
              streaming = FALSE;
              if (replied)
                return TRUE;
            }
        }
    }
}

static gchar *
create_session (CwClient *client, const gchar *dir, GError **error)
{
  g_autoptr (JsonNode) params = params_new (NULL);
  g_autoptr (JsonNode) result = NULL;
  g_autofree gchar *cwd = g_get_current_dir ();
  g_autofree gchar *abs = g_canonicalize_filename (dir != NULL ? dir : cwd, cwd);

  json_object_set_string_member (json_node_get_object (params), "workingDirectory", abs);
  result = cw_client_call (client, "create_session", params, error);
  if (result == NULL)
    return NULL;
  return g_strdup (json_object_get_string_member (json_node_get_object (result), "id"));
}

int
cw_ctl_chat (CwCtl *ctl, int argc, char **argv, GError **error)
{
  g_autoptr (CwClient) client = NULL;
  g_autofree gchar *session_id = NULL;
  const gchar *dir = NULL, *given = NULL;
  struct sigaction sa = { 0 };

  for (int i = 1; i < argc; i++)
    {
      if (g_strcmp0 (argv[i], "--dir") == 0 && i + 1 < argc)
        dir = argv[++i];
      else if (argv[i][0] != '-' && given == NULL)
        given = argv[i];
      else
        {
          g_set_error_literal (error, CW_ERROR, CW_ERROR_INVALID_PARAMS,
                               _ ("usage: coworkctl chat [SESSION] [--dir DIR]"));
          return 2;
        }
    }
  client = cw_ctl_connect_socket (ctl, error);
  if (client == NULL)
    return 1;
  session_id = given != NULL ? g_strdup (given) : create_session (client, dir, error);
  if (session_id == NULL)
    return 1;
  g_print (_ ("session %s — type a message, /help for help, /quit to leave\n"), session_id);
  sa.sa_handler = on_sigint;
  sigaction (SIGINT, &sa, NULL);
  /* Short read timeouts let Ctrl-C be noticed while waiting for events. */
  cw_client_set_timeout (client, 1);
  for (;;)
    {
      g_autofree gchar *line = NULL;
      g_autofree gchar *id = NULL;
      g_autoptr (JsonNode) params = NULL;

      interrupted = 0;
      line = read_terminal_line ("> ");
      if (line == NULL)
        {
          /* Ctrl-D or Ctrl-C at the prompt: leave the shell's prompt on a line of its own. */
          g_print ("\n");
          return chat_failed ? 1 : 0;
        }
      if (g_strcmp0 (line, "/quit") == 0)
        return chat_failed ? 1 : 0;
      if (*line == '\0')
        continue;
      /* Lines starting with / are for coworkctl, never sent to the model. */
      if (g_strcmp0 (line, "/help") == 0)
        {
          g_print (_ ("/help   show this\n/quit   leave (so does Ctrl-D)\nCtrl-C  stop the "
                      "reply being written\n"));
          continue;
        }
      if (line[0] == '/')
        {
          g_print (_ ("unknown command %s (try /help)\n"), line);
          continue;
        }
      params = params_new (session_id);
      json_object_set_string_member (json_node_get_object (params), "content", line);
      id = cw_client_send (client, "send_message", params, error);
      if (id == NULL || !run_turn (client, session_id, id, error))
        return 1;
    }
}

int
cw_ctl_sessions (CwCtl *ctl, int argc, char **argv, GError **error)
{
  g_autoptr (CwClient) client = NULL;
  g_autoptr (JsonNode) boot = NULL;
  JsonArray *sessions;
  JsonObject *runtime;

  if (argc > 1)
    {
      g_set_error_literal (error, CW_ERROR, CW_ERROR_INVALID_PARAMS,
                           _ ("usage: coworkctl sessions"));
      return 2;
    }
  client = cw_ctl_connect_socket (ctl, error);
  if (client == NULL)
    return 1;
  boot = cw_client_call (client, "agent_get_bootstrap_state", NULL, error);
  if (boot == NULL)
    return 1;
  sessions = json_object_get_array_member (json_node_get_object (boot), "sessions");
  runtime = json_object_get_object_member (json_node_get_object (boot), "runtime");
  if (ctl->json)
    {
      g_autoptr (JsonNode) node = json_node_new (JSON_NODE_ARRAY);
      g_autofree gchar *text = NULL;
      json_node_set_array (node, sessions);
      text = cw_json_to_string (node);
      g_print ("%s\n", text);
      return 0;
    }
  g_print ("%-21s %-18s %-9s %5s  %s\n", _ ("ID"), _ ("STATE"), _ ("PROVIDER"), _ ("MSGS"),
           _ ("TITLE / DIRECTORY"));
  for (guint i = 0; sessions != NULL && i < json_array_get_length (sessions); i++)
    {
      JsonObject *s = json_array_get_object_element (sessions, i);
      const gchar *id = json_object_get_string_member (s, "id");
      JsonNode *rt = runtime != NULL ? json_object_get_member (runtime, id) : NULL;
      const gchar *state = rt != NULL && JSON_NODE_HOLDS_OBJECT (rt)
                               ? json_object_get_string_member_with_default (
                                   json_node_get_object (rt), "runState", "?")
                               : "?";
      const gchar *title = json_object_get_string_member_with_default (s, "title", NULL);

      g_print ("%-21s %-18s %-9s %5" G_GINT64_FORMAT "  %s\n", id, state,
               json_object_get_string_member_with_default (s, "provider", "?"),
               json_object_get_int_member_with_default (s, "messageCount", 0),
               title != NULL
                   ? title
                   : json_object_get_string_member_with_default (s, "workingDirectory", ""));
    }
  return 0;
}

const CwCtlCommand cw_ctl_commands_agent[] = {
  { "chat", "[SESSION] [--dir DIR]", N_ ("Chat with the agent in a terminal"), cw_ctl_chat },
  { "sessions", "", N_ ("List the agent's sessions"), cw_ctl_sessions },
  { NULL },
};
