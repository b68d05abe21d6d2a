/* cw-remote-http.c: the /v1/... HTTP API for paired phones (contract §4.5) and the web
 * client at /.
 *
 * Every answer is JSON with cache-control no-store and open CORS; OPTIONS gets 204. A
 * device authenticates with "Authorization: Bearer <token>" only: a token in the query
 * string is accepted on the WebSocket upgrade alone (browsers cannot set headers there), so
 * tokens stay out of the URLs of ordinary requests. Each API call runs the daemon command
 * behind it as the device (cw_plugin_new_remote_caller), so the registry enforces what a
 * phone may do, and each is audited with the device id.
 *
 * /v1/pair is rate-limited: per source (the peer, or the last X-Forwarded-For hop a
 * loopback proxy such as a tunnel added) PAIR_SOURCE_FAILURES failed attempts per minute,
 * and PAIR_GLOBAL_FAILURES for everyone together. With 192-bit codes living 2 minutes, this
 * makes guessing one hopeless.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-remote-plugin.h"

#include <string.h>

#define PAIR_WINDOW_US       (60 * G_USEC_PER_SEC)
#define PAIR_SOURCE_FAILURES 5
#define PAIR_GLOBAL_FAILURES 20
/* How long a message post waits for the send to be refused before it says "accepted": the
 * agent answers send_message only when the turn is over. */
#define SEND_ACCEPT_MS 1500

/* ---- answers ---- */

static void
add_common_headers (CwHttpRequest *req)
{
  SoupMessageHeaders *h = cw_http_request_get_response_headers (req);

  soup_message_headers_replace (h, "Cache-Control", "no-store");
  soup_message_headers_replace (h, "Access-Control-Allow-Origin", "*");
  soup_message_headers_replace (h, "Access-Control-Allow-Headers", "authorization, content-type");
  soup_message_headers_replace (h, "Access-Control-Allow-Methods", "GET,POST,DELETE,OPTIONS");
}

static void
respond_object (CwHttpRequest *req, guint status, JsonObject *obj)
{
  JsonNode *node = json_node_new (JSON_NODE_OBJECT);

  json_node_take_object (node, obj);
  cw_http_request_respond_json (req, status, node);
}

static void
respond_success (CwHttpRequest *req)
{
  JsonObject *obj = json_object_new ();

  json_object_set_boolean_member (obj, "success", TRUE);
  respond_object (req, 200, obj);
}

static guint
status_of_error (const GError *error)
{
  if (error->domain != CW_ERROR)
    return 500;
  switch (error->code)
    {
      case CW_ERROR_INVALID_PARAMS:
        return 400;
      case CW_ERROR_NOT_FOUND:
        return 404;
      case CW_ERROR_UNAUTHORIZED:
        return 403;
      case CW_ERROR_NOT_SUPPORTED:
      case CW_ERROR_UNKNOWN_COMMAND:
        return 501;
      default:
        return 500;
    }
}

/* ---- bodies ---- */

static JsonObject *
body_object (CwHttpRequest *req, GError **error)
{
  g_autoptr (GBytes) body = cw_http_request_get_body (req);
  g_autoptr (JsonNode) node = NULL;
  gsize len = body != NULL ? g_bytes_get_size (body) : 0;

  if (len == 0)
    return json_object_new ();
  node = cw_json_from_string (g_bytes_get_data (body, NULL), len, error);
  if (node == NULL)
    return NULL;
  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      g_set_error_literal (error, CW_ERROR, CW_ERROR_INVALID_PARAMS, "body must be a JSON object");
      return NULL;
    }
  return json_object_ref (json_node_get_object (node));
}

#define member_string cw_remote_json_string

/* ---- authentication ---- */

static CwRemoteDevice *
authenticate (CwRemotePlugin *self, CwHttpRequest *req)
{
  const gchar *auth
      = soup_message_headers_get_one (cw_http_request_get_headers (req), "Authorization");
  CwRemoteDevice *device;

  if (auth == NULL || g_ascii_strncasecmp (auth, "Bearer ", 7) != 0)
    return NULL;
  device = cw_remote_devices_authenticate (self, auth + 7);
  if (device != NULL)
    cw_remote_devices_touch (self, device);
  return device;
}

/* ---- calls on behalf of a device ---- */

static JsonObject *wrap (const gchar *name, JsonNode *result);

typedef struct
{
  CwRemotePlugin *self;
  CwHttpRequest *req;
  gchar *device_id;
  gchar *command;
  const gchar *wrap; /* static */
  guint accept_id;   /* SEND_ACCEPT_MS timer of a message post */
} Call;

static void
call_free (Call *c)
{
  g_clear_handle_id (&c->accept_id, g_source_remove);
  g_object_unref (c->self);
  g_clear_object (&c->req);
  g_free (c->device_id);
  g_free (c->command);
  g_free (c);
}

void
cw_remote_audit_call (CwRemotePlugin *self, const gchar *device_id, const gchar *command,
                      const GError *error)
{
  g_autoptr (CwCaller) caller = cw_plugin_new_remote_caller (CW_PLUGIN (self), device_id);
  g_autoptr (JsonObject) details = json_object_new ();
  g_autoptr (GError) audit_error = NULL;

  json_object_set_string_member (details, "deviceId", device_id);
  json_object_set_string_member (details, "command", command);
  json_object_set_boolean_member (details, "ok", error == NULL);
  if (error != NULL)
    json_object_set_string_member (details, "error", error->message);
  if (!cw_plugin_audit (CW_PLUGIN (self), "call", caller, details, &audit_error))
    g_warning ("cannot audit a remote call: %s", audit_error->message);
}

static void
on_call_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Call *c = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) result = cw_plugin_call_finish (CW_PLUGIN (c->self), res, &error);

  cw_remote_audit_call (c->self, c->device_id, c->command, error);
  if (c->req != NULL && !cw_http_request_is_finished (c->req))
    {
      if (error != NULL)
        cw_http_request_respond_error (c->req, status_of_error (error), error->message);
      else
        respond_object (c->req, 200, wrap (c->wrap, result));
    }
  call_free (c);
}

static gboolean
on_send_accepted (gpointer user_data)
{
  Call *c = user_data;

  c->accept_id = 0;
  if (c->req != NULL && !cw_http_request_is_finished (c->req))
    respond_success (c->req);
  g_clear_object (&c->req);
  return G_SOURCE_REMOVE;
}

static void
call_as_device (CwRemotePlugin *self, CwHttpRequest *req, CwRemoteDevice *device,
                const gchar *command, JsonObject *params, const gchar *wrap_name)
{
  g_autoptr (CwCaller) caller = cw_plugin_new_remote_caller (CW_PLUGIN (self), device->id);
  g_autoptr (JsonNode) node = json_node_new (JSON_NODE_OBJECT);
  Call *c = g_new0 (Call, 1);

  c->self = g_object_ref (self);
  c->req = g_object_ref (req);
  c->device_id = g_strdup (device->id);
  c->command = g_strdup (command);
  c->wrap = wrap_name;
  json_node_set_object (node, params);
  if (g_str_equal (command, "send_message"))
    c->accept_id = g_timeout_add (SEND_ACCEPT_MS, on_send_accepted, c);
  cw_plugin_call (CW_PLUGIN (self), caller, command, node, NULL, on_call_done, c);
}

/* The API's answer for a command's result: {@name: result} (a result that already is
 * {@name: …} as it is), or {success: true} when @name is NULL. */
static JsonObject *
wrap (const gchar *name, JsonNode *result)
{
  JsonObject *obj;

  if (name != NULL && JSON_NODE_HOLDS_OBJECT (result)
      && json_object_has_member (json_node_get_object (result), name))
    return json_object_ref (json_node_get_object (result));
  obj = json_object_new ();
  if (name == NULL)
    json_object_set_boolean_member (obj, "success", TRUE);
  else
    json_object_set_member (obj, name, json_node_copy (result));
  return obj;
}

/* ---- routes ---- */

typedef struct
{
  CwRemotePlugin *self;
  CwHttpRequest *req;
  CwRemoteDevice *device;
  const gchar *method;
  gchar **parts; /* the path below /v1, split at '/' */
  JsonObject *body;
} Api;

static gboolean
is (Api *a, const gchar *method, guint n)
{
  return g_str_equal (a->method, method) && g_strv_length (a->parts) == n;
}

static void
not_found (Api *a)
{
  cw_http_request_respond_error (a->req, 404, "Not found");
}

static const gchar *
attachment_default_mime (const gchar *type)
{
  if (g_strcmp0 (type, "image") == 0)
    return "image/jpeg";
  if (g_strcmp0 (type, "audio") == 0)
    return "audio/mpeg";
  if (g_strcmp0 (type, "video") == 0)
    return "video/mp4";
  if (g_strcmp0 (type, "pdf") == 0)
    return "application/pdf";
  if (g_strcmp0 (type, "text") == 0)
    return "text/plain";
  return "application/octet-stream";
}

/* The contract's attachment rules: known types only (else "file"), no entry without data. */
static JsonArray *
clean_attachments (JsonObject *body)
{
  static const gchar *const types[]
      = { "image", "pdf", "audio", "video", "text", "file", "other", NULL };
  JsonNode *node = json_object_get_member (body, "attachments");
  JsonArray *out = json_array_new ();
  JsonArray *in;

  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    return out;
  in = json_node_get_array (node);
  for (guint i = 0; i < json_array_get_length (in); i++)
    {
      JsonNode *el = json_array_get_element (in, i);
      JsonObject *a, *clean;
      const gchar *type, *mime, *data;

      if (!JSON_NODE_HOLDS_OBJECT (el))
        continue;
      a = json_node_get_object (el);
      data = member_string (a, "data");
      if (data == NULL || *data == '\0')
        continue;
      type = member_string (a, "type");
      if (type == NULL || !g_strv_contains (types, type))
        type = "file";
      mime = member_string (a, "mimeType");
      clean = json_object_new ();
      json_object_set_string_member (clean, "type", type);
      json_object_set_string_member (clean, "name",
                                     member_string (a, "name") != NULL ? member_string (a, "name")
                                                                       : "attachment");
      json_object_set_string_member (clean, "mimeType",
                                     mime != NULL ? mime : attachment_default_mime (type));
      json_object_set_string_member (clean, "data", data);
      json_array_add_object_element (out, clean);
    }
  return out;
}

static void
api_sessions (Api *a)
{
  guint n = g_strv_length (a->parts);
  const gchar *id = n >= 2 ? a->parts[1] : NULL;
  JsonObject *params = json_object_new ();

  if (is (a, "GET", 1))
    {
      json_object_unref (params);
      call_as_device (a->self, a->req, a->device, "list_sessions", json_object_new (), "sessions");
      return;
    }
  if (is (a, "POST", 1))
    {
      static const gchar *const keys[]
          = { "workingDirectory", "model", "title", "provider", "executionMode", NULL };
      g_autofree gchar *cwd = g_get_current_dir ();
      for (guint i = 0; keys[i] != NULL; i++)
        if (member_string (a->body, keys[i]) != NULL)
          json_object_set_string_member (params, keys[i], member_string (a->body, keys[i]));
      if (!json_object_has_member (params, "workingDirectory"))
        json_object_set_string_member (params, "workingDirectory", cwd);
      json_object_set_string_member (params, "type", "main");
      call_as_device (a->self, a->req, a->device, "create_session", params, "session");
      return;
    }
  json_object_set_string_member (params, "sessionId", id != NULL ? id : "");
  if (is (a, "GET", 2))
    {
      call_as_device (a->self, a->req, a->device, "get_session", params, "session");
      return;
    }
  if (is (a, "POST", 3) && g_str_equal (a->parts[2], "messages"))
    {
      const gchar *content = member_string (a->body, "content");
      JsonArray *attachments = clean_attachments (a->body);
      if ((content == NULL || *content == '\0') && json_array_get_length (attachments) == 0)
        {
          json_array_unref (attachments);
          json_object_unref (params);
          cw_http_request_respond_error (a->req, 400, "content or attachments is required");
          return;
        }
      json_object_set_string_member (params, "content", content != NULL ? content : "");
      if (json_array_get_length (attachments) > 0)
        json_object_set_array_member (params, "attachments", attachments);
      else
        json_array_unref (attachments);
      call_as_device (a->self, a->req, a->device, "send_message", params, NULL);
      return;
    }
  if (is (a, "POST", 3) && g_str_equal (a->parts[2], "stop"))
    {
      call_as_device (a->self, a->req, a->device, "stop_generation", params, NULL);
      return;
    }
  if (is (a, "POST", 3) && g_str_equal (a->parts[2], "permissions"))
    {
      const gchar *pid = member_string (a->body, "permissionId");
      const gchar *decision = member_string (a->body, "decision");
      if (pid == NULL || decision == NULL)
        {
          json_object_unref (params);
          cw_http_request_respond_error (a->req, 400, "permissionId and decision are required");
          return;
        }
      json_object_set_string_member (params, "permissionId", pid);
      json_object_set_string_member (params, "decision", decision);
      call_as_device (a->self, a->req, a->device, "respond_permission", params, NULL);
      return;
    }
  if (is (a, "POST", 3) && g_str_equal (a->parts[2], "questions"))
    {
      const gchar *qid = member_string (a->body, "questionId");
      JsonNode *answer = json_object_get_member (a->body, "answer");
      if (qid == NULL || answer == NULL || JSON_NODE_HOLDS_NULL (answer))
        {
          json_object_unref (params);
          cw_http_request_respond_error (a->req, 400, "questionId and answer are required");
          return;
        }
      json_object_set_string_member (params, "questionId", qid);
      json_object_set_member (params, "answer", json_node_copy (answer));
      call_as_device (a->self, a->req, a->device, "respond_question", params, NULL);
      return;
    }
  json_object_unref (params);
  not_found (a);
}

static void
api_cron (Api *a)
{
  JsonObject *params;

  if (g_strv_length (a->parts) < 2 || !g_str_equal (a->parts[1], "jobs"))
    {
      not_found (a);
      return;
    }
  if (is (a, "GET", 2))
    {
      call_as_device (a->self, a->req, a->device, "cron_list_jobs", json_object_new (), "jobs");
      return;
    }
  if (!is (a, "POST", 4))
    {
      not_found (a);
      return;
    }
  params = json_object_new ();
  json_object_set_string_member (params, "jobId", a->parts[2]);
  if (g_str_equal (a->parts[3], "pause"))
    call_as_device (a->self, a->req, a->device, "cron_pause_job", params, "job");
  else if (g_str_equal (a->parts[3], "resume"))
    call_as_device (a->self, a->req, a->device, "cron_resume_job", params, "job");
  else if (g_str_equal (a->parts[3], "run"))
    call_as_device (a->self, a->req, a->device, "cron_trigger_job", params, "run");
  else
    {
      json_object_unref (params);
      not_found (a);
    }
}

static void
api_workflow (Api *a)
{
  JsonObject *params;

  if (g_strv_length (a->parts) < 2 || !g_str_equal (a->parts[1], "scheduled"))
    {
      not_found (a);
      return;
    }
  if (is (a, "GET", 2))
    {
      params = json_object_new ();
      json_object_set_int_member (params, "limit", 300);
      call_as_device (a->self, a->req, a->device, "workflow_list_scheduled", params, "tasks");
      return;
    }
  if (!is (a, "POST", 4))
    {
      not_found (a);
      return;
    }
  params = json_object_new ();
  json_object_set_string_member (params, "workflowId", a->parts[2]);
  if (g_str_equal (a->parts[3], "pause"))
    call_as_device (a->self, a->req, a->device, "workflow_pause_scheduled", params, "result");
  else if (g_str_equal (a->parts[3], "resume"))
    call_as_device (a->self, a->req, a->device, "workflow_resume_scheduled", params, "result");
  else if (g_str_equal (a->parts[3], "run"))
    {
      JsonObject *context = json_object_new ();
      json_object_set_string_member (context, "source", "mobile");
      json_object_set_string_member (params, "triggerType", "manual");
      json_object_set_object_member (params, "triggerContext", context);
      call_as_device (a->self, a->req, a->device, "workflow_run", params, "run");
    }
  else
    {
      json_object_unref (params);
      not_found (a);
    }
}

static gchar *
pair_source (CwHttpRequest *req)
{
  g_autofree gchar *peer = cw_http_request_get_remote_address (req);
  g_autoptr (GInetAddress) inet = peer != NULL ? g_inet_address_new_from_string (peer) : NULL;
  const gchar *xff
      = soup_message_headers_get_list (cw_http_request_get_headers (req), "X-Forwarded-For");

  /* Behind a local proxy (a tunnel) every peer is loopback; the proxy names the client. */
  if (inet != NULL && g_inet_address_get_is_loopback (inet) && xff != NULL)
    {
      const gchar *last = strrchr (xff, ',');
      return g_strstrip (g_strdup (last != NULL ? last + 1 : xff));
    }
  return g_steal_pointer (&peer);
}

static guint
prune_window (GArray *times, gint64 now)
{
  while (times->len > 0 && g_array_index (times, gint64, 0) < now - PAIR_WINDOW_US)
    g_array_remove_index (times, 0);
  return times->len;
}

static gboolean
pair_limited (CwRemotePlugin *self, const gchar *source)
{
  gint64 now = g_get_monotonic_time ();
  GArray *mine = g_hash_table_lookup (self->pair_failures, source);

  if (mine != NULL && prune_window (mine, now) == 0)
    {
      g_hash_table_remove (self->pair_failures, source);
      mine = NULL;
    }
  return (mine != NULL && mine->len >= PAIR_SOURCE_FAILURES)
         || prune_window (self->pair_failures_all, now) >= PAIR_GLOBAL_FAILURES;
}

static void
pair_failed (CwRemotePlugin *self, const gchar *source)
{
  gint64 now = g_get_monotonic_time ();
  GArray *mine = g_hash_table_lookup (self->pair_failures, source);

  if (mine == NULL)
    {
      /* Bounded: at most this many sources are remembered at once. */
      if (g_hash_table_size (self->pair_failures) >= 1024)
        g_hash_table_remove_all (self->pair_failures);
      mine = g_array_new (FALSE, FALSE, sizeof (gint64));
      g_hash_table_insert (self->pair_failures, g_strdup (source), mine);
    }
  g_array_append_val (mine, now);
  g_array_append_val (self->pair_failures_all, now);
}

static void
api_pair (CwRemotePlugin *self, CwHttpRequest *req, JsonObject *body)
{
  g_autofree gchar *source = pair_source (req);
  g_autofree gchar *token = NULL, *endpoint = NULL, *ws = NULL;
  g_autoptr (GError) error = NULL;
  CwRemoteDevice *device;
  JsonObject *reply;

  if (pair_limited (self, source != NULL ? source : "?"))
    {
      soup_message_headers_replace (cw_http_request_get_response_headers (req), "Retry-After",
                                    "60");
      cw_http_request_respond_error (req, 429, "Too many pairing attempts; try again later");
      return;
    }
  device = cw_remote_devices_pair (self, member_string (body, "pairingCode"),
                                   member_string (body, "deviceName"),
                                   member_string (body, "platform"), &token, &error);
  if (device == NULL)
    {
      if (g_error_matches (error, CW_ERROR, CW_ERROR_INVALID_PARAMS))
        {
          pair_failed (self, source != NULL ? source : "?");
          cw_http_request_respond_error (req, 400, error->message);
        }
      else
        cw_http_request_respond_error (req, 500, error->message);
      return;
    }
  {
    g_autoptr (JsonObject) details = json_object_new ();
    g_autoptr (CwCaller) caller = cw_plugin_new_remote_caller (CW_PLUGIN (self), device->id);
    json_object_set_string_member (details, "deviceId", device->id);
    json_object_set_string_member (details, "name", device->name);
    json_object_set_string_member (details, "platform", device->platform);
    cw_plugin_audit (CW_PLUGIN (self), "pair", caller, details, NULL);
  }
  endpoint = cw_remote_plugin_endpoint (self);
  ws = endpoint != NULL ? cw_remote_ws_endpoint (endpoint) : NULL;
  reply = json_object_new ();
  json_object_set_string_member (reply, "token", token);
  json_object_set_object_member (reply, "device", cw_remote_device_summary (device));
  json_object_set_int_member (reply, "expiresAt", device->expires_at);
  if (endpoint != NULL)
    json_object_set_string_member (reply, "endpoint", endpoint);
  if (ws != NULL)
    json_object_set_string_member (reply, "wsEndpoint", ws);
  respond_object (req, 200, reply);
  memset (token, 0, strlen (token));
}

static void
on_api (CwHttpRequest *req, gpointer user_data)
{
  CwRemotePlugin *self = user_data;
  const gchar *method = cw_http_request_get_method (req);
  const gchar *path = cw_http_request_get_path (req);
  g_auto (GStrv) parts = NULL;
  g_autoptr (JsonObject) body = NULL;
  g_autoptr (GError) error = NULL;
  Api a = { self, req, NULL, method, NULL, NULL };

  add_common_headers (req);
  if (g_str_equal (method, "OPTIONS"))
    {
      cw_http_request_respond (req, 204, NULL, NULL);
      return;
    }
  if (g_str_equal (path, "/v1/health") && g_str_equal (method, "GET"))
    {
      JsonObject *obj = json_object_new ();
      json_object_set_boolean_member (obj, "ok", TRUE);
      json_object_set_int_member (obj, "timestamp", cw_now_ms ());
      json_object_set_boolean_member (obj, "running", self->running);
      json_object_set_boolean_member (obj, "enabled", self->config.enabled);
      respond_object (req, 200, obj);
      return;
    }
  if (g_str_equal (method, "POST") || g_str_equal (method, "DELETE"))
    {
      body = body_object (req, &error);
      if (body == NULL)
        {
          cw_http_request_respond_error (req, 400, error->message);
          return;
        }
    }
  if (g_str_equal (path, "/v1/pair") && g_str_equal (method, "POST"))
    {
      api_pair (self, req, body);
      return;
    }
  a.device = authenticate (self, req);
  if (a.device == NULL)
    {
      cw_http_request_respond_error (req, 401, "Unauthorized");
      return;
    }
  a.body = body;
  parts = g_strsplit (path + strlen ("/v1/"), "/", -1);
  a.parts = parts;
  if (is (&a, "GET", 1) && g_str_equal (parts[0], "me"))
    {
      JsonObject *obj = json_object_new ();
      json_object_set_object_member (obj, "device", cw_remote_device_summary (a.device));
      json_object_set_object_member (obj, "status", cw_remote_plugin_status (self, TRUE));
      respond_object (req, 200, obj);
    }
  else if (is (&a, "POST", 1) && g_str_equal (parts[0], "logout"))
    {
      g_autofree gchar *id = g_strdup (a.device->id);
      gboolean revoked;
      cw_remote_audit_call (self, id, "logout", NULL);
      if (!cw_remote_devices_revoke (self, id, &revoked, &error))
        cw_http_request_respond_error (req, 500, error->message);
      else
        respond_success (req);
    }
  else if (g_str_equal (parts[0], "sessions"))
    api_sessions (&a);
  else if (g_str_equal (parts[0], "cron"))
    api_cron (&a);
  else if (g_str_equal (parts[0], "workflow"))
    api_workflow (&a);
  else
    not_found (&a);
}

static void
on_web (CwHttpRequest *req, gpointer user_data)
{
  g_autoptr (GBytes) page = g_resources_lookup_data ("/org/cowork/remote-access/index.html",
                                                     G_RESOURCE_LOOKUP_FLAGS_NONE, NULL);
  SoupMessageHeaders *h = cw_http_request_get_response_headers (req);

  soup_message_headers_replace (h, "Cache-Control", "no-store");
  /* Everything the page needs is inline: nothing else may load, nothing may frame it. */
  soup_message_headers_replace (h, "Content-Security-Policy",
                                "default-src 'none'; script-src 'unsafe-inline'; "
                                "style-src 'unsafe-inline'; connect-src 'self' ws: wss:; "
                                "img-src data:; frame-ancestors 'none'");
  soup_message_headers_replace (h, "X-Content-Type-Options", "nosniff");
  soup_message_headers_replace (h, "Referrer-Policy", "no-referrer");
  if (!g_str_equal (cw_http_request_get_method (req), "GET"))
    {
      cw_http_request_respond_error (req, 404, "Not found");
      return;
    }
  cw_http_request_respond (req, 200, "text/html; charset=utf-8", page);
}

static void
on_ws (CwHttpRequest *req, SoupWebsocketConnection *conn, gpointer user_data)
{
  cw_remote_ws_open (CW_REMOTE_PLUGIN (user_data), req, conn);
}

gboolean
cw_remote_http_add_routes (CwRemotePlugin *self, GError **error)
{
  static const gchar *const api[] = { "/v1/health",
                                      "/v1/pair",
                                      "/v1/me",
                                      "/v1/logout",
                                      "/v1/sessions/*",
                                      "/v1/cron/*",
                                      "/v1/workflow/scheduled/*",
                                      NULL };
  CwPlugin *plugin = CW_PLUGIN (self);

  for (guint i = 0; api[i] != NULL; i++)
    if (!cw_plugin_add_http_route (plugin, api[i], on_api, self, NULL, error))
      return FALSE;
  return cw_plugin_add_http_route (plugin, "/", on_web, self, NULL, error)
         && cw_plugin_add_websocket_route (plugin, "/v1/ws", NULL, on_ws, self, NULL, error);
}
