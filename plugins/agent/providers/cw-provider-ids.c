/* cw-provider-ids.c: the contract's provider ids (§8.1), their defaults (§5 create_session)
 * and which wire format each speaks.
 *
 * anthropic uses its native Messages API here (the original app went through the
 * OpenAI-compatible shim, which loses thinking and is not what Anthropic documents).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-provider-wire.h"

typedef struct
{
  const gchar *id;
  const gchar *base_url;
  const gchar *model;
  gboolean needs_key;
  gboolean add_v1; /* OpenAI-compatible: "/v1" is appended when the base lacks it */
  const CwProviderWire *wire;
} CwProviderInfo;

static const CwProviderInfo cw_providers[] = {
  { "google", "https://generativelanguage.googleapis.com", "gemini-3-flash-preview", TRUE, FALSE,
    &cw_provider_wire_gemini },
  { "openai", "https://api.openai.com", "gpt-5.2", TRUE, TRUE, &cw_provider_wire_openai },
  { "anthropic", "https://api.anthropic.com", "claude-opus-4-6", TRUE, FALSE,
    &cw_provider_wire_anthropic },
  { "openrouter", "https://openrouter.ai/api", "openai/gpt-5.2", TRUE, TRUE,
    &cw_provider_wire_openai },
  { "moonshot", "https://api.moonshot.ai", "kimi-k2-thinking", TRUE, TRUE,
    &cw_provider_wire_openai },
  { "glm", "https://open.bigmodel.cn/api/paas", "glm-4.7", TRUE, TRUE, &cw_provider_wire_openai },
  { "deepseek", "https://api.deepseek.com", "deepseek-chat", TRUE, TRUE, &cw_provider_wire_openai },
  { "lmstudio", "http://127.0.0.1:1234", "local-model", FALSE, TRUE, &cw_provider_wire_openai },
};

static const CwProviderInfo *
cw_provider_info (const gchar *provider_id)
{
  if (provider_id == NULL)
    return NULL;
  for (guint i = 0; i < G_N_ELEMENTS (cw_providers); i++)
    {
      if (g_strcmp0 (cw_providers[i].id, provider_id) == 0)
        return &cw_providers[i];
    }
  return NULL;
}

gboolean
cw_provider_id_is_known (const gchar *provider_id)
{
  return cw_provider_info (provider_id) != NULL;
}

gboolean
cw_provider_needs_key (const gchar *provider_id)
{
  const CwProviderInfo *info = cw_provider_info (provider_id);
  return info != NULL ? info->needs_key : TRUE;
}

const gchar *
cw_provider_default_base_url (const gchar *provider_id)
{
  const CwProviderInfo *info = cw_provider_info (provider_id);
  return info != NULL ? info->base_url : NULL;
}

const gchar *
cw_provider_default_model (const gchar *provider_id)
{
  const CwProviderInfo *info = cw_provider_info (provider_id);
  return info != NULL ? info->model : NULL;
}

const CwProviderWire *
cw_provider_wire_for_id (const gchar *provider_id)
{
  const CwProviderInfo *info = cw_provider_info (provider_id);
  return info != NULL ? info->wire : NULL;
}

static gboolean
cw_provider_host_is_local (const gchar *base_url)
{
  return g_str_has_prefix (base_url, "127.") || g_str_has_prefix (base_url, "localhost")
         || g_str_has_prefix (base_url, "[::1]");
}

gchar *
cw_provider_resolve_base_url (const gchar *provider_id, const gchar *base_url)
{
  const CwProviderInfo *info = cw_provider_info (provider_id);
  g_autoptr (GString) url = NULL;

  if (info == NULL)
    return NULL;
  if (base_url == NULL || *base_url == '\0')
    base_url = info->base_url;

  /* Users paste "api.example.com" without a scheme, as the contract's table shows them;
   * local model servers speak plain HTTP. */
  if (g_strstr_len (base_url, -1, "://") == NULL)
    url = g_string_new (cw_provider_host_is_local (base_url) ? "http://" : "https://");
  else
    url = g_string_new (NULL);
  g_string_append (url, base_url);
  while (url->len > 0 && url->str[url->len - 1] == '/')
    g_string_truncate (url, url->len - 1);

  if (info->add_v1 && !g_str_has_suffix (url->str, "/v1"))
    g_string_append (url, "/v1");
  return g_string_free (g_steal_pointer (&url), FALSE);
}
