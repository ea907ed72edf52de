/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of the pure parts of `corral monit`: number formatting and
 * UTF-8 cutting, sparkline scaling and rendering, the table's column layout
 * and rows, the split of the screen into panes, the key state machine and
 * the data model fed with the daemon's events.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <curses.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "monit.h"

static void
test_fmt_duration(void **state)
{
	char b[16];

	(void)state;
	mon_fmt_duration(0, b, sizeof b);
	assert_string_equal(b, "0s");
	mon_fmt_duration(59999, b, sizeof b);
	assert_string_equal(b, "59s");
	mon_fmt_duration(60000, b, sizeof b);
	assert_string_equal(b, "1m");
	mon_fmt_duration(3 * 3600 * 1000 + 5, b, sizeof b);
	assert_string_equal(b, "3h");
	mon_fmt_duration(400ULL * 86400 * 1000, b, sizeof b);
	assert_string_equal(b, "400d");
}

static void
test_fmt_bytes(void **state)
{
	char b[16];

	(void)state;
	mon_fmt_bytes(0, b, sizeof b);
	assert_string_equal(b, "0B");
	mon_fmt_bytes(999, b, sizeof b);
	assert_string_equal(b, "999B");
	mon_fmt_bytes(1536, b, sizeof b);
	assert_string_equal(b, "1.5K");
	mon_fmt_bytes(45 * 1024 * 1024 + 200 * 1024, b, sizeof b);
	assert_string_equal(b, "45M");
	mon_fmt_bytes(512ULL << 20, b, sizeof b);
	assert_string_equal(b, "512M");
	mon_fmt_bytes(3ULL << 30, b, sizeof b);
	assert_string_equal(b, "3.0G");
	mon_fmt_memory(30 << 20, 512 << 20, b, sizeof b);
	assert_string_equal(b, "30M/512M");
	mon_fmt_memory(30 << 20, 0, b, sizeof b);
	assert_string_equal(b, "30M");
}

static void
test_fmt_cpu(void **state)
{
	char b[16];

	(void)state;
	mon_fmt_cpu(0, b, sizeof b);
	assert_string_equal(b, "0%");
	mon_fmt_cpu(-3, b, sizeof b);
	assert_string_equal(b, "0%");
	mon_fmt_cpu(3.45, b, sizeof b);
	assert_string_equal(b, "3.5%");
	mon_fmt_cpu(12.4, b, sizeof b);
	assert_string_equal(b, "12%");
	mon_fmt_cpu(150, b, sizeof b);
	assert_string_equal(b, "150%");
}

static void
test_fmt_fit(void **state)
{
	char b[32];

	(void)state;
	assert_int_equal(mon_fmt_fit("api", 8, b, sizeof b), 3);
	assert_string_equal(b, "api");
	assert_int_equal(mon_fmt_fit("worker-long", 6, b, sizeof b), 6);
	assert_string_equal(b, "worke~");
	/* "héllo wörld": cut at 5 characters, never inside a sequence */
	assert_int_equal(mon_fmt_fit("h\xc3\xa9llo w\xc3\xb6rld", 5, b,
	    sizeof b), 5);
	assert_string_equal(b, "h\xc3\xa9ll~");
	assert_int_equal(mon_fmt_width("h\xc3\xa9llo"), 5);
	mon_fmt_fit("a\tb\x1b", 10, b, sizeof b);
	assert_string_equal(b, "a?b?");
	/* wide characters take two columns and are never half shown */
	assert_int_equal(mon_fmt_width("\xe6\x97\xa5\xe6\x9c\xac"), 4);
	assert_int_equal(mon_fmt_fit("a\xe6\x97\xa5\xe6\x9c\xac", 4, b,
	    sizeof b), 4);
	assert_string_equal(b, "a\xe6\x97\xa5~");
	assert_int_equal(mon_fmt_fit("\xe6\x97\xa5\xe6\x9c\xac", 3, b,
	    sizeof b), 3);
	assert_string_equal(b, "\xe6\x97\xa5~");
	/* a buffer too small truncates but stays terminated */
	mon_fmt_fit("abcdef", 10, b, 4);
	assert_string_equal(b, "abc");
}

static void
test_fmt_exit(void **state)
{
	struct mon_inst in;
	char b[64];

	(void)state;
	memset(&in, 0, sizeof in);
	in.exit_code = -1;
	in.pid = 10;
	mon_fmt_exit(&in, b, sizeof b);
	assert_string_equal(b, "");
	in.exit_signal = 9;
	in.restarts = 1;
	mon_fmt_exit(&in, b, sizeof b);
	assert_string_equal(b, "last exit: killed by SIGKILL");
	in.exit_signal = 0;
	in.exit_code = 3;
	mon_fmt_exit(&in, b, sizeof b);
	assert_string_equal(b, "last exit: code 3");
	in.reason = (char *)"exited with code 3";
	mon_fmt_exit(&in, b, sizeof b);
	assert_string_equal(b, "exited with code 3");
}

static void
test_spark_scale(void **state)
{
	double v[] = { 0, 1, 2, 50 };

	(void)state;
	assert_true(mon_spark_top(v, 4, 5, 0) == 50);
	assert_true(mon_spark_top(v, 3, 5, 0) == 5);       /* floor */
	assert_true(mon_spark_top(v, 4, 5, 100) == 100);   /* limit */
	assert_true(mon_spark_top(NULL, 0, 0, 0) == 1);
	assert_int_equal(mon_spark_level(0, 10), 0);
	assert_int_equal(mon_spark_level(0.001, 10), 1);
	assert_int_equal(mon_spark_level(5, 10), 4);
	assert_int_equal(mon_spark_level(10, 10), MON_SPARK_LEVELS);
	assert_int_equal(mon_spark_level(30, 10), MON_SPARK_LEVELS);
	assert_int_equal(mon_spark_level(-1, 10), 0);
	assert_int_equal(mon_spark_level(5, 0), 0);
}

static void
test_spark_render(void **state)
{
	double v[] = { 0, 10, 20, 40, 80 };
	char b[64];

	(void)state;
	assert_int_equal(mon_spark_render(v, 5, 80, 0, b, sizeof b, 5), 5);
	assert_string_equal(b, "_.,:#");
	/* fewer samples than columns: padded on the left */
	assert_int_equal(mon_spark_render(v, 2, 80, 0, b, sizeof b, 4), 4);
	assert_string_equal(b, "  _.");
	/* more samples than columns: the newest are kept */
	mon_spark_render(v, 5, 80, 0, b, sizeof b, 2);
	assert_string_equal(b, ":#");
	mon_spark_render(v, 5, 80, 1, b, sizeof b, 5);
	assert_string_equal(b, "\xe2\x96\x81\xe2\x96\x81\xe2\x96\x82"
	    "\xe2\x96\x84\xe2\x96\x88");
	/* a short buffer: whole characters only */
	assert_int_equal(mon_spark_render(v, 5, 80, 1, b, 8, 5), 2);
	assert_int_equal(strlen(b), 6);
}

static void
test_spark_bucket(void **state)
{
	double v[] = { 1, 5, 2, 2, 9, 0, 3 }, out[8];

	(void)state;
	/* k = 1: the last cols samples as they are */
	assert_int_equal(mon_spark_bucket(v, 7, 7, 1, out, 3), 3);
	assert_true(out[0] == 9 && out[1] == 0 && out[2] == 3);
	/* k = 2, 7 samples numbered 0..6: buckets {0,1} {2,3} {4,5} {6} */
	assert_int_equal(mon_spark_bucket(v, 7, 7, 2, out, 8), 4);
	assert_true(out[0] == 5 && out[1] == 2 && out[2] == 9 && out[3] == 3);
	/* the same samples after 100 earlier ones (numbered 100..106):
	 * buckets {100,101} {102,103} {104,105} {106}, the same alignment */
	assert_int_equal(mon_spark_bucket(v, 7, 107, 2, out, 8), 4);
	assert_true(out[0] == 5 && out[3] == 3);
	/* numbered 101..107: {101} {102,103} {104,105} {106,107} */
	assert_int_equal(mon_spark_bucket(v, 7, 108, 2, out, 8), 4);
	assert_true(out[0] == 1 && out[1] == 5 && out[2] == 9 && out[3] == 3);
	/* fewer columns than buckets: the newest */
	assert_int_equal(mon_spark_bucket(v, 7, 7, 2, out, 2), 2);
	assert_true(out[0] == 9 && out[1] == 3);
	assert_int_equal(mon_spark_bucket(v, 0, 0, 2, out, 2), 0);
	assert_int_equal(mon_spark_bucket(v, 7, 3, 2, out, 2), 0);
}

static void
test_table_layout(void **state)
{
	struct mon_layout l;
	int i;

	(void)state;
	mon_table_layout(80, &l);
	for (i = 0; i < MON_NCOLS; i++)
		assert_true(l.width[i] > 0);
	assert_int_equal(l.width[MON_COL_STATE], 8);
	assert_true(l.total <= 80);
	assert_true(l.width[MON_COL_NAME] >= 20);
	assert_int_equal(l.x[MON_COL_ID], MON_TABLE_MARK);
	assert_int_equal(l.x[MON_COL_NAME], MON_TABLE_MARK + l.width[0] + 1);
	/* wide: full state names, name column capped */
	mon_table_layout(200, &l);
	assert_int_equal(l.width[MON_COL_STATE], 15);
	assert_int_equal(l.width[MON_COL_NAME], 40);
	/* narrow: pid and restarts dropped first, name keeps its minimum */
	mon_table_layout(50, &l);
	assert_int_equal(l.width[MON_COL_PID], 0);
	assert_true(l.width[MON_COL_NAME] >= 10);
	assert_true(l.total <= 50);
	assert_true(l.width[MON_COL_STATE] > 0 && l.width[MON_COL_MEM] > 0);
	mon_table_layout(40, &l);
	assert_true(l.total <= 40);
	assert_true(l.width[MON_COL_CPU] > 0);
}

static struct mon_inst *
mk_inst(int id, const char *name, const char *st)
{
	struct mon_inst *in = calloc(1, sizeof *in);

	in->id = id;
	in->name = xstrdup(name);
	snprintf(in->state, sizeof in->state, "%s", st);
	in->pid = 4242;
	in->restarts = 3;
	in->uptime_ms = 125000;
	in->cpu = 12.5;
	in->memory = 30 << 20;
	in->max_memory = 512 << 20;
	in->siblings = 1;
	return in;
}

static void
test_table_row(void **state)
{
	struct mon_layout l;
	struct mon_inst *in = mk_inst(7, "api", "online");
	char b[256], h[256];

	(void)state;
	mon_table_layout(80, &l);
	mon_table_heading(&l, h, sizeof h);
	mon_table_row(&l, in, 1, b, sizeof b);
	assert_true(mon_fmt_width(b) <= 80);
	assert_int_equal(b[0], '>');
	assert_non_null(strstr(b, "4242"));
	assert_non_null(strstr(b, "30M/512M"));
	assert_non_null(strstr(b, "2m"));
	assert_non_null(strstr(h, "state"));
	/* columns line up with the heading: state starts where its title does */
	assert_memory_equal(b + l.x[MON_COL_STATE], "online", 6);
	assert_memory_equal(h + l.x[MON_COL_STATE], "state", 5);
	/* right-aligned numbers end at the same column as their title */
	assert_int_equal(b[l.x[MON_COL_PID] + l.width[MON_COL_PID] - 1], '2');
	assert_int_equal(h[l.x[MON_COL_PID] + l.width[MON_COL_PID] - 1], 'd');

	snprintf(in->state, sizeof in->state, "waiting-restart");
	in->siblings = 2;
	in->index = 1;
	mon_table_row(&l, in, 0, b, sizeof b);
	assert_int_equal(b[0], ' ');
	assert_non_null(strstr(b, "api:1"));
	assert_non_null(strstr(b, "waiting "));
	assert_null(strstr(b, "waiting-restart"));
	assert_non_null(strstr(b, " - "));      /* no uptime when not running */
	mon_table_layout(200, &l);
	mon_table_row(&l, in, 0, b, sizeof b);
	assert_non_null(strstr(b, "waiting-restart"));
	free(in->name);
	free(in);
}

static void
test_table_scroll(void **state)
{
	(void)state;
	assert_int_equal(mon_table_scroll(0, 0, 5, 100), 0);
	assert_int_equal(mon_table_scroll(4, 0, 5, 100), 0);
	assert_int_equal(mon_table_scroll(5, 0, 5, 100), 1);
	assert_int_equal(mon_table_scroll(3, 10, 5, 100), 3);
	assert_int_equal(mon_table_scroll(99, 0, 5, 100), 95);
	assert_int_equal(mon_table_scroll(2, 50, 5, 3), 0);   /* shrunk */
}

static void
test_table_panes(void **state)
{
	struct mon_panes p;

	(void)state;
	assert_int_equal(mon_table_panes(MON_MIN_ROWS - 1, 3, 0, &p), -1);
	assert_int_equal(mon_table_panes(24, 3, 0, &p), 0);
	assert_int_equal(p.table_y, 2);
	assert_int_equal(p.table_h, 3);
	assert_int_equal(p.detail_y, 5);
	assert_int_equal(p.log_y, 8);
	assert_int_equal(p.log_y + p.log_h + 1, p.status_y);
	assert_int_equal(p.status_y, 23);
	/* many instances: the log pane keeps a third */
	mon_table_panes(24, 100, 0, &p);
	assert_int_equal(p.log_y + p.log_h + 1, p.status_y);
	assert_true(p.log_h >= 5);
	assert_true(p.table_h >= 10);
	/* log focused: it gets most of the screen */
	mon_table_panes(24, 100, 1, &p);
	assert_true(p.log_h > p.table_h);
	mon_table_panes(60, 0, 0, &p);
	assert_int_equal(p.table_h, 1);
	assert_int_equal(p.status_y, 59);
}

static void
test_keys(void **state)
{
	struct mon_keys k;

	(void)state;
	mon_keys_init(&k);
	k.nvis = 3;
	assert_int_equal(mon_keys_handle(&k, 'j'), MON_ACT_REDRAW);
	assert_int_equal(mon_keys_handle(&k, KEY_DOWN), MON_ACT_REDRAW);
	assert_int_equal(mon_keys_handle(&k, KEY_DOWN), MON_ACT_REDRAW);
	assert_int_equal(k.sel, 2);
	assert_int_equal(mon_keys_handle(&k, 'k'), MON_ACT_REDRAW);
	assert_int_equal(k.sel, 1);
	assert_int_equal(mon_keys_handle(&k, 'r'), MON_ACT_RESTART);
	assert_int_equal(mon_keys_handle(&k, 'R'), MON_ACT_RELOAD);
	assert_int_equal(mon_keys_handle(&k, 's'), MON_ACT_STOP);
	assert_int_equal(mon_keys_handle(&k, 'S'), MON_ACT_START);
	assert_string_equal(mon_action_cmd(MON_ACT_RELOAD), "reload");
	assert_null(mon_action_cmd(MON_ACT_QUIT));
	/* delete asks first; anything but y cancels */
	assert_int_equal(mon_keys_handle(&k, 'd'), MON_ACT_ASK_DELETE);
	assert_int_equal(k.mode, MON_MODE_CONFIRM);
	assert_int_equal(mon_keys_handle(&k, 'n'), MON_ACT_REDRAW);
	assert_int_equal(k.mode, MON_MODE_TABLE);
	mon_keys_handle(&k, 'd');
	assert_int_equal(mon_keys_handle(&k, 'y'), MON_ACT_DELETE);
	/* help: any key closes it, q included, without quitting */
	assert_int_equal(mon_keys_handle(&k, '?'), MON_ACT_REDRAW);
	assert_int_equal(k.mode, MON_MODE_HELP);
	assert_int_equal(mon_keys_handle(&k, 'q'), MON_ACT_REDRAW);
	assert_int_equal(k.mode, MON_MODE_TABLE);
	assert_int_equal(mon_keys_handle(&k, KEY_RESIZE), MON_ACT_RESIZE);
	/* log focus: arrows scroll instead of moving */
	assert_int_equal(mon_keys_handle(&k, '\t'), MON_ACT_REDRAW);
	assert_int_equal(k.mode, MON_MODE_LOG);
	mon_keys_handle(&k, KEY_UP);
	mon_keys_handle(&k, KEY_UP);
	assert_int_equal(k.log_scroll, 2);
	assert_int_equal(k.sel, 1);
	mon_keys_handle(&k, 'G');
	assert_int_equal(k.log_scroll, 0);
	mon_keys_handle(&k, KEY_DOWN);
	assert_int_equal(k.log_scroll, 0);
	assert_int_equal(mon_keys_handle(&k, 27), MON_ACT_REDRAW);
	assert_int_equal(k.mode, MON_MODE_TABLE);
	assert_int_equal(mon_keys_handle(&k, 'q'), MON_ACT_QUIT);
	/* no instances: actions do nothing */
	k.nvis = 0;
	assert_int_equal(mon_keys_handle(&k, 'r'), MON_ACT_NONE);
	assert_int_equal(mon_keys_handle(&k, 'd'), MON_ACT_NONE);
	assert_int_equal(mon_keys_handle(&k, 'x'), MON_ACT_NONE);
}

static void
test_keys_filter(void **state)
{
	struct mon_keys k;
	int i;

	(void)state;
	mon_keys_init(&k);
	k.nvis = 5;
	k.sel = 3;
	mon_keys_handle(&k, '/');
	assert_int_equal(k.mode, MON_MODE_FILTER);
	mon_keys_handle(&k, 'a');
	mon_keys_handle(&k, 'p');
	mon_keys_handle(&k, 'x');
	/* typed letters are text, not commands */
	assert_int_equal(mon_keys_handle(&k, 'q'), MON_ACT_REDRAW);
	mon_keys_handle(&k, KEY_BACKSPACE);
	mon_keys_handle(&k, 127);
	assert_string_equal(k.filter, "ap");
	assert_int_equal(k.sel, 0);
	mon_keys_handle(&k, '\r');
	assert_int_equal(k.mode, MON_MODE_TABLE);
	assert_string_equal(k.filter, "ap");
	mon_keys_handle(&k, '/');
	mon_keys_handle(&k, 27);
	assert_string_equal(k.filter, "");
	/* the filter never overflows */
	mon_keys_handle(&k, '/');
	for (i = 0; i < 200; i++)
		mon_keys_handle(&k, 'z');
	assert_int_equal(strlen(k.filter), MON_FILTER_MAX - 1);
}

static const char *stats1 =
    "{\"v\":1,\"event\":\"stats\",\"interval_ms\":500,"
    "\"host\":{\"hostname\":\"box\",\"load\":[1.5,1,0.5],"
    "\"mem_total\":8000,\"mem_available\":6000,\"ncpu\":2},"
    "\"daemon\":{\"pid\":99,\"uptime_ms\":61000},\"instances\":["
    "{\"id\":4,\"name\":\"api\",\"instance\":1,\"pid\":11,\"state\":\"online\","
    "\"restarts\":0,\"uptime_ms\":1000,\"cpu\":10,\"memory\":100},"
    "{\"id\":2,\"name\":\"api\",\"instance\":0,\"pid\":10,\"state\":\"online\","
    "\"restarts\":1,\"uptime_ms\":2000,\"cpu\":20.5,\"memory\":200,"
    "\"max_memory\":1000,\"reason\":\"exited with code 1\"},"
    "{\"id\":9,\"name\":\"worker\",\"instance\":0,\"pid\":0,"
    "\"state\":\"errored\",\"restarts\":15,\"cpu\":0,\"memory\":0}]}";

static void
apply(struct mon_model *m, const char *s)
{
	char *cause = NULL;
	int rc = mon_model_apply_line(m, s, strlen(s), &cause);

	if (rc == -1)
		fail_msg("apply: %s", cause);
}

static void
test_model_stats(void **state)
{
	struct mon_model *m = mon_model_create();
	struct mon_inst *in, *vis[8];
	double h[8];

	(void)state;
	apply(m, stats1);
	assert_int_equal(m->ninst, 3);
	assert_int_equal(m->inst[0]->id, 2);   /* sorted by id */
	assert_int_equal(m->inst[2]->id, 9);
	assert_string_equal(m->hostname, "box");
	assert_true(m->load[0] == 1.5);
	assert_int_equal(m->mem_total, 8000);
	assert_int_equal(m->daemon_uptime_ms, 61000);
	assert_int_equal(m->interval_ms, 500);
	in = mon_model_find(m, 2);
	assert_non_null(in);
	assert_int_equal(in->max_memory, 1000);
	assert_string_equal(in->reason, "exited with code 1");
	assert_int_equal(in->siblings, 2);
	assert_int_equal(mon_model_find(m, 9)->siblings, 1);
	assert_string_equal(mon_model_find(m, 9)->state, "errored");
	assert_ptr_equal(mon_model_find_name(m, "api", 1), mon_model_find(m, 4));
	assert_null(mon_model_find(m, 5));

	/* a second update adds a sample, keeps the history */
	apply(m, stats1);
	assert_int_equal(mon_inst_history(in, 0, h, 8), 2);
	assert_true(h[0] == 20.5 && h[1] == 20.5);
	assert_int_equal(mon_inst_history(in, 1, h, 1), 1);
	assert_true(h[0] == 200);

	/* filter */
	assert_int_equal(mon_model_count(m, "api"), 2);
	assert_int_equal(mon_model_count(m, ""), 3);
	assert_int_equal(mon_model_visible(m, "work", vis, 8), 1);
	assert_int_equal(vis[0]->id, 9);

	/* an instance no longer listed is forgotten */
	apply(m, "{\"v\":1,\"event\":\"stats\",\"instances\":[{\"id\":9,\"name\":"
	    "\"worker\",\"state\":\"online\",\"pid\":5,\"cpu\":1,"
	    "\"memory\":9}]}");
	assert_int_equal(m->ninst, 1);
	assert_null(mon_model_find(m, 2));
	assert_int_equal(mon_model_find(m, 9)->hist_len, 3);
	assert_int_equal(mon_model_find(m, 9)->samples, 3);
	assert_int_equal(m->updates, 3);
	mon_model_free(m);
}

static void
test_model_merge(void **state)
{
	struct mon_model *m = mon_model_create();
	json_t *list;

	(void)state;
	apply(m, stats1);
	list = json_loads("[{\"id\":4,\"name\":\"api\",\"instance\":1,"
	    "\"pid\":77,\"state\":\"online\",\"restarts\":1},"
	    "{\"id\":50,\"name\":\"new\",\"state\":\"online\"}]", 0, NULL);
	assert_int_equal(mon_model_merge(m, list), 1);
	assert_int_equal(mon_model_find(m, 4)->pid, 77);
	assert_int_equal(mon_model_find(m, 4)->restarts, 1);
	/* no sample taken, nobody forgotten, nobody added */
	assert_int_equal(mon_model_find(m, 4)->hist_len, 1);
	assert_int_equal(m->ninst, 3);
	assert_null(mon_model_find(m, 50));
	json_decref(list);
	mon_model_free(m);
}

static void
test_model_history_wraps(void **state)
{
	struct mon_model *m = mon_model_create();
	struct mon_inst *in;
	double h[MON_HISTORY];
	char ev[256];
	int i;

	(void)state;
	for (i = 0; i < MON_HISTORY + 10; i++) {
		snprintf(ev, sizeof ev, "{\"v\":1,\"event\":\"stats\",\"instances\":"
		    "[{\"id\":1,\"name\":\"a\",\"state\":\"online\","
		    "\"cpu\":%d,\"memory\":%d}]}", i, i * 10);
		apply(m, ev);
	}
	in = mon_model_find(m, 1);
	assert_int_equal(in->hist_len, MON_HISTORY);
	assert_int_equal(mon_inst_history(in, 0, h, MON_HISTORY), MON_HISTORY);
	assert_true(h[0] == 10);
	assert_true(h[MON_HISTORY - 1] == MON_HISTORY + 9);
	assert_int_equal(mon_inst_history(in, 1, h, 3), 3);
	assert_true(h[2] == (MON_HISTORY + 9) * 10);
	assert_true(h[0] == (MON_HISTORY + 7) * 10);
	mon_model_free(m);
}

static void
test_model_logs(void **state)
{
	struct mon_model *m = mon_model_create();
	struct mon_inst *in;
	char ev[256];
	int i;

	(void)state;
	apply(m, stats1);
	apply(m, "{\"v\":1,\"event\":\"log\",\"app\":\"api\",\"instance\":1,"
	    "\"stream\":\"out\",\"line\":\"hello\"}");
	apply(m, "{\"v\":1,\"event\":\"log\",\"app\":\"api\",\"instance\":1,"
	    "\"stream\":\"err\",\"line\":\"oops\\n\"}");
	apply(m, "{\"v\":1,\"event\":\"log\",\"app\":\"nope\",\"instance\":0,"
	    "\"stream\":\"out\",\"line\":\"early\"}");
	apply(m, "{\"v\":1,\"event\":\"log\",\"stream\":\"out\",\"line\":\"lost\"}");
	in = mon_model_find(m, 4);
	assert_int_equal(in->log_len, 2);
	assert_string_equal(mon_inst_log(in, 0)->text, "oops");
	assert_int_equal(mon_inst_log(in, 0)->err, 1);
	assert_string_equal(mon_inst_log(in, 1)->text, "hello");
	assert_int_equal(mon_inst_log(in, 1)->err, 0);
	assert_null(mon_inst_log(in, 2));
	assert_int_equal(m->dropped_logs, 1);
	assert_int_equal(m->npending, 1);
	for (i = 0; i < MON_LOG_LINES + 5; i++) {
		snprintf(ev, sizeof ev, "{\"v\":1,\"event\":\"log\",\"app\":\"api\","
		    "\"instance\":0,\"stream\":\"out\",\"line\":\"l%d\"}", i);
		apply(m, ev);
	}
	in = mon_model_find(m, 2);
	assert_int_equal(in->log_len, MON_LOG_LINES);
	assert_string_equal(mon_inst_log(in, 0)->text, "l204");
	assert_string_equal(mon_inst_log(in, MON_LOG_LINES - 1)->text, "l5");
	/* bytes that are not UTF-8 are shown as they travel: escaped */
	apply(m, "{\"v\":1,\"event\":\"log\",\"app\":\"api\",\"instance\":1,"
	    "\"stream\":\"out\",\"line\":\"caf\\uFFFDE9\"}");
	in = mon_model_find(m, 4);
	assert_string_equal(mon_inst_log(in, 0)->text, "caf\xef\xbf\xbd" "E9");
	mon_model_free(m);
}

/* Lines that come before the first stats event listing their instance. */
static void
test_model_logs_pending(void **state)
{
	struct mon_model *m = mon_model_create();
	struct mon_inst *in;
	char ev[256];
	int i;

	(void)state;
	apply(m, "{\"v\":1,\"event\":\"log\",\"app\":\"new\",\"instance\":0,"
	    "\"stream\":\"out\",\"line\":\"first\"}");
	apply(m, "{\"v\":1,\"event\":\"log\",\"app\":\"new\",\"instance\":0,"
	    "\"stream\":\"err\",\"line\":\"second\"}");
	apply(m, "{\"v\":1,\"event\":\"log\",\"app\":\"gone\",\"instance\":0,"
	    "\"stream\":\"out\",\"line\":\"never listed\"}");
	assert_int_equal(m->ninst, 0);
	assert_int_equal(m->npending, 2);
	apply(m, "{\"v\":1,\"event\":\"stats\",\"instances\":[{\"id\":5,\"name\":"
	    "\"new\",\"instance\":0,\"state\":\"online\"}]}");
	in = mon_model_find(m, 5);
	assert_int_equal(in->log_len, 2);
	assert_string_equal(mon_inst_log(in, 0)->text, "second");
	assert_int_equal(mon_inst_log(in, 0)->err, 1);
	assert_string_equal(mon_inst_log(in, 1)->text, "first");
	assert_int_equal(m->npending, 1);
	/* the other waits a few events, then is dropped */
	for (i = 0; i < MON_PENDING_AGE; i++)
		apply(m, "{\"v\":1,\"event\":\"stats\",\"instances\":[]}");
	assert_int_equal(m->npending, 0);
	assert_int_equal(m->dropped_logs, 1);
	/* a flood of unknown instances is bounded */
	for (i = 0; i < 3 * MON_PENDING_MAX; i++) {
		snprintf(ev, sizeof ev, "{\"v\":1,\"event\":\"log\",\"app\":\"a%d\","
		    "\"instance\":0,\"stream\":\"out\",\"line\":\"x\"}", i);
		apply(m, ev);
	}
	assert_int_equal(m->npending, MON_PENDING_MAX);
	mon_model_free(m);
}

static void
test_model_bad_input(void **state)
{
	struct mon_model *m = mon_model_create();
	char *cause = NULL;
	const char *bad[] = {
		"not json", "[1,2]", "{\"no\":\"event\"}",
		"{\"v\":1,\"event\":\"stats\"}",
		"{\"v\":1,\"event\":\"log\",\"app\":\"x\"}",
		/* the protocol version is checked (proto_decode) */
		"{\"event\":\"missed\",\"count\":7}",
		"{\"v\":2,\"event\":\"missed\",\"count\":7}",
	};
	size_t i;

	(void)state;
	for (i = 0; i < nitems(bad); i++) {
		assert_int_equal(mon_model_apply_line(m, bad[i],
		    strlen(bad[i]), &cause), -1);
		assert_non_null(cause);
		free(cause);
		cause = NULL;
	}
	/* unknown events are ignored, odd fields do not crash */
	assert_int_equal(mon_model_apply_line(m,
	    "{\"v\":1,\"event\":\"future\"}", 24, &cause), 0);
	apply(m, "{\"v\":1,\"event\":\"stats\",\"instances\":[1,{\"id\":\"x\"},"
	    "{\"id\":3,\"name\":5,\"state\":null,\"cpu\":\"hi\","
	    "\"memory\":-5}]}");
	assert_int_equal(m->ninst, 1);
	assert_string_equal(m->inst[0]->state, "?");
	assert_int_equal(m->inst[0]->memory, 0);
	apply(m, "{\"v\":1,\"event\":\"missed\",\"count\":7}");
	assert_int_equal(m->missed, 7);
	mon_model_free(m);
}

static void
test_keys_select(void **state)
{
	struct mon_keys k;
	struct mon_inst *a = mk_inst(1, "a", "online");
	struct mon_inst *b = mk_inst(2, "b", "online");
	struct mon_inst *c = mk_inst(3, "c", "online");
	struct mon_inst *vis[3] = { a, b, c };

	(void)state;
	mon_keys_init(&k);
	k.nvis = 3;
	mon_keys_handle(&k, 'j');
	mon_keys_select(&k, vis);
	assert_int_equal(k.sel_id, 2);
	/* "a" goes away: the selection stays on "b" */
	vis[0] = b;
	vis[1] = c;
	k.nvis = 2;
	mon_keys_select(&k, vis);
	assert_int_equal(k.sel, 0);
	assert_int_equal(k.sel_id, 2);
	/* "b" goes away too: the row is kept, clamped */
	vis[0] = c;
	k.nvis = 1;
	mon_keys_select(&k, vis);
	assert_int_equal(k.sel, 0);
	assert_int_equal(k.sel_id, 3);
	k.nvis = 0;
	mon_keys_select(&k, vis);
	assert_int_equal(k.sel_id, -1);
	free(a->name);
	free(b->name);
	free(c->name);
	free(a);
	free(b);
	free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fmt_duration),
		cmocka_unit_test(test_fmt_bytes),
		cmocka_unit_test(test_fmt_cpu),
		cmocka_unit_test(test_fmt_fit),
		cmocka_unit_test(test_fmt_exit),
		cmocka_unit_test(test_spark_scale),
		cmocka_unit_test(test_spark_render),
		cmocka_unit_test(test_spark_bucket),
		cmocka_unit_test(test_table_layout),
		cmocka_unit_test(test_table_row),
		cmocka_unit_test(test_table_scroll),
		cmocka_unit_test(test_table_panes),
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_keys_filter),
		cmocka_unit_test(test_keys_select),
		cmocka_unit_test(test_model_stats),
		cmocka_unit_test(test_model_merge),
		cmocka_unit_test(test_model_history_wraps),
		cmocka_unit_test(test_model_logs),
		cmocka_unit_test(test_model_logs_pending),
		cmocka_unit_test(test_model_bad_input),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
