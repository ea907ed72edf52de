/* SPDX-License-Identifier: ISC */
/*
 * The keeper's table, by tag: the descriptors it holds for the engine and
 * the app processes it spawned (live, or exited until released). Both are
 * bounded (KEEPER_MAX_HELD, KEEPER_MAX_CHILDREN). Children are also
 * chained by tag and by pid (TABLE_BUCKETS chains each): a `stop all`
 * of N looks up N reaped pids and N RELEASEd tags, which linear lookups
 * made O(N^2). Held descriptors are chained by tag too (a cluster app's
 * process has its control and drain channels held, a process that said
 * it is ready its mark). The lists (K.children, K.held) keep the order,
 * for the re-exec's state, the table sent to an engine and the sweeps.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keeper.h"

#define TABLE_BUCKETS 4096
#define TABLE_HELD_BUCKETS 1024         /* 8 KiB: the keeper's RSS counts */

static struct kchild *table_by_tag[TABLE_BUCKETS];
static struct kchild *table_by_pid[TABLE_BUCKETS];
static struct kheld *table_held_by_tag[TABLE_HELD_BUCKETS];

/* FNV-1a of tag, to a bucket. */
static size_t
table_tag_bucket(const char *tag)
{
	uint32_t h = 2166136261u;

	for (; *tag != '\0'; tag++)
		h = (h ^ (unsigned char)*tag) * 16777619u;
	return h % TABLE_BUCKETS;
}

static size_t
table_pid_bucket(pid_t pid)
{
	return (size_t)(unsigned)pid % TABLE_BUCKETS;
}

/* Takes c off the chain that starts at *head. */
static void
table_unchain(struct kchild **head, struct kchild *c, int by_pid)
{
	struct kchild **p;

	for (p = head; *p != NULL; p = by_pid ? &(*p)->pid_next :
	    &(*p)->tag_next) {
		if (*p == c) {
			*p = by_pid ? c->pid_next : c->tag_next;
			return;
		}
	}
}

struct kheld *
table_held_find(const char *tag)
{
	size_t b = table_tag_bucket(tag) % TABLE_HELD_BUCKETS;
	struct kheld *h;

	for (h = table_held_by_tag[b]; h != NULL; h = h->tag_next) {
		if (strcmp(h->tag, tag) == 0)
			return h;
	}
	return NULL;
}

/* Takes fd under tag. Returns 0, or -1 with errno (EEXIST, EMFILE, ENOMEM). */
int
table_hold(const char *tag, int fd)
{
	struct kheld *h;
	size_t b;

	if (table_held_find(tag) != NULL || table_child_find(tag) != NULL) {
		errno = EEXIST;
		return -1;
	}
	if (K.nheld >= KEEPER_MAX_HELD) {
		errno = EMFILE;
		return -1;
	}
	if ((h = calloc(1, sizeof *h)) == NULL)
		return -1;
	if ((h->tag = strdup(tag)) == NULL) {
		free(h);
		return -1;
	}
	h->fd = fd;
	TAILQ_INSERT_TAIL(&K.held, h, entry);
	K.nheld++;
	b = table_tag_bucket(tag) % TABLE_HELD_BUCKETS;
	h->tag_next = table_held_by_tag[b];
	table_held_by_tag[b] = h;
	return 0;
}

void
table_held_free(struct kheld *h)
{
	struct kheld **p;

	for (p = &table_held_by_tag[table_tag_bucket(h->tag) %
	    TABLE_HELD_BUCKETS]; *p != NULL; p = &(*p)->tag_next) {
		if (*p == h) {
			*p = h->tag_next;
			break;
		}
	}
	if (K.tab_held == h)
		K.tab_held = TAILQ_NEXT(h, entry);
	TAILQ_REMOVE(&K.held, h, entry);
	K.nheld--;
	close(h->fd);
	free(h->tag);
	free(h);
}

struct kchild *
table_child_find(const char *tag)
{
	struct kchild *c;

	for (c = table_by_tag[table_tag_bucket(tag)]; c != NULL;
	    c = c->tag_next) {
		if (strcmp(c->tag, tag) == 0)
			return c;
	}
	return NULL;
}

/* The live child with that pid (an exited one may have had it before). */
struct kchild *
table_child_by_pid(pid_t pid)
{
	struct kchild *c;

	for (c = table_by_pid[table_pid_bucket(pid)]; c != NULL;
	    c = c->pid_next) {
		if (c->pid == pid && !c->exited)
			return c;
	}
	return NULL;
}

/* Records a live child; the entry owns out and err. NULL on ENOMEM. */
struct kchild *
table_child_add(const char *tag, pid_t pid, int out, int err,
    int64_t started_at)
{
	struct kchild *c;
	size_t b;

	if ((c = calloc(1, sizeof *c)) == NULL)
		return NULL;
	if ((c->tag = strdup(tag)) == NULL) {
		free(c);
		return NULL;
	}
	c->pid = pid;
	c->out = out;
	c->err = err;
	c->started_at = started_at;
	c->kill_signal = SIGTERM;
	TAILQ_INSERT_TAIL(&K.children, c, entry);
	K.nchildren++;
	/* a table being sent whose cursor passed every child sends it next */
	if (K.tab_sending && K.tab_child == NULL)
		K.tab_child = c;
	b = table_tag_bucket(tag);
	c->tag_next = table_by_tag[b];
	table_by_tag[b] = c;
	b = table_pid_bucket(pid);
	c->pid_next = table_by_pid[b];
	table_by_pid[b] = c;
	return c;
}

void
table_child_free(struct kchild *c)
{
	if (K.tab_child == c)
		K.tab_child = TAILQ_NEXT(c, entry);
	TAILQ_REMOVE(&K.children, c, entry);
	K.nchildren--;
	table_unchain(&table_by_tag[table_tag_bucket(c->tag)], c, 0);
	table_unchain(&table_by_pid[table_pid_bucket(c->pid)], c, 1);
	if (c->out >= 0)
		close(c->out);
	if (c->err >= 0)
		close(c->err);
	free(c->tag);
	free(c);
}

/*
 * RELEASE: closes a held descriptor, or forgets an exited child and its
 * pipes. Returns 0, or -1 with errno ENOENT (no such tag) or EBUSY (the
 * child still runs).
 */
int
table_release(const char *tag)
{
	struct kheld *h;
	struct kchild *c;

	if ((h = table_held_find(tag)) != NULL) {
		table_held_free(h);
		return 0;
	}
	if ((c = table_child_find(tag)) == NULL) {
		errno = ENOENT;
		return -1;
	}
	if (!c->exited) {
		errno = EBUSY;
		return -1;
	}
	table_child_free(c);
	return 0;
}

int
table_live_count(void)
{
	struct kchild *c;
	int n = 0;

	TAILQ_FOREACH(c, &K.children, entry)
		n += !c->exited;
	return n;
}
