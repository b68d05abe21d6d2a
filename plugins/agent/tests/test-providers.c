/* test-providers.c: the streaming provider clients against cw-fake-llm, for each wire
 * format: streamed text and thinking, assembled tool calls, usage, HTTP errors, retries,
 * a broken stream, cancellation, and the request each API receives.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-provider-wire.h"

#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#define TEST_KEY "sk-test-0123456789abcdef"

typedef struct
{
  const gchar *api;         /* cw-fake-llm --api */
  const gchar *provider_id; /* what the agent would ask for */
} TestApi;

static const TestApi test_apis[] = {
  { "openai", "openai" },
  { "anthropic", "anthropic" },
  { "gemini", "google" },
};

/* ---- the fake server as a subprocess ------------------------------------------------- */

typedef struct
{
  gchar *dir;
  gchar *log_path;
  gchar *conn_log_path;
  gchar *base_url;
  GSubprocess *proc;
} FakeLlm;

static const gchar *
fake_llm_path (void)
{
  static gchar *path = NULL;

  if (path == NULL)
    {
      const gchar *env = g_getenv ("CW_FAKE_LLM");
      path = env != NULL
                 ? g_strdup (env)
                 : g_build_filename (g_getenv ("G_TEST_BUILDDIR") ?: ".", "cw-fake-llm", NULL);
    }
  return path;
}

/* A failed assertion aborts the test; the server must not outlive it (and hold meson's
 * output pipe open). */
static void
fake_llm_child_setup (gpointer user_data)
{
#ifdef __linux__
  prctl (PR_SET_PDEATHSIG, SIGTERM);
#endif
}

static FakeLlm *
fake_llm_start (const gchar *api, const gchar *script)
{
  FakeLlm *self = g_new0 (FakeLlm, 1);
  g_autoptr (GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
  g_autoptr (GError) error = NULL;
  g_autofree gchar *script_path = NULL;
  g_autofree gchar *port_path = NULL;
  g_autofree gchar *port = NULL;
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  self->dir = g_dir_make_tmp ("cw-provider-test-XXXXXX", &error);
  g_assert_no_error (error);
  script_path = g_build_filename (self->dir, "script.json", NULL);
  port_path = g_build_filename (self->dir, "port", NULL);
  self->log_path = g_build_filename (self->dir, "requests.log", NULL);
  self->conn_log_path = g_build_filename (self->dir, "conn.log", NULL);
  g_file_set_contents (script_path, script, -1, &error);
  g_assert_no_error (error);

  g_subprocess_launcher_set_child_setup (launcher, fake_llm_child_setup, NULL, NULL);
  self->proc = g_subprocess_launcher_spawn (
      launcher, &error, fake_llm_path (), "--api", api, "--script", script_path, "--port-file",
      port_path, "--log", self->log_path, "--conn-log", self->conn_log_path, NULL);
  g_assert_no_error (error);
  while (!g_file_get_contents (port_path, &port, NULL, NULL))
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (10000);
    }
  self->base_url
      = g_strdup_printf ("http://127.0.0.1:%u", (guint) g_ascii_strtoull (port, NULL, 10));
  return self;
}

static void
fake_llm_free (FakeLlm *self)
{
  g_autofree gchar *script = g_build_filename (self->dir, "script.json", NULL);
  g_autofree gchar *port = g_build_filename (self->dir, "port", NULL);

  g_subprocess_send_signal (self->proc, SIGTERM);
  g_subprocess_wait (self->proc, NULL, NULL);
  g_object_unref (self->proc);
  g_unlink (script);
  g_unlink (port);
  g_unlink (self->log_path);
  g_unlink (self->conn_log_path);
  g_rmdir (self->dir);
  g_free (self->dir);
  g_free (self->log_path);
  g_free (self->conn_log_path);
  g_free (self->base_url);
  g_free (self);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (FakeLlm, fake_llm_free)

/* The JSON lines of a log file, as objects. */
static GPtrArray *
read_json_lines (const gchar *path)
{
  GPtrArray *lines = g_ptr_array_new_with_free_func ((GDestroyNotify) json_node_unref);
  g_autofree gchar *text = NULL;
  g_auto (GStrv) split = NULL;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return lines;
  split = g_strsplit (text, "\n", -1);
  for (guint i = 0; split[i] != NULL; i++)
    {
      g_autoptr (GError) error = NULL;
      JsonNode *node;
      if (*split[i] == '\0')
        continue;
      node = json_from_string (split[i], &error);
      g_assert_no_error (error);
      g_ptr_array_add (lines, node);
    }
  return lines;
}

static guint
count_lines (const gchar *path)
{
  g_autoptr (GPtrArray) lines = read_json_lines (path);
  return lines->len;
}

static JsonObject *
line_object (GPtrArray *lines, guint i)
{
  g_assert_cmpuint (i, <, lines->len);
  return json_node_get_object (g_ptr_array_index (lines, i));
}

/* ---- collecting callbacks -------------------------------------------------------------- */

typedef struct
{
  GMainLoop *loop;
  CwProviderStream *stream;
  GString *text;
  GString *thinking;
  GString *order; /* one letter per callback: T text, K thinking, C call, U usage, R retry */
  guint n_text;
  GPtrArray *calls; /* JsonObject {id, name, args} */
  gint64 input_tokens;
  gint64 output_tokens;
  guint n_usage;
  GArray *retry_delays;
  guint n_done;
  gchar *stop_reason;
  GError *error;
  gboolean cancel_on_text;
  gint64 cancelled_at;
  gint64 done_at;
  JsonObject *replay_state;
} Collector;

static Collector *
collector_new (void)
{
  Collector *c = g_new0 (Collector, 1);
  c->loop = g_main_loop_new (NULL, FALSE);
  c->text = g_string_new (NULL);
  c->thinking = g_string_new (NULL);
  c->order = g_string_new (NULL);
  c->calls = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  c->retry_delays = g_array_new (FALSE, FALSE, sizeof (guint));
  return c;
}

static void
collector_free (Collector *c)
{
  g_main_loop_unref (c->loop);
  g_string_free (c->text, TRUE);
  g_string_free (c->thinking, TRUE);
  g_string_free (c->order, TRUE);
  g_ptr_array_unref (c->calls);
  g_array_unref (c->retry_delays);
  g_free (c->stop_reason);
  g_clear_error (&c->error);
  g_clear_pointer (&c->replay_state, json_object_unref);
  g_free (c);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Collector, collector_free)

static void
on_text (const gchar *delta, gpointer user_data)
{
  Collector *c = user_data;
  g_string_append (c->text, delta);
  g_string_append_c (c->order, 'T');
  c->n_text++;
  if (c->cancel_on_text && c->cancelled_at == 0)
    {
      c->cancelled_at = g_get_monotonic_time ();
      cw_provider_stream_cancel (c->stream);
    }
}

static void
on_thinking (const gchar *delta, gpointer user_data)
{
  Collector *c = user_data;
  g_string_append (c->thinking, delta);
  g_string_append_c (c->order, 'K');
}

static void
on_tool_call (const gchar *id, const gchar *name, JsonObject *args, gpointer user_data)
{
  Collector *c = user_data;
  JsonObject *call = json_object_new ();

  json_object_set_string_member (call, "id", id);
  json_object_set_string_member (call, "name", name);
  json_object_set_object_member (call, "args", json_object_ref (args));
  g_ptr_array_add (c->calls, call);
  g_string_append_c (c->order, 'C');
}

static void
on_usage (gint64 input_tokens, gint64 output_tokens, gpointer user_data)
{
  Collector *c = user_data;
  c->input_tokens = input_tokens;
  c->output_tokens = output_tokens;
  c->n_usage++;
  g_string_append_c (c->order, 'U');
}

static void
on_retrying (guint attempt, guint delay_ms, const GError *error, gpointer user_data)
{
  Collector *c = user_data;
  g_assert_cmpuint (attempt, ==, c->retry_delays->len + 1);
  g_assert_nonnull (error);
  g_array_append_val (c->retry_delays, delay_ms);
  g_string_append_c (c->order, 'R');
}

static void
on_done (const gchar *stop_reason, const GError *error, gpointer user_data)
{
  Collector *c = user_data;
  c->n_done++;
  c->done_at = g_get_monotonic_time ();
  g_assert_true ((stop_reason == NULL) != (error == NULL));
  c->stop_reason = g_strdup (stop_reason);
  c->error = error != NULL ? g_error_copy (error) : NULL;
  g_string_append_c (c->order, 'D');
  g_main_loop_quit (c->loop);
}

static void
on_replay_state (JsonObject *state, gpointer user_data)
{
  Collector *c = user_data;
  g_assert_null (c->replay_state);
  c->replay_state = json_object_ref (state);
  g_string_append_c (c->order, 'S');
}

static const CwProviderCallbacks test_callbacks = {
  .replay_state = on_replay_state,
  .text = on_text,
  .thinking = on_thinking,
  .tool_call = on_tool_call,
  .usage = on_usage,
  .retrying = on_retrying,
  .done = on_done,
};

static gboolean
on_timeout (gpointer user_data)
{
  g_error ("the provider stream did not finish in time");
  return G_SOURCE_REMOVE;
}

static JsonArray *
user_messages (const gchar *text)
{
  JsonArray *messages = json_array_new ();
  JsonObject *user = json_object_new ();

  json_object_set_string_member (user, "role", "user");
  json_object_set_string_member (user, "content", text);
  json_array_add_object_element (messages, user);
  return messages;
}

static CwProviderRequest
request_for (const TestApi *api, FakeLlm *fake, JsonArray *messages)
{
  CwProviderRequest request = {
    .provider_id = api->provider_id,
    .base_url = fake->base_url,
    .api_key = TEST_KEY,
    .model = "test-model",
    .messages = messages,
    .retry_base_delay_ms = 50,
  };
  return request;
}

/* Runs @request to its done() and checks done() came exactly once. */
static Collector *
run_request (const CwProviderRequest *request, gboolean cancel_on_text)
{
  g_autoptr (SoupSession) session = soup_session_new ();
  Collector *c = collector_new ();
  guint timeout = g_timeout_add_seconds (30, on_timeout, NULL);

  c->cancel_on_text = cancel_on_text;
  c->stream = cw_provider_stream_start (session, request, &test_callbacks, c);
  g_assert_nonnull (c->stream);
  g_assert_cmpuint (c->n_done, ==, 0); /* never inside start() */
  g_main_loop_run (c->loop);
  g_source_remove (timeout);

  /* Let anything stray run: a second done() would be caught here. */
  for (guint i = 0; i < 20; i++)
    g_main_context_iteration (NULL, FALSE);
  g_assert_cmpuint (c->n_done, ==, 1);
  cw_provider_stream_free (c->stream);
  c->stream = NULL;
  return c;
}

static Collector *
run_script (const TestApi *api, const gchar *script, FakeLlm **out_fake)
{
  FakeLlm *fake = fake_llm_start (api->api, script);
  g_autoptr (JsonArray) messages = user_messages ("hi");
  CwProviderRequest request = request_for (api, fake, messages);
  Collector *c = run_request (&request, FALSE);

  *out_fake = fake;
  return c;
}

/* ---- streaming ------------------------------------------------------------------------- */

static void
test_text (gconstpointer data)
{
  const TestApi *api = data;
  g_autoptr (FakeLlm) fake = NULL;
  g_autoptr (Collector) c = run_script (
      api,
      "{\"responses\":[{\"events\":[{\"thinking\":\"Let me \"},{\"thinking\":\"think.\"},"
      "{\"text\":\"Hel\"},{\"delayMs\":30},{\"text\":\"lo, \"},{\"text\":\"wörld \\\"ok\\\"\\n\"}],"
      "\"usage\":{\"input\":12,\"output\":7}}]}",
      &fake);

  g_assert_no_error (c->error);
  g_assert_cmpstr (c->stop_reason, ==, "end_turn");
  g_assert_cmpstr (c->thinking->str, ==, "Let me think.");
  g_assert_cmpstr (c->text->str, ==, "Hello, wörld \"ok\"\n");
  g_assert_cmpuint (c->n_text, ==, 3); /* one callback per chunk, not one at the end */
  g_assert_cmpuint (c->n_usage, ==, 1);
  g_assert_cmpint (c->input_tokens, ==, 12);
  g_assert_cmpint (c->output_tokens, ==, 7);
  /* Anthropic signs its thinking: that adds replay_state() (S) just before usage. */
  g_assert_cmpstr (c->order->str, ==, g_str_equal (api->api, "anthropic") ? "KKTTTSUD" : "KKTTTUD");
}

static void
test_max_tokens (gconstpointer data)
{
  const TestApi *api = data;
  g_autoptr (FakeLlm) fake = NULL;
  g_autoptr (Collector) c = run_script (
      api, "{\"responses\":[{\"events\":[{\"text\":\"cut\"}],\"stopReason\":\"max_tokens\"}]}",
      &fake);

  g_assert_no_error (c->error);
  g_assert_cmpstr (c->stop_reason, ==, "max_tokens");
  g_assert_cmpstr (c->text->str, ==, "cut");
}

static void
test_tool_call (gconstpointer data)
{
  const TestApi *api = data;
  g_autoptr (FakeLlm) fake = NULL;
  g_autoptr (Collector) c = run_script (
      api,
      "{\"responses\":[{\"events\":[{\"text\":\"Reading.\"},"
      "{\"toolCall\":{\"id\":\"call_1\",\"name\":\"read_file\",\"args\":{\"path\":\"dir/a.txt\","
      "\"limit\":10,\"opts\":{\"lines\":[1,2,3],\"raw\":true}}}},"
      "{\"toolCall\":{\"id\":\"call_2\",\"name\":\"ls\",\"args\":{}}}]}]}",
      &fake);
  JsonObject *call;
  JsonObject *args;

  g_assert_no_error (c->error);
  g_assert_cmpstr (c->stop_reason, ==, "tool_use");
  g_assert_cmpstr (c->text->str, ==, "Reading.");
  g_assert_cmpuint (c->calls->len, ==, 2);

  call = g_ptr_array_index (c->calls, 0);
  /* Gemini has no call ids on the wire: one is made up, unique per call. */
  if (g_str_equal (api->api, "gemini"))
    g_assert_true (g_str_has_prefix (json_object_get_string_member (call, "id"), "call_"));
  else
    g_assert_cmpstr (json_object_get_string_member (call, "id"), ==, "call_1");
  g_assert_cmpstr (json_object_get_string_member (call, "name"), ==, "read_file");
  args = json_object_get_object_member (call, "args");
  g_assert_cmpstr (json_object_get_string_member (args, "path"), ==, "dir/a.txt");
  g_assert_cmpint (json_object_get_int_member (args, "limit"), ==, 10);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (
                        json_object_get_object_member (args, "opts"), "lines")),
                    ==, 3);

  call = g_ptr_array_index (c->calls, 1);
  g_assert_cmpstr (json_object_get_string_member (call, "name"), ==, "ls");
  g_assert_cmpuint (json_object_get_size (json_object_get_object_member (call, "args")), ==, 0);
  g_assert_cmpstr (json_object_get_string_member (call, "id"), !=,
                   json_object_get_string_member (g_ptr_array_index (c->calls, 0), "id"));
}

/* ---- errors and retries ---------------------------------------------------------------- */

static void
test_unauthorized (gconstpointer data)
{
  const TestApi *api = data;
  g_autoptr (FakeLlm) fake = NULL;
  g_autoptr (Collector) c = run_script (
      api,
      "{\"responses\":[{\"status\":401,\"body\":\"{\\\"error\\\":{\\\"message\\\":\\\"Incorrect "
      "API key provided: " TEST_KEY "\\\",\\\"type\\\":\\\"invalid_request_error\\\"}}\"}]}",
      &fake);
  g_autoptr (GPtrArray) requests = read_json_lines (fake->log_path);

  g_assert_error (c->error, CW_PROVIDER_ERROR, CW_PROVIDER_ERROR_INVALID_API_KEY);
  g_assert_cmpstr (cw_provider_error_code (c->error), ==, "INVALID_API_KEY");
  g_assert_null (strstr (c->error->message, TEST_KEY));
  g_assert_nonnull (strstr (c->error->message, "Incorrect API key"));
  g_assert_cmpuint (c->retry_delays->len, ==, 0);
  g_assert_cmpuint (requests->len, ==, 1);
}

static void
test_rate_limit_then_success (gconstpointer data)
{
  const TestApi *api = data;
  g_autoptr (FakeLlm) fake = NULL;
  gint64 start = g_get_monotonic_time ();
  g_autoptr (Collector) c
      = run_script (api,
                    "{\"responses\":[{\"status\":429,\"headers\":{\"Retry-After\":\"1\"}},"
                    "{\"events\":[{\"text\":\"after the wait\"}]}]}",
                    &fake);
  gint64 elapsed_ms = (g_get_monotonic_time () - start) / 1000;
  g_autoptr (GPtrArray) requests = read_json_lines (fake->log_path);

  g_assert_no_error (c->error);
  g_assert_cmpstr (c->text->str, ==, "after the wait");
  g_assert_cmpuint (c->retry_delays->len, ==, 1);
  /* The server's Retry-After wins over the 50 ms backoff of the request. */
  g_assert_cmpuint (g_array_index (c->retry_delays, guint, 0), ==, 1000);
  g_assert_cmpint (elapsed_ms, >=, 950);
  g_assert_cmpuint (requests->len, ==, 2);
  g_assert_true (g_str_has_prefix (c->order->str, "RT"));
}

static void
test_server_error_exhausts_retries (gconstpointer data)
{
  const TestApi *api = data;
  g_autoptr (FakeLlm) fake = fake_llm_start (api->api, "{\"responses\":[{\"status\":500}]}");
  g_autoptr (JsonArray) messages = user_messages ("hi");
  CwProviderRequest request = request_for (api, fake, messages);
  g_autoptr (Collector) c = NULL;
  g_autoptr (GPtrArray) requests = NULL;

  request.max_retries = 2;
  c = run_request (&request, FALSE);
  requests = read_json_lines (fake->log_path);

  g_assert_error (c->error, CW_PROVIDER_ERROR, CW_PROVIDER_ERROR_SERVER);
  g_assert_cmpstr (cw_provider_error_code (c->error), ==, "SERVER_ERROR");
  g_assert_cmpuint (c->retry_delays->len, ==, 2);
  /* Exponential: 50 ms then 100 ms, plus at most 10% jitter. */
  g_assert_cmpuint (g_array_index (c->retry_delays, guint, 0), >=, 50);
  g_assert_cmpuint (g_array_index (c->retry_delays, guint, 0), <, 100);
  g_assert_cmpuint (g_array_index (c->retry_delays, guint, 1), >=, 100);
  g_assert_cmpuint (requests->len, ==, 3);
  g_assert_cmpstr (c->order->str, ==, "RRD");
}

static void
test_broken_stream (gconstpointer data)
{
  const TestApi *api = data;
  g_autoptr (FakeLlm) fake = NULL;
  g_autoptr (Collector) c
      = run_script (api,
                    "{\"responses\":[{\"events\":[{\"text\":\"partial\"},{\"delayMs\":50},"
                    "{\"breakStream\":true},{\"text\":\"never\"}]}]}",
                    &fake);

  g_assert_error (c->error, CW_PROVIDER_ERROR, CW_PROVIDER_ERROR_STREAM);
  g_assert_cmpstr (cw_provider_error_code (c->error), ==, "STREAM_ERROR");
  g_assert_cmpstr (c->text->str, ==, "partial");
  g_assert_cmpuint (c->retry_delays->len, ==, 0);
}

/* An error inside a 200 stream before any output is retried like the HTTP status. */
static void
test_error_event_retried (void)
{
  g_autoptr (FakeLlm) fake = NULL;
  g_autoptr (Collector) c = run_script (
      &test_apis[1],
      "{\"responses\":[{\"events\":[{\"raw\":\"event: error\\ndata: {\\\"type\\\":\\\"error\\\","
      "\\\"error\\\":{\\\"type\\\":\\\"overloaded_error\\\",\\\"message\\\":\\\"Overloaded\\\"}}"
      "\\n\\n\"},{\"breakStream\":true}]},{\"events\":[{\"text\":\"ok\"}]}]}",
      &fake);
  g_autoptr (GPtrArray) requests = read_json_lines (fake->log_path);

  g_assert_no_error (c->error);
  g_assert_cmpstr (c->text->str, ==, "ok");
  g_assert_cmpuint (c->retry_delays->len, ==, 1);
  g_assert_cmpuint (requests->len, ==, 2);
}

/* After text went out, the same error is final: a retry would repeat the text. */
static void
test_error_event_after_text (void)
{
  g_autoptr (FakeLlm) fake = NULL;
  g_autoptr (Collector) c = run_script (
      &test_apis[0],
      "{\"responses\":[{\"events\":[{\"text\":\"half\"},{\"raw\":\"data: {\\\"error\\\":"
      "{\\\"message\\\":\\\"upstream overloaded\\\",\\\"code\\\":502}}\\n\\n\"}]},"
      "{\"events\":[{\"text\":\"never\"}]}]}",
      &fake);
  g_autoptr (GPtrArray) requests = read_json_lines (fake->log_path);

  g_assert_error (c->error, CW_PROVIDER_ERROR, CW_PROVIDER_ERROR_SERVER);
  g_assert_nonnull (strstr (c->error->message, "upstream overloaded"));
  g_assert_cmpstr (c->text->str, ==, "half");
  g_assert_cmpuint (c->retry_delays->len, ==, 0);
  g_assert_cmpuint (requests->len, ==, 1);
}

/* Arguments that are not JSON end the stream with a clear error, not a crash or {}. */
static void
test_invalid_tool_arguments (void)
{
  g_autoptr (FakeLlm) fake = NULL;
  g_autoptr (Collector) c = run_script (
      &test_apis[0],
      "{\"responses\":[{\"events\":[{\"raw\":\"data: {\\\"choices\\\":[{\\\"index\\\":0,"
      "\\\"delta\\\":{\\\"tool_calls\\\":[{\\\"index\\\":0,\\\"id\\\":\\\"c1\\\","
      "\\\"function\\\":{\\\"name\\\":\\\"ls\\\",\\\"arguments\\\":\\\"{\\\\\\\"pa\\\"}}]},"
      "\\\"finish_reason\\\":\\\"tool_calls\\\"}]}\\n\\n\"}]}]}",
      &fake);

  g_assert_error (c->error, CW_PROVIDER_ERROR, CW_PROVIDER_ERROR_STREAM);
  g_assert_nonnull (strstr (c->error->message, "ls"));
  g_assert_cmpuint (c->calls->len, ==, 0);
}

/* Every callback but done() may be left out. */
static void
test_only_done_callback (void)
{
  g_autoptr (FakeLlm) fake = fake_llm_start (
      "anthropic", "{\"responses\":[{\"status\":529},{\"events\":[{\"thinking\":\"t\"},"
                   "{\"text\":\"x\"},{\"toolCall\":{\"id\":\"c\",\"name\":\"ls\",\"args\":{}}}],"
                   "\"usage\":{\"input\":1,\"output\":1}}]}");
  g_autoptr (JsonArray) messages = user_messages ("hi");
  CwProviderRequest request = request_for (&test_apis[1], fake, messages);
  g_autoptr (SoupSession) session = soup_session_new ();
  g_autoptr (Collector) c = collector_new ();
  CwProviderCallbacks only_done = { .done = on_done };
  guint timeout = g_timeout_add_seconds (30, on_timeout, NULL);

  c->stream = cw_provider_stream_start (session, &request, &only_done, c);
  g_main_loop_run (c->loop);
  g_source_remove (timeout);
  g_assert_no_error (c->error);
  g_assert_cmpstr (c->stop_reason, ==, "tool_use");
  g_assert_cmpstr (c->order->str, ==, "D");
  cw_provider_stream_free (c->stream);
}

/* A 200 in plain JSON where a stream was asked for: its error is reported as such. */
static void
test_unstreamed_answer (void)
{
  g_autoptr (FakeLlm) fake = NULL;
  g_autoptr (Collector) c
      = run_script (&test_apis[0],
                    "{\"responses\":[{\"status\":200,\"body\":\"{\\\"error\\\":{\\\"message\\\":"
                    "\\\"model not loaded\\\",\\\"type\\\":\\\"invalid_request_error\\\"}}\"}]}",
                    &fake);
  g_autoptr (FakeLlm) fake2 = NULL;
  g_autoptr (Collector) c2
      = run_script (&test_apis[0], "{\"responses\":[{\"body\":\"{\\\"choices\\\":[]}\"}]}", &fake2);

  g_assert_error (c->error, CW_PROVIDER_ERROR, CW_PROVIDER_ERROR_BAD_REQUEST);
  g_assert_nonnull (strstr (c->error->message, "model not loaded"));
  g_assert_error (c2->error, CW_PROVIDER_ERROR, CW_PROVIDER_ERROR_STREAM);
}

/* The server must see the connection go away at once, not at the end of its script. */
static gboolean
conn_log_says (FakeLlm *fake, const gchar *event)
{
  g_autoptr (GPtrArray) lines = read_json_lines (fake->conn_log_path);

  for (guint i = 0; i < lines->len; i++)
    {
      if (g_strcmp0 (json_object_get_string_member (line_object (lines, i), "event"), event) == 0)
        return TRUE;
    }
  return FALSE;
}

static void
test_cancel (gconstpointer data)
{
  const TestApi *api = data;
  g_autoptr (FakeLlm) fake = fake_llm_start (
      api->api, "{\"responses\":[{\"events\":[{\"text\":\"first\"},{\"delayMs\":20000},"
                "{\"text\":\"never\"}]}]}");
  g_autoptr (JsonArray) messages = user_messages ("hi");
  CwProviderRequest request = request_for (api, fake, messages);
  g_autoptr (Collector) c = run_request (&request, TRUE);
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  g_assert_error (c->error, CW_PROVIDER_ERROR, CW_PROVIDER_ERROR_CANCELLED);
  g_assert_cmpstr (cw_provider_error_code (c->error), ==, "CANCELLED");
  g_assert_cmpstr (c->text->str, ==, "first");
  g_assert_cmpstr (c->order->str, ==, "TD");
  /* "Promptly": the 20 s pause of the server must not be waited out. */
  g_assert_cmpint (c->done_at - c->cancelled_at, <, 2 * G_USEC_PER_SEC);

  while (!conn_log_says (fake, "client-closed"))
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (20000);
    }
  g_assert_false (conn_log_says (fake, "completed"));
}

static void
test_cancel_while_waiting_to_retry (void)
{
  g_autoptr (FakeLlm) fake = fake_llm_start (
      "openai", "{\"responses\":[{\"status\":503,\"headers\":{\"Retry-After\":\"30\"}}]}");
  g_autoptr (JsonArray) messages = user_messages ("hi");
  CwProviderRequest request = request_for (&test_apis[0], fake, messages);
  g_autoptr (SoupSession) session = soup_session_new ();
  g_autoptr (Collector) c = collector_new ();
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  c->stream = cw_provider_stream_start (session, &request, &test_callbacks, c);
  while (c->retry_delays->len == 0)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, TRUE);
    }
  g_assert_cmpuint (g_array_index (c->retry_delays, guint, 0), ==, 30000);
  cw_provider_stream_cancel (c->stream);
  g_assert_cmpuint (c->n_done, ==, 0); /* never inside cancel() */
  while (c->n_done == 0)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, TRUE);
    }
  g_assert_error (c->error, CW_PROVIDER_ERROR, CW_PROVIDER_ERROR_CANCELLED);
  cw_provider_stream_free (c->stream);
}

/* Freeing before done() cancels quietly: no callback may run on freed user data. */
static void
test_free_before_done (void)
{
  g_autoptr (FakeLlm) fake = fake_llm_start (
      "anthropic", "{\"responses\":[{\"events\":[{\"delayMs\":300},{\"text\":\"late\"}]}]}");
  g_autoptr (JsonArray) messages = user_messages ("hi");
  CwProviderRequest request = request_for (&test_apis[1], fake, messages);
  g_autoptr (SoupSession) session = soup_session_new ();
  g_autoptr (Collector) c = collector_new ();
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  gint64 until;

  c->stream = cw_provider_stream_start (session, &request, &test_callbacks, c);
  /* Free once the server has the request and sits in its pause. */
  while (count_lines (fake->log_path) == 0)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, FALSE);
      g_usleep (5000);
    }
  cw_provider_stream_free (c->stream);
  until = g_get_monotonic_time () + G_USEC_PER_SEC;
  while (g_get_monotonic_time () < until)
    {
      g_main_context_iteration (NULL, FALSE);
      g_usleep (5000);
    }
  g_assert_cmpuint (c->n_done, ==, 0);
  g_assert_cmpstr (c->text->str, ==, "");
}

/* A provider that goes silent mid-stream must not hold the turn forever. */
static void
test_stall (void)
{
  g_autoptr (FakeLlm) fake = fake_llm_start (
      "gemini", "{\"responses\":[{\"events\":[{\"text\":\"first\"},{\"delayMs\":20000},"
                "{\"text\":\"never\"}]}]}");
  g_autoptr (JsonArray) messages = user_messages ("hi");
  CwProviderRequest request = request_for (&test_apis[2], fake, messages);
  g_autoptr (Collector) c = NULL;
  gint64 start = g_get_monotonic_time ();

  request.idle_timeout_ms = 300;
  c = run_request (&request, FALSE);
  g_assert_error (c->error, CW_PROVIDER_ERROR, CW_PROVIDER_ERROR_STREAM);
  g_assert_cmpstr (c->text->str, ==, "first");
  g_assert_cmpint (c->done_at - start, <, 10 * G_USEC_PER_SEC);
}

/* The stall timer must not run while waiting to retry. */
static void
test_retry_longer_than_idle_timeout (void)
{
  g_autoptr (FakeLlm) fake = fake_llm_start (
      "openai", "{\"responses\":[{\"status\":503,\"headers\":{\"Retry-After\":\"1\"}},"
                "{\"events\":[{\"text\":\"ok\"}]}]}");
  g_autoptr (JsonArray) messages = user_messages ("hi");
  CwProviderRequest request = request_for (&test_apis[0], fake, messages);
  g_autoptr (Collector) c = NULL;

  request.idle_timeout_ms = 400;
  c = run_request (&request, FALSE);
  g_assert_no_error (c->error);
  g_assert_cmpstr (c->text->str, ==, "ok");
  g_assert_cmpuint (c->retry_delays->len, ==, 1);
}

static void
test_missing_key (void)
{
  g_autoptr (JsonArray) messages = user_messages ("hi");
  CwProviderRequest request = {
    .provider_id = "openai",
    .base_url = "http://127.0.0.1:9",
    .model = "m",
    .messages = messages,
  };
  g_autoptr (Collector) c = run_request (&request, FALSE);

  g_assert_error (c->error, CW_PROVIDER_ERROR, CW_PROVIDER_ERROR_INVALID_API_KEY);
}

static void
test_unknown_provider (void)
{
  g_autoptr (JsonArray) messages = user_messages ("hi");
  CwProviderRequest request = { .provider_id = "nope", .api_key = TEST_KEY, .messages = messages };
  g_autoptr (Collector) c = run_request (&request, FALSE);

  g_assert_error (c->error, CW_PROVIDER_ERROR, CW_PROVIDER_ERROR_BAD_REQUEST);
}

/* A loopback port that was just free: connecting to it is refused. */
static guint16
closed_port (void)
{
  g_autoptr (GSocketListener) listener = g_socket_listener_new ();
  g_autoptr (GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr (GSocketAddress) bound = NULL;
  g_autoptr (GError) error = NULL;

  g_socket_listener_add_address (listener, address, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP,
                                 NULL, &bound, &error);
  g_assert_no_error (error);
  g_socket_listener_close (listener);
  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
}

static void
test_network_error (void)
{
  g_autoptr (JsonArray) messages = user_messages ("hi");
  g_autofree gchar *base_url = g_strdup_printf ("http://127.0.0.1:%u", closed_port ());
  g_autofree gchar *expected = NULL;
  CwProviderRequest request = {
    .provider_id = "lmstudio",
    .base_url = base_url,
    .model = "m",
    .messages = messages,
  };
  g_autoptr (Collector) c = run_request (&request, FALSE);

  g_assert_error (c->error, CW_PROVIDER_ERROR, CW_PROVIDER_ERROR_NETWORK);
  g_assert_cmpuint (c->retry_delays->len, ==, 0);
  /* The message names the provider and where it was looked for. */
  expected = g_strdup_printf ("cannot reach lmstudio at %s/", base_url);
  if (!g_str_has_prefix (c->error->message, expected))
    g_error ("expected '%s...' in: %s", expected, c->error->message);
}

/* lmstudio needs no key, and then sends no Authorization header at all. */
static void
test_lmstudio_without_key (void)
{
  g_autoptr (FakeLlm) fake
      = fake_llm_start ("openai", "{\"responses\":[{\"events\":[{\"text\":\"local\"}]}]}");
  g_autoptr (JsonArray) messages = user_messages ("hi");
  CwProviderRequest request = {
    .provider_id = "lmstudio",
    .base_url = fake->base_url,
    .model = "local-model",
    .messages = messages,
  };
  g_autoptr (Collector) c = run_request (&request, FALSE);
  g_autoptr (GPtrArray) requests = read_json_lines (fake->log_path);
  JsonObject *headers;

  g_assert_no_error (c->error);
  g_assert_cmpstr (c->text->str, ==, "local");
  headers = json_object_get_object_member (line_object (requests, 0), "headers");
  g_assert_false (json_object_has_member (headers, "authorization"));
}

/* ---- what each API receives ------------------------------------------------------------- */

static JsonArray *
tool_loop_messages (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) node = json_from_string (
      "[{\"role\":\"user\",\"content\":\"Read a.txt\"},"
      "{\"role\":\"assistant\",\"content\":\"Sure.\",\"toolCalls\":[{\"id\":\"call_1\","
      "\"name\":\"read_file\",\"args\":{\"path\":\"a.txt\"}}]},"
      "{\"role\":\"tool\",\"toolCallId\":\"call_1\",\"toolName\":\"read_file\","
      "\"content\":\"hello\"}]",
      &error);
  g_assert_no_error (error);
  return json_array_ref (json_node_get_array (node));
}

static JsonArray *
test_tools (void)
{
  g_autoptr (JsonNode) node = json_from_string (
      "[{\"name\":\"read_file\",\"description\":\"Read a file\",\"parameters\":{\"type\":"
      "\"object\",\"properties\":{\"path\":{\"type\":\"string\"}},\"required\":[\"path\"]}}]",
      NULL);
  return json_array_ref (json_node_get_array (node));
}

/* Sends the tool-loop history and returns the one logged request. */
static JsonObject *
capture_request (const TestApi *api, const gchar *model, gint64 max_tokens, GPtrArray **out_lines)
{
  g_autoptr (FakeLlm) fake
      = fake_llm_start (api->api, "{\"responses\":[{\"events\":[{\"text\":\"ok\"}]}]}");
  g_autoptr (JsonArray) messages = tool_loop_messages ();
  g_autoptr (JsonArray) tools = test_tools ();
  CwProviderRequest request = request_for (api, fake, messages);
  g_autoptr (Collector) c = NULL;

  if (model != NULL)
    request.model = model;
  request.system_prompt = "You are helpful.";
  request.tools = tools;
  request.max_tokens = max_tokens;
  request.thinking = TRUE;
  c = run_request (&request, FALSE);
  g_assert_no_error (c->error);
  *out_lines = read_json_lines (fake->log_path);
  g_assert_cmpuint ((*out_lines)->len, ==, 1);
  return line_object (*out_lines, 0);
}

static JsonObject *
member_object (JsonArray *array, guint i)
{
  g_assert_cmpuint (i, <, json_array_get_length (array));
  return json_array_get_object_element (array, i);
}

static void
test_request_openai (void)
{
  g_autoptr (GPtrArray) lines = NULL;
  JsonObject *req = capture_request (&test_apis[0], "gpt-5.2", 1000, &lines);
  JsonObject *headers = json_object_get_object_member (req, "headers");
  JsonObject *body = json_object_get_object_member (req, "body");
  JsonArray *messages = json_object_get_array_member (body, "messages");
  JsonObject *m;
  JsonObject *call;
  JsonObject *tool;
  g_autoptr (JsonNode) args = NULL;

  g_assert_cmpstr (json_object_get_string_member (req, "path"), ==, "/v1/chat/completions");
  g_assert_cmpstr (json_object_get_string_member (headers, "authorization"), ==,
                   "Bearer " TEST_KEY);
  g_assert_cmpstr (json_object_get_string_member (body, "model"), ==, "gpt-5.2");
  g_assert_true (json_object_get_boolean_member (body, "stream"));
  g_assert_cmpint (json_object_get_int_member (body, "max_completion_tokens"), ==, 1000);
  g_assert_cmpstr (json_object_get_string_member (body, "reasoning_effort"), ==, "medium");

  g_assert_cmpuint (json_array_get_length (messages), ==, 4);
  m = member_object (messages, 0);
  g_assert_cmpstr (json_object_get_string_member (m, "role"), ==, "system");
  g_assert_cmpstr (json_object_get_string_member (m, "content"), ==, "You are helpful.");
  m = member_object (messages, 1);
  g_assert_cmpstr (json_object_get_string_member (m, "role"), ==, "user");
  g_assert_cmpstr (json_object_get_string_member (m, "content"), ==, "Read a.txt");
  m = member_object (messages, 2);
  g_assert_cmpstr (json_object_get_string_member (m, "role"), ==, "assistant");
  call = member_object (json_object_get_array_member (m, "tool_calls"), 0);
  g_assert_cmpstr (json_object_get_string_member (call, "id"), ==, "call_1");
  g_assert_cmpstr (json_object_get_string_member (call, "type"), ==, "function");
  call = json_object_get_object_member (call, "function");
  g_assert_cmpstr (json_object_get_string_member (call, "name"), ==, "read_file");
  /* OpenAI carries arguments as a JSON text, not an object. */
  args = json_from_string (json_object_get_string_member (call, "arguments"), NULL);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (args), "path"), ==,
                   "a.txt");
  m = member_object (messages, 3);
  g_assert_cmpstr (json_object_get_string_member (m, "role"), ==, "tool");
  g_assert_cmpstr (json_object_get_string_member (m, "tool_call_id"), ==, "call_1");
  g_assert_cmpstr (json_object_get_string_member (m, "content"), ==, "hello");

  tool = member_object (json_object_get_array_member (body, "tools"), 0);
  g_assert_cmpstr (json_object_get_string_member (tool, "type"), ==, "function");
  tool = json_object_get_object_member (tool, "function");
  g_assert_cmpstr (json_object_get_string_member (tool, "name"), ==, "read_file");
  g_assert_cmpstr (
      json_object_get_string_member (json_object_get_object_member (tool, "parameters"), "type"),
      ==, "object");
}

static void
test_request_anthropic (void)
{
  g_autoptr (GPtrArray) lines = NULL;
  JsonObject *req = capture_request (&test_apis[1], NULL, 1000, &lines);
  JsonObject *headers = json_object_get_object_member (req, "headers");
  JsonObject *body = json_object_get_object_member (req, "body");
  JsonArray *messages = json_object_get_array_member (body, "messages");
  JsonArray *content;
  JsonObject *block;
  JsonObject *tool;

  g_assert_cmpstr (json_object_get_string_member (req, "path"), ==, "/v1/messages");
  g_assert_cmpstr (json_object_get_string_member (headers, "x-api-key"), ==, TEST_KEY);
  g_assert_cmpstr (json_object_get_string_member (headers, "anthropic-version"), ==, "2023-06-01");
  g_assert_false (json_object_has_member (headers, "authorization"));
  g_assert_cmpstr (json_object_get_string_member (body, "model"), ==, "test-model");
  g_assert_cmpstr (json_object_get_string_member (body, "system"), ==, "You are helpful.");
  g_assert_cmpint (json_object_get_int_member (body, "max_tokens"), ==, 1000);
  g_assert_true (json_object_get_boolean_member (body, "stream"));
  /* Mid tool loop the signed thinking blocks are not available: thinking stays off. */
  g_assert_false (json_object_has_member (body, "thinking"));

  g_assert_cmpuint (json_array_get_length (messages), ==, 3);
  g_assert_cmpstr (json_object_get_string_member (member_object (messages, 0), "role"), ==, "user");
  content = json_object_get_array_member (member_object (messages, 1), "content");
  g_assert_cmpstr (json_object_get_string_member (member_object (messages, 1), "role"), ==,
                   "assistant");
  g_assert_cmpstr (json_object_get_string_member (member_object (content, 0), "text"), ==, "Sure.");
  block = member_object (content, 1);
  g_assert_cmpstr (json_object_get_string_member (block, "type"), ==, "tool_use");
  g_assert_cmpstr (json_object_get_string_member (block, "id"), ==, "call_1");
  g_assert_cmpstr (json_object_get_string_member (block, "name"), ==, "read_file");
  g_assert_cmpstr (
      json_object_get_string_member (json_object_get_object_member (block, "input"), "path"), ==,
      "a.txt");
  content = json_object_get_array_member (member_object (messages, 2), "content");
  g_assert_cmpstr (json_object_get_string_member (member_object (messages, 2), "role"), ==, "user");
  block = member_object (content, 0);
  g_assert_cmpstr (json_object_get_string_member (block, "type"), ==, "tool_result");
  g_assert_cmpstr (json_object_get_string_member (block, "tool_use_id"), ==, "call_1");
  g_assert_cmpstr (json_object_get_string_member (block, "content"), ==, "hello");

  tool = member_object (json_object_get_array_member (body, "tools"), 0);
  g_assert_cmpstr (json_object_get_string_member (tool, "name"), ==, "read_file");
  g_assert_cmpstr (
      json_object_get_string_member (json_object_get_object_member (tool, "input_schema"), "type"),
      ==, "object");
}

/* At the start of a turn (last message from the user) thinking is asked for. */
static void
test_request_anthropic_thinking (void)
{
  g_autoptr (FakeLlm) fake
      = fake_llm_start ("anthropic", "{\"responses\":[{\"events\":[{\"text\":\"ok\"}]}]}");
  g_autoptr (JsonArray) messages = user_messages ("think hard");
  CwProviderRequest request = request_for (&test_apis[1], fake, messages);
  g_autoptr (Collector) c = NULL;
  g_autoptr (GPtrArray) lines = NULL;
  JsonObject *body;
  JsonObject *thinking;

  request.thinking = TRUE;
  request.max_tokens = 16000;
  c = run_request (&request, FALSE);
  lines = read_json_lines (fake->log_path);
  body = json_object_get_object_member (line_object (lines, 0), "body");
  thinking = json_object_get_object_member (body, "thinking");
  g_assert_nonnull (thinking);
  g_assert_cmpstr (json_object_get_string_member (thinking, "type"), ==, "enabled");
  g_assert_cmpint (json_object_get_int_member (thinking, "budget_tokens"), <,
                   json_object_get_int_member (body, "max_tokens"));
  g_assert_cmpint (json_object_get_int_member (thinking, "budget_tokens"), >=, 1024);
}

static void
test_request_gemini (void)
{
  g_autoptr (GPtrArray) lines = NULL;
  JsonObject *req = capture_request (&test_apis[2], NULL, 1000, &lines);
  JsonObject *headers = json_object_get_object_member (req, "headers");
  JsonObject *body = json_object_get_object_member (req, "body");
  JsonArray *contents = json_object_get_array_member (body, "contents");
  JsonObject *config = json_object_get_object_member (body, "generationConfig");
  JsonArray *parts;
  JsonObject *part;
  JsonObject *decl;

  g_assert_cmpstr (json_object_get_string_member (req, "path"), ==,
                   "/v1beta/models/test-model:streamGenerateContent");
  g_assert_cmpstr (json_object_get_string_member (req, "query"), ==, "alt=sse");
  g_assert_cmpstr (json_object_get_string_member (headers, "x-goog-api-key"), ==, TEST_KEY);
  g_assert_null (strstr (json_object_get_string_member (req, "query"), TEST_KEY));
  parts = json_object_get_array_member (json_object_get_object_member (body, "systemInstruction"),
                                        "parts");
  g_assert_cmpstr (json_object_get_string_member (member_object (parts, 0), "text"), ==,
                   "You are helpful.");
  g_assert_cmpint (json_object_get_int_member (config, "maxOutputTokens"), ==, 1000);
  g_assert_true (json_object_get_boolean_member (
      json_object_get_object_member (config, "thinkingConfig"), "includeThoughts"));

  g_assert_cmpuint (json_array_get_length (contents), ==, 3);
  g_assert_cmpstr (json_object_get_string_member (member_object (contents, 0), "role"), ==, "user");
  g_assert_cmpstr (json_object_get_string_member (member_object (contents, 1), "role"), ==,
                   "model");
  parts = json_object_get_array_member (member_object (contents, 1), "parts");
  g_assert_cmpstr (json_object_get_string_member (member_object (parts, 0), "text"), ==, "Sure.");
  part = json_object_get_object_member (member_object (parts, 1), "functionCall");
  g_assert_cmpstr (json_object_get_string_member (part, "name"), ==, "read_file");
  g_assert_cmpstr (
      json_object_get_string_member (json_object_get_object_member (part, "args"), "path"), ==,
      "a.txt");
  parts = json_object_get_array_member (member_object (contents, 2), "parts");
  part = json_object_get_object_member (member_object (parts, 0), "functionResponse");
  g_assert_cmpstr (json_object_get_string_member (part, "name"), ==, "read_file");
  g_assert_cmpstr (
      json_object_get_string_member (json_object_get_object_member (part, "response"), "output"),
      ==, "hello");

  decl = member_object (
      json_object_get_array_member (member_object (json_object_get_array_member (body, "tools"), 0),
                                    "functionDeclarations"),
      0);
  g_assert_cmpstr (json_object_get_string_member (decl, "name"), ==, "read_file");
}

static void
test_request_glm_cap (void)
{
  static const TestApi glm = { "openai", "glm" };
  g_autoptr (GPtrArray) lines = NULL;
  JsonObject *req = capture_request (&glm, NULL, 500000, &lines);
  JsonObject *body = json_object_get_object_member (req, "body");

  g_assert_cmpint (json_object_get_int_member (body, "max_tokens"), ==, 131072);
  g_assert_false (json_object_has_member (body, "max_completion_tokens"));
}

/* Models that cannot reason get no reasoning options: the APIs answer those with a 400. */
static void
test_request_no_thinking_for_older_models (void)
{
  g_autoptr (GPtrArray) openai = NULL;
  g_autoptr (GPtrArray) gemini = NULL;
  JsonObject *body;

  body = json_object_get_object_member (capture_request (&test_apis[0], "gpt-4o", 0, &openai),
                                        "body");
  g_assert_false (json_object_has_member (body, "reasoning_effort"));
  g_assert_false (json_object_has_member (body, "max_completion_tokens"));
  body = json_object_get_object_member (
      capture_request (&test_apis[2], "gemini-2.0-flash", 0, &gemini), "body");
  g_assert_false (json_object_has_member (body, "generationConfig"));
}

/* A reply stopped before any output leaves an empty assistant message in the history;
 * Anthropic and Gemini refuse empty turns, so it is left out (and neighbours merged). */
static void
test_request_empty_assistant (void)
{
  for (guint i = 1; i < G_N_ELEMENTS (test_apis); i++)
    {
      g_autoptr (FakeLlm) fake
          = fake_llm_start (test_apis[i].api, "{\"responses\":[{\"events\":[{\"text\":\"ok\"}]}]}");
      g_autoptr (JsonNode) node = json_from_string (
          "[{\"role\":\"user\",\"content\":\"one\"},{\"role\":\"assistant\",\"content\":\"\"},"
          "{\"role\":\"user\",\"content\":\"two\"}]",
          NULL);
      CwProviderRequest request = request_for (&test_apis[i], fake, json_node_get_array (node));
      g_autoptr (Collector) c = run_request (&request, FALSE);
      g_autoptr (GPtrArray) lines = read_json_lines (fake->log_path);
      JsonObject *body = json_object_get_object_member (line_object (lines, 0), "body");
      JsonArray *turns = json_object_get_array_member (body, i == 1 ? "messages" : "contents");

      g_assert_no_error (c->error);
      g_assert_cmpuint (json_array_get_length (turns), ==, 1);
      g_assert_cmpuint (json_array_get_length (json_object_get_array_member (
                            member_object (turns, 0), i == 1 ? "content" : "parts")),
                        ==, 2);
    }
}

/* A model given as a resource name is not prefixed a second time. */
static void
test_request_gemini_model_names (void)
{
  g_autoptr (GPtrArray) lines = NULL;
  JsonObject *req = capture_request (&test_apis[2], "models/gemini-2.5-pro", 0, &lines);

  g_assert_cmpstr (json_object_get_string_member (req, "path"), ==,
                   "/v1beta/models/gemini-2.5-pro:streamGenerateContent");
}

/* deepseek gets the reasoning of a tool-calling assistant message back; openai does not. */
static void
test_request_reasoning_back (void)
{
  static const TestApi deepseek = { "openai", "deepseek" };
  g_autoptr (FakeLlm) fake
      = fake_llm_start ("openai", "{\"responses\":[{\"events\":[{\"text\":\"ok\"}]}]}");
  g_autoptr (JsonArray) messages = tool_loop_messages ();
  g_autoptr (GPtrArray) lines = NULL;
  const TestApi *apis[] = { &deepseek, &test_apis[0] };

  json_object_set_string_member (json_array_get_object_element (messages, 1), "thinking",
                                 "I should read it.");
  for (guint i = 0; i < G_N_ELEMENTS (apis); i++)
    {
      CwProviderRequest request = request_for (apis[i], fake, messages);
      g_autoptr (Collector) c = run_request (&request, FALSE);
      g_assert_no_error (c->error);
    }
  lines = read_json_lines (fake->log_path);
  g_assert_cmpuint (lines->len, ==, 2);
  for (guint i = 0; i < 2; i++)
    {
      JsonObject *body = json_object_get_object_member (line_object (lines, i), "body");
      JsonObject *assistant = member_object (json_object_get_array_member (body, "messages"), 1);
      g_assert_cmpstr (json_object_get_string_member (assistant, "role"), ==, "assistant");
      if (i == 0)
        g_assert_cmpstr (json_object_get_string_member (assistant, "reasoning_content"), ==,
                         "I should read it.");
      else
        g_assert_false (json_object_has_member (assistant, "reasoning_content"));
    }
}

/* What a thinking model signs comes back through replay_state() and, put back in the
 * history, is sent again: Anthropic then keeps thinking on inside the tool loop, Gemini gets
 * the real signature instead of the placeholder. */
static void
replay_round_trip (const TestApi *api)
{
  g_autoptr (FakeLlm) fake = fake_llm_start (
      api->api, "{\"responses\":[{\"events\":[{\"thinking\":\"hmm\"},{\"toolCall\":{\"id\":"
                "\"call_1\",\"name\":\"ls\",\"args\":{}}}]},{\"events\":[{\"text\":\"done\"}]}]}");
  g_autoptr (JsonArray) messages = user_messages ("list");
  CwProviderRequest request = request_for (api, fake, messages);
  g_autoptr (Collector) first = NULL;
  g_autoptr (Collector) second = NULL;
  g_autoptr (GPtrArray) lines = NULL;
  JsonObject *call;
  JsonObject *assistant = json_object_new ();
  JsonObject *tool = json_object_new ();
  JsonArray *calls = json_array_new ();
  JsonObject *body;

  request.thinking = TRUE;
  request.max_tokens = 4096;
  first = run_request (&request, FALSE);
  g_assert_no_error (first->error);
  g_assert_nonnull (first->replay_state);
  g_assert_nonnull (strstr (first->order->str, "CS")); /* after the call, before done */
  call = g_ptr_array_index (first->calls, 0);

  /* The history as the agent would store it. */
  json_object_set_string_member (assistant, "role", "assistant");
  json_object_set_string_member (assistant, "content", "");
  json_array_add_object_element (calls, json_object_ref (call));
  json_object_set_array_member (assistant, "toolCalls", calls);
  json_object_set_object_member (assistant, "replayState", json_object_ref (first->replay_state));
  json_array_add_object_element (messages, assistant);
  json_object_set_string_member (tool, "role", "tool");
  json_object_set_string_member (tool, "toolCallId", json_object_get_string_member (call, "id"));
  json_object_set_string_member (tool, "toolName", "ls");
  json_object_set_string_member (tool, "content", "a.txt");
  json_array_add_object_element (messages, tool);
  second = run_request (&request, FALSE);
  g_assert_no_error (second->error);

  lines = read_json_lines (fake->log_path);
  body = json_object_get_object_member (line_object (lines, 1), "body");
  if (g_str_equal (api->api, "anthropic"))
    {
      JsonArray *content = json_object_get_array_member (
          member_object (json_object_get_array_member (body, "messages"), 1), "content");
      JsonObject *block = member_object (content, 0);

      g_assert_nonnull (json_object_get_object_member (body, "thinking"));
      g_assert_cmpstr (json_object_get_string_member (block, "type"), ==, "thinking");
      g_assert_cmpstr (json_object_get_string_member (block, "thinking"), ==, "hmm");
      g_assert_cmpstr (json_object_get_string_member (block, "signature"), ==, "fakesig");
      g_assert_cmpstr (json_object_get_string_member (member_object (content, 1), "type"), ==,
                       "tool_use");
    }
  else
    {
      JsonArray *parts = json_object_get_array_member (
          member_object (json_object_get_array_member (body, "contents"), 1), "parts");
      g_assert_cmpstr (json_object_get_string_member (member_object (parts, 0), "thoughtSignature"),
                       ==, "ZmFrZQ==");
    }
}

static void
test_replay_anthropic (void)
{
  replay_round_trip (&test_apis[1]);
}

static void
test_replay_gemini (void)
{
  replay_round_trip (&test_apis[2]);
}

/* ---- units ------------------------------------------------------------------------------ */

static GPtrArray *
sse_feed (const gchar *input, gsize step, gboolean *out_partial)
{
  g_autoptr (CwSseParser) parser = cw_sse_parser_new ();
  GPtrArray *events = g_ptr_array_new_with_free_func ((GDestroyNotify) cw_sse_event_free);
  gsize len = strlen (input);

  for (gsize i = 0; i < len; i += step)
    {
      g_autoptr (GError) error = NULL;
      CwSseEvent *event;
      g_assert_true (cw_sse_parser_push (parser, input + i, MIN (step, len - i), &error));
      g_assert_no_error (error);
      while ((event = cw_sse_parser_next (parser)) != NULL)
        g_ptr_array_add (events, event);
    }
  *out_partial = cw_sse_parser_has_partial (parser);
  return events;
}

static void
test_sse_parser (void)
{
  const gchar *input = "\xEF\xBB\xBF: keep-alive\r\n"
                       "event: delta\r\n"
                       "data: one\r\n"
                       "data:two\r\n"
                       "\r\n"
                       "\r\n" /* a blank line without data dispatches nothing */
                       "data: x\n\n"
                       "data: y\r\r"
                       "id: 7\n"
                       "data:  z\n"
                       "\n"
                       "event: ignored-without-data\n\n"
                       "data: partial";

  /* Every cut position must give the same events: whole, 1, 2, 3 and 7 bytes at a time. */
  static const gsize steps[] = { 4096, 1, 2, 3, 7 };
  for (guint s = 0; s < G_N_ELEMENTS (steps); s++)
    {
      gboolean partial = FALSE;
      g_autoptr (GPtrArray) events = sse_feed (input, steps[s], &partial);
      CwSseEvent *e;

      g_assert_cmpuint (events->len, ==, 4);
      e = g_ptr_array_index (events, 0);
      g_assert_cmpstr (e->type, ==, "delta");
      g_assert_cmpstr (e->data, ==, "one\ntwo");
      e = g_ptr_array_index (events, 1);
      g_assert_cmpstr (e->type, ==, "message");
      g_assert_cmpstr (e->data, ==, "x");
      e = g_ptr_array_index (events, 2);
      g_assert_cmpstr (e->data, ==, "y");
      g_assert_null (e->id);
      e = g_ptr_array_index (events, 3);
      g_assert_cmpstr (e->data, ==, " z"); /* only one space is dropped */
      g_assert_cmpstr (e->id, ==, "7");
      g_assert_true (partial);
    }
}

/* A CR at the end of one read and the LF at the start of the next are one line end. */
static void
test_sse_parser_split_crlf (void)
{
  g_autoptr (CwSseParser) parser = cw_sse_parser_new ();
  g_autoptr (CwSseEvent) event = NULL;

  g_assert_true (cw_sse_parser_push (parser, "data: a\r", 8, NULL));
  g_assert_null (cw_sse_parser_next (parser));
  g_assert_true (cw_sse_parser_push (parser, "\ndata: b\r", 9, NULL));
  g_assert_null (cw_sse_parser_next (parser));
  g_assert_true (cw_sse_parser_push (parser, "\n\r", 2, NULL));
  event = cw_sse_parser_next (parser);
  g_assert_nonnull (event);
  g_assert_cmpstr (event->data, ==, "a\nb");
  g_assert_true (cw_sse_parser_push (parser, "\n", 1, NULL));
  g_assert_null (cw_sse_parser_next (parser));
  g_assert_false (cw_sse_parser_has_partial (parser));
}

static void
assert_http_error (guint status, const gchar *body, gint code)
{
  g_autoptr (GBytes) bytes = body != NULL ? g_bytes_new (body, strlen (body)) : NULL;
  g_autoptr (GError) error = cw_provider_error_from_http (status, bytes, TEST_KEY);

  g_assert_error (error, CW_PROVIDER_ERROR, code);
  g_assert_null (strstr (error->message, TEST_KEY));
}

static void
test_error_mapping (void)
{
  g_autoptr (GBytes) html = g_bytes_new_static ("<html>Bad gateway</html>", 24);
  g_autoptr (GError) error = NULL;

  assert_http_error (401, NULL, CW_PROVIDER_ERROR_INVALID_API_KEY);
  assert_http_error (403, "{\"error\":{\"message\":\"key " TEST_KEY " revoked\"}}",
                     CW_PROVIDER_ERROR_INVALID_API_KEY);
  assert_http_error (429, NULL, CW_PROVIDER_ERROR_RATE_LIMIT);
  assert_http_error (500, NULL, CW_PROVIDER_ERROR_SERVER);
  assert_http_error (529, "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\"}}",
                     CW_PROVIDER_ERROR_SERVER);
  assert_http_error (404, "{\"error\":{\"message\":\"model not found\"}}",
                     CW_PROVIDER_ERROR_BAD_REQUEST);
  assert_http_error (400, "{\"error\":{\"message\":\"bad tools\"}}", CW_PROVIDER_ERROR_BAD_REQUEST);
  assert_http_error (400,
                     "{\"error\":{\"message\":\"This model's maximum context length is 128000 "
                     "tokens.\",\"code\":\"context_length_exceeded\"}}",
                     CW_PROVIDER_ERROR_CONTEXT_LENGTH);
  assert_http_error (400,
                     "{\"type\":\"error\",\"error\":{\"type\":\"invalid_request_error\","
                     "\"message\":\"prompt is too long: 210000 tokens > 200000 maximum\"}}",
                     CW_PROVIDER_ERROR_CONTEXT_LENGTH);
  assert_http_error (400,
                     "[{\"error\":{\"code\":400,\"message\":\"The input token count (1200000) "
                     "exceeds the maximum number of tokens allowed\",\"status\":"
                     "\"INVALID_ARGUMENT\"}}]",
                     CW_PROVIDER_ERROR_CONTEXT_LENGTH);

  error = cw_provider_error_from_http (502, html, NULL);
  g_assert_error (error, CW_PROVIDER_ERROR, CW_PROVIDER_ERROR_SERVER);
  /* The domain as logs and GError users see it. */
  g_assert_cmpstr (g_quark_to_string (error->domain), ==, "cw-provider-error-quark");
  g_assert_nonnull (strstr (error->message, "Bad gateway"));
  g_assert_cmpstr (cw_provider_error_code (error), ==, "SERVER_ERROR");
}

static void
test_retry_after (void)
{
  g_autoptr (GDateTime) now = g_date_time_new_utc (2026, 11, 25, 12, 0, 0);
  g_autoptr (SoupMessageHeaders) headers = soup_message_headers_new (SOUP_MESSAGE_HEADERS_RESPONSE);
  guint delay;

  g_assert_cmpint (cw_provider_parse_retry_after ("120", now), ==, 120000);
  g_assert_cmpint (cw_provider_parse_retry_after (" 3 ", now), ==, 3000);
  g_assert_cmpint (cw_provider_parse_retry_after ("soon", now), ==, -1);
  g_assert_cmpint (cw_provider_parse_retry_after ("", now), ==, -1);
  g_assert_cmpint (cw_provider_parse_retry_after ("Wed, 25 Nov 2026 12:00:10 GMT", now), ==, 10000);
  g_assert_cmpint (cw_provider_parse_retry_after ("Wed, 25 Nov 2026 11:00:00 GMT", now), ==, 0);

  /* Without a header: base << (attempt - 1), plus under 10% jitter, capped. */
  delay = cw_provider_retry_delay_ms (headers, 3, 100, now);
  g_assert_cmpuint (delay, >=, 400);
  g_assert_cmpuint (delay, <, 440);
  g_assert_cmpuint (cw_provider_retry_delay_ms (headers, 30, 1000, now), ==,
                    CW_PROVIDER_MAX_RETRY_DELAY_MS);
  soup_message_headers_replace (headers, "Retry-After", "2");
  g_assert_cmpuint (cw_provider_retry_delay_ms (headers, 3, 100, now), ==, 2000);
  soup_message_headers_replace (headers, "retry-after-ms", "250");
  g_assert_cmpuint (cw_provider_retry_delay_ms (headers, 3, 100, now), ==, 250);
}

static void
test_ids_and_urls (void)
{
  static const struct
  {
    const gchar *id;
    const gchar *base;
    const gchar *expected;
  } urls[] = {
    { "openai", NULL, "https://api.openai.com/v1" },
    { "openai", "https://proxy.example/v1/", "https://proxy.example/v1" },
    { "openrouter", NULL, "https://openrouter.ai/api/v1" },
    { "moonshot", "api.moonshot.ai", "https://api.moonshot.ai/v1" },
    { "glm", NULL, "https://open.bigmodel.cn/api/paas/v1" },
    { "deepseek", NULL, "https://api.deepseek.com/v1" },
    { "lmstudio", NULL, "http://127.0.0.1:1234/v1" },
    { "lmstudio", "localhost:8080", "http://localhost:8080/v1" },
    { "anthropic", NULL, "https://api.anthropic.com" },
    { "google", NULL, "https://generativelanguage.googleapis.com" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (urls); i++)
    {
      g_autofree gchar *url = cw_provider_resolve_base_url (urls[i].id, urls[i].base);
      g_assert_cmpstr (url, ==, urls[i].expected);
    }
  g_assert_true (cw_provider_id_is_known ("google"));
  g_assert_false (cw_provider_id_is_known ("gemini"));
  g_assert_false (cw_provider_id_is_known (NULL));
  g_assert_false (cw_provider_needs_key ("lmstudio"));
  g_assert_true (cw_provider_needs_key ("deepseek"));
  g_assert_cmpstr (cw_provider_default_model ("google"), ==, "gemini-3-flash-preview");
  g_assert_cmpstr (cw_provider_default_model ("openai"), ==, "gpt-5.2");
  g_assert_cmpstr (cw_provider_default_model ("anthropic"), ==, "claude-opus-4-6");
  g_assert_cmpstr (cw_provider_default_model ("openrouter"), ==, "openai/gpt-5.2");
  g_assert_cmpstr (cw_provider_default_model ("moonshot"), ==, "kimi-k2-thinking");
  g_assert_cmpstr (cw_provider_default_model ("glm"), ==, "glm-4.7");
  g_assert_cmpstr (cw_provider_default_model ("deepseek"), ==, "deepseek-chat");
  g_assert_cmpstr (cw_provider_default_model ("lmstudio"), ==, "local-model");
  g_assert_cmpstr (cw_provider_default_base_url ("lmstudio"), ==, "http://127.0.0.1:1234");
  g_assert_null (cw_provider_default_model ("nope"));
}

static void
add_api_tests (const gchar *name, GTestDataFunc func)
{
  for (guint i = 0; i < G_N_ELEMENTS (test_apis); i++)
    {
      g_autofree gchar *path = g_strdup_printf ("/cowork/providers/%s/%s", test_apis[i].api, name);
      g_test_add_data_func (path, &test_apis[i], func);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/cowork/providers/sse-parser", test_sse_parser);
  g_test_add_func ("/cowork/providers/sse-parser-split-crlf", test_sse_parser_split_crlf);
  g_test_add_func ("/cowork/providers/error-mapping", test_error_mapping);
  g_test_add_func ("/cowork/providers/retry-after", test_retry_after);
  g_test_add_func ("/cowork/providers/ids-and-urls", test_ids_and_urls);

  add_api_tests ("text", test_text);
  add_api_tests ("max-tokens", test_max_tokens);
  add_api_tests ("tool-call", test_tool_call);
  add_api_tests ("unauthorized", test_unauthorized);
  add_api_tests ("rate-limit-then-success", test_rate_limit_then_success);
  add_api_tests ("server-error", test_server_error_exhausts_retries);
  add_api_tests ("broken-stream", test_broken_stream);
  add_api_tests ("cancel", test_cancel);

  g_test_add_func ("/cowork/providers/openai/request", test_request_openai);
  g_test_add_func ("/cowork/providers/anthropic/request", test_request_anthropic);
  g_test_add_func ("/cowork/providers/anthropic/request-thinking", test_request_anthropic_thinking);
  g_test_add_func ("/cowork/providers/gemini/request", test_request_gemini);
  g_test_add_func ("/cowork/providers/gemini/model-names", test_request_gemini_model_names);
  g_test_add_func ("/cowork/providers/empty-assistant-message", test_request_empty_assistant);
  g_test_add_func ("/cowork/providers/anthropic/replay-thinking", test_replay_anthropic);
  g_test_add_func ("/cowork/providers/gemini/replay-signatures", test_replay_gemini);
  g_test_add_func ("/cowork/providers/glm/max-tokens-cap", test_request_glm_cap);
  g_test_add_func ("/cowork/providers/no-thinking-for-older-models",
                   test_request_no_thinking_for_older_models);
  g_test_add_func ("/cowork/providers/lmstudio/no-key", test_lmstudio_without_key);
  g_test_add_func ("/cowork/providers/missing-key", test_missing_key);
  g_test_add_func ("/cowork/providers/unknown-provider", test_unknown_provider);
  g_test_add_func ("/cowork/providers/network-error", test_network_error);
  g_test_add_func ("/cowork/providers/cancel-while-waiting-to-retry",
                   test_cancel_while_waiting_to_retry);
  g_test_add_func ("/cowork/providers/free-before-done", test_free_before_done);
  g_test_add_func ("/cowork/providers/stall", test_stall);
  g_test_add_func ("/cowork/providers/openai/unstreamed-answer", test_unstreamed_answer);
  g_test_add_func ("/cowork/providers/openai/invalid-tool-arguments", test_invalid_tool_arguments);
  g_test_add_func ("/cowork/providers/only-done-callback", test_only_done_callback);
  g_test_add_func ("/cowork/providers/deepseek/reasoning-back", test_request_reasoning_back);
  g_test_add_func ("/cowork/providers/anthropic/error-event-retried", test_error_event_retried);
  g_test_add_func ("/cowork/providers/openai/error-event-after-text", test_error_event_after_text);
  g_test_add_func ("/cowork/providers/retry-longer-than-idle-timeout",
                   test_retry_longer_than_idle_timeout);

  return g_test_run ();
}
