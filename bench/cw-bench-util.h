/* cw-bench-util.h: shared pieces of the benchmark programs: a daemon on a temp dir, timing,
 * percentiles and the table rows bench/run prints.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cw-client.h"

G_BEGIN_DECLS

typedef struct
{
  gchar *dir;
  gchar *endpoint;
  gchar *token;
  GSubprocess *proc;
  GPtrArray *argv;
  gdouble ready_ms; /* spawn to READY=1 on $NOTIFY_SOCKET */
  gdouble ping_ms;  /* spawn to the first answered ping */
} CwBenchDaemon;

/* Starts @coworkd on a fresh temp dir (with @config_text as coworkd.conf when not NULL) and
 * waits for the first answered ping. Extra arguments end with NULL. */
CwBenchDaemon *cw_bench_daemon_start (const gchar *coworkd, const gchar *config_text,
                                      ...) G_GNUC_NULL_TERMINATED;
/* Stops it (SIGTERM) and starts it again on the same data dir, measuring ready_ms. */
void cw_bench_daemon_restart (CwBenchDaemon *self);
CwClient *cw_bench_daemon_connect (CwBenchDaemon *self);
gint64 cw_bench_daemon_rss_kib (CwBenchDaemon *self);
void cw_bench_daemon_stop (CwBenchDaemon *self);

/* @n round trips of one raw request @line (ending in a newline) on a unix socket, each
 * answered by one line that is not parsed; returns the samples in µs. */
GArray *cw_bench_round_trips (const gchar *path, const gchar *line, guint n);
/* Sorts @samples (µs or any unit) and returns the @pct percentile. */
gdouble cw_bench_percentile (GArray *samples, gdouble pct);
gdouble cw_bench_now_us (void);
/* One row of the table: | metric | value | floor | target | verdict | */
void cw_bench_row (const gchar *metric, const gchar *value, const gchar *floor, const gchar *target,
                   gboolean met);
void cw_bench_rm_rf (const gchar *path);
/* Context switches of every thread of process @pid so far: each one is a wake-up. */
gint64 cw_bench_wakeups (const gchar *pid);
/* CPU time (user and system, every thread) of process @pid so far, in ms: on a machine
 * shared with other work it measures the cost where wall-clock rates only measure the load. */
gdouble cw_bench_cpu_ms (const gchar *pid);

G_END_DECLS
