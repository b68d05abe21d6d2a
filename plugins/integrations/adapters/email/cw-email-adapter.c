/* cw-email-adapter.c: email: IMAP IDLE in (RFC 3501, 2177), SMTP out (RFC 5321), over GIO.
 *
 * `tls`: `tls` is TLS from the first byte (IMAPS 993, SMTPS 465), `starttls` upgrades a plain
 * connection (IMAP STARTTLS, SMTP STARTTLS on 587), `none` is plain (loopback, tests).
 * `tlsCaFile` adds a CA to trust besides the system's.
 *
 * Inbound: LOGIN, SELECT `folder`, then every message with a UID above the stored position
 * ("<UIDVALIDITY>:<last UID>", state key `position`) is fetched (BODY.PEEK, so nothing is
 * marked read), handed to the core with its new position in the same transaction, and then
 * the adapter IDLEs until the server reports new mail. The first connect stores UIDNEXT-1 as
 * the baseline, so mail already in the folder is never answered; a changed UIDVALIDITY (the
 * folder was rebuilt) takes a new baseline too. The message id is the Message-ID header
 * (UIDVALIDITY:UID without one), so the same mail delivered twice is answered once. The
 * chat is the sender's address. Its attachments (parts with Content-Disposition attachment,
 * inline images; cw-email-mime.c) are described with the message and fetched when it is
 * routed, by UID FETCH <uid> (BODY.PEEK[<section>]). Mail from the bot's own address and
 * automatic replies (Auto-Submitted, Precedence bulk/list/junk) are skipped, so two bots never
 * loop.
 *
 * Outbound: one SMTP session per message: EHLO, STARTTLS when asked, AUTH PLAIN when the
 * server offers it, MAIL/RCPT/DATA. A reply keeps the thread: `Re: <subject>`, In-Reply-To
 * and References from the message it answers; its Message-ID is made from the outbox id. A
 * generated image or video is a multipart/mixed reply: the caption, then the file attached.
 *
 * Health: NOOP on the IMAP connection (leaving IDLE for it).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "../cw-integrations-adapters.h"
#include "../cloud/cw-cloud-download.h"
#include "../line/cw-line-writer.h"
#include "cw-email-mime.h"

#include <stdio.h>
#include <string.h>

#define EMAIL_TIMEOUT_S 30

typedef void (*ImapDone) (gpointer self, gboolean ok, const gchar *status);

typedef struct
{
  gchar *tag;
  gchar *line;
  ImapDone done;
} ImapCommand;

struct _CwEmailAdapter
{
  CwIntegrationAdapter parent_instance;
  JsonObject *config;
  GIOStream *stream;
  GDataInputStream *input;
  GOutputStream *output;
  GCancellable *cancellable;
  GTask *connect_task;
  gboolean ready; /* selected, caught up once */
  gboolean greeted;
  guint next_tag;
  ImapCommand *current;
  GQueue pending;     /* ImapCommand waiting */
  gboolean idling;    /* IDLE accepted by the server */
  gboolean idle_sent; /* IDLE sent, DONE not yet */
  gboolean done_sent;
  gboolean new_mail; /* EXISTS seen: fetch after the current command */
  gboolean fetching;
  gint64 uidvalidity;
  gint64 uidnext;
  GPtrArray *fetched; /* raw messages (GBytes) of the running UID FETCH, with their UIDs */
  GArray *fetched_uids;
  GTask *health_task;
  GQueue part_tasks; /* fetch_attachment tasks, in the order of their UID FETCH commands */
  GBytes *part;      /* the literal of the running part fetch */
  guint timeout;
  CwLineWriter writer; /* IMAP */
};

G_DECLARE_FINAL_TYPE (CwEmailAdapter, cw_email_adapter, CW, EMAIL_ADAPTER, CwIntegrationAdapter)
G_DEFINE_FINAL_TYPE (CwEmailAdapter, cw_email_adapter, CW_TYPE_INTEGRATION_ADAPTER)

static void imap_read (CwEmailAdapter *self);
static void imap_pump (CwEmailAdapter *self);
static void fetch_new (CwEmailAdapter *self);

static const gchar *
cfg (CwEmailAdapter *self, const gchar *name)
{
  return cw_integration_config_get_string (self->config, name);
}

static const gchar *
own_address (CwEmailAdapter *self)
{
  return cfg (self, "fromAddress") != NULL ? cfg (self, "fromAddress") : cfg (self, "username");
}

/* ---- TLS ---------------------------------------------------------------------------------- */

static GIOStream *
wrap_tls (CwEmailAdapter *self, GIOStream *base, const gchar *host, guint port, GError **error)
{
  g_autoptr (GSocketConnectable) identity = g_network_address_new (host, port);
  GIOStream *tls = g_tls_client_connection_new (base, identity, error);
  const gchar *ca = cfg (self, "tlsCaFile");

  if (tls != NULL && ca != NULL)
    {
      g_autoptr (GTlsDatabase) db = g_tls_file_database_new (ca, error);
      if (db == NULL)
        {
          g_object_unref (tls);
          return NULL;
        }
      g_tls_connection_set_database (G_TLS_CONNECTION (tls), db);
    }
  return tls;
}

/* IMAP quoted string. */
static gchar *
imap_quote (const gchar *text)
{
  GString *out = g_string_new ("\"");

  for (const gchar *p = text; *p != '\0'; p++)
    {
      if (*p == '"' || *p == '\\')
        g_string_append_c (out, '\\');
      g_string_append_c (out, *p);
    }
  g_string_append_c (out, '"');
  return g_string_free (out, FALSE);
}

/* ---- the IMAP connection -------------------------------------------------------------------- */

static void
fail_connect (CwEmailAdapter *self, GError *error)
{
  GTask *task = g_steal_pointer (&self->connect_task);

  if (task == NULL)
    {
      g_error_free (error);
      return;
    }
  g_task_return_error (task, error);
  g_object_unref (task);
}

static void
imap_lost (CwEmailAdapter *self, const gchar *why)
{
  g_autoptr (GError) error = g_error_new (CW_ERROR, CW_ERROR_FAILED, "IMAP: %s", why);

  if (self->connect_task != NULL)
    fail_connect (self, g_steal_pointer (&error));
  else if (self->ready)
    {
      self->ready = FALSE;
      cw_integration_adapter_report_lost (CW_INTEGRATION_ADAPTER (self), error, FALSE);
    }
}

static void
imap_write (CwEmailAdapter *self, const gchar *text)
{
  cw_line_writer_append (&self->writer, text);
}

static void
imap_command (CwEmailAdapter *self, const gchar *line, ImapDone done)
{
  ImapCommand *cmd = g_new0 (ImapCommand, 1);

  cmd->line = g_strdup (line);
  cmd->done = done;
  g_queue_push_tail (&self->pending, cmd);
  imap_pump (self);
}

static void
command_free (ImapCommand *cmd)
{
  g_free (cmd->tag);
  g_free (cmd->line);
  g_free (cmd);
}

static void
imap_pump (CwEmailAdapter *self)
{
  ImapCommand *cmd;
  g_autofree gchar *text = NULL;

  if (self->output == NULL || self->current != NULL)
    return;
  if (self->idle_sent)
    {
      /* A command waits: leave IDLE first (its tagged OK comes back as `current`). */
      if (!g_queue_is_empty (&self->pending) && self->idling && !self->done_sent)
        {
          self->done_sent = TRUE;
          imap_write (self, "DONE\r\n");
        }
      return;
    }
  cmd = g_queue_pop_head (&self->pending);
  if (cmd == NULL)
    return;
  cmd->tag = g_strdup_printf ("c%u", ++self->next_tag);
  self->current = cmd;
  text = g_strdup_printf ("%s %s\r\n", cmd->tag, cmd->line);
  imap_write (self, text);
  explicit_bzero (text, strlen (text)); /* LOGIN carries the password */
}

static void on_idle_done (gpointer self, gboolean ok, const gchar *status);

static void
start_idle (CwEmailAdapter *self)
{
  ImapCommand *cmd;
  g_autofree gchar *text = NULL;

  if (!self->ready || self->current != NULL || !g_queue_is_empty (&self->pending) || self->fetching)
    return;
  cmd = g_new0 (ImapCommand, 1);
  cmd->tag = g_strdup_printf ("c%u", ++self->next_tag);
  cmd->line = g_strdup ("IDLE");
  cmd->done = on_idle_done;
  self->current = cmd;
  self->idle_sent = TRUE;
  self->idling = FALSE;
  self->done_sent = FALSE;
  text = g_strdup_printf ("%s IDLE\r\n", cmd->tag);
  imap_write (self, text);
}

static void
on_idle_done (gpointer data, gboolean ok, const gchar *status)
{
  CwEmailAdapter *self = data;

  self->idle_sent = self->idling = self->done_sent = FALSE;
  if (self->new_mail)
    fetch_new (self);
  else if (!g_queue_is_empty (&self->pending))
    imap_pump (self);
  else
    start_idle (self);
}

/* ---- messages ----------------------------------------------------------------------------- */

/* What the person wrote: without the quoted message below it. */
static gchar *
strip_quote (const gchar *text)
{
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  GString *out = g_string_new (NULL);

  for (guint i = 0; lines[i] != NULL; i++)
    {
      gchar *line = g_strchomp (lines[i]);
      if (g_str_has_prefix (line, ">"))
        continue;
      if (g_str_has_prefix (line, "On ") && g_str_has_suffix (line, "wrote:"))
        break;
      if (g_str_equal (line, "-- "))
        break; /* signature */
      g_string_append_printf (out, "%s\n", line);
    }
  g_strstrip (out->str);
  return g_string_free (out, FALSE);
}

/* "Name <a@b>" → address (lower case) and name. */
static void
parse_address (const gchar *from, gchar **address, gchar **name)
{
  g_autofree gchar *decoded = cw_email_decode_words (from != NULL ? from : "");
  const gchar *lt = strchr (decoded, '<');
  const gchar *gt = lt != NULL ? strchr (lt, '>') : NULL;

  if (lt != NULL && gt != NULL)
    {
      g_autofree gchar *raw = g_strndup (lt + 1, gt - lt - 1);
      g_autofree gchar *display = g_strndup (decoded, lt - decoded);
      *address = g_ascii_strdown (g_strstrip (raw), -1);
      g_strstrip (display);
      if (display[0] == '"' && display[strlen (display) - 1] == '"' && strlen (display) > 1)
        {
          display[strlen (display) - 1] = '\0';
          memmove (display, display + 1, strlen (display));
        }
      *name = *display != '\0' ? g_strdup (display) : g_strdup (*address);
      return;
    }
  *address = g_ascii_strdown (g_strstrip (decoded), -1);
  *name = g_strdup (*address);
}

static void
deliver (CwEmailAdapter *self, GBytes *raw, gint64 uid)
{
  gsize size;
  const gchar *data = g_bytes_get_data (raw, &size);
  g_autofree gchar *text = g_strndup (data, size);
  g_autofree gchar *headers = NULL, *from = NULL, *address = NULL, *name = NULL;
  g_autofree gchar *subject = NULL, *message_id = NULL, *references = NULL, *body = NULL;
  g_autofree gchar *auto_submitted = NULL, *precedence = NULL, *content = NULL;
  g_autofree gchar *position
      = g_strdup_printf ("%" G_GINT64_FORMAT ":%" G_GINT64_FORMAT, self->uidvalidity, uid);
  g_autofree gchar *fallback_id = NULL;
  g_autoptr (JsonObject) reply_data = json_object_new ();
  g_autoptr (GError) error = NULL;
  CwIntegrationInbound in = { 0 };
  gboolean skip, duplicate;
  const gchar *rest;
  g_autoptr (GPtrArray) parts = NULL;
  g_autofree CwIntegrationAttachment *files = NULL;
  g_auto (GStrv) refs = NULL;

  cw_email_split_part (text, &headers, &rest);
  from = cw_email_header_value (headers, "From");
  parse_address (from, &address, &name);
  subject = cw_email_header_value (headers, "Subject");
  message_id = cw_email_header_value (headers, "Message-ID");
  references = cw_email_header_value (headers, "References");
  auto_submitted = cw_email_header_value (headers, "Auto-Submitted");
  precedence = cw_email_header_value (headers, "Precedence");
  skip = *address == '\0' || g_ascii_strcasecmp (address, own_address (self)) == 0
         || (auto_submitted != NULL && g_ascii_strcasecmp (auto_submitted, "no") != 0)
         || (precedence != NULL
             && (g_ascii_strcasecmp (precedence, "bulk") == 0
                 || g_ascii_strcasecmp (precedence, "list") == 0
                 || g_ascii_strcasecmp (precedence, "junk") == 0));
  if (skip)
    {
      /* Nothing to answer, but the position moves past it. */
      if (!cw_integration_adapter_set_state (CW_INTEGRATION_ADAPTER (self), "position", position,
                                             &error))
        g_warning ("email: %s", error->message);
      return;
    }
  body = cw_email_part_text (headers, rest, 0);
  content = strip_quote (body);
  parts = cw_email_attachments (headers, rest);
  files = g_new0 (CwIntegrationAttachment, parts->len);
  refs = g_new0 (gchar *, parts->len + 1);
  for (guint i = 0; i < parts->len; i++)
    {
      CwEmailAttachment *part = g_ptr_array_index (parts, i);
      /* fetched again from the server when the message is routed: BODY.PEEK[<section>] */
      refs[i] = g_strdup_printf ("%" G_GINT64_FORMAT ":%" G_GINT64_FORMAT ":%s:%s",
                                 self->uidvalidity, uid, part->section, part->encoding);
      files[i] = (CwIntegrationAttachment){
        .type = cw_integration_attachment_type (part->mime_type),
        .name = part->name,
        .mime_type = part->mime_type,
        .size = part->size,
        .ref = refs[i],
      };
    }
  if (message_id != NULL)
    json_object_set_string_member (reply_data, "messageId", message_id);
  if (references != NULL)
    json_object_set_string_member (reply_data, "references", references);
  if (subject != NULL)
    {
      g_autofree gchar *decoded = cw_email_decode_words (subject);
      json_object_set_string_member (reply_data, "subject", decoded);
    }
  fallback_id = g_strdup_printf ("uid:%s", position);
  in.message_id = message_id != NULL ? message_id : fallback_id;
  in.chat_id = address;
  in.chat_title = name;
  in.sender_id = address;
  in.sender_name = name;
  in.text = content;
  in.reply_data = reply_data;
  in.state_key = "position";
  in.state_value = position;
  in.attachments = files;
  in.n_attachments = parts->len;
  if (!cw_integration_adapter_receive (CW_INTEGRATION_ADAPTER (self), &in, &duplicate, &error))
    {
      /* Not stored: the position stays, so the next fetch brings it again. */
      g_warning ("email: mail from %s not stored: %s", address, error->message);
    }
}

/* ---- fetching ---------------------------------------------------------------------------- */

static gint64
stored_uid (CwEmailAdapter *self, gboolean *have)
{
  g_autofree gchar *position
      = cw_integration_adapter_get_state (CW_INTEGRATION_ADAPTER (self), "position");
  gint64 validity = 0, uid = 0;

  *have = position != NULL
          && sscanf (position, "%" G_GINT64_FORMAT ":%" G_GINT64_FORMAT, &validity, &uid) == 2
          && validity == self->uidvalidity;
  return *have ? uid : 0;
}

static void
on_fetched (gpointer data, gboolean ok, const gchar *status)
{
  CwEmailAdapter *self = data;
  gboolean have;
  gint64 last = stored_uid (self, &have);
  GTask *task;

  self->fetching = FALSE;
  for (guint i = 0; ok && i < self->fetched->len; i++)
    {
      gint64 uid = g_array_index (self->fetched_uids, gint64, i);
      if (uid > last)
        deliver (self, g_ptr_array_index (self->fetched, i), uid);
    }
  g_ptr_array_set_size (self->fetched, 0);
  g_array_set_size (self->fetched_uids, 0);
  if (!ok)
    g_warning ("email: fetching new mail failed: %s", status);
  if ((task = g_steal_pointer (&self->connect_task)) != NULL)
    {
      g_clear_handle_id (&self->timeout, g_source_remove);
      self->ready = TRUE;
      cw_integration_adapter_set_identity (CW_INTEGRATION_ADAPTER (self), own_address (self), NULL);
      g_task_return_boolean (task, TRUE);
      g_object_unref (task);
    }
  if (self->new_mail)
    fetch_new (self);
  else
    start_idle (self);
}

static void
fetch_new (CwEmailAdapter *self)
{
  gboolean have;
  gint64 last = stored_uid (self, &have);
  g_autofree gchar *line
      = g_strdup_printf ("UID FETCH %" G_GINT64_FORMAT ":* (UID BODY.PEEK[])", last + 1);

  self->new_mail = FALSE;
  self->fetching = TRUE;
  imap_command (self, line, on_fetched);
}

static void
on_selected (gpointer data, gboolean ok, const gchar *status)
{
  CwEmailAdapter *self = data;
  gboolean have;
  g_autoptr (GError) error = NULL;

  if (!ok)
    {
      fail_connect (self, g_error_new (CW_ERROR, CW_ERROR_NOT_FOUND,
                                       "IMAP: cannot open the folder %s: %s", cfg (self, "folder"),
                                       status));
      return;
    }
  stored_uid (self, &have);
  if (!have)
    {
      /* First connect (or the folder was rebuilt): what is there now is old history. */
      g_autofree gchar *baseline = g_strdup_printf ("%" G_GINT64_FORMAT ":%" G_GINT64_FORMAT,
                                                    self->uidvalidity, MAX (0, self->uidnext - 1));
      if (!cw_integration_adapter_set_state (CW_INTEGRATION_ADAPTER (self), "position", baseline,
                                             &error))
        {
          fail_connect (self, g_steal_pointer (&error));
          return;
        }
    }
  fetch_new (self);
}

static void
on_logged_in (gpointer data, gboolean ok, const gchar *status)
{
  CwEmailAdapter *self = data;
  g_autofree gchar *folder
      = imap_quote (cfg (self, "folder") != NULL ? cfg (self, "folder") : "INBOX");
  g_autofree gchar *line = g_strdup_printf ("SELECT %s", folder);

  if (!ok)
    {
      fail_connect (
          self, g_error_new (CW_ERROR, CW_ERROR_UNAUTHORIZED, "IMAP login refused: %s", status));
      return;
    }
  self->uidvalidity = self->uidnext = 0;
  imap_command (self, line, on_selected);
}

static void
login (CwEmailAdapter *self)
{
  g_autofree gchar *user = imap_quote (cfg (self, "username"));
  g_autofree gchar *password = imap_quote (cfg (self, "password"));
  g_autofree gchar *line = g_strdup_printf ("LOGIN %s %s", user, password);

  imap_command (self, line, on_logged_in);
  explicit_bzero (line, strlen (line));
  explicit_bzero (password, strlen (password));
}

static void start_imap (CwEmailAdapter *self, GIOStream *stream);

static void
on_imap_tls (GObject *source, GAsyncResult *result, gpointer user_data)
{
  CwEmailAdapter *self = user_data;
  GError *error = NULL;

  if (!g_tls_connection_handshake_finish (G_TLS_CONNECTION (source), result, &error))
    {
      g_prefix_error (&error, "IMAP TLS failed: ");
      g_object_unref (source);
      fail_connect (self, error);
    }
  else
    start_imap (self, G_IO_STREAM (source));
  g_object_unref (self);
}

static void
upgrade_imap (CwEmailAdapter *self, GIOStream *base)
{
  GError *error = NULL;
  GIOStream *tls
      = wrap_tls (self, base, cfg (self, "imapHost"),
                  (guint) cw_integration_config_get_int (self->config, "imapPort", 993), &error);

  if (tls == NULL)
    {
      g_prefix_error (&error, "IMAP TLS failed: ");
      fail_connect (self, error);
      return;
    }
  g_tls_connection_handshake_async (G_TLS_CONNECTION (tls), G_PRIORITY_DEFAULT, self->cancellable,
                                    on_imap_tls, g_object_ref (self));
}

static void
drop_streams (CwEmailAdapter *self, gboolean close)
{
  g_clear_object (&self->input);
  g_clear_object (&self->output);
  if (close && self->stream != NULL)
    g_io_stream_close (self->stream, NULL, NULL);
  g_clear_object (&self->stream);
}

static void
on_starttls (gpointer data, gboolean ok, const gchar *status)
{
  CwEmailAdapter *self = data;
  GIOStream *base = g_object_ref (self->stream);

  if (!ok)
    {
      g_object_unref (base);
      fail_connect (self, g_error_new (CW_ERROR, CW_ERROR_FAILED,
                                       "the IMAP server refused STARTTLS: %s", status));
      return;
    }
  /* The plain streams go; the TLS connection wraps the same socket. */
  drop_streams (self, FALSE);
  self->writer.writing = FALSE;
  upgrade_imap (self, base);
  g_object_unref (base);
}

/* ---- attachments ------------------------------------------------------------------------ */

/* The UID FETCH of one body section ended: its literal, decoded, finishes the oldest task. */
static void
on_part_fetched (gpointer data, gboolean ok, const gchar *status)
{
  CwEmailAdapter *self = data;
  g_autoptr (GTask) task = g_queue_pop_head (&self->part_tasks);
  g_autoptr (GBytes) literal = g_steal_pointer (&self->part);
  const gchar *encoding;
  g_autoptr (GBytes) bytes = NULL;
  gsize size;
  const gchar *data_;

  if (task == NULL)
    return;
  if (!ok || literal == NULL)
    {
      g_task_return_new_error (task, CW_ERROR, CW_ERROR_FAILED,
                               "IMAP: the attachment is not there any more: %s",
                               ok ? "no body" : status);
      return;
    }
  encoding = g_object_get_data (G_OBJECT (task), "encoding");
  data_ = g_bytes_get_data (literal, &size);
  bytes = cw_email_decode_body (data_, size, encoding);
  if (cw_cloud_fetch_too_large (task, (gint64) g_bytes_get_size (bytes)))
    return;
  g_task_return_pointer (task, g_steal_pointer (&bytes), (GDestroyNotify) g_bytes_unref);
}

/* @ref: "<UIDVALIDITY>:<UID>:<section>:<transfer encoding>" */
static void
email_fetch_attachment_async (CwIntegrationAdapter *adapter, const gchar *ref, gint64 max_bytes,
                              GCancellable *cancellable, GAsyncReadyCallback callback,
                              gpointer user_data)
{
  CwEmailAdapter *self = CW_EMAIL_ADAPTER (adapter);
  GTask *task = cw_cloud_fetch_task_new (adapter, max_bytes, cancellable, callback, user_data);
  g_auto (GStrv) parts = g_strsplit (ref, ":", 4);
  g_autofree gchar *line = NULL;

  if (g_strv_length (parts) != 4 || !g_regex_match_simple ("^[0-9.]+$", parts[2], 0, 0))
    {
      g_task_return_new_error (task, CW_ERROR, CW_ERROR_INVALID_PARAMS,
                               "not an email attachment reference");
      g_object_unref (task);
      return;
    }
  if (!self->ready || self->output == NULL)
    {
      g_task_return_new_error (task, CW_ERROR, CW_ERROR_FAILED, "email is not connected");
      g_object_unref (task);
      return;
    }
  if (g_ascii_strtoll (parts[0], NULL, 10) != self->uidvalidity)
    {
      g_task_return_new_error (task, CW_ERROR, CW_ERROR_NOT_FOUND,
                               "IMAP: the folder was rebuilt, the mail is gone");
      g_object_unref (task);
      return;
    }
  g_object_set_data_full (G_OBJECT (task), "encoding", g_strdup (parts[3]), g_free);
  g_queue_push_tail (&self->part_tasks, task);
  line = g_strdup_printf ("UID FETCH %s (UID BODY.PEEK[%s])", parts[1], parts[2]);
  imap_command (self, line, on_part_fetched);
}

static void
handle_untagged (CwEmailAdapter *self, const gchar *line, GBytes *literal)
{
  gint64 n;

  if (!self->greeted)
    {
      self->greeted = TRUE;
      if (!g_str_has_prefix (line, "* OK") && !g_str_has_prefix (line, "* PREAUTH"))
        {
          fail_connect (self, g_error_new (CW_ERROR, CW_ERROR_FAILED, "IMAP server: %s", line));
          return;
        }
      if (g_strcmp0 (cfg (self, "tls"), "starttls") == 0 && !G_IS_TLS_CONNECTION (self->stream))
        imap_command (self, "STARTTLS", on_starttls);
      else
        login (self);
      return;
    }
  if (sscanf (line, "* OK [UIDVALIDITY %" G_GINT64_FORMAT "]", &n) == 1)
    self->uidvalidity = n;
  else if (sscanf (line, "* OK [UIDNEXT %" G_GINT64_FORMAT "]", &n) == 1)
    self->uidnext = n;
  else if (g_str_has_suffix (line, " EXISTS"))
    {
      self->new_mail = TRUE;
      if (self->idling && !self->done_sent)
        {
          self->done_sent = TRUE;
          imap_write (self, "DONE\r\n");
        }
    }
  else if (literal != NULL && strstr (line, " FETCH ") != NULL && self->current != NULL
           && self->current->done == on_part_fetched)
    {
      g_clear_pointer (&self->part, g_bytes_unref);
      self->part = g_bytes_ref (literal);
    }
  else if (literal != NULL && strstr (line, " FETCH ") != NULL)
    {
      const gchar *uid = strstr (line, "UID ");
      if (uid != NULL && sscanf (uid, "UID %" G_GINT64_FORMAT, &n) == 1)
        {
          g_ptr_array_add (self->fetched, g_bytes_ref (literal));
          g_array_append_val (self->fetched_uids, n);
        }
    }
}

static void
handle_response (CwEmailAdapter *self, const gchar *line, GBytes *literal)
{
  cw_integration_adapter_report_round_trip (CW_INTEGRATION_ADAPTER (self));
  if (g_str_has_prefix (line, "* "))
    handle_untagged (self, line, literal);
  else if (g_str_has_prefix (line, "+"))
    {
      if (self->idle_sent)
        {
          self->idling = TRUE;
          if ((self->new_mail || !g_queue_is_empty (&self->pending)) && !self->done_sent)
            {
              self->done_sent = TRUE;
              imap_write (self, "DONE\r\n");
            }
        }
    }
  else if (self->current != NULL && g_str_has_prefix (line, self->current->tag)
           && line[strlen (self->current->tag)] == ' ')
    {
      ImapCommand *cmd = self->current;
      const gchar *status = line + strlen (cmd->tag) + 1;
      self->current = NULL;
      cmd->done (self, g_str_has_prefix (status, "OK"), status);
      command_free (cmd);
      imap_pump (self);
    }
}

/* A response line may end with a literal {N}: its bytes, then the rest of the line. */
typedef struct
{
  CwEmailAdapter *self;
  GString *line;
  GBytes *literal;
  guchar *buffer;
  gsize size;
} ImapRead;

static void read_line_part (ImapRead *r);

static void
imap_read_free (ImapRead *r)
{
  g_string_free (r->line, TRUE);
  g_clear_pointer (&r->literal, g_bytes_unref);
  g_free (r->buffer);
  g_object_unref (r->self);
  g_free (r);
}

static void
on_literal (GObject *source, GAsyncResult *result, gpointer user_data)
{
  ImapRead *r = user_data;
  g_autoptr (GError) error = NULL;
  gsize n = 0;

  if (!g_input_stream_read_all_finish (G_INPUT_STREAM (source), result, &n, &error) || n != r->size)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) && r->self->input != NULL)
        imap_lost (r->self, error != NULL ? error->message : "the connection closed");
      imap_read_free (r);
      return;
    }
  g_clear_pointer (&r->literal, g_bytes_unref);
  r->literal = g_bytes_new_take (g_steal_pointer (&r->buffer), r->size);
  read_line_part (r);
}

static void
on_imap_line (GObject *source, GAsyncResult *result, gpointer user_data)
{
  ImapRead *r = user_data;
  CwEmailAdapter *self = r->self;
  g_autoptr (GError) error = NULL;
  gsize len;
  g_autofree gchar *line
      = g_data_input_stream_read_line_finish (G_DATA_INPUT_STREAM (source), result, &len, &error);
  gint64 size;
  const gchar *brace;

  if (self->input == NULL || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      imap_read_free (r);
      return;
    }
  if (line == NULL)
    {
      imap_lost (self, error != NULL ? error->message : "the server closed the connection");
      imap_read_free (r);
      return;
    }
  g_strchomp (line);
  g_string_append (r->line, line);
  brace = strrchr (line, '{');
  if (brace != NULL && g_str_has_suffix (line, "}")
      && sscanf (brace, "{%" G_GINT64_FORMAT "}", &size) == 1 && size >= 0
      && size < 64 * 1024 * 1024)
    {
      r->size = (gsize) size;
      r->buffer = g_malloc (MAX (1, r->size));
      g_input_stream_read_all_async (G_INPUT_STREAM (self->input), r->buffer, r->size,
                                     G_PRIORITY_DEFAULT, self->cancellable, on_literal, r);
      return;
    }
  handle_response (self, r->line->str, r->literal);
  if (self->input != NULL && r->self->stream != NULL)
    imap_read (self);
  imap_read_free (r);
}

static void
read_line_part (ImapRead *r)
{
  g_data_input_stream_read_line_async (r->self->input, G_PRIORITY_DEFAULT, r->self->cancellable,
                                       on_imap_line, r);
}

static void
imap_read (CwEmailAdapter *self)
{
  ImapRead *r = g_new0 (ImapRead, 1);

  r->self = g_object_ref (self);
  r->line = g_string_new (NULL);
  read_line_part (r);
}

static void
start_imap (CwEmailAdapter *self, GIOStream *stream)
{
  self->stream = stream;
  self->input = g_data_input_stream_new (g_io_stream_get_input_stream (stream));
  /* STARTTLS drops this reader and keeps the socket. */
  g_filter_input_stream_set_close_base_stream (G_FILTER_INPUT_STREAM (self->input), FALSE);
  g_data_input_stream_set_newline_type (self->input, G_DATA_STREAM_NEWLINE_TYPE_CR_LF);
  self->output = g_object_ref (g_io_stream_get_output_stream (stream));
  if (G_IS_TLS_CONNECTION (stream) && self->greeted)
    login (self); /* after STARTTLS */
  imap_read (self);
}

static void
on_imap_connected (GObject *source, GAsyncResult *result, gpointer user_data)
{
  CwEmailAdapter *self = user_data;
  GError *error = NULL;
  GSocketConnection *conn
      = g_socket_client_connect_to_host_finish (G_SOCKET_CLIENT (source), result, &error);

  if (conn == NULL)
    {
      g_prefix_error (&error, "cannot reach the IMAP server: ");
      fail_connect (self, error);
    }
  else if (g_strcmp0 (cfg (self, "tls"), "tls") == 0)
    {
      upgrade_imap (self, G_IO_STREAM (conn));
      g_object_unref (conn);
    }
  else
    start_imap (self, G_IO_STREAM (conn));
  g_object_unref (self);
}

static gboolean
on_connect_timeout (gpointer user_data)
{
  CwEmailAdapter *self = user_data;

  self->timeout = 0;
  fail_connect (self, g_error_new (CW_ERROR, CW_ERROR_FAILED,
                                   "the IMAP server did not answer in %u s", EMAIL_TIMEOUT_S));
  return G_SOURCE_REMOVE;
}

static void
close_imap (CwEmailAdapter *self)
{
  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  drop_streams (self, TRUE);
  cw_line_writer_reset (&self->writer, TRUE);
  if (self->current != NULL)
    command_free (g_steal_pointer (&self->current));
  g_queue_clear_full (&self->pending, (GDestroyNotify) command_free);
  g_ptr_array_set_size (self->fetched, 0);
  g_array_set_size (self->fetched_uids, 0);
  self->ready = self->greeted = self->idling = self->idle_sent = self->done_sent = FALSE;
  self->new_mail = self->fetching = FALSE;
  g_clear_pointer (&self->part, g_bytes_unref);
  for (GTask *task; (task = g_queue_pop_head (&self->part_tasks)) != NULL;)
    {
      g_task_return_new_error (task, CW_ERROR, CW_ERROR_FAILED, "the IMAP connection was closed");
      g_object_unref (task);
    }
}

static void
cw_email_adapter_connect_async (CwIntegrationAdapter *adapter, JsonObject *config,
                                GCancellable *cancellable, GAsyncReadyCallback callback,
                                gpointer user_data)
{
  CwEmailAdapter *self = CW_EMAIL_ADAPTER (adapter);
  g_autoptr (GSocketClient) client = g_socket_client_new ();

  close_imap (self);
  g_clear_pointer (&self->config, json_object_unref);
  self->config = json_object_ref (config);
  self->cancellable = g_cancellable_new ();
  if (cancellable != NULL)
    g_cancellable_connect (cancellable, G_CALLBACK (g_cancellable_cancel),
                           g_object_ref (self->cancellable), g_object_unref);
  self->connect_task = g_task_new (self, cancellable, callback, user_data);
  self->timeout = g_timeout_add_seconds (EMAIL_TIMEOUT_S, on_connect_timeout, self);
  g_socket_client_set_timeout (client, EMAIL_TIMEOUT_S);
  g_socket_client_connect_to_host_async (
      client, cfg (self, "imapHost"),
      (guint16) cw_integration_config_get_int (config, "imapPort", 993), self->cancellable,
      on_imap_connected, g_object_ref (self));
}

static gboolean
cw_email_adapter_connect_finish (CwIntegrationAdapter *adapter, GAsyncResult *result,
                                 GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
cw_email_adapter_disconnect (CwIntegrationAdapter *adapter)
{
  CwEmailAdapter *self = CW_EMAIL_ADAPTER (adapter);

  g_clear_handle_id (&self->timeout, g_source_remove);
  if (self->connect_task != NULL)
    fail_connect (self, g_error_new (G_IO_ERROR, G_IO_ERROR_CANCELLED, "disconnected"));
  if (self->health_task != NULL)
    {
      GTask *task = g_steal_pointer (&self->health_task);
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CANCELLED, "disconnected");
      g_object_unref (task);
    }
  close_imap (self);
}

/* ---- health -------------------------------------------------------------------------------- */

static void
on_noop (gpointer data, gboolean ok, const gchar *status)
{
  CwEmailAdapter *self = data;
  GTask *task = g_steal_pointer (&self->health_task);

  if (task != NULL)
    {
      if (ok)
        g_task_return_boolean (task, TRUE);
      else
        g_task_return_new_error (task, CW_ERROR, CW_ERROR_FAILED, "IMAP NOOP: %s", status);
      g_object_unref (task);
    }
  if (!self->fetching && self->current == NULL && g_queue_is_empty (&self->pending))
    {
      if (self->new_mail)
        fetch_new (self);
      else
        start_idle (self);
    }
}

static void
cw_email_adapter_check_health_async (CwIntegrationAdapter *adapter, GCancellable *cancellable,
                                     GAsyncReadyCallback callback, gpointer user_data)
{
  CwEmailAdapter *self = CW_EMAIL_ADAPTER (adapter);
  GTask *task = g_task_new (self, cancellable, callback, user_data);

  if (!self->ready || self->health_task != NULL)
    {
      g_task_return_new_error (task, CW_ERROR, CW_ERROR_FAILED, "not connected to IMAP");
      g_object_unref (task);
      return;
    }
  self->health_task = task;
  imap_command (self, "NOOP", on_noop);
}

static gboolean
cw_email_adapter_check_health_finish (CwIntegrationAdapter *adapter, GAsyncResult *result,
                                      gboolean *requires_reconnect, GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* ---- SMTP ---------------------------------------------------------------------------------- */

typedef enum
{
  SMTP_GREETING,
  SMTP_EHLO,
  SMTP_STARTTLS,
  SMTP_EHLO_TLS,
  SMTP_AUTH,
  SMTP_MAIL,
  SMTP_RCPT,
  SMTP_DATA,
  SMTP_BODY,
  SMTP_QUIT,
} SmtpStep;

typedef struct
{
  CwEmailAdapter *self;
  GTask *task;
  GIOStream *stream;
  GDataInputStream *input;
  GOutputStream *output;
  SmtpStep step;
  GString *reply; /* the lines of a (multiline) reply */
  gboolean has_auth;
  gchar *to;
  gchar *message;
  gchar *message_id;
} Smtp;

static void smtp_read (Smtp *s);

static void
smtp_free (Smtp *s)
{
  if (s->stream != NULL)
    g_io_stream_close (s->stream, NULL, NULL);
  g_clear_object (&s->input);
  g_clear_object (&s->stream);
  g_clear_object (&s->task);
  g_string_free (s->reply, TRUE);
  g_free (s->to);
  g_free (s->message);
  g_free (s->message_id);
  g_object_unref (s->self);
  g_free (s);
}

static void smtp_fail (Smtp *s, const gchar *format, ...) G_GNUC_PRINTF (2, 3);

static void
smtp_fail (Smtp *s, const gchar *format, ...)
{
  g_autofree gchar *message = NULL;
  va_list ap;

  va_start (ap, format);
  message = g_strdup_vprintf (format, ap);
  va_end (ap);
  if (s->step == SMTP_QUIT)
    {
      smtp_free (s); /* the message went out already */
      return;
    }
  g_task_return_new_error (s->task, CW_ERROR, CW_ERROR_FAILED, "SMTP: %s", message);
  smtp_free (s);
}

static void
on_smtp_written (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Smtp *s = user_data;
  g_autoptr (GError) error = NULL;

  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL, &error))
    {
      smtp_fail (s, "%s", error->message);
      return;
    }
  smtp_read (s);
}

static void
smtp_send (Smtp *s, SmtpStep next, const gchar *text)
{
  s->step = next;
  g_string_truncate (s->reply, 0);
  g_object_set_data_full (G_OBJECT (s->task), "smtp-write", g_strdup (text), g_free);
  g_output_stream_write_all_async (s->output, g_object_get_data (G_OBJECT (s->task), "smtp-write"),
                                   strlen (text), G_PRIORITY_DEFAULT,
                                   g_task_get_cancellable (s->task), on_smtp_written, s);
}

static void smtp_attach (Smtp *s, GIOStream *stream);

static void
on_smtp_tls (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Smtp *s = user_data;
  g_autoptr (GError) error = NULL;

  if (!g_tls_connection_handshake_finish (G_TLS_CONNECTION (source), result, &error))
    {
      g_object_unref (source);
      smtp_fail (s, "TLS failed: %s", error->message);
      return;
    }
  smtp_attach (s, G_IO_STREAM (source));
  if (s->step == SMTP_STARTTLS)
    {
      g_autofree gchar *ehlo = g_strdup ("EHLO cowork\r\n");
      g_string_truncate (s->reply, 0);
      smtp_send (s, SMTP_EHLO_TLS, ehlo);
    }
  else
    smtp_read (s);
}

static void
smtp_tls (Smtp *s, GIOStream *base)
{
  GError *error = NULL;
  GIOStream *tls
      = wrap_tls (s->self, base, cfg (s->self, "smtpHost"),
                  (guint) cw_integration_config_get_int (s->self->config, "smtpPort", 465), &error);

  if (tls == NULL)
    {
      smtp_fail (s, "TLS failed: %s", error->message);
      g_error_free (error);
      return;
    }
  g_tls_connection_handshake_async (G_TLS_CONNECTION (tls), G_PRIORITY_DEFAULT,
                                    g_task_get_cancellable (s->task), on_smtp_tls, s);
}

static gchar *
auth_plain (CwEmailAdapter *self)
{
  const gchar *user = cfg (self, "username");
  const gchar *password = cfg (self, "password");
  g_autoptr (GString) blob = g_string_new (NULL);
  g_autofree gchar *encoded = NULL;
  gchar *line;

  g_string_append_c (blob, '\0');
  g_string_append (blob, user);
  g_string_append_c (blob, '\0');
  g_string_append (blob, password != NULL ? password : "");
  encoded = g_base64_encode ((const guchar *) blob->str, blob->len);
  line = g_strdup_printf ("AUTH PLAIN %s\r\n", encoded);
  explicit_bzero (blob->str, blob->len);
  explicit_bzero (encoded, strlen (encoded));
  return line;
}

/* The server answered @code to the step that ran; go on. */
static void
smtp_next (Smtp *s, gint code)
{
  gboolean starttls = g_strcmp0 (cfg (s->self, "tls"), "starttls") == 0;
  g_autofree gchar *line = NULL;

  switch (s->step)
    {
      case SMTP_GREETING:
        if (code != 220)
          {
            smtp_fail (s, "greeting: %s", s->reply->str);
            return;
          }
        {
          smtp_send (s, SMTP_EHLO, "EHLO cowork\r\n");
          return;
        }
      case SMTP_EHLO:
      case SMTP_EHLO_TLS:
        if (code != 250)
          {
            smtp_fail (s, "EHLO: %s", s->reply->str);
            return;
          }
        s->has_auth = strstr (s->reply->str, "AUTH") != NULL;
        if (s->step == SMTP_EHLO && starttls)
          {
            smtp_send (s, SMTP_STARTTLS, "STARTTLS\r\n");
            return;
          }
        if (s->has_auth && cfg (s->self, "password") != NULL)
          {
            line = auth_plain (s->self);
            smtp_send (s, SMTP_AUTH, line);
            explicit_bzero (line, strlen (line));
            return;
          }
        /* no authentication offered (a local relay) */
        G_GNUC_FALLTHROUGH;
      case SMTP_AUTH:
        if (s->step == SMTP_AUTH && code != 235)
          {
            smtp_fail (s, "authentication refused: %s", s->reply->str);
            return;
          }
        line = g_strdup_printf ("MAIL FROM:<%s>\r\n", own_address (s->self));
        {
          smtp_send (s, SMTP_MAIL, line);
          return;
        }
      case SMTP_STARTTLS:
        if (code != 220)
          {
            smtp_fail (s, "STARTTLS refused: %s", s->reply->str);
            return;
          }
        {
          GIOStream *base = g_object_ref (s->stream);
          g_clear_object (&s->input);
          g_clear_object (&s->stream);
          s->output = NULL;
          smtp_tls (s, base);
          g_object_unref (base);
        }
        return;
      case SMTP_MAIL:
        if (code != 250)
          {
            smtp_fail (s, "MAIL FROM: %s", s->reply->str);
            return;
          }
        line = g_strdup_printf ("RCPT TO:<%s>\r\n", s->to);
        {
          smtp_send (s, SMTP_RCPT, line);
          return;
        }
      case SMTP_RCPT:
        if (code != 250 && code != 251)
          {
            smtp_fail (s, "RCPT TO %s: %s", s->to, s->reply->str);
            return;
          }
        {
          smtp_send (s, SMTP_DATA, "DATA\r\n");
          return;
        }
      case SMTP_DATA:
        if (code != 354)
          {
            smtp_fail (s, "DATA: %s", s->reply->str);
            return;
          }
        {
          smtp_send (s, SMTP_BODY, s->message);
          return;
        }
      case SMTP_BODY:
        if (code != 250)
          {
            smtp_fail (s, "the message was refused: %s", s->reply->str);
            return;
          }
        g_task_return_pointer (s->task, g_strdup (s->message_id), g_free);
        cw_integration_adapter_report_round_trip (CW_INTEGRATION_ADAPTER (s->self));
        {
          smtp_send (s, SMTP_QUIT, "QUIT\r\n");
          return;
        }
      case SMTP_QUIT:
      default:
        smtp_free (s);
        return;
    }
}

static void
on_smtp_line (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Smtp *s = user_data;
  g_autoptr (GError) error = NULL;
  gsize len;
  g_autofree gchar *line
      = g_data_input_stream_read_line_finish (G_DATA_INPUT_STREAM (source), result, &len, &error);

  if (line == NULL)
    {
      if (s->step == SMTP_QUIT)
        smtp_free (s);
      else
        smtp_fail (s, "%s", error != NULL ? error->message : "the server closed the connection");
      return;
    }
  g_strchomp (line);
  g_string_append_printf (s->reply, "%s%s", s->reply->len > 0 ? " " : "", line);
  if (strlen (line) >= 4 && line[3] == '-')
    {
      smtp_read (s); /* more lines of this reply */
      return;
    }
  {
    gint code = (gint) g_ascii_strtoll (line, NULL, 10);
    smtp_next (s, code);
  }
}

static void
smtp_read (Smtp *s)
{
  if (s->step != SMTP_STARTTLS || s->input != NULL)
    {
      g_data_input_stream_read_line_async (s->input, G_PRIORITY_DEFAULT,
                                           g_task_get_cancellable (s->task), on_smtp_line, s);
    }
}

static void
smtp_attach (Smtp *s, GIOStream *stream)
{
  s->stream = stream;
  s->input = g_data_input_stream_new (g_io_stream_get_input_stream (stream));
  g_filter_input_stream_set_close_base_stream (G_FILTER_INPUT_STREAM (s->input), FALSE);
  g_data_input_stream_set_newline_type (s->input, G_DATA_STREAM_NEWLINE_TYPE_ANY);
  s->output = g_io_stream_get_output_stream (stream);
}

static void
on_smtp_connected (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Smtp *s = user_data;
  g_autoptr (GError) error = NULL;
  GSocketConnection *conn
      = g_socket_client_connect_to_host_finish (G_SOCKET_CLIENT (source), result, &error);

  if (conn == NULL)
    {
      smtp_fail (s, "cannot reach the server: %s", error->message);
      return;
    }
  s->step = SMTP_GREETING;
  if (g_strcmp0 (cfg (s->self, "tls"), "tls") == 0)
    {
      smtp_tls (s, G_IO_STREAM (conn));
      g_object_unref (conn);
      return;
    }
  smtp_attach (s, G_IO_STREAM (conn));
  smtp_read (s);
}

/* Appends @text as CRLF lines, dot-stuffed. */
static void
append_lines (GString *out, const gchar *text)
{
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);

  for (guint i = 0; lines[i] != NULL; i++)
    {
      const gchar *line = g_strchomp (lines[i]);
      g_string_append_printf (out, "%s%s\r\n", line[0] == '.' ? "." : "", line);
    }
}

/* The message, dot-stuffed and ending with the final dot: @text, or with @media a
 * multipart/mixed mail of the caption and the file attached (base64). */
static gchar *
compose (CwEmailAdapter *self, const gchar *chat_id, JsonObject *rd, const gchar *message_id,
         const gchar *text, const CwIntegrationMedia *media)
{
  const gchar *subject = cw_integration_config_get_string (rd, "subject");
  const gchar *in_reply_to = cw_integration_config_get_string (rd, "messageId");
  const gchar *references = cw_integration_config_get_string (rd, "references");
  g_autoptr (GDateTime) now = g_date_time_new_now_local ();
  g_autofree gchar *date = g_date_time_format (now, "%a, %d %b %Y %H:%M:%S %z");
  GString *out = g_string_new (NULL);

  g_string_append_printf (out, "From: Cowork <%s>\r\nTo: <%s>\r\n", own_address (self), chat_id);
  if (subject == NULL || *subject == '\0')
    g_string_append (out, "Subject: Cowork\r\n");
  else if (g_ascii_strncasecmp (subject, "re:", 3) == 0)
    g_string_append_printf (out, "Subject: %s\r\n", subject);
  else
    g_string_append_printf (out, "Subject: Re: %s\r\n", subject);
  g_string_append_printf (out, "Date: %s\r\nMessage-ID: %s\r\n", date, message_id);
  if (in_reply_to != NULL)
    {
      g_string_append_printf (out, "In-Reply-To: %s\r\n", in_reply_to);
      g_string_append_printf (out, "References: %s%s%s\r\n", references != NULL ? references : "",
                              references != NULL ? " " : "", in_reply_to);
    }
  g_string_append (out, "Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n");
  if (media != NULL)
    {
      g_autofree gchar *boundary = g_strdup_printf ("=_cowork_%s", media->outbound_id);
      g_autofree gchar *filename = cw_integration_media_filename (media);
      g_autofree gchar *encoded
          = g_base64_encode (g_bytes_get_data (media->data, NULL), g_bytes_get_size (media->data));
      gsize length = strlen (encoded);

      g_string_append_printf (out,
                              "Content-Type: multipart/mixed; boundary=\"%s\"\r\n\r\n"
                              "--%s\r\nContent-Type: text/plain; charset=utf-8\r\n"
                              "Content-Transfer-Encoding: 8bit\r\n\r\n",
                              boundary, boundary);
      append_lines (out, text);
      g_string_append_printf (out,
                              "--%s\r\nContent-Type: %s; name=\"%s\"\r\n"
                              "Content-Disposition: attachment; filename=\"%s\"\r\n"
                              "Content-Transfer-Encoding: base64\r\n\r\n",
                              boundary, media->mime_type, filename, filename);
      for (gsize i = 0; i < length; i += 76)
        {
          g_string_append_len (out, encoded + i, MIN (76, length - i));
          g_string_append (out, "\r\n");
        }
      g_string_append_printf (out, "--%s--\r\n", boundary);
    }
  else
    {
      g_string_append (out, "Content-Type: text/plain; charset=utf-8\r\n"
                            "Content-Transfer-Encoding: 8bit\r\n\r\n");
      append_lines (out, text);
    }
  g_string_append (out, ".\r\n");
  return g_string_free (out, FALSE);
}

/* One SMTP session delivering @text (with @media attached, if not NULL) to @chat_id. */
static void
smtp_deliver (CwEmailAdapter *self, const gchar *chat_id, const gchar *outbound_id, JsonObject *rd,
              const gchar *text, const CwIntegrationMedia *media, GCancellable *cancellable,
              GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  Smtp *s = g_new0 (Smtp, 1);
  const gchar *at = strchr (own_address (self), '@');

  s->self = g_object_ref (self);
  s->task = g_task_new (self, cancellable, callback, user_data);
  s->reply = g_string_new (NULL);
  s->to = g_strdup (chat_id);
  s->message_id = g_strdup_printf ("<%s@%s>", outbound_id, at != NULL ? at + 1 : "cowork.invalid");
  s->message = compose (self, chat_id, rd, s->message_id, text, media);
  g_socket_client_set_timeout (client, EMAIL_TIMEOUT_S);
  g_socket_client_connect_to_host_async (
      client, cfg (self, "smtpHost"),
      (guint16) cw_integration_config_get_int (self->config, "smtpPort", 465), cancellable,
      on_smtp_connected, s);
}

static void
cw_email_adapter_send_async (CwIntegrationAdapter *adapter, const CwIntegrationOutbound *message,
                             GCancellable *cancellable, GAsyncReadyCallback callback,
                             gpointer user_data)
{
  smtp_deliver (CW_EMAIL_ADAPTER (adapter), message->chat_id, message->outbound_id,
                message->reply_data, message->text, NULL, cancellable, callback, user_data);
}

/* A generated image or video: a reply mail with the caption and the file attached. */
static void
cw_email_adapter_send_media_async (CwIntegrationAdapter *adapter, const CwIntegrationMedia *media,
                                   GCancellable *cancellable, GAsyncReadyCallback callback,
                                   gpointer user_data)
{
  smtp_deliver (CW_EMAIL_ADAPTER (adapter), media->chat_id, media->outbound_id, media->reply_data,
                media->caption, media, cancellable, callback, user_data);
}

static gchar *
cw_email_adapter_send_finish (CwIntegrationAdapter *adapter, GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
cw_email_adapter_update_config (CwIntegrationAdapter *adapter, JsonObject *config)
{
  CwEmailAdapter *self = CW_EMAIL_ADAPTER (adapter);
  g_autoptr (JsonObject) old = g_steal_pointer (&self->config);

  self->config = json_object_ref (config);
}

static void
cw_email_adapter_finalize (GObject *object)
{
  CwEmailAdapter *self = CW_EMAIL_ADAPTER (object);

  cw_email_adapter_disconnect (CW_INTEGRATION_ADAPTER (self));
  g_clear_pointer (&self->config, json_object_unref);
  g_ptr_array_unref (self->fetched);
  g_array_unref (self->fetched_uids);
  cw_line_writer_clear (&self->writer);
  G_OBJECT_CLASS (cw_email_adapter_parent_class)->finalize (object);
}

static void
cw_email_adapter_class_init (CwEmailAdapterClass *klass)
{
  CwIntegrationAdapterClass *adapter_class = CW_INTEGRATION_ADAPTER_CLASS (klass);

  G_OBJECT_CLASS (klass)->finalize = cw_email_adapter_finalize;
  adapter_class->caps = CW_INTEGRATION_CAP_NONE;
  adapter_class->connect_async = cw_email_adapter_connect_async;
  adapter_class->connect_finish = cw_email_adapter_connect_finish;
  adapter_class->disconnect = cw_email_adapter_disconnect;
  adapter_class->send_async = cw_email_adapter_send_async;
  adapter_class->send_finish = cw_email_adapter_send_finish;
  adapter_class->fetch_attachment_async = email_fetch_attachment_async;
  adapter_class->fetch_attachment_finish = cw_cloud_finish_bytes;
  adapter_class->send_media_async = cw_email_adapter_send_media_async;
  adapter_class->send_media_finish = cw_email_adapter_send_finish;
  adapter_class->check_health_async = cw_email_adapter_check_health_async;
  adapter_class->check_health_finish = cw_email_adapter_check_health_finish;
  adapter_class->update_config = cw_email_adapter_update_config;
}

static void
cw_email_adapter_init (CwEmailAdapter *self)
{
  g_queue_init (&self->pending);
  g_queue_init (&self->part_tasks);
  cw_line_writer_init (&self->writer, G_OBJECT (self), &self->output, &self->cancellable, "imap");
  self->fetched = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  self->fetched_uids = g_array_new (FALSE, FALSE, sizeof (gint64));
}
