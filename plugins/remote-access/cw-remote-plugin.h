/* cw-remote-plugin.h: the remote-access plugin's state, shared by its files.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <cowork.h>

G_BEGIN_DECLS

#define CW_TYPE_REMOTE_PLUGIN (cw_remote_plugin_get_type ())
G_DECLARE_FINAL_TYPE (CwRemotePlugin, cw_remote_plugin, CW, REMOTE_PLUGIN, CwPlugin)

/* Pairing codes live this long, device tokens that long (contract §4.4). */
#define CW_REMOTE_PAIRING_TTL_MS (2 * 60 * 1000)
#define CW_REMOTE_TOKEN_TTL_MS   ((gint64) 90 * 24 * 3600 * 1000)
/* Revoked and expired devices stay listed this long, then they are forgotten. */
#define CW_REMOTE_DEVICE_KEEP_MS  ((gint64) 30 * 24 * 3600 * 1000)
#define CW_REMOTE_MAX_DIAGNOSTICS 50

typedef struct _CwRemoteTunnel CwRemoteTunnel;

typedef struct
{
  gchar *id;
  gchar *name;
  gchar *platform;
  gchar *token_hash; /* sha256 hex of the token */
  gint64 created_at;
  gint64 last_used_at;
  gint64 expires_at;
  gint64 revoked_at; /* 0: not revoked */
} CwRemoteDevice;

/* The persisted settings (contract §4.2 without the devices). */
typedef struct
{
  gboolean enabled;
  gint64 bind_port;
  gchar *public_base_url;
  gchar *tunnel_mode; /* tailscale | cloudflare | custom */
  gchar *tunnel_name;
  gchar *tunnel_domain;
  gchar *tunnel_visibility; /* public | private */
  /* "serve" or "funnel" while Tailscale publishes for us: tailscaled keeps it across our
   * restarts, so a start after a crash turns it off. */
  gchar *tailscale_published;
  gint64 created_at;
  gint64 updated_at;
} CwRemoteConfig;

struct _CwRemotePlugin
{
  CwPlugin parent_instance;
  CwStore *store;
  CwRemoteConfig config;
  GPtrArray *devices;          /* CwRemoteDevice, newest first */
  gboolean running;            /* our routes are on the daemon's HTTP server */
  gchar *config_health_reason; /* NULL: valid */
  gchar *last_operation;
  gint64 last_operation_at;
  GQueue diagnostics;        /* JsonObject, newest first */
  GPtrArray *sockets;        /* CwRemoteSocket */
  GHashTable *pair_failures; /* source -> GArray of gint64 monotonic µs */
  GArray *pair_failures_all; /* gint64 monotonic µs */
  guint last_used_save_id;
  CwRemoteTunnel *tunnel;
  gint64 last_refresh_us;
  guint64 events_sent;
  guint64 resyncs_sent;
};

/* cw-remote-plugin.c */
gint64 cw_remote_plugin_now (CwRemotePlugin *self);
void cw_remote_plugin_diagnostic (CwRemotePlugin *self, const gchar *level, const gchar *step,
                                  const gchar *message, const gchar *command_hint);
/* Records @operation as the last one and in the audit log, by @caller (NULL: the plugin). */
void cw_remote_plugin_operation (CwRemotePlugin *self, const gchar *operation, CwCaller *caller,
                                 JsonObject *details);
gboolean cw_remote_plugin_enable (CwRemotePlugin *self, GError **error);
void cw_remote_plugin_disable (CwRemotePlugin *self);
/* The base URL a phone is given: the running tunnel's, else the resolved public URL, else
 * the local one; NULL while not running. */
gchar *cw_remote_plugin_endpoint (CwRemotePlugin *self);
gchar *cw_remote_plugin_local_base_url (CwRemotePlugin *self);
gchar *cw_remote_plugin_resolved_public_url (CwRemotePlugin *self);
/* RemoteAccessStatus; @for_device leaves out what a phone has no business seeing. */
JsonObject *cw_remote_plugin_status (CwRemotePlugin *self, gboolean for_device);

/* cw-remote-store.c */
gboolean cw_remote_store_migrate (CwRemotePlugin *self, GError **error);
gboolean cw_remote_store_load (CwRemotePlugin *self, GError **error);
gboolean cw_remote_store_save_config (CwRemotePlugin *self, GError **error);
gboolean cw_remote_store_save_device (CwRemotePlugin *self, CwRemoteDevice *device, GError **error);
gboolean cw_remote_store_delete_devices (CwRemotePlugin *self, GError **error);
gboolean cw_remote_store_prune_devices (CwRemotePlugin *self, gint64 before, GError **error);
gboolean cw_remote_store_add_code (CwRemotePlugin *self, const gchar *code_hash, gint64 issued_at,
                                   gint64 expires_at, GError **error);
/* Marks the code used if it exists, is unused and has not expired at @now. */
gboolean cw_remote_store_consume_code (CwRemotePlugin *self, const gchar *code_hash, gint64 now,
                                       GError **error);
gboolean cw_remote_store_clear_codes (CwRemotePlugin *self, GError **error);
void cw_remote_config_clear (CwRemoteConfig *config);
void cw_remote_config_defaults (CwRemoteConfig *config, gint64 now);
void cw_remote_device_free (CwRemoteDevice *device);
JsonObject *cw_remote_device_summary (CwRemoteDevice *device);
/* Reads the original's <appData>/remote-access/config.json (or its .bak). */
gboolean cw_remote_import_original (CwRemotePlugin *self, GError **error);
/* Normalised http(s) URL without query, hash and trailing '/', or NULL if invalid. */
gchar *cw_remote_normalise_url (const gchar *url);
gchar *cw_remote_normalise_domain (const gchar *domain);

/* JSON helpers (cw-remote-store.c): a string member or NULL; a string or null member. */
const gchar *cw_remote_json_string (JsonObject *obj, const gchar *name);
void cw_remote_json_set_string (JsonObject *obj, const gchar *name, const gchar *value);
/* The WebSocket URL of @endpoint: ws(s) scheme, path /v1/ws. */
gchar *cw_remote_ws_endpoint (const gchar *endpoint);

/* cw-remote-devices.c */
gchar *cw_remote_hash_token (const gchar *token);
/* The live device whose token this is (constant-time compare over every device), or NULL. */
CwRemoteDevice *cw_remote_devices_authenticate (CwRemotePlugin *self, const gchar *token);
CwRemoteDevice *cw_remote_devices_lookup (CwRemotePlugin *self, const gchar *id);
gboolean cw_remote_device_is_live (CwRemotePlugin *self, CwRemoteDevice *device);
guint cw_remote_devices_count_live (CwRemotePlugin *self);
/* A new pairing code (base64url of 24 random bytes), stored as a hash. */
gchar *cw_remote_devices_new_code (CwRemotePlugin *self, gint64 *issued_at, gint64 *expires_at,
                                   GError **error);
/* Consumes @code and pairs a device; returns it and its token, or NULL with @error. */
CwRemoteDevice *cw_remote_devices_pair (CwRemotePlugin *self, const gchar *code, const gchar *name,
                                        const gchar *platform, gchar **token, GError **error);
gboolean cw_remote_devices_revoke (CwRemotePlugin *self, const gchar *id, gboolean *revoked,
                                   GError **error);
void cw_remote_devices_touch (CwRemotePlugin *self, CwRemoteDevice *device);
/* The pairing URI and QR code of a fresh code: {qrDataUrl, pairingUri, expiresAt}. */
JsonObject *cw_remote_devices_generate_qr (CwRemotePlugin *self, GError **error);

/* cw-remote-qr.c */
/* A PNG data URL of @text as a QR code (error correction M, @width px, margin 1 module). */
gchar *cw_remote_qr_png_data_url (const gchar *text, guint width, GError **error);
/* PNG bytes of a greyscale image (0 black, 255 white), @width x @height. */
GBytes *cw_remote_png_encode_grey (const guint8 *pixels, guint width, guint height, GError **error);

/* cw-remote-commands.c */
gboolean cw_remote_commands_register (CwRemotePlugin *self, GError **error);

/* cw-remote-http.c */
gboolean cw_remote_http_add_routes (CwRemotePlugin *self, GError **error);
/* Audits a command a device called (remote-access.call), refused or not. */
void cw_remote_audit_call (CwRemotePlugin *self, const gchar *device_id, const gchar *command,
                           const GError *error);

/* cw-remote-ws.c */
void cw_remote_ws_open (CwRemotePlugin *self, CwHttpRequest *request,
                        SoupWebsocketConnection *connection);
/* Closes the sockets of @device_id (NULL: all) with @code. */
void cw_remote_ws_close (CwRemotePlugin *self, const gchar *device_id, gushort code,
                         const gchar *reason);
void cw_remote_ws_free_all (CwRemotePlugin *self);
guint cw_remote_ws_count (CwRemotePlugin *self);

/* cw-remote-tunnel.c */
CwRemoteTunnel *cw_remote_tunnel_new (CwRemotePlugin *self);
void cw_remote_tunnel_free (CwRemoteTunnel *tunnel);
/* Fills the tunnel* members of a status object. */
void cw_remote_tunnel_describe (CwRemoteTunnel *tunnel, JsonObject *status, gboolean for_device);
void cw_remote_tunnel_start (CwRemoteTunnel *tunnel, GCancellable *cancellable,
                             GAsyncReadyCallback callback, gpointer user_data);
gboolean cw_remote_tunnel_start_finish (CwRemoteTunnel *tunnel, GAsyncResult *result,
                                        GError **error);
void cw_remote_tunnel_stop (CwRemoteTunnel *tunnel);
/* At start: turns off a Tailscale publication an earlier run left behind. */
void cw_remote_tunnel_cleanup (CwRemoteTunnel *tunnel);
/* Completes once no `tailscale … off` is still running (or after @timeout_ms). */
void cw_remote_tunnel_wait_idle (CwRemoteTunnel *tunnel, guint timeout_ms,
                                 GAsyncReadyCallback callback, gpointer user_data);
void cw_remote_tunnel_refresh (CwRemoteTunnel *tunnel, gboolean force);
/* Runs `<binary> up` / `cloudflared tunnel login` / the installer. */
void cw_remote_tunnel_run_action (CwRemoteTunnel *tunnel, const gchar *action,
                                  GCancellable *cancellable, GAsyncReadyCallback callback,
                                  gpointer user_data);
gboolean cw_remote_tunnel_run_action_finish (CwRemoteTunnel *tunnel, GAsyncResult *result,
                                             GError **error);
gboolean cw_remote_tunnel_is_running (CwRemoteTunnel *tunnel);
/* The running tunnel's public URL, or NULL. */
const gchar *cw_remote_tunnel_get_public_url (CwRemoteTunnel *tunnel);

G_END_DECLS
