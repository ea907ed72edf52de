/* SPDX-License-Identifier: ISC */
/*
 * The one privilege drop of corral: setgroups (the supplementary groups
 * resolved for the user), setgid, setuid, in that order, then a check
 * that root cannot be regained. corrald's privdrop_apply(), corral-exec
 * (which runs it after joining the instance's cgroup) and the keeper's
 * child all call it. Only async-signal-safe calls: it runs in a child
 * between fork and exec.
 */
#include <errno.h>
#include <grp.h>
#include <unistd.h>

#include "privswitch.h"

/*
 * Switches to uid, gid and the ngroups groups (none: an empty list).
 * Returns 0, or -1 with errno set and *step (when not NULL) naming the
 * call that failed (PRIVSWITCH_*).
 */
int
privswitch(uid_t uid, gid_t gid, const gid_t *groups, size_t ngroups,
    int *step)
{
	int unused;

	if (step == NULL)
		step = &unused;
	*step = PRIVSWITCH_GROUPS;
	if (setgroups(ngroups, ngroups > 0 ? groups : NULL) == -1)
		return -1;
	*step = PRIVSWITCH_GID;
	if (setgid(gid) == -1)
		return -1;
	*step = PRIVSWITCH_UID;
	if (setuid(uid) == -1)
		return -1;
	if (uid != 0 && (setuid(0) != -1 || geteuid() == 0)) {
		errno = EPERM;
		return -1;
	}
	return 0;
}
