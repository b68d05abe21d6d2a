/* test-store.c: per-owner migrations, upgrading a database file from an older schema, and
 * giving back the memory a cached statement holds.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cowork-host.h"
#include "cw-test-daemon.h"

static gchar *
temp_db (gchar **dir)
{
  *dir = g_dir_make_tmp ("cw-store-XXXXXX", NULL);
  return g_build_filename (*dir, "test.db", NULL);
}

static const CwMigration plugin_v1[] = {
  { 1, "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL);" },
};
static const CwMigration plugin_v2[] = {
  { 1, "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL);" },
  { 2, "ALTER TABLE notes ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0;" },
};
static const CwMigration plugin_broken[] = {
  { 1, "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL);" },
  { 2, "ALTER TABLE notes ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0;" },
  { 3, "CREATE TABLE tags (x); THIS IS NOT SQL;" },
};

/* A code step: rewrites every body, as an importer or a data fix would. */
static gboolean
shout_bodies (CwStore *store, gpointer user_data, GError **error)
{
  guint *runs = user_data;

  (*runs)++;
  return cw_store_exec (store, "UPDATE notes SET body = upper(body)", error);
}

static gboolean
fail_in_code (CwStore *store, gpointer user_data, GError **error)
{
  if (!cw_store_exec (store, "UPDATE notes SET body = 'lost'", error))
    return FALSE;
  g_set_error_literal (error, CW_ERROR, CW_ERROR_FAILED, "the import file is unreadable");
  return FALSE;
}

static gint64
count (CwStore *store, const gchar *sql)
{
  sqlite3_stmt *stmt = cw_store_prepare (store, sql, NULL);
  gint64 n;

  g_assert_nonnull (stmt);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  n = sqlite3_column_int64 (stmt, 0);
  sqlite3_reset (stmt);
  return n;
}

static void
test_owner_migrations (void)
{
  g_autofree gchar *dir = NULL;
  g_autofree gchar *path = temp_db (&dir);
  g_autoptr (GError) error = NULL;
  g_autoptr (CwStore) store = cw_store_open (path, &error);

  g_assert_no_error (error);
  g_assert_cmpint (cw_store_get_schema_version (store, "notes"), ==, 0);
  g_assert_true (cw_store_migrate (store, "notes", plugin_v1, 1, &error));
  g_assert_true (cw_store_exec (store, "INSERT INTO notes (body) VALUES ('kept')", &error));
  g_assert_cmpint (cw_store_get_schema_version (store, "notes"), ==, 1);

  /* A newer build adds a step: data stays, the step runs once. */
  g_assert_true (cw_store_migrate (store, "notes", plugin_v2, 2, &error));
  g_assert_true (cw_store_migrate (store, "notes", plugin_v2, 2, &error));
  g_assert_cmpint (cw_store_get_schema_version (store, "notes"), ==, 2);
  g_assert_cmpint (count (store, "SELECT COUNT(*) FROM notes WHERE body = 'kept' AND pinned = 0"),
                   ==, 1);

  /* A failing step is rolled back whole and leaves the version where it was. */
  g_assert_false (cw_store_migrate (store, "notes", plugin_broken, 3, &error));
  g_assert_error (error, CW_ERROR, CW_ERROR_INTERNAL);
  g_assert_nonnull (strstr (error->message, "notes to version 3"));
  g_clear_error (&error);
  g_assert_cmpint (cw_store_get_schema_version (store, "notes"), ==, 2);
  g_assert_cmpint (count (store, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'tags'"), ==, 0);

  /* An older build refuses a schema it does not know instead of corrupting it. */
  g_assert_false (cw_store_migrate (store, "notes", plugin_v1, 1, &error));
  g_assert_error (error, CW_ERROR, CW_ERROR_NOT_SUPPORTED);
  /* Other owners are independent. */
  g_assert_cmpint (cw_store_get_schema_version (store, "other"), ==, 0);
  g_clear_object (&store);
  cw_test_rm_rf (dir);
}

static void
test_code_steps_and_prefixes (void)
{
  g_autofree gchar *dir = NULL;
  g_autofree gchar *path = temp_db (&dir);
  g_autoptr (GError) error = NULL;
  g_autoptr (CwStore) store = cw_store_open (path, &error);
  guint runs = 0;
  const CwMigration steps[] = {
    { 1, "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL);"
         "INSERT INTO notes (body) VALUES ('quiet');" },
    { 2, NULL, shout_bodies, &runs },
    { 3, "CREATE INDEX notes_by_body ON notes (body);", fail_in_code, NULL },
  };
  const CwMigration foreign[] = {
    { 1, "CREATE TABLE notes_ok (x); CREATE TABLE sessions (x);" },
  };

  g_assert_no_error (error);
  /* Code runs once, inside the step's transaction. */
  g_assert_true (cw_store_migrate (store, "notes", steps, 2, &error));
  g_assert_true (cw_store_migrate (store, "notes", steps, 2, &error));
  g_assert_cmpuint (runs, ==, 1);
  g_assert_cmpint (count (store, "SELECT COUNT(*) FROM notes WHERE body = 'QUIET'"), ==, 1);
  /* Code that fails rolls back its SQL and its own writes. */
  g_assert_false (cw_store_migrate (store, "notes", steps, 3, &error));
  g_assert_cmpstr (error->message, ==,
                   "failed to migrate notes to version 3: the import file is unreadable");
  g_clear_error (&error);
  g_assert_cmpint (cw_store_get_schema_version (store, "notes"), ==, 2);
  g_assert_cmpint (count (store, "SELECT COUNT(*) FROM notes WHERE body = 'QUIET'"), ==, 1);
  g_assert_cmpint (count (store, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'notes_by_body'"),
                   ==, 0);
  /* A table outside the owner's prefix is refused, and nothing of the step stays. */
  g_assert_false (cw_store_migrate (store, "notes-extra", foreign, 1, &error));
  g_assert_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS);
  g_assert_nonnull (strstr (error->message, "notes_ok is not named after its owner"));
  g_clear_error (&error);
  g_assert_cmpint (count (store, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'sessions'"), ==,
                   0);
  g_clear_object (&store);
  cw_test_rm_rf (dir);
}

static void
test_savepoints (void)
{
  g_autofree gchar *dir = NULL;
  g_autofree gchar *path = temp_db (&dir);
  g_autoptr (GError) error = NULL;
  g_autoptr (CwStore) store = cw_store_open (path, &error);

  g_assert_true (cw_store_migrate (store, "notes", plugin_v1, 1, &error));
  g_assert_true (cw_store_begin (store, &error));
  g_assert_true (cw_store_exec (store, "INSERT INTO notes (body) VALUES ('outer')", &error));
  g_assert_true (cw_store_savepoint (store, "inner", &error));
  g_assert_true (cw_store_exec (store, "INSERT INTO notes (body) VALUES ('dropped')", &error));
  cw_store_rollback_to (store, "inner");
  g_assert_true (cw_store_savepoint (store, "kept", &error));
  g_assert_true (cw_store_exec (store, "INSERT INTO notes (body) VALUES ('kept')", &error));
  g_assert_true (cw_store_release (store, "kept", &error));
  g_assert_true (cw_store_commit (store, &error));
  g_assert_cmpint (count (store, "SELECT COUNT(*) FROM notes"), ==, 2);
  g_assert_cmpint (count (store, "SELECT COUNT(*) FROM notes WHERE body = 'dropped'"), ==, 0);
  /* Names go into SQL: only plain identifiers. */
  g_assert_false (cw_store_savepoint (store, "x; DROP TABLE notes", &error));
  g_assert_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS);
  g_assert_cmpint (count (store, "SELECT COUNT(*) FROM notes"), ==, 2);
  g_clear_object (&store);
  cw_test_rm_rf (dir);
}

static void
test_upgrade_core_v1_file (void)
{
  g_autofree gchar *dir = NULL;
  g_autofree gchar *path = temp_db (&dir);
  g_autofree gchar *sql = NULL;
  g_autofree gchar *sql_path
      = g_test_build_filename (G_TEST_DIST, "core", "data", "core-v1.sql", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (CwStore) store = NULL;
  g_autoptr (CwEventBus) bus = NULL;
  g_autoptr (JsonObject) r = NULL;
  sqlite3 *db;

  /* Write the old file with plain SQLite, as the old daemon did. */
  g_assert_true (g_file_get_contents (sql_path, &sql, NULL, &error));
  g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (db, sql, NULL, NULL, NULL), ==, SQLITE_OK);
  sqlite3_close (db);

  store = cw_store_open (path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (cw_store_get_schema_version (store, "core"), ==, 1);
  g_assert_true (cw_core_schema_migrate (store, &error));
  g_assert_cmpint (cw_store_get_schema_version (store, "core"), ==,
                   cw_core_schema_latest_version ());
  g_assert_cmpint (count (store, "SELECT COUNT(*) FROM audit"), ==, 0);

  /* The events survive, and seq continues where the old daemon stopped. */
  bus = cw_event_bus_new (store, NULL, &error);
  g_assert_cmpint (cw_event_bus_get_cursor (bus), ==, 42);
  g_assert_cmpint (cw_event_bus_emit (bus, "daemon:ready", NULL, NULL), ==, 43);
  r = cw_event_bus_get_events_since (bus, 40, 10, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (r, "events")), ==, 3);
  g_assert_false (json_object_get_boolean_member (r, "hasGap"));
  g_clear_pointer (&r, json_object_unref);
  r = cw_event_bus_get_events_since (bus, 39, 10, &error);
  g_assert_true (json_object_get_boolean_member (r, "hasGap"));
  g_clear_object (&bus);
  g_clear_object (&store);
  cw_test_rm_rf (dir);
}

static void
test_open_unwritable (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (CwStore) store = NULL;

  if (getuid () == 0)
    store = cw_store_open ("/proc/cowork-test/db", &error);
  else
    store = cw_store_open ("/cowork-test-not-writable/db", &error);
  g_assert_null (store);
  g_assert_nonnull (error);
}

/* A large text bound once stays with its cached statement until the next use; releasing
 * gives it back, and the statement still works afterwards. */
static void
test_release_memory (void)
{
  g_autofree gchar *dir = NULL;
  g_autofree gchar *db = temp_db (&dir);
  g_autoptr (GError) error = NULL;
  g_autoptr (CwStore) store = cw_store_open (db, &error);
  g_autofree gchar *big = g_strnfill (4 * 1024 * 1024, 'x');
  const gchar *sql = "INSERT INTO notes (body) VALUES (?1)";
  sqlite3_stmt *stmt;
  sqlite3_int64 held, released;

  g_assert_no_error (error);
  g_assert_true (
      cw_store_exec (store, "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)", &error));
  stmt = cw_store_prepare (store, sql, &error);
  g_assert_nonnull (stmt);
  sqlite3_bind_text (stmt, 1, big, -1, SQLITE_TRANSIENT);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_DONE);
  sqlite3_reset (stmt);
  held = sqlite3_memory_used ();
  cw_store_release_memory (store);
  released = sqlite3_memory_used ();
  g_assert_cmpint (held - released, >=, 4 * 1024 * 1024);

  stmt = cw_store_prepare (store, sql, &error);
  sqlite3_bind_text (stmt, 1, "small", -1, SQLITE_STATIC);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_DONE);
  sqlite3_reset (stmt);
  stmt = cw_store_prepare (store, "SELECT count(*), max(length(body)) FROM notes", &error);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  g_assert_cmpint (sqlite3_column_int (stmt, 0), ==, 2);
  g_assert_cmpint (sqlite3_column_int (stmt, 1), ==, 4 * 1024 * 1024);
  sqlite3_reset (stmt);
  g_clear_object (&store);
  cw_test_rm_rf (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cowork/store/code-steps-and-prefixes", test_code_steps_and_prefixes);
  g_test_add_func ("/cowork/store/savepoints", test_savepoints);
  g_test_add_func ("/cowork/store/owner-migrations", test_owner_migrations);
  g_test_add_func ("/cowork/store/upgrade-core-v1-file", test_upgrade_core_v1_file);
  g_test_add_func ("/cowork/store/open-unwritable", test_open_unwritable);
  g_test_add_func ("/cowork/store/release-memory", test_release_memory);
  return g_test_run ();
}
