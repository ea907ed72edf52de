/* SPDX-License-Identifier: ISC */
/*
 * Samples of an instance cgroup's memory and CPU (limits-sample.c takes
 * them).  cgroup_sample_want() decides what a sample reads and touches
 * the root: the caller calls it on the loop, for each cgroup of a batch;
 * cgroup_sample_read() reads the files and touches nothing but its own
 * cgroup, so that the reads of one batch can run on several threads.
 */
#include <string.h>

#include "common.h"
#include "cgroup.h"

#define CGROUP_FILESTAT_EVERY 10

/*
 * What the next sample of cg reads: memory and CPU, and
 * memory.stat on the first sample and one in CGROUP_FILESTAT_EVERY after.
 * The cgroups sampled together (an `ls`, a scrape) would all read it on
 * the same sample, every tenth `ls` of 2,000 rows paying 2,000 of them
 * (5x a cold `ls`, issue 16): the first sample gives each cgroup an
 * offset of its own, in turn, so that a tenth of them read it each time.
 */
int
cgroup_sample_want(struct cgroup *cg)
{
	int	 want = CGROUP_MEMORY | CGROUP_CPUACCT;

	if (cg->nsamples == 0) {
		cg->nsamples = 1 + cg->root->nstagger++ % CGROUP_FILESTAT_EVERY;
		return want | CGROUP_FILESTAT;
	}
	if (cg->nsamples++ % CGROUP_FILESTAT_EVERY == 0)
		want |= CGROUP_FILESTAT;
	return want;
}

/*
 * Reads what want asks of cg (from cgroup_sample_want(): memory and CPU,
 * what sampling needs; memory.stat costs several times the other files
 * together, and the file cache it gives moves slowly).  Touches cg alone:
 * safe on any thread while the loop waits.
 */
int
cgroup_sample_read(struct cgroup *cg, int want, struct cgroup_usage *u)
{
	int	 r;

	memset(u, 0, sizeof *u);
	if (cg->stat != NULL)
		r = cgroup_stat_read(cg, u, want);
	else if (cg->root->backend == CGROUP_V2)
		r = cgroup_v2_read_usage(cg, u, want);
	else
		r = cgroup_v1_read_usage(cg, u, want);
	if (u->flags & CGROUP_FILESTAT)
		cg->inactive_file = u->inactive_file;
	else if ((u->flags & CGROUP_MEMORY) && cg->inactive_file < u->memory)
		u->memory -= cg->inactive_file;
	return r;
}
