/* SPDX-License-Identifier: ISC */
/*
 * Where the lines of an app's instances go: logs/<app>-out.log and
 * logs/<app>-error.log, one whole line per write so instances never
 * interleave mid-line, and every connection that follows the logs.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "corrald.h"

static int
logsink_open_one(const char *path, char **cause)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);

	if (fd == -1)
		xasprintf(cause, "%s: %s", path, strerror(errno));
	return fd;
}

int
logsink_open(struct app *app, char **cause)
{
	if (app->log_out_path == NULL) {
		xasprintf(&app->log_out_path, "%s/%s-out.log", D.logs_dir,
		    app->cfg.name);
		xasprintf(&app->log_err_path, "%s/%s-error.log", D.logs_dir,
		    app->cfg.name);
	}
	if ((app->log_out = logsink_open_one(app->log_out_path, cause)) == -1)
		return -1;
	if ((app->log_err = logsink_open_one(app->log_err_path, cause)) == -1) {
		close(app->log_out);
		app->log_out = -1;
		return -1;
	}
	return 0;
}

void
logsink_close(struct app *app)
{
	if (app->log_out != -1)
		close(app->log_out);
	if (app->log_err != -1)
		close(app->log_err);
	app->log_out = app->log_err = -1;
	free(app->log_out_path);
	free(app->log_err_path);
	app->log_out_path = app->log_err_path = NULL;
}

static void
logsink_write(struct app *app, int fd, const char *line, size_t len)
{
	struct iovec iov[2];
	ssize_t n;

	if (fd == -1)
		return;
	iov[0].iov_base = (void *)(uintptr_t)line;
	iov[0].iov_len = len;
	iov[1].iov_base = (void *)(uintptr_t)"\n";
	iov[1].iov_len = 1;
	do
		n = writev(fd, iov, 2);
	while (n == -1 && errno == EINTR);
	if (n == -1 && errno != ENOSPC)
		log_warn("%s: writing log", app->cfg.name);
}

static json_t *
logsink_event(struct app *app, int index, int stream, const char *line,
    size_t len)
{
	return json_pack("{s:s, s:s, s:i, s:s, s:s%, s:I}", "event", "log",
	    "app", app->cfg.name, "instance", index,
	    "stream", stream == 2 ? "err" : "out", "line", line, len,
	    "time", (json_int_t)now_ms());
}

static void
logsink_broadcast(struct app *app, int index, int stream, const char *line,
    size_t len)
{
	struct conn *c;
	json_t *ev = NULL;
	char *clean = NULL;
	size_t clean_len;

	TAILQ_FOREACH(c, &D.conns, entry) {
		if (!c->streaming || c->closing)
			continue;
		if (c->log_filter != NULL && strcmp(c->log_filter,
		    app->cfg.name) != 0)
			continue;
		if (ev == NULL)
			ev = logsink_event(app, index, stream, line, len);
		if (ev == NULL && clean == NULL) {
			/* Not UTF-8: the file has the bytes, readers get U+FFFD. */
			clean = utf8_sanitize(line, len, &clean_len);
			ev = logsink_event(app, index, stream, clean, clean_len);
		}
		if (ev != NULL)
			conn_event(c, ev);
	}
	json_decref(ev);
	free(clean);
}

/* One line (without newline) of instance index on stream 1 or 2. */
void
logsink_line(struct app *app, int index, int stream, const char *line,
    size_t len)
{
	logsink_write(app, stream == 2 ? app->log_err : app->log_out, line, len);
	logsink_broadcast(app, index, stream, line, len);
}

/* Empties both files (corral flush). */
int
logsink_flush(struct app *app)
{
	int rc = 0;

	if (app->log_out != -1 && ftruncate(app->log_out, 0) == -1)
		rc = -1;
	if (app->log_err != -1 && ftruncate(app->log_err, 0) == -1)
		rc = -1;
	return rc;
}

/* Reopens every file, after an outside rotation (SIGUSR1). */
void
logsink_reopen_all(void)
{
	struct app *app;
	char *cause = NULL;

	log_reopen();
	TAILQ_FOREACH(app, &D.apps, entry) {
		if (app->log_out != -1)
			close(app->log_out);
		if (app->log_err != -1)
			close(app->log_err);
		app->log_out = app->log_err = -1;
		if (logsink_open(app, &cause) == -1) {
			log_warnx("reopening logs: %s", cause);
			free(cause);
			cause = NULL;
		}
	}
}
