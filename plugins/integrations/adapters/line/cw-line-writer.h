/* cw-line-writer.h: a queue of bytes written to a connection's output stream one async write
 * at a time, shared by the line-based adapters (IRC, IMAP in the email adapter). */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Lives inside its owner (an adapter). @output and @cancellable point at the owner's own
 * fields, so the writer always uses the owner's current stream; the owner is kept alive while
 * a write is in flight. */
typedef struct
{
  GObject *owner;
  GOutputStream **output;
  GCancellable **cancellable;
  const gchar *name; /* for debug messages: "irc", "imap" */
  GString *queue;    /* bytes waiting for the socket */
  gboolean writing;
} CwLineWriter;

void cw_line_writer_init (CwLineWriter *writer, GObject *owner, GOutputStream **output,
                          GCancellable **cancellable, const gchar *name);
void cw_line_writer_clear (CwLineWriter *writer);

/* Appends @text and starts writing if no write is in flight and there is a stream. */
void cw_line_writer_append (CwLineWriter *writer, const gchar *text);

/* Starts writing what is queued (no-op while a write is in flight or without a stream). */
void cw_line_writer_write_more (CwLineWriter *writer);

/* Drops what is queued (wiping it first when @wipe, for queues that held credentials) and
 * forgets a write in flight. */
void cw_line_writer_reset (CwLineWriter *writer, gboolean wipe);

G_END_DECLS
