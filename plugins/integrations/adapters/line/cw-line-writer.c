/* cw-line-writer.c: the queued async writer of the line-based adapters. */
#include "cw-line-writer.h"

#include <string.h>

void
cw_line_writer_init (CwLineWriter *writer, GObject *owner, GOutputStream **output,
                     GCancellable **cancellable, const gchar *name)
{
  writer->owner = owner;
  writer->output = output;
  writer->cancellable = cancellable;
  writer->name = name;
  writer->queue = g_string_new (NULL);
  writer->writing = FALSE;
}

void
cw_line_writer_clear (CwLineWriter *writer)
{
  if (writer->queue != NULL)
    g_string_free (g_steal_pointer (&writer->queue), TRUE);
  writer->writing = FALSE;
}

static void
on_written (GObject *source, GAsyncResult *result, gpointer user_data)
{
  CwLineWriter *writer = user_data;
  GObject *owner = writer->owner;
  g_autoptr (GError) error = NULL;
  gssize n = g_output_stream_write_finish (G_OUTPUT_STREAM (source), result, &error);

  if (n < 0)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_debug ("%s: write: %s", writer->name, error->message);
      g_object_unref (owner);
      return;
    }
  writer->writing = FALSE;
  g_string_erase (writer->queue, 0, n);
  cw_line_writer_write_more (writer);
  g_object_unref (owner);
}

void
cw_line_writer_write_more (CwLineWriter *writer)
{
  if (writer->writing || *writer->output == NULL || writer->queue->len == 0)
    return;
  writer->writing = TRUE;
  g_object_ref (writer->owner);
  g_output_stream_write_async (*writer->output, writer->queue->str, writer->queue->len,
                               G_PRIORITY_DEFAULT, *writer->cancellable, on_written, writer);
}

void
cw_line_writer_append (CwLineWriter *writer, const gchar *text)
{
  g_string_append (writer->queue, text);
  cw_line_writer_write_more (writer);
}

void
cw_line_writer_reset (CwLineWriter *writer, gboolean wipe)
{
  if (wipe && writer->queue->len > 0)
    explicit_bzero (writer->queue->str, writer->queue->len);
  g_string_truncate (writer->queue, 0);
  writer->writing = FALSE;
}
