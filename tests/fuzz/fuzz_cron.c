/* SPDX-License-Identifier: ISC */
/*
 * Cron expressions: parsed, and when valid, the next run after a few
 * times must come later than each of them.
 */
#include "common.h"
#include "cron.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const time_t at[] = { 0, 1700000000, 1709251199, 2147483000 };
	struct cron c;
	char *s = fuzz_str(data, size), *cause = NULL;
	time_t next;

	if (cron_parse(s, &c, &cause) == -1) {
		fuzz_check(cause != NULL);
		free(cause);
	} else {
		for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
			next = cron_next(&c, at[i]);
			fuzz_check(next == (time_t)-1 || next > at[i]);
		}
	}
	free(s);
	return 0;
}
