/* cw-cloud-parts.h: sending a text split into parts (cw_cloud_split_text) one message at a
 * time, as the cloud adapters whose platform sends one part per request do. */
#pragma once

#include "../../cw-integration-adapter.h"

G_BEGIN_DECLS

/* Lives in an adapter's send job (the GTask's task data). The task returns the first message's
 * id ("" when the platform gave none). */
typedef struct
{
  GStrv parts;
  guint next;      /* the part being sent */
  gchar *first_id; /* NULL until the first part is out */
} CwCloudParts;

void cw_cloud_parts_clear (CwCloudParts *parts);

/* A part could not be sent. When earlier parts are out a retry would repeat them, so @task
 * returns the first id; otherwise it returns @error (taken). The caller keeps its reference. */
void cw_cloud_parts_fail (GTask *task, CwCloudParts *parts, GError *error);

/* Part @parts->next was sent as message @id (taken, may be NULL): reports the round trip and
 * moves on. Returns TRUE when a part is left (the caller sends it, passing on its reference to
 * @task); after the last part @task returns the first id and this returns FALSE. */
gboolean cw_cloud_parts_sent (GTask *task, CwCloudParts *parts, gchar *id);

G_END_DECLS
