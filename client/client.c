/* SPDX-License-Identifier: ISC */
/*
 * Talking to the daemon: connect to $CORRAL_HOME/corral.sock, and when
 * nobody answers start corrald under a lock so that racing clients start
 * exactly one; then one request line out and reply lines in, read by a
 * blocking client (corral) or a poll() loop (corral-monit).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "client.h"

extern char **environ;

static int
client_try_connect(const char *path)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sun.sun_path) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof sun) == -1) {
		int saved = errno;

		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

/* The corrald beside this corral binary, else $CORRAL_DAEMON, else PATH. */
static char *
client_daemon_path(void)
{
	const char *env = getenv("CORRAL_DAEMON");
	char *path;

	if (env != NULL && *env != '\0')
		return xstrdup(env);
	if ((path = paths_own("corrald", X_OK)) != NULL)
		return path;
	return xstrdup("corrald");
}

/*
 * The argv of `corrald FLAG [CMD] WORD...` (cmd may be NULL): its strings
 * are the caller's and words'; the caller frees the array.
 */
static char **
client_daemon_argv(const char *flag, const char *cmd, json_t *words)
{
	char **argv = xcalloc(json_array_size(words) + 4, sizeof *argv);
	json_t *w;
	size_t i, n = 0;

	argv[n++] = (char *)"corrald";
	argv[n++] = (char *)flag;
	if (cmd != NULL)
		argv[n++] = (char *)cmd;
	json_array_foreach(words, i, w)
		argv[n++] = (char *)json_string_value(w);
	return argv;
}

/*
 * Replaces this process with `corrald --help-commands WORD...`: the help
 * of the daemon's command table, printed without starting a daemon.
 * Returns (1) only when corrald cannot be run.
 */
int
client_exec_help(json_t *words)
{
	char *path = client_daemon_path();
	char **argv = client_daemon_argv("--help-commands", NULL, words);

	execvp(path, argv);
	fprintf(stderr, "corral: cannot run %s: %s\n", path, strerror(errno));
	free(argv);
	free(path);
	return 1;
}

/*
 * Asks `corrald --check-command CMD WORD...` whether a daemon would take
 * the command, before one is started for it: a bad option or word count
 * then starts nothing. Returns 0 (also when corrald cannot be run: the
 * start then says why), or the checker's exit status; it told why on
 * stderr.
 */
int
client_check_command(const char *cmd, json_t *words)
{
	char *path = client_daemon_path();
	char **argv = client_daemon_argv("--check-command", cmd, words);
	pid_t pid;
	int status = 0, rc = 0;

	fflush(NULL);
	if (posix_spawnp(&pid, path, NULL, NULL, argv, environ) == 0) {
		while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
			;
		if (WIFEXITED(status) && WEXITSTATUS(status) == EXIT_USAGE)
			rc = EXIT_USAGE;
	}
	free(argv);
	free(path);
	return rc;
}

/*
 * Replaces this process with corral-monit (found as corrald is: beside
 * this binary, else in CORRAL_LIBDIR, else on PATH), given argv from
 * "monit" on. Returns (1) only when it cannot be run.
 */
int
client_exec_monit(char **argv)
{
	char *path = paths_own("corral-monit", X_OK);

	if (path == NULL)
		path = xstrdup("corral-monit");
	argv[0] = (char *)"corral-monit";
	execvp(path, argv);
	fprintf(stderr, "corral: cannot run %s: %s\n", path, strerror(errno));
	free(path);
	return 1;
}

/* Runs corrald, which returns once it serves (or failed). */
static int
client_spawn_daemon(char **cause)
{
	char *path = client_daemon_path();
	int status;
	pid_t pid;

	pid = fork();
	if (pid == -1) {
		xasprintf(cause, "fork: %s", strerror(errno));
		free(path);
		return -1;
	}
	if (pid == 0) {
		execlp(path, "corrald", (char *)NULL);
		fprintf(stderr, "corral: cannot run %s: %s\n", path,
		    strerror(errno));
		_exit(127);
	}
	free(path);
	while (waitpid(pid, &status, 0) == -1) {
		if (errno != EINTR) {
			xasprintf(cause, "waitpid: %s", strerror(errno));
			return -1;
		}
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		xasprintf(cause, "the daemon failed to start");
		return -1;
	}
	return 0;
}

static int
client_start_daemon(struct client *cl, char **cause)
{
	char *lock_path = paths_file(cl->home, "corrald.lock");
	int lockfd, rc = -1;

	lockfd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
	    0600);
	free(lock_path);
	if (lockfd == -1 || flock(lockfd, LOCK_EX) == -1) {
		xasprintf(cause, "%s: %s", cl->home, strerror(errno));
		if (lockfd != -1)
			close(lockfd);
		return -1;
	}
	/* Another client may have started it while we waited for the lock. */
	if ((cl->fd = client_try_connect(cl->sock_path)) != -1)
		rc = 0;
	else if (client_spawn_daemon(cause) == 0) {
		if ((cl->fd = client_try_connect(cl->sock_path)) != -1)
			rc = 0;
		else
			xasprintf(cause, "%s: %s", cl->sock_path,
			    strerror(errno));
	}
	close(lockfd);
	return rc;
}

/*
 * Connects to the daemon, starting it when start is set and nobody answers.
 * Returns -1 with *cause set when the daemon cannot be reached.
 */
int
client_connect(struct client *cl, int start, char **cause)
{
	memset(cl, 0, sizeof *cl);
	cl->fd = -1;
	cl->home = paths_home();
	cl->sock_path = paths_file(cl->home, "corral.sock");
	/* Replies have no size limit (ls of 10,000 apps); requests do. */
	linebuf_init(&cl->in, 0);
	if ((cl->fd = client_try_connect(cl->sock_path)) != -1)
		return 0;
	if (!start) {
		xasprintf(cause, "no daemon is running (%s)", cl->sock_path);
		return -1;
	}
	if (errno != ENOENT && errno != ECONNREFUSED) {
		xasprintf(cause, "%s: %s", cl->sock_path, strerror(errno));
		return -1;
	}
	if (paths_mkdir_private(cl->home, cause) == -1)
		return -1;
	return client_start_daemon(cl, cause);
}

void
client_close(struct client *cl)
{
	if (cl->fd != -1)
		close(cl->fd);
	free(cl->home);
	free(cl->sock_path);
	linebuf_free(&cl->in);
	memset(cl, 0, sizeof *cl);
	cl->fd = -1;
}

int
client_send(struct client *cl, json_t *msg)
{
	size_t len, off = 0;
	char *line = proto_encode(msg, &len);
	ssize_t n;

	while (off < len) {
		n = send(cl->fd, line + off, len - off, MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			free(line);
			return -1;
		}
		off += (size_t)n;
	}
	free(line);
	return 0;
}

/* Makes the connection non-blocking (after the request was sent). */
int
client_nonblock(struct client *cl, char **cause)
{
	int flags;

	if ((flags = fcntl(cl->fd, F_GETFL)) == -1 ||
	    fcntl(cl->fd, F_SETFL, flags | O_NONBLOCK) == -1) {
		xasprintf(cause, "fcntl: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Reads what the socket has: 1 if it read or would block, 0 at the end of
 * the stream, -1 on an error (errno set). Lines from the daemon have no
 * size limit (a list or stats event of thousands of instances).
 */
int
client_fill(struct client *cl)
{
	char buf[65536];
	ssize_t n;

	n = read(cl->fd, buf, sizeof buf);
	if (n == -1)
		return (errno == EAGAIN || errno == EINTR) ? 1 : -1;
	if (n == 0)
		return 0;
	linebuf_append(&cl->in, buf, (size_t)n);
	return 1;
}

/*
 * The next complete line, NUL-terminated without its newline, and its
 * length in *len; NULL if none yet. Valid until the next client_line,
 * client_fill or client_recv on this connection.
 */
char *
client_line(struct client *cl, size_t *len)
{
	char *line;

	if (cl->have_taken) {
		linebuf_consume(&cl->in, cl->taken);
		cl->have_taken = 0;
	}
	if ((line = linebuf_line(&cl->in, len, 0)) == NULL)
		return NULL;
	cl->taken = *len;
	cl->have_taken = 1;
	return line;
}

/*
 * Whether a process holds the lock of home/name; *pid gets the pid the
 * file names (0 if none). A file that is not there is not held.
 */
int
client_lock_held(const char *home, const char *name, pid_t *pid)
{
	char *path = paths_file(home, name), buf[32];
	ssize_t n;
	int fd, held;

	*pid = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	free(path);
	if (fd == -1)
		return 0;
	held = flock(fd, LOCK_SH | LOCK_NB) == -1 && errno == EWOULDBLOCK;
	if ((n = read(fd, buf, sizeof buf - 1)) > 0) {
		buf[n] = '\0';
		*pid = (pid_t)strtol(buf, NULL, 10);
	}
	close(fd);
	return held;
}

/*
 * Waits until cl's connection can be read: 0. The keeper takes requests
 * while no engine runs, so with an engine that keeps failing (the keeper
 * restarts it after a delay that doubles up to 15 s) a reply would never
 * come: every CLIENT_LOOK_MS the wait looks whether an engine holds the
 * lock of corrald.pid (every engine does, for its life), and after
 * CLIENT_NO_ENGINE_MS of looks without one it gives up: -1, cl->stuck
 * set.
 */
static int
client_wait_reply(struct client *cl)
{
	struct pollfd p = { .fd = cl->fd, .events = POLLIN };
	pid_t pid;
	int n;

	while (cl->no_engine_ms < CLIENT_NO_ENGINE_MS) {
		if ((n = poll(&p, 1, CLIENT_LOOK_MS)) > 0 ||
		    (n == -1 && errno != EINTR))
			return 0;       /* the read says what came */
		if (n == 0 && !client_lock_held(cl->home, "corrald.pid", &pid))
			cl->no_engine_ms += CLIENT_LOOK_MS;
	}
	cl->stuck = 1;
	return -1;
}

/*
 * The next line, waiting for it (the connection blocks), as client_line()
 * gives it; NULL with *cause set at the end of the stream, or when no
 * engine serves (cl->stuck, see client_wait_reply()).
 */
char *
client_recv_line(struct client *cl, size_t *len, char **cause)
{
	char *line;
	int rc;

	for (;;) {
		if ((line = client_line(cl, len)) != NULL)
			return line;
		if (client_wait_reply(cl) == -1) {
			xasprintf(cause, "no engine has answered for %d s: it "
			    "keeps failing (see corrald.log and keeper.log in "
			    "%s); the request may still be carried out once "
			    "one serves", CLIENT_NO_ENGINE_MS / 1000, cl->home);
			return NULL;
		}
		if ((rc = client_fill(cl)) == 1)
			continue;
		*cause = xstrdup(rc == 0 ? "the daemon closed the connection"
		    : strerror(errno));
		return NULL;
	}
}

/*
 * The next message, waiting for it (the connection blocks); NULL with
 * *cause set for a malformed message or at the end of the stream.
 */
json_t *
client_recv(struct client *cl, char **cause)
{
	char *line;
	size_t len;

	if ((line = client_recv_line(cl, &len, cause)) == NULL)
		return NULL;
	return proto_decode(line, len, cause);
}

/*
 * After `kill`: waits (at most timeout_ms) until the daemon has exited,
 * i.e. the engine and then the keeper released the locks on their pid
 * files, so that a command right after starts a new one instead of
 * racing the old one's last steps.
 */
void
client_wait_gone(const struct client *cl, int timeout_ms)
{
	static const char *const locks[] = { "corrald.pid", "keeper.pid" };
	char *path;
	size_t k;
	int fd, i = 0;

	for (k = 0; k < sizeof locks / sizeof locks[0]; k++) {
		path = paths_file(cl->home, locks[k]);
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
		free(path);
		if (fd == -1)
			continue;
		for (; i < timeout_ms / 10; i++) {
			if (flock(fd, LOCK_SH | LOCK_NB) == 0)
				break;
			poll(NULL, 0, 10);
		}
		close(fd);
	}
}

json_t *
client_env_json(void)
{
	json_t *env = json_object();
	char **e, *eq, *key;

	for (e = environ; *e != NULL; e++) {
		if ((eq = strchr(*e, '=')) == NULL)
			continue;
		key = xstrndup(*e, (size_t)(eq - *e));
		json_object_set_new_nocheck(env, key, json_str(eq + 1));
		free(key);
	}
	return env;
}
