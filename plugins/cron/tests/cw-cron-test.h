/* cw-cron-test.h: helpers of the cron plugin's daemon-level tests: a real coworkd on the
 * fake scheduler clock, with its own HOME, the fake LLM, jobs and their runs.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cw-agent-test.h"

G_BEGIN_DECLS

/* 2030-01-07T08:00:00Z, a Monday: the test clock every cron test starts from. */
#define CRON_T0 G_GINT64_CONSTANT (1894003200000)

/* A daemon description whose scheduler runs on the test clock at @now_ms and whose HOME is
 * a fresh directory under its app data dir (so nothing is imported from the real one). */
AgentFixture *cron_fixture_new (gint64 now_ms);
/* The HOME the fixture's daemon gets. */
gchar *cron_fixture_home (AgentFixture *f);
/* Moves the daemon's test clock (test_clock_set) on a connection of its own. */
void cron_set_clock (AgentFixture *f, gint64 now_ms);
/* cron_create_job with @input_json (printf format); asserts success, returns the job. */
JsonObject *cron_create (AgentFixture *f, const gchar *input_fmt, ...) G_GNUC_PRINTF (2, 3);
/* cron_get_runs of @job_id on a connection of its own (nothing else needs to be connected). */
JsonArray *cron_runs (AgentFixture *f, const gchar *job_id);
/* Polls (10 ms steps, 20 s at most) until @job_id has @n runs that ended; returns them. */
JsonArray *cron_wait_runs (AgentFixture *f, const gchar *job_id, guint n);
/* The same with a limit of @seconds. */
JsonArray *cron_wait_runs_for (AgentFixture *f, const gchar *job_id, guint n, guint seconds);
/* cron_get_job on a connection of its own. */
JsonObject *cron_get (AgentFixture *f, const gchar *job_id);
/* The number of requests the fake LLM got. */
guint cron_llm_requests (AgentFixture *f);
/* Stops the daemon with @signum and starts it again with its test clock at @now_ms (the
 * time that passed while it was down); f->client is connected again. */
void cron_restart (AgentFixture *f, gint signum, gint64 now_ms);
/* Reads the answer to request @id on @client, asserts success and returns the result. */
JsonNode *cron_wait_reply (CwClient *client, const gchar *id);
/* The run of @runs (a CronRun[]) for the instant @scheduled_ms, or NULL. */
JsonObject *cron_run_for (JsonArray *runs, gint64 scheduled_ms);
/* Polls (10 ms steps, 20 s at most) until the run @run_id of @job_id has @member; returns it. */
JsonObject *cron_wait_run_member (AgentFixture *f, const gchar *job_id, const gchar *run_id,
                                  const gchar *member);
/* An hourly job from CRON_T0 with permissionPolicy wait and the prompt "please write". */
JsonObject *cron_create_waiting (AgentFixture *f, const gchar *name);
/* Polls (20 s at most) until the only run of @job_id records an interaction; returns it. */
JsonObject *cron_wait_pending (AgentFixture *f, const gchar *job_id);
/* Counts the runs of @runs whose result is @result. */
guint cron_count_result (JsonArray *runs, const gchar *result);
gint64 cron_int (JsonObject *obj, const gchar *name);
const gchar *cron_str (JsonObject *obj, const gchar *name);

G_END_DECLS
