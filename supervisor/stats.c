/* SPDX-License-Identifier: ISC */
/*
 * CPU and memory of running instances, read from /proc for the main
 * process. A slow timer keeps a recent sample so that `ls` can give a CPU
 * percentage over a real interval without waiting.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "corrald.h"

#define STATS_MIN_INTERVAL 200  /* ms between two samples used for CPU % */

static int
stats_read(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd == -1)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return 0;
}

/* Reads utime+stime (ticks) and RSS (bytes) of pid; -1 if it is gone. */
static int
stats_proc(int pid, uint64_t *ticks, uint64_t *rss)
{
	char path[64], buf[1024], *p;
	unsigned long long ut, st, pages;

	snprintf(path, sizeof path, "/proc/%d/stat", pid);
	if (stats_read(path, buf, sizeof buf) == -1)
		return -1;
	/* The command name may hold spaces and parentheses: skip past its end. */
	if ((p = strrchr(buf, ')')) == NULL)
		return -1;
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu"
	    " %*d %*d %*d %*d %*d %*d %*u %*u %llu", &ut, &st, &pages) != 3)
		return -1;
	*ticks = ut + st;
	*rss = pages * (uint64_t)sysconf(_SC_PAGESIZE);
	return 0;
}

/* Takes a sample; CPU % covers the time since the last one. */
void
stats_sample(struct instance *inst)
{
	static long hz;
	uint64_t ticks, rss, now = mono_ms();

	if (inst->child == NULL)
		return;
	if (hz == 0)
		hz = sysconf(_SC_CLK_TCK);
	if (inst->cpu_at != 0 && now - inst->cpu_at < STATS_MIN_INTERVAL)
		return;
	if (stats_proc(inst->pid, &ticks, &rss) == -1)
		return;
	if (inst->cpu_at != 0 && ticks >= inst->cpu_ticks)
		inst->cpu = (double)(ticks - inst->cpu_ticks) * 1000.0 /
		    (double)hz * 100.0 / (double)(now - inst->cpu_at);
	inst->cpu_ticks = ticks;
	inst->cpu_at = now;
	inst->memory = rss;
}

static void
stats_tick(uv_timer_t *t)
{
	struct app *app;
	struct instance *inst;

	(void)t;
	TAILQ_FOREACH(app, &D.apps, entry) {
		TAILQ_FOREACH(inst, &app->instances, entry)
			stats_sample(inst);
	}
}

void
stats_start(void)
{
	uv_timer_init(D.loop, &D.stats_timer);
	uv_timer_start(&D.stats_timer, stats_tick, STATS_INTERVAL_MS,
	    STATS_INTERVAL_MS);
}
