/* cw-transport-dbus.c: org.cowork.Daemon1 on the session or system bus. No command logic
 * lives here: Call, GetEventsSince and GetBootstrapState go through the registry, and the
 * Event signal is fed by a CwEventSubscriber like a socket client.
 *
 * The transport owns a private bus connection (not the g_bus_get singleton, whose
 * exit-on-close would take the daemon down with the bus). When the bus goes away it
 * reconnects with backoff; the socket keeps working meanwhile and daemon_health shows it.
 *
 * Authorization comes from the bus (cw-transport-dbus-auth.c), never from the message.
 * Open to every caller: ListCommands, the Version and Ready properties, and the
 * standard Introspectable/Peer interfaces (answered by GDBus). Everything else needs the
 * peer check (same uid or root on the session bus; root or the group on the system bus).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "cowork-host.h"
#include "cw-dbus-peers-private.h"
#include "cw-transport-dbus-auth-private.h"
#include "cw-transport-dbus-private.h"
#include "cw-transport-dbus-resources.h"

#define XML_RESOURCE       "/org/cowork/Daemon/org.cowork.Daemon1.xml"
#define ACCESS_DENIED      "org.freedesktop.DBus.Error.AccessDenied"
#define EVENTS_PER_DRAIN   1024
#define CURSOR_INTERVAL_US (100 * G_TIME_SPAN_MILLISECOND)
#define RECONNECT_MIN_S    1
#define RECONNECT_MAX_S    30

typedef enum
{
  NAME_NONE,
  NAME_WAITING, /* requested; queued behind another owner or no answer yet */
  NAME_OWNED,
  NAME_LOST,
} NameState;

struct _CwTransportDbus
{
  GObject parent_instance;
  CwCommandRegistry *registry;
  CwEventBus *bus;
  guint subscriber_queue;
  CwDbusAuth *auth;
  CwDbusBus bus_type;
  gboolean ready;
  gboolean closed;

  GCancellable *cancellable; /* the pending connect */
  GDBusConnection *connection;
  gulong closed_handler;
  guint registration_id;
  CwDbusPeers *peers; /* callers with calls in flight */
  guint name_subs[2]; /* NameAcquired, NameLost */
  NameState name_state;
  guint reconnect_id;
  guint reconnect_delay_s;
  gchar *last_error;

  CwEventSubscriber *subscriber;
  guint drain_id;
  guint cursor_timer_id;
  gint64 cursor_sent_at;
  gint64 cursor_announced;

  guint64 connects;
  guint64 calls;
  guint64 refused;
  guint64 signals;
  guint64 resyncs;
};

G_DEFINE_FINAL_TYPE (CwTransportDbus, cw_transport_dbus, G_TYPE_OBJECT)

static void connect_bus (CwTransportDbus *self);

/* ---- bus type, errors, introspection ------------------------------------------------ */

/* As GDBus finds it: the address in the environment, else the user bus socket that
 * systemd/dbus-user-session puts in $XDG_RUNTIME_DIR (user units may lack the variable). */
static gboolean
session_bus_exists (void)
{
  const gchar *env = g_getenv ("DBUS_SESSION_BUS_ADDRESS");
  const gchar *runtime_dir = g_getenv ("XDG_RUNTIME_DIR");
  g_autofree gchar *user_bus = NULL;

  if (env != NULL && *env != '\0')
    return TRUE;
  if (runtime_dir == NULL || *runtime_dir == '\0')
    return FALSE;
  user_bus = g_build_filename (runtime_dir, "bus", NULL);
  return g_file_test (user_bus, G_FILE_TEST_EXISTS);
}

gboolean
cw_dbus_bus_parse (const gchar *value, gboolean system_mode, CwDbusBus *out, GError **error)
{

  if (value == NULL || *value == '\0')
    {
      if (system_mode)
        *out = CW_DBUS_BUS_SYSTEM;
      else
        *out = session_bus_exists () ? CW_DBUS_BUS_SESSION : CW_DBUS_BUS_NONE;
      return TRUE;
    }
  if (g_strcmp0 (value, "session") == 0)
    *out = CW_DBUS_BUS_SESSION;
  else if (g_strcmp0 (value, "system") == 0)
    *out = CW_DBUS_BUS_SYSTEM;
  else if (g_strcmp0 (value, "none") == 0)
    *out = CW_DBUS_BUS_NONE;
  else
    {
      g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS,
                   "unknown bus '%s' (expected session, system or none)", value);
      return FALSE;
    }
  return TRUE;
}

const gchar *
cw_dbus_bus_to_string (CwDbusBus bus)
{
  switch (bus)
    {
      case CW_DBUS_BUS_SESSION:
        return "session";
      case CW_DBUS_BUS_SYSTEM:
        return "system";
      case CW_DBUS_BUS_NONE:
      default:
        return "none";
    }
}

void
cw_dbus_register_errors (void)
{
  static gsize done = 0;

  if (!g_once_init_enter (&done))
    return;
  for (gint code = 0; code < CW_ERROR_LAST; code++)
    {
      g_autofree gchar *name = g_strconcat (CW_DBUS_ERROR_PREFIX, cw_error_to_name (code), NULL);
      g_dbus_error_register_error (CW_ERROR, code, name);
    }
  g_once_init_leave (&done, 1);
}

GDBusInterfaceInfo *
cw_dbus_get_interface_info (void)
{
  static GDBusInterfaceInfo *info = NULL;

  if (g_once_init_enter (&info))
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (GBytes) xml = NULL;
      g_autoptr (GDBusNodeInfo) node = NULL;
      GDBusInterfaceInfo *found;

      /* The XML is compiled in: failing to read it is a build defect, not a runtime state. */
      /* Named, not looked up globally: from a static library the resource's constructor
       * would not be linked in. */
      xml = g_resource_lookup_data (cw_transport_dbus_get_resource (), XML_RESOURCE,
                                    G_RESOURCE_LOOKUP_FLAGS_NONE, &error);
      if (xml == NULL)
        g_error ("missing %s: %s", XML_RESOURCE, error->message);
      node = g_dbus_node_info_new_for_xml (g_bytes_get_data (xml, NULL), &error);
      if (node == NULL)
        g_error ("invalid %s: %s", XML_RESOURCE, error->message);
      found = g_dbus_node_info_lookup_interface (node, CW_DBUS_INTERFACE);
      g_assert (found != NULL);
      g_dbus_interface_info_cache_build (found);
      g_once_init_leave (&info, g_dbus_interface_info_ref (found));
    }
  return info;
}

/* ---- object ------------------------------------------------------------------------- */

static void
cw_transport_dbus_finalize (GObject *object)
{
  CwTransportDbus *self = CW_TRANSPORT_DBUS (object);

  cw_transport_dbus_close (self);
  cw_dbus_auth_free (self->auth);
  g_clear_object (&self->registry);
  g_clear_object (&self->bus);
  g_free (self->last_error);
  G_OBJECT_CLASS (cw_transport_dbus_parent_class)->finalize (object);
}

static void
cw_transport_dbus_class_init (CwTransportDbusClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = cw_transport_dbus_finalize;
}

static void
cw_transport_dbus_init (CwTransportDbus *self)
{
  self->auth = cw_dbus_auth_new ();
  self->reconnect_delay_s = RECONNECT_MIN_S;
}

CwTransportDbus *
cw_transport_dbus_new (CwCommandRegistry *registry, CwEventBus *bus, guint subscriber_queue)
{
  CwTransportDbus *self = g_object_new (CW_TYPE_TRANSPORT_DBUS, NULL);

  cw_dbus_register_errors ();
  self->registry = g_object_ref (registry);
  self->bus = g_object_ref (bus);
  self->subscriber_queue = subscriber_queue;
  return self;
}

void
cw_transport_dbus_set_peer_check (CwTransportDbus *self, CwPeerCheckFunc func, gpointer user_data)
{
  cw_dbus_auth_set_peer_check (self->auth, func, user_data);
}

static void
set_last_error (CwTransportDbus *self, const gchar *message)
{
  g_free (self->last_error);
  self->last_error = g_strdup (message);
}

/* ---- properties and signals --------------------------------------------------------- */

static void
emit_properties_changed (CwTransportDbus *self, const gchar *name, GVariant *value)
{
  GVariantBuilder changed;

  g_variant_builder_init (&changed, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&changed, "{sv}", name, value);
  g_dbus_connection_emit_signal (
      self->connection, NULL, CW_DBUS_PATH, "org.freedesktop.DBus.Properties", "PropertiesChanged",
      g_variant_new ("(sa{sv}as)", CW_DBUS_INTERFACE, &changed, NULL), NULL);
}

static void
announce_cursor (CwTransportDbus *self)
{
  gint64 cursor = cw_event_bus_get_cursor (self->bus);

  if (self->connection == NULL || cursor == self->cursor_announced)
    return;
  self->cursor_announced = cursor;
  self->cursor_sent_at = g_get_monotonic_time ();
  emit_properties_changed (self, "EventCursor", g_variant_new_uint64 ((guint64) cursor));
}

static gboolean
on_cursor_timer (gpointer user_data)
{
  CwTransportDbus *self = user_data;

  self->cursor_timer_id = 0;
  announce_cursor (self);
  return G_SOURCE_REMOVE;
}

/* A busy daemon would otherwise double its bus traffic with PropertiesChanged: announce the
 * cursor at most every CURSOR_INTERVAL_US; the Event signal already carries every seq. */
static void
schedule_cursor (CwTransportDbus *self)
{
  gint64 wait;

  if (self->cursor_timer_id != 0)
    return;
  wait = self->cursor_sent_at + CURSOR_INTERVAL_US - g_get_monotonic_time ();
  if (wait <= 0)
    announce_cursor (self);
  else
    self->cursor_timer_id = g_timeout_add ((guint) (wait / 1000) + 1, on_cursor_timer, self);
}

static void
emit_event (CwTransportDbus *self, CwEvent *event)
{
  g_autofree gchar *data = cw_event_data_to_json (event);
  const gchar *session_id = cw_event_get_session_id (event);

  if (g_strcmp0 (cw_event_get_type_name (event), "resync") == 0)
    self->resyncs++;
  self->signals++;
  g_dbus_connection_emit_signal (
      self->connection, NULL, CW_DBUS_PATH, CW_DBUS_INTERFACE, "Event",
      g_variant_new ("(tsssx)", (guint64) cw_event_get_seq (event), cw_event_get_type_name (event),
                     session_id != NULL ? session_id : "", data, cw_event_get_timestamp (event)),
      NULL);
}

/* Emitting only queues the message for GDBus's writer thread, so the queue drains at once;
 * the subscriber's bound still protects memory if the main loop itself falls behind. */
static gboolean
on_drain (gpointer user_data)
{
  CwTransportDbus *self = user_data;
  CwEvent *event;
  guint n = 0;

  while (n++ < EVENTS_PER_DRAIN && (event = cw_event_subscriber_pop (self->subscriber)) != NULL)
    {
      emit_event (self, event);
      cw_event_unref (event);
    }
  schedule_cursor (self);
  if (cw_event_subscriber_get_queued (self->subscriber) > 0)
    return G_SOURCE_CONTINUE;
  self->drain_id = 0;
  return G_SOURCE_REMOVE;
}

static void
on_events_waiting (CwEventSubscriber *subscriber, gpointer user_data)
{
  CwTransportDbus *self = user_data;

  /* Method calls are dispatched at G_PRIORITY_DEFAULT: a lower-priority idle would starve
   * while clients keep calling, until the queue overflows into a resync. */
  if (self->drain_id == 0)
    self->drain_id = g_idle_add_full (G_PRIORITY_DEFAULT, on_drain, self, NULL);
}

void
cw_transport_dbus_set_ready (CwTransportDbus *self, gboolean ready)
{
  if (self->ready == ready)
    return;
  self->ready = ready;
  if (self->connection != NULL)
    emit_properties_changed (self, "Ready", g_variant_new_boolean (ready));
}

/* ---- authorization ------------------------------------------------------------------ */

static void
return_access_denied (CwTransportDbus *self, GDBusMethodInvocation *invocation)
{
  g_autofree gchar *message = g_strdup_printf (
      "access denied: %s is open only to the daemon's user, root and members of its group",
      g_dbus_method_invocation_get_method_name (invocation));

  self->refused++;
  g_dbus_method_invocation_return_dbus_error (invocation, ACCESS_DENIED, message);
}

/* ---- methods ------------------------------------------------------------------------ */

typedef struct
{
  CwTransportDbus *self;
  GDBusMethodInvocation *invocation;
  CwCaller *caller;
} Call;

static void
on_call_done (JsonNode *result_in, gchar *raw, GError *error_in, gpointer user_data)
{
  Call *call = user_data;
  g_autoptr (GDBusMethodInvocation) invocation = call->invocation;
  g_autoptr (CwTransportDbus) self = call->self;
  g_autoptr (GError) error = error_in;
  g_autoptr (JsonNode) result = result_in;
  g_autofree gchar *text = raw;

  if (self->peers != NULL)
    cw_dbus_peers_release (self->peers, call->caller);
  else
    cw_caller_unref (call->caller);
  g_free (call);
  if (error != NULL)
    {
      /* Other domains would go out as org.gtk.GDBus.UnmappedGError.*; keep the socket's
       * message under a name clients can match. */
      if (error->domain != CW_ERROR)
        {
          g_autoptr (GError) mapped
              = g_error_new_literal (CW_ERROR, CW_ERROR_FAILED, error->message);
          g_dbus_method_invocation_return_gerror (invocation, mapped);
        }
      else
        g_dbus_method_invocation_return_gerror (invocation, error);
      return;
    }
  if (text == NULL)
    text = cw_json_to_string (result);
  g_dbus_method_invocation_return_value (invocation, g_variant_new ("(s)", text));
}

/* One caller per sender while it has calls in flight: cancelled when the sender leaves the
 * bus, so a long call stops as it does for a socket client that hangs up. */
static void
route (CwTransportDbus *self, GDBusMethodInvocation *invocation, const gchar *command,
       JsonNode *params)
{
  const gchar *sender = g_dbus_method_invocation_get_sender (invocation);
  gint64 uid = cw_dbus_auth_get_uid (self->auth, sender);
  Call *call = g_new0 (Call, 1);

  call->self = g_object_ref (self);
  call->invocation = g_object_ref (invocation);
  call->caller = self->peers != NULL ? cw_dbus_peers_acquire (self->peers, sender, uid)
                                     : cw_caller_new (CW_CALLER_DBUS, uid, sender);
  self->calls++;
  cw_command_registry_dispatch (self->registry, call->caller, command, params, on_call_done, call);
}

static void
handle_call (CwTransportDbus *self, GDBusMethodInvocation *invocation, GVariant *parameters)
{
  const gchar *command, *params_json;
  g_autoptr (JsonNode) params = NULL;
  g_autoptr (GError) error = NULL;

  g_variant_get (parameters, "(&s&s)", &command, &params_json);
  if (*command == '\0')
    {
      /* As the socket answers a request without a command. */
      g_dbus_method_invocation_return_error_literal (invocation, CW_ERROR, CW_ERROR_INVALID_PARAMS,
                                                     "command is required");
      return;
    }
  if (*params_json != '\0')
    {
      params = cw_json_from_string (params_json, -1, &error);
      if (params == NULL)
        {
          g_dbus_method_invocation_return_error (invocation, CW_ERROR, CW_ERROR_INVALID_PARAMS,
                                                 "params are not valid JSON: %s", error->message);
          return;
        }
    }
  route (self, invocation, command, params);
}

static void
handle_get_events_since (CwTransportDbus *self, GDBusMethodInvocation *invocation,
                         GVariant *parameters)
{
  g_autoptr (JsonNode) params = json_node_new (JSON_NODE_OBJECT);
  JsonObject *obj = json_object_new ();
  guint64 after_seq;
  guint32 limit;

  g_variant_get (parameters, "(tu)", &after_seq, &limit);
  json_object_set_int_member (obj, "afterSeq", (gint64) MIN (after_seq, (guint64) G_MAXINT64));
  json_object_set_int_member (obj, "limit", limit);
  json_node_take_object (params, obj);
  route (self, invocation, "agent_get_events_since", params);
}

static void
handle_list_commands (CwTransportDbus *self, GDBusMethodInvocation *invocation)
{
  g_auto (GStrv) names = cw_command_registry_list (self->registry);

  g_dbus_method_invocation_return_value (invocation, g_variant_new ("(^as)", names));
}

/* ---- properties (handled here, not in get_property, so the check can be async) ------ */

static gboolean
property_is_open (const gchar *name)
{
  return g_strcmp0 (name, "Version") == 0 || g_strcmp0 (name, "Ready") == 0;
}

static GVariant *
get_property_value (CwTransportDbus *self, const gchar *name)
{
  if (g_strcmp0 (name, "Version") == 0)
    return g_variant_new_string (PACKAGE_VERSION);
  if (g_strcmp0 (name, "Ready") == 0)
    return g_variant_new_boolean (self->ready);
  if (g_strcmp0 (name, "BootId") == 0)
    return g_variant_new_string (cw_event_bus_get_boot_id (self->bus));
  if (g_strcmp0 (name, "EventCursor") == 0)
    return g_variant_new_uint64 ((guint64) cw_event_bus_get_cursor (self->bus));
  return NULL;
}

static void
handle_get_all (CwTransportDbus *self, GDBusMethodInvocation *invocation, gboolean allowed)
{
  GDBusInterfaceInfo *info = cw_dbus_get_interface_info ();
  GVariantBuilder props;

  /* A caller without access gets the open properties only, not an error. */
  g_variant_builder_init (&props, G_VARIANT_TYPE_VARDICT);
  for (guint i = 0; info->properties[i] != NULL; i++)
    {
      const gchar *name = info->properties[i]->name;
      if (allowed || property_is_open (name))
        g_variant_builder_add (&props, "{sv}", name, get_property_value (self, name));
    }
  g_dbus_method_invocation_return_value (invocation, g_variant_new ("(a{sv})", &props));
}

static void
dispatch_properties (CwTransportDbus *self, GDBusMethodInvocation *invocation, gboolean allowed)
{
  const gchar *member = g_dbus_method_invocation_get_method_name (invocation);
  GVariant *parameters = g_dbus_method_invocation_get_parameters (invocation);
  const gchar *iface, *name;

  if (g_strcmp0 (member, "GetAll") == 0)
    {
      handle_get_all (self, invocation, allowed);
      return;
    }
  /* GDBus has checked that the property exists and is readable; none is writable. */
  g_variant_get (parameters, "(&s&s)", &iface, &name);
  if (!allowed && !property_is_open (name))
    {
      return_access_denied (self, invocation);
      return;
    }
  g_dbus_method_invocation_return_value (invocation,
                                         g_variant_new ("(v)", get_property_value (self, name)));
}

static void
dispatch_method (GDBusMethodInvocation *invocation, gboolean allowed, gpointer user_data)
{
  CwTransportDbus *self = user_data;
  const gchar *member = g_dbus_method_invocation_get_method_name (invocation);
  GVariant *parameters = g_dbus_method_invocation_get_parameters (invocation);

  if (g_strcmp0 (g_dbus_method_invocation_get_interface_name (invocation),
                 "org.freedesktop.DBus.Properties")
      == 0)
    {
      dispatch_properties (self, invocation, allowed);
      return;
    }
  if (g_strcmp0 (member, "ListCommands") == 0)
    {
      handle_list_commands (self, invocation);
      return;
    }
  if (!allowed)
    {
      return_access_denied (self, invocation);
      return;
    }
  if (g_strcmp0 (member, "Call") == 0)
    handle_call (self, invocation, parameters);
  else if (g_strcmp0 (member, "GetEventsSince") == 0)
    handle_get_events_since (self, invocation, parameters);
  else if (g_strcmp0 (member, "GetBootstrapState") == 0)
    route (self, invocation, "agent_get_bootstrap_state", NULL);
  else
    g_dbus_method_invocation_return_dbus_error (
        invocation, "org.freedesktop.DBus.Error.UnknownMethod", "unknown method");
}

static gboolean
member_is_open (GDBusMethodInvocation *invocation)
{
  const gchar *member = g_dbus_method_invocation_get_method_name (invocation);
  GVariant *parameters = g_dbus_method_invocation_get_parameters (invocation);
  const gchar *iface, *name;

  if (g_strcmp0 (member, "ListCommands") == 0)
    return TRUE;
  if (g_strcmp0 (member, "Get") == 0
      && g_strcmp0 (g_dbus_method_invocation_get_interface_name (invocation),
                    "org.freedesktop.DBus.Properties")
             == 0)
    {
      g_variant_get (parameters, "(&s&s)", &iface, &name);
      return property_is_open (name);
    }
  return FALSE;
}

static void
on_method_call (GDBusConnection *connection, const gchar *sender, const gchar *object_path,
                const gchar *interface_name, const gchar *method_name, GVariant *parameters,
                GDBusMethodInvocation *invocation, gpointer user_data)
{
  CwTransportDbus *self = user_data;

  /* Open members skip the credentials round trip. */
  if (member_is_open (invocation))
    dispatch_method (invocation, TRUE, self);
  else
    cw_dbus_auth_check (self->auth, invocation, dispatch_method, G_OBJECT (self));
}

static const GDBusInterfaceVTable interface_vtable = {
  .method_call = on_method_call,
  /* NULL getters route Get/GetAll to on_method_call, where access is checked. */
  .get_property = NULL,
  .set_property = NULL,
};

/* ---- connection --------------------------------------------------------------------- */

/* The name is requested by hand rather than with g_bus_own_name(), which reports "lost"
 * both for a policy refusal and for waiting in the queue: health must tell them apart. */
static void
on_name_signal (GDBusConnection *connection, const gchar *sender, const gchar *path,
                const gchar *iface, const gchar *signal, GVariant *params, gpointer user_data)
{
  CwTransportDbus *self = user_data;

  if (g_strcmp0 (signal, "NameAcquired") == 0)
    {
      if (self->name_state != NAME_OWNED)
        g_message ("owning %s on the %s bus", CW_DBUS_NAME, cw_dbus_bus_to_string (self->bus_type));
      self->name_state = NAME_OWNED;
      return;
    }
  /* We never allow replacement, so only a bus administrator takes it away. */
  self->name_state = NAME_LOST;
  set_last_error (self, "the bus took the name away");
  g_warning ("lost %s on the %s bus; serving by unique name only", CW_DBUS_NAME,
             cw_dbus_bus_to_string (self->bus_type));
}

static void
on_request_name (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr (CwTransportDbus) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply
      = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), res, &error);
  guint32 result;

  if (self->connection != G_DBUS_CONNECTION (source))
    return; /* reconnected or closed meanwhile */
  if (reply == NULL)
    {
      g_dbus_error_strip_remote_error (error);
      self->name_state = NAME_LOST;
      set_last_error (self, error->message);
      g_warning ("cannot own %s on the %s bus: %s; serving by unique name only", CW_DBUS_NAME,
                 cw_dbus_bus_to_string (self->bus_type), error->message);
      return;
    }
  g_variant_get (reply, "(u)", &result);
  if (result == 1 || result == 4) /* PRIMARY_OWNER, ALREADY_OWNER */
    on_name_signal (self->connection, NULL, NULL, NULL, "NameAcquired", NULL, self);
  else if (result == 2) /* IN_QUEUE: NameAcquired comes when the owner leaves */
    g_message ("%s is owned by another process; waiting for it", CW_DBUS_NAME);
}

static void
request_name (CwTransportDbus *self)
{
  for (guint i = 0; i < G_N_ELEMENTS (self->name_subs); i++)
    self->name_subs[i] = g_dbus_connection_signal_subscribe (
        self->connection, "org.freedesktop.DBus", "org.freedesktop.DBus",
        i == 0 ? "NameAcquired" : "NameLost", "/org/freedesktop/DBus", CW_DBUS_NAME,
        G_DBUS_SIGNAL_FLAGS_NONE, on_name_signal, self, NULL);
  self->name_state = NAME_WAITING;
  /* Flags 0: never replace an owner, never be replaced, but queue. */
  g_dbus_connection_call (self->connection, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                          "org.freedesktop.DBus", "RequestName",
                          g_variant_new ("(su)", CW_DBUS_NAME, 0), G_VARIANT_TYPE ("(u)"),
                          G_DBUS_CALL_FLAGS_NONE, -1, NULL, on_request_name, g_object_ref (self));
}

static void
release_name (CwTransportDbus *self)
{
  for (guint i = 0; i < G_N_ELEMENTS (self->name_subs); i++)
    if (self->name_subs[i] != 0)
      {
        g_dbus_connection_signal_unsubscribe (self->connection, self->name_subs[i]);
        self->name_subs[i] = 0;
      }
  if (self->name_state == NAME_OWNED || self->name_state == NAME_WAITING)
    g_dbus_connection_call_sync (self->connection, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                 "org.freedesktop.DBus", "ReleaseName",
                                 g_variant_new ("(s)", CW_DBUS_NAME), NULL, G_DBUS_CALL_FLAGS_NONE,
                                 1000, NULL, NULL);
  self->name_state = NAME_NONE;
}

static void
drop_connection (CwTransportDbus *self)
{
  g_clear_handle_id (&self->drain_id, g_source_remove);
  g_clear_handle_id (&self->cursor_timer_id, g_source_remove);
  if (self->subscriber != NULL)
    {
      cw_event_bus_unsubscribe (self->bus, self->subscriber);
      self->subscriber = NULL;
    }
  if (self->connection == NULL)
    return;
  for (guint i = 0; i < G_N_ELEMENTS (self->name_subs); i++)
    if (self->name_subs[i] != 0)
      g_dbus_connection_signal_unsubscribe (self->connection, self->name_subs[i]);
  memset (self->name_subs, 0, sizeof (self->name_subs));
  if (self->registration_id != 0)
    g_dbus_connection_unregister_object (self->connection, self->registration_id);
  self->registration_id = 0;
  g_clear_pointer (&self->peers, cw_dbus_peers_free);
  g_clear_signal_handler (&self->closed_handler, self->connection);
  g_clear_object (&self->connection);
  self->name_state = NAME_NONE;
  cw_dbus_auth_forget (self->auth);
}

static gboolean
on_reconnect (gpointer user_data)
{
  CwTransportDbus *self = user_data;

  self->reconnect_id = 0;
  connect_bus (self);
  return G_SOURCE_REMOVE;
}

static void
schedule_reconnect (CwTransportDbus *self)
{
  if (self->closed || self->reconnect_id != 0)
    return;
  self->reconnect_id = g_timeout_add_seconds (self->reconnect_delay_s, on_reconnect, self);
  self->reconnect_delay_s = MIN (self->reconnect_delay_s * 2, RECONNECT_MAX_S);
}

static void
on_closed (GDBusConnection *connection, gboolean remote_peer_vanished, GError *error,
           gpointer user_data)
{
  CwTransportDbus *self = user_data;

  g_warning ("lost the %s bus%s%s; the socket keeps serving, reconnecting",
             cw_dbus_bus_to_string (self->bus_type), error != NULL ? ": " : "",
             error != NULL ? error->message : "");
  set_last_error (self, error != NULL ? error->message : "the bus closed the connection");
  drop_connection (self);
  schedule_reconnect (self);
}

static gboolean
export_object (CwTransportDbus *self, GError **error)
{
  self->registration_id = g_dbus_connection_register_object (self->connection, CW_DBUS_PATH,
                                                             cw_dbus_get_interface_info (),
                                                             &interface_vtable, self, NULL, error);
  return self->registration_id != 0;
}

static void
on_connected (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr (CwTransportDbus) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GDBusConnection) connection = g_dbus_connection_new_for_address_finish (res, &error);

  if (connection == NULL)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      g_clear_object (&self->cancellable);
      g_warning ("cannot connect to the %s bus: %s", cw_dbus_bus_to_string (self->bus_type),
                 error->message);
      set_last_error (self, error->message);
      schedule_reconnect (self);
      return;
    }
  g_clear_object (&self->cancellable);
  self->connection = g_steal_pointer (&connection);
  self->connects++;
  self->reconnect_delay_s = RECONNECT_MIN_S;
  self->closed_handler
      = g_signal_connect (self->connection, "closed", G_CALLBACK (on_closed), self);
  self->peers = cw_dbus_peers_new (self->connection);
  if (!export_object (self, &error))
    {
      g_warning ("cannot export %s: %s", CW_DBUS_PATH, error->message);
      set_last_error (self, error->message);
      g_dbus_connection_close (self->connection, NULL, NULL, NULL);
      return;
    }
  self->subscriber
      = cw_event_bus_subscribe (self->bus, self->subscriber_queue, on_events_waiting, self);
  self->cursor_announced = cw_event_bus_get_cursor (self->bus);
  request_name (self);
}

static void
connect_bus (CwTransportDbus *self)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *address = NULL;
  GBusType type = self->bus_type == CW_DBUS_BUS_SYSTEM ? G_BUS_TYPE_SYSTEM : G_BUS_TYPE_SESSION;

  /* Started by bus activation: answer on the bus that started us. */
  if (g_strcmp0 (g_getenv ("DBUS_STARTER_BUS_TYPE"), cw_dbus_bus_to_string (self->bus_type)) == 0
      && g_getenv ("DBUS_STARTER_ADDRESS") != NULL)
    type = G_BUS_TYPE_STARTER;
  address = g_dbus_address_get_for_bus_sync (type, NULL, &error);
  if (address == NULL)
    {
      g_warning ("no %s bus: %s", cw_dbus_bus_to_string (self->bus_type), error->message);
      set_last_error (self, error->message);
      schedule_reconnect (self);
      return;
    }
  self->cancellable = g_cancellable_new ();
  g_dbus_connection_new_for_address (address,
                                     G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT
                                         | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                     NULL, self->cancellable, on_connected, g_object_ref (self));
}

void
cw_transport_dbus_start (CwTransportDbus *self, CwDbusBus bus)
{
  g_return_if_fail (self->bus_type == CW_DBUS_BUS_NONE);
  self->bus_type = bus;
  if (bus == CW_DBUS_BUS_NONE)
    return;
  connect_bus (self);
}

void
cw_transport_dbus_close (CwTransportDbus *self)
{
  if (self->closed)
    return;
  self->closed = TRUE;
  g_clear_handle_id (&self->reconnect_id, g_source_remove);
  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  if (self->connection != NULL)
    {
      /* Ready=false goes out while we still own the name (signal matches follow the owner),
       * then the name is released explicitly so clients see it go at once. */
      cw_transport_dbus_set_ready (self, FALSE);
      release_name (self);
      g_dbus_connection_flush_sync (self->connection, NULL, NULL);
      g_dbus_connection_close_sync (self->connection, NULL, NULL);
    }
  drop_connection (self);
}

static const gchar *
name_state_to_string (NameState state)
{
  switch (state)
    {
      case NAME_WAITING:
        return "waiting";
      case NAME_OWNED:
        return "owned";
      case NAME_LOST:
        return "lost";
      case NAME_NONE:
      default:
        return "none";
    }
}

JsonObject *
cw_transport_dbus_get_health (CwTransportDbus *self)
{
  JsonObject *obj = json_object_new ();

  json_object_set_string_member (obj, "bus", cw_dbus_bus_to_string (self->bus_type));
  json_object_set_boolean_member (obj, "connected", self->connection != NULL);
  json_object_set_string_member (obj, "name", CW_DBUS_NAME);
  json_object_set_string_member (obj, "nameState", name_state_to_string (self->name_state));
  if (self->connection != NULL)
    json_object_set_string_member (obj, "uniqueName",
                                   g_dbus_connection_get_unique_name (self->connection));
  json_object_set_int_member (obj, "connects", (gint64) self->connects);
  json_object_set_int_member (obj, "calls", (gint64) self->calls);
  json_object_set_int_member (obj, "refused", (gint64) self->refused);
  json_object_set_int_member (obj, "signals", (gint64) self->signals);
  json_object_set_int_member (obj, "resyncs", (gint64) self->resyncs);
  if (self->last_error != NULL)
    json_object_set_string_member (obj, "lastError", self->last_error);
  return obj;
}
