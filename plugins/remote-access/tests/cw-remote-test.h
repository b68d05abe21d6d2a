/* cw-remote-test.h: helpers of the remote-access tests: a real coworkd (with the agent, the
 * fake LLM when wanted, and the SDK's service test plugins), an HTTP client and a WebSocket
 * client that collects what the daemon sends.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cw-agent-test.h"

G_BEGIN_DECLS

/* The scheduler clock the tests start from (COWORK_TEST_CLOCK). */
#define REMOTE_T0 ((gint64) 1796170000000)

/* A daemon on a test clock at REMOTE_T0, with the original's remote-access/config.json in its
 * data dir when @with_fixture; nothing runs yet. */
AgentFixture *remote_fixture_new (gboolean with_fixture);
/* Moves the daemon's scheduler clock to @now_ms. */
void remote_set_clock (AgentFixture *f, gint64 now_ms);
/* remote_access_enable {}; returns the local base URL. */
gchar *remote_enable (AgentFixture *f);
/* A fresh pairing code from remote_access_generate_qr (its pairingUri decoded). */
gchar *remote_new_code (AgentFixture *f);
/* Pairs a device through POST /v1/pair; returns the token and sets @device_id. */
gchar *remote_pair (AgentFixture *f, const gchar *base, const gchar *name, gchar **device_id);
/* Calls and returns the result object (asserting success). */
JsonObject *remote_call (AgentFixture *f, const gchar *command, const gchar *params_json);

/* One HTTP request; returns the status and the body parsed (NULL if empty or not JSON).
 * @headers: NULL or "Name: value" lines separated by '\n'. */
guint remote_http (const gchar *method, const gchar *url, const gchar *body, const gchar *token,
                   const gchar *headers, JsonObject **reply);

typedef struct
{
  SoupSession *session;
  SoupWebsocketConnection *conn;
  GQueue messages; /* JsonObject */
  gboolean closed;
  gushort close_code;
  gchar *close_reason;
  GError *error; /* the handshake failed */
} RemoteWs;

/* Opens @base/v1/ws?@query (NULL: none) with @token in the Authorization header when given. */
RemoteWs *remote_ws_open (const gchar *base, const gchar *query, const gchar *token);
/* The same for any ws:// URL. */
RemoteWs *remote_ws_open_url (const gchar *url, const gchar *token);
void remote_ws_free (RemoteWs *ws);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (RemoteWs, remote_ws_free)
void remote_ws_send (RemoteWs *ws, const gchar *json);
/* The next message (transfer full); fails the test after @timeout_ms. */
JsonObject *remote_ws_next (RemoteWs *ws, guint timeout_ms);
/* The next message of @type (others are dropped). */
JsonObject *remote_ws_next_type (RemoteWs *ws, const gchar *type, guint timeout_ms);
/* Waits for the close; returns its code (fails the test after @timeout_ms). */
gushort remote_ws_wait_closed (RemoteWs *ws, guint timeout_ms);
/* Runs the main context for @ms (collecting messages). */
void remote_ws_pump (RemoteWs *ws, guint ms);

/* The event of an "event" frame. */
JsonObject *remote_frame_event (JsonObject *frame);

/* audit_list entries whose action is @action. */
GPtrArray *remote_audit (AgentFixture *f, const gchar *action);

G_END_DECLS
