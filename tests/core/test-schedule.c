/* test-schedule.c: next fire times of every schedule kind, in tricky calendar cases.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cowork.h"

#include <string.h>

static gint64
iso (const gchar *text)
{
  g_autoptr (GDateTime) dt = g_date_time_new_from_iso8601 (text, NULL);

  g_assert_nonnull (dt);
  return g_date_time_to_unix (dt) * 1000 + g_date_time_get_microsecond (dt) / 1000;
}

static gchar *
iso_of (gint64 ms)
{
  g_autoptr (GDateTime) dt = g_date_time_new_from_unix_utc (ms / 1000);

  return ms == CW_SCHEDULE_NEVER ? g_strdup ("never") : g_date_time_format (dt, "%FT%TZ");
}

/* Each row: a cron expression in a zone, a start, and the next fire times one after the
 * other (UTC). */
typedef struct
{
  const gchar *why;
  const gchar *expression;
  const gchar *zone;
  const gchar *after;
  const gchar *fires[8];
} Row;

static const Row rows[] = {
  { "Berlin spring forward: 02:30 does not exist, fires when the gap ends (03:00 CEST)",
    "30 2 * * *",
    "Europe/Berlin",
    "2026-03-28T12:00:00Z",
    { "2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z" } },
  { "Berlin spring forward: every quarter of the gap hour fires once, at the gap's end",
    "*/15 2 * * *",
    "Europe/Berlin",
    "2026-03-29T00:00:00Z",
    { "2026-03-29T01:00:00Z", "2026-03-30T00:00:00Z" } },
  { "Berlin fall back: 02:30 happens twice, fires at the first (CEST) only",
    "30 2 * * *",
    "Europe/Berlin",
    "2026-10-24T12:00:00Z",
    { "2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z" } },
  { "Berlin fall back: hourly skips the repeated 02:00 CET",
    "0 * * * *",
    "Europe/Berlin",
    "2026-10-24T22:30:00Z",
    { "2026-10-24T23:00:00Z", "2026-10-25T00:00:00Z", "2026-10-25T02:00:00Z",
      "2026-10-25T03:00:00Z" } },
  { "Berlin fall back: starting inside the second pass of the repeated hour",
    "*/20 * * * *",
    "Europe/Berlin",
    "2026-10-25T01:10:00Z",
    { "2026-10-25T02:00:00Z", "2026-10-25T02:20:00Z" } },
  { "New York spring forward: 02:30 EST does not exist, fires at 03:00 EDT",
    "30 2 * * *",
    "America/New_York",
    "2026-03-07T12:00:00Z",
    { "2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z" } },
  { "New York fall back: 01:30 fires at the EDT occurrence only",
    "30 1 * * *",
    "America/New_York",
    "2026-10-31T12:00:00Z",
    { "2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z" } },
  { "Sydney autumn (April): clocks go back, 02:30 AEDT first",
    "30 2 * * *",
    "Australia/Sydney",
    "2026-04-03T12:00:00Z",
    { "2026-04-03T15:30:00Z", "2026-04-04T15:30:00Z", "2026-04-05T16:30:00Z" } },
  { "Sydney spring (October): 02:30 does not exist, fires at 03:00 AEDT",
    "30 2 * * *",
    "Australia/Sydney",
    "2026-10-02T12:00:00Z",
    { "2026-10-02T16:30:00Z", "2026-10-03T16:00:00Z", "2026-10-04T15:30:00Z" } },
  { "Feb 29 only in leap years",
    "0 0 29 2 *",
    "UTC",
    "2026-01-01T00:00:00Z",
    { "2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z" } },
  { "the 31st skips shorter months",
    "0 12 31 * *",
    "UTC",
    "2026-01-31T12:00:00Z",
    { "2026-03-31T12:00:00Z", "2026-05-31T12:00:00Z", "2026-07-31T12:00:00Z",
      "2026-08-31T12:00:00Z", "2026-10-31T12:00:00Z" } },
  { "year end: last minute of the year",
    "59 23 31 12 *",
    "UTC",
    "2026-12-31T23:59:00Z",
    { "2027-12-31T23:59:00Z" } },
  { "year end: seconds field carries into the new year",
    "*/20 * * * * *",
    "UTC",
    "2026-12-31T23:59:50Z",
    { "2027-01-01T00:00:00Z", "2027-01-01T00:00:20Z" } },
  { "year end in Berlin: midnight local is 23:00 UTC",
    "@yearly",
    "Europe/Berlin",
    "2026-06-01T00:00:00Z",
    { "2026-12-31T23:00:00Z", "2027-12-31T23:00:00Z" } },
  { "weekdays at 09:00 Berlin: Friday then Monday",
    "0 9 * * MON-FRI",
    "Europe/Berlin",
    "2026-12-04T08:00:00Z",
    { "2026-12-07T08:00:00Z", "2026-12-08T08:00:00Z" } },
  { "L: the last day of each month, Feb 29 in a leap year",
    "0 0 L * *",
    "UTC",
    "2028-01-31T00:00:00Z",
    { "2028-02-29T00:00:00Z", "2028-03-31T00:00:00Z", "2028-04-30T00:00:00Z" } },
  { "5L: the last Friday of the month",
    "0 0 * * 5L",
    "UTC",
    "2026-12-01T00:00:00Z",
    { "2026-12-25T00:00:00Z", "2027-01-29T00:00:00Z" } },
  { "MON#1: the first Monday of the month",
    "0 10 * * MON#1",
    "UTC",
    "2026-12-01T00:00:00Z",
    { "2026-12-07T10:00:00Z", "2027-01-04T10:00:00Z" } },
  { "both day fields restricted: the 13th OR a Friday (Vixie)",
    "0 0 13 * FRI",
    "UTC",
    "2026-11-01T00:00:00Z",
    { "2026-11-06T00:00:00Z", "2026-11-13T00:00:00Z", "2026-11-20T00:00:00Z",
      "2026-11-27T00:00:00Z", "2026-12-04T00:00:00Z", "2026-12-11T00:00:00Z",
      "2026-12-13T00:00:00Z" } },
  { "day-of-month starting with '*': odd days AND Fridays",
    "0 0 */2 * FRI",
    "UTC",
    "2026-11-01T00:00:00Z",
    { "2026-11-13T00:00:00Z", "2026-11-27T00:00:00Z" } },
  { "names, lists and ranges with steps",
    "0 8-18/5,23 * jan,Jul sun",
    "UTC",
    "2026-07-04T00:00:00Z",
    { "2026-07-05T08:00:00Z", "2026-07-05T13:00:00Z", "2026-07-05T18:00:00Z",
      "2026-07-05T23:00:00Z", "2026-07-12T08:00:00Z" } },
  { "7 is Sunday as well", "0 0 * * 7", "UTC", "2026-12-01T00:00:00Z", { "2026-12-06T00:00:00Z" } },
  { "6 fields: seconds first",
    "30 0 9 * * *",
    "UTC",
    "2026-12-01T09:00:30Z",
    { "2026-12-02T09:00:30Z" } },
  { "@weekly is Sunday midnight",
    "@weekly",
    "UTC",
    "2026-12-01T00:00:00Z",
    { "2026-12-06T00:00:00Z", "2026-12-13T00:00:00Z" } },
  { "@hourly",
    "@hourly",
    "UTC",
    "2026-12-01T00:59:59.999Z",
    { "2026-12-01T01:00:00Z", "2026-12-01T02:00:00Z" } },
  { "@monthly",
    "@monthly",
    "UTC",
    "2026-12-01T00:00:00Z",
    { "2027-01-01T00:00:00Z", "2027-02-01T00:00:00Z" } },
};

static void
test_cron_table (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      const Row *row = &rows[i];
      g_autoptr (GError) error = NULL;
      g_autoptr (CwSchedule) s = cw_schedule_new_cron (row->expression, row->zone, &error);
      gint64 t = iso (row->after);

      g_test_message ("%s: '%s' in %s", row->why, row->expression, row->zone);
      g_assert_no_error (error);
      for (guint k = 0; k < G_N_ELEMENTS (row->fires) && row->fires[k] != NULL; k++)
        {
          g_autofree gchar *got = NULL;

          t = cw_schedule_next_after (s, t);
          got = iso_of (t);
          g_assert_cmpstr (got, ==, row->fires[k]);
        }
    }
}

static guint
count_fires (const gchar *expression, const gchar *zone, const gchar *from, const gchar *to)
{
  g_autoptr (CwSchedule) s = cw_schedule_new_cron (expression, zone, NULL);
  gint64 end = iso (to), prev = CW_SCHEDULE_NEVER;
  guint n = 0;

  for (gint64 t = cw_schedule_next_after (s, iso (from) - 1); t < end;
       t = cw_schedule_next_after (s, t))
    {
      g_assert_cmpint (t, >, prev);
      prev = t;
      n++;
    }
  return n;
}

static void
test_every_minute_for_a_day (void)
{
  g_autoptr (CwSchedule) s = cw_schedule_new_cron ("*/1 * * * *", "UTC", NULL);
  gint64 start = iso ("2026-12-01T00:00:00Z"), t = start - 1;

  for (guint i = 0; i < 1440; i++)
    {
      t = cw_schedule_next_after (s, t);
      g_assert_cmpint (t, ==, start + (gint64) i * 60000);
    }
  g_assert_cmpint (cw_schedule_next_after (s, t), ==, start + 86400000);
  g_assert_cmpuint (
      count_fires ("*/1 * * * *", "UTC", "2026-12-01T00:00:00Z", "2026-12-02T00:00:00Z"), ==, 1440);
  /* Local days in Berlin: 23 hours when clocks go forward (the gap hour fires nowhere, its
   * first minute's instant is 03:00's), 25 hours when they go back (the repeated hour fires
   * once), so every civil minute fires exactly once. */
  g_assert_cmpuint (
      count_fires ("* * * * *", "Europe/Berlin", "2026-03-28T23:00:00Z", "2026-03-29T22:00:00Z"),
      ==, 23 * 60);
  g_assert_cmpuint (
      count_fires ("* * * * *", "Europe/Berlin", "2026-10-24T22:00:00Z", "2026-10-25T23:00:00Z"),
      ==, 24 * 60);
}

static void
test_every (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (CwSchedule) s = cw_schedule_new_every (60000, 1000, &error);

  g_assert_no_error (error);
  g_assert_cmpint (cw_schedule_next_after (s, 0), ==, 1000);
  g_assert_cmpint (cw_schedule_next_after (s, 999), ==, 1000);
  g_assert_cmpint (cw_schedule_next_after (s, 1000), ==, 61000);
  g_assert_cmpint (cw_schedule_next_after (s, 60999), ==, 61000);
  g_assert_cmpint (cw_schedule_next_after (s, 61000), ==, 121000);
  g_assert_cmpint (cw_schedule_get_interval (s), ==, 60000);
  g_assert_cmpint (cw_schedule_get_instant (s), ==, 1000);

  g_assert_null (cw_schedule_new_every (999, 0, &error));
  g_assert_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS);
  g_assert_nonnull (strstr (error->message, "1000 ms"));
  g_clear_error (&error);
  g_assert_null (cw_schedule_new_every (60000, -5, &error));
  g_assert_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS);
  g_clear_error (&error);

  /* The grid ends at year 9999 instead of overflowing. */
  g_clear_pointer (&s, cw_schedule_unref);
  s = cw_schedule_new_every (G_GINT64_CONSTANT (100000000000000), 0, NULL);
  g_assert_cmpint (cw_schedule_next_after (s, G_GINT64_CONSTANT (200000000000000)), ==,
                   CW_SCHEDULE_NEVER);
}

static void
test_at (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (CwSchedule) s = cw_schedule_new_at (5000, &error);

  g_assert_no_error (error);
  g_assert_cmpint (cw_schedule_get_kind (s), ==, CW_SCHEDULE_KIND_AT);
  g_assert_cmpint (cw_schedule_next_after (s, 0), ==, 5000);
  g_assert_cmpint (cw_schedule_next_after (s, 4999), ==, 5000);
  g_assert_cmpint (cw_schedule_next_after (s, 5000), ==, CW_SCHEDULE_NEVER);
  g_assert_null (cw_schedule_new_at (-1, &error));
  g_assert_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS);
}

typedef struct
{
  const gchar *expression;
  const gchar *zone;
  const gchar *says; /* part of the message */
} Bad;

static const Bad bad[] = {
  { "", NULL, "5 or 6 fields" },
  { "* * * *", NULL, "5 or 6 fields, this one has 4" },
  { "* * * * * * *", NULL, "5 or 6 fields, this one has 7" },
  { "61 * * * *", NULL, "minute field: 61 is out of range 0-59" },
  { "* 24 * * *", NULL, "hour field: 24 is out of range 0-23" },
  { "* * 0 * *", NULL, "day-of-month field: 0 is out of range 1-31" },
  { "* * 32 * *", NULL, "day-of-month field" },
  { "* * * 13 *", NULL, "month field: 13 is out of range 1-12" },
  { "* * * * 8", NULL, "day-of-week field: 8 is out of range 0-7" },
  { "* * * FOO *", NULL, "month field: 'FOO' is not a number or a name" },
  { "60 * * * * *", NULL, "second field" },
  { "*/0 * * * *", NULL, "minute field: step '0'" },
  { "5-1 * * * *", NULL, "minute field: range 5-1 runs backwards" },
  { "1,,2 * * * *", NULL, "minute field: an item of the list is empty" },
  { "x * * * *", NULL, "minute field: 'x' is not a number" },
  { "*x * * * *", NULL, "minute field" },
  { "0 0 30 2 *", NULL, "never fires" },
  { "0 0 31 4,6,9,11 *", NULL, "never fires" },
  { "0 0 * * MON#6", NULL, "day-of-week field: '#6' must be #1 to #5" },
  { "0 0 * * L", NULL, "day-of-week field: 'L' needs a weekday" },
  { "0 0 LW * *", NULL, "day-of-month field" },
  { "0 0 L * MON-", NULL, "day-of-week field: a value is missing" },
  { "@reboot", NULL, "unknown macro '@reboot'" },
  { "@foo", NULL, "unknown macro" },
  { "0 9 * * *", "Mars/Olympus_Mons", "unknown time zone 'Mars/Olympus_Mons'" },
  { "0 9 * * *", "", "unknown time zone" },
  { "0 9 * * *", "Europe/Berln", "unknown time zone" },
};

static void
test_invalid (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (CwSchedule) s = cw_schedule_new_cron (bad[i].expression, bad[i].zone, &error);

      g_test_message ("'%s' in %s", bad[i].expression, bad[i].zone);
      g_assert_null (s);
      g_assert_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS);
      if (strstr (error->message, bad[i].says) == NULL)
        g_error ("'%s': message '%s' does not say '%s'", bad[i].expression, error->message,
                 bad[i].says);
    }
}

static void
round_trip (CwSchedule *s, const gchar *expected)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *text = cw_schedule_to_string (s);
  g_autoptr (CwSchedule) back = NULL;
  g_autofree gchar *again = NULL;

  g_assert_cmpstr (text, ==, expected);
  back = cw_schedule_new_from_string (text, &error);
  g_assert_no_error (error);
  again = cw_schedule_to_string (back);
  g_assert_cmpstr (again, ==, text);
  g_assert_cmpint (cw_schedule_next_after (back, 1764547200000), ==,
                   cw_schedule_next_after (s, 1764547200000));
}

static void
test_to_string (void)
{
  g_autoptr (CwSchedule) at = cw_schedule_new_at (iso ("2026-12-01T09:00:00.250Z"), NULL);
  g_autoptr (CwSchedule) every
      = cw_schedule_new_every (3600000, iso ("2026-12-01T09:00:00Z"), NULL);
  g_autoptr (CwSchedule) cron = cw_schedule_new_cron ("  0 9 *  * MON-FRI ", "Europe/Berlin", NULL);
  g_autoptr (CwSchedule) local = cw_schedule_new_cron ("@daily", NULL, NULL);
  g_autoptr (CwSchedule) parsed = NULL;
  g_autoptr (GError) error = NULL;

  round_trip (at, "at 2026-12-01T09:00:00.250Z");
  round_trip (every, "every 3600000 from 2026-12-01T09:00:00.000Z");
  round_trip (cron, "cron TZ=Europe/Berlin 0 9 * * MON-FRI");
  round_trip (local, "cron @daily");
  g_assert_cmpstr (cw_schedule_get_expression (cron), ==, "0 9 * * MON-FRI");
  g_assert_cmpstr (cw_schedule_get_timezone (cron), ==, "Europe/Berlin");
  g_assert_null (cw_schedule_get_timezone (local));

  parsed = cw_schedule_new_from_string ("every 60000", &error);
  g_assert_no_error (error);
  g_assert_cmpint (cw_schedule_next_after (parsed, 59999), ==, 60000);
  g_clear_pointer (&parsed, cw_schedule_unref);
  parsed = cw_schedule_new_from_string ("at 1764579600000", &error);
  g_assert_no_error (error);
  g_assert_cmpint (cw_schedule_get_instant (parsed), ==, 1764579600000);

  for (guint i = 0; i < 6; i++)
    {
      static const gchar *const wrong[] = {
        "", "sometimes", "at", "at tomorrow", "every 10 from", "cron TZ=Nowhere/Land 0 9 * * *",
      };
      g_assert_null (cw_schedule_new_from_string (wrong[i], &error));
      g_assert_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS);
      g_clear_error (&error);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cowork/schedule/cron-table", test_cron_table);
  g_test_add_func ("/cowork/schedule/every-minute-for-a-day", test_every_minute_for_a_day);
  g_test_add_func ("/cowork/schedule/every", test_every);
  g_test_add_func ("/cowork/schedule/at", test_at);
  g_test_add_func ("/cowork/schedule/invalid", test_invalid);
  g_test_add_func ("/cowork/schedule/to-string", test_to_string);
  return g_test_run ();
}
