/* SPDX-License-Identifier: ISC */
/*
 * The per-app families of /metrics (labels: app, and one more for the
 * split ones): instances wanted and ready, reloads, logs, liveness checks,
 * replacements, autoscaling, and the accept queue and backlog of each
 * held TCP socket, read from the socket at the scrape (sockstat.c).
 */
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

static int
a_instances(const struct app *a, uint64_t *v)
{
	*v = (uint64_t)a->cfg.instances;
	return 1;
}

static int
a_ready_instances(const struct app *a, uint64_t *v)
{
	const struct instance *i;

	*v = 0;
	TAILQ_FOREACH(i, &a->instances, entry)
		*v += i->state == INST_ONLINE && !fsm_deleting(i);
	return 1;
}

static int
a_ready(const struct app *a, uint64_t *v)
{
	int wanted;

	*v = probez_app_ready(a, &wanted) == wanted;
	return 1;
}

static int
a_reloads(const struct app *a, uint64_t *v)
{
	*v = a->counters.reloads;
	return 1;
}

static int
a_reloads_failed(const struct app *a, uint64_t *v)
{
	*v = a->counters.reloads_failed;
	return 1;
}

static int
a_log_dropped(const struct app *a, uint64_t *v)
{
	return logsink_dropped((struct app *)a, v) == 0;
}

static int
a_scale_min(const struct app *a, uint64_t *v)
{
	*v = (uint64_t)a->cfg.scale_min;
	return a->cfg.scale_max != 0;
}

static int
a_scale_max(const struct app *a, uint64_t *v)
{
	*v = (uint64_t)autoscale_max(&a->cfg);
	return a->cfg.scale_max != 0;
}

static const struct metrics_family metrics_app_families[] = {
	{ "corral_app_instances", "gauge",
	  "Instances the app is declared (or scaled) to run.", 0, NULL,
	  a_instances },
	{ "corral_app_ready_instances", "gauge",
	  "Instances of the app that are online.", 0, NULL, a_ready_instances },
	{ "corral_app_ready", "gauge",
	  "1 when every instance the app wants is ready (as /readyz).", 0,
	  NULL, a_ready },
	{ "corral_app_reloads_total", "counter",
	  "Rolling reloads of the app that completed.", 0, NULL, a_reloads },
	{ "corral_app_reloads_failed_total", "counter",
	  "Rolling reloads of the app that were aborted.", 0,
	  NULL, a_reloads_failed },
	{ "corral_app_log_dropped_lines_total", "counter",
	  "Log lines lost because a log file could not be written.", 0,
	  NULL, a_log_dropped },
	{ "corral_app_autoscale_min_instances", "gauge",
	  "The least instances autoscaling keeps.", 0, NULL, a_scale_min },
	{ "corral_app_autoscale_max_instances", "gauge",
	  "The most instances autoscaling may run (capped by the CPU count "
	  "unless scale_above_cpus).", 0, NULL, a_scale_max },
};


/* A per-app counter split by one more label: (app, extra) -> value. */
static void
metrics_app_split(struct metrics_scrape *m, const char *name,
    const char *type, const char *help, const char *const *extra,
    size_t nextra, void (*fn)(const struct app *, uint64_t *))
{
	uint64_t *v = xcalloc(nextra, sizeof *v);
	size_t i, k;

	promtext_family(&m->t, name, type, help);
	for (i = 0; i < m->napps; i++) {
		fn(m->apps[i], v);
		for (k = 0; k < nextra; k++) {
			metrics_sample(m, name, &m->al[i], extra[k]);
			metrics_value(&m->t, v[k], 0);
		}
	}
	free(v);
}

static const char *const metrics_streams[] = {
	"stream=\"out\"", "stream=\"err\"",
};

static void
s_log_lines(const struct app *a, uint64_t *v)
{
	v[0] = a->counters.log_lines[0];
	v[1] = a->counters.log_lines[1];
}

static void
s_log_bytes(const struct app *a, uint64_t *v)
{
	v[0] = a->counters.log_bytes[0];
	v[1] = a->counters.log_bytes[1];
}

static const char *const metrics_results[] = {
	"result=\"ok\"", "result=\"failed\"",
};

static void
s_health(const struct app *a, uint64_t *v)
{
	v[0] = a->counters.health_ok;
	v[1] = a->counters.health_failed;
}

static const char *const metrics_replace_reasons[] = {
	"reason=\"health_check\"", "reason=\"max_memory_restart\"",
};

static void
s_replaced(const struct app *a, uint64_t *v)
{
	v[0] = a->counters.health_replaced;
	v[1] = a->counters.memory_replaced;
}

static const char *const metrics_scale_reasons[AUTOSCALE_NREASONS] = {
	"direction=\"up\",reason=\"queue\"", "direction=\"up\",reason=\"cpu\"",
	"direction=\"up\",reason=\"min\"", "direction=\"down\",reason=\"calm\"",
	"direction=\"down\",reason=\"max\"",
};

static void
s_scaled(const struct app *a, uint64_t *v)
{
	memcpy(v, a->counters.scaled, sizeof a->counters.scaled);
}

/* Accept queue and backlog of every held TCP socket. */
static void
metrics_sockets(struct metrics_scrape *m, int backlog)
{
	const char *name = backlog ? "corral_app_socket_backlog" :
	    "corral_app_socket_accept_queue";
	struct sockstat st;
	struct promtext extra;
	char addr[128];
	size_t i, k;
	struct app *a;

	promtext_family(&m->t, name, "gauge", backlog ?
	    "The most connections a held socket queues for accept()." :
	    "Connections waiting in a held socket for an instance to accept.");
	promtext_init(&extra, 128);
	for (i = 0; i < m->napps; i++) {
		a = m->apps[i];
		for (k = 0; k < a->nlisteners; k++) {
			if (a->listeners[k].fd == -1 ||
			    sockstat_read(a->listeners[k].fd, &st) == -1)
				continue;
			listener_format(&a->listeners[k], addr, sizeof addr);
			extra.len = 0;
			promtext_label(&extra, "socket", addr, 1);
			promtext_raw(&extra, "", 1);
			metrics_sample(m, name, &m->al[i], extra.buf);
			metrics_value(&m->t, backlog ? st.backlog : st.queue,
			    0);
		}
	}
	promtext_free(&extra);
}

void
metrics_apps(struct metrics_scrape *m)
{
	const struct metrics_family *f;
	size_t i, k;
	uint64_t v;

	for (k = 0; k < nitems(metrics_app_families); k++) {
		f = &metrics_app_families[k];
		promtext_family(&m->t, f->name, f->type, f->help);
		for (i = 0; i < m->napps; i++) {
			if (!f->app(m->apps[i], &v))
				continue;
			metrics_sample(m, f->name, &m->al[i], NULL);
			metrics_value(&m->t, v, f->decimals);
		}
	}
	metrics_app_split(m, "corral_app_log_lines_total", "counter",
	    "Lines the app's instances wrote, by stream.", metrics_streams, 2,
	    s_log_lines);
	metrics_app_split(m, "corral_app_log_bytes_total", "counter",
	    "Bytes the app's instances wrote, by stream.", metrics_streams, 2,
	    s_log_bytes);
	metrics_app_split(m, "corral_app_health_checks_total", "counter",
	    "Liveness checks of the app's instances, by result.",
	    metrics_results, 2, s_health);
	metrics_app_split(m, "corral_app_replacements_total", "counter",
	    "Instances replaced by the daemon, by reason.",
	    metrics_replace_reasons, 2, s_replaced);
	metrics_app_split(m, "corral_app_autoscale_decisions_total", "counter",
	    "Instances added or removed by autoscaling, by reason.",
	    metrics_scale_reasons, AUTOSCALE_NREASONS, s_scaled);
	metrics_sockets(m, 0);
	metrics_sockets(m, 1);
}

