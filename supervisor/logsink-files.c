/* SPDX-License-Identifier: ISC */
/*
 * The sinks of an app's logs (where the files are: logsink-paths.c), which
 * exist only while lines come: a sink is made when the first line for its
 * file arrives (the writer thread opens the file then) and all the sinks
 * of an app close once it has no process left, so that a stopped app
 * holds no descriptor and no buffer.  Lines are committed here: all the
 * sinks of a line take it, or none does and the producer waits for room.
 * Also `corral flush` and reopening.
 */
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "corrald.h"

static struct logfile *logsink_journal_file;

/* A sink for path, made now; none for no file. */
static struct logfile *
logsink_open_path(struct applogs *l, const char *path)
{
	if (logsink_no_file(path))
		return NULL;
	return logfile_open_file(path, &l->ro);
}

/* Calls fn on each sink l has made. */
void
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
static struct logfile *
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
static struct logfile *
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
static struct logfile *
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

/* Whether f cannot take n bytes now; if so, w waits for it. */
static int
logsink_full(struct logfile *f, size_t n, struct logfile_waiter *w)
{
	if (f == NULL || !logfile_blocks(f, n))
		return 0;
	if (w != NULL)
		logfile_wait(f, w);
	return 1;
}

/*
 * Whether a batch of instance index on stream cannot be committed now: its
 * file or the combined one cannot take the n formatted bytes, or the
 * journal jneed bytes. If so, w waits for the first full sink.
 */
int
logsink_blocked(struct app *app, int index, int stream, size_t n,
    size_t jneed, struct logfile_waiter *w)
{
	struct logfile *f = logsink_file(app, index, stream);
	struct logfile *comb = logsink_comb(app);
	struct logfile *j = logsink_journal(app);

	return logsink_full(f, n, w) || logsink_full(comb, n, w) ||
	    logsink_full(j, jneed, w);
}

/*
 * The sinks a line of instance index on stream goes to (its file, the
 * combined one, the journal), made if need be, into sinks[0..2]; returns
 * how many.
 */
int
logsink_sinks(struct app *app, int index, int stream, struct logfile **sinks)
{
	struct logfile *all[3];
	int i, n = 0;

	all[0] = logsink_file(app, index, stream);
	all[1] = logsink_comb(app);
	all[2] = logsink_journal(app);
	for (i = 0; i < 3; i++) {
		if (all[i] != NULL)
			sinks[n++] = all[i];
	}
	return n;
}

/*
 * Commits the n formatted bytes at data (whole lines) to the files of
 * instance index on stream; logsink_blocked said they have room.
 */
void
logsink_write(struct app *app, int index, int stream, const char *data,
    size_t n)
{
	struct logfile *f = logsink_file(app, index, stream);
	struct logfile *comb = logsink_comb(app);

	if (f != NULL && n > 0)
		logfile_write(f, data, n);
	if (comb != NULL && n > 0)
		logfile_write(comb, data, n);
}

/* Commits one line (without its newline) to the journal, if the app's
 * lines go there; logsink_blocked said it has room. */
void
logsink_write_journal(struct app *app, int index, int stream,
    const char *line, size_t len)
{
	struct logfile *j = logsink_journal(app);

	if (j != NULL)
		logfile_journal(j, app->cfg.name, index, stream == 2 ? LOG_ERR :
		    LOG_INFO, line, len);
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

