/* cw-agent-sessions.c: the sessions registry (see cw-agent-sessions.h).
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-agent-json.h"
#include "cw-agent-sessions.h"
#include "cw-agent-store.h"
#include "cw-agent-turn.h"

CwAgentSessions *
cw_agent_sessions_new (CwPlugin *emitter, CwAgentConfig *config)
{
  CwAgentSessions *self = g_new0 (CwAgentSessions, 1);

  self->emitter = emitter;
  self->config = config;
  self->by_id = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_object_unref);
  return self;
}

void
cw_agent_sessions_free (CwAgentSessions *self)
{
  g_clear_pointer (&self->sorted, g_ptr_array_unref);
  g_hash_table_unref (self->by_id);
  g_free (self);
}

void
cw_agent_sessions_set_store (CwAgentSessions *self, CwStore *store)
{
  self->store = store;
}

void
cw_agent_sessions_add (CwAgentSessions *self, CwAgentSession *session)
{
  g_hash_table_insert (self->by_id, session->id, g_object_ref (session));
  g_clear_pointer (&self->sorted, g_ptr_array_unref);
}

void
cw_agent_sessions_remove (CwAgentSessions *self, CwAgentSession *session)
{
  g_clear_pointer (&self->sorted, g_ptr_array_unref);
  g_hash_table_remove (self->by_id, session->id);
}

guint
cw_agent_sessions_count (CwAgentSessions *self)
{
  return g_hash_table_size (self->by_id);
}

gboolean
cw_agent_sessions_load (CwAgentSessions *self, CwAgentSession *session, GError **error)
{
  if (session->loaded)
    return TRUE;
  if (!cw_agent_store_load_runtime (self->store, session, error))
    return FALSE;
  session->loaded = TRUE;
  return TRUE;
}

CwAgentSession *
cw_agent_sessions_lookup (CwAgentSessions *self, const gchar *session_id)
{
  g_autoptr (GError) error = NULL;
  CwAgentSession *session
      = session_id != NULL ? g_hash_table_lookup (self->by_id, session_id) : NULL;

  /* A session is read whole only once something uses it. One that cannot be read goes on
   * with what its index row has; the next use tries again. */
  if (session != NULL && !cw_agent_sessions_load (self, session, &error))
    g_warning ("failed to load session %s: %s", session_id, error->message);
  return session;
}

CwAgentSession *
cw_agent_sessions_from_invocation (CwAgentSessions *self, CwInvocation *invocation)
{
  g_autoptr (GError) error = NULL;
  const gchar *id = cw_invocation_get_string (invocation, "sessionId", TRUE, &error);
  CwAgentSession *session;

  if (id == NULL)
    {
      cw_invocation_return_error (invocation, g_steal_pointer (&error));
      return NULL;
    }
  session = cw_agent_sessions_lookup (self, id);
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

/* Sorted once and kept until a session is added, removed or its row changes: listing
 * thousands of sessions then costs no sort. */
GPtrArray *
cw_agent_sessions_sorted (CwAgentSessions *self)
{
  GHashTableIter iter;
  gpointer value;

  if (self->sorted == NULL)
    {
      self->sorted = g_ptr_array_new_full (g_hash_table_size (self->by_id), g_object_unref);
      g_hash_table_iter_init (&iter, self->by_id);
      while (g_hash_table_iter_next (&iter, NULL, &value))
        g_ptr_array_add (self->sorted, g_object_ref (value));
      g_ptr_array_sort (self->sorted, compare_sessions);
    }
  return g_ptr_array_ref (self->sorted);
}

/* ---- writing -------------------------------------------------------------------------- */

/* Savepoints nest, and one outside a transaction opens one. */
void
cw_agent_sessions_begin (CwAgentSessions *self)
{
  g_autoptr (GError) error = NULL;

  if (!cw_store_savepoint (self->store, "agent_change", &error))
    g_warning ("cannot start a transaction: %s", error->message);
  self->batch_depth++;
}

void
cw_agent_sessions_end (CwAgentSessions *self)
{
  g_autoptr (GError) error = NULL;

  g_return_if_fail (self->batch_depth > 0);
  self->batch_depth--;
  if (!cw_store_release (self->store, "agent_change", &error))
    g_warning ("cannot finish a transaction: %s", error->message);
}

static gboolean
write_changes (CwAgentSessions *self, CwAgentSession *session, CwAgentChange changes,
               GError **error)
{
  if ((changes & CW_AGENT_CHANGE_INFO)
      && !cw_agent_store_save_session (self->store, session, error))
    return FALSE;
  if (changes & CW_AGENT_CHANGE_RUNTIME)
    {
      g_autofree gchar *state = NULL;
      if (!cw_agent_store_save_runtime (
              self->store, session,
              session->turn != NULL ? cw_agent_turn_get_id (session->turn) : NULL, &state, error))
        return FALSE;
      /* What the bootstrap state shows of an idle session is what was stored. */
      if (session->turn == NULL)
        {
          cw_agent_session_set_runtime_text (session, g_steal_pointer (&state));
        }
    }
  if ((changes & CW_AGENT_CHANGE_QUEUE) && !cw_agent_store_save_queue (self->store, session, error))
    return FALSE;
  return TRUE;
}

/* All of @changes or none: a single statement is atomic, more go in a savepoint. */
static gboolean
write_atomically (CwAgentSessions *self, CwAgentSession *session, CwAgentChange writes,
                  GError **error)
{
  if ((writes & (writes - 1)) == 0)
    return write_changes (self, session, writes, error);
  if (!cw_store_savepoint (self->store, "agent_commit", error))
    return FALSE;
  if (!write_changes (self, session, writes, error)
      || !cw_store_release (self->store, "agent_commit", error))
    {
      cw_store_rollback_to (self->store, "agent_commit");
      return FALSE;
    }
  return TRUE;
}

static void
emit_session_updated (CwAgentSessions *self, CwAgentSession *session)
{
  JsonObject *data = json_object_new ();

  json_object_set_object_member (data, "session", cw_agent_session_to_info (session));
  if (session->title != NULL)
    json_object_set_string_member (data, "title", session->title);
  json_object_set_int_member (data, "messageCount", session->message_count);
  cw_agent_sessions_emit (self, "session:updated", NULL, data);
}

gboolean
cw_agent_sessions_commit (CwAgentSessions *self, CwAgentSession *session, CwAgentChange changes,
                          GError **error)
{
  g_autoptr (GError) local = NULL;
  CwAgentChange writes
      = changes & (CW_AGENT_CHANGE_INFO | CW_AGENT_CHANGE_RUNTIME | CW_AGENT_CHANGE_QUEUE);

  /* The cached SessionInfo / runtime text of the bootstrap state is rebuilt on next use, and
   * the order of the sessions too when their rows change. */
  if (writes != 0)
    cw_agent_session_invalidate (session);
  if (writes & CW_AGENT_CHANGE_INFO)
    g_clear_pointer (&self->sorted, g_ptr_array_unref);
  if (session->deleted)
    return TRUE;
  if (writes != 0 && !write_atomically (self, session, writes, &local))
    {
      g_prefix_error (&local, "failed to save session %s: ", session->id);
      if (error == NULL)
        g_warning ("%s", local->message);
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
  if (changes & CW_AGENT_CHANGE_ANNOUNCE)
    emit_session_updated (self, session);
  return TRUE;
}

gboolean
cw_agent_sessions_commit_or_undo (CwAgentSessions *self, CwAgentSession *session,
                                  CwAgentChange changes, CwAgentSessionUndo *undo, GError **error)
{
  if (cw_agent_sessions_commit (self, session, changes, error))
    return TRUE;
  cw_agent_session_undo_restore (session, undo);
  return FALSE;
}

/* ---- events --------------------------------------------------------------------------- */

gint64
cw_agent_sessions_emit (CwAgentSessions *self, const gchar *type, const gchar *session_id,
                        JsonObject *data)
{
  return cw_plugin_emit (self->emitter, type, session_id, data);
}

void
cw_agent_sessions_emit_context (CwAgentSessions *self, CwAgentSession *session)
{
  gint64 total = cw_agent_session_context_window (session, self->config->catalog);
  gint64 used = session->context_used;
  gdouble percent = total > 0 ? 100.0 * (gdouble) used / (gdouble) total : 0.0;
  JsonObject *data = json_object_new ();

  json_object_set_int_member (data, "used", used);
  json_object_set_int_member (data, "total", total);
  cw_agent_sessions_emit (self, "context:update", session->id, data);
  data = json_object_new ();
  json_object_set_int_member (data, "usedTokens", used);
  json_object_set_int_member (data, "maxTokens", total);
  json_object_set_double_member (data, "percentUsed", percent);
  cw_agent_sessions_emit (self, "context:usage", session->id, data);
}

void
cw_agent_sessions_emit_tasks (CwAgentSessions *self, CwAgentSession *session)
{
  JsonObject *data = json_object_new ();

  json_object_set_array_member (data, "tasks", json_array_ref (session->tasks));
  cw_agent_sessions_emit (self, "task:set", session->id, data);
}

void
cw_agent_sessions_emit_health (CwAgentSessions *self, CwAgentSession *session)
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
  cw_agent_sessions_emit (self, "run:health", session->id, data);
}

/* ---- chat items ----------------------------------------------------------------------- */

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
cw_agent_sessions_append_item (CwAgentSessions *self, CwAgentSession *session, JsonObject *item)
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
      /* The item and the session row (its sequence and message count) go in together. */
      cw_agent_sessions_begin (self);
      if (!cw_agent_store_insert_item (self->store, session->id, item, &error))
        g_warning ("failed to store chat item of session %s: %s", session->id, error->message);
      cw_agent_sessions_commit (self, session, CW_AGENT_CHANGE_INFO, NULL);
      cw_agent_sessions_end (self);
    }
  data = json_object_new ();
  json_object_set_object_member (data, "item", json_object_ref (item));
  cw_agent_sessions_emit (self, "chat:item", session->id, data);
  return item;
}

void
cw_agent_sessions_update_item (CwAgentSessions *self, CwAgentSession *session, const gchar *item_id,
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
  cw_agent_sessions_emit (self, "chat:update", session->id, data);
}

/* ---- bootstrap ------------------------------------------------------------------------ */

/* Grows @out once to take @more bytes (the text of thousands of sessions). */
static void
reserve (GString *out, gsize more)
{
  gsize len = out->len;

  if (out->allocated_len > len + more)
    return;
  g_string_set_size (out, len + more);
  g_string_truncate (out, len);
}

gsize
cw_agent_sessions_info_bytes (CwAgentSessions *self, GPtrArray *sorted)
{
  gsize total = sorted->len;

  for (guint i = 0; i < sorted->len; i++)
    {
      CwAgentSession *s = g_ptr_array_index (sorted, i);
      total += s->info_json != NULL ? s->info_len : 600;
    }
  return total;
}

guint
cw_agent_sessions_contribute_bootstrap (GString *sessions, GString *runtime, gpointer user_data)
{
  CwAgentSessions *self = user_data;
  g_autoptr (GPtrArray) sorted = NULL;

  if (sessions == NULL && runtime == NULL)
    return g_hash_table_size (self->by_id);
  sorted = cw_agent_sessions_sorted (self);
  reserve (sessions, cw_agent_sessions_info_bytes (self, sorted));
  reserve (runtime, sorted->len * 700);
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
      /* An index row shows its stored runtime text; only without one is it read whole. */
      if (s->runtime_json == NULL && !s->loaded)
        cw_agent_sessions_lookup (self, s->id);
      cw_agent_session_append_runtime_json (s, runtime);
    }
  return sorted->len;
}
