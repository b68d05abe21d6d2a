/* cw-irc-adapter.c: IRC (RFC 1459/2812 with IRCv3 capability negotiation) over GIO.
 *
 * Connect: TCP through GSocketClient, then TLS (GTlsClientConnection, the system's trust
 * store or `tlsCaFile`) when `tls` is set. Without a `password`, NICK and USER right away.
 * With one, the account (`username`, else `nick`) logs in with SASL PLAIN before registering:
 * CAP LS 302 (several lines when the server continues with `*`), CAP REQ :sasl, AUTHENTICATE
 * PLAIN, the credentials in 400-byte AUTHENTICATE lines (a `+` after a payload that fills its
 * last line), and CAP END with NICK and USER after 903 (or 907, already logged in). A server
 * that does not offer SASL (no `sasl` in CAP LS, a NAK, CAP unknown, `sasl=` without PLAIN)
 * fails the connect: the bot never joins unauthenticated when an account is configured, and
 * the password is not sent as a server password either. 902/904 (the account refused) fail it
 * as unauthorized, 905/906 as failed. The connect finishes at the welcome (001); then the
 * adapter joins `channels`. A nick in use gets `_` appended (three times at most).
 *
 * Inbound: a private message to the nick, or a channel message that mentions the nick (as
 * a word; a leading "nick:" or "nick," is stripped), with the sender's nick as sender id and
 * the channel (or the sender, for a private message) as the chat. IRC keeps no history and
 * has no message ids (the IRCv3 msgid tag is used when the server sends one), so nothing is
 * caught up after a reconnect: what was said while the bot was away is not seen.
 *
 * Outbound: one PRIVMSG per line, each cut to fit the 512-byte line limit at a UTF-8
 * boundary. Health: PING with a token, healthy on the matching PONG.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "../cw-integrations-adapters.h"
#include "../line/cw-line-writer.h"

#include <string.h>

#define IRC_LINE_MAX       400 /* PRIVMSG text bytes per line, leaving room for the prefix */
#define IRC_PING_TIMEOUT_S 30
#define IRC_SASL_CHUNK     400 /* AUTHENTICATE payload bytes per line (IRCv3 sasl-3.1) */

typedef enum
{
  IRC_IDLE,
  IRC_REGISTERING,
  IRC_READY,
} IrcState;

typedef enum
{
  SASL_NONE,    /* no password: plain registration */
  SASL_LS,      /* CAP LS sent, collecting the capabilities */
  SASL_REQ,     /* CAP REQ :sasl sent */
  SASL_STARTED, /* AUTHENTICATE PLAIN sent, waiting for "+" */
  SASL_SENT,    /* the credentials sent, waiting for 903 */
  SASL_DONE,    /* logged in (903, 907) */
} SaslStep;

struct _CwIrcAdapter
{
  CwIntegrationAdapter parent_instance;
  JsonObject *config;
  GIOStream *stream;
  GDataInputStream *input;
  GOutputStream *output;
  GCancellable *cancellable;
  GTask *connect_task;
  IrcState state;
  gchar *nick;
  guint nick_tries;
  SaslStep sasl;
  gboolean sasl_offered; /* "sasl" was in CAP LS */
  gchar *sasl_mechs;     /* its value (CAP LS 302) or 908, NULL when not given */
  CwLineWriter writer;
  guint register_timeout;
  GTask *health_task;
  gchar *ping_token;
  guint ping_timeout;
};

G_DECLARE_FINAL_TYPE (CwIrcAdapter, cw_irc_adapter, CW, IRC_ADAPTER, CwIntegrationAdapter)
G_DEFINE_FINAL_TYPE (CwIrcAdapter, cw_irc_adapter, CW_TYPE_INTEGRATION_ADAPTER)

static void read_next (CwIrcAdapter *self);

/* ---- writing ------------------------------------------------------------------------------ */

static void send_line (CwIrcAdapter *self, const gchar *format, ...) G_GNUC_PRINTF (2, 3);

static void
send_line (CwIrcAdapter *self, const gchar *format, ...)
{
  va_list ap;

  va_start (ap, format);
  g_string_append_vprintf (self->writer.queue, format, ap);
  va_end (ap);
  cw_line_writer_append (&self->writer, "\r\n");
}

/* ---- parsing -------------------------------------------------------------------------------- */

typedef struct
{
  gchar *tags;
  gchar *prefix;
  gchar *command;
  GPtrArray *params;
} IrcMessage;

static void
irc_message_free (IrcMessage *m)
{
  g_free (m->tags);
  g_free (m->prefix);
  g_free (m->command);
  g_ptr_array_unref (m->params);
  g_free (m);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (IrcMessage, irc_message_free)

static IrcMessage *
irc_parse (const gchar *line)
{
  IrcMessage *m = g_new0 (IrcMessage, 1);
  const gchar *p = line;

  m->params = g_ptr_array_new_with_free_func (g_free);
  if (*p == '@')
    {
      const gchar *end = strchr (p, ' ');
      m->tags = g_strndup (p + 1, end != NULL ? end - p - 1 : (gssize) strlen (p + 1));
      p = end != NULL ? end + 1 : p + strlen (p);
    }
  while (*p == ' ')
    p++;
  if (*p == ':')
    {
      const gchar *end = strchr (p, ' ');
      m->prefix = g_strndup (p + 1, end != NULL ? end - p - 1 : (gssize) strlen (p + 1));
      p = end != NULL ? end + 1 : p + strlen (p);
    }
  while (*p == ' ')
    p++;
  {
    const gchar *end = strchr (p, ' ');
    m->command = g_ascii_strup (p, end != NULL ? end - p : -1);
    p = end != NULL ? end + 1 : p + strlen (p);
  }
  while (*p != '\0')
    {
      const gchar *end;
      while (*p == ' ')
        p++;
      if (*p == '\0')
        break;
      if (*p == ':')
        {
          g_ptr_array_add (m->params, g_strdup (p + 1));
          break;
        }
      end = strchr (p, ' ');
      g_ptr_array_add (m->params, g_strndup (p, end != NULL ? end - p : (gssize) strlen (p)));
      p = end != NULL ? end : p + strlen (p);
    }
  return m;
}

static const gchar *
param (IrcMessage *m, guint i)
{
  return i < m->params->len ? g_ptr_array_index (m->params, i) : NULL;
}

static gchar *
tag_value (const gchar *tags, const gchar *name)
{
  g_auto (GStrv) parts = tags != NULL ? g_strsplit (tags, ";", -1) : NULL;

  for (guint i = 0; parts != NULL && parts[i] != NULL; i++)
    {
      gchar *eq = strchr (parts[i], '=');
      if (eq != NULL && (gsize) (eq - parts[i]) == strlen (name)
          && strncmp (parts[i], name, eq - parts[i]) == 0)
        return g_strdup (eq + 1);
    }
  return NULL;
}

/* ---- connect -------------------------------------------------------------------------------- */

static void
fail_connect (CwIrcAdapter *self, GError *error)
{
  GTask *task = g_steal_pointer (&self->connect_task);

  g_clear_handle_id (&self->register_timeout, g_source_remove);
  if (task == NULL)
    {
      g_error_free (error);
      return;
    }
  g_task_return_error (task, error);
  g_object_unref (task);
}

static void
lost (CwIrcAdapter *self, const gchar *why)
{
  g_autoptr (GError) error = g_error_new (CW_ERROR, CW_ERROR_FAILED, "%s", why);

  if (self->connect_task != NULL)
    {
      fail_connect (self, g_steal_pointer (&error));
      return;
    }
  if (self->state == IRC_READY)
    {
      self->state = IRC_IDLE;
      cw_integration_adapter_report_lost (CW_INTEGRATION_ADAPTER (self), error, FALSE);
    }
}

static void
join_channels (CwIrcAdapter *self)
{
  g_auto (GStrv) channels = cw_integration_config_get_strv (self->config, "channels");

  for (guint i = 0; channels[i] != NULL; i++)
    send_line (self, "JOIN %s", channels[i]);
}

static void
registered (CwIrcAdapter *self, IrcMessage *m)
{
  GTask *task = g_steal_pointer (&self->connect_task);

  g_clear_handle_id (&self->register_timeout, g_source_remove);
  self->state = IRC_READY;
  if (param (m, 0) != NULL)
    {
      g_free (self->nick);
      self->nick = g_strdup (param (m, 0));
    }
  join_channels (self);
  cw_integration_adapter_set_identity (CW_INTEGRATION_ADAPTER (self), self->nick, NULL);
  if (task != NULL)
    {
      g_task_return_boolean (task, TRUE);
      g_object_unref (task);
    }
}

static const gchar *
sasl_account (CwIrcAdapter *self)
{
  const gchar *user = cw_integration_config_get_string (self->config, "username");

  return user != NULL ? user : self->nick;
}

/* The PLAIN message "authzid \0 authcid \0 password", base64-encoded. */
static gchar *
plain_message (const gchar *authzid, const gchar *user, const gchar *password)
{
  g_autoptr (GString) blob = g_string_new (authzid);
  gchar *encoded;

  g_string_append_c (blob, '\0');
  g_string_append (blob, user);
  g_string_append_c (blob, '\0');
  g_string_append (blob, password);
  encoded = g_base64_encode ((const guchar *) blob->str, blob->len);
  explicit_bzero (blob->str, blob->len);
  return encoded;
}

static void
sasl_plain (CwIrcAdapter *self)
{
  const gchar *user = sasl_account (self);
  const gchar *password = cw_integration_config_get_string (self->config, "password");
  g_autofree gchar *encoded = plain_message (user, user, password);
  gsize len = strlen (encoded);

  /* A message that fills its last line is ended by "AUTHENTICATE +", which atheme 7.2 takes
   * for more base64 and fails the login with. The same login without the (optional) authzid
   * is shorter: sent so when it does not fill its last line too. */
  if (len % IRC_SASL_CHUNK == 0)
    {
      g_autofree gchar *shorter = plain_message ("", user, password);
      if (strlen (shorter) % IRC_SASL_CHUNK != 0)
        {
          explicit_bzero (encoded, len);
          g_free (encoded);
          encoded = g_steal_pointer (&shorter);
          len = strlen (encoded);
        }
      else
        explicit_bzero (shorter, strlen (shorter));
    }
  for (gsize off = 0; off < len; off += IRC_SASL_CHUNK)
    send_line (self, "AUTHENTICATE %.*s", (int) MIN (IRC_SASL_CHUNK, len - off), encoded + off);
  if (len % IRC_SASL_CHUNK == 0)
    send_line (self, "AUTHENTICATE +");
  self->sasl = SASL_SENT;
  explicit_bzero (encoded, len);
}

static void
send_registration (CwIrcAdapter *self)
{
  const gchar *user = cw_integration_config_get_string (self->config, "username");

  send_line (self, "NICK %s", self->nick);
  send_line (self, "USER %s 0 * :Cowork", user != NULL ? user : self->nick);
}

/* A password is set but the server cannot log the account in: refuse rather than join as
 * anybody (and never hand the account's password to the server as PASS). */
static void
refuse_without_sasl (CwIrcAdapter *self, const gchar *why)
{
  fail_connect (self, g_error_new (CW_ERROR, CW_ERROR_NOT_SUPPORTED,
                                   "the IRC server %s, so the account %s cannot log in; Cowork "
                                   "does not connect unauthenticated while a password is set "
                                   "(remove the password to connect without an account)",
                                   why, sasl_account (self)));
}

static gboolean
mech_listed (const gchar *mechs, const gchar *mech)
{
  g_auto (GStrv) list = g_strsplit (mechs, ",", -1);

  return g_strv_contains ((const gchar *const *) list, mech);
}

static void
handle_cap_ls (CwIrcAdapter *self, IrcMessage *m)
{
  /* "CAP * LS * :…" means more lines follow. */
  gboolean more = m->params->len >= 4 && g_strcmp0 (param (m, 2), "*") == 0;
  g_auto (GStrv) caps = g_strsplit (param (m, m->params->len - 1), " ", -1);

  for (guint i = 0; caps[i] != NULL; i++)
    if (g_str_equal (caps[i], "sasl") || g_str_has_prefix (caps[i], "sasl="))
      {
        self->sasl_offered = TRUE;
        g_free (self->sasl_mechs);
        self->sasl_mechs = caps[i][4] == '=' ? g_strdup (caps[i] + 5) : NULL;
      }
  if (more)
    return;
  if (!self->sasl_offered)
    refuse_without_sasl (self, "does not offer SASL");
  else if (self->sasl_mechs != NULL && !mech_listed (self->sasl_mechs, "PLAIN"))
    {
      g_autofree gchar *why
          = g_strdup_printf ("offers SASL only as %s, not PLAIN", self->sasl_mechs);
      refuse_without_sasl (self, why);
    }
  else
    {
      self->sasl = SASL_REQ;
      send_line (self, "CAP REQ :sasl");
    }
}

static void
handle_cap (CwIrcAdapter *self, IrcMessage *m)
{
  const gchar *sub = param (m, 1);
  const gchar *list = param (m, m->params->len - 1);

  /* Only the negotiation before the welcome; later NEW/DEL (cap-notify) change nothing. */
  if (self->state != IRC_REGISTERING || list == NULL)
    return;
  if (g_strcmp0 (sub, "LS") == 0 && self->sasl == SASL_LS)
    handle_cap_ls (self, m);
  else if (g_strcmp0 (sub, "ACK") == 0 && self->sasl == SASL_REQ)
    {
      g_auto (GStrv) caps = g_strsplit (list, " ", -1);
      if (!g_strv_contains ((const gchar *const *) caps, "sasl"))
        return;
      self->sasl = SASL_STARTED;
      send_line (self, "AUTHENTICATE PLAIN");
    }
  else if (g_strcmp0 (sub, "NAK") == 0 && self->sasl == SASL_REQ)
    refuse_without_sasl (self, "refused the sasl capability");
}

static void
sasl_done (CwIrcAdapter *self)
{
  self->sasl = SASL_DONE;
  send_line (self, "CAP END");
  send_registration (self);
}

static void
sasl_failed (CwIrcAdapter *self, IrcMessage *m)
{
  gboolean refused = g_str_equal (m->command, "904") || g_str_equal (m->command, "902");

  fail_connect (self, g_error_new (CW_ERROR, refused ? CW_ERROR_UNAUTHORIZED : CW_ERROR_FAILED,
                                   "the IRC server refused the SASL PLAIN login of the account "
                                   "%s (%s: %s)%s%s",
                                   sasl_account (self), m->command, param (m, m->params->len - 1),
                                   self->sasl_mechs != NULL ? "; it offers " : "",
                                   self->sasl_mechs != NULL ? self->sasl_mechs : ""));
}

/* ---- inbound -------------------------------------------------------------------------------- */

static gboolean
is_nick_char (gunichar c)
{
  return g_unichar_isalnum (c) || strchr ("-_[]\\`^{}|", (gint) c) != NULL;
}

/* The text without its address to the bot, or NULL when it does not mention the nick. */
static gchar *
addressed_text (const gchar *nick, const gchar *text)
{
  gsize n = strlen (nick);
  const gchar *p = text;

  while (*p != '\0')
    {
      if (g_ascii_strncasecmp (p, nick, n) == 0
          && (p == text || !is_nick_char (g_utf8_get_char (g_utf8_prev_char (p))))
          && !is_nick_char (g_utf8_get_char (p + n)))
        {
          if (p == text && (p[n] == ':' || p[n] == ','))
            return g_strchug (g_strdup (p + n + 1));
          return g_strdup (text);
        }
      p = g_utf8_next_char (p);
    }
  return NULL;
}

static void
handle_privmsg (CwIrcAdapter *self, IrcMessage *m)
{
  const gchar *target = param (m, 0);
  const gchar *text = param (m, 1);
  g_autofree gchar *sender = NULL;
  g_autofree gchar *body = NULL;
  g_autofree gchar *msgid = NULL;
  g_autoptr (GError) error = NULL;
  CwIntegrationInbound in = { 0 };
  gboolean private_message, duplicate;

  if (m->prefix == NULL || target == NULL || text == NULL)
    return;
  sender = g_strndup (m->prefix, strcspn (m->prefix, "!@"));
  if (g_ascii_strcasecmp (sender, self->nick) == 0 || g_str_has_prefix (text, "\001"))
    return; /* our own echo, CTCP */
  private_message = g_ascii_strcasecmp (target, self->nick) == 0;
  body = private_message ? g_strdup (text) : addressed_text (self->nick, text);
  if (body == NULL)
    return;
  msgid = tag_value (m->tags, "msgid");
  if (msgid == NULL)
    msgid = cw_make_id ("irc");
  in.message_id = msgid;
  in.chat_id = private_message ? sender : target;
  in.chat_title = in.chat_id;
  in.sender_id = sender;
  in.sender_name = sender;
  in.text = body;
  if (!cw_integration_adapter_receive (CW_INTEGRATION_ADAPTER (self), &in, &duplicate, &error))
    g_warning ("irc: a message from %s is lost: %s", sender, error->message);
}

static void
handle_pong (CwIrcAdapter *self, IrcMessage *m)
{
  GTask *task;

  if (self->health_task == NULL || g_strcmp0 (param (m, m->params->len - 1), self->ping_token) != 0)
    return;
  g_clear_handle_id (&self->ping_timeout, g_source_remove);
  task = g_steal_pointer (&self->health_task);
  g_task_return_boolean (task, TRUE);
  g_object_unref (task);
}

static void
handle_line (CwIrcAdapter *self, const gchar *line)
{
  g_autoptr (IrcMessage) m = irc_parse (line);
  const gchar *c = m->command;

  if (self->state == IRC_READY)
    cw_integration_adapter_report_round_trip (CW_INTEGRATION_ADAPTER (self));
  if (g_str_equal (c, "PING"))
    send_line (self, "PONG :%s", param (m, 0) != NULL ? param (m, 0) : "");
  else if (g_str_equal (c, "PONG"))
    handle_pong (self, m);
  else if (g_str_equal (c, "CAP"))
    handle_cap (self, m);
  else if (g_str_equal (c, "AUTHENTICATE") && g_strcmp0 (param (m, 0), "+") == 0
           && self->sasl == SASL_STARTED)
    sasl_plain (self);
  else if ((g_str_equal (c, "903") || g_str_equal (c, "907")) && self->sasl == SASL_SENT)
    sasl_done (self);
  else if (g_str_equal (c, "908") && param (m, 1) != NULL)
    {
      g_free (self->sasl_mechs);
      self->sasl_mechs = g_strdup (param (m, 1));
    }
  else if ((g_str_equal (c, "902") || g_str_equal (c, "904") || g_str_equal (c, "905")
            || g_str_equal (c, "906"))
           && self->sasl != SASL_NONE && self->sasl != SASL_DONE)
    sasl_failed (self, m);
  else if (g_str_equal (c, "001") && self->sasl != SASL_NONE && self->sasl != SASL_DONE)
    refuse_without_sasl (self, "registered the bot before the SASL login finished");
  else if (g_str_equal (c, "001"))
    registered (self, m);
  else if (g_str_equal (c, "433") && self->state == IRC_REGISTERING)
    {
      if (++self->nick_tries > 3)
        fail_connect (self,
                      g_error_new (CW_ERROR, CW_ERROR_EXISTS, "IRC nick %s is in use", self->nick));
      else
        {
          gchar *next = g_strconcat (self->nick, "_", NULL);
          g_free (self->nick);
          self->nick = next;
          send_line (self, "NICK %s", self->nick);
        }
    }
  else if ((g_str_equal (c, "421") || g_str_equal (c, "451"))
           && g_strcmp0 (param (m, 1), "CAP") == 0 && self->sasl == SASL_LS)
    refuse_without_sasl (self, "does not know capability negotiation (CAP), hence no SASL");
  else if (g_str_equal (c, "464"))
    fail_connect (self, g_error_new (CW_ERROR, CW_ERROR_UNAUTHORIZED,
                                     "the IRC server asks for a server password (464: %s)",
                                     param (m, m->params->len - 1)));
  else if (g_str_equal (c, "ERROR"))
    lost (self, param (m, 0) != NULL ? param (m, 0) : "the IRC server closed the connection");
  else if (g_str_equal (c, "PRIVMSG") && self->state == IRC_READY)
    handle_privmsg (self, m);
}

static void
on_line (GObject *source, GAsyncResult *result, gpointer user_data)
{
  CwIrcAdapter *self = user_data;
  g_autoptr (GError) error = NULL;
  gsize len;
  g_autofree gchar *line = g_data_input_stream_read_line_finish_utf8 (G_DATA_INPUT_STREAM (source),
                                                                      result, &len, &error);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) || self->input == NULL)
    {
      g_object_unref (self);
      return;
    }
  if (line == NULL && error != NULL
      && g_error_matches (error, G_CONVERT_ERROR, G_CONVERT_ERROR_ILLEGAL_SEQUENCE))
    {
      read_next (self); /* a line that is not UTF-8: skipped */
      g_object_unref (self);
      return;
    }
  if (line == NULL)
    {
      lost (self, error != NULL ? error->message : "the IRC server closed the connection");
      g_object_unref (self);
      return;
    }
  g_strchomp (line);
  handle_line (self, line);
  if (self->input != NULL)
    read_next (self);
  g_object_unref (self);
}

static void
read_next (CwIrcAdapter *self)
{
  g_data_input_stream_read_line_async (self->input, G_PRIORITY_DEFAULT, self->cancellable, on_line,
                                       g_object_ref (self));
}

static gboolean
on_register_timeout (gpointer user_data)
{
  CwIrcAdapter *self = user_data;

  self->register_timeout = 0;
  fail_connect (self,
                g_error_new (CW_ERROR, CW_ERROR_FAILED,
                             "the IRC server did not register us in %u s", IRC_PING_TIMEOUT_S));
  return G_SOURCE_REMOVE;
}

static void
start_session (CwIrcAdapter *self, GIOStream *stream)
{
  self->stream = stream;
  self->input = g_data_input_stream_new (g_io_stream_get_input_stream (stream));
  g_data_input_stream_set_newline_type (self->input, G_DATA_STREAM_NEWLINE_TYPE_ANY);
  self->output = g_object_ref (g_io_stream_get_output_stream (stream));
  self->state = IRC_REGISTERING;
  self->register_timeout = g_timeout_add_seconds (IRC_PING_TIMEOUT_S, on_register_timeout, self);
  /* With an account, NICK and USER wait for the SASL login (CAP holds the registration
   * anyway, and a server without CAP must not register us before we can refuse). */
  if (cw_integration_config_get_string (self->config, "password") != NULL)
    {
      self->sasl = SASL_LS;
      send_line (self, "CAP LS 302");
    }
  else
    send_registration (self);
  read_next (self);
}

static void
on_handshake (GObject *source, GAsyncResult *result, gpointer user_data)
{
  CwIrcAdapter *self = user_data;
  GError *error = NULL;

  if (!g_tls_connection_handshake_finish (G_TLS_CONNECTION (source), result, &error))
    {
      g_prefix_error (&error, "TLS with the IRC server failed: ");
      g_object_unref (source);
      fail_connect (self, error);
    }
  else
    start_session (self, G_IO_STREAM (source));
  g_object_unref (self);
}

static void
on_connected (GObject *source, GAsyncResult *result, gpointer user_data)
{
  CwIrcAdapter *self = user_data;
  GError *error = NULL;
  g_autoptr (GSocketConnection) conn
      = g_socket_client_connect_to_host_finish (G_SOCKET_CLIENT (source), result, &error);
  const gchar *ca = cw_integration_config_get_string (self->config, "tlsCaFile");
  GIOStream *tls;

  if (conn == NULL)
    {
      g_prefix_error (&error, "cannot reach the IRC server: ");
      fail_connect (self, error);
      g_object_unref (self);
      return;
    }
  if (!cw_integration_config_get_boolean (self->config, "tls", TRUE))
    {
      start_session (self, G_IO_STREAM (g_steal_pointer (&conn)));
      g_object_unref (self);
      return;
    }
  {
    g_autoptr (GSocketConnectable) identity = g_network_address_new (
        cw_integration_config_get_string (self->config, "server"),
        (guint16) cw_integration_config_get_int (self->config, "port", 6697));
    tls = g_tls_client_connection_new (G_IO_STREAM (conn), identity, &error);
  }
  if (tls != NULL && ca != NULL)
    {
      g_autoptr (GTlsDatabase) db = g_tls_file_database_new (ca, &error);
      if (db == NULL)
        g_clear_object (&tls);
      else
        g_tls_connection_set_database (G_TLS_CONNECTION (tls), db);
    }
  if (tls == NULL)
    {
      g_prefix_error (&error, "TLS with the IRC server failed: ");
      fail_connect (self, error);
      g_object_unref (self);
      return;
    }
  g_tls_connection_handshake_async (G_TLS_CONNECTION (tls), G_PRIORITY_DEFAULT, self->cancellable,
                                    on_handshake, self);
}

static void
close_connection (CwIrcAdapter *self)
{
  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->input);
  g_clear_object (&self->output);
  if (self->stream != NULL)
    g_io_stream_close (self->stream, NULL, NULL);
  g_clear_object (&self->stream);
  cw_line_writer_reset (&self->writer, FALSE);
  self->state = IRC_IDLE;
}

static void
cw_irc_adapter_connect_async (CwIntegrationAdapter *adapter, JsonObject *config,
                              GCancellable *cancellable, GAsyncReadyCallback callback,
                              gpointer user_data)
{
  CwIrcAdapter *self = CW_IRC_ADAPTER (adapter);
  g_autoptr (GSocketClient) client = g_socket_client_new ();

  close_connection (self);
  g_clear_pointer (&self->config, json_object_unref);
  self->config = json_object_ref (config);
  g_free (self->nick);
  self->nick = g_strdup (cw_integration_config_get_string (config, "nick"));
  self->nick_tries = 0;
  self->sasl = SASL_NONE;
  self->sasl_offered = FALSE;
  g_clear_pointer (&self->sasl_mechs, g_free);
  self->cancellable = g_cancellable_new ();
  if (cancellable != NULL)
    g_cancellable_connect (cancellable, G_CALLBACK (g_cancellable_cancel),
                           g_object_ref (self->cancellable), g_object_unref);
  self->connect_task = g_task_new (self, cancellable, callback, user_data);
  g_socket_client_set_timeout (client, 30);
  g_socket_client_connect_to_host_async (
      client, cw_integration_config_get_string (config, "server"),
      (guint16) cw_integration_config_get_int (config, "port", 6697), self->cancellable,
      on_connected, g_object_ref (self));
}

static gboolean
cw_irc_adapter_connect_finish (CwIntegrationAdapter *adapter, GAsyncResult *result, GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
cw_irc_adapter_disconnect (CwIntegrationAdapter *adapter)
{
  CwIrcAdapter *self = CW_IRC_ADAPTER (adapter);

  if (self->output != NULL && self->state == IRC_READY)
    {
      /* Best effort, without waiting: the socket closes right after. */
      const gchar quit[] = "QUIT :Cowork is going away\r\n";
      g_pollable_output_stream_write_nonblocking (G_POLLABLE_OUTPUT_STREAM (self->output), quit,
                                                  sizeof quit - 1, NULL, NULL);
    }
  if (self->connect_task != NULL)
    fail_connect (self, g_error_new (G_IO_ERROR, G_IO_ERROR_CANCELLED, "disconnected"));
  if (self->health_task != NULL)
    {
      GTask *task = g_steal_pointer (&self->health_task);
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CANCELLED, "disconnected");
      g_object_unref (task);
    }
  g_clear_handle_id (&self->ping_timeout, g_source_remove);
  close_connection (self);
}

/* ---- send, health ------------------------------------------------------------------------ */

static void
cw_irc_adapter_send_async (CwIntegrationAdapter *adapter, const CwIntegrationOutbound *message,
                           GCancellable *cancellable, GAsyncReadyCallback callback,
                           gpointer user_data)
{
  CwIrcAdapter *self = CW_IRC_ADAPTER (adapter);
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);
  g_auto (GStrv) lines = NULL;

  if (self->state != IRC_READY)
    {
      g_task_return_new_error (task, CW_ERROR, CW_ERROR_FAILED, "not connected to IRC");
      return;
    }
  lines = g_strsplit (message->text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      const gchar *p = g_strchomp (lines[i]);
      while (*p != '\0')
        {
          const gchar *end = p;
          while (*end != '\0' && end - p < IRC_LINE_MAX)
            {
              const gchar *next = g_utf8_next_char (end);
              if (next - p > IRC_LINE_MAX)
                break;
              end = next;
            }
          send_line (self, "PRIVMSG %s :%.*s", message->chat_id, (int) (end - p), p);
          p = end;
        }
    }
  g_task_return_pointer (task, g_strdup (""), g_free);
}

static gchar *
cw_irc_adapter_send_finish (CwIntegrationAdapter *adapter, GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

static gboolean
on_ping_timeout (gpointer user_data)
{
  CwIrcAdapter *self = user_data;
  GTask *task = g_steal_pointer (&self->health_task);

  self->ping_timeout = 0;
  if (task != NULL)
    {
      g_task_return_new_error (task, CW_ERROR, CW_ERROR_FAILED,
                               "the IRC server did not answer a PING in %u s", IRC_PING_TIMEOUT_S);
      g_object_unref (task);
    }
  return G_SOURCE_REMOVE;
}

static void
cw_irc_adapter_check_health_async (CwIntegrationAdapter *adapter, GCancellable *cancellable,
                                   GAsyncReadyCallback callback, gpointer user_data)
{
  CwIrcAdapter *self = CW_IRC_ADAPTER (adapter);
  GTask *task = g_task_new (self, cancellable, callback, user_data);

  if (self->state != IRC_READY || self->health_task != NULL)
    {
      g_task_return_new_error (task, CW_ERROR, CW_ERROR_FAILED, "not connected to IRC");
      g_object_unref (task);
      return;
    }
  self->health_task = task;
  g_free (self->ping_token);
  self->ping_token = cw_random_hex (8);
  self->ping_timeout = g_timeout_add_seconds (IRC_PING_TIMEOUT_S, on_ping_timeout, self);
  send_line (self, "PING :%s", self->ping_token);
}

static gboolean
cw_irc_adapter_check_health_finish (CwIntegrationAdapter *adapter, GAsyncResult *result,
                                    gboolean *requires_reconnect, GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
cw_irc_adapter_update_config (CwIntegrationAdapter *adapter, JsonObject *config)
{
  CwIrcAdapter *self = CW_IRC_ADAPTER (adapter);
  g_autoptr (JsonObject) old = g_steal_pointer (&self->config);

  self->config = json_object_ref (config);
  if (self->state == IRC_READY)
    join_channels (self); /* new channels; joining one again is harmless */
}

static void
cw_irc_adapter_finalize (GObject *object)
{
  CwIrcAdapter *self = CW_IRC_ADAPTER (object);

  cw_irc_adapter_disconnect (CW_INTEGRATION_ADAPTER (self));
  g_clear_pointer (&self->config, json_object_unref);
  cw_line_writer_clear (&self->writer);
  g_free (self->nick);
  g_free (self->ping_token);
  g_free (self->sasl_mechs);
  G_OBJECT_CLASS (cw_irc_adapter_parent_class)->finalize (object);
}

static void
cw_irc_adapter_class_init (CwIrcAdapterClass *klass)
{
  CwIntegrationAdapterClass *adapter_class = CW_INTEGRATION_ADAPTER_CLASS (klass);

  G_OBJECT_CLASS (klass)->finalize = cw_irc_adapter_finalize;
  adapter_class->caps = CW_INTEGRATION_CAP_NONE;
  adapter_class->connect_async = cw_irc_adapter_connect_async;
  adapter_class->connect_finish = cw_irc_adapter_connect_finish;
  adapter_class->disconnect = cw_irc_adapter_disconnect;
  adapter_class->send_async = cw_irc_adapter_send_async;
  adapter_class->send_finish = cw_irc_adapter_send_finish;
  adapter_class->check_health_async = cw_irc_adapter_check_health_async;
  adapter_class->check_health_finish = cw_irc_adapter_check_health_finish;
  adapter_class->update_config = cw_irc_adapter_update_config;
}

static void
cw_irc_adapter_init (CwIrcAdapter *self)
{
  cw_line_writer_init (&self->writer, G_OBJECT (self), &self->output, &self->cancellable, "irc");
}
