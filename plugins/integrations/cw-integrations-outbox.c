/* cw-integrations-outbox.c: every message to a platform goes through here.
 *
 * A reply is formatted (contract §3.7) and stored `pending` before anything is sent. A send
 * marks the row `sending` (committed) first and `sent` with the platform's message id after;
 * a failure goes back to `pending` with the next attempt after a doubling delay, and after
 * `[integrations] max-attempts` to `failed` (reported as INTEGRATION_SEND_ERROR). A row still
 * `sending` at start was in flight when the daemon died: nobody knows whether the platform
 * got it, so it becomes `unknown` and is reported instead of sent twice — unless the
 * platform's adapter dedupes by the outbound id (CW_INTEGRATION_CAP_IDEMPOTENT_SEND).
 * Rows are unique per (inbound message, kind), so a reply is queued once however often the
 * routing after a crash runs again.
 *
 * Placeholders (contract §3.7): on a platform that can edit, a turn's "Thinking..." is a
 * `placeholder` row of its inbound message like any other. Its reply edits it only when the
 * placeholder's send succeeded (its platform message id is stored with the row); a reply waits
 * while the placeholder or a streamed edit of it is in flight, or the placeholder waits for a
 * retry (the platform's backoff holds for the reply too). A placeholder still `pending` and
 * due but not sent when its reply is due is `superseded` (never sent), and one whose outcome is
 * unknown or that failed is left alone: the reply then goes out as a new message, once. An edit is
 * idempotent, so a reply that was editing when the daemon died is edited again after the start.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-integrations-plugin.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>

#define TRUNCATED_SUFFIX "...(truncated, see Cowork desktop for full response)"

/* ---- formatting ---------------------------------------------------------------------------- */

static const struct
{
  const gchar *pattern;
  const gchar *replacement;
} format_rules[] = {
  { "<br\\s*/?>", "\n" },
  { "</?[A-Za-z][^<>]*>", "" },                            /* HTML tags */
  { "^```[^\\n]*\\n?", "" },                               /* code fences */
  { "`([^`\\n]+)`", "\\1" },                               /* inline code */
  { "!?\\[([^\\]\\n]*)\\]\\(([^)\\s]+)\\)", "\\1 (\\2)" }, /* links and images */
  { "\\*\\*([^*\\n]+)\\*\\*", "\\1" },                     /* bold */
  { "[_][_]([^_\\n]+)[_][_]", "\\1" },
  { "(^|[\\s(])\\*([^*\\s][^*\\n]*)\\*", "\\1\\2" }, /* italics */
  { "(^|[\\s(])[_]([^_\\s][^_\\n]*)[_](?=[\\s).,!?:;]|$)", "\\1\\2" },
  { "~~([^~\\n]+)~~", "\\1" },
  { "^#{1,6}\\s+", "" }, /* headings */
  { "[ \\t]+$", "" },    /* trailing spaces */
  /* Slack's escapes, last (whitespace is stripped around them); '&' is not special in a
   * GRegex replacement ("\\&" is an error) */
  { "&", "&amp;" },
  { "<", "&lt;" },
  { ">", "&gt;" },
};
#define SLACK_RULES 3

/* Every reply, placeholder and streamed edit is formatted: the rules are compiled once. */
static gchar *
format_rule (guint i, const gchar *text)
{
  static GRegex **regexes;

  if (g_once_init_enter (&regexes))
    {
      GRegex **compiled = g_new0 (GRegex *, G_N_ELEMENTS (format_rules));
      for (guint r = 0; r < G_N_ELEMENTS (format_rules); r++)
        compiled[r] = g_regex_new (format_rules[r].pattern, G_REGEX_MULTILINE, 0, NULL);
      g_once_init_leave (&regexes, compiled);
    }
  return g_regex_replace (regexes[i], text, -1, 0, format_rules[i].replacement, 0, NULL);
}

gchar *
cw_integrations_format_text (const gchar *platform, const gchar *text, guint max_length)
{
  g_autofree gchar *out = g_strdup (text != NULL ? text : "");
  guint rules
      = G_N_ELEMENTS (format_rules) - (g_strcmp0 (platform, "slack") == 0 ? 0 : SLACK_RULES);
  glong length;

  for (guint i = 0; i < rules; i++)
    {
      gchar *next = format_rule (i, out);
      if (next != NULL)
        {
          g_free (out);
          out = next;
        }
    }
  g_strstrip (out);
  length = g_utf8_strlen (out, -1);
  if (max_length > 0 && length > (glong) max_length)
    {
      glong keep = (glong) max_length - (glong) strlen (TRUNCATED_SUFFIX);
      gchar *cut = g_utf8_offset_to_pointer (out, MAX (0, keep));
      GString *s = g_string_new_len (out, cut - out);
      g_string_append (s, TRUNCATED_SUFFIX);
      g_free (out);
      return g_string_free (s, FALSE);
    }
  return g_steal_pointer (&out);
}

/* ---- queueing -------------------------------------------------------------------------------- */

/* Stores a `pending` row with @stored_text as it is; *out_id gets its id (NULL for a
 * duplicate). */
static gboolean
insert_row (CwIntegrationsPlugin *self, gchar *id, const gchar *platform, const gchar *chat_id,
            gint64 inbound_id, const gchar *kind, gchar *stored_text, const gchar *reply_data,
            gchar **out_id, GError **error)
{
  g_autoptr (CwIntegrationsOutbox) row = g_new0 (CwIntegrationsOutbox, 1);
  gboolean duplicate;

  row->id = id != NULL ? id : cw_make_id ("out");
  row->platform = g_strdup (platform);
  row->chat_id = g_strdup (chat_id);
  row->inbound_id = inbound_id;
  row->kind = g_strdup (kind);
  row->text = stored_text;
  row->reply_data = g_strdup (reply_data);
  row->state = g_strdup ("pending");
  if (!cw_integrations_store_insert_outbox (self->store, row, &duplicate, error))
    return FALSE;
  if (duplicate)
    g_debug ("%s: the %s for message %" G_GINT64_FORMAT " is queued already", platform, kind,
             inbound_id);
  if (out_id != NULL)
    *out_id = duplicate ? NULL : g_strdup (row->id);
  return TRUE;
}

gboolean
cw_integrations_outbox_queue (CwIntegrationsPlugin *self, const gchar *platform,
                              const gchar *chat_id, gint64 inbound_id, const gchar *kind,
                              const gchar *text, const gchar *reply_data, gchar **out_id,
                              GError **error)
{
  const CwIntegrationPlatform *p = cw_integrations_platform_lookup (platform);
  gchar *formatted = cw_integrations_format_text (platform, text, p != NULL ? p->max_length : 8000);

  if (*formatted == '\0')
    {
      g_free (formatted);
      formatted = g_strdup ("(empty message)");
    }
  return insert_row (self, NULL, platform, chat_id, inbound_id, kind, formatted, reply_data, out_id,
                     error);
}

/* ---- media ----------------------------------------------------------------------------------- */

const gchar *
cw_integrations_media_caption (JsonObject *item)
{
  return g_strcmp0 (cw_integration_config_get_string (item, "mediaType"), "video") == 0
             ? "Generated video"
             : "Generated image";
}

/* The base64 of a media item's data (a data: URL's part after the comma), or NULL. */
static const gchar *
media_base64 (JsonObject *item)
{
  const gchar *data = cw_integration_config_get_string (item, "data");
  const gchar *comma;

  if (data == NULL || *data == '\0')
    return NULL;
  if (g_str_has_prefix (data, "data:") && (comma = strchr (data, ',')) != NULL)
    return comma + 1;
  return data;
}

static gchar *
too_large_note (const gchar *caption)
{
  return g_strdup_printf ("%s is too large to send here. Open it in the Cowork desktop app.",
                          caption);
}

/* Writes the decoded @data of a media row to <media dir>/<row id>/<image|video>.<ext>
 * (owner-only) and returns the file's path. */
static gchar *
spool_data (CwIntegrationsPlugin *self, const gchar *id, JsonObject *payload, const gchar *data,
            GError **error)
{
  CwIntegrationMedia media = { 0 };
  g_autofree gchar *dir = g_build_filename (self->media_dir, id, NULL);
  g_autofree gchar *name = NULL, *path = NULL;
  g_autofree guchar *bytes = NULL;
  gsize length = 0;

  media.media_type = cw_integration_config_get_string (payload, "mediaType");
  media.mime_type = cw_integration_config_get_string (payload, "mimeType");
  name = cw_integration_media_filename (&media);
  path = g_build_filename (dir, name, NULL);
  bytes = g_base64_decode (data, &length);
  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      g_set_error (error, CW_ERROR, CW_ERROR_FAILED, "cannot create %s: %s", dir,
                   g_strerror (errno));
      return NULL;
    }
  if (!g_file_set_contents_full (path, (const gchar *) bytes, length,
                                 G_FILE_SET_CONTENTS_CONSISTENT, 0600, error))
    return NULL;
  return g_steal_pointer (&path);
}

/* Removes the spool file of a media row that is done with (sent, failed, unknown). */
static void
drop_spool (CwIntegrationsOutbox *row)
{
  g_autoptr (JsonNode) node = NULL;
  JsonObject *payload;
  const gchar *path;

  if (g_strcmp0 (row->kind, "media") != 0
      || (node = cw_json_from_string (row->text, -1, NULL)) == NULL
      || !JSON_NODE_HOLDS_OBJECT (node))
    return;
  payload = json_node_get_object (node);
  path = cw_integration_config_get_string (payload, "path");
  if (path != NULL && cw_integration_config_get_boolean (payload, "spooled", FALSE))
    {
      g_autofree gchar *dir = g_path_get_dirname (path);
      g_unlink (path);
      g_rmdir (dir);
    }
}

gboolean
cw_integrations_outbox_queue_media (CwIntegrationsPlugin *self, const gchar *platform,
                                    const gchar *chat_id, JsonObject *item, const gchar *reply_data,
                                    GError **error)
{
  static const gchar *const fields[] = { "path", "url", "mimeType" };
  const gchar *caption = cw_integrations_media_caption (item);
  const gchar *data = media_base64 (item);
  const gchar *path = cw_integration_config_get_string (item, "path");
  g_autoptr (JsonObject) payload = json_object_new ();
  g_autoptr (JsonNode) node = NULL;
  g_autofree gchar *id = cw_make_id ("out");
  gint64 size = -1;

  if (data != NULL)
    {
      gsize length = strlen (data);
      size = (gint64) (length / 4 * 3) - (length > 0 && data[length - 1] == '=')
             - (length > 1 && data[length - 2] == '=');
    }
  else if (path != NULL && *path != '\0')
    {
      g_autoptr (GFile) file = g_file_new_for_path (path);
      g_autoptr (GFileInfo) info = g_file_query_info (file, G_FILE_ATTRIBUTE_STANDARD_SIZE,
                                                      G_FILE_QUERY_INFO_NONE, NULL, NULL);
      if (info != NULL)
        size = g_file_info_get_size (info);
    }
  if (size > self->max_media_bytes)
    {
      g_autofree gchar *note = too_large_note (caption);
      g_message ("%s: a media item of %" G_GINT64_FORMAT
                 " bytes is over the limit of %" G_GINT64_FORMAT,
                 platform, size, self->max_media_bytes);
      return cw_integrations_outbox_queue (self, platform, chat_id, 0, "note", note, reply_data,
                                           NULL, error);
    }
  json_object_set_string_member (payload, "mediaType",
                                 g_strcmp0 (caption, "Generated video") == 0 ? "video" : "image");
  json_object_set_string_member (payload, "caption", caption);
  for (guint i = 0; i < G_N_ELEMENTS (fields); i++)
    {
      const gchar *value = cw_integration_config_get_string (item, fields[i]);
      if (value != NULL && *value != '\0')
        json_object_set_string_member (payload, fields[i], value);
    }
  if (data != NULL)
    {
      /* the bytes wait in a file of their own, not in the row every flush reads */
      g_autofree gchar *spool = spool_data (self, id, payload, data, error);
      if (spool == NULL)
        return FALSE;
      json_object_set_string_member (payload, "path", spool);
      json_object_set_boolean_member (payload, "spooled", TRUE);
    }
  node = json_node_init_object (json_node_alloc (), payload);
  return insert_row (self, g_steal_pointer (&id), platform, chat_id, 0, "media",
                     json_to_string (node, FALSE), reply_data, NULL, error);
}

/* ---- sending --------------------------------------------------------------------------------- */

typedef struct
{
  CwIntegrationsPlugin *self;
  CwIntegrationsOutbox *row;
  JsonObject *reply_data;
  CwIntegrationOutbound outbound;
  CwIntegrationAdapter *adapter;
  gchar *edit_of;           /* the placeholder's platform message id this reply edits, or NULL */
  JsonObject *payload;      /* a media row's item */
  CwIntegrationMedia media; /* its strings are the payload's */
  gchar *mime_type;
  GBytes *bytes;
  gchar *note;      /* the text sent instead when the file turned out too large */
  gboolean spooled; /* the file holds the item's own data (cw_integrations_outbox_queue_media) */
} Send;

static void
send_free (Send *send)
{
  cw_integrations_outbox_free (send->row);
  g_clear_pointer (&send->reply_data, json_object_unref);
  g_clear_object (&send->adapter);
  g_free (send->edit_of);
  g_clear_pointer (&send->payload, json_object_unref);
  g_free (send->mime_type);
  g_clear_pointer (&send->bytes, g_bytes_unref);
  g_free (send->note);
  g_free (send);
}

static void
save_row (CwIntegrationsPlugin *self, CwIntegrationsOutbox *row)
{
  g_autoptr (GError) error = NULL;

  if (!cw_integrations_store_update_outbox (self->store, row, &error))
    g_warning ("outbox %s: %s", row->id, error->message);
}

static void
plan_retry (CwIntegrationsPlugin *self, gint64 at)
{
  gint64 next = cw_plugin_schedule_get_next (CW_PLUGIN (self), "outbox");

  if (next == CW_SCHEDULE_NEVER || next <= 0 || at < next
      || next < cw_integrations_plugin_now (self))
    cw_integrations_plugin_schedule (self, "outbox", at);
}

static void
sent_done (Send *send, gchar *message_id, GError *error)
{
  CwIntegrationsPlugin *self = send->self;
  CwIntegrationsOutbox *row = send->row;
  gboolean placeholder = g_strcmp0 (row->kind, "placeholder") == 0;

  g_hash_table_remove (self->sending, row->id);
  if (placeholder)
    g_hash_table_remove (self->placing, &row->inbound_id);
  g_free (row->state);
  row->attempts++;
  if (message_id != NULL)
    {
      JsonObject *data = json_object_new ();
      row->state = g_strdup ("sent");
      g_free (row->message_id);
      row->message_id = g_steal_pointer (&message_id);
      g_clear_pointer (&row->error, g_free);
      save_row (self, row);
      drop_spool (row);
      json_object_set_string_member (data, "platform", row->platform);
      json_object_set_string_member (data, "chatId", row->chat_id);
      json_object_set_int_member (data, "timestamp", cw_now_ms ());
      cw_plugin_emit (CW_PLUGIN (self), "integration:message_out", NULL, data);
    }
  else
    {
      g_free (row->error);
      row->error = g_strdup (error->message);
      if (row->attempts >= self->outbox_max_attempts)
        {
          row->state = g_strdup ("failed");
          drop_spool (row);
          cw_integrations_plugin_emit_error (
              self, "INTEGRATION_SEND_ERROR",
              "%s: a message to %s could not be sent after %" G_GINT64_FORMAT " attempts: %s",
              row->platform, row->chat_id, row->attempts, error->message);
        }
      else
        {
          gint64 delay = self->outbox_retry_base_ms;
          for (gint64 i = 1; i < row->attempts && delay < 3600000; i++)
            delay *= 2;
          row->state = g_strdup ("pending");
          row->next_attempt_at = cw_integrations_plugin_now (self) + MIN (delay, 3600000);
          plan_retry (self, row->next_attempt_at);
          g_message ("%s: send to %s failed (%s); attempt %" G_GINT64_FORMAT " of %" G_GINT64_FORMAT
                     " in %" G_GINT64_FORMAT " ms",
                     row->platform, row->chat_id, error->message, row->attempts + 1,
                     self->outbox_max_attempts, MIN (delay, 3600000));
        }
      save_row (self, row);
    }
  g_free (message_id);
  send_free (send);
  /* a reply may wait for this placeholder; nothing waits for other sends (a failed one is
   * retried on the schedule), and a pass over the outbox after each would read every pending
   * row again for each message sent */
  if (placeholder)
    cw_integrations_outbox_flush (self, NULL);
}

static void
on_sent (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  gchar *message_id
      = cw_integration_adapter_send_finish (CW_INTEGRATION_ADAPTER (source), result, &error);

  sent_done (user_data, message_id, error);
}

static void
on_edited (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Send *send = user_data;
  g_autoptr (GError) error = NULL;

  if (cw_integration_adapter_edit_finish (CW_INTEGRATION_ADAPTER (source), result, &error))
    sent_done (send, g_strdup (send->edit_of), NULL);
  else
    sent_done (send, NULL, error);
}

static void
on_media_sent (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  gchar *message_id
      = cw_integration_adapter_send_media_finish (CW_INTEGRATION_ADAPTER (source), result, &error);

  sent_done (user_data, message_id, error);
}

static void
media_go (Send *send)
{
  CwIntegrationMedia *media = &send->media;

  if (send->mime_type == NULL)
    {
      g_autofree gchar *type = g_content_type_guess (
          media->path, send->bytes != NULL ? g_bytes_get_data (send->bytes, NULL) : NULL,
          send->bytes != NULL ? g_bytes_get_size (send->bytes) : 0, NULL);
      g_autofree gchar *mime = type != NULL ? g_content_type_get_mime_type (type) : NULL;
      const gchar *prefix = g_strcmp0 (media->media_type, "video") == 0 ? "video/" : "image/";
      send->mime_type = g_strdup (mime != NULL && g_str_has_prefix (mime, prefix)
                                      ? mime
                                      : (*prefix == 'v' ? "video/mp4" : "image/png"));
    }
  media->mime_type = send->mime_type;
  media->data = send->bytes;
  if (send->note != NULL)
    {
      send->outbound.text = send->note;
      cw_integration_adapter_send_async (send->adapter, &send->outbound, NULL, on_sent, send);
    }
  else
    cw_integration_adapter_send_media_async (send->adapter, media, NULL, on_media_sent, send);
}

static void
on_media_loaded (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Send *send = user_data;
  g_autoptr (GError) error = NULL;
  gchar *contents = NULL;
  gsize length = 0;

  if (g_file_load_contents_finish (G_FILE (source), result, &contents, &length, NULL, &error))
    {
      /* by its bytes, not its name: a file that is no image or video is not uploaded (a
       * tool's result must not send a key or a document to a chat) */
      g_autofree gchar *type = g_content_type_guess (NULL, (const guchar *) contents, length, NULL);
      g_autofree gchar *mime = g_content_type_get_mime_type (type);
      if (send->spooled
          || (mime != NULL
              && (g_str_has_prefix (mime, "image/") || g_str_has_prefix (mime, "video/"))))
        send->bytes = g_bytes_new_take (g_steal_pointer (&contents), length);
      else
        g_message ("%s: %s is %s, not an image or a video; sending the caption",
                   send->row->platform, send->media.path, mime != NULL ? mime : type);
      g_free (contents);
    }
  else
    g_message ("%s: cannot read %s: %s; sending the caption", send->row->platform, send->media.path,
               error->message);
  media_go (send);
}

static void
on_media_info (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Send *send = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GFileInfo) info = g_file_query_info_finish (G_FILE (source), result, &error);

  if (info == NULL)
    g_message ("%s: cannot read %s: %s; sending the caption", send->row->platform, send->media.path,
               error->message);
  else if (g_file_info_get_size (info) > send->self->max_media_bytes)
    send->note = too_large_note (send->media.caption);
  else
    {
      /* checked before reading: a file over the limit is never loaded */
      g_file_load_contents_async (G_FILE (source), NULL, on_media_loaded, send);
      return;
    }
  media_go (send);
}

/* A media row: the bytes read from its file, the item's own or its spooled data (size checked
 * first), or none (a URL). */
static void
send_media (Send *send)
{
  g_autoptr (JsonNode) node = cw_json_from_string (send->row->text, -1, NULL);
  CwIntegrationMedia *media = &send->media;

  send->payload = node != NULL && JSON_NODE_HOLDS_OBJECT (node)
                      ? json_object_ref (json_node_get_object (node))
                      : json_object_new ();
  media->outbound_id = send->row->id;
  media->chat_id = send->row->chat_id;
  media->media_type = cw_integration_config_get_string (send->payload, "mediaType");
  media->path = cw_integration_config_get_string (send->payload, "path");
  media->url = cw_integration_config_get_string (send->payload, "url");
  media->caption = cw_integrations_media_caption (send->payload);
  media->reply_data = send->reply_data;
  send->mime_type = g_strdup (cw_integration_config_get_string (send->payload, "mimeType"));
  send->spooled = cw_integration_config_get_boolean (send->payload, "spooled", FALSE);
  if (media->path != NULL)
    {
      g_autoptr (GFile) file = g_file_new_for_path (media->path);
      g_file_query_info_async (file, G_FILE_ATTRIBUTE_STANDARD_SIZE, G_FILE_QUERY_INFO_NONE,
                               G_PRIORITY_DEFAULT, NULL, on_media_info, send);
      return;
    }
  media_go (send);
}

static void
send_row (CwIntegrationsPlugin *self, CwIntegrationsLink *link, CwIntegrationsOutbox *row,
          const gchar *edit_of)
{
  Send *send = g_new0 (Send, 1);
  g_autoptr (JsonNode) node = NULL;

  send->self = self;
  send->row = row;
  if (row->reply_data != NULL && (node = cw_json_from_string (row->reply_data, -1, NULL)) != NULL
      && JSON_NODE_HOLDS_OBJECT (node))
    send->reply_data = json_object_ref (json_node_get_object (node));
  send->outbound.outbound_id = row->id;
  send->outbound.chat_id = row->chat_id;
  send->outbound.text = row->text;
  send->outbound.reply_data = send->reply_data;
  send->adapter = g_object_ref (link->adapter);
  g_free (row->state);
  row->state = g_strdup ("sending");
  /* Committed before the platform sees anything: a crash from here on is "unknown". */
  save_row (self, row);
  g_hash_table_add (self->sending, g_strdup (row->id));
  if (g_strcmp0 (row->kind, "placeholder") == 0 && row->inbound_id > 0)
    g_hash_table_add (self->placing, g_memdup2 (&row->inbound_id, sizeof (gint64)));
  send->edit_of = g_strdup (edit_of);
  if (g_strcmp0 (row->kind, "media") == 0)
    send_media (send);
  else if (edit_of != NULL)
    cw_integration_adapter_edit_async (link->adapter, row->chat_id, edit_of, row->text, NULL,
                                       on_edited, send);
  else
    cw_integration_adapter_send_async (link->adapter, &send->outbound, NULL, on_sent, send);
}

/* What a due reply does about its placeholder: FALSE to wait for it, else TRUE with *edit_of
 * set when the reply edits it. */
static gboolean
resolve_placeholder (CwIntegrationsPlugin *self, CwIntegrationsOutbox *row, gchar **edit_of)
{
  g_autoptr (CwIntegrationsOutbox) placeholder = NULL;

  *edit_of = NULL;
  if (g_strcmp0 (row->kind, "reply") == 0
      && g_hash_table_contains (self->placing, &row->inbound_id))
    return FALSE; /* known without reading it: its send is in flight */
  if (g_strcmp0 (row->kind, "reply") != 0
      || (placeholder
          = cw_integrations_store_find_outbox (self->store, row->inbound_id, "placeholder"))
             == NULL)
    return TRUE;
  if (g_str_equal (placeholder->state, "sending")
      || g_hash_table_contains (self->editing, placeholder->id)
      || (g_str_equal (placeholder->state, "pending")
          && placeholder->next_attempt_at > cw_integrations_plugin_now (self)))
    return FALSE;
  if (g_str_equal (placeholder->state, "pending"))
    {
      g_free (placeholder->state);
      placeholder->state = g_strdup ("superseded");
      save_row (self, placeholder);
      return TRUE;
    }
  if (g_str_equal (placeholder->state, "sent") && placeholder->message_id != NULL
      && cw_integrations_platform_can (row->platform, CW_INTEGRATION_CAP_EDIT))
    *edit_of = g_strdup (placeholder->message_id);
  return TRUE;
}

gchar *
cw_integrations_outbox_placeholder (CwIntegrationsPlugin *self, gint64 inbound_id,
                                    gchar **out_row_id)
{
  g_autoptr (CwIntegrationsOutbox) placeholder
      = cw_integrations_store_find_outbox (self->store, inbound_id, "placeholder");

  if (placeholder == NULL || !g_str_equal (placeholder->state, "sent")
      || placeholder->message_id == NULL)
    return NULL;
  if (out_row_id != NULL)
    *out_row_id = g_strdup (placeholder->id);
  return g_strdup (placeholder->message_id);
}

static void
flush_now (CwIntegrationsPlugin *self)
{
  g_autoptr (GPtrArray) rows = NULL;
  gint64 now = cw_integrations_plugin_now (self);
  gint64 earliest = 0;
  const gchar *platform = NULL;

  if (!self->started || self->stopping)
    return;
  rows = cw_integrations_store_list_outbox (self->store, "pending");
  for (guint i = 0; i < rows->len; i++)
    {
      CwIntegrationsOutbox *row = g_ptr_array_index (rows, i);
      CwIntegrationsLink *link = cw_integrations_plugin_get_link (self, row->platform);

      if (link == NULL || !link->connected || link->adapter == NULL
          || g_hash_table_contains (self->sending, row->id)
          || (platform != NULL && !g_str_equal (platform, row->platform)))
        continue;
      if (row->next_attempt_at > now)
        {
          if (earliest == 0 || row->next_attempt_at < earliest)
            earliest = row->next_attempt_at;
          continue;
        }
      {
        g_autofree gchar *edit_of = NULL;
        if (!resolve_placeholder (self, row, &edit_of))
          continue;
        send_row (self, link, g_steal_pointer (&rows->pdata[i]), edit_of);
      }
    }
  if (earliest > 0)
    plan_retry (self, earliest);
}

static gboolean
on_flush_idle (gpointer user_data)
{
  CwIntegrationsPlugin *self = user_data;

  self->flush_idle = 0;
  flush_now (self);
  return G_SOURCE_REMOVE;
}

/* Coalesced: a burst of replies is sent from one pass over the outbox. At the default
 * priority, not the idle one: while messages keep coming the main loop is never idle, and
 * the replies would wait for the last of them. */
void
cw_integrations_outbox_flush (CwIntegrationsPlugin *self, const gchar *platform)
{
  if (self->flush_idle == 0 && self->started && !self->stopping)
    self->flush_idle = g_idle_add_full (G_PRIORITY_DEFAULT, on_flush_idle, self, NULL);
}

gboolean
cw_integrations_platform_can (const gchar *platform, CwIntegrationCaps cap)
{
  const CwIntegrationPlatform *p = cw_integrations_platform_lookup (platform);
  CwIntegrationAdapterClass *klass;
  gboolean can;

  if (p == NULL || p->get_type == NULL)
    return FALSE;
  klass = g_type_class_ref (p->get_type ());
  can = (klass->caps & cap) == cap;
  g_type_class_unref (klass);
  return can;
}

/* A reply that was sending when the daemon died was an edit of its sent placeholder (see
 * resolve_placeholder): editing again is harmless. */
static gboolean
was_edit (CwIntegrationsPlugin *self, CwIntegrationsOutbox *row)
{
  g_autofree gchar *message_id = NULL;

  if (g_strcmp0 (row->kind, "reply") != 0
      || !cw_integrations_platform_can (row->platform, CW_INTEGRATION_CAP_EDIT))
    return FALSE;
  message_id = cw_integrations_outbox_placeholder (self, row->inbound_id, NULL);
  return message_id != NULL;
}

void
cw_integrations_outbox_recover (CwIntegrationsPlugin *self)
{
  g_autoptr (GPtrArray) rows = cw_integrations_store_list_outbox (self->store, "sending");

  for (guint i = 0; i < rows->len; i++)
    {
      CwIntegrationsOutbox *row = g_ptr_array_index (rows, i);

      g_free (row->state);
      if (cw_integrations_platform_can (row->platform, CW_INTEGRATION_CAP_IDEMPOTENT_SEND)
          || was_edit (self, row))
        {
          row->state = g_strdup ("pending");
          save_row (self, row);
          continue;
        }
      row->state = g_strdup ("unknown");
      drop_spool (row);
      g_free (row->error);
      row->error = g_strdup ("The daemon stopped while this message was being sent; it may or "
                             "may not have arrived, so it is not sent again");
      save_row (self, row);
      if (g_strcmp0 (row->kind, "placeholder") == 0)
        {
          /* nothing is lost: the reply goes out as a new message */
          g_message ("%s: a placeholder in %s may not have arrived; the reply will not edit it",
                     row->platform, row->chat_id);
          continue;
        }
      g_warning ("%s: a message to %s was being sent when the daemon stopped; not sent again",
                 row->platform, row->chat_id);
      cw_integrations_plugin_emit_error (
          self, "INTEGRATION_SEND_ERROR",
          "%s: a message to %s may not have arrived (the daemon stopped while sending it); it "
          "is not sent again",
          row->platform, row->chat_id);
    }
}
