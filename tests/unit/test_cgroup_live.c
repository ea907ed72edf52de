/* SPDX-License-Identifier: ISC */
/*
 * Tests of the cgroup module against the real cgroup tree of the machine
 * it runs on: v1 on the development hosts, v2 in the VM harness
 * (tests/vm-cgroup.sh).  Every test works under <own cgroup>/cgtest.<pid>
 * and the group teardown kills and removes whatever is left there, even
 * after a failure.  Skipped (with a message) without root or cgroups.
 * Workloads are forked children that join their cgroup themselves first,
 * as corral-exec does before it execs the app.
 */
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "common.h"
#include "cgroup.h"

#define DEADLINE_MS 60000

static struct cgroup_root *root;
static char *volatile sink;     /* keeps the allocations of workloads */
static char skip_reason[256];

/* One sample of cg, as limits-sample.c takes it: what, then the reads. */
static int
sample(struct cgroup *cg, struct cgroup_usage *u)
{
	return cgroup_sample_read(cg, cgroup_sample_want(cg), u);
}

static uint64_t
now_us(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void
sleep_ms(int ms)
{
	struct timespec	 ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/* Forks fn in its own process group inside cg; fn reports on fd. */
static pid_t
spawn(struct cgroup *cg, void (*fn)(int), int *rfd)
{
	int	 p[2];
	pid_t	 pid;

	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid != -1);
	if (pid == 0) {
		close(p[0]);
		setpgid(0, 0);
		if (cg != NULL && cgroup_join(cg, getpid()) != 0)
			_exit(99);
		fn(p[1]);
		_exit(0);
	}
	close(p[1]);
	*rfd = p[0];
	return pid;
}

/* Reads what the child reports, waiting up to the deadline. */
static ssize_t
report(int fd, char *buf, size_t size)
{
	struct pollfd	 pfd = { fd, POLLIN, 0 };
	ssize_t		 n;

	assert_int_equal(poll(&pfd, 1, DEADLINE_MS), 1);
	n = read(fd, buf, size - 1);
	assert_true(n >= 0);
	buf[n] = '\0';
	return n;
}

static int
wait_exit(pid_t pid)
{
	uint64_t	 end = now_us() + DEADLINE_MS * 1000ULL;
	int		 status;
	pid_t		 r;

	while ((r = waitpid(pid, &status, WNOHANG)) == 0 && now_us() < end)
		sleep_ms(10);
	assert_int_equal(r, pid);
	return status;
}

/* Reaps everything that was reparented to us (we are a subreaper). */
static void
reap_all(void)
{
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

static void
wait_empty(struct cgroup *cg)
{
	uint64_t	 end = now_us() + DEADLINE_MS * 1000ULL;

	while (!cgroup_is_empty(cg) && now_us() < end) {
		reap_all();
		sleep_ms(10);
	}
	assert_true(cgroup_is_empty(cg));
	reap_all();
}

/*
 * Waits until pid is gone, reaping what comes to us meanwhile: a killed
 * task leaves cgroup.procs as it starts to exit, before it is a zombie we
 * can reap (the sanitizer build in a qemu guest saw it still there).
 */
static void
wait_gone(pid_t pid)
{
	uint64_t	 end = now_us() + DEADLINE_MS * 1000ULL;

	while (kill(pid, 0) == 0 && now_us() < end) {
		reap_all();
		sleep_ms(10);
	}
	assert_int_equal(kill(pid, 0), -1);
	assert_int_equal(errno, ESRCH);
}

/* Destroys cg of r and checks that its directories go away. */
static void
destroy_in(struct cgroup_root *r, struct cgroup *cg)
{
	uint64_t	 end = now_us() + DEADLINE_MS * 1000ULL;
	char		*dir = cgroup_path(cg);

	cgroup_destroy(cg);
	while (r->npending > 0 && now_us() < end) {
		sleep_ms(10);
		cgroup_root_gc(r);
	}
	assert_int_equal(access(dir, F_OK), -1);
	free(dir);
}

static void
destroy(struct cgroup *cg)
{
	destroy_in(root, cg);
}

static struct cgroup *
make(const char *app, int instance)
{
	struct cgroup	*cg;
	char		*cause = NULL;

	if (root == NULL || root->backend == CGROUP_NONE)
		skip();
	cg = cgroup_create(root, app, instance, &cause);
	if (cg == NULL)
		fail_msg("cgroup_create: %s", cause);
	return cg;
}

static void
set_limits(struct cgroup *cg, const struct cgroup_limits *lim)
{
	char	*cause = NULL;

	if (cgroup_set_limits(cg, lim, &cause) != 0)
		fail_msg("cgroup_set_limits: %s", cause);
}

static void
work_pause(int fd)
{
	write(fd, "r", 1);
	for (;;)
		pause();
}

static void
work_hog(int fd)
{
	size_t	 i;
	char	*p;

	write(fd, "r", 1);
	for (i = 0; i < 400; i++) {
		if ((p = malloc(1 << 20)) == NULL)
			_exit(2);
		memset(p, (int)i, 1 << 20);
		sink = p;
	}
	_exit(3);
}

static void
work_spin(int fd)
{
	volatile unsigned long	 n = 0;

	write(fd, "r", 1);
	for (;;)
		n++;
}

static void
work_forkbomb(int fd)
{
	int	 i, ok = 0, failed = 0;
	char	 buf[64];
	pid_t	 pid;

	for (i = 0; i < 30; i++) {
		if ((pid = fork()) == 0) {
			for (;;)
				pause();
		}
		if (pid == -1)
			failed++;
		else
			ok++;
	}
	snprintf(buf, sizeof buf, "%d %d", ok, failed);
	write(fd, buf, strlen(buf));
	for (;;)
		pause();
}

/* Leaves its process group and session through setsid + double fork. */
static void
work_escape(int fd)
{
	char	 buf[32];
	pid_t	 pid;

	if (fork() == 0) {
		setsid();
		if ((pid = fork()) == 0) {
			snprintf(buf, sizeof buf, "%ld", (long)getpid());
			write(fd, buf, strlen(buf));
			for (;;)
				pause();
		}
		_exit(0);
	}
	for (;;)
		pause();
}

static void
work_child_alloc(int fd)
{
	size_t	 size = 64 << 20;
	char	*p;

	if (fork() == 0) {
		if ((p = malloc(size)) == NULL)
			_exit(2);
		memset(p, 1, size);
		sink = p;
		write(fd, "r", 1);
		for (;;)
			pause();
	}
	for (;;)
		pause();
}

static void
work_exec_cat(int fd)
{
	dup2(fd, 1);
	execl("/bin/cat", "cat", "/proc/self/cgroup", (char *)NULL);
	_exit(127);
}

static void
test_layout_and_join(void **state)
{
	struct cgroup	*cg = make("app", 0);
	char		 buf[4096];
	char		*dir;
	pid_t		 pid, *pids;
	size_t		 n;
	int		 fd, h, status;

	(void)state;
	for (h = 0; h < root->nhier; h++) {
		snprintf(buf, sizeof buf, "%s/app.app/0", root->hier[h].top);
		assert_int_equal(access(buf, F_OK), 0);
	}
	/* The exec'd program already sits in the instance's cgroup. */
	pid = spawn(cg, work_exec_cat, &fd);
	status = wait_exit(pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	report(fd, buf, sizeof buf);
	close(fd);
	dir = cgroup_path(cg);
	assert_non_null(strstr(buf, "/app.app/0\n"));
	assert_non_null(strstr(dir, root->name));
	free(dir);
	pid = spawn(cg, work_pause, &fd);
	report(fd, buf, sizeof buf);
	assert_int_equal(cgroup_pids(cg, &pids, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(pids[0], pid);
	free(pids);
	assert_false(cgroup_is_empty(cg));
	assert_int_equal(cgroup_kill(cg, SIGKILL), 1);
	status = wait_exit(pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	close(fd);
	wait_empty(cg);
	destroy(cg);
}

/* A descriptor that turns readable on cg's next OOM event. */
static int
oom_events(struct cgroup *cg)
{
	char	*path;
	int	 fd;

	if (root->backend == CGROUP_V1) {
		fd = cgroup_oom_eventfd(cg);
		assert_true(fd >= 0);
		return fd;
	}
	assert_int_equal(cgroup_oom_eventfd(cg), -ENOTSUP);
	assert_non_null(path = cgroup_oom_events_file(cg));
	assert_true((fd = inotify_init1(IN_CLOEXEC)) >= 0);
	assert_true(inotify_add_watch(fd, path, IN_MODIFY) >= 0);
	free(path);
	return fd;
}

static void
test_oom_kill(void **state)
{
	struct cgroup_limits	 lim = { .max_memory = 50 << 20 };
	struct cgroup_usage	 u;
	struct cgroup		*cg = make("hog", 0);
	struct pollfd		 pfd = { -1, POLLIN, 0 };
	char			 buf[8];
	uint64_t		 n;
	pid_t			 pid;
	int			 fd, efd, status;

	(void)state;
	set_limits(cg, &lim);
	assert_int_equal(cgroup_read_usage(cg, &u), 0);
	assert_int_equal(u.oom_kills, 0);
	efd = oom_events(cg);
	pid = spawn(cg, work_hog, &fd);
	report(fd, buf, sizeof buf);
	status = wait_exit(pid);
	close(fd);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGKILL);
	assert_int_equal(cgroup_read_usage(cg, &u), 0);
	assert_true(u.flags & CGROUP_MEMORY);
	assert_true(u.oom_kills >= 1);
	assert_int_equal(cgroup_oom_kills(cg, &n), 0);
	assert_int_equal(n, u.oom_kills);
	/* The kernel told: eventfd (v1) or memory.events modified (v2). */
	pfd.fd = efd;
	assert_int_equal(poll(&pfd, 1, 0), 1);
	close(efd);
	wait_empty(cg);
	destroy(cg);
}

static void
test_cpu_quota(void **state)
{
	struct cgroup_limits	 lim = { .cpu_milli = 200 };
	struct cgroup_usage	 u0, u1;
	struct cgroup		*cg = make("spin", 0);
	uint64_t		 t0, t1;
	double			 pct;
	char			 buf[8];
	pid_t			 pid;
	int			 fd;

	(void)state;
	if (!(root->controllers & CGROUP_CPU))
		skip();
	set_limits(cg, &lim);
	pid = spawn(cg, work_spin, &fd);
	report(fd, buf, sizeof buf);
	sleep_ms(300);
	assert_int_equal(cgroup_read_usage(cg, &u0), 0);
	t0 = now_us();
	sleep_ms(4000);
	assert_int_equal(cgroup_read_usage(cg, &u1), 0);
	t1 = now_us();
	pct = cgroup_cpu_percent(u0.cpu_usec, u1.cpu_usec, t0, t1);
	print_message("busy loop under cpu 20%%: %.1f%% of a core\n", pct);
	assert_true(pct > 1.0);
	assert_true(pct <= 30.0);
	cgroup_kill(cg, SIGKILL);
	wait_exit(pid);
	close(fd);
	wait_empty(cg);
	destroy(cg);
}

static void
test_max_pids(void **state)
{
	struct cgroup_limits	 lim = { .max_pids = 8 };
	struct cgroup_usage	 u;
	struct cgroup		*cg = make("bomb", 0);
	char			 buf[64];
	pid_t			 pid;
	int			 fd, ok, failed;

	(void)state;
	if (!(root->controllers & CGROUP_PIDS))
		skip();
	set_limits(cg, &lim);
	pid = spawn(cg, work_forkbomb, &fd);
	report(fd, buf, sizeof buf);
	assert_int_equal(sscanf(buf, "%d %d", &ok, &failed), 2);
	assert_true(ok <= 7);
	assert_true(failed >= 23);
	assert_int_equal(cgroup_read_usage(cg, &u), 0);
	assert_true(u.pids <= 8);
	assert_true(cgroup_kill(cg, SIGKILL) >= 1 + ok);
	wait_exit(pid);
	close(fd);
	wait_empty(cg);
	destroy(cg);
}

static void
test_kill_escaped_tree(void **state)
{
	struct cgroup	*cg = make("tree", 0);
	char		 buf[32];
	pid_t		 pid, gc;
	int		 fd;

	(void)state;
	pid = spawn(cg, work_escape, &fd);
	report(fd, buf, sizeof buf);
	gc = (pid_t)atol(buf);
	assert_true(gc > 0);
	assert_true(getpgid(gc) != pid);
	assert_true(getsid(gc) != getsid(pid));
	assert_true(cgroup_kill(cg, SIGKILL) >= 2);
	wait_exit(pid);
	close(fd);
	wait_empty(cg);
	wait_gone(gc);
	destroy(cg);
}

/* The freeze, kill, thaw path of kernels without cgroup.kill (v2 < 5.14). */
static void
test_kill_escaped_tree_by_freezing(void **state)
{
	int	 saved = root != NULL ? root->controllers : 0;

	if (root == NULL || root->backend == CGROUP_NONE)
		skip();
	if (!(root->controllers & CGROUP_FREEZER))
		skip();
	root->controllers &= ~CGROUP_KILL;
	test_kill_escaped_tree(state);
	root->controllers = saved;
}

static void
test_memory_counts_children(void **state)
{
	struct cgroup_usage	 u;
	struct cgroup		*cg = make("kids", 0);
	char			 buf[8];
	pid_t			 pid;
	int			 fd;

	(void)state;
	if (!(root->controllers & CGROUP_MEMORY))
		skip();
	pid = spawn(cg, work_child_alloc, &fd);
	report(fd, buf, sizeof buf);
	assert_int_equal(cgroup_read_usage(cg, &u), 0);
	print_message("instance with a 64 MiB child: %llu bytes\n",
	    (unsigned long long)u.memory);
	assert_true(u.memory >= 60 << 20);
	assert_true(u.pids == 0 || u.pids == 2);
	/*
	 * Sampling reads memory.stat once in ten and reuses its cache size;
	 * turn 0 of ten: read at the first sample, not at the second.
	 */
	root->nstagger = 0;
	assert_int_equal(sample(cg, &u), 0);
	assert_true(u.flags & CGROUP_FILESTAT);
	assert_true(u.memory >= 60 << 20);
	assert_int_equal(sample(cg, &u), 0);
	assert_false(u.flags & CGROUP_FILESTAT);
	assert_true(u.flags & CGROUP_CPUACCT);
	assert_true(u.memory >= 60 << 20);
	/* The same through the held stat files, within a cap. */
	assert_int_equal(cgroup_stat_hold(cg, 1, 1), -EMFILE);
	assert_null(cg->stat);
	assert_int_equal(cgroup_stat_hold(cg, 1, 100), 0);
	assert_int_equal(root->nheld, 2);       /* memory, CPU: not memory.stat */
	cg->nsamples = 0;
	assert_int_equal(sample(cg, &u), 0);
	assert_true(u.flags & CGROUP_FILESTAT);
	assert_true(u.flags & CGROUP_CPUACCT);
	assert_true(u.memory >= 60 << 20 && u.memory < 200 << 20);
	assert_int_equal(sample(cg, &u), 0);
	assert_true(u.cpu_usec > 0 && u.memory >= 60 << 20);
	cgroup_stat_expire(root, 5, 10);
	assert_non_null(cg->stat);
	cgroup_stat_expire(root, 11, 10);
	assert_null(cg->stat);
	assert_int_equal(root->nheld, 0);
	assert_int_equal(cgroup_stat_hold(cg, 20, 100), 0);
	cgroup_kill(cg, SIGKILL);
	wait_exit(pid);
	close(fd);
	wait_empty(cg);
	destroy(cg);
}

static void
check_file(struct cgroup *cg, int bit, const char *file, const char *want)
{
	char	 buf[128];
	char	*dir = cgroup_dir_for(cg, bit);

	assert_non_null(dir);
	assert_true(cgroup_file_read(dir, file, buf, sizeof buf) > 0);
	free(dir);
	buf[strcspn(buf, "\n")] = '\0';
	assert_string_equal(buf, want);
}

static void
test_set_limits_running(void **state)
{
	struct cgroup_limits	 lim = { .max_memory = 100 << 20,
	    .cpu_milli = 1500, .max_pids = 50 };
	struct cgroup		*cg = make("live", 1);
	json_t			*o;
	char			 buf[8];
	pid_t			 pid;
	int			 fd, v2 = root->backend == CGROUP_V2;

	(void)state;
	pid = spawn(cg, work_pause, &fd);
	report(fd, buf, sizeof buf);
	set_limits(cg, &lim);
	check_file(cg, CGROUP_MEMORY, v2 ? "memory.max" :
	    "memory.limit_in_bytes", "104857600");
	check_file(cg, CGROUP_CPU, v2 ? "cpu.max" : "cpu.cfs_quota_us",
	    v2 ? "150000 100000" : "150000");
	check_file(cg, CGROUP_PIDS, "pids.max", "50");
	lim.max_memory = 60 << 20;
	set_limits(cg, &lim);
	check_file(cg, CGROUP_MEMORY, v2 ? "memory.max" :
	    "memory.limit_in_bytes", "62914560");
	o = cgroup_describe(cg, &lim);
	assert_string_equal(json_string_value(json_object_get(o, "backend")),
	    cgroup_backend_name(root->backend));
	assert_int_equal(json_integer_value(json_object_get(json_object_get(
	    o, "limits"), "max_memory")), 60 << 20);
	assert_non_null(json_object_get(json_object_get(o, "usage"),
	    "memory"));
	json_decref(o);
	memset(&lim, 0, sizeof lim);
	set_limits(cg, &lim);
	check_file(cg, CGROUP_PIDS, "pids.max", "max");
	check_file(cg, CGROUP_CPU, v2 ? "cpu.max" : "cpu.cfs_quota_us",
	    v2 ? "max 100000" : "-1");
	assert_int_equal(kill(pid, 0), 0);
	cgroup_kill(cg, SIGKILL);
	wait_exit(pid);
	close(fd);
	wait_empty(cg);
	destroy(cg);
}

/* Another daemon's sweep may remove our empty tops: they come back. */
static void
test_top_made_again(void **state)
{
	struct cgroup	*cg;
	char		 buf[8];
	pid_t		 pid;
	int		 h, fd;

	(void)state;
	if (root == NULL || root->backend == CGROUP_NONE)
		skip();
	cgroup_root_gc(root);
	for (h = 0; h < root->nhier; h++)
		assert_int_equal(cgroup_rmdir(root->hier[h].top), 0);
	cg = make("again", 0);
	pid = spawn(cg, work_pause, &fd);
	report(fd, buf, sizeof buf);
	assert_false(cgroup_is_empty(cg));
	assert_true(cgroup_kill(cg, SIGKILL) >= 1);
	wait_exit(pid);
	close(fd);
	wait_empty(cg);
	destroy(cg);
}

static void
mkdirs3(const char *own, const char *top)
{
	char	*dir;

	xasprintf(&dir, "%s/%s", own, top);
	assert_true(mkdir(dir, 0755) == 0 || errno == EEXIST);
	free(dir);
	xasprintf(&dir, "%s/%s/app", own, top);
	assert_int_equal(mkdir(dir, 0755), 0);
	free(dir);
	xasprintf(&dir, "%s/%s/app/0", own, top);
	assert_int_equal(mkdir(dir, 0755), 0);
	free(dir);
}

static int
exists(const char *own, const char *rel)
{
	char	*dir;
	int	 r;

	xasprintf(&dir, "%s/%s", own, rel);
	r = access(dir, F_OK) == 0;
	free(dir);
	return r;
}

/*
 * 1 when a child process cannot take the flock() of dir (a live root
 * holds it), 0 when it can, -1 on error.
 */
static int
lock_taken_elsewhere(const char *dir)
{
	pid_t	 pid;
	int	 status, fd;

	if ((pid = fork()) == -1)
		return -1;
	if (pid == 0) {
		if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
			_exit(3);
		if (flock(fd, LOCK_EX | LOCK_NB) == -1)
			_exit(errno == EWOULDBLOCK ? 1 : 3);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) > 1)
		return -1;
	return WEXITSTATUS(status);
}

/*
 * A starting daemon sweeps only what dead daemons left: a live daemon's
 * empty instance cgroup (made, not yet joined) stays, an unlocked
 * leftover goes, and a second daemon may not take a live daemon's top.
 */
static void
test_sweep_spares_live_tops(void **state)
{
	struct cgroup_root	*live, *twin;
	struct cgroup		*cg;
	char			 name[64], dead[64], *cause = NULL, *rel;
	int			 h;

	(void)state;
	if (root == NULL || root->backend == CGROUP_NONE)
		skip();
	/* Not corral.*: daemons of older versions swept those unlocked. */
	snprintf(name, sizeof name, "cgsweep.%ld-live", (long)getpid());
	snprintf(dead, sizeof dead, "cgsweep.%ld-dead", (long)getpid());
	live = cgroup_root_create(name, CGROUP_ROOT_NO_SCOPE);
	assert_int_equal(live->backend, root->backend);
	cg = cgroup_create(live, "app", 0, &cause);
	assert_non_null(cg);
	/* Paths below live's own cgroup: on v2 it may have moved us. */
	for (h = 0; h < live->nhier; h++)
		mkdirs3(live->hier[h].own, dead);
	/* Another process cannot take the live top's lock. */
	for (h = 0; h < live->nhier; h++)
		assert_int_equal(lock_taken_elsewhere(live->hier[h].top), 1);
	/*
	 * A second root of the same name in this process: on v2 a root that
	 * shares its cgroup with processes moves the process into a leaf
	 * first, so a second root here starts from another cgroup than the
	 * live one and is no twin (live->leaf says it moved); elsewhere it
	 * must find the top locked.
	 */
	twin = cgroup_root_create(name, CGROUP_ROOT_NO_SCOPE);
	if (live->leaf == NULL) {
		assert_int_equal(twin->backend, CGROUP_NONE);
		assert_non_null(strstr(twin->cause,
		    "locked by another live daemon"));
	}
	cgroup_root_teardown(twin);
	cgroup_root_free(twin);
	xasprintf(&rel, "%s/app.app/0", name);
	for (h = 0; h < live->nhier; h++) {
		assert_true(cgroup_lock_sweep_others(live->hier[h].own,
		    "cgsweep") >= 1);
		assert_false(exists(live->hier[h].own, dead));
		assert_true(exists(live->hier[h].own, rel));
	}
	free(rel);
	destroy_in(live, cg);
	cgroup_root_teardown(live);
	for (h = 0; h < live->nhier; h++)
		assert_int_equal(access(live->hier[h].top, F_OK), -1);
	cgroup_root_free(live);
}

/* The fallback: no cgroups, one process group, accounting from /proc. */
static void
test_fallback_process_group(void **state)
{
	struct cgroup_root	*off;
	struct cgroup_usage	 u;
	char			*cause = NULL, buf[8];
	pid_t			 pid;
	int			 fd;

	(void)state;
	setenv("CORRAL_CGROUP", "off", 1);
	off = cgroup_root_create("cgtest-off", 0);
	unsetenv("CORRAL_CGROUP");
	assert_int_equal(off->backend, CGROUP_NONE);
	assert_non_null(strstr(off->cause, "off"));
	assert_null(cgroup_create(off, "app", 0, &cause));
	assert_non_null(cause);
	free(cause);
	pid = spawn(NULL, work_child_alloc, &fd);
	report(fd, buf, sizeof buf);
	assert_int_equal(cgroup_proc_usage(&pid, 1, &u), 0);
	assert_int_equal(u.pids, 2);
	assert_true(u.memory >= 60 << 20);
	assert_int_equal(cgroup_proc_kill(pid, SIGKILL), 0);
	wait_exit(pid);
	close(fd);
	sleep_ms(50);
	reap_all();
	assert_int_equal(cgroup_proc_usage(&pid, 1, &u), 0);
	assert_int_equal(u.pids, 0);
	cgroup_root_teardown(off);
	cgroup_root_free(off);
}

/* Kills and removes whatever a failed test left under dir. */
static void
nuke(const char *dir)
{
	struct dirent	*de;
	DIR		*d;
	char		*sub;
	int		 i;

	if ((d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		xasprintf(&sub, "%s/%s", dir, de->d_name);
		nuke(sub);
		free(sub);
	}
	closedir(d);
	for (i = 0; i < 500; i++) {
		cgroup_kill_pids(dir, SIGKILL);
		reap_all();
		if (rmdir(dir) == 0 || errno == ENOENT)
			return;
		sleep_ms(10);
	}
	fprintf(stderr, "could not remove %s: %s\n", dir, strerror(errno));
}

/*
 * As root the test works under its own cgroup.  As another user it runs
 * only with CGTEST_SCOPE=1 (the systemd VM): then it must get a delegated
 * transient scope from the user's systemd over sd-bus.
 */
static int
group_setup(void **state)
{
	char	 name[64];
	int	 want_scope = getenv("CGTEST_SCOPE") != NULL;

	(void)state;
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	if (geteuid() != 0 && !want_scope) {
		snprintf(skip_reason, sizeof skip_reason, "not root");
		return 0;
	}
	snprintf(name, sizeof name, "cgtest.%ld", (long)getpid());
	root = cgroup_root_create(name, want_scope ? 0 : CGROUP_ROOT_NO_SCOPE);
	if (want_scope && geteuid() != 0 && root->scope == NULL) {
		fprintf(stderr, "no delegated scope: %s\n", root->cause);
		return -1;
	}
	if (root->backend == CGROUP_NONE)
		snprintf(skip_reason, sizeof skip_reason, "%s", root->cause);
	else
		print_message("cgroup backend %s, top %s%s%s\n",
		    cgroup_backend_name(root->backend), root->hier[0].top,
		    root->scope != NULL ? ", scope " : "",
		    root->scope != NULL ? root->scope : "");
	return 0;
}

static int
group_teardown(void **state)
{
	int	 h;

	(void)state;
	if (root == NULL)
		return 0;
	for (h = 0; h < root->nhier; h++)
		nuke(root->hier[h].top);
	cgroup_root_teardown(root);
	for (h = 0; h < root->nhier; h++) {
		if (access(root->hier[h].top, F_OK) == 0) {
			fprintf(stderr, "left behind: %s\n", root->hier[h].top);
			return -1;
		}
	}
	cgroup_root_free(root);
	reap_all();
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout_and_join),
		cmocka_unit_test(test_oom_kill),
		cmocka_unit_test(test_cpu_quota),
		cmocka_unit_test(test_max_pids),
		cmocka_unit_test(test_kill_escaped_tree),
		cmocka_unit_test(test_kill_escaped_tree_by_freezing),
		cmocka_unit_test(test_memory_counts_children),
		cmocka_unit_test(test_set_limits_running),
		cmocka_unit_test(test_top_made_again),
		cmocka_unit_test(test_sweep_spares_live_tops),
		cmocka_unit_test(test_fallback_process_group),
	};
	int	 r;

	r = cmocka_run_group_tests(tests, group_setup, group_teardown);
	if (skip_reason[0] != '\0')
		printf("cgroup live tests skipped: %s\n", skip_reason);
	return r;
}
