/* cw-workflow-expr.c: paths, templates and the expression language of conditions, custom
 * edges and loops (contract §2.6).
 *
 * Paths are dotted names with [n] indexes (`nodes.check.result`, `run.input.items[0]`).
 * Templates replace `{{ path }}` with the value at the path (strings as they are, other
 * values as JSON, missing or null ones as "" and reported in missingPaths).
 *
 * Expressions are tokenised and parsed by recursive descent and evaluated over JSON values;
 * nothing is ever run as code. Grammar:
 *
 *   expr    := or
 *   or      := and (("||" | "or") and)*
 *   and     := unary (("&&" | "and") unary)*
 *   unary   := ("!" | "not") unary | compare
 *   compare := primary (("==" | "!=" | "<" | "<=" | ">" | ">=") primary)?
 *   primary := number | 'string' | "string" | true | false | null | path | {{ path }}
 *            | name "(" [expr ("," expr)*] ")" | "(" expr ")"
 *
 * Functions: not(x), eq(a,b) (equal as text, as the original compared rendered templates),
 * contains(a,b) (substring, or an element of an array), exists(x), len(x). Inside eq() and
 * contains() a bare word that names no value is the word itself (`eq({{run.input.mode}},
 * fast)`), as in the original. Limits: 4096 characters, 1024 tokens, nesting depth 32.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-workflow-plugin.h"

#include <math.h>
#include <string.h>

#define MAX_LENGTH 4096
#define MAX_TOKENS 1024
#define MAX_DEPTH  32

/* ---- paths ----------------------------------------------------------------------------- */

static gboolean
is_path_char (gchar c)
{
  return g_ascii_isalnum (c) || c == '_' || c == '.' || c == '[' || c == ']' || c == '-';
}

JsonNode *
cw_wf_path_lookup (JsonObject *context, const gchar *path)
{
  JsonNode *cur = NULL;
  JsonObject *obj = context;
  const gchar *p = path;

  if (path == NULL || *path == '\0')
    return NULL;
  while (*p != '\0')
    {
      if (*p == '[')
        {
          gchar *end = NULL;
          gint64 index = g_ascii_strtoll (p + 1, &end, 10);
          JsonArray *arr;
          if (end == NULL || *end != ']' || cur == NULL || !JSON_NODE_HOLDS_ARRAY (cur))
            return NULL;
          arr = json_node_get_array (cur);
          if (index < 0 || index >= json_array_get_length (arr))
            return NULL;
          cur = json_array_get_element (arr, index);
          p = end + 1;
        }
      else
        {
          const gchar *start = (*p == '.') ? p + 1 : p;
          const gchar *q = start;
          g_autofree gchar *name = NULL;
          while (*q != '\0' && *q != '.' && *q != '[')
            q++;
          if (q == start)
            return NULL;
          name = g_strndup (start, q - start);
          if (cur != NULL)
            obj = JSON_NODE_HOLDS_OBJECT (cur) ? json_node_get_object (cur) : NULL;
          if (obj == NULL || !json_object_has_member (obj, name))
            return NULL;
          cur = json_object_get_member (obj, name);
          p = q;
        }
    }
  return cur;
}

static gchar *
value_text (JsonNode *node)
{
  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return g_strdup ("");
  if (JSON_NODE_HOLDS_VALUE (node))
    switch (json_node_get_value_type (node))
      {
        case G_TYPE_STRING:
          return g_strdup (json_node_get_string (node));
        case G_TYPE_BOOLEAN:
          return g_strdup (json_node_get_boolean (node) ? "true" : "false");
        case G_TYPE_INT64:
          return g_strdup_printf ("%" G_GINT64_FORMAT, json_node_get_int (node));
        case G_TYPE_DOUBLE:
          {
            gdouble d = json_node_get_double (node);
            gchar buf[G_ASCII_DTOSTR_BUF_SIZE];
            if (d == floor (d) && fabs (d) < 1e15)
              return g_strdup_printf ("%" G_GINT64_FORMAT, (gint64) d);
            return g_strdup (g_ascii_dtostr (buf, sizeof buf, d));
          }
        default:
          break;
      }
  return cw_json_to_string (node);
}

/* ---- templates ------------------------------------------------------------------------- */

static void
add_missing (GPtrArray *missing, const gchar *path)
{
  if (missing == NULL)
    return;
  for (guint i = 0; i < missing->len; i++)
    if (g_str_equal (g_ptr_array_index (missing, i), path))
      return;
  g_ptr_array_add (missing, g_strdup (path));
}

/* Parses "{{ path }}" at @p; returns the end (after "}}") and the path, or NULL. */
static const gchar *
parse_placeholder (const gchar *p, gchar **path)
{
  const gchar *q = p + 2, *start, *end;

  while (*q == ' ' || *q == '\t')
    q++;
  start = q;
  while (is_path_char (*q))
    q++;
  end = q;
  while (*q == ' ' || *q == '\t')
    q++;
  if (end == start || q[0] != '}' || q[1] != '}')
    return NULL;
  *path = g_strndup (start, end - start);
  return q + 2;
}

gchar *
cw_wf_render_string (const gchar *text, JsonObject *context, GPtrArray *missing)
{
  GString *out = g_string_new (NULL);
  const gchar *p = text != NULL ? text : "";

  while (*p != '\0')
    {
      gchar *path = NULL;
      const gchar *after = (p[0] == '{' && p[1] == '{') ? parse_placeholder (p, &path) : NULL;
      if (after == NULL)
        {
          g_string_append_c (out, *p++);
          continue;
        }
      {
        JsonNode *value = cw_wf_path_lookup (context, path);
        g_autofree gchar *text_value = NULL;
        if (value == NULL || JSON_NODE_HOLDS_NULL (value))
          add_missing (missing, path);
        text_value = value_text (value);
        g_string_append (out, text_value);
      }
      g_free (path);
      p = after;
    }
  return g_string_free (out, FALSE);
}

JsonNode *
cw_wf_render (JsonNode *value, JsonObject *context, GPtrArray *missing)
{
  if (value == NULL)
    return json_node_init_null (json_node_alloc ());
  if (JSON_NODE_HOLDS_OBJECT (value))
    {
      JsonObject *src = json_node_get_object (value), *dst = json_object_new ();
      GList *members = json_object_get_members (src);
      for (GList *l = members; l != NULL; l = l->next)
        json_object_set_member (
            dst, l->data, cw_wf_render (json_object_get_member (src, l->data), context, missing));
      g_list_free (members);
      return json_node_init_object (json_node_alloc (), dst);
    }
  if (JSON_NODE_HOLDS_ARRAY (value))
    {
      JsonArray *src = json_node_get_array (value), *dst = json_array_new ();
      for (guint i = 0; i < json_array_get_length (src); i++)
        json_array_add_element (dst,
                                cw_wf_render (json_array_get_element (src, i), context, missing));
      return json_node_init_array (json_node_alloc (), dst);
    }
  if (JSON_NODE_HOLDS_VALUE (value) && json_node_get_value_type (value) == G_TYPE_STRING
      && strstr (json_node_get_string (value), "{{") != NULL)
    {
      g_autofree gchar *text = cw_wf_render_string (json_node_get_string (value), context, missing);
      return json_node_init_string (json_node_alloc (), text);
    }
  return json_node_copy (value);
}

gboolean
cw_wf_truthy (JsonNode *value)
{
  if (value == NULL || JSON_NODE_HOLDS_NULL (value))
    return FALSE;
  if (JSON_NODE_HOLDS_OBJECT (value))
    return json_object_get_size (json_node_get_object (value)) > 0;
  if (JSON_NODE_HOLDS_ARRAY (value))
    return json_array_get_length (json_node_get_array (value)) > 0;
  switch (json_node_get_value_type (value))
    {
      case G_TYPE_BOOLEAN:
        return json_node_get_boolean (value);
      case G_TYPE_INT64:
        return json_node_get_int (value) != 0;
      case G_TYPE_DOUBLE:
        return json_node_get_double (value) != 0.0;
      case G_TYPE_STRING:
        {
          const gchar *s = json_node_get_string (value);
          return *s != '\0' && g_strcmp0 (s, "false") != 0 && g_strcmp0 (s, "0") != 0;
        }
      default:
        return FALSE;
    }
}

/* ---- tokens ------------------------------------------------------------------------------ */

typedef enum
{
  TOK_END,
  TOK_NUMBER,
  TOK_STRING,
  TOK_PATH,     /* a bare word or dotted path */
  TOK_TEMPLATE, /* {{ path }} */
  TOK_OP,       /* == != < <= > >= && || ! */
  TOK_LPAREN,
  TOK_RPAREN,
  TOK_COMMA,
} TokKind;

typedef struct
{
  TokKind kind;
  gchar *text;
  gdouble number;
  gsize offset;
} Token;

typedef struct
{
  GArray *tokens;
  guint pos;
  JsonObject *context;
  GError *error;
  guint depth;
} Parser;

static void
token_clear (gpointer data)
{
  g_free (((Token *) data)->text);
}

static gboolean fail (Parser *p, gsize offset, const gchar *format, ...) G_GNUC_PRINTF (3, 4);

static gboolean
fail (Parser *p, gsize offset, const gchar *format, ...)
{
  va_list ap;
  g_autofree gchar *text = NULL;

  if (p->error != NULL)
    return FALSE;
  va_start (ap, format);
  text = g_strdup_vprintf (format, ap);
  va_end (ap);
  p->error = g_error_new (CW_ERROR, CW_ERROR_INVALID_PARAMS,
                          "expression: %s at offset %" G_GSIZE_FORMAT, text, offset);
  return FALSE;
}

static gboolean
tokenize (Parser *p, const gchar *text)
{
  const gchar *s = text;

  while (TRUE)
    {
      Token t = { TOK_END, NULL, 0, 0 };
      while (g_ascii_isspace (*s))
        s++;
      t.offset = s - text;
      if (p->tokens->len >= MAX_TOKENS)
        return fail (p, t.offset, "more than %d tokens", MAX_TOKENS);
      if (*s == '\0')
        {
          g_array_append_val (p->tokens, t);
          return TRUE;
        }
      if (s[0] == '{' && s[1] == '{')
        {
          const gchar *after = parse_placeholder (s, &t.text);
          if (after == NULL)
            return fail (p, t.offset, "malformed {{ placeholder }}");
          t.kind = TOK_TEMPLATE;
          s = after;
        }
      else if (*s == '\'' || *s == '"')
        {
          gchar quote = *s++;
          GString *str = g_string_new (NULL);
          while (*s != '\0' && *s != quote)
            {
              if (*s == '\\' && s[1] != '\0')
                s++;
              g_string_append_c (str, *s++);
            }
          if (*s != quote)
            {
              g_string_free (str, TRUE);
              return fail (p, t.offset, "unterminated string");
            }
          s++;
          t.kind = TOK_STRING;
          t.text = g_string_free (str, FALSE);
        }
      else if (g_ascii_isdigit (*s) || (*s == '-' && g_ascii_isdigit (s[1])))
        {
          gchar *end = NULL;
          t.number = g_ascii_strtod (s, &end);
          if (end == s || !isfinite (t.number))
            return fail (p, t.offset, "bad number");
          /* 12abc is a word, not a number followed by a word */
          if (is_path_char (*end) && *end != '.' && *end != ']' && *end != '[')
            {
              const gchar *start = s;
              while (is_path_char (*s))
                s++;
              t.kind = TOK_PATH;
              t.text = g_strndup (start, s - start);
            }
          else
            {
              t.kind = TOK_NUMBER;
              s = end;
            }
        }
      else if (g_ascii_isalpha (*s) || *s == '_')
        {
          const gchar *start = s;
          while (is_path_char (*s))
            s++;
          t.kind = TOK_PATH;
          t.text = g_strndup (start, s - start);
        }
      else if (*s == '(' || *s == ')' || *s == ',')
        {
          t.kind = *s == '(' ? TOK_LPAREN : *s == ')' ? TOK_RPAREN : TOK_COMMA;
          s++;
        }
      else
        {
          static const gchar *const ops[]
              = { "==", "!=", "<=", ">=", "&&", "||", "<", ">", "!", NULL };
          for (guint i = 0; ops[i] != NULL; i++)
            if (strncmp (s, ops[i], strlen (ops[i])) == 0)
              {
                t.kind = TOK_OP;
                t.text = g_strdup (ops[i]);
                s += strlen (ops[i]);
                break;
              }
          if (t.kind != TOK_OP)
            return fail (p, t.offset, "unexpected character '%c'", g_ascii_isprint (*s) ? *s : '?');
        }
      g_array_append_val (p->tokens, t);
    }
}

/* ---- values -------------------------------------------------------------------------------- */

static Token *
peek (Parser *p)
{
  return &g_array_index (p->tokens, Token, p->pos);
}

static Token *
next (Parser *p)
{
  Token *t = peek (p);

  if (t->kind != TOK_END)
    p->pos++;
  return t;
}

static gboolean
is_word (Token *t, const gchar *word)
{
  return t->kind == TOK_PATH && g_ascii_strcasecmp (t->text, word) == 0;
}

static gboolean
is_op (Token *t, const gchar *op)
{
  return t->kind == TOK_OP && g_str_equal (t->text, op);
}

static JsonNode *
number_node (gdouble d)
{
  if (d == floor (d) && fabs (d) < 9e15)
    return json_node_init_int (json_node_alloc (), (gint64) d);
  return json_node_init_double (json_node_alloc (), d);
}

static JsonNode *
bool_node (gboolean b)
{
  return json_node_init_boolean (json_node_alloc (), b);
}

static gboolean
as_number (JsonNode *v, gdouble *out)
{
  if (v == NULL || !JSON_NODE_HOLDS_VALUE (v))
    return FALSE;
  switch (json_node_get_value_type (v))
    {
      case G_TYPE_INT64:
        *out = (gdouble) json_node_get_int (v);
        return TRUE;
      case G_TYPE_DOUBLE:
        *out = json_node_get_double (v);
        return TRUE;
      case G_TYPE_STRING:
        {
          const gchar *s = json_node_get_string (v);
          gchar *end = NULL;
          if (*s == '\0')
            return FALSE;
          *out = g_ascii_strtod (s, &end);
          return end != NULL && *end == '\0' && isfinite (*out);
        }
      default:
        return FALSE;
    }
}

static JsonNode *parse_or (Parser *p, gboolean literal_words);

static JsonNode *
call_function (Parser *p, Token *name)
{
  g_autoptr (GPtrArray) args = g_ptr_array_new_with_free_func ((GDestroyNotify) json_node_unref);
  gboolean literal = g_ascii_strcasecmp (name->text, "eq") == 0
                     || g_ascii_strcasecmp (name->text, "contains") == 0;
  static const gchar *const known[] = { "not", "eq", "contains", "exists", "len", NULL };
  guint wanted;

  if (!g_strv_contains (known, name->text))
    {
      fail (p, name->offset, "unknown function %s", name->text);
      return NULL;
    }
  next (p); /* the name */
  next (p); /* ( */
  if (peek (p)->kind != TOK_RPAREN)
    while (TRUE)
      {
        JsonNode *arg = parse_or (p, literal);
        if (arg == NULL)
          return NULL;
        g_ptr_array_add (args, arg);
        if (peek (p)->kind != TOK_COMMA)
          break;
        next (p);
      }
  if (next (p)->kind != TOK_RPAREN)
    {
      fail (p, peek (p)->offset, "expected ')'");
      return NULL;
    }
  wanted = (g_str_equal (name->text, "eq") || g_str_equal (name->text, "contains")) ? 2 : 1;
  if (args->len != wanted)
    {
      fail (p, name->offset, "%s() takes %u argument%s", name->text, wanted, wanted > 1 ? "s" : "");
      return NULL;
    }
  if (g_str_equal (name->text, "not"))
    return bool_node (!cw_wf_truthy (g_ptr_array_index (args, 0)));
  if (g_str_equal (name->text, "exists"))
    {
      JsonNode *v = g_ptr_array_index (args, 0);
      return bool_node (v != NULL && !JSON_NODE_HOLDS_NULL (v));
    }
  if (g_str_equal (name->text, "len"))
    {
      JsonNode *v = g_ptr_array_index (args, 0);
      gint64 n = 0;
      if (JSON_NODE_HOLDS_ARRAY (v))
        n = json_array_get_length (json_node_get_array (v));
      else if (JSON_NODE_HOLDS_OBJECT (v))
        n = json_object_get_size (json_node_get_object (v));
      else if (!JSON_NODE_HOLDS_NULL (v))
        {
          g_autofree gchar *text = value_text (v);
          n = g_utf8_strlen (text, -1);
        }
      return json_node_init_int (json_node_alloc (), n);
    }
  {
    JsonNode *a = g_ptr_array_index (args, 0), *b = g_ptr_array_index (args, 1);
    g_autofree gchar *ta = value_text (a);
    g_autofree gchar *tb = value_text (b);
    if (g_str_equal (name->text, "eq"))
      return bool_node (g_str_equal (ta, tb));
    if (JSON_NODE_HOLDS_ARRAY (a))
      {
        JsonArray *arr = json_node_get_array (a);
        for (guint i = 0; i < json_array_get_length (arr); i++)
          {
            g_autofree gchar *te = value_text (json_array_get_element (arr, i));
            if (g_str_equal (te, tb))
              return bool_node (TRUE);
          }
        return bool_node (FALSE);
      }
    return bool_node (strstr (ta, tb) != NULL);
  }
}

static JsonNode *
parse_primary (Parser *p, gboolean literal_words)
{
  Token *t = peek (p);

  if (p->depth >= MAX_DEPTH)
    {
      fail (p, t->offset, "nested deeper than %d", MAX_DEPTH);
      return NULL;
    }
  switch (t->kind)
    {
      case TOK_NUMBER:
        next (p);
        return number_node (t->number);
      case TOK_STRING:
        next (p);
        return json_node_init_string (json_node_alloc (), t->text);
      case TOK_TEMPLATE:
        {
          JsonNode *v;
          next (p);
          v = cw_wf_path_lookup (p->context, t->text);
          return v != NULL ? cw_wf_deep_copy (v) : json_node_init_null (json_node_alloc ());
        }
      case TOK_LPAREN:
        {
          JsonNode *v;
          next (p);
          v = parse_or (p, literal_words);
          if (v == NULL)
            return NULL;
          if (next (p)->kind != TOK_RPAREN)
            {
              json_node_unref (v);
              fail (p, t->offset, "unbalanced '('");
              return NULL;
            }
          return v;
        }
      case TOK_PATH:
        {
          JsonNode *v;
          Token *after = &g_array_index (p->tokens, Token, p->pos + 1);
          if (after->kind == TOK_LPAREN)
            return call_function (p, t);
          next (p);
          if (is_word (t, "true") || is_word (t, "false"))
            return bool_node (is_word (t, "true"));
          if (is_word (t, "null"))
            return json_node_init_null (json_node_alloc ());
          v = cw_wf_path_lookup (p->context, t->text);
          if (v != NULL)
            return cw_wf_deep_copy (v);
          return literal_words ? json_node_init_string (json_node_alloc (), t->text)
                               : json_node_init_null (json_node_alloc ());
        }
      case TOK_END:
        fail (p, t->offset, "unexpected end");
        return NULL;
      default:
        fail (p, t->offset, "unexpected '%s'", t->text != NULL ? t->text : ",");
        return NULL;
    }
}

static gboolean
compare (const gchar *op, JsonNode *a, JsonNode *b)
{
  gdouble x, y;
  gint cmp;

  if (as_number (a, &x) && as_number (b, &y))
    cmp = x < y ? -1 : x > y ? 1 : 0;
  else if ((a == NULL || JSON_NODE_HOLDS_NULL (a)) && (b == NULL || JSON_NODE_HOLDS_NULL (b)))
    cmp = 0;
  else if ((a == NULL || JSON_NODE_HOLDS_NULL (a)) || (b == NULL || JSON_NODE_HOLDS_NULL (b)))
    return g_str_equal (op, "!=");
  else
    {
      g_autofree gchar *ta = value_text (a);
      g_autofree gchar *tb = value_text (b);
      cmp = g_strcmp0 (ta, tb);
      cmp = cmp < 0 ? -1 : cmp > 0 ? 1 : 0;
    }
  if (g_str_equal (op, "=="))
    return cmp == 0;
  if (g_str_equal (op, "!="))
    return cmp != 0;
  if (g_str_equal (op, "<"))
    return cmp < 0;
  if (g_str_equal (op, "<="))
    return cmp <= 0;
  if (g_str_equal (op, ">"))
    return cmp > 0;
  return cmp >= 0;
}

static JsonNode *
parse_compare (Parser *p, gboolean literal_words)
{
  JsonNode *a = parse_primary (p, literal_words), *b;
  Token *t = peek (p);
  static const gchar *const ops[] = { "==", "!=", "<", "<=", ">", ">=", NULL };
  gboolean result;

  if (a == NULL || t->kind != TOK_OP || !g_strv_contains (ops, t->text))
    return a;
  next (p);
  b = parse_primary (p, literal_words);
  if (b == NULL)
    {
      json_node_unref (a);
      return NULL;
    }
  result = compare (t->text, a, b);
  json_node_unref (a);
  json_node_unref (b);
  return bool_node (result);
}

static JsonNode *
parse_unary (Parser *p, gboolean literal_words)
{
  Token *t = peek (p);

  if (is_op (t, "!")
      || (is_word (t, "not") && g_array_index (p->tokens, Token, p->pos + 1).kind != TOK_LPAREN))
    {
      JsonNode *v;
      gboolean b;
      if (++p->depth > MAX_DEPTH)
        {
          fail (p, t->offset, "nested deeper than %d", MAX_DEPTH);
          return NULL;
        }
      next (p);
      v = parse_unary (p, literal_words);
      p->depth--;
      if (v == NULL)
        return NULL;
      b = !cw_wf_truthy (v);
      json_node_unref (v);
      return bool_node (b);
    }
  return parse_compare (p, literal_words);
}

typedef JsonNode *(*ParseFunc) (Parser *p, gboolean literal_words);

/* operand ((op | word) operand)*, folded with && (is_and) or || */
static JsonNode *
parse_chain (Parser *p, gboolean literal_words, ParseFunc operand, const gchar *op,
             const gchar *word, gboolean is_and)
{
  JsonNode *a = operand (p, literal_words);

  while (a != NULL && (is_op (peek (p), op) || is_word (peek (p), word)))
    {
      JsonNode *b;
      gboolean r;
      next (p);
      b = operand (p, literal_words);
      if (b == NULL)
        {
          json_node_unref (a);
          return NULL;
        }
      r = is_and ? cw_wf_truthy (a) && cw_wf_truthy (b) : cw_wf_truthy (a) || cw_wf_truthy (b);
      json_node_unref (a);
      json_node_unref (b);
      a = bool_node (r);
    }
  return a;
}

static JsonNode *
parse_and (Parser *p, gboolean literal_words)
{
  return parse_chain (p, literal_words, parse_unary, "&&", "and", TRUE);
}

static JsonNode *
parse_or (Parser *p, gboolean literal_words)
{
  JsonNode *a;
  guint depth = p->depth;

  if (++p->depth > MAX_DEPTH)
    {
      fail (p, peek (p)->offset, "nested deeper than %d", MAX_DEPTH);
      return NULL;
    }
  a = parse_chain (p, literal_words, parse_and, "||", "or", FALSE);
  p->depth = depth;
  return a;
}

gboolean
cw_wf_expr_eval (const gchar *expression, JsonObject *context, gboolean *result, GError **error)
{
  Parser p = { 0 };
  g_autoptr (JsonNode) value = NULL;
  g_autoptr (GArray) tokens = g_array_new (FALSE, TRUE, sizeof (Token));

  g_array_set_clear_func (tokens, token_clear);
  p.tokens = tokens;
  p.context = context;
  *result = FALSE;
  g_autofree gchar *trimmed = g_strstrip (g_strdup (expression != NULL ? expression : ""));

  if (*trimmed == '\0')
    {
      g_set_error_literal (error, CW_ERROR, CW_ERROR_INVALID_PARAMS, "expression: it is empty");
      return FALSE;
    }
  if (strlen (expression) > MAX_LENGTH)
    {
      g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS,
                   "expression: longer than %d characters", MAX_LENGTH);
      return FALSE;
    }
  if (!g_utf8_validate (expression, -1, NULL))
    {
      g_set_error_literal (error, CW_ERROR, CW_ERROR_INVALID_PARAMS, "expression: not valid UTF-8");
      return FALSE;
    }
  if (tokenize (&p, expression))
    {
      value = parse_or (&p, FALSE);
      if (value != NULL && peek (&p)->kind != TOK_END)
        fail (&p, peek (&p)->offset, "unexpected '%s' after the expression",
              peek (&p)->text != NULL ? peek (&p)->text : ")");
    }
  if (p.error != NULL)
    {
      g_propagate_error (error, p.error);
      return FALSE;
    }
  *result = cw_wf_truthy (value);
  return TRUE;
}
