/* test-dbus-interactions.c: pending interactions in the real coworkd (run under
 * dbus-run-session): asked by a plugin, kept across kill -9 with the same id, in the
 * bootstrap state, answered once from a second socket client and from D-Bus, the resolution
 * seen by every client; a disabled owner's bootstrap member goes and its answers are refused;
 * a D-Bus client that leaves the bus mid-call has its call cancelled, one that stays does not.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-dbus-test.h"

#include <signal.h>

typedef struct
{
  CwTestDaemon *daemon;
  GDBusConnection *bus;
  CwTestEventLog *dbus_log; /* Event signals on D-Bus */
} Fixture;

static void
fixture_start (Fixture *f)
{
  g_autofree gchar *plugins
      = g_test_build_filename (G_TEST_BUILT, "core", "plugins", "services", NULL);

  f->daemon = cw_test_daemon_new ();
  cw_test_daemon_add_arg (f->daemon, "--plugin-dir");
  cw_test_daemon_add_arg (f->daemon, plugins);
  cw_test_daemon_add_arg (f->daemon, "--dbus");
  cw_test_daemon_add_arg (f->daemon, "session");
  f->bus = cw_test_bus_connect (NULL);
  f->dbus_log = cw_test_event_log_new (f->bus);
  cw_test_daemon_start (f->daemon);
  g_assert_true (cw_test_wait_name (f->bus, CW_TEST_NAME, TRUE, 10));
}

static void
fixture_stop (Fixture *f)
{
  g_clear_pointer (&f->dbus_log, cw_test_event_log_free);
  g_clear_object (&f->bus);
  cw_test_daemon_free (f->daemon);
}

static void
restart_after_kill (Fixture *f)
{
  cw_test_daemon_stop (f->daemon, SIGKILL);
  cw_test_daemon_start (f->daemon);
  g_assert_true (cw_test_wait_name (f->bus, CW_TEST_NAME, TRUE, 10));
}

/* A socket client that receives events (after its first authenticated request). */
static CwClient *
listener (Fixture *f)
{
  CwClient *c = cw_test_daemon_connect (f->daemon);
  g_autoptr (JsonNode) pong = cw_test_daemon_call (c, "ping", NULL);

  return c;
}

static gchar *
ask (CwClient *c, const gchar *kind)
{
  g_autofree gchar *params = g_strdup_printf ("{\"kind\":\"%s\",\"sessionId\":\"sess_t\"}", kind);
  g_autoptr (JsonNode) r = cw_test_daemon_call (c, "askertest_ask", params);

  return g_strdup (json_object_get_string_member (json_node_get_object (r), "id"));
}

static gchar *
call_error (CwClient *c, const gchar *command, const gchar *params_json)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) params = cw_json_from_string (params_json, -1, NULL);
  g_autoptr (JsonNode) r = cw_client_call (c, command, params, &error);

  g_assert_null (r);
  g_assert_nonnull (error);
  return g_strdup (error->message);
}

/* Reads events until @type about interaction @id; fails after the client's timeout. */
static JsonObject *
wait_event (CwClient *c, const gchar *type, const gchar *id)
{
  for (;;)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (JsonObject) ev = cw_client_next_event (c, &error);
      JsonObject *data, *it;

      g_assert_no_error (error);
      if (g_strcmp0 (json_object_get_string_member (ev, "type"), type) != 0)
        continue;
      data = json_object_get_object_member (ev, "data");
      it = json_object_get_object_member (data, "interaction");
      if (g_strcmp0 (json_object_get_string_member (it, "id"), id) == 0)
        return json_object_ref (it);
    }
}

static gboolean
dbus_saw (Fixture *f, const gchar *type, const gchar *id)
{
  g_autofree gchar *entry = g_strdup_printf ("%s:%s", type, id);

  return cw_test_event_log_wait (f->dbus_log, entry, 10);
}

static JsonArray *
pending_in_bootstrap (CwClient *c, JsonNode **keep, JsonObject **status)
{
  JsonObject *state;

  *keep = cw_test_daemon_call (c, "agent_get_bootstrap_state", NULL);
  state = json_node_get_object (*keep);
  if (status != NULL)
    *status = json_object_has_member (state, "askertestStatus")
                  ? json_object_get_object_member (state, "askertestStatus")
                  : NULL;
  return json_object_get_array_member (state, "pendingInteractions");
}

static void
test_kill_then_two_clients (void)
{
  Fixture f = { 0 };
  g_autoptr (CwClient) a = NULL;
  g_autoptr (CwClient) b = NULL;
  g_autoptr (JsonNode) keep = NULL;
  g_autoptr (JsonNode) answered = NULL;
  g_autoptr (JsonNode) answers = NULL;
  g_autoptr (JsonObject) seen_a = NULL;
  g_autoptr (JsonObject) seen_b = NULL;
  g_autofree gchar *perm = NULL;
  g_autofree gchar *err = NULL;
  g_autofree gchar *params = NULL;
  JsonArray *pending;
  JsonObject *status, *it;

  fixture_start (&f);
  a = listener (&f);
  perm = ask (a, "permission");
  g_assert_true (g_str_has_prefix (perm, "perm_"));
  g_clear_pointer (&seen_a, json_object_unref);
  seen_a = wait_event (a, "interaction:created", perm);
  g_assert_cmpstr (json_object_get_string_member (seen_a, "status"), ==, "pending");
  g_assert_true (dbus_saw (&f, "interaction:created", perm));

  /* kill -9 with the permission pending: after the restart it is there, same id. */
  g_clear_pointer (&a, cw_client_free);
  restart_after_kill (&f);
  a = listener (&f);
  b = listener (&f);
  pending = pending_in_bootstrap (a, &keep, &status);
  g_assert_cmpuint (json_array_get_length (pending), ==, 1);
  it = json_array_get_object_element (pending, 0);
  g_assert_cmpstr (json_object_get_string_member (it, "id"), ==, perm);
  g_assert_cmpstr (json_object_get_string_member (it, "kind"), ==, "permission");
  g_assert_cmpstr (json_object_get_string_member (it, "owner"), ==, "askertest");
  g_assert_cmpstr (json_object_get_string_member (it, "sessionId"), ==, "sess_t");
  g_assert_cmpstr (
      json_object_get_string_member (json_object_get_object_member (it, "payload"), "id"), ==,
      perm);
  g_assert_cmpint (json_object_get_int_member (status, "answered"), ==, 0);
  g_assert_true (json_object_get_boolean_member (status, "watching"));

  /* Bad answers harm nothing. */
  params = g_strdup_printf ("{\"id\":\"%s\",\"answer\":\"maybe\"}", perm);
  err = call_error (b, "interaction_respond", params);
  g_assert_nonnull (strstr (err, "must be allow, allow_once, allow_session or deny"));
  g_clear_pointer (&err, g_free);
  err = call_error (b, "interaction_respond", "{\"id\":\"perm_nope\",\"answer\":\"allow\"}");
  g_assert_cmpstr (err, ==, "Interaction not found: perm_nope");
  g_clear_pointer (&err, g_free);

  /* The second socket client answers; both clients and D-Bus see it resolved. */
  g_clear_pointer (&params, g_free);
  params = g_strdup_printf ("{\"id\":\"%s\",\"answer\":\"allow_once\"}", perm);
  answered = cw_test_daemon_call (b, "interaction_respond", params);
  it = json_object_get_object_member (json_node_get_object (answered), "interaction");
  g_assert_cmpstr (json_object_get_string_member (it, "status"), ==, "answered");
  g_assert_cmpstr (json_object_get_string_member (it, "answer"), ==, "allow_once");
  g_assert_true (g_str_has_prefix (json_object_get_string_member (it, "resolvedBy"), "socket:"));
  g_clear_pointer (&seen_a, json_object_unref);
  seen_a = wait_event (a, "interaction:resolved", perm);
  seen_b = wait_event (b, "interaction:resolved", perm);
  g_assert_cmpstr (json_object_get_string_member (seen_a, "answer"), ==, "allow_once");
  g_assert_cmpstr (json_object_get_string_member (seen_b, "answer"), ==, "allow_once");
  g_assert_true (dbus_saw (&f, "interaction:resolved", perm));

  /* Twice: a clear error; the owner got the answer exactly once. */
  err = call_error (a, "interaction_respond", params);
  g_assert_nonnull (strstr (err, "was already answered"));
  answers = cw_test_daemon_call (a, "askertest_answers", NULL);
  g_assert_cmpuint (json_array_get_length (
                        json_object_get_array_member (json_node_get_object (answers), "answers")),
                    ==, 1);
  g_clear_pointer (&keep, json_node_unref);
  pending = pending_in_bootstrap (a, &keep, &status);
  g_assert_cmpuint (json_array_get_length (pending), ==, 0);
  g_assert_cmpint (json_object_get_int_member (status, "answered"), ==, 1);
  fixture_stop (&f);
}

static void
test_kill_then_dbus_answers (void)
{
  Fixture f = { 0 };
  g_autoptr (CwClient) a = NULL;
  g_autoptr (CwClient) b = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) r = NULL;
  g_autoptr (JsonNode) again = NULL;
  g_autoptr (JsonNode) answers = NULL;
  g_autoptr (JsonObject) seen_a = NULL;
  g_autoptr (JsonObject) seen_b = NULL;
  g_autofree gchar *q = NULL;
  g_autofree gchar *params = NULL;
  JsonObject *entry;

  fixture_start (&f);
  a = listener (&f);
  q = ask (a, "question");
  g_clear_pointer (&a, cw_client_free);
  restart_after_kill (&f);
  a = listener (&f);
  b = listener (&f);

  params = g_strdup_printf ("{\"id\":\"%s\",\"answer\":[\"red\",\"blue\"]}", q);
  r = cw_test_dbus_call (f.bus, "interaction_respond", params, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (
      json_object_get_string_member (
          json_object_get_object_member (json_node_get_object (r), "interaction"), "status"),
      ==, "answered");
  seen_a = wait_event (a, "interaction:resolved", q);
  seen_b = wait_event (b, "interaction:resolved", q);
  g_assert_true (g_str_has_prefix (json_object_get_string_member (seen_a, "resolvedBy"), "dbus:"));
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (seen_b, "answer")), ==, 2);
  g_assert_true (dbus_saw (&f, "interaction:resolved", q));

  again = cw_test_dbus_call (f.bus, "interaction_respond", params, &error);
  g_assert_null (again);
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, "was already answered"));

  answers = cw_test_daemon_call (b, "askertest_answers", NULL);
  entry = json_array_get_object_element (
      json_object_get_array_member (json_node_get_object (answers), "answers"), 0);
  g_assert_cmpstr (json_object_get_string_member (entry, "id"), ==, q);
  g_assert_cmpstr (json_object_get_string_member (entry, "status"), ==, "answered");
  fixture_stop (&f);
}

static void
test_disabled_owner (void)
{
  Fixture f = { 0 };
  g_autoptr (CwClient) a = NULL;
  g_autoptr (JsonNode) keep = NULL;
  g_autoptr (JsonNode) list = NULL;
  g_autofree gchar *appr = NULL;
  g_autofree gchar *err = NULL;
  g_autofree gchar *params = NULL;
  g_autofree gchar *expected = NULL;
  JsonObject *status = NULL;
  JsonArray *pending;

  fixture_start (&f);
  a = listener (&f);
  appr = ask (a, "approval");
  g_clear_pointer (&a, cw_client_free);
  g_assert_cmpint (cw_test_daemon_stop (f.daemon, SIGTERM), ==, 0);

  /* Its start fails: its member is gone; its interaction is still listed but refused. */
  cw_test_daemon_setenv (f.daemon, "COWORK_TEST_ASKER_FAIL_START", "1");
  cw_test_daemon_start (f.daemon);
  a = listener (&f);
  pending = pending_in_bootstrap (a, &keep, &status);
  g_assert_null (status);
  g_assert_false (json_object_has_member (json_node_get_object (keep), "askertestStatus"));
  g_assert_cmpuint (json_array_get_length (pending), ==, 1);
  list = cw_test_daemon_call (a, "interaction_list", "{\"owner\":\"askertest\"}");
  g_assert_cmpuint (json_array_get_length (
                        json_object_get_array_member (json_node_get_object (list), "interactions")),
                    ==, 1);
  params = g_strdup_printf ("{\"id\":\"%s\",\"answer\":{\"approved\":true}}", appr);
  err = call_error (a, "interaction_respond", params);
  expected = g_strdup_printf ("cannot answer %s: its owner askertest is not running", appr);
  g_assert_cmpstr (err, ==, expected);
  fixture_stop (&f);
}

/* askertest_held as {held, cancelled}. */
static void
held (CwClient *c, gint64 *held_out, gint64 *cancelled_out)
{
  g_autoptr (JsonNode) r = cw_test_daemon_call (c, "askertest_held", NULL);
  JsonObject *o = json_node_get_object (r);

  *held_out = json_object_get_int_member (o, "held");
  *cancelled_out = json_object_get_int_member (o, "cancelled");
}

/* Polls askertest_held until @want calls were cancelled (or 5 s pass). */
static void
wait_cancelled (CwClient *c, gint64 want, gint64 *held_out, gint64 *cancelled_out)
{
  held (c, held_out, cancelled_out);
  for (guint i = 0; i < 500 && *cancelled_out < want; i++)
    {
      g_usleep (10 * G_TIME_SPAN_MILLISECOND);
      held (c, held_out, cancelled_out);
    }
}

static void
test_dbus_caller_leaves (void)
{
  Fixture f = { 0 };
  g_autoptr (CwClient) c = NULL;
  g_autoptr (GDBusConnection) stays = NULL, leaves = NULL;
  gint64 n_held = 0, n_cancelled = 0;

  fixture_start (&f);
  c = listener (&f);
  stays = cw_test_bus_connect (NULL);
  leaves = cw_test_bus_connect (NULL);
  for (GDBusConnection *const *bus = (GDBusConnection *const[]){ stays, leaves, NULL }; *bus; bus++)
    g_dbus_connection_call (*bus, CW_TEST_NAME, CW_TEST_PATH, CW_TEST_IFACE, "Call",
                            g_variant_new ("(ss)", "askertest_hold", "{}"), G_VARIANT_TYPE ("(s)"),
                            G_DBUS_CALL_FLAGS_NONE, G_MAXINT, NULL, NULL, NULL);
  for (guint i = 0; i < 500 && n_held < 2; i++)
    {
      g_main_context_iteration (NULL, FALSE);
      g_usleep (10 * G_TIME_SPAN_MILLISECOND);
      held (c, &n_held, &n_cancelled);
    }
  g_assert_cmpint (n_held, ==, 2);
  g_assert_cmpint (n_cancelled, ==, 0);

  /* The bus tells the daemon the name has gone: that caller's call ends, the other waits. */
  g_dbus_connection_close_sync (leaves, NULL, NULL);
  wait_cancelled (c, 1, &n_held, &n_cancelled);
  g_assert_cmpint (n_cancelled, ==, 1);
  g_assert_cmpint (n_held, ==, 1);
  for (guint i = 0; i < 20; i++)
    g_main_context_iteration (NULL, FALSE);
  held (c, &n_held, &n_cancelled);
  g_assert_cmpint (n_held, ==, 1);

  g_dbus_connection_close_sync (stays, NULL, NULL);
  wait_cancelled (c, 2, &n_held, &n_cancelled);
  g_assert_cmpint (n_cancelled, ==, 2);
  g_assert_cmpint (n_held, ==, 0);
  fixture_stop (&f);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  cw_test_dbus_init ();
  if (g_getenv ("DBUS_SESSION_BUS_ADDRESS") == NULL)
    {
      g_test_skip ("needs a session bus (run under dbus-run-session)");
      return 77;
    }
  g_test_add_func ("/cowork/interactions/daemon/kill-then-two-clients", test_kill_then_two_clients);
  g_test_add_func ("/cowork/interactions/daemon/kill-then-dbus-answers",
                   test_kill_then_dbus_answers);
  g_test_add_func ("/cowork/interactions/daemon/disabled-owner", test_disabled_owner);
  g_test_add_func ("/cowork/dbus/caller-leaves", test_dbus_caller_leaves);
  return g_test_run ();
}
