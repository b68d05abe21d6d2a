/* cw-test-clock-private.h: the COWORK_TEST_CLOCK hook of the daemon's scheduler.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cowork-host.h"

G_BEGIN_DECLS

/* With COWORK_TEST_CLOCK set (an instant, ms or ISO 8601), puts @scheduler on a wall clock
 * that stands still at that instant and registers test_clock_set {nowMs}, which moves it as
 * setting the system clock would. Without the variable it does nothing. FALSE with @error
 * for a value that is not an instant. */
gboolean cw_test_clock_setup (CwScheduler *scheduler, CwCommandRegistry *registry, GError **error);
gboolean cw_test_clock_is_active (void);

G_END_DECLS
