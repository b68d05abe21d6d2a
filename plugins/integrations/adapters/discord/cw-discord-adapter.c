/* cw-discord-adapter.c: Discord through the Gateway v10 (events) and the REST API v10.
 *
 * Connect: GET users/@me ("Bot <token>": identity, the round trip) and GET gateway/bot, then
 * the Gateway WebSocket (?v=10&encoding=json). On op 10 Hello the adapter heartbeats (op 1
 * every heartbeat_interval; a beat whose op 11 ACK has not come when the next one is due
 * means a zombie connection: it is closed and resumed) and either resumes its session (op 6
 * with session_id and the last sequence number, on resume_gateway_url) or identifies (op 2
 * with the GUILD_MESSAGES, DIRECT_MESSAGES and MESSAGE_CONTENT intents). The connect
 * finishes on READY or RESUMED.
 *
 * The session (id, resume URL, sequence number) is stored with every message in the same
 * ledger transaction, so after a dropped connection, an op 7 Reconnect or a daemon restart
 * the adapter resumes where the ledger ends and Discord replays what came after: nothing is
 * lost, and a replayed message already in the ledger is a duplicate the core drops. A
 * message the ledger refused is fetched again the same way (the adapter resumes from the
 * sequence before it). op 9 Invalid Session (not resumable) starts a new session after 1-2 s;
 * Discord replays nothing then, so after the READY of a new session the adapter fetches what
 * came meanwhile over REST (GET channels/{id}/messages?after=) for the channels it knows (the
 * newest message taken from each is stored with the session, for the 64 latest). A close with 4004
 * (authentication failed) or 4010-4014 (the bot's setup) needs the user; other closes resume at
 * once, and a second failure in a row is a lost connection (the core reconnects with backoff).
 *
 * Messages: MESSAGE_CREATE from people (bots and the bot itself skipped), filtered by
 * allowedGuildIds, allowedChannelIds and allowDirectMessages; no mention needed. The dedupe
 * key is the message's snowflake. Replies: POST channels/{id}/messages, split at Discord's
 * 2000 characters, replying to the message, with a nonce (enforce_nonce) derived from the
 * outbound id so that a retry of the same part is not posted twice; streaming by PATCH (an
 * edit past 2000 characters continues in messages after the edited one);
 * typing by POST channels/{id}/typing; generated images and videos as a multipart message
 * (payload_json and files[0]). A message's attachments[] reach the agent, fetched from their
 * CDN url. Health: GET users/@me.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "../cloud/cw-cloud-download.h"
#include "../cloud/cw-cloud-http.h"
#include "../cloud/cw-cloud-parts.h"
#include "../cloud/cw-cloud-task.h"
#include "../cw-integrations-adapters.h"

#include <string.h>

#define DISCORD_MAX_CHARS 2000
#define DISCORD_INTENTS   ((1 << 9) | (1 << 12) | (1 << 15))

struct _CwDiscordAdapter
{
  CwIntegrationAdapter parent_instance;
  SoupSession *session;
  GCancellable *cancellable;
  gchar *api;
  gchar *auth;
  gchar *token;
  gchar *bot_id;
  gchar *gateway_url;
  GStrv guilds;
  GStrv channels;
  gboolean allow_dm;

  gchar *session_id;
  gchar *resume_url;
  gint64 seq;
  JsonObject *positions; /* channel id -> newest message id taken from it */
  GHashTable *overflow;  /* message id -> GPtrArray of the ids continuing it (long edits) */

  SoupWebsocketConnection *socket;
  guint heartbeat_source;
  gboolean ack_pending;
  GTask *connect_task;
  gboolean reopening; /* closed once since the last READY/RESUMED */
  guint reopen_source;
};

G_DECLARE_FINAL_TYPE (CwDiscordAdapter, cw_discord_adapter, CW, DISCORD_ADAPTER,
                      CwIntegrationAdapter)
G_DEFINE_FINAL_TYPE (CwDiscordAdapter, cw_discord_adapter, CW_TYPE_INTEGRATION_ADAPTER)

static void open_gateway (CwDiscordAdapter *self);

/* ---- the stored session ------------------------------------------------------------- */

#define MAX_CHANNELS 64 /* positions kept for the catch-up of a new session */

static gchar *
session_state (CwDiscordAdapter *self, gint64 seq)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonNode) node = NULL;

  json_builder_begin_object (b);
  if (self->session_id != NULL)
    {
      json_builder_set_member_name (b, "sessionId");
      json_builder_add_string_value (b, self->session_id);
      json_builder_set_member_name (b, "resumeUrl");
      json_builder_add_string_value (b, self->resume_url);
      json_builder_set_member_name (b, "seq");
      json_builder_add_int_value (b, seq);
    }
  json_builder_set_member_name (b, "channels");
  json_builder_add_value (b, json_node_init_object (json_node_alloc (), self->positions));
  json_builder_end_object (b);
  node = json_builder_get_root (b);
  return json_to_string (node, FALSE);
}

/* Snowflakes compare as numbers. */
static gint
snowflake_cmp (const gchar *a, const gchar *b)
{
  gsize la = strlen (a), lb = strlen (b);

  return la != lb ? (la < lb ? -1 : 1) : strcmp (a, b);
}

static void
note_position (CwDiscordAdapter *self, const gchar *channel, const gchar *id)
{
  const gchar *known = json_object_get_string_member_with_default (self->positions, channel, NULL);

  if (known != NULL && snowflake_cmp (id, known) <= 0)
    return;
  if (known == NULL && json_object_get_size (self->positions) >= MAX_CHANNELS)
    {
      /* forget the channel quiet for longest */
      g_autoptr (GList) names = json_object_get_members (self->positions);
      const gchar *oldest = NULL;
      for (GList *l = names; l != NULL; l = l->next)
        if (oldest == NULL
            || snowflake_cmp (json_object_get_string_member (self->positions, l->data),
                              json_object_get_string_member (self->positions, oldest))
                   < 0)
          oldest = l->data;
      json_object_remove_member (self->positions, oldest);
    }
  json_object_set_string_member (self->positions, channel, id);
}

static void
save_session (CwDiscordAdapter *self)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *state
      = self->session_id != NULL ? session_state (self, self->seq) : g_strdup ("{}");

  if (!cw_integration_adapter_set_state (CW_INTEGRATION_ADAPTER (self), "session", state, &error))
    g_warning ("discord: cannot store the gateway session: %s", error->message);
}

static void
load_session (CwDiscordAdapter *self)
{
  g_autofree gchar *state
      = cw_integration_adapter_get_state (CW_INTEGRATION_ADAPTER (self), "session");
  g_autoptr (JsonNode) node = state != NULL ? cw_json_from_string (state, -1, NULL) : NULL;
  JsonObject *obj
      = node != NULL && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;

  g_clear_pointer (&self->session_id, g_free);
  g_clear_pointer (&self->resume_url, g_free);
  self->seq = 0;
  g_clear_pointer (&self->positions, json_object_unref);
  self->positions = obj != NULL && json_object_has_member (obj, "channels")
                            && JSON_NODE_HOLDS_OBJECT (json_object_get_member (obj, "channels"))
                        ? json_object_ref (json_object_get_object_member (obj, "channels"))
                        : json_object_new ();
  if (obj == NULL || !json_object_has_member (obj, "sessionId"))
    return;
  self->session_id = g_strdup (json_object_get_string_member (obj, "sessionId"));
  self->resume_url = g_strdup (json_object_get_string_member_with_default (obj, "resumeUrl", NULL));
  self->seq = json_object_get_int_member_with_default (obj, "seq", 0);
}

static void
forget_session (CwDiscordAdapter *self)
{
  g_clear_pointer (&self->session_id, g_free);
  g_clear_pointer (&self->resume_url, g_free);
  self->seq = 0;
  save_session (self);
}

/* ---- the gateway ------------------------------------------------------------------------ */

static void
send_payload (CwDiscordAdapter *self, gint op, JsonNode *d)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonNode) node = NULL;
  g_autofree gchar *text = NULL;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "op");
  json_builder_add_int_value (b, op);
  json_builder_set_member_name (b, "d");
  json_builder_add_value (b, d != NULL ? d : json_node_new (JSON_NODE_NULL));
  json_builder_end_object (b);
  node = json_builder_get_root (b);
  text = json_to_string (node, FALSE);
  if (self->socket != NULL
      && soup_websocket_connection_get_state (self->socket) == SOUP_WEBSOCKET_STATE_OPEN)
    soup_websocket_connection_send_text (self->socket, text);
}

static void
close_socket (CwDiscordAdapter *self)
{
  g_clear_handle_id (&self->heartbeat_source, g_source_remove);
  if (self->socket == NULL)
    return;
  g_signal_handlers_disconnect_by_data (self->socket, self);
  if (soup_websocket_connection_get_state (self->socket) == SOUP_WEBSOCKET_STATE_OPEN)
    /* not 1000/1001: those end the session on Discord's side, and we want to resume it */
    soup_websocket_connection_close (self->socket, 4900, "reconnecting");
  g_clear_object (&self->socket);
}

static void
finish_connect (CwDiscordAdapter *self, GError *error)
{
  GTask *task = g_steal_pointer (&self->connect_task);

  if (task == NULL)
    {
      if (error != NULL)
        g_error_free (error);
      return;
    }
  if (error != NULL)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
  g_object_unref (task);
}

/* The connection ended by itself: resume at once, once; a second failure in a row goes to
 * the core's backoff. */
static void
connection_failed (CwDiscordAdapter *self, GError *error, gboolean requires_reconnect)
{
  close_socket (self);
  if (self->connect_task != NULL)
    {
      finish_connect (self, error);
      return;
    }
  if (!requires_reconnect && !self->reopening)
    {
      g_debug ("discord: %s; resuming", error->message);
      g_error_free (error);
      self->reopening = TRUE;
      open_gateway (self);
      return;
    }
  cw_integration_adapter_report_lost (CW_INTEGRATION_ADAPTER (self), error, requires_reconnect);
  g_error_free (error);
}

static gboolean
heartbeat (gpointer user_data)
{
  CwDiscordAdapter *self = user_data;

  if (self->ack_pending)
    {
      self->heartbeat_source = 0;
      connection_failed (
          self, g_error_new (CW_ERROR, CW_ERROR_FAILED, "Discord did not acknowledge a heartbeat"),
          FALSE);
      return G_SOURCE_REMOVE;
    }
  self->ack_pending = TRUE;
  send_payload (self, 1, self->seq > 0 ? json_node_init_int (json_node_alloc (), self->seq) : NULL);
  return G_SOURCE_CONTINUE;
}

static void
identify_or_resume (CwDiscordAdapter *self)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "token");
  json_builder_add_string_value (b, self->token);
  if (self->session_id != NULL)
    {
      json_builder_set_member_name (b, "session_id");
      json_builder_add_string_value (b, self->session_id);
      json_builder_set_member_name (b, "seq");
      json_builder_add_int_value (b, self->seq);
      json_builder_end_object (b);
      send_payload (self, 6, json_builder_get_root (b));
      return;
    }
  json_builder_set_member_name (b, "intents");
  json_builder_add_int_value (b, DISCORD_INTENTS);
  json_builder_set_member_name (b, "properties");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "os");
  json_builder_add_string_value (b, "linux");
  json_builder_set_member_name (b, "browser");
  json_builder_add_string_value (b, "coworkd");
  json_builder_set_member_name (b, "device");
  json_builder_add_string_value (b, "coworkd");
  json_builder_end_object (b);
  json_builder_end_object (b);
  send_payload (self, 2, json_builder_get_root (b));
}

static gboolean
allowed (CwDiscordAdapter *self, JsonObject *message)
{
  const gchar *guild = json_object_get_string_member_with_default (message, "guild_id", NULL);
  const gchar *channel = json_object_get_string_member_with_default (message, "channel_id", "");

  if (guild == NULL)
    return self->allow_dm;
  if (self->guilds[0] != NULL && !g_strv_contains ((const gchar *const *) self->guilds, guild))
    return FALSE;
  if (self->channels[0] != NULL
      && !g_strv_contains ((const gchar *const *) self->channels, channel))
    return FALSE;
  return TRUE;
}

/* A message's attachments[]: the reference is the CDN url (signed, fetched without the bot
 * token). */
static const CwCloudFileKeys discord_files = {
  .ref = "url",
  .ref_fallback = "proxy_url",
  .name = "filename",
  .mime_type = "content_type",
  .size = "size",
  .duration = "duration_secs",
  .default_name = "file",
};

static void
receive_message (CwDiscordAdapter *self, JsonObject *message, gint64 seq)
{
  JsonObject *author = json_object_has_member (message, "author")
                           ? json_object_get_object_member (message, "author")
                           : NULL;
  const gchar *id = json_object_get_string_member_with_default (message, "id", NULL);
  const gchar *channel = json_object_get_string_member_with_default (message, "channel_id", NULL);
  const gchar *content = json_object_get_string_member_with_default (message, "content", "");
  const gchar *author_id, *name;
  g_autofree gchar *state = NULL;
  g_autofree gchar *title = NULL;
  g_autoptr (JsonObject) reply_data = NULL;
  g_autoptr (GError) error = NULL;
  gboolean duplicate;
  JsonArray *attachments;
  CwIntegrationAttachment files[10];
  guint n_files;

  if (author == NULL || id == NULL || channel == NULL
      || json_object_get_boolean_member_with_default (author, "bot", FALSE))
    return;
  author_id = json_object_get_string_member_with_default (author, "id", "");
  if (g_strcmp0 (author_id, self->bot_id) == 0 || !allowed (self, message))
    return;
  attachments = json_object_has_member (message, "attachments")
                    ? json_object_get_array_member (message, "attachments")
                    : NULL;
  n_files = cw_cloud_describe_files (attachments, &discord_files, files, G_N_ELEMENTS (files));
  if (*content == '\0')
    {
      if (attachments == NULL || json_array_get_length (attachments) == 0)
        return; /* nothing readable (no MESSAGE_CONTENT intent, or an embed only) */
      if (n_files == 0)
        content = "Attachment received.";
    }
  name = json_object_get_string_member_with_default (
      author, "global_name", json_object_get_string_member_with_default (author, "username", NULL));
  if (json_object_get_null_member (author, "global_name"))
    name = json_object_get_string_member_with_default (author, "username", author_id);
  note_position (self, channel, id);
  state = session_state (self, seq);
  title = json_object_has_member (message, "guild_id") ? g_strdup_printf ("#%s", channel)
                                                       : g_strdup (name);
  reply_data = json_object_new ();
  json_object_set_string_member (reply_data, "message_id", id);
  {
    CwIntegrationInbound inbound = {
      .message_id = id,
      .chat_id = channel,
      .chat_title = title,
      .sender_id = author_id,
      .sender_name = name,
      .text = content,
      .reply_data = reply_data,
      .state_key = "session",
      .state_value = state,
      .attachments = files,
      .n_attachments = n_files,
    };
    if (cw_integration_adapter_receive (CW_INTEGRATION_ADAPTER (self), &inbound, &duplicate,
                                        &error))
      return;
  }
  /* not stored: resume from just before it, so that Discord sends it again */
  g_warning ("discord: message %s not stored, asking Discord again: %s", id, error->message);
  self->seq = seq - 1;
  connection_failed (self, g_error_new (CW_ERROR, CW_ERROR_FAILED, "ledger write failed"), FALSE);
}

static void rest (CwDiscordAdapter *self, const gchar *method, const gchar *path, JsonObject *body,
                  GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data);

static void
on_catch_up (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (CwDiscordAdapter) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (CwCloudReply) reply = cw_cloud_request_finish (result, &error);
  JsonArray *messages;

  if (reply == NULL || reply->status != 200 || reply->body == NULL
      || !JSON_NODE_HOLDS_ARRAY (reply->body))
    {
      if (reply != NULL)
        g_debug ("discord: catch-up failed: HTTP %u", reply->status);
      return;
    }
  messages = json_node_get_array (reply->body);
  /* newest first: take them oldest first */
  for (guint i = json_array_get_length (messages); i > 0; i--)
    {
      JsonNode *node = json_array_get_element (messages, i - 1);
      if (JSON_NODE_HOLDS_OBJECT (node))
        receive_message (self, json_node_get_object (node), self->seq);
    }
}

/* A new session (not a resume) replays nothing: what each known channel got meanwhile is
 * fetched over REST, after the newest message taken from it. */
static void
catch_up (CwDiscordAdapter *self)
{
  g_autoptr (GList) names = json_object_get_members (self->positions);

  for (GList *l = names; l != NULL; l = l->next)
    {
      g_autofree gchar *path
          = g_strdup_printf ("/channels/%s/messages?after=%s&limit=100", (const gchar *) l->data,
                             json_object_get_string_member (self->positions, l->data));
      rest (self, "GET", path, NULL, self->cancellable, on_catch_up, g_object_ref (self));
    }
}

static gboolean
reopen_now (gpointer user_data)
{
  CwDiscordAdapter *self = user_data;

  self->reopen_source = 0;
  open_gateway (self);
  return G_SOURCE_REMOVE;
}

static void
on_dispatch (CwDiscordAdapter *self, const gchar *t, JsonObject *d, gint64 seq)
{
  if (g_strcmp0 (t, "READY") == 0 && d != NULL)
    {
      g_free (self->session_id);
      g_free (self->resume_url);
      self->session_id
          = g_strdup (json_object_get_string_member_with_default (d, "session_id", NULL));
      self->resume_url
          = g_strdup (json_object_get_string_member_with_default (d, "resume_gateway_url", NULL));
      save_session (self);
      self->reopening = FALSE;
      finish_connect (self, NULL);
      catch_up (self);
    }
  else if (g_strcmp0 (t, "RESUMED") == 0)
    {
      self->reopening = FALSE;
      finish_connect (self, NULL);
    }
  else if (g_strcmp0 (t, "MESSAGE_CREATE") == 0 && d != NULL)
    receive_message (self, d, seq);
}

static void
on_frame (SoupWebsocketConnection *socket, gint type, GBytes *bytes, gpointer user_data)
{
  g_autoptr (CwDiscordAdapter) self = g_object_ref (user_data);
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonObject *payload;
  JsonNode *d, *s;
  gint64 op, seq = 0;

  if (type != SOUP_WEBSOCKET_DATA_TEXT
      || !json_parser_load_from_data (parser, g_bytes_get_data (bytes, NULL),
                                      g_bytes_get_size (bytes), NULL)
      || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    return;
  payload = json_node_get_object (json_parser_get_root (parser));
  op = json_object_get_int_member_with_default (payload, "op", -1);
  d = json_object_get_member (payload, "d");
  s = json_object_get_member (payload, "s");
  if (s != NULL && JSON_NODE_HOLDS_VALUE (s))
    self->seq = seq = json_node_get_int (s);
  switch (op)
    {
      case 0:
        on_dispatch (self, json_object_get_string_member_with_default (payload, "t", NULL),
                     d != NULL && JSON_NODE_HOLDS_OBJECT (d) ? json_node_get_object (d) : NULL,
                     seq);
        break;
      case 1:
        send_payload (self, 1,
                      self->seq > 0 ? json_node_init_int (json_node_alloc (), self->seq) : NULL);
        break;
      case 7:
        g_debug ("discord: op 7 Reconnect");
        close_socket (self);
        open_gateway (self);
        break;
      case 9:
        if (d == NULL || !JSON_NODE_HOLDS_VALUE (d) || !json_node_get_boolean (d))
          forget_session (self);
        close_socket (self);
        /* Discord asks for a pause of 1 to 5 s before the next identify */
        g_clear_handle_id (&self->reopen_source, g_source_remove);
        self->reopen_source = g_timeout_add (g_random_int_range (1000, 2000), reopen_now, self);
        break;
      case 10:
        {
          gint64 interval = d != NULL && JSON_NODE_HOLDS_OBJECT (d)
                                ? json_object_get_int_member_with_default (
                                    json_node_get_object (d), "heartbeat_interval", 41250)
                                : 41250;
          self->ack_pending = FALSE;
          g_clear_handle_id (&self->heartbeat_source, g_source_remove);
          self->heartbeat_source = g_timeout_add (MAX (interval, 100), heartbeat, self);
          identify_or_resume (self);
        }
        break;
      case 11:
        self->ack_pending = FALSE;
        cw_integration_adapter_report_round_trip (CW_INTEGRATION_ADAPTER (self));
        break;
      default:
        break;
    }
}

static void
on_closed (SoupWebsocketConnection *socket, gpointer user_data)
{
  CwDiscordAdapter *self = user_data;
  gushort code = soup_websocket_connection_get_close_code (socket);
  g_autofree gchar *reason = g_strdup (soup_websocket_connection_get_close_data (socket));
  gboolean fatal = code == 4004 || (code >= 4010 && code <= 4014);

  if (code == 4007 || code == 4009)
    forget_session (self);
  connection_failed (self,
                     g_error_new (CW_ERROR, fatal ? CW_ERROR_UNAUTHORIZED : CW_ERROR_FAILED,
                                  "the Discord gateway closed (%u%s%s)", code,
                                  reason != NULL && *reason != '\0' ? ": " : "",
                                  reason != NULL ? reason : ""),
                     fatal);
}

static void
on_socket (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (CwDiscordAdapter) self = user_data;
  g_autoptr (GError) error = NULL;
  SoupWebsocketConnection *socket
      = soup_session_websocket_connect_finish (SOUP_SESSION (source), result, &error);

  if (socket == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          self->reopening = TRUE; /* straight to the core's backoff */
          connection_failed (self, g_steal_pointer (&error), FALSE);
        }
      return;
    }
  close_socket (self);
  self->socket = socket;
  soup_websocket_connection_set_keepalive_interval (socket, 0);
  soup_websocket_connection_set_max_incoming_payload_size (socket, 4 * 1024 * 1024);
  g_signal_connect (socket, "message", G_CALLBACK (on_frame), self);
  g_signal_connect (socket, "closed", G_CALLBACK (on_closed), self);
}

static void
open_gateway (CwDiscordAdapter *self)
{
  const gchar *base
      = self->session_id != NULL && self->resume_url != NULL ? self->resume_url : self->gateway_url;
  g_autofree gchar *url = NULL;
  g_autoptr (SoupMessage) msg = NULL;

  if (self->session == NULL)
    return;
  url = g_strdup_printf ("%s%s?v=10&encoding=json", base, g_str_has_suffix (base, "/") ? "" : "/");
  msg = soup_message_new ("GET", url);
  if (msg == NULL)
    {
      connection_failed (self, g_error_new (CW_ERROR, CW_ERROR_FAILED, "bad gateway URL %s", url),
                         FALSE);
      return;
    }
  soup_session_websocket_connect_async (self->session, msg, NULL, NULL, G_PRIORITY_DEFAULT,
                                        self->cancellable, on_socket, g_object_ref (self));
}

/* ---- connect ------------------------------------------------------------------------- */

static void
rest (CwDiscordAdapter *self, const gchar *method, const gchar *path, JsonObject *body,
      GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  g_autofree gchar *url = g_strdup_printf ("%s%s", self->api, path);

  cw_cloud_request_async (self->session, method, url, self->auth, body, NULL, cancellable, callback,
                          user_data);
  if (body != NULL)
    json_object_unref (body);
}

/* TRUE for a 2xx answer, else FALSE with @error ("<what> failed: HTTP n: <message>"). */
static gboolean
discord_ok (CwCloudReply *reply, const gchar *what, GError **error)
{
  JsonObject *body = cw_cloud_reply_object (reply);
  g_autofree gchar *detail = NULL;

  if (reply->status >= 200 && reply->status < 300)
    return TRUE;
  if (body != NULL && json_object_has_member (body, "retry_after"))
    detail = g_strdup_printf ("%s (retry after %.1f s)",
                              json_object_get_string_member_with_default (body, "message", ""),
                              json_object_get_double_member_with_default (body, "retry_after", 1));
  else if (body != NULL)
    detail = g_strdup (json_object_get_string_member_with_default (body, "message", NULL));
  g_propagate_error (error, cw_cloud_reply_error (reply, what, detail));
  return FALSE;
}

static void
on_gateway_bot (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  CwDiscordAdapter *self = g_task_get_source_object (task);
  g_autoptr (GError) error = NULL;
  g_autoptr (CwCloudReply) reply = cw_cloud_request_finish (result, &error);
  JsonObject *body;

  if (reply == NULL || !discord_ok (reply, "GET gateway/bot", &error)
      || (body = cw_cloud_reply_object (reply)) == NULL)
    {
      if (error == NULL)
        g_set_error (&error, CW_ERROR, CW_ERROR_FAILED, "GET gateway/bot returned no URL");
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  g_free (self->gateway_url);
  self->gateway_url = g_strdup (
      json_object_get_string_member_with_default (body, "url", "wss://gateway.discord.gg"));
  self->connect_task = g_steal_pointer (&task);
  self->reopening = FALSE;
  open_gateway (self);
}

static void
on_me (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  CwDiscordAdapter *self = g_task_get_source_object (task);
  g_autoptr (GError) error = NULL;
  g_autoptr (CwCloudReply) reply = cw_cloud_request_finish (result, &error);
  JsonObject *me;

  if (reply == NULL || !discord_ok (reply, "GET users/@me", &error)
      || (me = cw_cloud_reply_object (reply)) == NULL)
    {
      if (reply != NULL && reply->status == 401)
        {
          g_clear_error (&error);
          g_set_error (&error, CW_ERROR, CW_ERROR_UNAUTHORIZED,
                       "Discord rejected the bot token (401 Unauthorized)");
        }
      if (error == NULL)
        g_set_error (&error, CW_ERROR, CW_ERROR_FAILED, "GET users/@me returned nothing");
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  cw_integration_adapter_report_round_trip (CW_INTEGRATION_ADAPTER (self));
  g_free (self->bot_id);
  self->bot_id = g_strdup (json_object_get_string_member_with_default (me, "id", ""));
  cw_integration_adapter_set_identity (
      CW_INTEGRATION_ADAPTER (self),
      json_object_get_string_member_with_default (me, "username", NULL), NULL);
  rest (self, "GET", "/gateway/bot", NULL, g_task_get_cancellable (task), on_gateway_bot,
        g_object_ref (task));
}

static void
discord_disconnect (CwIntegrationAdapter *adapter)
{
  CwDiscordAdapter *self = CW_DISCORD_ADAPTER (adapter);

  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_handle_id (&self->reopen_source, g_source_remove);
  close_socket (self);
  if (self->connect_task != NULL)
    {
      g_task_return_new_error (self->connect_task, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                               "disconnected");
      g_clear_object (&self->connect_task);
    }
  if (self->session != NULL)
    soup_session_abort (self->session);
  g_clear_object (&self->session);
  g_clear_pointer (&self->api, g_free);
  g_clear_pointer (&self->auth, g_free);
  g_clear_pointer (&self->token, g_free);
  g_clear_pointer (&self->guilds, g_strfreev);
  g_clear_pointer (&self->channels, g_strfreev);
}

static void
discord_update_config (CwIntegrationAdapter *adapter, JsonObject *config)
{
  CwDiscordAdapter *self = CW_DISCORD_ADAPTER (adapter);

  g_strfreev (self->guilds);
  g_strfreev (self->channels);
  self->guilds = cw_integration_config_get_strv (config, "allowedGuildIds");
  self->channels = cw_integration_config_get_strv (config, "allowedChannelIds");
  self->allow_dm = cw_integration_config_get_boolean (config, "allowDirectMessages", TRUE);
}

static void
discord_connect_async (CwIntegrationAdapter *adapter, JsonObject *config, GCancellable *cancellable,
                       GAsyncReadyCallback callback, gpointer user_data)
{
  CwDiscordAdapter *self = CW_DISCORD_ADAPTER (adapter);
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  const gchar *token = cw_integration_config_get_string (config, "botToken");
  const gchar *api = cw_integration_config_get_string (config, "apiBaseUrl");

  discord_disconnect (adapter);
  if (token == NULL || *token == '\0')
    {
      g_task_return_new_error (task, CW_ERROR, CW_ERROR_INVALID_PARAMS, "Discord needs a botToken");
      g_object_unref (task);
      return;
    }
  discord_update_config (adapter, config);
  self->api = g_strdup (api != NULL ? api : "https://discord.com/api/v10");
  self->token = g_strdup (token);
  self->auth = g_strconcat ("Bot ", token, NULL);
  self->session = cw_cloud_session_new (30);
  self->cancellable = g_cancellable_new ();
  load_session (self);
  rest (self, "GET", "/users/@me", NULL, cancellable, on_me, task);
}

/* ---- outbound ------------------------------------------------------------------------ */

typedef struct
{
  CwCloudParts sent;
  gchar *path;
  gchar *reply_to;
  gchar *nonce_base;
} SendJob;

static void
send_job_free (SendJob *job)
{
  g_free (job->path);
  g_free (job->reply_to);
  g_free (job->nonce_base);
  cw_cloud_parts_clear (&job->sent);
  g_free (job);
}

static void send_part (GTask *task);

static void
on_sent (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  SendJob *job = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  g_autoptr (CwCloudReply) reply = cw_cloud_request_finish (result, &error);

  if (reply == NULL || !discord_ok (reply, "POST channels/messages", &error))
    {
      cw_cloud_parts_fail (task, &job->sent, g_steal_pointer (&error));
      return;
    }
  if (cw_cloud_parts_sent (task, &job->sent,
                           cw_cloud_member_text (cw_cloud_reply_object (reply), "id")))
    send_part (g_steal_pointer (&task));
}

/* A message body with @content that pings nobody (@everyone, roles, users), posted once
 * for @nonce (NULL: none, as in an edit). */
static JsonObject *
message_new (const gchar *content, const gchar *nonce)
{
  JsonObject *body = json_object_new ();
  JsonObject *mentions = json_object_new ();

  json_object_set_string_member (body, "content", content);
  if (nonce != NULL)
    {
      json_object_set_string_member (body, "nonce", nonce);
      json_object_set_boolean_member (body, "enforce_nonce", TRUE);
    }
  json_object_set_array_member (mentions, "parse", json_array_new ());
  json_object_set_object_member (body, "allowed_mentions", mentions);
  return body;
}

/* Makes @body a reply to message @reply_to (NULL: none), sent even when that one is gone. */
static void
set_reference (JsonObject *body, const gchar *reply_to)
{
  JsonObject *reference;

  if (reply_to == NULL)
    return;
  reference = json_object_new ();
  json_object_set_string_member (reference, "message_id", reply_to);
  json_object_set_boolean_member (reference, "fail_if_not_exists", FALSE);
  json_object_set_object_member (body, "message_reference", reference);
}

static void
send_part (GTask *task)
{
  CwDiscordAdapter *self = g_task_get_source_object (task);
  SendJob *job = g_task_get_task_data (task);
  JsonObject *body;
  g_autofree gchar *nonce = NULL;

  if (cw_cloud_not_connected (task, self->session, "Discord"))
    return;
  nonce = g_strdup_printf ("%.20s-%u", job->nonce_base, job->sent.next);
  body = message_new (job->sent.parts[job->sent.next], nonce);
  if (job->sent.next == 0)
    set_reference (body, job->reply_to);
  rest (self, "POST", job->path, body, g_task_get_cancellable (task), on_sent, task);
}

static void
discord_send_async (CwIntegrationAdapter *adapter, const CwIntegrationOutbound *message,
                    GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task = g_task_new (adapter, cancellable, callback, user_data);
  SendJob *job = g_new0 (SendJob, 1);

  job->path = g_strdup_printf ("/channels/%s/messages", message->chat_id);
  job->sent.parts = cw_cloud_split_text (message->text, DISCORD_MAX_CHARS);
  job->nonce_base = g_compute_checksum_for_string (G_CHECKSUM_SHA1, message->outbound_id, -1);
  job->reply_to = g_strdup (cw_cloud_reply_to (message->reply_data, "message_id"));
  g_task_set_task_data (task, job, (GDestroyNotify) send_job_free);
  send_part (task);
}

/* A generated image or video: POST channels/{id}/messages as multipart/form-data, the message
 * in payload_json (the caption, a reply reference, attachments[0]) and the file in files[0]. */
static void
on_media_sent (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (CwCloudReply) reply = cw_cloud_request_finish (result, &error);

  if (reply == NULL || !discord_ok (reply, "POST channels/messages", &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  cw_cloud_return_id (task, cw_cloud_member_text (cw_cloud_reply_object (reply), "id"));
}

static void
discord_send_media_async (CwIntegrationAdapter *adapter, const CwIntegrationMedia *media,
                          GCancellable *cancellable, GAsyncReadyCallback callback,
                          gpointer user_data)
{
  CwDiscordAdapter *self = CW_DISCORD_ADAPTER (adapter);
  GTask *task = g_task_new (adapter, cancellable, callback, user_data);
  g_autoptr (JsonObject) payload = NULL;
  g_autoptr (JsonNode) node = NULL;
  g_autofree gchar *json = NULL, *url = NULL, *filename = NULL, *nonce = NULL;
  JsonObject *attachment;
  JsonArray *attachments;

  if (cw_cloud_not_connected (task, self->session, "Discord"))
    return;
  filename = cw_integration_media_filename (media);
  nonce = g_compute_checksum_for_string (G_CHECKSUM_SHA1, media->outbound_id, -1);
  nonce[20] = '\0';
  payload = message_new (media->caption, nonce);
  attachments = json_array_new ();
  attachment = json_object_new ();
  json_object_set_int_member (attachment, "id", 0);
  json_object_set_string_member (attachment, "filename", filename);
  json_array_add_object_element (attachments, attachment);
  json_object_set_array_member (payload, "attachments", attachments);
  set_reference (payload, cw_cloud_reply_to (media->reply_data, "message_id"));
  node = json_node_init_object (json_node_alloc (), payload);
  json = json_to_string (node, FALSE);
  url = g_strdup_printf ("%s/channels/%s/messages", self->api, media->chat_id);
  cw_cloud_post_media (self->session, url, self->auth, "files[0]", media, cancellable,
                       on_media_sent, task, "payload_json", json, NULL);
}

/* An edit longer than 2000 characters: the message keeps the first part and the rest goes
 * to messages after it, posted by the first edit that needs them and edited by later ones
 * (streaming a long answer), so nothing is cut and nothing is posted twice. */
typedef struct
{
  gchar *chat_id;
  gchar *head_id;
  GStrv parts;
  guint next;
  GPtrArray *ids; /* the overflow messages after the head, owned by self->overflow */
} EditJob;

static void
edit_job_free (EditJob *job)
{
  g_free (job->chat_id);
  g_free (job->head_id);
  g_strfreev (job->parts);
  g_free (job);
}

static void edit_part (GTask *task);

static void
on_edited (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  EditJob *job = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  g_autoptr (CwCloudReply) reply = cw_cloud_request_finish (result, &error);

  if (reply == NULL || !discord_ok (reply, "PATCH channels/messages", &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  cw_integration_adapter_report_round_trip (g_task_get_source_object (task));
  if (job->next > 0 && job->next > job->ids->len)
    {
      gchar *id = cw_cloud_member_text (cw_cloud_reply_object (reply), "id");
      g_ptr_array_add (job->ids, id != NULL ? id : g_strdup (""));
    }
  if (job->parts[++job->next] == NULL)
    g_task_return_boolean (task, TRUE);
  else
    edit_part (g_steal_pointer (&task));
}

static void
edit_part (GTask *task)
{
  CwDiscordAdapter *self = g_task_get_source_object (task);
  EditJob *job = g_task_get_task_data (task);
  const gchar *id = job->next == 0               ? job->head_id
                    : job->next <= job->ids->len ? g_ptr_array_index (job->ids, job->next - 1)
                                                 : NULL;
  JsonObject *body;
  g_autofree gchar *path = NULL;

  if (cw_cloud_not_connected (task, self->session, "Discord"))
    return;
  /* as when it is posted: the edited-in reply pings nobody */
  body = message_new (job->parts[job->next], NULL);
  if (id != NULL && *id != '\0')
    {
      path = g_strdup_printf ("/channels/%s/messages/%s", job->chat_id, id);
      rest (self, "PATCH", path, body, g_task_get_cancellable (task), on_edited, task);
      return;
    }
  {
    g_autofree gchar *nonce = g_strdup_printf ("%.19s+%u", job->head_id, job->next);
    json_object_set_string_member (body, "nonce", nonce);
    json_object_set_boolean_member (body, "enforce_nonce", TRUE);
  }
  path = g_strdup_printf ("/channels/%s/messages", job->chat_id);
  rest (self, "POST", path, body, g_task_get_cancellable (task), on_edited, task);
}

static void
discord_edit_async (CwIntegrationAdapter *adapter, const gchar *chat_id, const gchar *message_id,
                    const gchar *text, GCancellable *cancellable, GAsyncReadyCallback callback,
                    gpointer user_data)
{
  CwDiscordAdapter *self = CW_DISCORD_ADAPTER (adapter);
  GTask *task = g_task_new (adapter, cancellable, callback, user_data);
  EditJob *job = g_new0 (EditJob, 1);

  job->chat_id = g_strdup (chat_id);
  job->head_id = g_strdup (message_id);
  job->parts = cw_cloud_split_text (text, DISCORD_MAX_CHARS);
  job->ids = g_hash_table_lookup (self->overflow, message_id);
  if (job->ids == NULL)
    {
      job->ids = g_ptr_array_new_with_free_func (g_free);
      g_hash_table_insert (self->overflow, g_strdup (message_id), job->ids);
    }
  g_task_set_task_data (task, job, (GDestroyNotify) edit_job_free);
  edit_part (task);
}

static void
on_typing (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (CwCloudReply) reply = cw_cloud_request_finish (result, NULL);
}

static void
discord_typing (CwIntegrationAdapter *adapter, const gchar *chat_id)
{
  CwDiscordAdapter *self = CW_DISCORD_ADAPTER (adapter);
  g_autofree gchar *path = g_strdup_printf ("/channels/%s/typing", chat_id);

  if (self->session != NULL)
    rest (self, "POST", path, NULL, self->cancellable, on_typing, NULL);
}

/* ---- health -------------------------------------------------------------------------- */

static void
on_health (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  CwDiscordAdapter *self = g_task_get_source_object (task);
  g_autoptr (GError) error = NULL;
  g_autoptr (CwCloudReply) reply = cw_cloud_request_finish (result, &error);

  if (reply == NULL || !discord_ok (reply, "GET users/@me", &error))
    {
      cw_cloud_health_fail (task, g_steal_pointer (&error), reply != NULL && reply->status == 401);
      return;
    }
  if (self->socket == NULL)
    {
      g_task_return_new_error (task, CW_ERROR, CW_ERROR_FAILED, "the Discord gateway is closed");
      return;
    }
  cw_cloud_return_round_trip (task);
}

static void
discord_check_health_async (CwIntegrationAdapter *adapter, GCancellable *cancellable,
                            GAsyncReadyCallback callback, gpointer user_data)
{
  CwDiscordAdapter *self = CW_DISCORD_ADAPTER (adapter);
  GTask *task = g_task_new (adapter, cancellable, callback, user_data);

  if (cw_cloud_not_connected (task, self->session, "Discord"))
    return;
  rest (self, "GET", "/users/@me", NULL, cancellable, on_health, task);
}

static void
discord_fetch_attachment_async (CwIntegrationAdapter *adapter, const gchar *ref, gint64 max_bytes,
                                GCancellable *cancellable, GAsyncReadyCallback callback,
                                gpointer user_data)
{
  CwDiscordAdapter *self = CW_DISCORD_ADAPTER (adapter);

  cw_cloud_fetch_url (adapter, self->session, "Discord", ref, NULL, max_bytes, cancellable,
                      callback, user_data);
}

static void
discord_dispose (GObject *object)
{
  discord_disconnect (CW_INTEGRATION_ADAPTER (object));
  G_OBJECT_CLASS (cw_discord_adapter_parent_class)->dispose (object);
}

static void
discord_finalize (GObject *object)
{
  CwDiscordAdapter *self = CW_DISCORD_ADAPTER (object);

  g_free (self->bot_id);
  g_free (self->gateway_url);
  g_free (self->session_id);
  g_free (self->resume_url);
  g_clear_pointer (&self->positions, json_object_unref);
  g_clear_pointer (&self->overflow, g_hash_table_unref);
  G_OBJECT_CLASS (cw_discord_adapter_parent_class)->finalize (object);
}

static void
cw_discord_adapter_class_init (CwDiscordAdapterClass *klass)
{
  CwIntegrationAdapterClass *adapter = CW_INTEGRATION_ADAPTER_CLASS (klass);

  G_OBJECT_CLASS (klass)->dispose = discord_dispose;
  G_OBJECT_CLASS (klass)->finalize = discord_finalize;
  adapter->caps = CW_INTEGRATION_CAP_EDIT | CW_INTEGRATION_CAP_TYPING;
  adapter->connect_async = discord_connect_async;
  adapter->connect_finish = cw_cloud_finish_boolean;
  adapter->disconnect = discord_disconnect;
  adapter->send_async = discord_send_async;
  adapter->send_finish = cw_cloud_finish_id;
  adapter->send_media_async = discord_send_media_async;
  adapter->send_media_finish = cw_cloud_finish_id;
  adapter->edit_async = discord_edit_async;
  adapter->edit_finish = cw_cloud_finish_boolean;
  adapter->fetch_attachment_async = discord_fetch_attachment_async;
  adapter->fetch_attachment_finish = cw_cloud_finish_bytes;
  adapter->typing = discord_typing;
  adapter->check_health_async = discord_check_health_async;
  adapter->check_health_finish = cw_cloud_finish_health;
  adapter->update_config = discord_update_config;
}

static void
cw_discord_adapter_init (CwDiscordAdapter *self)
{
  self->positions = json_object_new ();
  self->overflow
      = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_ptr_array_unref);
}
