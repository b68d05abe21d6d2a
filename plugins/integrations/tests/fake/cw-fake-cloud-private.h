/* cw-fake-cloud-private.h: what the platform files of the fake cloud share. Everything here
 * runs in the fake's thread unless it says it takes the lock.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cw-fake-cloud.h"

#include <libsoup/soup.h>

G_BEGIN_DECLS

typedef struct
{
  void (*setup) (CwFakeCloud *self);
  gchar *(*inject) (CwFakeCloud *self, const gchar *chat_id, const gchar *sender_id,
                    const gchar *sender_name, const gchar *text);
  void (*redeliver) (CwFakeCloud *self, const gchar *message_id);
  void (*control) (CwFakeCloud *self, const gchar *what);
  void (*down) (CwFakeCloud *self); /* drop held requests and platform state tied to sockets */
  void (*free) (gpointer state);
  /* a user sends a file (cw_fake_cloud_inject_file); NULL: the platform has no files here */
  gchar *(*inject_file) (CwFakeCloud *self, const gchar *chat_id, const gchar *sender_id,
                         const gchar *sender_name, const gchar *caption, const gchar *kind,
                         const gchar *file_name, const gchar *mime_type, GBytes *content);
} CwFakePlatform;

struct _CwFakeCloud
{
  CwFakeKind kind;
  const CwFakePlatform *platform;
  gpointer state;

  GMainContext *context;
  GMainLoop *loop;
  GThread *thread;
  SoupServer *server;
  guint port;
  gchar *root;
  gchar *url;
  gboolean down;

  GMutex lock; /* guards records, failures, chats and options */
  GCond cond;
  GPtrArray *records;
  GHashTable *failures; /* kind -> GQueue of Failure */
  GHashTable *chats;    /* chat id -> JsonArray of {id, text, edits} */
  GHashTable *options;
  GPtrArray *sockets; /* open SoupWebsocketConnection */
  GPtrArray *held;    /* SoupServerMessage held by "hold_send" */
  gint64 counter;
  GHashTable *files;     /* id -> the file a user sent (cw-fake-files.c; guarded by lock) */
  GPtrArray *held_files; /* downloads held by "hold_files" */
};

extern const CwFakePlatform cw_fake_telegram;
extern const CwFakePlatform cw_fake_slack;
extern const CwFakePlatform cw_fake_discord;
extern const CwFakePlatform cw_fake_graph;
extern const CwFakePlatform cw_fake_bluebubbles;
extern const CwFakePlatform cw_fake_whatsapp;

/* Runs @func in the fake's thread and waits for it. */
void cw_fake_run_sync (CwFakeCloud *self, void (*func) (CwFakeCloud *self, gpointer data),
                       gpointer data);

/* Files users sent (cw-fake-files.c): stored under a new id (any thread), their size (-1:
 * unknown id), and a download of one answered as the platform does (recorded as "file"). */
gchar *cw_fake_file_add (CwFakeCloud *self, const gchar *name, const gchar *mime_type,
                         GBytes *content);
gint64 cw_fake_file_size (CwFakeCloud *self, const gchar *id);
void cw_fake_file_serve (CwFakeCloud *self, SoupServerMessage *msg, const gchar *id);
void cw_fake_files_teardown (CwFakeCloud *self);

/* A unique number (any thread). */
gint64 cw_fake_next (CwFakeCloud *self);
/* An option's value or @fallback (takes the lock). */
gchar *cw_fake_option (CwFakeCloud *self, const gchar *name, const gchar *fallback);
gint64 cw_fake_option_int (CwFakeCloud *self, const gchar *name, gint64 fallback);
/* TRUE when @token is what the fake accepts. */
gboolean cw_fake_token_ok (CwFakeCloud *self, const gchar *token);

/* Records @record (taken) under @kind; adds kind and wakes waiters. */
void cw_fake_record (CwFakeCloud *self, const gchar *kind, JsonObject *record);
/* A record of an HTTP request: method, path, query, auth and @body (taken, may be NULL). */
JsonObject *cw_fake_request_record (SoupServerMessage *msg, JsonNode *body);
/* The request's parameters: the query, a form body or a JSON object body, merged. */
JsonObject *cw_fake_request_params (SoupServerMessage *msg);
/* The request body parsed as JSON, or NULL. */
JsonNode *cw_fake_request_json (SoupServerMessage *msg);
/* Bearer token of the request, or NULL. */
gchar *cw_fake_request_bearer (SoupServerMessage *msg);
/* If the platform is down, cuts the connection and returns TRUE. */
gboolean cw_fake_cut_if_down (CwFakeCloud *self, SoupServerMessage *msg);
/* TRUE and *status / *body set when a failure was queued for @kind. */
gboolean cw_fake_take_failure (CwFakeCloud *self, const gchar *kind, guint *status, gchar **body);
void cw_fake_reply (SoupServerMessage *msg, guint status, JsonNode *body);
void cw_fake_reply_text (SoupServerMessage *msg, guint status, const gchar *json);
/* Steals the connection of @msg and closes it (a dropped connection). */
void cw_fake_cut (SoupServerMessage *msg);

/* With the option "hold_send" set to 1: pauses @msg, never to be answered (as when the client
 * dies while its request is in flight), and returns TRUE. */
gboolean cw_fake_hold_if_asked (CwFakeCloud *self, SoupServerMessage *msg);
/* The same for the option @name. */
gboolean cw_fake_hold_if_option (CwFakeCloud *self, SoupServerMessage *msg, const gchar *name);

/* The bot's messages (take the lock). */
void cw_fake_chat_add (CwFakeCloud *self, const gchar *chat_id, const gchar *id, const gchar *text);
/* FALSE when there is no such message. */
gboolean cw_fake_chat_edit (CwFakeCloud *self, const gchar *chat_id, const gchar *id,
                            const gchar *text, gboolean *unchanged);

/* WebSockets: tracked so down() can drop them. */
void cw_fake_socket_add (CwFakeCloud *self, SoupWebsocketConnection *conn);
void cw_fake_socket_send (SoupWebsocketConnection *conn, JsonNode *node);
/* Forgets *@conn: disconnects the handlers that have @data and drops the reference. */
void cw_fake_socket_release (SoupWebsocketConnection **conn, gpointer data);
/* Closes with a close frame, unless one was sent already. */
void cw_fake_socket_close (SoupWebsocketConnection *conn, gushort code, const gchar *reason);
/* Closes the socket's stream under it, without a close frame. */
void cw_fake_socket_drop (SoupWebsocketConnection *conn);

/* A node that takes over @object / @array (the caller's reference). */
JsonNode *cw_fake_take_object (JsonObject *object);
JsonNode *cw_fake_take_array (JsonArray *array);
gchar *cw_fake_iso8601 (gint64 ms);
JsonNode *cw_fake_parse (const gchar *json);

G_END_DECLS
