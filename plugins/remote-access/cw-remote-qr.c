/* cw-remote-qr.c: the pairing QR code as a PNG data URL.
 *
 * libqrencode gives the modules; the PNG is written here: 8-bit greyscale, one IHDR, one
 * zlib-compressed IDAT (GLib's GZlibCompressor), IEND, each chunk with its CRC-32.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-remote-plugin.h"

#include <errno.h>
#include <qrencode.h>
#include <string.h>

static guint32 crc_table[256];

static void
init_crc_table (void)
{
  static gsize done = 0;

  if (!g_once_init_enter (&done))
    return;
  for (guint32 n = 0; n < 256; n++)
    {
      guint32 c = n;
      for (guint k = 0; k < 8; k++)
        c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
      crc_table[n] = c;
    }
  g_once_init_leave (&done, 1);
}

static guint32
crc32_update (guint32 crc, const guint8 *buf, gsize len)
{
  for (gsize i = 0; i < len; i++)
    crc = crc_table[(crc ^ buf[i]) & 0xff] ^ (crc >> 8);
  return crc;
}

static void
put_u32 (GByteArray *out, guint32 v)
{
  guint8 b[4] = { v >> 24, v >> 16, v >> 8, v };

  g_byte_array_append (out, b, 4);
}

static void
put_chunk (GByteArray *out, const gchar *type, const guint8 *data, gsize len)
{
  guint32 crc = 0xffffffffu;

  put_u32 (out, (guint32) len);
  g_byte_array_append (out, (const guint8 *) type, 4);
  if (len > 0)
    g_byte_array_append (out, data, len);
  crc = crc32_update (crc, (const guint8 *) type, 4);
  crc = crc32_update (crc, data, len);
  put_u32 (out, crc ^ 0xffffffffu);
}

static GBytes *
zlib_compress (const guint8 *data, gsize len, GError **error)
{
  g_autoptr (GZlibCompressor) z = g_zlib_compressor_new (G_ZLIB_COMPRESSOR_FORMAT_ZLIB, 9);
  g_autoptr (GOutputStream) mem = g_memory_output_stream_new_resizable ();
  g_autoptr (GOutputStream) conv = g_converter_output_stream_new (mem, G_CONVERTER (z));

  if (!g_output_stream_write_all (conv, data, len, NULL, NULL, error)
      || !g_output_stream_close (conv, NULL, error))
    return NULL;
  return g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (mem));
}

GBytes *
cw_remote_png_encode_grey (const guint8 *pixels, guint width, guint height, GError **error)
{
  static const guint8 signature[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
  g_autoptr (GByteArray) out = g_byte_array_new ();
  g_autoptr (GByteArray) raw = g_byte_array_sized_new ((width + 1) * height);
  g_autoptr (GByteArray) ihdr = g_byte_array_new ();
  g_autoptr (GBytes) idat = NULL;
  static const guint8 filter_none = 0;
  guint8 tail[5] = { 8, 0, 0, 0, 0 }; /* bit depth 8, greyscale, deflate, no filter, no lace */

  init_crc_table ();
  for (guint y = 0; y < height; y++)
    {
      g_byte_array_append (raw, &filter_none, 1);
      g_byte_array_append (raw, pixels + (gsize) y * width, width);
    }
  idat = zlib_compress (raw->data, raw->len, error);
  if (idat == NULL)
    return NULL;
  put_u32 (ihdr, width);
  put_u32 (ihdr, height);
  g_byte_array_append (ihdr, tail, 5);
  g_byte_array_append (out, signature, 8);
  put_chunk (out, "IHDR", ihdr->data, ihdr->len);
  put_chunk (out, "IDAT", g_bytes_get_data (idat, NULL), g_bytes_get_size (idat));
  put_chunk (out, "IEND", NULL, 0);
  return g_byte_array_free_to_bytes (g_steal_pointer (&out));
}

gchar *
cw_remote_qr_png_data_url (const gchar *text, guint width, GError **error)
{
  QRcode *qr = QRcode_encodeString (text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
  g_autofree guint8 *pixels = NULL;
  g_autoptr (GBytes) png = NULL;
  g_autofree gchar *b64 = NULL;
  guint modules, scale, size, offset;

  if (qr == NULL)
    {
      g_set_error (error, CW_ERROR, CW_ERROR_INTERNAL, "cannot make a QR code: %s",
                   g_strerror (errno));
      return NULL;
    }
  modules = (guint) qr->width + 2; /* margin 1 on each side */
  scale = MAX (width / modules, 1);
  size = MAX (width, modules * scale);
  offset = (size - modules * scale) / 2 + scale;
  pixels = g_malloc ((gsize) size * size);
  memset (pixels, 255, (gsize) size * size);
  for (gint y = 0; y < qr->width; y++)
    for (gint x = 0; x < qr->width; x++)
      if (qr->data[y * qr->width + x] & 1)
        for (guint dy = 0; dy < scale; dy++)
          memset (pixels + (gsize) (offset + y * scale + dy) * size + offset + x * scale, 0, scale);
  QRcode_free (qr);
  png = cw_remote_png_encode_grey (pixels, size, size, error);
  if (png == NULL)
    return NULL;
  b64 = g_base64_encode (g_bytes_get_data (png, NULL), g_bytes_get_size (png));
  return g_strconcat ("data:image/png;base64,", b64, NULL);
}
