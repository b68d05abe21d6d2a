/* cw-integrations-registry.c: the platform table. A platform's row holds its schema even when
 * its adapter is not built, so that its config can be stored and imported with the secrets
 * kept apart, and connect answers NotSupported instead of guessing.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-integrations-registry.h"

#include "adapters/cw-integrations-adapters.h"

#include <string.h>

#define DENIAL                                                                                     \
  {                                                                                                \
    "denialMessage", CW_FIELD_STRING, FALSE, FALSE, NULL, 0, 0, NULL                               \
  }
#define API_BASE(url)                                                                              \
  {                                                                                                \
    "apiBaseUrl", CW_FIELD_STRING, FALSE, FALSE, url, 0, 0, NULL                                   \
  }
#define END                                                                                        \
  {                                                                                                \
    NULL, 0, FALSE, FALSE, NULL, 0, 0, NULL                                                        \
  }

static const CwIntegrationField whatsapp_fields[] = {
  { "sessionDataDir", CW_FIELD_STRING, FALSE, FALSE, NULL, 0, 0, NULL },
  { "senderPolicy", CW_FIELD_ENUM, FALSE, FALSE, "allowlist", 0, 0, "allowlist" },
  { "allowFrom", CW_FIELD_STRV, FALSE, FALSE, NULL, 0, 0, NULL },
  DENIAL,
  /* the WhatsApp Cloud API (adapters/whatsapp); the adapter names what is missing */
  { "phoneNumberId", CW_FIELD_STRING, FALSE, FALSE, NULL, 0, 0, NULL },
  { "accessToken", CW_FIELD_STRING, TRUE, FALSE, NULL, 0, 0, NULL },
  { "appSecret", CW_FIELD_STRING, TRUE, FALSE, NULL, 0, 0, NULL },
  { "verifyToken", CW_FIELD_STRING, TRUE, FALSE, NULL, 0, 0, NULL },
  API_BASE ("https://graph.facebook.com/v19.0"),
  END,
};

static const CwIntegrationField slack_fields[] = {
  { "appToken", CW_FIELD_STRING, TRUE, TRUE, NULL, 0, 0, NULL },
  { "botToken", CW_FIELD_STRING, TRUE, TRUE, NULL, 0, 0, NULL },
  { "defaultChannel", CW_FIELD_STRING, FALSE, FALSE, NULL, 0, 0, NULL },
  API_BASE ("https://slack.com/api"),
  END,
};

static const CwIntegrationField telegram_fields[] = {
  { "botToken", CW_FIELD_STRING, TRUE, TRUE, NULL, 0, 0, NULL },
  { "allowedChatIds", CW_FIELD_STRV, FALSE, FALSE, NULL, 0, 0, NULL },
  DENIAL,
  API_BASE ("https://api.telegram.org"),
  END,
};

static const CwIntegrationField discord_fields[] = {
  { "botToken", CW_FIELD_STRING, TRUE, TRUE, NULL, 0, 0, NULL },
  { "allowedGuildIds", CW_FIELD_STRV, FALSE, FALSE, NULL, 0, 0, NULL },
  { "allowedChannelIds", CW_FIELD_STRV, FALSE, FALSE, NULL, 0, 0, NULL },
  { "allowDirectMessages", CW_FIELD_BOOL, FALSE, FALSE, "true", 0, 0, NULL },
  API_BASE ("https://discord.com/api/v10"),
  END,
};

static const CwIntegrationField imessage_fields[] = {
  { "serverUrl", CW_FIELD_STRING, FALSE, TRUE, NULL, 0, 0, NULL },
  { "accessToken", CW_FIELD_STRING, TRUE, TRUE, NULL, 0, 0, NULL },
  { "defaultChatGuid", CW_FIELD_STRING, FALSE, FALSE, NULL, 0, 0, NULL },
  { "allowHandles", CW_FIELD_STRV, FALSE, FALSE, NULL, 0, 0, NULL },
  { "pollIntervalSeconds", CW_FIELD_INT, FALSE, FALSE, "20", 5, 300, NULL },
  DENIAL,
  END,
};

static const CwIntegrationField teams_fields[] = {
  { "tenantId", CW_FIELD_STRING, FALSE, TRUE, NULL, 0, 0, NULL },
  { "clientId", CW_FIELD_STRING, FALSE, TRUE, NULL, 0, 0, NULL },
  { "clientSecret", CW_FIELD_STRING, TRUE, TRUE, NULL, 0, 0, NULL },
  { "teamId", CW_FIELD_STRING, FALSE, TRUE, NULL, 0, 0, NULL },
  { "channelId", CW_FIELD_STRING, FALSE, TRUE, NULL, 0, 0, NULL },
  { "pollIntervalSeconds", CW_FIELD_INT, FALSE, FALSE, "30", 10, 300, NULL },
  API_BASE ("https://graph.microsoft.com/v1.0"),
  { "authBaseUrl", CW_FIELD_STRING, FALSE, FALSE, "https://login.microsoftonline.com", 0, 0, NULL },
  END,
};

static const CwIntegrationField irc_fields[] = {
  { "server", CW_FIELD_STRING, FALSE, TRUE, NULL, 0, 0, NULL },
  { "port", CW_FIELD_INT, FALSE, FALSE, "6697", 1, 65535, NULL },
  { "tls", CW_FIELD_BOOL, FALSE, FALSE, "true", 0, 0, NULL },
  { "tlsCaFile", CW_FIELD_STRING, FALSE, FALSE, NULL, 0, 0, NULL },
  { "nick", CW_FIELD_STRING, FALSE, TRUE, NULL, 0, 0, NULL },
  { "username", CW_FIELD_STRING, FALSE, FALSE, NULL, 0, 0, NULL },
  { "password", CW_FIELD_STRING, TRUE, FALSE, NULL, 0, 0, NULL },
  { "channels", CW_FIELD_STRV, FALSE, FALSE, NULL, 0, 0, NULL },
  { "allowFrom", CW_FIELD_STRV, FALSE, FALSE, NULL, 0, 0, NULL },
  DENIAL,
  END,
};

static const CwIntegrationField email_fields[] = {
  { "imapHost", CW_FIELD_STRING, FALSE, TRUE, NULL, 0, 0, NULL },
  { "imapPort", CW_FIELD_INT, FALSE, FALSE, "993", 1, 65535, NULL },
  { "smtpHost", CW_FIELD_STRING, FALSE, TRUE, NULL, 0, 0, NULL },
  { "smtpPort", CW_FIELD_INT, FALSE, FALSE, "465", 1, 65535, NULL },
  { "tls", CW_FIELD_ENUM, FALSE, FALSE, "tls", 0, 0, "none|starttls|tls" },
  { "tlsCaFile", CW_FIELD_STRING, FALSE, FALSE, NULL, 0, 0, NULL },
  { "username", CW_FIELD_STRING, FALSE, TRUE, NULL, 0, 0, NULL },
  { "password", CW_FIELD_STRING, TRUE, TRUE, NULL, 0, 0, NULL },
  { "fromAddress", CW_FIELD_STRING, FALSE, FALSE, NULL, 0, 0, NULL },
  { "folder", CW_FIELD_STRING, FALSE, FALSE, "INBOX", 0, 0, NULL },
  { "allowFrom", CW_FIELD_STRV, FALSE, FALSE, NULL, 0, 0, NULL },
  DENIAL,
  END,
};

#ifndef CW_INTEGRATIONS_HAVE_IRC
#define cw_irc_adapter_get_type NULL
#endif
#ifndef CW_INTEGRATIONS_HAVE_EMAIL
#define cw_email_adapter_get_type NULL
#endif
#ifndef CW_INTEGRATIONS_HAVE_TELEGRAM
#define cw_telegram_adapter_get_type NULL
#endif
#ifndef CW_INTEGRATIONS_HAVE_SLACK
#define cw_slack_adapter_get_type NULL
#endif
#ifndef CW_INTEGRATIONS_HAVE_DISCORD
#define cw_discord_adapter_get_type NULL
#endif
#ifndef CW_INTEGRATIONS_HAVE_TEAMS
#define cw_teams_adapter_get_type NULL
#endif
#ifndef CW_INTEGRATIONS_HAVE_IMESSAGE
#define cw_imessage_adapter_get_type NULL
#endif
#ifndef CW_INTEGRATIONS_HAVE_WHATSAPP
#define cw_whatsapp_adapter_get_type NULL
#endif

static const CwIntegrationPlatform platforms[] = {
  { "whatsapp", "WhatsApp", cw_whatsapp_adapter_get_type, whatsapp_fields, 32000,
    CW_ALLOW_SENDER_STRICT, "allowFrom" },
  { "slack", "Slack", cw_slack_adapter_get_type, slack_fields, 8000, CW_ALLOW_NONE, NULL },
  { "telegram", "Telegram", cw_telegram_adapter_get_type, telegram_fields, 4096, CW_ALLOW_CHAT_OPEN,
    "allowedChatIds" },
  { "discord", "Discord", cw_discord_adapter_get_type, discord_fields, 8000, CW_ALLOW_NONE, NULL },
  { "imessage", "iMessage", cw_imessage_adapter_get_type, imessage_fields, 5000,
    CW_ALLOW_SENDER_OPEN, "allowHandles" },
  { "teams", "Microsoft Teams", cw_teams_adapter_get_type, teams_fields, 8000, CW_ALLOW_NONE,
    NULL },
  { "irc", "IRC", cw_irc_adapter_get_type, irc_fields, 8000, CW_ALLOW_SENDER_STRICT, "allowFrom" },
  { "email", "Email", cw_email_adapter_get_type, email_fields, 8000, CW_ALLOW_SENDER_STRICT,
    "allowFrom", TRUE },
  { NULL, NULL, NULL, NULL, 0, CW_ALLOW_NONE, NULL },
};

const CwIntegrationPlatform *
cw_integrations_platforms (void)
{
  return platforms;
}

const CwIntegrationPlatform *
cw_integrations_platform_lookup (const gchar *id)
{
  for (guint i = 0; id != NULL && platforms[i].id != NULL; i++)
    if (g_str_equal (platforms[i].id, id))
      return &platforms[i];
  return NULL;
}

const CwIntegrationPlatform *
cw_integrations_platform_get (const gchar *id, GError **error)
{
  const CwIntegrationPlatform *platform = cw_integrations_platform_lookup (id);
  g_autoptr (GString) names = NULL;

  if (platform != NULL)
    return platform;
  names = g_string_new (NULL);
  for (guint i = 0; platforms[i].id != NULL; i++)
    g_string_append_printf (names, "%s%s", i > 0 ? ", " : "", platforms[i].id);
  g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS, "Invalid platform: %s. Must be one of: %s",
               id != NULL ? id : "(none)", names->str);
  return NULL;
}

const CwIntegrationField *
cw_integrations_platform_field (const CwIntegrationPlatform *platform, const gchar *name)
{
  for (const CwIntegrationField *f = platform->fields; f->name != NULL; f++)
    if (g_str_equal (f->name, name))
      return f;
  return NULL;
}

/* ---- normalisation ------------------------------------------------------------------ */

static gboolean
is_string (JsonNode *node)
{
  return JSON_NODE_TYPE (node) == JSON_NODE_VALUE
         && json_node_get_value_type (node) == G_TYPE_STRING;
}

static JsonNode *
normalise_string (const CwIntegrationField *field, JsonNode *node, GError **error)
{
  g_autofree gchar *text = NULL;

  if (!is_string (node))
    {
      g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS, "%s must be a string", field->name);
      return NULL;
    }
  text = g_strstrip (g_strdup (json_node_get_string (node)));
  if (g_str_has_suffix (field->name, "Url"))
    while (g_str_has_suffix (text, "/"))
      text[strlen (text) - 1] = '\0';
  if (g_str_equal (field->name, "denialMessage") && g_utf8_strlen (text, -1) > 280)
    *g_utf8_offset_to_pointer (text, 280) = '\0';
  if (field->type == CW_FIELD_ENUM)
    {
      g_auto (GStrv) choices = g_strsplit (field->choices, "|", -1);
      if (*text != '\0' && !g_strv_contains ((const gchar *const *) choices, text))
        {
          g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS, "%s must be one of: %s",
                       field->name, field->choices);
          return NULL;
        }
    }
  return json_node_init_string (json_node_alloc (), text);
}

static JsonNode *
normalise_int (const CwIntegrationField *field, JsonNode *node, GError **error)
{
  gint64 value;

  if (JSON_NODE_TYPE (node) == JSON_NODE_VALUE && json_node_get_value_type (node) == G_TYPE_INT64)
    value = json_node_get_int (node);
  else if (JSON_NODE_TYPE (node) == JSON_NODE_VALUE
           && json_node_get_value_type (node) == G_TYPE_DOUBLE)
    value = (gint64) json_node_get_double (node);
  else if (is_string (node)
           && g_ascii_string_to_signed (json_node_get_string (node), 10, G_MININT64, G_MAXINT64,
                                        &value, NULL))
    ;
  else
    {
      g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS, "%s must be a number", field->name);
      return NULL;
    }
  if (field->max > field->min)
    value = CLAMP (value, field->min, field->max);
  return json_node_init_int (json_node_alloc (), value);
}

static JsonNode *
normalise_strv (const CwIntegrationField *field, JsonNode *node, GError **error)
{
  JsonArray *out = json_array_new ();
  JsonArray *in;
  g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  JsonNode *result;

  if (is_string (node))
    {
      /* "a, b" from a command line or a form field */
      g_auto (GStrv) parts = g_strsplit_set (json_node_get_string (node), ",\n", -1);
      for (guint i = 0; parts[i] != NULL; i++)
        {
          g_strstrip (parts[i]);
          if (*parts[i] != '\0' && g_hash_table_add (seen, parts[i]))
            json_array_add_string_element (out, parts[i]);
        }
      result = json_node_init_array (json_node_alloc (), out);
      json_array_unref (out);
      return result;
    }
  if (!JSON_NODE_HOLDS_ARRAY (node))
    {
      json_array_unref (out);
      g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS, "%s must be a list of strings",
                   field->name);
      return NULL;
    }
  in = json_node_get_array (node);
  for (guint i = 0; i < json_array_get_length (in); i++)
    {
      JsonNode *e = json_array_get_element (in, i);
      g_autofree gchar *text = NULL;
      if (JSON_NODE_TYPE (e) == JSON_NODE_VALUE && json_node_get_value_type (e) == G_TYPE_INT64)
        text = g_strdup_printf ("%" G_GINT64_FORMAT, json_node_get_int (e));
      else if (is_string (e))
        text = g_strstrip (g_strdup (json_node_get_string (e)));
      else
        continue;
      if (*text != '\0' && !g_hash_table_contains (seen, text))
        {
          json_array_add_string_element (out, text);
          g_hash_table_add (seen, (gpointer) json_array_get_string_element (
                                      out, json_array_get_length (out) - 1));
        }
    }
  result = json_node_init_array (json_node_alloc (), out);
  json_array_unref (out);
  return result;
}

static JsonNode *
normalise_bool (const CwIntegrationField *field, JsonNode *node, GError **error)
{
  if (JSON_NODE_TYPE (node) == JSON_NODE_VALUE && json_node_get_value_type (node) == G_TYPE_BOOLEAN)
    return json_node_copy (node);
  if (is_string (node)
      && (g_str_equal (json_node_get_string (node), "true")
          || g_str_equal (json_node_get_string (node), "false")))
    return json_node_init_boolean (json_node_alloc (),
                                   g_str_equal (json_node_get_string (node), "true"));
  g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS, "%s must be true or false", field->name);
  return NULL;
}

static JsonNode *
normalise (const CwIntegrationField *field, JsonNode *node, GError **error)
{
  switch (field->type)
    {
      case CW_FIELD_STRING:
      case CW_FIELD_ENUM:
        return normalise_string (field, node, error);
      case CW_FIELD_INT:
        return normalise_int (field, node, error);
      case CW_FIELD_BOOL:
        return normalise_bool (field, node, error);
      case CW_FIELD_STRV:
      default:
        return normalise_strv (field, node, error);
    }
}

JsonObject *
cw_integrations_config_merge (const CwIntegrationPlatform *platform, JsonObject *base,
                              JsonObject *input, GError **error)
{
  g_autoptr (JsonObject) out = json_object_new ();

  for (const CwIntegrationField *f = platform->fields; f->name != NULL; f++)
    {
      JsonNode *given = input != NULL ? json_object_get_member (input, f->name) : NULL;
      JsonNode *stored = base != NULL ? json_object_get_member (base, f->name) : NULL;
      JsonNode *value;

      if (given == NULL || JSON_NODE_HOLDS_NULL (given)
          || (f->secret && is_string (given)
              && g_str_equal (json_node_get_string (given), CW_INTEGRATIONS_SECRET_MASK)))
        {
          if (stored != NULL && !JSON_NODE_HOLDS_NULL (stored))
            json_object_set_member (out, f->name, json_node_copy (stored));
          continue;
        }
      value = normalise (f, given, error);
      if (value == NULL)
        return NULL;
      /* An empty string clears a field (and deletes a stored secret). */
      if (is_string (value) && *json_node_get_string (value) == '\0' && !f->secret)
        {
          json_node_unref (value);
          continue;
        }
      json_object_set_member (out, f->name, value);
    }
  if (g_str_equal (platform->id, "whatsapp"))
    json_object_set_string_member (out, "senderPolicy", "allowlist");
  return g_steal_pointer (&out);
}

JsonObject *
cw_integrations_config_with_defaults (const CwIntegrationPlatform *platform, JsonObject *config)
{
  JsonObject *out = json_object_new ();

  for (const CwIntegrationField *f = platform->fields; f->name != NULL; f++)
    {
      JsonNode *value = config != NULL ? json_object_get_member (config, f->name) : NULL;
      if (value != NULL)
        json_object_set_member (out, f->name, json_node_copy (value));
      else if (f->fallback != NULL)
        {
          JsonNode *text = json_node_init_string (json_node_alloc (), f->fallback);
          JsonNode *typed = normalise (f, text, NULL);
          json_node_unref (text);
          if (typed != NULL)
            json_object_set_member (out, f->name, typed);
        }
    }
  return out;
}

gchar *
cw_integrations_config_missing (const CwIntegrationPlatform *platform, JsonObject *config)
{
  g_autoptr (GString) missing = g_string_new (NULL);

  for (const CwIntegrationField *f = platform->fields; f->name != NULL; f++)
    {
      JsonNode *value = config != NULL ? json_object_get_member (config, f->name) : NULL;
      if (!f->required)
        continue;
      if (value == NULL || (is_string (value) && *json_node_get_string (value) == '\0'))
        g_string_append_printf (missing, "%s%s", missing->len > 0 ? ", " : "", f->name);
    }
  return missing->len > 0 ? g_string_free (g_steal_pointer (&missing), FALSE) : NULL;
}
