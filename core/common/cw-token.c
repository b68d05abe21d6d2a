/* cw-token.c: the auth token file, owner-only, reused across restarts until rotated.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "cw-token-private.h"
#include "cowork-host.h"

#include <fcntl.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <unistd.h>

#define TOKEN_LENGTH 64

static gboolean
token_is_valid (const gchar *text, gsize len)
{
  if (len != TOKEN_LENGTH)
    return FALSE;
  for (gsize i = 0; i < len; i++)
    if (!g_ascii_isxdigit (text[i]))
      return FALSE;
  return TRUE;
}

gchar *
cw_token_read (const gchar *path, GError **error)
{
  g_autofree gchar *contents = NULL;
  gsize len = 0;
  gsize start = 0;

  if (!g_file_get_contents (path, &contents, &len, error))
    return NULL;
  /* Trim by length, not by C string: a NUL inside must not hide the rest. */
  while (len > 0 && g_ascii_isspace (contents[len - 1]))
    len--;
  while (start < len && g_ascii_isspace (contents[start]))
    start++;
  if (start == len)
    {
      g_set_error (error, CW_ERROR, CW_ERROR_NOT_FOUND, _ ("token file %s is empty"), path);
      return NULL;
    }
  if (!token_is_valid (contents + start, len - start))
    {
      g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS,
                   _ ("token file %s does not hold a token (%d hex characters)"), path,
                   TOKEN_LENGTH);
      return NULL;
    }
  return g_strndup (contents + start, len - start);
}

static gboolean
write_private_file (const gchar *path, const gchar *contents, GError **error)
{
  g_autofree gchar *dir = g_path_get_dirname (path);
  g_autofree gchar *tmp = g_strdup_printf ("%s.XXXXXX", path);
  gsize len = strlen (contents);
  int fd;

  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (errno), "failed to create %s: %s",
                   dir, g_strerror (errno));
      return FALSE;
    }
  fd = g_mkstemp_full (tmp, O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0)
    {
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (errno), "failed to write %s: %s",
                   path, g_strerror (errno));
      return FALSE;
    }
  if (write (fd, contents, len) != (gssize) len || fsync (fd) != 0)
    {
      int saved = errno;
      close (fd);
      g_unlink (tmp);
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved), "failed to write %s: %s",
                   path, g_strerror (saved));
      return FALSE;
    }
  close (fd);
  if (g_rename (tmp, path) != 0)
    {
      int saved = errno;
      g_unlink (tmp);
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved), "failed to write %s: %s",
                   path, g_strerror (saved));
      return FALSE;
    }
  return TRUE;
}

gchar *
cw_token_rotate (const gchar *path, GError **error)
{
  g_autofree gchar *token = cw_random_hex (32);

  if (!write_private_file (path, token, error))
    return NULL;
  return g_steal_pointer (&token);
}

gchar *
cw_token_ensure (const gchar *path, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  gchar *token = cw_token_read (path, &local_error);

  if (token != NULL)
    {
      g_chmod (path, 0600);
      return token;
    }
  if (g_error_matches (local_error, CW_ERROR, CW_ERROR_INVALID_PARAMS))
    /* Never trust it: a short or odd token is guessable, or a sign of tampering. */
    g_warning ("%s; replacing it with a new token", local_error->message);
  else if (!g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT)
           && !g_error_matches (local_error, CW_ERROR, CW_ERROR_NOT_FOUND))
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }
  return cw_token_rotate (path, error);
}

gboolean
cw_token_equal (const gchar *expected, const gchar *given)
{
  gsize n, m;
  guint diff;

  if (expected == NULL || given == NULL)
    return FALSE;
  n = strlen (expected);
  m = strlen (given);
  diff = n ^ m;
  for (gsize i = 0; i < n; i++)
    diff |= (guint) (guchar) expected[i] ^ (guint) (guchar) (i < m ? given[i] : 0);
  return diff == 0;
}
