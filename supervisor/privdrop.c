/* SPDX-License-Identifier: ISC */
/*
 * Running an app as another user (`user` and `group` keys), when corrald
 * runs as root. Names are resolved once, when the app is declared, into
 * the numbers a spawn plan carries (uid, gid, the user's supplementary
 * groups), so that the child between fork and exec does nothing but
 * system calls: privswitch() (common/privswitch.c), which the keeper's
 * child and corral-exec (health checks) run after joining the cgroup.
 */
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "corrald.h"
#include "privswitch.h"

static int
privdrop_number(const char *s, unsigned long *out)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	*out = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || *out >= (unsigned long)UINT_MAX)
		return -1;
	return 0;
}

static int
privdrop_group(const char *group, gid_t *gid, char **cause)
{
	struct group *gr;
	unsigned long n;

	if (privdrop_number(group, &n) == 0) {
		*gid = (gid_t)n;
		return 0;
	}
	errno = 0;
	if ((gr = getgrnam(group)) == NULL) {
		xasprintf(cause, "unknown group '%s'", group);
		return -1;
	}
	*gid = gr->gr_gid;
	return 0;
}

/*
 * Resolves user (a name or a uid; NULL for the daemon's own) and group (a
 * name or a gid; NULL for the user's primary group) into *pd. Returns 0,
 * or -1 with *cause. privdrop_free() releases *pd either way.
 */
int
privdrop_resolve(const char *user, const char *group, struct privdrop *pd,
    char **cause)
{
	struct passwd *pw = NULL;
	unsigned long n;
	int ng = PRIVSWITCH_MAX_GROUPS;
	gid_t groups[PRIVSWITCH_MAX_GROUPS];

	memset(pd, 0, sizeof *pd);
	pd->uid = geteuid();
	pd->gid = getegid();
	if (user == NULL && group == NULL)
		return 0;
	if (user != NULL) {
		if (privdrop_number(user, &n) == 0) {
			pd->uid = (uid_t)n;
			pw = getpwuid(pd->uid);
		} else if ((pw = getpwnam(user)) == NULL) {
			xasprintf(cause, "unknown user '%s'", user);
			return -1;
		} else
			pd->uid = pw->pw_uid;
		if (pw != NULL) {
			pd->gid = pw->pw_gid;
			pd->name = xstrdup(pw->pw_name);
			pd->home = xstrdup(pw->pw_dir);
		}
	}
	if (group != NULL && privdrop_group(group, &pd->gid, cause) != 0)
		return -1;
	if (geteuid() != 0 && (pd->uid != geteuid() || pd->gid != getegid())) {
		xasprintf(cause, "only root can run an app as another user or "
		    "group");
		return -1;
	}
	pd->active = geteuid() == 0;
	if (pw != NULL && getgrouplist(pw->pw_name, pd->gid, groups, &ng) !=
	    -1) {
		pd->groups = xreallocarray(NULL, (size_t)ng, sizeof *groups);
		memcpy(pd->groups, groups, (size_t)ng * sizeof *groups);
		pd->ngroups = (size_t)ng;
	} else {
		pd->groups = xmalloc(sizeof *groups);
		pd->groups[0] = pd->gid;
		pd->ngroups = 1;
	}
	return 0;
}

void
privdrop_free(struct privdrop *pd)
{
	free(pd->groups);
	free(pd->name);
	free(pd->home);
	memset(pd, 0, sizeof *pd);
}

/*
 * In the child, between fork and exec: takes on the resolved identity
 * with privswitch(), as corral-exec does. Returns 0, or -1 with errno set.
 */
int
privdrop_apply(const struct privdrop *pd)
{
	if (!pd->active)
		return 0;
	return privswitch(pd->uid, pd->gid, pd->groups, pd->ngroups, NULL);
}
