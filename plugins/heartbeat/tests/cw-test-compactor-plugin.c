/* cw-test-compactor-plugin.c: stands in for an agent that can compact and prune a session,
 * so the heartbeat's session:compact and context:prune are seen arriving in a real daemon.
 * compact_session {sessionId} -> {compacted: true, sessionId, caller};
 * prune_context {sessionId} -> {pruned: true, sessionId, caller}. The session id
 * "sess_hang" is never answered (until the plugin stops): a call in flight at a crash.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <cowork.h>

G_DECLARE_FINAL_TYPE (CwTestCompactorPlugin, cw_test_compactor_plugin, CW, TEST_COMPACTOR_PLUGIN,
                      CwPlugin)

struct _CwTestCompactorPlugin
{
  CwPlugin parent_instance;
  GPtrArray *hanging; /* CwInvocation */
};

G_DEFINE_FINAL_TYPE (CwTestCompactorPlugin, cw_test_compactor_plugin, CW_TYPE_PLUGIN)

static void
answer (CwInvocation *inv, gpointer user_data, const gchar *done)
{
  CwTestCompactorPlugin *self = user_data;
  g_autoptr (GError) error = NULL;
  const gchar *session = cw_invocation_get_string (inv, "sessionId", TRUE, &error);
  JsonObject *result;

  if (session == NULL)
    {
      cw_invocation_return_error (inv, g_steal_pointer (&error));
      return;
    }
  if (g_str_equal (session, "sess_hang"))
    {
      g_ptr_array_add (self->hanging, g_object_ref (inv));
      return;
    }
  result = json_object_new ();
  json_object_set_boolean_member (result, done, TRUE);
  json_object_set_string_member (result, "sessionId", session);
  json_object_set_string_member (result, "caller",
                                 cw_caller_get_actor (cw_invocation_get_caller (inv)));
  cw_invocation_return_object (inv, result);
}

static void
cmd_compact (CwInvocation *inv, gpointer user_data)
{
  answer (inv, user_data, "compacted");
}

static void
cmd_prune (CwInvocation *inv, gpointer user_data)
{
  answer (inv, user_data, "pruned");
}

static gboolean
compactor_load (CwPlugin *plugin, GError **error)
{
  return cw_plugin_add_command (plugin, "compact_session", cmd_compact, error)
         && cw_plugin_add_command (plugin, "prune_context", cmd_prune, error);
}

static void
compactor_stop (CwPlugin *plugin)
{
  CwTestCompactorPlugin *self = CW_TEST_COMPACTOR_PLUGIN (plugin);

  for (guint i = 0; i < self->hanging->len; i++)
    cw_invocation_return_error_literal (g_ptr_array_index (self->hanging, i), CW_ERROR_CANCELLED,
                                        "stopping");
  g_ptr_array_set_size (self->hanging, 0);
}

static void
cw_test_compactor_plugin_finalize (GObject *object)
{
  g_ptr_array_unref (CW_TEST_COMPACTOR_PLUGIN (object)->hanging);
  G_OBJECT_CLASS (cw_test_compactor_plugin_parent_class)->finalize (object);
}

static void
cw_test_compactor_plugin_class_init (CwTestCompactorPluginClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = cw_test_compactor_plugin_finalize;
  CW_PLUGIN_CLASS (klass)->load = compactor_load;
  CW_PLUGIN_CLASS (klass)->stop = compactor_stop;
}

static void
cw_test_compactor_plugin_init (CwTestCompactorPlugin *self)
{
  self->hanging = g_ptr_array_new_with_free_func (g_object_unref);
}

CW_PLUGIN_EXPORT (cw_test_compactor_plugin_get_type)
