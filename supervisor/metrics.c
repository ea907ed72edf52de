/* SPDX-License-Identifier: ISC */
/*
 * GET /metrics: every app, instance and the daemon itself in Prometheus'
 * text format, built on the loop in one pass per metric family (the format
 * wants a family's samples together); the per-app families are in
 * metrics-app.c. An instance's labels are app, index (0..N-1) and id: not
 * "instance", which Prometheus sets on every series it scrapes (the
 * target's host:port) and would rename exported_instance. The label text
 * of each instance is escaped once per scrape and copied into each of its
 * samples. CPU and memory come from the instances' last samples; those
 * older than METRICS_MAX_AGE_MS are read again first, in one batch
 * (limits.c), so a scrape costs no reading while the once-a-second
 * sampler runs. What a scrape cost the daemon in CPU is itself a metric
 * of the next one.
 */
#include <sys/resource.h>

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "metrics.h"

#define METRICS_MAX_AGE_MS 2000

static uint64_t metrics_last_cpu_ns;    /* CPU the previous scrape took */

static int
m_running(const struct instance *i)
{
	return i->child != NULL;
}

static int
m_cpu(const struct instance *i, uint64_t *v)
{
	*v = i->sample.cpu_usec;
	return m_running(i) && i->sample.valid;
}

static int
m_memory(const struct instance *i, uint64_t *v)
{
	*v = i->memory;
	return m_running(i);
}

static int
m_memory_limit(const struct instance *i, uint64_t *v)
{
	*v = i->app->cfg.limits.max_memory;
	return *v != 0;
}

static int
m_restarts(const struct instance *i, uint64_t *v)
{
	*v = (uint64_t)i->restarts;
	return 1;
}

static int
m_unstable(const struct instance *i, uint64_t *v)
{
	*v = (uint64_t)i->unstable_restarts;
	return 1;
}

static int
m_oom(const struct instance *i, uint64_t *v)
{
	*v = (uint64_t)i->oom_kills;
	return 1;
}

static int
m_ready(const struct instance *i, uint64_t *v)
{
	*v = i->state == INST_ONLINE;
	return 1;
}

static int
m_started(const struct instance *i, uint64_t *v)
{
	*v = i->started_at;
	return m_running(i);
}

static int
m_healthy(const struct instance *i, uint64_t *v)
{
	int failures;
	int s = health_status(i, &failures);

	*v = s == 1;
	return s >= 0;
}

static int
m_health_failures(const struct instance *i, uint64_t *v)
{
	int failures = 0;

	*v = 0;
	if (health_status(i, &failures) < 0)
		return 0;
	*v = (uint64_t)failures;
	return 1;
}

static const struct metrics_family metrics_inst_families[] = {
	{ "corral_instance_cpu_seconds_total", "counter",
	  "CPU time used by the instance's process tree.", 6, m_cpu, NULL },
	{ "corral_instance_memory_bytes", "gauge",
	  "Memory of the instance's process tree, less inactive file cache.",
	  0, m_memory, NULL },
	{ "corral_instance_memory_limit_bytes", "gauge",
	  "The instance's memory limit (max_memory), when one is set.", 0,
	  m_memory_limit, NULL },
	{ "corral_instance_restarts_total", "counter",
	  "Times the instance was started again.", 0, m_restarts, NULL },
	{ "corral_instance_unstable_restarts", "gauge",
	  "Restarts in a row that came before min_uptime.", 0, m_unstable,
	  NULL },
	{ "corral_instance_oom_kills_total", "counter",
	  "Processes of the instance the OOM killer killed.", 0, m_oom, NULL },
	{ "corral_instance_ready", "gauge",
	  "1 when the instance is online (ready), else 0.", 0, m_ready, NULL },
	{ "corral_instance_start_time_seconds", "gauge",
	  "When the running process started, in seconds since the epoch.", 3,
	  m_started, NULL },
	{ "corral_instance_healthy", "gauge",
	  "1 when the last liveness check passed, 0 when it failed.", 0,
	  m_healthy, NULL },
	{ "corral_instance_health_failures", "gauge",
	  "Liveness checks failed in a row.", 0, m_health_failures, NULL },
};


/* The label text name="value" of each instance and app, escaped once. */
static void
metrics_collect(struct metrics_scrape *m)
{
	struct app *app;
	struct instance *inst;
	struct metrics_label *l;
	char num[32];

	TAILQ_FOREACH(app, &D.apps, entry) {
		if (app->deleted)
			continue;
		m->apps = xreallocarray(m->apps, m->napps + 1, sizeof *m->apps);
		m->al = xreallocarray(m->al, m->napps + 1, sizeof *m->al);
		m->apps[m->napps] = app;
		l = &m->al[m->napps++];
		l->off = m->labels.len;
		promtext_label(&m->labels, "app", app->cfg.name, 1);
		l->len = m->labels.len - l->off;
		TAILQ_FOREACH(inst, &app->instances, entry) {
			m->insts = xreallocarray(m->insts, m->ninsts + 1,
			    sizeof *m->insts);
			m->il = xreallocarray(m->il, m->ninsts + 1,
			    sizeof *m->il);
			m->insts[m->ninsts] = inst;
			l = &m->il[m->ninsts++];
			l->off = m->labels.len;
			promtext_label(&m->labels, "app", app->cfg.name, 1);
			snprintf(num, sizeof num, "%d", inst->index);
			promtext_label(&m->labels, "index", num, 0);
			snprintf(num, sizeof num, "%d", inst->id);
			promtext_label(&m->labels, "id", num, 0);
			l->len = m->labels.len - l->off;
		}
	}
}

/* The start of a sample line: name{labels[,extra]} */
void
metrics_sample(struct metrics_scrape *m, const char *name,
    const struct metrics_label *l, const char *extra)
{
	promtext_sample(&m->t, name, m->labels.buf + l->off, l->len, extra);
}

/* A sample's value and the end of its line. */
void
metrics_value(struct promtext *t, uint64_t v, int decimals)
{
	if (decimals > 0)
		promtext_fixed(t, v, decimals);
	else
		promtext_u64(t, v);
	promtext_end(t);
}

static void
metrics_instances(struct metrics_scrape *m)
{
	static const char *states[INST_NSTATES] = {
		"state=\"stopped\"", "state=\"starting\"", "state=\"online\"",
		"state=\"stopping\"", "state=\"waiting-restart\"",
		"state=\"errored\"",
	};
	const struct metrics_family *f;
	size_t i, k;
	uint64_t v;
	int s;

	promtext_family(&m->t, "corral_instance_state", "gauge",
	    "1 for the state the instance is in, 0 for the others.");
	for (i = 0; i < m->ninsts; i++) {
		for (s = 0; s < INST_NSTATES; s++) {
			metrics_sample(m, "corral_instance_state", &m->il[i],
			    states[s]);
			metrics_value(&m->t, m->insts[i]->state ==
			    (enum inst_state)s, 0);
		}
	}
	for (k = 0; k < nitems(metrics_inst_families); k++) {
		f = &metrics_inst_families[k];
		promtext_family(&m->t, f->name, f->type, f->help);
		for (i = 0; i < m->ninsts; i++) {
			if (!f->inst(m->insts[i], &v))
				continue;
			metrics_sample(m, f->name, &m->il[i], NULL);
			metrics_value(&m->t, v, f->decimals);
		}
	}
}

/* The daemon's open descriptors, or -1. */
static long
metrics_open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	long n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1;                   /* the directory's own descriptor */
}

/* Resident memory of the daemon in bytes, or 0. */
static uint64_t
metrics_rss(void)
{
	unsigned long long size = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "re");

	if (f == NULL)
		return 0;
	if (fscanf(f, "%llu %llu", &size, &resident) != 2)
		resident = 0;
	fclose(f);
	return (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

static void
metrics_one(struct metrics_scrape *m, const char *name, const char *type,
    const char *help, uint64_t v, int decimals)
{
	promtext_family(&m->t, name, type, help);
	promtext_sample(&m->t, name, "", 0, NULL);
	metrics_value(&m->t, v, decimals);
}

static void
metrics_daemon(struct metrics_scrape *m)
{
	struct rusage ru;
	struct rlimit rl;
	uint64_t cpu = 0;
	long fds = metrics_open_fds();

	if (getrusage(RUSAGE_SELF, &ru) == 0)
		cpu = (uint64_t)ru.ru_utime.tv_sec * 1000000 +
		    (uint64_t)ru.ru_utime.tv_usec +
		    (uint64_t)ru.ru_stime.tv_sec * 1000000 +
		    (uint64_t)ru.ru_stime.tv_usec;
	promtext_family(&m->t, "corral_build_info", "gauge",
	    "The version of corrald serving, as a label.");
	promtext_sample(&m->t, "corral_build_info", "", 0,
	    "version=\"" CORRAL_VERSION "\"");
	metrics_value(&m->t, 1, 0);
	metrics_one(m, "corral_apps", "gauge", "Apps the daemon runs.",
	    m->napps, 0);
	metrics_one(m, "process_cpu_seconds_total", "counter",
	    "CPU time the daemon used.", cpu, 6);
	metrics_one(m, "process_resident_memory_bytes", "gauge",
	    "Resident memory of the daemon.", metrics_rss(), 0);
	if (fds >= 0)
		metrics_one(m, "process_open_fds", "gauge",
		    "Descriptors the daemon has open.", (uint64_t)fds, 0);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		metrics_one(m, "process_max_fds", "gauge",
		    "The most descriptors the daemon may open.",
		    (uint64_t)rl.rlim_cur, 0);
	metrics_one(m, "process_start_time_seconds", "gauge",
	    "When the daemon started, in seconds since the epoch.",
	    D.started_at, 3);
	metrics_one(m, "corral_metrics_scrape_cpu_seconds", "gauge",
	    "CPU time the daemon spent on the previous scrape.",
	    metrics_last_cpu_ns / 1000, 6);
}

static uint64_t
metrics_thread_ns(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) == -1)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec;
}

void
metrics_serve(struct httpd_request *r, struct httpd_reply *rep)
{
	static size_t last_len;
	struct metrics_scrape m;
	uint64_t t0 = metrics_thread_ns();

	(void)r;
	limits_refresh(METRICS_MAX_AGE_MS);
	memset(&m, 0, sizeof m);
	promtext_init(&m.t, last_len + last_len / 8 + 4096);
	promtext_init(&m.labels, 4096);
	metrics_collect(&m);
	metrics_instances(&m);
	metrics_apps(&m);
	metrics_daemon(&m);
	rep->status = 200;
	rep->type = "text/plain; version=0.0.4; charset=utf-8";
	rep->body = promtext_take(&m.t, &rep->len);
	last_len = rep->len;
	promtext_free(&m.labels);
	free(m.insts);
	free(m.il);
	free(m.apps);
	free(m.al);
	metrics_last_cpu_ns = metrics_thread_ns() - t0;
}

