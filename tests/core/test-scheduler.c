/* test-scheduler.c: the scheduler as plugins see it, on a fake wall clock: fire order,
 * re-arming, clock jumps both ways, missed-fire policies across a restart on a real SQLite
 * file, owners kept apart, and one real fire through the timerfd.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cowork-host.h"
#include "cw-test-daemon.h"

#include <string.h>

typedef struct
{
  gchar *dir;
  gchar *db;
  gint64 now;
  gboolean real_clock;
  CwStore *store;
  CwEventBus *bus;
  CwCommandRegistry *registry;
  CwConfig *config;
  CwContext *context;
  CwScheduler *scheduler;
  CwPluginLoader *loader;
  GPtrArray *fires; /* "<plugin> <jobId> <scheduledAt ISO> <flags>" */
} Fixture;

/* 2026-12-01T10:00:00Z */
#define T0     G_GINT64_CONSTANT (1796119200000)
#define MINUTE G_GINT64_CONSTANT (60000)
#define HOUR   (60 * MINUTE)

static gchar *
iso_of (gint64 ms)
{
  g_autoptr (GDateTime) dt = g_date_time_new_from_unix_utc (ms / 1000);

  return g_date_time_format (dt, "%FT%TZ");
}

static gint64
fake_now (gpointer user_data)
{
  return ((Fixture *) user_data)->now;
}

static void
on_fire_event (CwEvent *event, gpointer user_data)
{
  Fixture *fx = user_data;
  JsonObject *data = cw_event_get_data (event);
  g_autofree gchar *plugin
      = g_strndup (cw_event_get_type_name (event), strcspn (cw_event_get_type_name (event), ":"));
  g_autofree gchar *at = iso_of (json_object_get_int_member (data, "scheduledAt"));

  g_ptr_array_add (fx->fires, g_strdup_printf ("%s %s %s %s", plugin,
                                               json_object_get_string_member (data, "jobId"), at,
                                               json_object_get_string_member (data, "flags")));
}

/* What coworkd does at boot, with the scheduling plugins only. */
static void
boot (Fixture *fx)
{
  g_autoptr (GError) error = NULL;
  CwEventRetention retention = CW_EVENT_RETENTION_DEFAULT;
  const gchar *dirs[] = { SCHED_PLUGIN_DIR, NULL };

  fx->store = cw_store_open (fx->db, &error);
  g_assert_no_error (error);
  g_assert_true (cw_core_schema_migrate (fx->store, &error));
  fx->bus = cw_event_bus_new (fx->store, &retention, &error);
  g_assert_no_error (error);
  fx->registry = cw_command_registry_new ();
  fx->config = cw_config_new (fx->dir, FALSE, NULL, &error);
  g_assert_no_error (error);
  fx->context = cw_context_new (fx->registry, fx->bus, fx->store, fx->config);
  fx->scheduler = cw_scheduler_new (fx->store, &error);
  g_assert_no_error (error);
  if (!fx->real_clock)
    cw_scheduler_set_clock (fx->scheduler, fake_now, fx);
  cw_context_set_scheduler (fx->context, fx->scheduler);
  cw_event_bus_add_listener (fx->bus, "sched", on_fire_event, fx, NULL);
  fx->loader = cw_plugin_loader_new (fx->context);
  cw_plugin_loader_load_dirs (fx->loader, dirs);
  cw_plugin_loader_start_all (fx->loader);
  g_assert_cmpuint (cw_plugin_loader_count_failed (fx->loader), ==, 0);
}

static void
shut_down (Fixture *fx)
{
  cw_plugin_loader_stop_all (fx->loader);
  g_clear_object (&fx->loader);
  cw_event_bus_flush (fx->bus);
  g_clear_object (&fx->scheduler);
  g_clear_object (&fx->context);
  g_clear_object (&fx->bus);
  g_clear_object (&fx->registry);
  g_clear_object (&fx->config);
  g_clear_object (&fx->store);
}

static void
fixture_set_up (Fixture *fx, gconstpointer data)
{
  fx->dir = g_dir_make_tmp ("cw-scheduler-XXXXXX", NULL);
  fx->db = g_build_filename (fx->dir, "cowork.db", NULL);
  fx->now = T0;
  fx->real_clock = GPOINTER_TO_INT (data);
  fx->fires = g_ptr_array_new_with_free_func (g_free);
  boot (fx);
}

static void
fixture_tear_down (Fixture *fx, gconstpointer data)
{
  if (fx->loader != NULL)
    shut_down (fx);
  g_ptr_array_unref (fx->fires);
  cw_test_rm_rf (fx->dir);
  g_free (fx->db);
  g_free (fx->dir);
}

typedef struct
{
  JsonNode *result;
  GError *error;
} Reply;

static void
on_reply (JsonNode *result, gchar *raw, GError *error, gpointer user_data)
{
  Reply *reply = user_data;

  g_assert_null (raw);
  reply->result = result;
  reply->error = error;
}

/* Calls a command of the test plugins (they answer at once). */
static JsonNode *
call (Fixture *fx, const gchar *command, const gchar *params_json, GError **error)
{
  Reply reply = { NULL, NULL };
  g_autoptr (JsonNode) params = cw_json_from_string (params_json, -1, NULL);

  g_assert_nonnull (params);
  cw_command_registry_dispatch (fx->registry, NULL, command, params, on_reply, &reply);
  g_assert_true (reply.result != NULL || reply.error != NULL);
  if (reply.error != NULL)
    g_propagate_error (error, reply.error);
  return reply.result;
}

static void
add_job (Fixture *fx, const gchar *plugin, const gchar *job_id, const gchar *schedule,
         const gchar *missed)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *command = g_strconcat (plugin, "_add", NULL);
  g_autofree gchar *params = g_strdup_printf (
      "{\"jobId\":\"%s\",\"schedule\":\"%s\",\"missed\":\"%s\"}", job_id, schedule, missed);
  g_autoptr (JsonNode) result = call (fx, command, params, &error);

  g_assert_no_error (error);
}

static gint64
next_fire (Fixture *fx, const gchar *plugin, const gchar *job_id)
{
  g_autofree gchar *command = g_strconcat (plugin, "_next", NULL);
  g_autofree gchar *params = g_strdup_printf ("{\"jobId\":\"%s\"}", job_id);
  g_autoptr (JsonNode) result = call (fx, command, params, NULL);

  return json_node_get_int (result);
}

static gboolean
remove_job (Fixture *fx, const gchar *plugin, const gchar *job_id, GError **error)
{
  g_autofree gchar *command = g_strconcat (plugin, "_remove", NULL);
  g_autofree gchar *params = g_strdup_printf ("{\"jobId\":\"%s\"}", job_id);
  g_autoptr (JsonNode) result = call (fx, command, params, error);

  return result != NULL;
}

/* The timer expires: the clock reaches @now. */
static void
advance_to (Fixture *fx, gint64 now)
{
  fx->now = now;
  cw_scheduler_dispatch (fx->scheduler);
}

/* Someone sets the clock. */
static void
set_clock (Fixture *fx, gint64 now)
{
  fx->now = now;
  cw_scheduler_clock_changed (fx->scheduler);
}

/* Asserts the fires seen since the last call, one per line. */
static void
assert_fires (Fixture *fx, const gchar *expected)
{
  g_autoptr (GString) got = g_string_new (NULL);

  for (guint i = 0; i < fx->fires->len; i++)
    g_string_append_printf (got, "%s\n", (gchar *) g_ptr_array_index (fx->fires, i));
  g_assert_cmpstr (got->str, ==, expected);
  g_ptr_array_set_size (fx->fires, 0);
}

static void
assert_deadline (Fixture *fx, gint64 expected)
{
  g_autofree gchar *got = iso_of (cw_scheduler_get_deadline (fx->scheduler));
  g_autofree gchar *want = iso_of (expected);

  if (expected == CW_SCHEDULE_NEVER)
    g_assert_cmpint (cw_scheduler_get_deadline (fx->scheduler), ==, CW_SCHEDULE_NEVER);
  else
    g_assert_cmpstr (got, ==, want);
}

static void
test_fire_order (Fixture *fx, gconstpointer data)
{
  /* Added out of order; two share an instant and fire in the order they were added. */
  add_job (fx, "scheda", "third", "at 2026-12-01T10:00:02Z", "once");
  add_job (fx, "scheda", "first", "at 2026-12-01T10:00:01Z", "once");
  add_job (fx, "schedb", "second", "at 2026-12-01T10:00:01Z", "once");
  add_job (fx, "scheda", "minutely", "cron TZ=UTC * * * * *", "skip");
  assert_deadline (fx, T0 + 1000);

  advance_to (fx, T0 + 1000);
  assert_fires (fx, "scheda first 2026-12-01T10:00:01Z on-time\n"
                    "schedb second 2026-12-01T10:00:01Z on-time\n");
  assert_deadline (fx, T0 + 2000);
  /* Seen 3 s late, within the grace: on time. */
  advance_to (fx, T0 + 5000);
  assert_fires (fx, "scheda third 2026-12-01T10:00:02Z on-time\n");
  assert_deadline (fx, T0 + MINUTE);
  advance_to (fx, T0 + MINUTE + 3000);
  assert_fires (fx, "scheda minutely 2026-12-01T10:01:00Z on-time\n");
  assert_deadline (fx, T0 + 2 * MINUTE);
  /* One-shots are done; waking early fires nothing. */
  g_assert_cmpint (next_fire (fx, "scheda", "first"), ==, CW_SCHEDULE_NEVER);
  advance_to (fx, T0 + 2 * MINUTE - 1);
  assert_fires (fx, "");
}

static void
test_rearm_after_removal (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  add_job (fx, "scheda", "soon", "at 2026-12-01T10:00:05Z", "once");
  add_job (fx, "scheda", "later", "every 3600000 from 2026-12-01T11:00:00Z", "once");
  assert_deadline (fx, T0 + 5000);
  g_assert_true (remove_job (fx, "scheda", "soon", &error));
  assert_deadline (fx, T0 + HOUR);
  /* Replacing a job with another schedule re-arms for the new one. */
  add_job (fx, "scheda", "later", "at 2026-12-01T10:30:00Z", "once");
  assert_deadline (fx, T0 + 30 * MINUTE);
  g_assert_true (remove_job (fx, "scheda", "later", &error));
  assert_deadline (fx, CW_SCHEDULE_NEVER);
  g_assert_cmpuint (cw_scheduler_get_n_jobs (fx->scheduler), ==, 0);
  advance_to (fx, T0 + 2 * HOUR);
  assert_fires (fx, "");

  g_assert_false (remove_job (fx, "scheda", "soon", &error));
  g_assert_error (error, CW_ERROR, CW_ERROR_NOT_FOUND);
}

static void
test_clock_jump_forward (Fixture *fx, gconstpointer data)
{
  add_job (fx, "scheda", "once", "cron TZ=UTC * * * * *", "once");
  add_job (fx, "scheda", "skip", "cron TZ=UTC * * * * *", "skip");
  add_job (fx, "scheda", "all", "every 1200000 from 2026-12-01T10:00:00Z", "all");
  add_job (fx, "scheda", "tomorrow", "at 2026-12-02T10:00:00Z", "skip");

  /* The clock is set an hour and 30 s ahead: each job's missed instants by its policy. */
  set_clock (fx, T0 + HOUR + 30000);
  assert_fires (fx, "scheda all 2026-12-01T10:20:00Z catch-up\n"
                    "scheda all 2026-12-01T10:40:00Z catch-up\n"
                    "scheda once 2026-12-01T10:59:00Z skipped\n"
                    "scheda once 2026-12-01T11:00:00Z catch-up\n"
                    "scheda skip 2026-12-01T11:00:00Z skipped\n"
                    "scheda all 2026-12-01T11:00:00Z catch-up\n");
  g_assert_cmpint (next_fire (fx, "scheda", "once"), ==, T0 + HOUR + MINUTE);
  g_assert_cmpint (next_fire (fx, "scheda", "tomorrow"), ==, T0 + 24 * HOUR);
  assert_deadline (fx, T0 + HOUR + MINUTE);

  /* "all" is capped: a week ahead gives the newest 100 and one skipped report before them. */
  set_clock (fx, T0 + 7 * 24 * HOUR + 30000);
  /* once: skipped + catch-up; skip: skipped; all: 100 + skipped; tomorrow: skipped. */
  g_assert_cmpuint (fx->fires->len, ==, 2 + 1 + 101 + 1);
  {
    guint catch_up = 0, skipped = 0;

    for (guint i = 0; i < fx->fires->len; i++)
      {
        const gchar *line = g_ptr_array_index (fx->fires, i);

        if (g_str_has_prefix (line, "scheda all "))
          {
            catch_up += g_str_has_suffix (line, "catch-up");
            skipped += g_str_has_suffix (line, "skipped");
          }
      }
    g_assert_cmpuint (catch_up, ==, CW_MISSED_POLICY_ALL_MAX);
    g_assert_cmpuint (skipped, ==, 1);
  }
  g_assert_cmpstr (g_ptr_array_index (fx->fires, fx->fires->len - 1), ==,
                   "scheda all 2026-12-08T10:00:00Z catch-up");
}

static void
test_clock_jump_backward (Fixture *fx, gconstpointer data)
{
  /* The clock was a year ahead when the jobs were added... */
  fx->now = T0 + 365 * 24 * HOUR;
  add_job (fx, "scheda", "minutely", "cron TZ=UTC * * * * *", "once");
  add_job (fx, "scheda", "done", "at 2027-12-01T10:00:00.500Z", "once");
  advance_to (fx, T0 + 365 * 24 * HOUR + 500);
  assert_fires (fx, "scheda done 2027-12-01T10:00:00Z on-time\n");

  /* ... and is set back to the right time: the job fires within a minute, not in a year,
   * and the one-shot that fired stays done. */
  set_clock (fx, T0 + 10000);
  assert_fires (fx, "");
  assert_deadline (fx, T0 + MINUTE);
  advance_to (fx, T0 + MINUTE);
  assert_fires (fx, "scheda minutely 2026-12-01T10:01:00Z on-time\n");
  g_assert_cmpint (next_fire (fx, "scheda", "done"), ==, CW_SCHEDULE_NEVER);
}

static gchar *
stored_next (Fixture *fx, const gchar *owner, const gchar *job_id)
{
  sqlite3_stmt *stmt = cw_store_prepare (
      fx->store, "SELECT next_fire FROM core_scheduler_jobs WHERE owner = ?1 AND job_id = ?2",
      NULL);
  gchar *value;

  /* Added jobs are written on the next main-loop turn. */
  while (g_main_context_iteration (NULL, FALSE))
    ;
  sqlite3_bind_text (stmt, 1, owner, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 2, job_id, -1, SQLITE_TRANSIENT);
  if (sqlite3_step (stmt) != SQLITE_ROW)
    value = g_strdup ("no row");
  else if (sqlite3_column_type (stmt, 0) == SQLITE_NULL)
    value = g_strdup ("none");
  else
    value = iso_of (sqlite3_column_int64 (stmt, 0));
  sqlite3_reset (stmt);
  sqlite3_clear_bindings (stmt);
  return value;
}

static void
add_restart_jobs (Fixture *fx, const gchar *daily_schedule)
{
  add_job (fx, "scheda", "once", "cron TZ=UTC 0 * * * *", "once");
  add_job (fx, "scheda", "skip", "cron TZ=UTC 0 * * * *", "skip");
  add_job (fx, "scheda", "all", "cron TZ=UTC 0 * * * *", "all");
  add_job (fx, "scheda", "oneshot", "at 2026-12-01T10:30:00Z", "once");
  add_job (fx, "scheda", "changed", daily_schedule, "all");
}

static void
test_missed_at_restart (Fixture *fx, gconstpointer data)
{
  g_autofree gchar *all_next = NULL;
  g_autofree gchar *oneshot_next = NULL;

  add_restart_jobs (fx, "cron TZ=UTC 0 12 * * *");
  advance_to (fx, T0 + 10000);
  assert_fires (fx, "");
  shut_down (fx);

  /* Down from 10:00:10 to 13:05: the plugin registers its jobs again at start. */
  fx->now = T0 + 3 * HOUR + 5 * MINUTE;
  boot (fx);
  add_restart_jobs (fx, "cron TZ=UTC 0 12 * * MON");
  assert_deadline (fx, T0 + 30 * MINUTE);
  advance_to (fx, fx->now);
  assert_fires (fx, "scheda oneshot 2026-12-01T10:30:00Z catch-up\n"
                    "scheda all 2026-12-01T11:00:00Z catch-up\n"
                    "scheda once 2026-12-01T12:00:00Z skipped\n"
                    "scheda all 2026-12-01T12:00:00Z catch-up\n"
                    "scheda once 2026-12-01T13:00:00Z catch-up\n"
                    "scheda skip 2026-12-01T13:00:00Z skipped\n"
                    "scheda all 2026-12-01T13:00:00Z catch-up\n");
  /* The changed schedule started afresh (its old 12:00 did not count as missed). */
  g_assert_cmpint (next_fire (fx, "scheda", "changed"), ==, T0 + 6 * 24 * HOUR + 2 * HOUR);
  all_next = stored_next (fx, "scheda", "all");
  oneshot_next = stored_next (fx, "scheda", "oneshot");
  g_assert_cmpstr (all_next, ==, "2026-12-01T14:00:00Z");
  g_assert_cmpstr (oneshot_next, ==, "none");

  /* Another restart a minute later delivers nothing twice. */
  shut_down (fx);
  fx->now += MINUTE;
  boot (fx);
  add_restart_jobs (fx, "cron TZ=UTC 0 12 * * MON");
  advance_to (fx, fx->now);
  assert_fires (fx, "");
  assert_deadline (fx, T0 + 4 * HOUR);
}

static void
test_ownership (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *a_row = NULL;
  g_autofree gchar *b_row = NULL;

  add_job (fx, "scheda", "job", "at 2026-12-01T10:00:01Z", "once");
  add_job (fx, "schedb", "job", "at 2026-12-01T10:00:02Z", "once");
  g_assert_cmpint (next_fire (fx, "scheda", "job"), ==, T0 + 1000);
  g_assert_cmpint (next_fire (fx, "schedb", "job"), ==, T0 + 2000);

  /* Removing "job" as scheda removes scheda's only, twice is an error. */
  g_assert_true (remove_job (fx, "scheda", "job", &error));
  g_assert_false (remove_job (fx, "scheda", "job", &error));
  g_assert_error (error, CW_ERROR, CW_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_cmpint (next_fire (fx, "schedb", "job"), ==, T0 + 2000);
  a_row = stored_next (fx, "scheda", "job");
  b_row = stored_next (fx, "schedb", "job");
  g_assert_cmpstr (a_row, ==, "no row");
  g_assert_cmpstr (b_row, ==, "2026-12-01T10:00:02Z");
  advance_to (fx, T0 + 5000);
  assert_fires (fx, "schedb job 2026-12-01T10:00:02Z on-time\n");

  /* Bad input is refused and harms nothing. */
  g_assert_null (call (fx, "scheda_add", "{\"jobId\":\"\",\"schedule\":\"at 1\"}", &error));
  g_assert_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS);
  g_clear_error (&error);
  g_assert_null (
      call (fx, "scheda_add", "{\"jobId\":\"x\",\"schedule\":\"cron 61 * * * *\"}", &error));
  g_assert_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS);
  g_assert_nonnull (strstr (error->message, "minute field"));
  g_assert_cmpuint (cw_scheduler_get_n_jobs (fx->scheduler), ==, 1);

  /* Stopped plugins' jobs stop firing; their stored state stays. */
  add_job (fx, "schedb", "later", "at 2026-12-01T11:00:00Z", "once");
  cw_plugin_loader_stop_all (fx->loader);
  g_assert_cmpuint (cw_scheduler_get_n_jobs (fx->scheduler), ==, 0);
  assert_deadline (fx, CW_SCHEDULE_NEVER);
  advance_to (fx, T0 + 2 * HOUR);
  assert_fires (fx, "");
  g_clear_pointer (&b_row, g_free);
  b_row = stored_next (fx, "schedb", "later");
  g_assert_cmpstr (b_row, ==, "2026-12-01T11:00:00Z");
}

static gboolean
on_timeout (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

/* The only test on the real clock: a fire 50 ms ahead comes through the timerfd. */
static void
test_timerfd (Fixture *fx, gconstpointer data)
{
  gint64 at = g_get_real_time () / 1000 + 50;
  g_autofree gchar *schedule = g_strdup_printf ("at %" G_GINT64_FORMAT, at);
  gboolean timed_out = FALSE;
  guint timeout = g_timeout_add_seconds (10, on_timeout, &timed_out);

  add_job (fx, "scheda", "soon", schedule, "once");
  g_assert_cmpint (cw_scheduler_get_deadline (fx->scheduler), ==, at);
  while (fx->fires->len == 0 && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  g_assert_false (timed_out);
  g_source_remove (timeout);
  g_assert_cmpuint (fx->fires->len, ==, 1);
  g_assert_true (g_str_has_suffix (g_ptr_array_index (fx->fires, 0), " on-time"));
  g_assert_cmpint (g_get_real_time () / 1000, >=, at);
  g_assert_cmpint (cw_scheduler_get_deadline (fx->scheduler), ==, CW_SCHEDULE_NEVER);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(path, func, real)                                                                      \
  g_test_add ("/cowork/scheduler/" path, Fixture, GINT_TO_POINTER (real), fixture_set_up, func,    \
              fixture_tear_down)
  ADD ("fire-order", test_fire_order, FALSE);
  ADD ("rearm-after-removal", test_rearm_after_removal, FALSE);
  ADD ("clock-jump-forward", test_clock_jump_forward, FALSE);
  ADD ("clock-jump-backward", test_clock_jump_backward, FALSE);
  ADD ("missed-at-restart", test_missed_at_restart, FALSE);
  ADD ("ownership", test_ownership, FALSE);
  ADD ("timerfd", test_timerfd, TRUE);
#undef ADD
  return g_test_run ();
}
