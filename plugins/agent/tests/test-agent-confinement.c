/* test-agent-confinement.c: what a model-driven tool can reach, attacked through the real
 * daemon with the fake LLM: symlinks out of the working directory, trusted and read-only
 * commands with options that write or read elsewhere, the Landlock sandbox, and commands
 * that try to outlive their turn or the daemon.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-agent-test.h"

#include <errno.h>
#include <signal.h>
#include <unistd.h>

/* Waits for @n tool:result events; returns their results by toolCallId. */
static GHashTable *
wait_results (AgentTurn *t, guint n)
{
  GHashTable *results
      = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) json_object_unref);

  for (guint i = 0; i < n; i++)
    {
      g_autoptr (JsonObject) ev = agent_turn_wait (t, "tool:result");
      JsonObject *r = agent_tool_result (ev);
      g_hash_table_insert (results, g_strdup (json_object_get_string_member (r, "toolCallId")),
                           json_object_ref (r));
    }
  return results;
}

static const gchar *
result_text (GHashTable *results, const gchar *id)
{
  JsonObject *r = g_hash_table_lookup (results, id);

  g_assert_nonnull (r);
  if (json_object_get_boolean_member (r, "success"))
    return json_object_get_string_member (r, "result");
  return json_object_get_string_member (r, "error");
}

static void
write_file (const gchar *dir, const gchar *name, const gchar *contents)
{
  g_autofree gchar *path = g_build_filename (dir, name, NULL);

  g_assert_true (g_file_set_contents (path, contents, -1, NULL));
}

static void
symlink_in (const gchar *dir, const gchar *name, const gchar *target)
{
  g_autofree gchar *path = g_build_filename (dir, name, NULL);

  g_assert_cmpint (symlink (target, path), ==, 0);
}

/* ---- 1. symlinks ------------------------------------------------------------------- */

/* A repository shipping notes.txt -> a secret outside: in read_only mode no tool hands the
 * secret to the model, and nothing asks; a link that stays inside still works. */
static void
test_symlinks_read_only (void)
{
  g_autoptr (AgentTurn) t = agent_turn_new (
      "{\"responses\":["
      "{\"events\":["
      "{\"toolCall\":{\"id\":\"grep\",\"name\":\"grep\",\"args\":{\"pattern\":\"TOKEN\"}}},"
      "{\"toolCall\":{\"id\":\"glob\",\"name\":\"glob\",\"args\":{\"pattern\":\"*.txt\"}}},"
      "{\"toolCall\":{\"id\":\"ls\",\"name\":\"ls\",\"args\":{}}},"
      "{\"toolCall\":{\"id\":\"read\",\"name\":\"read_file\",\"args\":{\"path\":\"notes.txt\"}}},"
      "{\"toolCall\":{\"id\":\"grepdir\",\"name\":\"grep\",\"args\":{\"pattern\":\"TOKEN\","
      "\"path\":\"docs\"}}},"
      "{\"toolCall\":{\"id\":\"alias\",\"name\":\"read_file\",\"args\":{\"path\":\"alias.txt\"}}}"
      "],\"stopReason\":\"tool_use\"},"
      "{\"events\":[{\"text\":\"ok\"}],\"stopReason\":\"end_turn\"}]}");
  g_autofree gchar *outside = NULL;
  g_autofree gchar *secret = NULL;
  g_autofree gchar *id = NULL;
  g_autoptr (GHashTable) results = NULL;
  g_autoptr (JsonObject) done = NULL;
  GHashTableIter iter;
  gpointer value;

  if (t == NULL)
    return;
  outside = g_build_filename (t->f->daemon->dir, "home-secrets", NULL);
  g_assert_cmpint (g_mkdir_with_parents (outside, 0700), ==, 0);
  write_file (outside, "secret.txt", "TOKEN=hunter2\n");
  secret = g_build_filename (outside, "secret.txt", NULL);
  write_file (t->f->workdir, "inside.txt", "TOKEN=public\n");
  symlink_in (t->f->workdir, "notes.txt", secret);
  symlink_in (t->f->workdir, "docs", outside);
  symlink_in (t->f->workdir, "alias.txt", "inside.txt");
  agent_turn_call (t, "set_approval_mode", ",\"mode\":\"read_only\"");
  id = agent_turn_send (t, "Look around");
  results = wait_results (t, 6);
  done = agent_turn_wait (t, "stream:done");
  agent_assert_reply_ok (t->sender, id);

  g_hash_table_iter_init (&iter, results);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      g_autoptr (JsonNode) node = json_node_init_object (json_node_alloc (), value);
      g_autofree gchar *text = cw_json_to_string (node);
      g_assert_null (strstr (text, "hunter2"));
    }
  /* grep finds the inside file (directly and through the inside link), not the secret. */
  g_assert_nonnull (strstr (result_text (results, "grep"), "inside.txt:1: TOKEN=public"));
  g_assert_nonnull (strstr (result_text (results, "grep"), "alias.txt:1: TOKEN=public"));
  g_assert_nonnull (strstr (result_text (results, "grep"), "2 symlinks leading outside"));
  g_assert_null (strstr (result_text (results, "glob"), "notes.txt"));
  g_assert_nonnull (strstr (result_text (results, "glob"), "alias.txt"));
  /* ls names the link but does not follow it. */
  g_assert_nonnull (strstr (result_text (results, "ls"), "notes.txt@\n"));
  g_assert_nonnull (strstr (result_text (results, "ls"), "docs@\n"));
  g_assert_cmpstr (result_text (results, "read"), ==, "Permission denied");
  g_assert_cmpstr (result_text (results, "grepdir"), ==, "Permission denied");
  g_assert_nonnull (strstr (result_text (results, "alias"), "TOKEN=public"));
  g_assert_cmpint (agent_find (t->seen, "permission:request", 0), ==, -1);
}

/* In auto mode, reading through such a link asks, and the prompt says where it leads. */
static void
test_symlink_prompt_names_target (void)
{
  g_autoptr (AgentTurn) t = agent_turn_new (
      "{\"responses\":["
      "{\"events\":[{\"toolCall\":{\"id\":\"read\",\"name\":\"read_file\",\"args\":{\"path\":"
      "\"notes.txt\"}}}],\"stopReason\":\"tool_use\"},"
      "{\"events\":[{\"text\":\"ok\"}],\"stopReason\":\"end_turn\"}]}");
  g_autofree gchar *secret = NULL;
  g_autofree gchar *id = NULL;
  g_autoptr (JsonObject) req = NULL;
  g_autoptr (JsonObject) res = NULL;
  g_autoptr (JsonObject) done = NULL;
  g_autoptr (JsonNode) answered = NULL;
  JsonObject *request;

  if (t == NULL)
    return;
  write_file (t->f->daemon->dir, "secret.txt", "TOKEN=hunter2\n");
  secret = g_build_filename (t->f->daemon->dir, "secret.txt", NULL);
  symlink_in (t->f->workdir, "notes.txt", secret);
  id = agent_turn_send (t, "Read the notes");
  req = agent_turn_wait (t, "permission:request");
  request = json_object_get_object_member (agent_event_data (req), "request");
  g_assert_nonnull (strstr (json_object_get_string_member (request, "reason"), secret));
  answered = agent_call (t->f->client, "respond_permission",
                         "{\"permissionId\":\"%s\",\"decision\":\"deny\"}",
                         json_object_get_string_member (request, "id"));
  res = agent_turn_wait (t, "tool:result");
  g_assert_cmpstr (json_object_get_string_member (agent_tool_result (res), "error"), ==,
                   "Permission denied");
  done = agent_turn_wait (t, "stream:done");
  agent_assert_reply_ok (t->sender, id);
}

static void
set_trusted (AgentTurn *t, const gchar *json_list)
{
  g_autoptr (JsonNode) res
      = agent_call (t->f->client, "set_runtime_config",
                    "{\"config\":{\"sandbox\":{\"trustedCommands\":%s}}}", json_list);
}

/* Answers a permission:request (which must be for @command) with @decision. */
static void
answer_prompt (AgentTurn *t, const gchar *command, const gchar *decision)
{
  g_autoptr (JsonObject) req = agent_turn_wait (t, "permission:request");
  JsonObject *request = json_object_get_object_member (agent_event_data (req), "request");
  g_autoptr (JsonNode) res = NULL;

  g_assert_cmpstr (json_object_get_string_member (request, "command"), ==, command);
  res = agent_call (t->f->client, "respond_permission",
                    "{\"permissionId\":\"%s\",\"decision\":\"%s\"}",
                    json_object_get_string_member (request, "id"), decision);
}

static gchar *
execute_call (const gchar *id, const gchar *command)
{
  g_autoptr (JsonNode) node = json_node_new (JSON_NODE_VALUE);

  json_node_set_string (node, command);
  {
    g_autofree gchar *quoted = cw_json_to_string (node);
    return g_strdup_printf ("{\"toolCall\":{\"id\":\"%s\",\"name\":\"execute\",\"args\":"
                            "{\"command\":%s}}}",
                            id, quoted);
  }
}

/* A script: one round with @calls (NULL-terminated "id", "command" pairs), then "ok". */
static gchar *
execute_script (const gchar *const *calls)
{
  g_autoptr (GString) s = g_string_new ("{\"responses\":[{\"events\":[");

  for (guint i = 0; calls[i] != NULL; i += 2)
    {
      g_autofree gchar *call = execute_call (calls[i], calls[i + 1]);
      g_string_append_printf (s, "%s%s", i > 0 ? "," : "", call);
    }
  g_string_append (s, "],\"stopReason\":\"tool_use\"},"
                      "{\"events\":[{\"text\":\"ok\"}],\"stopReason\":\"end_turn\"}]}");
  return g_strdup (s->str);
}

static gboolean
have_git (void)
{
  g_autofree gchar *git = g_find_program_in_path ("git");

  if (git == NULL)
    g_test_skip ("git is not installed");
  return git != NULL;
}

static void
run_in (const gchar *dir, const gchar *command)
{
  g_autofree gchar *out = NULL;
  g_autofree gchar *err = NULL;
  const gchar *argv[] = { "/bin/sh", "-c", command, NULL };
  gint status = 0;

  g_assert_true (g_spawn_sync (dir, (gchar **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err,
                               &status, NULL));
  if (!g_spawn_check_wait_status (status, NULL))
    g_error ("%s failed: %s", command, err);
}

/* ---- 2. trusted and read-only commands on argv ------------------------------------- */

/* auto mode: git diff and sort are trusted, but not with options that write or read outside. */
static void
test_trusted_options_ask (void)
{
  static const gchar *const calls[] = {
    "out",   "git diff --no-index --output=../leak.txt a.txt b.txt",
    "read",  "git diff --no-index /dev/null ../secret.txt",
    "sort",  "sort -o ../sorted.txt a.txt",
    "stat",  "git diff --stat",
    "plain", "sort a.txt",
    NULL,
  };
  g_autofree gchar *script = execute_script (calls);
  g_autoptr (AgentTurn) t = agent_turn_new (script);
  g_autofree gchar *id = NULL;
  g_autofree gchar *leak = NULL, *sorted = NULL;
  g_autoptr (GHashTable) results = NULL;
  g_autoptr (JsonObject) done = NULL;

  if (t == NULL)
    return;
  write_file (t->f->workdir, "a.txt", "b\na\n");
  write_file (t->f->workdir, "b.txt", "c\n");
  write_file (t->f->daemon->dir, "secret.txt", "TOKEN=hunter2\n");
  set_trusted (t, "[\"ls\",\"pwd\",\"git status\",\"git diff\",\"sort\"]");
  id = agent_turn_send (t, "Compare");
  answer_prompt (t, calls[1], "deny");
  answer_prompt (t, calls[3], "deny");
  answer_prompt (t, calls[5], "deny");
  results = wait_results (t, 5);
  done = agent_turn_wait (t, "stream:done");
  agent_assert_reply_ok (t->sender, id);
  g_assert_cmpstr (result_text (results, "out"), ==, "Permission denied");
  g_assert_cmpstr (result_text (results, "read"), ==, "Permission denied");
  g_assert_cmpstr (result_text (results, "sort"), ==, "Permission denied");
  /* The plain forms ran without a prompt. */
  g_assert_nonnull (strstr (result_text (results, "plain"), "a\nb\n"));
  g_assert_nonnull (strstr (result_text (results, "stat"), "Exit code:"));
  g_assert_cmpint (agent_find (t->seen, "permission:request", 0), >=, 0);
  leak = g_build_filename (t->f->daemon->dir, "leak.txt", NULL);
  sorted = g_build_filename (t->f->daemon->dir, "sorted.txt", NULL);
  g_assert_false (g_file_test (leak, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (sorted, G_FILE_TEST_EXISTS));
}

/* plan mode (with full approval): sort -o is not read-only, so it never runs. */
static void
test_plan_mode_sort_output (void)
{
  static const gchar *const calls[] = {
    "sort", "sort -o ../sorted.txt a.txt", "plain", "sort a.txt", NULL,
  };
  g_autofree gchar *script = execute_script (calls);
  g_autoptr (AgentTurn) t = agent_turn_new (script);
  g_autofree gchar *id = NULL;
  g_autofree gchar *sorted = NULL;
  g_autoptr (GHashTable) results = NULL;

  if (t == NULL)
    return;
  write_file (t->f->workdir, "a.txt", "b\na\n");
  agent_turn_call (t, "set_approval_mode", ",\"mode\":\"full\"");
  agent_turn_call (t, "set_execution_mode", ",\"mode\":\"plan\"");
  id = agent_turn_send (t, "Plan");
  results = wait_results (t, 2);
  g_assert_true (g_str_has_prefix (result_text (results, "sort"), "Plan mode blocks"));
  g_assert_nonnull (strstr (result_text (results, "plain"), "a\nb\n"));
  sorted = g_build_filename (t->f->daemon->dir, "sorted.txt", NULL);
  g_assert_false (g_file_test (sorted, G_FILE_TEST_EXISTS));
  g_assert_cmpint (agent_find (t->seen, "permission:request", 0), ==, -1);
}

/* ---- 3. the Landlock sandbox ------------------------------------------------------- */

static JsonObject *
sandbox_health (AgentTurn *t)
{
  g_autoptr (JsonNode) health = agent_call (t->f->client, "daemon_health", NULL);
  JsonArray *plugins = json_object_get_array_member (json_node_get_object (health), "plugins");

  for (guint i = 0; i < json_array_get_length (plugins); i++)
    {
      JsonObject *p = json_array_get_object_element (plugins, i);
      if (g_strcmp0 (json_object_get_string_member (p, "name"), "agent") == 0)
        return json_object_ref (json_object_get_object_member (
            json_object_get_object_member (p, "details"), "commandSandbox"));
    }
  g_error ("no agent plugin in daemon_health");
  return NULL;
}

static const gchar probe_script[] = "echo inside > inside.txt && echo WROTE-INSIDE\n"
                                    "echo x > ../outside.txt && echo WROTE-OUTSIDE\n"
                                    "cat \"$HOME/secret.txt\" && echo READ-HOME\n"
                                    "cat ../app-secret.txt && echo READ-APP-DATA\n"
                                    "head -c 1 /etc/passwd > /dev/null && echo READ-SYSTEM\n"
                                    "kill -0 1 || echo SIGNAL-REFUSED\n"
                                    "echo PROBE-DONE\n";

/* auto mode: a trusted command writes only in the working directory and reads nothing of
 * the home or the daemon's data; system directories stay readable. */
static void
test_trusted_command_confined (void)
{
  static const gchar *const calls[] = { "probe", "sh probe.sh", NULL };
  g_autofree gchar *script = execute_script (calls);
  g_autofree gchar *home = g_dir_make_tmp ("cw-home-XXXXXX", NULL);
  const gchar *env[] = { "HOME", home, NULL };
  g_autoptr (AgentTurn) t = agent_turn_new_with_env (script, env);
  g_autofree gchar *id = NULL;
  g_autofree gchar *outside = NULL;
  g_autoptr (GHashTable) results = NULL;
  g_autoptr (JsonObject) done = NULL;
  g_autoptr (JsonObject) health = NULL;
  const gchar *out;

  if (t == NULL)
    {
      cw_test_rm_rf (home);
      return;
    }
  health = sandbox_health (t);
  if (!json_object_get_boolean_member (health, "available"))
    {
      g_test_skip (json_object_get_string_member (health, "reason"));
      cw_test_rm_rf (home);
      return;
    }
  g_assert_cmpstr (json_object_get_string_member (health, "kind"), ==, "landlock");
  write_file (home, "secret.txt", "HOME-SECRET\n");
  write_file (t->f->daemon->dir, "app-secret.txt", "APP-SECRET\n");
  write_file (t->f->workdir, "probe.sh", probe_script);
  set_trusted (t, "[\"sh probe.sh\"]");
  id = agent_turn_send (t, "Probe");
  results = wait_results (t, 1);
  done = agent_turn_wait (t, "stream:done");
  agent_assert_reply_ok (t->sender, id);
  g_assert_cmpint (agent_find (t->seen, "permission:request", 0), ==, -1);
  out = result_text (results, "probe");
  g_test_message ("probe: %s", out);
  g_assert_nonnull (strstr (out, "PROBE-DONE"));
  g_assert_nonnull (strstr (out, "WROTE-INSIDE"));
  g_assert_nonnull (strstr (out, "READ-SYSTEM"));
  g_assert_nonnull (strstr (out, "SIGNAL-REFUSED"));
  g_assert_null (strstr (out, "WROTE-OUTSIDE"));
  g_assert_null (strstr (out, "READ-HOME"));
  g_assert_null (strstr (out, "HOME-SECRET"));
  g_assert_null (strstr (out, "READ-APP-DATA"));
  g_assert_null (strstr (out, "APP-SECRET"));
  outside = g_build_filename (t->f->daemon->dir, "outside.txt", NULL);
  g_assert_false (g_file_test (outside, G_FILE_TEST_EXISTS));
  cw_test_rm_rf (home);
}

/* plan mode: a read-only command writes nothing at all, even where the repository makes it
 * run a program of its choosing (core.fsmonitor in .git/config). */
static void
test_plan_mode_command_writes_nothing (void)
{
  static const gchar *const calls[] = { "status", "git status", NULL };
  g_autofree gchar *script = execute_script (calls);
  g_autofree gchar *home = g_dir_make_tmp ("cw-home-XXXXXX", NULL);
  const gchar *env[] = { "HOME", home, NULL };
  g_autoptr (AgentTurn) t = NULL;
  g_autofree gchar *id = NULL;
  g_autofree gchar *pwned = NULL, *outside = NULL;
  g_autoptr (GHashTable) results = NULL;
  g_autoptr (JsonObject) health = NULL;
  const gchar *out;

  if (!have_git ())
    {
      cw_test_rm_rf (home);
      return;
    }
  t = agent_turn_new_with_env (script, env);
  if (t == NULL || !json_object_get_boolean_member ((health = sandbox_health (t)), "available"))
    {
      if (t != NULL)
        g_test_skip ("no Landlock");
      cw_test_rm_rf (home);
      return;
    }
  write_file (home, "secret.txt", "HOME-SECRET\n");
  write_file (t->f->workdir, "evil.sh",
              "echo x > pwned.txt && echo WROTE-INSIDE\n"
              "echo x > ../pwned.txt && echo WROTE-OUTSIDE\n"
              "cat \"$HOME/secret.txt\"\n"
              "echo EVIL-RAN >&2\n");
  write_file (t->f->workdir, "a.txt", "one\n");
  run_in (t->f->workdir, "git init -q . && git -c user.email=a@b -c user.name=a add a.txt && "
                         "git -c user.email=a@b -c user.name=a commit -qm a && "
                         "git config core.fsmonitor 'sh evil.sh' && echo two > a.txt");
  agent_turn_call (t, "set_approval_mode", ",\"mode\":\"full\"");
  agent_turn_call (t, "set_execution_mode", ",\"mode\":\"plan\"");
  id = agent_turn_send (t, "Plan");
  results = wait_results (t, 1);
  out = result_text (results, "status");
  g_assert_nonnull (strstr (out, "EVIL-RAN"));
  g_assert_null (strstr (out, "WROTE-INSIDE"));
  g_assert_null (strstr (out, "WROTE-OUTSIDE"));
  g_assert_null (strstr (out, "HOME-SECRET"));
  pwned = g_build_filename (t->f->workdir, "pwned.txt", NULL);
  outside = g_build_filename (t->f->daemon->dir, "pwned.txt", NULL);
  g_assert_false (g_file_test (pwned, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (outside, G_FILE_TEST_EXISTS));
  cw_test_rm_rf (home);
}

/* Without a sandbox, the commands that would have run confined ask instead. */
static void
test_no_sandbox_asks (void)
{
  static const gchar *const calls[] = { "ls", "ls", NULL };
  g_autofree gchar *script = execute_script (calls);
  const gchar *env[] = { "COWORK_AGENT_SANDBOX", "off", NULL };
  g_autoptr (AgentTurn) t = agent_turn_new_with_env (script, env);
  g_autofree gchar *id = NULL;
  g_autoptr (JsonObject) health = NULL;
  g_autoptr (GHashTable) results = NULL;
  g_autoptr (JsonObject) done = NULL;

  if (t == NULL)
    return;
  health = sandbox_health (t);
  g_assert_false (json_object_get_boolean_member (health, "available"));
  g_assert_nonnull (strstr (json_object_get_string_member (health, "reason"), "off"));
  g_assert_cmpstr (json_object_get_string_member (health, "unapprovedCommands"), ==, "ask first");
  write_file (t->f->workdir, "listed.txt", "");
  id = agent_turn_send (t, "List");
  answer_prompt (t, "ls", "allow_once");
  results = wait_results (t, 1);
  done = agent_turn_wait (t, "stream:done");
  agent_assert_reply_ok (t->sender, id);
  g_assert_nonnull (strstr (result_text (results, "ls"), "listed.txt"));
}

/* ---- 4. no command outlives its turn or the daemon --------------------------------- */

static gboolean
process_alive (GPid pid)
{
  g_autofree gchar *path = g_strdup_printf ("/proc/%d/stat", (int) pid);
  g_autofree gchar *text = NULL;
  const gchar *paren;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return FALSE;
  paren = strrchr (text, ')');
  /* A zombie has ended; only its parent has not collected it yet. */
  return paren == NULL || paren[2] != 'Z';
}

/* Waits until @file in @dir holds @n pids, one a line. */
static GArray *
wait_pids (const gchar *dir, const gchar *file, guint n)
{
  g_autofree gchar *path = g_build_filename (dir, file, NULL);
  gint64 deadline = g_get_monotonic_time () + 10 * G_TIME_SPAN_SECOND;
  GArray *pids = g_array_new (FALSE, FALSE, sizeof (GPid));

  for (;;)
    {
      g_autofree gchar *text = NULL;
      g_auto (GStrv) lines = NULL;

      g_array_set_size (pids, 0);
      if (g_file_get_contents (path, &text, NULL, NULL))
        {
          lines = g_strsplit (text, "\n", -1);
          for (guint i = 0; lines[i] != NULL; i++)
            if (*lines[i] != '\0')
              {
                GPid pid = (GPid) g_ascii_strtoll (lines[i], NULL, 10);
                g_array_append_val (pids, pid);
              }
        }
      if (pids->len >= n)
        return pids;
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (10000);
    }
}

static void
assert_all_alive (GArray *pids)
{
  for (guint i = 0; i < pids->len; i++)
    g_assert_true (process_alive (g_array_index (pids, GPid, i)));
}

static void
assert_all_end (GArray *pids)
{
  gint64 deadline = g_get_monotonic_time () + 5 * G_TIME_SPAN_SECOND;

  for (guint i = 0; i < pids->len; i++)
    while (process_alive (g_array_index (pids, GPid, i)))
      {
        g_assert_cmpint (g_get_monotonic_time (), <, deadline);
        g_usleep (10000);
      }
}

/* Starts a setsid and a nohup process in the background, records their pids and the
 * foreground sleep's, then sleeps. */
#define ESCAPING_COMMAND                                                                           \
  "setsid sleep 300 & echo $! >> pids.txt; nohup sleep 300 > /dev/null 2>&1 & echo $! >> "         \
  "pids.txt; sleep 300 & echo $! >> pids.txt; echo $PPID > helper.txt; wait"

/* A command that returns at once while its setsid and nohup children would run on. */
static void
test_turn_end_ends_background_processes (void)
{
  static const gchar *const calls[] = {
    "run",
    "setsid sleep 300 > /dev/null 2>&1 & echo $! >> pids.txt; "
    "nohup sleep 300 > /dev/null 2>&1 & echo $! >> pids.txt; echo started",
    NULL,
  };
  g_autofree gchar *script = execute_script (calls);
  g_autoptr (AgentTurn) t = agent_turn_new (script);
  g_autofree gchar *id = NULL;
  g_autoptr (GArray) pids = NULL;
  g_autoptr (GHashTable) results = NULL;
  g_autoptr (JsonObject) done = NULL;

  if (t == NULL)
    return;
  agent_turn_call (t, "set_approval_mode", ",\"mode\":\"full\"");
  id = agent_turn_send (t, "Run");
  results = wait_results (t, 1);
  g_assert_nonnull (strstr (result_text (results, "run"), "started\nExit code: 0"));
  done = agent_turn_wait (t, "stream:done");
  agent_assert_reply_ok (t->sender, id);
  pids = wait_pids (t->f->workdir, "pids.txt", 2);
  assert_all_end (pids);
}

/* A turn (full mode) running ESCAPING_COMMAND; @pids gets the processes it started. */
static AgentTurn *
turn_running_escapers (GArray **pids)
{
  static const gchar *const calls[] = { "run", ESCAPING_COMMAND, NULL };
  g_autofree gchar *script = execute_script (calls);
  AgentTurn *t = agent_turn_new (script);
  g_autofree gchar *id = NULL;

  if (t == NULL)
    return NULL;
  agent_turn_call (t, "set_approval_mode", ",\"mode\":\"full\"");
  id = agent_turn_send (t, "Run");
  *pids = wait_pids (t->f->workdir, "pids.txt", 3);
  assert_all_alive (*pids);
  g_clear_pointer (&t->sender, cw_client_free);
  return t;
}

/* stop_generation ends the setsid and nohup processes too. */
static void
test_stop_ends_escaped_processes (void)
{
  g_autoptr (GArray) pids = NULL;
  g_autoptr (AgentTurn) t = turn_running_escapers (&pids);
  g_autoptr (GHashTable) results = NULL;
  g_autoptr (JsonObject) done = NULL;

  if (t == NULL)
    return;
  agent_turn_call (t, "stop_generation", "");
  results = wait_results (t, 1);
  done = agent_turn_wait (t, "stream:done");
  assert_all_end (pids);
}

/* kill -9 of the daemon: the command's processes go with it. */
static void
test_daemon_kill_ends_processes (void)
{
  g_autoptr (GArray) pids = NULL;
  g_autoptr (AgentTurn) t = turn_running_escapers (&pids);

  if (t == NULL)
    return;
  agent_fixture_stop (t->f, SIGKILL);
  assert_all_end (pids);
}

/* The daemon and the command's helper both killed at once (nothing could clean up): the
 * next daemon finds what was left running and ends it. */
static void
test_restart_ends_leftovers (void)
{
  g_autoptr (GArray) pids = NULL;
  g_autoptr (AgentTurn) t = turn_running_escapers (&pids);
  g_autoptr (GArray) helper = NULL;
  GPid daemon_pid;

  if (t == NULL)
    return;
  helper = wait_pids (t->f->workdir, "helper.txt", 1);
  daemon_pid = (GPid) g_ascii_strtoll (g_subprocess_get_identifier (t->f->daemon->proc), NULL, 10);
  kill (daemon_pid, SIGSTOP);
  kill (g_array_index (helper, GPid, 0), SIGKILL);
  while (process_alive (g_array_index (helper, GPid, 0)))
    g_usleep (1000);
  agent_fixture_stop (t->f, SIGKILL);
  /* The foreground shell died with its helper; what it started runs on, unowned. */
  assert_all_alive (pids);
  agent_fixture_start (t->f);
  assert_all_end (pids);
}

/* A record whose pid now belongs to another process (its start time differs) spares it. */
static void
test_restart_spares_reused_pid (void)
{
  g_autoptr (AgentFixture) f = agent_fixture_new ();
  g_autoptr (GSubprocess) other = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree gchar *db_file = NULL;
  g_autofree gchar *sql = NULL;
  sqlite3 *db = NULL;
  GPid pid;

  agent_fixture_start (f);
  agent_fixture_stop (f, SIGTERM);
  other = g_subprocess_new (G_SUBPROCESS_FLAGS_NONE, &error, "sleep", "300", NULL);
  g_assert_no_error (error);
  pid = (GPid) g_ascii_strtoll (g_subprocess_get_identifier (other), NULL, 10);
  db_file = g_build_filename (f->daemon->dir, "daemon", "coworkd.db", NULL);
  g_assert_cmpint (sqlite3_open (db_file, &db), ==, SQLITE_OK);
  sql = g_strdup_printf ("INSERT OR REPLACE INTO agent_meta (key, value) VALUES "
                         "('runningCommands', '{\"0123\":{\"pid\":%d,\"startTime\":1}}')",
                         (int) pid);
  g_assert_cmpint (sqlite3_exec (db, sql, NULL, NULL, NULL), ==, SQLITE_OK);
  sqlite3_close (db);
  agent_fixture_start (f);
  g_assert_true (process_alive (pid));
  g_subprocess_force_exit (other);
  g_subprocess_wait (other, NULL, NULL);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cowork/agent/confinement/symlinks-read-only", test_symlinks_read_only);
  g_test_add_func ("/cowork/agent/confinement/symlink-prompt-names-target",
                   test_symlink_prompt_names_target);
  g_test_add_func ("/cowork/agent/confinement/trusted-options-ask", test_trusted_options_ask);
  g_test_add_func ("/cowork/agent/confinement/plan-mode-sort-output", test_plan_mode_sort_output);
  g_test_add_func ("/cowork/agent/confinement/trusted-command-confined",
                   test_trusted_command_confined);
  g_test_add_func ("/cowork/agent/confinement/plan-mode-command-writes-nothing",
                   test_plan_mode_command_writes_nothing);
  g_test_add_func ("/cowork/agent/confinement/no-sandbox-asks", test_no_sandbox_asks);
  g_test_add_func ("/cowork/agent/processes/stop-ends-escaped", test_stop_ends_escaped_processes);
  g_test_add_func ("/cowork/agent/processes/turn-end-ends-background",
                   test_turn_end_ends_background_processes);
  g_test_add_func ("/cowork/agent/processes/daemon-kill-ends-all", test_daemon_kill_ends_processes);
  g_test_add_func ("/cowork/agent/processes/restart-ends-leftovers", test_restart_ends_leftovers);
  g_test_add_func ("/cowork/agent/processes/restart-spares-reused-pid",
                   test_restart_spares_reused_pid);
  return g_test_run ();
}
