/* cw-sse-parser.c: incremental server-sent events parser.
 *
 * Follows the WHATWG event-stream rules: lines end with CRLF, LF or CR; a line starting
 * with ':' is a comment (servers use them as keep-alives); "field: value" drops one space
 * after the colon; data lines accumulate; a blank line dispatches the event, unless no data
 * was seen. An event cut by the end of the stream is never dispatched.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-sse-parser.h"

#include <gio/gio.h>
#include <string.h>

/* One line longer than this is a broken or hostile stream, not a big tool call. */
#define CW_SSE_MAX_LINE (16 * 1024 * 1024)

struct _CwSseParser
{
  GString *line;     /* the current line, without its end */
  GString *data;     /* data of the event being built */
  gchar *type;       /* event type being built */
  gchar *last_id;    /* survives across events, as the spec says */
  gboolean saw_data; /* a data: field was seen since the last dispatch */
  gboolean after_cr; /* the last byte was CR: a following LF belongs to the same line end */
  gboolean at_start; /* nothing read yet: a leading BOM is skipped */
  GQueue events;
};

void
cw_sse_event_free (CwSseEvent *event)
{
  if (event == NULL)
    return;
  g_free (event->type);
  g_free (event->data);
  g_free (event->id);
  g_free (event);
}

CwSseParser *
cw_sse_parser_new (void)
{
  CwSseParser *self = g_new0 (CwSseParser, 1);
  self->line = g_string_new (NULL);
  self->data = g_string_new (NULL);
  self->at_start = TRUE;
  g_queue_init (&self->events);
  return self;
}

void
cw_sse_parser_free (CwSseParser *self)
{
  if (self == NULL)
    return;
  g_string_free (self->line, TRUE);
  g_string_free (self->data, TRUE);
  g_free (self->type);
  g_free (self->last_id);
  g_queue_clear_full (&self->events, (GDestroyNotify) cw_sse_event_free);
  g_free (self);
}

static void
cw_sse_parser_dispatch (CwSseParser *self)
{
  CwSseEvent *event;

  if (!self->saw_data)
    {
      g_clear_pointer (&self->type, g_free);
      return;
    }
  /* Every data line added a "\n"; the last one is not part of the payload. */
  if (self->data->len > 0 && self->data->str[self->data->len - 1] == '\n')
    g_string_truncate (self->data, self->data->len - 1);

  event = g_new0 (CwSseEvent, 1);
  event->type = self->type != NULL ? g_steal_pointer (&self->type) : g_strdup ("message");
  event->data = g_strndup (self->data->str, self->data->len);
  event->id = g_strdup (self->last_id);
  g_queue_push_tail (&self->events, event);

  g_string_truncate (self->data, 0);
  self->saw_data = FALSE;
}

static void
cw_sse_parser_process_line (CwSseParser *self, const gchar *line, gsize len)
{
  const gchar *colon;
  g_autofree gchar *field = NULL;
  const gchar *value;
  gsize value_len;

  if (len == 0)
    {
      cw_sse_parser_dispatch (self);
      return;
    }
  if (line[0] == ':')
    return;

  colon = memchr (line, ':', len);
  if (colon != NULL)
    {
      field = g_strndup (line, colon - line);
      value = colon + 1;
      value_len = len - (value - line);
      if (value_len > 0 && value[0] == ' ')
        {
          value++;
          value_len--;
        }
    }
  else
    {
      field = g_strndup (line, len);
      value = "";
      value_len = 0;
    }

  if (g_strcmp0 (field, "data") == 0)
    {
      g_string_append_len (self->data, value, value_len);
      g_string_append_c (self->data, '\n');
      self->saw_data = TRUE;
    }
  else if (g_strcmp0 (field, "event") == 0)
    {
      g_free (self->type);
      self->type = g_strndup (value, value_len);
    }
  else if (g_strcmp0 (field, "id") == 0 && memchr (value, '\0', value_len) == NULL)
    {
      g_free (self->last_id);
      self->last_id = g_strndup (value, value_len);
    }
  /* "retry" and unknown fields are ignored: reconnection is not ours to do. */
}

gboolean
cw_sse_parser_push (CwSseParser *self, const gchar *data, gsize length, GError **error)
{
  gsize i = 0;

  g_return_val_if_fail (self != NULL, FALSE);

  if (self->at_start && length > 0)
    {
      /* The BOM may itself arrive split; only the common whole case is worth handling. */
      if (length >= 3 && memcmp (data, "\xEF\xBB\xBF", 3) == 0)
        i = 3;
      self->at_start = FALSE;
    }

  while (i < length)
    {
      const gchar *start = data + i;
      gsize rest = length - i;
      gsize n = 0;

      if (self->after_cr && start[0] == '\n')
        {
          self->after_cr = FALSE;
          i++;
          continue;
        }
      self->after_cr = FALSE;

      while (n < rest && start[n] != '\n' && start[n] != '\r')
        n++;
      g_string_append_len (self->line, start, n);
      if (self->line->len > CW_SSE_MAX_LINE)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                       "event stream line longer than %d bytes", CW_SSE_MAX_LINE);
          return FALSE;
        }
      i += n;
      if (n == rest)
        break;

      self->after_cr = start[n] == '\r';
      i++;
      cw_sse_parser_process_line (self, self->line->str, self->line->len);
      g_string_truncate (self->line, 0);
    }
  return TRUE;
}

CwSseEvent *
cw_sse_parser_next (CwSseParser *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return g_queue_pop_head (&self->events);
}

gboolean
cw_sse_parser_has_partial (CwSseParser *self)
{
  g_return_val_if_fail (self != NULL, FALSE);
  return self->line->len > 0 || self->saw_data;
}
