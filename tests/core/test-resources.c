/* test-resources.c: the real coworkd keeps its memory and file descriptors bounded against
 * clients built to exhaust them: reused idempotency keys, clients that send but never read,
 * unauthenticated floods, more connections than descriptors.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#define _GNU_SOURCE
#include "cw-test-daemon.h"

#include <sys/resource.h>
#include <unistd.h>

static gint64
count_echoes (CwClient *c, const gchar *text)
{
  g_autoptr (JsonNode) r
      = cw_test_daemon_call (c, "agent_get_events_since", "{\"afterSeq\":0,\"limit\":10000}");
  JsonArray *events = json_object_get_array_member (cw_test_obj (r), "events");
  gint64 n = 0;

  for (guint i = 0; i < json_array_get_length (events); i++)
    {
      JsonObject *ev = json_array_get_object_element (events, i);
      JsonObject *data = json_object_get_object_member (ev, "data");
      if (g_strcmp0 (json_object_get_string_member (ev, "type"), "example:echo") == 0
          && g_strcmp0 (json_object_get_string_member_with_default (data, "text", ""), text) == 0)
        n++;
    }
  return n;
}

/* @n example:echo events with a text of @size bytes each. */
static void
fill_events (CwClient *c, guint n, gsize size)
{
  g_autofree gchar *text = g_strnfill (size, 'e');
  g_autofree gchar *params = g_strdup_printf ("{\"text\":\"%s\"}", text);

  for (guint i = 0; i < n; i++)
    {
      g_autoptr (JsonNode) r = cw_test_daemon_call (c, "example_echo", params);
    }
}

static JsonObject *
keyed_echo (CwClient *c, const gchar *token, const gchar *key, const gchar *text)
{
  g_autofree gchar *line
      = g_strdup_printf ("{\"id\":\"%s\",\"command\":\"example_echo\",\"params\":{\"text\":\"%s\","
                         "\"_idempotencyKey\":\"%s\"},\"authToken\":\"%s\"}\n",
                         key, text, key, token);

  return cw_test_raw_request (c, line);
}

static void
test_idempotency_over_socket (void)
{
  g_autoptr (CwTestDaemon) d = cw_test_daemon_new ();
  g_autoptr (CwClient) c = NULL;
  g_autofree gchar *token = NULL;
  gint64 rss_before, rss_after;

  cw_test_daemon_start (d);
  c = cw_test_daemon_connect (d);
  token = cw_test_daemon_read_token (d);

  /* A retry gets the first answer; the command ran once. */
  {
    g_autoptr (JsonObject) r1 = keyed_echo (c, token, "k1", "once");
    g_autoptr (JsonObject) r2 = keyed_echo (c, token, "k1", "once");
    g_assert_true (json_object_get_boolean_member (r1, "success"));
    g_assert_true (json_object_get_boolean_member (r2, "success"));
    g_assert_cmpint (count_echoes (c, "once"), ==, 1);
  }
  /* The same key with other params is refused, not answered with the old result. */
  {
    g_autoptr (JsonObject) r = keyed_echo (c, token, "k1", "other");
    g_assert_false (json_object_get_boolean_member (r, "success"));
    g_assert_cmpstr (json_object_get_string_member (r, "error"), ==,
                     "_idempotencyKey k1 was already used for example_echo with other params");
    g_assert_cmpint (count_echoes (c, "other"), ==, 0);
  }

  /* 200 keys with answers of about 1 MiB each held 200 MiB for 15 minutes; now the cache
   * keeps at most 16 MiB of answers. */
  fill_events (c, 1000, 900);
  rss_before = cw_test_daemon_status_kb (d, "VmRSS");
  for (guint i = 0; i < 200; i++)
    {
      g_autofree gchar *line = g_strdup_printf (
          "{\"id\":\"r%u\",\"command\":\"agent_get_events_since\",\"params\":{\"afterSeq\":0,"
          "\"limit\":1000,\"_idempotencyKey\":\"replay-%u\"},\"authToken\":\"%s\"}\n",
          i, i, token);
      g_autoptr (JsonObject) r = cw_test_raw_request (c, line);
      g_assert_true (json_object_get_boolean_member (r, "success"));
    }
  rss_after = cw_test_daemon_status_kb (d, "VmRSS");
  g_test_message ("RSS %" G_GINT64_FORMAT " -> %" G_GINT64_FORMAT " kB", rss_before, rss_after);
  g_assert_cmpint (rss_after - rss_before, <, 64 * 1024);
}

static gint64
peak_rss_for (CwTestDaemon *d, guint ms)
{
  gint64 peak = 0;

  for (guint t = 0; t < ms; t += 50)
    {
      peak = MAX (peak, cw_test_daemon_status_kb (d, "VmRSS"));
      g_usleep (50 * 1000);
    }
  return peak;
}

/* Waits up to @ms for RSS to fall below @limit_kb; returns the last reading. */
static gint64
rss_settles_below (CwTestDaemon *d, gint64 limit_kb, guint ms)
{
  gint64 rss = 0;

  for (guint t = 0; t < ms; t += 100)
    {
      rss = cw_test_daemon_status_kb (d, "VmRSS");
      if (rss < limit_kb)
        break;
      g_usleep (100 * 1000);
    }
  return rss;
}

/* 600 pipelined replays of 1 MiB each from a client that never reads took 65 -> 478 MB,
 * kept after it left. Now requests wait while 8 MiB of answers wait for the peer. */
static void
test_sender_that_never_reads (void)
{
  g_autoptr (CwTestDaemon) d = cw_test_daemon_new ();
  g_autoptr (CwClient) c = NULL, greedy = NULL;
  g_autofree gchar *token = NULL;
  g_autoptr (GString) burst = g_string_new (NULL);
  g_autoptr (GError) error = NULL;
  gint64 base, peak, after;

  cw_test_daemon_start (d);
  c = cw_test_daemon_connect (d);
  token = cw_test_daemon_read_token (d);
  fill_events (c, 2000, 450);
  base = cw_test_daemon_status_kb (d, "VmRSS");

  for (guint i = 0; i < 600; i++)
    g_string_append_printf (burst,
                            "{\"id\":\"r%u\",\"command\":\"agent_get_events_since\",\"params\":"
                            "{\"afterSeq\":0,\"limit\":2000},\"authToken\":\"%s\"}\n",
                            i, token);
  greedy = cw_test_daemon_connect_anonymous (d);
  g_assert_true (cw_client_send_raw (greedy, burst->str, burst->len, &error));
  g_assert_no_error (error);
  peak = peak_rss_for (d, 2000);
  g_test_message ("RSS %" G_GINT64_FORMAT " -> peak %" G_GINT64_FORMAT " kB", base, peak);
  g_assert_cmpint (peak - base, <, 64 * 1024);

  /* Others are served meanwhile, and the memory comes back once the client is gone. */
  {
    g_autoptr (JsonNode) pong = cw_test_daemon_call (c, "ping", NULL);
  }
  cw_client_free (g_steal_pointer (&greedy));
  after = rss_settles_below (d, base + 16 * 1024, 5000);
  g_test_message ("RSS after the client left: %" G_GINT64_FORMAT " kB", after);
  g_assert_cmpint (after, <, base + 16 * 1024);
}

static gboolean
closed_by_daemon (CwClient *c)
{
  for (;;)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (JsonObject) line = cw_client_read (c, &error);

      if (line == NULL)
        return error == NULL || !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
    }
}

static void
test_unauthenticated_budget (void)
{
  g_autoptr (CwTestDaemon) d = cw_test_daemon_new ();
  g_autofree gchar *pad = g_strnfill (1024 * 1024, 'p');
  gint64 base, peak;

  cw_test_daemon_set_config (d, "[socket]\nauth-timeout-ms=500\n");
  cw_test_daemon_start (d);

  /* Five refused requests and the connection is closed. */
  {
    g_autoptr (CwClient) c = cw_test_daemon_connect_anonymous (d);
    for (guint i = 0; i < 5; i++)
      {
        g_autoptr (JsonObject) r
            = cw_test_raw_request (c, "{\"id\":\"x\",\"command\":\"ping\",\"authToken\":\"0\"}\n");
        g_assert_cmpstr (json_object_get_string_member (r, "error"), ==, "Unauthorized");
      }
    cw_client_set_timeout (c, 5);
    g_assert_true (closed_by_daemon (c));
  }
  /* A connection that says nothing is told and closed after the auth timeout. */
  {
    g_autoptr (CwClient) c = cw_test_daemon_connect_anonymous (d);
    g_autoptr (GError) error = NULL;
    g_autoptr (JsonObject) r = NULL;
    cw_client_set_timeout (c, 5);
    r = cw_client_read (c, &error);
    g_assert_no_error (error);
    g_assert_cmpstr (json_object_get_string_member (r, "error"), ==,
                     "Unauthorized: no authenticated request in time");
    g_assert_true (closed_by_daemon (c));
  }

  /* 20 connections sending 8 MiB lines before authenticating took +166 MB. */
  base = cw_test_daemon_status_kb (d, "VmRSS");
  {
    g_autoptr (GPtrArray) conns = g_ptr_array_new_with_free_func ((GDestroyNotify) cw_client_free);
    for (guint i = 0; i < 20; i++)
      {
        CwClient *c = cw_test_daemon_connect_anonymous (d);
        g_ptr_array_add (conns, c);
        g_assert_true (cw_client_send_raw (c, "{\"id\":\"", 7, NULL));
        for (guint j = 0; j < 8; j++)
          if (!cw_client_send_raw (c, pad, strlen (pad), NULL))
            break; /* closed by the daemon */
      }
    peak = cw_test_daemon_status_kb (d, "VmRSS");
  }
  g_test_message ("RSS %" G_GINT64_FORMAT " -> %" G_GINT64_FORMAT " kB", base, peak);
  g_assert_cmpint (peak - base, <, 24 * 1024);
  {
    g_autoptr (CwClient) c = cw_test_daemon_connect (d);
    g_autoptr (JsonNode) pong = cw_test_daemon_call (c, "ping", NULL);
  }
}

static guint
open_fds (CwTestDaemon *d)
{
  g_autofree gchar *path = g_strdup_printf ("/proc/%s/fd", g_subprocess_get_identifier (d->proc));
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
  guint n = 0;

  g_assert_nonnull (dir);
  while (g_dir_read_name (dir) != NULL)
    n++;
  return n;
}

/* utime + stime of the daemon, in clock ticks. */
static guint64
cpu_ticks (CwTestDaemon *d)
{
  g_autofree gchar *path = g_strdup_printf ("/proc/%s/stat", g_subprocess_get_identifier (d->proc));
  g_autofree gchar *text = NULL;
  g_auto (GStrv) fields = NULL;

  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  fields = g_strsplit (strrchr (text, ')') + 2, " ", -1);
  return g_ascii_strtoull (fields[11], NULL, 10) + g_ascii_strtoull (fields[12], NULL, 10);
}

static void
set_fd_limit (CwTestDaemon *d, guint soft)
{
  struct rlimit rl = { soft, 64 };
  pid_t pid = (pid_t) g_ascii_strtoll (g_subprocess_get_identifier (d->proc), NULL, 10);

  g_assert_cmpint (prlimit (pid, RLIMIT_NOFILE, &rl, NULL), ==, 0);
}

static guint
count_in_log (CwTestDaemon *d, const gchar *needle)
{
  g_autofree gchar *text = NULL;
  guint n = 0;

  if (!g_file_get_contents (d->log_file, &text, NULL, NULL))
    return 0;
  for (const gchar *p = text; (p = strstr (p, needle)) != NULL; p++)
    n++;
  return n;
}

/* At the descriptor limit the accept loop used to spin on EMFILE (half a core, a 1 MiB/s
 * log). Clients are capped below the limit and told so; when descriptors run out anyway,
 * accepting pauses, warns once, and resumes when they are back. */
static void
test_out_of_descriptors (void)
{
  g_autoptr (CwTestDaemon) d = cw_test_daemon_new ();
  g_autoptr (GPtrArray) conns = g_ptr_array_new_with_free_func ((GDestroyNotify) cw_client_free);
  g_autoptr (JsonNode) health = NULL;
  guint too_many = 0;
  guint64 cpu_before, cpu_used;

  cw_test_daemon_set_fd_limit (d, 64);
  cw_test_daemon_log_to_file (d);
  cw_test_daemon_start (d);

  /* The cap: 64 descriptors leave room for 32 clients; the next are refused, clearly. */
  for (guint i = 0; i < 40; i++)
    {
      CwClient *c = cw_test_daemon_connect (d);
      g_autofree gchar *token = cw_test_daemon_read_token (d);
      g_autofree gchar *ping
          = g_strdup_printf ("{\"id\":\"p\",\"command\":\"ping\",\"authToken\":\"%s\"}\n", token);
      g_autoptr (JsonObject) r = cw_test_raw_request (c, ping);

      if (!json_object_get_boolean_member (r, "success"))
        {
          g_assert_cmpstr (json_object_get_string_member (r, "error"), ==, "Too many connections");
          too_many++;
        }
      g_ptr_array_add (conns, c);
    }
  g_assert_cmpuint (too_many, ==, 8);
  g_ptr_array_set_size (conns, 0);

  /* Out of descriptors for real, once the clients above are gone. */
  for (guint i = 0; i < 100 && open_fds (d) > 20; i++)
    g_usleep (50 * 1000);
  set_fd_limit (d, open_fds (d));
  cpu_before = cpu_ticks (d);
  for (guint i = 0; i < 10; i++)
    {
      g_autoptr (GError) error = NULL;
      CwClient *c = cw_client_connect (d->endpoint, NULL, &error);
      if (c != NULL)
        g_ptr_array_add (conns, c);
    }
  g_usleep (2 * G_USEC_PER_SEC);
  cpu_used = cpu_ticks (d) - cpu_before;
  g_test_message ("CPU over 2 s out of descriptors: %" G_GUINT64_FORMAT " ticks", cpu_used);
  g_assert_cmpuint (cpu_used, <, sysconf (_SC_CLK_TCK) / 5);
  g_assert_cmpuint (count_in_log (d, "accepting a client failed"), ==, 1);

  /* Descriptors are back: the waiting peers get in, new ones too. */
  set_fd_limit (d, 64);
  g_ptr_array_set_size (conns, 0);
  {
    g_autoptr (CwClient) c = cw_test_daemon_connect (d);
    g_autoptr (JsonNode) pong = cw_test_daemon_call (c, "ping", NULL);
    health = cw_test_daemon_call (c, "daemon_health", NULL);
  }
  g_assert_cmpint (
      json_object_get_int_member (json_object_get_object_member (cw_test_obj (health), "socket"),
                                  "fdExhausted"),
      >, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cowork/resources/idempotency-over-socket", test_idempotency_over_socket);
  g_test_add_func ("/cowork/resources/sender-that-never-reads", test_sender_that_never_reads);
  g_test_add_func ("/cowork/resources/unauthenticated-budget", test_unauthenticated_budget);
  g_test_add_func ("/cowork/resources/out-of-descriptors", test_out_of_descriptors);
  return g_test_run ();
}
