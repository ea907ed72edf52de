/* SPDX-License-Identifier: ISC */
/*
 * Accounting without cgroups: one pass over /proc sums the resident memory
 * and CPU time of every process of the given process groups (each instance
 * runs in its own group).  A process that left its group (setsid) is not
 * counted and, without cgroups, not killed either; `corral info` says so.
 * Processes vanish during the pass; that is not an error.
 */
#include <sys/types.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "cgroup.h"

struct cgroup_proc_stat {
	pid_t		 pgrp;
	uint64_t	 ticks;         /* utime + stime + cutime + cstime */
	uint64_t	 rss_pages;
};

/* Parses the fields after "(comm)" of /proc/PID/stat. */
static int
cgroup_proc_parse(const char *buf, struct cgroup_proc_stat *st)
{
	const char		*p = strrchr(buf, ')');
	unsigned long long	 f[24];
	int			 i;
	char			*end;

	if (p == NULL || p[1] != ' ')
		return -1;
	p += 2;
	/* p is at field 3 (state); we need fields 5, 14-17 and 24. */
	while (*p != '\0' && *p != ' ')
		p++;
	for (i = 4; i <= 24; i++) {
		while (*p == ' ')
			p++;
		errno = 0;
		f[i - 1] = strtoull(p, &end, 10);
		if (end == p)
			return -1;
		p = end;
	}
	st->pgrp = (pid_t)f[4];
	st->ticks = f[13] + f[14] + f[15] + f[16];
	st->rss_pages = f[23];
	return 0;
}

static int
cgroup_proc_read(const char *name, struct cgroup_proc_stat *st)
{
	char	 path[64], buf[1024];
	ssize_t	 n;
	int	 fd;

	snprintf(path, sizeof path, "/proc/%s/stat", name);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return cgroup_proc_parse(buf, st);
}

/*
 * Fills out[i] for pgids[i] (n of them) in one pass over /proc.  out's
 * flags say CGROUP_MEMORY | CGROUP_CPUACCT | CGROUP_PIDS.  Returns 0, or a
 * negative errno when /proc cannot be read.
 */
int
cgroup_proc_usage(const pid_t *pgids, size_t n, struct cgroup_usage *out)
{
	struct cgroup_proc_stat	 st;
	struct dirent		*de;
	DIR			*d;
	long			 tick = sysconf(_SC_CLK_TCK);
	long			 page = sysconf(_SC_PAGESIZE);
	size_t			 i;

	for (i = 0; i < n; i++) {
		memset(&out[i], 0, sizeof out[i]);
		out[i].flags = CGROUP_MEMORY | CGROUP_CPUACCT | CGROUP_PIDS;
	}
	if ((d = opendir("/proc")) == NULL)
		return -errno;
	while ((de = readdir(d)) != NULL) {
		if (!isdigit((unsigned char)de->d_name[0]) ||
		    cgroup_proc_read(de->d_name, &st) != 0)
			continue;
		for (i = 0; i < n; i++) {
			if (pgids[i] != st.pgrp || pgids[i] <= 0)
				continue;
			out[i].memory += st.rss_pages * (uint64_t)page;
			out[i].cpu_usec += st.ticks * 1000000 / (uint64_t)tick;
			out[i].pids++;
			break;
		}
	}
	closedir(d);
	return 0;
}

/* Signals a whole process group; 0 or a negative errno (ESRCH: empty). */
int
cgroup_proc_kill(pid_t pgid, int sig)
{
	if (pgid <= 1)
		return -EINVAL;
	return kill(-pgid, sig) == -1 ? -errno : 0;
}
