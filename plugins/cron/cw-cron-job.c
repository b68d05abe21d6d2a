/* cw-cron-job.c: the CronJob model (contract §1.2): what a client may set, checked before
 * anything is stored, and the schedule it runs on.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-cron-job.h"

#include <string.h>

#define MAX_TIMEOUT_MS (24 * 3600 * 1000)
#define MAX_TURNS      1000
#define MAX_TAGS       50
#define MAX_TAG_LEN    100

gboolean
cw_cron_json_get_int (JsonNode *node, gint64 *out)
{
  GType type;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node))
    return FALSE;
  type = json_node_get_value_type (node);
  if (type == G_TYPE_INT64)
    {
      *out = json_node_get_int (node);
      return TRUE;
    }
  if (type == G_TYPE_DOUBLE)
    {
      gdouble d = json_node_get_double (node);
      if (d != (gdouble) (gint64) d || d > 9.0e15 || d < -9.0e15)
        return FALSE;
      *out = (gint64) d;
      return TRUE;
    }
  return FALSE;
}

gint64
cw_cron_job_get_int (JsonObject *job, const gchar *name, gint64 default_value)
{
  gint64 v;

  if (!cw_cron_json_get_int (json_object_get_member (job, name), &v))
    return default_value;
  return v;
}

const gchar *
cw_cron_job_get_string (JsonObject *job, const gchar *name)
{
  JsonNode *node = json_object_get_member (job, name);

  if (node == NULL || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

static gboolean
is_null (JsonNode *node)
{
  return node == NULL || JSON_NODE_HOLDS_NULL (node);
}

static JsonObject *
get_schedule_object (JsonObject *job)
{
  JsonNode *node = json_object_get_member (job, "schedule");

  return node != NULL && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
}

static gboolean
get_int_field (JsonObject *obj, const gchar *what, const gchar *name, gboolean required, gint64 min,
               gint64 max, gint64 *out, gboolean *present, GError **error)
{
  JsonNode *node = json_object_get_member (obj, name);

  *present = !is_null (node);
  if (!*present)
    {
      if (required)
        g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS, "%s%s is required", what, name);
      return !required;
    }
  if (!cw_cron_json_get_int (node, out) || *out < min || *out > max)
    {
      g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS,
                   "%s%s must be a whole number from %" G_GINT64_FORMAT " to %" G_GINT64_FORMAT,
                   what, name, min, max);
      return FALSE;
    }
  return TRUE;
}

/* CronSchedule in its stored form (only the members of its type), or NULL with an error;
 * the schedule is built once to prove that it can fire. */
static JsonNode *
check_schedule (JsonNode *node, GError **error)
{
  JsonObject *in, *out;
  const gchar *type;
  g_autoptr (CwSchedule) schedule = NULL;
  g_autoptr (GError) local = NULL;
  gint64 v;
  gboolean present;
  JsonNode *result;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      g_set_error_literal (error, CW_ERROR, CW_ERROR_INVALID_PARAMS,
                           "schedule must be an object with a type");
      return NULL;
    }
  in = json_node_get_object (node);
  out = json_object_new ();
  type = json_object_get_string_member_with_default (in, "type", NULL);
  if (g_strcmp0 (type, "at") == 0)
    {
      if (get_int_field (in, "schedule.", "timestamp", TRUE, 0, G_GINT64_CONSTANT (253402300799999),
                         &v, &present, &local))
        {
          json_object_set_int_member (out, "timestamp", v);
          schedule = cw_schedule_new_at (v, &local);
        }
    }
  else if (g_strcmp0 (type, "every") == 0)
    {
      gint64 anchor = 0;
      if (get_int_field (in, "schedule.", "intervalMs", TRUE, CW_SCHEDULE_MIN_INTERVAL_MS,
                         G_GINT64_CONSTANT (315360000000), &v, &present, &local)
          && get_int_field (in, "schedule.", "startAt", FALSE, 0,
                            G_GINT64_CONSTANT (253402300799999), &anchor, &present, &local))
        {
          json_object_set_int_member (out, "intervalMs", v);
          if (present)
            json_object_set_int_member (out, "startAt", anchor);
          schedule = cw_schedule_new_every (v, anchor, &local);
        }
    }
  else if (g_strcmp0 (type, "cron") == 0)
    {
      const gchar *expression = json_object_get_string_member_with_default (in, "expression", NULL);
      JsonNode *tz = json_object_get_member (in, "timezone");
      const gchar *zone = NULL;

      if (!is_null (tz) && json_node_get_value_type (tz) != G_TYPE_STRING)
        g_set_error_literal (&local, CW_ERROR, CW_ERROR_INVALID_PARAMS,
                             "schedule.timezone must be a string");
      else if (expression == NULL || *expression == '\0')
        g_set_error_literal (&local, CW_ERROR, CW_ERROR_INVALID_PARAMS,
                             "schedule.expression is required");
      else
        {
          zone = is_null (tz) || *json_node_get_string (tz) == '\0' ? NULL
                                                                    : json_node_get_string (tz);
          json_object_set_string_member (out, "expression", expression);
          if (zone != NULL)
            json_object_set_string_member (out, "timezone", zone);
          schedule = cw_schedule_new_cron (expression, zone, &local);
        }
    }
  else
    g_set_error_literal (&local, CW_ERROR, CW_ERROR_INVALID_PARAMS,
                         "schedule.type must be at, every or cron");
  if (schedule == NULL)
    {
      json_object_unref (out);
      g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS, "Invalid schedule: %s",
                   local != NULL ? local->message : "it never fires");
      return NULL;
    }
  /* type first, as the app writes it */
  result = json_node_new (JSON_NODE_OBJECT);
  {
    JsonObject *ordered = json_object_new ();
    GList *members = json_object_get_members (out);
    json_object_set_string_member (ordered, "type", type);
    for (GList *l = members; l != NULL; l = l->next)
      json_object_set_member (ordered, l->data,
                              json_node_copy (json_object_get_member (out, l->data)));
    g_list_free (members);
    json_node_take_object (result, ordered);
  }
  json_object_unref (out);
  return result;
}

static JsonNode *
check_string (const gchar *name, JsonNode *node, glong min, glong max, GError **error)
{
  const gchar *s;
  glong len;

  if (json_node_get_value_type (node) != G_TYPE_STRING)
    {
      g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS, "%s must be a string", name);
      return NULL;
    }
  s = json_node_get_string (node);
  len = g_utf8_strlen (s, -1);
  if (len < min || len > max)
    {
      if (min > 0 && len < min)
        g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS, "%s must not be empty", name);
      else
        g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS, "%s must be at most %ld characters",
                     name, max);
      return NULL;
    }
  return json_node_copy (node);
}

static JsonNode *
check_directory (JsonNode *node, GError **error)
{
  const gchar *dir;

  if (json_node_get_value_type (node) != G_TYPE_STRING || *json_node_get_string (node) == '\0')
    {
      g_set_error_literal (error, CW_ERROR, CW_ERROR_INVALID_PARAMS,
                           "workingDirectory must be a path");
      return NULL;
    }
  dir = json_node_get_string (node);
  if (!g_path_is_absolute (dir) || !g_file_test (dir, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS,
                   "workingDirectory must be an existing absolute directory: %s", dir);
      return NULL;
    }
  return json_node_copy (node);
}

static JsonNode *
check_tags (JsonNode *node, GError **error)
{
  JsonArray *tags;

  if (!JSON_NODE_HOLDS_ARRAY (node)
      || json_array_get_length (tags = json_node_get_array (node)) > MAX_TAGS)
    {
      g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS,
                   "tags must be an array of at most %d strings", MAX_TAGS);
      return NULL;
    }
  for (guint i = 0; i < json_array_get_length (tags); i++)
    {
      JsonNode *tag = json_array_get_element (tags, i);
      if (json_node_get_value_type (tag) != G_TYPE_STRING
          || g_utf8_strlen (json_node_get_string (tag), -1) > MAX_TAG_LEN)
        {
          g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS,
                       "tags must be strings of at most %d characters", MAX_TAG_LEN);
          return NULL;
        }
    }
  return json_node_copy (node);
}

static JsonNode *
check_int (const gchar *name, JsonNode *node, gint64 min, gint64 max, GError **error)
{
  gint64 v;
  JsonNode *out;

  if (!cw_cron_json_get_int (node, &v) || v < min || v > max)
    {
      g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS,
                   "%s must be a whole number from %" G_GINT64_FORMAT " to %" G_GINT64_FORMAT, name,
                   min, max);
      return NULL;
    }
  out = json_node_new (JSON_NODE_VALUE);
  json_node_set_int (out, v);
  return out;
}

static JsonNode *
check_choice (const gchar *name, JsonNode *node, const gchar *const *choices, GError **error)
{
  if (json_node_get_value_type (node) == G_TYPE_STRING
      && g_strv_contains (choices, json_node_get_string (node)))
    return json_node_copy (node);
  {
    g_autofree gchar *list = g_strjoinv (", ", (gchar **) choices);
    g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS, "%s must be one of %s", name, list);
  }
  return NULL;
}

/* The stored value of a settable field, NULL with an error when it is not valid. Sets
 * @unknown for a member that is not a settable field (it is ignored). */
static JsonNode *
check_field (const gchar *name, JsonNode *node, gboolean *unknown, GError **error)
{
  static const gchar *const missed[] = { "skip", "once", "all", NULL };
  static const gchar *const permission[] = { "deny", "wait", NULL };
  static const gchar *const status[] = { "active", "paused", NULL };

  *unknown = FALSE;
  if (g_str_equal (name, "name"))
    return check_string (name, node, 1, 100, error);
  if (g_str_equal (name, "description"))
    return check_string (name, node, 0, 500, error);
  if (g_str_equal (name, "prompt"))
    return check_string (name, node, 1, 10000, error);
  if (g_str_equal (name, "model"))
    return check_string (name, node, 1, 200, error);
  if (g_str_equal (name, "schedule"))
    return check_schedule (node, error);
  if (g_str_equal (name, "workingDirectory"))
    return check_directory (node, error);
  if (g_str_equal (name, "tags"))
    return check_tags (node, error);
  if (g_str_equal (name, "maxRuns"))
    return check_int (name, node, 1, G_MAXINT32, error);
  if (g_str_equal (name, "maxTurns"))
    return check_int (name, node, 1, MAX_TURNS, error);
  if (g_str_equal (name, "timeoutMs"))
    return check_int (name, node, 1000, MAX_TIMEOUT_MS, error);
  if (g_str_equal (name, "deleteAfterRun"))
    {
      if (json_node_get_value_type (node) == G_TYPE_BOOLEAN)
        return json_node_copy (node);
      g_set_error_literal (error, CW_ERROR, CW_ERROR_INVALID_PARAMS,
                           "deleteAfterRun must be true or false");
      return NULL;
    }
  if (g_str_equal (name, "missedPolicy"))
    return check_choice (name, node, missed, error);
  if (g_str_equal (name, "permissionPolicy"))
    return check_choice (name, node, permission, error);
  if (g_str_equal (name, "status"))
    return check_choice (name, node, status, error);
  *unknown = TRUE;
  return NULL;
}

/* Checks every settable member of @input into @out (name -> node or NULL for "remove"). */
static gboolean
collect (JsonObject *input, gboolean allow_status, GHashTable *out, GError **error)
{
  GList *members = json_object_get_members (input);
  gboolean ok = TRUE;

  for (GList *l = members; ok && l != NULL; l = l->next)
    {
      const gchar *name = l->data;
      JsonNode *node = json_object_get_member (input, name);
      gboolean unknown;
      JsonNode *value;

      if (g_str_equal (name, "status") && !allow_status)
        continue;
      /* null is absent (the app sends every optional field it has no value for as null) */
      if (is_null (node))
        continue;
      value = check_field (name, node, &unknown, error);
      if (unknown)
        continue;
      if (value == NULL)
        ok = FALSE;
      else
        g_hash_table_insert (out, g_strdup (name), value);
    }
  g_list_free (members);
  return ok;
}

static void
apply (JsonObject *job, GHashTable *fields)
{
  GHashTableIter iter;
  gpointer key, value;

  g_hash_table_iter_init (&iter, fields);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      if (value == NULL)
        json_object_remove_member (job, key);
      else
        json_object_set_member (job, key, json_node_copy (value));
    }
}

static GHashTable *
fields_new (void)
{
  return g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) json_node_unref);
}

static gchar *
make_job_id (gint64 now_ms)
{
  static const gchar digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
  GString *id = g_string_new ("job_");
  gchar buf[16];
  guint8 rnd[6];
  gint n = 0;
  guint64 t = (guint64) MAX (now_ms, 0);

  do
    {
      buf[n++] = digits[t % 36];
      t /= 36;
    }
  while (t > 0 && n < (gint) sizeof buf);
  while (n > 0)
    g_string_append_c (id, buf[--n]);
  cw_random_bytes (rnd, sizeof rnd);
  for (guint i = 0; i < sizeof rnd; i++)
    g_string_append_c (id, digits[rnd[i] % 36]);
  return g_string_free (id, FALSE);
}

JsonObject *
cw_cron_job_new (JsonObject *input, gint64 now_ms, GError **error)
{
  g_autoptr (GHashTable) fields = fields_new ();
  g_autofree gchar *id = NULL;
  JsonObject *job;

  if (input == NULL || is_null (json_object_get_member (input, "name"))
      || is_null (json_object_get_member (input, "prompt"))
      || is_null (json_object_get_member (input, "schedule")))
    {
      g_set_error_literal (error, CW_ERROR, CW_ERROR_INVALID_PARAMS,
                           "name, prompt, and schedule are required");
      return NULL;
    }
  if (is_null (json_object_get_member (input, "workingDirectory")))
    {
      g_set_error_literal (error, CW_ERROR, CW_ERROR_INVALID_PARAMS,
                           "workingDirectory is required");
      return NULL;
    }
  if (!collect (input, FALSE, fields, error))
    return NULL;
  id = make_job_id (now_ms);
  job = json_object_new ();
  json_object_set_string_member (job, "id", id);
  json_object_set_string_member (job, "sessionTarget", "isolated");
  json_object_set_string_member (job, "wakeMode", "now");
  json_object_set_string_member (job, "status", "active");
  json_object_set_string_member (job, "missedPolicy", "once");
  json_object_set_string_member (job, "permissionPolicy", "deny");
  apply (job, fields);
  json_object_set_int_member (job, "createdAt", now_ms);
  json_object_set_int_member (job, "updatedAt", now_ms);
  json_object_set_int_member (job, "runCount", 0);
  return job;
}

gboolean
cw_cron_job_update (JsonObject *job, JsonObject *updates, gint64 now_ms, gboolean *schedule_changed,
                    GError **error)
{
  g_autoptr (GHashTable) fields = fields_new ();
  JsonNode *schedule;

  if (!collect (updates, TRUE, fields, error))
    return FALSE;
  schedule = g_hash_table_lookup (fields, "schedule");
  *schedule_changed
      = schedule != NULL && !json_node_equal (schedule, json_object_get_member (job, "schedule"));
  apply (job, fields);
  json_object_set_int_member (job, "updatedAt", now_ms);
  return TRUE;
}

CwSchedule *
cw_cron_job_get_schedule (JsonObject *job, GError **error)
{
  JsonObject *s = get_schedule_object (job);
  const gchar *type = s != NULL ? json_object_get_string_member_with_default (s, "type", "") : "";

  if (g_str_equal (type, "at"))
    return cw_schedule_new_at (cw_cron_job_get_int (s, "timestamp", -1), error);
  if (g_str_equal (type, "every"))
    return cw_schedule_new_every (
        cw_cron_job_get_int (s, "intervalMs", 0),
        cw_cron_job_get_int (s, "startAt", cw_cron_job_get_int (job, "createdAt", 0)), error);
  if (g_str_equal (type, "cron"))
    return cw_schedule_new_cron (json_object_get_string_member_with_default (s, "expression", ""),
                                 json_object_get_string_member_with_default (s, "timezone", NULL),
                                 error);
  g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS, "unknown schedule type \"%s\"", type);
  return NULL;
}

gboolean
cw_cron_job_is_one_shot (JsonObject *job)
{
  JsonObject *s = get_schedule_object (job);

  return s != NULL
         && g_strcmp0 (json_object_get_string_member_with_default (s, "type", ""), "at") == 0;
}

CwMissedPolicy
cw_cron_job_get_missed_policy (JsonObject *job)
{
  CwMissedPolicy policy = CW_MISSED_POLICY_ONCE;
  const gchar *text = cw_cron_job_get_string (job, "missedPolicy");

  if (text != NULL)
    cw_missed_policy_from_string (text, &policy, NULL);
  return policy;
}
