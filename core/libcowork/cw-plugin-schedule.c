/* cw-plugin-schedule.c: a plugin's scheduled jobs, always in its own name.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-plugin-private.h"
#include "cw-scheduler-private.h"

#include <string.h>

#define MAX_JOB_ID 256

static CwScheduler *
get_scheduler (CwPlugin *self, GError **error)
{
  CwScheduler *scheduler = cw_context_get_scheduler (cw_plugin_get_context (self));

  if (scheduler == NULL)
    g_set_error (error, CW_ERROR, CW_ERROR_NOT_SUPPORTED, "%s: the scheduler is not running",
                 cw_plugin_get_name (self));
  return scheduler;
}

static gboolean
check_job_id (const gchar *job_id, GError **error)
{
  if (job_id != NULL && job_id[0] != '\0' && strlen (job_id) <= MAX_JOB_ID
      && g_utf8_validate (job_id, -1, NULL))
    return TRUE;
  g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS, "a job id must be 1 to %d bytes of UTF-8",
               MAX_JOB_ID);
  return FALSE;
}

gboolean
cw_plugin_schedule_add (CwPlugin *self, const gchar *job_id, CwSchedule *schedule,
                        CwMissedPolicy missed, CwScheduleFunc func, gpointer user_data,
                        GDestroyNotify destroy, GError **error)
{
  CwScheduler *scheduler;

  g_return_val_if_fail (CW_IS_PLUGIN (self), FALSE);
  g_return_val_if_fail (schedule != NULL, FALSE);
  g_return_val_if_fail (func != NULL, FALSE);
  if (!check_job_id (job_id, error))
    return FALSE;
  if ((guint) missed > CW_MISSED_POLICY_ALL)
    {
      g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS, "unknown missed-run policy %d",
                   (gint) missed);
      return FALSE;
    }
  if (cw_plugin_get_state (self) == CW_PLUGIN_STATE_DISABLED
      || cw_plugin_get_state (self) == CW_PLUGIN_STATE_STOPPED)
    {
      g_set_error (error, CW_ERROR, CW_ERROR_NOT_SUPPORTED, "%s is not running",
                   cw_plugin_get_name (self));
      return FALSE;
    }
  if ((scheduler = get_scheduler (self, error)) == NULL)
    return FALSE;
  return cw_scheduler_add (scheduler, self, cw_plugin_get_name (self), job_id, schedule, missed,
                           func, user_data, destroy, error);
}

gboolean
cw_plugin_schedule_remove (CwPlugin *self, const gchar *job_id, GError **error)
{
  CwScheduler *scheduler;

  g_return_val_if_fail (CW_IS_PLUGIN (self), FALSE);
  if (!check_job_id (job_id, error) || (scheduler = get_scheduler (self, error)) == NULL)
    return FALSE;
  return cw_scheduler_remove (scheduler, cw_plugin_get_name (self), job_id, error);
}

gint64
cw_plugin_schedule_get_next (CwPlugin *self, const gchar *job_id)
{
  CwScheduler *scheduler;

  g_return_val_if_fail (CW_IS_PLUGIN (self), CW_SCHEDULE_NEVER);
  if (job_id == NULL || (scheduler = get_scheduler (self, NULL)) == NULL)
    return CW_SCHEDULE_NEVER;
  return cw_scheduler_get_next (scheduler, cw_plugin_get_name (self), job_id);
}

gint64
cw_plugin_schedule_get_now (CwPlugin *self)
{
  CwScheduler *scheduler;

  g_return_val_if_fail (CW_IS_PLUGIN (self), cw_now_ms ());
  if ((scheduler = get_scheduler (self, NULL)) == NULL)
    return cw_now_ms ();
  return cw_scheduler_get_now (scheduler);
}
