/* cw-store.c: the one SQLite database of the daemon (WAL), with versioned migrations per
 * owner. Each owner (core, each plugin) keeps its own numbered steps; the table
 * schema_versions records how far each owner's schema has been taken.
 *
 * Core schema (owner "core"), see cw-core-schema.c:
 *   1: events (durable event log) and event_meta (seq high-water mark, pruning mark)
 *   2: audit (security-relevant actions: mode switches, promotions, token rotations)
 *   3: core_scheduler_jobs (the scheduler's jobs and their next fire)
 *   4: core_interactions (pending interactions: permission, question, approval; kept a
 *      week after they are resolved)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-store-checkpointer-private.h"
#include "cowork-host.h"

#include <glib/gstdio.h>

struct _CwStore
{
  GObject parent_instance;
  sqlite3 *db;
  gchar *path;
  GHashTable *statements; /* sql -> sqlite3_stmt */
  CwStoreCheckpointer *checkpointer;
};

G_DEFINE_FINAL_TYPE (CwStore, cw_store, G_TYPE_OBJECT)

static void
cw_store_finalize (GObject *object)
{
  CwStore *self = CW_STORE (object);

  g_hash_table_unref (self->statements);
  g_clear_pointer (&self->checkpointer, cw_store_checkpointer_stop);
  if (self->db != NULL)
    {
      sqlite3_wal_hook (self->db, NULL, NULL);
      sqlite3_close (self->db);
    }
  g_free (self->path);
  G_OBJECT_CLASS (cw_store_parent_class)->finalize (object);
}

static void
cw_store_class_init (CwStoreClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = cw_store_finalize;
}

static void
statement_free (gpointer stmt)
{
  sqlite3_finalize (stmt);
}

static void
cw_store_init (CwStore *self)
{
  self->statements = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, statement_free);
}

/* A damaged file reads as odd errors ("table events already exists" from a migration that
 * saw no schema version): name the damage, and what to do, instead. */
static gboolean
set_damaged_error (CwStore *self, GError **error, const gchar *detail)
{
  int code = self->db != NULL ? sqlite3_errcode (self->db) & 0xff : SQLITE_OK;

  if (code != SQLITE_CORRUPT && code != SQLITE_NOTADB)
    return FALSE;
  g_set_error (error, CW_ERROR, CW_ERROR_INTERNAL,
               "the database %s is damaged (%s). It was left as it is. Stop coworkd, keep a "
               "copy with `coworkctl db backup`, see what `coworkctl db check` reports, then "
               "move the file away: coworkd starts with an empty database",
               self->path, detail);
  return TRUE;
}

gboolean
cw_store_set_error (CwStore *self, GError **error, const gchar *what)
{
  const gchar *detail = self->db != NULL ? sqlite3_errmsg (self->db) : "database is closed";

  if (!set_damaged_error (self, error, detail))
    g_set_error (error, CW_ERROR, CW_ERROR_INTERNAL, "%s: %s", what, detail);
  return FALSE;
}

gboolean
cw_store_exec (CwStore *self, const gchar *sql, GError **error)
{
  gchar *msg = NULL;

  g_return_val_if_fail (CW_IS_STORE (self), FALSE);
  if (sqlite3_exec (self->db, sql, NULL, NULL, &msg) != SQLITE_OK)
    {
      if (!set_damaged_error (self, error, msg != NULL ? msg : sqlite3_errmsg (self->db)))
        g_set_error (error, CW_ERROR, CW_ERROR_INTERNAL, "database error: %s",
                     msg != NULL ? msg : sqlite3_errmsg (self->db));
      sqlite3_free (msg);
      return FALSE;
    }
  return TRUE;
}

gboolean
cw_store_begin (CwStore *self, GError **error)
{
  return cw_store_exec (self, "BEGIN IMMEDIATE", error);
}

gboolean
cw_store_commit (CwStore *self, GError **error)
{
  if (!cw_store_exec (self, "COMMIT", error))
    {
      cw_store_rollback (self);
      return FALSE;
    }
  return TRUE;
}

void
cw_store_rollback (CwStore *self)
{
  if (!sqlite3_get_autocommit (self->db))
    sqlite3_exec (self->db, "ROLLBACK", NULL, NULL, NULL);
}

static gboolean
savepoint_name_is_valid (const gchar *name, GError **error)
{
  for (const gchar *p = name; p != NULL && *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && *p != '_')
      goto invalid;
  if (name != NULL && *name != '\0' && strlen (name) <= 64)
    return TRUE;
invalid:
  g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS, "invalid savepoint name '%s'",
               name != NULL ? name : "(null)");
  return FALSE;
}

static gboolean
savepoint_exec (CwStore *self, const gchar *verb, const gchar *name, GError **error)
{
  g_autofree gchar *sql = NULL;

  if (!savepoint_name_is_valid (name, error))
    return FALSE;
  sql = g_strdup_printf ("%s %s", verb, name);
  return cw_store_exec (self, sql, error);
}

gboolean
cw_store_savepoint (CwStore *self, const gchar *name, GError **error)
{
  g_return_val_if_fail (CW_IS_STORE (self), FALSE);
  return savepoint_exec (self, "SAVEPOINT", name, error);
}

gboolean
cw_store_release (CwStore *self, const gchar *name, GError **error)
{
  g_return_val_if_fail (CW_IS_STORE (self), FALSE);
  return savepoint_exec (self, "RELEASE", name, error);
}

void
cw_store_rollback_to (CwStore *self, const gchar *name)
{
  g_autoptr (GError) error = NULL;

  g_return_if_fail (CW_IS_STORE (self));
  /* ROLLBACK TO keeps the savepoint open; RELEASE ends it. */
  if (savepoint_exec (self, "ROLLBACK TO", name, &error))
    savepoint_exec (self, "RELEASE", name, NULL);
  else
    g_warning ("cannot roll back to savepoint %s: %s", name, error->message);
}

sqlite3_stmt *
cw_store_prepare (CwStore *self, const gchar *sql, GError **error)
{
  sqlite3_stmt *stmt;

  g_return_val_if_fail (CW_IS_STORE (self), NULL);
  stmt = g_hash_table_lookup (self->statements, sql);
  if (stmt != NULL)
    {
      sqlite3_reset (stmt);
      sqlite3_clear_bindings (stmt);
      return stmt;
    }
  if (sqlite3_prepare_v3 (self->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, NULL) != SQLITE_OK)
    {
      cw_store_set_error (self, error, "failed to prepare statement");
      return NULL;
    }
  g_hash_table_insert (self->statements, g_strdup (sql), stmt);
  return stmt;
}

void
cw_store_release_memory (CwStore *self)
{
  GHashTableIter iter;
  sqlite3_stmt *stmt;

  g_return_if_fail (CW_IS_STORE (self));
  g_hash_table_iter_init (&iter, self->statements);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &stmt))
    if (!sqlite3_stmt_busy (stmt))
      sqlite3_clear_bindings (stmt);
  sqlite3_db_release_memory (self->db);
}

sqlite3 *
cw_store_get_db (CwStore *self)
{
  g_return_val_if_fail (CW_IS_STORE (self), NULL);
  return self->db;
}

const gchar *
cw_store_get_path (CwStore *self)
{
  return self->path;
}

gint
cw_store_get_schema_version (CwStore *self, const gchar *owner)
{
  sqlite3_stmt *stmt;
  int rc;

  g_return_val_if_fail (CW_IS_STORE (self), -1);
  stmt = cw_store_prepare (self, "SELECT version FROM schema_versions WHERE owner = ?1", NULL);
  if (stmt == NULL)
    return -1;
  sqlite3_bind_text (stmt, 1, owner, -1, SQLITE_TRANSIENT);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    {
      gint v = sqlite3_column_int (stmt, 0);
      sqlite3_reset (stmt);
      return v;
    }
  /* Not "no row": an unreadable version must not look like a fresh database. */
  sqlite3_reset (stmt);
  return rc == SQLITE_DONE ? 0 : -1;
}

static gboolean
set_schema_version (CwStore *self, const gchar *owner, gint version, GError **error)
{
  sqlite3_stmt *stmt = cw_store_prepare (
      self, "INSERT OR REPLACE INTO schema_versions (owner, version) VALUES (?1, ?2)", error);

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, owner, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int (stmt, 2, version);
  if (sqlite3_step (stmt) != SQLITE_DONE)
    return cw_store_set_error (self, error, "failed to record schema version");
  sqlite3_reset (stmt);
  return TRUE;
}

/* The names of every schema object, to see what a step added. */
static GHashTable *
schema_names (CwStore *self)
{
  GHashTable *names = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  sqlite3_stmt *stmt = NULL;

  if (sqlite3_prepare_v2 (self->db, "SELECT name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'",
                          -1, &stmt, NULL)
      != SQLITE_OK)
    return names;
  while (sqlite3_step (stmt) == SQLITE_ROW)
    g_hash_table_add (names, g_strdup ((const gchar *) sqlite3_column_text (stmt, 0)));
  sqlite3_finalize (stmt);
  return names;
}

/* Every object a step of @owner added carries the owner's prefix. The core's historical
 * tables (events, audit, ...) predate the rule. */
static gboolean
check_prefixes (CwStore *self, const gchar *owner, GHashTable *before, GError **error)
{
  g_autoptr (GHashTable) after = NULL;
  g_autofree gchar *prefix = NULL;
  g_autofree gchar *prefix_ = NULL;
  GHashTableIter iter;
  const gchar *name;

  if (g_strcmp0 (owner, "core") == 0)
    return TRUE;
  after = schema_names (self);
  prefix = g_strdelimit (g_strdup (owner), "-", '_');
  prefix_ = g_strconcat (prefix, "_", NULL);
  g_hash_table_iter_init (&iter, after);
  while (g_hash_table_iter_next (&iter, (gpointer *) &name, NULL))
    {
      if (g_hash_table_contains (before, name) || g_strcmp0 (name, prefix) == 0
          || g_str_has_prefix (name, prefix_))
        continue;
      g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS,
                   "%s is not named after its owner (call it %s_…)", name, prefix);
      return FALSE;
    }
  return TRUE;
}

static gboolean
run_step (CwStore *self, const gchar *owner, const CwMigration *step, GError **error)
{
  g_autoptr (GHashTable) before = schema_names (self);

  if (step->sql != NULL && !cw_store_exec (self, step->sql, error))
    return FALSE;
  if (step->run != NULL && !step->run (self, step->user_data, error))
    {
      if (error != NULL && *error == NULL)
        g_set_error_literal (error, CW_ERROR, CW_ERROR_INTERNAL,
                             "its code failed without an error");
      return FALSE;
    }
  return check_prefixes (self, owner, before, error)
         && set_schema_version (self, owner, step->version, error);
}

gboolean
cw_store_migrate (CwStore *self, const gchar *owner, const CwMigration *steps, guint n_steps,
                  GError **error)
{
  gint current;

  g_return_val_if_fail (CW_IS_STORE (self), FALSE);
  g_return_val_if_fail (owner != NULL, FALSE);

  current = cw_store_get_schema_version (self, owner);
  if (current < 0)
    return cw_store_set_error (self, error, "failed to read schema version");
  if (n_steps > 0 && current > steps[n_steps - 1].version)
    {
      g_set_error (error, CW_ERROR, CW_ERROR_NOT_SUPPORTED,
                   "database schema of %s is version %d, newer than this build knows (%d)", owner,
                   current, steps[n_steps - 1].version);
      return FALSE;
    }
  for (guint i = 0; i < n_steps; i++)
    {
      if (steps[i].version <= current)
        continue;
      if (steps[i].version != current + 1)
        {
          g_set_error (error, CW_ERROR, CW_ERROR_INTERNAL,
                       "migrations of %s skip from version %d to %d", owner, current,
                       steps[i].version);
          return FALSE;
        }
      if (!cw_store_begin (self, error))
        return FALSE;
      if (!run_step (self, owner, &steps[i], error))
        {
          cw_store_rollback (self);
          g_prefix_error (error, "failed to migrate %s to version %d: ", owner, steps[i].version);
          return FALSE;
        }
      if (!cw_store_commit (self, error))
        return FALSE;
      g_debug ("migrated %s schema to version %d", owner, steps[i].version);
      current = steps[i].version;
    }
  return TRUE;
}

gboolean
cw_store_check (CwStore *self, GError **error)
{
  sqlite3_stmt *stmt = cw_store_prepare (self, "PRAGMA quick_check", error);
  const gchar *verdict;

  if (stmt == NULL)
    return FALSE;
  if (sqlite3_step (stmt) != SQLITE_ROW)
    return cw_store_set_error (self, error, "integrity check failed");
  verdict = (const gchar *) sqlite3_column_text (stmt, 0);
  if (g_strcmp0 (verdict, "ok") != 0)
    {
      g_set_error (error, CW_ERROR, CW_ERROR_INTERNAL, "database is damaged: %s", verdict);
      sqlite3_reset (stmt);
      return FALSE;
    }
  sqlite3_reset (stmt);
  return TRUE;
}

CwStore *
cw_store_open (const gchar *path, GError **error)
{
  g_autoptr (CwStore) self = g_object_new (CW_TYPE_STORE, NULL);
  g_autofree gchar *dir = g_path_get_dirname (path);
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;

  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      g_set_error (error, CW_ERROR, CW_ERROR_INTERNAL, "failed to create %s: %s", dir,
                   g_strerror (errno));
      return NULL;
    }
  self->path = g_strdup (path);
  if (sqlite3_open_v2 (path, &self->db, flags, NULL) != SQLITE_OK)
    {
      cw_store_set_error (self, error, "failed to open database");
      g_prefix_error (error, "%s: ", path);
      return NULL;
    }
  g_chmod (path, 0600);
  /* Others hold the write lock only briefly (coworkctl's audit records, the checkpointer):
   * wait a little, never stall the main loop long. */
  sqlite3_busy_timeout (self->db, 250);
  sqlite3_extended_result_codes (self->db, 1);
  if (!cw_store_exec (self,
                      "PRAGMA journal_mode = WAL;"
                      "PRAGMA synchronous = NORMAL;"
                      "PRAGMA foreign_keys = ON;"
                      "CREATE TABLE IF NOT EXISTS schema_versions ("
                      "  owner TEXT PRIMARY KEY, version INTEGER NOT NULL);",
                      error))
    {
      g_prefix_error (error, "%s: ", path);
      return NULL;
    }
  self->checkpointer = cw_store_checkpointer_start (self->db, path, 1000);
  return g_steal_pointer (&self);
}
