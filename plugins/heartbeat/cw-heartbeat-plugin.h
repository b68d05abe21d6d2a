/* cw-heartbeat-plugin.h: the heartbeat plugin's state, shared by its files.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <cowork.h>

G_BEGIN_DECLS

#define CW_TYPE_HEARTBEAT_PLUGIN (cw_heartbeat_plugin_get_type ())
G_DECLARE_FINAL_TYPE (CwHeartbeatPlugin, cw_heartbeat_plugin, CW, HEARTBEAT_PLUGIN, CwPlugin)

/* The queue holds at most this many events (contract §5). */
#define CW_HEARTBEAT_QUEUE_MAX 1000

/* Scheduler jobs of the plugin. */
#define CW_HEARTBEAT_TICK_JOB     "tick"
#define CW_HEARTBEAT_CHECK_IN_JOB "check-in"

/* A queued SystemEvent. */
typedef struct
{
  JsonObject *event; /* {id, type, payload?, scheduledAt, priority, sessionId?} */
  gint priority;     /* 0 low, 1 normal, 2 high */
  gint64 position;   /* queue order: FIFO within a priority */
} CwHeartbeatQueued;

struct _CwHeartbeatPlugin
{
  CwPlugin parent_instance;
  CwStore *store;
  JsonObject *config;      /* HeartbeatConfig with every member set (nullable ones null) */
  GPtrArray *queue;        /* CwHeartbeatQueued, in the order they are handled */
  gint64 next_position;    /* queue order of the next event */
  gint64 tick_anchor;      /* the tick schedule's anchor, kept so a restart goes on with it */
  gint64 last_heartbeat;   /* the last tick (ms), 0 before the first */
  gchar *check_in_session; /* the session the plugin made for check-ins */
  JsonObject *in_flight;   /* the event being acted on, or NULL */
  gboolean started;
  gboolean stopping;
  gboolean running;
  gboolean processing;
  gboolean checking_in;
  guint64 ticks;
  guint64 processed;
  guint64 failed;
  gchar *last_error;
  JsonObject *last_check_in; /* {at, sessionId, success, error?} or NULL */
};

/* cw-heartbeat-plugin.c */
/* Starts (or restarts, with a new anchor when @fresh) the tick and check-in jobs. */
gboolean cw_heartbeat_plugin_run (CwHeartbeatPlugin *self, gboolean fresh, GError **error);
void cw_heartbeat_plugin_halt (CwHeartbeatPlugin *self);
/* One heartbeat now: the tick event, then the queue is acted on. */
void cw_heartbeat_plugin_tick (CwHeartbeatPlugin *self);
/* HeartbeatStatus: {isRunning, lastHeartbeat, nextHeartbeat, eventQueueSize, isProcessing}. */
JsonObject *cw_heartbeat_plugin_status (CwHeartbeatPlugin *self);
/* Emits heartbeat:status with the status. */
void cw_heartbeat_plugin_announce (CwHeartbeatPlugin *self);

/* cw-heartbeat-config.c */
JsonObject *cw_heartbeat_config_new_default (void);
/* Merges the members of @input into a copy of @config; null and absent members keep their
 * value, "" clears a nullable string. NULL with CW_ERROR_INVALID_PARAMS on a bad member. */
JsonObject *cw_heartbeat_config_merge (JsonObject *config, JsonObject *input, GError **error);
gboolean cw_heartbeat_config_get_boolean (JsonObject *config, const gchar *name);
gint64 cw_heartbeat_config_get_int (JsonObject *config, const gchar *name);
const gchar *cw_heartbeat_config_get_string (JsonObject *config, const gchar *name);

/* cw-heartbeat-schema.c: tables, the kept state and the import of the original's file. */
gboolean cw_heartbeat_schema_migrate (CwHeartbeatPlugin *self, GError **error);
/* heartbeat_state: one JSON value per key (config, tickAnchor, lastHeartbeat, ...). */
JsonNode *cw_heartbeat_state_get (CwStore *store, const gchar *key);
gboolean cw_heartbeat_state_set (CwStore *store, const gchar *key, JsonNode *value, GError **error);
gboolean cw_heartbeat_state_set_int (CwStore *store, const gchar *key, gint64 value,
                                     GError **error);
gboolean cw_heartbeat_state_set_object (CwStore *store, const gchar *key, JsonObject *value,
                                        GError **error);

/* cw-heartbeat-queue.c */
gboolean cw_heartbeat_queue_load (CwHeartbeatPlugin *self, GError **error);
/* Validates a QueueEventInput {type, payload?, priority?, sessionId?}, stores and queues the
 * event (evicting one when full) and returns it (transfer none). */
JsonObject *cw_heartbeat_queue_add (CwHeartbeatPlugin *self, JsonObject *input, GError **error);
/* Takes the first event off the queue (and the store); transfer full, NULL when empty. */
JsonObject *cw_heartbeat_queue_pop (CwHeartbeatPlugin *self, GError **error);
/* Empties the queue; returns how many events were dropped, -1 on a store error. */
gint64 cw_heartbeat_queue_clear (CwHeartbeatPlugin *self, GError **error);
JsonArray *cw_heartbeat_queue_list (CwHeartbeatPlugin *self);
void cw_heartbeat_queued_free (CwHeartbeatQueued *queued);

/* cw-heartbeat-actions.c */
/* Acts on the queue, one event at a time, until it is empty (or the plugin stops). */
void cw_heartbeat_actions_drain (CwHeartbeatPlugin *self);
/* An event that was being acted on when the daemon stopped: reported, not run again. */
void cw_heartbeat_actions_report_interrupted (CwHeartbeatPlugin *self);
/* Emits event:processed for @event. */
void cw_heartbeat_actions_processed (CwHeartbeatPlugin *self, JsonObject *event, JsonNode *result,
                                     const gchar *error);
/* The check-in job's fire: a prompt to the agent in the check-in session. */
void cw_heartbeat_actions_check_in (CwPlugin *plugin, const gchar *job_id, gint64 scheduled_ms,
                                    CwScheduleFireFlags flags, gpointer user_data);

/* cw-heartbeat-commands.c */
gboolean cw_heartbeat_commands_register (CwHeartbeatPlugin *self, GError **error);

G_END_DECLS
