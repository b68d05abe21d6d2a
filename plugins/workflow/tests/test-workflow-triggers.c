/* test-workflow-triggers.c: every trigger fires on the real daemon: webhooks over HTTP with
 * good, bad, replayed and stale credentials; schedules on the test clock, once per instant,
 * with a catch-up run after the daemon was down; chat phrases scored as the contract
 * computes it, with autoRun; integration events emitted while the workflow plugin was not
 * running fire once after it starts; the original's workflows are imported once.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-workflow-test.h"

#include <libsoup/soup.h>
#include <math.h>
#include <signal.h>
#include <string.h>

static gchar *
webhook_url (AgentFixture *f, const gchar *workflow_id, const gchar *trigger_id)
{
  g_autoptr (JsonNode) def = wf_call (f, "workflow_get", "{\"workflowId\":\"%s\"}", workflow_id);
  JsonArray *triggers = json_object_get_array_member (cw_test_obj (def), "triggers");

  for (guint i = 0; i < json_array_get_length (triggers); i++)
    {
      JsonObject *t = json_array_get_object_element (triggers, i);
      if (g_strcmp0 (wf_str (t, "id"), trigger_id) == 0)
        {
          g_assert_false (json_object_has_member (t, "secret"));
          return g_strdup (wf_str (t, "url"));
        }
    }
  g_assert_not_reached ();
}

typedef struct
{
  guint status;
  gchar *body;
} Reply;

static Reply
post (const gchar *url, const gchar *body, const gchar *const *headers)
{
  g_autoptr (SoupSession) session = soup_session_new ();
  g_autoptr (SoupMessage) msg = soup_message_new ("POST", url);
  g_autoptr (GBytes) request = g_bytes_new (body, strlen (body));
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) bytes = NULL;
  Reply reply;

  soup_message_set_request_body_from_bytes (msg, "application/json", request);
  for (guint i = 0; headers != NULL && headers[i] != NULL; i += 2)
    soup_message_headers_replace (soup_message_get_request_headers (msg), headers[i],
                                  headers[i + 1]);
  bytes = soup_session_send_and_read (session, msg, NULL, &error);
  g_assert_no_error (error);
  reply.status = soup_message_get_status (msg);
  reply.body = g_strndup (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
  return reply;
}

static gchar *
sign (const gchar *secret, const gchar *ts, const gchar *body)
{
  g_autoptr (GHmac) hmac = g_hmac_new (G_CHECKSUM_SHA256, (const guchar *) secret, strlen (secret));

  g_hmac_update (hmac, (const guchar *) ts, -1);
  g_hmac_update (hmac, (const guchar *) ".", 1);
  g_hmac_update (hmac, (const guchar *) body, -1);
  return g_strconcat ("sha256=", g_hmac_get_string (hmac), NULL);
}

static guint
count_runs (AgentFixture *f, const gchar *workflow_id)
{
  g_autoptr (JsonNode) runs
      = wf_call (f, "workflow_list_runs", "{\"workflowId\":\"%s\"}", workflow_id);

  return json_array_get_length (json_node_get_array (runs));
}

#define SIMPLE_NODES                                                                               \
  "\"nodes\":[{\"id\":\"start\",\"type\":\"start\"},{\"id\":\"end\",\"type\":\"end\"}],"           \
  "\"edges\":[{\"from\":\"start\",\"to\":\"end\"}]"

static void
test_webhooks (void)
{
  g_autoptr (AgentFixture) f = wf_started ();
  g_autofree gchar *wf = wf_publish (
      f, "{\"name\":\"hooks\",\"triggers\":[{\"id\":\"h\",\"type\":\"webhook\",\"endpointKey\":"
         "\"deploy\",\"authMode\":\"hmac\",\"secret\":\"s3cret-hmac\"},{\"id\":\"b\",\"type\":"
         "\"webhook\",\"endpointKey\":\"bear\",\"authMode\":\"bearer\",\"secret\":\"tok-123\"}]"
         "," SIMPLE_NODES "}");
  g_autofree gchar *url = webhook_url (f, wf, "h");
  g_autofree gchar *bearer_url = webhook_url (f, wf, "b");
  g_autofree gchar *ts = g_strdup_printf ("%" G_GINT64_FORMAT, WF_T0 / 1000);
  g_autofree gchar *stale_ts = g_strdup_printf ("%" G_GINT64_FORMAT, WF_T0 / 1000 - 301);
  const gchar *body = "{\"ref\":\"main\"}";
  g_autofree gchar *sig = sign ("s3cret-hmac", ts, body);
  g_autofree gchar *stale_sig = sign ("s3cret-hmac", stale_ts, body);
  g_autofree gchar *wrong_sig = sign ("not-the-secret", ts, body);
  g_autofree gchar *db = g_build_filename (f->daemon->dir, "daemon", "coworkd.db", NULL);
  g_autofree gchar *db_text = NULL;
  Reply r;

  g_assert_nonnull (url);
  g_assert_true (g_str_has_prefix (url, "http://127.0.0.1:"));
  g_assert_true (g_str_has_suffix (url, "/v1/workflow/webhooks/deploy"));
  /* good signature: 202 with the run id */
  r = post (url, body,
            (const gchar *const[]){ "X-Cowork-Timestamp", ts, "X-Cowork-Signature", sig,
                                    "X-Cowork-Delivery", "d-1", NULL });
  g_assert_cmpuint (r.status, ==, 202);
  {
    g_autoptr (JsonNode) reply = cw_json_from_string (r.body, -1, NULL);
    const gchar *run_id = wf_str (cw_test_obj (reply), "runId");
    g_autoptr (JsonObject) details = wf_wait_end (f, run_id);
    JsonObject *run = json_object_get_object_member (details, "run");
    g_assert_cmpstr (wf_str (run, "triggerType"), ==, "webhook");
    g_assert_cmpstr (wf_str (run, "status"), ==, "completed");
    g_assert_cmpstr (wf_str (json_object_get_object_member (
                                 json_object_get_object_member (run, "input"), "body"),
                             "ref"),
                     ==, "main");
  }
  g_free (r.body);
  /* the same signature again, and the same delivery id with a new signature: refused */
  r = post (url, body,
            (const gchar *const[]){ "X-Cowork-Timestamp", ts, "X-Cowork-Signature", sig, NULL });
  g_assert_cmpuint (r.status, ==, 409);
  g_free (r.body);
  {
    g_autofree gchar *ts2 = g_strdup_printf ("%" G_GINT64_FORMAT, WF_T0 / 1000 + 1);
    g_autofree gchar *sig2 = sign ("s3cret-hmac", ts2, body);
    r = post (url, body,
              (const gchar *const[]){ "X-Cowork-Timestamp", ts2, "X-Cowork-Signature", sig2,
                                      "X-Cowork-Delivery", "d-1", NULL });
    g_assert_cmpuint (r.status, ==, 409);
    g_free (r.body);
  }
  /* a wrong secret, a stale timestamp, nothing at all: 401 */
  r = post (
      url, body,
      (const gchar *const[]){ "X-Cowork-Timestamp", ts, "X-Cowork-Signature", wrong_sig, NULL });
  g_assert_cmpuint (r.status, ==, 401);
  g_free (r.body);
  r = post (url, body,
            (const gchar *const[]){ "X-Cowork-Timestamp", stale_ts, "X-Cowork-Signature", stale_sig,
                                    NULL });
  g_assert_cmpuint (r.status, ==, 401);
  g_assert_nonnull (strstr (r.body, "Stale"));
  g_free (r.body);
  r = post (url, body, NULL);
  g_assert_cmpuint (r.status, ==, 401);
  g_free (r.body);
  /* an endpoint key nobody published */
  {
    g_autofree gchar *unknown = g_strdup (url);
    g_autoptr (GString) u = g_string_new (unknown);
    g_string_replace (u, "/deploy", "/nobody", 0);
    r = post (u->str, body, NULL);
    g_assert_cmpuint (r.status, ==, 404);
    g_free (r.body);
  }
  /* bearer */
  r = post (bearer_url, "{}", (const gchar *const[]){ "Authorization", "Bearer tok-123", NULL });
  g_assert_cmpuint (r.status, ==, 202);
  g_free (r.body);
  r = post (bearer_url, "{}", (const gchar *const[]){ "Authorization", "Bearer tok-124", NULL });
  g_assert_cmpuint (r.status, ==, 401);
  g_free (r.body);
  g_assert_cmpuint (count_runs (f, wf), ==, 2);
  /* the secrets are nowhere in the database */
  g_assert_true (g_file_get_contents (db, &db_text, NULL, NULL));
  g_assert_null (g_strstr_len (db_text, -1, "s3cret-hmac"));
  /* after a restart the secret comes from the secret store */
  agent_fixture_stop (f, SIGTERM);
  agent_fixture_start (f);
  g_free (bearer_url);
  bearer_url = webhook_url (f, wf, "b");
  r = post (bearer_url, "{}", (const gchar *const[]){ "Authorization", "Bearer tok-123", NULL });
  g_assert_cmpuint (r.status, ==, 202);
  g_free (r.body);
  /* archived: the endpoint is gone */
  json_node_unref (wf_call (f, "workflow_archive", "{\"workflowId\":\"%s\"}", wf));
  r = post (bearer_url, "{}", (const gchar *const[]){ "Authorization", "Bearer tok-123", NULL });
  g_assert_cmpuint (r.status, ==, 404);
  g_free (r.body);
  g_assert_cmpuint (count_runs (f, wf), ==, 3);
}

/* TRUE when a file named <kind>.<@ref>.secret lies under @dir (the daemon's file store). */
static gboolean
secret_file_exists (const gchar *dir, const gchar *ref)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  g_autofree gchar *name = g_strdup_printf ("workflow-webhook.%s.secret", ref);
  const gchar *entry;

  while (d != NULL && (entry = g_dir_read_name (d)) != NULL)
    {
      g_autofree gchar *path = g_build_filename (dir, entry, NULL);
      if (g_strcmp0 (entry, name) == 0)
        return TRUE;
      if (g_file_test (path, G_FILE_TEST_IS_DIR) && !g_file_test (path, G_FILE_TEST_IS_SYMLINK)
          && secret_file_exists (path, ref))
        return TRUE;
    }
  return FALSE;
}

static gchar *
secret_ref_of (AgentFixture *f, const gchar *workflow_id)
{
  g_autoptr (JsonNode) def = wf_call (f, "workflow_get", "{\"workflowId\":\"%s\"}", workflow_id);
  JsonArray *triggers = json_object_get_array_member (cw_test_obj (def), "triggers");

  return g_strdup (wf_str (json_array_get_object_element (triggers, 0), "secretRef"));
}

/* Polls until the secret file of @ref exists (or not), the deletion being asynchronous. */
static void
wait_secret_file (AgentFixture *f, const gchar *ref, gboolean exists)
{
  gint64 deadline = g_get_monotonic_time () + 10 * G_TIME_SPAN_SECOND;

  while (secret_file_exists (f->daemon->dir, ref) != exists)
    {
      if (g_get_monotonic_time () > deadline)
        g_error ("the secret %s %s", ref, exists ? "never appeared" : "was never deleted");
      g_usleep (10000);
    }
}

#define HOOK_TRIGGER(secret)                                                                       \
  "[{\"id\":\"h\",\"type\":\"webhook\",\"endpointKey\":\"rotate\",\"authMode\":\"bearer\","        \
  "\"secret\":\"" secret "\"}]"

/* A webhook trigger replaced by one with a new secret: the old secret leaves the secret store
 * at publish, the new one works; a version that keeps the trigger's secretRef keeps it. */
static void
test_webhook_secret_replaced (void)
{
  g_autoptr (AgentFixture) f = wf_started ();
  g_autofree gchar *wf = wf_publish (
      f, "{\"name\":\"rotating\",\"triggers\":" HOOK_TRIGGER ("first-secret") "," SIMPLE_NODES "}");
  g_autofree gchar *first = secret_ref_of (f, wf);
  g_autofree gchar *second = NULL, *url = NULL, *kept = NULL;
  g_autoptr (JsonNode) upd = NULL, pub = NULL, upd2 = NULL, pub2 = NULL;
  Reply r;

  g_assert_nonnull (first);
  wait_secret_file (f, first, TRUE);
  upd = wf_call (
      f, "workflow_update_draft",
      "{\"workflowId\":\"%s\",\"updates\":{\"triggers\":" HOOK_TRIGGER ("second-secret") "}}", wf);
  /* only a draft so far: the published trigger still uses the first secret */
  g_assert_true (secret_file_exists (f->daemon->dir, first));
  pub = wf_call (f, "workflow_publish", "{\"workflowId\":\"%s\"}", wf);
  second = secret_ref_of (f, wf);
  g_assert_nonnull (second);
  g_assert_cmpstr (second, !=, first);
  wait_secret_file (f, first, FALSE);
  g_assert_true (secret_file_exists (f->daemon->dir, second));
  url = webhook_url (f, wf, "h");
  r = post (url, "{}", (const gchar *const[]){ "Authorization", "Bearer first-secret", NULL });
  g_assert_cmpuint (r.status, ==, 401);
  g_free (r.body);
  r = post (url, "{}", (const gchar *const[]){ "Authorization", "Bearer second-secret", NULL });
  g_assert_cmpuint (r.status, ==, 202);
  g_free (r.body);

  /* a new version that names the same secretRef (no new secret) keeps it */
  upd2 = wf_call (f, "workflow_update_draft",
                  "{\"workflowId\":\"%s\",\"updates\":{\"name\":\"renamed\",\"triggers\":[{\"id\":"
                  "\"h\",\"type\":\"webhook\",\"endpointKey\":\"rotate\",\"authMode\":\"bearer\","
                  "\"secretRef\":\"%s\",\"secret\":null}]}}",
                  wf, second);
  pub2 = wf_call (f, "workflow_publish", "{\"workflowId\":\"%s\"}", wf);
  kept = secret_ref_of (f, wf);
  g_assert_cmpstr (kept, ==, second);
  g_usleep (200000);
  g_assert_true (secret_file_exists (f->daemon->dir, second));
  r = post (url, "{}", (const gchar *const[]){ "Authorization", "Bearer second-secret", NULL });
  g_assert_cmpuint (r.status, ==, 202);
  g_free (r.body);
}

static void
test_schedule (void)
{
  g_autoptr (AgentFixture) f = wf_started ();
  g_autofree gchar *wf = wf_publish (
      f, "{\"name\":\"every minute\",\"triggers\":[{\"id\":\"s\",\"type\":\"schedule\","
         "\"schedule\":{\"type\":\"every\",\"intervalMs\":60000,\"startAt\":1894003200000}}]"
         "," SIMPLE_NODES "}");
  g_autoptr (JsonNode) scheduled = wf_call (f, "workflow_list_scheduled", "{}");
  JsonObject *summary = json_array_get_object_element (json_node_get_array (scheduled), 0);
  g_autoptr (JsonNode) paused = NULL, resumed = NULL, backfill = NULL;
  gint64 deadline;

  g_assert_cmpstr (wf_str (summary, "workflowId"), ==, wf);
  g_assert_cmpint (json_object_get_int_member (summary, "nextRunAt"), ==, WF_T0 + 60000);
  g_assert_true (json_object_get_boolean_member (summary, "enabled"));
  wf_set_clock (f, WF_T0 + 60000);
  deadline = g_get_monotonic_time () + 10 * G_TIME_SPAN_SECOND;
  while (count_runs (f, wf) < 1 && g_get_monotonic_time () < deadline)
    g_usleep (10000);
  g_assert_cmpuint (count_runs (f, wf), ==, 1);
  /* the same instant again (the clock set back and forth): no second run */
  wf_set_clock (f, WF_T0 + 30000);
  wf_set_clock (f, WF_T0 + 60000);
  g_usleep (300000);
  g_assert_cmpuint (count_runs (f, wf), ==, 1);
  /* down for ten minutes: one catch-up run (missed policy once), then on schedule */
  agent_fixture_stop (f, SIGKILL);
  {
    g_autofree gchar *clock = g_strdup_printf ("%" G_GINT64_FORMAT, WF_T0 + 11 * 60000 + 30000);
    cw_test_daemon_setenv (f->daemon, "COWORK_TEST_CLOCK", clock);
  }
  agent_fixture_start (f);
  deadline = g_get_monotonic_time () + 10 * G_TIME_SPAN_SECOND;
  while (count_runs (f, wf) < 2 && g_get_monotonic_time () < deadline)
    g_usleep (10000);
  g_usleep (300000);
  g_assert_cmpuint (count_runs (f, wf), ==, 2);
  {
    g_autoptr (JsonNode) runs = wf_call (f, "workflow_list_runs", "{\"workflowId\":\"%s\"}", wf);
    JsonObject *last = json_array_get_object_element (json_node_get_array (runs), 0);
    JsonObject *tc = json_object_get_object_member (last, "triggerContext");
    g_assert_cmpstr (wf_str (last, "triggerType"), ==, "schedule");
    g_assert_cmpstr (wf_str (tc, "triggerId"), ==, "s");
    g_assert_cmpint (json_object_get_int_member (tc, "scheduledAt"), ==, WF_T0 + 11 * 60000);
    g_assert_true (json_object_get_boolean_member (tc, "catchUp"));
  }
  /* paused: nothing fires; resumed: from now on */
  paused = wf_call (f, "workflow_pause_scheduled", "{\"workflowId\":\"%s\"}", wf);
  g_assert_cmpint (json_object_get_int_member (cw_test_obj (paused), "pausedTriggers"), ==, 1);
  wf_set_clock (f, WF_T0 + 13 * 60000);
  g_usleep (300000);
  g_assert_cmpuint (count_runs (f, wf), ==, 2);
  resumed = wf_call (f, "workflow_resume_scheduled", "{\"workflowId\":\"%s\"}", wf);
  g_assert_cmpint (json_object_get_int_member (cw_test_obj (resumed), "resumedTriggers"), ==, 1);
  g_assert_cmpint (json_object_get_int_member (cw_test_obj (resumed), "nextRunAt"), ==,
                   WF_T0 + 14 * 60000);
  /* backfill queues one run per occurrence in the window, marked as such */
  backfill = wf_call (f, "workflow_backfill_schedule",
                      "{\"workflowId\":\"%s\",\"from\":%" G_GINT64_FORMAT
                      ",\"to\":%" G_GINT64_FORMAT "}",
                      wf, WF_T0, WF_T0 + 2 * 60000);
  g_assert_cmpint (json_object_get_int_member (cw_test_obj (backfill), "queued"), ==, 3);
  g_assert_cmpuint (count_runs (f, wf), ==, 5);
  {
    g_autoptr (JsonNode) runs = wf_call (f, "workflow_list_runs", "{\"workflowId\":\"%s\"}", wf);
    JsonObject *newest = json_array_get_object_element (json_node_get_array (runs), 0);
    JsonObject *tc = json_object_get_object_member (newest, "triggerContext");
    g_assert_true (json_object_get_boolean_member (tc, "backfill"));
    g_assert_true (g_str_has_prefix (wf_str (newest, "correlationId"), "wf_backfill_"));
  }
}

/* The contract's formula (§2.9), written out for the cases below. */
static gdouble
expected_score (gdouble tc, gdouble mc, gboolean exact, gboolean substring, gboolean short_phrase,
                gboolean single, gboolean strict)
{
  gdouble s = MAX (exact ? 1.0 : 0.0, MAX (substring ? 0.88 : 0.0, 0.75 * tc + 0.15 * mc));

  if (short_phrase)
    s -= 0.08;
  if (single && !exact)
    s -= 0.07;
  if (strict && !exact)
    s *= 0.25;
  return CLAMP (s, 0.0, 1.0);
}

static JsonObject *
match_for (JsonNode *result, const gchar *workflow_id)
{
  JsonArray *matches = json_object_get_array_member (cw_test_obj (result), "matches");

  for (guint i = 0; i < json_array_get_length (matches); i++)
    {
      JsonObject *m = json_array_get_object_element (matches, i);
      if (g_strcmp0 (wf_str (m, "workflowId"), workflow_id) == 0)
        return m;
    }
  return NULL;
}

static void
test_chat_scoring (void)
{
  g_autoptr (AgentFixture) f = wf_started ();
  g_autofree gchar *report = wf_publish (
      f, "{\"name\":\"report\",\"triggers\":[{\"id\":\"c\",\"type\":\"chat\",\"phrases\":"
         "[\"send the weekly report\",\"report\"]}]," SIMPLE_NODES "}");
  g_autofree gchar *strict = wf_publish (
      f, "{\"name\":\"strict\",\"triggers\":[{\"id\":\"c\",\"type\":\"chat\",\"strictMatch\":true,"
         "\"phrases\":[\"deploy the site now\"]}]," SIMPLE_NODES "}");
  g_autoptr (JsonNode) exact = NULL, partial = NULL, strict_r = NULL, auto_r = NULL;
  JsonObject *m, *b;
  gdouble want;

  /* exact, after normalisation */
  exact = wf_call (f, "workflow_evaluate_triggers",
                   "{\"message\":\"Send the WEEKLY report\",\"workflowIds\":null,"
                   "\"minConfidence\":null,\"activationThreshold\":null,\"maxResults\":null,"
                   "\"autoRun\":null,\"input\":null}");
  m = match_for (exact, report);
  g_assert_nonnull (m);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (m, "confidence"), 1.0, 1e-9);
  g_assert_true (json_object_get_boolean_member (m, "shouldActivate"));
  g_assert_cmpstr (wf_str (m, "matchedPhrase"), ==, "send the weekly report");
  b = json_object_get_object_member (m, "breakdown");
  /* 4 phrase tokens: threshold 0.72 - 0.05 */
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (b, "effectiveThreshold"), 0.67,
                                  1e-9);
  /* punctuation between words does not break an exact match (runs of spaces collapse) */
  {
    g_autoptr (JsonNode) punct = wf_call (f, "workflow_evaluate_triggers",
                                          "{\"message\":\"send the weekly -- report!!\"}");
    g_assert_cmpfloat_with_epsilon (
        json_object_get_double_member (match_for (punct, report), "confidence"), 1.0, 1e-9);
  }
  /* partial: 3 of 4 phrase tokens in the message, 3 of 5 message tokens in the phrase */
  partial
      = wf_call (f, "workflow_evaluate_triggers",
                 "{\"message\":\"please send weekly report\",\"workflowIds\":[\"%s\"]}", report);
  m = match_for (partial, report);
  want = expected_score (3.0 / 4.0, 3.0 / 4.0, FALSE, FALSE, FALSE, FALSE, FALSE);
  /* the single-token phrase "report" scores a substring 0.88 - 0.07 = 0.81, higher */
  want = MAX (want, expected_score (1.0, 0.25, FALSE, TRUE, FALSE, TRUE, FALSE));
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (m, "confidence"), want, 1e-9);
  g_assert_cmpstr (wf_str (m, "matchedPhrase"), ==, "report");
  /* strictMatch and not exact: x 0.25 */
  strict_r
      = wf_call (f, "workflow_evaluate_triggers",
                 "{\"message\":\"please deploy the site now\",\"workflowIds\":[\"%s\"]}", strict);
  m = match_for (strict_r, strict);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (m, "confidence"),
                                  expected_score (1.0, 0.8, FALSE, TRUE, FALSE, FALSE, TRUE), 1e-9);
  g_assert_false (json_object_get_boolean_member (m, "shouldActivate"));
  /* autoRun starts the first match that activates */
  json_node_unref (agent_call (f->client, "daemon_health", "{}"));
  auto_r
      = wf_call (f, "workflow_evaluate_triggers",
                 "{\"message\":\"send the weekly report\",\"autoRun\":true,\"input\":{\"x\":1}}");
  {
    JsonObject *run = json_object_get_object_member (cw_test_obj (auto_r), "activatedRun");
    JsonObject *tc = json_object_get_object_member (run, "triggerContext");
    JsonObject *ev = agent_wait_event (f->client, "workflow:activated", NULL, NULL);
    g_assert_cmpstr (wf_str (run, "workflowId"), ==, report);
    g_assert_cmpstr (wf_str (run, "triggerType"), ==, "chat");
    g_assert_cmpstr (wf_str (tc, "messagePreview"), ==, "send the weekly report");
    g_assert_cmpstr (wf_str (agent_event_data (ev), "workflowId"), ==, report);
    json_object_unref (ev);
  }
}

static void
set_plugin_dirs (gboolean with_workflow)
{
  static gchar *all = NULL;
  g_autoptr (GString) dirs = g_string_new (NULL);
  g_auto (GStrv) parts = NULL;

  if (all == NULL)
    all = g_strdup (g_getenv ("COWORK_TEST_PLUGIN_DIRS"));
  parts = g_strsplit (all, ":", -1);
  for (guint i = 0; parts[i] != NULL; i++)
    {
      if (!with_workflow && g_str_has_suffix (parts[i], "/plugins/workflow"))
        continue;
      if (dirs->len > 0)
        g_string_append_c (dirs, ':');
      g_string_append (dirs, parts[i]);
    }
  g_setenv ("COWORK_TEST_PLUGIN_DIRS", dirs->str, TRUE);
}

static void
test_integration_events (void)
{
  g_autoptr (AgentFixture) f = wf_started ();
  g_autofree gchar *wf = wf_publish (
      f, "{\"name\":\"inbound\",\"triggers\":[{\"id\":\"i\",\"type\":\"integration_event\","
         "\"platform\":\"telegram\",\"eventType\":\"message_in\"}]," SIMPLE_NODES "}");
  g_autoptr (JsonNode) runs = NULL, health = NULL;

  /* the workflow plugin is not running while these are emitted */
  agent_fixture_stop (f, SIGTERM);
  set_plugin_dirs (FALSE);
  agent_fixture_start (f);
  health = wf_call (f, "daemon_health", "{}");
  json_node_unref (wf_call (f, "wftestevents_emit",
                            "{\"type\":\"integration:message_in\",\"data\":{\"platform\":"
                            "\"telegram\",\"sender\":\"ann\",\"content\":\"hi\"}}"));
  json_node_unref (wf_call (f, "wftestevents_emit",
                            "{\"type\":\"integration:message_in\",\"data\":{\"platform\":"
                            "\"slack\",\"sender\":\"bob\",\"content\":\"hi\"}}"));
  json_node_unref (
      wf_call (f, "wftestevents_emit",
               "{\"type\":\"integration:status\",\"data\":{\"platform\":\"telegram\"}}"));
  agent_fixture_stop (f, SIGTERM);
  set_plugin_dirs (TRUE);
  agent_fixture_start (f);
  {
    gint64 deadline = g_get_monotonic_time () + 10 * G_TIME_SPAN_SECOND;
    while (count_runs (f, wf) < 1 && g_get_monotonic_time () < deadline)
      g_usleep (10000);
  }
  g_usleep (300000);
  g_assert_cmpuint (count_runs (f, wf), ==, 1);
  runs = wf_call (f, "workflow_list_runs", "{\"workflowId\":\"%s\"}", wf);
  {
    JsonObject *run = json_array_get_object_element (json_node_get_array (runs), 0);
    JsonObject *input = json_object_get_object_member (run, "input");
    g_assert_cmpstr (wf_str (run, "triggerType"), ==, "integration");
    g_assert_cmpstr (wf_str (json_object_get_object_member (input, "event"), "sender"), ==, "ann");
  }
  /* a kill -9 and a restart deliver nothing twice */
  agent_fixture_stop (f, SIGKILL);
  agent_fixture_start (f);
  g_usleep (300000);
  g_assert_cmpuint (count_runs (f, wf), ==, 1);
}

static void
test_import (void)
{
  AgentFixture *f = wf_fixture_new (WF_T0);
  g_autofree gchar *src = g_test_build_filename (G_TEST_DIST, "data", "original-data.db", NULL);
  g_autofree gchar *dst = g_build_filename (f->daemon->dir, "data.db", NULL);
  g_autofree gchar *text = NULL;
  gsize len = 0;
  g_autoptr (JsonNode) list = NULL, graph = NULL, runs = NULL, paused = NULL;

  g_assert_true (g_file_get_contents (src, &text, &len, NULL));
  g_assert_true (g_file_set_contents (dst, text, len, NULL));
  agent_fixture_start (f);
  list = wf_call (f, "workflow_list", "{}");
  g_assert_cmpuint (json_array_get_length (json_node_get_array (list)), ==, 4);
  graph = wf_call (f, "workflow_get", "{\"workflowId\":\"wf_4Z7TDQjYZlOpeMER\"}");
  g_assert_cmpstr (wf_str (cw_test_obj (graph), "id"), ==, "wf_4Z7TDQjYZlOpeMER");
  runs = wf_call (f, "workflow_list_runs", "{\"limit\":100}");
  g_assert_cmpuint (json_array_get_length (json_node_get_array (runs)), ==, 3);
  paused = wf_call (f, "workflow_get_run", "{\"runId\":\"run_msKu2qoPXf4xBS-r\"}");
  g_assert_cmpstr (wf_str (json_object_get_object_member (cw_test_obj (paused), "run"), "status"),
                   ==, "paused");
  g_assert_cmpuint (
      json_array_get_length (json_object_get_array_member (cw_test_obj (paused), "events")), >, 0);
  /* the imported run paused at its approval goes on when resumed: the approval passes, the
   * notification to slack fails (no integration connected) and its always edge ends the run */
  {
    JsonObject *before = cw_test_obj (paused);
    guint asked = wf_count_node_runs (before, "ask_lead", "succeeded");
    guint started = wf_count_node_runs (before, "start", NULL);
    guint checked = wf_count_node_runs (before, "is_urgent", NULL);
    g_autoptr (JsonNode) resumed
        = wf_call (f, "workflow_resume_run", "{\"runId\":\"run_msKu2qoPXf4xBS-r\"}");
    g_autoptr (JsonObject) done = wf_wait_end (f, "run_msKu2qoPXf4xBS-r");

    g_assert_cmpstr (wf_str (json_object_get_object_member (done, "run"), "status"), ==,
                     "completed");
    g_assert_cmpuint (wf_count_node_runs (done, "ask_lead", "succeeded"), ==, asked + 1);
    g_assert_cmpuint (wf_count_node_runs (done, "notify", "failed"), ==, 2);
    g_assert_cmpuint (wf_count_node_runs (done, "end", "succeeded"), ==, 1);
    /* what the original had done is not done again */
    g_assert_cmpuint (wf_count_node_runs (done, "start", NULL), ==, started);
    g_assert_cmpuint (wf_count_node_runs (done, "is_urgent", NULL), ==, checked);
  }
  /* once: a second start imports nothing again */
  agent_fixture_stop (f, SIGTERM);
  agent_fixture_start (f);
  g_clear_pointer (&list, json_node_unref);
  list = wf_call (f, "workflow_list", "{}");
  g_assert_cmpuint (json_array_get_length (json_node_get_array (list)), ==, 4);
  agent_fixture_free (f);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/workflow/triggers/webhooks", test_webhooks);
  g_test_add_func ("/workflow/triggers/webhook-secret-replaced", test_webhook_secret_replaced);
  g_test_add_func ("/workflow/triggers/schedule", test_schedule);
  g_test_add_func ("/workflow/triggers/chat-scoring", test_chat_scoring);
  g_test_add_func ("/workflow/triggers/integration-events", test_integration_events);
  g_test_add_func ("/workflow/triggers/import", test_import);
  return g_test_run ();
}
