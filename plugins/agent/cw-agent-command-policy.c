/* cw-agent-command-policy.c: see cw-agent-command-policy.h.
 *
 * Each program in the table lists the options it may take. Options that write a file
 * (sort -o, tree -o, git diff --output), read one named elsewhere (--files0-from, -f FILE,
 * --exclude-from), run another program (rg --pre, sort --compress-program, find -exec,
 * git --ext-diff) or change what a program is (git diff --no-index, global git options) are
 * left out on purpose: a command using them asks.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-agent-command-policy.h"
#include "tools/cw-tool-fs.h"

#include <string.h>

typedef enum
{
  OPERANDS_NONE,
  OPERANDS_TEXT,          /* echo, which: not paths */
  OPERANDS_PATHS,         /* files (git: revisions and paths) */
  OPERANDS_PATTERN_PATHS, /* grep, rg: a pattern unless -e gave one, then files */
  OPERANDS_FIND,          /* find: paths, then an expression of the listed primaries */
} Operands;

typedef struct
{
  const gchar *name; /* argv[0], or "git <subcommand>" */
  /* Short options: a letter is a flag; "x:" takes a value (attached or the next word);
   * '#' allows -NUM. */
  const gchar *short_opts;
  /* Long options, space-separated: "name" a flag, "name=" takes a value (attached or the next
   * word), "name=?" an optional attached value. For find: its primaries ("-name="). */
  const gchar *long_opts;
  Operands operands;
  gint max_operands; /* -1: any number */
} CommandSpec;

#define GIT_DIFF_OPTS                                                                              \
  "patch no-patch unified= stat=? numstat shortstat dirstat=? summary name-only name-status "      \
  "raw color=? no-color word-diff=? word-diff-regex= color-words=? ignore-all-space "              \
  "ignore-space-change ignore-space-at-eol ignore-blank-lines ignore-cr-at-eol minimal patience "  \
  "histogram diff-algorithm= find-renames=? find-copies=? no-renames text abbrev=? full-index "    \
  "binary relative=? no-relative src-prefix= dst-prefix= no-prefix function-context "              \
  "inter-hunk-context= exit-code quiet check no-ext-diff no-textconv submodule=? "                 \
  "ignore-submodules=? "

static const CommandSpec specs[] = {
  { "ls", "aAbBcCdfFgGhHiklLmnNopqQrRsStuUvxX1",
    "all almost-all human-readable si long "
    "recursive reverse size classify file-type directory color=? inode numeric-uid-gid "
    "group-directories-first sort= time= time-style= full-time dereference "
    "dereference-command-line no-group literal escape quote-name indicator-style= width= "
    "hide= ignore= ignore-backups block-size= kibibytes",
    OPERANDS_PATHS, -1 },
  { "pwd", "LP", "logical physical", OPERANDS_NONE, 0 },
  { "cat", "AbeEnstTuv",
    "show-all number-nonblank number squeeze-blank show-ends show-tabs "
    "show-nonprinting",
    OPERANDS_PATHS, -1 },
  { "head", "c:n:qvz#", "bytes= lines= quiet silent verbose zero-terminated", OPERANDS_PATHS, -1 },
  { "tail", "c:n:qvz#", "bytes= lines= quiet silent verbose zero-terminated", OPERANDS_PATHS, -1 },
  { "wc", "clmwL", "bytes chars lines words max-line-length total=", OPERANDS_PATHS, -1 },
  { "grep", "EFGPiyvwxcLloqsbHhnTZzraIUe:m:A:B:C:#",
    "extended-regexp fixed-strings "
    "basic-regexp perl-regexp ignore-case no-ignore-case invert-match word-regexp line-regexp "
    "count files-with-matches files-without-match only-matching quiet silent no-messages "
    "byte-offset with-filename no-filename line-number initial-tab null null-data recursive "
    "text binary-files= include= exclude= exclude-dir= max-count= after-context= "
    "before-context= context= regexp= color=? colour=? label= line-buffered",
    OPERANDS_PATTERN_PATHS, -1 },
  { "rg", "iSsFwxvcClnNHIpo0uUaA:B:C:e:g:t:T:m:d:",
    "ignore-case smart-case case-sensitive "
    "fixed-strings word-regexp line-regexp invert-match count count-matches files "
    "files-with-matches files-without-match line-number no-line-number with-filename "
    "no-filename heading no-heading hidden no-ignore glob= iglob= type= type-not= max-count= "
    "max-depth= after-context= before-context= context= regexp= color= json vimgrep "
    "only-matching trim sort= sortr= max-columns= column null stats type-list multiline",
    OPERANDS_PATTERN_PATHS, -1 },
  { "find", "P",
    "-name= -iname= -path= -ipath= -wholename= -iwholename= -regex= -iregex= "
    "-regextype= -type= -xtype= -maxdepth= -mindepth= -size= -mtime= -mmin= -atime= -amin= "
    "-ctime= -cmin= -perm= -user= -group= -uid= -gid= -links= -empty -print -print0 -printf= "
    "-ls -prune -true -false -readable -writable -executable -o -a -or -and -not -depth -mount "
    "-xdev -noleaf -daystart -nouser -nogroup",
    OPERANDS_FIND, -1 },
  { "echo", "neE", "", OPERANDS_TEXT, -1 },
  { "file", "bhiLkNz0",
    "brief mime mime-type mime-encoding dereference no-dereference "
    "keep-going no-pad print0 uncompress",
    OPERANDS_PATHS, -1 },
  { "stat", "LftZc:", "dereference file-system terse format= printf=", OPERANDS_PATHS, -1 },
  { "tree", "adlfiqNQpugshDFrtvUcCnJxL:P:I:",
    "dirsfirst noreport charset= filelimit= "
    "sort= du prune matchdirs ignore-case gitignore",
    OPERANDS_PATHS, -1 },
  { "du", "abcDhHLkmsSxP0d:",
    "all apparent-size bytes total human-readable si summarize "
    "max-depth= block-size= count-links dereference-args separate-dirs one-file-system "
    "null time inodes",
    OPERANDS_PATHS, -1 },
  { "which", "a", "", OPERANDS_TEXT, -1 },
  { "sort", "bdfgiMhnRrVcCsuzk:t:S:",
    "ignore-leading-blanks dictionary-order ignore-case "
    "general-numeric-sort ignore-nonprinting month-sort human-numeric-sort numeric-sort "
    "random-sort reverse version-sort check=? stable unique zero-terminated key= "
    "field-separator= buffer-size= parallel= debug sort=",
    OPERANDS_PATHS, -1 },
  /* uniq's second operand is an output file. */
  { "uniq", "cdDiuzf:s:w:",
    "count repeated all-repeated=? ignore-case unique zero-terminated "
    "skip-fields= skip-chars= check-chars= group=?",
    OPERANDS_PATHS, 1 },
  { "diff", "aBbdEeiNnpqrstTuwyZC:U:W:x:",
    "brief report-identical-files unified=? context=? "
    "side-by-side ignore-case ignore-all-space ignore-space-change ignore-blank-lines "
    "ignore-tab-expansion ignore-trailing-space recursive new-file unidirectional-new-file "
    "text strip-trailing-cr color=? no-dereference exclude= label= minimal normal width= "
    "suppress-common-lines expand-tabs initial-tab speed-large-files",
    OPERANDS_PATHS, -1 },
  { "git status", "sbvzu?",
    "short branch porcelain=? long untracked-files=? ignored=? "
    "ignore-submodules=? column=? no-column ahead-behind no-ahead-behind renames no-renames "
    "find-renames=? verbose show-stash null",
    OPERANDS_PATHS, -1 },
  { "git diff", "pusRaWwbzM?C?U:", GIT_DIFF_OPTS "cached staged merge-base", OPERANDS_PATHS, -1 },
  { "git log", "psRawbzn:M?C?U:#",
    GIT_DIFF_OPTS
    "oneline graph format= pretty=? author= "
    "committer= since= until= after= before= grep= all branches=? tags=? remotes=? "
    "decorate=? no-decorate name-only no-merges merges reverse follow abbrev-commit date= "
    "max-count= skip= first-parent topo-order date-order left-right cherry-pick "
    "invert-grep regexp-ignore-case all-match show-signature",
    OPERANDS_PATHS, -1 },
  { "git show", "psRawbzM?C?U:",
    GIT_DIFF_OPTS "oneline format= pretty=? "
                  "decorate=? no-decorate abbrev-commit date= show-signature",
    OPERANDS_PATHS, -1 },
  { "git branch", "avrl",
    "all verbose remotes list show-current contains= no-contains= "
    "merged=? no-merged=? sort= points-at= color=? no-color column=? no-column format=",
    OPERANDS_NONE, 0 },
  { "git blame", "bfnpsewtlL:M?C?",
    "porcelain line-porcelain incremental root show-stats "
    "show-name show-number show-email date= abbrev=? first-parent reverse= ignore-rev=",
    OPERANDS_PATHS, -1 },
};

/* Readable paths a read-only command may name outside the working directory. */
static const gchar *const system_read_dirs[]
    = { "/usr", "/bin", "/sbin", "/lib", "/lib64", "/etc", "/opt", "/dev/null", NULL };

/* TRUE if /bin/sh reads @command as plain words, exactly as g_shell_parse_argv does: no
 * unquoted operator, redirection, expansion, glob, comment or tilde, no $ or ` inside double
 * quotes, no control characters. */
static gboolean
is_plain_words (const gchar *s)
{
  gchar prev = ' ';

  for (; *s != '\0'; s++)
    {
      gchar c = *s;

      if ((guchar) c < 0x20 && c != '\t')
        return FALSE;
      if (c == '\'')
        {
          const gchar *end = strchr (s + 1, '\'');
          if (end == NULL)
            return FALSE;
          for (const gchar *p = s + 1; p < end; p++)
            if ((guchar) *p < 0x20)
              return FALSE;
          s = end;
        }
      else if (c == '"')
        {
          for (s++; *s != '\0' && *s != '"'; s++)
            {
              if (*s == '$' || *s == '`' || (guchar) *s < 0x20)
                return FALSE;
              if (*s == '\\' && s[1] != '\0')
                s++;
            }
          if (*s == '\0')
            return FALSE;
        }
      else if (c == '\\')
        {
          if (s[1] == '\0' || (guchar) s[1] < 0x20)
            return FALSE;
          s++;
        }
      else if (strchr (";&|<>()$`*?[]{}!", c) != NULL)
        return FALSE;
      else if ((c == '~' || c == '#')
               && (prev == ' ' || prev == '\t' || prev == '=' || prev == ':'))
        return FALSE;
      prev = *s;
    }
  return TRUE;
}

static gchar **
parse_plain (const gchar *command)
{
  gchar **argv = NULL;

  if (command == NULL || !is_plain_words (command)
      || !g_shell_parse_argv (command, NULL, &argv, NULL))
    return NULL;
  /* The program is found on PATH by name, never run from a path the model chose. */
  if (strchr (argv[0], '/') != NULL || strchr (argv[0], '=') != NULL)
    {
      g_strfreev (argv);
      return NULL;
    }
  return argv;
}

static const CommandSpec *
find_spec (gchar **argv, guint *args_from)
{
  g_autofree gchar *name = NULL;

  if (g_strcmp0 (argv[0], "git") == 0)
    {
      /* Global git options (-c, -C, --exec-path, ...) are not read-only business. */
      if (argv[1] == NULL || argv[1][0] == '-')
        return NULL;
      name = g_strdup_printf ("git %s", argv[1]);
      *args_from = 2;
    }
  else
    {
      name = g_strdup (argv[0]);
      *args_from = 1;
    }
  for (guint i = 0; i < G_N_ELEMENTS (specs); i++)
    if (g_strcmp0 (specs[i].name, name) == 0)
      return &specs[i];
  return NULL;
}

/* How @name appears in @list: 0 absent, '-' a flag, '=' takes a value, '?' optional. */
static gchar
long_option_kind (const gchar *list, const gchar *name, gsize len)
{
  for (const gchar *p = list; *p != '\0';)
    {
      const gchar *end = p + strcspn (p, " ");
      gsize n = strcspn (p, " =");

      if (n == len && strncmp (p, name, len) == 0)
        {
          if (p + n == end)
            return '-';
          return p[n + 1] == '?' ? '?' : '=';
        }
      p = *end == ' ' ? end + 1 : end;
    }
  return 0;
}

static gboolean
path_is_readable_operand (const gchar *operand, const gchar *working_directory)
{
  g_autofree gchar *abs = NULL;
  g_autofree gchar *real = NULL;
  g_autofree gchar *real_wd = NULL;

  if (g_strcmp0 (operand, "-") == 0)
    return TRUE;
  abs = g_canonicalize_filename (operand, working_directory);
  real = cw_tool_fs_real_path (abs);
  real_wd = cw_tool_fs_real_path (working_directory);
  if (cw_tool_fs_within (real, real_wd))
    return TRUE;
  for (guint i = 0; system_read_dirs[i] != NULL; i++)
    if (cw_tool_fs_within (real, system_read_dirs[i]))
      return TRUE;
  return FALSE;
}

typedef struct
{
  const CommandSpec *spec;
  const gchar *working_directory;
  gboolean pattern_given; /* grep -e, rg -e */
  gboolean in_expression; /* find: past the paths */
  gint operands;
} Match;

static gboolean
accept_operand (Match *m, const gchar *arg)
{
  switch (m->spec->operands)
    {
      case OPERANDS_NONE:
        return FALSE;
      case OPERANDS_TEXT:
        return TRUE;
      case OPERANDS_PATTERN_PATHS:
        if (!m->pattern_given)
          {
            m->pattern_given = TRUE;
            return TRUE;
          }
        break;
      case OPERANDS_FIND:
        if (m->in_expression)
          return FALSE;
        break;
      case OPERANDS_PATHS:
        break;
    }
  if (m->spec->max_operands >= 0 && ++m->operands > m->spec->max_operands)
    return FALSE;
  return path_is_readable_operand (arg, m->working_directory);
}

/* -abc, -n5, -n 5: returns the number of words taken (1 or 2), 0 if not allowed. */
static guint
accept_short (Match *m, const gchar *arg, const gchar *next)
{
  const gchar *opts = m->spec->short_opts;

  if (strchr (opts, '#') != NULL && arg[strspn (arg + 1, "0123456789") + 1] == '\0')
    return 1;
  for (const gchar *p = arg + 1; *p != '\0'; p++)
    {
      const gchar *o = *p != ':' && *p != '?' && *p != '#' ? strchr (opts, *p) : NULL;

      if (o == NULL)
        return 0;
      if (*p == 'e' && m->spec->operands == OPERANDS_PATTERN_PATHS)
        m->pattern_given = TRUE;
      if (o[1] == '?')
        return 1;
      if (o[1] == ':')
        return p[1] != '\0' ? 1 : next != NULL ? 2 : 0;
    }
  return 1;
}

/* --name, --name=value, --name value (and find's -name value). */
static guint
accept_long (Match *m, const gchar *arg, const gchar *next)
{
  gboolean find = m->spec->operands == OPERANDS_FIND;
  const gchar *name = find ? arg : arg + 2;
  const gchar *eq = strchr (name, '=');
  gsize len = eq != NULL && !find ? (gsize) (eq - name) : strlen (name);
  gchar kind = long_option_kind (m->spec->long_opts, name, len);

  if (kind == 0 || (find && eq != NULL && kind != '='))
    return 0;
  if (g_strcmp0 (name, "regexp") == 0 || (eq != NULL && strncmp (name, "regexp=", 7) == 0))
    m->pattern_given = TRUE;
  if (find)
    {
      m->in_expression = TRUE;
      return kind == '=' ? (next != NULL ? 2 : 0) : 1;
    }
  if (kind == '-')
    return eq == NULL ? 1 : 0;
  if (kind == '?' || eq != NULL)
    return 1;
  return next != NULL ? 2 : 0;
}

static gboolean
args_match (const CommandSpec *spec, gchar **args, const gchar *working_directory)
{
  Match m = { spec, working_directory, FALSE, FALSE, 0 };
  gboolean options_done = FALSE;

  for (guint i = 0; args[i] != NULL;)
    {
      const gchar *arg = args[i];
      guint taken;

      if (options_done || arg[0] != '-' || arg[1] == '\0')
        taken = accept_operand (&m, arg) ? 1 : 0;
      else if (g_strcmp0 (arg, "--") == 0 && spec->operands != OPERANDS_FIND)
        {
          options_done = TRUE;
          taken = 1;
        }
      else if (spec->operands == OPERANDS_FIND ? arg[1] != 'P' || arg[2] != '\0' : arg[1] == '-')
        taken = accept_long (&m, arg, args[i + 1]);
      else
        taken = accept_short (&m, arg, args[i + 1]);
      if (taken == 0)
        return FALSE;
      i += taken;
    }
  return TRUE;
}

gboolean
cw_command_policy_is_read_only (const gchar *command, const gchar *working_directory)
{
  g_auto (GStrv) argv = parse_plain (command);
  const CommandSpec *spec;
  guint from = 1;

  if (argv == NULL)
    return FALSE;
  spec = find_spec (argv, &from);
  return spec != NULL && args_match (spec, argv + from, working_directory);
}

static gboolean
argv_has_prefix (gchar **argv, gchar **prefix)
{
  for (guint i = 0; prefix[i] != NULL; i++)
    if (argv[i] == NULL || g_strcmp0 (argv[i], prefix[i]) != 0)
      return FALSE;
  return TRUE;
}

gboolean
cw_command_policy_is_trusted (const gchar *command, const gchar *working_directory,
                              GPtrArray *trusted)
{
  g_auto (GStrv) argv = parse_plain (command);

  if (argv == NULL)
    return FALSE;
  for (guint i = 0; i < trusted->len; i++)
    {
      g_auto (GStrv) entry = NULL;

      if (!g_shell_parse_argv (g_ptr_array_index (trusted, i), NULL, &entry, NULL)
          || !argv_has_prefix (argv, entry))
        continue;
      if (g_strv_length (argv) == g_strv_length (entry)
          || cw_command_policy_is_read_only (command, working_directory))
        return TRUE;
    }
  return FALSE;
}
