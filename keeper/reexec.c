/* SPDX-License-Identifier: ISC */
/*
 * REEXEC: the keeper replaces its own binary without letting go of
 * anything. It first runs the new binary with --protocol (it must answer
 * within KEEPER_CHECK_MS with the same protocol version), then writes its
 * table to a memfd as KP_K* frames (descriptors by number, their CLOEXEC
 * cleared), and execs PATH --restore-fd N --fallback-fd M: the new keeper
 * (same pid: the engine and the apps stay its children) reads the table
 * back and tells the engine. If the new keeper cannot read it, it execs
 * the old binary (M, an fd of the old /proc/self/exe), which restores the
 * table and reports UPDATE_FAILED.
 */
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keeper.h"

#define REEXEC_MAX_TABLE (64u * 1024 * 1024)
#define REEXEC_GRACE_MS 1000    /* past the check's deadline: reap, frame */
#define REEXEC_BUSY "busy (an upgrade, a stop, the engine leaving, a " \
	"re-exec or messages in flight)"

extern char **environ;

/*
 * The --protocol check of a REEXEC runs beside the loop: a binary that
 * hangs (or a path that is a FIFO's script) must not stop the reaping and
 * the engine's requests for KEEPER_CHECK_MS.
 */
static struct {
	pid_t pid;              /* until reaped */
	int fd;                 /* its stdout; -1: no check running */
	char *path;
	char buf[128];
	size_t n;
	uint64_t end;
	int64_t generation;     /* of the engine that asked */
} RC = { 0, -1, NULL, "", 0, 0, 0 };

/* Starts path --protocol; -1 and why when it cannot run. */
static int
reexec_check_start(const char *path, char *why, size_t len)
{
	int p[2];

	if (pipe2(p, O_CLOEXEC) == -1) {
		snprintf(why, len, "cannot run %s: %s", path, strerror(errno));
		return -1;
	}
	if ((RC.path = strdup(path)) == NULL || (RC.pid = fork()) == -1) {
		snprintf(why, len, "cannot run %s: %s", path, strerror(errno));
		free(RC.path);
		RC.path = NULL;
		RC.pid = 0;
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (RC.pid == 0) {
		keeper_default_signals();
		dup2(p[1], 1);
		execl(path, path, "--protocol", (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	(void)fcntl(p[0], F_SETFL, O_NONBLOCK);
	RC.fd = p[0];
	RC.n = 0;
	RC.end = keeper_mono_ms() + KEEPER_CHECK_MS;
	RC.generation = K.generation;
	return 0;
}

/* 0 when what the check read is the answer of KPROTO_VERSION's keeper. */
static int
reexec_check_answer(char *why, size_t len)
{
	char want[64];

	RC.buf[RC.n] = '\0';
	snprintf(want, sizeof want, " protocol %d\n", KPROTO_VERSION);
	if (strncmp(RC.buf, "corral-keeper ", 14) == 0 &&
	    strstr(RC.buf, want))
		return 0;
	snprintf(why, len, "%s --protocol did not answer \"corral-keeper ... "
	    "protocol %d\"", RC.path, KPROTO_VERSION);
	return -1;
}

/* A child reaped by reap.c: 1 when it was the check's. */
int
reexec_reaped(pid_t pid)
{
	if (RC.pid <= 0 || pid != RC.pid)
		return 0;
	RC.pid = 0;
	return 1;
}

int
reexec_check_fd(void)
{
	return RC.fd;
}

uint64_t
reexec_next_deadline(void)
{
	if (RC.path == NULL)
		return 0;
	return RC.fd >= 0 ? RC.end : RC.end + REEXEC_GRACE_MS;
}

static int64_t
reexec_rlim(rlim_t v)
{
	return v == RLIM_INFINITY ? INT64_MAX : (int64_t)v;
}

/*
 * The table as KP_K* frames into b; -1 when one could not be encoded (a
 * table with a record left out must not reach the next keeper).
 */
static int
reexec_encode(struct kproto_buf *b)
{
	struct kproto_msg m;
	struct kheld *h;
	struct kchild *c;
	int bad;

	kproto_msg_init(&m, KP_KSTATE);
	m.pid = K.engine_pid;
	m.sock_fd = K.conn.fd;
	m.exe_fd = K.exe_fd;
	m.lock_fd = K.lock_fd;
	m.ready_fd = K.ready_fd;
	m.generation = K.generation;
	m.status = K.ever_ready;
	m.text = K.engine_path;
	m.nofile_cur = reexec_rlim(K.nofile.rlim_cur);
	m.nofile_max = reexec_rlim(K.nofile.rlim_max);
	m.timeout_ms = K.apps_stop_ms;
	m.adopt_fd = K.adopt_rx;
	m.adopt_tx = K.adopt_tx;
	bad = kproto_encode(&m, b) != 0;
	TAILQ_FOREACH(h, &K.held, entry) {
		kproto_msg_init(&m, KP_KHELD);
		m.tag = h->tag;
		m.fd = h->fd;
		bad |= kproto_encode(&m, b) != 0;
	}
	TAILQ_FOREACH(c, &K.children, entry) {
		kproto_msg_init(&m, KP_KCHILD);
		m.tag = c->tag;
		m.pid = c->pid;
		m.out_fd = c->out;
		m.err_fd = c->err;
		m.started_at = c->started_at;
		m.signal = c->kill_signal;
		if (c->exited)
			m.status = c->status;
		bad |= kproto_encode(&m, b) != 0;
	}
	kproto_msg_init(&m, KP_KEND);
	bad |= kproto_encode(&m, b) != 0;
	return bad ? -1 : 0;
}

/* Every descriptor of the table survives exec (on=0) or not (on=1). */
void
reexec_cloexec(int on)
{
	struct kheld *h;
	struct kchild *c;

	keeper_cloexec(K.conn.fd, on);
	keeper_cloexec(K.exe_fd, on);
	keeper_cloexec(K.lock_fd, on);
	keeper_cloexec(K.adopt_rx, on);
	keeper_cloexec(K.adopt_tx, on);
	keeper_cloexec(K.ready_fd, on);
	TAILQ_FOREACH(h, &K.held, entry)
		keeper_cloexec(h->fd, on);
	TAILQ_FOREACH(c, &K.children, entry) {
		keeper_cloexec(c->out, on);
		keeper_cloexec(c->err, on);
	}
}

/* The table in a memfd that survives exec; -1 and why on failure. */
static int
reexec_memfd(char *why, size_t len)
{
	struct kproto_buf b;
	int fd;

	memset(&b, 0, sizeof b);
	if (reexec_encode(&b) == -1 || b.len > REEXEC_MAX_TABLE) {
		snprintf(why, len, "cannot encode the table");
		kproto_buf_free(&b);
		return -1;
	}
	fd = (int)syscall(SYS_memfd_create, "corral-keeper-table", 0);
	if (fd == -1 || pwrite(fd, b.data, b.len, 0) != (ssize_t)b.len) {
		snprintf(why, len, "memfd: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	kproto_buf_free(&b);
	return fd;
}

/*
 * Execs the keeper at path (or by execfd) with the options in force and
 * the table in memfd. Returns only on failure.
 */
void
reexec_exec(int execfd, const char *path, int memfd, int fallback,
    const char *failed)
{
	char nums[6][24], **argv;
	int n = 0, i;

	if ((argv = calloc((size_t)K.nengine_args + 20, sizeof *argv)) == NULL)
		return;
	argv[n++] = (char *)path;
	if (K.foreground)
		argv[n++] = (char *)"-f";
	if (K.verbose)
		argv[n++] = (char *)"-v";
	snprintf(nums[0], sizeof nums[0], "%lld", (long long)K.heartbeat_ms);
	snprintf(nums[1], sizeof nums[1], "%lld", (long long)K.ready_ms);
	snprintf(nums[2], sizeof nums[2], "%lld", (long long)K.stop_ms);
	snprintf(nums[3], sizeof nums[3], "%d", memfd);
	snprintf(nums[4], sizeof nums[4], "%d", fallback);
	snprintf(nums[5], sizeof nums[5], "%lld", (long long)K.term_ms);
	argv[n++] = (char *)"--heartbeat-timeout";
	argv[n++] = nums[0];
	argv[n++] = (char *)"--ready-timeout";
	argv[n++] = nums[1];
	argv[n++] = (char *)"--stop-timeout";
	argv[n++] = nums[2];
	argv[n++] = (char *)"--term-timeout";
	argv[n++] = nums[5];
	argv[n++] = (char *)"--restore-fd";
	argv[n++] = nums[3];
	if (fallback >= 0) {
		argv[n++] = (char *)"--fallback-fd";
		argv[n++] = nums[4];
	}
	if (failed != NULL) {
		argv[n++] = (char *)"--reexec-failed";
		argv[n++] = (char *)failed;
	}
	argv[n++] = (char *)"--";
	for (i = 0; i < K.nengine_args; i++)
		argv[n++] = K.engine_args[i];
	notify_env_put();       /* the next keeper talks to systemd too */
	if (execfd >= 0)
		syscall(SYS_execveat, execfd, "", argv, environ, AT_EMPTY_PATH);
	else
		execve(path, argv, environ);
	notify_env_strip();
	free(argv);
}

static void
reexec_failed(const char *why)
{
	struct kproto_msg m;
	char text[600];

	snprintf(text, sizeof text, "keeper re-exec: %s", why);
	klog_warnx("%s", text);
	kproto_msg_init(&m, KP_UPDATE_FAILED);
	m.text = text;
	engine_send(&m);
}

/*
 * A frame from the engine half read, or descriptors that came ahead of
 * their frame: the exec would lose them (the engine's next frame would
 * then be read from its middle).
 */
static int
reexec_mid_frame(void)
{
	return K.conn.hdr_len != 0 || K.conn.nfifo != 0;
}

/* Busy when the keeper's state must not be frozen into a table now. */
static int
reexec_busy(void)
{
	return K.trial_fd >= 0 || K.upgrade_path != NULL || K.stopping ||
	    K.alone || K.bye || reexec_mid_frame() ||
	    kproto_conn_flush(&K.conn) != 0;
}

/* REEXEC: the check starts; reexec_check_end() goes on from there. */
void
reexec_run(const char *path)
{
	char why[512];

	if (RC.path != NULL || reexec_busy()) {
		reexec_failed(REEXEC_BUSY);
		return;
	}
	if (reexec_check_start(path, why, sizeof why) == -1)
		reexec_failed(why);
}

/*
 * The answer is in, or the time is up: the check's process is killed, and
 * reaped by reap.c (the next keeper would report an exit of a stranger).
 */
static void
reexec_check_close(void)
{
	close(RC.fd);
	RC.fd = -1;
	if (RC.pid > 0)
		(void)kill(RC.pid, SIGKILL);
}

/* The check is over and its process reaped: the re-exec, or why not. */
static void
reexec_check_end(void)
{
	char why[512];
	int memfd, fallback, ok;

	ok = reexec_check_answer(why, sizeof why) == 0;
	if (RC.generation != K.generation || K.conn.fd < 0)
		klog_warnx("keeper re-exec: dropped, the engine that asked for "
		    "it is gone");
	else if (!ok)
		reexec_failed(why);
	else if (reexec_busy())
		reexec_failed(REEXEC_BUSY);
	else if ((memfd = reexec_memfd(why, sizeof why)) == -1)
		reexec_failed(why);
	else {
		fallback = open("/proc/self/exe", O_RDONLY);
		klog_info("re-executing %s", RC.path);
		reexec_cloexec(0);
		reexec_exec(-1, RC.path, memfd, fallback, NULL);
		snprintf(why, sizeof why, "exec %s: %s", RC.path,
		    strerror(errno));
		reexec_cloexec(1);
		close(memfd);
		if (fallback >= 0)
			close(fallback);
		reexec_failed(why);
	}
	free(RC.path);
	RC.path = NULL;
}

/* The check's stdout is readable: its answer, whole at a newline or EOF. */
void
reexec_check_input(void)
{
	ssize_t r;

	r = read(RC.fd, RC.buf + RC.n, sizeof RC.buf - 1 - RC.n);
	if (r == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (r > 0)
		RC.n += (size_t)r;
	if (r <= 0 || RC.n == sizeof RC.buf - 1 ||
	    memchr(RC.buf, '\n', RC.n) != NULL)
		reexec_check_close();
}

void
reexec_tick(uint64_t now)
{
	if (RC.path == NULL)
		return;
	if (RC.fd >= 0 && now >= RC.end)
		reexec_check_close();
	if (RC.fd >= 0)
		return;
	/*
	 * The exec waits for the check's process to be reaped and for the
	 * link to be between two frames, a second at most past the check's
	 * deadline.
	 */
	if (now < RC.end + REEXEC_GRACE_MS && (RC.pid != 0 ||
	    reexec_mid_frame() || kproto_conn_pending(&K.conn)))
		return;
	reexec_check_end();
}
