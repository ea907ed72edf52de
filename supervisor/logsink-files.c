/* SPDX-License-Identifier: ISC */
/*
 * The files of an app's logs: where they are (logs/<name>-out.log, -o,
 * -e, -l; one per instance unless merged), the checks made before an app
 * is declared (no other user may redirect them), and their sinks, which
 * exist only while lines come: a sink is made when the first line for its
 * file arrives (the writer thread opens the file then) and all the sinks
 * of an app close once it has no process left, so that a stopped app
 * holds no descriptor and no buffer.  Also `corral flush`, reopening,
 * the status for describe and the file list for `corral logs`.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "corrald.h"

static struct logfile *logsink_journal_file;

/* base with "-N" before its ".log" (or at its end). The caller frees. */
static char *
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
static char *
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

/* The folder of the log file set (or the default one) is safe for uid. */
/* Whether path stands for no file: /dev/null, or PM2's "NULL". */
static int
logsink_no_file(const char *path)
{
	return strcmp(path, "/dev/null") == 0 || strcmp(path, "NULL") == 0;
}

/*
 * Whether c has a file of both streams (log_file): a path, or PM2's
 * "true" for logs/NAME.log (*set NULL then); "false" is none.
 */
static int
logsink_comb_set(const struct app_config *c, const char **set)
{
	if (c->log_file == NULL || strcmp(c->log_file, "false") == 0)
		return 0;
	*set = strcmp(c->log_file, "true") == 0 ? NULL : c->log_file;
	return 1;
}

static int
logsink_check_folder(const struct app_config *c, const char *set,
    const char *suffix, uid_t uid, char **cause)
{
	struct stat st;
	char *path, *dir, *up, *why = NULL;
	int r;

	if (set != NULL && logsink_no_file(set))
		return 0;
	path = logsink_path(set, c->cwd, suffix, c->name);
	dir = pathsafe_parent(path);
	/*
	 * Folders to be made (logdir.c: now, or once what is in the way is
	 * gone) go below the nearest folder there.
	 */
	while ((stat(dir, &st) == -1 || !S_ISDIR(st.st_mode)) &&
	    strcmp(dir, "/") != 0 && strcmp(dir, ".") != 0) {
		up = pathsafe_parent(dir);
		free(dir);
		dir = up;
	}
	if ((r = pathsafe_dir(dir, uid, &why)) == -1) {
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
static int
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

/* Checks the log settings of c before an app is made of it. */
int
logsink_check(const struct app_config *c, char **cause)
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
	return logsink_check_folders(c, cause);
}

/* A sink for path, made now; none for no file. */
static struct logfile *
logsink_open_path(struct applogs *l, const char *path)
{
	if (logsink_no_file(path))
		return NULL;
	return logfile_open_file(path, &l->ro);
}

/* Calls fn on each sink l has made. */
static void
logsink_each(struct applogs *l, void (*fn)(struct logfile *))
{
	int i;

	if (l == NULL)
		return;
	if (l->out != NULL)
		fn(l->out);
	if (l->err != NULL)
		fn(l->err);
	if (l->comb != NULL)
		fn(l->comb);
	for (i = 0; i < l->ninst; i++) {
		if (l->iout[i] != NULL)
			fn(l->iout[i]);
		if (l->ierr[i] != NULL)
			fn(l->ierr[i]);
	}
}

/* Closes every sink of l (what they hold is written first). */
static void
logsink_close_sinks(struct applogs *l)
{
	logsink_each(l, logfile_close);
	free(l->iout);
	free(l->ierr);
	l->out = l->err = l->comb = NULL;
	l->iout = l->ierr = NULL;
	l->ninst = 0;
}

static void
logsink_free(struct applogs *l)
{
	logsink_close_sinks(l);
	free(l->out_path);
	free(l->err_path);
	free(l->comb_path);
	free((char *)l->fmt.date_format);
	free(l);
}

/*
 * Makes the missing folders of l's files now (logdir.c; PM2 makes them),
 * so that a folder that cannot be made fails the declaration, to be tried
 * again (logdir_retry); the files themselves open at their first line.
 */
static int
logsink_make_folders(struct applogs *l, char **cause)
{
	const char *paths[3] = { l->out_path, l->err_path, l->comb_path };
	size_t i;

	for (i = 0; i < nitems(paths); i++) {
		if (paths[i] != NULL && !logsink_no_file(paths[i]) &&
		    logdir_make(paths[i], l->uid, l->gid, cause) == -1)
			return -1;
	}
	return 0;
}

/*
 * Sets up the app's logs; no file is opened (see above).  Returns 0, or
 * -1 with *cause set when the settings or the folders are refused.
 */
int
logsink_open(struct app *app, char **cause)
{
	const struct app_config *c = &app->cfg;
	struct applogs *l;
	const char *df = c->log_date_format, *set;

	if (logsink_check(c, cause) == -1)
		return -1;
	l = xcalloc(1, sizeof *l);
	logdir_owner(c, &l->uid, &l->gid);
	if (df == NULL && c->time)
		df = LOGFMT_DEFAULT_DATE;
	logfmt_init(&l->fmt, c->log_type != NULL &&
	    strcmp(c->log_type, "json") == 0 ? LOGFMT_JSON : LOGFMT_PLAIN,
	    NULL, 0, (int)c->log_prefix);
	if (df != NULL || l->fmt.type == LOGFMT_JSON)
		l->fmt.date_format = momentfmt_to_strftime(df != NULL ? df :
		    LOGFMT_DEFAULT_DATE);
	l->ro.max_size = c->max_log_size;
	l->ro.retain = (int)c->retain_logs;
	l->ro.compress = (int)c->compress_logs;
	l->ro.max_age_ms = c->max_log_age;
	l->merge = (int)c->merge_logs;
	l->files = !c->disable_logs && (c->log_sink == NULL ||
	    strcmp(c->log_sink, "journal") != 0);
	l->journal = c->log_sink != NULL && strcmp(c->log_sink, "file") != 0;
	l->out_path = logsink_path(c->out_file, c->cwd, "-out.log", c->name);
	l->err_path = logsink_path(c->error_file, c->cwd, "-error.log",
	    c->name);
	if (logsink_comb_set(c, &set))
		l->comb_path = logsink_path(set, c->cwd, ".log", c->name);
	if (l->files && logsink_make_folders(l, cause) == -1) {
		logsink_free(l);
		return -1;
	}
	free(app->log_out_path);
	free(app->log_err_path);
	app->log_out_path = xstrdup(l->out_path);
	app->log_err_path = xstrdup(l->err_path);
	app->logs = l;
	return 0;
}

void
logsink_close(struct app *app)
{
	if (app->logs != NULL)
		logsink_free(app->logs);
	app->logs = NULL;
	free(app->log_out_path);
	free(app->log_err_path);
	app->log_out_path = app->log_err_path = NULL;
}

/* The app has no process left: its sinks close, until lines come again. */
void
logsink_idle(struct app *app)
{
	if (app->logs != NULL)
		logsink_close_sinks(app->logs);
}

/* The file sink for a line of instance index on stream, made if need be. */
struct logfile *
logsink_file(struct app *app, int index, int stream)
{
	struct applogs *l = app->logs;
	struct logfile **slot;
	char *path;
	int i;

	if (l == NULL || !l->files)
		return NULL;
	if (l->merge) {
		slot = stream == 2 ? &l->err : &l->out;
		if (*slot == NULL)
			*slot = logsink_open_path(l, stream == 2 ? l->err_path :
			    l->out_path);
		return *slot;
	}
	if (index < 0 || index > 65535)
		return NULL;
	if (index >= l->ninst) {
		l->iout = xreallocarray(l->iout, (size_t)index + 1,
		    sizeof *l->iout);
		l->ierr = xreallocarray(l->ierr, (size_t)index + 1,
		    sizeof *l->ierr);
		for (i = l->ninst; i <= index; i++)
			l->iout[i] = l->ierr[i] = NULL;
		l->ninst = index + 1;
	}
	slot = stream == 2 ? &l->ierr[index] : &l->iout[index];
	if (*slot == NULL) {
		path = logsink_instance_path(stream == 2 ? l->err_path :
		    l->out_path, index);
		*slot = logsink_open_path(l, path);
		free(path);
	}
	return *slot;
}

/* The file that gets both streams (log_file), made if need be; or NULL. */
struct logfile *
logsink_comb(struct app *app)
{
	struct applogs *l = app->logs;

	if (l == NULL || !l->files || l->comb_path == NULL)
		return NULL;
	if (l->comb == NULL)
		l->comb = logsink_open_path(l, l->comb_path);
	return l->comb;
}

/* The journal sink when the app sends its lines there, or NULL. */
struct logfile *
logsink_journal(struct app *app)
{
	if (app->logs == NULL || !app->logs->journal)
		return NULL;
	if (logsink_journal_file == NULL)
		logsink_journal_file = logfile_open_journal();
	return logsink_journal_file;
}

/* Writer stopped (daemon exit): the journal sink went with it. */
void
logsink_forget_journal(void)
{
	logsink_journal_file = NULL;
}

/*
 * Empties the app's files and removes their rotated copies (corral
 * flush), through the writer thread: each file is truncated through a
 * descriptor opened without following links (logfile-io.c).  A stopped
 * app's sinks are made for this and closed again.
 */
int
logsink_flush(struct app *app)
{
	int i, n;

	if (app->logs == NULL || !app->logs->files)
		return 0;
	n = app->logs->merge ? 1 : (int)app->cfg.instances;
	if (!app->logs->merge && app->logs->ninst > n)
		n = app->logs->ninst;
	for (i = 0; i < n; i++) {
		logsink_file(app, i, 1);
		logsink_file(app, i, 2);
	}
	logsink_comb(app);
	logsink_each(app->logs, logfile_flush);
	if (app->nchildren == 0)
		logsink_idle(app);
	return 0;
}

/* Reopens every file, after an outside rotation (SIGUSR1, reloadLogs). */
void
logsink_reopen_all(void)
{
	if (log_reopen() == -1)
		log_warn("reopening the daemon's log");
	logwriter_reopen_all();
}

static json_t *logsink_status_json;

static void
logsink_status_one(struct logfile *f)
{
	uint64_t lost;
	int err = logfile_error(f, &lost);

	if (err == 0 && lost == 0)
		return;
	json_array_append_new(logsink_status_json, json_pack("{s:o, s:s?, s:I}",
	    "path", json_str(logfile_path(f)), "error", err != 0 ?
	    strerror(err) : NULL,
	    "lines_lost", (json_int_t)lost));
}

static uint64_t logsink_dropped_sum;

static void
logsink_dropped_one(struct logfile *f)
{
	uint64_t lost;

	(void)logfile_error(f, &lost);
	logsink_dropped_sum += lost;
}

/*
 * Lines of app lost to write errors of its files (those open now), in
 * *n; -1 without files.
 */
int
logsink_dropped(struct app *app, uint64_t *n)
{
	if (app->logs == NULL)
		return -1;
	logsink_dropped_sum = 0;
	logsink_each(app->logs, logsink_dropped_one);
	*n = logsink_dropped_sum;
	return 0;
}

/* The files of app that fail or have lost lines, for describe. */
json_t *
logsink_status(struct app *app)
{
	json_t *a = json_array();

	logsink_status_json = a;
	logsink_each(app->logs, logsink_status_one);
	logsink_status_json = NULL;
	return a;
}

static void
logsink_file_json(json_t *files, struct app *app, const char *stream,
    const char *path, int instance)
{
	struct applogs *l = app->logs;

	if (strcmp(path, "/dev/null") == 0)
		return;
	json_array_append_new(files, json_pack("{s:o, s:s, s:o, s:o?, s:s, "
	    "s:i}", "app", json_str(app->cfg.name), "stream", stream, "path",
	    json_str(path), "date_format", l->fmt.type == LOGFMT_JSON ? NULL :
	    json_str(l->fmt.date_format), "type", l->fmt.type == LOGFMT_JSON ?
	    "json" : "raw", "instance", instance));
}

/*
 * Appends the app's log files (stdout ones if out, stderr if err) to
 * files, open or not: the client reads those that exist.
 */
void
logsink_files(struct app *app, json_t *files, int out, int err)
{
	struct applogs *l = app->logs;
	char *path;
	int i, n;

	if (l == NULL || !l->files)
		return;
	if (l->merge) {
		if (out)
			logsink_file_json(files, app, "out", l->out_path, -1);
		if (err)
			logsink_file_json(files, app, "err", l->err_path, -1);
		return;
	}
	n = l->ninst > app->cfg.instances ? l->ninst : (int)app->cfg.instances;
	for (i = 0; i < n; i++) {
		if (out) {
			path = logsink_instance_path(l->out_path, i);
			logsink_file_json(files, app, "out", path, i);
			free(path);
		}
		if (err) {
			path = logsink_instance_path(l->err_path, i);
			logsink_file_json(files, app, "err", path, i);
			free(path);
		}
	}
}
