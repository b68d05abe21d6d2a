/* cw-cron-run.c: one run of a job, through the agent's commands only.
 *
 * create_session (type isolated, the job's working directory and model, the prompt as title)
 * → run_start_v2 (the prompt, runOptions.maxTurns), answered when the turn ends. The agent's
 * events reach the plugin through a durable consumer: stream:done for the run's session
 * closes the turn (with the turn's token usage), error carries the failure, and a
 * permission:request or question:ask of the unattended session is answered by the job's
 * policy (deny, recorded in the run's interactions). When both the reply and stream:done are
 * in, get_session gives the assistant's text for the summary. The timeout is a scheduler job
 * ("timeout:<runId>") on the scheduler's clock; when it fires the turn is stopped with
 * stop_generation and the run is recorded `timeout`.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-cron-run.h"

#include "cw-cron-fire.h"
#include "cw-cron-job.h"
#include "cw-cron-store.h"

#include <string.h>

#define TITLE_MAX   80
#define SUMMARY_MAX 500

/* The waits before the retries of a run that could not reach its provider. */
static const gint64 cw_cron_retry_delays_ms[] = { 60000, 5 * 60000, 15 * 60000 };
#define CLOSED_ANSWER                                                                              \
  "The scheduled run this question belongs to has ended; nobody waits for the answer."
#define QUESTION_ANSWER                                                                            \
  "Nobody can answer: this is an unattended scheduled run. Continue without asking, or stop "      \
  "and say what you would need."

struct _CwCronRun
{
  CwCronPlugin *plugin;
  gchar *job_id;
  gchar *run_id;
  JsonObject *run; /* the CronRun */
  gchar *prompt;
  gchar *model;
  gchar *working_directory;
  gchar *title;
  gint64 max_turns;
  gint64 timeout_ms;
  gchar *session_id;
  gboolean manual;
  gboolean wait; /* permissionPolicy wait: requests stay pending for a person */
  gboolean turn_sent;
  gboolean replied;   /* run_start_v2 answered */
  gboolean turn_done; /* stream:done seen (or the turn never started) */
  gboolean timed_out;
  gboolean finishing;
  gboolean finished;
  gchar *error;
  gboolean has_usage;
  gint64 prompt_tokens;
  gint64 completion_tokens;
  JsonArray *interactions;
  GPtrArray *waiters; /* CwInvocation */
};

static void maybe_finish (CwCronRun *run);
static void record_interactions (CwCronRun *run);
static void complete (CwCronRun *run, const gchar *text);

/* ---- helpers ------------------------------------------------------------------------ */

gchar *
cw_cron_run_make_title (const gchar *prompt, const gchar *job_name)
{
  GString *out = g_string_new (NULL);
  gboolean space = FALSE;

  for (const gchar *p = prompt != NULL ? prompt : ""; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);
      if (g_unichar_isspace (c))
        {
          space = out->len > 0;
          continue;
        }
      if (space)
        g_string_append_c (out, ' ');
      space = FALSE;
      g_string_append_unichar (out, c);
    }
  if (out->len == 0)
    {
      g_string_free (out, TRUE);
      return g_strdup (job_name != NULL && *job_name != '\0' ? job_name : "Scheduled Task");
    }
  if (g_utf8_strlen (out->str, -1) > TITLE_MAX)
    {
      gchar *end = g_utf8_offset_to_pointer (out->str, TITLE_MAX - 3);
      g_string_truncate (out, end - out->str);
      g_string_append (out, "...");
    }
  return g_string_free (out, FALSE);
}

gchar *
cw_cron_run_make_summary (const gchar *text)
{
  g_autofree gchar *trimmed = g_strstrip (g_strdup (text != NULL ? text : ""));
  const gchar *para_end = strstr (trimmed, "\n\n");
  g_autofree gchar *para
      = para_end != NULL ? g_strndup (trimmed, para_end - trimmed) : g_strdup (trimmed);
  gchar *cut, *space;

  g_strstrip (para);
  if (*para == '\0')
    return NULL;
  if (g_utf8_strlen (para, -1) <= SUMMARY_MAX)
    return g_steal_pointer (&para);
  cut = g_utf8_offset_to_pointer (para, SUMMARY_MAX - 3);
  *cut = '\0';
  space = strrchr (para, ' ');
  if (space != NULL && space > para)
    *space = '\0';
  return g_strconcat (g_strchomp (para), "...", NULL);
}

static JsonNode *
params_new (const gchar *session_id)
{
  JsonNode *node = json_node_new (JSON_NODE_OBJECT);
  JsonObject *obj = json_object_new ();

  if (session_id != NULL)
    json_object_set_string_member (obj, "sessionId", session_id);
  json_node_take_object (node, obj);
  return node;
}

static CwCronRun *
run_ref (CwCronRun *run)
{
  return g_rc_box_acquire (run);
}

static void
run_clear (CwCronRun *run)
{
  g_free (run->job_id);
  g_free (run->run_id);
  json_object_unref (run->run);
  g_free (run->prompt);
  g_free (run->model);
  g_free (run->working_directory);
  g_free (run->title);
  g_free (run->session_id);
  g_free (run->error);
  json_array_unref (run->interactions);
  g_ptr_array_unref (run->waiters);
}

void
cw_cron_run_free (CwCronRun *run)
{
  g_rc_box_release_full (run, (GDestroyNotify) run_clear);
}

static void
set_error (CwCronRun *run, const gchar *message)
{
  if (run->error == NULL && message != NULL)
    run->error = g_strdup (message);
}

static gboolean
save (CwCronRun *run)
{
  g_autoptr (GError) error = NULL;

  if (cw_cron_store_update_run (run->plugin->store, run->run, &error))
    return TRUE;
  g_warning ("run %s of job %s: %s", run->run_id, run->job_id, error->message);
  return FALSE;
}

JsonObject *
cw_cron_run_get_model (CwCronRun *run)
{
  return run->run;
}

void
cw_cron_run_add_waiter (CwCronRun *run, CwInvocation *invocation)
{
  g_ptr_array_add (run->waiters, g_object_ref (invocation));
}

/* ---- the timeout ---------------------------------------------------------------------- */

static gchar *
timeout_job_id (const gchar *run_id)
{
  return g_strconcat (CW_CRON_TIMEOUT_PREFIX, run_id, NULL);
}

static void
on_timeout_fire (CwPlugin *plugin, const gchar *job_id, gint64 scheduled_ms,
                 CwScheduleFireFlags flags, gpointer user_data)
{
  cw_cron_run_timed_out (CW_CRON_PLUGIN (plugin), job_id + strlen (CW_CRON_TIMEOUT_PREFIX));
}

static void
arm_timeout (CwCronRun *run)
{
  CwPlugin *plugin = CW_PLUGIN (run->plugin);
  g_autofree gchar *id = timeout_job_id (run->run_id);
  g_autoptr (GError) error = NULL;
  g_autoptr (CwSchedule) at
      = cw_schedule_new_at (cw_plugin_schedule_get_now (plugin) + run->timeout_ms, &error);

  if (at == NULL
      || !cw_plugin_schedule_add (plugin, id, at, CW_MISSED_POLICY_ONCE, on_timeout_fire, NULL,
                                  NULL, &error))
    g_warning ("run %s: no timeout: %s", run->run_id, error->message);
}

static void
disarm_timeout (CwCronRun *run)
{
  g_autofree gchar *id = timeout_job_id (run->run_id);

  cw_plugin_schedule_remove (CW_PLUGIN (run->plugin), id, NULL);
}

/* ---- the agent's commands ------------------------------------------------------------- */

static void
on_stopped (GObject *source, GAsyncResult *result, gpointer user_data)
{
  CwCronRun *run = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) reply = cw_plugin_call_finish (CW_PLUGIN (source), result, &error);

  if (reply == NULL)
    g_warning ("run %s: stop_generation: %s", run->run_id, error->message);
  /* The turn was stopped: nothing the agent still sends changes the outcome. */
  run->replied = run->turn_done = TRUE;
  maybe_finish (run);
  cw_cron_run_free (run);
}

static void
on_turn_replied (GObject *source, GAsyncResult *result, gpointer user_data)
{
  CwCronRun *run = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) reply = cw_plugin_call_finish (CW_PLUGIN (source), result, &error);

  run->replied = TRUE;
  if (reply == NULL)
    {
      set_error (run, error->message);
      /* Refused before the turn began (no session, busy): no stream:done will come. */
      if (!g_error_matches (error, CW_ERROR, CW_ERROR_FAILED))
        run->turn_done = TRUE;
    }
  maybe_finish (run);
  cw_cron_run_free (run);
}

static void
send_turn (CwCronRun *run)
{
  g_autoptr (JsonNode) params = params_new (run->session_id);
  JsonObject *obj = json_node_get_object (params);

  json_object_set_string_member (obj, "message", run->prompt);
  if (run->max_turns > 0)
    {
      JsonObject *options = json_object_new ();
      json_object_set_int_member (options, "maxTurns", run->max_turns);
      json_object_set_object_member (obj, "runOptions", options);
    }
  run->turn_sent = TRUE;
  cw_plugin_call (CW_PLUGIN (run->plugin), NULL, "run_start_v2", params, NULL, on_turn_replied,
                  run_ref (run));
}

static void
on_session_created (GObject *source, GAsyncResult *result, gpointer user_data)
{
  CwCronRun *run = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) reply = cw_plugin_call_finish (CW_PLUGIN (source), result, &error);
  const gchar *id = NULL;

  if (reply != NULL && JSON_NODE_HOLDS_OBJECT (reply))
    id = cw_cron_job_get_string (json_node_get_object (reply), "id");
  if (run->finished)
    ;
  else if (id == NULL)
    {
      g_autofree gchar *message
          = g_strdup_printf ("Could not create the run's session: %s",
                             error != NULL ? error->message : "create_session gave no session id");
      set_error (run, message);
      run->replied = run->turn_done = TRUE;
      maybe_finish (run);
    }
  else
    {
      run->session_id = g_strdup (id);
      json_object_set_string_member (run->run, "sessionId", id);
      g_hash_table_insert (run->plugin->by_session, g_strdup (id), run_ref (run));
      save (run);
      if (run->timed_out)
        {
          run->replied = run->turn_done = TRUE;
          maybe_finish (run);
        }
      else
        send_turn (run);
    }
  cw_cron_run_free (run);
}

static void
create_session (CwCronRun *run)
{
  g_autoptr (JsonNode) params = params_new (NULL);
  JsonObject *obj = json_node_get_object (params);

  json_object_set_string_member (obj, "workingDirectory", run->working_directory);
  json_object_set_string_member (obj, "type", "isolated");
  json_object_set_string_member (obj, "title", run->title);
  if (run->model != NULL)
    json_object_set_string_member (obj, "model", run->model);
  cw_plugin_call (CW_PLUGIN (run->plugin), NULL, "create_session", params, NULL, on_session_created,
                  run_ref (run));
}

/* ---- the end of a run ------------------------------------------------------------------ */

/* The text of the assistant's messages: the session holds only this run's turn. */
static gchar *
assistant_text (JsonNode *details)
{
  GString *text = g_string_new (NULL);
  JsonObject *obj
      = details != NULL && JSON_NODE_HOLDS_OBJECT (details) ? json_node_get_object (details) : NULL;
  JsonNode *items = obj != NULL ? json_object_get_member (obj, "chatItems") : NULL;
  JsonArray *arr
      = items != NULL && JSON_NODE_HOLDS_ARRAY (items) ? json_node_get_array (items) : NULL;

  for (guint i = 0; arr != NULL && i < json_array_get_length (arr); i++)
    {
      JsonNode *node = json_array_get_element (arr, i);
      JsonObject *item = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
      const gchar *content;

      if (item == NULL
          || g_strcmp0 (cw_cron_job_get_string (item, "kind"), "assistant_message") != 0
          || (content = cw_cron_job_get_string (item, "content")) == NULL || *content == '\0')
        continue;
      if (text->len > 0)
        g_string_append (text, "\n\n");
      g_string_append (text, content);
    }
  return g_string_free (text, FALSE);
}

/* TRUE when the session holds anything a model produced (a reply, thinking, a tool call):
 * the turn reached the model, and running it again could repeat what it did. */
static gboolean
reached_model (JsonNode *details)
{
  JsonObject *obj
      = details != NULL && JSON_NODE_HOLDS_OBJECT (details) ? json_node_get_object (details) : NULL;
  JsonNode *items = obj != NULL ? json_object_get_member (obj, "chatItems") : NULL;
  JsonArray *arr
      = items != NULL && JSON_NODE_HOLDS_ARRAY (items) ? json_node_get_array (items) : NULL;

  if (arr == NULL)
    return TRUE; /* unknown: never retried */
  for (guint i = 0; i < json_array_get_length (arr); i++)
    {
      JsonNode *node = json_array_get_element (arr, i);
      const gchar *kind = JSON_NODE_HOLDS_OBJECT (node)
                              ? cw_cron_job_get_string (json_node_get_object (node), "kind")
                              : NULL;
      if (g_strcmp0 (kind, "user_message") != 0 && g_strcmp0 (kind, "error") != 0)
        return TRUE;
    }
  return FALSE;
}

/* A scheduled run whose provider could not be reached before any model call is retried
 * with backoff as the same ledger row. */
static gboolean
should_retry (CwCronRun *run, JsonNode *details)
{
  JsonNode *attempts = json_object_get_member (run->run, "attempts");
  guint done = attempts != NULL && JSON_NODE_HOLDS_ARRAY (attempts)
                   ? json_array_get_length (json_node_get_array (attempts))
                   : 0;

  return !run->manual && !run->timed_out && run->error != NULL
         && g_str_has_prefix (run->error, CW_CRON_UNREACHABLE_PREFIX)
         && done < G_N_ELEMENTS (cw_cron_retry_delays_ms) && !reached_model (details);
}

static void retry_later (CwCronRun *run);

static void
on_session_read (GObject *source, GAsyncResult *result, gpointer user_data)
{
  CwCronRun *run = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) reply = cw_plugin_call_finish (CW_PLUGIN (source), result, &error);
  g_autofree gchar *text = NULL;

  if (reply == NULL)
    g_warning ("run %s: reading session %s: %s", run->run_id, run->session_id, error->message);
  if (reply != NULL && should_retry (run, reply))
    retry_later (run);
  else
    {
      text = assistant_text (reply);
      complete (run, text);
    }
  cw_cron_run_free (run);
}

static void
maybe_finish (CwCronRun *run)
{
  g_autoptr (JsonNode) params = NULL;

  if (run->finishing || run->finished || !run->replied || !run->turn_done)
    return;
  run->finishing = TRUE;
  if (run->session_id == NULL)
    {
      complete (run, NULL);
      return;
    }
  params = params_new (run->session_id);
  cw_plugin_call (CW_PLUGIN (run->plugin), NULL, "get_session", params, NULL, on_session_read,
                  run_ref (run));
}

static void
record_outcome (CwCronRun *run, const gchar *result, const gchar *error, const gchar *text)
{
  gint64 now = cw_now_ms ();
  g_autofree gchar *summary = cw_cron_run_make_summary (text);

  json_object_set_int_member (run->run, "completedAt", now);
  json_object_set_string_member (run->run, "result", result);
  json_object_set_int_member (run->run, "durationMs",
                              MAX (0, now - cw_cron_job_get_int (run->run, "startedAt", now)));
  if (error != NULL)
    json_object_set_string_member (run->run, "error", error);
  if (summary != NULL)
    json_object_set_string_member (run->run, "summary", summary);
  if (run->has_usage)
    {
      json_object_set_int_member (run->run, "promptTokens", run->prompt_tokens);
      json_object_set_int_member (run->run, "completionTokens", run->completion_tokens);
    }
  if (json_array_get_length (run->interactions) > 0)
    json_object_set_array_member (run->run, "interactions", json_array_ref (run->interactions));
}

/* Takes the run out of the plugin's tables; the caller holds a reference. */
static void
detach (CwCronRun *run)
{
  CwCronPlugin *self = run->plugin;

  run->finished = TRUE;
  disarm_timeout (run);
  if (run->session_id != NULL)
    g_hash_table_remove (self->by_session, run->session_id);
  if (g_hash_table_lookup (self->running, run->job_id) == run)
    g_hash_table_remove (self->running, run->job_id);
}

static void
answer_waiters (CwCronRun *run)
{
  for (guint i = 0; i < run->waiters->len; i++)
    cw_invocation_return_object (g_ptr_array_index (run->waiters, i), json_object_ref (run->run));
  g_ptr_array_set_size (run->waiters, 0);
}

static void
complete (CwCronRun *run, const gchar *text)
{
  g_autofree gchar *timeout = NULL;

  if (run->finished)
    return;
  run_ref (run);
  if (run->timed_out)
    {
      timeout
          = g_strdup_printf ("Execution timed out after %" G_GINT64_FORMAT "ms", run->timeout_ms);
      record_outcome (run, "timeout", timeout, text);
    }
  else
    record_outcome (run, run->error != NULL ? "error" : "success", run->error, text);
  save (run);
  detach (run);
  answer_waiters (run);
  cw_cron_fire_run_finished (run->plugin, run->job_id, run->run, run->manual);
  cw_cron_run_free (run);
}

/* The attempt failed before any model call: it is recorded in the row's attempts, and the
 * run starts again at the next backoff step on the scheduler's clock. */
static void
retry_later (CwCronRun *run)
{
  CwCronPlugin *self = run->plugin;
  JsonNode *node = json_object_get_member (run->run, "attempts");
  JsonArray *attempts;
  JsonObject *attempt = json_object_new ();
  g_autoptr (GError) error = NULL;
  gint64 at;

  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    {
      json_object_set_array_member (run->run, "attempts", json_array_new ());
      node = json_object_get_member (run->run, "attempts");
    }
  attempts = json_node_get_array (node);
  at = cw_plugin_schedule_get_now (CW_PLUGIN (self))
       + cw_cron_retry_delays_ms[json_array_get_length (attempts)];
  json_object_set_string_member (attempt, "sessionId", run->session_id);
  json_object_set_int_member (attempt, "startedAt", cw_cron_job_get_int (run->run, "startedAt", 0));
  json_object_set_int_member (attempt, "failedAt", cw_now_ms ());
  json_object_set_string_member (attempt, "error", run->error);
  json_array_add_object_element (attempts, attempt);
  json_object_set_string_member (run->run, "sessionId", "");
  json_object_set_string_member (run->run, "error", run->error);
  json_object_set_int_member (run->run, "retryAt", at);
  g_message ("run %s of job %s failed before any model call (%s); retry %u at %" G_GINT64_FORMAT,
             run->run_id, run->job_id, run->error, json_array_get_length (attempts), at);
  run_ref (run);
  save (run);
  detach (run);
  if (!cw_cron_fire_arm_retry (self, run->run_id, at, &error))
    g_warning ("run %s: no retry: %s", run->run_id, error->message);
  {
    JsonObject *data = json_object_new ();
    json_object_set_string_member (data, "jobId", run->job_id);
    json_object_set_object_member (data, "run", json_object_ref (run->run));
    cw_plugin_emit (CW_PLUGIN (self), "cron:run_retrying", NULL, data);
  }
  /* a trigger that waited for this run learns that it will be retried */
  answer_waiters (run);
  cw_cron_fire_start_queued (self, run->job_id);
  cw_cron_run_free (run);
}

/* ---- start ------------------------------------------------------------------------------ */

CwCronRun *
cw_cron_run_start (CwCronPlugin *self, JsonObject *job, JsonObject *ledger, gint64 scheduled_ms,
                   GError **error)
{
  CwCronRun *run;
  gboolean duplicate;
  JsonObject *model;

  if (ledger != NULL)
    model = json_object_ref (ledger);
  else
    {
      g_autofree gchar *id = cw_make_id ("run");
      model = json_object_new ();
      json_object_set_string_member (model, "id", id);
      json_object_set_string_member (model, "jobId", cw_cron_job_get_string (job, "id"));
    }
  json_object_remove_member (model, "queued");
  json_object_remove_member (model, "retryAt");
  json_object_remove_member (model, "error");
  json_object_set_string_member (model, "sessionId", "");
  json_object_set_int_member (model, "startedAt", cw_now_ms ());
  if (scheduled_ms >= 0)
    json_object_set_int_member (model, "scheduledAt", scheduled_ms);
  if (ledger != NULL ? !cw_cron_store_update_run (self->store, model, error)
                     : !cw_cron_store_insert_run (self->store, model, &duplicate, error))
    {
      json_object_unref (model);
      return NULL;
    }

  run = g_rc_box_new0 (CwCronRun);
  run->plugin = self;
  run->job_id = g_strdup (cw_cron_job_get_string (job, "id"));
  run->run_id = g_strdup (cw_cron_job_get_string (model, "id"));
  run->run = model;
  run->manual = scheduled_ms < 0;
  run->prompt = g_strdup (cw_cron_job_get_string (job, "prompt"));
  run->model = g_strdup (cw_cron_job_get_string (job, "model"));
  run->working_directory = g_strdup (cw_cron_job_get_string (job, "workingDirectory"));
  run->title = cw_cron_run_make_title (run->prompt, cw_cron_job_get_string (job, "name"));
  run->max_turns = cw_cron_job_get_int (job, "maxTurns", 0);
  run->wait = g_strcmp0 (cw_cron_job_get_string (job, "permissionPolicy"), "wait") == 0;
  run->timeout_ms = cw_cron_job_get_int (job, "timeoutMs", self->default_timeout_ms);
  run->interactions = json_array_new ();
  run->waiters = g_ptr_array_new_with_free_func (g_object_unref);
  g_hash_table_insert (self->running, g_strdup (run->job_id), run);
  self->runs_started++;
  {
    JsonObject *data = json_object_new ();
    json_object_set_string_member (data, "jobId", run->job_id);
    json_object_set_object_member (data, "run", json_object_ref (model));
    cw_plugin_emit (CW_PLUGIN (self), "cron:run_started", NULL, data);
  }
  arm_timeout (run);
  create_session (run);
  return run;
}

/* ---- the agent's events ------------------------------------------------------------------ */

static void
on_answered (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autofree gchar *what = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) reply = cw_plugin_call_finish (CW_PLUGIN (source), result, &error);

  if (reply == NULL)
    g_warning ("%s: %s", what, error->message);
}

/* The policy of an unattended run: deny (the default) and say so in the run, or wait (the
 * agent's request is a pending interaction, in the bootstrap state's pendingInteractions
 * and answerable with interaction_respond from any client) and record the answer when it
 * comes. */
static void
answer_request (CwCronRun *run, const gchar *type, JsonObject *request)
{
  g_autoptr (JsonNode) params = params_new (run->session_id);
  JsonObject *obj = json_node_get_object (params);
  JsonObject *record = json_object_new ();
  const gchar *id = cw_cron_job_get_string (request, "id");
  gboolean permission = g_str_equal (type, "permission:request");

  if (id == NULL)
    {
      json_object_unref (record);
      return;
    }
  json_object_set_string_member (record, "type", permission ? "permission" : "question");
  json_object_set_string_member (record, "id", id);
  if (permission)
    {
      static const gchar *const fields[] = { "toolName", "type", "resource", "reason", NULL };
      for (guint i = 0; fields[i] != NULL; i++)
        if (cw_cron_job_get_string (request, fields[i]) != NULL)
          json_object_set_string_member (
              record, g_str_equal (fields[i], "type") ? "permissionType" : fields[i],
              cw_cron_job_get_string (request, fields[i]));
      if (run->wait)
        json_object_set_string_member (record, "decision", "pending");
      else
        json_object_set_string_member (record, "decision", "deny");
      json_object_set_string_member (obj, "permissionId", id);
      json_object_set_string_member (obj, "decision", "deny");
    }
  else
    {
      if (cw_cron_job_get_string (request, "question") != NULL)
        json_object_set_string_member (record, "question",
                                       cw_cron_job_get_string (request, "question"));
      json_object_set_string_member (record, "decision", run->wait ? "pending" : "answer");
      if (!run->wait)
        json_object_set_string_member (record, "answer", QUESTION_ANSWER);
      json_object_set_string_member (obj, "questionId", id);
      json_object_set_string_member (obj, "answer", QUESTION_ANSWER);
    }
  json_object_set_int_member (record, "at", cw_now_ms ());
  json_array_add_object_element (run->interactions, record);
  if (run->wait)
    {
      /* a person answers the agent's pending interaction */
      record_interactions (run);
      return;
    }
  cw_plugin_call (CW_PLUGIN (run->plugin), NULL,
                  permission ? "respond_permission" : "respond_question", params, NULL, on_answered,
                  g_strdup_printf ("run %s: answering %s", run->run_id, id));
}

/* The run's interactions as they are now, stored with the open run. */
static void
record_interactions (CwCronRun *run)
{
  json_object_set_array_member (run->run, "interactions", json_array_ref (run->interactions));
  save (run);
}

/* A request of the run was answered (by a person under the wait policy, or by this plugin):
 * its record gets the decision. */
static void
note_resolved (CwCronRun *run, const gchar *id, const gchar *decision, JsonNode *answer)
{
  for (guint i = 0; id != NULL && i < json_array_get_length (run->interactions); i++)
    {
      JsonObject *record = json_array_get_object_element (run->interactions, i);
      if (g_strcmp0 (cw_cron_job_get_string (record, "id"), id) != 0
          || g_strcmp0 (cw_cron_job_get_string (record, "decision"), "pending") != 0)
        continue;
      if (decision != NULL)
        json_object_set_string_member (record, "decision", decision);
      else
        {
          json_object_set_string_member (record, "decision", "answer");
          if (answer != NULL)
            json_object_set_member (record, "answer", json_node_copy (answer));
        }
      json_object_set_int_member (record, "answeredAt", cw_now_ms ());
      record_interactions (run);
      return;
    }
}

static JsonObject *
object_member (JsonObject *obj, const gchar *name)
{
  JsonNode *node = obj != NULL ? json_object_get_member (obj, name) : NULL;

  return node != NULL && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
}

void
cw_cron_run_handle_event (CwCronPlugin *self, CwEvent *event)
{
  const gchar *session = cw_event_get_session_id (event);
  const gchar *type = cw_event_get_type_name (event);
  JsonObject *data = cw_event_get_data (event);
  CwCronRun *run = session != NULL ? g_hash_table_lookup (self->by_session, session) : NULL;

  if (run == NULL || run->finished || !run->turn_sent)
    return;
  if (g_str_equal (type, "stream:done"))
    {
      JsonObject *usage = object_member (data, "usage");
      if (usage != NULL)
        {
          run->has_usage = TRUE;
          run->prompt_tokens += cw_cron_job_get_int (usage, "promptTokens", 0);
          run->completion_tokens += cw_cron_job_get_int (usage, "completionTokens", 0);
        }
      run->turn_done = TRUE;
      maybe_finish (run);
    }
  else if (g_str_equal (type, "error"))
    set_error (run, cw_cron_job_get_string (data, "error"));
  else if ((g_str_equal (type, "permission:request") || g_str_equal (type, "question:ask"))
           && !run->timed_out && object_member (data, "request") != NULL)
    answer_request (run, type, object_member (data, "request"));
  else if (g_str_equal (type, "permission:resolved"))
    note_resolved (run, cw_cron_job_get_string (data, "permissionId"),
                   cw_cron_job_get_string (data, "decision"), NULL);
  else if (g_str_equal (type, "question:answered"))
    note_resolved (run, cw_cron_job_get_string (data, "questionId"), NULL,
                   json_object_get_member (data, "answer"));
}

void
cw_cron_run_timed_out (CwCronPlugin *self, const gchar *run_id)
{
  GHashTableIter iter;
  gpointer value;
  CwCronRun *run = NULL;

  g_hash_table_iter_init (&iter, self->running);
  while (run == NULL && g_hash_table_iter_next (&iter, NULL, &value))
    if (g_str_equal (((CwCronRun *) value)->run_id, run_id))
      run = value;
  if (run == NULL || run->finished || run->timed_out)
    return;
  run->timed_out = TRUE;
  g_message ("run %s of job %s timed out after %" G_GINT64_FORMAT " ms", run->run_id, run->job_id,
             run->timeout_ms);
  if (run->session_id != NULL && run->turn_sent && !run->finishing)
    {
      g_autoptr (JsonNode) params = params_new (run->session_id);
      cw_plugin_call (CW_PLUGIN (self), NULL, "stop_generation", params, NULL, on_stopped,
                      run_ref (run));
    }
  /* else: the session is still being created, and the run ends when it is */
}

void
cw_cron_run_close_interactions (CwCronPlugin *self, const gchar *session_id)
{
  CwInteractions *interactions
      = cw_context_get_interactions (cw_plugin_get_context (CW_PLUGIN (self)));
  g_autoptr (GPtrArray) open = NULL;

  if (session_id == NULL || *session_id == '\0')
    return;
  open = cw_interactions_list (interactions, NULL, session_id);
  for (guint i = 0; i < open->len; i++)
    {
      CwInteraction *interaction = g_ptr_array_index (open, i);
      CwInteractionKind kind = cw_interaction_get_kind (interaction);
      g_autoptr (JsonNode) answer = NULL;
      g_autoptr (GError) error = NULL;

      if (kind == CW_INTERACTION_APPROVAL)
        continue;
      answer = json_node_init_string (json_node_alloc (),
                                      kind == CW_INTERACTION_PERMISSION ? "deny" : CLOSED_ANSWER);
      if (!cw_interactions_respond (interactions, cw_interaction_get_id (interaction), answer,
                                    "plugin:cron", &error))
        g_warning ("closing %s of session %s: %s", cw_interaction_get_id (interaction), session_id,
                   error->message);
    }
}

void
cw_cron_run_interrupt_all (CwCronPlugin *self, const gchar *reason)
{
  GList *runs = g_hash_table_get_values (self->running);

  for (GList *l = runs; l != NULL; l = l->next)
    {
      CwCronRun *run = run_ref (l->data);
      if (run->wait)
        cw_cron_run_close_interactions (self, run->session_id);
      record_outcome (run, "interrupted", reason, NULL);
      save (run);
      detach (run);
      answer_waiters (run);
      cw_cron_fire_run_finished (self, run->job_id, run->run, run->manual);
      cw_cron_run_free (run);
    }
  g_list_free (runs);
}
