/* cw-mail-server.c: see cw-mail-server.h.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-mail-server.h"

#include "cw-integrations-test.h"

#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#define MAIL_UID 65534

static void
mail_dirs (const gchar *root, gint uid)
{
  static const gchar *const subs[] = { "cur", "new", "tmp", NULL };

  for (guint i = 0; subs[i] != NULL; i++)
    {
      g_autofree gchar *sub = g_build_filename (root, subs[i], NULL);
      g_assert_cmpint (g_mkdir_with_parents (sub, 0777), ==, 0);
      g_assert_cmpint (g_chmod (sub, 0777), ==, 0);
      if (uid >= 0)
        g_assert_cmpint (chown (sub, uid, uid), ==, 0);
    }
}

void
mail_server_start_imap (MailServer *m)
{
  g_autofree gchar *conf = g_build_filename (m->dir, "dovecot.conf", NULL);
  const gchar *argv[] = { "dovecot", "-F", "-c", conf, NULL };

  m->dovecot = integ_spawn_server (argv, m->imap_port, m->imaps_port);
}

void
mail_server_stop_imap (MailServer *m)
{
  if (m->dovecot == NULL)
    return;
  g_subprocess_send_signal (m->dovecot, SIGTERM);
  g_subprocess_wait (m->dovecot, NULL, NULL);
  g_clear_object (&m->dovecot);
}

static void
smtpd_spawn (MailServer *m, const gchar *script)
{
  g_autofree gchar *port = g_strdup_printf ("%u", m->smtp_port);
  g_autofree gchar *cert = g_build_filename (m->dir, "cert.pem", NULL);
  g_autofree gchar *key = g_build_filename (m->dir, "key.pem", NULL);
  /* Debian's python3, where python3-aiosmtpd is (PATH may hold another one) */
  const gchar *argv[] = { "/usr/bin/python3", script, port, m->sent, cert, key, NULL };

  m->smtpd = integ_spawn_server (argv, m->smtp_port, 0);
}

MailServer *
mail_server_start (const gchar *smtp_script)
{
  MailServer *m = g_new0 (MailServer, 1);
  g_autoptr (GError) error = NULL;
  g_autofree gchar *conf = NULL, *passwd = NULL, *text = NULL, *home = NULL;

  m->dir = g_dir_make_tmp ("cw-mail-XXXXXX", &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_chmod (m->dir, 0755), ==, 0);
  integ_make_cert (m->dir);
  m->ca_file = g_build_filename (m->dir, "cert.pem", NULL);
  m->imap_port = integ_free_port ();
  m->imaps_port = integ_free_port ();
  m->smtp_port = integ_free_port ();
  home = g_build_filename (m->dir, "mail", "bot", NULL);
  g_assert_cmpint (g_mkdir_with_parents (home, 0777), ==, 0);
  g_assert_cmpint (chown (home, MAIL_UID, MAIL_UID), ==, 0);
  m->maildir = g_build_filename (home, "Maildir", NULL);
  mail_dirs (m->maildir, MAIL_UID);
  g_assert_cmpint (chown (m->maildir, MAIL_UID, MAIL_UID), ==, 0);
  m->sent = g_build_filename (m->dir, "sent", NULL);
  mail_dirs (m->sent, -1);
  passwd = g_build_filename (m->dir, "passwd", NULL);
  g_assert_true (g_file_set_contents (passwd, "bot@example.test:{PLAIN}botpass\n", -1, NULL));
  g_assert_cmpint (g_chmod (passwd, 0644), ==, 0);
  text = g_strdup_printf (
      "protocols = imap\nlisten = 127.0.0.1\nbase_dir = %1$s/run\nstate_dir = %1$s/state\n"
      "log_path = %1$s/dovecot.log\nssl = yes\nssl_cert = <%1$s/cert.pem\n"
      "ssl_key = <%1$s/key.pem\nssl_dh = </usr/share/dovecot/dh.pem\n"
      "disable_plaintext_auth = no\nauth_mechanisms = plain login\n"
      "mail_location = maildir:~/Maildir\nfirst_valid_uid = 1\n"
      "passdb {\n  driver = passwd-file\n  args = %1$s/passwd\n}\n"
      "userdb {\n  driver = static\n  args = uid=%2$d gid=%2$d home=%1$s/mail/bot\n}\n"
      "service imap-login {\n  inet_listener imap {\n    port = %3$u\n  }\n"
      "  inet_listener imaps {\n    port = %4$u\n    ssl = yes\n  }\n}\n",
      m->dir, MAIL_UID, m->imap_port, m->imaps_port);
  conf = g_build_filename (m->dir, "dovecot.conf", NULL);
  g_assert_true (g_file_set_contents (conf, text, -1, NULL));
  mail_server_start_imap (m);
  smtpd_spawn (m, smtp_script);
  return m;
}

void
mail_server_free (MailServer *m)
{
  mail_server_stop_imap (m);
  if (m->smtpd != NULL)
    {
      g_subprocess_send_signal (m->smtpd, SIGTERM);
      g_subprocess_wait (m->smtpd, NULL, NULL);
      g_clear_object (&m->smtpd);
    }
  cw_test_rm_rf (m->dir);
  g_free (m->dir);
  g_free (m->ca_file);
  g_free (m->maildir);
  g_free (m->sent);
  g_free (m);
}

void
mail_server_deliver_raw (MailServer *m, const gchar *text)
{
  g_autofree gchar *name
      = g_strdup_printf ("%" G_GINT64_FORMAT ".M%uP%d.test", cw_now_ms (), ++m->counter, getpid ());
  g_autofree gchar *tmp = g_build_filename (m->maildir, "tmp", name, NULL);
  g_autofree gchar *dest = g_build_filename (m->maildir, "new", name, NULL);

  g_assert_true (g_file_set_contents (tmp, text, -1, NULL));
  g_assert_cmpint (chown (tmp, MAIL_UID, MAIL_UID), ==, 0);
  g_assert_cmpint (g_rename (tmp, dest), ==, 0);
}

void
mail_server_deliver (MailServer *m, const gchar *from, const gchar *message_id,
                     const gchar *subject, const gchar *body)
{
  g_autofree gchar *text
      = g_strdup_printf ("From: Alice Example <%s>\r\nTo: bot@example.test\r\nSubject: %s\r\n"
                         "Message-ID: %s\r\nDate: Tue, 01 Dec 2026 10:00:00 +0000\r\n"
                         "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
                         "%s\r\n\r\nOn Mon, someone wrote:\r\n> old text\r\n",
                         from, subject, message_id, body);

  mail_server_deliver_raw (m, text);
}

/* Python's Maildir names are <seconds>.M<microseconds>P<pid>Q<count>.<host>, the count
 * increasing per process and the microseconds not zero-padded: order by the count. */
static gint
by_delivery (gconstpointer a, gconstpointer b)
{
  const gchar *qa = strchr (*(const gchar *const *) a, 'Q');
  const gchar *qb = strchr (*(const gchar *const *) b, 'Q');
  gint64 na = qa != NULL ? g_ascii_strtoll (qa + 1, NULL, 10) : 0;
  gint64 nb = qb != NULL ? g_ascii_strtoll (qb + 1, NULL, 10) : 0;

  return na < nb ? -1 : na > nb;
}

GPtrArray *
mail_server_sent (MailServer *m)
{
  GPtrArray *out = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autofree gchar *new_dir = g_build_filename (m->sent, "new", NULL);
  g_autoptr (GDir) dir = g_dir_open (new_dir, 0, NULL);
  const gchar *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, by_delivery);
  for (guint i = 0; i < names->len; i++)
    {
      g_autofree gchar *path = g_build_filename (new_dir, g_ptr_array_index (names, i), NULL);
      gchar *text = NULL;
      if (g_file_get_contents (path, &text, NULL, NULL))
        g_ptr_array_add (out, text);
    }
  return out;
}

GPtrArray *
mail_server_wait_sent (MailServer *m, guint n)
{
  gint64 deadline = g_get_monotonic_time () + 20 * G_TIME_SPAN_SECOND;

  for (;;)
    {
      GPtrArray *mails = mail_server_sent (m);
      if (mails->len >= n)
        return mails;
      g_ptr_array_unref (mails);
      if (g_get_monotonic_time () > deadline)
        g_error ("fewer than %u mails were sent in 20 s", n);
      g_usleep (50000);
    }
}
