/* cw-agent-session.c: a session's data and the runtime state built from it.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-agent-json.h"
#include "cw-agent-session.h"
#include "cw-agent-permissions.h"
#include "cw-agent-questions.h"
#include "cw-agent-turn.h"
#include "tools/cw-tool-fs.h"

#include <stdlib.h>

#define DEFAULT_CONTEXT_WINDOW 128000
#define GEMINI_CONTEXT_WINDOW  1048576

G_DEFINE_FINAL_TYPE (CwAgentSession, cw_agent_session, G_TYPE_OBJECT)

static GHashTable *
scopes_new (void)
{
  return g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                (GDestroyNotify) g_ptr_array_unref);
}

CwQueuedMessage *
cw_queued_message_new (const gchar *id, const gchar *content, JsonArray *attachments,
                       gint64 queued_at)
{
  CwQueuedMessage *msg = g_new0 (CwQueuedMessage, 1);

  msg->id = g_strdup (id);
  msg->content = g_strdup (content != NULL ? content : "");
  msg->attachments = attachments != NULL ? json_array_ref (attachments) : NULL;
  msg->queued_at = queued_at;
  return msg;
}

void
cw_queued_message_free (CwQueuedMessage *msg)
{
  if (msg == NULL)
    return;
  g_free (msg->id);
  g_free (msg->content);
  if (msg->attachments != NULL)
    json_array_unref (msg->attachments);
  g_free (msg);
}

JsonObject *
cw_queued_message_to_json (const CwQueuedMessage *msg)
{
  JsonObject *obj = json_object_new ();

  json_object_set_string_member (obj, "id", msg->id);
  json_object_set_string_member (obj, "content", msg->content);
  json_object_set_int_member (obj, "queuedAt", msg->queued_at);
  return obj;
}

static void
cw_agent_session_finalize (GObject *object)
{
  CwAgentSession *self = CW_AGENT_SESSION (object);

  g_free (self->id);
  g_free (self->type);
  g_free (self->provider);
  g_free (self->execution_mode);
  g_free (self->approval_mode);
  g_free (self->title);
  g_free (self->first_message);
  g_free (self->working_directory);
  g_free (self->model);
  g_ptr_array_unref (self->queue);
  g_ptr_array_unref (self->pending_permissions);
  g_ptr_array_unref (self->pending_questions);
  g_clear_pointer (&self->permission_cache, g_hash_table_unref);
  g_clear_pointer (&self->permission_scopes, g_hash_table_unref);
  g_clear_pointer (&self->last_error, json_object_unref);
  g_clear_pointer (&self->tasks, json_array_unref);
  g_ptr_array_unref (self->waiters);
  cw_agent_session_invalidate (self);
  g_free (self->last_run_status);
  G_OBJECT_CLASS (cw_agent_session_parent_class)->finalize (object);
}

static void
cw_agent_session_class_init (CwAgentSessionClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = cw_agent_session_finalize;
}

static void
cw_agent_session_init (CwAgentSession *self)
{
  self->queue = g_ptr_array_new_with_free_func ((GDestroyNotify) cw_queued_message_free);
  /* The session does not own the pending requests' lifetime logic, only the list. */
  self->pending_permissions
      = g_ptr_array_new_with_free_func ((GDestroyNotify) cw_pending_permission_unref);
  self->pending_questions
      = g_ptr_array_new_with_free_func ((GDestroyNotify) cw_pending_question_free);
  self->tasks = json_array_new ();
  self->waiters = g_ptr_array_new_with_free_func (g_object_unref);
}

CwAgentSession *
cw_agent_session_new (const gchar *id)
{
  CwAgentSession *self = g_object_new (CW_TYPE_AGENT_SESSION, NULL);

  self->id = g_strdup (id);
  /* A new session has all of its state; cw_agent_store_load_index makes index rows. */
  self->loaded = TRUE;
  return self;
}

static GHashTable *
scopes_copy (GHashTable *scopes)
{
  GHashTable *copy;
  GHashTableIter iter;
  gpointer key, value;

  if (scopes == NULL)
    return NULL;
  copy = scopes_new ();
  g_hash_table_iter_init (&iter, scopes);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      GPtrArray *paths = value;
      GPtrArray *dup = g_ptr_array_new_full (paths->len, g_free);
      for (guint i = 0; i < paths->len; i++)
        g_ptr_array_add (dup, g_strdup (g_ptr_array_index (paths, i)));
      g_hash_table_insert (copy, g_strdup (key), dup);
    }
  return copy;
}

void
cw_agent_session_undo_save (CwAgentSession *self, CwAgentSessionUndo *undo)
{
  cw_agent_session_undo_clear (undo);
  undo->saved = TRUE;
  undo->title = g_strdup (self->title);
  undo->working_directory = g_strdup (self->working_directory);
  undo->execution_mode = g_strdup (self->execution_mode);
  undo->approval_mode = g_strdup (self->approval_mode);
  undo->updated_at = self->updated_at;
  undo->last_accessed_at = self->last_accessed_at;
  undo->permission_scopes = scopes_copy (self->permission_scopes);
  undo->queue = g_ptr_array_new_full (self->queue->len, (GDestroyNotify) cw_queued_message_free);
  for (guint i = 0; i < self->queue->len; i++)
    {
      CwQueuedMessage *msg = g_ptr_array_index (self->queue, i);
      g_ptr_array_add (undo->queue, cw_queued_message_new (msg->id, msg->content, msg->attachments,
                                                           msg->queued_at));
    }
}

#define UNDO_STRING(field)                                                                         \
  G_STMT_START                                                                                     \
  {                                                                                                \
    g_free (self->field);                                                                          \
    self->field = g_steal_pointer (&undo->field);                                                  \
  }                                                                                                \
  G_STMT_END

void
cw_agent_session_undo_restore (CwAgentSession *self, CwAgentSessionUndo *undo)
{
  if (!undo->saved)
    return;
  UNDO_STRING (title);
  UNDO_STRING (working_directory);
  UNDO_STRING (execution_mode);
  UNDO_STRING (approval_mode);
  self->updated_at = undo->updated_at;
  self->last_accessed_at = undo->last_accessed_at;
  g_clear_pointer (&self->permission_scopes, g_hash_table_unref);
  self->permission_scopes = g_steal_pointer (&undo->permission_scopes);
  g_ptr_array_unref (self->queue);
  self->queue = g_steal_pointer (&undo->queue);
  cw_agent_session_invalidate (self);
  cw_agent_session_undo_clear (undo);
}

void
cw_agent_session_undo_clear (CwAgentSessionUndo *undo)
{
  g_free (undo->title);
  g_free (undo->working_directory);
  g_free (undo->execution_mode);
  g_free (undo->approval_mode);
  g_clear_pointer (&undo->permission_scopes, g_hash_table_unref);
  g_clear_pointer (&undo->queue, g_ptr_array_unref);
  memset (undo, 0, sizeof *undo);
}

static void
set_nullable_string (JsonObject *obj, const gchar *name, const gchar *value)
{
  if (value != NULL)
    json_object_set_string_member (obj, name, value);
  else
    json_object_set_null_member (obj, name);
}

JsonObject *
cw_agent_session_to_info (CwAgentSession *self)
{
  JsonObject *obj = json_object_new ();

  json_object_set_string_member (obj, "id", self->id);
  json_object_set_string_member (obj, "type", self->type);
  json_object_set_string_member (obj, "provider", self->provider);
  json_object_set_string_member (obj, "executionMode", self->execution_mode);
  set_nullable_string (obj, "title", self->title);
  set_nullable_string (obj, "firstMessage", self->first_message);
  json_object_set_string_member (obj, "workingDirectory", self->working_directory);
  json_object_set_string_member (obj, "model", self->model);
  json_object_set_int_member (obj, "createdAt", self->created_at);
  json_object_set_int_member (obj, "updatedAt", self->updated_at);
  json_object_set_int_member (obj, "lastAccessedAt", self->last_accessed_at);
  json_object_set_int_member (obj, "messageCount", self->message_count);
  return obj;
}

void
cw_agent_session_invalidate (CwAgentSession *self)
{
  g_clear_pointer (&self->info_json, g_free);
  g_clear_pointer (&self->runtime_json, g_free);
}

/* The text of @obj, allocated to its size (thousands of them stay in memory). */
static gchar *
object_text (JsonObject *obj)
{
  g_autoptr (GString) out = g_string_new (NULL);

  cw_json_append_object (out, obj);
  return g_strndup (out->str, out->len);
}

void
cw_agent_session_append_info_json (CwAgentSession *self, GString *out)
{
  if (self->info_json == NULL)
    {
      g_autoptr (JsonObject) info = cw_agent_session_to_info (self);
      self->info_json = object_text (info);
      self->info_len = strlen (self->info_json);
    }
  g_string_append_len (out, self->info_json, self->info_len);
}

void
cw_agent_session_set_runtime_text (CwAgentSession *self, gchar *text)
{
  g_free (self->runtime_json);
  self->runtime_json = text;
  self->runtime_len = text != NULL ? strlen (text) : 0;
}

gchar *
cw_agent_session_runtime_text (CwAgentSession *self)
{
  g_autoptr (JsonObject) runtime = cw_agent_session_to_runtime (self);

  return object_text (runtime);
}

void
cw_agent_session_append_runtime_json (CwAgentSession *self, GString *out)
{
  /* A running turn changes its state all the time: never cached. */
  if (self->turn != NULL)
    {
      g_autoptr (JsonObject) runtime = cw_agent_session_to_runtime (self);
      cw_agent_session_set_runtime_text (self, NULL);
      cw_json_append_object (out, runtime);
      return;
    }
  if (self->runtime_json == NULL)
    cw_agent_session_set_runtime_text (self, cw_agent_session_runtime_text (self));
  g_string_append_len (out, self->runtime_json, self->runtime_len);
}

gboolean
cw_agent_session_is_busy (CwAgentSession *self)
{
  return self->turn != NULL;
}

/* Contract §4.3, first match wins. There are no managed runs apart from turns, so "paused"
 * and "recovered" never come up. */
const gchar *
cw_agent_session_get_run_state (CwAgentSession *self)
{
  if (self->stop_requested && self->turn != NULL)
    return "stopping";
  if (self->pending_permissions->len > 0)
    return "waiting_permission";
  if (self->pending_questions->len > 0)
    return "waiting_question";
  if (self->turn != NULL && cw_agent_turn_is_retrying (self->turn))
    return "retrying";
  if (self->turn != NULL)
    return "running";
  if (self->queue->len > 0)
    return "queued";
  if (self->last_run_status != NULL)
    return self->last_run_status;
  if (self->last_error != NULL)
    return "errored";
  return "idle";
}

JsonArray *
cw_agent_session_queue_to_json (CwAgentSession *self)
{
  JsonArray *arr = json_array_new ();

  for (guint i = 0; i < self->queue->len; i++)
    json_array_add_object_element (arr,
                                   cw_queued_message_to_json (g_ptr_array_index (self->queue, i)));
  return arr;
}

CwQueuedMessage *
cw_agent_session_find_queued (CwAgentSession *self, const gchar *id, guint *index)
{
  for (guint i = 0; i < self->queue->len; i++)
    {
      CwQueuedMessage *msg = g_ptr_array_index (self->queue, i);
      if (g_strcmp0 (msg->id, id) == 0)
        {
          if (index != NULL)
            *index = i;
          return msg;
        }
    }
  return NULL;
}

static JsonObject *
scopes_to_json (CwAgentSession *self)
{
  JsonObject *obj = json_object_new ();
  GHashTableIter iter;
  gpointer key, value;

  if (self->permission_scopes == NULL)
    return obj;
  g_hash_table_iter_init (&iter, self->permission_scopes);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      GPtrArray *paths = value;
      JsonArray *arr = json_array_new ();
      for (guint i = 0; i < paths->len; i++)
        json_array_add_string_element (arr, g_ptr_array_index (paths, i));
      json_object_set_array_member (obj, key, arr);
    }
  return obj;
}

static JsonObject *
cache_to_json (CwAgentSession *self)
{
  JsonObject *obj = json_object_new ();
  GHashTableIter iter;
  gpointer key;

  if (self->permission_cache == NULL)
    return obj;
  g_hash_table_iter_init (&iter, self->permission_cache);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    json_object_set_string_member (obj, key, "allow_session");
  return obj;
}

JsonObject *
cw_agent_session_to_runtime (CwAgentSession *self)
{
  JsonObject *obj = json_object_new ();
  JsonArray *perms = json_array_new ();
  JsonArray *questions = json_array_new ();

  json_object_set_int_member (obj, "version", 1);
  json_object_set_string_member (obj, "runState", cw_agent_session_get_run_state (self));
  if (self->turn != NULL)
    cw_agent_turn_fill_runtime (self->turn, obj);
  else
    {
      json_object_set_boolean_member (obj, "isStreaming", FALSE);
      json_object_set_boolean_member (obj, "isThinking", FALSE);
      json_object_set_array_member (obj, "activeToolIds", json_array_new ());
      json_object_set_array_member (obj, "activeTools", json_array_new ());
    }
  for (guint i = 0; i < self->pending_permissions->len; i++)
    {
      CwPendingPermission *p = g_ptr_array_index (self->pending_permissions, i);
      json_array_add_object_element (perms, json_object_ref (p->request));
    }
  for (guint i = 0; i < self->pending_questions->len; i++)
    {
      CwPendingQuestion *q = g_ptr_array_index (self->pending_questions, i);
      json_array_add_object_element (questions, json_object_ref (q->request));
    }
  json_object_set_array_member (obj, "pendingPermissions", perms);
  json_object_set_array_member (obj, "pendingQuestions", questions);
  json_object_set_array_member (obj, "messageQueue", cw_agent_session_queue_to_json (self));
  json_object_set_object_member (obj, "permissionScopes", scopes_to_json (self));
  json_object_set_object_member (obj, "permissionCache", cache_to_json (self));
  if (self->last_error != NULL)
    json_object_set_object_member (obj, "lastError", json_object_ref (self->last_error));
  else
    json_object_set_null_member (obj, "lastError");
  /* Not in the original shape: tells a client that the daemon died during the last turn. */
  json_object_set_boolean_member (obj, "interrupted", self->interrupted);
  json_object_set_int_member (obj, "updatedAt", cw_now_ms ());
  return obj;
}

/* Grants are rare: their tables exist only once a session has one. Takes @key. */
static void
add_cached_grant (CwAgentSession *self, gchar *key)
{
  if (self->permission_cache == NULL)
    self->permission_cache = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_hash_table_add (self->permission_cache, key);
}

void
cw_agent_session_grant (CwAgentSession *self, const gchar *type, const gchar *resource,
                        gboolean resource_is_path)
{
  if (resource_is_path)
    {
      GPtrArray *paths;
      if (self->permission_scopes == NULL)
        self->permission_scopes = scopes_new ();
      paths = g_hash_table_lookup (self->permission_scopes, type);
      if (paths == NULL)
        {
          paths = g_ptr_array_new_with_free_func (g_free);
          g_hash_table_insert (self->permission_scopes, g_strdup (type), paths);
        }
      for (guint i = 0; i < paths->len; i++)
        if (g_strcmp0 (g_ptr_array_index (paths, i), resource) == 0)
          return;
      g_ptr_array_add (paths, g_strdup (resource));
      return;
    }
  add_cached_grant (self, g_strdup_printf ("%s:%s", type, resource));
}

gboolean
cw_agent_session_is_granted (CwAgentSession *self, const gchar *type, const gchar *resource,
                             gboolean resource_is_path)
{
  g_autofree gchar *key = g_strdup_printf ("%s:%s", type, resource);

  if (self->permission_cache != NULL && g_hash_table_contains (self->permission_cache, key))
    return TRUE;
  if (resource_is_path && self->permission_scopes != NULL)
    {
      GPtrArray *paths = g_hash_table_lookup (self->permission_scopes, type);
      for (guint i = 0; paths != NULL && i < paths->len; i++)
        if (cw_tool_fs_within (resource, g_ptr_array_index (paths, i)))
          return TRUE;
    }
  return FALSE;
}

void
cw_agent_session_set_last_error (CwAgentSession *self, const gchar *message, const gchar *code)
{
  g_clear_pointer (&self->last_error, json_object_unref);
  if (message == NULL)
    return;
  self->last_error = json_object_new ();
  json_object_set_string_member (self->last_error, "message", message);
  if (code != NULL)
    json_object_set_string_member (self->last_error, "code", code);
  json_object_set_int_member (self->last_error, "timestamp", cw_now_ms ());
}

JsonObject *
cw_agent_session_runtime_snapshot (CwAgentSession *self, const gchar *active_turn_id)
{
  JsonObject *obj = cw_agent_session_to_runtime (self);

  /* Only what a restart needs back; the rest is there for people reading the db. */
  if (active_turn_id != NULL)
    json_object_set_string_member (obj, "activeTurnId", active_turn_id);
  json_object_set_int_member (obj, "contextUsed", self->context_used);
  if (self->last_run_status != NULL)
    json_object_set_string_member (obj, "lastRunStatus", self->last_run_status);
  json_object_set_array_member (obj, "tasks", json_array_ref (self->tasks));
  return obj;
}

void
cw_agent_session_restore_snapshot (CwAgentSession *self, JsonObject *snap)
{
  JsonObject *scopes = cw_agent_json_object (snap, "permissionScopes");
  JsonObject *cache = cw_agent_json_object (snap, "permissionCache");
  JsonNode *err = json_object_get_member (snap, "lastError");
  JsonNode *tasks = json_object_get_member (snap, "tasks");

  if (scopes != NULL)
    {
      g_autoptr (GList) types = json_object_get_members (scopes);
      for (GList *l = types; l != NULL; l = l->next)
        {
          JsonArray *arr = cw_agent_json_array (scopes, l->data);
          for (guint i = 0; arr != NULL && i < json_array_get_length (arr); i++)
            cw_agent_session_grant (self, l->data, json_array_get_string_element (arr, i), TRUE);
        }
    }
  if (cache != NULL)
    {
      g_autoptr (GList) keys = json_object_get_members (cache);
      for (GList *l = keys; l != NULL; l = l->next)
        add_cached_grant (self, g_strdup (l->data));
    }
  g_clear_pointer (&self->last_error, json_object_unref);
  if (err != NULL && JSON_NODE_HOLDS_OBJECT (err))
    self->last_error = json_object_ref (json_node_get_object (err));
  self->context_used = json_object_get_int_member_with_default (snap, "contextUsed", 0);
  self->interrupted = json_object_get_boolean_member_with_default (snap, "interrupted", FALSE);
  g_free (self->last_run_status);
  self->last_run_status
      = g_strdup (json_object_get_string_member_with_default (snap, "lastRunStatus", NULL));
  if (tasks != NULL && JSON_NODE_HOLDS_ARRAY (tasks))
    {
      g_clear_pointer (&self->tasks, json_array_unref);
      self->tasks = json_array_ref (json_node_get_array (tasks));
    }
}

gchar *
cw_agent_session_resolve_path (CwAgentSession *self, const gchar *path)
{
  if (path == NULL || *path == '\0')
    path = ".";
  if (g_str_has_prefix (path, "~/"))
    return g_build_filename (g_get_home_dir (), path + 2, NULL);
  return g_canonicalize_filename (path, self->working_directory);
}

/* Symlinks are resolved as far as the path exists, so a link inside the working directory
 * that points outside counts as outside. */
gboolean
cw_agent_session_path_inside (CwAgentSession *self, const gchar *path)
{
  g_autofree gchar *abs = cw_agent_session_resolve_path (self, path);
  g_autofree gchar *real = cw_tool_fs_real_path (abs);
  g_autofree gchar *real_wd = cw_tool_fs_real_path (self->working_directory);

  return cw_tool_fs_within (real, real_wd);
}

gint64
cw_agent_session_context_window (CwAgentSession *self, JsonArray *catalog)
{
  for (guint i = 0; catalog != NULL && i < json_array_get_length (catalog); i++)
    {
      JsonObject *m = json_array_get_object_element (catalog, i);
      if (m != NULL
          && g_strcmp0 (json_object_get_string_member_with_default (m, "id", NULL), self->model)
                 == 0)
        {
          gint64 limit = json_object_get_int_member_with_default (m, "inputTokenLimit", 0);
          if (limit > 0)
            return limit;
        }
    }
  if (g_strcmp0 (self->provider, "google") == 0)
    return GEMINI_CONTEXT_WINDOW;
  return DEFAULT_CONTEXT_WINDOW;
}
