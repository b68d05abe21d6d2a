/* test-hostile-input.c: the real coworkd attacked over its real socket with input built to
 * crash or fool it: deep nesting, NUL inside strings, a forged token file, a damaged value in
 * its own database.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-test-daemon.h"

#include <signal.h>

static void
assert_alive (CwTestDaemon *d)
{
  g_autoptr (CwClient) c = cw_test_daemon_connect (d);
  g_autoptr (JsonNode) pong = cw_test_daemon_call (c, "ping", NULL);

  g_assert_true (json_object_get_boolean_member (cw_test_obj (pong), "pong"));
}

/* @open repeated @n times, then (when @close is given) 1 and @close repeated @n times. */
static gchar *
nested (const gchar *open, const gchar *close, guint n)
{
  GString *s = g_string_new (NULL);

  for (guint i = 0; i < n; i++)
    g_string_append (s, open);
  if (close != NULL)
    g_string_append_c (s, '1');
  for (guint i = 0; close != NULL && i < n; i++)
    g_string_append (s, close);
  return g_string_free (s, FALSE);
}

static gchar *
nested_line (const gchar *open, guint n)
{
  g_autofree gchar *text = nested (open, NULL, n);

  return g_strconcat (text, "\n", NULL);
}

static void
assert_refused (JsonObject *r, const gchar *expected)
{
  g_assert_false (json_object_get_boolean_member (r, "success"));
  g_assert_cmpstr (json_object_get_string_member (r, "error"), ==, expected);
}

static void
test_deep_nesting (void)
{
  g_autoptr (CwTestDaemon) d = cw_test_daemon_new ();
  g_autoptr (CwClient) anon = NULL, c = NULL;
  g_autofree gchar *brackets = nested_line ("[", 100000);
  g_autofree gchar *objects = nested_line ("{\"a\":", 100000);
  g_autofree gchar *token = NULL, *deep_ok = NULL, *deep_bad = NULL, *params = NULL;

  cw_test_daemon_start (d);
  /* Before authentication: one line of 100,000 '[' used to overflow the parser's stack. Now
   * such a line is over the budget of a connection that has not authenticated yet ... */
  for (guint i = 0; i < 6; i++)
    {
      g_autoptr (CwClient) anon = cw_test_daemon_connect_anonymous (d);
      g_autoptr (JsonObject) r = cw_test_raw_request (anon, i % 2 ? objects : brackets);
      assert_refused (r, "Request too large: a line may hold at most 65536 bytes before "
                         "authentication");
    }
  /* ... and within the budget, too deep is refused before a tree is built. */
  anon = cw_test_daemon_connect_anonymous (d);
  for (guint i = 0; i < 3; i++)
    {
      g_autofree gchar *line = nested_line ("[", 60000);
      g_autoptr (JsonObject) r = cw_test_raw_request (anon, line);
      assert_refused (r, "Failed to parse request: JSON nested deeper than 128 levels");
      g_assert_cmpstr (json_object_get_string_member (r, "id"), ==, "unknown");
    }
  assert_alive (d);

  /* After authentication lines may be long: the depth bound still holds. */
  c = cw_test_daemon_connect (d);
  {
    g_autoptr (JsonNode) pong = cw_test_daemon_call (c, "ping", NULL);
    g_autoptr (JsonObject) r1 = cw_test_raw_request (c, brackets);
    g_autoptr (JsonObject) r2 = cw_test_raw_request (c, objects);
    assert_refused (r1, "Failed to parse request: JSON nested deeper than 128 levels");
    assert_refused (r2, "Failed to parse request: JSON nested deeper than 128 levels");
  }
  assert_alive (d);

  /* The bound is 128 levels: params at that depth still work, one more is refused. */
  token = cw_test_daemon_read_token (d);
  params = nested ("{\"a\":", "}", 126);
  deep_ok = g_strdup_printf ("{\"id\":\"ok\",\"command\":\"ping\",\"params\":{\"p\":%s},"
                             "\"authToken\":\"%s\"}\n",
                             params, token);
  {
    g_autoptr (JsonObject) r = cw_test_raw_request (c, deep_ok);
    g_assert_true (json_object_get_boolean_member (r, "success"));
  }
  deep_bad = g_strdup_printf ("{\"id\":\"bad\",\"command\":\"ping\",\"params\":{\"p\":[%s]},"
                              "\"authToken\":\"%s\"}\n",
                              params, token);
  {
    g_autoptr (JsonObject) r = cw_test_raw_request (c, deep_bad);
    assert_refused (r, "Failed to parse request: JSON nested deeper than 128 levels");
  }
  /* Brackets inside strings are text, not nesting. */
  {
    g_autofree gchar *text = nested ("[", NULL, 1000);
    g_autofree gchar *line = g_strdup_printf (
        "{\"id\":\"s\",\"command\":\"example_echo\",\"params\":{\"text\":\"%s\\\"{{\"},"
        "\"authToken\":\"%s\"}\n",
        text, token);
    g_autoptr (JsonObject) r = cw_test_raw_request (c, line);
    g_assert_true (json_object_get_boolean_member (r, "success"));
  }
  assert_alive (d);
}

static void
test_nul_in_strings (void)
{
  g_autoptr (CwTestDaemon) d = cw_test_daemon_new ();
  g_autoptr (CwClient) c = NULL;
  g_autofree gchar *token = NULL;
  const gchar *expected = "Failed to parse request: JSON strings may not contain NUL (\\u0000)";
  const gchar *lines[] = {
    /* "ping\0zzz" ran ping; "a\0b" was echoed as "a". */
    "{\"id\":\"n1\",\"command\":\"ping\\u0000zzz\",\"authToken\":\"%s\"}\n",
    "{\"id\":\"a\\u0000b\",\"command\":\"ping\",\"authToken\":\"%s\"}\n",
    "{\"id\":\"n3\",\"command\":\"example_echo\",\"params\":{\"text\":\"a\\u0000b\"},"
    "\"authToken\":\"%s\"}\n",
    "{\"id\":\"n4\",\"command\":\"ping\",\"authToken\":\"%s\\u0000tail\"}\n",
  };

  cw_test_daemon_start (d);
  c = cw_test_daemon_connect (d);
  token = cw_test_daemon_read_token (d);
  for (guint i = 0; i < G_N_ELEMENTS (lines); i++)
    {
      g_autofree gchar *line = g_strdup_printf (lines[i], token);
      g_autoptr (JsonObject) r = cw_test_raw_request (c, line);
      assert_refused (r, expected);
    }
  /* An escaped backslash before "u0000" is text, not a NUL. */
  {
    g_autofree gchar *line = g_strdup_printf (
        "{\"id\":\"t\",\"command\":\"example_echo\",\"params\":{\"text\":\"a\\\\u0000b\"},"
        "\"authToken\":\"%s\"}\n",
        token);
    g_autoptr (JsonObject) r = cw_test_raw_request (c, line);
    g_assert_true (json_object_get_boolean_member (r, "success"));
    g_assert_cmpstr (
        json_object_get_string_member (json_object_get_object_member (r, "result"), "text"), ==,
        "a\\u0000b");
  }
}

static void
start_with_token_file (const gchar *contents, gsize len)
{
  g_autoptr (CwTestDaemon) d = cw_test_daemon_new ();
  g_autoptr (GError) error = NULL;
  g_autofree gchar *dir = g_path_get_dirname (d->token_file);
  g_autofree gchar *token = NULL, *forged = NULL, *line = NULL;
  g_autoptr (CwClient) anon = NULL;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  g_file_set_contents (d->token_file, contents, (gssize) len, &error);
  g_assert_no_error (error);
  cw_test_daemon_start (d);

  /* The file was replaced by a real token ... */
  token = cw_test_daemon_read_token (d);
  g_assert_cmpuint (strlen (token), ==, 64);
  g_assert_true (strncmp (token, contents, MIN (len, 64)) != 0);
  /* ... and what it held is no key to the daemon. */
  forged = g_strndup (contents, strnlen (contents, len));
  anon = cw_test_daemon_connect_anonymous (d);
  line = g_strdup_printf ("{\"id\":\"f\",\"command\":\"ping\",\"authToken\":\"%s\"}\n", forged);
  {
    g_autoptr (JsonObject) r = cw_test_raw_request (anon, line);
    assert_refused (r, "Unauthorized");
  }
  assert_alive (d);
}

static void
test_token_file_garbage (void)
{
  gchar with_nul[64];

  start_with_token_file ("x", 1);
  memset (with_nul, 'a', sizeof with_nul);
  with_nul[0] = 'a';
  with_nul[1] = 'b';
  with_nul[2] = '\0';
  start_with_token_file (with_nul, sizeof with_nul);
  /* 64 characters, but not hex. */
  start_with_token_file ("zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz", 64);
}

/* A value in the database is input too: a deeply nested stored config must not crash the
 * daemon at start. */
static void
test_deep_stored_config (void)
{
  g_autoptr (CwTestDaemon) d = cw_test_daemon_new ();
  g_autofree gchar *db_path = g_build_filename (d->dir, "daemon", "coworkd.db", NULL);
  g_autofree gchar *deep = nested ("[", NULL, 100000);
  g_autoptr (CwClient) c = NULL;
  g_autoptr (JsonNode) health = NULL;
  JsonArray *plugins;
  gboolean found = FALSE;
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;

  cw_test_daemon_start (d);
  g_assert_cmpint (cw_test_daemon_stop (d, SIGTERM), ==, 0);
  g_assert_cmpint (sqlite3_open (db_path, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db,
                                       "INSERT OR REPLACE INTO agent_meta (key, value) "
                                       "VALUES ('runtime_config', ?1)",
                                       -1, &stmt, NULL),
                   ==, SQLITE_OK);
  sqlite3_bind_text (stmt, 1, deep, -1, SQLITE_STATIC);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_DONE);
  sqlite3_finalize (stmt);
  sqlite3_close (db);

  cw_test_daemon_start (d);
  c = cw_test_daemon_connect (d);
  health = cw_test_daemon_call (c, "daemon_health", NULL);
  plugins = json_object_get_array_member (cw_test_obj (health), "plugins");
  for (guint i = 0; i < json_array_get_length (plugins); i++)
    {
      JsonObject *p = json_array_get_object_element (plugins, i);
      if (g_strcmp0 (json_object_get_string_member (p, "name"), "agent") != 0)
        continue;
      found = TRUE;
      g_assert_nonnull (strstr (json_object_get_string_member_with_default (p, "error", ""),
                                "JSON nested deeper than 128 levels"));
    }
  g_assert_true (found);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cowork/hostile/deep-nesting", test_deep_nesting);
  g_test_add_func ("/cowork/hostile/nul-in-strings", test_nul_in_strings);
  g_test_add_func ("/cowork/hostile/token-file-garbage", test_token_file_garbage);
  g_test_add_func ("/cowork/hostile/deep-stored-config", test_deep_stored_config);
  return g_test_run ();
}
