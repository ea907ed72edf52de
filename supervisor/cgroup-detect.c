/* SPDX-License-Identifier: ISC */
/*
 * Finds the daemon's own cgroups from the texts of /proc/self/mountinfo and
 * /proc/self/cgroup: the unified (v2) directory, and one directory per v1
 * hierarchy that carries a controller corral uses.  Nothing is assumed about
 * mount points; a hierarchy whose mount does not show the daemon's cgroup
 * (a bind mount of another subtree, a foreign cgroup namespace) is skipped.
 * These functions only parse; cgroup.c decides which backend to use.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "cgroup.h"

static const struct {
	const char *name;
	int bit;
} cgroup_controller_names[] = {
	{ "memory", CGROUP_MEMORY },
	{ "cpu", CGROUP_CPU },
	{ "cpuacct", CGROUP_CPUACCT },
	{ "pids", CGROUP_PIDS },
	{ "freezer", CGROUP_FREEZER },
};

/* Undoes mountinfo's octal escapes (\040 for a space, ...). */
char *
cgroup_unescape(const char *s, size_t len)
{
	char	*out, *o;
	size_t	 i;

	out = o = xmalloc(len + 1);
	for (i = 0; i < len; i++) {
		if (s[i] == '\\' && i + 3 < len &&
		    s[i + 1] >= '0' && s[i + 1] <= '3' &&
		    s[i + 2] >= '0' && s[i + 2] <= '7' &&
		    s[i + 3] >= '0' && s[i + 3] <= '7') {
			*o++ = (char)((s[i + 1] - '0') * 64 +
			    (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
			i += 3;
		} else
			*o++ = s[i];
	}
	*o = '\0';
	return out;
}

/* Bits of a comma list such as "rw,cpu,cpuacct" or "cpu,cpuacct". */
int
cgroup_v1_controller_bits(const char *list)
{
	const char	*p = list, *end;
	size_t		 len, i;
	int		 bits = 0;

	while (*p != '\0') {
		end = strchr(p, ',');
		len = end == NULL ? strlen(p) : (size_t)(end - p);
		for (i = 0; i < nitems(cgroup_controller_names); i++) {
			if (strlen(cgroup_controller_names[i].name) == len &&
			    strncmp(p, cgroup_controller_names[i].name,
			    len) == 0)
				bits |= cgroup_controller_names[i].bit;
		}
		p += len;
		if (*p == ',')
			p++;
	}
	return bits;
}

/*
 * Bits of a space-separated v2 cgroup.controllers text.  In v2 the cpu
 * controller does both quota and usage; usage (cpu.stat) is there even
 * without it.
 */
int
cgroup_v2_controller_bits(const char *text)
{
	char	*copy, *word, *save;
	int	 bits = CGROUP_CPUACCT;

	copy = xstrdup(text);
	for (word = strtok_r(copy, " \t\n", &save); word != NULL;
	    word = strtok_r(NULL, " \t\n", &save)) {
		if (strcmp(word, "memory") == 0)
			bits |= CGROUP_MEMORY;
		else if (strcmp(word, "cpu") == 0)
			bits |= CGROUP_CPU;
		else if (strcmp(word, "pids") == 0)
			bits |= CGROUP_PIDS;
	}
	free(copy);
	return bits;
}

/* Splits one mountinfo line; returns 0 for a cgroup mount, -1 otherwise. */
static int
cgroup_detect_mount(char *line, struct cgroup_mount *m)
{
	char	*field[6], *sep, *fstype, *super, *p;
	int	 i;

	p = line;
	for (i = 0; i < 6; i++) {
		while (*p == ' ')
			p++;
		field[i] = p;
		if ((p = strchr(p, ' ')) == NULL)
			return -1;
		*p++ = '\0';
	}
	/* field[3] = root, field[4] = mount point; skip optional fields. */
	if ((sep = strstr(p, " - ")) == NULL) {
		if (strncmp(p, "- ", 2) != 0)
			return -1;
		sep = p - 1;
	}
	fstype = sep + 3;
	if ((p = strchr(fstype, ' ')) == NULL)
		return -1;
	*p++ = '\0';
	if ((super = strchr(p, ' ')) == NULL)
		return -1;
	super++;
	memset(m, 0, sizeof *m);
	if (strcmp(fstype, "cgroup2") == 0)
		m->v2 = 1;
	else if (strcmp(fstype, "cgroup") == 0) {
		m->controllers = cgroup_v1_controller_bits(super);
		m->named = strstr(super, "name=") != NULL;
	} else
		return -1;
	m->root = cgroup_unescape(field[3], strlen(field[3]));
	m->dir = cgroup_unescape(field[4], strlen(field[4]));
	return 0;
}

/*
 * The directory of cgroup path "cg" under mount m, or NULL when the mount
 * does not show it (its root is not a prefix of cg).
 */
static char *
cgroup_detect_dir(const struct cgroup_mount *m, const char *cg)
{
	size_t	 rlen = strlen(m->root);
	char	*dir;

	if (strcmp(m->root, "/") == 0)
		rlen = 0;
	else if (strncmp(cg, m->root, rlen) != 0 ||
	    (cg[rlen] != '/' && cg[rlen] != '\0'))
		return NULL;
	cg += rlen;
	if (strcmp(cg, "/") == 0 || *cg == '\0')
		return xstrdup(m->dir);
	xasprintf(&dir, "%s%s", m->dir, cg);
	return dir;
}

/* Handles one /proc/self/cgroup line "ID:CONTROLLERS:PATH". */
static void
cgroup_detect_line(char *line, struct cgroup_detect *d)
{
	char	*c1, *c2, *path, *dir;
	int	 bits, i;

	if ((c1 = strchr(line, ':')) == NULL ||
	    (c2 = strchr(c1 + 1, ':')) == NULL)
		return;
	*c2 = '\0';
	path = c2 + 1;
	if (strcmp(line, "0:") == 0) {
		for (i = 0; i < d->nmount && d->v2dir == NULL; i++) {
			if (d->mount[i].v2)
				d->v2dir = cgroup_detect_dir(&d->mount[i],
				    path);
		}
		return;
	}
	if ((bits = cgroup_v1_controller_bits(c1 + 1)) == 0)
		return;
	for (i = 0; i < d->nv1; i++) {
		if (d->v1[i].controllers == bits)
			return;
	}
	for (i = 0; i < d->nmount && d->nv1 < CGROUP_MAX_HIER; i++) {
		if (d->mount[i].v2 || d->mount[i].controllers != bits)
			continue;
		if ((dir = cgroup_detect_dir(&d->mount[i], path)) == NULL)
			continue;
		d->v1[d->nv1].dir = dir;
		d->v1[d->nv1++].controllers = bits;
		return;
	}
}

/*
 * Parses both texts into d (cleared first).  Returns 0, or -1 when no
 * cgroup filesystem is mounted at all.  The strings are not modified.
 */
int
cgroup_detect_parse(const char *mountinfo, const char *self,
    struct cgroup_detect *d)
{
	char	*copy, *line, *save;

	memset(d, 0, sizeof *d);
	copy = xstrdup(mountinfo);
	for (line = strtok_r(copy, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if (d->nmount == (int)nitems(d->mount))
			break;
		if (cgroup_detect_mount(line, &d->mount[d->nmount]) == 0)
			d->nmount++;
	}
	free(copy);
	copy = xstrdup(self);
	for (line = strtok_r(copy, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save))
		cgroup_detect_line(line, d);
	free(copy);
	return d->nmount == 0 ? -1 : 0;
}

void
cgroup_detect_free(struct cgroup_detect *d)
{
	int	 i;

	for (i = 0; i < d->nmount; i++) {
		free(d->mount[i].dir);
		free(d->mount[i].root);
	}
	for (i = 0; i < d->nv1; i++)
		free(d->v1[i].dir);
	free(d->v2dir);
	memset(d, 0, sizeof *d);
}
