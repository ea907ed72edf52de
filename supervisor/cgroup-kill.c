/* SPDX-License-Identifier: ISC */
/*
 * Signalling every process of a cgroup where the kernel has no
 * cgroup.kill: freeze the cgroup so that nothing forks while its pids are
 * listed, signal them all, thaw (a frozen task dies of SIGKILL once
 * thawed), then sweep again for anything that forked before the freeze
 * took hold.  Without a freezer the sweep alone runs until no new pid
 * shows up.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common.h"
#include "cgroup.h"

#define CGROUP_KILL_ROUNDS 10
#define CGROUP_FREEZE_WAIT_MS 200

struct cgroup_kill_seen {
	pid_t	*pid;
	size_t	 n;
};

static int
cgroup_kill_seen(struct cgroup_kill_seen *seen, pid_t pid)
{
	size_t	 i;

	for (i = 0; i < seen->n; i++) {
		if (seen->pid[i] == pid)
			return 1;
	}
	seen->pid = xreallocarray(seen->pid, seen->n + 1, sizeof *seen->pid);
	seen->pid[seen->n++] = pid;
	return 0;
}

/* One pass: signals the pids of dir not signalled yet; returns how many. */
static int
cgroup_kill_pass(const char *dir, int sig, struct cgroup_kill_seen *seen)
{
	pid_t	*pids;
	size_t	 n, i;
	int	 count = 0, error;

	if ((error = cgroup_read_pids(dir, &pids, &n)) != 0)
		return error;
	for (i = 0; i < n; i++) {
		if (cgroup_kill_seen(seen, pids[i]))
			continue;
		if (kill(pids[i], sig) == 0)
			count++;
	}
	free(pids);
	return count;
}

static int
cgroup_kill_sweep(const char *dir, int sig, struct cgroup_kill_seen *seen)
{
	int	 round, r, total = 0;

	for (round = 0; round < CGROUP_KILL_ROUNDS; round++) {
		if ((r = cgroup_kill_pass(dir, sig, seen)) < 0)
			return total > 0 ? total : r;
		if (r == 0)
			break;
		total += r;
	}
	return total;
}

/* Signals every pid of dir/cgroup.procs, repeating for late forks. */
int
cgroup_kill_pids(const char *dir, int sig)
{
	struct cgroup_kill_seen	 seen = { NULL, 0 };
	int			 r;

	r = cgroup_kill_sweep(dir, sig, &seen);
	free(seen.pid);
	return r;
}

static int
cgroup_kill_is_frozen(const char *fzdir, const char *file,
    const char *frozen)
{
	char		 buf[64];
	uint64_t	 v;

	if (strcmp(file, "cgroup.freeze") == 0)
		return cgroup_file_key(fzdir, "cgroup.events", "frozen",
		    &v) == 0 && v == 1;
	if (cgroup_file_read(fzdir, file, buf, sizeof buf) < 0)
		return 0;
	return strncmp(buf, frozen, strlen(frozen)) == 0;
}

/*
 * Freezes fzdir by writing frozen into file, signals every pid of dir,
 * thaws with thawed, sweeps.  Waits at most CGROUP_FREEZE_WAIT_MS for the
 * freeze (a task in uninterruptible sleep can delay it); the sweep catches
 * what a late freeze let through.  Returns how many pids were signalled.
 */
int
cgroup_kill_frozen(const char *dir, int sig, const char *fzdir,
    const char *file, const char *frozen, const char *thawed)
{
	struct cgroup_kill_seen	 seen = { NULL, 0 };
	struct timespec		 ms = { 0, 1000000 };
	int			 i, r, more;

	if (cgroup_file_write(fzdir, file, "%s", frozen) != 0)
		return cgroup_kill_pids(dir, sig);
	for (i = 0; i < CGROUP_FREEZE_WAIT_MS; i++) {
		if (cgroup_kill_is_frozen(fzdir, file, frozen))
			break;
		nanosleep(&ms, NULL);
	}
	r = cgroup_kill_pass(dir, sig, &seen);
	if (cgroup_file_write(fzdir, file, "%s", thawed) != 0)
		log_warn("cgroup: cannot thaw %s", fzdir);
	more = cgroup_kill_sweep(dir, sig, &seen);
	free(seen.pid);
	if (r < 0)
		return more > 0 ? more : r;
	return r + (more > 0 ? more : 0);
}
