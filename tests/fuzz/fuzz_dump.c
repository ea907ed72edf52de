/* SPDX-License-Identifier: ISC */
/*
 * dump.json as resurrect reads it: the text parsed and checked
 * (dump_parse), then each saved app turned into settings
 * (appcfg_from_json) and its name checked, as persist.c does.
 */
#include "corrald.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct app_config cfg;
	json_t *dump, *app;
	char *cause = NULL;
	size_t i;

	dump = dump_parse("dump.json", (const char *)data, size, &cause);
	if (dump == NULL) {
		fuzz_check(cause != NULL);
		free(cause);
		return 0;
	}
	json_array_foreach(json_object_get(dump, "apps"), i, app) {
		appcfg_init(&cfg);
		if (appcfg_from_json(&cfg, app, &cause) == 0 &&
		    cfg.name != NULL)
			(void)parse_app_name(cfg.name, &cause);
		free(cause);
		cause = NULL;
		appcfg_free(&cfg);
	}
	json_decref(dump);
	return 0;
}
