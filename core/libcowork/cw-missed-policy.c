/* cw-missed-policy.c: on-time, catch-up and skipped calls for the instants that are due.
 *
 * After a long sleep a job may owe millions of instants (every second for a month); only
 * the newest few are ever wanted, so they are found by searching windows that grow back
 * from now instead of walking every instant from the first.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-missed-policy-private.h"

static const gchar *const policy_names[] = {
  [CW_MISSED_POLICY_SKIP] = "skip",
  [CW_MISSED_POLICY_ONCE] = "once",
  [CW_MISSED_POLICY_ALL] = "all",
};

const gchar *
cw_missed_policy_to_string (CwMissedPolicy policy)
{
  g_return_val_if_fail ((guint) policy < G_N_ELEMENTS (policy_names), NULL);
  return policy_names[policy];
}

gboolean
cw_missed_policy_from_string (const gchar *text, CwMissedPolicy *out_policy, GError **error)
{
  for (guint i = 0; text != NULL && i < G_N_ELEMENTS (policy_names); i++)
    if (g_strcmp0 (text, policy_names[i]) == 0)
      {
        *out_policy = (CwMissedPolicy) i;
        return TRUE;
      }
  g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS,
               "missed-run policy '%s' is not skip, once or all", text != NULL ? text : "");
  return FALSE;
}

static void
add_fire (GArray *fires, gint64 instant, CwScheduleFireFlags flags)
{
  CwScheduledFire fire = { instant, flags };

  g_array_append_val (fires, fire);
}

/* The newest @count instants in [@first, @last], oldest first (fewer if there are not so
 * many). @first is an instant of @schedule. */
static GArray *
newest_instants (const CwSchedule *schedule, gint64 first, gint64 last, guint count)
{
  GArray *found = g_array_new (FALSE, FALSE, sizeof (gint64));

  for (gint64 window = 60000;; window = window > G_MAXINT64 / 4 ? G_MAXINT64 : window * 4)
    {
      gint64 from = last - first <= window ? first : last - window;
      gint64 t = from == first ? first : cw_schedule_next_after (schedule, from - 1);

      g_array_set_size (found, 0);
      for (; t != CW_SCHEDULE_NEVER && t <= last; t = cw_schedule_next_after (schedule, t))
        {
          g_array_append_val (found, t);
          if (found->len > count)
            g_array_remove_index (found, 0);
        }
      if (found->len >= count || from == first)
        return found;
    }
}

void
cw_missed_policy_plan (CwMissedPolicy policy, const CwSchedule *schedule, gint64 first, gint64 now,
                       GArray *fires)
{
  gint64 on_time_from = now - CW_SCHEDULER_GRACE_MS;
  g_autoptr (GArray) missed = NULL;
  guint keep = 0;

  if (first < on_time_from)
    {
      gint64 first_on_time = cw_schedule_next_after (schedule, on_time_from - 1);
      gboolean any_on_time = first_on_time != CW_SCHEDULE_NEVER && first_on_time <= now;

      if (policy == CW_MISSED_POLICY_ALL)
        keep = CW_MISSED_POLICY_ALL_MAX;
      else if (policy == CW_MISSED_POLICY_ONCE && !any_on_time)
        keep = 1;
      /* One more than kept: the newest dropped one, for the skipped report. */
      missed = newest_instants (schedule, first, on_time_from - 1, keep + 1);
      for (guint i = 0; i < missed->len; i++)
        add_fire (fires, g_array_index (missed, gint64, i),
                  i + keep < missed->len ? CW_SCHEDULE_FIRE_SKIPPED : CW_SCHEDULE_FIRE_CATCH_UP);
      first = first_on_time;
    }
  for (gint64 t = first; t != CW_SCHEDULE_NEVER && t <= now;
       t = cw_schedule_next_after (schedule, t))
    add_fire (fires, t, CW_SCHEDULE_FIRE_NONE);
}
