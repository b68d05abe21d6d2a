/* cw-workflow-test.h: helpers of the workflow plugin's daemon-level tests: a real coworkd
 * on the fake scheduler clock with its own HOME, workflows, runs and waiting for them.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cw-agent-test.h"

G_BEGIN_DECLS

/* 2030-01-07T08:00:00Z: the test clock every workflow test starts from. */
#define WF_T0 G_GINT64_CONSTANT (1894003200000)

/* A daemon whose scheduler runs on the test clock at @now_ms, HOME under its dir. */
AgentFixture *wf_fixture_new (gint64 now_ms);
/* Started daemon, no LLM. */
AgentFixture *wf_started (void);
void wf_set_clock (AgentFixture *f, gint64 now_ms);
/* Calls on a connection of its own and asserts success. */
JsonNode *wf_call (AgentFixture *f, const gchar *command, const gchar *params_fmt, ...)
    G_GNUC_PRINTF (3, 4);
/* Calls and asserts failure; returns the message. */
gchar *wf_call_error (AgentFixture *f, const gchar *command, const gchar *params_fmt, ...)
    G_GNUC_PRINTF (3, 4);
/* workflow_create_draft with @input_json then workflow_publish; returns the workflow id. */
gchar *wf_publish (AgentFixture *f, const gchar *input_json);
/* workflow_run; returns the run id. */
gchar *wf_run (AgentFixture *f, const gchar *workflow_id, const gchar *input_json);
/* Polls workflow_get_run until the run's status is @status (20 s at most). */
JsonObject *wf_wait_status (AgentFixture *f, const gchar *run_id, const gchar *status);
/* Polls until the run's status is one of the final ones; returns workflow_get_run's result. */
JsonObject *wf_wait_end (AgentFixture *f, const gchar *run_id);
/* workflow_get_run */
JsonObject *wf_get_run (AgentFixture *f, const gchar *run_id);
/* The number of node runs of @node_id with @status (NULL: any) in a workflow_get_run result. */
guint wf_count_node_runs (JsonObject *details, const gchar *node_id, const gchar *status);
/* The output of @node_id in the run's output.nodes. */
JsonObject *wf_node_output (JsonObject *details, const gchar *node_id);
const gchar *wf_str (JsonObject *obj, const gchar *name);

G_END_DECLS
