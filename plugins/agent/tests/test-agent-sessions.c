/* test-agent-sessions.c: session commands of the agent plugin through the real daemon, and
 * what of them survives a restart.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-agent-test.h"

#include <glib/gstdio.h>
#include <signal.h>

static JsonObject *
obj (JsonNode *node)
{
  g_assert_true (JSON_NODE_HOLDS_OBJECT (node));
  return json_node_get_object (node);
}

static void
test_create_and_get (void)
{
  g_autoptr (AgentFixture) f = agent_fixture_new ();
  g_autoptr (JsonNode) created = NULL;
  g_autoptr (JsonNode) got = NULL;
  g_autoptr (JsonObject) ev = NULL;
  g_autofree gchar *msg = NULL;
  g_autofree gchar *expected = NULL;
  JsonObject *info, *details, *runtime;
  const gchar *id;

  agent_fixture_start (f);
  created = agent_call (f->client, "create_session",
                        "{\"workingDirectory\":\"%s\",\"provider\":\"lmstudio\",\"title\":null}",
                        f->workdir);
  info = obj (created);
  id = json_object_get_string_member (info, "id");
  g_assert_true (g_str_has_prefix (id, "sess_"));
  g_assert_cmpuint (strlen (id), ==, 5 + 16);
  g_assert_cmpstr (json_object_get_string_member (info, "type"), ==, "main");
  g_assert_cmpstr (json_object_get_string_member (info, "provider"), ==, "lmstudio");
  g_assert_cmpstr (json_object_get_string_member (info, "executionMode"), ==, "execute");
  g_assert_cmpstr (json_object_get_string_member (info, "model"), ==, "local-model");
  g_assert_cmpstr (json_object_get_string_member (info, "workingDirectory"), ==, f->workdir);
  g_assert_true (json_object_get_null_member (info, "title"));
  g_assert_cmpint (json_object_get_int_member (info, "messageCount"), ==, 0);

  /* session:updated is global (sessionId null) and carries the session. */
  ev = agent_wait_event (f->client, "session:updated", NULL, NULL);
  g_assert_true (json_object_get_null_member (ev, "sessionId"));
  g_assert_cmpstr (json_object_get_string_member (
                       json_object_get_object_member (agent_event_data (ev), "session"), "id"),
                   ==, id);

  got = agent_call (f->client, "get_session", "{\"sessionId\":\"%s\"}", id);
  details = obj (got);
  g_assert_cmpstr (json_object_get_string_member (details, "id"), ==, id);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (details, "chatItems")), ==,
                    0);
  g_assert_false (json_object_get_boolean_member (details, "hasMoreHistory"));
  runtime = json_object_get_object_member (details, "runtime");
  g_assert_cmpint (json_object_get_int_member (runtime, "version"), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (runtime, "runState"), ==, "idle");

  msg = agent_call_error (f->client, "get_session", "{}");
  g_assert_cmpstr (msg, ==, "sessionId is required");
  g_free (msg);
  msg = agent_call_error (f->client, "get_session", "{\"sessionId\":\"sess_nope\"}");
  g_assert_cmpstr (msg, ==, "Session not found: sess_nope");
  g_free (msg);
  msg = agent_call_error (f->client, "create_session", "{\"provider\":\"lmstudio\"}");
  g_assert_cmpstr (msg, ==, "workingDirectory is required");
  g_free (msg);
  /* Providers that need a key refuse without one (no key is stored in a fresh dir). */
  msg = agent_call_error (f->client, "create_session",
                          "{\"workingDirectory\":\"%s\",\"provider\":\"openai\"}", f->workdir);
  g_assert_cmpstr (msg, ==, "Provider \"openai\" not initialized. Set API key first.");
  g_free (msg);
  expected = g_strdup_printf ("Working directory does not exist: %s/missing", f->workdir);
  msg = agent_call_error (f->client, "create_session",
                          "{\"workingDirectory\":\"%s/missing\",\"provider\":\"lmstudio\"}",
                          f->workdir);
  g_assert_cmpstr (msg, ==, expected);
}

static void
test_list_update_delete (void)
{
  g_autoptr (AgentFixture) f = agent_fixture_new ();
  g_autofree gchar *a = NULL, *b = NULL, *c = NULL, *msg = NULL;
  g_autoptr (JsonNode) list = NULL;
  g_autoptr (JsonNode) page = NULL;
  g_autoptr (JsonNode) del = NULL;
  g_autoptr (JsonNode) res = NULL;
  g_autoptr (JsonObject) ev = NULL;
  JsonArray *arr;
  JsonObject *p;

  agent_fixture_start (f);
  a = agent_fixture_create_session (f);
  g_usleep (2000);
  b = agent_fixture_create_session (f);
  g_usleep (2000);
  c = agent_fixture_create_session (f);

  /* Newest update first. */
  list = agent_call (f->client, "list_sessions", NULL);
  arr = json_node_get_array (list);
  g_assert_cmpuint (json_array_get_length (arr), ==, 3);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (arr, 0), "id"), ==,
                   c);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (arr, 2), "id"), ==,
                   a);

  g_usleep (2000);
  res = agent_call (f->client, "update_session_title",
                    "{\"sessionId\":\"%s\",\"title\":\"Fix the Parser\"}", a);
  g_assert_true (json_object_get_boolean_member (obj (res), "success"));
  do
    {
      g_clear_pointer (&ev, json_object_unref);
      ev = agent_wait_event (f->client, "session:updated", NULL, NULL);
    }
  while (g_strcmp0 (json_object_get_string_member_with_default (agent_event_data (ev), "title", ""),
                    "Fix the Parser")
         != 0);
  msg = agent_call_error (f->client, "update_session_title",
                          "{\"sessionId\":\"%s\",\"title\":\"\"}", a);
  g_assert_cmpstr (msg, ==, "title is required");

  page = agent_call (f->client, "list_sessions_page", "{\"limit\":2,\"query\":\"parser\"}");
  p = obj (page);
  g_assert_cmpint (json_object_get_int_member (p, "total"), ==, 1);
  g_assert_false (json_object_get_boolean_member (p, "hasMore"));
  g_assert_true (json_object_get_null_member (p, "nextOffset"));
  g_assert_cmpstr (
      json_object_get_string_member (
          json_array_get_object_element (json_object_get_array_member (p, "sessions"), 0), "id"),
      ==, a);
  g_clear_pointer (&page, json_node_unref);
  page = agent_call (f->client, "list_sessions_page", "{\"limit\":2}");
  p = obj (page);
  g_assert_cmpint (json_object_get_int_member (p, "total"), ==, 3);
  g_assert_true (json_object_get_boolean_member (p, "hasMore"));
  g_assert_cmpint (json_object_get_int_member (p, "nextOffset"), ==, 2);
  /* The retitled session was updated last, so it leads now. */
  g_assert_cmpstr (
      json_object_get_string_member (
          json_array_get_object_element (json_object_get_array_member (p, "sessions"), 0), "id"),
      ==, a);

  g_clear_pointer (&msg, g_free);
  msg = agent_call_error (f->client, "set_approval_mode",
                          "{\"sessionId\":\"%s\",\"mode\":\"yolo\"}", a);
  g_assert_cmpstr (msg, ==, "mode must be auto, read_only or full");

  del = agent_call (f->client, "delete_session", "{\"sessionId\":\"%s\"}", b);
  g_assert_true (json_object_get_boolean_member (obj (del), "success"));
  g_clear_pointer (&del, json_node_unref);
  del = agent_call (f->client, "delete_session", "{\"sessionId\":\"%s\"}", b);
  g_assert_false (json_object_get_boolean_member (obj (del), "success"));
  g_clear_pointer (&list, json_node_unref);
  list = agent_call (f->client, "list_sessions", NULL);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (list)), ==, 2);
}

static void
test_persistence (gconstpointer data)
{
  gint signum = GPOINTER_TO_INT (data);
  g_autoptr (AgentFixture) f = agent_fixture_new ();
  g_autofree gchar *a = NULL, *b = NULL;
  g_autoptr (JsonNode) before = NULL;
  g_autoptr (JsonNode) after = NULL;
  g_autoptr (JsonNode) boot = NULL;
  g_autoptr (JsonNode) res = NULL;
  g_autofree gchar *before_text = NULL, *after_text = NULL;
  JsonObject *state, *runtime;

  agent_fixture_start (f);
  a = agent_fixture_create_session (f);
  b = agent_fixture_create_session (f);
  res = agent_call (f->client, "update_session_title", "{\"sessionId\":\"%s\",\"title\":\"kept\"}",
                    b);
  g_clear_pointer (&res, json_node_unref);
  res = agent_call (f->client, "set_execution_mode", "{\"sessionId\":\"%s\",\"mode\":\"plan\"}", a);
  before = agent_call (f->client, "list_sessions", NULL);
  before_text = cw_json_to_string (before);

  agent_fixture_stop (f, signum);
  agent_fixture_start (f);

  after = agent_call (f->client, "list_sessions", NULL);
  after_text = cw_json_to_string (after);
  g_assert_cmpstr (after_text, ==, before_text);

  boot = agent_call (f->client, "agent_get_bootstrap_state", NULL);
  state = obj (boot);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (state, "sessions")), ==,
                    2);
  runtime = json_object_get_object_member (state, "runtime");
  g_assert_cmpstr (
      json_object_get_string_member (json_object_get_object_member (runtime, a), "runState"), ==,
      "idle");
  g_assert_nonnull (json_object_get_object_member (runtime, b));
}

/* set_runtime_config refuses @params with an error containing @needle. */
static void
assert_config_refused (AgentFixture *f, const gchar *params_json, const gchar *needle)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) params = cw_json_from_string (params_json, -1, NULL);
  g_autoptr (JsonNode) result = cw_client_call (f->client, "set_runtime_config", params, &error);

  g_assert_null (result);
  g_assert_nonnull (error);
  if (strstr (error->message, needle) == NULL)
    g_error ("expected '%s' in: %s", needle, error->message);
}

static void
test_config_and_ready (void)
{
  g_autoptr (AgentFixture) f = agent_fixture_new ();
  g_autoptr (JsonNode) ready = NULL;
  g_autoptr (JsonNode) applied = NULL;
  g_autoptr (JsonNode) res = NULL;
  g_autoptr (JsonNode) usage = NULL;
  g_autofree gchar *id = NULL;
  g_autofree gchar *db = NULL;
  g_autofree gchar *contents = NULL;
  g_autofree gchar *log = NULL;
  JsonObject *r;

  cw_test_daemon_log_to_file (f->daemon);
  agent_fixture_start (f);
  /* Fresh install: google is active and has no key. */
  ready = agent_call (f->client, "is_ready", NULL);
  g_assert_false (json_object_get_boolean_member (obj (ready), "ready"));

  applied = agent_call (f->client, "set_runtime_config",
                        "{\"config\":{\"activeProvider\":\"lmstudio\","
                        "\"providerBaseUrls\":{\"lmstudio\":\"http://127.0.0.1:9\"}}}");
  r = obj (applied);
  g_assert_true (json_object_get_boolean_member (r, "appliedImmediately"));
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (r, "reasons")), ==, 2);
  g_clear_pointer (&ready, json_node_unref);
  ready = agent_call (f->client, "is_ready", NULL);
  g_assert_true (json_object_get_boolean_member (obj (ready), "ready"));

  /* A base URL that is not http(s) or for an unknown provider is refused, naming the field,
   * and changes nothing (openai would need a key: is_ready stays true only with lmstudio). */
  assert_config_refused (f,
                         "{\"config\":{\"activeProvider\":\"openai\","
                         "\"providerBaseUrls\":{\"openai\":\"ftp://example.com/v1\"}}}",
                         "providerBaseUrls.openai: 'ftp://example.com/v1' is not an http:// or "
                         "https:// URL");
  assert_config_refused (f, "{\"config\":{\"providerBaseUrls\":{\"lmstudio\":\"localhost:1234\"}}}",
                         "providerBaseUrls.lmstudio: 'localhost:1234'");
  assert_config_refused (f, "{\"config\":{\"providerBaseUrls\":{\"openia\":\"https://x.test\"}}}",
                         "providerBaseUrls: 'openia' is not a known provider");
  assert_config_refused (f, "{\"config\":{\"activeProvider\":7}}",
                         "activeProvider must be a string");
  g_clear_pointer (&ready, json_node_unref);
  ready = agent_call (f->client, "is_ready", NULL);
  g_assert_true (json_object_get_boolean_member (obj (ready), "ready"));

  /* An unknown activeProvider falls back to google, as contract §5.3 says, with a warning in
   * the log: google has no key here, so is_ready turns false. */
  g_clear_pointer (&applied, json_node_unref);
  applied = agent_call (f->client, "set_runtime_config",
                        "{\"config\":{\"activeProvider\":\"nosuch\","
                        "\"googleApiKey\":null}}");
  g_assert_cmpstr (
      json_array_get_string_element (json_object_get_array_member (obj (applied), "reasons"), 0),
      ==, "provider_changed");
  g_clear_pointer (&ready, json_node_unref);
  ready = agent_call (f->client, "is_ready", NULL);
  g_assert_false (json_object_get_boolean_member (obj (ready), "ready"));
  g_clear_pointer (&res, json_node_unref);
  res = agent_call (f->client, "daemon_health", NULL);
  {
    JsonArray *plugins = json_object_get_array_member (obj (res), "plugins");
    const gchar *active = NULL;
    for (guint i = 0; i < json_array_get_length (plugins); i++)
      {
        JsonObject *p = json_array_get_object_element (plugins, i);
        if (g_strcmp0 (json_object_get_string_member (p, "name"), "agent") == 0)
          active = json_object_get_string_member (json_object_get_object_member (p, "details"),
                                                  "activeProvider");
      }
    g_assert_cmpstr (active, ==, "google");
  }
  g_assert_true (g_file_get_contents (f->daemon->log_file, &log, NULL, NULL));
  g_assert_nonnull (strstr (log, "activeProvider 'nosuch' is not a known provider: using google"));
  g_clear_pointer (&applied, json_node_unref);
  applied = agent_call (f->client, "set_runtime_config",
                        "{\"config\":{\"activeProvider\":\"lmstudio\"}}");

  g_clear_pointer (&res, json_node_unref);
  res = agent_call (f->client, "set_models",
                    "{\"models\":[{\"id\":\"qwen-local\",\"provider\":\"lmstudio\","
                    "\"inputTokenLimit\":32768}]}");
  g_clear_pointer (&res, json_node_unref);
  res = agent_call (f->client, "create_session", "{\"workingDirectory\":\"%s\"}", f->workdir);
  /* The active provider and the catalog's first model are the defaults. */
  g_assert_cmpstr (json_object_get_string_member (obj (res), "provider"), ==, "lmstudio");
  g_assert_cmpstr (json_object_get_string_member (obj (res), "model"), ==, "qwen-local");
  id = g_strdup (json_object_get_string_member (obj (res), "id"));
  usage = agent_call (f->client, "get_context_usage", "{\"sessionId\":\"%s\"}", id);
  g_assert_cmpint (json_object_get_int_member (obj (usage), "total"), ==, 32768);
  g_assert_cmpint (json_object_get_int_member (obj (usage), "used"), ==, 0);

  /* set_api_key stores the Google key (where a keyring exists) and, unlike the original,
   * leaves the active provider alone: new sessions still default to lmstudio. */
  g_clear_pointer (&res, json_node_unref);
  {
    g_autoptr (GError) error = NULL;
    g_autoptr (JsonNode) params
        = cw_json_from_string ("{\"apiKey\":\"sk-secret-marker-123\"}", -1, NULL);
    g_autoptr (JsonNode) result = cw_client_call (f->client, "set_api_key", params, &error);
    (void) result;
  }
  res = agent_call (f->client, "create_session", "{\"workingDirectory\":\"%s\"}", f->workdir);
  g_assert_cmpstr (json_object_get_string_member (obj (res), "provider"), ==, "lmstudio");

  /* A key given in the config never lands in the database. */
  g_clear_pointer (&res, json_node_unref);
  {
    g_autoptr (GError) error = NULL;
    g_autoptr (JsonNode) params
        = cw_json_from_string ("{\"config\":{\"activeProvider\":\"lmstudio\","
                               "\"providerApiKeys\":{\"openai\":\"sk-secret-marker-123\"}}}",
                               -1, NULL);
    g_autoptr (JsonNode) result = cw_client_call (f->client, "set_runtime_config", params, &error);
    (void) result;
  }
  agent_fixture_stop (f, SIGTERM);
  db = g_build_filename (f->daemon->dir, "daemon", NULL);
  {
    g_autoptr (GDir) dir = g_dir_open (db, 0, NULL);
    const gchar *name;
    guint checked = 0;
    /* Every file of the daemon's dir: the database, its WAL, the token, the lock. */
    g_assert_nonnull (dir);
    while ((name = g_dir_read_name (dir)) != NULL)
      {
        g_autofree gchar *path = g_build_filename (db, name, NULL);
        if (g_file_test (path, G_FILE_TEST_IS_REGULAR)
            && g_file_get_contents (path, &contents, NULL, NULL))
          {
            g_assert_null (g_strstr_len (contents, -1, "sk-secret-marker-123"));
            g_clear_pointer (&contents, g_free);
            checked++;
          }
      }
    g_assert_cmpuint (checked, >, 0);
  }
}

static JsonObject *
find_tool (JsonObject *snap, const gchar *name)
{
  JsonArray *tools = json_object_get_array_member (snap, "toolAccess");

  for (guint i = 0; i < json_array_get_length (tools); i++)
    {
      JsonObject *t = json_array_get_object_element (tools, i);
      if (g_strcmp0 (json_object_get_string_member (t, "toolName"), name) == 0)
        return t;
    }
  g_error ("no tool %s in the snapshot", name);
}

static void
test_capabilities (void)
{
  g_autoptr (AgentFixture) f = agent_fixture_new ();
  g_autofree gchar *id = NULL;
  g_autoptr (JsonNode) snap = NULL;
  g_autoptr (JsonNode) res = NULL;
  g_autoptr (JsonNode) prompt = NULL;
  JsonObject *o;

  agent_fixture_start (f);
  id = agent_fixture_create_session (f);
  snap = agent_call (f->client, "get_capability_snapshot", "{\"sessionId\":\"%s\"}", id);
  o = obj (snap);
  g_assert_cmpstr (json_object_get_string_member (o, "provider"), ==, "lmstudio");
  g_assert_true (json_object_get_boolean_member (json_object_get_object_member (o, "keyStatus"),
                                                 "providerKeyConfigured"));
  g_assert_cmpstr (json_object_get_string_member (find_tool (o, "read_file"), "policyAction"), ==,
                   "allow");
  /* auto mode writes inside the working directory without asking, as the original. */
  g_assert_cmpstr (json_object_get_string_member (find_tool (o, "write_file"), "policyAction"), ==,
                   "allow");
  g_assert_cmpstr (json_object_get_string_member (find_tool (o, "delete_file"), "policyAction"), ==,
                   "ask");
  g_assert_cmpstr (json_array_get_string_element (
                       json_object_get_array_member (json_object_get_object_member (o, "sandbox"),
                                                     "effectiveAllowedRoots"),
                       0),
                   ==, f->workdir);

  res = agent_call (f->client, "set_execution_mode", "{\"sessionId\":\"%s\",\"mode\":\"plan\"}",
                    id);
  g_clear_pointer (&snap, json_node_unref);
  snap = agent_call (f->client, "get_capability_snapshot", "{\"sessionId\":\"%s\"}", id);
  o = obj (snap);
  g_assert_false (json_object_get_boolean_member (find_tool (o, "write_file"), "enabled"));
  g_assert_true (json_object_get_boolean_member (find_tool (o, "grep"), "enabled"));

  prompt = agent_call (f->client, "debug_preview_system_prompt", "{\"sessionId\":\"%s\"}", id);
  g_assert_nonnull (strstr (json_object_get_string_member (obj (prompt), "prompt"), f->workdir));
  g_assert_nonnull (strstr (json_object_get_string_member (obj (prompt), "prompt"), "plan mode"));
}

static gchar *
list_text (AgentFixture *f)
{
  g_autoptr (JsonNode) list = agent_call (f->client, "list_sessions", NULL);

  return cw_json_to_string (list);
}

/* What the permission engine does with write_file and which mode it runs in: the approval
 * and execution modes of the session as the capability snapshot shows them. */
static gchar *
modes_text (AgentFixture *f, const gchar *id)
{
  g_autoptr (JsonNode) snap
      = agent_call (f->client, "get_capability_snapshot", "{\"sessionId\":\"%s\"}", id);

  return g_strdup_printf (
      "%s %s", json_object_get_string_member (find_tool (obj (snap), "write_file"), "policyAction"),
      json_object_get_string_member (obj (snap), "executionMode"));
}

static void
assert_unchanged (AgentFixture *f, const gchar *id, const gchar *list, const gchar *runtime,
                  const gchar *modes)
{
  g_autofree gchar *list_now = list_text (f);
  g_autofree gchar *runtime_now = agent_bootstrap_runtime (f->client, id);
  g_autofree gchar *modes_now = modes_text (f, id);

  g_assert_cmpstr (list_now, ==, list);
  g_assert_cmpstr (runtime_now, ==, runtime);
  g_assert_cmpstr (modes_now, ==, modes);
}

/* The error of a command the daemon cannot store: the store's own words. */
static void
assert_not_stored (AgentFixture *f, const gchar *command, const gchar *params_fmt, const gchar *id)
{
  g_autofree gchar *params = g_strdup_printf (params_fmt, id, f->workdir);
  g_autofree gchar *msg = agent_call_error (f->client, command, "%s", params);

  if (strstr (msg, "database is locked") == NULL)
    g_error ("%s: expected a locked database, got: %s", command, msg);
}

/* A commit that fails (another writer holds the database) leaves the session as it was: each
 * command that changes one answers the store's error, and the session in memory, in the
 * bootstrap state and after a restart is the one stored before. */
static void
test_failed_commit (void)
{
  g_autoptr (AgentFixture) f = agent_fixture_new ();
  g_autofree gchar *id = NULL, *sub = NULL;
  g_autofree gchar *list_before = NULL, *runtime_before = NULL, *modes_before = NULL;
  g_autoptr (JsonNode) res = NULL;
  g_autoptr (JsonNode) usage = NULL;
  sqlite3 *lock;

  agent_fixture_start (f);
  id = agent_fixture_create_session (f);
  sub = g_build_filename (f->workdir, "sub", NULL);
  g_assert_cmpint (g_mkdir (sub, 0700), ==, 0);
  res = agent_call (f->client, "update_session_title",
                    "{\"sessionId\":\"%s\",\"title\":\"Before\"}", id);
  list_before = list_text (f);
  runtime_before = agent_bootstrap_runtime (f->client, id);
  modes_before = modes_text (f, id);
  g_assert_cmpstr (modes_before, ==, "allow execute");

  lock = agent_store_lock (f);
  assert_not_stored (f, "update_session_title", "{\"sessionId\":\"%s\",\"title\":\"After\"}", id);
  assert_not_stored (f, "update_session_working_directory",
                     "{\"sessionId\":\"%s\",\"workingDirectory\":\"%s/sub\"}", id);
  assert_not_stored (f, "update_session_last_accessed", "{\"sessionId\":\"%s\"}", id);
  assert_not_stored (f, "set_approval_mode", "{\"sessionId\":\"%s\",\"mode\":\"read_only\"}", id);
  assert_not_stored (f, "set_execution_mode", "{\"sessionId\":\"%s\",\"mode\":\"plan\"}", id);
  /* A session that cannot be stored does not exist, and a catalog that cannot be stored is
   * not used (the session's window stays the built-in 128,000). */
  assert_not_stored (f, "create_session",
                     "{\"workingDirectory\":\"%2$s\",\"provider\":\"lmstudio\",\"title\":%1$s}",
                     "null");
  assert_not_stored (f, "set_models",
                     "{\"models\":[{\"id\":\"local-model\",\"inputTokenLimit\":32768}]%s}", "");
  usage = agent_call (f->client, "get_context_usage", "{\"sessionId\":\"%s\"}", id);
  g_assert_cmpint (json_object_get_int_member (obj (usage), "total"), ==, 128000);

  /* In memory: nothing moved. */
  assert_unchanged (f, id, list_before, runtime_before, modes_before);
  agent_store_unlock (lock);

  /* After a restart: the same, and the next change is stored as usual. */
  agent_fixture_stop (f, SIGKILL);
  agent_fixture_start (f);
  assert_unchanged (f, id, list_before, runtime_before, modes_before);
  g_clear_pointer (&res, json_node_unref);
  res = agent_call (f->client, "update_session_title", "{\"sessionId\":\"%s\",\"title\":\"After\"}",
                    id);
  agent_fixture_stop (f, SIGTERM);
  agent_fixture_start (f);
  {
    g_autoptr (JsonNode) list = agent_call (f->client, "list_sessions", NULL);
    g_assert_cmpstr (json_object_get_string_member (
                         json_array_get_object_element (json_node_get_array (list), 0), "title"),
                     ==, "After");
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cowork/agent/sessions/create-and-get", test_create_and_get);
  g_test_add_func ("/cowork/agent/sessions/list-update-delete", test_list_update_delete);
  g_test_add_data_func ("/cowork/agent/sessions/persist-sigterm", GINT_TO_POINTER (SIGTERM),
                        test_persistence);
  g_test_add_data_func ("/cowork/agent/sessions/persist-sigkill", GINT_TO_POINTER (SIGKILL),
                        test_persistence);
  g_test_add_func ("/cowork/agent/sessions/config-and-ready", test_config_and_ready);
  g_test_add_func ("/cowork/agent/sessions/capabilities", test_capabilities);
  g_test_add_func ("/cowork/agent/sessions/failed-commit", test_failed_commit);
  return g_test_run ();
}
