/* SPDX-License-Identifier: ISC */
/*
 * The value parsers of settings and options: durations, sizes, signals,
 * integers, instance counts, booleans, app names, cpu shares, readiness
 * specs and listen addresses.  Each one takes the input or refuses it
 * with a reason; what it takes must read back the same way.
 */
#include <string.h>

#include "corrald.h"
#include "fuzz.h"

static void
fuzz_numbers(const char *s)
{
	char *cause = NULL, buf[64];
	uint64_t v;
	long long n;
	int i;
	uint32_t milli;

	if (parse_duration(s, &v, &cause) == 0) {
		format_duration(v, buf, sizeof buf);
		fuzz_check(buf[0] != '\0');
	}
	free(cause);
	cause = NULL;
	if (parse_size(s, &v, &cause) == 0) {
		format_size(v, buf, sizeof buf);
		fuzz_check(buf[0] != '\0');
	}
	free(cause);
	cause = NULL;
	if (parse_signal(s, &i, &cause) == 0)
		fuzz_check(i > 0 && i < 65 && signal_name(i) != NULL);
	free(cause);
	cause = NULL;
	if (parse_int(s, -1000, 1000, &n, &cause) == 0)
		fuzz_check(n >= -1000 && n <= 1000);
	free(cause);
	cause = NULL;
	if (parse_instances(s, 4, &i, &cause) == 0)
		fuzz_check(i >= 0);
	free(cause);
	cause = NULL;
	(void)parse_bool(s, &i, &cause);
	free(cause);
	cause = NULL;
	(void)cgroup_parse_cpu(s, &milli, &cause);
	free(cause);
}

static void
fuzz_specs(const char *s)
{
	struct ready_spec r;
	struct listener l;
	char *cause = NULL;

	if (parse_app_name(s, &cause) == 0)
		fuzz_check(strlen(s) <= PARSE_NAME_MAX && s[0] != '.');
	free(cause);
	cause = NULL;
	memset(&r, 0, sizeof r);
	if (ready_parse(s, &r, &cause) == 0)
		ready_spec_clear(&r);
	free(cause);
	cause = NULL;
	memset(&l, 0, sizeof l);
	if (listener_parse(s, "fuzz", &l, &cause) == 0)
		listener_clear(&l);
	free(cause);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_str(data, size);

	fuzz_numbers(s);
	fuzz_specs(s);
	free(s);
	return 0;
}
