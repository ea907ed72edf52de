/* SPDX-License-Identifier: ISC */
/*
 * SPAWN, the child's side, between fork and exec: a new session, the
 * cgroup ("0" written to each file the engine named, unless clone3 put
 * it there already), stdin from /dev/null, stdout and stderr to the
 * keeper's pipes, the requested descriptors at 3.. and every other one
 * closed at exec, the working directory, umask, the file limit the keeper
 * found, the user and groups, LISTEN_PID and LD_PRELOAD for the app
 * only, default signal dispositions and an empty mask; then execve. The
 * keeper has one thread, so the child may call any libc function. A
 * failure writes errno and the stage's index to the report pipe and exits
 * 127.
 */
#include <sys/stat.h>
#include <sys/syscall.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keeper.h"
#include "privswitch.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/* Indexes into spawn_stages[] (spawn.c). */
enum { ST_SETSID = 1, ST_CGROUP, ST_FDS, ST_CHDIR, ST_RLIMIT, ST_GROUPS,
    ST_GID, ST_UID, ST_ENV, ST_EXEC };

static void KEEPER_NORETURN
child_fail(const struct spawn_child_args *a, int stage)
{
	int info[2] = { errno, stage };

	(void)!write(a->report, info, sizeof info);
	_exit(127);
}

/*
 * Writes "0", the writer itself, to a cgroup's procs or (v1) tasks file:
 * for a single thread the kernel then skips the global threadgroup lock
 * that a pid's move takes for writing (and its RCU grace period).
 */
static int
child_join(const char *procs)
{
	int fd, ok;

	if ((fd = open(procs, O_WRONLY | O_CLOEXEC)) == -1)
		return -1;
	ok = write(fd, "0\n", 2) == 2;
	if (close(fd) == -1)
		ok = 0;
	return ok ? 0 : -1;
}

/* Sets every descriptor from lo up close-on-exec. */
static void
child_cloexec_from(int lo)
{
	struct rlimit rl;
	int fd, max = 65536;

	if (syscall(SYS_close_range, (unsigned)lo, ~0U, CLOSE_RANGE_CLOEXEC)
	    == 0)
		return;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)max)
		max = (int)rl.rlim_cur;
	for (fd = lo; fd < max; fd++)
		(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
}

/*
 * 0 /dev/null, 1 out, 2 err, 3+i srcs[i]. Every source goes above the last
 * target first, so that no dup2 overwrites a source still to be placed.
 */
static int
child_fds(const struct spawn_child_args *a, int *report)
{
	int top = 3 + (int)a->s->nfds, hi[3 + KPROTO_MAX_FDS], nul, i, n;

	n = 3 + (int)a->s->nfds;
	if ((nul = open("/dev/null", O_RDWR | O_CLOEXEC)) == -1)
		return -1;
	hi[0] = nul;
	hi[1] = a->out;
	hi[2] = a->err;
	for (i = 3; i < n; i++)
		hi[i] = a->srcs[i - 3];
	for (i = 0; i < n; i++) {
		if ((hi[i] = fcntl(hi[i], F_DUPFD_CLOEXEC, top)) == -1)
			return -1;
	}
	if ((*report = fcntl(a->report, F_DUPFD_CLOEXEC, top)) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		if (dup2(hi[i], i) == -1)
			return -1;
	}
	child_cloexec_from(top);
	return 0;
}

/* The engine's identity drop: privswitch(), as corrald and corral-exec. */
static int
child_privs(const struct kproto_spawn *s, int *stage)
{
	int step;

	if (privswitch(s->uid, s->gid, s->groups, s->ngroups, &step) == 0)
		return 0;
	*stage = step == PRIVSWITCH_GROUPS ? ST_GROUPS :
	    step == PRIVSWITCH_GID ? ST_GID : ST_UID;
	return -1;
}

/* envp with name=value put first in place of any earlier name=. */
static char **
child_setenv(char **envp, const char *name, const char *value)
{
	size_t i, j, n, len = strlen(name);
	char **v, *s;

	for (n = 0; envp[n] != NULL; n++)
		;
	if ((v = calloc(n + 2, sizeof *v)) == NULL)
		return NULL;
	if ((s = malloc(len + strlen(value) + 2)) == NULL)
		return NULL;
	sprintf(s, "%s=%s", name, value);
	v[0] = s;
	for (i = 0, j = 1; i < n; i++) {
		if (strncmp(envp[i], name, len) != 0 || envp[i][len] != '=')
			v[j++] = envp[i];
	}
	v[j] = NULL;
	return v;
}

static const char *
child_getenv(char **envp, const char *name)
{
	size_t len = strlen(name);

	for (; *envp != NULL; envp++) {
		if (strncmp(*envp, name, len) == 0 && (*envp)[len] == '=')
			return *envp + len + 1;
	}
	return NULL;
}

static char **
child_env(const struct kproto_spawn *s)
{
	char **envp = (char **)s->envp, pid[32], *v;
	const char *old;

	if (s->flags & KP_SPAWN_LISTEN_PID) {
		snprintf(pid, sizeof pid, "%ld", (long)getpid());
		if ((envp = child_setenv(envp, "LISTEN_PID", pid)) == NULL)
			return NULL;
	}
	if (s->preload != NULL) {
		old = child_getenv(envp, "LD_PRELOAD");
		if (old == NULL || *old == '\0')
			return child_setenv(envp, "LD_PRELOAD", s->preload);
		if ((v = malloc(strlen(s->preload) + strlen(old) + 2)) == NULL)
			return NULL;
		sprintf(v, "%s:%s", s->preload, old);
		envp = child_setenv(envp, "LD_PRELOAD", v);
	}
	return envp;
}

/* execve, with argv[0] searched in envp's PATH when it has no slash. */
static void
child_exec(const struct kproto_spawn *s, char **envp)
{
	char *const *argv = (char *const *)s->argv;
	const char *file = s->path != NULL ? s->path : s->argv[0], *p, *end;
	char buf[PATH_MAX];
	int eacces = 0;

	if (strchr(file, '/') != NULL) {
		execve(file, argv, envp);
		return;
	}
	if ((p = child_getenv(envp, "PATH")) == NULL)
		p = "/bin:/usr/bin";
	for (; ; p = end + 1) {
		end = strchrnul(p, ':');
		if ((size_t)snprintf(buf, sizeof buf, "%.*s%s%s", (int)(end - p),
		    p, end == p ? "" : "/", file) < sizeof buf) {
			execve(buf, argv, envp);
			eacces |= errno == EACCES;
		}
		if (*end == '\0')
			break;
	}
	errno = eacces ? EACCES : ENOENT;
}

void
child_signals(void)
{
	sigset_t none;
	int sig;

	for (sig = 1; sig < NSIG; sig++) {
		if (sig != SIGKILL && sig != SIGSTOP)
			(void)signal(sig, SIG_DFL);
	}
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

void
spawn_child(const struct spawn_child_args *a)
{
	const struct kproto_spawn *s = a->s;
	struct spawn_child_args r = *a;
	char **envp;
	size_t i;
	int stage;

	if ((s->flags & KP_SPAWN_SETSID) && setsid() == -1)
		child_fail(&r, ST_SETSID);
	for (i = 0; !a->joined && i < s->ncgroup_procs; i++) {
		if (child_join(s->cgroup_procs[i]) == -1)
			child_fail(&r, ST_CGROUP);
	}
	if (child_fds(a, &r.report) == -1)
		child_fail(&r, ST_FDS);
	if (s->cwd != NULL && chdir(s->cwd) == -1)
		child_fail(&r, ST_CHDIR);
	umask(s->umask);
	if (setrlimit(RLIMIT_NOFILE, &K.nofile) == -1)
		child_fail(&r, ST_RLIMIT);
	if ((s->flags & KP_SPAWN_DROP_PRIVS) && child_privs(s, &stage) == -1)
		child_fail(&r, stage);
	if ((envp = child_env(s)) == NULL)
		child_fail(&r, ST_ENV);
	child_signals();
	child_exec(s, envp);
	child_fail(&r, ST_EXEC);
}
