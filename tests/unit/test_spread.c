/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of spread_run() (spread.c): every job of a batch runs once,
 * slices run on other threads when the batch is big enough and there is
 * more than one CPU, small batches stay on the caller's thread, and the
 * call returns only when every slice is done.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>

#include "corrald.h"
#include "spread.h"

#define N 1000

struct job {
	int ran[N];
	pthread_t by[N];
};

static void
work(void *p, size_t from, size_t to)
{
	struct job	*j = p;
	size_t		 i;

	for (i = from; i < to; i++) {
		usleep(100);    /* long enough for the others to wake */
		j->ran[i]++;
		j->by[i] = pthread_self();
	}
}

static size_t
others(const struct job *j, size_t n)
{
	size_t	 i, k = 0;

	for (i = 0; i < n; i++) {
		assert_int_equal(j->ran[i], 1);
		if (!pthread_equal(j->by[i], pthread_self()))
			k++;
	}
	return k;
}

static void
test_every_job_once(void **state)
{
	struct job	*j;
	int		 round;

	(void)state;
	for (round = 0; round < 20; round++) {
		j = xcalloc(1, sizeof *j);
		spread_run(N, 64, work, j);
		if (cpus_available() > 1)
			assert_true(others(j, N) > 0);
		else
			assert_int_equal(others(j, N), 0);
		free(j);
	}
}

static void
test_small_batch_inline(void **state)
{
	struct job	*j = xcalloc(1, sizeof *j);

	(void)state;
	spread_run(100, 64, work, j);   /* one slice only */
	assert_int_equal(others(j, 100), 0);
	spread_run(0, 64, work, j);
	free(j);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_job_once),
		cmocka_unit_test(test_small_batch_inline),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
