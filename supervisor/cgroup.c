/* SPDX-License-Identifier: ISC */
/*
 * The front of the cgroup module: picks the backend at start-up (v2 when
 * the unified hierarchy offers the memory controller, else v1, else none),
 * asks systemd for a delegated scope when a non-root daemon may not write
 * its cgroup, and gives the daemon one interface for instance cgroups
 * whichever backend is in use.  Removals of instance directories are
 * deferred and batched (cgroup-gc.c); slots' directories are kept for
 * their next process (cgroup-slot.c).
 */
#include <sys/stat.h>
#include <sys/utsname.h>

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "cgroup.h"

/*
 * The name of the daemon's top cgroup: "corral" for the default home, else
 * "corral.<64-bit hash of the home>" so that daemons with other homes
 * (tests, a second daemon of the same user) never share instance cgroups;
 * the lock on the top (cgroup-lock.c) catches a collision.  The
 * environment variable CORRAL_CGROUP_NAME, when set, wins.  The caller
 * frees.
 */
char *
cgroup_default_name(const char *home, const char *default_home)
{
	const char	*env = getenv("CORRAL_CGROUP_NAME");
	uint64_t	 h = 14695981039346656037ull;
	const char	*p;
	char		*name;

	if (env != NULL && *env != '\0' && strchr(env, '/') == NULL &&
	    env[0] != '.')
		return xstrdup(env);
	if (home == NULL || (default_home != NULL &&
	    strcmp(home, default_home) == 0))
		return xstrdup("corral");
	for (p = home; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ull;
	xasprintf(&name, "corral.%016llx", (unsigned long long)h);
	return name;
}

/* The keeper whose engine this daemon is (0: none). */
static pid_t cgroup_keeper_pid;

void
cgroup_keeper_set(pid_t pid)
{
	cgroup_keeper_pid = pid;
}

/*
 * The keeper's pid when it shares the daemon's cgroups, else 0: the
 * daemon then takes it along (into the v2 leaf, into a scope), so that
 * the cgroup holding both may delegate, and the next engine, which the
 * keeper starts in its own cgroup, finds the same tops.
 */
pid_t
cgroup_keeper_beside(void)
{
	char	 proc[64], *theirs, *ours;
	pid_t	 pid = 0;

	if (cgroup_keeper_pid <= 0)
		return 0;
	snprintf(proc, sizeof proc, "/proc/%ld/cgroup",
	    (long)cgroup_keeper_pid);
	theirs = cgroup_slurp(proc);
	ours = cgroup_slurp("/proc/self/cgroup");
	if (theirs != NULL && ours != NULL && strcmp(theirs, ours) == 0)
		pid = cgroup_keeper_pid;
	free(theirs);
	free(ours);
	return pid;
}

/* The top that best names the daemon's cgroups (v1: the memory one). */
const char *
cgroup_root_top(const struct cgroup_root *root)
{
	int	 h;

	for (h = 0; h < root->nhier; h++) {
		if (root->hier[h].controllers & CGROUP_MEMORY)
			return root->hier[h].top;
	}
	return root->nhier > 0 ? root->hier[0].top : "";
}

const char *
cgroup_backend_name(enum cgroup_backend backend)
{
	switch (backend) {
	case CGROUP_V1:
		return "v1";
	case CGROUP_V2:
		return "v2";
	default:
		return "none";
	}
}

static int
cgroup_root_detect(struct cgroup_root *root, struct cgroup_detect *d)
{
	char	*mountinfo, *self;
	int	 r;

	mountinfo = cgroup_slurp("/proc/self/mountinfo");
	self = cgroup_slurp("/proc/self/cgroup");
	if (mountinfo == NULL || self == NULL) {
		free(root->cause);
		xasprintf(&root->cause, "cannot read /proc/self: %s",
		    strerror(errno));
		free(mountinfo);
		free(self);
		memset(d, 0, sizeof *d);
		return -1;
	}
	r = cgroup_detect_parse(mountinfo, self, d);
	free(mountinfo);
	free(self);
	if (r == -1) {
		free(root->cause);
		root->cause = xstrdup("no cgroup filesystem is mounted");
	}
	return r;
}

static int
cgroup_root_v2_usable(const struct cgroup_detect *d)
{
	char	 buf[512];

	if (d->v2dir == NULL ||
	    cgroup_file_read(d->v2dir, "cgroup.controllers", buf,
	    sizeof buf) < 0)
		return 0;
	return (cgroup_v2_controller_bits(buf) & CGROUP_MEMORY) != 0;
}

static int
cgroup_root_setup(struct cgroup_root *root, const struct cgroup_detect *d)
{
	if (cgroup_root_v2_usable(d)) {
		if (cgroup_v2_setup(root, d) == 0) {
			root->backend = CGROUP_V2;
			return 0;
		}
		return -1;
	}
	if (d->nv1 > 0) {
		if (cgroup_v1_setup(root, d) == 0) {
			root->backend = CGROUP_V1;
			return 0;
		}
		return -1;
	}
	free(root->cause);
	root->cause = xstrdup("no cgroup hierarchy offers the memory, cpu or "
	    "pids controller to this process");
	return -1;
}

/* Forgets a first attempt: its (empty) directories go, the state clears. */
static void
cgroup_root_reset(struct cgroup_root *root)
{
	int	 h;

	for (h = 0; h < root->nhier; h++) {
		if (root->hier[h].top != NULL)
			cgroup_rmdir(root->hier[h].top);
		if (root->hier[h].lockfd != -1)
			close(root->hier[h].lockfd);
		free(root->hier[h].own);
		free(root->hier[h].top);
	}
	memset(root->hier, 0, sizeof root->hier);
	root->nhier = 0;
	root->controllers = 0;
	root->backend = CGROUP_NONE;
	if (root->leaf != NULL)
		cgroup_rmdir(root->leaf);
	free(root->leaf);
	root->leaf = NULL;
	free(root->cause);
	root->cause = NULL;
}

/*
 * Under systemd, a daemon whose cgroup it may not write (a user's session,
 * a service without Delegate=yes) or must share with other processes asks
 * for a transient scope with Delegate=yes, which moves it into a cgroup of
 * its own, and sets up again there.
 */
static int
cgroup_root_try_scope(struct cgroup_root *root, struct cgroup_detect *d)
{
	char	*cause = NULL, *scope = NULL;

	if (access("/run/systemd/system", F_OK) != 0)
		return -1;
	if (cgroup_scope_request(&scope, &cause) != 0) {
		log_warnx("cgroup: no delegated systemd scope: %s", cause);
		free(cause);
		return -1;
	}
	log_info("cgroup: running in transient scope %s", scope);
	cgroup_root_reset(root);
	root->scope = scope;
	cgroup_detect_free(d);
	if (cgroup_root_detect(root, d) == -1)
		return -1;
	return cgroup_root_setup(root, d);
}

/*
 * Never fails: without cgroup access the root has backend CGROUP_NONE and
 * root->cause says why, for the one log line and for `corral info`.
 */
struct cgroup_root *
cgroup_root_create(const char *name, int flags)
{
	struct cgroup_root	*root;
	struct cgroup_detect	 d;
	const char		*env = getenv("CORRAL_CGROUP");

	root = xcalloc(1, sizeof *root);
	root->name = xstrdup(name);
	hmap_init(&root->slots);
	hmap_init(&root->busy);
	TAILQ_INIT(&root->slot_list);
	if ((env != NULL && strcmp(env, "off") == 0) ||
	    (flags & CGROUP_ROOT_OFF)) {
		root->cause = xstrdup("cgroups are turned off "
		    "(CORRAL_CGROUP=off)");
	} else if (cgroup_root_detect(root, &d) == 0) {
		if ((cgroup_root_setup(root, &d) == -1 ||
		    (root->backend == CGROUP_V2 &&
		    !(root->controllers & CGROUP_MEMORY))) &&
		    !(flags & CGROUP_ROOT_NO_SCOPE))
			cgroup_root_try_scope(root, &d);
		cgroup_detect_free(&d);
	}
	if (root->backend == CGROUP_NONE) {
		log_warnx("cgroup: limits are not enforced: %s; stopping by "
		    "process group, accounting from /proc", root->cause);
	} else {
		log_info("cgroup: %s backend under %s", cgroup_backend_name(
		    root->backend), cgroup_root_top(root));
		if (root->cause != NULL)
			log_warnx("cgroup: %s", root->cause);
	}
	return root;
}

/*
 * Makes and locks the tops again where they vanished (a daemon of an
 * older version swept them while they were empty); v2 delegates the
 * controllers again.  Returns 0, or -1 with *cause set.
 */
int
cgroup_root_ensure_tops(struct cgroup_root *root, char **cause)
{
	int	 h, r;

	for (h = 0; h < root->nhier; h++) {
		r = cgroup_lock_keep(root->hier[h].top, &root->hier[h].lockfd,
		    cause);
		if (r == -1)
			return -1;
		if (r == 1) {
			log_warnx("cgroup: %s was removed by another "
			    "process, made again", root->hier[h].top);
			if (root->backend == CGROUP_V2)
				cgroup_v2_reenable(root);
		}
	}
	return 0;
}

/* Kills and removes every cgroup below dir (depth first). */
static int
cgroup_root_sweep_dir(struct cgroup_root *root, const char *dir, int depth)
{
	struct dirent	*de;
	DIR		*d;
	char		*sub;
	int		 n = 0, r;

	if (depth > 0 && (d = opendir(dir)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (de->d_type != DT_DIR || de->d_name[0] == '.')
				continue;
			xasprintf(&sub, "%s/%s", dir, de->d_name);
			n += cgroup_root_sweep_dir(root, sub, depth - 1);
			if (cgroup_rmdir(sub) != 0)
				cgroup_root_pending_add(root, sub);
			free(sub);
		}
		closedir(d);
	}
	if ((r = cgroup_kill_pids(dir, SIGKILL)) > 0)
		n += r;
	return n;
}

/*
 * Kills and removes whatever is below the tops; returns how many processes
 * were killed (each hierarchy lists the same ones: the most, not the sum).
 */
static int
cgroup_root_sweep_tops(struct cgroup_root *root)
{
	int	 h, n = 0, m;

	for (h = 0; h < root->nhier; h++) {
		if ((m = cgroup_root_sweep_dir(root, root->hier[h].top, 2)) > n)
			n = m;
	}
	return n;
}

/*
 * At a fresh start (not a re-exec): whatever an earlier daemon of this
 * home left under the tops is killed and removed.
 */
void
cgroup_root_sweep(struct cgroup_root *root)
{
	int	 h, n = cgroup_root_sweep_tops(root);

	for (h = 0; h < root->nhier; h++)
		cgroup_lock_sweep_others(root->hier[h].own, root->name);
	if (n > 0)
		log_warnx("cgroup: killed %d process(es) left by an earlier "
		    "daemon", n);
}

/*
 * Removes what the daemon created, once every app has stopped: the kept
 * slots, then whatever is left below the tops (killed first: a tree in a
 * cgroup no instance had, such as one whose process died with another of
 * its index while no engine ran), waiting up to 5 s for dying tasks
 * (killed orphans wait for init to reap them), then the tops; a v2 daemon
 * that moved itself into a leaf (beside the tops, never below) moves back
 * when it can.  Logs what stays.
 */
void
cgroup_root_teardown(struct cgroup_root *root)
{
	int	 i, error, n;

	cgroup_slots_free(root, 1);
	if ((n = cgroup_root_sweep_tops(root)) > 0)
		log_warnx("cgroup: killed %d process(es) left in no "
		    "instance's cgroup", n);
	cgroup_root_gc_all(root, 5000);
	for (i = 0; i < root->nhier; i++) {
		if ((error = cgroup_rmtree(root->hier[i].top, 2)) != 0)
			log_warnx("cgroup: %s stays: %s", root->hier[i].top,
			    strerror(-error));
	}
	if (root->backend == CGROUP_V2)
		cgroup_v2_teardown(root);
}

void
cgroup_root_free(struct cgroup_root *root)
{
	int	 h;

	if (root == NULL)
		return;
	cgroup_root_pending_free(root);
	cgroup_slots_free(root, 0);
	hmap_free(&root->busy);
	for (h = 0; h < root->nhier; h++) {
		if (root->hier[h].lockfd != -1)
			close(root->hier[h].lockfd);
		free(root->hier[h].own);
		free(root->hier[h].top);
	}
	free(root->name);
	free(root->cause);
	free(root->scope);
	free(root->leaf);
	free(root);
}

static void
cgroup_info_bits(json_t *array, int bits)
{
	static const struct {
		int bit;
		const char *name;
	} names[] = {
		{ CGROUP_MEMORY, "memory" }, { CGROUP_CPU, "cpu" },
		{ CGROUP_CPUACCT, "cpuacct" }, { CGROUP_PIDS, "pids" },
		{ CGROUP_FREEZER, "freezer" }, { CGROUP_KILL, "kill" },
		{ CGROUP_SWAP, "swap" },
	};
	size_t	 i;

	for (i = 0; i < nitems(names); i++) {
		if (bits & names[i].bit)
			json_array_append_new(array,
			    json_str(names[i].name));
	}
}

/* What this host and daemon support, for `corral info`. */
json_t *
cgroup_root_info(const struct cgroup_root *root)
{
	json_t		*o, *hier, *h, *features;
	struct utsname	 u;
	int		 i;

	o = json_object();
	json_object_set_new(o, "backend",
	    json_str(cgroup_backend_name(root->backend)));
	features = json_array();
	cgroup_info_bits(features, root->controllers);
	json_object_set_new(o, "features", features);
	hier = json_array();
	for (i = 0; i < root->nhier; i++) {
		h = json_object();
		json_object_set_new(h, "own", json_str(root->hier[i].own));
		json_object_set_new(h, "top", json_str(root->hier[i].top));
		features = json_array();
		cgroup_info_bits(features, root->hier[i].controllers);
		json_object_set_new(h, "controllers", features);
		json_array_append_new(hier, h);
	}
	json_object_set_new(o, "hierarchies", hier);
	json_object_set_new(o, "cause", root->cause == NULL ? json_null() :
	    json_str(root->cause));
	json_object_set_new(o, "scope", root->scope == NULL ? json_null() :
	    json_str(root->scope));
	json_object_set_new(o, "leaf", root->leaf == NULL ? json_null() :
	    json_str(root->leaf));
	json_object_set_new(o, "systemd",
	    json_boolean(access("/run/systemd/system", F_OK) == 0));
	if (uname(&u) == 0)
		json_object_set_new(o, "kernel", json_str(u.release));
	json_object_set_new(o, "euid", json_integer(geteuid()));
	return o;
}
