/* cw-provider-stream.c: one streaming LLM request over libsoup 3.
 *
 * The engine sends the wire format's request, retries 429/5xx answers, reads the body as
 * it arrives, cuts it into SSE events and hands them to the wire format, which reports
 * text, thinking and tool calls back through the emit functions. done() runs exactly once,
 * last, always from the main loop.
 *
 * Every pending asynchronous operation holds a reference, so the owner may free the stream
 * from inside done() while an operation's callback is still on the stack.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-provider-wire.h"

#define CW_PROVIDER_READ_SIZE     16384
#define CW_PROVIDER_DEFAULT_RETRY 3
#define CW_PROVIDER_DEFAULT_DELAY 1000
#define CW_PROVIDER_DEFAULT_IDLE  300000

struct _CwProviderStream
{
  gint ref_count;
  SoupSession *session;
  const CwProviderWire *wire;
  CwProviderCallbacks callbacks;
  gpointer user_data;
  GCancellable *cancellable;
  gchar *api_key; /* only to keep it out of error messages */
  gchar *provider_id;

  SoupMessage *request_msg; /* method, URI and headers of every attempt */
  GBytes *body;
  guint max_retries;
  guint retry_base_ms;
  guint attempt; /* retries done so far */
  GSource *retry_source;
  guint idle_timeout_ms;
  GSource *idle_source; /* armed while waiting for the provider */
  gboolean timed_out;
  gboolean got_headers;
  gboolean user_cancelled;

  SoupMessage *msg; /* the current attempt */
  GInputStream *body_stream;
  CwSseParser *parser;
  gpointer wire_state;

  gboolean emitted; /* something reached the callbacks: a retry would repeat it */
  gboolean have_usage;
  gint64 input_tokens;
  gint64 output_tokens;
  gchar *stop_reason;
  JsonObject *replay_state;

  gboolean finished; /* done() ran or is scheduled */
  gboolean orphaned; /* freed by its owner before done(): no callbacks at all */
};

static void cw_provider_stream_send (CwProviderStream *self);

static CwProviderStream *
cw_provider_stream_ref (CwProviderStream *self)
{
  g_atomic_int_inc (&self->ref_count);
  return self;
}

static void
cw_provider_stream_unref (CwProviderStream *self)
{
  if (!g_atomic_int_dec_and_test (&self->ref_count))
    return;
  /* A pending retry source holds a reference, so none is left here; the idle timer holds
   * none and is normally gone already. */
  if (self->idle_source != NULL)
    {
      g_source_destroy (self->idle_source);
      g_source_unref (self->idle_source);
    }
  if (self->wire_state != NULL)
    self->wire->state_free (self->wire_state);
  g_clear_pointer (&self->parser, cw_sse_parser_free);
  g_clear_object (&self->body_stream);
  g_clear_object (&self->msg);
  g_clear_object (&self->request_msg);
  g_clear_pointer (&self->body, g_bytes_unref);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->session);
  g_free (self->api_key);
  g_free (self->provider_id);
  g_free (self->stop_reason);
  g_clear_pointer (&self->replay_state, json_object_unref);
  g_free (self);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CwProviderStream, cw_provider_stream_unref)

/* Callbacks stop the moment the owner cancels or frees the stream. */
static gboolean
cw_provider_stream_is_live (CwProviderStream *self)
{
  return !self->finished && !self->orphaned && !g_cancellable_is_cancelled (self->cancellable);
}

static void
cw_provider_stream_disarm (CwProviderStream *self)
{
  if (self->idle_source == NULL)
    return;
  g_source_destroy (self->idle_source);
  g_clear_pointer (&self->idle_source, g_source_unref);
}

static gboolean
cw_provider_stream_idle_cb (gpointer user_data)
{
  CwProviderStream *self = user_data;

  g_debug ("%s: nothing from the provider for %u ms", self->wire->name, self->idle_timeout_ms);
  g_clear_pointer (&self->idle_source, g_source_unref);
  self->timed_out = TRUE;
  /* The pending operation fails with CANCELLED and finish() reports the timeout. */
  g_cancellable_cancel (self->cancellable);
  return G_SOURCE_REMOVE;
}

/* (Re)starts the stall timer before each wait on the network. The source holds no
 * reference: it is always destroyed before the stream can go away (finish disarms it). */
static void
cw_provider_stream_arm (CwProviderStream *self)
{
  cw_provider_stream_disarm (self);
  self->idle_source = g_timeout_source_new (self->idle_timeout_ms);
  g_source_set_callback (self->idle_source, cw_provider_stream_idle_cb, self, NULL);
  g_source_set_static_name (self->idle_source, "[cw] provider idle timeout");
  g_source_attach (self->idle_source, g_main_context_get_thread_default ());
}

static void
cw_provider_stream_finish (CwProviderStream *self, GError *error_in)
{
  g_autoptr (GError) error = error_in;
  g_autofree gchar *safe = NULL;

  if (self->finished)
    return;
  self->finished = TRUE;
  cw_provider_stream_disarm (self);
  g_clear_object (&self->body_stream);

  if (self->user_cancelled)
    {
      g_clear_error (&error);
      error = g_error_new_literal (CW_PROVIDER_ERROR, CW_PROVIDER_ERROR_CANCELLED,
                                   "request cancelled");
    }
  else if (self->timed_out)
    {
      g_clear_error (&error);
      error = g_error_new (CW_PROVIDER_ERROR,
                           self->got_headers ? CW_PROVIDER_ERROR_STREAM : CW_PROVIDER_ERROR_NETWORK,
                           "no data from the provider for %u s",
                           (self->idle_timeout_ms + 999) / 1000);
    }
  if (error != NULL && error->domain != CW_PROVIDER_ERROR)
    {
      GError *wrapped
          = g_error_new (CW_PROVIDER_ERROR, CW_PROVIDER_ERROR_STREAM, "%s", error->message);
      g_clear_error (&error);
      error = wrapped;
    }
  if (error != NULL)
    {
      safe = cw_provider_redact (error->message, self->api_key);
      g_free (error->message);
      error->message = g_steal_pointer (&safe);
      g_debug ("%s request failed: %s", self->wire->name, error->message);
    }
  if (self->orphaned)
    return;

  if (error == NULL && self->replay_state != NULL && self->callbacks.replay_state != NULL)
    self->callbacks.replay_state (self->replay_state, self->user_data);
  if (error == NULL && self->have_usage && self->callbacks.usage != NULL)
    self->callbacks.usage (self->input_tokens, self->output_tokens, self->user_data);
  /* Last use of @self: the owner may free it inside done(). */
  if (self->callbacks.done != NULL)
    self->callbacks.done (error == NULL ? (self->stop_reason ? self->stop_reason : "end_turn")
                                        : NULL,
                          error, self->user_data);
}

typedef struct
{
  CwProviderStream *stream;
  GError *error;
} CwProviderFinishLater;

static gboolean
cw_provider_stream_finish_idle (gpointer user_data)
{
  CwProviderFinishLater *later = user_data;
  cw_provider_stream_finish (later->stream, g_steal_pointer (&later->error));
  return G_SOURCE_REMOVE;
}

static void
cw_provider_finish_later_free (gpointer user_data)
{
  CwProviderFinishLater *later = user_data;
  g_clear_error (&later->error);
  cw_provider_stream_unref (later->stream);
  g_free (later);
}

/* done() must never run inside start() or cancel(): the caller is not ready for it. */
static void
cw_provider_stream_finish_later (CwProviderStream *self, GError *error)
{
  CwProviderFinishLater *later = g_new0 (CwProviderFinishLater, 1);
  g_autoptr (GSource) source = g_idle_source_new ();

  later->stream = cw_provider_stream_ref (self);
  later->error = error;
  g_source_set_callback (source, cw_provider_stream_finish_idle, later,
                         cw_provider_finish_later_free);
  g_source_set_static_name (source, "[cw] provider done");
  g_source_attach (source, g_main_context_get_thread_default ());
}

/* ---- emit functions called by the wire formats ---------------------------------------- */

void
cw_provider_stream_emit_text (CwProviderStream *self, const gchar *delta)
{
  if (delta == NULL || *delta == '\0' || !cw_provider_stream_is_live (self))
    return;
  self->emitted = TRUE;
  if (self->callbacks.text != NULL)
    self->callbacks.text (delta, self->user_data);
}

void
cw_provider_stream_emit_thinking (CwProviderStream *self, const gchar *delta)
{
  if (delta == NULL || *delta == '\0' || !cw_provider_stream_is_live (self))
    return;
  self->emitted = TRUE;
  if (self->callbacks.thinking != NULL)
    self->callbacks.thinking (delta, self->user_data);
}

void
cw_provider_stream_emit_tool_call (CwProviderStream *self, const gchar *id, const gchar *name,
                                   JsonObject *args)
{
  if (!cw_provider_stream_is_live (self))
    return;
  self->emitted = TRUE;
  if (self->callbacks.tool_call != NULL)
    self->callbacks.tool_call (id, name, args, self->user_data);
}

void
cw_provider_stream_set_usage (CwProviderStream *self, gint64 input_tokens, gint64 output_tokens)
{
  self->have_usage = TRUE;
  self->input_tokens = input_tokens;
  self->output_tokens = output_tokens;
}

void
cw_provider_stream_set_replay_state (CwProviderStream *self, JsonObject *state)
{
  g_clear_pointer (&self->replay_state, json_object_unref);
  self->replay_state = state != NULL ? json_object_ref (state) : NULL;
}

void
cw_provider_stream_set_stop_reason (CwProviderStream *self, const gchar *stop_reason)
{
  g_free (self->stop_reason);
  self->stop_reason = g_strdup (stop_reason);
}

/* ---- reading the event stream --------------------------------------------------------- */

static void cw_provider_stream_read_next (CwProviderStream *self);

static gboolean cw_provider_stream_retry_cb (gpointer user_data);
static void cw_provider_stream_retry_later (CwProviderStream *self, const GError *error,
                                            SoupMessageHeaders *headers);

/* An overloaded or rate-limited provider often says so inside a 200 stream (Anthropic's
 * overloaded_error, OpenRouter's error chunks). Before anything reached the callbacks, that
 * is as retryable as a 529 or 429; afterwards a retry would repeat text, so it is final. */
static void
cw_provider_stream_failed_in_body (CwProviderStream *self, GError *error_in)
{
  g_autoptr (GError) error = error_in;

  if (self->emitted || self->attempt >= self->max_retries || self->orphaned
      || !(g_error_matches (error, CW_PROVIDER_ERROR, CW_PROVIDER_ERROR_SERVER)
           || g_error_matches (error, CW_PROVIDER_ERROR, CW_PROVIDER_ERROR_RATE_LIMIT)))
    {
      cw_provider_stream_finish (self, g_steal_pointer (&error));
      return;
    }
  g_clear_object (&self->body_stream);
  g_clear_pointer (&self->parser, cw_sse_parser_free);
  g_clear_pointer (&self->wire_state, self->wire->state_free);
  self->have_usage = FALSE;
  g_clear_pointer (&self->stop_reason, g_free);
  g_clear_pointer (&self->replay_state, json_object_unref);
  cw_provider_stream_retry_later (self, error, NULL);
}

/* Hands every complete event to the wire format; FALSE when reading must stop (finished,
 * or a retry is scheduled). */
static gboolean
cw_provider_stream_dispatch (CwProviderStream *self)
{
  while (cw_provider_stream_is_live (self))
    {
      g_autoptr (CwSseEvent) event = cw_sse_parser_next (self->parser);
      g_autoptr (GError) error = NULL;

      if (event == NULL)
        return TRUE;
      if (!self->wire->event (self->wire_state, event, self, &error))
        {
          cw_provider_stream_failed_in_body (self, g_steal_pointer (&error));
          return FALSE;
        }
    }
  /* Cancelled from inside a callback: the next read reports it. */
  return !self->finished;
}

static void
cw_provider_stream_on_eof (CwProviderStream *self)
{
  g_autoptr (GError) error = NULL;

  if (cw_sse_parser_has_partial (self->parser))
    {
      cw_provider_stream_finish (self, g_error_new (CW_PROVIDER_ERROR, CW_PROVIDER_ERROR_STREAM,
                                                    "stream ended in the middle of an event"));
      return;
    }
  if (!self->wire->eof (self->wire_state, self, &error))
    {
      cw_provider_stream_finish (self, g_steal_pointer (&error));
      return;
    }
  cw_provider_stream_finish (self, NULL);
}

static void
cw_provider_stream_on_read (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (CwProviderStream) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) bytes = NULL;
  gsize len = 0;
  const gchar *data;

  bytes = g_input_stream_read_bytes_finish (G_INPUT_STREAM (source), result, &error);
  if (self->finished)
    return;
  if (bytes == NULL)
    {
      cw_provider_stream_finish (self,
                                 g_error_new (CW_PROVIDER_ERROR, CW_PROVIDER_ERROR_STREAM,
                                              "connection lost mid-stream: %s", error->message));
      return;
    }
  if (self->orphaned)
    {
      cw_provider_stream_finish (self, NULL);
      return;
    }
  data = g_bytes_get_data (bytes, &len);
  if (len == 0)
    {
      cw_provider_stream_on_eof (self);
      return;
    }
  if (!cw_sse_parser_push (self->parser, data, len, &error))
    {
      cw_provider_stream_finish (
          self, g_error_new_literal (CW_PROVIDER_ERROR, CW_PROVIDER_ERROR_STREAM, error->message));
      return;
    }
  if (cw_provider_stream_dispatch (self))
    cw_provider_stream_read_next (self);
}

static void
cw_provider_stream_read_next (CwProviderStream *self)
{
  cw_provider_stream_arm (self);
  g_input_stream_read_bytes_async (self->body_stream, CW_PROVIDER_READ_SIZE, G_PRIORITY_DEFAULT,
                                   self->cancellable, cw_provider_stream_on_read,
                                   cw_provider_stream_ref (self));
}

/* ---- HTTP errors and retries ---------------------------------------------------------- */

static gboolean
cw_provider_stream_retry_cb (gpointer user_data)
{
  CwProviderStream *self = user_data;

  g_clear_pointer (&self->retry_source, g_source_unref);
  cw_provider_stream_send (self);
  return G_SOURCE_REMOVE;
}

/* Schedules the next attempt after @error; @headers may carry Retry-After. */
static void
cw_provider_stream_retry_later (CwProviderStream *self, const GError *error,
                                SoupMessageHeaders *headers)
{
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  guint delay_ms;

  /* Waiting to retry is not the provider being silent. */
  cw_provider_stream_disarm (self);
  self->attempt++;
  delay_ms = cw_provider_retry_delay_ms (headers, self->attempt, self->retry_base_ms, now);
  g_debug ("%s: %s, retry %u in %u ms", self->wire->name, error->message, self->attempt, delay_ms);
  if (self->callbacks.retrying != NULL && !self->orphaned)
    self->callbacks.retrying (self->attempt, delay_ms, error, self->user_data);
  /* The owner may have cancelled from inside retrying(). */
  if (g_cancellable_is_cancelled (self->cancellable))
    {
      cw_provider_stream_finish (self, NULL);
      return;
    }
  self->retry_source = g_timeout_source_new (delay_ms);
  g_source_set_callback (self->retry_source, cw_provider_stream_retry_cb,
                         cw_provider_stream_ref (self), (GDestroyNotify) cw_provider_stream_unref);
  g_source_set_static_name (self->retry_source, "[cw] provider retry");
  g_source_attach (self->retry_source, g_main_context_get_thread_default ());
}

/* A body read whole: an HTTP error, or a 2xx in plain JSON where a stream was asked for. */
static void
cw_provider_stream_on_error_body (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (CwProviderStream) self = user_data;
  g_autoptr (GBytes) body = NULL;
  g_autoptr (GError) error = NULL;
  guint status;

  /* A body we cannot read still has a status worth reporting. */
  if (g_output_stream_splice_finish (G_OUTPUT_STREAM (source), result, NULL) >= 0)
    body = g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (source));
  if (self->finished)
    return;
  if (g_cancellable_is_cancelled (self->cancellable) || self->orphaned)
    {
      cw_provider_stream_finish (self, NULL);
      return;
    }

  status = soup_message_get_status (self->msg);
  if (SOUP_STATUS_IS_SUCCESSFUL (status))
    {
      cw_provider_stream_finish (self, cw_provider_error_from_unstreamed (body, self->api_key));
      return;
    }
  error = cw_provider_error_from_http (status, body, self->api_key);
  if (!cw_provider_status_is_retryable (status) || self->attempt >= self->max_retries)
    {
      cw_provider_stream_finish (self, g_steal_pointer (&error));
      return;
    }

  cw_provider_stream_retry_later (self, error, soup_message_get_response_headers (self->msg));
}

static void
cw_provider_stream_on_sent (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (CwProviderStream) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GInputStream) input = NULL;
  g_autoptr (GOutputStream) sink = NULL;
  const gchar *content_type;
  guint status;

  input = soup_session_send_finish (SOUP_SESSION (source), result, &error);
  if (self->finished)
    return;
  if (input == NULL)
    {
      /* The provider and the URL (never its query or user info, which may hold a key). */
      g_autofree gchar *url
          = g_uri_to_string_partial (soup_message_get_uri (self->msg),
                                     G_URI_HIDE_USERINFO | G_URI_HIDE_QUERY | G_URI_HIDE_FRAGMENT);
      cw_provider_stream_finish (
          self,
          g_error_new (CW_PROVIDER_ERROR, CW_PROVIDER_ERROR_NETWORK, "cannot reach %s at %s: %s",
                       self->provider_id != NULL ? self->provider_id : self->wire->name, url,
                       error->message));
      return;
    }

  status = soup_message_get_status (self->msg);
  self->got_headers = TRUE;
  g_debug ("%s: HTTP %u", self->wire->name, status);
  content_type
      = soup_message_headers_get_content_type (soup_message_get_response_headers (self->msg), NULL);
  if (SOUP_STATUS_IS_SUCCESSFUL (status) && g_strcmp0 (content_type, "application/json") != 0)
    {
      self->body_stream = g_steal_pointer (&input);
      self->parser = cw_sse_parser_new ();
      self->wire_state = self->wire->state_new ();
      cw_provider_stream_read_next (self);
      return;
    }

  sink = g_memory_output_stream_new_resizable ();
  g_output_stream_splice_async (
      sink, input, G_OUTPUT_STREAM_SPLICE_CLOSE_SOURCE | G_OUTPUT_STREAM_SPLICE_CLOSE_TARGET,
      G_PRIORITY_DEFAULT, self->cancellable, cw_provider_stream_on_error_body,
      cw_provider_stream_ref (self));
}

static void
cw_provider_stream_copy_header (const gchar *name, const gchar *value, gpointer user_data)
{
  soup_message_headers_append (user_data, name, value);
}

static void
cw_provider_stream_send (CwProviderStream *self)
{
  g_clear_object (&self->msg);
  self->msg = soup_message_new_from_uri (soup_message_get_method (self->request_msg),
                                         soup_message_get_uri (self->request_msg));
  soup_message_headers_foreach (soup_message_get_request_headers (self->request_msg),
                                cw_provider_stream_copy_header,
                                soup_message_get_request_headers (self->msg));
  soup_message_set_request_body_from_bytes (self->msg, "application/json", self->body);
  self->got_headers = FALSE;
  cw_provider_stream_arm (self);
  g_debug ("%s: POST %s (attempt %u)", self->wire->name,
           g_uri_get_path (soup_message_get_uri (self->msg)), self->attempt + 1);
  soup_session_send_async (self->session, self->msg, G_PRIORITY_DEFAULT, self->cancellable,
                           cw_provider_stream_on_sent, cw_provider_stream_ref (self));
}

/* ---- public API ------------------------------------------------------------------------ */

static gboolean
cw_provider_stream_prepare (CwProviderStream *self, const CwProviderRequest *request,
                            GError **error)
{
  g_autofree gchar *base_url = NULL;

  self->wire = cw_provider_wire_for_id (request->provider_id);
  if (self->wire == NULL)
    {
      g_set_error (error, CW_PROVIDER_ERROR, CW_PROVIDER_ERROR_BAD_REQUEST,
                   "unknown provider \"%s\"", request->provider_id ? request->provider_id : "");
      return FALSE;
    }
  if (cw_provider_needs_key (request->provider_id)
      && (request->api_key == NULL || *request->api_key == '\0'))
    {
      g_set_error (error, CW_PROVIDER_ERROR, CW_PROVIDER_ERROR_INVALID_API_KEY,
                   "no API key set for provider \"%s\"", request->provider_id);
      return FALSE;
    }
  base_url = cw_provider_resolve_base_url (request->provider_id, request->base_url);
  self->request_msg = self->wire->build (request, base_url, &self->body, error);
  return self->request_msg != NULL;
}

CwProviderStream *
cw_provider_stream_start (SoupSession *session, const CwProviderRequest *request,
                          const CwProviderCallbacks *callbacks, gpointer user_data)
{
  CwProviderStream *self;
  g_autoptr (GError) error = NULL;
  static const CwProviderWire no_wire = { .name = "provider" };

  g_return_val_if_fail (SOUP_IS_SESSION (session), NULL);
  g_return_val_if_fail (request != NULL, NULL);
  g_return_val_if_fail (callbacks != NULL, NULL);

  self = g_new0 (CwProviderStream, 1);
  self->ref_count = 1;
  self->session = g_object_ref (session);
  self->callbacks = *callbacks;
  self->user_data = user_data;
  self->cancellable = g_cancellable_new ();
  self->api_key = g_strdup (request->api_key);
  self->provider_id = g_strdup (request->provider_id);
  self->max_retries = request->max_retries > 0 ? request->max_retries : CW_PROVIDER_DEFAULT_RETRY;
  self->retry_base_ms
      = request->retry_base_delay_ms > 0 ? request->retry_base_delay_ms : CW_PROVIDER_DEFAULT_DELAY;
  self->idle_timeout_ms
      = request->idle_timeout_ms > 0 ? request->idle_timeout_ms : CW_PROVIDER_DEFAULT_IDLE;

  if (!cw_provider_stream_prepare (self, request, &error))
    {
      if (self->wire == NULL)
        self->wire = &no_wire;
      cw_provider_stream_finish_later (self, g_steal_pointer (&error));
      return self;
    }
  cw_provider_stream_send (self);
  return self;
}

void
cw_provider_stream_cancel (CwProviderStream *self)
{
  g_return_if_fail (self != NULL);

  if (self->finished)
    return;
  self->user_cancelled = TRUE;
  g_cancellable_cancel (self->cancellable);
  /* Nothing in flight while waiting to retry: nobody else would call done(). */
  if (self->retry_source != NULL)
    {
      g_source_destroy (self->retry_source);
      g_clear_pointer (&self->retry_source, g_source_unref);
      cw_provider_stream_finish_later (self, NULL);
    }
}

void
cw_provider_stream_free (CwProviderStream *self)
{
  if (self == NULL)
    return;
  if (!self->finished)
    {
      self->orphaned = TRUE;
      cw_provider_stream_cancel (self);
    }
  cw_provider_stream_unref (self);
}
