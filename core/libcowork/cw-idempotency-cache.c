/* cw-idempotency-cache.c: the answers of calls that carried _idempotencyKey, so that a
 * client's retry gets the first answer instead of running the command twice.
 *
 * An entry is keyed by caller, command and key, and remembers a hash of the params: reusing
 * a key with other params is an error, never the old answer. Only successes are kept (a
 * failed call may be retried), as JSON text, for 15 minutes; the cache holds at most
 * CW_IDEMPOTENCY_MAX_KEYS answers and CW_IDEMPOTENCY_MAX_BYTES of their text, dropping the
 * oldest first. An answer over CW_IDEMPOTENCY_MAX_ANSWER is not kept; its key is, so that a
 * repeat is told the call already ran rather than running it again.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-idempotency-cache-private.h"

typedef struct
{
  CwCommandReplyFunc func;
  gpointer data;
} Waiter;

struct _CwIdempotencyEntry
{
  CwIdempotencyCache *cache; /* NULL once the cache is gone while the call runs */
  gchar *key;
  gchar *params_hash;
  gboolean done;
  gchar *answer; /* a kept success, or NULL when it was too large to keep */
  gsize bytes;
  GArray *waiters; /* Waiter, while running */
  gint64 expires_at;
  GList link; /* in cache->done */
};

struct _CwIdempotencyCache
{
  GHashTable *entries; /* key -> CwIdempotencyEntry, running and done */
  GQueue done;         /* done entries, oldest first: also their expiry order */
  gsize bytes;
};

static void
entry_free (CwIdempotencyEntry *e)
{
  g_free (e->key);
  g_free (e->params_hash);
  g_free (e->answer);
  g_clear_pointer (&e->waiters, g_array_unref);
  g_free (e);
}

CwIdempotencyCache *
cw_idempotency_cache_new (void)
{
  CwIdempotencyCache *self = g_new0 (CwIdempotencyCache, 1);

  self->entries = g_hash_table_new (g_str_hash, g_str_equal);
  g_queue_init (&self->done);
  return self;
}

void
cw_idempotency_cache_free (CwIdempotencyCache *self)
{
  GHashTableIter iter;
  CwIdempotencyEntry *e;

  if (self == NULL)
    return;
  g_hash_table_iter_init (&iter, self->entries);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &e))
    {
      if (e->done)
        entry_free (e);
      else
        e->cache = NULL; /* the running call frees it when it answers */
    }
  g_hash_table_unref (self->entries);
  g_free (self);
}

static void
drop_oldest (CwIdempotencyCache *self)
{
  CwIdempotencyEntry *e = g_queue_peek_head (&self->done);

  g_queue_unlink (&self->done, &e->link);
  g_hash_table_remove (self->entries, e->key);
  self->bytes -= e->bytes;
  entry_free (e);
}

static void
sweep (CwIdempotencyCache *self)
{
  gint64 now = g_get_monotonic_time ();
  CwIdempotencyEntry *e;

  while ((e = g_queue_peek_head (&self->done)) != NULL && e->expires_at <= now)
    drop_oldest (self);
}

static gchar *
hash_params (JsonObject *params)
{
  g_autoptr (GString) text = g_string_new (NULL);

  cw_json_append_object (text, params);
  return g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *) text->str, text->len);
}

static void
add_waiter (CwIdempotencyEntry *e, CwCommandReplyFunc reply, gpointer reply_data)
{
  Waiter w = { reply, reply_data };

  g_array_append_val (e->waiters, w);
}

CwIdempotencyEntry *
cw_idempotency_cache_begin (CwIdempotencyCache *self, const gchar *caller, const gchar *command,
                            const gchar *key, JsonObject *params, CwCommandReplyFunc reply,
                            gpointer reply_data)
{
  g_autofree gchar *full_key = g_strdup_printf ("%s\n%s\n%s", caller, command, key);
  g_autofree gchar *params_hash = hash_params (params);
  CwIdempotencyEntry *e;

  sweep (self);
  e = g_hash_table_lookup (self->entries, full_key);
  if (e != NULL && g_strcmp0 (e->params_hash, params_hash) != 0)
    {
      reply (NULL, NULL,
             g_error_new (CW_ERROR, CW_ERROR_INVALID_PARAMS,
                          "_idempotencyKey %s was already used for %s with other params", key,
                          command),
             reply_data);
      return NULL;
    }
  if (e != NULL && e->done && e->answer == NULL)
    {
      reply (NULL, NULL,
             g_error_new (CW_ERROR, CW_ERROR_EXISTS,
                          "%s with _idempotencyKey %s already ran; its answer was too large "
                          "to keep",
                          command, key),
             reply_data);
      return NULL;
    }
  if (e != NULL && e->done)
    {
      reply (NULL, g_strdup (e->answer), NULL, reply_data);
      return NULL;
    }
  if (e != NULL)
    {
      add_waiter (e, reply, reply_data);
      return NULL;
    }
  e = g_new0 (CwIdempotencyEntry, 1);
  e->cache = self;
  e->key = g_steal_pointer (&full_key);
  e->params_hash = g_steal_pointer (&params_hash);
  e->waiters = g_array_new (FALSE, FALSE, sizeof (Waiter));
  e->link.data = e;
  add_waiter (e, reply, reply_data);
  g_hash_table_insert (self->entries, e->key, e);
  return e;
}

/* Keeps a success (text may be NULL: too large) and drops the oldest beyond the bounds. */
static void
keep (CwIdempotencyCache *self, CwIdempotencyEntry *e, const gchar *text)
{
  gsize len = strlen (text);

  e->done = TRUE;
  e->expires_at = g_get_monotonic_time () + CW_IDEMPOTENCY_TTL_US;
  if (len <= CW_IDEMPOTENCY_MAX_ANSWER)
    {
      e->answer = g_strdup (text);
      e->bytes = len;
      self->bytes += len;
    }
  g_queue_push_tail_link (&self->done, &e->link);
  while (self->done.length > CW_IDEMPOTENCY_MAX_KEYS || self->bytes > CW_IDEMPOTENCY_MAX_BYTES)
    drop_oldest (self);
}

void
cw_idempotency_entry_done (JsonNode *result, gchar *raw, GError *error_in, gpointer user_data)
{
  CwIdempotencyEntry *e = user_data;
  CwIdempotencyCache *self = e->cache;
  g_autoptr (GArray) waiters = g_steal_pointer (&e->waiters);
  g_autoptr (GError) error = error_in;
  g_autofree gchar *text = raw;

  if (error == NULL && text == NULL)
    text = cw_json_to_string (result);
  if (result != NULL)
    json_node_unref (result);

  /* Settle the entry before answering: an answer may lead straight to the next call. */
  if (self != NULL && error == NULL)
    keep (self, e, text);
  else
    {
      if (self != NULL)
        g_hash_table_remove (self->entries, e->key);
      entry_free (e);
    }
  for (guint i = 0; i < waiters->len; i++)
    {
      Waiter *w = &g_array_index (waiters, Waiter, i);
      w->func (NULL, error == NULL ? g_strdup (text) : NULL,
               error != NULL ? g_error_copy (error) : NULL, w->data);
    }
}

guint
cw_idempotency_cache_get_size (CwIdempotencyCache *self, gsize *bytes)
{
  if (bytes != NULL)
    *bytes = self->bytes;
  return g_hash_table_size (self->entries);
}
