/* test-interactions.c: pending interactions on a real SQLite file: stored and restored with
 * the same id, answered once, answers checked per kind, expiry on a fake clock, outcomes
 * handed to an owner that was not watching when they were stored, events.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cowork-host.h"
#include "cw-test-daemon.h"

typedef struct
{
  gchar *dir;
  gchar *db;
  CwStore *store;
  CwEventBus *bus;
  CwInteractions *interactions;
  GPtrArray *resolved; /* "<id>=<status>:<answer JSON>" per owner callback */
  GPtrArray *events;   /* "<type>:<id>:<status>" */
  guint listener;
} Fixture;

static void
on_event (CwEvent *event, gpointer user_data)
{
  Fixture *f = user_data;
  JsonObject *it = json_object_get_object_member (cw_event_get_data (event), "interaction");

  g_ptr_array_add (f->events, g_strdup_printf ("%s:%s:%s", cw_event_get_type_name (event),
                                               json_object_get_string_member (it, "id"),
                                               json_object_get_string_member (it, "status")));
}

static void
open_all (Fixture *f)
{
  g_autoptr (GError) error = NULL;

  f->store = cw_store_open (f->db, &error);
  g_assert_no_error (error);
  g_assert_true (cw_core_schema_migrate (f->store, &error));
  f->bus = cw_event_bus_new (f->store, NULL, &error);
  g_assert_no_error (error);
  f->listener = cw_event_bus_add_listener (f->bus, "interaction:", on_event, f, NULL);
  f->interactions = cw_interactions_new (f->store, f->bus, &error);
  g_assert_no_error (error);
  g_assert_nonnull (f->interactions);
}

static void
close_all (Fixture *f)
{
  cw_event_bus_flush (f->bus);
  g_clear_object (&f->interactions);
  cw_event_bus_remove_listener (f->bus, f->listener);
  g_clear_object (&f->bus);
  g_clear_object (&f->store);
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  f->dir = g_dir_make_tmp ("cw-interactions-XXXXXX", NULL);
  f->db = g_build_filename (f->dir, "test.db", NULL);
  f->resolved = g_ptr_array_new_with_free_func (g_free);
  f->events = g_ptr_array_new_with_free_func (g_free);
  open_all (f);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  close_all (f);
  g_ptr_array_unref (f->resolved);
  g_ptr_array_unref (f->events);
  cw_test_rm_rf (f->dir);
  g_free (f->dir);
  g_free (f->db);
}

static void
on_resolved (CwInteraction *it, gpointer user_data)
{
  Fixture *f = user_data;
  JsonNode *answer = cw_interaction_get_answer (it);
  g_autofree gchar *text = answer != NULL ? cw_json_to_string (answer) : g_strdup ("-");
  g_autoptr (JsonObject) obj = cw_interaction_to_json (it);

  g_ptr_array_add (f->resolved,
                   g_strdup_printf ("%s=%s:%s", cw_interaction_get_id (it),
                                    json_object_get_string_member (obj, "status"), text));
}

static JsonNode *
json (const gchar *text)
{
  g_autoptr (GError) error = NULL;
  JsonNode *node = cw_json_from_string (text, -1, &error);

  g_assert_no_error (error);
  return node;
}

static CwInteraction *
ask (Fixture *f, const gchar *owner, CwInteractionKind kind, gint64 expires_at)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) payload = json ("{\"question\":\"Deploy?\"}");
  g_autoptr (JsonNode) data = json ("{\"runId\":\"run_1\"}");
  CwInteraction *it = cw_interactions_create (f->interactions, owner, kind, "sess_1",
                                              json_node_get_object (payload),
                                              json_node_get_object (data), expires_at, &error);

  g_assert_no_error (error);
  g_assert_nonnull (it);
  return it;
}

static void
respond_fails (Fixture *f, const gchar *id, const gchar *answer, CwError code, const gchar *message)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) node = answer != NULL ? json (answer) : NULL;

  g_assert_false (cw_interactions_respond (f->interactions, id, node, "socket:uid=1", &error));
  g_assert_error (error, CW_ERROR, code);
  if (message != NULL)
    g_assert_cmpstr (error->message, ==, message);
}

static void
test_persist_and_restore (Fixture *f, gconstpointer data)
{
  CwInteraction *it = ask (f, "workflow", CW_INTERACTION_APPROVAL, 0);
  g_autofree gchar *id = g_strdup (cw_interaction_get_id (it));
  gint64 created = cw_interaction_get_created_at (it);
  g_autoptr (GPtrArray) open = NULL;
  g_autoptr (GString) text = g_string_new (NULL);
  g_autoptr (JsonNode) parsed = NULL;
  JsonObject *first;

  g_assert_true (g_str_has_prefix (id, "appr_"));
  /* The payload clients see carries the id; the owner's data stays out of the wire form. */
  g_assert_cmpstr (json_object_get_string_member (cw_interaction_get_payload (it), "id"), ==, id);
  g_assert_cmpstr (g_ptr_array_index (f->events, 0), ==,
                   g_strdup_printf ("interaction:created:%s:pending", id));

  /* A new process on the same file: the same interaction, same id, same contents. */
  close_all (f);
  open_all (f);
  it = cw_interactions_lookup (f->interactions, id);
  g_assert_nonnull (it);
  g_assert_cmpint (cw_interaction_get_kind (it), ==, CW_INTERACTION_APPROVAL);
  g_assert_cmpstr (cw_interaction_get_owner (it), ==, "workflow");
  g_assert_cmpstr (cw_interaction_get_session_id (it), ==, "sess_1");
  g_assert_cmpint (cw_interaction_get_created_at (it), ==, created);
  g_assert_cmpstr (json_object_get_string_member (cw_interaction_get_payload (it), "question"), ==,
                   "Deploy?");
  g_assert_cmpstr (json_object_get_string_member (cw_interaction_get_data (it), "runId"), ==,
                   "run_1");
  open = cw_interactions_list_open (f->interactions, "workflow", CW_INTERACTION_APPROVAL);
  g_assert_cmpuint (open->len, ==, 1);
  g_clear_pointer (&open, g_ptr_array_unref);
  open = cw_interactions_list_open (f->interactions, "cron", CW_INTERACTION_APPROVAL);
  g_assert_cmpuint (open->len, ==, 0);

  cw_interactions_append_json (f->interactions, text);
  parsed = json (text->str);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (parsed)), ==, 1);
  first = json_array_get_object_element (json_node_get_array (parsed), 0);
  g_assert_cmpstr (json_object_get_string_member (first, "id"), ==, id);
  g_assert_cmpstr (json_object_get_string_member (first, "status"), ==, "pending");
  g_assert_false (json_object_has_member (first, "data"));
  g_assert_true (json_object_get_null_member (first, "expiresAt"));
}

static void
test_respond_once (Fixture *f, gconstpointer data)
{
  CwInteraction *it = ask (f, "workflow", CW_INTERACTION_APPROVAL, 0);
  g_autofree gchar *id = g_strdup (cw_interaction_get_id (it));
  g_autofree gchar *twice = g_strdup_printf ("Interaction %s was already answered", id);
  g_autofree gchar *not_running
      = g_strdup_printf ("cannot answer %s: its owner workflow is not running", id);
  g_autofree gchar *expected = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) yes = json ("{\"approved\":true,\"reason\":\"ok\"}");
  g_autoptr (JsonArray) audit = NULL;

  /* Nobody to act on an answer: refused, and nothing changes. */
  respond_fails (f, id, "{\"approved\":true}", CW_ERROR_NOT_SUPPORTED, not_running);
  cw_interactions_watch (f->interactions, "workflow", CW_INTERACTION_APPROVAL, on_resolved, f);
  respond_fails (f, id, "{\"approved\":\"yes\"}", CW_ERROR_INVALID_PARAMS, NULL);
  respond_fails (f, id, "\"allow\"", CW_ERROR_INVALID_PARAMS, NULL);
  respond_fails (f, id, NULL, CW_ERROR_INVALID_PARAMS, NULL);
  respond_fails (f, "appr_nope", "{\"approved\":true}", CW_ERROR_NOT_FOUND,
                 "Interaction not found: appr_nope");
  g_assert_cmpuint (f->resolved->len, ==, 0);

  g_assert_true (cw_interactions_respond (f->interactions, id, yes, "socket:uid=1", &error));
  g_assert_no_error (error);
  expected = g_strdup_printf ("%s=answered:{\"approved\":true,\"reason\":\"ok\"}", id);
  g_assert_cmpuint (f->resolved->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (f->resolved, 0), ==, expected);
  g_assert_cmpstr (g_ptr_array_index (f->events, 1), ==,
                   g_strdup_printf ("interaction:resolved:%s:answered", id));
  g_assert_null (cw_interactions_lookup (f->interactions, id));

  /* Twice: a clear error, also after a restart, and the owner is not told again. */
  respond_fails (f, id, "{\"approved\":false}", CW_ERROR_EXISTS, twice);
  close_all (f);
  open_all (f);
  cw_interactions_watch (f->interactions, "workflow", CW_INTERACTION_APPROVAL, on_resolved, f);
  respond_fails (f, id, "{\"approved\":false}", CW_ERROR_EXISTS, twice);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_assert_cmpuint (f->resolved->len, ==, 1);

  /* The answer and who gave it are on record. */
  audit = cw_audit_list (f->store, 10, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (
      json_object_get_string_member (json_array_get_object_element (audit, 0), "action"), ==,
      "interaction.resolve");
  g_assert_cmpstr (
      json_object_get_string_member (json_array_get_object_element (audit, 0), "actor"), ==,
      "socket:uid=1");
}

static void
test_answers_per_kind (Fixture *f, gconstpointer data)
{
  static const struct
  {
    CwInteractionKind kind;
    const gchar *good;
    const gchar *bad;
  } cases[] = {
    { CW_INTERACTION_PERMISSION, "\"allow_session\"", "\"yes\"" },
    { CW_INTERACTION_PERMISSION, "\"deny\"", "[\"deny\"]" },
    { CW_INTERACTION_QUESTION, "\"blue\"", "42" },
    { CW_INTERACTION_QUESTION, "[\"a\",\"b\"]", "[\"a\",1]" },
    { CW_INTERACTION_APPROVAL, "{\"approved\":false}", "{\"approved\":true,\"extra\":1}" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (JsonNode) good = json (cases[i].good);
      CwInteraction *it = ask (f, "agent", cases[i].kind, 0);
      g_autofree gchar *id = g_strdup (cw_interaction_get_id (it));

      cw_interactions_watch (f->interactions, "agent", cases[i].kind, on_resolved, f);
      respond_fails (f, id, cases[i].bad, CW_ERROR_INVALID_PARAMS, NULL);
      g_assert_true (cw_interactions_respond (f->interactions, id, good, "plugin:agent", &error));
      g_assert_no_error (error);
    }
  g_assert_cmpuint (f->resolved->len, ==, G_N_ELEMENTS (cases));
}

static void
test_expiry_fake_clock (Fixture *f, gconstpointer data)
{
  gint64 now = cw_now_ms ();
  CwInteraction *soon = ask (f, "cron", CW_INTERACTION_PERMISSION, now + 60000);
  CwInteraction *later = ask (f, "cron", CW_INTERACTION_PERMISSION, now + 3600000);
  CwInteraction *never = ask (f, "cron", CW_INTERACTION_PERMISSION, 0);
  g_autofree gchar *soon_id = g_strdup (cw_interaction_get_id (soon));
  g_autofree gchar *later_id = g_strdup (cw_interaction_get_id (later));
  g_autofree gchar *never_id = g_strdup (cw_interaction_get_id (never));
  g_autofree gchar *expected = g_strdup_printf ("%s=expired:-", soon_id);
  g_autofree gchar *twice = g_strdup_printf ("Interaction %s was already expired", soon_id);
  g_autoptr (GPtrArray) pending = NULL;

  cw_interactions_watch (f->interactions, "cron", CW_INTERACTION_PERMISSION, on_resolved, f);
  g_assert_cmpuint (cw_interactions_expire_due (f->interactions, now + 59999), ==, 0);
  g_assert_cmpuint (f->resolved->len, ==, 0);
  g_assert_cmpuint (cw_interactions_expire_due (f->interactions, now + 60000), ==, 1);
  g_assert_cmpuint (f->resolved->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (f->resolved, 0), ==, expected);
  respond_fails (f, soon_id, "\"allow\"", CW_ERROR_EXISTS, twice);

  /* A week later the hour-long one is gone too; one without an expiry never goes. */
  g_assert_cmpuint (cw_interactions_expire_due (f->interactions, now + 7 * 86400000LL), ==, 1);
  pending = cw_interactions_list (f->interactions, NULL, NULL);
  g_assert_cmpuint (pending->len, ==, 1);
  g_assert_cmpstr (cw_interaction_get_id (g_ptr_array_index (pending, 0)), ==, never_id);
  g_assert_cmpstr (g_ptr_array_index (f->resolved, 1), ==,
                   g_strdup_printf ("%s=expired:-", later_id));
}

static void
test_delivery_after_restart (Fixture *f, gconstpointer data)
{
  gint64 now = cw_now_ms ();
  CwInteraction *it = ask (f, "cron", CW_INTERACTION_QUESTION, now + 1000);
  g_autofree gchar *id = g_strdup (cw_interaction_get_id (it));
  g_autoptr (GPtrArray) open = NULL;

  /* Expired while its owner was not watching (as if the daemon died before telling it). */
  g_assert_cmpuint (cw_interactions_expire_due (f->interactions, now + 1000), ==, 1);
  g_assert_cmpuint (f->resolved->len, ==, 0);
  close_all (f);
  open_all (f);
  open = cw_interactions_list_open (f->interactions, "cron", CW_INTERACTION_QUESTION);
  g_assert_cmpuint (open->len, ==, 1);
  g_assert_cmpint (cw_interaction_get_state (g_ptr_array_index (open, 0)), ==,
                   CW_INTERACTION_EXPIRED);
  /* Not shown as pending to clients any more. */
  g_clear_pointer (&open, g_ptr_array_unref);
  open = cw_interactions_list (f->interactions, NULL, NULL);
  g_assert_cmpuint (open->len, ==, 0);

  /* The owner watches again: told once, from an idle callback. */
  cw_interactions_watch (f->interactions, "cron", CW_INTERACTION_QUESTION, on_resolved, f);
  g_assert_cmpuint (f->resolved->len, ==, 0);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_assert_cmpuint (f->resolved->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (f->resolved, 0), ==, g_strdup_printf ("%s=expired:-", id));
  close_all (f);
  open_all (f);
  g_clear_pointer (&open, g_ptr_array_unref);
  open = cw_interactions_list_open (f->interactions, "cron", CW_INTERACTION_QUESTION);
  g_assert_cmpuint (open->len, ==, 0);
}

static void
test_bad_create (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) payload = json ("{}");

  g_assert_null (cw_interactions_create (f->interactions, "agent", (CwInteractionKind) 7, NULL,
                                         json_node_get_object (payload), NULL, 0, &error));
  g_assert_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS);
  g_clear_error (&error);
  g_assert_null (cw_interactions_create (f->interactions, "agent", CW_INTERACTION_QUESTION, NULL,
                                         NULL, NULL, 0, &error));
  g_assert_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS);
  g_assert_cmpuint (f->events->len, ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(path, func)                                                                            \
  g_test_add ("/cowork/interactions/" path, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("persist-and-restore", test_persist_and_restore);
  ADD ("respond-once", test_respond_once);
  ADD ("answers-per-kind", test_answers_per_kind);
  ADD ("expiry-fake-clock", test_expiry_fake_clock);
  ADD ("delivery-after-restart", test_delivery_after_restart);
  ADD ("bad-create", test_bad_create);
#undef ADD
  return g_test_run ();
}
