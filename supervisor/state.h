/* SPDX-License-Identifier: ISC */
/*
 * The state file, $CORRAL_HOME/state.json: what a new engine needs to
 * rebuild every app and adopt the live instances the keeper hands it
 * after the previous engine died (issue 13). Included by corrald.h.
 *
 * Writing (state.c). state_init() once at start-up; writes are off until
 * state_start(), so that an engine that has not finished rebuilding and
 * adopting never replaces a good file with a half-built one. From then on
 * every state_changed() marks the file stale (and has every app's
 * configuration made into text again: a change of an instance alone is
 * state_instances_changed(), the state machine's hook, which reuses the
 * text of the configurations made at the last write); one write per loop turn at
 * most (a check handle armed only while stale: an idle daemon does
 * nothing), and one at a time: a change during a write is written once
 * that one is done. The text is made on the loop and written by a thread
 * (see state.c). Errors are logged (at most once a minute) and the next
 * change tries again; nothing here is ever fatal at run time.
 * state_flush(cb) calls cb once the file on disk shows the state of the
 * time of the call (before an UPGRADE). state_hold() keeps a reply back
 * until the changes made since state_mark() are on disk (conn.c: every
 * reply to a request). state_stop() writes the last
 * state (at the end of a shutdown, before the apps are freed) and turns
 * writes off for good; the loop ends once that write is done.
 *
 * Reading (state-load.c). state_load() reads and checks a file; a file
 * that is missing, not a regular file, a symlink, larger than
 * STATE_MAX_SIZE, not JSON, of another version or of a wrong shape gives
 * NULL and a cause: the caller starts with no state. state_restore()
 * declares the saved apps and creates their instances with their saved
 * ids, indices and counters, all INST_STOPPED, spawning nothing, and
 * gives one record per saved instance for the adoption.
 */
#ifndef CORRAL_STATE_H
#define CORRAL_STATE_H

#include <stddef.h>
#include <stdint.h>

#define STATE_VERSION 1
#define STATE_FILE "state.json"
#define STATE_MAX_SIZE (64 * 1024 * 1024)
#define STATE_TAG_MAX 256               /* a keeper tag, its NUL included */

struct instance;
struct state;                           /* a loaded file (state-load.c) */

/*
 * One saved instance, as state_restore() gives it. Its strings belong to
 * the struct state it came from: valid until state_free().
 */
struct state_record {
	struct instance *inst;          /* restored (INST_STOPPED), or NULL:
					   it was being deleted, or its app
					   could not be declared again */
	const char *app;                /* its app's name */
	const char *tag;                /* the keeper tag it last ran under */
	int id;
	int index;
	int state;                      /* enum inst_state it was in */
	int deleting;                   /* it was being deleted */
	int replacement;                /* started by a rolling reload that
					   the engine's death cut short */
	int pid;                        /* 0: no process */
	int pending;                    /* FSM_PEND_*: what its stop was to
					   go on to (fsm_pending()) */
	uint64_t started_at;            /* wall ms of that spawn */
	uint64_t proc_start;            /* /proc/PID/stat field 22 (clock
					   ticks after boot), 0: unknown */
};

/* A text being made (state-text.c); p is NULL until something is added. */
struct state_text {
	char *p;
	size_t len;
	size_t cap;
};

/* state.c */
void state_init(uv_loop_t *, const char *);
void state_start(void);
void state_changed(void);
void state_instances_changed(void);
void state_flush(void (*)(void *, int), void *);
void state_after_turn(void (*)(void *, int), void *);
unsigned long long state_mark(void);
int state_hold(unsigned long long, void (*)(void *, int), void *);
void state_unhold(void *);
void state_stop(void);

/* state-json.c */
void state_configs_changed(void);
char *state_render(size_t *);
const char *instance_tag(const struct instance *, char *, size_t);
int instance_tag_parse(const char *, char *, size_t, int *,
    unsigned long long *);
uint64_t state_proc_start(int);

/* state-text.c */
void state_text_mem(struct state_text *, const char *, size_t);
void state_text_add(struct state_text *, const char *);
void state_text_int(struct state_text *, long long);
void state_text_bool(struct state_text *, int);
void state_text_str(struct state_text *, const char *);
void state_text_str_as(struct state_text *, const char *, size_t);
void state_text_json(struct state_text *, json_t *);
void state_text_json_as(struct state_text *, json_t *, size_t);
void state_text_key(struct state_text *, const char *, int);

/* state-check.c */
int state_check(json_t *, int *, size_t *, char **);
int state_state_name(const char *);

/* state-load.c */
struct state *state_load(const char *, char **);
struct state *state_parse(const char *, size_t, char **);
int state_restore(struct state *, struct state_record **, size_t *,
    char **);
int state_next_id(const struct state *);
void state_peek(struct state *, struct state_record **, size_t *);
void state_free(struct state *);

#endif
