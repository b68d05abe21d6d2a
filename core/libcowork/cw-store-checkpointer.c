/* cw-store-checkpointer.c: a checkpoint writes the WAL back into the database and fsyncs it,
 * which on slow disks takes milliseconds. SQLite's automatic checkpoint runs inside whichever
 * commit crosses the threshold, on the main loop; here a thread with its own connection does
 * it (PASSIVE: it never blocks the daemon's writers).
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-store-checkpointer-private.h"

#define RETRY_INTERVAL_US (5 * G_TIME_SPAN_SECOND)

struct _CwStoreCheckpointer
{
  GThread *thread;
  GMutex mutex;
  GCond cond;
  gboolean poked;
  gboolean settled; /* the last checkpoint copied the whole WAL */
  gboolean stopping;
  gchar *path;
  gint pages;
};

static gpointer checkpointer_thread (gpointer data);

static int
on_wal_commit (void *data, sqlite3 *db, const char *name, int pages)
{
  CwStoreCheckpointer *self = data;

  if (pages < self->pages)
    return SQLITE_OK;
  /* Started on first need: an idle daemon keeps neither the thread nor its connection. */
  if (self->thread == NULL)
    self->thread = g_thread_new ("cw-checkpoint", checkpointer_thread, self);
  g_mutex_lock (&self->mutex);
  self->poked = TRUE;
  g_cond_signal (&self->cond);
  g_mutex_unlock (&self->mutex);
  return SQLITE_OK;
}

static gpointer
checkpointer_thread (gpointer data)
{
  CwStoreCheckpointer *self = data;
  sqlite3 *db = NULL;

  if (sqlite3_open_v2 (self->path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL)
      != SQLITE_OK)
    {
      g_warning ("checkpoints stay on the main loop: %s", sqlite3_errmsg (db));
      sqlite3_close (db);
      return NULL;
    }
  sqlite3_busy_timeout (db, 1000);
  g_mutex_lock (&self->mutex);
  while (!self->stopping)
    {
      gint log = -1, done = -1;

      /* A checkpoint that could not copy every frame (a reader held them) is tried again
       * after RETRY_INTERVAL_US; once the WAL is copied the thread sleeps until the next
       * poke, so an idle daemon does not wake up. */
      if (!self->poked && self->settled)
        g_cond_wait (&self->cond, &self->mutex);
      else if (!self->poked)
        g_cond_wait_until (&self->cond, &self->mutex, g_get_monotonic_time () + RETRY_INTERVAL_US);
      if (self->stopping)
        break;
      if (!self->poked && self->settled)
        continue; /* a spurious wake-up */
      self->poked = FALSE;
      g_mutex_unlock (&self->mutex);
      sqlite3_wal_checkpoint_v2 (db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
      g_mutex_lock (&self->mutex);
      self->settled = log == done;
    }
  g_mutex_unlock (&self->mutex);
  sqlite3_close (db);
  return NULL;
}

CwStoreCheckpointer *
cw_store_checkpointer_start (sqlite3 *db, const gchar *path, gint pages)
{
  CwStoreCheckpointer *self = g_new0 (CwStoreCheckpointer, 1);

  g_mutex_init (&self->mutex);
  g_cond_init (&self->cond);
  self->path = g_strdup (path);
  self->pages = pages;
  /* Replaces SQLite's own automatic checkpoint on this connection. */
  sqlite3_wal_hook (db, on_wal_commit, self);
  return self;
}

void
cw_store_checkpointer_stop (CwStoreCheckpointer *self)
{
  if (self == NULL)
    return;
  g_mutex_lock (&self->mutex);
  self->stopping = TRUE;
  g_cond_signal (&self->cond);
  g_mutex_unlock (&self->mutex);
  if (self->thread != NULL)
    g_thread_join (self->thread);
  g_mutex_clear (&self->mutex);
  g_cond_clear (&self->cond);
  g_free (self->path);
  g_free (self);
}
