/* SPDX-License-Identifier: ISC */
/*
 * Where an app's log files are (logs/<name>-out.log, -error.log, the
 * combined one; "-N" per instance unless merged; /dev/null or PM2's "NULL"
 * for none) and the checks made before an app is declared: the log
 * settings are known values, and no other user may redirect the files
 * (their folders are safe, pathsafe.c, for the user the app runs as; a
 * file there is a regular file, not a link).
 *
 * A folder found safe is taken as safe again until the loop's time moves
 * (uv_now(): the same turn of the loop, within a millisecond): an app is
 * checked three times on its way in (the request's validation,
 * app_check(), logsink_open()) and the apps of one request mostly share
 * one folder, whose walk up to / (a realpath() and a stat() per folder)
 * was most of the system calls of a start of 500 apps (issue 16). The
 * next request checks again, so a folder changed in between is seen as
 * before; the files themselves are still looked at each time (lstat) and
 * opened with O_NOFOLLOW.
 */
#include <sys/stat.h>

#include <stdlib.h>
#include <string.h>

#include "corrald.h"

/* base with "-N" before its ".log" (or at its end). The caller frees. */
char *
logsink_instance_path(const char *base, int index)
{
	size_t n = strlen(base);
	char *p;

	if (n > 4 && strcmp(base + n - 4, ".log") == 0)
		xasprintf(&p, "%.*s-%d.log", (int)(n - 4), base, index);
	else
		xasprintf(&p, "%s-%d", base, index);
	return p;
}

/* The path set for a log file, or logs/<name><suffix>. The caller frees. */
char *
logsink_path(const char *set, const char *cwd, const char *suffix,
    const char *name)
{
	char *p;

	if (set == NULL)
		xasprintf(&p, "%s/%s%s", D.logs_dir, name, suffix);
	else if (set[0] == '/' || cwd == NULL)
		p = xstrdup(set);
	else
		xasprintf(&p, "%s/%s", cwd, set);
	return p;
}

/* Whether path stands for no file: /dev/null, or PM2's "NULL". */
int
logsink_no_file(const char *path)
{
	return strcmp(path, "/dev/null") == 0 || strcmp(path, "NULL") == 0;
}

/*
 * Whether c has a file of both streams (log_file): a path, or PM2's
 * "true" for logs/NAME.log (*set NULL then); "false" is none.
 */
int
logsink_comb_set(const struct app_config *c, const char **set)
{
	if (c->log_file == NULL || strcmp(c->log_file, "false") == 0)
		return 0;
	*set = strcmp(c->log_file, "true") == 0 ? NULL : c->log_file;
	return 1;
}

#define LOGSINK_SAFE_MAX 8

static struct {
	char *dir[LOGSINK_SAFE_MAX];
	uid_t uid[LOGSINK_SAFE_MAX];
	size_t n;
	uint64_t turn;                  /* uv_now() when they were found */
} logsink_safe;

/* Whether dir was found safe for uid in this turn of the loop. */
static int
logsink_safe_known(const char *dir, uid_t uid)
{
	size_t i;

	if (D.loop == NULL)
		return 0;
	if (logsink_safe.turn != uv_now(D.loop)) {
		for (i = 0; i < logsink_safe.n; i++)
			free(logsink_safe.dir[i]);
		logsink_safe.n = 0;
		logsink_safe.turn = uv_now(D.loop);
		return 0;
	}
	for (i = 0; i < logsink_safe.n; i++) {
		if (logsink_safe.uid[i] == uid &&
		    strcmp(logsink_safe.dir[i], dir) == 0)
			return 1;
	}
	return 0;
}

/* Notes dir as safe for uid in this turn (after logsink_safe_known()). */
static void
logsink_safe_add(const char *dir, uid_t uid)
{
	if (D.loop == NULL || logsink_safe.n == LOGSINK_SAFE_MAX)
		return;
	logsink_safe.dir[logsink_safe.n] = xstrdup(dir);
	logsink_safe.uid[logsink_safe.n++] = uid;
}

/*
 * Whether dir, the folder of a log file, is safe for uid; a folder that
 * is not there yet stands for the nearest one above it, below which
 * logdir.c makes it (now, or once what is in the way is gone). Returns 0,
 * or -1 with *cause.
 */
static int
logsink_check_dir(const char *dir, uid_t uid, char **cause)
{
	struct stat st;
	char *d, *up;
	int r, exists = 1;

	if (logsink_safe_known(dir, uid))
		return 0;
	d = xstrdup(dir);
	while ((stat(d, &st) == -1 || !S_ISDIR(st.st_mode)) &&
	    strcmp(d, "/") != 0 && strcmp(d, ".") != 0) {
		up = pathsafe_parent(d);
		free(d);
		d = up;
		exists = 0;
	}
	/* Only a folder that is there: one to be made is looked at again. */
	if ((r = pathsafe_dir(d, uid, cause)) == 0 && exists)
		logsink_safe_add(dir, uid);
	free(d);
	return r;
}

/* The folder of the log file set (or the default one) is safe for uid. */
static int
logsink_check_folder(const struct app_config *c, const char *set,
    const char *suffix, uid_t uid, char **cause)
{
	struct stat st;
	char *path, *dir, *why = NULL;
	int r;

	if (set != NULL && logsink_no_file(set))
		return 0;
	path = logsink_path(set, c->cwd, suffix, c->name);
	dir = pathsafe_parent(path);
	if ((r = logsink_check_dir(dir, uid, &why)) == -1) {
		xasprintf(cause, "log file %s: %s", path, why);
		free(why);
	} else if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		xasprintf(cause, "log file %s is %s", path, S_ISLNK(st.st_mode) ?
		    "a symbolic link" : "not a regular file");
		r = -1;
	}
	free(dir);
	free(path);
	return r;
}

/*
 * No other user may redirect the app's log files: their folders must be
 * safe (pathsafe.c) for the user the app runs as.
 */
int
logsink_check_folders(const struct app_config *c, char **cause)
{
	struct privdrop pd;
	const char *set;
	int r;

	if (c->disable_logs || (c->log_sink != NULL &&
	    strcmp(c->log_sink, "journal") == 0) || c->name == NULL)
		return 0;
	if (privdrop_resolve(c->user, c->group, &pd, cause) == -1)
		return -1;
	r = logsink_check_folder(c, c->out_file, "-out.log", pd.uid, cause);
	if (r == 0)
		r = logsink_check_folder(c, c->error_file, "-error.log",
		    pd.uid, cause);
	if (r == 0 && logsink_comb_set(c, &set))
		r = logsink_check_folder(c, set, ".log", pd.uid, cause);
	privdrop_free(&pd);
	return r;
}

/* Checks the log settings of c themselves, whatever the files' folders. */
int
logsink_check_values(const struct app_config *c, char **cause)
{
	if (c->log_type != NULL && strcmp(c->log_type, "raw") != 0 &&
	    strcmp(c->log_type, "text") != 0 &&
	    strcmp(c->log_type, "json") != 0) {
		xasprintf(cause, "log_type: '%s' is not raw, text or json",
		    c->log_type);
		return -1;
	}
	if (c->log_sink != NULL && strcmp(c->log_sink, "file") != 0 &&
	    strcmp(c->log_sink, "journal") != 0 &&
	    strcmp(c->log_sink, "both") != 0) {
		xasprintf(cause, "log_sink: '%s' is not file, journal or both",
		    c->log_sink);
		return -1;
	}
	if (c->log_date_format != NULL && strlen(c->log_date_format) > 60) {
		xasprintf(cause, "log_date_format: too long");
		return -1;
	}
	return 0;
}

/* Checks the log settings of c and its files' folders. */
int
logsink_check(const struct app_config *c, char **cause)
{
	if (logsink_check_values(c, cause) == -1)
		return -1;
	return logsink_check_folders(c, cause);
}
