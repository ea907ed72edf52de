/* SPDX-License-Identifier: ISC */
/*
 * corrald: the daemon. Run as `corrald [flags]` it becomes corral-keeper
 * (engine-exec.c), which detaches unless --foreground and starts it again
 * as its engine, `corrald --engine --keeper-fd N [flags]`: that one takes
 * the engine's lock, reads the keeper's table, serves the control socket
 * and supervises apps until SIGTERM, the keeper's TERM or `corral kill`,
 * which stop every app gracefully first.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "corrald.h"
#include "engine.h"
#include "spawn-child.h"

struct daemon D;

uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Every stream's read buffer: each read callback copies what it keeps. */
void
daemon_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	static char chunk[65536];

	(void)h;
	(void)suggested;
	buf->base = chunk;
	buf->len = sizeof chunk;
}

static void NORETURN
main_usage(void)
{
	fprintf(stderr, "usage: corrald [-fv] [--foreground] [--resurrect] "
	    "[--verbose] [--metrics ADDR] [FILE (with --foreground)]\n"
	    "       corrald --help-commands [command]\n"
	    "       corrald --check-command command [word ...]\n");
	exit(EXIT_USAGE);
}

/* Holds the pid file locked for the daemon's life; exits if another holds it. */
static int
main_lock(void)
{
	char buf[32];
	int fd, n;

	fd = open(D.pid_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW |
	    O_NONBLOCK, 0600);
	if (fd == -1)
		fatal("%s", D.pid_path);
	if (flock(fd, LOCK_EX | LOCK_NB) == -1)
		fatal("lock %s: another engine runs", D.pid_path);
	n = snprintf(buf, sizeof buf, "%d\n", (int)getpid());
	if (ftruncate(fd, 0) == -1 || write(fd, buf, (size_t)n) != n)
		fatal("writing %s", D.pid_path);
	return fd;
}

static void
main_walk_close(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

/*
 * The fsm's hook after transitions: the state file first (a reply made
 * next waits for its write), replies, reloads, the end of a shutdown.
 */
static void
main_after_transition(void)
{
	state_instances_changed();
	op_check_all();
	reload_check_all();
	daemon_check_shutdown();
}

static void
main_signal(uv_signal_t *s, int signum)
{
	(void)s;
	if (signum == SIGUSR1) {
		log_info("SIGUSR1: reopening log files");
		logsink_reopen_all();
		return;
	}
	if (signum == SIGHUP && !D.foreground)
		return;
	log_info("%s received", signal_name(signum));
	daemon_shutdown(NULL);
}

static void
main_signals(void)
{
	struct { uv_signal_t *h; int sig; } sigs[] = {
		{ &D.sig_term, SIGTERM }, { &D.sig_int, SIGINT },
		{ &D.sig_hup, SIGHUP }, { &D.sig_usr1, SIGUSR1 },
	};
	size_t i;

	signal(SIGPIPE, SIG_IGN);
	/* a file size limit makes write() fail with EFBIG, reported like ENOSPC */
	signal(SIGXFSZ, SIG_IGN);
	for (i = 0; i < nitems(sigs); i++) {
		if (uv_signal_init(D.loop, sigs[i].h) != 0 ||
		    uv_signal_start(sigs[i].h, main_signal, sigs[i].sig) != 0)
			fatalx("cannot handle %s", signal_name(sigs[i].sig));
		uv_unref((uv_handle_t *)sigs[i].h);
	}
	spawn_signals_refresh();        /* what the apps' children reset */
}

/*
 * The daemon's own log rotates like the apps' (10M, 5 kept), or as
 * CORRAL_DAEMON_LOG_SIZE and CORRAL_DAEMON_LOG_KEEP say.
 */
static void
main_log_rotation(void)
{
	const char *s;
	uint64_t size = 10 * 1024 * 1024;
	long long keep = 5;
	char *cause = NULL;

	if ((s = getenv("CORRAL_DAEMON_LOG_SIZE")) != NULL &&
	    parse_size(s, &size, &cause) == -1) {
		log_warnx("CORRAL_DAEMON_LOG_SIZE: %s", cause);
		free(cause);
		cause = NULL;
	}
	if ((s = getenv("CORRAL_DAEMON_LOG_KEEP")) != NULL &&
	    parse_int(s, 1, 1000, &keep, &cause) == -1) {
		log_warnx("CORRAL_DAEMON_LOG_KEEP: %s", cause);
		free(cause);
	}
	log_set_rotate(size, (int)keep);
}

/* The STATUS= line for systemd. */
static char *
main_status(void)
{
	struct app *app;
	struct instance *inst;
	int apps = 0, online = 0, errored = 0, total = 0;
	char *s;

	TAILQ_FOREACH(app, &D.apps, entry) {
		if (app->deleted)
			continue;
		apps++;
		TAILQ_FOREACH(inst, &app->instances, entry) {
			total++;
			online += inst->state == INST_ONLINE;
			errored += inst->state == INST_ERRORED;
		}
	}
	xasprintf(&s, "%d app%s, %d/%d instance%s online, %d errored", apps,
	    apps == 1 ? "" : "s", online, total, total == 1 ? "" : "s",
	    errored);
	return s;
}

/* --resurrect: the saved apps, with the daemon's environment. */
static void
main_resurrect(void)
{
	struct instance **v;
	char *cause = NULL, *msg = NULL;
	json_t *env = persist_daemon_env();
	size_t n;
	int *ids;

	if (persist_resurrect(env, &v, &n, &msg, &cause) == -1) {
		log_warnx("resurrect: %s", cause);
		free(cause);
		json_decref(env);
		return;
	}
	json_decref(env);
	if (msg != NULL)
		log_info("resurrect: %s", msg);
	free(msg);
	ids = app_ids(v, n);
	free(v);
	app_feed(ids, n, EV_START);
	free(ids);
}

/* A bad --metrics address fails before the daemon detaches. */
static void
main_check_metrics(const char *addr)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char *cause = NULL;

	if (addr != NULL && httpaddr_parse(addr, &ss, &len, &cause) == -1) {
		fprintf(stderr, "corrald: --metrics (or CORRAL_METRICS): %s\n",
		    cause);
		exit(EXIT_USAGE);
	}
}

static void
main_paths(void)
{
	char *cause = NULL;

	D.home = paths_home();
	if (paths_mkdir_private(D.home, &cause) == -1) {
		fprintf(stderr, "corrald: %s\n", cause);
		exit(1);
	}
	D.logs_dir = paths_file(D.home, "logs");
	if (mkdir(D.logs_dir, 0700) == -1 && errno != EEXIST) {
		fprintf(stderr, "corrald: %s: %s\n", D.logs_dir, strerror(errno));
		exit(1);
	}
	D.sock_path = paths_file(D.home, "corral.sock");
	D.pid_path = paths_file(D.home, "corrald.pid");
}

/*
 * Parses the command line; returns the boot file (or NULL). *keeper_fd is
 * --keeper-fd (NULL: not the engine), *verbose whether -v was given.
 */
static const char *
main_options(int argc, char **argv, const char **metrics,
    const char **keeper_fd, int *verbose)
{
	static const struct option longopts[] = {
		{ "engine", no_argument, NULL, 'E' },
		{ "keeper-fd", required_argument, NULL, 'K' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "resurrect", no_argument, NULL, 'r' },
		{ "metrics", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int ch;

	*metrics = getenv("CORRAL_METRICS");
	*keeper_fd = NULL;
	*verbose = 0;
	while ((ch = getopt_long(argc, argv, "fvh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			D.foreground = 1;
			break;
		case 'v':
			log_set_verbose(1);
			*verbose = 1;
			break;
		case 'E':
			break;
		case 'K':
			*keeper_fd = optarg;
			break;
		case 'r':
			D.resurrect = 1;
			break;
		case 'm':
			*metrics = optarg;
			break;
		default:
			main_usage();
		}
	}
	if (optind + 1 < argc || (optind < argc && !D.foreground))
		main_usage();
	if (*metrics != NULL && **metrics == '\0')
		*metrics = NULL;
	main_check_metrics(*metrics);
	return optind < argc ? argv[optind] : NULL;
}

/*
 * The loop, the keeper's table (engine.c), the signals and every module
 * that serves from the loop.
 */
static void
main_serve(const char *metrics, const char *keeper_fd, const char *path)
{
	char *cause = NULL;

	D.loop = uv_default_loop();
	D.started_at = now_ms();
	TAILQ_INIT(&D.apps);
	TAILQ_INIT(&D.conns);
	TAILQ_INIT(&D.ops);
	TAILQ_INIT(&D.children);
	engine_start(keeper_fd, path);
	fsm_set_hook(main_after_transition);
	state_init(D.loop, D.home);
	main_signals();
	limits_init();
	logsink_start();
	if (server_listen(&cause) == -1)
		fatalx("control socket: %s", cause);
	if (cluster_init(&cause) == -1)
		fatalx("%s", cause);
	if (metrics != NULL && httpd_start(metrics, &cause) == -1)
		fatalx("%s", cause);
	stats_start();
	uv_unref((uv_handle_t *)&D.stats_timer);
	log_info("corrald %s serving on %s (pid %d)", CORRAL_VERSION,
	    D.sock_path, (int)getpid());
	if (sdnotify_init(D.loop, main_status) != 0)
		log_warnx("watchdog timer failed");
}

/* After the loop: every handle closed, the pid file gone. */
static void
main_exit(int lockfd)
{
	logsink_stop();
	uv_walk(D.loop, main_walk_close, NULL);
	if (uv_run(D.loop, UV_RUN_DEFAULT) != 0)
		log_warnx("event loop: handles still active at exit");
	if (uv_loop_close(D.loop) != 0)
		log_warnx("event loop closed with handles left");
	hmap_free(&D.app_names);
	hmap_free(&D.inst_ids);
	hmap_free(&D.child_tags);
	limits_shutdown();
	(void)unlink(D.pid_path);
	close(lockfd);
	log_info("exited");
	free(D.home);
	free(D.logs_dir);
	free(D.sock_path);
	free(D.pid_path);
}

/*
 * The apps of a first engine: the saved ones (--resurrect), the boot
 * file's. A later engine's come back from the state file instead.
 */
static void
main_apps(const char *bootfile)
{
	if (E.kind != KP_KIND_FIRST) {
		engine_adopt_restore();
		return;
	}
	engine_recover();
	if (D.resurrect)
		main_resurrect();
	if (bootfile != NULL)
		bootfile_start(bootfile);
}

int
main(int argc, char **argv)
{
	const char *metrics, *bootfile, *keeper_fd;
	char *logfile;
	int lockfd, verbose;

	/* The client's help when no daemon runs: no state, no socket. */
	if (argc > 1 && strcmp(argv[1], "--help-commands") == 0)
		return cmd_help_print(argc - 2, argv + 2);
	if (argc > 1 && strcmp(argv[1], "--check-command") == 0)
		return cmd_check_print(argc - 2, argv + 2);
	bootfile = main_options(argc, argv, &metrics, &keeper_fd, &verbose);
	fdlimit_close_inherited(keeper_fd != NULL ? atoi(keeper_fd) : -1);
	umask(022);
	main_paths();
	if (keeper_fd == NULL)
		engine_exec_keeper(argc, argv, verbose);
	logfile = paths_file(D.home, "corrald.log");
	log_init(logfile, D.foreground ? LOG_TO_STDERR : 0);
	free(logfile);
	main_log_rotation();
	lockfd = main_lock();
	fdlimit_raise();
	main_serve(metrics, keeper_fd, argv[0]);
	main_apps(bootfile);
	engine_adopt_finish();
	state_start();
	/* the keeper's own STATUS= on READY must not hide the engine's */
	engine_ready();
	sdnotify_ready();
	uv_run(D.loop, UV_RUN_DEFAULT);
	main_exit(lockfd);
	return 0;
}
