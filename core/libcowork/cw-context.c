/* cw-context.c: the narrow view of the daemon a plugin gets.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-scheduler-private.h"

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
  CwScheduler *scheduler;
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
  g_clear_object (&self->scheduler);
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
cw_context_set_scheduler (CwContext *self, CwScheduler *scheduler)
{
  g_set_object (&self->scheduler, scheduler);
}

CwScheduler *
cw_context_get_scheduler (CwContext *self)
{
  return self->scheduler;
}

void
cw_context_add_bootstrap_contributor (CwContext *self, CwBootstrapFunc func, gpointer user_data)
{
  Contributor c = { func, user_data };

  g_return_if_fail (CW_IS_CONTEXT (self));
  g_array_append_val (self->contributors, c);
}

static void
append_part (GString *into, const GString *part)
{
  if (into == NULL || part->len == 0)
    return;
  if (into->len > 0)
    g_string_append_c (into, ',');
  g_string_append_len (into, part->str, part->len);
}

guint
cw_context_bootstrap_text (CwContext *self, GString *sessions, GString *runtime)
{
  g_autoptr (GString) s = g_string_new (NULL);
  g_autoptr (GString) r = g_string_new (NULL);
  guint count = 0;

  for (guint i = 0; i < self->contributors->len; i++)
    {
      Contributor *c = &g_array_index (self->contributors, Contributor, i);

      g_string_truncate (s, 0);
      g_string_truncate (r, 0);
      count += c->func (sessions != NULL ? s : NULL, runtime != NULL ? r : NULL, c->user_data);
      append_part (sessions, s);
      append_part (runtime, r);
    }
  return count;
}

guint
cw_context_count_sessions (CwContext *self)
{
  return cw_context_bootstrap_text (self, NULL, NULL);
}
