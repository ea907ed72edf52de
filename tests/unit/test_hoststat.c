/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of the host figures sent in the monit stream: parsing of
 * meminfo and loadavg files, including missing and truncated ones.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "corrald.h"

static char *
write_tmp(const char *text)
{
	char *path = strdup("/tmp/test_hoststat.XXXXXX");
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w");

	fputs(text, f);
	fclose(f);
	return path;
}

static void
test_meminfo(void **state)
{
	char *p;
	uint64_t t, a;

	(void)state;
	p = write_tmp("MemTotal:        8000 kB\nMemFree:  10 kB\n"
	    "MemAvailable:    6000 kB\nBuffers: 1 kB\n");
	assert_int_equal(hoststat_meminfo(p, &t, &a), 0);
	assert_int_equal(t, 8000 * 1024);
	assert_int_equal(a, 6000 * 1024);
	unlink(p);
	free(p);
	p = write_tmp("MemTotal:        8000 kB\n");
	assert_int_equal(hoststat_meminfo(p, &t, &a), -1);
	assert_int_equal(t, 8000 * 1024);
	assert_int_equal(a, 0);
	unlink(p);
	free(p);
	assert_int_equal(hoststat_meminfo("/nonexistent/meminfo", &t, &a), -1);
	assert_int_equal(t, 0);
}

static void
test_loadavg(void **state)
{
	double l[3];
	char *p;

	(void)state;
	p = write_tmp("0.52 1.25 3.00 2/345 6789\n");
	assert_int_equal(hoststat_loadavg(p, l), 0);
	assert_true(l[0] == 0.52 && l[1] == 1.25 && l[2] == 3.0);
	unlink(p);
	free(p);
	p = write_tmp("garbage\n");
	assert_int_equal(hoststat_loadavg(p, l), -1);
	assert_true(l[0] == 0 && l[2] == 0);
	unlink(p);
	free(p);
}

static void
test_json(void **state)
{
	json_t *j = hoststat_json();

	(void)state;
	assert_non_null(j);
	assert_true(json_is_string(json_object_get(j, "hostname")));
	assert_int_equal(json_array_size(json_object_get(j, "load")), 3);
	assert_true(json_integer_value(json_object_get(j, "mem_total")) > 0);
	assert_true(json_integer_value(json_object_get(j, "ncpu")) >= 1);
	json_decref(j);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_meminfo),
		cmocka_unit_test(test_loadavg),
		cmocka_unit_test(test_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
