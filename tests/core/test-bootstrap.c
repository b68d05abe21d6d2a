/* test-bootstrap.c: bootstrap members contributed by owners: names checked and owned, text
 * that does not parse sent as null, everything of an owner gone when it is removed.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cowork-host.h"
#include "cw-test-daemon.h"

typedef CwTestContextFixture Fixture;

static void
append_literal (GString *out, gpointer text)
{
  g_string_append (out, text);
}

static guint
two_sessions (GString *sessions, GString *runtime, gpointer user_data)
{
  if (sessions != NULL)
    g_string_append (sessions, "{\"id\":\"a\"},{\"id\":\"b\"}");
  if (runtime != NULL)
    g_string_append (runtime, "\"a\":{},\"b\":{}");
  return 2;
}

/* The members as the bootstrap state holds them: `{<members>}` parsed. */
static JsonObject *
members (Fixture *f)
{
  g_autoptr (GString) out = g_string_new ("{\"first\":0");
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) node = NULL;

  cw_context_append_bootstrap_members (f->context, out);
  g_string_append_c (out, '}');
  node = cw_json_from_string (out->str, -1, &error);
  g_assert_no_error (error);
  return json_object_ref (json_node_get_object (node));
}

static void
add_fails (Fixture *f, const gchar *owner, const gchar *name, CwError code)
{
  g_autoptr (GError) error = NULL;

  g_assert_false (cw_context_add_bootstrap_member (f->context, owner, name, append_literal,
                                                   (gpointer) "1", &error));
  g_assert_error (error, CW_ERROR, code);
}

static void
test_members (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) got = NULL;
  JsonObject *cron;

  g_assert_true (cw_context_add_bootstrap_member (f->context, "cron", "cron", append_literal,
                                                  (gpointer) "{\"jobs\":3,\"next\":null}", &error));
  g_assert_true (cw_context_add_bootstrap_member (f->context, "workflow", "workflowRuns",
                                                  append_literal, (gpointer) "[]", &error));
  g_assert_no_error (error);
  add_fails (f, "workflow", "cron", CW_ERROR_EXISTS);
  add_fails (f, "cron", "sessions", CW_ERROR_EXISTS);
  add_fails (f, "cron", "eventCursor", CW_ERROR_EXISTS);
  add_fails (f, "cron", "", CW_ERROR_INVALID_PARAMS);
  add_fails (f, "cron", "9lives", CW_ERROR_INVALID_PARAMS);
  add_fails (f, "cron", "a\"b", CW_ERROR_INVALID_PARAMS);

  got = members (f);
  g_assert_cmpuint (json_object_get_size (got), ==, 3);
  cron = json_object_get_object_member (got, "cron");
  g_assert_cmpint (json_object_get_int_member (cron, "jobs"), ==, 3);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (got, "workflowRuns")), ==,
                    0);
}

static void
test_bad_text_is_null (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) got = NULL;

  cw_test_count_warnings ("is not one JSON value");
  g_assert_true (cw_context_add_bootstrap_member (f->context, "broken", "broken", append_literal,
                                                  (gpointer) "{\"unclosed\":", &error));
  g_assert_true (cw_context_add_bootstrap_member (f->context, "broken", "twoValues", append_literal,
                                                  (gpointer) "1 2", &error));
  g_assert_true (cw_context_add_bootstrap_member (f->context, "broken", "nothing", append_literal,
                                                  (gpointer) "", &error));
  g_assert_true (cw_context_add_bootstrap_member (f->context, "good", "good", append_literal,
                                                  (gpointer) "true", &error));
  got = members (f);
  g_assert_true (json_object_get_null_member (got, "broken"));
  g_assert_true (json_object_get_null_member (got, "twoValues"));
  g_assert_true (json_object_get_null_member (got, "nothing"));
  g_assert_true (json_object_get_boolean_member (got, "good"));
  g_assert_cmpuint (cw_test_counted_warnings (), ==, 3);
}

static void
test_remove_owner (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) got = NULL;
  g_autoptr (GString) sessions = g_string_new (NULL);

  cw_context_add_bootstrap_contributor (f->context, "chat", two_sessions, NULL);
  g_assert_true (cw_context_add_bootstrap_member (f->context, "chat", "chatStatus", append_literal,
                                                  (gpointer) "1", &error));
  g_assert_true (cw_context_add_bootstrap_member (f->context, "cron", "cron", append_literal,
                                                  (gpointer) "2", &error));
  g_assert_cmpuint (cw_context_count_sessions (f->context), ==, 2);

  cw_context_remove_owner (f->context, "chat");
  g_assert_cmpuint (cw_context_count_sessions (f->context), ==, 0);
  g_assert_cmpuint (cw_context_bootstrap_text (f->context, sessions, NULL), ==, 0);
  g_assert_cmpstr (sessions->str, ==, "");
  got = members (f);
  g_assert_false (json_object_has_member (got, "chatStatus"));
  g_assert_cmpint (json_object_get_int_member (got, "cron"), ==, 2);
  /* The name is free again for whoever comes next. */
  g_assert_true (cw_context_add_bootstrap_member (f->context, "chat2", "chatStatus", append_literal,
                                                  (gpointer) "3", &error));
  g_assert_no_error (error);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(path, func)                                                                            \
  g_test_add ("/cowork/bootstrap/" path, Fixture, NULL, cw_test_context_setup, func,               \
              cw_test_context_teardown)
  ADD ("members", test_members);
  ADD ("bad-text-is-null", test_bad_text_is_null);
  ADD ("remove-owner", test_remove_owner);
#undef ADD
  return g_test_run ();
}
