/* SPDX-License-Identifier: ISC */
/*
 * The keeper's descriptors: files opened without blocking (the log, the
 * pid file, an engine binary: a FIFO planted there must not stop the
 * loop, docs/keeper.md "The keeper's files"), and close-on-exec switched
 * around its re-exec.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "keeper.h"

void
keeper_cloexec(int fd, int on)
{
	if (fd >= 0)
		(void)fcntl(fd, F_SETFD, on ? FD_CLOEXEC : 0);
}

/*
 * open(2) of a file that must be a regular one (the log, the pid file, an
 * engine binary), never blocking on a FIFO or a device planted there: the
 * descriptor (close-on-exec), or -1 with errno, EINVAL for a file that is
 * not regular.
 */
int
keeper_open_file(const char *path, int flags, mode_t mode)
{
	struct stat st;
	int fd, err;

	fd = open(path, flags | O_NONBLOCK | O_CLOEXEC, mode);
	if (fd == -1)
		return -1;
	err = fstat(fd, &st) == -1 ? errno : !S_ISREG(st.st_mode) ? EINVAL : 0;
	if (err == 0)
		return fd;
	close(fd);
	errno = err;
	return -1;
}

/* What a failed keeper_open_file() says. */
const char *
keeper_open_error(int err)
{
	return err == EINVAL ? "not a regular file" : strerror(err);
}
