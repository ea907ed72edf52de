/* SPDX-License-Identifier: ISC */
/*
 * `corral doctor`: what this host and this daemon support for
 * limits and accounting: the cgroup backend, the daemon's cgroups, the
 * controllers and features in use, and why something is not enforced.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "corrald.h"

static int
cmd_info_has(json_t *features, const char *name)
{
	json_t	*v;
	size_t	 i;

	json_array_foreach(features, i, v) {
		if (strcmp(json_string_value(v), name) == 0)
			return 1;
	}
	return 0;
}

static const char *
cmd_info_str(json_t *o, const char *key)
{
	const char	*s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "-";
}

/* The daemon, the kernel and the cgroup hierarchies in use. */
static void
cmd_info_cgroups(FILE *m, json_t *o, const char *backend, int none)
{
	json_t		*h, *c, *v;
	size_t		 i, j;

	fprintf(m, "corrald %s, kernel %s, euid %lld, systemd %s\n",
	    CORRAL_VERSION, cmd_info_str(o, "kernel"),
	    (long long)json_integer_value(json_object_get(o, "euid")),
	    json_is_true(json_object_get(o, "systemd")) ? "running" : "absent");
	fprintf(m, "cgroups: %s\n", none ? "none (limits are not enforced)" :
	    !strcmp(backend, "v2") ? "v2 (unified)" : "v1 (legacy/hybrid)");
	json_array_foreach(json_object_get(o, "hierarchies"), i, h) {
		fprintf(m, "  ");
		json_array_foreach(json_object_get(h, "controllers"), j, c)
			fprintf(m, "%s%s", j > 0 ? "," : "",
			    json_string_value(c));
		fprintf(m, " %s\n", cmd_info_str(h, "top"));
	}
	if ((v = json_object_get(o, "scope")) != NULL && json_is_string(v))
		fprintf(m, "systemd scope: %s\n", json_string_value(v));
}

/* Which limits are enforced, how a stop reaches every process. */
static void
cmd_info_limits(FILE *m, json_t *f, const char *backend, int none)
{
	fprintf(m, "max_memory: %s\n", !none && cmd_info_has(f, "memory") ?
	    (cmd_info_has(f, "swap") ? "enforced (swap included)" :
	    "enforced") : "not enforced");
	fprintf(m, "memory_high: %s\n", !none && cmd_info_has(f, "memory") ?
	    (!strcmp(backend, "v2") ? "enforced" :
	    "soft limit (v1 has no memory.high)") : "not enforced");
	fprintf(m, "cpu: %s\n", !none && cmd_info_has(f, "cpu") ?
	    "enforced" : "not enforced");
	fprintf(m, "max_pids: %s\n", !none && cmd_info_has(f, "pids") ?
	    "enforced" : "not enforced");
	fprintf(m, "stop: %s\n", none ? "process group (a process that "
	    "calls setsid escapes)" : cmd_info_has(f, "kill") ?
	    "whole cgroup (cgroup.kill)" : !strcmp(backend, "v2") &&
	    cmd_info_has(f, "freezer") ? "whole cgroup (freeze, kill, thaw)" :
	    "whole cgroup (kill loop)");
	fprintf(m, "accounting: %s\n", none ? "/proc, per process group" :
	    "cgroup, whole tree");
	fprintf(m, "OOM kills: %s\n", !none && cmd_info_has(f, "memory") ?
	    "reported" : "not detectable");
}

/* The daemon's descriptors, its metrics endpoint and the backend's note. */
static void
cmd_info_daemon(FILE *m, json_t *o)
{
	json_t		*v = json_object_get(o, "fds");

	fprintf(m, "file descriptors: %lld open, limit %lld (apps get %lld)\n",
	    (long long)json_integer_value(json_object_get(v, "open")),
	    (long long)json_integer_value(json_object_get(v, "limit")),
	    (long long)json_integer_value(json_object_get(v, "apps")));
	if (httpd_address() != NULL)
		fprintf(m, "metrics: http://%s/metrics (/healthz, /readyz)\n",
		    httpd_address());
	else
		fprintf(m, "metrics: off (corrald --metrics ADDR, or "
		    "CORRAL_METRICS)\n");
	if ((v = json_object_get(o, "cause")) != NULL && json_is_string(v))
		fprintf(m, "note: %s\n", json_string_value(v));
}

/*
 * The text for people; every line says what works and how. The caller
 * frees it; NULL if no memory stream could be opened.
 */
static char *
cmd_info_text(json_t *o)
{
	const char	*backend = cmd_info_str(o, "backend");
	int		 none = strcmp(backend, "none") == 0;
	char		*buf = NULL;
	size_t		 len = 0;
	FILE		*m;

	if ((m = open_memstream(&buf, &len)) == NULL)
		return NULL;
	cmd_info_cgroups(m, o, backend, none);
	cmd_info_limits(m, json_object_get(o, "features"), backend, none);
	cmd_info_daemon(m, o);
	if (fclose(m) == EOF) {
		free(buf);
		return NULL;
	}
	if (len > 0 && buf[len - 1] == '\n')
		buf[len - 1] = '\0';
	return buf;
}

static int
cmd_info_exec(struct cmd_ctx *ctx)
{
	json_t	*o = limits_info();
	char	*text;

	json_object_set_new(o, "fds", fdlimit_info());
	text = cmd_info_text(o);
	json_decref(o);
	if (text == NULL) {
		conn_reply_error(ctx->conn, EXIT_FAILURE_, "doctor: %s",
		    strerror(errno));
		return CMD_REPLIED;
	}
	conn_reply(ctx->conn, proto_ok("message", json_str(text)));
	free(text);
	return CMD_REPLIED;
}

const struct cmd_entry cmd_doctor_entry = {
	.name = "doctor",
	.usage = "",
	.summary = "tell what this host supports: cgroups, limits, stops",
	.min_args = 0,
	.max_args = 0,
	.exec = cmd_info_exec,
};
