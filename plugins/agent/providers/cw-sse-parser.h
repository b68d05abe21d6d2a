/* cw-sse-parser.h: incremental text/event-stream parser (the WHATWG "server-sent events"
 * format), fed with whatever byte chunks the network delivers.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct
{
  gchar *type; /* the `event:` field, "message" when absent */
  gchar *data; /* `data:` lines joined with "\n" */
  gchar *id;   /* last `id:` seen, NULL if none */
} CwSseEvent;

void cw_sse_event_free (CwSseEvent *event);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CwSseEvent, cw_sse_event_free)

typedef struct _CwSseParser CwSseParser;

CwSseParser *cw_sse_parser_new (void);
void cw_sse_parser_free (CwSseParser *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CwSseParser, cw_sse_parser_free)

/* Adds bytes; lines may be cut anywhere, even between the CR and LF of a CRLF. Fails only
 * when a single line grows past the parser's limit (a stream that never ends a line). */
gboolean cw_sse_parser_push (CwSseParser *self, const gchar *data, gsize length, GError **error);
/* Pops the next complete event; NULL when none is ready. Free with cw_sse_event_free(). */
CwSseEvent *cw_sse_parser_next (CwSseParser *self);
/* TRUE when bytes of an unfinished line or event are buffered: at end of stream that
 * means the stream was cut in the middle of an event, which the spec says to discard. */
gboolean cw_sse_parser_has_partial (CwSseParser *self);

G_END_DECLS
