/* cw-provider-error.c: provider failures as CW_PROVIDER_ERROR codes with readable,
 * key-free messages.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-provider-wire.h"

#include <string.h>

/* Kept intact by .clang-format (WhitespaceSensitiveMacros), see core/libcowork/cw-error.c. */
G_DEFINE_QUARK (cw-provider-error-quark, cw_provider_error);

static const gchar *const cw_provider_error_codes[] = {
  [CW_PROVIDER_ERROR_INVALID_API_KEY] = "INVALID_API_KEY",
  [CW_PROVIDER_ERROR_RATE_LIMIT] = "RATE_LIMIT",
  [CW_PROVIDER_ERROR_SERVER] = "SERVER_ERROR",
  [CW_PROVIDER_ERROR_BAD_REQUEST] = "BAD_REQUEST",
  [CW_PROVIDER_ERROR_NETWORK] = "NETWORK_ERROR",
  [CW_PROVIDER_ERROR_STREAM] = "STREAM_ERROR",
  [CW_PROVIDER_ERROR_CANCELLED] = "CANCELLED",
  [CW_PROVIDER_ERROR_CONTEXT_LENGTH] = "CONTEXT_LENGTH_EXCEEDED",
};

const gchar *
cw_provider_error_code (const GError *error)
{
  if (error == NULL)
    return NULL;
  if (error->domain == CW_PROVIDER_ERROR && error->code >= 0
      && (guint) error->code < G_N_ELEMENTS (cw_provider_error_codes))
    return cw_provider_error_codes[error->code];
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return "CANCELLED";
  return "STREAM_ERROR";
}

gchar *
cw_provider_redact (const gchar *text, const gchar *secret)
{
  g_autoptr (GString) out = g_string_new (text);

  /* Short "keys" would redact ordinary words; real keys are long. */
  if (secret != NULL && strlen (secret) >= 8)
    g_string_replace (out, secret, "[redacted]", 0);
  return g_string_free (g_steal_pointer (&out), FALSE);
}

gboolean
cw_provider_status_is_retryable (guint status)
{
  return status == 429 || (status >= 500 && status <= 599);
}

/* Each API words it differently; all say "context" or "too long" or "too many tokens". */
static gboolean
cw_provider_message_is_context_length (const gchar *type, const gchar *message)
{
  static const gchar *const needles[]
      = { "context_length",    "context length",           "context window",
          "maximum context",   "prompt is too long",       "too many tokens",
          "input token count", "maximum number of tokens", "reduce the length" };
  g_autofree gchar *joined = g_strconcat (type ? type : "", " ", message ? message : "", NULL);
  g_autofree gchar *haystack = g_ascii_strdown (joined, -1);

  for (guint i = 0; i < G_N_ELEMENTS (needles); i++)
    {
      if (strstr (haystack, needles[i]) != NULL)
        return TRUE;
    }
  return FALSE;
}

static CwProviderError
cw_provider_error_for_type (const gchar *type)
{
  if (type == NULL)
    return CW_PROVIDER_ERROR_STREAM;
  if (strstr (type, "auth") != NULL || strstr (type, "permission") != NULL
      || g_strcmp0 (type, "UNAUTHENTICATED") == 0 || g_strcmp0 (type, "PERMISSION_DENIED") == 0)
    return CW_PROVIDER_ERROR_INVALID_API_KEY;
  if (strstr (type, "rate_limit") != NULL || g_strcmp0 (type, "RESOURCE_EXHAUSTED") == 0)
    return CW_PROVIDER_ERROR_RATE_LIMIT;
  if (strstr (type, "overloaded") != NULL || g_strcmp0 (type, "api_error") == 0
      || g_strcmp0 (type, "server_error") == 0 || g_strcmp0 (type, "INTERNAL") == 0
      || g_strcmp0 (type, "UNAVAILABLE") == 0)
    return CW_PROVIDER_ERROR_SERVER;
  if (strstr (type, "invalid_request") != NULL || g_strcmp0 (type, "INVALID_ARGUMENT") == 0)
    return CW_PROVIDER_ERROR_BAD_REQUEST;
  return CW_PROVIDER_ERROR_STREAM;
}

static CwProviderError
cw_provider_error_for_status (guint status)
{
  if (status == 401 || status == 403)
    return CW_PROVIDER_ERROR_INVALID_API_KEY;
  if (status == 429)
    return CW_PROVIDER_ERROR_RATE_LIMIT;
  if (status >= 500)
    return CW_PROVIDER_ERROR_SERVER;
  return CW_PROVIDER_ERROR_BAD_REQUEST;
}

GError *
cw_provider_error_from_api (guint status_hint, const gchar *type, const gchar *message)
{
  CwProviderError code;

  if (cw_provider_message_is_context_length (type, message))
    code = CW_PROVIDER_ERROR_CONTEXT_LENGTH;
  else if (status_hint >= 400)
    code = cw_provider_error_for_status (status_hint);
  else
    code = cw_provider_error_for_type (type);
  return g_error_new (CW_PROVIDER_ERROR, code, "provider error%s%s: %s", type ? " " : "",
                      type ? type : "", message ? message : "unknown");
}

/* OpenAI {"error":{"message","type","code"}}, Anthropic {"type":"error","error":{"type",
 * "message"}}, Gemini {"error":{"code","message","status"}}; Gemini proxies send a list. */
static gboolean
cw_provider_error_parse_body (GBytes *body, gchar **out_type, gchar **out_message)
{
  g_autoptr (JsonNode) root = NULL;
  g_autofree gchar *text = NULL;
  JsonNode *node;
  JsonObject *error;
  const gchar *type;
  gsize len = 0;
  const gchar *data;

  if (body == NULL)
    return FALSE;
  data = g_bytes_get_data (body, &len);
  if (data == NULL || len == 0)
    return FALSE;
  text = g_strndup (data, len);
  root = cw_json_from_string (text, -1, NULL);
  if (root == NULL)
    return FALSE;
  node = root;
  if (JSON_NODE_HOLDS_ARRAY (node) && json_array_get_length (json_node_get_array (node)) > 0)
    node = json_array_get_element (json_node_get_array (node), 0);
  if (!JSON_NODE_HOLDS_OBJECT (node))
    return FALSE;
  error = cw_provider_json_object (json_node_get_object (node), "error");
  if (error == NULL)
    return FALSE;

  type = cw_provider_json_string (error, "type");
  if (type == NULL)
    type = cw_provider_json_string (error, "status");
  if (type == NULL)
    type = cw_provider_json_string (error, "code");
  *out_type = g_strdup (type);
  *out_message = g_strdup (cw_provider_json_string (error, "message"));
  return *out_message != NULL || *out_type != NULL;
}

GError *
cw_provider_error_from_http (guint status, GBytes *body, const gchar *api_key)
{
  g_autofree gchar *type = NULL;
  g_autofree gchar *message = NULL;
  g_autofree gchar *text = NULL;
  g_autofree gchar *safe = NULL;
  CwProviderError code = cw_provider_error_for_status (status);

  if (!cw_provider_error_parse_body (body, &type, &message) && body != NULL)
    {
      gsize len = 0;
      const gchar *data = g_bytes_get_data (body, &len);
      /* A plain-text or HTML error page: keep the start, it is usually the reason. */
      if (data != NULL && len > 0)
        message = g_utf8_make_valid (data, MIN (len, 300));
    }
  if ((status == 400 || status == 413) && cw_provider_message_is_context_length (type, message))
    code = CW_PROVIDER_ERROR_CONTEXT_LENGTH;

  if (message != NULL && *message != '\0')
    text = g_strdup_printf ("HTTP %u: %s", status, g_strstrip (message));
  else
    text = g_strdup_printf ("HTTP %u", status);
  safe = cw_provider_redact (text, api_key);
  return g_error_new_literal (CW_PROVIDER_ERROR, code, safe);
}

GError *
cw_provider_error_from_unstreamed (GBytes *body, const gchar *api_key)
{
  g_autofree gchar *type = NULL;
  g_autofree gchar *message = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree gchar *safe = NULL;

  if (!cw_provider_error_parse_body (body, &type, &message))
    return g_error_new_literal (CW_PROVIDER_ERROR, CW_PROVIDER_ERROR_STREAM,
                                "the provider answered with JSON instead of an event stream");
  error = cw_provider_error_from_api (0, type, message);
  safe = cw_provider_redact (error->message, api_key);
  return g_error_new_literal (CW_PROVIDER_ERROR, error->code, safe);
}
