/* cw-agent-test.c: see cw-agent-test.h.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-agent-test.h"

#include <glib/gstdio.h>
#include <signal.h>

AgentFixture *
agent_fixture_new (void)
{
  AgentFixture *f = g_new0 (AgentFixture, 1);

  f->daemon = cw_test_daemon_new ();
  f->workdir = g_build_filename (f->daemon->dir, "project", NULL);
  g_assert_cmpint (g_mkdir_with_parents (f->workdir, 0700), ==, 0);
  return f;
}

void
agent_fixture_free (AgentFixture *f)
{
  g_clear_pointer (&f->client, cw_client_free);
  if (f->llm != NULL)
    {
      g_subprocess_force_exit (f->llm);
      g_subprocess_wait (f->llm, NULL, NULL);
      g_clear_object (&f->llm);
    }
  cw_test_daemon_free (f->daemon);
  g_free (f->workdir);
  g_free (f->llm_url);
  g_free (f->llm_log);
  g_free (f);
}

void
agent_fixture_start (AgentFixture *f)
{
  cw_test_daemon_start (f->daemon);
  f->client = cw_test_daemon_connect (f->daemon);
  /* Any authenticated request starts event delivery on this connection. */
  json_node_unref (cw_test_daemon_call (f->client, "agent_subscribe_events", NULL));
}

void
agent_fixture_stop (AgentFixture *f, gint signum)
{
  gint status;

  g_clear_pointer (&f->client, cw_client_free);
  status = cw_test_daemon_stop (f->daemon, signum);
  if (signum == SIGTERM)
    g_assert_cmpint (status, ==, 0);
}

static gchar *
vformat (const gchar *fmt, va_list ap)
{
  return fmt != NULL ? g_strdup_vprintf (fmt, ap) : NULL;
}

static JsonNode *
parse_params (const gchar *text)
{
  g_autoptr (GError) error = NULL;
  JsonNode *node;

  if (text == NULL)
    return NULL;
  node = cw_json_from_string (text, -1, &error);
  g_assert_no_error (error);
  return node;
}

JsonNode *
agent_call (CwClient *client, const gchar *command, const gchar *params_fmt, ...)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *text = NULL;
  g_autoptr (JsonNode) params = NULL;
  JsonNode *result;
  va_list ap;

  va_start (ap, params_fmt);
  text = vformat (params_fmt, ap);
  va_end (ap);
  params = parse_params (text);
  result = cw_client_call (client, command, params, &error);
  if (error != NULL)
    g_error ("%s %s failed: %s", command, text != NULL ? text : "", error->message);
  return result;
}

gchar *
agent_call_error (CwClient *client, const gchar *command, const gchar *params_fmt, ...)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *text = NULL;
  g_autoptr (JsonNode) params = NULL;
  g_autoptr (JsonNode) result = NULL;
  va_list ap;

  va_start (ap, params_fmt);
  text = vformat (params_fmt, ap);
  va_end (ap);
  params = parse_params (text);
  result = cw_client_call (client, command, params, &error);
  g_assert_null (result);
  g_assert_nonnull (error);
  return g_strdup (error->message);
}

gchar *
agent_send (CwClient *client, const gchar *command, const gchar *params_fmt, ...)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *text = NULL;
  g_autoptr (JsonNode) params = NULL;
  gchar *id;
  va_list ap;

  va_start (ap, params_fmt);
  text = vformat (params_fmt, ap);
  va_end (ap);
  params = parse_params (text);
  id = cw_client_send (client, command, params, &error);
  g_assert_no_error (error);
  return id;
}

gchar *
agent_run_ctl_status (AgentFixture *f, const gchar *input, const gchar *const *args, gint *status)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autoptr (GSubprocess) proc = NULL;
  g_autoptr (GError) error = NULL;
  gchar *out = NULL;

  g_ptr_array_add (argv, (gpointer) g_getenv ("COWORKCTL"));
  g_ptr_array_add (argv, "--app-data-dir");
  g_ptr_array_add (argv, f->daemon->dir);
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);
  launcher
      = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_subprocess_launcher_set_environ (launcher, f->daemon->env);
  proc = g_subprocess_launcher_spawnv (launcher, (const gchar *const *) argv->pdata, &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (proc, input, NULL, &out, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_if_exited (proc));
  *status = g_subprocess_get_exit_status (proc);
  return out;
}

gchar *
agent_run_ctl (AgentFixture *f, const gchar *input, const gchar *const *args)
{
  gint status;
  gchar *out = agent_run_ctl_status (f, input, args, &status);

  g_assert_cmpint (status, ==, 0);
  return out;
}

JsonNode *
agent_app_runtime_config (CwClient *client, const gchar *provider, const gchar *base_url,
                          const gchar *provider_keys_json)
{
  return agent_call (
      client, "set_runtime_config",
      "{\"config\":{\"activeProvider\":\"%s\",\"uxProfile\":\"pro\","
      "\"providerApiKeys\":%s,\"providerBaseUrls\":{\"%s\":\"%s\"},"
      "\"googleApiKey\":null,\"openaiApiKey\":null,\"falApiKey\":null,\"exaApiKey\":null,"
      "\"tavilyApiKey\":null,\"externalSearchProvider\":\"google\","
      "\"mediaRouting\":{\"imageBackend\":\"google\",\"videoBackend\":\"google\"},"
      "\"sandbox\":{\"mode\":\"workspace-write\",\"allowNetwork\":false,"
      "\"allowProcessSpawn\":true,\"allowedPaths\":[],\"deniedPaths\":[\"/etc\"],"
      "\"trustedCommands\":[\"ls\",\"pwd\",\"git status\",\"git diff\"],"
      "\"maxExecutionTimeMs\":30000,\"maxOutputBytes\":1048576},"
      "\"externalCli\":null,\"toolOutputTokenLimit\":32000,\"activeSoul\":null,"
      "\"memory\":null}}",
      provider, provider_keys_json, provider, base_url);
}

JsonObject *
agent_event_data (JsonObject *event)
{
  return json_object_get_object_member (event, "data");
}

JsonObject *
agent_wait_any (CwClient *client, const gchar *const *types, const gchar *session_id,
                GPtrArray *seen)
{
  gint64 deadline = g_get_monotonic_time () + 20 * G_TIME_SPAN_SECOND;

  for (;;)
    {
      g_autoptr (GError) error = NULL;
      JsonObject *ev = cw_client_next_event (client, &error);
      const gchar *t, *sid;

      if (ev == NULL)
        g_error ("no %s event: %s", types[0], error != NULL ? error->message : "connection closed");
      t = json_object_get_string_member_with_default (ev, "type", "");
      sid = json_object_get_string_member_with_default (ev, "sessionId", NULL);
      if (seen != NULL && (session_id == NULL || g_strcmp0 (sid, session_id) == 0))
        g_ptr_array_add (seen, g_strdup (t));
      if (g_strv_contains (types, t) && (session_id == NULL || g_strcmp0 (sid, session_id) == 0))
        return ev;
      json_object_unref (ev);
      if (g_get_monotonic_time () > deadline)
        g_error ("timed out waiting for %s", types[0]);
    }
}

JsonObject *
agent_wait_event (CwClient *client, const gchar *type, const gchar *session_id, GPtrArray *seen)
{
  const gchar *types[] = { type, NULL };

  return agent_wait_any (client, types, session_id, seen);
}

gint
agent_find (GPtrArray *seen, const gchar *type, guint from)
{
  for (guint i = from; i < seen->len; i++)
    if (g_strcmp0 (g_ptr_array_index (seen, i), type) == 0)
      return (gint) i;
  return -1;
}

gboolean
agent_fixture_start_llm (AgentFixture *f, const gchar *script)
{
  g_autoptr (JsonNode) result = NULL;

  if (!agent_fixture_start_llm_api (f, "openai", script))
    return FALSE;
  result = agent_call (f->client, "set_runtime_config",
                       "{\"config\":{\"activeProvider\":\"lmstudio\","
                       "\"providerBaseUrls\":{\"lmstudio\":\"%s\"}}}",
                       f->llm_url);
  return TRUE;
}

gboolean
agent_fixture_start_llm_api (AgentFixture *f, const gchar *api, const gchar *script)
{
  const gchar *binary = g_getenv ("CW_FAKE_LLM");
  g_autofree gchar *script_file = g_build_filename (f->daemon->dir, "llm-script.json", NULL);
  g_autofree gchar *port_file = g_build_filename (f->daemon->dir, "llm-port", NULL);
  g_autoptr (GError) error = NULL;
  g_autofree gchar *port = NULL;
  gint64 deadline = g_get_monotonic_time () + 10 * G_TIME_SPAN_SECOND;

  if (binary == NULL || !g_file_test (binary, G_FILE_TEST_IS_EXECUTABLE))
    {
      g_test_skip ("cw-fake-llm is not built");
      return FALSE;
    }
  /* cw-fake-llm wants headers and usage on every response; tests leave them out. */
  {
    g_autoptr (JsonNode) root = cw_json_from_string (script, -1, &error);
    JsonArray *responses;
    g_autofree gchar *text = NULL;

    g_assert_no_error (error);
    responses = json_object_get_array_member (json_node_get_object (root), "responses");
    for (guint i = 0; i < json_array_get_length (responses); i++)
      {
        JsonObject *r = json_array_get_object_element (responses, i);
        if (!json_object_has_member (r, "headers"))
          json_object_set_object_member (r, "headers", json_object_new ());
        if (!json_object_has_member (r, "usage"))
          {
            JsonObject *u = json_object_new ();
            json_object_set_int_member (u, "input", 0);
            json_object_set_int_member (u, "output", 0);
            json_object_set_object_member (r, "usage", u);
          }
      }
    text = cw_json_to_string (root);
    g_assert_true (g_file_set_contents (script_file, text, -1, &error));
  }
  f->llm_log = g_build_filename (f->daemon->dir, "llm-log.jsonl", NULL);
  f->llm = cw_test_spawn (G_SUBPROCESS_FLAGS_NONE, &error, binary, "--api", api, "--script",
                          script_file, "--port-file", port_file, "--log", f->llm_log, NULL);
  g_assert_no_error (error);
  while (!g_file_get_contents (port_file, &port, NULL, NULL) || *g_strstrip (port) == '\0')
    {
      g_clear_pointer (&port, g_free);
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (10000);
    }
  f->llm_url = g_strdup_printf ("http://127.0.0.1:%s", port);
  return TRUE;
}

gchar *
agent_fixture_run_turn (AgentFixture *f, const gchar *provider)
{
  g_autoptr (JsonNode) session = NULL;
  g_autoptr (CwClient) sender = cw_test_daemon_connect (f->daemon);
  g_autoptr (JsonObject) done = NULL;
  g_autofree gchar *id = NULL;
  const gchar *sid;

  session = agent_call (f->client, "create_session",
                        "{\"workingDirectory\":\"%s\",\"provider\":\"%s\",\"model\":null,"
                        "\"title\":null,\"type\":null,\"executionMode\":null}",
                        f->workdir, provider);
  sid = json_object_get_string_member (json_node_get_object (session), "id");
  id = agent_send (sender, "send_message",
                   "{\"sessionId\":\"%s\",\"content\":\"hello\",\"attachments\":null}", sid);
  done = agent_wait_event (f->client, "stream:done", sid, NULL);
  agent_assert_reply_ok (sender, id);
  return g_strdup (sid);
}

gchar *
agent_fixture_create_session (AgentFixture *f)
{
  g_autoptr (JsonNode) result
      = agent_call (f->client, "create_session",
                    "{\"workingDirectory\":\"%s\",\"provider\":\"lmstudio\"}", f->workdir);

  return g_strdup (json_object_get_string_member (json_node_get_object (result), "id"));
}

GPtrArray *
agent_fixture_llm_requests (AgentFixture *f)
{
  g_autofree gchar *text = NULL;
  g_auto (GStrv) lines = NULL;
  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);

  if (!g_file_get_contents (f->llm_log, &text, NULL, NULL))
    return out;
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_autoptr (JsonNode) node = NULL;
      if (*lines[i] == '\0')
        continue;
      node = cw_json_from_string (lines[i], -1, NULL);
      if (node != NULL && JSON_NODE_HOLDS_OBJECT (node))
        g_ptr_array_add (out, json_object_ref (json_node_get_object (node)));
    }
  return out;
}

gboolean
agent_tree_contains (const gchar *dir, const gchar *needle)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const gchar *name;

  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree gchar *path = g_build_filename (dir, name, NULL);
      g_autofree gchar *contents = NULL;
      gsize len = 0;

      if (g_file_test (path, G_FILE_TEST_IS_DIR))
        {
          if (agent_tree_contains (path, needle))
            return TRUE;
          continue;
        }
      if (g_file_get_contents (path, &contents, &len, NULL)
          && g_strstr_len (contents, len, needle) != NULL)
        return TRUE;
    }
  return FALSE;
}

gchar *
agent_fixture_last_authorization (AgentFixture *f)
{
  g_autoptr (GPtrArray) requests = agent_fixture_llm_requests (f);
  JsonObject *headers;

  g_assert_cmpuint (requests->len, >=, 1);
  headers
      = json_object_get_object_member (g_ptr_array_index (requests, requests->len - 1), "headers");
  g_assert_nonnull (headers);
  return g_strdup (json_object_has_member (headers, "Authorization")
                       ? json_object_get_string_member (headers, "Authorization")
                       : json_object_get_string_member_with_default (headers, "authorization", ""));
}

AgentTurn *
agent_turn_new (const gchar *script)
{
  return agent_turn_new_with_env (script, NULL);
}

AgentTurn *
agent_turn_new_with_env (const gchar *script, const gchar *const *env)
{
  AgentTurn *t = g_new0 (AgentTurn, 1);

  t->f = agent_fixture_new ();
  for (guint i = 0; env != NULL && env[i] != NULL; i += 2)
    cw_test_daemon_setenv (t->f->daemon, env[i], env[i + 1]);
  agent_fixture_start (t->f);
  if (!agent_fixture_start_llm (t->f, script))
    {
      agent_fixture_free (t->f);
      g_free (t);
      return NULL;
    }
  t->session = agent_fixture_create_session (t->f);
  /* create_session's own events end with the context meter; the turn's come after. */
  json_object_unref (agent_wait_event (t->f->client, "context:usage", t->session, NULL));
  t->sender = cw_test_daemon_connect (t->f->daemon);
  t->seen = g_ptr_array_new_with_free_func (g_free);
  return t;
}

void
agent_turn_free (AgentTurn *t)
{
  if (t == NULL)
    return;
  g_clear_pointer (&t->sender, cw_client_free);
  agent_fixture_free (t->f);
  g_free (t->session);
  g_ptr_array_unref (t->seen);
  g_free (t);
}

JsonObject *
agent_turn_wait (AgentTurn *t, const gchar *type)
{
  return agent_wait_event (t->f->client, type, t->session, t->seen);
}

gchar *
agent_turn_send (AgentTurn *t, const gchar *content)
{
  return agent_send (t->sender, "send_message", "{\"sessionId\":\"%s\",\"content\":\"%s\"}",
                     t->session, content);
}

void
agent_assert_reply_ok (CwClient *client, const gchar *id)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) response = cw_client_wait_response (client, id, &error);

  g_assert_no_error (error);
  g_assert_true (json_object_get_boolean_member (response, "success"));
}

JsonObject *
agent_turn_request_last_message (AgentTurn *t, guint n)
{
  g_autoptr (GPtrArray) reqs = agent_fixture_llm_requests (t->f);
  JsonArray *messages;

  g_assert_cmpuint (reqs->len, >, n);
  messages = json_object_get_array_member (
      json_object_get_object_member (g_ptr_array_index (reqs, n), "body"), "messages");
  return json_object_ref (
      json_array_get_object_element (messages, json_array_get_length (messages) - 1));
}

void
agent_turn_call (AgentTurn *t, const gchar *command, const gchar *extra)
{
  g_autoptr (JsonNode) res
      = agent_call (t->f->client, command, "{\"sessionId\":\"%s\"%s}", t->session, extra);
}

JsonObject *
agent_tool_result (JsonObject *tool_result_event)
{
  return json_object_get_object_member (agent_event_data (tool_result_event), "result");
}

sqlite3 *
agent_store_lock (AgentFixture *f)
{
  g_autofree gchar *path = g_build_filename (f->daemon->dir, "daemon", "coworkd.db", NULL);
  sqlite3 *db = NULL;

  g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
  /* the daemon may be in a write of its own right now: wait for it */
  sqlite3_busy_timeout (db, 10000);
  g_assert_cmpint (sqlite3_exec (db, "BEGIN IMMEDIATE", NULL, NULL, NULL), ==, SQLITE_OK);
  return db;
}

void
agent_store_unlock (sqlite3 *db)
{
  g_assert_cmpint (sqlite3_exec (db, "ROLLBACK", NULL, NULL, NULL), ==, SQLITE_OK);
  sqlite3_close (db);
}

gchar *
agent_bootstrap_runtime (CwClient *client, const gchar *id)
{
  g_autoptr (JsonNode) boot = agent_call (client, "agent_get_bootstrap_state", NULL);
  JsonObject *runtime = json_object_get_object_member (
      json_object_get_object_member (json_node_get_object (boot), "runtime"), id);
  g_autoptr (JsonNode) node = json_node_new (JSON_NODE_OBJECT);

  g_assert_nonnull (runtime);
  json_object_remove_member (runtime, "updatedAt");
  json_node_set_object (node, runtime);
  return cw_json_to_string (node);
}
