/* cw-context.c: the narrow view of the daemon a plugin gets.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-agent-tool-table-private.h"
#include "cw-scheduler-private.h"

typedef struct
{
  gchar *owner;
  CwBootstrapFunc func;
  gpointer user_data;
} Contributor;

typedef struct
{
  gchar *owner;
  gchar *name;
  CwBootstrapMemberFunc func;
  gpointer user_data;
} Member;

struct _CwContext
{
  GObject parent_instance;
  CwCommandRegistry *registry;
  CwEventBus *bus;
  CwStore *store;
  CwConfig *config;
  CwSecrets *secrets;
  CwScheduler *scheduler;
  CwInteractions *interactions;
  CwHttpServer *http;
  GArray *contributors;
  GArray *members;
  CwAgentToolTable *agent_tools;
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
  g_clear_object (&self->interactions);
  g_clear_object (&self->http);
  g_array_unref (self->contributors);
  g_array_unref (self->members);
  cw_agent_tool_table_free (self->agent_tools);
  G_OBJECT_CLASS (cw_context_parent_class)->finalize (object);
}

static void
cw_context_class_init (CwContextClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = cw_context_finalize;
}

static void
contributor_clear (gpointer p)
{
  g_free (((Contributor *) p)->owner);
}

static void
member_clear (gpointer p)
{
  Member *m = p;

  g_free (m->owner);
  g_free (m->name);
}

static void
cw_context_init (CwContext *self)
{
  self->contributors = g_array_new (FALSE, FALSE, sizeof (Contributor));
  g_array_set_clear_func (self->contributors, contributor_clear);
  self->members = g_array_new (FALSE, FALSE, sizeof (Member));
  g_array_set_clear_func (self->members, member_clear);
  self->agent_tools = cw_agent_tool_table_new ();
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

CwInteractions *
cw_context_get_interactions (CwContext *self)
{
  g_return_val_if_fail (CW_IS_CONTEXT (self), NULL);
  return self->interactions;
}

void
cw_context_set_interactions (CwContext *self, CwInteractions *interactions)
{
  g_set_object (&self->interactions, interactions);
}

void
cw_context_add_bootstrap_contributor (CwContext *self, const gchar *owner, CwBootstrapFunc func,
                                      gpointer user_data)
{
  Contributor c = { g_strdup (owner), func, user_data };

  g_return_if_fail (CW_IS_CONTEXT (self));
  g_return_if_fail (owner != NULL && func != NULL);
  g_array_append_val (self->contributors, c);
}

static gboolean
member_name_is_valid (const gchar *name)
{
  gsize n = name != NULL ? strlen (name) : 0;

  if (n == 0 || n > 64 || !g_ascii_isalpha (name[0]))
    return FALSE;
  for (gsize i = 1; i < n; i++)
    if (!g_ascii_isalnum (name[i]) && name[i] != '_')
      return FALSE;
  return TRUE;
}

gboolean
cw_context_add_bootstrap_member (CwContext *self, const gchar *owner, const gchar *name,
                                 CwBootstrapMemberFunc func, gpointer user_data, GError **error)
{
  static const gchar *const core_names[]
      = { "sessions", "runtime", "eventCursor", "bootId", "timestamp", NULL };
  Member m;

  g_return_val_if_fail (CW_IS_CONTEXT (self), FALSE);
  g_return_val_if_fail (owner != NULL && func != NULL, FALSE);
  if (!member_name_is_valid (name))
    {
      g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS,
                   "bootstrap member name \"%s\" is not [A-Za-z][A-Za-z0-9_]{0,63}",
                   name != NULL ? name : "");
      return FALSE;
    }
  if (g_strv_contains (core_names, name))
    {
      g_set_error (error, CW_ERROR, CW_ERROR_EXISTS, "bootstrap member %s belongs to the core",
                   name);
      return FALSE;
    }
  for (guint i = 0; i < self->members->len; i++)
    {
      Member *other = &g_array_index (self->members, Member, i);
      if (g_strcmp0 (other->name, name) == 0)
        {
          g_set_error (error, CW_ERROR, CW_ERROR_EXISTS, "bootstrap member %s belongs to %s", name,
                       other->owner);
          return FALSE;
        }
    }
  m.owner = g_strdup (owner);
  m.name = g_strdup (name);
  m.func = func;
  m.user_data = user_data;
  g_array_append_val (self->members, m);
  return TRUE;
}

/* A plugin's text goes into the answer every client parses: what does not parse as one
 * JSON value is replaced by null rather than breaking the whole state. */
static gboolean
member_text_is_valid (const gchar *text, gsize len)
{
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();

  return len > 0 && json_parser_load_from_data (parser, text, (gssize) len, NULL)
         && json_parser_get_root (parser) != NULL;
}

void
cw_context_append_bootstrap_members (CwContext *self, GString *out)
{
  g_return_if_fail (CW_IS_CONTEXT (self));
  for (guint i = 0; i < self->members->len; i++)
    {
      Member *m = &g_array_index (self->members, Member, i);
      gsize start;

      g_string_append_c (out, ',');
      cw_json_append_string (out, m->name);
      g_string_append_c (out, ':');
      start = out->len;
      m->func (out, m->user_data);
      if (!member_text_is_valid (out->str + start, out->len - start))
        {
          g_warning ("bootstrap member %s of %s is not one JSON value; sent as null", m->name,
                     m->owner);
          g_string_truncate (out, start);
          g_string_append (out, "null");
        }
    }
}

void
cw_context_remove_owner (CwContext *self, const gchar *owner)
{
  g_return_if_fail (CW_IS_CONTEXT (self));
  for (guint i = self->contributors->len; i > 0; i--)
    if (g_strcmp0 (g_array_index (self->contributors, Contributor, i - 1).owner, owner) == 0)
      g_array_remove_index (self->contributors, i - 1);
  for (guint i = self->members->len; i > 0; i--)
    if (g_strcmp0 (g_array_index (self->members, Member, i - 1).owner, owner) == 0)
      g_array_remove_index (self->members, i - 1);
  if (self->interactions != NULL)
    cw_interactions_unwatch_owner (self->interactions, owner);
  cw_agent_tool_table_remove_owner (self->agent_tools, owner);
}

CwAgentToolTable *
cw_context_get_agent_tool_table (CwContext *self)
{
  return self->agent_tools;
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

void
cw_context_set_http_server (CwContext *self, CwHttpServer *server)
{
  g_set_object (&self->http, server);
}

CwHttpServer *
cw_context_get_http_server (CwContext *self)
{
  g_return_val_if_fail (CW_IS_CONTEXT (self), NULL);
  return self->http;
}

gchar *
cw_context_get_http_base_url (CwContext *self)
{
  g_return_val_if_fail (CW_IS_CONTEXT (self), NULL);
  return self->http != NULL ? cw_http_server_get_base_url (self->http) : NULL;
}
