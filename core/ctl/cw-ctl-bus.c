/* cw-ctl-bus.c: coworkctl's link to the daemon. The socket link wraps CwClient; the bus
 * link calls org.cowork.Daemon1 and turns its Event signals into the socket's envelopes, so
 * subcommands never know which one they use.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "cw-ctl-bus-private.h"
#include "cw-transport-dbus-private.h"

#include <glib/gi18n-lib.h>

struct _CwCtlLink
{
  CwClient *client;            /* socket link */
  GDBusConnection *connection; /* bus link */
  guint event_sub;
  GQueue events; /* JsonObject */
  gboolean closed;
};

CwCtlLink *
cw_ctl_link_new_socket (CwClient *client)
{
  CwCtlLink *self = g_new0 (CwCtlLink, 1);

  self->client = client;
  g_queue_init (&self->events);
  return self;
}

static void
on_closed (GDBusConnection *connection, gboolean remote_peer_vanished, GError *error,
           gpointer user_data)
{
  CwCtlLink *self = user_data;

  self->closed = TRUE;
}

CwCtlLink *
cw_ctl_link_new_bus (gboolean system_bus, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  GDBusConnection *connection;
  CwCtlLink *self;

  cw_dbus_register_errors ();
  connection
      = g_bus_get_sync (system_bus ? G_BUS_TYPE_SYSTEM : G_BUS_TYPE_SESSION, NULL, &local_error);
  if (connection == NULL)
    {
      g_set_error (error, CW_ERROR, CW_ERROR_FAILED, _ ("cannot reach the %s bus: %s"),
                   system_bus ? "system" : "session", local_error->message);
      return NULL;
    }
  /* A lost bus is an error for the current subcommand, not an exit(1) from inside GDBus. */
  g_dbus_connection_set_exit_on_close (connection, FALSE);
  self = g_new0 (CwCtlLink, 1);
  self->connection = connection;
  g_queue_init (&self->events);
  g_signal_connect (connection, "closed", G_CALLBACK (on_closed), self);
  return self;
}

void
cw_ctl_link_free (CwCtlLink *self)
{
  if (self == NULL)
    return;
  g_clear_pointer (&self->client, cw_client_free);
  if (self->connection != NULL)
    {
      if (self->event_sub != 0)
        g_dbus_connection_signal_unsubscribe (self->connection, self->event_sub);
      g_signal_handlers_disconnect_by_data (self->connection, self);
      g_object_unref (self->connection);
    }
  g_queue_clear_full (&self->events, (GDestroyNotify) json_object_unref);
  g_free (self);
}

/* Turns a bus error into what the socket link would report. */
static void
set_bus_error (GError **error, GError *bus_error)
{
  if (g_dbus_error_is_remote_error (bus_error))
    {
      g_autofree gchar *name = g_dbus_error_get_remote_error (bus_error);
      if (g_strcmp0 (name, "org.freedesktop.DBus.Error.ServiceUnknown") == 0
          || g_strcmp0 (name, "org.freedesktop.DBus.Error.NameHasNoOwner") == 0)
        {
          g_set_error (error, CW_ERROR, CW_ERROR_NOT_FOUND,
                       _ ("coworkd is not running (nothing owns %s on the bus)"), CW_DBUS_NAME);
          return;
        }
      if (g_strcmp0 (name, "org.freedesktop.DBus.Error.AccessDenied") == 0)
        {
          /* The bus policy's own message is a dump of match rules: say what it means. */
          g_set_error_literal (error, CW_ERROR, CW_ERROR_UNAUTHORIZED,
                               _ ("access denied: only the daemon's user, root and members of "
                                  "its group may call it"));
          g_error_free (bus_error);
          return;
        }
      g_dbus_error_strip_remote_error (bus_error);
    }
  g_propagate_error (error, bus_error);
}

static JsonNode *
bus_call (CwCtlLink *self, const gchar *command, JsonNode *params, GError **error)
{
  g_autofree gchar *params_json = params != NULL ? cw_json_to_string (params) : g_strdup ("");
  g_autoptr (GVariant) reply = NULL;
  GError *local_error = NULL;
  const gchar *text;

  /* No timeout: a command may run as long as it needs, as over the socket. */
  reply = g_dbus_connection_call_sync (
      self->connection, CW_DBUS_NAME, CW_DBUS_PATH, CW_DBUS_INTERFACE, "Call",
      g_variant_new ("(ss)", command, params_json), G_VARIANT_TYPE ("(s)"), G_DBUS_CALL_FLAGS_NONE,
      G_MAXINT, NULL, &local_error);
  if (reply == NULL)
    {
      set_bus_error (error, local_error);
      return NULL;
    }
  g_variant_get (reply, "(&s)", &text);
  return cw_json_from_string (text, -1, error);
}

JsonNode *
cw_ctl_link_call (CwCtlLink *self, const gchar *command, JsonNode *params, GError **error)
{
  if (self->client != NULL)
    return cw_client_call (self->client, command, params, error);
  return bus_call (self, command, params, error);
}

static JsonObject *
envelope_from_signal (GVariant *parameters)
{
  JsonObject *ev = json_object_new ();
  g_autoptr (JsonNode) data = NULL;
  const gchar *type, *session_id, *data_json;
  guint64 seq;
  gint64 timestamp;

  g_variant_get (parameters, "(t&s&s&sx)", &seq, &type, &session_id, &data_json, &timestamp);
  data = cw_json_from_string (data_json, -1, NULL);
  json_object_set_int_member (ev, "seq", (gint64) seq);
  json_object_set_int_member (ev, "timestamp", timestamp);
  json_object_set_string_member (ev, "type", type);
  if (*session_id != '\0')
    json_object_set_string_member (ev, "sessionId", session_id);
  else
    json_object_set_null_member (ev, "sessionId");
  if (data != NULL && JSON_NODE_HOLDS_OBJECT (data))
    json_object_set_member (ev, "data", g_steal_pointer (&data));
  else
    json_object_set_object_member (ev, "data", json_object_new ());
  return ev;
}

static void
on_event (GDBusConnection *connection, const gchar *sender, const gchar *path, const gchar *iface,
          const gchar *signal, GVariant *parameters, gpointer user_data)
{
  CwCtlLink *self = user_data;

  if (!g_variant_is_of_type (parameters, G_VARIANT_TYPE ("(tsssx)")))
    return;
  g_queue_push_tail (&self->events, envelope_from_signal (parameters));
}

gboolean
cw_ctl_link_follow_events (CwCtlLink *self, GError **error)
{
  if (self->connection == NULL || self->event_sub != 0)
    return TRUE; /* the socket streams events after any authenticated request */
  self->event_sub = g_dbus_connection_signal_subscribe (
      self->connection, CW_DBUS_NAME, CW_DBUS_INTERFACE, "Event", CW_DBUS_PATH, NULL,
      G_DBUS_SIGNAL_FLAGS_NONE, on_event, self, NULL);
  return TRUE;
}

JsonObject *
cw_ctl_link_next_event (CwCtlLink *self, GError **error)
{
  if (self->client != NULL)
    return cw_client_next_event (self->client, error);
  while (g_queue_is_empty (&self->events))
    {
      if (self->closed)
        {
          g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CLOSED,
                               _ ("the bus connection closed"));
          return NULL;
        }
      g_main_context_iteration (NULL, TRUE);
    }
  return g_queue_pop_head (&self->events);
}
