/* SPDX-License-Identifier: ISC */
/* The PM2 JSON loader (ecosystem.json): apps or errors, never more. */
#include "common.h"
#include "cfgfile.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cfgfile *cf;
	char *cause = NULL;

	cf = ecosystem_parse("fuzz.json", (const char *)data, size, &cause);
	if (cf == NULL) {
		fuzz_check(cause != NULL);
		free(cause);
		return 0;
	}
	cfgfile_free(cf);
	return 0;
}
