/* test-remote-harness.c: the plugin in the SDK's in-process harness: cw_plugin_audit names
 * the action after its plugin and the actor after the caller; without an HTTP server the
 * plugin stays off and says why; the settings survive a restart.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <cowork-host.h>
#include <cowork-test.h>

#include <string.h>

static CwTestHarness *
harness (void)
{
  g_autofree gchar *path
      = g_test_build_filename (G_TEST_BUILT, "..", "libcowork_plugin_remote-access.so", NULL);
  g_autoptr (GError) error = NULL;
  CwTestHarness *h = cw_test_harness_new (path, &error);

  g_assert_no_error (error);
  return h;
}

static void
test_plugin_audit (void)
{
  g_autoptr (CwTestHarness) h = harness ();
  CwPlugin *plugin = cw_test_harness_get_plugin (h);
  CwStore *store = cw_context_get_store (cw_test_harness_get_context (h));
  g_autoptr (CwCaller) device = cw_plugin_new_remote_caller (plugin, "device_0123456789abcdef");
  g_autoptr (JsonObject) details = json_object_new ();
  g_autoptr (JsonArray) rows = NULL;
  g_autoptr (GError) error = NULL;
  JsonObject *newest, *older;

  json_object_set_string_member (details, "command", "list_sessions");
  g_assert_true (cw_plugin_audit (plugin, "call", device, details, &error));
  g_assert_no_error (error);
  g_assert_true (cw_plugin_audit (plugin, "tunnel.stop", NULL, NULL, &error));
  rows = cw_audit_list (store, 10, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (json_array_get_length (rows), >=, 2);
  newest = json_array_get_object_element (rows, 0);
  older = json_array_get_object_element (rows, 1);
  g_assert_cmpstr (json_object_get_string_member (newest, "action"), ==,
                   "remote-access.tunnel.stop");
  g_assert_cmpstr (json_object_get_string_member (newest, "actor"), ==, "plugin:remote-access");
  g_assert_cmpstr (json_object_get_string_member (older, "action"), ==, "remote-access.call");
  g_assert_cmpstr (json_object_get_string_member (older, "actor"), ==,
                   "remote:device_0123456789abcdef");
  g_assert_cmpstr (
      json_object_get_string_member (json_object_get_object_member (older, "details"), "command"),
      ==, "list_sessions");
}

static void
test_without_http_server (void)
{
  g_autoptr (CwTestHarness) h = harness ();
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) reply = NULL, status = NULL, options = NULL, again = NULL;

  reply = cw_test_harness_call (h, "remote_access_enable", "{}", &error);
  g_assert_null (reply);
  g_assert_error (error, CW_ERROR, CW_ERROR_NOT_SUPPORTED);
  g_assert_nonnull (strstr (error->message, "no HTTP server"));
  g_clear_error (&error);
  status = cw_test_harness_call (h, "remote_access_get_status", NULL, &error);
  g_assert_no_error (error);
  g_assert_false (json_object_get_boolean_member (json_node_get_object (status), "enabled"));
  g_assert_false (json_object_get_boolean_member (json_node_get_object (status), "running"));

  /* Settings are kept across a restart. */
  options = cw_test_harness_call (h, "remote_access_set_tunnel_options",
                                  "{\"tunnelVisibility\":\"private\",\"tunnelName\":\"home\","
                                  "\"tunnelDomain\":\" Phone.Example.ORG \"}",
                                  &error);
  g_assert_no_error (error);
  g_assert_true (cw_test_harness_restart (h, &error));
  again = cw_test_harness_call (h, "remote_access_get_status", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (again), "tunnelVisibility"),
                   ==, "private");
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (again), "tunnelName"), ==,
                   "home");
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (again), "tunnelDomain"), ==,
                   "phone.example.org");
  {
    g_autoptr (JsonNode) bad = cw_test_harness_call (h, "remote_access_set_tunnel_options",
                                                     "{\"tunnelVisibility\":\"everyone\"}", &error);
    g_assert_null (bad);
    g_assert_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS);
    g_clear_error (&error);
  }
  {
    g_autoptr (JsonNode) bad = cw_test_harness_call (h, "remote_access_set_tunnel_mode",
                                                     "{\"tunnelMode\":\"ngrok\"}", &error);
    g_assert_null (bad);
    g_assert_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS);
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/remote-access/harness/plugin-audit", test_plugin_audit);
  g_test_add_func ("/remote-access/harness/without-http-server", test_without_http_server);
  return g_test_run ();
}
