/* cw-workflow-triggers.c: what starts runs (contract §2.7, §2.9): schedules on the SDK
 * scheduler, webhooks on the daemon's HTTP server, integration events through a durable
 * consumer, chat phrases scored as the contract computes it.
 *
 * Every trigger that fires writes a ledger row (trigger, instant or event seq) in the same
 * transaction as its run, so an instant the scheduler delivers twice, or an event delivered
 * again after a crash, starts one run.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-workflow-plugin.h"

#include <math.h>
#include <string.h>

#define REPLAY_WINDOW_MS   (10 * 60 * 1000)
#define TIMESTAMP_SKEW_MS  (5 * 60 * 1000)
#define BACKFILL_MAX       1000
#define DEFAULT_MAX_RESULT 5

/* ---- rows ------------------------------------------------------------------------------- */

typedef struct
{
  gchar *id; /* <wfId>:<version>:<triggerId> */
  gchar *workflow_id;
  gint64 version;
  gchar *type;
  JsonObject *config;
  gboolean enabled;
} TriggerRow;

static void
trigger_row_free (TriggerRow *row)
{
  g_free (row->id);
  g_free (row->workflow_id);
  g_free (row->type);
  g_clear_pointer (&row->config, json_object_unref);
  g_free (row);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TriggerRow, trigger_row_free)

static GPtrArray *
load_rows (CwWorkflowPlugin *self, const gchar *workflow_id, const gchar *type, const gchar *id)
{
  GPtrArray *rows = g_ptr_array_new_with_free_func ((GDestroyNotify) trigger_row_free);
  sqlite3_stmt *stmt = cw_wf_query (
      self,
      "SELECT id, workflow_id, workflow_version, type, config, enabled FROM workflow_triggers"
      " WHERE (?1 IS NULL OR workflow_id = ?1) AND (?2 IS NULL OR type = ?2)"
      " AND (?3 IS NULL OR id = ?3) ORDER BY created_at, rowid",
      NULL, "sss", workflow_id, type, id);

  if (stmt == NULL)
    return rows;
  while (sqlite3_step (stmt) == SQLITE_ROW)
    {
      TriggerRow *row = g_new0 (TriggerRow, 1);
      row->id = g_strdup ((const gchar *) sqlite3_column_text (stmt, 0));
      row->workflow_id = g_strdup ((const gchar *) sqlite3_column_text (stmt, 1));
      row->version = sqlite3_column_int64 (stmt, 2);
      row->type = g_strdup ((const gchar *) sqlite3_column_text (stmt, 3));
      row->config = cw_wf_column_object (stmt, 4);
      if (row->config == NULL)
        row->config = json_object_new ();
      row->enabled = sqlite3_column_int (stmt, 5) != 0;
      g_ptr_array_add (rows, row);
    }
  sqlite3_reset (stmt);
  return rows;
}

static gchar *
job_id_of (const gchar *row_id)
{
  return g_strconcat (CW_WF_JOB_TRIGGER, row_id, NULL);
}

/* ---- schedules -------------------------------------------------------------------------- */

static CwSchedule *
schedule_of (JsonObject *trigger, gint64 anchor, GError **error)
{
  JsonObject *s = cw_wf_obj (trigger, "schedule");
  const gchar *type = cw_wf_str (s, "type");

  if (g_strcmp0 (type, "at") == 0)
    return cw_schedule_new_at (cw_wf_int (s, "timestamp", -1), error);
  if (g_strcmp0 (type, "every") == 0)
    return cw_schedule_new_every (cw_wf_int (s, "intervalMs", 0), cw_wf_int (s, "startAt", anchor),
                                  error);
  if (g_strcmp0 (type, "cron") == 0)
    return cw_schedule_new_cron (cw_wf_str (s, "expression") != NULL ? cw_wf_str (s, "expression")
                                                                     : "",
                                 cw_wf_str (s, "timezone"), error);
  g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS, "unknown schedule type \"%s\"",
               type != NULL ? type : "");
  return NULL;
}

static CwMissedPolicy
missed_policy_of (JsonObject *trigger)
{
  CwMissedPolicy policy = CW_MISSED_POLICY_ONCE;

  if (cw_wf_str (trigger, "missedPolicy") != NULL)
    cw_missed_policy_from_string (cw_wf_str (trigger, "missedPolicy"), &policy, NULL);
  return policy;
}

typedef struct
{
  JsonObject *params;
  const gchar *ledger_trigger;
  gchar *ledger_instant;
  const gchar *delivery_endpoint;
  GPtrArray *delivery_keys;
  JsonObject *run; /* out */
  gboolean duplicate;
} FireTx;

static gboolean
fire_tx (CwWorkflowPlugin *self, gpointer data, GError **error)
{
  FireTx *tx = data;
  sqlite3_stmt *stmt;

  if (tx->ledger_trigger != NULL)
    {
      stmt = cw_wf_query (self,
                          "SELECT run_id FROM workflow_trigger_ledger WHERE trigger_id = ?1"
                          " AND instant = ?2",
                          error, "ss", tx->ledger_trigger, tx->ledger_instant);
      if (stmt == NULL)
        return FALSE;
      tx->duplicate = sqlite3_step (stmt) == SQLITE_ROW;
      sqlite3_reset (stmt);
      if (tx->duplicate)
        return TRUE;
    }
  for (guint i = 0; tx->delivery_keys != NULL && i < tx->delivery_keys->len; i++)
    if (!cw_wf_exec (self,
                     "INSERT INTO workflow_deliveries (endpoint_key, key, at) VALUES (?1, ?2, ?3)",
                     error, "ssi", tx->delivery_endpoint, g_ptr_array_index (tx->delivery_keys, i),
                     cw_now_ms ()))
      return FALSE;
  tx->run = cw_wf_run_start (self, tx->params, error);
  if (tx->run == NULL)
    return FALSE;
  if (tx->ledger_trigger != NULL
      && !cw_wf_exec (self,
                      "INSERT INTO workflow_trigger_ledger (trigger_id, instant, run_id)"
                      " VALUES (?1, ?2, ?3)",
                      error, "sss", tx->ledger_trigger, tx->ledger_instant,
                      cw_wf_str (tx->run, "id")))
    return FALSE;
  return TRUE;
}

static void
fire_tx_clear (FireTx *tx)
{
  g_free (tx->ledger_instant);
  g_clear_pointer (&tx->run, json_object_unref);
}

static JsonObject *
run_params (TriggerRow *row, const gchar *trigger_type, JsonObject *context, JsonObject *input)
{
  JsonObject *params = json_object_new ();

  json_object_set_string_member (params, "workflowId", row->workflow_id);
  json_object_set_int_member (params, "version", row->version);
  json_object_set_string_member (params, "triggerType", trigger_type);
  json_object_set_string_member (context, "triggerId", cw_wf_str (row->config, "id"));
  json_object_set_object_member (params, "triggerContext", context);
  if (input != NULL)
    json_object_set_object_member (params, "input", input);
  return params;
}

static void
set_next_run_at (CwWorkflowPlugin *self, const gchar *row_id, gint64 next, gboolean enabled)
{
  cw_wf_exec (self,
              "UPDATE workflow_triggers SET next_run_at = NULLIF(?2, -1), enabled = ?3,"
              " updated_at = ?4 WHERE id = ?1",
              NULL, "siii", row_id, next == CW_SCHEDULE_NEVER ? (gint64) -1 : next,
              (gint64) enabled, cw_now_ms ());
}

static void
on_schedule_fire (CwPlugin *plugin, const gchar *job_id, gint64 scheduled_ms,
                  CwScheduleFireFlags flags, gpointer user_data)
{
  CwWorkflowPlugin *self = CW_WORKFLOW_PLUGIN (plugin);
  const gchar *row_id = job_id + strlen (CW_WF_JOB_TRIGGER);
  g_autoptr (GPtrArray) rows = load_rows (self, NULL, "schedule", row_id);
  TriggerRow *row = rows->len > 0 ? g_ptr_array_index (rows, 0) : NULL;
  gint64 max_runs, count;
  g_autoptr (JsonObject) params = NULL;
  g_autoptr (GError) error = NULL;
  FireTx tx = { 0 };
  JsonObject *context;

  if (flags & CW_SCHEDULE_FIRE_SKIPPED)
    {
      g_message ("trigger %s: instants up to %" G_GINT64_FORMAT " were missed (policy skip)",
                 row_id, scheduled_ms);
      return;
    }
  if (row == NULL || !row->enabled)
    {
      cw_plugin_schedule_remove (plugin, job_id, NULL);
      return;
    }
  max_runs = cw_wf_int (row->config, "maxRuns", 0);
  count = cw_wf_runs_count (self, row->workflow_id, cw_wf_str (row->config, "id"));
  if (max_runs > 0 && count >= max_runs)
    {
      cw_plugin_schedule_remove (plugin, job_id, NULL);
      set_next_run_at (self, row->id, CW_SCHEDULE_NEVER, FALSE);
      return;
    }
  context = json_object_new ();
  json_object_set_int_member (context, "scheduledAt", scheduled_ms);
  if (flags & CW_SCHEDULE_FIRE_CATCH_UP)
    json_object_set_boolean_member (context, "catchUp", TRUE);
  params = run_params (row, "schedule", context, NULL);
  tx.params = params;
  tx.ledger_trigger = row->id;
  tx.ledger_instant = g_strdup_printf ("%" G_GINT64_FORMAT, scheduled_ms);
  if (!cw_wf_in_transaction (self, fire_tx, &tx, &error))
    g_warning ("trigger %s: the run could not start: %s", row->id, error->message);
  fire_tx_clear (&tx);
  if (max_runs > 0 && count + 1 >= max_runs)
    {
      cw_plugin_schedule_remove (plugin, job_id, NULL);
      set_next_run_at (self, row->id, CW_SCHEDULE_NEVER, FALSE);
    }
  else
    set_next_run_at (self, row->id, cw_plugin_schedule_get_next (plugin, job_id), TRUE);
}

static gboolean
arm_schedule (CwWorkflowPlugin *self, TriggerRow *row, GError **error)
{
  g_autofree gchar *job = job_id_of (row->id);
  g_autoptr (CwSchedule) s = NULL;

  if (!row->enabled)
    {
      cw_plugin_schedule_remove (CW_PLUGIN (self), job, NULL);
      return TRUE;
    }
  s = schedule_of (row->config, cw_wf_now (self), error);
  if (s == NULL
      || !cw_plugin_schedule_add (CW_PLUGIN (self), job, s, missed_policy_of (row->config),
                                  on_schedule_fire, NULL, NULL, error))
    return FALSE;
  set_next_run_at (self, row->id, cw_plugin_schedule_get_next (CW_PLUGIN (self), job), TRUE);
  return TRUE;
}

/* ---- materialising -------------------------------------------------------------------------- */

static void
remove_rows (CwWorkflowPlugin *self, const gchar *workflow_id)
{
  g_autoptr (GPtrArray) old = load_rows (self, workflow_id, NULL, NULL);

  for (guint i = 0; i < old->len; i++)
    {
      TriggerRow *row = g_ptr_array_index (old, i);
      g_autofree gchar *job = job_id_of (row->id);
      cw_plugin_schedule_remove (CW_PLUGIN (self), job, NULL);
    }
}

static void on_webhook (CwHttpRequest *request, gpointer user_data);

static gboolean
ensure_route (CwWorkflowPlugin *self, GError **error)
{
  if (self->http_routed)
    return TRUE;
  if (!cw_plugin_add_http_route (CW_PLUGIN (self), CW_WF_WEBHOOK_PATH "*", on_webhook, self, NULL,
                                 error))
    return FALSE;
  self->http_routed = TRUE;
  return TRUE;
}

/* The secretRefs of @workflow_id's webhook rows. */
static GPtrArray *
webhook_secret_refs (CwWorkflowPlugin *self, const gchar *workflow_id, GError **error)
{
  sqlite3_stmt *stmt = cw_wf_query (
      self,
      "SELECT secret_ref FROM workflow_webhooks WHERE workflow_id = ?1 AND secret_ref IS NOT NULL",
      error, "s", workflow_id);
  GPtrArray *refs;

  if (stmt == NULL)
    return NULL;
  refs = g_ptr_array_new_with_free_func (g_free);
  while (sqlite3_step (stmt) == SQLITE_ROW)
    g_ptr_array_add (refs, g_strdup ((const gchar *) sqlite3_column_text (stmt, 0)));
  sqlite3_reset (stmt);
  return refs;
}

/* Queues each of @refs that no webhook row uses any more for deletion. */
static gboolean
collect_stale_secrets (CwWorkflowPlugin *self, GPtrArray *refs, GError **error)
{
  for (guint i = 0; i < refs->len; i++)
    {
      const gchar *ref = g_ptr_array_index (refs, i);
      sqlite3_stmt *stmt = cw_wf_query (
          self, "SELECT 1 FROM workflow_webhooks WHERE secret_ref = ?1", error, "s", ref);
      gboolean used;

      if (stmt == NULL)
        return FALSE;
      used = sqlite3_step (stmt) == SQLITE_ROW;
      sqlite3_reset (stmt);
      if (!used && !g_ptr_array_find_with_equal_func (self->stale_secrets, ref, g_str_equal, NULL))
        g_ptr_array_add (self->stale_secrets, g_strdup (ref));
    }
  return TRUE;
}

static void
on_secret_deleted (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autofree gchar *ref = user_data;
  g_autoptr (GError) error = NULL;

  if (!cw_secrets_delete_finish (CW_SECRETS (source), result, &error))
    g_warning ("the webhook secret %s could not be deleted: %s", ref, error->message);
}

void
cw_wf_triggers_settle_secrets (CwWorkflowPlugin *self, gboolean committed)
{
  CwSecrets *secrets = cw_context_get_secrets (cw_plugin_get_context (CW_PLUGIN (self)));

  for (guint i = 0; committed && i < self->stale_secrets->len; i++)
    {
      const gchar *ref = g_ptr_array_index (self->stale_secrets, i);
      g_hash_table_remove (self->secrets, ref);
      cw_secrets_delete (secrets, CW_WF_SECRET_KIND, ref, NULL, on_secret_deleted, g_strdup (ref));
    }
  g_ptr_array_set_size (self->stale_secrets, 0);
}

gboolean
cw_wf_triggers_materialize (CwWorkflowPlugin *self, JsonObject *def, GError **error)
{
  const gchar *wf = cw_wf_str (def, "id");
  gint64 version = cw_wf_int (def, "version", 1);
  JsonArray *triggers = cw_wf_arr (def, "triggers");
  gint64 now = cw_now_ms ();
  gboolean webhooks = FALSE;
  g_autoptr (GPtrArray) old_refs = webhook_secret_refs (self, wf, error);

  if (old_refs == NULL)
    return FALSE;
  remove_rows (self, wf);
  if (!cw_wf_exec (self, "DELETE FROM workflow_triggers WHERE workflow_id = ?1", error, "s", wf)
      || !cw_wf_exec (self, "DELETE FROM workflow_webhooks WHERE workflow_id = ?1", error, "s", wf))
    return FALSE;
  for (guint i = 0; triggers != NULL && i < json_array_get_length (triggers); i++)
    {
      JsonObject *t = json_array_get_object_element (triggers, i);
      g_autofree gchar *row_id
          = g_strdup_printf ("%s:%" G_GINT64_FORMAT ":%s", wf, version, cw_wf_str (t, "id"));
      g_autofree gchar *config = cw_wf_to_string (t);
      const gchar *type = cw_wf_str (t, "type");
      gboolean enabled = cw_wf_bool (t, "enabled", TRUE);

      if (!cw_wf_exec (self,
                       "INSERT INTO workflow_triggers (id, workflow_id, workflow_version, type,"
                       " config, enabled, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6,"
                       " ?7, ?7)",
                       error, "ssissii", row_id, wf, version, type, config, (gint64) enabled, now))
        return FALSE;
      if (g_strcmp0 (type, "webhook") == 0)
        {
          sqlite3_stmt *stmt = cw_wf_query (
              self, "SELECT workflow_id FROM workflow_webhooks WHERE endpoint_key = ?1", error, "s",
              cw_wf_str (t, "endpointKey"));
          gboolean taken;
          if (stmt == NULL)
            return FALSE;
          taken = sqlite3_step (stmt) == SQLITE_ROW;
          sqlite3_reset (stmt);
          if (taken)
            {
              g_set_error (error, CW_ERROR, CW_ERROR_EXISTS,
                           "Webhook endpoint key is already used by another workflow: %s",
                           cw_wf_str (t, "endpointKey"));
              return FALSE;
            }
          if (!cw_wf_exec (self,
                           "INSERT INTO workflow_webhooks (endpoint_key, workflow_id,"
                           " workflow_version, trigger_id, auth_mode, secret_ref, created_at,"
                           " updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)",
                           error, "ssisssi", cw_wf_str (t, "endpointKey"), wf, version, row_id,
                           cw_wf_str (t, "authMode") != NULL ? cw_wf_str (t, "authMode") : "none",
                           cw_wf_str (t, "secretRef"), now))
            return FALSE;
          webhooks = webhooks || enabled;
        }
      else if (g_strcmp0 (type, "schedule") == 0 && self->started)
        {
          g_autoptr (GPtrArray) rows = load_rows (self, NULL, NULL, row_id);
          if (rows->len > 0 && !arm_schedule (self, g_ptr_array_index (rows, 0), error))
            return FALSE;
        }
    }
  if (!collect_stale_secrets (self, old_refs, error))
    return FALSE;
  if (webhooks && self->started && !ensure_route (self, error))
    return FALSE;
  return TRUE;
}

gboolean
cw_wf_triggers_disable_workflow (CwWorkflowPlugin *self, const gchar *workflow_id, GError **error)
{
  remove_rows (self, workflow_id);
  return cw_wf_exec (self,
                     "UPDATE workflow_triggers SET enabled = 0, next_run_at = NULL, updated_at = ?2"
                     " WHERE workflow_id = ?1",
                     error, "si", workflow_id, cw_now_ms ())
         && cw_wf_exec (self, "DELETE FROM workflow_webhooks WHERE workflow_id = ?1", error, "s",
                        workflow_id);
}

/* ---- webhooks ----------------------------------------------------------------------------------
 */

gchar *
cw_wf_triggers_webhook_url (CwWorkflowPlugin *self, const gchar *endpoint_key)
{
  g_autofree gchar *base = NULL;
  g_autofree gchar *escaped = NULL;

  if (endpoint_key == NULL)
    return NULL;
  base = cw_context_get_http_base_url (cw_plugin_get_context (CW_PLUGIN (self)));
  if (base == NULL)
    return NULL;
  escaped = g_uri_escape_string (endpoint_key, NULL, FALSE);
  return g_strconcat (base, CW_WF_WEBHOOK_PATH, escaped, NULL);
}

typedef struct
{
  CwWorkflowPlugin *plugin;
  CwHttpRequest *request;
  gchar *endpoint_key;
  gchar *workflow_id;
  gint64 version;
  gchar *row_id;
  gchar *auth_mode;
  gchar *secret_ref;
} Delivery;

static void
delivery_free (Delivery *d)
{
  g_object_unref (d->plugin);
  g_object_unref (d->request);
  g_free (d->endpoint_key);
  g_free (d->workflow_id);
  g_free (d->row_id);
  g_free (d->auth_mode);
  g_free (d->secret_ref);
  g_free (d);
}

static gboolean
equal_in_constant_time (const gchar *a, const gchar *b)
{
  gsize la = a != NULL ? strlen (a) : 0, lb = b != NULL ? strlen (b) : 0;
  guint8 diff = la != lb;

  for (gsize i = 0; a != NULL && b != NULL && i < la && i < lb; i++)
    diff |= (guint8) (a[i] ^ b[i]);
  return diff == 0 && a != NULL && b != NULL;
}

static gboolean
seen_delivery (CwWorkflowPlugin *self, const gchar *endpoint, const gchar *key)
{
  sqlite3_stmt *stmt
      = cw_wf_query (self, "SELECT 1 FROM workflow_deliveries WHERE endpoint_key = ?1 AND key = ?2",
                     NULL, "ss", endpoint, key);
  gboolean seen = FALSE;

  if (stmt == NULL)
    return FALSE;
  seen = sqlite3_step (stmt) == SQLITE_ROW;
  sqlite3_reset (stmt);
  return seen;
}

static void
deliver (Delivery *d, const gchar *secret)
{
  CwWorkflowPlugin *self = d->plugin;
  SoupMessageHeaders *headers = cw_http_request_get_headers (d->request);
  g_autoptr (GBytes) body = cw_http_request_get_body (d->request);
  gsize size = 0;
  const gchar *data = body != NULL ? g_bytes_get_data (body, &size) : NULL;
  const gchar *delivery_id = soup_message_headers_get_one (headers, "X-Cowork-Delivery");
  g_autoptr (GPtrArray) keys = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) rows = load_rows (self, d->workflow_id, "webhook", d->row_id);
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) params = NULL;
  JsonObject *context, *input;
  FireTx tx = { 0 };

  if (g_strcmp0 (d->auth_mode, "bearer") == 0)
    {
      const gchar *auth = soup_message_headers_get_one (headers, "Authorization");
      g_autofree gchar *expected = secret != NULL ? g_strconcat ("Bearer ", secret, NULL) : NULL;
      if (expected == NULL || !equal_in_constant_time (auth, expected))
        {
          cw_http_request_respond_error (d->request, 401, "Invalid credentials");
          return;
        }
    }
  else if (g_strcmp0 (d->auth_mode, "hmac") == 0)
    {
      const gchar *ts = soup_message_headers_get_one (headers, "X-Cowork-Timestamp");
      const gchar *sig = soup_message_headers_get_one (headers, "X-Cowork-Signature");
      gchar *end = NULL;
      gint64 secs = ts != NULL ? g_ascii_strtoll (ts, &end, 10) : 0;
      g_autoptr (GHmac) hmac = NULL;
      g_autofree gchar *expected = NULL;
      g_autofree gchar *given = sig != NULL ? g_ascii_strdown (sig, -1) : NULL;

      if (ts == NULL || end == NULL || *end != '\0' || *ts == '\0' || secret == NULL || sig == NULL)
        {
          cw_http_request_respond_error (d->request, 401, "Invalid signature");
          return;
        }
      if (ABS (cw_wf_now (self) - secs * 1000) > TIMESTAMP_SKEW_MS)
        {
          cw_http_request_respond_error (d->request, 401,
                                         "Stale timestamp: X-Cowork-Timestamp must be within 5 "
                                         "minutes");
          return;
        }
      hmac = g_hmac_new (G_CHECKSUM_SHA256, (const guchar *) secret, strlen (secret));
      g_hmac_update (hmac, (const guchar *) ts, -1);
      g_hmac_update (hmac, (const guchar *) ".", 1);
      if (size > 0)
        g_hmac_update (hmac, (const guchar *) data, size);
      expected = g_strconcat ("sha256=", g_hmac_get_string (hmac), NULL);
      if (!equal_in_constant_time (given, expected))
        {
          cw_http_request_respond_error (d->request, 401, "Invalid signature");
          return;
        }
      g_ptr_array_add (keys, g_strconcat ("sig:", expected + 7, NULL));
    }
  if (delivery_id != NULL && *delivery_id != '\0')
    g_ptr_array_add (keys, g_strconcat ("id:", delivery_id, NULL));
  for (guint i = 0; i < keys->len; i++)
    if (seen_delivery (self, d->endpoint_key, g_ptr_array_index (keys, i)))
      {
        cw_http_request_respond_error (d->request, 409, "Replayed delivery refused");
        return;
      }
  if (rows->len == 0 || !((TriggerRow *) g_ptr_array_index (rows, 0))->enabled)
    {
      cw_http_request_respond_error (d->request, 404, "Not found");
      return;
    }
  cw_wf_exec (self, "DELETE FROM workflow_deliveries WHERE at < ?1", NULL, "i",
              cw_now_ms () - REPLAY_WINDOW_MS);
  context = json_object_new ();
  json_object_set_string_member (context, "endpointKey", d->endpoint_key);
  if (delivery_id != NULL)
    json_object_set_string_member (context, "deliveryId", delivery_id);
  input = NULL;
  if (size > 0)
    {
      g_autoptr (JsonNode) parsed = cw_json_from_string (data, size, NULL);
      input = json_object_new ();
      if (parsed != NULL)
        json_object_set_member (input, "body", cw_wf_deep_copy (parsed));
      else
        {
          g_autofree gchar *text = g_utf8_make_valid (data, size);
          json_object_set_string_member (input, "body", text);
        }
    }
  params = run_params (g_ptr_array_index (rows, 0), "webhook", context, input);
  tx.params = params;
  tx.delivery_endpoint = d->endpoint_key;
  tx.delivery_keys = keys;
  if (!cw_wf_in_transaction (self, fire_tx, &tx, &error))
    {
      cw_http_request_respond_error (d->request, 409, error->message);
      fire_tx_clear (&tx);
      return;
    }
  {
    JsonObject *reply = json_object_new ();
    json_object_set_string_member (reply, "runId", cw_wf_str (tx.run, "id"));
    cw_http_request_respond_json (d->request, 202,
                                  json_node_init_object (json_node_alloc (), reply));
    json_object_unref (reply);
  }
  fire_tx_clear (&tx);
}

static void
on_secret (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Delivery *d = user_data;
  g_autoptr (GError) error = NULL;
  g_autofree gchar *secret = cw_secrets_lookup_finish (CW_SECRETS (source), result, &error);

  if (secret != NULL)
    g_hash_table_insert (d->plugin->secrets, g_strdup (d->secret_ref), g_strdup (secret));
  if (!cw_http_request_is_finished (d->request))
    deliver (d, secret);
  delivery_free (d);
}

static void
on_webhook (CwHttpRequest *request, gpointer user_data)
{
  CwWorkflowPlugin *self = user_data;
  const gchar *path = cw_http_request_get_path (request);
  const gchar *key
      = g_str_has_prefix (path, CW_WF_WEBHOOK_PATH) ? path + strlen (CW_WF_WEBHOOK_PATH) : "";
  sqlite3_stmt *stmt;
  Delivery *d;

  if (g_strcmp0 (cw_http_request_get_method (request), "POST") != 0)
    {
      cw_http_request_respond_error (request, 405, "Method not allowed");
      return;
    }
  stmt = cw_wf_query (self,
                      "SELECT workflow_id, workflow_version, trigger_id, auth_mode, secret_ref"
                      " FROM workflow_webhooks WHERE endpoint_key = ?1",
                      NULL, "s", key);
  if (stmt == NULL || sqlite3_step (stmt) != SQLITE_ROW)
    {
      if (stmt != NULL)
        sqlite3_reset (stmt);
      cw_http_request_respond_error (request, 404, "Not found");
      return;
    }
  d = g_new0 (Delivery, 1);
  d->plugin = g_object_ref (self);
  d->request = g_object_ref (request);
  d->endpoint_key = g_strdup (key);
  d->workflow_id = g_strdup ((const gchar *) sqlite3_column_text (stmt, 0));
  d->version = sqlite3_column_int64 (stmt, 1);
  d->row_id = g_strdup ((const gchar *) sqlite3_column_text (stmt, 2));
  d->auth_mode = g_strdup ((const gchar *) sqlite3_column_text (stmt, 3));
  d->secret_ref = g_strdup ((const gchar *) sqlite3_column_text (stmt, 4));
  sqlite3_reset (stmt);
  if (g_strcmp0 (d->auth_mode, "none") == 0 || d->secret_ref == NULL)
    {
      deliver (d, NULL);
      delivery_free (d);
    }
  else if (g_hash_table_contains (self->secrets, d->secret_ref))
    {
      deliver (d, g_hash_table_lookup (self->secrets, d->secret_ref));
      delivery_free (d);
    }
  else
    cw_secrets_lookup (cw_context_get_secrets (cw_plugin_get_context (CW_PLUGIN (self))),
                       CW_WF_SECRET_KIND, d->secret_ref, NULL, on_secret, d);
}

/* ---- integration events -------------------------------------------------------------------- */

static gboolean
matches_event (JsonObject *trigger, const gchar *type, JsonObject *data)
{
  const gchar *platform = cw_wf_str (trigger, "platform");
  const gchar *event_type = cw_wf_str (trigger, "eventType");
  const gchar *channel = cw_wf_str (trigger, "channelRef");
  const gchar *short_type = g_str_has_prefix (type, "integration:") ? type + 12 : type;

  if (platform != NULL && g_strcmp0 (platform, "*") != 0
      && g_strcmp0 (platform, cw_wf_str (data, "platform")) != 0)
    return FALSE;
  if (event_type != NULL && g_strcmp0 (event_type, "*") != 0 && g_strcmp0 (event_type, type) != 0
      && g_strcmp0 (event_type, short_type) != 0)
    return FALSE;
  if (channel != NULL && g_strcmp0 (channel, cw_wf_str (data, "chatId")) != 0
      && g_strcmp0 (channel, cw_wf_str (data, "channelId")) != 0
      && g_strcmp0 (channel, cw_wf_str (data, "sender")) != 0)
    return FALSE;
  return TRUE;
}

static void
on_integration_event (CwEventConsumer *consumer, CwEvent *event, gpointer user_data)
{
  CwWorkflowPlugin *self = user_data;
  g_autoptr (GPtrArray) rows = load_rows (self, NULL, "integration_event", NULL);
  JsonObject *data = cw_event_get_data (event);
  const gchar *type = cw_event_get_type_name (event);

  for (guint i = 0; i < rows->len; i++)
    {
      TriggerRow *row = g_ptr_array_index (rows, i);
      g_autoptr (JsonObject) params = NULL;
      g_autoptr (GError) error = NULL;
      JsonObject *context, *input;
      FireTx tx = { 0 };

      if (!row->enabled || !matches_event (row->config, type, data))
        continue;
      context = json_object_new ();
      json_object_set_string_member (context, "eventType", type);
      json_object_set_int_member (context, "eventSeq", cw_event_get_seq (event));
      if (cw_wf_str (data, "platform") != NULL)
        json_object_set_string_member (context, "platform", cw_wf_str (data, "platform"));
      input = json_object_new ();
      json_object_set_object_member (input, "event",
                                     data != NULL ? cw_wf_copy_object (data) : json_object_new ());
      params = run_params (row, "integration", context, input);
      tx.params = params;
      tx.ledger_trigger = row->id;
      tx.ledger_instant = g_strdup_printf ("seq:%" G_GINT64_FORMAT, cw_event_get_seq (event));
      if (!cw_wf_in_transaction (self, fire_tx, &tx, &error))
        g_warning ("trigger %s: the run could not start: %s", row->id, error->message);
      fire_tx_clear (&tx);
    }
  cw_event_consumer_ack (consumer, cw_event_get_seq (event));
}

static void
on_integration_gap (CwEventConsumer *consumer, gint64 first_seq, gint64 last_seq,
                    gpointer user_data)
{
  g_warning ("integration events %" G_GINT64_FORMAT "-%" G_GINT64_FORMAT
             " were pruned before they could be seen; their triggers did not fire",
             first_seq, last_seq);
}

gboolean
cw_wf_triggers_start (CwWorkflowPlugin *self, GError **error)
{
  static const gchar *const prefixes[] = { "integration:", NULL };
  g_autoptr (GPtrArray) rows = load_rows (self, NULL, NULL, NULL);
  gboolean webhooks = FALSE;

  if (cw_plugin_add_event_consumer (CW_PLUGIN (self), "integration-triggers", prefixes,
                                    on_integration_event, on_integration_gap, self, NULL, error)
      == NULL)
    return FALSE;
  for (guint i = 0; i < rows->len; i++)
    {
      TriggerRow *row = g_ptr_array_index (rows, i);
      g_autoptr (GError) local = NULL;
      if (g_str_equal (row->type, "schedule") && row->enabled && !arm_schedule (self, row, &local))
        g_warning ("trigger %s cannot be scheduled: %s", row->id, local->message);
      if (g_str_equal (row->type, "webhook") && row->enabled)
        webhooks = TRUE;
    }
  return !webhooks || ensure_route (self, error);
}

/* ---- scheduled summaries, pause, backfill --------------------------------------------------- */

JsonArray *
cw_wf_triggers_list_scheduled (CwWorkflowPlugin *self, gint64 limit, gint64 offset)
{
  g_autoptr (GPtrArray) defs = cw_wf_defs_list (self, limit, offset);
  JsonArray *out = json_array_new ();

  for (guint i = 0; i < defs->len; i++)
    {
      JsonObject *def = g_ptr_array_index (defs, i);
      const gchar *id = cw_wf_str (def, "id");
      g_autoptr (GPtrArray) rows = NULL;
      g_autoptr (GPtrArray) runs = NULL;
      JsonObject *summary;
      JsonArray *schedules;
      gboolean enabled = FALSE;
      gint64 next = CW_SCHEDULE_NEVER;

      if (g_strcmp0 (cw_wf_str (def, "status"), "published") != 0)
        continue;
      rows = load_rows (self, id, "schedule", NULL);
      if (rows->len == 0)
        continue;
      schedules = json_array_new ();
      for (guint r = 0; r < rows->len; r++)
        {
          TriggerRow *row = g_ptr_array_index (rows, r);
          g_autofree gchar *job = job_id_of (row->id);
          gint64 at = row->enabled ? cw_plugin_schedule_get_next (CW_PLUGIN (self), job)
                                   : CW_SCHEDULE_NEVER;
          if (cw_wf_obj (row->config, "schedule") != NULL)
            json_array_add_object_element (schedules,
                                           cw_wf_copy_object (cw_wf_obj (row->config, "schedule")));
          enabled = enabled || row->enabled;
          if (at != CW_SCHEDULE_NEVER && (next == CW_SCHEDULE_NEVER || at < next))
            next = at;
        }
      summary = json_object_new ();
      json_object_set_string_member (summary, "workflowId", id);
      json_object_set_int_member (summary, "workflowVersion", cw_wf_int (def, "version", 1));
      json_object_set_string_member (summary, "name", cw_wf_str (def, "name"));
      json_object_set_string_member (summary, "status", cw_wf_str (def, "status"));
      json_object_set_array_member (summary, "schedules", schedules);
      json_object_set_boolean_member (summary, "enabled", enabled);
      if (next != CW_SCHEDULE_NEVER)
        json_object_set_int_member (summary, "nextRunAt", next);
      else
        json_object_set_null_member (summary, "nextRunAt");
      json_object_set_int_member (summary, "runCount", cw_wf_runs_count (self, id, NULL));
      runs = cw_wf_runs_list (self, id, NULL, 1, 0);
      if (runs->len > 0)
        {
          JsonObject *last = g_ptr_array_index (runs, 0);
          json_object_set_int_member (
              summary, "lastRunAt",
              cw_wf_int (last, "completedAt",
                         cw_wf_int (last, "startedAt", cw_wf_int (last, "createdAt", 0))));
          json_object_set_string_member (summary, "lastRunStatus", cw_wf_str (last, "status"));
        }
      else
        {
          json_object_set_null_member (summary, "lastRunAt");
          json_object_set_null_member (summary, "lastRunStatus");
        }
      json_array_add_object_element (out, summary);
    }
  return out;
}

JsonObject *
cw_wf_triggers_pause_scheduled (CwWorkflowPlugin *self, const gchar *workflow_id, gboolean pause,
                                GError **error)
{
  g_autoptr (GPtrArray) rows = load_rows (self, workflow_id, "schedule", NULL);
  JsonObject *result;
  gint64 next = CW_SCHEDULE_NEVER;

  if (rows->len == 0)
    {
      g_set_error (error, CW_ERROR, CW_ERROR_NOT_FOUND,
                   "No schedule triggers found for workflow %s", workflow_id);
      return NULL;
    }
  for (guint i = 0; i < rows->len; i++)
    {
      TriggerRow *row = g_ptr_array_index (rows, i);
      g_autofree gchar *config = NULL;
      g_autofree gchar *job = job_id_of (row->id);
      json_object_set_boolean_member (row->config, "enabled", !pause);
      config = cw_wf_to_string (row->config);
      if (!cw_wf_exec (self, "UPDATE workflow_triggers SET config = ?2, enabled = ?3 WHERE id = ?1",
                       error, "ssi", row->id, config, (gint64) !pause))
        return NULL;
      row->enabled = !pause;
      if (pause)
        {
          cw_plugin_schedule_remove (CW_PLUGIN (self), job, NULL);
          set_next_run_at (self, row->id, CW_SCHEDULE_NEVER, FALSE);
        }
      else
        {
          gint64 at;
          /* resumed from now on: a fresh schedule */
          cw_plugin_schedule_remove (CW_PLUGIN (self), job, NULL);
          if (!arm_schedule (self, row, error))
            return NULL;
          at = cw_plugin_schedule_get_next (CW_PLUGIN (self), job);
          if (at != CW_SCHEDULE_NEVER && (next == CW_SCHEDULE_NEVER || at < next))
            next = at;
        }
    }
  result = json_object_new ();
  json_object_set_string_member (result, "workflowId", workflow_id);
  json_object_set_int_member (result, pause ? "pausedTriggers" : "resumedTriggers", rows->len);
  if (!pause)
    {
      if (next != CW_SCHEDULE_NEVER)
        json_object_set_int_member (result, "nextRunAt", next);
      else
        json_object_set_null_member (result, "nextRunAt");
    }
  return result;
}

JsonObject *
cw_wf_triggers_backfill (CwWorkflowPlugin *self, const gchar *workflow_id, gint64 from, gint64 to,
                         GError **error)
{
  g_autoptr (JsonObject) def = cw_wf_defs_get (self, workflow_id, 0, TRUE);
  g_autoptr (GArray) instants = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr (GPtrArray) triggers = g_ptr_array_new ();
  JsonArray *list = cw_wf_arr (def, "triggers");
  g_autofree gchar *correlation = cw_make_id ("wf_backfill");
  JsonObject *result;
  gint64 queued = 0;

  if (def == NULL || g_strcmp0 (cw_wf_str (def, "status"), "published") != 0)
    {
      g_set_error_literal (error, CW_ERROR, CW_ERROR_NOT_FOUND,
                           "Published workflow not found for backfill");
      return NULL;
    }
  for (guint i = 0; list != NULL && i < json_array_get_length (list); i++)
    {
      JsonObject *t = json_array_get_object_element (list, i);
      g_autoptr (CwSchedule) s = NULL;
      gint64 at;
      if (g_strcmp0 (cw_wf_str (t, "type"), "schedule") != 0 || !cw_wf_bool (t, "enabled", TRUE))
        continue;
      s = schedule_of (t, from, NULL);
      if (s == NULL)
        continue;
      for (at = cw_schedule_next_after (s, from - 1); at != CW_SCHEDULE_NEVER && at <= to;
           at = cw_schedule_next_after (s, at))
        {
          if (instants->len >= BACKFILL_MAX)
            {
              g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS,
                           "Backfill window has more than %d occurrences; use a shorter window",
                           BACKFILL_MAX);
              return NULL;
            }
          g_array_append_val (instants, at);
          g_ptr_array_add (triggers, t);
        }
    }
  for (guint i = 0; i < instants->len; i++)
    {
      JsonObject *t = g_ptr_array_index (triggers, i);
      g_autoptr (JsonObject) params = json_object_new ();
      g_autoptr (JsonObject) run = NULL;
      JsonObject *context = json_object_new ();
      json_object_set_string_member (params, "workflowId", workflow_id);
      json_object_set_int_member (params, "version", cw_wf_int (def, "version", 1));
      json_object_set_string_member (params, "triggerType", "schedule");
      json_object_set_string_member (params, "correlationId", correlation);
      json_object_set_string_member (context, "triggerId", cw_wf_str (t, "id"));
      json_object_set_int_member (context, "scheduledAt", g_array_index (instants, gint64, i));
      json_object_set_boolean_member (context, "backfill", TRUE);
      json_object_set_object_member (params, "triggerContext", context);
      run = cw_wf_run_start (self, params, error);
      if (run == NULL)
        return NULL;
      queued++;
    }
  result = json_object_new ();
  json_object_set_int_member (result, "queued", queued);
  return result;
}

/* ---- chat triggers -------------------------------------------------------------------------- */

/* Lowercase, a-z0-9 kept, everything else a space, runs of spaces collapsed (the original
 * meant to collapse them; its double-escaped regex did not, so "report, please" missed the
 * phrase "report please"). */
static gchar *
normalize (const gchar *text)
{
  g_autofree gchar *lower = g_utf8_strdown (text != NULL ? text : "", -1);
  GString *out = g_string_new (NULL);

  for (const gchar *p = lower; *p != '\0'; p++)
    {
      gboolean keep = (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9');
      if (keep)
        g_string_append_c (out, *p);
      else if (out->len > 0 && out->str[out->len - 1] != ' ')
        g_string_append_c (out, ' ');
    }
  if (out->len > 0 && out->str[out->len - 1] == ' ')
    g_string_truncate (out, out->len - 1);
  return g_string_free (out, FALSE);
}

static GPtrArray *
tokens_of (const gchar *normalized)
{
  GPtrArray *tokens = g_ptr_array_new_with_free_func (g_free);
  g_auto (GStrv) parts = g_strsplit (normalized, " ", -1);

  for (guint i = 0; parts[i] != NULL; i++)
    if (*parts[i] != '\0')
      g_ptr_array_add (tokens, g_strdup (parts[i]));
  return tokens;
}

static gdouble
coverage (GPtrArray *of, GPtrArray *in)
{
  guint found = 0;

  if (of->len == 0)
    return 0.0;
  for (guint i = 0; i < of->len; i++)
    for (guint j = 0; j < in->len; j++)
      if (g_str_equal (g_ptr_array_index (of, i), g_ptr_array_index (in, j)))
        {
          found++;
          break;
        }
  return (gdouble) found / of->len;
}

JsonObject *
cw_wf_triggers_score (const gchar *message, JsonArray *phrases, gboolean strict,
                      gdouble activation_threshold)
{
  g_autofree gchar *msg = normalize (message);
  g_autoptr (GPtrArray) msg_tokens = tokens_of (msg);
  JsonObject *best = NULL;
  gdouble best_score = -1.0;

  for (guint i = 0; phrases != NULL && i < json_array_get_length (phrases); i++)
    {
      const gchar *raw = json_array_get_string_element (phrases, i);
      g_autofree gchar *phrase = normalize (raw);
      g_autoptr (GPtrArray) tokens = tokens_of (phrase);
      gboolean exact = *phrase != '\0' && g_str_equal (phrase, msg);
      gboolean substring = *phrase != '\0' && strstr (msg, phrase) != NULL;
      gdouble tc = coverage (tokens, msg_tokens), mc = coverage (msg_tokens, tokens);
      gdouble exact_score = exact ? 1.0 : 0.0, substring_score = substring ? 0.88 : 0.0;
      gdouble lexical = 0.75 * tc + 0.15 * mc;
      gdouble penalty = 0.0, score, specificity, threshold;
      JsonObject *match, *breakdown, *components;
      JsonArray *reasons;

      if (raw == NULL || *phrase == '\0')
        continue;
      score = MAX (exact_score, MAX (substring_score, lexical));
      if (strlen (phrase) < 5)
        penalty += 0.08;
      if (tokens->len == 1 && !exact)
        penalty += 0.07;
      score -= penalty;
      if (strict && !exact)
        score *= 0.25;
      score = CLAMP (score, 0.0, 1.0);
      if (score <= best_score)
        continue;
      specificity = tokens->len >= 6   ? 0.08
                    : tokens->len >= 4 ? 0.05
                    : tokens->len >= 2 ? 0.02
                                       : 0.0;
      threshold = CLAMP (activation_threshold - specificity, 0.5, 0.95);
      reasons = json_array_new ();
      if (exact)
        json_array_add_string_element (reasons, "exact_phrase_match");
      else if (substring)
        json_array_add_string_element (reasons, "substring_phrase_match");
      if (tc >= 0.8)
        json_array_add_string_element (reasons, "high_token_coverage");
      else if (tc >= 0.5)
        json_array_add_string_element (reasons, "partial_token_coverage");
      if (strlen (phrase) < 5)
        json_array_add_string_element (reasons, "short_phrase_penalty");
      if (tokens->len == 1 && !exact)
        json_array_add_string_element (reasons, "single_token_penalty");
      if (strict && !exact)
        json_array_add_string_element (reasons, "strict_requires_exact");
      json_array_add_string_element (reasons, score >= threshold ? "activation_threshold_met"
                                                                 : "activation_threshold_not_met");
      match = json_object_new ();
      json_object_set_double_member (match, "confidence", score);
      json_object_set_boolean_member (match, "shouldActivate", score >= threshold);
      json_object_set_string_member (match, "matchedPhrase", raw);
      json_object_set_array_member (match, "reasonCodes", reasons);
      breakdown = json_object_new ();
      json_object_set_boolean_member (breakdown, "exactMatch", exact);
      json_object_set_boolean_member (breakdown, "substringMatch", substring);
      json_object_set_double_member (breakdown, "tokenCoverage", tc);
      json_object_set_double_member (breakdown, "messageCoverage", mc);
      json_object_set_boolean_member (breakdown, "strictMatch", strict);
      json_object_set_double_member (breakdown, "effectiveThreshold", threshold);
      components = json_object_new ();
      json_object_set_double_member (components, "exactScore", exact_score);
      json_object_set_double_member (components, "substringScore", substring_score);
      json_object_set_double_member (components, "lexicalScore", lexical);
      json_object_set_double_member (components, "penaltyScore", penalty);
      json_object_set_object_member (breakdown, "componentScores", components);
      json_object_set_object_member (match, "breakdown", breakdown);
      g_clear_pointer (&best, json_object_unref);
      best = match;
      best_score = score;
    }
  return best;
}

static gint
by_confidence (gconstpointer a, gconstpointer b)
{
  gdouble x = cw_wf_double (*(JsonObject **) a, "confidence", 0);
  gdouble y = cw_wf_double (*(JsonObject **) b, "confidence", 0);

  return x < y ? 1 : x > y ? -1 : 0;
}

JsonObject *
cw_wf_triggers_evaluate (CwWorkflowPlugin *self, JsonObject *params, GError **error)
{
  const gchar *message = cw_wf_str (params, "message");
  JsonArray *only = cw_wf_arr (params, "workflowIds");
  gdouble min_confidence = cw_wf_double (params, "minConfidence", 0.2);
  gdouble threshold = cw_wf_double (params, "activationThreshold", 0.72);
  gint64 max_results = cw_wf_int (params, "maxResults", DEFAULT_MAX_RESULT);
  g_autoptr (GPtrArray) rows = load_rows (self, NULL, "chat", NULL);
  g_autoptr (GPtrArray) matches
      = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  JsonObject *result;
  JsonArray *list;
  JsonObject *activated = NULL;

  if (message == NULL)
    {
      g_set_error_literal (error, CW_ERROR, CW_ERROR_INVALID_PARAMS, "message is required");
      return NULL;
    }
  for (guint i = 0; i < rows->len; i++)
    {
      TriggerRow *row = g_ptr_array_index (rows, i);
      g_autoptr (JsonObject) def = NULL;
      JsonObject *match;
      gboolean wanted = only == NULL;
      for (guint j = 0; only != NULL && j < json_array_get_length (only); j++)
        wanted
            = wanted || g_strcmp0 (json_array_get_string_element (only, j), row->workflow_id) == 0;
      if (!row->enabled || !wanted)
        continue;
      def = cw_wf_defs_get (self, row->workflow_id, row->version, FALSE);
      if (def == NULL || g_strcmp0 (cw_wf_str (def, "status"), "published") != 0)
        continue;
      match = cw_wf_triggers_score (message, cw_wf_arr (row->config, "phrases"),
                                    cw_wf_bool (row->config, "strictMatch", FALSE), threshold);
      if (match == NULL || cw_wf_double (match, "confidence", 0) < min_confidence)
        {
          g_clear_pointer (&match, json_object_unref);
          continue;
        }
      json_object_set_string_member (match, "workflowId", row->workflow_id);
      json_object_set_int_member (match, "workflowVersion", row->version);
      json_object_set_string_member (match, "triggerId", cw_wf_str (row->config, "id"));
      json_object_set_string_member (match, "workflowName", cw_wf_str (def, "name"));
      g_ptr_array_add (matches, match);
    }
  g_ptr_array_sort (matches, by_confidence);
  if (max_results > 0 && matches->len > max_results)
    g_ptr_array_set_size (matches, max_results);
  if (cw_wf_bool (params, "autoRun", FALSE))
    for (guint i = 0; i < matches->len && activated == NULL; i++)
      {
        JsonObject *m = g_ptr_array_index (matches, i);
        g_autoptr (JsonObject) run_params = NULL;
        JsonObject *context, *data;
        g_autofree gchar *preview = NULL;
        if (!cw_wf_bool (m, "shouldActivate", FALSE))
          continue;
        data = json_object_new ();
        json_object_set_string_member (data, "workflowId", cw_wf_str (m, "workflowId"));
        json_object_set_string_member (data, "triggerType", "chat");
        json_object_set_string_member (data, "triggerId", cw_wf_str (m, "triggerId"));
        json_object_set_double_member (data, "confidence", cw_wf_double (m, "confidence", 0));
        json_object_set_array_member (data, "reasonCodes",
                                      json_array_ref (cw_wf_arr (m, "reasonCodes")));
        cw_wf_emit (self, "activated", data);
        run_params = json_object_new ();
        json_object_set_string_member (run_params, "workflowId", cw_wf_str (m, "workflowId"));
        json_object_set_int_member (run_params, "version", cw_wf_int (m, "workflowVersion", 1));
        json_object_set_string_member (run_params, "triggerType", "chat");
        context = json_object_new ();
        json_object_set_string_member (context, "triggerType", "chat");
        json_object_set_string_member (context, "triggerId", cw_wf_str (m, "triggerId"));
        json_object_set_double_member (context, "confidence", cw_wf_double (m, "confidence", 0));
        json_object_set_array_member (context, "reasonCodes",
                                      json_array_ref (cw_wf_arr (m, "reasonCodes")));
        preview = g_utf8_substring (message, 0, MIN (200, g_utf8_strlen (message, -1)));
        json_object_set_string_member (context, "messagePreview", preview);
        json_object_set_object_member (run_params, "triggerContext", context);
        if (cw_wf_obj (params, "input") != NULL)
          json_object_set_object_member (run_params, "input",
                                         cw_wf_copy_object (cw_wf_obj (params, "input")));
        activated = cw_wf_run_start (self, run_params, error);
        if (activated == NULL)
          return NULL;
      }
  result = json_object_new ();
  list = json_array_new ();
  for (guint i = 0; i < matches->len; i++)
    json_array_add_object_element (list, json_object_ref (g_ptr_array_index (matches, i)));
  json_object_set_array_member (result, "matches", list);
  if (activated != NULL)
    json_object_set_object_member (result, "activatedRun", activated);
  else
    json_object_set_null_member (result, "activatedRun");
  return result;
}
