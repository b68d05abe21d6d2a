/* cw-integrations-importer.c: the original's integrations config, imported once.
 *
 * The original keeps it in ~/.cowork/integrations/config.json whatever its data dir (contract
 * §3.3): {platforms: {<platform>: {platform, enabled, config}}, settings, lastSessionId?},
 * tokens in clear text. `[integrations] import-dir` in coworkd.conf points elsewhere. Each
 * known platform's config is normalised and saved like integration_configure does (its
 * secret fields into CwSecrets); then the secret fields are removed from the file, which is
 * rewritten owner-only, so no token stays on disk in clear. Unknown platforms are skipped,
 * as the original drops them on load. The marker setting `imported` makes it run once; the
 * file is cleaned at every start in case the daemon died between the two steps.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-integrations-plugin.h"

#include <glib/gstdio.h>

typedef struct
{
  CwIntegrationsPlugin *self;
  gchar *path;
  JsonObject *root;
  GList *todo; /* platform ids left to save */
  guint imported;
  CwIntegrationsImportDone done;
  gpointer data;
} Import;

static gchar *
replace_all (const gchar *text, const gchar *from, const gchar *to)
{
  g_auto (GStrv) parts = g_strsplit (text, from, -1);

  return g_strjoinv (to, parts);
}

static JsonObject *
member_object (JsonObject *obj, const gchar *name)
{
  JsonNode *node = obj != NULL ? json_object_get_member (obj, name) : NULL;

  return node != NULL && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
}

/* Removes every secret field from the file; TRUE if there was one. */
static gboolean
scrub (JsonObject *root)
{
  JsonObject *platforms = member_object (root, "platforms");
  gboolean changed = FALSE;
  g_autoptr (GList) names = platforms != NULL ? json_object_get_members (platforms) : NULL;

  for (GList *l = names; l != NULL; l = l->next)
    {
      const CwIntegrationPlatform *platform = cw_integrations_platform_lookup (l->data);
      JsonObject *config = member_object (member_object (platforms, l->data), "config");
      if (platform == NULL || config == NULL)
        continue;
      for (const CwIntegrationField *f = platform->fields; f->name != NULL; f++)
        if (f->secret && json_object_has_member (config, f->name))
          {
            json_object_remove_member (config, f->name);
            changed = TRUE;
          }
    }
  return changed;
}

static void
write_scrubbed (const gchar *path, JsonObject *root)
{
  g_autoptr (JsonNode) node = json_node_init_object (json_node_alloc (), root);
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autofree gchar *text = NULL;
  g_autoptr (GError) error = NULL;

  json_generator_set_root (gen, node);
  json_generator_set_pretty (gen, TRUE);
  text = json_generator_to_data (gen, NULL);
  if (!g_file_set_contents_full (path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600, &error))
    g_warning ("integrations import: cannot remove the tokens from %s: %s", path, error->message);
  else
    g_message ("integrations import: removed the tokens from %s (they are in the credential "
               "store)",
               path);
}

static void
finish (Import *import)
{
  CwIntegrationsPlugin *self = import->self;
  g_autoptr (GError) error = NULL;

  if (!cw_integrations_store_set_setting (self->store, "imported", "1", &error))
    g_warning ("integrations import: %s", error->message);
  else
    g_message ("imported %u integration platforms from %s", import->imported, import->path);
  if (scrub (import->root))
    write_scrubbed (import->path, import->root);
  import->done (self, import->data);
  json_object_unref (import->root);
  g_list_free_full (import->todo, g_free);
  g_free (import->path);
  g_free (import);
}

static void import_next (Import *import);

static void
on_platform_saved (CwIntegrationsLink *link, GError *error, gpointer data)
{
  Import *import = data;

  if (error != NULL)
    g_warning ("integrations import: %s: %s", link->platform->id, error->message);
  else
    import->imported++;
  import_next (import);
}

static void
import_next (Import *import)
{
  JsonObject *platforms = member_object (import->root, "platforms");

  while (import->todo != NULL)
    {
      g_autofree gchar *id = import->todo->data;
      JsonObject *entry = member_object (platforms, id);
      CwIntegrationsLink *link = cw_integrations_plugin_get_link (import->self, id);
      g_autoptr (JsonObject) config = NULL;
      g_autoptr (GError) error = NULL;
      JsonNode *enabled;

      import->todo = g_list_delete_link (import->todo, import->todo);
      if (link == NULL || entry == NULL)
        {
          g_message ("integrations import: skipping unknown platform %s", id);
          continue;
        }
      config = cw_integrations_config_merge (link->platform, NULL, member_object (entry, "config"),
                                             &error);
      if (config == NULL)
        {
          g_warning ("integrations import: %s: %s", id, error->message);
          continue;
        }
      enabled = json_object_get_member (entry, "enabled");
      cw_integrations_link_save_config (link, config,
                                        enabled == NULL || JSON_NODE_HOLDS_NULL (enabled)
                                            || json_node_get_boolean (enabled),
                                        on_platform_saved, import);
      return;
    }
  finish (import);
}

static void
import_settings (CwIntegrationsPlugin *self, JsonObject *root)
{
  CwConfig *config = cw_context_get_config (cw_plugin_get_context (CW_PLUGIN (self)));
  JsonObject *settings = member_object (root, "settings");
  const gchar *dir = cw_integration_config_get_string (settings, "sharedSessionWorkingDirectory");
  const gchar *last = cw_integration_config_get_string (root, "lastSessionId");

  if (dir != NULL && *dir != '\0')
    {
      g_autofree gchar *step = replace_all (dir, "<home>", g_get_home_dir ());
      g_autofree gchar *path = replace_all (step, "<appdata>", cw_config_get_app_data_dir (config));
      cw_integrations_store_set_setting (self->store, "sharedSessionWorkingDirectory", path, NULL);
    }
  /* The original's one shared session: its chats keep their history in shared mode. */
  if (last != NULL && *last != '\0')
    cw_integrations_store_set_chat_session (self->store, "shared", last, "Shared Session", NULL);
}

void
cw_integrations_import_original (CwIntegrationsPlugin *self, CwIntegrationsImportDone done,
                                 gpointer data)
{
  CwConfig *config = cw_context_get_config (cw_plugin_get_context (CW_PLUGIN (self)));
  g_autofree gchar *fallback
      = g_build_filename (g_get_home_dir (), ".cowork", "integrations", NULL);
  g_autofree gchar *dir = cw_config_get_string (config, "integrations", "import-dir", fallback);
  g_autofree gchar *path = g_build_filename (dir, "config.json", NULL);
  g_autofree gchar *marker = cw_integrations_store_get_setting (self->store, "imported");
  g_autofree gchar *text = NULL;
  g_autoptr (JsonNode) root = NULL;
  g_autoptr (GError) error = NULL;
  Import *import;

  if (!g_file_get_contents (path, &text, NULL, &error))
    {
      if (!g_error_matches (error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        g_warning ("integrations import: %s", error->message);
      done (self, data);
      return;
    }
  root = cw_json_from_string (text, -1, &error);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_warning ("integrations import: %s is not an integrations config (%s); nothing imported",
                 path, error != NULL ? error->message : "not an object");
      done (self, data);
      return;
    }
  if (marker != NULL)
    {
      /* Imported before: only make sure no token is left in the file. */
      if (scrub (json_node_get_object (root)))
        write_scrubbed (path, json_node_get_object (root));
      done (self, data);
      return;
    }
  import = g_new0 (Import, 1);
  import->self = self;
  import->path = g_steal_pointer (&path);
  import->root = json_object_ref (json_node_get_object (root));
  import->done = done;
  import->data = data;
  if (member_object (import->root, "platforms") != NULL)
    import->todo = json_object_get_members (member_object (import->root, "platforms"));
  for (GList *l = import->todo; l != NULL; l = l->next)
    l->data = g_strdup (l->data);
  import_settings (self, import->root);
  import_next (import);
}
