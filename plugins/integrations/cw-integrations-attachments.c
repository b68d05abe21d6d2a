/* cw-integrations-attachments.c: the files that came with inbound messages, on their way to
 * the agent.
 *
 * The adapter only describes an attachment (type, name, size and a platform reference) and
 * the ledger keeps that description with the message: nothing is downloaded before the
 * message is safe and acknowledged. When the router starts the message's turn it fetches each
 * file here, through the adapter (which knows the platform's auth), into
 * <app data>/integrations/attachments/<ledger id>/<n>, and hands the agent the files as
 * send_message attachments (base64 `data`, which the agent keeps as files of the session).
 * A file already there (the daemon died after the download) is not fetched again. The folder
 * of a message goes when its turn is done, and at start every folder whose message is no
 * longer waiting, or that is older than a day, goes too.
 *
 * A file over the limit (max_media_bytes, COWORK_INTEGRATION_MAX_MEDIA_BYTES, as for media out),
 * one the adapter cannot fetch, or one whose download failed three times (1 s, then 2 s apart)
 * reaches the agent as its description only (type file, name, size), and the turn's text says why:
 * a chat's queue never waits on a download for long.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-integrations-plugin.h"

#include <glib/gstdio.h>

#define FETCH_ATTEMPTS 3
#define RETRY_BASE_MS  1000
#define MAX_AGE_US     (24 * G_TIME_SPAN_HOUR)

typedef struct
{
  gint64 inbound_id;
  guint index;
  JsonObject *described; /* the ledger's description */
} Wanted;

typedef struct
{
  CwIntegrationsPlugin *plugin;
  gchar *platform;
  GArray *wanted; /* Wanted */
  guint next;
  guint attempt;
  JsonArray *attachments; /* for send_message */
  GString *notes;
  CwIntegrationsFetchedFunc done;
  gpointer data;
  GDestroyNotify destroy; /* of data, when done was not called */
} Fetch;

static gchar *
attachments_dir (CwIntegrationsPlugin *self)
{
  CwConfig *config = cw_context_get_config (cw_plugin_get_context (CW_PLUGIN (self)));

  return g_build_filename (cw_config_get_app_data_dir (config), "integrations", "attachments",
                           NULL);
}

static gchar *
message_dir (CwIntegrationsPlugin *self, gint64 inbound_id)
{
  g_autofree gchar *dir = attachments_dir (self);
  g_autofree gchar *name = g_strdup_printf ("%" G_GINT64_FORMAT, inbound_id);

  return g_build_filename (dir, name, NULL);
}

static gchar *
file_path (CwIntegrationsPlugin *self, gint64 inbound_id, guint index)
{
  g_autofree gchar *dir = message_dir (self, inbound_id);
  g_autofree gchar *name = g_strdup_printf ("%u", index);

  return g_build_filename (dir, name, NULL);
}

static const gchar *
described_string (JsonObject *obj, const gchar *name, const gchar *fallback)
{
  const gchar *value = cw_integration_config_get_string (obj, name);

  return value != NULL ? value : fallback;
}

/* "4.9 KiB", with a plain space (GLib puts a no-break space there) */
static gchar *
human_size (gint64 bytes)
{
  g_autofree gchar *size = g_format_size_full ((guint64) MAX (bytes, 0), G_FORMAT_SIZE_IEC_UNITS);
  g_auto (GStrv) parts = g_strsplit (size, "\u00a0", -1);

  return g_strjoinv (" ", parts);
}

static void
fetch_free (Fetch *fetch)
{
  for (guint i = 0; i < fetch->wanted->len; i++)
    json_object_unref (g_array_index (fetch->wanted, Wanted, i).described);
  g_array_unref (fetch->wanted);
  g_free (fetch->platform);
  g_clear_pointer (&fetch->attachments, json_array_unref);
  g_string_free (fetch->notes, TRUE);
  if (fetch->destroy != NULL)
    fetch->destroy (fetch->data);
  g_object_unref (fetch->plugin);
  g_free (fetch);
}

/* The attachment as the agent takes it, with the content. */
static void
add_file (Fetch *fetch, JsonObject *described, GBytes *bytes)
{
  JsonObject *obj = json_object_new ();
  gsize size;
  const guchar *data = g_bytes_get_data (bytes, &size);
  gchar *base64 = g_base64_encode (data, size);

  json_object_set_string_member (obj, "type", described_string (described, "type", "file"));
  json_object_set_string_member (obj, "name", described_string (described, "name", "file"));
  if (json_object_has_member (described, "mimeType"))
    json_object_set_string_member (obj, "mimeType", described_string (described, "mimeType", ""));
  json_object_set_int_member (obj, "size", (gint64) size);
  if (json_object_has_member (described, "duration"))
    json_object_set_int_member (obj, "duration",
                                json_object_get_int_member (described, "duration"));
  json_object_set_string_member (obj, "data", base64);
  g_free (base64);
  json_array_add_object_element (fetch->attachments, obj);
}

/* The attachment as its description only (contract §3.6: metadata-only media becomes a
 * file), and the reason in the turn's text. */
static void
add_description (Fetch *fetch, JsonObject *described, const gchar *reason)
{
  JsonObject *obj = json_object_new ();
  const gchar *name = described_string (described, "name", "file");
  gint64 size = json_object_get_int_member_with_default (described, "size", -1);

  json_object_set_string_member (obj, "type", "file");
  json_object_set_string_member (obj, "name", name);
  if (size >= 0)
    json_object_set_int_member (obj, "size", size);
  json_array_add_object_element (fetch->attachments, obj);
  if (size >= 0)
    {
      g_autofree gchar *human = human_size (size);
      g_string_append_printf (fetch->notes, " (The attachment \"%s\", %s, %s.)", name, human,
                              reason);
    }
  else
    g_string_append_printf (fetch->notes, " (The attachment \"%s\" %s.)", name, reason);
}

/* add_description for a file over max_media_bytes */
static void
add_too_large (Fetch *fetch, JsonObject *described)
{
  g_autofree gchar *limit = human_size (fetch->plugin->max_media_bytes);
  g_autofree gchar *reason
      = g_strdup_printf ("was not downloaded: it is larger than the limit of %s", limit);

  add_description (fetch, described, reason);
}

static void fetch_next (Fetch *fetch);

static gboolean
on_retry_due (gpointer data)
{
  fetch_next (data);
  return G_SOURCE_REMOVE;
}

static void
advance (Fetch *fetch)
{
  fetch->next++;
  fetch->attempt = 0;
  fetch_next (fetch);
}

static void
on_fetched (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Fetch *fetch = user_data;
  Wanted *w = &g_array_index (fetch->wanted, Wanted, fetch->next);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) bytes = cw_integration_adapter_fetch_attachment_finish (
      CW_INTEGRATION_ADAPTER (source), result, &error);
  gint64 max = fetch->plugin->max_media_bytes;
  const gchar *name = described_string (w->described, "name", "file");

  if (fetch->plugin->stopping)
    {
      fetch_free (fetch);
      return;
    }
  if (bytes != NULL && (gint64) g_bytes_get_size (bytes) > max)
    g_set_error (&error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE, "larger than the limit");
  if (error == NULL)
    {
      g_autofree gchar *dir = message_dir (fetch->plugin, w->inbound_id);
      g_autofree gchar *path = file_path (fetch->plugin, w->inbound_id, w->index);
      g_autoptr (GError) write_error = NULL;
      if (g_mkdir_with_parents (dir, 0700) != 0
          || !g_file_set_contents_full (path, g_bytes_get_data (bytes, NULL),
                                        (gssize) g_bytes_get_size (bytes),
                                        G_FILE_SET_CONTENTS_CONSISTENT, 0600, &write_error))
        g_warning ("%s: cannot keep the attachment %s in %s: %s", fetch->platform, name, dir,
                   write_error != NULL ? write_error->message : g_strerror (errno));
      add_file (fetch, w->described, bytes);
      advance (fetch);
      return;
    }
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE))
    {
      g_message ("%s: attachment %s of message %" G_GINT64_FORMAT " is over the limit",
                 fetch->platform, name, w->inbound_id);
      add_too_large (fetch, w->described);
      advance (fetch);
      return;
    }
  fetch->attempt++;
  g_warning ("%s: downloading attachment %s of message %" G_GINT64_FORMAT " (try %u of %u): %s",
             fetch->platform, name, w->inbound_id, fetch->attempt, FETCH_ATTEMPTS, error->message);
  /* a refusal that another try does not change (the platform does not give the file) */
  if (fetch->attempt < FETCH_ATTEMPTS && !g_error_matches (error, CW_ERROR, CW_ERROR_NOT_SUPPORTED)
      && !g_error_matches (error, CW_ERROR, CW_ERROR_INVALID_PARAMS))
    {
      g_timeout_add (RETRY_BASE_MS << (fetch->attempt - 1), on_retry_due, fetch);
      return;
    }
  add_description (fetch, w->described, "could not be downloaded");
  advance (fetch);
}

static void
fetch_next (Fetch *fetch)
{
  CwIntegrationsLink *link;
  Wanted *w;
  g_autofree gchar *path = NULL;
  gchar *contents = NULL;
  gsize length;
  gint64 max = fetch->plugin->max_media_bytes;
  gint64 size;

  if (fetch->plugin->stopping)
    {
      fetch_free (fetch);
      return;
    }
  if (fetch->next >= fetch->wanted->len)
    {
      fetch->done (fetch->attachments, fetch->notes->str, fetch->data);
      fetch->destroy = NULL;
      fetch_free (fetch);
      return;
    }
  w = &g_array_index (fetch->wanted, Wanted, fetch->next);
  size = json_object_get_int_member_with_default (w->described, "size", -1);
  path = file_path (fetch->plugin, w->inbound_id, w->index);
  if (g_file_get_contents (path, &contents, &length, NULL))
    {
      /* fetched before the daemon stopped */
      g_autoptr (GBytes) bytes = g_bytes_new_take (contents, length);
      add_file (fetch, w->described, bytes);
      advance (fetch);
      return;
    }
  if (size > max)
    {
      add_too_large (fetch, w->described);
      advance (fetch);
      return;
    }
  link = cw_integrations_plugin_get_link (fetch->plugin, fetch->platform);
  if (link == NULL || link->adapter == NULL || !link->connected)
    {
      fetch->attempt++;
      if (fetch->attempt < FETCH_ATTEMPTS)
        {
          g_timeout_add (RETRY_BASE_MS << (fetch->attempt - 1), on_retry_due, fetch);
          return;
        }
      add_description (fetch, w->described, "could not be downloaded");
      advance (fetch);
      return;
    }
  cw_integration_adapter_fetch_attachment_async (
      link->adapter, described_string (w->described, "ref", ""), max, NULL, on_fetched, fetch);
}

gboolean
cw_integrations_attachments_any (GPtrArray *rows)
{
  for (guint i = 0; i < rows->len; i++)
    {
      CwIntegrationsInbound *row = g_ptr_array_index (rows, i);
      if (row->attachments != NULL && json_array_get_length (row->attachments) > 0)
        return TRUE;
    }
  return FALSE;
}

void
cw_integrations_attachments_fetch (CwIntegrationsPlugin *self, GPtrArray *rows,
                                   CwIntegrationsFetchedFunc done, gpointer data,
                                   GDestroyNotify destroy)
{
  Fetch *fetch = g_new0 (Fetch, 1);
  CwIntegrationsInbound *first = g_ptr_array_index (rows, 0);

  fetch->plugin = g_object_ref (self);
  fetch->destroy = destroy;
  fetch->platform = g_strdup (first->platform);
  fetch->wanted = g_array_new (FALSE, FALSE, sizeof (Wanted));
  fetch->attachments = json_array_new ();
  fetch->notes = g_string_new (NULL);
  fetch->done = done;
  fetch->data = data;
  for (guint i = 0; i < rows->len; i++)
    {
      CwIntegrationsInbound *row = g_ptr_array_index (rows, i);
      for (guint j = 0; row->attachments != NULL && j < json_array_get_length (row->attachments);
           j++)
        {
          JsonObject *described = json_array_get_object_element (row->attachments, j);
          Wanted w = { row->id, j, NULL };
          if (described == NULL)
            continue;
          w.described = json_object_ref (described);
          g_array_append_val (fetch->wanted, w);
        }
    }
  fetch_next (fetch);
}

static void
remove_tree (const gchar *dir)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const gchar *name;

  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree gchar *path = g_build_filename (dir, name, NULL);
      g_remove (path);
    }
  g_rmdir (dir);
}

void
cw_integrations_attachments_forget (CwIntegrationsPlugin *self, gint64 inbound_id)
{
  g_autofree gchar *dir = message_dir (self, inbound_id);

  if (g_file_test (dir, G_FILE_TEST_IS_DIR))
    remove_tree (dir);
}

void
cw_integrations_attachments_sweep (CwIntegrationsPlugin *self)
{
  g_autofree gchar *root = attachments_dir (self);
  g_autoptr (GDir) d = g_dir_open (root, 0, NULL);
  gint64 now = g_get_real_time ();
  const gchar *name;

  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree gchar *dir = g_build_filename (root, name, NULL);
      gint64 id = g_ascii_strtoll (name, NULL, 10);
      g_autoptr (CwIntegrationsInbound) row
          = id > 0 ? cw_integrations_store_get_inbound (self->store, id) : NULL;
      GStatBuf st;
      gboolean waiting
          = row != NULL
            && (g_str_equal (row->status, "received") || g_str_equal (row->status, "dispatched"));

      if (!waiting
          || (g_stat (dir, &st) == 0 && now - (gint64) st.st_mtime * G_USEC_PER_SEC > MAX_AGE_US))
        remove_tree (dir);
    }
}
