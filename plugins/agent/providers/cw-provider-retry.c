/* cw-provider-retry.c: how long to wait before retrying a 429 or 5xx.
 *
 * The server knows best: Retry-After (RFC 9110: delta seconds or an HTTP date) and
 * OpenAI's retry-after-ms win over our own exponential backoff.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-provider-wire.h"

#include <stdlib.h>

gint64
cw_provider_parse_retry_after (const gchar *value, GDateTime *now)
{
  g_autoptr (GDateTime) when = NULL;
  gchar *end = NULL;
  guint64 seconds;

  if (value == NULL)
    return -1;
  while (g_ascii_isspace (*value))
    value++;
  if (*value == '\0')
    return -1;

  if (g_ascii_isdigit (*value))
    {
      seconds = g_ascii_strtoull (value, &end, 10);
      while (end != NULL && g_ascii_isspace (*end))
        end++;
      if (end == NULL || *end != '\0' || seconds > G_MAXINT32)
        return -1;
      return (gint64) seconds * 1000;
    }

  when = soup_date_time_new_from_http_string (value);
  if (when == NULL || now == NULL)
    return -1;
  /* A date in the past means "now". */
  return MAX (0, g_date_time_difference (when, now) / 1000);
}

static gint64
cw_provider_retry_after_ms (SoupMessageHeaders *headers, GDateTime *now)
{
  const gchar *ms;
  gint64 delay;

  if (headers == NULL)
    return -1;
  ms = soup_message_headers_get_one (headers, "retry-after-ms");
  if (ms != NULL)
    {
      gchar *end = NULL;
      gdouble value = g_ascii_strtod (ms, &end);
      if (end != ms && value >= 0 && value < G_MAXINT32)
        return (gint64) value;
    }
  delay
      = cw_provider_parse_retry_after (soup_message_headers_get_one (headers, "Retry-After"), now);
  return delay;
}

guint
cw_provider_retry_delay_ms (SoupMessageHeaders *headers, guint attempt, guint base_ms,
                            GDateTime *now)
{
  gint64 delay = cw_provider_retry_after_ms (headers, now);

  if (delay < 0)
    {
      guint shift = MIN (attempt > 0 ? attempt - 1 : 0, 20);
      delay = (gint64) base_ms << shift;
      /* Jitter so that several sessions hit by one rate limit do not retry in lockstep. */
      delay += g_random_int_range (0, (gint32) MAX (1, delay / 10));
    }
  return (guint) MIN (delay, CW_PROVIDER_MAX_RETRY_DELAY_MS);
}
