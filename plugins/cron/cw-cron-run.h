/* cw-cron-run.h: one run of a job: an isolated agent session, the prompt, the turn's end.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cw-cron-plugin.h"

G_BEGIN_DECLS

/* Starts a run of @job. @ledger is its CronRun row when one was written already (an instant
 * that waited for the job's previous run), else NULL and the row is written here: with
 * @scheduled_ms (-1 for a manual trigger) it is the ledger entry, and FALSE with
 * CW_ERROR_EXISTS means that instant has run already. */
CwCronRun *cw_cron_run_start (CwCronPlugin *self, JsonObject *job, JsonObject *ledger,
                              gint64 scheduled_ms, GError **error);
/* @invocation is answered with the CronRun when the run ends. */
void cw_cron_run_add_waiter (CwCronRun *run, CwInvocation *invocation);
JsonObject *cw_cron_run_get_model (CwCronRun *run);
void cw_cron_run_free (CwCronRun *run);

/* The agent's events (durable consumer) for sessions of running runs. */
void cw_cron_run_handle_event (CwCronPlugin *self, CwEvent *event);
/* The timeout of run @run_id passed: the turn is stopped and the run recorded `timeout`. */
void cw_cron_run_timed_out (CwCronPlugin *self, const gchar *run_id);
/* Answers what is still pending for @session_id (deny, or a question's "nobody waits"): its
 * run has ended. */
void cw_cron_run_close_interactions (CwCronPlugin *self, const gchar *session_id);
/* The daemon stops: every running run is recorded `interrupted` now. */
void cw_cron_run_interrupt_all (CwCronPlugin *self, const gchar *reason);

/* The session title (the prompt on one line, at most 80 characters) and the summary (the
 * first paragraph of the reply, at most 500 characters), as the original makes them. */
gchar *cw_cron_run_make_title (const gchar *prompt, const gchar *job_name);
gchar *cw_cron_run_make_summary (const gchar *text);

G_END_DECLS
