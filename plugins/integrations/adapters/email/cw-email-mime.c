/* cw-email-mime.c: see cw-email-mime.h.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-email-mime.h"

#include <string.h>

#define MAX_ATTACHMENTS 16
#define MAX_DEPTH       4

gchar *
cw_email_header_value (const gchar *headers, const gchar *name)
{
  g_auto (GStrv) lines = g_strsplit (headers, "\n", -1);
  GString *value = NULL;

  for (guint i = 0; lines[i] != NULL; i++)
    {
      gchar *line = g_strchomp (lines[i]);
      if (value != NULL)
        {
          if (*line == ' ' || *line == '\t')
            {
              g_string_append_c (value, ' ');
              g_string_append (value, g_strchug (line));
              continue;
            }
          break;
        }
      if (g_ascii_strncasecmp (line, name, strlen (name)) == 0 && line[strlen (name)] == ':')
        value = g_string_new (g_strstrip (line + strlen (name) + 1));
    }
  return value != NULL ? g_string_free (value, FALSE) : NULL;
}

static gchar *
decode_qp (const gchar *text, gboolean header)
{
  GString *out = g_string_new (NULL);

  for (const gchar *p = text; *p != '\0'; p++)
    {
      if (*p == '=' && p[1] == '\r' && p[2] == '\n')
        p += 2;
      else if (*p == '=' && p[1] == '\n')
        p += 1;
      else if (*p == '=' && g_ascii_isxdigit (p[1]) && g_ascii_isxdigit (p[2]))
        {
          g_string_append_c (
              out, (gchar) (g_ascii_xdigit_value (p[1]) * 16 + g_ascii_xdigit_value (p[2])));
          p += 2;
        }
      else if (header && *p == '_')
        g_string_append_c (out, ' ');
      else
        g_string_append_c (out, *p);
    }
  return g_string_free (out, FALSE);
}

static gchar *
to_utf8 (const gchar *data, gsize len, const gchar *charset)
{
  gchar *out;

  if (charset == NULL || g_ascii_strcasecmp (charset, "utf-8") == 0
      || g_ascii_strcasecmp (charset, "us-ascii") == 0)
    out = g_strndup (data, len);
  else if ((out = g_convert (data, len, "UTF-8", charset, NULL, NULL, NULL)) == NULL)
    out = g_strndup (data, len);
  if (!g_utf8_validate (out, -1, NULL))
    {
      gchar *valid = g_utf8_make_valid (out, -1);
      g_free (out);
      out = valid;
    }
  return out;
}

/* RFC 2047 encoded words in a header. */
gchar *
cw_email_decode_words (const gchar *text)
{
  g_autoptr (GRegex) re
      = g_regex_new ("=\\?([^?]+)\\?([BbQq])\\?([^?]*)\\?=(\\s+(?==\\?))?", 0, 0, NULL);
  g_autoptr (GMatchInfo) match = NULL;
  GString *out = g_string_new (NULL);
  gint last = 0;

  g_regex_match (re, text, 0, &match);
  while (g_match_info_matches (match))
    {
      gint start, end;
      g_autofree gchar *charset = g_match_info_fetch (match, 1);
      g_autofree gchar *kind = g_match_info_fetch (match, 2);
      g_autofree gchar *data = g_match_info_fetch (match, 3);
      g_autofree gchar *raw = NULL;
      g_autofree gchar *utf8 = NULL;
      gsize len;

      g_match_info_fetch_pos (match, 0, &start, &end);
      g_string_append_len (out, text + last, start - last);
      if (g_ascii_toupper (*kind) == 'B')
        {
          raw = (gchar *) g_base64_decode (data, &len);
          utf8 = to_utf8 (raw, len, charset);
        }
      else
        {
          raw = decode_qp (data, TRUE);
          utf8 = to_utf8 (raw, strlen (raw), charset);
        }
      g_string_append (out, utf8);
      last = end;
      g_match_info_next (match, NULL);
    }
  g_string_append (out, text + last);
  return g_string_free (out, FALSE);
}

gchar *
cw_email_param (const gchar *header, const gchar *name)
{
  g_autofree gchar *pattern = g_strdup_printf ("(?:^|[;\\s])%s=\"?([^\";]+)\"?", name);
  g_autoptr (GRegex) re = g_regex_new (pattern, G_REGEX_CASELESS, 0, NULL);
  g_autoptr (GMatchInfo) match = NULL;

  if (header == NULL || !g_regex_match (re, header, 0, &match))
    return NULL;
  return g_match_info_fetch (match, 1);
}

/* Splits a message (or a MIME part) into headers and body. */
void
cw_email_split_part (const gchar *text, gchar **headers, const gchar **body)
{
  const gchar *crlf = strstr (text, "\r\n\r\n");
  const gchar *lf = strstr (text, "\n\n");
  const gchar *end = crlf != NULL && (lf == NULL || crlf < lf) ? crlf : lf;

  if (end == NULL)
    {
      *headers = g_strdup (text);
      *body = text + strlen (text);
      return;
    }
  *headers = g_strndup (text, end - text);
  *body = end + (end == crlf ? 4 : 2);
}

/* The text of a part: its transfer encoding undone, in UTF-8; multiparts give their first
 * text/plain part. */
gchar *
cw_email_part_text (const gchar *headers, const gchar *body, guint depth)
{
  g_autofree gchar *type = cw_email_header_value (headers, "Content-Type");
  g_autofree gchar *encoding = cw_email_header_value (headers, "Content-Transfer-Encoding");
  g_autofree gchar *charset = cw_email_param (type, "charset");

  if (type != NULL && g_ascii_strncasecmp (type, "multipart/", 10) == 0 && depth < 4)
    {
      g_autofree gchar *boundary = cw_email_param (type, "boundary");
      g_autofree gchar *marker = boundary != NULL ? g_strconcat ("--", boundary, NULL) : NULL;
      g_auto (GStrv) parts = marker != NULL ? g_strsplit (body, marker, -1) : NULL;

      for (guint i = 1; parts != NULL && parts[i] != NULL; i++)
        {
          g_autofree gchar *sub_headers = NULL;
          g_autofree gchar *sub_type = NULL;
          const gchar *sub_body;
          if (g_str_has_prefix (parts[i], "--"))
            break;
          cw_email_split_part (parts[i] + strspn (parts[i], "\r\n"), &sub_headers, &sub_body);
          sub_type = cw_email_header_value (sub_headers, "Content-Type");
          if (sub_type == NULL || g_ascii_strncasecmp (sub_type, "text/plain", 10) == 0
              || g_ascii_strncasecmp (sub_type, "multipart/", 10) == 0)
            return cw_email_part_text (sub_headers, sub_body, depth + 1);
        }
      return g_strdup ("");
    }
  if (type != NULL && g_ascii_strncasecmp (type, "text/", 5) != 0)
    return g_strdup ("");
  if (encoding != NULL && g_ascii_strcasecmp (encoding, "base64") == 0)
    {
      gsize len;
      g_autofree guchar *raw = g_base64_decode (body, &len);
      return to_utf8 ((const gchar *) raw, len, charset);
    }
  if (encoding != NULL && g_ascii_strcasecmp (encoding, "quoted-printable") == 0)
    {
      g_autofree gchar *raw = decode_qp (body, FALSE);
      return to_utf8 (raw, strlen (raw), charset);
    }
  return to_utf8 (body, strlen (body), charset);
}

/* ---- attachments --------------------------------------------------------------------------- */

void
cw_email_attachment_free (CwEmailAttachment *attachment)
{
  g_free (attachment->section);
  g_free (attachment->name);
  g_free (attachment->mime_type);
  g_free (attachment->encoding);
  g_free (attachment);
}

/* "image/png; name=x" -> "image/png" */
static gchar *
bare_type (const gchar *type)
{
  const gchar *end = type != NULL ? strpbrk (type, "; \t") : NULL;
  g_autofree gchar *bare = type == NULL  ? g_strdup ("text/plain")
                           : end != NULL ? g_strndup (type, end - type)
                                         : g_strdup (type);

  return g_ascii_strdown (g_strstrip (bare), -1);
}

/* A filename parameter: plain, quoted, encoded words, or RFC 2231 (filename*=utf-8''a%20b). */
static gchar *
file_name (const gchar *disposition, const gchar *type)
{
  g_autofree gchar *plain = cw_email_param (disposition, "filename");
  g_autofree gchar *extended = plain == NULL ? cw_email_param (disposition, "filename\\*") : NULL;

  if (plain == NULL && extended != NULL)
    {
      const gchar *quote = strstr (extended, "''");
      g_autofree gchar *unescaped
          = g_uri_unescape_string (quote != NULL ? quote + 2 : extended, NULL);
      if (unescaped != NULL)
        return g_steal_pointer (&unescaped);
    }
  if (plain == NULL)
    plain = cw_email_param (type, "name");
  return plain != NULL ? cw_email_decode_words (plain) : NULL;
}

static gint64
decoded_size (const gchar *body, gsize length, const gchar *encoding)
{
  gsize chars = 0;

  if (g_strcmp0 (encoding, "base64") != 0)
    return (gint64) length;
  for (gsize i = 0; i < length; i++)
    if (g_ascii_isalnum (body[i]) || body[i] == '+' || body[i] == '/')
      chars++;
  return (gint64) (chars * 3 / 4);
}

static void
walk (const gchar *headers, const gchar *body, gsize length, const gchar *section, guint depth,
      GPtrArray *out)
{
  g_autofree gchar *type = cw_email_header_value (headers, "Content-Type");
  g_autofree gchar *mime = bare_type (type);
  g_autofree gchar *disposition = cw_email_header_value (headers, "Content-Disposition");
  g_autofree gchar *encoding_raw = cw_email_header_value (headers, "Content-Transfer-Encoding");
  g_autofree gchar *name = NULL;
  gboolean attached;

  if (out->len >= MAX_ATTACHMENTS)
    return;
  if (g_str_has_prefix (mime, "multipart/") && depth < MAX_DEPTH)
    {
      g_autofree gchar *boundary = cw_email_param (type, "boundary");
      g_autofree gchar *marker = boundary != NULL ? g_strconcat ("--", boundary, NULL) : NULL;
      const gchar *end = body + length;
      const gchar *p = marker != NULL ? g_strstr_len (body, length, marker) : NULL;
      guint n = 0;

      while (p != NULL)
        {
          const gchar *start = p + strlen (marker);
          const gchar *next;
          g_autofree gchar *part = NULL;
          g_autofree gchar *part_headers = NULL;
          g_autofree gchar *part_section = NULL;
          const gchar *part_body;
          gsize part_length;

          if (start + 2 <= end && start[0] == '-' && start[1] == '-')
            break; /* the closing delimiter */
          next = g_strstr_len (start, end - start, marker);
          part = g_strndup (start, (next != NULL ? next : end) - start);
          cw_email_split_part (part + strspn (part, "\r\n"), &part_headers, &part_body);
          part_length = strlen (part_body);
          /* the line break before the next delimiter belongs to the delimiter */
          if (part_length > 0 && part_body[part_length - 1] == '\n')
            part_length--;
          if (part_length > 0 && part_body[part_length - 1] == '\r')
            part_length--;
          n++;
          part_section = *section != '\0' ? g_strdup_printf ("%s.%u", section, n)
                                          : g_strdup_printf ("%u", n);
          walk (part_headers, part_body, part_length, part_section, depth + 1, out);
          p = next;
        }
      return;
    }
  attached = disposition != NULL && g_ascii_strncasecmp (disposition, "attachment", 10) == 0;
  name = file_name (disposition, type);
  /* inline: a file with a name that is not the text of the mail, or an image */
  if (!attached
      && !(g_str_has_prefix (mime, "image/")
           || (name != NULL && !g_str_has_prefix (mime, "text/")
               && !g_str_has_prefix (mime, "multipart/"))))
    return;
  {
    CwEmailAttachment *a = g_new0 (CwEmailAttachment, 1);
    a->section = g_strdup (*section != '\0' ? section : "1");
    a->name = name != NULL && *name != '\0' ? g_steal_pointer (&name) : g_strdup ("attachment");
    a->mime_type = g_steal_pointer (&mime);
    a->encoding = encoding_raw != NULL ? g_ascii_strdown (g_strstrip (encoding_raw), -1)
                                       : g_strdup ("7bit");
    a->size = decoded_size (body, length, a->encoding);
    g_ptr_array_add (out, a);
  }
}

GPtrArray *
cw_email_attachments (const gchar *headers, const gchar *body)
{
  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify) cw_email_attachment_free);

  walk (headers, body, strlen (body), "", 0, out);
  return out;
}

GBytes *
cw_email_decode_body (const gchar *body, gsize length, const gchar *encoding)
{
  g_autofree gchar *text = g_strndup (body, length);

  if (g_strcmp0 (encoding, "base64") == 0)
    {
      gsize len;
      guchar *raw = g_base64_decode (text, &len);
      return g_bytes_new_take (raw, len);
    }
  if (g_strcmp0 (encoding, "quoted-printable") == 0)
    {
      gchar *raw = decode_qp (text, FALSE);
      return g_bytes_new_take (raw, strlen (raw));
    }
  return g_bytes_new_take (g_steal_pointer (&text), length);
}
