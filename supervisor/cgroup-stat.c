/* SPDX-License-Identifier: ISC */
/*
 * The stat files of an instance cgroup (memory usage, CPU usage) held
 * open while someone samples it, so that a sample costs one pread() per
 * file and no open or close.  memory.stat, read on one sample in ten
 * only (cgroup_sample_want()), is opened when read: held, it took a
 * third of the descriptors the cap allows for a tenth of the reads, and the
 * instances past the cap opened all their files at every sample (an
 * `ls` of 2,000 rows, issue 16).  The root lists the held sets and
 * counts their descriptors, which the caller caps; cgroup_free()
 * releases a cgroup's set, and cgroup_stat_expire() those nobody read
 * for a while.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "common.h"
#include "cgroup.h"

static const struct {
	int bit;                /* the hierarchy holding the file */
	const char *v1;
	const char *v2;
} cgroup_stat_files[CGROUP_STAT_NFILES] = {
	[CGROUP_STAT_MEMORY] = { CGROUP_MEMORY, "memory.usage_in_bytes",
	    "memory.current" },
	[CGROUP_STAT_MEMSTAT] = { CGROUP_MEMORY, "memory.stat",
	    "memory.stat" },
	[CGROUP_STAT_CPU] = { CGROUP_CPUACCT, "cpuacct.usage", "cpu.stat" },
};

static void
cgroup_stat_close(struct cgroup_stat *st)
{
	int	 i;

	for (i = 0; i < CGROUP_STAT_NFILES; i++) {
		if (st->fd[i] != -1)
			close(st->fd[i]);
	}
}

/*
 * Opens the files of cg that its hierarchies have; -1 for the others.
 * Returns 0, or a negative errno when the daemon is short of descriptors
 * (nothing is left open then).
 */
static int
cgroup_stat_open(const struct cgroup *cg, struct cgroup_stat *st)
{
	const char	*name;
	char		*dir;
	int		 i, v2 = cg->root->backend == CGROUP_V2, error;

	for (i = 0; i < CGROUP_STAT_NFILES; i++)
		st->fd[i] = -1;
	for (i = 0; i < CGROUP_STAT_NFILES; i++) {
		if (i == CGROUP_STAT_MEMSTAT)
			continue;
		name = v2 ? cgroup_stat_files[i].v2 : cgroup_stat_files[i].v1;
		if (v2)
			dir = (cg->root->controllers & cgroup_stat_files[i].bit) ||
			    i == CGROUP_STAT_CPU ? cgroup_path(cg) : NULL;
		else
			dir = cgroup_dir_for(cg, cgroup_stat_files[i].bit);
		if (dir == NULL)
			continue;
		st->fd[i] = cgroup_file_open(dir, name, O_RDONLY);
		error = -errno;
		free(dir);
		if (st->fd[i] == -1 && (error == -EMFILE || error == -ENFILE)) {
			cgroup_stat_close(st);
			return error;
		}
		if (st->fd[i] != -1)
			st->nfd++;
	}
	return 0;
}

/*
 * Keeps cg's stat files open (or marks them used at now, the caller's
 * clock).  Opening is refused with -EMFILE when the root would then hold
 * more than max descriptors.  Returns 0 or a negative errno; without
 * them, reads open the files each time.
 */
int
cgroup_stat_hold(struct cgroup *cg, uint64_t now, size_t max)
{
	struct cgroup_stat	*st;
	int			 error;

	if (cg->stat != NULL) {
		cg->stat->used = now;
		return 0;
	}
	if (cg->root->nheld + CGROUP_STAT_HELD > max)
		return -EMFILE;
	st = xcalloc(1, sizeof *st);
	if ((error = cgroup_stat_open(cg, st)) != 0) {
		free(st);
		return error;
	}
	st->cg = cg;
	st->used = now;
	cg->stat = st;
	cg->root->nheld += (size_t)st->nfd;
	LIST_INSERT_HEAD(&cg->root->held, st, entry);
	return 0;
}

/* Closes cg's held files, if any. */
void
cgroup_stat_release(struct cgroup *cg)
{
	struct cgroup_stat	*st = cg->stat;

	if (st == NULL)
		return;
	cgroup_stat_close(st);
	cg->root->nheld -= (size_t)st->nfd;
	LIST_REMOVE(st, entry);
	free(st);
	cg->stat = NULL;
}

/*
 * Releases the files not held again for idle or more (now: same clock).
 * Returns when it next has work: the earliest last use of the files kept,
 * plus idle; 0 when none are held.
 */
uint64_t
cgroup_stat_expire(struct cgroup_root *root, uint64_t now, uint64_t idle)
{
	struct cgroup_stat	*st, *next;
	uint64_t		 due = 0;

	for (st = LIST_FIRST(&root->held); st != NULL; st = next) {
		next = LIST_NEXT(st, entry);
		if (now - st->used >= idle)
			cgroup_stat_release(st->cg);
		else if (due == 0 || st->used + idle < due)
			due = st->used + idle;
	}
	return due;
}

/* Reads the held file slot of cg into buf; 0 or a negative errno. */
static int
cgroup_stat_pread(const struct cgroup *cg, int slot, char *buf, size_t size)
{
	ssize_t	 n;

	if (cg->stat->fd[slot] == -1)
		return -ENOENT;
	n = cgroup_fd_read(cg->stat->fd[slot], buf, size);
	return n < 0 ? (int)n : 0;
}

/* Reads cg's memory.stat (not held) into buf; 0 or a negative errno. */
static int
cgroup_stat_memstat(const struct cgroup *cg, char *buf, size_t size)
{
	char	*dir;
	ssize_t	 n;

	if (cg->stat->fd[CGROUP_STAT_MEMORY] == -1)
		return -ENOENT;         /* no memory controller */
	if (cg->root->backend == CGROUP_V2)
		dir = cgroup_path(cg);
	else
		dir = cgroup_dir_for(cg, CGROUP_MEMORY);
	if (dir == NULL)
		return -ENOENT;
	n = cgroup_file_read(dir, "memory.stat", buf, size);
	free(dir);
	return n < 0 ? (int)n : 0;
}

/*
 * As cgroup_v1_read_usage() and cgroup_v2_read_usage() for memory, the
 * file cache and CPU (what want asks for of those), from the held files
 * of cg, which must have them.  Returns 0, or -ENOENT when nothing could
 * be read.
 */
int
cgroup_stat_read(const struct cgroup *cg, struct cgroup_usage *u, int want)
{
	char		 buf[8192];
	uint64_t	 usage, inactive, *pin = NULL;
	int		 v2 = cg->root->backend == CGROUP_V2;

	if ((want & CGROUP_MEMORY) && cgroup_stat_pread(cg,
	    CGROUP_STAT_MEMORY, buf, sizeof buf) == 0 &&
	    cgroup_parse_u64(buf, &usage) == 0) {
		if ((want & CGROUP_FILESTAT) && cgroup_stat_memstat(cg,
		    buf, sizeof buf) == 0 &&
		    cgroup_parse_key(buf, v2 ? "inactive_file" :
		    "total_inactive_file", &inactive) == 0)
			pin = &inactive;
		cgroup_usage_memory(u, usage, pin);
	}
	if ((want & CGROUP_CPUACCT) && cgroup_stat_pread(cg, CGROUP_STAT_CPU,
	    buf, sizeof buf) == 0) {
		if (v2 && cgroup_parse_key(buf, "usage_usec", &usage) == 0) {
			u->cpu_usec = usage;
			u->flags |= CGROUP_CPUACCT;
		} else if (!v2 && cgroup_parse_u64(buf, &usage) == 0) {
			u->cpu_usec = usage / 1000;
			u->flags |= CGROUP_CPUACCT;
		}
	}
	return u->flags == 0 ? -ENOENT : 0;
}
