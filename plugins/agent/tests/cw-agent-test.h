/* cw-agent-test.h: helpers of the agent plugin's daemon-level tests: a real coworkd with the
 * built plugins, a working directory, the fake LLM server and event readers.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cw-test-daemon.h"

G_BEGIN_DECLS

typedef struct
{
  CwTestDaemon *daemon;
  CwClient *client; /* calls and events */
  gchar *workdir;   /* a project directory for sessions */
  GSubprocess *llm;
  gchar *llm_url;
  gchar *llm_log;
} AgentFixture;

AgentFixture *agent_fixture_new (void);
void agent_fixture_free (AgentFixture *f);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AgentFixture, agent_fixture_free)

/* (Re)starts the daemon and connects f->client. */
void agent_fixture_start (AgentFixture *f);
/* Stops the daemon with @signum (SIGTERM, SIGKILL) and drops the client. */
void agent_fixture_stop (AgentFixture *f, gint signum);
/* Starts cw-fake-llm (OpenAI API) with @script (JSON text) and points the lmstudio provider
 * at it with set_runtime_config. Returns FALSE (test skipped) if the server is not built. */
gboolean agent_fixture_start_llm (AgentFixture *f, const gchar *script);
/* The same speaking @api ("openai", "anthropic", "gemini"), without pointing any provider at
 * it (f->llm_url is its base URL). */
gboolean agent_fixture_start_llm_api (AgentFixture *f, const gchar *api, const gchar *script);
/* Creates a session of @provider as the app does (optional fields null), sends "hello" and
 * waits until the turn is done; returns the session id. */
gchar *agent_fixture_run_turn (AgentFixture *f, const gchar *provider);
/* Creates an lmstudio session in f->workdir; returns its id. */
gchar *agent_fixture_create_session (AgentFixture *f);
/* The Authorization header of the last request the fake server got. */
gchar *agent_fixture_last_authorization (AgentFixture *f);
/* TRUE if any file under @dir contains @needle. */
gboolean agent_tree_contains (const gchar *dir, const gchar *needle);
/* Requests logged by the fake server, one JSON object each. */
GPtrArray *agent_fixture_llm_requests (AgentFixture *f);

/* The runtime of session @id in the bootstrap state as text, without its updatedAt (when
 * it was built). */
gchar *agent_bootstrap_runtime (CwClient *client, const gchar *id);

/* Takes the write lock of the daemon's database from this process, as a second writer (a
 * backup, another daemon) would: the daemon's writes then fail after its busy timeout, while
 * reads go on. agent_store_unlock() gives it back. */
sqlite3 *agent_store_lock (AgentFixture *f);
void agent_store_unlock (sqlite3 *db);

/* Runs coworkctl --app-data-dir <the daemon's dir> @args with @input on stdin and the
 * daemon's environment; asserts it succeeds and returns its stdout. */
gchar *agent_run_ctl (AgentFixture *f, const gchar *input, const gchar *const *args);
/* The same, and the exit status instead of asserting success. */
gchar *agent_run_ctl_status (AgentFixture *f, const gchar *input, const gchar *const *args,
                             gint *status);

/* set_runtime_config exactly as the desktop app sends it at every start: every helper key
 * it has no value for as null, @provider active at @base_url, @provider_keys_json (e.g.
 * {"openai":"sk-..."}) as providerApiKeys. Returns the result. */
JsonNode *agent_app_runtime_config (CwClient *client, const gchar *provider, const gchar *base_url,
                                    const gchar *provider_keys_json);

/* Calls with printf-built params and asserts success. */
JsonNode *agent_call (CwClient *client, const gchar *command, const gchar *params_fmt, ...)
    G_GNUC_PRINTF (3, 4);
/* Calls and asserts failure; returns the error message. */
gchar *agent_call_error (CwClient *client, const gchar *command, const gchar *params_fmt, ...)
    G_GNUC_PRINTF (3, 4);
/* Sends without waiting (the answer is read with cw_client_wait_response). */
gchar *agent_send (CwClient *client, const gchar *command, const gchar *params_fmt, ...)
    G_GNUC_PRINTF (3, 4);

/* Reads events until one of @type for @session_id (NULL: any) arrives; every event read
 * meanwhile is appended to @seen (may be NULL) as "type". Fails the test after 20 s. */
JsonObject *agent_wait_event (CwClient *client, const gchar *type, const gchar *session_id,
                              GPtrArray *seen);
/* The same for the first event of any of @types (NULL-terminated). */
JsonObject *agent_wait_any (CwClient *client, const gchar *const *types, const gchar *session_id,
                            GPtrArray *seen);
/* The data object of an event. */
JsonObject *agent_event_data (JsonObject *event);
/* Index of @type in @seen at or after @from, or -1. */
gint agent_find (GPtrArray *seen, const gchar *type, guint from);

/* A daemon, the fake LLM playing @script, one session and a second connection for the calls
 * that answer only at turn end; `seen` collects the event types read. */
typedef struct
{
  AgentFixture *f;
  gchar *session;
  CwClient *sender;
  GPtrArray *seen;
} AgentTurn;

/* NULL (test skipped) if the fake server is not built. */
AgentTurn *agent_turn_new (const gchar *script);
/* The same with @env (name, value, name, value, ..., NULL) set for the daemon. */
AgentTurn *agent_turn_new_with_env (const gchar *script, const gchar *const *env);
void agent_turn_free (AgentTurn *t);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AgentTurn, agent_turn_free)
/* Sends send_message with @content on t->sender; returns the request id. */
gchar *agent_turn_send (AgentTurn *t, const gchar *content);
/* Reads the answer to @id on @client and asserts it succeeded. */
void agent_assert_reply_ok (CwClient *client, const gchar *id);
/* The last message of the @n-th (0-based) request the fake server got. */
JsonObject *agent_turn_request_last_message (AgentTurn *t, guint n);
/* Calls @command with {"sessionId": t->session<@extra>} and asserts success. */
void agent_turn_call (AgentTurn *t, const gchar *command, const gchar *extra);
/* The result object of a tool:result event. */
JsonObject *agent_tool_result (JsonObject *tool_result_event);
/* agent_wait_event for the turn's session, recording into t->seen. */
JsonObject *agent_turn_wait (AgentTurn *t, const gchar *type);

G_END_DECLS
