/* cw-transport-dbus-auth.c: the caller's uid comes from the bus daemon
 * (GetConnectionCredentials on the sender's unique name), never from the message, and goes
 * through the same peer policy as the socket's SO_PEERCRED uid.
 *
 * One lookup per sender: calls that arrive while it runs wait behind it in order, so a
 * client's pipelined calls reach the registry as sent. The decision is then cached by unique
 * name, which the bus never reuses while our connection lives.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-transport-dbus-auth-private.h"

#define DECISIONS_MAX 4096

/* Decisions are stored as pointers: 0 means "not cached", DENIED a refusal, and
 * ALLOWED_BASE + uid a caller let in as uid. */
#define DENIED       ((gsize) 1)
#define ALLOWED_BASE ((gsize) 2)

struct _CwDbusAuth
{
  CwPeerCheckFunc peer_check;
  gpointer peer_check_data;
  GHashTable *decisions; /* unique name -> DENIED or ALLOWED_BASE + uid */
  GHashTable *lookups;   /* unique name -> Lookup in flight (freed by its callback) */
};

typedef struct
{
  GDBusMethodInvocation *invocation;
  CwDbusAuthFunc func;
} Request;

typedef struct
{
  CwDbusAuth *auth;
  GObject *owner; /* keeps @auth alive */
  gchar *sender;
  GQueue requests; /* Request */
} Lookup;

CwDbusAuth *
cw_dbus_auth_new (void)
{
  CwDbusAuth *self = g_new0 (CwDbusAuth, 1);

  self->decisions = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->lookups = g_hash_table_new (g_str_hash, g_str_equal);
  return self;
}

void
cw_dbus_auth_free (CwDbusAuth *self)
{
  if (self == NULL)
    return;
  /* Lookups hold the owner, so none is in flight when the owner goes. */
  g_assert (g_hash_table_size (self->lookups) == 0);
  g_hash_table_unref (self->decisions);
  g_hash_table_unref (self->lookups);
  g_free (self);
}

void
cw_dbus_auth_set_peer_check (CwDbusAuth *self, CwPeerCheckFunc func, gpointer user_data)
{
  self->peer_check = func;
  self->peer_check_data = user_data;
  g_hash_table_remove_all (self->decisions);
}

void
cw_dbus_auth_forget (CwDbusAuth *self)
{
  g_hash_table_remove_all (self->decisions);
}

/* Whether the uid in a GetConnectionCredentials reply passes the peer policy. */
static gboolean
decide (CwDbusAuth *self, GDBusConnection *connection, GAsyncResult *res, const gchar *sender,
        guint32 *out_uid)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply = g_dbus_connection_call_finish (connection, res, &error);
  g_autoptr (GVariant) creds = NULL;
  guint32 uid;

  if (reply == NULL)
    {
      g_debug ("no credentials for %s: %s", sender, error->message);
      return FALSE;
    }
  creds = g_variant_get_child_value (reply, 0);
  if (!g_variant_lookup (creds, "UnixUserID", "u", &uid))
    return FALSE;
  *out_uid = uid;
  return self->peer_check == NULL || self->peer_check ((uid_t) uid, self->peer_check_data);
}

static void
on_credentials (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Lookup *lookup = user_data;
  CwDbusAuth *self = lookup->auth;
  guint32 uid = 0;
  gboolean allowed = decide (self, G_DBUS_CONNECTION (source), res, lookup->sender, &uid);
  Request *req;

  g_hash_table_remove (self->lookups, lookup->sender);
  if (g_hash_table_size (self->decisions) >= DECISIONS_MAX)
    g_hash_table_remove_all (self->decisions);
  g_hash_table_insert (self->decisions, g_strdup (lookup->sender),
                       GSIZE_TO_POINTER (allowed ? ALLOWED_BASE + uid : DENIED));
  while ((req = g_queue_pop_head (&lookup->requests)) != NULL)
    {
      req->func (req->invocation, allowed, lookup->owner);
      g_object_unref (req->invocation);
      g_free (req);
    }
  g_object_unref (lookup->owner);
  g_free (lookup->sender);
  g_free (lookup);
}

static Lookup *
start_lookup (CwDbusAuth *self, GDBusMethodInvocation *invocation, const gchar *sender,
              GObject *owner)
{
  Lookup *lookup = g_new0 (Lookup, 1);

  lookup->auth = self;
  lookup->owner = g_object_ref (owner);
  lookup->sender = g_strdup (sender);
  g_queue_init (&lookup->requests);
  g_hash_table_insert (self->lookups, lookup->sender, lookup);
  g_dbus_connection_call (g_dbus_method_invocation_get_connection (invocation),
                          "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                          "GetConnectionCredentials", g_variant_new ("(s)", sender),
                          G_VARIANT_TYPE ("(a{sv})"), G_DBUS_CALL_FLAGS_NONE, -1, NULL,
                          on_credentials, lookup);
  return lookup;
}

void
cw_dbus_auth_check (CwDbusAuth *self, GDBusMethodInvocation *invocation, CwDbusAuthFunc func,
                    GObject *owner)
{
  const gchar *sender = g_dbus_method_invocation_get_sender (invocation);
  gsize cached;
  Lookup *lookup;
  Request *req;

  if (sender == NULL) /* not from a message bus: nobody we can identify */
    {
      func (invocation, FALSE, owner);
      return;
    }
  cached = GPOINTER_TO_SIZE (g_hash_table_lookup (self->decisions, sender));
  if (cached != 0)
    {
      func (invocation, cached >= ALLOWED_BASE, owner);
      return;
    }
  lookup = g_hash_table_lookup (self->lookups, sender);
  if (lookup == NULL)
    lookup = start_lookup (self, invocation, sender, owner);
  req = g_new0 (Request, 1);
  req->invocation = g_object_ref (invocation);
  req->func = func;
  g_queue_push_tail (&lookup->requests, req);
}

gint64
cw_dbus_auth_get_uid (CwDbusAuth *self, const gchar *sender)
{
  gsize cached
      = sender != NULL ? GPOINTER_TO_SIZE (g_hash_table_lookup (self->decisions, sender)) : 0;

  return cached >= ALLOWED_BASE ? (gint64) (cached - ALLOWED_BASE) : -1;
}
