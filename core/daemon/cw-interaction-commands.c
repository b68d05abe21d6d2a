/* cw-interaction-commands.c: pending interactions for every client: interaction_list,
 * interaction_respond and the pendingInteractions member of the bootstrap state. The
 * owners' own commands (the agent's respond_permission, ...) answer through the same
 * CwInteractions, so an answer from any of them resolves the interaction once.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-interaction-commands-private.h"

static CwInteractions *
interactions_of (gpointer context)
{
  return cw_context_get_interactions (CW_CONTEXT (context));
}

/* interaction_list {owner?, sessionId?, kind?} -> {interactions: Interaction[]} */
static void
cmd_interaction_list (CwInvocation *inv, gpointer context)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) list = NULL;
  const gchar *owner = cw_invocation_get_string (inv, "owner", FALSE, &error);
  const gchar *session
      = error == NULL ? cw_invocation_get_string (inv, "sessionId", FALSE, &error) : NULL;
  const gchar *kind_name
      = error == NULL ? cw_invocation_get_string (inv, "kind", FALSE, &error) : NULL;
  CwInteractionKind kind = CW_INTERACTION_PERMISSION;
  JsonArray *arr;
  JsonObject *result;

  if (error != NULL)
    {
      cw_invocation_return_error (inv, g_steal_pointer (&error));
      return;
    }
  if (kind_name != NULL && !cw_interaction_kind_from_string (kind_name, &kind))
    {
      cw_invocation_return_new_error (inv, CW_ERROR_INVALID_PARAMS,
                                      "kind must be permission, question or approval");
      return;
    }
  list = cw_interactions_list (interactions_of (context), owner, session);
  arr = json_array_new ();
  for (guint i = 0; i < list->len; i++)
    {
      CwInteraction *it = g_ptr_array_index (list, i);
      if (kind_name == NULL || cw_interaction_get_kind (it) == kind)
        json_array_add_object_element (arr, cw_interaction_to_json (it));
    }
  result = json_object_new ();
  json_object_set_array_member (result, "interactions", arr);
  cw_invocation_return_object (inv, result);
}

/* interaction_respond {id, answer} -> {interaction: Interaction (resolved)} */
static void
cmd_interaction_respond (CwInvocation *inv, gpointer context)
{
  g_autoptr (GError) error = NULL;
  CwInteractions *interactions = interactions_of (context);
  const gchar *id = cw_invocation_get_string (inv, "id", TRUE, &error);
  JsonNode *answer = json_object_get_member (cw_invocation_get_params (inv), "answer");
  g_autoptr (CwInteraction) it = NULL;
  JsonObject *result;

  if (id == NULL)
    {
      cw_invocation_return_error (inv, g_steal_pointer (&error));
      return;
    }
  if (answer == NULL)
    {
      cw_invocation_return_new_error (inv, CW_ERROR_INVALID_PARAMS, "answer is required");
      return;
    }
  it = cw_interactions_lookup (interactions, id);
  if (it != NULL)
    cw_interaction_ref (it);
  if (!cw_interactions_respond (interactions, id, answer,
                                cw_caller_get_actor (cw_invocation_get_caller (inv)), &error))
    {
      cw_invocation_return_error (inv, g_steal_pointer (&error));
      return;
    }
  result = json_object_new ();
  json_object_set_object_member (result, "interaction", cw_interaction_to_json (it));
  cw_invocation_return_object (inv, result);
}

static void
append_pending (GString *out, gpointer context)
{
  cw_interactions_append_json (interactions_of (context), out);
}

void
cw_interaction_commands_register (CwContext *context)
{
  CwCommandRegistry *registry = cw_context_get_registry (context);
  g_autoptr (GError) error = NULL;

  /* A paired phone or a chat relay answers too: both are remote-allowed. */
  if (!cw_command_registry_add (registry, "interaction_list", "core",
                                CW_COMMAND_FLAG_REMOTE | CW_COMMAND_FLAG_READ_ONLY,
                                cmd_interaction_list, context, NULL, &error)
      || !cw_command_registry_add (registry, "interaction_respond", "core", CW_COMMAND_FLAG_REMOTE,
                                   cmd_interaction_respond, context, NULL, &error)
      || !cw_context_add_bootstrap_member (context, "core", "pendingInteractions", append_pending,
                                           context, &error))
    g_critical ("%s", error->message);
}
