/* cw-interactions.c: the pending interactions of the daemon (the human in the loop). Each
 * one is a row of core_interactions (core schema 3) from the moment it is asked until its
 * owner has been told the outcome: `delivered` turns 1 only after the owner's callback ran,
 * so an answer stored just before a crash still reaches the owner after the next start.
 * Resolved rows stay a week, so that a second answer gets "already answered", not
 * "not found".
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-interaction-private.h"

#define KEEP_RESOLVED_MS (7 * 24 * 3600 * G_GINT64_CONSTANT (1000))
/* Expiry timers are re-armed at least this often, so a changed wall clock is noticed. */
#define MAX_TIMER_MS (60 * 1000)

typedef struct
{
  gchar *owner;
  CwInteractionKind kind;
  CwInteractionFunc func;
  gpointer user_data;
} Watcher;

struct _CwInteractions
{
  GObject parent_instance;
  CwStore *store;
  CwEventBus *bus;
  GHashTable *open; /* id -> CwInteraction: pending, or resolved and not yet delivered */
  GPtrArray *order; /* the same, oldest first */
  GArray *watchers;
  guint expiry_source;
  guint delivery_source;
};

G_DEFINE_FINAL_TYPE (CwInteractions, cw_interactions, G_TYPE_OBJECT)

static void
watcher_clear (gpointer p)
{
  g_free (((Watcher *) p)->owner);
}

static void
cw_interactions_finalize (GObject *object)
{
  CwInteractions *self = CW_INTERACTIONS (object);

  g_clear_handle_id (&self->expiry_source, g_source_remove);
  g_clear_handle_id (&self->delivery_source, g_source_remove);
  g_hash_table_unref (self->open);
  g_ptr_array_unref (self->order);
  g_array_unref (self->watchers);
  g_clear_object (&self->store);
  g_clear_object (&self->bus);
  G_OBJECT_CLASS (cw_interactions_parent_class)->finalize (object);
}

static void
cw_interactions_class_init (CwInteractionsClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = cw_interactions_finalize;
}

static void
cw_interactions_init (CwInteractions *self)
{
  self->open = g_hash_table_new (g_str_hash, g_str_equal);
  self->order = g_ptr_array_new_with_free_func ((GDestroyNotify) cw_interaction_unref);
  self->watchers = g_array_new (FALSE, TRUE, sizeof (Watcher));
  g_array_set_clear_func (self->watchers, watcher_clear);
}

/* ---- rows --------------------------------------------------------------------------- */

static gchar *
object_text (JsonObject *obj)
{
  g_autoptr (JsonNode) node = json_node_init_object (json_node_alloc (), obj);
  return cw_json_to_string (node);
}

static JsonObject *
object_column (sqlite3_stmt *stmt, gint col)
{
  g_autoptr (JsonNode) node = NULL;

  if (sqlite3_column_type (stmt, col) == SQLITE_NULL)
    return NULL;
  node = cw_json_from_string ((const gchar *) sqlite3_column_text (stmt, col), -1, NULL);
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    return NULL;
  return json_object_ref (json_node_get_object (node));
}

static const gchar *
column_text (sqlite3_stmt *stmt, gint col)
{
  return (const gchar *) sqlite3_column_text (stmt, col);
}

static CwInteraction *
interaction_from_row (sqlite3_stmt *stmt)
{
  CwInteractionKind kind;
  CwInteractionState state;
  JsonObject *payload = object_column (stmt, 4);
  CwInteraction *i;

  if (payload == NULL || !cw_interaction_kind_from_string (column_text (stmt, 1), &kind)
      || !cw_interaction_state_from_string (column_text (stmt, 8), &state))
    {
      g_warning ("pending interaction %s is unreadable; it is left out", column_text (stmt, 0));
      g_clear_pointer (&payload, json_object_unref);
      return NULL;
    }
  i = cw_interaction_new (column_text (stmt, 0), kind, column_text (stmt, 2), column_text (stmt, 3),
                          payload, object_column (stmt, 5), sqlite3_column_int64 (stmt, 6),
                          sqlite3_column_int64 (stmt, 7));
  i->state = state;
  if (sqlite3_column_type (stmt, 9) != SQLITE_NULL)
    i->answer = cw_json_from_string (column_text (stmt, 9), -1, NULL);
  i->resolved_by = g_strdup (column_text (stmt, 10));
  i->resolved_at = sqlite3_column_int64 (stmt, 11);
  return i;
}

static void
remember (CwInteractions *self, CwInteraction *i)
{
  g_hash_table_insert (self->open, i->id, i);
  g_ptr_array_add (self->order, i);
}

static void
forget (CwInteractions *self, CwInteraction *i)
{
  g_hash_table_remove (self->open, i->id);
  g_ptr_array_remove (self->order, i);
}

static gboolean
load (CwInteractions *self, GError **error)
{
  sqlite3_stmt *stmt;

  stmt = cw_store_prepare (
      self->store, "DELETE FROM core_interactions WHERE delivered = 1 AND resolved_at < ?1", error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, cw_now_ms () - KEEP_RESOLVED_MS);
  if (sqlite3_step (stmt) != SQLITE_DONE)
    {
      sqlite3_reset (stmt);
      return cw_store_set_error (self->store, error, "failed to prune interactions");
    }
  sqlite3_reset (stmt);
  stmt = cw_store_prepare (self->store,
                           "SELECT id, kind, owner, session_id, payload, data, created_at,"
                           " expires_at, status, answer, resolved_by, resolved_at"
                           " FROM core_interactions WHERE delivered = 0"
                           " ORDER BY created_at, rowid",
                           error);
  if (stmt == NULL)
    return FALSE;
  while (sqlite3_step (stmt) == SQLITE_ROW)
    {
      CwInteraction *i = interaction_from_row (stmt);
      if (i != NULL)
        remember (self, i);
    }
  sqlite3_reset (stmt);
  return TRUE;
}

static gboolean
insert_row (CwInteractions *self, CwInteraction *i, GError **error)
{
  sqlite3_stmt *stmt = cw_store_prepare (
      self->store,
      "INSERT INTO core_interactions (id, kind, owner, session_id, payload, data, created_at,"
      " expires_at, status) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'pending')",
      error);
  g_autofree gchar *payload = NULL;
  g_autofree gchar *data = NULL;
  gint rc;

  if (stmt == NULL)
    return FALSE;
  payload = object_text (i->payload);
  data = object_text (i->data);
  sqlite3_bind_text (stmt, 1, i->id, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 2, cw_interaction_kind_to_string (i->kind), -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 3, i->owner, -1, SQLITE_STATIC);
  if (i->session_id != NULL)
    sqlite3_bind_text (stmt, 4, i->session_id, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 5, payload, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 6, data, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 7, i->created_at);
  if (i->expires_at > 0)
    sqlite3_bind_int64 (stmt, 8, i->expires_at);
  rc = sqlite3_step (stmt);
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    return cw_store_set_error (self->store, error, "failed to store the interaction");
  return TRUE;
}

/* Takes the row from pending to @state; FALSE without error when it was not pending. */
static gboolean
update_row (CwInteractions *self, CwInteraction *i, CwInteractionState state, const gchar *answer,
            const gchar *actor, gint64 now, GError **error)
{
  sqlite3_stmt *stmt
      = cw_store_prepare (self->store,
                          "UPDATE core_interactions SET status = ?2, answer = ?3, resolved_by = ?4,"
                          " resolved_at = ?5 WHERE id = ?1 AND status = 'pending'",
                          error);
  gint rc;

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, i->id, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 2, cw_interaction_state_to_string (state), -1, SQLITE_STATIC);
  if (answer != NULL)
    sqlite3_bind_text (stmt, 3, answer, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 4, actor, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 5, now);
  rc = sqlite3_step (stmt);
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    return cw_store_set_error (self->store, error, "failed to store the answer");
  if (sqlite3_changes (cw_store_get_db (self->store)) != 1)
    {
      g_set_error (error, CW_ERROR, CW_ERROR_EXISTS, "Interaction %s was already resolved", i->id);
      return FALSE;
    }
  return TRUE;
}

static void
mark_delivered (CwInteractions *self, CwInteraction *i)
{
  g_autoptr (GError) error = NULL;
  sqlite3_stmt *stmt = cw_store_prepare (
      self->store, "UPDATE core_interactions SET delivered = 1 WHERE id = ?1", &error);

  if (stmt != NULL)
    {
      sqlite3_bind_text (stmt, 1, i->id, -1, SQLITE_STATIC);
      if (sqlite3_step (stmt) != SQLITE_DONE)
        cw_store_set_error (self->store, &error, "failed to mark the interaction delivered");
      sqlite3_reset (stmt);
    }
  if (error != NULL)
    g_warning ("interaction %s: %s (its owner may be told again after a restart)", i->id,
               error->message);
}

/* ---- watchers and delivery ---------------------------------------------------------- */

static Watcher *
find_watcher (CwInteractions *self, const gchar *owner, CwInteractionKind kind)
{
  for (guint n = 0; n < self->watchers->len; n++)
    {
      Watcher *w = &g_array_index (self->watchers, Watcher, n);
      if (w->kind == kind && g_strcmp0 (w->owner, owner) == 0)
        return w;
    }
  return NULL;
}

/* Tells the owner, then forgets the interaction. Without a watcher it waits for one. */
static void
deliver (CwInteractions *self, CwInteraction *i)
{
  Watcher *w = find_watcher (self, i->owner, i->kind);
  g_autoptr (CwInteraction) keep = NULL;
  CwInteractionFunc func;
  gpointer user_data;

  if (w == NULL)
    return;
  keep = cw_interaction_ref (i);
  func = w->func;
  user_data = w->user_data;
  forget (self, i);
  func (i, user_data);
  mark_delivered (self, i);
}

static gboolean
deliver_stored (gpointer user_data)
{
  CwInteractions *self = user_data;
  g_autoptr (GPtrArray) resolved
      = g_ptr_array_new_with_free_func ((GDestroyNotify) cw_interaction_unref);

  self->delivery_source = 0;
  for (guint n = 0; n < self->order->len; n++)
    {
      CwInteraction *i = g_ptr_array_index (self->order, n);
      if (i->state != CW_INTERACTION_PENDING)
        g_ptr_array_add (resolved, cw_interaction_ref (i));
    }
  for (guint n = 0; n < resolved->len; n++)
    deliver (self, g_ptr_array_index (resolved, n));
  return G_SOURCE_REMOVE;
}

void
cw_interactions_watch (CwInteractions *self, const gchar *owner, CwInteractionKind kind,
                       CwInteractionFunc func, gpointer user_data)
{
  Watcher *w;

  g_return_if_fail (CW_IS_INTERACTIONS (self));
  g_return_if_fail (owner != NULL && func != NULL);
  w = find_watcher (self, owner, kind);
  if (w == NULL)
    {
      Watcher fresh = { g_strdup (owner), kind, NULL, NULL };
      g_array_append_val (self->watchers, fresh);
      w = &g_array_index (self->watchers, Watcher, self->watchers->len - 1);
    }
  w->func = func;
  w->user_data = user_data;
  if (self->delivery_source == 0)
    self->delivery_source = g_idle_add (deliver_stored, self);
}

void
cw_interactions_unwatch_owner (CwInteractions *self, const gchar *owner)
{
  g_return_if_fail (CW_IS_INTERACTIONS (self));
  for (guint n = self->watchers->len; n > 0; n--)
    if (g_strcmp0 (g_array_index (self->watchers, Watcher, n - 1).owner, owner) == 0)
      g_array_remove_index (self->watchers, n - 1);
}

/* ---- resolving ---------------------------------------------------------------------- */

static void emit (CwInteractions *self, const gchar *type, CwInteraction *i);
static void arm_expiry (CwInteractions *self);

/* Stores the outcome with its audit record in one transaction (a savepoint: nested inside
 * the caller's transaction if there is one), then announces it and tells the owner. */
static gboolean
resolve (CwInteractions *self, CwInteraction *i, CwInteractionState state, JsonNode *answer,
         const gchar *actor, GError **error)
{
  g_autofree gchar *answer_text = answer != NULL ? cw_json_to_string (answer) : NULL;
  g_autoptr (JsonObject) details = json_object_new ();
  gint64 now = cw_now_ms ();

  json_object_set_string_member (details, "id", i->id);
  json_object_set_string_member (details, "kind", cw_interaction_kind_to_string (i->kind));
  json_object_set_string_member (details, "owner", i->owner);
  json_object_set_string_member (details, "status", cw_interaction_state_to_string (state));
  if (!cw_store_savepoint (self->store, "cw_interaction", error))
    return FALSE;
  if (!update_row (self, i, state, answer_text, actor, now, error)
      || !cw_audit_record (self->store, "interaction.resolve", actor, details, error)
      || !cw_store_release (self->store, "cw_interaction", error))
    {
      cw_store_rollback_to (self->store, "cw_interaction");
      return FALSE;
    }
  i->state = state;
  i->answer = answer != NULL ? json_node_copy (answer) : NULL;
  i->resolved_by = g_strdup (actor);
  i->resolved_at = now;
  emit (self, "interaction:resolved", i);
  arm_expiry (self);
  deliver (self, i);
  return TRUE;
}

static gboolean
refuse_known (CwInteractions *self, const gchar *id, GError **error)
{
  sqlite3_stmt *stmt
      = cw_store_prepare (self->store, "SELECT status FROM core_interactions WHERE id = ?1", error);
  g_autofree gchar *status = NULL;

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, id, -1, SQLITE_TRANSIENT);
  if (sqlite3_step (stmt) == SQLITE_ROW)
    status = g_strdup (column_text (stmt, 0));
  sqlite3_reset (stmt);
  if (status == NULL)
    g_set_error (error, CW_ERROR, CW_ERROR_NOT_FOUND, "Interaction not found: %s", id);
  else
    g_set_error (error, CW_ERROR, CW_ERROR_EXISTS, "Interaction %s was already %s", id, status);
  return FALSE;
}

gboolean
cw_interactions_respond (CwInteractions *self, const gchar *id, JsonNode *answer,
                         const gchar *actor, GError **error)
{
  CwInteraction *i;

  g_return_val_if_fail (CW_IS_INTERACTIONS (self), FALSE);
  g_return_val_if_fail (actor != NULL, FALSE);
  if (id == NULL || *id == '\0')
    {
      g_set_error_literal (error, CW_ERROR, CW_ERROR_INVALID_PARAMS, "id is required");
      return FALSE;
    }
  i = g_hash_table_lookup (self->open, id);
  if (i == NULL)
    return refuse_known (self, id, error);
  if (i->state != CW_INTERACTION_PENDING)
    {
      g_set_error (error, CW_ERROR, CW_ERROR_EXISTS, "Interaction %s was already %s", id,
                   cw_interaction_state_to_string (i->state));
      return FALSE;
    }
  if (i->expires_at > 0 && cw_now_ms () >= i->expires_at)
    {
      cw_interactions_expire_due (self, cw_now_ms ());
      g_set_error (error, CW_ERROR, CW_ERROR_EXISTS, "Interaction %s was already expired", id);
      return FALSE;
    }
  if (find_watcher (self, i->owner, i->kind) == NULL)
    {
      g_set_error (error, CW_ERROR, CW_ERROR_NOT_SUPPORTED,
                   "cannot answer %s: its owner %s is not running", id, i->owner);
      return FALSE;
    }
  if (!cw_interaction_check_answer (i->kind, answer, error))
    return FALSE;
  return resolve (self, i, CW_INTERACTION_ANSWERED, answer, actor, error);
}

/* ---- expiry ------------------------------------------------------------------------- */

guint
cw_interactions_expire_due (CwInteractions *self, gint64 now_ms)
{
  g_autoptr (GPtrArray) due
      = g_ptr_array_new_with_free_func ((GDestroyNotify) cw_interaction_unref);
  guint expired = 0;

  g_return_val_if_fail (CW_IS_INTERACTIONS (self), 0);
  for (guint n = 0; n < self->order->len; n++)
    {
      CwInteraction *i = g_ptr_array_index (self->order, n);
      if (i->state == CW_INTERACTION_PENDING && i->expires_at > 0 && i->expires_at <= now_ms)
        g_ptr_array_add (due, cw_interaction_ref (i));
    }
  for (guint n = 0; n < due->len; n++)
    {
      g_autoptr (GError) error = NULL;
      CwInteraction *i = g_ptr_array_index (due, n);

      if (resolve (self, i, CW_INTERACTION_EXPIRED, NULL, "expiry", &error))
        expired++;
      else
        g_warning ("failed to expire interaction %s: %s", i->id, error->message);
    }
  arm_expiry (self);
  return expired;
}

static gboolean
on_expiry_timer (gpointer user_data)
{
  CwInteractions *self = user_data;

  self->expiry_source = 0;
  cw_interactions_expire_due (self, cw_now_ms ());
  return G_SOURCE_REMOVE;
}

static void
arm_expiry (CwInteractions *self)
{
  gint64 next = 0;

  g_clear_handle_id (&self->expiry_source, g_source_remove);
  for (guint n = 0; n < self->order->len; n++)
    {
      CwInteraction *i = g_ptr_array_index (self->order, n);
      if (i->state == CW_INTERACTION_PENDING && i->expires_at > 0
          && (next == 0 || i->expires_at < next))
        next = i->expires_at;
    }
  if (next == 0)
    return;
  self->expiry_source
      = g_timeout_add ((guint) CLAMP (next - cw_now_ms (), 0, MAX_TIMER_MS), on_expiry_timer, self);
}

/* ---- the rest ----------------------------------------------------------------------- */

static void
emit (CwInteractions *self, const gchar *type, CwInteraction *i)
{
  JsonObject *data = json_object_new ();

  json_object_set_object_member (data, "interaction", cw_interaction_to_json (i));
  cw_event_bus_emit (self->bus, type, i->session_id, data);
}

CwInteractions *
cw_interactions_new (CwStore *store, CwEventBus *bus, GError **error)
{
  g_autoptr (CwInteractions) self = g_object_new (CW_TYPE_INTERACTIONS, NULL);

  g_return_val_if_fail (CW_IS_STORE (store) && CW_IS_EVENT_BUS (bus), NULL);
  self->store = g_object_ref (store);
  self->bus = g_object_ref (bus);
  if (!load (self, error))
    {
      g_prefix_error (error, "failed to load pending interactions: ");
      return NULL;
    }
  arm_expiry (self);
  return g_steal_pointer (&self);
}

CwInteraction *
cw_interactions_create (CwInteractions *self, const gchar *owner, CwInteractionKind kind,
                        const gchar *session_id, JsonObject *payload, JsonObject *data,
                        gint64 expires_at, GError **error)
{
  g_autofree gchar *id = NULL;
  g_autoptr (JsonObject) copy = json_object_new ();
  g_autoptr (GList) members = NULL;
  CwInteraction *i;

  g_return_val_if_fail (CW_IS_INTERACTIONS (self), NULL);
  g_return_val_if_fail (owner != NULL, NULL);
  if ((guint) kind > CW_INTERACTION_APPROVAL || payload == NULL || expires_at < 0)
    {
      g_set_error_literal (error, CW_ERROR, CW_ERROR_INVALID_PARAMS,
                           "an interaction needs a known kind, a payload and an expiry >= 0");
      return NULL;
    }
  id = cw_make_id (cw_interaction_kind_id_prefix (kind));
  members = json_object_get_members (payload);
  for (GList *l = members; l != NULL; l = l->next)
    json_object_set_member (copy, l->data,
                            json_node_copy (json_object_get_member (payload, l->data)));
  json_object_set_string_member (copy, "id", id);
  i = cw_interaction_new (id, kind, owner, session_id, g_steal_pointer (&copy),
                          data != NULL ? json_object_ref (data) : NULL, cw_now_ms (), expires_at);
  if (!insert_row (self, i, error))
    {
      cw_interaction_unref (i);
      return NULL;
    }
  remember (self, i);
  emit (self, "interaction:created", i);
  arm_expiry (self);
  return i;
}

CwInteraction *
cw_interactions_lookup (CwInteractions *self, const gchar *id)
{
  g_return_val_if_fail (CW_IS_INTERACTIONS (self), NULL);
  return id != NULL ? g_hash_table_lookup (self->open, id) : NULL;
}

GPtrArray *
cw_interactions_list (CwInteractions *self, const gchar *owner, const gchar *session_id)
{
  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify) cw_interaction_unref);

  g_return_val_if_fail (CW_IS_INTERACTIONS (self), out);
  for (guint n = 0; n < self->order->len; n++)
    {
      CwInteraction *i = g_ptr_array_index (self->order, n);
      if (i->state == CW_INTERACTION_PENDING && (owner == NULL || g_strcmp0 (owner, i->owner) == 0)
          && (session_id == NULL || g_strcmp0 (session_id, i->session_id) == 0))
        g_ptr_array_add (out, cw_interaction_ref (i));
    }
  return out;
}

GPtrArray *
cw_interactions_list_open (CwInteractions *self, const gchar *owner, CwInteractionKind kind)
{
  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify) cw_interaction_unref);

  g_return_val_if_fail (CW_IS_INTERACTIONS (self), out);
  for (guint n = 0; n < self->order->len; n++)
    {
      CwInteraction *i = g_ptr_array_index (self->order, n);
      if (i->kind == kind && g_strcmp0 (owner, i->owner) == 0)
        g_ptr_array_add (out, cw_interaction_ref (i));
    }
  return out;
}

void
cw_interactions_append_json (CwInteractions *self, GString *out)
{
  gboolean first = TRUE;

  g_return_if_fail (CW_IS_INTERACTIONS (self));
  g_string_append_c (out, '[');
  for (guint n = 0; n < self->order->len; n++)
    {
      CwInteraction *i = g_ptr_array_index (self->order, n);
      g_autoptr (JsonObject) obj = NULL;

      if (i->state != CW_INTERACTION_PENDING)
        continue;
      if (!first)
        g_string_append_c (out, ',');
      first = FALSE;
      obj = cw_interaction_to_json (i);
      cw_json_append_object (out, obj);
    }
  g_string_append_c (out, ']');
}
