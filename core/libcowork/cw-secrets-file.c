/* cw-secrets-file.c: system-scope secrets, one AES-256-GCM file per secret.
 *
 * Layout: <dir> (0700) holds <kind>.<name>.secret files (0600), each
 *   "CWS1" | 12-byte random nonce | ciphertext | 16-byte tag,
 * authenticated together with the scope, kind and name, so a file copied or renamed to
 * another name does not decrypt. The 32-byte key is random, never derived from host data:
 * systemd's $CREDENTIALS_DIRECTORY/cowork-secrets-key (LoadCredential=) when present, else
 * $COWORK_SECRETS_KEY_FILE, else <dir>/master.key created on first use. Files written by
 * root (coworkctl) are handed to the owner of the state dir so the service can read them.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-secrets-file-private.h"
#include "cowork-host.h"
#include "cowork.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <nettle/gcm.h>
#include <nettle/memops.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAGIC     "CWS1"
#define MAGIC_LEN 4
#define NONCE_LEN 12
#define TAG_LEN   16
#define KEY_LEN   32

static gboolean
set_errno_error (GError **error, int saved, const gchar *what, const gchar *path)
{
  g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved), "failed to %s %s: %s", what,
               path, g_strerror (saved));
  return FALSE;
}

/* Gives @fd to the owner of @dir's parent when root writes into a service's state dir. */
static void
match_owner (int fd, const gchar *path, const gchar *dir)
{
  g_autofree gchar *parent = g_path_get_dirname (dir);
  struct stat st;

  if (geteuid () != 0 || g_stat (parent, &st) != 0 || st.st_uid == 0)
    return;
  if ((fd >= 0 ? fchown (fd, st.st_uid, st.st_gid) : chown (path, st.st_uid, st.st_gid)) != 0)
    g_warning ("cannot hand %s to uid %u: %s", path, (guint) st.st_uid, g_strerror (errno));
}

static gboolean
ensure_dir (const gchar *dir, GError **error)
{
  struct stat st;

  if (g_mkdir_with_parents (dir, 0700) != 0)
    return set_errno_error (error, errno, "create", dir);
  if (g_stat (dir, &st) != 0)
    return set_errno_error (error, errno, "inspect", dir);
  /* A dir others can list would at least reveal the names. */
  if ((st.st_mode & 077) != 0 && g_chmod (dir, 0700) != 0)
    return set_errno_error (error, errno, "protect", dir);
  match_owner (-1, dir, dir);
  return TRUE;
}

/* Writes @path atomically, 0600. With @exclusive an existing @path wins: FALSE, no error,
 * *@lost set (two writers creating the key at once must end up with the same key). */
static gboolean
write_private (const gchar *dir, const gchar *path, const guint8 *data, gsize len,
               gboolean exclusive, gboolean *lost, GError **error)
{
  g_autofree gchar *tmp = g_strdup_printf ("%s.XXXXXX", path);
  int fd = g_mkstemp_full (tmp, O_WRONLY | O_CLOEXEC, 0600);

  if (fd < 0)
    return set_errno_error (error, errno, "write", path);
  match_owner (fd, tmp, dir);
  if (write (fd, data, len) != (gssize) len || fsync (fd) != 0)
    {
      int saved = errno;
      close (fd);
      g_unlink (tmp);
      return set_errno_error (error, saved, "write", path);
    }
  close (fd);
  if (exclusive)
    {
      int rc = link (tmp, path), saved = errno;
      g_unlink (tmp);
      if (rc == 0)
        return TRUE;
      if (saved == EEXIST && lost != NULL)
        {
          *lost = TRUE;
          return FALSE;
        }
      return set_errno_error (error, saved, "write", path);
    }
  if (g_rename (tmp, path) != 0)
    {
      int saved = errno;
      g_unlink (tmp);
      return set_errno_error (error, saved, "write", path);
    }
  return TRUE;
}

static gboolean
read_key_file (const gchar *path, guint8 key[KEY_LEN], GError **error)
{
  g_autofree gchar *data = NULL;
  gsize len = 0;

  if (!g_file_get_contents (path, &data, &len, error))
    return FALSE;
  if (len >= 2 * KEY_LEN && len <= 2 * KEY_LEN + 1)
    {
      /* Also accept the key as 64 hex digits (an admin may write it with a shell). */
      gboolean hex = TRUE;
      for (guint i = 0; i < KEY_LEN && hex; i++)
        {
          gint hi = g_ascii_xdigit_value (data[2 * i]), lo = g_ascii_xdigit_value (data[2 * i + 1]);
          hex = hi >= 0 && lo >= 0;
          key[i] = (guint8) (hi << 4 | lo);
        }
      if (hex)
        {
          explicit_bzero (data, len);
          return TRUE;
        }
    }
  if (len != KEY_LEN)
    {
      explicit_bzero (data, len);
      g_set_error (error, CW_ERROR, CW_ERROR_FAILED,
                   "secrets key %s must hold 32 bytes (or 64 hex digits)", path);
      return FALSE;
    }
  memcpy (key, data, KEY_LEN);
  explicit_bzero (data, len);
  return TRUE;
}

static gboolean
load_key (const gchar *dir, gboolean create, guint8 key[KEY_LEN], GError **error)
{
  const gchar *creds = g_getenv ("CREDENTIALS_DIRECTORY");
  const gchar *key_env = g_getenv ("COWORK_SECRETS_KEY_FILE");
  g_autofree gchar *path = NULL;

  if (creds != NULL && *creds != '\0')
    {
      g_autofree gchar *cred = g_build_filename (creds, "cowork-secrets-key", NULL);
      if (g_file_test (cred, G_FILE_TEST_EXISTS))
        return read_key_file (cred, key, error);
    }
  if (key_env != NULL && *key_env != '\0')
    return read_key_file (key_env, key, error);
  path = g_build_filename (dir, "master.key", NULL);
  if (g_file_test (path, G_FILE_TEST_EXISTS) || !create)
    return read_key_file (path, key, error);
  cw_random_bytes (key, KEY_LEN);
  {
    gboolean lost = FALSE;
    if (write_private (dir, path, key, KEY_LEN, TRUE, &lost, error))
      return TRUE;
    if (!lost)
      return FALSE;
  }
  /* Someone else created the key first: theirs is the key. */
  return read_key_file (path, key, error);
}

static gchar *
secret_path (const gchar *dir, const gchar *kind, const gchar *name)
{
  g_autofree gchar *base = g_strdup_printf ("%s.%s.secret", kind, name);

  return g_build_filename (dir, base, NULL);
}

static GBytes *
aad_for (const gchar *kind, const gchar *name)
{
  GString *s = g_string_new ("coworkd-secret-v1");

  g_string_append_len (s, "\0system\0", 8);
  g_string_append (s, kind);
  g_string_append_c (s, '\0');
  g_string_append (s, name);
  return g_string_free_to_bytes (s);
}

/* AES-256-GCM (nettle): the key is wiped from the stack as soon as it is scheduled. */
static void
aead_init (struct gcm_aes256_ctx *ctx, guint8 key[KEY_LEN], const guint8 *nonce, GBytes *aad)
{
  gcm_aes256_set_key (ctx, key);
  explicit_bzero (key, KEY_LEN);
  gcm_aes256_set_iv (ctx, NONCE_LEN, nonce);
  gcm_aes256_update (ctx, g_bytes_get_size (aad), g_bytes_get_data (aad, NULL));
}

gboolean
cw_secrets_file_store (const gchar *dir, const gchar *kind, const gchar *name, const gchar *value,
                       GError **error)
{
  g_autofree gchar *path = NULL;
  g_autoptr (GBytes) aad = aad_for (kind, name);
  struct gcm_aes256_ctx ctx;
  guint8 key[KEY_LEN];
  gsize plen = strlen (value);
  gsize clen = plen + TAG_LEN;
  g_autofree guint8 *out = g_malloc (MAGIC_LEN + NONCE_LEN + clen);
  guint8 *nonce = out + MAGIC_LEN, *cipher = out + MAGIC_LEN + NONCE_LEN;
  gboolean ok;

  if (!cw_secrets_check_name (kind, name, error) || !ensure_dir (dir, error)
      || !load_key (dir, TRUE, key, error))
    return FALSE;
  memcpy (out, MAGIC, MAGIC_LEN);
  cw_random_bytes (nonce, NONCE_LEN);
  aead_init (&ctx, key, nonce, aad);
  gcm_aes256_encrypt (&ctx, plen, cipher, (const guint8 *) value);
  gcm_aes256_digest (&ctx, TAG_LEN, cipher + plen);
  explicit_bzero (&ctx, sizeof ctx);
  path = secret_path (dir, kind, name);
  ok = write_private (dir, path, out, MAGIC_LEN + NONCE_LEN + clen, FALSE, NULL, error);
  return ok;
}

gchar *
cw_secrets_file_lookup (const gchar *dir, const gchar *kind, const gchar *name, GError **error)
{
  g_autofree gchar *path = NULL;
  g_autofree gchar *data = NULL;
  g_autoptr (GBytes) aad = aad_for (kind, name);
  g_autoptr (GError) local_error = NULL;
  struct gcm_aes256_ctx ctx;
  guint8 key[KEY_LEN];
  guint8 tag[TAG_LEN];
  const guint8 *nonce, *cipher;
  gchar *plain;
  gsize len = 0, plen;
  gboolean authentic;

  if (!cw_secrets_check_name (kind, name, error))
    return NULL;
  path = secret_path (dir, kind, name);
  if (!g_file_get_contents (path, &data, &len, &local_error))
    {
      if (g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        return NULL;
      g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }
  if (len < MAGIC_LEN + NONCE_LEN + TAG_LEN || memcmp (data, MAGIC, MAGIC_LEN) != 0)
    {
      g_set_error (error, CW_ERROR, CW_ERROR_FAILED, "%s is not a coworkd secret", path);
      return NULL;
    }
  if (!load_key (dir, FALSE, key, error))
    return NULL;
  nonce = (const guint8 *) data + MAGIC_LEN;
  cipher = nonce + NONCE_LEN;
  plen = len - MAGIC_LEN - NONCE_LEN - TAG_LEN;
  plain = g_malloc0 (plen + 1);
  aead_init (&ctx, key, nonce, aad);
  gcm_aes256_decrypt (&ctx, plen, (guint8 *) plain, cipher);
  gcm_aes256_digest (&ctx, TAG_LEN, tag);
  explicit_bzero (&ctx, sizeof ctx);
  /* Constant-time: a forged file must not learn how much of its tag was right. */
  authentic = memeql_sec (tag, cipher + plen, TAG_LEN);
  if (!authentic)
    {
      cw_secret_free (plain);
      g_set_error (error, CW_ERROR, CW_ERROR_FAILED,
                   "cannot decrypt %s: wrong key or the file was altered", path);
      return NULL;
    }
  plain[plen] = '\0';
  return plain;
}

gboolean
cw_secrets_file_delete (const gchar *dir, const gchar *kind, const gchar *name, GError **error)
{
  g_autofree gchar *path = NULL;

  if (!cw_secrets_check_name (kind, name, error))
    return FALSE;
  path = secret_path (dir, kind, name);
  if (g_unlink (path) == 0 || errno == ENOENT)
    return TRUE;
  return set_errno_error (error, errno, "remove", path);
}

static gint
compare_entries (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(const gchar *const *) a, *(const gchar *const *) b);
}

JsonArray *
cw_secrets_file_list (const gchar *dir, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  g_autoptr (GDir) d = g_dir_open (dir, 0, &local_error);
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  JsonArray *out = json_array_new ();
  const gchar *entry;

  if (d == NULL)
    {
      if (g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        return out;
      json_array_unref (out);
      g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }
  while ((entry = g_dir_read_name (d)) != NULL)
    if (g_str_has_suffix (entry, ".secret"))
      g_ptr_array_add (names, g_strndup (entry, strlen (entry) - strlen (".secret")));
  g_ptr_array_sort (names, compare_entries);
  for (guint i = 0; i < names->len; i++)
    {
      const gchar *base = g_ptr_array_index (names, i);
      const gchar *dot = strchr (base, '.');
      g_autofree gchar *kind = dot ? g_strndup (base, dot - base) : NULL;
      JsonObject *obj;

      if (kind == NULL || !cw_secrets_check_name (kind, dot + 1, NULL))
        continue;
      obj = json_object_new ();
      json_object_set_string_member (obj, "kind", kind);
      json_object_set_string_member (obj, "name", dot + 1);
      json_object_set_string_member (obj, "scope", "system");
      json_array_add_object_element (out, obj);
    }
  return out;
}
