/* test-cloud-adapters.c: cloud adapters in process, against the fake platforms, with a stub
 * core (state in memory, inbound messages recorded): what the daemon-level tests cannot
 * reach yet, such as an edit that outgrows the platform's limit.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "adapters/cw-integrations-adapters.h"
#include "cw-fake-cloud.h"

typedef struct
{
  GHashTable *state;
  guint received;
} StubCore;

static gboolean
stub_receive (gpointer core, CwIntegrationAdapter *adapter, const CwIntegrationInbound *message,
              gboolean *duplicate, GError **error)
{
  StubCore *c = core;

  c->received++;
  if (duplicate != NULL)
    *duplicate = FALSE;
  if (message->state_key != NULL)
    g_hash_table_replace (c->state, g_strdup (message->state_key), g_strdup (message->state_value));
  return TRUE;
}

static gchar *
stub_get_state (gpointer core, CwIntegrationAdapter *adapter, const gchar *key)
{
  return g_strdup (g_hash_table_lookup (((StubCore *) core)->state, key));
}

static gboolean
stub_set_state (gpointer core, CwIntegrationAdapter *adapter, const gchar *key, const gchar *value,
                GError **error)
{
  g_hash_table_replace (((StubCore *) core)->state, g_strdup (key), g_strdup (value));
  return TRUE;
}

static void
stub_nothing (gpointer core, CwIntegrationAdapter *adapter)
{
}

static void
stub_lost (gpointer core, CwIntegrationAdapter *adapter, const GError *error,
           gboolean requires_reconnect)
{
}

static void
stub_qr (gpointer core, CwIntegrationAdapter *adapter, const gchar *data_url)
{
}

static const CwIntegrationCoreFuncs stub_funcs = {
  stub_receive, stub_get_state, stub_set_state, stub_nothing, stub_lost, stub_nothing, stub_qr,
};

static void
got_result (GObject *source, GAsyncResult *result, gpointer user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

static GAsyncResult *
wait_result (GAsyncResult **slot)
{
  gint64 deadline = g_get_monotonic_time () + 20 * G_TIME_SPAN_SECOND;

  while (*slot == NULL && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_assert_nonnull (*slot);
  return *slot;
}

static gchar *
words (guint n)
{
  GString *text = g_string_new (NULL);

  for (guint i = 0; i < n; i++)
    g_string_append_printf (text, "%sw%u", i > 0 ? " " : "", i);
  return g_string_free (text, FALSE);
}

/* A Discord message edited past 2000 characters continues in messages after it; a later,
 * longer edit edits those and adds what is still missing, and nothing is posted twice. */
static void
test_discord_long_edit (void)
{
  g_autoptr (CwFakeCloud) fake = cw_fake_cloud_new (CW_FAKE_DISCORD);
  g_autoptr (CwIntegrationAdapter) adapter = g_object_new (cw_discord_adapter_get_type (), NULL);
  StubCore core = { g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free), 0 };
  g_autoptr (JsonObject) config = json_object_new ();
  g_autoptr (GAsyncResult) connected = NULL, sent = NULL, edited = NULL, again = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree gchar *id = NULL, *first = NULL, *second = NULL;
  g_autoptr (JsonArray) messages = NULL;
  CwIntegrationOutbound placeholder = { "out-1", "700", "Thinking...", NULL };
  g_autoptr (GString) joined = g_string_new (NULL);

  cw_fake_cloud_set_option (fake, "heartbeat_interval", "1000");
  json_object_set_string_member (config, "botToken", "t");
  json_object_set_string_member (config, "apiBaseUrl", cw_fake_cloud_get_url (fake));
  cw_integration_adapter_attach (adapter, NULL, "discord", &stub_funcs, &core);
  cw_integration_adapter_connect_async (adapter, config, NULL, got_result, &connected);
  g_assert_true (cw_integration_adapter_connect_finish (adapter, wait_result (&connected), &error));
  g_assert_no_error (error);

  cw_integration_adapter_send_async (adapter, &placeholder, NULL, got_result, &sent);
  id = cw_integration_adapter_send_finish (adapter, wait_result (&sent), &error);
  g_assert_no_error (error);

  first = words (500); /* ~2,900 characters: two messages */
  cw_integration_adapter_edit_async (adapter, "700", id, first, NULL, got_result, &edited);
  g_assert_true (cw_integration_adapter_edit_finish (adapter, wait_result (&edited), &error));
  g_assert_no_error (error);
  messages = cw_fake_cloud_bot_messages (fake, "700");
  g_assert_cmpuint (json_array_get_length (messages), ==, 2);

  second = words (900); /* ~5,500 characters: three */
  cw_integration_adapter_edit_async (adapter, "700", id, second, NULL, got_result, &again);
  g_assert_true (cw_integration_adapter_edit_finish (adapter, wait_result (&again), &error));
  g_assert_no_error (error);
  g_clear_pointer (&messages, json_array_unref);
  messages = cw_fake_cloud_bot_messages (fake, "700");
  g_assert_cmpuint (json_array_get_length (messages), ==, 3);
  for (guint i = 0; i < 3; i++)
    {
      const gchar *part
          = json_object_get_string_member (json_array_get_object_element (messages, i), "text");
      g_assert_cmpint (g_utf8_strlen (part, -1), <=, 2000);
      g_string_append_printf (joined, "%s%s", i > 0 ? " " : "", part);
    }
  g_assert_cmpstr (joined->str, ==, second);
  g_assert_cmpuint (cw_fake_cloud_count (fake, "create_message"), ==, 3);

  cw_integration_adapter_disconnect (adapter);
  cw_integration_adapter_detach (adapter);
  g_hash_table_unref (core.state);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/integrations/cloud/discord-long-edit", test_discord_long_edit);
  return g_test_run ();
}
