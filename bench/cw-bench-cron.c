/* cw-bench-cron.c: the cron plugin with 10,000 jobs in the real daemon (agent and cron
 * plugins, the wall clock): creating them, the daemon's wake-ups and CPU while they wait, the round
 * trips of cron_list_jobs and cron_get_status, and how late scheduled runs start (the run's
 * startedAt minus its scheduledAt) for one-shots firing among them. The provider points at
 * a closed port, so a run ends at the provider: what is measured is the cron side.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-bench-util.h"

#include <string.h>
#include <unistd.h>

#define JOBS   10000
#define FIRING 200  /* one-shots among the waiting jobs */
#define SPREAD 4000 /* ms over which they fire */
#define BATCH  200

static JsonNode *
call (CwClient *c, const gchar *command, const gchar *params_json)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) params
      = params_json != NULL ? cw_json_from_string (params_json, -1, NULL) : NULL;
  JsonNode *r = cw_client_call (c, command, params, &error);

  g_assert_no_error (error);
  return r;
}

/* Wake-ups per minute over @seconds, and the CPU used meanwhile in % of one core. */
static gdouble
wakeups_per_minute (const gchar *pid, guint seconds, gdouble *cpu_percent)
{
  gint64 before = cw_bench_wakeups (pid);
  gdouble cpu_ms = cw_bench_cpu_ms (pid);

  g_usleep (seconds * G_USEC_PER_SEC);
  *cpu_percent = (cw_bench_cpu_ms (pid) - cpu_ms) / 10.0 / seconds;
  return (cw_bench_wakeups (pid) - before) * 60.0 / seconds;
}

/* cron_create_job for @n inputs made by @make, BATCH requests in flight at a time. */
static void
create_jobs (CwClient *c, guint n, gchar *(*make) (guint i, gpointer data), gpointer data)
{
  for (guint done = 0; done < n;)
    {
      g_autoptr (GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
      guint batch = MIN (BATCH, n - done);

      for (guint i = 0; i < batch; i++)
        {
          g_autofree gchar *text = make (done + i, data);
          g_autoptr (JsonNode) params = cw_json_from_string (text, -1, NULL);
          g_ptr_array_add (ids, cw_client_send (c, "cron_create_job", params, NULL));
        }
      for (guint i = 0; i < batch; i++)
        {
          g_autoptr (GError) error = NULL;
          g_autoptr (JsonObject) r
              = cw_client_wait_response (c, g_ptr_array_index (ids, i), &error);
          g_assert_no_error (error);
          if (!json_object_get_boolean_member (r, "success"))
            g_error ("cron_create_job: %s", json_object_get_string_member (r, "error"));
        }
      done += batch;
    }
}

static gchar *
yearly_job (guint i, gpointer workdir)
{
  return g_strdup_printf ("{\"name\":\"Yearly %u\",\"prompt\":\"hello %u\","
                          "\"workingDirectory\":\"%s\",\"schedule\":{\"type\":\"cron\","
                          "\"expression\":\"0 0 1 1 *\",\"timezone\":\"UTC\"}}",
                          i, i, (const gchar *) workdir);
}

typedef struct
{
  const gchar *workdir;
  gint64 first;
} Firing;

static gchar *
firing_job (guint i, gpointer data)
{
  Firing *f = data;

  return g_strdup_printf ("{\"name\":\"Soon %u\",\"prompt\":\"hello\",\"workingDirectory\":"
                          "\"%s\",\"schedule\":{\"type\":\"at\",\"timestamp\":%" G_GINT64_FORMAT
                          "}}",
                          i, f->workdir, f->first + (gint64) i * SPREAD / FIRING);
}

/* A loopback port nothing listens on. */
static guint16
closed_port (void)
{
  g_autoptr (GSocketListener) listener = g_socket_listener_new ();
  guint16 port = g_socket_listener_add_any_inet_port (listener, NULL, NULL);

  g_socket_listener_close (listener);
  return port;
}

static void
round_trip_row (CwBenchDaemon *d, const gchar *metric, const gchar *command, const gchar *target,
                gdouble target_ms)
{
  g_autofree gchar *line = g_strdup_printf (
      "{\"id\":\"b\",\"command\":\"%s\",\"params\":{},\"authToken\":\"%s\"}\n", command, d->token);
  g_autoptr (GArray) samples = cw_bench_round_trips (d->endpoint, line, 20);
  gdouble p50 = cw_bench_percentile (samples, 50) / 1000.0;
  gdouble p99 = cw_bench_percentile (samples, 99) / 1000.0;
  gchar value[64];

  g_snprintf (value, sizeof value, "p50 %.1f ms, p99 %.1f ms", p50, p99);
  cw_bench_row (metric, value, NULL, target, p50 < target_ms);
}

/* Reads cron:run_started events until @n came (or 60 s passed); startedAt - scheduledAt
 * of each, in ms. */
static GArray *
read_lateness (CwClient *events, guint n)
{
  GArray *late = g_array_new (FALSE, FALSE, sizeof (gdouble));
  gint64 deadline = g_get_monotonic_time () + 60 * G_TIME_SPAN_SECOND;

  while (late->len < n && g_get_monotonic_time () < deadline)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (JsonObject) ev = cw_client_next_event (events, &error);
      JsonObject *run;
      gdouble v;

      if (ev == NULL)
        break;
      if (g_strcmp0 (json_object_get_string_member_with_default (ev, "type", ""),
                     "cron:run_started")
          != 0)
        continue;
      run = json_object_get_object_member (json_object_get_object_member (ev, "data"), "run");
      if (run == NULL || !json_object_has_member (run, "scheduledAt"))
        continue;
      v = json_object_get_int_member (run, "startedAt")
          - json_object_get_int_member (run, "scheduledAt");
      g_array_append_val (late, v);
    }
  return late;
}

int
main (int argc, char **argv)
{
  CwBenchDaemon *d = cw_bench_daemon_start (
      COWORKD_PATH, "[cron]\nimport-dir=/nonexistent-cron-import\n", "--plugin-dir",
      AGENT_PLUGIN_DIR, "--plugin-dir", CRON_PLUGIN_DIR, NULL);
  g_autoptr (CwClient) c = cw_bench_daemon_connect (d);
  g_autoptr (CwClient) events = NULL;
  g_autofree gchar *workdir = g_build_filename (d->dir, "project", NULL);
  g_autofree gchar *provider = NULL;
  g_autoptr (JsonNode) config = NULL, sub = NULL;
  g_autoptr (GArray) late = NULL;
  const gchar *pid = g_subprocess_get_identifier (d->proc);
  gdouble start, floor, idle, floor_cpu, idle_cpu;
  gchar value[96], floor_value[64];
  Firing firing;

  g_mkdir_with_parents (workdir, 0700);
  cw_client_set_timeout (c, 300);
  provider = g_strdup_printf ("{\"config\":{\"activeProvider\":\"lmstudio\",\"providerBaseUrls\":"
                              "{\"lmstudio\":\"http://127.0.0.1:%u\"}}}",
                              closed_port ());
  config = call (c, "set_runtime_config", provider);

  /* The floor: the same daemon without jobs. */
  g_usleep (G_USEC_PER_SEC);
  floor = wakeups_per_minute (pid, 5, &floor_cpu);

  start = cw_bench_now_us ();
  create_jobs (c, JOBS, yearly_job, workdir);
  g_snprintf (value, sizeof value, "%.1f s (%.2f ms a job)", (cw_bench_now_us () - start) / 1e6,
              (cw_bench_now_us () - start) / 1000.0 / JOBS);
  cw_bench_row ("cron: create 10,000 jobs (200 requests in flight)", value, NULL, NULL, TRUE);

  g_usleep (2 * G_USEC_PER_SEC); /* the rows are written and checkpointed */
  idle = wakeups_per_minute (pid, 10, &idle_cpu);
  g_snprintf (value, sizeof value, "%.0f / min, CPU %.2f %%", idle, idle_cpu);
  g_snprintf (floor_value, sizeof floor_value, "%.0f / min, CPU %.2f %% (no jobs)", floor,
              floor_cpu);
  cw_bench_row ("cron: daemon wake-ups and idle CPU while 10,000 jobs wait", value, floor_value,
                "no more than the floor", idle <= floor);

  round_trip_row (d, "cron: cron_list_jobs with 10,000 jobs", "cron_list_jobs", "p50 < 100 ms",
                  100);
  round_trip_row (d, "cron: cron_get_status with 10,000 jobs", "cron_get_status", "p50 < 100 ms",
                  100);

  /* One-shots that fire among them, on the wall clock. */
  events = cw_bench_daemon_connect (d);
  sub = call (events, "agent_subscribe_events", NULL);
  firing.workdir = workdir;
  firing.first = g_get_real_time () / 1000 + 3000;
  create_jobs (c, FIRING, firing_job, &firing);
  late = read_lateness (events, FIRING);
  g_snprintf (value, sizeof value, "p50 %.0f ms, p99 %.0f ms (%u of %d fired)",
              late->len > 0 ? cw_bench_percentile (late, 50) : -1.0,
              late->len > 0 ? cw_bench_percentile (late, 99) : -1.0, late->len, FIRING);
  cw_bench_row ("cron: run start - scheduled time, 200 one-shots over 4 s among 10,000 jobs", value,
                NULL, "all start, p99 < 100 ms",
                late->len == FIRING && cw_bench_percentile (late, 99) < 100);

  g_clear_pointer (&c, cw_client_free);
  g_clear_pointer (&events, cw_client_free);
  cw_bench_daemon_stop (d);
  return 0;
}
