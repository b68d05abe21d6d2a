/* cw-cloud-task.c: the endings of the cloud adapters' async vfuncs. */
#include "cw-cloud-task.h"

gboolean
cw_cloud_not_connected (GTask *task, SoupSession *session, const gchar *platform)
{
  if (session != NULL)
    return FALSE;
  g_task_return_new_error (task, CW_ERROR, CW_ERROR_FAILED, "%s is not connected", platform);
  g_object_unref (task);
  return TRUE;
}

void
cw_cloud_health_fail (GTask *task, GError *error, gboolean requires_reconnect)
{
  g_task_set_task_data (task, GINT_TO_POINTER (requires_reconnect), NULL);
  g_task_return_error (task, error);
}

void
cw_cloud_return_round_trip (GTask *task)
{
  cw_integration_adapter_report_round_trip (g_task_get_source_object (task));
  g_task_return_boolean (task, TRUE);
}

void
cw_cloud_return_id (GTask *task, gchar *id)
{
  cw_integration_adapter_report_round_trip (g_task_get_source_object (task));
  g_task_return_pointer (task, id != NULL ? id : g_strdup (""), g_free);
}
