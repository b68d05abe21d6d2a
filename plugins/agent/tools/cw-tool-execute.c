/* cw-tool-execute.c: execute {command, timeout?}: /bin/sh -c in the working directory.
 *
 * The shell runs under cowork-run-command (cw-tool-sandbox.h), in a session of its own: the
 * helper is a child subreaper that ends everything the command started (setsid and nohup
 * ones too) when the shell exits, on a timeout or a stopped turn (SIGTERM to the helper),
 * and when the daemon dies. Commands the engine allowed without a person run confined by
 * Landlock (env->sandbox). Each command is recorded while it runs (cw-tool-commands.h).
 * Output (stdout and stderr merged) is read as it comes and only the first max_output_bytes
 * are kept; the rest is drained so the child never blocks on a full pipe.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-tool.h"
#include "cw-tool-commands.h"
#include "cw-tool-sandbox.h"

#include <signal.h>
#include <unistd.h>

#define READ_CHUNK 16384

typedef struct
{
  GSubprocess *proc;
  GInputStream *out;
  GString *buf;
  gsize total;
  gint64 max;
  guint timeout_id;
  gulong cancel_id;
  GCancellable *cancellable;
  gboolean timed_out;
  gboolean read_done;
  gboolean exited;
  gint64 timeout_ms;
  gchar *id;                /* COWORK_COMMAND_ID */
  CwToolCommands *commands; /* may be NULL */
} ExecData;

static void
exec_data_free (ExecData *d)
{
  g_clear_handle_id (&d->timeout_id, g_source_remove);
  if (d->cancel_id != 0)
    g_cancellable_disconnect (d->cancellable, d->cancel_id);
  g_clear_object (&d->cancellable);
  g_clear_object (&d->proc);
  g_clear_object (&d->out);
  g_string_free (d->buf, TRUE);
  g_free (d->id);
  g_free (d);
}

static void
child_setup (gpointer user_data)
{
  setsid ();
}

static GPid
helper_pid (ExecData *d)
{
  const gchar *id = d->proc != NULL ? g_subprocess_get_identifier (d->proc) : NULL;

  return id != NULL ? (GPid) g_ascii_strtoll (id, NULL, 10) : 0;
}

/* The helper ends the command and all it started, then exits. */
static void
stop_command (ExecData *d)
{
  GPid pid = helper_pid (d);

  if (pid > 0)
    kill (pid, SIGTERM);
}

static gboolean
on_timeout (gpointer user_data)
{
  GTask *task = user_data;
  ExecData *d = g_task_get_task_data (task);

  d->timeout_id = 0;
  d->timed_out = TRUE;
  stop_command (d);
  return G_SOURCE_REMOVE;
}

static void
on_cancelled (GCancellable *cancellable, gpointer user_data)
{
  GTask *task = user_data;

  stop_command (g_task_get_task_data (task));
}

static void
maybe_finish (GTask *task)
{
  ExecData *d = g_task_get_task_data (task);
  g_autofree gchar *text = NULL;
  gint status;

  if (!d->read_done || !d->exited)
    return;
  if (g_cancellable_is_cancelled (d->cancellable))
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CANCELLED, "command stopped");
      g_object_unref (task);
      return;
    }
  if (d->timed_out)
    {
      g_task_return_new_error (task, CW_ERROR, CW_ERROR_FAILED,
                               "command timed out after %" G_GINT64_FORMAT " ms; output so "
                               "far:\n%s",
                               d->timeout_ms, d->buf->str);
      g_object_unref (task);
      return;
    }
  status = g_subprocess_get_if_exited (d->proc) ? g_subprocess_get_exit_status (d->proc) : -1;
  if (d->total > d->buf->len)
    g_string_append_printf (d->buf,
                            "\n[output cut to %" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT " bytes]",
                            d->buf->len, d->total);
  text = g_strdup_printf ("%s%sExit code: %d", d->buf->str,
                          d->buf->len > 0 && d->buf->str[d->buf->len - 1] != '\n' ? "\n" : "",
                          status);
  g_task_return_pointer (task, g_steal_pointer (&text), g_free);
  g_object_unref (task);
}

static void
on_wait (GObject *source, GAsyncResult *res, gpointer user_data)
{
  GTask *task = user_data;
  ExecData *d = g_task_get_task_data (task);

  g_subprocess_wait_finish (G_SUBPROCESS (source), res, NULL);
  d->exited = TRUE;
  /* The helper ended its descendants; this catches any that got away from it. */
  if (d->commands != NULL)
    cw_tool_commands_finished (d->commands, d->id);
  maybe_finish (task);
}

static void
on_read (GObject *source, GAsyncResult *res, gpointer user_data)
{
  GTask *task = user_data;
  ExecData *d = g_task_get_task_data (task);
  g_autoptr (GBytes) bytes = g_input_stream_read_bytes_finish (G_INPUT_STREAM (source), res, NULL);
  gsize len = bytes != NULL ? g_bytes_get_size (bytes) : 0;

  if (len == 0)
    {
      d->read_done = TRUE;
      maybe_finish (task);
      return;
    }
  d->total += len;
  if (d->buf->len < (gsize) d->max)
    g_string_append_len (d->buf, g_bytes_get_data (bytes, NULL),
                         MIN (len, (gsize) d->max - d->buf->len));
  g_input_stream_read_bytes_async (d->out, READ_CHUNK, G_PRIORITY_DEFAULT, NULL, on_read, task);
}

static void
execute_run (const CwToolEnv *env, JsonObject *args, GCancellable *cancellable,
             GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task = g_task_new (NULL, cancellable, callback, user_data);
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autoptr (GError) error = NULL;
  const gchar *command = cw_tool_arg_string (args, "command", TRUE, &error);
  gint64 timeout = json_object_get_int_member_with_default (args, "timeout", 0);
  g_autoptr (GPtrArray) argv = NULL;
  g_autofree gchar *parent = NULL;
  const gchar *helper = cw_tool_sandbox_helper ();
  ExecData *d;

  if (command == NULL || helper == NULL)
    {
      if (command != NULL)
        g_set_error (&error, CW_ERROR, CW_ERROR_NOT_SUPPORTED,
                     "cannot run commands: cowork-run-command is missing next to the agent "
                     "plugin");
      g_task_return_error (task, g_steal_pointer (&error));
      g_object_unref (task);
      return;
    }
  d = g_new0 (ExecData, 1);
  d->buf = g_string_new (NULL);
  d->max = env->max_output_bytes > 0 ? env->max_output_bytes : 1024 * 1024;
  d->timeout_ms = timeout > 0 ? MIN (timeout, env->timeout_ms) : env->timeout_ms;
  d->cancellable = cancellable != NULL ? g_object_ref (cancellable) : g_cancellable_new ();
  d->id = cw_tool_commands_new_id ();
  d->commands = env->commands;
  g_task_set_task_data (task, d, (GDestroyNotify) exec_data_free);

  argv = g_ptr_array_new_with_free_func (g_free);
  parent = g_strdup_printf ("%d", (int) getpid ());
  g_ptr_array_add (argv, g_strdup (helper));
  g_ptr_array_add (argv, g_strdup ("--parent"));
  g_ptr_array_add (argv, g_strdup (parent));
  if (env->sandbox != CW_TOOL_SANDBOX_NONE)
    {
      const gchar *const *hidden
          = env->commands != NULL ? cw_tool_commands_hidden_paths (env->commands) : NULL;
      g_ptr_array_add (argv, g_strdup ("--sandbox"));
      g_ptr_array_add (
          argv, g_strdup (env->sandbox == CW_TOOL_SANDBOX_WORKDIR ? "workdir" : "read-only"));
      g_ptr_array_add (argv, g_strdup ("--workdir"));
      g_ptr_array_add (argv, g_strdup (env->working_directory));
      for (guint i = 0; hidden != NULL && hidden[i] != NULL; i++)
        {
          g_ptr_array_add (argv, g_strdup ("--hide"));
          g_ptr_array_add (argv, g_strdup (hidden[i]));
        }
    }
  g_ptr_array_add (argv, g_strdup ("--"));
  g_ptr_array_add (argv, g_strdup ("/bin/sh"));
  g_ptr_array_add (argv, g_strdup ("-c"));
  g_ptr_array_add (argv, g_strdup (command));
  g_ptr_array_add (argv, NULL);

  launcher
      = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_MERGE
                                   | G_SUBPROCESS_FLAGS_STDIN_INHERIT);
  g_subprocess_launcher_set_cwd (launcher, env->working_directory);
  g_subprocess_launcher_set_child_setup (launcher, child_setup, NULL, NULL);
  g_subprocess_launcher_setenv (launcher, CW_TOOL_COMMAND_ID_VAR, d->id, TRUE);
  /* The home is unreadable in the sandbox: git would warn about ~/.gitconfig every time. */
  if (env->sandbox != CW_TOOL_SANDBOX_NONE)
    g_subprocess_launcher_setenv (launcher, "GIT_CONFIG_GLOBAL", "/dev/null", TRUE);
  d->proc = g_subprocess_launcher_spawnv (launcher, (const gchar *const *) argv->pdata, &error);
  if (d->proc == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      g_object_unref (task);
      return;
    }
  if (d->commands != NULL)
    cw_tool_commands_started (d->commands, d->id, helper_pid (d));
  d->out = g_object_ref (g_subprocess_get_stdout_pipe (d->proc));
  d->timeout_id = g_timeout_add (d->timeout_ms, on_timeout, task);
  d->cancel_id = g_cancellable_connect (d->cancellable, G_CALLBACK (on_cancelled), task, NULL);
  /* The wait and the reads hold no reference: the task lives until maybe_finish. */
  g_subprocess_wait_async (d->proc, NULL, on_wait, task);
  g_input_stream_read_bytes_async (d->out, READ_CHUNK, G_PRIORITY_DEFAULT, NULL, on_read, task);
}

const CwToolInfo cw_tool_execute = {
  .name = "execute",
  .description = "Run a shell command (/bin/sh -c) in the working directory. Output is "
                 "stdout and stderr together, followed by the exit code.",
  .parameters = "{\"type\":\"object\",\"properties\":{"
                "\"command\":{\"type\":\"string\"},"
                "\"timeout\":{\"type\":\"integer\",\"description\":\"milliseconds\"}},"
                "\"required\":[\"command\"]}",
  .permission_type = "shell_execute",
  .resource_arg = "command",
  .resource_is_path = FALSE,
  .run_async = execute_run,
};
