/* SPDX-License-Identifier: ISC */
/*
 * The fake engine's spawns, as the real engine does them (spawn-exec.c,
 * spawn-clone.c, spawn-child.c: clone3 with CLONE_PARENT, the adopt
 * datagram, exec). The test sends one record: "spawn", tag, flags, kill
 * signal, cwd, preload ("" for none), whether a cgroup v2 directory
 * comes, the number of descriptors for 3.., the cgroup files, argv and
 * envp (each list after its count), all NUL-separated, with the adopt
 * socket, the cgroup directory and the descriptors attached. The answer:
 * "ok PID" with out, err[, pidfd], or "fail ERRNO STAGE". Test use only.
 */
#include <sys/socket.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spawn-exec.h"
#include "fake-engine.h"

#define FAKE_SETSID 1
#define FAKE_LISTEN_PID 2

struct fake_req {
	char *f[4096];
	size_t n, i;
};

static const char *
fake_next(struct fake_req *r)
{
	return r->i < r->n ? r->f[r->i++] : NULL;
}

/* A list after its count, NULL-terminated in place of r's own array. */
static char **
fake_list(struct fake_req *r, size_t *count)
{
	const char *s = fake_next(r);
	size_t k = s != NULL ? strtoul(s, NULL, 10) : 0, j;
	char **v = calloc(k + 1, sizeof *v);

	for (j = 0; v != NULL && j < k; j++)
		v[j] = (char *)fake_next(r);
	if (count != NULL)
		*count = k;
	return v;
}

static void
fake_answer(int s, const struct spawn_result *res, int err, const char *st)
{
	char line[128];
	int fds[3] = { res->out, res->err, res->pidfd }, n;

	if (st != NULL) {
		n = snprintf(line, sizeof line, "fail %d %s", err, st);
		(void)!send(s, line, (size_t)n, 0);
		return;
	}
	n = snprintf(line, sizeof line, "ok %d", (int)res->pid);
	(void)fake_send(s, fds, res->pidfd >= 0 ? 3 : 2, line, (size_t)n);
	close(res->out);
	close(res->err);
	if (res->pidfd >= 0)
		close(res->pidfd);
}

/* Fills p from the record; fds[0] is the adopt socket. */
static void
fake_plan(struct fake_req *r, const int *fds, struct spawn_plan *p)
{
	const char *s;
	int flags, cg;

	memset(p, 0, sizeof *p);
	p->tag = (char *)fake_next(r);
	flags = atoi((s = fake_next(r)) != NULL ? s : "0");
	p->kill_signal = atoi((s = fake_next(r)) != NULL ? s : "15");
	p->cwd = (s = fake_next(r)) != NULL && *s != '\0' ? (char *)s : NULL;
	p->preload = (s = fake_next(r)) != NULL && *s != '\0' ? (char *)s :
	    NULL;
	cg = atoi((s = fake_next(r)) != NULL ? s : "0");
	p->nfds = strtoul((s = fake_next(r)) != NULL ? s : "0", NULL, 10);
	p->cgroup_dirfd = cg ? fds[1] : -1;
	p->fds = (int *)fds + 1 + cg;
	p->cgroup_procs = fake_list(r, &p->ncgroup_procs);
	p->argv = fake_list(r, NULL);
	p->envp = fake_list(r, NULL);
	p->listen_pid = (flags & FAKE_LISTEN_PID) != 0;
	p->umask = 022;
}

/* One spawn request of the test (buf, len, with nfds descriptors). */
void
fake_spawn(int s, char *buf, size_t len, int *fds, size_t nfds)
{
	struct fake_req r = { .n = 0, .i = 1 };
	struct spawn_exec x;
	struct spawn_exec_mem mm;
	struct spawn_result res;
	struct spawn_plan p;
	const char *stage = NULL;
	size_t off = 0, i;
	int err = 0;

	while (off < len && r.n < sizeof r.f / sizeof r.f[0]) {
		r.f[r.n++] = buf + off;
		off += strlen(buf + off) + 1;
	}
	memset(&res, 0, sizeof res);
	fake_plan(&r, fds, &p);
	if (nfds < 1 || p.tag == NULL || p.argv == NULL || p.argv[0] == NULL)
		fake_answer(s, &res, 22, "request");
	else {
		spawn_exec_make(&p, fds[0], &x, &mm);
		if (getenv("FAKE_ENGINE_SPAWN_DELAY_MS") != NULL)
			x.delay_ms = (unsigned)atoi(
			    getenv("FAKE_ENGINE_SPAWN_DELAY_MS"));
		if (spawn_clone(&x, &res, &stage) == -1)
			err = errno;
		else
			stage = NULL;
		spawn_exec_free(&mm);
		fake_answer(s, &res, err, stage);
	}
	free(p.cgroup_procs);
	free(p.argv);
	free(p.envp);
	for (i = 0; i < nfds; i++)
		close(fds[i]);
}
