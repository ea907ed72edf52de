/* SPDX-License-Identifier: ISC */
/*
 * Lines to stderr that never wait. A daemon in the foreground (a
 * container's PID 1, a systemd service) often has a pipe or a socket to a
 * log collector as stderr, and one that stalls must not stall the daemon
 * (the keeper reaps and restarts, the engine serves). A socket
 * (journald's) is written with MSG_DONTWAIT; a pipe or a terminal is
 * opened again through /proc with O_NONBLOCK, a file description of the
 * process's own (the flag on stderr itself would change it for everyone
 * who shares it, a shell's terminal included). A regular file, or no
 * /proc: plain writes. A line that does not fit is dropped and counted;
 * the count goes before the next line that fits.
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "errout.h"

static void
errout_setup(struct errout *e)
{
	struct stat st;

	e->ready = 1;
	e->fd = -1;
	if (fstat(STDERR_FILENO, &st) == -1 || S_ISREG(st.st_mode))
		return;
	if (S_ISSOCK(st.st_mode)) {
		e->fd = STDERR_FILENO;
		e->sock = 1;
		return;
	}
	e->fd = open("/proc/self/fd/2", O_WRONLY | O_NONBLOCK | O_CLOEXEC |
	    O_NOCTTY);
}

/* -1 with errno EAGAIN when there is no room now. */
static ssize_t
errout_put(const struct errout *e, const char *p, size_t n)
{
	if (e->sock)
		return send(e->fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
	return write(e->fd, p, n);
}

/*
 * stderr changed (redirected to /dev/null when the process detaches) or
 * is no longer used: the description of the old one is closed (it would
 * keep a starting client's pipe open, and the client waiting for its
 * end), and the next line sets up anew.
 */
void
errout_reset(struct errout *e)
{
	if (e->ready && e->fd > STDERR_FILENO)
		close(e->fd);
	e->ready = 0;
	e->fd = -1;
	e->sock = 0;
}

/* One line (p, n bytes, its newline included) to stderr, or counted. */
void
errout_write(struct errout *e, const char *p, size_t n)
{
	char note[80];
	int k;

	if (!e->ready)
		errout_setup(e);
	if (e->fd < 0) {
		(void)!write(STDERR_FILENO, p, n);
		return;
	}
	if (e->dropped > 0) {
		k = snprintf(note, sizeof note, "%lu log lines dropped: "
		    "stderr was full\n", e->dropped);
		if (errout_put(e, note, (size_t)k) == -1) {
			e->dropped++;
			return;
		}
		e->dropped = 0;
	}
	if (errout_put(e, p, n) == -1 && (errno == EAGAIN ||
	    errno == EWOULDBLOCK))
		e->dropped++;
}
