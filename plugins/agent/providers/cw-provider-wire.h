/* cw-provider-wire.h: what the stream engine (cw-provider-stream.c) needs from one wire
 * format, and what a wire format may call back. Internal to the providers library.
 *
 * The engine owns HTTP, retries, cancellation and the SSE framing; a wire format only
 * builds the request and turns decoded SSE events into text / thinking / tool calls.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cw-provider.h"
#include "cw-sse-parser.h"

G_BEGIN_DECLS

typedef struct
{
  const gchar *name;
  /* A POST message with its headers (auth included); the JSON body goes to @out_body so
   * the engine can build a fresh message for each retry. */
  SoupMessage *(*build) (const CwProviderRequest *request, const gchar *base_url, GBytes **out_body,
                         GError **error);
  gpointer (*state_new) (void);
  void (*state_free) (gpointer state);
  /* One SSE event. FALSE with @error stops the stream (error reported as is when it is a
   * CW_PROVIDER_ERROR, else as STREAM). */
  gboolean (*event) (gpointer state, const CwSseEvent *event, CwProviderStream *stream,
                     GError **error);
  /* The body ended cleanly: FALSE with @error when the API's own end marker never came. */
  gboolean (*eof) (gpointer state, CwProviderStream *stream, GError **error);
} CwProviderWire;

extern const CwProviderWire cw_provider_wire_openai;
extern const CwProviderWire cw_provider_wire_anthropic;
extern const CwProviderWire cw_provider_wire_gemini;

/* cw-provider-ids.c */
const CwProviderWire *cw_provider_wire_for_id (const gchar *provider_id);
/* The base URL to use, without a trailing '/'; "+/v1" for OpenAI-compatible ids. */
gchar *cw_provider_resolve_base_url (const gchar *provider_id, const gchar *base_url);

/* cw-provider-stream.c: a wire format reports what it decoded. After a cancel these are
 * silently dropped. */
void cw_provider_stream_emit_text (CwProviderStream *self, const gchar *delta);
void cw_provider_stream_emit_thinking (CwProviderStream *self, const gchar *delta);
void cw_provider_stream_emit_tool_call (CwProviderStream *self, const gchar *id, const gchar *name,
                                        JsonObject *args);
/* Remembered and delivered once, before done(); later values replace earlier ones. */
void cw_provider_stream_set_usage (CwProviderStream *self, gint64 input_tokens,
                                   gint64 output_tokens);
void cw_provider_stream_set_stop_reason (CwProviderStream *self, const gchar *stop_reason);
/* Delivered through replay_state() before done(); takes a reference. */
void cw_provider_stream_set_replay_state (CwProviderStream *self, JsonObject *state);

/* cw-provider-error.c */
/* The error for a non-2xx answer: code from @status (and the body for 400 context-length),
 * message from the API's JSON error body when it has one, @api_key never included. */
GError *cw_provider_error_from_http (guint status, GBytes *body, const gchar *api_key);
/* The error for an error object sent inside a stream (OpenAI-style {"error":{...}} or
 * Anthropic's `error` event); @status_hint 0 when unknown. */
GError *cw_provider_error_from_api (guint status_hint, const gchar *type, const gchar *message);
/* A 2xx answer in plain JSON where a stream was asked for: some proxies and local servers
 * report failures that way. */
GError *cw_provider_error_from_unstreamed (GBytes *body, const gchar *api_key);
gboolean cw_provider_status_is_retryable (guint status);
/* Replaces every occurrence of @secret in @text; a new string. */
gchar *cw_provider_redact (const gchar *text, const gchar *secret);

/* cw-provider-retry.c */
/* Delay before retry @attempt (1-based): Retry-After / retry-after-ms when present, else
 * exponential from @base_ms with a little jitter; capped at CW_PROVIDER_MAX_RETRY_DELAY_MS. */
#define CW_PROVIDER_MAX_RETRY_DELAY_MS 60000
guint cw_provider_retry_delay_ms (SoupMessageHeaders *headers, guint attempt, guint base_ms,
                                  GDateTime *now);
/* Parses a Retry-After value (delta seconds or an HTTP date); -1 if unusable. */
gint64 cw_provider_parse_retry_after (const gchar *value, GDateTime *now);

/* Anthropic and Gemini want strictly alternating roles, so neighbouring messages of one role
 * are merged into one {role, <member>: [...]} entry (cw-provider-json.c). */
typedef struct
{
  JsonBuilder *b;
  const gchar *open_role; /* role of the entry being built, NULL if none */
  const gchar *member;    /* "content" (Anthropic) or "parts" (Gemini) */
} CwProviderTurns;

void cw_provider_turns_open (CwProviderTurns *t, const gchar *role);
void cw_provider_turns_close (CwProviderTurns *t);

/* Small JSON helpers shared by the wire formats (cw-provider-json.c). */
JsonNode *cw_provider_json_parse (const gchar *data, GError **error);
/* @args_json assembled from deltas; "" is an empty object. NULL with a STREAM error when
 * the model produced something that is not a JSON object. */
JsonObject *cw_provider_json_parse_args (const gchar *args_json, const gchar *tool_name,
                                         GError **error);
GBytes *cw_provider_json_to_bytes (JsonBuilder *builder);
const gchar *cw_provider_json_string (JsonObject *object, const gchar *member);
JsonObject *cw_provider_json_object (JsonObject *object, const gchar *member);
/* The object under @api ("anthropic", "gemini") of an assistant message's replayState. */
JsonObject *cw_provider_json_replay (JsonObject *message, const gchar *api);
JsonArray *cw_provider_json_array (JsonObject *object, const gchar *member);
gint64 cw_provider_json_int (JsonObject *object, const gchar *member, gint64 fallback);

G_END_DECLS
