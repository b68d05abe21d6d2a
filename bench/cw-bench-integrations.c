/* cw-bench-integrations.c: the integrations plugin in the real daemon (agent and
 * integrations plugins) against the fake cloud platforms of plugins/integrations/tests/fake:
 * - inbound-to-agent latency: a message injected into the fake Telegram until the agent's
 *   stream:start for its turn (getUpdates long poll, the ledger write, routing, a session per
 *   chat, send_message), one message at a time, p50/p99;
 * - sustained inbound: 2,000 messages across 100 Telegram chats, until the last
 *   integration:message_in (each one stored in the ledger, offset with it, then routed);
 * - RSS with the six cloud platforms connected (Telegram, Slack, Discord, Teams, iMessage,
 *   WhatsApp), then with all eight (IRC on Debian's ngircd, email on dovecot and the SMTP
 *   server of the email tests, both on loopback as plugins/integrations/tests start them),
 *   next to the same daemon with none, before any message.
 * The provider points at a closed port: a turn ends at the provider at once, and what is
 * measured is the integrations side.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-bench-util.h"
#include "cw-fake-cloud.h"
#include "cw-integrations-test.h"
#include "cw-mail-server.h"

#include <string.h>
#include <unistd.h>

#define LATENCY_MESSAGES 100
#define BURST_CHATS      100
#define BURST_MESSAGES   2000

static JsonNode *
call (CwClient *c, const gchar *command, const gchar *params_json)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) params
      = params_json != NULL ? cw_json_from_string (params_json, -1, NULL) : NULL;
  JsonNode *r = cw_client_call (c, command, params, &error);

  if (r == NULL)
    g_error ("%s: %s", command, error->message);
  return r;
}

static guint16
closed_port (void)
{
  g_autoptr (GSocketListener) listener = g_socket_listener_new ();
  guint16 port = g_socket_listener_add_any_inet_port (listener, NULL, NULL);

  g_socket_listener_close (listener);
  return port;
}

/* The next event of @type, or NULL after 30 s. */
static JsonObject *
next_of (CwClient *events, const gchar *type)
{
  gint64 deadline = g_get_monotonic_time () + 30 * G_TIME_SPAN_SECOND;

  while (g_get_monotonic_time () < deadline)
    {
      g_autoptr (GError) error = NULL;
      JsonObject *ev = cw_client_next_event (events, &error);
      if (ev == NULL)
        return NULL;
      if (g_strcmp0 (json_object_get_string_member_with_default (ev, "type", ""), type) == 0)
        return ev;
      json_object_unref (ev);
    }
  return NULL;
}

static void
connect_platform (CwClient *c, const gchar *platform, const gchar *config)
{
  g_autofree gchar *params
      = g_strdup_printf ("{\"platform\":\"%s\",\"config\":%s}", platform, config);
  g_autoptr (JsonNode) status = call (c, "integration_connect", params);

  if (!json_object_get_boolean_member_with_default (json_node_get_object (status), "connected",
                                                    FALSE))
    g_error ("%s did not connect", platform);
}

static void
bench_latency (CwClient *c, CwClient *events, CwFakeCloud *telegram)
{
  g_autoptr (GArray) samples = g_array_new (FALSE, FALSE, sizeof (gdouble));
  gchar value[96];

  for (guint i = 0; i < LATENCY_MESSAGES; i++)
    {
      g_autofree gchar *chat = g_strdup_printf ("%u", 9000 + i % 10);
      g_autofree gchar *id = NULL;
      g_autoptr (JsonObject) start = NULL, out = NULL;
      gdouble t0 = cw_bench_now_us ();
      gdouble ms;

      id = cw_fake_cloud_inject (telegram, chat, chat, "Bench", "ping");
      start = next_of (events, "stream:start");
      if (start == NULL)
        break;
      ms = (cw_bench_now_us () - t0) / 1000.0;
      g_array_append_val (samples, ms);
      /* the turn ends at the closed provider and its error reply goes out: then the next */
      out = next_of (events, "integration:message_out");
    }
  g_snprintf (value, sizeof value, "p50 %.1f ms, p99 %.1f ms (%u messages)",
              samples->len > 0 ? cw_bench_percentile (samples, 50) : -1.0,
              samples->len > 0 ? cw_bench_percentile (samples, 99) : -1.0, samples->len);
  cw_bench_row ("integrations: Telegram message -> agent stream:start (long poll, ledger, route)",
                value, NULL, "p99 < 100 ms",
                samples->len == LATENCY_MESSAGES && cw_bench_percentile (samples, 99) < 100);
}

/* Outbox rows not sent yet (pending or sending), from daemon_health. */
static gint64
outbox_unsent (CwClient *c)
{
  g_autoptr (JsonNode) health = call (c, "daemon_health", NULL);
  JsonArray *plugins = json_object_get_array_member (json_node_get_object (health), "plugins");

  for (guint i = 0; i < json_array_get_length (plugins); i++)
    {
      JsonObject *p = json_array_get_object_element (plugins, i);
      JsonObject *outbox;
      if (!g_str_equal (json_object_get_string_member (p, "name"), "integrations"))
        continue;
      outbox
          = json_object_get_object_member (json_object_get_object_member (p, "details"), "outbox");
      return json_object_get_int_member (outbox, "pending")
             + json_object_get_int_member (outbox, "sending");
    }
  return -1;
}

static void
bench_burst (CwBenchDaemon *d, CwClient *c, CwClient *events, CwFakeCloud *telegram)
{
  const gchar *pid = g_subprocess_get_identifier (d->proc);
  gint64 deadline;
  guint seen = 0;
  gdouble t0, secs, answered, cpu0, cpu;
  gchar value[160];

  t0 = cw_bench_now_us ();
  cpu0 = cw_bench_cpu_ms (pid);
  for (guint i = 0; i < BURST_MESSAGES; i++)
    {
      g_autofree gchar *chat = g_strdup_printf ("%u", 10000 + i % BURST_CHATS);
      g_free (cw_fake_cloud_inject (telegram, chat, chat, "Burst", "message"));
    }
  while (seen < BURST_MESSAGES)
    {
      g_autoptr (JsonObject) ev = next_of (events, "integration:message_in");
      if (ev == NULL)
        break;
      seen++;
    }
  secs = (cw_bench_now_us () - t0) / 1e6;
  /* ...and until every reply left the outbox: the whole cost of a message */
  deadline = g_get_monotonic_time () + 120 * G_TIME_SPAN_SECOND;
  while (outbox_unsent (c) != 0 && g_get_monotonic_time () < deadline)
    g_usleep (20000);
  answered = (cw_bench_now_us () - t0) / 1e6;
  cpu = cw_bench_cpu_ms (pid) - cpu0;
  g_snprintf (value, sizeof value,
              "%.0f messages/s (%u of %d in %.1f s, all answered after %.1f s; daemon CPU %.2f "
              "ms a message)",
              seen / secs, seen, BURST_MESSAGES, secs, answered, cpu / MAX (seen, 1));
  cw_bench_row ("integrations: sustained inbound, 100 Telegram chats, each stored then routed",
                value, NULL, "> 500/s, none lost", seen == BURST_MESSAGES && seen / secs > 500);
}

static void
rss_row (const gchar *what, gint64 rss_kib, gint64 floor_kib, gint64 target_kib)
{
  g_autofree gchar *metric = g_strdup_printf ("integrations: RSS with %s connected", what);
  g_autofree gchar *target
      = g_strdup_printf ("< %lld MiB over the floor", (long long) (target_kib / 1024));
  gchar value[96], floor_value[48];

  g_snprintf (value, sizeof value, "%.1f MiB (+%.1f MiB)", rss_kib / 1024.0,
              (rss_kib - floor_kib) / 1024.0);
  g_snprintf (floor_value, sizeof floor_value, "%.1f MiB, none", floor_kib / 1024.0);
  cw_bench_row (metric, value, floor_value, target, rss_kib - floor_kib < target_kib);
}

static gboolean
installed (const gchar *program)
{
  g_autofree gchar *path = g_find_program_in_path (program);
  g_autofree gchar *sbin = g_build_filename ("/usr/sbin", program, NULL);

  return path != NULL || g_file_test (sbin, G_FILE_TEST_IS_EXECUTABLE);
}

/* IRC on ngircd, and email on dovecot and the SMTP server, each when it can run here (the
 * mailbox needs root); the metric of the RSS row says what is connected. */
static gchar *
connect_servers (CwClient *c, const gchar *dir, IrcServer **irc, MailServer **mail)
{
  g_autofree gchar *cfg = NULL;

  if (installed ("ngircd"))
    {
      *irc = irc_server_start (dir, FALSE);
      cfg = g_strdup_printf ("{\"server\":\"127.0.0.1\",\"port\":%u,\"tls\":false,"
                             "\"nick\":\"cowork\",\"channels\":[\"#cowork\"],"
                             "\"allowFrom\":[\"*\"],\"password\":null,\"username\":null,"
                             "\"denialMessage\":null}",
                             (*irc)->port);
      connect_platform (c, "irc", cfg);
    }
  if (geteuid () == 0 && installed ("dovecot")
      && g_file_test ("/usr/lib/python3/dist-packages/aiosmtpd", G_FILE_TEST_IS_DIR))
    {
      *mail = mail_server_start (CW_SMTP_SERVER);
      g_free (cfg);
      cfg = g_strdup_printf ("{\"imapHost\":\"127.0.0.1\",\"imapPort\":%u,\"smtpHost\":"
                             "\"127.0.0.1\",\"smtpPort\":%u,\"tls\":\"none\",\"tlsCaFile\":"
                             "\"%s\",\"username\":\"bot@example.test\",\"password\":"
                             "\"botpass\",\"folder\":null,\"fromAddress\":null,"
                             "\"allowFrom\":[\"*@example.org\"]}",
                             (*mail)->imap_port, (*mail)->smtp_port, (*mail)->ca_file);
      connect_platform (c, "email", cfg);
    }
  if (*irc != NULL && *mail != NULL)
    return g_strdup ("all 8 platforms (IRC on ngircd, email on dovecot and SMTP)");
  return g_strdup_printf ("%d platforms (not run here:%s%s)", 6 + (*irc != NULL) + (*mail != NULL),
                          *irc == NULL ? " IRC needs ngircd" : "",
                          *mail == NULL ? " email needs root, dovecot, python3-aiosmtpd" : "");
}

int
main (int argc, char **argv)
{
  g_autofree gchar *conf = g_strdup_printf ("[integrations]\nimport-dir=/nonexistent-import\n"
                                            "[http]\nport=0\n");
  CwBenchDaemon *d = cw_bench_daemon_start (COWORKD_PATH, conf, "--plugin-dir", AGENT_PLUGIN_DIR,
                                            "--plugin-dir", INTEGRATIONS_PLUGIN_DIR, NULL);
  g_autoptr (CwClient) c = cw_bench_daemon_connect (d);
  g_autoptr (CwClient) events = cw_bench_daemon_connect (d);
  g_autoptr (CwFakeCloud) telegram = cw_fake_cloud_new (CW_FAKE_TELEGRAM);
  g_autoptr (CwFakeCloud) slack = cw_fake_cloud_new (CW_FAKE_SLACK);
  g_autoptr (CwFakeCloud) discord = cw_fake_cloud_new (CW_FAKE_DISCORD);
  g_autoptr (CwFakeCloud) graph = cw_fake_cloud_new (CW_FAKE_GRAPH);
  g_autoptr (CwFakeCloud) bluebubbles = cw_fake_cloud_new (CW_FAKE_BLUEBUBBLES);
  g_autoptr (CwFakeCloud) whatsapp = cw_fake_cloud_new (CW_FAKE_WHATSAPP);
  g_autoptr (IrcServer) irc = NULL;
  g_autoptr (MailServer) mail = NULL;
  g_autoptr (JsonNode) config = NULL, sub = NULL;
  g_autofree gchar *provider = NULL, *cfg = NULL, *all_what = NULL;
  gint64 floor_kib, cloud_kib, all_kib;
  gchar value[48];

  cw_client_set_timeout (c, 120);
  provider = g_strdup_printf ("{\"config\":{\"activeProvider\":\"lmstudio\",\"providerBaseUrls\":"
                              "{\"lmstudio\":\"http://127.0.0.1:%u\"}}}",
                              closed_port ());
  config = call (c, "set_runtime_config", provider);
  sub = call (events, "agent_subscribe_events", NULL);
  g_usleep (500000);
  floor_kib = cw_bench_daemon_rss_kib (d);

  cfg = g_strdup_printf ("{\"botToken\":\"1:bench\",\"apiBaseUrl\":\"%s\"}",
                         cw_fake_cloud_get_url (telegram));
  connect_platform (c, "telegram", cfg);

  g_free (cfg);
  cfg = g_strdup_printf ("{\"appToken\":\"xapp-bench\",\"botToken\":\"xoxb-bench\","
                         "\"apiBaseUrl\":\"%s\"}",
                         cw_fake_cloud_get_url (slack));
  connect_platform (c, "slack", cfg);
  g_free (cfg);
  cfg = g_strdup_printf ("{\"botToken\":\"bench\",\"apiBaseUrl\":\"%s\"}",
                         cw_fake_cloud_get_url (discord));
  connect_platform (c, "discord", cfg);
  g_free (cfg);
  cfg = g_strdup_printf ("{\"tenantId\":\"t\",\"clientId\":\"c\",\"clientSecret\":\"s\","
                         "\"teamId\":\"team\",\"channelId\":\"chan\",\"apiBaseUrl\":\"%s\","
                         "\"authBaseUrl\":\"%s\"}",
                         cw_fake_cloud_get_url (graph), cw_fake_cloud_get_root (graph));
  connect_platform (c, "teams", cfg);
  g_free (cfg);
  cfg = g_strdup_printf ("{\"serverUrl\":\"%s\",\"accessToken\":\"bench\"}",
                         cw_fake_cloud_get_url (bluebubbles));
  connect_platform (c, "imessage", cfg);
  g_free (cfg);
  cfg = g_strdup_printf ("{\"phoneNumberId\":\"106540352242922\",\"accessToken\":\"bench\","
                         "\"appSecret\":\"s\",\"verifyToken\":\"v\",\"apiBaseUrl\":\"%s\"}",
                         cw_fake_cloud_get_url (whatsapp));
  connect_platform (c, "whatsapp", cfg);
  g_usleep (G_USEC_PER_SEC);
  cloud_kib = cw_bench_daemon_rss_kib (d);
  all_what = connect_servers (c, d->dir, &irc, &mail);
  g_usleep (G_USEC_PER_SEC);
  all_kib = cw_bench_daemon_rss_kib (d);
  bench_latency (c, events, telegram);
  bench_burst (d, c, events, telegram);
  g_snprintf (value, sizeof value, "%.1f MiB", floor_kib / 1024.0);
  cw_bench_row ("integrations: RSS with no platform connected", value, NULL, NULL, TRUE);
  rss_row ("the 6 cloud platforms", cloud_kib, floor_kib, 20 * 1024);
  rss_row (all_what, all_kib, floor_kib, 20 * 1024);

  g_clear_pointer (&c, cw_client_free);
  g_clear_pointer (&events, cw_client_free);
  cw_bench_daemon_stop (d);
  return 0;
}
