/* cw-remote-tunnel.c: publishing the local server, only when asked (contract §4.3).
 *
 * - tailscale, visibility "private": `tailscale serve --bg --https=443 <origin>`: reachable
 *   from the tailnet only. Visibility "public": `tailscale funnel --bg --https=443 <origin>`:
 *   reachable from the internet. The original funnelled in both cases; here "private" never
 *   runs funnel. The URL is https://<Self.DNSName> from `tailscale status --json`.
 * - cloudflare: `cloudflared tunnel --url <origin> --no-autoupdate [--name N] [--hostname D]`
 *   as a supervised child: its output gives the trycloudflare.com URL of a quick tunnel, an
 *   unexpected exit restarts it with a backoff (1 s doubling to 60 s), stop sends SIGTERM
 *   and SIGKILL after 4 s.
 * - custom: the user runs the tunnel; start only needs a public URL.
 * Binaries are looked up on PATH; a missing one is an error naming how to install it. The
 * daemon never installs packages itself (that needs root). Every start and stop is audited
 * and listed in the diagnostics.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-remote-plugin.h"

#include <signal.h>
#include <string.h>

#define CLI_TIMEOUT_MS       15000
#define AUTH_TIMEOUT_MS      (2 * 60 * 1000)
#define CLOUDFLARED_START_MS 20000
#define KILL_AFTER_MS        4000
#define REFRESH_COOLDOWN_US  (60 * G_USEC_PER_SEC)
#define BACKOFF_MAX_MS       60000

struct _CwRemoteTunnel
{
  CwRemotePlugin *self; /* owns this */
  gchar *state;         /* stopped | starting | running | error */
  gchar *public_url;
  gchar *last_error;
  gchar *auth_status; /* authenticated | unauthenticated | unknown */
  gint64 started_at;
  gboolean wanted;        /* start was asked and no stop since */
  gchar *running_command; /* "serve" or "funnel" while tailscale publishes */
  GSubprocess *child;     /* cloudflared */
  GCancellable *child_cancel;
  GTask *start_task; /* a start waiting for cloudflared's URL */
  guint start_timeout_id;
  guint restart_id;
  guint offs_running;      /* `tailscale … off` commands not finished */
  GPtrArray *idle_waiters; /* GTask */
  guint backoff_ms;
  gint64 last_refresh_us;
};

static const gchar *
binary_name (CwRemoteTunnel *t)
{
  const gchar *mode = t->self->config.tunnel_mode;

  if (g_strcmp0 (mode, "tailscale") == 0)
    return "tailscale";
  if (g_strcmp0 (mode, "cloudflare") == 0)
    return "cloudflared";
  return NULL;
}

static const gchar *
install_hint (const gchar *binary)
{
  if (g_strcmp0 (binary, "tailscale") == 0)
    return "Install Tailscale (https://tailscale.com/download/linux; Debian and Ubuntu: "
           "curl -fsSL https://tailscale.com/install.sh | sh), then run: sudo tailscale up";
  return "Install cloudflared (https://developers.cloudflare.com/cloudflare-one/connections/"
         "connect-networks/downloads/; Debian and Ubuntu: sudo apt-get install cloudflared "
         "from Cloudflare's repository)";
}

CwRemoteTunnel *
cw_remote_tunnel_new (CwRemotePlugin *self)
{
  CwRemoteTunnel *t = g_new0 (CwRemoteTunnel, 1);

  t->self = self;
  t->state = g_strdup ("stopped");
  t->auth_status = g_strdup ("unknown");
  t->backoff_ms = 1000;
  t->idle_waiters = g_ptr_array_new ();
  return t;
}

static void
set_state (CwRemoteTunnel *t, const gchar *state, const gchar *error)
{
  g_free (t->state);
  t->state = g_strdup (state);
  if (error != NULL || g_strcmp0 (state, "running") == 0)
    {
      g_free (t->last_error);
      t->last_error = g_strdup (error);
    }
}

static void
set_str (gchar **slot, const gchar *value)
{
  g_free (*slot);
  *slot = g_strdup (value);
}

static gboolean
kill_child (gpointer user_data)
{
  g_subprocess_force_exit (user_data);
  return G_SOURCE_REMOVE;
}

static void
stop_child (CwRemoteTunnel *t)
{
  g_clear_handle_id (&t->restart_id, g_source_remove);
  g_clear_handle_id (&t->start_timeout_id, g_source_remove);
  if (t->child_cancel != NULL)
    g_cancellable_cancel (t->child_cancel);
  g_clear_object (&t->child_cancel);
  if (t->child != NULL)
    {
      g_subprocess_send_signal (t->child, SIGTERM);
      /* A child that ignores SIGTERM gets SIGKILL; it is reaped by GSubprocess. */
      g_timeout_add_full (G_PRIORITY_DEFAULT, KILL_AFTER_MS, kill_child, g_object_ref (t->child),
                          g_object_unref);
      g_clear_object (&t->child);
    }
}

void
cw_remote_tunnel_free (CwRemoteTunnel *t)
{
  stop_child (t);
  if (t->start_task != NULL)
    {
      g_task_return_new_error (t->start_task, CW_ERROR, CW_ERROR_CANCELLED, "Tunnel stopped");
      g_clear_object (&t->start_task);
    }
  g_free (t->state);
  g_free (t->public_url);
  g_free (t->last_error);
  g_free (t->auth_status);
  g_free (t->running_command);
  for (guint i = 0; i < t->idle_waiters->len; i++)
    {
      g_task_return_boolean (g_ptr_array_index (t->idle_waiters, i), TRUE);
      g_object_unref (g_ptr_array_index (t->idle_waiters, i));
    }
  g_ptr_array_unref (t->idle_waiters);
  g_free (t);
}

const gchar *
cw_remote_tunnel_get_public_url (CwRemoteTunnel *t)
{
  return cw_remote_tunnel_is_running (t) ? t->public_url : NULL;
}

gboolean
cw_remote_tunnel_is_running (CwRemoteTunnel *t)
{
  return t != NULL && g_strcmp0 (t->state, "running") == 0;
}

static gchar *
origin (CwRemoteTunnel *t)
{
  return cw_remote_plugin_local_base_url (t->self);
}

static JsonArray *
hints (CwRemoteTunnel *t)
{
  JsonArray *arr = json_array_new ();
  const gchar *mode = t->self->config.tunnel_mode;
  gboolean private = g_strcmp0 (t->self->config.tunnel_visibility, "private") == 0;

  if (g_strcmp0 (mode, "tailscale") == 0)
    {
      json_array_add_string_element (arr, "sudo tailscale up");
      json_array_add_string_element (arr, private ? "tailscale serve --bg --https=443 <local URL> "
                                                    "(tailnet only)"
                                                  : "tailscale funnel --bg --https=443 <local URL> "
                                                    "(public)");
    }
  else if (g_strcmp0 (mode, "cloudflare") == 0)
    {
      if (t->self->config.tunnel_domain != NULL)
        json_array_add_string_element (arr, "cloudflared tunnel login");
      json_array_add_string_element (arr, "cloudflared tunnel --url <local URL> --no-autoupdate");
    }
  else
    json_array_add_string_element (arr, "Run your own tunnel to the local URL and set its "
                                        "public URL");
  return arr;
}

void
cw_remote_tunnel_describe (CwRemoteTunnel *t, JsonObject *s, gboolean for_device)
{
  const gchar *binary = binary_name (t);
  g_autofree gchar *path = binary != NULL ? g_find_program_in_path (binary) : NULL;
  g_autofree gchar *configured = cw_remote_plugin_resolved_public_url (t->self);
  const gchar *url = t->public_url;

  if (url == NULL && g_strcmp0 (t->self->config.tunnel_mode, "tailscale") != 0)
    url = configured;
  json_object_set_array_member (s, "tunnelHints", for_device ? json_array_new () : hints (t));
  json_object_set_string_member (s, "tunnelState", t->state);
  cw_remote_json_set_string (s, "tunnelPublicUrl", url);
  cw_remote_json_set_string (s, "tunnelLastError", for_device ? NULL : t->last_error);
  json_object_set_boolean_member (s, "tunnelBinaryInstalled", binary == NULL || path != NULL);
  cw_remote_json_set_string (s, "tunnelBinaryPath", for_device ? NULL : path);
  json_object_set_string_member (s, "tunnelAuthStatus",
                                 binary == NULL ? "authenticated" : t->auth_status);
  if (t->started_at > 0)
    json_object_set_int_member (s, "tunnelStartedAt", t->started_at);
  else
    json_object_set_null_member (s, "tunnelStartedAt");
  if (t->child != NULL && g_subprocess_get_identifier (t->child) != NULL && !for_device)
    {
      gint64 pid = g_ascii_strtoll (g_subprocess_get_identifier (t->child), NULL, 10);
      json_object_set_int_member (s, "tunnelPid", pid);
    }
  else
    json_object_set_null_member (s, "tunnelPid");
}

/* ---- running the CLI ---- */

typedef struct
{
  CwRemoteTunnel *t;
  GSubprocess *proc;
  guint timeout_id;
  gboolean timed_out;
  gchar *what;
} Cli;

static void
cli_free (Cli *c)
{
  g_clear_handle_id (&c->timeout_id, g_source_remove);
  g_clear_object (&c->proc);
  g_free (c->what);
  g_free (c);
}

static gboolean
cli_timeout (gpointer user_data)
{
  Cli *c = user_data;

  c->timeout_id = 0;
  c->timed_out = TRUE;
  g_subprocess_force_exit (c->proc);
  return G_SOURCE_REMOVE;
}

static void
on_cli_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  Cli *c = g_task_get_task_data (task);
  g_autofree gchar *out = NULL, *err = NULL;
  g_autoptr (GError) error = NULL;

  if (!g_subprocess_communicate_utf8_finish (G_SUBPROCESS (source), res, &out, &err, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (c->timed_out)
    {
      g_task_return_new_error (task, CW_ERROR, CW_ERROR_FAILED, "%s timed out", c->what);
      return;
    }
  if (!g_subprocess_get_successful (G_SUBPROCESS (source)))
    {
      g_task_return_new_error (task, CW_ERROR, CW_ERROR_FAILED, "%s failed: %s", c->what,
                               err != NULL && *err != '\0' ? g_strstrip (err) : "no output");
      return;
    }
  g_task_return_pointer (task, g_steal_pointer (&out), g_free);
}

/* Runs argv (argv[0] found on PATH); the task returns its stdout. */
static void
run_cli (CwRemoteTunnel *t, const gchar *const *argv, guint timeout_ms,
         GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task = g_task_new (NULL, NULL, callback, user_data);
  g_autoptr (GError) error = NULL;
  Cli *c = g_new0 (Cli, 1);

  g_task_set_task_data (task, c, (GDestroyNotify) cli_free);
  c->t = t;
  c->what = g_strjoinv (" ", (gchar **) argv);
  c->proc = g_subprocess_newv (argv,
                               G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE
                                   | G_SUBPROCESS_FLAGS_STDIN_INHERIT,
                               &error);
  if (c->proc == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      g_object_unref (task);
      return;
    }
  c->timeout_id = g_timeout_add (timeout_ms, cli_timeout, c);
  g_subprocess_communicate_utf8_async (c->proc, NULL, NULL, on_cli_done, task);
}

static gchar *
run_cli_finish (GAsyncResult *res, GError **error)
{
  return g_task_propagate_pointer (G_TASK (res), error);
}

/* ---- tailscale status ---- */

static gchar *
tailscale_url_of (const gchar *status_json, gboolean *running)
{
  g_autoptr (JsonNode) node = cw_json_from_string (status_json, -1, NULL);
  JsonObject *obj, *me;
  const gchar *dns;
  g_autofree gchar *host = NULL;
  gsize len;

  *running = FALSE;
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    return NULL;
  obj = json_node_get_object (node);
  *running
      = g_strcmp0 (json_object_get_string_member_with_default (obj, "BackendState", ""), "Running")
        == 0;
  me = json_object_has_member (obj, "Self") ? json_object_get_object_member (obj, "Self") : NULL;
  dns = me != NULL ? json_object_get_string_member_with_default (me, "DNSName", NULL) : NULL;
  if (dns == NULL || *dns == '\0')
    return NULL;
  len = strlen (dns);
  while (len > 0 && dns[len - 1] == '.')
    len--;
  host = g_strndup (dns, len);
  return g_strconcat ("https://", host, NULL);
}

static void
on_status_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  CwRemoteTunnel *t = user_data;
  g_autoptr (GError) error = NULL;
  g_autofree gchar *out = run_cli_finish (res, &error);
  gboolean running = FALSE;
  g_autofree gchar *url = out != NULL ? tailscale_url_of (out, &running) : NULL;

  if (out == NULL)
    {
      set_str (&t->auth_status, "unknown");
      return;
    }
  set_str (&t->auth_status, running ? "authenticated" : "unauthenticated");
  if (url != NULL && g_strcmp0 (t->state, "running") == 0)
    set_str (&t->public_url, url);
}

void
cw_remote_tunnel_refresh (CwRemoteTunnel *t, gboolean force)
{
  gint64 now = g_get_monotonic_time ();
  g_autofree gchar *path = NULL;
  const gchar *binary = binary_name (t);

  if (!force && t->last_refresh_us != 0 && now - t->last_refresh_us < REFRESH_COOLDOWN_US)
    return;
  t->last_refresh_us = now;
  if (binary == NULL)
    return;
  path = g_find_program_in_path (binary);
  if (path == NULL)
    {
      set_str (&t->auth_status, "unknown");
      return;
    }
  if (g_str_equal (binary, "tailscale"))
    {
      const gchar *argv[] = { path, "status", "--json", NULL };
      run_cli (t, argv, CLI_TIMEOUT_MS, on_status_done, t);
    }
  else
    {
      g_autofree gchar *cert
          = g_build_filename (g_get_home_dir (), ".cloudflared", "cert.pem", NULL);
      if (t->self->config.tunnel_domain == NULL)
        set_str (&t->auth_status, "authenticated"); /* a quick tunnel needs no login */
      else
        set_str (&t->auth_status,
                 g_file_test (cert, G_FILE_TEST_EXISTS) ? "authenticated" : "unauthenticated");
    }
}

/* ---- start and stop ---- */

static void
started (CwRemoteTunnel *t, GTask *task, const gchar *url)
{
  g_autofree gchar *msg = NULL;
  JsonObject *details = json_object_new ();

  set_state (t, "running", NULL);
  set_str (&t->public_url, url);
  t->started_at = cw_remote_plugin_now (t->self);
  t->backoff_ms = 1000;
  msg = g_strdup_printf ("Tunnel %s running%s%s", t->self->config.tunnel_mode,
                         url != NULL ? " at " : "", url != NULL ? url : "");
  cw_remote_plugin_diagnostic (t->self, "info", "start", msg, NULL);
  json_object_set_string_member (details, "mode", t->self->config.tunnel_mode);
  json_object_set_string_member (details, "visibility", t->self->config.tunnel_visibility);
  if (t->running_command != NULL)
    json_object_set_string_member (details, "command", t->running_command);
  if (url != NULL)
    json_object_set_string_member (details, "url", url);
  cw_plugin_audit (CW_PLUGIN (t->self), "tunnel.started", NULL, details, NULL);
  json_object_unref (details);
  if (task != NULL)
    g_task_return_boolean (task, TRUE);
}

static void
failed (CwRemoteTunnel *t, GTask *task, GError *error)
{
  set_state (t, "error", error->message);
  cw_remote_plugin_diagnostic (t->self, "error", "start", error->message,
                               binary_name (t) != NULL ? install_hint (binary_name (t)) : NULL);
  if (task != NULL)
    g_task_return_error (task, error);
  else
    g_error_free (error);
}

typedef struct
{
  CwRemoteTunnel *t;
  GTask *task;
  gchar *path;
} TsStart;

static void
on_ts_status_for_start (GObject *source, GAsyncResult *res, gpointer user_data)
{
  TsStart *ts = user_data;
  CwRemoteTunnel *t = ts->t;
  g_autoptr (GError) error = NULL;
  g_autofree gchar *out = run_cli_finish (res, &error);
  gboolean running = FALSE;
  g_autofree gchar *url = out != NULL ? tailscale_url_of (out, &running) : NULL;

  if (out != NULL)
    set_str (&t->auth_status, running ? "authenticated" : "unauthenticated");
  started (t, ts->task, url);
  g_object_unref (ts->task);
  g_free (ts->path);
  g_free (ts);
}

static void
on_ts_publish_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  TsStart *ts = user_data;
  g_autoptr (GError) error = NULL;
  g_autofree gchar *out = run_cli_finish (res, &error);
  const gchar *argv[] = { ts->path, "status", "--json", NULL };

  if (out != NULL)
    {
      set_str (&ts->t->self->config.tailscale_published, ts->t->running_command);
      cw_remote_store_save_config (ts->t->self, NULL);
    }
  if (out == NULL)
    {
      g_clear_pointer (&ts->t->running_command, g_free);
      failed (ts->t, ts->task, g_steal_pointer (&error));
      g_object_unref (ts->task);
      g_free (ts->path);
      g_free (ts);
      return;
    }
  run_cli (ts->t, argv, CLI_TIMEOUT_MS, on_ts_status_for_start, ts);
}

static void
start_tailscale (CwRemoteTunnel *t, GTask *task, const gchar *path, const gchar *local)
{
  TsStart *ts = g_new0 (TsStart, 1);
  /* Tailnet only unless the user asked for public: never funnel for "private". */
  const gchar *command
      = g_strcmp0 (t->self->config.tunnel_visibility, "private") == 0 ? "serve" : "funnel";
  const gchar *argv[] = { path, command, "--bg", "--https=443", local, NULL };

  ts->t = t;
  ts->task = task;
  ts->path = g_strdup (path);
  set_str (&t->running_command, command);
  run_cli (t, argv, CLI_TIMEOUT_MS, on_ts_publish_done, ts);
}

static void spawn_cloudflared (CwRemoteTunnel *t);

static gboolean
restart_cloudflared (gpointer user_data)
{
  CwRemoteTunnel *t = user_data;

  t->restart_id = 0;
  if (t->wanted)
    spawn_cloudflared (t);
  return G_SOURCE_REMOVE;
}

static void
on_cloudflared_exit (GObject *source, GAsyncResult *res, gpointer user_data)
{
  CwRemoteTunnel *t = user_data;
  GSubprocess *proc = G_SUBPROCESS (source);
  g_autoptr (GError) error = NULL;
  g_autofree gchar *msg = NULL;

  if (!g_subprocess_wait_finish (proc, res, &error))
    return; /* cancelled: stopped on purpose, t may be gone */
  if (proc != t->child)
    return;
  g_clear_object (&t->child);
  g_clear_handle_id (&t->start_timeout_id, g_source_remove);
  msg = g_strdup_printf ("cloudflared exited unexpectedly (status %d); restarting in %u ms",
                         g_subprocess_get_status (proc), t->backoff_ms);
  set_state (t, "error", msg);
  cw_remote_plugin_diagnostic (t->self, "warn", "tunnel", msg, NULL);
  if (t->start_task != NULL)
    {
      g_task_return_new_error (t->start_task, CW_ERROR, CW_ERROR_FAILED,
                               "cloudflared exited before it gave a URL");
      g_clear_object (&t->start_task);
      t->wanted = FALSE;
      return;
    }
  if (t->wanted)
    {
      t->restart_id = g_timeout_add (t->backoff_ms, restart_cloudflared, t);
      t->backoff_ms = MIN (t->backoff_ms * 2, BACKOFF_MAX_MS);
    }
}

static gchar *
find_quick_url (const gchar *line)
{
  static const gchar suffix[] = ".trycloudflare.com";
  gsize n = strlen (suffix);

  for (const gchar *p = strstr (line, "https://"); p != NULL; p = strstr (p + 1, "https://"))
    {
      const gchar *host = p + strlen ("https://");
      const gchar *end = host;
      while (g_ascii_isalnum (*end) || *end == '-' || *end == '.')
        end++;
      if ((gsize) (end - host) > n && strncmp (end - n, suffix, n) == 0
          && strncmp (host, "api.", 4) != 0)
        return g_strndup (p, end - p);
    }
  return NULL;
}

static void read_cloudflared_line (CwRemoteTunnel *t, GDataInputStream *in);

static void
on_cloudflared_line (GObject *source, GAsyncResult *res, gpointer user_data)
{
  CwRemoteTunnel *t = user_data;
  GDataInputStream *in = G_DATA_INPUT_STREAM (source);
  g_autoptr (GError) error = NULL;
  g_autofree gchar *line = g_data_input_stream_read_line_finish_utf8 (in, res, NULL, &error);
  g_autofree gchar *url = NULL;

  if (line == NULL)
    {
      g_object_unref (in);
      return; /* end of output or cancelled */
    }
  g_debug ("cloudflared: %s", line);
  if (t->start_task != NULL)
    {
      url = find_quick_url (line);
      if (url == NULL && t->self->config.tunnel_domain != NULL
          && strstr (line, "Registered tunnel connection") != NULL)
        url = g_strconcat ("https://", t->self->config.tunnel_domain, NULL);
      if (url != NULL)
        {
          GTask *task = g_steal_pointer (&t->start_task);
          g_clear_handle_id (&t->start_timeout_id, g_source_remove);
          started (t, task, url);
          g_object_unref (task);
        }
    }
  else if (t->wanted && g_strcmp0 (t->state, "running") != 0)
    {
      url = find_quick_url (line);
      if (url != NULL)
        started (t, NULL, url);
    }
  read_cloudflared_line (t, in);
}

static void
read_cloudflared_line (CwRemoteTunnel *t, GDataInputStream *in)
{
  g_data_input_stream_read_line_async (in, G_PRIORITY_DEFAULT, t->child_cancel, on_cloudflared_line,
                                       t);
}

static gboolean
on_cloudflared_start_timeout (gpointer user_data)
{
  CwRemoteTunnel *t = user_data;
  GTask *task = g_steal_pointer (&t->start_task);

  t->start_timeout_id = 0;
  t->wanted = FALSE;
  stop_child (t);
  failed (t, task,
          g_error_new_literal (CW_ERROR, CW_ERROR_FAILED,
                               "cloudflared gave no public URL within 20 s"));
  g_clear_object (&task);
  return G_SOURCE_REMOVE;
}

static void
spawn_cloudflared (CwRemoteTunnel *t)
{
  g_autofree gchar *path = g_find_program_in_path ("cloudflared");
  g_autofree gchar *local = origin (t);
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GError) error = NULL;
  GInputStream *err;

  if (path == NULL || local == NULL)
    {
      failed (t, g_steal_pointer (&t->start_task),
              g_error_new (CW_ERROR, CW_ERROR_NOT_SUPPORTED,
                           path == NULL ? "cloudflared is not installed. %s"
                                        : "the local server is not running%s",
                           path == NULL ? install_hint ("cloudflared") : ""));
      return;
    }
  g_ptr_array_add (argv, path);
  g_ptr_array_add (argv, "tunnel");
  g_ptr_array_add (argv, "--url");
  g_ptr_array_add (argv, local);
  g_ptr_array_add (argv, "--no-autoupdate");
  if (t->self->config.tunnel_name != NULL && t->self->config.tunnel_domain != NULL)
    {
      g_ptr_array_add (argv, "--name");
      g_ptr_array_add (argv, t->self->config.tunnel_name);
    }
  if (t->self->config.tunnel_domain != NULL)
    {
      g_ptr_array_add (argv, "--hostname");
      g_ptr_array_add (argv, t->self->config.tunnel_domain);
    }
  g_ptr_array_add (argv, NULL);
  set_state (t, "starting", NULL);
  t->child = g_subprocess_newv ((const gchar *const *) argv->pdata,
                                G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_PIPE,
                                &error);
  if (t->child == NULL)
    {
      GTask *task = g_steal_pointer (&t->start_task);
      failed (t, task, g_steal_pointer (&error));
      g_clear_object (&task);
      return;
    }
  t->child_cancel = g_cancellable_new ();
  err = g_subprocess_get_stderr_pipe (t->child);
  read_cloudflared_line (t, g_data_input_stream_new (err));
  g_subprocess_wait_async (t->child, t->child_cancel, on_cloudflared_exit, t);
  if (t->start_task != NULL)
    t->start_timeout_id = g_timeout_add (CLOUDFLARED_START_MS, on_cloudflared_start_timeout, t);
}

void
cw_remote_tunnel_start (CwRemoteTunnel *t, GCancellable *cancellable, GAsyncReadyCallback callback,
                        gpointer user_data)
{
  GTask *task = g_task_new (NULL, cancellable, callback, user_data);
  const gchar *mode = t->self->config.tunnel_mode;
  const gchar *binary = binary_name (t);
  g_autofree gchar *path = binary != NULL ? g_find_program_in_path (binary) : NULL;
  g_autofree gchar *local = origin (t);

  g_task_set_task_data (task, t->self, NULL);
  if (cw_remote_tunnel_is_running (t) || t->start_task != NULL)
    {
      g_task_return_boolean (task, TRUE);
      g_object_unref (task);
      return;
    }
  cw_plugin_audit (CW_PLUGIN (t->self), "tunnel.start", NULL, NULL, NULL);
  t->wanted = TRUE;
  if (binary != NULL && path == NULL)
    {
      t->wanted = FALSE;
      failed (t, task,
              g_error_new (CW_ERROR, CW_ERROR_NOT_SUPPORTED, "%s is not installed. %s", binary,
                           install_hint (binary)));
      g_object_unref (task);
      return;
    }
  if (g_strcmp0 (mode, "custom") == 0)
    {
      g_autofree gchar *url = cw_remote_plugin_resolved_public_url (t->self);
      if (url == NULL)
        {
          t->wanted = FALSE;
          failed (t, task,
                  g_error_new_literal (CW_ERROR, CW_ERROR_INVALID_PARAMS,
                                       "A custom tunnel needs publicBaseUrl or tunnelDomain"));
        }
      else
        started (t, task, url);
      g_object_unref (task);
      return;
    }
  set_state (t, "starting", NULL);
  if (g_str_equal (binary, "tailscale"))
    start_tailscale (t, task, path, local);
  else
    {
      t->start_task = task;
      spawn_cloudflared (t);
    }
}

gboolean
cw_remote_tunnel_start_finish (CwRemoteTunnel *t, GAsyncResult *result, GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
on_ts_off_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  CwRemoteTunnel *t = user_data;
  g_autoptr (GError) error = NULL;
  g_autofree gchar *out = run_cli_finish (res, &error);

  if (out == NULL)
    cw_remote_plugin_diagnostic (t->self, "warn", "stop", error->message, NULL);
  if (--t->offs_running > 0)
    return;
  for (guint i = 0; i < t->idle_waiters->len; i++)
    {
      g_task_return_boolean (g_ptr_array_index (t->idle_waiters, i), TRUE);
      g_object_unref (g_ptr_array_index (t->idle_waiters, i));
    }
  g_ptr_array_set_size (t->idle_waiters, 0);
}

/* Runs `tailscale @command --https=443 off` and forgets the publication. */
static void
unpublish (CwRemoteTunnel *t, const gchar *command)
{
  g_autofree gchar *path = g_find_program_in_path ("tailscale");
  const gchar *argv[] = { path, command, "--https=443", "off", NULL };

  if (path != NULL)
    {
      t->offs_running++;
      run_cli (t, argv, CLI_TIMEOUT_MS, on_ts_off_done, t);
    }
  else
    cw_remote_plugin_diagnostic (t->self, "warn", "stop",
                                 "tailscale is gone: its publication could not be turned off",
                                 NULL);
  g_clear_pointer (&t->self->config.tailscale_published, g_free);
  cw_remote_store_save_config (t->self, NULL);
}

void
cw_remote_tunnel_cleanup (CwRemoteTunnel *t)
{
  g_autofree gchar *command = g_strdup (t->self->config.tailscale_published);
  g_autofree gchar *msg = NULL;
  JsonObject *details;

  if (command == NULL)
    return;
  msg = g_strdup_printf ("Tailscale %s was still on from an earlier run: turned off", command);
  cw_remote_plugin_diagnostic (t->self, "warn", "config_repair", msg, NULL);
  details = json_object_new ();
  json_object_set_string_member (details, "command", command);
  cw_plugin_audit (CW_PLUGIN (t->self), "tunnel.cleanup", NULL, details, NULL);
  json_object_unref (details);
  unpublish (t, command);
}

static gboolean
on_idle_timeout (gpointer user_data)
{
  GTask *task = user_data;
  CwRemoteTunnel *t = g_task_get_task_data (task);

  if (g_ptr_array_remove (t->idle_waiters, task))
    {
      g_task_return_boolean (task, TRUE);
      g_object_unref (task);
    }
  return G_SOURCE_REMOVE;
}

void
cw_remote_tunnel_wait_idle (CwRemoteTunnel *t, guint timeout_ms, GAsyncReadyCallback callback,
                            gpointer user_data)
{
  GTask *task = g_task_new (NULL, NULL, callback, user_data);

  g_task_set_task_data (task, t, NULL);
  if (t->offs_running == 0)
    {
      g_task_return_boolean (task, TRUE);
      g_object_unref (task);
      return;
    }
  g_ptr_array_add (t->idle_waiters, task);
  g_timeout_add_full (G_PRIORITY_DEFAULT, timeout_ms, on_idle_timeout, g_object_ref (task),
                      g_object_unref);
}

void
cw_remote_tunnel_stop (CwRemoteTunnel *t)
{
  gboolean was = t->wanted || cw_remote_tunnel_is_running (t) || t->child != NULL;
  JsonObject *details;

  t->wanted = FALSE;
  if (t->start_task != NULL)
    {
      g_task_return_new_error (t->start_task, CW_ERROR, CW_ERROR_CANCELLED,
                               "The tunnel was stopped before it ran");
      g_clear_object (&t->start_task);
    }
  stop_child (t);
  if (t->running_command != NULL)
    {
      unpublish (t, t->running_command);
      g_clear_pointer (&t->running_command, g_free);
    }
  set_state (t, "stopped", NULL);
  g_clear_pointer (&t->public_url, g_free);
  t->started_at = 0;
  if (!was)
    return;
  details = json_object_new ();
  json_object_set_string_member (details, "mode", t->self->config.tunnel_mode);
  cw_plugin_audit (CW_PLUGIN (t->self), "tunnel.stop", NULL, details, NULL);
  json_object_unref (details);
  cw_remote_plugin_diagnostic (t->self, "info", "stop", "Tunnel stopped", NULL);
}

/* ---- authenticate and install ---- */

static void
on_action_cli_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  CwRemotePlugin *self = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  g_autofree gchar *out = run_cli_finish (res, &error);

  if (out == NULL)
    {
      cw_remote_plugin_diagnostic (self, "error", "authenticate", error->message, NULL);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  cw_remote_plugin_diagnostic (self, "info", "authenticate", "Authenticated", NULL);
  cw_remote_tunnel_refresh (self->tunnel, TRUE);
  g_task_return_boolean (task, TRUE);
}

void
cw_remote_tunnel_run_action (CwRemoteTunnel *t, const gchar *action, GCancellable *cancellable,
                             GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task = g_task_new (NULL, cancellable, callback, user_data);
  const gchar *binary = binary_name (t);
  g_autofree gchar *path = binary != NULL ? g_find_program_in_path (binary) : NULL;

  g_task_set_task_data (task, t->self, NULL);
  if (binary == NULL)
    {
      g_task_return_new_error (task, CW_ERROR, CW_ERROR_INVALID_PARAMS,
                               "A custom tunnel is managed by you: nothing to %s", action);
      g_object_unref (task);
      return;
    }
  if (g_str_equal (action, "install"))
    {
      /* Installing system packages needs root, which the daemon does not have (and must
       * not ask for): say how instead. */
      g_task_return_new_error (task, CW_ERROR, CW_ERROR_NOT_SUPPORTED,
                               path != NULL ? "%s is already installed at %s"
                                            : "coworkd does not install system packages. %s%s",
                               path != NULL ? binary : install_hint (binary),
                               path != NULL ? path : "");
      g_object_unref (task);
      return;
    }
  if (path == NULL)
    {
      g_task_return_new_error (task, CW_ERROR, CW_ERROR_NOT_SUPPORTED, "%s is not installed. %s",
                               binary, install_hint (binary));
      g_object_unref (task);
      return;
    }
  if (g_str_equal (binary, "tailscale"))
    {
      const gchar *argv[] = { path, "up", NULL };
      run_cli (t, argv, AUTH_TIMEOUT_MS, on_action_cli_done, task);
    }
  else if (t->self->config.tunnel_domain != NULL)
    {
      const gchar *argv[] = { path, "tunnel", "login", NULL };
      run_cli (t, argv, AUTH_TIMEOUT_MS, on_action_cli_done, task);
    }
  else
    {
      /* A quick tunnel needs no account. */
      g_task_return_boolean (task, TRUE);
      g_object_unref (task);
    }
}

gboolean
cw_remote_tunnel_run_action_finish (CwRemoteTunnel *t, GAsyncResult *result, GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}
