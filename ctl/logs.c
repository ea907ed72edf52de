/* SPDX-License-Identifier: ISC */
/*
 * `corral logs` on the client side: print the last lines of each file the
 * daemon names, then the lines it streams, until the daemon goes or the
 * user interrupts.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "corral.h"

#define LOGS_TAIL_CHUNK 65536

/* Prints the last n lines of path, each with prefix. */
static void
logs_tail(const char *path, const char *prefix, long long n)
{
	struct stat st;
	char *buf = NULL, *p, *line;
	off_t start;
	size_t len = 0;
	long long found = 0;
	ssize_t r;
	int fd;

	if (n <= 0 || (fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return;
	if (fstat(fd, &st) == -1 || st.st_size == 0) {
		close(fd);
		return;
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
		return;
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
	for (line = strtok(p, "\n"); line != NULL; line = strtok(NULL, "\n"))
		printf("%s%s\n", prefix, line);
	free(buf);
}

void
logs_print_event(json_t *ev, int raw)
{
	const char *type = json_string_value(json_object_get(ev, "event"));
	const char *app = json_string_value(json_object_get(ev, "app"));
	const char *stream = json_string_value(json_object_get(ev, "stream"));
	const char *line = json_string_value(json_object_get(ev, "line"));

	if (type != NULL && strcmp(type, "missed") == 0) {
		printf("[corral] %lld lines missed (reader too slow)\n",
		    (long long)json_integer_value(json_object_get(ev, "count")));
		return;
	}
	if (type == NULL || strcmp(type, "log") != 0 || line == NULL)
		return;
	if (raw)
		printf("%s\n", line);
	else
		printf("%s[%lld] %s | %s\n", app != NULL ? app : "?",
		    (long long)json_integer_value(json_object_get(ev, "instance")),
		    stream != NULL && strcmp(stream, "err") == 0 ? "err" : "out",
		    line);
}

/* Runs the client side of `logs` after its reply; returns the exit status. */
int
logs_run(struct client *cl, json_t *data, int raw)
{
	json_t *files = json_object_get(data, "files"), *f, *ev;
	long long lines = json_integer_value(json_object_get(data, "lines"));
	char *prefix, *cause = NULL;
	size_t i;

	json_array_foreach(files, i, f) {
		const char *path = json_string_value(json_object_get(f, "path"));

		if (path == NULL)
			continue;
		printf("==> %s <==\n", path);
		xasprintf(&prefix, "%s %s | ",
		    json_string_value(json_object_get(f, "app")),
		    json_string_value(json_object_get(f, "stream")));
		logs_tail(path, raw ? "" : prefix, lines);
		free(prefix);
	}
	fflush(stdout);
	if (!json_is_true(json_object_get(data, "follow")))
		return 0;
	while ((ev = client_recv(cl, &cause)) != NULL) {
		logs_print_event(ev, raw);
		fflush(stdout);
		json_decref(ev);
	}
	free(cause);
	return 0;
}
