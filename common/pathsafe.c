/* SPDX-License-Identifier: ISC */
/*
 * Whether a folder is safe to create files in for a user: nobody else may
 * replace it, or any folder above it, with a link to somewhere else, nor
 * plant a link in it where a file is about to be created.  Each folder on
 * the resolved path must be owned by root, by the caller's effective user
 * or by the user the files are for, and be writable by no one else (its
 * group may write when it is root's) unless it is sticky (others may then
 * add entries but not move ours); the folder itself, if others may write
 * it, must be sticky and owned by that user.  Files are then opened with
 * O_NOFOLLOW, so even there a planted link is refused, never followed.
 */
#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"

static int
pathsafe_owner_ok(uid_t owner, uid_t uid)
{
	return owner == 0 || owner == geteuid() || owner == uid;
}

/* Whether users other than the owner (and root) may write in it. */
static int
pathsafe_shared(const struct stat *st)
{
	return (st->st_mode & S_IWOTH) ||
	    ((st->st_mode & S_IWGRP) && st->st_gid != 0);
}

static int
pathsafe_one(const char *dir, const struct stat *st, uid_t uid, int last,
    char **cause)
{
	if (!pathsafe_owner_ok(st->st_uid, uid)) {
		xasprintf(cause, "folder %s belongs to another user (uid %u)",
		    dir, (unsigned)st->st_uid);
		return -1;
	}
	if (!pathsafe_shared(st) || ((st->st_mode & S_ISVTX) &&
	    (!last || st->st_uid == uid)))
		return 0;
	xasprintf(cause, "folder %s can be written by other users (mode "
	    "%04o): use a folder only its owner can write", dir,
	    (unsigned)(st->st_mode & 07777));
	return -1;
}

/*
 * Checks dir (which must exist) for files of uid, as described above.
 * Returns 0, or -1 with *cause set.
 */
int
pathsafe_dir(const char *dir, uid_t uid, char **cause)
{
	struct stat st;
	char *real;
	size_t len;
	int r = 0, last = 1;

	if ((real = realpath(dir, NULL)) == NULL) {
		xasprintf(cause, "folder %s: %s", dir, strerror(errno));
		return -1;
	}
	/* The folder itself, then each folder above it up to /. */
	for (len = strlen(real); r == 0; last = 0) {
		if (stat(len > 0 ? real : "/", &st) == -1 ||
		    !S_ISDIR(st.st_mode)) {
			xasprintf(cause, "%s: not a folder", real);
			r = -1;
			break;
		}
		r = pathsafe_one(len > 0 ? real : "/", &st, uid, last, cause);
		if (len == 0)
			break;
		while (len > 0 && real[len - 1] != '/')
			len--;
		if (len > 0)
			len--;
		real[len] = '\0';
	}
	free(real);
	return r;
}

/* The folder part of path (as dirname would), for pathsafe_dir. */
char *
pathsafe_parent(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return xstrdup(".");
	if (slash == path)
		return xstrdup("/");
	return xstrndup(path, (size_t)(slash - path));
}
