/* test-agent-ctl.c: `coworkctl chat` and `coworkctl sessions` against the real daemon and
 * cw-fake-llm, with the terminal played through stdin/stdout pipes.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-agent-test.h"

static void
test_chat (void)
{
  g_autoptr (AgentFixture) f = agent_fixture_new ();
  g_autofree gchar *out = NULL;
  g_autofree gchar *listing = NULL;
  g_autofree gchar *path = NULL;
  g_autofree gchar *contents = NULL;
  const gchar *chat_args[] = { "chat", "--dir", NULL, NULL };
  const gchar *sessions_args[] = { "sessions", NULL };
  const gchar *missing_args[] = { "chat", "sess_doesnotexist00", NULL };
  gint status;

  if (g_getenv ("COWORKCTL") == NULL)
    {
      g_test_skip ("COWORKCTL is not set");
      return;
    }
  agent_fixture_start (f);
  if (!agent_fixture_start_llm (
          f, "{\"responses\":["
             "{\"events\":[{\"text\":\"Sure, writing.\"},{\"toolCall\":{\"id\":\"c1\",\"name\":"
             "\"write_file\",\"args\":{\"path\":\"../hello.txt\",\"content\":\"hello\"}}}],"
             "\"stopReason\":\"tool_use\"},"
             "{\"events\":[{\"text\":\"All done.\"}],\"stopReason\":\"end_turn\"}]}"))
    return;
  chat_args[2] = f->workdir;
  /* The message, the answer to the permission prompt, then leave. */
  out = agent_run_ctl (f, "Write hello.txt\na\n/quit\n", chat_args);
  g_assert_nonnull (strstr (out, "Sure, writing."));
  g_assert_nonnull (strstr (out, "[tool] write_file"));
  g_assert_nonnull (strstr (out, "[permission] file_write"));
  g_assert_nonnull (strstr (out, "All done."));
  path = g_build_filename (f->daemon->dir, "hello.txt", NULL);
  g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
  g_assert_cmpstr (contents, ==, "hello");

  listing = agent_run_ctl (f, "", sessions_args);
  g_assert_nonnull (strstr (listing, "sess_"));
  g_assert_nonnull (strstr (listing, "completed"));

  /* /help and other /lines stay in coworkctl; Ctrl-D (end of input) leaves on a new line. */
  g_clear_pointer (&out, g_free);
  out = agent_run_ctl (f, "/help\n/nosuch\n", chat_args);
  g_assert_nonnull (strstr (out, "/quit   leave"));
  g_assert_nonnull (strstr (out, "unknown command /nosuch (try /help)"));
  g_assert_true (g_str_has_suffix (out, "> \n"));
  g_assert_null (strstr (out, "[failed]"));
  g_assert_null (strstr (out, "[error]"));

  /* A message that fails (there is no such session) makes chat exit 1. */
  g_clear_pointer (&out, g_free);
  out = agent_run_ctl_status (f, "hello\n/quit\n", missing_args, &status);
  g_assert_nonnull (strstr (out, "[failed]"));
  g_assert_cmpint (status, ==, 1);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cowork/agent/ctl/chat", test_chat);
  return g_test_run ();
}
