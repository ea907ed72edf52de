/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of logrotate.c: the rename shift keeps the count, gzip of a
 * rotated file gives back its bytes, the compressor follows a file that was
 * shifted while it worked, and the age rule removes old rotated files.
 */
#include <sys/stat.h>
#include <sys/time.h>

#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <zlib.h>

#include "common.h"
#include "logs.h"

static char tmpdir[64];

static int
setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof tmpdir, "/tmp/corral-test-rotate.XXXXXX");
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	logrotate_gzip_stop();
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static char *
path_in(const char *name)
{
	char *p;

	xasprintf(&p, "%s/%s", tmpdir, name);
	return p;
}

static void
put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* The whole content of path (NUL-terminated) or NULL if absent. */
static char *
get(const char *path)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f, *m;
	int c;

	if ((f = fopen(path, "r")) == NULL)
		return NULL;
	m = open_memstream(&buf, &len);
	while ((c = getc(f)) != EOF)
		putc(c, m);
	fclose(m);
	fclose(f);
	return buf;
}

static char *
gunzip(const char *path)
{
	char tmp[4096], *buf = NULL;
	size_t len = 0;
	gzFile gz;
	FILE *m;
	int n;

	if ((gz = gzopen(path, "rb")) == NULL)
		return NULL;
	m = open_memstream(&buf, &len);
	while ((n = gzread(gz, tmp, sizeof tmp)) > 0)
		fwrite(tmp, 1, (size_t)n, m);
	fclose(m);
	gzclose(gz);
	return buf;
}

static void
assert_file(const char *path, int k, int gz, const char *want)
{
	char *name = logrotate_name(path, k, gz), *got;

	got = want == NULL ? get(name) : (gz ? gunzip(name) : get(name));
	if (want == NULL)
		assert_null(got);
	else {
		assert_non_null(got);
		assert_string_equal(got, want);
	}
	free(got);
	free(name);
}

static void
test_names(void **state)
{
	char *s;

	(void)state;
	s = logrotate_name("/x/a.log", 0, 0);
	assert_string_equal(s, "/x/a.log");
	free(s);
	s = logrotate_name("/x/a.log", 3, 1);
	assert_string_equal(s, "/x/a.log.3.gz");
	free(s);
}

static void
test_shift_keeps_count(void **state)
{
	struct logrotate_opts o = { 0, 3, 0, 0 };
	char *path = path_in("app-out.log"), *cause = NULL, text[16];
	int i;

	(void)state;
	for (i = 1; i <= 5; i++) {
		snprintf(text, sizeof text, "gen %d\n", i);
		put(path, text);
		assert_int_equal(logrotate_shift(path, &o, &cause), 0);
	}
	assert_file(path, 0, 0, NULL);
	assert_file(path, 1, 0, "gen 5\n");
	assert_file(path, 2, 0, "gen 4\n");
	assert_file(path, 3, 0, "gen 3\n");
	assert_file(path, 4, 0, NULL);
	free(path);
}

static void
test_gzip_file(void **state)
{
	char *a = path_in("plain"), *b = path_in("plain.gz"), *cause = NULL;
	char *big, *got;
	size_t i;

	(void)state;
	big = xmalloc(300001);
	for (i = 0; i < 300000; i++)
		big[i] = (char)('a' + (i * 7 + i / 13) % 26);
	big[300000] = '\0';
	put(a, big);
	assert_int_equal(logrotate_gzip(a, b, &cause), 0);
	got = gunzip(b);
	assert_non_null(got);
	assert_string_equal(got, big);
	free(got);
	free(big);
	assert_int_equal(logrotate_gzip("/nonexistent/x", b, &cause), -1);
	assert_non_null(cause);
	free(cause);
	free(a);
	free(b);
}

static void
test_compress_after_shift(void **state)
{
	struct logrotate_opts o = { 0, 4, 1, 0 };
	char *path = path_in("c.log"), *cause = NULL, text[16];
	int i;

	(void)state;
	for (i = 1; i <= 6; i++) {
		snprintf(text, sizeof text, "gen %d\n", i);
		put(path, text);
		assert_int_equal(logrotate_shift(path, &o, &cause), 0);
	}
	logrotate_gzip_wait_idle();
	for (i = 1; i <= 4; i++) {
		snprintf(text, sizeof text, "gen %d\n", 7 - i);
		assert_file(path, i, 0, NULL);
		assert_file(path, i, 1, text);
	}
	assert_file(path, 5, 1, NULL);
	free(path);
}

/*
 * The compressor must never put one file's content under another's name:
 * with two files kept, a rotated file is removed two rotations later and
 * its inode number may go to the next live file while its compression is
 * still queued or running. Many rounds make the overlap likely.
 */
static void
test_compress_never_swaps_files(void **state)
{
	struct logrotate_opts o = { 0, 2, 1, 0 };
	char *path = path_in("s.log"), *cause = NULL, text[32];
	int round, i;

	(void)state;
	for (round = 0; round < 1000; round++) {
		for (i = 1; i <= 4; i++) {
			snprintf(text, sizeof text, "round %d gen %d\n", round, i);
			put(path, text);
			assert_int_equal(logrotate_shift(path, &o, &cause), 0);
		}
		logrotate_gzip_wait_idle();
		for (i = 1; i <= 2; i++) {
			snprintf(text, sizeof text, "round %d gen %d\n", round,
			    5 - i);
			assert_file(path, i, 0, NULL);
			assert_file(path, i, 1, text);
		}
	}
	free(path);
}

/*
 * More rotations than the compressor's queue holds, of files slow to
 * compress: jobs are dropped, and the compressor catches up with a scan,
 * so that every rotated file ends up compressed.
 */
static void
test_compress_catches_up(void **state)
{
	struct logrotate_opts o = { 0, 40, 1, 0 };
	char *path = path_in("big.log"), *cause = NULL, *got, *name, head[16];
	unsigned int seed = 1;
	FILE *f;
	int i, k, n;

	(void)state;
	for (i = 1; i <= 30; i++) {
		assert_non_null(f = fopen(path, "w"));
		fprintf(f, "gen %d\n", i);
		for (n = 0; n < 1 << 18; n++)      /* 256 KiB, barely shrinking */
			putc('a' + rand_r(&seed) % 26, f);
		fclose(f);
		assert_int_equal(logrotate_shift(path, &o, &cause), 0);
	}
	logrotate_gzip_wait_idle();
	for (k = 1; k <= 30; k++) {
		assert_file(path, k, 0, NULL);
		name = logrotate_name(path, k, 1);
		got = gunzip(name);
		assert_non_null(got);
		snprintf(head, sizeof head, "gen %d\n", 31 - k);
		assert_memory_equal(got, head, strlen(head));
		free(got);
		free(name);
	}
	free(path);
}

static void
test_expire_by_age(void **state)
{
	struct logrotate_opts o = { 0, 5, 0, 3600 * 1000 };
	struct timeval tv[2];
	char *path = path_in("e.log"), *n2;
	int k;

	(void)state;
	for (k = 1; k <= 3; k++) {
		char *n = logrotate_name(path, k, 0);
		put(n, "x\n");
		free(n);
	}
	n2 = logrotate_name(path, 2, 0);
	gettimeofday(&tv[0], NULL);
	tv[0].tv_sec -= 7200;
	tv[1] = tv[0];
	assert_int_equal(utimes(n2, tv), 0);
	assert_int_equal(logrotate_expire(path, &o, logfmt_now_ms()), 1);
	assert_int_equal(access(n2, F_OK), -1);
	assert_file(path, 1, 0, "x\n");
	assert_file(path, 3, 0, "x\n");
	free(n2);
	free(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test_setup_teardown(test_shift_keeps_count, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_gzip_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_compress_after_shift, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_compress_never_swaps_files,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_compress_catches_up, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_expire_by_age, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
