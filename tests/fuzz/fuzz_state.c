/* SPDX-License-Identifier: ISC */
/*
 * state.json as a new engine reads it (state_parse): any bytes give a
 * state or a cause, never both, never a crash; and keeper tags as the
 * adoption splits them (instance_tag_parse), whose name part is always a
 * prefix of the tag that fits its buffer.
 */
#include <string.h>

#include "corrald.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct state *st;
	char *cause = NULL, *tag, name[PARSE_NAME_MAX + 1];
	unsigned long long gen;
	int id;

	st = state_parse((const char *)data, size, &cause);
	fuzz_check((st == NULL) != (cause == NULL));
	state_free(st);
	free(cause);
	tag = fuzz_str(data, size);
	if (instance_tag_parse(tag, name, sizeof name, &id, &gen) == 0)
		fuzz_check(strncmp(tag, name, strlen(name)) == 0 && id >= 0 &&
		    tag[strlen(name)] == '/');
	free(tag);
	return 0;
}
