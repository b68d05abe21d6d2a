/* test-email-mime.c: the email adapter's MIME reading (adapters/email/cw-email-mime.c): which
 * parts of a mail are attachments, their IMAP sections, names, types and sizes, and their
 * content decoded.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "adapters/email/cw-email-mime.h"

#include <string.h>

static GPtrArray *
attachments_of (const gchar *mail)
{
  g_autofree gchar *headers = NULL;
  const gchar *body;

  cw_email_split_part (mail, &headers, &body);
  return cw_email_attachments (headers, body);
}

static CwEmailAttachment *
nth (GPtrArray *list, guint i)
{
  return g_ptr_array_index (list, i);
}

/* Text and HTML alternatives are the mail, not attachments; a PDF attachment and an inline
 * image are, with their sections in the nested structure. */
static void
test_sections (void)
{
  const gchar *mail
      = "Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
        "preamble\r\n"
        "--b1\r\nContent-Type: multipart/related; boundary=b2\r\n\r\n"
        "--b2\r\nContent-Type: multipart/alternative; boundary=\"b3\"\r\n\r\n"
        "--b3\r\nContent-Type: text/plain\r\n\r\nhi\r\n"
        "--b3\r\nContent-Type: text/html\r\n\r\n<p>hi</p>\r\n--b3--\r\n"
        "--b2\r\nContent-Type: image/png; name=\"logo.png\"\r\nContent-ID: <l@x>\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\naGVsbG8g\r\nd29ybGQ=\r\n--b2--\r\n"
        "--b1\r\nContent-Type: application/pdf\r\n"
        "Content-Disposition: attachment;\r\n filename*=utf-8''Q3%20report.pdf\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\nJVBERi0=\r\n"
        "--b1\r\nContent-Type: text/plain; charset=utf-8\r\n"
        "Content-Disposition: attachment; filename=\"=?utf-8?q?notes_=C3=A4.txt?=\"\r\n\r\n"
        "plain notes\r\n--b1--\r\nepilogue\r\n";
  g_autoptr (GPtrArray) list = attachments_of (mail);

  g_assert_cmpuint (list->len, ==, 3);
  g_assert_cmpstr (nth (list, 0)->section, ==, "1.2");
  g_assert_cmpstr (nth (list, 0)->name, ==, "logo.png");
  g_assert_cmpstr (nth (list, 0)->mime_type, ==, "image/png");
  g_assert_cmpstr (nth (list, 0)->encoding, ==, "base64");
  g_assert_cmpint (nth (list, 0)->size, ==, 11); /* "hello world" */
  g_assert_cmpstr (nth (list, 1)->section, ==, "2");
  g_assert_cmpstr (nth (list, 1)->name, ==, "Q3 report.pdf");
  g_assert_cmpstr (nth (list, 1)->mime_type, ==, "application/pdf");
  g_assert_cmpstr (nth (list, 2)->section, ==, "3");
  g_assert_cmpstr (nth (list, 2)->name, ==, "notes ä.txt");
  g_assert_cmpstr (nth (list, 2)->encoding, ==, "7bit");
  g_assert_cmpint (nth (list, 2)->size, ==, strlen ("plain notes"));
}

/* A single-part mail is one section ("1"): a PDF sent as the whole mail is its attachment; a
 * plain text mail has none. */
static void
test_single_part (void)
{
  g_autoptr (GPtrArray) pdf = attachments_of (
      "Content-Type: application/pdf; name=scan.pdf\r\nContent-Transfer-Encoding: base64\r\n"
      "\r\nJVBERi0=\r\n");
  g_autoptr (GPtrArray) text = attachments_of ("Content-Type: text/plain\r\n\r\njust text\r\n");
  g_autoptr (GPtrArray) bare = attachments_of ("Subject: no MIME at all\r\n\r\njust text\r\n");

  g_assert_cmpuint (pdf->len, ==, 1);
  g_assert_cmpstr (nth (pdf, 0)->section, ==, "1");
  g_assert_cmpstr (nth (pdf, 0)->name, ==, "scan.pdf");
  g_assert_cmpuint (text->len, ==, 0);
  g_assert_cmpuint (bare->len, ==, 0);
}

static void
test_decode (void)
{
  g_autoptr (GBytes) b64 = cw_email_decode_body ("aGVs\r\nbG8=\r\n", 12, "base64");
  g_autoptr (GBytes) qp = cw_email_decode_body ("caf=C3=A9 =\r\nau lait", 21, "quoted-printable");
  g_autoptr (GBytes) raw = cw_email_decode_body ("as is", 5, "8bit");

  g_assert_cmpmem (g_bytes_get_data (b64, NULL), g_bytes_get_size (b64), "hello", 5);
  g_assert_cmpmem (g_bytes_get_data (qp, NULL), g_bytes_get_size (qp), "café au lait",
                   strlen ("café au lait"));
  g_assert_cmpmem (g_bytes_get_data (raw, NULL), g_bytes_get_size (raw), "as is", 5);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/integrations/email-mime/sections", test_sections);
  g_test_add_func ("/integrations/email-mime/single-part", test_single_part);
  g_test_add_func ("/integrations/email-mime/decode", test_decode);
  return g_test_run ();
}
