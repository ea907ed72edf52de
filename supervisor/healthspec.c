/* SPDX-License-Identifier: ISC */
/*
 * Liveness check specs (--health), as a person writes them:
 * "http://HOST[:PORT][/PATH]" (a GET answers 2xx or 3xx), "tcp:[HOST:]PORT"
 * (a connect succeeds), both parsed as readiness probes are (readyspec.c:
 * numeric HOST, PORT a number or $VAR from the instance's environment),
 * and "exec:CMD" (CMD, run by /bin/sh -c, exits 0).
 */
#include <stdlib.h>
#include <string.h>

#include "corrald.h"

int
health_parse(const char *spec, struct health_spec *h, char **cause)
{
	const char *cmd, *why_at;
	char *why = NULL;

	memset(h, 0, sizeof *h);
	if (strncmp(spec, "exec:", 5) == 0) {
		cmd = spec + 5;
		cmd += strspn(cmd, " \t");
		if (*cmd == '\0') {
			xasprintf(cause, "invalid health check '%s': no command "
			    "after exec:", spec);
			return -1;
		}
		h->kind = HEALTH_EXEC;
		h->cmd = xstrdup(cmd);
		return 0;
	}
	if (strncmp(spec, "http://", 7) != 0 && strncmp(spec, "tcp:", 4) != 0) {
		xasprintf(cause, "invalid health check '%s': expected "
		    "http://HOST[:PORT]/PATH, tcp:[HOST:]PORT or exec:CMD", spec);
		return -1;
	}
	if (ready_parse(spec, &h->probe, &why) == -1) {
		/* "invalid readiness 'SPEC': WHY" */
		why_at = strstr(why, "': ");
		xasprintf(cause, "invalid health check '%s'%s", spec,
		    why_at != NULL ? why_at + 1 : "");
		free(why);
		return -1;
	}
	h->kind = h->probe.kind == READY_HTTP ? HEALTH_HTTP : HEALTH_TCP;
	return 0;
}

void
health_spec_clear(struct health_spec *h)
{
	ready_spec_clear(&h->probe);
	free(h->cmd);
	memset(h, 0, sizeof *h);
}
