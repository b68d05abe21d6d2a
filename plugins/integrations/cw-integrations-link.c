/* cw-integrations-link.c: one platform's connection: its adapter, config and secrets,
 * connect and disconnect, health, and reconnecting with backoff.
 *
 * Secrets: the stored config never holds a secret field. Its values are in CwSecrets (kind
 * "integration", name "<platform>.<field>") and the row lists which fields are there. A
 * connect looks them up, fills them into the config the adapter gets, and forgets them.
 *
 * Health (contract §3.3): `healthy` needs a round trip (connect, a check, or any answer the
 * adapter reports) within the health interval; a connected platform without one is
 * `degraded`; a platform without a connection is `unhealthy`. A lost connection is
 * reconnected after min(max, base * 2^attempt) ms, of which a random half is jitter, on the
 * scheduler's clock; a loss that needs the user (revoked credentials) is not retried and
 * reports `requiresReconnect`.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-integrations-plugin.h"

#include <string.h>

typedef struct
{
  CwIntegrationsOpFunc func;
  CwInvocation *invocation;
  gpointer data;
  GDestroyNotify destroy;
} Op;

CwIntegrationsLink *
cw_integrations_link_new (CwIntegrationsPlugin *plugin, const CwIntegrationPlatform *platform)
{
  CwIntegrationsLink *link = g_new0 (CwIntegrationsLink, 1);

  link->plugin = plugin;
  link->platform = platform;
  g_queue_init (&link->ops);
  return link;
}

static void
op_free (Op *op)
{
  if (op->destroy != NULL)
    op->destroy (op->data);
  g_clear_object (&op->invocation);
  g_free (op);
}

static void
drop_adapter (CwIntegrationsLink *link)
{
  if (link->cancellable != NULL)
    {
      g_cancellable_cancel (link->cancellable);
      g_clear_object (&link->cancellable);
    }
  if (link->adapter != NULL)
    {
      cw_integration_adapter_detach (link->adapter);
      cw_integration_adapter_disconnect (link->adapter);
      g_clear_object (&link->adapter);
    }
  link->connected = FALSE;
  link->connecting = FALSE;
  link->checking = FALSE;
}

void
cw_integrations_link_free (CwIntegrationsLink *link)
{
  drop_adapter (link);
  g_queue_clear_full (&link->ops, (GDestroyNotify) op_free);
  g_free (link->error);
  g_free (link);
}

CwIntegrationsLink *
cw_integrations_plugin_get_link (CwIntegrationsPlugin *self, const gchar *platform)
{
  return platform != NULL ? g_hash_table_lookup (self->links, platform) : NULL;
}

static void
set_error (CwIntegrationsLink *link, const gchar *message)
{
  g_free (link->error);
  link->error = g_strdup (message);
}

/* ---- status ---------------------------------------------------------------------------- */

static void
set_optional_int (JsonObject *obj, const gchar *name, gint64 value)
{
  if (value > 0)
    json_object_set_int_member (obj, name, value);
}

JsonObject *
cw_integrations_link_status (CwIntegrationsLink *link)
{
  JsonObject *status = json_object_new ();
  gint64 now = cw_integrations_plugin_now (link->plugin);
  const gchar *health, *message = NULL;
  g_autofree gchar *stale = NULL;
  const gchar *name
      = link->adapter != NULL ? cw_integration_adapter_get_identity_name (link->adapter) : NULL;
  const gchar *phone
      = link->adapter != NULL ? cw_integration_adapter_get_identity_phone (link->adapter) : NULL;

  json_object_set_string_member (status, "platform", link->platform->id);
  json_object_set_boolean_member (status, "connected", link->connected);
  json_object_set_string_member (status, "displayName", link->platform->display_name);
  if (name != NULL)
    json_object_set_string_member (status, "identityName", name);
  if (phone != NULL)
    json_object_set_string_member (status, "identityPhone", phone);
  if (link->error != NULL)
    json_object_set_string_member (status, "error", link->error);
  set_optional_int (status, "connectedAt", link->connected ? link->connected_at : 0);
  set_optional_int (status, "lastMessageAt", link->last_message_at);
  if (!link->connected)
    {
      health = "unhealthy";
      message = link->connecting         ? "Connecting"
                : link->reconnect_at > 0 ? "Disconnected; reconnecting"
                : link->error != NULL    ? link->error
                                         : "Disconnected";
    }
  else if (now - link->last_round_trip_at <= link->plugin->health_interval_ms)
    health = "healthy";
  else
    {
      health = "degraded";
      stale
          = g_strdup_printf ("No answer from %s for %" G_GINT64_FORMAT " s",
                             link->platform->display_name, (now - link->last_round_trip_at) / 1000);
      message = stale;
    }
  json_object_set_string_member (status, "health", health);
  if (message != NULL)
    json_object_set_string_member (status, "healthMessage", message);
  if (link->requires_reconnect)
    json_object_set_boolean_member (status, "requiresReconnect", TRUE);
  set_optional_int (status, "lastHealthCheckAt", link->last_health_check_at);
  return status;
}

void
cw_integrations_link_emit_status (CwIntegrationsLink *link)
{
  cw_integrations_notify_sync (link);
  cw_plugin_emit (CW_PLUGIN (link->plugin), "integration:status", NULL,
                  cw_integrations_link_status (link));
}

/* ---- serialised operations ------------------------------------------------------------ */

static void
run_next_op (CwIntegrationsLink *link)
{
  Op *op;

  if (link->busy || (op = g_queue_pop_head (&link->ops)) == NULL)
    return;
  link->busy = TRUE;
  op->func (link, op->invocation, op->data);
  op_free (op);
}

void
cw_integrations_link_queue_op (CwIntegrationsLink *link, CwIntegrationsOpFunc func,
                               CwInvocation *invocation, gpointer data, GDestroyNotify destroy)
{
  Op *op = g_new0 (Op, 1);

  op->func = func;
  op->invocation = invocation != NULL ? g_object_ref (invocation) : NULL;
  op->data = data;
  op->destroy = destroy;
  g_queue_push_tail (&link->ops, op);
  run_next_op (link);
}

void
cw_integrations_link_op_done (CwIntegrationsLink *link)
{
  link->busy = FALSE;
  run_next_op (link);
}

/* ---- secrets --------------------------------------------------------------------------- */

typedef struct
{
  CwIntegrationsLink *link;
  JsonObject *config; /* the config being saved or filled in */
  GPtrArray *fields;  /* secret field names left to do */
  GPtrArray *stored;  /* names now in CwSecrets */
  gboolean enabled;
  CwIntegrationsSavedFunc done;
  gpointer data;
} SecretsOp;

static void
secrets_op_free (SecretsOp *op)
{
  json_object_unref (op->config);
  g_ptr_array_unref (op->fields);
  g_ptr_array_unref (op->stored);
  g_free (op);
}

static gchar *
secret_name (CwIntegrationsLink *link, const gchar *field)
{
  return g_strdup_printf ("%s.%s", link->platform->id, field);
}

static void save_next_secret (SecretsOp *op);

static void
on_secret_saved (GObject *source, GAsyncResult *result, gpointer user_data)
{
  SecretsOp *op = user_data;
  g_autoptr (GError) error = NULL;
  const gchar *field = g_ptr_array_index (op->fields, op->fields->len - 1);
  const gchar *value = cw_integration_config_get_string (op->config, field);
  gboolean deleting = value == NULL || *value == '\0';
  gboolean ok = deleting ? cw_secrets_delete_finish (CW_SECRETS (source), result, &error)
                         : cw_secrets_store_finish (CW_SECRETS (source), result, &error);

  if (!ok)
    {
      g_prefix_error (&error, "cannot store %s's %s in the credential store: ",
                      op->link->platform->display_name, field);
      op->done (op->link, error, op->data);
      secrets_op_free (op);
      return;
    }
  if (!deleting)
    g_ptr_array_add (op->stored, g_strdup (field));
  json_object_remove_member (op->config, field);
  g_ptr_array_remove_index (op->fields, op->fields->len - 1);
  save_next_secret (op);
}

static void
save_next_secret (SecretsOp *op)
{
  CwIntegrationsLink *link = op->link;
  g_autoptr (GError) error = NULL;

  if (op->fields->len > 0)
    {
      const gchar *field = g_ptr_array_index (op->fields, op->fields->len - 1);
      const gchar *value = cw_integration_config_get_string (op->config, field);
      g_autofree gchar *name = secret_name (link, field);

      if (value == NULL || *value == '\0')
        cw_secrets_delete (link->plugin->secrets, "integration", name, NULL, on_secret_saved, op);
      else
        cw_secrets_store (link->plugin->secrets, "integration", name, value, NULL, on_secret_saved,
                          op);
      return;
    }
  g_ptr_array_add (op->stored, NULL);
  if (!cw_integrations_store_put_platform (link->plugin->store, link->platform->id, op->enabled,
                                           op->config, (const gchar *const *) op->stored->pdata,
                                           &error))
    op->done (link, error, op->data);
  else
    op->done (link, NULL, op->data);
  secrets_op_free (op);
}

void
cw_integrations_link_save_config (CwIntegrationsLink *link, JsonObject *config, gboolean enabled,
                                  CwIntegrationsSavedFunc done, gpointer data)
{
  SecretsOp *op = g_new0 (SecretsOp, 1);
  g_auto (GStrv) previous = NULL;

  op->link = link;
  op->config = json_object_new ();
  op->fields = g_ptr_array_new_with_free_func (g_free);
  op->stored = g_ptr_array_new_with_free_func (g_free);
  op->enabled = enabled;
  op->done = done;
  op->data = data;
  if (!cw_integrations_store_get_platform (link->plugin->store, link->platform->id, NULL, NULL,
                                           &previous))
    previous = g_new0 (gchar *, 1);
  for (const CwIntegrationField *f = link->platform->fields; f->name != NULL; f++)
    {
      JsonNode *value = json_object_get_member (config, f->name);
      if (value != NULL)
        json_object_set_member (op->config, f->name, json_node_copy (value));
      /* A secret given is stored ("" deletes it); one not given stays as it was. */
      if (f->secret && value != NULL)
        g_ptr_array_add (op->fields, g_strdup (f->name));
      else if (f->secret && g_strv_contains ((const gchar *const *) previous, f->name))
        g_ptr_array_add (op->stored, g_strdup (f->name));
    }
  save_next_secret (op);
}

typedef void (*LoadedFunc) (CwIntegrationsLink *link, JsonObject *config, GError *error,
                            gpointer data);

typedef struct
{
  CwIntegrationsLink *link;
  JsonObject *config;
  gchar **names;
  guint index;
  LoadedFunc done;
  gpointer data;
} LoadOp;

static void load_next_secret (LoadOp *op);

static void
on_secret_loaded (GObject *source, GAsyncResult *result, gpointer user_data)
{
  LoadOp *op = user_data;
  g_autoptr (GError) error = NULL;
  g_autofree gchar *value = cw_secrets_lookup_finish (CW_SECRETS (source), result, &error);

  if (error != NULL)
    {
      g_prefix_error (&error, "cannot read %s's %s from the credential store: ",
                      op->link->platform->display_name, op->names[op->index]);
      op->done (op->link, NULL, error, op->data);
      json_object_unref (op->config);
      g_strfreev (op->names);
      g_free (op);
      return;
    }
  if (value != NULL)
    json_object_set_string_member (op->config, op->names[op->index], value);
  if (value != NULL)
    explicit_bzero (value, strlen (value));
  op->index++;
  load_next_secret (op);
}

static void
load_next_secret (LoadOp *op)
{
  if (op->names[op->index] != NULL)
    {
      g_autofree gchar *name = secret_name (op->link, op->names[op->index]);
      cw_secrets_lookup (op->link->plugin->secrets, "integration", name, NULL, on_secret_loaded,
                         op);
      return;
    }
  op->done (op->link, op->config, NULL, op->data);
  json_object_unref (op->config);
  g_strfreev (op->names);
  g_free (op);
}

/* The stored config with its secrets filled in (an empty object when nothing is stored). */
static void
load_config (CwIntegrationsLink *link, LoadedFunc done, gpointer data)
{
  LoadOp *op = g_new0 (LoadOp, 1);

  op->link = link;
  op->done = done;
  op->data = data;
  if (!cw_integrations_store_get_platform (link->plugin->store, link->platform->id, NULL,
                                           &op->config, &op->names))
    {
      op->config = json_object_new ();
      op->names = g_new0 (gchar *, 1);
    }
  load_next_secret (op);
}

/* ---- connect ------------------------------------------------------------------------------ */

typedef struct
{
  CwIntegrationsLink *link;
  CwInvocation *invocation; /* NULL: a reconnect */
  JsonObject *input;        /* integration_connect's config, merged over the stored one */
  JsonObject *config;       /* what the adapter got, secrets included */
  CwIntegrationAdapter *adapter;
} ConnectOp;

static void
connect_op_free (ConnectOp *op)
{
  g_clear_object (&op->invocation);
  g_clear_pointer (&op->input, json_object_unref);
  g_clear_pointer (&op->config, json_object_unref);
  g_clear_object (&op->adapter);
  g_free (op);
}

static gint64
backoff_delay (CwIntegrationsLink *link)
{
  gint64 base = link->plugin->backoff_base_ms;
  gint64 cap = link->plugin->backoff_max_ms;
  gint64 delay = base;

  for (guint i = 0; i < link->attempt && delay < cap; i++)
    delay *= 2;
  delay = MIN (delay, cap);
  /* Half fixed, half jitter, so many clients do not come back at the same instant. */
  return delay / 2 + g_random_int_range (0, (gint32) MAX (1, delay / 2));
}

static void
plan_reconnect (CwIntegrationsLink *link)
{
  g_autofree gchar *job = g_strconcat ("reconnect:", link->platform->id, NULL);
  gint64 delay;

  if (link->plugin->stopping || link->requires_reconnect)
    return;
  delay = backoff_delay (link);
  link->attempt++;
  link->reconnect_at = cw_integrations_plugin_now (link->plugin) + delay;
  cw_integrations_plugin_schedule (link->plugin, job, link->reconnect_at);
  g_message ("%s: reconnecting in %" G_GINT64_FORMAT " ms (attempt %u)", link->platform->id, delay,
             link->attempt);
}

static void
on_saved_after_connect (CwIntegrationsLink *link, GError *error, gpointer data)
{
  CwInvocation *invocation = data;

  if (error != NULL)
    {
      /* Connected but not stored: say so rather than report a connection that would not
       * come back after a restart. */
      drop_adapter (link);
      set_error (link, error->message);
      cw_invocation_return_error (invocation, g_error_copy (error));
    }
  else
    cw_invocation_return_object (invocation, cw_integrations_link_status (link));
  cw_integrations_link_emit_status (link);
  g_object_unref (invocation);
  cw_integrations_link_op_done (link);
}

static void
on_adapter_connected (GObject *source, GAsyncResult *result, gpointer user_data)
{
  ConnectOp *op = user_data;
  CwIntegrationsLink *link = op->link;
  g_autoptr (GError) error = NULL;
  gboolean ok
      = cw_integration_adapter_connect_finish (CW_INTEGRATION_ADAPTER (source), result, &error);

  if (link->adapter != op->adapter)
    {
      /* Disconnected (or replaced) meanwhile: this adapter is already dropped. */
      if (op->invocation != NULL)
        {
          cw_invocation_return_new_error (op->invocation, CW_ERROR_CANCELLED,
                                          "%s: the connect was cancelled",
                                          link->platform->display_name);
          cw_integrations_link_op_done (link);
        }
      connect_op_free (op);
      return;
    }
  g_clear_object (&link->cancellable);
  link->connecting = FALSE;
  if (!ok)
    {
      /* a platform out of reach is not a fault of the daemon: it is in the status and, for
       * a reconnect, in an error event */
      g_message ("%s: connect failed: %s", link->platform->id, error->message);
      drop_adapter (link);
      set_error (link, error->message);
      if (op->invocation != NULL)
        {
          cw_invocation_return_error (op->invocation, g_steal_pointer (&error));
          cw_integrations_link_op_done (link);
        }
      else
        {
          cw_integrations_plugin_emit_error (link->plugin, "INTEGRATION_RECONNECT_ERROR",
                                             "%s reconnect failed: %s",
                                             link->platform->display_name, link->error);
          /* Refused credentials stay refused: trying again on the backoff would only repeat
           * the refusal (and may lock the account); the user reconnects with new ones. */
          if (g_error_matches (error, CW_ERROR, CW_ERROR_UNAUTHORIZED))
            {
              link->requires_reconnect = TRUE;
              link->reconnect_at = 0;
            }
          else
            plan_reconnect (link);
        }
      cw_integrations_link_emit_status (link);
      connect_op_free (op);
      return;
    }
  link->connected = TRUE;
  link->requires_reconnect = FALSE;
  link->attempt = 0;
  link->reconnect_at = 0;
  link->connected_at = cw_now_ms ();
  link->last_round_trip_at = cw_integrations_plugin_now (link->plugin);
  link->last_health_check_at = cw_now_ms ();
  g_clear_pointer (&link->error, g_free);
  g_message ("%s: connected", link->platform->id);
  if (op->invocation != NULL)
    cw_integrations_link_save_config (link, op->input, TRUE, on_saved_after_connect,
                                      g_object_ref (op->invocation));
  else
    cw_integrations_link_emit_status (link);
  cw_integrations_outbox_flush (link->plugin, link->platform->id);
  cw_integrations_router_resume (link->plugin);
  connect_op_free (op);
}

static void
start_adapter (ConnectOp *op)
{
  CwIntegrationsLink *link = op->link;
  g_autoptr (GError) error = NULL;
  g_autofree gchar *missing = NULL;
  g_autoptr (JsonObject) full = NULL;

  if (link->platform->get_type == NULL)
    g_set_error (&error, CW_ERROR, CW_ERROR_NOT_SUPPORTED,
                 "%s is not supported by this build of coworkd: its adapter is not available",
                 link->platform->display_name);
  else if ((missing = cw_integrations_config_missing (link->platform, op->config)) != NULL)
    g_set_error (&error, CW_ERROR, CW_ERROR_INVALID_PARAMS, "%s needs %s",
                 link->platform->display_name, missing);
  if (error != NULL)
    {
      set_error (link, error->message);
      link->connecting = FALSE;
      if (op->invocation != NULL)
        {
          cw_invocation_return_error (op->invocation, g_steal_pointer (&error));
          cw_integrations_link_op_done (link);
        }
      connect_op_free (op);
      return;
    }
  drop_adapter (link);
  link->adapter = g_object_new (link->platform->get_type (), NULL);
  cw_integration_adapter_attach (link->adapter, CW_PLUGIN (link->plugin), link->platform->id,
                                 &cw_integrations_core_funcs, link->plugin);
  op->adapter = g_object_ref (link->adapter);
  link->cancellable = g_cancellable_new ();
  link->connecting = TRUE;
  link->reconnect_at = 0;
  full = cw_integrations_config_with_defaults (link->platform, op->config);
  cw_integration_adapter_connect_async (link->adapter, full, link->cancellable,
                                        on_adapter_connected, op);
}

static void
on_config_loaded (CwIntegrationsLink *link, JsonObject *stored, GError *error, gpointer data)
{
  ConnectOp *op = data;
  g_autoptr (GError) local = NULL;

  if (error != NULL)
    {
      set_error (link, error->message);
      link->connecting = FALSE;
      if (op->invocation != NULL)
        {
          cw_invocation_return_error (op->invocation, g_error_copy (error));
          cw_integrations_link_op_done (link);
        }
      else
        plan_reconnect (link);
      connect_op_free (op);
      return;
    }
  op->config = cw_integrations_config_merge (link->platform, stored, op->input, &local);
  if (op->config == NULL)
    {
      link->connecting = FALSE;
      cw_invocation_return_error (op->invocation, g_steal_pointer (&local));
      cw_integrations_link_op_done (link);
      connect_op_free (op);
      return;
    }
  if (op->input != NULL)
    {
      json_object_unref (op->input);
      op->input = json_object_ref (op->config);
    }
  start_adapter (op);
}

/* @input NULL: reconnect with what is stored. */
static void
connect_with (CwIntegrationsLink *link, CwInvocation *invocation, JsonObject *input)
{
  ConnectOp *op = g_new0 (ConnectOp, 1);

  op->link = link;
  op->invocation = invocation != NULL ? g_object_ref (invocation) : NULL;
  op->input = input != NULL ? json_object_ref (input) : NULL;
  if (invocation != NULL && input == NULL)
    op->input = json_object_new ();
  load_config (link, on_config_loaded, op);
}

void
cw_integrations_link_connect (CwIntegrationsLink *link, CwInvocation *invocation)
{
  JsonObject *params = invocation != NULL ? cw_invocation_get_params (invocation) : NULL;
  JsonNode *config = params != NULL ? json_object_get_member (params, "config") : NULL;

  if (config != NULL && !JSON_NODE_HOLDS_OBJECT (config) && !JSON_NODE_HOLDS_NULL (config))
    {
      cw_invocation_return_new_error (invocation, CW_ERROR_INVALID_PARAMS,
                                      "config must be an object");
      cw_integrations_link_op_done (link);
      return;
    }
  connect_with (link, invocation,
                config != NULL && JSON_NODE_HOLDS_OBJECT (config) ? json_node_get_object (config)
                                                                  : NULL);
}

void
cw_integrations_link_disconnect (CwIntegrationsLink *link)
{
  g_autofree gchar *job = g_strconcat ("reconnect:", link->platform->id, NULL);

  drop_adapter (link);
  link->reconnect_at = 0;
  link->attempt = 0;
  link->requires_reconnect = FALSE;
  g_clear_pointer (&link->error, g_free);
  cw_integrations_plugin_unschedule (link->plugin, job);
}

void
cw_integrations_link_reconnect_due (CwIntegrationsLink *link)
{
  gboolean enabled = FALSE;

  link->reconnect_at = 0;
  if (link->connected || link->connecting || link->plugin->stopping
      || !cw_integrations_store_get_platform (link->plugin->store, link->platform->id, &enabled,
                                              NULL, NULL)
      || !enabled)
    return;
  link->connecting = TRUE; /* until the config is loaded */
  connect_with (link, NULL, NULL);
}

/* ---- health --------------------------------------------------------------------------------- */

static void
on_health_checked (GObject *source, GAsyncResult *result, gpointer user_data)
{
  CwIntegrationsLink *link = user_data;
  g_autoptr (GError) error = NULL;
  gboolean requires_reconnect = FALSE;
  gboolean ok;

  ok = cw_integration_adapter_check_health_finish (CW_INTEGRATION_ADAPTER (source), result,
                                                   &requires_reconnect, &error);
  if (CW_INTEGRATION_ADAPTER (source) != link->adapter)
    {
      g_object_unref (source);
      return;
    }
  g_object_unref (source);
  link->checking = FALSE;
  link->last_health_check_at = cw_now_ms ();
  if (ok)
    link->last_round_trip_at = cw_integrations_plugin_now (link->plugin);
  else
    cw_integration_adapter_report_lost (link->adapter, error, requires_reconnect);
}

void
cw_integrations_link_check_health (CwIntegrationsLink *link)
{
  if (!link->connected || link->checking || link->adapter == NULL)
    return;
  link->checking = TRUE;
  cw_integration_adapter_check_health_async (link->adapter, NULL, on_health_checked,
                                             g_object_ref (link->adapter));
  (void) link;
}

/* ---- the adapter's calls ----------------------------------------------------------------- */

static CwIntegrationsLink *
link_of (gpointer core, CwIntegrationAdapter *adapter)
{
  CwIntegrationsLink *link
      = cw_integrations_plugin_get_link (core, cw_integration_adapter_get_platform (adapter));

  return link != NULL && link->adapter == adapter ? link : NULL;
}

static gboolean
core_receive (gpointer core, CwIntegrationAdapter *adapter, const CwIntegrationInbound *message,
              gboolean *duplicate, GError **error)
{
  CwIntegrationsPlugin *self = core;
  CwIntegrationsLink *link = link_of (core, adapter);
  gint64 id;

  if (link == NULL)
    {
      g_set_error (error, CW_ERROR, CW_ERROR_FAILED, "the adapter is no longer connected");
      return FALSE;
    }
  id = cw_integrations_store_insert_inbound (self->store, link->platform->id, message, "received",
                                             duplicate, error);
  if (id < 0)
    return FALSE;
  link->last_round_trip_at = cw_integrations_plugin_now (self);
  if (*duplicate)
    {
      g_debug ("%s: message %s seen before", link->platform->id, message->message_id);
      return TRUE;
    }
  self->inbound_count++;
  link->last_message_at = cw_now_ms ();
  cw_integrations_router_inbound (self, id);
  return TRUE;
}

static gchar *
core_get_state (gpointer core, CwIntegrationAdapter *adapter, const gchar *key)
{
  CwIntegrationsPlugin *self = core;

  return cw_integrations_store_get_state (self->store,
                                          cw_integration_adapter_get_platform (adapter), key);
}

static gboolean
core_set_state (gpointer core, CwIntegrationAdapter *adapter, const gchar *key, const gchar *value,
                GError **error)
{
  CwIntegrationsPlugin *self = core;

  return cw_integrations_store_set_state (
      self->store, cw_integration_adapter_get_platform (adapter), key, value, error);
}

static void
core_round_trip (gpointer core, CwIntegrationAdapter *adapter)
{
  CwIntegrationsLink *link = link_of (core, adapter);

  if (link != NULL)
    link->last_round_trip_at = cw_integrations_plugin_now (link->plugin);
}

typedef struct
{
  CwIntegrationsLink *link;
  CwIntegrationAdapter *adapter;
} LostIdle;

static gboolean
lost_idle (gpointer data)
{
  LostIdle *lost = data;

  /* Dropped from an idle: the adapter may be in the middle of its own callback. */
  if (lost->link->adapter == lost->adapter && !lost->link->connected && !lost->link->connecting)
    drop_adapter (lost->link);
  g_object_unref (lost->adapter);
  g_free (lost);
  return G_SOURCE_REMOVE;
}

static void
core_lost (gpointer core, CwIntegrationAdapter *adapter, const GError *error,
           gboolean requires_reconnect)
{
  CwIntegrationsLink *link = link_of (core, adapter);
  const gchar *why = error != NULL ? error->message : "the connection was lost";

  if (link == NULL || (!link->connected && !link->connecting))
    return;
  g_warning ("%s: %s", link->platform->id, why);
  cw_integration_adapter_detach (adapter);
  link->connected = FALSE;
  link->connecting = FALSE;
  link->requires_reconnect = requires_reconnect;
  set_error (link, why);
  {
    LostIdle *lost = g_new0 (LostIdle, 1);
    lost->link = link;
    lost->adapter = g_object_ref (adapter);
    g_idle_add (lost_idle, lost);
  }
  cw_integrations_plugin_emit_error (link->plugin, "INTEGRATION_PLATFORM_ERROR", "%s error: %s",
                                     link->platform->id, why);
  plan_reconnect (link);
  cw_integrations_link_emit_status (link);
}

static void
core_identity (gpointer core, CwIntegrationAdapter *adapter)
{
  CwIntegrationsLink *link = link_of (core, adapter);

  if (link != NULL && link->connected)
    cw_integrations_link_emit_status (link);
}

static void
core_qr (gpointer core, CwIntegrationAdapter *adapter, const gchar *data_url)
{
  CwIntegrationsPlugin *self = core;
  JsonObject *data = json_object_new ();

  g_free (self->qr);
  self->qr = g_strdup (data_url);
  if (data_url != NULL)
    json_object_set_string_member (data, "qrDataUrl", data_url);
  else
    json_object_set_null_member (data, "qrDataUrl");
  cw_plugin_emit (CW_PLUGIN (self), "integration:qr", NULL, data);
}

const CwIntegrationCoreFuncs cw_integrations_core_funcs = {
  core_receive, core_get_state, core_set_state, core_round_trip, core_lost, core_identity, core_qr,
};
