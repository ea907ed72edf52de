/* SPDX-License-Identifier: ISC */
/*
 * Reading a file a client named (a config file, dump.json) from the
 * daemon's event loop without letting it stall the loop or its memory:
 * opened with O_NONBLOCK and O_NOCTTY (a FIFO or a device never waits for
 * a writer), checked with fstat() before any read (only a regular file of
 * at most max bytes), then read in full.  Reading a bounded regular file
 * in place is chosen over a thread pool: these files are small and local,
 * the reply needs their content, and the only slow case left, a hung
 * network file system, would block the stat() and open() of any start as
 * well.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"

/*
 * Opens path for reading as safefile_read() would and checks it (a
 * regular file of at most max bytes).  Returns the descriptor, or -1 with
 * *cause set ("path: why").
 */
static int
safefile_open(const char *path, size_t max, int flags, struct stat *st,
    char **cause)
{
	int fd;

	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY |
	    O_CLOEXEC | flags)) == -1) {
		xasprintf(cause, "%s: %s", path, errno == ELOOP &&
		    (flags & O_NOFOLLOW) ? "a symbolic link, not followed" :
		    strerror(errno));
		return -1;
	}
	if (fstat(fd, st) == -1 || !S_ISREG(st->st_mode) ||
	    (uint64_t)st->st_size > max) {
		xasprintf(cause, "%s: %s", path, !S_ISREG(st->st_mode) ?
		    "not a regular file" : (uint64_t)st->st_size > max ?
		    "file too large" : strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Whether path may be handed to another reader (node evaluating an
 * ecosystem file): 0, or -1 with *cause set, as safefile_read() checks.
 */
int
safefile_check(const char *path, size_t max, char **cause)
{
	struct stat st;
	int fd;

	if ((fd = safefile_open(path, max, 0, &st, cause)) == -1)
		return -1;
	close(fd);
	return 0;
}

/*
 * Reads all of path into *data (NUL-terminated, *len bytes; the caller
 * frees).  Returns 0, or -1 with *cause set ("path: why").
 */
int
safefile_read(const char *path, size_t max, char **data, size_t *len,
    char **cause)
{
	return safefile_read_flags(path, max, 0, data, len, cause);
}

/*
 * safefile_read() with more open() flags: O_NOFOLLOW refuses a symbolic
 * link as the last component ("a symbolic link, not followed").
 */
int
safefile_read_flags(const char *path, size_t max, int flags, char **data,
    size_t *len, char **cause)
{
	struct stat st;
	char *buf;
	size_t n = 0;
	ssize_t r;
	int fd;

	if ((fd = safefile_open(path, max, flags, &st, cause)) == -1)
		return -1;
	/* One byte more than it says: a file that grows past max fails. */
	buf = xmalloc((size_t)st.st_size + 2);
	while (n < (size_t)st.st_size + 1 && (r = read(fd, buf + n,
	    (size_t)st.st_size + 1 - n)) != 0) {
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1 || n + (size_t)r > max) {
			xasprintf(cause, "%s: %s", path, r == -1 ?
			    strerror(errno) : "file too large");
			free(buf);
			close(fd);
			return -1;
		}
		n += (size_t)r;
	}
	close(fd);
	buf[n] = '\0';
	*data = buf;
	*len = n;
	return 0;
}
