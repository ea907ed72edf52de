/* SPDX-License-Identifier: ISC */
/*
 * The control protocol's decoder and each command's argument parsing: a
 * request line as a client would send it, decoded (proto_decode), its
 * command looked up and its argv parsed with that command's option table;
 * for the commands that declare apps, the options become an app's
 * settings (appcfg_from_args), as the daemon does before anything runs.
 */
#include <string.h>

#include "corrald.h"
#include "fuzz.h"

static void
fuzz_args(const struct cmd_entry *e, json_t *argv)
{
	const struct args_opt *opts = e->opts_fn != NULL ? e->opts_fn() :
	    e->opts;
	struct app_config cfg;
	struct args a;
	char *cause = NULL;

	if (args_parse(opts, argv, &a, &cause) == -1) {
		fuzz_check(cause != NULL);
		free(cause);
		args_free(&a);         /* empty, but the caller frees it */
		return;
	}
	if (e->opts_fn == appcfg_cli_opts) {
		appcfg_init(&cfg);
		if (appcfg_from_args(&cfg, &a, &cause) == -1) {
			fuzz_check(cause != NULL);
			free(cause);
		}
		appcfg_free(&cfg);
	}
	args_free(&a);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct cmd_entry *e;
	const char *name;
	char *cause = NULL;
	json_t *req, *argv;

	req = proto_decode((const char *)data, size, &cause);
	if (req == NULL) {
		fuzz_check(cause != NULL);
		free(cause);
		return 0;
	}
	name = json_string_value(json_object_get(req, "cmd"));
	argv = json_object_get(req, "argv");
	if (name != NULL && json_is_array(argv) &&
	    (e = cmd_find(name)) != NULL)
		fuzz_args(e, argv);
	json_decref(req);
	return 0;
}
