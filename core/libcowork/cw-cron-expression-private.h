/* cw-cron-expression-private.h: cron expressions as bit sets, matched against civil time.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cowork.h"

G_BEGIN_DECLS

/* A wall-clock reading without a zone: what a cron expression is matched against. */
typedef struct
{
  gint year;
  gint month; /* 1-12 */
  gint day;   /* 1-31 */
  gint hour;
  gint minute;
  gint second;
} CwCivilTime;

typedef struct
{
  guint64 seconds;        /* bit n: second n */
  guint64 minutes;        /* bit n: minute n */
  guint32 hours;          /* bit n: hour n */
  guint32 days;           /* bit n: day of month n (1-31) */
  guint16 months;         /* bit n: month n (1-12) */
  guint8 weekdays;        /* bit n: weekday n (0 = Sunday) */
  guint8 last_weekdays;   /* bit n: the last weekday n of the month ("5L") */
  guint8 nth_weekdays[7]; /* bit k of [n]: the k-th weekday n of the month ("5#2") */
  gboolean last_day;      /* "L" in the day-of-month field */
  gboolean days_star;     /* the day-of-month field starts with '*' or '?' */
  gboolean weekdays_star; /* the day-of-week field starts with '*' or '?' */
} CwCronExpression;

/* Parses 5 fields (minute hour day-of-month month day-of-week), 6 fields (seconds first)
 * or a macro (@hourly ...). Errors are CW_ERROR_INVALID_PARAMS naming the field. */
gboolean cw_cron_expression_parse (const gchar *text, CwCronExpression *out, GError **error);
/* Moves @time forward to the first civil time >= @time that matches; FALSE when there is
 * none up to the end of @max_year. */
gboolean cw_cron_expression_next (const CwCronExpression *self, CwCivilTime *time, gint max_year);

gint64 cw_civil_time_to_seconds (const CwCivilTime *time);
void cw_civil_time_from_seconds (gint64 seconds, CwCivilTime *time);

G_END_DECLS
