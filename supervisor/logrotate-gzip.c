/* SPDX-License-Identifier: ISC */
/*
 * The gzip of one rotated log file (zlib, level 6) into a new file: the
 * compressor thread's work (logrotate.c), apart from the rotation and the
 * job queue around it.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>

#include "common.h"
#include "logs.h"

/*
 * Compresses the file open on fd into a new file tmp. Returns 0, or -1 with
 * *cause set.
 */
int
logrotate_gzip_fd(int fd, const char *tmp, char **cause)
{
	char buf[65536];
	gzFile gz;
	ssize_t n;
	int out, err = 0;

	out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW |
	    O_NONBLOCK, 0640);
	if (out == -1) {
		xasprintf(cause, "open %s: %s", tmp, strerror(errno));
		return -1;
	}
	if ((gz = gzdopen(out, "wb6")) == NULL) {
		close(out);
		xasprintf(cause, "gzdopen %s: out of memory", tmp);
		return -1;
	}
	while ((n = read(fd, buf, sizeof buf)) > 0) {
		if (gzwrite(gz, buf, (unsigned)n) != (int)n) {
			gzerror(gz, &err);
			err = err == Z_ERRNO ? errno : EIO;
			break;
		}
	}
	if (n < 0)
		err = errno;
	if (gzclose(gz) != Z_OK && err == 0)
		err = errno != 0 ? errno : EIO;
	if (err != 0) {
		xasprintf(cause, "gzip %s: %s", tmp, strerror(err));
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* Compresses file from into a new file to (both names); for tests and tools. */
int
logrotate_gzip(const char *from, const char *to, char **cause)
{
	int fd, rc;

	if ((fd = open(from, O_RDONLY | O_CLOEXEC | O_NOFOLLOW |
	    O_NONBLOCK)) == -1) {
		xasprintf(cause, "open %s: %s", from, strerror(errno));
		return -1;
	}
	rc = logrotate_gzip_fd(fd, to, cause);
	close(fd);
	return rc;
}
