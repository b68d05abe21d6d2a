/* cw-schedule.c: the schedule value type and its next fire time in a time zone.
 *
 * A cron expression is matched against civil (wall-clock) time in the zone; each matching
 * civil time is then turned into an instant. Around a transition the zone's offset is found
 * by bisection on UTC instants, so gaps and repeats are handled the same way in every zone
 * (whichever side is called "daylight", which even differs in Europe/Dublin).
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-cron-expression-private.h"

#include <string.h>

/* The last millisecond of year 9999, GDateTime's limit. */
#define MAX_INSTANT_MS G_GINT64_CONSTANT (253402300799999)
/* Far enough for any expression that matches at all (it was checked over 400 years). */
#define SEARCH_YEARS 400

struct _CwSchedule
{
  gatomicrefcount ref_count;
  CwScheduleKind kind;
  gint64 instant; /* at: the instant; every: the anchor */
  gint64 interval;
  gchar *expression;
  gchar *timezone;
  GTimeZone *tz; /* NULL: the local zone, looked up at each use */
  CwCronExpression cron;
};

G_DEFINE_BOXED_TYPE (CwSchedule, cw_schedule, cw_schedule_ref, cw_schedule_unref)

static CwSchedule *
schedule_new (CwScheduleKind kind)
{
  CwSchedule *self = g_new0 (CwSchedule, 1);

  g_atomic_ref_count_init (&self->ref_count);
  self->kind = kind;
  return self;
}

CwSchedule *
cw_schedule_ref (CwSchedule *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

void
cw_schedule_unref (CwSchedule *self)
{
  g_return_if_fail (self != NULL);
  if (!g_atomic_ref_count_dec (&self->ref_count))
    return;
  g_free (self->expression);
  g_free (self->timezone);
  g_clear_pointer (&self->tz, g_time_zone_unref);
  g_free (self);
}

static gboolean
check_instant (gint64 ms, const gchar *what, GError **error)
{
  if (ms >= 0 && ms <= MAX_INSTANT_MS)
    return TRUE;
  g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS,
               "%s %" G_GINT64_FORMAT " is outside 1970 to 9999", what, ms);
  return FALSE;
}

CwSchedule *
cw_schedule_new_at (gint64 at_ms, GError **error)
{
  CwSchedule *self;

  if (!check_instant (at_ms, "instant", error))
    return NULL;
  self = schedule_new (CW_SCHEDULE_KIND_AT);
  self->instant = at_ms;
  return self;
}

CwSchedule *
cw_schedule_new_every (gint64 interval_ms, gint64 anchor_ms, GError **error)
{
  CwSchedule *self;

  if (interval_ms < CW_SCHEDULE_MIN_INTERVAL_MS || interval_ms > MAX_INSTANT_MS)
    {
      g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS,
                   "interval %" G_GINT64_FORMAT " ms is shorter than %d ms or too long",
                   interval_ms, CW_SCHEDULE_MIN_INTERVAL_MS);
      return NULL;
    }
  if (!check_instant (anchor_ms, "anchor", error))
    return NULL;
  self = schedule_new (CW_SCHEDULE_KIND_EVERY);
  self->interval = interval_ms;
  self->instant = anchor_ms;
  return self;
}

CwSchedule *
cw_schedule_new_cron (const gchar *expression, const gchar *timezone, GError **error)
{
  g_autoptr (CwSchedule) self = schedule_new (CW_SCHEDULE_KIND_CRON);
  g_autofree gchar *trimmed = NULL;
  g_auto (GStrv) words = NULL;

  g_return_val_if_fail (expression != NULL, NULL);
  if (!cw_cron_expression_parse (expression, &self->cron, error))
    {
      g_prefix_error (error, "cron expression '%s': ", expression);
      return NULL;
    }
  if (timezone != NULL
      && (timezone[0] == '\0' || strchr (timezone, ' ') != NULL
          || (self->tz = g_time_zone_new_identifier (timezone)) == NULL))
    {
      g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS, "unknown time zone '%s'", timezone);
      return NULL;
    }
  trimmed = g_strstrip (g_strdup (expression));
  words = g_regex_split_simple ("\\s+", trimmed, 0, 0);
  self->expression = g_strjoinv (" ", words);
  self->timezone = g_strdup (timezone);
  return g_steal_pointer (&self);
}

CwScheduleKind
cw_schedule_get_kind (const CwSchedule *self)
{
  return self->kind;
}

gint64
cw_schedule_get_instant (const CwSchedule *self)
{
  return self->instant;
}

gint64
cw_schedule_get_interval (const CwSchedule *self)
{
  return self->interval;
}

const gchar *
cw_schedule_get_expression (const CwSchedule *self)
{
  return self->expression;
}

const gchar *
cw_schedule_get_timezone (const CwSchedule *self)
{
  return self->timezone;
}

/* ---- civil time in a zone ------------------------------------------------------------ */

static gint32
offset_at (GTimeZone *tz, gint64 utc_seconds)
{
  return g_time_zone_get_offset (
      tz, g_time_zone_find_interval (tz, G_TIME_TYPE_UNIVERSAL, utc_seconds));
}

/* The instant a civil time (as seconds, read as if UTC) names in @tz: its first occurrence
 * when it repeats, the end of the gap when it does not exist. Offsets never exceed a day,
 * so every instant showing @local lies within a day of it; one transition at most is
 * assumed in that window. */
static gint64
resolve_local (GTimeZone *tz, gint64 local)
{
  gint64 lo = local - 86400, hi = local + 86400;
  gint32 before = offset_at (tz, lo), after = offset_at (tz, hi);

  if (before == after)
    return local - before;
  while (hi - lo > 1) /* hi ends as the first second of the new offset */
    {
      gint64 mid = lo + (hi - lo) / 2;

      if (offset_at (tz, mid) == before)
        lo = mid;
      else
        hi = mid;
    }
  if (local - before < hi)
    return local - before;
  if (local - after >= hi)
    return local - after;
  return hi;
}

static gint64
floor_div (gint64 a, gint64 b)
{
  return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

static gint64
next_cron (const CwSchedule *self, gint64 after_ms)
{
  g_autoptr (GTimeZone) tz
      = self->tz != NULL ? g_time_zone_ref (self->tz) : g_time_zone_new_local ();
  gint64 start = floor_div (after_ms, 1000) + 1; /* the first whole second after */
  CwCivilTime t;
  gint max_year;

  cw_civil_time_from_seconds (start + offset_at (tz, start), &t);
  max_year = MIN (t.year + SEARCH_YEARS, 9999);
  /* A candidate resolves before @start only inside a repeated hour whose first pass is
   * over; stepping on reaches the end of that hour. */
  while (cw_cron_expression_next (&self->cron, &t, max_year))
    {
      gint64 instant = resolve_local (tz, cw_civil_time_to_seconds (&t));

      if (instant >= start)
        return instant * 1000;
      t.second++;
    }
  return CW_SCHEDULE_NEVER;
}

gint64
cw_schedule_next_after (const CwSchedule *self, gint64 after_ms)
{
  gint64 k;

  g_return_val_if_fail (self != NULL, CW_SCHEDULE_NEVER);
  switch (self->kind)
    {
      case CW_SCHEDULE_KIND_AT:
        return self->instant > after_ms ? self->instant : CW_SCHEDULE_NEVER;
      case CW_SCHEDULE_KIND_EVERY:
        if (after_ms < self->instant)
          return self->instant;
        k = (after_ms - self->instant) / self->interval + 1;
        if (k > (MAX_INSTANT_MS - self->instant) / self->interval)
          return CW_SCHEDULE_NEVER;
        return self->instant + k * self->interval;
      case CW_SCHEDULE_KIND_CRON:
        return after_ms >= MAX_INSTANT_MS ? CW_SCHEDULE_NEVER : next_cron (self, after_ms);
      default:
        g_return_val_if_reached (CW_SCHEDULE_NEVER);
    }
}

/* ---- text form ----------------------------------------------------------------------- */

static void
append_instant (GString *out, gint64 ms)
{
  CwCivilTime t;

  cw_civil_time_from_seconds (ms / 1000, &t);
  g_string_append_printf (out, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", t.year, t.month, t.day,
                          t.hour, t.minute, t.second, (gint) (ms % 1000));
}

gchar *
cw_schedule_to_string (const CwSchedule *self)
{
  GString *out = g_string_new (NULL);

  g_return_val_if_fail (self != NULL, NULL);
  switch (self->kind)
    {
      case CW_SCHEDULE_KIND_AT:
        g_string_append (out, "at ");
        append_instant (out, self->instant);
        break;
      case CW_SCHEDULE_KIND_EVERY:
        g_string_append_printf (out, "every %" G_GINT64_FORMAT " from ", self->interval);
        append_instant (out, self->instant);
        break;
      case CW_SCHEDULE_KIND_CRON:
        g_string_append (out, "cron ");
        if (self->timezone != NULL)
          g_string_append_printf (out, "TZ=%s ", self->timezone);
        g_string_append (out, self->expression);
        break;
      default:
        g_assert_not_reached ();
    }
  return g_string_free (out, FALSE);
}

/* Milliseconds, or ISO 8601 (UTC unless it names an offset). */
static gboolean
parse_instant (const gchar *text, gint64 *out, GError **error)
{
  g_autoptr (GTimeZone) utc = g_time_zone_new_utc ();
  g_autoptr (GDateTime) dt = NULL;
  gint64 value;

  if (g_ascii_string_to_signed (text, 10, 0, MAX_INSTANT_MS, &value, NULL))
    {
      *out = value;
      return TRUE;
    }
  dt = g_date_time_new_from_iso8601 (text, utc);
  if (dt == NULL)
    {
      g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS,
                   "'%s' is neither milliseconds nor an ISO 8601 time", text);
      return FALSE;
    }
  *out = g_date_time_to_unix (dt) * 1000 + g_date_time_get_microsecond (dt) / 1000;
  return TRUE;
}

static CwSchedule *
parse_every (gchar **words, GError **error)
{
  gint64 interval, anchor = 0;

  if (words[0] == NULL || !g_ascii_string_to_signed (words[0], 10, 0, G_MAXINT64, &interval, NULL)
      || (words[1] != NULL
          && (g_strcmp0 (words[1], "from") != 0 || words[2] == NULL || words[3] != NULL)))
    {
      g_set_error_literal (error, CW_ERROR, CW_ERROR_INVALID_PARAMS,
                           "expected 'every <milliseconds> [from <instant>]'");
      return NULL;
    }
  if (words[1] != NULL && !parse_instant (words[2], &anchor, error))
    return NULL;
  return cw_schedule_new_every (interval, anchor, error);
}

static CwSchedule *
parse_cron (const gchar *rest, GError **error)
{
  g_autofree gchar *zone = NULL;

  if (g_str_has_prefix (rest, "TZ="))
    {
      const gchar *space = strchr (rest, ' ');

      if (space == NULL)
        {
          g_set_error_literal (error, CW_ERROR, CW_ERROR_INVALID_PARAMS,
                               "expected 'cron [TZ=<zone>] <expression>'");
          return NULL;
        }
      zone = g_strndup (rest + 3, space - rest - 3);
      rest = space + 1;
    }
  return cw_schedule_new_cron (rest, zone, error);
}

CwSchedule *
cw_schedule_new_from_string (const gchar *text, GError **error)
{
  g_autofree gchar *trimmed = NULL;
  g_auto (GStrv) words = NULL;
  gint64 at;

  g_return_val_if_fail (text != NULL, NULL);
  trimmed = g_strstrip (g_strdup (text));
  words = g_regex_split_simple ("\\s+", trimmed, 0, 0);
  if (words[0] != NULL && strcmp (words[0], "cron") == 0 && words[1] != NULL)
    return parse_cron (trimmed + strlen ("cron") + strspn (trimmed + 4, " \t"), error);
  if (words[0] != NULL && strcmp (words[0], "every") == 0)
    return parse_every (words + 1, error);
  if (words[0] != NULL && strcmp (words[0], "at") == 0 && words[1] != NULL && words[2] == NULL)
    return parse_instant (words[1], &at, error) ? cw_schedule_new_at (at, error) : NULL;
  g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS,
               "schedule '%s' is not 'at ...', 'every ...' or 'cron ...'", text);
  return NULL;
}
