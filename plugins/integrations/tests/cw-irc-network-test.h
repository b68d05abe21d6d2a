/* cw-irc-network-test.h: an IRC network with services for the IRC adapter's SASL tests:
 * inspircd (m_sasl, m_services_account, m_spanningtree, m_ssl_gnutls) with atheme-services
 * linked to it (saslserv/plain against NickServ accounts), both Debian's, on loopback with
 * private configs and data under the test's directory and free ports.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cw-integrations-test.h"

G_BEGIN_DECLS

typedef struct
{
  gchar *dir;
  guint port;      /* plain clients */
  guint tls_port;  /* TLS clients (the self-signed certificate ca_file) */
  guint link_port; /* the services' uplink */
  gchar *ca_file;
  GSubprocess *ircd;
  GSubprocess *services;
} IrcNetwork;

/* Starts inspircd and, with @services, atheme, and waits until the services are linked (CAP
 * LS offers sasl). Without them inspircd does not offer sasl, as while a network's services
 * are away. Both die with the test program. */
IrcNetwork *irc_network_start (const gchar *dir, gboolean services);
/* Stops inspircd (every client is gone) and starts it again on the same ports; waits until
 * atheme linked again. */
void irc_network_restart_ircd (IrcNetwork *net);
void irc_network_free (IrcNetwork *net);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (IrcNetwork, irc_network_free)

/* Registers @account with NickServ from a client of that nick, which then quits. */
void irc_network_register (IrcNetwork *net, const gchar *account, const gchar *password);
/* Logs in to @account with NickServ IDENTIFY from a client of its own and returns how many
 * failed logins NickServ reports since the last successful one (which this login now is). */
guint irc_network_failed_logins (IrcNetwork *net, const gchar *account, const gchar *password);
/* Changes @account's password with NickServ SET PASSWORD, from a client of its own. */
void irc_network_set_password (IrcNetwork *net, const gchar *account, const gchar *password,
                               const gchar *new_password);
/* The account @nick is logged in as (WHOIS, 330), NULL when none. */
gchar *irc_client_whois_account (IrcClient *client, const gchar *nick);

G_END_DECLS
