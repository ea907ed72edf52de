/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of common/log.c: a line's format and escapes, and the
 * rotation by size now that the size is counted rather than asked of the
 * file after each line: the file rotates once past the size, a file
 * truncated by someone else is not rotated early, and one appended by
 * someone else is rotated within LOG_RESTAT_LINES lines.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common.h"

static char tmpdir[64];
static char logpath[128];

static int
setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof tmpdir, "/tmp/corral-log-test.XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	snprintf(logpath, sizeof logpath, "%s/corrald.log", tmpdir);
	log_set_rotate(0, 1);
	log_init(logpath, 0);
	return 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	log_init(NULL, LOG_TO_STDERR);
	snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static long long
size_of(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

static int
exists(const char *suffix)
{
	char p[160];

	snprintf(p, sizeof p, "%s%s", logpath, suffix);
	return access(p, F_OK) == 0;
}

static char *
slurp(const char *path)
{
	static char buf[8192];
	ssize_t n;
	int fd;

	assert_true((fd = open(path, O_RDONLY)) >= 0);
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	assert_true(n >= 0);
	buf[n] = '\0';
	return buf;
}

/* One line per call, stamped, escaped, errno kept, long lines whole. */
static void
test_line_format(void **state)
{
	char big[2000], *text, *nl;
	regex_t re;

	(void)state;
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	log_info("plain\tline %d", 42);
	errno = ENOENT;
	log_warn("open %s", "f");
	assert_int_equal(errno, ENOENT);
	log_warnx("bad\nname\r\x01\x7f caf\xe9");
	log_info("%s", big);
	text = slurp(logpath);
	assert_int_equal(regcomp(&re, "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:"
	    "[0-9]{2}:[0-9]{2}\\.[0-9]{3} info plain\tline 42\n", REG_EXTENDED),
	    0);
	assert_int_equal(regexec(&re, text, 0, NULL, 0), 0);
	regfree(&re);
	assert_non_null(strstr(text, " warn open f: No such file or "
	    "directory\n"));
	assert_non_null(strstr(text, " warn bad\\nname\\r\\x01\\x7f "
	    "caf\xef\xbf\xbd" "E9\n"));
	assert_non_null(nl = strstr(text, " info xxx"));
	assert_int_equal(strchr(nl + 1, '\n') - (nl + 6), (long)sizeof big - 1);
	assert_null(strchr(strchr(nl, '\n') + 1, '\n'));
}

/* Counted: past the size the file rotates, the count kept. */
static void
test_rotates_by_size(void **state)
{
	int i;

	(void)state;
	log_set_rotate(1000, 2);
	for (i = 0; i < 40; i++)
		log_info("line %02d of a hundred bytes or so, written to see "
		    "the file rotate", i);
	assert_true(exists(".1"));
	assert_true(exists(".2"));
	assert_false(exists(".3"));
	assert_true(size_of(logpath) < 1000);
	assert_true(size_of(logpath) > 0);
	assert_null(strstr(slurp(logpath), "line 00"));
	assert_non_null(strstr(slurp(logpath), "line 39"));
}

/* Truncated by another (copytruncate): not rotated before the size. */
static void
test_truncated_not_rotated_early(void **state)
{
	int i;

	(void)state;
	log_set_rotate(4000, 2);
	for (i = 0; i < 30; i++)
		log_info("line %02d of a hundred bytes or so, written before "
		    "a truncation", i);
	assert_false(exists(".1"));
	assert_int_equal(truncate(logpath, 0), 0);
	for (i = 0; i < 25; i++)
		log_info("line %02d of a hundred bytes or so, written after "
		    "the truncation", i);
	assert_false(exists(".1"));
	assert_true(size_of(logpath) < 4000);
}

/* Appended by another: rotated within LOG_RESTAT_LINES (256) lines. */
static void
test_other_writer_rotated(void **state)
{
	static char junk[70000];
	int fd, i;

	(void)state;
	log_set_rotate(64 * 1024, 2);
	log_info("first");
	assert_true((fd = open(logpath, O_WRONLY | O_APPEND)) >= 0);
	memset(junk, 'j', sizeof junk);
	assert_int_equal(write(fd, junk, sizeof junk), (ssize_t)sizeof junk);
	close(fd);
	for (i = 0; i < 300; i++)
		log_info("short %d", i);
	assert_true(exists(".1"));
	assert_true(size_of(logpath) < 64 * 1024);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_line_format, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_rotates_by_size, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_truncated_not_rotated_early,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_writer_rotated, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
