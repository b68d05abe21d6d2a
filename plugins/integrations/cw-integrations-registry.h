/* cw-integrations-registry.h: the platforms (contract §3.1, in its order, then irc and email),
 * their config schemas and what each can do.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cw-integration-adapter.h"

G_BEGIN_DECLS

typedef enum
{
  CW_FIELD_STRING,
  CW_FIELD_INT,
  CW_FIELD_BOOL,
  CW_FIELD_STRV,
  CW_FIELD_ENUM,
} CwFieldType;

typedef struct
{
  const gchar *name;
  CwFieldType type;
  gboolean secret;       /* kept in CwSecrets only; masked by integration_get_config */
  gboolean required;     /* checked at connect */
  const gchar *fallback; /* default as text ("993", "true", "INBOX"), or NULL */
  gint64 min, max;       /* ints are clamped into [min, max] when max > min */
  const gchar *choices;  /* enums: "none|starttls|tls" */
} CwIntegrationField;

typedef enum
{
  CW_ALLOW_NONE,          /* no allowlist in the core (the adapter filters) */
  CW_ALLOW_SENDER_STRICT, /* sender matched; an empty list denies everyone */
  CW_ALLOW_SENDER_OPEN,   /* sender matched; an empty list allows everyone */
  CW_ALLOW_CHAT_OPEN,     /* chat id matched; an empty list allows everyone */
} CwAllowMode;

typedef struct
{
  const gchar *id;
  const gchar *display_name;
  GType (*get_type) (void);         /* NULL: the adapter is not part of this build */
  const CwIntegrationField *fields; /* ends with a NULL name */
  guint max_length;                 /* contract §3.7 */
  CwAllowMode allow_mode;
  const gchar *allow_field;
  gboolean quiet_queue; /* no "Message received..." notice (a mail per queued mail is noise) */
} CwIntegrationPlatform;

#define CW_INTEGRATIONS_DEFAULT_DENIAL                                                             \
  "This Cowork bot is private. You are not authorized to chat with it."
#define CW_INTEGRATIONS_SECRET_MASK "********"

/* Every platform, in order; ends with a NULL id. */
const CwIntegrationPlatform *cw_integrations_platforms (void);
const CwIntegrationPlatform *cw_integrations_platform_lookup (const gchar *id);
/* "Invalid platform: x. Must be one of: whatsapp, slack, ..." when @id is unknown. */
const CwIntegrationPlatform *cw_integrations_platform_get (const gchar *id, GError **error);
const CwIntegrationField *cw_integrations_platform_field (const CwIntegrationPlatform *platform,
                                                          const gchar *name);

/* Normalises @input over @base (either may be NULL) into a new object: known fields only,
 * strings trimmed, lists cleaned, ints clamped, URLs without a trailing '/'. A null or absent
 * field keeps @base's value; a masked secret keeps it too. Refuses wrong types. */
JsonObject *cw_integrations_config_merge (const CwIntegrationPlatform *platform, JsonObject *base,
                                          JsonObject *input, GError **error);
/* The defaults filled in, for the adapter. */
JsonObject *cw_integrations_config_with_defaults (const CwIntegrationPlatform *platform,
                                                  JsonObject *config);
/* Names of the required fields that are missing, or NULL when none is. */
gchar *cw_integrations_config_missing (const CwIntegrationPlatform *platform, JsonObject *config);

G_END_DECLS
