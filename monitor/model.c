/* SPDX-License-Identifier: ISC */
/*
 * The monitor's data model: what the daemon's stats subscription has told
 * us. A "stats" event lists every instance (the instance objects of jlist,
 * plus max_memory when a limit is set) and the host and daemon figures; each
 * one appends a CPU and memory sample to every listed instance and forgets
 * instances it no longer lists. A "log" event appends a line to the ring of
 * the instance it names (loglines.c). Nothing here touches the terminal.
 */

#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "monit.h"

struct mon_model *
mon_model_create(void)
{
	struct mon_model *m;

	m = xcalloc(1, sizeof *m);
	m->interval_ms = 1000;
	m->last_log_id = -1;
	return m;
}

void
mon_inst_free(struct mon_inst *in)
{
	size_t i;

	for (i = 0; i < MON_LOG_LINES; i++)
		free(in->logs[i].text);
	free(in->name);
	free(in->reason);
	free(in);
}

void
mon_model_free(struct mon_model *m)
{
	size_t i;

	if (m == NULL)
		return;
	for (i = 0; i < m->ninst; i++)
		mon_inst_free(m->inst[i]);
	for (i = 0; i < m->npending; i++)
		mon_inst_free(m->pending[i]);
	free(m->inst);
	free(m->hostname);
	free(m);
}

struct mon_inst *
mon_model_find(struct mon_model *m, int id)
{
	size_t lo = 0, hi = m->ninst, mid;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		if (m->inst[mid]->id == id)
			return m->inst[mid];
		if (m->inst[mid]->id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

struct mon_inst *
mon_model_find_name(struct mon_model *m, const char *name, int index)
{
	size_t i;

	for (i = 0; i < m->ninst; i++) {
		if (m->inst[i]->index == index &&
		    strcmp(m->inst[i]->name, name) == 0)
			return m->inst[i];
	}
	return NULL;
}

/* Returns the instance with this id, inserted in id order if new. */
static struct mon_inst *
mon_model_get(struct mon_model *m, int id)
{
	struct mon_inst *in;
	size_t pos;

	if ((in = mon_model_find(m, id)) != NULL)
		return in;
	in = xcalloc(1, sizeof *in);
	in->id = id;
	in->name = xstrdup("");
	for (pos = 0; pos < m->ninst && m->inst[pos]->id < id; pos++)
		;
	m->inst = xreallocarray(m->inst, m->ninst + 1, sizeof *m->inst);
	memmove(&m->inst[pos + 1], &m->inst[pos],
	    (m->ninst - pos) * sizeof *m->inst);
	m->inst[pos] = in;
	m->ninst++;
	return in;
}

static uint64_t
mon_json_u64(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	if (json_is_integer(v) && json_integer_value(v) > 0)
		return (uint64_t)json_integer_value(v);
	if (json_is_real(v) && json_real_value(v) > 0)
		return (uint64_t)json_real_value(v);
	return 0;
}

static void
mon_inst_sample(struct mon_inst *in)
{
	size_t at;

	if (in->hist_len < MON_HISTORY) {
		at = (in->hist_head + in->hist_len) % MON_HISTORY;
		in->hist_len++;
	} else {
		at = in->hist_head;
		in->hist_head = (in->hist_head + 1) % MON_HISTORY;
	}
	in->cpu_hist[at] = in->cpu;
	in->mem_hist[at] = (double)in->memory;
	in->samples++;
}

static void
mon_inst_update(struct mon_inst *in, json_t *o)
{
	const char *s;
	json_t *v;

	if ((s = json_string_value(json_object_get(o, "name"))) != NULL &&
	    strcmp(s, in->name) != 0) {
		free(in->name);
		in->name = xstrdup(s);
	}
	in->index = (int)json_integer_value(json_object_get(o, "instance"));
	in->pid = (long)json_integer_value(json_object_get(o, "pid"));
	s = json_string_value(json_object_get(o, "state"));
	snprintf(in->state, sizeof in->state, "%s", s != NULL ? s : "?");
	in->restarts = (long)json_integer_value(json_object_get(o, "restarts"));
	in->uptime_ms = mon_json_u64(o, "uptime_ms");
	v = json_object_get(o, "cpu");
	in->cpu = json_is_number(v) ? json_number_value(v) : 0;
	if (in->cpu < 0)
		in->cpu = 0;
	in->memory = mon_json_u64(o, "memory");
	in->max_memory = mon_json_u64(o, "max_memory");
	v = json_object_get(o, "exit_code");
	in->exit_code = json_is_integer(v) ? (int)json_integer_value(v) : -1;
	in->exit_signal = (int)json_integer_value(json_object_get(o,
	    "exit_signal"));
	s = json_string_value(json_object_get(o, "reason"));
	if (s == NULL || in->reason == NULL || strcmp(s, in->reason) != 0) {
		free(in->reason);
		in->reason = (s != NULL && *s != '\0') ? xstrdup(s) : NULL;
	}
}

static int
mon_model_cmp_name(const void *a, const void *b)
{
	return strcmp((*(struct mon_inst *const *)a)->name,
	    (*(struct mon_inst *const *)b)->name);
}

/* Counts the instances of each app, sorting by name: n log n, not n^2. */
static void
mon_model_siblings(struct mon_model *m)
{
	struct mon_inst **v;
	size_t i, j, k;

	if (m->ninst == 0)
		return;
	v = xreallocarray(NULL, m->ninst, sizeof *v);
	memcpy(v, m->inst, m->ninst * sizeof *v);
	qsort(v, m->ninst, sizeof *v, mon_model_cmp_name);
	for (i = 0; i < m->ninst; i = j) {
		for (j = i + 1; j < m->ninst && strcmp(v[i]->name,
		    v[j]->name) == 0; j++)
			;
		for (k = i; k < j; k++)
			v[k]->siblings = (int)(j - i);
	}
	free(v);
}

/* Drops the instances that the last stats event did not list. */
static void
mon_model_sweep(struct mon_model *m)
{
	size_t i, j;

	for (i = j = 0; i < m->ninst; i++) {
		if (m->inst[i]->gen == m->gen)
			m->inst[j++] = m->inst[i];
		else
			mon_inst_free(m->inst[i]);
	}
	m->ninst = j;
	mon_model_siblings(m);
}

static void
mon_model_host(struct mon_model *m, json_t *host, json_t *daemon)
{
	json_t *load;
	const char *s;
	size_t i;

	if ((s = json_string_value(json_object_get(host, "hostname"))) != NULL) {
		free(m->hostname);
		m->hostname = xstrdup(s);
	}
	load = json_object_get(host, "load");
	for (i = 0; i < 3; i++)
		m->load[i] = json_number_value(json_array_get(load, i));
	m->mem_total = mon_json_u64(host, "mem_total");
	m->mem_avail = mon_json_u64(host, "mem_available");
	m->ncpu = (int)json_integer_value(json_object_get(host, "ncpu"));
	m->daemon_uptime_ms = mon_json_u64(daemon, "uptime_ms");
	m->daemon_pid = (long)json_integer_value(json_object_get(daemon, "pid"));
}

static int
mon_model_stats(struct mon_model *m, json_t *ev, char **cause)
{
	json_t *list, *o, *id;
	size_t i;
	uint64_t iv;

	list = json_object_get(ev, "instances");
	if (!json_is_array(list)) {
		*cause = xstrdup("stats event without instances");
		return -1;
	}
	m->gen++;
	json_array_foreach(list, i, o) {
		id = json_object_get(o, "id");
		if (!json_is_object(o) || !json_is_integer(id))
			continue;
		struct mon_inst *in = mon_model_get(m, (int)json_integer_value(id));
		in->gen = m->gen;
		mon_inst_update(in, o);
		mon_inst_sample(in);
	}
	mon_model_sweep(m);
	mon_model_adopt(m);
	mon_model_host(m, json_object_get(ev, "host"),
	    json_object_get(ev, "daemon"));
	if ((iv = mon_json_u64(ev, "interval_ms")) != 0)
		m->interval_ms = iv;
	m->updates++;
	return 0;
}

/*
 * Applies one event. Returns MON_EV_LOG for a log line (m->last_log_id
 * says whose, -1 for nobody we know), MON_EV_MISSED when the daemon says it
 * dropped events (m->missed), 1 for stats, 0 for an event
 * it ignores, -1 with *cause (caller frees) for an event it cannot read.
 */
static int
mon_model_apply(struct mon_model *m, json_t *ev, char **cause)
{
	const char *kind;

	kind = json_string_value(json_object_get(ev, "event"));
	if (kind == NULL) {
		*cause = xstrdup("not an event");
		return -1;
	}
	if (strcmp(kind, "stats") == 0)
		return mon_model_stats(m, ev, cause) == 0 ? 1 : -1;
	if (strcmp(kind, "log") == 0)
		return mon_model_log(m, ev, cause) == 0 ? MON_EV_LOG : -1;
	if (strcmp(kind, "missed") == 0) {
		m->missed += mon_json_u64(ev, "count");
		return MON_EV_MISSED;
	}
	return 0;
}

/*
 * Updates the instances we know from a list of instance objects (the reply
 * to an action), without taking samples or forgetting the others, so that a
 * restart shows before the next stats event. Returns how many it updated.
 */
size_t
mon_model_merge(struct mon_model *m, json_t *list)
{
	struct mon_inst *in;
	json_t *o, *id;
	size_t i, n = 0;

	json_array_foreach(list, i, o) {
		id = json_object_get(o, "id");
		if (!json_is_integer(id) ||
		    (in = mon_model_find(m, (int)json_integer_value(id))) == NULL)
			continue;
		mon_inst_update(in, o);
		n++;
	}
	return n;
}

/* Parses one line of the stream and applies it, as mon_model_apply. */
int
mon_model_apply_line(struct mon_model *m, const char *line, size_t len,
    char **cause)
{
	json_t *ev;
	char *why = NULL;
	int rc;

	if ((ev = proto_decode_escaped(line, len, &why)) == NULL) {
		xasprintf(cause, "bad event: %s", why);
		free(why);
		return -1;
	}
	rc = mon_model_apply(m, ev, cause);
	json_decref(ev);
	return rc;
}

static int
mon_model_match(const struct mon_inst *in, const char *filter)
{
	return filter == NULL || *filter == '\0' ||
	    strstr(in->name, filter) != NULL;
}

/* Number of instances whose name contains filter (NULL or "" for all). */
size_t
mon_model_count(struct mon_model *m, const char *filter)
{
	size_t i, n = 0;

	for (i = 0; i < m->ninst; i++)
		n += mon_model_match(m->inst[i], filter);
	return n;
}

/*
 * Fills out[] with up to max instances whose name contains filter, in id
 * order; returns how many. The pointers stay valid until the next apply.
 */
size_t
mon_model_visible(struct mon_model *m, const char *filter,
    struct mon_inst **out, size_t max)
{
	size_t i, n = 0;

	for (i = 0; i < m->ninst && n < max; i++) {
		if (mon_model_match(m->inst[i], filter))
			out[n++] = m->inst[i];
	}
	return n;
}

/*
 * Copies the last max samples (mem != 0: memory, else CPU) oldest first
 * into out; returns how many.
 */
size_t
mon_inst_history(const struct mon_inst *in, int mem, double *out, size_t max)
{
	const double *h = mem ? in->mem_hist : in->cpu_hist;
	size_t n, skip, i;

	n = in->hist_len < max ? in->hist_len : max;
	skip = in->hist_len - n;
	for (i = 0; i < n; i++)
		out[i] = h[(in->hist_head + skip + i) % MON_HISTORY];
	return n;
}
