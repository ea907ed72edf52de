/* SPDX-License-Identifier: ISC */
/*
 * What is known of an app's log files, as JSON: the files that fail or
 * have lost lines (describe), the lines lost (metrics) and the list of
 * files, open or not, that `corral logs` reads.
 */
#include <stdlib.h>
#include <string.h>

#include "corrald.h"

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
