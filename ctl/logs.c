/* SPDX-License-Identifier: ISC */
/*
 * `corral logs` on the client side: read the last lines of each file the
 * daemon names, merge them by time (the timestamp each line carries, in the
 * app's date format or its JSON), keep those since --since, print them, then
 * the lines the daemon streams, until the daemon goes or the user
 * interrupts. Output: "app stream | line" for people, the bare line with
 * --raw, one JSON object per line with --json.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "corral.h"
#include "logfmt.h"

#define LOGS_TAIL_CHUNK 65536

#define LOGS_PEOPLE 0
#define LOGS_RAW 1
#define LOGS_JSON 2

struct logs_line {
	uint64_t time;
	size_t seq;                     /* order of reading, for ties */
	const char *app;
	const char *stream;
	char *text;                     /* the line as stored */
	char *message;                  /* without timestamp / JSON */
};

struct logs_set {
	struct logs_line *v;
	size_t n;
};

/* The last n lines of path, in a buffer the caller frees; NULL if none. */
static char *
logs_tail(const char *path, long long n, size_t *lenp)
{
	struct stat st;
	char *buf = NULL, *p;
	off_t start;
	size_t len = 0;
	long long found = 0;
	ssize_t r;
	int fd;

	if (n <= 0 || (fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return NULL;
	if (fstat(fd, &st) == -1 || st.st_size == 0) {
		close(fd);
		return NULL;
	}
	/* Read backwards in chunks until n newlines (or the start) are found. */
	start = st.st_size;
	while (start > 0 && found <= n) {
		off_t want = start > LOGS_TAIL_CHUNK ? LOGS_TAIL_CHUNK : start;

		start -= want;
		buf = xrealloc(buf, len + (size_t)want + 1);
		memmove(buf + want, buf, len);
		r = pread(fd, buf, (size_t)want, start);
		if (r != want)
			break;
		len += (size_t)want;
		found = 0;
		for (p = buf; p < buf + len; p++)
			found += *p == '\n';
	}
	close(fd);
	if (buf == NULL)
		return NULL;
	buf[len] = '\0';
	if (len > 0 && buf[len - 1] == '\n')
		buf[--len] = '\0';
	p = buf + len;
	found = 0;
	while (p > buf && found < n) {
		p--;
		if (*p == '\n' && ++found == n) {
			p++;
			break;
		}
	}
	len = strlen(p);
	memmove(buf, p, len + 1);
	*lenp = len;
	return buf;
}

/* The time and message of one stored line; *t stays as is if it has none. */
static char *
logs_parse(json_t *f, const char *line, uint64_t *t)
{
	const char *type = json_string_value(json_object_get(f, "type"));
	const char *df = json_string_value(json_object_get(f, "date_format"));
	json_t *j, *m;
	uint64_t ms;
	size_t used;
	char *msg;

	if (type != NULL && strcmp(type, "json") == 0) {
		if ((j = json_loads(line, 0, NULL)) == NULL)
			return xstrdup(line);
		if (json_is_integer(json_object_get(j, "timestamp")))
			*t = (uint64_t)json_integer_value(json_object_get(j,
			    "timestamp"));
		m = json_object_get(j, "message");
		msg = xstrdup(json_is_string(m) ? json_string_value(m) : line);
		json_decref(j);
		return msg;
	}
	if (df != NULL && logfmt_parse_time(df, line, 0, strlen(line), &ms,
	    &used) == 0) {
		*t = ms;
		line += used;
		if (*line == ' ')
			line++;
	}
	return xstrdup(line);
}

/* Adds the tail of file f (its lines since since, when not 0) to set. */
static void
logs_collect(struct logs_set *set, json_t *f, long long n, uint64_t since)
{
	const char *path = json_string_value(json_object_get(f, "path"));
	struct logs_line *l;
	struct stat st;
	uint64_t t = 0;
	char *buf, *line, *save = NULL;
	size_t len;

	if (path == NULL || (buf = logs_tail(path, n, &len)) == NULL)
		return;
	/* lines without a time of their own: the file's, or the one before */
	if (stat(path, &st) == 0 && json_object_get(f, "date_format") == NULL &&
	    !json_is_string(json_object_get(f, "type")))
		t = (uint64_t)st.st_mtime * 1000;
	for (line = strtok_r(buf, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		set->v = xreallocarray(set->v, set->n + 1, sizeof *set->v);
		l = &set->v[set->n];
		l->message = logs_parse(f, line, &t);
		if (since > 0 && t < since) {
			free(l->message);
			continue;
		}
		l->time = t;
		l->seq = set->n;
		l->app = json_string_value(json_object_get(f, "app"));
		l->stream = json_string_value(json_object_get(f, "stream"));
		l->text = xstrdup(line);
		set->n++;
	}
	free(buf);
}

static int
logs_cmp(const void *a, const void *b)
{
	const struct logs_line *x = a, *y = b;

	if (x->time != y->time)
		return x->time < y->time ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void
logs_print_line(const struct logs_line *l, int mode)
{
	json_t *j;
	char *s;

	if (mode == LOGS_RAW) {
		printf("%s\n", l->message);
		return;
	}
	if (mode == LOGS_JSON) {
		j = json_pack("{s:o?, s:o?, s:I, s:o}", "app", json_str(l->app),
		    "stream", json_str(l->stream), "time", (json_int_t)l->time,
		    "line", json_str(l->message));
		if (j != NULL && (s = jsonb_dumps(j, JSON_COMPACT)) != NULL) {
			printf("%s\n", s);
			free(s);
		}
		json_decref(j);
		return;
	}
	printf("%s %s | %s\n", l->app != NULL ? l->app : "?",
	    l->stream != NULL ? l->stream : "?", l->text);
}

static void
logs_print_event(json_t *ev, int mode)
{
	const char *type = json_string_value(json_object_get(ev, "event"));
	const char *app = json_string_value(json_object_get(ev, "app"));
	const char *stream = json_string_value(json_object_get(ev, "stream"));
	const char *line = json_string_value(json_object_get(ev, "line"));
	char *s;

	if (mode == LOGS_JSON && type != NULL) {
		if ((s = jsonb_dumps(ev, JSON_COMPACT)) != NULL) {
			printf("%s\n", s);
			free(s);
		}
		return;
	}
	if (type != NULL && strcmp(type, "missed") == 0) {
		printf("[corral] %lld lines missed (reader too slow)\n",
		    (long long)json_integer_value(json_object_get(ev, "count")));
		return;
	}
	if (type == NULL || strcmp(type, "log") != 0 || line == NULL)
		return;
	if (mode == LOGS_RAW)
		printf("%s\n", line);
	else
		printf("%s[%lld] %s | %s\n", app != NULL ? app : "?",
		    (long long)json_integer_value(json_object_get(ev, "instance")),
		    stream != NULL && strcmp(stream, "err") == 0 ? "err" : "out",
		    line);
}

/*
 * Runs the client side of `logs` after its reply (json_out: --json);
 * returns the exit status.
 */
int
logs_run(struct client *cl, json_t *data, int json_out)
{
	json_t *files = json_object_get(data, "files"), *f, *ev;
	long long lines = json_integer_value(json_object_get(data, "lines"));
	uint64_t since = (uint64_t)json_integer_value(json_object_get(data,
	    "since"));
	int mode = json_out ? LOGS_JSON :
	    json_is_true(json_object_get(data, "raw")) ? LOGS_RAW : LOGS_PEOPLE;
	struct logs_set set = { NULL, 0 };
	char *cause = NULL;
	size_t i;

	json_array_foreach(files, i, f)
		logs_collect(&set, f, lines, since);
	if (set.n > 0)
		qsort(set.v, set.n, sizeof *set.v, logs_cmp);
	for (i = 0; i < set.n; i++) {
		logs_print_line(&set.v[i], mode);
		free(set.v[i].text);
		free(set.v[i].message);
	}
	free(set.v);
	fflush(stdout);
	if (!json_is_true(json_object_get(data, "follow")))
		return 0;
	while ((ev = client_recv(cl, &cause)) != NULL) {
		logs_print_event(ev, mode);
		fflush(stdout);
		json_decref(ev);
	}
	free(cause);
	return 0;
}
