/* test-remote-tunnel.c: tunnels run only when asked, with fake `tailscale` and `cloudflared`
 * on the daemon's PATH that record how they were called: "private" is tailscale serve and
 * never funnel, "public" is funnel; cloudflared's URL is read from its output and it is
 * restarted when it dies; a missing binary is a clear error; nothing runs after a restart.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-remote-test.h"

#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>

static const gchar fake_tailscale[]
    = "#!/bin/sh\n"
      "echo \"tailscale $*\" >> \"$FAKE_TUNNEL_LOG\"\n"
      "case \"$1\" in\n"
      "  status) echo "
      "'{\"BackendState\":\"Running\",\"Self\":{\"DNSName\":\"box.tail1234.ts.net.\"}}' ;;\n"
      "esac\n"
      "exit 0\n";

static const gchar fake_cloudflared[]
    = "#!/bin/sh\n"
      "echo \"cloudflared $*\" >> \"$FAKE_TUNNEL_LOG\"\n"
      "echo 'INF Requesting new quick Tunnel on trycloudflare.com...' >&2\n"
      "echo 'INF |  https://quiet-fox-12.trycloudflare.com  |' >&2\n"
      "exec sleep 600\n";

typedef struct
{
  AgentFixture *f;
  gchar *bin;
  gchar *log;
} Tunnel;

static void
write_script (const gchar *dir, const gchar *name, const gchar *text)
{
  g_autofree gchar *path = g_build_filename (dir, name, NULL);

  g_assert_true (g_file_set_contents (path, text, -1, NULL));
  g_assert_cmpint (g_chmod (path, 0755), ==, 0);
}

static Tunnel *
tunnel_new (gboolean with_binaries)
{
  Tunnel *t = g_new0 (Tunnel, 1);
  g_autofree gchar *path = NULL;

  t->f = remote_fixture_new (FALSE);
  t->bin = g_build_filename (t->f->daemon->dir, "bin", NULL);
  t->log = g_build_filename (t->f->daemon->dir, "tunnel.log", NULL);
  g_assert_cmpint (g_mkdir_with_parents (t->bin, 0700), ==, 0);
  if (with_binaries)
    {
      write_script (t->bin, "tailscale", fake_tailscale);
      write_script (t->bin, "cloudflared", fake_cloudflared);
    }
  path = g_strdup_printf ("%s:/usr/bin:/bin", t->bin);
  cw_test_daemon_setenv (t->f->daemon, "PATH", path);
  cw_test_daemon_setenv (t->f->daemon, "FAKE_TUNNEL_LOG", t->log);
  return t;
}

static void
tunnel_free (Tunnel *t)
{
  agent_fixture_free (t->f);
  g_free (t->bin);
  g_free (t->log);
  g_free (t);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Tunnel, tunnel_free)

static gchar *
read_log (Tunnel *t)
{
  gchar *text = NULL;

  if (!g_file_get_contents (t->log, &text, NULL, NULL))
    return g_strdup ("");
  return text;
}

static guint
count (const gchar *text, const gchar *needle)
{
  guint n = 0;

  for (const gchar *p = strstr (text, needle); p != NULL; p = strstr (p + 1, needle))
    n++;
  return n;
}

/* Waits until the log holds @needle @n times. */
static void
wait_log (Tunnel *t, const gchar *needle, guint n)
{
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  for (;;)
    {
      g_autofree gchar *text = read_log (t);
      if (count (text, needle) >= n)
        return;
      if (g_get_monotonic_time () > deadline)
        g_error ("the tunnel log has no %u× '%s':\n%s", n, needle, text);
      g_usleep (50000);
    }
}

static JsonObject *
status (Tunnel *t)
{
  return remote_call (t->f, "remote_access_get_status", NULL);
}

static void
test_tailscale_visibility (void)
{
  g_autoptr (Tunnel) t = tunnel_new (TRUE);
  g_autofree gchar *base = NULL, *serve = NULL, *funnel = NULL, *log = NULL;
  g_autoptr (JsonObject) s = NULL, started = NULL;

  agent_fixture_start (t->f);
  base = remote_enable (t->f);
  s = status (t);
  g_assert_true (json_object_get_boolean_member (s, "tunnelBinaryInstalled"));
  g_assert_true (g_str_has_prefix (json_object_get_string_member (s, "tunnelBinaryPath"), t->bin));
  /* Enabling publishes nothing. */
  log = read_log (t);
  g_assert_cmpuint (count (log, " serve "), ==, 0);
  g_assert_cmpuint (count (log, "funnel"), ==, 0);

  /* Private: the tailnet only, through serve; never funnel. */
  json_object_unref (
      remote_call (t->f, "remote_access_set_tunnel_options", "{\"tunnelVisibility\":\"private\"}"));
  started = remote_call (t->f, "remote_access_start_tunnel", NULL);
  g_assert_cmpstr (json_object_get_string_member (started, "tunnelState"), ==, "running");
  g_assert_cmpstr (json_object_get_string_member (started, "tunnelPublicUrl"), ==,
                   "https://box.tail1234.ts.net");
  serve = g_strdup_printf ("tailscale serve --bg --https=443 %s", base);
  wait_log (t, serve, 1);
  json_object_unref (remote_call (t->f, "remote_access_stop_tunnel", NULL));
  wait_log (t, "tailscale serve --https=443 off", 1);
  g_clear_pointer (&log, g_free);
  log = read_log (t);
  g_assert_cmpuint (count (log, "funnel"), ==, 0);

  /* Public: funnel, said so. */
  json_object_unref (
      remote_call (t->f, "remote_access_set_tunnel_options", "{\"tunnelVisibility\":\"public\"}"));
  json_object_unref (remote_call (t->f, "remote_access_start_tunnel", NULL));
  funnel = g_strdup_printf ("tailscale funnel --bg --https=443 %s", base);
  wait_log (t, funnel, 1);
  /* A running tunnel stops when its visibility changes. */
  json_object_unref (
      remote_call (t->f, "remote_access_set_tunnel_options", "{\"tunnelVisibility\":\"private\"}"));
  wait_log (t, "tailscale funnel --https=443 off", 1);
  g_clear_pointer (&s, json_object_unref);
  s = status (t);
  g_assert_cmpstr (json_object_get_string_member (s, "tunnelState"), ==, "stopped");

  g_assert_cmpuint (remote_audit (t->f, "remote-access.tunnel.start")->len, ==, 2);
  g_assert_cmpuint (remote_audit (t->f, "remote-access.tunnel.stop")->len, ==, 2);
  {
    g_autoptr (GPtrArray) s2 = remote_audit (t->f, "remote-access.tunnel.started");
    JsonObject *first = json_object_get_object_member (g_ptr_array_index (s2, 1), "details");
    g_assert_cmpstr (json_object_get_string_member (first, "command"), ==, "serve");
  }

  /* The daemon stops: the funnel goes with it. */
  json_object_unref (
      remote_call (t->f, "remote_access_set_tunnel_options", "{\"tunnelVisibility\":\"public\"}"));
  json_object_unref (remote_call (t->f, "remote_access_start_tunnel", NULL));
  wait_log (t, funnel, 2);
  agent_fixture_stop (t->f, SIGTERM);
  wait_log (t, "tailscale funnel --https=443 off", 2);

  /* It is killed: tailscaled keeps the funnel, so the next start turns it off. */
  agent_fixture_start (t->f);
  g_free (base);
  base = remote_enable (t->f);
  g_clear_pointer (&funnel, g_free);
  funnel = g_strdup_printf ("tailscale funnel --bg --https=443 %s", base);
  json_object_unref (remote_call (t->f, "remote_access_start_tunnel", NULL));
  wait_log (t, funnel, 1);
  agent_fixture_stop (t->f, SIGKILL);
  agent_fixture_start (t->f);
  wait_log (t, "tailscale funnel --https=443 off", 3);
  g_assert_cmpuint (remote_audit (t->f, "remote-access.tunnel.cleanup")->len, ==, 1);
  g_clear_pointer (&s, json_object_unref);
  s = status (t);
  g_assert_cmpstr (json_object_get_string_member (s, "tunnelState"), ==, "stopped");
  g_assert_cmpstr (
      json_object_get_string_member (
          json_array_get_object_element (json_object_get_array_member (s, "diagnostics"), 0),
          "step"),
      ==, "config_repair");
  /* Only once. */
  agent_fixture_stop (t->f, SIGTERM);
  agent_fixture_start (t->f);
  g_assert_cmpuint (remote_audit (t->f, "remote-access.tunnel.cleanup")->len, ==, 1);
  agent_fixture_stop (t->f, SIGTERM);
}

static gint64
tunnel_pid (Tunnel *t)
{
  g_autoptr (JsonObject) s = status (t);

  return json_object_get_int_member_with_default (s, "tunnelPid", 0);
}

static gboolean
process_exists (gint64 pid)
{
  g_autofree gchar *path = g_strdup_printf ("/proc/%" G_GINT64_FORMAT "/stat", pid);
  g_autofree gchar *text = NULL;

  /* A zombie is gone for our purpose. */
  return g_file_get_contents (path, &text, NULL, NULL) && strstr (text, ") Z ") == NULL;
}

static void
test_cloudflared_supervised (void)
{
  g_autoptr (Tunnel) t = tunnel_new (TRUE);
  g_autofree gchar *base = NULL, *expected = NULL;
  g_autoptr (JsonObject) started = NULL, again = NULL, qr = NULL;
  gint64 pid, pid2 = 0, deadline;

  agent_fixture_start (t->f);
  base = remote_enable (t->f);
  json_object_unref (
      remote_call (t->f, "remote_access_set_tunnel_mode", "{\"tunnelMode\":\"cloudflare\"}"));
  started = remote_call (t->f, "remote_access_start_tunnel", NULL);
  g_assert_cmpstr (json_object_get_string_member (started, "tunnelState"), ==, "running");
  g_assert_cmpstr (json_object_get_string_member (started, "tunnelPublicUrl"), ==,
                   "https://quiet-fox-12.trycloudflare.com");
  expected = g_strdup_printf ("cloudflared tunnel --url %s --no-autoupdate", base);
  wait_log (t, expected, 1);
  /* Phones pair against the tunnel's URL. */
  qr = remote_call (t->f, "remote_access_generate_qr", NULL);
  g_assert_nonnull (strstr (json_object_get_string_member (qr, "pairingUri"), "cowork://pair?d="));
  pid = tunnel_pid (t);
  g_assert_cmpint (pid, >, 0);

  /* It dies: restarted after a backoff, with its URL read again. */
  g_assert_cmpint (kill ((pid_t) pid, SIGKILL), ==, 0);
  wait_log (t, expected, 2);
  deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  while ((pid2 = tunnel_pid (t)) == 0 || pid2 == pid)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (50000);
    }
  again = status (t);
  g_assert_cmpstr (json_object_get_string_member (again, "tunnelState"), ==, "running");

  /* Stopped: the child goes. */
  json_object_unref (remote_call (t->f, "remote_access_stop_tunnel", NULL));
  deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  while (process_exists (pid2))
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (50000);
    }

  /* After a restart nothing is started again, even remote access itself. */
  agent_fixture_stop (t->f, SIGTERM);
  agent_fixture_start (t->f);
  g_usleep (500000);
  {
    g_autofree gchar *log = read_log (t);
    g_autoptr (JsonObject) s = status (t);
    g_assert_cmpuint (count (log, "cloudflared tunnel"), ==, 2);
    g_assert_cmpstr (json_object_get_string_member (s, "tunnelState"), ==, "stopped");
    g_assert_false (json_object_get_boolean_member (s, "enabled"));
  }
  agent_fixture_stop (t->f, SIGTERM);
}

static void
test_custom_and_missing (void)
{
  g_autoptr (Tunnel) t = tunnel_new (FALSE);
  g_autofree gchar *err = NULL, *err2 = NULL, *err3 = NULL;
  g_autoptr (JsonObject) s = NULL, custom = NULL;
  JsonArray *diagnostics;

  agent_fixture_start (t->f);
  remote_enable (t->f);
  s = status (t);
  g_assert_false (json_object_get_boolean_member (s, "tunnelBinaryInstalled"));
  err = agent_call_error (t->f->client, "remote_access_start_tunnel", NULL);
  g_assert_nonnull (strstr (err, "tailscale is not installed"));
  g_assert_nonnull (strstr (err, "Install Tailscale"));
  g_clear_pointer (&s, json_object_unref);
  s = status (t);
  g_assert_cmpstr (json_object_get_string_member (s, "tunnelState"), ==, "error");
  diagnostics = json_object_get_array_member (s, "diagnostics");
  g_assert_cmpstr (
      json_object_get_string_member (json_array_get_object_element (diagnostics, 0), "level"), ==,
      "error");
  err2 = agent_call_error (t->f->client, "remote_access_install_tunnel_binary", NULL);
  g_assert_nonnull (strstr (err2, "does not install system packages"));

  /* Custom: the user's own tunnel, needs a URL. */
  json_object_unref (
      remote_call (t->f, "remote_access_set_tunnel_mode", "{\"tunnelMode\":\"custom\"}"));
  err3 = agent_call_error (t->f->client, "remote_access_start_tunnel", NULL);
  g_assert_nonnull (strstr (err3, "publicBaseUrl"));
  {
    g_autoptr (JsonObject) bad = remote_call (t->f, "remote_access_set_public_base_url",
                                              "{\"publicBaseUrl\":\"ftp://phone.example.org\"}");
    g_assert_true (json_object_get_null_member (bad, "publicBaseUrl"));
  }
  json_object_unref (remote_call (t->f, "remote_access_set_public_base_url",
                                  "{\"publicBaseUrl\":\"https://phone.example.org/x/?q=1#h\"}"));
  custom = remote_call (t->f, "remote_access_start_tunnel", NULL);
  g_assert_cmpstr (json_object_get_string_member (custom, "tunnelState"), ==, "running");
  g_assert_cmpstr (json_object_get_string_member (custom, "publicBaseUrl"), ==,
                   "https://phone.example.org/x");
  {
    g_autofree gchar *log = read_log (t);
    g_assert_cmpstr (log, ==, "");
  }
  agent_fixture_stop (t->f, SIGTERM);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/remote-access/tunnel/tailscale-visibility", test_tailscale_visibility);
  g_test_add_func ("/remote-access/tunnel/cloudflared-supervised", test_cloudflared_supervised);
  g_test_add_func ("/remote-access/tunnel/custom-and-missing", test_custom_and_missing);
  return g_test_run ();
}
