/* SPDX-License-Identifier: ISC */
/*
 * Where corral keeps its state: $CORRAL_HOME, else ~/.corral, and the files
 * in it (the folder is private, 0700, because it holds the control socket);
 * and where corral's own programs and libraries are: beside the running
 * binary (a build tree), else in CORRAL_LIBDIR (installed).
 */
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"

/* Returns the state folder; the caller frees it. */
char *
paths_home(void)
{
	const char *home = getenv("CORRAL_HOME");
	struct passwd *pw;
	char *path;

	if (home != NULL && *home != '\0')
		return xstrdup(home);
	home = getenv("HOME");
	if (home == NULL || *home == '\0') {
		pw = getpwuid(getuid());
		home = pw != NULL ? pw->pw_dir : "/";
	}
	xasprintf(&path, "%s/.corral", home);
	return path;
}

/*
 * One of corral's own files (corrald, corral-exec, libcorral-preload.so,
 * ...): beside the running binary, else in CORRAL_LIBDIR, the first that
 * access(2) grants mode (X_OK for a program, R_OK for a library or
 * script). NULL if neither; the caller frees the path.
 */
char *
paths_own(const char *name, int mode)
{
	char self[PATH_MAX], *slash, *path;
	ssize_t n;

	n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n > 0) {
		self[n] = '\0';
		if ((slash = strrchr(self, '/')) != NULL) {
			*slash = '\0';
			xasprintf(&path, "%s/%s", self, name);
			if (access(path, mode) == 0)
				return path;
			free(path);
		}
	}
	xasprintf(&path, "%s/%s", CORRAL_LIBDIR, name);
	if (access(path, mode) == 0)
		return path;
	free(path);
	return NULL;
}

char *
paths_file(const char *home, const char *name)
{
	char *path;

	xasprintf(&path, "%s/%s", home, name);
	return path;
}

/*
 * Creates dir (and its parent if missing) mode 0700, or checks that the
 * existing one is ours and private enough for a control socket, and that
 * no other user can replace it or a folder above it (pathsafe.c).
 */
int
paths_mkdir_private(const char *dir, char **cause)
{
	struct stat st;
	char *parent, *slash;

	if (mkdir(dir, 0700) == -1 && errno == ENOENT) {
		parent = xstrdup(dir);
		slash = strrchr(parent, '/');
		if (slash != NULL && slash != parent) {
			*slash = '\0';
			(void)mkdir(parent, 0700);
		}
		free(parent);
		(void)mkdir(dir, 0700);
	}
	if (stat(dir, &st) == -1) {
		xasprintf(cause, "%s: %s", dir, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		xasprintf(cause, "%s: not a directory", dir);
		return -1;
	}
	if (st.st_uid != getuid()) {
		xasprintf(cause, "%s: owned by another user", dir);
		return -1;
	}
	if ((st.st_mode & 077) != 0 && chmod(dir, 0700) == -1) {
		xasprintf(cause, "%s: %s", dir, strerror(errno));
		return -1;
	}
	if (access(dir, W_OK | X_OK) == -1) {
		xasprintf(cause, "%s: %s", dir, strerror(errno));
		return -1;
	}
	return pathsafe_dir(dir, getuid(), cause);
}
