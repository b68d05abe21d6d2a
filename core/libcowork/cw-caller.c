/* cw-caller.c: who is calling a command: the transport, the peer's uid, an id (a D-Bus unique
 * name, a paired device, a plugin) and a cancellable cancelled when the caller goes away.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cowork-host.h"

struct _CwCaller
{
  gint ref_count;
  CwCallerKind kind;
  gint64 uid;
  gchar *id;
  gchar *actor;
  GCancellable *cancellable;
};

G_DEFINE_BOXED_TYPE (CwCaller, cw_caller, cw_caller_ref, cw_caller_unref)

static const gchar *
kind_to_string (CwCallerKind kind)
{
  switch (kind)
    {
      case CW_CALLER_SOCKET:
        return "socket";
      case CW_CALLER_DBUS:
        return "dbus";
      case CW_CALLER_REMOTE:
        return "remote";
      case CW_CALLER_PLUGIN:
        return "plugin";
      case CW_CALLER_INTERNAL:
      default:
        return "internal";
    }
}

CwCaller *
cw_caller_new (CwCallerKind kind, gint64 uid, const gchar *id)
{
  CwCaller *self = g_new0 (CwCaller, 1);
  GString *actor = g_string_new (kind_to_string (kind));

  self->ref_count = 1;
  self->kind = kind;
  self->uid = uid;
  self->id = g_strdup (id);
  self->cancellable = g_cancellable_new ();
  /* "socket:uid=1000", "dbus:uid=1000:1.42", "remote:dev_…", "plugin:cron" */
  if (uid >= 0 && kind != CW_CALLER_REMOTE && kind != CW_CALLER_PLUGIN)
    g_string_append_printf (actor, ":uid=%" G_GINT64_FORMAT, uid);
  if (id != NULL)
    g_string_append_printf (actor, ":%s", id);
  self->actor = g_string_free (actor, FALSE);
  return self;
}

CwCaller *
cw_caller_new_internal (void)
{
  return cw_caller_new (CW_CALLER_INTERNAL, -1, NULL);
}

CwCaller *
cw_caller_ref (CwCaller *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_atomic_int_inc (&self->ref_count);
  return self;
}

void
cw_caller_unref (CwCaller *self)
{
  g_return_if_fail (self != NULL);
  if (!g_atomic_int_dec_and_test (&self->ref_count))
    return;
  g_free (self->id);
  g_free (self->actor);
  g_object_unref (self->cancellable);
  g_free (self);
}

CwCallerKind
cw_caller_get_kind (const CwCaller *self)
{
  g_return_val_if_fail (self != NULL, CW_CALLER_INTERNAL);
  return self->kind;
}

gint64
cw_caller_get_uid (const CwCaller *self)
{
  g_return_val_if_fail (self != NULL, -1);
  return self->uid;
}

const gchar *
cw_caller_get_id (const CwCaller *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return self->id;
}

const gchar *
cw_caller_get_actor (const CwCaller *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return self->actor;
}

GCancellable *
cw_caller_get_cancellable (const CwCaller *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return self->cancellable;
}

void
cw_caller_vanish (CwCaller *self)
{
  g_return_if_fail (self != NULL);
  g_cancellable_cancel (self->cancellable);
}

gboolean
cw_caller_has_vanished (const CwCaller *self)
{
  g_return_val_if_fail (self != NULL, TRUE);
  return g_cancellable_is_cancelled (self->cancellable);
}
