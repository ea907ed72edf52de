/* SPDX-License-Identifier: ISC */
/*
 * The other half of REEXEC (reexec.c): the new keeper reads the table the
 * old one left in a memfd, takes back its descriptors (CLOEXEC again) and
 * tells the engine with a HELLO of kind "reexec". A table it cannot read
 * sends it back to the old binary by the fallback descriptor, touching no
 * descriptor, so that the old keeper restores the table and reports the
 * failure to the engine.
 */
#include <sys/prctl.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keeper.h"

#define RESTORE_MAX (64u * 1024 * 1024)

static int
restore_fd_ok(int64_t fd)
{
	return fd >= 0 && fd <= 0x7fffffff && fcntl((int)fd, F_GETFD) != -1;
}

static rlim_t
restore_rlim(int64_t v)
{
	return v == INT64_MAX ? RLIM_INFINITY : (rlim_t)v;
}

static int
restore_state(const struct kproto_msg *m)
{
	if (m->text == NULL || !restore_fd_ok(m->exe_fd) ||
	    !restore_fd_ok(m->lock_fd) || !restore_fd_ok(m->adopt_fd) ||
	    !restore_fd_ok(m->adopt_tx) || m->nofile_cur < 0 ||
	    m->nofile_max < 0)
		return -1;
	if (m->pid > 0 && restore_fd_ok(m->sock_fd)) {
		K.engine_pid = (pid_t)m->pid;
		kproto_conn_init(&K.conn, (int)m->sock_fd);
	}
	K.exe_fd = (int)m->exe_fd;
	K.lock_fd = (int)m->lock_fd;
	K.adopt_rx = (int)m->adopt_fd;
	K.adopt_tx = (int)m->adopt_tx;
	K.ready_fd = restore_fd_ok(m->ready_fd) ? (int)m->ready_fd : -1;
	K.generation = m->generation;
	K.ever_ready = K.engine_ready = m->status == 1;
	K.nofile.rlim_cur = restore_rlim(m->nofile_cur);
	K.nofile.rlim_max = restore_rlim(m->nofile_max);
	K.apps_stop_ms = m->timeout_ms > 0 ? m->timeout_ms : 0;
	free(K.engine_path);
	return (K.engine_path = strdup(m->text)) != NULL ? 0 : -1;
}

static int
restore_record(const struct kproto_msg *m)
{
	struct kchild *c;

	switch (m->type) {
	case KP_KHELD:
		if (m->tag == NULL || !restore_fd_ok(m->fd))
			return -1;
		return table_hold(m->tag, (int)m->fd);
	case KP_KCHILD:
		if (m->tag == NULL || m->pid <= 0 || !restore_fd_ok(m->out_fd) ||
		    !restore_fd_ok(m->err_fd))
			return -1;
		c = table_child_add(m->tag, (pid_t)m->pid, (int)m->out_fd,
		    (int)m->err_fd, m->started_at);
		if (c == NULL)
			return -1;
		if (m->signal > 0 && m->signal < NSIG)
			c->kill_signal = (int)m->signal;
		if (m->status >= 0) {
			c->exited = 1;
			c->status = (int)m->status;
		}
		return 0;
	}
	return -1;
}

/* Reads the frames of the memfd into K. 0, or -1 with why. */
static int
restore_table(int fd, char *why, size_t len)
{
	struct kproto_msg m;
	struct stat st;
	unsigned char *buf;
	size_t off = 0, used;
	int r = -1, seen_state = 0;

	if (fstat(fd, &st) == -1 || st.st_size <= 0 ||
	    (uint64_t)st.st_size > RESTORE_MAX ||
	    (buf = malloc((size_t)st.st_size)) == NULL ||
	    pread(fd, buf, (size_t)st.st_size, 0) != st.st_size) {
		snprintf(why, len, "cannot read the table");
		return -1;
	}
	while (kproto_decode_frame(buf + off, (size_t)st.st_size - off,
	    &used, &m) == 1) {
		off += used;
		if (m.type == KP_KEND)
			r = seen_state ? 0 : -1;
		else if (m.type == KP_KSTATE)
			seen_state = restore_state(&m) == 0;
		else if (!seen_state || restore_record(&m) == -1)
			seen_state = 0;
		kproto_msg_free(&m);
		if (m.type == KP_KEND || !seen_state)
			break;
	}
	free(buf);
	if (r == -1)
		snprintf(why, len, "the table is incomplete or malformed");
	return r;
}

static void
restore_done(const char *failed)
{
	struct kproto_msg m;
	char text[600];

	reexec_cloexec(1);      /* the adopt socket's ends too */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) == -1)
		klog_warn("PR_SET_CHILD_SUBREAPER");
	K.engine_started = K.last_heard = keeper_mono_ms();
	K.engine_ready_at = K.engine_ready ? K.engine_started : 0;
	klog_info("corral-keeper %s re-executed: %d held, %d children%s",
	    KEEPER_VERSION, K.nheld, K.nchildren, failed != NULL ?
	    " (back to the old binary)" : "");
	notify_status("keeper %s re-executed%s", KEEPER_VERSION,
	    failed != NULL ? " (back to the old binary)" : "");
	K.next_kind = KP_KIND_REEXEC;
	link_hello();
	K.next_kind = KP_KIND_RESTART;
	if (failed != NULL) {
		snprintf(text, sizeof text, "keeper re-exec: %s", failed);
		kproto_msg_init(&m, KP_UPDATE_FAILED);
		m.text = text;
		engine_send(&m);
	}
	reap_children();
}

/*
 * Rebuilds K from the memfd; failed is set when this is the old binary
 * taken back after the new one failed. Falls back or exits on failure.
 */
void
restore_run(int memfd, int fallback, const char *failed)
{
	char why[256];

	if (restore_table(memfd, why, sizeof why) == 0) {
		close(memfd);
		if (fallback >= 0)
			close(fallback);
		restore_done(failed);
		return;
	}
	if (fallback >= 0 && failed == NULL) {
		klog_warnx("cannot restore the table (%s): back to the old "
		    "keeper", why);
		/* closed by the exec: the old keeper is not told of it */
		keeper_cloexec(fallback, 1);
		reexec_exec(fallback, K.self_argv0, memfd, -1, why);
	}
	klog_fatal("cannot restore the table: %s", why);
}
