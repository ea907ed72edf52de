/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of logwriter.c: lines reach the file in order; rotation under a
 * writer producing continuously loses, duplicates and splits no line (plain
 * and gzipped); a slow file applies back-pressure instead of growing memory;
 * reopen after an external rename; a failing write (file size limit, as a
 * full disk) is reported once, drops and counts lines instead of blocking,
 * and recovers; the journal sink speaks the native protocol to a socket.
 */
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <zlib.h>

#include "common.h"
#include "logwriter-private.h"

static char tmpdir[64];
static uv_loop_t loop;
static uv_timer_t keepalive;    /* the writer's handle does not keep a loop alive */
static int ev_error, ev_recovered, ev_rotated, ev_err;
static uint64_t ev_dropped;

struct producer {
	struct logfile *sink;
	struct logfile_waiter w;
	int next, total, blocked, waiting;
	size_t pad;
};

static void
event_cb(struct logfile *s, int kind, int err, uint64_t dropped)
{
	(void)s;
	if (kind == LOGFILE_EV_ERROR) {
		ev_error++;
		ev_err = err;
	} else if (kind == LOGFILE_EV_RECOVERED) {
		ev_recovered++;
		ev_dropped += dropped;
	} else if (kind == LOGFILE_EV_ROTATED)
		ev_rotated++;
}

static void
keepalive_cb(uv_timer_t *t)
{
	(void)t;
}

static int
loop_start(void)
{
	if (uv_loop_init(&loop) != 0 || uv_timer_init(&loop, &keepalive) != 0)
		return -1;
	return uv_timer_start(&keepalive, keepalive_cb, 3600000, 3600000);
}

static int fds_before;

static int
count_fds(void)
{
	struct dirent *de;
	DIR *d = opendir("/proc/self/fd");
	int n = -1;             /* opendir's own */

	while (d != NULL && (de = readdir(d)) != NULL) {
		if (de->d_name[0] != '.')
			n++;
	}
	if (d != NULL)
		closedir(d);
	return n;
}

static int
setup(void **state)
{
	char *cause = NULL;

	(void)state;
	ev_error = ev_recovered = ev_rotated = ev_err = 0;
	ev_dropped = 0;
	snprintf(tmpdir, sizeof tmpdir, "/tmp/corral-test-writer.XXXXXX");
	if (mkdtemp(tmpdir) == NULL || loop_start() != 0)
		return -1;
	if (logwriter_start(&loop, event_cb, &cause) != 0) {
		fprintf(stderr, "%s\n", cause);
		return -1;
	}
	fds_before = count_fds();
	return 0;
}

/* For tests that fork: the child starts its own writer thread. */
static int
setup_fork(void **state)
{
	(void)state;
	ev_error = ev_recovered = ev_rotated = ev_err = 0;
	ev_dropped = 0;
	snprintf(tmpdir, sizeof tmpdir, "/tmp/corral-test-writer.XXXXXX");
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
child_start(void)
{
	char *cause = NULL;

	if (loop_start() != 0 ||
	    logwriter_start(&loop, event_cb, &cause) != 0)
		return -1;
	return 0;
}

static int
teardown_fork(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	logwriter_stop();
	uv_close((uv_handle_t *)&keepalive, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	if (uv_loop_close(&loop) != 0)
		return -1;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static char *
path_in(const char *name)
{
	char *p;

	xasprintf(&p, "%s/%s", tmpdir, name);
	return p;
}

/* Runs the loop until *flag is set or 60 s pass; returns *flag. */
static int
run_until(int *flag)
{
	time_t end = time(NULL) + 60;

	while (!*flag && time(NULL) < end) {
		uv_run(&loop, UV_RUN_NOWAIT);
		if (!*flag)
			usleep(1000);
	}
	return *flag;
}

static size_t
line_of(struct producer *p, int i, char *buf, size_t sz)
{
	int n;

	n = snprintf(buf, sz, "line %07d %.*s\n", i, (int)p->pad,
	    "...................................................................."
	    "....................................................................");
	return (size_t)n;
}

static void producer_run(struct producer *);

static void
producer_wake(struct logfile_waiter *w)
{
	struct producer *p = (struct producer *)((char *)w -
	    offsetof(struct producer, w));

	p->waiting = 0;
	producer_run(p);
}

static void
producer_run(struct producer *p)
{
	char buf[256];
	size_t n;

	while (p->next < p->total) {
		n = line_of(p, p->next, buf, sizeof buf);
		if (logfile_write(p->sink, buf, n) == -1) {
			p->blocked++;
			p->waiting = 1;
			p->w.cb = producer_wake;
			logfile_wait(p->sink, &p->w);
			return;
		}
		p->next++;
	}
}

static int producer_done_flag;

static void
producer_finish(struct producer *p)
{
	time_t end = time(NULL) + 120;

	producer_run(p);
	while (p->next < p->total && time(NULL) < end) {
		uv_run(&loop, UV_RUN_NOWAIT);
		usleep(200);
	}
	assert_int_equal(p->next, p->total);
	logwriter_sync();
	producer_done_flag = 1;
}

static char *
slurp(const char *path, size_t *len)
{
	char *buf = NULL;
	size_t l = 0;
	FILE *f, *m;
	char tmp[65536];
	size_t n;

	if ((f = fopen(path, "r")) == NULL)
		return NULL;
	m = open_memstream(&buf, &l);
	while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
		fwrite(tmp, 1, n, m);
	fclose(m);
	fclose(f);
	if (len != NULL)
		*len = l;
	return buf;
}

static char *
slurp_gz(const char *path, size_t *len)
{
	char tmp[65536], *buf = NULL;
	size_t l = 0;
	gzFile gz;
	FILE *m;
	int n;

	if ((gz = gzopen(path, "rb")) == NULL)
		return NULL;
	m = open_memstream(&buf, &l);
	while ((n = gzread(gz, tmp, sizeof tmp)) > 0)
		fwrite(tmp, 1, (size_t)n, m);
	fclose(m);
	gzclose(gz);
	*len = l;
	return buf;
}

/*
 * Checks that the rotated files of path, oldest first, then path, hold
 * exactly lines 0..total-1 of p, each whole, in order; and that no file is
 * larger than max (plus one line). Returns the number of files.
 */
static int
check_concat(struct producer *p, const char *path, uint64_t max, int gz)
{
	char want[256], *name, *data;
	size_t len, off, n;
	int k, next = 0, files = 0, isgz;

	for (k = 3000; k >= 0; k--) {
		isgz = 0;
		name = logrotate_name(path, k, 0);
		data = slurp(name, &len);
		free(name);
		if (data == NULL && gz && k > 0) {
			name = logrotate_name(path, k, 1);
			data = slurp_gz(name, &len);
			free(name);
			isgz = data != NULL;
		}
		if (data == NULL)
			continue;
		(void)isgz;
		files++;
		if (max > 0)
			assert_true(len <= max + 256);
		for (off = 0; off < len; off += n) {
			n = line_of(p, next, want, sizeof want);
			assert_true(off + n <= len);
			assert_memory_equal(data + off, want, n);
			next++;
		}
		free(data);
	}
	assert_int_equal(next, p->total);
	return files;
}

static void
test_lines_in_order(void **state)
{
	struct logrotate_opts ro = { 0, 3, 0, 0 };
	struct producer p = { 0 };
	char *path = path_in("a-out.log");

	(void)state;
	p.sink = logfile_open_file(path, &ro);
	assert_non_null(p.sink);
	assert_string_equal(logfile_path(p.sink), path);
	p.total = 20000;
	p.pad = 60;
	producer_finish(&p);
	assert_int_equal(check_concat(&p, path, 0, 0), 1);
	assert_int_equal(logfile_error(p.sink, NULL), 0);
	logfile_close(p.sink);
	free(path);
}

/*
 * A file that cannot be opened: the sink exists, its first line makes
 * the writer try, and the failure comes as an event.
 */
static void
test_open_failure_is_an_event(void **state)
{
	struct logrotate_opts ro = { 0, 3, 0, 0 };
	struct logfile *s;

	(void)state;
	s = logfile_open_file("/nonexistent/dir/x.log", &ro);
	assert_non_null(s);
	assert_int_equal(logfile_write(s, "x\n", 2), 0);
	assert_true(run_until(&ev_error));
	assert_int_equal(ev_err, ENOENT);
	assert_int_equal(logfile_error(s, NULL), ENOENT);
	logfile_close(s);
}

static void
test_rotation_under_writer(void **state)
{
	struct logrotate_opts ro = { 20000, 100000, 0, 0 };
	struct producer p = { 0 };
	char *path = path_in("r-out.log");
	int files;

	(void)state;
	p.sink = logfile_open_file(path, &ro);
	assert_non_null(p.sink);
	p.total = 100000;
	p.pad = 7;      /* 21-byte lines: 20000 is no multiple */
	producer_finish(&p);
	files = check_concat(&p, path, ro.max_size, 0);
	assert_true(files >= 100);
	uv_run(&loop, UV_RUN_NOWAIT);
	assert_true(ev_rotated >= 1);  /* events may coalesce */
	logfile_close(p.sink);
	free(path);
}

static void
test_rotation_gzip(void **state)
{
	struct logrotate_opts ro = { 100000, 100000, 1, 0 };
	struct producer p = { 0 };
	char *path = path_in("g-out.log"), *name;

	(void)state;
	p.sink = logfile_open_file(path, &ro);
	assert_non_null(p.sink);
	p.total = 60000;
	p.pad = 40;
	producer_finish(&p);
	logrotate_gzip_wait_idle();
	name = logrotate_name(path, 1, 1);
	assert_int_equal(access(name, F_OK), 0);
	free(name);
	check_concat(&p, path, 0, 1);
	logfile_close(p.sink);
	free(path);
}

/*
 * A writer that cannot keep up holds the producer back, and nothing is
 * lost.  The writer is stalled for real: its first rotation waits for the
 * rotation lock, which the test holds (as a running compression would).
 * (A FIFO can no longer stand for a slow disk: log files must be regular
 * files.)
 */
static void
test_backpressure(void **state)
{
	struct logrotate_opts ro = { 65536, 1000, 0, 0 };
	struct producer p = { 0 };
	char *path = path_in("slow.log"), *got;
	size_t glen;
	int i;

	(void)state;
	p.sink = logfile_open_file(path, &ro);
	assert_non_null(p.sink);
	logrotate_lock();
	p.total = 50000;
	p.pad = 80;     /* 4.5 MB: far more than the buffers */
	producer_run(&p);
	/* nothing moves past the first 64 KiB while the writer is stalled */
	for (i = 0; i < 50; i++) {
		uv_run(&loop, UV_RUN_NOWAIT);
		usleep(1000);
	}
	assert_true(p.waiting);
	assert_true(p.next * (p.pad + 14) <= 2 * LOGFILE_BUFSIZE + 65536 * 2);
	got = slurp(path, &glen);
	assert_true(glen <= 65536);
	free(got);
	logrotate_unlock();
	producer_finish(&p);
	assert_true(p.blocked > 1);
	check_concat(&p, path, ro.max_size, 0);
	logfile_close(p.sink);
	logwriter_sync();
	free(path);
}

/* Log files are regular files: a FIFO or a link is refused, never used. */
static void
test_only_regular_files(void **state)
{
	struct logrotate_opts ro = { 0, 1, 0, 0 };
	char *fifo = path_in("fifo"), *link = path_in("link");
	char *target = path_in("target"), *got;
	struct logfile *s;
	FILE *f;

	(void)state;
	assert_int_equal(mkfifo(fifo, 0600), 0);
	s = logfile_open_file(fifo, &ro);
	assert_int_equal(logfile_write(s, "x\n", 2), 0);
	assert_true(run_until(&ev_error));
	/* ENXIO: no reader, EINVAL: one, but not a regular file */
	assert_true(ev_err == ENXIO || ev_err == EINVAL);
	logfile_close(s);
	ev_error = 0;
	assert_non_null(f = fopen(target, "w"));
	fputs("keep\n", f);
	fclose(f);
	assert_int_equal(symlink(target, link), 0);
	s = logfile_open_file(link, &ro);
	assert_int_equal(logfile_write(s, "x\n", 2), 0);
	assert_true(run_until(&ev_error));
	assert_int_equal(ev_err, ELOOP);
	logfile_flush(s);
	logfile_close(s);
	logwriter_sync();
	got = slurp(target, NULL);
	assert_string_equal(got, "keep\n");
	free(got);
	free(fifo);
	free(link);
	free(target);
}

/* At most LOGFILE_MAX_OPEN files are open at once; lines all arrive. */
static void
test_open_files_bounded(void **state)
{
	struct logrotate_opts ro = { 0, 1, 0, 0 };
	struct logfile *s[LOGFILE_MAX_OPEN + 50];
	char name[64], *path, *got;
	int i, round;

	(void)state;
	for (i = 0; i < (int)nitems(s); i++) {
		snprintf(name, sizeof name, "many-%d.log", i);
		path = path_in(name);
		s[i] = logfile_open_file(path, &ro);
		free(path);
	}
	for (round = 0; round < 2; round++) {
		for (i = 0; i < (int)nitems(s); i++)
			assert_int_equal(logfile_write(s[i], "line\n", 5), 0);
		logwriter_sync();
		assert_true(count_fds() <= fds_before + LOGFILE_MAX_OPEN);
	}
	for (i = 0; i < (int)nitems(s); i++) {
		snprintf(name, sizeof name, "many-%d.log", i);
		path = path_in(name);
		got = slurp(path, NULL);
		assert_string_equal(got, "line\nline\n");
		free(got);
		free(path);
		logfile_close(s[i]);
	}
	logwriter_sync();
	assert_int_equal(count_fds(), fds_before);
}

static int big_woken;

static void
big_wake(struct logfile_waiter *w)
{
	(void)w;
	big_woken = 1;
}

/* A record larger than the buffer waits for an empty buffer, then goes whole. */
static void
test_record_larger_than_buffer(void **state)
{
	struct logrotate_opts ro = { 0, 1, 0, 0 };
	struct logfile_waiter w = { big_wake, NULL, NULL };
	size_t big = 3 * LOGFILE_BUFSIZE, len;
	char *path = path_in("big.log"), *line, *got;
	struct logfile *s;

	(void)state;
	s = logfile_open_file(path, &ro);
	assert_non_null(s);
	line = xmalloc(big);
	memset(line, 'L', big - 1);
	line[big - 1] = '\n';
	assert_int_equal(logfile_write(s, "small\n", 6), 0);
	big_woken = 0;
	if (logfile_blocks(s, big)) {
		logfile_wait(s, &w);
		assert_true(run_until(&big_woken));
	}
	assert_int_equal(logfile_write(s, line, big), 0);
	/* refused while the big record fills the buffer, if it still does */
	while (logfile_write(s, "after\n", 6) == -1)
		logwriter_sync();
	logwriter_sync();
	got = slurp(path, &len);
	assert_int_equal(len, 6 + big + 6);
	assert_memory_equal(got, "small\n", 6);
	assert_memory_equal(got + 6, line, big);
	assert_memory_equal(got + 6 + big, "after\n", 6);
	free(got);
	free(line);
	logfile_close(s);
	free(path);
}

static void
test_reopen_after_rename(void **state)
{
	struct logrotate_opts ro = { 0, 1, 0, 0 };
	struct logfile *s;
	char *path = path_in("o.log"), *old = path_in("o.log.moved");
	char *a, *b;

	(void)state;
	s = logfile_open_file(path, &ro);
	assert_non_null(s);
	assert_int_equal(logfile_write(s, "before\n", 7), 0);
	logwriter_sync();
	assert_int_equal(rename(path, old), 0);
	assert_int_equal(logfile_write(s, "still old\n", 10), 0);
	logwriter_sync();
	logwriter_reopen_all();
	assert_int_equal(logfile_write(s, "after\n", 6), 0);
	logwriter_sync();
	a = slurp(old, NULL);
	b = slurp(path, NULL);
	assert_non_null(a);
	assert_non_null(b);
	assert_string_equal(a, "before\nstill old\n");
	assert_string_equal(b, "after\n");
	free(a);
	free(b);
	logfile_flush(s);
	logwriter_sync();
	b = slurp(path, NULL);
	assert_string_equal(b, "");
	free(b);
	logfile_close(s);
	free(path);
	free(old);
}

/*
 * In a child (the file size limit must not touch the test's own output):
 * writes past RLIMIT_FSIZE, as if the disk were full, then lifts it.
 * Exits with the number of the failed check, 0 if all passed.
 */
static int
fsize_child(void)
{
	struct logrotate_opts ro = { 0, 1, 0, 0 };
	struct producer p = { 0 };
	struct rlimit rl;
	char *path = path_in("full.log"), *data, want[256];
	size_t len, off, n;
	int i, notices = 0, seen = 0, last = -1;
	char *nl;

	if (child_start() != 0)
		return 20;
	signal(SIGXFSZ, SIG_IGN);
	getrlimit(RLIMIT_FSIZE, &rl);
	rl.rlim_cur = 100000;
	if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
		return 1;
	p.sink = logfile_open_file(path, &ro);
	if (p.sink == NULL)
		return 2;
	p.total = 60000;        /* 6 MB: fills the limit and the buffers */
	p.pad = 86;
	producer_run(&p);
	if (!run_until(&ev_error) || (ev_err != EFBIG && ev_err != ENOSPC))
		return 3;
	/* the app is not blocked: every line is queued or counted */
	for (i = 0; i < 1000 && p.next < p.total; i++) {
		uv_run(&loop, UV_RUN_NOWAIT);
		producer_run(&p);
		usleep(1000);
	}
	if (p.next != p.total)
		return 4;
	if (ev_error != 1 || logfile_error(p.sink, NULL) == 0)
		return 5;
	rl.rlim_cur = RLIM_INFINITY;
	if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
		return 6;
	if (!run_until(&ev_recovered) || ev_dropped == 0)
		return 7;
	if (logfile_error(p.sink, NULL) != 0)
		return 8;
	logwriter_sync();
	if ((data = slurp(path, &len)) == NULL)
		return 9;
	/* whole lines, in order, a gap only at the notice */
	for (off = 0; off < len; off = (size_t)(nl - data) + 1) {
		if ((nl = memchr(data + off, '\n', len - off)) == NULL)
			return 10;
		if (strncmp(data + off, "[corral] ", 9) == 0) {
			notices++;
			continue;
		}
		if (sscanf(data + off, "line %d", &i) != 1 || i <= last)
			return 11;
		n = line_of(&p, i, want, sizeof want);
		if ((size_t)(nl - data) + 1 - off != n ||
		    memcmp(data + off, want, n) != 0)
			return 12;
		if (i != last + 1 && notices == 0)
			return 13;
		last = i;
		seen++;
	}
	if (notices != 1 || (uint64_t)seen + ev_dropped != (uint64_t)p.total)
		return 14;
	free(data);
	logfile_close(p.sink);
	free(path);
	return 0;
}

static void
test_write_failure_recovers(void **state)
{
	pid_t pid;
	int status;

	(void)state;
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(fsize_child());
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* Finds FIELD=value in a native-protocol datagram; NULL if absent. */
static char *
journal_field(const char *dgram, size_t len, const char *field)
{
	size_t flen = strlen(field), off = 0;
	const char *nl;

	while (off < len) {
		nl = memchr(dgram + off, '\n', len - off);
		if (nl == NULL)
			return NULL;
		if ((size_t)(nl - dgram) - off > flen &&
		    memcmp(dgram + off, field, flen) == 0 &&
		    dgram[off + flen] == '=')
			return xstrndup(dgram + off + flen + 1,
			    (size_t)(nl - dgram) - off - flen - 1);
		off = (size_t)(nl - dgram) + 1;
	}
	return NULL;
}

/*
 * In a child with a private mount namespace: a tmpfs on /run holding our
 * own /run/systemd/journal/socket, so that sd_journal_sendv talks to us.
 * Exits 77 when the namespace cannot be made.
 */
static int
journal_child(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { 10, 0 };
	struct logfile *s;
	char buf[4096], *v;
	ssize_t n;
	int fd, i;
	static const char *want[][4] = {
		{ "hello out", "6", "web", "2" },
		{ "oops err", "3", "web", "2" },
	};

	if (unshare(CLONE_NEWNS) != 0 ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
	    mount("tmpfs", "/run", "tmpfs", 0, "mode=0755") != 0)
		return 77;
	if (mkdir("/run/systemd", 0755) != 0 ||
	    mkdir("/run/systemd/journal", 0755) != 0)
		return 1;
	fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	snprintf(sa.sun_path, sizeof sa.sun_path,
	    "/run/systemd/journal/socket");
	if (fd == -1 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0)
		return 2;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	if (!logjournal_available())
		return 3;
	if (child_start() != 0)
		return 20;
	s = logfile_open_journal();
	if (logfile_journal(s, "web", 2, 6, "hello out", 9) != 0 ||
	    logfile_journal(s, "web", 2, 3, "oops err", 8) != 0)
		return 4;
	for (i = 0; i < 2; i++) {
		if ((n = recv(fd, buf, sizeof buf, 0)) <= 0)
			return 5;
		v = journal_field(buf, (size_t)n, "MESSAGE");
		if (v == NULL || strcmp(v, want[i][0]) != 0)
			return 6;
		free(v);
		v = journal_field(buf, (size_t)n, "PRIORITY");
		if (v == NULL || strcmp(v, want[i][1]) != 0)
			return 7;
		free(v);
		v = journal_field(buf, (size_t)n, "SYSLOG_IDENTIFIER");
		if (v == NULL || strcmp(v, want[i][2]) != 0)
			return 8;
		free(v);
		v = journal_field(buf, (size_t)n, "CORRAL_APP");
		if (v == NULL || strcmp(v, want[i][2]) != 0)
			return 9;
		free(v);
		v = journal_field(buf, (size_t)n, "CORRAL_INSTANCE");
		if (v == NULL || strcmp(v, want[i][3]) != 0)
			return 10;
		free(v);
	}
	logfile_close(s);
	close(fd);
	return 0;
}

static void
test_journal_native_protocol(void **state)
{
	pid_t pid;
	int status;

	(void)state;
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(journal_child());
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == 77) {
		print_message("skipped: cannot make a private mount namespace "
		    "to stand in for journald\n");
		skip();
	}
	assert_int_equal(WEXITSTATUS(status), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_lines_in_order, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_rotation_under_writer,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_rotation_gzip, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_only_regular_files, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_open_failure_is_an_event,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_files_bounded, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_backpressure, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_record_larger_than_buffer,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_reopen_after_rename, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_write_failure_recovers,
		    setup_fork, teardown_fork),
		cmocka_unit_test_setup_teardown(test_journal_native_protocol,
		    setup_fork, teardown_fork),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
