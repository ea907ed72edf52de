/* SPDX-License-Identifier: ISC */
/*
 * App settings as options of `start` (and `restart --update-env`): the
 * option list made once from the key table (--kebab-case names, PM2's
 * aliases, the help text), and the parsed options applied to a config
 * through the text parsers (appcfg-text.c).
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "corrald.h"
#include "appcfg-private.h"

/* The kind of CLI option of key k. */
static int
appcfg_opt_kind(const struct appcfg_key *k)
{
	if (k->type == CFG_ENV || k->type == CFG_LIST || k->type == CFG_WORDS)
		return ARGS_LIST;
	if (k->type == CFG_FLAG)
		return ARGS_FLAG;
	if (k->type == CFG_WATCH || k->offset ==
	    offsetof(struct app_config, log_file))
		return ARGS_OPTIONAL;
	return ARGS_VALUE;
}

/* "a_b" as "a-b" into buf. */
static const char *
appcfg_kebab(const char *name, char *buf, size_t size)
{
	size_t j;

	for (j = 0; name[j] != '\0' && j < size - 1; j++)
		buf[j] = name[j] == '_' ? '-' : name[j];
	buf[j] = '\0';
	return buf;
}

/* The options of `start` that are no key of their own, at opts[0..2]. */
static void
appcfg_cli_extra(struct args_opt *opts)
{
	opts[0].name = "port";
	opts[0].kind = ARGS_LIST;
	opts[0].help = "PORT   same as --listen PORT (dual-stack [::]:PORT)";
	opts[1].name = "no-autorestart";
	opts[1].kind = ARGS_FLAG;
	opts[1].help = "       same as --autorestart never";
	opts[2].name = "no-merge-logs";
	opts[2].kind = ARGS_FLAG;
	opts[2].help = "       one log file per instance (NAME-out-N.log)";
}

/*
 * The options of `start`, made once from the key table: each key's name,
 * and its alias (PM2's spelling: --output, --log, --cron, --uid...).
 */
const struct args_opt *
appcfg_cli_opts(void)
{
	static struct args_opt *opts;
	static char (*names)[48];
	static char (*helps)[64];
	size_t i, n = 0;

	if (opts != NULL)
		return opts;
	/* Made once, kept for the daemon's life. */
	opts = xcalloc(2 * appcfg_nkeys + 4, sizeof *opts);
	names = xcalloc(2 * appcfg_nkeys, sizeof *names);
	helps = xcalloc(appcfg_nkeys, sizeof *helps);
	for (i = 0; i < appcfg_nkeys; i++) {
		const struct appcfg_key *k = &appcfg_keys[i];

		if (k->type == CFG_ARGS || strcmp(k->name, "script") == 0 ||
		    k->help == NULL)
			continue;
		opts[n].name = appcfg_kebab(k->name, names[2 * i],
		    sizeof names[0]);
		opts[n].short_name = k->short_flag;
		opts[n].kind = appcfg_opt_kind(k);
		opts[n].help = k->help;
		n++;
		if (k->alias == NULL)
			continue;
		opts[n].name = appcfg_kebab(k->alias, names[2 * i + 1],
		    sizeof names[0]);
		opts[n].kind = appcfg_opt_kind(k);
		snprintf(helps[i], sizeof helps[i], "       same as --%s",
		    opts[n - 1].name);
		opts[n].help = helps[i];
		n++;
	}
	appcfg_cli_extra(opts + n);
	return opts;
}

/* Applies the options of `start` (or `restart --update-env`) to c. */
int
appcfg_from_args(struct app_config *c, const struct args *a, char **cause)
{
	const char *name;
	char key[48];
	json_t *v, *item;
	size_t i, j;

	json_object_foreach(a->opts, name, v) {
		if (strcmp(name, "no-autorestart") == 0) {
			c->autorestart = APP_RESTART_NEVER;
			continue;
		}
		if (strcmp(name, "no-merge-logs") == 0) {
			c->merge_logs = 0;
			continue;
		}
		for (j = 0; name[j] != '\0' && j < sizeof key - 1; j++)
			key[j] = name[j] == '-' ? '_' : name[j];
		key[j] = '\0';
		if (strcmp(key, "port") == 0)
			strcpy(key, "listen");
		if (appcfg_find(key) == NULL)
			continue;       /* an option of the command, not a setting */
		if (json_is_array(v)) {
			json_array_foreach(v, i, item) {
				if (appcfg_set_string(c, key,
				    json_string_value(item), cause) == -1)
					return -1;
			}
		} else if (appcfg_set_string(c, key,
		    json_is_string(v) ? json_string_value(v) : "true",
		    cause) == -1)
			return -1;
	}
	return 0;
}
