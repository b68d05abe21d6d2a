/* cw-fake-files.c: the files users send in the fake platforms' chats (photos, documents,
 * voice notes), kept by id and served to the bot the way each platform serves downloads.
 * Every download is recorded as kind "file" (with its id); cw_fake_cloud_fail_next (fake,
 * "file", ...) fails downloads, and the option "hold_files" set to 1 holds every download
 * unanswered (as a slow platform does while the daemon is killed).
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-fake-cloud-private.h"

#include <string.h>

typedef struct
{
  gchar *name;
  gchar *mime_type;
  GBytes *content;
} FakeFile;

static void
fake_file_free (FakeFile *file)
{
  g_free (file->name);
  g_free (file->mime_type);
  g_bytes_unref (file->content);
  g_free (file);
}

gchar *
cw_fake_file_add (CwFakeCloud *self, const gchar *name, const gchar *mime_type, GBytes *content)
{
  FakeFile *file = g_new0 (FakeFile, 1);
  gchar *id = g_strdup_printf ("F%" G_GINT64_FORMAT, cw_fake_next (self));

  file->name = g_strdup (name);
  file->mime_type = g_strdup (mime_type);
  file->content = g_bytes_ref (content);
  g_mutex_lock (&self->lock);
  if (self->files == NULL)
    self->files
        = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) fake_file_free);
  g_hash_table_insert (self->files, g_strdup (id), file);
  g_mutex_unlock (&self->lock);
  return id;
}

gint64
cw_fake_file_size (CwFakeCloud *self, const gchar *id)
{
  FakeFile *file;
  gint64 size = -1;

  g_mutex_lock (&self->lock);
  file = self->files != NULL ? g_hash_table_lookup (self->files, id) : NULL;
  if (file != NULL)
    size = (gint64) g_bytes_get_size (file->content);
  g_mutex_unlock (&self->lock);
  return size;
}

void
cw_fake_file_serve (CwFakeCloud *self, SoupServerMessage *msg, const gchar *id)
{
  FakeFile *file;
  guint status;
  g_autofree gchar *body = NULL;
  JsonObject *record = cw_fake_request_record (msg, NULL);

  json_object_set_string_member (record, "id", id);
  cw_fake_record (self, "file", record);
  if (cw_fake_option_int (self, "hold_files", 0) == 1)
    {
      soup_server_message_pause (msg);
      if (self->held_files == NULL)
        self->held_files = g_ptr_array_new_with_free_func (g_object_unref);
      g_ptr_array_add (self->held_files, g_object_ref (msg));
      return;
    }
  if (cw_fake_take_failure (self, "file", &status, &body))
    {
      soup_server_message_set_status (msg, status, NULL);
      soup_server_message_set_response (msg, "text/plain", SOUP_MEMORY_COPY,
                                        body != NULL ? body : "Internal Server Error",
                                        strlen (body != NULL ? body : "Internal Server Error"));
      return;
    }
  g_mutex_lock (&self->lock);
  file = self->files != NULL ? g_hash_table_lookup (self->files, id) : NULL;
  if (file == NULL)
    soup_server_message_set_status (msg, 404, NULL);
  else
    {
      soup_server_message_set_status (msg, 200, NULL);
      soup_server_message_set_response (msg, file->mime_type, SOUP_MEMORY_COPY,
                                        g_bytes_get_data (file->content, NULL),
                                        g_bytes_get_size (file->content));
    }
  g_mutex_unlock (&self->lock);
}

void
cw_fake_files_teardown (CwFakeCloud *self)
{
  for (guint i = 0; self->held_files != NULL && i < self->held_files->len; i++)
    {
      SoupServerMessage *msg = self->held_files->pdata[i];
      soup_server_message_unpause (msg);
      cw_fake_cut (msg);
    }
  g_clear_pointer (&self->held_files, g_ptr_array_unref);
  g_clear_pointer (&self->files, g_hash_table_unref);
}

typedef struct
{
  const gchar *chat_id, *sender_id, *sender_name, *caption;
  const gchar *kind, *file_name, *mime_type;
  GBytes *content;
  gchar *result;
} InjectFileCall;

static void
inject_file_now (CwFakeCloud *self, gpointer data)
{
  InjectFileCall *call = data;

  g_assert (self->platform->inject_file != NULL);
  call->result = self->platform->inject_file (self, call->chat_id, call->sender_id,
                                              call->sender_name, call->caption, call->kind,
                                              call->file_name, call->mime_type, call->content);
}

gchar *
cw_fake_cloud_inject_file (CwFakeCloud *self, const gchar *chat_id, const gchar *sender_id,
                           const gchar *sender_name, const gchar *caption, const gchar *kind,
                           const gchar *file_name, const gchar *mime_type, GBytes *content)
{
  InjectFileCall call = { chat_id,   sender_id, sender_name != NULL ? sender_name : sender_id,
                          caption,   kind,      file_name,
                          mime_type, content,   NULL };

  cw_fake_run_sync (self, inject_file_now, &call);
  return call.result;
}
