/* cw-cloud-parts.c: the bookkeeping of a text sent as several messages. */
#include "cw-cloud-parts.h"

void
cw_cloud_parts_clear (CwCloudParts *parts)
{
  g_clear_pointer (&parts->parts, g_strfreev);
  g_clear_pointer (&parts->first_id, g_free);
}

void
cw_cloud_parts_fail (GTask *task, CwCloudParts *parts, GError *error)
{
  if (parts->first_id != NULL)
    {
      g_error_free (error);
      g_task_return_pointer (task, g_steal_pointer (&parts->first_id), g_free);
    }
  else
    g_task_return_error (task, error);
}

gboolean
cw_cloud_parts_sent (GTask *task, CwCloudParts *parts, gchar *id)
{
  cw_integration_adapter_report_round_trip (g_task_get_source_object (task));
  if (parts->first_id == NULL)
    parts->first_id = id;
  else
    g_free (id);
  if (parts->first_id == NULL)
    parts->first_id = g_strdup ("");
  if (parts->parts[++parts->next] != NULL)
    return TRUE;
  g_task_return_pointer (task, g_steal_pointer (&parts->first_id), g_free);
  return FALSE;
}
