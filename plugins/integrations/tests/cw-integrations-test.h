/* cw-integrations-test.h: helpers of the integrations plugin's daemon-level tests: the real
 * coworkd with the agent and the fake LLM, real chat servers from Debian started on
 * loopback (ngircd here; dovecot and an SMTP server in cw-mail-server.h), and clients that
 * talk to them as people do. The bench (bench/cw-bench-integrations) starts them too.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cw-agent-test.h"

G_BEGIN_DECLS

/* A daemon (own HOME, scheduler on the test clock at integ_t0) with the fake LLM playing
 * @script, started; NULL (test skipped) when the fake LLM is not built. */
AgentFixture *integ_fixture_new (const gchar *script);
gint64 integ_t0 (void);
/* Restarts the daemon with the test plugin of tests/plugin (the agent tool make_media). */
void integ_load_media_plugin (AgentFixture *f);
/* Moves the daemon's test clock. */
void integ_set_clock (AgentFixture *f, gint64 now_ms);
/* Calls on a connection of its own and asserts success. */
JsonNode *integ_call (AgentFixture *f, const gchar *command, const gchar *params_fmt, ...)
    G_GNUC_PRINTF (3, 4);
/* Polls integration_get_status until connected is @connected (20 s at most). */
JsonObject *integ_wait_connected (AgentFixture *f, const gchar *platform, gboolean connected);
/* The number of requests the fake LLM got. */
guint integ_llm_requests (AgentFixture *f);
/* Polls until the fake LLM got at least @n requests (20 s at most). */
void integ_wait_llm_requests (AgentFixture *f, guint n);
/* The path in a prompt's `[Attached <type> file "<name>" at <path>]` (how the agent hands the
 * model an attachment it keeps as a file), or NULL. */
gchar *integ_attached_path (const gchar *prompt, const gchar *type, const gchar *name);
/* Asserts that @prompt names the attachment and the agent's copy holds @length bytes of
 * @content. */
void integ_assert_attached (const gchar *prompt, const gchar *type, const gchar *name,
                            const gchar *content, gsize length);
/* The content of the last message of the fake LLM's request @n. */
const gchar *integ_llm_last_content (GPtrArray *requests, guint n);
/* A free TCP port on 127.0.0.1. */
guint integ_free_port (void);
/* Waits until something accepts on 127.0.0.1:@port (10 s at most). */
void integ_wait_port (guint port);
/* Makes a self-signed certificate for 127.0.0.1 in @dir (cert.pem, key.pem). */
void integ_make_cert (const gchar *dir);
/* Finds a program in PATH or /usr/sbin; fails the test when it is not installed. */
gchar *integ_find_program (const gchar *name);
/* Starts the server @argv (argv[0] found with integ_find_program, output silenced) and
 * waits until it accepts on @port, and on @port2 unless 0. */
GSubprocess *integ_spawn_server (const gchar *const *argv, guint port, guint port2);

/* ---- IRC: ngircd and a person's client ------------------------------------------------------ */

typedef struct
{
  gchar *dir;
  guint port;
  guint tls_port; /* 0 without TLS */
  gchar *ca_file; /* the self-signed certificate, with TLS */
  GSubprocess *proc;
} IrcServer;

IrcServer *irc_server_start (const gchar *dir, gboolean tls);
/* Stops it (SIGTERM) and starts it again on the same ports. */
void irc_server_stop (IrcServer *server);
void irc_server_restart (IrcServer *server);
void irc_server_free (IrcServer *server);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (IrcServer, irc_server_free)

typedef struct
{
  GSocketConnection *conn;
  GDataInputStream *in;
  GOutputStream *out;
  gchar *nick;
} IrcClient;

/* Connects and registers @nick (blocking). */
IrcClient *irc_client_new (guint port, const gchar *nick);
void irc_client_free (IrcClient *client);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (IrcClient, irc_client_free)
void irc_client_send (IrcClient *client, const gchar *format, ...) G_GNUC_PRINTF (2, 3);
/* The next line from the server (PINGs answered), NULL after @timeout_ms. */
gchar *irc_client_read_line (IrcClient *client, guint timeout_ms);
/* Reads until a line that contains @text, and returns it; fails the test after @timeout_ms. */
gchar *irc_client_expect_line (IrcClient *client, const gchar *text, guint timeout_ms);
/* JOINs @channel and waits until the server confirms it. */
void irc_client_join (IrcClient *client, const gchar *channel);
/* Waits until @nick is in @channel (NAMES), e.g. the bot after it joined. */
void irc_client_wait_member (IrcClient *client, const gchar *channel, const gchar *nick);
/* The text of the next PRIVMSG from @from (to us or to a channel; *target gets where it
 * went), or fails the test after @timeout_ms. */
gchar *irc_client_expect (IrcClient *client, const gchar *from, gchar **target, guint timeout_ms);
/* Asserts that no PRIVMSG from @from arrives within @ms. */
void irc_client_expect_none (IrcClient *client, const gchar *from, guint ms);

G_END_DECLS
