/* cw-context.c: the narrow view of the daemon a plugin gets.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-context-private.h"

typedef struct
{
  CwBootstrapFunc func;
  gpointer user_data;
} Contributor;

struct _CwContext
{
  GObject parent_instance;
  CwCommandRegistry *registry;
  CwEventBus *bus;
  CwStore *store;
  CwConfig *config;
  CwSecrets *secrets;
  GArray *contributors;
};

G_DEFINE_FINAL_TYPE (CwContext, cw_context, G_TYPE_OBJECT)

static void
cw_context_finalize (GObject *object)
{
  CwContext *self = CW_CONTEXT (object);

  g_clear_object (&self->registry);
  g_clear_object (&self->bus);
  g_clear_object (&self->store);
  g_clear_object (&self->config);
  g_clear_object (&self->secrets);
  g_array_unref (self->contributors);
  G_OBJECT_CLASS (cw_context_parent_class)->finalize (object);
}

static void
cw_context_class_init (CwContextClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = cw_context_finalize;
}

static void
cw_context_init (CwContext *self)
{
  self->contributors = g_array_new (FALSE, FALSE, sizeof (Contributor));
}

CwContext *
cw_context_new (CwCommandRegistry *registry, CwEventBus *bus, CwStore *store, CwConfig *config)
{
  CwContext *self = g_object_new (CW_TYPE_CONTEXT, NULL);

  self->registry = g_object_ref (registry);
  self->bus = g_object_ref (bus);
  self->store = g_object_ref (store);
  self->config = g_object_ref (config);
  return self;
}

CwCommandRegistry *
cw_context_get_registry (CwContext *self)
{
  g_return_val_if_fail (CW_IS_CONTEXT (self), NULL);
  return self->registry;
}

CwEventBus *
cw_context_get_event_bus (CwContext *self)
{
  g_return_val_if_fail (CW_IS_CONTEXT (self), NULL);
  return self->bus;
}

CwStore *
cw_context_get_store (CwContext *self)
{
  g_return_val_if_fail (CW_IS_CONTEXT (self), NULL);
  return self->store;
}

CwConfig *
cw_context_get_config (CwContext *self)
{
  g_return_val_if_fail (CW_IS_CONTEXT (self), NULL);
  return self->config;
}

CwSecrets *
cw_context_get_secrets (CwContext *self)
{
  g_return_val_if_fail (CW_IS_CONTEXT (self), NULL);
  return self->secrets;
}

void
cw_context_set_secrets (CwContext *self, CwSecrets *secrets)
{
  g_set_object (&self->secrets, secrets);
}

void
cw_context_add_bootstrap_contributor (CwContext *self, CwBootstrapFunc func, gpointer user_data)
{
  Contributor c = { func, user_data };

  g_return_if_fail (CW_IS_CONTEXT (self));
  g_array_append_val (self->contributors, c);
}

void
cw_context_fill_bootstrap (CwContext *self, JsonObject *state)
{
  if (!json_object_has_member (state, "sessions"))
    json_object_set_array_member (state, "sessions", json_array_new ());
  if (!json_object_has_member (state, "runtime"))
    json_object_set_object_member (state, "runtime", json_object_new ());
  for (guint i = 0; i < self->contributors->len; i++)
    {
      Contributor *c = &g_array_index (self->contributors, Contributor, i);
      c->func (state, c->user_data);
    }
}

guint
cw_context_count_sessions (CwContext *self)
{
  g_autoptr (JsonObject) state = json_object_new ();

  cw_context_fill_bootstrap (self, state);
  return json_array_get_length (json_object_get_array_member (state, "sessions"));
}
