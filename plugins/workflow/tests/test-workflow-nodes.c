/* test-workflow-nodes.c: what nodes do against real services: desktop notifications to an
 * org.freedesktop.Notifications server on the session bus (this test owns the name), the
 * integrations plugin's command (and a clear error without it), unattended permission
 * requests of agent steps denied, compensation before a retry, node timeouts and run deadlines
 * on the scheduler's clock, a subworkflow call that is not allowed.
 * Runs under dbus-run-session.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-workflow-test.h"

#include <gio/gio.h>
#include <string.h>

/* ---- a notification server in a thread of its own ------------------------------------------ */

static GMutex notes_lock;
static GPtrArray *notes; /* "summary|body" */
static GMainLoop *server_loop;

static const gchar notify_xml[]
    = "<node><interface name='org.freedesktop.Notifications'>"
      "<method name='Notify'><arg type='s' direction='in'/><arg type='u' direction='in'/>"
      "<arg type='s' direction='in'/><arg type='s' direction='in'/><arg type='s' direction='in'/>"
      "<arg type='as' direction='in'/><arg type='a{sv}' direction='in'/>"
      "<arg type='i' direction='in'/><arg type='u' direction='out'/></method>"
      "</interface></node>";

static void
on_method (GDBusConnection *connection, const gchar *sender, const gchar *path,
           const gchar *interface, const gchar *method, GVariant *parameters,
           GDBusMethodInvocation *invocation, gpointer user_data)
{
  const gchar *app, *icon, *summary, *body;
  guint32 replaces;

  g_variant_get (parameters, "(&su&s&s&s@as@a{sv}i)", &app, &replaces, &icon, &summary, &body, NULL,
                 NULL, NULL);
  g_mutex_lock (&notes_lock);
  g_ptr_array_add (notes, g_strdup_printf ("%s|%s|%s", app, summary, body));
  g_mutex_unlock (&notes_lock);
  g_dbus_method_invocation_return_value (invocation, g_variant_new ("(u)", 42));
}

static gpointer
server_thread (gpointer data)
{
  GMainContext *context = g_main_context_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (GDBusConnection) bus = NULL;
  g_autoptr (GDBusNodeInfo) info = g_dbus_node_info_new_for_xml (notify_xml, NULL);
  static const GDBusInterfaceVTable vtable = { on_method, NULL, NULL, { 0 } };
  GAsyncQueue *ready = data;
  g_autoptr (GVariant) reply = NULL;

  g_main_context_push_thread_default (context);
  bus = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, &error);
  g_assert_no_error (error);
  g_dbus_connection_register_object (bus, "/org/freedesktop/Notifications", info->interfaces[0],
                                     &vtable, NULL, NULL, &error);
  g_assert_no_error (error);
  reply = g_dbus_connection_call_sync (bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                       "org.freedesktop.DBus", "RequestName",
                                       g_variant_new ("(su)", "org.freedesktop.Notifications", 4),
                                       G_VARIANT_TYPE ("(u)"), 0, -1, NULL, &error);
  g_assert_no_error (error);
  server_loop = g_main_loop_new (context, FALSE);
  g_async_queue_push (ready, GINT_TO_POINTER (1));
  g_main_loop_run (server_loop);
  return NULL;
}

static void
start_notification_server (void)
{
  g_autoptr (GAsyncQueue) ready = g_async_queue_new ();

  notes = g_ptr_array_new_with_free_func (g_free);
  g_thread_unref (g_thread_new ("notifications", server_thread, ready));
  g_async_queue_pop (ready);
}

/* ---- helpers ------------------------------------------------------------------------------------
 */

static JsonObject *
run_of (JsonObject *details)
{
  return json_object_get_object_member (details, "run");
}

static AgentFixture *
on_session_bus (void)
{
  AgentFixture *f = wf_fixture_new (WF_T0);

  cw_test_daemon_setenv (f->daemon, "DBUS_SESSION_BUS_ADDRESS",
                         g_getenv ("DBUS_SESSION_BUS_ADDRESS"));
  return f;
}

static gchar *
one_node (AgentFixture *f, const gchar *node_json, const gchar *extra)
{
  g_autofree gchar *def = g_strdup_printf (
      "{\"name\":\"one\",\"defaults\":{\"workingDirectory\":\"%s\"%s},\"nodes\":["
      "{\"id\":\"start\",\"type\":\"start\"},%s,{\"id\":\"handled\",\"type\":\"end\"},"
      "{\"id\":\"end\",\"type\":\"end\"}],\"edges\":[{\"from\":\"start\",\"to\":\"n\"},"
      "{\"from\":\"n\",\"to\":\"end\"},{\"from\":\"n\",\"to\":\"handled\",\"condition\":"
      "\"failure\"}]}",
      f->workdir, extra != NULL ? extra : "", node_json);

  return wf_publish (f, def);
}

static JsonObject *
run_one (AgentFixture *f, const gchar *node_json, const gchar *extra)
{
  g_autofree gchar *wf = one_node (f, node_json, extra);
  g_autofree gchar *run = wf_run (f, wf, NULL);

  return wf_wait_end (f, run);
}

static const gchar *
node_error (JsonObject *details)
{
  JsonArray *nrs = json_object_get_array_member (details, "nodeRuns");

  for (guint i = 0; i < json_array_get_length (nrs); i++)
    {
      JsonObject *nr = json_array_get_object_element (nrs, i);
      if (g_strcmp0 (wf_str (nr, "nodeId"), "n") == 0 && wf_str (nr, "error") != NULL)
        return wf_str (nr, "error");
    }
  return NULL;
}

/* ---- tests -------------------------------------------------------------------------------------
 */

static void
test_desktop_notification (void)
{
  AgentFixture *f = on_session_bus ();
  g_autoptr (JsonObject) d = NULL;

  agent_fixture_start (f);
  d = run_one (f,
               "{\"id\":\"n\",\"type\":\"notification\",\"config\":{\"title\":\"Build {{run.id}}\","
               "\"message\":\"all green\"}}",
               NULL);
  g_assert_cmpstr (wf_str (run_of (d), "status"), ==, "completed");
  g_assert_cmpstr (wf_str (wf_node_output (d, "n"), "delivered"), ==, "desktop");
  g_assert_cmpint (json_object_get_int_member (wf_node_output (d, "n"), "notificationId"), ==, 42);
  g_mutex_lock (&notes_lock);
  g_assert_cmpuint (notes->len, ==, 1);
  g_assert_true (g_str_has_prefix (g_ptr_array_index (notes, 0), "Cowork|Build run_"));
  g_assert_true (g_str_has_suffix (g_ptr_array_index (notes, 0), "|all green"));
  g_mutex_unlock (&notes_lock);
  agent_fixture_free (f);
}

static void
test_integration_notification (void)
{
  g_autoptr (AgentFixture) f = wf_started ();
  g_autoptr (JsonObject) d
      = run_one (f,
                 "{\"id\":\"n\",\"type\":\"notification\",\"config\":{\"channel\":\"integration\","
                 "\"platform\":\"telegram\",\"message\":\"hi\"}}",
                 NULL);

  /* the integrations plugin runs, telegram is not connected: its error, and the failure edge */
  g_assert_cmpstr (wf_str (run_of (d), "status"), ==, "completed");
  g_assert_cmpuint (wf_count_node_runs (d, "handled", "succeeded"), ==, 1);
  g_assert_true (g_str_has_prefix (node_error (d), "Sending the notification to telegram failed:"));
}

static void
test_integration_notification_without_plugin (void)
{
  AgentFixture *f = wf_fixture_new (WF_T0);
  g_autofree gchar *all = g_strdup (g_getenv ("COWORK_TEST_PLUGIN_DIRS"));
  g_auto (GStrv) parts = g_strsplit (all, ":", -1);
  g_autoptr (GString) dirs = g_string_new (NULL);
  g_autoptr (JsonObject) d = NULL;

  for (guint i = 0; parts[i] != NULL; i++)
    if (!g_str_has_suffix (parts[i], "/plugins/integrations"))
      g_string_append_printf (dirs, "%s%s", dirs->len > 0 ? ":" : "", parts[i]);
  g_setenv ("COWORK_TEST_PLUGIN_DIRS", dirs->str, TRUE);
  agent_fixture_start (f);
  g_setenv ("COWORK_TEST_PLUGIN_DIRS", all, TRUE);
  d = run_one (f,
               "{\"id\":\"n\",\"type\":\"notification\",\"config\":{\"platform\":\"slack\","
               "\"message\":\"hi\"}}",
               NULL);
  g_assert_cmpstr (wf_str (run_of (d), "status"), ==, "completed");
  g_assert_nonnull (strstr (node_error (d), "needs the integrations plugin, which is not running"));
  agent_fixture_free (f);
}

static void
test_unattended_permission (void)
{
  g_autoptr (AgentFixture) f = wf_started ();
  g_autofree gchar *target = g_strdup_printf ("/var/tmp/cw-wf-denied-%u.txt", g_random_int ());
  g_autofree gchar *script = g_strdup_printf (
      "{\"responses\":[{\"events\":[{\"toolCall\":{\"id\":\"c1\",\"name\":\"write_file\","
      "\"args\":{\"path\":\"%s\",\"content\":\"x\"}}}]},{\"events\":[{\"text\":\"could not\"}]}]}",
      target);
  g_autoptr (JsonObject) d = NULL;

  if (!agent_fixture_start_llm (f, script))
    return;
  d = run_one (f, "{\"id\":\"n\",\"type\":\"agent_step\",\"config\":{\"prompt\":\"write it\"}}",
               NULL);
  /* the step did not wait for a person: the write was denied and the turn went on */
  g_assert_cmpstr (wf_str (run_of (d), "status"), ==, "completed");
  g_assert_cmpstr (wf_str (wf_node_output (d, "n"), "text"), ==, "could not");
  g_assert_false (g_file_test (target, G_FILE_TEST_EXISTS));
}

static void
test_compensation (void)
{
  g_autoptr (AgentFixture) f = wf_started ();
  g_autoptr (JsonObject) d = NULL;
  g_autoptr (GPtrArray) requests = NULL;
  JsonArray *events;
  guint applied = 0;

  if (!agent_fixture_start_llm (f, "{\"responses\":[{\"events\":[{\"text\":\"undone\"}]}]}"))
    return;
  d = run_one (
      f,
      "{\"id\":\"n\",\"type\":\"condition\",\"retryProfile\":\"fast_safe\",\"config\":{"
      "\"expression\":\"1 ==\",\"compensation\":{\"strategy\":\"before_retry\","
      "\"promptTemplate\":\"undo node {{compensation.nodeId}}: {{compensation.error}}\"}}}",
      NULL);
  g_assert_cmpstr (wf_str (run_of (d), "status"), ==, "completed");
  g_assert_cmpuint (wf_count_node_runs (d, "n", "failed"), ==, 2);
  events = json_object_get_array_member (d, "events");
  for (guint i = 0; i < json_array_get_length (events); i++)
    {
      JsonObject *e = json_array_get_object_element (events, i);
      JsonObject *payload = json_object_get_object_member (e, "payload");
      if (g_strcmp0 (wf_str (e, "type"), "node_failed") == 0
          && json_object_get_boolean_member_with_default (payload, "compensationApplied", FALSE))
        applied++;
    }
  /* once, before the retry; not after the last attempt */
  g_assert_cmpuint (applied, ==, 1);
  requests = agent_fixture_llm_requests (f);
  g_assert_cmpuint (requests->len, ==, 1);
}

static void
test_timeout_and_deadline (void)
{
  g_autoptr (AgentFixture) f = wf_started ();
  g_autofree gchar *timed = NULL, *deadline = NULL, *r1 = NULL, *r2 = NULL;
  g_autoptr (JsonObject) d1 = NULL, d2 = NULL;

  if (!agent_fixture_start_llm (
          f, "{\"responses\":[{\"events\":[{\"delayMs\":1500},{\"text\":\"late\"}]}]}"))
    return;
  timed = one_node (f,
                    "{\"id\":\"n\",\"type\":\"agent_step\",\"timeoutMs\":1000,\"retry\":"
                    "{\"maxAttempts\":1},\"config\":{\"prompt\":\"slow\"}}",
                    NULL);
  deadline = one_node (f, "{\"id\":\"n\",\"type\":\"agent_step\",\"config\":{\"prompt\":\"slow\"}}",
                       ",\"maxRunTimeMs\":1000");
  r1 = wf_run (f, timed, NULL);
  r2 = wf_run (f, deadline, NULL);
  g_usleep (300000);
  /* the scheduler's clock passes both limits while the steps run */
  wf_set_clock (f, WF_T0 + 5000);
  d1 = wf_wait_end (f, r1);
  d2 = wf_wait_end (f, r2);
  g_assert_cmpuint (wf_count_node_runs (d1, "n", "failed"), ==, 1);
  g_assert_nonnull (strstr (node_error (d1), "timed out after 1000 ms"));
  g_assert_cmpuint (wf_count_node_runs (d1, "handled", "succeeded"), ==, 1);
  g_assert_cmpstr (wf_str (run_of (d2), "status"), ==, "failed");
  g_assert_nonnull (strstr (wf_str (run_of (d2), "error"), "maximum run time of 1000 ms"));
}

static void
test_subworkflow_not_allowed (void)
{
  g_autoptr (AgentFixture) f = wf_started ();
  g_autofree gchar *child = wf_publish (
      f, "{\"name\":\"private\",\"triggers\":[{\"id\":\"call\",\"type\":\"workflow_call\","
         "\"allowedCallerIds\":[\"wf_someone_else\"]}],\"nodes\":[{\"id\":\"start\",\"type\":"
         "\"start\"},{\"id\":\"end\",\"type\":\"end\"}],\"edges\":[{\"from\":\"start\",\"to\":"
         "\"end\"}]}");
  g_autofree gchar *node = g_strdup_printf (
      "{\"id\":\"n\",\"type\":\"subworkflow\",\"config\":{\"workflowId\":\"%s\"}}", child);
  g_autoptr (JsonObject) d = run_one (f, node, NULL);
  g_autoptr (JsonNode) runs = wf_call (f, "workflow_list_runs", "{\"workflowId\":\"%s\"}", child);

  g_assert_nonnull (strstr (node_error (d), "may not call workflow"));
  g_assert_cmpuint (json_array_get_length (json_node_get_array (runs)), ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  if (g_getenv ("DBUS_SESSION_BUS_ADDRESS") == NULL)
    g_error ("run this test under dbus-run-session");
  start_notification_server ();
  g_test_add_func ("/workflow/nodes/desktop-notification", test_desktop_notification);
  g_test_add_func ("/workflow/nodes/integration-notification", test_integration_notification);
  g_test_add_func ("/workflow/nodes/integration-notification-without-plugin",
                   test_integration_notification_without_plugin);
  g_test_add_func ("/workflow/nodes/unattended-permission", test_unattended_permission);
  g_test_add_func ("/workflow/nodes/compensation", test_compensation);
  g_test_add_func ("/workflow/nodes/timeout-and-deadline", test_timeout_and_deadline);
  g_test_add_func ("/workflow/nodes/subworkflow-not-allowed", test_subworkflow_not_allowed);
  return g_test_run ();
}
