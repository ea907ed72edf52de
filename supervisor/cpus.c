/* SPDX-License-Identifier: ISC */
/*
 * The number of CPUs behind "-i max": the CPUs this process may run on
 * (sched_getaffinity), capped by the CPU quota of the cgroups above it
 * (v2 cpu.max, v1 cpu.cfs_quota_us / cpu.cfs_period_us; the smallest along
 * the path to the mount's root). A quota of 1.5 CPUs gives 2 instances: a
 * fraction still needs a process to use it.
 */
#include <sched.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "cluster.h"

#define CPUS_MAX_LINE 4096

int
cpus_affinity(void)
{
	cpu_set_t *set;
	size_t size;
	int n, ncpu = 1024;

	for (;;) {
		set = CPU_ALLOC(ncpu);
		size = CPU_ALLOC_SIZE(ncpu);
		CPU_ZERO_S(size, set);
		if (sched_getaffinity(0, size, set) == 0) {
			n = CPU_COUNT_S(size, set);
			CPU_FREE(set);
			return n > 0 ? n : 1;
		}
		CPU_FREE(set);
		if (ncpu >= 1024 * 64)
			return 1;
		ncpu *= 2;
	}
}

/* A whole file into a string the caller frees, or NULL. */
static char *
cpus_read(const char *path)
{
	FILE *f;
	char *buf;
	size_t n;

	if ((f = fopen(path, "re")) == NULL)
		return NULL;
	buf = xmalloc(CPUS_MAX_LINE);
	n = fread(buf, 1, CPUS_MAX_LINE - 1, f);
	fclose(f);
	buf[n] = '\0';
	return buf;
}

/* CPUs allowed by one directory's files, or 0 for no limit there. */
static double
cpus_dir_limit(const char *dir, int v2)
{
	char *path, *text, *text2;
	double quota, period, r = 0;
	char q[32];

	if (v2) {
		xasprintf(&path, "%s/cpu.max", dir);
		text = cpus_read(path);
		free(path);
		if (text != NULL && sscanf(text, "%31s %lf", q, &period) == 2 &&
		    strcmp(q, "max") != 0 && period > 0 &&
		    (quota = strtod(q, NULL)) > 0)
			r = quota / period;
		free(text);
		return r;
	}
	xasprintf(&path, "%s/cpu.cfs_quota_us", dir);
	text = cpus_read(path);
	free(path);
	xasprintf(&path, "%s/cpu.cfs_period_us", dir);
	text2 = cpus_read(path);
	free(path);
	if (text != NULL && text2 != NULL && sscanf(text, "%lf", &quota) == 1 &&
	    sscanf(text2, "%lf", &period) == 1 && quota > 0 && period > 0)
		r = quota / period;
	free(text);
	free(text2);
	return r;
}

/* The smallest limit from prefix+mnt+rel up to prefix+mnt. */
static double
cpus_walk(const char *prefix, const char *mnt, const char *rel, int v2)
{
	char *dir, *slash;
	double best = 0, r;
	size_t base;

	xasprintf(&dir, "%s%s", prefix, mnt);
	base = strlen(dir);
	free(dir);
	xasprintf(&dir, "%s%s%s", prefix, mnt, strcmp(rel, "/") == 0 ? "" : rel);
	for (;;) {
		r = cpus_dir_limit(dir, v2);
		if (r > 0 && (best == 0 || r < best))
			best = r;
		if (strlen(dir) <= base)
			break;
		slash = strrchr(dir, '/');
		if (slash == NULL || (size_t)(slash - dir) < base)
			break;
		*slash = '\0';
	}
	free(dir);
	return best;
}

/* Whether a comma-separated list holds word. */
static int
cpus_has_word(const char *list, const char *word)
{
	size_t n = strlen(word);
	const char *p = list;

	while ((p = strstr(p, word)) != NULL) {
		if ((p == list || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
			return 1;
		p += n;
	}
	return 0;
}

/*
 * Copies the next line of the text at *p (without its newline) into line
 * and moves *p past it. Returns 1, 0 at the end of the text, or -1 for a
 * line of size bytes or more (skipped).
 */
static int
cpus_next_line(const char **p, char *line, size_t size)
{
	const char *start = *p, *nl;
	size_t len;

	if (*start == '\0')
		return 0;
	if ((nl = strchr(start, '\n')) == NULL)
		nl = start + strlen(start);
	*p = *nl == '\0' ? nl : nl + 1;
	len = (size_t)(nl - start);
	if (len >= size)
		return -1;
	memcpy(line, start, len);
	line[len] = '\0';
	return 1;
}

/*
 * The mount point and root of the cgroup hierarchy (v2 if v2, else the v1
 * one with the "cpu" controller) from mountinfo text, into mnt and root.
 */
static int
cpus_find_mount(const char *mountinfo, int v2, char *mnt, char *root,
    size_t size)
{
	char line[CPUS_MAX_LINE], fs[64], opts[1024], r[1024], m[1024];
	const char *p = mountinfo, *dash;
	int got;

	while ((got = cpus_next_line(&p, line, sizeof line)) != 0) {
		if (got == -1)
			continue;
		dash = strstr(line, " - ");
		if (dash == NULL ||
		    sscanf(line, "%*s %*s %*s %1023s %1023s", r, m) != 2 ||
		    sscanf(dash + 3, "%63s %*s %1023s", fs, opts) != 2)
			continue;
		if (v2 ? strcmp(fs, "cgroup2") != 0 :
		    strcmp(fs, "cgroup") != 0 || !cpus_has_word(opts, "cpu"))
			continue;
		snprintf(mnt, size, "%s", m);
		snprintf(root, size, "%s", r);
		return 0;
	}
	return -1;
}

/*
 * The CPU quota above the process described by /proc/self/cgroup text and
 * /proc/self/mountinfo text, with prefix put before every path (tests use
 * a fake tree): the number of CPUs rounded up, or 0 for no quota.
 */
int
cpus_quota(const char *proc_cgroup, const char *mountinfo, const char *prefix)
{
	char line[CPUS_MAX_LINE], mnt[1024], root[1024];
	const char *p = proc_cgroup, *path, *rel;
	double best = 0, r;
	int v2, got;

	while ((got = cpus_next_line(&p, line, sizeof line)) != 0) {
		if (got == -1)
			continue;
		/* "ID:CONTROLLERS:PATH" */
		if ((path = strchr(line, ':')) == NULL ||
		    (path = strchr(path + 1, ':')) == NULL)
			continue;
		path++;
		if (strncmp(line, "0::", 3) == 0)
			v2 = 1;
		else {
			*(char *)(path - 1) = '\0';
			if (!cpus_has_word(strchr(line, ':') + 1, "cpu"))
				continue;
			v2 = 0;
		}
		if (cpus_find_mount(mountinfo, v2, mnt, root, sizeof mnt) == -1)
			continue;
		rel = path;
		if (strcmp(root, "/") != 0 &&
		    strncmp(path, root, strlen(root)) == 0)
			rel = path + strlen(root);
		if (*rel == '\0')
			rel = "/";
		r = cpus_walk(prefix, mnt, rel, v2);
		if (r > 0 && (best == 0 || r < best))
			best = r;
	}
	if (best <= 0)
		return 0;
	return (int)ceil(best - 1e-9);
}

/* CPUs for "-i max": affinity capped by the quota, at least 1. */
int
cpus_available(void)
{
	char *cg, *mi;
	int n, q = 0;

	n = cpus_affinity();
	cg = cpus_read("/proc/self/cgroup");
	mi = NULL;
	if (cg != NULL) {
		/* mountinfo can be longer than one buffer. */
		FILE *f = fopen("/proc/self/mountinfo", "re");
		if (f != NULL) {
			size_t cap = 65536, len = 0, got;
			mi = xmalloc(cap);
			while ((got = fread(mi + len, 1, cap - 1 - len, f)) > 0) {
				len += got;
				if (len == cap - 1) {
					cap *= 2;
					mi = xrealloc(mi, cap);
				}
			}
			mi[len] = '\0';
			fclose(f);
		}
	}
	if (cg != NULL && mi != NULL)
		q = cpus_quota(cg, mi, "");
	free(cg);
	free(mi);
	if (q > 0 && q < n)
		n = q;
	return n < 1 ? 1 : n;
}
