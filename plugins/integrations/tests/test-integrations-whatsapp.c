/* test-integrations-whatsapp.c: the WhatsApp adapter (Cloud API) against the fake Graph API,
 * whose webhooks go to the real coworkd's HTTP server, with the agent plugin and the fake
 * LLM.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-cloud-test.h"

#include <signal.h>

#define ANN "15551234567"

typedef struct
{
  CloudTest *t;
  gchar *webhook;
} WhatsApp;

static void
whatsapp_free (WhatsApp *w)
{
  g_clear_pointer (&w->t, cloud_test_free);
  g_free (w->webhook);
  g_free (w);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (WhatsApp, whatsapp_free)

/* The daemon on a known HTTP port (Meta is told the webhook URL), the fake Cloud API
 * delivering to it, and WhatsApp connected with @allow as allowFrom. */
static WhatsApp *
whatsapp_new (const gchar *allow)
{
  WhatsApp *w = g_new0 (WhatsApp, 1);
  guint port;
  g_autofree gchar *conf = NULL, *config = NULL;
  g_autoptr (JsonObject) status = NULL;

  w->t = cloud_test_new (CW_FAKE_WHATSAPP, CLOUD_HELLO_SCRIPT);
  if (w->t == NULL)
    {
      g_free (w);
      return NULL;
    }
  port = integ_free_port ();
  conf = g_strdup_printf ("[http]\nport=%u\n", port);
  cw_test_daemon_set_config (w->t->f->daemon, conf);
  agent_fixture_stop (w->t->f, SIGTERM);
  agent_fixture_start (w->t->f);
  w->webhook = g_strdup_printf ("http://127.0.0.1:%u/integrations/whatsapp/webhook", port);
  cw_fake_cloud_set_option (w->t->fake, "webhook_url", w->webhook);
  cw_fake_cloud_set_option (w->t->fake, "app_secret", "app-secret");
  cw_fake_cloud_set_option (w->t->fake, "verify_token", "verify-me");
  config = g_strdup_printf (
      "{\"phoneNumberId\":\"106540352242922\",\"accessToken\":\"wa-token\","
      "\"appSecret\":\"app-secret\",\"verifyToken\":\"verify-me\",\"apiBaseUrl\":\"%s\","
      "\"allowFrom\":%s,\"denialMessage\":null,\"sessionDataDir\":null,\"senderPolicy\":null}",
      cw_fake_cloud_get_url (w->t->fake), allow);
  status = cloud_connect (w->t, "whatsapp", config);
  g_assert_cmpstr (json_object_get_string_member (status, "identityName"), ==, "Cowork Test");
  g_assert_cmpstr (json_object_get_string_member (status, "identityPhone"), ==, "+1 555-000-0000");
  return w;
}

static void
test_reply (void)
{
  g_autoptr (WhatsApp) w = whatsapp_new ("[\"+" ANN "\"]");
  g_autoptr (JsonObject) ok = NULL, refused = NULL, sent = NULL;
  g_autoptr (JsonNode) qr = NULL;
  g_autoptr (GPtrArray) prompts = NULL;
  g_autoptr (CwClient) client = NULL;
  g_autofree gchar *recover = NULL;
  const gchar *hello[] = { CLOUD_HELLO, NULL };
  const gchar *denied[]
      = { "This Cowork bot is private. You are not authorized to chat with it.", NULL };
  JsonObject *body;

  if (w == NULL)
    return;
  /* Meta's subscription handshake: the challenge back with the right token, 403 without */
  cw_fake_cloud_control (w->t->fake, "verify");
  ok = cw_fake_cloud_wait (w->t->fake, "verify", 0, 10000);
  g_assert_cmpint (json_object_get_int_member (ok, "status"), ==, 200);
  g_assert_cmpstr (json_object_get_string_member (ok, "body"), ==,
                   json_object_get_string_member (ok, "challenge"));
  cw_fake_cloud_set_option (w->t->fake, "verify_token", "guessed");
  cw_fake_cloud_control (w->t->fake, "verify");
  refused = cw_fake_cloud_wait (w->t->fake, "verify", 1, 10000);
  g_assert_cmpint (json_object_get_int_member (refused, "status"), ==, 403);

  g_free (cw_fake_cloud_inject (w->t->fake, ANN, NULL, "Ann", "hi from whatsapp"));
  cloud_expect_bot (w->t, ANN, hello, 0);
  prompts = cloud_llm_prompts (w->t);
  g_assert_cmpuint (prompts->len, ==, 1);
  g_assert_cmpstr (prompts->pdata[0], ==, "[WhatsApp | Ann]: hi from whatsapp");
  sent = cw_fake_cloud_wait (w->t->fake, "send", 0, 0);
  body = json_object_get_object_member (sent, "body");
  g_assert_cmpstr (json_object_get_string_member (body, "messaging_product"), ==, "whatsapp");
  g_assert_cmpstr (json_object_get_string_member (sent, "auth"), ==, "Bearer wa-token");
  g_assert_true (json_object_has_member (body, "context"));

  /* not on the allowlist: the denial message, and no turn */
  g_free (cw_fake_cloud_inject (w->t->fake, "15559999999", NULL, "Eve", "let me in"));
  cloud_expect_bot (w->t, "15559999999", denied, 300);
  g_assert_cmpuint (integ_llm_requests (w->t->f), ==, 1);

  /* no QR with the Cloud API, and recovery says why */
  qr = integ_call (w->t->f, "integration_get_qr", NULL);
  g_assert_true (json_object_get_null_member (cw_test_obj (qr), "qrDataUrl"));
  client = cw_test_daemon_connect (w->t->f->daemon);
  recover = agent_call_error (client, "integration_recover_whatsapp", "{\"mode\":null}");
  g_assert_nonnull (g_strstr_len (recover, -1, "WhatsApp Cloud API"));
}

/* A notification with a bad signature is refused (401) and Meta's retries with a good one
 * are answered once; one that arrives while the daemon is dead is retried by Meta and
 * answered once after the restart; a notification delivered twice is answered once. */
static void
test_signature_restart_duplicate (void)
{
  g_autoptr (WhatsApp) w = whatsapp_new ("[\"*\"]");
  g_autoptr (GPtrArray) hooks = NULL;
  g_autofree gchar *id = NULL;
  g_autoptr (JsonObject) again = NULL;
  const gchar *one[] = { CLOUD_HELLO, NULL };
  const gchar *two[] = { CLOUD_HELLO, CLOUD_HELLO, NULL };
  guint before;

  if (w == NULL)
    return;
  cw_fake_cloud_set_option (w->t->fake, "app_secret", "forged");
  id = cw_fake_cloud_inject (w->t->fake, ANN, NULL, "Ann", "signed?");
  g_assert_nonnull (cw_fake_cloud_wait (w->t->fake, "webhook", 1, 10000));
  hooks = cw_fake_cloud_records (w->t->fake, "webhook");
  g_assert_cmpint (json_object_get_int_member (hooks->pdata[0], "status"), ==, 401);
  g_assert_cmpuint (integ_llm_requests (w->t->f), ==, 0);
  cw_fake_cloud_set_option (w->t->fake, "app_secret", "app-secret");
  cloud_expect_bot (w->t, ANN, one, 0);

  agent_fixture_stop (w->t->f, SIGKILL);
  before = cw_fake_cloud_count (w->t->fake, "webhook");
  g_free (cw_fake_cloud_inject (w->t->fake, ANN, NULL, "Ann", "while you were dead"));
  g_assert_nonnull (cw_fake_cloud_wait (w->t->fake, "webhook", before + 1, 10000));
  agent_fixture_start (w->t->f);
  again = integ_wait_connected (w->t->f, "whatsapp", TRUE);
  cloud_expect_bot (w->t, ANN, two, 0);

  before = cw_fake_cloud_count (w->t->fake, "webhook");
  cw_fake_cloud_redeliver (w->t->fake, id);
  g_assert_nonnull (cw_fake_cloud_wait (w->t->fake, "webhook", before, 10000));
  cloud_expect_bot (w->t, ANN, two, 500);
  g_assert_cmpuint (integ_llm_requests (w->t->f), ==, 2);
}

/* A document with a caption: the media id is looked up (GET /<media-id>) and its URL fetched,
 * both with the access token, and the agent gets the caption and the file. */
static void
test_media (void)
{
  g_autoptr (WhatsApp) w = whatsapp_new ("[\"+" ANN "\"]");
  g_autoptr (JsonObject) lookup = NULL, download = NULL;
  g_autoptr (GPtrArray) prompts = NULL;
  g_autoptr (GBytes) doc = g_bytes_new_static ("%PDF-1.4 invoice", 16);
  const gchar *hello[] = { CLOUD_HELLO, NULL };

  if (w == NULL)
    return;
  g_free (cw_fake_cloud_inject_file (w->t->fake, ANN, NULL, "Ann", "my invoice", "document",
                                     "invoice.pdf", "application/pdf", doc));
  cloud_expect_bot (w->t, ANN, hello, 300);
  lookup = cw_fake_cloud_wait (w->t->fake, "media_url", 0, 0);
  download = cw_fake_cloud_wait (w->t->fake, "file", 0, 0);
  g_assert_cmpstr (json_object_get_string_member (lookup, "auth"), ==, "Bearer wa-token");
  g_assert_cmpstr (json_object_get_string_member (download, "auth"), ==, "Bearer wa-token");
  prompts = cloud_llm_prompts (w->t);
  g_assert_cmpuint (prompts->len, ==, 1);
  g_assert_true (g_str_has_prefix (prompts->pdata[0], "[WhatsApp | Ann]: my invoice"));
  integ_assert_attached (prompts->pdata[0], "pdf", "invoice.pdf", "%PDF-1.4 invoice", 16);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/integrations/whatsapp/reply", test_reply);
  g_test_add_func ("/integrations/whatsapp/media", test_media);
  g_test_add_func ("/integrations/whatsapp/signature-restart-duplicate",
                   test_signature_restart_duplicate);
  return g_test_run ();
}
