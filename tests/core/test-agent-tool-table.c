/* test-agent-tool-table.c: the context's table of agent tools plugins contribute: names and
 * schemas checked, no clash with another plugin's tool or a reserved built-in name, each
 * plugin removes only its own, and everything of a plugin gone when it stops.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cowork-host.h"
#include "cw-test-daemon.h"

#define SCHEMA "{\"type\":\"object\",\"properties\":{\"text\":{\"type\":\"string\"}}}"

typedef CwTestContextFixture Fixture;

static gboolean
add (Fixture *f, const gchar *owner, const gchar *name, const gchar *schema, guint flags,
     GError **error)
{
  return cw_context_add_agent_tool (f->context, owner, name, "Does a thing.", schema, "thing_run",
                                    flags, error);
}

static void
add_fails (Fixture *f, const gchar *owner, const gchar *name, const gchar *schema, guint flags,
           CwError code, const gchar *message_part)
{
  g_autoptr (GError) error = NULL;

  g_assert_false (add (f, owner, name, schema, flags, &error));
  g_assert_error (error, CW_ERROR, code);
  g_assert_nonnull (strstr (error->message, message_part));
}

/* The names of the listed tools, comma-separated. */
static gchar *
names (Fixture *f)
{
  g_autoptr (GPtrArray) tools = cw_context_list_agent_tools (f->context);
  g_autoptr (GString) out = g_string_new (NULL);

  for (guint i = 0; i < tools->len; i++)
    g_string_append_printf (out, "%s%s", i > 0 ? "," : "",
                            cw_agent_tool_get_name (g_ptr_array_index (tools, i)));
  return g_string_free (g_steal_pointer (&out), FALSE);
}

static void
test_add_and_read (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (CwAgentTool) tool = NULL;
  g_autoptr (CwAgentTool) bare = NULL;
  g_autofree gchar *listed = NULL;
  JsonObject *params;

  g_assert_true (
      add (f, "integrations", "send_notification_irc", SCHEMA, CW_AGENT_TOOL_ASK, &error));
  g_assert_no_error (error);
  g_assert_true (cw_context_add_agent_tool (f->context, "media", "make_image", "Draws.", NULL,
                                            "media_draw", CW_AGENT_TOOL_READ_ONLY, &error));
  g_assert_no_error (error);
  listed = names (f);
  g_assert_cmpstr (listed, ==, "send_notification_irc,make_image");

  tool = cw_context_lookup_agent_tool (f->context, "send_notification_irc");
  g_assert_nonnull (tool);
  g_assert_cmpstr (cw_agent_tool_get_owner (tool), ==, "integrations");
  g_assert_cmpstr (cw_agent_tool_get_description (tool), ==, "Does a thing.");
  g_assert_cmpstr (cw_agent_tool_get_command (tool), ==, "thing_run");
  g_assert_cmpint (cw_agent_tool_get_flags (tool), ==, CW_AGENT_TOOL_ASK);
  params = json_node_get_object (cw_agent_tool_get_parameters (tool));
  g_assert_true (
      json_object_has_member (json_object_get_object_member (params, "properties"), "text"));
  /* Without a schema: an object without properties. */
  bare = cw_context_lookup_agent_tool (f->context, "make_image");
  params = json_node_get_object (cw_agent_tool_get_parameters (bare));
  g_assert_cmpstr (json_object_get_string_member (params, "type"), ==, "object");
  g_assert_null (cw_context_lookup_agent_tool (f->context, "nothing_here"));
}

static void
test_bad_tools (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *long_name = g_strnfill (65, 'a');
  g_autofree gchar *max_name = g_strnfill (64, 'a');
  g_autofree gchar *listed = NULL;

  add_fails (f, "p", "", SCHEMA, 0, CW_ERROR_INVALID_PARAMS, "is not [a-z]");
  add_fails (f, "p", "9lives", SCHEMA, 0, CW_ERROR_INVALID_PARAMS, "is not [a-z]");
  add_fails (f, "p", "Send", SCHEMA, 0, CW_ERROR_INVALID_PARAMS, "is not [a-z]");
  add_fails (f, "p", "send-it", SCHEMA, 0, CW_ERROR_INVALID_PARAMS, "is not [a-z]");
  add_fails (f, "p", long_name, SCHEMA, 0, CW_ERROR_INVALID_PARAMS, "is not [a-z]");
  add_fails (f, "p", "t", "{\"type\":", 0, CW_ERROR_INVALID_PARAMS, "parameters are not JSON");
  add_fails (f, "p", "t", "[]", 0, CW_ERROR_INVALID_PARAMS, "JSON schema object");
  add_fails (f, "p", "t", "\"object\"", 0, CW_ERROR_INVALID_PARAMS, "JSON schema object");
  add_fails (f, "p", "t", "{\"type\":\"string\"}", 0, CW_ERROR_INVALID_PARAMS,
             "JSON schema object");
  add_fails (f, "p", "t", SCHEMA, 1 << 5, CW_ERROR_INVALID_PARAMS, "unknown flags");
  g_assert_false (cw_context_add_agent_tool (f->context, "p", "t", "", SCHEMA, "c", 0, &error));
  g_assert_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS);
  g_clear_error (&error);
  g_assert_false (cw_context_add_agent_tool (f->context, "p", "t", "d", SCHEMA, NULL, 0, &error));
  g_assert_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS);
  g_clear_error (&error);
  listed = names (f);
  g_assert_cmpstr (listed, ==, "");
  /* The longest name there may be. */
  g_assert_true (add (f, "p", max_name, SCHEMA, 0, &error));
  g_assert_no_error (error);
}

static void
test_clashes (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *listed = NULL;

  cw_context_reserve_agent_tool (f->context, "agent", "read_file");
  add_fails (f, "integrations", "read_file", SCHEMA, 0, CW_ERROR_EXISTS,
             "read_file is a built-in tool of agent");
  g_assert_true (add (f, "integrations", "send_notification_irc", SCHEMA, 0, &error));
  add_fails (f, "media", "send_notification_irc", SCHEMA, 0, CW_ERROR_EXISTS,
             "already registered by integrations");
  add_fails (f, "integrations", "send_notification_irc", SCHEMA, 0, CW_ERROR_EXISTS,
             "already registered by integrations");

  /* Only the owner removes its tool. */
  g_assert_false (cw_context_remove_agent_tool (f->context, "media", "send_notification_irc"));
  g_assert_false (cw_context_remove_agent_tool (f->context, "integrations", "nothing"));
  g_assert_true (
      cw_context_remove_agent_tool (f->context, "integrations", "send_notification_irc"));
  listed = names (f);
  g_assert_cmpstr (listed, ==, "");
  g_clear_pointer (&listed, g_free);
  /* Then the name is free again. */
  g_assert_true (add (f, "media", "send_notification_irc", SCHEMA, 0, &error));
  g_assert_no_error (error);

  /* A reservation made later (the agent loaded after the plugin) wins. */
  cw_test_count_warnings ("reserves the name");
  cw_context_reserve_agent_tool (f->context, "agent", "send_notification_irc");
  g_assert_cmpuint (cw_test_counted_warnings (), ==, 1);
  listed = names (f);
  g_assert_cmpstr (listed, ==, "");
}

static void
test_remove_owner (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (CwAgentTool) held = NULL;
  g_autofree gchar *listed = NULL;

  cw_context_reserve_agent_tool (f->context, "agent", "execute");
  g_assert_true (add (f, "integrations", "send_notification_irc", SCHEMA, 0, &error));
  g_assert_true (add (f, "media", "make_image", SCHEMA, 0, &error));
  g_assert_true (add (f, "integrations", "send_notification_email", SCHEMA, 0, &error));
  held = cw_context_lookup_agent_tool (f->context, "send_notification_irc");

  /* The plugin stopped or was disabled. */
  cw_context_remove_owner (f->context, "integrations");
  listed = names (f);
  g_assert_cmpstr (listed, ==, "make_image");
  /* A reference taken before stays valid. */
  g_assert_cmpstr (cw_agent_tool_get_command (held), ==, "thing_run");
  /* The agent stopped: its names are free. */
  cw_context_remove_owner (f->context, "agent");
  g_assert_true (add (f, "media", "execute", SCHEMA, 0, &error));
  g_assert_no_error (error);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(path, func)                                                                            \
  g_test_add ("/cowork/agent-tool-table/" path, Fixture, NULL, cw_test_context_setup, func,        \
              cw_test_context_teardown)
  ADD ("add-and-read", test_add_and_read);
  ADD ("bad-tools", test_bad_tools);
  ADD ("clashes", test_clashes);
  ADD ("remove-owner", test_remove_owner);
#undef ADD
  return g_test_run ();
}
