/* cw-agent-config.h: the runtime config of set_runtime_config and set_models, without any
 * secret (keys live in CwSecrets, see cw-agent-keys.h).
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <cowork.h>

G_BEGIN_DECLS

typedef struct
{
  gchar *active_provider;
  GHashTable *base_urls; /* provider id -> base URL */
  JsonArray *catalog;    /* set_models */
  JsonArray *skills;     /* set_skills */
  GPtrArray *trusted_commands;
  gint64 max_execution_ms;
  gint64 max_output_bytes;
  gint64 tool_output_token_limit;
  JsonObject *other; /* every other field as given (media routing, sandbox, ...) */
} CwAgentConfig;

CwAgentConfig *cw_agent_config_new (void);
void cw_agent_config_free (CwAgentConfig *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CwAgentConfig, cw_agent_config_free)

gboolean cw_agent_config_load (CwAgentConfig *self, CwStore *store, GError **error);
/* Replaces what @self holds with the stored config (after a save that failed). */
void cw_agent_config_reload (CwAgentConfig *self, CwStore *store);
gboolean cw_agent_config_save (CwAgentConfig *self, CwStore *store, GError **error);
/* A RuntimeConfig's activeProvider and providerBaseUrls name known providers, and every base
 * URL is http:// or https://; otherwise an error saying which field is wrong and why. */
gboolean cw_agent_config_validate (JsonObject *config, GError **error);
/* Merges a RuntimeConfig (contract §5.3) minus its keys; appends "provider_changed" /
 * "base_url_changed" to @reasons when those moved. */
void cw_agent_config_merge (CwAgentConfig *self, JsonObject *config, GPtrArray *reasons);
const gchar *cw_agent_config_base_url (CwAgentConfig *self, const gchar *provider);

/* "gemini" -> "google"; unknown or NULL -> NULL. */
const gchar *cw_agent_provider_normalize (const gchar *provider);
gboolean cw_agent_provider_needs_key (const gchar *provider);
/* Given -> first catalog entry (of this provider) -> the provider's default. */
const gchar *cw_agent_config_pick_model (CwAgentConfig *self, const gchar *provider,
                                         const gchar *given);

G_END_DECLS
