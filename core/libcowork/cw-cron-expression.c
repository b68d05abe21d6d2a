/* cw-cron-expression.c: parsing cron expressions and finding the next matching civil time.
 *
 * Fields: [second] minute hour day-of-month month day-of-week. Each field is a list of
 * items: "*", a value, a range "a-b", any of those with a step "/n" ("a/n" runs to the
 * field's maximum), month names JAN-DEC and day names SUN-SAT (7 is Sunday too). The
 * day-of-month field also takes "L" (the last day of the month); the day-of-week field takes
 * "nL" (the last weekday n of the month) and "n#k" (the k-th weekday n, k = 1-5). "?" is "*".
 * When both day fields are restricted (neither starts with '*' or '?') a day matches either
 * of them, as in Vixie cron; otherwise it must match both.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-cron-expression-private.h"

#include <string.h>

typedef enum
{
  FIELD_SECOND,
  FIELD_MINUTE,
  FIELD_HOUR,
  FIELD_DAY,
  FIELD_MONTH,
  FIELD_WEEKDAY,
} FieldKind;

typedef struct
{
  const gchar *name;
  gint min;
  gint max;
} FieldSpec;

static const FieldSpec fields[] = {
  [FIELD_SECOND] = { "second", 0, 59 }, [FIELD_MINUTE] = { "minute", 0, 59 },
  [FIELD_HOUR] = { "hour", 0, 23 },     [FIELD_DAY] = { "day-of-month", 1, 31 },
  [FIELD_MONTH] = { "month", 1, 12 },   [FIELD_WEEKDAY] = { "day-of-week", 0, 7 },
};

static const gchar *const month_names[]
    = { "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC" };
static const gchar *const weekday_names[] = { "SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT" };

static const struct
{
  const gchar *name;
  const gchar *fields;
} macros[] = {
  { "@yearly", "0 0 1 1 *" }, { "@annually", "0 0 1 1 *" }, { "@monthly", "0 0 1 * *" },
  { "@weekly", "0 0 * * 0" }, { "@daily", "0 0 * * *" },    { "@midnight", "0 0 * * *" },
  { "@hourly", "0 * * * *" },
};

/* ---- civil time ---------------------------------------------------------------------- */

static gint64
days_from_civil (gint64 y, gint m, gint d)
{
  gint64 era, yoe, doy, doe;

  y -= m <= 2;
  era = (y >= 0 ? y : y - 399) / 400;
  yoe = y - era * 400;
  doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

static gint
weekday_of (gint64 days)
{
  return (gint) (((days % 7) + 11) % 7); /* 1970-01-01 was a Thursday */
}

static gboolean
is_leap (gint y)
{
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static gint
days_in_month (gint y, gint m)
{
  static const gint dim[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

  return m == 2 && is_leap (y) ? 29 : dim[m - 1];
}

gint64
cw_civil_time_to_seconds (const CwCivilTime *t)
{
  return days_from_civil (t->year, t->month, t->day) * 86400 + t->hour * 3600 + t->minute * 60
         + t->second;
}

void
cw_civil_time_from_seconds (gint64 seconds, CwCivilTime *t)
{
  gint64 days = seconds >= 0 ? seconds / 86400 : -((-seconds + 86399) / 86400);
  gint64 rest = seconds - days * 86400;
  gint64 z = days + 719468;
  gint64 era = (z >= 0 ? z : z - 146096) / 146097;
  gint64 doe = z - era * 146097;
  gint64 yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  gint64 doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  gint64 mp = (5 * doy + 2) / 153;

  t->day = (gint) (doy - (153 * mp + 2) / 5 + 1);
  t->month = (gint) (mp < 10 ? mp + 3 : mp - 9);
  t->year = (gint) (yoe + era * 400 + (t->month <= 2));
  t->hour = (gint) (rest / 3600);
  t->minute = (gint) (rest / 60 % 60);
  t->second = (gint) (rest % 60);
}

/* ---- parsing ------------------------------------------------------------------------- */

static gboolean field_error (GError **error, FieldKind kind, const gchar *format, ...)
    G_GNUC_PRINTF (3, 4);

static gboolean
field_error (GError **error, FieldKind kind, const gchar *format, ...)
{
  va_list args;
  g_autofree gchar *message = NULL;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS, "%s field: %s", fields[kind].name,
               message);
  return FALSE;
}

/* A number or, for months and weekdays, a three-letter name. */
static gboolean
parse_value (const gchar *text, FieldKind kind, gint *out, GError **error)
{
  const gchar *const *names = kind == FIELD_MONTH     ? month_names
                              : kind == FIELD_WEEKDAY ? weekday_names
                                                      : NULL;
  guint n_names = kind == FIELD_MONTH ? 12 : 7;
  guint64 value;

  if (*text == '\0')
    return field_error (error, kind, "a value is missing");
  for (guint i = 0; names != NULL && i < n_names; i++)
    if (g_ascii_strcasecmp (text, names[i]) == 0)
      {
        *out = (gint) i + (kind == FIELD_MONTH ? 1 : 0);
        return TRUE;
      }
  if (!g_ascii_string_to_unsigned (text, 10, 0, G_MAXINT, &value, NULL))
    return field_error (error, kind, "'%s' is not a number%s", text,
                        names == NULL ? "" : " or a name");
  if ((gint) value < fields[kind].min || (gint) value > fields[kind].max)
    return field_error (error, kind, "%s is out of range %d-%d", text, fields[kind].min,
                        fields[kind].max);
  *out = (gint) value;
  return TRUE;
}

static void
set_bits (CwCronExpression *cron, FieldKind kind, gint from, gint to, gint step)
{
  for (gint v = from; v <= to; v += step)
    switch (kind)
      {
        case FIELD_SECOND:
          cron->seconds |= G_GUINT64_CONSTANT (1) << v;
          break;
        case FIELD_MINUTE:
          cron->minutes |= G_GUINT64_CONSTANT (1) << v;
          break;
        case FIELD_HOUR:
          cron->hours |= 1u << v;
          break;
        case FIELD_DAY:
          cron->days |= 1u << v;
          break;
        case FIELD_MONTH:
          cron->months |= (guint16) (1u << v);
          break;
        case FIELD_WEEKDAY:
          cron->weekdays |= (guint8) (1u << (v % 7));
          break;
        default:
          g_assert_not_reached ();
      }
}

/* "nL" and "n#k" of the day-of-week field. */
static gboolean
parse_weekday_special (CwCronExpression *cron, gchar *item, GError **error)
{
  gchar *hash = strchr (item, '#');
  gsize len = strlen (item);
  gint weekday;
  guint64 nth;

  if (hash != NULL)
    {
      *hash = '\0';
      if (!parse_value (item, FIELD_WEEKDAY, &weekday, error))
        return FALSE;
      if (!g_ascii_string_to_unsigned (hash + 1, 10, 1, 5, &nth, NULL))
        return field_error (error, FIELD_WEEKDAY, "'#%s' must be #1 to #5", hash + 1);
      cron->nth_weekdays[weekday % 7] |= (guint8) (1u << nth);
      return TRUE;
    }
  item[len - 1] = '\0';
  if (len == 1)
    return field_error (error, FIELD_WEEKDAY, "'L' needs a weekday before it, e.g. 5L");
  if (!parse_value (item, FIELD_WEEKDAY, &weekday, error))
    return FALSE;
  cron->last_weekdays |= (guint8) (1u << (weekday % 7));
  return TRUE;
}

static gboolean
is_star (FieldKind kind, const gchar *text)
{
  return text[0] == '*' || ((kind == FIELD_DAY || kind == FIELD_WEEKDAY) && text[0] == '?');
}

/* One list item: "*", "v", "a-b", each optionally "/step"; or "L", "nL", "n#k". */
static gboolean
parse_item (CwCronExpression *cron, FieldKind kind, gchar *item, GError **error)
{
  const FieldSpec *spec = &fields[kind];
  gchar *slash = strchr (item, '/');
  gchar *dash;
  gint from = spec->min, to = spec->max;
  guint64 step = 1;

  if (*item == '\0')
    return field_error (error, kind, "an item of the list is empty");
  if (kind == FIELD_DAY && g_ascii_strcasecmp (item, "L") == 0)
    {
      cron->last_day = TRUE;
      return TRUE;
    }
  if (kind == FIELD_WEEKDAY && slash == NULL
      && (strchr (item, '#') != NULL || g_ascii_toupper (item[strlen (item) - 1]) == 'L'))
    return parse_weekday_special (cron, item, error);
  if (slash != NULL)
    {
      *slash = '\0';
      if (!g_ascii_string_to_unsigned (slash + 1, 10, 1, (guint64) (spec->max - spec->min + 1),
                                       &step, NULL))
        return field_error (error, kind, "step '%s' must be a number from 1 to %d", slash + 1,
                            spec->max - spec->min + 1);
    }
  if (is_star (kind, item) && item[1] == '\0')
    ;
  else if ((dash = strchr (item, '-')) != NULL)
    {
      *dash = '\0';
      if (!parse_value (item, kind, &from, error) || !parse_value (dash + 1, kind, &to, error))
        return FALSE;
      if (from > to)
        return field_error (error, kind, "range %s-%s runs backwards", item, dash + 1);
    }
  else
    {
      if (!parse_value (item, kind, &from, error))
        return FALSE;
      if (slash == NULL)
        to = from;
    }
  set_bits (cron, kind, from, to, (gint) step);
  return TRUE;
}

static gboolean
parse_field (CwCronExpression *cron, FieldKind kind, const gchar *text, GError **error)
{
  g_auto (GStrv) items = g_strsplit (text, ",", -1);

  for (guint i = 0; items[i] != NULL; i++)
    if (!parse_item (cron, kind, items[i], error))
      return FALSE;
  if (kind == FIELD_DAY)
    cron->days_star = is_star (kind, text);
  if (kind == FIELD_WEEKDAY)
    cron->weekdays_star = is_star (kind, text);
  return TRUE;
}

static const gchar *
expand_macro (const gchar *text, GError **error)
{
  for (guint i = 0; i < G_N_ELEMENTS (macros); i++)
    if (g_ascii_strcasecmp (text, macros[i].name) == 0)
      return macros[i].fields;
  g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS,
               "unknown macro '%s' (use @yearly, @monthly, @weekly, @daily or @hourly)", text);
  return NULL;
}

/* Steps every day for 400 years (one full cycle of the calendar and the weekdays). */
static gboolean
ever_matches (const CwCronExpression *cron)
{
  CwCivilTime t = { 2000, 1, 1, 0, 0, 0 };

  return cw_cron_expression_next (cron, &t, 2399);
}

gboolean
cw_cron_expression_parse (const gchar *text, CwCronExpression *out, GError **error)
{
  g_auto (GStrv) parts = NULL;
  g_autofree gchar *trimmed = g_strstrip (g_strdup (text));
  const gchar *fields_text = trimmed;
  guint n, first = 0;
  CwCronExpression cron = { 0 };

  if (trimmed[0] == '@' && (fields_text = expand_macro (trimmed, error)) == NULL)
    return FALSE;
  parts = g_regex_split_simple ("\\s+", fields_text, 0, 0);
  n = g_strv_length (parts);
  if (n != 5 && n != 6)
    {
      g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS,
                   "a cron expression has 5 or 6 fields, this one has %u", n);
      return FALSE;
    }
  if (n == 5)
    cron.seconds = 1; /* second 0 */
  else if (!parse_field (&cron, FIELD_SECOND, parts[first++], error))
    return FALSE;
  for (FieldKind kind = FIELD_MINUTE; kind <= FIELD_WEEKDAY; kind++)
    if (!parse_field (&cron, kind, parts[first++], error))
      return FALSE;
  if (!ever_matches (&cron))
    {
      g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS,
                   "day-of-month field: no selected month has such a day, so it never fires");
      return FALSE;
    }
  *out = cron;
  return TRUE;
}

/* ---- matching ------------------------------------------------------------------------ */

static gboolean
day_matches (const CwCronExpression *cron, const CwCivilTime *t)
{
  gint dim = days_in_month (t->year, t->month);
  gint weekday = weekday_of (days_from_civil (t->year, t->month, t->day));
  gboolean by_day = (cron->days & (1u << t->day)) != 0 || (cron->last_day && t->day == dim);
  gboolean by_weekday = (cron->weekdays & (1u << weekday)) != 0
                        || ((cron->last_weekdays & (1u << weekday)) && t->day + 7 > dim)
                        || (cron->nth_weekdays[weekday] & (1u << ((t->day - 1) / 7 + 1)));

  if (cron->days_star || cron->weekdays_star)
    return by_day && by_weekday;
  return by_day || by_weekday;
}

/* The lowest set bit >= @from, or -1. */
static gint
next_bit (guint64 mask, gint from)
{
  mask &= ~G_GUINT64_CONSTANT (0) << from;
  return mask == 0 ? -1 : g_bit_nth_lsf (mask, -1);
}

/* Carries overflowing fields upwards (each is at most one past its maximum). */
static void
normalize (CwCivilTime *t)
{
  if (t->second > 59)
    t->second = 0, t->minute++;
  if (t->minute > 59)
    t->minute = 0, t->hour++;
  if (t->hour > 23)
    t->hour = 0, t->day++;
  if (t->month > 12)
    t->month = 1, t->year++;
  if (t->day > days_in_month (t->year, t->month))
    t->day = 1, t->month++;
  if (t->month > 12)
    t->month = 1, t->year++;
}

/* Moves a time field to its next allowed value, carrying into @higher and clearing the
 * lower fields when it moves; FALSE when it moved (the search starts over). */
static gboolean
fit_field (guint64 mask, gint *field, gint *higher, gint *lower1, gint *lower2)
{
  gint next = next_bit (mask, *field);

  if (next == *field)
    return TRUE;
  if (next < 0)
    *field = 0, (*higher)++;
  else
    *field = next;
  if (lower1 != NULL)
    *lower1 = 0;
  if (lower2 != NULL)
    *lower2 = 0;
  return FALSE;
}

gboolean
cw_cron_expression_next (const CwCronExpression *self, CwCivilTime *t, gint max_year)
{
  for (;;)
    {
      normalize (t);
      if (t->year > max_year)
        return FALSE;
      if (!(self->months & (1u << t->month)))
        {
          t->month++, t->day = 1, t->hour = t->minute = t->second = 0;
          continue;
        }
      if (!day_matches (self, t))
        {
          t->day++, t->hour = t->minute = t->second = 0;
          continue;
        }
      if (fit_field (self->hours, &t->hour, &t->day, &t->minute, &t->second)
          && fit_field (self->minutes, &t->minute, &t->hour, &t->second, NULL)
          && fit_field (self->seconds, &t->second, &t->minute, NULL, NULL))
        return TRUE;
    }
}
