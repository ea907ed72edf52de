/* SPDX-License-Identifier: ISC */
/*
 * `corral startup` and `corral unstartup`, run by the client itself: they
 * write files of the init system (as root), not state of the daemon. The
 * service runs corrald --foreground --resurrect as the user, so the apps
 * of the last `corral save` come back at boot. As another user than root
 * (and without --root), startup prints the sudo command to run instead.
 */
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "corral.h"

#define STARTUP_WATCHDOG_SEC 30
#define STARTUP_MIN_STOP_SEC 90

static const struct args_opt startup_opts[] = {
	{ "user", 'u', ARGS_VALUE, "USER   the user whose apps start at boot" },
	{ "hp", 0, ARGS_VALUE, "DIR    that user's home folder" },
	{ "root", 0, ARGS_VALUE, "DIR    write under DIR instead of /" },
	{ "service-timeout", 0, ARGS_VALUE, "SEC    stop timeout of the service" },
	{ "metrics", 0, ARGS_VALUE, "ADDR   corrald serves /metrics there" },
	{ NULL, 0, 0, NULL }
};

/* Runs argv, quietly; returns its exit status (127: not run). */
static int
startup_run(const char *const argv[])
{
	pid_t pid;
	int status;

	if (access(argv[0], X_OK) == -1)
		return 127;
	if ((pid = fork()) == -1)
		return 127;
	if (pid == 0) {
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR)
			return 127;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/*
 * The stop timeout: longer than the longest kill_timeout of the saved apps
 * (they stop in parallel), with a margin, at least 90 s.
 */
static unsigned
startup_stop_timeout(const char *corral_home)
{
	char *path = paths_file(corral_home, "dump.json"), *warn = NULL;
	char *cause = NULL;
	json_t *dump, *app;
	json_int_t ms, most = 0;
	size_t i;

	dump = dump_read(path, &warn, &cause);
	free(path);
	free(warn);
	free(cause);
	json_array_foreach(json_object_get(dump, "apps"), i, app) {
		ms = json_integer_value(json_object_get(app, "kill_timeout"));
		if (ms > most)
			most = ms;
	}
	json_decref(dump);
	return (unsigned)(most / 1000) + 30 > STARTUP_MIN_STOP_SEC ?
	    (unsigned)(most / 1000) + 30 : STARTUP_MIN_STOP_SEC;
}

/* The folder of this corral binary, where corrald lives too. */
static char *
startup_bindir(void)
{
	char self[PATH_MAX], *slash;
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);

	if (n <= 0)
		return xstrdup("/usr/local/bin");
	self[n] = '\0';
	if ((slash = strrchr(self, '/')) != NULL)
		*slash = '\0';
	return xstrdup(self);
}

/* Enables or disables the service with the init system's own tool. */
static void
startup_enable(const struct startup *s, int on)
{
	char *svc = startup_service(s), *unit;

	xasprintf(&unit, "%s.service", svc);
	if (s->kind == STARTUP_SYSTEMD && access("/run/systemd/system",
	    F_OK) == 0) {
		const char *const reload[] = { "/bin/systemctl",
		    "daemon-reload", NULL };
		const char *const en[] = { "/bin/systemctl",
		    on ? "enable" : "disable", "--quiet", unit, NULL };

		(void)startup_run(reload);
		if (!on)
			(void)startup_run(en);
		else if (startup_run(en) != 0)
			fprintf(stderr, "corral: systemctl enable %s failed\n",
			    unit);
	} else if (s->kind == STARTUP_OPENRC) {
		const char *const rc[] = { "/sbin/rc-update", on ? "add" : "del",
		    svc, "default", NULL };

		(void)startup_run(rc);
	} else if (s->kind == STARTUP_SYSV && on) {
		const char *const rc[] = { "/usr/sbin/update-rc.d", svc,
		    "defaults", NULL };

		(void)startup_run(rc);
	}
	free(unit);
	free(svc);
}

static int
startup_usage(const char *cause)
{
	fprintf(stderr, "corral: %s\nusage: corral startup|unstartup "
	    "[systemd|openrc|sysv] [-u USER] [--hp DIR] [--root DIR] "
	    "[--metrics ADDR]\n", cause);
	return EXIT_USAGE;
}

/* Fills s from the options; strings live in *keep (the caller frees). */
static int
startup_fill(struct args *a, struct startup *s, char **keep, char **cause)
{
	const char *user = args_get(a, "user"), *kind = args_pos(a, 0);
	const char *path = getenv("PATH");
	struct passwd *pw;
	const char *t;

	memset(s, 0, sizeof *s);
	s->root = args_get(a, "root") != NULL ? args_get(a, "root") : "/";
	if (kind != NULL && (s->kind = startup_kind(kind)) == -1) {
		xasprintf(cause, "unknown init system '%s' (systemd, openrc or "
		    "sysv)", kind);
		return -1;
	}
	if (kind == NULL)
		s->kind = startup_detect(s->root);
	pw = user != NULL ? getpwnam(user) : getpwuid(getuid());
	if (pw == NULL) {
		xasprintf(cause, "unknown user '%s'", user ? user : "(self)");
		return -1;
	}
	keep[0] = xstrdup(pw->pw_name);
	keep[1] = xstrdup(args_get(a, "hp") ? args_get(a, "hp") : pw->pw_dir);
	if (user == NULL || pw->pw_uid == getuid())
		keep[2] = paths_home();
	else
		xasprintf(&keep[2], "%s/.corral", keep[1]);
	keep[3] = startup_bindir();
	s->user = keep[0];
	s->home = keep[1];
	s->corral_home = keep[2];
	s->bindir = keep[3];
	s->path = path != NULL && *path == '/' ? path :
	    "/usr/local/bin:/usr/bin:/bin";
	s->metrics = args_get(a, "metrics");
	s->watchdog_sec = STARTUP_WATCHDOG_SEC;
	if ((t = args_get(a, "service-timeout")) != NULL)
		s->stop_timeout_sec = (unsigned)strtoul(t, NULL, 10);
	if (s->stop_timeout_sec == 0)
		s->stop_timeout_sec = startup_stop_timeout(s->corral_home);
	return startup_check(s, cause);
}

/* corral startup: writes the service and enables it. Returns the exit. */
static int
startup_add(const struct startup *s)
{
	char *file, *cause = NULL;

	if (startup_install(s, &file, &cause) == -1) {
		fprintf(stderr, "corral: startup: %s\n", cause);
		free(cause);
		return 1;
	}
	if (strcmp(s->root, "/") == 0)
		startup_enable(s, 1);
	printf("%s boot service for %s written to %s\n"
	    "Run 'corral save' to choose the apps it brings back.\n",
	    startup_kind_name(s->kind), s->user, file);
	free(file);
	return 0;
}

/* corral unstartup: disables the service and removes its files. */
static int
startup_del(const struct startup *s)
{
	char *cause = NULL;
	int n;

	if (strcmp(s->root, "/") == 0)
		startup_enable(s, 0);
	if ((n = startup_remove(s, &cause)) == -1) {
		fprintf(stderr, "corral: unstartup: %s\n", cause);
		free(cause);
		return 1;
	}
	if (strcmp(s->root, "/") == 0 && s->kind == STARTUP_SYSTEMD &&
	    access("/run/systemd/system", F_OK) == 0) {
		const char *const reload[] = { "/bin/systemctl",
		    "daemon-reload", NULL };

		(void)startup_run(reload);
	}
	printf("%s boot service for %s removed (%d file%s)\n",
	    startup_kind_name(s->kind), s->user, n, n == 1 ? "" : "s");
	return 0;
}

/* corral startup|unstartup: argv holds the words after the command. */
int
startup_main(const char *cmd, json_t *words)
{
	struct args a;
	struct startup s;
	char *cause = NULL, *keep[4] = { NULL, NULL, NULL, NULL };
	int rc = 0;
	size_t i;

	if (args_parse(startup_opts, words, &a, &cause) == -1 ||
	    args_npos(&a) > 1) {
		rc = startup_usage(cause ? cause : "too many words");
		free(cause);
		args_free(&a);
		return rc;
	}
	if (startup_fill(&a, &s, keep, &cause) == -1)
		rc = startup_usage(cause);
	else if (geteuid() != 0 && strcmp(s.root, "/") == 0)
		printf("To start %s's apps at boot, run as root:\n"
		    "sudo env PATH=%s %s/corral %s %s -u %s --hp %s%s%s\n",
		    s.user, s.path, s.bindir, cmd, startup_kind_name(s.kind),
		    s.user, s.home, s.metrics != NULL ? " --metrics " : "",
		    s.metrics != NULL ? s.metrics : "");
	else if (strcmp(cmd, "startup") == 0)
		rc = startup_add(&s);
	else
		rc = startup_del(&s);
	free(cause);
	for (i = 0; i < nitems(keep); i++)
		free(keep[i]);
	args_free(&a);
	return rc;
}
