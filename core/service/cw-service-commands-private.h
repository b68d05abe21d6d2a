/* cw-service-commands-private.h: service_* and credentials_* daemon commands.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cw-paths-private.h"

G_BEGIN_DECLS

/* What the service commands need of the daemon; it must outlive the registry. */
typedef struct
{
  CwContext *context;
  const CwPaths *paths;
} CwServiceEnv;

void cw_service_commands_register (const CwServiceEnv *env, CwCommandRegistry *registry);

G_END_DECLS
