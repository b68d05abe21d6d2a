/* test-workflow-expr.c: the expression language, paths and templates against a table,
 * hostile input included: nothing is evaluated as code, limits hold, errors are errors.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-workflow-plugin.h"

#include <string.h>

static JsonObject *
context (void)
{
  return cw_wf_parse_object (
      "{\"run\":{\"id\":\"run_1\",\"input\":{\"mode\":\"fast\",\"n\":5,\"items\":[\"a\",\"b\"],"
      "\"flag\":true,\"empty\":\"\",\"zero\":0,\"obj\":{},\"quote\":\"it's\"}},"
      "\"nodes\":{\"check\":{\"result\":true,\"text\":\"all good\"},"
      "\"count\":{\"value\":\"12\"}},\"current\":{\"ok\":false}}");
}

typedef struct
{
  const gchar *expression;
  gint expected; /* 1 true, 0 false, -1 error */
} Case;

static const Case cases[] = {
  /* paths and truthiness (contract §2.6) */
  { "run.input.flag", 1 },
  { "run.input.empty", 0 },
  { "run.input.zero", 0 },
  { "run.input.obj", 0 },
  { "run.input.missing", 0 },
  { "run.input.items[1]", 1 },
  { "run.input.items[7]", 0 },
  { "nodes.check.result", 1 },
  { "{{ nodes.check.result }}", 1 },
  /* the original's functions */
  { "not(run.input.flag)", 0 },
  { "not(current.ok)", 1 },
  { "eq({{run.input.mode}}, fast)", 1 },
  { "eq(run.input.mode, slow)", 0 },
  { "eq(run.input.n, 5)", 1 },
  { "contains(nodes.check.text, good)", 1 },
  { "contains(nodes.check.text, 'bad')", 0 },
  { "contains(run.input.items, b)", 1 },
  { "exists(run.input.mode)", 1 },
  { "exists(run.input.nope)", 0 },
  { "len(run.input.items) == 2", 1 },
  /* comparisons and boolean operators */
  { "run.input.n > 3", 1 },
  { "run.input.n >= 5 && run.input.n < 6", 1 },
  { "run.input.n != 5", 0 },
  { "nodes.count.value == 12", 1 },
  { "nodes.count.value > 9", 1 },
  { "run.input.mode == 'fast'", 1 },
  { "run.input.mode == \"slow\" || run.input.flag", 1 },
  { "!run.input.flag or run.input.zero", 0 },
  { "not run.input.flag", 0 },
  { "(run.input.n > 1) and (run.input.mode == 'fast')", 1 },
  { "run.input.quote == \"it's\"", 1 },
  { "true && !false", 1 },
  { "null == run.input.missing", 1 },
  { "-3 < 2", 1 },
  /* errors: parsed, never guessed */
  { "", -1 },
  { "   ", -1 },
  { "run.input.n >", -1 },
  { "(run.input.n", -1 },
  { "run.input.n)", -1 },
  { "'unterminated", -1 },
  { "eq(a)", -1 },
  { "system('rm -rf /')", -1 },
  { "process.exit(1)", -1 },
  { "require('fs')", -1 },
  { "a = 1", -1 },
  { "a; b", -1 },
  { "{{ broken", -1 },
  { "run.input.n >> 2", -1 },
  { "`whoami`", -1 },
  { "$(id)", -1 },
  /* things that look like code are just names that are not there */
  { "constructor", 0 },
  { "__proto__.polluted", 0 },
  { "this", 0 },
};

static void
test_table (void)
{
  g_autoptr (JsonObject) ctx = context ();

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      gboolean result = FALSE;
      gboolean ok = cw_wf_expr_eval (cases[i].expression, ctx, &result, &error);

      if (cases[i].expected < 0)
        {
          if (ok)
            g_error ("\"%s\" parsed, it should not", cases[i].expression);
          g_assert_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS);
          g_assert_true (g_str_has_prefix (error->message, "expression:"));
        }
      else
        {
          if (!ok)
            g_error ("\"%s\": %s", cases[i].expression, error->message);
          if (result != (cases[i].expected == 1))
            g_error ("\"%s\" gave %d", cases[i].expression, result);
        }
    }
}

static void
test_limits (void)
{
  g_autoptr (JsonObject) ctx = context ();
  g_autoptr (GString) deep = g_string_new (NULL);
  g_autoptr (GString) wide = g_string_new (NULL);
  g_autoptr (GString) fine = g_string_new (NULL);
  g_autofree gchar *huge = g_strnfill (5000, 'a');
  g_autoptr (GError) error = NULL;
  gboolean result;

  /* nesting deeper than the bound is refused, not a stack overflow */
  for (guint i = 0; i < 10000; i++)
    g_string_append_c (deep, '(');
  g_string_append (deep, "true");
  for (guint i = 0; i < 10000; i++)
    g_string_append_c (deep, ')');
  g_assert_false (cw_wf_expr_eval (deep->str, ctx, &result, &error));
  g_assert_nonnull (strstr (error->message, "longer than"));
  g_clear_error (&error);
  g_string_truncate (deep, 0);
  for (guint i = 0; i < 200; i++)
    g_string_append (deep, "!(");
  g_string_append (deep, "true");
  for (guint i = 0; i < 200; i++)
    g_string_append_c (deep, ')');
  g_assert_false (cw_wf_expr_eval (deep->str, ctx, &result, &error));
  g_assert_nonnull (strstr (error->message, "nested deeper"));
  g_clear_error (&error);
  /* too many tokens */
  for (guint i = 0; i < 1200; i++)
    g_string_append (wide, i == 0 ? "1" : "&&1");
  g_assert_false (cw_wf_expr_eval (wide->str, ctx, &result, &error));
  g_clear_error (&error);
  /* a long flat chain within the limits is fine (depth does not grow with width) */
  for (guint i = 0; i < 100; i++)
    g_string_append (fine, i == 0 ? "!false" : " && !false");
  g_assert_true (cw_wf_expr_eval (fine->str, ctx, &result, &error));
  g_assert_no_error (error);
  g_assert_true (result);
  g_assert_false (cw_wf_expr_eval (huge, ctx, &result, &error));
  g_clear_error (&error);
  /* bytes that are not UTF-8 */
  g_assert_false (cw_wf_expr_eval ("run.input.n == \xff\xfe", ctx, &result, &error));
  g_clear_error (&error);
}

static void
test_templates (void)
{
  g_autoptr (JsonObject) ctx = context ();
  g_autoptr (GPtrArray) missing = g_ptr_array_new_with_free_func (g_free);
  g_autofree gchar *text
      = cw_wf_render_string ("mode={{ run.input.mode }} n={{run.input.n}} items={{run.input.items}}"
                             " gone=[{{ run.input.gone }}] {{ not a path }}",
                             ctx, missing);
  g_autoptr (JsonNode) config
      = cw_wf_parse ("{\"a\":[\"{{run.id}}\",{\"b\":\"x{{nodes.check.text}}\"}],\"n\":3}");
  g_autoptr (JsonNode) rendered = cw_wf_render (config, ctx, missing);
  g_autofree gchar *json = cw_json_to_string (rendered);

  g_assert_cmpstr (text, ==, "mode=fast n=5 items=[\"a\",\"b\"] gone=[] {{ not a path }}");
  g_assert_cmpuint (missing->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (missing, 0), ==, "run.input.gone");
  g_assert_cmpstr (json, ==, "{\"a\":[\"run_1\",{\"b\":\"xall good\"}],\"n\":3}");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/workflow/expr/table", test_table);
  g_test_add_func ("/workflow/expr/limits", test_limits);
  g_test_add_func ("/workflow/expr/templates", test_templates);
  return g_test_run ();
}
