/* test-registry.c: the command registry, through its public API.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cowork-host.h"
#include "cw-test-daemon.h"

#define CW_TEST_IDEM_ANSWER (512 * 1024)

typedef struct
{
  GMainLoop *loop;
  JsonNode *result;
  GError *error;
  guint answers;
} Reply;

static void
on_reply (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Reply *r = user_data;

  g_clear_pointer (&r->result, json_node_unref);
  g_clear_error (&r->error);
  r->result = cw_command_registry_call_finish (CW_COMMAND_REGISTRY (source), res, &r->error);
  r->answers++;
  g_main_loop_quit (r->loop);
}

static void
reply_clear (Reply *r)
{
  g_clear_pointer (&r->result, json_node_unref);
  g_clear_error (&r->error);
  g_clear_pointer (&r->loop, g_main_loop_unref);
}

static JsonNode *
params (const gchar *json)
{
  g_autoptr (GError) error = NULL;
  JsonNode *node = cw_json_from_string (json, -1, &error);

  g_assert_no_error (error);
  return node;
}

static void
call_as (CwCommandRegistry *reg, CwCaller *caller, const gchar *command, const gchar *json,
         Reply *r)
{
  g_autoptr (JsonNode) p = json != NULL ? params (json) : NULL;

  if (r->loop == NULL)
    r->loop = g_main_loop_new (NULL, FALSE);
  cw_command_registry_call (reg, caller, command, p, on_reply, r);
  g_main_loop_run (r->loop);
}

static void
call_sync (CwCommandRegistry *reg, const gchar *command, const gchar *json, Reply *r)
{
  call_as (reg, NULL, command, json, r);
}

static guint counter;

/* Echoes its params and counts how often it ran. */
static void
cmd_echo (CwInvocation *inv, gpointer user_data)
{
  JsonNode *node = json_node_new (JSON_NODE_OBJECT);

  counter++;
  json_node_set_object (node, cw_invocation_get_params (inv));
  cw_invocation_return_value (inv, node);
}

static void
cmd_fail (CwInvocation *inv, gpointer user_data)
{
  counter++;
  cw_invocation_return_new_error (inv, CW_ERROR_NOT_FOUND, "Session not found: %s", "x");
}

static CwInvocation *held;

static void
cmd_slow (CwInvocation *inv, gpointer user_data)
{
  counter++;
  held = g_object_ref (inv);
}

static void
cmd_needs_session (CwInvocation *inv, gpointer user_data)
{
  g_autoptr (GError) error = NULL;

  if (cw_invocation_get_string (inv, "sessionId", TRUE, &error) == NULL)
    {
      cw_invocation_return_error (inv, g_steal_pointer (&error));
      return;
    }
  cw_invocation_return_value (inv, NULL);
}

/* Answers with the caller's actor. */
static void
cmd_whoami (CwInvocation *inv, gpointer user_data)
{
  JsonObject *obj = json_object_new ();

  json_object_set_string_member (obj, "actor",
                                 cw_caller_get_actor (cw_invocation_get_caller (inv)));
  cw_invocation_return_object (inv, obj);
}

static CwCommandRegistry *
make_registry (void)
{
  CwCommandRegistry *reg = cw_command_registry_new ();

  g_assert_true (cw_command_registry_add (reg, "echo", "core", CW_COMMAND_FLAG_NONE, cmd_echo, NULL,
                                          NULL, NULL));
  g_assert_true (cw_command_registry_add (reg, "fail", "core", CW_COMMAND_FLAG_NONE, cmd_fail, NULL,
                                          NULL, NULL));
  g_assert_true (cw_command_registry_add (reg, "slow", "plugin-a", CW_COMMAND_FLAG_NONE, cmd_slow,
                                          NULL, NULL, NULL));
  g_assert_true (cw_command_registry_add (reg, "needs_session", "plugin-a", CW_COMMAND_FLAG_NONE,
                                          cmd_needs_session, NULL, NULL, NULL));
  g_assert_true (cw_command_registry_add (reg, "whoami", "core",
                                          CW_COMMAND_FLAG_REMOTE | CW_COMMAND_FLAG_READ_ONLY,
                                          cmd_whoami, NULL, NULL, NULL));
  g_assert_true (cw_command_registry_add (reg, "rotate", "core",
                                          CW_COMMAND_FLAG_REMOTE | CW_COMMAND_FLAG_PRIVILEGED,
                                          cmd_whoami, NULL, NULL, NULL));
  counter = 0;
  return reg;
}

static void
test_duplicate_refused (void)
{
  g_autoptr (CwCommandRegistry) reg = make_registry ();
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) names = NULL;

  g_assert_false (cw_command_registry_add (reg, "echo", "plugin-b", CW_COMMAND_FLAG_NONE, cmd_echo,
                                           NULL, NULL, &error));
  g_assert_error (error, CW_ERROR, CW_ERROR_EXISTS);
  g_assert_nonnull (strstr (error->message, "core"));
  g_clear_error (&error);
  g_assert_false (cw_command_registry_add (reg, "bad name", "x", CW_COMMAND_FLAG_NONE, cmd_echo,
                                           NULL, NULL, &error));
  g_assert_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS);

  names = cw_command_registry_list (reg);
  g_assert_cmpuint (g_strv_length (names), ==, 6);
  g_assert_cmpstr (names[0], ==, "echo");
  g_assert_cmpstr (names[4], ==, "slow");

  g_assert_cmpuint (cw_command_registry_remove_owner (reg, "plugin-a", NULL), ==, 2);
  g_assert_false (cw_command_registry_has (reg, "slow"));
  g_assert_true (cw_command_registry_has (reg, "echo"));
}

static void
test_unknown_and_validation (void)
{
  g_autoptr (CwCommandRegistry) reg = make_registry ();
  Reply r = { 0 };

  call_sync (reg, "nope", "{}", &r);
  g_assert_error (r.error, CW_ERROR, CW_ERROR_UNKNOWN_COMMAND);
  g_assert_cmpstr (r.error->message, ==, "Unknown command: nope");

  call_sync (reg, "echo", "[1,2]", &r);
  g_assert_error (r.error, CW_ERROR, CW_ERROR_INVALID_PARAMS);
  g_assert_cmpuint (counter, ==, 0);

  call_sync (reg, "needs_session", "{}", &r);
  g_assert_cmpstr (r.error->message, ==, "sessionId is required");
  call_sync (reg, "needs_session", "{\"sessionId\": 5}", &r);
  g_assert_cmpstr (r.error->message, ==, "sessionId must be a string");
  call_sync (reg, "needs_session", "{\"sessionId\": \"s\"}", &r);
  g_assert_no_error (r.error);
  g_assert_true (JSON_NODE_HOLDS_NULL (r.result));

  /* Missing params are {} */
  call_sync (reg, "echo", NULL, &r);
  g_assert_no_error (r.error);
  g_assert_cmpuint (json_object_get_size (json_node_get_object (r.result)), ==, 0);
  reply_clear (&r);
}

static void
test_reserved_keys_stripped (void)
{
  g_autoptr (CwCommandRegistry) reg = make_registry ();
  Reply r = { 0 };
  JsonObject *seen;

  call_sync (reg, "echo", "{\"a\":1,\"_idempotencyKey\":\"k1\",\"_retryAttempt\":1}", &r);
  g_assert_no_error (r.error);
  seen = json_node_get_object (r.result);
  g_assert_true (json_object_has_member (seen, "a"));
  g_assert_false (json_object_has_member (seen, "_idempotencyKey"));
  g_assert_false (json_object_has_member (seen, "_retryAttempt"));
  reply_clear (&r);
}

static void
test_idempotent_replay (void)
{
  g_autoptr (CwCommandRegistry) reg = make_registry ();
  Reply r = { 0 };

  call_sync (reg, "echo", "{\"n\":1,\"_idempotencyKey\":\"k\",\"_retryAttempt\":1}", &r);
  call_sync (reg, "echo", "{\"n\":1,\"_idempotencyKey\":\"k\",\"_retryAttempt\":2}", &r);
  g_assert_cmpuint (counter, ==, 1);
  g_assert_cmpint (json_object_get_int_member (json_node_get_object (r.result), "n"), ==, 1);

  /* The key is bound to the params: other params are an error, not the old answer. */
  call_sync (reg, "echo", "{\"n\":2,\"_idempotencyKey\":\"k\"}", &r);
  g_assert_error (r.error, CW_ERROR, CW_ERROR_INVALID_PARAMS);
  g_assert_cmpstr (r.error->message, ==,
                   "_idempotencyKey k was already used for echo with other params");
  g_assert_cmpuint (counter, ==, 1);

  /* The key is per command, and failures are not kept: a retry runs again. */
  call_sync (reg, "fail", "{\"_idempotencyKey\":\"k\"}", &r);
  call_sync (reg, "fail", "{\"_idempotencyKey\":\"k\"}", &r);
  g_assert_cmpuint (counter, ==, 3);
  g_assert_cmpstr (r.error->message, ==, "Session not found: x");

  /* Without a key every call runs. */
  call_sync (reg, "echo", "{}", &r);
  call_sync (reg, "echo", "{}", &r);
  g_assert_cmpuint (counter, ==, 5);
  reply_clear (&r);
}

static void
on_dispatched (JsonNode *result, gchar *raw, GError *error, gpointer user_data)
{
  gchar **answer = user_data;

  g_assert_no_error (error);
  g_assert_null (*answer);
  *answer = raw != NULL ? raw : cw_json_to_string (result);
  if (result != NULL)
    json_node_unref (result);
}

static gchar *
dispatch_as (CwCommandRegistry *reg, gint64 uid, const gchar *json)
{
  g_autoptr (JsonNode) p = params (json);
  g_autoptr (CwCaller) caller = cw_caller_new (CW_CALLER_SOCKET, uid, NULL);
  gchar *answer = NULL;

  cw_command_registry_dispatch (reg, caller, "echo", p, on_dispatched, &answer);
  g_assert_nonnull (answer);
  return answer;
}

/* Two callers using the same key never see each other's answer. */
static void
test_idempotency_per_caller (void)
{
  g_autoptr (CwCommandRegistry) reg = make_registry ();
  g_autofree gchar *a1 = NULL, *a2 = NULL, *b1 = NULL;

  a1 = dispatch_as (reg, 1000, "{\"who\":\"a\",\"_idempotencyKey\":\"k\"}");
  b1 = dispatch_as (reg, 1001, "{\"who\":\"b\",\"_idempotencyKey\":\"k\"}");
  a2 = dispatch_as (reg, 1000, "{\"who\":\"a\",\"_idempotencyKey\":\"k\"}");
  g_assert_cmpstr (a1, ==, "{\"who\":\"a\"}");
  g_assert_cmpstr (b1, ==, "{\"who\":\"b\"}");
  g_assert_cmpstr (a2, ==, a1);
  g_assert_cmpuint (counter, ==, 2);
}

/* Many keys or large answers: the oldest answers go, memory stays bounded. */
static void
test_idempotency_bounded (void)
{
  g_autoptr (CwCommandRegistry) reg = make_registry ();
  g_autofree gchar *big = g_strnfill (CW_TEST_IDEM_ANSWER, 'x');
  Reply r = { 0 };

  for (guint i = 0; i < 2000; i++)
    {
      g_autofree gchar *p = g_strdup_printf ("{\"_idempotencyKey\":\"key-%u\"}", i);
      call_sync (reg, "echo", p, &r);
    }
  g_assert_cmpuint (counter, ==, 2000);
  /* key-0 was dropped (runs again), key-1999 is still known (does not). */
  call_sync (reg, "echo", "{\"_idempotencyKey\":\"key-0\"}", &r);
  call_sync (reg, "echo", "{\"_idempotencyKey\":\"key-1999\"}", &r);
  g_assert_cmpuint (counter, ==, 2001);

  /* 100 answers of 512 KiB are 50 MiB: no more than 16 MiB of them stay. */
  for (guint i = 0; i < 100; i++)
    {
      g_autofree gchar *p
          = g_strdup_printf ("{\"pad\":\"%s\",\"_idempotencyKey\":\"big-%u\"}", big, i);
      call_sync (reg, "echo", p, &r);
    }
  call_sync (reg, "echo", "{\"_idempotencyKey\":\"key-1999\"}", &r);
  g_assert_cmpuint (counter, ==, 2102);
  reply_clear (&r);
}

/* An answer too large to keep still protects the key: a repeat is told, not run again. */
static void
test_idempotency_large_answer (void)
{
  g_autoptr (CwCommandRegistry) reg = make_registry ();
  g_autofree gchar *huge = g_strnfill (2 * 1024 * 1024, 'y');
  g_autofree gchar *p = g_strdup_printf ("{\"pad\":\"%s\",\"_idempotencyKey\":\"h\"}", huge);
  Reply r = { 0 };

  call_sync (reg, "echo", p, &r);
  g_assert_no_error (r.error);
  call_sync (reg, "echo", p, &r);
  g_assert_error (r.error, CW_ERROR, CW_ERROR_EXISTS);
  g_assert_cmpstr (r.error->message, ==,
                   "echo with _idempotencyKey h already ran; its answer was too large to keep");
  g_assert_cmpuint (counter, ==, 1);
  reply_clear (&r);
}

static void
test_retry_attaches_to_running_call (void)
{
  g_autoptr (CwCommandRegistry) reg = make_registry ();
  g_autoptr (JsonNode) p1 = params ("{\"_idempotencyKey\":\"turn-1\",\"_retryAttempt\":1}");
  g_autoptr (JsonNode) p2 = params ("{\"_idempotencyKey\":\"turn-1\",\"_retryAttempt\":2}");
  JsonObject *result = json_object_new ();
  Reply a = { 0 }, b = { 0 };

  a.loop = g_main_loop_new (NULL, FALSE);
  b.loop = g_main_loop_new (NULL, FALSE);
  cw_command_registry_call (reg, NULL, "slow", p1, on_reply, &a);
  cw_command_registry_call (reg, NULL, "slow", p2, on_reply, &b);
  g_assert_cmpuint (counter, ==, 1);
  g_assert_nonnull (held);
  g_assert_cmpuint (a.answers + b.answers, ==, 0);

  json_object_set_string_member (result, "done", "yes");
  cw_invocation_return_object (held, result);
  g_clear_object (&held);
  while (a.answers == 0)
    g_main_context_iteration (NULL, TRUE);
  while (b.answers == 0)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (a.result), "done"), ==,
                   "yes");
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (b.result), "done"), ==,
                   "yes");
  g_assert_cmpuint (counter, ==, 1);
  reply_clear (&a);
  reply_clear (&b);
}

static void
test_dropped_invocation_answers (void)
{
  g_autoptr (CwCommandRegistry) reg = make_registry ();
  Reply r = { 0 };

  r.loop = g_main_loop_new (NULL, FALSE);
  cw_command_registry_call (reg, NULL, "slow", NULL, on_reply, &r);
  g_clear_object (&held);
  g_main_loop_run (r.loop);
  g_assert_cmpuint (cw_test_counted_warnings (), ==, 1);
  g_assert_error (r.error, CW_ERROR, CW_ERROR_INTERNAL);
  reply_clear (&r);
}

static void
test_callers_and_flags (void)
{
  g_autoptr (CwCommandRegistry) reg = make_registry ();
  g_autoptr (CwCaller) socket = cw_caller_new (CW_CALLER_SOCKET, 1000, NULL);
  g_autoptr (CwCaller) bus = cw_caller_new (CW_CALLER_DBUS, 0, ":1.42");
  g_autoptr (CwCaller) phone = cw_caller_new (CW_CALLER_REMOTE, -1, "dev_abc");
  g_autoptr (CwCaller) plugin = cw_caller_new (CW_CALLER_PLUGIN, -1, "cron");
  Reply r = { 0 };

  /* Each handler sees who called, as the audit log will name it. */
  call_as (reg, socket, "whoami", NULL, &r);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (r.result), "actor"), ==,
                   "socket:uid=1000");
  call_as (reg, bus, "whoami", NULL, &r);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (r.result), "actor"), ==,
                   "dbus:uid=0::1.42");
  call_as (reg, plugin, "whoami", NULL, &r);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (r.result), "actor"), ==,
                   "plugin:cron");
  call_sync (reg, "whoami", NULL, &r);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (r.result), "actor"), ==,
                   "internal");

  /* A paired device reaches only remote commands, and never a privileged one. */
  call_as (reg, phone, "whoami", NULL, &r);
  g_assert_no_error (r.error);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (r.result), "actor"), ==,
                   "remote:dev_abc");
  counter = 0;
  call_as (reg, phone, "echo", "{}", &r);
  g_assert_error (r.error, CW_ERROR, CW_ERROR_UNAUTHORIZED);
  g_assert_cmpstr (r.error->message, ==, "echo may not be called from a paired device");
  call_as (reg, phone, "rotate", NULL, &r);
  g_assert_error (r.error, CW_ERROR, CW_ERROR_UNAUTHORIZED);
  g_assert_cmpuint (counter, ==, 0);
  /* The same commands from the socket run. */
  call_as (reg, socket, "rotate", NULL, &r);
  g_assert_no_error (r.error);
  reply_clear (&r);
}

static void
test_removed_owner_explains (void)
{
  g_autoptr (CwCommandRegistry) reg = make_registry ();
  CwCommandFlags flags = 0;
  const gchar *owner = NULL;
  Reply r = { 0 };

  g_assert_true (cw_command_registry_lookup (reg, "slow", &flags, &owner));
  g_assert_cmpstr (owner, ==, "plugin-a");
  g_assert_true (cw_command_registry_lookup (reg, "whoami", &flags, NULL));
  g_assert_cmpint (flags, ==, CW_COMMAND_FLAG_REMOTE | CW_COMMAND_FLAG_READ_ONLY);
  g_assert_cmpuint (cw_command_registry_remove_owner (reg, "plugin-a", "plugin-a is disabled (x)"),
                    ==, 2);
  g_assert_false (cw_command_registry_lookup (reg, "slow", NULL, NULL));
  call_sync (reg, "slow", NULL, &r);
  g_assert_error (r.error, CW_ERROR, CW_ERROR_NOT_SUPPORTED);
  g_assert_cmpstr (r.error->message, ==, "slow is not available: plugin-a is disabled (x)");
  call_sync (reg, "never_was", NULL, &r);
  g_assert_error (r.error, CW_ERROR, CW_ERROR_UNKNOWN_COMMAND);
  reply_clear (&r);
}

static gboolean cancelled_seen;

static void
on_handler_cancelled (GCancellable *cancellable, gpointer inv)
{
  cancelled_seen = TRUE;
  cw_invocation_return_new_error (inv, CW_ERROR_CANCELLED, "caller went away");
}

static void
test_caller_vanishes (void)
{
  g_autoptr (CwCommandRegistry) reg = make_registry ();
  g_autoptr (CwCaller) socket = cw_caller_new (CW_CALLER_SOCKET, 1000, NULL);
  Reply r = { 0 };

  held = NULL;
  r.loop = g_main_loop_new (NULL, FALSE);
  cw_command_registry_call (reg, socket, "slow", NULL, on_reply, &r);
  g_assert_nonnull (held);
  g_assert_true (cw_invocation_get_caller (held) == socket);
  g_cancellable_connect (cw_invocation_get_cancellable (held), G_CALLBACK (on_handler_cancelled),
                         held, NULL);
  g_assert_false (cancelled_seen);
  cw_caller_vanish (socket);
  g_assert_true (cw_caller_has_vanished (socket));
  g_main_loop_run (r.loop);
  g_assert_true (cancelled_seen);
  g_assert_error (r.error, CW_ERROR, CW_ERROR_CANCELLED);
  g_clear_object (&held);
  reply_clear (&r);
}

/* The error domain as GError users, logs and D-Bus mapping see it. */
static void
test_error_domain (void)
{
  g_autoptr (GError) error = g_error_new_literal (CW_ERROR, CW_ERROR_NOT_FOUND, "x");

  g_assert_cmpstr (g_quark_to_string (CW_ERROR), ==, "cw-error-quark");
  g_assert_cmpuint (g_quark_try_string ("cw-error-quark"), ==, error->domain);
  g_assert_cmpstr (cw_error_to_name (CW_ERROR_NOT_FOUND), ==, "NotFound");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  cw_test_count_warnings ("dropped without an answer");
  g_test_add_func ("/cowork/registry/error-domain", test_error_domain);
  g_test_add_func ("/cowork/registry/duplicate-refused", test_duplicate_refused);
  g_test_add_func ("/cowork/registry/callers-and-flags", test_callers_and_flags);
  g_test_add_func ("/cowork/registry/removed-owner-explains", test_removed_owner_explains);
  g_test_add_func ("/cowork/registry/caller-vanishes", test_caller_vanishes);
  g_test_add_func ("/cowork/registry/unknown-and-validation", test_unknown_and_validation);
  g_test_add_func ("/cowork/registry/reserved-keys-stripped", test_reserved_keys_stripped);
  g_test_add_func ("/cowork/registry/idempotent-replay", test_idempotent_replay);
  g_test_add_func ("/cowork/registry/idempotency-per-caller", test_idempotency_per_caller);
  g_test_add_func ("/cowork/registry/idempotency-bounded", test_idempotency_bounded);
  g_test_add_func ("/cowork/registry/idempotency-large-answer", test_idempotency_large_answer);
  g_test_add_func ("/cowork/registry/retry-attaches-to-running-call",
                   test_retry_attaches_to_running_call);
  g_test_add_func ("/cowork/registry/dropped-invocation-answers", test_dropped_invocation_answers);
  return g_test_run ();
}
