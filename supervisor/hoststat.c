/* SPDX-License-Identifier: ISC */
/*
 * Figures about the host for the header of `corral monit`: host name, load
 * averages, total and available memory, and the number of CPUs online. Read
 * from /proc on each call (a few small reads, once per second at most per
 * subscriber); a figure that cannot be read is reported as 0, never as an
 * error, so that a container with a partial /proc still gets a stream.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "corrald.h"

/*
 * Reads MemTotal and MemAvailable (bytes) from a meminfo file; -1 if the
 * file cannot be read or lacks them.
 */
int
hoststat_meminfo(const char *path, uint64_t *total, uint64_t *avail)
{
	char line[256];
	unsigned long long kb;
	int found = 0;
	FILE *f;

	*total = *avail = 0;
	if ((f = fopen(path, "re")) == NULL)
		return -1;
	while (fgets(line, sizeof line, f) != NULL && found < 2) {
		if (sscanf(line, "MemTotal: %llu kB", &kb) == 1) {
			*total = (uint64_t)kb * 1024;
			found++;
		} else if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1) {
			*avail = (uint64_t)kb * 1024;
			found++;
		}
	}
	fclose(f);
	return found == 2 ? 0 : -1;
}

/* Reads the three load averages from a loadavg file; -1 if it cannot. */
int
hoststat_loadavg(const char *path, double *load)
{
	FILE *f;
	int n;

	load[0] = load[1] = load[2] = 0;
	if ((f = fopen(path, "re")) == NULL)
		return -1;
	n = fscanf(f, "%lf %lf %lf", &load[0], &load[1], &load[2]);
	fclose(f);
	return n == 3 ? 0 : -1;
}

/* {"hostname", "load": [1m, 5m, 15m], "mem_total", "mem_available", "ncpu"} */
json_t *
hoststat_json(void)
{
	char host[256];
	double load[3];
	uint64_t total, avail;
	long ncpu;

	if (gethostname(host, sizeof host) == -1)
		snprintf(host, sizeof host, "?");
	host[sizeof host - 1] = '\0';
	hoststat_loadavg("/proc/loadavg", load);
	hoststat_meminfo("/proc/meminfo", &total, &avail);
	if ((ncpu = sysconf(_SC_NPROCESSORS_ONLN)) < 1)
		ncpu = 1;
	return json_pack("{s:o, s:[f,f,f], s:I, s:I, s:i}", "hostname",
	    json_str(host),
	    "load", load[0], load[1], load[2], "mem_total", (json_int_t)total,
	    "mem_available", (json_int_t)avail, "ncpu", (int)ncpu);
}
