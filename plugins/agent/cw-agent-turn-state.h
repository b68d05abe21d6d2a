/* cw-agent-turn-state.h: the insides of a turn, shared by the loop (cw-agent-turn.c) and
 * its tool calls (cw-agent-turn-tools.c). Nothing else includes it.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cw-agent-turn.h"
#include "cw-provider.h"
#include "tools/cw-tool.h"

G_BEGIN_DECLS

typedef struct _CwAgentToolRun CwAgentToolRun;

struct _CwAgentTurn
{
  CwAgentPlugin *plugin;
  CwAgentSession *session;
  gchar *turn_id;
  gchar *run_id;
  GCancellable *cancellable;
  CwInvocation *run_invocation;
  CwAgentTurnEnded ended;
  gpointer ended_data;
  gint64 max_rounds;
  guint rounds;

  gboolean key_pending; /* waiting for the key lookup */
  CwProviderStream *stream;
  gboolean retrying;
  gboolean announced;    /* stream:start went out (the app shows the turn busy) */
  gboolean thinking;     /* isThinking: from stream:start until text follows thinking */
  gboolean tasks_sent;   /* task:set went out in this turn */
  gboolean done_emitted; /* ... and its stream:done too */
  gboolean stopped;
  gboolean plan_pending; /* plan-approval question asked */
  gchar *plan_text;      /* the plan it is about */
  GString *round_text;   /* the model's text of the current round */
  gchar *error_message;
  gchar *error_code;
  gboolean usage_reported; /* the provider reported token counts in this turn */
  gint64 prompt_tokens;    /* summed over the turn's rounds */
  gint64 completion_tokens;

  gchar *thinking_item_id;
  GString *thinking_text;
  gchar *segment_item_id;
  GString *segment_text;
  guint segment_index;
  guint flush_id;
  guint chat_update_id; /* coalesced chat:update of the growing segment */

  GPtrArray *calls; /* CwAgentToolRun of the current round */
  guint tools_pending;
};

struct _CwAgentToolRun
{
  CwAgentTurn *turn;
  gchar *id;
  gchar *name;
  JsonObject *args;
  JsonObject *call;         /* {id, name, args} */
  const CwToolInfo *tool;   /* a built-in tool, or */
  CwAgentTool *contributed; /* one another plugin contributed (cw-agent-plugin-tools.h) */
  GPtrArray *media;         /* media items its answer made, added after the tool_result */
  gpointer plugin_call;     /* while its command runs (cw-agent-turn-tools.c) */
  gchar *start_item_id;
  gint64 started_at;
  gboolean done;
};

/* cw-agent-turn.c */
void cw_agent_turn_emit (CwAgentTurn *self, const gchar *type, JsonObject *data);
void cw_agent_turn_begin_round (CwAgentTurn *self);
void cw_agent_turn_maybe_finish (CwAgentTurn *self);

/* cw-agent-turn-tools.c */
CwAgentToolRun *cw_agent_tool_run_new (CwAgentTurn *turn, const gchar *id, const gchar *name,
                                       JsonObject *args);
void cw_agent_tool_run_free (CwAgentToolRun *run);
/* Announces every call of the round, then authorizes and runs each. */
void cw_agent_turn_run_tools (CwAgentTurn *self);
/* Ends the calls of contributed tools whose command is still running (stop_generation):
 * the commands see their cancellation, their late answers are dropped. May end the turn. */
void cw_agent_turn_stop_plugin_calls (CwAgentTurn *self);
/* Waiters for a permission / a question that holds a call back. */
void cw_agent_tool_run_on_permission (const gchar *decision, gpointer user_data);
void cw_agent_tool_run_on_answer (JsonNode *answer, gpointer user_data);

G_END_DECLS
