/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of what a sample of an instance's cgroup reads
 * (cgroup_sample_want()): memory.stat on a cgroup's first sample and one
 * in ten after, the cgroups sampled together taking turns, so that no
 * `ls` reads it for all of them at once (every tenth cold `ls` of 2,000
 * rows took 55-105 ms, five times the others: issue 16).  No file is
 * read: the decision alone.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "common.h"
#include "cgroup.h"

#define NCG 2000
#define EVERY 10

static int
reads_stat(struct cgroup *cg)
{
	int	 want = cgroup_sample_want(cg);

	assert_true(want & CGROUP_MEMORY);
	assert_true(want & CGROUP_CPUACCT);
	return (want & CGROUP_FILESTAT) != 0;
}

/* NCG cgroups sampled together, round after round, as `ls` does. */
static void
test_turns(void **state)
{
	struct cgroup_root	 root = { .backend = CGROUP_V1 };
	struct cgroup		*cg = xcalloc(NCG, sizeof *cg);
	int			 i, round, n, last[NCG];

	(void)state;
	for (i = 0; i < NCG; i++)
		cg[i].root = &root;
	/* The first look reads it for every cgroup: no stale cache yet. */
	for (i = 0; i < NCG; i++) {
		assert_true(reads_stat(&cg[i]));
		last[i] = 0;
	}
	for (round = 1; round <= 3 * EVERY; round++) {
		for (i = n = 0; i < NCG; i++) {
			if (!reads_stat(&cg[i]))
				continue;
			n++;
			/* Each one every tenth sample, not more, not less. */
			assert_true(last[i] == 0 || round - last[i] == EVERY);
			assert_true(round - last[i] <= EVERY);
			last[i] = round;
		}
		assert_int_equal(n, NCG / EVERY);
	}
	free(cg);
}

/* A cgroup made later (a restart) reads it first, then takes its turn. */
static void
test_newcomer(void **state)
{
	struct cgroup_root	 root = { .backend = CGROUP_V1 };
	struct cgroup		 cg = { .root = &root };
	int			 i, n = 0;

	(void)state;
	root.nstagger = 12345;
	assert_true(reads_stat(&cg));
	for (i = 0; i < 10 * EVERY; i++)
		n += reads_stat(&cg);
	assert_int_equal(n, 10);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_turns),
		cmocka_unit_test(test_newcomer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
