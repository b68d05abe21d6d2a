/* cw-interaction-private.h: the fields of one pending interaction, shared by the value type
 * (cw-interaction.c) and the service that stores and resolves them (cw-interactions.c).
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cowork-host.h"

G_BEGIN_DECLS

struct _CwInteraction
{
  gint ref_count;
  gchar *id;
  CwInteractionKind kind;
  gchar *owner;
  gchar *session_id;
  JsonObject *payload; /* sealed */
  JsonObject *data;    /* sealed */
  gint64 created_at;
  gint64 expires_at; /* 0 = never */
  CwInteractionState state;
  JsonNode *answer; /* NULL while pending and when expired */
  gchar *resolved_by;
  gint64 resolved_at;
};

/* Takes @payload and @data (both sealed here; @data NULL = {}). */
CwInteraction *cw_interaction_new (const gchar *id, CwInteractionKind kind, const gchar *owner,
                                   const gchar *session_id, JsonObject *payload, JsonObject *data,
                                   gint64 created_at, gint64 expires_at);
/* "perm", "q" or "appr". */
const gchar *cw_interaction_kind_id_prefix (CwInteractionKind kind);
/* Is @answer one the kind accepts? A clear error otherwise. */
gboolean cw_interaction_check_answer (CwInteractionKind kind, JsonNode *answer, GError **error);
const gchar *cw_interaction_state_to_string (CwInteractionState state);
gboolean cw_interaction_state_from_string (const gchar *text, CwInteractionState *state);

G_END_DECLS
