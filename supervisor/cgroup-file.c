/* SPDX-License-Identifier: ISC */
/*
 * Small file helpers for cgroup filesystems: write a value, read a number or
 * a "key value" line, list the pids of a cgroup, make and remove
 * directories.  Kernel files are read with one read() into a caller buffer;
 * every function returns 0 or a negative errno and logs nothing, so the
 * callers decide what deserves a log line.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "cgroup.h"

int
cgroup_file_open(const char *dir, const char *file, int flags)
{
	char	*path;
	int	 fd;

	xasprintf(&path, "%s/%s", dir, file);
	fd = open(path, flags | O_CLOEXEC);
	free(path);
	return fd;
}

/*
 * Writes the formatted value in one write(), as cgroup files want.  Returns
 * 0 or the negative errno of open() or write() (EBUSY, EINVAL, ...).
 */
int
cgroup_file_write(const char *dir, const char *file, const char *fmt, ...)
{
	va_list	 ap;
	char	*value;
	int	 fd, len, error = 0;
	ssize_t	 n;

	va_start(ap, fmt);
	len = xvasprintf(&value, fmt, ap);
	va_end(ap);
	if ((fd = cgroup_file_open(dir, file, O_WRONLY)) == -1) {
		error = -errno;
		free(value);
		return error;
	}
	n = write(fd, value, (size_t)len);
	if (n == -1)
		error = -errno;
	else if (n != len)
		error = -EIO;
	close(fd);
	free(value);
	return error;
}

/*
 * Reads fd from offset 0 (a descriptor kept open reads fresh values each
 * time), at most size-1 bytes, and NUL-terminates.  Returns the length or
 * a negative errno.  A cgroup file makes its whole text at the first read
 * and hands out what fits: a short read is the end, and a sample costs one
 * pread() per file.
 */
ssize_t
cgroup_fd_read(int fd, char *buf, size_t size)
{
	ssize_t	 n, total = 0;
	size_t	 want;

	while ((size_t)total < size - 1) {
		want = size - 1 - (size_t)total;
		n = pread(fd, buf + total, want, (off_t)total);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -errno;
		total += n;
		if ((size_t)n < want)
			break;
	}
	buf[total] = '\0';
	return total;
}

/* Reads at most size-1 bytes and NUL-terminates; returns the length. */
ssize_t
cgroup_file_read(const char *dir, const char *file, char *buf, size_t size)
{
	ssize_t	 n;
	int	 fd;

	if ((fd = cgroup_file_open(dir, file, O_RDONLY)) == -1)
		return -errno;
	n = cgroup_fd_read(fd, buf, size);
	close(fd);
	return n;
}

/* Parses a file's text holding one number; "max" reads as UINT64_MAX. */
int
cgroup_parse_u64(const char *buf, uint64_t *value)
{
	char			*end;
	unsigned long long	 v;

	if (strncmp(buf, "max", 3) == 0) {
		*value = UINT64_MAX;
		return 0;
	}
	errno = 0;
	v = strtoull(buf, &end, 10);
	if (errno != 0 || end == buf)
		return -EINVAL;
	*value = v;
	return 0;
}

/* Reads a file holding one number; "max" reads as UINT64_MAX. */
int
cgroup_file_u64(const char *dir, const char *file, uint64_t *value)
{
	char			 buf[64];
	ssize_t			 n;

	if ((n = cgroup_file_read(dir, file, buf, sizeof buf)) < 0)
		return (int)n;
	return cgroup_parse_u64(buf, value);
}

/*
 * Sets the memory in use in u: usage less the inactive file cache when
 * inactive is not NULL (then also kept in u).
 */
void
cgroup_usage_memory(struct cgroup_usage *u, uint64_t usage,
    const uint64_t *inactive)
{
	if (inactive != NULL) {
		u->inactive_file = *inactive;
		u->flags |= CGROUP_FILESTAT;
		if (*inactive < usage)
			usage -= *inactive;
	}
	u->memory = usage;
	u->flags |= CGROUP_MEMORY;
}

/*
 * The memory in use, from dir's usage file, less the inactive file cache
 * (inactive_key of memory.stat) when want has CGROUP_FILESTAT, into u: v1
 * and v2 differ only in the names.
 */
void
cgroup_file_memory(const char *dir, const char *usage,
    const char *inactive_key, int want, struct cgroup_usage *u)
{
	uint64_t	 v, inactive;

	if (cgroup_file_u64(dir, usage, &v) != 0)
		return;
	cgroup_usage_memory(u, v, (want & CGROUP_FILESTAT) &&
	    cgroup_file_key(dir, "memory.stat", inactive_key, &inactive) == 0 ?
	    &inactive : NULL);
}

/* Finds "key N" in the text of a flat keyed file. */
int
cgroup_parse_key(const char *buf, const char *key, uint64_t *value)
{
	const char	*p;
	char		*end;
	size_t		 klen = strlen(key);

	for (p = buf; p != NULL && *p != '\0'; p = strchr(p, '\n')) {
		if (*p == '\n')
			p++;
		if (strncmp(p, key, klen) == 0 && p[klen] == ' ') {
			errno = 0;
			*value = strtoull(p + klen + 1, &end, 10);
			if (errno != 0 || end == p + klen + 1)
				return -EINVAL;
			return 0;
		}
	}
	return -ENOENT;
}

/* Finds "key N" in a flat keyed file (memory.events, cpu.stat, ...). */
int
cgroup_file_key(const char *dir, const char *file, const char *key,
    uint64_t *value)
{
	char	 buf[8192];
	ssize_t	 n;

	if ((n = cgroup_file_read(dir, file, buf, sizeof buf)) < 0)
		return (int)n;
	return cgroup_parse_key(buf, key, value);
}

int
cgroup_file_exists(const char *dir, const char *file)
{
	char	*path;
	int	 r;

	xasprintf(&path, "%s/%s", dir, file);
	r = access(path, F_OK) == 0;
	free(path);
	return r;
}

/* Reads a whole (small) file into a new string, or NULL with errno set. */
char *
cgroup_slurp(const char *path)
{
	FILE	*f;
	char	*buf = NULL;
	size_t	 len = 0, cap = 0, n;

	if ((f = fopen(path, "re")) == NULL)
		return NULL;
	for (;;) {
		if (cap - len < 4096) {
			cap = cap == 0 ? 8192 : cap * 2;
			buf = xrealloc(buf, cap);
		}
		n = fread(buf + len, 1, cap - len - 1, f);
		len += n;
		if (n == 0)
			break;
	}
	buf[len] = '\0';
	fclose(f);
	return buf;
}

/*
 * Makes base/rel and every missing directory between; EEXIST is fine.
 * Returns 1 when base/rel itself was made now, 0 when it was there, or a
 * negative errno.
 */
int
cgroup_mkdirs(const char *base, const char *rel)
{
	char	*path, *p;
	int	 error = 0;

	xasprintf(&path, "%s/%s", base, rel);
	p = path + strlen(base) + 1;
	for (;;) {
		p = strchr(p, '/');
		if (p != NULL)
			*p = '\0';
		if (mkdir(path, 0755) == 0)
			error = 1;
		else if (errno != EEXIST) {
			error = -errno;
			break;
		} else
			error = 0;
		if (p == NULL)
			break;
		*p++ = '/';
	}
	free(path);
	return error;
}

/*
 * Lists cgroup.procs of dir into a new array the caller frees.  A pid may
 * be gone by the time the caller uses it.
 */
int
cgroup_read_pids(const char *dir, pid_t **pids, size_t *npids)
{
	char	*path, *buf, *p, *end;
	pid_t	*out = NULL;
	size_t	 n = 0, cap = 0;
	long	 v;

	xasprintf(&path, "%s/cgroup.procs", dir);
	buf = cgroup_slurp(path);
	free(path);
	if (buf == NULL)
		return -errno;
	for (p = buf; *p != '\0'; p = end) {
		errno = 0;
		v = strtol(p, &end, 10);
		if (end == p)
			break;
		if (v <= 0)
			continue;
		if (n == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			out = xreallocarray(out, cap, sizeof *out);
		}
		out[n++] = (pid_t)v;
	}
	free(buf);
	*pids = out;
	*npids = n;
	return 0;
}

/* Removes an empty cgroup; a missing one counts as removed. */
int
cgroup_rmdir(const char *dir)
{
	if (rmdir(dir) == -1 && errno != ENOENT)
		return -errno;
	return 0;
}

/*
 * Removes dir and the cgroups below it, depth levels down, as far as they
 * are empty.  Returns 0 once dir is gone, else the error of its rmdir.
 */
int
cgroup_rmtree(const char *dir, int depth)
{
	struct dirent	*de;
	DIR		*d;
	char		*sub;

	if (depth > 0 && (d = opendir(dir)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (de->d_type != DT_DIR || de->d_name[0] == '.')
				continue;
			xasprintf(&sub, "%s/%s", dir, de->d_name);
			cgroup_rmtree(sub, depth - 1);
			free(sub);
		}
		closedir(d);
	}
	return cgroup_rmdir(dir);
}
