/* cw-integrations-plugin.h: the integrations plugin's state, shared by its files.
 *
 * Who owns what: a CwIntegrationsLink per platform owns its adapter and its connection state
 * (cw-integrations-link.c); the store (cw-integrations-store.c) owns every row; the router
 * (cw-integrations-router.c) owns the turns it runs in the agent; the outbox
 * (cw-integrations-outbox.c) owns every reply until it is sent.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cw-integration-adapter.h"
#include "cw-integrations-registry.h"

G_BEGIN_DECLS

#define CW_TYPE_INTEGRATIONS_PLUGIN (cw_integrations_plugin_get_type ())
G_DECLARE_FINAL_TYPE (CwIntegrationsPlugin, cw_integrations_plugin, CW, INTEGRATIONS_PLUGIN,
                      CwPlugin)

typedef struct _CwIntegrationsLink CwIntegrationsLink;
typedef struct _CwIntegrationsTurn CwIntegrationsTurn;

struct _CwIntegrationsPlugin
{
  CwPlugin parent_instance;
  CwStore *store;
  CwSecrets *secrets;
  GHashTable *links;    /* platform id -> CwIntegrationsLink (every platform) */
  GHashTable *turns;    /* session key -> CwIntegrationsTurn running in the agent */
  GHashTable *creating; /* session key -> GINT (a create_session in flight) */
  GHashTable *sending;  /* outbox id -> GINT (a send in flight) */
  GHashTable *editing;  /* placeholder outbox id (a streamed edit of it in flight) */
  GHashTable *placing;  /* inbound id (gint64) whose placeholder is being sent */
  gchar *qr;            /* the last pairing QR an adapter showed */
  gint64 health_interval_ms;
  gint64 backoff_base_ms;
  gint64 backoff_max_ms;
  gint64 outbox_retry_base_ms;
  gint64 outbox_max_attempts;
  gint64 merge_threshold;
  gint64 max_media_bytes; /* COWORK_INTEGRATION_MAX_MEDIA_BYTES: a bigger item is a note */
  gchar *media_dir;       /* <app data dir>/integrations/media: media data waiting to be sent */
  guint flush_idle;       /* an outbox flush is due at the next idle */
  gint shared_mode;       /* the sessionMode setting: 1 shared, 0 per chat, -1 not read yet */
  gboolean started;
  gboolean stopping;
  guint64 inbound_count;
  guint64 dispatch_count;
};

/* The runtime state of one platform. */
struct _CwIntegrationsLink
{
  CwIntegrationsPlugin *plugin;
  const CwIntegrationPlatform *platform;
  CwIntegrationAdapter *adapter; /* NULL while there is none */
  GCancellable *cancellable;     /* of the connect in flight */
  gboolean connected;
  gboolean connecting;
  gboolean requires_reconnect;
  gchar *error;
  gint64 connected_at;
  gint64 last_message_at;
  gint64 last_round_trip_at;
  gint64 last_health_check_at;
  guint attempt;        /* reconnects since the last success */
  gint64 reconnect_at;  /* 0: none planned */
  gboolean checking;    /* a health check in flight */
  gboolean busy;        /* a serialised operation runs */
  gboolean notify_tool; /* the agent has send_notification_<platform> */
  GQueue ops;           /* operations waiting for it */
};

/* cw-integrations-schema.c */
gboolean cw_integrations_schema_migrate (CwIntegrationsPlugin *self, GError **error);

/* cw-integrations-store.c: every row of the plugin. */
typedef struct
{
  gint64 id;
  gchar *platform;
  gchar *message_id;
  gchar *chat_id;
  gchar *chat_title;
  gchar *sender_id;
  gchar *sender_name;
  gchar *text;
  gint64 timestamp;
  gchar *reply_data;
  gchar *status;
  gchar *session_id;
  JsonArray *attachments; /* [{type, name, mimeType?, size?, duration?, ref}], or NULL */
} CwIntegrationsInbound;
void cw_integrations_inbound_free (CwIntegrationsInbound *row);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CwIntegrationsInbound, cw_integrations_inbound_free)

typedef struct
{
  gchar *id;
  gchar *platform;
  gchar *chat_id;
  gint64 inbound_id;
  gchar *kind;
  gchar *text;
  gchar *reply_data;
  gchar *state;
  gint64 attempts;
  gint64 next_attempt_at;
  gchar *message_id;
  gchar *error;
} CwIntegrationsOutbox;
void cw_integrations_outbox_free (CwIntegrationsOutbox *row);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CwIntegrationsOutbox, cw_integrations_outbox_free)

/* Platform configs: the stored config never holds a secret; @secret_names lists the secret
 * fields kept in CwSecrets. */
gboolean cw_integrations_store_get_platform (CwStore *store, const gchar *platform,
                                             gboolean *enabled, JsonObject **config,
                                             gchar ***secret_names);
gboolean cw_integrations_store_put_platform (CwStore *store, const gchar *platform,
                                             gboolean enabled, JsonObject *config,
                                             const gchar *const *secret_names, GError **error);
gboolean cw_integrations_store_delete_platform (CwStore *store, const gchar *platform,
                                                GError **error);
gchar *cw_integrations_store_get_setting (CwStore *store, const gchar *key);
gboolean cw_integrations_store_set_setting (CwStore *store, const gchar *key, const gchar *value,
                                            GError **error);
gchar *cw_integrations_store_get_state (CwStore *store, const gchar *platform, const gchar *key);
gboolean cw_integrations_store_set_state (CwStore *store, const gchar *platform, const gchar *key,
                                          const gchar *value, GError **error);
/* The ledger: inserts @message (status received, or @status) with its state in one
 * transaction; *duplicate when the (platform, message id) is there already. Returns the row
 * id, 0 for a duplicate, -1 on error. */
gint64 cw_integrations_store_insert_inbound (CwStore *store, const gchar *platform,
                                             const CwIntegrationInbound *message,
                                             const gchar *status, gboolean *duplicate,
                                             GError **error);
CwIntegrationsInbound *cw_integrations_store_get_inbound (CwStore *store, gint64 id);
/* Received rows of one chat (@platform NULL: of every chat), oldest first. */
GPtrArray *cw_integrations_store_list_received (CwStore *store, const gchar *platform,
                                                const gchar *chat_id);
/* Rows of @status (NULL: received or dispatched), oldest first. */
GPtrArray *cw_integrations_store_list_inbound (CwStore *store, const gchar *status);
gboolean cw_integrations_store_set_inbound_status (CwStore *store, gint64 id, const gchar *status,
                                                   const gchar *session_id, GError **error);
/* Chats: the session of each (platform, chat). */
gchar *cw_integrations_store_get_chat_session (CwStore *store, const gchar *key);
gboolean cw_integrations_store_set_chat_session (CwStore *store, const gchar *key,
                                                 const gchar *session_id, const gchar *title,
                                                 GError **error);
gchar *cw_integrations_store_get_last_chat (CwStore *store, const gchar *platform);
/* Whether @chat_id of @platform sent a message that was not denied. */
gboolean cw_integrations_store_has_chat (CwStore *store, const gchar *platform,
                                         const gchar *chat_id);
/* The outbox. */
gboolean cw_integrations_store_insert_outbox (CwStore *store, CwIntegrationsOutbox *row,
                                              gboolean *duplicate, GError **error);
gboolean cw_integrations_store_update_outbox (CwStore *store, CwIntegrationsOutbox *row,
                                              GError **error);
CwIntegrationsOutbox *cw_integrations_store_get_outbox (CwStore *store, const gchar *id);
/* Rows in @state, oldest first. */
/* The row of @kind for @inbound_id (unique), or NULL. */
CwIntegrationsOutbox *cw_integrations_store_find_outbox (CwStore *store, gint64 inbound_id,
                                                         const gchar *kind);
GPtrArray *cw_integrations_store_list_outbox (CwStore *store, const gchar *state);
/* Rows in @state of @platform (NULL: of every platform). */
gint64 cw_integrations_store_count_outbox (CwStore *store, const gchar *platform,
                                           const gchar *state);
/* Open prompts (a permission or question relayed to a chat). */
gboolean cw_integrations_store_put_prompt (CwStore *store, const gchar *id, const gchar *kind,
                                           const gchar *session_id, const gchar *platform,
                                           const gchar *chat_id, const gchar *sender_id,
                                           JsonObject *request, gboolean *duplicate,
                                           GError **error);
/* The open prompt of a chat (oldest first): id, kind, sender and request; FALSE if none. */
gboolean cw_integrations_store_get_open_prompt (CwStore *store, const gchar *platform,
                                                const gchar *chat_id, gchar **id, gchar **kind,
                                                gchar **session_id, gchar **sender_id,
                                                JsonObject **request);
gboolean cw_integrations_store_close_prompt (CwStore *store, const gchar *id, GError **error);

/* cw-integrations-link.c: connect, disconnect, health, reconnect, status. */
CwIntegrationsLink *cw_integrations_link_new (CwIntegrationsPlugin *plugin,
                                              const CwIntegrationPlatform *platform);
void cw_integrations_link_free (CwIntegrationsLink *link);
CwIntegrationsLink *cw_integrations_plugin_get_link (CwIntegrationsPlugin *self,
                                                     const gchar *platform);
/* PlatformStatus (contract §3.3). */
JsonObject *cw_integrations_link_status (CwIntegrationsLink *link);
void cw_integrations_link_emit_status (CwIntegrationsLink *link);
/* Operations of one platform run one after another (contract §3.2). */
typedef void (*CwIntegrationsOpFunc) (CwIntegrationsLink *link, CwInvocation *invocation,
                                      gpointer data);
void cw_integrations_link_queue_op (CwIntegrationsLink *link, CwIntegrationsOpFunc func,
                                    CwInvocation *invocation, gpointer data,
                                    GDestroyNotify destroy);
void cw_integrations_link_op_done (CwIntegrationsLink *link);
/* Connects with the stored config; answers @invocation (may be NULL) with the status. */
void cw_integrations_link_connect (CwIntegrationsLink *link, CwInvocation *invocation);
void cw_integrations_link_disconnect (CwIntegrationsLink *link);
/* Called by the scheduler. */
void cw_integrations_link_reconnect_due (CwIntegrationsLink *link);
void cw_integrations_link_check_health (CwIntegrationsLink *link);
/* Stores @config's secret fields in CwSecrets (empty ones are deleted) and the rest in the
 * store, then calls @done. */
typedef void (*CwIntegrationsSavedFunc) (CwIntegrationsLink *link, GError *error, gpointer data);
void cw_integrations_link_save_config (CwIntegrationsLink *link, JsonObject *config,
                                       gboolean enabled, CwIntegrationsSavedFunc done,
                                       gpointer data);
extern const CwIntegrationCoreFuncs cw_integrations_core_funcs;

/* cw-integrations-router.c: inbound messages to agent sessions and back. */
/* A message was stored in the ledger: route it. */
void cw_integrations_router_inbound (CwIntegrationsPlugin *self, gint64 inbound_id);
/* After a start: route what was received but not answered before the daemon stopped. */
void cw_integrations_router_recover (CwIntegrationsPlugin *self);
void cw_integrations_router_handle_event (CwIntegrationsPlugin *self, CwEvent *event);
void cw_integrations_router_stop (CwIntegrationsPlugin *self);
/* A platform connected: the turns that waited for it to fetch their attachments run. */
void cw_integrations_router_resume (CwIntegrationsPlugin *self);

/* cw-integrations-attachments.c: inbound files on their way to the agent. */
/* Whether any of @rows (CwIntegrationsInbound) came with attachments. */
gboolean cw_integrations_attachments_any (GPtrArray *rows);
/* @attachments: for send_message (the agent's form; files as base64 data, or their
 * description only); @notes: what to add to the turn's text ("" or " (The attachment ...)"). */
typedef void (*CwIntegrationsFetchedFunc) (JsonArray *attachments, const gchar *notes,
                                           gpointer data);
/* Fetches the attachments of @rows through the platform's adapter, then calls @done; when the
 * plugin stops meanwhile, @destroy (may be NULL) gets @data instead. */
void cw_integrations_attachments_fetch (CwIntegrationsPlugin *self, GPtrArray *rows,
                                        CwIntegrationsFetchedFunc done, gpointer data,
                                        GDestroyNotify destroy);
/* The turn of @inbound_id is over: its files go. */
void cw_integrations_attachments_forget (CwIntegrationsPlugin *self, gint64 inbound_id);
/* At start: the files of messages that no longer wait, or older than a day, go. */
void cw_integrations_attachments_sweep (CwIntegrationsPlugin *self);

/* cw-integrations-outbox.c */
/* Formats @text for @platform and queues it for @chat_id; @inbound_id (0: none) and @kind
 * ("reply", "prompt", "notice", "denial", "test") make it unique per inbound message. */
gboolean cw_integrations_outbox_queue (CwIntegrationsPlugin *self, const gchar *platform,
                                       const gchar *chat_id, gint64 inbound_id, const gchar *kind,
                                       const gchar *text, const gchar *reply_data, gchar **out_id,
                                       GError **error);
/* Queues a media chat item (contract §3.3: mediaType, path?, url?, mimeType?, data?) for
 * @chat_id as a `media` row with its caption; an item over max_media_bytes is queued as a
 * note that it is too large instead. */
gboolean cw_integrations_outbox_queue_media (CwIntegrationsPlugin *self, const gchar *platform,
                                             const gchar *chat_id, JsonObject *item,
                                             const gchar *reply_data, GError **error);
/* "Generated image" / "Generated video" */
const gchar *cw_integrations_media_caption (JsonObject *item);
/* Sends whatever is due (all of a platform when it has just connected). */
void cw_integrations_outbox_flush (CwIntegrationsPlugin *self, const gchar *platform);
/* At start: sends that were in flight when the daemon died are marked unknown and reported. */
void cw_integrations_outbox_recover (CwIntegrationsPlugin *self);
/* Whether @platform's adapter class has @cap. */
gboolean cw_integrations_platform_can (const gchar *platform, CwIntegrationCaps cap);
/* The platform message id of the placeholder sent for @inbound_id, or NULL (none, not sent
 * yet, or its outcome unknown); @out_row_id gets the placeholder's outbox id. */
gchar *cw_integrations_outbox_placeholder (CwIntegrationsPlugin *self, gint64 inbound_id,
                                           gchar **out_row_id);
/* Contract §3.7 text formatting: flattened markdown/HTML, cut to @max_length. */
gchar *cw_integrations_format_text (const gchar *platform, const gchar *text, guint max_length);

/* cw-integrations-notify.c: integration_send_notification and the agent tools. */
gboolean cw_integrations_notify_register (CwIntegrationsPlugin *self, GError **error);
/* Offers the agent send_notification_<platform> while @link is connected, withdraws it
 * after. */
void cw_integrations_notify_sync (CwIntegrationsLink *link);

/* cw-integrations-commands.c */
gboolean cw_integrations_commands_register (CwIntegrationsPlugin *self, GError **error);

/* cw-integrations-importer.c: the original's ~/.cowork/integrations/config.json, once. */
typedef void (*CwIntegrationsImportDone) (CwIntegrationsPlugin *self, gpointer data);
void cw_integrations_import_original (CwIntegrationsPlugin *self, CwIntegrationsImportDone done,
                                      gpointer data);

/* cw-integrations-plugin.c */
void cw_integrations_plugin_schedule (CwIntegrationsPlugin *self, const gchar *job_id,
                                      gint64 at_ms);
void cw_integrations_plugin_unschedule (CwIntegrationsPlugin *self, const gchar *job_id);
gint64 cw_integrations_plugin_now (CwIntegrationsPlugin *self);
void cw_integrations_plugin_emit_error (CwIntegrationsPlugin *self, const gchar *code,
                                        const gchar *format, ...) G_GNUC_PRINTF (3, 4);

G_END_DECLS
