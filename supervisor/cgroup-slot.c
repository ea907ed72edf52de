/* SPDX-License-Identifier: ISC */
/*
 * Instance slots' cgroups kept between two processes.  When an instance's
 * process exits, its cgroup stays, empty, with the limits last written
 * (cgroup_release); the next spawn of the same slot (app and instance
 * index, same generation) takes it back (cgroup_slot_take, from
 * cgroup_create) without a mkdir, and writes no limit when they did not
 * change.  What the exit learnt goes with it (struct cgroup_carry):
 * whether the tree was seen empty (no emptiness read in five hierarchies
 * at the next spawn), the OOM kill count (the next process's base,
 * unread) and the caller's OOM watch (no new eventfd and registration per
 * spawn).  A slot's cgroups go when its instance is deleted
 * (cgroup_forget_slot: queued for cgroup-gc.c) and at shutdown (the tops
 * are removed whole).  A cgroup a process has is marked busy until it is
 * released or freed, so that no spawn takes it (cgroup_busy_mark).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "cgroup.h"

#define CGROUP_FORGET_DELAY_MS 100

static int
cgroup_slot_match(const void *value, const void *rel)
{
	const struct cgroup_slot	*slot = value;

	return strcmp(slot->rel, rel) == 0;
}

/* Ends the watch carry holds, if any (the caller's watch_drop). */
void
cgroup_carry_unwatch(struct cgroup_root *root, struct cgroup_carry *carry)
{
	if (carry->watch != NULL && root->watch_drop != NULL)
		root->watch_drop(carry->watch);
	carry->watch = NULL;
}

/* Frees slot, and ends the watch it carried. */
static void
cgroup_slot_free(struct cgroup_root *root, struct cgroup_slot *slot)
{
	cgroup_carry_unwatch(root, &slot->carry);
	free(slot->rel);
	free(slot);
}

/* The idle slot of rel, now the caller's (free it), or NULL. */
struct cgroup_slot *
cgroup_slot_take(struct cgroup_root *root, const char *rel)
{
	struct cgroup_slot	*slot;
	uint64_t		 key = hmap_hash(rel);

	if ((slot = hmap_find(&root->slots, key, cgroup_slot_match,
	    rel)) == NULL)
		return NULL;
	hmap_remove(&root->slots, key, slot);
	TAILQ_REMOVE(&root->slot_list, slot, entry);
	return slot;
}

/* Keeps slot (the root owns it now) until taken, forgotten or shutdown. */
void
cgroup_slot_put(struct cgroup_root *root, struct cgroup_slot *slot)
{
	struct cgroup_slot	*old;

	if ((old = cgroup_slot_take(root, slot->rel)) != NULL)
		cgroup_slot_free(root, old);
	hmap_add(&root->slots, hmap_hash(slot->rel), slot);
	TAILQ_INSERT_TAIL(&root->slot_list, slot, entry);
}

/*
 * The process of cg is gone and so are the rest of its tree: cg's
 * directories stay for the next spawn of its slot; cg is freed.
 */
void
cgroup_release(struct cgroup *cg)
{
	struct cgroup_slot	*slot = xcalloc(1, sizeof *slot);

	cgroup_busy_clear(cg);
	slot->rel = cg->rel;
	cg->rel = NULL;
	slot->known = cg->known;
	slot->applied = cg->applied;
	slot->carry = cg->carry;
	cg->carry.watch = NULL;
	cgroup_slot_put(cg->root, slot);
	cgroup_free(cg);
}

/*
 * Takes the kept cgroup of cg->rel when it is there and empty in every
 * hierarchy.  A slot whose last exit found its tree gone (cgroup_kill()
 * read the hierarchy kills go through, and found it empty) is not read
 * again: nothing joins an idle cgroup on its own, and a process that
 * left that hierarchy's cgroup for another had escaped the exit's kill
 * already.  Returns 0, or -1 (none kept, gone, or busy: kept still).
 */
int
cgroup_reuse(struct cgroup *cg)
{
	struct cgroup_slot	*slot;
	pid_t			*pids;
	size_t			 n;
	char			*dir;
	int			 h, r = 0;

	if ((slot = cgroup_slot_take(cg->root, cg->rel)) == NULL)
		return -1;
	for (h = 0; h < cg->root->nhier && r == 0 && !slot->carry.vacant; h++) {
		dir = cgroup_dir(cg, h);
		if ((r = cgroup_read_pids(dir, &pids, &n)) == 0) {
			r = n == 0 ? 0 : -EBUSY;
			free(pids);
		}
		free(dir);
	}
	if (r == -EBUSY) {
		cgroup_slot_put(cg->root, slot);
		return -1;
	}
	if (r == 0) {
		cg->fresh = 0;
		cg->known = slot->known;
		cg->applied = slot->applied;
		cg->carry = slot->carry;
		cg->carry.vacant = 0;   /* for the next exit to say */
		slot->carry.watch = NULL;
	}
	cgroup_slot_free(cg->root, slot);
	return r == 0 ? 0 : -1;
}

/*
 * The counters a spawn (or a new engine's adoption) starts the process's
 * figures from, those of what (CGROUP_KILL, CGROUP_CPUACCT): the OOM
 * kills and CPU time cg has counted so far.  A cgroup made now has none,
 * a kept one carries its OOM count from the last exit: only what is not
 * known is read (known: set in u->flags).
 */
void
cgroup_spawn_usage(const struct cgroup *cg, int what, struct cgroup_usage *u)
{
	int	 want = 0;

	memset(u, 0, sizeof *u);
	if ((what & CGROUP_KILL) && cg->carry.counted) {
		u->oom_kills = cg->carry.oom_kills;
		u->flags |= CGROUP_KILL;
	} else if (what & CGROUP_KILL)
		want |= CGROUP_KILL;
	if ((what & CGROUP_CPUACCT) && !cg->zero)
		want |= CGROUP_CPUACCT;
	else if ((what & CGROUP_CPUACCT) && (cg->root->backend == CGROUP_V2 ||
	    (cg->root->controllers & CGROUP_CPUACCT)))
		u->flags |= CGROUP_CPUACCT;
	if (want == 0)
		return;
	if (cg->root->backend == CGROUP_V2)
		(void)cgroup_v2_read_usage(cg, u, want);
	else
		(void)cgroup_v1_read_usage(cg, u, want);
}

/* Queues the removal of rel's directories in every hierarchy. */
static void
cgroup_slot_queue(struct cgroup_root *root, const char *rel)
{
	char	*dir;
	int	 h;

	for (h = 0; h < root->nhier; h++) {
		xasprintf(&dir, "%s/%s", root->hier[h].top, rel);
		cgroup_root_pending_defer(root, dir, CGROUP_FORGET_DELAY_MS);
		free(dir);
	}
}

/*
 * The instance index of app is gone (deleted, or scaled away): its idle
 * slots' directories are queued for removal, the app's with the last.
 */
void
cgroup_forget_slot(struct cgroup_root *root, const char *app, int index)
{
	struct cgroup_slot	*slot;
	char			*rel;
	int			 gen;

	if (root == NULL || root->slots.n == 0)
		return;
	for (gen = 0; gen < CGROUP_MAX_GEN; gen++) {
		rel = cgroup_rel(app, index, gen);
		if ((slot = cgroup_slot_take(root, rel)) != NULL) {
			cgroup_slot_queue(root, slot->rel);
			cgroup_slot_free(root, slot);
		}
		free(rel);
	}
}

/* Ends the watches of every kept slot (the caller's loop is ending). */
void
cgroup_slots_unwatch(struct cgroup_root *root)
{
	struct cgroup_slot	*slot;

	TAILQ_FOREACH(slot, &root->slot_list, entry)
		cgroup_carry_unwatch(root, &slot->carry);
}

/*
 * Forgets every kept slot; with remove, their directories are queued for
 * removal (shutdown), else they stay where they are.
 */
void
cgroup_slots_free(struct cgroup_root *root, int remove)
{
	struct cgroup_slot	*slot;

	while ((slot = TAILQ_FIRST(&root->slot_list)) != NULL) {
		TAILQ_REMOVE(&root->slot_list, slot, entry);
		if (remove)
			cgroup_slot_queue(root, slot->rel);
		cgroup_slot_free(root, slot);
	}
	hmap_free(&root->slots);
}

/* A cgroup of app under root; cgroup_gen() gives it its directory. */
struct cgroup *
cgroup_new(struct cgroup_root *root, const char *app)
{
	struct cgroup *cg = xcalloc(1, sizeof *cg);

	cg->root = root;
	xasprintf(&cg->app, "%s" CGROUP_APP_SUFFIX, app);
	return cg;
}

/* Points cg at generation gen of instance of app. */
void
cgroup_gen(struct cgroup *cg, const char *app, int instance, int gen)
{
	free(cg->rel);
	cg->rel = cgroup_rel(app, instance, gen);
}

static int
cgroup_busy_match(const void *value, const void *rel)
{
	return strcmp(((const struct cgroup *)value)->rel, rel) == 0;
}

/* Whether a process of this engine has the cgroup rel (cgroup_busy_mark). */
int
cgroup_busy(struct cgroup_root *root, const char *rel)
{
	return hmap_find(&root->busy, hmap_hash(rel), cgroup_busy_match,
	    rel) != NULL;
}

/*
 * Marks cg as a process's until cgroup_free(): cgroup_create() passes it
 * by even once it is empty. A process that died leaves its cgroup empty
 * before the engine handles its exit, and that exit kills what is left
 * in it: a spawn that took the empty cgroup meanwhile had its process
 * killed (a reload sent again after an engine's death, with the cut
 * short replacement of the same index still stopping).
 */
void
cgroup_busy_mark(struct cgroup *cg)
{
	hmap_add(&cg->root->busy, hmap_hash(cg->rel), cg);
	cg->busy = 1;
}

/* cg is no process's any more (before its rel goes: the mark's key). */
void
cgroup_busy_clear(struct cgroup *cg)
{
	if (cg->busy && cg->rel != NULL)
		(void)hmap_remove(&cg->root->busy, hmap_hash(cg->rel), cg);
	cg->busy = 0;
}
