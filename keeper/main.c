/* SPDX-License-Identifier: ISC */
/*
 * corral-keeper's start and loop. It takes $CORRAL_HOME/keeper.pid
 * (locked for its life), detaches unless --foreground (the starting
 * client waits until the first engine says READY), becomes a child
 * subreaper and starts the engine; then one poll() over a signalfd and the
 * engine's socket, with timeouts for the engine's deadlines.
 *
 *	corral-keeper [-fv] [--engine-bin PATH] [--heartbeat-timeout MS]
 *	    [--ready-timeout MS] [--stop-timeout MS] [--term-timeout MS]
 *	    [-- ENGINE-ARG...]
 *
 * The engine runs as PATH --engine --keeper-fd N ENGINE-ARG...
 */
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "keeper.h"

struct keeper K;

static int main_restore_fd = -1;
static int main_fallback_fd = -1;
static char *main_restore_error;

/* Milliseconds on clock id (CLOCK_MONOTONIC or CLOCK_REALTIME). */
static int64_t
keeper_clock_ms(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

uint64_t
keeper_mono_ms(void)
{
	return (uint64_t)keeper_clock_ms(CLOCK_MONOTONIC);
}

int64_t
keeper_real_ms(void)
{
	return keeper_clock_ms(CLOCK_REALTIME);
}

void
keeper_exit(int status)
{
	char path[PATH_MAX];

	klog_info("exiting with status %d", status);
	snprintf(path, sizeof path, "%s/keeper.pid", K.home);
	(void)unlink(path);
	exit(status);
}

static void KEEPER_NORETURN
main_usage(void)
{
	fprintf(stderr, "usage: corral-keeper [-fv] [--engine-bin PATH] "
	    "[--heartbeat-timeout MS]\n\t[--ready-timeout MS] "
	    "[--stop-timeout MS] [--term-timeout MS] [-- ENGINE-ARG...]\n");
	exit(KEEPER_EXIT_USAGE);
}

static int64_t
main_ms(const char *s)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 1 ||
	    v > 24LL * 3600 * 1000)
		main_usage();
	return v;
}

static void
main_options(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "foreground", no_argument, NULL, 'f' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "engine-bin", required_argument, NULL, 'e' },
		{ "heartbeat-timeout", required_argument, NULL, 'H' },
		{ "ready-timeout", required_argument, NULL, 'R' },
		{ "stop-timeout", required_argument, NULL, 'S' },
		{ "term-timeout", required_argument, NULL, 'T' },
		{ "restore-fd", required_argument, NULL, 'r' },
		{ "fallback-fd", required_argument, NULL, 'F' },
		{ "reexec-failed", required_argument, NULL, 'x' },
		{ "protocol", no_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 }
	};
	int ch;

	K.heartbeat_ms = 30000;
	K.ready_ms = 60000;
	K.stop_ms = 10000;
	K.term_ms = 60000;
	while ((ch = getopt_long(argc, argv, "+fv", opts, NULL)) != -1) {
		switch (ch) {
		case 'f': K.foreground = 1; break;
		case 'v': K.verbose = 1; break;
		case 'e': K.engine_path = strdup(optarg); break;
		case 'H': K.heartbeat_ms = main_ms(optarg); break;
		case 'R': K.ready_ms = main_ms(optarg); break;
		case 'S': K.stop_ms = main_ms(optarg); break;
		case 'T': K.term_ms = main_ms(optarg); break;
		case 'r': main_restore_fd = (int)main_ms(optarg); break;
		case 'F': main_fallback_fd = (int)main_ms(optarg); break;
		case 'x': main_restore_error = optarg; break;
		case 'p':
			printf("corral-keeper %s protocol %d\n", KEEPER_VERSION,
			    KPROTO_VERSION);
			exit(0);
		default: main_usage();
		}
	}
	K.engine_args = argv + optind;
	K.nengine_args = argc - optind;
}

/* corrald next to the keeper (the build tree), else in BINDIR. */
static char *
main_engine_path(void)
{
	char self[PATH_MAX], path[PATH_MAX + 16], *slash;
	ssize_t n;

	if ((n = readlink("/proc/self/exe", self, sizeof self - 1)) > 0) {
		self[n] = '\0';
		if ((slash = strrchr(self, '/')) != NULL) {
			*slash = '\0';
			snprintf(path, sizeof path, "%s/corrald", self);
			if (access(path, X_OK) == 0)
				return strdup(path);
		}
	}
	return strdup(CORRAL_BINDIR "/corrald");
}

/* $CORRAL_HOME, else $HOME/.corral (no passwd lookup: no NSS here). */
static void
main_home(void)
{
	const char *h = getenv("CORRAL_HOME"), *home = getenv("HOME");
	char buf[PATH_MAX];

	if (h != NULL && *h != '\0')
		K.home = strdup(h);
	else if (home != NULL && *home != '\0') {
		snprintf(buf, sizeof buf, "%s/.corral", home);
		K.home = strdup(buf);
	} else {
		fprintf(stderr, "corral-keeper: set CORRAL_HOME or HOME\n");
		exit(1);
	}
	if (K.home == NULL || (mkdir(K.home, 0700) == -1 && errno != EEXIST)) {
		fprintf(stderr, "corral-keeper: %s: %s\n", K.home,
		    strerror(errno));
		exit(1);
	}
}

/*
 * A keeper that stops cleanly removes keeper.pid; one left with a pid in
 * it means the last keeper was lost (killed) with its apps: the first
 * engine hears it in its HELLO and recovers.
 */
static void
main_last_keeper(void)
{
	char buf[32], *nl;
	ssize_t n;

	if ((n = pread(K.lock_fd, buf, sizeof buf - 1, 0)) <= 0)
		return;
	buf[n] = '\0';
	if ((nl = strchr(buf, '\n')) != NULL)
		*nl = '\0';
	if (asprintf(&K.next_reason, "the last keeper (pid %s) did not stop "
	    "cleanly", buf) == -1)
		K.next_reason = NULL;
	else
		klog_warnx("%s", K.next_reason);
}

/* keeper.pid, locked for the keeper's life: one keeper per home. */
static void
main_lock(void)
{
	char path[PATH_MAX];

	snprintf(path, sizeof path, "%s/keeper.pid", K.home);
	K.lock_fd = keeper_open_file(path, O_RDWR | O_CREAT | O_NOFOLLOW,
	    0600);
	if (K.lock_fd == -1) {
		fprintf(stderr, "corral-keeper: %s: %s\n", path,
		    keeper_open_error(errno));
		exit(1);
	}
	if (flock(K.lock_fd, LOCK_EX | LOCK_NB) == 0) {
		main_last_keeper();
		return;
	}
	if (errno == EWOULDBLOCK) {
		fprintf(stderr, "corral-keeper: already running for %s\n",
		    K.home);
		exit(0);
	}
	fprintf(stderr, "corral-keeper: lock %s: %s\n", path, strerror(errno));
	exit(1);
}

static void
main_write_pid(void)
{
	char buf[32];
	int n;

	n = snprintf(buf, sizeof buf, "%d\n", (int)getpid());
	if (ftruncate(K.lock_fd, 0) == -1 ||
	    pwrite(K.lock_fd, buf, (size_t)n, 0) != n)
		klog_warn("writing keeper.pid");
}

/*
 * Detaches; the first parent exits 0 once the first engine said READY
 * (one byte on the pipe), 1 if the keeper ends first (EOF).
 */
static void
main_detach(void)
{
	int p[2], nul;
	char c;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) == -1 || (pid = fork()) == -1) {
		perror("corral-keeper: detach");
		exit(1);
	}
	if (pid > 0) {
		close(p[1]);
		if (read(p[0], &c, 1) == 1)
			_exit(0);
		fprintf(stderr, "corral-keeper: failed to start, see "
		    "%s/keeper.log\n", K.home);
		_exit(1);
	}
	close(p[0]);
	K.ready_fd = p[1];
	(void)setsid();
	if ((nul = open("/dev/null", O_RDWR)) != -1) {
		dup2(nul, 0);
		dup2(nul, 1);
		dup2(nul, 2);
		if (nul > 2)
			close(nul);
	}
	klog_stderr();          /* the client's stderr is no longer ours */
}

static void
main_log(void)
{
	char path[PATH_MAX];

	if (K.foreground) {
		klog_stderr();
		return;
	}
	snprintf(path, sizeof path, "%s/keeper.log", K.home);
	if (klog_open(path) == -1)
		klog_warnx("%s: %s", path, keeper_open_error(errno));
}

/* In a child before its exec: default dispositions, an empty mask. */
void
keeper_default_signals(void)
{
	sigset_t none;
	int sig;

	for (sig = 1; sig < NSIG; sig++) {
		if (sig != SIGKILL && sig != SIGSTOP)
			(void)signal(sig, SIG_DFL);
	}
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

static void
main_signals(void)
{
	sigset_t set;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	if (sigprocmask(SIG_BLOCK, &set, NULL) == -1)
		klog_fatal("sigprocmask: %s", strerror(errno));
	K.sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (K.sigfd == -1)
		klog_fatal("signalfd: %s", strerror(errno));
}

static void
main_signal_read(void)
{
	struct signalfd_siginfo si;

	while (read(K.sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
		switch (si.ssi_signo) {
		case SIGCHLD:
			reap_children();
			break;
		case SIGUSR1:
			main_log();
			klog_info("SIGUSR1: log reopened");
			break;
		case SIGHUP:
			if (K.foreground)
				stop_request("SIGHUP");
			break;
		default:
			stop_request(si.ssi_signo == SIGTERM ? "SIGTERM" :
			    "SIGINT");
		}
	}
	/* a SIGCHLD may have merged with one already read */
	reap_children();
}

/* The earlier of two deadlines, 0 meaning none. */
static uint64_t
main_earliest(uint64_t a, uint64_t b)
{
	return a == 0 ? b : b == 0 || a < b ? a : b;
}

/* Waits for the next event or deadline; the number of ready fds. */
static int
main_poll(struct pollfd *pfd)
{
	uint64_t now = keeper_mono_ms(), next;
	int timeout, n;

	next = main_earliest(main_earliest(engine_next_deadline(),
	    reexec_next_deadline()), main_earliest(stop_next_deadline(),
	    notify_next_deadline()));
	timeout = next == 0 ? -1 : next <= now ? 0 :
	    next - now > INT_MAX ? INT_MAX : (int)(next - now);
	pfd[0] = (struct pollfd){ .fd = K.sigfd, .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = K.adopt_rx, .events = POLLIN };
	pfd[2] = (struct pollfd){ .fd = reexec_check_fd(), .events = POLLIN };
	pfd[3] = (struct pollfd){ .fd = K.conn.fd, .events = POLLIN |
	    (kproto_conn_pending(&K.conn) ? POLLOUT : 0) };
	n = poll(pfd, 4, timeout);      /* a negative fd is skipped */
	if (n == -1 && errno != EINTR) {
		/* ENOMEM: the keeper must not die of it; try again */
		klog_warn("poll");
		(void)nanosleep(&(struct timespec){ 0, 100000000 }, NULL);
	}
	return n;
}

static void
main_loop(void)
{
	struct pollfd pfd[4];
	uint64_t now;
	int fd;

	for (;;) {
		now = keeper_mono_ms();
		engine_tick(now);
		reexec_tick(now);
		stop_tick(now);
		notify_tick(now);
		if (main_poll(pfd) <= 0)
			continue;
		if (pfd[1].revents & POLLIN)
			adopt_drain(0);
		if (pfd[0].revents & POLLIN)
			main_signal_read();
		if (pfd[2].revents != 0 && pfd[2].fd == reexec_check_fd())
			reexec_check_input();
		if ((fd = pfd[3].fd) >= 0 && fd == K.conn.fd &&
		    (pfd[3].revents & POLLOUT))
			link_output();
		if (fd >= 0 && fd == K.conn.fd &&
		    (pfd[3].revents & (POLLIN | POLLHUP | POLLERR)))
			link_input();
	}
}

/* The apps get the file limit the keeper found; it raises its own. */
static void
main_limits(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &K.nofile) == -1)
		return;
	rl = K.nofile;
	rl.rlim_cur = rl.rlim_max;
	(void)setrlimit(RLIMIT_NOFILE, &rl);
}

int
main(int argc, char **argv)
{
	TAILQ_INIT(&K.held);
	TAILQ_INIT(&K.children);
	K.sigfd = K.lock_fd = K.ready_fd = K.exe_fd = K.trial_fd = -1;
	K.adopt_rx = K.adopt_tx = -1;
	kproto_conn_init(&K.conn, -1);
	K.self_argv0 = argv[0];
	main_options(argc, argv);
	main_home();
	umask(022);
	if (main_restore_fd >= 0) {
		main_log();
		main_signals();
		notify_init();
		restore_run(main_restore_fd, main_fallback_fd,
		    main_restore_error);
		main_loop();
	}
	if (K.engine_path == NULL)
		K.engine_path = main_engine_path();
	main_lock();
	if (!K.foreground)
		main_detach();
	main_write_pid();
	main_log();
	main_signals();
	main_limits();
	adopt_init();
	notify_init();
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) == -1)
		klog_warn("PR_SET_CHILD_SUBREAPER");
	if ((K.exe_fd = keeper_open_file(K.engine_path, O_RDONLY, 0)) == -1)
		klog_fatal("engine %s: %s", K.engine_path,
		    keeper_open_error(errno));
	klog_info("corral-keeper %s started (pid %d), engine %s",
	    KEEPER_VERSION, (int)getpid(), K.engine_path);
	K.next_kind = KP_KIND_FIRST;
	engine_start();
	main_loop();
	return 0;
}
