/* cw-tool-commands.c: see cw-tool-commands.h. The records are one JSON object in the agent's
 * meta table: {id: {pid, startTime}}.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-tool-commands.h"
#include "../cw-agent-store.h"

#include <signal.h>

#define META_KEY "runningCommands"

struct _CwToolCommands
{
  CwStore *store;
  JsonObject *running;
  gchar **hidden;
};

CwToolCommands *
cw_tool_commands_new (CwStore *store, const gchar *app_data_dir)
{
  CwToolCommands *self = g_new0 (CwToolCommands, 1);
  g_autofree gchar *stored = cw_agent_store_get_meta (store, META_KEY);
  g_autoptr (JsonNode) node = stored != NULL ? cw_json_from_string (stored, -1, NULL) : NULL;
  g_autoptr (GPtrArray) hidden = g_ptr_array_new ();
  const gchar *runtime = g_getenv ("XDG_RUNTIME_DIR");

  self->store = store;
  self->running = node != NULL && JSON_NODE_HOLDS_OBJECT (node)
                      ? json_object_ref (json_node_get_object (node))
                      : json_object_new ();
  g_ptr_array_add (hidden, g_strdup (g_get_home_dir ()));
  if (runtime != NULL && *runtime != '\0')
    g_ptr_array_add (hidden, g_strdup (runtime));
  if (app_data_dir != NULL)
    g_ptr_array_add (hidden, g_strdup (app_data_dir));
  g_ptr_array_add (hidden, NULL);
  self->hidden = (gchar **) g_ptr_array_free (g_steal_pointer (&hidden), FALSE);
  return self;
}

void
cw_tool_commands_free (CwToolCommands *self)
{
  if (self == NULL)
    return;
  json_object_unref (self->running);
  g_strfreev (self->hidden);
  g_free (self);
}

const gchar *const *
cw_tool_commands_hidden_paths (CwToolCommands *self)
{
  return (const gchar *const *) self->hidden;
}

static void
save (CwToolCommands *self)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) node = json_node_init_object (json_node_alloc (), self->running);
  g_autofree gchar *text = cw_json_to_string (node);

  if (!cw_agent_store_set_meta (self->store, META_KEY, text, &error))
    g_warning ("failed to record the running commands: %s", error->message);
}

gchar *
cw_tool_commands_new_id (void)
{
  return g_strdup_printf ("%08x%08x%08x%08x", g_random_int (), g_random_int (), g_random_int (),
                          g_random_int ());
}

/* Fields of /proc/<pid>/stat after "pid (comm) ", 0-based: 0 state, 3 session, 19 start time. */
static gboolean
read_stat (GPid pid, guint64 *session, guint64 *start_time)
{
  g_autofree gchar *path = g_strdup_printf ("/proc/%d/stat", (int) pid);
  g_autofree gchar *text = NULL;
  g_auto (GStrv) fields = NULL;
  const gchar *close_paren;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return FALSE;
  close_paren = strrchr (text, ')');
  if (close_paren == NULL || close_paren[1] == '\0')
    return FALSE;
  fields = g_strsplit (close_paren + 2, " ", -1);
  if (g_strv_length (fields) < 20)
    return FALSE;
  if (session != NULL)
    *session = g_ascii_strtoull (fields[3], NULL, 10);
  if (start_time != NULL)
    *start_time = g_ascii_strtoull (fields[19], NULL, 10);
  return TRUE;
}

static gboolean
environ_has (GPid pid, const gchar *needle, gsize needle_len)
{
  g_autofree gchar *path = g_strdup_printf ("/proc/%d/environ", (int) pid);
  g_autofree gchar *text = NULL;
  gsize len = 0;

  if (!g_file_get_contents (path, &text, &len, NULL))
    return FALSE;
  for (gsize i = 0; i + needle_len <= len; i += strlen (text + i) + 1)
    if (memcmp (text + i, needle, needle_len) == 0)
      return TRUE;
  return FALSE;
}

typedef struct
{
  gchar *needle; /* "COWORK_COMMAND_ID=<id>" plus its NUL */
  gsize needle_len;
  GPid session;          /* the helper led this session (0: unknown) */
  guint64 started_after; /* session members must have started no earlier than it */
} Target;

/* SIGKILLs every process of @targets; returns how many. */
static guint
kill_matching (GArray *targets)
{
  g_autoptr (GDir) dir = g_dir_open ("/proc", 0, NULL);
  const gchar *name;
  GPid self = getpid ();
  guint killed = 0;

  if (dir == NULL)
    return 0;
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      GPid pid = (GPid) g_ascii_strtoll (name, NULL, 10);
      guint64 session = 0, start = 0;

      if (pid <= 0 || pid == self || !read_stat (pid, &session, &start))
        continue;
      for (guint i = 0; i < targets->len; i++)
        {
          Target *t = &g_array_index (targets, Target, i);
          if ((t->session > 0 && session == (guint64) t->session && start >= t->started_after)
              || environ_has (pid, t->needle, t->needle_len))
            {
              kill (pid, SIGKILL);
              killed++;
              break;
            }
        }
    }
  return killed;
}

static void
target_clear (Target *t)
{
  g_free (t->needle);
}

static void
add_target (GArray *targets, const gchar *id, GPid session, guint64 started_after)
{
  Target t = { 0 };

  t.needle = g_strdup_printf ("%s=%s", CW_TOOL_COMMAND_ID_VAR, id);
  t.needle_len = strlen (t.needle) + 1;
  t.session = session;
  t.started_after = started_after;
  g_array_append_val (targets, t);
}

/* A few rounds: a process forking while the scan runs is caught by the next one. */
static guint
kill_targets (GArray *targets)
{
  guint total = 0;

  for (guint round = 0; round < 3; round++)
    {
      guint n = kill_matching (targets);
      total += n;
      if (n == 0)
        break;
    }
  return total;
}

void
cw_tool_commands_started (CwToolCommands *self, const gchar *id, GPid pid)
{
  JsonObject *rec = json_object_new ();
  guint64 start = 0;

  read_stat (pid, NULL, &start);
  json_object_set_int_member (rec, "pid", pid);
  json_object_set_int_member (rec, "startTime", (gint64) start);
  json_object_set_object_member (self->running, id, rec);
  save (self);
}

void
cw_tool_commands_finished (CwToolCommands *self, const gchar *id)
{
  g_autoptr (GArray) targets = g_array_new (FALSE, TRUE, sizeof (Target));

  g_array_set_clear_func (targets, (GDestroyNotify) target_clear);
  add_target (targets, id, 0, 0);
  kill_targets (targets);
  if (json_object_has_member (self->running, id))
    {
      json_object_remove_member (self->running, id);
      save (self);
    }
}

guint
cw_tool_commands_end_leftovers (CwToolCommands *self)
{
  g_autoptr (GArray) targets = g_array_new (FALSE, TRUE, sizeof (Target));
  g_autoptr (GList) ids = json_object_get_members (self->running);
  guint killed = 0;

  g_array_set_clear_func (targets, (GDestroyNotify) target_clear);
  for (GList *l = ids; l != NULL; l = l->next)
    {
      JsonObject *rec = json_object_get_object_member (self->running, l->data);
      GPid pid = rec != NULL ? (GPid) json_object_get_int_member_with_default (rec, "pid", 0) : 0;
      guint64 recorded
          = rec != NULL ? (guint64) json_object_get_int_member_with_default (rec, "startTime", 0)
                        : 0;
      guint64 start = 0;
      gboolean alive = pid > 0 && read_stat (pid, NULL, &start);
      gboolean same = alive && start == recorded;

      /* The helper led a session of its own. Its id names the command's processes while the
       * helper is provably the recorded one, or gone (the kernel does not hand out a pid
       * that a live session still uses); a live process with another start time reused it. */
      add_target (targets, l->data, pid > 0 && (same || !alive) ? pid : 0, recorded);
      if (same && kill (pid, SIGKILL) == 0)
        killed++;
    }
  if (targets->len == 0)
    return 0;
  killed += kill_targets (targets);
  g_clear_pointer (&self->running, json_object_unref);
  self->running = json_object_new ();
  save (self);
  if (killed > 0)
    g_message ("ended %u processes left running by commands of a previous daemon", killed);
  return killed;
}
