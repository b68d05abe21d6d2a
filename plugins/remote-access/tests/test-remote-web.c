/* test-remote-web.c: the web client served at / in Debian's headless Chromium, driven over
 * the DevTools protocol: it pairs with the pairing link, lists the sessions, follows one,
 * sends a message whose turn the fake LLM streams, answers the permission it asks with
 * Allow and a question with a typed answer. The daemon then shows the answers came from the
 * paired device.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-remote-test.h"

#include <signal.h>
#include <string.h>

#define WRITE_TOOL_SCRIPT                                                                          \
  "{\"responses\":["                                                                               \
  "{\"events\":[{\"toolCall\":{\"id\":\"call_1\",\"name\":"                                        \
  "\"write_file\",\"args\":{\"path\":\"../out.txt\",\"content\":\"hi there\"}}}],"                 \
  "\"stopReason\":\"tool_use\"},"                                                                  \
  "{\"events\":[{\"text\":\"The file \"},{\"delayMs\":100},{\"text\":\"is \"},{\"delayMs\":100},"  \
  "{\"text\":\"written.\"}],\"stopReason\":\"end_turn\"},"                                         \
  "{\"events\":[{\"toolCall\":{\"id\":\"c2\",\"name\":\"ask_user\","                               \
  "\"args\":{\"question\":\"Proceed?\"}}}],\"stopReason\":\"tool_use\"},"                          \
  "{\"events\":[{\"text\":\"Proceeding.\"}],\"stopReason\":\"end_turn\"}]}"

typedef struct
{
  GSubprocess *proc;
  gchar *profile;
  RemoteWs *ws;
  gint next_id;
} Browser;

static void
browser_free (Browser *b)
{
  g_clear_pointer (&b->ws, remote_ws_free);
  if (b->proc != NULL)
    {
      g_subprocess_send_signal (b->proc, SIGTERM);
      g_subprocess_wait (b->proc, NULL, NULL);
      g_clear_object (&b->proc);
    }
  if (b->profile != NULL)
    cw_test_rm_rf (b->profile);
  g_free (b->profile);
  g_free (b);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Browser, browser_free)

static gchar *
find_chromium (void)
{
  gchar *path = g_find_program_in_path ("chromium");

  return path != NULL ? path : g_find_program_in_path ("chromium-browser");
}

/* The page target's DevTools WebSocket: ws://127.0.0.1:PORT/devtools/page/ID. */
static gchar *
page_target (guint port)
{
  g_autofree gchar *url = g_strdup_printf ("http://127.0.0.1:%u/json/list", port);
  g_autoptr (SoupSession) session = soup_session_new ();
  gint64 deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;

  for (;;)
    {
      g_autoptr (SoupMessage) msg = soup_message_new ("GET", url);
      g_autoptr (GBytes) body = soup_session_send_and_read (session, msg, NULL, NULL);
      g_autoptr (JsonNode) node = body != NULL ? cw_json_from_string (g_bytes_get_data (body, NULL),
                                                                      g_bytes_get_size (body), NULL)
                                               : NULL;
      if (node != NULL && JSON_NODE_HOLDS_ARRAY (node))
        {
          JsonArray *targets = json_node_get_array (node);
          for (guint i = 0; i < json_array_get_length (targets); i++)
            {
              JsonObject *t = json_array_get_object_element (targets, i);
              if (g_strcmp0 (json_object_get_string_member (t, "type"), "page") == 0)
                {
                  const gchar *ws = json_object_get_string_member (t, "webSocketDebuggerUrl");
                  g_assert_true (g_str_has_prefix (ws, "ws://"));
                  return g_strdup (ws);
                }
            }
        }
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (100000);
    }
}

static Browser *
browser_start (const gchar *chromium)
{
  Browser *b = g_new0 (Browser, 1);
  g_autofree gchar *data_dir = NULL, *port_file = NULL, *target = NULL, *text = NULL;
  g_autoptr (GError) error = NULL;
  gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
  guint port;

  b->profile = g_dir_make_tmp ("cw-chromium-XXXXXX", &error);
  g_assert_no_error (error);
  data_dir = g_strconcat ("--user-data-dir=", b->profile, NULL);
  b->proc = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_SILENCE,
                              &error, chromium, "--headless=new", "--no-sandbox", "--disable-gpu",
                              "--no-first-run", "--no-default-browser-check",
                              "--disable-extensions", "--disable-dev-shm-usage",
                              "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
                              "--window-size=390,844", data_dir, "about:blank", NULL);
  g_assert_no_error (error);
  port_file = g_build_filename (b->profile, "DevToolsActivePort", NULL);
  while (!g_file_get_contents (port_file, &text, NULL, NULL) || strchr (text, '\n') == NULL)
    {
      g_clear_pointer (&text, g_free);
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (100000);
    }
  port = (guint) g_ascii_strtoull (text, NULL, 10);
  g_assert_cmpuint (port, >, 0);
  target = page_target (port);
  b->ws = remote_ws_open_url (target, NULL);
  g_assert_nonnull (b->ws->conn);
  return b;
}

static JsonObject *
cdp (Browser *b, const gchar *method, JsonObject *params)
{
  g_autoptr (JsonNode) node = json_node_new (JSON_NODE_OBJECT);
  JsonObject *msg = json_object_new ();
  g_autofree gchar *text = NULL;
  gint id = ++b->next_id;

  json_object_set_int_member (msg, "id", id);
  json_object_set_string_member (msg, "method", method);
  json_object_set_object_member (msg, "params", params != NULL ? params : json_object_new ());
  json_node_take_object (node, msg);
  text = cw_json_to_string (node);
  remote_ws_send (b->ws, text);
  for (;;)
    {
      JsonObject *reply = remote_ws_next (b->ws, 30000);
      if (json_object_has_member (reply, "id") && json_object_get_int_member (reply, "id") == id)
        {
          g_assert_false (json_object_has_member (reply, "error"));
          return reply;
        }
      json_object_unref (reply);
    }
}

/* Evaluates @expression in the page (promises awaited); returns its value. */
static JsonNode *
eval (Browser *b, const gchar *expression)
{
  JsonObject *params = json_object_new ();
  g_autoptr (JsonObject) reply = NULL;
  JsonObject *result;

  json_object_set_string_member (params, "expression", expression);
  json_object_set_boolean_member (params, "awaitPromise", TRUE);
  json_object_set_boolean_member (params, "returnByValue", TRUE);
  reply = cdp (b, "Runtime.evaluate", params);
  result
      = json_object_get_object_member (json_object_get_object_member (reply, "result"), "result");
  return json_node_copy (json_object_get_member (result, "value") != NULL
                             ? json_object_get_member (result, "value")
                             : json_object_get_member (result, "type"));
}

static void
wait_for (Browser *b, const gchar *expression, const gchar *what)
{
  gint64 deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;

  for (;;)
    {
      g_autoptr (JsonNode) v = eval (b, expression);
      if (JSON_NODE_HOLDS_VALUE (v) && json_node_get_value_type (v) == G_TYPE_BOOLEAN
          && json_node_get_boolean (v))
        return;
      if (g_get_monotonic_time () > deadline)
        {
          g_autoptr (JsonNode) page = eval (b, "document.body.innerText");
          g_error ("the page never showed %s; it shows:\n%s", what,
                   JSON_NODE_HOLDS_VALUE (page) ? json_node_get_string (page) : "?");
        }
      remote_ws_pump (b->ws, 100);
    }
}

static gchar *
js_string (const gchar *text)
{
  g_autoptr (JsonNode) node = json_node_init_string (json_node_alloc (), text);

  return cw_json_to_string (node);
}

static void
test_web_client (void)
{
  g_autofree gchar *chromium = find_chromium ();
  g_autoptr (AgentTurn) t = NULL;
  g_autoptr (Browser) b = NULL;
  g_autoptr (JsonObject) qr = NULL, nav = NULL, resolved = NULL;
  g_autofree gchar *base = NULL, *uri = NULL, *js = NULL, *path = NULL, *contents = NULL;
  g_autofree gchar *actor = NULL;
  g_autoptr (GPtrArray) calls = NULL;
  g_autoptr (JsonNode) r1 = NULL, r2 = NULL, r3 = NULL, r4 = NULL, r3b = NULL, r4b = NULL;
  gboolean answered = FALSE;

  if (chromium == NULL)
    {
      /* CI installs chromium (build-aux/debian-packages.txt): missing it is a failure. */
      g_test_fail_printf ("chromium is not installed");
      return;
    }
  t = agent_turn_new (WRITE_TOOL_SCRIPT);
  if (t == NULL)
    return;
  base = remote_enable (t->f);
  qr = remote_call (t->f, "remote_access_generate_qr", NULL);
  uri = js_string (json_object_get_string_member (qr, "pairingUri"));

  b = browser_start (chromium);
  {
    JsonObject *params = json_object_new ();
    g_autofree gchar *url = g_strconcat (base, "/", NULL);
    json_object_set_string_member (params, "url", url);
    nav = cdp (b, "Page.navigate", params);
  }
  wait_for (b, "document.readyState === 'complete' && !document.getElementById('pair').hidden",
            "the pairing form");

  /* The desktop's QR code is a PNG the browser decodes, 280 px wide. */
  {
    g_autofree gchar *img = js_string (json_object_get_string_member (qr, "qrDataUrl"));
    g_autofree gchar *load = g_strdup_printf (
        "new Promise((resolve) => { const i = new Image();"
        " i.onload = () => resolve(i.naturalWidth === 280 && i.naturalHeight === 280);"
        " i.onerror = () => resolve(false); i.src = %s; })",
        img);
    g_autoptr (JsonNode) ok = eval (b, load);
    g_assert_true (json_node_get_boolean (ok));
  }

  /* Pair with the link, as pasted from `coworkctl remote pair`. */
  js = g_strdup_printf ("document.getElementById('pair-code').value = %s;"
                        "document.getElementById('pair-name').value = 'Headless phone';"
                        "document.getElementById('pair-form').requestSubmit(); true",
                        uri);
  r1 = eval (b, js);
  g_clear_pointer (&js, g_free);
  js = g_strdup_printf ("!!document.querySelector('li.session[data-id=\"%s\"]')", t->session);
  wait_for (b, js, "the session in the list");
  wait_for (b, "document.getElementById('status').textContent === 'connected'",
            "a connected WebSocket");

  /* Follow the session and send a message from the page. */
  g_clear_pointer (&js, g_free);
  js = g_strdup_printf ("document.querySelector('li.session[data-id=\"%s\"]').click(); true",
                        t->session);
  r2 = eval (b, js);
  wait_for (b, "!document.getElementById('chat').hidden", "the chat view");
  r3 = eval (b, "document.getElementById('message').value = 'Write the file';"
                "document.getElementById('send-form').requestSubmit(); true");
  wait_for (b, "document.getElementById('timeline').innerText.includes('Write the file')",
            "the user's message");

  /* The tool asks for permission: Allow. */
  wait_for (b, "!!document.querySelector('[data-decision=\"allow_once\"]')",
            "the permission's Allow button");
  r4 = eval (b, "document.querySelector('[data-decision=\"allow_once\"]').click(); true");

  /* The turn goes on and its streamed answer shows. */
  wait_for (b, "document.getElementById('timeline').innerText.includes('The file is written.')",
            "the streamed answer");
  wait_for (b, "!document.querySelector('[data-ask]')", "the permission gone");
  /* A question: typed answer. */
  r3b = eval (b, "document.getElementById('message').value = 'Ask me';"
                 "document.getElementById('send-form').requestSubmit(); true");
  wait_for (b, "document.getElementById('asks').innerText.includes('Proceed?')", "the question");
  r4b = eval (b, "document.querySelector('[data-ask] input.answer').value = 'yes';"
                 "document.querySelector('[data-answer=\"custom\"]').click(); true");
  wait_for (b, "document.getElementById('timeline').innerText.includes('Proceeding.')",
            "the answer to the question");
  wait_for (b, "!document.querySelector('[data-ask]')", "the question gone");

  path = g_build_filename (t->f->daemon->dir, "out.txt", NULL);
  g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
  g_assert_cmpstr (contents, ==, "hi there");

  /* The answer came from the paired device. */
  {
    g_autoptr (JsonObject) devices = remote_call (t->f, "remote_access_list_devices", NULL);
    JsonObject *d
        = json_array_get_object_element (json_object_get_array_member (devices, "devices"), 0);
    g_assert_cmpstr (json_object_get_string_member (d, "name"), ==, "Headless phone");
    g_assert_cmpstr (json_object_get_string_member (d, "platform"), ==, "web");
    actor = g_strdup_printf ("remote:%s", json_object_get_string_member (d, "id"));
  }
  calls = remote_audit (t->f, "remote-access.call");
  for (guint i = 0; i < calls->len; i++)
    {
      JsonObject *e = g_ptr_array_index (calls, i);
      JsonObject *d = json_object_get_object_member (e, "details");
      if (g_strcmp0 (json_object_get_string_member (d, "command"), "respond_permission") == 0)
        {
          g_assert_cmpstr (json_object_get_string_member (e, "actor"), ==, actor);
          g_assert_true (json_object_get_boolean_member (d, "ok"));
          answered = TRUE;
        }
    }
  g_assert_true (answered);
  {
    g_autoptr (GPtrArray) again = remote_audit (t->f, "remote-access.call");
    gboolean question = FALSE;
    for (guint i = 0; i < again->len; i++)
      {
        JsonObject *d = json_object_get_object_member (g_ptr_array_index (again, i), "details");
        if (g_strcmp0 (json_object_get_string_member (d, "command"), "respond_question") == 0)
          question = json_object_get_boolean_member (d, "ok");
      }
    g_assert_true (question);
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/remote-access/web/pair-follow-allow-answer", test_web_client);
  return g_test_run ();
}
