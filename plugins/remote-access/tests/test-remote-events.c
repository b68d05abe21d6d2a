/* test-remote-events.c: events on the phones' WebSocket: resume with ?since= and the resume
 * message across a daemon restart (nothing missing, nothing twice), per-session
 * subscriptions, and a phone that stops reading gets a resync instead of the daemon's
 * memory growing.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-remote-test.h"

#include <signal.h>
#include <string.h>

static gint64
emit (AgentFixture *f, guint count)
{
  g_autofree gchar *params = g_strdup_printf ("{\"count\":%u}", count);
  g_autoptr (JsonObject) r = remote_call (f, "consumertest_emit", params);

  return json_object_get_int_member (r, "last");
}

/* The seqs of the stored consumertest:tick events after @after. */
static GArray *
stored_ticks (AgentFixture *f, gint64 after)
{
  g_autofree gchar *params
      = g_strdup_printf ("{\"afterSeq\":%" G_GINT64_FORMAT ",\"limit\":10000}", after);
  g_autoptr (JsonObject) r = remote_call (f, "agent_get_events_since", params);
  JsonArray *events = json_object_get_array_member (r, "events");
  GArray *seqs = g_array_new (FALSE, FALSE, sizeof (gint64));

  for (guint i = 0; i < json_array_get_length (events); i++)
    {
      JsonObject *e = json_array_get_object_element (events, i);
      gint64 seq = json_object_get_int_member (e, "seq");
      if (g_strcmp0 (json_object_get_string_member (e, "type"), "consumertest:tick") == 0)
        g_array_append_val (seqs, seq);
    }
  return seqs;
}

/* Reads tick events from @ws until one with seq @last; asserts they are exactly @expected. */
static void
assert_ticks (RemoteWs *ws, GArray *expected)
{
  guint got = 0;

  while (got < expected->len)
    {
      g_autoptr (JsonObject) frame = remote_ws_next_type (ws, "event", 10000);
      JsonObject *event = remote_frame_event (frame);
      if (g_strcmp0 (json_object_get_string_member (event, "type"), "consumertest:tick") != 0)
        {
          g_assert_cmpstr (json_object_get_string_member (event, "type"), !=, "resync");
          continue;
        }
      g_assert_cmpint (json_object_get_int_member (event, "seq"), ==,
                       g_array_index (expected, gint64, got));
      got++;
    }
}

static void
assert_no_more_ticks (RemoteWs *ws)
{
  remote_ws_pump (ws, 300);
  for (GList *l = ws->messages.head; l != NULL; l = l->next)
    {
      JsonObject *m = l->data;
      if (g_strcmp0 (json_object_get_string_member (m, "type"), "event") == 0)
        g_assert_cmpstr (json_object_get_string_member (remote_frame_event (m), "type"), !=,
                         "consumertest:tick");
    }
}

static void
test_resume_across_restart (void)
{
  g_autoptr (AgentFixture) f = remote_fixture_new (FALSE);
  g_autofree gchar *base = NULL, *token = NULL, *query = NULL, *resume = NULL;
  g_autoptr (GArray) expected = NULL, live = NULL;
  g_autoptr (RemoteWs) ws = NULL;
  gint64 last_seen, after_restart;

  agent_fixture_start (f);
  base = remote_enable (f);
  token = remote_pair (f, base, "Phone", NULL);
  ws = remote_ws_open (base, NULL, token);
  {
    g_autoptr (JsonObject) ready = remote_ws_next_type (ws, "ready", 5000);
    gint64 start = json_object_get_int_member (ready, "eventCursor");
    last_seen = emit (f, 5);
    expected = stored_ticks (f, start);
    g_assert_cmpuint (expected->len, ==, 5);
    assert_ticks (ws, expected);
  }
  g_clear_pointer (&ws, remote_ws_free);

  /* Missed while away: five before the restart, three after it. */
  emit (f, 5);
  agent_fixture_stop (f, SIGTERM);
  agent_fixture_start (f);
  g_free (base);
  base = remote_enable (f);
  after_restart = emit (f, 3);
  g_clear_pointer (&expected, g_array_unref);
  expected = stored_ticks (f, last_seen);
  g_assert_cmpuint (expected->len, ==, 8);
  g_assert_cmpint (g_array_index (expected, gint64, 7), ==, after_restart);

  /* The same token still works, and ?since= replays exactly what was missed. */
  query = g_strdup_printf ("since=%" G_GINT64_FORMAT, last_seen);
  ws = remote_ws_open (base, query, token);
  json_object_unref (remote_ws_next_type (ws, "ready", 5000));
  assert_ticks (ws, expected);
  /* Then live ones, once each. */
  emit (f, 2);
  live = stored_ticks (f, after_restart);
  g_assert_cmpuint (live->len, ==, 2);
  assert_ticks (ws, live);
  assert_no_more_ticks (ws);

  /* The resume message does the same on an open socket. */
  resume = g_strdup_printf ("{\"type\":\"resume\",\"since\":%" G_GINT64_FORMAT "}", after_restart);
  remote_ws_send (ws, resume);
  assert_ticks (ws, live);
  assert_no_more_ticks (ws);
  g_clear_pointer (&ws, remote_ws_free);

  /* A cursor from nowhere (beyond the newest event) hides nothing that comes later. */
  ws = remote_ws_open (base, "since=999999999", token);
  json_object_unref (remote_ws_next_type (ws, "ready", 5000));
  {
    gint64 seq = emit (f, 1);
    g_autoptr (GArray) one = stored_ticks (f, seq - 1);
    assert_ticks (ws, one);
  }
  g_clear_pointer (&ws, remote_ws_free);
  agent_fixture_stop (f, SIGTERM);
}

/* A cursor older than what is stored gives a resync marker first. */
static void
test_resume_gap (void)
{
  g_autoptr (AgentFixture) f = remote_fixture_new (FALSE);
  g_autofree gchar *base = NULL, *token = NULL;
  g_autoptr (RemoteWs) ws = NULL;
  g_autoptr (JsonObject) frame = NULL;
  JsonObject *event;

  cw_test_daemon_set_config (f->daemon,
                             "[events]\nkeep-events=100\nmax-events=100\nring-size=100\n");
  agent_fixture_start (f);
  base = remote_enable (f);
  token = remote_pair (f, base, "Phone", NULL);
  for (guint i = 0; i < 3; i++)
    emit (f, 1000);
  ws = remote_ws_open (base, "since=1", token);
  json_object_unref (remote_ws_next_type (ws, "ready", 5000));
  frame = remote_ws_next_type (ws, "event", 5000);
  event = remote_frame_event (frame);
  g_assert_cmpstr (json_object_get_string_member (event, "type"), ==, "resync");
  g_assert_cmpstr (
      json_object_get_string_member (json_object_get_object_member (event, "data"), "reason"), ==,
      "cursor_gap");
  agent_fixture_stop (f, SIGTERM);
}

static void
ask (AgentFixture *f, const gchar *session)
{
  g_autofree gchar *params
      = session != NULL ? g_strdup_printf ("{\"kind\":\"question\",\"sessionId\":\"%s\"}", session)
                        : g_strdup ("{\"kind\":\"question\"}");
  g_autoptr (JsonObject) r = remote_call (f, "askertest_ask", params);
}

static void
test_session_filter (void)
{
  g_autoptr (AgentFixture) f = remote_fixture_new (FALSE);
  g_autofree gchar *base = NULL, *token = NULL;
  g_autoptr (RemoteWs) ws = NULL;
  guint a = 0, b = 0, global = 0;

  agent_fixture_start (f);
  base = remote_enable (f);
  token = remote_pair (f, base, "Phone", NULL);
  ws = remote_ws_open (base, NULL, token);
  json_object_unref (remote_ws_next_type (ws, "ready", 5000));
  remote_ws_send (ws, "{\"type\":\"subscribe\",\"sessionId\":\"sess_a\"}");
  {
    g_autoptr (JsonObject) sub = remote_ws_next_type (ws, "subscribed", 5000);
    g_assert_cmpstr (json_object_get_string_member (sub, "sessionId"), ==, "sess_a");
  }
  ask (f, "sess_a");
  ask (f, "sess_b");
  ask (f, NULL);
  ask (f, "sess_a");
  emit (f, 1); /* a global event marks the end */
  for (;;)
    {
      g_autoptr (JsonObject) frame = remote_ws_next_type (ws, "event", 5000);
      JsonObject *event = remote_frame_event (frame);
      const gchar *type = json_object_get_string_member (event, "type");
      JsonNode *sid = json_object_get_member (event, "sessionId");
      const gchar *session = JSON_NODE_HOLDS_NULL (sid) ? NULL : json_node_get_string (sid);
      if (g_strcmp0 (type, "consumertest:tick") == 0)
        break;
      if (g_strcmp0 (type, "interaction:created") != 0)
        continue;
      if (session == NULL)
        global++;
      else if (g_str_equal (session, "sess_a"))
        a++;
      else
        b++;
    }
  g_assert_cmpuint (a, ==, 2);
  g_assert_cmpuint (b, ==, 0);
  g_assert_cmpuint (global, ==, 1);

  /* subscribe without a session: everything again. */
  remote_ws_send (ws, "{\"type\":\"subscribe\",\"sessionId\":null}");
  {
    g_autoptr (JsonObject) sub = remote_ws_next_type (ws, "subscribed", 5000);
    g_assert_true (json_object_get_null_member (sub, "sessionId"));
  }
  ask (f, "sess_b");
  {
    g_autoptr (JsonObject) frame = remote_ws_next_type (ws, "event", 5000);
    g_assert_cmpstr (json_object_get_string_member (remote_frame_event (frame), "sessionId"), ==,
                     "sess_b");
  }
  /* The contract's other messages. */
  remote_ws_send (ws, "{\"type\":\"ping\"}");
  json_object_unref (remote_ws_next_type (ws, "pong", 5000));
  remote_ws_send (ws, "not json");
  json_object_unref (remote_ws_next_type (ws, "error", 5000));
  remote_ws_send (ws, "{\"type\":\"dance\"}");
  {
    g_autoptr (JsonObject) e = remote_ws_next_type (ws, "error", 5000);
    g_assert_nonnull (strstr (json_object_get_string_member (e, "error"), "dance"));
  }
  agent_fixture_stop (f, SIGTERM);
}

/* A phone that stops reading: the daemon's memory stays bounded, and once it reads again it
 * finds a resync marker with the seq it really has. */
static void
test_slow_reader (void)
{
  g_autoptr (AgentFixture) f = remote_fixture_new (FALSE);
  g_autofree gchar *base = NULL, *token = NULL;
  g_autoptr (RemoteWs) ws = NULL;
  g_autoptr (JsonObject) health = NULL;
  gint64 rss_before, rss_after, last = 0, delivered = 0;
  gboolean resync = FALSE;

  agent_fixture_start (f);
  base = remote_enable (f);
  token = remote_pair (f, base, "Phone", NULL);
  ws = remote_ws_open (base, NULL, token);
  json_object_unref (remote_ws_next_type (ws, "ready", 5000));
  emit (f, 1000);
  rss_before = cw_test_daemon_status_kb (f->daemon, "VmRSS");
  /* Not reading: the main context of this test is not run while the daemon emits. */
  for (guint i = 0; i < 60; i++)
    last = emit (f, 2000);
  rss_after = cw_test_daemon_status_kb (f->daemon, "VmRSS");
  g_test_message ("RSS %" G_GINT64_FORMAT " kB -> %" G_GINT64_FORMAT " kB", rss_before, rss_after);
  g_assert_cmpint (rss_after - rss_before, <, 64 * 1024);
  health = remote_call (f, "daemon_health", NULL);

  /* Reading again: a resync marker whose lastDeliveredSeq is the last event received. */
  for (;;)
    {
      g_autoptr (JsonObject) frame = remote_ws_next_type (ws, "event", 20000);
      JsonObject *event = remote_frame_event (frame);
      if (g_strcmp0 (json_object_get_string_member (event, "type"), "resync") == 0)
        {
          JsonObject *data = json_object_get_object_member (event, "data");
          g_assert_cmpint (json_object_get_int_member (data, "lastDeliveredSeq"), ==, delivered);
          resync = TRUE;
          break;
        }
      delivered = json_object_get_int_member (event, "seq");
    }
  g_assert_true (resync);
  g_assert_cmpint (delivered, <, last);
  agent_fixture_stop (f, SIGTERM);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/remote-access/events/resume-across-restart", test_resume_across_restart);
  g_test_add_func ("/remote-access/events/resume-gap", test_resume_gap);
  g_test_add_func ("/remote-access/events/session-filter", test_session_filter);
  g_test_add_func ("/remote-access/events/slow-reader", test_slow_reader);
  return g_test_run ();
}
