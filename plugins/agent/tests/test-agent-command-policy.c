/* test-agent-command-policy.c: which commands run without a prompt, on parsed argv: the
 * read-only table with its options per program, and trusted prefixes.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-agent-command-policy.h"

#include <glib/gstdio.h>

static gchar *workdir;

static void
assert_read_only (const gchar *command, gboolean expected)
{
  gboolean got = cw_command_policy_is_read_only (command, workdir);

  if (got != expected)
    g_error ("%s: read-only %s, expected %s", command, got ? "yes" : "no", expected ? "yes" : "no");
}

static void
test_read_only (void)
{
  static const gchar *const allowed[] = {
    "ls",
    "ls -la src",
    "ls --color=auto -R .",
    "cat a.txt",
    "head -n 5 a.txt",
    "head -5 a.txt",
    "tail -n5 a.txt",
    "wc -l a.txt b.txt",
    "grep -rn foo .",
    "grep -e foo -e bar a.txt",
    "grep -A3 'a b' a.txt",
    "grep --include='*.c' -rn 'x(' .",
    "rg -n TODO src",
    "find . -name '*.c' -type f",
    "find src -maxdepth 2 -not -name x -print",
    "echo hello world",
    "sort -n a.txt",
    "sort -k 2 -t , a.txt",
    "uniq -c a.txt",
    "diff -u a.txt b.txt",
    "git status",
    "git status -sb",
    "git status -uno",
    "git diff",
    "git diff --stat HEAD~1",
    "git diff --cached -- a.txt",
    "git log --oneline -n 5",
    "git log -3 --format=%H",
    "git show HEAD:a.txt",
    "git branch -a",
    "git blame -L 1,5 a.txt",
    "cat /usr/include/stdio.h",
    "cat \"a b.txt\"",
    "tree -L 2",
    "du -sh .",
    "stat -c %s a.txt",
    "pwd",
    NULL,
  };
  static const gchar *const refused[] = {
    /* the escapes */
    "git diff --no-index --output=../out.txt a.txt b.txt",
    "git diff --no-index /dev/null ../secret.txt",
    "git diff /dev/null ../secret.txt",
    "git diff --output=x.txt",
    "sort -o ../sorted.txt a.txt",
    "sort --output=../sorted.txt a.txt",
    "sort -ao x a.txt",
    /* options that write, read a named file or run a program */
    "sort -T /tmp a.txt",
    "sort --compress-program=sh a.txt",
    "uniq a.txt ../out.txt",
    "tree -o ../out.txt",
    "rg --pre ./evil foo",
    "grep -f ../patterns a.txt",
    "grep -R foo .",
    "wc --files0-from=../list",
    "find . -exec rm {} ;",
    "find . -delete",
    "find . -fprint ../out",
    "find -L . -name x",
    "git diff --ext-diff",
    "git -c core.pager=sh diff",
    "git -C .. status",
    "git branch new-branch",
    "git branch -D main",
    "git push",
    "git checkout .",
    "tail -f a.txt",
    /* operands outside the working directory */
    "cat ../secret.txt",
    "cat /root/.ssh/id_rsa",
    "ls /home",
    "head /proc/self/environ",
    /* shell syntax */
    "ls; rm -rf x",
    "ls && touch x",
    "ls | sh",
    "ls > x",
    "ls `id`",
    "ls $(id)",
    "echo $HOME",
    "echo \"$HOME\"",
    "cat *",
    "cat ~/.bashrc",
    "ls\nrm x",
    "ls # comment",
    "cat 'unterminated",
    /* programs named by path, unknown programs, assignments */
    "./ls",
    "/bin/ls",
    "FOO=1 ls",
    "python3 -c 1",
    "",
    NULL,
  };

  for (guint i = 0; allowed[i] != NULL; i++)
    assert_read_only (allowed[i], TRUE);
  for (guint i = 0; refused[i] != NULL; i++)
    assert_read_only (refused[i], FALSE);
}

static void
test_trusted (void)
{
  g_autoptr (GPtrArray) trusted = g_ptr_array_new ();

  g_ptr_array_add (trusted, "ls");
  g_ptr_array_add (trusted, "git diff");
  g_ptr_array_add (trusted, "npm test");
  g_ptr_array_add (trusted, "sort");
  g_assert_true (cw_command_policy_is_trusted ("ls -la", workdir, trusted));
  g_assert_true (cw_command_policy_is_trusted ("git diff --stat", workdir, trusted));
  g_assert_true (cw_command_policy_is_trusted ("npm test", workdir, trusted));
  g_assert_true (cw_command_policy_is_trusted ("sort a.txt", workdir, trusted));
  /* Beyond an entry only read-only arguments: not prefixes of the command line. */
  g_assert_false (cw_command_policy_is_trusted ("npm test -- --watch", workdir, trusted));
  g_assert_false (cw_command_policy_is_trusted ("npm testx", workdir, trusted));
  g_assert_false (cw_command_policy_is_trusted ("lsblk", workdir, trusted));
  g_assert_false (
      cw_command_policy_is_trusted ("git diff --no-index --output=../x a b", workdir, trusted));
  g_assert_false (
      cw_command_policy_is_trusted ("git diff --no-index /dev/null ../secret", workdir, trusted));
  g_assert_false (cw_command_policy_is_trusted ("sort -o ../x a.txt", workdir, trusted));
  g_assert_false (cw_command_policy_is_trusted ("git status", workdir, trusted));
  g_assert_false (cw_command_policy_is_trusted ("ls; id", workdir, trusted));
  g_assert_false (cw_command_policy_is_trusted ("npm test; id", workdir, trusted));
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  int rc;

  g_test_init (&argc, &argv, NULL);
  workdir = g_dir_make_tmp ("cw-policy-XXXXXX", &error);
  g_assert_no_error (error);
  g_test_add_func ("/cowork/agent/command-policy/read-only", test_read_only);
  g_test_add_func ("/cowork/agent/command-policy/trusted", test_trusted);
  rc = g_test_run ();
  g_rmdir (workdir);
  g_free (workdir);
  return rc;
}
