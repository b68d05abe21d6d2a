/* cw-cloud-task.h: how the cloud adapters' async vfuncs (which run a GTask on the adapter)
 * end: not connected, and the health check's outcome (read by cw_cloud_finish_health). */
#pragma once

#include "../../cw-integration-adapter.h"

#include <libsoup/soup.h>

G_BEGIN_DECLS

/* When @session is NULL: returns "<platform> is not connected" on @task, drops the caller's
 * reference to @task and returns TRUE; otherwise returns FALSE and leaves @task alone. */
gboolean cw_cloud_not_connected (GTask *task, SoupSession *session, const gchar *platform);

/* Ends a health check with @error (taken), marking whether the adapter must reconnect (the
 * credentials were refused). The caller keeps its reference to @task. */
void cw_cloud_health_fail (GTask *task, GError *error, gboolean requires_reconnect);

/* Ends a request that reached the platform (a health check, an edit): reports the round trip
 * on the adapter and returns TRUE on @task. The caller keeps its reference to @task. */
void cw_cloud_return_round_trip (GTask *task);

/* Ends a send that reached the platform: reports the round trip and returns the message @id
 * (taken; NULL: "") on @task. The caller keeps its reference to @task. */
void cw_cloud_return_id (GTask *task, gchar *id);

G_END_DECLS
