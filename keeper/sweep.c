/* SPDX-License-Identifier: ISC */
/*
 * The keeper's last act: once every app has stopped, the orphans the apps
 * left behind (double-forked daemons, reparented to the keeper as a
 * subreaper or as PID 1) are stopped too, before the keeper exits with the
 * status its stop earned: SIGTERM to each, SIGKILL after --stop-timeout,
 * and exit after another --stop-timeout whatever is left (a process stuck
 * in the kernel must not hold the keeper). Without this they would get
 * SIGKILL from the kernel (PID 1) or systemd, or outlive the stop. The
 * keeper's children are read from /proc/self/task/PID/children (the keeper
 * has one thread); where that file cannot be read, there is no sweep.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "keeper.h"

static struct {
	int state;              /* 0, 1: SIGTERM sent, 2: SIGKILL sent */
	int status;             /* the keeper exits with it */
	uint64_t deadline;
} sweep;

/* sig (0: none) to pid unless it is the engine or a live app: 1 or 0. */
static int
sweep_one(long pid, int sig)
{
	if (pid <= 0 || pid == K.engine_pid ||
	    table_child_by_pid((pid_t)pid) != NULL)
		return 0;
	if (kill((pid_t)pid, sig) == -1)
		return errno == EPERM;
	return 1;
}

/* sig to every orphan the keeper has; returns how many there are. */
static int
sweep_signal(int sig)
{
	char path[64], buf[1024];
	long pid = 0;
	int fd, n = 0, digits = 0;
	ssize_t r, i;

	snprintf(path, sizeof path, "/proc/self/task/%d/children",
	    (int)getpid());
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return 0;
	while ((r = read(fd, buf, sizeof buf)) > 0) {
		for (i = 0; i < r; i++) {
			if (buf[i] >= '0' && buf[i] <= '9') {
				pid = pid * 10 + (buf[i] - '0');
				digits = 1;
			} else if (digits) {
				n += sweep_one(pid, sig);
				pid = digits = 0;
			}
		}
	}
	if (digits)
		n += sweep_one(pid, sig);
	close(fd);
	return n;
}

/* The stop is done: exit with status once the orphans are gone. */
void
sweep_start(int status)
{
	int n;

	if (sweep.state != 0)
		return;
	if ((n = sweep_signal(SIGTERM)) == 0)
		keeper_exit(status);
	klog_info("stopping %d orphan process%s left by the apps", n,
	    n == 1 ? "" : "es");
	sweep.state = 1;
	sweep.status = status;
	sweep.deadline = keeper_mono_ms() + (uint64_t)K.stop_ms;
}

/* After reaping: exits when no orphan is left. */
void
sweep_check(void)
{
	if (sweep.state != 0 && sweep_signal(0) == 0)
		keeper_exit(sweep.status);
}

void
sweep_tick(uint64_t now)
{
	if (sweep.state == 0 || now < sweep.deadline)
		return;
	if (sweep.state == 2) {
		klog_warnx("orphans left after SIGKILL: exiting anyway");
		keeper_exit(sweep.status);
	}
	klog_warnx("orphans still running after %lld ms: SIGKILL",
	    (long long)K.stop_ms);
	(void)sweep_signal(SIGKILL);
	sweep.state = 2;
	sweep.deadline = now + (uint64_t)K.stop_ms;
}

/* The next sweep_tick() deadline, 0 when not sweeping. */
uint64_t
sweep_next_deadline(void)
{
	return sweep.state != 0 ? sweep.deadline : 0;
}

int
sweep_active(void)
{
	return sweep.state != 0;
}
