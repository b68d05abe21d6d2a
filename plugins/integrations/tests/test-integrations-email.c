/* test-integrations-email.c: the email adapter against a real dovecot (IMAP, IDLE) and a
 * real SMTP server (aiosmtpd, writing what it receives to a Maildir), both from Debian,
 * started on loopback; mail arrives in the bot's Maildir as a delivery agent would put it.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-integrations-test.h"
#include "cw-mail-server.h"

#include <signal.h>
#include <string.h>

#define HELLO_SCRIPT "{\"responses\":[{\"events\":[{\"text\":\"Hello from the fake.\"}]}]}"

static MailServer *
start_mail (void)
{
  g_autofree gchar *script = g_test_build_filename (G_TEST_DIST, "data", "smtp-server.py", NULL);

  return mail_server_start (script);
}

static void
connect_email (AgentFixture *f, MailServer *m, const gchar *imap_tls, guint imap_port,
               const gchar *smtp_tls)
{
  g_autoptr (JsonNode) status = integ_call (
      f, "integration_connect",
      "{\"platform\":\"email\",\"config\":{\"imapHost\":\"127.0.0.1\",\"imapPort\":%u,"
      "\"smtpHost\":\"127.0.0.1\",\"smtpPort\":%u,\"tls\":\"%s\",\"tlsCaFile\":\"%s\","
      "\"username\":\"bot@example.test\",\"password\":\"botpass\",\"folder\":null,"
      "\"fromAddress\":null,\"allowFrom\":[\"*@example.org\"]}}",
      imap_port, m->smtp_port, imap_tls, m->ca_file);

  (void) smtp_tls;
  g_assert_true (json_object_get_boolean_member (cw_test_obj (status), "connected"));
  g_assert_cmpstr (json_object_get_string_member (cw_test_obj (status), "identityName"), ==,
                   "bot@example.test");
}

static gchar *
header (const gchar *mail, const gchar *name)
{
  g_autofree gchar *pattern = g_strdup_printf ("(?m)^%s: (.*?)\\r?$", name);
  g_autoptr (GRegex) re = g_regex_new (pattern, 0, 0, NULL);
  g_autoptr (GMatchInfo) match = NULL;

  if (!g_regex_match (re, mail, 0, &match))
    return NULL;
  return g_match_info_fetch (match, 1);
}

static void
test_reply (void)
{
  g_autoptr (AgentFixture) f = integ_fixture_new (HELLO_SCRIPT);
  g_autoptr (MailServer) m = NULL;
  g_autoptr (GPtrArray) mails = NULL, later = NULL;
  g_autofree gchar *to = NULL, *subject = NULL, *irt = NULL, *refs = NULL, *sent = NULL;
  g_autoptr (GPtrArray) requests = NULL;

  if (f == NULL)
    return;
  m = start_mail ();
  /* Old mail: there before the first connect, never answered. */
  mail_server_deliver (m, "alice@example.org", "<old@example.org>", "Old", "from last week");
  connect_email (f, m, "none", m->imap_port, "none");
  mail_server_deliver (m, "alice@example.org", "<m1@example.org>", "Plans", "What is the plan?");
  mails = mail_server_wait_sent (m, 1);
  to = header (mails->pdata[0], "To");
  subject = header (mails->pdata[0], "Subject");
  irt = header (mails->pdata[0], "In-Reply-To");
  refs = header (mails->pdata[0], "References");
  g_assert_cmpstr (to, ==, "<alice@example.org>");
  g_assert_cmpstr (subject, ==, "Re: Plans");
  g_assert_cmpstr (irt, ==, "<m1@example.org>");
  g_assert_cmpstr (refs, ==, "<m1@example.org>");
  g_assert_nonnull (strstr (mails->pdata[0], "Hello from the fake."));
  g_assert_cmpuint (integ_llm_requests (f), ==, 1);
  requests = agent_fixture_llm_requests (f);
  /* Without the quoted text below the reply. */
  g_assert_cmpstr (integ_llm_last_content (requests, 0), ==,
                   "[Email | Alice Example]: What is the plan?");
  /* A stranger is told no. */
  mail_server_deliver (m, "mallory@elsewhere.net", "<x1@elsewhere.net>", "Hi", "let me in");
  later = mail_server_wait_sent (m, 2);
  g_assert_nonnull (strstr (later->pdata[1], "To: <mallory@elsewhere.net>"));
  g_assert_nonnull (strstr (later->pdata[1], "You are not authorized"));
  g_assert_cmpuint (integ_llm_requests (f), ==, 1);
}

#define PDF_BYTES "%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"
#define PNG_BYTES "\x89PNG\r\n\x1a\n a chart"

/* A mail with a PDF attached and an inline image (multipart/mixed around the text and HTML
 * alternatives): both are fetched from dovecot by their body sections, the agent gets the
 * text and the two files, and the reply goes out. */
static void
test_attachment (void)
{
  g_autoptr (AgentFixture) f = integ_fixture_new (HELLO_SCRIPT);
  g_autoptr (MailServer) m = NULL;
  g_autoptr (GPtrArray) mails = NULL, requests = NULL;
  g_autofree gchar *pdf64 = g_base64_encode ((const guchar *) PDF_BYTES, strlen (PDF_BYTES));
  g_autofree gchar *png64 = g_base64_encode ((const guchar *) PNG_BYTES, strlen (PNG_BYTES));
  g_autofree gchar *text = NULL;
  const gchar *content;

  if (f == NULL)
    return;
  m = start_mail ();
  connect_email (f, m, "none", m->imap_port, "none");
  text
      = g_strdup_printf ("From: Alice Example <alice@example.org>\r\nTo: bot@example.test\r\n"
                         "Subject: Report\r\nMessage-ID: <att1@example.org>\r\n"
                         "Date: Tue, 01 Dec 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n"
                         "Content-Type: multipart/mixed; boundary=\"outer\"\r\n\r\n"
                         "This is a multi-part message in MIME format.\r\n"
                         "--outer\r\nContent-Type: multipart/alternative; boundary=\"alt\"\r\n\r\n"
                         "--alt\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
                         "Please review the attached report.\r\n"
                         "--alt\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
                         "<p>Please review the attached report.</p>\r\n--alt--\r\n"
                         "--outer\r\nContent-Type: application/pdf; name=\"report.pdf\"\r\n"
                         "Content-Disposition: attachment; filename=\"report.pdf\"\r\n"
                         "Content-Transfer-Encoding: base64\r\n\r\n%s\r\n"
                         "--outer\r\nContent-Type: image/png\r\nContent-ID: <chart@example.org>\r\n"
                         "Content-Disposition: inline; filename=chart.png\r\n"
                         "Content-Transfer-Encoding: base64\r\n\r\n%s\r\n--outer--\r\n",
                         pdf64, png64);
  mail_server_deliver_raw (m, text);
  mails = mail_server_wait_sent (m, 1);
  g_assert_nonnull (strstr (mails->pdata[0], "Hello from the fake."));
  g_assert_cmpuint (integ_llm_requests (f), ==, 1);
  requests = agent_fixture_llm_requests (f);
  content = integ_llm_last_content (requests, 0);
  g_assert_true (
      g_str_has_prefix (content, "[Email | Alice Example]: Please review the attached report."));
  integ_assert_attached (content, "pdf", "report.pdf", PDF_BYTES, strlen (PDF_BYTES));
  integ_assert_attached (content, "image", "chart.png", PNG_BYTES, strlen (PNG_BYTES));
}

static void
test_duplicate (void)
{
  g_autoptr (AgentFixture) f = integ_fixture_new (HELLO_SCRIPT);
  g_autoptr (MailServer) m = NULL;
  g_autoptr (GPtrArray) mails = NULL, after = NULL;

  if (f == NULL)
    return;
  m = start_mail ();
  connect_email (f, m, "none", m->imap_port, "none");
  /* The same mail twice (a resend, a second delivery path): one answer. */
  mail_server_deliver (m, "alice@example.org", "<same@example.org>", "Twice", "only once please");
  mail_server_deliver (m, "alice@example.org", "<same@example.org>", "Twice", "only once please");
  mail_server_deliver (m, "alice@example.org", "<other@example.org>", "Other", "and this one");
  mails = mail_server_wait_sent (m, 2);
  g_usleep (1500000);
  after = mail_server_sent (m);
  g_assert_cmpuint (after->len, ==, 2);
  g_assert_cmpuint (integ_llm_requests (f), ==, 2);
}

static void
test_backlog (void)
{
  g_autoptr (AgentFixture) f = integ_fixture_new (HELLO_SCRIPT);
  g_autoptr (MailServer) m = NULL;
  g_autoptr (GPtrArray) mails = NULL, after = NULL;
  g_autoptr (JsonObject) down = NULL, up = NULL;

  if (f == NULL)
    return;
  m = start_mail ();
  connect_email (f, m, "none", m->imap_port, "none");
  mail_server_deliver (m, "alice@example.org", "<b0@example.org>", "Before", "before the outage");
  g_ptr_array_unref (mail_server_wait_sent (m, 1));
  mail_server_stop_imap (m);
  down = integ_wait_connected (f, "email", FALSE);
  g_assert_cmpstr (json_object_get_string_member (down, "health"), ==, "unhealthy");
  /* Mail keeps arriving while IMAP is down. */
  mail_server_deliver (m, "alice@example.org", "<b1@example.org>", "During 1", "first while down");
  mail_server_deliver (m, "alice@example.org", "<b2@example.org>", "During 2", "second while down");
  mail_server_start_imap (m);
  integ_set_clock (f, integ_t0 () + 10 * 60 * 1000);
  up = integ_wait_connected (f, "email", TRUE);
  mails = mail_server_wait_sent (m, 3);
  g_usleep (1500000);
  after = mail_server_sent (m);
  g_assert_cmpuint (after->len, ==, 3);
  g_assert_cmpuint (integ_llm_requests (f), ==, 3);
  g_assert_nonnull (strstr (after->pdata[1], "In-Reply-To: <b1@example.org>"));
  g_assert_nonnull (strstr (after->pdata[2], "In-Reply-To: <b2@example.org>"));
}

/* daemon_health's count of outbox rows in @state. */
static gint64
outbox_count (AgentFixture *f, const gchar *state)
{
  g_autoptr (JsonNode) health = integ_call (f, "daemon_health", NULL);
  JsonArray *plugins = json_object_get_array_member (cw_test_obj (health), "plugins");

  for (guint i = 0; i < json_array_get_length (plugins); i++)
    {
      JsonObject *p = json_array_get_object_element (plugins, i);
      if (g_str_equal (json_object_get_string_member (p, "name"), "integrations"))
        return json_object_get_int_member (
            json_object_get_object_member (json_object_get_object_member (p, "details"), "outbox"),
            state);
    }
  g_error ("no integrations plugin in daemon_health");
}

/* A reply in flight when the daemon dies may or may not have arrived: after the restart it
 * is reported unknown and not sent again. */
static void
test_unknown_send (void)
{
  g_autoptr (AgentFixture) f = integ_fixture_new (HELLO_SCRIPT);
  g_autoptr (MailServer) m = NULL;
  g_autoptr (GPtrArray) mails = NULL;
  gint64 deadline = g_get_monotonic_time () + 20 * G_TIME_SPAN_SECOND;

  if (f == NULL)
    return;
  m = start_mail ();
  connect_email (f, m, "none", m->imap_port, "none");
  /* The SMTP server stops answering: the kernel still accepts, the greeting never comes. */
  g_subprocess_send_signal (m->smtpd, SIGSTOP);
  mail_server_deliver (m, "alice@example.org", "<u1@example.org>", "Lost?", "are you there");
  while (outbox_count (f, "sending") < 1)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (50000);
    }
  agent_fixture_stop (f, SIGKILL);
  g_subprocess_send_signal (m->smtpd, SIGCONT);
  agent_fixture_start (f);
  g_assert_cmpint (outbox_count (f, "unknown"), ==, 1);
  g_assert_cmpint (outbox_count (f, "sending"), ==, 0);
  g_assert_cmpint (outbox_count (f, "pending"), ==, 0);
  json_object_unref (integ_wait_connected (f, "email", TRUE));
  g_usleep (1500000);
  mails = mail_server_sent (m);
  g_assert_cmpuint (mails->len, ==, 0);
  /* The message was answered (the reply is the unknown one): the agent is not asked again. */
  g_assert_cmpuint (integ_llm_requests (f), ==, 1);
}

static void
test_tls (void)
{
  g_autoptr (AgentFixture) f = integ_fixture_new (HELLO_SCRIPT);
  g_autoptr (MailServer) m = NULL;
  g_autoptr (GPtrArray) mails = NULL;
  g_autoptr (JsonNode) status = NULL;

  if (f == NULL)
    return;
  m = start_mail ();
  /* IMAP and SMTP both upgraded with STARTTLS, checked against the test CA. */
  connect_email (f, m, "starttls", m->imap_port, "starttls");
  mail_server_deliver (m, "alice@example.org", "<t1@example.org>", "Secure", "over TLS");
  /* The SMTP server took the mail only after STARTTLS and AUTH with the stored password. */
  mails = mail_server_wait_sent (m, 1);
  g_assert_nonnull (strstr (mails->pdata[0], "In-Reply-To: <t1@example.org>"));
  /* And IMAPS from the first byte. */
  status = integ_call (f, "integration_disconnect", "{\"platform\":\"email\"}");
  connect_email (f, m, "tls", m->imaps_port, "none");
}

#define MEDIA_SCRIPT                                                                               \
  "{\"responses\":[{\"events\":[{\"toolCall\":{\"id\":\"call_1\",\"name\":\"make_media\","         \
  "\"args\":{\"mediaType\":\"image\",\"size\":300}}}]},{\"events\":[{\"text\":\"Here it "          \
  "is.\"}]}]}"

/* @mail with LF line ends (the Maildir has them so). */
static gchar *
lf_lines (const gchar *mail)
{
  g_autoptr (GRegex) re = g_regex_new ("\r\n", 0, 0, NULL);

  return g_regex_replace_literal (re, mail, -1, 0, "\n", 0, NULL);
}

/* The decoded part after @marker (its headers end at a blank line, its base64 at "--"). */
static GBytes *
attachment (const gchar *mail, const gchar *marker)
{
  const gchar *start = strstr (mail, marker);
  const gchar *body = start != NULL ? strstr (start, "\n\n") : NULL;
  const gchar *end = body != NULL ? strstr (body, "\n--") : NULL;
  g_autofree gchar *encoded = NULL;
  gsize length;
  guchar *data;

  g_assert_nonnull (end);
  encoded = g_strndup (body + 2, end - body - 2);
  data = g_base64_decode (encoded, &length);
  return g_bytes_new_take (data, length);
}

/* A generated image is a second reply mail, multipart/mixed with the caption and the file
 * attached, in the same thread; the real mailbox has it. */
static void
test_media (void)
{
  g_autoptr (AgentFixture) f = integ_fixture_new (MEDIA_SCRIPT);
  g_autoptr (MailServer) m = NULL;
  g_autoptr (GPtrArray) mails = NULL;
  g_autoptr (GBytes) file = NULL;
  g_autofree gchar *irt = NULL, *refs = NULL, *subject = NULL, *mail = NULL;
  const gchar *text = NULL;
  const guchar *bytes;
  gsize size;

  if (f == NULL)
    return;
  integ_load_media_plugin (f);
  m = start_mail ();
  connect_email (f, m, "none", m->imap_port, "none");
  mail_server_deliver (m, "alice@example.org", "<p1@example.org>", "Picture", "Draw me a cat.");
  mails = mail_server_wait_sent (m, 2);
  for (guint i = 0; i < mails->len; i++)
    if (strstr (mails->pdata[i], "multipart/mixed") != NULL)
      mail = lf_lines (mails->pdata[i]);
    else
      text = mails->pdata[i];
  g_assert_nonnull (mail);
  g_assert_nonnull (strstr (text, "Here it is."));
  subject = header (mail, "Subject");
  irt = header (mail, "In-Reply-To");
  refs = header (mail, "References");
  g_assert_cmpstr (subject, ==, "Re: Picture");
  g_assert_cmpstr (irt, ==, "<p1@example.org>");
  g_assert_cmpstr (refs, ==, "<p1@example.org>");
  g_assert_nonnull (strstr (mail, "\n\nGenerated image\n--"));
  g_assert_nonnull (strstr (mail, "Content-Type: image/png; name=\"image.png\""));
  file = attachment (mail, "Content-Disposition: attachment; filename=\"image.png\"");
  bytes = g_bytes_get_data (file, &size);
  g_assert_cmpuint (size, ==, 300);
  for (gsize i = 0; i < size; i++)
    g_assert_cmpuint (bytes[i], ==, (guchar) (i * 7 + 3));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/integrations/email/reply", test_reply);
  g_test_add_func ("/integrations/email/duplicate", test_duplicate);
  g_test_add_func ("/integrations/email/attachment", test_attachment);
  g_test_add_func ("/integrations/email/backlog", test_backlog);
  g_test_add_func ("/integrations/email/unknown-send", test_unknown_send);
  g_test_add_func ("/integrations/email/tls", test_tls);
  g_test_add_func ("/integrations/email/media", test_media);
  return g_test_run ();
}
