/* cw-agent-importer.c: placeholder, replaced by the importer. */
#include "cw-agent-plugin.h"

gboolean
cw_agent_import_legacy (CwAgentPlugin *self, GError **error)
{
  return TRUE;
}
