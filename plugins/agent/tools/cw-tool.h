/* cw-tool.h: the agent's built-in tools. Each tool lives in its own file and describes
 * itself with a CwToolInfo: its schema for the model, the permission it needs (contract
 * §8.2) and how it runs. File tools run on a worker thread; execute runs a child process
 * on the main context; write_todos and ask_user act on the session and are run by the
 * turn itself.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <cowork.h>

G_BEGIN_DECLS

/* How execute confines a command (cw-tool-sandbox.h). */
typedef enum
{
  CW_TOOL_SANDBOX_NONE,      /* a person approved it: it runs with the user's rights */
  CW_TOOL_SANDBOX_WORKDIR,   /* Landlock: writes only in the working directory */
  CW_TOOL_SANDBOX_READ_ONLY, /* Landlock: no writes at all */
} CwToolSandbox;

typedef struct _CwToolCommands CwToolCommands;

typedef struct
{
  gchar *working_directory;
  gchar *root;              /* real path every file a tool opens lies within (cw-tool-fs.h) */
  CwToolSandbox sandbox;    /* execute */
  CwToolCommands *commands; /* execute: records the commands running (cw-tool-commands.h) */
  gint64 timeout_ms;        /* execute */
  gint64 max_output_bytes;  /* every tool's output is cut to this */
} CwToolEnv;

/* What a tool changed, for artifact:created. */
typedef struct
{
  const gchar *artifact_type; /* created | modified | deleted, or NULL */
  gchar *artifact_path;
} CwToolOutcome;

typedef gchar *(*CwToolSyncFunc) (const CwToolEnv *env, JsonObject *args, GCancellable *cancellable,
                                  CwToolOutcome *outcome, GError **error);
typedef void (*CwToolAsyncFunc) (const CwToolEnv *env, JsonObject *args, GCancellable *cancellable,
                                 GAsyncReadyCallback callback, gpointer user_data);

typedef struct
{
  const gchar *name;
  const gchar *description;
  const gchar *parameters;      /* JSON schema of the arguments */
  const gchar *permission_type; /* NULL: needs none */
  const gchar *resource_arg;    /* the argument the permission is about */
  gboolean resource_is_path;
  gboolean read_only;        /* allowed in plan mode */
  CwToolSyncFunc run_sync;   /* or */
  CwToolAsyncFunc run_async; /* result through cw_tool_run_finish; neither: session tool */
} CwToolInfo;

extern const CwToolInfo cw_tool_read_file;
extern const CwToolInfo cw_tool_write_file;
extern const CwToolInfo cw_tool_edit_file;
extern const CwToolInfo cw_tool_delete_file;
extern const CwToolInfo cw_tool_ls;
extern const CwToolInfo cw_tool_glob;
extern const CwToolInfo cw_tool_grep;
extern const CwToolInfo cw_tool_execute;
extern const CwToolInfo cw_tool_write_todos;
extern const CwToolInfo cw_tool_ask_user;

const CwToolInfo *cw_tool_lookup (const gchar *name);
/* Keeps the built-in tools' names from tools other plugins contribute. */
void cw_tool_reserve_names (CwPlugin *plugin);
/* [{name, description, parameters}] for the provider request. */
JsonArray *cw_tool_list_schemas (void);

/* @root NULL: the working directory's real path. */
CwToolEnv *cw_tool_env_new (const gchar *working_directory, const gchar *root, gint64 timeout_ms,
                            gint64 max_output_bytes);
CwToolEnv *cw_tool_env_copy (const CwToolEnv *env);
void cw_tool_env_free (CwToolEnv *env);

/* Runs a thread or async tool. */
void cw_tool_run (const CwToolInfo *tool, CwToolEnv *env, JsonObject *args,
                  GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data);
/* The tool's output text; @outcome (may be NULL) gets what it changed. */
gchar *cw_tool_run_finish (GAsyncResult *result, CwToolOutcome *outcome, GError **error);
void cw_tool_outcome_clear (CwToolOutcome *outcome);

/* Helpers shared by the tools. */
gchar *cw_tool_resolve_path (const CwToolEnv *env, const gchar *path);
const gchar *cw_tool_arg_string (JsonObject *args, const gchar *name, gboolean required,
                                 GError **error);
/* Cuts @text to @max bytes at a character boundary, saying so. Takes @text. */
gchar *cw_tool_cap_output (gchar *text, gint64 max);

/* write_todos: Task[] (contract §5.4) from the tool's arguments. */
JsonArray *cw_tool_write_todos_tasks (const gchar *session_id, JsonObject *args, GError **error);
/* ask_user: a QuestionRequest without id/timestamp. */
JsonObject *cw_tool_ask_user_request (JsonObject *args, GError **error);

G_END_DECLS
