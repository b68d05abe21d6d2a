/* cw-cron-ctl.c: `coworkctl cron list|add|show|pause|resume|run|runs|rm`.
 *
 * Human tables by default, the commands' JSON with --json. `add` takes one of
 * --at TIME (ISO 8601, local time without a zone, or epoch milliseconds), --every DURATION
 * (1500ms, 90s, 30m, 2h, 1d) or --cron EXPRESSION [--tz ZONE].
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "cw-client.h"
#include "cw-cron-ctl.h"

#include <glib/gi18n.h>
#include <stdlib.h>
#include <string.h>

#define USAGE                                                                                      \
  "usage: coworkctl cron list\n"                                                                   \
  "       coworkctl cron add NAME --prompt TEXT (--at TIME | --every DURATION |\n"                 \
  "                          --cron EXPR [--tz ZONE]) [--dir DIR] [--model MODEL]\n"               \
  "                          [--max-turns N] [--max-runs N] [--missed skip|once|all]\n"            \
  "                          [--timeout DURATION] [--description TEXT]\n"                          \
  "       coworkctl cron show|pause|resume|run|rm JOB\n"                                           \
  "       coworkctl cron runs JOB [--limit N] [--result RESULT]"

static gboolean
usage_error (GError **error, const gchar *what)
{
  g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS, "%s\n%s", what, USAGE);
  return FALSE;
}

static gchar *
describe_schedule (JsonObject *job)
{
  JsonNode *node = json_object_get_member (job, "schedule");
  JsonObject *s
      = node != NULL && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
  const gchar *type = s != NULL ? cw_ctl_json_string (s, "type", "?") : "?";

  if (g_str_equal (type, "at"))
    {
      g_autofree gchar *when = cw_ctl_format_time (s, "timestamp");
      return g_strconcat ("at ", when, NULL);
    }
  if (g_str_equal (type, "every"))
    {
      static const struct
      {
        gint64 ms;
        const gchar *unit;
      } units[] = { { 86400000, "d" }, { 3600000, "h" }, { 60000, "m" }, { 1000, "s" } };
      gint64 ms = json_object_get_int_member_with_default (s, "intervalMs", 0);
      for (guint i = 0; i < G_N_ELEMENTS (units); i++)
        if (ms > 0 && ms % units[i].ms == 0)
          return g_strdup_printf ("every %" G_GINT64_FORMAT "%s", ms / units[i].ms, units[i].unit);
      return g_strdup_printf ("every %" G_GINT64_FORMAT "ms", ms);
    }
  if (g_str_equal (type, "cron"))
    return g_strdup_printf ("cron %s%s%s", cw_ctl_json_string (s, "expression", "?"),
                            cw_ctl_json_string (s, "timezone", NULL) != NULL ? " " : "",
                            cw_ctl_json_string (s, "timezone", ""));
  return g_strdup (type);
}

/* "90s", "30m", "2h", "1d", "1500ms" or plain milliseconds. */
static gboolean
parse_duration (const gchar *option, const gchar *text, gint64 *out, GError **error)
{
  gchar *end = NULL;
  gdouble value = g_ascii_strtod (text, &end);
  gint64 unit;

  if (end == text || value <= 0)
    return usage_error (error, "a duration is a positive number with ms, s, m, h or d");
  if (*end == '\0' || g_str_equal (end, "ms"))
    unit = 1;
  else if (g_str_equal (end, "s"))
    unit = 1000;
  else if (g_str_equal (end, "m"))
    unit = 60000;
  else if (g_str_equal (end, "h"))
    unit = 3600000;
  else if (g_str_equal (end, "d"))
    unit = 86400000;
  else
    {
      g_autofree gchar *msg = g_strdup_printf ("%s: unknown unit in \"%s\"", option, text);
      return usage_error (error, msg);
    }
  *out = (gint64) (value * unit);
  return TRUE;
}

static gboolean
parse_instant (const gchar *text, gint64 *out, GError **error)
{
  g_autoptr (GTimeZone) local = g_time_zone_new_local ();
  g_autoptr (GDateTime) dt = NULL;
  gchar *end = NULL;
  gint64 ms = g_ascii_strtoll (text, &end, 10);

  if (end != text && *end == '\0')
    {
      *out = ms;
      return TRUE;
    }
  dt = g_date_time_new_from_iso8601 (text, local);
  if (dt == NULL && strlen (text) >= 16 && text[13] == ':'
      && (text[16] == '\0' || text[16] == 'Z' || text[16] == '+' || text[16] == '-'))
    {
      /* GLib wants the seconds: 2026-12-24T09:00 is 2026-12-24T09:00:00 */
      g_autofree gchar *head = g_strndup (text, 16);
      g_autofree gchar *with_seconds = g_strconcat (head, ":00", text + 16, NULL);
      dt = g_date_time_new_from_iso8601 (with_seconds, local);
    }
  if (dt == NULL)
    return usage_error (error, "--at takes an ISO 8601 time (2026-12-24T09:00) or milliseconds");
  *out = g_date_time_to_unix (dt) * 1000 + g_date_time_get_microsecond (dt) / 1000;
  return TRUE;
}

static JsonObject *
job_params (const gchar *id)
{
  JsonObject *params = json_object_new ();

  json_object_set_string_member (params, "jobId", id);
  return params;
}

static void
print_job_row (JsonObject *job)
{
  g_autofree gchar *next = cw_ctl_format_time (job, "nextRunAt");
  g_autofree gchar *last = cw_ctl_format_time (job, "lastRunAt");
  g_autofree gchar *schedule = describe_schedule (job);

  g_print ("%-20s %-9s %-16s %-16s %-6s %-28s %s\n", cw_ctl_json_string (job, "id", "?"),
           cw_ctl_json_string (job, "status", "?"), next, last,
           cw_ctl_json_string (job, "lastStatus", "-"), schedule,
           cw_ctl_json_string (job, "name", ""));
}

static int
cron_list (CwCtl *ctl, GError **error)
{
  g_autoptr (JsonNode) jobs = cw_ctl_call (ctl, "cron_list_jobs", NULL, 0, error);
  JsonArray *arr;

  if (jobs == NULL)
    return 1;
  if (ctl->json)
    {
      cw_ctl_print_json (jobs);
      return 0;
    }
  arr = JSON_NODE_HOLDS_ARRAY (jobs) ? json_node_get_array (jobs) : NULL;
  if (arr == NULL || json_array_get_length (arr) == 0)
    {
      g_print (_ ("no cron jobs\n"));
      return 0;
    }
  g_print ("%-20s %-9s %-16s %-16s %-6s %-28s %s\n", _ ("ID"), _ ("STATUS"), _ ("NEXT RUN"),
           _ ("LAST RUN"), _ ("LAST"), _ ("SCHEDULE"), _ ("NAME"));
  for (guint i = 0; i < json_array_get_length (arr); i++)
    print_job_row (json_array_get_object_element (arr, i));
  return 0;
}

static void
print_field (const gchar *label, const gchar *value)
{
  if (value != NULL)
    g_print ("%-14s %s\n", label, value);
}

static void
print_job (JsonObject *job)
{
  g_autofree gchar *schedule = describe_schedule (job);
  g_autofree gchar *next = cw_ctl_format_time (job, "nextRunAt");
  g_autofree gchar *last = cw_ctl_format_time (job, "lastRunAt");
  g_autofree gchar *runs = g_strdup_printf (
      "%" G_GINT64_FORMAT, json_object_get_int_member_with_default (job, "runCount", 0));

  print_field (_ ("id:"), cw_ctl_json_string (job, "id", "?"));
  print_field (_ ("name:"), cw_ctl_json_string (job, "name", ""));
  print_field (_ ("status:"), cw_ctl_json_string (job, "status", "?"));
  print_field (_ ("paused:"), cw_ctl_json_string (job, "pausedReason", NULL));
  print_field (_ ("schedule:"), schedule);
  print_field (_ ("missed runs:"), cw_ctl_json_string (job, "missedPolicy", "once"));
  print_field (_ ("next run:"), next);
  print_field (_ ("last run:"), last);
  print_field (_ ("last status:"), cw_ctl_json_string (job, "lastStatus", "-"));
  print_field (_ ("last error:"), cw_ctl_json_string (job, "lastError", NULL));
  print_field (_ ("runs:"), runs);
  print_field (_ ("directory:"), cw_ctl_json_string (job, "workingDirectory", ""));
  print_field (_ ("model:"), cw_ctl_json_string (job, "model", NULL));
  print_field (_ ("prompt:"), cw_ctl_json_string (job, "prompt", ""));
}

static int
print_job_result (CwCtl *ctl, JsonNode *job)
{
  if (ctl->json)
    cw_ctl_print_json (job);
  else if (JSON_NODE_HOLDS_OBJECT (job))
    print_job (json_node_get_object (job));
  return 0;
}

static void
print_run (JsonObject *run)
{
  g_autofree gchar *started = cw_ctl_format_time (run, "startedAt");
  g_autofree gchar *scheduled = cw_ctl_format_time (run, "scheduledAt");
  g_autofree gchar *duration
      = json_object_has_member (run, "durationMs")
            ? g_strdup_printf ("%.1fs", json_object_get_int_member (run, "durationMs") / 1000.0)
            : g_strdup ("-");
  const gchar *detail = cw_ctl_json_string (run, "error", cw_ctl_json_string (run, "summary", ""));
  const gchar *result = cw_ctl_json_string (
      run, "result", json_object_has_member (run, "retryAt") ? "retrying" : "running");

  g_print ("%-22s %-12s %-16s %-16s %8s  %s\n", cw_ctl_json_string (run, "id", "?"), result,
           scheduled, started, duration, detail);
}

static int
cron_runs (CwCtl *ctl, int argc, char **argv, GError **error)
{
  JsonObject *params;
  g_autoptr (JsonNode) runs = NULL;
  JsonArray *arr;
  const gchar *id = NULL;

  params = json_object_new ();
  for (int i = 1; i < argc; i++)
    {
      gint64 limit;
      if (g_str_equal (argv[i], "--limit") && i + 1 < argc)
        {
          if (!cw_ctl_parse_int ("--limit", argv[++i], 1, 10000, &limit, error))
            {
              json_object_unref (params);
              return 2;
            }
          json_object_set_int_member (params, "limit", limit);
        }
      else if (g_str_equal (argv[i], "--result") && i + 1 < argc)
        json_object_set_string_member (params, "result", argv[++i]);
      else if (id == NULL && argv[i][0] != '-')
        id = argv[i];
      else
        {
          json_object_unref (params);
          usage_error (error, "cron runs: unexpected argument");
          return 2;
        }
    }
  if (id == NULL)
    {
      json_object_unref (params);
      usage_error (error, "cron runs: a job id is required");
      return 2;
    }
  json_object_set_string_member (params, "jobId", id);
  runs = cw_ctl_call (ctl, "cron_get_runs", params, 0, error);
  if (runs == NULL)
    return 1;
  if (ctl->json)
    {
      cw_ctl_print_json (runs);
      return 0;
    }
  arr = JSON_NODE_HOLDS_ARRAY (runs) ? json_node_get_array (runs) : NULL;
  if (arr == NULL || json_array_get_length (arr) == 0)
    {
      g_print (_ ("no runs\n"));
      return 0;
    }
  g_print ("%-22s %-12s %-16s %-16s %8s  %s\n", _ ("RUN"), _ ("RESULT"), _ ("SCHEDULED"),
           _ ("STARTED"), _ ("TIME"), _ ("SUMMARY / ERROR"));
  for (guint i = 0; i < json_array_get_length (arr); i++)
    print_run (json_array_get_object_element (arr, i));
  return 0;
}

static JsonObject *
schedule_object (const gchar *type)
{
  JsonObject *s = json_object_new ();

  json_object_set_string_member (s, "type", type);
  return s;
}

/* The CreateCronJobInput of `cron add`'s arguments, or NULL after a usage error. */
static JsonObject *
add_input (int argc, char **argv, GError **error)
{
  g_autoptr (JsonObject) input = json_object_new ();
  g_autoptr (JsonObject) schedule = NULL;
  const gchar *tz = NULL, *name = NULL;
  g_autofree gchar *cwd = g_get_current_dir ();
  gint64 v;

  for (int i = 1; i < argc; i++)
    {
      const gchar *opt = argv[i];
      const gchar *val = i + 1 < argc ? argv[i + 1] : NULL;
      gboolean takes = g_str_has_prefix (opt, "--");

      if (!takes)
        {
          if (name != NULL)
            return usage_error (error, "cron add: one NAME only"), NULL;
          name = opt;
          continue;
        }
      if (val == NULL)
        {
          g_autofree gchar *msg = g_strdup_printf ("cron add: %s needs a value", opt);
          return usage_error (error, msg), NULL;
        }
      i++;
      if ((g_str_equal (opt, "--at") || g_str_equal (opt, "--every") || g_str_equal (opt, "--cron"))
          && schedule != NULL)
        return usage_error (error, "cron add: give one of --at, --every and --cron"), NULL;
      if (g_str_equal (opt, "--prompt"))
        json_object_set_string_member (input, "prompt", val);
      else if (g_str_equal (opt, "--description"))
        json_object_set_string_member (input, "description", val);
      else if (g_str_equal (opt, "--dir"))
        {
          g_autoptr (GFile) file = g_file_new_for_commandline_arg (val);
          g_autofree gchar *path = g_file_get_path (file);
          json_object_set_string_member (input, "workingDirectory", path);
        }
      else if (g_str_equal (opt, "--model"))
        json_object_set_string_member (input, "model", val);
      else if (g_str_equal (opt, "--missed"))
        json_object_set_string_member (input, "missedPolicy", val);
      else if (g_str_equal (opt, "--tz"))
        tz = val;
      else if (g_str_equal (opt, "--max-turns") || g_str_equal (opt, "--max-runs"))
        {
          if (!cw_ctl_parse_int (opt, val, 1, G_MAXINT32, &v, error))
            return NULL;
          json_object_set_int_member (input,
                                      g_str_equal (opt, "--max-turns") ? "maxTurns" : "maxRuns", v);
        }
      else if (g_str_equal (opt, "--timeout"))
        {
          if (!parse_duration (opt, val, &v, error))
            return NULL;
          json_object_set_int_member (input, "timeoutMs", v);
        }
      else if (g_str_equal (opt, "--at"))
        {
          if (!parse_instant (val, &v, error))
            return NULL;
          schedule = schedule_object ("at");
          json_object_set_int_member (schedule, "timestamp", v);
        }
      else if (g_str_equal (opt, "--every"))
        {
          if (!parse_duration (opt, val, &v, error))
            return NULL;
          schedule = schedule_object ("every");
          json_object_set_int_member (schedule, "intervalMs", v);
        }
      else if (g_str_equal (opt, "--cron"))
        {
          schedule = schedule_object ("cron");
          json_object_set_string_member (schedule, "expression", val);
        }
      else
        {
          g_autofree gchar *msg = g_strdup_printf ("cron add: unknown option %s", opt);
          return usage_error (error, msg), NULL;
        }
    }
  if (name == NULL || schedule == NULL || !json_object_has_member (input, "prompt"))
    return usage_error (error, "cron add: NAME, --prompt and a schedule are required"), NULL;
  if (tz != NULL)
    {
      if (!g_str_equal (json_object_get_string_member (schedule, "type"), "cron"))
        return usage_error (error, "cron add: --tz goes with --cron"), NULL;
      json_object_set_string_member (schedule, "timezone", tz);
    }
  json_object_set_string_member (input, "name", name);
  json_object_set_object_member (input, "schedule", g_steal_pointer (&schedule));
  if (!json_object_has_member (input, "workingDirectory"))
    json_object_set_string_member (input, "workingDirectory", cwd);
  return g_steal_pointer (&input);
}

static int
job_command (CwCtl *ctl, const gchar *command, const gchar *id, GError **error)
{
  /* a manual run answers when it ends (up to the job's timeout): no time limit here */
  g_autoptr (JsonNode) result = cw_ctl_call (ctl, command, job_params (id), 0, error);

  if (result == NULL)
    return 1;
  if (g_str_equal (command, "cron_get_job") && JSON_NODE_HOLDS_NULL (result))
    {
      g_set_error (error, CW_ERROR, CW_ERROR_NOT_FOUND, "Job not found: %s", id);
      return 1;
    }
  if (g_str_equal (command, "cron_delete_job"))
    {
      if (ctl->json)
        cw_ctl_print_json (result);
      else
        g_print (_ ("deleted %s\n"), id);
      return 0;
    }
  if (g_str_equal (command, "cron_trigger_job"))
    {
      if (ctl->json)
        cw_ctl_print_json (result);
      else if (JSON_NODE_HOLDS_OBJECT (result))
        print_run (json_node_get_object (result));
      return 0;
    }
  return print_job_result (ctl, result);
}

int
cw_ctl_cron (CwCtl *ctl, int argc, char **argv, GError **error)
{
  static const struct
  {
    const gchar *verb;
    const gchar *command;
  } by_job[] = {
    { "show", "cron_get_job" },    { "pause", "cron_pause_job" }, { "resume", "cron_resume_job" },
    { "run", "cron_trigger_job" }, { "rm", "cron_delete_job" },
  };
  const gchar *verb = argc > 1 ? argv[1] : "list";

  if (g_str_equal (verb, "list"))
    {
      if (argc <= 2)
        return cron_list (ctl, error);
      usage_error (error, "cron list: no arguments");
      return 2;
    }
  if (g_str_equal (verb, "add"))
    {
      JsonObject *input = add_input (argc - 1, argv + 1, error);
      g_autoptr (JsonNode) job = NULL;
      if (input == NULL)
        return 2;
      job = cw_ctl_call (ctl, "cron_create_job", input, 0, error);
      return job == NULL ? 1 : print_job_result (ctl, job);
    }
  if (g_str_equal (verb, "runs"))
    return cron_runs (ctl, argc - 1, argv + 1, error);
  for (guint i = 0; i < G_N_ELEMENTS (by_job); i++)
    if (g_str_equal (verb, by_job[i].verb))
      {
        if (argc != 3)
          {
            g_autofree gchar *msg = g_strdup_printf ("cron %s: one job id", verb);
            usage_error (error, msg);
            return 2;
          }
        return job_command (ctl, by_job[i].command, argv[2], error);
      }
  {
    g_autofree gchar *msg = g_strdup_printf ("cron: unknown subcommand '%s'", verb);
    usage_error (error, msg);
  }
  return 2;
}

const CwCtlCommand cw_ctl_commands_cron[] = {
  { "cron", "list|add|show|pause|resume|run|runs|rm ...", N_ ("Scheduled agent prompts"),
    cw_ctl_cron },
  { NULL },
};
