/* test-coworkctl.c: the coworkctl binary against the real daemon, as a person or a script
 * would use it.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-test-daemon.h"

#include <unistd.h>

/* Runs coworkctl with --app-data-dir @dir and @args; returns its exit status. */
static gint
ctl (const gchar *dir, gchar **out, gchar **err, ...)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GSubprocess) proc = NULL;
  g_autoptr (GError) error = NULL;
  const gchar *arg;
  va_list ap;

  g_ptr_array_add (argv, (gpointer) g_getenv ("COWORKCTL"));
  g_ptr_array_add (argv, "--app-data-dir");
  g_ptr_array_add (argv, (gpointer) dir);
  va_start (ap, err);
  while ((arg = va_arg (ap, const gchar *)) != NULL)
    g_ptr_array_add (argv, (gpointer) arg);
  va_end (ap);
  g_ptr_array_add (argv, NULL);
  proc
      = g_subprocess_newv ((const gchar *const *) argv->pdata,
                           G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE, &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (proc, NULL, NULL, out, err, &error);
  g_assert_no_error (error);
  return g_subprocess_get_exit_status (proc);
}

static void
test_not_running (void)
{
  g_autoptr (CwTestDaemon) d = cw_test_daemon_new ();
  g_autofree gchar *out = NULL, *err = NULL;

  g_assert_cmpint (ctl (d->dir, &out, &err, "health", NULL), ==, 1);
  g_assert_nonnull (strstr (err, "coworkd is not running"));
  g_assert_nonnull (strstr (err, d->endpoint));
}

static void
test_call_health_events (void)
{
  g_autoptr (CwTestDaemon) d = cw_test_daemon_new ();
  g_autofree gchar *out = NULL, *err = NULL;
  g_auto (GStrv) lines = NULL;
  gboolean found = FALSE;

  cw_test_daemon_start (d);
  g_assert_cmpint (
      ctl (d->dir, &out, &err, "call", "example_echo", "{\"text\":\"from-ctl\"}", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "\"from-ctl\""));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  /* Errors go to stderr with a non-zero status. */
  g_assert_cmpint (ctl (d->dir, &out, &err, "call", "example_echo", "{}", NULL), ==, 1);
  g_assert_nonnull (strstr (err, "text is required"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (ctl (d->dir, &out, &err, "call", "ping", "{not json", NULL), ==, 2);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  g_assert_cmpint (ctl (d->dir, &out, &err, "health", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "healthy"));
  g_assert_nonnull (strstr (out, "example"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  /* --json events: one envelope per line, in seq order, with the echo among them. */
  g_assert_cmpint (ctl (d->dir, &out, &err, "--json", "events", NULL), ==, 0);
  lines = g_strsplit (g_strstrip (out), "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_autoptr (JsonNode) node = cw_json_from_string (lines[i], -1, NULL);
      JsonObject *ev;
      g_assert_nonnull (node);
      ev = json_node_get_object (node);
      g_assert_cmpint (json_object_get_int_member (ev, "seq"), ==, i + 1);
      if (g_strcmp0 (json_object_get_string_member (ev, "type"), "example:echo") == 0)
        found = TRUE;
    }
  g_assert_true (found);
}

static void
test_token_rotate (void)
{
  g_autoptr (CwTestDaemon) d = cw_test_daemon_new ();
  g_autofree gchar *out = NULL, *err = NULL, *old = NULL, *new_token = NULL;
  g_autoptr (CwClient) stale = NULL;
  g_autoptr (GError) error = NULL;

  cw_test_daemon_start (d);
  old = cw_test_daemon_read_token (d);
  stale = cw_test_daemon_connect (d);
  g_assert_cmpint (ctl (d->dir, &out, &err, "token", "rotate", NULL), ==, 0);
  new_token = cw_test_daemon_read_token (d);
  g_assert_cmpstr (old, !=, new_token);
  g_assert_cmpuint (strlen (new_token), ==, 64);

  /* The old token stops working at once; the new one works. */
  g_assert_null (cw_client_call (stale, "ping", NULL, &error));
  g_assert_cmpstr (error->message, ==, "Unauthorized");
  {
    g_autoptr (CwClient) fresh = cw_test_daemon_connect (d);
    g_autoptr (JsonNode) pong = cw_test_daemon_call (fresh, "ping", NULL);
    g_autoptr (JsonNode) audit = cw_test_daemon_call (fresh, "audit_list", NULL);
    JsonArray *entries = json_object_get_array_member (json_node_get_object (audit), "entries");
    g_autofree gchar *audit_text = cw_json_to_string (audit);
    g_autofree gchar *actor = g_strdup_printf ("socket:uid=%u", (guint) getuid ());

    g_assert_cmpuint (json_array_get_length (entries), >=, 1);
    g_assert_cmpstr (
        json_object_get_string_member (json_array_get_object_element (entries, 0), "action"), ==,
        "token_rotate");
    /* The record names the real caller: coworkctl on the socket, as this uid. */
    g_assert_cmpstr (
        json_object_get_string_member (json_array_get_object_element (entries, 0), "actor"), ==,
        actor);
    /* The audit record never holds the token itself. */
    g_assert_null (strstr (audit_text, new_token));
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cowork/coworkctl/not-running", test_not_running);
  g_test_add_func ("/cowork/coworkctl/call-health-events", test_call_health_events);
  g_test_add_func ("/cowork/coworkctl/token-rotate", test_token_rotate);
  return g_test_run ();
}
