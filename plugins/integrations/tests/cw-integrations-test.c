/* cw-integrations-test.c: see cw-integrations-test.h.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-integrations-test.h"

#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>

static gint64 t0;

gint64
integ_t0 (void)
{
  if (t0 == 0)
    t0 = cw_now_ms ();
  return t0;
}

AgentFixture *
integ_fixture_new (const gchar *script)
{
  AgentFixture *f = agent_fixture_new ();
  g_autofree gchar *home = g_build_filename (f->daemon->dir, "home", NULL);
  g_autofree gchar *clock = g_strdup_printf ("%" G_GINT64_FORMAT, integ_t0 ());

  g_assert_cmpint (g_mkdir_with_parents (home, 0700), ==, 0);
  cw_test_daemon_setenv (f->daemon, "HOME", home);
  cw_test_daemon_setenv (f->daemon, "COWORK_TEST_CLOCK", clock);
  cw_test_daemon_log_to_file (f->daemon);
  agent_fixture_start (f);
  if (!agent_fixture_start_llm (f, script))
    {
      agent_fixture_free (f);
      return NULL;
    }
  return f;
}

void
integ_load_media_plugin (AgentFixture *f)
{
  agent_fixture_stop (f, SIGTERM);
  cw_test_daemon_add_arg (f->daemon, "--plugin-dir");
  cw_test_daemon_add_arg (f->daemon, g_getenv ("CW_MEDIA_TEST_PLUGIN_DIR"));
  agent_fixture_start (f);
}

void
integ_set_clock (AgentFixture *f, gint64 now_ms)
{
  g_autoptr (JsonNode) r
      = integ_call (f, "test_clock_set", "{\"nowMs\":%" G_GINT64_FORMAT "}", now_ms);
}

JsonNode *
integ_call (AgentFixture *f, const gchar *command, const gchar *params_fmt, ...)
{
  g_autoptr (CwClient) client = cw_test_daemon_connect (f->daemon);
  g_autofree gchar *text = NULL;
  va_list ap;

  va_start (ap, params_fmt);
  text = params_fmt != NULL ? g_strdup_vprintf (params_fmt, ap) : NULL;
  va_end (ap);
  return cw_test_daemon_call (client, command, text);
}

JsonObject *
integ_wait_connected (AgentFixture *f, const gchar *platform, gboolean connected)
{
  gint64 deadline = g_get_monotonic_time () + 20 * G_TIME_SPAN_SECOND;

  for (;;)
    {
      g_autoptr (JsonNode) status
          = integ_call (f, "integration_get_status", "{\"platform\":\"%s\"}", platform);
      JsonObject *obj = cw_test_obj (status);
      if (json_object_get_boolean_member (obj, "connected") == connected)
        return json_object_ref (obj);
      if (g_get_monotonic_time () > deadline)
        g_error ("%s did not become %s in 20 s", platform,
                 connected ? "connected" : "disconnected");
      g_usleep (20000);
    }
}

guint
integ_llm_requests (AgentFixture *f)
{
  g_autoptr (GPtrArray) requests = agent_fixture_llm_requests (f);

  return requests->len;
}

void
integ_wait_llm_requests (AgentFixture *f, guint n)
{
  gint64 deadline = g_get_monotonic_time () + 20 * G_TIME_SPAN_SECOND;

  while (integ_llm_requests (f) < n)
    {
      if (g_get_monotonic_time () > deadline)
        g_error ("the fake LLM got fewer than %u requests in 20 s", n);
      g_usleep (20000);
    }
}

guint
integ_free_port (void)
{
  g_autoptr (GSocket) sock
      = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL);
  g_autoptr (GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) addr = g_inet_socket_address_new (lo, 0);
  g_autoptr (GSocketAddress) bound = NULL;
  g_autoptr (GError) error = NULL;

  g_assert_true (g_socket_bind (sock, addr, TRUE, &error));
  bound = g_socket_get_local_address (sock, &error);
  g_assert_no_error (error);
  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
}

void
integ_wait_port (guint port)
{
  gint64 deadline = g_get_monotonic_time () + 10 * G_TIME_SPAN_SECOND;

  for (;;)
    {
      g_autoptr (GSocketClient) client = g_socket_client_new ();
      g_autoptr (GSocketConnection) conn
          = g_socket_client_connect_to_host (client, "127.0.0.1", port, NULL, NULL);
      if (conn != NULL)
        return;
      if (g_get_monotonic_time () > deadline)
        g_error ("nothing listens on port %u after 10 s", port);
      g_usleep (20000);
    }
}

gchar *
integ_find_program (const gchar *name)
{
  g_autofree gchar *sbin = g_build_filename ("/usr/sbin", name, NULL);
  gchar *path = g_find_program_in_path (name);

  if (path == NULL && g_file_test (sbin, G_FILE_TEST_IS_EXECUTABLE))
    path = g_steal_pointer (&sbin);
  if (path == NULL)
    g_error ("%s is not installed (build-aux/debian-packages.txt lists its package)", name);
  return path;
}

void
integ_make_cert (const gchar *dir)
{
  g_autofree gchar *cert = g_build_filename (dir, "cert.pem", NULL);
  g_autofree gchar *key = g_build_filename (dir, "key.pem", NULL);
  g_autofree gchar *openssl = integ_find_program ("openssl");
  g_autoptr (GError) error = NULL;
  g_autoptr (GSubprocess) proc = g_subprocess_new (
      G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_SILENCE, &error, openssl, "req",
      "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1", "-addext",
      "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", key, "-out", cert, NULL);

  g_assert_no_error (error);
  g_assert_true (g_subprocess_wait_check (proc, NULL, &error));
  g_assert_no_error (error);
}

/* ---- ngircd ---------------------------------------------------------------------------------- */

GSubprocess *
integ_spawn_server (const gchar *const *argv, guint port, guint port2)
{
  g_autofree gchar *program = integ_find_program (argv[0]);
  g_autoptr (GPtrArray) args = g_ptr_array_new ();
  g_autoptr (GError) error = NULL;
  GSubprocess *proc;

  g_ptr_array_add (args, program);
  for (guint i = 1; argv[i] != NULL; i++)
    g_ptr_array_add (args, (gpointer) argv[i]);
  g_ptr_array_add (args, NULL);
  proc = g_subprocess_newv ((const gchar *const *) args->pdata,
                            G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_SILENCE,
                            &error);
  g_assert_no_error (error);
  integ_wait_port (port);
  if (port2 != 0)
    integ_wait_port (port2);
  return proc;
}

static void
irc_server_spawn (IrcServer *server)
{
  g_autofree gchar *conf = g_build_filename (server->dir, "ngircd.conf", NULL);
  const gchar *argv[] = { "ngircd", "--nodaemon", "--config", conf, NULL };

  server->proc = integ_spawn_server (argv, server->port, server->tls_port);
}

IrcServer *
irc_server_start (const gchar *dir, gboolean tls)
{
  IrcServer *server = g_new0 (IrcServer, 1);
  g_autofree gchar *conf = NULL;
  g_autofree gchar *motd = NULL;
  g_autoptr (GString) text = g_string_new (NULL);

  server->dir = g_build_filename (dir, "ngircd", NULL);
  g_assert_cmpint (g_mkdir_with_parents (server->dir, 0755), ==, 0);
  g_assert_cmpint (g_chmod (server->dir, 0755), ==, 0);
  server->port = integ_free_port ();
  conf = g_build_filename (server->dir, "ngircd.conf", NULL);
  motd = g_build_filename (server->dir, "motd", NULL);
  g_assert_true (g_file_set_contents (motd, "test\n", -1, NULL));
  g_string_append_printf (text,
                          "[Global]\nName = irc.test\nInfo = test\nListen = 127.0.0.1\n"
                          "Ports = %u\nMotdFile = %s\nPidFile = %s/ngircd.pid\n"
                          "[Limits]\nMaxConnectionsIP = 0\nMaxNickLength = 30\n"
                          "PingTimeout = 120\nPongTimeout = 20\n"
                          "[Options]\nPAM = no\nIdent = no\nDNS = no\n",
                          server->port, motd, server->dir);
  if (tls)
    {
      integ_make_cert (server->dir);
      server->tls_port = integ_free_port ();
      server->ca_file = g_build_filename (server->dir, "cert.pem", NULL);
      g_string_append_printf (text, "[SSL]\nCertFile = %s\nKeyFile = %s/key.pem\nPorts = %u\n",
                              server->ca_file, server->dir, server->tls_port);
    }
  g_assert_true (g_file_set_contents (conf, text->str, -1, NULL));
  irc_server_spawn (server);
  return server;
}

void
irc_server_stop (IrcServer *server)
{
  if (server->proc == NULL)
    return;
  g_subprocess_send_signal (server->proc, SIGTERM);
  g_subprocess_wait (server->proc, NULL, NULL);
  g_clear_object (&server->proc);
}

void
irc_server_restart (IrcServer *server)
{
  irc_server_stop (server);
  irc_server_spawn (server);
}

void
irc_server_free (IrcServer *server)
{
  irc_server_stop (server);
  g_free (server->dir);
  g_free (server->ca_file);
  g_free (server);
}

/* ---- a person's IRC client ---------------------------------------------------------------- */

void
irc_client_send (IrcClient *client, const gchar *format, ...)
{
  g_autofree gchar *line = NULL;
  g_autoptr (GError) error = NULL;
  va_list ap;

  va_start (ap, format);
  line = g_strdup_vprintf (format, ap);
  va_end (ap);
  g_assert_true (g_output_stream_printf (client->out, NULL, NULL, &error, "%s\r\n", line));
  g_assert_no_error (error);
}

/* The next line, or NULL when @deadline (monotonic) passed. */
static gchar *
read_line (IrcClient *client, gint64 deadline)
{
  for (;;)
    {
      g_autoptr (GError) error = NULL;
      gsize len;
      gchar *line = g_data_input_stream_read_line (client->in, &len, NULL, &error);

      if (line != NULL)
        {
          g_strchomp (line);
          if (g_str_has_prefix (line, "PING "))
            {
              irc_client_send (client, "PONG %s", line + 5);
              g_free (line);
              continue;
            }
          return line;
        }
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
        g_error ("IRC client %s: %s", client->nick,
                 error != NULL ? error->message : "the server closed the connection");
      if (g_get_monotonic_time () > deadline)
        return NULL;
    }
}

IrcClient *
irc_client_new (guint port, const gchar *nick)
{
  IrcClient *client = g_new0 (IrcClient, 1);
  g_autoptr (GSocketClient) sc = g_socket_client_new ();
  g_autoptr (GError) error = NULL;
  gint64 deadline = g_get_monotonic_time () + 10 * G_TIME_SPAN_SECOND;

  client->nick = g_strdup (nick);
  client->conn = g_socket_client_connect_to_host (sc, "127.0.0.1", port, NULL, &error);
  g_assert_no_error (error);
  g_socket_set_timeout (g_socket_connection_get_socket (client->conn), 1);
  client->in = g_data_input_stream_new (g_io_stream_get_input_stream (G_IO_STREAM (client->conn)));
  g_data_input_stream_set_newline_type (client->in, G_DATA_STREAM_NEWLINE_TYPE_ANY);
  client->out = g_io_stream_get_output_stream (G_IO_STREAM (client->conn));
  irc_client_send (client, "NICK %s", nick);
  irc_client_send (client, "USER %s 0 * :%s", nick, nick);
  for (;;)
    {
      g_autofree gchar *line = read_line (client, deadline);
      g_assert_nonnull (line);
      if (strstr (line, " 001 ") != NULL)
        break;
    }
  return client;
}

void
irc_client_free (IrcClient *client)
{
  if (client->conn != NULL)
    g_io_stream_close (G_IO_STREAM (client->conn), NULL, NULL);
  g_clear_object (&client->in);
  g_clear_object (&client->conn);
  g_free (client->nick);
  g_free (client);
}

gchar *
irc_client_read_line (IrcClient *client, guint timeout_ms)
{
  return read_line (client, g_get_monotonic_time () + (gint64) timeout_ms * 1000);
}

gchar *
irc_client_expect_line (IrcClient *client, const gchar *text, guint timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;

  for (;;)
    {
      gchar *line = read_line (client, deadline);
      if (line == NULL)
        g_error ("%s: no line with \"%s\" within %u ms", client->nick, text, timeout_ms);
      if (strstr (line, text) != NULL)
        return line;
      g_free (line);
    }
}

void
irc_client_join (IrcClient *client, const gchar *channel)
{
  gint64 deadline = g_get_monotonic_time () + 10 * G_TIME_SPAN_SECOND;
  g_autofree gchar *names_end = g_strdup_printf (" 366 %s %s ", client->nick, channel);

  irc_client_send (client, "JOIN %s", channel);
  for (;;)
    {
      g_autofree gchar *line = read_line (client, deadline);
      g_assert_nonnull (line);
      if (strstr (line, names_end) != NULL)
        return;
    }
}

void
irc_client_wait_member (IrcClient *client, const gchar *channel, const gchar *nick)
{
  gint64 deadline = g_get_monotonic_time () + 20 * G_TIME_SPAN_SECOND;
  g_autofree gchar *names = g_strdup_printf (" 353 %s ", client->nick);

  for (;;)
    {
      gboolean found = FALSE;
      irc_client_send (client, "NAMES %s", channel);
      for (;;)
        {
          g_autofree gchar *line = read_line (client, deadline);
          g_auto (GStrv) words = NULL;
          g_assert_nonnull (line);
          if (strstr (line, " 366 ") != NULL)
            break;
          if (strstr (line, names) == NULL || strchr (line + 1, ':') == NULL)
            continue;
          words = g_strsplit (strchr (line + 1, ':') + 1, " ", -1);
          for (guint i = 0; words[i] != NULL; i++)
            if (g_str_equal (words[i] + strspn (words[i], "@+"), nick))
              found = TRUE;
        }
      if (found)
        return;
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (100000);
    }
}

/* A PRIVMSG line from @from: its text, *target where it went. */
static gchar *
privmsg_from (const gchar *line, const gchar *from, gchar **target)
{
  g_autofree gchar *prefix = g_strdup_printf (":%s!", from);
  const gchar *p, *colon;

  if (!g_str_has_prefix (line, prefix) || (p = strstr (line, " PRIVMSG ")) == NULL)
    return NULL;
  p += strlen (" PRIVMSG ");
  colon = strstr (p, " :");
  if (colon == NULL)
    return NULL;
  if (target != NULL)
    *target = g_strndup (p, colon - p);
  return g_strdup (colon + 2);
}

gchar *
irc_client_expect (IrcClient *client, const gchar *from, gchar **target, guint timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;

  for (;;)
    {
      g_autofree gchar *line = read_line (client, deadline);
      gchar *text;
      if (line == NULL)
        g_error ("%s: no message from %s within %u ms", client->nick, from, timeout_ms);
      if ((text = privmsg_from (line, from, target)) != NULL)
        return text;
    }
}

void
irc_client_expect_none (IrcClient *client, const gchar *from, guint ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) ms * 1000;

  for (;;)
    {
      g_autofree gchar *line = read_line (client, deadline);
      g_autofree gchar *text = NULL;
      if (line == NULL)
        return;
      text = privmsg_from (line, from, NULL);
      if (text != NULL)
        g_error ("%s: unexpected message from %s: %s", client->nick, from, text);
    }
}

gchar *
integ_attached_path (const gchar *prompt, const gchar *type, const gchar *name)
{
  g_autofree gchar *marker = g_strdup_printf ("[Attached %s file \"%s\" at ", type, name);
  const gchar *start = strstr (prompt, marker);
  const gchar *end = start != NULL ? strchr (start + strlen (marker), ']') : NULL;

  return end != NULL ? g_strndup (start + strlen (marker), end - start - strlen (marker)) : NULL;
}

void
integ_assert_attached (const gchar *prompt, const gchar *type, const gchar *name,
                       const gchar *content, gsize length)
{
  g_autofree gchar *path = integ_attached_path (prompt, type, name);
  g_autofree gchar *have = NULL;
  gsize have_length;

  if (path == NULL)
    g_error ("no %s attachment \"%s\" in the prompt %s", type, name, prompt);
  g_assert_true (g_file_get_contents (path, &have, &have_length, NULL));
  g_assert_cmpmem (have, have_length, content, length);
}

const gchar *
integ_llm_last_content (GPtrArray *requests, guint n)
{
  JsonObject *body = json_object_get_object_member (g_ptr_array_index (requests, n), "body");
  JsonArray *messages = json_object_get_array_member (body, "messages");
  JsonObject *last = json_array_get_object_element (messages, json_array_get_length (messages) - 1);

  return json_object_get_string_member (last, "content");
}
