/* test-daemon-consumer.c: a plugin's durable event consumer in the real coworkd sees every
 * stored event at least once and in order across a kill -9.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-test-daemon.h"

#include <signal.h>
#include <sys/wait.h>

static GArray *
read_log (const gchar *path)
{
  g_autofree gchar *text = NULL;
  g_auto (GStrv) lines = NULL;
  GArray *seqs = g_array_new (FALSE, FALSE, sizeof (gint64));

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return seqs;
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    if (*lines[i] != '\0')
      {
        gint64 seq = g_ascii_strtoll (lines[i], NULL, 10);
        g_array_append_val (seqs, seq);
      }
  return seqs;
}

static gboolean
log_has (const gchar *path, gint64 seq)
{
  g_autoptr (GArray) seqs = read_log (path);

  for (guint i = 0; i < seqs->len; i++)
    if (g_array_index (seqs, gint64, i) == seq)
      return TRUE;
  return FALSE;
}

static void
wait_for_seq (const gchar *path, gint64 seq)
{
  gint64 deadline = g_get_monotonic_time () + 20 * G_TIME_SPAN_SECOND;

  while (!log_has (path, seq))
    {
      if (g_get_monotonic_time () > deadline)
        g_error ("seq %" G_GINT64_FORMAT " never reached the consumer", seq);
      g_usleep (10000);
    }
}

static void
emit (CwTestDaemon *d, gint64 count, gint64 *first, gint64 *last)
{
  g_autoptr (CwClient) c = cw_test_daemon_connect (d);
  g_autofree gchar *params = g_strdup_printf ("{\"count\":%" G_GINT64_FORMAT "}", count);
  g_autoptr (JsonNode) r = cw_test_daemon_call (c, "consumertest_emit", params);

  *first = json_object_get_int_member (json_node_get_object (r), "first");
  *last = json_object_get_int_member (json_node_get_object (r), "last");
}

static void
test_consumer_survives_kill (void)
{
  g_autoptr (CwTestDaemon) d = cw_test_daemon_new ();
  g_autofree gchar *plugins
      = g_test_build_filename (G_TEST_BUILT, "core", "plugins", "services", NULL);
  g_autofree gchar *log = NULL;
  g_autoptr (GArray) seqs = NULL;
  g_autoptr (GArray) expected = g_array_new (FALSE, FALSE, sizeof (gint64));
  gint64 first1, last1, first2, last2, first3, last3;
  gint status;
  guint i, next = 0, repeats = 0;

  log = g_build_filename (d->dir, "consumed.log", NULL);
  cw_test_daemon_add_arg (d, "--plugin-dir");
  cw_test_daemon_add_arg (d, plugins);
  cw_test_daemon_setenv (d, "COWORK_TEST_CONSUMER_LOG", log);
  cw_test_daemon_start (d);

  emit (d, 300, &first1, &last1);
  wait_for_seq (log, last1);
  /* The next delivery stays unacknowledged; the daemon dies with it in flight and 299
   * more stored behind it. */
  {
    g_autoptr (CwClient) c = cw_test_daemon_connect (d);
    g_autoptr (JsonNode) r = cw_test_daemon_call (c, "consumertest_hold", NULL);
  }
  emit (d, 300, &first2, &last2);
  wait_for_seq (log, first2);
  status = cw_test_daemon_stop (d, SIGKILL);
  g_assert_true (WIFSIGNALED (status));
  g_assert_false (log_has (log, last2));

  cw_test_daemon_start (d);
  wait_for_seq (log, last2);
  /* Stored after the restart: delivered too. */
  emit (d, 5, &first3, &last3);
  wait_for_seq (log, last3);
  g_assert_cmpint (cw_test_daemon_stop (d, SIGTERM), ==, 0);

  /* Every event in seq order; the one in flight at the kill comes again, nothing else. */
  for (gint64 s = first1; s <= last1; s++)
    g_array_append_val (expected, s);
  for (gint64 s = first2; s <= last2; s++)
    g_array_append_val (expected, s);
  for (gint64 s = first3; s <= last3; s++)
    g_array_append_val (expected, s);
  seqs = read_log (log);
  for (i = 0; i < seqs->len; i++)
    {
      gint64 seq = g_array_index (seqs, gint64, i);
      if (i > 0 && seq == g_array_index (seqs, gint64, i - 1))
        {
          g_assert_cmpint (seq, ==, first2);
          repeats++;
          continue;
        }
      g_assert_cmpuint (next, <, expected->len);
      g_assert_cmpint (seq, ==, g_array_index (expected, gint64, next));
      next++;
    }
  g_assert_cmpuint (next, ==, expected->len);
  g_assert_cmpuint (repeats, ==, 1);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cowork/daemon/consumer-survives-kill", test_consumer_survives_kill);
  return g_test_run ();
}
