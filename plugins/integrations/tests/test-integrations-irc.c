/* test-integrations-irc.c: the IRC adapter against a real ngircd on loopback, and for SASL
 * against inspircd with atheme's services, driven by people's IRC clients, with the real
 * coworkd, the agent plugin and the fake LLM.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-irc-network-test.h"

#include <signal.h>
#include <string.h>

#define HELLO_SCRIPT "{\"responses\":[{\"events\":[{\"text\":\"Hello from the fake.\"}]}]}"
#define SLOW_SCRIPT  "{\"responses\":[{\"events\":[{\"delayMs\":2500},{\"text\":\"Slow hello.\"}]}]}"
#define WRITE_SCRIPT                                                                               \
  "{\"responses\":["                                                                               \
  "{\"events\":[{\"toolCall\":{\"id\":\"call_1\",\"name\":\"write_file\",\"args\":{\"path\":"      \
  "\"../outside.txt\",\"content\":\"hi\"}}}],\"stopReason\":\"tool_use\"},"                        \
  "{\"events\":[{\"text\":\"Not written, as you said.\"}]}]}"

typedef struct
{
  AgentFixture *f;
  IrcServer *irc;
  IrcClient *alice;
} Irc;

static void
irc_free (Irc *t)
{
  g_clear_pointer (&t->alice, irc_client_free);
  g_clear_pointer (&t->f, agent_fixture_free);
  g_clear_pointer (&t->irc, irc_server_free);
  g_free (t);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Irc, irc_free)

static void
connect_bot (Irc *t, const gchar *allow)
{
  g_autoptr (JsonNode) status = integ_call (
      t->f, "integration_connect",
      "{\"platform\":\"irc\",\"config\":{\"server\":\"127.0.0.1\",\"port\":%u,\"tls\":false,"
      "\"nick\":\"cowork\",\"channels\":[\"#cowork\"],\"allowFrom\":%s,\"password\":null,"
      "\"username\":null,\"denialMessage\":null}}",
      t->irc->port, allow);
  JsonObject *obj = cw_test_obj (status);

  g_assert_true (json_object_get_boolean_member (obj, "connected"));
  g_assert_cmpstr (json_object_get_string_member (obj, "health"), ==, "healthy");
  g_assert_cmpstr (json_object_get_string_member (obj, "identityName"), ==, "cowork");
  irc_client_wait_member (t->alice, "#cowork", "cowork");
}

static Irc *
irc_new (const gchar *script, const gchar *allow)
{
  Irc *t = g_new0 (Irc, 1);

  t->f = integ_fixture_new (script);
  if (t->f == NULL)
    {
      g_free (t);
      return NULL;
    }
  t->irc = irc_server_start (t->f->daemon->dir, FALSE);
  t->alice = irc_client_new (t->irc->port, "alice");
  irc_client_join (t->alice, "#cowork");
  connect_bot (t, allow);
  return t;
}

/* Skips messages from @from until one that is @text. */
static void
expect_text (IrcClient *client, const gchar *from, const gchar *text)
{
  for (;;)
    {
      g_autofree gchar *got = irc_client_expect (client, from, NULL, 20000);
      if (g_str_equal (got, text))
        return;
    }
}

/* The content of the last message of the @n-th request the fake LLM got. */
static gchar *
llm_user_message (AgentFixture *f, guint n)
{
  g_autoptr (GPtrArray) requests = agent_fixture_llm_requests (f);
  JsonObject *body;
  JsonArray *messages;
  JsonObject *last;

  g_assert_cmpuint (requests->len, >, n);
  body = json_object_get_object_member (g_ptr_array_index (requests, n), "body");
  messages = json_object_get_array_member (body, "messages");
  for (guint i = json_array_get_length (messages); i > 0; i--)
    {
      last = json_array_get_object_element (messages, i - 1);
      if (g_strcmp0 (json_object_get_string_member (last, "role"), "user") == 0)
        return g_strdup (json_object_get_string_member (last, "content"));
    }
  return NULL;
}

#define STREAM_SCRIPT                                                                              \
  "{\"responses\":[{\"events\":[{\"text\":\"One \"},{\"delayMs\":1200},{\"text\":\"two \"},"       \
  "{\"delayMs\":1200},{\"text\":\"three.\"}]}]}"

/* IRC cannot edit: a reply streamed in three slow chunks arrives once, whole, no placeholder. */
static void
test_streamed_once (void)
{
  g_autoptr (Irc) t = irc_new (STREAM_SCRIPT, "[\"alice\"]");
  g_autofree gchar *reply = NULL;

  if (t == NULL)
    return;
  irc_client_send (t->alice, "PRIVMSG #cowork :cowork: count to three");
  reply = irc_client_expect (t->alice, "cowork", NULL, 20000);
  g_assert_cmpstr (reply, ==, "One two three.");
  irc_client_expect_none (t->alice, "cowork", 1500);
}

static void
test_reply (void)
{
  g_autoptr (Irc) t = irc_new (HELLO_SCRIPT, "[\"alice\"]");
  g_autofree gchar *target = NULL, *private_target = NULL;
  g_autofree gchar *reply = NULL, *private_reply = NULL, *sent = NULL;
  g_autoptr (JsonNode) sessions = NULL;
  JsonArray *list;
  guint found = 0;

  if (t == NULL)
    return;
  /* Not addressed to the bot: ignored. */
  irc_client_send (t->alice, "PRIVMSG #cowork :just chatting here");
  irc_client_send (t->alice, "PRIVMSG #cowork :cowork: what is up?");
  reply = irc_client_expect (t->alice, "cowork", &target, 20000);
  g_assert_cmpstr (reply, ==, "Hello from the fake.");
  g_assert_cmpstr (target, ==, "#cowork");
  g_assert_cmpuint (integ_llm_requests (t->f), ==, 1);
  sent = llm_user_message (t->f, 0);
  g_assert_cmpstr (sent, ==, "[IRC | alice]: what is up?");

  /* A private message is answered privately, in a session of its own. */
  irc_client_send (t->alice, "PRIVMSG cowork :and in private?");
  private_reply = irc_client_expect (t->alice, "cowork", &private_target, 20000);
  g_assert_cmpstr (private_reply, ==, "Hello from the fake.");
  g_assert_cmpstr (private_target, ==, "alice");

  sessions = integ_call (t->f, "list_sessions", NULL);
  list = json_node_get_array (sessions);
  for (guint i = 0; i < json_array_get_length (list); i++)
    {
      JsonObject *s = json_array_get_object_element (list, i);
      const gchar *title = json_object_get_string_member (s, "title");
      g_assert_cmpstr (json_object_get_string_member (s, "type"), ==, "integration");
      if (g_strcmp0 (title, "IRC: #cowork") == 0 || g_strcmp0 (title, "IRC: alice") == 0)
        found++;
    }
  g_assert_cmpuint (json_array_get_length (list), ==, 2);
  g_assert_cmpuint (found, ==, 2);
  irc_client_expect_none (t->alice, "cowork", 300);
}

static void
test_tls (void)
{
  g_autoptr (AgentFixture) f = integ_fixture_new (HELLO_SCRIPT);
  g_autoptr (IrcServer) irc = NULL;
  g_autoptr (IrcClient) alice = NULL;
  g_autoptr (JsonNode) status = NULL;
  g_autoptr (CwClient) client = NULL;
  g_autofree gchar *reply = NULL, *untrusted = NULL;

  if (f == NULL)
    return;
  irc = irc_server_start (f->daemon->dir, TRUE);
  alice = irc_client_new (irc->port, "alice");
  irc_client_join (alice, "#cowork");
  /* A certificate nobody trusts is refused... */
  client = cw_test_daemon_connect (f->daemon);
  untrusted = agent_call_error (client, "integration_connect",
                                "{\"platform\":\"irc\",\"config\":{\"server\":\"127.0.0.1\","
                                "\"port\":%u,\"tls\":true,\"nick\":\"cowork\",\"channels\":["
                                "\"#cowork\"],\"allowFrom\":[\"*\"]}}",
                                irc->tls_port);
  g_assert_nonnull (strstr (untrusted, "TLS"));
  /* ...and accepted with its CA. */
  status = integ_call (f, "integration_connect",
                       "{\"platform\":\"irc\",\"config\":{\"server\":\"127.0.0.1\",\"port\":%u,"
                       "\"tls\":true,\"tlsCaFile\":\"%s\",\"nick\":\"cowork\",\"channels\":["
                       "\"#cowork\"],\"allowFrom\":[\"*\"]}}",
                       irc->tls_port, irc->ca_file);
  g_assert_true (json_object_get_boolean_member (cw_test_obj (status), "connected"));
  irc_client_wait_member (alice, "#cowork", "cowork");
  irc_client_send (alice, "PRIVMSG #cowork :hey cowork, over TLS?");
  reply = irc_client_expect (alice, "cowork", NULL, 20000);
  g_assert_cmpstr (reply, ==, "Hello from the fake.");
}

static void
test_denied (void)
{
  g_autoptr (Irc) t = irc_new (HELLO_SCRIPT, "[\"alice\"]");
  g_autoptr (IrcClient) bob = NULL;
  g_autofree gchar *denial = NULL, *target = NULL;

  if (t == NULL)
    return;
  bob = irc_client_new (t->irc->port, "bob");
  irc_client_join (bob, "#cowork");
  irc_client_send (bob, "PRIVMSG #cowork :cowork: let me in");
  denial = irc_client_expect (bob, "cowork", &target, 20000);
  g_assert_cmpstr (denial, ==,
                   "This Cowork bot is private. You are not authorized to chat with it.");
  g_assert_cmpstr (target, ==, "#cowork");
  g_assert_cmpuint (integ_llm_requests (t->f), ==, 0);
}

/* kill -9 after the message was received and before the reply: answered once after the
 * restart. */
static void
test_kill_before_reply (void)
{
  g_autoptr (Irc) t = irc_new (SLOW_SCRIPT, "[\"alice\"]");
  g_autofree gchar *reply = NULL;
  g_autoptr (JsonObject) status = NULL;

  if (t == NULL)
    return;
  irc_client_send (t->alice, "PRIVMSG #cowork :cowork: tell me slowly");
  integ_wait_llm_requests (t->f, 1);
  agent_fixture_stop (t->f, SIGKILL);
  irc_client_expect_none (t->alice, "cowork", 200);
  agent_fixture_start (t->f);
  /* The platform comes back by itself at the start, and the message is answered. */
  status = integ_wait_connected (t->f, "irc", TRUE);
  reply = irc_client_expect (t->alice, "cowork", NULL, 20000);
  g_assert_cmpstr (reply, ==, "Slow hello.");
  g_assert_cmpuint (integ_llm_requests (t->f), ==, 2);
  /* ...once. */
  irc_client_expect_none (t->alice, "cowork", 3500);
  g_assert_cmpuint (integ_llm_requests (t->f), ==, 2);
}

static void
test_permission (void)
{
  g_autoptr (Irc) t = irc_new (WRITE_SCRIPT, "[\"alice\",\"bob\"]");
  g_autoptr (IrcClient) bob = NULL;
  g_autofree gchar *prompt = NULL, *ack = NULL, *reply = NULL;
  g_autofree gchar *outside = NULL;
  g_autoptr (GPtrArray) requests = NULL;
  g_autofree gchar *second = NULL;

  if (t == NULL)
    return;
  bob = irc_client_new (t->irc->port, "bob");
  irc_client_join (bob, "#cowork");
  irc_client_send (t->alice, "PRIVMSG #cowork :cowork: write outside.txt");
  prompt = irc_client_expect (t->alice, "cowork", NULL, 20000);
  g_assert_true (g_str_has_prefix (prompt, "Permission required: "));
  g_free (irc_client_expect (t->alice, "cowork", NULL, 5000)); /* 1. Allow once */
  g_free (irc_client_expect (t->alice, "cowork", NULL, 5000)); /* 2. */
  g_free (irc_client_expect (t->alice, "cowork", NULL, 5000)); /* 3. Deny */
  g_free (irc_client_expect (t->alice, "cowork", NULL, 5000)); /* Reply with ... */

  /* Bob may talk to the bot, but the pending request is Alice's. */
  irc_client_send (bob, "PRIVMSG #cowork :cowork: 1");
  expect_text (bob, "cowork", "Only alice can answer the pending request of this conversation.");
  expect_text (t->alice, "cowork",
               "Only alice can answer the pending request of this conversation.");
  irc_client_send (t->alice, "PRIVMSG #cowork :cowork: 3");
  ack = irc_client_expect (t->alice, "cowork", NULL, 20000);
  g_assert_cmpstr (ack, ==, "Acknowledged. Continuing the pending run.");
  reply = irc_client_expect (t->alice, "cowork", NULL, 20000);
  g_assert_cmpstr (reply, ==, "Not written, as you said.");
  outside = g_build_filename (t->f->daemon->dir, "outside.txt", NULL);
  g_assert_false (g_file_test (outside, G_FILE_TEST_EXISTS));
  /* The model was told the write was denied. */
  requests = agent_fixture_llm_requests (t->f);
  g_assert_cmpuint (requests->len, ==, 2);
  {
    JsonObject *body = json_object_get_object_member (g_ptr_array_index (requests, 1), "body");
    JsonArray *messages = json_object_get_array_member (body, "messages");
    JsonObject *tool
        = json_array_get_object_element (messages, json_array_get_length (messages) - 1);
    g_assert_cmpstr (json_object_get_string_member (tool, "role"), ==, "tool");
    g_assert_nonnull (strstr (json_object_get_string_member (tool, "content"), "denied"));
  }
}

static void
test_queue_and_merge (void)
{
  g_autoptr (Irc) t = irc_new (SLOW_SCRIPT, "[\"alice\"]");
  g_autofree gchar *queued = NULL, *first = NULL, *merged = NULL, *sent = NULL;

  if (t == NULL)
    return;
  irc_client_send (t->alice, "PRIVMSG cowork :first");
  integ_wait_llm_requests (t->f, 1);
  irc_client_send (t->alice, "PRIVMSG cowork :second");
  queued = irc_client_expect (t->alice, "cowork", NULL, 20000);
  g_assert_cmpstr (queued, ==, "Message received. Processing previous request... (1 in queue)");
  for (guint i = 3; i <= 6; i++)
    {
      g_autofree gchar *ack = NULL, *expected = NULL;
      irc_client_send (t->alice, "PRIVMSG cowork :message %u", i);
      ack = irc_client_expect (t->alice, "cowork", NULL, 20000);
      expected = g_strdup_printf ("Message received. Processing previous request... (%u in queue)",
                                  i - 1);
      g_assert_cmpstr (ack, ==, expected);
    }
  first = irc_client_expect (t->alice, "cowork", NULL, 20000);
  g_assert_cmpstr (first, ==, "Slow hello.");
  /* Five waiting: one merged turn, one reply. */
  merged = irc_client_expect (t->alice, "cowork", NULL, 20000);
  g_assert_cmpstr (merged, ==, "Slow hello.");
  g_assert_cmpuint (integ_llm_requests (t->f), ==, 2);
  sent = llm_user_message (t->f, 1);
  g_assert_cmpstr (sent, ==,
                   "Multiple messages received:\n1. [IRC | alice]: second\n2. [IRC | alice]: "
                   "message 3\n3. [IRC | alice]: message 4\n4. [IRC | alice]: message 5\n5. [IRC "
                   "| alice]: message 6");
  irc_client_expect_none (t->alice, "cowork", 500);
}

static void
test_reconnect (void)
{
  g_autoptr (Irc) t = irc_new (HELLO_SCRIPT, "[\"alice\"]");
  g_autoptr (JsonObject) down = NULL, up = NULL;
  g_autofree gchar *reply = NULL;

  if (t == NULL)
    return;
  g_clear_pointer (&t->alice, irc_client_free);
  irc_server_restart (t->irc);
  down = integ_wait_connected (t->f, "irc", FALSE);
  g_assert_cmpstr (json_object_get_string_member (down, "health"), ==, "unhealthy");
  g_assert_nonnull (json_object_get_string_member (down, "error"));
  g_assert_false (json_object_has_member (down, "requiresReconnect"));
  /* The backoff runs on the scheduler's clock: nothing happens until it passes. */
  g_usleep (300000);
  g_clear_pointer (&down, json_object_unref);
  down = integ_wait_connected (t->f, "irc", FALSE);
  integ_set_clock (t->f, integ_t0 () + 10 * 60 * 1000);
  up = integ_wait_connected (t->f, "irc", TRUE);
  g_assert_cmpstr (json_object_get_string_member (up, "health"), ==, "healthy");
  t->alice = irc_client_new (t->irc->port, "alice");
  irc_client_join (t->alice, "#cowork");
  irc_client_wait_member (t->alice, "#cowork", "cowork");
  irc_client_send (t->alice, "PRIVMSG #cowork :cowork: back?");
  reply = irc_client_expect (t->alice, "cowork", NULL, 20000);
  g_assert_cmpstr (reply, ==, "Hello from the fake.");
}

/* ---- SASL: inspircd with atheme ------------------------------------------------------------ */

/* The bot's account: with its 30 characters as authzid and authcid, a password of 238
 * characters makes a PLAIN payload of exactly 400 base64 bytes (one full AUTHENTICATE line,
 * then "+"), one of 240 a payload of 404 (two lines). atheme 7.2 takes passwords up to 255
 * characters in PLAIN, so the length has to come from the account. */
#define ACCOUNT "coworkbot-account-of-the-tests"
/* The connect's error when atheme refuses the password. */
#define REFUSED                                                                                    \
  "the IRC server refused the SASL PLAIN login of the account " ACCOUNT                            \
  " (904: SASL authentication failed); it offers PLAIN"

static gchar *
make_password (guint n)
{
  GString *pw = g_string_new (NULL);

  for (guint i = 0; i < n; i++)
    g_string_append_c (pw, "Cw0rk-pass"[i % 10]);
  return g_string_free (pw, FALSE);
}

/* integration_connect's params for the bot "cowork" logging in to ACCOUNT with @password. */
static gchar *
sasl_params (guint port, gboolean tls, const gchar *ca, const gchar *password)
{
  g_autofree gchar *ca_json = ca != NULL ? g_strdup_printf ("\"%s\"", ca) : g_strdup ("null");

  return g_strdup_printf (
      "{\"platform\":\"irc\",\"config\":{\"server\":\"127.0.0.1\",\"port\":%u,\"tls\":%s,"
      "\"tlsCaFile\":%s,\"nick\":\"cowork\",\"username\":\"" ACCOUNT "\",\"password\":\"%s\","
      "\"channels\":[\"#cowork\"],\"allowFrom\":[\"alice\"],\"denialMessage\":null}}",
      port, tls ? "true" : "false", ca_json, password);
}

static JsonNode *
connect_sasl (AgentFixture *f, guint port, gboolean tls, const gchar *ca, const gchar *password)
{
  g_autofree gchar *params = sasl_params (port, tls, ca, password);

  return integ_call (f, "integration_connect", "%s", params);
}

/* The error of a connect that must fail. */
static gchar *
connect_sasl_error (AgentFixture *f, guint port, const gchar *password)
{
  g_autoptr (CwClient) client = cw_test_daemon_connect (f->daemon);
  g_autofree gchar *params = sasl_params (port, FALSE, NULL, password);

  return agent_call_error (client, "integration_connect", "%s", params);
}

/* Alice mentions the bot in #cowork and writes to it privately: both answered where they
 * were asked. */
static void
expect_answers (IrcClient *alice)
{
  g_autofree gchar *reply = NULL, *target = NULL, *private_reply = NULL, *private_target = NULL;

  irc_client_send (alice, "PRIVMSG #cowork :cowork: are you logged in?");
  reply = irc_client_expect (alice, "cowork", &target, 20000);
  g_assert_cmpstr (reply, ==, "Hello from the fake.");
  g_assert_cmpstr (target, ==, "#cowork");
  irc_client_send (alice, "PRIVMSG cowork :and privately?");
  private_reply = irc_client_expect (alice, "cowork", &private_target, 20000);
  g_assert_cmpstr (private_reply, ==, "Hello from the fake.");
  g_assert_cmpstr (private_target, ==, "alice");
}

/* The connect returned @status: the bot is connected, in #cowork, logged in to ACCOUNT. */
static void
expect_logged_in (JsonNode *status, IrcClient *alice)
{
  JsonObject *obj = cw_test_obj (status);
  g_autofree gchar *account = NULL;

  g_assert_true (json_object_get_boolean_member (obj, "connected"));
  g_assert_cmpstr (json_object_get_string_member (obj, "health"), ==, "healthy");
  g_assert_cmpstr (json_object_get_string_member (obj, "identityName"), ==, "cowork");
  irc_client_wait_member (alice, "#cowork", "cowork");
  account = irc_client_whois_account (alice, "cowork");
  g_assert_cmpstr (account, ==, ACCOUNT);
}

/* The bot logs in with SASL PLAIN before it registers (WHOIS shows its account), and it
 * answers a mention and a private message. */
static void
sasl_login (gboolean tls, guint password_length)
{
  g_autoptr (AgentFixture) f = integ_fixture_new (HELLO_SCRIPT);
  g_autoptr (IrcNetwork) net = NULL;
  g_autoptr (IrcClient) alice = NULL;
  g_autoptr (JsonNode) status = NULL;
  g_autofree gchar *password = make_password (password_length);

  if (f == NULL)
    return;
  net = irc_network_start (f->daemon->dir, TRUE);
  irc_network_register (net, ACCOUNT, password);
  alice = irc_client_new (net->port, "alice");
  irc_client_join (alice, "#cowork");
  status
      = connect_sasl (f, tls ? net->tls_port : net->port, tls, tls ? net->ca_file : NULL, password);
  expect_logged_in (status, alice);
  expect_answers (alice);
}

/* A message of two AUTHENTICATE lines. */
static void
test_sasl (void)
{
  sasl_login (FALSE, 240);
}

/* Over TLS, with a message of exactly one full AUTHENTICATE line. */
static void
test_sasl_tls (void)
{
  sasl_login (TRUE, 238);
}

/* A wrong password: the connect fails with the server's 904, the status says so, and
 * nothing tries again (NickServ counts one failed login after ten minutes on the daemon's
 * clock). The right password then connects. */
static void
test_sasl_wrong_password (void)
{
  g_autoptr (AgentFixture) f = integ_fixture_new (HELLO_SCRIPT);
  g_autoptr (IrcNetwork) net = NULL;
  g_autoptr (IrcClient) alice = NULL;
  g_autoptr (JsonNode) status = NULL, later = NULL, up = NULL;
  g_autofree gchar *error = NULL;
  JsonObject *obj;

  if (f == NULL)
    return;
  net = irc_network_start (f->daemon->dir, TRUE);
  irc_network_register (net, ACCOUNT, "right-password");
  error = connect_sasl_error (f, net->port, "wrong-password");
  g_assert_cmpstr (error, ==, REFUSED);
  status = integ_call (f, "integration_get_status", "{\"platform\":\"irc\"}");
  obj = cw_test_obj (status);
  g_assert_false (json_object_get_boolean_member (obj, "connected"));
  g_assert_cmpstr (json_object_get_string_member (obj, "error"), ==, error);
  g_assert_cmpstr (json_object_get_string_member (obj, "health"), ==, "unhealthy");
  g_assert_cmpstr (json_object_get_string_member (obj, "healthMessage"), ==, error);

  integ_set_clock (f, integ_t0 () + 10 * 60 * 1000);
  later = integ_call (f, "integration_get_status", "{\"platform\":\"irc\"}");
  g_assert_cmpstr (json_object_get_string_member (cw_test_obj (later), "healthMessage"), ==, error);
  g_assert_cmpuint (irc_network_failed_logins (net, ACCOUNT, "right-password"), ==, 1);

  alice = irc_client_new (net->port, "alice");
  irc_client_join (alice, "#cowork");
  up = connect_sasl (f, net->port, FALSE, NULL, "right-password");
  expect_logged_in (up, alice);
}

/* A password set, a server without SASL (ngircd; inspircd while its services are away): the
 * bot does not connect unauthenticated, and says why. */
static void
test_sasl_unsupported (void)
{
  g_autoptr (AgentFixture) f = integ_fixture_new (HELLO_SCRIPT);
  g_autoptr (IrcServer) ngircd = NULL;
  g_autoptr (IrcNetwork) net = NULL;
  g_autoptr (IrcClient) alice = NULL, bob = NULL;
  g_autoptr (JsonNode) status = NULL;
  g_autofree gchar *error = NULL, *again = NULL, *account = NULL;
  const gchar *expected
      = "the IRC server does not offer SASL, so the account " ACCOUNT
        " cannot log in; Cowork does not connect unauthenticated while a password is "
        "set (remove the password to connect without an account)";

  if (f == NULL)
    return;
  ngircd = irc_server_start (f->daemon->dir, FALSE);
  alice = irc_client_new (ngircd->port, "alice");
  error = connect_sasl_error (f, ngircd->port, "secret");
  g_assert_cmpstr (error, ==, expected);
  status = integ_call (f, "integration_get_status", "{\"platform\":\"irc\"}");
  g_assert_false (json_object_get_boolean_member (cw_test_obj (status), "connected"));
  g_assert_cmpstr (json_object_get_string_member (cw_test_obj (status), "error"), ==, expected);
  /* Not on the server under any nick. */
  irc_client_send (alice, "WHOIS cowork");
  g_free (irc_client_expect_line (alice, " 401 alice cowork ", 10000));

  net = irc_network_start (f->daemon->dir, FALSE);
  bob = irc_client_new (net->port, "bob");
  again = connect_sasl_error (f, net->port, "secret");
  g_assert_cmpstr (again, ==, expected);
  account = irc_client_whois_account (bob, "cowork");
  g_assert_null (account);
  irc_client_send (bob, "WHOIS cowork");
  g_free (irc_client_expect_line (bob, " 401 bob cowork ", 10000));
}

/* The account's password changed while the bot was in: after the server restarts, the
 * reconnect is refused (904) and not tried again (NickServ counts one failed login after
 * half an hour on the daemon's clock); the status says why and that it needs the user; the
 * new password connects. */
static void
test_sasl_reconnect_refused (void)
{
  g_autoptr (AgentFixture) f = integ_fixture_new (HELLO_SCRIPT);
  g_autoptr (IrcNetwork) net = NULL;
  g_autoptr (IrcClient) alice = NULL;
  g_autoptr (JsonNode) status = NULL, up = NULL, now = NULL;
  g_autoptr (JsonObject) down = NULL;
  JsonObject *obj;

  if (f == NULL)
    return;
  net = irc_network_start (f->daemon->dir, TRUE);
  irc_network_register (net, ACCOUNT, "old-password");
  alice = irc_client_new (net->port, "alice");
  irc_client_join (alice, "#cowork");
  status = connect_sasl (f, net->port, FALSE, NULL, "old-password");
  expect_logged_in (status, alice);
  irc_network_set_password (net, ACCOUNT, "old-password", "new-password");
  g_clear_pointer (&alice, irc_client_free);
  irc_network_restart_ircd (net);
  down = integ_wait_connected (f, "irc", FALSE);

  integ_set_clock (f, integ_t0 () + 10 * 60 * 1000);
  for (;;)
    {
      g_autoptr (JsonObject) event = agent_wait_event (f->client, "error", NULL, NULL);
      JsonObject *data = agent_event_data (event);
      if (g_strcmp0 (json_object_get_string_member (data, "code"), "INTEGRATION_RECONNECT_ERROR")
          == 0)
        {
          g_assert_cmpstr (json_object_get_string_member (data, "error"), ==,
                           "IRC reconnect failed: " REFUSED);
          break;
        }
    }
  integ_set_clock (f, integ_t0 () + 40 * 60 * 1000);
  now = integ_call (f, "integration_get_status", "{\"platform\":\"irc\"}");
  obj = cw_test_obj (now);
  g_assert_false (json_object_get_boolean_member (obj, "connected"));
  g_assert_true (json_object_get_boolean_member (obj, "requiresReconnect"));
  g_assert_cmpstr (json_object_get_string_member (obj, "error"), ==, REFUSED);
  g_assert_cmpstr (json_object_get_string_member (obj, "healthMessage"), ==, REFUSED);
  g_assert_cmpuint (irc_network_failed_logins (net, ACCOUNT, "new-password"), ==, 1);

  alice = irc_client_new (net->port, "alice");
  irc_client_join (alice, "#cowork");
  up = connect_sasl (f, net->port, FALSE, NULL, "new-password");
  expect_logged_in (up, alice);
  expect_answers (alice);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/integrations/irc/reply", test_reply);
  g_test_add_func ("/integrations/irc/streamed-once", test_streamed_once);
  g_test_add_func ("/integrations/irc/tls", test_tls);
  g_test_add_func ("/integrations/irc/denied", test_denied);
  g_test_add_func ("/integrations/irc/kill-before-reply", test_kill_before_reply);
  g_test_add_func ("/integrations/irc/permission", test_permission);
  g_test_add_func ("/integrations/irc/queue-and-merge", test_queue_and_merge);
  g_test_add_func ("/integrations/irc/reconnect", test_reconnect);
  g_test_add_func ("/integrations/irc/sasl", test_sasl);
  g_test_add_func ("/integrations/irc/sasl-tls", test_sasl_tls);
  g_test_add_func ("/integrations/irc/sasl-wrong-password", test_sasl_wrong_password);
  g_test_add_func ("/integrations/irc/sasl-unsupported", test_sasl_unsupported);
  g_test_add_func ("/integrations/irc/sasl-reconnect-refused", test_sasl_reconnect_refused);
  return g_test_run ();
}
