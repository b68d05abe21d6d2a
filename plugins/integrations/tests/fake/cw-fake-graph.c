/* cw-fake-graph.c: Microsoft Graph for a Teams channel. The token endpoint
 * POST /{tenant}/oauth2/v2.0/token (grant_type=client_credentials, client_id, client_secret,
 * scope=https://graph.microsoft.com/.default) issues bearer tokens that expire after the
 * "token_lifetime" option (s, default 3599); under /v1.0: GET teams/{t}/channels/{c}, GET
 * teams/{t}/channels/{c}/messages/delta (every message after the $deltatoken, then an
 * @odata.deltaLink), POST teams/{t}/channels/{c}/messages ({body:{contentType, content}};
 * what the app posts shows up in the delta with from.application). Errors are
 * {error:{code, message}}; 429 carries Retry-After.
 * GET .../messages/{id}/hostedContents/{id}/$value and shares/u!{url}/driveItem/content
 * serve the files users attached (cw-fake-files.c).
 * Records: "token", "channel", "delta", "send", "hosted", "share" (and "file").
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-fake-cloud-private.h"

#include <string.h>

typedef struct
{
  CwFakeCloud *self;
  GPtrArray *messages; /* every channel message, in order */
  GHashTable *tokens;  /* token -> expiry (monotonic us) */
  gchar *client_id;
} Graph;

static void
graph_free (gpointer data)
{
  Graph *graph = data;

  g_ptr_array_unref (graph->messages);
  g_hash_table_unref (graph->tokens);
  g_free (graph->client_id);
  g_free (graph);
}

static void
reply_error (SoupServerMessage *msg, guint status, const gchar *code, const gchar *message)
{
  g_autofree gchar *body = g_strdup_printf (
      "{\"error\":{\"code\":\"%s\",\"message\":\"%s\",\"innerError\":{\"request-id\":"
      "\"00000000-0000-0000-0000-000000000000\"}}}",
      code, message);

  if (status == 429)
    soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Retry-After",
                                  "1");
  cw_fake_reply_text (msg, status, body);
}

static void
handle_token (Graph *graph, SoupServerMessage *msg, const gchar *path)
{
  CwFakeCloud *self = graph->self;
  g_autoptr (JsonObject) params = cw_fake_request_params (msg);
  const gchar *secret = json_object_get_string_member_with_default (params, "client_secret", "");
  const gchar *grant = json_object_get_string_member_with_default (params, "grant_type", "");
  const gchar *scope = json_object_get_string_member_with_default (params, "scope", "");
  gint64 lifetime = cw_fake_option_int (self, "token_lifetime", 3599);
  g_autofree gchar *token = NULL;
  g_autofree gchar *reply = NULL;

  {
    JsonObject *record = cw_fake_request_record (msg, NULL);
    json_object_set_object_member (record, "body", json_object_ref (params));
    cw_fake_record (self, "token", record);
  }
  if (!g_str_equal (grant, "client_credentials")
      || !g_str_equal (scope, "https://graph.microsoft.com/.default"))
    {
      cw_fake_reply_text (msg, 400,
                          "{\"error\":\"invalid_request\",\"error_description\":"
                          "\"AADSTS900144: The request body must contain the "
                          "following parameter: 'grant_type'.\"}");
      return;
    }
  if (!cw_fake_token_ok (self, secret))
    {
      cw_fake_reply_text (msg, 401,
                          "{\"error\":\"invalid_client\",\"error_description\":"
                          "\"AADSTS7000215: Invalid client secret provided.\"}");
      return;
    }
  g_free (graph->client_id);
  graph->client_id
      = g_strdup (json_object_get_string_member_with_default (params, "client_id", ""));
  token = g_strdup_printf ("graph-token-%" G_GINT64_FORMAT, cw_fake_next (self));
  g_hash_table_insert (graph->tokens, g_strdup (token),
                       g_memdup2 (&(gint64){ g_get_monotonic_time () + lifetime * G_USEC_PER_SEC },
                                  sizeof (gint64)));
  reply = g_strdup_printf ("{\"token_type\":\"Bearer\",\"expires_in\":%" G_GINT64_FORMAT
                           ",\"ext_expires_in\":%" G_GINT64_FORMAT ",\"access_token\":\"%s\"}",
                           lifetime, lifetime, token);
  cw_fake_reply_text (msg, 200, reply);
}

static JsonObject *
new_message (Graph *graph, JsonObject *from, const gchar *html)
{
  JsonObject *message = json_object_new ();
  JsonObject *body = json_object_new ();
  gint64 ms = g_get_real_time () / 1000;
  g_autofree gchar *id
      = g_strdup_printf ("%" G_GINT64_FORMAT, ms * 1000 + cw_fake_next (graph->self) % 1000);
  g_autofree gchar *when = cw_fake_iso8601 (ms);

  json_object_set_string_member (message, "id", id);
  json_object_set_null_member (message, "replyToId");
  json_object_set_string_member (message, "messageType", "message");
  json_object_set_string_member (message, "createdDateTime", when);
  json_object_set_string_member (message, "lastModifiedDateTime", when);
  json_object_set_null_member (message, "deletedDateTime");
  json_object_set_null_member (message, "subject");
  json_object_set_object_member (message, "from", from);
  json_object_set_string_member (body, "contentType", "html");
  json_object_set_string_member (body, "content", html);
  json_object_set_object_member (message, "body", body);
  json_object_set_array_member (message, "attachments", json_array_new ());
  g_ptr_array_add (graph->messages, message);
  return message;
}

static void
delta (Graph *graph, SoupServerMessage *msg, const gchar *base, GHashTable *query)
{
  const gchar *token = query != NULL ? g_hash_table_lookup (query, "$deltatoken") : NULL;
  guint start = token != NULL ? (guint) g_ascii_strtoull (token, NULL, 10) : 0;
  JsonObject *reply = json_object_new ();
  JsonArray *value = json_array_new ();
  g_autofree gchar *link = NULL;
  g_autoptr (JsonNode) node = NULL;

  for (guint i = start; i < graph->messages->len; i++)
    json_array_add_object_element (value, json_object_ref (graph->messages->pdata[i]));
  link = g_strdup_printf ("%s%s/delta?$deltatoken=%u", graph->self->root, base,
                          graph->messages->len);
  json_object_set_string_member (
      reply, "@odata.context",
      "https://graph.microsoft.com/v1.0/$metadata#Collection(chatMessage)");
  json_object_set_array_member (reply, "value", value);
  json_object_set_string_member (reply, "@odata.deltaLink", link);
  node = cw_fake_take_object (reply);
  cw_fake_reply (msg, 200, node);
}

static void
send_message (Graph *graph, SoupServerMessage *msg, const gchar *chat)
{
  g_autoptr (JsonNode) body = cw_fake_request_json (msg);
  JsonObject *content;
  JsonObject *from = json_object_new ();
  JsonObject *application = json_object_new ();
  JsonObject *message;
  const gchar *html;
  g_autoptr (JsonNode) node = NULL;

  if (body == NULL || !JSON_NODE_HOLDS_OBJECT (body)
      || (content = json_object_get_object_member (json_node_get_object (body), "body")) == NULL)
    {
      json_object_unref (from);
      json_object_unref (application);
      return reply_error (msg, 400, "BadRequest", "Missing body");
    }
  html = json_object_get_string_member_with_default (content, "content", "");
  json_object_set_null_member (from, "user");
  json_object_set_string_member (application, "id", graph->client_id);
  json_object_set_string_member (application, "displayName", "Cowork");
  json_object_set_string_member (application, "applicationIdentityType", "bot");
  json_object_set_object_member (from, "application", application);
  message = new_message (graph, from, html);
  cw_fake_chat_add (graph->self, chat, json_object_get_string_member (message, "id"), html);
  node = cw_fake_take_object (json_object_ref (message));
  cw_fake_reply (msg, 201, node);
}

/* shares/u!{unpadded base64url of the sharing URL}/driveItem/content: the file of a SharePoint
 * URL of this fake (<root>/sites/team/Shared%20Documents/<file id>/<name>). */
static void
serve_share (CwFakeCloud *self, SoupServerMessage *msg, const gchar *share)
{
  g_autofree gchar *encoded = g_strdup (share + (g_str_has_prefix (share, "u!") ? 2 : 0));
  GString *padded = g_string_new (g_strdelimit (g_strdelimit (encoded, "-", '+'), "_", '/'));
  g_autofree gchar *url = NULL;
  gsize len;
  g_auto (GStrv) parts = NULL;
  g_autofree gchar *prefix = g_strdup_printf ("%s/sites/team/Shared%%20Documents/", self->root);

  while (padded->len % 4 != 0)
    g_string_append_c (padded, '=');
  url = (gchar *) g_base64_decode (padded->str, &len);
  g_string_free (padded, TRUE);
  url = g_realloc (url, len + 1);
  url[len] = '\0';
  if (!g_str_has_prefix (url, prefix))
    return reply_error (msg, 404, "itemNotFound", "The sharing link is not valid");
  parts = g_strsplit (url + strlen (prefix), "/", 2);
  cw_fake_file_serve (self, msg, parts[0]);
}

static void
handle (SoupServer *server, SoupServerMessage *msg, const gchar *path, GHashTable *query,
        gpointer data)
{
  CwFakeCloud *self = data;
  Graph *graph = self->state;
  g_auto (GStrv) parts = NULL;
  guint n;
  const gchar *kind = "unknown";
  g_autofree gchar *token = NULL;
  gint64 *expiry;
  guint status;
  g_autofree gchar *fail_body = NULL;
  g_autofree gchar *base = NULL;
  g_autofree gchar *chat = NULL;

  if (cw_fake_cut_if_down (self, msg))
    return;
  if (g_str_has_suffix (path, "/oauth2/v2.0/token"))
    return handle_token (graph, msg, path);
  if (!g_str_has_prefix (path, "/v1.0/"))
    return reply_error (msg, 404, "UnknownError", "Not found");
  parts = g_strsplit (path + strlen ("/v1.0/"), "/", -1);
  n = g_strv_length (parts);
  if (n >= 4 && g_str_equal (parts[0], "teams") && g_str_equal (parts[2], "channels"))
    {
      base = g_strdup_printf ("/v1.0/teams/%s/channels/%s/messages", parts[1], parts[3]);
      chat = g_strdup_printf ("%s:%s", parts[1], parts[3]);
      if (n == 4)
        kind = "channel";
      else if (n == 6 && g_str_equal (parts[4], "messages") && g_str_equal (parts[5], "delta"))
        kind = "delta";
      else if (n == 5 && g_str_equal (parts[4], "messages")
               && g_str_equal (soup_server_message_get_method (msg), "POST"))
        kind = "send";
      else if (n == 9 && g_str_equal (parts[6], "hostedContents")
               && g_str_equal (parts[8], "$value"))
        kind = "hosted";
    }
  else if (n == 4 && g_str_equal (parts[0], "shares") && g_str_equal (parts[2], "driveItem")
           && g_str_equal (parts[3], "content"))
    kind = "share";
  cw_fake_record (self, kind, cw_fake_request_record (msg, cw_fake_request_json (msg)));
  token = cw_fake_request_bearer (msg);
  expiry = token != NULL ? g_hash_table_lookup (graph->tokens, token) : NULL;
  if (expiry == NULL)
    return reply_error (msg, 401, "InvalidAuthenticationToken", "Access token is empty.");
  if (*expiry < g_get_monotonic_time ())
    return reply_error (msg, 401, "InvalidAuthenticationToken",
                        "Lifetime validation failed, the token is expired.");
  if (cw_fake_take_failure (self, kind, &status, &fail_body))
    {
      if (fail_body != NULL)
        cw_fake_reply_text (msg, status, fail_body);
      else
        reply_error (msg, status, status == 429 ? "TooManyRequests" : "ServiceNotAvailable",
                     "fake failure");
      return;
    }
  if (g_str_equal (kind, "channel"))
    {
      g_autofree gchar *reply = g_strdup_printf (
          "{\"id\":\"%s\",\"displayName\":\"General\",\"membershipType\":\"standard\"}", parts[3]);
      cw_fake_reply_text (msg, 200, reply);
    }
  else if (g_str_equal (kind, "delta"))
    delta (graph, msg, base, query);
  else if (g_str_equal (kind, "send"))
    send_message (graph, msg, chat);
  else if (g_str_equal (kind, "hosted"))
    cw_fake_file_serve (self, msg, parts[7]);
  else if (g_str_equal (kind, "share"))
    serve_share (self, msg, parts[1]);
  else
    reply_error (msg, 404, "NotFound", "Resource not found");
}

static void
graph_setup (CwFakeCloud *self)
{
  Graph *graph = g_new0 (Graph, 1);

  graph->self = self;
  graph->messages = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  graph->tokens = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  graph->client_id = g_strdup ("");
  self->state = graph;
  soup_server_add_handler (self->server, "/", handle, self, NULL);
}

/* @chat_id is "<teamId>:<channelId>" (the adapter's chat id); the fake has one channel. */
static gchar *
graph_inject (CwFakeCloud *self, const gchar *chat_id, const gchar *sender_id,
              const gchar *sender_name, const gchar *text)
{
  Graph *graph = self->state;
  JsonObject *from = json_object_new ();
  JsonObject *user = json_object_new ();
  g_autofree gchar *escaped = g_markup_escape_text (text, -1);
  g_autofree gchar *html = g_strdup_printf ("<p>%s</p>", escaped);
  JsonObject *message;

  json_object_set_string_member (user, "id", sender_id);
  json_object_set_string_member (user, "displayName", sender_name);
  json_object_set_string_member (user, "userIdentityType", "aadUser");
  json_object_set_object_member (from, "user", user);
  json_object_set_null_member (from, "application");
  message = new_message (graph, from, html);
  return g_strdup (json_object_get_string_member (message, "id"));
}

/* kind "hosted": an image in the message's body (<img src=".../hostedContents/{id}/$value">);
 * kind "reference": a file attached from SharePoint (attachments[] of contentType reference,
 * contentUrl on this fake, fetched through shares/). */
static gchar *
graph_inject_file (CwFakeCloud *self, const gchar *chat_id, const gchar *sender_id,
                   const gchar *sender_name, const gchar *caption, const gchar *kind,
                   const gchar *file_name, const gchar *mime_type, GBytes *content)
{
  Graph *graph = self->state;
  g_autofree gchar *id_text
      = graph_inject (self, chat_id, sender_id, sender_name, caption != NULL ? caption : "");
  JsonObject *message = graph->messages->pdata[graph->messages->len - 1];
  JsonObject *body = json_object_get_object_member (message, "body");
  g_autofree gchar *file = cw_fake_file_add (self, file_name, mime_type, content);
  g_auto (GStrv) chat = g_strsplit (chat_id, ":", 2);
  g_autofree gchar *html = NULL;

  if (g_str_equal (kind, "hosted"))
    html = g_strdup_printf (
        "%s<p><img alt=\"image\" src=\"%s/v1.0/teams/%s/channels/%s/messages/%s/hostedContents/"
        "%s/$value\" width=\"250\" height=\"180\"></p>",
        caption != NULL ? json_object_get_string_member (body, "content") : "", self->root, chat[0],
        chat[1], id_text, file);
  else
    {
      JsonObject *attachment = json_object_new ();
      g_autofree gchar *url = g_strdup_printf ("%s/sites/team/Shared%%20Documents/%s/%s",
                                               self->root, file, file_name);
      g_assert_cmpstr (kind, ==, "reference");
      json_object_set_string_member (attachment, "id", file);
      json_object_set_string_member (attachment, "contentType", "reference");
      json_object_set_string_member (attachment, "contentUrl", url);
      json_object_set_null_member (attachment, "content");
      json_object_set_string_member (attachment, "name", file_name);
      json_object_set_null_member (attachment, "thumbnailUrl");
      json_array_add_object_element (json_object_get_array_member (message, "attachments"),
                                     attachment);
      html = g_strdup_printf (
          "%s<attachment id=\"%s\"></attachment>",
          caption != NULL ? json_object_get_string_member (body, "content") : "", file);
    }
  json_object_set_string_member (body, "content", html);
  return g_steal_pointer (&id_text);
}

static void
graph_redeliver (CwFakeCloud *self, const gchar *message_id)
{
  Graph *graph = self->state;

  for (guint i = 0; i < graph->messages->len; i++)
    if (g_str_equal (json_object_get_string_member (graph->messages->pdata[i], "id"), message_id))
      {
        /* a delta lists a message again when it changed */
        g_ptr_array_add (graph->messages, json_object_ref (graph->messages->pdata[i]));
        return;
      }
  g_assert_not_reached ();
}

const CwFakePlatform cw_fake_graph = {
  .setup = graph_setup,
  .inject = graph_inject,
  .inject_file = graph_inject_file,
  .redeliver = graph_redeliver,
  .free = graph_free,
};
