/* SPDX-License-Identifier: ISC */
/*
 * The log lines of the monitor's model: a ring of the last MON_LOG_LINES
 * lines per instance, fed by "log" events. A line for an instance no stats
 * event has listed yet (an app started a moment ago) waits in a small
 * pending list and is given to the instance when it appears, so the first
 * lines of a new app are not lost.
 */

#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "monit.h"

/* Appends a line, cut at its first newline and at MON_LOG_MAX bytes. */
static void
mon_inst_log_add(struct mon_inst *in, const char *line, int err)
{
	size_t at, n;

	if (in->log_len < MON_LOG_LINES) {
		at = (in->log_head + in->log_len) % MON_LOG_LINES;
		in->log_len++;
	} else {
		at = in->log_head;
		in->log_head = (in->log_head + 1) % MON_LOG_LINES;
	}
	free(in->logs[at].text);
	n = strcspn(line, "\r\n");
	if (n > MON_LOG_MAX)
		n = MON_LOG_MAX;
	in->logs[at].text = xstrndup(line, n);
	in->logs[at].err = err;
	in->log_total++;
}

/*
 * The holder of lines for (app, index) not listed yet, created if need be;
 * when MON_PENDING_MAX already wait, the oldest is dropped.
 */
static struct mon_inst *
mon_model_pending(struct mon_model *m, const char *app, int index)
{
	struct mon_inst *p;
	size_t i;

	for (i = 0; i < m->npending; i++) {
		if (m->pending[i]->index == index &&
		    strcmp(m->pending[i]->name, app) == 0)
			return m->pending[i];
	}
	if (m->npending == MON_PENDING_MAX) {
		m->dropped_logs += m->pending[0]->log_len;
		mon_inst_free(m->pending[0]);
		memmove(&m->pending[0], &m->pending[1],
		    (MON_PENDING_MAX - 1) * sizeof m->pending[0]);
		m->npending--;
	}
	p = xcalloc(1, sizeof *p);
	p->id = -1;
	p->name = xstrdup(app);
	p->index = index;
	p->gen = m->gen;
	m->pending[m->npending++] = p;
	return p;
}

/* Applies a log event: 0, or -1 with *cause (caller frees). */
int
mon_model_log(struct mon_model *m, json_t *ev, char **cause)
{
	const char *app, *line, *stream;
	struct mon_inst *in = NULL;
	json_t *id;

	app = json_string_value(json_object_get(ev, "app"));
	line = json_string_value(json_object_get(ev, "line"));
	stream = json_string_value(json_object_get(ev, "stream"));
	if (line == NULL) {
		*cause = xstrdup("log event without line");
		return -1;
	}
	id = json_object_get(ev, "id");
	if (json_is_integer(id))
		in = mon_model_find(m, (int)json_integer_value(id));
	if (in == NULL && app != NULL)
		in = mon_model_find_name(m, app,
		    (int)json_integer_value(json_object_get(ev, "instance")));
	if (in == NULL) {
		if (app == NULL)
			m->dropped_logs++;
		else
			mon_inst_log_add(mon_model_pending(m, app,
			    (int)json_integer_value(json_object_get(ev,
			    "instance"))), line, stream != NULL &&
			    strcmp(stream, "err") == 0);
		m->last_log_id = -1;
		return 0;
	}
	mon_inst_log_add(in, line, stream != NULL && strcmp(stream, "err") == 0);
	m->last_log_id = in->id;
	return 0;
}

/*
 * Gives the lines kept for not yet listed instances to those now listed,
 * and forgets those that waited MON_PENDING_AGE events in vain.
 */
void
mon_model_adopt(struct mon_model *m)
{
	struct mon_inst *p, *in;
	const struct mon_log *lg;
	size_t i, j, k;

	for (i = j = 0; i < m->npending; i++) {
		p = m->pending[i];
		in = mon_model_find_name(m, p->name, p->index);
		if (in != NULL) {
			for (k = p->log_len; k-- > 0;) {
				lg = mon_inst_log(p, k);
				mon_inst_log_add(in, lg->text, lg->err);
			}
		} else if (m->gen - p->gen < MON_PENDING_AGE) {
			m->pending[j++] = p;
			continue;
		} else
			m->dropped_logs += p->log_len;
		mon_inst_free(p);
	}
	m->npending = j;
}

/* The i-th newest log line (0 is the newest), NULL past the oldest. */
const struct mon_log *
mon_inst_log(const struct mon_inst *in, size_t i)
{
	if (i >= in->log_len)
		return NULL;
	return &in->logs[(in->log_head + in->log_len - 1 - i) % MON_LOG_LINES];
}
