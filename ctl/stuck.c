/* SPDX-License-Identifier: ISC */
/*
 * `corral kill` when no engine serves. The keeper holds the control
 * socket, so a request is taken even while no engine runs; with an engine
 * that keeps failing, a reply never comes, and client_recv_line() gives
 * up after CLIENT_NO_ENGINE_MS without an engine (client/client.c). Any
 * other command then exits 111 saying so; `kill` sends SIGTERM to the
 * keeper, which stops every app itself (docs/keeper.md, "What happens
 * when"), and waits for the keeper to exit.
 */
#include <sys/syscall.h>

#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include "corral.h"

#define STUCK_STOP_MS 3600000   /* the keeper's own stop of the apps */

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
		return !client_lock_held(cl->home, "keeper.pid", &pid);
	}
	gone = poll(&p, 1, STUCK_STOP_MS) == 1;
	close(pidfd);
	return gone;
}

/*
 * A `kill` that no engine answered (cl->stuck: client_recv_line() saw
 * none for CLIENT_NO_ENGINE_MS): the keeper is told to stop the apps
 * itself. Returns the exit status: 0 once it has exited, 1 if it still
 * runs after STUCK_STOP_MS; -1 when there is no keeper to tell.
 */
int
stuck_kill(struct client *cl)
{
	pid_t keeper;
	int pidfd;

	if (!client_lock_held(cl->home, "keeper.pid", &keeper) || keeper <= 0)
		return -1;
	pidfd = (int)syscall(SYS_pidfd_open, keeper, 0);
	if (kill(keeper, SIGTERM) == -1) {
		if (pidfd >= 0)
			close(pidfd);
		return -1;
	}
	fprintf(stderr, "corral: no engine has answered for %d s (see "
	    "corrald.log): the keeper (pid %d) stops every app itself\n",
	    CLIENT_NO_ENGINE_MS / 1000, (int)keeper);
	if (!stuck_wait_exit(cl, pidfd)) {
		fprintf(stderr, "corral: the keeper (pid %d) still runs\n",
		    (int)keeper);
		return 1;
	}
	printf("daemon stopped\n");
	return 0;
}
