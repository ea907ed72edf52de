/* SPDX-License-Identifier: ISC */
/*
 * From a struct spawn_plan to what uv_spawn gets: the plan's argv as it
 * is, or, when the plan asks for more than execve gives (a cgroup to join
 * first, a file limit, another identity, LISTEN_PID, the preload
 * library), corral-exec with options saying so in front of it, built
 * once; and where corral-exec is. spawn.c runs an instance's plan with
 * it, health.c the exec checks.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "corrald.h"

static char *spawn_exec;                /* corral-exec, or NULL */
static int spawn_exec_looked;

/* Where corral-exec is (found once), or NULL. */
const char *
spawn_exec_path(void)
{
	if (!spawn_exec_looked) {
		spawn_exec = paths_own("corral-exec", X_OK);
		spawn_exec_looked = 1;
	}
	return spawn_exec;
}

/* A path names a program that can run: a regular file we may execute. */
static int
spawn_runnable_path(const char *file, char **cause)
{
	struct stat st;
	int error = 0;

	if (stat(file, &st) == -1)
		error = errno;
	else if (!S_ISREG(st.st_mode))
		error = EACCES;
	else if (access(file, X_OK) == -1)
		error = errno;
	if (error == 0)
		return 0;
	*cause = xstrdup(uv_strerror(uv_translate_sys_error(error)));
	return -1;
}

/*
 * Whether the program can be run, as execvp() would find it (PATH from
 * envp): behind corral-exec a program that cannot run would only show as
 * exit 127. Returns 0, or -1 with *cause set in uv_spawn's words.
 */
static int
spawn_runnable(const char *file, char **envp, char **cause)
{
	const char *path = "/usr/local/bin:/usr/bin:/bin", *p, *end;
	struct stat st;
	char *cand;
	size_t i;

	if (strchr(file, '/') != NULL)
		return spawn_runnable_path(file, cause);
	for (i = 0; envp != NULL && envp[i] != NULL; i++) {
		if (strncmp(envp[i], "PATH=", 5) == 0)
			path = envp[i] + 5;
	}
	for (p = path; *p != '\0'; p = *end == ':' ? end + 1 : end) {
		end = strchrnul(p, ':');
		xasprintf(&cand, "%.*s/%s", (int)(end - p), p, file);
		if (stat(cand, &st) == 0 && S_ISREG(st.st_mode) &&
		    access(cand, X_OK) == 0) {
			free(cand);
			return 0;
		}
		free(cand);
	}
	*cause = xstrdup(uv_strerror(UV_ENOENT));
	return -1;
}

/* "--groups" value: the gids, comma-separated (empty: none). */
static char *
spawn_groups_arg(const struct spawn_plan *p)
{
	char *s = xstrdup(""), *t;
	size_t i;

	for (i = 0; i < p->ngroups; i++) {
		xasprintf(&t, "%s%s%lu", s, i > 0 ? "," : "",
		    (unsigned long)p->groups[i]);
		free(s);
		s = t;
	}
	return s;
}

/*
 * exec (corral-exec) with the options p asks for, then "--" and p's argv:
 * the options exec/corral-exec.c lists. Free with appcfg_strv_free().
 */
char **
spawn_exec_argv(const struct spawn_plan *p, const char *exec)
{
	char **v;
	size_t n, i, k = 0;

	for (n = 0; p->argv[n] != NULL; n++)
		;
	v = xcalloc(n + 2 * p->ncgroup_procs + 16, sizeof *v);
	v[k++] = xstrdup(exec);
	if (p->listen_pid)
		v[k++] = xstrdup("--listen-pid");
	for (i = 0; i < p->ncgroup_procs; i++) {
		v[k++] = xstrdup("--wait");
		v[k++] = xstrdup(p->cgroup_procs[i]);
	}
	if (p->nofile != 0) {
		v[k++] = xstrdup("--nofile");
		xasprintf(&v[k++], "%llu", p->nofile);
	}
	if (p->drop_privs) {
		v[k++] = xstrdup("--uid");
		xasprintf(&v[k++], "%lu", (unsigned long)p->uid);
		v[k++] = xstrdup("--gid");
		xasprintf(&v[k++], "%lu", (unsigned long)p->gid);
		v[k++] = xstrdup("--groups");
		v[k++] = spawn_groups_arg(p);
	}
	if (p->preload != NULL) {
		v[k++] = xstrdup("--preload");
		v[k++] = xstrdup(p->preload);
	}
	v[k++] = xstrdup("--");
	for (i = 0; i < n; i++)
		v[k++] = xstrdup(p->argv[i]);
	return v;
}

/*
 * The program, arguments, environment and folder uv_spawn gets for p
 * (o is otherwise left alone): p's argv, or corral-exec in front of it
 * when p asks for more than execve gives. *argv is the wrapped vector
 * o->args then points to, or NULL; the caller frees it with
 * appcfg_strv_free() after the spawn.
 * Returns 0, or -1 with *cause set (the plan is refused, corral-exec is
 * missing where it is needed, or the program cannot run).
 */
int
spawn_plan_options(const struct spawn_plan *p, uv_process_options_t *o,
    char ***argv, char **cause)
{
	const char *exec = spawn_exec_path();
	int needs = p->listen_pid || p->preload != NULL || p->drop_privs ||
	    p->ncgroup_procs > 0;

	*argv = NULL;
	if (p->refused != NULL) {
		*cause = xstrdup(p->refused);
		return -1;
	}
	if (needs && exec == NULL) {
		*cause = xstrdup("corral-exec is missing");
		return -1;
	}
	if (exec != NULL && (needs || p->nofile != 0)) {
		if (spawn_runnable(p->argv[0], p->envp, cause) == -1)
			return -1;
		*argv = spawn_exec_argv(p, exec);
	}
	o->args = *argv != NULL ? *argv : p->argv;
	o->file = o->args[0];
	o->env = p->envp;
	o->cwd = p->cwd;
	return 0;
}
