/* cw-scheduler.c: timed jobs of every plugin on one wall-clock timer.
 *
 * One CLOCK_REALTIME timerfd, armed with TFD_TIMER_ABSTIME for the earliest job, fires at
 * the right wall time after suspend, and TFD_TIMER_CANCEL_ON_SET makes its read fail with
 * ECANCELED when the clock is set, so the jobs are recomputed. Nothing else wakes up.
 * Each job's first undelivered instant is stored (core_scheduler_jobs), and it is written
 * after the calls for a dispatch ran: delivery is at least once. Rows of added jobs are
 * written together on the next main-loop turn (a plugin adds thousands at start); one lost
 * in a crash before that only makes the job start afresh when its plugin adds it again.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-missed-policy-private.h"
#include "cw-scheduler-private.h"

#include <errno.h>
#include <glib-unix.h>
#include <sys/timerfd.h>
#include <unistd.h>

typedef struct
{
  gchar *key; /* owner, unit separator, job id: the table's key */
  gchar *owner;
  gchar *job_id;
  guint64 seq; /* registration order, for ties */
  CwSchedule *schedule;
  gchar *schedule_text;
  CwMissedPolicy missed;
  CwScheduleFunc func;
  CwPlugin *plugin;
  gpointer user_data;
  GDestroyNotify destroy;
  gint64 next;           /* the first instant not delivered yet, or CW_SCHEDULE_NEVER */
  GSequenceIter *queued; /* in the scheduler's queue while next is an instant */
  gboolean removed;      /* no longer fires */
  gboolean deleted;      /* removed or replaced: its row is gone or belongs to the new job */
} Job;

struct _CwScheduler
{
  GObject parent_instance;
  CwStore *store;
  GHashTable *jobs;  /* key -> Job (rc box) */
  GSequence *queue;  /* jobs with a next instant, earliest first (not owning) */
  GHashTable *dirty; /* key -> Job (ref): rows to write at the next flush */
  guint flush_source;
  guint64 next_seq;
  gint timer_fd;
  guint timer_source;
  guint idle_source; /* a test clock's expired deadline */
  gint64 deadline;
  CwSchedulerClockFunc clock;
  gpointer clock_data;
  gboolean dispatching;
};

G_DEFINE_FINAL_TYPE (CwScheduler, cw_scheduler, G_TYPE_OBJECT)

static void
job_clear (gpointer data)
{
  Job *job = data;

  if (job->destroy != NULL)
    job->destroy (job->user_data);
  g_free (job->key);
  g_free (job->owner);
  g_free (job->job_id);
  g_free (job->schedule_text);
  cw_schedule_unref (job->schedule);
}

static void
job_unref (gpointer job)
{
  g_rc_box_release_full (job, job_clear);
}

static gchar *
make_key (const gchar *owner, const gchar *job_id)
{
  return g_strconcat (owner, "\x1f", job_id, NULL);
}

static gint64
now_ms (CwScheduler *self)
{
  return self->clock != NULL ? self->clock (self->clock_data) : g_get_real_time () / 1000;
}

/* ---- the queue ----------------------------------------------------------------------- */

static gint
compare_jobs (gconstpointer a, gconstpointer b, gpointer user_data)
{
  const Job *x = a, *y = b;

  if (x->next != y->next)
    return x->next < y->next ? -1 : 1;
  return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void
unqueue (Job *job)
{
  if (job->queued != NULL)
    g_sequence_remove (job->queued);
  job->queued = NULL;
}

/* Call whenever job->next changes. */
static void
requeue (CwScheduler *self, Job *job)
{
  unqueue (job);
  if (job->next != CW_SCHEDULE_NEVER && !job->removed)
    job->queued = g_sequence_insert_sorted (self->queue, job, compare_jobs, NULL);
}

static Job *
earliest (CwScheduler *self)
{
  GSequenceIter *first = g_sequence_get_begin_iter (self->queue);

  return g_sequence_iter_is_end (first) ? NULL : g_sequence_get (first);
}

/* ---- the timer ----------------------------------------------------------------------- */

static gboolean
dispatch_idle (gpointer user_data)
{
  CwScheduler *self = user_data;

  self->idle_source = 0;
  cw_scheduler_dispatch (self);
  return G_SOURCE_REMOVE;
}

static void
arm (CwScheduler *self)
{
  Job *first = earliest (self);
  gint64 deadline = first != NULL ? first->next : CW_SCHEDULE_NEVER;
  struct itimerspec spec = { { 0, 0 }, { 0, 0 } };

  self->deadline = deadline;
  if (self->clock != NULL)
    {
      /* A timer armed for a past instant fires at once; so does the test clock. */
      if (deadline != CW_SCHEDULE_NEVER && deadline <= now_ms (self) && self->idle_source == 0)
        self->idle_source = g_idle_add (dispatch_idle, self);
      return;
    }
  if (self->timer_fd < 0)
    return;
  if (deadline != CW_SCHEDULE_NEVER)
    {
      deadline = MAX (deadline, 1); /* an all-zero value disarms */
      spec.it_value.tv_sec = deadline / 1000;
      spec.it_value.tv_nsec = (deadline % 1000) * 1000000;
    }
  if (timerfd_settime (self->timer_fd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &spec, NULL)
      < 0)
    g_warning ("scheduler: cannot arm the timer: %s", g_strerror (errno));
}

static gboolean
on_timer (gint fd, GIOCondition condition, gpointer user_data)
{
  CwScheduler *self = user_data;
  guint64 expirations;

  if (read (fd, &expirations, sizeof expirations) < 0)
    {
      if (errno == ECANCELED)
        cw_scheduler_clock_changed (self);
      else if (errno != EAGAIN && errno != EINTR)
        g_warning ("scheduler: cannot read the timer: %s", g_strerror (errno));
      return G_SOURCE_CONTINUE;
    }
  cw_scheduler_dispatch (self);
  return G_SOURCE_CONTINUE;
}

/* ---- storage ------------------------------------------------------------------------- */

static gboolean
store_job (CwScheduler *self, Job *job, GError **error)
{
  sqlite3_stmt *stmt = cw_store_prepare (
      self->store,
      "INSERT INTO core_scheduler_jobs (owner, job_id, schedule, missed_policy, next_fire,"
      "  updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
      " ON CONFLICT (owner, job_id) DO UPDATE SET schedule = ?3, missed_policy = ?4,"
      "  next_fire = ?5, updated_at = ?6",
      error);
  gint rc;

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, job->owner, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 2, job->job_id, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 3, job->schedule_text, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 4, cw_missed_policy_to_string (job->missed), -1, SQLITE_STATIC);
  if (job->next == CW_SCHEDULE_NEVER)
    sqlite3_bind_null (stmt, 5);
  else
    sqlite3_bind_int64 (stmt, 5, job->next);
  sqlite3_bind_int64 (stmt, 6, g_get_real_time () / 1000);
  rc = sqlite3_step (stmt);
  sqlite3_reset (stmt);
  sqlite3_clear_bindings (stmt);
  if (rc != SQLITE_DONE)
    return cw_store_set_error (self->store, error, "failed to store a scheduled job");
  return TRUE;
}

static void
flush (CwScheduler *self)
{
  g_autoptr (GError) error = NULL;
  GHashTableIter iter;
  gpointer value;

  g_clear_handle_id (&self->flush_source, g_source_remove);
  if (g_hash_table_size (self->dirty) == 0)
    return;
  if (cw_store_begin (self->store, &error))
    {
      g_hash_table_iter_init (&iter, self->dirty);
      while (error == NULL && g_hash_table_iter_next (&iter, NULL, &value))
        store_job (self, value, &error);
      if (error == NULL)
        cw_store_commit (self->store, &error);
      else
        cw_store_rollback (self->store);
    }
  if (error != NULL)
    g_warning ("scheduler: %s; fires since the last store may come again", error->message);
  g_hash_table_remove_all (self->dirty);
}

static gboolean
flush_idle (gpointer user_data)
{
  CwScheduler *self = user_data;

  self->flush_source = 0;
  flush (self);
  return G_SOURCE_REMOVE;
}

static void
mark_dirty (CwScheduler *self, Job *job)
{
  if (job->deleted)
    return;
  g_hash_table_replace (self->dirty, job->key, g_rc_box_acquire (job));
  if (self->flush_source == 0)
    self->flush_source = g_idle_add (flush_idle, self);
}

/* The stored next instant of the job if its schedule is still @schedule_text. */
static gboolean
lookup_stored (CwScheduler *self, const Job *job, gint64 *out_next)
{
  sqlite3_stmt *stmt = cw_store_prepare (
      self->store,
      "SELECT next_fire FROM core_scheduler_jobs WHERE owner = ?1 AND job_id = ?2"
      " AND schedule = ?3",
      NULL);
  gboolean found;

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, job->owner, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 2, job->job_id, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 3, job->schedule_text, -1, SQLITE_STATIC);
  found = sqlite3_step (stmt) == SQLITE_ROW;
  if (found)
    *out_next = sqlite3_column_type (stmt, 0) == SQLITE_NULL ? CW_SCHEDULE_NEVER
                                                             : sqlite3_column_int64 (stmt, 0);
  sqlite3_reset (stmt);
  sqlite3_clear_bindings (stmt);
  return found;
}

static gboolean
delete_stored (CwScheduler *self, const gchar *owner, const gchar *job_id, gboolean *out_found,
               GError **error)
{
  sqlite3_stmt *stmt = cw_store_prepare (
      self->store, "DELETE FROM core_scheduler_jobs WHERE owner = ?1 AND job_id = ?2", error);
  gint rc;

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, owner, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 2, job_id, -1, SQLITE_STATIC);
  rc = sqlite3_step (stmt);
  sqlite3_reset (stmt);
  sqlite3_clear_bindings (stmt);
  if (rc != SQLITE_DONE)
    return cw_store_set_error (self->store, error, "failed to remove a scheduled job");
  *out_found = sqlite3_changes (cw_store_get_db (self->store)) > 0;
  return TRUE;
}

/* ---- jobs ---------------------------------------------------------------------------- */

/* After the clock went back, a job waits for its next instant from now, not for one
 * computed while the clock was ahead. */
static gint64
rewind_next (const Job *job, gint64 next, gint64 now)
{
  gint64 from_now;

  if (next == CW_SCHEDULE_NEVER)
    return next;
  from_now = cw_schedule_next_after (job->schedule, now);
  return from_now != CW_SCHEDULE_NEVER && from_now < next ? from_now : next;
}

static void
drop_job (CwScheduler *self, Job *job)
{
  job->removed = TRUE;
  job->deleted = TRUE;
  if (g_hash_table_lookup (self->dirty, job->key) == job)
    g_hash_table_remove (self->dirty, job->key);
  unqueue (job);
  g_hash_table_remove (self->jobs, job->key);
}

gboolean
cw_scheduler_add (CwScheduler *self, CwPlugin *plugin, const gchar *owner, const gchar *job_id,
                  CwSchedule *schedule, CwMissedPolicy missed, CwScheduleFunc func,
                  gpointer user_data, GDestroyNotify destroy, GError **error)
{
  Job *job = g_rc_box_new0 (Job);
  Job *old;
  gint64 now = now_ms (self), stored;

  job->owner = g_strdup (owner);
  job->job_id = g_strdup (job_id);
  job->key = make_key (owner, job_id);
  job->seq = self->next_seq++;
  job->schedule = cw_schedule_ref (schedule);
  job->schedule_text = cw_schedule_to_string (schedule);
  job->missed = missed;
  job->func = func;
  job->plugin = plugin;
  job->user_data = user_data;
  job->destroy = destroy;
  if (g_hash_table_contains (self->dirty, job->key))
    flush (self); /* the stored state must be current before it is read */
  old = g_hash_table_lookup (self->jobs, job->key);
  if (old != NULL && g_strcmp0 (old->schedule_text, job->schedule_text) == 0)
    job->next = old->next;
  else if (lookup_stored (self, job, &stored))
    job->next = rewind_next (job, stored, now);
  else
    job->next = cw_schedule_next_after (schedule, now);
  if (old != NULL)
    drop_job (self, old);
  g_hash_table_insert (self->jobs, job->key, job);
  requeue (self, job);
  mark_dirty (self, job);
  if (!self->dispatching)
    arm (self);
  return TRUE;
}

gboolean
cw_scheduler_remove (CwScheduler *self, const gchar *owner, const gchar *job_id, GError **error)
{
  g_autofree gchar *key = make_key (owner, job_id);
  Job *job = g_hash_table_lookup (self->jobs, key);
  gboolean found = FALSE;

  g_hash_table_remove (self->dirty, key);
  if (!delete_stored (self, owner, job_id, &found, error))
    return FALSE;
  if (job != NULL)
    drop_job (self, job);
  if (job == NULL && !found)
    {
      g_set_error (error, CW_ERROR, CW_ERROR_NOT_FOUND, "no scheduled job '%s'", job_id);
      return FALSE;
    }
  if (!self->dispatching)
    arm (self);
  return TRUE;
}

gint64
cw_scheduler_get_next (CwScheduler *self, const gchar *owner, const gchar *job_id)
{
  g_autofree gchar *key = make_key (owner, job_id);
  Job *job = g_hash_table_lookup (self->jobs, key);

  return job != NULL ? job->next : CW_SCHEDULE_NEVER;
}

gint64
cw_scheduler_get_now (CwScheduler *self)
{
  return now_ms (self);
}

void
cw_scheduler_remove_owner (CwScheduler *self, const gchar *owner)
{
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, self->jobs);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    if (g_strcmp0 (((Job *) value)->owner, owner) == 0)
      {
        ((Job *) value)->removed = TRUE;
        unqueue (value);
        g_hash_table_iter_remove (&iter);
      }
  if (!self->dispatching)
    arm (self);
}

guint
cw_scheduler_get_n_jobs (CwScheduler *self)
{
  return g_hash_table_size (self->jobs);
}

gint64
cw_scheduler_get_deadline (CwScheduler *self)
{
  return self->deadline;
}

/* ---- dispatch ------------------------------------------------------------------------ */

typedef struct
{
  Job *job;
  CwScheduledFire fire;
} Call;

static gint
compare_calls (gconstpointer a, gconstpointer b)
{
  const Call *x = a, *y = b;

  if (x->fire.instant != y->fire.instant)
    return x->fire.instant < y->fire.instant ? -1 : 1;
  return x->job->seq < y->job->seq ? -1 : x->job->seq > y->job->seq;
}

/* Plans the calls of every due job and moves the job past @now. */
static GPtrArray *
collect_due (CwScheduler *self, gint64 now, GArray *calls)
{
  GPtrArray *due = g_ptr_array_new_with_free_func (job_unref);
  g_autoptr (GArray) fires = g_array_new (FALSE, FALSE, sizeof (CwScheduledFire));
  Job *job;

  while ((job = earliest (self)) != NULL && job->next <= now)
    {
      g_array_set_size (fires, 0);
      cw_missed_policy_plan (job->missed, job->schedule, job->next, now, fires);
      for (guint i = 0; i < fires->len; i++)
        {
          Call call = { job, g_array_index (fires, CwScheduledFire, i) };
          g_array_append_val (calls, call);
        }
      job->next = cw_schedule_next_after (job->schedule, now);
      requeue (self, job); /* behind @now: the loop does not see it again */
      g_ptr_array_add (due, g_rc_box_acquire (job));
    }
  return due;
}

static void
store_due (CwScheduler *self, GPtrArray *due)
{
  for (guint i = 0; i < due->len; i++)
    mark_dirty (self, g_ptr_array_index (due, i));
  flush (self);
}

void
cw_scheduler_dispatch (CwScheduler *self)
{
  g_autoptr (GArray) calls = g_array_new (FALSE, FALSE, sizeof (Call));
  g_autoptr (GPtrArray) due = NULL;

  g_return_if_fail (!self->dispatching);
  self->dispatching = TRUE;
  due = collect_due (self, now_ms (self), calls);
  g_array_sort (calls, compare_calls);
  for (guint i = 0; i < calls->len; i++)
    {
      Call *call = &g_array_index (calls, Call, i);

      if (!call->job->removed)
        call->job->func (call->job->plugin, call->job->job_id, call->fire.instant, call->fire.flags,
                         call->job->user_data);
    }
  if (due->len > 0)
    store_due (self, due);
  self->dispatching = FALSE;
  arm (self);
}

void
cw_scheduler_clock_changed (CwScheduler *self)
{
  gint64 now = now_ms (self);
  g_autoptr (GPtrArray) moved = g_ptr_array_new_with_free_func (job_unref);
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, self->jobs);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      Job *job = value;
      gint64 next = rewind_next (job, job->next, now);

      if (next != job->next)
        {
          job->next = next;
          g_ptr_array_add (moved, g_rc_box_acquire (job));
        }
    }
  for (guint i = 0; i < moved->len; i++)
    requeue (self, g_ptr_array_index (moved, i));
  if (moved->len > 0)
    store_due (self, moved);
  cw_scheduler_dispatch (self);
}

void
cw_scheduler_set_clock (CwScheduler *self, CwSchedulerClockFunc now, gpointer user_data)
{
  self->clock = now;
  self->clock_data = user_data;
  g_clear_handle_id (&self->timer_source, g_source_remove);
  if (self->timer_fd >= 0)
    close (self->timer_fd);
  self->timer_fd = -1;
  arm (self);
}

/* ---- object -------------------------------------------------------------------------- */

static void
cw_scheduler_finalize (GObject *object)
{
  CwScheduler *self = CW_SCHEDULER (object);

  flush (self);
  g_hash_table_unref (self->dirty);
  g_clear_handle_id (&self->timer_source, g_source_remove);
  g_clear_handle_id (&self->idle_source, g_source_remove);
  if (self->timer_fd >= 0)
    close (self->timer_fd);
  g_hash_table_unref (self->jobs);
  g_sequence_free (self->queue);
  g_clear_object (&self->store);
  G_OBJECT_CLASS (cw_scheduler_parent_class)->finalize (object);
}

static void
cw_scheduler_class_init (CwSchedulerClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = cw_scheduler_finalize;
}

static void
cw_scheduler_init (CwScheduler *self)
{
  self->jobs = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, job_unref);
  self->queue = g_sequence_new (NULL);
  self->dirty = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, job_unref);
  self->timer_fd = -1;
  self->deadline = CW_SCHEDULE_NEVER;
}

CwScheduler *
cw_scheduler_new (CwStore *store, GError **error)
{
  g_autoptr (CwScheduler) self = g_object_new (CW_TYPE_SCHEDULER, NULL);

  self->store = g_object_ref (store);
  self->timer_fd = timerfd_create (CLOCK_REALTIME, TFD_NONBLOCK | TFD_CLOEXEC);
  if (self->timer_fd < 0)
    {
      g_set_error (error, CW_ERROR, CW_ERROR_INTERNAL, "cannot create the scheduler's timer: %s",
                   g_strerror (errno));
      return NULL;
    }
  self->timer_source = g_unix_fd_add (self->timer_fd, G_IO_IN, on_timer, self);
  return g_steal_pointer (&self);
}
