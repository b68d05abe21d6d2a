/* test-agent-app.c: the daemon driven the way the desktop app drives it: its host sends
 * every optional field as null, applies the runtime config at every start, re-sends keys
 * before commands and reopens by bootstrap + replay. Each test checks what the app shows.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-agent-test.h"

#include <glib/gstdio.h>
#include <signal.h>
#include <sys/stat.h>

#define SECRET     "sk-app-7f3a9c1e5b2d4f6a8c0e"
#define NO_SESSION "unix:path=/nonexistent/coworkd-test-bus"

static JsonObject *
obj (JsonNode *node)
{
  return json_node_get_object (node);
}

/* Items 1 and 2: on a machine without a Secret Service the provider key the app sends is
 * kept (encrypted, owner-only) and used; the helper keys it sends as null delete nothing. */
static void
test_keys_without_secret_service (void)
{
  g_autoptr (AgentFixture) f = agent_fixture_new ();
  g_autoptr (JsonNode) config = NULL, health = NULL, snapshot = NULL;
  g_autofree gchar *listing = NULL, *secrets_dir = NULL, *key_file = NULL, *auth = NULL;
  const gchar *list_args[] = { "credentials", "list", NULL };
  JsonObject *creds, *keys;
  struct stat st;

  if (g_getenv ("COWORKCTL") == NULL)
    {
      g_test_skip ("COWORKCTL is not set");
      return;
    }
  cw_test_daemon_setenv (f->daemon, "DBUS_SESSION_BUS_ADDRESS", NO_SESSION);
  agent_fixture_start (f);
  if (!agent_fixture_start_llm (
          f, "{\"responses\":[{\"events\":[{\"text\":\"hi\"}],\"stopReason\":\"end_turn\"},"
             "{\"events\":[{\"text\":\"again\"}],\"stopReason\":\"end_turn\"}]}"))
    return;
  config
      = agent_app_runtime_config (f->client, "openai", f->llm_url, "{\"openai\":\"" SECRET "\"}");
  g_assert_false (json_object_has_member (obj (config), "credentialErrors"));

  /* daemon_health and coworkctl say where the key is. */
  health = agent_call (f->client, "daemon_health", NULL);
  creds = json_object_get_object_member (obj (health), "credentials");
  g_assert_cmpstr (json_object_get_string_member (creds, "store"), ==, "encrypted-file");
  g_assert_cmpstr (json_object_get_string_member (creds, "secretService"), ==, "unreachable");
  listing = agent_run_ctl (f, "", list_args);
  g_assert_nonnull (strstr (listing, "provider/openai"));
  g_assert_nonnull (strstr (listing, "encrypted file"));
  /* Helper keys sent as null were never written. */
  g_assert_null (strstr (listing, "helper/"));

  /* Owner-only, and the key is not in clear anywhere under the data dir. */
  secrets_dir = g_build_filename (f->daemon->dir, "secrets", NULL);
  g_assert_cmpint (g_stat (secrets_dir, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0700);
  key_file = g_build_filename (secrets_dir, "provider.openai.secret", NULL);
  g_assert_cmpint (g_stat (key_file, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);

  /* The next start sends the same config (nulls again); the key is still there and used. */
  agent_fixture_stop (f, SIGTERM);
  agent_fixture_start (f);
  g_clear_pointer (&config, json_node_unref);
  config
      = agent_app_runtime_config (f->client, "openai", f->llm_url, "{\"openai\":\"" SECRET "\"}");
  g_clear_pointer (&config, json_node_unref);
  config = agent_app_runtime_config (f->client, "openai", f->llm_url, "{}");
  g_free (agent_fixture_run_turn (f, "openai"));
  auth = agent_fixture_last_authorization (f);
  g_assert_cmpstr (auth, ==, "Bearer " SECRET);
  snapshot = agent_call (f->client, "get_capability_snapshot", NULL);
  keys = json_object_get_object_member (obj (snapshot), "keyStatus");
  g_assert_true (json_object_get_boolean_member (keys, "providerKeyConfigured"));
  g_assert_false (json_object_get_boolean_member (keys, "openaiKeyConfigured"));

  agent_fixture_stop (f, SIGTERM);
  g_assert_cmpint (g_unlink (f->llm_log), ==, 0);
  g_assert_false (agent_tree_contains (f->daemon->dir, SECRET));
}

/* Item 1: a helper key is a credential of its own: setting the OpenAI helper key leaves the
 * OpenAI provider key alone, and "" removes only the helper key. */
static void
test_helper_keys_are_separate (void)
{
  g_autoptr (AgentFixture) f = agent_fixture_new ();
  g_autoptr (JsonNode) res = NULL, snapshot = NULL;
  g_autofree gchar *auth = NULL;
  JsonObject *keys;

  cw_test_daemon_setenv (f->daemon, "DBUS_SESSION_BUS_ADDRESS", NO_SESSION);
  agent_fixture_start (f);
  if (!agent_fixture_start_llm (
          f, "{\"responses\":[{\"events\":[{\"text\":\"hi\"}],\"stopReason\":\"end_turn\"}]}"))
    return;
  res = agent_call (f->client, "set_runtime_config",
                    "{\"config\":{\"activeProvider\":\"openai\","
                    "\"providerBaseUrls\":{\"openai\":\"%s\"},"
                    "\"providerApiKeys\":{\"openai\":\"" SECRET "\"},"
                    "\"openaiApiKey\":\"sk-helper\",\"tavilyApiKey\":\"tv-key\"}}",
                    f->llm_url);
  g_clear_pointer (&res, json_node_unref);
  res = agent_call (f->client, "set_runtime_config",
                    "{\"config\":{\"activeProvider\":\"openai\",\"openaiApiKey\":\"\","
                    "\"tavilyApiKey\":null}}");
  g_clear_pointer (&res, json_node_unref);
  res = agent_call (f->client, "set_stitch_api_key", "{\"apiKey\":\"st-key\"}");
  snapshot = agent_call (f->client, "get_capability_snapshot", NULL);
  keys = json_object_get_object_member (obj (snapshot), "keyStatus");
  g_assert_true (json_object_get_boolean_member (keys, "providerKeyConfigured"));
  g_assert_false (json_object_get_boolean_member (keys, "openaiKeyConfigured"));
  g_assert_true (json_object_get_boolean_member (keys, "tavilyKeyConfigured"));
  g_assert_true (json_object_get_boolean_member (keys, "stitchKeyConfigured"));
  g_free (agent_fixture_run_turn (f, "openai"));
  auth = agent_fixture_last_authorization (f);
  g_assert_cmpstr (auth, ==, "Bearer " SECRET);

  /* The app sends set_stitch_api_key with null when it has none: that clears it. */
  g_clear_pointer (&res, json_node_unref);
  res = agent_call (f->client, "set_stitch_api_key", "{\"apiKey\":null}");
  g_clear_pointer (&snapshot, json_node_unref);
  snapshot = agent_call (f->client, "get_capability_snapshot", NULL);
  keys = json_object_get_object_member (obj (snapshot), "keyStatus");
  g_assert_false (json_object_get_boolean_member (keys, "stitchKeyConfigured"));
}

/* Item 7: a client that repeats agent_get_events_since from the eventCursor it got, and
 * ignores hasMore, sees every event once, in order, up to the last one — from memory and,
 * after a restart, from the store. */
static void
replay_in_pages (AgentFixture *f, gint64 expected_last)
{
  gint64 cursor = 0, next_seq = 0;

  for (guint round = 0; round < 1000; round++)
    {
      g_autoptr (JsonNode) r
          = agent_call (f->client, "agent_get_events_since",
                        "{\"afterSeq\":%" G_GINT64_FORMAT ",\"limit\":3}", cursor);
      JsonArray *events = json_object_get_array_member (obj (r), "events");

      for (guint i = 0; i < json_array_get_length (events); i++)
        {
          gint64 seq
              = json_object_get_int_member (json_array_get_object_element (events, i), "seq");
          if (next_seq != 0)
            g_assert_cmpint (seq, ==, next_seq);
          next_seq = seq + 1;
        }
      if (json_array_get_length (events) == 0)
        {
          g_assert_cmpint (next_seq - 1, ==, expected_last);
          return;
        }
      cursor = json_object_get_int_member (obj (r), "eventCursor");
      g_assert_cmpint (cursor, ==, next_seq - 1);
    }
  g_assert_not_reached ();
}

static void
test_replay_pages_never_skip (void)
{
  g_autoptr (AgentFixture) f = agent_fixture_new ();
  g_autoptr (JsonNode) ready = NULL;
  gint64 last;

  agent_fixture_start (f);
  for (guint i = 0; i < 7; i++)
    {
      g_autoptr (JsonNode) s = agent_call (
          f->client, "create_session",
          "{\"workingDirectory\":\"%s\",\"provider\":\"lmstudio\",\"model\":null,\"title\":null,"
          "\"type\":null,\"executionMode\":null}",
          f->workdir);
    }
  ready = agent_call (f->client, "daemon_ready", NULL);
  last = json_object_get_int_member (obj (ready), "eventCursor");
  g_assert_cmpint (last, >=, 7);
  replay_in_pages (f, last);
  agent_fixture_stop (f, SIGTERM);
  agent_fixture_start (f);
  g_clear_pointer (&ready, json_node_unref);
  ready = agent_call (f->client, "daemon_ready", NULL);
  replay_in_pages (f, json_object_get_int_member (obj (ready), "eventCursor"));
}

static void
assert_before (GPtrArray *seen, const gchar *a, const gchar *b)
{
  gint ia = agent_find (seen, a, 0);

  g_assert_cmpint (ia, >=, 0);
  g_assert_cmpint (agent_find (seen, b, ia + 1), >, ia);
}

static JsonObject *
runtime_of (CwClient *client, const gchar *session, JsonNode **keep)
{
  *keep = agent_call (client, "agent_get_bootstrap_state", NULL);
  return json_object_get_object_member (json_object_get_object_member (obj (*keep), "runtime"),
                                        session);
}

/* Items 3, 4 and 5: a write inside the working directory runs unasked in auto mode; one
 * outside and a command ask, with the contract's fields; an app reopened meanwhile sees the
 * turn busy exactly as the one that stayed open, and then sees it end. */
static void
test_reopen_while_waiting_for_permission (void)
{
  g_autoptr (AgentTurn) t = agent_turn_new (
      "{\"responses\":[{\"events\":[{\"text\":\"Working.\"},"
      "{\"toolCall\":{\"id\":\"w1\",\"name\":\"write_file\",\"args\":{\"path\":\"in.txt\","
      "\"content\":\"in\"}}},"
      "{\"toolCall\":{\"id\":\"w2\",\"name\":\"write_file\",\"args\":{\"path\":\"../out.txt\","
      "\"content\":\"out\"}}},"
      "{\"toolCall\":{\"id\":\"x1\",\"name\":\"execute\",\"args\":{\"command\":\"echo hi\"}}}],"
      "\"stopReason\":\"tool_use\"},"
      "{\"events\":[{\"text\":\"Done.\"}],\"stopReason\":\"end_turn\"}]}");
  g_autoptr (CwClient) reopened = NULL;
  g_autoptr (JsonNode) boot = NULL, replay = NULL, res = NULL, boot2 = NULL;
  g_autoptr (GPtrArray) after = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (JsonObject) done = NULL;
  g_autofree gchar *id = NULL, *in = NULL, *out = NULL, *write_reason = NULL;
  g_autofree gchar *write_perm = NULL, *exec_perm = NULL;
  const gchar *wanted[] = { "permission:request", "tool:result", NULL };
  gboolean wrote_inside = FALSE;
  JsonObject *runtime;
  gint64 cursor;

  if (t == NULL)
    return;
  in = g_build_filename (t->f->workdir, "in.txt", NULL);
  out = g_build_filename (t->f->daemon->dir, "out.txt", NULL);
  id = agent_turn_send (t, "Write the files");
  /* Two requests, and the result of the write that needed none. */
  while (write_perm == NULL || exec_perm == NULL || !wrote_inside)
    {
      g_autoptr (JsonObject) ev = agent_wait_any (t->f->client, wanted, t->session, t->seen);
      JsonObject *req;
      const gchar *type;

      if (g_strcmp0 (json_object_get_string_member (ev, "type"), "tool:result") == 0)
        {
          wrote_inside
              = wrote_inside
                || g_strcmp0 (json_object_get_string_member (agent_event_data (ev), "toolCallId"),
                              "w1")
                       == 0;
          continue;
        }
      req = json_object_get_object_member (agent_event_data (ev), "request");
      type = json_object_get_string_member (req, "type");

      g_assert_cmpstr (json_object_get_string_member (req, "riskLevel"), ==, "medium");
      if (g_strcmp0 (type, "file_write") == 0)
        {
          g_assert_cmpstr (json_object_get_string_member (req, "resource"), ==, out);
          write_reason = g_strdup_printf ("Write file data: %s", out);
          g_assert_cmpstr (json_object_get_string_member (req, "reason"), ==, write_reason);
          g_assert_cmpstr (json_object_get_string_member (req, "policyAction"), ==, "allow");
          g_assert_cmpstr (json_object_get_string_member (req, "policyReason"), ==,
                           "Tool \"write_file\" allowed by profile \"coding\"");
          g_assert_cmpstr (json_object_get_string_member (req, "policyReasonCode"), ==,
                           "profile_allow");
          write_perm = g_strdup (json_object_get_string_member (req, "id"));
        }
      else
        {
          g_assert_cmpstr (type, ==, "shell_execute");
          g_assert_cmpstr (json_object_get_string_member (req, "reason"), ==,
                           "Execute command: echo hi");
          g_assert_cmpstr (json_object_get_string_member (req, "policyAction"), ==, "ask");
          g_assert_cmpstr (json_object_get_string_member (req, "policyReasonCode"), ==,
                           "default_ask");
          exec_perm = g_strdup (json_object_get_string_member (req, "id"));
        }
    }
  g_assert_nonnull (write_perm);
  g_assert_nonnull (exec_perm);
  /* The write inside the working directory did not wait for anyone. */
  g_assert_true (g_file_test (in, G_FILE_TEST_EXISTS));

  /* The app is closed and opened again: bootstrap, then replay from its cursor. */
  reopened = cw_test_daemon_connect (t->f->daemon);
  runtime = runtime_of (reopened, t->session, &boot);
  cursor = json_object_get_int_member (obj (boot), "eventCursor");
  g_assert_cmpstr (json_object_get_string_member (runtime, "runState"), ==, "waiting_permission");
  g_assert_true (json_object_get_boolean_member (runtime, "isStreaming"));
  /* No thinking came first: the original's isThinking stays set until stream:done. */
  g_assert_true (json_object_get_boolean_member (runtime, "isThinking"));
  g_assert_cmpuint (
      json_array_get_length (json_object_get_array_member (runtime, "pendingPermissions")), ==, 2);
  replay = agent_call (reopened, "agent_get_events_since",
                       "{\"afterSeq\":%" G_GINT64_FORMAT ",\"limit\":4000}", cursor);

  res = agent_call (reopened, "respond_permission",
                    "{\"permissionId\":\"%s\",\"decision\":\"allow_once\"}", write_perm);
  g_clear_pointer (&res, json_node_unref);
  res = agent_call (reopened, "respond_permission",
                    "{\"permissionId\":\"%s\",\"decision\":\"deny\"}", exec_perm);
  done = agent_wait_event (reopened, "stream:done", t->session, after);
  agent_assert_reply_ok (t->sender, id);
  /* The rest of the turn streamed without a new stream:start: the reopened app knew it
   * was busy from the bootstrap state alone. */
  g_assert_cmpint (agent_find (after, "stream:start", 0), ==, -1);
  g_assert_true (g_file_test (out, G_FILE_TEST_EXISTS));
  runtime = runtime_of (reopened, t->session, &boot2);
  g_assert_false (json_object_get_boolean_member (runtime, "isStreaming"));
  g_assert_false (json_object_get_boolean_member (runtime, "isThinking"));
  g_assert_cmpstr (json_object_get_string_member (runtime, "runState"), ==, "completed");
}

#define PLAN_TEXT "1. Step one\n2. Step two"

/* Item 6: the plan-approval question and the message that follows its acceptance, as the
 * original wrote them (shared/fixtures/original, session sess_zSI4Y__EB_MZzj7k). */
static void
test_plan_approval (void)
{
  g_autoptr (AgentTurn) t = agent_turn_new (
      "{\"responses\":[{\"events\":[{\"text\":\"Here is the plan.\\n<proposed_plan>\\n"
      "1. Step one\\n2. Step two\\n</proposed_plan>\"}],\"stopReason\":\"end_turn\"},"
      "{\"events\":[{\"text\":\"Plan executed.\"}],\"stopReason\":\"end_turn\"}]}");
  g_autoptr (JsonObject) ask = NULL, done = NULL, item = NULL;
  g_autoptr (JsonNode) res = NULL, info = NULL;
  g_autofree gchar *id = NULL, *first_turn = NULL;
  JsonObject *request, *accept, *reject, *user;
  JsonArray *options;

  if (t == NULL)
    return;
  res = agent_call (t->f->client, "set_execution_mode", "{\"sessionId\":\"%s\",\"mode\":\"plan\"}",
                    t->session);
  id = agent_turn_send (t, "make a plan please for the release checklist");
  item = agent_turn_wait (t, "chat:item");
  first_turn = g_strdup (json_object_get_string_member (
      json_object_get_object_member (agent_event_data (item), "item"), "turnId"));
  ask = agent_turn_wait (t, "question:ask");
  request = json_object_get_object_member (agent_event_data (ask), "request");
  g_assert_cmpstr (json_object_get_string_member (request, "question"), ==,
                   "Review the proposed plan. Accept to execute now, or reject to request a "
                   "revised plan.");
  g_assert_cmpstr (json_object_get_string_member (request, "header"), ==, "Plan Approval");
  g_assert_true (json_object_has_member (request, "multiSelect"));
  g_assert_false (json_object_get_boolean_member (request, "multiSelect"));
  options = json_object_get_array_member (request, "options");
  g_assert_cmpuint (json_array_get_length (options), ==, 2);
  accept = json_array_get_object_element (options, 0);
  reject = json_array_get_object_element (options, 1);
  g_assert_cmpstr (json_object_get_string_member (accept, "label"), ==, "Accept and Execute");
  g_assert_cmpstr (json_object_get_string_member (accept, "value"), ==, "accept_execute");
  g_assert_cmpstr (json_object_get_string_member (accept, "description"), ==,
                   "Switches this session to execute mode and starts implementation immediately.");
  g_assert_cmpstr (json_object_get_string_member (reject, "label"), ==, "Reject and Revise");
  g_assert_cmpstr (json_object_get_string_member (reject, "value"), ==, "reject_revise");
  g_assert_cmpstr (json_object_get_string_member (reject, "description"), ==,
                   "Keeps plan mode and asks for a revised plan. You can also provide custom "
                   "feedback.");

  g_clear_pointer (&res, json_node_unref);
  res = agent_call (t->f->client, "respond_question",
                    "{\"questionId\":\"%s\",\"answer\":\"accept_execute\"}",
                    json_object_get_string_member (request, "id"));
  /* The follow-up is a turn of its own with the plan and the write_todos instruction. */
  for (;;)
    {
      JsonObject *it;
      g_clear_pointer (&item, json_object_unref);
      item = agent_turn_wait (t, "chat:item");
      it = json_object_get_object_member (agent_event_data (item), "item");
      if (g_strcmp0 (json_object_get_string_member (it, "kind"), "user_message") == 0)
        break;
    }
  user = json_object_get_object_member (agent_event_data (item), "item");
  g_assert_cmpstr (json_object_get_string_member (user, "content"), ==,
                   "Approved plan:\n\n" PLAN_TEXT
                   "\n\nImplement this plan now. Start by calling write_todos with a detailed "
                   "step list, then execute and keep todo statuses continuously updated as "
                   "each step completes.");
  g_assert_cmpstr (json_object_get_string_member (user, "turnId"), !=, first_turn);
  done = agent_turn_wait (t, "stream:done");
  agent_assert_reply_ok (t->sender, id);
  info = agent_call (t->f->client, "get_session", "{\"sessionId\":\"%s\"}", t->session);
  g_assert_cmpstr (json_object_get_string_member (obj (info), "executionMode"), ==, "execute");
}

/* Item 9: the context meter has its numbers from create_session on, and every turn sends
 * its task list (task:set) before stream:done, as the original. */
static void
test_context_and_tasks_from_the_start (void)
{
  g_autoptr (AgentFixture) f = agent_fixture_new ();
  g_autoptr (GPtrArray) seen = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (JsonNode) session = NULL, models = NULL;
  g_autoptr (JsonObject) update = NULL, usage = NULL;
  g_autoptr (CwClient) sender = NULL;
  const gchar *sid;

  agent_fixture_start (f);
  if (!agent_fixture_start_llm (
          f, "{\"responses\":[{\"events\":[{\"text\":\"one\"}],\"stopReason\":\"end_turn\"},"
             "{\"events\":[{\"text\":\"two\"}],\"stopReason\":\"end_turn\"}]}"))
    return;
  models = agent_call (f->client, "set_models",
                       "{\"models\":[{\"id\":\"local-model\",\"provider\":\"lmstudio\","
                       "\"inputTokenLimit\":32768}]}");
  session = agent_call (f->client, "create_session",
                        "{\"workingDirectory\":\"%s\",\"provider\":\"lmstudio\",\"model\":null,"
                        "\"title\":null,\"type\":null,\"executionMode\":null}",
                        f->workdir);
  sid = json_object_get_string_member (obj (session), "id");
  update = agent_wait_event (f->client, "context:update", sid, NULL);
  g_assert_cmpint (json_object_get_int_member (agent_event_data (update), "used"), ==, 0);
  g_assert_cmpint (json_object_get_int_member (agent_event_data (update), "total"), ==, 32768);
  usage = agent_wait_event (f->client, "context:usage", sid, NULL);
  g_assert_cmpint (json_object_get_int_member (agent_event_data (usage), "maxTokens"), ==, 32768);
  g_assert_cmpfloat (json_object_get_double_member (agent_event_data (usage), "percentUsed"), ==,
                     0.0);

  sender = cw_test_daemon_connect (f->daemon);
  for (guint turn = 0; turn < 2; turn++)
    {
      g_autofree gchar *id
          = agent_send (sender, "send_message",
                        "{\"sessionId\":\"%s\",\"content\":\"go\",\"attachments\":null}", sid);
      g_autoptr (JsonObject) task_set = NULL, done = NULL;
      guint from = seen->len;

      task_set = agent_wait_event (f->client, "task:set", sid, seen);
      g_assert_cmpuint (json_array_get_length (
                            json_object_get_array_member (agent_event_data (task_set), "tasks")),
                        ==, 0);
      done = agent_wait_event (f->client, "stream:done", sid, seen);
      agent_assert_reply_ok (sender, id);
      g_assert_cmpint (agent_find (seen, "stream:start", from), >=, 0);
      assert_before (seen, "task:set", "stream:done");
    }
}

/* Item 8: what the app sends before its commands at every start is known: the Stitch key is
 * kept as a credential, and skills reach the model in the system prompt, as the original's
 * SKILL.md loading puts them there, also after a restart. */
static void
test_skills_reach_the_model (void)
{
  g_autoptr (AgentFixture) f = agent_fixture_new ();
  g_autoptr (JsonNode) res = NULL, preview = NULL;
  g_autoptr (GPtrArray) requests = NULL;
  g_autofree gchar *skill_dir = NULL, *skill_md = NULL, *bad = NULL, *sid = NULL;
  JsonObject *system;
  const gchar *prompt;

  cw_test_daemon_setenv (f->daemon, "DBUS_SESSION_BUS_ADDRESS", NO_SESSION);
  agent_fixture_start (f);
  if (!agent_fixture_start_llm (
          f, "{\"responses\":[{\"events\":[{\"text\":\"ok\"}],\"stopReason\":\"end_turn\"}]}"))
    return;
  skill_dir = g_build_filename (f->daemon->dir, "skills", "review", NULL);
  g_assert_cmpint (g_mkdir_with_parents (skill_dir, 0700), ==, 0);
  skill_md = g_build_filename (skill_dir, "SKILL.md", NULL);
  g_assert_true (g_file_set_contents (skill_md, "Review every diff twice. MARKER-42\n", -1, NULL));

  res = agent_call (f->client, "set_stitch_api_key", "{\"apiKey\":\"st-123\"}");
  g_clear_pointer (&res, json_node_unref);
  res = agent_call (f->client, "set_skills",
                    "{\"skills\":[{\"id\":\"review\",\"name\":\"Code review\",\"path\":\"%s\","
                    "\"description\":null,\"enabled\":null},"
                    "{\"id\":\"off\",\"name\":\"Switched off\",\"path\":\"/nowhere\","
                    "\"enabled\":false},"
                    "{\"id\":\"gone\",\"name\":\"Gone\",\"path\":\"missing-skill\"}]}",
                    skill_dir);
  bad = agent_call_error (f->client, "set_skills", "{\"skills\":null}");
  g_assert_cmpstr (bad, ==, "skills are required");
  g_clear_pointer (&bad, g_free);
  bad = agent_call_error (f->client, "set_skills", "{\"skills\":[{\"id\":\"x\",\"name\":\"X\"}]}");
  g_assert_cmpstr (bad, ==, "skills[0].path is required");
  g_free (agent_fixture_run_turn (f, "lmstudio"));
  requests = agent_fixture_llm_requests (f);
  system = json_array_get_object_element (
      json_object_get_array_member (
          json_object_get_object_member (g_ptr_array_index (requests, 0), "body"), "messages"),
      0);
  g_assert_cmpstr (json_object_get_string_member (system, "role"), ==, "system");
  prompt = json_object_get_string_member (system, "content");
  g_assert_nonnull (
      strstr (prompt, "## Skills\n### Code review\nReview every diff twice. MARKER-42\n"));
  g_assert_nonnull (strstr (prompt, "### Gone\n[Missing skill file: missing-skill]"));
  g_assert_null (strstr (prompt, "Switched off"));

  /* Kept across a restart. */
  agent_fixture_stop (f, SIGTERM);
  agent_fixture_start (f);
  {
    g_autoptr (JsonNode) list = agent_call (f->client, "list_sessions", NULL);
    sid = g_strdup (json_object_get_string_member (
        json_array_get_object_element (json_node_get_array (list), 0), "id"));
  }
  preview = agent_call (f->client, "debug_preview_system_prompt", "{\"sessionId\":\"%s\"}", sid);
  g_assert_nonnull (strstr (json_object_get_string_member (obj (preview), "prompt"), "MARKER-42"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cowork/agent/app/keys-without-secret-service",
                   test_keys_without_secret_service);
  g_test_add_func ("/cowork/agent/app/helper-keys-are-separate", test_helper_keys_are_separate);
  g_test_add_func ("/cowork/agent/app/replay-pages-never-skip", test_replay_pages_never_skip);
  g_test_add_func ("/cowork/agent/app/reopen-while-waiting-for-permission",
                   test_reopen_while_waiting_for_permission);
  g_test_add_func ("/cowork/agent/app/plan-approval", test_plan_approval);
  g_test_add_func ("/cowork/agent/app/skills-reach-the-model", test_skills_reach_the_model);
  g_test_add_func ("/cowork/agent/app/context-and-tasks-from-the-start",
                   test_context_and_tasks_from_the_start);
  return g_test_run ();
}
