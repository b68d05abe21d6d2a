/* cw-ctl-db.c: `coworkctl db check` and `coworkctl db backup`: look at the daemon's
 * database without the daemon, and copy it before anything is done to a damaged one.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "cw-ctl-service-private.h"

#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <sqlite3.h>

const gchar cw_ctl_db_usage[]
    = "  check            run SQLite's integrity check on the database (changes nothing)\n"
      "  backup [FILE]    copy the database to FILE (default: next to it, with the time)\n";

static sqlite3 *
open_db (const gchar *path, int flags, GError **error)
{
  sqlite3 *db = NULL;

  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT, _ ("there is no database at %s"), path);
      return NULL;
    }
  if (sqlite3_open_v2 (path, &db, flags, NULL) != SQLITE_OK)
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_FAILED, _ ("cannot open %s: %s"), path,
                   sqlite3_errmsg (db));
      sqlite3_close (db);
      return NULL;
    }
  sqlite3_busy_timeout (db, 2000);
  return db;
}

static int
db_check (CwCtl *ctl, GError **error)
{
  sqlite3 *db = open_db (ctl->paths->db_file, SQLITE_OPEN_READWRITE, error);
  sqlite3_stmt *stmt = NULL;
  guint problems = 0;
  int rc;

  if (db == NULL)
    return 1;
  rc = sqlite3_prepare_v2 (db, "PRAGMA integrity_check", -1, &stmt, NULL);
  while (stmt != NULL && (rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      const gchar *line = (const gchar *) sqlite3_column_text (stmt, 0);
      if (g_strcmp0 (line, "ok") == 0)
        continue;
      problems++;
      g_print ("%s\n", line);
    }
  if (rc != SQLITE_DONE)
    {
      problems++;
      g_print ("%s\n", sqlite3_errmsg (db));
    }
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  if (problems == 0)
    {
      g_print (_ ("%s: ok\n"), ctl->paths->db_file);
      return 0;
    }
  g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_FAILED,
               _ ("%s is damaged; keep a copy (coworkctl db backup), then move it away and "
                  "restart coworkd to begin with an empty database"),
               ctl->paths->db_file);
  return 1;
}

/* A byte copy of the file and its WAL, for when SQLite cannot read it. */
static gboolean
copy_raw (const gchar *from, const gchar *to, GError **error)
{
  const gchar *suffixes[] = { "", "-wal" };

  for (guint i = 0; i < G_N_ELEMENTS (suffixes); i++)
    {
      g_autofree gchar *src_path = g_strconcat (from, suffixes[i], NULL);
      g_autofree gchar *dst_path = g_strconcat (to, suffixes[i], NULL);
      g_autoptr (GFile) src = g_file_new_for_path (src_path);
      g_autoptr (GFile) dst = g_file_new_for_path (dst_path);

      if (i > 0 && !g_file_query_exists (src, NULL))
        continue;
      if (!g_file_copy (src, dst, G_FILE_COPY_NONE, NULL, NULL, NULL, error))
        return FALSE;
    }
  return TRUE;
}

static int
db_backup (CwCtl *ctl, const gchar *target, GError **error)
{
  g_autofree gchar *stamp = NULL, *path = NULL;
  g_autoptr (GDateTime) now = g_date_time_new_now_local ();
  sqlite3 *src, *dst = NULL;
  sqlite3_backup *backup;
  gboolean ok = FALSE;

  stamp = g_date_time_format (now, "%Y%m%d-%H%M%S");
  path = target != NULL ? g_strdup (target)
                        : g_strdup_printf ("%s.backup-%s", ctl->paths->db_file, stamp);
  if (g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_EXIST, _ ("%s exists already"), path);
      return 1;
    }
  src = open_db (ctl->paths->db_file, SQLITE_OPEN_READWRITE, error);
  if (src == NULL)
    return 1;
  /* SQLite's online backup is consistent while the daemon runs; a file it cannot read is
   * copied byte for byte instead. */
  if (sqlite3_open_v2 (path, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) == SQLITE_OK
      && (backup = sqlite3_backup_init (dst, "main", src, "main")) != NULL)
    {
      ok = sqlite3_backup_step (backup, -1) == SQLITE_DONE;
      sqlite3_backup_finish (backup);
    }
  sqlite3_close (dst);
  sqlite3_close (src);
  if (!ok)
    {
      g_remove (path);
      if (!copy_raw (ctl->paths->db_file, path, error))
        return 1;
      g_print (_ ("SQLite could not read %s; copied it byte for byte to %s\n"), ctl->paths->db_file,
               path);
      return 0;
    }
  g_chmod (path, 0600);
  g_print (_ ("backed up %s to %s\n"), ctl->paths->db_file, path);
  return 0;
}

int
cw_ctl_db (CwCtl *ctl, int argc, char **argv, GError **error)
{
  if (argc == 2 && g_strcmp0 (argv[1], "check") == 0)
    return db_check (ctl, error);
  if ((argc == 2 || argc == 3) && g_strcmp0 (argv[1], "backup") == 0)
    return db_backup (ctl, argc == 3 ? argv[2] : NULL, error);
  g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED,
               _ ("usage: coworkctl db check | db backup [FILE]"));
  return 2;
}
