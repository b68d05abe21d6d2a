/* cw-agent-plugin.c: the agent plugin's life cycle: chat sessions with streamed LLM turns,
 * tools behind permissions, questions and a message queue, all kept in the core store so
 * that a restart (kill -9 included) picks up where things stood. The sessions themselves
 * belong to the registry (cw-agent-sessions.c).
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-agent-json.h"
#include "config.h"

#include "cw-agent-plugin.h"
#include "cw-agent-permissions.h"
#include "cw-agent-questions.h"
#include "cw-agent-schema.h"
#include "cw-agent-store.h"
#include "cw-agent-turn.h"
#include "tools/cw-tool-commands.h"
#include "tools/cw-tool-sandbox.h"

G_DEFINE_FINAL_TYPE (CwAgentPlugin, cw_agent_plugin, CW_TYPE_PLUGIN)

static void
cw_agent_plugin_finalize (GObject *object)
{
  CwAgentPlugin *self = CW_AGENT_PLUGIN (object);

  cw_agent_sessions_free (self->sessions);
  cw_agent_config_free (self->config);
  g_clear_pointer (&self->commands, cw_tool_commands_free);
  g_clear_object (&self->soup);
  G_OBJECT_CLASS (cw_agent_plugin_parent_class)->finalize (object);
}

/* ---- life cycle --------------------------------------------------------------------- */

static gboolean
cw_agent_plugin_load (CwPlugin *plugin, GError **error)
{
  CwAgentPlugin *self = CW_AGENT_PLUGIN (plugin);
  CwContext *context = cw_plugin_get_context (plugin);

  self->store = cw_context_get_store (context);
  cw_agent_sessions_set_store (self->sessions, self->store);
  if (!cw_agent_schema_migrate (self->store, error))
    return FALSE;
  if (!cw_agent_session_commands_register (self, error)
      || !cw_agent_config_commands_register (self, error)
      || !cw_agent_turn_commands_register (self, error)
      || !cw_agent_queue_commands_register (self, error)
      || !cw_agent_capability_commands_register (self, error)
      || !cw_agent_tool_commands_register (self, error))
    return FALSE;
  cw_tool_reserve_names (plugin);
  cw_plugin_add_bootstrap_sessions (plugin, cw_agent_sessions_contribute_bootstrap, self->sessions);
  return TRUE;
}

/* A turn that was in flight when the daemon died: if it waits for a person it is taken
 * over (answers continue it); otherwise it is marked interrupted, never left "running". */
static void
recover_session (CwAgentPlugin *self, CwAgentSession *session, const gchar *active_turn_id)
{
  JsonObject *item;
  g_autoptr (JsonObject) stored = NULL;

  if (session->pending_permissions->len > 0 || session->pending_questions->len > 0)
    {
      cw_agent_turn_resume (self, session, active_turn_id != NULL ? active_turn_id : "msg_restored",
                            cw_agent_queue_turn_ended, self);
      cw_agent_sessions_commit (self->sessions, session, CW_AGENT_CHANGE_RUNTIME, NULL);
      return;
    }
  if (active_turn_id == NULL)
    return;
  session->interrupted = TRUE;
  cw_agent_session_set_last_error (session,
                                   "The turn was interrupted: the daemon stopped "
                                   "before it finished",
                                   "INTERRUPTED");
  item = json_object_new ();
  json_object_set_string_member (item, "kind", "error");
  json_object_set_string_member (item, "turnId", active_turn_id);
  json_object_set_string_member (item, "message",
                                 json_object_get_string_member (session->last_error, "message"));
  json_object_set_string_member (item, "code", "INTERRUPTED");
  json_object_set_boolean_member (item, "recoverable", TRUE);
  stored = cw_agent_sessions_append_item (self->sessions, session, item);
  cw_agent_sessions_commit (self->sessions, session, CW_AGENT_CHANGE_RUNTIME, NULL);
}

/* Rows stored before schema 3 have no SessionRuntimeState text: read them once now and
 * store it, so that the next start needs only their index rows. */
static void
upgrade_index_rows (CwAgentPlugin *self, GPtrArray *sessions)
{
  g_autoptr (GPtrArray) old = g_ptr_array_new ();

  for (guint i = 0; i < sessions->len; i++)
    {
      CwAgentSession *s = g_ptr_array_index (sessions, i);
      if (!s->loaded && s->runtime_json == NULL)
        g_ptr_array_add (old, cw_agent_sessions_lookup (self->sessions, s->id));
    }
  if (old->len == 0)
    return;
  cw_agent_sessions_begin (self->sessions);
  for (guint i = 0; i < old->len; i++)
    cw_agent_sessions_commit (self->sessions, g_ptr_array_index (old, i), CW_AGENT_CHANGE_RUNTIME,
                              NULL);
  cw_agent_sessions_end (self->sessions);
}

static gboolean
cw_agent_plugin_start (CwPlugin *plugin, GError **error)
{
  CwAgentPlugin *self = CW_AGENT_PLUGIN (plugin);
  g_autoptr (GPtrArray) sessions = NULL;
  g_autoptr (GHashTable) turns = NULL;
  g_autoptr (GError) import_error = NULL;

  if (!cw_agent_config_load (self->config, self->store, error))
    return FALSE;
  self->commands = cw_tool_commands_new (
      self->store,
      cw_config_get_app_data_dir (cw_context_get_config (cw_plugin_get_context (plugin))));
  cw_tool_commands_end_leftovers (self->commands);
  if (!cw_agent_import_legacy (self, &import_error))
    g_warning ("importing the desktop app's sessions failed: %s", import_error->message);
  /* Index rows only: a session is read whole when something uses it (lookup), here those
   * with a turn to take over or messages to run. */
  sessions = cw_agent_store_load_index (self->store, error);
  turns = sessions != NULL ? cw_agent_store_list_active_turns (self->store, error) : NULL;
  if (turns == NULL)
    return FALSE;
  for (guint i = 0; i < sessions->len; i++)
    cw_agent_sessions_add (self->sessions, g_ptr_array_index (sessions, i));
  upgrade_index_rows (self, sessions);
  /* Sessions with a pending permission or question are read by these. */
  cw_permission_restore (self);
  cw_question_restore (self);
  for (guint i = 0; i < sessions->len; i++)
    {
      CwAgentSession *s = g_ptr_array_index (sessions, i);
      const gchar *turn = g_hash_table_lookup (turns, s->id);
      if (turn != NULL || s->pending_permissions->len > 0 || s->pending_questions->len > 0)
        recover_session (self, cw_agent_sessions_lookup (self->sessions, s->id), turn);
    }
  /* Unlike the original, queued messages go on by themselves after a restart. */
  for (guint i = 0; i < sessions->len; i++)
    {
      CwAgentSession *s = g_ptr_array_index (sessions, i);
      if (s->queue->len > 0)
        cw_agent_plugin_run_queue (self, cw_agent_sessions_lookup (self->sessions, s->id));
    }
  g_debug ("agent plugin started with %u sessions", sessions->len);
  return TRUE;
}

static void
cw_agent_plugin_stop (CwPlugin *plugin)
{
  CwAgentPlugin *self = CW_AGENT_PLUGIN (plugin);
  GHashTableIter iter;
  gpointer value;

  self->stopping = TRUE;
  g_hash_table_iter_init (&iter, self->sessions->by_id);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      CwAgentSession *s = value;
      if (s->turn != NULL)
        cw_agent_turn_abandon (s->turn);
    }
  soup_session_abort (self->soup);
}

static JsonObject *
cw_agent_plugin_get_health (CwPlugin *plugin)
{
  CwAgentPlugin *self = CW_AGENT_PLUGIN (plugin);
  JsonObject *obj = json_object_new ();
  GHashTableIter iter;
  gpointer value;
  gint64 running = 0;

  g_hash_table_iter_init (&iter, self->sessions->by_id);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    running += CW_AGENT_SESSION (value)->turn != NULL;
  json_object_set_int_member (obj, "sessions", cw_agent_sessions_count (self->sessions));
  json_object_set_int_member (obj, "activeTurns", running);
  json_object_set_string_member (obj, "activeProvider", self->config->active_provider);
  json_object_set_object_member (obj, "commandSandbox", cw_tool_sandbox_health ());
  return obj;
}

static void
cw_agent_plugin_class_init (CwAgentPluginClass *klass)
{
  CwPluginClass *plugin_class = CW_PLUGIN_CLASS (klass);

  G_OBJECT_CLASS (klass)->finalize = cw_agent_plugin_finalize;
  plugin_class->load = cw_agent_plugin_load;
  plugin_class->start = cw_agent_plugin_start;
  plugin_class->stop = cw_agent_plugin_stop;
  plugin_class->get_health = cw_agent_plugin_get_health;
}

static void
cw_agent_plugin_init (CwAgentPlugin *self)
{
  self->config = cw_agent_config_new ();
  self->sessions = cw_agent_sessions_new (CW_PLUGIN (self), self->config);
  /* Every session's turn streams over its own connection for as long as the answer takes:
   * libsoup's default of 2 connections a host would queue the third chat, cron job or
   * workflow behind the first two (a provider's 429 is retried, cw-provider-retry.c). */
  self->soup = soup_session_new_with_options ("user-agent", "coworkd-agent/" PACKAGE_VERSION,
                                              "timeout", 0, "idle-timeout", 60, "max-conns", 64,
                                              "max-conns-per-host", 32, NULL);
}

CW_PLUGIN_EXPORT (cw_agent_plugin_get_type)
