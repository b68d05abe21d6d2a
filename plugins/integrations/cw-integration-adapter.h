/* cw-integration-adapter.h: the interface between the integrations core and one chat platform.
 *
 * How to write an adapter (plugins/integrations/README.md has the long form):
 *
 * 1. Subclass CwIntegrationAdapter in adapters/<platform>/cw-<platform>-adapter.c and set the
 *    vfuncs below in class_init. Include only this header and <cowork.h>.
 * 2. Put the type's get_type function in the platform's row of cw-integrations-registry.c
 *    (the row also holds the config schema: which fields exist and which are secrets).
 * 3. Add the source to adapters/<platform>/meson.build (`integrations_sources += files(...)`).
 *
 * What the core does for every adapter, so an adapter never does it:
 * - It keeps the config: validates and normalises it against the platform's schema, keeps
 *   secret fields in CwSecrets only, and hands connect_async() the whole config with the
 *   secrets filled in. The adapter never stores a secret anywhere.
 * - It owns the inbound ledger: cw_integration_adapter_receive() writes the message (and the
 *   adapter's new position, if given) to SQLite in one transaction and returns only then.
 *   Acknowledge the message to the platform, or advance the poll offset, only after it
 *   returned TRUE. A message id seen before is reported as a duplicate and not routed again.
 * - It routes (allowlist from the `allowFrom` field, sessions, queues, permission prompts),
 *   formats and truncates replies to the platform's limit, persists them in the outbox, and
 *   retries send_async() with backoff. A send that was in flight when the daemon died is
 *   not sent again unless the class sets CW_INTEGRATION_CAP_IDEMPOTENT_SEND (the platform
 *   dedupes by the outbound id given in CwIntegrationOutbound.outbound_id).
 * - It keeps the health: `healthy` only while the last successful round trip
 *   (cw_integration_adapter_report_round_trip(), or a check_health_async() that succeeded)
 *   is within the health interval. When the adapter reports the connection lost, the core
 *   reconnects with capped exponential backoff and jitter (disconnect() then connect_async()
 *   on the same object, with the stored config).
 *
 * What an adapter must do:
 * - connect_async(): connect, authenticate, and finish only when the platform answered (a
 *   round trip). Load the position with cw_integration_adapter_get_state(): NULL means this
 *   is the first connect ever — take the platform's current position as the baseline and
 *   store it (cw_integration_adapter_set_state()), so old history is never ingested. After a
 *   reconnect or restart, fetch what arrived after the stored position.
 * - Call cw_integration_adapter_receive() for each inbound message (any thread is wrong:
 *   everything runs on the daemon's main context).
 * - Call cw_integration_adapter_report_lost() when the connection drops by itself.
 * - disconnect(): close everything synchronously and drop pending work; must not fail and
 *   must not call back into the core afterwards.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <cowork.h>

G_BEGIN_DECLS

/* What a platform can do; the core adapts routing and replies to it. */
typedef enum
{
  CW_INTEGRATION_CAP_NONE = 0,
  CW_INTEGRATION_CAP_EDIT = 1 << 0,   /* edit_async() works: placeholder replaced, streaming */
  CW_INTEGRATION_CAP_TYPING = 1 << 1, /* typing() shows something */
  CW_INTEGRATION_CAP_IDEMPOTENT_SEND = 1 << 2, /* a resend with the same outbound_id is deduped */
} CwIntegrationCaps;

typedef enum
{
  CW_INTEGRATION_HEALTHY,
  CW_INTEGRATION_DEGRADED,
  CW_INTEGRATION_UNHEALTHY,
} CwIntegrationHealth;

/* A file sent with an inbound message (a photo, a voice note, a document), as the adapter
 * describes it: the core stores the description with the message and fetches the content
 * later, through fetch_attachment_async(), when the message is routed. Strings are borrowed. */
typedef struct
{
  const gchar *type;      /* image, audio, video, pdf, text or file */
  const gchar *name;      /* the file name ("photo.jpg" when the platform gives none) */
  const gchar *mime_type; /* or NULL */
  gint64 size;            /* in bytes as the platform tells it, or -1 when it does not */
  gint64 duration_s;      /* audio and video, or 0 */
  const gchar *ref;       /* what fetch_attachment_async() needs to get it: a file id, a URL,
                           * a MIME part number; never a secret (required) */
} CwIntegrationAttachment;

/* One inbound message, as the adapter hands it to the core. Strings are borrowed. */
typedef struct
{
  const gchar *message_id;  /* the platform's id of the message: the dedupe key (required) */
  const gchar *chat_id;     /* where replies go (a channel, a DM peer, a mail address) */
  const gchar *chat_title;  /* a readable name of the chat for the session title, or NULL */
  const gchar *sender_id;   /* matched against allowFrom (required) */
  const gchar *sender_name; /* shown to the agent; NULL: sender_id */
  const gchar *text;        /* the message (NULL or "" with attachments only) */
  gint64 timestamp_ms;      /* when the platform says it was sent; 0: now */
  JsonObject *reply_data;   /* kept with the message and given back when replying (threading
                             * headers, thread ids), or NULL; never holds a secret */
  const gchar *state_key;   /* if not NULL: stored with the message in the same transaction, */
  const gchar *state_value; /* as cw_integration_adapter_set_state() would */
  const CwIntegrationAttachment *attachments; /* n_attachments of them, or NULL */
  guint n_attachments;
} CwIntegrationInbound;

/* One outbound message, as the core hands it to send_async(). Strings are borrowed and live
 * until the send finishes. */
typedef struct
{
  const gchar *outbound_id; /* stable across retries and restarts */
  const gchar *chat_id;
  const gchar *text;      /* formatted and within the platform's limit */
  JsonObject *reply_data; /* the inbound message's reply_data when replying to one, or NULL */
} CwIntegrationOutbound;

/* One generated image or video (a chat item of kind media, contract §3.3), as the core hands
 * it to send_media_async(). Strings and bytes are borrowed and live until the send finishes.
 * The core has checked the size against COWORK_INTEGRATION_MAX_MEDIA_BYTES and read a local
 * file into @data (with GIO); @data is NULL when the item is only a URL. */
typedef struct
{
  const gchar *outbound_id; /* stable across retries and restarts */
  const gchar *chat_id;
  const gchar *media_type; /* "image" or "video" */
  const gchar *path;       /* the local file it came from, or NULL */
  const gchar *url;        /* where it can be fetched, or NULL */
  const gchar *mime_type;  /* never NULL: the item's, or guessed ("image/png", "video/mp4") */
  GBytes *data;            /* the file's bytes, or NULL */
  const gchar *caption;    /* "Generated image" / "Generated video" */
  JsonObject *reply_data;  /* as in CwIntegrationOutbound */
} CwIntegrationMedia;

#define CW_TYPE_INTEGRATION_ADAPTER (cw_integration_adapter_get_type ())
G_DECLARE_DERIVABLE_TYPE (CwIntegrationAdapter, cw_integration_adapter, CW, INTEGRATION_ADAPTER,
                          GObject)

struct _CwIntegrationAdapterClass
{
  GObjectClass parent_class;

  CwIntegrationCaps caps;

  /* Required. @config is the normalised config with the secrets filled in. */
  void (*connect_async) (CwIntegrationAdapter *self, JsonObject *config, GCancellable *cancellable,
                         GAsyncReadyCallback callback, gpointer user_data);
  gboolean (*connect_finish) (CwIntegrationAdapter *self, GAsyncResult *result, GError **error);
  /* Required; synchronous, never fails, safe to call when not connected. */
  void (*disconnect) (CwIntegrationAdapter *self);
  /* Required. Finishes with the platform's id of the sent message (or "" if it has none). */
  void (*send_async) (CwIntegrationAdapter *self, const CwIntegrationOutbound *message,
                      GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data);
  gchar *(*send_finish) (CwIntegrationAdapter *self, GAsyncResult *result, GError **error);

  /* Optional: with CW_INTEGRATION_CAP_EDIT, replaces the text of a sent message. */
  void (*edit_async) (CwIntegrationAdapter *self, const gchar *chat_id, const gchar *message_id,
                      const gchar *text, GCancellable *cancellable, GAsyncReadyCallback callback,
                      gpointer user_data);
  gboolean (*edit_finish) (CwIntegrationAdapter *self, GAsyncResult *result, GError **error);
  /* Optional: best effort, no answer. */
  void (*typing) (CwIntegrationAdapter *self, const gchar *chat_id);
  /* Optional: a round trip to the platform. Finishes TRUE when it answered; may set
   * *requires_reconnect when the session is gone for good. The default sends nothing and
   * succeeds while the adapter has reported no loss since its last round trip. */
  void (*check_health_async) (CwIntegrationAdapter *self, GCancellable *cancellable,
                              GAsyncReadyCallback callback, gpointer user_data);
  gboolean (*check_health_finish) (CwIntegrationAdapter *self, GAsyncResult *result,
                                   gboolean *requires_reconnect, GError **error);
  /* Optional: a config change that needs no reconnect (allowlists are the core's). */
  void (*update_config) (CwIntegrationAdapter *self, JsonObject *config);
  /* Optional: platform-specific recovery (WhatsApp soft/hard). Default: NotSupported. */
  gboolean (*recover) (CwIntegrationAdapter *self, const gchar *mode, GError **error);
  /* Optional: uploads @media->data (never NULL here) with its caption. Finishes with the
   * platform's id of the message, as send_finish. The default (and the call for an item with
   * no data) sends the caption and the URL as text through send_async, or the caption and a
   * note that the file is in the Cowork desktop app when there is no URL. */
  void (*send_media_async) (CwIntegrationAdapter *self, const CwIntegrationMedia *media,
                            GCancellable *cancellable, GAsyncReadyCallback callback,
                            gpointer user_data);
  gchar *(*send_media_finish) (CwIntegrationAdapter *self, GAsyncResult *result, GError **error);
  /* Optional: the content of an attachment the adapter described (its @ref), with the
   * platform's auth. A file larger than @max_bytes fails with G_IO_ERROR_MESSAGE_TOO_LARGE,
   * as soon as that is known (a Content-Length, or while reading). Default: NotSupported (the
   * attachment reaches the agent as its description only). */
  void (*fetch_attachment_async) (CwIntegrationAdapter *self, const gchar *ref, gint64 max_bytes,
                                  GCancellable *cancellable, GAsyncReadyCallback callback,
                                  gpointer user_data);
  GBytes *(*fetch_attachment_finish) (CwIntegrationAdapter *self, GAsyncResult *result,
                                      GError **error);

  gpointer padding[4];
};

/* The platform this adapter serves ("irc", "telegram", ...). */
const gchar *cw_integration_adapter_get_platform (CwIntegrationAdapter *self);
/* The plugin, for the SDK services (scheduler, HTTP routes, config). */
CwPlugin *cw_integration_adapter_get_plugin (CwIntegrationAdapter *self);

/* Stores an inbound message in the ledger (and its state_key/value) before returning TRUE;
 * *duplicate (may be NULL) tells that the id was seen before (nothing is routed again). On
 * FALSE (the store failed) do not acknowledge: the platform must deliver it again. */
gboolean cw_integration_adapter_receive (CwIntegrationAdapter *self,
                                         const CwIntegrationInbound *message, gboolean *duplicate,
                                         GError **error);

/* The adapter's persisted position (update offset, last UID, ...), or NULL when never set. */
gchar *cw_integration_adapter_get_state (CwIntegrationAdapter *self, const gchar *key);
gboolean cw_integration_adapter_set_state (CwIntegrationAdapter *self, const gchar *key,
                                           const gchar *value, GError **error);

/* The platform answered (any reply counts): health goes to healthy. */
void cw_integration_adapter_report_round_trip (CwIntegrationAdapter *self);
/* The connection was lost by itself: the core reconnects with backoff, unless
 * @requires_reconnect (credentials revoked, session logged out: the user must act). */
void cw_integration_adapter_report_lost (CwIntegrationAdapter *self, const GError *error,
                                         gboolean requires_reconnect);
/* Who the adapter is logged in as, shown in PlatformStatus (either may be NULL). */
void cw_integration_adapter_set_identity (CwIntegrationAdapter *self, const gchar *name,
                                          const gchar *phone);
/* A pairing QR code (PNG data URL) to show, or NULL to clear it; emits integration:qr. */
void cw_integration_adapter_set_qr (CwIntegrationAdapter *self, const gchar *data_url);

/* For the core: how it hears from an adapter. */
typedef struct
{
  gboolean (*receive) (gpointer core, CwIntegrationAdapter *adapter,
                       const CwIntegrationInbound *message, gboolean *duplicate, GError **error);
  gchar *(*get_state) (gpointer core, CwIntegrationAdapter *adapter, const gchar *key);
  gboolean (*set_state) (gpointer core, CwIntegrationAdapter *adapter, const gchar *key,
                         const gchar *value, GError **error);
  void (*round_trip) (gpointer core, CwIntegrationAdapter *adapter);
  void (*lost) (gpointer core, CwIntegrationAdapter *adapter, const GError *error,
                gboolean requires_reconnect);
  void (*identity) (gpointer core, CwIntegrationAdapter *adapter);
  void (*qr) (gpointer core, CwIntegrationAdapter *adapter, const gchar *data_url);
} CwIntegrationCoreFuncs;

/* Called by the core on a new adapter; funcs must outlive it. */
void cw_integration_adapter_attach (CwIntegrationAdapter *self, CwPlugin *plugin,
                                    const gchar *platform, const CwIntegrationCoreFuncs *funcs,
                                    gpointer core);
/* Stops every call into the core (after disconnect). */
void cw_integration_adapter_detach (CwIntegrationAdapter *self);
const gchar *cw_integration_adapter_get_identity_name (CwIntegrationAdapter *self);
const gchar *cw_integration_adapter_get_identity_phone (CwIntegrationAdapter *self);

/* Wrappers the core calls (they check the vfuncs and fill in the defaults). */
void cw_integration_adapter_connect_async (CwIntegrationAdapter *self, JsonObject *config,
                                           GCancellable *cancellable, GAsyncReadyCallback callback,
                                           gpointer user_data);
gboolean cw_integration_adapter_connect_finish (CwIntegrationAdapter *self, GAsyncResult *result,
                                                GError **error);
void cw_integration_adapter_disconnect (CwIntegrationAdapter *self);
void cw_integration_adapter_send_async (CwIntegrationAdapter *self,
                                        const CwIntegrationOutbound *message,
                                        GCancellable *cancellable, GAsyncReadyCallback callback,
                                        gpointer user_data);
gchar *cw_integration_adapter_send_finish (CwIntegrationAdapter *self, GAsyncResult *result,
                                           GError **error);
void cw_integration_adapter_send_media_async (CwIntegrationAdapter *self,
                                              const CwIntegrationMedia *media,
                                              GCancellable *cancellable,
                                              GAsyncReadyCallback callback, gpointer user_data);
gchar *cw_integration_adapter_send_media_finish (CwIntegrationAdapter *self, GAsyncResult *result,
                                                 GError **error);
/* A file name for an upload of @media: the path's base name, else "image"/"video" with an
 * extension for its MIME type (free with g_free). */
gchar *cw_integration_media_filename (const CwIntegrationMedia *media);
void cw_integration_adapter_edit_async (CwIntegrationAdapter *self, const gchar *chat_id,
                                        const gchar *message_id, const gchar *text,
                                        GCancellable *cancellable, GAsyncReadyCallback callback,
                                        gpointer user_data);
gboolean cw_integration_adapter_edit_finish (CwIntegrationAdapter *self, GAsyncResult *result,
                                             GError **error);
void cw_integration_adapter_typing (CwIntegrationAdapter *self, const gchar *chat_id);
void cw_integration_adapter_check_health_async (CwIntegrationAdapter *self,
                                                GCancellable *cancellable,
                                                GAsyncReadyCallback callback, gpointer user_data);
gboolean cw_integration_adapter_check_health_finish (CwIntegrationAdapter *self,
                                                     GAsyncResult *result,
                                                     gboolean *requires_reconnect, GError **error);
void cw_integration_adapter_update_config (CwIntegrationAdapter *self, JsonObject *config);
gboolean cw_integration_adapter_recover (CwIntegrationAdapter *self, const gchar *mode,
                                         GError **error);
CwIntegrationCaps cw_integration_adapter_get_caps (CwIntegrationAdapter *self);
void cw_integration_adapter_fetch_attachment_async (CwIntegrationAdapter *self, const gchar *ref,
                                                    gint64 max_bytes, GCancellable *cancellable,
                                                    GAsyncReadyCallback callback,
                                                    gpointer user_data);
GBytes *cw_integration_adapter_fetch_attachment_finish (CwIntegrationAdapter *self,
                                                        GAsyncResult *result, GError **error);

/* The attachment type of a MIME type: image, audio, video, pdf, else file. */
const gchar *cw_integration_attachment_type (const gchar *mime_type);

/* Helpers for adapters reading their config. */
const gchar *cw_integration_config_get_string (JsonObject *config, const gchar *name);
gint64 cw_integration_config_get_int (JsonObject *config, const gchar *name, gint64 fallback);
gboolean cw_integration_config_get_boolean (JsonObject *config, const gchar *name,
                                            gboolean fallback);
/* A string list member as a NULL-terminated array (free with g_strfreev); never NULL. */
gchar **cw_integration_config_get_strv (JsonObject *config, const gchar *name);

G_END_DECLS
