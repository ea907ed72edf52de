/* SPDX-License-Identifier: ISC */
/*
 * Boot services for `corral startup` and `corral unstartup`: the text of a
 * systemd unit, an OpenRC script or a SysV init script that runs corrald in
 * the foreground for one user and resurrects the saved apps, and their
 * installation (file, then the links that enable it) under a root folder,
 * "/" on a real system or a scratch folder in tests. Running systemctl,
 * rc-update or update-rc.d is left to the caller, and only for root "/".
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "corral.h"

static const char *const startup_names[] = { "systemd", "openrc", "sysv" };

int
startup_kind(const char *name)
{
	size_t i;

	for (i = 0; i < nitems(startup_names); i++) {
		if (strcmp(name, startup_names[i]) == 0)
			return (int)i;
	}
	return -1;
}

const char *
startup_kind_name(int kind)
{
	return startup_names[kind];
}

/* Which init system runs under root ("/" or a scratch folder). */
int
startup_detect(const char *root)
{
	char *p;
	int kind = STARTUP_SYSV;

	xasprintf(&p, "%s/run/systemd/system", root);
	if (access(p, F_OK) == 0)
		kind = STARTUP_SYSTEMD;
	free(p);
	if (kind == STARTUP_SYSV) {
		xasprintf(&p, "%s/sbin/openrc-run", root);
		if (access(p, X_OK) == 0)
			kind = STARTUP_OPENRC;
		free(p);
	}
	if (kind == STARTUP_SYSV && strcmp(root, "/") != 0) {
		xasprintf(&p, "%s/etc/systemd/system", root);
		if (access(p, F_OK) == 0)
			kind = STARTUP_SYSTEMD;
		free(p);
	}
	return kind;
}

/* The service's name: corral-<user>. The caller frees. */
char *
startup_service(const struct startup *s)
{
	char *name;

	xasprintf(&name, "corral-%s", s->user);
	return name;
}

/* corrald's arguments in the service. The caller frees. */
static char *
startup_args(const struct startup *s)
{
	char *args;

	xasprintf(&args, "--foreground --resurrect%s%s", s->metrics != NULL ?
	    " --metrics " : "", s->metrics != NULL ? s->metrics : "");
	return args;
}

/*
 * a systemd unit. corrald execs corral-keeper (same pid), so the main
 * process is the keeper, the only process that notifies (READY=1 once the
 * first engine serves, STATUS=, STOPPING=1, WATCHDOG=1 while the engine's
 * heartbeats come): NotifyAccess=main. An engine's death or update is not
 * the main process's. KillMode=mixed: SIGTERM to the keeper only, which
 * has the engine stop every app gracefully (or stops them itself, SIGKILL
 * after 10 s, when no engine says BYE within 60 s), so the stop timeout
 * (at least 90 s) is never what stops the apps.
 */
static const char startup_systemd_text[] =
    "# Written by `corral startup systemd`; `corral unstartup` "
    "removes it.\n"
    "# The main process is corral-keeper (corrald execs it): it "
    "alone notifies\n"
    "# systemd, and on stop has corrald stop every app "
    "gracefully.\n"
    "[Unit]\n"
    "Description=corral process supervisor for @USER@\n"
    "Documentation=man:corrald(8) man:corral(1)\n"
    "Wants=network-online.target\n"
    "After=network-online.target\n"
    "\n"
    "[Service]\n"
    "Type=notify\n"
    "NotifyAccess=main\n"
    "User=@USER@\n"
    "Environment=CORRAL_HOME=@CORRAL_HOME@\n"
    "Environment=HOME=@HOME@\n"
    "Environment=PATH=@PATH@\n"
    "ExecStart=@BINDIR@/corrald @ARGS@\n"
    "ExecReload=@BINDIR@/corral reload all\n"
    "WatchdogSec=@WATCHDOG_SEC@s\n"
    "Restart=on-failure\n"
    "Delegate=yes\n"
    "KillMode=mixed\n"
    "TimeoutStopSec=@STOP_SEC@s\n"
    "LimitNOFILE=65536\n"
    "\n"
    "[Install]\n"
    "WantedBy=multi-user.target\n";

/* an OpenRC script */
static const char startup_openrc_text[] =
    "#!/sbin/openrc-run\n"
    "# Written by `corral startup openrc`; `corral unstartup` "
    "removes it.\n"
    "name=\"@SERVICE@\"\n"
    "description=\"corral process supervisor for @USER@\"\n"
    "command=\"@BINDIR@/corrald\"\n"
    "command_args=\"@ARGS@\"\n"
    "command_user=\"@USER@\"\n"
    "command_background=true\n"
    "pidfile=\"/run/@SERVICE@.pid\"\n"
    "retry=\"TERM/@STOP_SEC@/KILL/5\"\n"
    "extra_started_commands=\"reload\"\n"
    "export CORRAL_HOME=\"@CORRAL_HOME@\"\n"
    "export HOME=\"@HOME@\"\n"
    "export PATH=\"@PATH@\"\n"
    "\n"
    "depend() {\n"
    "\tneed net\n"
    "\tuse logger\n"
    "}\n"
    "\n"
    "reload() {\n"
    "\tebegin \"Reloading ${name}'s apps\"\n"
    "\tsu -s /bin/sh -c '@BINDIR@/corral reload all' \"@USER@\"\n"
    "\teend $?\n"
    "}\n";

/* a SysV init script (LSB header, start-stop-daemon) */
static const char startup_sysv_text[] =
    "#!/bin/sh\n"
    "# Written by `corral startup sysv`; `corral unstartup` "
    "removes it.\n"
    "### BEGIN INIT INFO\n"
    "# Provides:          @SERVICE@\n"
    "# Required-Start:    $local_fs $remote_fs $network\n"
    "# Required-Stop:     $local_fs $remote_fs $network\n"
    "# Default-Start:     2 3 4 5\n"
    "# Default-Stop:      0 1 6\n"
    "# Short-Description: corral process supervisor for @USER@\n"
    "### END INIT INFO\n"
    "\n"
    "NAME=@SERVICE@\n"
    "DAEMON=@BINDIR@/corrald\n"
    "PIDFILE=/run/$NAME.pid\n"
    "RUNAS=@USER@\n"
    "export CORRAL_HOME=\"@CORRAL_HOME@\"\n"
    "export HOME=\"@HOME@\"\n"
    "export PATH=\"@PATH@\"\n"
    "\n"
    "case \"$1\" in\n"
    "start)\n"
    "\tstart-stop-daemon --start --quiet --background "
    "--make-pidfile \\\n"
    "\t    --pidfile \"$PIDFILE\" --chuid \"$RUNAS\" --exec "
    "\"$DAEMON\" \\\n"
    "\t    -- @ARGS@\n"
    "\t;;\n"
    "stop)\n"
    "\tstart-stop-daemon --stop --quiet --pidfile \"$PIDFILE\" "
    "\\\n"
    "\t    --retry TERM/@STOP_SEC@/KILL/5 --remove-pidfile\n"
    "\t;;\n"
    "restart|force-reload)\n"
    "\t\"$0\" stop\n"
    "\t\"$0\" start\n"
    "\t;;\n"
    "reload)\n"
    "\tsu -s /bin/sh -c '@BINDIR@/corral reload all' \"$RUNAS\"\n"
    "\t;;\n"
    "status)\n"
    "\tstart-stop-daemon --status --pidfile \"$PIDFILE\"\n"
    "\t;;\n"
    "*)\n"
    "\techo \"usage: $0 {start|stop|restart|reload|status}\" >&2\n"
    "\texit 3\n"
    "\t;;\n"
    "esac\n";

/*
 * The text of a template with each @NAME@ replaced by the value of NAME in
 * vars (pairs of name and value, NULL-terminated). The caller frees.
 */
static char *
startup_expand(const char *tpl, const char *const *vars)
{
	size_t len = 0, cap = strlen(tpl) + 256, n, vlen, i;
	char *out = xmalloc(cap);
	const char *val;

	while (*tpl != '\0') {
		val = NULL;
		n = 1;
		for (i = 0; *tpl == '@' && vars[i] != NULL; i += 2) {
			n = strlen(vars[i]);
			if (strncmp(tpl + 1, vars[i], n) == 0 && tpl[n + 1] == '@') {
				val = vars[i + 1];
				n += 2;
				break;
			}
		}
		if (val == NULL) {
			val = tpl;
			n = vlen = 1;
		} else
			vlen = strlen(val);
		if (len + vlen + 1 > cap) {
			cap = (len + vlen + 1) * 2;
			out = xrealloc(out, cap);
		}
		memcpy(out + len, val, vlen);
		len += vlen;
		tpl += n;
	}
	out[len] = '\0';
	return out;
}

/* The text of the service file. The caller frees. */
char *
startup_text(const struct startup *s)
{
	char *svc = startup_service(s), *args = startup_args(s), *text;
	char watchdog[16], stop[16];
	const char *const vars[] = {
		"USER", s->user, "SERVICE", svc, "BINDIR", s->bindir,
		"ARGS", args, "CORRAL_HOME", s->corral_home, "HOME", s->home,
		"PATH", s->path, "WATCHDOG_SEC", watchdog, "STOP_SEC", stop,
		NULL
	};

	snprintf(watchdog, sizeof watchdog, "%u", s->watchdog_sec);
	snprintf(stop, sizeof stop, "%u", s->stop_timeout_sec);
	text = startup_expand(s->kind == STARTUP_SYSTEMD ? startup_systemd_text :
	    s->kind == STARTUP_OPENRC ? startup_openrc_text : startup_sysv_text,
	    vars);
	free(svc);
	free(args);
	return text;
}

/* Where the service file goes, under s->root. The caller frees. */
static char *
startup_file(const struct startup *s)
{
	char *p, *svc = startup_service(s);
	const char *root = strcmp(s->root, "/") == 0 ? "" : s->root;

	if (s->kind == STARTUP_SYSTEMD)
		xasprintf(&p, "%s/etc/systemd/system/%s.service", root, svc);
	else
		xasprintf(&p, "%s/etc/init.d/%s", root, svc);
	free(svc);
	return p;
}

/* Creates every missing folder of path's parent, mode 0755. */
static int
startup_mkdirs(const char *path, char **cause)
{
	char *copy = xstrdup(path), *p;

	for (p = copy + 1; (p = strchr(p, '/')) != NULL; p++) {
		*p = '\0';
		if (mkdir(copy, 0755) == -1 && errno != EEXIST) {
			xasprintf(cause, "%s: %s", copy, strerror(errno));
			free(copy);
			return -1;
		}
		*p = '/';
	}
	free(copy);
	return 0;
}

static int
startup_link(const char *target, const char *root, const char *link,
    char **cause)
{
	char *p;

	xasprintf(&p, "%s%s", strcmp(root, "/") == 0 ? "" : root, link);
	if (startup_mkdirs(p, cause) != 0) {
		free(p);
		return -1;
	}
	(void)unlink(p);
	if (symlink(target, p) == -1) {
		xasprintf(cause, "%s: %s", p, strerror(errno));
		free(p);
		return -1;
	}
	free(p);
	return 0;
}

/* The links that enable the service, as (target, link) pairs. */
static int
startup_links(const struct startup *s, char ***out)
{
	static const char *const sysv_links[] = {
		"rc2.d/S20", "rc3.d/S20", "rc4.d/S20", "rc5.d/S20",
		"rc0.d/K01", "rc1.d/K01", "rc6.d/K01",
	};
	char **v, *svc = startup_service(s);
	size_t i, n = 0;

	v = xcalloc(2 * nitems(sysv_links) + 1, sizeof *v);
	if (s->kind == STARTUP_SYSTEMD) {
		xasprintf(&v[n++], "/etc/systemd/system/%s.service", svc);
		xasprintf(&v[n++], "/etc/systemd/system/multi-user.target."
		    "wants/%s.service", svc);
	} else if (s->kind == STARTUP_OPENRC) {
		xasprintf(&v[n++], "/etc/init.d/%s", svc);
		xasprintf(&v[n++], "/etc/runlevels/default/%s", svc);
	} else {
		for (i = 0; i < nitems(sysv_links); i++) {
			xasprintf(&v[n++], "../init.d/%s", svc);
			xasprintf(&v[n++], "/etc/%s%s", sysv_links[i], svc);
		}
	}
	free(svc);
	*out = v;
	return (int)n;
}

static void
startup_free_links(char **v)
{
	size_t i;

	for (i = 0; v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

/*
 * Writes the service file and its enabling links under s->root. Returns 0
 * with *written set to the file's path (the caller frees), or -1 with
 * *cause.
 */
int
startup_install(const struct startup *s, char **written, char **cause)
{
	char *file = startup_file(s), *text = startup_text(s), *tmp, **links;
	int n, i, rc = -1;
	FILE *f;

	xasprintf(&tmp, "%s.tmp", file);
	if (startup_mkdirs(file, cause) != 0)
		goto out;
	if ((f = fopen(tmp, "w")) == NULL) {
		xasprintf(cause, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	if (fputs(text, f) == EOF || fflush(f) == EOF || fsync(fileno(f)) ==
	    -1 || fchmod(fileno(f), s->kind == STARTUP_SYSTEMD ? 0644 : 0755)
	    == -1) {
		xasprintf(cause, "%s: %s", tmp, strerror(errno));
		fclose(f);
		unlink(tmp);
		goto out;
	}
	fclose(f);
	if (rename(tmp, file) == -1) {
		xasprintf(cause, "%s: %s", file, strerror(errno));
		unlink(tmp);
		goto out;
	}
	n = startup_links(s, &links);
	for (i = 0; i < n; i += 2) {
		if (startup_link(links[i], s->root, links[i + 1], cause) != 0)
			break;
	}
	startup_free_links(links);
	if (i < n)
		goto out;
	*written = file;
	file = NULL;
	rc = 0;
out:
	free(tmp);
	free(text);
	free(file);
	return rc;
}

/*
 * Removes the service file and its links under s->root; a missing file is
 * not an error. Returns the number of files removed, or -1 with *cause.
 */
int
startup_remove(const struct startup *s, char **cause)
{
	char *file = startup_file(s), **links, *p;
	const char *root = strcmp(s->root, "/") == 0 ? "" : s->root;
	int n, i, removed = 0;

	n = startup_links(s, &links);
	for (i = 0; i < n; i += 2) {
		xasprintf(&p, "%s%s", root, links[i + 1]);
		if (unlink(p) == 0)
			removed++;
		free(p);
	}
	startup_free_links(links);
	if (unlink(file) == 0)
		removed++;
	else if (errno != ENOENT) {
		xasprintf(cause, "%s: %s", file, strerror(errno));
		free(file);
		return -1;
	}
	free(file);
	return removed;
}

/* Refuses names and paths that would need quoting in any of the files. */
int
startup_check(const struct startup *s, char **cause)
{
	const char *const paths[] = { s->bindir, s->home, s->corral_home,
	    s->path };
	struct sockaddr_storage ss;
	socklen_t len;
	const char *p;
	size_t i;

	for (p = s->user; *p != '\0'; p++) {
		if (strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "0123456789._-", *p) == NULL)
			break;
	}
	if (*s->user == '\0' || *p != '\0' || *s->user == '-') {
		xasprintf(cause, "user name '%s' cannot be used in a service",
		    s->user);
		return -1;
	}
	if (s->metrics != NULL && strpbrk(s->metrics,
	    " \t\n\"'\\$%`;&|<>*?") != NULL) {
		xasprintf(cause, "metrics: '%s' is not an address", s->metrics);
		return -1;
	}
	if (s->metrics != NULL && httpaddr_parse(s->metrics, &ss, &len,
	    cause) == -1)
		return -1;
	for (i = 0; i < nitems(paths); i++) {
		if (paths[i][0] != '/' || strpbrk(paths[i],
		    " \t\n\"'\\$%`;&|<>*?") != NULL) {
			xasprintf(cause, "path '%s' must be absolute and free "
			    "of blanks and shell characters", paths[i]);
			return -1;
		}
	}
	return 0;
}
