/* test-workflow-defs.c: definitions on the real daemon: defaults of a draft sent the way the
 * app sends it (every optional field null), versioning (the draft stays version 1, each
 * publish is a new version, archive), validation errors and warnings, the contract's error
 * messages, and workflow:* events on the event stream.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-workflow-test.h"

#include <string.h>

static gboolean
array_has (JsonArray *arr, const gchar *needle)
{
  for (guint i = 0; i < json_array_get_length (arr); i++)
    if (strstr (json_array_get_string_element (arr, i), needle) != NULL)
      return TRUE;
  return FALSE;
}

static void
test_draft_defaults (void)
{
  g_autoptr (AgentFixture) f = wf_started ();
  g_autoptr (JsonNode) draft = wf_call (
      f, "workflow_create_draft",
      "{\"name\":\"Morning\",\"description\":null,\"tags\":null,\"triggers\":null,\"nodes\":null,"
      "\"edges\":null,\"defaults\":null,\"permissionsProfile\":null}");
  JsonObject *d = cw_test_obj (draft);
  JsonArray *nodes = json_object_get_array_member (d, "nodes");
  JsonArray *edges = json_object_get_array_member (d, "edges");
  JsonArray *triggers = json_object_get_array_member (d, "triggers");
  JsonObject *defaults = json_object_get_object_member (d, "defaults");
  JsonObject *retry = json_object_get_object_member (defaults, "retry");
  JsonObject *edge;
  g_autofree gchar *error = NULL;

  g_assert_true (g_str_has_prefix (wf_str (d, "id"), "wf_"));
  g_assert_cmpint (json_object_get_int_member (d, "version"), ==, 1);
  g_assert_cmpstr (wf_str (d, "status"), ==, "draft");
  g_assert_cmpstr (wf_str (d, "schemaVersion"), ==, "1");
  g_assert_cmpuint (json_array_get_length (nodes), ==, 2);
  g_assert_cmpstr (wf_str (json_array_get_object_element (nodes, 0), "id"), ==, "start");
  g_assert_cmpstr (wf_str (json_array_get_object_element (nodes, 1), "type"), ==, "end");
  edge = json_array_get_object_element (edges, 0);
  g_assert_cmpstr (wf_str (edge, "id"), ==, "edge_start_end");
  g_assert_cmpstr (wf_str (edge, "condition"), ==, "always");
  g_assert_cmpstr (wf_str (json_array_get_object_element (triggers, 0), "type"), ==, "manual");
  g_assert_true (
      g_str_has_prefix (wf_str (json_array_get_object_element (triggers, 0), "id"), "trg_"));
  g_assert_cmpint (json_object_get_int_member (defaults, "maxRunTimeMs"), ==, 1800000);
  g_assert_cmpint (json_object_get_int_member (defaults, "nodeTimeoutMs"), ==, 300000);
  g_assert_cmpint (json_object_get_int_member (retry, "maxAttempts"), ==, 3);
  g_assert_cmpint (json_object_get_int_member (retry, "maxBackoffMs"), ==, 20000);

  error = wf_call_error (f, "workflow_create_draft", "{\"name\":null,\"description\":null}");
  g_assert_cmpstr (error, ==, "name is required");
  g_free (error);
  error = wf_call_error (f, "workflow_get_run", "{\"runId\":null}");
  g_assert_cmpstr (error, ==, "runId is required");
  g_free (error);
  error = wf_call_error (f, "workflow_publish", "{}");
  g_assert_cmpstr (error, ==, "workflowId is required");
  g_free (error);
  error = wf_call_error (f, "workflow_run", "{\"workflowId\":\"wf_nope\"}");
  g_assert_cmpstr (error, ==, "Workflow not found: wf_nope");
  g_free (error);
  error = wf_call_error (f, "workflow_backfill_schedule",
                         "{\"workflowId\":\"%s\",\"from\":0,\"to\":1}", wf_str (d, "id"));
  g_assert_cmpstr (error, ==, "Published workflow not found for backfill");
  g_free (error);
  error
      = wf_call_error (f, "workflow_pause_scheduled", "{\"workflowId\":\"%s\"}", wf_str (d, "id"));
  g_assert_true (g_str_has_prefix (error, "No schedule triggers found for workflow "));
}

static void
test_versions (void)
{
  g_autoptr (AgentFixture) f = wf_started ();
  g_autoptr (JsonNode) draft = wf_call (f, "workflow_create_draft", "{\"name\":\"V\"}");
  const gchar *id = wf_str (cw_test_obj (draft), "id");
  g_autoptr (JsonNode) p1 = NULL, p2 = NULL, got = NULL, got1 = NULL, list = NULL, upd = NULL;
  g_autoptr (JsonNode) arch = NULL, runs = NULL, none = NULL;
  g_autofree gchar *error = NULL;
  JsonObject *event;

  json_node_unref (agent_call (f->client, "daemon_health", "{}"));
  p1 = wf_call (f, "workflow_publish", "{\"workflowId\":\"%s\"}", id);
  g_assert_cmpint (json_object_get_int_member (cw_test_obj (p1), "version"), ==, 2);
  g_assert_cmpstr (wf_str (cw_test_obj (p1), "status"), ==, "published");
  event = agent_wait_event (f->client, "workflow:published", NULL, NULL);
  g_assert_cmpstr (wf_str (agent_event_data (event), "workflowId"), ==, id);
  json_object_unref (event);

  upd = wf_call (f, "workflow_update_draft",
                 "{\"workflowId\":\"%s\",\"updates\":{\"name\":\"V two\",\"description\":null}}",
                 id);
  g_assert_cmpint (json_object_get_int_member (cw_test_obj (upd), "version"), ==, 1);
  g_assert_cmpstr (wf_str (cw_test_obj (upd), "name"), ==, "V two");
  /* no version: the published one, still named V */
  got = wf_call (f, "workflow_get", "{\"workflowId\":\"%s\",\"version\":null}", id);
  g_assert_cmpint (json_object_get_int_member (cw_test_obj (got), "version"), ==, 2);
  g_assert_cmpstr (wf_str (cw_test_obj (got), "name"), ==, "V");
  got1 = wf_call (f, "workflow_get", "{\"workflowId\":\"%s\",\"version\":1}", id);
  g_assert_cmpstr (wf_str (cw_test_obj (got1), "status"), ==, "draft");
  g_assert_cmpstr (wf_str (cw_test_obj (got1), "name"), ==, "V two");
  p2 = wf_call (f, "workflow_publish", "{\"workflowId\":\"%s\"}", id);
  g_assert_cmpint (json_object_get_int_member (cw_test_obj (p2), "version"), ==, 3);
  g_assert_cmpstr (wf_str (cw_test_obj (p2), "name"), ==, "V two");
  list = wf_call (f, "workflow_list", "{\"limit\":null,\"offset\":null}");
  g_assert_cmpuint (json_array_get_length (json_node_get_array (list)), ==, 1);
  g_assert_cmpint (json_object_get_int_member (
                       json_array_get_object_element (json_node_get_array (list), 0), "version"),
                   ==, 3);
  none = wf_call (f, "workflow_get", "{\"workflowId\":\"wf_unknown\"}");
  g_assert_true (JSON_NODE_HOLDS_NULL (none));

  arch = wf_call (f, "workflow_archive", "{\"workflowId\":\"%s\"}", id);
  g_assert_cmpstr (wf_str (cw_test_obj (arch), "status"), ==, "archived");
  error = wf_call_error (f, "workflow_run", "{\"workflowId\":\"%s\"}", id);
  g_assert_true (g_str_has_prefix (error, "Workflow is archived and cannot be run: wf_"));
  runs = wf_call (f, "workflow_list_runs", "{\"workflowId\":\"%s\",\"status\":null}", id);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (runs)), ==, 0);
}

static void
test_validation (void)
{
  g_autoptr (AgentFixture) f = wf_started ();
  g_autoptr (JsonNode) bad = wf_call (
      f, "workflow_validate",
      "{\"id\":\"wf_x\",\"name\":\" \",\"triggers\":[],"
      "\"nodes\":[{\"id\":\"a\",\"type\":\"condition\",\"config\":{\"expression\":\"x\"}},"
      "{\"id\":\"a\",\"type\":\"teleport\"},{\"id\":\"\",\"type\":\"end\"}],"
      "\"edges\":[{\"id\":\"e1\",\"from\":\"a\",\"to\":\"zz\"},"
      "{\"id\":\"e2\",\"from\":\"a\",\"to\":\"a\",\"condition\":\"custom\"},"
      "{\"id\":\"e3\",\"from\":\"a\",\"to\":\"a\",\"condition\":\"custom\",\"expression\":\"a "
      ">\"}]}");
  g_autoptr (JsonNode) warn = wf_call (f, "workflow_validate",
                                       "{\"id\":\"wf_y\",\"name\":\"ok\",\"triggers\":null,"
                                       "\"nodes\":[{\"id\":\"s1\",\"type\":\"start\"},"
                                       "{\"id\":\"s2\",\"type\":\"start\"}],\"edges\":[]}");
  g_autoptr (JsonNode) draft = NULL;
  JsonObject *b = cw_test_obj (bad), *w = cw_test_obj (warn);
  JsonArray *errors = json_object_get_array_member (b, "errors");
  JsonArray *warnings = json_object_get_array_member (w, "warnings");
  g_autofree gchar *error = NULL;

  g_assert_false (json_object_get_boolean_member (b, "valid"));
  g_assert_true (array_has (errors, "name is required"));
  g_assert_true (array_has (errors, "Duplicate node id: a"));
  g_assert_true (array_has (errors, "unknown type: teleport"));
  g_assert_true (array_has (errors, "empty id"));
  g_assert_true (array_has (errors, "must have a start node"));
  g_assert_true (array_has (errors, "unknown target node: zz"));
  g_assert_true (array_has (errors, "Custom edge e2 requires an expression"));
  g_assert_true (array_has (errors, "Edge e3: expression:"));
  g_assert_true (json_object_get_boolean_member (w, "valid"));
  g_assert_true (array_has (warnings, "several start nodes"));
  g_assert_true (array_has (warnings, "no end node"));
  g_assert_true (array_has (warnings, "no triggers"));

  draft = wf_call (
      f, "workflow_create_draft",
      "{\"name\":\"broken\",\"nodes\":[{\"id\":\"end\",\"type\":\"end\"}],\"edges\":[]}");
  error = wf_call_error (f, "workflow_publish", "{\"workflowId\":\"%s\"}",
                         wf_str (cw_test_obj (draft), "id"));
  g_assert_cmpstr (error, ==, "Workflow validation failed: Workflow must have a start node");
}

static void
test_simple_run_events (void)
{
  g_autoptr (AgentFixture) f = wf_started ();
  g_autofree gchar *id = wf_publish (
      f, "{\"name\":\"tiny\",\"nodes\":[{\"id\":\"start\",\"type\":\"start\"},"
         "{\"id\":\"c\",\"type\":\"condition\",\"config\":{\"expression\":\"run.input.n > 2\"}},"
         "{\"id\":\"end\",\"type\":\"end\"}],\"edges\":[{\"from\":\"start\",\"to\":\"c\"},"
         "{\"from\":\"c\",\"to\":\"end\"}]}");
  g_autofree gchar *run_id = NULL;
  g_autoptr (JsonObject) details = NULL;
  g_autoptr (GPtrArray) seen = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (JsonNode) events = NULL;
  JsonObject *run, *done;

  json_node_unref (agent_call (f->client, "daemon_health", "{}"));
  run_id = wf_run (f, id, "{\"n\":3}");
  done = agent_wait_event (f->client, "workflow:run_completed", NULL, seen);
  g_assert_cmpstr (wf_str (agent_event_data (done), "runId"), ==, run_id);
  json_object_unref (done);
  g_assert_cmpint (agent_find (seen, "workflow:run_started", 0), >=, 0);
  g_assert_cmpint (agent_find (seen, "workflow:node_started", 0), >,
                   agent_find (seen, "workflow:run_started", 0));
  g_assert_cmpint (agent_find (seen, "workflow:node_succeeded", 0), >=, 0);
  details = wf_wait_end (f, run_id);
  run = json_object_get_object_member (details, "run");
  g_assert_cmpstr (wf_str (run, "status"), ==, "completed");
  g_assert_cmpstr (wf_str (run, "triggerType"), ==, "manual");
  g_assert_true (json_object_get_boolean_member (wf_node_output (details, "c"), "result"));
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (details, "nodeRuns")), ==,
                    3);
  g_assert_cmpuint (wf_count_node_runs (details, "c", "succeeded"), ==, 1);
  events = wf_call (f, "workflow_get_run_events", "{\"runId\":\"%s\",\"sinceTs\":null}", run_id);
  g_assert_cmpstr (wf_str (json_array_get_object_element (json_node_get_array (events), 0), "type"),
                   ==, "run_started");
  g_assert_cmpstr (wf_str (json_array_get_object_element (
                               json_node_get_array (events),
                               json_array_get_length (json_node_get_array (events)) - 1),
                           "type"),
                   ==, "run_completed");
}

static JsonObject *
trigger_of_type (JsonObject *def, const gchar *type)
{
  JsonArray *triggers = json_object_get_array_member (def, "triggers");

  for (guint i = 0; i < json_array_get_length (triggers); i++)
    if (g_strcmp0 (wf_str (json_array_get_object_element (triggers, i), "type"), type) == 0)
      return json_array_get_object_element (triggers, i);
  return NULL;
}

static void
test_from_prompt (void)
{
  g_autoptr (AgentFixture) f = wf_started ();
  g_autoptr (JsonNode) daily = wf_call (
      f, "workflow_create_from_prompt",
      "{\"prompt\":\"Collect the open issues -> summarise them then post the summary every day "
      "at 7:30\",\"name\":null,\"workingDirectory\":\"%s\",\"publish\":true,"
      "\"maxTurnsPerStep\":null}",
      f->workdir);
  g_autoptr (JsonNode) interval = wf_call (f, "workflow_create_from_prompt",
                                           "{\"prompt\":\"every 15 minutes check the queue\"}");
  JsonObject *d = cw_test_obj (daily), *i = cw_test_obj (interval);
  JsonArray *nodes = json_object_get_array_member (d, "nodes");
  JsonArray *edges = json_object_get_array_member (d, "edges");
  JsonObject *step1 = json_array_get_object_element (nodes, 1);
  JsonObject *config = json_object_get_object_member (step1, "config");
  JsonObject *schedule
      = json_object_get_object_member (trigger_of_type (d, "schedule"), "schedule");
  g_autoptr (JsonNode) pack = NULL;
  JsonObject *event;

  g_assert_cmpstr (wf_str (d, "status"), ==, "published");
  g_assert_cmpuint (json_array_get_length (nodes), ==, 5);
  g_assert_cmpstr (wf_str (step1, "id"), ==, "agent_step_1");
  g_assert_cmpstr (wf_str (step1, "type"), ==, "agent_step");
  g_assert_nonnull (strstr (wf_str (config, "promptTemplate"), "Collect the open issues"));
  g_assert_cmpstr (wf_str (config, "workingDirectory"), ==, f->workdir);
  g_assert_cmpint (json_object_get_int_member (config, "maxTurns"), ==, 20);
  g_assert_cmpuint (json_array_get_length (edges), ==, 4);
  g_assert_cmpstr (wf_str (json_array_get_object_element (edges, 0), "condition"), ==, "always");
  g_assert_cmpstr (wf_str (trigger_of_type (d, "manual"), "id"), ==, "manual_default");
  g_assert_cmpstr (wf_str (schedule, "type"), ==, "cron");
  g_assert_cmpstr (wf_str (schedule, "expression"), ==, "30 7 * * *");
  g_assert_cmpstr (wf_str (i, "status"), ==, "draft");
  schedule = json_object_get_object_member (trigger_of_type (i, "schedule"), "schedule");
  g_assert_cmpstr (wf_str (schedule, "type"), ==, "every");
  g_assert_cmpint (json_object_get_int_member (schedule, "intervalMs"), ==, 900000);

  /* pack_execute: an unknown trigger type becomes manual, and workflow:activated goes out */
  json_node_unref (agent_call (f->client, "daemon_health", "{}"));
  pack = wf_call (f, "workflow_pack_execute",
                  "{\"workflowId\":\"%s\",\"triggerType\":\"bogus\",\"input\":null,"
                  "\"triggerContext\":null}",
                  wf_str (d, "id"));
  g_assert_cmpstr (wf_str (cw_test_obj (pack), "triggerType"), ==, "manual");
  event = agent_wait_event (f->client, "workflow:activated", NULL, NULL);
  g_assert_cmpstr (wf_str (agent_event_data (event), "workflowId"), ==, wf_str (d, "id"));
  json_object_unref (event);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/workflow/defs/draft-defaults", test_draft_defaults);
  g_test_add_func ("/workflow/defs/versions", test_versions);
  g_test_add_func ("/workflow/defs/validation", test_validation);
  g_test_add_func ("/workflow/defs/simple-run-events", test_simple_run_events);
  g_test_add_func ("/workflow/defs/from-prompt", test_from_prompt);
  return g_test_run ();
}
