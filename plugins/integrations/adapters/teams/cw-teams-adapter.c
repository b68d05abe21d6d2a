/* cw-teams-adapter.c: a Microsoft Teams channel through Microsoft Graph with app-only
 * (client credentials) authentication.
 *
 * Token: POST {authBaseUrl}/{tenantId}/oauth2/v2.0/token (client_id, client_secret, scope
 * https://graph.microsoft.com/.default); renewed a minute before it expires and after a 401.
 * Connect: a token and GET teams/{teamId}/channels/{channelId} (the round trip). Inbound
 * polls the channel's messages/delta every pollIntervalSeconds on the daemon's scheduler. The
 * position is the delta (or next-page) link Graph returns: it is stored with the last message
 * of a page in the same ledger transaction, so a crash in the middle of a page fetches the
 * page again and the core drops what it already has. The first connect ever walks the delta
 * to its end and stores that link without ingesting anything (the original read the last 20
 * messages as new). After a restart the first poll runs at once from the stored link.
 *
 * Messages: people's messages (messageType "message", not deleted; the app's own posts and
 * other applications skipped, which the original did not do), HTML stripped; the chat id is
 * "<teamId>:<channelId>" and the dedupe key the message id. Images hosted in a message
 * (hostedContents) and files attached from SharePoint (the shares API) reach the agent,
 * fetched with the app's token. Replies are posted as HTML to
 * the channel. Graph gives an application no edit of its channel posts and no typing, so the
 * placeholder stays and the reply is a new message. Health: GET the channel.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "../cloud/cw-cloud-download.h"
#include "../cloud/cw-cloud-http.h"
#include "../cloud/cw-cloud-task.h"
#include "../cw-integrations-adapters.h"

#include <string.h>

struct _CwTeamsAdapter
{
  CwIntegrationAdapter parent_instance;
  SoupSession *session;
  GCancellable *cancellable;
  gchar *api;
  gchar *auth_base;
  gchar *tenant;
  gchar *client_id;
  gchar *client_secret;
  gchar *team;
  gchar *channel;
  gchar *chat_id;
  gint64 interval_ms;
  gchar *token;        /* "Bearer ..." */
  gint64 token_expiry; /* monotonic us */
  gboolean polling;
  gboolean poll_again; /* a poll came due during the last one */
  gboolean scheduled;
};

G_DECLARE_FINAL_TYPE (CwTeamsAdapter, cw_teams_adapter, CW, TEAMS_ADAPTER, CwIntegrationAdapter)
G_DEFINE_FINAL_TYPE (CwTeamsAdapter, cw_teams_adapter, CW_TYPE_INTEGRATION_ADAPTER)

#define POLL_JOB "teams.poll"

/* ---- requests with a token ---------------------------------------------------------- */

typedef struct
{
  CwTeamsAdapter *self;
  gchar *method;
  gchar *url;
  JsonObject *body;
  GTask *task;
  gboolean retried;
} GraphCall;

static void
graph_call_free (GraphCall *call)
{
  g_object_unref (call->self);
  g_free (call->method);
  g_free (call->url);
  g_clear_pointer (&call->body, json_object_unref);
  g_free (call);
}

static void graph_send (GraphCall *call);

static void
on_token (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GraphCall *call = user_data;
  CwTeamsAdapter *self = call->self;
  g_autoptr (GError) error = NULL;
  g_autoptr (CwCloudReply) reply = cw_cloud_request_finish (result, &error);
  JsonObject *body = reply != NULL ? cw_cloud_reply_object (reply) : NULL;
  const gchar *token = body != NULL
                           ? json_object_get_string_member_with_default (body, "access_token", NULL)
                           : NULL;

  if (reply != NULL && (reply->status != 200 || token == NULL))
    {
      const gchar *detail
          = body != NULL
                ? json_object_get_string_member_with_default (body, "error_description", NULL)
                : NULL;
      error = cw_cloud_reply_error (reply, "the Microsoft identity platform token request", detail);
      if (reply->status == 400 || reply->status == 401)
        error->code = CW_ERROR_UNAUTHORIZED;
    }
  if (error != NULL)
    {
      g_task_return_error (call->task, g_steal_pointer (&error));
      g_object_unref (call->task);
      graph_call_free (call);
      return;
    }
  g_free (self->token);
  self->token = g_strconcat ("Bearer ", token, NULL);
  self->token_expiry = g_get_monotonic_time ()
                       + (json_object_get_int_member_with_default (body, "expires_in", 3599) - 60)
                             * G_USEC_PER_SEC;
  graph_send (call);
}

static void
fetch_token (GraphCall *call)
{
  CwTeamsAdapter *self = call->self;
  g_autofree gchar *url
      = g_strdup_printf ("%s/%s/oauth2/v2.0/token", self->auth_base, self->tenant);
  g_autofree gchar *form = soup_form_encode ("grant_type", "client_credentials", "client_id",
                                             self->client_id, "client_secret", self->client_secret,
                                             "scope", "https://graph.microsoft.com/.default", NULL);

  cw_cloud_request_async (self->session, "POST", url, NULL, NULL, form,
                          g_task_get_cancellable (call->task), on_token, call);
}

static void
on_graph (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GraphCall *call = user_data;
  g_autoptr (GError) error = NULL;
  CwCloudReply *reply = cw_cloud_request_finish (result, &error);

  if (reply != NULL && reply->status == 401 && !call->retried)
    {
      /* expired or revoked: one new token, one more try */
      cw_cloud_reply_free (reply);
      call->retried = TRUE;
      g_clear_pointer (&call->self->token, g_free);
      fetch_token (call);
      return;
    }
  if (reply == NULL)
    g_task_return_error (call->task, g_steal_pointer (&error));
  else
    g_task_return_pointer (call->task, reply, (GDestroyNotify) cw_cloud_reply_free);
  g_object_unref (call->task);
  graph_call_free (call);
}

static void
graph_send (GraphCall *call)
{
  CwTeamsAdapter *self = call->self;

  if (self->token == NULL || g_get_monotonic_time () >= self->token_expiry)
    {
      fetch_token (call);
      return;
    }
  cw_cloud_request_async (self->session, call->method, call->url, self->token, call->body, NULL,
                          g_task_get_cancellable (call->task), on_graph, call);
}

/* A Graph request (@path relative to apiBaseUrl, or a full URL) with a valid token;
 * finishes with a CwCloudReply (cw_cloud_request_finish). */
static void
graph_request (CwTeamsAdapter *self, const gchar *method, const gchar *path, JsonObject *body,
               GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  GraphCall *call = g_new0 (GraphCall, 1);

  call->self = g_object_ref (self);
  call->method = g_strdup (method);
  call->url = g_str_has_prefix (path, "http") ? g_strdup (path)
                                              : g_strdup_printf ("%s%s", self->api, path);
  call->body = body;
  call->task = g_task_new (NULL, cancellable, callback, user_data);
  graph_send (call);
}

static GError *
graph_error (CwCloudReply *reply, const gchar *what)
{
  JsonObject *body = cw_cloud_reply_object (reply);
  JsonObject *error = body != NULL && json_object_has_member (body, "error")
                              && JSON_NODE_HOLDS_OBJECT (json_object_get_member (body, "error"))
                          ? json_object_get_object_member (body, "error")
                          : NULL;

  return cw_cloud_reply_error (
      reply, what,
      error != NULL ? json_object_get_string_member_with_default (error, "message", NULL) : NULL);
}

/* ---- inbound ------------------------------------------------------------------------- */

static gchar *
html_to_text (const gchar *html)
{
  static const struct
  {
    const gchar *pattern, *replacement;
  } rules[] = {
    { "<br\\s*/?>", "\n" }, { "</p>\\s*", "\n" }, { "<[^>]*>", "" },
    { "&nbsp;", " " },      { "&lt;", "<" },      { "&gt;", ">" },
    { "&quot;", "\"" },     { "&#39;", "'" },     { "&amp;", "&" },
  };
  g_autofree gchar *text = g_strdup (html != NULL ? html : "");

  for (guint i = 0; i < G_N_ELEMENTS (rules); i++)
    {
      g_autoptr (GRegex) re = g_regex_new (rules[i].pattern, G_REGEX_CASELESS, 0, NULL);
      gchar *next = g_regex_replace_literal (re, text, -1, 0, rules[i].replacement, 0, NULL);
      if (next != NULL)
        {
          g_free (text);
          text = next;
        }
    }
  return g_strdup (g_strstrip (text));
}

/* A person's message, or NULL for the app's own posts, other apps and system messages. */
static JsonObject *
person_of (JsonObject *message)
{
  JsonNode *from = json_object_get_member (message, "from");
  JsonNode *user;

  if (g_strcmp0 (json_object_get_string_member_with_default (message, "messageType", ""), "message")
          != 0
      || (json_object_has_member (message, "deletedDateTime")
          && !json_object_get_null_member (message, "deletedDateTime"))
      || from == NULL || !JSON_NODE_HOLDS_OBJECT (from))
    return NULL;
  if (json_object_has_member (json_node_get_object (from), "application")
      && !json_object_get_null_member (json_node_get_object (from), "application"))
    return NULL;
  user = json_object_get_member (json_node_get_object (from), "user");
  return user != NULL && JSON_NODE_HOLDS_OBJECT (user) ? json_node_get_object (user) : NULL;
}

#define MAX_FILES 10

/* The files of a message, described for the ledger: the images hosted in the message (an
 * <img> of its body whose src is a hostedContents/{id}/$value of the API, fetched with the
 * token) and the files attached from SharePoint (attachments[] of contentType reference:
 * "share:<contentUrl>", fetched by shares/u!{base64url}/driveItem/content). The references
 * (new strings) go to @refs. */
static guint
describe_files (JsonObject *message, CwIntegrationAttachment *out, GPtrArray *refs)
{
  JsonObject *body = json_object_has_member (message, "body")
                         ? json_object_get_object_member (message, "body")
                         : NULL;
  const gchar *html
      = body != NULL ? json_object_get_string_member_with_default (body, "content", "") : "";
  JsonNode *node = json_object_get_member (message, "attachments");
  JsonArray *attachments
      = node != NULL && JSON_NODE_HOLDS_ARRAY (node) ? json_node_get_array (node) : NULL;
  g_autoptr (GRegex) img = g_regex_new ("<img[^>]*\\ssrc=\"([^\"]+/hostedContents/[^\"]+)\"",
                                        G_REGEX_CASELESS, 0, NULL);
  g_autoptr (GMatchInfo) match = NULL;
  guint n = 0;

  g_regex_match (img, html, 0, &match);
  while (g_match_info_matches (match) && n < MAX_FILES)
    {
      gchar *src = g_match_info_fetch (match, 1);
      g_ptr_array_add (refs, src);
      out[n++] = (CwIntegrationAttachment){
        .type = "image", .name = "image.png", .mime_type = NULL, .size = -1, .ref = src
      };
      g_match_info_next (match, NULL);
    }
  for (guint i = 0; attachments != NULL && i < json_array_get_length (attachments) && n < MAX_FILES;
       i++)
    {
      JsonObject *a = json_array_get_object_element (attachments, i);
      const gchar *url
          = a != NULL ? json_object_get_string_member_with_default (a, "contentUrl", NULL) : NULL;
      const gchar *name
          = a != NULL ? json_object_get_string_member_with_default (a, "name", NULL) : NULL;
      gchar *ref;
      if (url == NULL
          || g_strcmp0 (json_object_get_string_member_with_default (a, "contentType", ""),
                        "reference")
                 != 0)
        continue;
      ref = g_strconcat ("share:", url, NULL);
      g_ptr_array_add (refs, ref);
      {
        g_autofree gchar *guessed = g_content_type_guess (name, NULL, 0, NULL);
        g_autofree gchar *mime = g_content_type_get_mime_type (guessed);
        /* the type, kept in @refs for the strings' lifetime */
        g_ptr_array_add (refs, g_strdup (mime != NULL ? mime : "application/octet-stream"));
        out[n++] = (CwIntegrationAttachment){
          .type = cw_integration_attachment_type (refs->pdata[refs->len - 1]),
          .name = name != NULL ? name : "file",
          .mime_type = refs->pdata[refs->len - 1],
          .size = -1,
          .ref = ref,
        };
      }
    }
  return n;
}

/* Ingests one page; FALSE when the ledger refused a message (the position stays). */
static gboolean
receive_page (CwTeamsAdapter *self, JsonArray *value, const gchar *position)
{
  gint last = -1;
  g_autoptr (GError) error = NULL;
  CwIntegrationAttachment files[MAX_FILES];
  g_autoptr (GPtrArray) refs = g_ptr_array_new_with_free_func (g_free);
  guint n_files;

  for (guint i = 0; value != NULL && i < json_array_get_length (value); i++)
    if (person_of (json_array_get_object_element (value, i)) != NULL)
      last = i;
  if (last < 0)
    {
      if (position != NULL
          && !cw_integration_adapter_set_state (CW_INTEGRATION_ADAPTER (self), "deltaLink",
                                                position, &error))
        {
          g_warning ("teams: cannot store the delta link: %s", error->message);
          return FALSE;
        }
      return TRUE;
    }
  for (gint i = 0; i <= last; i++)
    {
      JsonObject *message = json_array_get_object_element (value, i);
      JsonObject *user = person_of (message);
      JsonObject *body = json_object_has_member (message, "body")
                             ? json_object_get_object_member (message, "body")
                             : NULL;
      g_autofree gchar *text = NULL;
      g_autoptr (GDateTime) when = NULL;
      gboolean duplicate;

      if (user == NULL)
        continue;
      text = html_to_text (
          body != NULL ? json_object_get_string_member_with_default (body, "content", "") : "");
      g_ptr_array_set_size (refs, 0);
      n_files = describe_files (message, files, refs);
      if (*text == '\0' && n_files == 0)
        {
          g_free (text);
          text = g_strdup ("Attachment received.");
        }
      when = g_date_time_new_from_iso8601 (
          json_object_get_string_member_with_default (message, "createdDateTime", ""), NULL);
      {
        CwIntegrationInbound inbound = {
          .message_id = json_object_get_string_member_with_default (message, "id", ""),
          .chat_id = self->chat_id,
          .chat_title = self->chat_id,
          .sender_id = json_object_get_string_member_with_default (user, "id", ""),
          .sender_name = json_object_get_string_member_with_default (user, "displayName", NULL),
          .text = text,
          .timestamp_ms = when != NULL ? g_date_time_to_unix (when) * 1000 : 0,
          .state_key = i == last ? "deltaLink" : NULL,
          .state_value = i == last ? position : NULL,
          .attachments = files,
          .n_attachments = n_files,
        };
        if (!cw_integration_adapter_receive (CW_INTEGRATION_ADAPTER (self), &inbound, &duplicate,
                                             &error))
          {
            g_warning ("teams: message %s not stored, it is fetched again: %s", inbound.message_id,
                       error->message);
            return FALSE;
          }
      }
    }
  return TRUE;
}

static void poll_link (CwTeamsAdapter *self, const gchar *link);
static void poll_now (CwTeamsAdapter *self);

static void
poll_done (CwTeamsAdapter *self)
{
  self->polling = FALSE;
  if (self->poll_again)
    {
      self->poll_again = FALSE;
      poll_now (self);
    }
}

static void
on_poll (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (CwTeamsAdapter) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (CwCloudReply) reply = g_task_propagate_pointer (G_TASK (result), &error);
  JsonObject *body;
  const gchar *next, *delta;

  if (reply == NULL)
    {
      self->polling = FALSE;
      self->poll_again = FALSE;
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        cw_integration_adapter_report_lost (CW_INTEGRATION_ADAPTER (self), error,
                                            error->code == CW_ERROR_UNAUTHORIZED);
      return;
    }
  body = cw_cloud_reply_object (reply);
  if (reply->status != 200 || body == NULL)
    {
      g_autoptr (GError) failure = graph_error (reply, "GET messages/delta");
      self->polling = FALSE;
      self->poll_again = FALSE;
      if (reply->status == 401 || reply->status == 403 || reply->status == 404)
        cw_integration_adapter_report_lost (CW_INTEGRATION_ADAPTER (self), failure, TRUE);
      else
        g_debug ("teams: %s", failure->message);
      return;
    }
  cw_integration_adapter_report_round_trip (CW_INTEGRATION_ADAPTER (self));
  next = json_object_get_string_member_with_default (body, "@odata.nextLink", NULL);
  delta = json_object_get_string_member_with_default (body, "@odata.deltaLink", NULL);
  if (!receive_page (self,
                     json_object_has_member (body, "value")
                         ? json_object_get_array_member (body, "value")
                         : NULL,
                     next != NULL ? next : delta))
    {
      self->polling = FALSE;
      self->poll_again = FALSE;
      return;
    }
  if (next != NULL)
    poll_link (self, next);
  else
    poll_done (self);
}

static void
poll_link (CwTeamsAdapter *self, const gchar *link)
{
  graph_request (self, "GET", link, NULL, self->cancellable, on_poll, g_object_ref (self));
}

static void
poll_now (CwTeamsAdapter *self)
{
  g_autofree gchar *link
      = cw_integration_adapter_get_state (CW_INTEGRATION_ADAPTER (self), "deltaLink");

  if (self->polling)
    self->poll_again = TRUE;
  if (self->session == NULL || self->polling || link == NULL)
    return;
  self->polling = TRUE;
  poll_link (self, link);
}

static void
on_poll_due (CwPlugin *plugin, const gchar *job_id, gint64 scheduled_ms, CwScheduleFireFlags flags,
             gpointer user_data)
{
  if (!(flags & CW_SCHEDULE_FIRE_SKIPPED))
    poll_now (user_data);
}

/* ---- connect ------------------------------------------------------------------------- */

typedef struct
{
  gchar *link;
} Baseline;

static void walk_baseline (GTask *task, const gchar *link);

static void
on_baseline (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  CwTeamsAdapter *self = g_task_get_source_object (task);
  g_autoptr (GError) error = NULL;
  g_autoptr (CwCloudReply) reply = g_task_propagate_pointer (G_TASK (result), &error);
  JsonObject *body;
  const gchar *next, *delta;

  if (reply == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  body = cw_cloud_reply_object (reply);
  if (reply->status != 200 || body == NULL)
    {
      g_task_return_error (task, graph_error (reply, "GET messages/delta"));
      return;
    }
  next = json_object_get_string_member_with_default (body, "@odata.nextLink", NULL);
  delta = json_object_get_string_member_with_default (body, "@odata.deltaLink", NULL);
  if (next != NULL)
    {
      walk_baseline (g_steal_pointer (&task), next);
      return;
    }
  if (delta == NULL
      || !cw_integration_adapter_set_state (CW_INTEGRATION_ADAPTER (self), "deltaLink", delta,
                                            &error))
    {
      if (error == NULL)
        g_set_error (&error, CW_ERROR, CW_ERROR_FAILED, "Graph returned no delta link");
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  g_task_return_boolean (task, TRUE);
}

static void
walk_baseline (GTask *task, const gchar *link)
{
  graph_request (g_task_get_source_object (task), "GET", link, NULL, g_task_get_cancellable (task),
                 on_baseline, task);
}

static void
start_polling (CwTeamsAdapter *self)
{
  g_autoptr (GError) error = NULL;
  CwPlugin *plugin = cw_integration_adapter_get_plugin (CW_INTEGRATION_ADAPTER (self));
  g_autoptr (CwSchedule) every = cw_schedule_new_every (
      self->interval_ms, cw_plugin_schedule_get_now (plugin) + self->interval_ms, &error);

  if (every == NULL
      || !cw_plugin_schedule_add (plugin, POLL_JOB, every, CW_MISSED_POLICY_SKIP, on_poll_due, self,
                                  NULL, &error))
    g_warning ("teams: cannot schedule the poll: %s", error->message);
  else
    self->scheduled = TRUE;
  /* what came while the daemon was away, at once */
  poll_now (self);
}

static void
on_connected (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  CwTeamsAdapter *self = g_task_get_source_object (task);
  g_autoptr (GError) error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  start_polling (self);
  g_task_return_boolean (task, TRUE);
}

static void
on_channel (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  CwTeamsAdapter *self = g_task_get_source_object (task);
  g_autoptr (GError) error = NULL;
  g_autoptr (CwCloudReply) reply = g_task_propagate_pointer (G_TASK (result), &error);
  JsonObject *body;
  g_autofree gchar *link = NULL;

  if (reply == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  body = cw_cloud_reply_object (reply);
  if (reply->status != 200 || body == NULL)
    {
      g_task_return_error (task, graph_error (reply, "GET the channel"));
      return;
    }
  cw_integration_adapter_report_round_trip (CW_INTEGRATION_ADAPTER (self));
  cw_integration_adapter_set_identity (
      CW_INTEGRATION_ADAPTER (self),
      json_object_get_string_member_with_default (body, "displayName", NULL), NULL);
  link = cw_integration_adapter_get_state (CW_INTEGRATION_ADAPTER (self), "deltaLink");
  if (link == NULL)
    {
      /* the first connect: where the channel is now is the baseline */
      GTask *baseline
          = g_task_new (self, g_task_get_cancellable (task), on_connected, g_object_ref (task));
      g_autofree gchar *path
          = g_strdup_printf ("/teams/%s/channels/%s/messages/delta", self->team, self->channel);
      walk_baseline (baseline, path);
      return;
    }
  start_polling (self);
  g_task_return_boolean (task, TRUE);
}

static void
teams_disconnect (CwIntegrationAdapter *adapter)
{
  CwTeamsAdapter *self = CW_TEAMS_ADAPTER (adapter);
  CwPlugin *plugin = cw_integration_adapter_get_plugin (adapter);

  if (self->scheduled && plugin != NULL)
    cw_plugin_schedule_remove (plugin, POLL_JOB, NULL);
  self->scheduled = FALSE;
  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  if (self->session != NULL)
    soup_session_abort (self->session);
  g_clear_object (&self->session);
  self->polling = FALSE;
  self->poll_again = FALSE;
  g_clear_pointer (&self->token, g_free);
  g_clear_pointer (&self->client_secret, g_free);
}

static void
teams_connect_async (CwIntegrationAdapter *adapter, JsonObject *config, GCancellable *cancellable,
                     GAsyncReadyCallback callback, gpointer user_data)
{
  CwTeamsAdapter *self = CW_TEAMS_ADAPTER (adapter);
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  const gchar *api = cw_integration_config_get_string (config, "apiBaseUrl");
  const gchar *auth = cw_integration_config_get_string (config, "authBaseUrl");
  g_autofree gchar *path = NULL;

  teams_disconnect (adapter);
#define SET(field, name)                                                                           \
  (g_free (self->field), self->field = g_strdup (cw_integration_config_get_string (config, name)))
  SET (tenant, "tenantId");
  SET (client_id, "clientId");
  SET (client_secret, "clientSecret");
  SET (team, "teamId");
  SET (channel, "channelId");
#undef SET
  if (self->tenant == NULL || self->client_id == NULL || self->client_secret == NULL
      || self->team == NULL || self->channel == NULL)
    {
      g_task_return_new_error (task, CW_ERROR, CW_ERROR_INVALID_PARAMS,
                               "Teams needs tenantId, clientId, clientSecret, teamId and "
                               "channelId");
      g_object_unref (task);
      return;
    }
  g_free (self->api);
  self->api = g_strdup (api != NULL ? api : "https://graph.microsoft.com/v1.0");
  g_free (self->auth_base);
  self->auth_base = g_strdup (auth != NULL ? auth : "https://login.microsoftonline.com");
  g_free (self->chat_id);
  self->chat_id = g_strdup_printf ("%s:%s", self->team, self->channel);
  self->interval_ms = cw_integration_config_get_int (config, "pollIntervalSeconds", 30) * 1000;
  self->session = cw_cloud_session_new (30);
  self->cancellable = g_cancellable_new ();
  path = g_strdup_printf ("/teams/%s/channels/%s", self->team, self->channel);
  graph_request (self, "GET", path, NULL, cancellable, on_channel, task);
}

/* ---- outbound and health --------------------------------------------------------------- */

static void
on_sent (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (CwCloudReply) reply = g_task_propagate_pointer (G_TASK (result), &error);

  if (reply == NULL)
    g_task_return_error (task, g_steal_pointer (&error));
  else if (reply->status != 201 && reply->status != 200)
    g_task_return_error (task, graph_error (reply, "POST channel message"));
  else
    {
      cw_integration_adapter_report_round_trip (g_task_get_source_object (task));
      g_task_return_pointer (task, cw_cloud_member_text (cw_cloud_reply_object (reply), "id"),
                             g_free);
    }
}

static void
teams_send_async (CwIntegrationAdapter *adapter, const CwIntegrationOutbound *message,
                  GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  CwTeamsAdapter *self = CW_TEAMS_ADAPTER (adapter);
  GTask *task = g_task_new (adapter, cancellable, callback, user_data);
  g_autofree gchar *escaped = g_markup_escape_text (message->text, -1);
  g_auto (GStrv) lines = g_strsplit (escaped, "\n", -1);
  g_autofree gchar *html = g_strjoinv ("<br>", lines);
  g_autofree gchar *path = NULL;
  JsonObject *body, *content;

  if (cw_cloud_not_connected (task, self->session, "Teams"))
    return;
  body = json_object_new ();
  content = json_object_new ();
  json_object_set_string_member (content, "contentType", "html");
  json_object_set_string_member (content, "content", html);
  json_object_set_object_member (body, "body", content);
  path = g_strdup_printf ("/teams/%s/channels/%s/messages", self->team, self->channel);
  graph_request (self, "POST", path, body, cancellable, on_sent, task);
}

static void
on_health (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (CwCloudReply) reply = g_task_propagate_pointer (G_TASK (result), &error);

  if (reply != NULL && reply->status != 200)
    {
      cw_cloud_health_fail (task, graph_error (reply, "GET the channel"),
                            reply->status == 401 || reply->status == 403 || reply->status == 404);
      return;
    }
  if (error != NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  cw_cloud_return_round_trip (task);
}

static void
teams_check_health_async (CwIntegrationAdapter *adapter, GCancellable *cancellable,
                          GAsyncReadyCallback callback, gpointer user_data)
{
  CwTeamsAdapter *self = CW_TEAMS_ADAPTER (adapter);
  GTask *task = g_task_new (adapter, cancellable, callback, user_data);
  g_autofree gchar *path = NULL;

  if (cw_cloud_not_connected (task, self->session, "Teams"))
    return;
  path = g_strdup_printf ("/teams/%s/channels/%s", self->team, self->channel);
  graph_request (self, "GET", path, NULL, cancellable, on_health, task);
}

/* ---- attachments ------------------------------------------------------------------------ */

static void
on_token_ready (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  CwTeamsAdapter *self = g_task_get_source_object (task);
  g_autoptr (GError) error = NULL;
  g_autoptr (CwCloudReply) reply = cw_cloud_request_finish (result, &error);
  g_autofree gchar *url = NULL;
  gint64 max = cw_cloud_fetch_max (task);

  if (reply == NULL || self->token == NULL || self->session == NULL)
    {
      g_task_return_new_error (task, CW_ERROR, CW_ERROR_FAILED, "no Graph token: %s",
                               error != NULL ? error->message : "not connected");
      return;
    }
  url = g_strdup (g_object_get_data (G_OBJECT (task), "url"));
  cw_cloud_download_into (g_steal_pointer (&task), self->session, url, self->token, max);
}

/* A hosted image (its Graph URL) or a SharePoint file ("share:<contentUrl>", through the
 * shares API), with the app's token; the token goes to the API's host only. */
static void
teams_fetch_attachment_async (CwIntegrationAdapter *adapter, const gchar *ref, gint64 max_bytes,
                              GCancellable *cancellable, GAsyncReadyCallback callback,
                              gpointer user_data)
{
  CwTeamsAdapter *self = CW_TEAMS_ADAPTER (adapter);
  GTask *task = cw_cloud_fetch_task_new (adapter, max_bytes, cancellable, callback, user_data);
  g_autoptr (GUri) api = NULL;
  g_autofree gchar *url = NULL;
  g_autofree gchar *path = NULL;

  if (cw_cloud_not_connected (task, self->session, "Teams"))
    return;
  if (g_str_has_prefix (ref, "share:"))
    {
      /* u! and the URL in unpadded base64url */
      g_autofree gchar *encoded = g_base64_encode ((const guchar *) ref + 6, strlen (ref + 6));
      g_strdelimit (encoded, "+", '-');
      g_strdelimit (encoded, "/", '_');
      g_strdelimit (encoded, "=", '\0');
      url = g_strdup_printf ("%s/shares/u!%s/driveItem/content", self->api, encoded);
    }
  else
    url = g_strdup (ref);
  api = g_uri_parse (self->api, G_URI_FLAGS_NONE, NULL);
  if (api == NULL || !cw_cloud_url_on_host (url, g_uri_get_host (api)))
    {
      g_task_return_new_error (task, CW_ERROR, CW_ERROR_NOT_SUPPORTED,
                               "the file is not on Microsoft Graph");
      g_object_unref (task);
      return;
    }
  if (self->token != NULL && g_get_monotonic_time () < self->token_expiry)
    {
      cw_cloud_download_into (task, self->session, url, self->token, max_bytes);
      return;
    }
  /* a round trip for a fresh token first */
  g_object_set_data_full (G_OBJECT (task), "url", g_steal_pointer (&url), g_free);
  path = g_strdup_printf ("/teams/%s/channels/%s", self->team, self->channel);
  graph_request (self, "GET", path, NULL, self->cancellable, on_token_ready, task);
}

static void
teams_dispose (GObject *object)
{
  teams_disconnect (CW_INTEGRATION_ADAPTER (object));
  G_OBJECT_CLASS (cw_teams_adapter_parent_class)->dispose (object);
}

static void
teams_finalize (GObject *object)
{
  CwTeamsAdapter *self = CW_TEAMS_ADAPTER (object);

  g_free (self->api);
  g_free (self->auth_base);
  g_free (self->tenant);
  g_free (self->client_id);
  g_free (self->team);
  g_free (self->channel);
  g_free (self->chat_id);
  G_OBJECT_CLASS (cw_teams_adapter_parent_class)->finalize (object);
}

static void
cw_teams_adapter_class_init (CwTeamsAdapterClass *klass)
{
  CwIntegrationAdapterClass *adapter = CW_INTEGRATION_ADAPTER_CLASS (klass);

  G_OBJECT_CLASS (klass)->dispose = teams_dispose;
  G_OBJECT_CLASS (klass)->finalize = teams_finalize;
  adapter->caps = CW_INTEGRATION_CAP_NONE;
  adapter->connect_async = teams_connect_async;
  adapter->connect_finish = cw_cloud_finish_boolean;
  adapter->disconnect = teams_disconnect;
  adapter->send_async = teams_send_async;
  adapter->send_finish = cw_cloud_finish_id;
  adapter->fetch_attachment_async = teams_fetch_attachment_async;
  adapter->fetch_attachment_finish = cw_cloud_finish_bytes;
  adapter->check_health_async = teams_check_health_async;
  adapter->check_health_finish = cw_cloud_finish_health;
}

static void
cw_teams_adapter_init (CwTeamsAdapter *self)
{
}
