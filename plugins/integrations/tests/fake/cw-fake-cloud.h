/* cw-fake-cloud.h: fake cloud chat platforms for tests and benches.
 *
 * Each fake is a libsoup 3 server on 127.0.0.1 (a free port) that speaks one platform's real
 * wire format: the Telegram Bot API, Slack's Web API and Socket Mode, Discord's REST API and
 * Gateway v10, Microsoft Graph (client credentials, channel messages by delta), a BlueBubbles
 * server (REST and its Socket.IO event channel) and the WhatsApp Cloud API (Graph REST, and
 * webhooks delivered to a URL the test gives). It runs in its own thread on its own main
 * context, so a test can block on it while the daemon talks to it.
 *
 * Every request and every WebSocket frame a fake gets is recorded as a JSON object:
 *   {kind, method?, path?, query{}?, auth?, body?}
 * where kind names what it was ("sendMessage", "chat.postMessage", "ack", "identify",
 * "heartbeat", "create_message", "token", ...; see README.md).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

typedef enum
{
  CW_FAKE_TELEGRAM,
  CW_FAKE_SLACK,
  CW_FAKE_DISCORD,
  CW_FAKE_GRAPH,
  CW_FAKE_BLUEBUBBLES,
  CW_FAKE_WHATSAPP,
} CwFakeKind;

typedef struct _CwFakeCloud CwFakeCloud;

/* Starts a fake; aborts the test when it cannot listen. */
CwFakeCloud *cw_fake_cloud_new (CwFakeKind kind);
void cw_fake_cloud_free (CwFakeCloud *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CwFakeCloud, cw_fake_cloud_free)

/* What to put in the adapter's apiBaseUrl (serverUrl for BlueBubbles, authBaseUrl for Graph's
 * token endpoint is cw_fake_cloud_get_root). */
const gchar *cw_fake_cloud_get_url (CwFakeCloud *self);
/* http://127.0.0.1:PORT */
const gchar *cw_fake_cloud_get_root (CwFakeCloud *self);

/* Options, before or while running: "heartbeat_interval" (Discord, ms), "ping_interval"
 * (BlueBubbles, ms), "token" (the credential it accepts; default: anything but "bad"),
 * "webhook_url", "app_secret" (WhatsApp webhooks), "token_lifetime" (Graph, s), "hold_send"
 * (Telegram: 1 holds every sendMessage unanswered and undelivered; Slack: every
 * chat.postMessage; Discord: every POST channels/{id}/messages), "hold_files" (1 holds every
 * file download unanswered), "hold_media" (Telegram: 1 holds every sendPhoto and sendVideo). */
void cw_fake_cloud_set_option (CwFakeCloud *self, const gchar *name, const gchar *value);

/* The platform goes away: listener closed, WebSockets and held long polls dropped without a
 * goodbye, and any request on a kept-alive connection cut. up() listens on the same port. */
void cw_fake_cloud_down (CwFakeCloud *self);
void cw_fake_cloud_up (CwFakeCloud *self);
/* Drops the WebSockets only (abruptly), the server stays up. */
void cw_fake_cloud_drop_sockets (CwFakeCloud *self);
/* Platform-specific pushes: Discord "reconnect" (op 7), "invalid_session" (op 9), "heartbeat"
 * (op 1 from the server); Slack "disconnect" (a refresh_requested disconnect message, then a
 * close); WhatsApp "verify" (the subscribe handshake against webhook_url). */
void cw_fake_cloud_control (CwFakeCloud *self, const gchar *what);

/* A user writes @text in @chat_id. Returns the id the adapter should use to dedupe it:
 * Telegram "<chat>:<message_id>", Slack "<channel>:<ts>", Discord the snowflake, Graph the
 * message id, BlueBubbles the guid, WhatsApp the wamid. */
gchar *cw_fake_cloud_inject (CwFakeCloud *self, const gchar *chat_id, const gchar *sender_id,
                             const gchar *sender_name, const gchar *text);
/* A user sends a file in @chat_id, with @caption (NULL: none): @kind is how the platform
 * carries it (Telegram "photo", "document", "voice", "video", "audio"; Slack "file_share"), the
 * content is served to the bot by the platform's download API (recorded as "file"). Returns
 * the dedupe id, as cw_fake_cloud_inject does. */
gchar *cw_fake_cloud_inject_file (CwFakeCloud *self, const gchar *chat_id, const gchar *sender_id,
                                  const gchar *sender_name, const gchar *caption, const gchar *kind,
                                  const gchar *file_name, const gchar *mime_type, GBytes *content);
/* Delivers the message @message_id again, as the platform does when it retries (a new
 * Telegram update, a Slack envelope with retry_attempt 1, a Discord dispatch with a new
 * sequence number, a second webhook). */
void cw_fake_cloud_redeliver (CwFakeCloud *self, const gchar *message_id);

/* The next @count requests of @kind fail with @status and @body (NULL: the platform's own
 * error body for that status; a 429 carries the platform's retry-after of 1 s). */
void cw_fake_cloud_fail_next (CwFakeCloud *self, const gchar *kind, guint count, guint status,
                              const gchar *body);

/* Records of @kind (NULL: all), oldest first; each element a JsonObject (ref'd). */
GPtrArray *cw_fake_cloud_records (CwFakeCloud *self, const gchar *kind);
guint cw_fake_cloud_count (CwFakeCloud *self, const gchar *kind);
/* Waits until the @index-th (0-based) record of @kind exists and returns it (ref'd), or NULL
 * after @timeout_ms. */
JsonObject *cw_fake_cloud_wait (CwFakeCloud *self, const gchar *kind, guint index,
                                guint timeout_ms);

/* What the bot has in @chat_id: an array of {id, text, edits} in the order sent, with the
 * text after the last edit (a new reference). */
JsonArray *cw_fake_cloud_bot_messages (CwFakeCloud *self, const gchar *chat_id);
/* Waits until the bot's last message in @chat_id has exactly @text; FALSE on timeout. */
gboolean cw_fake_cloud_wait_bot_text (CwFakeCloud *self, const gchar *chat_id, const gchar *text,
                                      guint timeout_ms);

G_END_DECLS
