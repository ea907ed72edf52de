/* SPDX-License-Identifier: ISC */
/*
 * A struct spawn_plan made into what the child between clone and exec
 * needs (struct spawn_exec, spawn-child.h): everything is allocated here,
 * in the engine, because the child may not allocate. The environment gets
 * LISTEN_PID (a buffer the child fills with its pid) and the preload
 * library first in LD_PRELOAD; argv[0] without a slash becomes the list
 * of paths the app's own PATH gives.
 */
#include <sys/resource.h>

#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common.h"
#include "spawn.h"
#include "spawn-child.h"
#include "spawn-exec.h"

static const char *
spawn_exec_getenv(char **envp, const char *name)
{
	size_t len = strlen(name);

	for (; envp != NULL && *envp != NULL; envp++) {
		if (strncmp(*envp, name, len) == 0 && (*envp)[len] == '=')
			return *envp + len + 1;
	}
	return NULL;
}

/* envp with s (name=value) first, in place of any earlier name=. */
static void
spawn_exec_setenv(struct spawn_exec_mem *mm, char *s)
{
	size_t i, j, len = strcspn(s, "=") + 1;
	char **v = mm->envp;

	mm->strs[mm->nstrs++] = s;
	memmove(v + 1, v, (mm->nenv + 1) * sizeof *v);
	v[0] = s;
	mm->nenv++;
	for (i = j = 1; i < mm->nenv; i++) {
		if (strncmp(v[i], s, len) != 0)
			v[j++] = v[i];
	}
	v[j] = NULL;
	mm->nenv = j;
}

static void
spawn_exec_env(const struct spawn_plan *p, struct spawn_exec *x,
    struct spawn_exec_mem *mm)
{
	const char *old;
	char *s;
	size_t n = 0;

	while (p->envp != NULL && p->envp[n] != NULL)
		n++;
	mm->envp = xcalloc(n + 3, sizeof *mm->envp);
	if (n > 0)
		memcpy(mm->envp, p->envp, n * sizeof *mm->envp);
	mm->nenv = n;
	if (p->preload != NULL) {
		old = spawn_exec_getenv(mm->envp, "LD_PRELOAD");
		if (old == NULL || *old == '\0')
			xasprintf(&s, "LD_PRELOAD=%s", p->preload);
		else
			xasprintf(&s, "LD_PRELOAD=%s:%s", p->preload, old);
		spawn_exec_setenv(mm, s);
	}
	if (p->listen_pid) {
		s = xcalloc(1, sizeof "LISTEN_PID=" + SPAWN_EXEC_PIDBUF);
		memcpy(s, "LISTEN_PID=", sizeof "LISTEN_PID=" - 1);
		x->listen_pid = s + sizeof "LISTEN_PID=" - 1;
		x->listen_pid[0] = '0';
		spawn_exec_setenv(mm, s);
	}
	x->envp = mm->envp;
}

/* The paths to execve: the plan's, argv[0], or argv[0] in each PATH dir. */
static void
spawn_exec_paths(const struct spawn_plan *p, struct spawn_exec *x,
    struct spawn_exec_mem *mm)
{
	const char *file = p->path != NULL ? p->path : p->argv[0], *path, *s,
	    *end;
	size_t n = 1;

	if (strchr(file, '/') != NULL) {
		mm->paths = xcalloc(1, sizeof *mm->paths);
		mm->paths[0] = xstrdup(file);
		x->paths = (const char *const *)mm->paths;
		x->npaths = mm->npaths = 1;
		return;
	}
	if ((path = spawn_exec_getenv(mm->envp, "PATH")) == NULL)
		path = "/bin:/usr/bin";
	for (s = path; *s != '\0'; s++)
		n += *s == ':';
	mm->paths = xcalloc(n, sizeof *mm->paths);
	for (s = path; ; s = end + 1) {
		end = strchrnul(s, ':');
		if ((size_t)(end - s) + strlen(file) + 2 <= PATH_MAX)
			xasprintf(&mm->paths[mm->npaths++], "%.*s%s%s",
			    (int)(end - s), s, end == s ? "" : "/", file);
		if (*end == '\0')
			break;
	}
	x->paths = (const char *const *)mm->paths;
	x->npaths = mm->npaths;
}

/*
 * Fills x from p (tag, kill signal, adopt socket) with what mm holds;
 * spawn_exec_free(mm) releases it. p must have a program.
 */
void
spawn_exec_make(const struct spawn_plan *p, int adopt_fd,
    struct spawn_exec *x, struct spawn_exec_mem *mm)
{
	struct rlimit rl;
	struct timespec ts;

	memset(x, 0, sizeof *x);
	memset(mm, 0, sizeof *mm);
	(void)clock_gettime(CLOCK_REALTIME, &ts);
	x->started_at = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	x->tag = p->tag;
	x->kill_signal = p->kill_signal > 0 ? p->kill_signal : SIGTERM;
	x->adopt_fd = adopt_fd;
	x->argv = p->argv;
	spawn_exec_env(p, x, mm);
	spawn_exec_paths(p, x, mm);
	x->cwd = p->cwd;
	x->cgroup_procs = (const char *const *)p->cgroup_procs;
	x->ncgroup_procs = p->ncgroup_procs;
	x->cgroup_dirfd = p->cgroup_dirfd;
	x->fds = p->fds;
	x->nfds = p->nfds;
	x->setsid = 1;
	x->drop_privs = p->drop_privs;
	x->uid = p->uid;
	x->gid = p->gid;
	x->groups = p->groups;
	x->ngroups = p->ngroups;
	x->umask = p->umask;
	if (p->nofile != 0 && getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		x->set_nofile = 1;
		x->nofile.rlim_cur = (rlim_t)p->nofile;
		x->nofile.rlim_max = rl.rlim_max;
	}
}

void
spawn_exec_free(struct spawn_exec_mem *mm)
{
	size_t i;

	for (i = 0; i < mm->nstrs; i++)
		free(mm->strs[i]);
	for (i = 0; i < mm->npaths; i++)
		free(mm->paths[i]);
	free(mm->paths);
	free(mm->envp);
	memset(mm, 0, sizeof *mm);
}
