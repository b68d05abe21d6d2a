/* cw-ctl-audit.c: `coworkctl audit`, and the helpers the service and credentials
 * subcommands share (confirmation, the audit store, the acting user).
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "cowork-host.h"
#include "cw-client.h"
#include "cw-ctl-service-private.h"
#include "cw-token-private.h"

#include <glib/gi18n.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

void
cw_ctl_print_json_object (CwCtl *ctl, JsonObject *obj)
{
  g_autoptr (JsonNode) node = json_node_new (JSON_NODE_OBJECT);
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autofree gchar *text = NULL;

  json_node_set_object (node, obj);
  json_generator_set_root (gen, node);
  json_generator_set_pretty (gen, !ctl->json);
  text = json_generator_to_data (gen, NULL);
  g_print ("%s\n", text);
}

gboolean
cw_ctl_confirm (const gchar *question)
{
  gchar answer[16] = { 0 };

  if (!isatty (STDIN_FILENO))
    return FALSE;
  g_print ("%s [y/N] ", question);
  if (fgets (answer, sizeof answer, stdin) == NULL)
    return FALSE;
  return answer[0] == 'y' || answer[0] == 'Y';
}

const gchar *
cw_ctl_actor (void)
{
  const gchar *sudo_user = g_getenv ("SUDO_USER");

  return sudo_user != NULL && *sudo_user != '\0' ? sudo_user : g_get_user_name ();
}

/* A database root creates for a service account must stay writable by that account. */
static void
hand_to_data_dir_owner (const CwPaths *paths)
{
  const gchar *suffixes[] = { "", "-wal", "-shm" };
  struct stat st;

  if (geteuid () != 0 || stat (paths->app_data_dir, &st) != 0 || st.st_uid == 0)
    return;
  for (guint i = 0; i < G_N_ELEMENTS (suffixes); i++)
    {
      g_autofree gchar *path = g_strconcat (paths->db_file, suffixes[i], NULL);
      g_autofree gchar *dir = g_path_get_dirname (path);
      if (chown (dir, st.st_uid, st.st_gid) != 0 && errno != ENOENT)
        g_warning ("cannot hand %s to uid %u", dir, (guint) st.st_uid);
      if (chown (path, st.st_uid, st.st_gid) != 0 && errno != ENOENT)
        g_warning ("cannot hand %s to uid %u", path, (guint) st.st_uid);
    }
}

CwStore *
cw_ctl_open_audit_store (const CwPaths *paths, GError **error)
{
  g_autoptr (CwStore) store = cw_store_open (paths->db_file, error);

  if (store == NULL || !cw_core_schema_migrate (store, error))
    return NULL;
  hand_to_data_dir_owner (paths);
  return g_steal_pointer (&store);
}

static JsonArray *
fetch_from_daemon (CwCtl *ctl, gint64 limit)
{
  g_autofree gchar *token = cw_token_read (ctl->paths->token_file, NULL);
  g_autoptr (CwClient) client = NULL;
  g_autoptr (JsonNode) params = NULL;
  g_autoptr (JsonNode) result = NULL;
  g_autofree gchar *text = g_strdup_printf ("{\"limit\":%" G_GINT64_FORMAT "}", limit);

  if (token == NULL)
    return NULL;
  client = cw_client_connect (ctl->paths->endpoint, token, NULL);
  if (client == NULL)
    return NULL;
  cw_client_set_timeout (client, 10);
  params = cw_json_from_string (text, -1, NULL);
  result = cw_client_call (client, "audit_list", params, NULL);
  if (result == NULL || !JSON_NODE_HOLDS_OBJECT (result))
    return NULL;
  return json_array_ref (json_object_get_array_member (json_node_get_object (result), "entries"));
}

int
cw_ctl_audit (CwCtl *ctl, int argc, char **argv, GError **error)
{
  g_autoptr (JsonArray) entries = NULL;
  g_autoptr (JsonObject) out = NULL;
  gint64 limit = 100;

  for (int i = 1; i < argc; i++)
    {
      if (g_strcmp0 (argv[i], "--limit") == 0 && i + 1 < argc)
        {
          if (!cw_ctl_parse_int ("--limit", argv[++i], 1, 10000, &limit, error))
            return 2;
        }
      else
        {
          g_set_error_literal (error, CW_ERROR, CW_ERROR_INVALID_PARAMS,
                               _ ("usage: coworkctl audit [--limit N]"));
          return 2;
        }
    }
  /* The daemon answers when it runs; otherwise read its database directly. */
  entries = fetch_from_daemon (ctl, limit);
  if (entries == NULL)
    {
      g_autoptr (CwStore) store = NULL;
      if (!g_file_test (ctl->paths->db_file, G_FILE_TEST_EXISTS))
        entries = json_array_new ();
      else if ((store = cw_ctl_open_audit_store (ctl->paths, error)) == NULL
               || (entries = cw_audit_list (store, limit, error)) == NULL)
        return 1;
    }
  if (ctl->json)
    {
      out = json_object_new ();
      json_object_set_array_member (out, "entries", json_array_ref (entries));
      cw_ctl_print_json_object (ctl, out);
      return 0;
    }
  if (json_array_get_length (entries) == 0)
    g_print (_ ("no audit records\n"));
  for (guint i = 0; i < json_array_get_length (entries); i++)
    {
      JsonObject *e = json_array_get_object_element (entries, i);
      g_autoptr (GDateTime) dt = g_date_time_new_from_unix_local (
          json_object_get_int_member_with_default (e, "timestamp", 0) / 1000);
      g_autofree gchar *when = dt ? g_date_time_format (dt, "%Y-%m-%d %H:%M:%S") : g_strdup ("?");
      JsonNode *details = json_object_get_member (e, "details");
      g_autofree gchar *text = details ? cw_json_to_string (details) : g_strdup ("{}");

      g_print ("%s  %-22s %-12s %s\n", when, json_object_get_string_member (e, "action"),
               json_object_get_string_member (e, "actor"), text);
    }
  return 0;
}
