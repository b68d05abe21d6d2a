/* cw-util.c: ids, clocks and JSON (de)serialisation shared by core and plugins.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cowork.h"

#include <sys/random.h>

gint64
cw_now_ms (void)
{
  return g_get_real_time () / 1000;
}

void
cw_random_bytes (guint8 *buf, gsize len)
{
  gsize done = 0;

  while (done < len)
    {
      gssize n = getrandom (buf + done, len - done, 0);
      if (n > 0)
        done += (gsize) n;
      else if (errno != EINTR)
        g_error ("getrandom failed: %s", g_strerror (errno));
    }
}

gchar *
cw_make_id (const gchar *prefix)
{
  static const gchar alphabet[]
      = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  guint8 raw[16];
  gchar out[17];

  cw_random_bytes (raw, sizeof raw);
  for (guint i = 0; i < 16; i++)
    out[i] = alphabet[raw[i] & 63];
  out[16] = '\0';
  return g_strdup_printf ("%s_%s", prefix, out);
}

gchar *
cw_random_hex (gsize n_bytes)
{
  g_autofree guint8 *raw = g_malloc (n_bytes);
  GString *out = g_string_sized_new (n_bytes * 2);

  cw_random_bytes (raw, n_bytes);
  for (gsize i = 0; i < n_bytes; i++)
    g_string_append_printf (out, "%02x", raw[i]);
  return g_string_free (out, FALSE);
}

gchar *
cw_json_to_string (JsonNode *node)
{
  g_autoptr (JsonGenerator) gen = json_generator_new ();

  json_generator_set_root (gen, node);
  return json_generator_to_data (gen, NULL);
}

/* Whether a \u escape at @p (pointing at the 'u') spells U+0000. */
static gboolean
is_escaped_nul (const gchar *p, const gchar *end)
{
  return end - p >= 5 && memcmp (p, "u0000", 5) == 0;
}

gboolean
cw_json_check_text (const gchar *text, gsize length, GError **error)
{
  const gchar *end = text + length;
  guint depth = 0;

  for (const gchar *p = text; p < end; p++)
    {
      switch (*p)
        {
          case '"':
            /* Skip the string: only escapes matter inside it. */
            for (p++; p < end && *p != '"'; p++)
              if (*p == '\\' && ++p < end && *p == 'u' && is_escaped_nul (p, end))
                {
                  g_set_error_literal (error, CW_ERROR, CW_ERROR_INVALID_PARAMS,
                                       "JSON strings may not contain NUL (\\u0000)");
                  return FALSE;
                }
            break;
          case '[':
          case '{':
            if (++depth > CW_JSON_MAX_DEPTH)
              {
                g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS,
                             "JSON nested deeper than %d levels", CW_JSON_MAX_DEPTH);
                return FALSE;
              }
            break;
          case ']':
          case '}':
            if (depth > 0)
              depth--;
            break;
          default:
            break;
        }
    }
  return TRUE;
}

JsonNode *
cw_json_from_string (const gchar *text, gssize length, GError **error)
{
  g_autoptr (JsonParser) parser = NULL;

  g_return_val_if_fail (text != NULL, NULL);
  if (length < 0)
    length = (gssize) strlen (text);
  if (!cw_json_check_text (text, (gsize) length, error))
    return NULL;
  parser = json_parser_new ();
  if (!json_parser_load_from_data (parser, text, length, error))
    return NULL;
  if (json_parser_get_root (parser) == NULL)
    {
      g_set_error_literal (error, CW_ERROR, CW_ERROR_INVALID_PARAMS, "empty JSON document");
      return NULL;
    }
  return json_parser_steal_root (parser);
}

void
cw_json_append_string (GString *out, const gchar *value)
{
  g_string_append_c (out, '"');
  for (const guchar *p = (const guchar *) value; *p != '\0'; p++)
    {
      switch (*p)
        {
          case '"':
            g_string_append (out, "\\\"");
            break;
          case '\\':
            g_string_append (out, "\\\\");
            break;
          case '\n':
            g_string_append (out, "\\n");
            break;
          case '\r':
            g_string_append (out, "\\r");
            break;
          case '\t':
            g_string_append (out, "\\t");
            break;
          default:
            if (*p < 0x20)
              g_string_append_printf (out, "\\u%04x", *p);
            else
              g_string_append_c (out, (gchar) *p);
        }
    }
  g_string_append_c (out, '"');
}

void
cw_json_append_object (GString *out, JsonObject *object)
{
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autoptr (JsonNode) node = json_node_new (JSON_NODE_OBJECT);

  json_node_set_object (node, object);
  json_generator_set_root (gen, node);
  json_generator_to_gstring (gen, out);
}
