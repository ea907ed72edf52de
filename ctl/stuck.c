/* SPDX-License-Identifier: ISC */
/*
 * `corral kill` when no engine serves. The keeper holds the control
 * socket, so a request is taken even while no engine runs; with an engine
 * that keeps failing (the keeper restarts it after a delay that doubles
 * up to 15 s: corrald.log says why), `kill` would wait for ever. While no
 * reply comes, the client looks every STUCK_POLL_MS whether an engine
 * holds the lock of corrald.pid (every engine does, for its life). After
 * STUCK_AFTER_MS of such looks without one, it sends SIGTERM to the
 * keeper, which stops every app itself (docs/keeper.md, "What happens
 * when"), and waits for the keeper to exit.
 */
#include <sys/file.h>
#include <sys/syscall.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "corral.h"

#define STUCK_POLL_MS 250
#define STUCK_AFTER_MS 5000     /* looks without an engine, in all */
#define STUCK_STOP_MS 3600000   /* the keeper's own stop of the apps */

/*
 * Whether a process holds the lock of home/name; *pid gets the pid the
 * file names (0 if none). A file that is not there is not held.
 */
static int
stuck_held(const char *home, const char *name, pid_t *pid)
{
	char *path = paths_file(home, name), buf[32];
	ssize_t n;
	int fd, held;

	*pid = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	free(path);
	if (fd == -1)
		return 0;
	held = flock(fd, LOCK_SH | LOCK_NB) == -1 && errno == EWOULDBLOCK;
	if ((n = read(fd, buf, sizeof buf - 1)) > 0) {
		buf[n] = '\0';
		*pid = (pid_t)strtol(buf, NULL, 10);
	}
	close(fd);
	return held;
}

/*
 * Waits (at most STUCK_STOP_MS) until the keeper of pidfd has exited: the
 * pidfd reads then, its pid file's lock goes a moment before. Without a
 * pidfd (a kernel before 5.3), until that lock is free. 1 when gone.
 */
static int
stuck_wait_exit(struct client *cl, int pidfd)
{
	struct pollfd p = { .fd = pidfd, .events = POLLIN };
	pid_t pid;
	int gone;

	if (pidfd < 0) {
		client_wait_gone(cl, STUCK_STOP_MS);
		return !stuck_held(cl->home, "keeper.pid", &pid);
	}
	gone = poll(&p, 1, STUCK_STOP_MS) == 1;
	close(pidfd);
	return gone;
}

/*
 * Waits for the reply to `kill` on cl. Returns -1 once it can be read
 * (the caller reads it as any reply); when no engine answered and the
 * keeper was told to stop the apps itself, the exit status: 0 once it
 * has exited, 1 if it still runs after STUCK_STOP_MS.
 */
int
stuck_kill(struct client *cl)
{
	struct pollfd p = { .fd = cl->fd, .events = POLLIN };
	pid_t pid, keeper;
	int none = 0, pidfd;

	while (none < STUCK_AFTER_MS) {
		if (poll(&p, 1, STUCK_POLL_MS) != 0)
			return -1;              /* a reply, an end, an error */
		if (!stuck_held(cl->home, "corrald.pid", &pid))
			none += STUCK_POLL_MS;
	}
	if (!stuck_held(cl->home, "keeper.pid", &keeper) || keeper <= 0)
		return -1;
	pidfd = (int)syscall(SYS_pidfd_open, keeper, 0);
	if (kill(keeper, SIGTERM) == -1) {
		if (pidfd >= 0)
			close(pidfd);
		return -1;
	}
	fprintf(stderr, "corral: no engine has answered for %d s (see "
	    "corrald.log): the keeper (pid %d) stops every app itself\n",
	    STUCK_AFTER_MS / 1000, (int)keeper);
	if (!stuck_wait_exit(cl, pidfd)) {
		fprintf(stderr, "corral: the keeper (pid %d) still runs\n",
		    (int)keeper);
		return 1;
	}
	printf("daemon stopped\n");
	return 0;
}
