/* cw-irc-network-test.c: see cw-irc-network-test.h.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-irc-network-test.h"

#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#define LINK_PASSWORD "cowork-test-link"

static void
write_inspircd_conf (IrcNetwork *net)
{
  g_autofree gchar *conf = g_build_filename (net->dir, "inspircd.conf", NULL);
  g_autofree gchar *motd = g_build_filename (net->dir, "motd", NULL);
  g_autofree gchar *text = g_strdup_printf (
      "<server name=\"irc.test\" description=\"test\" network=\"Test\" id=\"001\">\n"
      "<admin name=\"test\" nick=\"test\" email=\"test@example.com\">\n"
      "<bind address=\"127.0.0.1\" port=\"%1$u\" type=\"clients\">\n"
      "<bind address=\"127.0.0.1\" port=\"%2$u\" type=\"clients\" sslprofile=\"Clients\">\n"
      "<bind address=\"127.0.0.1\" port=\"%3$u\" type=\"servers\">\n"
      "<connect allow=\"*\" timeout=\"60\" pingfreq=\"120\" localmax=\"1000\" "
      "globalmax=\"1000\" threshold=\"1000\" limit=\"1000\" commandrate=\"100000\" "
      "fakelag=\"off\" resolvehostnames=\"no\" useident=\"no\">\n"
      "<module name=\"spanningtree\">\n<module name=\"cap\">\n<module name=\"ircv3\">\n"
      "<module name=\"sasl\">\n<module name=\"services_account\">\n"
      "<module name=\"ssl_gnutls\">\n"
      "<sslprofile name=\"Clients\" provider=\"gnutls\" certfile=\"%4$s/cert.pem\" "
      "keyfile=\"%4$s/key.pem\" requestclientcert=\"no\">\n"
      "<link name=\"services.test\" ipaddr=\"127.0.0.1\" port=\"%3$u\" "
      "allowmask=\"127.0.0.0/8\" sendpass=\"" LINK_PASSWORD "\" recvpass=\"" LINK_PASSWORD "\">\n"
      "<uline server=\"services.test\" silent=\"yes\">\n"
      "<sasl target=\"services.test\">\n"
      "<dns server=\"127.0.0.1\" timeout=\"1\">\n"
      "<pid file=\"%4$s/inspircd.pid\">\n"
      "<log method=\"file\" type=\"* -USERINPUT -USEROUTPUT\" level=\"default\" "
      "target=\"%4$s/inspircd.log\">\n"
      "<files motd=\"%5$s\">\n",
      net->port, net->tls_port, net->link_port, net->dir, motd);

  g_assert_true (g_file_set_contents (motd, "test\n", -1, NULL));
  g_assert_true (g_file_set_contents (conf, text, -1, NULL));
}

static void
write_atheme_conf (IrcNetwork *net)
{
  g_autofree gchar *conf = g_build_filename (net->dir, "atheme.conf", NULL);
  g_autofree gchar *text = g_strdup_printf (
      "loadmodule \"modules/protocol/inspircd\";\n"
      "loadmodule \"modules/backend/opensex\";\n"
      "loadmodule \"modules/crypto/pbkdf2v2\";\n"
      "loadmodule \"modules/nickserv/main\";\n"
      "loadmodule \"modules/nickserv/register\";\n"
      "loadmodule \"modules/nickserv/identify\";\n"
      "loadmodule \"modules/nickserv/set_core\";\n"
      "loadmodule \"modules/nickserv/set_password\";\n"
      "loadmodule \"modules/saslserv/main\";\n"
      "loadmodule \"modules/saslserv/plain\";\n"
      "serverinfo {\n name = \"services.test\"; desc = \"Atheme\"; numeric = \"00A\";\n"
      " recontime = 1; netname = \"Test\"; hidehostsuffix = \"users.test\";\n"
      " adminname = \"test\"; adminemail = \"test@example.com\";\n"
      " registeremail = \"noreply@example.com\"; loglevel = { error; info; admin; network; };\n"
      " maxlogins = 10; maxusers = 10; mdlimit = 30; emaillimit = 10; emailtime = 300;\n"
      " auth = none; casemapping = rfc1459;\n};\n"
      "uplink \"irc.test\" {\n host = \"127.0.0.1\"; port = %u;\n"
      " send_password = \"" LINK_PASSWORD "\"; receive_password = \"" LINK_PASSWORD "\";\n};\n"
      "nickserv {\n nick = \"NickServ\"; user = \"NickServ\"; host = \"services.test\";\n"
      " real = \"Nickname Services\"; maxnicks = 5; expire = 30;\n};\n"
      "saslserv {\n nick = \"SaslServ\"; user = \"SaslServ\"; host = \"services.test\";\n"
      " real = \"SASL Authentication Agent\";\n};\n"
      "logfile \"%s/atheme.log\" { all; };\n"
      "general {\n helpchan = \"#help\"; flood_msgs = 0; flood_time = 10;\n"
      " ratelimit_uses = 1000; ratelimit_period = 60; kline_time = 7; commit_interval = 5;\n};\n",
      net->link_port, net->dir);

  g_assert_true (g_file_set_contents (conf, text, -1, NULL));
}

/* Whether CAP LS on the plain port offers sasl (inspircd does once the services linked). */
static gboolean
offers_sasl (IrcNetwork *net)
{
  g_autoptr (GSocketClient) sc = g_socket_client_new ();
  g_autoptr (GSocketConnection) conn = NULL;
  g_autoptr (GDataInputStream) in = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree gchar *line = NULL;
  const gchar ls[] = "CAP LS 302\r\n";

  conn = g_socket_client_connect_to_host (sc, "127.0.0.1", net->port, NULL, &error);
  g_assert_no_error (error);
  g_socket_set_timeout (g_socket_connection_get_socket (conn), 5);
  g_assert_true (g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (conn)), ls,
                                            sizeof ls - 1, NULL, NULL, &error));
  in = g_data_input_stream_new (g_io_stream_get_input_stream (G_IO_STREAM (conn)));
  /* Notices may come first; LS fits one line here. */
  while (line == NULL || strstr (line, " CAP * LS ") == NULL)
    {
      g_free (line);
      line = g_data_input_stream_read_line (in, NULL, NULL, &error);
      g_assert_no_error (error);
      g_assert_nonnull (line);
    }
  return strstr (line, " sasl") != NULL;
}

static void
wait_linked (IrcNetwork *net)
{
  gint64 deadline = g_get_monotonic_time () + 20 * G_TIME_SPAN_SECOND;

  while (!offers_sasl (net))
    {
      if (g_get_monotonic_time () > deadline)
        g_error ("inspircd does not offer sasl after 20 s: atheme did not link");
      g_usleep (50000);
    }
}

/* A daemon left behind by a failed test would hold its ports and directory. */
static void
die_with_parent (gpointer data)
{
  prctl (PR_SET_PDEATHSIG, SIGTERM);
}

static GSubprocess *
spawn (const gchar *const *argv)
{
  g_autoptr (GSubprocessLauncher) launcher = g_subprocess_launcher_new (
      G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  g_autoptr (GError) error = NULL;
  GSubprocess *proc;

  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
  proc = g_subprocess_launcher_spawnv (launcher, argv, &error);
  g_assert_no_error (error);
  return proc;
}

static void
spawn_ircd (IrcNetwork *net)
{
  g_autofree gchar *inspircd = integ_find_program ("inspircd");
  g_autofree gchar *conf = g_build_filename (net->dir, "inspircd.conf", NULL);
  /* inspircd refuses root unless told; the tests may run as root in a container. */
  const gchar *argv[] = {
    inspircd, "--nofork", "--config", conf, getuid () == 0 ? "--runasroot" : NULL, NULL,
  };

  net->ircd = spawn (argv);
  integ_wait_port (net->port);
  integ_wait_port (net->tls_port);
}

static void
spawn_services (IrcNetwork *net)
{
  g_autofree gchar *atheme = integ_find_program ("atheme-services");
  g_autofree gchar *conf = g_build_filename (net->dir, "atheme.conf", NULL);
  g_autofree gchar *log = g_build_filename (net->dir, "atheme.log", NULL);
  g_autofree gchar *pid = g_build_filename (net->dir, "atheme.pid", NULL);
  /* -n: in the foreground; -D: its database (services.db) in our directory. */
  const gchar *argv[] = { atheme, "-n", "-c", conf, "-D", net->dir, "-l", log, "-p", pid, NULL };

  net->services = spawn (argv);
  wait_linked (net);
}

IrcNetwork *
irc_network_start (const gchar *dir, gboolean services)
{
  IrcNetwork *net = g_new0 (IrcNetwork, 1);

  net->dir = g_build_filename (dir, "ircnet", NULL);
  g_assert_cmpint (g_mkdir_with_parents (net->dir, 0700), ==, 0);
  net->port = integ_free_port ();
  net->tls_port = integ_free_port ();
  net->link_port = integ_free_port ();
  integ_make_cert (net->dir);
  net->ca_file = g_build_filename (net->dir, "cert.pem", NULL);
  write_inspircd_conf (net);
  write_atheme_conf (net);
  spawn_ircd (net);
  if (services)
    spawn_services (net);
  else
    g_assert_false (offers_sasl (net));
  return net;
}

static void
stop (GSubprocess **proc)
{
  if (*proc == NULL)
    return;
  g_subprocess_send_signal (*proc, SIGTERM);
  g_subprocess_wait (*proc, NULL, NULL);
  g_clear_object (proc);
}

void
irc_network_restart_ircd (IrcNetwork *net)
{
  stop (&net->ircd);
  spawn_ircd (net);
  wait_linked (net);
}

void
irc_network_free (IrcNetwork *net)
{
  stop (&net->services);
  stop (&net->ircd);
  g_free (net->dir);
  g_free (net->ca_file);
  g_free (net);
}

/* Sends @command to NickServ, then an unknown command, and returns NickServ's notices up to
 * its "Invalid command" for that one (atheme answers in order, so these are @command's). */
static GPtrArray *
nickserv (IrcClient *client, const gchar *command)
{
  GPtrArray *notices = g_ptr_array_new_with_free_func (g_free);
  const gchar *from = ":NickServ!NickServ@services.test NOTICE ";

  irc_client_send (client, "PRIVMSG NickServ :%s", command);
  irc_client_send (client, "PRIVMSG NickServ :COWORKSYNC");
  for (;;)
    {
      g_autofree gchar *line = irc_client_read_line (client, 10000);
      const gchar *text;
      if (line == NULL)
        g_error ("NickServ did not answer %s within 10 s", command);
      if (!g_str_has_prefix (line, from) || (text = strstr (line, " :")) == NULL)
        continue;
      if (g_str_has_prefix (text, " :Invalid command."))
        return notices;
      g_ptr_array_add (notices, g_strdup (text + 2));
    }
}

static void
quit (IrcClient *client)
{
  irc_client_send (client, "QUIT :done");
  g_free (irc_client_expect_line (client, "ERROR :", 10000));
  irc_client_free (client);
}

void
irc_network_register (IrcNetwork *net, const gchar *account, const gchar *password)
{
  IrcClient *client = irc_client_new (net->port, account);
  g_autofree gchar *command = g_strdup_printf ("REGISTER %s %s@example.com", password, account);
  g_autoptr (GPtrArray) notices = nickserv (client, command);
  gboolean registered = FALSE;

  for (guint i = 0; i < notices->len; i++)
    if (strstr (g_ptr_array_index (notices, i), " is now registered to ") != NULL)
      registered = TRUE;
  if (!registered)
    g_error ("NickServ did not register %s: %s", account,
             notices->len > 0 ? (gchar *) g_ptr_array_index (notices, notices->len - 1) : "");
  quit (client);
}

/* A client "checker" logged in to @account; *failed gets the failed logins NickServ reports. */
static IrcClient *
identify (IrcNetwork *net, const gchar *account, const gchar *password, guint *failed)
{
  IrcClient *client = irc_client_new (net->port, "checker");
  g_autofree gchar *command = g_strdup_printf ("IDENTIFY %s %s", account, password);
  g_autoptr (GPtrArray) notices = nickserv (client, command);
  gboolean identified = FALSE;

  *failed = 0;
  for (guint i = 0; i < notices->len; i++)
    {
      const gchar *text = g_ptr_array_index (notices, i);
      if (g_str_has_prefix (text, "You are now identified for "))
        identified = TRUE;
      /* "\2N\2 failed logins since last login." */
      if (strstr (text, " failed login") != NULL)
        *failed = (guint) g_ascii_strtoull (text + strspn (text, "\002"), NULL, 10);
    }
  g_assert_true (identified);
  return client;
}

guint
irc_network_failed_logins (IrcNetwork *net, const gchar *account, const gchar *password)
{
  guint failed;

  quit (identify (net, account, password, &failed));
  return failed;
}

void
irc_network_set_password (IrcNetwork *net, const gchar *account, const gchar *password,
                          const gchar *new_password)
{
  guint failed;
  IrcClient *client = identify (net, account, password, &failed);
  g_autofree gchar *command = g_strdup_printf ("SET PASSWORD %s", new_password);
  g_autoptr (GPtrArray) notices = nickserv (client, command);

  g_assert_cmpuint (notices->len, >, 0);
  g_assert_nonnull (strstr (g_ptr_array_index (notices, 0), "password"));
  g_assert_null (strstr (g_ptr_array_index (notices, 0), "nvalid"));
  quit (client);
}

gchar *
irc_client_whois_account (IrcClient *client, const gchar *nick)
{
  g_autofree gchar *logged_in = g_strdup_printf (" 330 %s %s ", client->nick, nick);
  gchar *account = NULL;

  irc_client_send (client, "WHOIS %s", nick);
  for (;;)
    {
      g_autofree gchar *line = irc_client_expect_line (client, " 3", 10000);
      const gchar *p = strstr (line, logged_in);
      if (p != NULL)
        account = g_strndup (p + strlen (logged_in), strcspn (p + strlen (logged_in), " "));
      if (strstr (line, " 318 ") != NULL)
        return account;
    }
}
