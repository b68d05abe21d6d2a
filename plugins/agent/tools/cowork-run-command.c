/* cowork-run-command: runs one agent command and makes sure nothing it started outlives it.
 *
 *   cowork-run-command --parent PID [--sandbox workdir|read-only --workdir DIR
 *                      [--hide PATH]...] -- PROGRAM [ARG]...
 *
 * It becomes a child subreaper, so every process the command starts (setsid and nohup ones
 * too) is reparented to it when its own parent dies, and it dies with the daemon (a
 * parent-death signal it catches). When the command's main process exits, or on SIGTERM
 * (stop, timeout, the daemon's death), it kills everything left below it and exits with the
 * command's status.
 *
 * With --sandbox the command runs under Landlock: files are readable everywhere except the
 * --hide paths (the user's home, the runtime dir, the daemon's data) unless inside DIR;
 * writable only inside DIR (workdir) or nowhere but /dev/null (read-only); signals and
 * abstract unix sockets stay within the sandbox. PR_SET_NO_NEW_PRIVS is set first.
 * Exit 126 with a message on stderr if the sandbox cannot be set up.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/landlock.h>

#define MAX_HIDDEN 16

#ifndef LANDLOCK_ACCESS_FS_REFER
#define LANDLOCK_ACCESS_FS_REFER (1ULL << 13)
#endif
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif
#ifndef LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET
#define LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0)
#define LANDLOCK_SCOPE_SIGNAL               (1ULL << 1)
#endif

/* The ruleset attribute as of ABI 6; older kernels get the prefix they know. */
struct ruleset_attr
{
  __u64 handled_access_fs;
  __u64 handled_access_net;
  __u64 scoped;
};

#define READ_RIGHTS                                                                                \
  (LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR)
#define FILE_RIGHTS                                                                                \
  (LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_WRITE_FILE       \
   | LANDLOCK_ACCESS_FS_TRUNCATE)

typedef struct
{
  int fd;
  __u64 handled;
  const char *workdir;
  const char *hidden[MAX_HIDDEN];
  int n_hidden;
} Sandbox;

static void
die (const char *what)
{
  fprintf (stderr, "cowork-run-command: %s: %s\n", what, strerror (errno));
  _exit (126);
}

static int
within (const char *path, const char *root)
{
  size_t n = strlen (root);

  if (strcmp (root, "/") == 0)
    return 1;
  return strncmp (path, root, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

static void
add_rule (Sandbox *s, const char *path, __u64 rights)
{
  struct landlock_path_beneath_attr attr = { 0 };
  struct stat st;
  int fd = open (path, O_PATH | O_CLOEXEC);

  if (fd < 0)
    return;
  if (fstat (fd, &st) == 0 && !S_ISDIR (st.st_mode))
    rights &= FILE_RIGHTS;
  attr.allowed_access = rights & s->handled;
  attr.parent_fd = fd;
  if (attr.allowed_access != 0
      && syscall (SYS_landlock_add_rule, s->fd, LANDLOCK_RULE_PATH_BENEATH, &attr, 0) != 0)
    die (path);
  close (fd);
}

/* Grants reading below @dir except the hidden paths: an entry that leads into one is left
 * out, a directory above one is descended into (a symlink to it is left out: the directory
 * is reached where it really is). */
static void
grant_readable (Sandbox *s, const char *dir)
{
  DIR *d = opendir (dir);
  struct dirent *ent;

  if (d == NULL)
    return;
  while ((ent = readdir (d)) != NULL)
    {
      char path[PATH_MAX];
      char real[PATH_MAX];
      int hidden = 0, ancestor = 0, is_link;

      if (strcmp (ent->d_name, ".") == 0 || strcmp (ent->d_name, "..") == 0)
        continue;
      snprintf (path, sizeof path, "%s%s%s", dir, strcmp (dir, "/") == 0 ? "" : "/", ent->d_name);
      if (realpath (path, real) == NULL)
        continue;
      is_link = strcmp (real, path) != 0;
      for (int i = 0; i < s->n_hidden; i++)
        {
          if (within (real, s->hidden[i]))
            hidden = 1;
          else if (within (s->hidden[i], real))
            ancestor = 1;
        }
      if (hidden || (ancestor && is_link))
        continue;
      if (ancestor)
        grant_readable (s, path);
      else
        add_rule (s, path, READ_RIGHTS);
    }
  closedir (d);
}

static void
sandbox_prepare (Sandbox *s, int writable)
{
  struct ruleset_attr attr = { 0 };
  long abi = syscall (SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
  size_t size = sizeof (__u64);

  if (abi < 1)
    die ("Landlock is not available");
  s->handled = LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE
               | LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR
               | LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE
               | LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_DIR
               | LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_MAKE_SOCK
               | LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_BLOCK
               | LANDLOCK_ACCESS_FS_MAKE_SYM;
  if (abi >= 2)
    s->handled |= LANDLOCK_ACCESS_FS_REFER;
  if (abi >= 3)
    s->handled |= LANDLOCK_ACCESS_FS_TRUNCATE;
  attr.handled_access_fs = s->handled;
  if (abi >= 6)
    {
      attr.scoped = LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET | LANDLOCK_SCOPE_SIGNAL;
      size = sizeof attr;
    }
  s->fd = syscall (SYS_landlock_create_ruleset, &attr, size, 0);
  if (s->fd < 0)
    die ("landlock_create_ruleset");
  grant_readable (s, "/");
  add_rule (s, s->workdir, writable ? s->handled : READ_RIGHTS);
  add_rule (s, "/dev/null", FILE_RIGHTS);
}

static void
sandbox_enter (Sandbox *s)
{
  if (prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    die ("PR_SET_NO_NEW_PRIVS");
  if (syscall (SYS_landlock_restrict_self, s->fd, 0) != 0)
    die ("landlock_restrict_self");
  close (s->fd);
}

/* SIGKILLs every process whose parent is this one; returns how many. */
static int
kill_children (void)
{
  DIR *d = opendir ("/proc");
  struct dirent *ent;
  pid_t self = getpid ();
  int n = 0;

  if (d == NULL)
    return 0;
  while ((ent = readdir (d)) != NULL)
    {
      char path[64], buf[512];
      const char *close_paren;
      pid_t pid = (pid_t) strtol (ent->d_name, NULL, 10);
      ssize_t len;
      int fd;

      if (pid <= 0)
        continue;
      snprintf (path, sizeof path, "/proc/%d/stat", (int) pid);
      fd = open (path, O_RDONLY | O_CLOEXEC);
      if (fd < 0)
        continue;
      len = read (fd, buf, sizeof buf - 1);
      close (fd);
      if (len <= 0)
        continue;
      buf[len] = '\0';
      /* "pid (comm) state ppid ...": comm may hold anything, so parse after the last ')'. */
      close_paren = strrchr (buf, ')');
      if (close_paren != NULL && strtol (close_paren + 4, NULL, 10) == self)
        {
          kill (pid, SIGKILL);
          n++;
        }
    }
  closedir (d);
  return n;
}

/* Ends the command's process group, then every descendant (reparented here as their parents
 * die), until none is left. */
static void
kill_everything (pid_t group)
{
  kill (-group, SIGKILL);
  for (;;)
    {
      int killed = kill_children ();
      pid_t pid;

      while ((pid = waitpid (-1, NULL, WNOHANG)) > 0)
        ;
      if (pid < 0 && errno == ECHILD)
        return;
      usleep (killed > 0 ? 1000 : 10000);
    }
}

static void
usage (void)
{
  fprintf (stderr, "usage: cowork-run-command --parent PID [--sandbox workdir|read-only "
                   "--workdir DIR [--hide PATH]...] -- PROGRAM [ARG]...\n");
  exit (2);
}

int
main (int argc, char **argv)
{
  Sandbox sandbox = { .fd = -1 };
  const char *mode = NULL;
  pid_t parent = 0, child;
  char **command = NULL;
  sigset_t set, old;
  int status = 0;

  for (int i = 1; i < argc; i++)
    {
      if (strcmp (argv[i], "--") == 0)
        {
          command = argv + i + 1;
          break;
        }
      if (i + 1 >= argc)
        usage ();
      if (strcmp (argv[i], "--parent") == 0)
        parent = (pid_t) strtol (argv[++i], NULL, 10);
      else if (strcmp (argv[i], "--sandbox") == 0)
        mode = argv[++i];
      else if (strcmp (argv[i], "--workdir") == 0)
        sandbox.workdir = argv[++i];
      else if (strcmp (argv[i], "--hide") == 0 && sandbox.n_hidden < MAX_HIDDEN)
        {
          char *real = realpath (argv[++i], NULL);
          if (real != NULL && strcmp (real, "/") != 0)
            sandbox.hidden[sandbox.n_hidden++] = real;
        }
      else
        usage ();
    }
  if (command == NULL || command[0] == NULL || parent <= 0
      || (mode != NULL && sandbox.workdir == NULL))
    usage ();

  /* Die with the daemon, kill -9 included: the signal is caught below. */
  sigemptyset (&set);
  sigaddset (&set, SIGTERM);
  sigaddset (&set, SIGINT);
  sigaddset (&set, SIGHUP);
  sigaddset (&set, SIGCHLD);
  sigprocmask (SIG_BLOCK, &set, &old);
  if (prctl (PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid () != parent)
    return 125;
  if (prctl (PR_SET_CHILD_SUBREAPER, 1) != 0)
    die ("PR_SET_CHILD_SUBREAPER");
  if (mode != NULL)
    {
      if (strcmp (mode, "workdir") != 0 && strcmp (mode, "read-only") != 0)
        usage ();
      sandbox_prepare (&sandbox, strcmp (mode, "workdir") == 0);
    }

  child = fork ();
  if (child < 0)
    die ("fork");
  if (child == 0)
    {
      setpgid (0, 0);
      prctl (PR_SET_PDEATHSIG, SIGKILL);
      sigprocmask (SIG_SETMASK, &old, NULL);
      if (mode != NULL)
        sandbox_enter (&sandbox);
      execvp (command[0], command);
      fprintf (stderr, "cowork-run-command: %s: %s\n", command[0], strerror (errno));
      _exit (127);
    }
  setpgid (child, child);
  if (sandbox.fd >= 0)
    close (sandbox.fd);

  for (;;)
    {
      siginfo_t info;
      pid_t pid;

      if (sigwaitinfo (&set, &info) < 0)
        continue;
      if (info.si_signo != SIGCHLD)
        {
          kill_everything (child);
          return 128 + info.si_signo;
        }
      while ((pid = waitpid (-1, &status, WNOHANG)) > 0)
        if (pid == child)
          {
            kill_everything (child);
            return WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status);
          }
    }
}
