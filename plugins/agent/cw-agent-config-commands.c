/* cw-agent-config-commands.c: set_models, set_skills, set_api_key, set_stitch_api_key,
 * set_runtime_config, is_ready.
 *
 * Keys go to CwSecrets only. Unlike the original, set_api_key stores the Google key and
 * leaves the active provider alone (contract §10): switching providers is set_runtime_config's
 * job, done on purpose.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-agent-json.h"
#include "cw-agent-keys.h"
#include "cw-agent-plugin.h"
#include "cw-agent-skills.h"

#define PLUGIN(p) CW_AGENT_PLUGIN (p)

static void
return_void (CwInvocation *inv)
{
  JsonObject *result = json_object_new ();

  json_object_set_boolean_member (result, "success", TRUE);
  cw_invocation_return_object (inv, result);
}

static void
save_config (CwAgentPlugin *self, CwInvocation *inv, JsonObject *result)
{
  g_autoptr (GError) error = NULL;

  if (!cw_agent_config_save (self->config, self->store, &error))
    {
      /* What is in memory goes back to what is stored. */
      cw_agent_config_reload (self->config, self->store);
      if (result != NULL)
        json_object_unref (result);
      cw_invocation_return_error (inv, g_steal_pointer (&error));
      return;
    }
  if (result != NULL)
    cw_invocation_return_object (inv, result);
  else
    return_void (inv);
}

static void
cmd_set_models (CwInvocation *inv, gpointer user_data)
{
  CwAgentPlugin *self = PLUGIN (user_data);
  JsonNode *node = json_object_get_member (cw_invocation_get_params (inv), "models");
  JsonArray *models;

  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    {
      cw_invocation_return_error_literal (inv, CW_ERROR_INVALID_PARAMS, "models is required");
      return;
    }
  models = json_node_get_array (node);
  for (guint i = 0; i < json_array_get_length (models); i++)
    {
      JsonObject *m = json_array_get_object_element (models, i);
      if (m == NULL || json_object_get_string_member_with_default (m, "id", NULL) == NULL)
        {
          cw_invocation_return_new_error (inv, CW_ERROR_INVALID_PARAMS, "models[%u].id is required",
                                          i);
          return;
        }
    }
  json_array_unref (self->config->catalog);
  self->config->catalog = json_array_ref (models);
  save_config (self, inv, NULL);
}

/* Skills are kept with the config and offered to the model in every system prompt. */
static void
cmd_set_skills (CwInvocation *inv, gpointer user_data)
{
  CwAgentPlugin *self = PLUGIN (user_data);
  g_autoptr (GError) error = NULL;
  JsonArray *skills = cw_agent_skills_parse (
      json_object_get_member (cw_invocation_get_params (inv), "skills"), &error);

  if (skills == NULL)
    {
      cw_invocation_return_error (inv, g_steal_pointer (&error));
      return;
    }
  json_array_unref (self->config->skills);
  self->config->skills = skills;
  save_config (self, inv, NULL);
}

/* ---- keys --------------------------------------------------------------------------- */

typedef struct
{
  CwAgentPlugin *plugin;
  CwInvocation *invocation;
  JsonObject *config; /* set_runtime_config: applied once the keys are stored */
} KeyData;

static void key_data_free (KeyData *d);
static void apply_runtime_config (CwAgentPlugin *self, CwInvocation *inv, JsonObject *config,
                                  GPtrArray *failures);

static void
on_keys_stored (GObject *source, GAsyncResult *res, gpointer user_data)
{
  KeyData *d = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) failures = cw_agent_keys_store_finish (res, &error);

  if (d->config != NULL)
    {
      /* A key that could not be stored never discards the rest of the config. */
      if (failures == NULL)
        {
          failures = g_ptr_array_new_with_free_func (g_free);
          g_ptr_array_add (failures, g_strdup (error->message));
        }
      apply_runtime_config (d->plugin, d->invocation, d->config, failures);
    }
  else if (failures == NULL)
    cw_invocation_return_error (d->invocation, g_steal_pointer (&error));
  else if (failures->len > 0)
    cw_invocation_return_error_literal (d->invocation, CW_ERROR_FAILED,
                                        g_ptr_array_index (failures, 0));
  else
    return_void (d->invocation);
  key_data_free (d);
}

static void
key_data_free (KeyData *d)
{
  g_object_unref (d->invocation);
  if (d->config != NULL)
    json_object_unref (d->config);
  g_free (d);
}

static void
store_keys (CwAgentPlugin *self, CwInvocation *inv, GPtrArray *writes, JsonObject *config)
{
  KeyData *d = g_new0 (KeyData, 1);

  d->plugin = self;
  d->invocation = g_object_ref (inv);
  d->config = config != NULL ? json_object_ref (config) : NULL;
  cw_agent_keys_store (cw_plugin_get_context (CW_PLUGIN (self)), writes, NULL, on_keys_stored, d);
}

/* A command whose whole job is one key in @param: null or "" removes it. */
static void
set_one_key (CwInvocation *inv, gpointer user_data, const gchar *kind, const gchar *name)
{
  CwAgentPlugin *self = PLUGIN (user_data);
  JsonNode *node = json_object_get_member (cw_invocation_get_params (inv), "apiKey");
  g_autoptr (GPtrArray) writes = cw_agent_keys_writes_new ();
  g_autofree gchar *value = NULL;

  if (node != NULL && !JSON_NODE_HOLDS_NULL (node)
      && (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING))
    {
      cw_invocation_return_error_literal (inv, CW_ERROR_INVALID_PARAMS, "apiKey must be a string");
      return;
    }
  value
      = g_strdup (node != NULL && JSON_NODE_HOLDS_VALUE (node) ? json_node_get_string (node) : "");
  cw_agent_keys_writes_add (writes, kind, name, g_strstrip (value));
  memset (value, 0, strlen (value));
  store_keys (self, inv, writes, NULL);
}

static void
cmd_set_api_key (CwInvocation *inv, gpointer user_data)
{
  set_one_key (inv, user_data, CW_AGENT_KEY_PROVIDER, "google");
}

/* The app sends it before every command; the key is kept like the others. */
static void
cmd_set_stitch_api_key (CwInvocation *inv, gpointer user_data)
{
  set_one_key (inv, user_data, CW_AGENT_KEY_HELPER, "stitch");
}

/* ---- set_runtime_config ------------------------------------------------------------- */

static void
apply_runtime_config (CwAgentPlugin *self, CwInvocation *inv, JsonObject *config,
                      GPtrArray *failures)
{
  g_autoptr (GPtrArray) reasons = g_ptr_array_new_with_free_func (g_free);
  JsonObject *result = json_object_new ();
  JsonArray *reason_arr = json_array_new ();
  JsonArray *affected = json_array_new ();
  GHashTableIter iter;
  gpointer value;

  cw_agent_config_merge (self->config, config, reasons);
  for (guint i = 0; i < reasons->len; i++)
    json_array_add_string_element (reason_arr, g_ptr_array_index (reasons, i));
  /* Sessions keep their provider; they pick up new base URLs with their next request. A
   * session on another provider than the new active one needs a new session to switch. */
  g_hash_table_iter_init (&iter, self->sessions->by_id);
  while (reasons->len > 0 && g_hash_table_iter_next (&iter, NULL, &value))
    {
      CwAgentSession *s = value;
      if (g_strcmp0 (s->provider, self->config->active_provider) != 0)
        json_array_add_string_element (affected, s->id);
    }
  json_object_set_boolean_member (result, "appliedImmediately", TRUE);
  json_object_set_boolean_member (result, "requiresNewSession",
                                  json_array_get_length (affected) > 0);
  json_object_set_array_member (result, "reasons", reason_arr);
  json_object_set_array_member (result, "affectedSessionIds", affected);
  if (failures != NULL && failures->len > 0)
    {
      JsonArray *errors = json_array_new ();
      for (guint i = 0; i < failures->len; i++)
        json_array_add_string_element (errors, g_ptr_array_index (failures, i));
      json_object_set_array_member (result, "credentialErrors", errors);
    }
  save_config (self, inv, result);
}

/* A string sets the key ("" removes it); null or absent leaves it as it is (contract §5.3:
 * the app sends every helper key it has no value for as null). */
static void
add_key (GPtrArray *writes, const gchar *kind, const gchar *name, JsonNode *node)
{
  g_autofree gchar *value = NULL;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node)
      || json_node_get_value_type (node) != G_TYPE_STRING)
    return;
  value = g_strstrip (g_strdup (json_node_get_string (node)));
  cw_agent_keys_writes_add (writes, kind, name, value);
  memset (value, 0, strlen (value));
}

static void
cmd_set_runtime_config (CwInvocation *inv, gpointer user_data)
{
  static const struct
  {
    const gchar *field;
    const gchar *name;
  } helpers[] = {
    { "googleApiKey", "google" }, { "openaiApiKey", "openai" }, { "falApiKey", "fal" },
    { "exaApiKey", "exa" },       { "tavilyApiKey", "tavily" }, { "stitchApiKey", "stitch" },
  };
  CwAgentPlugin *self = PLUGIN (user_data);
  JsonObject *params = cw_invocation_get_params (inv);
  JsonObject *config = cw_agent_json_object (params, "config");
  GError *invalid = NULL;
  JsonObject *api_keys;
  g_autoptr (GPtrArray) writes = cw_agent_keys_writes_new ();

  if (config == NULL)
    config = params;
  if (!cw_agent_config_validate (config, &invalid))
    {
      cw_invocation_return_error (inv, invalid);
      return;
    }
  api_keys = cw_agent_json_object (config, "providerApiKeys");
  if (api_keys != NULL)
    {
      g_autoptr (GList) ids = json_object_get_members (api_keys);
      for (GList *l = ids; l != NULL; l = l->next)
        {
          const gchar *id = cw_agent_provider_normalize (l->data);
          if (id != NULL)
            add_key (writes, CW_AGENT_KEY_PROVIDER, id, json_object_get_member (api_keys, l->data));
        }
    }
  /* The helper services' keys are credentials of their own, never a provider's key. */
  for (guint i = 0; i < G_N_ELEMENTS (helpers); i++)
    add_key (writes, CW_AGENT_KEY_HELPER, helpers[i].name,
             json_object_get_member (config, helpers[i].field));
  if (writes->len > 0)
    store_keys (self, inv, writes, config);
  else
    apply_runtime_config (self, inv, config, NULL);
}

/* ---- is_ready ----------------------------------------------------------------------- */

static void
on_ready_key (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr (CwInvocation) inv = user_data;
  g_autofree gchar *key = cw_agent_keys_lookup_finish (res, NULL);
  JsonObject *result = json_object_new ();

  json_object_set_boolean_member (result, "ready", key != NULL);
  if (key != NULL)
    memset (key, 0, strlen (key));
  cw_invocation_return_object (inv, result);
}

static void
cmd_is_ready (CwInvocation *inv, gpointer user_data)
{
  CwAgentPlugin *self = PLUGIN (user_data);
  const gchar *provider = self->config->active_provider;
  JsonObject *result;

  if (!cw_agent_provider_needs_key (provider))
    {
      result = json_object_new ();
      json_object_set_boolean_member (result, "ready", TRUE);
      cw_invocation_return_object (inv, result);
      return;
    }
  cw_agent_keys_lookup (cw_plugin_get_context (CW_PLUGIN (self)), provider, NULL, on_ready_key,
                        g_object_ref (inv));
}

gboolean
cw_agent_config_commands_register (CwAgentPlugin *self, GError **error)
{
  return cw_plugin_add_command (CW_PLUGIN (self), "set_models", cmd_set_models, error)
         && cw_plugin_add_command (CW_PLUGIN (self), "set_skills", cmd_set_skills, error)
         && cw_plugin_add_command (CW_PLUGIN (self), "set_api_key", cmd_set_api_key, error)
         && cw_plugin_add_command (CW_PLUGIN (self), "set_stitch_api_key", cmd_set_stitch_api_key,
                                   error)
         && cw_plugin_add_command (CW_PLUGIN (self), "set_runtime_config", cmd_set_runtime_config,
                                   error)
         && cw_plugin_add_command (CW_PLUGIN (self), "is_ready", cmd_is_ready, error);
}
