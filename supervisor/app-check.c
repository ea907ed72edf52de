/* SPDX-License-Identifier: ISC */
/*
 * The checks an app's configuration passes before app_declare() makes an
 * app of it: its own values, then what it names on this system; an app
 * restored by a new engine passes the first strictly and has the second
 * shown as a problem, not refused.
 */
#include "corrald.h"

/*
 * The checks of a configuration's own values, which look nothing up: the
 * one rule for names (parse_app_name), cron_restart, the log settings.
 */
static int
app_check_values(const struct app_config *cfg, char **cause)
{
	if (cfg->name == NULL) {
		*cause = xstrdup("no name");
		return -1;
	}
	if (parse_app_name(cfg->name, cause) == -1 ||
	    triggers_check_values(cfg, cause) == -1)
		return -1;
	return logsink_check_values(cfg, cause);
}

/* What cfg names on this system: watched paths, user, group, log folders. */
static int
app_check_system(const struct app_config *cfg, char **cause)
{
	if (triggers_check_system(cfg, cause) == -1)
		return -1;
	return logsink_check_folders(cfg, cause);
}

/*
 * The checks every new configuration passes, wherever it comes from (a
 * start, a config file, a saved list): its values, then what it names
 * on this system. Returns 0, or -1 with *cause set.
 */
int
app_check(const struct app_config *cfg, char **cause)
{
	if (app_check_values(cfg, cause) == -1)
		return -1;
	return app_check_system(cfg, cause);
}

/*
 * The checks of an app that ran, restored from state.json by a new
 * engine: its values as strictly as any (the file may be corrupt), but
 * what it names on this system may have changed since it started (a
 * watched folder removed, a user gone, a log folder opened to others):
 * that only matters for a new start, and refusing the app would have
 * its running processes killed as belonging to no app. Such a failure
 * goes to *problem (NULL when none), the app is declared all the same;
 * a spawn with an unknown identity is refused (triggers_spawn()) and
 * the log files stay closed while their folder is unsafe
 * (logsink_open()). Returns 0, or -1 with *cause set.
 */
int
app_check_restored(const struct app_config *cfg, char **problem,
    char **cause)
{
	*problem = NULL;
	if (app_check_values(cfg, cause) == -1)
		return -1;
	(void)app_check_system(cfg, problem);
	return 0;
}
