/* test-example.c: the example plugin in the SDK's in-process test harness (cowork-test.h),
 * as an out-of-tree plugin's tests would use it.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <cowork-test.h>

static gchar *
plugin_path (void)
{
  return g_test_build_filename (G_TEST_BUILT, "..", "libcowork_plugin_example.so", NULL);
}

static void
test_echo (void)
{
  g_autofree gchar *path = plugin_path ();
  g_autoptr (GError) error = NULL;
  g_autoptr (CwTestHarness) h = cw_test_harness_new (path, &error);
  g_autoptr (JsonNode) reply = NULL;
  CwEvent *event;

  g_assert_no_error (error);
  reply = cw_test_harness_call (h, "example_echo", "{\"text\":\"hello\"}", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (reply), "text"), ==,
                   "hello");
  /* The command told every client. */
  g_assert_cmpuint (cw_test_harness_count_events (h, "example:"), ==, 1);
  event = cw_test_harness_wait_event (h, "example:echo", 1000);
  g_assert_nonnull (event);
  g_assert_cmpstr (json_object_get_string_member (cw_event_get_data (event), "text"), ==, "hello");
  g_assert_cmpint (cw_event_get_seq (event), >, 0);
}

static void
test_bad_input (void)
{
  g_autofree gchar *path = plugin_path ();
  g_autoptr (GError) error = NULL;
  g_autoptr (CwTestHarness) h = cw_test_harness_new (path, &error);
  g_autoptr (JsonNode) reply = NULL;

  g_assert_no_error (error);
  reply = cw_test_harness_call (h, "example_echo", "{\"text\":null}", &error);
  g_assert_null (reply);
  g_assert_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS);
  g_assert_cmpstr (error->message, ==, "text is required");
  g_clear_error (&error);
  reply = cw_test_harness_call (h, "example_echo", "{\"text\":42}", &error);
  g_assert_null (reply);
  g_assert_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS);
  g_assert_cmpuint (cw_test_harness_count_events (h, "example:"), ==, 0);
}

static void
test_restart_keeps_seq (void)
{
  g_autofree gchar *path = plugin_path ();
  g_autoptr (GError) error = NULL;
  g_autoptr (CwTestHarness) h = cw_test_harness_new (path, &error);
  g_autoptr (JsonNode) first = NULL;
  g_autoptr (JsonNode) second = NULL;
  gint64 seq_before;

  g_assert_no_error (error);
  first = cw_test_harness_call (h, "example_echo", "{\"text\":\"a\"}", &error);
  g_assert_no_error (error);
  seq_before = cw_event_get_seq (cw_test_harness_wait_event (h, "example:echo", 1000));
  /* A restart on the same store: the plugin starts again and seqs keep growing. */
  g_assert_true (cw_test_harness_restart (h, &error));
  g_assert_no_error (error);
  second = cw_test_harness_call (h, "example_echo", "{\"text\":\"b\"}", &error);
  g_assert_no_error (error);
  g_assert_cmpint (cw_event_get_seq (cw_test_harness_wait_event (h, "example:echo", 1000)), >,
                   seq_before);
}

static void
count_event (CwEvent *event, gpointer user_data)
{
  (*(guint *) user_data)++;
}

/* A listener the plugin owns: it sees the plugin's events until removed. */
static void
test_owned_listener (void)
{
  g_autofree gchar *path = plugin_path ();
  g_autoptr (GError) error = NULL;
  g_autoptr (CwTestHarness) h = cw_test_harness_new (path, &error);
  g_autoptr (JsonNode) a = NULL;
  g_autoptr (JsonNode) b = NULL;
  guint seen = 0;
  guint id;

  g_assert_no_error (error);
  id = cw_plugin_add_event_listener (cw_test_harness_get_plugin (h), "example:", count_event, &seen,
                                     NULL);
  g_assert_cmpuint (id, >, 0);
  a = cw_test_harness_call (h, "example_echo", "{\"text\":\"a\"}", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (seen, ==, 1);
  /* An id the plugin does not own is ignored; its own goes. */
  cw_plugin_remove_event_listener (cw_test_harness_get_plugin (h), id + 1000);
  cw_plugin_remove_event_listener (cw_test_harness_get_plugin (h), id);
  b = cw_test_harness_call (h, "example_echo", "{\"text\":\"b\"}", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (seen, ==, 1);
}

static gboolean warnings_expected;

/* Keeps the loader's warnings about a missing module from failing that test. */
static GLogWriterOutput
quiet_warnings (GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer data)
{
  if (warnings_expected && (level & G_LOG_LEVEL_WARNING))
    return G_LOG_WRITER_HANDLED;
  return g_log_writer_default (level, fields, n_fields, data);
}

static void
test_not_a_plugin (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (CwTestHarness) h = NULL;

  /* The loader warns about the module, as the daemon would: expected here. */
  warnings_expected = TRUE;
  g_log_set_always_fatal (G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);
  h = cw_test_harness_new ("/nonexistent/libcowork_plugin_none.so", &error);
  g_assert_null (h);
  g_assert_error (error, CW_ERROR, CW_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "plugin none is failed"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_log_set_writer_func (quiet_warnings, NULL, NULL);
  g_test_add_func ("/cowork/example/echo", test_echo);
  g_test_add_func ("/cowork/example/bad-input", test_bad_input);
  g_test_add_func ("/cowork/example/restart-keeps-seq", test_restart_keeps_seq);
  g_test_add_func ("/cowork/example/owned-listener", test_owned_listener);
  g_test_add_func ("/cowork/example/not-a-plugin", test_not_a_plugin);
  return g_test_run ();
}
