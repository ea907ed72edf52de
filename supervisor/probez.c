/* SPDX-License-Identifier: ISC */
/*
 * The endpoints an orchestrator probes. /healthz: the daemon is alive. The
 * HTTP server runs on the daemon's one loop (httpd.c), so an answer at all
 * proves the loop turns; a loop stuck in a callback answers nothing and the
 * probe times out, which is what a liveness probe wants to see. The body
 * says how long the current loop iteration has run, for people.
 *
 * /readyz: every app has the instances it wants ready. An instance is
 * wanted unless somebody stopped it (or it ended for good, or is being
 * removed); it is ready when online. So a reload, whose new instance is
 * wanted and starting, makes its app unready until the new one is online
 * (or the failed one is removed); an app scaled up is unready until the
 * new instances are online. ?app=NAME checks one app; &min=N asks only
 * for N instances of it online, for a probe that must stay true while a
 * reload replaces instances. 200 when ready, 503 when not, 400 for a bad
 * query.
 */
#include <stdlib.h>
#include <string.h>

#include "corrald.h"

/* Whether inst is one its app wants running. */
static int
probez_wanted(const struct instance *inst)
{
	if (fsm_deleting(inst))
		return 0;
	switch (inst->state) {
	case INST_STOPPED:
		return 0;
	case INST_STOPPING:
		return fsm_restart_pending(inst);
	default:
		return 1;
	}
}

/* Instances of app online; *wanted: those it wants running. */
int
probez_app_ready(const struct app *app, int *wanted)
{
	const struct instance *inst;
	int ready = 0;

	*wanted = 0;
	TAILQ_FOREACH(inst, &app->instances, entry) {
		if (!probez_wanted(inst))
			continue;
		(*wanted)++;
		ready += inst->state == INST_ONLINE;
	}
	return ready;
}

void
probez_healthz(struct httpd_request *r, struct httpd_reply *rep)
{
	uint64_t iter = uv_hrtime() / 1000000 - uv_now(D.loop);
	uint64_t up = (now_ms() - D.started_at) / 1000;

	(void)r;
	httpd_text(rep, 200, "ok: corrald %s up %llus, this loop iteration "
	    "%llums%s\n", CORRAL_VERSION, (unsigned long long)up,
	    (unsigned long long)iter, D.shutting_down ? ", stopping" : "");
}

/* Appends "NAME: R of W ready" for app to *text; returns whether ready. */
static int
probez_app_line(const struct app *app, long long min, char **text)
{
	char *line;
	int wanted, ready = probez_app_ready(app, &wanted), ok;

	ok = min >= 0 ? ready >= min : ready == wanted;
	if (min >= 0)
		xasprintf(&line, "%s%s: %d ready, at least %lld wanted\n",
		    *text != NULL ? *text : "", app->cfg.name, ready, min);
	else
		xasprintf(&line, "%s%s: %d of %d ready\n",
		    *text != NULL ? *text : "", app->cfg.name, ready, wanted);
	free(*text);
	*text = line;
	return ok;
}

void
probez_readyz(struct httpd_request *r, struct httpd_reply *rep)
{
	const char *name = httpd_query(r, "app");
	const char *min_s = httpd_query(r, "min");
	const struct app *app;
	long long min = -1;
	char *text = NULL;
	int ok = 1;

	if (min_s != NULL && (name == NULL ||
	    parse_int(min_s, 0, 1 << 20, &min, NULL) == -1)) {
		httpd_text(rep, 400, "min=N needs app=NAME and N a number\n");
		return;
	}
	if (name != NULL) {
		if ((app = app_find(name)) == NULL) {
			httpd_text(rep, 503, "no app '%s'\n", name);
			return;
		}
		ok = probez_app_line(app, min, &text);
	} else {
		TAILQ_FOREACH(app, &D.apps, entry) {
			if (!app->deleted)
				ok &= probez_app_line(app, -1, &text);
		}
	}
	if (D.shutting_down)
		ok = 0;
	httpd_text(rep, ok ? 200 : 503, "%s%s%s", ok ? "ready\n" :
	    "not ready\n", D.shutting_down ? "the daemon is stopping\n" : "",
	    text != NULL ? text : "");
	free(text);
}
