/* cw-integrations-adapters.h: the adapter types built into the plugin. Each adapter under
 * adapters/<platform>/ adds its get_type here and defines CW_INTEGRATIONS_HAVE_<PLATFORM> in
 * its meson.build; cw-integrations-registry.c puts it in the platform's row.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "../cw-integration-adapter.h"

G_BEGIN_DECLS

GType cw_irc_adapter_get_type (void);
GType cw_email_adapter_get_type (void);
GType cw_telegram_adapter_get_type (void);
GType cw_slack_adapter_get_type (void);
GType cw_discord_adapter_get_type (void);
GType cw_teams_adapter_get_type (void);
GType cw_imessage_adapter_get_type (void);
GType cw_whatsapp_adapter_get_type (void);

G_END_DECLS
