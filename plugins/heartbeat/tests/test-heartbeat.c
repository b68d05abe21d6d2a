/* test-heartbeat.c: the heartbeat plugin in the real daemon, on the test clock: the config
 * (as the desktop app sends it, every optional field null) survives restarts, the original's
 * heartbeat.json is imported once, ticks follow the scheduler, the queue keeps its order and
 * its bound, each kind of queued event is acted on, an event in flight at a crash is
 * reported, the check-in prompt reaches the agent and the fake LLM, and coworkctl heartbeat.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-cron-test.h"

#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>

#define T0 CRON_T0

#define HELLO                                                                                      \
  "{\"responses\":[{\"events\":[{\"text\":\"Hello from the fake.\"}]},"                            \
  "{\"events\":[{\"text\":\"Nothing to report.\"}]},"                                              \
  "{\"events\":[{\"text\":\"Still nothing.\"}]}]}"

/* A daemon on the test clock at T0, with the compactor test plugin when @compactor. */
static AgentFixture *
hb_new (gboolean compactor)
{
  AgentFixture *f = cron_fixture_new (T0);

  if (compactor)
    {
      cw_test_daemon_add_arg (f->daemon, "--plugin-dir");
      cw_test_daemon_add_arg (f->daemon, COMPACTOR_DIR);
    }
  return f;
}

static JsonNode *
hb_call (AgentFixture *f, const gchar *command, const gchar *params)
{
  return cw_test_daemon_call (f->client, command, params);
}

static JsonObject *
hb_status (AgentFixture *f)
{
  g_autoptr (JsonNode) node = hb_call (f, "heartbeat_get_status", NULL);

  return json_object_ref (cw_test_obj (node));
}

static JsonObject *
hb_config (AgentFixture *f)
{
  g_autoptr (JsonNode) node = hb_call (f, "heartbeat_get_config", NULL);

  return json_object_ref (cw_test_obj (node));
}

static gchar *
hb_queue (AgentFixture *f, const gchar *input_json)
{
  g_autofree gchar *params = g_strdup_printf ("{\"input\":%s}", input_json);
  g_autoptr (JsonNode) node = hb_call (f, "heartbeat_queue_event", params);
  const gchar *id = cron_str (cw_test_obj (node), "eventId");

  g_assert_nonnull (id);
  g_assert_true (g_str_has_prefix (id, "evt_"));
  return g_strdup (id);
}

static gboolean
bool_of (JsonObject *obj, const gchar *name)
{
  g_assert_true (json_object_has_member (obj, name));
  return json_object_get_boolean_member (obj, name);
}

/* Reads events until event:processed came for each of @ids; returns id -> data. */
static GHashTable *
wait_processed (AgentFixture *f, const gchar *const *ids, GPtrArray *seen)
{
  GHashTable *done
      = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) json_object_unref);

  while (g_hash_table_size (done) < g_strv_length ((gchar **) ids))
    {
      g_autoptr (JsonObject) ev = agent_wait_event (f->client, "event:processed", NULL, seen);
      JsonObject *data = agent_event_data (ev);
      JsonObject *event = json_object_get_object_member (data, "event");
      const gchar *id = cron_str (event, "id");

      if (g_strv_contains (ids, id))
        g_hash_table_insert (done, g_strdup (id), json_object_ref (data));
    }
  return done;
}

static void
test_config_round_trip (void)
{
  g_autoptr (AgentFixture) f = hb_new (FALSE);
  g_autoptr (JsonObject) config = NULL, status = NULL, after = NULL;
  g_autoptr (JsonNode) set = NULL, configured = NULL, events = NULL;
  g_autofree gchar *err = NULL, *id = NULL;

  agent_fixture_start (f);
  /* The defaults of contract §5; and the heartbeat runs from the start. */
  config = hb_config (f);
  g_assert_true (bool_of (config, "enabled"));
  g_assert_cmpint (cron_int (config, "intervalMs"), ==, 60000);
  g_assert_true (bool_of (config, "systemEventsEnabled"));
  g_assert_true (bool_of (config, "cronEnabled"));
  g_assert_false (bool_of (config, "checkInEnabled"));
  status = hb_status (f);
  g_assert_true (bool_of (status, "isRunning"));
  g_assert_cmpint (cron_int (status, "lastHeartbeat"), ==, 0);
  g_assert_cmpint (cron_int (status, "nextHeartbeat"), ==, T0 + 60000);
  g_assert_cmpint (cron_int (status, "eventQueueSize"), ==, 0);
  g_assert_false (bool_of (status, "isProcessing"));

  /* The app's heartbeat_set_config(config): what it has no value for is null. */
  set = hb_call (f, "heartbeat_set_config",
                 "{\"config\":{\"enabled\":true,\"intervalMs\":120000,"
                 "\"systemEventsEnabled\":null,\"cronEnabled\":false}}");
  g_assert_cmpint (cron_int (cw_test_obj (set), "intervalMs"), ==, 120000);
  g_assert_false (bool_of (cw_test_obj (set), "cronEnabled"));
  g_assert_true (bool_of (cw_test_obj (set), "systemEventsEnabled"));
  /* heartbeat_configure with every optional field null changes nothing and answers void. */
  configured = hb_call (f, "heartbeat_configure",
                        "{\"enabled\":null,\"intervalMs\":null,\"systemEventsEnabled\":null,"
                        "\"cronEnabled\":null}");
  g_assert_true (configured == NULL || JSON_NODE_HOLDS_NULL (configured));
  /* Bad values are refused and change nothing. */
  err = agent_call_error (f->client, "heartbeat_configure", "{\"intervalMs\":500}");
  g_assert_nonnull (strstr (err, "intervalMs must be a whole number"));
  g_clear_pointer (&err, g_free);
  err = agent_call_error (f->client, "heartbeat_configure", "{\"enabled\":\"yes\"}");
  g_assert_nonnull (strstr (err, "enabled must be true or false"));
  g_clear_pointer (&err, g_free);
  err = agent_call_error (f->client, "heartbeat_set_config", "{\"config\":[1]}");
  g_assert_nonnull (strstr (err, "config must be an object"));
  g_clear_pointer (&status, json_object_unref);
  status = hb_status (f);
  /* The timer restarted from now with the new interval. */
  g_assert_cmpint (cron_int (status, "nextHeartbeat"), ==, T0 + 120000);
  id = hb_queue (f, "{\"type\":\"custom\",\"payload\":{\"n\":1},\"priority\":null,"
                    "\"sessionId\":null}");

  /* Read back after a clean stop and after kill -9. */
  for (guint round = 0; round < 2; round++)
    {
      agent_fixture_stop (f, round == 0 ? SIGTERM : SIGKILL);
      agent_fixture_start (f);
      g_clear_pointer (&after, json_object_unref);
      after = hb_config (f);
      g_assert_cmpint (cron_int (after, "intervalMs"), ==, 120000);
      g_assert_false (bool_of (after, "cronEnabled"));
      g_assert_true (bool_of (after, "enabled"));
      g_clear_pointer (&status, json_object_unref);
      status = hb_status (f);
      g_assert_true (bool_of (status, "isRunning"));
      /* Same anchor: the schedule goes on with the same instants. */
      g_assert_cmpint (cron_int (status, "nextHeartbeat"), ==, T0 + 120000);
      g_assert_cmpint (cron_int (status, "eventQueueSize"), ==, 1);
      g_clear_pointer (&events, json_node_unref);
      events = hb_call (f, "heartbeat_get_events", NULL);
      g_assert_cmpstr (
          cron_str (json_array_get_object_element (json_node_get_array (events), 0), "id"), ==, id);
    }
}

static void
test_import_original (void)
{
  g_autoptr (AgentFixture) f = hb_new (FALSE);
  g_autofree gchar *home = cron_fixture_home (f);
  g_autofree gchar *dir = g_build_filename (home, ".cowork", NULL);
  g_autofree gchar *target = g_build_filename (dir, "heartbeat.json", NULL);
  g_autofree gchar *fixture = g_test_build_filename (G_TEST_DIST, "data", "heartbeat.json", NULL);
  g_autofree gchar *text = NULL;
  g_autoptr (JsonObject) config = NULL, status = NULL;
  g_autoptr (GError) error = NULL;

  g_assert_true (g_file_get_contents (fixture, &text, NULL, &error));
  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  g_assert_true (g_file_set_contents (target, text, -1, &error));
  agent_fixture_start (f);
  /* The original's {enabled:true, intervalMs:90000, systemEventsEnabled:false,
   * cronEnabled:true}. */
  config = hb_config (f);
  g_assert_true (bool_of (config, "enabled"));
  g_assert_cmpint (cron_int (config, "intervalMs"), ==, 90000);
  g_assert_false (bool_of (config, "systemEventsEnabled"));
  g_assert_true (bool_of (config, "cronEnabled"));
  status = hb_status (f);
  g_assert_cmpint (cron_int (status, "nextHeartbeat"), ==, T0 + 90000);

  /* Imported once: a later change of the file is not read again. */
  json_node_unref (hb_call (f, "heartbeat_configure", "{\"intervalMs\":30000}"));
  g_assert_true (
      g_file_set_contents (target, "{\"enabled\":false,\"intervalMs\":5000}", -1, &error));
  agent_fixture_stop (f, SIGTERM);
  agent_fixture_start (f);
  g_clear_pointer (&config, json_object_unref);
  config = hb_config (f);
  g_assert_true (bool_of (config, "enabled"));
  g_assert_cmpint (cron_int (config, "intervalMs"), ==, 30000);
  g_assert_false (bool_of (config, "systemEventsEnabled"));
}

static void
test_ticks (void)
{
  g_autoptr (AgentFixture) f = hb_new (FALSE);
  g_autoptr (JsonObject) tick = NULL, status = NULL;
  JsonObject *data;

  agent_fixture_start (f);
  cron_set_clock (f, T0 + 60000);
  tick = agent_wait_event (f->client, "heartbeat:tick", NULL, NULL);
  data = agent_event_data (tick);
  g_assert_cmpint (cron_int (data, "timestamp"), ==, T0 + 60000);
  g_assert_cmpint (cron_int (data, "nextHeartbeat"), ==, T0 + 120000);
  status = hb_status (f);
  g_assert_cmpint (cron_int (status, "lastHeartbeat"), ==, T0 + 60000);
  g_assert_cmpint (cron_int (status, "nextHeartbeat"), ==, T0 + 120000);

  /* Stopped: no tick however far the clock goes; start does nothing twice. */
  json_node_unref (hb_call (f, "heartbeat_stop", NULL));
  g_clear_pointer (&status, json_object_unref);
  status = hb_status (f);
  g_assert_false (bool_of (status, "isRunning"));
  g_assert_cmpint (cron_int (status, "nextHeartbeat"), ==, 0);
  cron_set_clock (f, T0 + 600000);
  g_clear_pointer (&status, json_object_unref);
  status = hb_status (f);
  g_assert_cmpint (cron_int (status, "lastHeartbeat"), ==, T0 + 60000);
  json_node_unref (hb_call (f, "heartbeat_start", NULL));
  json_node_unref (hb_call (f, "heartbeat_start", NULL));
  g_clear_pointer (&status, json_object_unref);
  status = hb_status (f);
  g_assert_true (bool_of (status, "isRunning"));
  g_assert_cmpint (cron_int (status, "nextHeartbeat"), ==, T0 + 660000);
  cron_set_clock (f, T0 + 660000);
  g_clear_pointer (&tick, json_object_unref);
  tick = agent_wait_event (f->client, "heartbeat:tick", NULL, NULL);
  g_assert_cmpint (cron_int (agent_event_data (tick), "timestamp"), ==, T0 + 660000);

  /* wake now: a tick at once; an unknown mode is refused. */
  json_node_unref (hb_call (f, "heartbeat_wake", "{\"mode\":null}"));
  g_clear_pointer (&tick, json_object_unref);
  tick = agent_wait_event (f->client, "heartbeat:tick", NULL, NULL);
  g_free (agent_call_error (f->client, "heartbeat_wake", "{\"mode\":\"later\"}"));

  /* Disabled: stopped, and start does not start it. */
  json_node_unref (hb_call (f, "heartbeat_configure", "{\"enabled\":false}"));
  json_node_unref (hb_call (f, "heartbeat_start", NULL));
  g_clear_pointer (&status, json_object_unref);
  status = hb_status (f);
  g_assert_false (bool_of (status, "isRunning"));
  agent_fixture_stop (f, SIGTERM);
  agent_fixture_start (f);
  g_clear_pointer (&status, json_object_unref);
  status = hb_status (f);
  g_assert_false (bool_of (status, "isRunning"));
}

static void
test_queue (void)
{
  g_autoptr (AgentFixture) f = hb_new (FALSE);
  g_autofree gchar *low = NULL, *normal = NULL, *high = NULL, *normal2 = NULL, *err = NULL;
  g_autoptr (JsonNode) events = NULL, cleared = NULL;
  JsonArray *list;
  JsonObject *e;

  agent_fixture_start (f);
  /* Held in the queue while system events are off. */
  json_node_unref (hb_call (f, "heartbeat_configure", "{\"systemEventsEnabled\":false}"));
  low = hb_queue (f, "{\"type\":\"custom\",\"priority\":\"low\"}");
  normal = hb_queue (f, "{\"type\":\"health:check\",\"payload\":null,\"priority\":null,"
                        "\"sessionId\":null}");
  high = hb_queue (f, "{\"type\":\"session:compact\",\"priority\":\"high\","
                      "\"sessionId\":\"sess_x\",\"payload\":{\"why\":\"long\"}}");
  normal2 = hb_queue (f, "{\"type\":\"memory:sync\"}");
  events = hb_call (f, "heartbeat_get_events", NULL);
  list = json_node_get_array (events);
  g_assert_cmpuint (json_array_get_length (list), ==, 4);
  g_assert_cmpstr (cron_str (json_array_get_object_element (list, 0), "id"), ==, high);
  g_assert_cmpstr (cron_str (json_array_get_object_element (list, 1), "id"), ==, normal);
  g_assert_cmpstr (cron_str (json_array_get_object_element (list, 2), "id"), ==, normal2);
  g_assert_cmpstr (cron_str (json_array_get_object_element (list, 3), "id"), ==, low);
  e = json_array_get_object_element (list, 0);
  g_assert_cmpstr (cron_str (e, "type"), ==, "session:compact");
  g_assert_cmpstr (cron_str (e, "priority"), ==, "high");
  g_assert_cmpstr (cron_str (e, "sessionId"), ==, "sess_x");
  g_assert_cmpstr (cron_str (json_object_get_object_member (e, "payload"), "why"), ==, "long");
  g_assert_cmpint (cron_int (e, "scheduledAt"), ==, T0);
  e = json_array_get_object_element (list, 1);
  g_assert_cmpstr (cron_str (e, "priority"), ==, "normal");
  /* Optional members the app sent as null are left out, as the contract's `?` says. */
  g_assert_false (json_object_has_member (e, "payload"));
  g_assert_false (json_object_has_member (e, "sessionId"));

  err = agent_call_error (f->client, "heartbeat_queue_event", "{\"input\":{\"type\":\"reboot\"}}");
  g_assert_nonnull (strstr (err, "type must be one of"));
  g_clear_pointer (&err, g_free);
  err = agent_call_error (f->client, "heartbeat_queue_event",
                          "{\"input\":{\"type\":\"custom\",\"priority\":\"urgent\"}}");
  g_assert_nonnull (strstr (err, "priority must be low, normal or high"));
  g_clear_pointer (&err, g_free);
  err = agent_call_error (f->client, "heartbeat_queue_event",
                          "{\"input\":{\"type\":\"custom\",\"payload\":[1]}}");
  g_assert_nonnull (strstr (err, "payload must be an object"));

  /* A tick while system events are off leaves the queue alone. */
  json_node_unref (hb_call (f, "heartbeat_wake", NULL));
  json_object_unref (agent_wait_event (f->client, "heartbeat:tick", NULL, NULL));
  g_clear_pointer (&events, json_node_unref);
  events = hb_call (f, "heartbeat_get_events", NULL);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (events)), ==, 4);

  cleared = hb_call (f, "heartbeat_clear_events", NULL);
  g_assert_cmpint (cron_int (cw_test_obj (cleared), "count"), ==, 4);
  g_clear_pointer (&events, json_node_unref);
  events = hb_call (f, "heartbeat_get_events", NULL);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (events)), ==, 0);
  agent_fixture_stop (f, SIGKILL);
  agent_fixture_start (f);
  g_clear_pointer (&events, json_node_unref);
  events = hb_call (f, "heartbeat_get_events", NULL);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (events)), ==, 0);
}

/* 1000 events at most: the oldest low one goes first, then the oldest one. */
static void
test_queue_bound (void)
{
  g_autoptr (AgentFixture) f = hb_new (FALSE);
  g_autofree gchar *low = NULL, *first_normal = NULL, *high = NULL, *last = NULL;
  g_autoptr (JsonNode) events = NULL;
  g_autoptr (JsonObject) dropped = NULL;
  JsonArray *list;

  agent_fixture_start (f);
  json_node_unref (hb_call (f, "heartbeat_configure", "{\"systemEventsEnabled\":false}"));
  low = hb_queue (f, "{\"type\":\"custom\",\"priority\":\"low\"}");
  first_normal = hb_queue (f, "{\"type\":\"custom\"}");
  for (guint i = 2; i < 1000; i++)
    g_free (hb_queue (f, "{\"type\":\"custom\"}"));
  high = hb_queue (f, "{\"type\":\"custom\",\"priority\":\"high\"}");
  dropped = agent_wait_event (f->client, "event:processed", NULL, NULL);
  g_assert_cmpstr (
      cron_str (json_object_get_object_member (agent_event_data (dropped), "event"), "id"), ==,
      low);
  g_assert_false (bool_of (agent_event_data (dropped), "success"));
  g_assert_nonnull (strstr (cron_str (agent_event_data (dropped), "error"), "at most 1000"));
  last = hb_queue (f, "{\"type\":\"custom\"}");
  g_clear_pointer (&dropped, json_object_unref);
  dropped = agent_wait_event (f->client, "event:processed", NULL, NULL);
  g_assert_cmpstr (
      cron_str (json_object_get_object_member (agent_event_data (dropped), "event"), "id"), ==,
      first_normal);
  events = hb_call (f, "heartbeat_get_events", NULL);
  list = json_node_get_array (events);
  g_assert_cmpuint (json_array_get_length (list), ==, 1000);
  g_assert_cmpstr (cron_str (json_array_get_object_element (list, 0), "id"), ==, high);
  g_assert_cmpstr (cron_str (json_array_get_object_element (list, 999), "id"), ==, last);
}

static void
test_actions (void)
{
  g_autoptr (AgentFixture) f = hb_new (FALSE);
  g_autofree gchar *health = NULL, *custom = NULL, *compact = NULL, *prune = NULL, *cron = NULL;
  g_autofree gchar *memory = NULL, *session = NULL;
  g_autoptr (GHashTable) done = NULL;
  g_autoptr (GPtrArray) seen = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (JsonObject) status = NULL;
  JsonObject *d, *result;

  agent_fixture_start (f);
  session = agent_fixture_create_session (f);
  health = hb_queue (f, "{\"type\":\"health:check\"}");
  custom = hb_queue (f, "{\"type\":\"custom\",\"payload\":{\"note\":\"hi\"}}");
  /* The real agent has no compaction command: the error says so. */
  {
    g_autofree gchar *input
        = g_strdup_printf ("{\"type\":\"session:compact\",\"sessionId\":\"%s\"}", session);
    compact = hb_queue (f, input);
  }
  prune = hb_queue (f, "{\"type\":\"context:prune\"}");
  cron = hb_queue (f, "{\"type\":\"cron:trigger\",\"payload\":{\"jobId\":\"job_missing\"}}");
  memory = hb_queue (f, "{\"type\":\"memory:sync\",\"priority\":\"low\"}");
  json_node_unref (hb_call (f, "heartbeat_wake", "{\"mode\":\"now\"}"));
  {
    const gchar *ids[] = { health, custom, compact, prune, cron, memory, NULL };
    done = wait_processed (f, ids, seen);
  }
  /* Each was announced with system-event before it was acted on. */
  g_assert_cmpint (agent_find (seen, "system-event", 0), >=, 0);
  g_assert_cmpint (agent_find (seen, "heartbeat:tick", 0), <, agent_find (seen, "system-event", 0));

  d = g_hash_table_lookup (done, health);
  g_assert_true (bool_of (d, "success"));
  result = json_object_get_object_member (d, "result");
  g_assert_cmpstr (cron_str (result, "status"), ==, "healthy");
  g_assert_false (bool_of (result, "degraded"));
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (result, "failedPlugins")),
                    ==, 0);

  d = g_hash_table_lookup (done, custom);
  g_assert_true (bool_of (d, "success"));
  g_assert_cmpstr (cron_str (json_object_get_object_member (
                                 json_object_get_object_member (d, "event"), "payload"),
                             "note"),
                   ==, "hi");

  d = g_hash_table_lookup (done, compact);
  g_assert_false (bool_of (d, "success"));
  g_assert_nonnull (strstr (cron_str (d, "error"), "compact_session"));
  g_assert_nonnull (strstr (cron_str (d, "error"), "Unknown command"));

  d = g_hash_table_lookup (done, prune);
  g_assert_false (bool_of (d, "success"));
  g_assert_cmpstr (cron_str (d, "error"), ==, "context:prune needs a sessionId");

  d = g_hash_table_lookup (done, cron);
  g_assert_false (bool_of (d, "success"));
  g_assert_nonnull (strstr (cron_str (d, "error"), "job_missing"));

  d = g_hash_table_lookup (done, memory);
  g_assert_false (bool_of (d, "success"));
  g_assert_nonnull (strstr (cron_str (d, "error"), "memory_consolidate"));

  status = hb_status (f);
  g_assert_cmpint (cron_int (status, "eventQueueSize"), ==, 0);
  g_assert_false (bool_of (status, "isProcessing"));
}

static void
test_compact_and_prune (void)
{
  g_autoptr (AgentFixture) f = hb_new (TRUE);
  g_autofree gchar *compact = NULL, *prune = NULL;
  g_autoptr (GHashTable) done = NULL;
  JsonObject *d, *result;

  agent_fixture_start (f);
  compact = hb_queue (f, "{\"type\":\"session:compact\",\"sessionId\":\"sess_a\"}");
  prune = hb_queue (f, "{\"type\":\"context:prune\",\"payload\":{\"sessionId\":\"sess_b\"}}");
  json_node_unref (hb_call (f, "heartbeat_wake", NULL));
  {
    const gchar *ids[] = { compact, prune, NULL };
    done = wait_processed (f, ids, NULL);
  }
  d = g_hash_table_lookup (done, compact);
  g_assert_true (bool_of (d, "success"));
  result = json_object_get_object_member (d, "result");
  g_assert_true (bool_of (result, "compacted"));
  g_assert_cmpstr (cron_str (result, "sessionId"), ==, "sess_a");
  g_assert_cmpstr (cron_str (result, "caller"), ==, "plugin:heartbeat");
  d = g_hash_table_lookup (done, prune);
  g_assert_true (bool_of (d, "success"));
  result = json_object_get_object_member (d, "result");
  g_assert_true (bool_of (result, "pruned"));
  g_assert_cmpstr (cron_str (result, "sessionId"), ==, "sess_b");
}

/* An event in flight when the daemon dies is reported after the restart, not run again. */
static void
test_interrupted (void)
{
  g_autoptr (AgentFixture) f = hb_new (TRUE);
  g_autofree gchar *id = NULL;
  g_autoptr (JsonObject) status = NULL, ev = NULL;
  g_autoptr (JsonNode) stored = NULL, events = NULL;
  JsonArray *list;
  gboolean found = FALSE;

  agent_fixture_start (f);
  id = hb_queue (f, "{\"type\":\"session:compact\",\"sessionId\":\"sess_hang\"}");
  json_node_unref (hb_call (f, "heartbeat_wake", NULL));
  ev = agent_wait_event (f->client, "system-event", "sess_hang", NULL);
  status = hb_status (f);
  g_assert_true (bool_of (status, "isProcessing"));
  g_assert_cmpint (cron_int (status, "eventQueueSize"), ==, 0);
  agent_fixture_stop (f, SIGKILL);
  agent_fixture_start (f);
  g_clear_pointer (&status, json_object_unref);
  status = hb_status (f);
  g_assert_false (bool_of (status, "isProcessing"));
  events = hb_call (f, "heartbeat_get_events", NULL);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (events)), ==, 0);
  stored = hb_call (f, "agent_get_events_since", "{\"afterSeq\":0,\"limit\":10000}");
  list = json_object_get_array_member (cw_test_obj (stored), "events");
  for (guint i = 0; i < json_array_get_length (list); i++)
    {
      JsonObject *e = json_array_get_object_element (list, i);
      JsonObject *data = json_object_get_object_member (e, "data");
      if (g_strcmp0 (cron_str (e, "type"), "event:processed") != 0
          || g_strcmp0 (cron_str (json_object_get_object_member (data, "event"), "id"), id) != 0)
        continue;
      g_assert_false (found);
      found = TRUE;
      g_assert_false (bool_of (data, "success"));
      g_assert_nonnull (strstr (cron_str (data, "error"), "Interrupted"));
      g_assert_cmpstr (cron_str (e, "sessionId"), ==, "sess_hang");
    }
  g_assert_true (found);
}

static void
test_cron_trigger (void)
{
  g_autoptr (AgentFixture) f = hb_new (FALSE);
  g_autoptr (JsonObject) job = NULL;
  g_autoptr (JsonArray) runs = NULL;
  g_autoptr (GHashTable) done = NULL, refused = NULL;
  g_autofree gchar *input = NULL, *id = NULL, *id2 = NULL;
  JsonObject *d, *result;

  agent_fixture_start (f);
  if (!agent_fixture_start_llm (f, HELLO))
    return;
  job = cron_create (f,
                     "{\"name\":\"Digest\",\"prompt\":\"hello, summarize\",\"workingDirectory\":"
                     "\"%s\",\"model\":\"local-model\",\"schedule\":{\"type\":\"at\","
                     "\"timestamp\":%" G_GINT64_FORMAT "}}",
                     f->workdir, T0 + 365 * G_GINT64_CONSTANT (86400000));
  input = g_strdup_printf ("{\"type\":\"cron:trigger\",\"payload\":{\"jobId\":\"%s\"}}",
                           cron_str (job, "id"));
  id = hb_queue (f, input);
  json_node_unref (hb_call (f, "heartbeat_wake", NULL));
  {
    const gchar *ids[] = { id, NULL };
    done = wait_processed (f, ids, NULL);
  }
  d = g_hash_table_lookup (done, id);
  g_assert_true (bool_of (d, "success"));
  result = json_object_get_object_member (d, "result");
  g_assert_cmpstr (cron_str (result, "jobId"), ==, cron_str (job, "id"));
  g_assert_cmpstr (cron_str (result, "result"), ==, "success");
  runs = cron_runs (f, cron_str (job, "id"));
  g_assert_cmpuint (json_array_get_length (runs), ==, 1);
  g_assert_cmpuint (cron_llm_requests (f), ==, 1);

  /* cronEnabled false: recorded, not run. */
  json_node_unref (hb_call (f, "heartbeat_configure", "{\"cronEnabled\":false}"));
  id2 = hb_queue (f, input);
  json_node_unref (hb_call (f, "heartbeat_wake", NULL));
  {
    const gchar *ids[] = { id2, NULL };
    refused = wait_processed (f, ids, NULL);
  }
  d = g_hash_table_lookup (refused, id2);
  g_assert_false (bool_of (d, "success"));
  g_assert_nonnull (strstr (cron_str (d, "error"), "cronEnabled is false"));
  g_assert_cmpuint (cron_llm_requests (f), ==, 1);
}

static void
test_check_in (void)
{
  g_autoptr (AgentFixture) f = hb_new (FALSE);
  g_autoptr (JsonObject) ev = NULL, ev2 = NULL;
  g_autoptr (JsonNode) details = NULL;
  g_autoptr (GPtrArray) requests = NULL;
  g_autofree gchar *params = NULL, *session_params = NULL, *session = NULL;
  JsonObject *data, *session_obj;

  agent_fixture_start (f);
  if (!agent_fixture_start_llm (f, HELLO))
    return;
  params = g_strdup_printf ("{\"config\":{\"enabled\":null,\"intervalMs\":null,"
                            "\"checkInEnabled\":true,\"checkInIntervalMs\":120000,"
                            "\"checkInPrompt\":\"hello, any news?\",\"checkInSessionId\":null,"
                            "\"checkInWorkingDirectory\":\"%s\"}}",
                            f->workdir);
  json_node_unref (hb_call (f, "heartbeat_set_config", params));
  /* The tick and check-in schedules start one tick interval from now. */
  cron_set_clock (f, T0 + 60000);
  ev = agent_wait_event (f->client, "heartbeat:check_in", NULL, NULL);
  data = agent_event_data (ev);
  g_assert_true (bool_of (data, "success"));
  g_assert_true (JSON_NODE_HOLDS_NULL (json_object_get_member (data, "error")));
  session = g_strdup (cron_str (data, "sessionId"));
  g_assert_nonnull (session);
  session_params = g_strdup_printf ("{\"sessionId\":\"%s\"}", session);
  details = hb_call (f, "get_session", session_params);
  session_obj = cw_test_obj (details);
  g_assert_cmpstr (cron_str (session_obj, "title"), ==, "Heartbeat check-in");
  g_assert_cmpstr (cron_str (session_obj, "type"), ==, "isolated");
  g_assert_cmpstr (cron_str (session_obj, "workingDirectory"), ==, f->workdir);
  requests = agent_fixture_llm_requests (f);
  g_assert_cmpuint (requests->len, ==, 1);
  {
    JsonArray *messages = json_object_get_array_member (
        json_object_get_object_member (g_ptr_array_index (requests, 0), "body"), "messages");
    JsonObject *last
        = json_array_get_object_element (messages, json_array_get_length (messages) - 1);
    g_assert_cmpstr (cron_str (last, "role"), ==, "user");
    g_assert_nonnull (strstr (cron_str (last, "content"), "hello, any news?"));
  }

  /* The next one goes to the same session, also after a restart. */
  agent_fixture_stop (f, SIGTERM);
  agent_fixture_start (f);
  cron_set_clock (f, T0 + 180000);
  ev2 = agent_wait_event (f->client, "heartbeat:check_in", NULL, NULL);
  g_assert_true (bool_of (agent_event_data (ev2), "success"));
  g_assert_cmpstr (cron_str (agent_event_data (ev2), "sessionId"), ==, session);
  g_assert_cmpuint (cron_llm_requests (f), ==, 2);
}

/* coworkctl heartbeat: set, status, queue, events (text and --json), clear, and a usage
 * error for a bad switch. */
static void
test_ctl (void)
{
  g_autoptr (AgentFixture) f = hb_new (FALSE);
  g_autoptr (JsonObject) config = NULL;
  g_autoptr (JsonNode) events = NULL;
  g_autofree gchar *out = NULL;
  gint status = 0;

  agent_fixture_start (f);
  {
    const gchar *args[] = {
      "heartbeat", "set", "--interval-ms", "90000", "--system-events", "off", "--check-in-dir",
      f->workdir,  NULL
    };
    out = agent_run_ctl (f, NULL, args);
    g_assert_cmpstr (out, ==, "saved\n");
  }
  config = hb_config (f);
  g_assert_cmpint (cron_int (config, "intervalMs"), ==, 90000);
  g_assert_false (bool_of (config, "systemEventsEnabled"));
  g_assert_cmpstr (cron_str (config, "checkInWorkingDirectory"), ==, f->workdir);
  {
    const gchar *args[] = { "heartbeat", NULL };
    g_clear_pointer (&out, g_free);
    out = agent_run_ctl (f, NULL, args);
    g_assert_nonnull (strstr (out, "running:        yes"));
    g_assert_nonnull (strstr (out, "interval:       90000 ms"));
    g_assert_nonnull (strstr (out, "queued events:  0\n"));
  }
  {
    const gchar *args[] = { "heartbeat", "queue",     "health:check",      "--priority",
                            "high",      "--payload", "{\"why\":\"ctl\"}", NULL };
    g_clear_pointer (&out, g_free);
    out = agent_run_ctl (f, NULL, args);
    g_assert_true (g_str_has_prefix (out, "queued evt_"));
  }
  {
    const gchar *args[] = { "heartbeat", "events", NULL };
    g_clear_pointer (&out, g_free);
    out = agent_run_ctl (f, NULL, args);
    g_assert_nonnull (strstr (out, "health:check"));
    g_assert_nonnull (strstr (out, "high"));
  }
  {
    const gchar *args[] = { "--json", "heartbeat", "events", NULL };
    g_clear_pointer (&out, g_free);
    out = agent_run_ctl (f, NULL, args);
    events = cw_json_from_string (out, -1, NULL);
    g_assert_nonnull (events);
    g_assert_cmpstr (
        cron_str (json_object_get_object_member (
                      json_array_get_object_element (json_node_get_array (events), 0), "payload"),
                  "why"),
        ==, "ctl");
  }
  {
    const gchar *args[] = { "heartbeat", "clear", NULL };
    g_clear_pointer (&out, g_free);
    out = agent_run_ctl (f, NULL, args);
    g_assert_cmpstr (out, ==, "dropped 1 queued events\n");
  }
  {
    const gchar *args[] = { "heartbeat", "set", "--cron", "maybe", NULL };
    g_clear_pointer (&out, g_free);
    out = agent_run_ctl_status (f, NULL, args, &status);
    g_assert_cmpint (status, !=, 0);
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/heartbeat/config-round-trip", test_config_round_trip);
  g_test_add_func ("/heartbeat/import-original", test_import_original);
  g_test_add_func ("/heartbeat/ticks", test_ticks);
  g_test_add_func ("/heartbeat/queue", test_queue);
  g_test_add_func ("/heartbeat/queue-bound", test_queue_bound);
  g_test_add_func ("/heartbeat/actions", test_actions);
  g_test_add_func ("/heartbeat/compact-and-prune", test_compact_and_prune);
  g_test_add_func ("/heartbeat/interrupted", test_interrupted);
  g_test_add_func ("/heartbeat/cron-trigger", test_cron_trigger);
  g_test_add_func ("/heartbeat/check-in", test_check_in);
  g_test_add_func ("/heartbeat/ctl", test_ctl);
  return g_test_run ();
}
