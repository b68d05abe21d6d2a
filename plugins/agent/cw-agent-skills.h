/* cw-agent-skills.h: the skills of set_skills ({id, name, path, description?, enabled?}) and
 * the part of the system prompt that offers them to the model.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <cowork.h>

G_BEGIN_DECLS

/* Checks @skills and returns them normalised (enabled filled in, default true). */
JsonArray *cw_agent_skills_parse (JsonNode *skills, GError **error);
/* "## Skills" with one "### <name>" block per enabled skill holding its SKILL.md (a path to a
 * directory means its SKILL.md, else its first .md file; relative paths are taken from
 * @working_directory, "~" is the home directory; 16,000 characters at most each). NULL
 * when no skill is enabled. Reads the files now. */
gchar *cw_agent_skills_prompt (JsonArray *skills, const gchar *working_directory);

G_END_DECLS
