/* SPDX-License-Identifier: ISC */
/*
 * A batch of short, independent jobs (the reads of a sample of every
 * instance: 4,000 pread()s at 2,000 rows, issue 16) cut in slices, one on
 * the loop thread and one on each helper thread, up to one thread per
 * CPU the daemon may use (SPREAD_MAX at most).  The loop waits for the
 * helpers' slices before it goes on, as it waited for its own reads
 * before: nothing else runs meanwhile, so a job may read what the loop
 * owns, and each slice must touch only what is its own.  The helpers
 * start at the first batch big enough and sleep on a condition between
 * batches: no work while nobody asks.  Without them (one CPU, no thread)
 * the loop does it all.
 */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>

#include "corrald.h"
#include "spread.h"

#define SPREAD_MAX 4                    /* threads, the loop's included */

static struct {
	pthread_mutex_t mu;
	pthread_cond_t go;              /* a batch is there (gen moved) */
	pthread_cond_t done;            /* pending reached 0 */
	int started;                    /* helpers tried */
	size_t nhelpers;                /* helpers running */
	unsigned long gen;              /* batches handed out */
	size_t pending;                 /* helpers' slices not done */
	spread_fn *fn;
	void *arg;
	size_t n, slices;
} SP = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
    PTHREAD_COND_INITIALIZER, 0, 0, 0, 0, NULL, NULL, 0, 0 };

/* Helper k (1 .. nhelpers) runs slice k of each batch that has one. */
static void *
spread_main(void *p)
{
	size_t		 k = (size_t)(uintptr_t)p, from, to;
	unsigned long	 seen = 0;
	spread_fn	*fn;
	void		*arg;

	pthread_mutex_lock(&SP.mu);
	for (;;) {
		while (SP.gen == seen)
			pthread_cond_wait(&SP.go, &SP.mu);
		seen = SP.gen;
		if (k >= SP.slices)
			continue;       /* a smaller batch: not needed */
		from = SP.n * k / SP.slices;
		to = SP.n * (k + 1) / SP.slices;
		fn = SP.fn;
		arg = SP.arg;
		pthread_mutex_unlock(&SP.mu);
		fn(arg, from, to);
		pthread_mutex_lock(&SP.mu);
		if (--SP.pending == 0)
			pthread_cond_signal(&SP.done);
	}
	return NULL;
}

/*
 * Starts the helpers once: one less than the CPUs (affinity, quota),
 * signals blocked (the loop takes them), detached (they sleep until the
 * process ends).  One that fails to start leaves the rest to the loop.
 */
static void
spread_start(void)
{
	pthread_attr_t	 attr;
	pthread_t	 t;
	sigset_t	 all, old;
	int		 ncpu;

	if (SP.started)
		return;
	SP.started = 1;
	if ((ncpu = cpus_available()) > SPREAD_MAX)
		ncpu = SPREAD_MAX;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	while ((int)SP.nhelpers + 1 < ncpu && pthread_create(&t, &attr,
	    spread_main, (void *)(uintptr_t)(SP.nhelpers + 1)) == 0)
		SP.nhelpers++;
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/*
 * Runs fn(arg, from, to) over [0, n) in slices of at least min_each
 * (below that, a thread's wake-up costs more than it saves), and returns
 * when every slice is done.
 */
void
spread_run(size_t n, size_t min_each, spread_fn *fn, void *arg)
{
	size_t	 slices = min_each > 0 ? n / min_each : n;

	if (slices > 1)
		spread_start();
	if (slices > SP.nhelpers + 1)
		slices = SP.nhelpers + 1;
	if (slices <= 1) {
		fn(arg, 0, n);
		return;
	}
	pthread_mutex_lock(&SP.mu);
	SP.fn = fn;
	SP.arg = arg;
	SP.n = n;
	SP.slices = slices;
	SP.pending = slices - 1;
	SP.gen++;
	pthread_cond_broadcast(&SP.go);
	pthread_mutex_unlock(&SP.mu);
	fn(arg, 0, n / slices);
	pthread_mutex_lock(&SP.mu);
	while (SP.pending > 0)
		pthread_cond_wait(&SP.done, &SP.mu);
	pthread_mutex_unlock(&SP.mu);
}
