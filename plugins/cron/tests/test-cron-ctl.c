/* test-cron-ctl.c: `coworkctl cron` against the real daemon: list, add with --at, --every
 * and --cron with --tz, show, pause, resume, run, runs and rm, as human tables and --json,
 * and its usage errors. The daemon and coworkctl run with TZ=UTC.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-cron-test.h"

#include <string.h>

#define HOUR G_GINT64_CONSTANT (3600000)

static JsonNode *
ctl_json (AgentFixture *f, const gchar *const *args)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autofree gchar *out = NULL;
  g_autoptr (GError) error = NULL;
  JsonNode *node;

  g_ptr_array_add (argv, "--json");
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);
  out = agent_run_ctl (f, NULL, (const gchar *const *) argv->pdata);
  node = cw_json_from_string (out, -1, &error);
  g_assert_no_error (error);
  return node;
}

static gchar *
ctl_text (AgentFixture *f, const gchar *const *args)
{
  return agent_run_ctl (f, NULL, args);
}

static gint
ctl_fails (AgentFixture *f, const gchar *const *args)
{
  gint status;
  g_autofree gchar *out = agent_run_ctl_status (f, NULL, args, &status);

  g_assert_cmpint (status, !=, 0);
  return status; /* the exit status */
}

static void
test_ctl_cron (void)
{
  g_autoptr (AgentFixture) f = cron_fixture_new (CRON_T0);
  g_autoptr (JsonNode) digest = NULL, sweep = NULL, once = NULL, list = NULL, runs = NULL;
  g_autoptr (JsonNode) resumed = NULL;
  g_autofree gchar *empty = NULL, *added = NULL, *table = NULL, *shown = NULL, *paused = NULL;
  g_autofree gchar *ran = NULL, *run_table = NULL, *removed = NULL;
  g_auto (GStrv) lines = NULL;
  JsonObject *d, *s, *o, *schedule;
  const gchar *sweep_id;

  cw_test_daemon_setenv (f->daemon, "TZ", "UTC");
  agent_fixture_start (f);
  g_assert_true (agent_fixture_start_llm (
      f, "{\"responses\":[{\"events\":[{\"text\":\"Hello from the fake.\"}]}]}"));

  {
    const gchar *args[] = { "cron", "list", NULL };
    empty = ctl_text (f, args);
    g_assert_cmpstr (empty, ==, "no cron jobs\n");
  }
  {
    const gchar *args[] = { "cron",          "add",    "Digest",          "--prompt",
                            "hello digest",  "--cron", "0 9 * * MON-FRI", "--tz",
                            "Europe/Berlin", "--dir",  f->workdir,        NULL };
    digest = ctl_json (f, args);
    d = cw_test_obj (digest);
    schedule = json_object_get_object_member (d, "schedule");
    g_assert_cmpstr (cron_str (schedule, "type"), ==, "cron");
    g_assert_cmpstr (cron_str (schedule, "expression"), ==, "0 9 * * MON-FRI");
    g_assert_cmpstr (cron_str (schedule, "timezone"), ==, "Europe/Berlin");
    /* Monday 09:00 in Berlin has just passed: Tuesday 09:00 CET */
    g_assert_cmpint (cron_int (d, "nextRunAt"), ==, CRON_T0 + 24 * HOUR);
  }
  {
    const gchar *args[] = { "cron",    "add", "Sweep", "--prompt", "hello sweep",
                            "--every", "2h",  "--dir", f->workdir, NULL };
    added = ctl_text (f, args);
    g_assert_nonnull (strstr (added, "name:          Sweep\n"));
    g_assert_nonnull (strstr (added, "schedule:      every 2h\n"));
    g_assert_nonnull (strstr (added, "status:        active\n"));
  }
  {
    /* a local time without a zone: TZ is UTC */
    const gchar *args[]
        = { "cron",  "add",      "Once", "--prompt", "hello once", "--at", "2030-01-07T10:00",
            "--dir", f->workdir, NULL };
    once = ctl_json (f, args);
    o = cw_test_obj (once);
    g_assert_cmpint (cron_int (json_object_get_object_member (o, "schedule"), "timestamp"), ==,
                     CRON_T0 + 2 * HOUR);
  }
  {
    const gchar *args[] = { "cron", "list", NULL };
    list = ctl_json (f, args);
    g_assert_cmpuint (json_array_get_length (json_node_get_array (list)), ==, 3);
    s = json_array_get_object_element (json_node_get_array (list), 1);
    sweep_id = cron_str (s, "id");
    g_assert_cmpint (cron_int (json_object_get_object_member (s, "schedule"), "intervalMs"), ==,
                     2 * HOUR);
    table = ctl_text (f, args);
    lines = g_strsplit (table, "\n", -1);
    g_assert_cmpuint (g_strv_length (lines), ==, 5); /* header, 3 jobs, "" */
    g_assert_true (g_str_has_prefix (lines[0], "ID "));
    g_assert_nonnull (strstr (lines[0], "NEXT RUN"));
    g_assert_nonnull (strstr (lines[1], "2030-01-08 08:00"));
    g_assert_nonnull (strstr (lines[1], "cron 0 9 * * MON-FRI Europe/Berlin"));
    g_assert_true (g_str_has_prefix (lines[2], sweep_id));
    g_assert_nonnull (strstr (lines[2], "every 2h"));
    g_assert_nonnull (strstr (lines[3], "at 2030-01-07 10:00"));
  }
  {
    const gchar *args[] = { "cron", "show", sweep_id, NULL };
    shown = ctl_text (f, args);
    g_assert_nonnull (strstr (shown, "prompt:        hello sweep\n"));
    g_assert_nonnull (strstr (shown, "missed runs:   once\n"));
  }
  {
    const gchar *args[] = { "cron", "pause", sweep_id, NULL };
    paused = ctl_text (f, args);
    g_assert_nonnull (strstr (paused, "status:        paused\n"));
  }
  {
    const gchar *args[] = { "cron", "resume", sweep_id, NULL };
    resumed = ctl_json (f, args);
    g_assert_cmpstr (cron_str (cw_test_obj (resumed), "status"), ==, "active");
  }
  {
    const gchar *args[] = { "cron", "run", sweep_id, NULL };
    ran = ctl_text (f, args);
    g_assert_true (g_str_has_prefix (ran, "run_"));
    g_assert_nonnull (strstr (ran, " success "));
    g_assert_nonnull (strstr (ran, "Hello from the fake.\n"));
  }
  {
    const gchar *args[] = { "cron", "runs", sweep_id, NULL };
    const gchar *json_args[]
        = { "cron", "runs", sweep_id, "--limit", "5", "--result", "success", NULL };
    run_table = ctl_text (f, args);
    g_assert_true (g_str_has_prefix (run_table, "RUN "));
    g_assert_nonnull (strstr (run_table, "success"));
    runs = ctl_json (f, json_args);
    g_assert_cmpuint (json_array_get_length (json_node_get_array (runs)), ==, 1);
    g_assert_cmpstr (
        cron_str (json_array_get_object_element (json_node_get_array (runs), 0), "result"), ==,
        "success");
  }
  {
    const gchar *args[] = { "cron", "rm", sweep_id, NULL };
    const gchar *show[] = { "cron", "show", sweep_id, NULL };
    g_autofree gchar *expect = g_strdup_printf ("deleted %s\n", sweep_id);
    removed = ctl_text (f, args);
    g_assert_cmpstr (removed, ==, expect);
    g_assert_cmpint (ctl_fails (f, show), ==, 1);
  }
  {
    /* usage errors exit 2 and change nothing */
    const gchar *tz_every[]
        = { "cron", "add", "X", "--prompt", "p", "--every", "2h", "--tz", "UTC", NULL };
    const gchar *two[]
        = { "cron", "add", "X", "--prompt", "p", "--every", "2h", "--cron", "* * * * *", NULL };
    const gchar *unit[] = { "cron", "add", "X", "--prompt", "p", "--every", "2w", NULL };
    const gchar *no_id[] = { "cron", "runs", NULL };
    const gchar *verb[] = { "cron", "frobnicate", NULL };
    const gchar *args[] = { "cron", "list", NULL };
    g_autoptr (JsonNode) after = NULL;
    g_assert_cmpint (ctl_fails (f, tz_every), ==, 2);
    g_assert_cmpint (ctl_fails (f, two), ==, 2);
    g_assert_cmpint (ctl_fails (f, unit), ==, 2);
    g_assert_cmpint (ctl_fails (f, no_id), ==, 2);
    g_assert_cmpint (ctl_fails (f, verb), ==, 2);
    after = ctl_json (f, args);
    g_assert_cmpuint (json_array_get_length (json_node_get_array (after)), ==, 2);
  }
  {
    /* the daemon's refusal is exit 1 with its message */
    const gchar *bad[] = { "cron", "add", "X", "--prompt", "p", "--cron", "61 * * * *", NULL };
    g_assert_cmpint (ctl_fails (f, bad), ==, 1);
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cron/ctl/cron", test_ctl_cron);
  return g_test_run ();
}
