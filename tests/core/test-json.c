/* test-json.c: the JSON text helpers behind the socket's fast paths.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <cowork.h>

static void
test_append_string_round_trips (void)
{
  static const gchar *const samples[] = {
    "plain",
    "",
    "quote \" and backslash \\",
    "new\nline\ttab\rcr",
    "\x01\x1f control",
    "utf-8: é ✓ 😀",
    "</script>",
  };

  for (guint i = 0; i < G_N_ELEMENTS (samples); i++)
    {
      g_autoptr (GString) text = g_string_new (NULL);
      g_autoptr (JsonNode) node = NULL;
      g_autoptr (GError) error = NULL;

      cw_json_append_string (text, samples[i]);
      node = cw_json_from_string (text->str, -1, &error);
      g_assert_no_error (error);
      g_assert_cmpstr (json_node_get_string (node), ==, samples[i]);
    }
}

static void
test_append_object (void)
{
  g_autoptr (JsonObject) obj = json_object_new ();
  g_autoptr (GString) text = g_string_new ("[");
  g_autoptr (JsonNode) node = NULL;

  json_object_set_string_member (obj, "k", "v\"");
  json_object_set_int_member (obj, "n", 42);
  cw_json_append_object (text, obj);
  g_string_append (text, "]");
  node = cw_json_from_string (text->str, -1, NULL);
  g_assert_nonnull (node);
  g_assert_cmpint (json_object_get_int_member (
                       json_array_get_object_element (json_node_get_array (node), 0), "n"),
                   ==, 42);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cowork/json/append-string-round-trips", test_append_string_round_trips);
  g_test_add_func ("/cowork/json/append-object", test_append_object);
  return g_test_run ();
}
