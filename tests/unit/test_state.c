/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of state.json: the daemon's apps and instances made into
 * text and back (ids, sparse indices, counters, bytes that are not UTF-8,
 * shared environments, next_id), every kind of bad file refused with a
 * cause (garbage, truncated, other version, wrong types, duplicate ids, a
 * link, a FIFO, a huge file), keeper tags and process start times; and
 * an instance's reply text (instance-text.c) as jansson writes it.
 */
#include <time.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

#include <cmocka.h>

#include "corrald.h"

/* main.c's globals and helpers, which the linked objects refer to. */
struct daemon D;
uint64_t now_ms(void) { return 1700000100000ULL; }
uint64_t mono_ms(void) { return 500000; }
void daemon_check_shutdown(void) { }
void daemon_shutdown(struct conn *c) { (void)c; }
void daemon_alloc(uv_handle_t *h, size_t n, uv_buf_t *b)
{
	(void)h;
	(void)n;
	b->base = NULL;
	b->len = 0;
}

static char dir[] = "/tmp/corral-test-state-XXXXXX";

static int
setup(void **state)
{
	(void)state;
	if (mkdtemp(dir) == NULL)
		return -1;
	D.loop = uv_default_loop();
	D.logs_dir = dir;
	D.home = dir;
	TAILQ_INIT(&D.apps);
	TAILQ_INIT(&D.children);
	return 0;
}

static int
teardown(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Declares an app of n instances that logs to no file. */
static struct app *
declare(const char *name, long long n, json_t *env)
{
	struct app_config cfg;
	struct app *app;
	json_t *o = json_pack("{s:s, s:s, s:s, s:I, s:b}", "name", name,
	    "script", "/bin/sleep", "cwd", "/", "instances", (json_int_t)n,
	    "disable_logs", 1);
	char *cause = NULL;

	assert_int_equal(persist_app_config(o, env, &cfg, &cause), 0);
	json_decref(o);
	app = app_declare(&cfg, "/etc/corral.ini", 0, &cause);
	assert_non_null(app);
	return app;
}

/* Forgets every app, as main.c's cleanup does. */
static void
forget_all(void)
{
	struct app *app, *anext;
	struct instance *inst, *inext;

	TAILQ_FOREACH_SAFE(app, &D.apps, entry, anext) {
		if (!app->deleted)
			hmap_remove(&D.app_names, hmap_hash(app->cfg.name),
			    app);
		app->deleted = 1;
		TAILQ_FOREACH_SAFE(inst, &app->instances, entry, inext)
			instance_free(inst);
		app_release(app);
	}
	uv_run(D.loop, UV_RUN_NOWAIT);
}

static char *
state_text(void)
{
	size_t len;
	char *text = state_render(&len);

	assert_non_null(text);
	assert_int_equal(strlen(text), len);
	return text;
}

/* Sets recognisable values on an instance. */
static void
mark(struct instance *inst, int k)
{
	inst->restarts = 10 + k;
	inst->unstable_restarts = 20 + k;
	inst->backoff = 300 + (uint64_t)k;
	inst->exit_code = k % 2 ? -1 : 3;
	inst->exit_signal = k % 2 ? 9 : 0;
	inst->start_failures = 40 + k;
	inst->oom_kills = 50 + k;
	inst->memory_restarts = 60 + k;
	inst->generation = 70 + (unsigned long long)k;
	inst->tag_id = inst->id;
	inst->replacement = k == 1;
	inst->pid = 1000 + k;
	inst->started_at = 1700000000000ULL + (uint64_t)k;
	snprintf(inst->reason, sizeof inst->reason, "reason \xff%d", k);
}

static void
check(const struct instance *inst, int k)
{
	char want[32];

	assert_int_equal(inst->restarts, 10 + k);
	assert_int_equal(inst->unstable_restarts, 20 + k);
	assert_int_equal(inst->backoff, 300 + k);
	assert_int_equal(inst->exit_code, k % 2 ? -1 : 3);
	assert_int_equal(inst->exit_signal, k % 2 ? 9 : 0);
	assert_int_equal(inst->start_failures, 40 + k);
	assert_int_equal(inst->oom_kills, 50 + k);
	assert_int_equal(inst->memory_restarts, 60 + k);
	assert_int_equal(inst->generation, 70 + k);
	assert_int_equal(inst->tag_id, inst->id);
	assert_int_equal(inst->replacement, k == 1);
	assert_int_equal(inst->pid, 1000 + k);
	assert_int_equal(inst->started_at, 1700000000000ULL + (uint64_t)k);
	/* the uptime goes on: 100 s since started_at by this clock */
	assert_int_equal(inst->started_mono, 500000 - (100000 - k));
	assert_int_equal(inst->state, INST_STOPPED);
	assert_null(inst->child);
	snprintf(want, sizeof want, "reason \xff%d", k);
	assert_string_equal(inst->reason, want);
}

static void
test_round_trip(void **unused)
{
	json_t *env = json_object();
	struct app *web, *api, *lone;
	struct instance *inst, *mid = NULL;
	struct state_record *recs;
	struct state *st;
	char *text, *text2, *cause = NULL, *msg = NULL, tag[STATE_TAG_MAX];
	size_t n;
	int k = 0, ids[8], nids = 0;

	(void)unused;
	json_object_set_new(env, "FOO", json_str("bar\xfe"));
	D.next_id = 5;                  /* ids 5.. */
	web = declare("web", 3, env);
	api = declare("api", 2, env);   /* the same env: saved once */
	lone = declare("lone", 1, NULL);
	json_decref(env);
	TAILQ_FOREACH(inst, &web->instances, entry) {
		if (inst->index == 1)
			mid = inst;
	}
	app_delete_instance(mid);       /* stopped: freed at once */
	uv_run(D.loop, UV_RUN_NOWAIT);
	TAILQ_FOREACH(inst, &web->instances, entry)
		mark(inst, k++);
	TAILQ_FOREACH(inst, &api->instances, entry)
		mark(inst, k++);
	(void)lone;
	text = state_text();
	forget_all();
	D.next_id = 0;

	st = state_parse(text, strlen(text), &cause);
	assert_non_null(st);
	assert_null(cause);
	assert_int_equal(state_restore(st, &recs, &n, &msg), 3);
	assert_null(msg);
	assert_int_equal(n, 5);
	assert_int_equal(D.next_id, 11);   /* 5..10 were used */
	web = app_find("web");
	assert_non_null(web);
	assert_string_equal(web->source, "/etc/corral.ini");
	assert_int_equal(web->cfg.instances, 2);
	assert_string_equal(json_string_value(json_object_get(web->cfg.env,
	    "FOO")), "bar\xfe");
	assert_ptr_equal(web->cfg.env, app_find("api")->cfg.env);
	assert_int_equal(json_object_size(app_find("lone")->cfg.env), 0);
	k = 0;
	TAILQ_FOREACH(inst, &web->instances, entry) {
		assert_int_equal(inst->index, k == 0 ? 0 : 2);  /* sparse */
		check(inst, k++);
		ids[nids++] = inst->id;
	}
	TAILQ_FOREACH(inst, &app_find("api")->instances, entry) {
		check(inst, k++);
		ids[nids++] = inst->id;
	}
	assert_int_equal(nids, 4);
	assert_int_equal(ids[0], 5);
	assert_int_equal(ids[1], 7);       /* 6 was deleted */
	for (k = 0; k < nids; k++)
		assert_int_equal(app_find_instance(ids[k], 0)->id, ids[k]);
	assert_ptr_equal(recs[0].inst, app_find_instance(5, 0));
	assert_string_equal(recs[0].app, "web");
	assert_string_equal(recs[0].tag, instance_tag(recs[0].inst, tag,
	    sizeof tag));
	assert_string_equal(recs[0].tag, "web/5/70");
	assert_int_equal(recs[0].pid, 0);   /* it had no process running */
	assert_int_equal(recs[0].state, INST_STOPPED);

	/* what was restored saves to the same text */
	text2 = state_text();
	assert_string_equal(text2, text);
	free(text2);
	state_free(st);
	free(text);
	forget_all();
}

/* The text parsed back, its escapes undone. */
static json_t *
rendered(void)
{
	char *text = state_text();
	json_t *o = json_loads(text, 0, NULL);

	assert_non_null(o);
	jsonb_unescape(o);
	free(text);
	return o;
}

/*
 * state.json is made as text, not as a jansson tree: it must read back
 * as the tree (persist_app_json()) would have, whatever bytes the strings
 * hold; and a configuration changed is in the next write once
 * state_changed() said so, while a change of an instance alone
 * (state_instances_changed()) reuses the text of the configurations.
 */
static void
test_render(void **unused)
{
	json_t *env = json_object(), *o, *a, *cfg, *want;
	struct app *app;
	struct instance *inst;
	char *cause = NULL;

	(void)unused;
	json_object_set_new(env, "Q\"\\\x01", json_str("\xff\x7f\n\t"));
	app = declare("q", 1, env);
	json_decref(env);
	free(app->source);
	app->source = xstrdup("/etc/\xfe \"x\"\\y.ini");
	inst = TAILQ_FIRST(&app->instances);
	snprintf(inst->reason, sizeof inst->reason, "a \"b\" \\c\x1f\xc3\xa9\xff");
	o = rendered();
	a = json_array_get(json_object_get(o, "apps"), 0);
	want = persist_app_json(app);
	assert_true(json_equal(json_object_get(a, "config"), want));
	json_decref(want);
	assert_true(json_equal(json_array_get(json_object_get(o, "envs"), 0),
	    app->cfg.env));
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    json_object_get(a, "instances"), 0), "reason")), inst->reason);
	assert_int_equal(json_integer_value(json_object_get(o, "next_id")),
	    D.next_id);
	json_decref(o);

	assert_int_equal(appcfg_set_string(&app->cfg, "kill_timeout", "4321",
	    &cause), 0);
	state_instances_changed();      /* the configuration's text is kept */
	o = rendered();
	cfg = json_object_get(json_array_get(json_object_get(o, "apps"), 0),
	    "config");
	assert_int_not_equal(json_integer_value(json_object_get(cfg,
	    "kill_timeout")), 4321);
	json_decref(o);
	state_changed();                /* and made again */
	o = rendered();
	cfg = json_object_get(json_array_get(json_object_get(o, "apps"), 0),
	    "config");
	assert_int_equal(json_integer_value(json_object_get(cfg,
	    "kill_timeout")), 4321);
	want = persist_app_json(app);
	assert_true(json_equal(cfg, want));
	json_decref(want);
	json_decref(o);
	forget_all();
}

/* Parses text, expects a refusal whose cause holds want. */
static void
refused(const char *text, const char *want)
{
	char *cause = NULL;
	struct state *st = state_parse(text, strlen(text), &cause);

	if (st != NULL)
		fail_msg("accepted: %s", text);
	assert_non_null(cause);
	if (strstr(cause, want) == NULL)
		fail_msg("cause \"%s\" lacks \"%s\"", cause, want);
	free(cause);
}

#define INST "{\"id\":1,\"index\":0,\"state\":\"online\",\"deleting\":false," \
	"\"running\":true,\"replacement\":false,\"pid\":9,\"last_pid\":9," \
	"\"started_at\":1," \
	"\"proc_start\":2,\"generation\":1,\"tag\":\"a/1/1\"," \
	"\"restarts\":0,\"unstable_restarts\":0,\"backoff\":0," \
	"\"exit_code\":-1,\"exit_signal\":0,\"reason\":\"\"," \
	"\"start_failures\":0,\"oom_kills\":0,\"memory_restarts\":0}"
#define DELETING "{\"id\":3,\"index\":1,\"state\":\"stopping\"," \
	"\"deleting\":true,\"running\":false,\"replacement\":true,\"pid\":0," \
	"\"last_pid\":7," \
	"\"started_at\":1,\"proc_start\":0,\"generation\":1," \
	"\"tag\":\"a/3/1\",\"restarts\":0,\"unstable_restarts\":0," \
	"\"backoff\":0,\"exit_code\":-1,\"exit_signal\":0,\"reason\":\"\"," \
	"\"start_failures\":0,\"oom_kills\":0,\"memory_restarts\":0}"
#define STOPPING "{\"id\":1,\"index\":0,\"state\":\"stopping\"," \
	"\"deleting\":false,\"running\":true,\"replacement\":false," \
	"\"pid\":9,\"last_pid\":9,\"started_at\":1,\"proc_start\":2," \
	"\"generation\":1,\"tag\":\"a/1/1\",\"restarts\":0," \
	"\"unstable_restarts\":0,\"backoff\":0,\"exit_code\":-1," \
	"\"exit_signal\":0,\"reason\":\"\",\"start_failures\":0," \
	"\"oom_kills\":0,\"memory_restarts\":0}"
#define BADTAG "\"id\":1,\"index\":0,\"state\":\"online\"," \
	"\"deleting\":false,\"running\":true,\"replacement\":false," \
	"\"pid\":9,\"last_pid\":9,\"started_at\":1,\"proc_start\":2," \
	"\"generation\":1,\"tag\":\"listen:0\",\"restarts\":0," \
	"\"unstable_restarts\":0,\"backoff\":0,\"exit_code\":-1," \
	"\"exit_signal\":0,\"reason\":\"\",\"start_failures\":0," \
	"\"oom_kills\":0,\"memory_restarts\":0}"
#define APP(insts) "{\"config\":{\"name\":\"a\"},\"env\":0," \
	"\"instances\":[" insts "]}"
#define FILE_OF(apps) "{\"version\":1,\"next_id\":2,\"envs\":[{}]," \
	"\"apps\":[" apps "]}"

static void
test_bad_text(void **unused)
{
	char *cause = NULL;
	struct state *st;
	const char *good = FILE_OF(APP(INST));
	char cut[sizeof FILE_OF(APP(INST))];

	(void)unused;
	st = state_parse(good, strlen(good), &cause);
	assert_non_null(st);
	state_free(st);
	memcpy(cut, good, sizeof cut);
	cut[strlen(good) / 2] = '\0';
	refused(cut, "line 1");
	refused("", "line");
	refused("\x01\x02garbage", "line 1");
	refused("[1, 2]", "not a corral state file");
	refused("{\"version\":2,\"next_id\":0,\"envs\":[],\"apps\":[]}",
	    "version 2, this corrald reads version 1");
	refused("{\"version\":1,\"next_id\":-4,\"envs\":[],\"apps\":[]}",
	    "next_id");
	refused("{\"version\":1,\"next_id\":0,\"apps\":[]}", "\"envs\"");
	refused("{\"version\":1,\"next_id\":0,\"envs\":[3],\"apps\":[]}",
	    "envs[0]");
	refused(FILE_OF("{\"config\":{},\"env\":0,\"instances\":[]}"),
	    "apps[0]: needs");
	refused(FILE_OF("{\"config\":{\"name\":\"a\"},\"env\":1,"
	    "\"instances\":[]}"), "\"env\" is not an integer from 0 to 0");
	refused(FILE_OF(APP(INST "," INST)), "instance id 1 saved twice");
	refused(FILE_OF(APP(INST) "," APP(INST)), "instance id 1 saved twice");
	refused(FILE_OF(APP("{\"id\":\"1\"}")), "apps[0]: instances[0]: "
	    "\"id\" is not an integer");
	refused(FILE_OF(APP("{\"id\":99999999999}")), "\"id\"");
	refused(FILE_OF(APP("7")), "instances[0]: not an object");
	refused(FILE_OF(APP("{" BADTAG)), "\"tag\" is not NAME/ID/GENERATION");
	refused("{\"version\":1,\"version\":1}", "duplicate");
}

/* A deleted instance is not restored; an app already there is kept. */
static void
test_restore_edges(void **unused)
{
	const char *text = "{\"version\":1,\"next_id\":2,\"envs\":[{}],"
	    "\"apps\":[{\"config\":{\"name\":\"a\",\"script\":\"/bin/sleep\","
	    "\"cwd\":\"/\",\"disable_logs\":true,\"instances\":1},\"env\":0,"
	    "\"instances\":[" INST "," DELETING "]}]}";
	struct state_record *recs;
	struct state *st;
	char *cause = NULL, *msg = NULL;
	size_t n;

	(void)unused;
	D.next_id = 0;
	st = state_parse(text, strlen(text), &cause);
	assert_non_null(st);
	assert_int_equal(state_restore(st, &recs, &n, &msg), 1);
	assert_null(msg);
	assert_int_equal(n, 2);
	assert_int_equal(D.next_id, 4);         /* past id 3 */
	assert_non_null(recs[0].inst);
	assert_int_equal(recs[0].inst->id, 1);
	assert_int_equal(recs[0].pid, 9);       /* it was running */
	assert_int_equal(recs[0].proc_start, 2);
	assert_int_equal(recs[0].state, INST_ONLINE);
	assert_string_equal(recs[0].tag, "a/1/1");
	assert_null(recs[1].inst);
	assert_int_equal(recs[1].deleting, 1);
	assert_int_equal(recs[1].replacement, 1);
	assert_int_equal(recs[1].id, 3);
	assert_int_equal(recs[1].pid, 0);
	assert_int_equal(app_count(app_find("a")), 1);
	state_free(st);

	/* again: "a" exists, nothing is declared twice */
	st = state_parse(text, strlen(text), &cause);
	assert_int_equal(state_restore(st, &recs, &n, &msg), 0);
	assert_non_null(msg);
	assert_non_null(strstr(msg, "a: not restored: an app named 'a' "
	    "exists already"));
	assert_null(recs[0].inst);
	assert_string_equal(recs[0].app, "a");
	assert_int_equal(recs[0].id, 1);
	free(msg);
	state_free(st);
	forget_all();
}

/* Replaces the last '}' of inst with ",extra}": a copy to free. */
static char *
with_key(const char *inst, const char *extra)
{
	char *s;

	xasprintf(&s, "%.*s,%s}", (int)strlen(inst) - 1, inst, extra);
	return s;
}

/*
 * A backoff's due time: saved while waiting (0 otherwise), restored, and
 * missing in an older file (0: the whole delay again).
 */
static void
test_wait_due(void **unused)
{
	const char *head = "{\"version\":1,\"next_id\":2,\"envs\":[{}],"
	    "\"apps\":[{\"config\":{\"name\":\"a\",\"script\":\"/bin/sleep\","
	    "\"cwd\":\"/\",\"disable_logs\":true,\"instances\":1},\"env\":0,"
	    "\"instances\":[";
	struct state_record *recs;
	struct instance *inst;
	struct state *st;
	char *text, *inst_text, *cause = NULL, *msg = NULL;
	size_t n;

	(void)unused;
	D.next_id = 0;
	inst = TAILQ_FIRST(&declare("w", 1, NULL)->instances);
	inst->timer_due = 123456789;
	inst->state = INST_WAITING;
	text = state_text();
	assert_non_null(strstr(text, "\"wait_due\":123456789"));
	free(text);
	inst->state = INST_STOPPED;     /* a due time of another timer */
	text = state_text();
	assert_non_null(strstr(text, "\"wait_due\":0"));
	free(text);
	forget_all();

	inst_text = with_key(INST, "\"wait_due\":777");
	xasprintf(&text, "%s%s]}]}", head, inst_text);
	st = state_parse(text, strlen(text), &cause);
	assert_non_null(st);
	assert_int_equal(state_restore(st, &recs, &n, &msg), 1);
	assert_int_equal(recs[0].inst->timer_due, 777);
	state_free(st);
	forget_all();
	free(text);
	free(inst_text);

	xasprintf(&text, "%s%s]}]}", head, INST);       /* an older file */
	st = state_parse(text, strlen(text), &cause);
	assert_non_null(st);
	assert_int_equal(state_restore(st, &recs, &n, &msg), 1);
	assert_int_equal(recs[0].inst->timer_due, 0);
	state_free(st);
	forget_all();
	free(text);

	inst_text = with_key(INST, "\"wait_due\":-1");
	xasprintf(&text, "%s%s]}]}", head, inst_text);
	refused(text, "\"wait_due\" is not an integer");
	free(text);
	free(inst_text);
	inst_text = with_key(INST, "\"wait_due\":\"soon\"");
	xasprintf(&text, "%s%s]}]}", head, inst_text);
	refused(text, "\"wait_due\" is not an integer");
	free(text);
	free(inst_text);
}

/* The state file of one app "a" with the one instance inst_text. */
static char *
one_inst(const char *inst_text)
{
	char *text;

	xasprintf(&text, "{\"version\":1,\"next_id\":2,\"envs\":[{}],"
	    "\"apps\":[{\"config\":{\"name\":\"a\",\"script\":\"/bin/sleep\","
	    "\"cwd\":\"/\",\"disable_logs\":true,\"instances\":1},\"env\":0,"
	    "\"instances\":[%s]}]}", inst_text);
	return text;
}

/* Restores text; the record of its one instance into *rec. */
static struct state *
restore_one(const char *text, struct state_record *rec)
{
	struct state_record *recs;
	struct state *st;
	char *cause = NULL, *msg = NULL;
	size_t n;

	D.next_id = 0;
	st = state_parse(text, strlen(text), &cause);
	assert_non_null(st);
	assert_int_equal(state_restore(st, &recs, &n, &msg), 1);
	assert_null(msg);
	assert_int_equal(n, 1);
	*rec = recs[0];
	return st;
}

/*
 * A stop under way says what it goes on to (a restart, a failed start)
 * and whether its cause set the reason; an instance not stopping says
 * nothing of the kind.
 */
static void
test_stop_saved(void **unused)
{
	struct instance *inst;
	char *text;

	(void)unused;
	inst = TAILQ_FIRST(&declare("p", 1, NULL)->instances);
	inst->state = INST_STOPPING;
	inst->fsm.restart_pending = 1;
	inst->keep_reason = 1;
	text = state_text();
	assert_non_null(strstr(text, "\"restart_pending\":true,"
	    "\"not_ready\":false,\"keep_reason\":true"));
	free(text);
	inst->state = INST_ONLINE;
	text = state_text();
	assert_non_null(strstr(text, "\"restart_pending\":false,"
	    "\"not_ready\":false,\"keep_reason\":false"));
	free(text);
	forget_all();
}

/*
 * What a stop goes on to, restored for a stopping instance only; false
 * when missing (an older file); refused when not a boolean.
 */
static void
test_stop_restored(void **unused)
{
	struct state_record rec;
	struct state *st;
	char *text, *inst_text;

	(void)unused;
	inst_text = with_key(INST, "\"restart_pending\":true,"
	    "\"not_ready\":true,\"keep_reason\":true");
	text = one_inst(inst_text);
	st = restore_one(text, &rec);   /* online: no stop to go on with */
	assert_int_equal(rec.pending, 0);
	assert_int_equal(rec.inst->keep_reason, 0);
	state_free(st);
	forget_all();
	free(text);
	free(inst_text);

	inst_text = with_key(STOPPING, "\"restart_pending\":true,"
	    "\"not_ready\":true,\"keep_reason\":true");
	text = one_inst(inst_text);
	st = restore_one(text, &rec);
	assert_int_equal(rec.state, INST_STOPPING);
	assert_int_equal(rec.pending, FSM_PEND_RESTART | FSM_PEND_NOT_READY);
	assert_int_equal(rec.inst->keep_reason, 1);
	state_free(st);
	forget_all();
	free(text);
	free(inst_text);

	text = one_inst(STOPPING);      /* an older file */
	st = restore_one(text, &rec);
	assert_int_equal(rec.pending, 0);
	assert_int_equal(rec.inst->keep_reason, 0);
	state_free(st);
	forget_all();
	free(text);

	inst_text = with_key(STOPPING, "\"restart_pending\":1");
	text = one_inst(inst_text);
	refused(text, "\"restart_pending\" is not true or false");
	free(text);
	free(inst_text);
}

/*
 * An app restored whose checks of the system fail now (a watched path
 * gone) is declared all the same, the problem kept for describe; one
 * whose own values are bad (its name) is still refused.
 */
static void
test_restore_problem(void **unused)
{
	struct state_record *recs;
	struct state *st;
	struct app *app;
	char *text, *cause = NULL, *msg = NULL;
	size_t n;

	(void)unused;
	D.next_id = 0;
	xasprintf(&text, "{\"version\":1,\"next_id\":2,\"envs\":[{}],"
	    "\"apps\":[{\"config\":{\"name\":\"a\",\"script\":\"/bin/sleep\","
	    "\"cwd\":\"%s\",\"disable_logs\":true,\"instances\":1,"
	    "\"watch\":\"gone\"},\"env\":0,\"instances\":[" INST "]}]}", dir);
	st = state_parse(text, strlen(text), &cause);
	assert_non_null(st);
	assert_int_equal(state_restore(st, &recs, &n, &msg), 1);
	assert_null(msg);
	assert_non_null(recs[0].inst);
	app = app_find("a");
	assert_non_null(app);
	assert_non_null(app->problem);
	assert_non_null(strstr(app->problem, "watch: gone: No such file"));
	state_free(st);
	forget_all();
	free(text);

	xasprintf(&text, "{\"version\":1,\"next_id\":2,\"envs\":[{}],"
	    "\"apps\":[{\"config\":{\"name\":\"a b\",\"script\":\"/bin/sleep\","
	    "\"cwd\":\"/\",\"disable_logs\":true,\"instances\":1},\"env\":0,"
	    "\"instances\":[" INST "]}]}");
	st = state_parse(text, strlen(text), &cause);
	assert_non_null(st);
	assert_int_equal(state_restore(st, &recs, &n, &msg), 0);
	assert_non_null(msg);
	assert_non_null(strstr(msg, "not restored"));
	assert_null(recs[0].inst);
	free(msg);
	state_free(st);
	forget_all();
	free(text);
}

static void
test_bad_files(void **unused)
{
	char path[300], link[300], *cause = NULL;
	struct state *st;
	int fd;

	(void)unused;
	snprintf(path, sizeof path, "%s/state.json", dir);
	st = state_load(path, &cause);
	assert_null(st);
	assert_non_null(strstr(cause, "No such file"));
	free(cause);

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, FILE_OF(APP(INST)),
	    strlen(FILE_OF(APP(INST)))), strlen(FILE_OF(APP(INST))));
	close(fd);
	st = state_load(path, &cause);
	assert_non_null(st);
	state_free(st);

	snprintf(link, sizeof link, "%s/link.json", dir);
	assert_int_equal(symlink(path, link), 0);
	cause = NULL;
	assert_null(state_load(link, &cause));
	assert_non_null(strstr(cause, "a symbolic link, not followed"));
	free(cause);

	snprintf(link, sizeof link, "%s/fifo.json", dir);
	assert_int_equal(mkfifo(link, 0600), 0);
	cause = NULL;
	assert_null(state_load(link, &cause));  /* never waits for a writer */
	assert_non_null(strstr(cause, "not a regular file"));
	free(cause);

	fd = open(path, O_WRONLY | O_TRUNC);
	assert_int_equal(ftruncate(fd, STATE_MAX_SIZE + 1), 0);
	close(fd);
	cause = NULL;
	assert_null(state_load(path, &cause));
	assert_non_null(strstr(cause, "file too large"));
	free(cause);

	fd = open(path, O_WRONLY | O_TRUNC);
	assert_int_equal(write(fd, "{\"version\":1,", 13), 13);
	close(fd);
	cause = NULL;
	assert_null(state_load(path, &cause));
	assert_non_null(strstr(cause, path));
	free(cause);
}

static void
test_tags(void **unused)
{
	char name[PARSE_NAME_MAX + 1];
	unsigned long long gen;
	int id;

	(void)unused;
	assert_int_equal(instance_tag_parse("web.v2/12/3", name, sizeof name,
	    &id, &gen), 0);
	assert_string_equal(name, "web.v2");
	assert_int_equal(id, 12);
	assert_int_equal(gen, 3);
	assert_int_equal(instance_tag_parse("a/0/18446744073709551615", name,
	    sizeof name, &id, &gen), 0);
	assert_int_equal(gen, 18446744073709551615ULL);
	assert_int_equal(instance_tag_parse("listen:0", name, sizeof name, &id,
	    &gen), -1);
	assert_int_equal(instance_tag_parse("/1/2", name, sizeof name, &id,
	    &gen), -1);
	assert_int_equal(instance_tag_parse("a//2", name, sizeof name, &id,
	    &gen), -1);
	assert_int_equal(instance_tag_parse("a/1/", name, sizeof name, &id,
	    &gen), -1);
	assert_int_equal(instance_tag_parse("a/x1/2", name, sizeof name, &id,
	    &gen), -1);
	assert_int_equal(instance_tag_parse("a/1/2x", name, sizeof name, &id,
	    &gen), -1);
	assert_int_equal(instance_tag_parse("a/1/99999999999999999999", name,
	    sizeof name, &id, &gen), -1);
	assert_int_equal(instance_tag_parse("toolong/1/2", name, 4, &id,
	    &gen), -1);
}

static void
test_proc_start(void **unused)
{
	char buf[1024], *p;
	unsigned long long want = 0;
	FILE *f = fopen("/proc/self/stat", "r");
	int i;

	(void)unused;
	assert_non_null(f);
	assert_non_null(fgets(buf, sizeof buf, f));
	fclose(f);
	p = strrchr(buf, ')') + 2;      /* field 3 */
	for (i = 3; i < 22; i++)
		p = strchr(p, ' ') + 1;
	assert_int_equal(sscanf(p, "%llu", &want), 1);
	assert_true(want > 0);
	assert_int_equal(state_proc_start(getpid()), want);
	assert_int_equal(state_proc_start(0), 0);
	assert_int_equal(state_proc_start(-1), 0);
	assert_int_equal(state_proc_start(1 << 30), 0);
}

/* The reply's text of inst is jansson's, byte for byte. */
static void
same_text(struct instance *inst)
{
	struct state_text t;
	json_t *o;
	char *want;

	memset(&t, 0, sizeof t);
	assert_int_equal(instance_text(&t, inst), 0);
	o = instance_to_json(inst);
	want = jsonb_dumps(o, INSTANCE_TEXT_FLAGS);
	json_decref(o);
	assert_non_null(want);
	assert_string_equal(t.p, want);
	free(want);
	free(t.p);
}

static void
test_instance_text(void **unused)
{
	static const double cpus[] = { 0.0, 1.0, 12.5, 33.3333333, 100.0,
	    1e-7, 0.000123456789, 123456789.0, 1e20, 2.5e-300, 99.99995 };
	struct child child;
	struct timespec ts;
	struct instance *inst;
	struct app *app;
	size_t i;

	(void)unused;
	app = declare("text.app_1", 1, NULL);
	inst = TAILQ_FIRST(&app->instances);
	mark(inst, 1);          /* a reason of bytes that are not UTF-8 */
	same_text(inst);
	snprintf(inst->reason, sizeof inst->reason, "\"q\" \\ \x01\t\xe2\x82\xac");
	inst->state = INST_STOPPED;
	same_text(inst);
	snprintf(inst->reason, sizeof inst->reason, "exited with code 3");
	same_text(inst);
	/* running: its sample is fresh, so none is taken */
	memset(&child, 0, sizeof child);
	child.pidfd = -1;
	inst->child = &child;
	inst->state = INST_ONLINE;
	inst->started_mono = 400000;
	inst->memory = 123456789;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	inst->sample.valid = 1;
	inst->sample.wall_us = (uint64_t)ts.tv_sec * 1000000 +
	    (uint64_t)ts.tv_nsec / 1000;
	snprintf(inst->status, sizeof inst->status, "ready \x7f \xe2\x82\xac");
	for (i = 0; i < sizeof cpus / sizeof cpus[0]; i++) {
		inst->cpu = cpus[i];
		same_text(inst);
	}
	inst->status[0] = '\0';
	same_text(inst);
	inst->child = NULL;
	forget_all();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_render),
		cmocka_unit_test(test_bad_text),
		cmocka_unit_test(test_restore_edges),
		cmocka_unit_test(test_wait_due),
		cmocka_unit_test(test_stop_saved),
		cmocka_unit_test(test_stop_restored),
		cmocka_unit_test(test_restore_problem),
		cmocka_unit_test(test_bad_files),
		cmocka_unit_test(test_tags),
		cmocka_unit_test(test_proc_start),
		cmocka_unit_test(test_instance_text),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
