/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of fdlimit_room() and fdlimit_free() (supervisor/fdlimit.c):
 * under a low soft RLIMIT_NOFILE, their answer at each count of open
 * descriptors is what opening them would give (the count of
 * /proc/self/fd since Linux 6.2, the dup probe before), holes below the
 * limit included.
 */
#include <sys/resource.h>

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include <cmocka.h>

#include "corrald.h"

#define LIMIT 64

/* Whether n descriptors can be opened now: each tried, then closed. */
static int
probe(int n)
{
	int fds[FDLIMIT_RESERVE], i = 0, error = 0;

	while (i < n) {
		if ((fds[i] = fcntl(0, F_DUPFD_CLOEXEC, 0)) == -1) {
			error = errno;
			break;
		}
		i++;
	}
	while (i > 0)
		close(fds[--i]);
	return error;
}

static void
test_room_is_what_opening_gives(void **state)
{
	struct rlimit rl, old;
	long long free;
	int fds[LIMIT], n = 0, i, agreed = 0;

	(void)state;
	/* what the runner passed, possibly above the limit (below) */
	assert_int_equal(close_range(3, ~0U, 0), 0);
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	rl.rlim_cur = LIMIT;
	rl.rlim_max = old.rlim_max;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
	free = fdlimit_free();
	while ((fds[n] = fcntl(0, F_DUPFD_CLOEXEC, 0)) != -1) {
		assert_int_equal(fdlimit_room(FDLIMIT_RESERVE),
		    probe(FDLIMIT_RESERVE));
		n++;
	}
	assert_int_equal(errno, EMFILE);
	assert_int_equal(fdlimit_room(1), EMFILE);
	/* fdlimit_free() said how many opened, or that it cannot say */
	if (free >= 0)
		assert_int_equal(free, n);
	assert_true(fdlimit_free() <= 0);
	/* holes: free the even ones from the start, one by one */
	for (i = 0; i < n; i += 2) {
		close(fds[i]);
		fds[i] = -1;
		assert_int_equal(fdlimit_room(FDLIMIT_RESERVE),
		    probe(FDLIMIT_RESERVE));
		agreed += fdlimit_room(FDLIMIT_RESERVE) == 0;
	}
	assert_true(agreed > 0);
	for (i = 0; i < n; i++) {
		if (fds[i] != -1)
			close(fds[i]);
	}
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	assert_int_equal(fdlimit_room(FDLIMIT_RESERVE), 0);
}

/*
 * Descriptors above a limit lowered since count as taken: the room may be
 * said to be smaller than it is, never larger.
 */
static void
test_above_the_limit_never_more_room(void **state)
{
	struct rlimit rl, old;
	int fds[LIMIT], n = 0;

	(void)state;
	assert_int_equal(close_range(3, ~0U, 0), 0);
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	assert_int_equal(dup2(0, 2 * LIMIT), 2 * LIMIT);
	rl.rlim_cur = LIMIT;
	rl.rlim_max = old.rlim_max;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
	do {
		if (fdlimit_room(FDLIMIT_RESERVE) == 0)
			assert_int_equal(probe(FDLIMIT_RESERVE), 0);
	} while ((fds[n] = fcntl(0, F_DUPFD_CLOEXEC, 0)) != -1 && ++n < LIMIT);
	assert_int_equal(fdlimit_room(1), EMFILE);
	while (n > 0)
		close(fds[--n]);
	close(2 * LIMIT);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_room_is_what_opening_gives),
		cmocka_unit_test(test_above_the_limit_never_more_room),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
