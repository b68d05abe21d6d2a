/* cw-test-asker-plugin.c: a plugin that asks people through the SDK's pending interactions
 * and contributes a bootstrap member, in a real daemon. Commands: askertest_ask {kind,
 * sessionId?, expiresAt?} -> {id}; askertest_answers -> {answers: [{id, status, answer?}]}
 * (what its callback got since the start); askertest_hold never answers until its caller
 * goes away, then counts it: askertest_held -> {held, cancelled}. Member askertestStatus:
 * {answered, watching}.
 * With COWORK_TEST_ASKER_FAIL_START set its start fails, so the plugin is disabled.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <cowork.h>

G_DECLARE_FINAL_TYPE (CwTestAskerPlugin, cw_test_asker_plugin, CW, TEST_ASKER_PLUGIN, CwPlugin)

struct _CwTestAskerPlugin
{
  CwPlugin parent_instance;
  JsonArray *answers;
  gboolean watching;
  guint held;      /* askertest_hold calls waiting */
  guint cancelled; /* ... that ended because their caller went away */
};

G_DEFINE_FINAL_TYPE (CwTestAskerPlugin, cw_test_asker_plugin, CW_TYPE_PLUGIN)

static const gchar *const kinds[] = { "permission", "question", "approval" };

static void
on_resolved (CwInteraction *interaction, gpointer user_data)
{
  CwTestAskerPlugin *self = user_data;
  JsonObject *entry = cw_interaction_to_json (interaction);

  json_object_remove_member (entry, "payload");
  json_array_add_object_element (self->answers, entry);
}

static void
cmd_ask (CwInvocation *invocation, gpointer user_data)
{
  CwPlugin *plugin = user_data;
  g_autoptr (GError) error = NULL;
  const gchar *kind = cw_invocation_get_string (invocation, "kind", TRUE, &error);
  const gchar *session
      = kind != NULL ? cw_invocation_get_string (invocation, "sessionId", FALSE, &error) : NULL;
  gint64 expires_at = 0;
  g_autoptr (JsonObject) payload = json_object_new ();
  CwInteraction *interaction;
  JsonObject *result;
  guint k;

  if (error == NULL)
    cw_invocation_get_int (invocation, "expiresAt", 0, &expires_at, &error);
  if (error != NULL)
    {
      cw_invocation_return_error (invocation, g_steal_pointer (&error));
      return;
    }
  for (k = 0; k < G_N_ELEMENTS (kinds) && g_strcmp0 (kinds[k], kind) != 0; k++)
    ;
  json_object_set_string_member (payload, "question", "May I?");
  interaction = cw_plugin_add_interaction (plugin, (CwInteractionKind) k, session, payload, NULL,
                                           expires_at, &error);
  if (interaction == NULL)
    {
      cw_invocation_return_error (invocation, g_steal_pointer (&error));
      return;
    }
  result = json_object_new ();
  json_object_set_string_member (result, "id", cw_interaction_get_id (interaction));
  cw_invocation_return_object (invocation, result);
}

static void
cmd_answers (CwInvocation *invocation, gpointer user_data)
{
  CwTestAskerPlugin *self = user_data;
  JsonObject *result = json_object_new ();

  json_object_set_array_member (result, "answers", json_array_ref (self->answers));
  cw_invocation_return_object (invocation, result);
}

static void
on_hold_cancelled (GCancellable *cancellable, gpointer user_data)
{
  CwInvocation *invocation = user_data;
  CwTestAskerPlugin *self = g_object_get_data (G_OBJECT (invocation), "asker");

  self->held--;
  self->cancelled++;
  cw_invocation_return_new_error (invocation, CW_ERROR_CANCELLED, "the caller went away");
}

static void
cmd_hold (CwInvocation *invocation, gpointer user_data)
{
  CwTestAskerPlugin *self = user_data;

  self->held++;
  g_object_set_data (G_OBJECT (invocation), "asker", self);
  g_cancellable_connect (cw_invocation_get_cancellable (invocation), G_CALLBACK (on_hold_cancelled),
                         g_object_ref (invocation), g_object_unref);
}

static void
cmd_held (CwInvocation *invocation, gpointer user_data)
{
  CwTestAskerPlugin *self = user_data;
  JsonObject *result = json_object_new ();

  json_object_set_int_member (result, "held", self->held);
  json_object_set_int_member (result, "cancelled", self->cancelled);
  cw_invocation_return_object (invocation, result);
}

static void
append_status (GString *out, gpointer user_data)
{
  CwTestAskerPlugin *self = user_data;

  g_string_append_printf (out, "{\"answered\":%u,\"watching\":%s}",
                          json_array_get_length (self->answers), self->watching ? "true" : "false");
}

static gboolean
asker_load (CwPlugin *plugin, GError **error)
{
  return cw_plugin_add_command (plugin, "askertest_ask", cmd_ask, error)
         && cw_plugin_add_command (plugin, "askertest_answers", cmd_answers, error)
         && cw_plugin_add_command (plugin, "askertest_hold", cmd_hold, error)
         && cw_plugin_add_command (plugin, "askertest_held", cmd_held, error)
         && cw_plugin_add_bootstrap_member (plugin, "askertestStatus", append_status, plugin,
                                            error);
}

static gboolean
asker_start (CwPlugin *plugin, GError **error)
{
  CwTestAskerPlugin *self = (CwTestAskerPlugin *) plugin;

  if (g_getenv ("COWORK_TEST_ASKER_FAIL_START") != NULL)
    {
      g_set_error_literal (error, CW_ERROR, CW_ERROR_FAILED, "asked to fail");
      return FALSE;
    }
  for (guint k = 0; k < G_N_ELEMENTS (kinds); k++)
    cw_plugin_watch_interactions (plugin, (CwInteractionKind) k, on_resolved, self);
  self->watching = TRUE;
  return TRUE;
}

static void
cw_test_asker_plugin_finalize (GObject *object)
{
  json_array_unref (((CwTestAskerPlugin *) object)->answers);
  G_OBJECT_CLASS (cw_test_asker_plugin_parent_class)->finalize (object);
}

static void
cw_test_asker_plugin_class_init (CwTestAskerPluginClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = cw_test_asker_plugin_finalize;
  CW_PLUGIN_CLASS (klass)->load = asker_load;
  CW_PLUGIN_CLASS (klass)->start = asker_start;
}

static void
cw_test_asker_plugin_init (CwTestAskerPlugin *self)
{
  self->answers = json_array_new ();
}

CW_PLUGIN_EXPORT (cw_test_asker_plugin_get_type)
