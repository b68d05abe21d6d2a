/* test-daemon-http.c: the real coworkd starts its HTTP server only once a plugin has a
 * route, on loopback, and serves the plugin's route through it.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-test-daemon.h"

#include <signal.h>

static JsonObject *
http_health (CwClient *c)
{
  g_autoptr (JsonNode) h = cw_test_daemon_call (c, "daemon_health", NULL);

  return json_object_ref (json_object_get_object_member (json_node_get_object (h), "http"));
}

static guint
get (SoupSession *session, const gchar *url, gchar **body)
{
  g_autoptr (SoupMessage) msg = soup_message_new ("GET", url);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) bytes = soup_session_send_and_read (session, msg, NULL, &error);

  g_assert_no_error (error);
  *body = g_strndup (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
  return soup_message_get_status (msg);
}

static void
test_http_only_with_a_route (void)
{
  g_autoptr (CwTestDaemon) d = cw_test_daemon_new ();
  g_autofree gchar *plugins
      = g_test_build_filename (G_TEST_BUILT, "core", "plugins", "services", NULL);
  g_autoptr (CwClient) c = NULL;
  g_autoptr (JsonObject) before = NULL, after = NULL;
  g_autoptr (JsonNode) r = NULL;
  g_autoptr (SoupSession) session = soup_session_new ();
  g_autofree gchar *body = NULL, *url = NULL;
  const gchar *base;
  JsonArray *addresses;

  cw_test_daemon_add_arg (d, "--plugin-dir");
  cw_test_daemon_add_arg (d, plugins);
  cw_test_daemon_start (d);
  c = cw_test_daemon_connect (d);
  before = http_health (c);
  g_assert_false (json_object_get_boolean_member (before, "listening"));
  g_assert_true (json_object_get_null_member (before, "url"));

  r = cw_test_daemon_call (c, "httptest_listen", NULL);
  base = json_object_get_string_member (json_node_get_object (r), "url");
  g_assert_true (g_str_has_prefix (base, "http://127.0.0.1:"));
  after = http_health (c);
  g_assert_true (json_object_get_boolean_member (after, "listening"));
  g_assert_cmpstr (json_object_get_string_member (after, "url"), ==, base);
  addresses = json_object_get_array_member (after, "addresses");
  g_assert_cmpuint (json_array_get_length (addresses), >=, 1);
  for (guint i = 0; i < json_array_get_length (addresses); i++)
    {
      const gchar *a = json_array_get_string_element (addresses, i);
      g_assert_true (g_str_has_prefix (a, "127.0.0.1:") || g_str_has_prefix (a, "[::1]:"));
    }

  url = g_strconcat (base, "/httptest/hello", NULL);
  g_assert_cmpuint (get (session, url, &body), ==, 200);
  g_assert_nonnull (strstr (body, "\"/httptest/hello\""));
  g_clear_pointer (&body, g_free);
  g_clear_pointer (&url, g_free);
  url = g_strconcat (base, "/elsewhere", NULL);
  g_assert_cmpuint (get (session, url, &body), ==, 404);
  g_assert_cmpstr (body, ==, "{\"error\":\"Not found\"}");
  g_assert_cmpint (cw_test_daemon_stop (d, SIGTERM), ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cowork/daemon/http-only-with-a-route", test_http_only_with_a_route);
  return g_test_run ();
}
