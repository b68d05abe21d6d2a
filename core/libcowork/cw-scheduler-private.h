/* cw-scheduler-private.h: the scheduler's job calls, with the owner filled in by
 * cw-plugin-schedule.c from the calling plugin.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cowork-host.h"

G_BEGIN_DECLS

gboolean cw_scheduler_add (CwScheduler *self, CwPlugin *plugin, const gchar *owner,
                           const gchar *job_id, CwSchedule *schedule, CwMissedPolicy missed,
                           CwScheduleFunc func, gpointer user_data, GDestroyNotify destroy,
                           GError **error);
gboolean cw_scheduler_remove (CwScheduler *self, const gchar *owner, const gchar *job_id,
                              GError **error);
gint64 cw_scheduler_get_next (CwScheduler *self, const gchar *owner, const gchar *job_id);
/* The scheduler's clock (the test clock once one is set). */
gint64 cw_scheduler_get_now (CwScheduler *self);
/* Stops the owner's jobs (its plugin stopped or was disabled); stored state stays. */
void cw_scheduler_remove_owner (CwScheduler *self, const gchar *owner);

CwScheduler *cw_context_get_scheduler (CwContext *self);

G_END_DECLS
