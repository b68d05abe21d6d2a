/* test-daemon-loader.c: the plugin loader in the real coworkd: API versions, undefined
 * symbols, a plugin that crashes the daemon, start order rules and asynchronous starts.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-test-daemon.h"

#include <sys/wait.h>

static JsonObject *
find_plugin (JsonArray *plugins, const gchar *name)
{
  for (guint i = 0; i < json_array_get_length (plugins); i++)
    {
      JsonObject *p = json_array_get_object_element (plugins, i);
      if (g_strcmp0 (json_object_get_string_member (p, "name"), name) == 0)
        return p;
    }
  g_assert_not_reached ();
}

static JsonArray *
plugins_of (JsonNode *health)
{
  return json_object_get_array_member (cw_test_obj (health), "plugins");
}

static CwTestDaemon *
loader_daemon (void)
{
  CwTestDaemon *d = cw_test_daemon_new ();
  g_autofree gchar *dir = g_test_build_filename (G_TEST_BUILT, "core", "plugins", "loader", NULL);

  cw_test_daemon_add_arg (d, "--plugin-dir");
  cw_test_daemon_add_arg (d, dir);
  /* The hanging plugin is given up on quickly. */
  cw_test_daemon_set_config (d, "[plugins]\nstart-timeout-ms=500\n");
  return d;
}

static void
test_refused_modules (void)
{
  g_autoptr (CwTestDaemon) d = loader_daemon ();
  g_autoptr (CwClient) c = NULL;
  g_autoptr (JsonNode) health = NULL;
  JsonObject *p;

  cw_test_daemon_start (d);
  c = cw_test_daemon_connect (d);
  health = cw_test_daemon_call (c, "daemon_health", NULL);

  p = find_plugin (plugins_of (health), "oldapi");
  g_assert_cmpstr (json_object_get_string_member (p, "state"), ==, "failed");
  g_assert_cmpstr (json_object_get_string_member (p, "error"), ==,
                   "built for plugin API 0, this daemon has plugin API 1: rebuild it against "
                   "cowork-1");
  /* Bound at open, not at the first call: the daemon is up and says why. */
  p = find_plugin (plugins_of (health), "undefined");
  g_assert_cmpstr (json_object_get_string_member (p, "state"), ==, "failed");
  g_assert_nonnull (strstr (json_object_get_string_member (p, "error"),
                            "undefined symbol: cw_test_nothing_defines_this"));
  p = find_plugin (plugins_of (health), "hang");
  g_assert_cmpstr (json_object_get_string_member (p, "state"), ==, "disabled");
  g_assert_cmpstr (json_object_get_string_member (p, "error"), ==, "did not start within 500 ms");
  p = find_plugin (plugins_of (health), "example");
  g_assert_cmpstr (json_object_get_string_member (p, "state"), ==, "running");
}

static void
test_start_order (void)
{
  g_autoptr (CwTestDaemon) d = loader_daemon ();
  g_autoptr (CwClient) c = NULL;
  g_autoptr (JsonNode) replay = NULL;
  JsonArray *events;
  g_autoptr (GPtrArray) started = g_ptr_array_new ();

  cw_test_daemon_start (d);
  c = cw_test_daemon_connect (d);
  replay = cw_test_daemon_call (c, "agent_get_events_since", "{\"afterSeq\":0,\"limit\":1000}");
  events = json_object_get_array_member (cw_test_obj (replay), "events");
  for (guint i = 0; i < json_array_get_length (events); i++)
    {
      JsonObject *e = json_array_get_object_element (events, i);
      if (g_strcmp0 (json_object_get_string_member (e, "type"), "loader:started") == 0)
        g_ptr_array_add (started, (gpointer) json_object_get_string_member (
                                      json_object_get_object_member (e, "data"), "name"));
    }
  /* File-name order, except that "alate" starts after "early", whose start is asynchronous
   * (200 ms): the daemon waited for it before starting "alate". */
  g_assert_cmpuint (started->len, ==, 3);
  g_assert_cmpstr (g_ptr_array_index (started, 0), ==, "crasher");
  g_assert_cmpstr (g_ptr_array_index (started, 1), ==, "early");
  g_assert_cmpstr (g_ptr_array_index (started, 2), ==, "alate");
}

static void
test_crash_skips_plugin (void)
{
  g_autoptr (CwTestDaemon) d = loader_daemon ();
  g_autoptr (GError) error = NULL;
  g_autoptr (GSubprocess) proc = NULL;
  g_autofree gchar *skipped_file
      = g_build_filename (d->dir, "daemon", "plugins-skipped.json", NULL);
  gint status;

  /* The first daemon dies inside the plugin's start(). */
  cw_test_daemon_setenv (d, "COWORK_TEST_LOADER_CRASH", "1");
  proc = cw_test_daemon_spawn (d, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_wait (proc, NULL, &error));
  status = g_subprocess_get_status (proc);
  g_assert_true (WIFSIGNALED (status));
  g_assert_cmpint (WTERMSIG (status), ==, SIGABRT);

  /* The next start skips it and says why; everything else runs. */
  {
    g_autoptr (CwClient) c = NULL;
    g_autoptr (JsonNode) health = NULL;
    JsonObject *p;

    cw_test_daemon_start (d);
    c = cw_test_daemon_connect (d);
    health = cw_test_daemon_call (c, "daemon_health", NULL);
    p = find_plugin (plugins_of (health), "crasher");
    g_assert_cmpstr (json_object_get_string_member (p, "state"), ==, "skipped");
    g_assert_true (g_str_has_prefix (json_object_get_string_member (p, "error"),
                                     "crashed the daemon during its start ("));
    g_assert_nonnull (
        strstr (json_object_get_string_member (p, "error"), "--enable-plugin crasher"));
    g_assert_cmpstr (
        json_object_get_string_member (find_plugin (plugins_of (health), "early"), "state"), ==,
        "running");
    g_assert_true (g_file_test (skipped_file, G_FILE_TEST_EXISTS));
    g_assert_cmpint (cw_test_daemon_stop (d, SIGTERM), ==, 0);
  }
  /* Still skipped at the start after that: a crash is remembered, not a one-off. */
  {
    g_autoptr (CwClient) c = NULL;
    g_autoptr (JsonNode) health = NULL;

    cw_test_daemon_start (d);
    c = cw_test_daemon_connect (d);
    health = cw_test_daemon_call (c, "daemon_health", NULL);
    g_assert_cmpstr (
        json_object_get_string_member (find_plugin (plugins_of (health), "crasher"), "state"), ==,
        "skipped");
    g_assert_cmpint (cw_test_daemon_stop (d, SIGTERM), ==, 0);
  }
  /* Fixed (no crash any more) and asked for again: it runs. */
  cw_test_daemon_setenv (d, "COWORK_TEST_LOADER_CRASH", NULL);
  cw_test_daemon_add_arg (d, "--enable-plugin");
  cw_test_daemon_add_arg (d, "crasher");
  {
    g_autoptr (CwClient) c = NULL;
    g_autoptr (JsonNode) health = NULL;

    cw_test_daemon_start (d);
    c = cw_test_daemon_connect (d);
    health = cw_test_daemon_call (c, "daemon_health", NULL);
    g_assert_cmpstr (
        json_object_get_string_member (find_plugin (plugins_of (health), "crasher"), "state"), ==,
        "running");
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  cw_test_count_warnings ("plugin");
  g_test_add_func ("/cowork/loader/refused-modules", test_refused_modules);
  g_test_add_func ("/cowork/loader/start-order", test_start_order);
  g_test_add_func ("/cowork/loader/crash-skips-plugin", test_crash_skips_plugin);
  return g_test_run ();
}
