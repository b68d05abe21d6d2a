/* cw-agent-skills.c: skills for the system prompt, loaded the way the original's legacy
 * skill loading does it (the text of each enabled skill's SKILL.md under its name).
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-agent-skills.h"

#define SKILL_MAX_CHARS 16000

static const gchar *
required_string (JsonObject *o, const gchar *name, guint index, GError **error)
{
  JsonNode *node = json_object_get_member (o, name);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node)
      || json_node_get_value_type (node) != G_TYPE_STRING || *json_node_get_string (node) == '\0')
    {
      g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS, "skills[%u].%s is required", index,
                   name);
      return NULL;
    }
  return json_node_get_string (node);
}

JsonArray *
cw_agent_skills_parse (JsonNode *skills, GError **error)
{
  g_autoptr (JsonArray) out = json_array_new ();
  JsonArray *in;

  if (skills == NULL || !JSON_NODE_HOLDS_ARRAY (skills))
    {
      g_set_error_literal (error, CW_ERROR, CW_ERROR_INVALID_PARAMS, "skills are required");
      return NULL;
    }
  in = json_node_get_array (skills);
  for (guint i = 0; i < json_array_get_length (in); i++)
    {
      JsonNode *e = json_array_get_element (in, i);
      JsonObject *s = JSON_NODE_HOLDS_OBJECT (e) ? json_node_get_object (e) : NULL;
      JsonObject *copy;
      const gchar *id, *name, *path, *description;
      JsonNode *enabled;

      if (s == NULL)
        {
          g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS, "skills[%u] must be an object", i);
          return NULL;
        }
      if ((id = required_string (s, "id", i, error)) == NULL
          || (name = required_string (s, "name", i, error)) == NULL
          || (path = required_string (s, "path", i, error)) == NULL)
        return NULL;
      description = json_object_get_string_member_with_default (s, "description", NULL);
      enabled = json_object_get_member (s, "enabled");
      copy = json_object_new ();
      json_object_set_string_member (copy, "id", id);
      json_object_set_string_member (copy, "name", name);
      json_object_set_string_member (copy, "path", path);
      if (description != NULL)
        json_object_set_string_member (copy, "description", description);
      json_object_set_boolean_member (copy, "enabled",
                                      enabled == NULL || JSON_NODE_HOLDS_NULL (enabled)
                                          || json_node_get_boolean (enabled));
      json_array_add_object_element (out, copy);
    }
  return g_steal_pointer (&out);
}

/* The file a skill's path stands for, or NULL. */
static gchar *
resolve_skill_file (const gchar *path, const gchar *working_directory)
{
  g_autofree gchar *trimmed = g_strstrip (g_strdup (path));
  g_autofree gchar *resolved = NULL;
  g_autoptr (GDir) dir = NULL;
  const gchar *entry;

  if (trimmed[0] == '~')
    resolved = g_build_filename (g_get_home_dir (), trimmed + 1, NULL);
  else
    resolved = g_canonicalize_filename (trimmed, working_directory);
  if (!g_file_test (resolved, G_FILE_TEST_EXISTS))
    return NULL;
  if (!g_file_test (resolved, G_FILE_TEST_IS_DIR))
    return g_steal_pointer (&resolved);
  {
    g_autofree gchar *skill_md = g_build_filename (resolved, "SKILL.md", NULL);
    if (g_file_test (skill_md, G_FILE_TEST_IS_REGULAR))
      return g_steal_pointer (&skill_md);
  }
  dir = g_dir_open (resolved, 0, NULL);
  while (dir != NULL && (entry = g_dir_read_name (dir)) != NULL)
    {
      g_autofree gchar *lower = g_ascii_strdown (entry, -1);
      if (g_str_has_suffix (lower, ".md"))
        return g_build_filename (resolved, entry, NULL);
    }
  return NULL;
}

gchar *
cw_agent_skills_prompt (JsonArray *skills, const gchar *working_directory)
{
  g_autoptr (GString) out = g_string_new ("## Skills\n");
  guint blocks = 0;

  for (guint i = 0; skills != NULL && i < json_array_get_length (skills); i++)
    {
      JsonObject *s = json_array_get_object_element (skills, i);
      const gchar *name = json_object_get_string_member (s, "name");
      const gchar *path = json_object_get_string_member (s, "path");
      g_autofree gchar *file = NULL;
      g_autofree gchar *content = NULL;

      if (!json_object_get_boolean_member_with_default (s, "enabled", TRUE))
        continue;
      if (blocks++ > 0)
        g_string_append (out, "\n\n");
      g_string_append_printf (out, "### %s\n", name);
      file = resolve_skill_file (path, working_directory);
      if (file == NULL)
        g_string_append_printf (out, "[Missing skill file: %s]", path);
      else if (!g_file_get_contents (file, &content, NULL, NULL)
               || !g_utf8_validate (content, -1, NULL))
        g_string_append_printf (out, "[Unable to load skill content from %s]", file);
      else if (g_utf8_strlen (content, -1) <= SKILL_MAX_CHARS)
        g_string_append (out, content);
      else
        {
          const gchar *end = g_utf8_offset_to_pointer (content, SKILL_MAX_CHARS);
          g_string_append_len (out, content, end - content);
          g_string_append (out, "\n...[truncated]");
        }
    }
  return blocks > 0 ? g_string_free (g_steal_pointer (&out), FALSE) : NULL;
}
