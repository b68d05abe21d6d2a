/* test-integrations-config.c: the integrations plugin in the SDK's in-process harness: the
 * platform list, the commands' errors, config with secrets only in CwSecrets, and the import
 * of the original's config.json.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <cowork-test.h>

#include <glib/gstdio.h>
#include <string.h>

static const gchar *const platforms[]
    = { "whatsapp", "slack", "telegram", "discord", "imessage", "teams", "irc", "email", NULL };

static gchar *
plugin_path (void)
{
  return g_test_build_filename (G_TEST_BUILT, "..", "libcowork_plugin_integrations.so", NULL);
}

static CwTestHarness *
harness (void)
{
  g_autofree gchar *path = plugin_path ();
  g_autoptr (GError) error = NULL;
  CwTestHarness *h = cw_test_harness_new (path, &error);

  g_assert_no_error (error);
  return h;
}

static JsonNode *
call_ok (CwTestHarness *h, const gchar *command, const gchar *params)
{
  g_autoptr (GError) error = NULL;
  JsonNode *reply = cw_test_harness_call (h, command, params, &error);

  g_assert_no_error (error);
  return reply;
}

static gchar *
call_error (CwTestHarness *h, const gchar *command, const gchar *params, gint code)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) reply = cw_test_harness_call (h, command, params, &error);

  g_assert_null (reply);
  g_assert_error (error, CW_ERROR, code);
  return g_strdup (error->message);
}

/* Every byte of the harness's files (the database, its WAL, the secret store). */
static gboolean
dir_contains (const gchar *dir, const gchar *needle)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const gchar *name;

  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree gchar *path = g_build_filename (dir, name, NULL);
      g_autofree gchar *data = NULL;
      gsize len;
      if (g_file_test (path, G_FILE_TEST_IS_DIR))
        {
          if (dir_contains (path, needle))
            return TRUE;
          continue;
        }
      if (g_file_get_contents (path, &data, &len, NULL) && g_strstr_len (data, len, needle) != NULL)
        return TRUE;
    }
  return FALSE;
}

typedef struct
{
  gboolean done;
  gchar *value;
} Lookup;

static void
on_lookup (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Lookup *l = user_data;
  g_autoptr (GError) error = NULL;

  l->value = cw_secrets_lookup_finish (CW_SECRETS (source), result, &error);
  g_assert_no_error (error);
  l->done = TRUE;
}

static gchar *
lookup_secret (CwTestHarness *h, const gchar *name)
{
  Lookup l = { FALSE, NULL };

  cw_secrets_lookup (cw_context_get_secrets (cw_test_harness_get_context (h)), "integration", name,
                     NULL, on_lookup, &l);
  while (!l.done)
    g_main_context_iteration (NULL, TRUE);
  return l.value;
}

static void
test_statuses (void)
{
  g_autoptr (CwTestHarness) h = harness ();
  g_autoptr (JsonNode) list = call_ok (h, "integration_list_statuses", NULL);
  JsonArray *arr = json_node_get_array (list);

  g_assert_cmpuint (json_array_get_length (arr), ==, g_strv_length ((gchar **) platforms));
  for (guint i = 0; platforms[i] != NULL; i++)
    {
      JsonObject *s = json_array_get_object_element (arr, i);
      g_assert_cmpstr (json_object_get_string_member (s, "platform"), ==, platforms[i]);
      g_assert_false (json_object_get_boolean_member (s, "connected"));
      g_assert_cmpstr (json_object_get_string_member (s, "health"), ==, "unhealthy");
      g_assert_cmpstr (json_object_get_string_member (s, "healthMessage"), ==, "Disconnected");
    }
}

static void
test_errors (void)
{
  g_autoptr (CwTestHarness) h = harness ();
  g_autofree gchar *bad = call_error (h, "integration_connect", "{\"platform\":\"myspace\"}",
                                      CW_ERROR_INVALID_PARAMS);
  g_autofree gchar *missing
      = call_error (h, "integration_get_status", "{\"platform\":null}", CW_ERROR_INVALID_PARAMS);
  g_autofree gchar *unbuilt = NULL;
  g_autofree gchar *test = NULL;
  g_autofree gchar *config = NULL;
  g_autoptr (JsonNode) status = NULL;

  g_assert_cmpstr (bad, ==,
                   "Invalid platform: myspace. Must be one of: whatsapp, slack, telegram, discord, "
                   "imessage, teams, irc, email");
  g_assert_nonnull (strstr (missing, "platform"));
  /* A connect without the required fields names them, and nothing is stored. */
  unbuilt = call_error (h, "integration_connect",
                        "{\"platform\":\"teams\",\"config\":{\"tenantId\":\"t\"}}",
                        CW_ERROR_INVALID_PARAMS);
  g_assert_nonnull (
      strstr (unbuilt, "Microsoft Teams needs clientId, clientSecret, teamId, channelId"));
  status = call_ok (h, "integration_get_config", "{\"platform\":\"teams\"}");
  g_assert_true (JSON_NODE_HOLDS_NULL (status));
  test = call_error (h, "integration_send_test", "{\"platform\":\"irc\",\"message\":null}",
                     CW_ERROR_FAILED);
  g_assert_cmpstr (test, ==, "irc is not connected");
  config = call_error (h, "integration_configure",
                       "{\"platform\":\"email\",\"config\":{\"tls\":\"sometimes\"}}",
                       CW_ERROR_INVALID_PARAMS);
  g_assert_cmpstr (config, ==, "tls must be one of: none|starttls|tls");
  g_clear_pointer (&config, g_free);
  config = call_error (h, "integration_configure", "{\"platform\":\"irc\",\"config\":[1]}",
                       CW_ERROR_INVALID_PARAMS);
  g_assert_cmpstr (config, ==, "config must be an object");
  g_clear_pointer (&config, g_free);
  config = call_error (h, "integration_recover_whatsapp", "{\"mode\":\"hard\"}", CW_ERROR_FAILED);
  g_assert_cmpstr (config, ==, "whatsapp is not connected");
}

static void
test_configure_secrets (void)
{
  g_autoptr (CwTestHarness) h = harness ();
  g_autoptr (JsonNode) r1 = NULL, r2 = NULL, r3 = NULL, cfg = NULL, cfg2 = NULL, settings = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree gchar *secret = NULL, *secret2 = NULL;
  JsonObject *obj, *config;

  r1 = call_ok (h, "integration_configure",
                "{\"platform\":\"irc\",\"config\":{\"server\":\" irc.example.org \",\"nick\":"
                "\"cowork\",\"password\":\"hunter2-irc-secret\",\"channels\":[\"#a\",\" #b \","
                "\"#a\",\"\"],\"allowFrom\":null,\"port\":\"70000\",\"tls\":null}}");
  g_assert_true (json_object_get_boolean_member (json_node_get_object (r1), "success"));
  g_assert_cmpuint (cw_test_harness_count_events (h, "integration:status"), ==, 1);

  cfg = call_ok (h, "integration_get_config", "{\"platform\":\"irc\"}");
  obj = json_node_get_object (cfg);
  config = json_object_get_object_member (obj, "config");
  g_assert_true (json_object_get_boolean_member (obj, "enabled"));
  g_assert_true (json_object_get_boolean_member (obj, "hasSecret"));
  g_assert_true (
      json_object_get_boolean_member (json_object_get_object_member (obj, "secrets"), "password"));
  g_assert_cmpstr (json_object_get_string_member (config, "password"), ==, "********");
  g_assert_cmpstr (json_object_get_string_member (config, "server"), ==, "irc.example.org");
  g_assert_cmpint (json_object_get_int_member (config, "port"), ==, 65535);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (config, "channels")), ==,
                    2);
  g_assert_false (json_object_has_member (config, "allowFrom"));

  /* The secret is in CwSecrets and nowhere in the database. */
  secret = lookup_secret (h, "irc.password");
  g_assert_cmpstr (secret, ==, "hunter2-irc-secret");
  g_assert_false (dir_contains (cw_test_harness_get_dir (h), "hunter2-irc-secret"));

  /* Sending the mask back (as a form would) keeps the secret; other fields merge. */
  r2 = call_ok (h, "integration_configure",
                "{\"platform\":\"irc\",\"config\":{\"password\":\"********\",\"nick\":\"cw2\"}}");
  secret2 = lookup_secret (h, "irc.password");
  g_assert_cmpstr (secret2, ==, "hunter2-irc-secret");
  cfg2 = call_ok (h, "integration_get_config", "{\"platform\":\"irc\"}");
  config = json_object_get_object_member (json_node_get_object (cfg2), "config");
  g_assert_cmpstr (json_object_get_string_member (config, "nick"), ==, "cw2");
  g_assert_cmpstr (json_object_get_string_member (config, "server"), ==, "irc.example.org");

  /* Disconnect forgets the config and its secret. */
  r3 = call_ok (h, "integration_disconnect", "{\"platform\":\"irc\"}");
  g_clear_pointer (&secret, g_free);
  secret = lookup_secret (h, "irc.password");
  g_assert_null (secret);
  g_clear_pointer (&cfg, json_node_unref);
  cfg = call_ok (h, "integration_get_config", "{\"platform\":\"irc\"}");
  g_assert_true (JSON_NODE_HOLDS_NULL (cfg));

  /* Settings, with the app's nulls. */
  g_clear_pointer (&r1, json_node_unref);
  r1 = call_ok (h, "integration_update_settings",
                "{\"settings\":{\"sharedSessionWorkingDirectory\":\"/tmp\",\"sessionMode\":null}}");
  settings = call_ok (h, "integration_get_settings", NULL);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (settings),
                                                  "sharedSessionWorkingDirectory"),
                   ==, "/tmp");
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (settings), "sessionMode"),
                   ==, "perChat");
  g_free (call_error (h, "integration_update_settings", "{\"settings\":{\"sessionMode\":\"x\"}}",
                      CW_ERROR_INVALID_PARAMS));
}

static void
test_import (void)
{
  g_autoptr (CwTestHarness) h = harness ();
  g_autofree gchar *src = g_test_build_filename (G_TEST_DIST, "data", "original-config.json", NULL);
  g_autofree gchar *dir = g_build_filename (cw_test_harness_get_dir (h), "original", NULL);
  g_autofree gchar *file = g_build_filename (dir, "config.json", NULL);
  g_autofree gchar *conf = g_build_filename (cw_test_harness_get_dir (h), "coworkd.conf", NULL);
  g_autofree gchar *conf_text = g_strdup_printf ("[integrations]\nimport-dir=%s\n", dir);
  g_autofree gchar *text = NULL, *after = NULL, *bot = NULL, *app = NULL, *slack_bot = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) tg = NULL, slack = NULL, settings = NULL, again = NULL;
  JsonObject *config;
  JsonArray *ids;
  GStatBuf st;

  g_assert_true (g_file_get_contents (src, &text, NULL, NULL));
  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  g_assert_true (g_file_set_contents (file, text, -1, NULL));
  g_assert_true (g_file_set_contents (conf, conf_text, -1, NULL));
  g_assert_true (cw_test_harness_restart (h, &error));
  g_assert_no_error (error);

  tg = call_ok (h, "integration_get_config", "{\"platform\":\"telegram\"}");
  g_assert_true (json_object_get_boolean_member (json_node_get_object (tg), "enabled"));
  config = json_object_get_object_member (json_node_get_object (tg), "config");
  g_assert_cmpstr (json_object_get_string_member (config, "botToken"), ==, "********");
  ids = json_object_get_array_member (config, "allowedChatIds");
  g_assert_cmpuint (json_array_get_length (ids), ==, 2);
  g_assert_cmpstr (json_array_get_string_element (ids, 1), ==, "400500600"); /* trimmed */
  slack = call_ok (h, "integration_get_config", "{\"platform\":\"slack\"}");
  config = json_object_get_object_member (json_node_get_object (slack), "config");
  g_assert_cmpstr (json_object_get_string_member (config, "defaultChannel"), ==, "#general");
  settings = call_ok (h, "integration_get_settings", NULL);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (settings),
                                                  "sharedSessionWorkingDirectory"),
                   ==, "<workdir>/shared-integration");

  /* The tokens moved: in CwSecrets, out of the file, never in the database. */
  bot = lookup_secret (h, "telegram.botToken");
  app = lookup_secret (h, "slack.appToken");
  slack_bot = lookup_secret (h, "slack.botToken");
  g_assert_cmpstr (bot, ==, "123456789:AAFakeTelegramTokenForFixtureA_xyz");
  g_assert_cmpstr (app, ==, "xapp-1-AFAKE-fixture-a-apptoken");
  g_assert_cmpstr (slack_bot, ==, "xoxb-fake-fixture-a-bottoken");
  g_assert_true (g_file_get_contents (file, &after, NULL, NULL));
  g_assert_null (strstr (after, "AAFakeTelegramToken"));
  g_assert_null (strstr (after, "xapp-1"));
  g_assert_null (strstr (after, "xoxb-"));
  g_assert_nonnull (strstr (after, "400500600"));
  g_assert_cmpint (g_stat (file, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  g_assert_false (
      dir_contains (cw_test_harness_get_dir (h) /* db + secrets */, "AAFakeTelegramToken"));

  /* Once: a changed file is not imported again. */
  g_assert_true (g_file_set_contents (
      file, "{\"platforms\":{\"telegram\":{\"enabled\":false,\"config\":{}}}}", -1, NULL));
  g_assert_true (cw_test_harness_restart (h, &error));
  again = call_ok (h, "integration_get_config", "{\"platform\":\"telegram\"}");
  g_assert_true (json_object_get_boolean_member (json_node_get_object (again), "enabled"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/integrations/config/statuses", test_statuses);
  g_test_add_func ("/integrations/config/errors", test_errors);
  g_test_add_func ("/integrations/config/secrets", test_configure_secrets);
  g_test_add_func ("/integrations/config/import", test_import);
  return g_test_run ();
}
