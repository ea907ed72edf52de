/* SPDX-License-Identifier: ISC */
/*
 * The keeper protocol's decoder (common/kproto.c): the keeper runs it on
 * every frame an engine sends and on its own table after a re-exec, the
 * engine on every frame of the keeper's. The input is cut into frames as
 * a connection reads them, until one is refused or incomplete. Each
 * frame decoded must use no more bytes than there were, and encode again
 * into one frame that decodes to the same message: the same type,
 * descriptor count, strings and integers (the fields the decoder kept;
 * unknown keys are dropped).
 */
#include <string.h>

#include "kproto.h"
#include "fuzz.h"

static int
fuzz_str_eq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static void
fuzz_same(struct kproto_msg *a, struct kproto_msg *b)
{
	int64_t *x, *y;
	uint32_t key;

	fuzz_check(a->type == b->type && a->nfds == b->nfds);
	fuzz_check(fuzz_str_eq(a->tag, b->tag));
	fuzz_check(fuzz_str_eq(a->text, b->text));
	fuzz_check(fuzz_str_eq(a->stage, b->stage));
	for (key = 1; key <= KF_KEY_MAX; key++) {
		x = kproto_int_slot(a, key);
		y = kproto_int_slot(b, key);
		fuzz_check((x == NULL) == (y == NULL));
		fuzz_check(x == NULL || *x == *y);
	}
}

/* m, decoded from a frame of nfds descriptors, encoded and decoded again. */
static void
fuzz_again(struct kproto_msg *m, uint32_t nfds)
{
	struct kproto_buf b;
	struct kproto_msg d;
	size_t used = 0;

	memset(&b, 0, sizeof b);
	m->nfds = nfds;
	fuzz_check(kproto_encode(m, &b) == 0);
	fuzz_check(kproto_decode_frame(b.data, b.len, &used, &d) == 1);
	fuzz_check(used == b.len);
	d.nfds = nfds;
	fuzz_same(m, &d);
	d.nfds = 0;
	kproto_msg_free(&d);
	kproto_buf_free(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kproto_msg m;
	size_t off = 0, used;
	uint32_t nfds;
	int r;

	while (off < size) {
		used = 0;
		r = kproto_decode_frame(data + off, size - off, &used, &m);
		if (r != 1) {
			kproto_msg_free(&m);
			break;
		}
		fuzz_check(used >= KPROTO_HEADER && used <= size - off);
		memcpy(&nfds, data + off + 4, sizeof nfds);
		fuzz_again(&m, nfds);
		m.nfds = 0;             /* counted, never received */
		kproto_msg_free(&m);
		off += used;
	}
	return 0;
}
