/* cw-integrations-router.c: inbound messages to agent sessions, and the answers back.
 *
 * Each chat has its own agent session (type integration, titled after the chat), created on
 * its first message; the setting sessionMode=shared gives every chat the one shared session
 * of the original instead. A session runs one turn at a time: messages that arrive meanwhile
 * stay `received` in the ledger (the chat is told its place in the queue), and when the turn
 * ends the next one runs — or, when `merge-threshold` (5) or more of one chat wait, all of
 * them as one "Multiple messages received:" turn answered in that chat.
 *
 * The agent is reached through its commands only (create_session, send_message,
 * get_session, respond_permission, respond_question); its events come through a durable
 * consumer. A permission request or question of a running turn is relayed to the chat as
 * numbered choices; the next message of the sender who owns the turn, in that chat, answers
 * it; anyone else in the chat is told that only the owner can.
 *
 * Ledger states: received → dispatched (the turn runs) → answered (the reply is in the
 * outbox); denied (allowlist), answer (it answered a prompt), refused (a prompt of someone
 * else), merged rows are answered with the first. After a restart, dispatched rows whose
 * turn waits for a prompt are re-attached to it; the others run again (the agent marked the
 * interrupted turn), so every message is answered once.
 *
 * Streaming (contract §3.7): on a platform that can edit, a "Thinking..." placeholder is
 * queued when the turn starts; the turn's stream:chunk text edits it as it comes, at most one
 * edit a second per turn and one at a time, and the final reply (the agent's text, the
 * fallback or the error text) edits it through the outbox. Streamed edits are not stored: the
 * reply row carries the final text. Other platforms get the reply once, at the end.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-integrations-plugin.h"

#include <string.h>

#define THINKING_FALLBACK                                                                          \
  "I received your message, but I could not generate a text reply. Please try again."
#define ERROR_FALLBACK   "Sorry, there was an error while processing your message."
#define TITLE_MAX        80
#define PLACEHOLDER      "Thinking..."
#define EDIT_INTERVAL_US (G_USEC_PER_SEC)
/* The newest chat items read for a turn's reply; the whole session only when the turn's
 * message is older than them (a long turn), so a reply costs the same in a chat's 1,000th
 * turn as in its first. */
#define REPLY_ITEMS 32

struct _CwIntegrationsTurn
{
  CwIntegrationsPlugin *plugin;
  gchar *key;
  gchar *session_id;
  gchar *platform;
  gchar *chat_id;
  gchar *sender_id;
  gchar *reply_data;
  gchar *message;    /* what the agent got */
  GArray *inbound;   /* gint64 ledger ids answered by this turn, the first gets the reply */
  gboolean attached; /* re-attached after a restart: no send_message of ours is running */
  gboolean finishing;
  gboolean whole; /* the reply is read from the whole session */
  gint refs;
  GString *streamed;   /* the text of the turn's stream:chunk events so far */
  gint64 last_edit_us; /* monotonic time of the last streamed edit */
  guint edit_timer;    /* a throttled streamed edit is due */
  gboolean editing;    /* a streamed edit is in flight */
  gboolean dirty;      /* text came while it was */
};

static void pump (CwIntegrationsPlugin *self, const gchar *key);

static CwIntegrationsTurn *
turn_ref (CwIntegrationsTurn *turn)
{
  turn->refs++;
  return turn;
}

static void
turn_unref (CwIntegrationsTurn *turn)
{
  if (--turn->refs > 0)
    return;
  g_free (turn->key);
  g_free (turn->session_id);
  g_free (turn->platform);
  g_free (turn->chat_id);
  g_free (turn->sender_id);
  g_free (turn->reply_data);
  g_free (turn->message);
  g_array_unref (turn->inbound);
  g_string_free (turn->streamed, TRUE);
  g_free (turn);
}

static JsonNode *
params_new (const gchar *session_id)
{
  JsonNode *node = json_node_new (JSON_NODE_OBJECT);
  JsonObject *obj = json_object_new ();

  if (session_id != NULL)
    json_object_set_string_member (obj, "sessionId", session_id);
  json_node_take_object (node, obj);
  return node;
}

static gboolean
shared_mode (CwIntegrationsPlugin *self)
{
  if (self->shared_mode < 0)
    {
      g_autofree gchar *mode = cw_integrations_store_get_setting (self->store, "sessionMode");
      self->shared_mode = g_strcmp0 (mode, "shared") == 0;
    }
  return self->shared_mode == 1;
}

static gchar *
session_key (CwIntegrationsPlugin *self, const gchar *platform, const gchar *chat_id)
{
  if (shared_mode (self))
    return g_strdup ("shared");
  return g_strdup_printf ("%s:%s", platform, chat_id);
}

static void
set_status (CwIntegrationsPlugin *self, gint64 id, const gchar *status, const gchar *session_id)
{
  g_autoptr (GError) error = NULL;

  if (!cw_integrations_store_set_inbound_status (self->store, id, status, session_id, &error))
    g_warning ("inbound %" G_GINT64_FORMAT ": %s", id, error->message);
}

static void
say (CwIntegrationsPlugin *self, CwIntegrationsInbound *row, const gchar *kind, const gchar *text)
{
  g_autoptr (GError) error = NULL;

  if (!cw_integrations_outbox_queue (self, row->platform, row->chat_id, row->id, kind, text,
                                     row->reply_data, NULL, &error))
    g_warning ("%s: cannot queue a %s: %s", row->platform, kind, error->message);
  cw_integrations_outbox_flush (self, row->platform);
}

/* ---- allowlists ------------------------------------------------------------------------------ */

static gboolean
allowed (const CwIntegrationPlatform *platform, JsonObject *config, CwIntegrationsInbound *row,
         gchar **denial)
{
  g_auto (GStrv) list = NULL;
  const gchar *who;
  const gchar *message = cw_integration_config_get_string (config, "denialMessage");

  *denial
      = g_strdup (message != NULL && *message != '\0' ? message : CW_INTEGRATIONS_DEFAULT_DENIAL);
  if (platform->allow_mode == CW_ALLOW_NONE)
    return TRUE;
  list = cw_integration_config_get_strv (config, platform->allow_field);
  if (list[0] == NULL)
    return platform->allow_mode != CW_ALLOW_SENDER_STRICT;
  who = platform->allow_mode == CW_ALLOW_CHAT_OPEN ? row->chat_id : row->sender_id;
  for (guint i = 0; list[i] != NULL; i++)
    {
      g_autofree gchar *entry = g_utf8_casefold (list[i], -1);
      g_autofree gchar *id = g_utf8_casefold (who, -1);
      if (g_str_equal (entry, "*") || g_str_equal (entry, "all") || g_str_equal (entry, id)
          || g_pattern_match_simple (entry, id))
        return TRUE;
    }
  return FALSE;
}

/* ---- the agent's answer ---------------------------------------------------------------------- */

static const gchar *
item_string (JsonObject *item, const gchar *name)
{
  return cw_integration_config_get_string (item, name);
}

/* The text of the turn that answered @message: the assistant's items after the last user
 * item with that content (final ones only when the agent marked a final phase). The turn's
 * media items (contract §3.7) are added to @media. *found: whether that user item is among
 * @details' items. */
static gchar *
reply_text (JsonNode *details, const gchar *message, gboolean *failed, GPtrArray *media,
            gboolean *found)
{
  JsonObject *obj
      = details != NULL && JSON_NODE_HOLDS_OBJECT (details) ? json_node_get_object (details) : NULL;
  JsonNode *items = obj != NULL ? json_object_get_member (obj, "chatItems") : NULL;
  JsonArray *arr
      = items != NULL && JSON_NODE_HOLDS_ARRAY (items) ? json_node_get_array (items) : NULL;
  g_autoptr (GString) all = g_string_new (NULL);
  g_autoptr (GString) finals = g_string_new (NULL);
  g_autofree gchar *error = NULL;
  guint start = 0;

  *failed = FALSE;
  for (guint i = 0; arr != NULL && i < json_array_get_length (arr); i++)
    {
      JsonObject *item = json_array_get_object_element (arr, i);
      if (item != NULL && g_strcmp0 (item_string (item, "kind"), "user_message") == 0
          && (message == NULL || g_strcmp0 (item_string (item, "content"), message) == 0))
        start = i + 1;
    }
  *found = start > 0;
  for (guint i = start; arr != NULL && i < json_array_get_length (arr); i++)
    {
      JsonObject *item = json_array_get_object_element (arr, i);
      const gchar *kind = item != NULL ? item_string (item, "kind") : NULL;
      const gchar *content = item != NULL ? item_string (item, "content") : NULL;
      JsonNode *stream = item != NULL ? json_object_get_member (item, "stream") : NULL;
      gboolean final
          = stream != NULL && JSON_NODE_HOLDS_OBJECT (stream)
            && g_strcmp0 (item_string (json_node_get_object (stream), "phase"), "final") == 0;

      if (g_strcmp0 (kind, "user_message") == 0)
        break;
      if (g_strcmp0 (kind, "error") == 0 && error == NULL)
        error = g_strdup (item_string (item, "message"));
      if (g_strcmp0 (kind, "media") == 0)
        g_ptr_array_add (media, json_object_ref (item));
      if (g_strcmp0 (kind, "assistant_message") != 0 || content == NULL || *content == '\0')
        continue;
      g_string_append_printf (all, "%s%s", all->len > 0 ? "\n\n" : "", content);
      if (final)
        g_string_append_printf (finals, "%s%s", finals->len > 0 ? "\n\n" : "", content);
    }
  if (finals->len > 0)
    return g_string_free (g_steal_pointer (&finals), FALSE);
  if (all->len > 0)
    return g_string_free (g_steal_pointer (&all), FALSE);
  /* media without text: the reply (which ends the placeholder) names what was made */
  for (guint i = 0; error == NULL && i < media->len; i++)
    g_string_append_printf (all, "%s%s", all->len > 0 ? "\n" : "",
                            cw_integrations_media_caption (g_ptr_array_index (media, i)));
  if (all->len > 0)
    return g_string_free (g_steal_pointer (&all), FALSE);
  *failed = error != NULL;
  return g_strdup (error != NULL ? error : THINKING_FALLBACK);
}

static void
close_prompts_of (CwIntegrationsPlugin *self, CwIntegrationsTurn *turn)
{
  g_autofree gchar *id = NULL, *kind = NULL, *session = NULL, *sender = NULL;
  g_autoptr (JsonObject) request = NULL;

  while (cw_integrations_store_get_open_prompt (self->store, turn->platform, turn->chat_id, &id,
                                                &kind, &session, &sender, &request))
    {
      cw_integrations_store_close_prompt (self->store, id, NULL);
      g_clear_pointer (&id, g_free);
      g_clear_pointer (&kind, g_free);
      g_clear_pointer (&session, g_free);
      g_clear_pointer (&sender, g_free);
      g_clear_pointer (&request, json_object_unref);
    }
}

static void
finish_turn (CwIntegrationsTurn *turn, const gchar *text, GPtrArray *media)
{
  CwIntegrationsPlugin *self = turn->plugin;
  gint64 first = g_array_index (turn->inbound, gint64, 0);
  g_autoptr (GError) error = NULL;
  g_autofree gchar *key = g_strdup (turn->key);

  turn->finishing = TRUE; /* no streamed edit starts from now on */
  g_clear_handle_id (&turn->edit_timer, g_source_remove);
  /* The reply and the ledger state in one transaction: answered exactly once. */
  if (cw_store_savepoint (self->store, "integrations_reply", &error))
    {
      g_autofree gchar *reply_id = NULL;
      gboolean ok
          = cw_integrations_outbox_queue (self, turn->platform, turn->chat_id, first, "reply", text,
                                          turn->reply_data, &reply_id, &error);
      /* with the reply (queued once), never again */
      for (guint i = 0; ok && reply_id != NULL && media != NULL && i < media->len; i++)
        ok = cw_integrations_outbox_queue_media (self, turn->platform, turn->chat_id,
                                                 g_ptr_array_index (media, i), turn->reply_data,
                                                 &error);
      for (guint i = 0; ok && i < turn->inbound->len; i++)
        ok = cw_integrations_store_set_inbound_status (
            self->store, g_array_index (turn->inbound, gint64, i), "answered", NULL, &error);
      if (ok)
        cw_store_release (self->store, "integrations_reply", &error);
      else
        {
          cw_store_rollback_to (self->store, "integrations_reply");
          cw_store_release (self->store, "integrations_reply", NULL);
        }
    }
  if (error != NULL)
    g_warning ("%s: cannot store the reply to %s: %s", turn->platform, turn->chat_id,
               error->message);
  close_prompts_of (self, turn);
  for (guint i = 0; i < turn->inbound->len; i++)
    cw_integrations_attachments_forget (self, g_array_index (turn->inbound, gint64, i));
  if (g_hash_table_lookup (self->turns, turn->key) == turn)
    {
      g_hash_table_remove (self->turns, turn->key);
      turn_unref (turn);
    }
  cw_integrations_outbox_flush (self, turn->platform);
  pump (self, key);
}

static void read_session (CwIntegrationsTurn *turn);

static gboolean
has_more_history (JsonNode *details)
{
  return JSON_NODE_HOLDS_OBJECT (details)
         && cw_integration_config_get_boolean (json_node_get_object (details), "hasMoreHistory",
                                               FALSE);
}

static void
on_session_read (GObject *source, GAsyncResult *result, gpointer user_data)
{
  CwIntegrationsTurn *turn = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) reply = cw_plugin_call_finish (CW_PLUGIN (source), result, &error);
  g_autofree gchar *text = NULL;
  g_autoptr (GPtrArray) media = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  gboolean failed, found;

  if (reply == NULL)
    {
      g_warning ("%s: reading session %s: %s", turn->platform, turn->session_id, error->message);
      text = g_strdup (ERROR_FALLBACK);
    }
  else
    {
      text = reply_text (reply, turn->message, &failed, media, &found);
      if (!found && !turn->whole && has_more_history (reply) && !turn->plugin->stopping)
        {
          /* the turn began before the newest items: read them all */
          turn->whole = TRUE;
          read_session (turn);
          turn_unref (turn);
          return;
        }
    }
  if (!turn->plugin->stopping)
    finish_turn (turn, text, media);
  turn_unref (turn);
}

static void
read_session (CwIntegrationsTurn *turn)
{
  g_autoptr (JsonNode) params = params_new (turn->session_id);

  if (!turn->whole)
    json_object_set_int_member (json_node_get_object (params), "chatItemLimit", REPLY_ITEMS);
  cw_plugin_call (CW_PLUGIN (turn->plugin), NULL, turn->whole ? "get_session" : "get_session_chunk",
                  params, NULL, on_session_read, turn_ref (turn));
}

static void
read_reply (CwIntegrationsTurn *turn)
{
  if (turn->finishing)
    return;
  turn->finishing = TRUE;
  read_session (turn);
}

static void
on_message_sent (GObject *source, GAsyncResult *result, gpointer user_data)
{
  CwIntegrationsTurn *turn = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) reply = cw_plugin_call_finish (CW_PLUGIN (source), result, &error);

  if (turn->plugin->stopping)
    ;
  else if (reply == NULL && g_error_matches (error, CW_ERROR, CW_ERROR_CANCELLED))
    ; /* the daemon is stopping: the turn runs again after the start */
  else if (reply == NULL)
    {
      g_autofree gchar *text
          = g_strdup_printf ("Sorry, the message could not reach the agent: %s", error->message);
      g_warning ("%s: send_message: %s", turn->platform, error->message);
      finish_turn (turn, text, NULL);
    }
  else
    read_reply (turn);
  turn_unref (turn);
}

/* ---- dispatch ----------------------------------------------------------------------------------
 */

static gchar *
collapse (const gchar *text)
{
  g_auto (GStrv) words = g_strsplit_set (text != NULL ? text : "", " \t\r\n", -1);
  GString *out = g_string_new (NULL);

  for (guint i = 0; words[i] != NULL; i++)
    if (*words[i] != '\0')
      g_string_append_printf (out, "%s%s", out->len > 0 ? " " : "", words[i]);
  return g_string_free (out, FALSE);
}

static gchar *
tag_message (CwIntegrationsInbound *row)
{
  const CwIntegrationPlatform *p = cw_integrations_platform_lookup (row->platform);
  g_autofree gchar *content = collapse (row->text);

  const gchar *none = row->attachments != NULL && json_array_get_length (row->attachments) > 0
                          ? "sent attachment(s)."
                          : "(empty message)";

  return g_strdup_printf ("[%s | %s]: %s", p != NULL ? p->display_name : row->platform,
                          row->sender_name != NULL ? row->sender_name : row->sender_id,
                          *content != '\0' ? content : none);
}

static gchar *
merge_messages (GPtrArray *rows)
{
  GString *out = g_string_new ("Multiple messages received:");

  for (guint i = 0; i < rows->len; i++)
    {
      g_autofree gchar *tagged = tag_message (g_ptr_array_index (rows, i));
      g_string_append_printf (out, "\n%u. %s", i + 1, tagged);
    }
  return g_string_free (out, FALSE);
}

static void
send_turn (CwIntegrationsTurn *turn, JsonArray *attachments)
{
  g_autoptr (JsonNode) params = params_new (turn->session_id);
  JsonObject *obj = json_node_get_object (params);

  json_object_set_string_member (obj, "content", turn->message);
  if (attachments != NULL && json_array_get_length (attachments) > 0)
    json_object_set_array_member (obj, "attachments", json_array_ref (attachments));
  cw_plugin_call (CW_PLUGIN (turn->plugin), NULL, "send_message", params, NULL, on_message_sent,
                  turn_ref (turn));
}

static void
on_attachments_fetched (JsonArray *attachments, const gchar *notes, gpointer data)
{
  CwIntegrationsTurn *turn = data;

  if (notes != NULL && *notes != '\0')
    {
      gchar *message = g_strconcat (turn->message, notes, NULL);
      g_free (turn->message);
      turn->message = message;
    }
  send_turn (turn, attachments);
  turn_unref (turn);
}

static void
start_turn (CwIntegrationsPlugin *self, const gchar *key, const gchar *session_id, GPtrArray *rows)
{
  CwIntegrationsInbound *first = g_ptr_array_index (rows, 0);
  CwIntegrationsTurn *turn = g_new0 (CwIntegrationsTurn, 1);
  CwIntegrationsLink *link = cw_integrations_plugin_get_link (self, first->platform);

  turn->plugin = self;
  turn->refs = 1;
  turn->key = g_strdup (key);
  turn->session_id = g_strdup (session_id);
  turn->platform = g_strdup (first->platform);
  turn->chat_id = g_strdup (first->chat_id);
  turn->sender_id = g_strdup (first->sender_id);
  turn->reply_data = g_strdup (first->reply_data);
  turn->message = rows->len == 1 ? tag_message (first) : merge_messages (rows);
  turn->inbound = g_array_new (FALSE, FALSE, sizeof (gint64));
  turn->streamed = g_string_new (NULL);
  for (guint i = 0; i < rows->len; i++)
    {
      CwIntegrationsInbound *row = g_ptr_array_index (rows, i);
      g_array_append_val (turn->inbound, row->id);
      set_status (self, row->id, "dispatched", session_id);
    }
  g_hash_table_insert (self->turns, turn->key, turn);
  self->dispatch_count++;
  if (link != NULL && link->connected && link->adapter != NULL)
    cw_integration_adapter_typing (link->adapter, turn->chat_id);
  if (cw_integrations_platform_can (turn->platform, CW_INTEGRATION_CAP_EDIT))
    {
      /* a duplicate when the turn runs again after a restart: the first one stands */
      g_autoptr (GError) error = NULL;
      if (!cw_integrations_outbox_queue (self, turn->platform, turn->chat_id, first->id,
                                         "placeholder", PLACEHOLDER, turn->reply_data, NULL,
                                         &error))
        g_warning ("%s: cannot queue a placeholder: %s", turn->platform, error->message);
      cw_integrations_outbox_flush (self, turn->platform);
    }
  if (cw_integrations_attachments_any (rows))
    cw_integrations_attachments_fetch (self, rows, on_attachments_fetched, turn_ref (turn),
                                       (GDestroyNotify) turn_unref);
  else
    send_turn (turn, NULL);
}

/* The rows waiting for @key, oldest first. */
static GPtrArray *
waiting_rows (CwIntegrationsPlugin *self, const gchar *key)
{
  const gchar *colon = strchr (key, ':');
  g_autofree gchar *platform = NULL;

  if (g_str_equal (key, "shared") || colon == NULL)
    return cw_integrations_store_list_received (self->store, NULL, NULL);
  platform = g_strndup (key, colon - key);
  return cw_integrations_store_list_received (self->store, platform, colon + 1);
}

typedef struct
{
  CwIntegrationsPlugin *self;
  gchar *key;
  gchar *title;
} Creating;

static void
on_session_created (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Creating *c = user_data;
  CwIntegrationsPlugin *self = c->self;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) reply = cw_plugin_call_finish (CW_PLUGIN (source), result, &error);
  const gchar *id = NULL;

  g_hash_table_remove (self->creating, c->key);
  if (reply != NULL && JSON_NODE_HOLDS_OBJECT (reply))
    id = item_string (json_node_get_object (reply), "id");
  if (id == NULL)
    g_warning ("cannot create the session of %s: %s", c->key,
               error != NULL ? error->message : "create_session gave no id");
  else if (!cw_integrations_store_set_chat_session (self->store, c->key, id, c->title, &error))
    g_warning ("cannot store the session of %s: %s", c->key, error->message);
  if (id != NULL && !self->stopping)
    pump (self, c->key);
  else if (id == NULL && !self->stopping)
    {
      /* Tell the chat instead of leaving it waiting; the messages stay for a later try. */
      g_autoptr (GPtrArray) rows = waiting_rows (self, c->key);
      for (guint i = 0; i < rows->len; i++)
        {
          CwIntegrationsInbound *row = g_ptr_array_index (rows, i);
          set_status (self, row->id, "failed", NULL);
          say (self, row, "reply", ERROR_FALLBACK);
        }
    }
  g_free (c->key);
  g_free (c->title);
  g_free (c);
}

static gchar *
session_title (CwIntegrationsPlugin *self, CwIntegrationsInbound *row)
{
  const CwIntegrationPlatform *p = cw_integrations_platform_lookup (row->platform);
  g_autofree gchar *title = NULL;

  if (shared_mode (self))
    title = collapse (row->text);
  else
    title = g_strdup_printf ("%s: %s", p != NULL ? p->display_name : row->platform,
                             row->chat_title != NULL ? row->chat_title : row->chat_id);
  if (*title == '\0')
    {
      g_free (title);
      title = g_strdup ("Shared Session");
    }
  if (g_utf8_strlen (title, -1) > TITLE_MAX)
    {
      gchar *end = g_utf8_offset_to_pointer (title, TITLE_MAX - 3);
      *end = '\0';
      return g_strconcat (title, "...", NULL);
    }
  return g_steal_pointer (&title);
}

static void
create_session (CwIntegrationsPlugin *self, const gchar *key, CwIntegrationsInbound *row)
{
  g_autoptr (JsonNode) params = params_new (NULL);
  JsonObject *obj = json_node_get_object (params);
  g_autofree gchar *dir
      = cw_integrations_store_get_setting (self->store, "sharedSessionWorkingDirectory");
  Creating *c = g_new0 (Creating, 1);

  c->self = self;
  c->key = g_strdup (key);
  c->title = session_title (self, row);
  g_hash_table_add (self->creating, g_strdup (key));
  json_object_set_string_member (
      obj, "workingDirectory",
      dir != NULL && g_file_test (dir, G_FILE_TEST_IS_DIR) ? dir : g_get_home_dir ());
  json_object_set_string_member (obj, "type", "integration");
  json_object_set_string_member (obj, "title", c->title);
  cw_plugin_call (CW_PLUGIN (self), NULL, "create_session", params, NULL, on_session_created, c);
}

/* Runs the next turn of @key if it is idle. */
static void
pump (CwIntegrationsPlugin *self, const gchar *key)
{
  g_autoptr (GPtrArray) rows = NULL;
  g_autoptr (GPtrArray) batch = NULL;
  g_autofree gchar *session = NULL;
  CwIntegrationsInbound *first;
  guint same_chat = 0;

  if (self->stopping || !self->started || g_hash_table_contains (self->turns, key)
      || g_hash_table_contains (self->creating, key))
    return;
  rows = waiting_rows (self, key);
  if (rows->len == 0)
    return;
  first = g_ptr_array_index (rows, 0);
  session = cw_integrations_store_get_chat_session (self->store, key);
  if (session == NULL)
    {
      create_session (self, key, first);
      return;
    }
  batch = g_ptr_array_new ();
  for (guint i = 0; i < rows->len; i++)
    {
      CwIntegrationsInbound *row = g_ptr_array_index (rows, i);
      if (g_str_equal (row->platform, first->platform)
          && g_str_equal (row->chat_id, first->chat_id))
        same_chat++;
    }
  if (same_chat >= (guint) self->merge_threshold)
    {
      for (guint i = 0; i < rows->len; i++)
        {
          CwIntegrationsInbound *row = g_ptr_array_index (rows, i);
          if (g_str_equal (row->platform, first->platform)
              && g_str_equal (row->chat_id, first->chat_id))
            g_ptr_array_add (batch, row);
        }
    }
  else
    g_ptr_array_add (batch, first);
  if (cw_integrations_attachments_any (batch))
    {
      /* the files are fetched through the platform: wait until it is there */
      CwIntegrationsLink *link = cw_integrations_plugin_get_link (self, first->platform);
      if (link == NULL || link->adapter == NULL || !link->connected)
        return;
    }
  start_turn (self, key, session, batch);
}

/* ---- prompts --------------------------------------------------------------------------------- */

static CwIntegrationsTurn *
turn_of_session (CwIntegrationsPlugin *self, const gchar *session_id)
{
  GHashTableIter iter;
  gpointer value;

  if (session_id == NULL)
    return NULL;
  g_hash_table_iter_init (&iter, self->turns);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    if (g_strcmp0 (((CwIntegrationsTurn *) value)->session_id, session_id) == 0)
      return value;
  return NULL;
}

static JsonArray *
question_options (JsonObject *request)
{
  JsonNode *node = json_object_get_member (request, "options");

  return node != NULL && JSON_NODE_HOLDS_ARRAY (node) ? json_node_get_array (node) : NULL;
}

static gchar *
prompt_text (const gchar *kind, JsonObject *request)
{
  GString *out = g_string_new (NULL);

  if (g_str_equal (kind, "permission"))
    {
      const gchar *reason = item_string (request, "reason");
      g_string_append_printf (out, "Permission required: %s\n",
                              reason != NULL ? reason : item_string (request, "resource"));
      g_string_append (out, "1. Allow once\n2. Allow for this session\n3. Deny\n"
                            "Reply with the number of your choice.");
      return g_string_free (out, FALSE);
    }
  {
    JsonArray *options = question_options (request);
    JsonNode *custom = json_object_get_member (request, "allowCustom");
    g_string_append_printf (out, "Action required:\n%s", item_string (request, "question"));
    for (guint i = 0; options != NULL && i < json_array_get_length (options); i++)
      {
        JsonObject *option = json_array_get_object_element (options, i);
        g_string_append_printf (out, "\n%u. %s", i + 1,
                                option != NULL && item_string (option, "label") != NULL
                                    ? item_string (option, "label")
                                    : "?");
      }
    if (options != NULL && json_array_get_length (options) > 0)
      g_string_append (out, custom == NULL || json_node_get_boolean (custom)
                                ? "\nReply with a number, or with your own answer."
                                : "\nReply with a number.");
  }
  return g_string_free (out, FALSE);
}

static void
relay_prompt (CwIntegrationsPlugin *self, const gchar *kind, CwEvent *event)
{
  CwIntegrationsTurn *turn = turn_of_session (self, cw_event_get_session_id (event));
  JsonNode *node = json_object_get_member (cw_event_get_data (event), "request");
  JsonObject *request
      = node != NULL && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
  const gchar *id = request != NULL ? item_string (request, "id") : NULL;
  g_autoptr (GError) error = NULL;
  g_autofree gchar *text = NULL;
  gboolean duplicate;

  if (turn == NULL || id == NULL)
    return;
  if (!cw_integrations_store_put_prompt (self->store, id, kind, turn->session_id, turn->platform,
                                         turn->chat_id, turn->sender_id, request, &duplicate,
                                         &error))
    {
      g_warning ("%s: cannot keep prompt %s: %s", turn->platform, id, error->message);
      return;
    }
  if (duplicate)
    return;
  text = prompt_text (kind, request);
  if (!cw_integrations_outbox_queue (self, turn->platform, turn->chat_id, 0, "prompt", text,
                                     turn->reply_data, NULL, &error))
    g_warning ("%s: cannot relay prompt %s: %s", turn->platform, id, error->message);
  cw_integrations_outbox_flush (self, turn->platform);
}

static void
on_answered (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autofree gchar *id = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) reply = cw_plugin_call_finish (CW_PLUGIN (source), result, &error);

  if (reply == NULL)
    g_warning ("answering %s from a chat: %s", id, error->message);
}

static gboolean
parse_choice (const gchar *text, guint n, guint *choice)
{
  guint64 value;
  g_autofree gchar *trimmed = g_strstrip (g_strdup (text != NULL ? text : ""));

  if (!g_ascii_string_to_unsigned (trimmed, 10, 1, MAX (n, 1), &value, NULL))
    return FALSE;
  *choice = (guint) value;
  return TRUE;
}

/* The answer of @text to the prompt, or NULL when it is not one (with the hint to send). */
static JsonNode *
prompt_answer (const gchar *kind, JsonObject *request, const gchar *text, gchar **hint)
{
  guint choice;
  g_autofree gchar *word = g_utf8_casefold (g_strstrip (g_strdup (text)), -1);

  if (g_str_equal (kind, "permission"))
    {
      static const gchar *const decisions[] = { "allow_once", "allow_session", "deny" };
      if (parse_choice (word, 3, &choice))
        return json_node_init_string (json_node_alloc (), decisions[choice - 1]);
      if (g_str_equal (word, "allow") || g_str_equal (word, "yes"))
        return json_node_init_string (json_node_alloc (), "allow_once");
      if (g_str_equal (word, "deny") || g_str_equal (word, "no"))
        return json_node_init_string (json_node_alloc (), "deny");
      *hint = g_strdup ("Please reply with 1 (allow once), 2 (allow for this session) or 3 "
                        "(deny).");
      return NULL;
    }
  {
    JsonArray *options = question_options (request);
    guint n = options != NULL ? json_array_get_length (options) : 0;
    JsonNode *custom = json_object_get_member (request, "allowCustom");
    if (n > 0 && parse_choice (word, n, &choice))
      {
        JsonObject *option = json_array_get_object_element (options, choice - 1);
        const gchar *value = option != NULL ? item_string (option, "value") : NULL;
        if (value == NULL && option != NULL)
          value = item_string (option, "label");
        return json_node_init_string (json_node_alloc (), value != NULL ? value : "");
      }
    if (n == 0 || custom == NULL || json_node_get_boolean (custom))
      return json_node_init_string (json_node_alloc (), text != NULL ? text : "");
    *hint = g_strdup_printf ("Please reply with a number from 1 to %u.", n);
    return NULL;
  }
}

/* TRUE when @row was about a prompt of its chat (answered, refused or hinted). */
static gboolean
handle_prompt_reply (CwIntegrationsPlugin *self, CwIntegrationsInbound *row)
{
  g_autofree gchar *id = NULL, *kind = NULL, *session = NULL, *owner = NULL, *hint = NULL;
  g_autoptr (JsonObject) request = NULL;
  g_autoptr (JsonNode) answer = NULL;
  g_autoptr (JsonNode) params = NULL;
  gboolean permission;

  if (!cw_integrations_store_get_open_prompt (self->store, row->platform, row->chat_id, &id, &kind,
                                              &session, &owner, &request))
    return FALSE;
  if (!g_str_equal (owner, row->sender_id))
    {
      g_autofree gchar *text
          = g_strdup_printf ("Only %s can answer the pending request of this conversation.", owner);
      set_status (self, row->id, "refused", NULL);
      say (self, row, "refusal", text);
      return TRUE;
    }
  answer = prompt_answer (kind, request, row->text, &hint);
  if (answer == NULL)
    {
      set_status (self, row->id, "refused", NULL);
      say (self, row, "hint", hint);
      return TRUE;
    }
  permission = g_str_equal (kind, "permission");
  params = params_new (session);
  json_object_set_string_member (json_node_get_object (params),
                                 permission ? "permissionId" : "questionId", id);
  json_object_set_member (json_node_get_object (params), permission ? "decision" : "answer",
                          json_node_ref (answer));
  cw_integrations_store_close_prompt (self->store, id, NULL);
  set_status (self, row->id, "answer", session);
  cw_plugin_call (CW_PLUGIN (self), NULL, permission ? "respond_permission" : "respond_question",
                  params, NULL, on_answered, g_strdup (id));
  say (self, row, "ack", "Acknowledged. Continuing the pending run.");
  return TRUE;
}

/* ---- inbound ------------------------------------------------------------------------------ */

static void
emit_message_in (CwIntegrationsPlugin *self, CwIntegrationsInbound *row)
{
  JsonObject *data = json_object_new ();
  g_autofree gchar *content = NULL;

  if (row->text == NULL || *row->text == '\0')
    content = g_strdup ("[attachment]");
  else if (g_utf8_strlen (row->text, -1) > 100)
    content = g_utf8_substring (row->text, 0, 100);
  else
    content = g_strdup (row->text);
  json_object_set_string_member (data, "platform", row->platform);
  json_object_set_string_member (data, "sender",
                                 row->sender_name != NULL ? row->sender_name : row->sender_id);
  json_object_set_string_member (data, "content", content);
  json_object_set_int_member (data, "timestamp", row->timestamp);
  cw_plugin_emit (CW_PLUGIN (self), "integration:message_in", NULL, data);
}

static void
tell_queued (CwIntegrationsPlugin *self, CwIntegrationsInbound *row, const gchar *key)
{
  const CwIntegrationPlatform *platform = cw_integrations_platform_lookup (row->platform);
  g_autoptr (GPtrArray) rows = waiting_rows (self, key);
  g_autofree gchar *text = g_strdup_printf (
      "Message received. Processing previous request... (%u in queue)", rows->len);
  JsonObject *data = json_object_new ();

  json_object_set_string_member (data, "platform", row->platform);
  json_object_set_int_member (data, "queueSize", rows->len);
  json_object_set_int_member (data, "timestamp", cw_now_ms ());
  cw_plugin_emit (CW_PLUGIN (self), "integration:queued", NULL, data);
  if (platform == NULL || !platform->quiet_queue)
    say (self, row, "queued", text);
}

void
cw_integrations_router_inbound (CwIntegrationsPlugin *self, gint64 inbound_id)
{
  g_autoptr (CwIntegrationsInbound) row
      = cw_integrations_store_get_inbound (self->store, inbound_id);
  const CwIntegrationPlatform *platform;
  g_autoptr (JsonObject) config = NULL;
  g_autofree gchar *denial = NULL;
  g_autofree gchar *key = NULL;

  if (row == NULL || (platform = cw_integrations_platform_lookup (row->platform)) == NULL)
    return;
  emit_message_in (self, row);
  if (!cw_integrations_store_get_platform (self->store, row->platform, NULL, &config, NULL))
    config = json_object_new ();
  if (!allowed (platform, config, row, &denial))
    {
      g_message ("%s: %s is not on the allowlist", row->platform, row->sender_id);
      set_status (self, row->id, "denied", NULL);
      say (self, row, "denial", denial);
      return;
    }
  if (handle_prompt_reply (self, row))
    return;
  key = session_key (self, row->platform, row->chat_id);
  if (g_hash_table_contains (self->turns, key) || g_hash_table_contains (self->creating, key))
    {
      tell_queued (self, row, key);
      return;
    }
  pump (self, key);
}

/* ---- streaming ------------------------------------------------------------------------------ */

static void stream_edit (CwIntegrationsTurn *turn);

typedef struct
{
  CwIntegrationsTurn *turn;
  gchar *row_id;
} StreamEdit;

static void
on_stream_edited (GObject *source, GAsyncResult *result, gpointer user_data)
{
  StreamEdit *edit = user_data;
  CwIntegrationsTurn *turn = edit->turn;
  CwIntegrationsPlugin *self = turn->plugin;
  g_autoptr (GError) error = NULL;

  if (!cw_integration_adapter_edit_finish (CW_INTEGRATION_ADAPTER (source), result, &error))
    g_debug ("%s: a streamed edit in %s failed: %s", turn->platform, turn->chat_id, error->message);
  turn->editing = FALSE;
  if (!self->stopping)
    {
      g_hash_table_remove (self->editing, edit->row_id);
      if (turn->dirty && !turn->finishing)
        stream_edit (turn);
      /* the reply may wait for this edit */
      cw_integrations_outbox_flush (self, turn->platform);
    }
  g_free (edit->row_id);
  g_free (edit);
  turn_unref (turn);
}

static gboolean
on_edit_due (gpointer user_data)
{
  CwIntegrationsTurn *turn = user_data;

  turn->edit_timer = 0;
  stream_edit (turn);
  return G_SOURCE_REMOVE;
}

/* Edits the placeholder with the streamed text: one edit in flight, one a second. */
static void
stream_edit (CwIntegrationsTurn *turn)
{
  CwIntegrationsPlugin *self = turn->plugin;
  CwIntegrationsLink *link = cw_integrations_plugin_get_link (self, turn->platform);
  const CwIntegrationPlatform *p = cw_integrations_platform_lookup (turn->platform);
  gint64 now = g_get_monotonic_time ();
  g_autofree gchar *message_id = NULL, *row_id = NULL, *text = NULL;
  StreamEdit *edit;

  turn->dirty = TRUE;
  if (turn->finishing || self->stopping || turn->editing || turn->edit_timer != 0
      || turn->inbound->len == 0)
    return;
  if (turn->last_edit_us > 0 && now - turn->last_edit_us < EDIT_INTERVAL_US)
    {
      turn->edit_timer = g_timeout_add_full (
          G_PRIORITY_DEFAULT, (guint) ((turn->last_edit_us + EDIT_INTERVAL_US - now) / 1000) + 1,
          on_edit_due, turn_ref (turn), (GDestroyNotify) turn_unref);
      return;
    }
  /* The placeholder not sent (yet, or at all): the reply carries the text. */
  message_id = cw_integrations_outbox_placeholder (self, g_array_index (turn->inbound, gint64, 0),
                                                   &row_id);
  if (message_id == NULL || link == NULL || !link->connected || link->adapter == NULL)
    return;
  text = cw_integrations_format_text (turn->platform, turn->streamed->str,
                                      p != NULL ? p->max_length : 8000);
  if (*text == '\0')
    return;
  turn->dirty = FALSE;
  turn->editing = TRUE;
  turn->last_edit_us = now;
  g_hash_table_add (self->editing, g_strdup (row_id));
  edit = g_new0 (StreamEdit, 1);
  edit->turn = turn_ref (turn);
  edit->row_id = g_steal_pointer (&row_id);
  cw_integration_adapter_edit_async (link->adapter, turn->chat_id, message_id, text, NULL,
                                     on_stream_edited, edit);
}

static void
stream_chunk (CwIntegrationsTurn *turn, JsonObject *data)
{
  const gchar *content = data != NULL ? item_string (data, "content") : NULL;

  if (turn == NULL || content == NULL || *content == '\0' || turn->finishing
      || !cw_integrations_platform_can (turn->platform, CW_INTEGRATION_CAP_EDIT))
    return;
  g_string_append (turn->streamed, content);
  stream_edit (turn);
}

/* ---- the agent's events -------------------------------------------------------------------- */

void
cw_integrations_router_handle_event (CwIntegrationsPlugin *self, CwEvent *event)
{
  const gchar *type = cw_event_get_type_name (event);
  JsonObject *data = cw_event_get_data (event);

  if (self->stopping)
    return;
  if (g_str_equal (type, "permission:request"))
    relay_prompt (self, "permission", event);
  else if (g_str_equal (type, "question:ask"))
    relay_prompt (self, "question", event);
  else if (g_str_equal (type, "permission:resolved") || g_str_equal (type, "question:answered"))
    {
      /* Answered elsewhere (the desktop, a phone): the chat's prompt is over. */
      const gchar *id = item_string (
          data, g_str_equal (type, "permission:resolved") ? "permissionId" : "questionId");
      if (id != NULL)
        cw_integrations_store_close_prompt (self->store, id, NULL);
    }
  else if (g_str_equal (type, "stream:start"))
    {
      /* a new turn of the session: what came before (a replay after a restart) is not it */
      CwIntegrationsTurn *turn = turn_of_session (self, cw_event_get_session_id (event));
      if (turn != NULL)
        g_string_truncate (turn->streamed, 0);
    }
  else if (g_str_equal (type, "stream:chunk"))
    stream_chunk (turn_of_session (self, cw_event_get_session_id (event)), data);
  else if (g_str_equal (type, "stream:done"))
    {
      CwIntegrationsTurn *turn = turn_of_session (self, cw_event_get_session_id (event));
      /* A turn re-attached after a restart ends with the agent's stream, not our call. */
      if (turn != NULL && turn->attached)
        read_reply (turn);
    }
}

/* ---- restart ----------------------------------------------------------------------------------
 */

static gboolean
session_has_open_prompt (CwIntegrationsPlugin *self, CwIntegrationsInbound *row)
{
  g_autofree gchar *id = NULL, *kind = NULL, *session = NULL, *owner = NULL;
  g_autoptr (JsonObject) request = NULL;

  return cw_integrations_store_get_open_prompt (self->store, row->platform, row->chat_id, &id,
                                                &kind, &session, &owner, &request)
         && g_strcmp0 (session, row->session_id) == 0;
}

void
cw_integrations_router_recover (CwIntegrationsPlugin *self)
{
  g_autoptr (GPtrArray) dispatched = cw_integrations_store_list_inbound (self->store, "dispatched");

  cw_integrations_attachments_sweep (self);
  for (guint i = 0; i < dispatched->len; i++)
    {
      CwIntegrationsInbound *row = g_ptr_array_index (dispatched, i);
      g_autofree gchar *row_key = session_key (self, row->platform, row->chat_id);
      CwIntegrationsTurn *turn = g_hash_table_lookup (self->turns, row_key);

      if (turn != NULL && g_strcmp0 (turn->session_id, row->session_id) == 0)
        {
          g_array_append_val (turn->inbound, row->id);
          continue;
        }
      if (turn == NULL && row->session_id != NULL && session_has_open_prompt (self, row))
        {
          /* The turn waits for an answer the agent kept: wait for it to end. */
          turn = g_new0 (CwIntegrationsTurn, 1);
          turn->plugin = self;
          turn->refs = 1;
          turn->key = g_strdup (row_key);
          turn->session_id = g_strdup (row->session_id);
          turn->platform = g_strdup (row->platform);
          turn->chat_id = g_strdup (row->chat_id);
          turn->sender_id = g_strdup (row->sender_id);
          turn->reply_data = g_strdup (row->reply_data);
          turn->attached = TRUE;
          turn->inbound = g_array_new (FALSE, FALSE, sizeof (gint64));
          turn->streamed = g_string_new (NULL);
          g_array_append_val (turn->inbound, row->id);
          g_hash_table_insert (self->turns, turn->key, turn);
          continue;
        }
      /* The turn was cut by the stop: it runs again. */
      set_status (self, row->id, "received", NULL);
    }
  cw_integrations_router_resume (self);
}

void
cw_integrations_router_resume (CwIntegrationsPlugin *self)
{
  g_autoptr (GPtrArray) received = NULL;
  g_autoptr (GHashTable) keys = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  GHashTableIter iter;
  gpointer key;

  received = cw_integrations_store_list_inbound (self->store, "received");
  for (guint i = 0; i < received->len; i++)
    {
      CwIntegrationsInbound *row = g_ptr_array_index (received, i);
      g_hash_table_add (keys, session_key (self, row->platform, row->chat_id));
    }
  g_hash_table_iter_init (&iter, keys);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    pump (self, key);
}

void
cw_integrations_router_stop (CwIntegrationsPlugin *self)
{
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, self->turns);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      turn_unref (value);
      g_hash_table_iter_remove (&iter);
    }
}
