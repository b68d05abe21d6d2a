/* cw-interaction.c: one request for a person (permission, question, approval), its wire
 * form and the answers each kind accepts.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-interaction-private.h"

G_DEFINE_BOXED_TYPE (CwInteraction, cw_interaction, cw_interaction_ref, cw_interaction_unref)

static const gchar *const kind_names[] = { "permission", "question", "approval" };
static const gchar *const kind_prefixes[] = { "perm", "q", "appr" };
static const gchar *const state_names[] = { "pending", "answered", "expired" };

CwInteraction *
cw_interaction_new (const gchar *id, CwInteractionKind kind, const gchar *owner,
                    const gchar *session_id, JsonObject *payload, JsonObject *data,
                    gint64 created_at, gint64 expires_at)
{
  CwInteraction *self = g_new0 (CwInteraction, 1);

  self->ref_count = 1;
  self->id = g_strdup (id);
  self->kind = kind;
  self->owner = g_strdup (owner);
  self->session_id = g_strdup (session_id);
  self->payload = payload;
  self->data = data != NULL ? data : json_object_new ();
  json_object_seal (self->payload);
  json_object_seal (self->data);
  self->created_at = created_at;
  self->expires_at = expires_at;
  self->state = CW_INTERACTION_PENDING;
  return self;
}

CwInteraction *
cw_interaction_ref (CwInteraction *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_atomic_int_inc (&self->ref_count);
  return self;
}

void
cw_interaction_unref (CwInteraction *self)
{
  if (self == NULL || !g_atomic_int_dec_and_test (&self->ref_count))
    return;
  g_free (self->id);
  g_free (self->owner);
  g_free (self->session_id);
  json_object_unref (self->payload);
  json_object_unref (self->data);
  g_clear_pointer (&self->answer, json_node_unref);
  g_free (self->resolved_by);
  g_free (self);
}

const gchar *
cw_interaction_get_id (CwInteraction *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return self->id;
}

CwInteractionKind
cw_interaction_get_kind (CwInteraction *self)
{
  g_return_val_if_fail (self != NULL, CW_INTERACTION_PERMISSION);
  return self->kind;
}

const gchar *
cw_interaction_get_owner (CwInteraction *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return self->owner;
}

const gchar *
cw_interaction_get_session_id (CwInteraction *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return self->session_id;
}

JsonObject *
cw_interaction_get_payload (CwInteraction *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return self->payload;
}

JsonObject *
cw_interaction_get_data (CwInteraction *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return self->data;
}

gint64
cw_interaction_get_created_at (CwInteraction *self)
{
  g_return_val_if_fail (self != NULL, 0);
  return self->created_at;
}

gint64
cw_interaction_get_expires_at (CwInteraction *self)
{
  g_return_val_if_fail (self != NULL, 0);
  return self->expires_at;
}

CwInteractionState
cw_interaction_get_state (CwInteraction *self)
{
  g_return_val_if_fail (self != NULL, CW_INTERACTION_PENDING);
  return self->state;
}

JsonNode *
cw_interaction_get_answer (CwInteraction *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return self->answer;
}

const gchar *
cw_interaction_get_resolved_by (CwInteraction *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return self->resolved_by;
}

const gchar *
cw_interaction_kind_to_string (CwInteractionKind kind)
{
  g_return_val_if_fail ((guint) kind < G_N_ELEMENTS (kind_names), NULL);
  return kind_names[kind];
}

gboolean
cw_interaction_kind_from_string (const gchar *text, CwInteractionKind *kind)
{
  for (guint i = 0; i < G_N_ELEMENTS (kind_names); i++)
    if (g_strcmp0 (text, kind_names[i]) == 0)
      {
        *kind = (CwInteractionKind) i;
        return TRUE;
      }
  return FALSE;
}

const gchar *
cw_interaction_kind_id_prefix (CwInteractionKind kind)
{
  return kind_prefixes[kind];
}

const gchar *
cw_interaction_state_to_string (CwInteractionState state)
{
  return state_names[state];
}

gboolean
cw_interaction_state_from_string (const gchar *text, CwInteractionState *state)
{
  for (guint i = 0; i < G_N_ELEMENTS (state_names); i++)
    if (g_strcmp0 (text, state_names[i]) == 0)
      {
        *state = (CwInteractionState) i;
        return TRUE;
      }
  return FALSE;
}

JsonObject *
cw_interaction_to_json (CwInteraction *self)
{
  JsonObject *obj = json_object_new ();

  g_return_val_if_fail (self != NULL, NULL);
  json_object_set_string_member (obj, "id", self->id);
  json_object_set_string_member (obj, "kind", kind_names[self->kind]);
  json_object_set_string_member (obj, "owner", self->owner);
  if (self->session_id != NULL)
    json_object_set_string_member (obj, "sessionId", self->session_id);
  else
    json_object_set_null_member (obj, "sessionId");
  json_object_set_object_member (obj, "payload", json_object_ref (self->payload));
  json_object_set_int_member (obj, "createdAt", self->created_at);
  if (self->expires_at > 0)
    json_object_set_int_member (obj, "expiresAt", self->expires_at);
  else
    json_object_set_null_member (obj, "expiresAt");
  json_object_set_string_member (obj, "status", state_names[self->state]);
  if (self->answer != NULL)
    json_object_set_member (obj, "answer", json_node_copy (self->answer));
  if (self->resolved_by != NULL)
    {
      json_object_set_string_member (obj, "resolvedBy", self->resolved_by);
      json_object_set_int_member (obj, "resolvedAt", self->resolved_at);
    }
  return obj;
}

static gboolean
is_string (JsonNode *node)
{
  return node != NULL && JSON_NODE_HOLDS_VALUE (node)
         && json_node_get_value_type (node) == G_TYPE_STRING;
}

static gboolean
check_permission (JsonNode *answer, GError **error)
{
  static const gchar *const decisions[] = { "allow", "allow_once", "allow_session", "deny", NULL };

  if (is_string (answer) && g_strv_contains (decisions, json_node_get_string (answer)))
    return TRUE;
  g_set_error_literal (error, CW_ERROR, CW_ERROR_INVALID_PARAMS,
                       "the answer to a permission must be allow, allow_once, allow_session "
                       "or deny");
  return FALSE;
}

static gboolean
check_question (JsonNode *answer, GError **error)
{
  if (is_string (answer))
    return TRUE;
  if (answer != NULL && JSON_NODE_HOLDS_ARRAY (answer))
    {
      JsonArray *arr = json_node_get_array (answer);
      guint i;

      for (i = 0; i < json_array_get_length (arr); i++)
        if (!is_string (json_array_get_element (arr, i)))
          break;
      if (i == json_array_get_length (arr))
        return TRUE;
    }
  g_set_error_literal (error, CW_ERROR, CW_ERROR_INVALID_PARAMS,
                       "the answer to a question must be a string or an array of strings");
  return FALSE;
}

static gboolean
check_approval (JsonNode *answer, GError **error)
{
  if (answer != NULL && JSON_NODE_HOLDS_OBJECT (answer))
    {
      JsonObject *obj = json_node_get_object (answer);
      JsonNode *approved = json_object_get_member (obj, "approved");
      JsonNode *reason = json_object_get_member (obj, "reason");

      if (approved != NULL && JSON_NODE_HOLDS_VALUE (approved)
          && json_node_get_value_type (approved) == G_TYPE_BOOLEAN
          && (reason == NULL || is_string (reason)) && json_object_get_size (obj) <= 2
          && (json_object_get_size (obj) == 1 || reason != NULL))
        return TRUE;
    }
  g_set_error_literal (error, CW_ERROR, CW_ERROR_INVALID_PARAMS,
                       "the answer to an approval must be {\"approved\": true|false, "
                       "\"reason\"?: string}");
  return FALSE;
}

gboolean
cw_interaction_check_answer (CwInteractionKind kind, JsonNode *answer, GError **error)
{
  switch (kind)
    {
      case CW_INTERACTION_PERMISSION:
        return check_permission (answer, error);
      case CW_INTERACTION_QUESTION:
        return check_question (answer, error);
      case CW_INTERACTION_APPROVAL:
        return check_approval (answer, error);
      default:
        g_set_error_literal (error, CW_ERROR, CW_ERROR_INTERNAL, "unknown interaction kind");
        return FALSE;
    }
}
