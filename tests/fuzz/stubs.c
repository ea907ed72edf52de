/* SPDX-License-Identifier: ISC */
/*
 * What supervisor/main.c gives the rest of the daemon, for harnesses that
 * link the daemon's library: an idle daemon with no loop, no app and a
 * clock that does not move.
 */
#include "corrald.h"

struct daemon D;

uint64_t now_ms(void) { return 1700000000000ULL; }
uint64_t mono_ms(void) { return 1000; }
void daemon_check_shutdown(void) { }
void daemon_shutdown(struct conn *c) { (void)c; }

void
daemon_alloc(uv_handle_t *h, size_t n, uv_buf_t *b)
{
	static char chunk[65536];

	(void)h;
	(void)n;
	b->base = chunk;
	b->len = sizeof chunk;
}
