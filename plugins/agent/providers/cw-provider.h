/* cw-provider.h: one streaming LLM request, whatever the provider's wire format.
 *
 * The agent loop builds a CwProviderRequest in a neutral message format, starts a stream,
 * and gets callbacks on the main context as chunks arrive. Implementations: the
 * OpenAI-compatible chat-completions API (openai, openrouter, moonshot, glm, deepseek,
 * lmstudio), the Anthropic Messages API (anthropic) and the Gemini API (google).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <cowork.h>
#include <libsoup/soup.h>

G_BEGIN_DECLS

/* Error codes reported to clients as the contract's `code` strings. */
#define CW_PROVIDER_ERROR (cw_provider_error_quark ())
GQuark cw_provider_error_quark (void);
typedef enum
{
  CW_PROVIDER_ERROR_INVALID_API_KEY, /* 401/403 */
  CW_PROVIDER_ERROR_RATE_LIMIT,      /* 429 after retries */
  CW_PROVIDER_ERROR_SERVER,          /* 5xx after retries */
  CW_PROVIDER_ERROR_BAD_REQUEST,     /* other 4xx */
  CW_PROVIDER_ERROR_NETWORK,         /* connection failed */
  CW_PROVIDER_ERROR_STREAM,          /* broken or malformed stream */
  CW_PROVIDER_ERROR_CANCELLED,       /* cw_provider_stream_cancel */
  CW_PROVIDER_ERROR_CONTEXT_LENGTH,  /* prompt too long for the model */
} CwProviderError;
/* "INVALID_API_KEY", "RATE_LIMIT", "SERVER_ERROR", "BAD_REQUEST", "NETWORK_ERROR",
 * "STREAM_ERROR", "CANCELLED", "CONTEXT_LENGTH_EXCEEDED" */
const gchar *cw_provider_error_code (const GError *error);

/* Provider ids of the contract (§8.1) and what each needs. */
gboolean cw_provider_id_is_known (const gchar *provider_id);
gboolean cw_provider_needs_key (const gchar *provider_id); /* FALSE for lmstudio */
const gchar *cw_provider_default_base_url (const gchar *provider_id);
const gchar *cw_provider_default_model (const gchar *provider_id);

typedef struct
{
  const gchar *provider_id; /* "openai", "anthropic", "google", "lmstudio", ... */
  const gchar *base_url;    /* NULL: the provider's default */
  const gchar *api_key;     /* NULL when the provider needs none */
  const gchar *model;
  const gchar *system_prompt; /* may be NULL */
  /* Neutral history, oldest first. Each element is an object:
   *   {role:"user", content:"..."}
   *   {role:"assistant", content:"...", toolCalls?:[{id, name, args:{...}}], thinking?:"..."}
   *   {role:"tool", toolCallId, toolName, content:"...", isError?:bool}
   * Added: `thinking` (optional) is the reasoning streamed before the tool calls; deepseek
   * and moonshot get it back as reasoning_content on assistant messages with toolCalls,
   * which their thinking models need inside a tool loop; other APIs ignore it.
   * Added: `replayState` (optional object) on an assistant message: what replay_state()
   * gave for that reply, stored as is and sent back (see CwProviderCallbacks). */
  JsonArray *messages;
  /* [{name, description, parameters: JSON schema object}] */
  JsonArray *tools;
  gint64 max_tokens; /* 0: provider default */
  gboolean thinking; /* ask for reasoning where the API has it */
  guint max_retries; /* 429/5xx retries before giving up (default 3 when 0) */
  /* Added: first backoff delay; doubles each retry (capped at 60 s) unless the server sends
   * Retry-After / retry-after-ms. 0: 1000 ms. Tests use small values. */
  guint retry_base_delay_ms;
  /* Added: the longest wait for the response headers or for the next bytes of the body
   * before giving up (NETWORK_ERROR before the headers, STREAM_ERROR after). A provider that
   * stops sending would otherwise hold the turn forever. 0: 300000 (5 min). */
  guint idle_timeout_ms;
} CwProviderRequest;

typedef struct
{
  void (*text) (const gchar *delta, gpointer user_data);
  void (*thinking) (const gchar *delta, gpointer user_data);
  /* A complete tool call (arguments already assembled from their deltas). */
  void (*tool_call) (const gchar *id, const gchar *name, JsonObject *args, gpointer user_data);
  /* At most once, just before a successful done(), with the totals of the request. */
  void (*usage) (gint64 input_tokens, gint64 output_tokens, gpointer user_data);
  /* A retry is scheduled after @delay_ms (attempt is 1-based). */
  void (*retrying) (guint attempt, guint delay_ms, const GError *error, gpointer user_data);
  /* Called exactly once, last. @error NULL on success; @stop_reason e.g. "end_turn",
   * "tool_use", "max_tokens". */
  void (*done) (const gchar *stop_reason, const GError *error, gpointer user_data);
  /* Added, optional: at most once, before usage() and a successful done(), when the API
   * returned opaque data it wants back with this reply (Anthropic's signed thinking blocks,
   * Gemini's thought signatures of function calls). Keep @state (ref it) with the assistant
   * message and put it back as its `replayState` in later histories: then Anthropic keeps
   * thinking on inside tool loops and Gemini gets the real signatures. */
  void (*replay_state) (JsonObject *state, gpointer user_data);
} CwProviderCallbacks;

typedef struct _CwProviderStream CwProviderStream;

/* Starts the request at once; callbacks run on the thread-default main context. The
 * request is read only during this call (the body is built here); the callbacks struct is
 * copied. Every callback may be NULL. No callback runs inside this call: even an early
 * error (unknown provider, missing key) comes later through done(). */
CwProviderStream *cw_provider_stream_start (SoupSession *session, const CwProviderRequest *request,
                                            const CwProviderCallbacks *callbacks,
                                            gpointer user_data);
/* Aborts the HTTP request now; done() follows with CW_PROVIDER_ERROR_CANCELLED (from the
 * main loop, never inside this call) and no other callback runs before it. No-op once
 * done() ran. Safe to call from inside any callback. */
void cw_provider_stream_cancel (CwProviderStream *stream);
/* Frees the stream; call after done() (from inside done() is fine). Freeing earlier cancels
 * the request and then no callback runs at all. */
void cw_provider_stream_free (CwProviderStream *stream);

G_END_DECLS
