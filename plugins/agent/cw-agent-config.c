/* cw-agent-config.c: runtime config, persisted in agent_meta as JSON without secrets.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-agent-json.h"
#include "cw-agent-config.h"
#include "cw-agent-store.h"

#define META_KEY "runtime_config"

static const struct
{
  const gchar *id;
  const gchar *model;
  gboolean needs_key;
} providers[] = {
  { "google", "gemini-3-flash-preview", TRUE }, { "openai", "gpt-5.2", TRUE },
  { "anthropic", "claude-opus-4-6", TRUE },     { "openrouter", "openai/gpt-5.2", TRUE },
  { "moonshot", "kimi-k2-thinking", TRUE },     { "glm", "glm-4.7", TRUE },
  { "deepseek", "deepseek-chat", TRUE },        { "lmstudio", "local-model", FALSE },
};

/* Keys never go into the stored config. */
static const gchar *const secret_fields[]
    = { "providerApiKeys", "googleApiKey", "openaiApiKey", "falApiKey",
        "exaApiKey",       "tavilyApiKey", "stitchApiKey", NULL };

const gchar *
cw_agent_provider_normalize (const gchar *provider)
{
  if (g_strcmp0 (provider, "gemini") == 0)
    return "google";
  for (guint i = 0; i < G_N_ELEMENTS (providers); i++)
    if (g_strcmp0 (provider, providers[i].id) == 0)
      return providers[i].id;
  return NULL;
}

gboolean
cw_agent_provider_needs_key (const gchar *provider)
{
  for (guint i = 0; i < G_N_ELEMENTS (providers); i++)
    if (g_strcmp0 (provider, providers[i].id) == 0)
      return providers[i].needs_key;
  return TRUE;
}

static gchar *
known_providers (void)
{
  GString *s = g_string_new ("gemini");

  for (guint i = 0; i < G_N_ELEMENTS (providers); i++)
    g_string_append_printf (s, ", %s", providers[i].id);
  return g_string_free (s, FALSE);
}

static gboolean
check_provider (const gchar *field, const gchar *provider, GError **error)
{
  g_autofree gchar *known = NULL;

  if (cw_agent_provider_normalize (provider) != NULL)
    return TRUE;
  known = known_providers ();
  g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS,
               "%s: '%s' is not a known provider (known: %s)", field, provider, known);
  return FALSE;
}

static gboolean
check_base_url (const gchar *provider, JsonNode *node, GError **error)
{
  g_autoptr (GUri) uri = NULL;
  const gchar *url;

  if (JSON_NODE_HOLDS_NULL (node))
    return TRUE;
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    {
      g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS,
                   "providerBaseUrls.%s must be a URL string (or null to remove it)", provider);
      return FALSE;
    }
  url = json_node_get_string (node);
  if (*url == '\0')
    return TRUE;
  uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);
  if (uri == NULL
      || (g_strcmp0 (g_uri_get_scheme (uri), "http") != 0
          && g_strcmp0 (g_uri_get_scheme (uri), "https") != 0)
      || g_uri_get_host (uri) == NULL || *g_uri_get_host (uri) == '\0')
    {
      g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS,
                   "providerBaseUrls.%s: '%s' is not an http:// or https:// URL", provider, url);
      return FALSE;
    }
  return TRUE;
}

gboolean
cw_agent_config_validate (JsonObject *config, GError **error)
{
  JsonNode *active = json_object_get_member (config, "activeProvider");
  JsonNode *urls_node = json_object_get_member (config, "providerBaseUrls");
  JsonObject *urls;
  g_autoptr (GList) ids = NULL;

  if (active != NULL && !JSON_NODE_HOLDS_NULL (active))
    {
      if (!JSON_NODE_HOLDS_VALUE (active) || json_node_get_value_type (active) != G_TYPE_STRING)
        {
          g_set_error_literal (error, CW_ERROR, CW_ERROR_INVALID_PARAMS,
                               "activeProvider must be a string");
          return FALSE;
        }
      /* An unknown activeProvider is not refused: contract §5.3 falls back to google
       * (cw_agent_config_merge, with a warning in the log). */
    }
  if (urls_node == NULL || JSON_NODE_HOLDS_NULL (urls_node))
    return TRUE;
  if (!JSON_NODE_HOLDS_OBJECT (urls_node))
    {
      g_set_error_literal (error, CW_ERROR, CW_ERROR_INVALID_PARAMS,
                           "providerBaseUrls must be an object of provider -> URL");
      return FALSE;
    }
  urls = json_node_get_object (urls_node);
  ids = json_object_get_members (urls);
  for (GList *l = ids; l != NULL; l = l->next)
    if (!check_provider ("providerBaseUrls", l->data, error)
        || !check_base_url (l->data, json_object_get_member (urls, l->data), error))
      return FALSE;
  return TRUE;
}

CwAgentConfig *
cw_agent_config_new (void)
{
  CwAgentConfig *self = g_new0 (CwAgentConfig, 1);
  const gchar *trusted[] = { "ls", "pwd", "git status", "git diff" };

  self->active_provider = g_strdup ("google");
  self->base_urls = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->catalog = json_array_new ();
  self->skills = json_array_new ();
  self->trusted_commands = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < G_N_ELEMENTS (trusted); i++)
    g_ptr_array_add (self->trusted_commands, g_strdup (trusted[i]));
  self->max_execution_ms = 30000;
  self->max_output_bytes = 1024 * 1024;
  self->tool_output_token_limit = 32000;
  self->other = json_object_new ();
  return self;
}

void
cw_agent_config_free (CwAgentConfig *self)
{
  if (self == NULL)
    return;
  g_free (self->active_provider);
  g_hash_table_unref (self->base_urls);
  json_array_unref (self->catalog);
  json_array_unref (self->skills);
  g_ptr_array_unref (self->trusted_commands);
  json_object_unref (self->other);
  g_free (self);
}

static void
merge_sandbox (CwAgentConfig *self, JsonObject *sandbox)
{
  JsonArray *trusted = cw_agent_json_array (sandbox, "trustedCommands");

  if (trusted != NULL)
    {
      g_ptr_array_set_size (self->trusted_commands, 0);
      for (guint i = 0; i < json_array_get_length (trusted); i++)
        {
          const gchar *cmd = json_array_get_string_element (trusted, i);
          if (cmd != NULL && *cmd != '\0')
            g_ptr_array_add (self->trusted_commands, g_strdup (cmd));
        }
    }
  if (json_object_has_member (sandbox, "maxExecutionTimeMs"))
    self->max_execution_ms
        = CLAMP (json_object_get_int_member_with_default (sandbox, "maxExecutionTimeMs", 30000),
                 100, 3600 * 1000);
  if (json_object_has_member (sandbox, "maxOutputBytes"))
    self->max_output_bytes
        = CLAMP (json_object_get_int_member_with_default (sandbox, "maxOutputBytes", 1048576), 1024,
                 64 * 1024 * 1024);
}

void
cw_agent_config_merge (CwAgentConfig *self, JsonObject *config, GPtrArray *reasons)
{
  g_autoptr (GList) members = json_object_get_members (config);
  const gchar *provider;
  JsonObject *urls;

  provider = json_object_get_string_member_with_default (config, "activeProvider", NULL);
  if (provider != NULL)
    {
      const gchar *norm = cw_agent_provider_normalize (provider);
      if (norm == NULL)
        {
          g_warning ("activeProvider '%s' is not a known provider: using google", provider);
          norm = "google";
        }
      if (g_strcmp0 (norm, self->active_provider) != 0)
        {
          g_free (self->active_provider);
          self->active_provider = g_strdup (norm);
          g_ptr_array_add (reasons, g_strdup ("provider_changed"));
        }
    }
  urls = cw_agent_json_object (config, "providerBaseUrls");
  if (urls != NULL)
    {
      g_autoptr (GList) ids = json_object_get_members (urls);
      gboolean changed = FALSE;
      for (GList *l = ids; l != NULL; l = l->next)
        {
          const gchar *id = cw_agent_provider_normalize (l->data);
          const gchar *url = json_object_get_string_member_with_default (urls, l->data, NULL);
          if (id == NULL)
            continue;
          if (url == NULL || *url == '\0')
            changed |= g_hash_table_remove (self->base_urls, id);
          else if (g_strcmp0 (g_hash_table_lookup (self->base_urls, id), url) != 0)
            {
              g_hash_table_insert (self->base_urls, g_strdup (id), g_strdup (url));
              changed = TRUE;
            }
        }
      if (changed)
        g_ptr_array_add (reasons, g_strdup ("base_url_changed"));
    }
  if (cw_agent_json_object (config, "sandbox") != NULL)
    merge_sandbox (self, cw_agent_json_object (config, "sandbox"));
  if (json_object_has_member (config, "toolOutputTokenLimit"))
    self->tool_output_token_limit
        = CLAMP (json_object_get_int_member_with_default (config, "toolOutputTokenLimit", 32000),
                 1024, 262144);
  for (GList *l = members; l != NULL; l = l->next)
    {
      if (g_strv_contains (secret_fields, l->data) || g_strcmp0 (l->data, "activeProvider") == 0
          || g_strcmp0 (l->data, "providerBaseUrls") == 0)
        continue;
      json_object_set_member (self->other, l->data,
                              json_node_copy (json_object_get_member (config, l->data)));
    }
}

const gchar *
cw_agent_config_base_url (CwAgentConfig *self, const gchar *provider)
{
  return g_hash_table_lookup (self->base_urls, provider);
}

const gchar *
cw_agent_config_pick_model (CwAgentConfig *self, const gchar *provider, const gchar *given)
{
  if (given != NULL && *given != '\0')
    return given;
  for (guint i = 0; i < json_array_get_length (self->catalog); i++)
    {
      JsonObject *m = json_array_get_object_element (self->catalog, i);
      const gchar *mp
          = m != NULL ? json_object_get_string_member_with_default (m, "provider", NULL) : NULL;
      if (m != NULL && (mp == NULL || g_strcmp0 (cw_agent_provider_normalize (mp), provider) == 0))
        return json_object_get_string_member_with_default (m, "id", NULL);
    }
  for (guint i = 0; i < G_N_ELEMENTS (providers); i++)
    if (g_strcmp0 (provider, providers[i].id) == 0)
      return providers[i].model;
  return "local-model";
}

gboolean
cw_agent_config_load (CwAgentConfig *self, CwStore *store, GError **error)
{
  g_autofree gchar *text = cw_agent_store_get_meta (store, META_KEY);
  g_autoptr (JsonNode) node = NULL;
  g_autoptr (GPtrArray) reasons = g_ptr_array_new_with_free_func (g_free);
  JsonObject *obj;
  JsonArray *catalog, *skills;

  if (text == NULL)
    return TRUE;
  node = cw_json_from_string (text, -1, error);
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    {
      g_prefix_error (error, "stored runtime config is damaged: ");
      return FALSE;
    }
  obj = json_node_get_object (node);
  cw_agent_config_merge (self, obj, reasons);
  catalog = cw_agent_json_array (obj, "models");
  if (catalog != NULL)
    {
      json_array_unref (self->catalog);
      self->catalog = json_array_ref (catalog);
    }
  json_object_remove_member (self->other, "models");
  skills = cw_agent_json_array (obj, "skills");
  if (skills != NULL)
    {
      json_array_unref (self->skills);
      self->skills = json_array_ref (skills);
    }
  json_object_remove_member (self->other, "skills");
  return TRUE;
}

void
cw_agent_config_reload (CwAgentConfig *self, CwStore *store)
{
  CwAgentConfig *stored = cw_agent_config_new ();
  CwAgentConfig tmp;
  g_autoptr (GError) error = NULL;

  if (!cw_agent_config_load (stored, store, &error))
    {
      g_warning ("cannot read the stored runtime config back: %s", error->message);
      cw_agent_config_free (stored);
      return;
    }
  tmp = *self;
  *self = *stored;
  *stored = tmp;
  cw_agent_config_free (stored);
}

gboolean
cw_agent_config_save (CwAgentConfig *self, CwStore *store, GError **error)
{
  g_autoptr (JsonNode) node = json_node_new (JSON_NODE_OBJECT);
  JsonObject *obj = json_object_new ();
  JsonObject *urls = json_object_new ();
  JsonObject *sandbox;
  JsonArray *trusted = json_array_new ();
  g_autoptr (GList) members = json_object_get_members (self->other);
  g_autofree gchar *text = NULL;
  GHashTableIter iter;
  gpointer k, v;

  for (GList *l = members; l != NULL; l = l->next)
    json_object_set_member (obj, l->data,
                            json_node_copy (json_object_get_member (self->other, l->data)));
  json_object_set_string_member (obj, "activeProvider", self->active_provider);
  g_hash_table_iter_init (&iter, self->base_urls);
  while (g_hash_table_iter_next (&iter, &k, &v))
    json_object_set_string_member (urls, k, v);
  json_object_set_object_member (obj, "providerBaseUrls", urls);
  sandbox = cw_agent_json_object (obj, "sandbox");
  if (sandbox == NULL)
    {
      sandbox = json_object_new ();
      json_object_set_object_member (obj, "sandbox", sandbox);
    }
  for (guint i = 0; i < self->trusted_commands->len; i++)
    json_array_add_string_element (trusted, g_ptr_array_index (self->trusted_commands, i));
  json_object_set_array_member (sandbox, "trustedCommands", trusted);
  json_object_set_int_member (sandbox, "maxExecutionTimeMs", self->max_execution_ms);
  json_object_set_int_member (sandbox, "maxOutputBytes", self->max_output_bytes);
  json_object_set_int_member (obj, "toolOutputTokenLimit", self->tool_output_token_limit);
  json_object_set_array_member (obj, "models", json_array_ref (self->catalog));
  json_object_set_array_member (obj, "skills", json_array_ref (self->skills));
  json_node_take_object (node, obj);
  text = cw_json_to_string (node);
  return cw_agent_store_set_meta (store, META_KEY, text, error);
}
