/* cw-mail-server.h: a real mail server on loopback for the email adapter's tests and the
 * integrations bench: dovecot (IMAP, IMAPS, IDLE) over the bot's Maildir, and the SMTP server
 * of data/smtp-server.py (aiosmtpd, STARTTLS, AUTH) writing what it receives to a Maildir.
 * Needs root (the mailbox belongs to the mail user, as dovecot wants).
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct
{
  gchar *dir;
  guint imap_port;
  guint imaps_port;
  guint smtp_port;
  gchar *ca_file;
  gchar *maildir; /* the bot's inbox: bot@example.test, password botpass */
  gchar *sent;    /* what the SMTP server received */
  GSubprocess *dovecot;
  GSubprocess *smtpd;
  guint counter;
} MailServer;

/* Starts dovecot and the SMTP server of @smtp_script (data/smtp-server.py) on free ports. */
MailServer *mail_server_start (const gchar *smtp_script);
void mail_server_free (MailServer *m);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MailServer, mail_server_free)
/* Stops dovecot (SIGTERM), and starts it again on the same ports. */
void mail_server_stop_imap (MailServer *m);
void mail_server_start_imap (MailServer *m);
/* Puts the mail @text in the bot's inbox, as a delivery agent does. */
void mail_server_deliver_raw (MailServer *m, const gchar *text);
/* A plain text mail from @from with the quoted text of an earlier one below @body. */
void mail_server_deliver (MailServer *m, const gchar *from, const gchar *message_id,
                          const gchar *subject, const gchar *body);
/* Every mail the SMTP server received, oldest first. */
GPtrArray *mail_server_sent (MailServer *m);
/* Waits until the SMTP server received at least @n mails (20 s at most). */
GPtrArray *mail_server_wait_sent (MailServer *m, guint n);

G_END_DECLS
