/* cw-core-commands.c: ping, health, readiness, initialization, bootstrap state and event
 * replay. Sessions come from whichever plugin contributes them; the core has none.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cowork-host.h"
#include "cw-core-commands-private.h"

#define DAEMON(p) ((CwDaemon *) (p))

static CwEventBus *
bus_of (gpointer daemon)
{
  return cw_context_get_event_bus (cw_daemon_get_context (DAEMON (daemon)));
}

static guint
session_count (gpointer daemon)
{
  return cw_context_count_sessions (cw_daemon_get_context (DAEMON (daemon)));
}

static void
cmd_ping (CwInvocation *inv, gpointer daemon)
{
  JsonObject *result = json_object_new ();

  json_object_set_boolean_member (result, "pong", TRUE);
  json_object_set_int_member (result, "timestamp", cw_now_ms ());
  cw_invocation_return_object (inv, result);
}

static void
cmd_daemon_health (CwInvocation *inv, gpointer daemon)
{
  JsonObject *result = cw_daemon_get_health (DAEMON (daemon));
  gboolean ready = cw_daemon_is_ready (DAEMON (daemon));

  json_object_set_string_member (result, "status", ready ? "healthy" : "starting");
  json_object_set_boolean_member (result, "initialized", ready);
  json_object_set_int_member (result, "sessionCount", session_count (daemon));
  json_object_set_int_member (result, "timestamp", cw_now_ms ());
  cw_invocation_return_object (inv, result);
}

static void
cmd_daemon_ready (CwInvocation *inv, gpointer daemon)
{
  JsonObject *result = json_object_new ();
  CwEventBus *bus = bus_of (daemon);

  json_object_set_boolean_member (result, "ready", cw_daemon_is_ready (DAEMON (daemon)));
  json_object_set_int_member (result, "sessionCount", session_count (daemon));
  json_object_set_int_member (result, "eventCursor", cw_event_bus_get_cursor (bus));
  json_object_set_string_member (result, "bootId", cw_event_bus_get_boot_id (bus));
  json_object_set_int_member (result, "timestamp", cw_now_ms ());
  cw_invocation_return_object (inv, result);
}

static void
cmd_get_initialization_status (CwInvocation *inv, gpointer daemon)
{
  JsonObject *result = json_object_new ();

  json_object_set_boolean_member (result, "initialized", cw_daemon_is_ready (DAEMON (daemon)));
  json_object_set_int_member (result, "sessionCount", session_count (daemon));
  cw_invocation_return_object (inv, result);
}

/* The daemon initializes itself at start; this confirms it serves the caller's dir. */
static void
cmd_initialize (CwInvocation *inv, gpointer daemon)
{
  g_autoptr (GError) error = NULL;
  const gchar *dir = cw_invocation_get_string (inv, "appDataDir", TRUE, &error);
  const gchar *ours = cw_daemon_get_paths (DAEMON (daemon))->app_data_dir;
  g_autofree gchar *given = NULL;
  JsonObject *result;

  if (dir == NULL)
    {
      cw_invocation_return_error (inv, g_steal_pointer (&error));
      return;
    }
  given = g_canonicalize_filename (dir, NULL);
  if (g_strcmp0 (given, ours) != 0)
    {
      cw_invocation_return_new_error (inv, CW_ERROR_INVALID_PARAMS,
                                      "appDataDir %s does not match the daemon's %s", given, ours);
      return;
    }
  result = json_object_new ();
  json_object_set_boolean_member (result, "success", TRUE);
  json_object_set_int_member (result, "sessionsRestored", session_count (daemon));
  cw_invocation_return_object (inv, result);
}

/* Built as text: with thousands of sessions, contributors hand over cached JSON. */
static void
cmd_agent_get_bootstrap_state (CwInvocation *inv, gpointer daemon)
{
  static gsize size_hint = 4096; /* the last answer's size: no regrowing large buffers */
  CwEventBus *bus = bus_of (daemon);
  g_autoptr (GString) sessions = g_string_sized_new (size_hint / 2);
  g_autoptr (GString) runtime = g_string_sized_new (size_hint / 2);
  GString *out;

  CwContext *context = cw_daemon_get_context (DAEMON (daemon));

  cw_context_bootstrap_text (context, sessions, runtime);
  out = g_string_sized_new (sessions->len + runtime->len + 160);
  g_string_append_printf (out, "{\"eventCursor\":%" G_GINT64_FORMAT ",\"sessions\":[",
                          cw_event_bus_get_cursor (bus));
  g_string_append_len (out, sessions->str, sessions->len);
  g_string_append (out, "],\"runtime\":{");
  g_string_append_len (out, runtime->str, runtime->len);
  g_string_append_c (out, '}');
  /* Members plugins contribute (cron, workflowRuns, ...) and the core's pendingInteractions. */
  cw_context_append_bootstrap_members (context, out);
  /* The boot id is cw_make_id() output: base64url, nothing to escape. */
  g_string_append_printf (out, ",\"bootId\":\"%s\",\"timestamp\":%" G_GINT64_FORMAT "}",
                          cw_event_bus_get_boot_id (bus), cw_now_ms ());
  size_hint = out->len + out->len / 8;
  cw_invocation_return_json_text (inv, g_string_free (out, FALSE));
}

static void
cmd_agent_get_events_since (CwInvocation *inv, gpointer daemon)
{
  g_autoptr (GError) error = NULL;
  JsonObject *params = cw_invocation_get_params (inv);
  const gchar *cursor_name = json_object_has_member (params, "afterSeq") ? "afterSeq" : "cursor";
  gint64 after = 0, limit = 0;
  gchar *result;

  if (!cw_invocation_get_int (inv, cursor_name, 0, &after, &error)
      || !cw_invocation_get_int (inv, "limit", 0, &limit, &error))
    {
      cw_invocation_return_error (inv, g_steal_pointer (&error));
      return;
    }
  result = cw_event_bus_get_events_since_json (bus_of (daemon), after, limit, &error);
  if (result == NULL)
    {
      cw_invocation_return_error (inv, g_steal_pointer (&error));
      return;
    }
  cw_invocation_return_json_text (inv, result);
}

static void
cmd_agent_subscribe_events (CwInvocation *inv, gpointer daemon)
{
  JsonObject *result = json_object_new ();
  CwEventBus *bus = bus_of (daemon);

  json_object_set_boolean_member (result, "ok", TRUE);
  json_object_set_int_member (result, "eventCursor", cw_event_bus_get_cursor (bus));
  json_object_set_string_member (result, "bootId", cw_event_bus_get_boot_id (bus));
  cw_invocation_return_object (inv, result);
}

static void
cmd_verify_persistence (CwInvocation *inv, gpointer daemon)
{
  CwStore *store = cw_context_get_store (cw_daemon_get_context (DAEMON (daemon)));
  g_autoptr (GError) error = NULL;
  JsonArray *issues = json_array_new ();
  JsonObject *result = json_object_new ();
  guint sessions = session_count (daemon);

  if (!cw_store_check (store, &error))
    json_array_add_string_element (issues, error->message);
  json_object_set_boolean_member (result, "healthy", json_array_get_length (issues) == 0);
  json_object_set_boolean_member (result, "initialized", cw_daemon_is_ready (DAEMON (daemon)));
  json_object_set_int_member (result, "sessionCount", sessions);
  json_object_set_int_member (result, "persistedCount", sessions);
  json_object_set_array_member (result, "issues", issues);
  cw_invocation_return_object (inv, result);
}

static void
cmd_daemon_rotate_token (CwInvocation *inv, gpointer daemon)
{
  g_autoptr (GError) error = NULL;
  JsonObject *result;

  if (!cw_daemon_rotate_token (DAEMON (daemon),
                               cw_caller_get_actor (cw_invocation_get_caller (inv)), &error))
    {
      cw_invocation_return_error (inv, g_steal_pointer (&error));
      return;
    }
  result = json_object_new ();
  json_object_set_boolean_member (result, "rotated", TRUE);
  json_object_set_string_member (result, "tokenFile",
                                 cw_daemon_get_paths (DAEMON (daemon))->token_file);
  cw_invocation_return_object (inv, result);
}

static void
cmd_audit_list (CwInvocation *inv, gpointer daemon)
{
  CwStore *store = cw_context_get_store (cw_daemon_get_context (DAEMON (daemon)));
  g_autoptr (GError) error = NULL;
  JsonArray *entries;
  JsonObject *result;
  gint64 limit = 100;

  if (!cw_invocation_get_int (inv, "limit", 100, &limit, &error))
    {
      cw_invocation_return_error (inv, g_steal_pointer (&error));
      return;
    }
  entries = cw_audit_list (store, CLAMP (limit, 1, 10000), &error);
  if (entries == NULL)
    {
      cw_invocation_return_error (inv, g_steal_pointer (&error));
      return;
    }
  result = json_object_new ();
  json_object_set_array_member (result, "entries", entries);
  cw_invocation_return_object (inv, result);
}

void
cw_core_commands_register (CwDaemon *daemon, CwCommandRegistry *registry)
{
  static const struct
  {
    const gchar *name;
    CwCommandFunc func;
    CwCommandFlags flags;
  } commands[] = {
    { "ping", cmd_ping, CW_COMMAND_FLAG_REMOTE | CW_COMMAND_FLAG_READ_ONLY },
    { "daemon_health", cmd_daemon_health, CW_COMMAND_FLAG_READ_ONLY },
    { "daemon_ready", cmd_daemon_ready, CW_COMMAND_FLAG_READ_ONLY },
    { "initialize", cmd_initialize, CW_COMMAND_FLAG_NONE },
    { "get_initialization_status", cmd_get_initialization_status, CW_COMMAND_FLAG_READ_ONLY },
    { "agent_get_bootstrap_state", cmd_agent_get_bootstrap_state,
      CW_COMMAND_FLAG_REMOTE | CW_COMMAND_FLAG_READ_ONLY },
    { "agent_get_events_since", cmd_agent_get_events_since,
      CW_COMMAND_FLAG_REMOTE | CW_COMMAND_FLAG_READ_ONLY },
    { "agent_subscribe_events", cmd_agent_subscribe_events, CW_COMMAND_FLAG_READ_ONLY },
    { "verify_persistence", cmd_verify_persistence, CW_COMMAND_FLAG_READ_ONLY },
    { "daemon_rotate_token", cmd_daemon_rotate_token, CW_COMMAND_FLAG_PRIVILEGED },
    { "audit_list", cmd_audit_list, CW_COMMAND_FLAG_READ_ONLY },
  };

  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    {
      g_autoptr (GError) error = NULL;
      if (!cw_command_registry_add (registry, commands[i].name, "core", commands[i].flags,
                                    commands[i].func, daemon, NULL, &error))
        g_critical ("%s", error->message);
    }
}
