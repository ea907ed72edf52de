/* SPDX-License-Identifier: ISC */
/* The INI loader (corral.ini): any bytes give apps or errors, never more. */
#include "common.h"
#include "cfgfile.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cfgfile *cf;
	char *cause = NULL;

	cf = cfgfile_parse_ini("fuzz.ini", (const char *)data, size, &cause);
	if (cf == NULL) {
		fuzz_check(cause != NULL);
		free(cause);
		return 0;
	}
	fuzz_check(cause == NULL);
	for (size_t i = 0; i < cf->napps; i++)
		fuzz_check(parse_app_name(cf->apps[i].name, &cause) == 0);
	cfgfile_free(cf);
	return 0;
}
