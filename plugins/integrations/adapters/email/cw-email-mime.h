/* cw-email-mime.h: the MIME structure of a mail (RFC 2045, 2046, 2047, 2183) as far as the
 * email adapter needs it: headers, the text the person wrote, and the files attached to it.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The unfolded value of header @name in @headers, or NULL. */
gchar *cw_email_header_value (const gchar *headers, const gchar *name);
/* A header's RFC 2047 encoded words decoded to UTF-8. */
gchar *cw_email_decode_words (const gchar *text);
/* Parameter @name of a header value ("boundary", "charset", "filename"), or NULL. */
gchar *cw_email_param (const gchar *header, const gchar *name);
/* Splits a message (or a MIME part) into its headers (new) and body (inside @text). */
void cw_email_split_part (const gchar *text, gchar **headers, const gchar **body);
/* The text of a part: its transfer encoding undone, in UTF-8; multiparts give their first
 * text/plain part. */
gchar *cw_email_part_text (const gchar *headers, const gchar *body, guint depth);

/* A file attached to a mail: a part with Content-Disposition attachment, or an inline part
 * that is not text (an inline image). */
typedef struct
{
  gchar *section;   /* the IMAP body section ("2", "1.2"), for BODY.PEEK[<section>] */
  gchar *name;      /* the file name (filename, or the Content-Type name), or "attachment" */
  gchar *mime_type; /* lower case, without parameters */
  gchar *encoding;  /* the Content-Transfer-Encoding, lower case ("base64", "7bit") */
  gint64 size;      /* the decoded size, estimated from the encoded body */
} CwEmailAttachment;

void cw_email_attachment_free (CwEmailAttachment *attachment);
/* The attachments of the message @headers / @body, in order (at most 16, nested multiparts
 * to a depth of 4; the parts of an attached message/rfc822 are its own). */
GPtrArray *cw_email_attachments (const gchar *headers, const gchar *body);
/* The content of a part body with @encoding (base64, quoted-printable, else as it is). */
GBytes *cw_email_decode_body (const gchar *body, gsize length, const gchar *encoding);

G_END_DECLS
