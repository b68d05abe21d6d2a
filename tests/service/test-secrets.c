/* test-secrets.c: CwSecrets in both scopes, their separation, promotion, and that no value
 * leaks. Runs under with-keyring.sh: a private session bus with a real, unlocked
 * gnome-keyring-daemon, so the user scope is the real Secret Service.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#define _GNU_SOURCE
#include "cowork-host.h"
#include "cw-test-daemon.h"
#include "cw-token-private.h"

#include <glib/gstdio.h>
#include <signal.h>
#include <unistd.h>
#include <libsecret/secret.h>
#include <string.h>
#include <sys/stat.h>

static gchar *
unique_value (const gchar *prefix)
{
  g_autofree gchar *id = cw_make_id ("v");

  return g_strdup_printf ("%s-%s", prefix, id);
}

static guint
file_mode (const gchar *path)
{
  struct stat st;

  g_assert_cmpint (g_stat (path, &st), ==, 0);
  return st.st_mode & 07777;
}

/* Paths of files under @dir whose bytes contain @needle. */
static void
find_in_tree (const gchar *dir, const gchar *needle, GPtrArray *hits)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const gchar *name;

  if (d == NULL)
    return;
  while ((name = g_dir_read_name (d)) != NULL)
    {
      g_autofree gchar *path = g_build_filename (dir, name, NULL);
      g_autofree gchar *data = NULL;
      gsize len = 0;

      if (g_file_test (path, G_FILE_TEST_IS_DIR))
        find_in_tree (path, needle, hits);
      else if (g_file_get_contents (path, &data, &len, NULL)
               && memmem (data, len, needle, strlen (needle)) != NULL)
        g_ptr_array_add (hits, g_steal_pointer (&path));
    }
}

static void
assert_not_in_tree (const gchar *dir, const gchar *needle)
{
  g_autoptr (GPtrArray) hits = g_ptr_array_new_with_free_func (g_free);

  find_in_tree (dir, needle, hits);
  for (guint i = 0; i < hits->len; i++)
    g_printerr ("secret value found in %s\n", (const gchar *) g_ptr_array_index (hits, i));
  g_assert_cmpuint (hits->len, ==, 0);
}

static gboolean
list_has (JsonArray *list, const gchar *kind, const gchar *name, const gchar *scope)
{
  for (guint i = 0; i < json_array_get_length (list); i++)
    {
      JsonObject *o = json_array_get_object_element (list, i);
      if (g_strcmp0 (json_object_get_string_member (o, "kind"), kind) == 0
          && g_strcmp0 (json_object_get_string_member (o, "name"), name) == 0
          && g_strcmp0 (json_object_get_string_member (o, "scope"), scope) == 0)
        return TRUE;
    }
  return FALSE;
}

static void
test_user_scope (void)
{
  g_autoptr (CwSecrets) secrets = cw_secrets_new_user ();
  g_autoptr (GError) error = NULL;
  g_autofree gchar *value = unique_value ("sk-user");
  g_autofree gchar *got = NULL;
  g_autoptr (JsonArray) list = NULL;
  g_autoptr (GHashTable) attrs = NULL;
  GList *items;

  g_assert_cmpstr (cw_secrets_get_scope (secrets), ==, "user");
  g_assert_true (cw_secrets_store_sync (secrets, "provider", "openai", value, &error));
  g_assert_no_error (error);
  got = cw_secrets_lookup_sync (secrets, "provider", "openai", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (got, ==, value);
  list = cw_secrets_list_sync (secrets, &error);
  g_assert_no_error (error);
  g_assert_true (list_has (list, "provider", "openai", "user"));

  /* The item in the keyring carries the documented schema and attributes. */
  attrs = g_hash_table_new (g_str_hash, g_str_equal);
  g_hash_table_insert (attrs, "xdg:schema", "org.cowork.Credential");
  g_hash_table_insert (attrs, "kind", "provider");
  g_hash_table_insert (attrs, "name", "openai");
  items = secret_service_search_sync (NULL, NULL, attrs, SECRET_SEARCH_ALL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_list_length (items), ==, 1);
  {
    g_autoptr (GHashTable) item_attrs = secret_item_get_attributes (items->data);
    g_assert_cmpstr (g_hash_table_lookup (item_attrs, "scope"), ==, "user");
  }
  g_list_free_full (items, g_object_unref);

  g_assert_true (cw_secrets_delete_sync (secrets, "provider", "openai", &error));
  g_assert_no_error (error);
  g_clear_pointer (&got, g_free);
  got = cw_secrets_lookup_sync (secrets, "provider", "openai", &error);
  g_assert_no_error (error);
  g_assert_null (got);
  /* Deleting what is not there succeeds: clearing a key twice is not an error. */
  g_assert_true (cw_secrets_delete_sync (secrets, "provider", "openai", &error));
  g_assert_no_error (error);
  g_assert_false (cw_secrets_store_sync (secrets, "Bad Kind", "x", "v", &error));
  g_assert_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS);
}

static void
test_system_scope (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *root = g_dir_make_tmp ("cw-secrets-XXXXXX", NULL);
  g_autofree gchar *dir = g_build_filename (root, "secrets", NULL);
  g_autofree gchar *file = g_build_filename (dir, "provider.openai.secret", NULL);
  g_autofree gchar *copy = g_build_filename (dir, "provider.other.secret", NULL);
  g_autofree gchar *key = g_build_filename (dir, "master.key", NULL);
  g_autofree gchar *value = unique_value ("sk-system");
  g_autofree gchar *got = NULL, *data = NULL, *key_data = NULL;
  g_autoptr (CwSecrets) secrets = cw_secrets_new_system (dir);
  g_autoptr (JsonArray) list = NULL;
  gsize len = 0, key_len = 0;

  g_assert_true (cw_secrets_store_sync (secrets, "provider", "openai", value, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (file_mode (dir), ==, 0700);
  g_assert_cmpuint (file_mode (file), ==, 0600);
  g_assert_cmpuint (file_mode (key), ==, 0600);
  g_assert_true (g_file_get_contents (key, &key_data, &key_len, NULL));
  g_assert_cmpuint (key_len, ==, 32);
  assert_not_in_tree (root, value);

  got = cw_secrets_lookup_sync (secrets, "provider", "openai", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (got, ==, value);
  list = cw_secrets_list_sync (secrets, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (json_array_get_length (list), ==, 1);
  g_assert_true (list_has (list, "provider", "openai", "system"));

  /* The name is authenticated: a file copied to another name does not decrypt. */
  g_assert_true (g_file_get_contents (file, &data, &len, NULL));
  g_assert_true (g_file_set_contents (copy, data, len, NULL));
  g_clear_pointer (&got, g_free);
  got = cw_secrets_lookup_sync (secrets, "provider", "other", &error);
  g_assert_error (error, CW_ERROR, CW_ERROR_FAILED);
  g_assert_null (got);
  g_clear_error (&error);
  g_unlink (copy);

  /* So is the content: one flipped bit and the value is refused, not garbled. */
  data[len - 1] ^= 1;
  g_assert_true (g_file_set_contents (file, data, len, NULL));
  got = cw_secrets_lookup_sync (secrets, "provider", "openai", &error);
  g_assert_error (error, CW_ERROR, CW_ERROR_FAILED);
  g_assert_null (got);
  g_clear_error (&error);

  g_assert_true (cw_secrets_delete_sync (secrets, "provider", "openai", &error));
  g_assert_no_error (error);
  g_assert_false (g_file_test (file, G_FILE_TEST_EXISTS));
  g_assert_true (cw_secrets_delete_sync (secrets, "provider", "openai", &error));
  g_assert_no_error (error);
  cw_test_rm_rf (root);
}

typedef struct
{
  GMainLoop *loop;
  guint pending;
} Pending;

static void
on_stored_one (GObject *source, GAsyncResult *res, gpointer data)
{
  Pending *p = data;
  g_autoptr (GError) error = NULL;

  g_assert_true (cw_secrets_store_finish (CW_SECRETS (source), res, &error));
  g_assert_no_error (error);
  if (--p->pending == 0)
    g_main_loop_quit (p->loop);
}

/* Many first writes at once (worker threads) must agree on one key: every value reads back. */
static void
test_system_concurrent_first_use (void)
{
  g_autofree gchar *root = g_dir_make_tmp ("cw-secrets-XXXXXX", NULL);
  g_autofree gchar *dir = g_build_filename (root, "secrets", NULL);
  g_autoptr (CwSecrets) secrets = cw_secrets_new_system (dir);
  g_autoptr (GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  Pending p = { loop, 16 };

  for (guint i = 0; i < 16; i++)
    {
      g_autofree gchar *name = g_strdup_printf ("n%u", i);
      g_autofree gchar *value = g_strdup_printf ("value-%u", i);
      cw_secrets_store (secrets, "provider", name, value, NULL, on_stored_one, &p);
    }
  g_main_loop_run (loop);
  for (guint i = 0; i < 16; i++)
    {
      g_autoptr (GError) error = NULL;
      g_autofree gchar *name = g_strdup_printf ("n%u", i);
      g_autofree gchar *value = g_strdup_printf ("value-%u", i);
      g_autofree gchar *got = cw_secrets_lookup_sync (secrets, "provider", name, &error);
      g_assert_no_error (error);
      g_assert_cmpstr (got, ==, value);
    }
  cw_test_rm_rf (root);
}

/* systemd's LoadCredential= key wins over the key file in the store. */
static void
test_system_credentials_directory (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *root = g_dir_make_tmp ("cw-secrets-XXXXXX", NULL);
  g_autofree gchar *dir = g_build_filename (root, "secrets", NULL);
  g_autofree gchar *creds = g_build_filename (root, "creds", NULL);
  g_autofree gchar *key = g_build_filename (creds, "cowork-secrets-key", NULL);
  g_autofree gchar *master = g_build_filename (dir, "master.key", NULL);
  g_autoptr (CwSecrets) secrets = cw_secrets_new_system (dir);
  g_autofree gchar *got = NULL;

  g_mkdir_with_parents (creds, 0700);
  g_file_set_contents (key, "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n",
                       -1, NULL);
  g_setenv ("CREDENTIALS_DIRECTORY", creds, TRUE);
  g_assert_true (cw_secrets_store_sync (secrets, "integration", "slack", "xoxb-1", &error));
  g_assert_no_error (error);
  got = cw_secrets_lookup_sync (secrets, "integration", "slack", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (got, ==, "xoxb-1");
  g_assert_false (g_file_test (master, G_FILE_TEST_EXISTS));
  g_clear_pointer (&got, g_free);

  /* Without that key the value stays sealed. */
  g_unsetenv ("CREDENTIALS_DIRECTORY");
  got = cw_secrets_lookup_sync (secrets, "integration", "slack", &error);
  g_assert_nonnull (error);
  g_assert_null (got);
  cw_test_rm_rf (root);
}

static void
test_scopes_separated (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *root = g_dir_make_tmp ("cw-secrets-XXXXXX", NULL);
  g_autofree gchar *dir = g_build_filename (root, "secrets", NULL);
  g_autoptr (CwSecrets) user = cw_secrets_new_user ();
  g_autoptr (CwSecrets) system = cw_secrets_new_system (dir);
  g_autofree gchar *user_value = unique_value ("user");
  g_autofree gchar *system_value = unique_value ("system");
  g_autofree gchar *planted = unique_value ("planted");
  g_autofree gchar *got = NULL;
  g_autoptr (JsonArray) list = NULL;
  GList *items;
  GHashTable *all;

  g_assert_true (cw_secrets_store_sync (system, "provider", "sep", system_value, &error));
  g_assert_no_error (error);
  /* Nothing in system scope is visible to the user scope. */
  got = cw_secrets_lookup_sync (user, "provider", "sep", &error);
  g_assert_no_error (error);
  g_assert_null (got);
  list = cw_secrets_list_sync (user, &error);
  g_assert_no_error (error);
  g_assert_false (list_has (list, "provider", "sep", "user"));
  g_assert_false (list_has (list, "provider", "sep", "system"));

  g_assert_true (cw_secrets_store_sync (user, "provider", "sep", user_value, &error));
  g_assert_no_error (error);
  got = cw_secrets_lookup_sync (system, "provider", "sep", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (got, ==, system_value);
  g_clear_pointer (&got, g_free);
  got = cw_secrets_lookup_sync (user, "provider", "sep", &error);
  g_assert_cmpstr (got, ==, user_value);
  g_clear_pointer (&got, g_free);

  /* A keyring item claiming the system scope is still not read by the user scope, and
   * the system value never reached the keyring. */
  g_assert_true (
      secret_password_store_sync (&(SecretSchema){ "org.cowork.Credential",
                                                   SECRET_SCHEMA_NONE,
                                                   { { "scope", SECRET_SCHEMA_ATTRIBUTE_STRING },
                                                     { "kind", SECRET_SCHEMA_ATTRIBUTE_STRING },
                                                     { "name", SECRET_SCHEMA_ATTRIBUTE_STRING },
                                                     { NULL, 0 } } },
                                  SECRET_COLLECTION_DEFAULT, "planted", planted, NULL, &error,
                                  "scope", "system", "kind", "provider", "name", "planted", NULL));
  g_assert_no_error (error);
  got = cw_secrets_lookup_sync (user, "provider", "planted", &error);
  g_assert_no_error (error);
  g_assert_null (got);
  all = g_hash_table_new (g_str_hash, g_str_equal);
  g_hash_table_insert (all, "xdg:schema", "org.cowork.Credential");
  items = secret_service_search_sync (
      NULL, NULL, all, SECRET_SEARCH_ALL | SECRET_SEARCH_LOAD_SECRETS | SECRET_SEARCH_UNLOCK, NULL,
      &error);
  g_assert_no_error (error);
  for (GList *l = items; l != NULL; l = l->next)
    {
      g_autoptr (SecretValue) v = secret_item_get_secret (l->data);
      g_assert_nonnull (v);
      g_assert_cmpstr (secret_value_get_text (v), !=, system_value);
    }
  g_list_free_full (items, g_object_unref);
  g_hash_table_unref (all);
  g_assert_true (cw_secrets_delete_sync (user, "provider", "sep", &error));
  /* Deleting in one scope leaves the other alone. */
  got = cw_secrets_lookup_sync (system, "provider", "sep", &error);
  g_assert_cmpstr (got, ==, system_value);
  cw_test_rm_rf (root);
}

typedef struct
{
  gchar *out;
  gchar *err;
  gint status;
} Run;

static void
run_free (Run *r)
{
  g_free (r->out);
  g_free (r->err);
  g_free (r);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Run, run_free)

static Run *
ctl (gchar **env, const gchar *input, const gchar *const *args)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GSubprocessLauncher) l
      = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE
                                   | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_autoptr (GSubprocess) proc = NULL;
  g_autoptr (GError) error = NULL;
  Run *r = g_new0 (Run, 1);

  g_ptr_array_add (argv, (gpointer) g_getenv ("COWORKCTL"));
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);
  g_subprocess_launcher_set_environ (l, env);
  proc = g_subprocess_launcher_spawnv (l, (const gchar *const *) argv->pdata, &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (proc, input ?: "", NULL, &r->out, &r->err, &error);
  g_assert_no_error (error);
  r->status = g_subprocess_get_exit_status (proc);
  if (g_test_verbose ())
    g_printerr ("$ coworkctl %s -> %d\n%s%s", args[0], r->status, r->out, r->err);
  return r;
}

#define CTL(env, input, ...) ctl (env, input, (const gchar *const[]){ __VA_ARGS__, NULL })

static void
test_cli_promote (void)
{
  g_autofree gchar *root = g_dir_make_tmp ("cw-promote-XXXXXX", NULL);
  g_autofree gchar *state = g_build_filename (root, "state", NULL);
  g_autofree gchar *secrets_dir = g_build_filename (state, "secrets", NULL);
  g_autofree gchar *value = unique_value ("sk-promote");
  g_autofree gchar *piped = g_strconcat (value, "\n", NULL);
  g_autoptr (CwSecrets) system = cw_secrets_new_system (secrets_dir);
  g_autoptr (GError) error = NULL;
  g_autofree gchar *got = NULL;
  g_auto (GStrv) env = g_get_environ ();
  g_autoptr (Run) r = NULL;

  env = g_environ_unsetenv (env, "COWORK_APP_DATA_DIR");
  env = g_environ_setenv (env, "STATE_DIRECTORY", state, TRUE);
  env = g_environ_setenv (env, "RUNTIME_DIRECTORY", root, TRUE);

  /* The value never comes from argv. */
  r = CTL (env, NULL, "credentials", "set", "promo", value);
  g_assert_cmpint (r->status, ==, 2);
  g_clear_pointer (&r, run_free);
  r = CTL (env, "", "credentials", "set", "promo");
  g_assert_cmpint (r->status, ==, 1);
  g_clear_pointer (&r, run_free);
  r = CTL (env, piped, "credentials", "set", "promo");
  g_assert_cmpint (r->status, ==, 0);
  g_assert_null (strstr (r->out, value));
  g_clear_pointer (&r, run_free);
  r = CTL (env, NULL, "credentials", "list");
  g_assert_nonnull (strstr (r->out, "provider/promo"));
  g_assert_null (strstr (r->out, value));
  g_clear_pointer (&r, run_free);
  r = CTL (env, NULL, "credentials", "list", "--system");
  g_assert_null (strstr (r->out, "promo"));
  g_clear_pointer (&r, run_free);

  /* Without --yes (and no terminal to ask on) nothing crosses. */
  r = CTL (env, NULL, "credentials", "promote", "promo", "--to", "system");
  g_assert_cmpint (r->status, ==, 1);
  g_assert_nonnull (strstr (r->err, "--yes"));
  got = cw_secrets_lookup_sync (system, "provider", "promo", &error);
  g_assert_no_error (error);
  g_assert_null (got);
  g_clear_pointer (&r, run_free);
  r = CTL (env, NULL, "credentials", "promote", "promo", "--to", "user");
  g_assert_cmpint (r->status, ==, 2);
  g_clear_pointer (&r, run_free);

  r = CTL (env, NULL, "credentials", "promote", "promo", "--to", "system", "--yes");
  g_assert_cmpint (r->status, ==, 0);
  g_assert_null (strstr (r->out, value));
  got = cw_secrets_lookup_sync (system, "provider", "promo", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (got, ==, value);
  g_clear_pointer (&r, run_free);
  r = CTL (env, NULL, "credentials", "list", "--system");
  g_assert_nonnull (strstr (r->out, "provider/promo"));
  g_assert_nonnull (strstr (r->out, "system"));
  g_clear_pointer (&r, run_free);

  /* The promotion is in the system scope's audit log, without the value. */
  r = CTL (env, NULL, "--mode", "system", "--json", "audit");
  g_assert_cmpint (r->status, ==, 0);
  g_assert_nonnull (strstr (r->out, "\"action\":\"credential_promote\""));
  g_assert_nonnull (strstr (r->out, "\"name\":\"promo\""));
  g_assert_null (strstr (r->out, value));
  assert_not_in_tree (state, value);
  g_clear_pointer (&r, run_free);

  /* Not root: the user half reads the keyring, the root half (sudo in real life, plain
   * `env` here) gets the value on stdin and writes the store and the audit record. */
  {
    g_auto (GStrv) helper_env
        = g_environ_setenv (g_strdupv (env), "COWORK_PRIVILEGE_HELPER", "env", TRUE);
    g_autofree gchar *value2 = unique_value ("sk-helper");
    g_autofree gchar *got2 = NULL;
    g_autoptr (Run) r2 = CTL (env, value2, "credentials", "set", "integration/helper");

    g_assert_cmpint (r2->status, ==, 0);
    g_clear_pointer (&r2, run_free);
    r2 = CTL (helper_env, NULL, "credentials", "promote", "integration/helper", "--to", "system",
              "--yes");
    g_assert_cmpint (r2->status, ==, 0);
    g_assert_nonnull (strstr (r2->out, "promoted integration/helper"));
    got2 = cw_secrets_lookup_sync (system, "integration", "helper", &error);
    g_assert_no_error (error);
    g_assert_cmpstr (got2, ==, value2);
    g_clear_pointer (&r2, run_free);
    r2 = CTL (env, NULL, "--mode", "system", "--json", "audit");
    g_assert_nonnull (strstr (r2->out, "\"name\":\"helper\""));
    g_assert_null (strstr (r2->out, value2));
    assert_not_in_tree (state, value2);
    g_clear_pointer (&r2, run_free);
    /* The hidden half refuses to audit a promotion into the user scope. */
    r2 = CTL (env, value2, "credentials", "set", "x", "--promoted-from", "user");
    g_assert_cmpint (r2->status, ==, 2);
  }

  r = CTL (env, NULL, "credentials", "delete", "promo");
  g_assert_cmpint (r->status, ==, 0);
  g_clear_pointer (&r, run_free);
  r = CTL (env, NULL, "credentials", "delete", "promo");
  g_assert_cmpint (r->status, ==, 1);
  g_assert_nonnull (strstr (r->err, "no user credential provider/promo"));
  g_clear_pointer (&r, run_free);
  /* The system copy is its own; deleting the user one leaves it. */
  g_clear_pointer (&got, g_free);
  got = cw_secrets_lookup_sync (system, "provider", "promo", &error);
  g_assert_cmpstr (got, ==, value);
  cw_test_rm_rf (root);
}

static gboolean
node_contains (JsonNode *node, const gchar *needle)
{
  g_autofree gchar *text = cw_json_to_string (node);

  return strstr (text, needle) != NULL;
}

/* One daemon per scope; each stores a value through the socket, then every file under its
 * data dir, its log, every command result and every event is searched for the value. */
static void
check_daemon_leaks (gboolean system)
{
  g_autoptr (CwTestDaemon) d = cw_test_daemon_new ();
  g_autofree gchar *value = unique_value (system ? "sk-sysd" : "sk-userd");
  g_autofree gchar *params = NULL, *log = NULL, *got = NULL;
  g_autoptr (CwClient) client = NULL;
  g_autoptr (JsonNode) r = NULL;
  g_autoptr (GError) error = NULL;
  const gchar *commands[] = { "credentials_list", "daemon_health", "audit_list",
                              "agent_get_bootstrap_state", "agent_get_events_since" };

  cw_test_daemon_add_arg (d, "--verbose");
  cw_test_daemon_add_arg (d, "--dbus");
  cw_test_daemon_add_arg (d, "none");
  if (system)
    {
      cw_test_daemon_add_arg (d, "--mode");
      cw_test_daemon_add_arg (d, "system");
      cw_test_daemon_add_arg (d, "--endpoint");
      cw_test_daemon_add_arg (d, d->endpoint);
    }
  cw_test_daemon_setenv (d, "G_MESSAGES_DEBUG", "all");
  /* The daemon's stdout and stderr go to the log file we search afterwards. */
  cw_test_daemon_log_to_file (d);
  cw_test_daemon_start (d);
  client = cw_test_daemon_connect (d);

  params
      = g_strdup_printf ("{\"kind\":\"provider\",\"name\":\"leakcheck\",\"value\":\"%s\"}", value);
  r = cw_test_daemon_call (client, "credentials_set", params);
  g_assert_false (node_contains (r, value));
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (r), "scope"), ==,
                   system ? "system" : "user");
  g_clear_pointer (&r, json_node_unref);
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    {
      r = cw_test_daemon_call (client, commands[i], NULL);
      g_assert_false (node_contains (r, value));
      if (i == 0)
        g_assert_true (
            list_has (json_object_get_array_member (json_node_get_object (r), "credentials"),
                      "provider", "leakcheck", system ? "system" : "user"));
      g_clear_pointer (&r, json_node_unref);
    }

  /* The value really is stored, where only this scope finds it. */
  if (system)
    {
      g_autofree gchar *dir = g_build_filename (d->dir, "secrets", NULL);
      g_autoptr (CwSecrets) secrets = cw_secrets_new_system (dir);
      g_autoptr (CwSecrets) user = cw_secrets_new_user ();
      got = cw_secrets_lookup_sync (secrets, "provider", "leakcheck", &error);
      g_assert_cmpstr (got, ==, value);
      g_clear_pointer (&got, g_free);
      got = cw_secrets_lookup_sync (user, "provider", "leakcheck", &error);
      g_assert_no_error (error);
      g_assert_null (got);
    }
  else
    {
      g_autoptr (CwSecrets) user = cw_secrets_new_user ();
      got = cw_secrets_lookup_sync (user, "provider", "leakcheck", &error);
      g_assert_cmpstr (got, ==, value);
    }
  r = cw_test_daemon_call (client, "credentials_delete", "{\"name\":\"leakcheck\"}");
  g_assert_false (node_contains (r, value));
  g_clear_pointer (&r, json_node_unref);
  /* Both changes are audited, by name. */
  r = cw_test_daemon_call (client, "audit_list", NULL);
  {
    JsonArray *entries = json_object_get_array_member (json_node_get_object (r), "entries");
    JsonObject *newest = json_array_get_object_element (entries, 0);
    JsonObject *before = json_array_get_object_element (entries, 1);
    g_assert_cmpstr (json_object_get_string_member (newest, "action"), ==, "credential_delete");
    g_assert_cmpstr (json_object_get_string_member (before, "action"), ==, "credential_set");
    g_assert_cmpstr (
        json_object_get_string_member (json_object_get_object_member (before, "details"), "name"),
        ==, "leakcheck");
  }
  g_assert_false (node_contains (r, value));
  g_clear_pointer (&r, json_node_unref);
  g_clear_pointer (&client, cw_client_free);
  g_assert_cmpint (cw_test_daemon_stop (d, SIGTERM), ==, 0);

  assert_not_in_tree (d->dir, value);
  g_assert_true (g_file_get_contents (d->log_file, &log, NULL, NULL));
  g_assert_nonnull (strstr (log, "ready on"));
  /* the verbose log (G_MESSAGES_DEBUG=all) never shows the value */
  g_assert_null (strstr (log, value));
}

static void
test_daemon_user_no_leak (void)
{
  check_daemon_leaks (FALSE);
}

static void
test_daemon_system_no_leak (void)
{
  check_daemon_leaks (TRUE);
}

static void
on_abort (int signum)
{
  /* Async-signal-safe only: take the daemons and helpers of this test down with it, or they
   * would hold meson's output pipes open until the timeout. */
  signal (SIGTERM, SIG_IGN);
  killpg (0, SIGTERM);
  signal (signum, SIG_DFL);
  raise (signum);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  /* Only inside the session meson gives each test, never a shell's job. */
  if (getsid (0) == getpgrp ())
    {
      signal (SIGABRT, on_abort);
      signal (SIGTRAP, on_abort);
    }
  if (g_getenv ("DBUS_SESSION_BUS_ADDRESS") == NULL || g_getenv ("COWORK_TEST_KEYRING_DIR") == NULL)
    {
      g_printerr ("run under tests/service/with-keyring.sh\n");
      return 77;
    }
  g_test_add_func ("/cowork/secrets/user-scope", test_user_scope);
  g_test_add_func ("/cowork/secrets/system-scope", test_system_scope);
  g_test_add_func ("/cowork/secrets/system-concurrent-first-use", test_system_concurrent_first_use);
  g_test_add_func ("/cowork/secrets/system-credentials-directory",
                   test_system_credentials_directory);
  g_test_add_func ("/cowork/secrets/scopes-separated", test_scopes_separated);
  g_test_add_func ("/cowork/secrets/cli-promote", test_cli_promote);
  g_test_add_func ("/cowork/secrets/daemon-user-no-leak", test_daemon_user_no_leak);
  g_test_add_func ("/cowork/secrets/daemon-system-no-leak", test_daemon_system_no_leak);
  return g_test_run ();
}
