/* cw-missed-policy-private.h: which calls a job is owed for the instants that are due.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cowork.h"

G_BEGIN_DECLS

typedef struct
{
  gint64 instant;
  CwScheduleFireFlags flags;
} CwScheduledFire;

/* Appends to @fires (of CwScheduledFire) the calls owed at @now for the instants of
 * @schedule from @first (an instant not delivered yet, <= @now) to @now, oldest first:
 * on-time instants always, missed ones as @policy says, and one skipped report for the
 * newest missed instant that is dropped. */
void cw_missed_policy_plan (CwMissedPolicy policy, const CwSchedule *schedule, gint64 first,
                            gint64 now, GArray *fires);

G_END_DECLS
