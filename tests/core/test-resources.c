/* test-resources.c: the real coworkd keeps its memory and file descriptors bounded against
 * clients built to exhaust them: reused idempotency keys, clients that send but never read,
 * unauthenticated floods, more connections than descriptors.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-test-daemon.h"

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

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cowork/resources/idempotency-over-socket", test_idempotency_over_socket);
  return g_test_run ();
}
