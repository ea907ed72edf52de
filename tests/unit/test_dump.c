/* SPDX-License-Identifier: ISC */
/* Unit tests of dump.json: atomic save, .bak, fallback, corrupt dumps kept. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common.h"
#include "cfgfile.h"

static char dir[] = "/tmp/corral-test-dump-XXXXXX";
static char path[256], bak[256];

static json_t *
make_dump(const char *name)
{
	return json_pack("{s:i, s:[{s:s, s:s}]}", "version", 1, "apps",
	    "name", name, "state", "online");
}

static char *
contents(const char *p)
{
	char *data = NULL, *cause = NULL;
	size_t len;

	if (cfgfile_slurp(p, &data, &len, &cause) != 0) {
		free(cause);
		return NULL;
	}
	return data;
}

static void
put(const char *p, const char *text)
{
	FILE *f = fopen(p, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int
count_files(void)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	while ((de = readdir(d)) != NULL)
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

static int
setup(void **state)
{
	(void)state;
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(path, sizeof path, "%s/dump.json", dir);
	snprintf(bak, sizeof bak, "%s/dump.json.bak", dir);
	return 0;
}

static int
teardown(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void
test_save_and_bak(void **state)
{
	json_t *d, *got;
	char *cause = NULL, *warning = NULL, *text;
	struct stat st;

	(void)state;
	umask(022);
	d = make_dump("one");
	assert_int_equal(dump_write(path, d, &cause), 0);
	json_decref(d);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(access(bak, F_OK), -1);

	d = make_dump("two");
	assert_int_equal(dump_write(path, d, &cause), 0);
	json_decref(d);
	text = contents(bak);
	assert_non_null(strstr(text, "\"one\""));
	free(text);
	assert_int_equal(stat(bak, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	got = dump_read(path, &warning, &cause);
	assert_non_null(got);
	assert_null(warning);
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    json_object_get(got, "apps"), 0), "name")), "two");
	json_decref(got);
	assert_int_equal(count_files(), 2);     /* no temporary file left */
}

static void
test_corrupt_falls_back(void **state)
{
	json_t *got;
	char *cause = NULL, *warning = NULL, *text, *baktext;

	(void)state;
	put(path, "{\"apps\": [ {\"name\": \"tw");
	baktext = contents(bak);
	got = dump_read(path, &warning, &cause);
	assert_non_null(got);
	assert_non_null(warning);
	assert_non_null(strstr(warning, "dump.json:1:"));
	assert_non_null(strstr(warning, "using"));
	free(warning);
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    json_object_get(got, "apps"), 0), "name")), "one");
	json_decref(got);
	/* neither file changed */
	text = contents(path);
	assert_string_equal(text, "{\"apps\": [ {\"name\": \"tw");
	free(text);
	text = contents(bak);
	assert_string_equal(text, baktext);
	free(text);
	free(baktext);
}

static void
test_save_keeps_corrupt(void **state)
{
	json_t *d;
	char *cause = NULL, *text;
	DIR *dp;
	struct dirent *de;
	int found = 0;

	(void)state;
	/* dump.json is still the corrupt one from the previous test */
	d = make_dump("three");
	assert_int_equal(dump_write(path, d, &cause), 0);
	json_decref(d);
	text = contents(bak);
	assert_non_null(strstr(text, "\"one\""));       /* .bak not replaced */
	free(text);
	dp = opendir(dir);
	while ((de = readdir(dp)) != NULL) {
		if (strncmp(de->d_name, "dump.json.corrupt-", 18) == 0) {
			char p[512];

			snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
			text = contents(p);
			assert_string_equal(text, "{\"apps\": [ {\"name\": \"tw");
			free(text);
			found++;
		}
	}
	closedir(dp);
	assert_int_equal(found, 1);
}

static void
test_both_bad(void **state)
{
	char *cause = NULL, *warning = NULL;

	(void)state;
	put(path, "[]");
	put(bak, "garbage");
	assert_null(dump_read(path, &warning, &cause));
	assert_non_null(strstr(cause, "not a corral dump"));
	assert_non_null(strstr(cause, "dump.json.bak:1:"));
	free(cause);
	unlink(path);
	unlink(bak);
	cause = NULL;
	assert_null(dump_read(path, &warning, &cause));
	assert_non_null(strstr(cause, "no saved apps"));
	free(cause);
}

static void
test_bad_shape_refused(void **state)
{
	json_t *d = json_pack("{s:[i]}", "apps", 1);
	char *cause = NULL;

	(void)state;
	assert_int_equal(dump_write(path, d, &cause), -1);
	assert_non_null(cause);
	free(cause);
	json_decref(d);
	assert_int_equal(access(path, F_OK), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_save_and_bak),
		cmocka_unit_test(test_corrupt_falls_back),
		cmocka_unit_test(test_save_keeps_corrupt),
		cmocka_unit_test(test_both_bad),
		cmocka_unit_test(test_bad_shape_refused),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
