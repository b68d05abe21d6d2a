/* test-remote-access.c: the remote-access plugin in the real coworkd: off at start, the
 * original's config imported, pairing (good, reused, expired, brute-forced), tokens
 * (revoked, expired, in the query string), what a phone may call and the audit of it.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#define _GNU_SOURCE
#include "cw-remote-test.h"

#include <signal.h>
#include <string.h>

static JsonObject *
http_health (AgentFixture *f)
{
  g_autoptr (JsonObject) h = remote_call (f, "daemon_health", NULL);

  return json_object_ref (json_object_get_object_member (h, "http"));
}

/* Not listening for phones: no route of remote-access, and no server at all unless another
 * plugin has a route. */
static void
assert_not_serving (AgentFixture *f)
{
  g_autoptr (JsonObject) http = http_health (f);
  JsonArray *routes = json_object_get_array_member (http, "routes");

  for (guint i = 0; i < json_array_get_length (routes); i++)
    g_assert_cmpstr (
        json_object_get_string_member (json_array_get_object_element (routes, i), "owner"), !=,
        "remote-access");
  if (json_array_get_length (routes) == 0)
    g_assert_false (json_object_get_boolean_member (http, "listening"));
}

static gchar *
url_of (const gchar *base, const gchar *path)
{
  return g_strconcat (base, path, NULL);
}

/* Off after start although the imported config says enabled; loopback once enabled; the
 * devices of the original are there, the revoked one included. */
static void
test_off_at_start (void)
{
  g_autoptr (AgentFixture) f = remote_fixture_new (TRUE);
  g_autoptr (JsonObject) status = NULL, http = NULL, devices = NULL, off = NULL;
  g_autofree gchar *base = NULL, *health = NULL;
  JsonArray *arr, *addresses;
  g_autoptr (RemoteWs) ws = NULL;

  agent_fixture_start (f);
  status = remote_call (f, "remote_access_get_status", NULL);
  g_assert_false (json_object_get_boolean_member (status, "enabled"));
  g_assert_false (json_object_get_boolean_member (status, "running"));
  g_assert_true (json_object_get_null_member (status, "localBaseUrl"));
  g_assert_cmpstr (json_object_get_string_member (status, "tunnelState"), ==, "stopped");
  g_assert_cmpstr (json_object_get_string_member (status, "configHealth"), ==, "valid");
  g_assert_cmpint (json_object_get_int_member (status, "deviceCount"), ==, 1);
  assert_not_serving (f);

  devices = remote_call (f, "remote_access_list_devices", NULL);
  arr = json_object_get_array_member (devices, "devices");
  g_assert_cmpuint (json_array_get_length (arr), ==, 2);
  /* Newest first; the summary never has the hash. */
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (arr, 0), "id"), ==,
                   "device_0d4c51da505cef48");
  g_assert_true (json_object_has_member (json_array_get_object_element (arr, 1), "revokedAt"));
  g_assert_false (json_object_has_member (json_array_get_object_element (arr, 0), "tokenHash"));

  base = remote_enable (f);
  g_assert_true (g_str_has_prefix (base, "http://127.0.0.1:"));
  g_clear_pointer (&http, json_object_unref);
  http = http_health (f);
  g_assert_true (json_object_get_boolean_member (http, "listening"));
  addresses = json_object_get_array_member (http, "addresses");
  for (guint i = 0; i < json_array_get_length (addresses); i++)
    {
      const gchar *a = json_array_get_string_element (addresses, i);
      g_assert_true (g_str_has_prefix (a, "127.0.0.1:") || g_str_has_prefix (a, "[::1]:"));
    }
  health = url_of (base, "/v1/health");
  {
    g_autoptr (JsonObject) reply = NULL;
    g_assert_cmpuint (remote_http ("GET", health, NULL, NULL, NULL, &reply), ==, 200);
    g_assert_true (json_object_get_boolean_member (reply, "ok"));
    g_assert_true (json_object_get_boolean_member (reply, "enabled"));
    g_assert_cmpuint (remote_http ("OPTIONS", health, NULL, NULL, NULL, NULL), ==, 204);
  }

  /* Disable closes the phones' sockets with 1001 and stops listening. */
  {
    g_autofree gchar *token = remote_pair (f, base, "Phone", NULL);
    ws = remote_ws_open (base, NULL, token);
    json_object_unref (remote_ws_next_type (ws, "ready", 5000));
  }
  off = remote_call (f, "remote_access_disable", NULL);
  g_assert_false (json_object_get_boolean_member (off, "running"));
  g_assert_cmpuint (remote_ws_wait_closed (ws, 5000), ==, 1001);
  g_assert_cmpstr (ws->close_reason, ==, "Remote access disabled");
  assert_not_serving (f);

  /* And after a restart it is off again, even though it was enabled before. */
  remote_enable (f);
  agent_fixture_stop (f, SIGTERM);
  agent_fixture_start (f);
  assert_not_serving (f);
  agent_fixture_stop (f, SIGTERM);
}

static void
assert_png (const gchar *data_url)
{
  static const guint8 signature[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
  g_autofree guint8 *png = NULL;
  gsize len;

  g_assert_true (g_str_has_prefix (data_url, "data:image/png;base64,"));
  png = g_base64_decode (data_url + strlen ("data:image/png;base64,"), &len);
  g_assert_cmpuint (len, >, 100);
  g_assert_cmpmem (png, 8, signature, 8);
  g_assert_cmpmem (png + 12, 4, "IHDR", 4);
  /* 280 x 280, as the app shows it. */
  g_assert_cmpuint (GUINT32_FROM_BE (*(guint32 *) (png + 16)), ==, 280);
  g_assert_cmpuint (GUINT32_FROM_BE (*(guint32 *) (png + 20)), ==, 280);
  g_assert_cmpmem (png + len - 8, 4, "IEND", 4);
}

static gboolean
file_contains (const gchar *path, const gchar *needle)
{
  g_autofree gchar *text = NULL;
  gsize len = 0;

  if (!g_file_get_contents (path, &text, &len, NULL))
    return FALSE;
  return memmem (text, len, needle, strlen (needle)) != NULL;
}

static void
test_pairing (void)
{
  g_autoptr (AgentFixture) f = remote_fixture_new (FALSE);
  g_autofree gchar *base = NULL, *pair = NULL, *code = NULL, *body = NULL, *hash = NULL;
  g_autoptr (JsonObject) reply = NULL, qr = NULL, status = NULL;
  JsonObject *device;

  agent_fixture_start (f);
  {
    g_autofree gchar *err = agent_call_error (f->client, "remote_access_generate_qr", NULL);
    g_assert_nonnull (strstr (err, "not running"));
  }
  base = remote_enable (f);
  pair = url_of (base, "/v1/pair");
  qr = remote_call (f, "remote_access_generate_qr", NULL);
  assert_png (json_object_get_string_member (qr, "qrDataUrl"));
  g_assert_cmpint (json_object_get_int_member (qr, "expiresAt"), ==, REMOTE_T0 + 120000);

  /* Good: a token, a device, the endpoints; the app's null fields are accepted. */
  code = remote_new_code (f);
  body = g_strdup_printf ("{\"pairingCode\":\"%s\",\"deviceName\":null,\"platform\":null}", code);
  g_assert_cmpuint (remote_http ("POST", pair, body, NULL, NULL, &reply), ==, 200);
  g_assert_true (g_str_has_prefix (json_object_get_string_member (reply, "token"), "cwk_"));
  device = json_object_get_object_member (reply, "device");
  g_assert_cmpstr (json_object_get_string_member (device, "name"), ==, "Mobile device");
  g_assert_cmpstr (json_object_get_string_member (device, "platform"), ==, "mobile");
  g_assert_true (g_str_has_prefix (json_object_get_string_member (device, "id"), "device_"));
  g_assert_cmpint (json_object_get_int_member (reply, "expiresAt"), ==,
                   REMOTE_T0 + (gint64) 90 * 24 * 3600 * 1000);
  g_assert_cmpstr (json_object_get_string_member (reply, "endpoint"), ==, base);
  g_assert_true (g_str_has_prefix (json_object_get_string_member (reply, "wsEndpoint"), "ws://"));
  g_assert_true (g_str_has_suffix (json_object_get_string_member (reply, "wsEndpoint"), "/v1/ws"));

  /* Only the token's hash is stored. */
  hash = g_compute_checksum_for_string (G_CHECKSUM_SHA256,
                                        json_object_get_string_member (reply, "token"), -1);
  g_assert_false (
      agent_tree_contains (f->daemon->dir, json_object_get_string_member (reply, "token")));
  g_assert_false (agent_tree_contains (f->daemon->dir, code));
  {
    g_autofree gchar *db = g_build_filename (f->daemon->dir, "daemon", "coworkd.db", NULL);
    g_autofree gchar *wal = g_strconcat (db, "-wal", NULL);
    g_assert_true (file_contains (db, json_object_get_string_member (reply, "token")) == FALSE);
    g_assert_true (file_contains (db, hash) || file_contains (wal, hash));
    g_assert_false (file_contains (wal, json_object_get_string_member (reply, "token")));
  }

  /* Reused. */
  g_clear_pointer (&reply, json_object_unref);
  g_assert_cmpuint (remote_http ("POST", pair, body, NULL, NULL, &reply), ==, 400);
  g_assert_cmpstr (json_object_get_string_member (reply, "error"), ==,
                   "Invalid or expired pairing code");
  /* Missing. */
  g_clear_pointer (&reply, json_object_unref);
  g_assert_cmpuint (remote_http ("POST", pair, "{\"deviceName\":\"x\"}", NULL, NULL, &reply), ==,
                    400);
  g_assert_cmpstr (json_object_get_string_member (reply, "error"), ==, "pairingCode is required");

  /* Expired: 2 minutes on the scheduler's clock. */
  g_clear_pointer (&code, g_free);
  g_clear_pointer (&body, g_free);
  code = remote_new_code (f);
  body = g_strdup_printf ("{\"pairingCode\":\"%s\"}", code);
  remote_set_clock (f, REMOTE_T0 + 120001);
  g_clear_pointer (&reply, json_object_unref);
  g_assert_cmpuint (remote_http ("POST", pair, body, NULL, NULL, &reply), ==, 400);
  g_assert_cmpstr (json_object_get_string_member (reply, "error"), ==,
                   "Invalid or expired pairing code");

  /* A code survives a restart within its 2 minutes (stored as a hash). */
  g_clear_pointer (&code, g_free);
  g_clear_pointer (&body, g_free);
  code = remote_new_code (f);
  body = g_strdup_printf ("{\"pairingCode\":\"%s\"}", code);
  agent_fixture_stop (f, SIGTERM);
  agent_fixture_start (f);
  g_free (base);
  g_free (pair);
  base = remote_enable (f);
  pair = url_of (base, "/v1/pair");
  remote_set_clock (f, REMOTE_T0 + 120001 + 60000);
  g_assert_cmpuint (remote_http ("POST", pair, body, NULL, NULL, NULL), ==, 200);

  status = remote_call (f, "remote_access_get_status", NULL);
  g_assert_cmpint (json_object_get_int_member (status, "deviceCount"), ==, 2);
  g_assert_cmpuint (remote_audit (f, "remote-access.pair")->len, ==, 2);
  agent_fixture_stop (f, SIGTERM);
}

/* Wrong codes from one source are cut off after 5 a minute, everyone after 20: even the right
 * code is refused then. */
static void
test_pairing_brute_force (void)
{
  g_autoptr (AgentFixture) f = remote_fixture_new (FALSE);
  g_autofree gchar *base = NULL, *pair = NULL, *code = NULL, *good = NULL;
  guint limited = 0;

  agent_fixture_start (f);
  base = remote_enable (f);
  pair = url_of (base, "/v1/pair");
  code = remote_new_code (f);
  good = g_strdup_printf ("{\"pairingCode\":\"%s\"}", code);
  for (guint i = 0; i < 5; i++)
    {
      g_autofree gchar *guess = g_strdup_printf ("{\"pairingCode\":\"guess-%u\"}", i);
      g_assert_cmpuint (remote_http ("POST", pair, guess, NULL, NULL, NULL), ==, 400);
    }
  g_assert_cmpuint (remote_http ("POST", pair, good, NULL, NULL, NULL), ==, 429);
  /* Other sources (as a local tunnel names them) still may, until the global limit. */
  for (guint i = 0; i < 30; i++)
    {
      g_autofree gchar *guess = g_strdup_printf ("{\"pairingCode\":\"other-%u\"}", i);
      g_autofree gchar *hdr = g_strdup_printf ("X-Forwarded-For: 198.51.100.%u", i);
      guint status = remote_http ("POST", pair, guess, NULL, hdr, NULL);
      g_assert_true (status == 400 || status == 429);
      if (status == 429)
        limited++;
    }
  g_assert_cmpuint (limited, ==, 30 - 15);
  g_assert_cmpuint (remote_http ("POST", pair, good, NULL, "X-Forwarded-For: 203.0.113.9", NULL),
                    ==, 429);
  agent_fixture_stop (f, SIGTERM);
}

static void
test_tokens (void)
{
  g_autoptr (AgentFixture) f = remote_fixture_new (FALSE);
  g_autofree gchar *base = NULL, *me = NULL, *token = NULL, *device = NULL, *other = NULL;
  g_autofree gchar *query = NULL, *params = NULL, *me_query = NULL;
  g_autoptr (JsonObject) reply = NULL, revoked = NULL;
  g_autoptr (RemoteWs) ws = NULL, ws2 = NULL, ws3 = NULL;

  agent_fixture_start (f);
  base = remote_enable (f);
  me = url_of (base, "/v1/me");
  token = remote_pair (f, base, "Phone", &device);
  other = remote_pair (f, base, "Tablet", NULL);

  g_assert_cmpuint (remote_http ("GET", me, NULL, token, NULL, &reply), ==, 200);
  g_assert_cmpstr (
      json_object_get_string_member (json_object_get_object_member (reply, "device"), "id"), ==,
      device);
  /* A phone does not see diagnostics, other devices or binary paths. */
  {
    JsonObject *status = json_object_get_object_member (reply, "status");
    g_assert_cmpuint (json_array_get_length (json_object_get_array_member (status, "devices")), ==,
                      0);
    g_assert_cmpuint (json_array_get_length (json_object_get_array_member (status, "diagnostics")),
                      ==, 0);
    g_assert_true (json_object_get_null_member (status, "tunnelBinaryPath"));
  }
  g_assert_cmpuint (remote_http ("GET", me, NULL, NULL, NULL, NULL), ==, 401);
  g_assert_cmpuint (remote_http ("GET", me, NULL, "cwk_forged", NULL, NULL), ==, 401);
  /* The query string carries a token only on the WebSocket upgrade. */
  me_query = g_strdup_printf ("%s?token=%s", me, token);
  g_assert_cmpuint (remote_http ("GET", me_query, NULL, NULL, NULL, NULL), ==, 401);

  query = g_strdup_printf ("token=%s", token);
  ws = remote_ws_open (base, query, NULL);
  {
    g_autoptr (JsonObject) ready = remote_ws_next_type (ws, "ready", 5000);
    g_assert_cmpstr (json_object_get_string_member (ready, "deviceId"), ==, device);
  }
  ws2 = remote_ws_open (base, "token=cwk_forged", NULL);
  g_assert_cmpuint (remote_ws_wait_closed (ws2, 5000), ==, 4001);

  /* A device has at most 4 sockets: a fifth replaces its oldest. */
  {
    RemoteWs *more[4];
    for (guint i = 0; i < 4; i++)
      {
        more[i] = remote_ws_open (base, NULL, other);
        json_object_unref (remote_ws_next_type (more[i], "ready", 5000));
      }
    g_assert_false (more[1]->closed);
    {
      g_autoptr (RemoteWs) fifth = remote_ws_open (base, NULL, other);
      json_object_unref (remote_ws_next_type (fifth, "ready", 5000));
      g_assert_cmpuint (remote_ws_wait_closed (more[0], 5000), ==, 1008);
      remote_ws_pump (fifth, 100);
      g_assert_false (more[1]->closed);
      g_assert_false (fifth->closed);
    }
    for (guint i = 0; i < 4; i++)
      remote_ws_free (more[i]);
  }

  /* Revoked: the open socket is closed with 4001, HTTP and new sockets are refused. */
  params = g_strdup_printf ("{\"deviceId\":\"%s\"}", device);
  revoked = remote_call (f, "remote_access_revoke_device", params);
  g_assert_true (json_object_get_boolean_member (revoked, "revoked"));
  g_assert_cmpuint (remote_ws_wait_closed (ws, 5000), ==, 4001);
  g_assert_cmpstr (ws->close_reason, ==, "Device revoked");
  g_assert_cmpuint (remote_http ("GET", me, NULL, token, NULL, NULL), ==, 401);
  ws3 = remote_ws_open (base, NULL, token);
  g_assert_cmpuint (remote_ws_wait_closed (ws3, 5000), ==, 4001);
  {
    g_autoptr (JsonObject) again = remote_call (f, "remote_access_revoke_device", params);
    g_autoptr (JsonObject) unknown
        = remote_call (f, "remote_access_revoke_device", "{\"deviceId\":\"device_nope\"}");
    g_assert_false (json_object_get_boolean_member (again, "revoked"));
    g_assert_false (json_object_get_boolean_member (unknown, "revoked"));
  }
  g_assert_cmpuint (remote_audit (f, "remote-access.revoke.device")->len, ==, 1);

  /* Expired after 90 days, on HTTP and WebSocket. */
  g_assert_cmpuint (remote_http ("GET", me, NULL, other, NULL, NULL), ==, 200);
  {
    g_autoptr (RemoteWs) open_ws = remote_ws_open (base, NULL, other);
    json_object_unref (remote_ws_next_type (open_ws, "ready", 5000));
    remote_set_clock (f, REMOTE_T0 + (gint64) 90 * 24 * 3600 * 1000 + 1);
    /* Connected when it expired: the next event closes it instead of reaching it. */
    json_object_unref (remote_call (f, "consumertest_emit", "{\"count\":1}"));
    g_assert_cmpuint (remote_ws_wait_closed (open_ws, 5000), ==, 4001);
  }
  g_assert_cmpuint (remote_http ("GET", me, NULL, other, NULL, NULL), ==, 401);
  {
    g_autoptr (RemoteWs) expired = remote_ws_open (base, NULL, other);
    g_assert_cmpuint (remote_ws_wait_closed (expired, 5000), ==, 4001);
  }
  agent_fixture_stop (f, SIGTERM);
}

static void
test_logout (void)
{
  g_autoptr (AgentFixture) f = remote_fixture_new (FALSE);
  g_autofree gchar *base = NULL, *token = NULL, *logout = NULL, *me = NULL;

  agent_fixture_start (f);
  base = remote_enable (f);
  token = remote_pair (f, base, "Phone", NULL);
  logout = url_of (base, "/v1/logout");
  me = url_of (base, "/v1/me");
  g_assert_cmpuint (remote_http ("POST", logout, NULL, token, NULL, NULL), ==, 200);
  g_assert_cmpuint (remote_http ("GET", me, NULL, token, NULL, NULL), ==, 401);
  agent_fixture_stop (f, SIGTERM);
}

static JsonObject *
ws_call (RemoteWs *ws, const gchar *command, const gchar *params)
{
  g_autofree gchar *msg = g_strdup_printf (
      "{\"type\":\"call\",\"id\":7,\"command\":\"%s\",\"params\":%s}", command, params);

  remote_ws_send (ws, msg);
  return remote_ws_next_type (ws, "result", 10000);
}

/* What a phone may call: the remote-flagged commands; anything else is refused, and every
 * call is audited with the device id. */
static void
test_forbidden_commands (void)
{
  g_autoptr (AgentFixture) f = remote_fixture_new (FALSE);
  g_autofree gchar *base = NULL, *token = NULL, *device = NULL, *actor = NULL;
  g_autoptr (RemoteWs) ws = NULL;
  static const gchar *const forbidden[]
      = { "remote_access_enable", "daemon_rotate_token", "set_api_key",
          "set_execution_mode",   "daemon_health",       NULL };
  g_autoptr (GPtrArray) audit = NULL;
  guint refused = 0, allowed = 0;

  agent_fixture_start (f);
  base = remote_enable (f);
  token = remote_pair (f, base, "Phone", &device);
  ws = remote_ws_open (base, NULL, token);
  json_object_unref (remote_ws_next_type (ws, "ready", 5000));
  for (guint i = 0; forbidden[i] != NULL; i++)
    {
      g_autoptr (JsonObject) r = ws_call (ws, forbidden[i], "{}");
      g_assert_false (json_object_get_boolean_member (r, "success"));
      g_assert_nonnull (strstr (json_object_get_string_member (r, "error"),
                                "may not be called from a paired device"));
    }
  {
    g_autoptr (JsonObject) r = ws_call (ws, "list_sessions", "{}");
    g_assert_true (json_object_get_boolean_member (r, "success"));
    g_assert_true (JSON_NODE_HOLDS_ARRAY (json_object_get_member (r, "result")));
  }
  /* Still on: the phone could not switch it off. */
  {
    g_autoptr (JsonObject) s = remote_call (f, "remote_access_get_status", NULL);
    g_assert_true (json_object_get_boolean_member (s, "running"));
  }

  actor = g_strdup_printf ("remote:%s", device);
  audit = remote_audit (f, "remote-access.call");
  for (guint i = 0; i < audit->len; i++)
    {
      JsonObject *e = g_ptr_array_index (audit, i);
      JsonObject *d = json_object_get_object_member (e, "details");
      g_assert_cmpstr (json_object_get_string_member (e, "actor"), ==, actor);
      g_assert_cmpstr (json_object_get_string_member (d, "deviceId"), ==, device);
      if (json_object_get_boolean_member (d, "ok"))
        allowed++;
      else
        {
          g_assert_true (g_strv_contains (forbidden, json_object_get_string_member (d, "command")));
          refused++;
        }
    }
  g_assert_cmpuint (refused, ==, g_strv_length ((gchar **) forbidden));
  g_assert_cmpuint (allowed, ==, 1);
  /* And the same over HTTP: the API's own calls are audited too. */
  {
    g_autofree gchar *sessions = url_of (base, "/v1/sessions");
    g_assert_cmpuint (remote_http ("GET", sessions, NULL, token, NULL, NULL), ==, 200);
    g_clear_pointer (&audit, g_ptr_array_unref);
    audit = remote_audit (f, "remote-access.call");
    g_assert_cmpuint (audit->len, ==, refused + allowed + 1);
  }
  agent_fixture_stop (f, SIGTERM);
}

/* With every debug message on, neither a token nor a pairing code reaches the log. */
static void
test_secrets_not_logged (void)
{
  g_autoptr (AgentFixture) f = remote_fixture_new (FALSE);
  g_autofree gchar *base = NULL, *token = NULL, *query = NULL, *log = NULL, *me = NULL;
  g_autofree gchar *code = NULL, *pair = NULL, *body = NULL, *bad = NULL;
  g_autoptr (RemoteWs) ws = NULL;

  cw_test_daemon_setenv (f->daemon, "G_MESSAGES_DEBUG", "all");
  cw_test_daemon_log_to_file (f->daemon);
  agent_fixture_start (f);
  base = remote_enable (f);
  code = remote_new_code (f);
  pair = url_of (base, "/v1/pair");
  body = g_strdup_printf ("{\"pairingCode\":\"%s\"}", code);
  {
    g_autoptr (JsonObject) reply = NULL;
    g_assert_cmpuint (remote_http ("POST", pair, body, NULL, NULL, &reply), ==, 200);
    token = g_strdup (json_object_get_string_member (reply, "token"));
  }
  query = g_strdup_printf ("token=%s", token);
  ws = remote_ws_open (base, query, NULL);
  json_object_unref (remote_ws_next_type (ws, "ready", 5000));
  me = g_strdup_printf ("%s/v1/me?token=%s", base, token);
  g_assert_cmpuint (remote_http ("GET", me, NULL, NULL, NULL, NULL), ==, 401);
  bad = g_strdup_printf ("%s/v1/nothing?token=%s", base, token);
  g_assert_cmpuint (remote_http ("GET", bad, NULL, token, NULL, NULL), ==, 404);
  g_clear_pointer (&ws, remote_ws_free);
  agent_fixture_stop (f, SIGTERM);
  g_assert_true (g_file_get_contents (f->daemon->log_file, &log, NULL, NULL));
  g_assert_nonnull (strstr (log, "HTTP server listening"));
  g_assert_null (strstr (log, token));
  g_assert_null (strstr (log, token + strlen ("cwk_")));
  g_assert_null (strstr (log, code));
}

/* A bind address the user set that is not loopback is served, and warned about. */
static void
test_bind_address_warning (void)
{
  g_autoptr (AgentFixture) f = remote_fixture_new (FALSE);
  g_autoptr (JsonObject) s = NULL;
  JsonArray *diagnostics;
  gboolean warned = FALSE;

  cw_test_daemon_set_config (f->daemon, "[http]\naddress=0.0.0.0\n");
  agent_fixture_start (f);
  /* The shared server's port is the daemon's: a bindPort that differs is said so. */
  json_object_unref (remote_call (f, "remote_access_enable",
                                  "{\"bindPort\":1,\"publicBaseUrl\":null,\"tunnelMode\":null,"
                                  "\"tunnelName\":null,\"tunnelDomain\":null,"
                                  "\"tunnelVisibility\":null}"));
  s = remote_call (f, "remote_access_get_status", NULL);
  diagnostics = json_object_get_array_member (s, "diagnostics");
  for (guint i = 0; i < json_array_get_length (diagnostics); i++)
    {
      JsonObject *d = json_array_get_object_element (diagnostics, i);
      if (g_str_equal (json_object_get_string_member (d, "level"), "warn")
          && strstr (json_object_get_string_member (d, "message"), "not on loopback") != NULL)
        warned = TRUE;
    }
  g_assert_true (warned);
  warned = FALSE;
  for (guint i = 0; i < json_array_get_length (diagnostics); i++)
    if (strstr (json_object_get_string_member (json_array_get_object_element (diagnostics, i),
                                               "message"),
                "bindPort 1 is not used")
        != NULL)
      warned = TRUE;
  g_assert_true (warned);
  g_assert_cmpstr (json_object_get_string_member (s, "bindHost"), ==, "127.0.0.1");
  g_assert_cmpstr (json_object_get_string_member (s, "tunnelMode"), ==, "tailscale");
  g_assert_cmpstr (json_object_get_string_member (s, "tunnelVisibility"), ==, "public");
  agent_fixture_stop (f, SIGTERM);
}

/* An unreadable config.json: its backup is imported and the status says a repair happened. */
static void
test_import_backup (void)
{
  g_autoptr (AgentFixture) f = remote_fixture_new (TRUE);
  g_autofree gchar *path = g_build_filename (f->daemon->dir, "remote-access", "config.json", NULL);
  g_autoptr (JsonObject) s = NULL;

  g_assert_true (g_file_set_contents (path, "{\"enabled\": tru", -1, NULL));
  agent_fixture_start (f);
  s = remote_call (f, "remote_access_get_status", NULL);
  g_assert_cmpstr (json_object_get_string_member (s, "configHealth"), ==, "repair_required");
  g_assert_nonnull (strstr (json_object_get_string_member (s, "configRepairReason"), "backup"));
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (s, "devices")), ==, 2);
  g_assert_false (json_object_get_boolean_member (s, "enabled"));
  agent_fixture_stop (f, SIGTERM);
}

/* coworkctl remote: the QR code in the terminal, the devices, revoking one. */
static void
test_ctl (void)
{
  g_autoptr (AgentFixture) f = remote_fixture_new (FALSE);
  g_autofree gchar *base = NULL, *out = NULL, *devices = NULL, *revoked = NULL, *after = NULL;
  g_autofree gchar *status = NULL, *token = NULL, *device = NULL, *me = NULL;
  const gchar *const status_args[] = { "remote", NULL };
  const gchar *const pair_args[] = { "remote", "pair", NULL };
  const gchar *const devices_args[] = { "remote", "devices", NULL };
  gint exit_status = 0;

  agent_fixture_start (f);
  base = remote_enable (f);
  status = agent_run_ctl (f, NULL, status_args);
  g_assert_nonnull (strstr (status, "enabled, running"));
  g_assert_nonnull (strstr (status, base));
  out = agent_run_ctl (f, NULL, pair_args);
  g_assert_nonnull (strstr (out, "\u2588\u2588"));
  g_assert_nonnull (strstr (out, "cowork://pair?d="));
  token = remote_pair (f, base, "Pocket phone", &device);
  devices = agent_run_ctl (f, NULL, devices_args);
  g_assert_nonnull (strstr (devices, device));
  g_assert_nonnull (strstr (devices, "Pocket phone"));
  g_assert_nonnull (strstr (devices, "active"));
  {
    const gchar *const revoke_args[] = { "remote", "revoke", device, NULL };
    revoked = agent_run_ctl (f, NULL, revoke_args);
    g_assert_nonnull (strstr (revoked, "Revoked"));
    g_free (agent_run_ctl_status (f, NULL, revoke_args, &exit_status));
    g_assert_cmpint (exit_status, !=, 0);
  }
  after = agent_run_ctl (f, NULL, devices_args);
  g_assert_nonnull (strstr (after, "revoked"));
  me = url_of (base, "/v1/me");
  g_assert_cmpuint (remote_http ("GET", me, NULL, token, NULL, NULL), ==, 401);
  agent_fixture_stop (f, SIGTERM);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/remote-access/off-at-start", test_off_at_start);
  g_test_add_func ("/remote-access/pairing", test_pairing);
  g_test_add_func ("/remote-access/pairing-brute-force", test_pairing_brute_force);
  g_test_add_func ("/remote-access/tokens", test_tokens);
  g_test_add_func ("/remote-access/logout", test_logout);
  g_test_add_func ("/remote-access/forbidden-commands", test_forbidden_commands);
  g_test_add_func ("/remote-access/ctl", test_ctl);
  g_test_add_func ("/remote-access/secrets-not-logged", test_secrets_not_logged);
  g_test_add_func ("/remote-access/bind-address-warning", test_bind_address_warning);
  g_test_add_func ("/remote-access/import-backup", test_import_backup);
  return g_test_run ();
}
