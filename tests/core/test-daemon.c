/* test-daemon.c: the real coworkd binary over its real socket.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-test-daemon.h"
#include "cw-token-private.h"

#include <glib/gstdio.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

static JsonObject *
obj (JsonNode *node)
{
  g_assert_nonnull (node);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (node));
  return json_node_get_object (node);
}

static void
echo (CwClient *client, const gchar *text)
{
  g_autofree gchar *params = g_strdup_printf ("{\"text\":\"%s\"}", text);
  g_autoptr (JsonNode) r = cw_test_daemon_call (client, "example_echo", params);

  g_assert_cmpstr (json_object_get_string_member (obj (r), "text"), ==, text);
}

/* Waits for the next event of @type on @client. */
static JsonObject *
wait_event (CwClient *client, const gchar *type)
{
  for (;;)
    {
      g_autoptr (GError) error = NULL;
      JsonObject *ev = cw_client_next_event (client, &error);

      g_assert_no_error (error);
      if (g_strcmp0 (json_object_get_string_member (ev, "type"), type) == 0)
        return ev;
      json_object_unref (ev);
    }
}

static void
test_core_commands (void)
{
  g_autoptr (CwTestDaemon) d = cw_test_daemon_new ();
  g_autoptr (CwClient) c = NULL;
  g_autoptr (JsonNode) ping = NULL, ready = NULL, init = NULL, boot = NULL, verify = NULL;
  g_autoptr (JsonNode) status = NULL, health = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) bad = NULL;
  g_autofree gchar *init_params = NULL;

  cw_test_daemon_start (d);
  c = cw_test_daemon_connect (d);

  ping = cw_test_daemon_call (c, "ping", NULL);
  g_assert_true (json_object_get_boolean_member (obj (ping), "pong"));
  g_assert_cmpint (json_object_get_int_member (obj (ping), "timestamp"), >, 1700000000000);

  ready = cw_test_daemon_call (c, "daemon_ready", NULL);
  g_assert_true (json_object_get_boolean_member (obj (ready), "ready"));
  g_assert_true (g_str_has_prefix (json_object_get_string_member (obj (ready), "bootId"), "boot_"));
  g_assert_cmpint (json_object_get_int_member (obj (ready), "eventCursor"), >=, 1);

  init_params = g_strdup_printf ("{\"appDataDir\":\"%s/\"}", d->dir);
  init = cw_test_daemon_call (c, "initialize", init_params);
  g_assert_true (json_object_get_boolean_member (obj (init), "success"));
  g_assert_cmpint (json_object_get_int_member (obj (init), "sessionsRestored"), ==, 0);
  bad = cw_client_call (c, "initialize", NULL, &error);
  g_assert_null (bad);
  g_assert_cmpstr (error->message, ==, "appDataDir is required");
  g_clear_error (&error);
  {
    g_autoptr (JsonNode) p = cw_json_from_string ("{\"appDataDir\":\"/elsewhere\"}", -1, NULL);
    g_assert_null (cw_client_call (c, "initialize", p, &error));
    g_assert_nonnull (strstr (error->message, "does not match"));
    g_clear_error (&error);
  }

  status = cw_test_daemon_call (c, "get_initialization_status", NULL);
  g_assert_true (json_object_get_boolean_member (obj (status), "initialized"));

  boot = cw_test_daemon_call (c, "agent_get_bootstrap_state", NULL);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (obj (boot), "sessions")),
                    ==, 0);
  g_assert_true (json_object_has_member (obj (boot), "runtime"));
  g_assert_cmpstr (json_object_get_string_member (obj (boot), "bootId"), ==,
                   json_object_get_string_member (obj (ready), "bootId"));

  verify = cw_test_daemon_call (c, "verify_persistence", NULL);
  g_assert_true (json_object_get_boolean_member (obj (verify), "healthy"));
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (obj (verify), "issues")),
                    ==, 0);

  health = cw_test_daemon_call (c, "daemon_health", NULL);
  g_assert_cmpstr (json_object_get_string_member (obj (health), "status"), ==, "healthy");
  g_assert_true (json_object_get_boolean_member (obj (health), "initialized"));
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (obj (health), "phases")),
                    >=, 5);

  g_assert_null (cw_client_call (c, "no_such_command", NULL, &error));
  g_assert_cmpstr (error->message, ==, "Unknown command: no_such_command");
}

static void
test_auth (void)
{
  g_autoptr (CwTestDaemon) d = cw_test_daemon_new ();
  g_autoptr (CwClient) c = NULL;
  g_autoptr (JsonObject) r1 = NULL, r2 = NULL, r3 = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree gchar *token = NULL, *good = NULL;

  cw_test_daemon_start (d);
  c = cw_client_connect (d->endpoint, NULL, &error);
  g_assert_no_error (error);
  cw_client_set_timeout (c, 10);

  r1 = cw_test_raw_request (c, "{\"id\":\"a\",\"command\":\"ping\",\"params\":{}}\n");
  g_assert_cmpstr (json_object_get_string_member (r1, "id"), ==, "a");
  g_assert_false (json_object_get_boolean_member (r1, "success"));
  g_assert_cmpstr (json_object_get_string_member (r1, "error"), ==, "Unauthorized");
  r2 = cw_test_raw_request (c, "{\"id\":\"b\",\"command\":\"ping\",\"authToken\":\"0000\"}\n");
  g_assert_cmpstr (json_object_get_string_member (r2, "error"), ==, "Unauthorized");

  /* The connection stays open and works once the token is right. */
  token = cw_test_daemon_read_token (d);
  good = g_strdup_printf ("{\"id\":\"c\",\"command\":\"ping\",\"authToken\":\"%s\"}\n", token);
  r3 = cw_test_raw_request (c, good);
  g_assert_true (json_object_get_boolean_member (r3, "success"));
}

static void
test_no_events_before_auth (void)
{
  g_autoptr (CwTestDaemon) d = cw_test_daemon_new ();
  g_autoptr (CwClient) anon = NULL, authed = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) line = NULL, ev = NULL, mine = NULL;
  g_autoptr (JsonNode) pong = NULL;
  g_autofree gchar *token = NULL;

  cw_test_daemon_start (d);
  anon = cw_client_connect (d->endpoint, NULL, &error);
  g_assert_no_error (error);
  authed = cw_test_daemon_connect (d);
  echo (authed, "secret-event");
  mine = wait_event (authed, "example:echo");

  /* The anonymous connection hears nothing. */
  cw_client_set_timeout (anon, 1);
  line = cw_client_read (anon, &error);
  g_assert_null (line);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
  g_clear_error (&error);

  /* After one authenticated request it gets new events. */
  cw_client_free (g_steal_pointer (&anon));
  token = cw_test_daemon_read_token (d);
  anon = cw_client_connect (d->endpoint, token, &error);
  cw_client_set_timeout (anon, 10);
  pong = cw_test_daemon_call (anon, "ping", NULL);
  echo (authed, "second");
  ev = wait_event (anon, "example:echo");
  g_assert_cmpstr (
      json_object_get_string_member (json_object_get_object_member (ev, "data"), "text"), ==,
      "second");
  g_assert_cmpint (json_object_get_int_member (ev, "seq"), >,
                   json_object_get_int_member (mine, "seq"));
}

static void
test_bad_input (void)
{
  g_autoptr (CwTestDaemon) d = cw_test_daemon_new ();
  g_autoptr (CwClient) c = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree gchar *token = NULL, *typed = NULL;
  g_autoptr (JsonNode) pong = NULL;
  GString *huge;

  cw_test_daemon_start (d);
  c = cw_test_daemon_connect (d);
  {
    g_autoptr (JsonObject) r = cw_test_raw_request (c, "this is not json\n");
    g_assert_cmpstr (json_object_get_string_member (r, "id"), ==, "unknown");
    g_assert_false (json_object_get_boolean_member (r, "success"));
    g_assert_cmpstr (json_object_get_string_member (r, "error"), ==, "Failed to parse request");
  }
  {
    g_autoptr (JsonObject) r = cw_test_raw_request (c, "[1,2,3]\n");
    g_assert_cmpstr (json_object_get_string_member (r, "error"), ==, "Failed to parse request");
  }
  token = cw_test_daemon_read_token (d);
  typed = g_strdup_printf ("{\"id\":\"t\",\"command\":\"agent_get_events_since\","
                           "\"params\":{\"afterSeq\":\"x\"},\"authToken\":\"%s\"}\n\n  \n",
                           token);
  {
    g_autoptr (JsonObject) r = cw_test_raw_request (c, typed);
    g_assert_cmpstr (json_object_get_string_member (r, "error"), ==, "afterSeq must be an integer");
  }
  /* A 17 MiB line: refused, and the connection and daemon carry on. */
  huge = g_string_sized_new (17 * 1024 * 1024 + 64);
  g_string_append (huge, "{\"id\":\"big\",\"command\":\"ping\",\"params\":{\"pad\":\"");
  while (huge->len < 17 * 1024 * 1024)
    g_string_append (huge, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
  g_string_append (huge, "\"}}\n");
  {
    g_autoptr (JsonObject) r = cw_test_raw_request (c, huge->str);
    g_assert_false (json_object_get_boolean_member (r, "success"));
    g_assert_true (
        g_str_has_prefix (json_object_get_string_member (r, "error"), "Request too large"));
  }
  g_string_free (huge, TRUE);
  pong = cw_test_daemon_call (c, "ping", NULL);
  g_assert_true (json_object_get_boolean_member (obj (pong), "pong"));

  /* A client that vanishes mid-request harms nothing. */
  {
    g_autoptr (CwClient) gone = cw_test_daemon_connect (d);
    g_assert_true (cw_client_send_raw (gone, "{\"id\":\"x\",\"command\":\"pi", 24, &error));
  }
  g_clear_pointer (&pong, json_node_unref);
  pong = cw_test_daemon_call (c, "ping", NULL);
  g_assert_nonnull (pong);
}

static gint64
cursor_of (CwClient *c)
{
  g_autoptr (JsonNode) r = cw_test_daemon_call (c, "agent_subscribe_events", NULL);

  return json_object_get_int_member (obj (r), "eventCursor");
}

static gchar *
boot_of (CwClient *c)
{
  g_autoptr (JsonNode) r = cw_test_daemon_call (c, "daemon_ready", NULL);

  return g_strdup (json_object_get_string_member (obj (r), "bootId"));
}

static JsonObject *
events_since (CwClient *c, gint64 after)
{
  g_autofree gchar *p
      = g_strdup_printf ("{\"afterSeq\":%" G_GINT64_FORMAT ",\"limit\":10000}", after);
  JsonNode *r = cw_test_daemon_call (c, "agent_get_events_since", p);
  JsonObject *o = json_object_ref (obj (r));

  json_node_unref (r);
  return o;
}

static gboolean
has_echo (JsonObject *replay, const gchar *text)
{
  JsonArray *events = json_object_get_array_member (replay, "events");

  for (guint i = 0; i < json_array_get_length (events); i++)
    {
      JsonObject *ev = json_array_get_object_element (events, i);
      if (g_strcmp0 (json_object_get_string_member (ev, "type"), "example:echo") == 0
          && g_strcmp0 (
                 json_object_get_string_member (json_object_get_object_member (ev, "data"), "text"),
                 text)
                 == 0)
        return TRUE;
    }
  return FALSE;
}

static void
test_restart_keeps_seq (void)
{
  g_autoptr (CwTestDaemon) d = cw_test_daemon_new ();
  g_autofree gchar *boot1 = NULL, *boot2 = NULL, *token1 = NULL, *token2 = NULL;
  g_autofree gchar *lock = g_build_filename (d->dir, "daemon", "agentd.lock", NULL);
  g_autoptr (JsonObject) replay = NULL;
  gint64 cursor1, seq_after;
  gint status;

  cw_test_daemon_start (d);
  {
    g_autoptr (CwClient) c = cw_test_daemon_connect (d);
    echo (c, "before-restart");
    cursor1 = cursor_of (c);
    boot1 = boot_of (c);
  }
  token1 = cw_test_daemon_read_token (d);
  status = cw_test_daemon_stop (d, SIGTERM);
  g_assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 0);
  /* A clean stop leaves no socket and no lock behind. */
  g_assert_false (g_file_test (d->endpoint, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (lock, G_FILE_TEST_EXISTS));

  cw_test_daemon_start (d);
  {
    g_autoptr (CwClient) c = cw_test_daemon_connect (d);
    boot2 = boot_of (c);
    g_assert_cmpstr (boot1, !=, boot2);
    g_assert_cmpint (cursor_of (c), >, cursor1);
    echo (c, "after-restart");
    seq_after = cursor_of (c);
    g_assert_cmpint (seq_after, >, cursor1);
    replay = events_since (c, 0);
    g_assert_true (has_echo (replay, "before-restart"));
    g_assert_true (has_echo (replay, "after-restart"));
    g_clear_pointer (&replay, json_object_unref);
    /* A cursor from before the restart is still valid: no gap, only newer events. */
    replay = events_since (c, cursor1);
    g_assert_false (json_object_get_boolean_member (replay, "hasGap"));
    g_assert_false (has_echo (replay, "before-restart"));
    g_assert_true (has_echo (replay, "after-restart"));
  }
  /* The token is reused across restarts. */
  token2 = cw_test_daemon_read_token (d);
  g_assert_cmpstr (token1, ==, token2);
}

static void
test_kill9_recovery (void)
{
  g_autoptr (CwTestDaemon) d = cw_test_daemon_new ();
  g_autoptr (JsonObject) replay = NULL;
  gint64 seen_seq;
  gint status;

  cw_test_daemon_start (d);
  {
    g_autoptr (CwClient) c = cw_test_daemon_connect (d);
    g_autoptr (JsonObject) ev = NULL;
    echo (c, "committed");
    /* A client only ever sees stored events: this one must survive the crash. */
    ev = wait_event (c, "example:echo");
    seen_seq = json_object_get_int_member (ev, "seq");
  }
  status = cw_test_daemon_stop (d, SIGKILL);
  g_assert_true (WIFSIGNALED (status));
  g_assert_true (g_file_test (d->endpoint, G_FILE_TEST_EXISTS)); /* left behind */

  cw_test_daemon_start (d);
  {
    g_autoptr (CwClient) c = cw_test_daemon_connect (d);
    replay = events_since (c, seen_seq - 1);
    g_assert_true (has_echo (replay, "committed"));
    g_assert_cmpint (cursor_of (c), >, seen_seq);
  }
}

static void
test_second_instance_refused (void)
{
  g_autoptr (CwTestDaemon) d = cw_test_daemon_new ();
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autoptr (GSubprocess) second = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree gchar *err_text = NULL, *expect = NULL;
  g_autofree gchar *dir_arg = NULL;

  cw_test_daemon_start (d);
  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_subprocess_launcher_set_environ (launcher, d->env);
  second = g_subprocess_launcher_spawn (launcher, &error, g_getenv ("COWORKD"), "--app-data-dir",
                                        d->dir, "--no-system-plugins", NULL);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (second, NULL, NULL, NULL, &err_text, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_subprocess_get_exit_status (second), ==, 1);
  expect = g_strdup_printf ("already running (pid %s)", g_subprocess_get_identifier (d->proc));
  g_assert_nonnull (strstr (err_text, expect));
  /* The first one is unharmed. */
  {
    g_autoptr (CwClient) c = cw_test_daemon_connect (d);
    g_autoptr (JsonNode) pong = cw_test_daemon_call (c, "ping", NULL);
    g_assert_nonnull (pong);
  }
}

static JsonObject *
find_plugin (JsonArray *plugins, const gchar *name)
{
  for (guint i = 0; i < json_array_get_length (plugins); i++)
    {
      JsonObject *p = json_array_get_object_element (plugins, i);
      if (g_strcmp0 (json_object_get_string_member (p, "name"), name) == 0)
        return p;
    }
  g_error ("plugin %s not in daemon_health", name);
  return NULL;
}

static void
test_plugin_failures (void)
{
  g_autoptr (CwTestDaemon) d = cw_test_daemon_new ();
  g_autoptr (CwClient) c = NULL;
  g_autoptr (JsonNode) health = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree gchar *broken_dir = g_test_build_filename (G_TEST_BUILT, "core", "plugins", NULL);
  JsonArray *plugins;
  JsonObject *p;

  cw_test_daemon_add_arg (d, "--plugin-dir");
  cw_test_daemon_add_arg (d, broken_dir);
  cw_test_daemon_start (d);
  c = cw_test_daemon_connect (d);
  health = cw_test_daemon_call (c, "daemon_health", NULL);
  g_assert_true (json_object_get_boolean_member (obj (health), "degraded"));
  plugins = json_object_get_array_member (obj (health), "plugins");

  p = find_plugin (plugins, "example");
  g_assert_cmpstr (json_object_get_string_member (p, "state"), ==, "running");
  p = find_plugin (plugins, "broken");
  g_assert_cmpstr (json_object_get_string_member (p, "state"), ==, "disabled");
  g_assert_cmpstr (json_object_get_string_member (p, "error"), ==,
                   "broken: cannot reach the frobnicator");
  p = find_plugin (plugins, "dupe");
  g_assert_cmpstr (json_object_get_string_member (p, "state"), ==, "disabled");
  g_assert_nonnull (strstr (json_object_get_string_member (p, "error"), "already registered"));
  p = find_plugin (plugins, "silent");
  g_assert_nonnull (
      strstr (json_object_get_string_member (p, "error"), "start failed without an error"));
  p = find_plugin (plugins, "notaplugin");
  g_assert_cmpstr (json_object_get_string_member (p, "state"), ==, "failed");
  g_assert_nonnull (strstr (json_object_get_string_member (p, "error"),
                            "does not declare its plugin API version"));

  /* A disabled plugin's commands are gone; the core's and the good plugin's remain. */
  g_assert_null (cw_client_call (c, "broken_cmd", NULL, &error));
  g_assert_cmpstr (error->message, ==,
                   "broken_cmd is not available: the plugin that owns it is disabled (broken: "
                   "cannot reach the frobnicator)");
  g_clear_error (&error);
  g_assert_null (cw_client_call (c, "dupe_first", NULL, &error));
  g_clear_error (&error);
  echo (c, "still-works");
}

/* Run without any plugin (as straight from a build dir), coworkd says so in its log and in
 * daemon_health, and is degraded; with its plugins it has no warning. */
static void
test_no_plugin_warns (void)
{
  g_autoptr (CwTestDaemon) d = cw_test_daemon_new ();
  g_autoptr (CwTestDaemon) normal = cw_test_daemon_new ();
  g_autoptr (GSubprocessLauncher) launcher
      = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_autoptr (GSubprocess) proc = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (CwClient) c = NULL;
  g_autoptr (JsonNode) health = NULL;
  g_autofree gchar *err_text = NULL;
  gint64 deadline = g_get_monotonic_time () + 10 * G_TIME_SPAN_SECOND;
  JsonArray *warnings;

  g_subprocess_launcher_set_environ (launcher, d->env);
  proc = g_subprocess_launcher_spawn (launcher, &error, g_getenv ("COWORKD"), "--app-data-dir",
                                      d->dir, "--no-system-plugins", NULL);
  g_assert_no_error (error);
  while (c == NULL)
    {
      g_autofree gchar *token = cw_token_read (d->token_file, NULL);
      if (token != NULL)
        c = cw_client_connect (d->endpoint, token, NULL);
      if (c == NULL)
        {
          g_assert_cmpint (g_get_monotonic_time (), <, deadline);
          g_usleep (5000);
        }
    }
  cw_client_set_timeout (c, 20);
  health = cw_test_daemon_call (c, "daemon_health", NULL);
  g_assert_cmpstr (json_object_get_string_member (obj (health), "status"), ==, "healthy");
  g_assert_true (json_object_get_boolean_member (obj (health), "degraded"));
  warnings = json_object_get_array_member (obj (health), "warnings");
  g_assert_cmpuint (json_array_get_length (warnings), ==, 1);
  g_assert_nonnull (strstr (json_array_get_string_element (warnings, 0), "no plugin is running"));
  g_assert_nonnull (strstr (json_array_get_string_element (warnings, 0), "--plugin-dir"));
  g_subprocess_send_signal (proc, SIGTERM);
  g_subprocess_communicate_utf8 (proc, NULL, NULL, NULL, &err_text, &error);
  g_assert_no_error (error);
  g_assert_nonnull (strstr (err_text, "WARNING"));
  g_assert_nonnull (strstr (err_text, "no plugin is running (searched no directory)"));

  cw_test_daemon_start (normal);
  g_clear_pointer (&c, cw_client_free);
  g_clear_pointer (&health, json_node_unref);
  c = cw_test_daemon_connect (normal);
  health = cw_test_daemon_call (c, "daemon_health", NULL);
  g_assert_false (json_object_get_boolean_member (obj (health), "degraded"));
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (obj (health), "warnings")),
                    ==, 0);
}

static void
test_files_and_permissions (void)
{
  g_autoptr (CwTestDaemon) d = cw_test_daemon_new ();
  g_autofree gchar *token = NULL;
  g_autofree gchar *daemon_dir = g_build_filename (d->dir, "daemon", NULL);
  GStatBuf st;

  cw_test_daemon_start (d);
  token = cw_test_daemon_read_token (d);
  g_assert_cmpuint (strlen (token), ==, 64);
  for (const gchar *p = token; *p; p++)
    g_assert_true (g_ascii_isdigit (*p) || (*p >= 'a' && *p <= 'f'));
  g_assert_cmpint (g_stat (d->token_file, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  g_assert_cmpint (g_stat (d->endpoint, &st), ==, 0);
  g_assert_true (S_ISSOCK (st.st_mode));
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  g_assert_cmpint (g_stat (daemon_dir, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0700);
}

static void
test_slow_client_gets_resync (void)
{
  g_autoptr (CwTestDaemon) d = cw_test_daemon_new ();
  g_autofree gchar *conf = g_build_filename (d->dir, "coworkd.conf", NULL);
  g_autoptr (CwClient) slow = NULL, fast = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) pong = NULL;
  gboolean got_resync = FALSE;
  gint64 last_seq = 0, resync_from = -1;

  g_assert_true (g_file_set_contents (conf, "[events]\nsubscriber-queue=16\n", -1, NULL));
  cw_test_daemon_start (d);
  slow = cw_test_daemon_connect (d);
  pong = cw_test_daemon_call (slow, "ping", NULL); /* authenticated: subscribed */
  fast = cw_test_daemon_connect (d);
  /* Enough events to fill the kernel's socket buffers and then the queue of 16. */
  for (gint i = 0; i < 6000; i++)
    {
      g_autoptr (JsonNode) r = NULL;
      g_autofree gchar *p = g_strdup_printf ("{\"text\":\"%04d-padding-padding-padding-padding-"
                                             "padding-padding-padding-padding\"}",
                                             i);
      r = cw_test_daemon_call (fast, "example_echo", p);
    }
  /* The daemon still answers promptly while the slow client is stuck. */
  g_clear_pointer (&pong, json_node_unref);
  pong = cw_test_daemon_call (fast, "ping", NULL);
  g_assert_nonnull (pong);

  /* The slow client reads what was queued, then one resync marker. */
  cw_client_set_timeout (slow, 5);
  for (;;)
    {
      g_autoptr (JsonObject) ev = cw_client_next_event (slow, &error);
      if (ev == NULL)
        break;
      if (g_strcmp0 (json_object_get_string_member (ev, "type"), "resync") == 0)
        {
          got_resync = TRUE;
          resync_from = json_object_get_int_member (json_object_get_object_member (ev, "data"),
                                                    "lastDeliveredSeq");
          g_assert_cmpint (resync_from, ==, last_seq);
          break;
        }
      g_assert_cmpint (json_object_get_int_member (ev, "seq"), >, last_seq);
      last_seq = json_object_get_int_member (ev, "seq");
    }
  g_assert_no_error (error);
  g_assert_true (got_resync);
  /* It can fill the gap by replay and then gets live events again. */
  {
    g_autoptr (JsonObject) replay = events_since (slow, resync_from);
    g_assert_false (json_object_get_boolean_member (replay, "hasGap"));
    g_assert_cmpuint (json_array_get_length (json_object_get_array_member (replay, "events")), >,
                      0);
  }
  echo (fast, "live-again");
  {
    g_autoptr (JsonObject) ev = NULL;
    for (;;)
      {
        ev = wait_event (slow, "example:echo");
        if (g_strcmp0 (
                json_object_get_string_member (json_object_get_object_member (ev, "data"), "text"),
                "live-again")
            == 0)
          break;
        g_clear_pointer (&ev, json_object_unref);
      }
  }
}

static void
test_sd_notify (void)
{
  g_autoptr (CwTestDaemon) d = cw_test_daemon_new ();
  g_autofree gchar *path = g_build_filename (d->dir, "notify.sock", NULL);
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  gchar buf[256];
  gssize n;
  int fd = socket (AF_UNIX, SOCK_DGRAM, 0);
  struct timeval tv = { 10, 0 };

  g_strlcpy (addr.sun_path, path, sizeof addr.sun_path);
  g_assert_cmpint (bind (fd, (struct sockaddr *) &addr, sizeof addr), ==, 0);
  setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  cw_test_daemon_setenv (d, "NOTIFY_SOCKET", path);
  cw_test_daemon_start (d);
  n = recv (fd, buf, sizeof buf - 1, 0);
  g_assert_cmpint (n, >, 0);
  buf[n] = '\0';
  g_assert_cmpstr (buf, ==, "READY=1");
  g_assert_cmpint (cw_test_daemon_stop (d, SIGTERM), ==, 0);
  n = recv (fd, buf, sizeof buf - 1, 0);
  g_assert_cmpint (n, >, 0);
  buf[n] = '\0';
  g_assert_cmpstr (buf, ==, "STOPPING=1");
  close (fd);
}

/* After about a MiB of events and a quiet moment the daemon gives back the memory it holds
 * but does not use (daemon_health counts it); a few small events do not. */
static void
test_memory_trim_when_quiet (void)
{
  g_autoptr (CwTestDaemon) d = cw_test_daemon_new ();
  g_autoptr (CwClient) c = NULL;
  g_autofree gchar *text = g_strnfill (100 * 1024, 'm');
  gint64 trims = -1;

  cw_test_daemon_start (d);
  c = cw_test_daemon_connect (d);
  echo (c, "small");
  g_usleep (600 * G_TIME_SPAN_MILLISECOND);
  {
    g_autoptr (JsonNode) health = cw_test_daemon_call (c, "daemon_health", NULL);
    JsonObject *memory = json_object_get_object_member (obj (health), "memory");
    g_assert_cmpint (json_object_get_int_member (memory, "trims"), ==, 0);
  }
  for (guint i = 0; i < 12; i++)
    echo (c, text);
  for (guint i = 0; i < 100 && trims < 1; i++)
    {
      g_autoptr (JsonNode) health = NULL;
      g_usleep (50 * G_TIME_SPAN_MILLISECOND);
      health = cw_test_daemon_call (c, "daemon_health", NULL);
      trims = json_object_get_int_member (json_object_get_object_member (obj (health), "memory"),
                                          "trims");
    }
  g_assert_cmpint (trims, ==, 1);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cowork/daemon/core-commands", test_core_commands);
  g_test_add_func ("/cowork/daemon/auth", test_auth);
  g_test_add_func ("/cowork/daemon/no-events-before-auth", test_no_events_before_auth);
  g_test_add_func ("/cowork/daemon/bad-input", test_bad_input);
  g_test_add_func ("/cowork/daemon/restart-keeps-seq", test_restart_keeps_seq);
  g_test_add_func ("/cowork/daemon/kill9-recovery", test_kill9_recovery);
  g_test_add_func ("/cowork/daemon/second-instance-refused", test_second_instance_refused);
  g_test_add_func ("/cowork/daemon/plugin-failures", test_plugin_failures);
  g_test_add_func ("/cowork/daemon/no-plugin-warns", test_no_plugin_warns);
  g_test_add_func ("/cowork/daemon/files-and-permissions", test_files_and_permissions);
  g_test_add_func ("/cowork/daemon/slow-client-gets-resync", test_slow_client_gets_resync);
  g_test_add_func ("/cowork/daemon/sd-notify", test_sd_notify);
  g_test_add_func ("/cowork/daemon/memory-trim-when-quiet", test_memory_trim_when_quiet);
  return g_test_run ();
}
