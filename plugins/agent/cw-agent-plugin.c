/* cw-agent-plugin.c: the agent plugin: chat sessions with streamed LLM turns, tools behind
 * permissions, questions and a message queue, all kept in the core store so that a
 * restart (kill -9 included) picks up where things stood.
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

  g_hash_table_unref (self->sessions);
  cw_agent_config_free (self->config);
  g_clear_pointer (&self->commands, cw_tool_commands_free);
  g_clear_object (&self->soup);
  G_OBJECT_CLASS (cw_agent_plugin_parent_class)->finalize (object);
}

/* ---- shared helpers ----------------------------------------------------------------- */

CwAgentSession *
cw_agent_plugin_lookup_session (CwAgentPlugin *self, const gchar *session_id)
{
  if (session_id == NULL)
    return NULL;
  return g_hash_table_lookup (self->sessions, session_id);
}

CwAgentSession *
cw_agent_plugin_session_from_invocation (CwAgentPlugin *self, CwInvocation *invocation)
{
  g_autoptr (GError) error = NULL;
  const gchar *id = cw_invocation_get_string (invocation, "sessionId", TRUE, &error);
  CwAgentSession *session;

  if (id == NULL)
    {
      cw_invocation_return_error (invocation, g_steal_pointer (&error));
      return NULL;
    }
  session = cw_agent_plugin_lookup_session (self, id);
  if (session == NULL)
    cw_invocation_return_new_error (invocation, CW_ERROR_NOT_FOUND, "Session not found: %s", id);
  return session;
}

static gint
compare_sessions (gconstpointer a, gconstpointer b)
{
  CwAgentSession *sa = *(CwAgentSession *const *) a;
  CwAgentSession *sb = *(CwAgentSession *const *) b;

  if (sa->updated_at != sb->updated_at)
    return sa->updated_at > sb->updated_at ? -1 : 1;
  if (sa->last_accessed_at != sb->last_accessed_at)
    return sa->last_accessed_at > sb->last_accessed_at ? -1 : 1;
  return g_strcmp0 (sa->id, sb->id);
}

GPtrArray *
cw_agent_plugin_sorted_sessions (CwAgentPlugin *self)
{
  GPtrArray *arr = g_ptr_array_new_full (g_hash_table_size (self->sessions), g_object_unref);
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, self->sessions);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    g_ptr_array_add (arr, g_object_ref (value));
  g_ptr_array_sort (arr, compare_sessions);
  return arr;
}

void
cw_agent_plugin_save_session (CwAgentPlugin *self, CwAgentSession *session)
{
  g_autoptr (GError) error = NULL;

  cw_agent_session_invalidate (session);
  if (session->deleted)
    return;
  if (!cw_agent_store_save_session (self->store, session, &error))
    g_warning ("failed to save session %s: %s", session->id, error->message);
}

void
cw_agent_plugin_save_runtime (CwAgentPlugin *self, CwAgentSession *session)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) snap = NULL;

  cw_agent_session_invalidate (session);
  if (session->deleted)
    return;
  snap = cw_agent_session_runtime_snapshot (
      session, session->turn != NULL ? cw_agent_turn_get_id (session->turn) : NULL);
  if (!cw_agent_store_save_runtime (self->store, session->id, snap, &error))
    g_warning ("failed to save runtime of session %s: %s", session->id, error->message);
}

void
cw_agent_plugin_save_queue (CwAgentPlugin *self, CwAgentSession *session)
{
  g_autoptr (GError) error = NULL;

  cw_agent_session_invalidate (session);
  if (session->deleted)
    return;
  if (!cw_agent_store_save_queue (self->store, session, &error))
    g_warning ("failed to save queue of session %s: %s", session->id, error->message);
}

gint64
cw_agent_plugin_emit (CwAgentPlugin *self, const gchar *type, const gchar *session_id,
                      JsonObject *data)
{
  return cw_plugin_emit (CW_PLUGIN (self), type, session_id, data);
}

void
cw_agent_plugin_emit_session_updated (CwAgentPlugin *self, CwAgentSession *session)
{
  JsonObject *data;

  if (session->deleted)
    return;
  data = json_object_new ();
  json_object_set_object_member (data, "session", cw_agent_session_get_info (session));
  if (session->title != NULL)
    json_object_set_string_member (data, "title", session->title);
  json_object_set_int_member (data, "messageCount", session->message_count);
  cw_agent_plugin_emit (self, "session:updated", NULL, data);
}

void
cw_agent_plugin_emit_context (CwAgentPlugin *self, CwAgentSession *session)
{
  gint64 total = cw_agent_session_context_window (session, self->config->catalog);
  gint64 used = session->context_used;
  gdouble percent = total > 0 ? 100.0 * (gdouble) used / (gdouble) total : 0.0;
  JsonObject *data = json_object_new ();

  json_object_set_int_member (data, "used", used);
  json_object_set_int_member (data, "total", total);
  cw_agent_plugin_emit (self, "context:update", session->id, data);
  data = json_object_new ();
  json_object_set_int_member (data, "usedTokens", used);
  json_object_set_int_member (data, "maxTokens", total);
  json_object_set_double_member (data, "percentUsed", percent);
  cw_agent_plugin_emit (self, "context:usage", session->id, data);
}

void
cw_agent_plugin_emit_tasks (CwAgentPlugin *self, CwAgentSession *session)
{
  JsonObject *data = json_object_new ();

  json_object_set_array_member (data, "tasks", json_array_ref (session->tasks));
  cw_agent_plugin_emit (self, "task:set", session->id, data);
}

void
cw_agent_plugin_emit_health (CwAgentPlugin *self, CwAgentSession *session)
{
  CwRunHealth *h = &session->health;
  JsonObject *data = json_object_new ();
  JsonObject *counters = json_object_new ();
  gdouble starts = (gdouble) h->stream_starts;
  gdouble failures = (gdouble) (h->run_stalled + h->errors + h->tool_errors);
  gdouble done_rate = starts > 0 ? MIN (1.0, h->stream_done / starts) : 1.0;
  gdouble fail_rate = starts > 0 ? failures / starts : 0.0;
  gdouble recovery = failures > 0 ? (h->run_recovered + h->fallback_applied) / failures : 1.0;
  gdouble score = CLAMP (done_rate - 0.65 * fail_rate + 0.15 * recovery, 0.0, 1.0);

  h->last_updated_at = cw_now_ms ();
  json_object_set_int_member (counters, "streamStarts", h->stream_starts);
  json_object_set_int_member (counters, "streamDone", h->stream_done);
  json_object_set_int_member (counters, "checkpoints", h->checkpoints);
  json_object_set_int_member (counters, "runRecovered", h->run_recovered);
  json_object_set_int_member (counters, "runStalled", h->run_stalled);
  json_object_set_int_member (counters, "fallbackApplied", h->fallback_applied);
  json_object_set_int_member (counters, "errors", h->errors);
  json_object_set_int_member (counters, "toolErrors", h->tool_errors);
  json_object_set_int_member (counters, "lastUpdatedAt", h->last_updated_at);
  json_object_set_object_member (data, "counters", counters);
  json_object_set_double_member (data, "reliabilityScore", score);
  json_object_set_string_member (data, "health",
                                 score >= 0.9    ? "healthy"
                                 : score >= 0.75 ? "degraded"
                                                 : "unhealthy");
  json_object_set_int_member (data, "timestamp", h->last_updated_at);
  cw_agent_plugin_emit (self, "run:health", session->id, data);
}

gchar *
cw_agent_make_item_id (void)
{
  static const gchar digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
  gchar tail[10];

  for (guint i = 0; i < 9; i++)
    tail[i] = digits[g_random_int_range (0, 36)];
  tail[9] = '\0';
  return g_strdup_printf ("ci-%" G_GINT64_FORMAT "-%s", cw_now_ms (), tail);
}

static gboolean
counts_as_message (const gchar *kind)
{
  return g_strcmp0 (kind, "user_message") == 0 || g_strcmp0 (kind, "assistant_message") == 0;
}

JsonObject *
cw_agent_plugin_append_item (CwAgentPlugin *self, CwAgentSession *session, JsonObject *item)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *id = cw_agent_make_item_id ();
  const gchar *kind = json_object_get_string_member_with_default (item, "kind", "");
  JsonObject *data;

  json_object_set_string_member (item, "id", id);
  json_object_set_int_member (item, "timestamp", cw_now_ms ());
  json_object_set_int_member (item, "sequence", session->next_sequence++);
  if (counts_as_message (kind))
    session->message_count++;
  if (!session->deleted)
    {
      if (!cw_agent_store_insert_item (self->store, session->id, item, &error))
        g_warning ("failed to store chat item of session %s: %s", session->id, error->message);
      cw_agent_plugin_save_session (self, session);
    }
  data = json_object_new ();
  json_object_set_object_member (data, "item", json_object_ref (item));
  cw_agent_plugin_emit (self, "chat:item", session->id, data);
  return item;
}

void
cw_agent_plugin_update_item (CwAgentPlugin *self, CwAgentSession *session, const gchar *item_id,
                             JsonObject *updates, gboolean persist)
{
  g_autoptr (GError) error = NULL;
  JsonObject *data = json_object_new ();

  if (persist && !session->deleted)
    {
      g_autoptr (JsonObject) merged
          = cw_agent_store_patch_item (self->store, session->id, item_id, updates, &error);
      if (error != NULL)
        g_warning ("failed to update chat item %s: %s", item_id, error->message);
    }
  json_object_set_string_member (data, "itemId", item_id);
  json_object_set_object_member (data, "updates", updates);
  cw_agent_plugin_emit (self, "chat:update", session->id, data);
}

/* ---- bootstrap ---------------------------------------------------------------------- */

static guint
contribute_bootstrap (GString *sessions, GString *runtime, gpointer user_data)
{
  CwAgentPlugin *self = user_data;
  g_autoptr (GPtrArray) sorted = NULL;

  if (sessions == NULL && runtime == NULL)
    return g_hash_table_size (self->sessions);
  sorted = cw_agent_plugin_sorted_sessions (self);
  for (guint i = 0; i < sorted->len; i++)
    {
      CwAgentSession *s = g_ptr_array_index (sorted, i);

      if (i > 0)
        {
          g_string_append_c (sessions, ',');
          g_string_append_c (runtime, ',');
        }
      cw_agent_session_append_info_json (s, sessions);
      cw_json_append_string (runtime, s->id);
      g_string_append_c (runtime, ':');
      cw_agent_session_append_runtime_json (s, runtime);
    }
  return sorted->len;
}

/* ---- life cycle --------------------------------------------------------------------- */

static gboolean
cw_agent_plugin_load (CwPlugin *plugin, GError **error)
{
  CwAgentPlugin *self = CW_AGENT_PLUGIN (plugin);
  CwContext *context = cw_plugin_get_context (plugin);

  self->store = cw_context_get_store (context);
  if (!cw_agent_schema_migrate (self->store, error))
    return FALSE;
  if (!cw_agent_session_commands_register (self, error)
      || !cw_agent_config_commands_register (self, error)
      || !cw_agent_turn_commands_register (self, error)
      || !cw_agent_queue_commands_register (self, error)
      || !cw_agent_capability_commands_register (self, error))
    return FALSE;
  cw_plugin_add_bootstrap_sessions (plugin, contribute_bootstrap, self);
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
      cw_agent_turn_resume (self, session,
                            active_turn_id != NULL ? active_turn_id : "msg_restored");
      cw_agent_plugin_save_runtime (self, session);
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
  stored = cw_agent_plugin_append_item (self, session, item);
  cw_agent_plugin_save_runtime (self, session);
}

static gchar *
stored_active_turn (CwAgentPlugin *self, CwAgentSession *session)
{
  sqlite3_stmt *stmt
      = cw_store_prepare (self->store,
                          "SELECT json_extract(snapshot, '$.activeTurnId') FROM agent_runtime"
                          " WHERE session_id = ?1",
                          NULL);
  gchar *turn = NULL;

  if (stmt == NULL)
    return NULL;
  sqlite3_bind_text (stmt, 1, session->id, -1, SQLITE_TRANSIENT);
  if (sqlite3_step (stmt) == SQLITE_ROW && sqlite3_column_type (stmt, 0) != SQLITE_NULL)
    turn = g_strdup ((const gchar *) sqlite3_column_text (stmt, 0));
  sqlite3_reset (stmt);
  return turn;
}

static gboolean
cw_agent_plugin_start (CwPlugin *plugin, GError **error)
{
  CwAgentPlugin *self = CW_AGENT_PLUGIN (plugin);
  g_autoptr (GPtrArray) sessions = NULL;
  g_autoptr (GError) import_error = NULL;

  if (!cw_agent_config_load (self->config, self->store, error))
    return FALSE;
  self->commands = cw_tool_commands_new (
      self->store,
      cw_config_get_app_data_dir (cw_context_get_config (cw_plugin_get_context (plugin))));
  cw_tool_commands_end_leftovers (self->commands);
  if (!cw_agent_import_legacy (self, &import_error))
    g_warning ("importing the desktop app's sessions failed: %s", import_error->message);
  sessions = cw_agent_store_load_sessions (self->store, error);
  if (sessions == NULL)
    return FALSE;
  for (guint i = 0; i < sessions->len; i++)
    {
      CwAgentSession *s = g_ptr_array_index (sessions, i);
      g_hash_table_insert (self->sessions, s->id, g_object_ref (s));
    }
  cw_permission_restore (self);
  cw_question_restore (self);
  for (guint i = 0; i < sessions->len; i++)
    {
      CwAgentSession *s = g_ptr_array_index (sessions, i);
      g_autofree gchar *turn = stored_active_turn (self, s);
      recover_session (self, s, turn);
    }
  /* Unlike the original, queued messages go on by themselves after a restart. */
  for (guint i = 0; i < sessions->len; i++)
    cw_agent_plugin_run_queue (self, g_ptr_array_index (sessions, i));
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
  g_hash_table_iter_init (&iter, self->sessions);
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

  g_hash_table_iter_init (&iter, self->sessions);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    running += CW_AGENT_SESSION (value)->turn != NULL;
  json_object_set_int_member (obj, "sessions", g_hash_table_size (self->sessions));
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
  self->sessions = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_object_unref);
  self->config = cw_agent_config_new ();
  self->soup = soup_session_new_with_options ("user-agent", "coworkd-agent/" PACKAGE_VERSION,
                                              "timeout", 0, "idle-timeout", 60, NULL);
}

CW_PLUGIN_EXPORT (cw_agent_plugin_get_type)
